package attribution

import (
	"fmt"
	"time"
)

// LineItem is one line of an order, in minor units of shop money.
type LineItem struct {
	ID            string
	ProductID     string
	Title         string
	Quantity      int64
	PriceMinor    int64 // unit price before discounts
	DiscountMinor int64 // discount allocated to the whole line
}

// Order is what the attribution job knows about a Shopify order. Amounts
// are shop money in minor units: GrossMinor is the line items before
// discounts, DiscountMinor the discounts, NetMinor what the shop keeps from
// the items (gross − discount; no shipping or tax).
type Order struct {
	ID            string
	Currency      string
	CreatedAt     time.Time
	GrossMinor    int64
	NetMinor      int64
	DiscountMinor int64
	LineItems     []LineItem
	DiscountCodes []string // as entered; matched case-insensitively
	LandingURL    string   // Shopify landing_site: path or URL with ct_click and utm_* parameters
	ReferringSite string
	CustomerID    string
	CustomerEmail string
	CheckoutToken string
}

// CodeKind says whether a code was issued to one shopper or is a partner's
// shareable (vanity) code.
type CodeKind string

// Code kinds.
const (
	// KindUnique is a code issued to one shopper; it is single use.
	KindUnique CodeKind = "unique"
	// KindVanity is a partner's shareable code (ANA10), redeemable up to
	// its usage cap.
	KindVanity CodeKind = "vanity"
)

// IssuedCode is a code coupontrail issued or registered, as the job loads it
// for the codes an order used.
type IssuedCode struct {
	Code          string
	CampaignID    string
	PartnerID     string
	Channel       string
	Kind          CodeKind
	IssuedToID    string // customer id the code was issued to, if any
	IssuedToEmail string // email the code was issued to, if any
	IssuedAt      time.Time
	// PriorRedemptions are the ids of other orders already recorded as
	// redeeming this code. The order being attributed may appear here too
	// (a redelivered webhook); it is ignored, so re-running is idempotent.
	PriorRedemptions []string
	// UsageCap is a vanity code's cap on redemptions (0: none).
	UsageCap int
}

// Click is a recorded SmartLink click.
type Click struct {
	ID         string
	At         time.Time
	PartnerID  string
	CampaignID string
	Channel    string
	IP         string
	UserAgent  string
	Device     string
	Country    string
}

// TouchKind is the kind of a touchpoint.
type TouchKind string

// Touchpoint kinds.
const (
	TouchClick      TouchKind = "click"       // a SmartLink click
	TouchCodeIssued TouchKind = "code_issued" // a code issued to the shopper (issue API, Flow)
	TouchOrderUTM   TouchKind = "order_utm"   // the order's own landing UTM tags
	TouchOnsite     TouchKind = "onsite"      // an on-site touch (popup, banner)
	// TouchCodeUsed is a matched code typed at checkout: Attribute adds it
	// at the order's time, because a partner's code is itself a touch,
	// usually the last one.
	TouchCodeUsed TouchKind = "code_used"
)

// Touchpoint is one marketing touch on the shopper's path. Ref identifies
// what it refers to (click id, code, utm string) and de-duplicates the
// touches Attribute derives from the order against those passed in.
type Touchpoint struct {
	Kind       TouchKind `json:"kind"`
	At         time.Time `json:"at"`
	Channel    string    `json:"channel,omitempty"`
	PartnerID  string    `json:"partner_id,omitempty"`
	CampaignID string    `json:"campaign_id,omitempty"`
	Ref        string    `json:"ref,omitempty"`
}

// Partner is what crediting needs to know about a partner.
type Partner struct {
	ID         string
	Name       string
	Commission Commission
}

// PolicyKind is a shop's crediting policy.
type PolicyKind string

// Crediting policies (PRODUCT.md §7).
const (
	// CouponWins credits the code when a code and a click disagree.
	CouponWins PolicyKind = "coupon_wins"
	// ClickWins credits the click when a code and a click disagree.
	ClickWins PolicyKind = "click_wins"
	// PerPartner lets each partner's contract decide (Policy.Overrides).
	PerPartner PolicyKind = "per_partner"
	// SplitCredit divides the credit by Policy.Split.
	SplitCredit PolicyKind = "split"
)

