package uplift

import (
	"fmt"
	"slices"
)

// Basis expands a design matrix into additive piecewise-constant shape
// functions: every column is kept; a column with at most MaxLevels distinct
// training values (and not just 0/1) also gets one indicator per value but
// the smallest; a column with more values also gets Bins−1 step indicators
// [x > q] at the training quantiles q. Fitted on training rows, it is plain
// data and serialises to JSON.
type Basis struct {
	Columns []BasisColumn `json:"columns"`
}

// BasisColumn is the expansion of one design column.
type BasisColumn struct {
	Levels []float64 `json:"levels,omitempty"` // indicators x == level
	Cuts   []float64 `json:"cuts,omitempty"`   // steps x > cut
}

// FitBasis learns the expansion of X's columns.
func FitBasis(X [][]float64, maxLevels, bins int) *Basis {
	if len(X) == 0 {
		return &Basis{}
	}
	n, d := len(X), len(X[0])
	b := &Basis{Columns: make([]BasisColumn, d)}
	col := make([]float64, n)
	for j := range d {
		for i := range n {
			col[i] = X[i][j]
		}
		s := slices.Clone(col)
		slices.Sort(s)
		u := slices.Compact(slices.Clone(s))
		switch {
		case len(u) <= 2:
			// binary or constant: the column itself is enough
		case len(u) <= maxLevels:
			b.Columns[j].Levels = u[1:]
		default:
			for k := 1; k < bins; k++ {
				c := s[k*n/bins]
				if c < s[n-1] && (len(b.Columns[j].Cuts) == 0 || c > b.Columns[j].Cuts[len(b.Columns[j].Cuts)-1]) {
					b.Columns[j].Cuts = append(b.Columns[j].Cuts, c)
				}
			}
		}
	}
	return b
}

