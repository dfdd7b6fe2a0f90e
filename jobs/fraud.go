package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/hibiken/asynq"

	"github.com/coupontrail/coupontrail/app/attribution"
	"github.com/coupontrail/coupontrail/app/fraud"
	"github.com/coupontrail/coupontrail/app/outbound"
	"github.com/coupontrail/coupontrail/app/shopify/admin"
	"github.com/coupontrail/coupontrail/app/store"
)

// Fraud scoring in the product (PRODUCT.md §9). Attribution calls
// scoreAtAttribution for every new conversion, in the delivery's
// transaction: it gathers the order, its code, its click and the shop's
// history (fraud_events, the store's mirror of fraud.Tracker), scores with
// app/fraud, stores the assessment on the conversion and acts per the
// shop's settings — nothing in shadow mode, otherwise flag (recorded),
// hold for review (the conversion is not approved when its hold ends) or
// reject (a ledger entry caused by "rule:fraud"; the merchant can overturn
// it by approving). Flagged orders are grouped into incidents, one alert
// each (fraud.alert outbound event). When the hold ends, the release
// re-scores the conversion with hindsight (refunds known, the burst around
// the order visible) before approving it.

// Task types.
const (
	TypeFraudLeakResponse = "fraud:leak-response"
)

// Ledger and status causes of the fraud layer.
const (
	causeFraud = "rule:fraud"
)

// scoringSample is how many of a code's or partner's newest redemptions
// scoring reads; a subject with more is summarised from its hourly counts.
const scoringSample = 40

// historyReach is how far before the window scoring reads a subject's
// history: the 14 baseline days plus the day a redemption exactly on its
// edge belongs to.
const historyReach = 15 * 24 * time.Hour

// fraudScoringNanos is the time spent scoring at attribution in this
// process (the replay test reports scoring's share of attribution).
var fraudScoringNanos atomic.Int64

// trailLookback is how far back a partner's click from the order's address
// counts as the order's click trail when the landing URL carries none.
const trailLookback = 72 * time.Hour

func (j *Jobs) registerFraudJobs(mux *asynq.ServeMux) {
	mux.HandleFunc(TypeFraudLeakResponse, j.handleLeakResponse)
}

func fraudPeriodic() []PeriodicTask { return nil }

// FraudJSONDoc is conversions.fraud as the fraud layer writes it. Score,
// action and reasons[].kind/detail are the §12 shape; the rest explains.
type FraudJSONDoc struct {
	Score       int           `json:"score"`
	Action      string        `json:"action"`
	WouldAction string        `json:"would_action"`
	Mode        string        `json:"mode"`
	Kind        string        `json:"kind,omitempty"`
	Reasons     []fraudReason `json:"reasons"`
	// Review is true while the conversion waits for the merchant (held for
	// review); the release leaves it held.
	Review     bool          `json:"review,omitempty"`
	Pass       string        `json:"pass"` // attribution | release
	ScoredAt   time.Time     `json:"scored_at"`
	IncidentID string        `json:"incident_id,omitempty"`
	Flags      []FraudReason `json:"flags,omitempty"` // attribution's observations
	Overturned bool          `json:"overturned,omitempty"`
	// Aggregates is the shop history the score was computed from.
	Aggregates *fraud.Aggregates `json:"aggregates,omitempty"`
}

type fraudReason struct {
	Kind     string         `json:"kind"`
	Incident string         `json:"incident"`
	Detail   string         `json:"detail"`
	Evidence map[string]any `json:"evidence,omitempty"`
	Weight   float64        `json:"weight"`
}

// fraudFacts is what scoring reads for one order.
type fraudFacts struct {
	in    fraud.Inputs
	event store.FraudEvent
}

