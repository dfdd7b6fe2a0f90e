package uplift

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
)

// synthShop draws n shoppers whose discount works only on one kind of
// shopper: returning shoppers (prior orders) when returningResponds, new
// ones otherwise. Base conversion is 10%; the responders convert at 35%
// when treated.
func synthShop(n int, seed uint64, returningResponds bool) []ShopRow {
	r := rand.New(rand.NewPCG(seed, 1))
	rows := make([]ShopRow, n)
	chans := []string{"email", "social", "affiliate"}
	for i := range rows {
		prior := 0.0
		if r.Float64() < 0.5 {
			prior = float64(1 + r.IntN(5))
		}
		rec := -1.0
		if prior > 0 {
			rec = float64(r.IntN(300))
		}
		treated := r.Float64() < 0.7
		p := 0.10
		if treated && (prior > 0) == returningResponds {
			p = 0.35
		}
		kind := "new"
		if prior > 0 {
			kind = "returning"
		}
		ch := chans[r.IntN(3)]
		rows[i] = ShopRow{Shopper: fmt.Sprint("s", i), Treated: treated, Converted: r.Float64() < p, PriorOrders: prior,
			PriorSpend: prior * 4500, RecencyDays: rec, Channel: ch, Country: "US", Device: "mobile", Segment: ch + " · " + kind}
	}
	return rows
}

func TestTrainShopFindsTheKnownPatternAndGatesActivation(t *testing.T) {
	ctx := context.Background()
	reg := NewRegistry()
	cands := []string{NameTLearner, NameGAMTLearner, NameXLearner}
	a, err := TrainShop(ctx, synthShop(3000, 1, true), nil, reg, cands, 42)
	if err != nil {
		t.Fatal(err)
	}
	if !a.Activate || !(a.Qini > 0.1) {
		t.Fatalf("first model: activate %v, Qini %.4f (%s)", a.Activate, a.Qini, a.Reason)
	}
	for _, ch := range []string{"email", "social", "affiliate"} {
		ret, nw := a.Segments[ch+" · returning"], a.Segments[ch+" · new"]
		if !(ret > 0.15 && nw < 0.08) {
			t.Fatalf("%s: predicted uplift returning %.3f, new %.3f; want ≈ 0.25 and ≈ 0", ch, ret, nw)
		}
	}
	// The pattern flips: the old model ranks backwards on the new data, so
	// the new model beats it on the same held-out rows and is activated.
	flipped := synthShop(3000, 2, false)
	b, err := TrainShop(ctx, flipped, a.Model, reg, cands, 42)
	if err != nil {
		t.Fatal(err)
	}
	if !b.Activate || !(b.BaselineQini < 0) || !(b.Qini > b.BaselineQini) {
		t.Fatalf("after the flip: activate %v, Qini %.4f vs baseline %.4f (%s)", b.Activate, b.Qini, b.BaselineQini, b.Reason)
	}
	// Retrained on the same data and seed, the candidate only ties the
	// active model: it does not beat it, so the active one stays.
	c, err := TrainShop(ctx, flipped, b.Model, reg, cands, 42)
	if err != nil {
		t.Fatal(err)
	}
	if c.Activate || c.Qini != c.BaselineQini {
		t.Fatalf("a tie must keep the active model: activate %v, Qini %.6f vs %.6f", c.Activate, c.Qini, c.BaselineQini)
	}
	if DataHash(flipped) != DataHash(synthShop(3000, 2, false)) || DataHash(flipped) == DataHash(synthShop(3000, 3, false)) {
		t.Fatal("data hash must follow the data")
	}
	// Too little data is refused, not fitted.
	if _, err := TrainShop(ctx, synthShop(50, 4, true), nil, reg, cands, 42); !errors.Is(err, ErrTooLittleData) {
		t.Fatalf("50 shoppers: %v, want ErrTooLittleData", err)
	}
}

// TestNewLearnersRoundTrip: the S-learner and the ensemble fit, rank the
// known pattern above chance and come back from JSON predicting the same.
func TestNewLearnersRoundTrip(t *testing.T) {
	rows := synthShop(2000, 7, true)
	exp := ShopExperiment(rows)
	all := seq(exp.N())
	enc := FitEncoder(exp, all)
	X, err := enc.Transform(exp, all)
	if err != nil {
		t.Fatal(err)
	}
	reg := NewRegistry()
	for _, name := range []string{NameSLearnerGAM, NameEnsemble} {
		m, err := reg.New(name, 1)
		if err != nil {
			t.Fatal(err)
		}
		if err := m.Fit(X, exp.T, exp.Y); err != nil {
			t.Fatal(err)
		}
		u := m.Uplift(X)
		if q := QiniCoefficient(exp.Y, u, exp.T); !(q > 0.1) {
			t.Fatalf("%s: in-sample Qini %.4f on a strong pattern", name, q)
		}
		b, err := Marshal(m, enc)
		if err != nil {
			t.Fatal(err)
		}
		m2, enc2, err := reg.Unmarshal(b)
		if err != nil || m2.Name() != name || enc2 == nil {
			t.Fatalf("%s: unmarshal %v", name, err)
		}
		u2 := m2.Uplift(X)
		for i := range u {
			if u[i] != u2[i] {
				t.Fatalf("%s: row %d predicts %v after the round trip, %v before", name, i, u2[i], u[i])
			}
		}
	}
}
