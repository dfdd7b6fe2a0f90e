package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coupontrail/coupontrail/app/devstore"
	"github.com/coupontrail/coupontrail/app/experiment"
	"github.com/coupontrail/coupontrail/app/outbound"
	"github.com/coupontrail/coupontrail/app/shopify"
	"github.com/coupontrail/coupontrail/app/store"
	"github.com/coupontrail/coupontrail/jobs"
)

// cartFixture is a shop with an active cart_recovery campaign whose pool
// holds codes that are live in the dev store, an outbound endpoint that
// records what it receives, an injected clock and a running worker.
type cartFixture struct {
	*issueFixture
	clock  *testClock
	mu     sync.Mutex
	events []outbound.Envelope
	secret string
}

func newCartFixture(t *testing.T, holdout float64) *cartFixture {
	t.Helper()
	f := &cartFixture{clock: &testClock{}}
	f.issueFixture = newIssueFixture(t, 12, 0, func(c *store.Campaign) {
		c.Name, c.Goal, c.Holdout = "Cart rescue", "cart_recovery", holdout
	})
	f.a.now, f.a.jobs.Now = f.clock.Now, f.clock.Now
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if err := outbound.Verify([]byte(f.secret), r.Header.Get(outbound.HeaderSignature), b, f.clock.Now(), 5*time.Minute); err != nil {
			t.Errorf("outbound signature: %v", err)
			w.WriteHeader(400)
			return
		}
		var env outbound.Envelope
		if err := json.Unmarshal(b, &env); err != nil {
			t.Errorf("outbound body: %v", err)
		}
		f.mu.Lock()
		f.events = append(f.events, env)
		f.mu.Unlock()
	}))
	t.Cleanup(recv.Close)
	var ep webhookEndpointJSON
	if code := f.api("POST", "/api/v1/webhook-endpoints", f.key, map[string]any{"url": recv.URL, "events": []string{outbound.CheckoutRecoveryCode}}, &ep); code != 201 {
		t.Fatalf("endpoint: %d", code)
	}
	f.secret = ep.Secret
	stop, err := f.a.startWorker(false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	return f
}

// recoveryEvents returns the checkout.recovery_code events received for token.
func (f *cartFixture) recoveryEvents(token string) []outbound.CheckoutRecoveryData {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []outbound.CheckoutRecoveryData
	for _, e := range f.events {
		var d outbound.CheckoutRecoveryData
		if e.Type == outbound.CheckoutRecoveryCode && json.Unmarshal(e.Data, &d) == nil && d.CheckoutToken == token {
			out = append(out, d)
		}
	}
	return out
}

// checkout creates a dev store checkout and waits until the app scheduled
// its check.
func (f *cartFixture) checkout(email, price string) (string, *store.CartRecovery) {
	f.t.Helper()
	c, err := f.dev.CreateCheckout(f.shop, devstore.OrderInput{Email: email, LineItems: []devstore.LineItemInput{{Title: "Boots", Price: price, Quantity: 1}}})
	if err != nil {
		f.t.Fatal(err)
	}
	tok := c["token"].(string)
	return tok, f.recovery(tok, "check scheduled", func(r *store.CartRecovery) bool { return true })
}

func (f *cartFixture) recovery(token, what string, cond func(*store.CartRecovery) bool) *store.CartRecovery {
	f.t.Helper()
	var got *store.CartRecovery
	eventually(f.t, 20*time.Second, what, func() bool {
		r, err := f.a.store.CartRecoveryByToken(context.Background(), f.sh.ID, token)
		if err != nil {
			return false
		}
		got = r
		return cond(r)
	})
	return got
}

// flow posts a Flow action run signed with secret.
func (f *cartFixture) flow(secret string, body map[string]any) (int, string) {
	f.t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(http.MethodPost, f.srv.URL+"/flow/actions/issue-code", strings.NewReader(string(b)))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Shopify-Hmac-Sha256", shopify.SignWebhook([]byte(secret), b))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer res.Body.Close()
	out, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(out)
}

