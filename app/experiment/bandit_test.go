package experiment

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"sort"
	"strings"
	"testing"
)

// banditWorld is a simulated offer: per level the true conversion rate of
// treated shoppers and the discount per order; the control converts at
// controlRate; every order is worth aov.
type banditWorld struct {
	controlRate float64
	rates       map[string]float64
	discount    map[string]int64
	aov         int64
	holdout     float64
}

// run serves rounds batches of batch shoppers: each batch is decided on the
// counts of the batches before it (like the periodic snapshot), and the
// losing levels are retired between batches. It returns the shoppers
// served per level in the second half and the retirements.
func (w banditWorld) run(t *testing.T, seed uint64, rounds, batch int, levels []string) (late map[string]int, retired []Retirement) {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 7))
	var rows []BanditRow
	counts := BanditCounts{Segments: map[string]BanditSegment{}}
	live := map[string]bool{}
	for _, l := range levels {
		live[l] = true
	}
	late = map[string]int{}
	for r := range rounds {
		var liveKeys []string
		for _, l := range levels {
			if live[l] {
				liveKeys = append(liveKeys, l)
			}
		}
		for range batch {
			row := BanditRow{Channel: "email", Device: "mobile", Arm: Control}
			p := w.controlRate
			if rng.Float64() >= w.holdout {
				row.Arm = Treatment
				row.Level = counts.Choose(SegmentKey("email", "mobile"), liveKeys, 0.5, rng)
				p = w.rates[row.Level]
				if r >= rounds/2 {
					late[row.Level]++
				}
			}
			row.Shoppers = 1
			if rng.Float64() < p {
				row.Converters, row.Orders, row.RevenueMinor = 1, 1, w.aov
				if row.Arm == Treatment {
					row.DiscountMinor = w.discount[row.Level]
				}
			}
			rows = append(rows, row)
		}
		counts = BuildBanditCounts(rows)
		sum := counts.Summarize(levels, live, 0.5, 2000, rng)
		for _, x := range Retire(sum, live, nil) {
			live[x.Level] = false
			retired = append(retired, x)
		}
	}
	return late, retired
}

// Profit per shopper at margin 0.5 and order value 50.00: level "1" (5%)
// (0.11−0.10)×2500 − 0.11×250 = −2.5; level "2" (15%) (0.16−0.10)×2500 −
// 0.16×750 = +30; level "3" (30%) (0.17−0.10)×2500 − 0.17×1500 = −80.
var testWorld = banditWorld{controlRate: 0.10, rates: map[string]float64{"1": 0.11, "2": 0.16, "3": 0.17},
	discount: map[string]int64{"1": 250, "2": 750, "3": 1500}, aov: 5000, holdout: 0.1}

func TestBanditSendsTrafficToTheMostProfitableLevel(t *testing.T) {
	t.Parallel()
	for _, seed := range []uint64{1, 2, 3} {
		late, retired := testWorld.run(t, seed, 40, 250, []string{"1", "2", "3"})
		total := late["1"] + late["2"] + late["3"]
		if share := float64(late["2"]) / float64(total); share < 0.7 {
			t.Errorf("seed %d: the most profitable level got %.2f of late traffic (%v), want ≥ 0.7", seed, share, late)
		}
		if late["3"] > total/20 {
			t.Errorf("seed %d: the losing level still got %d of %d late shoppers", seed, late["3"], total)
		}
		for _, x := range retired {
			if x.Level == "2" {
				t.Errorf("seed %d: the profitable level was retired: %+v", seed, x)
			}
		}
	}
}

func TestBanditIsDeterministicWithASeededRng(t *testing.T) {
	t.Parallel()
	a, ra := testWorld.run(t, 11, 10, 100, []string{"1", "2", "3"})
	b, rb := testWorld.run(t, 11, 10, 100, []string{"1", "2", "3"})
	if !reflect.DeepEqual(a, b) || !reflect.DeepEqual(ra, rb) {
		t.Fatalf("same seed, different runs: %v %v / %v %v", a, ra, b, rb)
	}
	c, _ := testWorld.run(t, 12, 10, 100, []string{"1", "2", "3"})
	if reflect.DeepEqual(a, c) {
		t.Fatalf("another seed gave the very same traffic %v: the rng is not used", a)
	}
}

