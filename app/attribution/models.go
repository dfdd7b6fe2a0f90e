package attribution

import (
	"errors"
	"math"
	"slices"
	"time"
)

// Path is one shopper journey for the multi-touch report models: the labels
// touched in order (channels, or partners or campaigns — the models do not
// care), optionally when each touch happened, and how many journeys with
// this exact sequence converted or did not. Value is the revenue of the
// converted ones (used by Markov).
type Path struct {
	Channels    []string
	At          []time.Time // optional; same length as Channels for TimeDecay
	ConvertedAt time.Time   // optional; defaults to the last touch
	Conversions float64
	Nulls       float64
	Value       float64
}

// Credit is attributed conversions per label.
type Credit map[string]float64

// PathFromTouchpoints turns a Result's Path into a model Path with one
// conversion, labelling each touch with label (nil: the channel; touches
// with an empty label are dropped).
func PathFromTouchpoints(tps []Touchpoint, convertedAt time.Time, value float64, label func(Touchpoint) string) Path {
	if label == nil {
		label = func(t Touchpoint) string { return t.Channel }
	}
	p := Path{ConvertedAt: convertedAt, Conversions: 1, Value: value}
	for _, t := range tps {
		if l := label(t); l != "" {
			p.Channels = append(p.Channels, l)
			p.At = append(p.At, t.At)
		}
	}
	return p
}

// weighted credits each path's conversions by per-touch weights summing to 1.
func weighted(paths []Path, weights func(p Path) []float64) Credit {
	c := Credit{}
	for _, p := range paths {
		if len(p.Channels) == 0 || p.Conversions == 0 {
			continue
		}
		for i, w := range weights(p) {
			c[p.Channels[i]] += w * p.Conversions
		}
	}
	return c
}

// FirstTouch gives each path's conversions to its first touch.
func FirstTouch(paths []Path) Credit {
	return weighted(paths, func(p Path) []float64 { w := make([]float64, len(p.Channels)); w[0] = 1; return w })
}

// LastTouch gives each path's conversions to its last touch.
func LastTouch(paths []Path) Credit {
	return weighted(paths, func(p Path) []float64 { w := make([]float64, len(p.Channels)); w[len(w)-1] = 1; return w })
}

// Linear splits each path's conversions evenly over its touches; a label
// touched twice gets two shares (ChannelAttribution's semantics).
func Linear(paths []Path) Credit {
	return weighted(paths, func(p Path) []float64 {
		w := make([]float64, len(p.Channels))
		for i := range w {
			w[i] = 1 / float64(len(w))
		}
		return w
	})
}

// PositionBased is the U-shaped 40/20/40 model: one touch gets everything,
// two touches half each, longer paths 40% to the first and to the last
// touch and 20% split evenly over the middle ones.
func PositionBased(paths []Path) Credit {
	return weighted(paths, func(p Path) []float64 {
		n := len(p.Channels)
		w := make([]float64, n)
		switch n {
		case 1:
			w[0] = 1
		case 2:
			w[0], w[1] = 0.5, 0.5
		default:
			w[0], w[n-1] = 0.4, 0.4
			for i := 1; i < n-1; i++ {
				w[i] = 0.2 / float64(n-2)
			}
		}
		return w
	})
}

// TimeDecay weights touch i by 0.5^(age_i/halfLife), age being the time
// from the touch to the conversion (ConvertedAt, or the last touch),
// normalised within the path. A path without timestamps decays by position
// instead, with a half-life of one touch (the last touch weighs 1, the one
// before 0.5, ...). A non-positive halfLife gives last-touch.
func TimeDecay(paths []Path, halfLife time.Duration) Credit {
	return weighted(paths, func(p Path) []float64 {
		n := len(p.Channels)
		w := make([]float64, n)
		if halfLife <= 0 {
			w[n-1] = 1
			return w
		}
		timed := len(p.At) == n
		end := p.ConvertedAt
		if timed && end.IsZero() {
			end = slices.MaxFunc(p.At, func(a, b time.Time) int { return a.Compare(b) })
		}
		var s float64
		for i := range w {
			age := float64(n - 1 - i)
			if timed {
				age = max(float64(end.Sub(p.At[i])), 0) / float64(halfLife)
			}
			w[i] = math.Exp2(-age)
			s += w[i]
		}
		for i := range w {
			w[i] /= s
		}
		return w
	})
}

// MarkovResult is the first-order Markov removal-effect attribution.
type MarkovResult struct {
	// PConv is the probability of reaching conversion from the start.
	PConv float64
	// Removal is each label's removal effect 1 − P(conv without it)/PConv.
	Removal map[string]float64
	// Conversions and Value are the total conversions and value shared out
	// in proportion to the removal effects.
	Conversions Credit
	Value       Credit
}

