package config

import (
	"errors"
	"runtime"
	"strings"
	"testing"

	"github.com/coupontrail/coupontrail/app/shopify"
)

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestLoadDefaultsNeedEncryptionKey(t *testing.T) {
	_, err := Load(env(nil))
	var ce *Error
	if !errors.As(err, &ce) || ce.Var != "ENCRYPTION_KEY" {
		t.Fatalf("err = %v, want ENCRYPTION_KEY problem", err)
	}
	c, err := Load(env(map[string]string{"ENCRYPTION_KEY": "k:abc"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.ShopifyAPIVersion != "2026-07" || shopify.AdminBase(c.AdminURLTemplate, "a.myshopify.com") != "https://a.myshopify.com" {
		t.Fatalf("defaults: %+v", c)
	}
}

// TestWorkerConcurrency: unset, a worker runs 6 jobs per CPU (at least 8);
// set, the value.
func TestWorkerConcurrency(t *testing.T) {
	for cpus, want := range map[int]int{1: 8, 2: 12, 8: 48} {
		if got := DefaultWorkerConcurrency(cpus); got != want {
			t.Errorf("%d CPUs: %d handlers, want %d", cpus, got, want)
		}
	}
	c, err := Load(env(map[string]string{"ENCRYPTION_KEY": "k:abc"}))
	if err != nil || c.WorkerConcurrency != DefaultWorkerConcurrency(runtime.GOMAXPROCS(0)) {
		t.Fatalf("unset: %d %v", c.WorkerConcurrency, err)
	}
	c, err = Load(env(map[string]string{"ENCRYPTION_KEY": "k:abc", "WORKER_CONCURRENCY": "5"}))
	if err != nil || c.WorkerConcurrency != 5 {
		t.Fatalf("5: %d %v", c.WorkerConcurrency, err)
	}
}

func TestLoadNamesTheBadVariable(t *testing.T) {
	base := map[string]string{"ENCRYPTION_KEY": "k:abc"}
	cases := []struct{ name, val string }{
		{"DATABASE_URL", "nonsense"},
		{"DATABASE_URL", "mysql://x/y"},
		{"REDIS_URL", "localhost:6379"},
		{"HTTP_ADDR", "8080"},
		{"APP_URL", "ftp://x"},
		{"SHOPIFY_API_SECRET", "short"},
		{"SHOPIFY_SCOPES", "read orders"},
		{"SHOPIFY_API_VERSION", "latest"},
		{"SHOPIFY_ADMIN_URL_TEMPLATE", "https://example.com"},
		{"LOG_LEVEL", "loud"},
		{"DB_MAX_OPEN_CONNS", "-1"},
		{"SHUTDOWN_TIMEOUT", "soon"},
		{"WEBHOOK_BODY_LIMIT", "lots"},
		{"WORKER_CONCURRENCY", "0"},
		{"DB_MAX_IDLE_CONNS", "20"}, // equal to DB_MAX_OPEN_CONNS (20): would starve the bulk paths
	}
	for _, tc := range cases {
		t.Run(tc.name+"="+tc.val, func(t *testing.T) {
			m := map[string]string{tc.name: tc.val}
			for k, v := range base {
				m[k] = v
			}
			_, err := Load(env(m))
			var ce *Error
			if !errors.As(err, &ce) || ce.Var != tc.name {
				t.Fatalf("err = %v, want a problem with %s", err, tc.name)
			}
			if strings.Contains(err.Error(), "supersecret") {
				t.Fatal("secret leaked")
			}
		})
	}
}

func TestSecretNeverInError(t *testing.T) {
	_, err := Load(env(map[string]string{"ENCRYPTION_KEY": "x", "SHOPIFY_API_SECRET": "sec"}))
	if err == nil || strings.Contains(err.Error(), "sec\"") || strings.Contains(err.Error(), ": sec") {
		t.Fatalf("err = %v", err)
	}
}
