package devstore

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestCodeCapAndBulkDelete(t *testing.T) {
	e := newEnv(t)
	tok := e.token()
	id := dig(e.createDiscount(tok, "CAP-0", nil), "data", "discountCodeBasicCreate", "codeDiscountNode", "id")
	e.store.SetCodeCap(2)
	out := e.gql(tok, bulkAdd, map[string]any{"discountId": id, "codes": codesInput("CAP-1", "CAP-2")})
	bcID := dig(out, "data", "discountRedeemCodeBulkAdd", "bulkCreation", "id")
	e.waitIdle()
	poll := e.gql(tok, bulkPoll, map[string]any{"id": bcID})
	b := dig(poll, "data", "discountRedeemCodeBulkCreation")
	if dig(b, "importedCount") != json.Number("1") || dig(b, "failedCount") != json.Number("1") ||
		!strings.Contains(dig(b, "codes", "nodes", 1, "errors", 0, "message").(string), "maximum number of discount codes") {
		t.Fatalf("cap: %v", poll)
	}
	out = e.createDiscount(tok, "CAP-3", nil)
	if dig(out, "data", "discountCodeBasicCreate", "userErrors", 0, "code") != "EXCEEDED_MAX" {
		t.Fatalf("create over cap: %v", out)
	}

	// delete the unused code by search, then by id
	out = e.gql(tok, `mutation($id: ID!) { discountCodeRedeemCodeBulkDelete(discountId: $id, search: "code:cap-1") { job { id done } userErrors { code message } } }`,
		map[string]any{"id": id})
	if dig(out, "data", "discountCodeRedeemCodeBulkDelete", "job", "id") == nil {
		t.Fatalf("bulk delete: %v", out)
	}
	out = e.gql(tok, `query($c: String!) { codeDiscountNodeByCode(code: $c) { id } }`, map[string]any{"c": "CAP-1"})
	if dig(out, "data", "codeDiscountNodeByCode") != nil {
		t.Fatalf("deleted code still found: %v", out)
	}
	ds, _ := e.store.Discounts(testShop)
	if ds[0].CodesCount != 1 || ds[0].Codes[0].Code != "CAP-0" {
		t.Fatalf("after delete: %+v", ds)
	}
}

func TestAdminFaultsAndSubscriptions(t *testing.T) {
	e := newEnv(t)
	tok := e.token()
	e.store.SetFaults(Faults{Admin5xxRate: 1})
	st, _ := e.do("POST", "/store/"+testShop+"/admin/api/2026-07/graphql.json", map[string]any{"query": "{ shop { id } }"},
		map[string]string{"X-Shopify-Access-Token": tok})
	if st != http.StatusServiceUnavailable {
		t.Fatalf("5xx fault: %d", st)
	}
	e.store.SetFaults(Faults{AdminLatencyMS: 30})
	start := time.Now()
	e.gql(tok, `{ shop { id } }`, nil)
	if time.Since(start) < 30*time.Millisecond {
		t.Error("latency fault not applied")
	}
	e.store.SetFaults(Faults{})

	// a shop-specific subscription gets its own delivery (own webhook id, same event id)
	var hits atomic.Int32
	var eventID atomic.Value
	sub := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		eventID.Store(r.Header.Get("X-Shopify-Event-Id"))
	}))
	defer sub.Close()
	out := e.gql(tok, `mutation($t: WebhookSubscriptionTopic!, $s: WebhookSubscriptionInput!) {
	  webhookSubscriptionCreate(topic: $t, webhookSubscription: $s) { webhookSubscription { id topic uri } userErrors { field message } } }`,
		map[string]any{"t": "ORDERS_CREATE", "s": map[string]any{"uri": sub.URL + "/hook"}})
	if dig(out, "data", "webhookSubscriptionCreate", "webhookSubscription", "topic") != "ORDERS_CREATE" {
		t.Fatalf("subscription: %v", out)
	}
	if _, err := e.store.CreateOrder(testShop, OrderInput{LineItems: []LineItemInput{{Title: "A", Price: "1.00", Quantity: 1}}}); err != nil {
		t.Fatal(err)
	}
	e.waitIdle()
	if hits.Load() != 1 {
		t.Fatalf("subscription hits %d", hits.Load())
	}
	for _, r := range e.recv.all() {
		if r.header.Get("X-Shopify-Topic") == "orders/create" && r.header.Get("X-Shopify-Event-Id") != eventID.Load() {
			t.Error("event id differs between app and subscription deliveries")
		}
	}
}

