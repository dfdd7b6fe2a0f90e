// Command issueload drives POST /api/v1/codes/issue of a running coupontrail
// at a fixed arrival rate (open loop: request i is due at start + i/rate and
// is sent then whether or not earlier ones have answered, and its latency is
// measured from when it was due, so a stall shows up in the numbers instead
// of slowing the load down). It seeds what it needs straight through the
// store: an installed shop, an API key, an active campaign, a pool of live
// codes and (with -endpoint) an outbound webhook endpoint, so the measured
// path includes the code.issued event. It then checks that no code went to
// two shoppers, that repeat shoppers got their own code back, and that the
// database agrees. It prints one JSON result line and exits 1 on a
// duplicate, a mismatch or a missed p99 target.
package main

import (
	"bytes"
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
	"sync"
	"sync/atomic"
	"time"

	"github.com/coupontrail/coupontrail/app/shopify"
	"github.com/coupontrail/coupontrail/app/shops"
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
	Issued      int64   `json:"codes_issued"`
	Repeats     int64   `json:"repeat_shoppers"`
	Duplicates  int64   `json:"duplicates"`
	DBIssued    int64   `json:"db_issued"`
	Mismatch    int64   `json:"db_mismatch"`       // issued in the database to another shopper than the API answered, or answered but not issued
	Unanswered  int64   `json:"issued_unanswered"` // issued, but the client gave up before the answer (timeouts)
	Auth        string  `json:"auth"`
	Pass        bool    `json:"pass"`
}

type sample struct {
	lat      time.Duration
	status   int
	code     string
	shopper  int
	repeat   bool
	measured bool
}

