package fraud

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// Signal names one detector; it is the "kind" of a Reason.
type Signal string

// Signals. The weight in brackets is the probability of abuse the signal
// carries at full strength; graded signals scale it by how far the evidence
// goes (a p-value, a count) — see each function.
const (
	SignalOtherShopper    Signal = "other_shopper"             // [0.80] unique code used by someone else
	SignalSingleUseReused Signal = "single_use_reused"         // [0.70] single-use code redeemed again
	SignalColdSurge       Signal = "cold_redemptions"          // [0.75] clickless share above the partner's normal
	SignalCodeSpread      Signal = "code_spread"               // [0.60] one code, many IPs / new countries
	SignalVelocity        Signal = "velocity"                  // [0.35] redemption burst vs baseline
	SignalDuplicateClick  Signal = "duplicate_click"           // [0.95] click id already used by another shopper
	SignalClickFlood      Signal = "ip_click_flood"            // [0.50] many clicks from one IP
	SignalBotUserAgent    Signal = "bot_user_agent"            // [0.85] automation user agent
	SignalFastOrder       Signal = "impossible_click_to_order" // [0.85] order completed seconds after the click
	SignalDatacenterIP    Signal = "datacenter_ip"             // [0.90] cloud address, repeated from one prefix
	SignalSelfReferral    Signal = "self_referral"             // [0.95] partner bought through their own code/link
	SignalRefundRate      Signal = "partner_refund_rate"       // [0.90] partner refunds far above the shop's
	SignalRuleViolation   Signal = "rule_violation"            // [0.80] campaign geo/device/source/channel rule broken
)

type signalFunc func(*Inputs, *Config) (Reason, bool)

type signalDef struct {
	kind     Signal
	incident IncidentKind
	weight   float64 // full-strength weight; the reference for Config.Weights
	fn       signalFunc
}

// signals is the fixed list Score runs, in order.
var signals = []signalDef{
	{SignalOtherShopper, KindLeakedCode, 0.80, OtherShopper},
	{SignalSingleUseReused, KindLeakedCode, 0.70, SingleUseReused},
	{SignalColdSurge, KindLeakedCode, 0.75, ColdSurge},
	{SignalCodeSpread, KindLeakedCode, 0.60, CodeSpread},
	{SignalVelocity, KindVelocity, 0.35, Velocity},
	{SignalDuplicateClick, KindDuplicateClick, 0.95, DuplicateClick},
	{SignalClickFlood, KindBotClicks, 0.50, ClickFlood},
	{SignalBotUserAgent, KindBotClicks, 0.85, BotUserAgent},
	{SignalFastOrder, KindBotClicks, 0.85, FastClickToOrder},
	{SignalDatacenterIP, KindDatacenterIP, 0.90, DatacenterIP},
	{SignalSelfReferral, KindSelfReferral, 0.95, SelfReferral},
	{SignalRefundRate, KindRefundFarm, 0.90, RefundRate},
	{SignalRuleViolation, KindRuleViolation, 0.80, RuleViolation},
}

// DefaultWeights returns each signal's full-strength weight.
func DefaultWeights() map[Signal]float64 {
	m := make(map[Signal]float64, len(signals))
	for _, s := range signals {
		m[s.kind] = s.weight
	}
	return m
}

// OtherShopper fires when a unique code issued to one shopper is redeemed by
// another (customer ids differ, or normalised e-mails differ). Weight 0.80:
// the usual innocent cause — the same person under a dotted or +tagged Gmail
// address — is folded away by NormalizeEmail, and a logged-in customer is
// matched by id whatever address they type.
func OtherShopper(in *Inputs, _ *Config) (Reason, bool) {
	c := in.Code
	if c == nil || c.Kind != CodeUnique || (c.IssuedToCustomer == "" && c.IssuedToEmail == "") {
		return Reason{}, false
	}
	same, known := sameShopper(c.IssuedToCustomer, c.IssuedToEmail, in.Order.CustomerID, in.Order.Email)
	if !known || same {
		return Reason{}, false
	}
	return Reason{
		Detail: fmt.Sprintf("code %s was issued to %s but used by %s", c.Code,
			firstNonEmpty(c.IssuedToEmail, c.IssuedToCustomer), firstNonEmpty(in.Order.Email, in.Order.CustomerID)),
		Evidence: map[string]any{"issued_to": firstNonEmpty(c.IssuedToEmail, c.IssuedToCustomer),
			"used_by": firstNonEmpty(in.Order.Email, in.Order.CustomerID)},
		Weight: 0.80,
	}, true
}

