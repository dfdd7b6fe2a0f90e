package admin

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

func TestNewValidates(t *testing.T) {
	t.Parallel()
	base := func(s string) string { return "https://" + s }
	for name, tc := range map[string]struct {
		shop, token string
		opts        Options
	}{
		"empty shop":   {"", "t", Options{BaseURL: base}},
		"path in shop": {"evil.com/x.myshopify.com", "t", Options{BaseURL: base}},
		"no token":     {"a.myshopify.com", "", Options{BaseURL: base}},
		"no base":      {"a.myshopify.com", "t", Options{}},
		"bad version":  {"a.myshopify.com", "t", Options{BaseURL: base, APIVersion: "2026-7"}},
		"bad scheme":   {"a.myshopify.com", "t", Options{BaseURL: func(s string) string { return "ftp://" + s }}},
	} {
		if _, err := New(tc.shop, tc.token, tc.opts); err == nil {
			t.Errorf("%s: want error", name)
		}
	}
	c, err := New("a.myshopify.com", "t", Options{BaseURL: func(s string) string { return "http://127.0.0.1:8081/store/" + s + "/" }})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := c.Endpoint(), "http://127.0.0.1:8081/store/a.myshopify.com/admin/api/2026-07/graphql.json"; got != want {
		t.Fatalf("endpoint %s, want %s", got, want)
	}
}

