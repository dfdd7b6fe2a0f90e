// Command linkload drives GET /l/{slug} (the SmartLink redirect) of a
// running coupontrail at a fixed arrival rate (open loop: request i is due
// at start + i/rate and is sent then whether or not earlier ones have
// answered; its latency is measured from when it was due, so a stall shows
// in the numbers instead of slowing the load down). It seeds an installed
// shop, an active campaign with a pool of live codes and one link straight
// through the store, sends a mix of phone, desktop and bot user agents from
// many client IPs and countries, then checks that every redirect it got
// was recorded as a click (and every human click in issue mode carried a
// code). It prints one JSON result line and exits 1 on an error, a missing
// click or a missed p99 target.
package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/coupontrail/coupontrail/app/smartlink"
	"github.com/coupontrail/coupontrail/app/store"
	"github.com/coupontrail/coupontrail/bench/loadgen"
)

type result struct {
	Name        string  `json:"name"`
	TargetRPS   int     `json:"target_rps"`
	Seconds     float64 `json:"seconds"`
	Requests    int64   `json:"requests"`
	OK          int64   `json:"ok"`
	Errors      int64   `json:"errors"`
	RPS         float64 `json:"req_per_s"`
	P50ms       float64 `json:"p50_ms"`
	P90ms       float64 `json:"p90_ms"`
	P99ms       float64 `json:"p99_ms"`
	MaxMs       float64 `json:"max_ms"`
	TargetP99ms float64 `json:"target_p99_ms"`
	CodeMode    string  `json:"code_mode"`
	Redirects   int64   `json:"redirects"`      // 302s received (warm-up included)
	WithCode    int64   `json:"with_code"`      // redirects to /discount/{CODE}
	DBClicks    int64   `json:"db_clicks"`      // clicks rows of the link
	Missing     int64   `json:"missing_clicks"` // redirects without a clicks row
	Pass        bool    `json:"pass"`
}

var userAgents = []struct {
	ua  string
	bot bool
}{
	{"Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1", false},
	{"Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36", false},
	{"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36", false},
	{"Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15", false},
	{"Mozilla/5.0 (iPad; CPU OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1", false},
	{"Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", true},
}

var countries = []string{"US", "US", "US", "CA", "DE", "GB"}

type sample struct {
	lat      time.Duration
	status   int
	code     bool
	measured bool
}

