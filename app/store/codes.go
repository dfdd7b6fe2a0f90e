package store

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Code batch statuses (code_batches.status).
const (
	BatchQueued     = "queued"
	BatchGenerating = "generating"
	BatchPushing    = "pushing"
	BatchDone       = "done"
	BatchFailed     = "failed"
)

// Code batch purposes (code_batches.purpose).
const (
	BatchPurposeStock      = "stock"
	BatchPurposePoolRefill = "pool_refill"
	BatchPurposeImport     = "import"
)

// Push states of a code (codes.shopify_state): pending -> pushing -> live |
// failed. Only live codes may be handed out.
const (
	CodeStatePending = "pending"
	CodeStatePushing = "pushing"
	CodeStateLive    = "live"
	CodeStateFailed  = "failed"
)

// Code push statuses (code_pushes.status).
const (
	PushSending = "sending" // recorded before the call; may or may not have reached Shopify
	PushRunning = "running" // Shopify accepted it: bulk_creation_id is set
	PushDone    = "done"
	PushFailed  = "failed"
)

// codeBatchLockSpace tags the advisory-lock keys of code batches so they do
// not collide with other advisory locks.
const codeBatchLockSpace = int64(0x636f6465) << 32 // "code"

// CodeCampaign returns campaign id of shop, or ErrNotFound.
func (s *Store) CodeCampaign(ctx context.Context, shopID, id int64) (*Campaign, error) {
	var c Campaign
	if err := s.conn(ctx).Where("shop_id = ? AND id = ?", shopID, id).Take(&c).Error; err != nil {
		return nil, TranslateError(err)
	}
	return &c, nil
}

// CodePartnerExists reports ErrNotFound unless partner id belongs to shop.
func (s *Store) CodePartnerExists(ctx context.Context, shopID, id int64) error {
	var n int64
	if err := s.conn(ctx).Raw("SELECT count(*) FROM partners WHERE shop_id = ? AND id = ?", shopID, id).Scan(&n).Error; err != nil {
		return TranslateError(err)
	}
	if n == 0 {
		return ErrNotFound
	}
	return nil
}

// CreateCodeBatch records b (queued). check is called, inside the
// transaction and under a per-shop lock, with the number of codes the shop
// already has plus those that batches still generating will add; an error
// from check aborts and is returned as is. This is what makes two concurrent
// requests unable to pass the keyspace and store-cap check together.
func (s *Store) CreateCodeBatch(ctx context.Context, b *CodeBatch, check func(existing int64) error) error {
	return s.InTx(ctx, func(ctx context.Context) error {
		db := s.conn(ctx)
		if err := db.Exec("SELECT pg_advisory_xact_lock(?, ?)", int32(0x636f6465), int32(b.ShopID)).Error; err != nil {
			return err
		}
		if check != nil {
			var existing struct{ Codes, Planned int64 }
			err := db.Raw(`SELECT (SELECT count(*) FROM codes WHERE shop_id = ?) AS codes,
				(SELECT coalesce(sum(greatest(requested - generated, 0)), 0) FROM code_batches
				  WHERE shop_id = ? AND status IN ('queued', 'generating')) AS planned`, b.ShopID, b.ShopID).Scan(&existing).Error
			if err != nil {
				return err
			}
			if err := check(existing.Codes + existing.Planned); err != nil {
				return err
			}
		}
		if b.Status == "" {
			b.Status = BatchQueued
		}
		if b.Purpose == "" {
			b.Purpose = BatchPurposeStock
		}
		return db.Create(b).Error
	})
}

// CodeBatch returns batch id (any shop; for jobs).
func (s *Store) CodeBatch(ctx context.Context, id int64) (*CodeBatch, error) {
	var b CodeBatch
	if err := s.conn(ctx).Where("id = ?", id).Take(&b).Error; err != nil {
		return nil, TranslateError(err)
	}
	return &b, nil
}

// ShopCodeBatch returns batch id of shop, or ErrNotFound.
func (s *Store) ShopCodeBatch(ctx context.Context, shopID, id int64) (*CodeBatch, error) {
	var b CodeBatch
	if err := s.conn(ctx).Where("shop_id = ? AND id = ?", shopID, id).Take(&b).Error; err != nil {
		return nil, TranslateError(err)
	}
	return &b, nil
}

