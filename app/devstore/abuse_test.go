package devstore

import (
	"testing"
	"time"
)

// TestGenerateAbuse: the labelled demo traffic mixes every abuse kind into
// clean traffic, in time order, with the clicks its orders point at.
func TestGenerateAbuse(t *testing.T) {
	start := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	tr := GenerateAbuse(3, 2000, start)
	t.Log(tr.Summary())
	for _, k := range []string{"leaked_code", "bot_clicks", "self_referral", "refund_farm", "duplicate_click", "datacenter_ip", "rule_violation"} {
		if tr.Labelled[k] == 0 {
			t.Errorf("no %s orders", k)
		}
	}
	if clean := tr.Labelled[""]; clean < len(tr.Orders)*8/10 {
		t.Errorf("%d clean of %d", clean, len(tr.Orders))
	}
	clicks := map[string]bool{}
	for i, c := range tr.Clicks {
		clicks[c.ClickID] = true
		if i > 0 && c.At.Before(tr.Clicks[i-1].At) {
			t.Fatal("clicks out of order")
		}
	}
	refunds := 0
	for i, o := range tr.Orders {
		if o.Input.CreatedAt == nil || o.Input.CreatedAt.Before(start) || (i > 0 && o.Input.CreatedAt.Before(*tr.Orders[i-1].Input.CreatedAt)) {
			t.Fatalf("order %d time %v", i, o.Input.CreatedAt)
		}
		if !o.RefundAt.IsZero() {
			refunds++
		}
		if o.Label == "bot_clicks" && o.Input.LandingSite == "/products/demo-tee" {
			t.Fatalf("bot-click order without its click: %+v", o)
		}
	}
	if refunds == 0 || len(tr.Partners) < 30 {
		t.Fatalf("refunds %d partners %d", refunds, len(tr.Partners))
	}
	again := GenerateAbuse(3, 2000, start)
	if again.Summary() != tr.Summary() {
		t.Fatal("not deterministic")
	}
}
