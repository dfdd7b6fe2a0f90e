package experiment

// The Starbucks rewards-app offers data (../shared/data/starbucks, see
// ../shared/data/PROVENANCE.md) is the real-behaviour check of the
// discount-level bandit and the recommendation: 10 offers (8 with a
// discount, 2 informational), 17,000 customers and 306,534 events.
//
// Definitions used throughout:
//
//   - An arm (level) is one of the 8 bogo/discount offers: its reward is the
//     discount per order, its difficulty the minimum spend, its duration
//     (days) the window. Offers were sent to customers uniformly at random
//     (about 7,600 receipts each), which is what makes the replay below an
//     unbiased estimate.
//   - A treated shopper is one "offer received" event; it converts when the
//     customer completes that offer within its duration (each "offer
//     completed" event is matched to the earliest open receipt of the same
//     offer). Its spend is the sum of the customer's transactions in the
//     window (receipt .. receipt + duration).
//   - The control is the informational offers: a contact with no discount,
//     sent at random like the others. For a level, an informational receipt
//     converts when the customer spent at least the level's minimum spend in
//     the level's window after it — the outcome the discount asks for,
//     without the discount. (The bandit keeps one control per segment, so
//     in the replay the control converts at the median minimum spend, 10.00
//     in 7 days; a shared control does not change which level a draw picks.)
//   - Segments are income band × age band below 75k, one segment from 75k
//     up (few of its customers are young) and one "unknown" segment for
//     customers without a profile (age 118 in the file): 6 segments.

import (
	"bufio"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
)

// starbucksDir is the data directory relative to this package (app/experiment
// in the repository, next to ../shared).
const starbucksDir = "../../../shared/data/starbucks"

type sbOffer struct {
	ID         string   `json:"id"`
	Type       string   `json:"offer_type"`
	Reward     float64  `json:"reward"`
	Difficulty float64  `json:"difficulty"`
	Duration   float64  `json:"duration"`
	Channels   []string `json:"channels"`
}

// label names an offer for logs and the recommendation: type, discount,
// minimum spend, days and a short id.
func (o sbOffer) label() string {
	return fmt.Sprintf("%s %g/%g %gd %s", o.Type, o.Reward, o.Difficulty, o.Duration, o.ID[:4])
}

type sbProfile struct {
	ID     string   `json:"id"`
	Age    int      `json:"age"`
	Income *float64 `json:"income"`
}

type sbEvent struct {
	Person string  `json:"person"`
	Event  string  `json:"event"`
	Time   float64 `json:"time"` // hours since the start
	Value  struct {
		OfferID  string  `json:"offer id"`
		OfferID2 string  `json:"offer_id"` // "offer completed" spells it so
		Amount   float64 `json:"amount"`
		Reward   float64 `json:"reward"`
	} `json:"value"`
}

// sbReceipt is one "offer received" event with its outcome.
type sbReceipt struct {
	Person    string
	Segment   string
	Offer     int     // index into starbucks.Offers
	Time      float64 // hours
	Completed bool
	Spend     int64 // cents spent in the offer's window
}

type starbucks struct {
	Offers   []sbOffer
	Segments []string // in a fixed order
	Receipts []sbReceipt
	tx       map[string][]sbTx // per customer, in time order
}

type sbTx struct {
	Time   float64
	Amount int64 // cents
}

// spendIn is what person spent (cents) in [from, from+hours].
func (s *starbucks) spendIn(person string, from, hours float64) int64 {
	var n int64
	for _, x := range s.tx[person] {
		if x.Time >= from && x.Time <= from+hours {
			n += x.Amount
		}
	}
	return n
}

func sbSegment(p sbProfile) string {
	if p.Income == nil || p.Age >= 118 {
		return "unknown"
	}
	if *p.Income >= 75000 {
		// Few customers under 50 earn this much in the file: one segment.
		return "income ≥75k"
	}
	inc := "income <50k"
	if *p.Income >= 50000 {
		inc = "income 50–75k"
	}
	age := "age <50"
	if p.Age >= 50 {
		age = "age ≥50"
	}
	return inc + " · " + age
}

