package devstore

import (
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// OrderInput is the body of POST /_dev/shops/{shop}/orders (PRODUCT.md §12) and of checkouts.
type OrderInput struct {
	Email         string          `json:"email"`
	CustomerID    FlexID          `json:"customer_id"`
	LineItems     []LineItemInput `json:"line_items"`
	DiscountCodes []string        `json:"discount_codes"`
	BrowserIP     string          `json:"browser_ip"`
	UserAgent     string          `json:"user_agent"`
	Country       string          `json:"country"`
	LandingSite   string          `json:"landing_site"`
	ReferringSite string          `json:"referring_site"`
	CheckoutToken string          `json:"checkout_token"`
	Currency      string          `json:"currency"`
	CreatedAt     *time.Time      `json:"created_at"`
	// VisitorID applies the code a visitor picked up from a /discount/{code} link when DiscountCodes is empty.
	VisitorID string `json:"visitor_id"`
	// FinancialStatus defaults to "paid" (which also sends orders/paid); "pending" skips orders/paid.
	FinancialStatus string          `json:"financial_status"`
	SourceName      string          `json:"source_name"`
	NoteAttributes  []NoteAttribute `json:"note_attributes"`
	Test            bool            `json:"test"`
	Tags            string          `json:"tags"`
}

// NoteAttribute is a cart attribute carried onto the order.
type NoteAttribute struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// LineItemInput is one line of an OrderInput.
type LineItemInput struct {
	Title     string `json:"title"`
	Price     string `json:"price"`
	Quantity  int    `json:"quantity"`
	ProductID FlexID `json:"product_id"`
	VariantID FlexID `json:"variant_id"`
	SKU       string `json:"sku"`
}

// APIError is a control-API error: {"error":{"code","message"}} with an HTTP status.
type APIError struct {
	Status  int    `json:"-"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Error implements error.
func (e *APIError) Error() string { return e.Code + ": " + e.Message }

func apiErr(status int, code, format string, a ...any) *APIError {
	return &APIError{Status: status, Code: code, Message: fmt.Sprintf(format, a...)}
}

type lineItem struct {
	id, productID, variantID int64
	title, sku               string
	price                    cents
	quantity, refunded       int
	discount                 cents // allocated order-level discount for the whole line
}

type appliedCode struct {
	code   string
	amount cents
	typ    string
	value  string
	disc   *discount
}

type refund struct {
	id        int64
	createdAt time.Time
	amount    cents
	lines     []refundLine
	txID      int64
}

type refundLine struct {
	id       int64
	line     *lineItem
	quantity int
	subtotal cents
}

type order struct {
	id, number                int64
	shop                      *shop
	in                        OrderInput
	customerID                int64
	createdAt, updatedAt      time.Time
	cancelledAt               *time.Time
	currency, presentment     string
	lines                     []*lineItem
	codes                     []appliedCode
	subtotalBefore, discounts cents
	refunds                   []*refund
	financial                 string
	txID                      int64
	token, checkoutToken      string
	confirmation              string
}

func (o *order) total() cents { return o.subtotalBefore - o.discounts }

func (o *order) refunded() cents {
	var r cents
	for _, rf := range o.refunds {
		r += rf.amount
	}
	return r
}

// FlexID is a Shopify id given as a JSON number, a numeric string or a gid ("gid://shopify/Customer/123").
type FlexID int64

// UnmarshalJSON accepts 123, "123", "gid://shopify/X/123" and null.
func (f *FlexID) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	if s == "null" || s == "" {
		*f = 0
		return nil
	}
	if i := strings.LastIndexByte(s, '/'); i >= 0 && strings.HasPrefix(s, "gid://") {
		s = s[i+1:]
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return fmt.Errorf("invalid id %s", b)
	}
	*f = FlexID(v)
	return nil
}

func toInt64(f FlexID) int64 { return int64(f) }

func (s *Store) shopLocked(domain string) (*shop, *APIError) {
	sh, ok := s.shops[domain]
	if !ok {
		return nil, apiErr(http.StatusNotFound, "shop_not_found", "no shop %s; create it with POST /_dev/shops", domain)
	}
	return sh, nil
}

// CreateOrder creates an order as a checkout would, enforcing discount code rules like Shopify (unknown, inactive
// or used-up codes are refused), and delivers orders/create (and orders/paid). It returns the order as its webhook
// carries it.
func (s *Store) CreateOrder(domain string, in OrderInput) (map[string]any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sh, aerr := s.shopLocked(domain)
	if aerr != nil {
		return nil, aerr
	}
	o, aerr := s.createOrderLocked(sh, in)
	if aerr != nil {
		return nil, aerr
	}
	return s.orderJSONLocked(o), nil
}

func (s *Store) createOrderLocked(sh *shop, in OrderInput) (*order, *APIError) {
	if len(in.LineItems) == 0 {
		return nil, apiErr(http.StatusUnprocessableEntity, "line_items_required", "an order needs at least one line item")
	}
	now := s.now()
	o := &order{shop: sh, in: in, createdAt: now, updatedAt: now, currency: sh.currency, presentment: sh.currency,
		financial: "paid"}
	if in.CreatedAt != nil {
		o.createdAt, o.updatedAt = in.CreatedAt.UTC(), in.CreatedAt.UTC()
	}
	if in.Currency != "" {
		o.presentment = in.Currency
	}
	if in.FinancialStatus != "" {
		o.financial = in.FinancialStatus
	}
	var qty int64
	for i, li := range in.LineItems {
		p, err := parseCents(li.Price)
		if err != nil || p < 0 {
			return nil, apiErr(http.StatusUnprocessableEntity, "invalid_price", "line_items[%d].price %q is not a decimal amount", i, li.Price)
		}
		q := li.Quantity
		if q <= 0 {
			q = 1
		}
		pid := toInt64(li.ProductID)
		if pid == 0 {
			pid = s.ids.id("Product")
		}
		vid := toInt64(li.VariantID)
		if vid == 0 {
			vid = pid + 33_000_000_000_000
		}
		title := li.Title
		if title == "" {
			title = "Product " + strconv.Itoa(i+1)
		}
		o.lines = append(o.lines, &lineItem{id: s.ids.id("LineItem"), productID: pid, variantID: vid, title: title,
			sku: li.SKU, price: p, quantity: q})
		o.subtotalBefore += p * cents(q)
		qty += int64(q)
	}
	customerKey := strings.ToLower(in.Email)
	if cid := toInt64(in.CustomerID); cid != 0 {
		o.customerID = cid
		if customerKey == "" {
			customerKey = strconv.FormatInt(cid, 10)
		}
	} else if in.Email != "" {
		cid, ok := sh.customers[customerKey]
		if !ok {
			cid = s.ids.id("Customer")
			sh.customers[customerKey] = cid
		}
		o.customerID = cid
	}

	codes := in.DiscountCodes
	if len(codes) == 0 && in.VisitorID != "" {
		if v, ok := sh.visitors[in.VisitorID]; ok {
			codes = []string{v.code}
		}
	}
	if len(codes) > 5 {
		return nil, apiErr(http.StatusUnprocessableEntity, "too_many_discount_codes", "at most 5 discount codes can be applied")
	}
	// Validate every code before using any, so a refused order changes nothing.
	type use struct {
		rc *redeemCode
		d  *discount
	}
	var uses []use
	seen := map[string]bool{}
	for _, raw := range codes {
		n := normCode(raw)
		if seen[n] {
			continue
		}
		seen[n] = true
		rc, ok := sh.codes[n]
		if !ok {
			return nil, apiErr(http.StatusUnprocessableEntity, "discount_code_invalid", "Discount code %q is not valid", raw)
		}
		d := sh.discounts[rc.discountID]
		switch st := d.status(o.createdAt); st {
		case "EXPIRED":
			return nil, apiErr(http.StatusUnprocessableEntity, "discount_code_expired", "Discount code %q has expired or was deactivated", raw)
		case "SCHEDULED":
			return nil, apiErr(http.StatusUnprocessableEntity, "discount_code_not_active", "Discount code %q is not active yet", raw)
		}
		// usageLimit is enforced per redeem code, as the REST price-rule docs describe ("per discount code").
		if d.usageLimit != nil && rc.usage >= *d.usageLimit {
			return nil, apiErr(http.StatusUnprocessableEntity, "discount_code_used_up", "Discount code %q has reached its usage limit", raw)
		}
		if d.appliesOncePerCustomer && customerKey != "" && d.usedBy[customerKey] {
			return nil, apiErr(http.StatusUnprocessableEntity, "discount_code_once_per_customer", "Discount code %q can only be used once per customer", raw)
		}
		if d.minSubtotal != nil && o.subtotalBefore < *d.minSubtotal {
			return nil, apiErr(http.StatusUnprocessableEntity, "discount_code_minimum_not_met", "Discount code %q needs a subtotal of at least %s", raw, d.minSubtotal.String())
		}
		if d.minQuantity != nil && qty < *d.minQuantity {
			return nil, apiErr(http.StatusUnprocessableEntity, "discount_code_minimum_not_met", "Discount code %q needs at least %d items", raw, *d.minQuantity)
		}
		uses = append(uses, use{rc, d})
	}
	remaining := o.subtotalBefore
	for _, u := range uses {
		var amt cents
		var value string
		if u.d.percentage != nil {
			amt = cents(float64(remaining)**u.d.percentage + 0.5)
			value = strconv.FormatFloat(*u.d.percentage*100, 'f', 1, 64)
		} else {
			amt = u.d.amount
			if u.d.appliesOnEachItem {
				amt = u.d.amount * cents(qty)
			}
			value = "-" + u.d.amount.String()
		}
		if amt > remaining {
			amt = remaining
		}
		remaining -= amt
		o.discounts += amt
		o.codes = append(o.codes, appliedCode{code: raw(codes, u.rc.code), amount: amt, typ: u.d.valueType(), value: value, disc: u.d})
		u.rc.usage++
		if customerKey != "" {
			u.d.usedBy[customerKey] = true
		}
	}
	// Allocate the discount across lines in proportion to their totals; the last line takes the rounding remainder.
	if o.discounts > 0 && o.subtotalBefore > 0 {
		var given cents
		for i, li := range o.lines {
			share := cents(int64(o.discounts) * int64(li.price*cents(li.quantity)) / int64(o.subtotalBefore))
			if i == len(o.lines)-1 {
				share = o.discounts - given
			}
			li.discount = share
			given += share
		}
	}
	o.id = s.ids.id("Order")
	o.number = s.ids.id("Order#")
	o.txID = s.ids.id("Transaction")
	o.token = randHex(16)
	o.checkoutToken = in.CheckoutToken
	if o.checkoutToken == "" {
		o.checkoutToken = randHex(16)
	}
	o.confirmation = strings.ToUpper(randHex(5))[:9]
	sh.orders[o.id] = o
	sh.orderSeq = append(sh.orderSeq, o.id)
	body := s.orderJSONLocked(o)
	s.enqueueLocked(sh, "orders/create", body)
	if o.financial == "paid" {
		s.enqueueLocked(sh, "orders/paid", body)
	}
	return o, nil
}

// raw returns the code as the buyer typed it (Shopify keeps the buyer's casing in discount_codes[].code).
func raw(typed []string, stored string) string {
	for _, t := range typed {
		if normCode(t) == normCode(stored) {
			return strings.TrimSpace(t)
		}
	}
	return stored
}

func (s *Store) lineJSON(o *order, li *lineItem) map[string]any {
	cur, pres := o.currency, o.presentment
	allocs := []map[string]any{}
	if li.discount > 0 {
		allocs = append(allocs, map[string]any{"amount": li.discount.String(), "amount_set": moneySet(li.discount, cur, pres),
			"discount_application_index": 0})
	}
	return map[string]any{
		"id": li.id, "admin_graphql_api_id": gid("LineItem", li.id), "product_id": li.productID, "variant_id": li.variantID,
		"title": li.title, "name": li.title, "variant_title": nil, "sku": nilIfEmpty(li.sku), "vendor": nil, "quantity": li.quantity,
		"current_quantity": li.quantity - li.refunded, "fulfillable_quantity": li.quantity - li.refunded,
		"price": li.price.String(), "price_set": moneySet(li.price, cur, pres),
		"total_discount": "0.00", "total_discount_set": moneySet(0, cur, pres),
		"discount_allocations": allocs, "duties": []any{}, "tax_lines": []any{}, "properties": []any{},
		"gift_card": false, "taxable": true, "requires_shipping": true, "product_exists": true,
		"fulfillment_service": "manual", "fulfillment_status": nil, "grams": 0,
	}
}

// orderJSONLocked renders the 2026-07 REST order, as orders/* webhooks carry it.
func (s *Store) orderJSONLocked(o *order) map[string]any {
	cur, pres := o.currency, o.presentment
	sh := o.shop
	lines := make([]map[string]any, len(o.lines))
	for i, li := range o.lines {
		lines[i] = s.lineJSON(o, li)
	}
	codes := make([]map[string]any, len(o.codes))
	apps := make([]map[string]any, len(o.codes))
	for i, c := range o.codes {
		codes[i] = map[string]any{"code": c.code, "amount": c.amount.String(), "type": c.typ}
		vt := "percentage"
		val := c.value
		if c.typ == "fixed_amount" {
			vt = "fixed_amount"
			val = strings.TrimPrefix(c.value, "-")
		}
		apps[i] = map[string]any{"type": "discount_code", "code": c.code, "value": val, "value_type": vt,
			"allocation_method": "across", "target_selection": "all", "target_type": "line_item"}
	}
	var customer any
	if o.customerID != 0 {
		customer = map[string]any{"id": o.customerID, "email": nilIfEmpty(o.in.Email),
			"admin_graphql_api_id": gid("Customer", o.customerID), "first_name": nil, "last_name": nil, "phone": nil,
			"created_at": rfc3339(o.createdAt), "updated_at": rfc3339(o.createdAt), "state": "disabled",
			"verified_email": true, "currency": cur, "tax_exempt": false, "note": nil}
	}
	var cancelledAt, cancelReason any
	if o.cancelledAt != nil {
		cancelledAt, cancelReason = rfc3339(*o.cancelledAt), "customer"
	}
	refunded := o.refunded()
	total := o.total()
	currentTotal := total - refunded
	if o.cancelledAt != nil && o.financial == "voided" {
		currentTotal = 0
	}
	currentSubtotal := currentTotal
	token, checkoutToken := o.token, o.checkoutToken
	var clientDetails any
	if o.in.BrowserIP != "" || o.in.UserAgent != "" {
		clientDetails = map[string]any{"browser_ip": nilIfEmpty(o.in.BrowserIP), "user_agent": nilIfEmpty(o.in.UserAgent),
			"accept_language": "en-US,en;q=0.9", "browser_height": nil, "browser_width": nil, "session_hash": nil}
	}
	var billing any
	if o.in.Country != "" {
		billing = map[string]any{"country_code": o.in.Country, "country": o.in.Country}
	}
	source := o.in.SourceName
	if source == "" {
		source = "web"
	}
	notes := o.in.NoteAttributes
	if notes == nil {
		notes = []NoteAttribute{}
	}
	refunds := make([]map[string]any, len(o.refunds))
	for i, rf := range o.refunds {
		refunds[i] = s.refundJSONLocked(o, rf)
	}
	return map[string]any{
		"id": o.id, "admin_graphql_api_id": gid("Order", o.id), "name": "#" + strconv.FormatInt(o.number, 10),
		"order_number": o.number, "number": o.number - 1000, "confirmation_number": o.confirmation,
		"email": nilIfEmpty(o.in.Email), "contact_email": nilIfEmpty(o.in.Email), "phone": nil,
		"created_at": rfc3339(o.createdAt), "processed_at": rfc3339(o.createdAt), "updated_at": rfc3339(o.updatedAt),
		"closed_at": nil, "cancelled_at": cancelledAt, "cancel_reason": cancelReason,
		"currency": cur, "presentment_currency": pres,
		"total_price": total.String(), "total_price_set": moneySet(total, cur, pres),
		"subtotal_price": total.String(), "subtotal_price_set": moneySet(total, cur, pres),
		"total_line_items_price": o.subtotalBefore.String(), "total_line_items_price_set": moneySet(o.subtotalBefore, cur, pres),
		"total_discounts": o.discounts.String(), "total_discounts_set": moneySet(o.discounts, cur, pres),
		"total_tax": "0.00", "total_tax_set": moneySet(0, cur, pres), "taxes_included": false, "tax_lines": []any{},
		"total_shipping_price_set": moneySet(0, cur, pres), "total_tip_received": "0.00", "total_weight": 0,
		"total_outstanding":   "0.00",
		"current_total_price": currentTotal.String(), "current_total_price_set": moneySet(currentTotal, cur, pres),
		"current_subtotal_price": currentSubtotal.String(), "current_subtotal_price_set": moneySet(currentSubtotal, cur, pres),
		"current_total_discounts": o.discounts.String(), "current_total_discounts_set": moneySet(o.discounts, cur, pres),
		"current_total_tax": "0.00", "current_total_tax_set": moneySet(0, cur, pres),
		"discount_codes": codes, "discount_applications": apps,
		"line_items": lines, "shipping_lines": []any{}, "fulfillments": []any{}, "refunds": refunds,
		"customer": customer, "billing_address": billing, "shipping_address": billing,
		"client_details": clientDetails, "browser_ip": nilIfEmpty(o.in.BrowserIP),
		"landing_site": nilIfEmpty(o.in.LandingSite), "landing_site_ref": nil, "referring_site": nilIfEmpty(o.in.ReferringSite),
		"source_name": source, "source_identifier": nil, "source_url": nil,
		"checkout_token": checkoutToken, "cart_token": nil, "token": token,
		"financial_status": o.financial, "fulfillment_status": nil, "confirmed": true, "test": o.in.Test,
		"note": nil, "note_attributes": notes, "tags": o.in.Tags,
		"buyer_accepts_marketing": false, "customer_locale": "en", "app_id": 580111, "user_id": nil,
		"location_id": nil, "payment_gateway_names": []string{"bogus"}, "gateway": "bogus",
		"order_status_url": s.shopBase(sh.domain) + "/" + strconv.FormatInt(sh.id, 10) + "/orders/" + token + "/authenticate?key=" + token[:16],
		"estimated_taxes":  false, "duties_included": false, "merchant_of_record_app_id": nil,
	}
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// RefundInput is the body of POST /_dev/shops/{shop}/orders/{id}/refunds.
type RefundInput struct {
	Amount    string `json:"amount"`
	LineItems []struct {
		LineItemID FlexID `json:"line_item_id"`
		Quantity   int    `json:"quantity"`
	} `json:"line_items"`
	Note string `json:"note"`
}

// CreateRefund refunds an amount or line items of an order and delivers refunds/create and orders/updated.
// It returns the refund as its webhook carries it.
func (s *Store) CreateRefund(domain string, orderID int64, in RefundInput) (map[string]any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sh, aerr := s.shopLocked(domain)
	if aerr != nil {
		return nil, aerr
	}
	o, ok := sh.orders[orderID]
	if !ok {
		return nil, apiErr(http.StatusNotFound, "order_not_found", "no order %d in %s", orderID, domain)
	}
	rf := &refund{id: s.ids.id("Refund"), createdAt: s.now()}
	refundable := o.total() - o.refunded()
	switch {
	case len(in.LineItems) > 0:
		for _, l := range in.LineItems {
			lid := toInt64(l.LineItemID)
			var li *lineItem
			for _, x := range o.lines {
				if x.id == lid {
					li = x
				}
			}
			if li == nil {
				return nil, apiErr(http.StatusUnprocessableEntity, "line_item_not_found", "no line item %d on order %d", lid, orderID)
			}
			q := l.Quantity
			if q <= 0 {
				q = 1
			}
			if q > li.quantity-li.refunded {
				return nil, apiErr(http.StatusUnprocessableEntity, "quantity_exceeds_remaining", "line item %d has only %d refundable", lid, li.quantity-li.refunded)
			}
			// subtotal after this line's share of the order discount
			sub := li.price*cents(q) - cents(int64(li.discount)*int64(q)/int64(li.quantity))
			rf.lines = append(rf.lines, refundLine{id: s.ids.id("RefundLineItem"), line: li, quantity: q, subtotal: sub})
			rf.amount += sub
		}
		for _, rl := range rf.lines {
			rl.line.refunded += rl.quantity
		}
	case in.Amount != "":
		amt, err := parseCents(in.Amount)
		if err != nil || amt <= 0 {
			return nil, apiErr(http.StatusUnprocessableEntity, "invalid_amount", "amount %q is not a positive decimal", in.Amount)
		}
		rf.amount = amt
	default:
		return nil, apiErr(http.StatusUnprocessableEntity, "refund_empty", "give amount or line_items")
	}
	if rf.amount > refundable {
		for _, rl := range rf.lines {
			rl.line.refunded -= rl.quantity
		}
		return nil, apiErr(http.StatusUnprocessableEntity, "refund_exceeds_balance", "refund %s exceeds the refundable %s", rf.amount, refundable)
	}
	rf.txID = s.ids.id("Transaction")
	o.refunds = append(o.refunds, rf)
	o.updatedAt = s.now()
	if o.refunded() >= o.total() {
		o.financial = "refunded"
	} else {
		o.financial = "partially_refunded"
	}
	body := s.refundJSONLocked(o, rf)
	body["note"] = nilIfEmpty(in.Note)
	s.enqueueLocked(sh, "refunds/create", body)
	s.enqueueLocked(sh, "orders/updated", s.orderJSONLocked(o))
	return body, nil
}

func (s *Store) refundJSONLocked(o *order, rf *refund) map[string]any {
	cur, pres := o.currency, o.presentment
	lines := make([]map[string]any, len(rf.lines))
	for i, rl := range rf.lines {
		sub, _ := strconv.ParseFloat(rl.subtotal.String(), 64)
		lines[i] = map[string]any{"id": rl.id, "line_item_id": rl.line.id, "line_item": s.lineJSON(o, rl.line),
			"quantity": rl.quantity, "restock_type": "no_restock", "location_id": nil,
			"subtotal": sub, "subtotal_set": moneySet(rl.subtotal, cur, pres),
			"total_tax": 0.0, "total_tax_set": moneySet(0, cur, pres)}
	}
	tx := map[string]any{"id": rf.txID, "admin_graphql_api_id": gid("OrderTransaction", rf.txID), "order_id": o.id,
		"kind": "refund", "status": "success", "amount": rf.amount.String(), "currency": o.presentment,
		"gateway": "bogus", "parent_id": o.txID, "processed_at": rfc3339(rf.createdAt), "created_at": rfc3339(rf.createdAt),
		"message": "Refunded " + rf.amount.String() + " from manual gateway", "test": o.in.Test, "source_name": "web",
		"error_code": nil, "authorization": nil, "location_id": nil, "user_id": nil, "device_id": nil, "receipt": map[string]any{}}
	return map[string]any{
		"id": rf.id, "order_id": o.id, "admin_graphql_api_id": gid("Refund", rf.id),
		"created_at": rfc3339(rf.createdAt), "processed_at": rfc3339(rf.createdAt), "note": nil, "restock": false,
		"user_id": nil, "refund_line_items": lines, "transactions": []any{tx}, "order_adjustments": []any{},
		"refund_shipping_lines": []any{}, "duties": []any{}, "return": nil,
		"total_duties_set": moneySet(0, cur, pres),
	}
}

// CancelOrder cancels an order and delivers orders/cancelled and orders/updated. With refund, the outstanding
// balance is refunded first (refunds/create), as the admin's "Cancel order" with "Refund payment" does.
func (s *Store) CancelOrder(domain string, orderID int64, reason string, refund bool) (map[string]any, error) {
	if refund {
		s.mu.Lock()
		var left cents
		if sh, ok := s.shops[domain]; ok {
			if o, ok := sh.orders[orderID]; ok && o.cancelledAt == nil {
				left = o.total() - o.refunded()
			}
		}
		s.mu.Unlock()
		if left > 0 {
			if _, err := s.CreateRefund(domain, orderID, RefundInput{Amount: left.String(), Note: "Order cancelled"}); err != nil {
				return nil, err
			}
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sh, aerr := s.shopLocked(domain)
	if aerr != nil {
		return nil, aerr
	}
	o, ok := sh.orders[orderID]
	if !ok {
		return nil, apiErr(http.StatusNotFound, "order_not_found", "no order %d in %s", orderID, domain)
	}
	if o.cancelledAt != nil {
		return nil, apiErr(http.StatusUnprocessableEntity, "already_cancelled", "order %d is already cancelled", orderID)
	}
	now := s.now()
	o.cancelledAt, o.updatedAt = &now, now
	body := s.orderJSONLocked(o)
	if reason != "" {
		body["cancel_reason"] = reason
	}
	s.enqueueLocked(sh, "orders/cancelled", body)
	s.enqueueLocked(sh, "orders/updated", body)
	return body, nil
}

// orderGQLLocked renders an Order for the GraphQL orders/order queries.
func (s *Store) orderGQLLocked(o *order) map[string]any {
	cur, pres := o.currency, o.presentment
	codes := make([]string, len(o.codes))
	for i, c := range o.codes {
		codes[i] = c.code
	}
	var code any
	if len(codes) > 0 {
		code = codes[0]
	}
	var customer any
	if o.customerID != 0 {
		customer = map[string]any{"id": gid("Customer", o.customerID), "email": nilIfEmpty(o.in.Email),
			"legacyResourceId": strconv.FormatInt(o.customerID, 10)}
	}
	var cancelledAt any
	if o.cancelledAt != nil {
		cancelledAt = rfc3339(*o.cancelledAt)
	}
	refunded := o.refunded()
	lines := o.lines
	rfs := make([]map[string]any, len(o.refunds))
	for i, rf := range o.refunds {
		rfs[i] = map[string]any{"id": gid("Refund", rf.id), "legacyResourceId": strconv.FormatInt(rf.id, 10),
			"createdAt": rfc3339(rf.createdAt), "totalRefundedSet": gqlMoneyBag(rf.amount, cur, pres)}
	}
	status := strings.ToUpper(o.financial)
	checkoutToken := o.checkoutToken
	return map[string]any{
		"__typename": "Order", "id": gid("Order", o.id), "legacyResourceId": strconv.FormatInt(o.id, 10),
		"name": "#" + strconv.FormatInt(o.number, 10), "email": nilIfEmpty(o.in.Email),
		"createdAt": rfc3339(o.createdAt), "updatedAt": rfc3339(o.updatedAt), "processedAt": rfc3339(o.createdAt),
		"cancelledAt": cancelledAt, "closed": false, "test": o.in.Test, "currencyCode": cur, "presentmentCurrencyCode": pres,
		"displayFinancialStatus": status, "displayFulfillmentStatus": "UNFULFILLED",
		"totalPriceSet": gqlMoneyBag(o.total(), cur, pres), "subtotalPriceSet": gqlMoneyBag(o.total(), cur, pres),
		"totalDiscountsSet": gqlMoneyBag(o.discounts, cur, pres), "totalRefundedSet": gqlMoneyBag(refunded, cur, pres),
		"currentTotalPriceSet":    gqlMoneyBag(o.total()-refunded, cur, pres),
		"currentSubtotalPriceSet": gqlMoneyBag(o.total()-refunded, cur, pres),
		"totalLineItemsPriceSet":  gqlMoneyBag(o.subtotalBefore, cur, pres),
		"discountCodes":           codes, "discountCode": code, "customer": customer, "sourceName": "web",
		"clientIp": nilIfEmpty(o.in.BrowserIP), "landingPageUrl": nilIfEmpty(o.in.LandingSite),
		"referrerUrl": nilIfEmpty(o.in.ReferringSite), "checkoutToken": nilIfEmpty(checkoutToken),
		"refunds":                rfs,
		"customerJourneySummary": s.journeyLocked(o),
		"lineItems": resolver(func(args map[string]any) any {
			items := make([]map[string]any, len(lines))
			ids := make([]int64, len(lines))
			for i, li := range lines {
				items[i] = map[string]any{"id": gid("LineItem", li.id), "title": li.title, "name": li.title,
					"quantity": li.quantity, "currentQuantity": li.quantity - li.refunded, "sku": nilIfEmpty(li.sku),
					"originalUnitPriceSet": gqlMoneyBag(li.price, cur, pres),
					"discountedTotalSet":   gqlMoneyBag(li.price*cents(li.quantity)-li.discount, cur, pres),
					"totalDiscountSet":     gqlMoneyBag(li.discount, cur, pres),
					"product":              map[string]any{"id": gid("Product", li.productID)},
					"variant":              map[string]any{"id": gid("ProductVariant", li.variantID)},
				}
				ids[i] = li.id
			}
			return connection(items, ids, args)
		}),
	}
}

// journeyLocked builds Order.customerJourneySummary from the order's landing and referring sites: one visit,
// with referralCode from ?ref=/?source=/?r= and utmParameters from utm_*.
func (s *Store) journeyLocked(o *order) any {
	if o.in.LandingSite == "" && o.in.ReferringSite == "" {
		return map[string]any{"ready": true, "firstVisit": nil, "lastVisit": nil, "daysToConversion": nil,
			"customerOrderIndex": 1, "momentsCount": map[string]any{"count": 0, "precision": "EXACT"}}
	}
	u, _ := url.Parse(o.in.LandingSite)
	var q url.Values
	if u != nil {
		q = u.Query()
	}
	var ref any
	for _, k := range []string{"ref", "source", "r"} {
		if v := q.Get(k); v != "" {
			ref = v
			break
		}
	}
	var utm any
	if q.Get("utm_source") != "" || q.Get("utm_campaign") != "" || q.Get("utm_medium") != "" {
		utm = map[string]any{"source": nilIfEmpty(q.Get("utm_source")), "medium": nilIfEmpty(q.Get("utm_medium")),
			"campaign": nilIfEmpty(q.Get("utm_campaign")), "content": nilIfEmpty(q.Get("utm_content")),
			"term": nilIfEmpty(q.Get("utm_term"))}
	}
	source := "direct"
	var sourceType any
	if o.in.ReferringSite != "" {
		if ru, err := url.Parse(o.in.ReferringSite); err == nil && ru.Host != "" {
			source = ru.Host
		}
	}
	landing := o.in.LandingSite
	if strings.HasPrefix(landing, "/") {
		landing = "https://" + o.shop.domain + landing
	}
	visit := map[string]any{"__typename": "CustomerVisit", "id": gid("CustomerVisit", o.id), "occurredAt": rfc3339(o.createdAt),
		"landingPage": nilIfEmpty(landing), "referrerUrl": nilIfEmpty(o.in.ReferringSite), "referralCode": ref,
		"source": source, "sourceType": sourceType, "sourceDescription": nil, "utmParameters": utm, "marketingEvent": nil}
	return map[string]any{"ready": true, "firstVisit": visit, "lastVisit": visit, "daysToConversion": 0,
		"customerOrderIndex": 1, "momentsCount": map[string]any{"count": 1, "precision": "EXACT"}}
}

func (s *Store) qOrder(sh *shop, args map[string]any) any {
	id, _, ok := parseGID(args["id"], "Order")
	if !ok {
		return nil
	}
	o, ok := sh.orders[id]
	if !ok {
		return nil
	}
	return s.orderGQLLocked(o)
}

// qOrders supports query terms updated_at / created_at with >=, >, <=, <, and sortKey UPDATED_AT / CREATED_AT / ID.
func (s *Store) qOrders(sh *shop, args map[string]any) any {
	var list []*order
	for _, id := range sh.orderSeq {
		o := sh.orders[id]
		if matchOrderQuery(o, argString(args, "query")) {
			list = append(list, o)
		}
	}
	key := argString(args, "sortKey")
	sort.SliceStable(list, func(i, j int) bool {
		switch key {
		case "UPDATED_AT":
			return list[i].updatedAt.Before(list[j].updatedAt)
		case "CREATED_AT", "PROCESSED_AT":
			return list[i].createdAt.Before(list[j].createdAt)
		}
		return list[i].id < list[j].id
	})
	if rev, _ := args["reverse"].(bool); rev {
		for i, j := 0, len(list)-1; i < j; i, j = i+1, j-1 {
			list[i], list[j] = list[j], list[i]
		}
	}
	items := make([]map[string]any, len(list))
	ids := make([]int64, len(list))
	for i, o := range list {
		items[i] = s.orderGQLLocked(o)
		ids[i] = o.id
	}
	return connection(items, ids, args)
}

func matchOrderQuery(o *order, q string) bool {
	for term := range strings.FieldsSeq(q) {
		if strings.EqualFold(term, "AND") {
			continue
		}
		k, v, ok := strings.Cut(term, ":")
		if !ok {
			continue
		}
		var t time.Time
		switch k {
		case "updated_at":
			t = o.updatedAt
		case "created_at", "processed_at":
			t = o.createdAt
		case "financial_status":
			if !strings.EqualFold(strings.Trim(v, `'"`), o.financial) {
				return false
			}
			continue
		default:
			continue
		}
		op := ""
		for _, p := range []string{">=", "<=", ">", "<"} {
			if strings.HasPrefix(v, p) {
				op, v = p, v[len(p):]
				break
			}
		}
		v = strings.Trim(v, `'"`)
		ref, err := time.Parse(time.RFC3339, v)
		if err != nil {
			if d, err2 := time.Parse("2006-01-02", v); err2 == nil {
				ref = d
			} else {
				continue
			}
		}
		switch op {
		case ">=":
			if t.Before(ref) {
				return false
			}
		case ">":
			if !t.After(ref) {
				return false
			}
		case "<=":
			if t.After(ref) {
				return false
			}
		case "<":
			if !t.Before(ref) {
				return false
			}
		default:
			if !t.Equal(ref) {
				return false
			}
		}
	}
	return true
}

