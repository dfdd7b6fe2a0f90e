package campaign

import (
	"slices"
	"strings"
)

// Request describes one request for a code (issue API, SmartLink click) or
// one conversion, as far as the targeting rules care. Empty fields are
// unknown.
type Request struct {
	Country         string // ISO 3166-1 alpha-2
	Device          string // mobile, desktop, tablet
	TrafficSource   string
	Channel         string
	PartnerID       int64 // 0: no partner
	CustomerSegment string
}

// Violation names the rule a request breaks and why.
type Violation struct {
	Rule   string `json:"rule"`   // countries, devices, traffic_sources, channels, partner_only, customer_segment
	Detail string `json:"detail"` // human-readable
}

// Check evaluates the targeting rules against req and returns the first
// rule it breaks, or nil. An empty rule list allows everything. A value the
// request does not know (empty) is not held against it — the caller cannot
// prove it either way, and conversions are re-checked when the order's
// facts arrive — except partner_only, which needs a partner.
func Check(r Rules, req Request) *Violation {
	in := func(list []string, v string, fold func(string) string) bool {
		v = fold(strings.TrimSpace(v))
		return slices.ContainsFunc(list, func(x string) bool { return fold(strings.TrimSpace(x)) == v })
	}
	if len(r.Countries) > 0 && req.Country != "" && !in(r.Countries, req.Country, strings.ToUpper) {
		return &Violation{Rule: "countries", Detail: "country " + strings.ToUpper(req.Country) + " is not in " + strings.Join(r.Countries, ", ")}
	}
	if len(r.Devices) > 0 && req.Device != "" && !in(r.Devices, req.Device, strings.ToLower) {
		return &Violation{Rule: "devices", Detail: "device " + req.Device + " is not in " + strings.Join(r.Devices, ", ")}
	}
	if len(r.TrafficSources) > 0 && req.TrafficSource != "" && !in(r.TrafficSources, req.TrafficSource, strings.ToLower) {
		return &Violation{Rule: "traffic_sources", Detail: "traffic source " + req.TrafficSource + " is not in " + strings.Join(r.TrafficSources, ", ")}
	}
	if len(r.Channels) > 0 && req.Channel != "" && !in(r.Channels, req.Channel, strings.ToLower) {
		return &Violation{Rule: "channels", Detail: "channel " + req.Channel + " is not in " + strings.Join(r.Channels, ", ")}
	}
	if r.PartnerOnly && req.PartnerID == 0 {
		return &Violation{Rule: "partner_only", Detail: "the campaign only issues codes to partners"}
	}
	if seg := strings.TrimSpace(r.CustomerSegment); seg != "" && req.CustomerSegment != "" && !strings.EqualFold(seg, strings.TrimSpace(req.CustomerSegment)) {
		return &Violation{Rule: "customer_segment", Detail: "customer is not in segment " + seg}
	}
	return nil
}
