package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coupontrail/coupontrail/app/shopify/admin"
	"github.com/coupontrail/coupontrail/app/store"
)

// issueFixture is a shop in the dev store with one active campaign whose
// pool holds live codes.
type issueFixture struct {
	*stack
	shop       string
	key        string // API key
	sh         *store.Shop
	camp       *store.Campaign
	discountID string
}

// newIssueFixture installs a shop, creates the campaign's discount in the
// dev store and seeds the pool: inShopify codes really added to the dev
// store (their redeem code ids recorded, so lifecycle jobs can remove
// them) and bare more codes marked live without Shopify (enough for
// issuance, which never calls Shopify).
func newIssueFixture(t *testing.T, inShopify, bare int, mutate func(*store.Campaign)) *issueFixture {
	t.Helper()
	s := newStack(t)
	f := &issueFixture{stack: s, shop: "issue-" + fmt.Sprint(time.Now().UnixNano()%1e9) + ".myshopify.com"}
	s.createShop(f.shop)
	var k apiKeyJSON
	if code := s.api("POST", "/api/v1/api-keys", s.sessionToken(f.shop), map[string]string{"name": "issue"}, &k); code != 201 {
		t.Fatalf("api key: %d", code)
	}
	f.key = k.Key
	f.sh = mustShop(t, s.testEnv, f.shop)
	ctx := context.Background()
	adm, err := s.a.shops.Admin(ctx, f.sh.ID)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now().Add(-time.Hour).UTC()
	pct := 0.1
	all := true
	f.discountID, err = adm.DiscountCodeBasicCreate(ctx, admin.DiscountCodeBasicInput{Title: "Issue test", Code: "INTERNAL" + fmt.Sprint(time.Now().UnixNano()%1e6),
		StartsAt: &start, Context: admin.ContextAll(), CustomerGets: &admin.DiscountCustomerGetsInput{
			Value: &admin.DiscountCustomerGetsValueInput{Percentage: &pct}, Items: &admin.DiscountItemsInput{All: &all}}})
	if err != nil {
		t.Fatal(err)
	}
	f.camp = &store.Campaign{ShopID: f.sh.ID, Name: "Issue", Goal: "acquisition", Status: "active",
		Discount: []byte(`{"type":"percentage","value":10}`), CodeFormat: []byte(`{"prefix":"ISS","length":8}`),
		Usage: []byte(`{"single_use":true,"once_per_customer":false}`), Rules: []byte(`{}`), StartsAt: start, ShopifyDiscountID: &f.discountID}
	if mutate != nil {
		mutate(f.camp)
	}
	if err := s.a.store.SeedCampaign(ctx, f.camp); err != nil {
		t.Fatal(err)
	}
	var seed []store.SeedLiveCode
	for i := 0; i < inShopify; i += 250 {
		var batch []string
		for j := i; j < min(i+250, inShopify); j++ {
			batch = append(batch, fmt.Sprintf("LIVE%d%06d", f.camp.ID, j))
		}
		bulk, err := adm.DiscountRedeemCodeBulkAdd(ctx, f.discountID, batch)
		if err != nil {
			t.Fatal(err)
		}
		bc, err := pollBulkCreation(ctx, adm, bulk)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range bc.Codes {
			if c.RedeemCodeID == "" {
				t.Fatalf("dev store refused %s: %+v", c.Code, c.Errors)
			}
			seed = append(seed, store.SeedLiveCode{Code: c.Code, ShopifyCodeID: c.RedeemCodeID})
		}
	}
	for i := range bare {
		seed = append(seed, store.SeedLiveCode{Code: fmt.Sprintf("BARE%d%06d", f.camp.ID, i)})
	}
	if len(seed) > 0 {
		if err := s.a.store.SeedLiveCodes(ctx, f.sh.ID, f.camp.ID, seed); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

// issue calls POST /api/v1/codes/issue and returns the status, headers and
// raw body.
func (f *issueFixture) issue(body map[string]any, idemKey string) (int, http.Header, []byte) {
	f.t.Helper()
	if _, ok := body["campaign_id"]; !ok {
		body["campaign_id"] = idString(f.camp.ID)
	}
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(http.MethodPost, f.srv.URL+"/api/v1/codes/issue", bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+f.key)
	if idemKey != "" {
		req.Header.Set("Idempotency-Key", idemKey)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Error(err)
		return 0, nil, nil
	}
	defer res.Body.Close()
	out, _ := io.ReadAll(res.Body)
	return res.StatusCode, res.Header, out
}

func decodeIssued(t *testing.T, b []byte) issuedJSON {
	t.Helper()
	var out issuedJSON
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
	return out
}

// devCodes returns the redeem codes the dev store holds on the discount.
func (f *issueFixture) devCodes() map[string]bool {
	f.t.Helper()
	ds, err := f.dev.Discounts(f.shop)
	if err != nil {
		f.t.Fatal(err)
	}
	out := map[string]bool{}
	for _, d := range ds {
		if d.ID == f.discountID {
			for _, c := range d.Codes {
				out[c.Code] = true
			}
		}
	}
	return out
}

func TestIssueConcurrentCallsGetDistinctCodes(t *testing.T) {
	const n = 1000
	f := newIssueFixture(t, 0, n, nil)
	var wg sync.WaitGroup
	var mu sync.Mutex
	got := map[string]int{}
	statuses := map[int]int{}
	sem := make(chan struct{}, 200) // 200 in flight at once: well past the 20-connection DB pool
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			code, _, body := f.issue(map[string]any{"customer_email": fmt.Sprintf("shopper%d@example.com", i), "channel": "email"}, "")
			mu.Lock()
			defer mu.Unlock()
			statuses[code]++
			if code == 201 {
				var out issuedJSON
				_ = json.Unmarshal(body, &out)
				got[out.Code]++
			}
		}()
	}
	wg.Wait()
	if statuses[201] != n || len(got) != n {
		t.Fatalf("statuses %v, distinct codes %d, want %d x 201 and %d distinct", statuses, len(got), n, n)
	}
	// The pool is now empty: the next caller is refused with 503 + Retry-After.
	code, h, body := f.issue(map[string]any{"customer_email": "late@example.com"}, "")
	if code != 503 || h.Get("Retry-After") == "" || !strings.Contains(string(body), `"pool_empty"`) {
		t.Fatalf("empty pool: %d %v %s", code, h.Get("Retry-After"), body)
	}
}

