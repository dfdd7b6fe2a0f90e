package smartlink

import (
	"bytes"
	"crypto/rand"
	"net/http"
	"net/url"
	"testing"
)

func TestIDs(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for range 1000 {
		s, err := NewSlug(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		if len(s) != SlugLen || !ValidSlug(s) || seen[s] {
			t.Fatalf("bad or repeated slug %q", s)
		}
		seen[s] = true
		id, err := NewClickID(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		if !ValidClickID(id) || len(id) != 20 {
			t.Fatalf("bad click id %q", id)
		}
	}
	if s, _ := NewSlug(bytes.NewReader(make([]byte, 8))); s != "00000000" {
		t.Errorf("zero bytes: got %q", s)
	}
	if _, err := NewSlug(bytes.NewReader(nil)); err == nil {
		t.Error("short reader: want error")
	}
	for _, bad := range []string{"", "abc", "ABCDEFGH", "abc-defg", "../etc", "a b c d e"} {
		if ValidSlug(bad) {
			t.Errorf("ValidSlug(%q) = true", bad)
		}
	}
	if ValidClickID("clk_short") || ValidClickID("xyz_0123456789abcdef") {
		t.Error("ValidClickID accepted junk")
	}
}

func TestClassify(t *testing.T) {
	t.Parallel()
	c := NewClassifier(2)
	tests := []struct {
		name, ua string
		want     Visitor
	}{
		{"iphone", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1", Visitor{Device: DeviceMobile}},
		{"android", "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36", Visitor{Device: DeviceMobile}},
		{"ipad", "Mozilla/5.0 (iPad; CPU OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1", Visitor{Device: DeviceTablet}},
		{"desktop", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36", Visitor{Device: DeviceDesktop}},
		{"googlebot", "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", Visitor{Bot: true}},
		{"facebook preview", "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)", Visitor{Bot: true}},
		{"curl", "curl/8.5.0", Visitor{Bot: true}},
		{"empty", "", Visitor{Bot: true}},
	}
	for range 2 { // second pass goes through the memo (and its clearing)
		for _, tt := range tests {
			got := c.Classify(tt.ua)
			if got.Bot != tt.want.Bot || (!tt.want.Bot && got.Device != tt.want.Device) {
				t.Errorf("%s: got %+v, want %+v", tt.name, got, tt.want)
			}
		}
	}
}

func TestCountry(t *testing.T) {
	t.Parallel()
	tests := []struct {
		h    map[string]string
		want string
	}{
		{map[string]string{"CF-IPCountry": "de"}, "DE"},
		{map[string]string{"CF-IPCountry": "XX", "X-Country-Code": "FR"}, "FR"},
		{map[string]string{"CF-IPCountry": "T1"}, ""},
		{map[string]string{"X-Country-Code": "USA"}, ""},
		{map[string]string{}, ""},
	}
	for _, tt := range tests {
		h := http.Header{}
		for k, v := range tt.h {
			h.Set(k, v)
		}
		if got := Country(h); got != tt.want {
			t.Errorf("%v: got %q, want %q", tt.h, got, tt.want)
		}
	}
}

func TestRoute(t *testing.T) {
	t.Parallel()
	r := Routing{Countries: map[string]string{"de": "/de"}, Devices: map[string]string{"Mobile": "/m"}, BlockCountries: []string{"ru"}, BlockDevices: []string{"TABLET"}}
	if err := r.Normalize(); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		country, device string
		want            Decision
	}{
		{"DE", "mobile", Decision{Destination: "/de"}},
		{"US", "mobile", Decision{Destination: "/m"}},
		{"US", "desktop", Decision{Destination: "/p/x"}},
		{"", "", Decision{Destination: "/p/x"}},
		{"RU", "desktop", Decision{Destination: "/", Blocked: true, Reason: "country RU is blocked"}},
		{"US", "tablet", Decision{Destination: "/", Blocked: true, Reason: "device tablet is blocked"}},
	}
	for _, tt := range tests {
		if got := Route(r, "/p/x", tt.country, tt.device); got != tt.want {
			t.Errorf("%s/%s: got %+v, want %+v", tt.country, tt.device, got, tt.want)
		}
	}
	for _, bad := range []Routing{
		{Countries: map[string]string{"Germany": "/de"}},
		{Devices: map[string]string{"phone": "/m"}},
		{Countries: map[string]string{"DE": "https://evil.example"}},
		{BlockCountries: []string{"x"}},
		{BlockDevices: []string{"tv"}},
	} {
		if err := bad.Normalize(); err == nil {
			t.Errorf("Normalize(%+v): want error", bad)
		}
	}
}

func TestNormalizeDestination(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{"": "/", " /products/x ": "/products/x", "/a?b=c": "/a?b=c"} {
		if got, err := NormalizeDestination(in); err != nil || got != want {
			t.Errorf("%q: got %q, %v", in, got, err)
		}
	}
	for _, bad := range []string{"https://evil.example/", "//evil.example", "products", "/a b", "/\\evil"} {
		if _, err := NormalizeDestination(bad); err == nil {
			t.Errorf("%q: want error", bad)
		}
	}
}

func TestLandingURL(t *testing.T) {
	t.Parallel()
	utm := UTM{Source: "ana", Medium: "influencer", Campaign: "spring"}
	got := LandingURL("/products/x?variant=1&utm_source=old#top", "clk_0123456789abcdef", utm)
	u, err := url.Parse(got)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	if u.Path != "/products/x" || u.Fragment != "top" || q.Get("variant") != "1" || q.Get("ct_click") != "clk_0123456789abcdef" ||
		q.Get("utm_source") != "ana" || q.Get("utm_medium") != "influencer" || q.Get("utm_campaign") != "spring" || q.Has("utm_term") {
		t.Errorf("got %q", got)
	}
	if got := LandingURL("/", "", UTM{}); got != "/" {
		t.Errorf("empty: got %q", got)
	}
	if got := (UTM{Source: "x"}).WithDefaults(UTM{Source: "d", Medium: "m"}); got != (UTM{Source: "x", Medium: "m"}) {
		t.Errorf("WithDefaults: got %+v", got)
	}
}

func BenchmarkClassify(b *testing.B) {
	c := NewClassifier(0)
	ua := "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"
	for b.Loop() {
		c.Classify(ua)
	}
}

func BenchmarkClassifyUncached(b *testing.B) {
	ua := "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"
	for b.Loop() {
		classify(ua)
	}
}
