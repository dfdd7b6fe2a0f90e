package fraud

import (
	"cmp"
	"fmt"
	"math"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"time"
)

// Mix is the share of the simulated orders that each abuse kind makes up;
// the rest is clean traffic.
type Mix struct {
	LeakedCode     float64 `json:"leaked_code"`
	BotClicks      float64 `json:"bot_clicks"`
	SelfReferral   float64 `json:"self_referral"`
	RefundFarm     float64 `json:"refund_farm"`
	DuplicateClick float64 `json:"duplicate_click"`
	DatacenterIP   float64 `json:"datacenter_ip"`
	RuleViolation  float64 `json:"rule_violation"`
}

// DefaultMix is about 10% abuse, led by leaked codes (merchants' top
// complaint).
func DefaultMix() Mix {
	return Mix{LeakedCode: 0.03, BotClicks: 0.015, SelfReferral: 0.008, RefundFarm: 0.015,
		DuplicateClick: 0.012, DatacenterIP: 0.015, RuleViolation: 0.01}
}

// SimOrder is one simulated order with its ground truth.
type SimOrder struct {
	// Inputs is what the store knows when the order completes.
	Inputs Inputs
	// Review is what it knows when the conversion's hold ends and it is
	// re-scored: the same order, with aggregates from Tracker.Review —
	// refund counts as of then, and code/partner counts over the window
	// centred on the order.
	Review Inputs
	// Label is the true abuse kind; KindNone for a clean order.
	Label IncidentKind
	// Noise names the confusing-but-clean pattern that produced a clean
	// order ("office_ip", "carrier_nat", "vpn", "fast_buyer", "popular_burst",
	// "repeat_customer", "email_variant", "same_click_repeat", ...), or the
	// variant of an abuse kind; for diagnostics only.
	Noise    string
	Refunded bool
	// RefundAt is when the order was refunded (zero when it was not).
	RefundAt time.Time
}

// Scenario is a simulated shop: its orders in time order, with labels.
type Scenario struct {
	Seed   uint64
	Start  time.Time
	Days   int
	Hold   time.Duration
	Orders []SimOrder
	Clicks int // clicks generated, converting or not
	// AllClicks are those clicks in time order, so the scenario can be
	// replayed through a real store.
	AllClicks []Click
}

// Simulate generates a labelled shop history of about n orders (n plus or
// minus a few: some clean patterns come in pairs) over 40 days, with abuse
// mixed in per mix, and computes every order's aggregates with a [Tracker]
// fed the event stream (clicks, orders, refunds) in time order — the store's
// view, without labels. The same seed gives the same scenario.
//
// Abuse, as it looks in the wild:
//   - leaked_code: two partners' shareable codes posted on a deal site —
//     a burst of clickless redemptions from strangers worldwide; and
//     personal single-use codes reposted and redeemed by strangers.
//   - bot_clicks: an affiliate's click farm behind residential proxies —
//     floods of clicks, either with automation user agents or with spoofed
//     browsers that complete "orders" within three seconds of the click.
//   - self_referral: partners buying through their own code or link under
//     a dotted, +tagged or re-cased address.
//   - refund_farm: an affiliate whose accomplices order and then refund
//     most orders.
//   - duplicate_click: a partner's genuine click ids replayed into other
//     shoppers' orders (click injection).
//   - datacenter_ip: a checkout-automation ring on cloud VMs.
//   - rule_violation: a US/CA-only, influencer-traffic campaign promoted
//     abroad and on paid search.
//
// Clean traffic carries the noise that confuses naive rules: shared office
// IPs and carrier NAT, VPN users on cloud addresses, repeat customers,
// dotted/+tagged Gmail addresses, popular partners with bursts after each
// post and a high share of typed-in (clickless) codes, an international
// partner, shoppers who buy within a minute of clicking, second orders from
// the same visit, and genuine refunds (one partner with a poor product at
// twice the shop's refund rate).
func Simulate(seed uint64, n int, mix Mix) Scenario {
	g := newGen(seed)
	count := func(f float64) int { return int(math.Round(f * float64(n))) }
	nLeak, nBot, nSelf := count(mix.LeakedCode), count(mix.BotClicks), count(mix.SelfReferral)
	nFarm, nDup, nDC, nRule := count(mix.RefundFarm), count(mix.DuplicateClick), count(mix.DatacenterIP), count(mix.RuleViolation)
	nClean := max(0, n-nLeak-nBot-nSelf-nFarm-nDup-nDC-nRule)

	g.setupPartners()
	g.clean(nClean)
	g.leaked(nLeak)
	g.botClicks(nBot)
	g.selfReferral(nSelf)
	g.refundFarm(nFarm)
	g.duplicateClicks(nDup)
	g.datacenter(nDC)
	g.ruleViolations(nRule)
	g.backgroundClicks()
	return g.run()
}

