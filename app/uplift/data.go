package uplift

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// HillstromReferenceFeatures are the feature columns of the Hillstrom
// reference run (history_segment is dropped). Encoded by [FitEncoder] they give
// exactly the reference design: recency and history z-scored, mens, womens,
// newbie as is, zip_code and channel one-hot with Rural and Multichannel as
// baselines.
var HillstromReferenceFeatures = []string{"recency", "history", "mens", "womens", "zip_code", "newbie", "channel"}

// ErrSpec marks errors in a [Spec]: a missing or duplicated column, equal
// treated and control values, an arm with no rows. Callers can report them
// as bad usage rather than as failures.
var ErrSpec = errors.New("bad experiment spec")

// Spec names the columns of a CSV that make an experiment.
type Spec struct {
	// Treatment is the column holding the arm; rows whose value is neither
	// Treated nor Control are skipped (e.g. a third arm).
	Treatment        string
	Treated, Control string
	// Outcome is the response column: 0/1 or any number.
	Outcome string
	// Features are the feature columns, used in the order given. When empty,
	// every column except Treatment, Outcome and Exclude is used, in file order.
	Features []string
	// Exclude lists columns never used as features by default, typically
	// other outcomes that would leak the answer (conversion, spend).
	Exclude []string
}

// Column is one raw feature column of an experiment.
type Column struct {
	Name string
	// Numeric is true when every value parses as a finite number; Num then
	// holds the values, otherwise Str does and the column is categorical.
	Numeric bool
	Num     []float64
	Str     []string
}

// Experiment is a two-arm experiment loaded from a CSV: one entry per kept
// row, in file order.
type Experiment struct {
	Spec    Spec
	Columns []Column
	T       []int     // 1 treated, 0 control
	Y       []float64 // outcome
}

// N returns the number of rows.
func (e *Experiment) N() int { return len(e.T) }

// BinaryOutcome reports whether every outcome is 0 or 1.
func (e *Experiment) BinaryOutcome() bool { return isBinary(e.Y) }

