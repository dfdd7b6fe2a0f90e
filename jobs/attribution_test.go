package jobs

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/coupontrail/coupontrail/app/attribution"
	"github.com/coupontrail/coupontrail/app/store"
)

func TestClickIDFromLanding(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ in, want string }{
		{"", ""},
		{"/products/tee?ct_click=clk_ABC&utm_source=x", "clk_ABC"},
		{"https://shop.example/?ct_click=%20clk_1%20", "clk_1"},
		{"/discount/ANA10?redirect=%2Fproducts%2Ftee%3Fct_click%3Dclk_2", "clk_2"},
		{"/products/tee?utm_source=x", ""},
	} {
		if got := ClickIDFromLanding(c.in); got != c.want {
			t.Errorf("ClickIDFromLanding(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestParseAttributionSettings(t *testing.T) {
	t.Parallel()
	seven := 7
	for _, c := range []struct {
		name   string
		raw    string
		kind   attribution.PolicyKind
		window int
		hold   *int
	}{
		{"defaults", `{}`, attribution.CouponWins, 30, nil},
		{"bare name", `{"crediting_policy":"click_wins","attribution_window_days":14,"hold_days":7}`, attribution.ClickWins, 14, &seven},
		{"object", `{"crediting_policy":{"kind":"split","split":{"mode":"equal"}}}`, attribution.SplitCredit, 30, nil},
		{"unknown policy falls back", `{"crediting_policy":"bogus"}`, attribution.CouponWins, 30, nil},
		{"malformed document", `not json`, attribution.CouponWins, 30, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := ParseAttributionSettings(json.RawMessage(c.raw))
			if got.Policy.Kind != c.kind || got.Policy.WindowDays != c.window || (got.HoldDays == nil) != (c.hold == nil) ||
				(c.hold != nil && *got.HoldDays != *c.hold) {
				t.Fatalf("got %+v hold %v", got.Policy, got.HoldDays)
			}
		})
	}
}

// TestOrderAttributedToClick: an order whose landing URL carries a recorded
// click's id is credited to the click's partner; redelivering the order
// (another topic, another webhook id) changes nothing; a replayed refund is
// applied once; the ledger agrees.
func TestOrderAttributedToClick(t *testing.T) {
	e := newOrderEnv(t)
	ctx := context.Background()
	pct := 12.5
	p := &store.Partner{ShopID: e.sh.ID, Name: "Ana", Kind: "affiliate", CommissionPercent: &pct, Status: "active"}
	if err := e.st.CreatePartner(ctx, p); err != nil {
		t.Fatal(err)
	}
	l := &store.Link{ShopID: e.sh.ID, Slug: "ana12345", PartnerID: &p.ID, Channel: "social", Destination: "/", CodeMode: "none"}
	if err := e.st.CreateLink(ctx, l); err != nil {
		t.Fatal(err)
	}
	body := edit(t, fixture(t, "shopify-app-js/rest-2025-10/order_test_33.json", "response/order"), func(m map[string]any) {
		m["refunds"] = []any{}
		m["landing_site"] = "/products/tee?ct_click=clk_TEST1&utm_source=instagram"
		m["discount_codes"] = []any{}
		m["discount_applications"] = []any{}
	})
	o := struct {
		CreatedAt time.Time `json:"created_at"`
	}{}
	_ = json.Unmarshal(body, &o)
	if err := e.st.InsertClick(ctx, &store.Click{ShopID: e.sh.ID, ClickID: "clk_TEST1", LinkID: l.ID, PartnerID: &p.ID, Channel: "social",
		Outcome: store.ClickNoCode, CreatedAt: o.CreatedAt.Add(-time.Hour)}); err != nil {
		t.Fatal(err)
	}
	e.ok("orders/create", body)
	c, err := e.st.ConversionByOrder(ctx, e.sh.ID, 450789469, false)
	if err != nil {
		t.Fatal(err)
	}
	if c.Rule != string(attribution.RuleClick) || c.PartnerID == nil || *c.PartnerID != p.ID || c.ClickID != "clk_TEST1" ||
		c.Channel != "social" || c.Status != store.ConversionHeld {
		t.Fatalf("conversion: %+v", c)
	}
	// net 597.00 (subtotal); 12.5% commission = 74.625 -> 74.63 (half up)
	if c.NetMinor != 59700 || c.CommissionMinor != 7463 {
		t.Fatalf("money: net %d commission %d", c.NetMinor, c.CommissionMinor)
	}
	if want := o.CreatedAt.AddDate(0, 0, 30); !c.HoldUntil.Equal(want) {
		t.Fatalf("hold_until %s, want %s", c.HoldUntil, want)
	}
	before, _ := e.st.ConversionLedger(ctx, e.sh.ID, 0)
	e.ok("orders/paid", body)
	e.ok("orders/updated", body)
	after, _ := e.st.ConversionLedger(ctx, e.sh.ID, 0)
	if len(before) != len(after) || len(after) != 1 {
		t.Fatalf("redelivery wrote ledger entries: %d -> %d", len(before), len(after))
	}
	refund := fixture(t, "shopify-app-js/rest-2025-10/order_test_33.json", "response/order/refunds/0")
	e.ok("refunds/create", refund)
	e.ok("refunds/create", refund) // another webhook id, same refund
	c2, err := e.st.ConversionByOrder(ctx, e.sh.ID, 450789469, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(c2.AppliedRefunds) != 1 || c2.NetMinor >= c.NetMinor {
		t.Fatalf("refund: %+v", c2)
	}
	chk, err := e.j.CheckLedger(ctx, e.sh.ID)
	if err != nil || !chk.OK || chk.Checked != 1 {
		t.Fatalf("ledger check: %+v %v", chk, err)
	}
}

// TestOrderEditFollowed: a newer order version with other amounts
// re-attributes the held conversion through ledger entries; an older
// version delivered late changes nothing.
func TestOrderEditFollowed(t *testing.T) {
	e := newOrderEnv(t)
	ctx := context.Background()
	base := edit(t, fixture(t, "shopify-app-js/rest-2025-10/order_test_33.json", "response/order"), func(m map[string]any) {
		m["refunds"] = []any{}
	})
	e.ok("orders/create", base)
	c, err := e.st.ConversionByOrder(ctx, e.sh.ID, 450789469, false)
	if err != nil || c.NetMinor != 59700 || c.Rule != string(attribution.RuleUnattributed) && c.Rule != string(attribution.RuleOrganic) {
		t.Fatalf("conversion: %+v %v", c, err)
	}
	edited := edit(t, base, func(m map[string]any) {
		m["updated_at"] = "2030-01-01T00:00:00Z"
		m["subtotal_price"] = "500.00"
		delete(m, "subtotal_price_set")
	})
	e.ok("orders/updated", edited)
	c2, err := e.st.ConversionByOrder(ctx, e.sh.ID, 450789469, false)
	if err != nil || c2.NetMinor != 50000 || c2.OriginalNet != 50000 || c2.OrderNetMinor != 50000 {
		t.Fatalf("after edit: %+v %v", c2, err)
	}
	e.ok("orders/paid", base) // the older version, late
	c3, _ := e.st.ConversionByOrder(ctx, e.sh.ID, 450789469, false)
	if c3.NetMinor != 50000 || c3.Version != c2.Version {
		t.Fatalf("late old version changed it: %+v", c3)
	}
	chk, err := e.j.CheckLedger(ctx, e.sh.ID)
	if err != nil || !chk.OK {
		t.Fatalf("ledger check: %+v %v", chk, err)
	}
}
