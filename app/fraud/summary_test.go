package fraud

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"reflect"
	"testing"
	"time"
)

// randomStream is a shop's orders over 25 days: a few codes and partners
// with quiet days, bursts, cold redemptions, shared address blocks, empty
// fields, equal timestamps and orders exactly on day boundaries. With
// aligned set, every order is at half past an hour.
func randomStream(rng *rand.Rand, n int, aligned bool) []Inputs {
	t0 := time.Date(2026, 10, 1, 0, 30, 0, 0, time.UTC)
	countries := []string{"", "US", "US", "US", "CA", "GB", "DE", "FR", "BR"}
	devices := []string{"", "mobile", "desktop", "tablet"}
	out := make([]Inputs, 0, n)
	at := t0
	for i := range n {
		switch r := rng.IntN(100); {
		case r < 3:
			at = at.Add(time.Duration(rng.IntN(48)) * time.Hour) // quiet stretch
		case r < 10:
			// same timestamp as the previous order
		case r < 15:
			at = at.Add(24*time.Hour - at.Sub(t0)%(24*time.Hour)) // exactly on a day boundary
		case aligned:
			at = at.Add(time.Duration(rng.IntN(3)) * time.Hour)
		default:
			at = at.Add(time.Duration(rng.IntN(90)) * time.Minute)
		}
		in := Inputs{Order: Order{ID: fmt.Sprint(i + 1), At: at, Device: devices[rng.IntN(len(devices))],
			Country: countries[rng.IntN(len(countries))]}}
		if rng.IntN(10) > 0 {
			in.Order.IP = netip.AddrFrom4([4]byte{10, byte(rng.IntN(3)), byte(rng.IntN(4)), byte(rng.IntN(6))})
		}
		if rng.IntN(4) > 0 {
			in.Code = &Code{Code: fmt.Sprintf("CODE%d", rng.IntN(3))}
		}
		if rng.IntN(3) > 0 {
			in.Partner = &Partner{ID: fmt.Sprint(rng.IntN(3) + 1)}
			if rng.IntN(4) > 0 {
				in.Clicks = []Click{{At: at}}
			}
		}
		out = append(out, in)
	}
	return out
}

func redemptionOf(e *Inputs) Redemption {
	r := Redemption{At: e.Order.At, Device: e.Order.Device, Country: e.Order.Country, Cold: e.Cold()}
	if e.Order.IP.IsValid() {
		r.IP = e.Order.IP.String()
	}
	return r
}

func ipOf(in *Inputs) string {
	if in.Order.IP.IsValid() {
		return in.Order.IP.String()
	}
	return ""
}

// summaryOf builds what the store reads for in from the orders seen passes:
// from the rows themselves (hours false) or from their hourly counts.
func summaryOf(evs []Inputs, in *Inputs, seen func(*Inputs) bool, start, end time.Time, hours bool) Summary {
	s := Summary{Start: start, End: end}
	hist := func(match func(*Inputs) bool) History {
		var rs []Redemption
		counts := map[HourCount]int{}
		for i := range evs {
			if e := &evs[i]; seen(e) && match(e) {
				rs = append(rs, redemptionOf(e))
				counts[HourCount{Hour: e.Order.At.Truncate(time.Hour), Country: e.Order.Country, Cold: e.Cold()}]++
			}
		}
		if !hours {
			return HistoryOf(rs, start, end, ipOf(in), in.Order.Device)
		}
		var hs []HourCount
		for c, n := range counts {
			c.N = n
			hs = append(hs, c)
		}
		return HistoryFromHours(hs, start, end, rs, ipOf(in), in.Order.Device)
	}
	if in.Code != nil {
		code := in.Code.Code
		s.Code = hist(func(e *Inputs) bool { return e.Code != nil && e.Code.Code == code })
	}
	if in.Partner != nil {
		pid := in.Partner.ID
		s.Partner = hist(func(e *Inputs) bool { return e.Partner != nil && e.Partner.ID == pid })
	}
	if p := prefixOf(in.Order.IP); p.IsValid() {
		for i := range evs {
			e := &evs[i]
			if seen(e) && prefixOf(e.Order.IP) == p && !e.Order.At.Before(start) && e.Order.At.Before(end) {
				s.PrefixOrders++
			}
		}
	}
	return s
}

// checkAgainstTracker replays evs through the reference Tracker and checks
// WindowAggregates over summaries of the same history, at scoring time and
// on the hindsight re-score of every order.
func checkAgainstTracker(t *testing.T, evs []Inputs, hours bool) {
	t.Helper()
	tr := NewTracker()
	for i := range evs {
		in := &evs[i]
		before := func(e *Inputs) bool {
			return e.Order.At.Before(in.Order.At) || (e.Order.At.Equal(in.Order.At) && idLess(e.Order.ID, in.Order.ID))
		}
		want := tr.Aggregates(in)
		s := summaryOf(evs, in, before, in.Order.At.Add(-tr.Window), in.Order.At.Add(time.Nanosecond), hours)
		var got Aggregates
		WindowAggregates(in, s, tr.BaselineSpan, true, &got)
		if !sameWindow(got, want) {
			t.Fatalf("order %s: from history\n%+v\nTracker\n%+v", in.Order.ID, got, want)
		}
		tr.ObserveOrder(in)
	}
	asOf := evs[len(evs)-1].Order.At.Add(time.Hour)
	for i := range evs {
		in := &evs[i]
		want := tr.Review(in, asOf)
		end := in.Order.At.Add(tr.Window / 2)
		if asOf.Before(end) {
			end = asOf
		}
		end = end.Add(time.Nanosecond)
		start := end.Add(-tr.Window)
		others := func(e *Inputs) bool { return e.Order.ID != in.Order.ID && e.Order.At.Before(end) }
		s := summaryOf(evs, in, others, start, end, hours)
		var got Aggregates
		WindowAggregates(in, s, tr.BaselineSpan, !in.Order.At.Before(start) && in.Order.At.Before(end), &got)
		if !sameWindow(got, want) {
			t.Fatalf("review of order %s: from history\n%+v\nTracker\n%+v", in.Order.ID, got, want)
		}
	}
}

// TestHistoryMatchesTracker: the aggregates computed from a subject's rows
// (what scoring reads for all but its busiest subjects) equal the
// reference Tracker's.
func TestHistoryMatchesTracker(t *testing.T) {
	for seed := range uint64(4) {
		checkAgainstTracker(t, randomStream(rand.New(rand.NewPCG(seed, 7)), 1000, false), false)
	}
}

// TestHourlyHistoryMatchesTrackerOnHalfHours: from hourly counts (busy
// subjects) the aggregates are exact when every redemption is at the middle
// of its hour, which is what the half-hour tolerance at the edges means.
func TestHourlyHistoryMatchesTrackerOnHalfHours(t *testing.T) {
	for seed := range uint64(4) {
		checkAgainstTracker(t, randomStream(rand.New(rand.NewPCG(seed, 9)), 1000, true), true)
	}
}

func idLess(a, b string) bool {
	if len(a) != len(b) {
		return len(a) < len(b)
	}
	return a < b
}

// sameWindow compares the fields WindowAggregates fills.
func sameWindow(a, b Aggregates) bool {
	return reflect.DeepEqual([]any{a.CodeRate, a.CodeSpread, a.PartnerRate, a.PartnerCold, a.PrefixOrders},
		[]any{b.CodeRate, b.CodeSpread, b.PartnerRate, b.PartnerCold, b.PrefixOrders})
}
