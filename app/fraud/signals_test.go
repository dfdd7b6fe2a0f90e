package fraud

import (
	"net/netip"
	"strings"
	"testing"
	"testing/fstest"
	"time"
)

var t0 = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)

func partnerOrder() Inputs {
	return Inputs{
		Order: Order{ID: "o1", At: t0, CustomerID: "c1", Email: "buyer@example.com", IP: netip.MustParseAddr("73.1.2.3"),
			UserAgent: "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) Safari/604.1", Device: "mobile", Country: "US", ClickID: "k1"},
		Code:    &Code{Code: "ANA10", Kind: CodeVanity, PartnerID: "p1"},
		Partner: &Partner{ID: "p1", Email: "ana.lopez@gmail.com", CustomerID: "c900"},
		Clicks: []Click{{ID: "k1", At: t0.Add(-5 * time.Minute), PartnerID: "p1", IP: netip.MustParseAddr("73.1.2.3"),
			UserAgent: "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) Safari/604.1", Source: "influencer"}},
		Agg: Aggregates{Window: 24 * time.Hour, CodeRate: Rate{Count: 3, BaselinePerDay: 4}, PartnerRate: Rate{Count: 3, BaselinePerDay: 4},
			PartnerCold: ColdStats{WindowCold: 1, WindowTotal: 3, HistCold: 20, HistTotal: 80}, PrefixOrders: 1,
			Refunds: RefundStats{PartnerOrders: 100, PartnerRefunded: 5, ShopOrders: 5000, ShopRefunded: 250}},
	}
}