// LoadCSV reads an experiment from a CSV with a header row. Carriage returns
// and a UTF-8 byte-order mark are tolerated; header names are trimmed.
func LoadCSV(r io.Reader, spec Spec) (*Experiment, error) {
	if spec.Treatment == "" || spec.Outcome == "" {
		return nil, fmt.Errorf("uplift: %w: treatment and outcome columns are required", ErrSpec)
	}
	if spec.Treated == spec.Control {
		return nil, fmt.Errorf("uplift: %w: treated and control values are both %q", ErrSpec, spec.Treated)
	}
	cr := csv.NewReader(r)
	header, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("uplift: read header: %w", err)
	}
	pos := make(map[string]int, len(header))
	for i, h := range header {
		h = strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))
		header[i] = h
		if _, dup := pos[h]; dup {
			return nil, fmt.Errorf("uplift: %w: duplicate column %q in header", ErrSpec, h)
		}
		pos[h] = i
	}
	col := func(name, role string) (int, error) {
		i, ok := pos[name]
		if !ok {
			return 0, fmt.Errorf("uplift: %w: %s column %q not in header (have %s)", ErrSpec, role, name, strings.Join(header, ", "))
		}
		return i, nil
	}
	ti, err := col(spec.Treatment, "treatment")
	if err != nil {
		return nil, err
	}
	yi, err := col(spec.Outcome, "outcome")
	if err != nil {
		return nil, err
	}
	if ti == yi {
		return nil, fmt.Errorf("uplift: %w: treatment and outcome are the same column", ErrSpec)
	}
	feats := slices.Clone(spec.Features)
	if len(feats) == 0 {
		for _, x := range spec.Exclude {
			if _, err := col(x, "excluded"); err != nil {
				return nil, err
			}
		}
		for _, h := range header {
			if h != spec.Treatment && h != spec.Outcome && !slices.Contains(spec.Exclude, h) {
				feats = append(feats, h)
			}
		}
	}
	if len(feats) == 0 {
		return nil, fmt.Errorf("uplift: %w: no feature columns", ErrSpec)
	}
	fi := make([]int, len(feats))
	seen := map[string]bool{}
	for j, f := range feats {
		if f == spec.Treatment || f == spec.Outcome {
			return nil, fmt.Errorf("uplift: %w: %q cannot be both a feature and the treatment/outcome", ErrSpec, f)
		}
		if seen[f] {
			return nil, fmt.Errorf("uplift: %w: feature %q listed twice", ErrSpec, f)
		}
		seen[f] = true
		if fi[j], err = col(f, "feature"); err != nil {
			return nil, err
		}
	}
	spec.Features = feats
	exp := &Experiment{Spec: spec, Columns: make([]Column, len(feats))}
	raw := make([][]string, len(feats))
	for line := 2; ; line++ {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("uplift: read row: %w", err)
		}
		var t int
		switch rec[ti] {
		case spec.Treated:
			t = 1
		case spec.Control:
			t = 0
		default:
			continue
		}
		y, err := strconv.ParseFloat(strings.TrimSpace(rec[yi]), 64)
		if err != nil || math.IsNaN(y) || math.IsInf(y, 0) {
			return nil, fmt.Errorf("uplift: line %d: outcome %q is not a number", line, rec[yi])
		}
		exp.T = append(exp.T, t)
		exp.Y = append(exp.Y, y)
		for j, c := range fi {
			raw[j] = append(raw[j], rec[c])
		}
	}
	var nt int
	for _, t := range exp.T {
		nt += t
	}
	if nt == 0 || nt == len(exp.T) {
		return nil, fmt.Errorf("uplift: %w: need both arms: %d rows with %s=%q, %d with %q", ErrSpec, nt, spec.Treatment, spec.Treated, len(exp.T)-nt, spec.Control)
	}
	for j, f := range feats {
		exp.Columns[j] = newColumn(f, raw[j])
	}
	return exp, nil
}

func newColumn(name string, vals []string) Column {
	num := make([]float64, len(vals))
	for i, v := range vals {
		x, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil || math.IsNaN(x) || math.IsInf(x, 0) {
			return Column{Name: name, Str: vals}
		}
		num[i] = x
	}
	return Column{Name: name, Numeric: true, Num: num}
}

// Feature kinds of an [EncodedColumn].
const (
	KindScaled = "scaled" // numeric, z-scored with the fit rows' mean and population sd
	KindBinary = "binary" // numeric with only 0/1 on the fit rows, used as is
	KindOneHot = "onehot" // categorical: one 0/1 column per level but the baseline
)

// EncodedColumn is how one raw column becomes design columns.
type EncodedColumn struct {
	Name string  `json:"name"`
	Kind string  `json:"kind"`
	Mean float64 `json:"mean,omitempty"`
	SD   float64 `json:"sd,omitempty"`
	// Baseline is the first level in byte order; it is encoded as all zeros,
	// as is any level not seen when fitting.
	Baseline string   `json:"baseline,omitempty"`
	Levels   []string `json:"levels,omitempty"`
}

// Encoder turns raw feature columns into a numeric design matrix (without an
// intercept; the models add their own). It is fitted on training rows only
// and serialises to JSON, so a stored model can score new rows.
//
// Design columns are grouped by kind — scaled numerics, then binary columns,
// then one-hot levels — keeping the feature order within each group. With
// [HillstromReferenceFeatures] this is exactly the reference design.
type Encoder struct {
	Columns []EncodedColumn `json:"columns"`
}