// fraudFactsFor builds the inputs of an order's conversion (aggregates not
// filled yet).
func (j *Jobs) fraudFactsFor(ctx context.Context, sh *store.Shop, o *store.Order, row *store.Conversion, known []store.AttributionCode) (fraudFacts, error) {
	var f fraudFacts
	ip, _ := netip.ParseAddr(strings.TrimSpace(o.BrowserIP))
	ip = ip.Unmap()
	f.in.Order = fraud.Order{
		ID: strconv.FormatInt(o.OrderID, 10), At: o.OrderCreatedAt, Email: o.Email, IP: ip, UserAgent: o.UserAgent,
		Device: deviceOf(o.UserAgent), Channel: row.Channel, ClickID: ClickIDFromLanding(o.LandingSite),
		TrafficSource: trafficSource(o.LandingSite), Country: o.Country,
	}
	if o.CustomerID != nil {
		f.in.Order.CustomerID = strconv.FormatInt(*o.CustomerID, 10)
	}
	code := row.Code
	if code == "" && len(row.Codes) > 0 {
		code = row.Codes[0]
	}
	if code == "" && len(o.DiscountCodes) > 0 {
		code = o.DiscountCodes[0]
	}
	var campaignID int64
	if code != "" {
		k, err := j.fraudCode(ctx, sh.ID, code, known)
		if err != nil {
			return f, err
		}
		if k != nil {
			c := &fraud.Code{Code: k.Code, Kind: fraud.CodeVanity, CampaignID: strconv.FormatInt(k.CampaignID, 10),
				PartnerID: idStr(k.PartnerID)}
			if k.Kind != "vanity" {
				c.Kind = fraud.CodeUnique
				c.SingleUse = k.UsageCap == nil || *k.UsageCap == 1
			} else if k.UsageCap != nil && *k.UsageCap == 1 {
				c.SingleUse = true
			}
			if k.CustomerID != nil {
				c.IssuedToCustomer = strconv.FormatInt(*k.CustomerID, 10)
			}
			if k.CustomerEmail != nil {
				c.IssuedToEmail = *k.CustomerEmail
			}
			f.in.Code = c
			campaignID = k.CampaignID
			var rules fraud.Restrictions
			_ = json.Unmarshal(k.Rules, &rules)
			f.in.Rules = rules
		}
	}
	if row.PartnerID != nil {
		p, err := j.Store.PartnerByID(ctx, sh.ID, *row.PartnerID)
		switch {
		case err == nil:
			f.in.Partner = &fraud.Partner{ID: strconv.FormatInt(p.ID, 10), Email: p.Email}
			if p.CustomerID != nil {
				f.in.Partner.CustomerID = strconv.FormatInt(*p.CustomerID, 10)
			}
		case errors.Is(err, store.ErrNotFound):
		default:
			return f, err
		}
	}
	var cl *store.FraudClick
	var err error
	if id := f.in.Order.ClickID; id != "" {
		if cl, err = j.Store.FraudClickByID(ctx, sh.ID, id); err != nil {
			return f, err
		}
	}
	if cl == nil && row.PartnerID != nil && ip.IsValid() {
		// No click id in the landing URL (the visit began elsewhere, or
		// the shopper came back later): the partner's recent click from the
		// same address is the trail.
		if cl, err = j.Store.PartnerClickFromIP(ctx, sh.ID, *row.PartnerID, ip.String(), o.OrderCreatedAt.Add(-trailLookback), o.OrderCreatedAt); err != nil {
			return f, err
		}
	}
	if cl != nil && !cl.CreatedAt.After(o.OrderCreatedAt.Add(attribution.ClockSkew)) {
		cip, _ := netip.ParseAddr(cl.IP)
		f.in.Clicks = []fraud.Click{{ID: cl.ClickID, At: cl.CreatedAt, PartnerID: idStr(cl.PartnerID), IP: cip.Unmap(),
			UserAgent: cl.UserAgent, Device: cl.Device, Country: cl.Country, Source: firstNonEmpty(cl.Channel, f.in.Order.TrafficSource)}}
		if f.in.Order.Country == "" {
			f.in.Order.Country = cl.Country
		}
		if f.in.Order.Device == "" {
			f.in.Order.Device = cl.Device
		}
		if f.in.Order.TrafficSource == "" {
			f.in.Order.TrafficSource = cl.Channel
		}
		if len(f.in.Rules.Countries) == 0 && campaignID == 0 && cl.CampaignID != nil {
			raw, err := j.Store.CampaignRules(ctx, sh.ID, *cl.CampaignID)
			if err != nil {
				return f, err
			}
			_ = json.Unmarshal(raw, &f.in.Rules)
		}
	}
	f.event = store.FraudEvent{
		ShopID: sh.ID, OrderID: o.OrderID, At: o.OrderCreatedAt, PartnerID: row.PartnerID, Device: f.in.Order.Device,
		Country: f.in.Order.Country, Cold: f.in.Cold(), ClickID: f.in.Order.ClickID, CustomerID: f.in.Order.CustomerID,
		Email: f.in.Order.Email,
	}
	if f.in.Code != nil {
		f.event.Code = f.in.Code.Code
	}
	if ip.IsValid() {
		f.event.IP = ip.String()
		if p, err := ip.Prefix(map[bool]int{true: 24, false: 48}[ip.Is4()]); err == nil {
			f.event.Prefix = p.String()
		}
	}
	return f, nil
}

// fraudCode is the code scoring reads: from the rows attribution already
// loaded for the order when it is among them, else from the store.
func (j *Jobs) fraudCode(ctx context.Context, shopID int64, code string, known []store.AttributionCode) (*store.FraudCode, error) {
	for _, c := range known {
		if c.Code == code {
			return &store.FraudCode{CampaignID: c.CampaignID, Code: c.Code, Kind: c.Kind, PartnerID: c.PartnerID, Channel: c.Channel,
				CustomerID: c.CustomerID, CustomerEmail: c.CustomerEmail, UsageCap: c.UsageCap, Rules: json.RawMessage(c.Rules),
				CampPartnerID: c.CampaignPartnerID}, nil
		}
	}
	return j.Store.FraudCodeByValue(ctx, shopID, code)
}

// deviceOf classifies a user agent the way SmartLink clicks are classified.
func deviceOf(ua string) string {
	l := strings.ToLower(ua)
	switch {
	case l == "":
		return ""
	case strings.Contains(l, "ipad") || strings.Contains(l, "tablet"):
		return "tablet"
	case strings.Contains(l, "mobi") || strings.Contains(l, "iphone") || strings.Contains(l, "android"):
		return "mobile"
	}
	return "desktop"
}

// trafficSource is the landing URL's utm_source.
func trafficSource(landing string) string {
	u, err := url.Parse(strings.TrimSpace(landing))
	if err != nil || landing == "" {
		return ""
	}
	return strings.ToLower(strings.TrimSpace(u.Query().Get("utm_source")))
}