type checkout struct {
	token       string
	cartToken   string
	in          OrderInput
	createdAt   time.Time
	updatedAt   time.Time
	completedAt *time.Time
	orderID     int64
}

// CreateCheckout creates a checkout (abandoned until completed) and delivers checkouts/create.
func (s *Store) CreateCheckout(domain string, in OrderInput) (map[string]any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sh, aerr := s.shopLocked(domain)
	if aerr != nil {
		return nil, aerr
	}
	if len(in.LineItems) == 0 {
		return nil, apiErr(http.StatusUnprocessableEntity, "line_items_required", "a checkout needs at least one line item")
	}
	for i, li := range in.LineItems {
		if _, err := parseCents(li.Price); err != nil {
			return nil, apiErr(http.StatusUnprocessableEntity, "invalid_price", "line_items[%d].price %q is not a decimal amount", i, li.Price)
		}
	}
	now := s.now()
	c := &checkout{token: randHex(16), cartToken: randHex(16), in: in, createdAt: now, updatedAt: now}
	sh.checkouts[c.token] = c
	body := s.checkoutJSONLocked(sh, c)
	s.enqueueLocked(sh, "checkouts/create", body)
	return body, nil
}

func (s *Store) checkoutJSONLocked(sh *shop, c *checkout) map[string]any {
	cur := sh.currency
	pres := cur
	if c.in.Currency != "" {
		pres = c.in.Currency
	}
	var sub cents
	lines := make([]map[string]any, len(c.in.LineItems))
	for i, li := range c.in.LineItems {
		p, _ := parseCents(li.Price)
		q := li.Quantity
		if q <= 0 {
			q = 1
		}
		sub += p * cents(q)
		lines[i] = map[string]any{"key": randHex(16), "title": li.Title, "price": p.String(), "quantity": q,
			"line_price": (p * cents(q)).String(), "product_id": toInt64(li.ProductID), "variant_id": toInt64(li.VariantID),
			"sku": li.SKU, "requires_shipping": true, "taxable": true, "gift_card": false, "vendor": nil,
			"variant_title": nil, "applied_discounts": []any{}, "discount_allocations": []any{}, "properties": nil}
	}
	var customer any
	if c.in.Email != "" {
		cid, ok := sh.customers[strings.ToLower(c.in.Email)]
		if !ok {
			cid = s.ids.id("Customer")
			sh.customers[strings.ToLower(c.in.Email)] = cid
		}
		customer = map[string]any{"id": cid, "email": c.in.Email, "admin_graphql_api_id": gid("Customer", cid)}
	}
	var completed any
	if c.completedAt != nil {
		completed = rfc3339(*c.completedAt)
	}
	codes := []map[string]any{}
	for _, code := range c.in.DiscountCodes {
		codes = append(codes, map[string]any{"code": code, "amount": "0.00", "type": ""})
	}
	return map[string]any{
		"token": c.token, "cart_token": c.cartToken, "email": nilIfEmpty(c.in.Email), "phone": nil,
		"customer": customer, "created_at": rfc3339(c.createdAt), "updated_at": rfc3339(c.updatedAt),
		"completed_at": completed, "closed_at": nil,
		"abandoned_checkout_url": s.shopBase(sh.domain) + "/" + strconv.FormatInt(sh.id, 10) + "/checkouts/ac/" + c.token + "/recover?key=" + c.cartToken,
		"currency":               cur, "presentment_currency": pres, "line_items": lines, "discount_codes": codes,
		"subtotal_price": sub.String(), "total_price": sub.String(), "total_line_items_price": sub.String(),
		"total_discounts": "0.00", "total_tax": "0.00", "total_weight": 0, "taxes_included": false,
		"landing_site": nilIfEmpty(c.in.LandingSite), "referring_site": nilIfEmpty(c.in.ReferringSite),
		"source_name": "web", "note": nil, "note_attributes": []any{}, "buyer_accepts_marketing": false,
		"customer_locale": "en", "gateway": nil, "shipping_lines": []any{}, "tax_lines": []any{},
		"billing_address": nil, "shipping_address": nil, "source_identifier": nil, "source_url": nil,
		"device_id": nil, "location_id": nil, "user_id": nil, "name": "#" + c.token[:8],
	}
}