// SingleUseReused fires when a single-use code is redeemed after an earlier
// redemption (Shopify's usage limit races, or the code was shared before the
// limit was set). Weight 0.70.
func SingleUseReused(in *Inputs, _ *Config) (Reason, bool) {
	if in.Code == nil || !in.Code.SingleUse || in.Agg.CodePriorRedemptions < 1 {
		return Reason{}, false
	}
	return Reason{
		Detail:   fmt.Sprintf("single-use code %s already redeemed %d time(s)", in.Code.Code, in.Agg.CodePriorRedemptions),
		Evidence: map[string]any{"prior_redemptions": in.Agg.CodePriorRedemptions},
		Weight:   0.70,
	}, true
}

// ColdSurge fires on a partner-credited order without a click trail when the
// partner's share of such "cold" redemptions inside the window is
// significantly above its own typical days. Influencer codes are often typed
// from a video, so a high cold share is normal for some partners; a jump in
// it is what a leak looks like. The history is short, so its share is
// uncertain: the test is the beta-binomial tail P(X ≥ cold | n, Beta(histCold
// + 1, histWarm + 1)), not a binomial with the point estimate (which makes
// ordinary day-to-day wobble of a busy partner look significant).
// Weight 0.75 × ramp(−log10 p, 2.5 → 6).
func ColdSurge(in *Inputs, _ *Config) (Reason, bool) {
	if !in.Cold() || in.Code == nil {
		return Reason{}, false
	}
	cs := in.Agg.PartnerCold
	p0 := float64(cs.HistCold+1) / float64(cs.HistTotal+2)
	p := BetaBinomialTail(cs.WindowCold, cs.WindowTotal, float64(cs.HistCold+1), float64(cs.HistTotal-cs.HistCold+1))
	s := surprise(p, 2.5, 6)
	if s == 0 {
		return Reason{}, false
	}
	return Reason{
		Detail: fmt.Sprintf("%d of the partner's last %d redemptions had no click (normally %.0f%%)",
			cs.WindowCold, cs.WindowTotal, 100*p0),
		Evidence: map[string]any{"window_cold": cs.WindowCold, "window_total": cs.WindowTotal,
			"historical_share": round3(p0), "p_value": p},
		Weight: 0.75 * s,
	}, true
}

// CodeSpread fires when one code is seen too widely inside the window.
//
// For a unique code any spread across IPs is odd: 0.50 × ramp(IPs, 2 → 5).
//
// For a shareable code a popular partner legitimately reaches many IPs and
// devices, and an international one many countries, so what counts is
// countries the code had never been redeemed from, against how often its
// history kept producing new ones: with the Good–Turing missing mass
// m = max(1, singletons) / (history + 1), new countries in the window are
// compared with Poisson(window redemptions × m). It only applies to a
// redemption without the partner's click trail — an order that arrived
// through the partner's own link is the partner's audience, whatever else
// is happening to the code. Weight 0.60 × ramp(−log10 p, 1.5 → 4).
func CodeSpread(in *Inputs, _ *Config) (Reason, bool) {
	if in.Code == nil {
		return Reason{}, false
	}
	sp := in.Agg.CodeSpread
	var s, w float64
	p := -1.0
	if in.Code.Kind == CodeUnique {
		s, w = ramp(float64(sp.IPs), 2, 5), 0.50
	} else if len(in.Clicks) == 0 && sp.NewCountries > 0 {
		m := float64(max(1, sp.HistSingletons)) / float64(sp.HistRedemptions+1)
		p = PoissonTail(sp.NewCountries, float64(max(1, sp.WindowRedemptions))*m)
		s, w = surprise(p, 1.5, 4), 0.60
	}
	if s == 0 {
		return Reason{}, false
	}
	ev := map[string]any{"ips": sp.IPs, "devices": sp.Devices, "countries": sp.Countries, "new_countries": sp.NewCountries}
	if p >= 0 {
		ev["p_value"] = p
	}
	return Reason{
		Detail: fmt.Sprintf("code %s seen from %d IPs, %d devices, %d countries (%d new) in %s",
			in.Code.Code, sp.IPs, sp.Devices, sp.Countries, sp.NewCountries, fmtWindow(in.Agg.Window)),
		Evidence: ev,
		Weight:   w * s,
	}, true
}

