package uplift

import (
	"fmt"
	"math"
	"slices"
	"sort"
)

// Losses of a [GBDT].
const (
	LossLogistic = "logistic" // y in [0, 1]; predictions are probabilities
	LossSquared  = "squared"  // any y; predictions are means
)

// GBDT is a small gradient-boosted decision-tree regressor (second-order
// boosting as in XGBoost: Newton leaf values −G/(H+λ), histogram splits on
// training quantiles, row subsampling). It is deliberately plain: enough to
// capture the non-linear baseline and interactions a linear model misses,
// small enough to read and to serialise as JSON.
type GBDT struct {
	Loss         string  `json:"loss"`
	Trees        int     `json:"trees"`
	Depth        int     `json:"depth"`
	LearningRate float64 `json:"learning_rate"`
	Lambda       float64 `json:"lambda"`    // L2 penalty on leaf values
	MinLeaf      int     `json:"min_leaf"`  // minimum rows in a leaf
	Bins         int     `json:"bins"`      // at most 255
	Subsample    float64 `json:"subsample"` // share of rows per tree, (0, 1]
	Seed         uint64  `json:"seed"`      // SplitMix64 seed of the subsampling
	Base         float64 `json:"base"`      // initial raw prediction
	Forest       []Tree  `json:"forest,omitempty"`
}

// Tree is one regression tree; node 0 is the root.
type Tree struct {
	Nodes []TreeNode `json:"nodes"`
}

// TreeNode is a split (Left > 0) sending x[Feature] <= Threshold left, or a
// leaf carrying Value.
type TreeNode struct {
	Feature   int     `json:"f,omitempty"`
	Threshold float64 `json:"th,omitempty"`
	Left      int     `json:"l,omitempty"`
	Right     int     `json:"r,omitempty"`
	Value     float64 `json:"v,omitempty"`
}

func (t *Tree) predict(x []float64) float64 {
	n := &t.Nodes[0]
	for n.Left > 0 {
		if x[n.Feature] <= n.Threshold {
			n = &t.Nodes[n.Left]
		} else {
			n = &t.Nodes[n.Right]
		}
	}
	return n.Value
}

// Fit boosts Trees trees on (X, y) with optional sample weights.
func (g *GBDT) Fit(X [][]float64, y, weight []float64) error {
	n := len(X)
	if n == 0 || n != len(y) {
		return fmt.Errorf("uplift: gbdt fit: %d rows, %d outcomes", n, len(y))
	}
	if g.Bins < 2 || g.Bins > 255 || g.Depth < 1 || g.Trees < 1 || g.Subsample <= 0 || g.Subsample > 1 {
		return fmt.Errorf("uplift: gbdt: bad parameters %+v", *g)
	}
	w := weight
	if w == nil {
		w = make([]float64, n)
		for i := range w {
			w[i] = 1
		}
	}
	var sw, swy float64
	for i := range y {
		sw += w[i]
		swy += w[i] * y[i]
	}
	mean := swy / sw
	switch g.Loss {
	case LossLogistic:
		if !(mean > 0 && mean < 1) {
			return fmt.Errorf("uplift: gbdt: logistic loss needs both outcomes, mean %v", mean)
		}
		g.Base = math.Log(mean / (1 - mean))
	case LossSquared:
		g.Base = mean
	default:
		return fmt.Errorf("uplift: gbdt: unknown loss %q", g.Loss)
	}
	d := len(X[0])
	cuts, codes := binColumns(X, g.Bins)
	raw := make([]float64, n)
	for i := range raw {
		raw[i] = g.Base
	}
	grad, hess := make([]float64, n), make([]float64, n)
	rng := NewSplitMix64(g.Seed)
	g.Forest = g.Forest[:0]
	rows := make([]int, 0, n)
	for range g.Trees {
		for i := range n {
			switch g.Loss {
			case LossLogistic:
				p := sigmoid(raw[i])
				grad[i], hess[i] = w[i]*(p-y[i]), w[i]*max(p*(1-p), 1e-12)
			default:
				grad[i], hess[i] = w[i]*(raw[i]-y[i]), w[i]
			}
		}
		rows = rows[:0]
		for i := range n {
			if g.Subsample >= 1 || rng.Float64() < g.Subsample {
				rows = append(rows, i)
			}
		}
		b := treeBuilder{g: g, codes: codes, cuts: cuts, grad: grad, hess: hess, d: d}
		b.grow(rows, 0)
		t := Tree{Nodes: b.nodes}
		for i := range n {
			raw[i] += t.predict(X[i])
		}
		g.Forest = append(g.Forest, t)
	}
	return nil
}

