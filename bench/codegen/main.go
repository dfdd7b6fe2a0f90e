// Command codegen benchmarks the code pipeline against a real PostgreSQL:
//
//   - gen: generate and persist N codes (codes:generate: generator -> COPY
//     -> INSERT ... ON CONFLICT), reporting codes/s, peak Go heap and peak
//     RSS for two sizes to show that memory stays flat;
//   - push: push M codes to an in-process dev store shop on the standard
//     plan (bucket 2000, restore 100 points/s) with codes:push, reporting the
//     cost points used per second of shop time against what the bucket can
//     sustain, THROTTLED answers seen, and that every code ended in Shopify
//     exactly once.
//
// The dev store's clock (its leaky bucket) and the bench's limiter run
// -scale times faster than the wall clock so 100,000 codes (≈ 106,000
// points, 17 minutes of a real standard-plan bucket) take about three and a half minutes.
// Network, database and bulk-creation latency are not scaled, so the
// measured efficiency is a lower bound of the real-time one. It prints one
// JSON object on stdout and a table on stderr.
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/hibiken/asynq"
	"github.com/jackc/pgx/v5"

	"github.com/coupontrail/coupontrail/app/devstore"
	"github.com/coupontrail/coupontrail/app/metrics"
	"github.com/coupontrail/coupontrail/app/secrets"
	"github.com/coupontrail/coupontrail/app/shopify"
	"github.com/coupontrail/coupontrail/app/shopify/admin"
	"github.com/coupontrail/coupontrail/app/shops"
	"github.com/coupontrail/coupontrail/app/store"
	"github.com/coupontrail/coupontrail/jobs"
)

type genResult struct {
	Codes       int64   `json:"codes"`
	Seconds     float64 `json:"seconds"`
	CodesPerSec float64 `json:"codes_per_s"`
	PeakHeapMB  float64 `json:"peak_heap_mb"`
	PeakRSSMB   float64 `json:"peak_rss_mb"`
	TargetSec   float64 `json:"target_s,omitempty"`
}

type pushResult struct {
	Codes          int64   `json:"codes"`
	WallSeconds    float64 `json:"wall_seconds"`
	ShopSeconds    float64 `json:"shop_seconds"`
	Scale          float64 `json:"clock_scale"`
	Points         int64   `json:"points"`
	PointsPerSec   float64 `json:"points_per_shop_s"`
	RestoreRate    float64 `json:"restore_rate"`
	BucketMax      float64 `json:"bucket_max"`
	Efficiency     float64 `json:"efficiency"` // points / (restore*shop_seconds + bucket)
	Throttled      int64   `json:"throttled_answers"`
	Http5xx        int64   `json:"http_5xx_answers"`
	Requests       int64   `json:"requests"`
	InShopify      int     `json:"codes_in_shopify"`
	Duplicates     int     `json:"duplicates"`
	BatchStatus    string  `json:"batch_status"`
	Pushed, Failed int64
}