// eventInputs turns a stored fraud event into the inputs the tracker
// observes (a warm redemption carries a stand-in click: only its presence
// matters to the tracker).
func eventInputs(e *store.FraudEvent) fraud.Inputs {
	ip, _ := netip.ParseAddr(e.IP)
	in := fraud.Inputs{Order: fraud.Order{ID: strconv.FormatInt(e.OrderID, 10), At: e.At, CustomerID: e.CustomerID, Email: e.Email,
		IP: ip, Device: e.Device, Country: e.Country, ClickID: e.ClickID}}
	if e.Code != "" {
		in.Code = &fraud.Code{Code: e.Code}
	}
	if e.PartnerID != nil {
		in.Partner = &fraud.Partner{ID: strconv.FormatInt(*e.PartnerID, 10)}
		if !e.Cold {
			in.Clicks = []fraud.Click{{At: e.At}}
		}
	}
	return in
}

// aggregates computes the order's aggregates as fraud.Tracker defines them,
// from the shop's stored history. With review set they are the hindsight
// aggregates of a re-score at asOf (Tracker.Review).
//
// A code or partner with fewer than scoringSample redemptions in the
// history's reach is summarised from those rows, exactly as the Tracker
// would; a busier one from its hourly counts (fraud.HistoryFromHours), so
// scoring costs the same for a partner with five orders a day and one with
// fifty thousand.
func (j *Jobs) aggregates(ctx context.Context, f *fraudFacts, review bool, asOf time.Time) (fraud.Aggregates, error) {
	tr := fraud.NewTracker()
	at := f.in.Order.At
	// The window [start, end), and the last instant the history reaches.
	start, end, to := at.Add(-tr.Window), at.Add(time.Nanosecond), at
	if review {
		to = at.Add(tr.Window / 2)
		if asOf.Before(to) {
			to = asOf
		}
		end = to.Add(time.Nanosecond)
		start = end.Add(-tr.Window)
	}
	from := start.Add(-historyReach)
	hist, err := j.Store.FraudHistory(ctx, store.FraudHistoryQuery{
		ShopID: f.event.ShopID, ExcludeOrder: f.event.OrderID, Code: f.event.Code, PartnerID: f.event.PartnerID,
		ClickID: f.event.ClickID, Prefix: f.event.Prefix, From: from, To: to, PrefixFrom: start, Limit: scoringSample,
	})
	if err != nil {
		return fraud.Aggregates{}, err
	}
	// before is what scoring at the order's time sees: the orders before
	// it (equal times by order id).
	before := func(e *store.FraudEvent) bool {
		return e.At.Before(at) || (e.At.Equal(at) && e.OrderID < f.event.OrderID)
	}
	seen := before
	if review {
		seen = func(*store.FraudEvent) bool { return true } // every other order up to `to`
	}
	type part struct {
		rows      []fraud.Redemption
		raw       int // rows read, to tell a complete history from a sample
		priorSeen int // rows before the order (CodePriorRedemptions)
	}
	var code, partner part
	prefixOrders := 0
	clicks := fraud.NewTracker()
	for i := range hist {
		e := &hist[i]
		r := fraud.Redemption{At: e.At, IP: e.IP, Device: e.Device, Country: e.Country, Cold: e.Cold}
		inReach := !e.At.Before(from)
		if f.event.Code != "" && e.Code == f.event.Code && inReach {
			code.raw++
			if seen(e) {
				code.rows = append(code.rows, r)
			}
			if before(e) {
				code.priorSeen++
			}
		}
		if f.event.PartnerID != nil && e.PartnerID != nil && *e.PartnerID == *f.event.PartnerID && inReach {
			partner.raw++
			if seen(e) {
				partner.rows = append(partner.rows, r)
			}
		}
		if f.event.Prefix != "" && e.Prefix == f.event.Prefix && !e.At.Before(start) && e.At.Before(end) && seen(e) {
			prefixOrders++
		}
		if f.event.ClickID != "" && e.ClickID == f.event.ClickID && before(e) {
			in := eventInputs(e)
			clicks.ObserveOrder(&in)
		}
	}
	// Click-id counts as of the order's time, from its click's earlier orders.
	ag := fraud.Aggregates{Window: tr.Window}
	ag.ClickIDPriorSame, ag.ClickIDPriorOthers = clicks.ClickIDPrior(&f.in)

	busyCode, busyPartner := code.raw >= scoringSample, partner.raw >= scoringSample
	var hours []store.SubjectHour
	codeFirst, partnerFirst := time.Time{}, time.Time{}
	{
		// The hourly counts: in full for a busy subject, otherwise only
		// whether it was redeemed before the history's reach (then its
		// baseline covers every day, as for the Tracker, which saw it).
		hs, err := j.Store.FraudSubjectHours(ctx, f.event.ShopID, f.event.Code, f.event.PartnerID, from, to, busyCode, busyPartner)
		if err != nil {
			return ag, err
		}
		for _, h := range hs {
			if h.N == 0 { // the subject's first hour, before from
				if h.Kind == "c" {
					codeFirst = h.Hour
				} else {
					partnerFirst = h.Hour
				}
				continue
			}
			hours = append(hours, h)
		}
	}
	ip := ""
	if f.in.Order.IP.IsValid() {
		ip = f.in.Order.IP.String()
	}
	history := func(kind string, p part, busy bool, first time.Time) fraud.History {
		var h fraud.History
		if !busy {
			h = fraud.HistoryOf(p.rows, start, end, ip, f.in.Order.Device)
		} else {
			var hc []fraud.HourCount
			for _, x := range hours {
				if x.Kind != kind {
					continue
				}
				n := x.N
				if review && x.Hour.Equal(at.UTC().Truncate(time.Hour)) && x.Country == f.event.Country && x.Cold == f.event.Cold {
					n-- // the order's own redemption, counted since its attribution
				}
				if !review && x.Hour.After(at) {
					continue // recorded out of order: not seen yet at the order's time
				}
				hc = append(hc, fraud.HourCount{Hour: x.Hour, Country: x.Country, Cold: x.Cold, N: n})
			}
			h = fraud.HistoryFromHours(hc, start, end, p.rows, ip, f.in.Order.Device)
		}
		if !first.IsZero() && (h.First.IsZero() || first.Before(h.First)) {
			h.First = first
		}
		return h
	}
	sum := fraud.Summary{Start: start, End: end, PrefixOrders: prefixOrders}
	if f.in.Code != nil {
		sum.Code = history("c", code, busyCode, codeFirst)
	}
	if f.in.Partner != nil {
		sum.Partner = history("p", partner, busyPartner, partnerFirst)
	}
	cur := !review || (!at.Before(start) && at.Before(end))
	fraud.WindowAggregates(&f.in, sum, tr.BaselineSpan, cur, &ag)
	// Earlier redemptions of the code (what makes a single-use code's
	// second order suspicious): exact from its rows; a busy code's count
	// comes from its hours up to the order's.
	ag.CodePriorRedemptions = code.priorSeen
	if busyCode {
		ag.CodePriorRedemptions = 0
		for _, x := range hours {
			if x.Kind == "c" && !x.Hour.After(at) {
				ag.CodePriorRedemptions += x.N
			}
		}
		if review {
			ag.CodePriorRedemptions = max(0, ag.CodePriorRedemptions-1)
		}
	}
	if !codeFirst.IsZero() {
		ag.CodePriorRedemptions++ // at least one before the history's reach
	}
	for _, c := range f.in.Clicks {
		if !c.IP.IsValid() {
			continue
		}
		n, err := j.Store.ClicksFromIP(ctx, f.event.ShopID, c.IP.String(), c.At.Add(-time.Hour), c.At)
		if err != nil {
			return ag, err
		}
		ag.ClickIPClicks = max(ag.ClickIPClicks, n)
	}
	po, pr, so, sr, err := j.Store.FraudRefundCounts(ctx, f.event.ShopID, f.event.PartnerID)
	if err != nil {
		return ag, err
	}
	// Refund counts as of now; at attribution the counters do not count
	// this order yet (a re-score, which they do, is the review).
	ag.Refunds = fraud.RefundStats{PartnerOrders: po, PartnerRefunded: pr, ShopOrders: so, ShopRefunded: sr}
	return ag, nil
}

