package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coupontrail/coupontrail/app/store"
	"github.com/coupontrail/coupontrail/app/store/storetest"
)

func (e *testEnv) installShop(domain string) *store.Shop {
	e.t.Helper()
	enc, err := e.a.keyring.Encrypt([]byte("shpat_test"))
	if err != nil {
		e.t.Fatal(err)
	}
	sh, err := e.a.store.InstallShop(context.Background(), domain, store.ShopTokens{AccessTokenEnc: enc, TokenKind: "offline", Scopes: "read_orders"}, time.Now().UTC())
	if err != nil {
		e.t.Fatal(err)
	}
	return sh
}

func (e *testEnv) deliveries(shop string) []store.Delivery {
	e.t.Helper()
	ds, err := e.a.store.ListDeliveries(context.Background(), store.DeliveryFilter{ShopDomain: shop, Limit: 500})
	if err != nil {
		e.t.Fatal(err)
	}
	return ds
}

func (e *testEnv) auditCount(action string) int {
	e.t.Helper()
	n, err := e.a.store.CountAudit(context.Background(), action)
	if err != nil {
		e.t.Fatal(err)
	}
	return n
}

func TestWebhookSameDeliveryThreeTimesProcessedOnce(t *testing.T) {
	e := newTestApp(t)
	shop := "three.myshopify.com"
	e.installShop(shop)
	stop, err := e.a.startWorker(false)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	body := []byte(`{"id":548380009,"name":"Super Toys","email":"super@supertoys.com","domain":"three.myshopify.com"}`)
	w := webhook{topic: "app/uninstalled", shop: shop, id: uniqueID("wh"), body: body}
	var wg sync.WaitGroup
	codes := make([]int, 3)
	for i := range 3 {
		wg.Add(1)
		go func() { defer wg.Done(); codes[i] = e.deliver(w).StatusCode }()
	}
	wg.Wait()
	for i, c := range codes {
		if c != 200 {
			t.Fatalf("delivery %d answered %d", i, c)
		}
	}
	eventually(t, 10*time.Second, "delivery processed", func() bool {
		ds := e.deliveries(shop)
		return len(ds) == 1 && ds[0].Status == store.DeliveryProcessed
	})
	time.Sleep(300 * time.Millisecond)
	if n := e.auditCount("shop.uninstalled"); n != 1 {
		t.Fatalf("uninstall ran %d times, want once", n)
	}
	sh, _ := e.a.store.ShopByDomain(context.Background(), shop)
	if sh.Installed() || sh.AccessTokenEnc != nil {
		t.Fatalf("shop still installed with token after app/uninstalled")
	}
}

func TestWebhookRejectsBadSignatureAndLargeBodies(t *testing.T) {
	e := newTestApp(t)
	shop := "sig.myshopify.com"
	body := readFixture(t, "go-shopify-v4.7.0/rest/order.json")
	if res := e.deliver(webhook{topic: "orders/create", shop: shop, id: "w-bad", body: body, secret: "not-the-secret"}); res.StatusCode != 401 {
		t.Fatalf("bad HMAC -> %d, want 401", res.StatusCode)
	}
	for _, topic := range []string{"customers/data_request", "customers/redact", "shop/redact"} {
		if res := e.deliver(webhook{topic: topic, shop: shop, id: "w-bad-" + topic, body: []byte(`{}`), secret: "wrong-secret"}); res.StatusCode != 401 {
			t.Fatalf("compliance %s with bad HMAC -> %d, want 401", topic, res.StatusCode)
		}
	}
	// no header at all
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/webhooks", bytes.NewReader(body))
	req.Header.Set("X-Shopify-Topic", "orders/create")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 401 {
		t.Fatalf("unsigned -> %d", res.StatusCode)
	}
	big := bytes.Repeat([]byte("x"), int(e.cfg.WebhookBodyLimit)+1)
	if res := e.deliver(webhook{topic: "orders/create", shop: shop, id: "w-big", body: big}); res.StatusCode != 413 {
		t.Fatalf("oversized -> %d, want 413", res.StatusCode)
	}
	if ds := e.deliveries(shop); len(ds) != 0 {
		t.Fatalf("rejected deliveries were recorded: %d", len(ds))
	}
	if res := e.deliver(webhook{topic: "orders/create", shop: shop, id: "w-good", body: body}); res.StatusCode != 200 {
		t.Fatalf("valid -> %d", res.StatusCode)
	}
	if ds := e.deliveries(shop); len(ds) != 1 || !bytes.Equal(ds[0].Payload, nil) && ds[0].WebhookID != "w-good" {
		t.Fatalf("valid delivery not recorded: %+v", ds)
	}
	got, err := e.a.store.DeliveryByID(context.Background(), e.deliveries(shop)[0].ID)
	if err != nil || !bytes.Equal(got.Payload, body) {
		t.Fatalf("payload not stored byte for byte: %v", err)
	}
}

