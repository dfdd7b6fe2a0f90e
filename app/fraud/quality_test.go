package fraud

import (
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"testing"
)

// quality is the confusion of one scenario under one verdict.
type quality struct {
	labelled  map[IncidentKind]int // true kind -> orders
	predicted map[IncidentKind]int // predicted kind (flagged) -> orders
	hit       map[IncidentKind]int // flagged with the true kind
	detected  map[IncidentKind]int // flagged at all (any kind)
	clean     int
	cleanFP   int
	would     map[Action]int // would-have actions over all orders
	fpNoise   map[string]int
	missNoise map[string]int
}

// measure scores every order (review: at hold release, else at completion)
// and compares the verdict with the label. A positive is an order whose
// WouldAction is at least flag; its predicted kind is Assessment.Kind.
// Precision(k) = hits(k) / predicted(k); recall(k) = hits(k) / labelled(k);
// FPR = clean orders flagged / clean orders. The detector never sees Label.
func measure(sc Scenario, cfg Config, review bool, diag func(SimOrder, Assessment)) quality {
	q := quality{labelled: map[IncidentKind]int{}, predicted: map[IncidentKind]int{}, hit: map[IncidentKind]int{},
		detected: map[IncidentKind]int{}, would: map[Action]int{}, fpNoise: map[string]int{}, missNoise: map[string]int{}}
	for _, o := range sc.Orders {
		in := o.Inputs
		if review {
			in = o.Review
		}
		a := Score(in, cfg)
		q.would[a.WouldAction]++
		pos := a.WouldAction.Severity() > 0
		if o.Label == KindNone {
			q.clean++
		} else {
			q.labelled[o.Label]++
		}
		if pos {
			q.predicted[a.Kind]++
			if o.Label == KindNone {
				q.cleanFP++
				q.fpNoise[o.Noise]++
			} else {
				q.detected[o.Label]++
			}
			if a.Kind == o.Label && o.Label != KindNone {
				q.hit[o.Label]++
			}
		}
		if o.Label != KindNone && (!pos || a.Kind != o.Label) {
			q.missNoise[string(o.Label)+"/"+o.Noise]++
		}
		if diag != nil && (pos != (o.Label != KindNone) || (pos && a.Kind != o.Label)) {
			diag(o, a)
		}
	}
	return q
}

func (q quality) precision(k IncidentKind) float64 {
	if q.predicted[k] == 0 {
		return 1
	}
	return float64(q.hit[k]) / float64(q.predicted[k])
}

func (q quality) recall(k IncidentKind) float64 {
	if q.labelled[k] == 0 {
		return 1
	}
	return float64(q.hit[k]) / float64(q.labelled[k])
}

func (q quality) fpr() float64 { return float64(q.cleanFP) / float64(max(q.clean, 1)) }

func (q quality) report(t *testing.T, name string) {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %d clean, FPR %.4f (%d)\n", name, q.clean, q.fpr(), q.cleanFP)
	fmt.Fprintf(&b, "  %-16s %7s %9s %9s %7s %9s\n", "kind", "orders", "precision", "recall", "flagged", "any-kind")
	for _, k := range IncidentKinds() {
		if q.labelled[k] == 0 && q.predicted[k] == 0 {
			continue
		}
		fmt.Fprintf(&b, "  %-16s %7d %9.3f %9.3f %7d %9.3f\n", k, q.labelled[k], q.precision(k), q.recall(k),
			q.predicted[k], float64(q.detected[k])/float64(max(q.labelled[k], 1)))
	}
	fmt.Fprintf(&b, "  would-have: flag %d, hold %d, reject %d, none %d", q.would[ActionFlag], q.would[ActionHold],
		q.would[ActionReject], q.would[ActionNone])
	if len(q.fpNoise) > 0 {
		fmt.Fprintf(&b, "\n  false positives by clean pattern: %v", sortedCounts(q.fpNoise))
	}
	if len(q.missNoise) > 0 {
		fmt.Fprintf(&b, "\n  misses by kind/variant: %v", sortedCounts(q.missNoise))
	}
	t.Log(b.String())
}

func sortedCounts(m map[string]int) string {
	keys := slices.Sorted(maps.Keys(m))
	sort.SliceStable(keys, func(i, j int) bool { return m[keys[i]] > m[keys[j]] })
	var parts []string
	for _, k := range keys {
		if k == "" {
			parts = append(parts, fmt.Sprintf("plain=%d", m[k]))
		} else {
			parts = append(parts, fmt.Sprintf("%s=%d", k, m[k]))
		}
	}
	return strings.Join(parts, " ")
}

