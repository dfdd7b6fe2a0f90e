package store

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Group commit of the issue API.
//
// A claim is cheap for PostgreSQL; its COMMIT is not: every transaction
// waits for its own WAL flush. IssueCode therefore joins concurrent claims
// into one transaction (one WAL flush for all of them), the way the webhook
// intake batches deliveries:
//
//   - a caller that finds fewer than issueCommitters batches in flight runs a
//     batch itself (the leader); the others wait in the queue, and the next
//     batch takes everyone who arrived while the previous one committed;
//   - claims that share an advisory lock key (the same Idempotency-Key or
//     the same shopper) never go into the same batch: advisory locks are
//     re-entrant within a session, so the later one waits for the next batch
//     and then sees the first one's committed code;
//   - every batch takes all its advisory locks in one statement, sorted, so
//     two batches in flight never deadlock on them;
//   - each claim runs under its own SAVEPOINT: a claim that fails is rolled
//     back to it alone and answered with its error, and the others commit;
//   - any other failure rolls the batch back and runs its claims one by one,
//     so one bad claim never costs the others their answer.
//
// A caller always waits for its batch to commit, even if its context ends:
// the code may already be durable.

var (
	// ErrTotalCapReached: the campaign has issued usage.total_cap codes.
	ErrTotalCapReached = errors.New("store: campaign total cap reached")
	// ErrBudgetExhausted: the campaign's discount budget is spent (or
	// committed to codes already handed out).
	ErrBudgetExhausted = errors.New("store: campaign budget exhausted")
)

// issueBatchTimeout bounds one batch transaction.
const issueBatchTimeout = 10 * time.Second

// issueMaxBatch bounds one batch (ISSUE_MAX_BATCH, default 48); it stays
// under PostgreSQL's 64 cached subtransactions per backend (one SAVEPOINT
// per claim).
var issueMaxBatch = func() int {
	if v, err := strconv.Atoi(os.Getenv("ISSUE_MAX_BATCH")); err == nil && v > 0 && v <= 48 {
		return v
	}
	return 48
}()

// issueCommitters is how many batches may be in flight at once
// (ISSUE_COMMITTERS, default 2: one gathers while the other waits for its
// WAL flush).
var issueCommitters = func() int {
	if v, err := strconv.Atoi(os.Getenv("ISSUE_COMMITTERS")); err == nil && v > 0 {
		return v
	}
	return 2
}()

// IssueBudget is the money side of a campaign's usage rules, in the shop
// currency's minor units.
//
// The rule: spent is the discount of the campaign's conversions that still
// stand (held, approved or paid); each code issued and not yet redeemed or
// expired is expected to cost PerCodeMinor when it is set (fixed-amount
// campaigns), else the average discount of those conversions (nothing while
// there are none). A new code is refused when spent has reached LimitMinor,
// or when spent plus the expected cost of the outstanding codes and of the
// new one would pass it.
type IssueBudget struct {
	LimitMinor   int64
	PerCodeMinor int64
}

// issueGroup is the group committer's queue (the zero value is ready).
type issueGroup struct {
	mu      sync.Mutex
	pending []*issueCall
	running int // batches in flight (leaders)
	// fallbacks counts batches that failed as a whole and ran their calls
	// one by one.
	fallbacks atomic.Int64
	// after is, per campaign, the id of the last code claimed here: the
	// next claims search the pool from there (claimSQL).
	after map[int64]int64
}

func (g *issueGroup) claimFrom(campaignID int64) int64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.after[campaignID]
}

func (g *issueGroup) claimed(campaignID, id int64) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.after == nil {
		g.after = map[int64]int64{}
	}
	g.after[campaignID] = id
}

// issueCall is one IssueCode request on its way through a batch.
type issueCall struct {
	p        IssueParams
	keys     []string // advisory lock keys no two calls of a batch may share
	capKey   string   // the campaign's usage lock (total cap, budget), shared within a batch
	conds    []string // shopper match of the held-codes lookup
	args     []any
	tmpl     *string // code.issued event data template
	eventID  string
	lead     chan struct{} // leadership handed to this caller
	hasLead  bool          // a token is on its way in lead (guarded by the group's mutex)
	answered chan struct{} // closed once res/err are final

	// set while a batch runs
	res   *IssueResult
	err   error
	prev  *StoredIssue
	held  []*Code
	claim bool
}