func TestSignals(t *testing.T) {
	t.Parallel()
	cfg := DefaultConfig()
	for _, c := range []struct {
		name   string
		signal signalFunc
		edit   func(*Inputs)
		fires  bool
		weight float64 // checked when > 0
	}{
		{"clean order fires nothing: other shopper", OtherShopper, nil, false, 0},
		{"unique code used by its owner under a dotted gmail", OtherShopper, func(in *Inputs) {
			in.Code = &Code{Code: "CART1", Kind: CodeUnique, IssuedToEmail: "jane.doe@gmail.com"}
			in.Order.CustomerID, in.Order.Email = "", "janedoe+shop@googlemail.com"
		}, false, 0},
		{"unique code used by its logged-in owner with another email", OtherShopper, func(in *Inputs) {
			in.Code = &Code{Code: "CART1", Kind: CodeUnique, IssuedToCustomer: "c1", IssuedToEmail: "jane@work.com"}
		}, false, 0},
		{"unique code used by a stranger", OtherShopper, func(in *Inputs) {
			in.Code = &Code{Code: "CART1", Kind: CodeUnique, IssuedToEmail: "jane.doe@gmail.com"}
		}, true, 0.8},
		{"single-use code first redemption", SingleUseReused, func(in *Inputs) { in.Code.SingleUse = true }, false, 0},
		{"single-use code redeemed twice", SingleUseReused, func(in *Inputs) {
			in.Code.SingleUse, in.Agg.CodePriorRedemptions = true, 1
		}, true, 0.7},
		{"cold order at the partner's normal share", ColdSurge, func(in *Inputs) { in.Clicks = nil }, false, 0},
		{"cold order in a cold surge", ColdSurge, func(in *Inputs) {
			in.Clicks = nil
			in.Agg.PartnerCold = ColdStats{WindowCold: 40, WindowTotal: 42, HistCold: 20, HistTotal: 80}
		}, true, 0.75},
		{"order with a click during a cold surge", ColdSurge, func(in *Inputs) {
			in.Agg.PartnerCold = ColdStats{WindowCold: 40, WindowTotal: 42, HistCold: 20, HistTotal: 80}
		}, false, 0},
		{"international partner: new countries expected", CodeSpread, func(in *Inputs) {
			in.Clicks = nil
			in.Agg.CodeSpread = Spread{NewCountries: 2, WindowRedemptions: 10, HistRedemptions: 30, HistSingletons: 5}
		}, false, 0},
		{"domestic code suddenly worldwide", CodeSpread, func(in *Inputs) {
			in.Clicks = nil
			in.Agg.CodeSpread = Spread{NewCountries: 6, Countries: 8, WindowRedemptions: 20, HistRedemptions: 200, HistSingletons: 1}
		}, true, 0.6},
		{"unique code from five IPs", CodeSpread, func(in *Inputs) {
			in.Code = &Code{Code: "CART1", Kind: CodeUnique}
			in.Agg.CodeSpread = Spread{IPs: 5}
		}, true, 0.5},
		{"normal day", Velocity, nil, false, 0},
		{"cold burst", Velocity, func(in *Inputs) {
			in.Clicks = nil
			in.Agg.CodeRate = Rate{Count: 60, BaselinePerDay: 4}
		}, true, 0.35},
		{"burst through the partner's link weighs less", Velocity, func(in *Inputs) {
			in.Agg.CodeRate = Rate{Count: 60, BaselinePerDay: 4}
		}, true, 0.15},
		{"same shopper twice from one visit", DuplicateClick, func(in *Inputs) { in.Agg.ClickIDPriorSame = 1 }, false, 0},
		{"click id reused by another shopper", DuplicateClick, func(in *Inputs) { in.Agg.ClickIDPriorOthers = 1 }, true, 0.9},
		{"office network", ClickFlood, func(in *Inputs) { in.Agg.ClickIPClicks = 35 }, false, 0},
		{"click farm", ClickFlood, func(in *Inputs) { in.Agg.ClickIPClicks = 400 }, true, 0.5},
		{"real browsers (incl. CUBOT phone)", BotUserAgent, func(in *Inputs) {
			in.Clicks[0].UserAgent = "Mozilla/5.0 (Linux; Android 12; CUBOT KINGKONG 7) Chrome/124 Mobile Safari/537.36"
		}, false, 0},
		{"order without user agent is unknown", BotUserAgent, func(in *Inputs) { in.Order.UserAgent = "" }, false, 0},
		{"headless click", BotUserAgent, func(in *Inputs) {
			in.Clicks[0].UserAgent = "Mozilla/5.0 (X11; Linux x86_64) HeadlessChrome/125.0.0.0 Safari/537.36"
		}, true, 0.85},
		{"fast but human: 20 s", FastClickToOrder, func(in *Inputs) { in.Clicks[0].At = t0.Add(-20 * time.Second) }, false, 0},
		{"order 1.5 s after the click", FastClickToOrder, func(in *Inputs) { in.Clicks[0].At = t0.Add(-1500 * time.Millisecond) }, true, 0.85},
		{"residential", DatacenterIP, nil, false, 0},
		{"one VPN order", DatacenterIP, func(in *Inputs) { in.Order.IP = netip.MustParseAddr("159.203.10.10") }, true, 0.3},
		{"cloud ring", DatacenterIP, func(in *Inputs) {
			in.Order.IP = netip.MustParseAddr("159.203.10.10")
			in.Clicks[0].IP = in.Order.IP
			in.Agg.PrefixOrders = 6
		}, true, 0.9},
		{"buyer is not the partner", SelfReferral, nil, false, 0},
		{"partner buys under a dotted +tag address", SelfReferral, func(in *Inputs) {
			in.Order.CustomerID, in.Order.Email = "", "Ana.Lopez+me@gmail.com"
		}, true, 0.95},
		{"partner buys logged in", SelfReferral, func(in *Inputs) { in.Order.CustomerID = "c900" }, true, 0.95},
		{"normal refund rate", RefundRate, nil, false, 0},
		{"poor product: twice the shop's rate", RefundRate, func(in *Inputs) {
			in.Agg.Refunds = RefundStats{PartnerOrders: 300, PartnerRefunded: 36, ShopOrders: 5000, ShopRefunded: 300}
		}, false, 0},
		{"refund farm", RefundRate, func(in *Inputs) {
			in.Agg.Refunds = RefundStats{PartnerOrders: 80, PartnerRefunded: 50, ShopOrders: 5000, ShopRefunded: 300}
		}, true, 0.9},
		{"inside the rules", RuleViolation, func(in *Inputs) {
			in.Rules = Restrictions{Countries: []string{"US", "CA"}, TrafficSources: []string{"influencer"}}
		}, false, 0},
		{"unknown country is not held against", RuleViolation, func(in *Inputs) {
			in.Rules, in.Order.Country = Restrictions{Countries: []string{"CA"}}, ""
		}, false, 0},
		{"outside the campaign's countries", RuleViolation, func(in *Inputs) {
			in.Rules, in.Order.Country = Restrictions{Countries: []string{"us", "CA"}}, "DE"
		}, true, 0.8},
		{"click from a forbidden traffic source", RuleViolation, func(in *Inputs) {
			in.Rules, in.Clicks[0].Source = Restrictions{TrafficSources: []string{"influencer"}}, "paid"
		}, true, 0.8},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			in := partnerOrder()
			if c.edit != nil {
				c.edit(&in)
			}
			r, ok := c.signal(&in, &cfg)
			if ok != c.fires {
				t.Fatalf("fired = %v, want %v (%+v)", ok, c.fires, r)
			}
			if ok && c.weight > 0 && (r.Weight < c.weight-1e-9 || r.Weight > c.weight+1e-9) {
				t.Errorf("weight = %.3f, want %.3f (%s)", r.Weight, c.weight, r.Detail)
			}
			if ok && (r.Detail == "" || len(r.Evidence) == 0) {
				t.Errorf("reason without detail or evidence: %+v", r)
			}
		})
	}
}