// SplitMode says how SplitCredit divides credit.
type SplitMode string

// Split modes.
const (
	// SplitWeighted gives the code side CouponWeight and the click side
	// ClickWeight; several codes share the code side equally.
	SplitWeighted SplitMode = "weighted"
	// SplitEqual gives every credited party the same share.
	SplitEqual SplitMode = "equal"
)

// SplitRule configures SplitCredit. The zero value is weighted 50/50.
type SplitRule struct {
	Mode         SplitMode
	CouponWeight int64
	ClickWeight  int64
}

// DefaultWindowDays is the attribution window when a policy names none.
const DefaultWindowDays = 30

// ClockSkew is how far a click or touch may be stamped after the order and
// still count: clicks are stamped by our servers and orders by Shopify.
const ClockSkew = 5 * time.Minute

// Policy is a shop's crediting policy as the attribution job applies it.
type Policy struct {
	Kind PolicyKind
	// WindowDays bounds how old a click, an issued unique code or a
	// touchpoint may be (in 24-hour days before the order) to count;
	// 0 means DefaultWindowDays.
	WindowDays int
	// Overrides gives a partner's own rule under PerPartner (partner id ->
	// CouponWins, ClickWins or SplitCredit).
	Overrides map[string]PolicyKind
	// Fallback is the rule under PerPartner when no partner involved has
	// an override; empty means CouponWins.
	Fallback PolicyKind
	// Split configures SplitCredit (and an override to it).
	Split SplitRule
	// Partners are the commission rules in force, by partner id. A partner
	// missing here earns no commission.
	Partners map[string]Partner
}

// Window returns the attribution window.
func (p Policy) Window() time.Duration {
	d := p.WindowDays
	if d <= 0 {
		d = DefaultWindowDays
	}
	return time.Duration(d) * 24 * time.Hour
}

// Validate reports a policy the settings API must refuse.
func (p Policy) Validate() error {
	okRule := func(k PolicyKind) bool { return k == CouponWins || k == ClickWins || k == SplitCredit }
	if !okRule(p.Kind) && p.Kind != PerPartner {
		return fmt.Errorf("attribution: unknown crediting policy %q", p.Kind)
	}
	if p.WindowDays < 0 || p.WindowDays > 365 {
		return fmt.Errorf("attribution: attribution window %d days: must be 0..365", p.WindowDays)
	}
	for id, k := range p.Overrides {
		if !okRule(k) {
			return fmt.Errorf("attribution: partner %s: override %q must be coupon_wins, click_wins or split", id, k)
		}
	}
	if p.Fallback != "" && !okRule(p.Fallback) {
		return fmt.Errorf("attribution: fallback %q must be coupon_wins, click_wins or split", p.Fallback)
	}
	switch p.Split.Mode {
	case "", SplitWeighted, SplitEqual:
	default:
		return fmt.Errorf("attribution: unknown split mode %q", p.Split.Mode)
	}
	if p.Split.CouponWeight < 0 || p.Split.ClickWeight < 0 {
		return fmt.Errorf("attribution: split weights must not be negative")
	}
	for id, pa := range p.Partners {
		if pa.Commission.PercentBP < 0 || pa.Commission.PercentBP > TotalShare || pa.Commission.FixedMinor < 0 {
			return fmt.Errorf("attribution: partner %s: commission out of range", id)
		}
	}
	return nil
}

// Rule names what credited a line (and the result as a whole).
type Rule string

// Rules.
const (
	RuleCode         Rule = "code"           // only codes matched (several share equally)
	RuleClick        Rule = "click"          // only a click matched
	RuleCodeAndClick Rule = "code_and_click" // code(s) and click credit the same party
	RuleCouponWins   Rule = "coupon_wins"    // code and click disagreed; the code won
	RuleClickWins    Rule = "click_wins"     // code and click disagreed; the click won
	RuleSplit        Rule = "split"          // code and click disagreed; credit split
	RuleUnattributed Rule = "unattributed"   // no code or click, but marketing touches or UTM tags
	RuleOrganic      Rule = "organic"        // no code, click, touch or UTM tags at all
)

