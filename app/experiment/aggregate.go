package experiment

import (
	"sort"
	"time"
)

// Obs is one assigned shopper's outcome. Money is minor units.
type Obs struct {
	Arm        string
	AssignedAt time.Time
	Orders     int64
	FirstOrder *time.Time // first order in the window; nil without orders
	Revenue    int64
	Discount   int64
	Cost       int64 // discount plus commission
}

// Aggregate sums the shoppers into the two arms and the cumulative daily
// looks (one at the end of every UTC day from the first assignment to now,
// inclusive) the sequential test reads. A conversion counts at the look of
// the day its first order happened.
func Aggregate(obs []Obs, now time.Time) (t, c Arm, looks []Look) {
	if len(obs) == 0 {
		return
	}
	day := func(x time.Time) time.Time { return x.UTC().Truncate(24 * time.Hour) }
	first := day(obs[0].AssignedAt)
	for _, o := range obs {
		if d := day(o.AssignedAt); d.Before(first) {
			first = d
		}
	}
	last := day(now)
	if last.Before(first) {
		last = first
	}
	nd := int(last.Sub(first)/(24*time.Hour)) + 1
	if nd > 3660 { // ten years of looks is plenty
		first = last.Add(-3659 * 24 * time.Hour)
		nd = 3660
	}
	idx := func(x time.Time) int {
		i := int(day(x).Sub(first) / (24 * time.Hour))
		return min(max(i, 0), nd-1)
	}
	type delta struct{ n1, x1, n0, x0 int64 }
	ds := make([]delta, nd)
	for _, o := range obs {
		a := &t
		if o.Arm == Control {
			a = &c
		}
		a.Shoppers++
		a.Orders += o.Orders
		a.RevenueMinor += o.Revenue
		a.DiscountMinor += o.Discount
		a.CostMinor += o.Cost
		conv := o.Orders > 0
		if conv {
			a.Converters++
		}
		i := idx(o.AssignedAt)
		var j int
		if conv {
			j = i
			if o.FirstOrder != nil {
				j = max(i, idx(*o.FirstOrder))
			}
		}
		if o.Arm == Control {
			ds[i].n0++
			if conv {
				ds[j].x0++
			}
		} else {
			ds[i].n1++
			if conv {
				ds[j].x1++
			}
		}
	}
	looks = make([]Look, nd)
	var l Look
	for i, d := range ds {
		l.TreatedShoppers += d.n1
		l.TreatedConverters += d.x1
		l.ControlShoppers += d.n0
		l.ControlConverters += d.x0
		looks[i] = l
	}
	return t, c, looks
}

// Daypart names the part of the day of an hour (0-23, UTC).
func Daypart(hour int) string {
	switch {
	case hour < 6:
		return "night"
	case hour < 12:
		return "morning"
	case hour < 18:
		return "afternoon"
	default:
		return "evening"
	}
}

// BestDaypart returns the daypart with the highest conversion rate among
// those with at least minN shoppers, or "any time".
func BestDaypart(n, x map[string]int64, minN int64) string {
	keys := make([]string, 0, len(n))
	for k := range n {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	best, br := "any time", -1.0
	for _, k := range keys {
		if n[k] < minN {
			continue
		}
		if r := float64(x[k]) / float64(n[k]); r > br {
			best, br = k, r
		}
	}
	return best
}

// SegmentName is the recommender's segment of a shopper: its channel
// ("direct" when none) and whether it had ordered before the assignment.
// The training job predicts uplift per the same key.
func SegmentName(channel string, priorOrders int64) (name, ch string) {
	ch = channel
	if ch == "" {
		ch = "direct"
	}
	kind := "new"
	if priorOrders > 0 {
		kind = "returning"
	}
	return ch + " · " + kind, ch
}
