package jobs

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/coupontrail/coupontrail/app/store"
)

// record stores deliveries as the intake would, without processing them.
func (e *orderEnv) record(ds ...store.NewDelivery) []int64 {
	e.t.Helper()
	res, err := e.st.InsertDeliveries(context.Background(), ds)
	if err != nil {
		e.t.Fatal(err)
	}
	ids := make([]int64, len(res))
	for i, r := range res {
		ids[i] = r.ID
	}
	return ids
}

func (e *orderEnv) runTask(ids []int64) error {
	e.t.Helper()
	b, _ := json.Marshal(WebhookProcessPayload{DeliveryIDs: ids})
	return e.j.handleWebhookProcess(context.Background(), asynq.NewTask(TypeWebhookProcess, b))
}

func (e *orderEnv) statuses(ids []int64) []string {
	e.t.Helper()
	out := make([]string, len(ids))
	for i, id := range ids {
		d, err := e.st.DeliveryByID(context.Background(), id)
		if err != nil {
			e.t.Fatal(err)
		}
		out[i] = d.Status
	}
	return out
}

func delivery(shop, topic, id string, body []byte) store.NewDelivery {
	return store.NewDelivery{ShopDomain: shop, WebhookID: id, Topic: topic, ReceivedAt: time.Now().UTC(), Payload: body}
}

// TestTaskDeliveriesShareOneTransaction: a task's order and refund
// deliveries are processed together with the same outcome each would get on
// its own: the orders and the refund recorded, every delivery processed,
// each redemption of a code counted once, an unknown shop ignored.
func TestTaskDeliveriesShareOneTransaction(t *testing.T) {
	e := newOrderEnv(t)
	ctx := context.Background()
	body := fixture(t, "shopify-app-js/rest-2025-10/order_test_33.json", "response/order")
	var ds []store.NewDelivery
	for i := range 5 {
		b := edit(t, body, func(m map[string]any) {
			m["id"] = 9100 + i
			m["discount_codes"] = []any{map[string]any{"code": "TENOFF", "amount": "1.00", "type": "fixed_amount"}}
		})
		ds = append(ds, delivery(e.sh.Domain, "orders/create", fmt.Sprintf("batch-o-%d", i), b))
	}
	ds = append(ds, delivery(e.sh.Domain, "refunds/create", "batch-r",
		fixture(t, "shopify-app-js/rest-2025-10/refund_test_2.json", "response/refund")))
	ds = append(ds, delivery("stranger.myshopify.com", "orders/create", "batch-x", body))
	ids := e.record(ds...)
	if err := e.runTask(ids); err != nil {
		t.Fatal(err)
	}
	want := []string{"processed", "processed", "processed", "processed", "processed", "processed", "ignored"}
	if got := e.statuses(ids); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("statuses %v, want %v", got, want)
	}
	if n := e.countOrders(); n != 5 {
		t.Fatalf("%d orders, want 5", n)
	}
	found := false
	rs, _ := e.st.RefundsForOrder(ctx, e.sh.ID, 450789469)
	for _, r := range rs {
		found = found || (r.RefundID == 929361472 && r.WebhookID == "batch-r")
	}
	if !found {
		t.Fatalf("refund of the task not recorded: %+v", rs)
	}
	// One transaction: every delivery finished by the same statement.
	var at []time.Time
	for _, id := range ids {
		d, _ := e.st.DeliveryByID(ctx, id)
		if d.ProcessedAt == nil {
			t.Fatalf("delivery %d has no processed_at", id)
		}
		at = append(at, *d.ProcessedAt)
	}
	for _, x := range at {
		if !x.Equal(at[0]) {
			t.Fatalf("deliveries finished at different times %v: not one transaction", at)
		}
	}
	// The same task again (a redelivered task) finds nothing to do.
	if err := e.runTask(ids); err != nil {
		t.Fatal(err)
	}
	if n := e.countOrders(); n != 5 {
		t.Fatalf("%d orders after a rerun", n)
	}
}

