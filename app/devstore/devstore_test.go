package devstore

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
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
)

const (
	testKey    = "test-api-key"
	testSecret = "test-api-secret"
	testShop   = "demo.myshopify.com"
)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// received is one webhook the test receiver got.
type received struct {
	header http.Header
	body   []byte
}

type receiver struct {
	mu     sync.Mutex
	got    []received
	status func(n int) int // status for the n-th request (1-based)
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	rc.got = append(rc.got, received{r.Header.Clone(), body})
	n := len(rc.got)
	rc.mu.Unlock()
	st := 200
	if rc.status != nil {
		st = rc.status(n)
	}
	w.WriteHeader(st)
}

func (rc *receiver) all() []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]received(nil), rc.got...)
}

type env struct {
	t     *testing.T
	store *Store
	srv   *httptest.Server
	app   *httptest.Server
	recv  *receiver
	clock *clock
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{t: t, recv: &receiver{}, clock: &clock{t: time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)}}
	e.app = httptest.NewServer(e.recv)
	t.Cleanup(e.app.Close)
	e.store = New(Config{APIKey: testKey, APISecret: testSecret, AppURL: e.app.URL, Now: e.clock.Now,
		RetryScale: 1e-5, BulkDelay: 20 * time.Millisecond, Seed: 1})
	e.srv = httptest.NewServer(e.store)
	e.store.SetBaseURL(e.srv.URL)
	t.Cleanup(func() { e.srv.Close(); e.store.Close() })
	if err := e.store.CreateShop(testShop, "standard"); err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *env) do(method, path string, body any, hdr map[string]string) (int, map[string]any) {
	e.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, e.srv.URL+path, rd)
	req.Header.Set("Content-Type", "application/json")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	_ = dec.Decode(&out)
	return resp.StatusCode, out
}

func (e *env) token() string {
	e.t.Helper()
	return e.store.IssueAccessToken(testShop, true)["access_token"].(string)
}

func (e *env) gql(tok, query string, vars map[string]any) map[string]any {
	e.t.Helper()
	st, out := e.do("POST", "/store/"+testShop+"/admin/api/2026-07/graphql.json",
		map[string]any{"query": query, "variables": vars}, map[string]string{"X-Shopify-Access-Token": tok})
	if st != 200 {
		e.t.Fatalf("graphql status %d: %v", st, out)
	}
	return out
}

// dig walks a decoded JSON value by keys and indexes.
func dig(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, _ := v.(map[string]any)
			v = m[k]
		case int:
			l, _ := v.([]any)
			if k >= len(l) {
				return nil
			}
			v = l[k]
		}
	}
	return v
}

func (e *env) waitIdle() {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.store.WaitIdle(ctx); err != nil {
		e.t.Fatal(err)
	}
}

// verifyQueryHMAC is written independently of SignQuery, from Shopify's documented algorithm.
func verifyQueryHMAC(q url.Values, secret string) bool {
	var pairs []string
	for k, v := range q {
		if k == "hmac" || k == "signature" {
			continue
		}
		pairs = append(pairs, k+"="+v[0])
	}
	sort.Strings(pairs)
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(strings.Join(pairs, "&")))
	want := m.Sum(nil)
	got, err := hex.DecodeString(q.Get("hmac"))
	return err == nil && hmac.Equal(got, want)
}

