package experiment

import "math"

// Look is the cumulative state of an experiment at one look (e.g. the end of
// a day): shoppers and converters per arm so far.
type Look struct {
	TreatedShoppers, TreatedConverters int64
	ControlShoppers, ControlConverters int64
}

// SequentialResult is the always-valid readout after every look so far.
type SequentialResult struct {
	PValue      float64    // always-valid p-value (running minimum of 1/Λ)
	CI          [2]float64 // always-valid interval for the absolute lift (running intersection)
	Significant bool       // PValue < alpha
	Looks       int        // looks that carried information
	Tau         float64    // standard deviation of the normal mixture
}

// MixtureTau is the mixing standard deviation the sequential test uses for
// a baseline rate p and a relative MDE: the absolute effect the merchant
// wants to detect, floored so that tiny baselines stay testable.
func MixtureTau(p, mde float64) float64 {
	if !(p > 0) || math.IsNaN(p) {
		p = 0.02
	}
	return math.Max(p*mde, 1e-4)
}

// Sequential runs the mixture sequential probability ratio test (mSPRT,
// Johari et al. 2017; Robbins 1970) for the difference of two conversion
// rates with a N(0, τ²) mixture over the effect, on the normal approximation
// of the difference. At look k with estimate θ̂ and variance V,
//
//	Λ = sqrt(V/(V+τ²)) · exp(τ²θ̂² / (2V(V+τ²)))
//
// is a nonnegative martingale under the null, so p = min_k 1/Λ_k is valid
// however often and whenever one looks. The variance uses the pooled rate,
// the null's own estimate, which keeps early looks with few conversions
// honest. The interval inverts the same test around each θ.
func Sequential(looks []Look, tau, alpha float64) SequentialResult {
	if !(alpha > 0 && alpha < 1) {
		alpha = 0.05
	}
	res := SequentialResult{PValue: 1, CI: [2]float64{math.Inf(-1), math.Inf(1)}, Tau: tau}
	t2 := tau * tau
	for _, l := range looks {
		n1, n0 := float64(l.TreatedShoppers), float64(l.ControlShoppers)
		if n1 < 1 || n0 < 1 {
			continue
		}
		p1, p0 := float64(l.TreatedConverters)/n1, float64(l.ControlConverters)/n0
		pp := float64(l.TreatedConverters+l.ControlConverters) / (n1 + n0)
		v := pp * (1 - pp) * (1/n1 + 1/n0)
		if !(v > 0) {
			continue
		}
		res.Looks++
		d := p1 - p0
		logL := 0.5*math.Log(v/(v+t2)) + t2*d*d/(2*v*(v+t2))
		if p := math.Exp(-logL); p < res.PValue {
			res.PValue = p
		}
		// Interval: unpooled variance (the interval is about θ ≠ 0 too).
		vu := p1*(1-p1)/n1 + p0*(1-p0)/n0
		if vu > 0 {
			w := math.Sqrt(vu * (vu + t2) / t2 * (2*math.Log(1/alpha) + math.Log((vu+t2)/vu)))
			res.CI[0], res.CI[1] = math.Max(res.CI[0], d-w), math.Min(res.CI[1], d+w)
		}
	}
	if res.CI[0] > res.CI[1] { // intervals of different looks no longer overlap: keep the last width's midpoint
		m := (res.CI[0] + res.CI[1]) / 2
		res.CI = [2]float64{m, m}
	}
	res.PValue = math.Min(1, res.PValue)
	res.Significant = res.PValue < alpha
	return res
}

// NaivePeek is what a fixed-horizon two-proportion z-test reports when it is
// re-run at every look: significant if any look had p < alpha. It is wrong
// by design (peeking inflates false positives) and exists to show why the
// sequential test is needed.
func NaivePeek(looks []Look, alpha float64) bool {
	zc := z(1 - alpha/2)
	for _, l := range looks {
		n1, n0 := float64(l.TreatedShoppers), float64(l.ControlShoppers)
		if n1 < 1 || n0 < 1 {
			continue
		}
		pp := float64(l.TreatedConverters+l.ControlConverters) / (n1 + n0)
		v := pp * (1 - pp) * (1/n1 + 1/n0)
		if v > 0 && math.Abs(float64(l.TreatedConverters)/n1-float64(l.ControlConverters)/n0)/math.Sqrt(v) > zc {
			return true
		}
	}
	return false
}