// Velocity fires on a burst of redemptions of the order's code or partner:
// the Poisson tail P(X ≥ count | λ = baseline × window), baseline at least
// Config.MinBaselinePerDay, whichever of code and partner is more extreme.
// Weight 0.35 × ramp(−log10 p, 3 → 8): bursts happen to honest partners
// after every post, so velocity alone never reaches the default flag
// threshold; it corroborates. An order that came through the partner's own
// click is what a successful post looks like, so for it the weight is 0.15.
func Velocity(in *Inputs, cfg *Config) (Reason, bool) {
	days := in.Agg.Window.Hours() / 24
	if days <= 0 {
		return Reason{}, false
	}
	bestP, partner, rate := 1.0, false, Rate{}
	try := func(isPartner bool, r Rate) {
		lambda := math.Max(r.BaselinePerDay, cfg.MinBaselinePerDay) * days
		if p := PoissonTail(r.Count, lambda); p < bestP {
			bestP, partner, rate = p, isPartner, r
		}
	}
	if in.Code != nil {
		try(false, in.Agg.CodeRate)
	}
	if in.Partner != nil && (in.Code == nil || in.Agg.PartnerRate != in.Agg.CodeRate) {
		try(true, in.Agg.PartnerRate)
	}
	s := surprise(bestP, 3, 8)
	if s == 0 {
		return Reason{}, false
	}
	who := ""
	if partner {
		who = "partner " + in.Partner.ID
	} else {
		who = "code " + in.Code.Code
	}
	w := 0.35
	if in.Partner != nil && len(in.Clicks) > 0 {
		w = 0.15
	}
	return Reason{
		Detail: fmt.Sprintf("%s: %d redemptions in %s, baseline %.1f/day", who, rate.Count,
			fmtWindow(in.Agg.Window), rate.BaselinePerDay),
		Evidence: map[string]any{"subject": who, "count": rate.Count, "baseline_per_day": round3(rate.BaselinePerDay),
			"p_value": bestP},
		Weight: w * s,
	}, true
}

// DuplicateClick fires when the order's click id already converted for
// another shopper: one click is one visit by one person. The same shopper
// ordering twice from one visit is normal and ignored. Weight 0.95, or 0.90
// on the first repeat.
func DuplicateClick(in *Inputs, _ *Config) (Reason, bool) {
	n := in.Agg.ClickIDPriorOthers
	if in.Order.ClickID == "" || n < 1 {
		return Reason{}, false
	}
	w := 0.90
	if n > 1 {
		w = 0.95
	}
	return Reason{
		Detail:   fmt.Sprintf("click %s already converted for %d other shopper(s)", in.Order.ClickID, n),
		Evidence: map[string]any{"click_id": in.Order.ClickID, "prior_other_orders": n},
		Weight:   w,
	}, true
}

// ClickFlood fires when an IP in the click trail made many clicks in the
// hour before: ramp(clicks, ClickFloodLow → ClickFloodHigh) × 0.50. Offices
// and carrier NAT put many people behind one address, so this signal only
// corroborates.
func ClickFlood(in *Inputs, cfg *Config) (Reason, bool) {
	s := ramp(float64(in.Agg.ClickIPClicks), float64(cfg.ClickFloodLow), float64(cfg.ClickFloodHigh))
	if s == 0 {
		return Reason{}, false
	}
	return Reason{
		Detail:   fmt.Sprintf("the click's IP made %d clicks in the hour before", in.Agg.ClickIPClicks),
		Evidence: map[string]any{"clicks_per_hour": in.Agg.ClickIPClicks},
		Weight:   0.50 * s,
	}, true
}