const (
	simDays = 40
	simHold = 14 * 24 * time.Hour
)

type customer struct {
	id, email, country, device, ua string
	home, office, mobile, vpn      netip.Addr
}

type simPartner struct {
	p          Partner
	code       Code
	rules      Restrictions
	weight     float64
	coldShare  float64
	refundRate float64
	countries  []weighted
	source     string
	posts      []time.Time
}

type weighted struct {
	v string
	w float64
}

type draft struct {
	in       Inputs
	label    IncidentKind
	noise    string
	refundAt time.Time
	cust     *customer
}

type gen struct {
	seed      uint64
	rng       *rand.Rand
	start     time.Time
	dc        *IPSet
	dcV4      []netip.Prefix
	orders    []*draft
	clicks    []Click
	nClick    int
	nCust     int
	loyal     []*customer
	partners  []*simPartner // clean partners, by popularity
	offices   []netip.Addr
	carrier   []netip.Addr
	vpns      []netip.Addr
	victims   []*simPartner
	selfRefs  []*simPartner
	dupSrc    *simPartner
	geo       *simPartner
	nextIndex int
}

func newGen(seed uint64) *gen {
	g := &gen{
		seed:  seed,
		rng:   rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		start: time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC),
		dc:    DefaultDatacenters(),
	}
	for _, p := range DefaultDatacenterPrefixes() {
		if p.Addr().Is4() && p.Bits() <= 24 {
			g.dcV4 = append(g.dcV4, p)
		}
	}
	for range 40 {
		g.offices = append(g.offices, g.residentialIP())
	}
	for range 30 {
		g.carrier = append(g.carrier, g.residentialIP())
	}
	for range 12 {
		g.vpns = append(g.vpns, g.datacenterIP())
	}
	return g
}

var (
	shopCountries = []weighted{{"US", .5}, {"CA", .1}, {"GB", .1}, {"DE", .06}, {"FR", .05}, {"AU", .05},
		{"NL", .03}, {"ES", .03}, {"IT", .03}, {"SE", .02}, {"BR", .02}, {"MX", .01}}
	dealSiteCountries = []weighted{{"US", .25}, {"GB", .08}, {"CA", .06}, {"IN", .08}, {"PH", .05}, {"DE", .05},
		{"FR", .04}, {"AU", .04}, {"BR", .05}, {"MX", .04}, {"NG", .03}, {"PK", .03}, {"ID", .03}, {"TR", .03},
		{"PL", .03}, {"ES", .03}, {"IT", .03}, {"NL", .02}, {"ZA", .02}, {"AR", .02}, {"CO", .02}, {"VN", .02}}
	hourWeights = []float64{1, .6, .4, .3, .3, .4, .8, 1.5, 2, 2.3, 2.5, 2.6, 2.8, 2.7, 2.6, 2.6, 2.8, 3, 3.3, 3.6, 3.8, 3.5, 2.6, 1.7}
	userAgents  = map[string][]string{
		"mobile": {
			"Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
			"Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36",
			"Mozilla/5.0 (Linux; Android 13; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/125.0.0.0 Mobile Safari/537.36",
			"Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 Instagram 330.0.0.40.92 (iPhone15,3; iOS 17_4; en_US; en; scale=3.00; 1290x2796; 601420827)",
			"Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 [FBAN/FBIOS;FBAV/470.0.0.38.109;FBBV/613094413;FBDV/iPhone14,5;FBMD/iPhone;FBSN/iOS;FBSV/17.4]",
			"Mozilla/5.0 (Linux; Android 12; CUBOT KINGKONG 7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.6367.82 Mobile Safari/537.36",
		},
		"desktop": {
			"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
			"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15",
			"Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:127.0) Gecko/20100101 Firefox/127.0",
			"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36 Edg/126.0.0.0",
		},
		"tablet": {
			"Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
			"Mozilla/5.0 (Linux; Android 13; SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/125.0.0.0 Safari/537.36",
		},
	}
	botAgents = []string{
		"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/125.0.0.0 Safari/537.36",
		"python-requests/2.32.3",
		"Mozilla/5.0 (Unknown; Linux x86_64) AppleWebKit/538.1 (KHTML, like Gecko) PhantomJS/2.1.1 Safari/538.1",
		"Go-http-client/1.1",
		"axios/1.7.2",
	}
	firstNames = []string{"ana", "ben", "carla", "dev", "emma", "farid", "grace", "hugo", "ines", "jon", "kim", "liam",
		"maria", "noah", "olga", "priya", "quinn", "rosa", "sam", "tara", "uma", "victor", "wei", "yara", "zoe"}
	lastNames = []string{"smith", "garcia", "muller", "rossi", "tanaka", "khan", "silva", "dubois", "novak", "jensen",
		"oconnor", "kowalski", "nguyen", "haddad", "moreau", "fischer"}
	mailDomains = []weighted{{"gmail.com", .4}, {"yahoo.com", .12}, {"outlook.com", .12}, {"icloud.com", .12},
		{"hotmail.com", .08}, {"proton.me", .04}, {"web.de", .04}, {"acme-corp.com", .08}}
)

