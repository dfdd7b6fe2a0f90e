package experiment

import (
	"math"
	"math/rand/v2"
	"testing"
)

func binom(r *rand.Rand, n int64, p float64) int64 {
	var x int64
	for range n {
		if r.Float64() < p {
			x++
		}
	}
	return x
}

func TestAssignIsDeterministicAndBalanced(t *testing.T) {
	var ctl int
	const n = 20000
	for i := range n {
		id := int64(i + 1)
		k := ShopperKey(&id, "")
		a := Assign(7, k, "salt-1", 0.2)
		if a != Assign(7, k, "salt-1", 0.2) {
			t.Fatal("assignment is not deterministic")
		}
		if a == Control {
			ctl++
		}
	}
	if share := float64(ctl) / n; math.Abs(share-0.2) > 0.015 {
		t.Fatalf("control share %.4f, want ≈ 0.2", share)
	}
	// Another salt reshuffles; another shop too.
	same := 0
	for i := range 2000 {
		k := ShopperKey(nil, "Shopper"+string(rune('a'+i%26))+"@example.com")
		if Bucket(7, k, "a") == Bucket(7, k, "b") || Bucket(7, k, "a") == Bucket(8, k, "a") {
			same++
		}
	}
	if same > 0 {
		t.Fatalf("%d buckets unchanged by salt or shop", same)
	}
	if ShopperKey(nil, " A@X.com ") != "email:a@x.com" || ShopperKey(nil, "") != "" || Assign(1, "", "s", 0.5) != Treatment {
		t.Fatal("shopper keys")
	}
}

func TestKnownValues(t *testing.T) {
	// Newcombe (1998) table II example (h): 56/70 vs 48/80 → (0.0524, 0.3339).
	lo, hi := DiffCI(56, 70, 48, 80, 0.05)
	if math.Abs(lo-0.0524) > 5e-4 || math.Abs(hi-0.3339) > 5e-4 {
		t.Fatalf("Newcombe CI = (%.4f, %.4f), want (0.0524, 0.3339)", lo, hi)
	}
	// Sample size: p0 = 10%, +20% relative, 50/50, α 0.05, power 0.8 → ≈ 3,842 per arm.
	if n := SampleSize(0.10, 0.2, 0.5, 0.05, 0.8); math.Abs(n/2-3841) > 5 {
		t.Fatalf("sample size per arm %.0f, want ≈ 3841", n/2)
	}
	r := Analyze(Arm{Shoppers: 1000, Converters: 60, Orders: 70, RevenueMinor: 700000, CostMinor: 50000},
		Arm{Shoppers: 250, Converters: 10, Orders: 10, RevenueMinor: 100000}, Settings{})
	if math.Abs(r.Absolute-0.02) > 1e-12 || math.Abs(r.Relative-0.5) > 1e-12 || r.IncrementalOrders != 30 || r.IncrementalRevenueMinor != 300000 {
		t.Fatalf("readout %+v", r)
	}
	if math.Abs(r.CostPerIncrementalMinor-50000.0/30) > 1e-9 || math.Abs(r.IncrementalROAS-6) > 1e-12 || r.SampleSizeNeeded <= 0 {
		t.Fatalf("readout %+v", r)
	}
	if Analyze(Arm{}, Arm{}, Settings{}).SampleSizeNeeded != -1 {
		t.Fatal("no baseline should give -1")
	}
}

// TestCICoverageBySimulation: over 1,000 simulated experiments the 95%
// intervals of the absolute and the relative lift cover the true values
// between 93% and 97% of the time.
func TestCICoverageBySimulation(t *testing.T) {
	r := rand.New(rand.NewPCG(20261124, 7))
	const sims = 1000
	p0, p1 := 0.05, 0.06
	var absCov, relCov int
	for range sims {
		n1, n0 := int64(3000), int64(1000) // 25% holdout
		x1, x0 := binom(r, n1, p1), binom(r, n0, p0)
		rd := Analyze(Arm{Shoppers: n1, Converters: x1}, Arm{Shoppers: n0, Converters: x0}, Settings{})
		if rd.AbsoluteCI[0] <= p1-p0 && p1-p0 <= rd.AbsoluteCI[1] {
			absCov++
		}
		if rd.RelativeCI[0] <= p1/p0-1 && p1/p0-1 <= rd.RelativeCI[1] {
			relCov++
		}
	}
	ac, rc := float64(absCov)/sims, float64(relCov)/sims
	t.Logf("coverage over %d experiments: absolute %.1f%%, relative %.1f%%", sims, 100*ac, 100*rc)
	for name, c := range map[string]float64{"absolute": ac, "relative": rc} {
		if c < 0.93 || c > 0.97 {
			t.Errorf("%s lift CI coverage %.3f, want within [0.93, 0.97]", name, c)
		}
	}
}

