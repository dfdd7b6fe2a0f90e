package fraud

import (
	"slices"
	"time"
)

// History is one subject's redemptions (a code's or a partner's) around an
// order, as a database counts them: grouped, never replayed one by one. It
// is what [Tracker] keeps in memory, reduced to what the aggregates read,
// so its size does not grow with the subject's volume: a partner with
// 50,000 orders a day costs as much to score as one with five.
type History struct {
	// First is the oldest redemption observed (zero: none). It decides how
	// many whole days of baseline there are.
	First time.Time
	// Days groups the redemptions before the window start.
	Days []DayGroup
	// Window summarises the redemptions inside the window.
	Window WindowGroup
}

// DayGroup counts the redemptions K whole days before the window start (0:
// the 24 hours just before it) with one country and cold flag. Edge marks
// redemptions exactly K days before it, which belong to day K−1.
type DayGroup struct {
	K       int
	Edge    bool
	Country string
	Cold    bool
	N       int
}

// WindowGroup summarises the redemptions inside the window.
type WindowGroup struct {
	N, Cold int
	// IPs and Devices count distinct non-empty values; HasIP and HasDevice
	// say whether the order's own address and device are among them.
	IPs, Devices     int
	HasIP, HasDevice bool
	// Countries lists the distinct non-empty countries.
	Countries []string
}

// Summary is what the aggregates of one order read from the shop's
// history: the window [Start, End), the code's and the partner's history
// and the orders from the order's address block in the window.
type Summary struct {
	Start, End time.Time
	Code       History
	Partner    History
	// CodeObserved counts the code's redemptions observed before the order
	// (Aggregates.CodePriorRedemptions).
	CodeObserved int
	// PrefixOrders counts the other orders from the order's /24 or /48 in
	// the window.
	PrefixOrders int
}

// WindowAggregates fills the window counts of ag (rates, spread, cold
// share, address block) for in from s, exactly as [Tracker] computes them
// from the same history: span is Tracker.BaselineSpan, and cur says whether
// the order itself is counted in the window (always when scoring it; on a
// re-score, when it falls inside the window). s excludes the order.
func WindowAggregates(in *Inputs, s Summary, span time.Duration, cur bool, ag *Aggregates) {
	var r *redemption
	if cur {
		r = &redemption{at: in.Order.At, ip: in.Order.IP, device: in.Order.Device, country: in.Order.Country, cold: in.Cold()}
	}
	if p := prefixOf(in.Order.IP); p.IsValid() {
		ag.PrefixOrders = s.PrefixOrders
		if r != nil {
			ag.PrefixOrders++
		}
	}
	if in.Code != nil {
		h := &s.Code
		ag.CodeRate = h.rate(s.Start, span, r)
		ag.CodeSpread = h.spread(s.Start, span, r)
	}
	if in.Partner != nil {
		h := &s.Partner
		ag.PartnerRate = h.rate(s.Start, span, r)
		ag.PartnerCold = h.cold(s.Start, span, r)
	}
}

// typicalDays buckets the whole days before start like series.typicalDays.
func (h *History) typicalDays(start time.Time, span time.Duration) ([]day, []bool) {
	if h.First.IsZero() || start.Sub(h.First) < 24*time.Hour {
		return nil, nil
	}
	nd := min(dayCount(start, h.First), int(span/(24*time.Hour)))
	ds := make([]day, nd)
	for _, g := range h.Days {
		if g.K >= nd && (g.K != nd || !g.Edge) {
			continue // before the first counted day
		}
		k := min(g.K, nd-1)
		ds[k].total += g.N
		if g.Cold {
			ds[k].cold += g.N
		}
	}
	return ds, keepDays(ds)
}

func (h *History) baseline(start time.Time, span time.Duration) (total, cold int, days float64) {
	return pooled(h.typicalDays(start, span))
}

func (h *History) rate(start time.Time, span time.Duration, cur *redemption) Rate {
	r := Rate{Count: h.Window.N}
	if cur != nil {
		r.Count++
	}
	if total, _, days := h.baseline(start, span); days > 0 {
		r.BaselinePerDay = float64(total) / days
	}
	return r
}

func (h *History) cold(start time.Time, span time.Duration, cur *redemption) ColdStats {
	cs := ColdStats{WindowTotal: h.Window.N, WindowCold: h.Window.Cold}
	if cur != nil {
		cs.WindowTotal++
		if cur.cold {
			cs.WindowCold++
		}
	}
	cs.HistTotal, cs.HistCold, _ = h.baseline(start, span)
	return cs
}