func fraudDoc(a fraud.Assessment, mode fraud.Mode, pass string, now time.Time) FraudJSONDoc {
	d := FraudJSONDoc{Score: a.Score, Action: string(a.Action), WouldAction: string(a.WouldAction), Mode: string(mode),
		Kind: string(a.Kind), Reasons: make([]fraudReason, 0, len(a.Reasons)), Pass: pass, ScoredAt: now}
	for _, r := range a.Reasons {
		d.Reasons = append(d.Reasons, fraudReason{Kind: string(r.Kind), Incident: string(r.Incident), Detail: r.Detail,
			Evidence: r.Evidence, Weight: r.Weight})
	}
	return d
}

// scoreAtAttribution scores a conversion attribution is about to insert,
// in the attribution transaction. It fills row.Fraud (so the insert carries
// the verdict) and returns the order's fraud event, which the insert records
// in the fraud history with the conversion (nothing reads that history
// between the scoring and the insert), and what to do once the row exists:
// nothing, or the rejection.
func (j *Jobs) scoreAtAttribution(ctx context.Context, sh *store.Shop, o *store.Order, row *store.Conversion, known []store.AttributionCode) (func(context.Context) error, *store.FraudEvent, error) {
	defer func(t0 time.Time) { fraudScoringNanos.Add(int64(time.Since(t0))) }(time.Now())
	set := ParseFraudSettings(sh.Settings)
	cfg := set.FraudConfig()
	f, err := j.fraudFactsFor(ctx, sh, o, row, known)
	if err != nil {
		return nil, nil, err
	}
	if f.in.Agg, err = j.aggregates(ctx, &f, false, time.Time{}); err != nil {
		return nil, nil, err
	}
	a := fraud.Score(f.in, cfg)
	doc := fraudDoc(a, cfg.Mode, "attribution", j.Now())
	doc.Aggregates = &f.in.Agg
	var prev FraudJSON
	_ = json.Unmarshal(row.Fraud, &prev)
	doc.Flags = prev.Reasons
	if err := j.recordVerdict(ctx, sh, row, a, &doc, set); err != nil {
		return nil, nil, err
	}
	return func(ctx context.Context) error { return j.act(ctx, row, a, doc) }, &f.event, nil
}

