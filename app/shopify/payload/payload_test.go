package payload

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func readFixture(t testing.TB, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fixturesRoot, rel))
	if err != nil {
		t.Fatalf("read fixture %s: %v", rel, err)
	}
	return b
}

// fixtureObject extracts a nested object from a fixture by a dotted path.
func fixtureObject(t testing.TB, rel string, path ...string) []byte {
	t.Helper()
	var v any
	if err := json.Unmarshal(readFixture(t, rel), &v); err != nil {
		t.Fatal(err)
	}
	for _, p := range path {
		switch x := v.(type) {
		case map[string]any:
			v = x[p]
		case []any:
			v = x[0]
			if m, ok := v.(map[string]any); ok {
				v = m[p]
			}
		}
	}
	if arr, ok := v.([]any); ok && len(arr) > 0 {
		v = arr[0]
	}
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseOrderLargeIDsAndShopMoney(t *testing.T) {
	t.Parallel()
	// 2^53+1 cannot survive float64; presentment differs from shop money.
	body := `{"id":9007199254740993,"admin_graphql_api_id":"gid://shopify/Order/9007199254740993",
	"name":"#1001","email":"a@example.com","currency":"JPY","presentment_currency":"USD",
	"created_at":"2026-09-01T10:00:00+09:00","updated_at":"2026-09-01T10:00:00+09:00",
	"customer":{"id":9223372036854775807,"email":"a@example.com"},
	"total_price":"12000","total_price_set":{"shop_money":{"amount":"12000","currency_code":"JPY"},"presentment_money":{"amount":"80.12","currency_code":"USD"}},
	"total_shipping_price_set":{"shop_money":{"amount":"500","currency_code":"JPY"},"presentment_money":{"amount":"3.34","currency_code":"USD"}},
	"discount_codes":[{"code":"ACME-7K3F9Q2M","amount":"1200","type":"percentage"}],
	"line_items":[{"id":18014398509481985,"product_id":18014398509481987,"variant_id":18014398509481989,"quantity":2,"price":"6000","total_discount":"0"}],
	"note_attributes":[{"name":"ct_click","value":"c_123"},{"name":"n","value":42}],
	"client_details":{"browser_ip":"203.0.113.7","user_agent":"UA"},
	"landing_site":"/?ref=acme","checkout_token":"abc","financial_status":"paid","source_name":"web"}`
	o, err := ParseOrder([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if o.ID != 9007199254740993 || o.Customer.ID != 9223372036854775807 || o.LineItems[0].ProductID != 18014398509481987 {
		t.Fatalf("ids lost: %d %d %d", o.ID, o.Customer.ID, o.LineItems[0].ProductID)
	}
	if got, err := o.TotalMinor(); err != nil || got != 12000 {
		t.Fatalf("TotalMinor = %d, %v", got, err)
	}
	if got, err := o.ShippingMinor(); err != nil || got != 500 {
		t.Fatalf("ShippingMinor = %d, %v", got, err)
	}
	if v, ok := o.NoteAttributes.Get("n"); !ok || v != "42" {
		t.Fatalf("note attribute = %q", v)
	}
}

func TestShopMoneyCurrencyMismatch(t *testing.T) {
	t.Parallel()
	o, err := ParseOrder([]byte(`{"id":1,"currency":"USD","total_price_set":{"shop_money":{"amount":"1.00","currency_code":"EUR"}}}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := o.TotalMinor(); !errors.Is(err, ErrCurrencyMismatch) {
		t.Fatalf("err = %v, want ErrCurrencyMismatch", err)
	}
}

func TestRefundAmountMinor(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name             string
		body             []byte
		amount, subtotal int64
		tx               int64
	}{
		// Shipping-only refund: refund_shipping_lines 5.00 and the matching
		// shipping_refund adjustment -5.00 describe the same money.
		{"shipping only", fixtureObject(t, "shopify-app-js/rest-2025-10/refund_test_3.json", "response", "refund"), 500, 0, 500},
		// Lines 195.66 + 3.98 tax, refund_discrepancy 89.64: 110.00 went back.
		{"discrepancy", fixtureObject(t, "shopify-app-js/rest-2025-10/order_test_15.json", "response", "order", "refunds"), 11000, 19566, 11000},
		{"restock only", []byte(`{"id":7,"order_id":8,"restock":true,"refund_line_items":[],"transactions":[]}`), 0, 0, 0},
		{"legacy shipping adjustment", []byte(`{"id":7,"order_id":8,"order_adjustments":[{"id":1,"kind":"shipping_refund","amount":"-4.50","tax_amount":"-0.45"}],"transactions":[{"kind":"refund","status":"success","amount":"4.95","currency":"USD"},{"kind":"refund","status":"failure","amount":"4.95","currency":"USD"}]}`), 495, 0, 495},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := ParseRefund(tt.body)
			if err != nil {
				t.Fatal(err)
			}
			if got, err := r.AmountMinor("USD"); err != nil || got != tt.amount {
				t.Errorf("AmountMinor = %d, %v; want %d", got, err, tt.amount)
			}
			if got, err := r.LineSubtotalMinor("USD"); err != nil || got != tt.subtotal {
				t.Errorf("LineSubtotalMinor = %d, %v; want %d", got, err, tt.subtotal)
			}
			if got, err := r.TransactionsMinor("USD"); err != nil || got != tt.tx {
				t.Errorf("TransactionsMinor = %d, %v; want %d", got, err, tt.tx)
			}
		})
	}
}

func TestRefundNumericSubtotal(t *testing.T) {
	t.Parallel()
	// Shopify sends refund_line_items[].subtotal as a JSON number.
	r, err := ParseRefund([]byte(`{"id":1,"order_id":2,"refund_line_items":[{"id":3,"line_item_id":4,"quantity":1,"subtotal":195.67,"total_tax":3.98}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := r.AmountMinor("USD"); err != nil || got != 19965 {
		t.Fatalf("AmountMinor = %d, %v", got, err)
	}
}

func TestParseCheckout(t *testing.T) {
	t.Parallel()
	c, err := ParseCheckout(fixtureObject(t, "shopify-app-js/rest-2025-10/abandoned_checkout_test_1.json", "response", "checkouts"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Token == "" || c.Customer == nil || c.Customer.ID == 0 || c.AbandonedCheckoutURL == "" {
		t.Fatalf("missing fields: %+v", c)
	}
	if got, err := c.TotalMinor(); err != nil || got != 37969 {
		t.Fatalf("TotalMinor = %d, %v", got, err)
	}
	// 2026-07 checkout webhooks have no id; token is the key.
	if _, err := ParseCheckout([]byte(`{"token":"t1","cart_token":"c1","completed_at":null,"line_items":[]}`)); err != nil {
		t.Fatal(err)
	}
}

func TestParseCompliance(t *testing.T) {
	t.Parallel()
	dr, err := ParseCustomersDataRequest(readFixture(t, "shopify-app-template-node/webhooks/customers_data_request.json"))
	if err != nil || dr.ShopID != 954889 || dr.Customer.ID != 191167 || len(dr.OrdersRequested) != 3 || dr.DataRequest.ID != 9999 {
		t.Fatalf("data_request = %+v, %v", dr, err)
	}
	cr, err := ParseCustomersRedact(readFixture(t, "shopify-app-template-node/webhooks/customers_redact.json"))
	if err != nil || cr.Customer.ID != 191167 || len(cr.OrdersToRedact) != 3 {
		t.Fatalf("customers_redact = %+v, %v", cr, err)
	}
	sr, err := ParseShopRedact(readFixture(t, "shopify-app-template-node/webhooks/shop_redact.json"))
	if err != nil || sr.ShopID != 954889 {
		t.Fatalf("shop_redact = %+v, %v", sr, err)
	}
	su, err := ParseScopesUpdate([]byte(`{"id":1,"previous":["read_orders"],"current":["read_orders","write_discounts"],"updated_at":"2026-09-01T00:00:00Z"}`))
	if err != nil || len(su.Current) != 2 {
		t.Fatalf("scopes_update = %+v, %v", su, err)
	}
	shop, err := ParseShop(fixtureObject(t, "go-shopify-v4.7.0/rest/shop.json", "shop"))
	if err != nil || shop.ID == 0 || shop.MyshopifyDomain == "" {
		t.Fatalf("shop = %+v, %v", shop, err)
	}
}

func TestParseMalformed(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, body, want string
	}{
		{"empty", ``, "empty body"},
		{"array", `[{"id":1}]`, "not a JSON object"},
		{"syntax", `{"id":1`, "malformed"},
		{"float id", `{"id":1.5}`, "id"},
		{"string id", `{"id":"x"}`, "id"},
		{"missing id", `{"name":"#1"}`, "missing id"},
		{"bad amount", `{"id":1,"total_price":"12,00"}`, "decimal"},
		{"trailing", `{"id":1} {}`, "trailing"},
		{"overflow id", `{"id":92233720368547758070}`, "id"},
	}
	for _, tt := range tests {
		_, err := ParseOrder([]byte(tt.body))
		if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err = %v, want ErrMalformed containing %q", tt.name, err, tt.want)
		}
	}
	if _, err := ParseRefund([]byte(`{"id":1}`)); !errors.Is(err, ErrMalformed) {
		t.Errorf("refund without order_id: %v", err)
	}
	if _, err := ParseCheckout([]byte(`{"id":1}`)); !errors.Is(err, ErrMalformed) {
		t.Errorf("checkout without token: %v", err)
	}
}