func TestIssueSameShopperGetsSameCode(t *testing.T) {
	f := newIssueFixture(t, 0, 300, nil)
	code, _, b1 := f.issue(map[string]any{"customer_email": "Ana@Example.com", "channel": "email", "ttl_hours": 48}, "")
	if code != 201 {
		t.Fatalf("first = %d %s", code, b1)
	}
	first := decodeIssued(t, b1)
	if first.ExpiresAt == nil || first.Channel != "email" || first.CampaignID != idString(f.camp.ID) {
		t.Fatalf("first answer: %s", b1)
	}
	wantURL := f.devURL + "/store/" + f.shop + "/discount/" + first.Code + "?redirect=%2F"
	if first.ShareURL != wantURL {
		t.Fatalf("share_url = %s, want %s", first.ShareURL, wantURL)
	}
	// The share link works in the dev store.
	if res, err := http.Get(first.ShareURL); err != nil || res.StatusCode >= 400 {
		t.Fatalf("share link: %v %v", err, res)
	}
	code, _, b2 := f.issue(map[string]any{"customer_email": "ana@example.com"}, "")
	if code != 200 || decodeIssued(t, b2).Code != first.Code || !decodeIssued(t, b2).Reused {
		t.Fatalf("repeat = %d %s, want 200 with %s", code, b2, first.Code)
	}

	// A race: 20 concurrent first calls of one new shopper (by customer id) get one code.
	var wg sync.WaitGroup
	var mu sync.Mutex
	codes := map[string]bool{}
	created := 0
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st, _, b := f.issue(map[string]any{"customer_id": "gid://shopify/Customer/7391234567"}, "")
			mu.Lock()
			defer mu.Unlock()
			if st == 201 {
				created++
			}
			if st == 200 || st == 201 {
				var out issuedJSON
				_ = json.Unmarshal(b, &out)
				codes[out.Code] = true
			} else {
				t.Errorf("racing call = %d %s", st, b)
			}
		}()
	}
	wg.Wait()
	if len(codes) != 1 || created != 1 {
		t.Fatalf("racing shopper got %d codes (%d created), want 1", len(codes), created)
	}

	// codes_per_customer 2: a second call hands out a second code, the third repeats.
	ctx := context.Background()
	f2 := &store.Campaign{ShopID: f.sh.ID, Name: "Two", Goal: "retention", Status: "active", Discount: []byte(`{}`), CodeFormat: []byte(`{}`),
		Usage: []byte(`{"codes_per_customer":2}`), StartsAt: time.Now().Add(-time.Hour)}
	if err := f.a.store.SeedCampaign(ctx, f2); err != nil {
		t.Fatal(err)
	}
	_ = f.a.store.SeedLiveCodes(ctx, f.sh.ID, f2.ID, []store.SeedLiveCode{{Code: "TWOA"}, {Code: "TWOB"}, {Code: "TWOC"}})
	seen := map[string]bool{}
	for i, want := range []int{201, 201, 200} {
		st, _, b := f.issue(map[string]any{"campaign_id": idString(f2.ID), "customer_email": "bo@example.com"}, "")
		if st != want {
			t.Fatalf("codes_per_customer call %d = %d %s, want %d", i, st, b, want)
		}
		seen[decodeIssued(t, b).Code] = true
	}
	if len(seen) != 2 {
		t.Fatalf("codes_per_customer 2 handed out %v", seen)
	}
}

