package smartlink

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
)

// UTM holds the utm_* tags put on the landing URL. Empty tags are left out.
type UTM struct {
	Source   string `json:"source"`
	Medium   string `json:"medium"`
	Campaign string `json:"campaign"`
	Content  string `json:"content,omitempty"`
	Term     string `json:"term,omitempty"`
}

// WithDefaults fills empty tags from def (a link's explicit tags win).
func (u UTM) WithDefaults(def UTM) UTM {
	for _, p := range []struct {
		v *string
		d string
	}{{&u.Source, def.Source}, {&u.Medium, def.Medium}, {&u.Campaign, def.Campaign},
		{&u.Content, def.Content}, {&u.Term, def.Term}} {
		if strings.TrimSpace(*p.v) == "" {
			*p.v = p.d
		}
	}
	return u
}

// Routing is a link's geo/device rules: destination overrides per country
// (ISO alpha-2) and per device, and countries/devices that are blocked (sent
// to the store's home page without a code). A country override wins over a
// device override.
type Routing struct {
	Countries      map[string]string `json:"countries,omitempty"`
	Devices        map[string]string `json:"devices,omitempty"`
	BlockCountries []string          `json:"block_countries,omitempty"`
	BlockDevices   []string          `json:"block_devices,omitempty"`
}

// Normalize upper-cases countries, lower-cases devices and checks every
// destination is a storefront path; it returns the first problem.
func (r *Routing) Normalize() error {
	cs := make(map[string]string, len(r.Countries))
	for k, v := range r.Countries {
		k = strings.ToUpper(strings.TrimSpace(k))
		if !validCountry(k) {
			return fmt.Errorf("routing.countries: %q is not an ISO 3166-1 alpha-2 code", k)
		}
		d, err := NormalizeDestination(v)
		if err != nil {
			return fmt.Errorf("routing.countries.%s: %w", k, err)
		}
		cs[k] = d
	}
	ds := make(map[string]string, len(r.Devices))
	for k, v := range r.Devices {
		k = strings.ToLower(strings.TrimSpace(k))
		if !validDevice(k) {
			return fmt.Errorf("routing.devices: %q is not mobile, tablet or desktop", k)
		}
		d, err := NormalizeDestination(v)
		if err != nil {
			return fmt.Errorf("routing.devices.%s: %w", k, err)
		}
		ds[k] = d
	}
	r.Countries, r.Devices = nil, nil
	if len(cs) > 0 {
		r.Countries = cs
	}
	if len(ds) > 0 {
		r.Devices = ds
	}
	for i, c := range r.BlockCountries {
		c = strings.ToUpper(strings.TrimSpace(c))
		if !validCountry(c) {
			return fmt.Errorf("routing.block_countries: %q is not an ISO 3166-1 alpha-2 code", c)
		}
		r.BlockCountries[i] = c
	}
	for i, d := range r.BlockDevices {
		d = strings.ToLower(strings.TrimSpace(d))
		if !validDevice(d) {
			return fmt.Errorf("routing.block_devices: %q is not mobile, tablet or desktop", d)
		}
		r.BlockDevices[i] = d
	}
	return nil
}

func validCountry(c string) bool {
	return len(c) == 2 && c[0] >= 'A' && c[0] <= 'Z' && c[1] >= 'A' && c[1] <= 'Z'
}

func validDevice(d string) bool { return d == DeviceMobile || d == DeviceTablet || d == DeviceDesktop }

// Decision is where one click goes.
type Decision struct {
	Destination string // storefront path (with its own query, if any)
	Blocked     bool   // send to the home page, no code
	Reason      string // why it was blocked: "country XX blocked", ...
}

// Route applies the link's routing to a visitor. An unknown country or
// device ("") never matches a rule: it can be neither blocked nor
// redirected on evidence the app does not have.
func Route(r Routing, dest, country, device string) Decision {
	if country != "" && slices.Contains(r.BlockCountries, country) {
		return Decision{Destination: "/", Blocked: true, Reason: "country " + country + " is blocked"}
	}
	if device != "" && slices.Contains(r.BlockDevices, device) {
		return Decision{Destination: "/", Blocked: true, Reason: "device " + device + " is blocked"}
	}
	if d, ok := r.Countries[country]; ok && country != "" {
		return Decision{Destination: d}
	}
	if d, ok := r.Devices[device]; ok && device != "" {
		return Decision{Destination: d}
	}
	if dest == "" {
		dest = "/"
	}
	return Decision{Destination: dest}
}

// ErrBadDestination is returned for a destination that is not a storefront
// path.
var ErrBadDestination = errors.New("destination must be a storefront path starting with / (not //), at most 2000 characters")

// NormalizeDestination checks that d is a relative storefront path ("" is
// "/"); absolute URLs and protocol-relative paths are refused so a link can
// never redirect off the shop.
func NormalizeDestination(d string) (string, error) {
	d = strings.TrimSpace(d)
	if d == "" {
		return "/", nil
	}
	if !strings.HasPrefix(d, "/") || strings.HasPrefix(d, "//") || strings.ContainsAny(d, "\\\r\n\t ") || len(d) > 2000 {
		return "", ErrBadDestination
	}
	if _, err := url.Parse(d); err != nil {
		return "", ErrBadDestination
	}
	return d, nil
}

// LandingURL returns dest (a storefront path) with ct_click and the UTM
// tags added to its query; parameters dest already carries are kept except
// ct_click and any utm_* the link sets, which are replaced. The result is
// the relative URL the store lands the shopper on: the redirect parameter of
// the discount link, or the path itself when there is no code.
func LandingURL(dest, clickID string, utm UTM) string {
	path, query, _ := strings.Cut(dest, "?")
	frag := ""
	if i := strings.IndexByte(query, '#'); i >= 0 {
		query, frag = query[:i], query[i:]
	} else if i := strings.IndexByte(path, '#'); i >= 0 {
		path, frag = path[:i], path[i:]
	}
	q, err := url.ParseQuery(query)
	if err != nil {
		q = url.Values{}
	}
	set := func(k, v string) {
		if v != "" {
			q.Set(k, v)
		}
	}
	set("ct_click", clickID)
	set("utm_source", utm.Source)
	set("utm_medium", utm.Medium)
	set("utm_campaign", utm.Campaign)
	set("utm_content", utm.Content)
	set("utm_term", utm.Term)
	if len(q) == 0 {
		return path + frag
	}
	return path + "?" + q.Encode() + frag
}