// CodeBatchFilter selects batches for ListCodeBatches.
type CodeBatchFilter struct {
	ShopID     int64
	CampaignID int64 // 0: any
	Status     string
	BeforeID   int64 // keyset cursor: ids below this one
	Limit      int
}

// ListCodeBatches lists a shop's batches, newest first.
func (s *Store) ListCodeBatches(ctx context.Context, f CodeBatchFilter) ([]CodeBatch, error) {
	q := s.conn(ctx).Where("shop_id = ?", f.ShopID)
	if f.CampaignID > 0 {
		q = q.Where("campaign_id = ?", f.CampaignID)
	}
	if f.Status != "" {
		q = q.Where("status = ?", f.Status)
	}
	if f.BeforeID > 0 {
		q = q.Where("id < ?", f.BeforeID)
	}
	var out []CodeBatch
	err := q.Order("id DESC").Limit(f.Limit).Find(&out).Error
	return out, TranslateError(err)
}

// SetCodeBatchStatus moves batch id to status `to` if its status is one of
// from (any when empty), recording msg as its error. It reports whether the
// row changed.
func (s *Store) SetCodeBatchStatus(ctx context.Context, id int64, from []string, to, msg string) (bool, error) {
	q := s.conn(ctx).Model(&CodeBatch{}).Where("id = ?", id)
	if len(from) > 0 {
		q = q.Where("status IN ?", from)
	}
	res := q.Updates(map[string]any{"status": to, "error": msg, "updated_at": time.Now().UTC()})
	return res.RowsAffected > 0, TranslateError(res.Error)
}

// SyncBatchGenerated recounts the codes of batch b in the database, stores
// the count as generated and returns it. A resumed generation starts from
// here, so it never makes more than requested.
func (s *Store) SyncBatchGenerated(ctx context.Context, batchID int64) (int64, error) {
	var n int64
	// The codes of a batch are all in the campaign's list index; counting
	// them there keeps generation free of a per-batch index.
	err := s.pool.QueryRow(ctx, `WITH c AS (SELECT count(*) AS n FROM codes
			WHERE campaign_id = (SELECT campaign_id FROM code_batches WHERE id = $1) AND batch_id = $1)
		UPDATE code_batches SET generated = c.n, updated_at = now() FROM c WHERE id = $1 RETURNING c.n`, batchID).Scan(&n)
	return n, TranslateError(err)
}

// InsertBatchCodes persists codes (upper-case, as the generator makes them)
// for batch b: COPY into a per-session staging table, then INSERT ... SELECT
// ... ON CONFLICT (shop_id, code) DO NOTHING, and generated += inserted, in
// one transaction. Codes that already exist in the shop are skipped; the
// caller makes up the difference. It returns how many were inserted.
func (s *Store) InsertBatchCodes(ctx context.Context, b *CodeBatch, codes [][]byte) (int64, error) {
	var n int64
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		// Codes and the batch's generated count commit together, and nothing
		// reads these codes before the push confirms them in Shopify, so a
		// chunk lost in a PostgreSQL crash is simply made again on resume:
		// the commit need not wait for the WAL flush.
		if _, err := tx.Exec(ctx, `SET LOCAL synchronous_commit = off`); err != nil {
			return err
		}
		// Fast path: COPY straight into codes. Within a chunk the generator
		// never repeats itself, and with the keyspace check a clash with a
		// code already in the shop is rare (about chunk x existing/keyspace),
		// so the COPY almost always succeeds. When it does clash, the
		// savepoint undoes it and the chunk goes through the staging table
		// with ON CONFLICT DO NOTHING.
		if _, err := tx.Exec(ctx, `SAVEPOINT direct_copy`); err != nil {
			return err
		}
		copied, err := tx.CopyFrom(ctx, pgx.Identifier{"codes"}, []string{"shop_id", "campaign_id", "batch_id", "code", "partner_id", "channel"},
			pgx.CopyFromSlice(len(codes), func(i int) ([]any, error) {
				return []any{b.ShopID, b.CampaignID, b.ID, codes[i], b.PartnerID, b.Channel}, nil
			}))
		if err == nil {
			n = copied
			_, err = tx.Exec(ctx, `UPDATE code_batches SET generated = generated + $2, updated_at = now() WHERE id = $1`, b.ID, n)
			return err
		}
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) || pgErr.Code != "23505" {
			return err
		}
		if _, err := tx.Exec(ctx, `ROLLBACK TO SAVEPOINT direct_copy`); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `CREATE TEMP TABLE IF NOT EXISTS code_stage (code text NOT NULL) ON COMMIT DELETE ROWS`); err != nil {
			return err
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"code_stage"}, []string{"code"}, pgx.CopyFromSlice(len(codes), func(i int) ([]any, error) {
			return []any{codes[i]}, nil
		})); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `INSERT INTO codes (shop_id, campaign_id, batch_id, code, partner_id, channel)
			SELECT $1, $2, $3, code, $4, $5 FROM code_stage ORDER BY code ON CONFLICT (shop_id, code) DO NOTHING`,
			b.ShopID, b.CampaignID, b.ID, b.PartnerID, b.Channel)
		if err != nil {
			return err
		}
		n = tag.RowsAffected()
		_, err = tx.Exec(ctx, `UPDATE code_batches SET generated = generated + $2, updated_at = now() WHERE id = $1`, b.ID, n)
		return err
	})
	return n, TranslateError(err)
}