func (g *gen) f() float64                   { return g.rng.Float64() }
func (g *gen) between(a, b float64) float64 { return a + (b-a)*g.f() }
func (g *gen) pick(ws []weighted) string {
	t := 0.0
	for _, w := range ws {
		t += w.w
	}
	x := g.f() * t
	for _, w := range ws {
		if x -= w.w; x < 0 {
			return w.v
		}
	}
	return ws[len(ws)-1].v
}
func (g *gen) oneOf(xs []string) string { return xs[g.rng.IntN(len(xs))] }
func (g *gen) dur(a, b time.Duration) time.Duration {
	return a + time.Duration(g.f()*float64(b-a))
}

// at returns a time on a day in [dayFrom, dayTo) at an hour drawn from the
// shop's daily curve.
func (g *gen) at(dayFrom, dayTo float64) time.Time {
	day := math.Floor(g.between(dayFrom, dayTo))
	x := g.f() * hourTotal
	h := 0
	for h < 23 {
		if x -= hourWeights[h]; x < 0 {
			break
		}
		h++
	}
	return g.start.Add(time.Duration(day)*24*time.Hour + time.Duration(h)*time.Hour + g.dur(0, time.Hour))
}

var hourTotal = func() float64 {
	t := 0.0
	for _, w := range hourWeights {
		t += w
	}
	return t
}()

func (g *gen) end() time.Time { return g.start.Add(simDays * 24 * time.Hour) }

var residentialFirstOctets = []int{24, 47, 67, 68, 69, 71, 72, 73, 75, 76, 81, 82, 86, 90, 98, 108, 109, 187, 189, 201}

func (g *gen) residentialIP() netip.Addr {
	for {
		a := netip.AddrFrom4([4]byte{byte(g.oneOfInt(residentialFirstOctets)), byte(g.rng.IntN(256)), byte(g.rng.IntN(256)), byte(1 + g.rng.IntN(254))})
		if !g.dc.Contains(a) {
			return a
		}
	}
}

func (g *gen) oneOfInt(xs []int) int { return xs[g.rng.IntN(len(xs))] }

func (g *gen) datacenterIP() netip.Addr {
	p := g.dcV4[g.rng.IntN(len(g.dcV4))]
	b := p.Addr().As4()
	x := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	x |= g.rng.Uint32() & (1<<(32-p.Bits()) - 1)
	x = x&^0xff | uint32(1+g.rng.IntN(254))
	return netip.AddrFrom4([4]byte{byte(x >> 24), byte(x >> 16), byte(x >> 8), byte(x)})
}

func (g *gen) email() string {
	d := g.pick(mailDomains)
	g.nCust++
	return fmt.Sprintf("%s.%s%d@%s", g.oneOf(firstNames), g.oneOf(lastNames), g.nCust, d)
}