func main() {
	dsn := flag.String("db", os.Getenv("DATABASE_URL"), "PostgreSQL (a bench database)")
	redisURL := flag.String("redis", os.Getenv("REDIS_URL"), "Redis (tasks enqueued by the jobs go to DB 15)")
	genN := flag.Int64("gen", 1_000_000, "codes to generate and persist (0: skip)")
	pushN := flag.Int64("push", 100_000, "codes to push to the dev store (0: skip)")
	scale := flag.Float64("scale", 5, "dev-store clock speed-up for the push")
	conc := flag.Int("concurrency", jobs.PushConcurrency, "bulk creations in flight")
	flag.Parse()
	ctx := context.Background()

	st, err := store.Open(ctx, *dsn, store.Options{MaxOpenConns: 20, Logger: slog.New(slog.DiscardHandler)})
	must(err)
	defer st.Close()
	ropt, err := asynq.ParseRedisURI(*redisURL)
	must(err)
	if o, ok := ropt.(asynq.RedisClientOpt); ok {
		o.DB = 15
		ropt = o
	}
	q := asynq.NewClient(ropt)
	defer q.Close()
	pg, err := pgx.Connect(ctx, *dsn)
	must(err)
	defer pg.Close(ctx)

	out := map[string]any{"name": "codes"}
	if *genN > 0 {
		small := benchGen(ctx, st, q, pg, *genN/10)
		big := benchGen(ctx, st, q, pg, *genN)
		big.TargetSec = 8
		out["generate_small"], out["generate"] = small, big
		fmt.Fprintf(os.Stderr, "%-28s %10s %9s %11s %12s %11s\n", "codes:generate", "codes", "seconds", "codes/s", "peak_heap_MB", "peak_RSS_MB")
		for _, r := range []genResult{small, big} {
			fmt.Fprintf(os.Stderr, "%-28s %10d %9.2f %11.0f %12.1f %11.1f\n", "generate+persist (COPY)", r.Codes, r.Seconds, r.CodesPerSec, r.PeakHeapMB, r.PeakRSSMB)
		}
	}
	if *pushN > 0 {
		r := benchPush(ctx, st, q, pg, *pushN, *scale, *conc)
		out["push"] = r
		fmt.Fprintf(os.Stderr, "%-28s %8s %9s %9s %10s %9s %9s %10s %9s %6s\n", "codes:push (standard plan)", "codes", "wall_s", "shop_s", "points/s", "restore", "effic.", "throttled", "in_shop", "dups")
		fmt.Fprintf(os.Stderr, "%-28s %8d %9.1f %9.1f %10.1f %9.0f %8.1f%% %10d %9d %6d  batch %s pushed %d failed %d\n", "push to dev store", r.Codes, r.WallSeconds,
			r.ShopSeconds, r.PointsPerSec, r.RestoreRate, 100*r.Efficiency, r.Throttled, r.InShopify, r.Duplicates, r.BatchStatus, r.Pushed, r.Failed)
	}
	must(json.NewEncoder(os.Stdout).Encode(out))
}

func must(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "codegen:", err)
		os.Exit(1)
	}
}

// fixture creates a shop and a campaign rows for one run.
func fixture(ctx context.Context, st *store.Store, pg *pgx.Conn, domain string, tok store.ShopTokens) (*store.Shop, int64) {
	sh, err := st.InstallShop(ctx, domain, tok, time.Now().UTC())
	must(err)
	var camp int64
	must(pg.QueryRow(ctx, `INSERT INTO campaigns (shop_id, name, goal, status, discount, code_format, usage, starts_at, salt)
		VALUES ($1, 'Bench', 'acquisition', 'active', '{"type":"percentage","value":10}', '{"prefix":"BN","length":10}',
		        '{"single_use":true}', now() - interval '1 hour', 'salt') RETURNING id`, sh.ID).Scan(&camp))
	return sh, camp
}

func benchGen(ctx context.Context, st *store.Store, q *asynq.Client, pg *pgx.Conn, n int64) genResult {
	domain := fmt.Sprintf("bench-gen-%d.myshopify.com", time.Now().UnixNano())
	sh, camp := fixture(ctx, st, pg, domain, store.ShopTokens{AccessTokenEnc: "unused", TokenKind: "offline"})
	defer func() { _, _ = pg.Exec(ctx, `DELETE FROM shops WHERE id = $1`, sh.ID) }()
	b := &store.CodeBatch{ShopID: sh.ID, CampaignID: camp, Requested: n, Channel: "email"}
	must(st.CreateCodeBatch(ctx, b, nil))
	j := jobs.New(jobs.Deps{Store: st, Client: q, Rand: rand.Reader, Metrics: metrics.New(), Log: slog.New(slog.DiscardHandler)})

	runtime.GC()
	var peak atomic.Uint64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		var ms runtime.MemStats
		t := time.NewTicker(10 * time.Millisecond)
		defer t.Stop()
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > peak.Load() {
				peak.Store(ms.HeapInuse)
			}
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	}()
	start := time.Now()
	must(j.GenerateCodeBatch(ctx, b.ID))
	el := time.Since(start)
	close(stop)
	wg.Wait()
	got, err := st.CodeBatch(ctx, b.ID)
	must(err)
	if got.Generated != n {
		must(fmt.Errorf("generated %d of %d", got.Generated, n))
	}
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return genResult{Codes: n, Seconds: el.Seconds(), CodesPerSec: float64(n) / el.Seconds(),
		PeakHeapMB: float64(peak.Load()) / (1 << 20), PeakRSSMB: float64(ru.Maxrss) / 1024}
}

