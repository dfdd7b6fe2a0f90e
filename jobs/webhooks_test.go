package jobs

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coupontrail/coupontrail/app/store"
	"github.com/coupontrail/coupontrail/app/store/storetest"
)

// TestCrashMidJobIsRedoneExactlyOnce: a handler whose process dies (ctx
// cancelled mid-transaction) leaves no trace; the delivery stays pending and
// the next attempt does the work once.
func TestCrashMidJobIsRedoneExactlyOnce(t *testing.T) {
	st, _ := storetest.New(t)
	ctx := context.Background()
	now := time.Now().UTC()
	sh, err := st.InstallShop(ctx, "crash.myshopify.com", store.ShopTokens{AccessTokenEnc: "x", TokenKind: "offline"}, now)
	if err != nil {
		t.Fatal(err)
	}
	j := New(Deps{Store: st, Log: slog.New(slog.DiscardHandler)})
	var runs, commits atomic.Int32
	started := make(chan struct{}, 1)
	j.topics["test/work"] = func(ctx context.Context, d *store.Delivery) error {
		runs.Add(1)
		// the work: an audit row written in the delivery's transaction
		if err := st.Audit(ctx, &store.AuditEvent{ShopID: &sh.ID, ActorType: "test", Action: "work.done", CreatedAt: now}); err != nil {
			return err
		}
		if runs.Load() == 1 {
			started <- struct{}{}
			<-ctx.Done() // the worker is killed mid-job
			return ctx.Err()
		}
		commits.Add(1)
		return nil
	}
	res, err := st.InsertDeliveries(ctx, []store.NewDelivery{{ShopDomain: sh.Domain, WebhookID: "crash-1", Topic: "test/work", ReceivedAt: now, Payload: []byte(`{}`)}})
	if err != nil {
		t.Fatal(err)
	}
	id := res[0].ID
	cctx, cancel := context.WithCancel(ctx)
	errc := make(chan error, 1)
	go func() { errc <- j.ProcessDelivery(cctx, id) }()
	<-started
	cancel()
	if err := <-errc; err == nil {
		t.Fatal("killed job reported success")
	}
	if n, _ := st.CountAudit(ctx, "work.done"); n != 0 {
		t.Fatalf("work of the killed job was committed (%d rows)", n)
	}
	d, _ := st.DeliveryByID(ctx, id)
	if d.Status != store.DeliveryReceived {
		t.Fatalf("after crash status = %s, want received", d.Status)
	}
	// retry (or sweep) — twice, concurrently: the work happens once
	errs := make(chan error, 2)
	for range 2 {
		go func() { errs <- j.ProcessDelivery(ctx, id) }()
	}
	for range 2 {
		if err := <-errs; err != nil && !errors.Is(err, context.Canceled) {
			t.Fatal(err)
		}
	}
	if n, _ := st.CountAudit(ctx, "work.done"); n != 1 {
		t.Fatalf("work committed %d times, want 1", n)
	}
	if d, _ := st.DeliveryByID(ctx, id); d.Status != store.DeliveryProcessed {
		t.Fatalf("final status %s", d.Status)
	}
}