func TestShopQuery(t *testing.T) {
	t.Parallel()
	f := newFakeShopify(t, reply{body: okBody(`{"shop":{"name":"Acme","currencyCode":"JPY","ianaTimezone":"Asia/Tokyo","myshopifyDomain":"acme.myshopify.com","plan":{"publicDisplayName":"Grow","partnerDevelopment":false,"shopifyPlus":false}}}`)})
	lim := NewMemoryLimiter()
	m := &recordingMetrics{}
	c, _ := newTestClient(t, f, lim, m)
	s, err := c.Shop(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if s.CurrencyCode != "JPY" || s.IANATimezone != "Asia/Tokyo" || s.Plan.PublicDisplayName != "Grow" {
		t.Fatalf("shop = %+v", s)
	}
	req := f.requests()[0]
	if req.Path != "/store/acme.myshopify.com/admin/api/2026-07/graphql.json" || req.Token != "shpat_test" {
		t.Fatalf("request = %+v", req)
	}
	// The limiter took Shopify's throttleStatus.
	if av := lim.Available("acme.myshopify.com"); av < 1990 || av > 2000 {
		t.Fatalf("limiter available = %v, want ≈1990", av)
	}
	if m.requested != 10 || m.actual != 10 {
		t.Fatalf("metrics = %+v", m)
	}
}

// TestThrottledFixtureRetries replays go-shopify's THROTTLED response: the
// client waits ceil((400−300)/50) = 2 s (plus jitter) and retries.
func TestThrottledFixtureRetries(t *testing.T) {
	t.Parallel()
	throttled := fixture(t, "go-shopify-v4.7.0/graphql/throttled_response.json", "response_body")
	f := newFakeShopify(t,
		reply{body: string(throttled)},
		reply{body: okBody(`{"shop":{"name":"Acme"}}`)},
	)
	m := &recordingMetrics{}
	c, sleeps := newTestClient(t, f, nil, m)
	if _, err := c.Shop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(f.requests()) != 2 || len(*sleeps) != 1 {
		t.Fatalf("requests %d sleeps %v", len(f.requests()), *sleeps)
	}
	if d := (*sleeps)[0]; d < 2*time.Second || d > 2*time.Second+250*time.Millisecond {
		t.Fatalf("slept %s, want 2s + jitter", d)
	}
	if m.throttles != 1 || m.retries["throttled"] != 1 {
		t.Fatalf("metrics %+v", m)
	}
}

func TestThrottledExhausted(t *testing.T) {
	t.Parallel()
	throttled := fixture(t, "go-shopify-v4.7.0/graphql/throttled_response.json", "response_body")
	f := newFakeShopify(t, reply{body: string(throttled)})
	c, sleeps := newTestClient(t, f, nil, nil)
	_, err := c.Shop(context.Background())
	var te *ThrottledError
	if !errors.As(err, &te) || te.RetryAfter != 2*time.Second {
		t.Fatalf("err = %v", err)
	}
	var ge *GraphQLError
	if !errors.As(err, &ge) || !ge.Has("THROTTLED") {
		t.Fatalf("want wrapped THROTTLED GraphQLError, got %v", err)
	}
	if n := len(f.requests()); n != 5 || len(*sleeps) != 4 {
		t.Fatalf("requests %d sleeps %d", n, len(*sleeps))
	}
}

// TestRetryAfterVectors checks the wait rule against go-shopify's vectors.
func TestRetryAfterVectors(t *testing.T) {
	t.Parallel()
	var v struct {
		Cases []struct {
			Cost
			Expected float64 `json:"expected_retry_after_seconds"`
		} `json:"cases"`
	}
	if err := json.Unmarshal(fixture(t, "go-shopify-v4.7.0/vectors/graphql_retry_after_cases.json"), &v); err != nil {
		t.Fatal(err)
	}
	if len(v.Cases) == 0 {
		t.Fatal("no cases")
	}
	for i, c := range v.Cases {
		if got := c.RetryAfterSeconds(); math.Abs(got-c.Expected) > 1e-9 {
			t.Errorf("case %d: got %v, want %v", i, got, c.Expected)
		}
	}
}

func TestRetry5xxAndRetryAfterHeader(t *testing.T) {
	t.Parallel()
	f := newFakeShopify(t,
		reply{status: 502, body: "bad gateway"},
		reply{status: 503, header: map[string]string{"Retry-After": "3"}, body: "unavailable"},
		reply{status: 429, header: map[string]string{"Retry-After": "1.5"}, body: `{"errors":"Exceeded"}`},
		reply{body: okBody(`{"shop":{"name":"Acme"}}`)},
	)
	m := &recordingMetrics{}
	c, sleeps := newTestClient(t, f, nil, m)
	if _, err := c.Shop(context.Background()); err != nil {
		t.Fatal(err)
	}
	s := *sleeps
	if len(s) != 3 {
		t.Fatalf("sleeps %v", s)
	}
	within := func(d, want time.Duration) bool { return d >= want && d <= want+250*time.Millisecond }
	if !within(s[0], 100*time.Millisecond) || !within(s[1], 3*time.Second) || !within(s[2], 1500*time.Millisecond) {
		t.Fatalf("sleeps %v: want backoff 100ms, Retry-After 3s, Retry-After 1.5s", s)
	}
	if m.retries["http_5xx"] != 2 || m.retries["http_429"] != 1 || m.throttles != 1 {
		t.Fatalf("metrics %+v", m.retries)
	}
}

func TestNonRetryableHTTP(t *testing.T) {
	t.Parallel()
	f := newFakeShopify(t, reply{status: 401, body: `{"errors":"[API] Invalid API key or access token"}`})
	c, sleeps := newTestClient(t, f, nil, nil)
	_, err := c.Shop(context.Background())
	var he *HTTPError
	if !errors.As(err, &he) || he.StatusCode != 401 || len(*sleeps) != 0 || len(f.requests()) != 1 {
		t.Fatalf("err = %v, sleeps %v", err, *sleeps)
	}
	if strings.Contains(err.Error(), "shpat_test") {
		t.Fatal("token leaked into error")
	}
}

// TestBackoffHonoursCancel uses the real sleeper: a THROTTLED reply asking
// for a 1000 s wait must end as soon as ctx is cancelled.
func TestBackoffHonoursCancel(t *testing.T) {
	t.Parallel()
	body := `{"errors":[{"message":"Throttled","extensions":{"code":"THROTTLED"}}],"extensions":{"cost":{"requestedQueryCost":1000,"actualQueryCost":null,"throttleStatus":{"maximumAvailable":1000.0,"currentlyAvailable":0,"restoreRate":1.0}}}}`
	f := newFakeShopify(t, reply{body: body})
	c, _ := newTestClient(t, f, NewMemoryLimiter(), nil)
	c.sleep = sleepCtx
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	start := time.Now()
	err := c.Do(ctx, `query Q { shop { name } }`, nil, nil)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if el := time.Since(start); el > 2*time.Second {
		t.Fatalf("took %s after cancel", el)
	}
}

// TestDeadlineShorterThanWait fails at once with a reschedulable
// *ThrottledError instead of sleeping into the deadline.
func TestDeadlineShorterThanWait(t *testing.T) {
	t.Parallel()
	body := `{"errors":[{"message":"Throttled","extensions":{"code":"THROTTLED"}}],"extensions":{"cost":{"requestedQueryCost":500,"actualQueryCost":null,"throttleStatus":{"maximumAvailable":1000.0,"currentlyAvailable":0,"restoreRate":50.0}}}}`
	f := newFakeShopify(t, reply{body: body})
	c, _ := newTestClient(t, f, nil, nil)
	c.sleep = sleepCtx
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	start := time.Now()
	err := c.Do(ctx, `query Q { shop { name } }`, nil, nil)
	var te *ThrottledError
	if !errors.As(err, &te) || te.RetryAfter != 10*time.Second || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v", err)
	}
	if time.Since(start) > time.Second {
		t.Fatal("waited instead of failing fast")
	}
}

