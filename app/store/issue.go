package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// Issue API sentinels.
var (
	// ErrPoolEmpty: the campaign has no live, available code left to hand out.
	ErrPoolEmpty = errors.New("store: code pool empty")
	// ErrShopperRedeemed: the shopper already redeemed a code of a
	// once-per-customer campaign.
	ErrShopperRedeemed = errors.New("store: shopper already redeemed a code of this campaign")
	// ErrIdempotencyMismatch: the Idempotency-Key was first used with another
	// request body.
	ErrIdempotencyMismatch = errors.New("store: idempotency key reused with a different request")
)

// Code statuses (lifecycle: available -> issued -> redeemed | expired |
// disabled) and Shopify states.
const (
	CodeAvailable = "available"
	CodeIssued    = "issued"
	CodeRedeemed  = "redeemed"
	CodeExpired   = "expired"
	CodeDisabled  = "disabled"

	ShopifyLive    = "live"
	ShopifyRemoved = "removed"
)

// IssueParams is one validated request for a code.
type IssueParams struct {
	ShopID        int64
	CampaignID    int64
	CustomerID    *int64
	CustomerEmail string // lower-cased; "" when unknown
	Channel       string // "" keeps the code's own channel
	PartnerID     *int64 // nil keeps the code's own partner
	ExpiresAt     *time.Time
	// PerCustomer is how many unexpired codes one shopper may hold in the
	// campaign at once (usage.codes_per_customer, at least 1). A shopper who
	// holds that many gets the newest one back.
	PerCustomer int
	// OncePerCustomer refuses a shopper who already redeemed a code of the
	// campaign (ErrShopperRedeemed).
	OncePerCustomer bool
	// IdempotencyKey, when set, makes the request replayable: the first 2xx
	// answer is stored with RequestHash and replayed for the same key.
	IdempotencyKey string
	RequestHash    []byte
	Now            time.Time
	// Render builds the answer (status and exact body) for the code; it is
	// stored for Idempotency-Key replays in the same transaction.
	Render func(c *Code, reused bool) (status int, body []byte, err error)
	// Event builds the code.issued event data (nil: no event). It is emitted
	// in the same transaction as the claim.
	Event func(c *Code) any
	// TotalCap refuses a new code (ErrTotalCapReached) once the campaign
	// has issued this many; nil: no cap.
	TotalCap *int64
	// Budget refuses a new code (ErrBudgetExhausted) by the IssueBudget
	// rule; nil: no budget.
	Budget *IssueBudget
}

// IssueResult is what IssueCode did.
type IssueResult struct {
	Code        *Code // nil for a replay
	Reused      bool  // the shopper's existing code, nothing claimed
	Replayed    bool  // an Idempotency-Key replay of an earlier answer
	Status      int
	Body        []byte
	OutboundIDs []int64 // outbound events to enqueue after commit
}

// codeCols lists the codes columns in the order scanCode reads them.
const codeCols = `id, shop_id, campaign_id, batch_id, code, kind, status, partner_id, channel, customer_id, customer_email, usage_cap, uses,
	issued_at, expires_at, redeemed_at, disabled_reason, shopify_state, shopify_discount_id, shopify_code_id, push_id, push_error, created_at`

func scanCode(row pgx.Row, extra ...any) (*Code, error) {
	var c Code
	dest := append([]any{&c.ID, &c.ShopID, &c.CampaignID, &c.BatchID, &c.Code, &c.Kind, &c.Status, &c.PartnerID, &c.Channel, &c.CustomerID,
		&c.CustomerEmail, &c.UsageCap, &c.Uses, &c.IssuedAt, &c.ExpiresAt, &c.RedeemedAt, &c.DisabledReason, &c.ShopifyState,
		&c.ShopifyDiscountID, &c.ShopifyCodeID, &c.PushID, &c.PushError, &c.CreatedAt}, extra...)
	err := row.Scan(dest...)
	return &c, err
}