// clock runs scale times faster than the wall clock from its start.
type clock struct {
	start time.Time
	scale float64
}

func (c clock) now() time.Time {
	return c.start.Add(time.Duration(float64(time.Since(c.start)) * c.scale))
}

// scaledLimiter is admin's leaky-bucket limiter (reserve into debt, corrected
// from every throttleStatus) on the scaled clock.
type scaledLimiter struct {
	c                     clock
	mu                    sync.Mutex
	avail, max, rate      float64
	at                    time.Time
	initialized           bool
	defaultMax, defRestor float64
}

func (l *scaledLimiter) refill(now time.Time) {
	if !l.initialized {
		l.avail, l.max, l.rate, l.at, l.initialized = admin.DefaultMaxAvailable, admin.DefaultMaxAvailable, admin.DefaultRestoreRate, now, true
	}
	if el := now.Sub(l.at).Seconds(); el > 0 {
		l.avail = math.Min(l.max, l.avail+el*l.rate)
	}
	l.at = now
}

func (l *scaledLimiter) Wait(ctx context.Context, _ string, cost int) error {
	l.mu.Lock()
	now := l.c.now()
	l.refill(now)
	l.avail -= math.Min(float64(cost), l.max)
	var d time.Duration
	if l.avail < 0 {
		d = time.Duration(-l.avail / l.rate * float64(time.Second) / l.c.scale)
	}
	l.mu.Unlock()
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func (l *scaledLimiter) Update(_ context.Context, _ string, s admin.ThrottleStatus) {
	if s.MaximumAvailable <= 0 || s.RestoreRate <= 0 {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.refill(l.c.now())
	l.avail, l.max, l.rate = s.CurrentlyAvailable, s.MaximumAvailable, s.RestoreRate
}

// costTap counts the cost Shopify charged and the THROTTLED and 5xx answers.
type costTap struct {
	next                                 http.RoundTripper
	on                                   atomic.Bool
	points, throttled, fivexx, requested atomic.Int64
}

func (t *costTap) RoundTrip(r *http.Request) (*http.Response, error) {
	res, err := t.next.RoundTrip(r)
	if err != nil || !t.on.Load() || r.URL.Path == "" || !bytes.HasSuffix([]byte(r.URL.Path), []byte("graphql.json")) {
		return res, err
	}
	t.requested.Add(1)
	body, err := io.ReadAll(res.Body)
	res.Body.Close()
	res.Body = io.NopCloser(bytes.NewReader(body))
	if err != nil {
		return res, nil
	}
	if res.StatusCode >= 500 {
		t.fivexx.Add(1)
	}
	var gr struct {
		Errors []struct {
			Extensions struct {
				Code string `json:"code"`
			} `json:"extensions"`
		} `json:"errors"`
		Extensions struct {
			Cost struct {
				Actual *int64 `json:"actualQueryCost"`
			} `json:"cost"`
		} `json:"extensions"`
	}
	if json.Unmarshal(body, &gr) == nil {
		if gr.Extensions.Cost.Actual != nil {
			t.points.Add(*gr.Extensions.Cost.Actual)
		}
		for _, e := range gr.Errors {
			if e.Extensions.Code == "THROTTLED" {
				t.throttled.Add(1)
			}
		}
	}
	return res, nil
}

func benchPush(ctx context.Context, st *store.Store, q *asynq.Client, pg *pgx.Conn, n int64, scale float64, conc int) pushResult {
	clk := clock{start: time.Now(), scale: scale}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(err)
	devURL := "http://" + ln.Addr().String()
	secret := "bench-secret"
	dev := devstore.New(devstore.Config{APIKey: "bench-key", APISecret: secret, AppURL: "http://127.0.0.1:1", BaseURL: devURL,
		Now: clk.now, Logger: slog.New(slog.DiscardHandler)})
	srv := httptest.NewUnstartedServer(dev)
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	defer func() { srv.Close(); dev.Close() }()

	domain := fmt.Sprintf("bench-push-%d.myshopify.com", time.Now().UnixNano())
	must(dev.CreateShop(domain, devstore.PlanStandard))
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	kr, err := secrets.ParseKeyring("bench:" + base64.StdEncoding.EncodeToString(key))
	must(err)
	tap := &costTap{next: http.DefaultTransport}
	httpc := &http.Client{Timeout: 30 * time.Second, Transport: tap}
	adminURL := shopify.AdminURLFunc(devURL + "/store/{shop}")
	svc := &shops.Service{Store: st, Keyring: kr, AdminURL: adminURL, APIVersion: devstore.APIVersion, HTTPClient: httpc,
		Log: slog.New(slog.DiscardHandler), Limiter: &scaledLimiter{c: clk},
		Tokens: &shopify.TokenClient{APIKey: "bench-key", APISecret: secret, HTTP: httpc, AdminURL: adminURL}}
	tok, err := dev.MintSessionToken(domain, "1")
	must(err)
	sh, err := svc.InstallWithSessionToken(ctx, domain, tok)
	must(err)
	defer func() { _, _ = pg.Exec(ctx, `DELETE FROM shops WHERE id = $1`, sh.ID) }()
	var camp int64
	must(pg.QueryRow(ctx, `INSERT INTO campaigns (shop_id, name, goal, status, discount, code_format, usage, starts_at, salt)
		VALUES ($1, 'Bench', 'acquisition', 'active', '{"type":"percentage","value":10}', '{"prefix":"BP","length":10}',
		        '{"single_use":true}', now() - interval '1 hour', 'salt') RETURNING id`, sh.ID).Scan(&camp))
	client, err := svc.Admin(ctx, sh.ID)
	must(err)
	pct, all := 0.1, true
	starts := time.Now().Add(-time.Hour)
	discountID, err := client.DiscountCodeBasicCreate(ctx, admin.DiscountCodeBasicInput{Title: "bench", Code: "BENCH-BASE-" + strconv.FormatInt(camp, 10),
		StartsAt: &starts, Context: admin.ContextAll(),
		CustomerGets: &admin.DiscountCustomerGetsInput{Value: &admin.DiscountCustomerGetsValueInput{Percentage: &pct}, Items: &admin.DiscountItemsInput{All: &all}}})
	must(err)
	_, err = pg.Exec(ctx, `UPDATE campaigns SET shopify_discount_id = $2 WHERE id = $1`, camp, discountID)
	must(err)

	j := jobs.New(jobs.Deps{Store: st, Client: q, Shops: svc, Rand: rand.Reader, Metrics: metrics.New(), Log: slog.New(slog.DiscardHandler)})
	b := &store.CodeBatch{ShopID: sh.ID, CampaignID: camp, Requested: n}
	must(st.CreateCodeBatch(ctx, b, nil))
	must(j.GenerateCodeBatch(ctx, b.ID))

	// Start from a full bucket, as a shop that was idle.
	dev.SetBucketAvailable(domain, 1e9)
	tap.on.Store(true)
	wallStart, shopStart := time.Now(), clk.now()
	for {
		more, err := j.PushCodeBatch(ctx, b.ID, jobs.PushOptions{Concurrency: conc})
		must(err)
		if !more {
			break
		}
	}
	wall, shopEl := time.Since(wallStart), clk.now().Sub(shopStart)
	tap.on.Store(false)

	got, err := st.CodeBatch(ctx, b.ID)
	must(err)
	ds, err := dev.Discounts(domain)
	must(err)
	seen := map[string]int{}
	for _, d := range ds {
		for _, c := range d.Codes {
			seen[c.Code]++
		}
	}
	delete(seen, "BENCH-BASE-"+strconv.FormatInt(camp, 10))
	dups := 0
	for _, k := range seen {
		if k > 1 {
			dups++
		}
	}
	const restore, bucket = 100.0, 2000.0
	r := pushResult{Codes: n, WallSeconds: wall.Seconds(), ShopSeconds: shopEl.Seconds(), Scale: scale, Points: tap.points.Load(),
		RestoreRate: restore, BucketMax: bucket, Throttled: tap.throttled.Load(), Http5xx: tap.fivexx.Load(), Requests: tap.requested.Load(),
		InShopify: len(seen), Duplicates: dups, BatchStatus: got.Status, Pushed: got.Pushed, Failed: got.Failed}
	r.PointsPerSec = float64(r.Points) / r.ShopSeconds
	r.Efficiency = float64(r.Points) / (restore*r.ShopSeconds + bucket)
	_ = url.URL{}
	return r
}
