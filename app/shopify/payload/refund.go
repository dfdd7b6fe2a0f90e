package payload

import (
	"fmt"
	"strings"
	"time"
)

// Refund is the refunds/create payload (and each element of Order.Refunds).
type Refund struct {
	ID                  int64                `json:"id"`
	OrderID             int64                `json:"order_id"`
	AdminGraphQLAPIID   string               `json:"admin_graphql_api_id,omitempty"`
	CreatedAt           time.Time            `json:"created_at"`
	ProcessedAt         *time.Time           `json:"processed_at,omitempty"`
	Note                string               `json:"note,omitempty"`
	Restock             bool                 `json:"restock,omitempty"`
	RefundLineItems     []RefundLineItem     `json:"refund_line_items,omitempty"`
	Transactions        []Transaction        `json:"transactions,omitempty"`
	OrderAdjustments    []OrderAdjustment    `json:"order_adjustments,omitempty"`
	RefundShippingLines []RefundShippingLine `json:"refund_shipping_lines,omitempty"`
}

// RefundLineItem is one refunded line. Subtotal is after the line's discount
// allocations and before tax; Shopify sends Subtotal and TotalTax as JSON
// numbers, which [Decimal] keeps exact.
type RefundLineItem struct {
	ID          int64     `json:"id"`
	LineItemID  int64     `json:"line_item_id"`
	Quantity    int       `json:"quantity"`
	RestockType string    `json:"restock_type,omitempty"`
	Subtotal    Decimal   `json:"subtotal,omitempty"`
	SubtotalSet *MoneySet `json:"subtotal_set,omitempty"`
	TotalTax    Decimal   `json:"total_tax,omitempty"`
	TotalTaxSet *MoneySet `json:"total_tax_set,omitempty"`
}

// Transaction is a money movement attached to a refund. Only kind "refund"
// with status "success" returned money to the buyer.
type Transaction struct {
	ID                int64   `json:"id"`
	AdminGraphQLAPIID string  `json:"admin_graphql_api_id,omitempty"`
	OrderID           int64   `json:"order_id,omitempty"`
	ParentID          int64   `json:"parent_id,omitempty"`
	Kind              string  `json:"kind,omitempty"`
	Status            string  `json:"status,omitempty"`
	Amount            Decimal `json:"amount,omitempty"`
	Currency          string  `json:"currency,omitempty"`
	Gateway           string  `json:"gateway,omitempty"`
}

// OrderAdjustment reconciles a refund with the order. Amounts are signed from
// the order's point of view: a shipping_refund of 5.00 arrives as "-5.00"; a
// refund_discrepancy is positive when less money went back than the refunded
// lines are worth.
type OrderAdjustment struct {
	ID           int64     `json:"id"`
	OrderID      int64     `json:"order_id,omitempty"`
	RefundID     int64     `json:"refund_id,omitempty"`
	Kind         string    `json:"kind,omitempty"` // shipping_refund, refund_discrepancy
	Reason       string    `json:"reason,omitempty"`
	Amount       Decimal   `json:"amount,omitempty"`
	AmountSet    *MoneySet `json:"amount_set,omitempty"`
	TaxAmount    Decimal   `json:"tax_amount,omitempty"`
	TaxAmountSet *MoneySet `json:"tax_amount_set,omitempty"`
}

// RefundShippingLine is refunded shipping (newer payloads; older ones express
// it only as a shipping_refund order adjustment).
type RefundShippingLine struct {
	ID                int64     `json:"id,omitempty"`
	ShippingLineID    int64     `json:"shipping_line_id,omitempty"`
	SubtotalAmountSet *MoneySet `json:"subtotal_amount_set,omitempty"`
	TotalTaxAmountSet *MoneySet `json:"total_tax_amount_set,omitempty"`
}

