package campaign

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"
)

// usd parses amounts with two decimals, rejecting extra precision.
func usd() Env {
	return Env{Currency: "USD", Exponent: 2, Now: time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC),
		ParseMinor: func(s string) (int64, error) {
			whole, frac, _ := strings.Cut(s, ".")
			if len(frac) > 2 {
				return 0, errors.New("precision")
			}
			frac += strings.Repeat("0", 2-len(frac))
			return strconv.ParseInt(whole+frac, 10, 64)
		},
		CheckFormat: func(f CodeFormat) error {
			if f.Length < 4 {
				return fmt.Errorf("length %d too short", f.Length)
			}
			return nil
		},
	}
}

func validSpec() Spec {
	min := Decimal("50")
	return Spec{Name: " Spring ", Goal: "acquisition",
		Discount: Discount{Type: DiscountPercentage, Value: "15", MinSubtotal: &min},
		Code:     CodeFormat{Prefix: "spr", Length: 10},
		Usage:    Usage{SingleUse: true, OncePerCustomer: true},
		Rules:    Rules{Countries: []string{"US"}, Devices: []string{"Mobile"}, Channels: []string{"email"}},
		StartsAt: time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC), Holdout: 0.1}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	ptr := func(d string) *Decimal { x := Decimal(d); return &x }
	n := func(i int) *int { return &i }
	tests := []struct {
		name string
		mut  func(s *Spec)
		code string // "" = valid
	}{
		{"valid", func(s *Spec) {}, ""},
		{"percent 100", func(s *Spec) { s.Discount.Value = "100" }, ""},
		{"percent 0", func(s *Spec) { s.Discount.Value = "0" }, "invalid_discount"},
		{"percent 100.5", func(s *Spec) { s.Discount.Value = "100.5" }, "invalid_discount"},
		{"percent text", func(s *Spec) { s.Discount.Value = "lots" }, "invalid_discount"},
		{"fixed ok", func(s *Spec) { s.Discount = Discount{Type: DiscountFixedAmount, Value: "5"} }, ""},
		{"fixed zero", func(s *Spec) { s.Discount = Discount{Type: DiscountFixedAmount, Value: "0"} }, "invalid_discount"},
		{"fixed negative", func(s *Spec) { s.Discount = Discount{Type: DiscountFixedAmount, Value: "-5"} }, "invalid_discount"},
		{"fixed too precise", func(s *Spec) { s.Discount = Discount{Type: DiscountFixedAmount, Value: "5.001"} }, "invalid_discount"},
		{"free shipping", func(s *Spec) { s.Discount = Discount{Type: DiscountFreeShipping} }, ""},
		{"free shipping ignores a value", func(s *Spec) { s.Discount = Discount{Type: DiscountFreeShipping, Value: "5"} }, ""},
		{"unknown type", func(s *Spec) { s.Discount.Type = "bogo" }, "invalid_discount_type"},
		{"min subtotal zero", func(s *Spec) { s.Discount.MinSubtotal = ptr("0") }, "invalid_min_subtotal"},
		{"products and collections", func(s *Spec) { s.Discount.Products, s.Discount.Collections = []string{"1"}, []string{"2"} }, "invalid_discount"},
		{"no name", func(s *Spec) { s.Name = "  " }, "invalid_name"},
		{"bad goal", func(s *Spec) { s.Goal = "fun" }, "invalid_goal"},
		{"bad format", func(s *Spec) { s.Code.Length = 2 }, "invalid_code_format"},
		{"cap zero", func(s *Spec) { s.Usage.TotalCap = n(0) }, "invalid_usage"},
		{"budget zero", func(s *Spec) { s.Usage.Budget = ptr("0") }, "invalid_budget"},
		{"country lower", func(s *Spec) { s.Rules.Countries = []string{"us"} }, "invalid_country"},
		{"country three letters", func(s *Spec) { s.Rules.Countries = []string{"USA"} }, "invalid_country"},
		{"device", func(s *Spec) { s.Rules.Devices = []string{"watch"} }, "invalid_device"},
		{"channel", func(s *Spec) { s.Rules.Channels = []string{"radio"} }, "invalid_channel"},
		{"every channel", func(s *Spec) { s.Rules.Channels = append([]string(nil), Channels...) }, ""},
		{"no start", func(s *Spec) { s.StartsAt = time.Time{} }, "invalid_starts_at"},
		{"end == start", func(s *Spec) { e := s.StartsAt; s.EndsAt = &e }, "invalid_ends_at"},
		{"end after start", func(s *Spec) { e := s.StartsAt.Add(time.Hour); s.EndsAt = &e }, ""},
		{"holdout 0.5", func(s *Spec) { s.Holdout = 0.5 }, ""},
		{"holdout 0.51", func(s *Spec) { s.Holdout = 0.51 }, "invalid_holdout"},
		{"holdout negative", func(s *Spec) { s.Holdout = -0.1 }, "invalid_holdout"},
		{"ttl zero", func(s *Spec) { s.CodeTTLHours = n(0) }, "invalid_code_ttl"},
		{"hold days negative", func(s *Spec) { s.HoldDays = n(-1) }, "invalid_hold_days"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := validSpec()
			tt.mut(&s)
			err := Validate(&s, usd())
			var ce *Error
			switch {
			case tt.code == "" && err != nil:
				t.Fatalf("want valid, got %v", err)
			case tt.code != "" && (!errors.As(err, &ce) || ce.Code != tt.code):
				t.Fatalf("got %v, want %s", err, tt.code)
			}
		})
	}
}

