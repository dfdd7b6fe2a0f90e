package campaign

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Campaign statuses.
const (
	StatusDraft  = "draft"
	StatusActive = "active"
	StatusPaused = "paused"
	StatusEnded  = "ended"
)

// Discount types.
const (
	DiscountPercentage   = "percentage"
	DiscountFixedAmount  = "fixed_amount"
	DiscountFreeShipping = "free_shipping"
)

// Goals lists the campaign goals (PRODUCT.md §4).
var Goals = []string{"acquisition", "retention", "cart_recovery", "win_back", "partner"}

// Channels lists the channels a code can be issued through (PRODUCT.md §4).
var Channels = []string{"email", "sms", "whatsapp", "push", "affiliate", "influencer", "paid", "organic", "tv", "other"}

// Devices lists the device types targeting rules may name.
var Devices = []string{"mobile", "desktop", "tablet"}

// MaxHoldout is the largest holdout share: holding back more than half of the
// eligible shoppers stops being a campaign.
const MaxHoldout = 0.5

// Error is a validation failure with a stable code for the API.
type Error struct {
	Code    string // e.g. "invalid_discount"
	Message string
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

func bad(code, format string, a ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, a...)}
}

// Env is what validation needs from outside: the shop's currency and how to
// parse a decimal amount in it (exactly, into minor units), and how to check
// a code format. ParseMinor must reject extra precision ("1.5" JPY).
type Env struct {
	Currency    string
	Exponent    int
	ParseMinor  func(amount string) (int64, error)
	CheckFormat func(CodeFormat) error
	Now         time.Time
}

// Decimal is a decimal number that JSON may carry as a number (15) or a
// string ("15", "5.00"). It is kept as text so that money never becomes a
// float.
type Decimal string

// UnmarshalJSON accepts a JSON number or string (null leaves it empty).
func (d *Decimal) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if string(b) == "null" {
		*d = ""
		return nil
	}
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*d = Decimal(strings.TrimSpace(s))
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("decimal: want a number or a string, got %s", b)
	}
	*d = Decimal(n.String())
	return nil
}

// FormatMinor renders minor units as a decimal string with exp decimals
// (1999, 2 -> "19.99"; 500, 0 -> "500").
func FormatMinor(minor int64, exp int) string {
	neg := minor < 0
	u := uint64(minor)
	if neg {
		u = uint64(-minor)
	}
	s := strconv.FormatUint(u, 10)
	if exp > 0 {
		if len(s) <= exp {
			s = strings.Repeat("0", exp-len(s)+1) + s
		}
		s = s[:len(s)-exp] + "." + s[len(s)-exp:]
	}
	if neg {
		s = "-" + s
	}
	return s
}

// CombinesWith says which other discount classes the campaign's discount
// stacks with. Shopify defaults all three to false.
type CombinesWith struct {
	OrderDiscounts    bool `json:"order_discounts"`
	ProductDiscounts  bool `json:"product_discounts"`
	ShippingDiscounts bool `json:"shipping_discounts"`
}

// Discount is what the shopper gets. Value is a percent (15 = 15 %) for
// percentage and an amount in the shop's currency for fixed_amount; it is
// empty for free_shipping. MinSubtotal is an amount in the shop's currency.
// Products and Collections are Shopify GIDs (or numeric ids); empty means
// every item.
type Discount struct {
	Type         string        `json:"type"`
	Value        Decimal       `json:"value"`
	MinSubtotal  *Decimal      `json:"min_subtotal"`
	Products     []string      `json:"products"`
	Collections  []string      `json:"collections"`
	CombinesWith *CombinesWith `json:"combines_with,omitempty"`
}

// MarshalJSON writes a percentage value as a number (15) and money as a
// decimal string ("5.00"), as the API contract shows them.
func (d Discount) MarshalJSON() ([]byte, error) {
	type plain Discount
	out := struct {
		plain
		Value any `json:"value"`
	}{plain: plain(d)}
	switch {
	case d.Value == "":
		out.Value = nil
	case d.Type == DiscountPercentage:
		out.Value = json.Number(d.Value)
	default:
		out.Value = string(d.Value)
	}
	if out.Products == nil {
		out.Products = []string{}
	}
	if out.Collections == nil {
		out.Collections = []string{}
	}
	return json.Marshal(out)
}

// CodeFormat mirrors the code format of app/codes (prefix, length of the
// random part, optional check character, optional separator and grouping).
type CodeFormat struct {
	Prefix    string `json:"prefix"`
	Length    int    `json:"length"`
	CheckChar bool   `json:"check_char"`
	Separator string `json:"separator,omitempty"`
	GroupSize int    `json:"group_size,omitempty"`
}

// Usage limits how often codes may be used. SingleUse makes every code good
// for one order; TotalCap caps redemptions across the campaign; Budget caps
// the discount spent (in shop currency, enforced by the app).
type Usage struct {
	SingleUse        bool     `json:"single_use"`
	OncePerCustomer  bool     `json:"once_per_customer"`
	TotalCap         *int     `json:"total_cap"`
	Budget           *Decimal `json:"budget"`
	CodesPerCustomer *int     `json:"codes_per_customer,omitempty"`
}