func TestAuthorizeRedirectAndCodeGrant(t *testing.T) {
	e := newEnv(t)
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	q := url.Values{"client_id": {testKey}, "scope": {"read_orders,write_discounts"},
		"redirect_uri": {e.app.URL + "/auth/callback"}, "state": {"nonce-123"}}
	resp, err := client.Get(e.srv.URL + "/store/" + testShop + "/admin/oauth/authorize?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("status %d", resp.StatusCode)
	}
	loc, _ := url.Parse(resp.Header.Get("Location"))
	if loc.Path != "/auth/callback" {
		t.Fatalf("redirect to %s", loc)
	}
	cb := loc.Query()
	for _, k := range []string{"code", "shop", "state", "timestamp", "host", "hmac"} {
		if cb.Get(k) == "" {
			t.Errorf("callback lacks %s", k)
		}
	}
	if cb.Get("state") != "nonce-123" || cb.Get("shop") != testShop {
		t.Errorf("state/shop = %q/%q", cb.Get("state"), cb.Get("shop"))
	}
	if !verifyQueryHMAC(cb, testSecret) {
		t.Fatal("callback hmac does not verify")
	}
	cb.Set("state", "tampered")
	if verifyQueryHMAC(cb, testSecret) {
		t.Fatal("tampered callback verifies")
	}

	// wrong client id is refused
	bad := url.Values{"client_id": {"nope"}, "redirect_uri": {e.app.URL + "/auth/callback"}}
	resp, _ = client.Get(e.srv.URL + "/store/" + testShop + "/admin/oauth/authorize?" + bad.Encode())
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("bad client id: status %d", resp.StatusCode)
	}

	path := "/store/" + testShop + "/admin/oauth/access_token"
	st, out := e.do("POST", path, map[string]any{"client_id": testKey, "client_secret": "wrong", "code": loc.Query().Get("code")}, nil)
	if st != 400 {
		t.Fatalf("wrong secret: %d %v", st, out)
	}
	// a failed attempt burns the code, like a used one; fetch a fresh code for the real exchange
	resp, _ = client.Get(e.srv.URL + "/store/" + testShop + "/admin/oauth/authorize?" + q.Encode())
	resp.Body.Close()
	loc, _ = url.Parse(resp.Header.Get("Location"))
	code := loc.Query().Get("code")

	// form-encoded, as go-shopify sends it
	form := url.Values{"client_id": {testKey}, "client_secret": {testSecret}, "code": {code}}
	req, _ := http.NewRequest("POST", e.srv.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var tok map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(fmt.Sprint(tok["access_token"]), "shpat_") || tok["scope"] != "read_orders,write_discounts" {
		t.Fatalf("code grant: %d %v", resp.StatusCode, tok)
	}
	if _, ok := tok["refresh_token"]; ok {
		t.Error("non-expiring grant returned a refresh token")
	}
	st, _ = e.do("POST", path, map[string]any{"client_id": testKey, "client_secret": testSecret, "code": code}, nil)
	if st != 400 {
		t.Errorf("code reused: status %d", st)
	}
	out = e.gql(tok["access_token"].(string), `{ shop { myshopifyDomain } }`, nil)
	if dig(out, "data", "shop", "myshopifyDomain") != testShop {
		t.Errorf("shop query: %v", out)
	}
}

func TestTokenExchangeAndRefreshRotation(t *testing.T) {
	e := newEnv(t)
	e.store.SetTokenTTL(2*time.Minute, time.Hour)
	path := "/store/" + testShop + "/admin/oauth/access_token"

	st, out := e.do("POST", "/_dev/session-token", map[string]any{"shop": testShop, "user_id": "42"}, nil)
	if st != 200 {
		t.Fatalf("session token: %d %v", st, out)
	}
	jwt := out["token"].(string)
	claims, err := e.store.VerifySessionToken(jwt)
	if err != nil || claims.Aud != testKey || claims.Dest != "https://"+testShop || claims.Iss != "https://"+testShop+"/admin" ||
		claims.Sub != "42" || claims.Exp-claims.Iat != 60 || claims.Jti == "" || claims.Sid == "" {
		t.Fatalf("claims %+v err %v", claims, err)
	}

	exchange := func(subject string) (int, map[string]any) {
		return e.do("POST", path, map[string]any{"client_id": testKey, "client_secret": testSecret,
			"grant_type":           "urn:ietf:params:oauth:grant-type:token-exchange",
			"subject_token":        subject,
			"subject_token_type":   "urn:ietf:params:oauth:token-type:id_token",
			"requested_token_type": "urn:shopify:params:oauth:token-type:offline-access-token",
			"expiring":             "1"}, nil)
	}
	// tampered signature
	st, out = exchange(jwt[:len(jwt)-2] + "xx")
	if st != 400 || out["error"] != "invalid_subject_token" {
		t.Fatalf("tampered: %d %v", st, out)
	}
	st, out = exchange(jwt)
	if st != 200 {
		t.Fatalf("exchange: %d %v", st, out)
	}
	if out["expires_in"] != json.Number("120") || out["refresh_token_expires_in"] != json.Number("3600") {
		t.Errorf("lifetimes: %v", out)
	}
	access, refresh := out["access_token"].(string), out["refresh_token"].(string)
	e.gql(access, `{ shop { id } }`, nil)

	refreshReq := func(rt string) (int, map[string]any) {
		return e.do("POST", path, map[string]any{"client_id": testKey, "client_secret": testSecret,
			"grant_type": "refresh_token", "refresh_token": rt}, nil)
	}
	st, out = refreshReq(refresh)
	if st != 200 || out["refresh_token"] == refresh || out["access_token"] == access {
		t.Fatalf("refresh: %d %v", st, out)
	}
	access2 := out["access_token"].(string)
	if st, out = refreshReq(refresh); st != 400 || out["error"] != "invalid_grant" {
		t.Fatalf("old refresh token accepted: %d %v", st, out)
	}
	if n := e.store.RefreshCount(testShop); n != 1 {
		t.Fatalf("refresh count %d", n)
	}

	// expired access tokens are refused by the Admin API; expired session tokens by token exchange
	e.clock.Advance(3 * time.Minute)
	st, _ = e.do("POST", "/store/"+testShop+"/admin/api/2026-07/graphql.json",
		map[string]any{"query": "{ shop { id } }"}, map[string]string{"X-Shopify-Access-Token": access2})
	if st != 401 {
		t.Fatalf("expired access token: status %d", st)
	}
	if st, out = exchange(jwt); st != 400 || out["error"] != "invalid_subject_token" {
		t.Fatalf("expired session token: %d %v", st, out)
	}
}

