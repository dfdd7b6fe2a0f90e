package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/coupontrail/coupontrail/app/shopify"
	"github.com/coupontrail/coupontrail/app/store"
)

// TestGracefulShutdownUnderLoad sends webhooks from 20 clients while the
// process is told to stop: every request that reached the server is
// answered, every 200 has its committed row, and later connections are
// refused rather than cut off.
func TestGracefulShutdownUnderLoad(t *testing.T) {
	port := freePort(t)
	e := newTestApp(t, func(m map[string]string) { m["HTTP_ADDR"] = fmt.Sprintf("127.0.0.1:%d", port) })
	shop := "shutdown.myshopify.com"
	e.installShop(shop)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.a.runProcesses(ctx, true, true) }()
	url := fmt.Sprintf("http://127.0.0.1:%d/webhooks", port)
	eventually(t, 5*time.Second, "server up", func() bool {
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err == nil {
			c.Close()
		}
		return err == nil
	})

	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 10 * time.Second}
	var mu sync.Mutex
	var okIDs []string
	var refused, other, unavailable atomic.Int64
	var otherErr atomic.Value
	var seq atomic.Int64
	var clientsStop atomic.Bool
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !clientsStop.Load() {
				id := fmt.Sprintf("sd-%d", seq.Add(1))
				body := []byte(fmt.Sprintf(`{"current":["read_orders"],"n":"%s"}`, id))
				req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
				req.Header.Set("X-Shopify-Topic", "app/scopes_update")
				req.Header.Set("X-Shopify-Shop-Domain", shop)
				req.Header.Set("X-Shopify-Webhook-Id", id)
				req.Header.Set("X-Shopify-Hmac-Sha256", shopify.SignWebhook([]byte(e.cfg.ShopifyAPISecret), body))
				res, err := client.Do(req)
				if err != nil {
					// Refused, or reset while still in the kernel's accept
					// backlog when the listener closed: never reached the
					// server, and Shopify retries it. The server-side count
					// below proves no accepted request went unanswered.
					var op *net.OpError
					if errors.As(err, &op) || errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET) {
						refused.Add(1)
						time.Sleep(10 * time.Millisecond)
						continue
					}
					other.Add(1)
					otherErr.Store(err)
					continue
				}
				res.Body.Close()
				switch res.StatusCode {
				case 200:
					mu.Lock()
					okIDs = append(okIDs, id)
					mu.Unlock()
				case 503:
					// Answered, not acknowledged (the commit timed out on an
					// overloaded machine): Shopify retries it. Not a cut-off.
					unavailable.Add(1)
				default:
					other.Add(1)
					otherErr.Store(fmt.Errorf("status %d", res.StatusCode))
				}
			}
		}()
	}
	time.Sleep(1200 * time.Millisecond)
	cancel() // SIGTERM
	if err := <-done; err != nil {
		t.Fatalf("runProcesses: %v", err)
	}
	time.Sleep(300 * time.Millisecond) // clients keep trying after the stop
	clientsStop.Store(true)
	wg.Wait()
	if other.Load() != 0 {
		t.Fatalf("%d requests were cut off or failed (last: %v)", other.Load(), otherErr.Load())
	}
	if len(okIDs) == 0 || refused.Load() == 0 {
		t.Fatalf("test did not exercise shutdown: ok=%d refused=%d", len(okIDs), refused.Load())
	}
	// Every request the server accepted was answered 200 to its client.
	served := 0.0
	mfs, _ := e.a.metrics.Registry.Gather()
	for _, mf := range mfs {
		if mf.GetName() != "coupontrail_http_requests_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			lab := map[string]string{}
			for _, l := range m.GetLabel() {
				lab[l.GetName()] = l.GetValue()
			}
			if lab["route"] == "/webhooks" {
				if lab["status"] != "200" && lab["status"] != "503" {
					t.Fatalf("server answered %s to %v requests", lab["status"], m.GetCounter().GetValue())
				}
				served += m.GetCounter().GetValue()
			}
		}
	}
	if int(served) != len(okIDs)+int(unavailable.Load()) {
		t.Fatalf("server answered %v requests but clients received %d answers: some were cut off", served, len(okIDs)+int(unavailable.Load()))
	}
	n, err := e.a.store.CountDeliveriesByWebhookIDs(context.Background(), okIDs)
	if err != nil {
		t.Fatal(err)
	}
	if n != int64(len(okIDs)) {
		t.Fatalf("%d of %d acknowledged deliveries have no row", int64(len(okIDs))-n, len(okIDs))
	}
	// Nothing is lost: each row is processed, or still pending for the sweeper.
	for _, d := range e.deliveries(shop) {
		if d.Status != store.DeliveryProcessed && d.Status != store.DeliveryReceived {
			t.Fatalf("delivery %s ended %s (%s)", d.WebhookID, d.Status, d.Error)
		}
	}
	t.Logf("acknowledged %d, refused after shutdown %d", len(okIDs), refused.Load())
}