func newIssueCall(p IssueParams) (*issueCall, error) {
	if p.PerCustomer < 1 {
		p.PerCustomer = 1
	}
	k := &issueCall{p: p, lead: make(chan struct{}, 1), answered: make(chan struct{})}
	if p.IdempotencyKey != "" {
		k.keys = append(k.keys, fmt.Sprintf("issue-idem:%d:%s", p.ShopID, p.IdempotencyKey))
	}
	k.args = []any{p.CampaignID}
	if p.CustomerID != nil {
		k.keys = append(k.keys, fmt.Sprintf("issue-shopper:%d:id:%d", p.CampaignID, *p.CustomerID))
		k.args = append(k.args, *p.CustomerID)
		k.conds = append(k.conds, fmt.Sprintf("customer_id = $%d", len(k.args)))
	}
	if p.CustomerEmail != "" {
		k.keys = append(k.keys, fmt.Sprintf("issue-shopper:%d:email:%s", p.CampaignID, p.CustomerEmail))
		k.args = append(k.args, p.CustomerEmail)
		k.conds = append(k.conds, fmt.Sprintf("lower(customer_email) = $%d", len(k.args)))
	}
	if p.TotalCap != nil || p.Budget != nil {
		k.capKey = fmt.Sprintf("issue-usage:%d", p.CampaignID)
	}
	if p.Event != nil {
		prov := Code{CampaignID: p.CampaignID, ShopID: p.ShopID, Status: CodeIssued, Channel: p.Channel, PartnerID: p.PartnerID,
			CustomerID: p.CustomerID, CustomerEmail: nullString(p.CustomerEmail), IssuedAt: &p.Now, ExpiresAt: p.ExpiresAt, Kind: "unique"}
		data, err := json.Marshal(p.Event(&prov))
		if err != nil {
			return nil, fmt.Errorf("store: emit code.issued: %w", err)
		}
		t := string(data)
		k.tmpl = &t
	}
	id, err := newEventID()
	if err != nil {
		return nil, err
	}
	k.eventID = id
	return k, nil
}

// submitIssue queues a call and returns its answer once its batch is over.
func (s *Store) submitIssue(k *issueCall) (*IssueResult, error) {
	g := &s.issue
	g.mu.Lock()
	g.pending = append(g.pending, k)
	// Behind (more queued than one batch takes): another batch may start,
	// up to 3x issueCommitters, so a slow database gets more concurrent
	// work instead of a growing queue.
	if g.running < issueCommitters || len(g.pending) > issueMaxBatch && g.running < 3*issueCommitters {
		g.running++
		k.hasLead = true
		k.lead <- struct{}{}
	}
	g.mu.Unlock()
	for {
		select {
		case <-k.lead:
			s.leadIssueBatches(k)
		case <-k.answered:
			// Leadership handed over while this call was still queued
			// must not be lost with it.
			select {
			case <-k.lead:
				s.leadIssueBatches(k)
			default:
			}
			return k.res, k.err
		}
	}
}

// leadIssueBatches runs batches until the leader's own call is answered
// (then hands leadership to the oldest waiting call) or nothing is queued.
func (s *Store) leadIssueBatches(own *issueCall) {
	g := &s.issue
	for {
		g.mu.Lock()
		batch := g.take()
		if len(batch) == 0 {
			g.running--
			g.mu.Unlock()
			return
		}
		g.mu.Unlock()
		s.runIssueBatch(batch)
		for _, k := range batch {
			close(k.answered)
		}
		select {
		case <-own.answered:
			g.mu.Lock()
			g.handOff()
			g.mu.Unlock()
			return
		default:
		}
	}
}

// handOff passes a finishing leader's place to the oldest queued call that
// does not lead yet, or gives the place up.
func (g *issueGroup) handOff() {
	for _, k := range g.pending {
		if !k.hasLead {
			k.hasLead = true
			k.lead <- struct{}{} // buffered: a call receives at most one token
			return
		}
	}
	g.running--
}

