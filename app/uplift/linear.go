package uplift

import (
	"errors"
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"
)

// Logistic is L2-regularised logistic regression with an unpenalised
// intercept: it minimises 0.5·||w[1:]||² + C·Σ logloss, the objective of
// scikit-learn's LogisticRegression(C=C). Fit solves it by Newton–Raphson from
// w = 0 until the largest step component is below Tol, which is the reference
// procedure.
type Logistic struct {
	C       float64 `json:"c"`
	Tol     float64 `json:"tol"`
	MaxIter int     `json:"max_iter"`
	// Penalty optionally sets the L2 weight of each non-intercept weight
	// (default 1 each, the reference); 0 leaves a weight unpenalised.
	Penalty []float64 `json:"penalty,omitempty"`
	// W holds the fitted weights, intercept first.
	W []float64 `json:"w,omitempty"`
	// Iter is the number of Newton steps Fit took.
	Iter int `json:"iter,omitempty"`
}

// NewLogistic returns the reference configuration: C = 1, Tol = 1e-12, at
// most 100 Newton steps.
func NewLogistic() *Logistic { return &Logistic{C: 1, Tol: 1e-12, MaxIter: 100} }

// ErrNotConverged is returned when Newton–Raphson exhausts its steps.
var ErrNotConverged = errors.New("uplift: Newton-Raphson did not converge")

// Fit fits the model to the rows of X (no intercept column) and outcomes y in
// [0, 1]. Optional sample weights scale each row's logloss.
func (l *Logistic) Fit(X [][]float64, y, weight []float64) error {
	if len(X) == 0 || len(X) != len(y) {
		return fmt.Errorf("uplift: logistic fit: %d rows, %d outcomes", len(X), len(y))
	}
	for _, v := range y {
		if v < 0 || v > 1 {
			return fmt.Errorf("uplift: logistic fit: outcome %v outside [0, 1]", v)
		}
	}
	d := len(X[0]) + 1
	if l.Penalty != nil && len(l.Penalty) != d-1 {
		return fmt.Errorf("uplift: logistic fit: %d penalties for %d features", len(l.Penalty), d-1)
	}
	w := make([]float64, d)
	g := make([]float64, d)
	H := mat.NewSymDense(d, nil)
	h := make([]float64, d*d)
	xi := make([]float64, d)
	xi[0] = 1
	step := mat.NewVecDense(d, nil)
	for it := 1; it <= l.MaxIter; it++ {
		clear(g)
		clear(h)
		for i, row := range X {
			copy(xi[1:], row)
			p := sigmoid(dot(w, xi))
			c := l.C
			if weight != nil {
				c *= weight[i]
			}
			r := c * (p - y[i])
			s := c * p * (1 - p)
			for a := range d {
				g[a] += r * xi[a]
				sa := s * xi[a]
				if sa == 0 {
					continue
				}
				ha := h[a*d:]
				for b := a; b < d; b++ {
					ha[b] += sa * xi[b]
				}
			}
		}
		for a := 1; a < d; a++ {
			pen := 1.0
			if l.Penalty != nil {
				pen = l.Penalty[a-1]
			}
			g[a] += pen * w[a]
			h[a*d+a] += pen
		}
		for a := range d {
			for b := a; b < d; b++ {
				H.SetSym(a, b, h[a*d+b])
			}
		}
		if err := solveSym(H, g, step); err != nil {
			return fmt.Errorf("uplift: logistic fit: %w", err)
		}
		var maxStep float64
		for a := range d {
			s := step.AtVec(a)
			w[a] -= s
			maxStep = max(maxStep, math.Abs(s))
		}
		if math.IsNaN(maxStep) {
			return fmt.Errorf("uplift: logistic fit: %w (NaN step)", ErrNotConverged)
		}
		if maxStep < l.Tol {
			l.W, l.Iter = w, it
			return nil
		}
	}
	return fmt.Errorf("%w after %d steps", ErrNotConverged, l.MaxIter)
}

// Predict returns P(y = 1 | x) for each row.
func (l *Logistic) Predict(X [][]float64) []float64 {
	out := make([]float64, len(X))
	for i, row := range X {
		out[i] = sigmoid(l.W[0] + dot(l.W[1:], row))
	}
	return out
}

// Ridge is least squares with an L2 penalty Lambda·||w[1:]||² and an
// unpenalised intercept, solved exactly. It models numeric outcomes and the
// imputed effects of the X-learner.
type Ridge struct {
	Lambda float64   `json:"lambda"`
	W      []float64 `json:"w,omitempty"` // intercept first
}

// Fit solves (XᵀX + Λ)w = Xᵀy with X extended by an intercept column.
// Optional sample weights scale each row's squared error.
func (r *Ridge) Fit(X [][]float64, y, weight []float64) error {
	if len(X) == 0 || len(X) != len(y) {
		return fmt.Errorf("uplift: ridge fit: %d rows, %d outcomes", len(X), len(y))
	}
	d := len(X[0]) + 1
	h := make([]float64, d*d)
	g := make([]float64, d)
	xi := make([]float64, d)
	xi[0] = 1
	for i, row := range X {
		copy(xi[1:], row)
		c := 1.0
		if weight != nil {
			c = weight[i]
		}
		for a := range d {
			ca := c * xi[a]
			g[a] += ca * y[i]
			for b := a; b < d; b++ {
				h[a*d+b] += ca * xi[b]
			}
		}
	}
	H := mat.NewSymDense(d, nil)
	for a := range d {
		for b := a; b < d; b++ {
			v := h[a*d+b]
			if a == b && a > 0 {
				v += r.Lambda
			}
			H.SetSym(a, b, v)
		}
	}
	w := mat.NewVecDense(d, nil)
	if err := solveSym(H, g, w); err != nil {
		return fmt.Errorf("uplift: ridge fit: %w", err)
	}
	r.W = make([]float64, d)
	for a := range d {
		r.W[a] = w.AtVec(a)
	}
	return nil
}

// Predict returns the fitted value for each row.
func (r *Ridge) Predict(X [][]float64) []float64 {
	out := make([]float64, len(X))
	for i, row := range X {
		out[i] = r.W[0] + dot(r.W[1:], row)
	}
	return out
}

// solveSym solves H·x = b by Cholesky, falling back to LU when H is not
// numerically positive definite.
func solveSym(H *mat.SymDense, b []float64, x *mat.VecDense) error {
	bv := mat.NewVecDense(len(b), b)
	var ch mat.Cholesky
	if ch.Factorize(H) {
		if err := ch.SolveVecTo(x, bv); err == nil {
			return nil
		}
	}
	var dense mat.Dense
	dense.CloneFrom(H)
	if err := x.SolveVec(&dense, bv); err != nil {
		return fmt.Errorf("singular system: %w", err)
	}
	return nil
}

func sigmoid(z float64) float64 { return 1 / (1 + math.Exp(-z)) }

func dot(a, b []float64) float64 {
	var s float64
	for i, x := range a {
		s += x * b[i]
	}
	return s
}
