package fraud

import (
	"math"
	"net/netip"
	"slices"
	"sort"
	"time"
)

// Tracker keeps the running history of one shop in memory and computes
// [Aggregates] from it. It is the reference definition of every aggregate:
// the store computes the same numbers with SQL, the simulator uses Tracker.
// Events must be fed in time order; a Tracker is not safe for concurrent use.
//
// It only ever sees what a store sees — clicks, orders, refunds — never a
// verdict or a label.
type Tracker struct {
	// Window is the aggregation window (24h by default).
	Window time.Duration
	// BaselineSpan is how much history before the window the baseline rates
	// are computed from (14 days by default).
	BaselineSpan time.Duration

	clicksByIP  map[netip.Addr][]time.Time
	clickOrders map[string][]shopper
	codes       map[string]*series
	partners    map[string]*series
	prefixes    map[netip.Prefix][]time.Time
	refunds     map[string]refundCount // by partner
	orderOwner  map[string]string      // order id -> partner id ("" for none)
	refunded    map[string]bool
	shop        refundCount
}

type shopper struct{ customer, email string }

type refundCount struct{ orders, refunded int }

type redemption struct {
	at      time.Time
	ip      netip.Addr
	device  string
	country string
	cold    bool
}

type series struct {
	r            []redemption
	coldBefore   []int // coldBefore[i]: cold redemptions among r[:i]
	firstCountry map[string]time.Time
	countryN     map[string]int
}

// NewTracker returns an empty tracker with a 24h window and a 14-day
// baseline.
func NewTracker() *Tracker {
	return &Tracker{
		Window:       24 * time.Hour,
		BaselineSpan: 14 * 24 * time.Hour,
		clicksByIP:   map[netip.Addr][]time.Time{},
		clickOrders:  map[string][]shopper{},
		codes:        map[string]*series{},
		partners:     map[string]*series{},
		prefixes:     map[netip.Prefix][]time.Time{},
		refunds:      map[string]refundCount{},
		orderOwner:   map[string]string{},
		refunded:     map[string]bool{},
	}
}

// ObserveClick records a SmartLink click.
func (t *Tracker) ObserveClick(c Click) {
	t.clicksByIP[c.IP] = append(t.clicksByIP[c.IP], c.At)
}

// Aggregates computes the aggregates for in as of in.Order.At, from what was
// observed before it. Call it before ObserveOrder(in).
func (t *Tracker) Aggregates(in *Inputs) Aggregates {
	at := in.Order.At
	start := at.Add(-t.Window)
	ag := Aggregates{Window: t.Window}

	for _, c := range in.Clicks {
		ts := t.clicksByIP[c.IP]
		lo := sort.Search(len(ts), func(i int) bool { return !ts[i].Before(c.At.Add(-time.Hour)) })
		hi := sort.Search(len(ts), func(i int) bool { return ts[i].After(c.At) })
		ag.ClickIPClicks = max(ag.ClickIPClicks, hi-lo)
	}
	ag.ClickIDPriorSame, ag.ClickIDPriorOthers = t.ClickIDPrior(in)
	cur := &redemption{at: at, ip: in.Order.IP, device: in.Order.Device, country: in.Order.Country, cold: in.Cold()}
	t.windowed(in, &ag, start, at.Add(time.Nanosecond), cur)
	if in.Code != nil {
		ag.CodePriorRedemptions = t.codes[in.Code.Code].len()
	}
	ag.Refunds = t.RefundStats(in)
	return ag
}

// ClickIDPrior counts the observed orders that carried in's click id: by the
// same shopper, and by others.
func (t *Tracker) ClickIDPrior(in *Inputs) (same, others int) {
	if id := in.Order.ClickID; id != "" {
		for _, s := range t.clickOrders[id] {
			if sm, known := sameShopper(s.customer, s.email, in.Order.CustomerID, in.Order.Email); known && sm {
				same++
			} else {
				others++
			}
		}
	}
	return same, others
}

// Review recomputes the aggregates of an order that was observed earlier,
// as a re-score at asOf (typically when its hold ends) sees them: with
// hindsight, the code, partner and address-block counts cover the window
// centred on the order, [At − Window/2, At + Window/2] (clipped at asOf),
// so the first redemptions of a leak are judged with the burst that
// followed them; history is still what came before that window. Refund
// counts are as of asOf. Click-trail counts keep their order-time values.
func (t *Tracker) Review(in *Inputs, asOf time.Time) Aggregates {
	ag := in.Agg
	ag.Window = t.Window
	end := in.Order.At.Add(t.Window / 2)
	if asOf.Before(end) {
		end = asOf
	}
	end = end.Add(time.Nanosecond) // the window includes its end
	t.windowed(in, &ag, end.Add(-t.Window), end, nil)
	ag.Refunds = t.RefundStats(in)
	return ag
}

