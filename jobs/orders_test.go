package jobs

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coupontrail/coupontrail/app/store"
	"github.com/coupontrail/coupontrail/app/store/storetest"
)

// fixturesRoot holds real Shopify payloads (see its PROVENANCE.md). Tests
// fail, never skip, when it is missing.
const fixturesRoot = "../../shared/fixtures/shopify"

// fixture returns the JSON object at path (keys separated by "/") inside a
// fixture file, re-encoded as a bare webhook body: REST responses wrap the
// object ({"order":{...}}), webhooks carry it bare.
func fixture(t *testing.T, file, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fixturesRoot, file))
	if err != nil {
		t.Fatalf("fixture: %v", err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber() // ids exceed 2^53: never through float64
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatal(err)
	}
	for _, k := range strings.Split(path, "/") {
		switch x := v.(type) {
		case map[string]any:
			v = x[k]
		case []any:
			v = x[0]
		}
	}
	out, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// edit decodes a JSON object, lets fn change it and re-encodes it.
func edit(t *testing.T, body []byte, fn func(m map[string]any)) []byte {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		t.Fatal(err)
	}
	fn(m)
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

type orderEnv struct {
	t  *testing.T
	st *store.Store
	j  *Jobs
	sh *store.Shop
	n  int
}

func newOrderEnv(t *testing.T) *orderEnv {
	t.Helper()
	st, _ := storetest.New(t)
	sh, err := st.InstallShop(context.Background(), "fixture.myshopify.com", store.ShopTokens{AccessTokenEnc: "x", TokenKind: "offline"}, time.Now().UTC())
	if err != nil {
		t.Fatal(err)
	}
	j := New(Deps{Store: st, Log: slog.New(slog.DiscardHandler)})
	return &orderEnv{t: t, st: st, j: j, sh: sh}
}

// deliver records a delivery as the intake would and processes it; it
// returns the delivery's final row.
func (e *orderEnv) deliver(shop, topic, webhookID string, body []byte) *store.Delivery {
	e.t.Helper()
	ctx := context.Background()
	res, err := e.st.InsertDeliveries(ctx, []store.NewDelivery{{ShopDomain: shop, WebhookID: webhookID, Topic: topic,
		ReceivedAt: time.Now().UTC(), Payload: body}})
	if err != nil {
		e.t.Fatal(err)
	}
	if res[0].Duplicate {
		e.t.Fatalf("webhook id %s recorded twice", webhookID)
	}
	if err := e.j.ProcessDelivery(ctx, res[0].ID); err != nil {
		e.t.Fatalf("process %s: %v", topic, err)
	}
	d, err := e.st.DeliveryByID(ctx, res[0].ID)
	if err != nil {
		e.t.Fatal(err)
	}
	return d
}

func (e *orderEnv) ok(topic string, body []byte) *store.Delivery {
	e.t.Helper()
	e.n++
	d := e.deliver(e.sh.Domain, topic, fmt.Sprintf("%s-%d", topic, e.n), body)
	if d.Status != store.DeliveryProcessed {
		e.t.Fatalf("%s: status %s (%s)", topic, d.Status, d.Error)
	}
	return d
}

func (e *orderEnv) order(id int64) *store.Order {
	e.t.Helper()
	o, err := e.st.OrderByID(context.Background(), e.sh.ID, id)
	if err != nil {
		e.t.Fatal(err)
	}
	return o
}

func (e *orderEnv) countOrders() int {
	e.t.Helper()
	list, err := e.st.OrdersUpdatedSince(context.Background(), e.sh.ID, time.Time{}, 0, 1000)
	if err != nil {
		e.t.Fatal(err)
	}
	return len(list)
}

func i64(p *int64) int64 {
	if p == nil {
		return -1
	}
	return *p
}

// TestOrderFromFixtureRecordedExactly: a real REST order (shopify-app-js
// 2025-10 fixture) as an orders/create body is recorded with its exact ids
// and amounts, and the refund embedded in it counts.
func TestOrderFromFixtureRecordedExactly(t *testing.T) {
	e := newOrderEnv(t)
	body := fixture(t, "shopify-app-js/rest-2025-10/order_test_33.json", "response/order")
	d := e.ok("orders/create", body)
	o := e.order(450789469)
	checks := []struct {
		name      string
		got, want any
	}{
		{"gid", o.AdminGraphQLAPIID, "gid://shopify/Order/450789469"},
		{"name", o.Name, "#1001"},
		{"email", o.Email, "bob.norman@mail.example.com"},
		{"customer", i64(o.CustomerID), int64(207119551)},
		{"checkout_token", o.CheckoutToken, "bd5a8aa1ecd019dd3520ff791ee3a24c"},
		{"currency", o.Currency, "USD"},
		{"total", o.TotalMinor, int64(59894)},
		{"subtotal", i64(o.SubtotalMinor), int64(59700)},
		{"discount", i64(o.DiscountMinor), int64(1000)},
		{"shipping", i64(o.ShippingMinor), int64(0)},
		{"current_total", i64(o.CurrentTotalMinor), int64(19965)},
		{"current_subtotal", i64(o.CurrentSubtotalMinor), int64(19567)},
		{"codes", strings.Join(o.DiscountCodes, ","), "TENOFF"},
		{"landing", o.LandingSite, "http://www.example.com?source=abc"},
		{"referring", o.ReferringSite, "http://www.otherexample.com"},
		{"ip", o.BrowserIP, "0.0.0.0"},
		{"source_name", o.SourceName, "web"},
		{"financial", o.FinancialStatus, "partially_refunded"},
		{"created", o.OrderCreatedAt.UTC().Format(time.RFC3339), "2008-01-10T16:00:00Z"},
		{"updated", o.OrderUpdatedAt.UTC().Format(time.RFC3339), "2025-04-02T16:31:27Z"},
		{"source", o.Source, store.OrderSourceWebhook},
		{"first_webhook", o.FirstWebhookID, d.WebhookID},
		// refund 509562969 is embedded: its successful transaction is 209.00
		{"refunded", o.RefundedMinor, int64(20900)},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	if !strings.Contains(string(o.NoteAttributes), `"custom engraving"`) {
		t.Errorf("note_attributes %s", o.NoteAttributes)
	}
}

// TestOrderIDBeyondFloat64: ids above 2^53 are stored exactly.
func TestOrderIDBeyondFloat64(t *testing.T) {
	e := newOrderEnv(t)
	body := edit(t, fixture(t, "shopify-app-js/rest-2025-10/order_test_33.json", "response/order"), func(m map[string]any) {
		m["id"] = json.Number("9007199254740993")
		m["refunds"] = []any{}
		m["customer"].(map[string]any)["id"] = json.Number("9007199254740995")
	})
	e.ok("orders/create", body)
	o := e.order(9007199254740993)
	if i64(o.CustomerID) != 9007199254740995 {
		t.Fatalf("customer id %d", i64(o.CustomerID))
	}
}

// TestGoShopifyOrderFixture: the go-shopify fixture wraps {"order":{...}}; the
// bare object, a cancelled order, is recorded and its cancellation kept.
func TestGoShopifyOrderFixture(t *testing.T) {
	e := newOrderEnv(t)
	e.ok("orders/cancelled", fixture(t, "go-shopify-v4.7.0/rest/order.json", "order"))
	o := e.order(123456)
	if o.TotalMinor != 1000 || i64(o.DiscountMinor) != 500 || o.CancelledAt == nil || o.FinancialStatus != "voided" ||
		o.CustomerID != nil || o.ShippingMinor != nil {
		t.Fatalf("order %+v", o)
	}
}

func TestSameDeliveryTwiceOneRow(t *testing.T) {
	e := newOrderEnv(t)
	ctx := context.Background()
	body := fixture(t, "shopify-app-js/rest-2025-10/order_test_33.json", "response/order")
	d := e.ok("orders/create", body)
	// the same delivery processed again (a redelivered task) does nothing
	if err := e.j.ProcessDelivery(ctx, d.ID); err != nil {
		t.Fatal(err)
	}
	// Shopify sending the same order on another subscription (new webhook id)
	e.ok("orders/paid", body)
	e.ok("refunds/create", fixture(t, "shopify-app-js/rest-2025-10/refund_test_4.json", "response/refund")) // 509562969 again
	if n := e.countOrders(); n != 1 {
		t.Fatalf("%d order rows, want 1", n)
	}
	rs, _ := e.st.RefundsForOrder(ctx, e.sh.ID, 450789469)
	if len(rs) != 1 || e.order(450789469).RefundedMinor != 20900 {
		t.Fatalf("refunds %+v", rs)
	}
}

func TestOutOfOrderUpdatesDoNotRollBack(t *testing.T) {
	e := newOrderEnv(t)
	base := fixture(t, "shopify-app-js/rest-2025-10/order_test_33.json", "response/order")
	newer := edit(t, base, func(m map[string]any) {
		m["updated_at"] = "2025-04-03T10:00:00-05:00"
		m["financial_status"] = "refunded"
		m["current_total_price"] = "0.00"
		delete(m, "current_total_price_set")
	})
	older := edit(t, base, func(m map[string]any) {
		m["updated_at"] = "2025-04-01T10:00:00-05:00"
		m["financial_status"] = "paid"
	})
	e.ok("orders/updated", newer)
	e.ok("orders/create", older) // arrives last, describes an earlier state
	o := e.order(450789469)
	if o.FinancialStatus != "refunded" || i64(o.CurrentTotalMinor) != 0 || o.OrderUpdatedAt.UTC().Format(time.RFC3339) != "2025-04-03T15:00:00Z" {
		t.Fatalf("rolled back: status=%s current=%d updated=%s", o.FinancialStatus, i64(o.CurrentTotalMinor), o.OrderUpdatedAt)
	}
	// orders/cancelled arriving after a newer update still cancels
	cancelled := edit(t, base, func(m map[string]any) {
		m["cancelled_at"] = "2025-04-02T12:00:00-05:00"
		m["cancel_reason"] = "customer"
	})
	e.ok("orders/cancelled", cancelled)
	o = e.order(450789469)
	if o.CancelledAt == nil || o.CancelledAt.UTC().Format(time.RFC3339) != "2025-04-02T17:00:00Z" || o.CancelReason != "customer" ||
		o.FinancialStatus != "refunded" {
		t.Fatalf("cancel: %v %q %s", o.CancelledAt, o.CancelReason, o.FinancialStatus)
	}
}

// TestRefundBeforeOrder: refunds/create for an order not recorded yet is kept
// and counted once the order arrives.
func TestRefundBeforeOrder(t *testing.T) {
	e := newOrderEnv(t)
	e.ok("refunds/create", fixture(t, "shopify-app-js/rest-2025-10/refund_test_2.json", "response/refund")) // 929361472: 41.94
	e.ok("refunds/create", fixture(t, "shopify-app-js/rest-2025-10/refund_test_3.json", "response/refund")) // 929361471: shipping 5.00
	if n := e.countOrders(); n != 0 {
		t.Fatalf("a refund created %d orders", n)
	}
	rs, _ := e.st.RefundsForOrder(context.Background(), e.sh.ID, 450789469)
	if len(rs) != 2 || rs[0].RefundID != 929361471 || rs[0].AmountMinor != 500 || rs[1].AmountMinor != 4194 || rs[1].Currency != "USD" {
		t.Fatalf("refunds %+v", rs)
	}
	e.ok("orders/create", fixture(t, "shopify-app-js/rest-2025-10/order_test_33.json", "response/order"))
	if got := e.order(450789469).RefundedMinor; got != 20900+4194+500 {
		t.Fatalf("refunded_minor %d, want %d", got, 20900+4194+500)
	}
}

func TestCheckoutFixturesAndCompletion(t *testing.T) {
	e := newOrderEnv(t)
	ctx := context.Background()
	// abandoned checkout webhook shape (REST AbandonedCheckout)
	e.ok("checkouts/create", fixture(t, "shopify-app-js/rest-2025-10/abandoned_checkout_test_3.json", "response/checkouts/0"))
	c, err := e.st.CheckoutByToken(ctx, e.sh.ID, "2a1ace52255252df566af0faaedfbfa7")
	if err != nil {
		t.Fatal(err)
	}
	if c.TotalMinor != 37969 || i64(c.CustomerID) != 207119551 || c.Email != "bob.norman@mail.example.com" ||
		c.CartToken != "68778783ad298f1c80c3bafcddeea02f" || strings.Join(c.DiscountCodes, ",") != "TENOFF" || c.CompletedAt != nil ||
		!strings.HasSuffix(c.AbandonedCheckoutURL, "/recover") {
		t.Fatalf("checkout %+v", c)
	}
	// the checkout the fixture order came from, then the order
	e.ok("checkouts/update", fixture(t, "shopify-app-js/rest-2025-10/checkout_test_4.json", "response/checkout"))
	e.ok("orders/create", fixture(t, "shopify-app-js/rest-2025-10/order_test_33.json", "response/order"))
	c, err = e.st.CheckoutByToken(ctx, e.sh.ID, "bd5a8aa1ecd019dd3520ff791ee3a24c")
	if err != nil {
		t.Fatal(err)
	}
	if c.CompletedAt == nil || i64(c.OrderID) != 450789469 || c.TotalMinor != 42188 {
		t.Fatalf("completed checkout %+v", c)
	}
	if c, _ := e.st.CheckoutByToken(ctx, e.sh.ID, "2a1ace52255252df566af0faaedfbfa7"); c.CompletedAt != nil {
		t.Fatal("unrelated checkout completed")
	}
}

func TestUnknownShopIgnoredAndMalformedFailed(t *testing.T) {
	e := newOrderEnv(t)
	body := fixture(t, "shopify-app-js/rest-2025-10/order_test_33.json", "response/order")
	if d := e.deliver("stranger.myshopify.com", "orders/create", "w-unknown", body); d.Status != store.DeliveryIgnored {
		t.Fatalf("unknown shop: %s", d.Status)
	}
	bad := map[string][]byte{
		"orders/create":    []byte(`{"id":"not-a-number"}`),
		"orders/updated":   edit(t, body, func(m map[string]any) { m["total_price_set"] = nil; m["total_price"] = "1.234" }),
		"refunds/create":   []byte(`{"id":1}`),
		"checkouts/update": []byte(`{"token":""}`),
		"orders/cancelled": []byte(`[]`),
	}
	for topic, b := range bad {
		if d := e.deliver(e.sh.Domain, topic, "bad-"+topic, b); d.Status != store.DeliveryFailed || d.Error == "" {
			t.Errorf("%s: status %s error %q", topic, d.Status, d.Error)
		}
	}
	if n := e.countOrders(); n != 0 {
		t.Fatalf("%d orders recorded from bad payloads", n)
	}
}

// TestOrderWithoutTimestampsIsOldestVersion: a payload without updated_at is
// recorded, and any real version supersedes it (never the reverse).
func TestOrderWithoutTimestampsIsOldestVersion(t *testing.T) {
	e := newOrderEnv(t)
	e.ok("orders/create", []byte(`{"id":820982911946154508,"email":"john@example.com","customer":{"id":191167},"currency":"USD","total_price":"10.00"}`))
	o := e.order(820982911946154508)
	if o.TotalMinor != 1000 || o.Currency != "USD" || i64(o.CustomerID) != 191167 {
		t.Fatalf("order %+v", o)
	}
	e.ok("orders/updated", []byte(`{"id":820982911946154508,"updated_at":"2026-01-01T00:00:00Z","currency":"USD","total_price":"12.00"}`))
	e.ok("orders/paid", []byte(`{"id":820982911946154508,"currency":"USD","total_price":"10.00"}`))
	if o := e.order(820982911946154508); o.TotalMinor != 1200 {
		t.Fatalf("timestamp-less payload overwrote a real version: total %d", o.TotalMinor)
	}
}
