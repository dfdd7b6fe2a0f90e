package uplift

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
)

// Metric is a metric value; NaN (undefined, e.g. uplift@k with an empty arm)
// encodes as JSON null.
type Metric float64

// MarshalJSON implements json.Marshaler.
func (m Metric) MarshalJSON() ([]byte, error) {
	f := float64(m)
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return []byte("null"), nil
	}
	return strconv.AppendFloat(nil, f, 'g', -1, 64), nil
}

// UnmarshalJSON implements json.Unmarshaler.
func (m *Metric) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*m = Metric(math.NaN())
		return nil
	}
	var f float64
	if err := json.Unmarshal(b, &f); err != nil {
		return err
	}
	*m = Metric(f)
	return nil
}

// Reference settings of the evaluation.
const (
	DefaultHoldout     = 0.3
	DefaultNoiseRounds = 200
	TopFraction        = 0.3 // k of uplift@k
	// NoiseSeedXor is xored into the split seed to seed the noise floor's
	// SplitMix64, so the random scorings do not reuse the split's stream.
	NoiseSeedXor uint64 = 0x6E6F697365666C72 // "noiseflr"
)

// EvalConfig configures one evaluation run.
type EvalConfig struct {
	Model       string  // registry name
	Holdout     float64 // holdout share, in (0, 1)
	Seed        uint64  // split seed; also seeds the model and the noise floor
	NoiseRounds int     // random scorings for the noise floor; 0 skips it
}

// NoiseFloor summarises the metrics of random scorings of the same holdout.
// Score i of round r is the next Float64 of SplitMix64(Seed), drawn row by
// row, round after round. Percentiles interpolate linearly between order
// statistics (numpy's default).
type NoiseFloor struct {
	Rounds      int    `json:"rounds"`
	Source      string `json:"source"`
	QiniP95     Metric `json:"qini_coefficient_p95"`
	AUUCP95     Metric `json:"auuc_normalized_p95"`
	UpliftAtP95 Metric `json:"uplift_at_30_p95"`
	QiniMean    Metric `json:"qini_coefficient_mean"`
	QiniSD      Metric `json:"qini_coefficient_sd"`
}

// Result is one evaluation run on one split.
type Result struct {
	Convention string      `json:"metric_convention"`
	Model      string      `json:"model"`
	Seed       uint64      `json:"seed"`
	Holdout    float64     `json:"holdout"`
	NTrain     int         `json:"n_train"`
	NHoldout   int         `json:"n_holdout"`
	Qini       Metric      `json:"qini_coefficient"`
	AUUC       Metric      `json:"auuc_normalized"`
	UpliftAt30 Metric      `json:"uplift_at_30"`
	HoldoutATE Metric      `json:"holdout_ate"`
	NoiseFloor *NoiseFloor `json:"noise_floor,omitempty"`
}