func TestLimiterWaitHonoursCancel(t *testing.T) {
	t.Parallel()
	lim := NewMemoryLimiter()
	lim.Update(context.Background(), "s", ThrottleStatus{MaximumAvailable: 100, CurrentlyAvailable: 0, RestoreRate: 1})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	// A 5 s wait against a 50 ms deadline fails immediately.
	if err := lim.Wait(ctx, "s", 5); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v", err)
	}
	// The reservation was refunded.
	if av := lim.Available("s"); av < 0 || av > 1 {
		t.Fatalf("available %v after refund, want ≈0", av)
	}
}

func TestGraphQLErrorFixtures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file string
		path []string
		code string
	}{
		{"shopify-draft-proxy/graphql/discountRedeemCodeBulkAdd_top_level_error_251_codes.json", []string{"response"}, "MAX_INPUT_SIZE_EXCEEDED"},
		{"shopify-draft-proxy/graphql/discountCodeBasicCreate_top_level_error_missingInput.json", []string{"response"}, "INVALID_VARIABLE"},
		{"shopify-app-js/graphql/admin_graphql_error_with_cost.json", []string{"response"}, ""},
	}
	for _, tt := range tests {
		f := newFakeShopify(t, reply{body: string(fixture(t, tt.file, tt.path...))})
		c, sleeps := newTestClient(t, f, nil, nil)
		err := c.Do(context.Background(), `mutation M { x }`, nil, nil)
		var ge *GraphQLError
		if !errors.As(err, &ge) {
			t.Fatalf("%s: err = %v, want *GraphQLError", tt.file, err)
		}
		if ErrorCode(err) != tt.code || len(*sleeps) != 0 {
			t.Errorf("%s: code %q want %q (sleeps %v)", tt.file, ErrorCode(err), tt.code, *sleeps)
		}
	}
}

func TestConcurrentUse(t *testing.T) {
	t.Parallel()
	f := newFakeShopify(t, reply{body: okBody(`{"shop":{"name":"Acme"}}`)})
	c, _ := newTestClient(t, f, nil, nil)
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := c.Shop(context.Background()); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
}

