package main

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/coupontrail/coupontrail/app/devstore"
	"github.com/coupontrail/coupontrail/app/store"
)

// TestDevStoreFaultyDeliveriesProcessedOnce: the dev store delivers orders
// and refunds with duplicates, reordering, delays and dropped attempts
// (retried on Shopify's compressed schedule); the app ends with every order
// and refund recorded once and every delivery processed exactly once.
func TestDevStoreFaultyDeliveriesProcessedOnce(t *testing.T) {
	s := newStack(t)
	shop := "faulty.myshopify.com"
	s.createShop(shop)
	if code := s.api("GET", "/api/v1/shop", s.sessionToken(shop), nil, nil); code != 200 {
		t.Fatalf("install: %d", code)
	}
	sh := mustShop(t, s.testEnv, shop)
	stop, err := s.a.startWorker(false)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	s.dev.SetFaults(devstore.Faults{DuplicateRate: 0.5, Reorder: true, DelayMS: 20, FailureRate: 0.3})

	const n = 25
	var ids []int64
	for i := range n {
		o, err := s.dev.CreateOrder(shop, devstore.OrderInput{
			Email: fmt.Sprintf("buyer%d@example.com", i), Currency: "USD",
			LineItems: []devstore.LineItemInput{{Title: "Tee", Price: "30.00", Quantity: 2}},
		})
		if err != nil {
			t.Fatal(err)
		}
		id, _ := o["id"].(int64)
		if id == 0 {
			if f, ok := o["id"].(float64); ok {
				id = int64(f)
			}
		}
		ids = append(ids, id)
		if i%5 == 0 {
			if _, err := s.dev.CreateRefund(shop, id, devstore.RefundInput{Amount: "15.00"}); err != nil {
				t.Fatal(err)
			}
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := s.dev.WaitIdle(ctx); err != nil {
		t.Fatalf("dev store did not finish delivering: %v", err)
	}
	eventually(t, 30*time.Second, "every delivery processed", func() bool {
		for _, d := range s.deliveries(shop) {
			if d.Status == store.DeliveryReceived {
				_, _ = s.a.jobs.SweepDeliveries(context.Background(), 0)
				return false
			}
		}
		return true
	})
	dup := 0
	for _, r := range s.dev.Deliveries() {
		_ = r
		dup++
	}
	seen := map[string]int{}
	for _, d := range s.deliveries(shop) {
		seen[d.WebhookID]++
		if d.Status != store.DeliveryProcessed {
			t.Errorf("delivery %s (%s) ended %s: %s", d.WebhookID, d.Topic, d.Status, d.Error)
		}
	}
	for id, c := range seen {
		if c != 1 {
			t.Errorf("webhook %s recorded %d times", id, c)
		}
	}
	for i, id := range ids {
		o, err := s.a.store.OrderByID(context.Background(), sh.ID, id)
		if err != nil {
			t.Fatalf("order %d missing: %v", id, err)
		}
		wantRefund := int64(0)
		if i%5 == 0 {
			wantRefund = 1500
		}
		if o.TotalMinor != 6000 || o.RefundedMinor != wantRefund {
			t.Errorf("order %d: total %d refunded %d, want 6000 and %d", id, o.TotalMinor, o.RefundedMinor, wantRefund)
		}
	}
	t.Logf("dev store attempts %d for %d distinct webhooks", dup, len(seen))
}
