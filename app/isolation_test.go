package main

import (
	"context"
	"fmt"
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

	cases := map[string]crossShopCase{
		"/api/v1/shop":               {},
		"/api/v1/webhook-deliveries": {},
		"/api/v1/api-keys":           {},
		"/api/v1/api-keys/:id":       {params: map[string]string{"id": keyB.ID}},
	}
	// Markers of B that must never appear in A's answers.
	markers := []string{shopB, keyB.Prefix, "b-secret-label", "iso-b-1"}

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
			var body map[string]any
			code, _ := s.apiErr(r.Method, path, cred, map[string]any{}, &body)
			text := fmt.Sprint(body)
			for _, m := range markers {
				if strings.Contains(text, m) {
					t.Errorf("%s %s as shop A revealed shop B's %q: %d %s", r.Method, path, m, code, text)
				}
			}
			if len(tc.params) > 0 && code < 400 {
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
