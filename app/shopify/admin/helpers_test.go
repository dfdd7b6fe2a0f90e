package admin

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

const fixturesRoot = "../../../../shared/fixtures/shopify"

// fixture reads a fixture file and returns the JSON found at path (keys).
func fixture(t testing.TB, rel string, path ...string) json.RawMessage {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fixturesRoot, rel))
	if err != nil {
		t.Fatalf("read fixture %s: %v", rel, err)
	}
	raw := json.RawMessage(b)
	for _, p := range path {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatalf("fixture %s: %v", rel, err)
		}
		r, ok := m[p]
		if !ok {
			t.Fatalf("fixture %s: no key %q", rel, p)
		}
		raw = r
	}
	return raw
}

// reply is one canned response.
type reply struct {
	status  int
	header  map[string]string
	body    string
	handler func(w http.ResponseWriter, r *http.Request)
}

type seenRequest struct {
	Path, Token string
	Query       string
	Variables   map[string]any
}

// fakeShopify serves canned replies in order (the last one repeats) and
// records every request.
type fakeShopify struct {
	t       testing.TB
	srv     *httptest.Server
	mu      sync.Mutex
	replies []reply
	seen    []seenRequest
}

func newFakeShopify(t testing.TB, replies ...reply) *fakeShopify {
	f := &fakeShopify{t: t, replies: replies}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeShopify) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var req struct {
		Query     string         `json:"query"`
		Variables map[string]any `json:"variables"`
	}
	_ = json.Unmarshal(body, &req)
	f.mu.Lock()
	f.seen = append(f.seen, seenRequest{Path: r.URL.Path, Token: r.Header.Get("X-Shopify-Access-Token"), Query: req.Query, Variables: req.Variables})
	rp := f.replies[0]
	if len(f.replies) > 1 {
		f.replies = f.replies[1:]
	}
	f.mu.Unlock()
	if rp.handler != nil {
		rp.handler(w, r)
		return
	}
	for k, v := range rp.header {
		w.Header().Set(k, v)
	}
	w.Header().Set("Content-Type", "application/json")
	if rp.status == 0 {
		rp.status = 200
	}
	w.WriteHeader(rp.status)
	_, _ = io.WriteString(w, rp.body)
}

func (f *fakeShopify) requests() []seenRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]seenRequest(nil), f.seen...)
}

// recordingMetrics counts events.
type recordingMetrics struct {
	mu                sync.Mutex
	requested, actual int
	throttles         int
	retries           map[string]int
	limiterWaits      int
}

func (m *recordingMetrics) Cost(_ string, r, a int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.requested += r
	if a > 0 {
		m.actual += a
	}
}
func (m *recordingMetrics) Throttled(string) { m.mu.Lock(); m.throttles++; m.mu.Unlock() }
func (m *recordingMetrics) Retry(_, reason string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.retries == nil {
		m.retries = map[string]int{}
	}
	m.retries[reason]++
}
func (m *recordingMetrics) LimiterWait(string, time.Duration) {
	m.mu.Lock()
	m.limiterWaits++
	m.mu.Unlock()
}

// newTestClient builds a client against f with recorded, instant sleeps.
func newTestClient(t testing.TB, f *fakeShopify, lim Limiter, m Metrics) (*Client, *[]time.Duration) {
	t.Helper()
	if lim == nil {
		lim = NewMemoryLimiter()
	}
	c, err := New("acme.myshopify.com", "shpat_test", Options{
		BaseURL:     func(shop string) string { return f.srv.URL + "/store/" + shop },
		Limiter:     lim,
		Metrics:     m,
		BaseBackoff: 100 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	sleeps := &[]time.Duration{}
	c.sleep = func(ctx context.Context, d time.Duration) error {
		mu.Lock()
		*sleeps = append(*sleeps, d)
		mu.Unlock()
		return ctx.Err()
	}
	return c, sleeps
}

func okBody(data string) string {
	return `{"data":` + data + `,"extensions":{"cost":{"requestedQueryCost":10,"actualQueryCost":10,"throttleStatus":{"maximumAvailable":2000.0,"currentlyAvailable":1990,"restoreRate":100.0}}}}`
}

func mustContain(t testing.TB, s, sub string) {
	t.Helper()
	if !strings.Contains(s, sub) {
		t.Fatalf("%q does not contain %q", s, sub)
	}
}