func TestScoreActionsAndShadow(t *testing.T) {
	t.Parallel()
	clean := partnerOrder()
	bad := partnerOrder()
	bad.Order.Email, bad.Order.CustomerID = "ana.lopez@gmail.com", "" // self-referral
	bad.Clicks[0].At = t0.Add(-time.Second)                           // and a scripted checkout
	for _, c := range []struct {
		name        string
		in          Inputs
		mode        Mode
		action      Action
		would       Action
		kind        IncidentKind
		minScore    int
		maxScore    int
		firstReason Signal
	}{
		{"clean, enforce", clean, ModeEnforce, ActionNone, ActionNone, KindNone, 0, 0, ""},
		{"abuse, enforce", bad, ModeEnforce, ActionReject, ActionReject, KindSelfReferral, 99, 100, SignalSelfReferral},
		{"abuse, shadow", bad, ModeShadow, ActionShadow, ActionReject, KindSelfReferral, 99, 100, SignalSelfReferral},
		{"clean, shadow", clean, ModeShadow, ActionNone, ActionNone, KindNone, 0, 0, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			cfg := DefaultConfig()
			cfg.Mode = c.mode
			a := Score(c.in, cfg)
			if a.Action != c.action || a.WouldAction != c.would || a.Kind != c.kind || a.Score < c.minScore || a.Score > c.maxScore {
				t.Fatalf("got action %s would %s kind %q score %d; want %s %s %q %d..%d\n%s",
					a.Action, a.WouldAction, a.Kind, a.Score, c.action, c.would, c.kind, c.minScore, c.maxScore, a.Summary())
			}
			if c.firstReason != "" && a.Reasons[0].Kind != c.firstReason {
				t.Errorf("first reason %s, want %s", a.Reasons[0].Kind, c.firstReason)
			}
		})
	}

	t.Run("thresholds pick the action", func(t *testing.T) {
		t.Parallel()
		th := Thresholds{Flag: 40, Hold: 60, Reject: 80}
		for score, want := range map[int]Action{0: ActionNone, 39: ActionNone, 40: ActionFlag, 60: ActionHold, 79: ActionHold, 80: ActionReject} {
			if got := th.action(score); got != want {
				t.Errorf("action(%d) = %s, want %s", score, got, want)
			}
		}
		if got := (Thresholds{Flag: 50}).action(99); got != ActionFlag {
			t.Errorf("with hold and reject disabled, 99 -> %s, want flag", got)
		}
	})

	t.Run("weights override and switch off", func(t *testing.T) {
		t.Parallel()
		cfg := DefaultConfig()
		cfg.Weights = map[Signal]float64{SignalSelfReferral: 0, SignalFastOrder: 0.425}
		a := Score(bad, cfg)
		if len(a.Reasons) != 1 || a.Reasons[0].Kind != SignalFastOrder || a.Score != 43 {
			t.Fatalf("got %s", a.Summary())
		}
	})

	t.Run("leak folds velocity into leaked_code", func(t *testing.T) {
		t.Parallel()
		in := partnerOrder()
		in.Clicks, in.Order.ClickID = nil, ""
		in.Agg.CodeRate = Rate{Count: 90, BaselinePerDay: 4}
		in.Agg.PartnerRate = in.Agg.CodeRate
		in.Agg.PartnerCold = ColdStats{WindowCold: 85, WindowTotal: 90, HistCold: 20, HistTotal: 80}
		a := Score(in, DefaultConfig())
		if a.Kind != KindLeakedCode || a.WouldAction != ActionHold {
			t.Fatalf("got kind %s would %s: %s", a.Kind, a.WouldAction, a.Summary())
		}
		for _, r := range a.Reasons {
			if r.Incident != KindLeakedCode {
				t.Errorf("reason %s filed under %s", r.Kind, r.Incident)
			}
		}
	})
}