const createDiscount = `mutation Create($input: DiscountCodeBasicInput!) {
  discountCodeBasicCreate(basicCodeDiscount: $input) {
    codeDiscountNode { id codeDiscount { __typename ... on DiscountCodeBasic { title status usageLimit
      codes(first: 2) { nodes { id code } } } } }
    userErrors { field code message extraInfo }
  }
}`

func (e *env) createDiscount(tok, code string, extra map[string]any) map[string]any {
	e.t.Helper()
	in := map[string]any{"title": "T " + code, "code": code, "startsAt": "2026-01-01T00:00:00Z",
		"context":      map[string]any{"all": "ALL"},
		"customerGets": map[string]any{"value": map[string]any{"percentage": 0.1}, "items": map[string]any{"all": true}}}
	for k, v := range extra {
		in[k] = v
	}
	return e.gql(tok, createDiscount, map[string]any{"input": in})
}

func TestDiscountCreateTakenCaseInsensitive(t *testing.T) {
	e := newEnv(t)
	tok := e.token()
	out := e.createDiscount(tok, "SAVE10", nil)
	node := dig(out, "data", "discountCodeBasicCreate", "codeDiscountNode")
	if !strings.HasPrefix(fmt.Sprint(dig(node, "id")), "gid://shopify/DiscountCodeNode/") ||
		dig(node, "codeDiscount", "status") != "ACTIVE" || dig(node, "codeDiscount", "__typename") != "DiscountCodeBasic" ||
		dig(node, "codeDiscount", "codes", "nodes", 0, "code") != "SAVE10" {
		t.Fatalf("create: %v", out)
	}
	if c := dig(out, "extensions", "cost", "requestedQueryCost"); c != json.Number("10") {
		t.Errorf("mutation cost %v", c)
	}
	out = e.createDiscount(tok, "save10", nil)
	ue := dig(out, "data", "discountCodeBasicCreate", "userErrors", 0)
	if dig(out, "data", "discountCodeBasicCreate", "codeDiscountNode") != nil || dig(ue, "code") != "TAKEN" ||
		fmt.Sprint(dig(ue, "field")) != "[basicCodeDiscount code]" {
		t.Fatalf("duplicate: %v", out)
	}
	out = e.gql(tok, `query($c: String!) { a: codeDiscountNodeByCode(code: $c) { id } b: codeDiscountNodeByCode(code: "nope") { id } }`,
		map[string]any{"c": "Save10"})
	if dig(out, "data", "a", "id") != dig(node, "id") || dig(out, "data", "b") != nil {
		t.Fatalf("lookup by code: %v", out)
	}
}

const bulkAdd = `mutation Add($discountId: ID!, $codes: [DiscountRedeemCodeInput!]!) {
  discountRedeemCodeBulkAdd(discountId: $discountId, codes: $codes) {
    bulkCreation { id done codesCount importedCount failedCount }
    userErrors { code field message }
  }
}`

