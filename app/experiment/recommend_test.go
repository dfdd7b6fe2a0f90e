package experiment

import (
	"math/rand/v2"
	"testing"
	"time"
)

func TestRecommendRanksByProfitAndRetiresLosers(t *testing.T) {
	ctl := Arm{Shoppers: 2000, Converters: 100} // 5%
	segs := []Segment{
		{Name: "email · returning", Channel: "email", Customers: 4000, Levels: []Level{
			// 10%: +5 points on a 100.00 order, 10.00 discount per order.
			{Label: "10%", CampaignID: 1, Treated: Arm{Shoppers: 2000, Converters: 200, Orders: 200}, Control: ctl, DiscountPerOrderMinor: 1000, AOVMinor: 10000},
			// 40%: +6 points but 40.00 per order: loses money.
			{Label: "40%", CampaignID: 2, Treated: Arm{Shoppers: 2000, Converters: 220, Orders: 220}, Control: ctl, DiscountPerOrderMinor: 4000, AOVMinor: 10000},
		}},
		{Name: "sms · new", Channel: "sms", Customers: 1000, Levels: []Level{
			// No lift at all: any discount is a loss.
			{Label: "10%", CampaignID: 1, Treated: Arm{Shoppers: 1000, Converters: 50, Orders: 50}, Control: Arm{Shoppers: 1000, Converters: 50}, DiscountPerOrderMinor: 1000, AOVMinor: 10000},
		}},
		{Name: "tv · new", Channel: "tv", Customers: 10},
	}
	recs := Recommend(segs, 0.5, rand.New(rand.NewPCG(1, 2)))
	if len(recs) != 3 {
		t.Fatalf("%d recommendations", len(recs))
	}
	top := recs[0]
	if top.Segment != "email · returning" || top.Arm != "10%" || top.CampaignID != 1 || !(top.ExpectedProfit > 0) {
		t.Fatalf("top %+v", top)
	}
	if len(top.Retired) != 1 || top.Retired[0] != "40%" || top.Share["10%"] < 0.9 {
		t.Fatalf("the 40%% arm loses money and must be retired: %+v", top)
	}
	for _, r := range recs[1:] {
		if r.Arm != "none" || r.Reason == "" {
			t.Fatalf("%s: %+v, want no discount with a reason", r.Segment, r)
		}
	}
	// A model's uplift replaces the arm difference.
	u := 0.0
	segs[0].Levels[0].ModelUplift, segs[0].Levels[0].ModelNote = &u, "model"
	segs[0].Levels = segs[0].Levels[:1]
	if r := Recommend(segs[:1], 0.5, rand.New(rand.NewPCG(1, 2)))[0]; r.Arm != "none" {
		t.Fatalf("with a zero model uplift the discount cannot pay: %+v", r)
	}
}

func TestAggregateLooks(t *testing.T) {
	d0 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	at := func(days int) *time.Time { x := d0.Add(time.Duration(days) * 24 * time.Hour); return &x }
	obs := []Obs{
		{Arm: Treatment, AssignedAt: d0, Orders: 2, FirstOrder: at(2), Revenue: 100, Cost: 10},
		{Arm: Treatment, AssignedAt: *at(1)},
		{Arm: Control, AssignedAt: d0, Orders: 1, FirstOrder: at(0), Revenue: 50},
	}
	tr, c, looks := Aggregate(obs, *at(3))
	if tr.Shoppers != 2 || tr.Converters != 1 || tr.Orders != 2 || tr.RevenueMinor != 100 || tr.CostMinor != 10 || c.Shoppers != 1 || c.Converters != 1 {
		t.Fatalf("arms %+v %+v", tr, c)
	}
	want := []Look{{1, 0, 1, 1}, {2, 0, 1, 1}, {2, 1, 1, 1}, {2, 1, 1, 1}}
	if len(looks) != len(want) {
		t.Fatalf("looks %+v", looks)
	}
	for i := range want {
		if looks[i] != want[i] {
			t.Fatalf("look %d = %+v, want %+v", i, looks[i], want[i])
		}
	}
}
