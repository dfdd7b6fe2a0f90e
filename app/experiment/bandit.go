package experiment

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"strconv"

	"gonum.org/v1/gonum/stat/distuv"
)

// The bandit serves a multi-arm campaign: every treated shopper gets the
// discount level (arm) that wins one Thompson draw of profit per shopper on
// the posteriors of the shopper's segment, so traffic drifts to the most
// profitable level while the others keep being explored in proportion to
// the chance that they are best. The campaign's holdout stays the permanent
// random control every level is measured against. Levels are keyed by the
// id of the campaign whose discount they are.

// AllShoppers is the segment key of the whole campaign: a request whose own
// segment has too few shoppers is decided on it.
const AllShoppers = "all"

// Bandit settings: a segment decides on its own counts once it holds
// BanditMinSegment shoppers (both arms), else the whole campaign does;
// retirement is judged on BanditRetireRounds posterior draws.
const (
	BanditMinSegment   = 100
	BanditRetireRounds = 4000
)

// SegmentKey is the bandit segment of an issue request: what the request
// knows about the shopper, its channel and device.
func SegmentKey(channel, device string) string { return channel + "|" + device }

// BanditCounts is the data the bandit decides on: per segment, the control
// shoppers and each level's treated shoppers with their outcomes. Key
// AllShoppers holds the whole campaign.
type BanditCounts struct {
	Segments map[string]BanditSegment `json:"segments"`
}

// BanditSegment is one segment's counts.
type BanditSegment struct {
	Control Counts            `json:"control"`
	Levels  map[string]Counts `json:"levels"`
}

// Counts are the outcomes of a group of assigned shoppers in their window:
// shoppers, those with at least one order, orders, net revenue and
// discounts in minor units.
type Counts struct {
	Shoppers      int64 `json:"shoppers"`
	Converters    int64 `json:"converters"`
	Orders        int64 `json:"orders"`
	RevenueMinor  int64 `json:"revenue_minor"`
	DiscountMinor int64 `json:"discount_minor"`
}

func (c *Counts) add(o Counts) {
	c.Shoppers += o.Shoppers
	c.Converters += o.Converters
	c.Orders += o.Orders
	c.RevenueMinor += o.RevenueMinor
	c.DiscountMinor += o.DiscountMinor
}

func (c Counts) arm() Arm {
	return Arm{Shoppers: c.Shoppers, Converters: c.Converters, Orders: c.Orders, RevenueMinor: c.RevenueMinor, DiscountMinor: c.DiscountMinor}
}

// BanditRow is one group of assigned shoppers: a segment (channel, device),
// an arm and, for the treatment arm, the level served.
type BanditRow struct {
	Channel, Device string
	Arm             string // Treatment or Control
	Level           string
	Counts
}

// BuildBanditCounts sums rows into their segments and the whole campaign.
func BuildBanditCounts(rows []BanditRow) BanditCounts {
	out := BanditCounts{Segments: map[string]BanditSegment{}}
	for i := range rows {
		out.Add(&rows[i])
	}
	return out
}

// Add counts one row into its segment and the whole campaign.
func (b *BanditCounts) Add(r *BanditRow) {
	for _, key := range []string{SegmentKey(r.Channel, r.Device), AllShoppers} {
		s, ok := b.Segments[key]
		if !ok {
			s = BanditSegment{Levels: map[string]Counts{}}
		}
		if r.Arm == Control {
			s.Control.add(r.Counts)
		} else {
			c := s.Levels[r.Level]
			c.add(r.Counts)
			s.Levels[r.Level] = c
		}
		b.Segments[key] = s
	}
}

// Compact drops the segments the bandit would not decide on (fewer than
// BanditMinSegment shoppers: their requests use the whole campaign) and
// keeps the maxSegments largest of the rest, so the snapshot the issue path
// reads stays small whatever devices clients report.
func (b BanditCounts) Compact(maxSegments int) BanditCounts {
	type seg struct {
		key string
		n   int64
	}
	var keep []seg
	for k, s := range b.Segments {
		if k == AllShoppers {
			continue
		}
		if n := s.shoppers(); n >= BanditMinSegment {
			keep = append(keep, seg{k, n})
		}
	}
	sort.Slice(keep, func(i, j int) bool {
		if keep[i].n != keep[j].n {
			return keep[i].n > keep[j].n
		}
		return keep[i].key < keep[j].key
	})
	out := BanditCounts{Segments: map[string]BanditSegment{}}
	if all, ok := b.Segments[AllShoppers]; ok {
		out.Segments[AllShoppers] = all
	}
	for i, s := range keep {
		if i == maxSegments {
			break
		}
		out.Segments[s.key] = b.Segments[s.key]
	}
	return out
}