const bulkPoll = `query Poll($id: ID!) {
  discountRedeemCodeBulkCreation(id: $id) {
    id done codesCount importedCount failedCount
    codes(first: 250) { nodes { code discountRedeemCode { id code } errors { code field message } } }
  }
}`

func codesInput(codes ...string) []any {
	out := make([]any, len(codes))
	for i, c := range codes {
		out[i] = map[string]any{"code": c}
	}
	return out
}

func TestRedeemCodeBulkAdd(t *testing.T) {
	e := newEnv(t)
	tok := e.token()
	id := dig(e.createDiscount(tok, "BASE1", nil), "data", "discountCodeBasicCreate", "codeDiscountNode", "id")

	out := e.gql(tok, bulkAdd, map[string]any{"discountId": id, "codes": codesInput("NEW1", "base1", "NEW2", "new2", "")})
	bc := dig(out, "data", "discountRedeemCodeBulkAdd", "bulkCreation")
	if dig(bc, "done") != false || dig(bc, "codesCount") != json.Number("5") ||
		len(dig(out, "data", "discountRedeemCodeBulkAdd", "userErrors").([]any)) != 0 {
		t.Fatalf("bulk add: %v", out)
	}
	var poll map[string]any
	deadline := time.Now().Add(5 * time.Second)
	for {
		poll = e.gql(tok, bulkPoll, map[string]any{"id": dig(bc, "id")})
		if dig(poll, "data", "discountRedeemCodeBulkCreation", "done") == true {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("bulk creation never done: %v", poll)
		}
		if dig(poll, "errors") != nil {
			t.Fatalf("poll: %v", poll)
		}
		time.Sleep(10 * time.Millisecond)
		e.clock.Advance(10 * time.Second) // let the bucket refill: this poll costs about 500 points
	}
	b := dig(poll, "data", "discountRedeemCodeBulkCreation")
	if dig(b, "importedCount") != json.Number("2") || dig(b, "failedCount") != json.Number("3") {
		t.Fatalf("counts: %v", b)
	}
	nodes := dig(b, "codes", "nodes").([]any)
	wantErr := []string{"", "must be unique. Please try a different code.", "",
		"Codes must be unique within BulkDiscountCodeCreation", "is too short (minimum is 1 character)"}
	for i, n := range nodes {
		msg, _ := dig(n, "errors", 0, "message").(string)
		if msg != wantErr[i] {
			t.Errorf("code %d %v: error %q, want %q", i, dig(n, "code"), msg, wantErr[i])
		}
		if (msg == "") != (dig(n, "discountRedeemCode") != nil) {
			t.Errorf("code %d: discountRedeemCode %v with error %q", i, dig(n, "discountRedeemCode"), msg)
		}
	}

	// exactly 250 is fine, 251 is a top-level MAX_INPUT_SIZE_EXCEEDED with no data
	many := make([]string, 251)
	for i := range many {
		many[i] = fmt.Sprintf("MANY-%03d", i)
	}
	out = e.gql(tok, bulkAdd, map[string]any{"discountId": id, "codes": codesInput(many...)})
	if _, hasData := out["data"]; hasData || dig(out, "errors", 0, "extensions", "code") != "MAX_INPUT_SIZE_EXCEEDED" ||
		dig(out, "errors", 0, "message") != "The input array size of 251 is greater than the maximum allowed of 250." {
		t.Fatalf("251 codes: %v", out)
	}
	out = e.gql(tok, bulkAdd, map[string]any{"discountId": id, "codes": codesInput(many[:250]...)})
	if dig(out, "data", "discountRedeemCodeBulkAdd", "bulkCreation", "codesCount") != json.Number("250") {
		t.Fatalf("250 codes: %v", out)
	}
	e.waitIdle()
	ds, _ := e.store.Discounts(testShop)
	if len(ds) != 1 || ds[0].CodesCount != 253 {
		t.Fatalf("discounts: %+v", ds)
	}

	// unknown discount
	out = e.gql(tok, bulkAdd, map[string]any{"discountId": "gid://shopify/DiscountCodeNode/0", "codes": codesInput("X")})
	if dig(out, "data", "discountRedeemCodeBulkAdd", "userErrors", 0, "code") != "INVALID" {
		t.Fatalf("unknown discount: %v", out)
	}
}