// recordVerdict groups a flagged order into its incident and stores doc on
// row (not saved).
func (j *Jobs) recordVerdict(ctx context.Context, sh *store.Shop, row *store.Conversion, a fraud.Assessment, doc *FraudJSONDoc, set FraudSettingsJSON) error {
	if a.WouldAction.Severity() > 0 && a.Kind != fraud.KindNone {
		id, err := j.recordIncident(ctx, sh, row, a, set)
		if err != nil {
			return err
		}
		doc.IncidentID = id
	}
	if a.Action == fraud.ActionHold && row.Status == store.ConversionHeld {
		doc.Review = true
	}
	b, err := json.Marshal(doc)
	if err != nil {
		return err
	}
	row.Fraud = b
	return nil
}

// act rejects a held conversion the verdict rejects (a ledger entry caused
// by the fraud rule). It reports nothing else: flag and hold are recorded
// in row.Fraud.
func (j *Jobs) act(ctx context.Context, row *store.Conversion, a fraud.Assessment, doc FraudJSONDoc) error {
	if a.Action != fraud.ActionReject || row.Status != store.ConversionHeld {
		return nil
	}
	dom, err := toDomain(row)
	if err != nil {
		return err
	}
	reason := fmt.Sprintf("fraud: score %d (%s)", a.Score, a.Kind)
	n, entries, err := dom.Reject(reason, causeFraud)
	if err != nil {
		return err
	}
	return j.saveConversion(ctx, row, n, entries, "fraud-reject:"+doc.Pass, reason)
}

// applyAssessment stores doc on row (saved), groups the order into an
// incident and takes the action.
func (j *Jobs) applyAssessment(ctx context.Context, sh *store.Shop, row *store.Conversion, a fraud.Assessment, doc FraudJSONDoc, set FraudSettingsJSON) error {
	if err := j.recordVerdict(ctx, sh, row, a, &doc, set); err != nil {
		return err
	}
	if a.Action == fraud.ActionReject && row.Status == store.ConversionHeld {
		return j.act(ctx, row, a, doc)
	}
	row.UpdatedAt = j.Now()
	return j.Store.UpdateConversion(ctx, row)
}

// reviewAtRelease re-scores a held conversion whose hold is over, with
// hindsight, before the release approves it. It reports whether the
// release must leave the conversion alone (held for review, or rejected).
func (j *Jobs) reviewAtRelease(ctx context.Context, row *store.Conversion) (bool, error) {
	var doc FraudJSONDoc
	_ = json.Unmarshal(row.Fraud, &doc)
	if doc.Review {
		return true, nil // waits for the merchant
	}
	if doc.Pass == "" || doc.Pass == "release" {
		return false, nil // not scored by the fraud layer (or already reviewed)
	}
	sh, err := j.Store.ShopByID(ctx, row.ShopID)
	if err != nil {
		return false, err
	}
	o, err := j.Store.OrderByID(ctx, row.ShopID, row.OrderID)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	set := ParseFraudSettings(sh.Settings)
	cfg := set.FraudConfig()
	f, err := j.fraudFactsFor(ctx, sh, o, row, nil)
	if err != nil {
		return false, err
	}
	now := j.Now()
	if f.in.Agg, err = j.aggregates(ctx, &f, true, now); err != nil {
		return false, err
	}
	a := fraud.Score(f.in, cfg)
	nd := fraudDoc(a, cfg.Mode, "release", now)
	nd.Aggregates = &f.in.Agg
	nd.Flags = doc.Flags
	if a.WouldAction.Severity() < fraud.Action(doc.WouldAction).Severity() {
		// Hindsight never softens the verdict already recorded (the
		// merchant may have been alerted about it).
		nd.Score, nd.Action, nd.WouldAction, nd.Kind, nd.Reasons = doc.Score, doc.Action, doc.WouldAction, doc.Kind, doc.Reasons
		nd.IncidentID = doc.IncidentID
		b, _ := json.Marshal(nd)
		row.Fraud = b
		row.UpdatedAt = now
		return false, j.Store.UpdateConversion(ctx, row)
	}
	if err := j.applyAssessment(ctx, sh, row, a, nd, set); err != nil {
		return false, err
	}
	var after FraudJSONDoc
	_ = json.Unmarshal(row.Fraud, &after)
	return after.Review || row.Status != store.ConversionHeld, nil
}

// FraudAlert is the data of a fraud.alert outbound event and an item of
// GET /api/v1/fraud/alerts.
type FraudAlert struct {
	ID        string          `json:"id"`
	Kind      string          `json:"kind"`
	PartnerID *string         `json:"partner_id"`
	Code      *string         `json:"code"`
	Orders    []string        `json:"orders"`
	FirstSeen string          `json:"first_seen"`
	LastSeen  string          `json:"last_seen"`
	MaxScore  int             `json:"max_score"`
	Shadow    bool            `json:"shadow"`
	Evidence  json.RawMessage `json:"evidence"`
	Actions   json.RawMessage `json:"actions"`
}

// FraudAlertOf renders an incident.
func FraudAlertOf(in *store.FraudIncident) FraudAlert {
	out := FraudAlert{ID: strconv.FormatInt(in.ID, 10), Kind: in.Kind, Orders: make([]string, 0, len(in.OrderIDs)),
		FirstSeen: in.FirstSeen.UTC().Format(time.RFC3339), LastSeen: in.LastSeen.UTC().Format(time.RFC3339),
		MaxScore: in.MaxScore, Shadow: in.Shadow, Evidence: in.Evidence, Actions: in.Actions}
	if in.PartnerID != nil {
		s := strconv.FormatInt(*in.PartnerID, 10)
		out.PartnerID = &s
	}
	if in.Code != "" {
		out.Code = &in.Code
	}
	for _, id := range in.OrderIDs {
		out.Orders = append(out.Orders, strconv.FormatInt(id, 10))
	}
	if len(out.Evidence) == 0 {
		out.Evidence = json.RawMessage(`{}`)
	}
	if len(out.Actions) == 0 {
		out.Actions = json.RawMessage(`[]`)
	}
	return out
}