// FlagKind names an observation for the fraud layer to score.
type FlagKind string

// Flag kinds.
const (
	FlagSecondRedemption FlagKind = "second_redemption"  // a single-use code redeemed by another order before
	FlagWrongShopper     FlagKind = "wrong_shopper"      // a code used by someone other than the shopper it was issued to
	FlagUsageCapExceeded FlagKind = "usage_cap_exceeded" // a vanity code redeemed beyond its cap
)

// Flag is an observation for the fraud layer; it does not change credit.
type Flag struct {
	Kind   FlagKind `json:"kind"`
	Code   string   `json:"code,omitempty"`
	Detail string   `json:"detail"`
}

// Line is one credited party of a conversion. Amounts is what the line is
// worth now (after refunds); Original is what it was credited at attribution.
type Line struct {
	CampaignID string
	PartnerID  string
	Channel    string
	Code       string
	ClickID    string
	Share      int64 // basis points; a result's shares sum to TotalShare
	Amounts    Amounts
	Original   Amounts
	// CommissionRule is the partner's rule at attribution time, kept so
	// refunds recompute commission under the rule the conversion earned.
	CommissionRule Commission
	Rule           Rule
	Evidence       string
}

// UTM holds the landing URL's utm_* parameters.
type UTM struct {
	Source   string `json:"source,omitempty"`
	Medium   string `json:"medium,omitempty"`
	Campaign string `json:"campaign,omitempty"`
	Content  string `json:"content,omitempty"`
	Term     string `json:"term,omitempty"`
}

// IsZero reports whether no UTM parameter was present.
func (u UTM) IsZero() bool { return u == UTM{} }

// CodeEvidence is what Attribute found for one discount code of the order.
type CodeEvidence struct {
	Code       string    `json:"code"`
	Matched    bool      `json:"matched"`
	Kind       CodeKind  `json:"kind,omitempty"`
	CampaignID string    `json:"campaign_id,omitempty"`
	PartnerID  string    `json:"partner_id,omitempty"`
	Channel    string    `json:"channel,omitempty"`
	IssuedAt   time.Time `json:"issued_at,omitzero"`
	Counted    bool      `json:"counted"`
	Note       string    `json:"note,omitempty"`
}

// ClickEvidence is what Attribute found for the landing URL's click id.
type ClickEvidence struct {
	ID         string    `json:"id"`
	Found      bool      `json:"found"`
	At         time.Time `json:"at,omitzero"`
	PartnerID  string    `json:"partner_id,omitempty"`
	CampaignID string    `json:"campaign_id,omitempty"`
	Channel    string    `json:"channel,omitempty"`
	Counted    bool      `json:"counted"`
	Note       string    `json:"note,omitempty"`
}

// Evidence explains a result: Text for people (merchants and partners argue
// over it), the rest for machines.
type Evidence struct {
	Text          string         `json:"text"`
	Policy        PolicyKind     `json:"policy"`
	WindowDays    int            `json:"window_days"`
	Override      string         `json:"override,omitempty"` // "partner p1: click_wins" under per_partner
	Codes         []CodeEvidence `json:"codes,omitempty"`
	Click         *ClickEvidence `json:"click,omitempty"`
	UTM           UTM            `json:"utm,omitzero"`
	ReferringSite string         `json:"referring_site,omitempty"`
	Touchpoints   int            `json:"touchpoints"` // touches in the window, including derived ones
}

// Result is the attribution of one order. Lines always cover the whole
// order (shares sum to TotalShare, amounts to the order's), also for organic
// and unattributed orders, which become outcome-only lines without partner
// or commission: the incrementality reports need every order.
type Result struct {
	OrderID    string
	Currency   string
	Policy     PolicyKind
	Rule       Rule
	Attributed bool // a code or click was credited
	// AttributedAt is the now Attribute was given.
	AttributedAt time.Time
	Lines        []Line
	Totals       Amounts
	// Path is the shopper's touches within the window, oldest first, for the
	// multi-touch report models (see PathFromTouchpoints).
	Path     []Touchpoint
	UTM      UTM
	Evidence Evidence
	Flags    []Flag
}