// counts3 is a campaign where level "3" converts like the control but gives
// 15.00 on every order, level "2" pays (0.20 against 0.10 for 7.50 off) and
// level "1" is barely tried.
func counts3(shoppers3 int64) BanditCounts {
	return BuildBanditCounts([]BanditRow{
		{Channel: "email", Device: "mobile", Arm: Control, Counts: Counts{Shoppers: 1000, Converters: 100, Orders: 100, RevenueMinor: 500000}},
		{Channel: "email", Device: "mobile", Arm: Treatment, Level: "1", Counts: Counts{Shoppers: 30, Converters: 4, Orders: 4, RevenueMinor: 20000, DiscountMinor: 1000}},
		{Channel: "email", Device: "mobile", Arm: Treatment, Level: "2", Counts: Counts{Shoppers: 2000, Converters: 400, Orders: 400, RevenueMinor: 2000000, DiscountMinor: 300000}},
		{Channel: "email", Device: "mobile", Arm: Treatment, Level: "3", Counts: Counts{Shoppers: shoppers3, Converters: shoppers3 / 10, Orders: shoppers3 / 10,
			RevenueMinor: 5000 * (shoppers3 / 10), DiscountMinor: 1500 * (shoppers3 / 10)}},
	})
}

func TestBanditRetiresALosingLevelWithItsNumbers(t *testing.T) {
	t.Parallel()
	live := map[string]bool{"1": true, "2": true, "3": true}
	b := counts3(1234)
	sum := b.Summarize([]string{"1", "2", "3"}, live, 0.5, BanditRetireRounds, rand.New(rand.NewPCG(1, 2)))
	got := Retire(sum, live, func(m float64) string { return fmt.Sprintf("%.2f", m/100) })
	if len(got) != 1 || got[0].Level != "3" || got[0].Shoppers != 1234 {
		t.Fatalf("retired %+v, want level 3 only", got)
	}
	// Profit per shopper ≈ (0.10−0.10)×5000×0.5 − 0.10×1500 = −150 minor units.
	if e := got[0].ExpectedProfitPerShopper; e > -120 || e < -180 {
		t.Fatalf("expected profit per shopper %.1f, want ≈ −150", e)
	}
	if got[0].PLoss < RetireAt {
		t.Fatalf("P(loss) %.3f below the threshold", got[0].PLoss)
	}
	if !strings.Contains(got[0].Reason, "after 1,234 shoppers") || !strings.Contains(got[0].Reason, "% P below zero") ||
		!strings.HasPrefix(got[0].Reason, "expected profit per shopper -1.") {
		t.Fatalf("reason %q", got[0].Reason)
	}
	// Level "1" is unproven (30 shoppers): never retired on so little data.
	// Level "2" pays.
	for _, s := range sum {
		if s.Level == "2" && !(s.ExpectedProfitPerShopper > 0 && s.PLoss < 0.05 && s.SelectionShare > 0.5) {
			t.Fatalf("level 2 summary %+v: profitable and mostly selected", s)
		}
		if s.Level == "3" && s.SelectionShare > 0.01 {
			t.Fatalf("level 3 summary %+v: should almost never win a draw", s)
		}
	}
	var share float64
	for _, s := range sum {
		share += s.TrafficShare
	}
	if share < 0.999 || share > 1.001 {
		t.Fatalf("traffic shares sum to %.4f", share)
	}
}

func TestBanditRetirementNeedsDataAndKeepsOneLevel(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(3, 4))
	// Too few shoppers on the losing level: kept.
	live := map[string]bool{"1": true, "2": true, "3": true}
	b := counts3(150)
	if got := Retire(b.Summarize([]string{"1", "2", "3"}, live, 0.5, BanditRetireRounds, rng), live, nil); len(got) != 0 {
		t.Fatalf("retired on %d shoppers: %+v", 150, got)
	}
	// The losing level is the only live one: kept.
	only := map[string]bool{"3": true}
	b = counts3(5000)
	if got := Retire(b.Summarize([]string{"1", "2", "3"}, only, 0.5, BanditRetireRounds, rng), only, nil); len(got) != 0 {
		t.Fatalf("retired the last live level: %+v", got)
	}
	// Two losers, both live and nothing else: the surer loser goes, one stays.
	both := map[string]bool{"2": true, "3": true}
	b = counts3(5000)
	lose2 := b.Segments[AllShoppers]
	c := lose2.Levels["2"]
	c.Converters, c.Orders, c.RevenueMinor, c.DiscountMinor = 200, 200, 1000000, 200000 // converts like the control, 10.00 off
	lose2.Levels["2"] = c
	b.Segments[AllShoppers] = lose2
	got := Retire(b.Summarize([]string{"2", "3"}, both, 0.5, BanditRetireRounds, rng), both, nil)
	if len(got) != 1 || got[0].Level != "3" || !strings.Contains(got[0].Reason, "minor units") {
		t.Fatalf("two losers: retired %+v, want only level 3 (the bigger loss)", got)
	}
}