// BotUserAgent fires when a click in the trail, or the order itself, came
// from an automation user agent (IsBotUserAgent). A missing user agent on the
// order is unknown (orders created by apps or POS have none), not a bot.
// Weight 0.85.
func BotUserAgent(in *Inputs, _ *Config) (Reason, bool) {
	for _, c := range in.Clicks {
		if IsBotUserAgent(c.UserAgent) {
			return Reason{
				Detail:   fmt.Sprintf("click %s came from an automated user agent %q", c.ID, truncate(c.UserAgent, 80)),
				Evidence: map[string]any{"click_id": c.ID, "user_agent": c.UserAgent, "ip": c.IP.String()},
				Weight:   0.85,
			}, true
		}
	}
	if ua := in.Order.UserAgent; ua != "" && IsBotUserAgent(ua) {
		return Reason{
			Detail:   fmt.Sprintf("order placed by an automated user agent %q", truncate(ua, 80)),
			Evidence: map[string]any{"user_agent": ua},
			Weight:   0.85,
		}, true
	}
	return Reason{}, false
}

// FastClickToOrder fires when the order was completed less than
// Config.MinClickToOrder after its last click. Fast shoppers with saved
// payment details take tens of seconds; a few seconds is a script.
// Weight 0.85.
func FastClickToOrder(in *Inputs, cfg *Config) (Reason, bool) {
	c, ok := in.LastClick()
	if !ok || cfg.MinClickToOrder <= 0 {
		return Reason{}, false
	}
	d := in.Order.At.Sub(c.At)
	if d < 0 || d >= cfg.MinClickToOrder {
		return Reason{}, false
	}
	return Reason{
		Detail:   fmt.Sprintf("order completed %.1fs after click %s", d.Seconds(), c.ID),
		Evidence: map[string]any{"click_id": c.ID, "seconds": round3(d.Seconds())},
		Weight:   0.85,
	}, true
}

// DatacenterIP fires when the order or its click came from a datacenter
// range. On its own that is weak (corporate VPNs and privacy relays exit
// from clouds): 0.30, or 0.40 when both did. Repeated orders from the same
// cloud /24 inside the window are what automation looks like, and raise it
// towards 0.90: base + (0.90 − base) × ramp(prefix orders, 2 → 5).
func DatacenterIP(in *Inputs, cfg *Config) (Reason, bool) {
	if cfg.Datacenters == nil {
		return Reason{}, false
	}
	orderDC := cfg.Datacenters.Contains(in.Order.IP)
	clickDC := false
	for _, c := range in.Clicks {
		if cfg.Datacenters.Contains(c.IP) {
			clickDC = true
			break
		}
	}
	if !orderDC && !clickDC {
		return Reason{}, false
	}
	base := 0.30
	if orderDC && clickDC {
		base = 0.40
	}
	w := base
	if orderDC {
		w += (0.90 - base) * ramp(float64(in.Agg.PrefixOrders), 2, 5)
	}
	return Reason{
		Detail: fmt.Sprintf("datacenter address (order: %v, click: %v); %d orders from %s in %s",
			orderDC, clickDC, in.Agg.PrefixOrders, prefixOf(in.Order.IP), fmtWindow(in.Agg.Window)),
		Evidence: map[string]any{"order_ip": in.Order.IP.String(), "order_datacenter": orderDC,
			"click_datacenter": clickDC, "prefix_orders": in.Agg.PrefixOrders},
		Weight: w,
	}, true
}

