package payload

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// ErrMalformed is wrapped by every Parse* error caused by the input: invalid
// JSON, a non-object body, a field of the wrong type (for example an id that
// is not an integer or an amount that is not a decimal) or a missing key field.
// The handler should record the delivery and not retry it.
var ErrMalformed = errors.New("payload: malformed")

// decode strictly decodes one JSON object into v. Unknown fields are ignored
// (Shopify adds fields in every version) but trailing data is not.
func decode(kind string, b []byte, v any) error {
	t := bytes.TrimSpace(b)
	if len(t) == 0 {
		return fmt.Errorf("payload: parse %s: %w: empty body", kind, ErrMalformed)
	}
	if t[0] != '{' {
		return fmt.Errorf("payload: parse %s: %w: body is not a JSON object", kind, ErrMalformed)
	}
	dec := json.NewDecoder(bytes.NewReader(t))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("payload: parse %s: %w: %w", kind, ErrMalformed, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return fmt.Errorf("payload: parse %s: %w: trailing data after object", kind, ErrMalformed)
	}
	return nil
}

func missing(kind, field string) error {
	return fmt.Errorf("payload: parse %s: %w: missing %s", kind, ErrMalformed, field)
}

// ParseOrder decodes an orders/* webhook body. It requires a non-zero id.
func ParseOrder(b []byte) (*Order, error) {
	var o Order
	if err := decode("order", b, &o); err != nil {
		return nil, err
	}
	if o.ID == 0 {
		return nil, missing("order", "id")
	}
	return &o, nil
}

// ParseRefund decodes a refunds/create webhook body. It requires non-zero id
// and order_id.
func ParseRefund(b []byte) (*Refund, error) {
	var r Refund
	if err := decode("refund", b, &r); err != nil {
		return nil, err
	}
	if r.ID == 0 {
		return nil, missing("refund", "id")
	}
	if r.OrderID == 0 {
		return nil, missing("refund", "order_id")
	}
	return &r, nil
}

// ParseCheckout decodes a checkouts/create or checkouts/update webhook body.
// It requires a token.
func ParseCheckout(b []byte) (*Checkout, error) {
	var c Checkout
	if err := decode("checkout", b, &c); err != nil {
		return nil, err
	}
	if c.Token == "" {
		return nil, missing("checkout", "token")
	}
	return &c, nil
}

// ParseShop decodes an app/uninstalled webhook body. It requires a non-zero id.
func ParseShop(b []byte) (*Shop, error) {
	var s Shop
	if err := decode("shop", b, &s); err != nil {
		return nil, err
	}
	if s.ID == 0 {
		return nil, missing("shop", "id")
	}
	return &s, nil
}

// ParseCustomersDataRequest decodes a customers/data_request body.
func ParseCustomersDataRequest(b []byte) (*CustomersDataRequest, error) {
	var v CustomersDataRequest
	if err := decode("customers/data_request", b, &v); err != nil {
		return nil, err
	}
	if v.ShopDomain == "" {
		return nil, missing("customers/data_request", "shop_domain")
	}
	return &v, nil
}

// ParseCustomersRedact decodes a customers/redact body.
func ParseCustomersRedact(b []byte) (*CustomersRedact, error) {
	var v CustomersRedact
	if err := decode("customers/redact", b, &v); err != nil {
		return nil, err
	}
	if v.ShopDomain == "" {
		return nil, missing("customers/redact", "shop_domain")
	}
	return &v, nil
}

// ParseShopRedact decodes a shop/redact body.
func ParseShopRedact(b []byte) (*ShopRedact, error) {
	var v ShopRedact
	if err := decode("shop/redact", b, &v); err != nil {
		return nil, err
	}
	if v.ShopDomain == "" {
		return nil, missing("shop/redact", "shop_domain")
	}
	return &v, nil
}

// ParseScopesUpdate decodes an app/scopes_update body.
func ParseScopesUpdate(b []byte) (*ScopesUpdate, error) {
	var v ScopesUpdate
	if err := decode("app/scopes_update", b, &v); err != nil {
		return nil, err
	}
	return &v, nil
}
