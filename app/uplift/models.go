package uplift

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
)

// Model is an uplift model: fitted on a design matrix X (no intercept column;
// see [Encoder]), treatment flags t (1 treated, 0 control) and outcomes y, it
// predicts the individual treatment effect τ(x) = E[y | x, t=1] − E[y | x, t=0].
// Models are plain structs with exported fields so that they serialise to
// JSON ([Marshal], [Registry.Unmarshal]).
type Model interface {
	// Name is the registry name of the model.
	Name() string
	Fit(X [][]float64, t []int, y []float64) error
	Uplift(X [][]float64) []float64
}

// Factory builds an unfitted model; seed feeds any randomness it uses.
type Factory func(seed uint64) Model

// Registry maps model names (the CLI's --model) to factories.
type Registry struct{ factories map[string]Factory }

// NewRegistry returns a registry holding the package's models:
// "tlearner" ([TLearner], the reference), "tlearner-gam" ([GAMTLearner], the
// recommended stronger learner), "slearner-gam" ([SLearnerGAM]), "ensemble"
// (the mean of tlearner-gam and slearner-gam, [Ensemble]), "xlearner"
// ([XLearner]) and "tlearner-gbdt" ([GBDTTLearner]).
func NewRegistry() *Registry {
	r := &Registry{factories: map[string]Factory{}}
	r.Register(NameTLearner, func(uint64) Model { return NewTLearner() })
	r.Register(NameGAMTLearner, func(uint64) Model { return NewGAMTLearner() })
	r.Register(NameXLearner, func(uint64) Model { return NewXLearner() })
	r.Register(NameGBDTTLearner, func(seed uint64) Model { return NewGBDTTLearner(seed) })
	r.Register(NameSLearnerGAM, func(uint64) Model { return NewSLearnerGAM() })
	r.Register(NameEnsemble, func(uint64) Model { return NewEnsemble(r, NameGAMTLearner, NameSLearnerGAM) })
	return r
}

// Register adds or replaces a factory.
func (r *Registry) Register(name string, f Factory) { r.factories[name] = f }

// Names returns the registered names, sorted.
func (r *Registry) Names() []string {
	out := make([]string, 0, len(r.factories))
	for n := range r.factories {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// ErrUnknownModel is returned for a name that is not registered.
var ErrUnknownModel = errors.New("uplift: unknown model")

// New builds an unfitted model by name.
func (r *Registry) New(name string, seed uint64) (Model, error) {
	f, ok := r.factories[name]
	if !ok {
		return nil, fmt.Errorf("%w %q (have %v)", ErrUnknownModel, name, r.Names())
	}
	return f(seed), nil
}

// StoredModel is the versioned JSON form of a fitted model together with the
// encoder that builds its inputs.
type StoredModel struct {
	Format  int             `json:"format"`
	Model   string          `json:"model"`
	Encoder *Encoder        `json:"encoder,omitempty"`
	State   json.RawMessage `json:"state"`
}

// storedFormat is the current StoredModel format.
const storedFormat = 1

// Marshal serialises a fitted model and its encoder (which may be nil).
func Marshal(m Model, enc *Encoder) ([]byte, error) {
	state, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("uplift: marshal %s: %w", m.Name(), err)
	}
	return json.Marshal(StoredModel{Format: storedFormat, Model: m.Name(), Encoder: enc, State: state})
}

// Unmarshal restores a model stored by [Marshal].
func (r *Registry) Unmarshal(data []byte) (Model, *Encoder, error) {
	var s StoredModel
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, nil, fmt.Errorf("uplift: unmarshal model: %w", err)
	}
	if s.Format != storedFormat {
		return nil, nil, fmt.Errorf("uplift: stored model format %d, want %d", s.Format, storedFormat)
	}
	m, err := r.New(s.Model, 0)
	if err != nil {
		return nil, nil, err
	}
	if err := json.Unmarshal(s.State, m); err != nil {
		return nil, nil, fmt.Errorf("uplift: unmarshal %s state: %w", s.Model, err)
	}
	return m, s.Encoder, nil
}

