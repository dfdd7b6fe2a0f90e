package payload

import (
	"bytes"
	"encoding/json"
	"sort"
	"strings"
	"time"
)

// Order is the orders/create, orders/paid, orders/updated and orders/cancelled
// payload (REST Order, API 2026-07), reduced to what attribution needs.
// Money fields keep the flat decimal string and, where Shopify sends one, the
// *_set bag; use the *Minor methods, which prefer shop_money.
type Order struct {
	ID                int64  `json:"id"`
	AdminGraphQLAPIID string `json:"admin_graphql_api_id,omitempty"`
	Name              string `json:"name,omitempty"`
	OrderNumber       int64  `json:"order_number,omitempty"`
	Email             string `json:"email,omitempty"`
	ContactEmail      string `json:"contact_email,omitempty"`

	Customer *Customer `json:"customer,omitempty"`

	CreatedAt   time.Time  `json:"created_at"`
	UpdatedAt   time.Time  `json:"updated_at"`
	ProcessedAt *time.Time `json:"processed_at,omitempty"`
	// CancelledAt is non-nil once the order is cancelled: void the conversion.
	CancelledAt  *time.Time `json:"cancelled_at,omitempty"`
	CancelReason string     `json:"cancel_reason,omitempty"`

	// Currency is the shop currency; PresentmentCurrency is the buyer's.
	Currency            string `json:"currency,omitempty"`
	PresentmentCurrency string `json:"presentment_currency,omitempty"`

	TotalPrice            Decimal   `json:"total_price,omitempty"`
	TotalPriceSet         *MoneySet `json:"total_price_set,omitempty"`
	SubtotalPrice         Decimal   `json:"subtotal_price,omitempty"`
	SubtotalPriceSet      *MoneySet `json:"subtotal_price_set,omitempty"`
	TotalDiscounts        Decimal   `json:"total_discounts,omitempty"`
	TotalDiscountsSet     *MoneySet `json:"total_discounts_set,omitempty"`
	TotalTax              Decimal   `json:"total_tax,omitempty"`
	TotalTaxSet           *MoneySet `json:"total_tax_set,omitempty"`
	TotalShippingPriceSet *MoneySet `json:"total_shipping_price_set,omitempty"`
	// Current* amounts are after refunds, edits and removals: the best base for
	// a net commission.
	CurrentTotalPrice        Decimal   `json:"current_total_price,omitempty"`
	CurrentTotalPriceSet     *MoneySet `json:"current_total_price_set,omitempty"`
	CurrentSubtotalPrice     Decimal   `json:"current_subtotal_price,omitempty"`
	CurrentSubtotalPriceSet  *MoneySet `json:"current_subtotal_price_set,omitempty"`
	CurrentTotalDiscounts    Decimal   `json:"current_total_discounts,omitempty"`
	CurrentTotalDiscountsSet *MoneySet `json:"current_total_discounts_set,omitempty"`

	// DiscountCodes holds the codes as the buyer typed them; codes are
	// case-insensitive, so normalise before matching.
	DiscountCodes        []DiscountCode        `json:"discount_codes,omitempty"`
	DiscountApplications []DiscountApplication `json:"discount_applications,omitempty"`
	LineItems            []LineItem            `json:"line_items,omitempty"`
	Refunds              []Refund              `json:"refunds,omitempty"`

	ClientDetails *ClientDetails `json:"client_details,omitempty"`
	// ShippingAddress and BillingAddress are read for their country only
	// (the fraud layer's "code seen in new countries" evidence).
	ShippingAddress *Address       `json:"shipping_address,omitempty"`
	BillingAddress  *Address       `json:"billing_address,omitempty"`
	BrowserIP       string         `json:"browser_ip,omitempty"`
	LandingSite     string         `json:"landing_site,omitempty"`
	ReferringSite   string         `json:"referring_site,omitempty"`
	SourceName      string         `json:"source_name,omitempty"`
	CheckoutToken   string         `json:"checkout_token,omitempty"`
	Token           string         `json:"token,omitempty"`
	CartToken       string         `json:"cart_token,omitempty"`
	Note            string         `json:"note,omitempty"`
	NoteAttributes  NoteAttributes `json:"note_attributes,omitempty"`
	Tags            string         `json:"tags,omitempty"`

	FinancialStatus   string `json:"financial_status,omitempty"`
	FulfillmentStatus string `json:"fulfillment_status,omitempty"`
	// Test marks test-gateway orders; exclude them from payouts.
	Test bool `json:"test,omitempty"`
}

