package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coupontrail/coupontrail/app/store"
	"github.com/coupontrail/coupontrail/app/store/storetest"
)

var t0 = time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)

func ptr[T any](v T) *T { return &v }

func installShop(t *testing.T, s *store.Store, domain string) *store.Shop {
	t.Helper()
	sh, err := s.InstallShop(context.Background(), domain, store.ShopTokens{AccessTokenEnc: "v1:k:x", TokenKind: "offline"}, t0)
	if err != nil {
		t.Fatal(err)
	}
	return sh
}

// order is a small factory: a webhook version of order id at updated.
func order(shopID, id int64, updated time.Time, total int64) *store.Order {
	return &store.Order{
		ShopID: shopID, OrderID: id, Name: "#1001", Email: "Buyer@Example.com", CustomerID: ptr(int64(207119551)),
		Currency: "USD", TotalMinor: total, SubtotalMinor: ptr(total - 500), DiscountMinor: ptr(int64(1000)),
		ShippingMinor: ptr(int64(500)), DiscountCodes: []string{" tenoff", "TENOFF", "Partner-7"},
		LandingSite: "/?ref=acme", BrowserIP: "203.0.113.9", UserAgent: "UA", SourceName: "web", FinancialStatus: "paid",
		OrderCreatedAt: t0, OrderUpdatedAt: updated, Source: store.OrderSourceWebhook,
		LastWebhookID: fmt.Sprintf("wh-%d-%d", id, updated.Unix()),
	}
}

func mustUpsertOrder(t *testing.T, s *store.Store, o *store.Order, want store.UpsertOutcome) {
	t.Helper()
	got, err := s.UpsertOrder(context.Background(), o, t0)
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Fatalf("upsert order %d at %s = %s, want %s", o.OrderID, o.OrderUpdatedAt, got, want)
	}
}

func TestUpsertOrderNewerOrEqualWins(t *testing.T) {
	s, _ := storetest.New(t)
	ctx := context.Background()
	sh := installShop(t, s, "orders.myshopify.com")
	const id = int64(9007199254740993) // > 2^53: must survive exactly

	mustUpsertOrder(t, s, order(sh.ID, id, t0.Add(time.Minute), 10000), store.Inserted)
	mustUpsertOrder(t, s, order(sh.ID, id, t0.Add(3*time.Minute), 30000), store.Updated)
	mustUpsertOrder(t, s, order(sh.ID, id, t0.Add(2*time.Minute), 20000), store.Stale)   // late orders/updated
	mustUpsertOrder(t, s, order(sh.ID, id, t0.Add(3*time.Minute), 30000), store.Updated) // same version again

	got, err := s.OrderByID(ctx, sh.ID, id)
	if err != nil {
		t.Fatal(err)
	}
	if got.OrderID != id || got.TotalMinor != 30000 || !got.OrderUpdatedAt.Equal(t0.Add(3*time.Minute)) {
		t.Fatalf("order rolled back or wrong: id=%d total=%d updated=%s", got.OrderID, got.TotalMinor, got.OrderUpdatedAt)
	}
	if strings.Join(got.DiscountCodes, ",") != "TENOFF,PARTNER-7" {
		t.Fatalf("codes %v, want upper-cased and deduplicated", got.DiscountCodes)
	}
	if got.Source != store.OrderSourceWebhook || got.FirstWebhookID != fmt.Sprintf("wh-%d-%d", id, t0.Add(time.Minute).Unix()) ||
		got.LastWebhookID != fmt.Sprintf("wh-%d-%d", id, t0.Add(3*time.Minute).Unix()) {
		t.Fatalf("provenance: source=%s first=%s last=%s", got.Source, got.FirstWebhookID, got.LastWebhookID)
	}
	if got.CustomerID == nil || *got.CustomerID != 207119551 || *got.SubtotalMinor != 29500 || got.CurrentTotalMinor != nil {
		t.Fatalf("fields: %+v", got)
	}
	if _, err := s.OrderByID(ctx, sh.ID, 1); !isNotFound(err) {
		t.Fatalf("missing order: %v", err)
	}
	// another shop's order with the same id is a different row
	other := installShop(t, s, "other.myshopify.com")
	mustUpsertOrder(t, s, order(other.ID, id, t0, 1), store.Inserted)
	if got, _ := s.OrderByID(ctx, sh.ID, id); got.TotalMinor != 30000 {
		t.Fatal("shops are not isolated")
	}
}

