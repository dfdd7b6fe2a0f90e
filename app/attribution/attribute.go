package attribution

import (
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// ClickParam is the landing-URL query parameter that carries a SmartLink's
// click id.
const ClickParam = "ct_click"

// party is one candidate for credit: a matched code, a click, or both when
// they point at the same partner (or, without partner, the same campaign).
type party struct {
	key                 string
	partner, campaign   string
	channel             string
	code, click         string
	codeChannel         string
	fromCode, fromClick bool
	weight              int64
}

func partyKey(partner, campaign string) string {
	if partner != "" {
		return "p:" + partner
	}
	return "c:" + campaign
}

// Attribute applies policy to order and returns its credit. codes are the
// issued codes the job loaded for the order's discount codes (others are
// ignored), clicks the clicks it loaded for the landing URL's click id, and
// touchpoints the shopper's touches; now is when the job runs and is only
// recorded (the window is relative to the order, so re-running an order
// later gives the same credit). Attribute is deterministic: the same inputs
// give the same Result, so re-running an order is idempotent.
//
// Matching: discount codes match issued codes case-insensitively; the click
// id comes from the landing URL's ct_click parameter (or from the landing
// URL inside a /discount/CODE?redirect= link). A click, a unique code's
// issuance and a touchpoint count only within the attribution window before
// the order; a vanity code counts whenever it is used, because typing it at
// checkout is itself the touch.
//
// Crediting: when codes and the click point at the same party, that party
// gets everything. When they disagree, the policy decides: CouponWins credits
// the codes (several codes share equally), ClickWins the click, SplitCredit
// divides by Policy.Split, and PerPartner applies the override of the first
// code's partner that has one, else the click's partner's, else
// Policy.Fallback — the code's owner decides first because a code typed at
// checkout is the stronger evidence. A policy kind that Validate would refuse
// is treated as CouponWins. Without a code or click the order is an
// outcome-only line: rule "unattributed" on the channel of its last touch or
// UTM tags, or "organic".
func Attribute(order Order, codes []IssuedCode, clicks []Click, touchpoints []Touchpoint, policy Policy, now time.Time) Result {
	window := policy.Window()
	from := order.CreatedAt.Add(-window)
	to := order.CreatedAt.Add(ClockSkew)
	inWindow := func(t time.Time) bool { return !t.Before(from) && !t.After(to) }

	res := Result{
		OrderID:      order.ID,
		Currency:     order.Currency,
		Policy:       policy.Kind,
		AttributedAt: now,
		Totals:       Amounts{Gross: order.GrossMinor, Net: order.NetMinor, Discount: order.DiscountMinor},
	}
	ev := &res.Evidence
	ev.Policy = policy.Kind
	ev.WindowDays = int(window / (24 * time.Hour))
	ev.ReferringSite = order.ReferringSite
	var text []string

	// Codes.
	var parties []party
	var derived []Touchpoint
	seen := make([]string, 0, len(order.DiscountCodes))
	for _, raw := range order.DiscountCodes {
		code := strings.ToUpper(strings.TrimSpace(raw))
		if code == "" || slices.Contains(seen, code) {
			continue
		}
		seen = append(seen, code)
		ce := CodeEvidence{Code: code}
		ic, ok := findCode(codes, code)
		if !ok {
			ce.Note = "not a coupontrail code"
			ev.Codes = append(ev.Codes, ce)
			text = append(text, "code "+code+" is not a coupontrail code")
			continue
		}
		ce.Matched, ce.Kind, ce.CampaignID, ce.PartnerID, ce.Channel, ce.IssuedAt =
			true, ic.Kind, ic.CampaignID, ic.PartnerID, ic.Channel, ic.IssuedAt
		res.Flags = appendCodeFlags(res.Flags, order, ic, code)
		switch {
		case ic.Kind == KindVanity:
			ce.Counted = true
		case ic.IssuedAt.After(to):
			ce.Note = "issued after the order"
		case ic.IssuedAt.Before(from):
			ce.Note = "issued " + days(order.CreatedAt.Sub(ic.IssuedAt)) + " before the order, outside the " + strconv.Itoa(ev.WindowDays) + "-day window"
		default:
			ce.Counted = true
		}
		ev.Codes = append(ev.Codes, ce)
		if !ce.Counted {
			text = append(text, "code "+code+" not credited: "+ce.Note)
			continue
		}
		text = append(text, "code "+code+" ("+string(ic.Kind)+describe(ic.PartnerID, ic.CampaignID, policy)+") used at checkout")
		parties = append(parties, party{
			key: partyKey(ic.PartnerID, ic.CampaignID), partner: ic.PartnerID, campaign: ic.CampaignID,
			channel: orOther(ic.Channel), codeChannel: ic.Channel, code: code, fromCode: true,
		})
		if ic.Kind == KindUnique && inWindow(ic.IssuedAt) {
			derived = append(derived, Touchpoint{Kind: TouchCodeIssued, At: ic.IssuedAt, Channel: ic.Channel, PartnerID: ic.PartnerID, CampaignID: ic.CampaignID, Ref: code})
		}
		derived = append(derived, Touchpoint{Kind: TouchCodeUsed, At: order.CreatedAt, Channel: ic.Channel, PartnerID: ic.PartnerID, CampaignID: ic.CampaignID, Ref: code})
	}

	// Click and UTM tags from the landing URL.
	clickID, utm := parseLanding(order.LandingURL)
	res.UTM, ev.UTM = utm, utm
	var clickParty *party
	if clickID != "" {
		ce := &ClickEvidence{ID: clickID}
		ev.Click = ce
		if c, ok := findClick(clicks, clickID); !ok {
			ce.Note = "no such click"
			text = append(text, "click "+clickID+" in the landing URL was not found")
		} else {
			ce.Found, ce.At, ce.PartnerID, ce.CampaignID, ce.Channel = true, c.At, c.PartnerID, c.CampaignID, c.Channel
			switch {
			case c.At.After(to):
				ce.Note = "stamped after the order"
			case c.At.Before(from):
				ce.Note = "clicked " + days(order.CreatedAt.Sub(c.At)) + " before the order, outside the " + strconv.Itoa(ev.WindowDays) + "-day window"
			default:
				ce.Counted = true
			}
			if ce.Counted {
				text = append(text, "click "+c.ID+describe(c.PartnerID, c.CampaignID, policy)+" led to the order "+days(order.CreatedAt.Sub(c.At))+" before it")
				clickParty = &party{
					key: partyKey(c.PartnerID, c.CampaignID), partner: c.PartnerID, campaign: c.CampaignID,
					channel: orOther(c.Channel), click: c.ID, fromClick: true,
				}
				derived = append(derived, Touchpoint{Kind: TouchClick, At: c.At, Channel: c.Channel, PartnerID: c.PartnerID, CampaignID: c.CampaignID, Ref: c.ID})
			} else {
				text = append(text, "click "+c.ID+" not credited: "+ce.Note)
			}
		}
	}
	if !utm.IsZero() {
		derived = append(derived, Touchpoint{Kind: TouchOrderUTM, At: order.CreatedAt, Channel: ChannelFromUTM(utm.Source, utm.Medium), Ref: utm.Source + "/" + utm.Medium + "/" + utm.Campaign})
	}

	// The path: given touches in the window plus the derived ones not
	// already among them, oldest first (ties keep input order, so the code
	// used at checkout comes last).
	path := make([]Touchpoint, 0, len(touchpoints)+len(derived))
	for _, t := range touchpoints {
		if inWindow(t.At) {
			path = append(path, t)
		}
	}
	for _, d := range derived {
		if !slices.ContainsFunc(path, func(t Touchpoint) bool { return t.Kind == d.Kind && t.Ref == d.Ref && d.Ref != "" }) {
			path = append(path, d)
		}
	}
	slices.SortStableFunc(path, func(a, b Touchpoint) int { return a.At.Compare(b.At) })
	res.Path = path
	ev.Touchpoints = len(path)

	// Crediting.
	switch {
	case len(parties) == 0 && clickParty == nil:
		res.Rule = RuleOrganic
		ch, campaign := "organic", ""
		for i := len(path) - 1; i >= 0; i-- {
			if path[i].Channel != "" || path[i].CampaignID != "" {
				res.Rule, ch, campaign = RuleUnattributed, orOther(path[i].Channel), path[i].CampaignID
				break
			}
		}
		if res.Rule == RuleOrganic && !utm.IsZero() {
			res.Rule, ch = RuleUnattributed, ChannelFromUTM(utm.Source, utm.Medium)
		}
		if res.Rule == RuleOrganic {
			text = append(text, "no code, click, touchpoint or UTM tags: organic")
		} else {
			text = append(text, "no code or click credited: outcome counted for channel "+ch+", no commission")
		}
		parties = []party{{channel: ch, campaign: campaign, weight: 1}}
	case clickParty == nil:
		res.Rule, res.Attributed = RuleCode, true
		equalWeights(parties)
		if len(parties) > 1 {
			text = append(text, strconv.Itoa(len(parties))+" codes share the credit equally")
		}
	case len(parties) == 0:
		res.Rule, res.Attributed = RuleClick, true
		parties = []party{*clickParty}
		parties[0].weight = 1
	default:
		res.Attributed = true
		same := true
		for _, p := range parties {
			same = same && p.key == clickParty.key
		}
		if same {
			res.Rule = RuleCodeAndClick
			equalWeights(parties)
			attachClick(parties, *clickParty)
			text = append(text, "code and click credit the same "+partyNoun(clickParty.partner))
			break
		}
		kind := policy.Kind
		if kind == PerPartner {
			kind, ev.Override = resolveOverride(policy, parties, *clickParty)
			text = append(text, "per-partner rule: "+ev.Override)
		}
		switch kind {
		case ClickWins:
			res.Rule = RuleClickWins
			p := *clickParty
			for _, cp := range parties {
				if cp.key == p.key && p.code == "" {
					p.code, p.campaign = cp.code, cp.campaign
				}
			}
			p.weight = 1
			parties = []party{p}
			text = append(text, "code and click disagree; click wins")
		case SplitCredit:
			res.Rule = RuleSplit
			parties = splitParties(policy.Split, parties, *clickParty)
			text = append(text, "code and click disagree; credit split ("+splitDesc(policy.Split)+")")
		default: // CouponWins, and an unknown kind
			res.Rule = RuleCouponWins
			equalWeights(parties)
			attachClick(parties, *clickParty)
			text = append(text, "code and click disagree; coupon wins")
		}
	}

	// Money.
	weights := make([]int64, len(parties))
	for i, p := range parties {
		weights[i] = p.weight
	}
	shares := Split(TotalShare, weights)
	gross := Split(order.GrossMinor, shares)
	net := Split(order.NetMinor, shares)
	disc := Split(order.DiscountMinor, shares)
	res.Lines = make([]Line, len(parties))
	for i, p := range parties {
		l := Line{
			CampaignID: p.campaign, PartnerID: p.partner, Channel: p.channel, Code: p.code, ClickID: p.click,
			Share: shares[i], Rule: res.Rule,
		}
		if pa, ok := policy.Partners[p.partner]; ok && p.partner != "" && res.Attributed {
			l.CommissionRule = pa.Commission
		}
		l.Amounts = Amounts{Gross: gross[i], Net: net[i], Discount: disc[i]}
		l.Amounts.Commission = l.CommissionRule.For(net[i], shares[i])
		l.Original = l.Amounts
		l.Evidence = lineEvidence(p, l, res.Rule)
		res.Totals.Commission += l.Amounts.Commission
		res.Lines[i] = l
	}
	ev.Text = strings.Join(text, "; ")
	return res
}

func findCode(codes []IssuedCode, code string) (IssuedCode, bool) {
	for _, c := range codes {
		if strings.EqualFold(strings.TrimSpace(c.Code), code) {
			return c, true
		}
	}
	return IssuedCode{}, false
}

func findClick(clicks []Click, id string) (Click, bool) {
	for _, c := range clicks {
		if c.ID == id {
			return c, true
		}
	}
	return Click{}, false
}

// appendCodeFlags records what the fraud layer must score about a code's use.
func appendCodeFlags(flags []Flag, order Order, ic IssuedCode, code string) []Flag {
	var others []string
	for _, id := range ic.PriorRedemptions {
		if id != order.ID && !slices.Contains(others, id) {
			others = append(others, id)
		}
	}
	if ic.Kind != KindVanity && len(others) > 0 {
		flags = append(flags, Flag{Kind: FlagSecondRedemption, Code: code,
			Detail: "single-use code " + code + " already redeemed by order " + strings.Join(others, ", ")})
	}
	if ic.Kind == KindVanity && ic.UsageCap > 0 && len(others) >= ic.UsageCap {
		flags = append(flags, Flag{Kind: FlagUsageCapExceeded, Code: code,
			Detail: "code " + code + " redeemed " + strconv.Itoa(len(others)+1) + " times, cap " + strconv.Itoa(ic.UsageCap)})
	}
	if wrongShopper(order, ic) {
		flags = append(flags, Flag{Kind: FlagWrongShopper, Code: code,
			Detail: "code " + code + " was issued to " + shopper(ic.IssuedToID, ic.IssuedToEmail) + " but used by " + shopper(order.CustomerID, order.CustomerEmail)})
	}
	return flags
}

// wrongShopper reports a code issued to a shopper and used by someone else.
// It is the same shopper if the customer ids or the emails match; it is
// someone else only if some identifier can be compared and none matches (a
// guest order without email proves nothing either way).
func wrongShopper(o Order, ic IssuedCode) bool {
	if ic.IssuedToID == "" && ic.IssuedToEmail == "" {
		return false
	}
	compared := false
	if ic.IssuedToID != "" && o.CustomerID != "" {
		if ic.IssuedToID == o.CustomerID {
			return false
		}
		compared = true
	}
	if e1, e2 := normEmail(ic.IssuedToEmail), normEmail(o.CustomerEmail); e1 != "" && e2 != "" {
		if e1 == e2 {
			return false
		}
		compared = true
	}
	return compared
}

func normEmail(e string) string { return strings.ToLower(strings.TrimSpace(e)) }

func shopper(id, email string) string {
	switch {
	case id != "" && email != "":
		return "customer " + id + " <" + email + ">"
	case id != "":
		return "customer " + id
	case email != "":
		return "<" + email + ">"
	}
	return "an unknown shopper"
}

// parseLanding extracts the click id and UTM tags from a Shopify
// landing_site, which is usually a path with a query. A discount link
// (/discount/CODE?redirect=/products/x%3Fct_click%3D...) lands on its
// redirect target, so its redirect parameter is searched too.
func parseLanding(landing string) (clickID string, utm UTM) {
	if landing == "" {
		return "", UTM{}
	}
	u, err := url.Parse(strings.TrimSpace(landing))
	if err != nil {
		return "", UTM{}
	}
	q := u.Query()
	if r := q.Get("redirect"); r != "" {
		if ru, err := url.Parse(r); err == nil {
			inner := ru.Query()
			for k, v := range inner {
				if _, ok := q[k]; !ok {
					q[k] = v
				}
			}
		}
	}
	utm = UTM{
		Source: q.Get("utm_source"), Medium: q.Get("utm_medium"), Campaign: q.Get("utm_campaign"),
		Content: q.Get("utm_content"), Term: q.Get("utm_term"),
	}
	return strings.TrimSpace(q.Get(ClickParam)), utm
}

// ChannelFromUTM maps UTM tags onto coupontrail's channels (PRODUCT.md §4);
// it returns "" without tags and "other" for tags it does not know.
func ChannelFromUTM(source, medium string) string {
	m := strings.ToLower(strings.TrimSpace(medium))
	s := strings.ToLower(strings.TrimSpace(source))
	switch m {
	case "email", "e-mail", "newsletter":
		return "email"
	case "sms", "text":
		return "sms"
	case "whatsapp":
		return "whatsapp"
	case "push", "web_push":
		return "push"
	case "affiliate", "affiliates", "partner":
		return "affiliate"
	case "influencer", "creator":
		return "influencer"
	case "cpc", "ppc", "paid", "paidsearch", "paid_search", "display", "cpm", "paid_social", "paidsocial":
		return "paid"
	case "organic", "seo", "referral", "social":
		return "organic"
	case "tv":
		return "tv"
	case "":
		switch s {
		case "":
			return ""
		case "whatsapp", "sms", "email", "push", "tv":
			return s
		}
	}
	return "other"
}

func equalWeights(ps []party) {
	for i := range ps {
		ps[i].weight = 1
	}
}

// attachClick records the click on the first code party of the same key.
func attachClick(ps []party, c party) {
	for i := range ps {
		if ps[i].key == c.key {
			ps[i].click, ps[i].fromClick = c.click, true
			if ps[i].codeChannel == "" {
				ps[i].channel = c.channel
			}
			return
		}
	}
}

// resolveOverride picks the rule under PerPartner.
func resolveOverride(p Policy, codes []party, click party) (PolicyKind, string) {
	for _, c := range codes {
		if k, ok := p.Overrides[c.partner]; ok && c.partner != "" {
			return k, "partner " + c.partner + " (code " + c.code + "): " + string(k)
		}
	}
	if k, ok := p.Overrides[click.partner]; ok && click.partner != "" {
		return k, "partner " + click.partner + " (click): " + string(k)
	}
	k := p.Fallback
	if k == "" {
		k = CouponWins
	}
	return k, "no override, fallback " + string(k)
}

// splitParties weights the code parties and the click party under a split
// rule, merging the click into a code party of the same key.
func splitParties(r SplitRule, codes []party, click party) []party {
	out := append([]party(nil), codes...)
	idx := -1
	for i := range out {
		if out[i].key == click.key {
			idx = i
			break
		}
	}
	if r.Mode == SplitEqual {
		equalWeights(out)
		if idx < 0 {
			click.weight = 1
			out = append(out, click)
		} else {
			out[idx].click, out[idx].fromClick = click.click, true
		}
		return out
	}
	cw, kw := r.CouponWeight, r.ClickWeight
	if cw == 0 && kw == 0 {
		cw, kw = 1, 1
	}
	// Each code party gets cw/len(codes): scale to integers by len(codes).
	n := int64(len(codes))
	for i := range out {
		out[i].weight = cw
	}
	if idx < 0 {
		click.weight = kw * n
		out = append(out, click)
	} else {
		out[idx].weight += kw * n
		out[idx].click, out[idx].fromClick = click.click, true
	}
	return out
}

func splitDesc(r SplitRule) string {
	if r.Mode == SplitEqual {
		return "equal"
	}
	cw, kw := r.CouponWeight, r.ClickWeight
	if cw == 0 && kw == 0 {
		cw, kw = 1, 1
	}
	return "coupon " + strconv.FormatInt(cw, 10) + " : click " + strconv.FormatInt(kw, 10)
}

func lineEvidence(p party, l Line, rule Rule) string {
	var b strings.Builder
	b.WriteString(string(rule))
	b.WriteString(": ")
	switch {
	case p.code != "" && p.click != "":
		b.WriteString("code " + p.code + " and click " + p.click)
	case p.code != "":
		b.WriteString("code " + p.code)
	case p.click != "":
		b.WriteString("click " + p.click)
	default:
		b.WriteString("channel " + l.Channel)
	}
	if p.partner != "" {
		b.WriteString(" credit partner " + p.partner)
	} else if p.campaign != "" {
		b.WriteString(" credit campaign " + p.campaign)
	}
	b.WriteString(", share " + strconv.FormatInt(l.Share/100, 10) + "." + pad2(l.Share%100) + "%")
	return b.String()
}

func pad2(v int64) string {
	if v < 10 {
		return "0" + strconv.FormatInt(v, 10)
	}
	return strconv.FormatInt(v, 10)
}

func describe(partner, campaign string, p Policy) string {
	switch {
	case partner != "":
		if pa, ok := p.Partners[partner]; ok && pa.Name != "" {
			return ", partner " + pa.Name + " [" + partner + "]"
		}
		return ", partner " + partner
	case campaign != "":
		return ", campaign " + campaign
	}
	return ""
}

func partyNoun(partner string) string {
	if partner != "" {
		return "partner " + partner
	}
	return "campaign"
}

func orOther(ch string) string {
	if ch == "" {
		return "other"
	}
	return ch
}

// days renders a duration in whole days, or hours/minutes below a day.
func days(d time.Duration) string {
	switch {
	case d >= 48*time.Hour:
		return strconv.FormatInt(int64(d/(24*time.Hour)), 10) + " days"
	case d >= 24*time.Hour:
		return "1 day"
	case d >= time.Hour:
		return strconv.FormatInt(int64(d/time.Hour), 10) + "h"
	case d >= 0:
		return strconv.FormatInt(int64(d/time.Minute), 10) + "m"
	}
	return "-" + days(-d)
}