var (
	sbOnce sync.Once
	sbData *starbucks
	sbErr  error
)

// loadStarbucks reads and joins the three files once for all tests.
func loadStarbucks(t *testing.T) *starbucks {
	t.Helper()
	sbOnce.Do(func() { sbData, sbErr = readStarbucks(starbucksDir) })
	if sbErr != nil {
		t.Fatalf("starbucks offers data (expected in %s, i.e. shared/data/starbucks next to the repository checkout; see shared/data/PROVENANCE.md): %v", starbucksDir, sbErr)
	}
	return sbData
}

func eachLine(path string, gz bool, fn func(line []byte) error) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 1<<16)
	sc := bufio.NewScanner(r)
	if gz {
		zr, err := gzip.NewReader(r)
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		defer zr.Close()
		sc = bufio.NewScanner(zr)
	}
	sc.Buffer(make([]byte, 1<<16), 1<<20)
	n := 0
	for sc.Scan() {
		n++
		if len(sc.Bytes()) == 0 {
			continue
		}
		if err := fn(sc.Bytes()); err != nil {
			return fmt.Errorf("%s line %d: %w", path, n, err)
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

func readStarbucks(dir string) (*starbucks, error) {
	s := &starbucks{tx: map[string][]sbTx{}}
	offerIdx := map[string]int{}
	if err := eachLine(filepath.Join(dir, "portfolio.json"), false, func(b []byte) error {
		var o sbOffer
		if err := json.Unmarshal(b, &o); err != nil {
			return err
		}
		offerIdx[o.ID] = len(s.Offers)
		s.Offers = append(s.Offers, o)
		return nil
	}); err != nil {
		return nil, err
	}
	seg := map[string]string{}
	segSet := map[string]bool{}
	if err := eachLine(filepath.Join(dir, "profile.json"), false, func(b []byte) error {
		var p sbProfile
		if err := json.Unmarshal(b, &p); err != nil {
			return err
		}
		seg[p.ID] = sbSegment(p)
		segSet[seg[p.ID]] = true
		return nil
	}); err != nil {
		return nil, err
	}
	for k := range segSet {
		s.Segments = append(s.Segments, k)
	}
	sort.Strings(s.Segments)

	type key struct {
		person string
		offer  int
	}
	completions := map[key][]float64{}
	var events int
	if err := eachLine(filepath.Join(dir, "transcript.json.gz"), true, func(b []byte) error {
		var e sbEvent
		if err := json.Unmarshal(b, &e); err != nil {
			return err
		}
		events++
		if _, ok := seg[e.Person]; !ok {
			return fmt.Errorf("person %s has no profile", e.Person)
		}
		switch e.Event {
		case "transaction":
			s.tx[e.Person] = append(s.tx[e.Person], sbTx{e.Time, int64(math.Round(e.Value.Amount * 100))})
		case "offer received":
			i, ok := offerIdx[e.Value.OfferID]
			if !ok {
				return fmt.Errorf("unknown offer %q", e.Value.OfferID)
			}
			s.Receipts = append(s.Receipts, sbReceipt{Person: e.Person, Segment: seg[e.Person], Offer: i, Time: e.Time})
		case "offer completed":
			i, ok := offerIdx[e.Value.OfferID2]
			if !ok {
				return fmt.Errorf("unknown completed offer %q", e.Value.OfferID2)
			}
			completions[key{e.Person, i}] = append(completions[key{e.Person, i}], e.Time)
		case "offer viewed":
		default:
			return fmt.Errorf("unknown event %q", e.Event)
		}
		return nil
	}); err != nil {
		return nil, err
	}
	if len(s.Offers) != 10 || len(seg) != 17000 || events != 306534 {
		return nil, fmt.Errorf("read %d offers, %d profiles, %d events; want 10, 17000, 306534", len(s.Offers), len(seg), events)
	}
	// Receipts are in time order (the transcript is); match each completion
	// to the earliest still open receipt of the same offer whose window holds it.
	sort.SliceStable(s.Receipts, func(i, j int) bool { return s.Receipts[i].Time < s.Receipts[j].Time })
	byKey := map[key][]int{}
	for i, r := range s.Receipts {
		k := key{r.Person, r.Offer}
		byKey[k] = append(byKey[k], i)
	}
	for k, times := range completions {
		sort.Float64s(times)
		for _, ct := range times {
			for _, ri := range byKey[k] {
				r := &s.Receipts[ri]
				if !r.Completed && ct >= r.Time && ct <= r.Time+24*s.Offers[r.Offer].Duration {
					r.Completed = true
					break
				}
			}
		}
	}
	for i := range s.Receipts {
		r := &s.Receipts[i]
		r.Spend = s.spendIn(r.Person, r.Time, 24*s.Offers[r.Offer].Duration)
	}
	return s, nil
}

func (s *starbucks) discountOffers() []int {
	var out []int
	for i, o := range s.Offers {
		if o.Type != "informational" {
			out = append(out, i)
		}
	}
	return out
}

// sbMargin is the gross margin share of revenue (the recommender's margin)
// used to price the offers: a coffee chain's product and distribution costs
// are about a third of its revenue, so two thirds of an extra sale is left
// to pay for the discount. sbLeanMargin is the conservative reading that
// also charges the store's labour to the extra sale.
const (
	sbMargin     = 0.65
	sbLeanMargin = 0.30
)

// sbReward is the replay reward of one treated receipt, in cents: a
// completed offer earns the margin on the window's spend less the discount
// paid, an offer not completed earns nothing (the simple reward of the
// brief: completion × (margin × spend − reward)).
func (s *starbucks) sbReward(r sbReceipt, margin float64) float64 {
	if !r.Completed {
		return 0
	}
	return margin*float64(r.Spend) - 100*s.Offers[r.Offer].Reward
}

// sbMean is a running mean with its standard error.
type sbMean struct {
	n          int
	sum, sumsq float64
}

func (m *sbMean) add(x float64) { m.n++; m.sum += x; m.sumsq += x * x }
func (m sbMean) mean() float64  { return m.sum / float64(m.n) }
func (m sbMean) se() float64 {
	mu := m.mean()
	return math.Sqrt((m.sumsq/float64(m.n) - mu*mu) / float64(m.n-1))
}
func (m sbMean) String() string {
	return fmt.Sprintf("%.3f ± %.3f (n=%d)", m.mean()/100, m.se()/100, m.n)
}

// sbControlRow is the bandit's control row of an informational receipt:
// it converts when the customer spent at least 10.00 (the median minimum
// spend of the discount offers) in the 7 days after it.
func (s *starbucks) sbControlRow(r sbReceipt) BanditRow {
	row := BanditRow{Channel: r.Segment, Device: "app", Arm: Control}
	row.Shoppers = 1
	if spend := s.spendIn(r.Person, r.Time, 24*7); spend >= 1000 {
		row.Converters, row.Orders, row.RevenueMinor = 1, 1, spend
	}
	return row
}

func (s *starbucks) sbTreatedRow(r sbReceipt) BanditRow {
	row := BanditRow{Channel: r.Segment, Device: "app", Arm: Treatment, Level: fmt.Sprint(r.Offer)}
	row.Shoppers = 1
	if r.Completed {
		row.Converters, row.Orders, row.RevenueMinor = 1, 1, r.Spend
		row.DiscountMinor = int64(100 * s.Offers[r.Offer].Reward)
	}
	return row
}

// sbReplay is the offline replay evaluation of Li, Chu, Langford and Wang
// (WSDM 2011): the logged receipts are shuffled; for each one the policy
// picks an offer for the customer's segment, and only when it picks the
// logged offer is the receipt counted, with its logged reward, and shown to
// the policy. Because the offers were sent uniformly at random, the mean
// reward of the counted receipts is an unbiased estimate of the policy's
// reward per receipt. Informational receipts are the holdout: the policy
// sees all of them. A policy with retire set runs the bandit's retirement
// rule (Summarize + Retire over the whole campaign) every 2,000 receipts.
type sbPolicy int

const (
	sbUniform sbPolicy = iota
	sbThompson
	sbThompsonRetire
)

type sbReplayResult struct {
	Reward  sbMean
	Picks   map[int]int // counted receipts per offer
	Retired []Retirement
}

func (s *starbucks) replay(policy sbPolicy, margin float64, seed uint64) sbReplayResult {
	order := rand.New(rand.NewPCG(seed, 1))
	rng := rand.New(rand.NewPCG(seed, 2))
	idx := order.Perm(len(s.Receipts))
	arms := s.discountOffers()
	levels := make([]string, len(arms))
	live := map[string]bool{}
	for i, a := range arms {
		levels[i] = fmt.Sprint(a)
		live[levels[i]] = true
	}
	counts := BanditCounts{Segments: map[string]BanditSegment{}}
	res := sbReplayResult{Picks: map[int]int{}}
	var liveKeys []string
	refresh := func() {
		liveKeys = liveKeys[:0]
		for _, l := range levels {
			if live[l] {
				liveKeys = append(liveKeys, l)
			}
		}
	}
	refresh()
	for n, i := range idx {
		r := s.Receipts[i]
		if s.Offers[r.Offer].Type == "informational" {
			cr := s.sbControlRow(r)
			counts.Add(&cr)
			continue
		}
		var pick string
		if policy == sbUniform {
			pick = liveKeys[rng.IntN(len(liveKeys))]
		} else {
			pick = counts.Choose(SegmentKey(r.Segment, "app"), liveKeys, margin, rng)
		}
		if pick == fmt.Sprint(r.Offer) {
			res.Reward.add(s.sbReward(r, margin))
			res.Picks[r.Offer]++
			tr := s.sbTreatedRow(r)
			counts.Add(&tr)
		}
		if policy == sbThompsonRetire && n%2000 == 1999 {
			sum := counts.Summarize(levels, live, margin, 1000, rng)
			for _, ret := range Retire(sum, live, nil) {
				live[ret.Level] = false
				res.Retired = append(res.Retired, ret)
			}
			refresh()
		}
	}
	return res
}

func TestStarbucksBanditReplayBeatsUniformOffers(t *testing.T) {
	t.Parallel()
	s := loadStarbucks(t)
	arms := s.discountOffers()
	// The logged policy: how often each offer was sent, its completion rate
	// and its mean reward per receipt in hindsight.
	perOffer := map[int]*sbMean{}
	var all sbMean
	for _, r := range s.Receipts {
		if s.Offers[r.Offer].Type == "informational" {
			continue
		}
		if perOffer[r.Offer] == nil {
			perOffer[r.Offer] = &sbMean{}
		}
		x := s.sbReward(r, sbMargin)
		perOffer[r.Offer].add(x)
		all.add(x)
	}
	best := -1
	for _, a := range arms {
		m := perOffer[a]
		if m.n < 6000 || m.n > 9000 {
			t.Fatalf("offer %s was sent %d times: the replay needs the offers sent about uniformly (≈7,600 each)", s.Offers[a].label(), m.n)
		}
		t.Logf("offer %-34s receipts %5d  reward/receipt %s", s.Offers[a].label(), m.n, m)
		if best < 0 || m.mean() > perOffer[best].mean() {
			best = a
		}
	}
	t.Logf("logged (uniform) policy over all %d discount receipts: %s; best single offer in hindsight: %s %s",
		all.n, all, s.Offers[best].label(), perOffer[best])

	seeds := []uint64{1, 2, 3}
	var bandit, retire, uniform sbMean
	for _, seed := range seeds {
		b := s.replay(sbThompson, sbMargin, seed)
		br := s.replay(sbThompsonRetire, sbMargin, seed)
		u := s.replay(sbUniform, sbMargin, seed)
		t.Logf("seed %d: thompson %s  thompson+retire %s  uniform %s", seed, b.Reward, br.Reward, u.Reward)
		if d, se := b.Reward.mean()-u.Reward.mean(), math.Hypot(b.Reward.se(), u.Reward.se()); d < 2*se {
			t.Errorf("seed %d: thompson %.3f does not beat uniform %.3f by 2 standard errors (%.3f)", seed, b.Reward.mean()/100, u.Reward.mean()/100, 2*se/100)
		}
		var picks []string
		for _, a := range arms {
			picks = append(picks, fmt.Sprintf("%s:%d", s.Offers[a].ID[:4], b.Picks[a]))
		}
		t.Logf("seed %d: thompson counted receipts per offer %s", seed, strings.Join(picks, " "))
		for _, r := range br.Retired {
			t.Logf("seed %d: retired %s: %s", seed, r.Level, r.Reason)
		}
		for _, pair := range []struct {
			dst *sbMean
			src sbMean
		}{{&bandit, b.Reward}, {&retire, br.Reward}, {&uniform, u.Reward}} {
			pair.dst.n += pair.src.n
			pair.dst.sum += pair.src.sum
			pair.dst.sumsq += pair.src.sumsq
		}
	}
	t.Logf("pooled over seeds %v: thompson %s  thompson+retire %s  uniform %s  best offer in hindsight %s",
		seeds, bandit, retire, uniform, perOffer[best])
	// Pooled standard errors treat the seeds' counted receipts as
	// independent; they overlap, so the test also asserts per seed above.
	diff := bandit.mean() - uniform.mean()
	se := math.Hypot(bandit.se(), uniform.se())
	if diff < 2*se {
		t.Errorf("thompson %.3f does not beat uniform %.3f by 2 standard errors (%.3f)", bandit.mean()/100, uniform.mean()/100, 2*se/100)
	}
	// Learning costs something, but on 7,600 counted receipts the bandit must
	// close most of the gap between sending offers at random and sending the
	// best offer from the start.
	if gap := perOffer[best].mean() - uniform.mean(); diff < 0.75*gap {
		t.Errorf("thompson closes %.0f%% of the gap between uniform (%.3f) and the best offer in hindsight (%.3f), want ≥ 75%%",
			100*diff/gap, uniform.mean()/100, perOffer[best].mean()/100)
	}
	if d := retire.mean() - uniform.mean(); d < 2*math.Hypot(retire.se(), uniform.se()) {
		t.Errorf("thompson with retirement %.3f does not beat uniform %.3f by 2 standard errors", retire.mean()/100, uniform.mean()/100)
	}
}

// sbSegments builds the recommender's segments: per segment, one level per
// discount offer with its treated receipts and its matched control (the
// segment's informational receipts, converting when the customer spent the
// offer's minimum spend within the offer's window without any discount).
// The order value is the mean window spend of the converters of both arms.
func (s *starbucks) sbSegments() []Segment {
	type cell struct {
		treated, control Arm
	}
	cells := map[string]map[int]*cell{}
	customers := map[string]map[string]bool{}
	arms := s.discountOffers()
	for _, seg := range s.Segments {
		cells[seg] = map[int]*cell{}
		customers[seg] = map[string]bool{}
		for _, a := range arms {
			cells[seg][a] = &cell{}
		}
	}
	for _, r := range s.Receipts {
		customers[r.Segment][r.Person] = true
		if o := s.Offers[r.Offer]; o.Type != "informational" {
			c := &cells[r.Segment][r.Offer].treated
			c.Shoppers++
			if r.Completed {
				c.Converters++
				c.Orders++
				c.RevenueMinor += r.Spend
				c.DiscountMinor += int64(100 * o.Reward)
			}
			continue
		}
		for _, a := range arms {
			o := s.Offers[a]
			c := &cells[r.Segment][a].control
			c.Shoppers++
			if spend := s.spendIn(r.Person, r.Time, 24*o.Duration); spend >= int64(100*o.Difficulty) {
				c.Converters++
				c.Orders++
				c.RevenueMinor += spend
			}
		}
	}
	var out []Segment
	for _, seg := range s.Segments {
		sg := Segment{Name: seg, Channel: "app", When: "any time", Customers: int64(len(customers[seg]))}
		for _, a := range arms {
			c := cells[seg][a]
			aov := float64(c.treated.RevenueMinor+c.control.RevenueMinor) / float64(c.treated.Orders+c.control.Orders)
			sg.Levels = append(sg.Levels, Level{Label: s.Offers[a].label(), CampaignID: int64(a), Treated: c.treated, Control: c.control,
				DiscountPerOrderMinor: 100 * s.Offers[a].Reward, AOVMinor: aov})
		}
		out = append(out, sg)
	}
	return out
}

func TestStarbucksRecommendationPicksDiscountsAndRetiresLosers(t *testing.T) {
	t.Parallel()
	s := loadStarbucks(t)
	segs := s.sbSegments()
	if len(segs) < 4 || len(segs) > 8 {
		t.Fatalf("%d segments, want 4–8", len(segs))
	}
	for _, sg := range segs {
		for _, l := range sg.Levels {
			if l.Treated.Shoppers < 200 || l.Control.Shoppers < 200 {
				t.Fatalf("%s / %s: %d treated, %d control receipts: too few to judge", sg.Name, l.Label, l.Treated.Shoppers, l.Control.Shoppers)
			}
		}
	}
	levels := 0
	for _, sg := range segs {
		levels += len(sg.Levels)
	}
	retiredAt := func(margin float64) (recs []Recommendation, retired map[string]bool) {
		recs = Recommend(segs, margin, rand.New(rand.NewPCG(11, 12)))
		retired = map[string]bool{}
		for _, r := range recs {
			for _, l := range r.Retired {
				retired[r.Segment+" / "+l] = true
			}
		}
		return recs, retired
	}

	recs, retired := retiredAt(sbMargin)
	discount := map[string]bool{}
	for _, r := range recs {
		t.Logf("margin %.2f  %-22s customers %5d  arm %-28s profit %9.0f  retired %d: %s", sbMargin, r.Segment, r.Customers, r.Arm, r.ExpectedProfit, len(r.Retired), r.Reason)
		if r.Arm == "none" {
			continue
		}
		discount[r.Segment] = true
		if !(r.ExpectedProfit > 0 && r.ExpectedUplift > 0) || !strings.HasPrefix(r.Arm, "discount ") {
			t.Errorf("%s: recommended %q with uplift %.4f, profit %.0f; want a discount offer that pays", r.Segment, r.Arm, r.ExpectedUplift, r.ExpectedProfit)
		}
		if len(r.Retired) == 0 {
			t.Errorf("%s: nothing retired; the bogo offers give 5.00–10.00 on orders that mostly happen anyway", r.Segment)
		}
	}
	if 2*len(discount) <= len(recs) {
		t.Errorf("at a %.0f%% margin a discount offer pays in %d of %d segments, want most", 100*sbMargin, len(discount), len(recs))
	}

	// Lower the margin: the extra spend pays less of the discount, so the
	// probability that a level loses money can only grow (the posterior
	// draws are the same with the same seed). At 30% fewer segments get a
	// discount, at 1% none, and the retired set grows at each step. An
	// inverted profit formula (discount added, or margin subtracted) breaks
	// this chain.
	prevDiscount, prevRetired := discount, retired
	for _, m := range []float64{sbLeanMargin, 0.01} {
		recs, retired := retiredAt(m)
		discount := map[string]bool{}
		for _, r := range recs {
			if r.Arm != "none" {
				discount[r.Segment] = true
				if !prevDiscount[r.Segment] {
					t.Errorf("margin %.2f: %s gets %q but got nothing at a higher margin", m, r.Segment, r.Arm)
				}
			}
		}
		for k := range prevRetired {
			if !retired[k] {
				t.Errorf("%s is retired at a higher margin but not at %.2f", k, m)
			}
		}
		t.Logf("margin %.2f: a discount pays in %d of %d segments %v; %d of %d levels retired", m, len(discount), len(recs), keys(discount), len(retired), levels)
		prevDiscount, prevRetired = discount, retired
	}
	if len(prevDiscount) != 0 || len(prevRetired) != levels {
		t.Errorf("at a 1%% margin %d segments still get a discount and %d of %d levels are retired; want none and all", len(prevDiscount), len(prevRetired), levels)
	}
	if len(retired) == levels || len(retired) == 0 {
		t.Errorf("at a %.0f%% margin %d of %d levels retired: want some", 100*sbMargin, len(retired), levels)
	}
}

func keys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