func isNotFound(err error) bool { return errors.Is(err, store.ErrNotFound) }

func TestReconcileVersionKeepsWebhookOnlyFields(t *testing.T) {
	s, _ := storetest.New(t)
	ctx := context.Background()
	sh := installShop(t, s, "rec.myshopify.com")
	mustUpsertOrder(t, s, order(sh.ID, 42, t0, 10000), store.Inserted)
	rec := &store.Order{ShopID: sh.ID, OrderID: 42, Name: "#1001", Currency: "USD", TotalMinor: 10000,
		CurrentTotalMinor: ptr(int64(6000)), DiscountCodes: []string{"tenoff"}, FinancialStatus: "partially_refunded",
		OrderCreatedAt: t0, OrderUpdatedAt: t0.Add(time.Hour), Source: store.OrderSourceReconcile, LastWebhookID: "reconcile:42:1"}
	mustUpsertOrder(t, s, rec, store.Updated)
	got, _ := s.OrderByID(ctx, sh.ID, 42)
	if got.Email != "Buyer@Example.com" || got.CustomerID == nil || got.LandingSite != "/?ref=acme" || got.BrowserIP != "203.0.113.9" ||
		got.SubtotalMinor == nil || *got.SubtotalMinor != 9500 || *got.DiscountMinor != 1000 {
		t.Fatalf("reconcile version erased webhook fields: %+v", got)
	}
	if *got.CurrentTotalMinor != 6000 || got.FinancialStatus != "partially_refunded" || got.Source != store.OrderSourceWebhook ||
		got.LastWebhookID != "reconcile:42:1" {
		t.Fatalf("reconcile version not applied: %+v", got)
	}
	// an order first seen through reconciliation has no webhook-only fields
	rec2 := *rec
	rec2.OrderID = 43
	mustUpsertOrder(t, s, &rec2, store.Inserted)
	got, _ = s.OrderByID(ctx, sh.ID, 43)
	if got.Source != store.OrderSourceReconcile || got.SubtotalMinor != nil || got.Email != "" || got.FirstWebhookID != "reconcile:42:1" {
		t.Fatalf("reconcile-only order: %+v", got)
	}
}

func TestRefundBeforeOrderAndIdempotent(t *testing.T) {
	s, _ := storetest.New(t)
	ctx := context.Background()
	sh := installShop(t, s, "refunds.myshopify.com")
	rf := &store.Refund{ShopID: sh.ID, RefundID: 929361472, OrderID: 450789469, AmountMinor: 4194, Currency: "USD", RefundCreatedAt: t0, WebhookID: "r1"}
	if ins, err := s.UpsertRefund(ctx, rf, t0); err != nil || !ins {
		t.Fatalf("first refund: %v %v", ins, err)
	}
	if ins, err := s.UpsertRefund(ctx, rf, t0); err != nil || ins {
		t.Fatalf("repeat refund: %v %v", ins, err)
	}
	mustUpsertOrder(t, s, order(sh.ID, 450789469, t0, 59894), store.Inserted)
	got, _ := s.OrderByID(ctx, sh.ID, 450789469)
	if got.RefundedMinor != 4194 {
		t.Fatalf("refunded_minor after order arrived = %d, want 4194", got.RefundedMinor)
	}
	rf2 := &store.Refund{ShopID: sh.ID, RefundID: 509562969, OrderID: 450789469, AmountMinor: 20900, Currency: "USD", RefundCreatedAt: t0.Add(time.Minute), WebhookID: "r2"}
	if _, err := s.UpsertRefund(ctx, rf2, t0); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UpsertRefund(ctx, rf2, t0); err != nil {
		t.Fatal(err)
	}
	got, _ = s.OrderByID(ctx, sh.ID, 450789469)
	if got.RefundedMinor != 4194+20900 {
		t.Fatalf("refunded_minor = %d, want %d", got.RefundedMinor, 4194+20900)
	}
	list, err := s.RefundsForOrder(ctx, sh.ID, 450789469)
	if err != nil || len(list) != 2 || list[0].WebhookID != "r1" {
		t.Fatalf("refunds %+v %v", list, err)
	}
}