// proxySign adds Shopify's app proxy parameters and signature to q.
func proxySign(secret string, q url.Values, now time.Time) string {
	q.Set("path_prefix", "/apps/coupontrail")
	q.Set("timestamp", fmt.Sprint(now.Unix()))
	var pairs []string
	for k, v := range q {
		pairs = append(pairs, k+"="+strings.Join(v, ","))
	}
	sort.Strings(pairs)
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(strings.Join(pairs, "")))
	q.Set("signature", hex.EncodeToString(m.Sum(nil)))
	return q.Encode()
}

// proxy calls the app proxy route as Shopify forwards it.
func (f *cartFixture) proxy(secret string, q url.Values) (int, proxyOut) {
	f.t.Helper()
	res, err := http.Get(f.srv.URL + "/proxy/code?" + proxySign(secret, q, f.clock.Now()))
	if err != nil {
		f.t.Fatal(err)
	}
	defer res.Body.Close()
	var out proxyOut
	_ = json.NewDecoder(res.Body).Decode(&out)
	return res.StatusCode, out
}

func (f *cartFixture) report() cartReportJSON {
	f.t.Helper()
	var r cartReportJSON
	if code := f.api("GET", fmt.Sprintf("/api/v1/cart-recovery/report?campaign_id=%d", f.camp.ID), f.key, nil, &r); code != 200 {
		f.t.Fatalf("report: %d", code)
	}
	return r
}

func (f *cartFixture) sweep(want int) {
	f.t.Helper()
	n, err := f.a.jobs.SweepCartChecks(context.Background())
	if err != nil {
		f.t.Fatal(err)
	}
	if n != want {
		f.t.Fatalf("sweep ran %d checks, want %d", n, want)
	}
}