func TestWebhookMalformedIsFailedNotRetried(t *testing.T) {
	e := newTestApp(t)
	shop := "bad.myshopify.com"
	e.installShop(shop)
	stop, err := e.a.startWorker(false)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	e.deliver(webhook{topic: "app/scopes_update", shop: shop, id: "w-malformed", body: []byte(`{"current": [`)})
	e.deliver(webhook{topic: "some/unknown_topic", shop: shop, id: "w-unknown", body: []byte(`{}`)})
	eventually(t, 10*time.Second, "malformed failed and unknown ignored", func() bool {
		st := map[string]store.Delivery{}
		for _, d := range e.deliveries(shop) {
			st[d.WebhookID] = d
		}
		return st["w-malformed"].Status == store.DeliveryFailed && strings.Contains(st["w-malformed"].Error, "malformed") &&
			st["w-unknown"].Status == store.DeliveryIgnored
	})
}

func TestWebhookRedisDownStillAcknowledgedAfterCommitThenProcessed(t *testing.T) {
	dsn := storetest.NewDatabase(t)
	redisURL := storetest.RedisDB(t)
	// Intake with Redis unreachable.
	down := newTestApp(t, func(m map[string]string) {
		m["DATABASE_URL"] = dsn
		m["REDIS_URL"] = fmt.Sprintf("redis://127.0.0.1:%d/0", freePort(t))
	})
	shop := "redisdown.myshopify.com"
	down.installShop(shop)
	const n = 20
	for i := range n {
		body := []byte(fmt.Sprintf(`{"current":["read_orders","write_discounts_%d"]}`, i))
		if res := down.deliver(webhook{topic: "app/scopes_update", shop: shop, id: fmt.Sprintf("rd-%d", i), body: body}); res.StatusCode != 200 {
			t.Fatalf("delivery %d with Redis down -> %d, want 200 after commit", i, res.StatusCode)
		}
	}
	ds := down.deliveries(shop)
	if len(ds) != n {
		t.Fatalf("recorded %d, want %d", len(ds), n)
	}
	for _, d := range ds {
		if d.Status != store.DeliveryReceived {
			t.Fatalf("delivery %s is %s before Redis is back", d.WebhookID, d.Status)
		}
	}
	// Redis is back: a worker plus the sweeper process each exactly once.
	up := newTestApp(t, func(m map[string]string) { m["DATABASE_URL"] = dsn; m["REDIS_URL"] = redisURL })
	stop, err := up.a.startWorker(false)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	if _, err := up.a.jobs.SweepDeliveries(context.Background(), 0); err != nil {
		t.Fatal(err)
	}
	if _, err := up.a.jobs.SweepDeliveries(context.Background(), 0); err != nil { // a second sweep is harmless
		t.Fatal(err)
	}
	eventually(t, 15*time.Second, "all processed", func() bool {
		for _, d := range up.deliveries(shop) {
			if d.Status != store.DeliveryProcessed {
				return false
			}
		}
		return true
	})
	for _, d := range up.deliveries(shop) {
		if d.Attempts != 0 {
			t.Errorf("delivery %s took %d failed attempts", d.WebhookID, d.Attempts)
		}
	}
}

func TestWebhookPostgresDownAnswers5xx(t *testing.T) {
	dsn := storetest.NewDatabase(t)
	e := newTestApp(t, func(m map[string]string) { m["DATABASE_URL"] = dsn })
	// Take the database away under the running app.
	admin, _ := store.WithDatabase(dsn, "postgres")
	if err := store.DropDatabase(context.Background(), admin, store.DatabaseName(dsn)); err != nil {
		t.Fatal(err)
	}
	res := e.deliver(webhook{topic: "orders/create", shop: "pgdown.myshopify.com", id: "pg-1", body: []byte(`{"id":1}`)})
	if res.StatusCode < 500 {
		t.Fatalf("Postgres down -> %d, want 5xx so Shopify retries", res.StatusCode)
	}
	var body map[string]any
	if code := e.getJSON("/readyz", &body); code != 503 || !strings.Contains(fmt.Sprint(body["failing"]), "postgres") {
		t.Fatalf("readyz = %d %v", code, body)
	}
}
