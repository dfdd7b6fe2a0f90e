package attribution

import (
	"math/rand/v2"
	"testing"
)

// splitResult is a three-line split conversion: ana 10%, an unpartnered
// code, bob fixed 500.
func splitResult(t *testing.T, gross, discount, net int64, currency string) Result {
	t.Helper()
	o := baseOrder()
	o.Currency, o.GrossMinor, o.DiscountMinor, o.NetMinor = currency, gross, discount, net
	o.DiscountCodes = []string{"ANA10", "SPR-U1"}
	o.LandingURL = landing("clk-bob")
	r := Attribute(o, testCodes, testClicks, nil, pol(SplitCredit, func(p *Policy) { p.Split.Mode = SplitEqual }), t0)
	if len(r.Lines) != 3 {
		t.Fatalf("lines %+v", r.Lines)
	}
	return r
}

func sumLines(ls []Line) Amounts {
	var a Amounts
	for _, l := range ls {
		a = a.Add(l.Amounts)
	}
	return a
}

func TestApplyRefundTable(t *testing.T) {
	t.Parallel()
	r := splitResult(t, 10000, 1000, 9000, "USD") // nets 3000/3000/3000
	for _, tc := range []struct {
		name      string
		refunds   []int64
		wantNet   []int64
		wantComm  []int64
		wantFull  bool
		wantTotal int64
	}{
		{"none", nil, []int64{3000, 3000, 3000}, []int64{300, 0, 167}, false, 0},
		{"a third", []int64{3000}, []int64{2000, 2000, 2000}, []int64{200, 0, 167}, false, 3000},
		{"one cent", []int64{1}, []int64{3000, 3000, 2999}, []int64{300, 0, 167}, false, 1},
		{"two halves", []int64{4500, 4500}, []int64{0, 0, 0}, []int64{0, 0, 0}, true, 9000},
		{"over-refund (shipping)", []int64{9500}, []int64{0, 0, 0}, []int64{0, 0, 0}, true, 9000},
		{"zero and negative ignored", []int64{0, -5}, []int64{3000, 3000, 3000}, []int64{300, 0, 167}, false, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			lines := r.Lines
			var res RefundResult
			res.Lines = lines
			for _, x := range tc.refunds {
				res = ApplyRefund(lines, x, r.Totals.Net)
				lines = res.Lines
			}
			for i, l := range lines {
				if l.Amounts.Net != tc.wantNet[i] || l.Amounts.Commission != tc.wantComm[i] {
					t.Errorf("line %d = %+v, want net %d commission %d", i, l.Amounts, tc.wantNet[i], tc.wantComm[i])
				}
			}
			if res.Full != tc.wantFull || res.Refunded != tc.wantTotal {
				t.Errorf("full=%v refunded=%d", res.Full, res.Refunded)
			}
		})
	}
}

// TestRefundSequencesExact: random partial refunds in many small steps keep
// every amount exactly where one refund of the same total would put it
// (within a unit per line), never grow a line, and end at exactly zero.
func TestRefundSequencesExact(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(7, 11))
	for iter := range 300 {
		currency := []string{"USD", "JPY", "KWD"}[iter%3]
		net := 1 + rng.Int64N(2_000_000)
		disc := rng.Int64N(net/2 + 1)
		r := splitResult(t, net+disc, disc, net, currency)
		lines := r.Lines
		var refunded int64
		for refunded < net {
			x := 1 + rng.Int64N(max(net/20, 1))
			if rng.IntN(50) == 0 {
				x = net // the rest in one go
			}
			res := ApplyRefund(lines, x, net)
			refunded = min(net, refunded+x)
			if res.Refunded != refunded {
				t.Fatalf("refunded %d, want %d", res.Refunded, refunded)
			}
			got := sumLines(res.Lines)
			if got.Net != net-refunded {
				t.Fatalf("net %d, want %d after %d refunded of %d", got.Net, net-refunded, refunded, net)
			}
			wantGross := mulDivRound(net+disc, net-refunded, net)
			if got.Gross != wantGross {
				t.Fatalf("gross %d, want %d", got.Gross, wantGross)
			}
			oneShot := ApplyRefund(r.Lines, refunded, net)
			for i := range lines {
				d := res.Deltas[i]
				if d.Net < 0 || d.Gross < 0 || d.Discount < 0 || d.Commission < 0 {
					t.Fatalf("line %d grew: delta %+v", i, d)
				}
				if lines[i].Amounts.Sub(d) != res.Lines[i].Amounts {
					t.Fatalf("delta does not match")
				}
				if diff := res.Lines[i].Amounts.Net - oneShot.Lines[i].Amounts.Net; diff < -1 || diff > 1 {
					t.Fatalf("line %d drifted by %d from the one-shot refund", i, diff)
				}
			}
			if res.Full != (refunded == net) {
				t.Fatalf("full = %v at %d/%d", res.Full, refunded, net)
			}
			lines = res.Lines
		}
		if !sumLines(lines).IsZero() {
			t.Fatalf("fully refunded but %+v left", sumLines(lines))
		}
	}
}

func TestClawback(t *testing.T) {
	t.Parallel()
	if Clawback(900, 600) != 300 || Clawback(900, 0) != 900 || Clawback(500, 700) != 0 {
		t.Error("Clawback")
	}
}

// A fully discounted order: nothing to share but the fixed fee, and any
// refund reverses it.
func TestFreeOrder(t *testing.T) {
	t.Parallel()
	o := baseOrder()
	o.GrossMinor, o.DiscountMinor, o.NetMinor = 2000, 2000, 0
	o.DiscountCodes = []string{"ANA10"}
	o.LandingURL = landing("clk-bob")
	r := Attribute(o, testCodes, testClicks, nil, pol(SplitCredit), t0)
	checkInvariants(t, o, r)
	if r.Totals.Commission != 250 { // ana 10% of 0, bob half of 500
		t.Fatalf("commission %d", r.Totals.Commission)
	}
	c, ledger := NewConversion("free", r, t0, "w")
	c, e := c.Refund(500, "shipping refund")
	ledger = append(ledger, e...)
	if c.Status != StatusReversed || !c.Amounts().IsZero() {
		t.Fatalf("%+v", c)
	}
	checkAgreement(t, 0, 0, c, ledger, r.Totals)
}