// Customer is the customer embedded in order and checkout payloads. It is nil
// for guest and many POS orders. Email is protected customer data.
type Customer struct {
	ID                int64  `json:"id"`
	Email             string `json:"email,omitempty"`
	Phone             string `json:"phone,omitempty"`
	AdminGraphQLAPIID string `json:"admin_graphql_api_id,omitempty"`
}

// DiscountCode is one entry of an order's discount_codes. Type is
// "percentage", "fixed_amount" or "shipping"; Amount is the money it took off,
// in shop currency.
type DiscountCode struct {
	Code   string  `json:"code"`
	Amount Decimal `json:"amount,omitempty"`
	Type   string  `json:"type,omitempty"`
}

// DiscountApplication is one entry of an order's ordered discount_applications;
// line-item discount allocations point into it by index.
type DiscountApplication struct {
	Type             string  `json:"type,omitempty"` // discount_code, manual, script, automatic
	Code             string  `json:"code,omitempty"`
	Title            string  `json:"title,omitempty"`
	Description      string  `json:"description,omitempty"`
	Value            Decimal `json:"value,omitempty"`
	ValueType        string  `json:"value_type,omitempty"`        // percentage, fixed_amount
	AllocationMethod string  `json:"allocation_method,omitempty"` // across, each, one
	TargetSelection  string  `json:"target_selection,omitempty"`  // all, entitled, explicit
	TargetType       string  `json:"target_type,omitempty"`       // line_item, shipping_line
}

// LineItem is one order line.
type LineItem struct {
	ID                  int64                `json:"id"`
	AdminGraphQLAPIID   string               `json:"admin_graphql_api_id,omitempty"`
	ProductID           int64                `json:"product_id,omitempty"`
	VariantID           int64                `json:"variant_id,omitempty"`
	Title               string               `json:"title,omitempty"`
	SKU                 string               `json:"sku,omitempty"`
	Quantity            int                  `json:"quantity"`
	CurrentQuantity     *int                 `json:"current_quantity,omitempty"`
	Price               Decimal              `json:"price,omitempty"`
	PriceSet            *MoneySet            `json:"price_set,omitempty"`
	TotalDiscount       Decimal              `json:"total_discount,omitempty"`
	TotalDiscountSet    *MoneySet            `json:"total_discount_set,omitempty"`
	DiscountAllocations []DiscountAllocation `json:"discount_allocations,omitempty"`
	GiftCard            bool                 `json:"gift_card,omitempty"`
}

// DiscountAllocation is the part of a discount application allocated to a line.
type DiscountAllocation struct {
	Amount                   Decimal   `json:"amount,omitempty"`
	AmountSet                *MoneySet `json:"amount_set,omitempty"`
	DiscountApplicationIndex int       `json:"discount_application_index"`
}

// ClientDetails describes the browser session that placed the order. Often
// nil for POS, draft and API orders.
type ClientDetails struct {
	BrowserIP      string `json:"browser_ip,omitempty"`
	UserAgent      string `json:"user_agent,omitempty"`
	AcceptLanguage string `json:"accept_language,omitempty"`
	SessionHash    string `json:"session_hash,omitempty"`
}

// NoteAttributes is the list of cart attributes. Order and abandoned-checkout
// payloads send [{name, value}]; the REST Checkout resource sends an object
// {name: value}, which decodes to the same list sorted by name.
type NoteAttributes []NoteAttribute

// UnmarshalJSON accepts an array of {name, value}, an object or null.
func (n *NoteAttributes) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '{' {
		var m map[string]FlexString
		if err := json.Unmarshal(b, &m); err != nil {
			return err
		}
		out := make(NoteAttributes, 0, len(m))
		for k, v := range m {
			out = append(out, NoteAttribute{Name: k, Value: v})
		}
		sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
		*n = out
		return nil
	}
	var list []NoteAttribute
	if err := json.Unmarshal(b, &list); err != nil {
		return err
	}
	*n = list
	return nil
}

