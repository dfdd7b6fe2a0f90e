package fraud

import "math"

// PoissonTail returns P(X ≥ k) for X ~ Poisson(lambda). Terms are built by
// recurrence from one log-space anchor, so the very small tails of a
// redemption burst stay accurate and cost one Lgamma.
func PoissonTail(k int, lambda float64) float64 {
	if k <= 0 {
		return 1
	}
	if lambda <= 0 {
		return 0
	}
	if float64(k) <= lambda {
		// At or below the mean: 1 − P(X < k), summed downwards from k−1,
		// where the terms are largest.
		lg, _ := math.Lgamma(float64(k))
		anchor := float64(k-1)*math.Log(lambda) - lambda - lg
		s, t := 0.0, 1.0
		for i := k - 1; i >= 0; i-- {
			s += t
			t *= float64(i) / lambda
			if t < 1e-16*s {
				break
			}
		}
		return clamp01(1 - math.Exp(anchor)*s)
	}
	lg, _ := math.Lgamma(float64(k) + 1)
	first := float64(k)*math.Log(lambda) - lambda - lg
	s, t := 0.0, 1.0
	for i := k; i < k+10000; i++ {
		s += t
		t *= lambda / float64(i+1)
		if t < 1e-16*s {
			break
		}
	}
	return clamp01(math.Exp(first) * s)
}

// BinomialTail returns P(X ≥ k) for X ~ Binomial(n, p).
func BinomialTail(k, n int, p float64) float64 {
	switch {
	case k <= 0:
		return 1
	case k > n:
		return 0
	case p <= 0:
		return 0
	case p >= 1:
		return 1
	}
	odds := p / (1 - p)
	lgn, _ := math.Lgamma(float64(n) + 1)
	if float64(k) <= float64(n)*p {
		// At or below the mean: 1 − P(X < k), summed downwards from k−1.
		j := k - 1
		a, _ := math.Lgamma(float64(j) + 1)
		b, _ := math.Lgamma(float64(n-j) + 1)
		anchor := lgn - a - b + float64(j)*math.Log(p) + float64(n-j)*math.Log1p(-p)
		s, t := 0.0, 1.0
		for i := j; i >= 0; i-- {
			s += t
			t *= float64(i) / (float64(n-i+1) * odds)
			if t < 1e-16*s {
				break
			}
		}
		return clamp01(1 - math.Exp(anchor)*s)
	}
	a, _ := math.Lgamma(float64(k) + 1)
	b, _ := math.Lgamma(float64(n-k) + 1)
	first := lgn - a - b + float64(k)*math.Log(p) + float64(n-k)*math.Log1p(-p)
	s, t := 0.0, 1.0
	for i := k; i <= n; i++ {
		s += t
		t *= float64(n-i) / float64(i+1) * odds
		if t < 1e-16*s {
			break
		}
	}
	return clamp01(math.Exp(first) * s)
}

// surprise maps a tail probability onto [0, 1]: 0 while −log10(p) ≤ lo, 1 from
// hi on, linear in between. It turns a p-value into a signal strength.
func surprise(p, lo, hi float64) float64 {
	if p <= 0 {
		return 1
	}
	return ramp(-math.Log10(p), lo, hi)
}

// ramp is 0 at or below lo, 1 at or above hi, linear in between.
func ramp(x, lo, hi float64) float64 {
	if x <= lo {
		return 0
	}
	if x >= hi {
		return 1
	}
	return (x - lo) / (hi - lo)
}

func clamp01(x float64) float64 { return math.Max(0, math.Min(1, x)) }

// BetaBinomialTail returns P(X ≥ k) for X ~ BetaBinomial(n, alpha, beta):
// the number of successes in n trials whose success probability is itself
// uncertain, Beta(alpha, beta) — e.g. a share estimated from a short
// history. It is wider than the binomial with the point estimate, which is
// what keeps a small baseline from making ordinary fluctuation look
// significant.
func BetaBinomialTail(k, n int, alpha, beta float64) float64 {
	switch {
	case k <= 0:
		return 1
	case k > n:
		return 0
	}
	logPMF := func(i int) float64 {
		fi, fn := float64(i), float64(n)
		a, _ := math.Lgamma(fn + 1)
		b, _ := math.Lgamma(fi + 1)
		c, _ := math.Lgamma(fn - fi + 1)
		d, _ := math.Lgamma(fi + alpha)
		e, _ := math.Lgamma(fn - fi + beta)
		f, _ := math.Lgamma(fn + alpha + beta)
		g, _ := math.Lgamma(alpha + beta)
		h, _ := math.Lgamma(alpha)
		j, _ := math.Lgamma(beta)
		return a - b - c + d + e - f + g - h - j
	}
	// ratio pmf(i+1)/pmf(i)
	next := func(i int) float64 {
		fi, fn := float64(i), float64(n)
		return (fn - fi) / (fi + 1) * (fi + alpha) / (fn - fi - 1 + beta)
	}
	mean := float64(n) * alpha / (alpha + beta)
	if float64(k) <= mean {
		s, t := 0.0, 1.0
		for i := k - 1; i >= 0; i-- {
			s += t
			if i == 0 {
				break
			}
			t /= next(i - 1)
			if t < 1e-16*s {
				break
			}
		}
		return clamp01(1 - math.Exp(logPMF(k-1))*s)
	}
	s, t := 0.0, 1.0
	for i := k; i <= n; i++ {
		s += t
		if i == n {
			break
		}
		t *= next(i)
		if t < 1e-16*s {
			break
		}
	}
	return clamp01(math.Exp(logPMF(k)) * s)
}
