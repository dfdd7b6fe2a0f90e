package uplift

import (
	"context"
	"math"
	"slices"
	"testing"
)

// BenchmarkStrongerLearnerOverSeeds reports every registered learner on
// Hillstrom visit over split seeds 1–20 (the reference T-learner's spread is
// 0.0665 ± 0.0112) and checks the GAM T-learner beats it. It fits 20 models
// per learner, so it runs as a benchmark (make bench); the always-on check
// is TestStrongerLearnerPaired.
func BenchmarkStrongerLearnerOverSeeds(b *testing.B) {
	for range b.N {
		strongerLearnerOverSeeds(b)
	}
}

func strongerLearnerOverSeeds(t testing.TB) {
	exp := loadHillstrom(t, "visit")
	reg := NewRegistry()
	mean := map[string]float64{}
	runs := map[string][]*Result{}
	for _, name := range reg.Names() {
		s, err := EvaluateSeeds(context.Background(), exp, reg, EvalConfig{Model: name, Holdout: DefaultHoldout}, 1, 20)
		if err != nil {
			t.Fatal(err)
		}
		mean[name] = float64(s.Mean["qini_coefficient"])
		runs[name] = s.Runs
		t.Logf("%-14s qini %.6f ± %.6f  auuc %.6f ± %.6f  uplift@30 %.6f ± %.6f", name,
			s.Mean["qini_coefficient"], s.SD["qini_coefficient"], s.Mean["auuc_normalized"], s.SD["auuc_normalized"],
			s.Mean["uplift_at_30"], s.SD["uplift_at_30"])
	}
	diff := make([]float64, len(runs[NameTLearner]))
	var wins int
	for i, r := range runs[NameTLearner] {
		diff[i] = float64(runs[NameGAMTLearner][i].Qini - r.Qini)
		if diff[i] > 0 {
			wins++
		}
	}
	dm, dsd := meanSampleSD(diff)
	t.Logf("paired Qini difference gam - tlearner: %.6f ± %.6f (sd), se %.6f, gam better on %d of %d seeds",
		dm, dsd, dsd/math.Sqrt(float64(len(diff))), wins, len(diff))
	if math.Abs(mean[NameTLearner]-0.0665) > 0.00005 {
		t.Errorf("T-learner mean Qini %.6f, reference 0.0665", mean[NameTLearner])
	}
	if !(mean[NameGAMTLearner] > mean[NameTLearner]) {
		t.Errorf("GAM T-learner mean Qini %.6f does not beat the T-learner's %.6f", mean[NameGAMTLearner], mean[NameTLearner])
	}
}

// TestStrongerLearnerPaired is the cheap always-on check: on the seed-42
// split the GAM T-learner must be well above the noise floor and must not
// fall below the T-learner by more than the seed-to-seed noise.
func TestStrongerLearnerPaired(t *testing.T) {
	t.Parallel()
	exp := loadHillstrom(t, "visit")
	reg := NewRegistry()
	ctx := context.Background()
	gam, err := Evaluate(ctx, exp, reg, EvalConfig{Model: NameGAMTLearner, Holdout: 0.3, Seed: 42, NoiseRounds: 50})
	if err != nil {
		t.Fatal(err)
	}
	tl, err := Evaluate(ctx, exp, reg, EvalConfig{Model: NameTLearner, Holdout: 0.3, Seed: 42})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("seed 42: gam qini %.12f (noise p95 %.6f), tlearner %.12f", gam.Qini, gam.NoiseFloor.QiniP95, tl.Qini)
	if gam.Qini < 2*gam.NoiseFloor.QiniP95 {
		t.Errorf("GAM T-learner Qini %v not clearly above the noise floor %v", gam.Qini, gam.NoiseFloor.QiniP95)
	}
	if gam.Qini < tl.Qini-0.01 {
		t.Errorf("GAM T-learner Qini %v far below the T-learner's %v", gam.Qini, tl.Qini)
	}
}

// TestModelsRoundTrip fits every registered model on a seed-42 split, stores
// it as JSON with its encoder and checks the restored model scores the
// holdout identically.
func TestModelsRoundTrip(t *testing.T) {
	t.Parallel()
	exp := loadHillstrom(t, "visit")
	reg := NewRegistry()
	train, hold := Split(exp.N(), 42, 0.3)
	train, hold = train[:4000], hold[:1000] // a small fit keeps -race fast
	enc := FitEncoder(exp, train)
	Xtr, err := enc.Transform(exp, train)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range reg.Names() {
		t.Run(name, func(t *testing.T) {
			m, err := reg.New(name, 7)
			if err != nil {
				t.Fatal(err)
			}
			if err := m.Fit(Xtr, pick(exp.T, train), pick(exp.Y, train)); err != nil {
				t.Fatal(err)
			}
			data, err := Marshal(m, enc)
			if err != nil {
				t.Fatal(err)
			}
			m2, enc2, err := reg.Unmarshal(data)
			if err != nil {
				t.Fatal(err)
			}
			if m2.Name() != name {
				t.Fatalf("restored %q, want %q", m2.Name(), name)
			}
			Xa, _ := enc.Transform(exp, hold)
			Xb, err := enc2.Transform(exp, hold)
			if err != nil {
				t.Fatal(err)
			}
			if a, b := m.Uplift(Xa), m2.Uplift(Xb); !slices.Equal(a, b) {
				t.Fatalf("restored model scores differ: %v vs %v", a[:3], b[:3])
			}
		})
	}
	if _, err := reg.New("nope", 0); err == nil {
		t.Error("unknown model accepted")
	}
}
