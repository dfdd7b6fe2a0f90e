package main

import (
	"context"
	"strings"
	"testing"
	"time"
)

// crossShopCase says how to aim a route at shop B's data while calling as
// shop A. Every /api route must have one: a new route without a case fails
// this test until its author adds it.
type crossShopCase struct {
	params map[string]string // path parameter -> one of B's ids
}

// isoShopB are shop B's objects the main test already made.
type isoShopB struct{ Partner, Campaign, Batch, Link, Code string }

// crossShopAreas add the cases (and B's markers) of areas whose routes live
// in their own files; each area's isolation_<area>_test.go appends itself in
// an init function and may seed more of B's objects through s.
var crossShopAreas []func(t *testing.T, s *stack, shopB string, b isoShopB) (map[string]crossShopCase, []string)

// TestEveryAPIRouteIsShopScoped walks every registered /api route, calls it
// as shop A (session token and API key) aimed at shop B's objects, and
// proves A never sees B's data and B's rows do not change.
func TestEveryAPIRouteIsShopScoped(t *testing.T) {
	s := newStack(t)
	shopA, shopB := "alpha-iso.myshopify.com", "bravo-iso.myshopify.com"
	s.createShop(shopA)
	s.createShop(shopB)
	var keyA, keyB apiKeyJSON
	if code := s.api("POST", "/api/v1/api-keys", s.sessionToken(shopA), map[string]string{"name": "a"}, &keyA); code != 201 {
		t.Fatalf("key A: %d", code)
	}
	if code := s.api("POST", "/api/v1/api-keys", s.sessionToken(shopB), map[string]string{"name": "b-secret-label"}, &keyB); code != 201 {
		t.Fatalf("key B: %d", code)
	}
	// B has deliveries too.
	s.deliver(webhook{topic: "app/scopes_update", shop: shopB, id: "iso-b-1", body: []byte(`{"current":["read_orders"]}`)})

	// B's objects, created through the API as B. An id that could not be
	// created yet falls back to a number that names nothing.
	tokB := s.sessionToken(shopB)
	idOf := func(path string, body any, field string) string {
		var out map[string]any
		code, _ := s.apiErr("POST", path, tokB, body, &out)
		if code >= 300 {
			return "987654321"
		}
		if v, ok := out[field].(string); ok && v != "" {
			return v
		}
		return "987654321"
	}
	partnerB := idOf("/api/v1/partners", map[string]any{"name": "Bravo Partner", "kind": "influencer", "email": "bravo-partner@example.com", "commission": map[string]any{"percent": 10}}, "id")
	campaignB := idOf("/api/v1/campaigns", map[string]any{"name": "Bravo Spring", "goal": "acquisition",
		"discount": map[string]any{"type": "percentage", "value": 15}, "code": map[string]any{"prefix": "BRV", "length": 8},
		"usage": map[string]any{"single_use": true}, "starts_at": time.Now().UTC().Format(time.RFC3339)}, "id")
	batchB := idOf("/api/v1/campaigns/"+campaignB+"/codes", map[string]any{"count": 10}, "id")
	endpointB := idOf("/api/v1/webhook-endpoints", map[string]any{"url": "https://bravo.example.com/hook", "events": []string{"code.issued"}}, "id")
	codeB := "BRVSECRETCODE"
	linkB := idOf("/api/v1/links", map[string]any{"partner_id": partnerB, "campaign_id": campaignB, "channel": "influencer"}, "id")
	conversionB, statementB := "987654321", "987654321" // created from orders and by payouts; none exist yet

	byID := func(id string) crossShopCase { return crossShopCase{params: map[string]string{"id": id}} }
	cases := map[string]crossShopCase{
		"/api/v1/shop":                        {},
		"/api/v1/openapi.json":                {},
		"/api/v1/webhook-deliveries":          {},
		"/api/v1/api-keys":                    {},
		"/api/v1/api-keys/:id":                byID(keyB.ID),
		"/api/v1/partners":                    {},
		"/api/v1/partners/:id":                byID(partnerB),
		"/api/v1/campaigns":                   {},
		"/api/v1/campaigns/:id":               byID(campaignB),
		"/api/v1/campaigns/:id/activate":      byID(campaignB),
		"/api/v1/campaigns/:id/pause":         byID(campaignB),
		"/api/v1/campaigns/:id/resume":        byID(campaignB),
		"/api/v1/campaigns/:id/end":           byID(campaignB),
		"/api/v1/campaigns/:id/codes":         byID(campaignB),
		"/api/v1/campaigns/:id/codes.csv":     byID(campaignB),
		"/api/v1/campaigns/:id/codes/import":  byID(campaignB),
		"/api/v1/campaigns/:id/vanity-codes":  byID(campaignB),
		"/api/v1/code-batches":                {},
		"/api/v1/code-batches/:id":            byID(batchB),
		"/api/v1/codes":                       {},
		"/api/v1/codes/issue":                 {},
		"/api/v1/codes/:code":                 {params: map[string]string{"code": codeB}},
		"/api/v1/codes/:code/disable":         {params: map[string]string{"code": codeB}},
		"/api/v1/codes/:code/enable":          {params: map[string]string{"code": codeB}},
		"/api/v1/webhook-endpoints":           {},
		"/api/v1/webhook-endpoints/:id":       byID(endpointB),
		"/api/v1/outbound-events":             {},
		"/api/v1/links":                       {},
		"/api/v1/links/:id":                   byID(linkB),
		"/api/v1/clicks":                      {},
		"/api/v1/conversions":                 {},
		"/api/v1/conversions/:id":             byID(conversionB),
		"/api/v1/conversions/:id/approve":     byID(conversionB),
		"/api/v1/conversions/:id/reject":      byID(conversionB),
		"/api/v1/attribution/rerun":           {},
		"/api/v1/attribution/models":          {},
		"/api/v1/ledger/check":                {},
		"/api/v1/payouts/statements":          {},
		"/api/v1/payouts/statements/:id":      byID(statementB),
		"/api/v1/payouts/statements/:id/csv":  byID(statementB),
		"/api/v1/payouts/statements/:id/paid": byID(statementB),
	}
	// Markers of B that must never appear in A's answers.
	markers := []string{shopB, keyB.Prefix, "b-secret-label", "iso-b-1", "Bravo Partner", "bravo-partner@example.com", "Bravo Spring", "bravo.example.com"}
	for _, area := range crossShopAreas {
		more, marks := area(t, s, shopB, isoShopB{Partner: partnerB, Campaign: campaignB, Batch: batchB, Link: linkB, Code: codeB})
		for k, v := range more {
			if _, dup := cases[k]; dup {
				t.Fatalf("cross-shop case %s listed twice", k)
			}
			cases[k] = v
		}
		markers = append(markers, marks...)
	}

	b := mustShop(t, s.testEnv, shopB)
	before, err := s.a.store.ShopFingerprint(context.Background(), b.ID, shopB)
	if err != nil {
		t.Fatal(err)
	}
	routes := 0
	for _, r := range s.a.newEcho().Routes() {
		if !strings.HasPrefix(r.Path, "/api/") || strings.HasSuffix(r.Path, "/*") || r.Method == "echo_route_not_found" {
			continue
		}
		tc, ok := cases[r.Path]
		if !ok {
			t.Errorf("route %s %s has no cross-shop case in TestEveryAPIRouteIsShopScoped", r.Method, r.Path)
			continue
		}
		routes++
		path := r.Path
		for p, v := range tc.params {
			path = strings.ReplaceAll(path, ":"+p, v)
		}
		if strings.Contains(path, ":") {
			t.Errorf("route %s: unfilled parameter in %s", r.Path, path)
			continue
		}
		for _, cred := range []string{s.sessionToken(shopA), keyA.Key} {
			code, text := s.rawCall(r.Method, path, cred, `{"campaign_id":"`+campaignB+`","partner_id":"`+partnerB+`","count":1}`)
			for _, m := range markers {
				if strings.Contains(text, m) {
					t.Errorf("%s %s as shop A revealed shop B's %q: %d %s", r.Method, path, m, code, text)
				}
			}
			if len(tc.params) > 0 && code < 400 && r.Path != "/api/v1/openapi.json" {
				t.Errorf("%s %s as shop A on B's object answered %d", r.Method, path, code)
			}
		}
	}
	if routes < len(cases) {
		t.Errorf("walked %d routes, cases list %d: stale cases", routes, len(cases))
	}
	time.Sleep(50 * time.Millisecond)
	after, err := s.a.store.ShopFingerprint(context.Background(), b.ID, shopB)
	if err != nil {
		t.Fatal(err)
	}
	if before != after {
		t.Fatalf("shop B's data changed while shop A called every route:\nbefore %s\nafter  %s", before, after)
	}
	// B's own key still works: it was not revoked by A.
	if code := s.api("GET", "/api/v1/shop", keyB.Key, nil, nil); code != 200 {
		t.Fatalf("B's key after A's calls = %d", code)
	}
}
