package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/coupontrail/coupontrail/app/shopify/payload"
	"github.com/coupontrail/coupontrail/app/store"
)

// The order, refund and checkout topics only RECORD what Shopify sends, in the
// delivery's transaction (every store call uses the ctx they are given, so the
// rows commit together with the delivery's status). Attribution hangs off
// these handlers later. Each topic converges whatever the delivery order:
// orders and checkouts keep their newest version, refunds are keyed by id and
// may arrive before their order.

// malformed wraps a payload error so the delivery is marked failed, not retried.
func malformed(d *store.Delivery, err error) error {
	return fmt.Errorf("%w: %s: %v", ErrMalformed, d.Topic, err)
}

// orderEvent records orders/create, orders/paid and orders/updated: the
// order's newest version and the refunds embedded in it.
func (j *Jobs) orderEvent(ctx context.Context, d *store.Delivery) error {
	sh, o, err := j.recordOrder(ctx, d, true)
	if err != nil {
		return err
	}
	return j.AttributeOrder(ctx, sh, o.ID, "webhook:"+d.WebhookID)
}

// orderCancelled records orders/cancelled: the order version it carries and
// its cancellation, which sticks even when a newer version was applied first.
func (j *Jobs) orderCancelled(ctx context.Context, d *store.Delivery) error {
	sh, o, err := j.recordOrder(ctx, d, false)
	if err != nil {
		return err
	}
	at := o.UpdatedAt // a cancel payload without cancelled_at still cancels
	if o.CancelledAt != nil {
		at = *o.CancelledAt
	}
	if at.IsZero() {
		return malformed(d, errors.New("no cancelled_at or updated_at"))
	}
	if err := j.Store.MarkOrderCancelled(ctx, sh.ID, o.ID, at, o.CancelReason, j.Now()); err != nil {
		return err
	}
	return j.AttributeOrder(ctx, sh, o.ID, "webhook:"+d.WebhookID)
}

// recordOrder parses an orders/* delivery and upserts the order and its
// embedded refunds. final says the caller changes the order no further, so
// a batch may keep the row as stored for attribution.
func (j *Jobs) recordOrder(ctx context.Context, d *store.Delivery, final bool) (*store.Shop, *payload.Order, error) {
	o, err := parsedOrder(ctx, d)
	if err != nil {
		return nil, nil, malformed(d, err)
	}
	sh, err := j.shopFor(ctx, d)
	if err != nil {
		return nil, nil, err
	}
	m := memoOf(ctx)
	var row *store.Order
	var rec store.OrderRecorded
	if pre, ok := m.takeRecorded(d.ID); ok {
		row, rec = pre.row, pre.rec // recorded with its batch
	} else {
		if row, err = orderRow(sh, o, d); err != nil {
			return nil, nil, malformed(d, err)
		}
		if rec, err = j.Store.RecordOrder(ctx, row, j.Now()); err != nil {
			return nil, nil, err
		}
	}
	outcome := rec.Outcome
	if m != nil && outcome == store.Inserted {
		var f freshOrder
		if final && len(o.Refunds) == 0 { // embedded refunds change the row below
			f = freshOrder{row: rec.Stored, noRefunds: rec.Refunds == 0}
		}
		m.newOrders[[2]int64{sh.ID, o.ID}] = f
	}
	// The refunds an order payload carries are recorded too: a refunds/create
	// that never arrives still counts, and a repeat is a no-op.
	for i := range o.Refunds {
		rf := &o.Refunds[i]
		if rf.ID == 0 {
			continue
		}
		if rf.OrderID == 0 {
			rf.OrderID = o.ID
		}
		r, err := refundRow(sh, rf, row.Currency, d)
		if err != nil {
			return nil, nil, malformed(d, err)
		}
		if _, err := j.Store.UpsertRefund(ctx, r, j.Now()); err != nil {
			return nil, nil, err
		}
	}
	j.Log.DebugContext(ctx, "order recorded", "shop", sh.Domain, "order_id", o.ID, "topic", d.Topic,
		"webhook_id", d.WebhookID, "source", row.Source, "outcome", string(outcome))
	return sh, o, nil
}