func TestNormalizeEmail(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		" Jane.Doe+shop@GMail.com ":  "janedoe@gmail.com",
		"j.a.n.e.doe@googlemail.com": "janedoe@gmail.com",
		"jane.doe+x@outlook.com":     "jane.doe@outlook.com",
		"jane.doe@outlook.com":       "jane.doe@outlook.com",
		"not-an-email":               "not-an-email",
		"":                           "",
	} {
		if got := NormalizeEmail(in); got != want {
			t.Errorf("NormalizeEmail(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestIsBotUserAgent(t *testing.T) {
	t.Parallel()
	for ua, want := range map[string]bool{
		"": true, "python-requests/2.32.3": true, "curl/8.5.0": true, "Go-http-client/1.1": true,
		"Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)":                                        true,
		"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/125.0 Safari/537.36":       true,
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36": false,
		"Mozilla/5.0 (Linux; Android 12; CUBOT KINGKONG 7) AppleWebKit/537.36 Chrome/124 Mobile Safari/537.36":            false,
		"Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) Mobile/15E148 Instagram 330.0.0.40.92":                    false,
	} {
		if got := IsBotUserAgent(ua); got != want {
			t.Errorf("IsBotUserAgent(%q) = %v, want %v", ua, got, want)
		}
	}
}

func TestIPSet(t *testing.T) {
	t.Parallel()
	def := DefaultDatacenters()
	if def.Len() < 100 {
		t.Fatalf("default datacenter list has %d ranges", def.Len())
	}
	for ip, want := range map[string]bool{
		"3.5.140.2": true, "52.70.110.1": true, "34.120.0.1": true, "20.50.1.1": true, "159.203.1.1": true,
		"51.38.1.1": true, "88.99.1.1": true, "45.79.1.1": true, "2a01:4f8:1:2::3": true, "::ffff:159.203.1.1": true,
		"73.1.2.3": false, "192.168.1.1": false, "2001:db8::1": false, "8.8.8.8": false,
	} {
		if got := def.Contains(netip.MustParseAddr(ip)); got != want {
			t.Errorf("default.Contains(%s) = %v, want %v", ip, got, want)
		}
	}
	var nilSet *IPSet
	if nilSet.Contains(netip.MustParseAddr("3.5.140.2")) {
		t.Error("nil set contains something")
	}

	fsys := fstest.MapFS{
		"vpn.txt": {Data: []byte("# exit nodes\n198.51.100.0/24\n203.0.113.7 # single host\n\n2001:db8:1::/48\n")},
		"bad.txt": {Data: []byte("10.0.0.0/33\n")},
	}
	s, err := LoadDatacenters(fsys, false, "vpn.txt")
	if err != nil {
		t.Fatal(err)
	}
	for ip, want := range map[string]bool{"198.51.100.9": true, "203.0.113.7": true, "203.0.113.8": false,
		"2001:db8:1:5::1": true, "3.5.140.2": false} {
		if got := s.Contains(netip.MustParseAddr(ip)); got != want {
			t.Errorf("loaded.Contains(%s) = %v, want %v", ip, got, want)
		}
	}
	withDef, err := LoadDatacenters(fsys, true, "vpn.txt")
	if err != nil || !withDef.Contains(netip.MustParseAddr("3.5.140.2")) || !withDef.Contains(netip.MustParseAddr("198.51.100.9")) {
		t.Errorf("default + file: err %v", err)
	}
	if _, err := LoadDatacenters(fsys, false, "bad.txt"); err == nil || !strings.Contains(err.Error(), "bad.txt:1") {
		t.Errorf("bad prefix: err = %v, want one naming bad.txt:1", err)
	}
	if _, err := LoadDatacenters(fsys, false, "missing.txt"); err == nil {
		t.Error("missing file: no error")
	}
	// Overlapping and adjacent ranges merge.
	m := NewIPSet(netip.MustParsePrefix("10.0.0.0/24"), netip.MustParsePrefix("10.0.1.0/24"), netip.MustParsePrefix("10.0.0.128/25"))
	if m.Len() != 1 || !m.Contains(netip.MustParseAddr("10.0.1.255")) || m.Contains(netip.MustParseAddr("10.0.2.0")) {
		t.Errorf("merge: len %d", m.Len())
	}
}

func TestGroup(t *testing.T) {
	t.Parallel()
	mk := func(id string, at time.Time, kind IncidentKind, partner, code string, score int) Assessment {
		return Assessment{OrderID: id, At: at, Kind: kind, PartnerID: partner, Code: code, Score: score, WouldAction: ActionFlag,
			Reasons: []Reason{{Kind: SignalColdSurge, Incident: kind, Weight: .7}}}
	}
	as := []Assessment{
		mk("o3", t0.Add(2*time.Hour), KindLeakedCode, "p1", "ANA10", 80),
		mk("o1", t0, KindLeakedCode, "p1", "ANA10", 60),
		mk("o2", t0.Add(time.Hour), KindLeakedCode, "p2", "BEN10", 70),
		mk("o4", t0.Add(10*24*time.Hour), KindLeakedCode, "p1", "ANA10", 90), // after the gap: a new incident
		mk("o5", t0, KindSelfReferral, "p1", "ANA10", 95),
		mk("o6", t0.Add(20*24*time.Hour), KindSelfReferral, "p1", "ANA10", 95), // partner conduct: same incident
		{OrderID: "o7", At: t0, Kind: KindLeakedCode, Code: "ANA10", Score: 30, WouldAction: ActionNone},
	}
	got := Group(as)
	if len(got) != 4 {
		t.Fatalf("got %d incidents, want 4: %+v", len(got), got)
	}
	first := got[0]
	if first.Kind != KindLeakedCode || first.Key != "code:ANA10" || strings.Join(first.Orders, ",") != "o1,o3" ||
		!first.FirstSeen.Equal(t0) || !first.LastSeen.Equal(t0.Add(2*time.Hour)) || first.MaxScore != 80 ||
		first.Evidence["orders"] != 2 || first.Evidence[string(SignalColdSurge)] != 2 {
		t.Errorf("first incident = %+v", first)
	}
	var self *Incident
	for i := range got {
		if got[i].Kind == KindSelfReferral {
			self = &got[i]
		}
	}
	if self == nil || len(self.Orders) != 2 || self.Key != "partner:p1" {
		t.Errorf("self-referral incident = %+v", self)
	}
	if again := Group(as); again[0].ID != first.ID {
		t.Errorf("incident ids are not stable: %s vs %s", again[0].ID, first.ID)
	}
}

func TestTrackerAggregates(t *testing.T) {
	t.Parallel()
	tr := NewTracker()
	ip := netip.MustParseAddr("73.1.2.3")
	code := &Code{Code: "ANA10", Kind: CodeVanity, PartnerID: "p1"}
	partner := &Partner{ID: "p1"}
	var n int
	order := func(at time.Time, country string, cold bool, email string) *Inputs {
		n++
		in := &Inputs{Order: Order{ID: "o" + string(rune('a'+n)), At: at, Email: email, IP: ip, Country: country, ClickID: "k1"},
			Code: code, Partner: partner}
		if !cold {
			in.Clicks = []Click{{ID: "k1", At: at.Add(-time.Minute), IP: ip}}
		}
		return in
	}
	// Ten quiet days: one clicked US order a day; then a burst of cold orders abroad.
	for d := range 10 {
		tr.ObserveClick(Click{ID: "k1", At: t0.Add(time.Duration(d)*24*time.Hour - time.Minute), IP: ip})
		in := order(t0.Add(time.Duration(d)*24*time.Hour), "US", false, "a@x.com")
		in.Agg = tr.Aggregates(in)
		tr.ObserveOrder(in)
	}
	tr.ObserveRefund("ob")
	tr.ObserveRefund("ob") // counted once
	var last Aggregates
	for i := range 5 {
		in := order(t0.Add(10*24*time.Hour+time.Duration(i)*time.Hour), []string{"IN", "BR", "PL", "NG", "TR"}[i], true, "b@y.com")
		last = tr.Aggregates(in)
		in.Agg = last
		tr.ObserveOrder(in)
	}
	if last.CodePriorRedemptions != 14 || last.CodeRate.Count != 5 || last.CodeRate.BaselinePerDay != 1 {
		t.Errorf("rate: prior %d, %+v", last.CodePriorRedemptions, last.CodeRate)
	}
	if c := last.PartnerCold; c.WindowCold != 5 || c.WindowTotal != 5 || c.HistCold != 0 || c.HistTotal != 10 {
		t.Errorf("cold: %+v", c)
	}
	if sp := last.CodeSpread; sp.NewCountries != 5 || sp.Countries != 5 || sp.HistRedemptions != 10 || sp.HistSingletons != 0 {
		t.Errorf("spread: %+v", sp)
	}
	if r := last.Refunds; r.PartnerOrders != 14 || r.PartnerRefunded != 1 || r.ShopOrders != 14 || r.ShopRefunded != 1 {
		t.Errorf("refunds: %+v", r)
	}
	if last.ClickIDPriorOthers != 10 || last.ClickIDPriorSame != 4 || last.PrefixOrders != 5 {
		t.Errorf("click id others %d, prefix orders %d", last.ClickIDPriorOthers, last.PrefixOrders)
	}
}

func TestSimulateIsDeterministicAndLabelled(t *testing.T) {
	t.Parallel()
	a, b := Simulate(5, 3000, DefaultMix()), Simulate(5, 3000, DefaultMix())
	if len(a.Orders) != len(b.Orders) || a.Clicks != b.Clicks {
		t.Fatalf("same seed, different scenarios: %d/%d orders", len(a.Orders), len(b.Orders))
	}
	kinds := map[IncidentKind]int{}
	noise := map[string]int{}
	for i := range a.Orders {
		if a.Orders[i].Inputs.Order.ID != b.Orders[i].Inputs.Order.ID || a.Orders[i].Label != b.Orders[i].Label ||
			a.Orders[i].Inputs.Agg != b.Orders[i].Inputs.Agg {
			t.Fatalf("order %d differs", i)
		}
		if i > 0 && a.Orders[i].Inputs.Order.At.Before(a.Orders[i-1].Inputs.Order.At) {
			t.Fatalf("orders out of time order at %d", i)
		}
		kinds[a.Orders[i].Label]++
		if a.Orders[i].Label == KindNone {
			noise[a.Orders[i].Noise]++
		}
	}
	if len(kinds) < 8 {
		t.Errorf("labels %v: want clean plus 7 abuse kinds", kinds)
	}
	for _, nz := range []string{"office_ip", "carrier_nat", "vpn", "fast_buyer", "popular_burst", "email_variant", "same_click_repeat"} {
		if noise[nz] == 0 {
			t.Errorf("clean traffic has no %q noise: %v", nz, noise)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	ok := DefaultConfig()
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	for name, edit := range map[string]func(*Config){
		"mode":     func(c *Config) { c.Mode = "observe" },
		"range":    func(c *Config) { c.Thresholds.Reject = 101 },
		"order":    func(c *Config) { c.Thresholds.Hold = 40 },
		"negative": func(c *Config) { c.Thresholds.Flag = -1 },
	} {
		c := DefaultConfig()
		edit(&c)
		if c.Validate() == nil {
			t.Errorf("%s: invalid config accepted", name)
		}
	}
	c := DefaultConfig()
	c.Thresholds = Thresholds{Flag: 0, Hold: 0, Reject: 95} // only auto-reject
	if err := c.Validate(); err != nil {
		t.Errorf("reject-only config rejected: %v", err)
	}
}
