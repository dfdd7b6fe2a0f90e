package attribution

import (
	"testing"
	"time"
)

// BenchmarkAttribute is one realistic order: two codes (one vanity, one
// unique), a SmartLink click from another partner, UTM tags and a dozen
// touches, under split credit.
func BenchmarkAttribute(b *testing.B) {
	o := baseOrder()
	o.DiscountCodes = []string{"ana10", "SPR-U1"}
	o.LandingURL = "/products/mug?ct_click=clk-bob&utm_source=bob&utm_medium=affiliate&utm_campaign=bf"
	tps := make([]Touchpoint, 12)
	for i := range tps {
		tps[i] = Touchpoint{Kind: TouchOnsite, At: t0.Add(-time.Duration(i) * 7 * time.Hour), Channel: "email", CampaignID: "spring"}
	}
	p := pol(SplitCredit)
	b.ReportAllocs()
	for b.Loop() {
		r := Attribute(o, testCodes, testClicks, tps, p, t0)
		if len(r.Lines) != 3 {
			b.Fatal(r.Lines)
		}
	}
}

func BenchmarkMarkov(b *testing.B) {
	for b.Loop() {
		if _, err := Markov(refPaths); err != nil {
			b.Fatal(err)
		}
	}
}

func FuzzParseLanding(f *testing.F) {
	f.Add("/products/mug?ct_click=abc&utm_source=x")
	f.Add("/discount/ANA10?redirect=%2F%3Fct_click%3Dz")
	f.Add("%%%?ct_click=")
	f.Fuzz(func(t *testing.T, s string) {
		id, _ := parseLanding(s)
		_ = id
	})
}

func FuzzParseMinor(f *testing.F) {
	f.Add("45.00", "USD")
	f.Add("1000", "JPY")
	f.Fuzz(func(t *testing.T, s, cur string) {
		v, err := ParseMinor(s, cur)
		if err != nil {
			return
		}
		back, err := ParseMinor(FormatMinor(v, cur), cur)
		if err != nil || back != v {
			t.Fatalf("%q %s: %d -> %q -> %d %v", s, cur, v, FormatMinor(v, cur), back, err)
		}
	})
}