func TestPrometheusMetrics(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	pm, err := NewPrometheusMetrics(reg, "coupontrail")
	if err != nil {
		t.Fatal(err)
	}
	throttled := fixture(t, "go-shopify-v4.7.0/graphql/throttled_response.json", "response_body")
	f := newFakeShopify(t, reply{body: string(throttled)}, reply{body: okBody(`{"shop":{"name":"Acme"}}`)})
	c, _ := newTestClient(t, f, nil, pm)
	if _, err := c.Shop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := gathered(t, reg, "coupontrail_shopify_graphql_throttles_total", "operation", "Shop"); got != 1 {
		t.Errorf("throttles = %v", got)
	}
	if got := gathered(t, reg, "coupontrail_shopify_graphql_retries_total", "reason", "throttled"); got != 1 {
		t.Errorf("retries = %v", got)
	}
	if got := gathered(t, reg, "coupontrail_shopify_graphql_cost_points_total", "kind", "actual"); got != 10 {
		t.Errorf("actual cost = %v", got)
	}
	if _, err := NewPrometheusMetrics(reg, "coupontrail"); err == nil {
		t.Error("double registration should fail")
	}
}

func TestEstimateCostAndParseRetryAfter(t *testing.T) {
	t.Parallel()
	if got := EstimateCost(`query { shop { name } }`); got != 1 {
		t.Errorf("scalar query = %d", got)
	}
	if got := EstimateCost("# c\nmutation M { a { b } }"); got != 10 {
		t.Errorf("mutation = %d", got)
	}
	if got := EstimateCost(`query { orders(first: 50) { nodes { id lineItems(first: 10) { nodes { id } } } } }`); got != 1+52+50*12 {
		t.Errorf("connections = %d", got)
	}
	if got := EstimateCost(`query { a(first: 250) { b(first: 250) { c(first: 250) { id } } } }`); got != 1000 {
		t.Errorf("clamp = %d", got)
	}
	now := time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Duration{
		"": 0, "2": 2 * time.Second, "0.5": 500 * time.Millisecond, "-1": 0, "soon": 0,
		now.Add(4 * time.Second).Format(http.TimeFormat): 4 * time.Second,
	} {
		if got := parseRetryAfter(in, now); got != want {
			t.Errorf("parseRetryAfter(%q) = %s, want %s", in, got, want)
		}
	}
}

// gathered returns the counter value of the series of name whose label has
// value.
func gathered(t *testing.T, reg *prometheus.Registry, name, label, value string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if lp.GetName() == label && lp.GetValue() == value {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	t.Fatalf("metric %s{%s=%q} not found", name, label, value)
	return 0
}

func TestMutationNotRetriedOn5xx(t *testing.T) {
	t.Parallel()
	f := newFakeShopify(t, reply{status: 502, body: "bad gateway"}, reply{body: okBody(`{}`)})
	c, sleeps := newTestClient(t, f, nil, nil)
	_, err := c.DiscountCodeBasicCreate(context.Background(), validInput())
	var he *HTTPError
	if !errors.Is(err, ErrOutcomeUnknown) || !errors.As(err, &he) || he.StatusCode != 502 {
		t.Fatalf("err = %v", err)
	}
	if len(f.requests()) != 1 || len(*sleeps) != 0 {
		t.Fatal("mutation was retried after 5xx")
	}
}

func TestThrottled429WithGraphQLBody(t *testing.T) {
	t.Parallel()
	throttled := fixture(t, "go-shopify-v4.7.0/graphql/throttled_response.json", "response_body")
	f := newFakeShopify(t, reply{status: 429, body: string(throttled)}, reply{body: okBody(`{"shop":{"name":"Acme"}}`)})
	c, sleeps := newTestClient(t, f, nil, nil)
	if _, err := c.Shop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(*sleeps) != 1 || (*sleeps)[0] < 2*time.Second {
		t.Fatalf("sleeps %v, want ≥2s from the cost", *sleeps)
	}
}