// windowed fills the window counts over [start, end). cur is the order
// being scored when it has not been observed yet, nil when it has.
func (t *Tracker) windowed(in *Inputs, ag *Aggregates, start, end time.Time, cur *redemption) {
	if p := prefixOf(in.Order.IP); p.IsValid() {
		ts := t.prefixes[p]
		lo := sort.Search(len(ts), func(i int) bool { return !ts[i].Before(start) })
		hi := sort.Search(len(ts), func(i int) bool { return !ts[i].Before(end) })
		ag.PrefixOrders = hi - lo
		if cur != nil {
			ag.PrefixOrders++
		}
	}
	if in.Code != nil {
		s := t.codes[in.Code.Code]
		ag.CodeRate = s.rate(start, end, t.BaselineSpan, cur)
		ag.CodeSpread = s.spread(start, end, t.BaselineSpan, cur)
	}
	if in.Partner != nil {
		s := t.partners[in.Partner.ID]
		ag.PartnerRate = s.rate(start, end, t.BaselineSpan, cur)
		ag.PartnerCold = s.cold(start, end, t.BaselineSpan, cur)
	}
}

// RefundStats returns the refund counts for in's partner and the shop as
// observed so far. Re-scoring a held conversion uses it to refresh
// Aggregates.Refunds.
func (t *Tracker) RefundStats(in *Inputs) RefundStats {
	rs := RefundStats{ShopOrders: t.shop.orders, ShopRefunded: t.shop.refunded}
	if in.Partner != nil {
		c := t.refunds[in.Partner.ID]
		rs.PartnerOrders, rs.PartnerRefunded = c.orders, c.refunded
	}
	return rs
}

// ObserveOrder records a completed order.
func (t *Tracker) ObserveOrder(in *Inputs) {
	o := in.Order
	r := redemption{at: o.At, ip: o.IP, device: o.Device, country: o.Country, cold: in.Cold()}
	if in.Code != nil {
		t.codes[in.Code.Code] = t.codes[in.Code.Code].add(r)
	}
	pid := ""
	if in.Partner != nil {
		pid = in.Partner.ID
		t.partners[pid] = t.partners[pid].add(r)
		c := t.refunds[pid]
		c.orders++
		t.refunds[pid] = c
	}
	t.orderOwner[o.ID] = pid
	t.shop.orders++
	if o.ClickID != "" {
		t.clickOrders[o.ClickID] = append(t.clickOrders[o.ClickID], shopper{o.CustomerID, o.Email})
	}
	if p := prefixOf(o.IP); p.IsValid() {
		t.prefixes[p] = append(t.prefixes[p], o.At)
	}
}

// ObserveRefund records that an order was refunded (in full or in part; a
// second refund of the same order is not counted again).
func (t *Tracker) ObserveRefund(orderID string) {
	pid, ok := t.orderOwner[orderID]
	if !ok || t.refunded[orderID] {
		return
	}
	t.refunded[orderID] = true
	t.shop.refunded++
	if pid != "" {
		c := t.refunds[pid]
		c.refunded++
		t.refunds[pid] = c
	}
}

func (s *series) len() int {
	if s == nil {
		return 0
	}
	return len(s.r)
}

func (s *series) add(r redemption) *series {
	if s == nil {
		s = &series{firstCountry: map[string]time.Time{}, countryN: map[string]int{}, coldBefore: []int{0}}
	}
	s.r = append(s.r, r)
	c := s.coldBefore[len(s.coldBefore)-1]
	if r.cold {
		c++
	}
	s.coldBefore = append(s.coldBefore, c)
	s.countryN[r.country]++
	if _, ok := s.firstCountry[r.country]; !ok && r.country != "" {
		s.firstCountry[r.country] = r.at
	}
	return s
}

// from returns the index of the first redemption at or after t.
func (s *series) from(t time.Time) int {
	return sort.Search(len(s.r), func(i int) bool { return !s.r[i].at.Before(t) })
}

// baseline pools the whole days before start (up to span, and no further
// back than the first redemption) into the subject's typical day: days with
// more than max(3 × median, median + 5) redemptions, or cold redemptions —
// a post going viral, or the leak being measured — are left out, so that
// yesterday's burst does not become today's normal. It returns the pooled
// redemptions and cold redemptions and the number of days they cover; with
// less than one day of history it returns zeros.
func (s *series) baseline(start time.Time, span time.Duration) (total, cold int, days float64) {
	return pooled(s.typicalDays(start, span))
}

// pooled sums the kept days.
func pooled(ds []day, keep []bool) (total, cold int, days float64) {
	for k, d := range ds {
		if keep[k] {
			total += d.total
			cold += d.cold
			days++
		}
	}
	return total, cold, days
}

