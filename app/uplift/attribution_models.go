package uplift

import (
	"errors"
	"fmt"
	"math"
	"sort"

	"gonum.org/v1/gonum/mat"
)

// Path is one customer journey for multi-touch attribution: the channels
// touched in order, and how many journeys with exactly this sequence
// converted or did not.
type Path struct {
	Channels    []string
	Conversions float64
	Nulls       float64
}

// Credit is attributed conversions per channel.
type Credit map[string]float64

// MultiTouch attributes conversions over a set of paths with the usual
// heuristic models and the first-order Markov removal-effect model. Paths
// without channels are ignored. Attribution is descriptive; only a randomised
// holdout (the rest of this package) measures causal effect.
type MultiTouch struct{ Paths []Path }

// FirstTouch gives each path's conversions to its first channel.
func (m MultiTouch) FirstTouch() Credit {
	return m.weighted(func(n int) []float64 { w := make([]float64, n); w[0] = 1; return w })
}

// LastTouch gives each path's conversions to its last channel.
func (m MultiTouch) LastTouch() Credit {
	return m.weighted(func(n int) []float64 { w := make([]float64, n); w[n-1] = 1; return w })
}

// Linear splits each path's conversions evenly over its touches; a channel
// touched twice gets two shares (ChannelAttribution's semantics).
func (m MultiTouch) Linear() Credit {
	return m.weighted(func(n int) []float64 {
		w := make([]float64, n)
		for i := range w {
			w[i] = 1 / float64(n)
		}
		return w
	})
}

// PositionBased is the U-shaped 40/20/40 model: one touch gets everything,
// two touches half each, longer paths 40% to the first and last touch and
// 20% split evenly over the middle touches.
func (m MultiTouch) PositionBased() Credit {
	return m.weighted(func(n int) []float64 {
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

// TimeDecay weights touch i of n by 0.5^((n−1−i)/halfLife), normalised within
// the path: positional decay with a half-life counted in touches, for paths
// without timestamps.
func (m MultiTouch) TimeDecay(halfLife float64) Credit {
	return m.weighted(func(n int) []float64 {
		w := make([]float64, n)
		var s float64
		for i := range w {
			w[i] = math.Pow(0.5, float64(n-1-i)/halfLife)
			s += w[i]
		}
		for i := range w {
			w[i] /= s
		}
		return w
	})
}

func (m MultiTouch) weighted(weights func(n int) []float64) Credit {
	c := Credit{}
	for _, p := range m.Paths {
		if len(p.Channels) == 0 {
			continue
		}
		for i, w := range weights(len(p.Channels)) {
			c[p.Channels[i]] += w * p.Conversions
		}
	}
	return c
}

// MarkovResult is the outcome of the first-order Markov model.
type MarkovResult struct {
	// PConversion is the probability of being absorbed in conversion from
	// the start state.
	PConversion float64
	// RemovalEffect is 1 − P(conv with the channel removed)/PConversion.
	RemovalEffect map[string]float64
	// Credit splits the total conversions in proportion to removal effects.
	Credit Credit
}

// Markov fits the first-order Markov chain (states start, channels, conv,
// null; transitions weighted by each path's conversions + nulls, the last
// channel going to conv with its conversions and to null with its nulls;
// self-loops dropped, as they do not change absorption) and computes removal
// effects exactly by solving (I − Q)x = r, where removing a channel redirects
// every transition into it to null. No simulation is involved.
func (m MultiTouch) Markov() (*MarkovResult, error) {
	idx := map[string]int{}
	var names []string
	for _, p := range m.Paths {
		for _, c := range p.Channels {
			if _, ok := idx[c]; !ok {
				idx[c] = 0
				names = append(names, c)
			}
		}
	}
	sort.Strings(names)
	for i, n := range names {
		idx[n] = i + 1 // state 0 is start
	}
	k := len(names) + 1
	counts := make([][]float64, k) // transient -> transient
	conv := make([]float64, k)
	out := make([]float64, k)
	for i := range counts {
		counts[i] = make([]float64, k)
	}
	var total float64
	for _, p := range m.Paths {
		if len(p.Channels) == 0 {
			continue
		}
		if p.Conversions < 0 || p.Nulls < 0 {
			return nil, fmt.Errorf("uplift: markov: negative counts in path %v", p.Channels)
		}
		w := p.Conversions + p.Nulls
		total += p.Conversions
		prev := 0
		for _, c := range p.Channels {
			s := idx[c]
			if s != prev {
				counts[prev][s] += w
				out[prev] += w
			}
			prev = s
		}
		conv[prev] += p.Conversions
		out[prev] += w
	}
	if out[0] == 0 {
		return nil, errors.New("uplift: markov: no paths")
	}
	absorb := func(removed int) (float64, error) {
		A := mat.NewDense(k, k, nil)
		b := mat.NewVecDense(k, nil)
		for i := range k {
			A.Set(i, i, 1)
			if out[i] == 0 || i == removed {
				continue
			}
			for j := range k {
				if j != removed && counts[i][j] != 0 {
					A.Set(i, j, A.At(i, j)-counts[i][j]/out[i])
				}
			}
			b.SetVec(i, conv[i]/out[i])
		}
		var x mat.VecDense
		if err := x.SolveVec(A, b); err != nil {
			return 0, fmt.Errorf("uplift: markov: %w", err)
		}
		return x.AtVec(0), nil
	}
	p, err := absorb(-1)
	if err != nil {
		return nil, err
	}
	res := &MarkovResult{PConversion: p, RemovalEffect: map[string]float64{}, Credit: Credit{}}
	var sum float64
	for _, n := range names {
		pk, err := absorb(idx[n])
		if err != nil {
			return nil, err
		}
		re := 0.0
		if p > 0 {
			re = 1 - pk/p
		}
		res.RemovalEffect[n] = re
		sum += re
	}
	for _, n := range names {
		if sum > 0 {
			res.Credit[n] = res.RemovalEffect[n] / sum * total
		}
	}
	return res, nil
}
