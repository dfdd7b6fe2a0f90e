package main

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coupontrail/coupontrail/app/devstore"
	"github.com/coupontrail/coupontrail/app/store"
	"github.com/coupontrail/coupontrail/jobs"
)

// testClock is an adjustable clock for the jobs (hold release).
type testClock struct {
	mu  sync.Mutex
	off time.Duration
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().UTC().Add(c.off)
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.off += d
	c.mu.Unlock()
}

// convFixture is a shop with an active campaign, live codes, a partner with
// a 10% commission and a running worker.
type convFixture struct {
	*issueFixture
	clock   *testClock
	partner string
	stop    func()
}

func newConvFixture(t *testing.T, faults *devstore.Faults) *convFixture {
	t.Helper()
	f := &convFixture{issueFixture: newIssueFixture(t, 20, 0, nil), clock: &testClock{}}
	f.a.jobs.Now = f.clock.Now
	var p partnerJSON
	if code := f.api("POST", "/api/v1/partners", f.key, map[string]any{"name": "Ana", "kind": "influencer",
		"email": "ana@example.com", "commission": map[string]any{"percent": 10}}, &p); code != 201 {
		t.Fatalf("partner: %d", code)
	}
	f.partner = p.ID
	stop, err := f.a.startWorker(false)
	if err != nil {
		t.Fatal(err)
	}
	f.stop = stop
	t.Cleanup(stop)
	if faults != nil {
		f.dev.SetFaults(*faults)
	}
	return f
}

// issueTo issues a partner code to email through the issue API.
func (f *convFixture) issueTo(email string) string {
	f.t.Helper()
	code, _, body := f.issue(map[string]any{"customer_email": email, "partner_id": f.partner, "channel": "affiliate"}, "")
	if code != 201 {
		f.t.Fatalf("issue: %d %s", code, body)
	}
	return decodeIssued(f.t, body).Code
}

func (f *convFixture) order(email string, codes ...string) int64 {
	f.t.Helper()
	o, err := f.dev.CreateOrder(f.shop, devstore.OrderInput{Email: email, DiscountCodes: codes,
		LineItems: []devstore.LineItemInput{{Title: "Tee", Price: "30.00", Quantity: 2}}})
	if err != nil {
		f.t.Fatal(err)
	}
	return orderIDOf(o)
}

func orderIDOf(o map[string]any) int64 {
	switch v := o["id"].(type) {
	case int64:
		return v
	case float64:
		return int64(v)
	case int:
		return int64(v)
	}
	return 0
}

// conversion waits until the order's conversion satisfies cond.
func (f *convFixture) conversion(orderID int64, what string, cond func(conversionJSON) bool) conversionJSON {
	f.t.Helper()
	var got conversionJSON
	eventually(f.t, 30*time.Second, what, func() bool {
		var l list[conversionJSON]
		if code := f.api("GET", fmt.Sprintf("/api/v1/conversions?order_id=%d", orderID), f.key, nil, &l); code != 200 || len(l.Items) != 1 {
			_, _ = f.a.jobs.SweepDeliveries(context.Background(), 0)
			return false
		}
		got = l.Items[0]
		return cond == nil || cond(got)
	})
	return got
}

func (f *convFixture) ledgerOK() {
	f.t.Helper()
	var chk jobs.LedgerCheck
	if code := f.api("GET", "/api/v1/ledger/check", f.key, nil, &chk); code != 200 || !chk.OK || chk.Checked == 0 {
		f.t.Fatalf("ledger check: %d %+v", code, chk)
	}
}

func (f *convFixture) waitIdle() {
	f.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := f.dev.WaitIdle(ctx); err != nil {
		f.t.Fatal(err)
	}
	eventually(f.t, 30*time.Second, "every delivery processed", func() bool {
		for _, d := range f.deliveries(f.shop) {
			if d.Status == store.DeliveryReceived {
				_, _ = f.a.jobs.SweepDeliveries(context.Background(), 0)
				return false
			}
		}
		return true
	})
}