func TestValidateNormalizes(t *testing.T) {
	t.Parallel()
	s := validSpec()
	s.Discount = Discount{Type: DiscountFixedAmount, Value: "5", MinSubtotal: s.Discount.MinSubtotal}
	b := Decimal("1000.5")
	s.Usage.Budget = &b
	if err := Validate(&s, usd()); err != nil {
		t.Fatal(err)
	}
	if s.Name != "Spring" || s.Code.Prefix != "SPR" || s.Discount.Value != "5.00" || *s.Discount.MinSubtotal != "50.00" ||
		*s.Usage.Budget != "1000.50" || s.Rules.Devices[0] != "mobile" {
		t.Fatalf("normalized = %+v", s)
	}
}

func TestDecimalAndDiscountJSON(t *testing.T) {
	t.Parallel()
	var d Discount
	if err := json.Unmarshal([]byte(`{"type":"percentage","value":15,"min_subtotal":"50.00"}`), &d); err != nil {
		t.Fatal(err)
	}
	if d.Value != "15" || *d.MinSubtotal != "50.00" {
		t.Fatalf("decoded %+v", d)
	}
	b, _ := json.Marshal(d)
	if got := string(b); !strings.Contains(got, `"value":15`) || !strings.Contains(got, `"min_subtotal":"50.00"`) || !strings.Contains(got, `"products":[]`) {
		t.Fatalf("encoded %s", got)
	}
	f := Discount{Type: DiscountFixedAmount, Value: "5.00"}
	b, _ = json.Marshal(f)
	if !strings.Contains(string(b), `"value":"5.00"`) {
		t.Fatalf("fixed encoded %s", b)
	}
	var bad Decimal
	if err := json.Unmarshal([]byte(`{"x":1}`), &bad); err == nil {
		t.Fatal("object accepted as decimal")
	}
}

func TestFormatMinor(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		minor int64
		exp   int
		want  string
	}{{1999, 2, "19.99"}, {5, 2, "0.05"}, {500, 0, "500"}, {1250, 3, "1.250"}, {-150, 2, "-1.50"}, {0, 2, "0.00"}} {
		if got := FormatMinor(tt.minor, tt.exp); got != tt.want {
			t.Errorf("FormatMinor(%d, %d) = %q, want %q", tt.minor, tt.exp, got, tt.want)
		}
	}
}