// orderRow maps a parsed order payload onto the row the store keeps.
func orderRow(sh *store.Shop, o *payload.Order, d *store.Delivery) (*store.Order, error) {
	if o.Currency == "" && o.TotalPriceSet != nil {
		o.Currency = o.TotalPriceSet.ShopMoney.CurrencyCode
	}
	if o.Currency == "" {
		// REST's currency is the shop currency; very old payloads omit it.
		// With no shop currency known either, the amounts are unusable.
		o.Currency = sh.Currency
	}
	row := &store.Order{
		ShopID: sh.ID, OrderID: o.ID, AdminGraphQLAPIID: o.AdminGraphQLAPIID, Name: o.Name,
		CheckoutToken: o.CheckoutToken, Currency: strings.ToUpper(o.Currency), Country: o.Country(),
		LandingSite: o.LandingSite, ReferringSite: o.ReferringSite, BrowserIP: o.BrowserIP,
		SourceName: o.SourceName, FinancialStatus: o.FinancialStatus, Test: o.Test,
		OrderCreatedAt: o.CreatedAt, OrderUpdatedAt: o.UpdatedAt, CancelledAt: o.CancelledAt, CancelReason: o.CancelReason,
		Source: store.OrderSourceWebhook, LastWebhookID: d.WebhookID,
	}
	if IsReconcileDelivery(d) {
		row.Source = store.OrderSourceReconcile
	}
	// Shopify always sends updated_at; a payload without it (hand-made, or
	// trimmed by include_fields) is treated as the oldest possible version,
	// so any real version supersedes it and it never overwrites one.
	if row.OrderUpdatedAt.IsZero() {
		row.OrderUpdatedAt = o.CreatedAt
	}
	if row.OrderUpdatedAt.IsZero() {
		row.OrderUpdatedAt = unknownVersion
	}
	if row.OrderCreatedAt.IsZero() {
		row.OrderCreatedAt = receivedAt(d)
	}
	row.Email = firstNonEmpty(o.Email, o.ContactEmail)
	if c := o.Customer; c != nil {
		if c.ID != 0 {
			id := c.ID
			row.CustomerID = &id
		}
		row.Email = firstNonEmpty(row.Email, c.Email)
	}
	if cd := o.ClientDetails; cd != nil {
		row.BrowserIP = firstNonEmpty(cd.BrowserIP, row.BrowserIP)
		row.UserAgent = cd.UserAgent
	}
	var err error
	if row.TotalMinor, err = o.TotalMinor(); err != nil {
		return nil, fmt.Errorf("order %d total: %w", o.ID, err)
	}
	// Optional amounts stay nil when the payload does not carry them.
	opt := []struct {
		present bool
		dst     **int64
		get     func() (int64, error)
		name    string
	}{
		{o.SubtotalPrice != "" || o.SubtotalPriceSet != nil, &row.SubtotalMinor, o.SubtotalMinor, "subtotal"},
		{o.TotalDiscounts != "" || o.TotalDiscountsSet != nil, &row.DiscountMinor, o.TotalDiscountsMinor, "discounts"},
		{o.TotalShippingPriceSet != nil, &row.ShippingMinor, o.ShippingMinor, "shipping"},
		{o.CurrentTotalPrice != "" || o.CurrentTotalPriceSet != nil, &row.CurrentTotalMinor, o.CurrentTotalMinor, "current total"},
		{o.CurrentSubtotalPrice != "" || o.CurrentSubtotalPriceSet != nil, &row.CurrentSubtotalMinor, o.CurrentSubtotalMinor, "current subtotal"},
	}
	for _, f := range opt {
		if !f.present {
			continue
		}
		v, err := f.get()
		if err != nil {
			return nil, fmt.Errorf("order %d %s: %w", o.ID, f.name, err)
		}
		*f.dst = &v
	}
	for _, c := range o.DiscountCodes {
		row.DiscountCodes = append(row.DiscountCodes, c.Code)
	}
	for _, a := range o.DiscountApplications {
		if a.Type == "discount_code" && a.Code != "" {
			row.DiscountCodes = append(row.DiscountCodes, a.Code)
		}
	}
	row.DiscountCodes = store.NormalizeCodes(row.DiscountCodes)
	notes := o.NoteAttributes
	if notes == nil {
		notes = payload.NoteAttributes{}
	}
	if row.NoteAttributes, err = json.Marshal(notes); err != nil {
		return nil, fmt.Errorf("order %d note_attributes: %w", o.ID, err)
	}
	return row, nil
}

