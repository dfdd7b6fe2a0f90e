package uplift

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"sort"
)

// ShopRow is one shopper of a shop's holdout experiments as the training
// job sees it: the arm, whether it ordered in the window, and the features
// known before its assignment.
type ShopRow struct {
	Shopper     string
	Treated     bool
	Converted   bool
	PriorOrders float64
	PriorSpend  float64 // minor units
	RecencyDays float64 // days since the last earlier order; -1 when none
	Channel     string
	Country     string
	Device      string
	Segment     string // the recommender's segment key
}

// ShopFeatures names the feature columns a shop model is trained on.
var ShopFeatures = []string{"prior_orders", "log_prior_spend", "recency_days", "has_history", "channel", "country", "device"}

// ShopExperiment turns rows into an [Experiment] with the shop features
// (outcome: converted, 0/1).
func ShopExperiment(rows []ShopRow) *Experiment {
	n := len(rows)
	num := func() []float64 { return make([]float64, n) }
	po, ls, rd, hh := num(), num(), num(), num()
	ch, co, dv := make([]string, n), make([]string, n), make([]string, n)
	exp := &Experiment{Spec: Spec{Treatment: "arm", Outcome: "converted", Features: ShopFeatures}, T: make([]int, n), Y: make([]float64, n)}
	for i, r := range rows {
		po[i] = r.PriorOrders
		ls[i] = math.Log1p(math.Max(r.PriorSpend, 0) / 100)
		if r.RecencyDays >= 0 {
			rd[i], hh[i] = math.Min(r.RecencyDays, 730), 1
		} else {
			rd[i] = 730
		}
		ch[i], co[i], dv[i] = orDash(r.Channel), orDash(r.Country), orDash(r.Device)
		if r.Treated {
			exp.T[i] = 1
		}
		if r.Converted {
			exp.Y[i] = 1
		}
	}
	exp.Columns = []Column{
		{Name: "prior_orders", Numeric: true, Num: po}, {Name: "log_prior_spend", Numeric: true, Num: ls},
		{Name: "recency_days", Numeric: true, Num: rd}, {Name: "has_history", Numeric: true, Num: hh},
		{Name: "channel", Str: ch}, {Name: "country", Str: co}, {Name: "device", Str: dv},
	}
	return exp
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// DataHash fingerprints the training rows (shopper, arm, outcome, features),
// so a rerun on unchanged data is recognised and skipped.
func DataHash(rows []ShopRow) string {
	h := sha256.New()
	for _, r := range rows {
		fmt.Fprintf(h, "%s|%v|%v|%g|%g|%g|%s|%s|%s\n", r.Shopper, r.Treated, r.Converted, r.PriorOrders, r.PriorSpend, r.RecencyDays, r.Channel, r.Country, r.Device)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Minimum data a shop model needs: rows and converters per arm.
const (
	MinShopRows       = 200
	MinShopConverters = 10
)

// ErrTooLittleData means the experiment data cannot support a model yet.
var ErrTooLittleData = errors.New("uplift: too little experiment data")

// ShopTraining is the outcome of one training run.
type ShopTraining struct {
	Learner      string
	Model        []byte // [Marshal]ed model and encoder
	NTrain       int
	NHoldout     int
	Qini         float64
	AUUC         float64
	UpliftAt30   float64
	BaselineQini float64 // the previous model on the same held-out rows; NaN without one
	Activate     bool
	Reason       string
	Segments     map[string]float64 // mean predicted uplift per segment (all rows)
}

// TrainShop fits every candidate learner on a deterministic split of the
// rows (seed), keeps the one with the best held-out Qini, scores the
// previous model (stored bytes, may be nil) on the same held-out rows, and
// activates the new one only when it beats the previous one there. A model
// that does not beat random ordering (Qini ≤ 0) is never activated.
func TrainShop(ctx context.Context, rows []ShopRow, prev []byte, reg *Registry, candidates []string, seed uint64) (*ShopTraining, error) {
	var nt, nc, xt, xc int
	for _, r := range rows {
		if r.Treated {
			nt++
			if r.Converted {
				xt++
			}
		} else {
			nc++
			if r.Converted {
				xc++
			}
		}
	}
	if len(rows) < MinShopRows || xt < MinShopConverters || xc < MinShopConverters || nt-xt < MinShopConverters || nc-xc < MinShopConverters {
		return nil, fmt.Errorf("%w: %d shoppers, %d/%d treated/control converters (need %d shoppers and %d converters and non-converters per arm)",
			ErrTooLittleData, len(rows), xt, xc, MinShopRows, MinShopConverters)
	}
	exp := ShopExperiment(rows)
	train, hold := Split(exp.N(), seed, DefaultHoldout)
	enc := FitEncoder(exp, train)
	Xtr, err := enc.Transform(exp, train)
	if err != nil {
		return nil, err
	}
	Xho, err := enc.Transform(exp, hold)
	if err != nil {
		return nil, err
	}
	ytr, ttr := pick(exp.Y, train), pick(exp.T, train)
	yho, tho := pick(exp.Y, hold), pick(exp.T, hold)
	sc := newScorer(yho, tho)
	out := &ShopTraining{NTrain: len(train), NHoldout: len(hold), Qini: math.Inf(-1), BaselineQini: math.NaN()}
	var best Model
	for _, name := range candidates {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		m, err := reg.New(name, seed)
		if err != nil {
			return nil, err
		}
		if err := m.Fit(Xtr, ttr, ytr); err != nil {
			continue // a learner that cannot fit this data is skipped
		}
		q, auuc, up := sc.all(m.Uplift(Xho))
		if q > out.Qini || best == nil {
			best, out.Learner, out.Qini, out.AUUC, out.UpliftAt30 = m, name, q, auuc, up
		}
	}
	if best == nil {
		return nil, errors.New("uplift: no candidate learner could be fitted")
	}
	if out.Model, err = Marshal(best, enc); err != nil {
		return nil, err
	}
	if len(prev) > 0 {
		if pm, penc, err := reg.Unmarshal(prev); err == nil && penc != nil {
			if Xp, err := penc.Transform(exp, hold); err == nil {
				out.BaselineQini, _, _ = sc.all(pm.Uplift(Xp))
			}
		}
	}
	switch {
	case !(out.Qini > 0):
		out.Reason = fmt.Sprintf("held-out Qini %.4f does not beat random targeting", out.Qini)
	case math.IsNaN(out.BaselineQini):
		out.Activate, out.Reason = true, fmt.Sprintf("first model: held-out Qini %.4f", out.Qini)
	case out.Qini > out.BaselineQini:
		out.Activate, out.Reason = true, fmt.Sprintf("held-out Qini %.4f beats the active model's %.4f", out.Qini, out.BaselineQini)
	default:
		out.Reason = fmt.Sprintf("held-out Qini %.4f does not beat the active model's %.4f; keeping it", out.Qini, out.BaselineQini)
	}
	// Mean predicted uplift per segment, over every row, with the chosen model.
	Xall, err := enc.Transform(exp, seq(exp.N()))
	if err != nil {
		return nil, err
	}
	u := best.Uplift(Xall)
	sum, cnt := map[string]float64{}, map[string]float64{}
	for i, r := range rows {
		sum[r.Segment] += u[i]
		cnt[r.Segment]++
	}
	out.Segments = make(map[string]float64, len(sum))
	keys := make([]string, 0, len(sum))
	for k := range sum {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		out.Segments[k] = sum[k] / cnt[k]
	}
	return out, nil
}

func seq(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out
}
