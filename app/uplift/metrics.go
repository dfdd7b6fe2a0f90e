package uplift

import (
	"cmp"
	"math"
	"slices"
)

// MetricConvention names the definitions the metrics follow. Uplift metrics
// from other libraries (CausalML, pylift, the Criteo benchmark) use other
// definitions; never compare numbers across conventions.
const MetricConvention = "scikit-uplift 0.5"

// All metric functions take (y, score, t) in scikit-uplift's argument order:
// outcomes, predicted uplift (finite), treatment flags (1 treated, 0 control).

// descOrder is scikit-uplift's order: a stable ascending sort by score,
// reversed, so among equal scores later rows come first.
func descOrder(score []float64) []int {
	idx := make([]int, len(score))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int { return cmp.Compare(score[a], score[b]) })
	for i, j := 0, len(idx)-1; i < j; i, j = i+1, j-1 {
		idx[i], idx[j] = idx[j], idx[i]
	}
	return idx
}

// curve returns the points of a Qini (qini = true) or uplift curve: (0, 0)
// followed by one point per run of equal scores, at the run's last row.
func curve(y, score []float64, t []int, qini bool) (xs, vs []float64) {
	return curveOrdered(y, score, t, descOrder(score), qini)
}

// curveOrdered is curve with the order already computed.
func curveOrdered(y, score []float64, t []int, order []int, qini bool) (xs, vs []float64) {
	xs = append(make([]float64, 0, 64), 0)
	vs = append(make([]float64, 0, 64), 0)
	var nt, nc, yt, yc float64
	for k, i := range order {
		if t[i] == 1 {
			nt++
			yt += y[i]
		} else {
			nc++
			yc += y[i]
		}
		if k+1 < len(order) && score[order[k+1]] == score[i] {
			continue
		}
		n := float64(k + 1)
		var v float64
		if qini {
			v = yt
			if nc != 0 {
				v -= yc * (nt / nc)
			}
		} else {
			var rt, rc float64
			if nt != 0 {
				rt = yt / nt
			}
			if nc != 0 {
				rc = yc / nc
			}
			v = (rt - rc) * n
		}
		xs = append(xs, n)
		vs = append(vs, v)
	}
	return xs, vs
}

// QiniCurve is sklift.metrics.qini_curve: Q(k) = Yt(k) − Yc(k)·Nt(k)/Nc(k)
// (ratio 0 when Nc(k) = 0) over the count k of top-scored rows.
func QiniCurve(y, score []float64, t []int) (k, q []float64) { return curve(y, score, t, true) }

// UpliftCurve is sklift.metrics.uplift_curve: U(k) = (Yt/Nt − Yc/Nc)·k (each
// ratio 0 when its denominator is 0).
func UpliftCurve(y, score []float64, t []int) (k, u []float64) { return curve(y, score, t, false) }

// trapezoid is the area under (x, y) by the trapezoid rule.
func trapezoid(x, y []float64) float64 {
	var a float64
	for i := 1; i < len(x); i++ {
		a += (x[i] - x[i-1]) * (y[i] + y[i-1]) / 2
	}
	return a
}

// perfectQiniScore is sklift's oracle for the Qini curve: treated responders
// first, control responders last (negative_effect=True).
func perfectQiniScore(y []float64, t []int) []float64 {
	s := make([]float64, len(y))
	for i := range y {
		s[i] = y[i]*float64(t[i]) - y[i]*float64(1-t[i])
	}
	return s
}

// perfectUpliftScore is sklift's oracle for the uplift curve:
// 2·[y = t] + (y if control responders > treated non-responders else t).
func perfectUpliftScore(y []float64, t []int) []float64 {
	var cr, tn int
	for i := range y {
		if y[i] == 1 && t[i] == 0 {
			cr++
		}
		if y[i] == 0 && t[i] == 1 {
			tn++
		}
	}
	s := make([]float64, len(y))
	for i := range y {
		if y[i] == float64(t[i]) {
			s[i] = 2
		}
		if cr > tn {
			s[i] += y[i]
		} else {
			s[i] += float64(t[i])
		}
	}
	return s
}

// scorer evaluates many scorings of one holdout, computing the oracle and
// baseline areas once.
type scorer struct {
	y []float64
	t []int
	// base and perf are the random (chord) and perfect areas of the Qini
	// (index 0) and uplift (index 1) curves.
	base, perf [2]float64
}

func newScorer(y []float64, t []int) *scorer {
	s := &scorer{y: y, t: t}
	for c, oracle := range [2][]float64{perfectQiniScore(y, t), perfectUpliftScore(y, t)} {
		x, v := curve(y, oracle, t, c == 0)
		s.base[c] = trapezoid([]float64{0, x[len(x)-1]}, []float64{0, v[len(v)-1]})
		s.perf[c] = trapezoid(x, v) - s.base[c]
	}
	return s
}

func (s *scorer) normalised(score []float64, c int) float64 {
	return s.normalisedOrdered(score, descOrder(score), c)
}

func (s *scorer) normalisedOrdered(score []float64, order []int, c int) float64 {
	x, v := curveOrdered(s.y, score, s.t, order, c == 0)
	return (trapezoid(x, v) - s.base[c]) / s.perf[c]
}

// all returns the Qini coefficient, normalised AUUC and uplift@TopFraction
// of one scoring, sorting it once.
func (s *scorer) all(score []float64) (qini, auuc, upliftAt float64) {
	order := descOrder(score)
	return s.normalisedOrdered(score, order, 0), s.normalisedOrdered(score, order, 1),
		upliftAtOrdered(s.y, s.t, order, TopFraction)
}

// QiniCoefficient is sklift.metrics.qini_auc_score (negative_effect=True):
// (AUC_model − AUC_random)/(AUC_perfect − AUC_random) of the Qini curve, the
// random curve being the chord from (0, 0) to the curve's end.
func QiniCoefficient(y, score []float64, t []int) float64 {
	return newScorer(y, t).normalised(score, 0)
}

// NormalizedAUUC is sklift.metrics.uplift_auc_score: the same normalisation
// applied to the uplift curve.
func NormalizedAUUC(y, score []float64, t []int) float64 {
	return newScorer(y, t).normalised(score, 1)
}

// UpliftAtK is sklift.metrics.uplift_at_k with strategy "overall": among the
// top floor(k·N) rows by score (sklift's order), the mean outcome of the
// treated minus that of the controls. It is NaN when either arm is absent
// from the top rows, as in sklift.
func UpliftAtK(y, score []float64, t []int, k float64) float64 {
	return upliftAtOrdered(y, t, descOrder(score), k)
}

func upliftAtOrdered(y []float64, t []int, order []int, k float64) float64 {
	n := int(k * float64(len(y)))
	var nt, nc, yt, yc float64
	for _, i := range order[:n] {
		if t[i] == 1 {
			nt++
			yt += y[i]
		} else {
			nc++
			yc += y[i]
		}
	}
	if nt == 0 || nc == 0 {
		return math.NaN()
	}
	return yt/nt - yc/nc
}