func TestThrottled(t *testing.T) {
	e := newEnv(t)
	tok := e.token()
	out := e.gql(tok, `{ shop { id } }`, nil)
	ts := dig(out, "extensions", "cost", "throttleStatus")
	if dig(ts, "maximumAvailable") != json.Number("2000") || dig(ts, "restoreRate") != json.Number("100") {
		t.Fatalf("throttle status %v", ts)
	}
	e.store.SetBucketAvailable(testShop, 5)
	out = e.gql(tok, createDiscount, map[string]any{"input": map[string]any{}})
	if _, ok := out["data"]; ok || dig(out, "errors", 0, "message") != "Throttled" ||
		dig(out, "errors", 0, "extensions", "code") != "THROTTLED" ||
		dig(out, "extensions", "cost", "requestedQueryCost") != json.Number("10") ||
		dig(out, "extensions", "cost", "throttleStatus", "currentlyAvailable") != json.Number("5") {
		t.Fatalf("throttled: %v", out)
	}
	// the bucket leaks back at the restore rate
	e.clock.Advance(time.Second)
	out = e.gql(tok, `{ shop { id } }`, nil)
	if _, ok := out["errors"]; ok {
		t.Fatalf("after refill: %v", out)
	}
	// plans set the bucket
	_ = e.store.CreateShop(testShop, PlanPlus)
	out = e.gql(tok, `{ shop { id } }`, nil)
	if dig(out, "extensions", "cost", "throttleStatus", "maximumAvailable") != json.Number("20000") {
		t.Fatalf("plus bucket: %v", out)
	}
}

func TestOrderSingleUseCode(t *testing.T) {
	e := newEnv(t)
	tok := e.token()
	out := e.createDiscount(tok, "ONCE-1", map[string]any{"usageLimit": 1})
	if dig(out, "data", "discountCodeBasicCreate", "codeDiscountNode", "codeDiscount", "usageLimit") != json.Number("1") {
		t.Fatalf("create: %v", out)
	}
	order := map[string]any{"email": "ann@example.com", "customer_id": 9007199254740993, // 2^53+1: must survive exactly
		"line_items":     []any{map[string]any{"title": "Tee", "price": "40.00", "quantity": 2, "product_id": 8123456789123}},
		"discount_codes": []any{"once-1"}, "browser_ip": "203.0.113.7", "user_agent": "Mozilla/5.0",
		"country": "US", "landing_site": "/?ref=ana", "referring_site": "https://ig.example/"}
	st, o := e.do("POST", "/_dev/shops/"+testShop+"/orders", order, nil)
	if st != 201 {
		t.Fatalf("order: %d %v", st, o)
	}
	if o["total_discounts"] != "8.00" || o["total_price"] != "72.00" || o["subtotal_price"] != "72.00" ||
		dig(o, "discount_codes", 0, "code") != "once-1" || dig(o, "discount_codes", 0, "type") != "percentage" ||
		dig(o, "customer", "id") != json.Number("9007199254740993") || dig(o, "line_items", 0, "product_id") != json.Number("8123456789123") ||
		dig(o, "client_details", "browser_ip") != "203.0.113.7" || o["name"] != "#1001" ||
		dig(o, "total_price_set", "shop_money", "amount") != "72.00" || o["financial_status"] != "paid" {
		t.Fatalf("order body: %v", o)
	}
	if id, _ := o["id"].(json.Number).Int64(); id < 1<<40 {
		t.Errorf("order id %d is not a realistic 64-bit id", id)
	}
	st, o2 := e.do("POST", "/_dev/shops/"+testShop+"/orders", order, nil)
	if st != 422 || dig(o2, "error", "code") != "discount_code_used_up" {
		t.Fatalf("second use: %d %v", st, o2)
	}
	order["discount_codes"] = []any{"NOPE"}
	if st, o2 = e.do("POST", "/_dev/shops/"+testShop+"/orders", order, nil); st != 422 || dig(o2, "error", "code") != "discount_code_invalid" {
		t.Fatalf("unknown code: %d %v", st, o2)
	}
	ds, _ := e.store.Discounts(testShop)
	if ds[0].Codes[0].UsageCount != 1 || ds[0].UsageCount != 1 {
		t.Fatalf("usage: %+v", ds)
	}

	// a deactivated discount is refused
	out = e.createDiscount(tok, "GONE", nil)
	id := dig(out, "data", "discountCodeBasicCreate", "codeDiscountNode", "id")
	out = e.gql(tok, `mutation($id: ID!) { discountCodeDeactivate(id: $id) { codeDiscountNode { codeDiscount { ... on DiscountCodeBasic { status } } } userErrors { code } } }`,
		map[string]any{"id": id})
	if dig(out, "data", "discountCodeDeactivate", "codeDiscountNode", "codeDiscount", "status") != "EXPIRED" {
		t.Fatalf("deactivate: %v", out)
	}
	order["discount_codes"] = []any{"GONE"}
	if st, o2 = e.do("POST", "/_dev/shops/"+testShop+"/orders", order, nil); st != 422 || dig(o2, "error", "code") != "discount_code_expired" {
		t.Fatalf("deactivated code: %d %v", st, o2)
	}
	e.waitIdle()
	topics := map[string]int{}
	for _, r := range e.recv.all() {
		topics[r.header.Get("X-Shopify-Topic")]++
	}
	if topics["orders/create"] != 1 || topics["orders/paid"] != 1 {
		t.Fatalf("webhooks: %v", topics)
	}
}

