package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/coupontrail/coupontrail/app/devstore"
)

// stack is the app wired to an in-process dev store, as in `make run`.
type stack struct {
	*testEnv
	dev    *devstore.Store
	devURL string
}

// newStack starts a dev store and an app that reaches it through
// SHOPIFY_ADMIN_URL_TEMPLATE; the dev store delivers webhooks to the app.
func newStack(t *testing.T, opts ...envOpt) *stack {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	devURL := "http://" + ln.Addr().String()
	opts = append([]envOpt{func(m map[string]string) {
		m["SHOPIFY_ADMIN_URL_TEMPLATE"] = devURL + "/store/{shop}"
	}}, opts...)
	e := newTestApp(t, opts...)
	e.a.cfg.AppURL = e.srv.URL
	dev := devstore.New(devstore.Config{
		APIKey: e.cfg.ShopifyAPIKey, APISecret: e.cfg.ShopifyAPISecret, AppURL: e.srv.URL, BaseURL: devURL,
		Logger: slog.New(slog.DiscardHandler), RetryScale: 1e-4, BulkDelay: 1,
	})
	ds := httptest.NewUnstartedServer(dev)
	ds.Listener.Close()
	ds.Listener = ln
	ds.Start()
	t.Cleanup(func() { ds.Close(); dev.Close() })
	return &stack{testEnv: e, dev: dev, devURL: devURL}
}

// sessionToken mints an App Bridge session token at the dev store.
func (s *stack) sessionToken(shop string) string {
	s.t.Helper()
	tok, err := s.dev.MintSessionToken(shop, "42")
	if err != nil {
		s.t.Fatal(err)
	}
	return tok
}

func (s *stack) createShop(shop string) {
	s.t.Helper()
	if err := s.dev.CreateShop(shop, "standard"); err != nil {
		s.t.Fatal(err)
	}
}

// api calls /api/v1 with a bearer credential and decodes the JSON answer.
func (e *testEnv) api(method, path, bearer string, body any, out any) int {
	e.t.Helper()
	code, err := e.apiErr(method, path, bearer, body, out)
	if err != nil {
		e.t.Fatal(err)
	}
	return code
}

func (e *testEnv) apiErr(method, path, bearer string, body any, out any) (int, error) {
	var rd *bytesReader
	if body != nil {
		rd = newJSONBody(body)
	}
	var req *http.Request
	if rd != nil {
		req, _ = http.NewRequestWithContext(context.Background(), method, e.srv.URL+path, rd)
		req.Header.Set("Content-Type", "application/json")
	} else {
		req, _ = http.NewRequestWithContext(context.Background(), method, e.srv.URL+path, nil)
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	if out != nil && res.StatusCode != http.StatusNoContent {
		if err := decodeJSON(res, out); err != nil {
			return res.StatusCode, fmt.Errorf("%s %s: %w", method, path, err)
		}
	}
	return res.StatusCode, nil
}

// rawCall sends body as JSON and returns the status and the raw answer.
func (e *testEnv) rawCall(method, path, bearer, body string) (int, string) {
	e.t.Helper()
	req, _ := http.NewRequestWithContext(context.Background(), method, e.srv.URL+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+bearer)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}