func (s BanditSegment) shoppers() int64 {
	n := s.Control.Shoppers
	for _, c := range s.Levels {
		n += c.Shoppers
	}
	return n
}

// aov is the segment's average order value over both arms (0 without orders).
func (s BanditSegment) aov() float64 {
	orders, revenue := s.Control.Orders, s.Control.RevenueMinor
	for _, c := range s.Levels {
		orders += c.Orders
		revenue += c.RevenueMinor
	}
	if orders == 0 {
		return 0
	}
	return float64(revenue) / float64(orders)
}

// segment returns the counts a request of segment key decides on: its own
// once they hold BanditMinSegment shoppers, else the whole campaign's.
func (b BanditCounts) segment(key string) BanditSegment {
	if s, ok := b.Segments[key]; ok && s.shoppers() >= BanditMinSegment {
		return s
	}
	return b.Segments[AllShoppers]
}

// discountPerOrder is a level's average discount per order: in the
// segment, else over the whole campaign, else the campaign's average over
// every level (a level that has sold nothing yet is assumed to cost what
// the others do).
func (b BanditCounts) discountPerOrder(s BanditSegment, level string) float64 {
	if c := s.Levels[level]; c.Orders > 0 {
		return float64(c.DiscountMinor) / float64(c.Orders)
	}
	all := b.Segments[AllShoppers]
	if c := all.Levels[level]; c.Orders > 0 {
		return float64(c.DiscountMinor) / float64(c.Orders)
	}
	var d, n int64
	for _, c := range all.Levels {
		d += c.DiscountMinor
		n += c.Orders
	}
	if n == 0 {
		return 0
	}
	return float64(d) / float64(n)
}

// levels turns a segment's counts into the recommender's levels.
func (b BanditCounts) levels(s BanditSegment, keys []string) []Level {
	aov := s.aov()
	if aov == 0 {
		aov = b.Segments[AllShoppers].aov()
	}
	out := make([]Level, len(keys))
	for i, k := range keys {
		id, _ := strconv.ParseInt(k, 10, 64)
		out[i] = Level{Label: k, CampaignID: id, Treated: s.Levels[k].arm(), Control: s.Control.arm(),
			DiscountPerOrderMinor: b.discountPerOrder(s, k), AOVMinor: aov}
	}
	return out
}

// levelPosterior is the Beta posteriors of a level's treated and control
// conversion rates, each on a weak prior centred on the level's pooled rate
// (the same posteriors [Thompson] draws from).
type levelPosterior struct{ t, c distuv.Beta }

func newLevelPosterior(l Level, rng *rand.Rand) levelPosterior {
	n := l.Treated.Shoppers + l.Control.Shoppers
	pooled := 0.02
	if n > 0 {
		pooled = float64(l.Treated.Converters+l.Control.Converters) / float64(n)
	}
	at, bt := posterior(l.Treated, pooled)
	ac, bc := posterior(l.Control, pooled)
	return levelPosterior{distuv.Beta{Alpha: at, Beta: bt, Src: rng}, distuv.Beta{Alpha: ac, Beta: bc, Src: rng}}
}

func (p levelPosterior) draw(l Level, margin float64) float64 {
	return profitPerShopper(p.t.Rand(), p.c.Rand(), l, margin)
}

func (p levelPosterior) mean(l Level, margin float64) float64 {
	return profitPerShopper(p.t.Mean(), p.c.Mean(), l, margin)
}

// Choose picks the level of one treated shopper of segment key among live
// (level keys, at least one) by one Thompson draw of profit per shopper:
// each live level's treated and control conversion rates are drawn from
// their posteriors and the level with the highest (uplift × margin × order
// value − discount on every treated order) wins. Until the campaign has
// seen an order there is no order value to weigh, and the level is drawn
// uniformly. margin is the gross margin share of revenue (0..1).
func (b BanditCounts) Choose(key string, live []string, margin float64, rng *rand.Rand) string {
	switch len(live) {
	case 0:
		return ""
	case 1:
		return live[0]
	}
	s := b.segment(key)
	ls := b.levels(s, live)
	if ls[0].AOVMinor == 0 {
		return live[rng.IntN(len(live))]
	}
	bi, bv := 0, math.Inf(-1)
	for i, l := range ls {
		if v := newLevelPosterior(l, rng).draw(l, margin); v > bv {
			bi, bv = i, v
		}
	}
	return live[bi]
}