// simulateLooks draws one experiment observed at the end of each of days
// days: perDay shoppers a day, control share h.
func simulateLooks(r *rand.Rand, days int, perDay int64, h, p1, p0 float64) []Look {
	looks := make([]Look, 0, days)
	var l Look
	for range days {
		n0 := binom(r, perDay, h)
		n1 := perDay - n0
		l.TreatedShoppers += n1
		l.ControlShoppers += n0
		l.TreatedConverters += binom(r, n1, p1)
		l.ControlConverters += binom(r, n0, p0)
		looks = append(looks, l)
	}
	return looks
}

// TestSequentialFalsePositivesUnderDailyPeeking: with no effect and a look
// every day for 30 days, the always-valid test rejects in at most 5% of
// 1,000 experiments, while re-running a fixed-horizon test every day does
// far worse.
func TestSequentialFalsePositivesUnderDailyPeeking(t *testing.T) {
	const sims, days = 1000, 30
	for _, sc := range []struct {
		name   string
		p      float64
		perDay int64
		mde    float64
	}{
		{"5% base, 150 shoppers a day", 0.05, 150, 0.1},
		{"2% base, 60 shoppers a day, MDE 50%", 0.02, 60, 0.5},
	} {
		t.Run(sc.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(42, uint64(sc.perDay)))
			var seqFP, naiveFP, coverage int
			for range sims {
				looks := simulateLooks(r, days, sc.perDay, 0.3, sc.p, sc.p)
				// τ as the readout derives it: from the control rate seen so far.
				last := looks[len(looks)-1]
				tau := MixtureTau(float64(last.ControlConverters)/float64(last.ControlShoppers), sc.mde)
				res := Sequential(looks, tau, 0.05)
				if res.Significant {
					seqFP++
				}
				if res.CI[0] <= 0 && 0 <= res.CI[1] {
					coverage++
				}
				if NaivePeek(looks, 0.05) {
					naiveFP++
				}
			}
			seq, naive := float64(seqFP)/sims, float64(naiveFP)/sims
			t.Logf("false-positive rate with %d daily looks: mSPRT %.1f%%, naive peeking %.1f%%; always-valid CI covers 0 in %.1f%%",
				days, 100*seq, 100*naive, 100*float64(coverage)/sims)
			if seq > 0.05 {
				t.Errorf("sequential false-positive rate %.3f > 0.05", seq)
			}
			if naive < 0.10 {
				t.Errorf("naive peeking false-positive rate %.3f: expected the inflation peeking causes (> 0.10)", naive)
			}
			if float64(coverage)/sims < 0.95 {
				t.Errorf("always-valid CI coverage %.3f < 0.95", float64(coverage)/sims)
			}
		})
	}
}

// TestSequentialDetectsARealEffect: the test is not valid by never
// rejecting — with a 50% relative lift it finds the effect most of the time.
func TestSequentialDetectsARealEffect(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 9))
	const sims = 200
	hits := 0
	for range sims {
		res := Sequential(simulateLooks(r, 30, 300, 0.3, 0.075, 0.05), MixtureTau(0.05, 0.1), 0.05)
		if res.Significant {
			hits++
		}
	}
	t.Logf("power at +50%% relative: %.1f%%", 100*float64(hits)/sims)
	if float64(hits)/sims < 0.6 {
		t.Fatalf("power %.2f, want ≥ 0.6", float64(hits)/sims)
	}
}