// SelfReferral fires when the buyer is the credited partner: same customer
// id, or the same mailbox after NormalizeEmail. Weight 0.95.
func SelfReferral(in *Inputs, _ *Config) (Reason, bool) {
	p := in.Partner
	if p == nil {
		return Reason{}, false
	}
	same, known := sameShopper(p.CustomerID, p.Email, in.Order.CustomerID, in.Order.Email)
	if !known || !same {
		return Reason{}, false
	}
	return Reason{
		Detail:   fmt.Sprintf("buyer %s is partner %s", firstNonEmpty(in.Order.Email, in.Order.CustomerID), p.ID),
		Evidence: map[string]any{"partner_email": p.Email, "buyer_email": in.Order.Email},
		Weight:   0.95,
	}, true
}

// RefundRate fires when the credited partner's orders are refunded far more
// often than the rest of the shop's. "Far" is a test, not a ratio: with at
// least 5 refunds, the partner's refunds must be improbable even if its true
// rate were three times the shop's (without the partner) —
// P(X ≥ refunded | orders, 3 × shop rate) — so a partner selling a product
// that is returned twice as often as the rest is not a fraudster, however
// many orders it has. Weight 0.90 × ramp(−log10 p, 4 → 10). Refunds arrive
// days after the order, so this signal matters most when a held conversion
// is re-scored before its hold ends.
func RefundRate(in *Inputs, _ *Config) (Reason, bool) {
	if in.Partner == nil {
		return Reason{}, false
	}
	r := in.Agg.Refunds
	if r.PartnerRefunded < 5 || r.PartnerOrders == 0 {
		return Reason{}, false
	}
	rest := float64(r.ShopRefunded-r.PartnerRefunded+1) / float64(r.ShopOrders-r.PartnerOrders+2)
	rest = math.Max(rest, 0.01)
	rate := float64(r.PartnerRefunded) / float64(r.PartnerOrders)
	if rate < 3*rest {
		return Reason{}, false
	}
	p := BinomialTail(r.PartnerRefunded, r.PartnerOrders, math.Min(0.95, 3*rest))
	s := surprise(p, 4, 10)
	if s == 0 {
		return Reason{}, false
	}
	return Reason{
		Detail: fmt.Sprintf("partner %s: %d of %d orders refunded (%.0f%%), shop %.1f%%", in.Partner.ID,
			r.PartnerRefunded, r.PartnerOrders, 100*rate, 100*rest),
		Evidence: map[string]any{"partner_orders": r.PartnerOrders, "partner_refunded": r.PartnerRefunded,
			"shop_rate": round3(rest), "p_value": p},
		Weight: 0.90 * s,
	}, true
}

// RuleViolation fires when the order breaks one of its campaign's targeting
// rules (country, device, traffic source, channel). Unknown values are not
// held against the order. The traffic source is the order's, else the last
// click's. Weight 0.80.
func RuleViolation(in *Inputs, _ *Config) (Reason, bool) {
	r := in.Rules
	src := in.Order.TrafficSource
	if c, ok := in.LastClick(); ok && src == "" {
		src = c.Source
	}
	for _, chk := range []struct {
		rule  string
		allow []string
		v     string
	}{
		{"countries", r.Countries, in.Order.Country},
		{"devices", r.Devices, in.Order.Device},
		{"traffic_sources", r.TrafficSources, src},
		{"channels", r.Channels, in.Order.Channel},
	} {
		if len(chk.allow) == 0 || chk.v == "" {
			continue
		}
		if slices.ContainsFunc(chk.allow, func(a string) bool { return strings.EqualFold(strings.TrimSpace(a), chk.v) }) {
			continue
		}
		return Reason{
			Detail:   fmt.Sprintf("%s %q is outside the campaign's %s", chk.rule, chk.v, strings.Join(chk.allow, ", ")),
			Evidence: map[string]any{"rule": chk.rule, "value": chk.v, "allowed": chk.allow},
			Weight:   0.80,
		}, true
	}
	return Reason{}, false
}

func firstNonEmpty(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

func round3(x float64) float64 { return math.Round(x*1000) / 1000 }

func fmtWindow(d time.Duration) string {
	if d%(24*time.Hour) == 0 && d > 0 {
		return fmt.Sprintf("%dd", int(d/(24*time.Hour)))
	}
	return d.String()
}