func TestControlAPIErrors(t *testing.T) {
	e := newEnv(t)
	st, out := e.do("POST", "/_dev/shops", map[string]any{"shop": "not a shop"}, nil)
	if st != 422 || dig(out, "error", "code") != "invalid_shop" {
		t.Fatalf("bad shop: %d %v", st, out)
	}
	st, out = e.do("POST", "/_dev/shops/nope.myshopify.com/orders", map[string]any{"line_items": []any{}}, nil)
	if st != 404 {
		t.Fatalf("unknown shop: %d %v", st, out)
	}
	st, out = e.do("PUT", "/_dev/faults", map[string]any{"duplicate_rate": 2}, nil)
	if st != 422 {
		t.Fatalf("bad faults: %d %v", st, out)
	}
	st, out = e.do("POST", "/_dev/shops", map[string]any{"shop": "other.myshopify.com", "plan": "advanced"}, nil)
	if st != 201 || out["plan"] != "advanced" {
		t.Fatalf("create shop: %d %v", st, out)
	}
	st, out = e.do("POST", "/_dev/idle?timeout=2s", nil, nil)
	if st != 200 {
		t.Fatalf("idle: %d %v", st, out)
	}
}

func TestFlexIDAndRun(t *testing.T) {
	var in OrderInput
	if err := json.Unmarshal([]byte(`{"customer_id":"gid://shopify/Customer/9007199254740993","line_items":[{"price":"1","product_id":"42"}]}`), &in); err != nil {
		t.Fatal(err)
	}
	if in.CustomerID != 9007199254740993 || in.LineItems[0].ProductID != 42 {
		t.Fatalf("ids %+v", in)
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Run(ctx, addr, Config{APIKey: "k", APISecret: "s"}) }()
	var up bool
	for range 100 {
		if resp, err := http.Get("http://" + addr + "/healthz"); err == nil {
			resp.Body.Close()
			up = resp.StatusCode == 200
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil || !up {
		t.Fatalf("Run: up=%v err=%v", up, err)
	}
}

func TestLegacyTokenMigrationAndOnlineGrant(t *testing.T) {
	e := newEnv(t)
	legacy := e.store.IssueAccessToken(testShop, false)["access_token"].(string)
	path := "/store/" + testShop + "/admin/oauth/access_token"
	body := map[string]any{"client_id": testKey, "client_secret": testSecret,
		"grant_type":           "urn:ietf:params:oauth:grant-type:token-exchange",
		"subject_token":        legacy,
		"subject_token_type":   "urn:shopify:params:oauth:token-type:offline-access-token",
		"requested_token_type": "urn:shopify:params:oauth:token-type:offline-access-token", "expiring": "1"}
	st, out := e.do("POST", path, body, nil)
	if st != 200 || out["refresh_token"] == nil {
		t.Fatalf("migrate: %d %v", st, out)
	}
	if st, _ = e.do("POST", "/store/"+testShop+"/admin/api/2026-07/graphql.json", map[string]any{"query": "{ shop { id } }"},
		map[string]string{"X-Shopify-Access-Token": legacy}); st != 401 {
		t.Fatalf("legacy token still works: %d", st)
	}
	if st, _ = e.do("POST", path, body, nil); st != 400 {
		t.Fatalf("second migration: %d", st)
	}

	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Get(e.srv.URL + "/store/" + testShop + "/admin/oauth/authorize?client_id=" + testKey + "&grant_options[]=per-user")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, _ := url.Parse(resp.Header.Get("Location"))
	if !strings.HasPrefix(loc.String(), e.app.URL+"/auth/callback?") {
		t.Fatalf("default redirect: %s", loc)
	}
	st, out = e.do("POST", path, map[string]any{"client_id": testKey, "client_secret": testSecret, "code": loc.Query().Get("code")}, nil)
	if st != 200 || !strings.HasPrefix(out["access_token"].(string), "shpua_") || dig(out, "associated_user", "id") == nil {
		t.Fatalf("online grant: %d %v", st, out)
	}
}

func TestDiscountNodesQuery(t *testing.T) {
	e := newEnv(t)
	tok := e.token()
	e.createDiscount(tok, "AAA-1", nil)
	e.createDiscount(tok, "BBB-2", nil)
	out := e.gql(tok, `{ discountNodes(first: 5, query: "code:bbb-2") { nodes { id discount { ... on DiscountCodeBasic { title } } } } }`, nil)
	nodes, _ := dig(out, "data", "discountNodes", "nodes").([]any)
	if len(nodes) != 1 || dig(nodes[0], "discount", "title") != "T BBB-2" {
		t.Fatalf("discountNodes: %v", out)
	}
}