// Rules are the targeting rules the app enforces (Shopify cannot): an empty
// list allows everything.
type Rules struct {
	Countries       []string `json:"countries"`
	Devices         []string `json:"devices"`
	TrafficSources  []string `json:"traffic_sources"`
	Channels        []string `json:"channels"`
	PartnerOnly     bool     `json:"partner_only"`
	CustomerSegment string   `json:"customer_segment"`
}

// MarshalJSON writes empty lists as [] rather than null.
func (r Rules) MarshalJSON() ([]byte, error) {
	type plain Rules
	p := plain(r)
	for _, l := range []*[]string{&p.Countries, &p.Devices, &p.TrafficSources, &p.Channels} {
		if *l == nil {
			*l = []string{}
		}
	}
	return json.Marshal(p)
}

// Spec is everything a merchant decides about a campaign (status aside).
type Spec struct {
	Name         string
	Goal         string
	PartnerID    *int64
	Discount     Discount
	Code         CodeFormat
	Usage        Usage
	Rules        Rules
	StartsAt     time.Time
	EndsAt       *time.Time
	CodeTTLHours *int
	Holdout      float64
	HoldDays     *int
}

// normalize canonicalises s in place: trimmed names, upper-cased country
// codes, lower-cased devices and channels, money in the currency's exponent.
// Validate calls it; it assumes valid input.
func (s *Spec) normalize(env Env) {
	s.Name = strings.TrimSpace(s.Name)
	s.Code.Prefix = strings.ToUpper(strings.TrimSpace(s.Code.Prefix))
	for i, c := range s.Rules.Countries {
		s.Rules.Countries[i] = strings.ToUpper(strings.TrimSpace(c))
	}
	for _, l := range [][]string{s.Rules.Devices, s.Rules.Channels, s.Rules.TrafficSources} {
		for i, v := range l {
			l[i] = strings.ToLower(strings.TrimSpace(v))
		}
	}
	s.Rules.CustomerSegment = strings.TrimSpace(s.Rules.CustomerSegment)
	money := func(d *Decimal) {
		if d == nil || *d == "" || env.ParseMinor == nil {
			return
		}
		if m, err := env.ParseMinor(string(*d)); err == nil {
			*d = Decimal(FormatMinor(m, env.Exponent))
		}
	}
	if s.Discount.Type == DiscountFixedAmount {
		money(&s.Discount.Value)
	}
	if s.Discount.Type == DiscountFreeShipping {
		s.Discount.Value = ""
	}
	if s.Discount.MinSubtotal != nil && *s.Discount.MinSubtotal == "" {
		s.Discount.MinSubtotal = nil
	}
	money(s.Discount.MinSubtotal)
	if s.Usage.Budget != nil && *s.Usage.Budget == "" {
		s.Usage.Budget = nil
	}
	money(s.Usage.Budget)
}

func isCountry(c string) bool {
	if len(c) != 2 {
		return false
	}
	return c[0] >= 'A' && c[0] <= 'Z' && c[1] >= 'A' && c[1] <= 'Z'
}

// Validate checks s and, when it is valid, normalises it in place. The
// partner's ownership is checked by the caller (it needs the database).
func Validate(s *Spec, env Env) error {
	if err := validate(s, env); err != nil {
		return err
	}
	s.normalize(env)
	return nil
}

func validate(s *Spec, env Env) error {
	name := strings.TrimSpace(s.Name)
	if name == "" || len(name) > 200 {
		return bad("invalid_name", "name is required and at most 200 characters")
	}
	if !slices.Contains(Goals, s.Goal) {
		return bad("invalid_goal", "goal must be one of %s", strings.Join(Goals, ", "))
	}
	if err := validateDiscount(s.Discount, env); err != nil {
		return err
	}
	if env.CheckFormat != nil {
		if err := env.CheckFormat(s.Code); err != nil {
			return bad("invalid_code_format", "%v", err)
		}
	}
	u := s.Usage
	if u.TotalCap != nil && *u.TotalCap < 1 {
		return bad("invalid_usage", "usage.total_cap must be at least 1 (null for no cap)")
	}
	if u.CodesPerCustomer != nil && *u.CodesPerCustomer < 1 {
		return bad("invalid_usage", "usage.codes_per_customer must be at least 1")
	}
	if u.Budget != nil && *u.Budget != "" {
		if err := positiveMoney(string(*u.Budget), env); err != nil {
			return bad("invalid_budget", "usage.budget: %v", err)
		}
	}
	if err := validateRules(s.Rules); err != nil {
		return err
	}
	if s.StartsAt.IsZero() {
		return bad("invalid_starts_at", "starts_at is required")
	}
	if s.EndsAt != nil && !s.EndsAt.After(s.StartsAt) {
		return bad("invalid_ends_at", "ends_at must be after starts_at")
	}
	if s.CodeTTLHours != nil && (*s.CodeTTLHours < 1 || *s.CodeTTLHours > 24*366) {
		return bad("invalid_code_ttl", "code_ttl_hours must be between 1 and 8784 (null for codes that never expire)")
	}
	if math.IsNaN(s.Holdout) || s.Holdout < 0 || s.Holdout > MaxHoldout {
		return bad("invalid_holdout", "holdout must be between 0 and %v", MaxHoldout)
	}
	if s.HoldDays != nil && (*s.HoldDays < 0 || *s.HoldDays > 365) {
		return bad("invalid_hold_days", "hold_days must be between 0 and 365")
	}
	return nil
}