// typicalCountries counts redemptions per country over the same typical
// days as baseline.
func (s *series) typicalCountries(start time.Time, span time.Duration) (map[string]int, int) {
	ds, keep := s.typicalDays(start, span)
	nd := len(ds)
	counts, n := map[string]int{}, 0
	if nd == 0 {
		return counts, 0
	}
	for i := s.from(start.Add(-time.Duration(nd) * 24 * time.Hour)); i < len(s.r) && s.r[i].at.Before(start); i++ {
		if k := min(int(start.Sub(s.r[i].at)/(24*time.Hour)), nd-1); keep[k] {
			counts[s.r[i].country]++
			n++
		}
	}
	return counts, n
}

type day struct{ total, cold int }

// typicalDays buckets the whole days before start (index 0 = the day just
// before start) and marks the days that are not bursts.
func (s *series) typicalDays(start time.Time, span time.Duration) ([]day, []bool) {
	if s == nil || len(s.r) == 0 || start.Sub(s.r[0].at) < 24*time.Hour {
		return nil, nil
	}
	nd := min(dayCount(start, s.r[0].at), int(span/(24*time.Hour)))
	ds := make([]day, nd)
	for i := s.from(start.Add(-time.Duration(nd) * 24 * time.Hour)); i < len(s.r) && s.r[i].at.Before(start); i++ {
		k := min(int(start.Sub(s.r[i].at)/(24*time.Hour)), nd-1)
		ds[k].total++
		if s.r[i].cold {
			ds[k].cold++
		}
	}
	return ds, keepDays(ds)
}

// dayCount is the number of (partial) days from first to start.
func dayCount(start, first time.Time) int {
	return int(math.Ceil(start.Sub(first).Hours() / 24))
}

// keepDays marks the days that are not bursts: at most max(3 × median,
// median + 5) redemptions and cold redemptions.
func keepDays(ds []day) []bool {
	nd := len(ds)
	limit := func(f func(day) int) float64 {
		counts := make([]int, nd)
		for i, d := range ds {
			counts[i] = f(d)
		}
		slices.Sort(counts)
		med := float64(counts[nd/2])
		if nd%2 == 0 {
			med = float64(counts[nd/2-1]+counts[nd/2]) / 2
		}
		return math.Max(3*med, med+5)
	}
	totalLimit := limit(func(d day) int { return d.total })
	coldLimit := limit(func(d day) int { return d.cold })
	keep := make([]bool, nd)
	for k, d := range ds {
		keep[k] = float64(d.total) <= totalLimit && float64(d.cold) <= coldLimit
	}
	return keep
}

// rate counts [start, end) (plus cur) against the baseline.
func (s *series) rate(start, end time.Time, span time.Duration, cur *redemption) Rate {
	var r Rate
	if cur != nil {
		r.Count = 1
	}
	if s == nil {
		return r
	}
	r.Count += s.from(end) - s.from(start)
	if total, _, days := s.baseline(start, span); days > 0 {
		r.BaselinePerDay = float64(total) / days
	}
	return r
}

func (s *series) spread(start, end time.Time, span time.Duration, cur *redemption) Spread {
	var win []redemption
	if cur != nil {
		win = append(win, *cur)
	}
	var sp Spread
	if s != nil && len(s.r) > 0 {
		win = append(win, s.r[s.from(start):s.from(end)]...)
		if first := s.r[0].at; first.Before(start) {
			sp.HistoryDays = start.Sub(first).Hours() / 24
		}
	}
	sp.WindowRedemptions = len(win)
	var ips []netip.Addr
	var devs, cs []string
	for _, r := range win {
		ips = append(ips, r.ip)
		devs = append(devs, r.device)
		cs = append(cs, r.country)
	}
	sp.IPs, sp.Devices, sp.Countries = distinct(ips), distinct(devs), distinct(cs)
	hist, n := s.typicalCountries(start, span)
	sp.HistRedemptions = n
	for c, k := range hist {
		if c != "" && k == 1 {
			sp.HistSingletons++
		}
	}
	slices.Sort(cs)
	for _, c := range slices.Compact(cs) {
		if c != "" && hist[c] == 0 {
			sp.NewCountries++
		}
	}
	return sp
}

func (s *series) cold(start, end time.Time, span time.Duration, cur *redemption) ColdStats {
	var cs ColdStats
	if cur != nil {
		cs.WindowTotal = 1
		if cur.cold {
			cs.WindowCold = 1
		}
	}
	if s != nil {
		w, e := s.from(start), s.from(end)
		cs.HistTotal, cs.HistCold, _ = s.baseline(start, span)
		cs.WindowTotal += e - w
		cs.WindowCold += s.coldBefore[e] - s.coldBefore[w]
	}
	return cs
}

func distinct[T comparable](xs []T) int {
	seen := make(map[T]struct{}, len(xs))
	var zero T
	for _, x := range xs {
		if x != zero {
			seen[x] = struct{}{}
		}
	}
	return len(seen)
}
