package uplift

import (
	"context"
	"math"
	"testing"
)

func TestHillstromConformance(t *testing.T) {
	t.Parallel()
	exp := loadHillstrom(t, "visit")
	if exp.N() != 42693 {
		t.Fatalf("rows = %d, want 42693", exp.N())
	}
	r, err := Evaluate(context.Background(), exp, NewRegistry(), EvalConfig{Model: NameTLearner, Holdout: 0.3, Seed: 42, NoiseRounds: 200})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("seed 42: qini %.15f auuc %.15f uplift@30 %.15f; noise p95 qini %.6f uplift@30 %.6f",
		r.Qini, r.AUUC, r.UpliftAt30, r.NoiseFloor.QiniP95, r.NoiseFloor.UpliftAtP95)
	for _, c := range []struct {
		name      string
		got, want float64
	}{
		{"qini", float64(r.Qini), 0.075142794573},
		{"auuc", float64(r.AUUC), 0.034188728064},
		{"uplift@30", float64(r.UpliftAt30), 0.073906496302},
	} {
		if math.Abs(c.got-c.want) > 5e-12 {
			t.Errorf("%s = %.15f, want %.12f", c.name, c.got, c.want)
		}
	}
	if r.NoiseFloor == nil || r.NoiseFloor.Rounds != 200 || !(r.NoiseFloor.QiniP95 > 0 && r.NoiseFloor.QiniP95 < r.Qini) {
		t.Errorf("noise floor %+v: want 200 rounds with a Qini p95 in (0, %v)", r.NoiseFloor, r.Qini)
	}
	if r.NTrain != 29886 || r.NHoldout != 12807 {
		t.Errorf("n_train, n_holdout = %d, %d; want 29886, 12807", r.NTrain, r.NHoldout)
	}
}