// take removes the next batch from the queue: the oldest calls, up to
// issueMaxBatch, skipping any that shares a lock key with one already
// taken (it stays queued, in order, for the next batch).
func (g *issueGroup) take() []*issueCall {
	if len(g.pending) == 0 {
		return nil
	}
	var batch []*issueCall
	held := map[string]bool{}
	rest := g.pending[:0]
	for _, k := range g.pending {
		ok := len(batch) < issueMaxBatch
		for _, key := range k.keys {
			if ok && held[key] {
				ok = false
			}
		}
		if !ok {
			rest = append(rest, k)
			continue
		}
		for _, key := range k.keys {
			held[key] = true
		}
		batch = append(batch, k)
	}
	clear(g.pending[len(rest):])
	g.pending = rest
	return batch
}

// runIssueBatch runs the calls in one transaction and sets each one's
// res/err. A failure that is not one claim's own rolls everything back and
// runs the calls one by one.
func (s *Store) runIssueBatch(batch []*issueCall) {
	ctx, cancel := context.WithTimeout(context.Background(), issueBatchTimeout)
	defer cancel()
	retry, err := s.issueTx(ctx, batch)
	if err == nil {
		return
	}
	if len(batch) > 1 && retry {
		// The transaction certainly did not commit: nothing of it is
		// durable, so each claim runs alone and only a bad one fails.
		s.issue.fallbacks.Add(1)
		for _, k := range batch {
			k.reset()
			if _, err := s.issueTx(ctx, []*issueCall{k}); err != nil {
				k.res, k.err = nil, err
			}
		}
		return
	}
	for _, k := range batch {
		if k.err == nil {
			k.res, k.err = nil, err
		}
	}
}

func (k *issueCall) reset() {
	k.res, k.err, k.prev, k.held, k.claim = nil, nil, nil, nil, false
}

// campaignUsage is what the total cap and the budget are checked against.
type campaignUsage struct {
	issued      int64 // codes ever issued
	outstanding int64 // issued, not yet redeemed or expired
	spentMinor  int64 // discount of the conversions that stand
	conversions int64
	claimed     int64 // claimed so far in this batch
}