func TestTransition(t *testing.T) {
	t.Parallel()
	tests := []struct {
		from, action, to string
		changed, ok      bool
	}{
		{StatusDraft, ActionActivate, StatusActive, true, true},
		{StatusActive, ActionActivate, StatusActive, false, true},
		{StatusActive, ActionPause, StatusPaused, true, true},
		{StatusPaused, ActionPause, StatusPaused, false, true},
		{StatusPaused, ActionResume, StatusActive, true, true},
		{StatusActive, ActionResume, StatusActive, false, true},
		{StatusDraft, ActionEnd, StatusEnded, true, true},
		{StatusPaused, ActionEnd, StatusEnded, true, true},
		{StatusEnded, ActionEnd, StatusEnded, false, true},
		{StatusEnded, ActionResume, "", false, false},
		{StatusEnded, ActionActivate, "", false, false},
		{StatusEnded, ActionPause, "", false, false},
		{StatusDraft, ActionPause, "", false, false},
		{StatusDraft, ActionResume, "", false, false},
		{StatusPaused, ActionActivate, "", false, false},
		{StatusActive, "explode", "", false, false},
	}
	for _, tt := range tests {
		to, changed, err := Transition(tt.from, tt.action)
		var te *TransitionError
		if !tt.ok {
			if !errors.As(err, &te) {
				t.Errorf("%s %s: want TransitionError, got %v", tt.action, tt.from, err)
			}
			continue
		}
		if err != nil || to != tt.to || changed != tt.changed {
			t.Errorf("%s %s = %s %v %v, want %s %v", tt.action, tt.from, to, changed, err, tt.to, tt.changed)
		}
	}
}

func TestTermsOf(t *testing.T) {
	t.Parallel()
	s := validSpec()
	if err := Validate(&s, usd()); err != nil {
		t.Fatal(err)
	}
	tm := TermsOf(s, 42)
	if tm.Percentage == nil || *tm.Percentage != 0.15 || tm.MinSubtotal != "50.00" || tm.UsageLimit == nil || *tm.UsageLimit != 1 ||
		!tm.OncePerCustomer || !strings.Contains(tm.Title, "Spring") || !strings.Contains(tm.Title, "#42") || tm.FreeShipping {
		t.Fatalf("terms = %+v", tm)
	}
	// Total cap applies when codes are not single-use.
	s.Usage.SingleUse = false
	cap := 300
	s.Usage.TotalCap = &cap
	if tm2 := TermsOf(s, 42); tm2.UsageLimit == nil || *tm2.UsageLimit != 300 {
		t.Fatalf("usage limit = %v", tm2.UsageLimit)
	}
	// App-enforced rules do not change the terms; Shopify-enforced ones do.
	a := TermsOf(s, 42).Fingerprint()
	s.Rules.Countries = []string{"CA"}
	s.Holdout = 0.3
	if TermsOf(s, 42).Fingerprint() != a {
		t.Fatal("targeting rules changed the Shopify terms")
	}
	s.Discount.Value = "20"
	if TermsOf(s, 42).Fingerprint() == a {
		t.Fatal("a new value did not change the Shopify terms")
	}
	fx := TermsOf(Spec{Name: "F", Discount: Discount{Type: DiscountFixedAmount, Value: "7.50"}}, 1)
	if fx.Amount != "7.50" || fx.Percentage != nil || fx.UsageLimit != nil {
		t.Fatalf("fixed terms = %+v", fx)
	}
	if fs := TermsOf(Spec{Name: "F", Discount: Discount{Type: DiscountFreeShipping}}, 1); !fs.FreeShipping {
		t.Fatal("free shipping lost")
	}
}

func TestCheck(t *testing.T) {
	t.Parallel()
	r := Rules{Countries: []string{"US", "CA"}, Devices: []string{"mobile"}, TrafficSources: []string{"affiliate"},
		Channels: []string{"email", "sms"}, CustomerSegment: "vip"}
	tests := []struct {
		name string
		r    Rules
		req  Request
		rule string
	}{
		{"all match", r, Request{Country: "us", Device: "Mobile", TrafficSource: "affiliate", Channel: "sms", CustomerSegment: "VIP"}, ""},
		{"unknowns pass", r, Request{}, ""},
		{"country", r, Request{Country: "DE"}, "countries"},
		{"device", r, Request{Device: "desktop"}, "devices"},
		{"traffic", r, Request{TrafficSource: "google"}, "traffic_sources"},
		{"channel", r, Request{Channel: "tv"}, "channels"},
		{"segment", r, Request{CustomerSegment: "new"}, "customer_segment"},
		{"partner only without partner", Rules{PartnerOnly: true}, Request{}, "partner_only"},
		{"partner only with partner", Rules{PartnerOnly: true}, Request{PartnerID: 7}, ""},
		{"no rules", Rules{}, Request{Country: "FR", Device: "tablet", Channel: "tv"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			v := Check(tt.r, tt.req)
			switch {
			case tt.rule == "" && v != nil:
				t.Fatalf("unexpected violation %+v", v)
			case tt.rule != "" && (v == nil || v.Rule != tt.rule || v.Detail == ""):
				t.Fatalf("got %+v, want rule %s", v, tt.rule)
			}
		})
	}
}