// LevelSummary is what the merchant sees of one level over the whole
// campaign.
type LevelSummary struct {
	Level                    string  `json:"level"`
	Shoppers                 int64   `json:"shoppers"`
	Converters               int64   `json:"converters"`
	TrafficShare             float64 `json:"traffic_share"`               // share of the treated shoppers served this level
	ExpectedProfitPerShopper float64 `json:"expected_profit_per_shopper"` // minor units, posterior means
	PLoss                    float64 `json:"p_loss"`                      // posterior probability that profit per shopper < 0
	SelectionShare           float64 `json:"selection_share"`             // probability the bandit picks it now (0 once retired)
	DiscountPerOrderMinor    float64 `json:"discount_per_order_minor"`    // average discount per order
}

// Summarize describes every level of levels over the whole campaign by
// rounds joint posterior draws: its traffic, expected profit per shopper,
// probability of losing money and, among live ones, the probability that
// the bandit picks it (the share of draws it wins).
func (b BanditCounts) Summarize(levels []string, live map[string]bool, margin float64, rounds int, rng *rand.Rand) []LevelSummary {
	all := b.Segments[AllShoppers]
	ls := b.levels(all, levels)
	out := make([]LevelSummary, len(levels))
	var treated int64
	for _, c := range all.Levels {
		treated += c.Shoppers
	}
	ps := make([]levelPosterior, len(ls))
	for i, l := range ls {
		ps[i] = newLevelPosterior(l, rng)
		out[i] = LevelSummary{Level: levels[i], Shoppers: l.Treated.Shoppers, Converters: l.Treated.Converters,
			ExpectedProfitPerShopper: ps[i].mean(l, margin), DiscountPerOrderMinor: l.DiscountPerOrderMinor}
		if treated > 0 {
			out[i].TrafficShare = float64(l.Treated.Shoppers) / float64(treated)
		}
	}
	if rounds <= 0 || len(ls) == 0 {
		return out
	}
	nLive := 0
	for _, k := range levels {
		if live[k] {
			nLive++
		}
	}
	for range rounds {
		bi, bv := -1, math.Inf(-1)
		for i, l := range ls {
			v := ps[i].draw(l, margin)
			if v < 0 {
				out[i].PLoss++
			}
			if live[levels[i]] && v > bv {
				bi, bv = i, v
			}
		}
		if bi >= 0 {
			out[bi].SelectionShare++
		}
	}
	for i := range out {
		out[i].PLoss /= float64(rounds)
		out[i].SelectionShare /= float64(rounds)
		if ls[i].AOVMinor == 0 && live[levels[i]] { // no order yet: the bandit draws uniformly
			out[i].SelectionShare = 1 / float64(nLive)
		}
	}
	return out
}

// Retirement is a level the bandit stops serving because it loses money.
type Retirement struct {
	Level                    string
	ExpectedProfitPerShopper float64 // minor units
	PLoss                    float64
	Shoppers                 int64
	Reason                   string
}

// Retire returns the live levels to retire: those with at least
// RetireMinShoppers treated shoppers whose profit per shopper is below
// zero with posterior probability RetireAt or more, surest loser first.
// The last live level is never retired: the offer keeps one level (the
// holdout still tells whether it pays). money formats minor units for the
// reason (nil: "N minor units").
func Retire(sum []LevelSummary, live map[string]bool, money func(minor float64) string) []Retirement {
	if money == nil {
		money = func(m float64) string { return fmt.Sprintf("%.0f minor units", m) }
	}
	nLive := 0
	var cand []LevelSummary
	for _, s := range sum {
		if !live[s.Level] {
			continue
		}
		nLive++
		if s.Shoppers >= RetireMinShoppers && s.PLoss >= RetireAt {
			cand = append(cand, s)
		}
	}
	sort.SliceStable(cand, func(i, j int) bool {
		if cand[i].PLoss != cand[j].PLoss {
			return cand[i].PLoss > cand[j].PLoss
		}
		return cand[i].ExpectedProfitPerShopper < cand[j].ExpectedProfitPerShopper
	})
	var out []Retirement
	for _, s := range cand {
		if nLive <= 1 {
			break
		}
		nLive--
		out = append(out, Retirement{Level: s.Level, ExpectedProfitPerShopper: s.ExpectedProfitPerShopper, PLoss: s.PLoss, Shoppers: s.Shoppers,
			Reason: fmt.Sprintf("expected profit per shopper %s (%.0f%% P below zero) after %s shoppers",
				money(s.ExpectedProfitPerShopper), 100*s.PLoss, thousands(s.Shoppers))})
	}
	return out
}

// thousands renders n with comma thousands separators: 1234 -> "1,234".
func thousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := n < 0
	if neg {
		s = s[1:]
	}
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	if neg {
		s = "-" + s
	}
	return s
}