// TestConversionLifecycle: an order with an issued partner code becomes one
// held conversion credited to the code's campaign and partner with exact
// money; a partial refund reduces it pro rata; the hold release approves it;
// the ledger agrees with the conversion throughout.
func TestConversionLifecycle(t *testing.T) {
	f := newConvFixture(t, nil)
	code := f.issueTo("buyer@example.com")
	oid := f.order("buyer@example.com", strings.ToLower(code))
	c := f.conversion(oid, "conversion created", nil)
	if c.Status != "held" || c.PartnerID == nil || *c.PartnerID != f.partner || c.CampaignID == nil || *c.CampaignID != idString(f.camp.ID) ||
		c.Code != code || c.Channel != "affiliate" || c.Currency != "USD" {
		t.Fatalf("conversion: %+v", c)
	}
	// 2 x 30.00, 10% off: gross 60.00, discount 6.00, net 54.00, commission 10% = 5.40.
	if c.GrossRevenue != "60.00" || c.DiscountCost != "6.00" || c.NetRevenue != "54.00" || c.Commission != "5.40" {
		t.Fatalf("money: %+v", c)
	}
	if c.Credit.Rule != "code" || len(c.Credit.Evidence) == 0 {
		t.Fatalf("credit: %+v", c.Credit)
	}
	var codes list[map[string]any]
	f.api("GET", "/api/v1/codes?campaign_id="+idString(f.camp.ID)+"&status=redeemed", f.key, nil, &codes)
	if len(codes.Items) != 1 {
		t.Fatalf("redeemed codes: %+v", codes.Items)
	}

	// Partial refund of 13.50 (a quarter of the net) -> net 40.50, commission 4.05.
	if _, err := f.dev.CreateRefund(f.shop, oid, devstore.RefundInput{Amount: "13.50"}); err != nil {
		t.Fatal(err)
	}
	c = f.conversion(oid, "refund applied", func(c conversionJSON) bool { return c.NetRevenue != "54.00" })
	if c.NetRevenue != "40.50" || c.Commission != "4.05" || c.GrossRevenue != "45.00" || c.DiscountCost != "4.50" || c.Status != "held" {
		t.Fatalf("after refund: %+v", c)
	}
	f.ledgerOK()

	// Not due yet: the sweep leaves it held.
	if n, err := f.a.jobs.SweepReleases(context.Background()); err != nil || n != 0 {
		t.Fatalf("early sweep: %d %v", n, err)
	}
	f.clock.Advance(31 * 24 * time.Hour)
	if n, err := f.a.jobs.SweepReleases(context.Background()); err != nil || n != 1 {
		t.Fatalf("sweep: %d %v", n, err)
	}
	c = f.conversion(oid, "approved", nil)
	if c.Status != "approved" || c.ApprovedAt == nil {
		t.Fatalf("after release: %+v", c)
	}
	// Approving again changes nothing; rejecting an approved one is a conflict.
	var out conversionJSON
	if code := f.api("POST", "/api/v1/conversions/"+c.ID+"/approve", f.key, map[string]string{"reason": "again"}, &out); code != 200 || out.Status != "approved" {
		t.Fatalf("re-approve: %d %+v", code, out)
	}
	if code := f.api("POST", "/api/v1/conversions/"+c.ID+"/reject", f.key, map[string]string{"reason": "late"}, nil); code != 409 {
		t.Fatalf("reject approved: %d", code)
	}
	f.ledgerOK()
}