// TestBatchWithBadDeliveryFallsBack: one malformed payload in a task rolls
// the shared transaction back and every delivery is processed on its own:
// the good ones processed, the bad one failed with its reason, nothing
// recorded twice; a task with a topic outside the batch set goes one by one
// from the start.
func TestBatchWithBadDeliveryFallsBack(t *testing.T) {
	e := newOrderEnv(t)
	body := fixture(t, "shopify-app-js/rest-2025-10/order_test_33.json", "response/order")
	good := func(id int) store.NewDelivery {
		return delivery(e.sh.Domain, "orders/create", fmt.Sprintf("fb-%d", id), edit(t, body, func(m map[string]any) { m["id"] = 9300 + id }))
	}
	ids := e.record(good(1), delivery(e.sh.Domain, "orders/create", "fb-bad", []byte(`{"id":"not-a-number"}`)), good(2))
	if err := e.runTask(ids); err != nil {
		t.Fatal(err)
	}
	if got := e.statuses(ids); fmt.Sprint(got) != "[processed failed processed]" {
		t.Fatalf("statuses %v", got)
	}
	if n := e.countOrders(); n != 2 {
		t.Fatalf("%d orders, want 2", n)
	}
	ids = e.record(good(3), delivery(e.sh.Domain, "checkouts/create", "fb-co",
		fixture(t, "shopify-app-js/rest-2025-10/abandoned_checkout_test_3.json", "response/checkouts/0")))
	if err := e.runTask(ids); err != nil {
		t.Fatal(err)
	}
	for i, s := range e.statuses(ids) {
		if s == store.DeliveryReceived {
			t.Fatalf("delivery %d left waiting", i)
		}
	}
	if n := e.countOrders(); n != 3 {
		t.Fatalf("%d orders, want 3", n)
	}
}

// TestBatchWithOneOrderTwice: an order's create, its update and its refund
// in one task share the transaction (one finishing statement, no fall back
// to one by one) and give one conversion with the refund applied: the
// second delivery of the order finds the conversion the first created.
func TestBatchWithOneOrderTwice(t *testing.T) {
	e := newOrderEnv(t)
	ctx := context.Background()
	body := fixture(t, "shopify-app-js/rest-2025-10/order_test_33.json", "response/order")
	create := edit(t, body, func(m map[string]any) { m["id"] = 450789469; m["refunds"] = []any{} })
	update := edit(t, create, func(m map[string]any) { m["updated_at"] = "2030-01-01T00:00:00Z"; m["note"] = "edited" })
	ids := e.record(delivery(e.sh.Domain, "orders/create", "twice-c", create),
		delivery(e.sh.Domain, "orders/updated", "twice-u", update),
		delivery(e.sh.Domain, "refunds/create", "twice-r", fixture(t, "shopify-app-js/rest-2025-10/refund_test_2.json", "response/refund")))
	if err := e.runTask(ids); err != nil {
		t.Fatal(err)
	}
	var at []time.Time
	for _, id := range ids {
		d, _ := e.st.DeliveryByID(ctx, id)
		if d.Status != store.DeliveryProcessed || d.ProcessedAt == nil {
			t.Fatalf("delivery %d: %s", id, d.Status)
		}
		at = append(at, *d.ProcessedAt)
	}
	if !at[0].Equal(at[1]) || !at[0].Equal(at[2]) {
		t.Fatalf("deliveries finished at %v: the batch fell back to one by one", at)
	}
	c, err := e.st.ConversionByOrder(ctx, e.sh.ID, 450789469, false)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(c.AppliedRefunds) != "[929361472]" {
		t.Fatalf("applied refunds %v, want [929361472]", c.AppliedRefunds)
	}
}