// Expand returns X with the basis columns appended to each row.
func (b *Basis) Expand(X [][]float64) [][]float64 {
	out := make([][]float64, len(X))
	for i, x := range X {
		z := slices.Clone(x)
		for j, c := range b.Columns {
			for _, l := range c.Levels {
				z = append(z, b2f(x[j] == l))
			}
			for _, q := range c.Cuts {
				z = append(z, b2f(x[j] > q))
			}
		}
		out[i] = z
	}
	return out
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// GAMTLearner is a T-learner whose two outcome models are additive
// (GAM-like) logistic regressions on a [Basis] expansion: each feature gets a
// piecewise-constant shape (one level per value for low-cardinality numerics
// like recency in months, quantile steps for skewed continuous ones like
// history), under a stronger L2 penalty (C = 0.1) than the reference.
//
// Why this learner: on Hillstrom (visit, Womens vs none) the heterogeneity of
// the effect is real but small, so the estimate is variance-bound. The
// meta-learners that add a second stage (X-learner with a ridge stage, a
// DR-style linear stage) and boosted trees per arm all scored below the
// linear-logistic T-learner over seeds 1–20 (see the package report); what
// helped, on seeds 1–20 and again on the unseen seeds 101–130, was keeping
// the T-learner's logit structure and only freeing the shape of each
// feature's effect (recency is not linear in months, history is heavily
// skewed). The gain is modest (≈ +0.0015 to +0.003 Qini); on conversion
// nothing can be claimed.
type GAMTLearner struct {
	C         float64 `json:"c"`
	MaxLevels int     `json:"max_levels"`
	Bins      int     `json:"bins"`
	Basis     *Basis  `json:"basis,omitempty"`
	Treated   Outcome `json:"treated"`
	Control   Outcome `json:"control"`
}

// NewGAMTLearner returns an unfitted GAM T-learner with C = 0.1, one-hot for
// columns with at most 16 values and 5 quantile bins otherwise.
func NewGAMTLearner() *GAMTLearner { return &GAMTLearner{C: 0.1, MaxLevels: 16, Bins: 5} }

// Name implements Model.
func (*GAMTLearner) Name() string { return NameGAMTLearner }

// Fit learns the basis on all training rows, then one model per arm.
func (m *GAMTLearner) Fit(X [][]float64, t []int, y []float64) error {
	if err := checkFit(X, t, y); err != nil {
		return err
	}
	m.Basis = FitBasis(X, m.MaxLevels, m.Bins)
	x1, y1, x0, y0 := byArm(m.Basis.Expand(X), t, y)
	if err := m.Treated.fit(x1, y1, m.C, 1e-10); err != nil {
		return fmt.Errorf("treated arm: %w", err)
	}
	if err := m.Control.fit(x0, y0, m.C, 1e-10); err != nil {
		return fmt.Errorf("control arm: %w", err)
	}
	return nil
}

// Uplift returns μ₁(x) − μ₀(x).
func (m *GAMTLearner) Uplift(X [][]float64) []float64 {
	Z := m.Basis.Expand(X)
	p1, p0 := m.Treated.Predict(Z), m.Control.Predict(Z)
	for i := range p1 {
		p1[i] -= p0[i]
	}
	return p1
}

// XLearner is the X-learner of Künzel et al. (PNAS 2019): stage 1 is the
// reference T-learner; the imputed effects D¹ = y − μ₀(x) (treated) and
// D⁰ = μ₁(x) − y (controls) are regressed on x by ridge regression; τ(x) =
// e·τ₀(x) + (1−e)·τ₁(x) with e the treated share of the training rows (a
// constant, as in a randomised experiment). Kept for comparison: on Hillstrom
// its linear second stage ranks slightly worse than the T-learner.
type XLearner struct {
	Lambda     float64  `json:"lambda"`
	Propensity float64  `json:"propensity"`
	Stage1     TLearner `json:"stage1"`
	Tau1       Ridge    `json:"tau1"`
	Tau0       Ridge    `json:"tau0"`
}

// NewXLearner returns an unfitted X-learner with ridge λ = 1.
func NewXLearner() *XLearner { return &XLearner{Lambda: 1} }

// Name implements Model.
func (*XLearner) Name() string { return NameXLearner }

// Fit fits both stages.
func (m *XLearner) Fit(X [][]float64, t []int, y []float64) error {
	if err := m.Stage1.Fit(X, t, y); err != nil {
		return err
	}
	x1, y1, x0, y0 := byArm(X, t, y)
	mu0 := m.Stage1.Control.Predict(x1)
	mu1 := m.Stage1.Treated.Predict(x0)
	d1 := make([]float64, len(y1))
	for i := range y1 {
		d1[i] = y1[i] - mu0[i]
	}
	d0 := make([]float64, len(y0))
	for i := range y0 {
		d0[i] = mu1[i] - y0[i]
	}
	m.Tau1.Lambda, m.Tau0.Lambda = m.Lambda, m.Lambda
	if err := m.Tau1.Fit(x1, d1, nil); err != nil {
		return err
	}
	if err := m.Tau0.Fit(x0, d0, nil); err != nil {
		return err
	}
	m.Propensity = float64(len(x1)) / float64(len(X))
	return nil
}

// Uplift returns e·τ₀(x) + (1−e)·τ₁(x).
func (m *XLearner) Uplift(X [][]float64) []float64 {
	a, b := m.Tau0.Predict(X), m.Tau1.Predict(X)
	for i := range a {
		a[i] = m.Propensity*a[i] + (1-m.Propensity)*b[i]
	}
	return a
}

// GBDTTLearner is a T-learner with a boosted-tree model per arm (logistic
// loss for 0/1 outcomes, squared otherwise). Kept for comparison and for
// data with strong interactions: on Hillstrom it overfits the baseline and
// ranks worse than the linear T-learner.
type GBDTTLearner struct {
	Params  GBDT `json:"params"`
	Treated GBDT `json:"treated"`
	Control GBDT `json:"control"`
}

// NewGBDTTLearner returns an unfitted learner: 100 depth-2 trees, learning
// rate 0.05, λ = 1, at least 100 rows per leaf, 64 bins, 80% row subsampling
// seeded from seed.
func NewGBDTTLearner(seed uint64) *GBDTTLearner {
	return &GBDTTLearner{Params: GBDT{Trees: 100, Depth: 2, LearningRate: 0.05, Lambda: 1, MinLeaf: 100, Bins: 64, Subsample: 0.8, Seed: seed}}
}

// Name implements Model.
func (*GBDTTLearner) Name() string { return NameGBDTTLearner }

// Fit boosts one model per arm.
func (m *GBDTTLearner) Fit(X [][]float64, t []int, y []float64) error {
	if err := checkFit(X, t, y); err != nil {
		return err
	}
	loss := LossSquared
	if isBinary(y) {
		loss = LossLogistic
	}
	x1, y1, x0, y0 := byArm(X, t, y)
	m.Treated, m.Control = m.Params, m.Params
	m.Treated.Loss, m.Control.Loss = loss, loss
	m.Control.Seed = m.Params.Seed ^ 0x9E3779B97F4A7C15
	if err := m.Treated.Fit(x1, y1, nil); err != nil {
		return fmt.Errorf("treated arm: %w", err)
	}
	if err := m.Control.Fit(x0, y0, nil); err != nil {
		return fmt.Errorf("control arm: %w", err)
	}
	return nil
}

// Uplift returns μ₁(x) − μ₀(x).
func (m *GBDTTLearner) Uplift(X [][]float64) []float64 {
	p1, p0 := m.Treated.Predict(X), m.Control.Predict(X)
	for i := range p1 {
		p1[i] -= p0[i]
	}
	return p1
}