func TestWebhookSignedAndRetried(t *testing.T) {
	e := newEnv(t)
	e.recv.status = func(n int) int {
		if n == 1 {
			return 500
		}
		return 200
	}
	if err := e.store.SendWebhook(testShop, "orders/create", json.RawMessage(`{"id":5912345678901234567}`)); err != nil {
		t.Fatal(err)
	}
	e.waitIdle()
	got := e.recv.all()
	if len(got) != 2 {
		t.Fatalf("got %d deliveries, want 2 (one retry)", len(got))
	}
	for _, r := range got {
		m := hmac.New(sha256.New, []byte(testSecret))
		m.Write(r.body)
		if r.header.Get("X-Shopify-Hmac-Sha256") != base64.StdEncoding.EncodeToString(m.Sum(nil)) {
			t.Error("bad hmac")
		}
		if r.header.Get("X-Shopify-Topic") != "orders/create" || r.header.Get("X-Shopify-Shop-Domain") != testShop ||
			r.header.Get("X-Shopify-API-Version") != "2026-07" || r.header.Get("X-Shopify-Event-Id") == "" ||
			r.header.Get("X-Shopify-Triggered-At") == "" {
			t.Errorf("headers %v", r.header)
		}
		if string(r.body) != `{"id":5912345678901234567}` {
			t.Errorf("body %s", r.body)
		}
	}
	if got[0].header.Get("X-Shopify-Webhook-Id") == "" || got[0].header.Get("X-Shopify-Webhook-Id") != got[1].header.Get("X-Shopify-Webhook-Id") {
		t.Error("retry changed the webhook id")
	}
	st, out := e.do("GET", "/_dev/deliveries", nil, nil)
	items, _ := out["items"].([]any)
	if st != 200 || len(items) != 2 || dig(items[0], "status") != json.Number("500") || dig(items[1], "status") != json.Number("200") ||
		dig(items[1], "attempt") != json.Number("2") {
		t.Fatalf("deliveries %v", out)
	}
}

func TestWebhookDuplicatesAndFailures(t *testing.T) {
	e := newEnv(t)
	st, _ := e.do("PUT", "/_dev/faults", map[string]any{"duplicate_rate": 1.0, "reorder": true}, nil)
	if st != 200 {
		t.Fatal(st)
	}
	for i := range 3 {
		_ = e.store.SendWebhook(testShop, "orders/updated", map[string]any{"id": i})
	}
	e.waitIdle()
	ids := map[string]int{}
	for _, r := range e.recv.all() {
		ids[r.header.Get("X-Shopify-Webhook-Id")]++
	}
	if len(ids) != 3 {
		t.Fatalf("distinct webhook ids %d, want 3", len(ids))
	}
	for id, n := range ids {
		if n != 2 {
			t.Errorf("webhook %s delivered %d times, want 2", id, n)
		}
	}

	// an injected failure is retried until it goes through
	e.store.SetFaults(Faults{FailureRate: 1})
	_ = e.store.SendWebhook(testShop, "orders/paid", map[string]any{"id": 9})
	time.Sleep(5 * time.Millisecond)
	e.store.SetFaults(Faults{})
	e.waitIdle()
	var attempts, ok int
	for _, d := range e.store.Deliveries() {
		if d.Topic == "orders/paid" {
			attempts++
			if d.OK {
				ok++
			}
		}
	}
	if ok != 1 || attempts < 2 {
		t.Fatalf("failure then success: %d attempts, %d ok", attempts, ok)
	}
}

