package experiment

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
)

// Level is one discount level (arm) of a campaign as observed in one
// segment: its treated shoppers and the control shoppers of the same
// segment, the average discount given per order and the average order value.
type Level struct {
	Label                 string // e.g. "15%" or "5.00 off"
	CampaignID            int64
	Treated, Control      Arm
	DiscountPerOrderMinor float64
	AOVMinor              float64
	// ModelUplift, when set, is the mean uplift the shop's active uplift
	// model predicts for the segment at this level; it replaces the arm
	// difference as the uplift estimate (the arm data still drive the
	// bandit). ModelNote names the model for the reason.
	ModelUplift *float64
	ModelNote   string
}

// Segment is a group of shoppers the recommendation treats alike.
type Segment struct {
	Name      string
	Channel   string
	When      string // best time to reach it (e.g. "evening"), or "any time"
	Customers int64  // shoppers seen in the segment (the audience size)
	Levels    []Level
}

// Recommendation is one line of advice: give Arm (or nothing, "none") to
// the segment through Channel at When.
type Recommendation struct {
	Segment        string
	Customers      int64
	Arm            string
	CampaignID     int64
	Channel        string
	When           string
	ExpectedUplift float64 // conversion-rate uplift per shopper
	ExpectedProfit float64 // minor units over the segment
	// Share is the traffic share Thompson sampling gives the arm (the
	// probability it is the most profitable); Retired arms get none.
	Share   map[string]float64
	Retired []string
	Reason  string
}

// posterior is Beta(a, b) of a conversion rate: the arm's counts on top of
// a weak prior centred on the pooled rate (10 pseudo-shoppers).
func posterior(a Arm, pooled float64) (alpha, beta float64) {
	return 1 + 10*pooled + float64(a.Converters), 1 + 10*(1-pooled) + float64(a.Shoppers-a.Converters)
}

func profitPerShopper(pt, pc float64, l Level, margin float64) float64 {
	return (pt-pc)*l.AOVMinor*margin - pt*l.DiscountPerOrderMinor
}

// Thompson draws rounds samples of every level's profit per shopper from
// the Beta posteriors of its treated and control rates and returns, per
// level, the share of rounds in which it was the most profitable and the
// probability that it loses money.
func Thompson(levels []Level, margin float64, rounds int, rng *rand.Rand) (best, losing []float64) {
	best, losing = make([]float64, len(levels)), make([]float64, len(levels))
	if len(levels) == 0 || rounds <= 0 {
		return
	}
	ps := make([]levelPosterior, len(levels))
	for i, l := range levels {
		ps[i] = newLevelPosterior(l, rng)
	}
	for range rounds {
		bi, bv := -1, math.Inf(-1)
		for i, l := range levels {
			v := profitPerShopper(ps[i].t.Rand(), ps[i].c.Rand(), l, margin)
			if v < 0 {
				losing[i]++
			}
			if v > bv {
				bi, bv = i, v
			}
		}
		best[bi]++
	}
	for i := range best {
		best[i] /= float64(rounds)
		losing[i] /= float64(rounds)
	}
	return best, losing
}

// RetireAt is the posterior probability of losing money above which an arm
// with at least RetireMinShoppers treated shoppers is retired.
const (
	RetireAt          = 0.95
	RetireMinShoppers = 200
)

// Recommend ranks, for every segment, the most profitable discount level by
// expected profit (uplift × margin on the order value − discount cost on
// every treated order, converted or not by the discount), with Thompson
// sampling shares for continued exploration. margin is the gross margin
// share of revenue (0..1). A segment where no level pays for itself gets
// Arm "none".
func Recommend(segs []Segment, margin float64, rng *rand.Rand) []Recommendation {
	out := make([]Recommendation, 0, len(segs))
	for _, s := range segs {
		rec := Recommendation{Segment: s.Name, Customers: s.Customers, Channel: s.Channel, When: s.When, Arm: "none", Share: map[string]float64{}}
		if len(s.Levels) == 0 {
			rec.Reason = "no experiment data in this segment yet"
			out = append(out, rec)
			continue
		}
		best, losing := Thompson(s.Levels, margin, 2000, rng)
		bi, bv, bu := -1, math.Inf(-1), 0.0
		for i, l := range s.Levels {
			lp := newLevelPosterior(l, nil) // the posteriors Thompson drew from
			pt, pc := lp.t.Mean(), lp.c.Mean()
			if l.ModelUplift != nil {
				pc = pt - *l.ModelUplift
			}
			if losing[i] > RetireAt && l.Treated.Shoppers >= RetireMinShoppers {
				rec.Retired = append(rec.Retired, l.Label)
				continue
			}
			rec.Share[l.Label] = best[i]
			if v := profitPerShopper(pt, pc, l, margin); v > bv {
				bi, bv, bu = i, v, pt-pc
			}
		}
		switch {
		case bi < 0:
			rec.Reason = fmt.Sprintf("every level loses money with %.0f%% posterior probability or more: retired %v", 100*RetireAt, rec.Retired)
		case bv <= 0:
			rec.ExpectedUplift = bu
			rec.ExpectedProfit = bv * float64(s.Customers)
			rec.Reason = fmt.Sprintf("no discount: the best level (%s) would lift conversion by %.2f points but its discount on orders that happen anyway costs more than the extra margin", s.Levels[bi].Label, 100*bu)
		default:
			l := s.Levels[bi]
			rec.Arm, rec.CampaignID = l.Label, l.CampaignID
			rec.ExpectedUplift = bu
			rec.ExpectedProfit = bv * float64(s.Customers)
			src := fmt.Sprintf("holdout data (%d treated, %d control shoppers)", l.Treated.Shoppers, l.Control.Shoppers)
			if l.ModelUplift != nil {
				src = l.ModelNote
			}
			rec.Reason = fmt.Sprintf("%s lifts conversion by %.2f points (%s); profit per shopper %.0f minor units after the discount; Thompson sampling keeps %.0f%% of traffic on it", l.Label, 100*bu, src, bv, 100*best[bi])
		}
		if len(rec.Retired) > 0 && bi >= 0 {
			rec.Reason += fmt.Sprintf("; retired (losing money with ≥ %.0f%% probability): %v", 100*RetireAt, rec.Retired)
		}
		out = append(out, rec)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].ExpectedProfit > out[j].ExpectedProfit })
	return out
}