// TestBatchAttributesAsOneByOne: the same deliveries (new orders, one with
// its refund recorded first, one cancelled, one with refunds in its payload)
// give the same conversions through one batch as one by one: what the batch
// keeps of an order it recorded (its row as stored, no conversion, its refund
// count) is what reading it again would give.
func TestBatchAttributesAsOneByOne(t *testing.T) {
	body := fixture(t, "shopify-app-js/rest-2025-10/order_test_33.json", "response/order")
	refund := fixture(t, "shopify-app-js/rest-2025-10/refund_test_2.json", "response/refund") // of order 450789469
	deliveries := func(shop string) []store.NewDelivery {
		var ds []store.NewDelivery
		ds = append(ds, delivery(shop, "refunds/create", shop+"-r", refund))
		ds = append(ds, delivery(shop, "orders/create", shop+"-o0", edit(t, body, func(m map[string]any) { m["id"] = 450789469; m["refunds"] = []any{} })))
		for i := 1; i < 4; i++ {
			ds = append(ds, delivery(shop, "orders/create", fmt.Sprintf("%s-o%d", shop, i), edit(t, body, func(m map[string]any) {
				m["id"] = 9500 + i
				m["name"] = fmt.Sprintf("#95%02d", i)
				m["discount_codes"] = []any{map[string]any{"code": fmt.Sprintf("SAVE%d", i), "amount": "3.00", "type": "fixed_amount"}}
				if i != 3 {
					m["refunds"] = []any{}
				}
			})))
		}
		ds = append(ds, delivery(shop, "orders/cancelled", shop+"-c", edit(t, body, func(m map[string]any) {
			m["id"] = 9600
			m["refunds"] = []any{}
			m["cancelled_at"] = "2026-11-20T10:00:00Z"
			m["cancel_reason"] = "customer"
		})))
		return ds
	}
	conversions := func(e *orderEnv) string {
		var b strings.Builder
		for _, id := range []int64{450789469, 9501, 9502, 9503, 9600} {
			c, err := e.st.ConversionByOrder(context.Background(), e.sh.ID, id, false)
			if err != nil {
				t.Fatalf("order %d: %v", id, err)
			}
			fmt.Fprintf(&b, "%d %s %s v%s %v %s gross=%d net=%d disc=%d comm=%d refunded=%d applied=%v hold=%s codes=%v\n",
				c.OrderID, c.OrderName, c.Status, c.OrderVersion.UTC().Format(time.RFC3339), c.Attributed, c.Rule, c.GrossMinor, c.NetMinor,
				c.DiscountMinor, c.CommissionMinor, c.RefundedMinor, c.AppliedRefunds, c.HoldUntil.UTC().Format(time.RFC3339), c.Codes)
		}
		return b.String()
	}

	batch := newOrderEnv(t)
	ids := batch.record(deliveries(batch.sh.Domain)...)
	if err := batch.runTask(ids); err != nil {
		t.Fatal(err)
	}
	var at []time.Time
	for _, id := range ids {
		d, _ := batch.st.DeliveryByID(context.Background(), id)
		if d.Status != store.DeliveryProcessed || d.ProcessedAt == nil {
			t.Fatalf("batch statuses %v", batch.statuses(ids))
		}
		if at = append(at, *d.ProcessedAt); !at[0].Equal(*d.ProcessedAt) {
			t.Fatalf("deliveries finished at %v: the batch fell back to one by one", at)
		}
	}
	single := newOrderEnv(t)
	for _, id := range single.record(deliveries(single.sh.Domain)...) {
		if err := single.j.ProcessDelivery(context.Background(), id); err != nil {
			t.Fatal(err)
		}
	}
	if got, want := conversions(batch), conversions(single); got != want {
		t.Fatalf("through one batch:\n%s\none by one:\n%s", got, want)
	}
	if !strings.Contains(conversions(batch), "applied=[929361472]") {
		t.Fatalf("the refund recorded before its order was not applied:\n%s", conversions(batch))
	}
	// The entries written with a new conversion: its subject, its keys,
	// its currency and time, in line order, then the refund's.
	c, err := batch.st.ConversionByOrder(context.Background(), batch.sh.ID, 450789469, false)
	if err != nil {
		t.Fatal(err)
	}
	ledger, err := batch.st.ConversionLedger(context.Background(), batch.sh.ID, c.ID)
	if err != nil || len(ledger) < 2 {
		t.Fatalf("ledger %+v, %v", ledger, err)
	}
	first := ledger[0]
	if first.SubjectID != c.ID || first.Kind != "attributed" || first.IdempotencyKey == nil ||
		*first.IdempotencyKey != fmt.Sprintf("conv:%d:attributed:0", c.ID) || first.Currency != c.Currency ||
		!first.CreatedAt.Equal(c.CreatedAt) || first.CauseType != "webhook" {
		t.Fatalf("first ledger entry %+v of conversion %d (%s, %s)", first, c.ID, c.Currency, c.CreatedAt)
	}
	if k := ledger[len(ledger)-1].IdempotencyKey; k == nil || !strings.HasPrefix(*k, fmt.Sprintf("conv:%d:refund:929361472:", c.ID)) {
		t.Fatalf("last ledger entry key %v", k)
	}
}