// Outcome regresses an outcome on x: logistic regression (the reference,
// C = 1) when every outcome is 0/1, ridge regression (λ = 1) otherwise.
type Outcome struct {
	Logistic *Logistic `json:"logistic,omitempty"`
	Ridge    *Ridge    `json:"ridge,omitempty"`
}

// Fit fits the outcome model with the reference settings.
func (o *Outcome) Fit(X [][]float64, y []float64) error { return o.fit(X, y, 1, 1e-12) }

// fit fits with inverse penalty c (logistic C; ridge λ = 1/c) and Newton
// tolerance tol.
func (o *Outcome) fit(X [][]float64, y []float64, c, tol float64) error {
	if isBinary(y) {
		o.Logistic, o.Ridge = &Logistic{C: c, Tol: tol, MaxIter: 100}, nil
		return o.Logistic.Fit(X, y, nil)
	}
	o.Logistic, o.Ridge = nil, &Ridge{Lambda: 1 / c}
	return o.Ridge.Fit(X, y, nil)
}

// Predict returns E[y | x] for each row.
func (o *Outcome) Predict(X [][]float64) []float64 {
	if o.Logistic != nil {
		return o.Logistic.Predict(X)
	}
	return o.Ridge.Predict(X)
}

// Model names in the registry.
const (
	NameTLearner     = "tlearner"
	NameGAMTLearner  = "tlearner-gam"
	NameXLearner     = "xlearner"
	NameGBDTTLearner = "tlearner-gbdt"
)

// TLearner is the two-model learner of the reference run (scikit-uplift
// TwoModels, "vanilla"): one [Outcome] model per arm, τ(x) = μ₁(x) − μ₀(x).
type TLearner struct {
	Treated Outcome `json:"treated"`
	Control Outcome `json:"control"`
}

// NewTLearner returns an unfitted T-learner.
func NewTLearner() *TLearner { return &TLearner{} }

// Name implements Model.
func (*TLearner) Name() string { return NameTLearner }

// Fit fits μ₁ on the treated rows and μ₀ on the control rows.
func (m *TLearner) Fit(X [][]float64, t []int, y []float64) error {
	if err := checkFit(X, t, y); err != nil {
		return err
	}
	x1, y1, x0, y0 := byArm(X, t, y)
	if err := m.Treated.Fit(x1, y1); err != nil {
		return fmt.Errorf("treated arm: %w", err)
	}
	if err := m.Control.Fit(x0, y0); err != nil {
		return fmt.Errorf("control arm: %w", err)
	}
	return nil
}

// Uplift returns μ₁(x) − μ₀(x).
func (m *TLearner) Uplift(X [][]float64) []float64 {
	p1, p0 := m.Treated.Predict(X), m.Control.Predict(X)
	for i := range p1 {
		p1[i] -= p0[i]
	}
	return p1
}

func checkFit(X [][]float64, t []int, y []float64) error {
	if len(X) != len(t) || len(X) != len(y) {
		return fmt.Errorf("uplift: fit: %d rows, %d treatments, %d outcomes", len(X), len(t), len(y))
	}
	var nt int
	for _, v := range t {
		if v != 0 && v != 1 {
			return fmt.Errorf("uplift: fit: treatment %d is not 0/1", v)
		}
		nt += v
	}
	if nt == 0 || nt == len(t) {
		return errors.New("uplift: fit: need rows in both arms")
	}
	return nil
}

func byArm(X [][]float64, t []int, y []float64) (x1 [][]float64, y1 []float64, x0 [][]float64, y0 []float64) {
	for i := range X {
		if t[i] == 1 {
			x1, y1 = append(x1, X[i]), append(y1, y[i])
		} else {
			x0, y0 = append(x0, X[i]), append(y0, y[i])
		}
	}
	return
}