func TestIssueIdempotencyKey(t *testing.T) {
	f := newIssueFixture(t, 0, 10, nil)
	body := map[string]any{"channel": "sms"}
	c1, _, b1 := f.issue(body, "order-42")
	c2, h2, b2 := f.issue(map[string]any{"channel": "sms"}, "order-42")
	if c1 != 201 || c2 != 201 || !bytes.Equal(b1, b2) || h2.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("replay: %d %s / %d %s", c1, b1, c2, b2)
	}
	c3, _, b3 := f.issue(map[string]any{"channel": "email"}, "order-42")
	if c3 != 422 || !strings.Contains(string(b3), "idempotency_key_reused") {
		t.Fatalf("other body, same key = %d %s", c3, b3)
	}
	// Racing replays of a new key: one code.
	var wg sync.WaitGroup
	bodies := make([][]byte, 10)
	for i := range bodies {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _, bodies[i] = f.issue(map[string]any{"channel": "sms"}, "order-43")
		}()
	}
	wg.Wait()
	for _, b := range bodies[1:] {
		if !bytes.Equal(b, bodies[0]) {
			t.Fatalf("racing replays differ: %s vs %s", b, bodies[0])
		}
	}
}

func TestIssueRefusals(t *testing.T) {
	f := newIssueFixture(t, 0, 5, func(c *store.Campaign) {
		c.Rules = []byte(`{"countries":["US"],"devices":["mobile"],"traffic_sources":["affiliate","email"],"channels":["email","affiliate"]}`)
	})
	ctx := context.Background()
	seed := func(status string, mutate func(*store.Campaign)) string {
		c := &store.Campaign{ShopID: f.sh.ID, Name: status, Goal: "acquisition", Status: status, Discount: []byte(`{}`), CodeFormat: []byte(`{}`),
			Usage: []byte(`{}`), StartsAt: time.Now().Add(-time.Hour)}
		if mutate != nil {
			mutate(c)
		}
		if err := f.a.store.SeedCampaign(ctx, c); err != nil {
			t.Fatal(err)
		}
		return idString(c.ID)
	}
	partnerOnly := seed("active", func(c *store.Campaign) { c.Rules = []byte(`{"partner_only":true}`) })
	empty := seed("active", nil)
	cases := []struct {
		name   string
		body   map[string]any
		status int
		code   string
		rule   string
	}{
		{"unknown campaign", map[string]any{"campaign_id": "987654321"}, 404, "campaign_not_found", ""},
		{"malformed campaign", map[string]any{"campaign_id": "abc"}, 404, "campaign_not_found", ""},
		{"missing campaign", map[string]any{"campaign_id": nil}, 422, "invalid_campaign_id", ""},
		{"draft", map[string]any{"campaign_id": seed("draft", nil)}, 409, "campaign_not_active", ""},
		{"paused", map[string]any{"campaign_id": seed("paused", nil)}, 409, "campaign_not_active", ""},
		{"ended", map[string]any{"campaign_id": seed("ended", nil)}, 409, "campaign_not_active", ""},
		{"past end date", map[string]any{"campaign_id": seed("active", func(c *store.Campaign) { e := time.Now().Add(-time.Minute); c.EndsAt = &e })}, 409, "campaign_not_active", ""},
		{"country", map[string]any{"country": "FR", "device": "mobile", "channel": "email"}, 422, "rule_violation", "countries"},
		{"device", map[string]any{"country": "US", "device": "desktop", "channel": "email"}, 422, "rule_violation", "devices"},
		{"traffic source", map[string]any{"country": "US", "device": "mobile", "channel": "email", "traffic_source": "paid"}, 422, "rule_violation", "traffic_sources"},
		{"channel", map[string]any{"country": "US", "device": "mobile", "channel": "sms", "traffic_source": "email"}, 422, "rule_violation", "channels"},
		{"partner only", map[string]any{"campaign_id": partnerOnly}, 422, "rule_violation", "partner_only"},
		{"unknown partner", map[string]any{"campaign_id": partnerOnly, "partner_id": "987654321"}, 422, "invalid_partner_id", ""},
		{"bad channel", map[string]any{"channel": "carrier-pigeon"}, 422, "invalid_channel", ""},
		{"bad ttl", map[string]any{"ttl_hours": 0}, 422, "invalid_ttl_hours", ""},
		{"pool empty", map[string]any{"campaign_id": empty}, 503, "pool_empty", ""},
	}
	for _, tc := range cases {
		st, h, b := f.issue(tc.body, "")
		var e struct {
			Error struct{ Code, Message, Rule string } `json:"error"`
		}
		_ = json.Unmarshal(b, &e)
		if st != tc.status || e.Error.Code != tc.code || e.Error.Rule != tc.rule {
			t.Errorf("%s: %d %s, want %d %s rule %q", tc.name, st, b, tc.status, tc.code, tc.rule)
		}
		if st == 503 && h.Get("Retry-After") == "" {
			t.Errorf("%s: no Retry-After", tc.name)
		}
	}
	// In-rule request passes.
	if st, _, b := f.issue(map[string]any{"country": "us", "device": "Mobile", "channel": "email"}, ""); st != 201 {
		t.Fatalf("in-rule = %d %s", st, b)
	}
}

