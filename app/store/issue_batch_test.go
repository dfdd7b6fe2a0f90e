package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/coupontrail/coupontrail/migrations"
)

// issueFixture is a migrated database with one shop, an outbound endpoint
// subscribed to code.issued and a campaign with a pool of live codes.
type issueFixture struct {
	s    *Store
	shop *Shop
	camp *Campaign
}

func newIssueFixture(t *testing.T, poolSize int, usage string) *issueFixture {
	t.Helper()
	ctx := context.Background()
	s, err := Open(ctx, newInternalTestDB(t), Options{MaxOpenConns: 8, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	if err := s.Migrate(ctx, migrations.FS, "up"); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	sh, err := s.InstallShop(ctx, "batch.myshopify.com", ShopTokens{AccessTokenEnc: "x", TokenKind: "offline"}, now)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CreateWebhookEndpoint(ctx, &WebhookEndpoint{ShopID: sh.ID, URL: "https://hooks.example.com", SecretEnc: "x"}); err != nil {
		t.Fatal(err)
	}
	f := &issueFixture{s: s, shop: sh}
	f.camp = f.campaign(t, poolSize, usage)
	return f
}

func (f *issueFixture) campaign(t *testing.T, poolSize int, usage string) *Campaign {
	t.Helper()
	ctx := context.Background()
	c := &Campaign{ShopID: f.shop.ID, Name: "batch", Goal: "acquisition", Status: "active", Usage: []byte(usage), StartsAt: time.Now().Add(-time.Hour)}
	if err := f.s.SeedCampaign(ctx, c); err != nil {
		t.Fatal(err)
	}
	codes := make([]SeedLiveCode, poolSize)
	for i := range codes {
		codes[i] = SeedLiveCode{Code: fmt.Sprintf("B%dX%03d", c.ID, i)}
	}
	if poolSize > 0 {
		if err := f.s.SeedLiveCodes(ctx, f.shop.ID, c.ID, codes); err != nil {
			t.Fatal(err)
		}
	}
	return c
}

func (f *issueFixture) params(campaignID int64, email string) IssueParams {
	return IssueParams{ShopID: f.shop.ID, CampaignID: campaignID, CustomerEmail: email, Now: time.Now().UTC(),
		Event: func(k *Code) any { return map[string]any{"customer_email": k.CustomerEmail} },
		Render: func(k *Code, reused bool) (int, []byte, error) {
			return 201, []byte(fmt.Sprintf(`{"code":%q,"reused":%v}`, k.Code, reused)), nil
		}}
}

func (f *issueFixture) call(t *testing.T, p IssueParams) *issueCall {
	t.Helper()
	k, err := newIssueCall(p)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// refuse installs a trigger that makes the server refuse writes of table
// whose new row matches cond (a SQL expression over NEW).
func (f *issueFixture) refuse(t *testing.T, table, cond string) {
	t.Helper()
	ctx := context.Background()
	fn := "refuse_" + table
	if _, err := f.s.pool.Exec(ctx, `CREATE FUNCTION `+fn+`() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN IF `+cond+` THEN RAISE EXCEPTION 'refused by test trigger'; END IF; RETURN NEW; END $$`); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.pool.Exec(ctx, `CREATE TRIGGER `+fn+` BEFORE INSERT OR UPDATE ON `+table+` FOR EACH ROW EXECUTE FUNCTION `+fn+`()`); err != nil {
		t.Fatal(err)
	}
}

func (f *issueFixture) issuedTo(t *testing.T, email string) []string {
	t.Helper()
	rows, err := f.s.pool.Query(context.Background(), `SELECT code FROM codes WHERE customer_email = $1 AND status = 'issued'`, email)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			t.Fatal(err)
		}
		out = append(out, c)
	}
	return out
}

// One batch holding good claims, a claim the server refuses, an empty
// pool, a once-per-customer refusal and an Idempotency-Key: the refused
// claim alone fails, everything else commits in the batch's one
// transaction (one xmin on all its event rows).
func TestIssueBatchRefusedClaimDoesNotSinkTheOthers(t *testing.T) {
	f := newIssueFixture(t, 20, `{"once_per_customer":true}`)
	ctx := context.Background()
	empty := f.campaign(t, 0, `{}`)
	f.refuse(t, "codes", `NEW.customer_email = 'boom@x.com'`)
	// a shopper who already redeemed a code of the campaign
	if _, err := f.s.pool.Exec(ctx, `UPDATE codes SET status = 'redeemed', customer_email = 'done@x.com', issued_at = now()
		WHERE id = (SELECT min(id) FROM codes WHERE campaign_id = $1)`, f.camp.ID); err != nil {
		t.Fatal(err)
	}
	keyed := f.params(f.camp.ID, "keyed@x.com")
	keyed.IdempotencyKey, keyed.RequestHash = "k-1", []byte("h1")
	batch := []*issueCall{
		f.call(t, f.params(f.camp.ID, "a@x.com")),
		f.call(t, f.params(f.camp.ID, "boom@x.com")),
		f.call(t, f.params(f.camp.ID, "b@x.com")),
		f.call(t, f.params(empty.ID, "c@x.com")),
		f.call(t, f.params(f.camp.ID, "done@x.com")),
		f.call(t, keyed),
		f.call(t, f.params(f.camp.ID, "")),
	}
	for i := range batch {
		batch[i].p.OncePerCustomer = true
	}
	f.s.runIssueBatch(batch)
	if n := f.s.issue.fallbacks.Load(); n != 0 {
		t.Fatalf("the batch fell back to one-by-one %d times", n)
	}

	seen := map[string]bool{}
	for _, i := range []int{0, 2, 5, 6} {
		k := batch[i]
		if k.err != nil {
			t.Fatalf("claim %d (%s): %v", i, k.p.CustomerEmail, k.err)
		}
		if k.res.Code == nil || seen[k.res.Code.Code] || len(k.res.OutboundIDs) != 1 || k.res.Status != 201 {
			t.Fatalf("claim %d: %+v", i, k.res)
		}
		seen[k.res.Code.Code] = true
		if k.p.CustomerEmail != "" {
			if got := f.issuedTo(t, k.p.CustomerEmail); len(got) != 1 || got[0] != k.res.Code.Code {
				t.Fatalf("database has %v for %s, answered %s", got, k.p.CustomerEmail, k.res.Code.Code)
			}
		}
	}
	if err := batch[1].err; err == nil || errors.Is(err, ErrPoolEmpty) {
		t.Fatalf("refused claim: %v", err)
	}
	if got := f.issuedTo(t, "boom@x.com"); len(got) != 0 {
		t.Fatalf("refused claim left %v issued", got)
	}
	if !errors.Is(batch[3].err, ErrPoolEmpty) {
		t.Fatalf("empty pool: %v", batch[3].err)
	}
	if !errors.Is(batch[4].err, ErrShopperRedeemed) {
		t.Fatalf("once per customer: %v", batch[4].err)
	}
	var events, records int
	if err := f.s.pool.QueryRow(ctx, `SELECT count(*) FROM outbound_events WHERE type = 'code.issued'`).Scan(&events); err != nil {
		t.Fatal(err)
	}
	if events != 4 {
		t.Fatalf("%d code.issued events, want 4", events)
	}
	stored, err := f.s.IdempotentIssue(ctx, f.shop.ID, "k-1")
	if err != nil || string(stored.Body) != string(batch[5].res.Body) {
		t.Fatalf("idempotency record: %v %+v", err, stored)
	}
	if err := f.s.pool.QueryRow(ctx, `SELECT count(*) FROM issue_requests`).Scan(&records); err != nil || records != 1 {
		t.Fatalf("issue_requests: %d %v", records, err)
	}
}

// A failure outside any claim's savepoint (here recording an
// Idempotency-Key answer) rolls the batch back; its calls then run one by
// one and only the bad one fails, without its code staying issued.
func TestIssueBatchFailureOutsideClaimsRunsCallsAlone(t *testing.T) {
	f := newIssueFixture(t, 20, `{}`)
	f.refuse(t, "issue_requests", `NEW.idempotency_key = 'boom'`)
	emails := []string{"a@x.com", "boom@x.com", "b@x.com", "c@x.com"}
	var batch []*issueCall
	for _, e := range emails {
		p := f.params(f.camp.ID, e)
		switch e {
		case "boom@x.com":
			p.IdempotencyKey, p.RequestHash = "boom", []byte("h")
		case "c@x.com":
			p.IdempotencyKey, p.RequestHash = "fine", []byte("h")
		}
		batch = append(batch, f.call(t, p))
	}
	f.s.runIssueBatch(batch)
	if n := f.s.issue.fallbacks.Load(); n != 1 {
		t.Fatalf("fallbacks = %d, want 1", n)
	}
	for i, k := range batch {
		if emails[i] == "boom@x.com" {
			if k.err == nil {
				t.Fatal("the refused record did not fail its call")
			}
			if got := f.issuedTo(t, emails[i]); len(got) != 0 {
				t.Fatalf("failed call left %v issued", got)
			}
			continue
		}
		if k.err != nil {
			t.Fatalf("%s: %v", emails[i], k.err)
		}
		if got := f.issuedTo(t, emails[i]); len(got) != 1 || got[0] != k.res.Code.Code || len(k.res.OutboundIDs) != 1 {
			t.Fatalf("%s: database %v, answer %+v", emails[i], got, k.res)
		}
	}
	if _, err := f.s.IdempotentIssue(context.Background(), f.shop.ID, "fine"); err != nil {
		t.Fatalf("record of the good keyed call: %v", err)
	}
}

// Concurrent callers through IssueCode: good and refused claims mixed in
// whatever batches form; every good caller gets its own code, every
// refused one an error, and a shopper racing 20 times gets one code.
func TestIssueCodeConcurrentMixedOutcomes(t *testing.T) {
	f := newIssueFixture(t, 300, `{}`)
	f.refuse(t, "codes", `NEW.customer_email LIKE 'boom%'`)
	ctx := context.Background()
	type out struct {
		email string
		code  string
		err   error
	}
	var mu sync.Mutex
	var outs []out
	var wg sync.WaitGroup
	for i := range 200 {
		email := fmt.Sprintf("s%d@x.com", i)
		switch {
		case i%7 == 0:
			email = fmt.Sprintf("boom%d@x.com", i)
		case i >= 180:
			email = "racer@x.com"
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := f.s.IssueCode(ctx, f.params(f.camp.ID, email))
			o := out{email: email, err: err}
			if err == nil {
				o.code = res.Code.Code
			}
			mu.Lock()
			outs = append(outs, o)
			mu.Unlock()
		}()
	}
	wg.Wait()
	owner := map[string]string{}
	for _, o := range outs {
		boom := len(o.email) > 4 && o.email[:4] == "boom"
		if boom != (o.err != nil) {
			t.Fatalf("%s: %v", o.email, o.err)
		}
		if boom {
			continue
		}
		if prev, ok := owner[o.code]; ok && prev != o.email {
			t.Fatalf("code %s went to %s and %s", o.code, prev, o.email)
		}
		owner[o.code] = o.email
	}
	if got := f.issuedTo(t, "racer@x.com"); len(got) != 1 {
		t.Fatalf("racing shopper holds %v", got)
	}
	var issued int
	if err := f.s.pool.QueryRow(ctx, `SELECT count(*) FROM codes WHERE status = 'issued'`).Scan(&issued); err != nil || issued != len(owner) {
		t.Fatalf("%d codes issued, %d answered (%v)", issued, len(owner), err)
	}
	if len(f.s.issue.pending) != 0 || f.s.issue.running != 0 {
		t.Fatalf("committer left %d queued, %d running", len(f.s.issue.pending), f.s.issue.running)
	}
}

// The total cap and the budget hold under concurrency: exactly as many
// codes as they allow, the rest refused with their own errors.
func TestIssueCodeTotalCapAndBudget(t *testing.T) {
	f := newIssueFixture(t, 100, `{}`)
	ctx := context.Background()
	run := func(campaignID int64, set func(p *IssueParams)) (ok int, errs map[error]int) {
		errs = map[error]int{}
		var mu sync.Mutex
		var wg sync.WaitGroup
		for i := range 30 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				p := f.params(campaignID, fmt.Sprintf("c%d-%d@x.com", campaignID, i))
				set(&p)
				_, err := f.s.IssueCode(ctx, p)
				mu.Lock()
				defer mu.Unlock()
				if err == nil {
					ok++
				} else {
					errs[err]++
				}
			}()
		}
		wg.Wait()
		return ok, errs
	}
	capN := int64(7)
	if ok, errs := run(f.camp.ID, func(p *IssueParams) { p.TotalCap = &capN }); ok != 7 || errs[ErrTotalCapReached] != 23 {
		t.Fatalf("total cap 7: %d issued, refusals %v", ok, errs)
	}
	// Fixed amount: 10.00 a code against a 35.00 budget, 5.00 of it spent.
	fixed := f.campaign(t, 100, `{}`)
	if _, err := f.s.pool.Exec(ctx, `INSERT INTO conversions (shop_id, order_id, order_created_at, order_version, status, rule, campaign_id,
		currency, discount_minor, hold_until, attributed_at) VALUES ($1, 1, now(), now(), 'approved', 'code', $2, 'USD', 500, now(), now())`,
		f.shop.ID, fixed.ID); err != nil {
		t.Fatal(err)
	}
	budget := &IssueBudget{LimitMinor: 3500, PerCodeMinor: 1000}
	if ok, errs := run(fixed.ID, func(p *IssueParams) { p.Budget = budget }); ok != 3 || errs[ErrBudgetExhausted] != 27 {
		t.Fatalf("budget: %d issued, refusals %v", ok, errs)
	}
	// Spent in full: nothing more, whatever the per-code estimate.
	spent := f.campaign(t, 10, `{}`)
	if _, err := f.s.pool.Exec(ctx, `INSERT INTO conversions (shop_id, order_id, order_created_at, order_version, status, rule, campaign_id,
		currency, discount_minor, hold_until, attributed_at) VALUES ($1, 2, now(), now(), 'paid', 'code', $2, 'USD', 3500, now(), now())`,
		f.shop.ID, spent.ID); err != nil {
		t.Fatal(err)
	}
	p := f.params(spent.ID, "late@x.com")
	p.Budget = &IssueBudget{LimitMinor: 3500}
	if _, err := f.s.IssueCode(ctx, p); !errors.Is(err, ErrBudgetExhausted) {
		t.Fatalf("spent budget: %v", err)
	}
}