// openCheckoutLocked finds a shop's checkout that is not completed yet.
func (s *Store) openCheckoutLocked(domain, token string) (*shop, *checkout, *APIError) {
	sh, aerr := s.shopLocked(domain)
	if aerr != nil {
		return nil, nil, aerr
	}
	c, ok := sh.checkouts[token]
	if !ok {
		return nil, nil, apiErr(http.StatusNotFound, "checkout_not_found", "no checkout %s", token)
	}
	if c.completedAt != nil {
		return nil, nil, apiErr(http.StatusUnprocessableEntity, "checkout_completed", "checkout %s is already completed (order %d)", token, c.orderID)
	}
	return sh, c, nil
}

// CompleteCheckout turns a checkout into an order with that checkout_token. Fields of over (discount codes, client
// details, ...) override the checkout's when set.
func (s *Store) CompleteCheckout(domain, token string, over OrderInput) (map[string]any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sh, c, aerr := s.openCheckoutLocked(domain, token)
	if aerr != nil {
		return nil, aerr
	}
	in := c.in
	mergeInput(&in, over)
	in.CheckoutToken = c.token
	o, aerr := s.createOrderLocked(sh, in)
	if aerr != nil {
		return nil, aerr
	}
	now := s.now()
	c.completedAt, c.updatedAt, c.orderID = &now, now, o.id
	return s.orderJSONLocked(o), nil
}