// emailVariant spells the same mailbox differently: dots for Gmail, a
// +tag, or capitals.
func (g *gen) emailVariant(e string) string {
	at := strings.LastIndexByte(e, '@')
	local, domain := e[:at], e[at:]
	switch r := g.f(); {
	case domain == "@gmail.com" && r < 0.4:
		local = strings.ReplaceAll(local, ".", "")
		if len(local) > 3 {
			local = local[:2] + "." + local[2:]
		}
	case r < 0.75:
		local += "+" + g.oneOf([]string{"shop", "deals", "promo", "x"})
	default:
		local = strings.ToUpper(local[:1]) + local[1:]
	}
	return local + domain
}

func (g *gen) device() string {
	return g.pick([]weighted{{"mobile", .55}, {"desktop", .38}, {"tablet", .07}})
}

func (g *gen) newCustomer(country string) *customer {
	if country == "" {
		country = g.pick(shopCountries)
	}
	c := &customer{email: g.email(), country: country, device: g.device(), home: g.residentialIP()}
	c.id = fmt.Sprintf("c%d", g.nCust)
	c.ua = g.oneOf(userAgents[c.device])
	if g.f() < 0.3 {
		c.office = g.offices[g.rng.IntN(len(g.offices))]
	}
	if c.device == "mobile" && g.f() < 0.45 {
		c.mobile = g.carrier[g.rng.IntN(len(g.carrier))]
	}
	if g.f() < 0.008 {
		c.vpn = g.vpns[g.rng.IntN(len(g.vpns))]
	}
	return c
}

// shopperFor returns a returning customer 30% of the time (from the
// country set if one is given), else a new one.
func (g *gen) shopperFor(countries []weighted) *customer {
	if len(g.loyal) > 20 && g.f() < 0.3 {
		for range 8 {
			c := g.loyal[g.rng.IntN(len(g.loyal))]
			if countries == nil || slices.ContainsFunc(countries, func(w weighted) bool { return w.v == c.country }) {
				return c
			}
		}
	}
	country := ""
	if countries != nil {
		country = g.pick(countries)
	}
	c := g.newCustomer(country)
	if g.f() < 0.15 {
		g.loyal = append(g.loyal, c)
	}
	return c
}

// ipFor is the address a customer orders from at t, and what kind of
// address it is.
func (g *gen) ipFor(c *customer, t time.Time) (netip.Addr, string) {
	switch {
	case c.vpn.IsValid():
		return c.vpn, "vpn"
	case c.mobile.IsValid():
		return c.mobile, "carrier_nat"
	case c.office.IsValid() && t.Weekday() != time.Saturday && t.Weekday() != time.Sunday && t.Hour() >= 9 && t.Hour() < 17:
		return c.office, "office_ip"
	}
	return c.home, ""
}

func (g *gen) order(c *customer, t time.Time) Order {
	ip, _ := g.ipFor(c, t)
	o := Order{At: t, Email: c.email, IP: ip, UserAgent: c.ua, Device: c.device, Country: c.country}
	if g.f() < 0.6 {
		o.CustomerID = c.id
	}
	return o
}

func (g *gen) click(t time.Time, partnerID string, ip netip.Addr, ua, device, country, source string) Click {
	g.nClick++
	c := Click{ID: fmt.Sprintf("k%07d", g.nClick), At: t, PartnerID: partnerID, IP: ip, UserAgent: ua,
		Device: device, Country: country, Source: source}
	g.clicks = append(g.clicks, c)
	return c
}

// trail gives an order a click some time before it; the click id is in the
// landing URL when the visit that converted began with it.
func (g *gen) trail(o *Order, c *customer, partnerID, source string) ([]Click, string) {
	noise := ""
	var d time.Duration
	switch r := g.f(); {
	case r < 0.06:
		d, noise = g.dur(8*time.Second, 60*time.Second), "fast_buyer"
	case r < 0.7:
		d = g.dur(time.Minute, 30*time.Minute)
	default:
		d = g.dur(time.Hour, 72*time.Hour)
	}
	ip := o.IP
	if g.f() < 0.2 {
		ip = c.home
	}
	k := g.click(o.At.Add(-d), partnerID, ip, o.UserAgent, o.Device, o.Country, source)
	if d < 2*time.Hour {
		o.ClickID = k.ID
	}
	return []Click{k}, noise
}

func (g *gen) add(d *draft) { g.orders = append(g.orders, d) }