// InsertImportedCodes inserts codes (already normalised and unique) for the
// import batch b and returns the set that was inserted; the others already
// exist in the shop. generated becomes the number inserted.
func (s *Store) InsertImportedCodes(ctx context.Context, b *CodeBatch, codes []string) (map[string]bool, error) {
	ins := make(map[string]bool, len(codes))
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `CREATE TEMP TABLE IF NOT EXISTS code_stage (code text NOT NULL) ON COMMIT DELETE ROWS`); err != nil {
			return err
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"code_stage"}, []string{"code"}, pgx.CopyFromSlice(len(codes), func(i int) ([]any, error) {
			return []any{codes[i]}, nil
		})); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `INSERT INTO codes (shop_id, campaign_id, batch_id, code, partner_id, channel)
			SELECT $1, $2, $3, code, $4, $5 FROM code_stage ON CONFLICT (shop_id, code) DO NOTHING RETURNING code`,
			b.ShopID, b.CampaignID, b.ID, b.PartnerID, b.Channel)
		if err != nil {
			return err
		}
		var c string
		if _, err := pgx.ForEachRow(rows, []any{&c}, func() error { ins[c] = true; return nil }); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE code_batches SET generated = $2, updated_at = now() WHERE id = $1`, b.ID, len(ins))
		return err
	})
	return ins, TranslateError(err)
}

// TryLockCodeBatch takes a session advisory lock on batch id so that only one
// worker generates or pushes it at a time. ok is false when another holds
// it. unlock must be called when ok; the lock also dies with the connection
// if the worker does.
func (s *Store) TryLockCodeBatch(ctx context.Context, id int64) (unlock func(), ok bool, err error) {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return nil, false, TranslateError(err)
	}
	key := codeBatchLockSpace | id&0xffffffff
	if err := conn.QueryRow(ctx, "SELECT pg_try_advisory_lock($1)", key).Scan(&ok); err != nil || !ok {
		conn.Release()
		return nil, false, TranslateError(err)
	}
	return func() {
		uctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if _, err := conn.Exec(uctx, "SELECT pg_advisory_unlock($1)", key); err != nil {
			conn.Conn().Close(uctx) // a broken session drops its locks
		}
		conn.Release()
	}, true, nil
}

// PushCode is one code carried by a push.
type PushCode struct {
	ID   int64
	Code string
}

// ClaimCodePush records a code_pushes row ('sending') and moves up to n
// pending codes of batch b with ids above afterID to 'pushing' with that
// push id, in one transaction, before anything is sent to Shopify. It
// returns ErrNotFound when there is no such pending code left. afterID lets
// a pusher skip the (dead) index entries of codes it already pushed; pass 0
// to see every pending code.
func (s *Store) ClaimCodePush(ctx context.Context, b *CodeBatch, afterID int64, n int) (*CodePush, []PushCode, error) {
	var p CodePush
	var out []PushCode
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `INSERT INTO code_pushes (shop_id, campaign_id, codes_count, status) VALUES ($1, $2, 0, 'sending')
			RETURNING id, created_at`, b.ShopID, b.CampaignID).Scan(&p.ID, &p.CreatedAt)
		if err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `UPDATE codes SET shopify_state = 'pushing', push_id = $1, push_error = ''
			WHERE id IN (SELECT id FROM codes WHERE campaign_id = $2 AND batch_id = $3 AND id > $5
			               AND shopify_state IN ('pending', 'pushing') AND shopify_state = 'pending'
			             ORDER BY id LIMIT $4 FOR UPDATE SKIP LOCKED)
			RETURNING id, code`, p.ID, b.CampaignID, b.ID, n, afterID)
		if err != nil {
			return err
		}
		var pc PushCode
		if _, err := pgx.ForEachRow(rows, []any{&pc.ID, &pc.Code}, func() error { out = append(out, pc); return nil }); err != nil {
			return err
		}
		if len(out) == 0 {
			return ErrNotFound // rolls the push row back
		}
		_, err = tx.Exec(ctx, `UPDATE code_pushes SET codes_count = $2 WHERE id = $1`, p.ID, len(out))
		return err
	})
	if err != nil {
		return nil, nil, TranslateError(err)
	}
	p.ShopID, p.CampaignID, p.CodesCount, p.Status = b.ShopID, b.CampaignID, len(out), PushSending
	return &p, out, nil
}

// SetPushRunning stores the bulk creation Shopify accepted for push id.
func (s *Store) SetPushRunning(ctx context.Context, id int64, bulkCreationID string) error {
	_, err := s.pool.Exec(ctx, `UPDATE code_pushes SET status = 'running', bulk_creation_id = $2, updated_at = now()
		WHERE id = $1 AND status = 'sending'`, id, bulkCreationID)
	return TranslateError(err)
}

// OpenCodePushes returns the pushes of batch b still 'sending' or 'running'
// (left by a crash or an unknown outcome), oldest first.
func (s *Store) OpenCodePushes(ctx context.Context, b *CodeBatch) ([]CodePush, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, shop_id, campaign_id, bulk_creation_id, codes_count, status, created_at
		FROM code_pushes WHERE status IN ('sending', 'running') AND id IN (
		  SELECT DISTINCT push_id FROM codes WHERE campaign_id = $1 AND batch_id = $2
		    AND shopify_state IN ('pending', 'pushing') AND shopify_state = 'pushing')
		ORDER BY id`, b.CampaignID, b.ID)
	if err != nil {
		return nil, TranslateError(err)
	}
	var out []CodePush
	var p CodePush
	_, err = pgx.ForEachRow(rows, []any{&p.ID, &p.ShopID, &p.CampaignID, &p.BulkCreationID, &p.CodesCount, &p.Status, &p.CreatedAt},
		func() error { out = append(out, p); return nil })
	return out, TranslateError(err)
}