// Predict returns probabilities (logistic loss) or means (squared loss).
func (g *GBDT) Predict(X [][]float64) []float64 {
	out := make([]float64, len(X))
	for i, x := range X {
		s := g.Base
		for k := range g.Forest {
			s += g.Forest[k].predict(x)
		}
		if g.Loss == LossLogistic {
			s = sigmoid(s)
		}
		out[i] = s
	}
	return out
}

// binColumns returns, per feature, ascending cut points (split candidates
// "x <= cut") at the training quantiles, and each row's bin code.
func binColumns(X [][]float64, bins int) (cuts [][]float64, codes [][]uint8) {
	n, d := len(X), len(X[0])
	cuts = make([][]float64, d)
	codes = make([][]uint8, d)
	col := make([]float64, n)
	for j := range d {
		for i := range n {
			col[i] = X[i][j]
		}
		s := slices.Clone(col)
		slices.Sort(s)
		u := slices.Compact(s)
		var c []float64
		if len(u) <= bins {
			for k := 0; k+1 < len(u); k++ {
				c = append(c, (u[k]+u[k+1])/2)
			}
		} else {
			for k := 1; k < bins; k++ {
				v := s[k*n/bins]
				if len(c) == 0 || v > c[len(c)-1] {
					c = append(c, v)
				}
			}
		}
		cuts[j] = c
		codes[j] = make([]uint8, n)
		for i := range n {
			codes[j][i] = uint8(sort.SearchFloat64s(c, col[i]))
		}
	}
	return cuts, codes
}

type treeBuilder struct {
	g          *GBDT
	codes      [][]uint8
	cuts       [][]float64
	grad, hess []float64
	d          int
	nodes      []TreeNode
}

// grow adds the node for rows and returns its index.
func (b *treeBuilder) grow(rows []int, depth int) int {
	id := len(b.nodes)
	b.nodes = append(b.nodes, TreeNode{})
	var G, H float64
	for _, i := range rows {
		G += b.grad[i]
		H += b.hess[i]
	}
	lam := b.g.Lambda
	b.nodes[id].Value = -G / (H + lam) * b.g.LearningRate
	if depth >= b.g.Depth || len(rows) < 2*max(b.g.MinLeaf, 1) {
		return id
	}
	parent := G * G / (H + lam)
	bestGain, bestF, bestBin := 1e-12, -1, 0
	var hg, hh [256]float64
	var hc [256]int
	for f := range b.d {
		nb := len(b.cuts[f]) + 1
		if nb < 2 {
			continue
		}
		clear(hg[:nb])
		clear(hh[:nb])
		clear(hc[:nb])
		code := b.codes[f]
		for _, i := range rows {
			c := code[i]
			hg[c] += b.grad[i]
			hh[c] += b.hess[i]
			hc[c]++
		}
		var gl, hl float64
		var cl int
		for k := 0; k < nb-1; k++ {
			gl, hl, cl = gl+hg[k], hl+hh[k], cl+hc[k]
			if cl < b.g.MinLeaf || len(rows)-cl < b.g.MinLeaf {
				continue
			}
			gr, hr := G-gl, H-hl
			gain := gl*gl/(hl+lam) + gr*gr/(hr+lam) - parent
			if gain > bestGain {
				bestGain, bestF, bestBin = gain, f, k
			}
		}
	}
	if bestF < 0 {
		return id
	}
	var left, right []int
	for _, i := range rows {
		if int(b.codes[bestF][i]) <= bestBin {
			left = append(left, i)
		} else {
			right = append(right, i)
		}
	}
	l := b.grow(left, depth+1)
	r := b.grow(right, depth+1)
	b.nodes[id] = TreeNode{Feature: bestF, Threshold: b.cuts[bestF][bestBin], Left: l, Right: r}
	return id
}