func main() {
	base := flag.String("url", "http://127.0.0.1:18092", "base URL of a running `coupontrail serve`")
	rate := flag.Int("rate", 1000, "requests per second (open loop)")
	dur := flag.Duration("d", 15*time.Second, "measured duration")
	warm := flag.Duration("warmup", 2*time.Second, "warm-up at the same rate before measuring (connections, caches); verified, not timed")
	dsn := flag.String("db", os.Getenv("DATABASE_URL"), "the database `serve` uses (seeding and verification)")
	shop := flag.String("shop", "bench-links.myshopify.com", "shop domain to seed")
	mode := flag.String("code-mode", "issue", "the link's code mode: issue (a personal code per human click), vanity or none")
	target := flag.Float64("p99", 10, "p99 target in ms")
	flag.Parse()

	ctx := context.Background()
	st, err := store.Open(ctx, *dsn, store.Options{MaxOpenConns: 4, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		fail("open database: %v", err)
	}
	defer st.Close()
	warmN := int(warm.Seconds() * float64(*rate))
	total := warmN + int(dur.Seconds()*float64(*rate))
	link := seed(ctx, st, *shop, *mode, total+total/10)

	client := loadgen.Client(*base, false)
	samples := make([]sample, total)
	var errN atomic.Int64
	interval := time.Second / time.Duration(*rate)
	start, sendEnd := loadgen.OpenLoop(total, *rate, func(i int, due time.Time) {
		req, _ := http.NewRequest(http.MethodGet, *base+"/l/"+link.Slug, nil)
		u := userAgents[i%len(userAgents)]
		req.Header.Set("User-Agent", u.ua)
		req.Header.Set("X-Forwarded-For", fmt.Sprintf("198.51.%d.%d", (i/250)%256, i%250+1))
		req.Header.Set("CF-IPCountry", countries[i%len(countries)])
		req.Header.Set("Referer", "https://social.example/post/"+fmt.Sprint(i%97))
		s := sample{measured: i >= warmN}
		res, err := client.Do(req)
		if err != nil {
			errN.Add(1)
			s.lat = time.Since(due)
			samples[i] = s
			return
		}
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		s.lat = time.Since(due)
		s.status = res.StatusCode
		s.code = strings.Contains(res.Header.Get("Location"), "/discount/")
		if res.StatusCode != http.StatusFound {
			errN.Add(1)
		}
		samples[i] = s
	})
	elapsed := sendEnd.Sub(start.Add(time.Duration(warmN) * interval)).Seconds()

	r := result{Name: "smartlink_redirect", TargetRPS: *rate, Seconds: elapsed, TargetP99ms: *target, CodeMode: *mode}
	var lats []time.Duration
	for _, s := range samples {
		if s.measured {
			r.Requests++
			lats = append(lats, s.lat)
		}
		if s.status != http.StatusFound {
			continue
		}
		r.Redirects++
		if s.measured {
			r.OK++
		}
		if s.code {
			r.WithCode++
		}
	}
	r.Errors = errN.Load()
	r.RPS = float64(r.Requests) / elapsed
	slices.Sort(lats)
	pct := func(p float64) float64 {
		if len(lats) == 0 {
			return 0
		}
		return float64(lats[min(len(lats)-1, int(p*float64(len(lats))))].Microseconds()) / 1000
	}
	r.P50ms, r.P90ms, r.P99ms = pct(0.50), pct(0.90), pct(0.99)
	if len(lats) > 0 {
		r.MaxMs = float64(lats[len(lats)-1].Microseconds()) / 1000
	}
	// Every redirect was recorded: the link is fresh, so all its clicks are ours.
	if r.DBClicks, err = st.CountClicks(ctx, link.ID, time.Time{}); err != nil {
		fail("verify: %v", err)
	}
	r.Missing = max(0, r.Redirects-r.DBClicks)
	humans := int64(0)
	for i := range total {
		if !userAgents[i%len(userAgents)].bot && samples[i].status == http.StatusFound {
			humans++
		}
	}
	codesOK := *mode == store.LinkCodeNone || r.WithCode == humans
	r.Pass = r.Errors == 0 && r.Missing == 0 && r.DBClicks == r.Redirects && codesOK && r.P99ms < *target
	_ = json.NewEncoder(os.Stdout).Encode(r)
	if !r.Pass {
		if !codesOK {
			fmt.Fprintf(os.Stderr, "linkload: %d human redirects but %d carried a code\n", humans, r.WithCode)
		}
		os.Exit(1)
	}
}

// seed installs the shop (a placeholder token: the click path never calls
// Shopify), a fresh active campaign with n live codes, a vanity code, and a
// new link in the given code mode.
func seed(ctx context.Context, st *store.Store, domain, mode string, n int) *store.Link {
	now := time.Now().UTC()
	sh, err := st.InstallShop(ctx, domain, store.ShopTokens{AccessTokenEnc: "bench-placeholder", TokenKind: "offline", Scopes: "write_discounts"}, now)
	if err != nil {
		fail("seed shop: %v", err)
	}
	c := &store.Campaign{ShopID: sh.ID, Name: "linkload " + now.Format(time.RFC3339), Goal: "acquisition", Status: "active",
		Discount: []byte(`{"type":"percentage","value":10}`), CodeFormat: []byte(`{"prefix":"LL","length":10}`),
		Usage: []byte(`{"single_use":true}`), Rules: []byte(`{"countries":["US","CA","DE","GB"]}`), StartsAt: now.Add(-time.Minute)}
	if err := st.SeedCampaign(ctx, c); err != nil {
		fail("seed campaign: %v", err)
	}
	var vanity string
	switch mode {
	case store.LinkCodeIssue:
		codes := make([]store.SeedLiveCode, n)
		for i := range codes {
			codes[i] = store.SeedLiveCode{Code: fmt.Sprintf("LL%dX%07d", c.ID, i)}
		}
		if err := st.SeedLiveCodes(ctx, sh.ID, c.ID, codes); err != nil {
			fail("seed codes: %v", err)
		}
	case store.LinkCodeVanity:
		vanity = fmt.Sprintf("LLV%d", c.ID)
		if err := st.InsertVanityCode(ctx, &store.Code{ShopID: sh.ID, CampaignID: c.ID, Code: vanity}); err != nil {
			fail("seed vanity code: %v", err)
		}
	case store.LinkCodeNone:
	default:
		fail("-code-mode must be issue, vanity or none")
	}
	slug, err := smartlink.NewSlug(rand.Reader)
	if err != nil {
		fail("slug: %v", err)
	}
	l := &store.Link{ShopID: sh.ID, Slug: slug, CampaignID: &c.ID, Channel: "influencer", Destination: "/products/bench",
		UTM: []byte(`{"source":"linkload","medium":"influencer","campaign":"bench"}`), CodeMode: mode, VanityCode: vanity, CreatedAt: now}
	if err := st.CreateLink(ctx, l); err != nil {
		fail("seed link: %v", err)
	}
	return l
}

func fail(format string, a ...any) {
	fmt.Fprintf(os.Stderr, "linkload: "+format+"\n", a...)
	os.Exit(1)
}