// issueTx runs one batch transaction. It returns nil when it committed
// (each call's own outcome is in res/err) and an error when the batch as a
// whole failed; retry says the transaction certainly did not commit.
func (s *Store) issueTx(ctx context.Context, batch []*issueCall) (retry bool, err error) {
	// commitSent: a COMMIT went out; refused: the server answered it with
	// an error (the transaction was rolled back).
	commitSent, refused := false, false
	defer func() { retry = err != nil && (!commitSent || refused) }()
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return false, fmt.Errorf("store: issue: %w", TranslateError(err))
	}
	defer conn.Release()
	c := conn.Conn()
	open := false
	defer func() {
		if open {
			if _, rerr := c.Exec(context.WithoutCancel(ctx), "ROLLBACK"); rerr != nil {
				_ = c.Close(context.WithoutCancel(ctx)) // state unknown: never reuse it
			}
		}
	}()

	// Round trip 1: BEGIN, every advisory lock of the batch (sorted), then
	// each call's Idempotency-Key record and held codes, and the usage of
	// capped campaigns. Each lookup is its own statement, so its snapshot
	// is taken after the locks are held and sees what an earlier holder
	// committed.
	var keys []string
	usage := map[int64]*campaignUsage{}
	var capped []int64
	for _, k := range batch {
		keys = append(keys, k.keys...)
		if k.capKey != "" {
			keys = append(keys, k.capKey)
			if usage[k.p.CampaignID] == nil {
				usage[k.p.CampaignID] = &campaignUsage{}
				capped = append(capped, k.p.CampaignID)
			}
		}
	}
	b := &pgx.Batch{}
	b.Queue("BEGIN")
	if len(keys) > 0 {
		b.Queue(`SELECT pg_advisory_xact_lock(l.h) FROM (SELECT DISTINCT hashtextextended(k, 0) AS h FROM unnest($1::text[]) AS k ORDER BY 1) AS l`, keys)
	}
	for _, k := range batch {
		if k.p.IdempotencyKey != "" {
			b.Queue(`SELECT request_hash, status, body, response::text FROM issue_requests WHERE shop_id = $1 AND idempotency_key = $2`,
				k.p.ShopID, k.p.IdempotencyKey)
		}
		if len(k.conds) > 0 {
			// Only the conditions that apply are in the SQL, so the planner
			// uses the customer indexes.
			b.Queue(`SELECT `+codeCols+` FROM codes WHERE campaign_id = $1 AND status IN ('issued', 'redeemed') AND (`+
				strings.Join(k.conds, " OR ")+`) ORDER BY issued_at DESC NULLS LAST, id DESC LIMIT 100`, k.args...)
		}
	}
	for _, id := range capped {
		b.Queue(usageSQL, id)
	}
	open = true
	err = func() error {
		br := c.SendBatch(ctx, b)
		defer br.Close()
		if _, err := br.Exec(); err != nil {
			return err
		}
		if len(keys) > 0 {
			if _, err := br.Exec(); err != nil {
				return err
			}
		}
		for _, k := range batch {
			if k.p.IdempotencyKey != "" {
				var r StoredIssue
				var response string
				err := br.QueryRow().Scan(&r.RequestHash, &r.Status, &r.Body, &response)
				switch {
				case err == nil:
					if r.Body == nil {
						r.Body = []byte(response)
					}
					k.prev = &r
				case !errors.Is(err, pgx.ErrNoRows):
					return err
				}
			}
			if len(k.conds) > 0 {
				rows, err := br.Query()
				if err != nil {
					return err
				}
				if k.held, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (*Code, error) { return scanCode(r) }); err != nil {
					return err
				}
			}
		}
		for _, id := range capped {
			u := usage[id]
			if err := br.QueryRow().Scan(&u.issued, &u.outstanding, &u.spentMinor, &u.conversions); err != nil {
				return err
			}
		}
		return br.Close()
	}()
	if err != nil {
		return false, fmt.Errorf("store: issue: %w", TranslateError(err))
	}

	// Decide each call from what it found, in queue order.
	var claims []*issueCall
	for _, k := range batch {
		if k.prev != nil {
			if !bytes.Equal(k.prev.RequestHash, k.p.RequestHash) {
				k.err = ErrIdempotencyMismatch
			} else {
				k.res = &IssueResult{Replayed: true, Status: k.prev.Status, Body: k.prev.Body}
			}
			continue
		}
		var live []*Code
		for _, h := range k.held {
			if h.Status == CodeRedeemed && k.p.OncePerCustomer {
				k.err = ErrShopperRedeemed
				break
			}
			if h.Status == CodeIssued && (h.ExpiresAt == nil || h.ExpiresAt.After(k.p.Now)) {
				live = append(live, h)
			}
		}
		if k.err != nil {
			continue
		}
		if len(live) >= k.p.PerCustomer {
			k.res = &IssueResult{Code: live[0], Reused: true}
			continue
		}
		if u := usage[k.p.CampaignID]; u != nil {
			if k.err = u.admit(k.p); k.err != nil {
				continue
			}
			u.claimed++
		}
		k.claim = true
		claims = append(claims, k)
	}
	// keyed: some answer must be recorded for its Idempotency-Key, which
	// needs the rendered answer (round trip 3); otherwise COMMIT rides on
	// round trip 2.
	keyed := false
	for _, k := range batch {
		if k.p.IdempotencyKey != "" && (k.claim || k.res != nil && k.res.Reused) {
			keyed = true
		}
	}

	// Round trip 2: each claim, with its code.issued event rows, under its
	// own savepoint (then COMMIT unless keyed). A claim the server refuses
	// is rolled back to its savepoint and answered with its error; the
	// claims after it are sent again.
	savepoints := len(claims) > 1
	from := map[int64]int64{}
	for _, k := range claims {
		if _, ok := from[k.p.CampaignID]; !ok {
			from[k.p.CampaignID] = s.issue.claimFrom(k.p.CampaignID)
		}
	}
	for {
		// Results are read through callbacks: pgx then ends the pipeline
		// cleanly on an error, and the connection stays usable for the
		// ROLLBACK TO SAVEPOINT.
		failed := -1 // index in claims of the claim the server refused
		b := &pgx.Batch{}
		for i, k := range claims {
			fail := func(err error) error {
				failed = i
				return err
			}
			if savepoints {
				b.Queue("SAVEPOINT claim_" + strconv.Itoa(i)).Exec(func(pgconn.CommandTag) error { return nil })
			}
			b.Queue(claimSQL, k.p.Now, k.p.ExpiresAt, k.p.CustomerID, nullString(k.p.CustomerEmail), k.p.Channel, k.p.PartnerID, k.p.CampaignID,
				from[k.p.CampaignID], k.p.ShopID, k.eventID, k.tmpl).
				QueryRow(func(row pgx.Row) error {
					var outIDs []int64
					code, err := scanCode(row, &outIDs)
					switch {
					case err == nil:
						k.res = &IssueResult{Code: code, OutboundIDs: outIDs}
						s.issue.claimed(code.CampaignID, code.ID)
					case errors.Is(err, pgx.ErrNoRows):
						k.err = ErrPoolEmpty
					default:
						return fail(err)
					}
					return nil
				})
			if savepoints {
				b.Queue("RELEASE SAVEPOINT claim_" + strconv.Itoa(i)).Exec(func(pgconn.CommandTag) error { return nil })
			}
		}
		if !keyed {
			b.Queue("COMMIT").Exec(func(pgconn.CommandTag) error { return nil })
			commitSent = true
		} else if len(claims) == 0 {
			break
		}
		err := c.SendBatch(ctx, b).Close()
		if err == nil {
			if !keyed {
				open = false
			}
			break
		}
		var pgErr *pgconn.PgError
		refused = errors.As(err, &pgErr)
		if failed < 0 || !savepoints || !refused {
			return false, fmt.Errorf("store: claim code: %w", TranslateError(err))
		}
		claims[failed].res, claims[failed].err = nil, fmt.Errorf("store: claim code: %w", TranslateError(err))
		if _, err := c.Exec(ctx, "ROLLBACK TO SAVEPOINT claim_"+strconv.Itoa(failed)); err != nil {
			return false, fmt.Errorf("store: claim code: %w", TranslateError(err))
		}
		claims = claims[failed+1:]
		refused = false
	}

	// Answers are rendered now; with an Idempotency-Key the first 2xx
	// answer is recorded in the same transaction (round trip 3, COMMIT).
	for _, k := range batch {
		if k.err != nil || k.res == nil || k.res.Replayed || k.p.Render == nil {
			continue
		}
		if k.res.Status, k.res.Body, err = k.p.Render(k.res.Code, k.res.Reused); err != nil {
			if open {
				return false, err // nothing committed yet: roll back, run alone
			}
			k.res, k.err = nil, err
		}
	}
	if !open {
		return false, nil
	}
	b = &pgx.Batch{}
	for _, k := range batch {
		if k.p.IdempotencyKey != "" && k.err == nil && k.res != nil && !k.res.Replayed && k.res.Status >= 200 && k.res.Status < 300 {
			b.Queue(`INSERT INTO issue_requests (shop_id, idempotency_key, request_hash, status, response, body, created_at)
				VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7)`, k.p.ShopID, k.p.IdempotencyKey, k.p.RequestHash, k.res.Status, string(k.res.Body), k.res.Body, k.p.Now)
		}
	}
	b.Queue("COMMIT")
	commitSent = true
	if err := c.SendBatch(ctx, b).Close(); err != nil {
		var pgErr *pgconn.PgError
		refused = errors.As(err, &pgErr)
		return false, fmt.Errorf("store: issue commit: %w", TranslateError(err))
	}
	open = false
	return false, nil
}