// TestOrderAndRefundRace: an order and its refund recorded at the same time
// by two transactions always end with the refund counted.
func TestOrderAndRefundRace(t *testing.T) {
	s, _ := storetest.New(t)
	ctx := context.Background()
	sh := installShop(t, s, "race.myshopify.com")
	for i := range int64(20) {
		var wg sync.WaitGroup
		errs := make(chan error, 2)
		wg.Go(func() {
			errs <- s.InTx(ctx, func(ctx context.Context) error {
				_, err := s.UpsertOrder(ctx, order(sh.ID, 1000+i, t0, 10000), t0)
				time.Sleep(time.Millisecond)
				return err
			})
		})
		wg.Go(func() {
			errs <- s.InTx(ctx, func(ctx context.Context) error {
				_, err := s.UpsertRefund(ctx, &store.Refund{ShopID: sh.ID, RefundID: 5000 + i, OrderID: 1000 + i, AmountMinor: 700,
					Currency: "USD", RefundCreatedAt: t0, WebhookID: "r"}, t0)
				time.Sleep(time.Millisecond)
				return err
			})
		})
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		got, err := s.OrderByID(ctx, sh.ID, 1000+i)
		if err != nil {
			t.Fatal(err)
		}
		if got.RefundedMinor != 700 {
			t.Fatalf("round %d: refunded_minor %d, want 700", i, got.RefundedMinor)
		}
	}
}

func TestCheckoutNewerWinsAndCompletion(t *testing.T) {
	s, _ := storetest.New(t)
	ctx := context.Background()
	sh := installShop(t, s, "checkouts.myshopify.com")
	co := func(token string, updated time.Time, total int64) *store.Checkout {
		return &store.Checkout{ShopID: sh.ID, Token: token, CartToken: "cart", Email: "b@example.com", CustomerID: ptr(int64(7)),
			Currency: "USD", TotalMinor: total, DiscountCodes: []string{"tenoff"}, AbandonedCheckoutURL: "https://x/recover",
			CheckoutCreatedAt: t0, CheckoutUpdatedAt: updated}
	}
	up := func(c *store.Checkout, want store.UpsertOutcome) {
		t.Helper()
		got, err := s.UpsertCheckout(ctx, c, t0)
		if err != nil || got != want {
			t.Fatalf("upsert checkout %s at %s = %s %v, want %s", c.Token, c.CheckoutUpdatedAt, got, err, want)
		}
	}
	// checkout first, then its order
	up(co("tok-a", t0, 100), store.Inserted)
	up(co("tok-a", t0.Add(2*time.Minute), 300), store.Updated)
	up(co("tok-a", t0.Add(time.Minute), 200), store.Stale)
	o := order(sh.ID, 77, t0.Add(5*time.Minute), 300)
	o.CheckoutToken = "tok-a"
	mustUpsertOrder(t, s, o, store.Inserted)
	got, err := s.CheckoutByToken(ctx, sh.ID, "tok-a")
	if err != nil {
		t.Fatal(err)
	}
	if got.TotalMinor != 300 || got.CompletedAt == nil || got.OrderID == nil || *got.OrderID != 77 || got.DiscountCodes[0] != "TENOFF" {
		t.Fatalf("checkout after its order: %+v", got)
	}
	// a later checkouts/update without completed_at does not reopen it
	up(co("tok-a", t0.Add(10*time.Minute), 300), store.Updated)
	if got, _ := s.CheckoutByToken(ctx, sh.ID, "tok-a"); got.CompletedAt == nil {
		t.Fatal("completion cleared by a later version")
	}
	// order first, then a late checkouts/create
	o2 := order(sh.ID, 78, t0, 100)
	o2.CheckoutToken = "tok-b"
	mustUpsertOrder(t, s, o2, store.Inserted)
	up(co("tok-b", t0, 100), store.Inserted)
	if got, _ := s.CheckoutByToken(ctx, sh.ID, "tok-b"); got.CompletedAt == nil || !got.CompletedAt.Equal(t0) || *got.OrderID != 78 {
		t.Fatalf("late checkout of a recorded order not completed: %+v", got)
	}
	// still abandoned
	up(co("tok-c", t0, 100), store.Inserted)
	if got, _ := s.CheckoutByToken(ctx, sh.ID, "tok-c"); got.CompletedAt != nil {
		t.Fatal("abandoned checkout marked completed")
	}
}

