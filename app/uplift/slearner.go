package uplift

import (
	"fmt"
	"math"
)

// SLearnerGAM is one logistic regression over the [Basis] expansion z of x,
// the treatment flag and its interactions with z:
//
//	logit P(y | x, t) = b + w·z + t·(a + v·z)
//
// with the interactions v penalised more (IntPenalty × the L2 of C) than the
// baseline shape w, and a unpenalised. Both arms share the baseline, which
// the T-learner estimates twice (once per arm, on half the data each); the
// effect is shrunk toward a constant lift unless the data insist.
type SLearnerGAM struct {
	C          float64   `json:"c"`
	IntPenalty float64   `json:"int_penalty"`
	MaxLevels  int       `json:"max_levels"`
	Bins       int       `json:"bins"`
	Basis      *Basis    `json:"basis,omitempty"`
	Model      *Logistic `json:"model,omitempty"`
}

// NewSLearnerGAM returns an unfitted S-learner.
func NewSLearnerGAM() *SLearnerGAM {
	return &SLearnerGAM{C: 0.1, IntPenalty: 4, MaxLevels: 16, Bins: 5}
}

// NameSLearnerGAM is the registry name of [SLearnerGAM].
const NameSLearnerGAM = "slearner-gam"

// Name implements Model.
func (*SLearnerGAM) Name() string { return NameSLearnerGAM }

func (m *SLearnerGAM) design(Z [][]float64, t func(i int) float64) [][]float64 {
	out := make([][]float64, len(Z))
	for i, z := range Z {
		row := make([]float64, 0, 2*len(z)+1)
		row = append(row, z...)
		ti := t(i)
		row = append(row, ti)
		for _, v := range z {
			row = append(row, ti*v)
		}
		out[i] = row
	}
	return out
}

// Fit fits the shared model.
func (m *SLearnerGAM) Fit(X [][]float64, t []int, y []float64) error {
	if err := checkFit(X, t, y); err != nil {
		return err
	}
	if !isBinary(y) {
		return fmt.Errorf("uplift: %s needs a 0/1 outcome", NameSLearnerGAM)
	}
	m.Basis = FitBasis(X, m.MaxLevels, m.Bins)
	Z := m.Basis.Expand(X)
	D := m.design(Z, func(i int) float64 { return float64(t[i]) })
	d := len(Z[0])
	pen := make([]float64, 2*d+1)
	for j := range d {
		pen[j] = 1
		pen[d+1+j] = m.IntPenalty
	}
	m.Model = &Logistic{C: m.C, Tol: 1e-10, MaxIter: 100, Penalty: pen}
	return m.Model.Fit(D, y, nil)
}

// Uplift returns P(y | x, t=1) − P(y | x, t=0).
func (m *SLearnerGAM) Uplift(X [][]float64) []float64 {
	Z := m.Basis.Expand(X)
	p1 := m.Model.Predict(m.design(Z, func(int) float64 { return 1 }))
	p0 := m.Model.Predict(m.design(Z, func(int) float64 { return 0 }))
	for i := range p1 {
		p1[i] -= p0[i]
		if math.IsNaN(p1[i]) {
			p1[i] = 0
		}
	}
	return p1
}