// refundCreated records refunds/create. The refund is kept even when its
// order has not arrived yet; the order's refunded_minor follows either way.
func (j *Jobs) refundCreated(ctx context.Context, d *store.Delivery) error {
	rf, err := parsedRefund(ctx, d)
	if err != nil {
		return malformed(d, err)
	}
	sh, err := j.shopFor(ctx, d)
	if err != nil {
		return err
	}
	// The refund's amounts are in the shop currency: take it from the order
	// when recorded, else from the refund's own shop_money bags, else the shop.
	currency := refundBagCurrency(rf)
	if o, err := j.Store.OrderByID(ctx, sh.ID, rf.OrderID); err == nil {
		currency = o.Currency
	} else if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	if currency == "" {
		currency = sh.Currency
	}
	for _, t := range rf.Transactions {
		if currency != "" {
			break
		}
		currency = t.Currency // the payment currency: the last resort
	}
	r, err := refundRow(sh, rf, currency, d)
	if err != nil {
		return malformed(d, err)
	}
	inserted, err := j.Store.UpsertRefund(ctx, r, j.Now())
	if err != nil {
		return err
	}
	j.Log.DebugContext(ctx, "refund recorded", "shop", sh.Domain, "order_id", rf.OrderID, "refund_id", rf.ID,
		"webhook_id", d.WebhookID, "amount_minor", r.AmountMinor, "new", inserted)
	return j.AttributeOrder(ctx, sh, rf.OrderID, "webhook:"+d.WebhookID)
}

// refundRow maps a parsed refund onto the row the store keeps.
//
// AmountMinor is the money returned to the buyer: the successful refund
// transactions (§3.3). When there are none yet (pending, or a restock-only
// refund) or they are in another currency than the shop's (multi-currency
// payments), it falls back to what the refund's lines, shipping and
// adjustments cover, which Shopify states in shop money.
func refundRow(sh *store.Shop, rf *payload.Refund, currency string, d *store.Delivery) (*store.Refund, error) {
	currency = strings.ToUpper(currency)
	amount, err := rf.TransactionsMinor(currency)
	if errors.Is(err, payload.ErrCurrencyMismatch) {
		amount, err = 0, nil
	}
	if err != nil {
		return nil, err
	}
	if amount == 0 {
		if amount, err = rf.AmountMinor(currency); err != nil {
			return nil, err
		}
	}
	lines, err := rf.LineSubtotalMinor(currency)
	if err != nil {
		return nil, err
	}
	created := rf.CreatedAt
	if created.IsZero() && rf.ProcessedAt != nil {
		created = *rf.ProcessedAt
	}
	if created.IsZero() {
		created = d.ReceivedAt
	}
	return &store.Refund{ShopID: sh.ID, RefundID: rf.ID, OrderID: rf.OrderID, AmountMinor: amount, LinesSubtotalMinor: lines,
		Currency: currency, RefundCreatedAt: created, WebhookID: d.WebhookID}, nil
}

