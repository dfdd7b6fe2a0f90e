package uplift

import (
	"encoding/json"
	"fmt"
)

// Ensemble averages the uplift predicted by several models fitted on the
// same rows. Averaging learners whose errors differ (separate-arm and
// shared-baseline models, linear and step-shaped features) lowers the
// variance of the ranking, which is what limits the Qini on small effects.
type Ensemble struct {
	Members []Model `json:"-"`
	// Stored is the JSON form of the members ([Marshal] without encoder).
	Stored []json.RawMessage `json:"members"`
	reg    *Registry
	names  []string
}

// NameEnsemble is the registry name of the default [Ensemble].
const NameEnsemble = "ensemble"

// NewEnsemble returns an unfitted ensemble of the named registry models.
func NewEnsemble(reg *Registry, names ...string) *Ensemble { return &Ensemble{reg: reg, names: names} }

// Name implements Model.
func (*Ensemble) Name() string { return NameEnsemble }

// Fit fits every member.
func (e *Ensemble) Fit(X [][]float64, t []int, y []float64) error {
	e.Members, e.Stored = nil, nil
	for _, n := range e.names {
		m, err := e.reg.New(n, 0)
		if err != nil {
			return err
		}
		if err := m.Fit(X, t, y); err != nil {
			return fmt.Errorf("ensemble member %s: %w", n, err)
		}
		b, err := Marshal(m, nil)
		if err != nil {
			return err
		}
		e.Members, e.Stored = append(e.Members, m), append(e.Stored, b)
	}
	return nil
}

// Uplift averages the members' uplift.
func (e *Ensemble) Uplift(X [][]float64) []float64 {
	var out []float64
	for _, m := range e.Members {
		u := m.Uplift(X)
		if out == nil {
			out = u
			continue
		}
		for i := range out {
			out[i] += u[i]
		}
	}
	for i := range out {
		out[i] /= float64(len(e.Members))
	}
	return out
}

// UnmarshalJSON restores the members.
func (e *Ensemble) UnmarshalJSON(b []byte) error {
	var s struct {
		Members []json.RawMessage `json:"members"`
	}
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	reg := e.reg
	if reg == nil {
		reg = NewRegistry()
	}
	e.Members, e.Stored = nil, s.Members
	for _, raw := range s.Members {
		m, _, err := reg.Unmarshal(raw)
		if err != nil {
			return err
		}
		e.Members = append(e.Members, m)
	}
	return nil
}