func (g *gen) newPartner(i int, weight float64) *simPartner {
	email := g.email()
	p := &simPartner{
		p:          Partner{ID: fmt.Sprintf("p%02d", i), Email: email, CustomerID: fmt.Sprintf("c%d", g.nCust)},
		weight:     weight,
		coldShare:  g.between(0.08, 0.45),
		refundRate: g.between(0.03, 0.08),
		countries:  []weighted{{"US", .8}, {"CA", .12}, {"GB", .08}},
		source:     g.oneOf([]string{"affiliate", "influencer"}),
	}
	p.code = Code{Code: fmt.Sprintf("%s%02d", strings.ToUpper(strings.Split(email, ".")[0]), 10+i), Kind: CodeVanity,
		CampaignID: "partners", PartnerID: p.p.ID}
	return p
}

func (g *gen) setupPartners() {
	for i := range 30 {
		g.partners = append(g.partners, g.newPartner(i+1, 1/math.Pow(float64(i+1), 0.9)))
	}
	// The three most popular post and get bursts; one of them is followed
	// worldwide; one mid-size partner sells a product with many returns.
	for _, p := range g.partners[:3] {
		for range 3 {
			p.posts = append(p.posts, g.at(1, simDays-2))
		}
	}
	g.partners[1].countries = shopCountries
	g.partners[6].refundRate = 0.12
	g.victims = []*simPartner{g.partners[3], g.partners[7]}
	g.dupSrc = g.partners[4]
	g.geo = g.partners[5]
	g.geo.source = "influencer"
	g.geo.code.CampaignID = "na-influencers"
	g.geo.rules = Restrictions{Countries: []string{"US", "CA"}, TrafficSources: []string{"influencer"}}
	g.geo.countries = []weighted{{"US", .85}, {"CA", .15}}
	g.selfRefs = []*simPartner{g.partners[8], g.partners[10], g.partners[12], g.partners[15], g.partners[20]}
}

func (g *gen) partnerInputs(p *simPartner, o Order) Inputs {
	o.Channel, o.TrafficSource = p.source, ""
	pp, code := p.p, p.code
	return Inputs{Order: o, Code: &code, Partner: &pp, Rules: p.rules}
}

func (g *gen) refund(d *draft, rate float64) {
	if g.f() < rate {
		d.refundAt = d.in.Order.At.Add(g.dur(24*time.Hour, 20*24*time.Hour))
	}
}

func (g *gen) clean(n int) {
	total := 0.0
	for _, p := range g.partners {
		total += p.weight
	}
	for made := 0; made < n; made++ {
		switch r := g.f(); {
		case r < 0.30: // organic: no code, no partner
			c := g.shopperFor(nil)
			d := &draft{in: Inputs{Order: g.order(c, g.at(0, simDays))}, cust: c}
			d.in.Order.Channel = "organic"
			g.refund(d, 0.05)
			g.add(d)
		case r < 0.52: // personal single-use code from an e-mail or SMS
			made += g.uniqueCodeOrder(nil) - 1
		default:
			x := g.f() * total
			p := g.partners[len(g.partners)-1]
			for _, q := range g.partners {
				if x -= q.weight; x < 0 {
					p = q
					break
				}
			}
			made += g.partnerOrder(p) - 1
		}
	}
}

// uniqueCodeOrder issues a personal code and has its owner use it; it
// returns the number of orders made (1). If leak is not nil the code is
// returned through it for reposting.
func (g *gen) uniqueCodeOrder(leak func(Code, *draft)) int {
	c := g.shopperFor(nil)
	g.nextIndex++
	code := Code{Code: fmt.Sprintf("CART%06d", g.nextIndex), Kind: CodeUnique, CampaignID: "cart-recovery", SingleUse: true,
		IssuedToEmail: c.email}
	if g.f() < 0.7 {
		code.IssuedToCustomer = c.id
	}
	o := g.order(c, g.at(0, simDays))
	o.Channel = g.oneOf([]string{"email", "sms"})
	d := &draft{in: Inputs{Order: o, Code: &code}, cust: c}
	if g.f() < 0.2 {
		d.in.Order.Email, d.noise = g.emailVariant(c.email), "email_variant"
		if d.in.Order.CustomerID == "" && code.IssuedToCustomer != "" {
			d.in.Order.CustomerID = c.id
		}
	}
	if g.f() < 0.7 {
		k := g.click(o.At.Add(-g.dur(time.Minute, 48*time.Hour)), "", o.IP, o.UserAgent, o.Device, o.Country, o.Channel)
		d.in.Clicks = []Click{k}
	}
	g.refund(d, 0.05)
	g.add(d)
	if leak != nil {
		leak(code, d)
	}
	return 1
}