func positiveMoney(v string, env Env) error {
	if env.ParseMinor == nil {
		return fmt.Errorf("no currency")
	}
	m, err := env.ParseMinor(v)
	if err != nil {
		return fmt.Errorf("%q is not an amount in %s", v, env.Currency)
	}
	if m <= 0 {
		return fmt.Errorf("must be greater than 0")
	}
	return nil
}

func validateDiscount(d Discount, env Env) error {
	switch d.Type {
	case DiscountPercentage:
		p, err := strconv.ParseFloat(string(d.Value), 64)
		if err != nil || math.IsNaN(p) || p <= 0 || p > 100 {
			return bad("invalid_discount", "a percentage discount needs 0 < value <= 100 (15 means 15%%)")
		}
	case DiscountFixedAmount:
		if err := positiveMoney(string(d.Value), env); err != nil {
			return bad("invalid_discount", "a fixed_amount discount needs a value > 0 in %s: %v", env.Currency, err)
		}
	case DiscountFreeShipping:
		// No value: any value left over from another type is dropped by
		// normalize, so a PATCH may switch the type alone.
	default:
		return bad("invalid_discount_type", "discount.type must be percentage, fixed_amount or free_shipping")
	}
	if d.MinSubtotal != nil && *d.MinSubtotal != "" {
		if err := positiveMoney(string(*d.MinSubtotal), env); err != nil {
			return bad("invalid_min_subtotal", "discount.min_subtotal: %v", err)
		}
	}
	if len(d.Products) > 0 && len(d.Collections) > 0 {
		return bad("invalid_discount", "give products or collections, not both")
	}
	if len(d.Products) > 100 || len(d.Collections) > 100 {
		return bad("invalid_discount", "at most 100 products or collections")
	}
	for _, l := range [][]string{d.Products, d.Collections} {
		for _, id := range l {
			if strings.TrimSpace(id) == "" {
				return bad("invalid_discount", "empty product or collection id")
			}
		}
	}
	return nil
}

func validateRules(r Rules) error {
	for _, c := range r.Countries {
		if !isCountry(strings.TrimSpace(c)) {
			return bad("invalid_country", "country %q is not an ISO 3166-1 alpha-2 code (two upper-case letters)", c)
		}
	}
	for _, d := range r.Devices {
		if !slices.Contains(Devices, strings.ToLower(strings.TrimSpace(d))) {
			return bad("invalid_device", "device %q: must be one of %s", d, strings.Join(Devices, ", "))
		}
	}
	for _, ch := range r.Channels {
		if !slices.Contains(Channels, strings.ToLower(strings.TrimSpace(ch))) {
			return bad("invalid_channel", "channel %q: must be one of %s", ch, strings.Join(Channels, ", "))
		}
	}
	for _, ts := range r.TrafficSources {
		ts = strings.TrimSpace(ts)
		if ts == "" || len(ts) > 64 {
			return bad("invalid_traffic_source", "traffic sources must be non-empty and at most 64 characters")
		}
	}
	if len(r.CustomerSegment) > 200 {
		return bad("invalid_customer_segment", "customer_segment is at most 200 characters")
	}
	return nil
}

// ValidChannel reports whether ch is a known channel.
func ValidChannel(ch string) bool { return slices.Contains(Channels, ch) }

// Stored is a campaign as the store keeps it: the API's shapes as JSON.
type Stored struct {
	Name, Goal                   string
	PartnerID                    *int64
	Discount, Code, Usage, Rules []byte
	StartsAt                     time.Time
	EndsAt                       *time.Time
	CodeTTLHours                 *int
	Holdout                      float64
	HoldDays                     *int
}

// SpecOf decodes a stored campaign.
func SpecOf(st Stored) (Spec, error) {
	s := Spec{Name: st.Name, Goal: st.Goal, PartnerID: st.PartnerID, StartsAt: st.StartsAt, EndsAt: st.EndsAt,
		CodeTTLHours: st.CodeTTLHours, Holdout: st.Holdout, HoldDays: st.HoldDays}
	for _, p := range []struct {
		b []byte
		v any
	}{{st.Discount, &s.Discount}, {st.Code, &s.Code}, {st.Usage, &s.Usage}, {st.Rules, &s.Rules}} {
		if len(p.b) == 0 {
			continue
		}
		if err := json.Unmarshal(p.b, p.v); err != nil {
			return Spec{}, fmt.Errorf("campaign: decode stored campaign: %w", err)
		}
	}
	return s, nil
}