// incidentKey is what the orders of one incident share (fraud.Group's key).
func incidentKey(a fraud.Assessment) string {
	one := fraud.GroupWithin([]fraud.Assessment{a}, fraud.IncidentGap)
	if len(one) == 1 {
		return one[0].Key
	}
	return "order:" + a.OrderID
}

// maxIncidentOrders bounds the order list kept on one incident (the count
// keeps going).
const maxIncidentOrders = 1000

// recordIncident adds the order to its open incident, or opens one and
// alerts (one fraud.alert event per incident). It returns the incident id.
func (j *Jobs) recordIncident(ctx context.Context, sh *store.Shop, row *store.Conversion, a fraud.Assessment, set FraudSettingsJSON) (string, error) {
	kind, key := string(a.Kind), incidentKey(a)
	if err := j.Store.LockIncidentKey(ctx, sh.ID, kind, key); err != nil {
		return "", err
	}
	in, err := j.Store.LockOpenIncident(ctx, sh.ID, kind, key, a.At.Add(-fraud.IncidentGap(a.Kind)))
	if err != nil {
		return "", err
	}
	now := j.Now()
	isNew := in == nil
	if isNew {
		in = &store.FraudIncident{ShopID: sh.ID, Kind: kind, Key: key, PartnerID: row.PartnerID, Code: a.Code,
			FirstSeen: a.At, LastSeen: a.At, Shadow: set.Mode != string(fraud.ModeEnforce), Evidence: json.RawMessage(`{}`)}
	}
	if slices.Contains(in.OrderIDs, row.OrderID) {
		return strconv.FormatInt(in.ID, 10), nil
	}
	if len(in.OrderIDs) < maxIncidentOrders {
		in.OrderIDs = append(in.OrderIDs, row.OrderID)
	}
	in.Orders++
	if a.At.Before(in.FirstSeen) {
		in.FirstSeen = a.At
	}
	if a.At.After(in.LastSeen) {
		in.LastSeen = a.At
	}
	in.MaxScore = max(in.MaxScore, a.Score)
	if in.Code != a.Code {
		in.Code = ""
	}
	ev := map[string]any{}
	_ = json.Unmarshal(in.Evidence, &ev)
	for _, r := range a.Reasons {
		if r.Incident == a.Kind {
			n, _ := ev[string(r.Kind)].(float64)
			ev[string(r.Kind)] = n + 1
			if _, ok := ev["example_"+string(r.Kind)]; !ok {
				ev["example_"+string(r.Kind)] = r.Detail
			}
		}
	}
	ev["orders"] = in.Orders
	if in.Evidence, err = json.Marshal(ev); err != nil {
		return "", err
	}
	if err := j.Store.SaveIncident(ctx, in, now); err != nil {
		return "", err
	}
	id := strconv.FormatInt(in.ID, 10)
	if !isNew {
		return id, nil
	}
	ids, err := j.Store.EmitEventAt(ctx, sh.ID, outbound.FraudAlert, FraudAlertOf(in), now)
	if err != nil {
		return "", err
	}
	j.enqueueOutbound(ctx, ids)
	if in.PartnerID != nil {
		d, _ := json.Marshal(map[string]any{"incident_id": id, "kind": kind, "code": in.Code, "shadow": in.Shadow})
		if err := j.Store.AddPartnerEvent(ctx, &store.PartnerEvent{ShopID: sh.ID, PartnerID: *in.PartnerID, Kind: "fraud_incident",
			Detail: d, CreatedAt: now}); err != nil {
			return "", err
		}
	}
	if a.Kind == fraud.KindLeakedCode && a.Code != "" && set.AutoDisableLeakedCodes && set.Mode == string(fraud.ModeEnforce) {
		j.enqueueLeakResponse(ctx, sh.ID, in.ID)
	}
	return id, nil
}

// LeakResponsePayload names the incident whose leaked code is disabled.
type LeakResponsePayload struct {
	ShopID     int64 `json:"shop_id"`
	IncidentID int64 `json:"incident_id"`
}

func (j *Jobs) enqueueLeakResponse(ctx context.Context, shopID, incidentID int64) {
	if j.Client == nil {
		return
	}
	b, _ := json.Marshal(LeakResponsePayload{ShopID: shopID, IncidentID: incidentID})
	_, err := j.Client.EnqueueContext(ctx, asynq.NewTask(TypeFraudLeakResponse, b, asynq.MaxRetry(10), asynq.Timeout(2*time.Minute)),
		asynq.Queue(QueueDefault), asynq.ProcessIn(2*time.Second), asynq.TaskID(fmt.Sprintf("fraud:leak:%d", incidentID)))
	if err != nil && !IsConflict(err) {
		j.Log.WarnContext(ctx, "enqueue leak response", "incident_id", incidentID, "err", err)
	}
}