// Get returns the value of the first attribute named name.
func (n NoteAttributes) Get(name string) (string, bool) {
	for _, a := range n {
		if a.Name == name {
			return string(a.Value), true
		}
	}
	return "", false
}

// NoteAttribute is a cart attribute carried onto the order; the reliable way
// to carry a partner or click id from storefront to order.
type NoteAttribute struct {
	Name  string     `json:"name"`
	Value FlexString `json:"value"`
}

// TotalMinor returns total_price in shop-currency minor units.
func (o *Order) TotalMinor() (int64, error) {
	return shopMinor(o.TotalPriceSet, o.TotalPrice, o.Currency)
}

// SubtotalMinor returns subtotal_price (after discounts, before shipping and
// tax) in shop-currency minor units.
func (o *Order) SubtotalMinor() (int64, error) {
	return shopMinor(o.SubtotalPriceSet, o.SubtotalPrice, o.Currency)
}

// TotalDiscountsMinor returns total_discounts in shop-currency minor units.
func (o *Order) TotalDiscountsMinor() (int64, error) {
	return shopMinor(o.TotalDiscountsSet, o.TotalDiscounts, o.Currency)
}

// TotalTaxMinor returns total_tax in shop-currency minor units.
func (o *Order) TotalTaxMinor() (int64, error) {
	return shopMinor(o.TotalTaxSet, o.TotalTax, o.Currency)
}

// ShippingMinor returns total_shipping_price_set.shop_money in minor units
// (zero when absent; there is no flat field).
func (o *Order) ShippingMinor() (int64, error) {
	return shopMinor(o.TotalShippingPriceSet, "", o.Currency)
}

// CurrentTotalMinor returns current_total_price (after refunds and edits).
func (o *Order) CurrentTotalMinor() (int64, error) {
	return shopMinor(o.CurrentTotalPriceSet, o.CurrentTotalPrice, o.Currency)
}

// CurrentSubtotalMinor returns current_subtotal_price (after refunds and edits).
func (o *Order) CurrentSubtotalMinor() (int64, error) {
	return shopMinor(o.CurrentSubtotalPriceSet, o.CurrentSubtotalPrice, o.Currency)
}

// CurrentTotalDiscountsMinor returns current_total_discounts.
func (o *Order) CurrentTotalDiscountsMinor() (int64, error) {
	return shopMinor(o.CurrentTotalDiscountsSet, o.CurrentTotalDiscounts, o.Currency)
}

// AmountMinor returns the discount code's amount in shop-currency minor units.
func (d DiscountCode) AmountMinor(currency string) (int64, error) {
	return d.Amount.Minor(currency)
}

// PriceMinor returns the unit price in shop-currency minor units.
func (li LineItem) PriceMinor(currency string) (int64, error) {
	return shopMinor(li.PriceSet, li.Price, currency)
}

// TotalDiscountMinor returns the line's total_discount in shop-currency minor
// units. Newer payloads put line discounts in DiscountAllocations instead; see
// AllocatedDiscountMinor.
func (li LineItem) TotalDiscountMinor(currency string) (int64, error) {
	return shopMinor(li.TotalDiscountSet, li.TotalDiscount, currency)
}

// AllocatedDiscountMinor sums the line's discount allocations in shop-currency
// minor units.
func (li LineItem) AllocatedDiscountMinor(currency string) (int64, error) {
	var sum int64
	for _, a := range li.DiscountAllocations {
		v, err := shopMinor(a.AmountSet, a.Amount, currency)
		if err != nil {
			return 0, err
		}
		sum += v
	}
	return sum, nil
}

// Address is the part of an order address the app reads.
type Address struct {
	CountryCode string `json:"country_code,omitempty"`
}

// Country is the order's ISO country: the shipping address's, else the
// billing address's, else "".
func (o *Order) Country() string {
	for _, a := range []*Address{o.ShippingAddress, o.BillingAddress} {
		if a != nil && a.CountryCode != "" {
			return strings.ToUpper(a.CountryCode)
		}
	}
	return ""
}