func TestValidatePartner(t *testing.T) {
	t.Parallel()
	pct := func(f float64) *Commission { return &Commission{Percent: &f} }
	fixed := func(s string) *Commission { d := Decimal(s); return &Commission{Fixed: &d} }
	tests := []struct {
		name string
		p    PartnerSpec
		code string
	}{
		{"percent", PartnerSpec{Name: "Ana", Kind: "influencer", Commission: pct(10)}, ""},
		{"fixed", PartnerSpec{Name: "Ana", Kind: "affiliate", Commission: fixed("5")}, ""},
		{"none", PartnerSpec{Name: "Ana", Kind: "agency"}, ""},
		{"kind", PartnerSpec{Name: "Ana", Kind: "reseller"}, "invalid_kind"},
		{"name", PartnerSpec{Kind: "agency"}, "invalid_name"},
		{"percent 0", PartnerSpec{Name: "A", Kind: "agency", Commission: pct(0)}, "invalid_commission"},
		{"percent 101", PartnerSpec{Name: "A", Kind: "agency", Commission: pct(101)}, "invalid_commission"},
		{"fixed 0", PartnerSpec{Name: "A", Kind: "agency", Commission: fixed("0")}, "invalid_commission"},
		{"both", PartnerSpec{Name: "A", Kind: "agency", Commission: &Commission{Percent: pct(1).Percent, Fixed: fixed("1").Fixed}}, "invalid_commission"},
		{"email", PartnerSpec{Name: "A", Kind: "agency", Email: "a@"}, "invalid_email"},
		{"status", PartnerSpec{Name: "A", Kind: "agency", Status: "gone"}, "invalid_status"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := tt.p
			minor, err := ValidatePartner(&p, usd())
			var ce *Error
			switch {
			case tt.code == "" && err != nil:
				t.Fatalf("want valid, got %v", err)
			case tt.code != "" && (!errors.As(err, &ce) || ce.Code != tt.code):
				t.Fatalf("got %v, want %s", err, tt.code)
			}
			if tt.name == "fixed" && (minor == nil || *minor != 500 || *p.Commission.Fixed != "5.00") {
				t.Fatalf("fixed = %v %+v", minor, p.Commission)
			}
			if tt.code == "" && p.Status != "active" {
				t.Fatalf("default status = %q", p.Status)
			}
		})
	}
}

func TestSpecOfRoundTrip(t *testing.T) {
	t.Parallel()
	s := validSpec()
	if err := Validate(&s, usd()); err != nil {
		t.Fatal(err)
	}
	enc := func(v any) []byte { b, _ := json.Marshal(v); return b }
	got, err := SpecOf(Stored{Name: s.Name, Goal: s.Goal, Discount: enc(s.Discount), Code: enc(s.Code), Usage: enc(s.Usage),
		Rules: enc(s.Rules), StartsAt: s.StartsAt, Holdout: s.Holdout})
	if err != nil {
		t.Fatal(err)
	}
	if TermsOf(got, 1).Fingerprint() != TermsOf(s, 1).Fingerprint() || got.Rules.Countries[0] != "US" || got.Code.Prefix != "SPR" {
		t.Fatalf("round trip = %+v", got)
	}
	if _, err := SpecOf(Stored{Discount: []byte("{")}); err == nil {
		t.Fatal("corrupt JSON accepted")
	}
}