func (j *Jobs) handleLeakResponse(ctx context.Context, t *asynq.Task) error {
	var p LeakResponsePayload
	if err := json.Unmarshal(t.Payload(), &p); err != nil {
		return fmt.Errorf("%w: %v", asynq.SkipRetry, err)
	}
	_, err := j.RespondToLeak(ctx, p.ShopID, p.IncidentID)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	return err
}

// LeakAction is one thing done about a leaked code (fraud_incidents.actions).
type LeakAction struct {
	Action    string `json:"action"` // code_disabled | code_reissued
	Code      string `json:"code"`
	PartnerID string `json:"partner_id,omitempty"`
	At        string `json:"at"`
	Error     string `json:"error,omitempty"`
}

// RespondToLeak disables an incident's leaked code (in Shopify and here,
// with a code.disabled event) and, for a partner's vanity code, issues the
// partner a fresh vanity code of the same campaign; both are recorded on
// the incident and on the partner's record. Running it again does nothing.
func (j *Jobs) RespondToLeak(ctx context.Context, shopID, incidentID int64) ([]LeakAction, error) {
	var done []LeakAction
	var evIDs []int64
	err := j.Store.InTx(ctx, func(ctx context.Context) error {
		in, err := j.Store.IncidentByID(ctx, shopID, incidentID)
		if err != nil {
			return err
		}
		if in.Kind != string(fraud.KindLeakedCode) || in.Code == "" {
			return nil
		}
		// Same lock order as attribution (incident, then code).
		if err := j.Store.LockIncidentKey(ctx, shopID, in.Kind, in.Key); err != nil {
			return err
		}
		if in, err = j.Store.IncidentByID(ctx, shopID, incidentID); err != nil {
			return err
		}
		var acts []LeakAction
		_ = json.Unmarshal(in.Actions, &acts)
		for _, a := range acts {
			if a.Action == "code_disabled" {
				done = acts
				return nil
			}
		}
		k, err := j.Store.LockCode(ctx, shopID, in.Code)
		if err != nil {
			return err
		}
		now := j.Now()
		reason := "leaked: fraud incident " + strconv.FormatInt(in.ID, 10)
		if k.Status != store.CodeDisabled && k.Status != store.CodeExpired && k.Status != store.CodeRedeemed {
			ch := store.CodeChange{Status: store.CodeDisabled, DisabledReason: reason}
			if err := j.codeOutOfShopify(ctx, shopID, k, &ch); err != nil {
				return err
			}
			nk, err := j.Store.UpdateCodeState(ctx, k.ID, ch)
			if err != nil {
				return err
			}
			ids, err := j.Store.EmitEventAt(ctx, shopID, outbound.CodeDisabled, CodeEventData(nk, reason), now)
			if err != nil {
				return err
			}
			evIDs = append(evIDs, ids...)
		}
		pid := k.PartnerID
		act := LeakAction{Action: "code_disabled", Code: k.Code, PartnerID: idStr(pid), At: now.UTC().Format(time.RFC3339)}
		acts = append(acts, act)
		if pid != nil {
			if err := j.partnerEvent(ctx, shopID, *pid, "code_disabled", map[string]any{"code": k.Code, "reason": reason,
				"incident_id": strconv.FormatInt(in.ID, 10)}, now); err != nil {
				return err
			}
		}
		if k.Kind == "vanity" && pid != nil {
			fresh, err := j.reissueVanity(ctx, shopID, k, now)
			ra := LeakAction{Action: "code_reissued", Code: fresh, PartnerID: idStr(pid), At: now.UTC().Format(time.RFC3339)}
			if err != nil {
				ra.Error = err.Error()
			} else if err := j.partnerEvent(ctx, shopID, *pid, "code_reissued", map[string]any{"code": fresh, "replaces": k.Code,
				"incident_id": strconv.FormatInt(in.ID, 10)}, now); err != nil {
				return err
			}
			acts = append(acts, ra)
		}
		if in.Actions, err = json.Marshal(acts); err != nil {
			return err
		}
		done = acts
		return j.Store.SaveIncident(ctx, in, now)
	})
	if err != nil {
		return nil, err
	}
	j.enqueueOutbound(ctx, evIDs)
	return done, nil
}

func (j *Jobs) partnerEvent(ctx context.Context, shopID, partnerID int64, kind string, detail map[string]any, now time.Time) error {
	d, err := json.Marshal(detail)
	if err != nil {
		return err
	}
	return j.Store.AddPartnerEvent(ctx, &store.PartnerEvent{ShopID: shopID, PartnerID: partnerID, Kind: kind, Detail: d, CreatedAt: now})
}

// codeOutOfShopify makes a code unredeemable in Shopify, as POST
// /api/v1/codes/{code}/disable does: a vanity code's own discount is
// deactivated; a unique code's redeem code is deleted (a failure leaves
// the code disabled here and codes:expire retries the removal).
func (j *Jobs) codeOutOfShopify(ctx context.Context, shopID int64, k *store.Code, ch *store.CodeChange) error {
	if k.Kind == "vanity" {
		if k.ShopifyDiscountID == nil || k.ShopifyState != store.ShopifyLive {
			return nil
		}
		adm, err := j.Shops.Admin(ctx, shopID)
		if err != nil {
			return err
		}
		return adm.DiscountCodeDeactivate(ctx, *k.ShopifyDiscountID)
	}
	if k.ShopifyState != store.ShopifyLive || k.ShopifyCodeID == nil {
		return nil
	}
	discountID, err := j.Store.CampaignDiscountID(ctx, k.CampaignID)
	if err != nil || discountID == "" {
		return err
	}
	adm, err := j.Shops.Admin(ctx, shopID)
	if err == nil {
		_, err = adm.DiscountCodeRedeemCodeBulkDelete(ctx, discountID, []string{*k.ShopifyCodeID})
	}
	if err != nil {
		j.Log.WarnContext(ctx, "remove leaked code from Shopify failed; will retry", "code_id", k.ID, "err", err)
		return nil
	}
	ch.ShopifyState = store.ShopifyRemoved
	return nil
}