func mergeInput(dst *OrderInput, o OrderInput) {
	if o.Email != "" {
		dst.Email = o.Email
	}
	if o.CustomerID != 0 {
		dst.CustomerID = o.CustomerID
	}
	if len(o.LineItems) > 0 {
		dst.LineItems = o.LineItems
	}
	if len(o.DiscountCodes) > 0 {
		dst.DiscountCodes = o.DiscountCodes
	}
	for _, p := range []struct {
		d *string
		v string
	}{
		{&dst.BrowserIP, o.BrowserIP}, {&dst.UserAgent, o.UserAgent}, {&dst.Country, o.Country},
		{&dst.LandingSite, o.LandingSite}, {&dst.ReferringSite, o.ReferringSite}, {&dst.Currency, o.Currency},
		{&dst.VisitorID, o.VisitorID}, {&dst.FinancialStatus, o.FinancialStatus}, {&dst.SourceName, o.SourceName},
	} {
		if p.v != "" {
			*p.d = p.v
		}
	}
	if o.CreatedAt != nil {
		dst.CreatedAt = o.CreatedAt
	}
}

// handleDiscountLink serves GET /store/{shop}/discount/{code}: it remembers the code for the visitor (cookie
// discount_code plus a visitor id in _shopify_y) and redirects to the relative redirect path (default /).
func (s *Store) handleDiscountLink(w http.ResponseWriter, r *http.Request) {
	domain, code := r.PathValue("shop"), r.PathValue("code")
	redirect := r.URL.Query().Get("redirect")
	if redirect == "" || !strings.HasPrefix(redirect, "/") || strings.HasPrefix(redirect, "//") {
		redirect = "/"
	}
	vid := ""
	if c, err := r.Cookie("_shopify_y"); err == nil {
		vid = c.Value
	}
	if vid == "" {
		vid = newUUID()
	}
	s.mu.Lock()
	sh, ok := s.shops[domain]
	if ok {
		now := s.now()
		sh.visitors[vid] = &visit{code: code, at: now}
		sh.visitLog = append(sh.visitLog, Visit{Shop: domain, VisitorID: vid, Code: code, Redirect: redirect, At: now,
			UserAgent: r.UserAgent(), IP: r.RemoteAddr})
	}
	s.mu.Unlock()
	if !ok {
		http.NotFound(w, r)
		return
	}
	path := "/store/" + domain
	http.SetCookie(w, &http.Cookie{Name: "_shopify_y", Value: vid, Path: path, MaxAge: 365 * 86400, HttpOnly: false})
	http.SetCookie(w, &http.Cookie{Name: "discount_code", Value: url.QueryEscape(code), Path: path, MaxAge: 14 * 86400})
	w.Header().Set("X-Devstore-Visitor-Id", vid)
	http.Redirect(w, r, s.shopBase(domain)+redirect, http.StatusFound)
}

// Visits returns the discount-link clicks recorded for a shop.
func (s *Store) Visits(domain string) []Visit {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sh, ok := s.shops[domain]; ok {
		return append([]Visit(nil), sh.visitLog...)
	}
	return nil
}

// handleStorefront is a minimal storefront page, so discount-link redirects land somewhere.
func (s *Store) handleStorefront(w http.ResponseWriter, r *http.Request) {
	code := ""
	if c, err := r.Cookie("discount_code"); err == nil {
		code, _ = url.QueryUnescape(c.Value)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	fmt.Fprintf(w, "<!doctype html><title>%s</title><h1>%s</h1><p>path: %s</p><p>discount: %s</p>\n",
		htmlEscape(r.PathValue("shop")), htmlEscape(r.PathValue("shop")), htmlEscape(r.URL.Path), htmlEscape(code))
}

func htmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;").Replace(s)
}