// PushCodes returns the codes still 'pushing' under push id.
func (s *Store) PushCodes(ctx context.Context, pushID int64) ([]PushCode, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, code FROM codes WHERE push_id = $1 AND shopify_state = 'pushing' ORDER BY id`, pushID)
	if err != nil {
		return nil, TranslateError(err)
	}
	var out []PushCode
	var pc PushCode
	_, err = pgx.ForEachRow(rows, []any{&pc.ID, &pc.Code}, func() error { out = append(out, pc); return nil })
	return out, TranslateError(err)
}

// PushOutcome is what became of one code of a push.
type PushOutcome struct {
	CodeID int64
	// State is CodeStateLive, CodeStateFailed, or CodeStatePending (not in
	// Shopify: to be pushed again).
	State string
	// ShopifyCodeID is the DiscountRedeemCode GID of a live code, when known.
	ShopifyCodeID string
	// Error is the per-code reason of a failed code.
	Error string
}

// PushTally counts how FinishCodePush resolved a push's codes.
type PushTally struct{ Live, Failed, Retry int64 }

// FinishCodePush applies the outcomes of push id to its codes (only codes
// still 'pushing' under this push change, so a repeat is a no-op), closes
// the push and adds the live and failed counts to batch batchID, all in one
// transaction.
func (s *Store) FinishCodePush(ctx context.Context, batchID, pushID int64, outs []PushOutcome, pushErr string) (PushTally, error) {
	var t PushTally
	ids := make([]int64, len(outs))
	states := make([]string, len(outs))
	gids := make([]string, len(outs))
	errs := make([]string, len(outs))
	for i, o := range outs {
		ids[i], states[i], gids[i], errs[i] = o.CodeID, o.State, o.ShopifyCodeID, o.Error
	}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `WITH v AS (SELECT * FROM unnest($2::bigint[], $3::text[], $4::text[], $5::text[]) AS v(id, state, gid, err)),
			u AS (UPDATE codes c SET shopify_state = v.state, shopify_code_id = NULLIF(v.gid, ''), push_error = v.err,
			        push_id = CASE WHEN v.state = 'pending' THEN NULL ELSE c.push_id END
			      FROM v WHERE c.id = v.id AND c.push_id = $1 AND c.shopify_state = 'pushing'
			      RETURNING c.shopify_state)
			SELECT count(*) FILTER (WHERE shopify_state = 'live'), count(*) FILTER (WHERE shopify_state = 'failed'),
			       count(*) FILTER (WHERE shopify_state = 'pending') FROM u`,
			pushID, ids, states, gids, errs).Scan(&t.Live, &t.Failed, &t.Retry)
		if err != nil {
			return err
		}
		// Codes of the push that no outcome mentioned go back to pending.
		tag, err := tx.Exec(ctx, `UPDATE codes SET shopify_state = 'pending', push_id = NULL WHERE push_id = $1 AND shopify_state = 'pushing'`, pushID)
		if err != nil {
			return err
		}
		t.Retry += tag.RowsAffected()
		status := PushDone
		if t.Live == 0 && t.Failed == 0 {
			status = PushFailed
		}
		if _, err := tx.Exec(ctx, `UPDATE code_pushes SET status = $2, imported = imported + $3, failed = failed + $4, error = $5, updated_at = now()
			WHERE id = $1`, pushID, status, t.Live, t.Failed, pushErr); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE code_batches SET pushed = pushed + $2, failed = failed + $3, updated_at = now() WHERE id = $1`,
			batchID, t.Live, t.Failed)
		return err
	})
	return t, TranslateError(err)
}