// Evaluate runs the reference procedure with the configured model: split,
// encoder fitted on the training rows, model fit, uplift on the holdout, and
// the scikit-uplift metrics with their noise floor.
func Evaluate(ctx context.Context, exp *Experiment, reg *Registry, cfg EvalConfig) (*Result, error) {
	if !(cfg.Holdout > 0 && cfg.Holdout < 1) {
		return nil, fmt.Errorf("uplift: holdout %v not in (0, 1)", cfg.Holdout)
	}
	model, err := reg.New(cfg.Model, cfg.Seed)
	if err != nil {
		return nil, err
	}
	train, hold := Split(exp.N(), cfg.Seed, cfg.Holdout)
	if len(train) == 0 || len(hold) == 0 {
		return nil, fmt.Errorf("uplift: %d rows is too few to split", exp.N())
	}
	enc := FitEncoder(exp, train)
	Xtr, err := enc.Transform(exp, train)
	if err != nil {
		return nil, err
	}
	Xho, err := enc.Transform(exp, hold)
	if err != nil {
		return nil, err
	}
	if err := model.Fit(Xtr, pick(exp.T, train), pick(exp.Y, train)); err != nil {
		return nil, fmt.Errorf("uplift: fit %s: %w", cfg.Model, err)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	score := model.Uplift(Xho)
	y, t := pick(exp.Y, hold), pick(exp.T, hold)
	sc := newScorer(y, t)
	qini, auuc, up := sc.all(score)
	res := &Result{
		Convention: MetricConvention, Model: cfg.Model, Seed: cfg.Seed, Holdout: cfg.Holdout,
		NTrain: len(train), NHoldout: len(hold),
		Qini: Metric(qini), AUUC: Metric(auuc), UpliftAt30: Metric(up), HoldoutATE: Metric(ate(y, t)),
	}
	if cfg.NoiseRounds > 0 {
		nf, err := noiseFloor(ctx, sc, cfg.NoiseRounds, cfg.Seed^NoiseSeedXor)
		if err != nil {
			return nil, err
		}
		res.NoiseFloor = nf
	}
	return res, nil
}

// noiseFloor scores rounds random scorings of the holdout.
func noiseFloor(ctx context.Context, sc *scorer, rounds int, seed uint64) (*NoiseFloor, error) {
	rng := NewSplitMix64(seed)
	q := make([]float64, rounds)
	a := make([]float64, rounds)
	u := make([]float64, rounds)
	score := make([]float64, len(sc.y))
	for r := range rounds {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		for i := range score {
			score[i] = rng.Float64()
		}
		q[r], a[r], u[r] = sc.all(score)
	}
	mean, sd := meanSampleSD(q)
	return &NoiseFloor{
		Rounds: rounds, Source: fmt.Sprintf("SplitMix64(seed ^ %#x = %d)", NoiseSeedXor, seed),
		QiniP95: Metric(Percentile(q, 95)), AUUCP95: Metric(Percentile(a, 95)), UpliftAtP95: Metric(Percentile(u, 95)),
		QiniMean: Metric(mean), QiniSD: Metric(sd),
	}, nil
}

// Percentile is numpy.percentile with linear interpolation; NaNs are dropped.
func Percentile(v []float64, p float64) float64 {
	s := slices.DeleteFunc(slices.Clone(v), math.IsNaN)
	if len(s) == 0 {
		return math.NaN()
	}
	slices.Sort(s)
	pos := p / 100 * float64(len(s)-1)
	lo := int(math.Floor(pos))
	if lo >= len(s)-1 {
		return s[len(s)-1]
	}
	return s[lo] + (pos-float64(lo))*(s[lo+1]-s[lo])
}

// meanSampleSD returns the mean and the sample (n−1) standard deviation,
// ignoring NaNs.
func meanSampleSD(v []float64) (mean, sd float64) {
	s := slices.DeleteFunc(slices.Clone(v), math.IsNaN)
	if len(s) == 0 {
		return math.NaN(), math.NaN()
	}
	for _, x := range s {
		mean += x
	}
	mean /= float64(len(s))
	if len(s) < 2 {
		return mean, math.NaN()
	}
	var ss float64
	for _, x := range s {
		ss += (x - mean) * (x - mean)
	}
	return mean, math.Sqrt(ss / float64(len(s)-1))
}

func ate(y []float64, t []int) float64 {
	var nt, nc, yt, yc float64
	for i := range y {
		if t[i] == 1 {
			nt++
			yt += y[i]
		} else {
			nc++
			yc += y[i]
		}
	}
	return yt/nt - yc/nc
}

// SeedSummary is the spread of the metrics over a range of split seeds.
type SeedSummary struct {
	Convention string    `json:"metric_convention"`
	Model      string    `json:"model"`
	Seeds      string    `json:"seeds"`
	Runs       []*Result `json:"runs"`
	// Mean and SD (sample, n−1) of each metric by its JSON name; noise-floor
	// percentiles are keyed "noise_floor.<name>".
	Mean map[string]Metric `json:"mean"`
	SD   map[string]Metric `json:"sd"`
}

// EvaluateSeeds runs [Evaluate] for every seed in [from, to] and summarises
// each metric by its mean and sample standard deviation.
func EvaluateSeeds(ctx context.Context, exp *Experiment, reg *Registry, cfg EvalConfig, from, to uint64) (*SeedSummary, error) {
	if from > to {
		return nil, fmt.Errorf("uplift: empty seed range %d-%d", from, to)
	}
	sum := &SeedSummary{Convention: MetricConvention, Model: cfg.Model, Seeds: fmt.Sprintf("%d-%d", from, to),
		Mean: map[string]Metric{}, SD: map[string]Metric{}}
	byName := map[string][]float64{}
	for s := from; ; s++ {
		c := cfg
		c.Seed = s
		r, err := Evaluate(ctx, exp, reg, c)
		if err != nil {
			return nil, fmt.Errorf("seed %d: %w", s, err)
		}
		sum.Runs = append(sum.Runs, r)
		for name, v := range r.metrics() {
			byName[name] = append(byName[name], v)
		}
		if s == to {
			break
		}
	}
	for name, v := range byName {
		m, sd := meanSampleSD(v)
		sum.Mean[name], sum.SD[name] = Metric(m), Metric(sd)
	}
	return sum, nil
}

// metrics returns the run's headline metrics by their JSON names.
func (r *Result) metrics() map[string]float64 {
	m := map[string]float64{
		"qini_coefficient": float64(r.Qini),
		"auuc_normalized":  float64(r.AUUC),
		"uplift_at_30":     float64(r.UpliftAt30),
	}
	if r.NoiseFloor != nil {
		m["noise_floor.qini_coefficient_p95"] = float64(r.NoiseFloor.QiniP95)
		m["noise_floor.uplift_at_30_p95"] = float64(r.NoiseFloor.UpliftAtP95)
	}
	return m
}
