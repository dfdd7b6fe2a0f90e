package uplift

import (
	"math"
	"slices"
	"testing"
)

// The unit-test vectors published with scikit-uplift (sklift/tests/test_metrics.py).
func TestSkliftVectors(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name string
		fn   func(y, s []float64, t []int) float64
		y, s []float64
		t    []int
		want float64
	}{
		{"qini 1", QiniCoefficient, []float64{0, 1}, []float64{0.1, 0.3}, []int{1, 0}, 1},
		{"qini 2", QiniCoefficient, []float64{1, 0}, []float64{0.1, 0.3}, []int{0, 1}, 1},
		{"auuc 1", NormalizedAUUC, []float64{0, 1}, []float64{0.1, 0.3}, []int{1, 0}, 0},
		{"auuc 2", NormalizedAUUC, []float64{1, 0}, []float64{0.1, 0.3}, []int{0, 1}, 1},
	} {
		if got := c.fn(c.y, c.s, c.t); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("%s = %v, want %v", c.name, got, c.want)
		}
	}
	y, s, tr := []float64{0, 1, 0}, []float64{0.5, 0.5, 0.5}, []int{0, 1, 1}
	for _, c := range []struct {
		name         string
		fn           func(y, s []float64, t []int) ([]float64, []float64)
		wantX, wantV []float64
	}{
		{"qini curve", QiniCurve, []float64{0, 3}, []float64{0, 1}},
		{"uplift curve", UpliftCurve, []float64{0, 3}, []float64{0, 1.5}},
	} {
		x, v := c.fn(y, s, tr)
		if !slices.Equal(x, c.wantX) || !slices.Equal(v, c.wantV) {
			t.Errorf("%s = (%v, %v), want (%v, %v)", c.name, x, v, c.wantX, c.wantV)
		}
	}
}

func TestTiesAndUpliftAtK(t *testing.T) {
	t.Parallel()
	// Scores 3,2,2,1: the tie run (rows 1, 2) yields one curve point, at k = 3.
	y := []float64{1, 0, 1, 0}
	s := []float64{3, 2, 2, 1}
	tr := []int{1, 1, 0, 0}
	x, q := QiniCurve(y, s, tr)
	if want := []float64{0, 1, 3, 4}; !slices.Equal(x, want) {
		t.Fatalf("qini x = %v, want %v", x, want)
	}
	// At k=3: Yt=1, Yc=1, Nt=2, Nc=1 -> 1 - 1*2 = -1.
	if q[2] != -1 {
		t.Errorf("Q(3) = %v, want -1", q[2])
	}
	// uplift@0.5 takes the top 2 in sklift order: row 0 then, among the tie,
	// the later row 2 (stable ascending sort reversed): treated 1/1 - control 1/1 = 0.
	if got := UpliftAtK(y, s, tr, 0.5); got != 0 {
		t.Errorf("uplift@0.5 = %v, want 0", got)
	}
	if got := UpliftAtK(y, s, tr, 0.25); !math.IsNaN(got) {
		t.Errorf("uplift@0.25 with no control = %v, want NaN", got)
	}
}

func TestSplitMix64(t *testing.T) {
	t.Parallel()
	// Reference outputs of SplitMix64 seeded with 0 and 1234567.
	r := NewSplitMix64(0)
	if got := r.Uint64(); got != 0xe220a8397b1dcdaf {
		t.Errorf("seed 0 first output = %#x", got)
	}
	r = NewSplitMix64(1234567)
	for i, want := range []uint64{6457827717110365317, 3203168211198807973, 9817491932198370423} {
		if got := r.Uint64(); got != want {
			t.Errorf("seed 1234567 output %d = %d, want %d", i, got, want)
		}
	}
}

func TestPercentile(t *testing.T) {
	t.Parallel()
	v := []float64{4, 1, 3, 2, 5}
	if got := Percentile(v, 95); math.Abs(got-4.8) > 1e-12 {
		t.Errorf("p95 = %v, want 4.8", got)
	}
}