func TestMarkOrderCancelledSticks(t *testing.T) {
	s, _ := storetest.New(t)
	ctx := context.Background()
	sh := installShop(t, s, "cancel.myshopify.com")
	mustUpsertOrder(t, s, order(sh.ID, 5, t0.Add(time.Hour), 100), store.Inserted)
	if err := s.MarkOrderCancelled(ctx, sh.ID, 5, t0.Add(30*time.Minute), "customer", t0); err != nil {
		t.Fatal(err)
	}
	if err := s.MarkOrderCancelled(ctx, sh.ID, 5, t0.Add(50*time.Minute), "fraud", t0); err != nil {
		t.Fatal(err)
	}
	mustUpsertOrder(t, s, order(sh.ID, 5, t0.Add(2*time.Hour), 100), store.Updated) // newer version without cancelled_at
	got, _ := s.OrderByID(ctx, sh.ID, 5)
	if got.CancelledAt == nil || !got.CancelledAt.Equal(t0.Add(30*time.Minute)) || got.CancelReason != "customer" {
		t.Fatalf("cancellation: %v %q", got.CancelledAt, got.CancelReason)
	}
}

func TestKnownVersionsUpdatedSinceAndWatermark(t *testing.T) {
	s, _ := storetest.New(t)
	ctx := context.Background()
	sh := installShop(t, s, "wm.myshopify.com")
	for i := range int64(5) {
		mustUpsertOrder(t, s, order(sh.ID, 100+i, t0.Add(time.Duration(i)*time.Minute), 100), store.Inserted)
	}
	known, err := s.KnownOrderVersions(ctx, sh.ID, []int64{100, 104, 999})
	if err != nil {
		t.Fatal(err)
	}
	if len(known) != 2 || !known[104].Equal(t0.Add(4*time.Minute)) {
		t.Fatalf("known %v", known)
	}
	if k, err := s.KnownOrderVersions(ctx, sh.ID, nil); err != nil || len(k) != 0 {
		t.Fatalf("empty: %v %v", k, err)
	}
	page, err := s.OrdersUpdatedSince(ctx, sh.ID, t0.Add(2*time.Minute), 0, 2)
	if err != nil || len(page) != 2 || page[0].OrderID != 102 || page[1].OrderID != 103 {
		t.Fatalf("page 1 %v %v", page, err)
	}
	page, _ = s.OrdersUpdatedSince(ctx, sh.ID, page[1].OrderUpdatedAt, page[1].OrderID, 2)
	if len(page) != 1 || page[0].OrderID != 104 {
		t.Fatalf("page 2 %v", page)
	}

	if _, err := s.ReconcileStateOf(ctx, sh.ID); !isNotFound(err) {
		t.Fatalf("state before first run: %v", err)
	}
	if err := s.AdvanceReconcileWatermark(ctx, sh.ID, t0.Add(time.Hour), t0); err != nil {
		t.Fatal(err)
	}
	if err := s.AdvanceReconcileWatermark(ctx, sh.ID, t0, t0.Add(time.Minute)); err != nil { // an older, slower run
		t.Fatal(err)
	}
	st, err := s.ReconcileStateOf(ctx, sh.ID)
	if err != nil || !st.OrdersWatermark.Equal(t0.Add(time.Hour)) || !st.LastRunAt.Equal(t0.Add(time.Minute)) {
		t.Fatalf("state %+v %v", st, err)
	}
}