func TestIssueExpiryRemovesCodeFromShopify(t *testing.T) {
	f := newIssueFixture(t, 3, 0, func(c *store.Campaign) { ttl := 2; c.CodeTTLHours = &ttl })
	st, _, b := f.issue(map[string]any{"customer_email": "exp@example.com"}, "")
	if st != 201 {
		t.Fatalf("issue = %d %s", st, b)
	}
	got := decodeIssued(t, b)
	exp, _ := time.Parse(time.RFC3339, *got.ExpiresAt)
	if d := time.Until(exp); d < time.Hour+50*time.Minute || d > 2*time.Hour+time.Minute {
		t.Fatalf("expires_at %s is not ~2h away (campaign code_ttl_hours)", *got.ExpiresAt)
	}
	if !f.devCodes()[got.Code] {
		t.Fatalf("%s not in the dev store before expiry", got.Code)
	}
	ctx := context.Background()
	// Not yet due: nothing happens.
	if err := f.a.jobs.ExpireCodes(ctx); err != nil {
		t.Fatal(err)
	}
	if k, _ := f.a.store.FindCode(ctx, f.sh.ID, got.Code); k.Status != "issued" {
		t.Fatalf("before expiry status = %s", k.Status)
	}
	// Two hours and a minute later (injected clock).
	f.a.jobs.Now = func() time.Time { return time.Now().UTC().Add(2*time.Hour + time.Minute) }
	if err := f.a.jobs.ExpireCodes(ctx); err != nil {
		t.Fatal(err)
	}
	k, _ := f.a.store.FindCode(ctx, f.sh.ID, got.Code)
	if k.Status != "expired" || k.ShopifyState != "removed" {
		t.Fatalf("after expiry: status %s shopify %s", k.Status, k.ShopifyState)
	}
	dev := f.devCodes()
	if dev[got.Code] || len(dev) != 3 { // the internal code and the two other pool codes stay
		t.Fatalf("dev store codes after expiry: %v", dev)
	}
	// The same shopper now gets a fresh code.
	if st, _, b := f.issue(map[string]any{"customer_email": "exp@example.com"}, ""); st != 201 || decodeIssued(t, b).Code == got.Code {
		t.Fatalf("after expiry = %d %s", st, b)
	}
}

