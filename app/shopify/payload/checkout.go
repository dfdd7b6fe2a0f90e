package payload

import "time"

// Checkout is the checkouts/create and checkouts/update payload (the
// abandoned-checkout source). Key it by Token: 2026-04 removed id from checkout
// webhooks, and orders link back through Order.CheckoutToken.
type Checkout struct {
	// LegacyID is the numeric or string id that pre-2026-04 payloads and the
	// REST checkout resources carry. Never key on it.
	LegacyID  FlexString `json:"id,omitempty"`
	Token     string     `json:"token"`
	CartToken string     `json:"cart_token,omitempty"`
	// OrderID is set by the REST Checkout resource once completed.
	OrderID              int64     `json:"order_id,omitempty"`
	Email                string    `json:"email,omitempty"`
	Phone                string    `json:"phone,omitempty"`
	Customer             *Customer `json:"customer,omitempty"`
	Currency             string    `json:"currency,omitempty"`
	PresentmentCurrency  string    `json:"presentment_currency,omitempty"`
	TotalPrice           Decimal   `json:"total_price,omitempty"`
	SubtotalPrice        Decimal   `json:"subtotal_price,omitempty"`
	TotalDiscounts       Decimal   `json:"total_discounts,omitempty"`
	TotalTax             Decimal   `json:"total_tax,omitempty"`
	AbandonedCheckoutURL string    `json:"abandoned_checkout_url,omitempty"`
	// CompletedAt is non-nil once the checkout became an order: not abandoned.
	CompletedAt    *time.Time         `json:"completed_at,omitempty"`
	CreatedAt      time.Time          `json:"created_at"`
	UpdatedAt      time.Time          `json:"updated_at"`
	LineItems      []CheckoutLineItem `json:"line_items,omitempty"`
	DiscountCodes  []DiscountCode     `json:"discount_codes,omitempty"`
	LandingSite    string             `json:"landing_site,omitempty"`
	ReferringSite  string             `json:"referring_site,omitempty"`
	SourceName     string             `json:"source_name,omitempty"`
	NoteAttributes NoteAttributes     `json:"note_attributes,omitempty"`

	BuyerAcceptsMarketing bool `json:"buyer_accepts_marketing,omitempty"`
}

// CheckoutLineItem is one checkout line. Checkout lines are identified by a
// string key (the id is a hex string in some representations), not an int64.
type CheckoutLineItem struct {
	ID        FlexString `json:"id,omitempty"`
	Key       FlexString `json:"key,omitempty"`
	ProductID int64      `json:"product_id,omitempty"`
	VariantID int64      `json:"variant_id,omitempty"`
	Title     string     `json:"title,omitempty"`
	SKU       string     `json:"sku,omitempty"`
	Quantity  int        `json:"quantity"`
	Price     Decimal    `json:"price,omitempty"`
	LinePrice Decimal    `json:"line_price,omitempty"`
}

// TotalMinor returns total_price in shop-currency minor units.
func (c *Checkout) TotalMinor() (int64, error) {
	return c.TotalPrice.Minor(c.Currency)
}

// SubtotalMinor returns subtotal_price in shop-currency minor units.
func (c *Checkout) SubtotalMinor() (int64, error) {
	return c.SubtotalPrice.Minor(c.Currency)
}

// Abandoned reports whether the checkout has not (yet) become an order.
func (c *Checkout) Abandoned() bool { return c.CompletedAt == nil }
