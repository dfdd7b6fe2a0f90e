// Command reportload measures the reporting API at scale. `reportload seed`
// creates a fresh database, migrates it and loads one shop with -n orders
// and conversions (COPY; 10,000,000 by default) spread over two years, 40
// campaigns, 200 partners and 8 channels, with refunds, rejections and
// fraud flags, then builds the rollups set-based and approves -pending held
// conversions through the reporting trigger so reads also sum the unfolded
// deltas a busy shop has between folds. `reportload measure` then calls
// GET /api/v1/reports/{summary,timeseries,ltv,overview} of a running
// `coupontrail serve` on that database with a mix of groupings, ranges and
// filters (closed loop, -c callers) and prints one JSON result line with
// p50/p95/p99 per endpoint; it exits 1 when a p95 misses -p95.
package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	mrand "math/rand/v2"
	"net/http"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/coupontrail/coupontrail/app/shops"
	"github.com/coupontrail/coupontrail/app/store"
	"github.com/coupontrail/coupontrail/bench/loadgen"
	"github.com/coupontrail/coupontrail/migrations"
)

const (
	shopDomain = "bench-reports.myshopify.com"
	campaigns  = 40
	partners   = 200
	days       = 730
)

var channels = []string{"email", "sms", "affiliate", "influencer", "paid", "organic", "push", "other"}

type endpointResult struct {
	Requests int     `json:"requests"`
	Errors   int     `json:"errors"`
	P50ms    float64 `json:"p50_ms"`
	P95ms    float64 `json:"p95_ms"`
	P99ms    float64 `json:"p99_ms"`
	MaxMs    float64 `json:"max_ms"`
}

type result struct {
	Name        string                    `json:"name"`
	Conversions int64                     `json:"conversions"`
	Rollup      map[string]int64          `json:"rollup_rows"`
	Seconds     float64                   `json:"seconds"`
	Concurrency int                       `json:"concurrency"`
	Requests    int                       `json:"requests"`
	Errors      int64                     `json:"errors"`
	RPS         float64                   `json:"req_per_s"`
	P50ms       float64                   `json:"p50_ms"`
	P95ms       float64                   `json:"p95_ms"`
	P99ms       float64                   `json:"p99_ms"`
	MaxMs       float64                   `json:"max_ms"`
	TargetP95ms float64                   `json:"target_p95_ms"`
	Endpoints   map[string]endpointResult `json:"endpoints"`
	Pass        bool                      `json:"pass"`
}

func main() {
	if len(os.Args) < 2 || (os.Args[1] != "seed" && os.Args[1] != "measure") {
		fmt.Fprintln(os.Stderr, "usage: reportload seed|measure [flags]")
		os.Exit(2)
	}
	fs := flag.NewFlagSet(os.Args[1], flag.ExitOnError)
	dsn := fs.String("db", os.Getenv("DATABASE_URL"), "database URL (seed drops and recreates it)")
	n := fs.Int("n", 10_000_000, "conversions to load (seed)")
	reuse := fs.Bool("reuse", false, "seed: keep the database when it already holds the shop with at least -n conversions")
	pending := fs.Int("pending", 2000, "held conversions to approve through the trigger after the rebuild, left as unfolded deltas (seed)")
	base := fs.String("url", "http://127.0.0.1:18093", "base URL of a running `coupontrail serve` on -db (measure)")
	conc := fs.Int("c", 4, "concurrent callers (measure)")
	dur := fs.Duration("d", 20*time.Second, "measured duration (measure)")
	target := fs.Float64("p95", 150, "p95 target in ms per endpoint (measure)")
	_ = fs.Parse(os.Args[2:])
	ctx := context.Background()
	if os.Args[1] == "seed" {
		if *reuse && seeded(ctx, *dsn, *n) {
			logf("reusing the %d conversions already loaded in %s", *n, store.DatabaseName(*dsn))
			return
		}
		seed(ctx, *dsn, *n, *pending)
		return
	}
	measure(ctx, *dsn, *base, *conc, *dur, *target)
}

func logf(format string, a ...any) {
	fmt.Fprintf(os.Stderr, "%s reportload: "+format+"\n", append([]any{time.Now().Format("15:04:05")}, a...)...)
}