func TestBanditChooseFallsBackToTheWholeCampaignAndExplores(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(5, 6))
	// No data yet: uniform over the live levels.
	empty := BuildBanditCounts(nil)
	n := map[string]int{}
	for range 3000 {
		n[empty.Choose(SegmentKey("sms", ""), []string{"a", "b", "c"}, 0.5, rng)]++
	}
	for _, k := range []string{"a", "b", "c"} {
		if n[k] < 850 || n[k] > 1150 {
			t.Fatalf("no data: %v, want about 1000 each", n)
		}
	}
	if got := empty.Choose("x", []string{"only"}, 0.5, rng); got != "only" {
		t.Fatalf("one live level: %q", got)
	}
	// A segment with few shoppers decides on the whole campaign, where
	// level "2" is clearly best; a big segment where "1" is best decides on
	// its own counts.
	rows := []BanditRow{
		{Channel: "email", Device: "mobile", Arm: Control, Counts: Counts{Shoppers: 2000, Converters: 200, Orders: 200, RevenueMinor: 1000000}},
		{Channel: "email", Device: "mobile", Arm: Treatment, Level: "1", Counts: Counts{Shoppers: 2000, Converters: 200, Orders: 200, RevenueMinor: 1000000, DiscountMinor: 100000}},
		{Channel: "email", Device: "mobile", Arm: Treatment, Level: "2", Counts: Counts{Shoppers: 2000, Converters: 400, Orders: 400, RevenueMinor: 2000000, DiscountMinor: 200000}},
		{Channel: "sms", Device: "desktop", Arm: Control, Counts: Counts{Shoppers: 500, Converters: 50, Orders: 50, RevenueMinor: 250000}},
		{Channel: "sms", Device: "desktop", Arm: Treatment, Level: "1", Counts: Counts{Shoppers: 500, Converters: 100, Orders: 100, RevenueMinor: 500000, DiscountMinor: 5000}},
		{Channel: "sms", Device: "desktop", Arm: Treatment, Level: "2", Counts: Counts{Shoppers: 500, Converters: 50, Orders: 50, RevenueMinor: 250000, DiscountMinor: 25000}},
		{Channel: "web", Device: "tablet", Arm: Treatment, Level: "1", Counts: Counts{Shoppers: 20, Converters: 10, Orders: 10, RevenueMinor: 50000, DiscountMinor: 500}},
	}
	b := BuildBanditCounts(rows)
	if all := b.Segments[AllShoppers]; all.Control.Shoppers != 2500 || all.Levels["1"].Shoppers != 2520 || all.Levels["1"].Converters != 310 || all.Levels["2"].Converters != 450 {
		t.Fatalf("whole campaign %+v", all)
	}
	for _, c := range []struct {
		seg, want string
	}{{SegmentKey("sms", "desktop"), "1"}, {SegmentKey("email", "mobile"), "2"}, {SegmentKey("web", "tablet"), "2"}, {SegmentKey("unknown", ""), "2"}} {
		got := map[string]int{}
		for range 400 {
			got[b.Choose(c.seg, []string{"1", "2"}, 0.5, rng)]++
		}
		if got[c.want] < 360 {
			t.Errorf("segment %s: %v, want mostly %s", c.seg, got, c.want)
		}
	}
}

func TestBanditCompactKeepsTheSegmentsItDecidesOn(t *testing.T) {
	t.Parallel()
	rows := []BanditRow{
		{Channel: "email", Device: "mobile", Arm: Treatment, Level: "1", Counts: Counts{Shoppers: 300}},
		{Channel: "sms", Device: "desktop", Arm: Control, Counts: Counts{Shoppers: 60}},
		{Channel: "sms", Device: "desktop", Arm: Treatment, Level: "1", Counts: Counts{Shoppers: 60}},
		{Channel: "web", Device: "tablet", Arm: Treatment, Level: "1", Counts: Counts{Shoppers: 99}},
		{Channel: "web", Device: "agent/1.0", Arm: Treatment, Level: "2", Counts: Counts{Shoppers: 5}},
	}
	b := BuildBanditCounts(rows)
	if len(b.Segments) != 5 {
		t.Fatalf("%d segments before compacting", len(b.Segments))
	}
	got := b.Compact(1)
	var keys []string
	for k := range got.Segments {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if want := []string{"all", "email|mobile"}; !reflect.DeepEqual(keys, want) {
		t.Fatalf("compact(1) kept %v, want %v", keys, want)
	}
	if got.Segments[AllShoppers].Levels["1"].Shoppers != 459 {
		t.Fatalf("the whole campaign must stay whole: %+v", got.Segments[AllShoppers])
	}
	if n := len(b.Compact(10).Segments); n != 3 {
		t.Fatalf("compact(10) kept %d segments, want all, email|mobile and sms|desktop", n)
	}
}

func TestThousands(t *testing.T) {
	t.Parallel()
	for n, want := range map[int64]string{0: "0", 999: "999", 1000: "1,000", 1234567: "1,234,567", -1234: "-1,234"} {
		if got := thousands(n); got != want {
			t.Errorf("thousands(%d) = %q, want %q", n, got, want)
		}
	}
}
