package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/coupontrail/coupontrail/app/config"
	"github.com/coupontrail/coupontrail/app/shopify"
	"github.com/coupontrail/coupontrail/app/store/storetest"
)

// testEnv is a running app on a throwaway database and its own Redis DB.
type testEnv struct {
	t   *testing.T
	a   *App
	srv *httptest.Server
	cfg *config.Config
}

type envOpt func(m map[string]string)

func testKey() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return "test:" + base64.StdEncoding.EncodeToString(b)
}

// newTestApp builds the app like `serve` does, on real PostgreSQL and Redis.
func newTestApp(t *testing.T, opts ...envOpt) *testEnv {
	t.Helper()
	env := map[string]string{
		"DATABASE_URL":   storetest.NewDatabase(t),
		"REDIS_URL":      storetest.RedisDB(t),
		"ENCRYPTION_KEY": testKey(),
		"LOG_LEVEL":      "error",
		"HTTP_ADDR":      "127.0.0.1:0",
	}
	for _, o := range opts {
		o(env)
	}
	cfg, err := config.Load(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewJSONHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	a, err := newApp(context.Background(), cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	a.startIntake()
	srv := httptest.NewServer(a.newEcho())
	t.Cleanup(func() {
		srv.Close()
		a.close()
	})
	return &testEnv{t: t, a: a, srv: srv, cfg: cfg}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(string(bytes.TrimSpace(p)))
	return len(p), nil
}

// sharedDir finds ../shared beside the repository.
func sharedDir(t testing.TB) string {
	t.Helper()
	if d := os.Getenv("COUPONTRAIL_SHARED"); d != "" {
		return d
	}
	_, file, _, _ := runtime.Caller(0)
	d := filepath.Join(filepath.Dir(file), "..", "..", "shared")
	if _, err := os.Stat(filepath.Join(d, "fixtures")); err != nil {
		t.Fatalf("shared fixtures not found at %s (set COUPONTRAIL_SHARED): %v", d, err)
	}
	return d
}

func readFixture(t testing.TB, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(sharedDir(t), "fixtures", "shopify", rel))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// webhook is a delivery as Shopify sends it.
type webhook struct {
	topic, shop, id string
	body            []byte
	secret          string
}

func (e *testEnv) deliver(w webhook) *http.Response {
	e.t.Helper()
	secret := w.secret
	if secret == "" {
		secret = e.cfg.ShopifyAPISecret
	}
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/webhooks", bytes.NewReader(w.body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Shopify-Topic", w.topic)
	req.Header.Set("X-Shopify-Shop-Domain", w.shop)
	req.Header.Set("X-Shopify-Webhook-Id", w.id)
	req.Header.Set("X-Shopify-API-Version", "2026-07")
	req.Header.Set("X-Shopify-Triggered-At", time.Now().UTC().Format(time.RFC3339Nano))
	req.Header.Set("X-Shopify-Hmac-Sha256", shopify.SignWebhook([]byte(secret), w.body))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	res.Body.Close()
	return res
}

func (e *testEnv) getJSON(path string, out any) int {
	e.t.Helper()
	res, err := http.Get(e.srv.URL + path)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	if out != nil {
		if err := json.NewDecoder(res.Body).Decode(out); err != nil {
			e.t.Fatalf("decode %s: %v", path, err)
		}
	}
	return res.StatusCode
}

// eventually polls cond until it holds or the timeout passes.
func eventually(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(25 * time.Millisecond)
	}
	t.Fatalf("timed out after %s waiting for %s", timeout, what)
}

func uniqueID(prefix string) string {
	return fmt.Sprintf("%s-%d", prefix, time.Now().UnixNano())
}

func httpGetString(url string) (string, error) {
	res, err := http.Get(url)
	if err != nil {
		return "", err
	}
	defer res.Body.Close()
	var b bytes.Buffer
	_, err = b.ReadFrom(res.Body)
	return b.String(), err
}

type bytesReader = bytes.Reader

func newJSONBody(v any) *bytes.Reader {
	if b, ok := v.([]byte); ok {
		return bytes.NewReader(b)
	}
	b, _ := json.Marshal(v)
	return bytes.NewReader(b)
}

func decodeJSON(res *http.Response, out any) error {
	return json.NewDecoder(res.Body).Decode(out)
}
