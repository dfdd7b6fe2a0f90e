package fraud

import (
	"math"
	"testing"
)

// naive tails by direct summation with big-enough float64 for small inputs.
func naivePoissonTail(k int, l float64) float64 {
	s := 0.0
	for i := 0; i < k; i++ {
		lg, _ := math.Lgamma(float64(i) + 1)
		s += math.Exp(float64(i)*math.Log(l) - l - lg)
	}
	return 1 - s
}

func naiveBinomialTail(k, n int, p float64) float64 {
	s := 0.0
	for i := k; i <= n; i++ {
		lg, _ := math.Lgamma(float64(n) + 1)
		a, _ := math.Lgamma(float64(i) + 1)
		b, _ := math.Lgamma(float64(n-i) + 1)
		s += math.Exp(lg - a - b + float64(i)*math.Log(p) + float64(n-i)*math.Log1p(-p))
	}
	return s
}

func TestTails(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		k      int
		lambda float64
	}{{1, 1}, {3, 1}, {10, 1}, {5, 5}, {2, 5}, {20, 4.6}, {50, 30}, {1, 0.1}, {100, 120}} {
		got, want := PoissonTail(c.k, c.lambda), naivePoissonTail(c.k, c.lambda)
		if math.Abs(got-want) > 1e-9*math.Max(1, want) && math.Abs(got-want)/want > 1e-6 {
			t.Errorf("PoissonTail(%d, %g) = %g, want %g", c.k, c.lambda, got, want)
		}
	}
	if got := PoissonTail(200, 5); got <= 0 || got > 1e-150 {
		t.Errorf("PoissonTail(200, 5) = %g, want a tiny positive number", got)
	}
	if got := PoissonTail(10, 2000); got != 1 {
		t.Errorf("PoissonTail(10, 2000) = %g, want 1", got)
	}
	for _, c := range []struct {
		k, n int
		p    float64
	}{{1, 10, .1}, {5, 10, .1}, {3, 20, .5}, {15, 20, .5}, {36, 300, .06}, {0, 5, .5}, {60, 90, .06}, {400, 1000, .5}} {
		got, want := BinomialTail(c.k, c.n, c.p), naiveBinomialTail(c.k, c.n, c.p)
		if math.Abs(got-want) > 1e-9 && math.Abs(got-want)/want > 1e-6 {
			t.Errorf("BinomialTail(%d, %d, %g) = %g, want %g", c.k, c.n, c.p, got, want)
		}
	}
	if got := BinomialTail(100, 20000, .1); got != 1 && math.Abs(got-1) > 1e-12 {
		t.Errorf("BinomialTail far below the mean = %g, want ≈ 1", got)
	}
}

func TestBetaBinomialTail(t *testing.T) {
	t.Parallel()
	naive := func(k, n int, a, b float64) float64 {
		s := 0.0
		for i := k; i <= n; i++ {
			fi, fn := float64(i), float64(n)
			l1, _ := math.Lgamma(fn + 1)
			l2, _ := math.Lgamma(fi + 1)
			l3, _ := math.Lgamma(fn - fi + 1)
			l4, _ := math.Lgamma(fi + a)
			l5, _ := math.Lgamma(fn - fi + b)
			l6, _ := math.Lgamma(fn + a + b)
			l7, _ := math.Lgamma(a + b)
			l8, _ := math.Lgamma(a)
			l9, _ := math.Lgamma(b)
			s += math.Exp(l1 - l2 - l3 + l4 + l5 - l6 + l7 - l8 - l9)
		}
		return s
	}
	for _, c := range []struct {
		k, n int
		a, b float64
	}{{1, 10, 1, 1}, {5, 10, 2, 8}, {44, 155, 32, 158}, {10, 11, 16, 20}, {3, 40, 10, 35}, {80, 85, 23, 96}} {
		got, want := BetaBinomialTail(c.k, c.n, c.a, c.b), naive(c.k, c.n, c.a, c.b)
		if math.Abs(got-want) > 1e-9 && math.Abs(got-want)/want > 1e-6 {
			t.Errorf("BetaBinomialTail(%d, %d, %g, %g) = %g, want %g", c.k, c.n, c.a, c.b, got, want)
		}
	}
	// Wider than the binomial with the same mean.
	if bb, b := BetaBinomialTail(44, 155, 32, 158), BinomialTail(44, 155, 32.0/190); bb <= b {
		t.Errorf("beta-binomial tail %g not above binomial %g", bb, b)
	}
}