// reissueVanity gives the partner of a leaked vanity code a fresh one: the
// same campaign, channel and cap, a new name (the old one with a short
// random suffix), its own Shopify discount like any vanity code. It
// returns the new code.
func (j *Jobs) reissueVanity(ctx context.Context, shopID int64, old *store.Code, now time.Time) (string, error) {
	camp, err := j.Store.CodeCampaign(ctx, shopID, old.CampaignID)
	if err != nil {
		return "", err
	}
	var d struct {
		Type        string          `json:"type"`
		Value       json.RawMessage `json:"value"`
		MinSubtotal *string         `json:"min_subtotal"`
	}
	if err := json.Unmarshal(camp.Discount, &d); err != nil {
		return "", fmt.Errorf("campaign %d discount: %w", camp.ID, err)
	}
	val := strings.Trim(strings.TrimSpace(string(d.Value)), `"`)
	num, err := strconv.ParseFloat(val, 64)
	gets := &admin.DiscountCustomerGetsValueInput{}
	switch {
	case err != nil:
		return "", fmt.Errorf("campaign %d: no usable discount value", camp.ID)
	case d.Type == "percentage":
		p := num / 100
		gets.Percentage = &p
	case d.Type == "fixed_amount" || d.Type == "fixed" || d.Type == "amount":
		gets.DiscountAmount = &admin.DiscountAmountInput{Amount: val}
	default:
		return "", fmt.Errorf("campaign %d: discount type %q cannot back a vanity code", camp.ID, d.Type)
	}
	base := old.Code
	if i := strings.LastIndex(base, "-R"); i > 0 {
		base = base[:i]
	}
	var suffix [3]byte
	if _, err := io.ReadFull(j.Rand, suffix[:]); err != nil {
		return "", err
	}
	const alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
	code := base + "-R"
	for _, b := range suffix {
		code += string(alphabet[int(b)%len(alphabet)])
	}
	cp := 1000
	if old.UsageCap != nil {
		cp = *old.UsageCap
	}
	row := &store.Code{ShopID: shopID, CampaignID: old.CampaignID, Code: code, PartnerID: old.PartnerID, Channel: old.Channel,
		UsageCap: &cp, CreatedAt: now}
	if err := j.Store.InsertVanityCode(ctx, row); err != nil {
		return "", err
	}
	all := true
	starts := camp.StartsAt
	input := admin.DiscountCodeBasicInput{
		Title: fmt.Sprintf("%s – %s", camp.Name, code), Code: code, StartsAt: &starts, EndsAt: camp.EndsAt,
		Context:      admin.ContextAll(),
		CustomerGets: &admin.DiscountCustomerGetsInput{Value: gets, Items: &admin.DiscountItemsInput{All: &all}},
		UsageLimit:   &cp,
	}
	if d.MinSubtotal != nil && *d.MinSubtotal != "" {
		input.MinimumRequirement = &admin.DiscountMinimumRequirementInput{Subtotal: &admin.DiscountMinimumSubtotalInput{GreaterThanOrEqualToSubtotal: *d.MinSubtotal}}
	}
	adm, err := j.Shops.Admin(ctx, shopID)
	if err != nil {
		return code, err
	}
	discountID, err := adm.DiscountCodeBasicCreate(ctx, input)
	if err != nil {
		return code, err
	}
	return code, j.Store.SetVanityCodeLive(ctx, row.ID, discountID)
}

type overturn struct {
	n       attribution.Conversion
	entries []attribution.Entry
}

// fraudOverturn is the merchant approving a conversion the fraud layer
// rejected: its money moves from rejected to approved like any other
// change (ledger entries caused by the merchant), and the assessment is
// marked overturned. ok is false for any other conversion.
func fraudOverturn(row *store.Conversion, dom attribution.Conversion, reason, actor string) (overturn, bool) {
	var doc FraudJSONDoc
	if row.Status != store.ConversionRejected || json.Unmarshal(row.Fraud, &doc) != nil || doc.Action != string(fraud.ActionReject) {
		return overturn{}, false
	}
	n := dom
	n.Lines = append([]attribution.Line(nil), dom.Lines...)
	n.Status = attribution.StatusApproved
	entries := make([]attribution.Entry, len(dom.Lines))
	for i, l := range dom.Lines {
		entries[i] = attribution.Entry{ConversionID: dom.ID, Line: i, PartnerID: l.PartnerID, From: attribution.StatusRejected,
			To: attribution.StatusApproved, Amounts: l.Amounts, Reason: "fraud rejection overturned: " + reason, Cause: actor}
	}
	doc.Overturned, doc.Review = true, false
	if b, err := json.Marshal(doc); err == nil {
		row.Fraud = b
	}
	return overturn{n: n, entries: entries}, true
}