// FitEncoder learns the encoding from the given rows of exp: means and
// population standard deviations of numeric columns, and the levels of
// categorical ones. A constant numeric column gets sd 1 (it encodes as 0).
func FitEncoder(exp *Experiment, rows []int) *Encoder {
	var scaled, binary, onehot []EncodedColumn
	for _, c := range exp.Columns {
		if c.Numeric {
			vals := make([]float64, len(rows))
			for k, i := range rows {
				vals[k] = c.Num[i]
			}
			if isBinary(vals) {
				binary = append(binary, EncodedColumn{Name: c.Name, Kind: KindBinary})
				continue
			}
			mean, sd := meanPopSD(vals)
			if sd == 0 || math.IsNaN(sd) {
				sd = 1
			}
			scaled = append(scaled, EncodedColumn{Name: c.Name, Kind: KindScaled, Mean: mean, SD: sd})
			continue
		}
		set := map[string]bool{}
		for _, i := range rows {
			set[c.Str[i]] = true
		}
		levels := make([]string, 0, len(set))
		for l := range set {
			levels = append(levels, l)
		}
		sort.Strings(levels)
		ec := EncodedColumn{Name: c.Name, Kind: KindOneHot}
		if len(levels) > 0 {
			ec.Baseline, ec.Levels = levels[0], levels[1:]
		}
		onehot = append(onehot, ec)
	}
	return &Encoder{Columns: slices.Concat(scaled, binary, onehot)}
}

// Names returns the design column names ("zip_code=Urban" for one-hot levels).
func (e *Encoder) Names() []string {
	var out []string
	for _, c := range e.Columns {
		if c.Kind == KindOneHot {
			for _, l := range c.Levels {
				out = append(out, c.Name+"="+l)
			}
			continue
		}
		out = append(out, c.Name)
	}
	return out
}

// Transform encodes the given rows of exp. exp must have the columns the
// encoder was fitted on (by name).
func (e *Encoder) Transform(exp *Experiment, rows []int) ([][]float64, error) {
	byName := make(map[string]*Column, len(exp.Columns))
	for i := range exp.Columns {
		byName[exp.Columns[i].Name] = &exp.Columns[i]
	}
	width := len(e.Names())
	flat := make([]float64, len(rows)*width)
	X := make([][]float64, len(rows))
	for k := range X {
		X[k] = flat[k*width : (k+1)*width : (k+1)*width]
	}
	j := 0
	for _, ec := range e.Columns {
		c, ok := byName[ec.Name]
		if !ok {
			return nil, fmt.Errorf("uplift: encoder column %q missing from data", ec.Name)
		}
		switch ec.Kind {
		case KindScaled, KindBinary:
			if !c.Numeric {
				return nil, fmt.Errorf("uplift: column %q is not numeric", ec.Name)
			}
			for k, i := range rows {
				if ec.Kind == KindScaled {
					X[k][j] = (c.Num[i] - ec.Mean) / ec.SD
				} else {
					X[k][j] = c.Num[i]
				}
			}
			j++
		case KindOneHot:
			pos := make(map[string]int, len(ec.Levels))
			for l, v := range ec.Levels {
				pos[v] = l
			}
			for k, i := range rows {
				var v string
				if c.Numeric {
					v = strconv.FormatFloat(c.Num[i], 'g', -1, 64)
				} else {
					v = c.Str[i]
				}
				if l, ok := pos[v]; ok {
					X[k][j+l] = 1
				}
			}
			j += len(ec.Levels)
		default:
			return nil, fmt.Errorf("uplift: column %q has unknown kind %q", ec.Name, ec.Kind)
		}
	}
	return X, nil
}

func isBinary(v []float64) bool {
	for _, x := range v {
		if x != 0 && x != 1 {
			return false
		}
	}
	return true
}

// meanPopSD returns the mean and the population (ddof 0) standard deviation.
func meanPopSD(v []float64) (mean, sd float64) {
	if len(v) == 0 {
		return 0, 0
	}
	for _, x := range v {
		mean += x
	}
	mean /= float64(len(v))
	var ss float64
	for _, x := range v {
		d := x - mean
		ss += d * d
	}
	return mean, math.Sqrt(ss / float64(len(v)))
}

func pick[T any](v []T, rows []int) []T {
	out := make([]T, len(rows))
	for k, i := range rows {
		out[k] = v[i]
	}
	return out
}