func fail(format string, a ...any) {
	fmt.Fprintf(os.Stderr, "reportload: "+format+"\n", a...)
	os.Exit(1)
}

// seeded says whether dsn already holds the bench shop with n conversions.
func seeded(ctx context.Context, dsn string, n int) bool {
	st, err := store.Open(ctx, dsn, store.Options{MaxOpenConns: 1, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return false
	}
	defer st.Close()
	sh, err := st.ShopByDomain(ctx, shopDomain)
	if err != nil {
		return false
	}
	// Migrations added since the load (out of order below the loaded ones
	// included) make it a stale database: load again.
	if err := st.Migrate(ctx, migrations.FS, "up"); err != nil {
		logf("reloading: %v", err)
		return false
	}
	counts, err := st.ReportRowCounts(ctx, sh.ID)
	return err == nil && counts["conversions"] >= int64(n) && counts["report_daily"] > 0
}

func seed(ctx context.Context, dsn string, n, pending int) {
	name := store.DatabaseName(dsn)
	admin, err := store.WithDatabase(dsn, "postgres")
	if err != nil {
		fail("database URL: %v", err)
	}
	if err := store.DropDatabase(ctx, admin, name); err != nil {
		fail("drop %s: %v", name, err)
	}
	if err := store.CreateDatabase(ctx, admin, name); err != nil {
		fail("create %s: %v", name, err)
	}
	st, err := store.Open(ctx, dsn, store.Options{MaxOpenConns: 4, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		fail("open: %v", err)
	}
	defer st.Close()
	if err := st.Migrate(ctx, migrations.FS, "up"); err != nil {
		fail("migrate: %v", err)
	}
	now := time.Now().UTC()
	sh, err := st.InstallShop(ctx, shopDomain, store.ShopTokens{AccessTokenEnc: "bench-placeholder", TokenKind: "offline", Scopes: "read_orders"}, now)
	if err != nil {
		fail("shop: %v", err)
	}
	if err := st.UpdateShopDetails(ctx, sh.ID, "Bench Reports", "USD", "standard", "UTC", now); err != nil {
		fail("shop details: %v", err)
	}
	campIDs := make([]int64, campaigns)
	for i := range campIDs {
		c := &store.Campaign{ShopID: sh.ID, Name: fmt.Sprintf("Campaign %02d", i+1), Goal: "acquisition", Status: "active",
			Discount: []byte(`{"type":"percentage","value":10}`), CodeFormat: []byte(`{"prefix":"RP","length":10}`),
			Usage: []byte(`{"single_use":true}`), Rules: []byte(`{}`), StartsAt: now.AddDate(-2, 0, 0)}
		if err := st.SeedCampaign(ctx, c); err != nil {
			fail("campaign: %v", err)
		}
		campIDs[i] = c.ID
	}
	partIDs := make([]int64, partners)
	pct := 10.0
	for i := range partIDs {
		p := &store.Partner{ShopID: sh.ID, Name: fmt.Sprintf("Partner %03d", i+1), Kind: "affiliate", Email: fmt.Sprintf("p%d@bench.example.com", i),
			CommissionPercent: &pct, Status: "active"}
		if err := st.CreatePartner(ctx, p); err != nil {
			fail("partner: %v", err)
		}
		partIDs[i] = p.ID
	}

	// Customers: n/3 of them; each order picks one (Zipf-ish: a few buy often).
	customers := int64(max(n/3, 1))
	start := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC).AddDate(0, 0, -days+1)
	span := now.Sub(start)
	t0 := time.Now()
	logf("loading %d conversions", n)
	err = st.BulkLoadConversions(ctx, sh.ID, "USD", n, func(i int, r *store.BulkConversion) {
		rng := mrand.New(mrand.NewPCG(uint64(i), 0x9e3779b97f4a7c15))
		r.OrderID = 5_000_000_000_000 + int64(i)
		// Orders arrive evenly in time: order i at its share of the span.
		r.CreatedAt = start.Add(time.Duration(float64(span) * float64(i) / float64(n)))
		r.CustomerID = 1 + int64(float64(customers)*math.Pow(rng.Float64(), 1.6))
		gross := int64(2000 + rng.IntN(18000))
		r.Gross, r.Status, r.Rule = gross, store.ConversionApproved, "organic"
		r.Channel = channels[rng.IntN(len(channels))]
		if rng.IntN(10) < 7 { // 70% attributed to a partner's campaign
			p := rng.IntN(partners)
			r.PartnerID = partIDs[p]
			r.CampaignID = campIDs[(p+rng.IntN(2))%campaigns] // each partner works on two campaigns
			r.Attributed, r.Rule = true, "code"
			r.Code = fmt.Sprintf("RP%010d", i)
			r.Discount = gross / 10
			r.Channel = channels[p%len(channels)]
		}
		r.Net = r.Gross - r.Discount
		r.OriginalNet = r.Net
		if r.PartnerID != 0 {
			r.Commission = r.Net / 10
		}
		switch age := now.Sub(r.CreatedAt); {
		case rng.IntN(100) < 4:
			r.Status, r.Net, r.Commission, r.Gross, r.Discount = store.ConversionReversed, 0, 0, 0, 0
		case rng.IntN(100) < 1:
			r.Status, r.FraudAction = store.ConversionRejected, "reject"
		case age < 30*24*time.Hour:
			r.Status = store.ConversionHeld
		case age > 60*24*time.Hour && rng.IntN(2) == 0:
			r.Status = store.ConversionPaid
		}
		if r.FraudAction == "" && rng.IntN(200) == 0 {
			r.FraudAction = "flag"
		}
	}, func(done int) {
		if done%1_000_000 == 0 || done == n {
			logf("  %d rows (%.0f s)", done, time.Since(t0).Seconds())
		}
	})
	if err != nil {
		fail("load: %v", err)
	}
	logf("loaded in %.0f s; rebuilding rollups", time.Since(t0).Seconds())
	t1 := time.Now()
	if err := st.RebuildReports(ctx, sh.ID); err != nil {
		fail("rebuild: %v", err)
	}
	logf("rollups rebuilt in %.0f s", time.Since(t1).Seconds())
	if err := st.AnalyzeReports(ctx); err != nil {
		fail("analyze: %v", err)
	}
	if pending > 0 {
		t2 := time.Now()
		m, err := st.ApproveHeldForBench(ctx, sh.ID, pending, now)
		if err != nil {
			fail("pending: %v", err)
		}
		logf("approved %d held conversions through the trigger in %.0f ms (%.2f ms each)", m, float64(time.Since(t2).Milliseconds()),
			float64(time.Since(t2).Microseconds())/1000/float64(max(m, 1)))
	}
	counts, _ := st.ReportRowCounts(ctx, sh.ID)
	logf("rows: %v", counts)
}

type call struct {
	endpoint string
	path     string
}

func calls(campID, partID int64, today time.Time) []call {
	d := func(back int) string { return today.AddDate(0, 0, -back).Format(time.DateOnly) }
	to := today.Format(time.DateOnly)
	var out []call
	for _, g := range []string{"campaign", "partner", "channel", "day"} {
		for _, back := range []int{6, 29, 89, 364} {
			out = append(out, call{"summary", fmt.Sprintf("/api/v1/reports/summary?group_by=%s&from=%s&to=%s", g, d(back), to)})
		}
	}
	for _, back := range []int{29, 89, 364} {
		out = append(out,
			call{"timeseries", fmt.Sprintf("/api/v1/reports/timeseries?from=%s&to=%s", d(back), to)},
			call{"timeseries", fmt.Sprintf("/api/v1/reports/timeseries?from=%s&to=%s&campaign_id=%d", d(back), to, campID)},
			call{"timeseries", fmt.Sprintf("/api/v1/reports/timeseries?from=%s&to=%s&partner_id=%d", d(back), to, partID)},
			call{"timeseries", fmt.Sprintf("/api/v1/reports/timeseries?from=%s&to=%s&channel=email", d(back), to)})
	}
	for _, g := range []string{"campaign", "partner", "channel"} {
		out = append(out, call{"ltv", "/api/v1/reports/ltv?group_by=" + g})
	}
	out = append(out, call{"overview", "/api/v1/reports/overview"})
	return out
}

func measure(ctx context.Context, dsn, base string, conc int, dur time.Duration, target float64) {
	st, err := store.Open(ctx, dsn, store.Options{MaxOpenConns: 2, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		fail("open: %v", err)
	}
	defer st.Close()
	sh, err := st.ShopByDomain(ctx, shopDomain)
	if err != nil {
		fail("no seeded shop (run `reportload seed` first): %v", err)
	}
	counts, err := st.ReportRowCounts(ctx, sh.ID)
	if err != nil {
		fail("counts: %v", err)
	}
	camps, err := st.ListCampaigns(ctx, store.CampaignFilter{ShopID: sh.ID, Limit: 1})
	if err != nil || len(camps) == 0 {
		fail("campaigns: %v", err)
	}
	parts, err := st.ListPartners(ctx, store.PartnerFilter{ShopID: sh.ID, Limit: 1})
	if err != nil || len(parts) == 0 {
		fail("partners: %v", err)
	}
	key, _, err := (&shops.Service{Store: st}).CreateAPIKey(ctx, sh.ID, "reportload", rand.Reader)
	if err != nil {
		fail("api key: %v", err)
	}
	now := time.Now().UTC()
	mix := calls(camps[0].ID, parts[0].ID, time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC))
	client := loadgen.Client(base, true)

	type sample struct {
		endpoint string
		lat      time.Duration
		ok       bool
	}
	do := func(c call) sample {
		req, _ := http.NewRequest(http.MethodGet, base+c.path, nil)
		req.Header.Set("Authorization", "Bearer "+key)
		t := time.Now()
		res, err := client.Do(req)
		if err != nil {
			return sample{c.endpoint, time.Since(t), false}
		}
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		return sample{c.endpoint, time.Since(t), res.StatusCode == 200}
	}
	// Warm-up: every call once (plans, connections), not timed.
	for _, c := range mix {
		if s := do(c); !s.ok {
			fail("warm-up %s failed", c.path)
		}
	}
	var mu sync.Mutex
	var samples []sample
	var wg sync.WaitGroup
	startT := time.Now()
	deadline := startT.Add(dur)
	for w := range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := mrand.New(mrand.NewPCG(uint64(w), 7))
			var mine []sample
			for time.Now().Before(deadline) {
				mine = append(mine, do(mix[rng.IntN(len(mix))]))
			}
			mu.Lock()
			samples = append(samples, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed := time.Since(startT).Seconds()

	pcts := func(ls []time.Duration) (p50, p95, p99, mx float64) {
		if len(ls) == 0 {
			return
		}
		slices.Sort(ls)
		at := func(p float64) float64 {
			return float64(ls[min(len(ls)-1, int(p*float64(len(ls))))].Microseconds()) / 1000
		}
		return at(0.50), at(0.95), at(0.99), float64(ls[len(ls)-1].Microseconds()) / 1000
	}
	r := result{Name: "reports_api", Conversions: counts["conversions"], Rollup: counts, Seconds: elapsed, Concurrency: conc,
		TargetP95ms: target, Endpoints: map[string]endpointResult{}, Pass: true}
	byEP := map[string][]time.Duration{}
	var all []time.Duration
	errs := map[string]int{}
	for _, s := range samples {
		byEP[s.endpoint] = append(byEP[s.endpoint], s.lat)
		all = append(all, s.lat)
		if !s.ok {
			errs[s.endpoint]++
			r.Errors++
		}
	}
	for ep, ls := range byEP {
		e := endpointResult{Requests: len(ls), Errors: errs[ep]}
		e.P50ms, e.P95ms, e.P99ms, e.MaxMs = pcts(ls)
		r.Endpoints[ep] = e
		if e.P95ms >= target || e.Errors > 0 {
			r.Pass = false
		}
	}
	r.Requests = len(all)
	r.RPS = float64(len(all)) / elapsed
	r.P50ms, r.P95ms, r.P99ms, r.MaxMs = pcts(all)
	_ = json.NewEncoder(os.Stdout).Encode(r)
	if !r.Pass {
		os.Exit(1)
	}
}
