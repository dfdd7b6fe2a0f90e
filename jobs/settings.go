package jobs

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"strings"
	"sync"

	"github.com/coupontrail/coupontrail/app/attribution"
	"github.com/coupontrail/coupontrail/app/fraud"
)

// Shop settings (shops.settings, GET|PATCH /api/v1/settings). Every reader
// parses the document leniently — a missing or malformed value takes its
// default, so a bad document never stops orders, carts or scoring — and the
// settings API validates strictly before storing.

// DefaultAbandonedCheckoutDelayMinutes is how long after a checkout's last
// update it counts as abandoned when the shop sets nothing.
const DefaultAbandonedCheckoutDelayMinutes = 60

// CartSettings are the shop settings cart recovery reads.
type CartSettings struct {
	// AbandonedCheckoutDelayMinutes: a checkout not completed this long
	// after its last update is abandoned (1..10080, default 60).
	AbandonedCheckoutDelayMinutes int
}

// ParseCartSettings reads abandoned_checkout_delay_minutes.
func ParseCartSettings(raw json.RawMessage) CartSettings {
	var s struct {
		Delay *int `json:"abandoned_checkout_delay_minutes"`
	}
	_ = json.Unmarshal(raw, &s)
	out := CartSettings{AbandonedCheckoutDelayMinutes: DefaultAbandonedCheckoutDelayMinutes}
	if s.Delay != nil && *s.Delay >= 1 && *s.Delay <= MaxAbandonedCheckoutDelayMinutes {
		out.AbandonedCheckoutDelayMinutes = *s.Delay
	}
	return out
}

// MaxAbandonedCheckoutDelayMinutes is the longest abandonment delay (a week).
const MaxAbandonedCheckoutDelayMinutes = 7 * 24 * 60

// FraudSettingsJSON is the "fraud" object of the settings document.
//
//   - mode: "shadow" (score and record what would have happened, act on
//     nothing) or "enforce" (act per thresholds).
//   - thresholds: the scores (0..100, 0 = off) at or above which an order
//     is flagged, held for review (not approved when its hold ends) or
//     rejected; flag ≤ hold ≤ reject among those on.
//   - auto_disable_leaked_codes: in enforce mode, a leaked code is disabled
//     in Shopify and its partner issued a fresh vanity code.
//   - ip_lists: extra datacenter / anonymous ranges (CIDRs or addresses)
//     added to the shipped list of major cloud ranges.
type FraudSettingsJSON struct {
	Mode                   string           `json:"mode"`
	Thresholds             fraud.Thresholds `json:"thresholds"`
	AutoDisableLeakedCodes bool             `json:"auto_disable_leaked_codes"`
	IPLists                []string         `json:"ip_lists"`
}

// DefaultFraudSettings is what a shop that set nothing gets: shadow mode,
// flag 50, hold 70, reject 90, no automatic code disabling.
func DefaultFraudSettings() FraudSettingsJSON {
	d := fraud.DefaultConfig()
	return FraudSettingsJSON{Mode: string(d.Mode), Thresholds: d.Thresholds, IPLists: []string{}}
}

// Validate checks a fraud settings object; the error names the field.
func (f FraudSettingsJSON) Validate() (field string, err error) {
	cfg := fraud.Config{Mode: fraud.Mode(f.Mode), Thresholds: f.Thresholds}
	if cfg.Mode != fraud.ModeShadow && cfg.Mode != fraud.ModeEnforce {
		return "fraud.mode", fmt.Errorf("mode must be shadow or enforce")
	}
	if err := cfg.Validate(); err != nil {
		return "fraud.thresholds", fmt.Errorf("%s", strings.TrimPrefix(err.Error(), "fraud: "))
	}
	if len(f.IPLists) > 10000 {
		return "fraud.ip_lists", fmt.Errorf("at most 10000 ranges")
	}
	for _, s := range f.IPLists {
		if _, err := parseCIDR(s); err != nil {
			return "fraud.ip_lists", fmt.Errorf("%q is not a CIDR range or address", s)
		}
	}
	return "", nil
}