func (h *History) spread(start time.Time, span time.Duration, cur *redemption) Spread {
	w := h.Window
	sp := Spread{WindowRedemptions: w.N, IPs: w.IPs, Devices: w.Devices}
	cs := slices.Clone(w.Countries)
	if cur != nil {
		sp.WindowRedemptions++
		if cur.ip.IsValid() && !w.HasIP {
			sp.IPs++
		}
		if cur.device != "" && !w.HasDevice {
			sp.Devices++
		}
		if cur.country != "" && !slices.Contains(cs, cur.country) {
			cs = append(cs, cur.country)
		}
	}
	sp.Countries = len(cs)
	if !h.First.IsZero() && h.First.Before(start) {
		sp.HistoryDays = start.Sub(h.First).Hours() / 24
	}
	ds, keep := h.typicalDays(start, span)
	hist := map[string]int{}
	if nd := len(ds); nd > 0 {
		for _, g := range h.Days {
			if g.K >= nd && (g.K != nd || !g.Edge) {
				continue
			}
			if keep[min(g.K, nd-1)] {
				hist[g.Country] += g.N
				sp.HistRedemptions += g.N
			}
		}
	}
	for c, k := range hist {
		if c != "" && k == 1 {
			sp.HistSingletons++
		}
	}
	for _, c := range cs {
		if hist[c] == 0 {
			sp.NewCountries++
		}
	}
	return sp
}

// Redemption is one stored redemption of a subject as the store reads it
// back.
type Redemption struct {
	At      time.Time
	IP      string // "" when unknown
	Device  string
	Country string
	Cold    bool
}

// daysBack is how far before the window start a History reaches: the
// baseline's longest span plus the day a redemption exactly on its edge
// belongs to.
const daysBack = 15 * 24 * time.Hour

// HistoryOf summarises rs — every redemption of the subject the order may
// see (those before it when scoring it; all but its own on a re-score) —
// for the window [start, end): exactly what [Tracker] would have observed.
// curIP and curDevice are the order's own.
func HistoryOf(rs []Redemption, start, end time.Time, curIP, curDevice string) History {
	var h History
	days := map[DayGroup]int{}
	ips, devs, cs := map[string]bool{}, map[string]bool{}, map[string]bool{}
	for i := range rs {
		r := &rs[i]
		if h.First.IsZero() || r.At.Before(h.First) {
			h.First = r.At
		}
		switch at := r.At; {
		case at.Before(start) && !at.Before(start.Add(-daysBack)):
			d := start.Sub(at)
			days[DayGroup{K: int(d / (24 * time.Hour)), Edge: d%(24*time.Hour) == 0, Country: r.Country, Cold: r.Cold}]++
		case !at.Before(start) && at.Before(end):
			h.Window.N++
			if r.Cold {
				h.Window.Cold++
			}
			if r.IP != "" {
				ips[r.IP] = true
			}
			if r.Device != "" {
				devs[r.Device] = true
			}
			if r.Country != "" {
				cs[r.Country] = true
			}
		}
	}
	for g, n := range days {
		g.N = n
		h.Days = append(h.Days, g)
	}
	h.Window.IPs, h.Window.Devices = len(ips), len(devs)
	h.Window.HasIP = curIP != "" && ips[curIP]
	h.Window.HasDevice = curDevice != "" && devs[curDevice]
	for c := range cs {
		h.Window.Countries = append(h.Window.Countries, c)
	}
	slices.Sort(h.Window.Countries)
	return h
}

// HourCount is the number of a subject's redemptions in one clock hour
// with one country and cold flag.
type HourCount struct {
	Hour    time.Time
	Country string
	Cold    bool
	N       int
}

// HistoryFromHours summarises a busy subject from its hourly counts, for
// the window [start, end): each hour counts where its middle falls, so the
// window and the baseline days are exact to within half an hour at their
// edges (out of 24 hours and 14 days), and the cost does not depend on the
// subject's volume. The distinct addresses and devices in the window come
// from sample, the newest of its redemptions there, so they are lower
// bounds; every signal reading them saturates at a handful.
func HistoryFromHours(hs []HourCount, start, end time.Time, sample []Redemption, curIP, curDevice string) History {
	var h History
	days := map[DayGroup]int{}
	cs := map[string]bool{}
	for _, c := range hs {
		if c.N <= 0 {
			continue
		}
		mid := c.Hour.Add(30 * time.Minute)
		if h.First.IsZero() || mid.Before(h.First) {
			h.First = mid
		}
		switch {
		case mid.Before(start) && !mid.Before(start.Add(-daysBack)):
			d := start.Sub(mid)
			days[DayGroup{K: int(d / (24 * time.Hour)), Edge: d%(24*time.Hour) == 0, Country: c.Country, Cold: c.Cold}] += c.N
		case !mid.Before(start) && c.Hour.Before(end):
			h.Window.N += c.N
			if c.Cold {
				h.Window.Cold += c.N
			}
			if c.Country != "" {
				cs[c.Country] = true
			}
		}
	}
	for g, n := range days {
		g.N = n
		h.Days = append(h.Days, g)
	}
	for c := range cs {
		h.Window.Countries = append(h.Window.Countries, c)
	}
	slices.Sort(h.Window.Countries)
	w := HistoryOf(sample, start, end, curIP, curDevice).Window
	h.Window.IPs, h.Window.Devices, h.Window.HasIP, h.Window.HasDevice = w.IPs, w.Devices, w.HasIP, w.HasDevice
	return h
}