// LineSubtotalMinor sums the refunded lines' subtotals (after discounts, before
// tax) in shop-currency minor units: the usual commission claw-back base.
func (r *Refund) LineSubtotalMinor(currency string) (int64, error) {
	var sum int64
	for i, li := range r.RefundLineItems {
		v, err := shopMinor(li.SubtotalSet, li.Subtotal, currency)
		if err != nil {
			return 0, fmt.Errorf("refund %d line %d subtotal: %w", r.ID, i, err)
		}
		sum += v
	}
	return sum, nil
}

// AmountMinor computes the amount refunded to the buyer in shop-currency minor
// units from the refund's own lines (§3.3): refunded line items (subtotal plus
// tax) + refunded shipping − order adjustments.
//
// Shipping is counted once: from refund_shipping_lines when present, otherwise
// from shipping_refund order adjustments (negated; they are negative). When
// both are present they describe the same money, so the shipping_refund
// adjustments are skipped. Other adjustments (refund_discrepancy) are
// subtracted with their tax. A restock-only refund yields 0.
//
// For a consistent refund this equals the sum of successful refund
// transactions ([Refund.TransactionsMinor]); Shopify's recorded examples
// include a shipping-only refund and a refund with a refund_discrepancy
// adjustment where it does. Use TransactionsMinor for the money that actually
// moved (it may be partial or pending) and this for what the refund covers.
func (r *Refund) AmountMinor(currency string) (int64, error) {
	var sum int64
	for i, li := range r.RefundLineItems {
		sub, err := shopMinor(li.SubtotalSet, li.Subtotal, currency)
		if err != nil {
			return 0, fmt.Errorf("refund %d line %d subtotal: %w", r.ID, i, err)
		}
		tax, err := shopMinor(li.TotalTaxSet, li.TotalTax, currency)
		if err != nil {
			return 0, fmt.Errorf("refund %d line %d tax: %w", r.ID, i, err)
		}
		sum += sub + tax
	}
	haveShippingLines := len(r.RefundShippingLines) > 0
	for i, sl := range r.RefundShippingLines {
		sub, err := shopMinor(sl.SubtotalAmountSet, "", currency)
		if err != nil {
			return 0, fmt.Errorf("refund %d shipping line %d: %w", r.ID, i, err)
		}
		tax, err := shopMinor(sl.TotalTaxAmountSet, "", currency)
		if err != nil {
			return 0, fmt.Errorf("refund %d shipping line %d tax: %w", r.ID, i, err)
		}
		sum += sub + tax
	}
	for i, a := range r.OrderAdjustments {
		if haveShippingLines && a.Kind == "shipping_refund" {
			continue
		}
		amt, err := shopMinor(a.AmountSet, a.Amount, currency)
		if err != nil {
			return 0, fmt.Errorf("refund %d adjustment %d: %w", r.ID, i, err)
		}
		tax, err := shopMinor(a.TaxAmountSet, a.TaxAmount, currency)
		if err != nil {
			return 0, fmt.Errorf("refund %d adjustment %d tax: %w", r.ID, i, err)
		}
		sum -= amt + tax
	}
	return sum, nil
}

// TransactionsMinor sums successful refund transactions (kind "refund", status
// "success") in minor units of currency: the money that actually moved.
// Transactions are in the payment currency; one in another currency is an
// [ErrCurrencyMismatch] error rather than a silent mix.
func (r *Refund) TransactionsMinor(currency string) (int64, error) {
	var sum int64
	for i, t := range r.Transactions {
		if t.Kind != "refund" || t.Status != "success" {
			continue
		}
		if t.Currency != "" && !strings.EqualFold(t.Currency, currency) {
			return 0, fmt.Errorf("refund %d transaction %d: %w: %s, want %s", r.ID, i, ErrCurrencyMismatch, t.Currency, currency)
		}
		v, err := t.Amount.Minor(currency)
		if err != nil {
			return 0, fmt.Errorf("refund %d transaction %d: %w", r.ID, i, err)
		}
		sum += v
	}
	return sum, nil
}