// TestCartRecoveryEndToEnd: abandoned checkouts get a code by Flow and by
// signed webhook after the delay; a checkout completed first gets nothing;
// an update reschedules once; a cart below the threshold is skipped; the
// code is attributed to the campaign when redeemed; an unused one leaves
// the dev store when its TTL ends.
func TestCartRecoveryEndToEnd(t *testing.T) {
	f := newCartFixture(t, 0)
	ctx := context.Background()
	if code := f.api("PUT", fmt.Sprintf("/api/v1/cart-recovery/campaigns/%d/config", f.camp.ID), f.key,
		map[string]any{"min_cart_value": "20.00"}, nil); code != 200 {
		t.Fatalf("config: %d", code)
	}

	other := "cart-other-" + fmt.Sprint(time.Now().UnixNano()%1e9) + ".myshopify.com"
	f.createShop(other)
	if code := f.api("GET", "/api/v1/shop", f.sessionToken(other), nil, nil); code != 200 {
		t.Fatalf("install other: %d", code)
	}

	tokA, rA := f.checkout("ana@example.com", "80.00")
	if want := rA.Version.Add(time.Hour); !rA.DueAt.Equal(want) || rA.Status != store.CartScheduled {
		t.Fatalf("check of A: due %s want %s (%s)", rA.DueAt, want, rA.Status)
	}
	tokB, _ := f.checkout("bo@example.com", "60.00")
	tokC, _ := f.checkout("cy@example.com", "45.00")
	tokS, _ := f.checkout("sm@example.com", "9.00")

	// An update moves the check, once.
	if _, err := f.dev.UpdateCheckout(f.shop, tokA, devstore.OrderInput{LineItems: []devstore.LineItemInput{{Title: "Boots", Price: "90.00", Quantity: 1}}}); err != nil {
		t.Fatal(err)
	}
	rA2 := f.recovery(tokA, "rescheduled", func(r *store.CartRecovery) bool { return r.Reschedules == 1 })
	if !rA2.DueAt.After(rA.DueAt) || rA2.TotalMinor != 9000 {
		t.Fatalf("reschedule: due %s -> %s, total %d", rA.DueAt, rA2.DueAt, rA2.TotalMinor)
	}
	// B completes before the timer.
	if _, err := f.dev.CompleteCheckout(f.shop, tokB, devstore.OrderInput{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 20*time.Second, "B's order", func() bool {
		ok, _ := f.a.store.CheckoutCompleted(ctx, f.sh.ID, tokB)
		return ok
	})
	f.sweep(0) // nothing is due yet
	// Each version has its own task, scheduled for its due time.
	for _, r := range []*store.CartRecovery{rA, rA2} {
		ti, err := f.a.inspector.GetTaskInfo(jobs.QueueDefault, fmt.Sprintf("cart-check:%d:%s:%d", f.sh.ID, tokA, r.Version.UnixNano()))
		if err != nil || !ti.NextProcessAt.Equal(r.DueAt) {
			t.Fatalf("task of version %s: %+v %v", r.Version, ti, err)
		}
	}
	f.clock.Advance(61*time.Minute + 5*time.Second)
	// The first version's task does nothing: the check moved to the second.
	if err := f.a.jobs.NewMux().ProcessTask(ctx, jobs.NewCartCheckTask(rA)); err != nil {
		t.Fatal(err)
	}
	if r := f.recovery(tokA, "A", func(*store.CartRecovery) bool { return true }); r.Status != store.CartScheduled {
		t.Fatalf("the stale task ran the check: %+v", r)
	}
	f.sweep(4)
	f.sweep(0) // done once

	a := f.recovery(tokA, "A sent", func(r *store.CartRecovery) bool { return r.Status == store.CartSent })
	if b := f.recovery(tokB, "B", func(*store.CartRecovery) bool { return true }); b.Status != store.CartCompleted || b.Code != nil {
		t.Fatalf("B completed first: %+v", b)
	}
	if s := f.recovery(tokS, "S", func(*store.CartRecovery) bool { return true }); s.Status != store.CartSkipped || s.Reason != "below_threshold" {
		t.Fatalf("below threshold: %+v", s)
	}
	c := f.recovery(tokC, "C sent", func(r *store.CartRecovery) bool { return r.Status == store.CartSent })
	if a.Code == nil || c.Code == nil || *a.Code == *c.Code {
		t.Fatalf("codes: %v %v", a.Code, c.Code)
	}
	if want := f.clock.Now().Add(12 * time.Hour); a.CodeExpiresAt == nil || a.CodeExpiresAt.Sub(want).Abs() > time.Minute {
		t.Fatalf("A's code expires %v, want about %s", a.CodeExpiresAt, want)
	}
	dev := f.devCodes()
	if !dev[*a.Code] || !dev[*c.Code] {
		t.Fatalf("issued codes are not live in the dev store: %s %s", *a.Code, *c.Code)
	}
	// Delivered by signed webhook, with the URL that applies the code and returns to the checkout.
	var evA []outbound.CheckoutRecoveryData
	eventually(t, 20*time.Second, "A's webhook", func() bool { evA = f.recoveryEvents(tokA); return len(evA) > 0 })
	if evA[0].Code != *a.Code || evA[0].CustomerEmail != "ana@example.com" || evA[0].CartValue != "90.00" ||
		!strings.Contains(evA[0].RecoveryURL, "/discount/"+*a.Code+"?redirect=") ||
		!strings.Contains(evA[0].RecoveryURL, url.QueryEscape("/checkouts/ac/"+tokA+"/recover")) {
		t.Fatalf("A's event: %+v", evA[0])
	}
	if got := f.recoveryEvents(tokB); len(got) != 0 {
		t.Fatalf("B completed first but got %+v", got)
	}
	// The recovery URL applies the code at the (dev) storefront and lands on the checkout.
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := noFollow.Get(evA[0].RecoveryURL)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if loc := res.Header.Get("Location"); res.StatusCode/100 != 3 || !strings.Contains(loc, "/checkouts/ac/"+tokA) {
		t.Fatalf("recovery URL: %d -> %q", res.StatusCode, loc)
	}

	// Delivered by the Flow action: the same code; the same run twice is the same answer.
	run := map[string]any{"action_run_id": "run-a-1", "shopify_domain": f.shop, "action_definition_id": "issue-recovery-code",
		"properties": map[string]any{"customer_email": "ana@example.com", "checkout_token": tokA}}
	st1, body1 := f.flow(f.cfg.ShopifyAPISecret, run)
	st2, body2 := f.flow(f.cfg.ShopifyAPISecret, run)
	if st1 != 200 || st2 != 200 || body1 != body2 {
		t.Fatalf("flow: %d %s / %d %s", st1, body1, st2, body2)
	}
	var fr struct {
		ReturnValue flowReturn `json:"return_value"`
	}
	_ = json.Unmarshal([]byte(body1), &fr)
	if fr.ReturnValue.Code != *a.Code || fr.ReturnValue.ExpiresAt == nil || !strings.Contains(fr.ReturnValue.ShareURL, "/discount/"+*a.Code) {
		t.Fatalf("flow return: %s", body1)
	}
	if st, _ := f.flow("not-the-secret", run); st != 401 {
		t.Fatalf("flow with a wrong HMAC = %d", st)
	}
	// A Flow run without a checkout: the shopper's code of the campaign.
	st, body := f.flow(f.cfg.ShopifyAPISecret, map[string]any{"action_run_id": "run-d-1", "shopify_domain": f.shop,
		"properties": map[string]any{"customer_email": "dee@example.com", "campaign_id": fmt.Sprint(f.camp.ID)}})
	if st != 200 || !strings.Contains(body, `"code":"LIVE`) {
		t.Fatalf("flow for a new shopper: %d %s", st, body)
	}
	// Shop scoping: a run signed for another shop never reaches this shop's checkout or campaign.
	st, body = f.flow(f.cfg.ShopifyAPISecret, map[string]any{"action_run_id": "run-a-1", "shopify_domain": other,
		"properties": map[string]any{"customer_email": "ana@example.com", "checkout_token": tokA, "campaign_id": fmt.Sprint(f.camp.ID)}})
	if st != 404 || strings.Contains(body, *a.Code) {
		t.Fatalf("flow as another shop: %d %s", st, body)
	}

	r := f.report()
	if r.AbandonedCheckouts != 3 || r.CodesSent != 2 || r.SkippedCheckouts != 1 || r.RecoveredOrders != 0 || r.FlowDeliveries != 2 ||
		r.WebhookDeliveries != 2 || r.RecoveryRate == nil || *r.RecoveryRate != 0 || r.IncrementalRecoveryRate != nil {
		t.Fatalf("report before redemption: %+v", r)
	}

	// A redeems the code on the checkout it abandoned: attributed to the cart-recovery campaign.
	at := f.clock.Now() // the dev store's clock is not the injected one: the order is placed now, after the code went out
	o, err := f.dev.CompleteCheckout(f.shop, tokA, devstore.OrderInput{DiscountCodes: []string{*a.Code}, CreatedAt: &at})
	if err != nil {
		t.Fatal(err)
	}
	oid := orderIDOf(o)
	var conv conversionJSON
	eventually(t, 30*time.Second, "A's conversion", func() bool {
		var l list[conversionJSON]
		if code := f.api("GET", fmt.Sprintf("/api/v1/conversions?order_id=%d", oid), f.key, nil, &l); code != 200 || len(l.Items) != 1 {
			return false
		}
		conv = l.Items[0]
		return true
	})
	if conv.CampaignID == nil || *conv.CampaignID != idString(f.camp.ID) || conv.Code != *a.Code {
		t.Fatalf("conversion: %+v", conv)
	}
	r = f.report()
	if r.RecoveredOrders != 1 || r.RecoveredRevenue == "0.00" || r.RecoveryRate == nil || *r.RecoveryRate != 0.5 || r.RedeemedCodes != 1 || r.AttributedOrders != 1 {
		t.Fatalf("report after redemption: %+v", r)
	}

	// C never uses its code: at the end of its TTL it is expired and removed from the dev store.
	f.clock.Advance(12*time.Hour + time.Minute)
	if err := f.a.jobs.ExpireCodes(ctx); err != nil {
		t.Fatal(err)
	}
	k, err := f.a.store.FindCode(ctx, f.sh.ID, *c.Code)
	if err != nil || k.Status != store.CodeExpired || k.ShopifyState != store.ShopifyRemoved {
		t.Fatalf("C's code after its TTL: %+v %v", k, err)
	}
	if f.devCodes()[*c.Code] {
		t.Fatal("C's expired code is still in the dev store")
	}
	if _, err := f.dev.CompleteCheckout(f.shop, tokC, devstore.OrderInput{DiscountCodes: []string{*c.Code}}); err == nil {
		t.Fatal("the dev store accepted an expired recovery code")
	}
	if ka, _ := f.a.store.FindCode(ctx, f.sh.ID, *a.Code); ka.Status != store.CodeRedeemed {
		t.Fatalf("A's redeemed code: %+v", ka)
	}
	// Ana abandons again within 30 days: once per shopper per N days.
	tokA3, _ := f.checkout("ana@example.com", "70.00")
	f.sweep(1)
	if r := f.recovery(tokA3, "A3", func(*store.CartRecovery) bool { return true }); r.Status != store.CartSkipped || r.Reason != "cooldown" {
		t.Fatalf("second abandonment within the cooldown: %+v", r)
	}
	// customers/redact erases the shopper from the cart data; the outcomes stay.
	if _, err := f.a.store.RedactCustomer(ctx, f.sh.ID, f.shop, store.CustomerKey{Email: "ana@example.com"}, 0); err != nil {
		t.Fatal(err)
	}
	for _, tok := range []string{tokA, tokA3} {
		if r := f.recovery(tok, "redacted", func(*store.CartRecovery) bool { return true }); r.CustomerEmail != "" || r.CustomerID != nil {
			t.Fatalf("redacted recovery: %+v", r)
		}
	}
	tps, err := f.a.store.CartTouchpoints(ctx, f.sh.ID, f.camp.ID, 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, tp := range tps {
		if tp.CustomerEmail == "ana@example.com" {
			t.Fatalf("touchpoint kept the email: %+v", tp)
		}
	}
	if r := f.report(); r.CodesSent != 2 || r.RecoveredOrders != 1 {
		t.Fatalf("report after redaction: %+v", r)
	}
}

// TestCartRecoveryHoldout: a holdout shopper gets no code, by any channel,
// and the assignment is recorded and reported.
func TestCartRecoveryHoldout(t *testing.T) {
	f := newCartFixture(t, 0.5)
	// The shop's abandonment delay applies (settings key abandoned_checkout_delay_minutes).
	if err := f.a.store.SetShopSettings(context.Background(), f.sh.ID, []byte(`{"abandoned_checkout_delay_minutes":15}`), time.Now()); err != nil {
		t.Fatal(err)
	}
	// A shopper and a visitor the campaign's assignment puts in the control
	// arm, and a shopper it treats. Checkouts carry the customer id the dev
	// store gives the email, which is what the assignment keys on.
	salt := f.camp.Salt
	arm := func(r *store.CartRecovery) string {
		return experiment.Assign(f.sh.ID, experiment.ShopperKey(r.CustomerID, r.CustomerEmail), salt, f.camp.Holdout)
	}
	tok, tokT, email := "", "", ""
	for i := 0; (tok == "" || tokT == "") && i < 40; i++ {
		e := fmt.Sprintf("ho%d@example.com", i)
		tk, r := f.checkout(e, "50.00")
		if !r.DueAt.Equal(r.Version.Add(15 * time.Minute)) {
			t.Fatalf("due %s for version %s with a 15 minute delay", r.DueAt, r.Version)
		}
		switch arm(r) {
		case experiment.Control:
			if tok == "" {
				tok, email = tk, e
				continue
			}
		case experiment.Treatment:
			if tokT == "" {
				tokT = tk
				continue
			}
		}
		if err := func() error { _, err := f.dev.CompleteCheckout(f.shop, tk, devstore.OrderInput{}); return err }(); err != nil {
			t.Fatal(err) // an extra checkout of an arm already chosen: completed, out of the way
		}
		eventually(t, 20*time.Second, "extra order", func() bool { ok, _ := f.a.store.CheckoutCompleted(context.Background(), f.sh.ID, tk); return ok })
	}
	if tok == "" || tokT == "" {
		t.Fatal("no shopper in each arm")
	}
	visitor := ""
	for i := 0; visitor == ""; i++ {
		if v := fmt.Sprintf("visitor-holdout-%d", i); experiment.Assign(f.sh.ID, "visitor:"+v, salt, f.camp.Holdout) == experiment.Control {
			visitor = v
		}
	}
	f.clock.Advance(16 * time.Minute)
	if _, err := f.a.jobs.SweepCartChecks(context.Background()); err != nil {
		t.Fatal(err)
	}
	if r := f.recovery(tokT, "treated", func(r *store.CartRecovery) bool { return true }); r.Status != store.CartSent || r.Code == nil {
		t.Fatalf("treated shopper: %+v", r)
	}
	r := f.recovery(tok, "holdout", func(r *store.CartRecovery) bool { return r.Status != store.CartScheduled })
	if r.Status != store.CartHoldout || r.Code != nil || r.CampaignID == nil || *r.CampaignID != f.camp.ID {
		t.Fatalf("holdout check: %+v", r)
	}
	st, body := f.flow(f.cfg.ShopifyAPISecret, map[string]any{"action_run_id": "run-h", "shopify_domain": f.shop,
		"properties": map[string]any{"customer_email": email, "checkout_token": tok}})
	if st != 200 || !strings.Contains(body, `"holdout":true`) || strings.Contains(body, "LIVE") {
		t.Fatalf("flow for a holdout shopper: %d %s", st, body)
	}
	q := url.Values{"shop": {f.shop}, "visitor": {visitor}, "trigger": {"exit_intent"}, "cart": {"5000"}}
	if st, out := f.proxy(f.cfg.ShopifyAPISecret, q); st != 200 || !out.Holdout || out.Code != "" {
		t.Fatalf("proxy for a holdout visitor: %d %+v", st, out)
	}
	time.Sleep(300 * time.Millisecond)
	if ev := f.recoveryEvents(tok); len(ev) != 0 {
		t.Fatalf("holdout shopper got an event: %+v", ev)
	}
	// Both arms are recorded in the campaign's experiment.
	shoppers, err := f.a.store.ExperimentShoppers(context.Background(), f.sh.ID, []int64{f.camp.ID}, 0)
	if err != nil {
		t.Fatal(err)
	}
	arms := map[string]int{}
	for _, sp := range shoppers {
		arms[sp.Arm]++
	}
	if arms[experiment.Control] != 1 || arms[experiment.Treatment] != 1 {
		t.Fatalf("recorded assignments: %+v", shoppers)
	}
	// The control shopper comes back on their own: the incremental rate is treated minus control.
	at := f.clock.Now()
	if _, err := f.dev.CompleteCheckout(f.shop, tok, devstore.OrderInput{CreatedAt: &at}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 20*time.Second, "control order", func() bool {
		ok, _ := f.a.store.CheckoutCompleted(context.Background(), f.sh.ID, tok)
		return ok
	})
	rep := f.report()
	if rep.HoldoutCheckouts != 1 || rep.CodesSent != 1 || rep.AbandonedCheckouts != 2 || rep.OnsiteHoldout != 1 || rep.HoldoutRecoveredOrders != 1 ||
		rep.HoldoutRecoveryRate == nil || *rep.HoldoutRecoveryRate != 1 || rep.RecoveryRate == nil || *rep.RecoveryRate != 0 ||
		rep.IncrementalRecoveryRate == nil || *rep.IncrementalRecoveryRate != -1 {
		t.Fatalf("report: %+v", rep)
	}
}

// TestCartProxy: the storefront route verifies the proxy signature, serves
// the signed shop only, gives a visitor one code, honours the cart value
// threshold and limits each visitor's requests.
func TestCartProxy(t *testing.T) {
	f := newCartFixture(t, 0)
	secret := f.cfg.ShopifyAPISecret
	q := func(visitor, cart string) url.Values {
		return url.Values{"shop": {f.shop}, "visitor": {visitor}, "trigger": {"scroll_depth"}, "cart": {cart}}
	}
	st, first := f.proxy(secret, q("visitor-aaaa-1", "5000"))
	if st != 200 || !first.Eligible || first.Code == "" || !strings.Contains(first.ShareURL, "/discount/"+first.Code) {
		t.Fatalf("proxy: %d %+v", st, first)
	}
	if _, again := f.proxy(secret, q("visitor-aaaa-1", "5000")); again.Code != first.Code {
		t.Fatalf("same visitor got %q then %q", first.Code, again.Code)
	}
	if _, other := f.proxy(secret, q("visitor-bbbb-2", "5000")); other.Code == "" || other.Code == first.Code {
		t.Fatalf("another visitor: %+v", other)
	}
	if st, _ := f.proxy("wrong-secret", q("visitor-aaaa-1", "5000")); st != 401 {
		t.Fatalf("bad signature = %d", st)
	}
	// A signed request whose parameters were changed afterwards fails.
	signed := proxySign(secret, q("visitor-cccc-3", "5000"), f.clock.Now())
	res, err := http.Get(f.srv.URL + "/proxy/code?" + strings.Replace(signed, "visitor-cccc-3", "visitor-dddd-4", 1))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 401 {
		t.Fatalf("tampered request = %d", res.StatusCode)
	}
	if code := f.api("PUT", fmt.Sprintf("/api/v1/cart-recovery/campaigns/%d/config", f.camp.ID), f.key,
		map[string]any{"min_cart_value": "40.00"}, nil); code != 200 {
		t.Fatalf("config: %d", code)
	}
	if _, low := f.proxy(secret, q("visitor-eeee-5", "3999")); low.Eligible || low.Reason != "below_threshold" || low.Code != "" {
		t.Fatalf("below threshold: %+v", low)
	}
	// Another shop, signed as itself, never gets this shop's campaign.
	other := "proxy-other-" + fmt.Sprint(time.Now().UnixNano()%1e9) + ".myshopify.com"
	f.createShop(other)
	if code := f.api("GET", "/api/v1/shop", f.sessionToken(other), nil, nil); code != 200 {
		t.Fatalf("install other: %d", code)
	}
	oq := q("visitor-aaaa-1", "5000")
	oq.Set("shop", other)
	oq.Set("campaign_id", fmt.Sprint(f.camp.ID))
	if st, out := f.proxy(secret, oq); st != 200 || out.Code != "" || out.Reason != "no_campaign" {
		t.Fatalf("other shop: %d %+v", st, out)
	}
	// The other shop cannot read this shop's campaign report.
	if code, _ := f.apiErr("GET", fmt.Sprintf("/api/v1/cart-recovery/report?campaign_id=%d", f.camp.ID), f.sessionToken(other), nil, nil); code != 404 {
		t.Fatalf("other shop's report of this campaign = %d", code)
	}
	if code, _ := f.apiErr("GET", "/api/v1/cart-recovery/report", f.key, nil, nil); code != 422 {
		t.Fatalf("report without campaign_id = %d", code)
	}
	// Rate limit per visitor.
	limited := 0
	for range proxyVisitorPerHr + 2 {
		if st, _ := f.proxy(secret, q("visitor-ffff-6", "5000")); st == 429 {
			limited++
		}
	}
	if limited == 0 {
		t.Fatal("no request was rate-limited")
	}
	var tps []store.CartTouchpoint
	tps, err = f.a.store.CartTouchpoints(context.Background(), f.sh.ID, f.camp.ID, 100)
	if err != nil {
		t.Fatal(err)
	}
	onsite := 0
	for _, tp := range tps {
		if tp.Channel == store.CartChannelOnsite && tp.Code != nil {
			onsite++
		}
	}
	if onsite != 3 { // visitors 1, 2 and 6
		t.Fatalf("onsite touchpoints = %d", onsite)
	}
}