// refundBagCurrency returns the shop currency named by the refund's first
// shop_money bag, or "".
func refundBagCurrency(rf *payload.Refund) string {
	bags := []*payload.MoneySet{}
	for _, li := range rf.RefundLineItems {
		bags = append(bags, li.SubtotalSet, li.TotalTaxSet)
	}
	for _, sl := range rf.RefundShippingLines {
		bags = append(bags, sl.SubtotalAmountSet)
	}
	for _, a := range rf.OrderAdjustments {
		bags = append(bags, a.AmountSet)
	}
	for _, b := range bags {
		if b != nil && b.ShopMoney.CurrencyCode != "" {
			return b.ShopMoney.CurrencyCode
		}
	}
	return ""
}

// checkoutEvent records checkouts/create and checkouts/update: the newest
// version of the checkout, keyed by token, and schedules its abandonment
// check (jobs/carts.go).
func (j *Jobs) checkoutEvent(ctx context.Context, d *store.Delivery) error {
	c, err := payload.ParseCheckout(d.Payload)
	if err != nil {
		return malformed(d, err)
	}
	sh, err := j.shopFor(ctx, d)
	if err != nil {
		return err
	}
	row, err := checkoutRow(sh, c, d)
	if err != nil {
		return malformed(d, err)
	}
	outcome, err := j.Store.UpsertCheckout(ctx, row, j.Now())
	if err != nil {
		return err
	}
	j.Log.DebugContext(ctx, "checkout recorded", "shop", sh.Domain, "checkout_token", c.Token, "topic", d.Topic,
		"webhook_id", d.WebhookID, "outcome", string(outcome))
	// The abandonment check runs after the shop's delay; a newer version
	// moves it, an older one (Stale) leaves it alone.
	return j.scheduleCartCheck(ctx, sh, row)
}

// checkoutRow maps a parsed checkout onto the row the store keeps.
func checkoutRow(sh *store.Shop, c *payload.Checkout, d *store.Delivery) (*store.Checkout, error) {
	if c.Currency == "" {
		c.Currency = sh.Currency
	}
	total, err := c.TotalMinor()
	if err != nil {
		return nil, fmt.Errorf("checkout %s total: %w", c.Token, err)
	}
	row := &store.Checkout{
		ShopID: sh.ID, Token: c.Token, CartToken: c.CartToken, Email: c.Email, Currency: strings.ToUpper(c.Currency),
		TotalMinor: total, AbandonedCheckoutURL: c.AbandonedCheckoutURL, CompletedAt: c.CompletedAt,
		CheckoutCreatedAt: c.CreatedAt, CheckoutUpdatedAt: c.UpdatedAt,
	}
	if cu := c.Customer; cu != nil {
		if cu.ID != 0 {
			id := cu.ID
			row.CustomerID = &id
		}
		row.Email = firstNonEmpty(row.Email, cu.Email)
	}
	if row.CheckoutUpdatedAt.IsZero() {
		row.CheckoutUpdatedAt = c.CreatedAt
	}
	if row.CheckoutUpdatedAt.IsZero() {
		row.CheckoutUpdatedAt = unknownVersion // as for orders: the oldest version
	}
	if row.CheckoutCreatedAt.IsZero() {
		row.CheckoutCreatedAt = receivedAt(d)
	}
	for _, dc := range c.DiscountCodes {
		row.DiscountCodes = append(row.DiscountCodes, dc.Code)
	}
	row.DiscountCodes = store.NormalizeCodes(row.DiscountCodes)
	return row, nil
}

// unknownVersion stands for a missing updated_at: older than any real one.
var unknownVersion = time.Unix(0, 0).UTC()

// receivedAt is the best estimate of when Shopify produced d.
func receivedAt(d *store.Delivery) time.Time {
	if d.TriggeredAt != nil && !d.TriggeredAt.IsZero() {
		return *d.TriggeredAt
	}
	return d.ReceivedAt
}

func firstNonEmpty(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}
