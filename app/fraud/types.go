package fraud

import (
	"net/netip"
	"time"
)

// CodeKind tells a code that belongs to one shopper from a shareable one.
type CodeKind string

// Code kinds.
const (
	CodeUnique CodeKind = "unique" // issued to one shopper (issue API, cart recovery)
	CodeVanity CodeKind = "vanity" // a partner's shareable code ("ANA10")
)

// Order is the part of a Shopify order the signals read. At is when the order
// was completed; it is the "now" of every signal.
type Order struct {
	ID            string     `json:"id"`
	At            time.Time  `json:"at"`
	CustomerID    string     `json:"customer_id,omitempty"`
	Email         string     `json:"email,omitempty"`
	IP            netip.Addr `json:"ip"`
	UserAgent     string     `json:"user_agent,omitempty"`
	Device        string     `json:"device,omitempty"`  // mobile, desktop, tablet
	Country       string     `json:"country,omitempty"` // ISO 3166-1 alpha-2
	Channel       string     `json:"channel,omitempty"`
	TrafficSource string     `json:"traffic_source,omitempty"`
	ClickID       string     `json:"click_id,omitempty"` // from the landing URL, if any
}

// Code is the discount code an order used, and to whom it was given.
type Code struct {
	Code       string   `json:"code"`
	Kind       CodeKind `json:"kind"`
	CampaignID string   `json:"campaign_id,omitempty"`
	PartnerID  string   `json:"partner_id,omitempty"`
	// IssuedToCustomer and IssuedToEmail name the shopper a unique code was
	// issued to; both empty for a code given to nobody in particular.
	IssuedToCustomer string `json:"issued_to_customer,omitempty"`
	IssuedToEmail    string `json:"issued_to_email,omitempty"`
	SingleUse        bool   `json:"single_use,omitempty"`
}

// Partner is the partner credited with the order.
type Partner struct {
	ID         string `json:"id"`
	Email      string `json:"email,omitempty"`
	CustomerID string `json:"customer_id,omitempty"` // the partner's own Shopify customer, if known
}

// Click is one SmartLink click in the order's trail.
type Click struct {
	ID        string     `json:"id"`
	At        time.Time  `json:"at"`
	PartnerID string     `json:"partner_id,omitempty"`
	IP        netip.Addr `json:"ip"`
	UserAgent string     `json:"user_agent,omitempty"`
	Device    string     `json:"device,omitempty"`
	Country   string     `json:"country,omitempty"`
	Source    string     `json:"source,omitempty"` // traffic source (utm_source / referrer class)
}

// Restrictions are the campaign's targeting rules that Shopify cannot enforce.
// An empty list allows everything; an empty order value is not held against
// the order (the same convention as app/campaign.Check).
type Restrictions struct {
	Countries      []string `json:"countries,omitempty"`
	Devices        []string `json:"devices,omitempty"`
	TrafficSources []string `json:"traffic_sources,omitempty"`
	Channels       []string `json:"channels,omitempty"`
}

// Spread counts what one code was seen with inside the aggregation window
// (including the order being scored), and how varied its history was.
type Spread struct {
	IPs       int `json:"ips"`
	Devices   int `json:"devices"`
	Countries int `json:"countries"`
	// NewCountries counts countries in the window that the code was not
	// redeemed from on its typical days before the window (the baseline
	// days of Tracker: up to 14, bursts left out — so the countries a leak
	// brought yesterday are still new today).
	NewCountries int `json:"new_countries"`
	// WindowRedemptions counts the code's redemptions in the window.
	WindowRedemptions int `json:"window_redemptions"`
	// HistRedemptions counts the code's redemptions on those typical days,
	// and HistSingletons the countries among them seen exactly once: their
	// ratio is the Good–Turing estimate of the chance that the next
	// redemption comes from a country not seen before.
	HistRedemptions int `json:"hist_redemptions"`
	HistSingletons  int `json:"hist_singletons"`
	// HistoryDays is how long the code had been redeemed before the window
	// began (0 for a code first seen inside it).
	HistoryDays float64 `json:"history_days"`
}

// Rate is a count of events inside the window and the baseline expectation
// for that window from the subject's history.
type Rate struct {
	// Count is the number of events inside the window, including this order.
	Count int `json:"count"`
	// BaselinePerDay is the subject's normal rate from its typical days
	// before the window (events per day); 0 with less than a day of history.
	BaselinePerDay float64 `json:"baseline_per_day"`
}

// ColdStats compares a partner's redemptions without a click trail inside
// the window with its typical days before the window (see Tracker for how
// burst days are left out of the history).
type ColdStats struct {
	WindowCold  int `json:"window_cold"`
	WindowTotal int `json:"window_total"`
	HistCold    int `json:"hist_cold"`
	HistTotal   int `json:"hist_total"`
}

// RefundStats are refund counts known at scoring time, for the partner and
// for the whole shop (the shop's figures include the partner's).
type RefundStats struct {
	PartnerOrders   int `json:"partner_orders"`
	PartnerRefunded int `json:"partner_refunded"`
	ShopOrders      int `json:"shop_orders"`
	ShopRefunded    int `json:"shop_refunded"`
}

// Aggregates is what the shop's history says around this order. The caller
// computes it from the events it has seen so far — never from verdicts — and
// [Tracker] is the reference definition of every field.
type Aggregates struct {
	// Window is the length of the window the window-counts cover.
	Window time.Duration `json:"window"`
	// CodePriorRedemptions counts earlier orders that used the same code.
	CodePriorRedemptions int `json:"code_prior_redemptions"`
	// CodeSpread is what the code was seen with in the window.
	CodeSpread Spread `json:"code_spread"`
	// CodeRate and PartnerRate are redemptions in the window versus baseline.
	CodeRate    Rate `json:"code_rate"`
	PartnerRate Rate `json:"partner_rate"`
	// PartnerCold compares cold (clickless) redemptions with history.
	PartnerCold ColdStats `json:"partner_cold"`
	// Refunds are the partner's and the shop's refund counts so far.
	Refunds RefundStats `json:"refunds"`
	// ClickIPClicks is the largest number of clicks any IP of the order's
	// click trail made in the hour before its click.
	ClickIPClicks int `json:"click_ip_clicks"`
	// ClickIDPriorOthers counts earlier orders by other shoppers that carried
	// the order's click id; ClickIDPriorSame those by the same shopper.
	ClickIDPriorOthers int `json:"click_id_prior_others"`
	ClickIDPriorSame   int `json:"click_id_prior_same"`
	// PrefixOrders counts orders in the window (including this one) from the
	// order IP's /24 (IPv4) or /48 (IPv6).
	PrefixOrders int `json:"prefix_orders"`
}

// Inputs is everything the signals may look at for one order.
type Inputs struct {
	Order   Order        `json:"order"`
	Code    *Code        `json:"code,omitempty"`    // nil: no code used
	Partner *Partner     `json:"partner,omitempty"` // nil: no partner credited
	Clicks  []Click      `json:"clicks,omitempty"`  // the partner click trail, oldest first
	Rules   Restrictions `json:"rules"`             // the code's campaign rules
	Agg     Aggregates   `json:"aggregates"`
}

// LastClick returns the newest click of the trail, if any.
func (in *Inputs) LastClick() (Click, bool) {
	if len(in.Clicks) == 0 {
		return Click{}, false
	}
	return in.Clicks[len(in.Clicks)-1], true
}

// Cold reports whether a partner-credited order has no click trail.
func (in *Inputs) Cold() bool { return in.Partner != nil && len(in.Clicks) == 0 }