func (g *gen) partnerTime(p *simPartner) (time.Time, string) {
	if len(p.posts) > 0 && g.f() < 0.45 {
		t := p.posts[g.rng.IntN(len(p.posts))].Add(time.Duration(g.rng.ExpFloat64() * float64(8*time.Hour)))
		if t.Before(g.end()) {
			return t, "popular_burst"
		}
	}
	return g.at(0, simDays), ""
}

func (g *gen) partnerOrder(p *simPartner) int {
	c := g.shopperFor(p.countries)
	t, noise := g.partnerTime(p)
	in := g.partnerInputs(p, g.order(c, t))
	d := &draft{in: in, cust: c, noise: noise}
	if p == g.geo && g.f() < 0.03 {
		d.in.Order.Country = "" // no shipping country (digital goods)
	}
	if _, kind := g.ipFor(c, t); kind != "" && d.noise == "" {
		d.noise = kind
	}
	if g.f() >= p.coldShare {
		var nz string
		d.in.Clicks, nz = g.trail(&d.in.Order, c, p.p.ID, p.source)
		if nz != "" {
			d.noise = nz
		}
	}
	g.refund(d, p.refundRate)
	g.add(d)
	made := 1
	if d.in.Order.ClickID != "" && g.f() < 0.015 { // a second order in the same visit
		o2 := d.in.Order
		o2.At = o2.At.Add(g.dur(5*time.Minute, 40*time.Minute))
		d2 := &draft{in: d.in, cust: c, noise: "same_click_repeat"}
		d2.in.Order = o2
		g.add(d2)
		made++
	}
	return made
}

func (g *gen) leaked(n int) {
	if n == 0 {
		return
	}
	nUnique := n / 5
	per := (n - nUnique) / len(g.victims)
	for i, v := range g.victims {
		k := per
		if i == len(g.victims)-1 {
			k = n - nUnique - per*(len(g.victims)-1)
		}
		start := g.at(10, 28)
		for range k {
			t := start.Add(min(time.Duration(g.rng.ExpFloat64()*float64(20*time.Hour)), 96*time.Hour))
			c := g.newCustomer(g.pick(dealSiteCountries))
			in := g.partnerInputs(v, g.order(c, t))
			g.add(&draft{in: in, label: KindLeakedCode, cust: c, noise: "deal_site"})
		}
	}
	for nUnique > 0 {
		reuse := min(nUnique, 5+g.rng.IntN(6))
		nUnique -= reuse
		g.uniqueCodeOrder(func(code Code, owner *draft) {
			for range reuse {
				c := g.newCustomer(g.pick(dealSiteCountries))
				o := g.order(c, owner.in.Order.At.Add(g.dur(2*time.Hour, 72*time.Hour)))
				o.Channel = owner.in.Order.Channel
				cd := code
				g.add(&draft{in: Inputs{Order: o, Code: &cd}, label: KindLeakedCode, cust: c, noise: "reposted_personal_code"})
			}
		})
	}
}

func (g *gen) abusePartner(i int) *simPartner {
	p := g.newPartner(i, 0)
	p.coldShare = 0
	return p
}

func (g *gen) botClicks(n int) {
	if n == 0 {
		return
	}
	p := g.abusePartner(31)
	type block struct {
		ip     netip.Addr
		bot    bool
		clicks []Click
	}
	var blocks []block
	for ipi := range 4 {
		ip := g.residentialIP()
		for range 8 {
			t := g.at(6, simDays-1).Truncate(time.Hour)
			b := block{ip: ip, bot: ipi%2 == 0}
			for ct := t; ct.Before(t.Add(5 * time.Hour)); ct = ct.Add(time.Duration(g.rng.ExpFloat64() * float64(time.Hour) / 130)) {
				ua := userAgents["desktop"][0]
				if b.bot {
					ua = g.oneOf(botAgents)
				}
				b.clicks = append(b.clicks, g.click(ct, p.p.ID, ip, ua, "desktop", "US", p.source))
			}
			blocks = append(blocks, b)
		}
	}
	for range n {
		b := blocks[g.rng.IntN(len(blocks))]
		k := b.clicks[g.rng.IntN(len(b.clicks))]
		c := g.newCustomer("US")
		var o Order
		noise := ""
		if b.bot { // click by a bot; the "order" later from a clean-looking browser
			o = g.order(c, k.At.Add(g.dur(30*time.Second, 15*time.Minute)))
			noise = "bot_user_agent"
		} else { // a spoofed browser that checks out within three seconds
			o = Order{At: k.At.Add(g.dur(800*time.Millisecond, 2800*time.Millisecond)), Email: c.email, IP: b.ip,
				UserAgent: k.UserAgent, Device: "desktop", Country: "US"}
			noise = "instant_checkout"
		}
		o.ClickID = k.ID
		in := g.partnerInputs(p, o)
		in.Clicks = []Click{k}
		g.add(&draft{in: in, label: KindBotClicks, cust: c, noise: noise})
	}
}