func TestRedactCustomerErasesOrdersAndCheckouts(t *testing.T) {
	s, _ := storetest.New(t)
	ctx := context.Background()
	sh := installShop(t, s, "gdpr.myshopify.com")
	o := order(sh.ID, 1, t0, 100)
	o.NoteAttributes = json.RawMessage(`[{"name":"gift","value":"for Ann"}]`)
	mustUpsertOrder(t, s, o, store.Inserted)
	keep := order(sh.ID, 2, t0, 100)
	keep.Email, keep.CustomerID = "other@example.com", ptr(int64(8))
	mustUpsertOrder(t, s, keep, store.Inserted)
	if _, err := s.UpsertCheckout(ctx, &store.Checkout{ShopID: sh.ID, Token: "t", Email: "buyer@example.com", Currency: "USD",
		AbandonedCheckoutURL: "https://x", CheckoutCreatedAt: t0, CheckoutUpdatedAt: t0}, t0); err != nil {
		t.Fatal(err)
	}
	key := store.CustomerKey{ID: "207119551", Email: "BUYER@example.com"}
	export, err := s.CustomerData(ctx, sh.ID, sh.Domain, key)
	if err != nil {
		t.Fatal(err)
	}
	var ex struct {
		Orders []struct {
			OrderID string `json:"order_id"`
			Email   string `json:"email"`
		} `json:"orders"`
		Checkouts []struct {
			Token string `json:"token"`
		} `json:"checkouts"`
	}
	if err := json.Unmarshal(export, &ex); err != nil {
		t.Fatal(err)
	}
	if len(ex.Orders) != 1 || ex.Orders[0].OrderID != "1" || len(ex.Checkouts) != 1 {
		t.Fatalf("export %s", export)
	}
	n, err := s.RedactCustomer(ctx, sh.ID, sh.Domain, key, 0)
	if err != nil || n < 2 {
		t.Fatalf("redact: %d %v", n, err)
	}
	got, _ := s.OrderByID(ctx, sh.ID, 1)
	if got.Email != "" || got.CustomerID != nil || got.BrowserIP != "" || got.UserAgent != "" || got.RedactedAt == nil ||
		string(got.NoteAttributes) != "[]" || got.TotalMinor != 100 {
		t.Fatalf("after redact: %+v", got)
	}
	// a later orders/updated does not bring the personal data back
	later := order(sh.ID, 1, t0.Add(time.Hour), 100)
	mustUpsertOrder(t, s, later, store.Updated)
	if got, _ := s.OrderByID(ctx, sh.ID, 1); got.Email != "" || got.CustomerID != nil || got.BrowserIP != "" {
		t.Fatalf("personal data restored: %+v", got)
	}
	if got, _ := s.OrderByID(ctx, sh.ID, 2); got.Email != "other@example.com" {
		t.Fatal("another customer's order was redacted")
	}
	if c, _ := s.CheckoutByToken(ctx, sh.ID, "t"); c.Email != "" || c.AbandonedCheckoutURL != "" || c.RedactedAt == nil {
		t.Fatalf("checkout after redact: %+v", c)
	}
}