func TestRefundCancelCheckoutUninstall(t *testing.T) {
	e := newEnv(t)
	st, c := e.do("POST", "/_dev/shops/"+testShop+"/checkouts", map[string]any{"email": "bo@example.com",
		"line_items": []any{map[string]any{"title": "Mug", "price": "25.00", "quantity": 2}}}, nil)
	if st != 201 || c["token"] == nil || c["abandoned_checkout_url"] == nil || c["total_price"] != "50.00" {
		t.Fatalf("checkout: %d %v", st, c)
	}
	if _, hasID := c["id"]; hasID {
		t.Error("2026-07 checkouts carry no id")
	}
	st, o := e.do("POST", "/_dev/shops/"+testShop+"/checkouts/"+c["token"].(string)+"/complete", map[string]any{}, nil)
	if st != 201 || o["checkout_token"] != c["token"] || o["email"] != "bo@example.com" {
		t.Fatalf("complete: %d %v", st, o)
	}
	oid := o["id"].(json.Number).String()
	lineID := dig(o, "line_items", 0, "id").(json.Number)
	st, rf := e.do("POST", "/_dev/shops/"+testShop+"/orders/"+oid+"/refunds",
		map[string]any{"line_items": []any{map[string]any{"line_item_id": lineID, "quantity": 1}}}, nil)
	if st != 201 || dig(rf, "transactions", 0, "amount") != "25.00" || dig(rf, "order_id") != o["id"] ||
		dig(rf, "refund_line_items", 0, "line_item_id") != lineID {
		t.Fatalf("refund: %d %v", st, rf)
	}
	if st, rf = e.do("POST", "/_dev/shops/"+testShop+"/orders/"+oid+"/refunds", map[string]any{"amount": "30.00"}, nil); st != 422 {
		t.Fatalf("over-refund: %d %v", st, rf)
	}
	if st, rf = e.do("POST", "/_dev/shops/"+testShop+"/orders/"+oid+"/refunds", map[string]any{"amount": "25.00"}, nil); st != 201 {
		t.Fatalf("amount refund: %d %v", st, rf)
	}
	st, co := e.do("POST", "/_dev/shops/"+testShop+"/orders/"+oid+"/cancel", nil, nil)
	if st != 200 || co["cancelled_at"] == nil || co["financial_status"] != "refunded" || co["current_total_price"] != "0.00" {
		t.Fatalf("cancel: %d %v", st, co)
	}
	tok := e.token()
	out := e.gql(tok, `query($q: String) { orders(first: 10, query: $q) { nodes { id name checkoutToken totalRefundedSet { shopMoney { amount } } } pageInfo { hasNextPage } } }`,
		map[string]any{"q": "updated_at:>=2026-11-24T00:00:00Z"})
	if dig(out, "data", "orders", "nodes", 0, "id") != "gid://shopify/Order/"+oid ||
		dig(out, "data", "orders", "nodes", 0, "totalRefundedSet", "shopMoney", "amount") != "50.00" {
		t.Fatalf("orders query: %v", out)
	}
	out = e.gql(tok, `{ orders(first: 10, query: "updated_at:>=2027-01-01") { nodes { id } } }`, nil)
	if n := dig(out, "data", "orders", "nodes").([]any); len(n) != 0 {
		t.Fatalf("filter: %v", out)
	}

	st, _ = e.do("POST", "/_dev/shops/"+testShop+"/uninstall", nil, nil)
	if st != 200 {
		t.Fatal(st)
	}
	st, _ = e.do("POST", "/store/"+testShop+"/admin/api/2026-07/graphql.json", map[string]any{"query": "{ shop { id } }"},
		map[string]string{"X-Shopify-Access-Token": tok})
	if st != 401 {
		t.Fatalf("token after uninstall: %d", st)
	}
	e.waitIdle()
	want := []string{"checkouts/create", "orders/create", "orders/paid", "refunds/create", "orders/updated",
		"refunds/create", "orders/updated", "orders/cancelled", "orders/updated", "app/uninstalled"}
	got := map[string]int{}
	for _, r := range e.recv.all() {
		got[r.header.Get("X-Shopify-Topic")]++
	}
	wantN := map[string]int{}
	for _, w := range want {
		wantN[w]++
	}
	for k, n := range wantN {
		if got[k] != n {
			t.Errorf("topic %s delivered %d times, want %d (all: %v)", k, got[k], n, got)
		}
	}
}

