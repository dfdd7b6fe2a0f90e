package smartlink

import (
	"net/http"
	"strings"
	"sync"

	"github.com/avct/uasurfer"
	"github.com/x-way/crawlerdetect"
)

// Devices a click is classified as; "" when the user agent does not say.
// They are the names campaign targeting rules use (campaign.Devices).
const (
	DeviceMobile  = "mobile"
	DeviceTablet  = "tablet"
	DeviceDesktop = "desktop"
)

// Visitor is what a user agent says about a click.
type Visitor struct {
	Device string // mobile, tablet, desktop or ""
	Bot    bool
}

// Classifier classifies user agents: bots by the maintained crawler list
// of github.com/x-way/crawlerdetect (plus uasurfer's own bot flag), devices
// by github.com/avct/uasurfer. Crawler detection runs a large regular
// expression, so answers are memoised per user agent (real traffic has few
// distinct ones); the memo is cleared when it reaches its size limit. The
// zero value is not usable: call NewClassifier. Safe for concurrent use.
type Classifier struct {
	mu    sync.RWMutex
	memo  map[string]Visitor
	limit int
}

// NewClassifier returns a classifier that remembers up to limit user agents
// (limit <= 0 means 10,000).
func NewClassifier(limit int) *Classifier {
	if limit <= 0 {
		limit = 10_000
	}
	return &Classifier{memo: make(map[string]Visitor), limit: limit}
}

// Classify returns the device and bot flag of a user agent. An empty user
// agent is a bot: every browser sends one.
func (c *Classifier) Classify(ua string) Visitor {
	ua = strings.TrimSpace(ua)
	if ua == "" {
		return Visitor{Bot: true}
	}
	if len(ua) > 512 { // nothing legitimate is this long; do not memoise it
		return classify(ua)
	}
	c.mu.RLock()
	v, ok := c.memo[ua]
	c.mu.RUnlock()
	if ok {
		return v
	}
	v = classify(ua)
	c.mu.Lock()
	if len(c.memo) >= c.limit {
		clear(c.memo)
	}
	c.memo[ua] = v
	c.mu.Unlock()
	return v
}

func classify(ua string) Visitor {
	p := uasurfer.Parse(ua)
	v := Visitor{Bot: crawlerdetect.IsCrawler(ua) || p.IsBot()}
	switch p.DeviceType {
	case uasurfer.DevicePhone, uasurfer.DeviceWearable:
		v.Device = DeviceMobile
	case uasurfer.DeviceTablet:
		v.Device = DeviceTablet
	case uasurfer.DeviceComputer:
		v.Device = DeviceDesktop
	}
	return v
}

// countryHeaders are the edge headers that carry the visitor's country, in
// the order they are trusted: Cloudflare, a generic proxy header, Vercel,
// CloudFront, Fastly-style.
var countryHeaders = []string{"CF-IPCountry", "X-Country-Code", "X-Vercel-IP-Country", "CloudFront-Viewer-Country", "X-Geo-Country"}

// Country returns the visitor's ISO 3166-1 alpha-2 country from the first
// edge header that carries one, upper-cased, or "" when none does. The
// placeholders edges send for "unknown" or Tor (XX, T1) count as none.
func Country(h http.Header) string {
	for _, k := range countryHeaders {
		v := strings.ToUpper(strings.TrimSpace(h.Get(k)))
		if len(v) != 2 || v[0] < 'A' || v[0] > 'Z' || v[1] < 'A' || v[1] > 'Z' || v == "XX" || v == "T1" {
			continue
		}
		return v
	}
	return ""
}