// admit applies the total cap and the budget to one more code.
func (u *campaignUsage) admit(p IssueParams) error {
	if p.TotalCap != nil && u.issued+u.claimed >= *p.TotalCap {
		return ErrTotalCapReached
	}
	if b := p.Budget; b != nil {
		if u.spentMinor >= b.LimitMinor {
			return ErrBudgetExhausted
		}
		per := b.PerCodeMinor
		if per <= 0 && u.conversions > 0 {
			per = (u.spentMinor + u.conversions - 1) / u.conversions
		}
		if per > 0 && u.spentMinor+(u.outstanding+u.claimed+1)*per > b.LimitMinor {
			return ErrBudgetExhausted
		}
	}
	return nil
}

// usageSQL measures a campaign for its total cap and budget: codes ever
// issued, codes issued and still open, and the discount (and count) of the
// conversions that stand.
const usageSQL = `SELECT
	(SELECT count(*) FROM codes WHERE campaign_id = $1 AND issued_at IS NOT NULL),
	(SELECT count(*) FROM codes WHERE campaign_id = $1 AND issued_at IS NOT NULL AND status = 'issued'),
	COALESCE((SELECT sum(discount_minor) FROM conversions WHERE campaign_id = $1 AND status IN ('held', 'approved', 'paid')), 0)::bigint,
	(SELECT count(*) FROM conversions WHERE campaign_id = $1 AND status IN ('held', 'approved', 'paid') AND discount_minor > 0)`