func parseCIDR(s string) (netip.Prefix, error) {
	s = strings.TrimSpace(s)
	if p, err := netip.ParsePrefix(s); err == nil {
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	return netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()), nil
}

// ParseFraudSettings reads the "fraud" object; values that do not validate
// take the defaults.
func ParseFraudSettings(raw json.RawMessage) FraudSettingsJSON {
	var s struct {
		Fraud *json.RawMessage `json:"fraud"`
	}
	_ = json.Unmarshal(raw, &s)
	out := DefaultFraudSettings()
	if s.Fraud == nil {
		return out
	}
	f := out
	if json.Unmarshal(*s.Fraud, &f) != nil {
		return out
	}
	if f.IPLists == nil {
		f.IPLists = []string{}
	}
	if field, err := f.Validate(); err != nil {
		switch field {
		case "fraud.mode":
			f.Mode = out.Mode
		case "fraud.thresholds":
			f.Thresholds = out.Thresholds
		default:
			f.IPLists = []string{}
		}
		if _, err := f.Validate(); err != nil {
			return out
		}
	}
	return f
}

var (
	defaultDCOnce sync.Once
	defaultDC     *fraud.IPSet
	dcCache       sync.Map // strings.Join(ip_lists) -> *fraud.IPSet
)

// FraudConfig turns the settings into the scoring configuration: the shop's
// mode and thresholds and the datacenter set (the shipped ranges plus the
// shop's lists; sets are built once per distinct list).
func (f FraudSettingsJSON) FraudConfig() fraud.Config {
	cfg := fraud.DefaultConfig()
	cfg.Mode, cfg.Thresholds = fraud.Mode(f.Mode), f.Thresholds
	defaultDCOnce.Do(func() { defaultDC = fraud.DefaultDatacenters() })
	cfg.Datacenters = defaultDC
	if len(f.IPLists) > 0 {
		key := strings.Join(f.IPLists, ",")
		if v, ok := dcCache.Load(key); ok {
			cfg.Datacenters = v.(*fraud.IPSet)
		} else {
			ps := fraud.DefaultDatacenterPrefixes()
			for _, s := range f.IPLists {
				if p, err := parseCIDR(s); err == nil {
					ps = append(ps, p)
				}
			}
			set := fraud.NewIPSet(ps...)
			dcCache.Store(key, set)
			cfg.Datacenters = set
		}
	}
	return cfg
}

// ShopSettings is the whole settings document with defaults filled in: the
// shape GET /api/v1/settings answers.
type ShopSettings struct {
	HoldDays                      int               `json:"hold_days"`
	CreditingPolicy               json.RawMessage   `json:"crediting_policy"`
	AttributionWindowDays         int               `json:"attribution_window_days"`
	AbandonedCheckoutDelayMinutes int               `json:"abandoned_checkout_delay_minutes"`
	Fraud                         FraudSettingsJSON `json:"fraud"`
}

// ParseShopSettings reads every setting with its default.
func ParseShopSettings(raw json.RawMessage) ShopSettings {
	att := ParseAttributionSettings(raw)
	out := ShopSettings{
		HoldDays:                      attribution.DefaultHoldDays,
		AttributionWindowDays:         att.Policy.WindowDays,
		AbandonedCheckoutDelayMinutes: ParseCartSettings(raw).AbandonedCheckoutDelayMinutes,
		Fraud:                         ParseFraudSettings(raw),
	}
	if att.HoldDays != nil {
		out.HoldDays = *att.HoldDays
	}
	var s struct {
		Policy json.RawMessage `json:"crediting_policy"`
	}
	_ = json.Unmarshal(raw, &s)
	if len(s.Policy) > 0 && string(s.Policy) != "null" && att.Policy.Kind != "" {
		var p PolicyJSON
		if json.Unmarshal(s.Policy, &p) == nil && (p.Kind == "" || p.Kind == string(att.Policy.Kind)) {
			out.CreditingPolicy = s.Policy
		}
	}
	if out.CreditingPolicy == nil {
		b, _ := json.Marshal(string(att.Policy.Kind))
		out.CreditingPolicy = b
	}
	return out
}