// FinishCodeBatchPush marks batch b done when none of its codes is pending
// or pushing any more, and reports whether it did.
func (s *Store) FinishCodeBatchPush(ctx context.Context, b *CodeBatch) (bool, error) {
	tag, err := s.pool.Exec(ctx, `UPDATE code_batches SET status = 'done', error = '', updated_at = now()
		WHERE id = $1 AND status = 'pushing' AND NOT EXISTS (
		  SELECT 1 FROM codes WHERE campaign_id = $2 AND batch_id = $1 AND shopify_state IN ('pending', 'pushing'))`, b.ID, b.CampaignID)
	if err != nil {
		return false, TranslateError(err)
	}
	return tag.RowsAffected() > 0, nil
}

// NoteCodeBatch records a transient problem (for example "waiting for the
// campaign's Shopify discount") on a batch without changing its status.
func (s *Store) NoteCodeBatch(ctx context.Context, id int64, msg string) error {
	_, err := s.pool.Exec(ctx, `UPDATE code_batches SET error = $2 WHERE id = $1`, id, msg)
	return TranslateError(err)
}

// PushableCodesCount returns how many codes of campaign campaignID are on
// their way into Shopify (pending or pushing): the issue pool will grow by
// about this much without a new batch. The pool refill uses it to avoid
// asking for codes that are already coming.
func (s *Store) PushableCodesCount(ctx context.Context, campaignID int64) (int64, error) {
	var n int64
	err := s.pool.QueryRow(ctx, `SELECT count(*) FROM codes WHERE campaign_id = $1 AND shopify_state IN ('pending', 'pushing')`, campaignID).Scan(&n)
	return n, TranslateError(err)
}

// OpenRefillBatch returns the campaign's pool_refill batch that is not done
// or failed yet, or ErrNotFound.
func (s *Store) OpenRefillBatch(ctx context.Context, campaignID int64) (*CodeBatch, error) {
	var b CodeBatch
	err := s.conn(ctx).Where("campaign_id = ? AND purpose = ? AND status IN ?", campaignID, BatchPurposePoolRefill,
		[]string{BatchQueued, BatchGenerating, BatchPushing}).Order("id").Take(&b).Error
	if err != nil {
		return nil, TranslateError(err)
	}
	return &b, nil
}