func (g *gen) selfReferral(n int) {
	for i := range n {
		p := g.selfRefs[i%len(g.selfRefs)]
		c := &customer{id: p.p.CustomerID, email: p.p.Email, country: "US", device: g.device(), home: g.residentialIP()}
		c.ua = g.oneOf(userAgents[c.device])
		o := g.order(c, g.at(3, simDays))
		o.Email = g.emailVariant(p.p.Email)
		if g.f() < 0.5 {
			o.CustomerID = ""
		}
		in := g.partnerInputs(p, o)
		d := &draft{in: in, label: KindSelfReferral, cust: c}
		if g.f() < 0.5 {
			d.in.Clicks, _ = g.trail(&d.in.Order, c, p.p.ID, p.source)
		}
		g.add(d)
	}
}

func (g *gen) refundFarm(n int) {
	if n == 0 {
		return
	}
	p := g.abusePartner(32)
	var crew []*customer
	for range 40 {
		crew = append(crew, g.newCustomer("US"))
	}
	for range n {
		c := crew[g.rng.IntN(len(crew))]
		in := g.partnerInputs(p, g.order(c, g.at(4, simDays-2)))
		d := &draft{in: in, label: KindRefundFarm, cust: c}
		d.in.Clicks, _ = g.trail(&d.in.Order, c, p.p.ID, p.source)
		if g.f() < 0.7 {
			d.refundAt = d.in.Order.At.Add(g.dur(2*24*time.Hour, 9*24*time.Hour))
		}
		g.add(d)
	}
}

func (g *gen) duplicateClicks(n int) {
	var seeds []*draft
	for _, d := range g.orders {
		if d.in.Partner != nil && d.in.Partner.ID == g.dupSrc.p.ID && d.in.Order.ClickID != "" && d.label == KindNone &&
			d.in.Order.At.Before(g.end().Add(-48*time.Hour)) {
			seeds = append(seeds, d)
		}
	}
	if len(seeds) == 0 {
		return
	}
	for range n {
		s := seeds[g.rng.IntN(len(seeds))]
		c := g.shopperFor(g.dupSrc.countries)
		if c == s.cust {
			c = g.newCustomer("US")
		}
		o := g.order(c, s.in.Order.At.Add(g.dur(time.Hour, 120*time.Hour)))
		o.ClickID = s.in.Order.ClickID
		in := g.partnerInputs(g.dupSrc, o)
		in.Clicks = s.in.Clicks
		g.add(&draft{in: in, label: KindDuplicateClick, cust: c, noise: "replayed_click"})
	}
}

func (g *gen) datacenter(n int) {
	if n == 0 {
		return
	}
	p := g.abusePartner(33)
	var vms []netip.Addr
	for range 2 {
		a := g.datacenterIP()
		b := a.As4()
		vms = append(vms, a, netip.AddrFrom4([4]byte{b[0], b[1], b[2], byte(1 + g.rng.IntN(254))}))
	}
	first := g.rng.IntN(24) + 8
	days := 8 + g.rng.IntN(3)
	for range n {
		c := g.newCustomer("US")
		c.device, c.ua = "desktop", userAgents["desktop"][g.rng.IntN(2)]
		c.home, c.mobile, c.office, c.vpn = vms[g.rng.IntN(len(vms))], netip.Addr{}, netip.Addr{}, netip.Addr{}
		o := g.order(c, g.at(float64(first), float64(first+days)))
		in := g.partnerInputs(p, o)
		k := g.click(o.At.Add(-g.dur(20*time.Second, 10*time.Minute)), p.p.ID, o.IP, o.UserAgent, o.Device, o.Country, p.source)
		in.Clicks, in.Order.ClickID = []Click{k}, k.ID
		g.add(&draft{in: in, label: KindDatacenterIP, cust: c, noise: "checkout_automation"})
	}
}

