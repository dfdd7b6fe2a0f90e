package devstore

import (
	"fmt"
	"net/url"
	"time"

	"github.com/coupontrail/coupontrail/app/fraud"
)

// Labelled abuse for the demo and for measuring fraud detection against a
// running app: AbuseTraffic turns a labelled fraud scenario (fraud.Simulate:
// clean traffic with shared office IPs, carrier NAT, VPNs, repeat
// customers, bursts and genuine refunds, mixed with a leaked code on a deal
// site, a bot click farm, self-referring partners, a refund farm, replayed
// click ids, checkout automation on cloud VMs and out-of-area promotion)
// into what the dev store's control API and the app's SmartLinks take:
// clicks to replay through GET /l/{slug}, orders for POST
// /_dev/shops/{shop}/orders and refunds for .../refunds, each in time order
// and each order labelled with its true abuse kind.

// AbuseClick is one SmartLink click to replay: the partner's link, from IP
// with UserAgent at At. ClickID is the id orders carry in their landing
// URL (ct_click) — the replayer maps it to the id the app assigns.
type AbuseClick struct {
	ClickID   string
	PartnerID string // scenario partner ("p04"); "" for a newsletter click
	At        time.Time
	IP        string
	UserAgent string
	Country   string
	Device    string
	Source    string
}

// AbuseOrder is one order to place, with its ground truth.
type AbuseOrder struct {
	Input OrderInput
	// Label is the abuse kind ("" for clean traffic), Noise the confusing
	// pattern or the abuse variant (diagnostics).
	Label, Noise string
	// PartnerID and Code name the scenario partner and code to set up (the
	// partner's vanity code, or a personal single-use code issued to
	// IssuedTo).
	PartnerID, Code, CodeKind, IssuedTo string
	// RefundAt is when to refund it in full (zero: never).
	RefundAt time.Time
}

// AbusePartner is a scenario partner to create before replaying.
type AbusePartner struct {
	ID, Email, Code string
	// Countries, TrafficSources restrict the partner's campaign (empty: no
	// restriction).
	Countries, TrafficSources []string
}

// AbuseTraffic is a replayable labelled scenario.
type AbuseTraffic struct {
	Start    time.Time
	Partners []AbusePartner
	Clicks   []AbuseClick
	Orders   []AbuseOrder
	// Labelled counts the orders per abuse kind ("" = clean).
	Labelled map[string]int
}

// GenerateAbuse builds a labelled scenario of about n orders over 40 days
// from start, with the default mix (about 10% abuse). The same seed gives
// the same traffic.
func GenerateAbuse(seed uint64, n int, start time.Time) AbuseTraffic {
	sc := fraud.Simulate(seed, n, fraud.DefaultMix())
	shift := start.Sub(sc.Start)
	out := AbuseTraffic{Start: start, Labelled: map[string]int{}}
	partners := map[string]bool{}
	for _, c := range sc.AllClicks {
		out.Clicks = append(out.Clicks, AbuseClick{ClickID: c.ID, PartnerID: c.PartnerID, At: c.At.Add(shift), IP: c.IP.String(),
			UserAgent: c.UserAgent, Country: c.Country, Device: c.Device, Source: c.Source})
	}
	for _, o := range sc.Orders {
		in := o.Inputs
		ao := AbuseOrder{Label: string(o.Label), Noise: o.Noise}
		at := in.Order.At.Add(shift)
		ao.Input = OrderInput{Email: in.Order.Email, BrowserIP: in.Order.IP.String(), UserAgent: in.Order.UserAgent,
			Country: in.Order.Country, CreatedAt: &at, Currency: "USD", SourceName: "web",
			LineItems: []LineItemInput{{Title: "Demo tee", Price: "50.00", Quantity: 1}}}
		land := url.Values{}
		if in.Order.ClickID != "" {
			land.Set("ct_click", in.Order.ClickID)
		}
		ao.Input.LandingSite = "/products/demo-tee"
		if len(land) > 0 {
			ao.Input.LandingSite += "?" + land.Encode()
		}
		if in.Code != nil {
			ao.Code, ao.CodeKind = in.Code.Code, string(in.Code.Kind)
			ao.IssuedTo = in.Code.IssuedToEmail
			ao.Input.DiscountCodes = []string{in.Code.Code}
		}
		if p := in.Partner; p != nil {
			ao.PartnerID = p.ID
			if !partners[p.ID] {
				partners[p.ID] = true
				ap := AbusePartner{ID: p.ID, Email: p.Email, Countries: in.Rules.Countries, TrafficSources: in.Rules.TrafficSources}
				if in.Code != nil {
					ap.Code = in.Code.Code
				}
				out.Partners = append(out.Partners, ap)
			}
		}
		if !o.RefundAt.IsZero() {
			ao.RefundAt = o.RefundAt.Add(shift)
		}
		out.Labelled[ao.Label]++
		out.Orders = append(out.Orders, ao)
	}
	return out
}

// Summary describes the scenario in one line.
func (t AbuseTraffic) Summary() string {
	return fmt.Sprintf("%d orders (%d clean), %d clicks, %d partners; abuse %v", len(t.Orders), t.Labelled[""], len(t.Clicks),
		len(t.Partners), t.Labelled)
}