// TestConversionApproveRejectCancel: merchants approve or reject held
// conversions early with a reason; a cancelled order reverses its
// conversion; an order without a code is an organic outcome.
func TestConversionApproveRejectCancel(t *testing.T) {
	f := newConvFixture(t, nil)
	o1 := f.order("a@example.com", f.issueTo("a@example.com"))
	o2 := f.order("b@example.com", f.issueTo("b@example.com"))
	o3 := f.order("c@example.com", f.issueTo("c@example.com"))
	o4 := f.order("d@example.com")
	c1 := f.conversion(o1, "c1", nil)
	c2 := f.conversion(o2, "c2", nil)
	var out conversionJSON
	tok := f.sessionToken(f.shop)
	if code := f.api("POST", "/api/v1/conversions/"+c1.ID+"/approve", tok, map[string]string{"reason": "trusted partner"}, &out); code != 200 || out.Status != "approved" {
		t.Fatalf("approve: %d %+v", code, out)
	}
	if code := f.api("POST", "/api/v1/conversions/"+c2.ID+"/reject", f.key, map[string]string{}, nil); code != 422 {
		t.Fatalf("reject without reason: %d", code)
	}
	if code := f.api("POST", "/api/v1/conversions/"+c2.ID+"/reject", f.key, map[string]string{"reason": "self referral"}, &out); code != 200 || out.Status != "rejected" || out.StatusReason != "self referral" {
		t.Fatalf("reject: %d %+v", code, out)
	}
	if code := f.api("POST", "/api/v1/conversions/999999999/approve", f.key, map[string]string{"reason": "x"}, nil); code != 404 {
		t.Fatalf("unknown: %d", code)
	}
	f.conversion(o3, "c3", nil)
	if _, err := f.dev.CancelOrder(f.shop, o3, "customer", true); err != nil {
		t.Fatal(err)
	}
	c3 := f.conversion(o3, "c3 reversed", func(c conversionJSON) bool { return c.Status == "reversed" })
	if c3.NetRevenue != "0.00" || c3.Commission != "0.00" || c3.Original.NetRevenue != "54.00" {
		t.Fatalf("reversed: %+v", c3)
	}
	c4 := f.conversion(o4, "organic", nil)
	if c4.PartnerID != nil || c4.Commission != "0.00" || c4.Credit.Rule != "organic" || c4.NetRevenue != "60.00" {
		t.Fatalf("organic: %+v", c4)
	}
	// the ledger names the user who approved
	sh := mustShop(t, f.testEnv, f.shop)
	rows, err := f.a.store.ConversionLedger(context.Background(), sh.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	var users int
	for _, r := range rows {
		if r.Kind == "approve" && r.CauseType == "user" {
			users++
		}
	}
	if users == 0 {
		t.Fatal("no ledger entry caused by the user")
	}
	f.ledgerOK()
}

// ledgerFingerprint is the shop's conversions and ledger without ids, times
// and causes (webhook ids differ between runs): what must be identical
// however the deliveries arrived.
func ledgerFingerprint(t *testing.T, e *testEnv, shop string, orderKey map[int64]string) []string {
	t.Helper()
	ctx := context.Background()
	sh := mustShop(t, e, shop)
	convs, err := e.a.store.ListConversions(ctx, store.ConversionFilter{ShopID: sh.ID, Ascending: true})
	if err != nil {
		t.Fatal(err)
	}
	byID := map[int64]string{}
	var out []string
	for _, c := range convs {
		k := orderKey[c.OrderID]
		byID[c.ID] = k
		out = append(out, fmt.Sprintf("conv %s %s %s %d/%d/%d/%d orig %d/%d/%d/%d ref %d code=%v", k, c.Status, c.Rule,
			c.GrossMinor, c.NetMinor, c.DiscountMinor, c.CommissionMinor, c.OriginalGross, c.OriginalNet, c.OriginalDisc, c.OriginalComm,
			c.RefundedMinor, c.Code != ""))
	}
	rows, err := e.a.store.ConversionLedger(ctx, sh.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		key := ""
		if r.IdempotencyKey != nil {
			// conv:<id>:<tag>:<line>; refund tags carry Shopify refund ids
			parts := strings.Split(*r.IdempotencyKey, ":")
			key = parts[2] + ":" + parts[len(parts)-1]
		}
		out = append(out, fmt.Sprintf("ledger %s %s %s->%s %d %s %s", byID[r.SubjectID], r.Kind, r.FromStatus, r.ToStatus, r.AmountMinor, key, r.Detail))
	}
	sort.Strings(out)
	return out
}

// runScenario creates the same orders, refunds and cancellations in a shop
// and returns the fingerprint once everything is delivered.
func runScenario(t *testing.T, faults *devstore.Faults) []string {
	f := newConvFixture(t, faults)
	keys := map[int64]string{}
	for i := range 6 {
		email := fmt.Sprintf("s%d@example.com", i)
		var oid int64
		if i%3 == 2 {
			oid = f.order(email) // organic
		} else {
			oid = f.order(email, f.issueTo(email))
		}
		keys[oid] = fmt.Sprint(i)
		switch i {
		case 1:
			if _, err := f.dev.CreateRefund(f.shop, oid, devstore.RefundInput{Amount: "10.00"}); err != nil {
				t.Fatal(err)
			}
		case 3:
			if _, err := f.dev.CancelOrder(f.shop, oid, "fraud", true); err != nil {
				t.Fatal(err)
			}
		}
	}
	f.waitIdle()
	eventually(t, 30*time.Second, "every conversion", func() bool {
		sh := mustShop(t, f.testEnv, f.shop)
		cs, _ := f.a.store.ListConversions(context.Background(), store.ConversionFilter{ShopID: sh.ID})
		return len(cs) == 6
	})
	f.ledgerOK()
	return ledgerFingerprint(t, f.testEnv, f.shop, keys)
}

// TestConversionsConvergeUnderFaults: every delivery tripled-ish and
// shuffled gives the same conversions and ledger as a clean run.
func TestConversionsConvergeUnderFaults(t *testing.T) {
	clean := runScenario(t, nil)
	faulty := runScenario(t, &devstore.Faults{DuplicateRate: 1, Reorder: true, DelayMS: 30})
	if strings.Join(clean, "\n") != strings.Join(faulty, "\n") {
		t.Fatalf("clean and faulty runs differ:\nclean:\n%s\n\nfaulty:\n%s", strings.Join(clean, "\n"), strings.Join(faulty, "\n"))
	}
}

// TestRefundBeforeOrder: a refund processed before its order is applied when
// the order arrives, with the same result as the clean order.
func TestRefundBeforeOrder(t *testing.T) {
	f := newConvFixture(t, nil)
	f.stop() // process deliveries by hand, in the order the test picks
	code := f.issueTo("late@example.com")
	oid := f.order("late@example.com", code)
	if _, err := f.dev.CreateRefund(f.shop, oid, devstore.RefundInput{Amount: "13.50"}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := f.dev.WaitIdle(ctx); err != nil {
		t.Fatal(err)
	}
	ds := f.deliveries(f.shop)
	sort.Slice(ds, func(a, b int) bool {
		ra, rb := ds[a].Topic == "refunds/create", ds[b].Topic == "refunds/create"
		if ra != rb {
			return ra
		}
		return ds[a].ID > ds[b].ID // newest first: orders/updated before orders/create
	})
	for i, d := range ds {
		if err := f.a.jobs.ProcessDelivery(context.Background(), d.ID); err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			sh := mustShop(t, f.testEnv, f.shop)
			if _, err := f.a.store.ConversionByOrder(context.Background(), sh.ID, oid, false); err == nil {
				t.Fatal("a conversion without its order")
			}
		}
		// replays are no-ops
		if err := f.a.jobs.ProcessDelivery(context.Background(), d.ID); err != nil {
			t.Fatal(err)
		}
	}
	c := f.conversion(oid, "conversion", nil)
	if c.NetRevenue != "40.50" || c.Commission != "4.05" || c.Original.NetRevenue != "54.00" || c.Refunded != "13.50" {
		t.Fatalf("conversion: %+v", c)
	}
	f.ledgerOK()
}

// TestStatementsAndClawback: statements pay approved commission per partner
// (idempotent for a period), paying marks the conversions paid, and a refund
// after payout becomes a clawback on the partner's next statement.
func TestStatementsAndClawback(t *testing.T) {
	f := newConvFixture(t, nil)
	oid := f.order("pay@example.com", f.issueTo("pay@example.com"))
	c := f.conversion(oid, "conversion", nil)
	if code := f.api("POST", "/api/v1/conversions/"+c.ID+"/approve", f.key, map[string]string{"reason": "ok"}, nil); code != 200 {
		t.Fatalf("approve: %d", code)
	}
	now := f.clock.Now()
	period := map[string]string{"period_start": now.Add(-time.Hour).Format(time.RFC3339), "period_end": now.Add(time.Hour).Format(time.RFC3339)}
	var l1, l2 list[statementJSON]
	if code := f.api("POST", "/api/v1/payouts/statements", f.key, period, &l1); code != 201 || len(l1.Items) != 1 {
		t.Fatalf("statements: %d %+v", code, l1)
	}
	st := l1.Items[0]
	if st.PartnerID != f.partner || st.Commission != "5.40" || st.Total != "5.40" || st.Conversions != 1 || st.Status != "open" {
		t.Fatalf("statement: %+v", st)
	}
	if code := f.api("POST", "/api/v1/payouts/statements", f.key, period, &l2); code != 201 || len(l2.Items) != 1 || l2.Items[0].ID != st.ID || l2.Items[0].Total != "5.40" {
		t.Fatalf("statements again: %d %+v", code, l2)
	}
	var paid statementJSON
	if code := f.api("POST", "/api/v1/payouts/statements/"+st.ID+"/paid", f.key, nil, &paid); code != 200 || paid.Status != "paid" || paid.Total != "5.40" {
		t.Fatalf("paid: %d %+v", code, paid)
	}
	c = f.conversion(oid, "paid", nil)
	if c.Status != "paid" || c.StatementID == nil || *c.StatementID != st.ID {
		t.Fatalf("conversion after payout: %+v", c)
	}
	// Half refunded after payout: 2.70 of commission comes back.
	if _, err := f.dev.CreateRefund(f.shop, oid, devstore.RefundInput{Amount: "27.00"}); err != nil {
		t.Fatal(err)
	}
	c = f.conversion(oid, "clawback", func(c conversionJSON) bool { return c.Clawback != "0.00" })
	if c.Status != "paid" || c.Commission != "2.70" || c.Clawback != "2.70" {
		t.Fatalf("after refund: %+v", c)
	}
	f.clock.Advance(48 * time.Hour)
	now = f.clock.Now()
	next := map[string]string{"period_start": now.Add(-time.Hour).Format(time.RFC3339), "period_end": now.Add(time.Hour).Format(time.RFC3339)}
	var l3 list[statementJSON]
	if code := f.api("POST", "/api/v1/payouts/statements", f.key, next, &l3); code != 201 || len(l3.Items) != 1 {
		t.Fatalf("next statements: %d %+v", code, l3)
	}
	if s := l3.Items[0]; s.Clawbacks != "2.70" || s.Total != "-2.70" || s.Commission != "0.00" {
		t.Fatalf("next statement: %+v", s)
	}
	code, body := f.rawCall("GET", "/api/v1/payouts/statements/"+l3.Items[0].ID+"/csv", f.key, "")
	if code != 200 || !strings.Contains(body, "clawback") || !strings.Contains(body, "-2.70") {
		t.Fatalf("csv: %d %s", code, body)
	}
	var one statementJSON
	if code := f.api("GET", "/api/v1/payouts/statements/"+st.ID, f.key, nil, &one); code != 200 || len(one.Lines) != 1 {
		t.Fatalf("get statement: %d %+v", code, one)
	}
	f.ledgerOK()
}

// TestRerunAttribution: a dry run shows the change in credit per partner
// without touching anything; applying it writes ledger entries and the
// ledger still agrees. The report models answer beside the policy.
func TestRerunAttribution(t *testing.T) {
	f := newConvFixture(t, nil)
	oid := f.order("rerun@example.com", f.issueTo("rerun@example.com"))
	f.conversion(oid, "conversion", nil)
	if code := f.api("PATCH", "/api/v1/partners/"+f.partner, f.key, map[string]any{"commission": map[string]any{"percent": 20}}, nil); code != 200 {
		t.Fatalf("patch partner: %d", code)
	}
	var dry jobs.RerunResult
	if code := f.api("POST", "/api/v1/attribution/rerun", f.key, map[string]any{"dry_run": true, "policy": "coupon_wins"}, &dry); code != 200 {
		t.Fatalf("dry run: %d", code)
	}
	if !dry.DryRun || dry.Changed != 1 || len(dry.ByPartner) == 0 {
		t.Fatalf("dry run: %+v", dry)
	}
	var p *jobs.CreditDelta
	for i := range dry.ByPartner {
		if dry.ByPartner[i].Key == f.partner {
			p = &dry.ByPartner[i]
		}
	}
	if p == nil || p.BeforeCommission != 540 || p.AfterCommission != 1080 {
		t.Fatalf("partner delta: %+v", dry.ByPartner)
	}
	if c := f.conversion(oid, "unchanged", nil); c.Commission != "5.40" {
		t.Fatalf("dry run changed the conversion: %+v", c)
	}
	var applied jobs.RerunResult
	if code := f.api("POST", "/api/v1/attribution/rerun", f.key, map[string]any{"dry_run": false}, &applied); code != 200 || applied.Changed != 1 {
		t.Fatalf("apply: %d %+v", code, applied)
	}
	if c := f.conversion(oid, "rerun applied", nil); c.Commission != "10.80" || c.Original.Commission != "10.80" {
		t.Fatalf("after rerun: %+v", c)
	}
	f.ledgerOK()
	var again jobs.RerunResult
	if code := f.api("POST", "/api/v1/attribution/rerun", f.key, map[string]any{"dry_run": false}, &again); code != 200 || again.Changed != 0 {
		t.Fatalf("rerun again: %d %+v", code, again)
	}
	var m jobs.ModelsResult
	if code := f.api("GET", "/api/v1/attribution/models", f.key, nil, &m); code != 200 || m.Conversions != 1 {
		t.Fatalf("models: %d %+v", code, m)
	}
	for _, k := range []string{"crediting_policy", "last_touch", "first_touch", "linear", "position_based", "time_decay", "markov"} {
		if _, ok := m.Models[k]; !ok {
			t.Errorf("model %s missing: %+v", k, m)
		}
	}
	if m.Models["crediting_policy"]["affiliate"] != 1 || m.Models["last_touch"]["affiliate"] != 1 {
		t.Errorf("models: %+v", m.Models)
	}
}

// TestConversionFraudReasons: a code used by another shopper than the one it
// was issued to is credited but flagged for the fraud layer.
func TestConversionFraudReasons(t *testing.T) {
	f := newConvFixture(t, nil)
	code := f.issueTo("owner@example.com")
	oid := f.order("someone-else@example.com", code)
	c := f.conversion(oid, "conversion", nil)
	if c.PartnerID == nil || *c.PartnerID != f.partner {
		t.Fatalf("credit: %+v", c)
	}
	if !strings.Contains(string(c.Fraud), `"wrong_shopper"`) {
		t.Fatalf("fraud: %s", c.Fraud)
	}
}