// CampaignForIssue loads what the issue API needs of one of the shop's
// campaigns (id, shop, status, partner, discount, usage, rules, dates, TTL, holdout,
// salt, discount id) in one pgx round trip, or ErrNotFound. It is the hot
// path's lean version of CampaignByID.
func (s *Store) CampaignForIssue(ctx context.Context, shopID, id int64) (*Campaign, error) {
	c := Campaign{ShopID: shopID}
	err := s.pool.QueryRow(ctx, `SELECT id, name, status, partner_id, discount, usage, rules, starts_at, ends_at, code_ttl_hours, holdout::float8, salt,
		shopify_discount_id FROM campaigns WHERE shop_id = $1 AND id = $2`, shopID, id).Scan(&c.ID, &c.Name, &c.Status, &c.PartnerID, &c.Discount,
		&c.Usage, &c.Rules, &c.StartsAt, &c.EndsAt, &c.CodeTTLHours, &c.Holdout, &c.Salt, &c.ShopifyDiscountID)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("store: campaign %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("store: campaign %d: %w", id, TranslateError(err))
	}
	return &c, nil
}

// IssueCode hands out one code of the campaign. It is the issue API's hot
// path: it runs on pgx directly, group-committed with concurrent calls
// (issue_batch.go), never inside InTx. Each call, in the batch's one
// transaction:
//
//  1. with an Idempotency-Key, a transaction-scoped advisory lock on (shop,
//     key), then the stored answer is replayed (or ErrIdempotencyMismatch);
//  2. with a known shopper (customer id and/or email), advisory locks on
//     (campaign, shopper) serialise that shopper's concurrent requests, and
//     a shopper who already holds PerCustomer unexpired codes gets the
//     newest back (Reused);
//  3. otherwise one live, available unique code is claimed in a single
//     statement (FOR UPDATE SKIP LOCKED: concurrent claims never block on,
//     nor share, a row) and the shopper, channel, partner and expiry are
//     written on it; ErrPoolEmpty when there is none;
//  4. with TotalCap or Budget, an advisory lock on the campaign's usage
//     serialises claims across batches and the new code is refused when
//     the cap or budget is used up (ErrTotalCapReached, ErrBudgetExhausted);
//  5. the code.issued event (the same rows EmitEvent writes) and the
//     idempotency record are written in the same transaction.
func (s *Store) IssueCode(ctx context.Context, p IssueParams) (*IssueResult, error) {
	k, err := newIssueCall(p)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return s.submitIssue(k)
}

// claimSQL claims one live, available unique code of a campaign (FOR
// UPDATE SKIP LOCKED: concurrent claims never block on, nor share, a row)
// and writes its code.issued event rows (the rows EmitEvent writes) in the
// same statement. $1 now, $2 expires_at, $3 customer id, $4 email, $5
// channel ("" keeps the code's), $6 partner (NULL keeps the code's), $7
// campaign, $8 where to start looking, $9 shop, $10 event id, $11 event
// data template (NULL: no event; the claimed code's own code, channel and
// partner are filled in).
//
// Where to start: the pool is claimed in id order, and the index entries
// of codes claimed since the last vacuum are still there, so a search from
// the lowest id would step over all of them; it starts after the last code
// this process claimed and falls back to the whole pool only when nothing
// is left above it (the second subquery runs only then).
const claimSQL = `WITH c AS (
	UPDATE codes SET status = 'issued', issued_at = $1, expires_at = $2, customer_id = $3, customer_email = $4,
		channel = CASE WHEN $5::text = '' THEN channel ELSE $5::text END, partner_id = COALESCE($6, partner_id)
	WHERE id = COALESCE(
		(SELECT id FROM codes WHERE campaign_id = $7 AND id > $8 AND status = 'available' AND shopify_state = 'live' AND kind = 'unique'
			ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED),
		(SELECT id FROM codes WHERE campaign_id = $7 AND status = 'available' AND shopify_state = 'live' AND kind = 'unique'
			ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED))
	RETURNING ` + codeCols + `
), e AS (
	INSERT INTO outbound_events (shop_id, endpoint_id, event_id, type, payload, next_attempt_at, created_at)
	SELECT $9, ep.id, $10, 'code.issued',
		$11::jsonb || jsonb_build_object('code', c.code, 'channel', c.channel, 'partner_id', c.partner_id::text), $1, $1
	FROM c, webhook_endpoints ep
	WHERE $11::jsonb IS NOT NULL AND ep.shop_id = $9 AND ep.active AND (cardinality(ep.events) = 0 OR 'code.issued' = ANY(ep.events))
	ON CONFLICT (endpoint_id, event_id) DO NOTHING
	RETURNING id
)
SELECT ` + codeCols + `, ARRAY(SELECT id FROM e) FROM c`

