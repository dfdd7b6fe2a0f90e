package jobs

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/coupontrail/coupontrail/app/store"
)

func TestAbandonDelay(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		settings string
		want     time.Duration
	}{
		{``, time.Hour},
		{`{}`, time.Hour},
		{`{"abandoned_checkout_delay_minutes":30}`, 30 * time.Minute},
		{`{"abandoned_checkout_delay_minutes":"30"}`, time.Hour}, // not a number
		{`{"abandoned_checkout_delay_minutes":0}`, time.Hour},
		{`{"abandoned_checkout_delay_minutes":1.5}`, time.Hour},
		{`{"abandoned_checkout_delay_minutes":10080}`, 7 * 24 * time.Hour},
		{`{"abandoned_checkout_delay_minutes":10081}`, time.Hour},
		{`not json`, time.Hour},
	} {
		if got := AbandonDelay(json.RawMessage(tc.settings)); got != tc.want {
			t.Errorf("AbandonDelay(%s) = %s, want %s", tc.settings, got, tc.want)
		}
	}
}

func TestStorefrontPath(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ raw, base, want string }{
		{"https://shop.example/1/checkouts/ac/T/recover?key=K", "https://shop.example", "/1/checkouts/ac/T/recover?key=K"},
		{"http://127.0.0.1:1/store/s.myshopify.com/1/checkouts/ac/T/recover?key=K", "http://127.0.0.1:1/store/s.myshopify.com", "/1/checkouts/ac/T/recover?key=K"},
		{"https://other.example/x?y=1", "https://shop.example", "/x?y=1"},
		{"", "https://shop.example", ""},
		{"//evil.example/x", "", ""},
	} {
		if got := StorefrontPath(tc.raw, tc.base); got != tc.want {
			t.Errorf("StorefrontPath(%q, %q) = %q, want %q", tc.raw, tc.base, got, tc.want)
		}
	}
}

func TestCartCodeExpiry(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	six := 6
	end := now.Add(3 * time.Hour)
	for _, tc := range []struct {
		c    store.Campaign
		want time.Time
	}{
		{store.Campaign{}, now.Add(12 * time.Hour)},
		{store.Campaign{CodeTTLHours: &six}, now.Add(6 * time.Hour)},
		{store.Campaign{CodeTTLHours: &six, EndsAt: &end}, end},
	} {
		if got := CartCodeExpiry(&tc.c, now); !got.Equal(tc.want) {
			t.Errorf("expiry %s, want %s", got, tc.want)
		}
	}
}