func TestDiscountLink(t *testing.T) {
	e := newEnv(t)
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Get(e.srv.URL + "/store/" + testShop + "/discount/ANA10?redirect=/products/tee")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 302 || resp.Header.Get("Location") != e.srv.URL+"/store/"+testShop+"/products/tee" {
		t.Fatalf("redirect %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	vid := resp.Header.Get("X-Devstore-Visitor-Id")
	v := e.store.Visits(testShop)
	if len(v) != 1 || v[0].Code != "ANA10" || v[0].VisitorID != vid {
		t.Fatalf("visits %+v", v)
	}
	// the visitor's code is applied to their order
	tok := e.token()
	e.createDiscount(tok, "ANA10", nil)
	o, err := e.store.CreateOrder(testShop, OrderInput{VisitorID: vid, LineItems: []LineItemInput{{Title: "Tee", Price: "10.00", Quantity: 1}}})
	if err != nil || o["total_discounts"] != "1.00" {
		t.Fatalf("order via link: %v %v", o, err)
	}
}

func TestGraphQLParser(t *testing.T) {
	q := `# comment
	query Q($first: Int = 5, $c: String!) {
	  x: codeDiscountNodeByCode(code: $c) @include(if: true) { ...F }
	  shop { name, plan { displayName } }
	}
	fragment F on DiscountCodeNode { id codeDiscount { ... on DiscountCodeBasic { title } ... on DiscountCodeBxgy { title summary } } }
	mutation M { discountCodeActivate(id: "gid://shopify/DiscountCodeNode/1") { userErrors { code } } }`
	op, err := parseGraphQL(q, "Q", map[string]any{"c": "ABC"})
	if err != nil {
		t.Fatal(err)
	}
	var fields []*gqlField
	collectRootFields(op.sel, op.fragments, &fields)
	if len(fields) != 2 || fields[0].key() != "x" || fields[0].name != "codeDiscountNodeByCode" || fields[0].args["code"] != "ABC" {
		t.Fatalf("fields %+v", fields)
	}
	obj := map[string]any{"__typename": "DiscountCodeNode", "id": "1", "codeDiscount": map[string]any{
		"__typename": "DiscountCodeBasic", "title": "T", "summary": "S"}}
	b, _ := json.Marshal(project(obj, fields[0].sel, op.fragments))
	if string(b) != `{"id":"1","codeDiscount":{"title":"T"}}` {
		t.Fatalf("projection %s", b)
	}
	op, err = parseGraphQL(q, "M", nil)
	if err != nil || op.kind != "mutation" {
		t.Fatalf("mutation: %v %+v", err, op)
	}
	op, err = parseGraphQL(`query($n: Int = 7, $m: [ID!]! = ["a"], $c: String!) { orders(first: $n, ids: $m, q: $c) { nodes { id } } }`, "", map[string]any{"c": "x"})
	if err != nil {
		t.Fatal(err)
	}
	collectRootFields(op.sel, op.fragments, &fields)
	if f := fields[len(fields)-1]; argInt(f.args, "first", 0) != 7 || fmt.Sprint(f.args["ids"]) != "[a]" || f.args["q"] != "x" {
		t.Fatalf("defaults: %+v", f.args)
	}
	if _, err := parseGraphQL(`{ shop { id }`, "", nil); err == nil {
		t.Fatal("unterminated document parsed")
	}
}

func FuzzParseGraphQL(f *testing.F) {
	f.Add(`{ shop { id } }`)
	f.Add(`mutation($a: [X!]!) { a: b(c: $a, d: {e: [1, 2.5, "s", ENUM, null]}) { ... on T { f } ...G } }`)
	f.Fuzz(func(t *testing.T, q string) {
		_, _ = parseGraphQL(q, "", map[string]any{"a": 1})
	})
}
