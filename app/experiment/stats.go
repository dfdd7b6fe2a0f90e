package experiment

import (
	"math"

	"gonum.org/v1/gonum/stat/distuv"
)

// Arm is what one arm of an experiment observed. Money is in minor units.
type Arm struct {
	Shoppers      int64 // assigned shoppers
	Converters    int64 // shoppers with at least one order in the window
	Orders        int64
	RevenueMinor  int64 // net revenue of those orders
	DiscountMinor int64 // discounts given on those orders
	CostMinor     int64 // discounts plus partner commission: what the arm cost
}

// Rate is the arm's conversion rate (converters per shopper); NaN when empty.
func (a Arm) Rate() float64 {
	if a.Shoppers == 0 {
		return math.NaN()
	}
	return float64(a.Converters) / float64(a.Shoppers)
}

// Settings are the design parameters of a readout.
type Settings struct {
	Alpha float64 // two-sided level of intervals and tests (default 0.05)
	Power float64 // power for the sample size (default 0.8)
	MDE   float64 // minimum detectable effect, relative to the control rate (default 0.1)
}

// Defaults fills unset fields.
func (s Settings) Defaults() Settings {
	if !(s.Alpha > 0 && s.Alpha < 1) {
		s.Alpha = 0.05
	}
	if !(s.Power > 0 && s.Power < 1) {
		s.Power = 0.8
	}
	if !(s.MDE > 0) {
		s.MDE = 0.1
	}
	return s
}

// Readout is the analysis of a two-arm experiment at one point in time. NaN
// marks an undefined value (e.g. a relative lift over a zero control rate).
type Readout struct {
	Absolute   float64    // treatment rate − control rate
	AbsoluteCI [2]float64 // Newcombe hybrid score interval
	Relative   float64    // treatment rate / control rate − 1
	RelativeCI [2]float64 // delta method on log(rate ratio)
	// Incremental orders and revenue of the treated arm: what it did beyond
	// the control arm scaled to the treated arm's size.
	IncrementalOrders       float64
	IncrementalRevenueMinor float64
	CostMinor               int64   // what the treated arm cost
	CostPerIncrementalMinor float64 // NaN unless incremental orders > 0
	IncrementalROAS         float64 // incremental revenue / cost; NaN when cost is 0
	// SampleSizeNeeded is how many more shoppers (both arms, at the current
	// split) the experiment needs to detect the MDE; -1 when there is no
	// baseline yet.
	SampleSizeNeeded int64
}

func z(p float64) float64 { return distuv.UnitNormal.Quantile(p) }

// Wilson is the Wilson score interval of x successes in n trials.
func Wilson(x, n int64, alpha float64) (lo, hi float64) {
	if n == 0 {
		return math.NaN(), math.NaN()
	}
	zz := z(1 - alpha/2)
	nf, p := float64(n), float64(x)/float64(n)
	den := 1 + zz*zz/nf
	c := (p + zz*zz/(2*nf)) / den
	h := zz * math.Sqrt(p*(1-p)/nf+zz*zz/(4*nf*nf)) / den
	return math.Max(0, c-h), math.Min(1, c+h)
}

// DiffCI is Newcombe's hybrid score interval (method 10) for p1 − p0.
func DiffCI(x1, n1, x0, n0 int64, alpha float64) (lo, hi float64) {
	if n1 == 0 || n0 == 0 {
		return math.NaN(), math.NaN()
	}
	p1, p0 := float64(x1)/float64(n1), float64(x0)/float64(n0)
	l1, u1 := Wilson(x1, n1, alpha)
	l0, u0 := Wilson(x0, n0, alpha)
	d := p1 - p0
	return d - math.Sqrt((p1-l1)*(p1-l1)+(u0-p0)*(u0-p0)), d + math.Sqrt((u1-p1)*(u1-p1)+(p0-l0)*(p0-l0))
}

// RelativeCI is the interval of p1/p0 − 1 by the delta method on the log of
// the rate ratio (Katz); NaN when either arm has no success.
func RelativeCI(x1, n1, x0, n0 int64, alpha float64) (lo, hi float64) {
	if x1 == 0 || x0 == 0 || n1 == 0 || n0 == 0 {
		return math.NaN(), math.NaN()
	}
	lr := math.Log((float64(x1) / float64(n1)) / (float64(x0) / float64(n0)))
	se := math.Sqrt(1/float64(x1) - 1/float64(n1) + 1/float64(x0) - 1/float64(n0))
	zz := z(1 - alpha/2)
	return math.Exp(lr-zz*se) - 1, math.Exp(lr+zz*se) - 1
}

// SampleSize is the total number of shoppers (both arms, control share h)
// a two-sided test at level alpha needs to detect a relative lift mde over
// baseline rate p0 with the given power (normal approximation).
func SampleSize(p0, mde, h, alpha, power float64) float64 {
	if !(p0 > 0 && p0 < 1) || !(h > 0 && h < 1) || !(mde > 0) {
		return math.NaN()
	}
	p1 := math.Min(p0*(1+mde), 1-1e-9)
	d := p1 - p0
	zz := z(1-alpha/2) + z(power)
	return zz * zz * (p1*(1-p1)/(1-h) + p0*(1-p0)/h) / (d * d)
}

// Analyze reads out treatment against control.
func Analyze(t, c Arm, s Settings) Readout {
	s = s.Defaults()
	r := Readout{Absolute: math.NaN(), Relative: math.NaN(), AbsoluteCI: [2]float64{math.NaN(), math.NaN()},
		RelativeCI: [2]float64{math.NaN(), math.NaN()}, IncrementalOrders: math.NaN(), IncrementalRevenueMinor: math.NaN(),
		CostMinor: t.CostMinor, CostPerIncrementalMinor: math.NaN(), IncrementalROAS: math.NaN(), SampleSizeNeeded: -1}
	if t.Shoppers > 0 && c.Shoppers > 0 {
		pt, pc := t.Rate(), c.Rate()
		r.Absolute = pt - pc
		r.AbsoluteCI[0], r.AbsoluteCI[1] = DiffCI(t.Converters, t.Shoppers, c.Converters, c.Shoppers, s.Alpha)
		if pc > 0 {
			r.Relative = pt/pc - 1
		}
		r.RelativeCI[0], r.RelativeCI[1] = RelativeCI(t.Converters, t.Shoppers, c.Converters, c.Shoppers, s.Alpha)
		scale := float64(t.Shoppers) / float64(c.Shoppers)
		r.IncrementalOrders = float64(t.Orders) - scale*float64(c.Orders)
		r.IncrementalRevenueMinor = float64(t.RevenueMinor) - scale*float64(c.RevenueMinor)
		if r.IncrementalOrders > 0 {
			r.CostPerIncrementalMinor = float64(t.CostMinor) / r.IncrementalOrders
		}
		if t.CostMinor > 0 {
			r.IncrementalROAS = r.IncrementalRevenueMinor / float64(t.CostMinor)
		}
	}
	n := t.Shoppers + c.Shoppers
	base := c.Rate()
	if !(base > 0) && n > 0 {
		base = float64(t.Converters+c.Converters) / float64(n)
	}
	h := 0.0
	if n > 0 {
		h = float64(c.Shoppers) / float64(n)
	}
	if need := SampleSize(base, s.MDE, h, s.Alpha, s.Power); !math.IsNaN(need) {
		r.SampleSizeNeeded = max(0, int64(math.Ceil(need))-n)
	}
	return r
}