func (g *gen) ruleViolations(n int) {
	abroad := []weighted{{"GB", .25}, {"DE", .2}, {"IN", .15}, {"BR", .15}, {"AU", .1}, {"FR", .1}, {"NL", .05}}
	for range n {
		var c *customer
		source, noise := g.geo.source, "outside_geo"
		if g.f() < 0.3 {
			c, source, noise = g.newCustomer("US"), "paid", "paid_search"
		} else {
			c = g.newCustomer(g.pick(abroad))
		}
		in := g.partnerInputs(g.geo, g.order(c, g.at(5, simDays)))
		d := &draft{in: in, label: KindRuleViolation, cust: c, noise: noise}
		d.in.Clicks, _ = g.trail(&d.in.Order, c, g.geo.p.ID, source)
		g.add(d)
	}
}

// backgroundClicks adds the clicks that never convert: one or two per
// partner order from strangers, and newsletter bursts from office networks.
func (g *gen) backgroundClicks() {
	for _, d := range g.orders {
		if d.in.Partner == nil || d.label != KindNone {
			continue
		}
		for range 1 + g.rng.IntN(2) {
			dev := g.device()
			g.click(g.at(0, simDays), d.in.Partner.ID, g.residentialIP(), g.oneOf(userAgents[dev]), dev, g.pick(shopCountries), "affiliate")
		}
	}
	for range 15 {
		ip := g.offices[g.rng.IntN(len(g.offices))]
		t := g.at(0, simDays)
		for range 15 + g.rng.IntN(25) {
			dev := g.device()
			g.click(t.Add(g.dur(0, time.Hour)), g.partners[g.rng.IntN(len(g.partners))].p.ID, ip, g.oneOf(userAgents[dev]), dev, "US", "email")
		}
	}
}

type event struct {
	at   time.Time
	kind int // 0 click, 1 order, 2 refund, 3 release
	i    int
}

// run orders the drafts, names them, and replays clicks, orders, refunds
// and hold releases through a Tracker in time order.
func (g *gen) run() Scenario {
	slices.SortStableFunc(g.orders, func(a, b *draft) int { return a.in.Order.At.Compare(b.in.Order.At) })
	sc := Scenario{Seed: g.seed, Start: g.start, Days: simDays, Hold: simHold, Clicks: len(g.clicks)}
	sc.AllClicks = slices.Clone(g.clicks)
	slices.SortStableFunc(sc.AllClicks, func(a, b Click) int { return a.At.Compare(b.At) })
	sc.Orders = make([]SimOrder, len(g.orders))
	var evs []event
	for i, c := range g.clicks {
		evs = append(evs, event{c.At, 0, i})
	}
	for i, d := range g.orders {
		d.in.Order.ID = fmt.Sprintf("o%06d", i+1)
		evs = append(evs, event{d.in.Order.At, 1, i}, event{d.in.Order.At.Add(simHold), 3, i})
		if !d.refundAt.IsZero() {
			evs = append(evs, event{d.refundAt, 2, i})
		}
	}
	slices.SortStableFunc(evs, func(a, b event) int {
		if c := a.at.Compare(b.at); c != 0 {
			return c
		}
		return cmp.Compare(a.kind, b.kind)
	})
	tr := NewTracker()
	for _, e := range evs {
		switch e.kind {
		case 0:
			tr.ObserveClick(g.clicks[e.i])
		case 1:
			d := g.orders[e.i]
			d.in.Agg = tr.Aggregates(&d.in)
			tr.ObserveOrder(&d.in)
			sc.Orders[e.i] = SimOrder{Inputs: d.in, Label: d.label, Noise: d.noise, Refunded: !d.refundAt.IsZero(), RefundAt: d.refundAt}
		case 2:
			tr.ObserveRefund(g.orders[e.i].in.Order.ID)
		case 3:
			rv := sc.Orders[e.i].Inputs
			rv.Agg = tr.Review(&rv, e.at)
			sc.Orders[e.i].Review = rv
		}
	}
	return sc
}