// TestDetectionQuality is the measured test of issue 6: on simulated shops
// of 12,000 orders (four fixed seeds), precision and recall per injected
// abuse kind must be at least 0.9 and the false-positive rate on clean
// orders at most 1%, for the verdict that decides payouts (the re-score when
// the hold ends). The verdict at order completion is reported beside it:
// refund farms cannot be seen before refunds arrive.
func TestDetectionQuality(t *testing.T) {
	t.Parallel()
	for _, seed := range []uint64{1, 2, 3, 42} {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			t.Parallel()
			sc := Simulate(seed, 12000, DefaultMix())
			if len(sc.Orders) < 10000 {
				t.Fatalf("scenario has %d orders, want ≥ 10000", len(sc.Orders))
			}
			cfg := DefaultConfig() // shadow mode: WouldAction is what would have happened
			atOrder := measure(sc, cfg, false, nil)
			atOrder.report(t, fmt.Sprintf("seed %d, %d orders, %d clicks, scored at completion", seed, len(sc.Orders), sc.Clicks))
			final := measure(sc, cfg, true, nil)
			final.report(t, fmt.Sprintf("seed %d, re-scored at hold release (shadow mode would-have counts)", seed))

			if got := final.fpr(); got > 0.01 {
				t.Errorf("FPR on clean orders = %.4f, want ≤ 0.01", got)
			}
			for _, k := range IncidentKinds() {
				if final.labelled[k] == 0 {
					if final.predicted[k] > 0 && k != KindVelocity {
						t.Errorf("%s: %d orders predicted but none injected", k, final.predicted[k])
					}
					continue
				}
				if p := final.precision(k); p < 0.9 {
					t.Errorf("%s: precision %.3f, want ≥ 0.9", k, p)
				}
				if r := final.recall(k); r < 0.9 {
					t.Errorf("%s: recall %.3f, want ≥ 0.9", k, r)
				}
			}
			if final.labelled[KindLeakedCode] == 0 || len(final.labelled) < 6 {
				t.Errorf("scenario injected %v, want at least 6 abuse kinds", final.labelled)
			}

			// Enforce mode acts exactly as shadow mode said it would.
			enf := cfg
			enf.Mode = ModeEnforce
			shadowBlocked, enforceBlocked := 0, 0
			for _, o := range sc.Orders {
				s, e := Score(o.Review, cfg), Score(o.Review, enf)
				if s.WouldAction == ActionReject || s.WouldAction == ActionHold {
					shadowBlocked++
				}
				if e.Action == ActionReject || e.Action == ActionHold {
					enforceBlocked++
				}
				if s.WouldAction != e.Action || (s.WouldAction != ActionNone && s.Action != ActionShadow) {
					t.Fatalf("order %s: shadow %s/%s, enforce %s", o.Inputs.Order.ID, s.Action, s.WouldAction, e.Action)
				}
			}
			t.Logf("shadow mode: would have held or rejected %d orders; enforce mode held or rejected %d", shadowBlocked, enforceBlocked)
		})
	}
}

// TestIncidentsOnePerActor checks that the alerts for a simulated shop come
// one per leaked code / partner, not one per order.
func TestIncidentsOnePerActor(t *testing.T) {
	t.Parallel()
	sc := Simulate(7, 12000, DefaultMix())
	cfg := DefaultConfig()
	var as []Assessment
	flagged := 0
	for _, o := range sc.Orders {
		a := Score(o.Review, cfg)
		if a.WouldAction.Severity() > 0 {
			flagged++
		}
		as = append(as, a)
	}
	inc := Group(as)
	byKind := map[IncidentKind]int{}
	for _, in := range inc {
		byKind[in.Kind]++
	}
	t.Logf("%d flagged orders -> %d incidents: %v", flagged, len(inc), byKind)
	if len(inc) == 0 || len(inc)*5 > flagged {
		t.Errorf("%d incidents for %d flagged orders: want far fewer incidents than orders", len(inc), flagged)
	}
	if byKind[KindLeakedCode] < 2 {
		t.Errorf("leaked_code incidents = %d, want ≥ 2 (two partner codes leaked)", byKind[KindLeakedCode])
	}
	for _, k := range []IncidentKind{KindBotClicks, KindRefundFarm, KindDatacenterIP} {
		if byKind[k] == 0 || byKind[k] > 6 {
			t.Errorf("%s incidents = %d, want 1..6 (one abusive partner)", k, byKind[k])
		}
	}
}

// BenchmarkScore measures one order's scoring on realistic inputs.
func BenchmarkScore(b *testing.B) {
	sc := Simulate(1, 12000, DefaultMix())
	cfg := DefaultConfig()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		Score(sc.Orders[i%len(sc.Orders)].Review, cfg)
	}
}

// BenchmarkDetectionQualitySweep repeats the measured test over 20 more seeds
// (4–23) to show the fixed seeds above are not lucky ones. It takes a while,
// so it runs as a benchmark (make bench).
func BenchmarkDetectionQualitySweep(b *testing.B) {
	for range b.N {
		detectionQualitySweep(b)
	}
}

func detectionQualitySweep(t testing.TB) {
	cfg := DefaultConfig()
	worstP, worstR, worstFPR := 1.0, 1.0, 0.0
	for seed := uint64(4); seed <= 23; seed++ {
		q := measure(Simulate(seed, 12000, DefaultMix()), cfg, true, nil)
		line := fmt.Sprintf("seed %2d: FPR %.4f", seed, q.fpr())
		worstFPR = max(worstFPR, q.fpr())
		for _, k := range IncidentKinds() {
			if q.labelled[k] == 0 {
				continue
			}
			p, r := q.precision(k), q.recall(k)
			worstP, worstR = min(worstP, p), min(worstR, r)
			line += fmt.Sprintf(" | %s P %.3f R %.3f", k, p, r)
			if p < 0.9 || r < 0.9 {
				t.Errorf("seed %d: %s precision %.3f recall %.3f", seed, k, p, r)
			}
		}
		if q.fpr() > 0.01 {
			t.Errorf("seed %d: FPR %.4f", seed, q.fpr())
		}
		t.Log(line)
	}
	t.Logf("worst over 20 seeds: precision %.3f, recall %.3f, FPR %.4f", worstP, worstR, worstFPR)
}