// ErrSingular is returned by Markov when the transition graph has no way
// out of some state (which paths ending in conversion or null cannot build).
var ErrSingular = errors.New("attribution: singular Markov system")

// Markov computes the first-order Markov removal-effect model (Anderl et al.
// 2016) exactly. States are start, the labels, conv and null; each path adds
// its conversions+nulls to start→first, to each consecutive transition, and
// its conversions to last→conv and its nulls to last→null. With Q the
// label-to-label transition probabilities and r the probabilities into conv,
// the absorption probabilities x solve (I − Q)x = r, which is solved by
// Gaussian elimination with partial pivoting rather than simulated as
// ChannelAttribution does. Removing a label redirects every transition into
// it to null. Self-loops are kept; they do not change absorption.
func Markov(paths []Path) (MarkovResult, error) {
	idx := map[string]int{}
	var labels []string
	for _, p := range paths {
		for _, c := range p.Channels {
			if _, ok := idx[c]; !ok {
				idx[c] = len(labels)
				labels = append(labels, c)
			}
		}
	}
	n := len(labels)
	res := MarkovResult{Removal: map[string]float64{}, Conversions: Credit{}, Value: Credit{}}
	if n == 0 {
		return res, nil
	}
	start := make([]float64, n)
	trans := make([][]float64, n) // label -> label counts
	for i := range trans {
		trans[i] = make([]float64, n)
	}
	conv, out := make([]float64, n), make([]float64, n) // -> conv counts, total outgoing counts
	var startTotal, totalConv, totalValue float64
	for _, p := range paths {
		if len(p.Channels) == 0 {
			continue
		}
		w := p.Conversions + p.Nulls
		totalConv += p.Conversions
		totalValue += p.Value
		start[idx[p.Channels[0]]] += w
		startTotal += w
		for i := 0; i+1 < len(p.Channels); i++ {
			a, b := idx[p.Channels[i]], idx[p.Channels[i+1]]
			trans[a][b] += w
			out[a] += w
		}
		last := idx[p.Channels[len(p.Channels)-1]]
		conv[last] += p.Conversions
		out[last] += w
	}
	if startTotal == 0 {
		return res, nil
	}
	for i := range start {
		start[i] /= startTotal
	}
	pconv := func(removed int) (float64, error) {
		keep := make([]int, 0, n)
		for i := range n {
			if i != removed {
				keep = append(keep, i)
			}
		}
		m := len(keep)
		a := make([][]float64, m)
		b := make([]float64, m)
		for r, i := range keep {
			a[r] = make([]float64, m)
			a[r][r] = 1
			if out[i] == 0 {
				continue // never left: absorbs nowhere, x = 0
			}
			for c, j := range keep {
				a[r][c] -= trans[i][j] / out[i]
			}
			b[r] = conv[i] / out[i]
		}
		x, err := solve(a, b)
		if err != nil {
			return 0, err
		}
		var s float64
		for r, i := range keep {
			s += start[i] * x[r]
		}
		return s, nil
	}
	p, err := pconv(-1)
	if err != nil {
		return res, err
	}
	res.PConv = p
	var sum float64
	for k, l := range labels {
		pk, err := pconv(k)
		if err != nil {
			return res, err
		}
		re := 0.0
		if p > 0 {
			re = 1 - pk/p
		}
		res.Removal[l] = re
		sum += re
	}
	for _, l := range labels {
		if sum > 0 {
			res.Conversions[l] = res.Removal[l] / sum * totalConv
			res.Value[l] = res.Removal[l] / sum * totalValue
		} else {
			res.Conversions[l], res.Value[l] = 0, 0
		}
	}
	return res, nil
}

// solve solves a·x = b by Gaussian elimination with partial pivoting; a and
// b are overwritten.
func solve(a [][]float64, b []float64) ([]float64, error) {
	n := len(b)
	for col := range n {
		piv := col
		for r := col + 1; r < n; r++ {
			if math.Abs(a[r][col]) > math.Abs(a[piv][col]) {
				piv = r
			}
		}
		if math.Abs(a[piv][col]) < 1e-14 {
			return nil, ErrSingular
		}
		a[col], a[piv] = a[piv], a[col]
		b[col], b[piv] = b[piv], b[col]
		for r := col + 1; r < n; r++ {
			f := a[r][col] / a[col][col]
			if f == 0 {
				continue
			}
			for c := col; c < n; c++ {
				a[r][c] -= f * a[col][c]
			}
			b[r] -= f * b[col]
		}
	}
	x := make([]float64, n)
	for r := n - 1; r >= 0; r-- {
		s := b[r]
		for c := r + 1; c < n; c++ {
			s -= a[r][c] * x[c]
		}
		x[r] = s / a[r][r]
	}
	return x, nil
}