// StaleCodeBatches returns batches not finished whose row has not changed
// since before; the sweeper enqueues their next step again.
func (s *Store) StaleCodeBatches(ctx context.Context, before time.Time, limit int) ([]CodeBatch, error) {
	var out []CodeBatch
	err := s.conn(ctx).Where("status IN ? AND updated_at < ?", []string{BatchQueued, BatchGenerating, BatchPushing}, before).
		Order("id").Limit(limit).Find(&out).Error
	return out, TranslateError(err)
}

// CampaignShopifyDiscountID returns the campaign's Shopify discount GID, or ""
// while the campaign sync has not created it yet.
func (s *Store) CampaignShopifyDiscountID(ctx context.Context, campaignID int64) (string, error) {
	var id *string
	if err := s.pool.QueryRow(ctx, `SELECT shopify_discount_id FROM campaigns WHERE id = $1`, campaignID).Scan(&id); err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return "", ErrNotFound
		}
		return "", TranslateError(err)
	}
	if id == nil {
		return "", nil
	}
	return *id, nil
}

// CodeFilter selects codes for ListCodes.
type CodeFilter struct {
	ShopID        int64
	CampaignID    int64 // 0: any
	Status        string
	CustomerEmail string
	PartnerID     int64 // 0: any
	BeforeID      int64
	Limit         int
}

// ListCodes lists a shop's codes, newest first.
func (s *Store) ListCodes(ctx context.Context, f CodeFilter) ([]Code, error) {
	q := s.conn(ctx).Where("shop_id = ?", f.ShopID)
	if f.CampaignID > 0 {
		q = q.Where("campaign_id = ?", f.CampaignID)
	}
	if f.Status != "" {
		q = q.Where("status = ?", f.Status)
	}
	if f.CustomerEmail != "" {
		q = q.Where("lower(customer_email) = lower(?)", f.CustomerEmail)
	}
	if f.PartnerID > 0 {
		q = q.Where("partner_id = ?", f.PartnerID)
	}
	if f.BeforeID > 0 {
		q = q.Where("id < ?", f.BeforeID)
	}
	var out []Code
	err := q.Order("id DESC").Limit(f.Limit).Find(&out).Error
	return out, TranslateError(err)
}

// exportPage is how many rows StreamCampaignCodes reads per query.
const exportPage = 5000

// StreamCampaignCodes calls fn for every code of campaign campaignID of shop
// (with status `status`, any when ""), in id order, reading pages of
// exportPage rows by keyset so memory stays flat and no long transaction is
// held.
func (s *Store) StreamCampaignCodes(ctx context.Context, shopID, campaignID int64, status string, fn func(*Code) error) error {
	var after int64
	page := make([]Code, 0, exportPage)
	for {
		page = page[:0]
		q := s.conn(ctx).Where("shop_id = ? AND campaign_id = ? AND id > ?", shopID, campaignID, after)
		if status != "" {
			q = q.Where("status = ?", status)
		}
		err := q.Order("id").Limit(exportPage).Find(&page).Error
		if err != nil {
			return TranslateError(err)
		}
		for i := range page {
			if err := fn(&page[i]); err != nil {
				return err
			}
		}
		if len(page) < exportPage {
			return nil
		}
		after = page[len(page)-1].ID
	}
}

// InsertVanityCode records a merchant-chosen code (kind 'vanity', state
// 'pushing' until its own Shopify discount exists). A code that already
// exists in the shop (codes are stored upper-cased, so case-insensitively)
// is ErrConflict.
func (s *Store) InsertVanityCode(ctx context.Context, c *Code) error {
	c.Kind, c.ShopifyState = "vanity", CodeStatePushing
	if c.Status == "" {
		c.Status = "available"
	}
	err := s.conn(ctx).Create(c).Error
	return TranslateError(err)
}

// SetVanityCodeLive stores the vanity code's own discount and marks it live.
func (s *Store) SetVanityCodeLive(ctx context.Context, id int64, discountID string) error {
	err := s.conn(ctx).Model(&Code{}).Where("id = ? AND kind = 'vanity'", id).
		Updates(map[string]any{"shopify_state": CodeStateLive, "shopify_discount_id": discountID}).Error
	return TranslateError(err)
}

// DeleteCode removes code id of shop (a vanity code whose discount could not
// be created).
func (s *Store) DeleteCode(ctx context.Context, shopID, id int64) error {
	return TranslateError(s.conn(ctx).Where("shop_id = ? AND id = ?", shopID, id).Delete(&Code{}).Error)
}