func main() {
	base := flag.String("url", "http://127.0.0.1:18091", "base URL of a running `coupontrail serve`")
	rate := flag.Int("rate", 1000, "requests per second (open loop)")
	dur := flag.Duration("d", 15*time.Second, "measured duration")
	warm := flag.Duration("warmup", 2*time.Second, "warm-up at the same rate before measuring (connections, caches); checked for duplicates, not timed")
	dsn := flag.String("db", os.Getenv("DATABASE_URL"), "the database `serve` uses (seeding and verification)")
	shop := flag.String("shop", "bench-issue.myshopify.com", "shop domain to seed")
	repeatEvery := flag.Int("repeat-every", 20, "every Nth request repeats an earlier shopper (expects the same code back); 0: never")
	endpoint := flag.Bool("endpoint", true, "subscribe an outbound webhook endpoint so each issue also writes a code.issued event")
	target := flag.Float64("p99", 15, "p99 target in ms")
	auth := flag.String("auth", "api_key", "api_key (server-to-server, the default) or session (App Bridge session tokens minted with SHOPIFY_API_KEY/SHOPIFY_API_SECRET)")
	flag.Parse()

	ctx := context.Background()
	st, err := store.Open(ctx, *dsn, store.Options{MaxOpenConns: 4, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		fail("open database: %v", err)
	}
	defer st.Close()
	warmN := int(warm.Seconds() * float64(*rate))
	total := warmN + int(dur.Seconds()*float64(*rate))
	key, campaignID := seed(ctx, st, *shop, total+total/10, *endpoint)
	bearer := func() string { return key }
	if *auth == "session" {
		apiKey, secret := os.Getenv("SHOPIFY_API_KEY"), os.Getenv("SHOPIFY_API_SECRET")
		if apiKey == "" {
			apiKey = "coupontrail-dev-key" // serve's defaults
		}
		if secret == "" {
			secret = "coupontrail-dev-secret"
		}
		var mu sync.Mutex
		var tok string
		var minted time.Time
		bearer = func() string {
			mu.Lock()
			defer mu.Unlock()
			if time.Since(minted) > 20*time.Second {
				t, err := shopify.MintSessionToken(*shop, "1", apiKey, []byte(secret), time.Now(), time.Minute)
				if err != nil {
					fail("mint session token: %v", err)
				}
				tok, minted = t, time.Now()
			}
			return tok
		}
	}

	client := loadgen.Client(*base, true)
	samples := make([]sample, total)
	var errN atomic.Int64
	interval := time.Second / time.Duration(*rate)
	start, sendEnd := loadgen.OpenLoop(total, *rate, func(i int, due time.Time) {
		shopper := i
		repeat := *repeatEvery > 0 && i > 100 && i%*repeatEvery == 0
		if repeat {
			shopper = i - 101 // asked ~0.1 s earlier: answered by now, or racing it
		}
		body, _ := json.Marshal(map[string]any{"campaign_id": fmt.Sprint(campaignID), "customer_email": fmt.Sprintf("s%d@bench.example.com", shopper),
			"channel": "email", "ttl_hours": 24, "country": "US", "device": "mobile"})
		req, _ := http.NewRequest(http.MethodPost, *base+"/api/v1/codes/issue", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+bearer())
		res, err := client.Do(req)
		s := sample{shopper: shopper, repeat: repeat, measured: i >= warmN}
		if err != nil {
			errN.Add(1)
			s.lat = time.Since(due)
			samples[i] = s
			return
		}
		var out struct {
			Code string `json:"code"`
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		s.lat = time.Since(due)
		s.status = res.StatusCode
		_ = json.Unmarshal(b, &out)
		s.code = out.Code
		if res.StatusCode != 200 && res.StatusCode != 201 {
			errN.Add(1)
		}
		samples[i] = s
	})
	elapsed := sendEnd.Sub(start.Add(time.Duration(warmN) * interval)).Seconds()

	r := result{Name: "issue_api", TargetRPS: *rate, Seconds: elapsed, TargetP99ms: *target, Auth: *auth}
	var lats []time.Duration
	owner := map[string]int{}     // code -> shopper
	byShopper := map[int]string{} // shopper -> code
	for _, s := range samples {
		if s.measured {
			r.Requests++
			lats = append(lats, s.lat)
		}
		if s.status != 200 && s.status != 201 {
			continue
		}
		if s.measured {
			r.OK++
		}
		if s.repeat {
			r.Repeats++
		}
		if o, ok := owner[s.code]; ok && o != s.shopper {
			r.Duplicates++ // one code, two shoppers
		}
		owner[s.code] = s.shopper
		if c, ok := byShopper[s.shopper]; ok && c != s.code {
			r.Duplicates++ // one shopper, two codes
		}
		byShopper[s.shopper] = s.code
	}
	r.Errors = errN.Load()
	r.Issued = int64(len(owner))
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
	// The database agrees: every code it marks issued in the campaign went
	// to the one shopper the API named.
	codes, err := st.ListIssuedForBench(ctx, campaignID)
	if err != nil {
		fail("verify: %v", err)
	}
	r.DBIssued = int64(len(codes))
	for code, email := range codes {
		o, ok := owner[code]
		switch {
		case !ok:
			r.Unanswered++
		case fmt.Sprintf("s%d@bench.example.com", o) != email:
			r.Mismatch++
		}
	}
	for code := range owner {
		if _, ok := codes[code]; !ok {
			r.Mismatch++
		}
	}
	r.Pass = r.Duplicates == 0 && r.Mismatch == 0 && r.Errors == 0 && r.P99ms < *target
	_ = json.NewEncoder(os.Stdout).Encode(r)
	if !r.Pass {
		os.Exit(1)
	}
}

// seed installs the shop (a placeholder token: issuing never calls
// Shopify), makes an API key, a fresh active campaign with n live codes and,
// when endpoint is set, one outbound endpoint (replacing earlier runs' ones).
func seed(ctx context.Context, st *store.Store, domain string, n int, endpoint bool) (string, int64) {
	now := time.Now().UTC()
	sh, err := st.InstallShop(ctx, domain, store.ShopTokens{AccessTokenEnc: "bench-placeholder", TokenKind: "offline", Scopes: "write_discounts"}, now)
	if err != nil {
		fail("seed shop: %v", err)
	}
	svc := &shops.Service{Store: st}
	key, _, err := svc.CreateAPIKey(ctx, sh.ID, "issueload", rand.Reader)
	if err != nil {
		fail("seed api key: %v", err)
	}
	c := &store.Campaign{ShopID: sh.ID, Name: "issueload " + now.Format(time.RFC3339), Goal: "acquisition", Status: "active",
		Discount: []byte(`{"type":"percentage","value":10}`), CodeFormat: []byte(`{"prefix":"BN","length":10}`),
		Usage: []byte(`{"single_use":true,"once_per_customer":true}`), Rules: []byte(`{"countries":["US","CA"],"devices":["mobile","desktop"]}`),
		StartsAt: now.Add(-time.Minute)}
	if err := st.SeedCampaign(ctx, c); err != nil {
		fail("seed campaign: %v", err)
	}
	codes := make([]store.SeedLiveCode, n)
	for i := range codes {
		codes[i] = store.SeedLiveCode{Code: fmt.Sprintf("BN%dX%07d", c.ID, i)}
	}
	if err := st.SeedLiveCodes(ctx, sh.ID, c.ID, codes); err != nil {
		fail("seed codes: %v", err)
	}
	if eps, err := st.ListWebhookEndpoints(ctx, sh.ID); err == nil {
		for _, e := range eps {
			_ = st.DeleteWebhookEndpoint(ctx, sh.ID, e.ID, now)
		}
	}
	if endpoint {
		// Nothing delivers during the bench (no worker runs); the secret is a
		// placeholder, so a later worker marks these events failed.
		if err := st.CreateWebhookEndpoint(ctx, &store.WebhookEndpoint{ShopID: sh.ID, URL: "https://hooks.example.invalid/issueload",
			SecretEnc: "bench-placeholder", Events: store.StringArray{"code.issued"}}); err != nil {
			fail("seed endpoint: %v", err)
		}
	}
	return key, c.ID
}

func fail(format string, a ...any) {
	fmt.Fprintf(os.Stderr, "issueload: "+format+"\n", a...)
	os.Exit(1)
}
