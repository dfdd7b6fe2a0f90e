package attribution

import (
	"errors"
	"math/rand/v2"
	"testing"
	"time"
)

func TestHoldUntil(t *testing.T) {
	t.Parallel()
	ip := func(v int) *int { return &v }
	ny, _ := time.LoadLocation("America/New_York")
	created := time.Date(2026, 10, 20, 9, 30, 0, 0, ny)
	for _, tc := range []struct {
		name           string
		shop, campaign *int
		want           time.Time
	}{
		{"default 30", nil, nil, t0.AddDate(0, 0, 30)},
		{"shop", ip(14), nil, t0.AddDate(0, 0, 14)},
		{"campaign overrides shop", ip(14), ip(60), t0.AddDate(0, 0, 60)},
		{"campaign zero", ip(14), ip(0), t0},
		{"negative is zero", ip(-3), nil, t0},
	} {
		if got := HoldUntil(t0, tc.shop, tc.campaign); !got.Equal(tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
	// Across the DST change the shop-local wall clock is kept.
	if got := HoldUntil(created, nil, nil); got.Hour() != 9 || got.Day() != 19 || got.Month() != time.November {
		t.Errorf("DST: %v", got)
	}
}

func newConv(t *testing.T) (Conversion, []Entry) {
	t.Helper()
	r := splitResult(t, 10000, 1000, 9000, "USD")
	return NewConversion("c1", r, HoldUntil(t0, nil, nil), "webhook:1")
}

func TestConversionTransitions(t *testing.T) {
	t.Parallel()
	c, ledger := newConv(t)
	if c.Status != StatusHeld || len(ledger) != 3 || Balance(ledger)[StatusHeld] != c.Amounts() {
		t.Fatalf("new: %+v %+v", c, Balance(ledger))
	}
	var terr *TransitionError

	if _, _, err := c.Pay("u"); !errors.As(err, &terr) {
		t.Errorf("pay held: %v", err)
	}
	if _, _, err := c.Release(t0.AddDate(0, 0, 29), "task"); !errors.Is(err, ErrNotDue) {
		t.Errorf("early release: %v", err)
	}
	rel, e, err := c.Release(t0.AddDate(0, 0, 30), "task")
	if err != nil || rel.Status != StatusApproved || len(e) != 3 || e[0].Reason != ReasonHoldElapsed {
		t.Fatalf("release: %v %+v", err, e)
	}
	if again, e2, err := rel.Release(t0.AddDate(0, 0, 31), "task"); err != nil || len(e2) != 0 || again.Status != StatusApproved {
		t.Errorf("repeat release: %v %v", err, e2)
	}
	if _, _, err := rel.Reject("late", "u"); !errors.As(err, &terr) || terr.From != StatusApproved {
		t.Errorf("reject approved: %v", err)
	}
	if c.Status != StatusHeld {
		t.Error("receiver modified")
	}

	// Paid, then a partial refund: clawback; then cancel: reversed.
	paid, _, _ := rel.Pay("statement:7")
	ref, e := paid.Refund(4500, "webhook:2")
	if ref.Status != StatusPaid || len(e) != 3 || e[0].To != BucketClawback {
		t.Fatalf("refund after payout: %+v %+v", ref.Status, e)
	}
	var claw int64
	for _, x := range e {
		claw += x.Amounts.Commission
	}
	// ana's 10% halves (300 -> 150); bob's fixed fee stays until a full refund.
	if claw != Clawback(paid.Amounts().Commission, ref.Amounts().Commission) || claw != 150 {
		t.Errorf("clawback %d", claw)
	}
	rev, e := ref.Cancel("", "webhook:3")
	if rev.Status != StatusReversed || !rev.Amounts().IsZero() || e[0].Reason != ReasonCancelled {
		t.Errorf("cancel: %+v %+v", rev, e)
	}
	if same, e := rev.Refund(10, "webhook:4"); len(e) != 0 || same.Status != StatusReversed {
		t.Error("refund after reversal")
	}

	// Rejected conversions stay rejected, shrinking.
	rej, _, err := c.Reject("self-referral", "user:9")
	if err != nil || rej.Status != StatusRejected {
		t.Fatal(err)
	}
	if rej2, _ := rej.Refund(9000, "w"); rej2.Status != StatusRejected || !rej2.Amounts().IsZero() {
		t.Errorf("rejected refund: %+v", rej2)
	}
	if _, _, err := rej.Approve("oops", "u"); !errors.As(err, &terr) {
		t.Error("approve rejected")
	}
}

// TestLedgerAgreesWithState is the property test: random sequences of
// partial refunds, approvals, rejections, payouts, releases and
// cancellations, and after every step the ledger replayed by Balance agrees
// with the conversion, line by line.
func TestLedgerAgreesWithState(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(3, 5))
	for iter := range 500 {
		net := 1 + rng.Int64N(500_000)
		r := splitResult(t, net+net/9, net/9, net, []string{"USD", "JPY"}[iter%2])
		c, ledger := NewConversion("c", r, HoldUntil(t0, nil, nil), "w0")
		orig := c.Amounts()
		var refunded int64
		for step := range 40 {
			var e []Entry
			var err error
			prev := c
			switch rng.IntN(7) {
			case 0, 1, 2:
				x := rng.Int64N(net/3 + 2)
				c, e = c.Refund(x, "refund")
				if prev.Status != StatusReversed {
					refunded = min(net, refunded+max(x, 0))
				}
			case 3:
				c, e, err = c.Approve("early", "user")
			case 4:
				c, e, err = c.Release(t0.AddDate(0, 0, rng.IntN(60)), "task")
			case 5:
				c, e, err = c.Pay("statement")
			case 6:
				if rng.IntN(4) == 0 {
					c, e, err = c.Reject("fraud", "rule")
				} else if rng.IntN(3) == 0 {
					c, e = c.Cancel("", "orders/cancelled")
					if prev.Status != StatusReversed {
						refunded = net
					}
				}
			}
			if err != nil {
				var terr *TransitionError
				if !errors.As(err, &terr) && !errors.Is(err, ErrNotDue) {
					t.Fatal(err)
				}
				if len(e) != 0 || c.Status != prev.Status {
					t.Fatal("failed transition changed state")
				}
			}
			for _, x := range e {
				if x.Amounts.Gross < 0 || x.Amounts.Net < 0 || x.Amounts.Discount < 0 || x.Amounts.Commission < 0 {
					t.Fatalf("negative move %+v", x)
				}
			}
			ledger = append(ledger, e...)
			checkAgreement(t, iter, step, c, ledger, orig)
			if c.Status != StatusRejected && c.Status != StatusReversed && c.Amounts().Net != net-refunded {
				t.Fatalf("iter %d step %d: net %d, want %d", iter, step, c.Amounts().Net, net-refunded)
			}
		}
	}
}

func checkAgreement(t *testing.T, iter, step int, c Conversion, ledger []Entry, orig Amounts) {
	t.Helper()
	all := Balance(ledger)
	var total Amounts
	for _, a := range all {
		total = total.Add(a)
	}
	if total != orig {
		t.Fatalf("iter %d step %d: buckets sum %+v, original %+v", iter, step, total, orig)
	}
	for i, l := range c.Lines {
		var mine []Entry
		for _, e := range ledger {
			if e.Line == i {
				mine = append(mine, e)
			}
		}
		b := Balance(mine)
		for _, s := range []Status{StatusHeld, StatusApproved, StatusPaid, StatusRejected} {
			want := Amounts{}
			if s == c.Status {
				want = l.Amounts
			}
			if b[s] != want {
				t.Fatalf("iter %d step %d status %s line %d: ledger %s=%+v, conversion %+v", iter, step, c.Status, i, s, b[s], l.Amounts)
			}
		}
		if c.Status == StatusReversed && !l.Amounts.IsZero() {
			t.Fatalf("reversed with amounts %+v", l.Amounts)
		}
		if b[StatusReversed].Add(b[BucketClawback]) != l.Original.Sub(l.Amounts) {
			t.Fatalf("lost amounts %+v + %+v != %+v", b[StatusReversed], b[BucketClawback], l.Original.Sub(l.Amounts))
		}
	}
}