func TestDisableEnableRoundTrip(t *testing.T) {
	f := newIssueFixture(t, 2, 0, nil)
	st, _, b := f.issue(map[string]any{"customer_email": "dis@example.com", "channel": "influencer"}, "")
	if st != 201 {
		t.Fatalf("issue = %d %s", st, b)
	}
	code := decodeIssued(t, b).Code
	var out codeDetailJSON
	if st := f.api("POST", "/api/v1/codes/"+strings.ToLower(code)+"/disable", f.key, map[string]string{"reason": "leaked on a forum"}, &out); st != 200 {
		t.Fatalf("disable = %d", st)
	}
	if out.Status != "disabled" || out.DisabledReason != "leaked on a forum" || out.ShopifyState != "removed" {
		t.Fatalf("after disable: %+v", out)
	}
	if f.devCodes()[code] {
		t.Fatal("disabled code still in the dev store")
	}
	if st := f.api("POST", "/api/v1/codes/"+code+"/disable", f.key, nil, &out); st != 200 || out.Status != "disabled" {
		t.Fatalf("disable twice = %d %+v", st, out)
	}
	if st := f.api("POST", "/api/v1/codes/"+code+"/enable", f.key, nil, &out); st != 200 {
		t.Fatalf("enable = %d", st)
	}
	if out.Status != "issued" || out.ShopifyState != "live" || out.DisabledReason != "" {
		t.Fatalf("after enable: %+v", out)
	}
	if !f.devCodes()[code] {
		t.Fatal("enabled code not back in the dev store")
	}
	var got codeDetailJSON
	if st := f.api("GET", "/api/v1/codes/"+code, f.key, nil, &got); st != 200 || got.Status != "issued" || *got.CustomerEmail != "dis@example.com" || got.Channel != "influencer" {
		t.Fatalf("get = %d %+v", st, got)
	}
	if st := f.api("GET", "/api/v1/codes/NOSUCHCODE", f.key, nil, nil); st != 404 {
		t.Fatalf("unknown code = %d", st)
	}
	// The re-added code can be removed again (its new redeem code id was recorded).
	if st := f.api("POST", "/api/v1/codes/"+code+"/disable", f.key, nil, &out); st != 200 || out.ShopifyState != "removed" || f.devCodes()[code] {
		t.Fatalf("second disable = %d %+v", st, out)
	}
}

func TestWebhookEndpointsAndEvents(t *testing.T) {
	f := newIssueFixture(t, 0, 5, nil)
	var ep webhookEndpointJSON
	if st := f.api("POST", "/api/v1/webhook-endpoints", f.key, map[string]any{"url": "https://hooks.example.com/ct", "events": []string{"code.issued"}}, &ep); st != 201 {
		t.Fatalf("create endpoint = %d", st)
	}
	if !strings.HasPrefix(ep.Secret, "whsec_") || ep.ID == "" {
		t.Fatalf("endpoint: %+v", ep)
	}
	for _, bad := range []map[string]any{{"url": "http://example.com/x"}, {"url": "https://x.example.com", "events": []string{"code.nope"}}, {"url": "not a url"}} {
		if st := f.api("POST", "/api/v1/webhook-endpoints", f.key, bad, nil); st != 422 {
			t.Errorf("bad endpoint %v = %d", bad, st)
		}
	}
	var eps list[webhookEndpointJSON]
	if f.api("GET", "/api/v1/webhook-endpoints", f.key, nil, &eps); len(eps.Items) != 1 || eps.Items[0].Secret != "" {
		t.Fatalf("list endpoints: %+v", eps)
	}
	st, _, b := f.issue(map[string]any{"customer_email": "ev@example.com"}, "")
	if st != 201 {
		t.Fatalf("issue = %d", st)
	}
	var evs list[outboundEventJSON]
	f.api("GET", "/api/v1/outbound-events?status=pending", f.key, nil, &evs)
	if len(evs.Items) != 1 || evs.Items[0].Type != "code.issued" || !strings.Contains(string(evs.Items[0].Payload), decodeIssued(t, b).Code) {
		t.Fatalf("events: %+v", evs)
	}
	if st := f.api("DELETE", "/api/v1/webhook-endpoints/"+ep.ID, f.key, nil, nil); st != 204 {
		t.Fatalf("delete = %d", st)
	}
	if st := f.api("DELETE", "/api/v1/webhook-endpoints/"+ep.ID, f.key, nil, nil); st != 404 {
		t.Fatalf("delete twice = %d", st)
	}
	f.api("GET", "/api/v1/outbound-events?status=failed", f.key, nil, &evs)
	if len(evs.Items) != 1 || evs.Items[0].LastError != "endpoint deleted" {
		t.Fatalf("events after delete: %+v", evs)
	}
}