func nullString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// StoredIssue is the first answer to an Idempotency-Key.
type StoredIssue struct {
	RequestHash []byte
	Status      int
	Body        []byte
}

// IdempotentIssue returns the stored answer for the shop's key, or ErrNotFound.
func (s *Store) IdempotentIssue(ctx context.Context, shopID int64, key string) (*StoredIssue, error) {
	var r StoredIssue
	var response string
	err := s.pool.QueryRow(ctx, `SELECT request_hash, status, body, response::text FROM issue_requests WHERE shop_id = $1 AND idempotency_key = $2`,
		shopID, key).Scan(&r.RequestHash, &r.Status, &r.Body, &response)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("store: idempotency key: %w", TranslateError(err))
	}
	if r.Body == nil { // a row written before migration 0007
		r.Body = []byte(response)
	}
	return &r, nil
}

// PurgeIssueRequests deletes Idempotency-Key records older than before.
func (s *Store) PurgeIssueRequests(ctx context.Context, before time.Time) (int64, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM issue_requests WHERE created_at < $1`, before)
	if err != nil {
		return 0, fmt.Errorf("store: purge issue requests: %w", TranslateError(err))
	}
	return tag.RowsAffected(), nil
}

// FindCode returns one of the shop's codes by its text (case-insensitive:
// codes are stored upper-cased), or ErrNotFound.
func (s *Store) FindCode(ctx context.Context, shopID int64, code string) (*Code, error) {
	var c Code
	if err := s.conn(ctx).Where("shop_id = ? AND code = ?", shopID, strings.ToUpper(code)).Take(&c).Error; err != nil {
		return nil, fmt.Errorf("store: code: %w", TranslateError(err))
	}
	return &c, nil
}

// LockCode is FindCode with FOR UPDATE; call it inside InTx. Disable and
// enable hold the lock across their Shopify calls so that they, expiry and
// the removal job never act on one code at the same time.
func (s *Store) LockCode(ctx context.Context, shopID int64, code string) (*Code, error) {
	var c Code
	r := s.conn(ctx).Raw(`SELECT * FROM codes WHERE shop_id = ? AND code = ? FOR UPDATE`, shopID, strings.ToUpper(code)).Scan(&c)
	if r.Error != nil {
		return nil, fmt.Errorf("store: lock code: %w", TranslateError(r.Error))
	}
	if r.RowsAffected == 0 {
		return nil, fmt.Errorf("store: lock code: %w", ErrNotFound)
	}
	return &c, nil
}

// CampaignDiscountID returns the Shopify discount GID of a campaign ("" when
// it was never synced).
func (s *Store) CampaignDiscountID(ctx context.Context, campaignID int64) (string, error) {
	var out []*string
	if err := s.conn(ctx).Raw(`SELECT shopify_discount_id FROM campaigns WHERE id = ?`, campaignID).Scan(&out).Error; err != nil {
		return "", fmt.Errorf("store: campaign discount: %w", TranslateError(err))
	}
	if len(out) == 0 || out[0] == nil {
		return "", nil
	}
	return *out[0], nil
}

// CodeChange is a status change of one code by disable or enable.
type CodeChange struct {
	Status         string
	DisabledReason string
	ShopifyState   string  // "" keeps it
	ShopifyCodeID  *string // nil keeps it
}

// UpdateCodeState applies a disable/enable change to a code locked with
// LockCode and returns the row after it.
func (s *Store) UpdateCodeState(ctx context.Context, id int64, ch CodeChange) (*Code, error) {
	var c Code
	r := s.conn(ctx).Raw(`UPDATE codes SET status = ?, disabled_reason = ?,
			shopify_state = CASE WHEN ? = '' THEN shopify_state ELSE ? END,
			shopify_code_id = COALESCE(?, shopify_code_id)
		WHERE id = ? RETURNING *`, ch.Status, ch.DisabledReason, ch.ShopifyState, ch.ShopifyState, ch.ShopifyCodeID, id).Scan(&c)
	if r.Error != nil {
		return nil, fmt.Errorf("store: update code %d: %w", id, TranslateError(r.Error))
	}
	if r.RowsAffected == 0 {
		return nil, fmt.Errorf("store: update code %d: %w", id, ErrNotFound)
	}
	return &c, nil
}

// ExpireDueCodes marks up to limit issued codes whose expiry has passed at
// now as expired (skipping rows another transaction holds) and returns them.
// Call it inside InTx together with the code.expired events; Shopify removal
// follows through LockCodesToRemove.
func (s *Store) ExpireDueCodes(ctx context.Context, now time.Time, limit int) ([]Code, error) {
	var out []Code
	err := s.conn(ctx).Raw(`UPDATE codes SET status = 'expired'
		WHERE id IN (SELECT id FROM codes WHERE status = 'issued' AND expires_at IS NOT NULL AND expires_at <= ?
			ORDER BY expires_at LIMIT ? FOR UPDATE SKIP LOCKED)
		RETURNING *`, now, limit).Scan(&out).Error
	if err != nil {
		return nil, fmt.Errorf("store: expire codes: %w", TranslateError(err))
	}
	return out, nil
}

// DeadCode is a unique code the app no longer honours (expired or disabled)
// that is still live in Shopify.
type DeadCode struct {
	ID            int64
	ShopID        int64
	CampaignID    int64
	Code          string
	ShopifyCodeID string
	DiscountID    string // the campaign's discount
}

// LockCodesToRemove locks (FOR UPDATE SKIP LOCKED) up to limit dead codes
// of one campaign with id above afterCampaign — the first campaign that has
// any — for the transaction in ctx. Codes without a redeem code id cannot be
// removed by id and are not returned.
func (s *Store) LockCodesToRemove(ctx context.Context, afterCampaign int64, limit int) ([]DeadCode, error) {
	var first []int64
	err := s.conn(ctx).Raw(`SELECT campaign_id FROM codes WHERE shopify_state = 'live' AND status IN ('expired', 'disabled') AND kind = 'unique'
		AND campaign_id > ? AND shopify_code_id IS NOT NULL ORDER BY campaign_id LIMIT 1`, afterCampaign).Scan(&first).Error
	if err != nil {
		return nil, fmt.Errorf("store: dead codes: %w", TranslateError(err))
	}
	if len(first) == 0 {
		return nil, nil
	}
	var out []DeadCode
	err = s.conn(ctx).Raw(`SELECT c.id, c.shop_id, c.campaign_id, c.code, c.shopify_code_id, COALESCE(k.shopify_discount_id, '') AS discount_id
		FROM codes c JOIN campaigns k ON k.id = c.campaign_id
		WHERE c.campaign_id = ? AND c.shopify_state = 'live' AND c.status IN ('expired', 'disabled') AND c.kind = 'unique'
			AND c.shopify_code_id IS NOT NULL
		ORDER BY c.id LIMIT ? FOR UPDATE OF c SKIP LOCKED`, first[0], limit).Scan(&out).Error
	if err != nil {
		return nil, fmt.Errorf("store: dead codes: %w", TranslateError(err))
	}
	if len(out) == 0 { // all locked by others: report the campaign so the caller moves on
		return []DeadCode{{CampaignID: first[0]}}, nil
	}
	return out, nil
}

// MarkCodesRemoved records that Shopify no longer has the codes.
func (s *Store) MarkCodesRemoved(ctx context.Context, ids []int64) error {
	if len(ids) == 0 {
		return nil
	}
	err := s.conn(ctx).Exec(`UPDATE codes SET shopify_state = 'removed' WHERE id IN ? AND shopify_state = 'live'`, ids).Error
	return TranslateError(err)
}

// PoolLevel is the state of one active campaign's issue pool.
type PoolLevel struct {
	ShopID         int64
	CampaignID     int64
	Available      int64 // live, available unique codes (counted up to the cap)
	Incoming       int64 // codes on their way: not yet generated or not yet live
	IssuedLastHour int64
}

// PoolLevels measures the pool of every active campaign (or only
// campaignID when non-zero); counts stop at countCap to stay cheap on huge
// pools.
func (s *Store) PoolLevels(ctx context.Context, since time.Time, campaignID int64, countCap int64) ([]PoolLevel, error) {
	rows, err := s.pool.Query(ctx, `SELECT k.shop_id, k.id,
		(SELECT count(*) FROM (SELECT 1 FROM codes c WHERE c.campaign_id = k.id AND c.status = 'available' AND c.shopify_state = 'live' AND c.kind = 'unique' LIMIT $3) a),
		(SELECT count(*) FROM (SELECT 1 FROM codes c WHERE c.campaign_id = k.id AND c.shopify_state IN ('pending', 'pushing') AND c.status = 'available' LIMIT $3) p)
		  + COALESCE((SELECT sum(GREATEST(b.requested - b.generated, 0)) FROM code_batches b
		      WHERE b.campaign_id = k.id AND b.status IN ('queued', 'generating', 'pushing')), 0)::bigint,
		(SELECT count(*) FROM (SELECT 1 FROM codes c WHERE c.campaign_id = k.id AND c.issued_at > $1 LIMIT $3) i)
		FROM campaigns k WHERE k.status = 'active' AND ($2::bigint = 0 OR k.id = $2) ORDER BY k.id`, since, campaignID, countCap)
	if err != nil {
		return nil, fmt.Errorf("store: pool levels: %w", TranslateError(err))
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (PoolLevel, error) {
		var l PoolLevel
		err := r.Scan(&l.ShopID, &l.CampaignID, &l.Available, &l.Incoming, &l.IssuedLastHour)
		return l, err
	})
	if err != nil {
		return nil, fmt.Errorf("store: pool levels: %w", TranslateError(err))
	}
	return out, nil
}

// SeedCampaign inserts a campaign row as given (status included), without
// validation or Shopify sync. It exists for tests, load harnesses and demo
// seeding only; the API creates campaigns through CreateCampaign.
func (s *Store) SeedCampaign(ctx context.Context, c *Campaign) error {
	for _, f := range []*[]byte{(*[]byte)(&c.Discount), (*[]byte)(&c.CodeFormat), (*[]byte)(&c.Usage), (*[]byte)(&c.Rules)} {
		if len(*f) == 0 {
			*f = []byte("{}")
		}
	}
	if c.Status == "" {
		c.Status = "active"
	}
	if c.SyncStatus == "" {
		c.SyncStatus = "synced"
	}
	if c.Salt == "" {
		c.Salt = "seed"
	}
	return TranslateError(s.conn(ctx).Create(c).Error)
}

// SeedLiveCode is one code for SeedLiveCodes: its text and, when it really
// is in Shopify (the dev store), its DiscountRedeemCode GID.
type SeedLiveCode struct {
	Code          string
	ShopifyCodeID string
}

// SeedLiveCodes inserts codes straight into a campaign's pool as available
// and live, bypassing generation and push. It exists for tests, load
// harnesses and demo seeding only (the code-batch engine is the real path):
// codes seeded without a Shopify id are not redeemable in any store.
func (s *Store) SeedLiveCodes(ctx context.Context, shopID, campaignID int64, codes []SeedLiveCode) error {
	rows := make([][]any, len(codes))
	for i, c := range codes {
		var sid *string
		if c.ShopifyCodeID != "" {
			sid = &c.ShopifyCodeID
		}
		rows[i] = []any{shopID, campaignID, strings.ToUpper(c.Code), "unique", "available", "live", sid}
	}
	_, err := s.pool.CopyFrom(ctx, pgx.Identifier{"codes"}, []string{"shop_id", "campaign_id", "code", "kind", "status", "shopify_state", "shopify_code_id"},
		pgx.CopyFromRows(rows))
	if err != nil {
		return fmt.Errorf("store: seed codes: %w", TranslateError(err))
	}
	return nil
}

// ListIssuedForBench returns code -> customer email of every issued code of
// a campaign (the issue load harness checks the API's answers against it).
func (s *Store) ListIssuedForBench(ctx context.Context, campaignID int64) (map[string]string, error) {
	rows, err := s.pool.Query(ctx, `SELECT code, COALESCE(customer_email, '') FROM codes WHERE campaign_id = $1 AND status = 'issued'`, campaignID)
	if err != nil {
		return nil, TranslateError(err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var c, e string
		if err := rows.Scan(&c, &e); err != nil {
			return nil, TranslateError(err)
		}
		out[c] = e
	}
	return out, TranslateError(rows.Err())
}
