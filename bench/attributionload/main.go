// Command attributionload measures attribution end to end against a running
// `coupontrail serve` and `coupontrail worker`: from a signed webhook at
// POST /webhooks to its committed conversion row.
//
//   - throughput: N signed orders/create (60% redeeming a live campaign
//     code credited to a partner, the rest organic) plus refunds/create for a
//     share of them, posted from many connections as fast as the app takes
//     them; orders/s is N over the time from the first post until every
//     order has its conversion and no delivery of the shop is waiting.
//   - lag: an open loop of orders/create at a fixed rate (each sent when it
//     is due, whether or not earlier ones have answered); per order the lag
//     is the conversion's commit-time stamp (created_at, set in the delivery
//     transaction) minus the moment the webhook was due, so intake, queueing
//     and processing all count.
//
// It seeds its own shop, partner, campaign and codes straight through the
// store, prints one JSON line per phase and exits 1 when an order has no
// conversion, a request failed, or (with -strict) a target is missed.
package main

import (
	"bytes"
	"context"
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
	"github.com/coupontrail/coupontrail/app/store"
	"github.com/coupontrail/coupontrail/bench/loadgen"
)

type result struct {
	Name      string  `json:"name"`
	Orders    int     `json:"orders"`
	Refunds   int     `json:"refunds,omitempty"`
	Seconds   float64 `json:"seconds"`
	RPS       float64 `json:"req_per_s"` // orders per second through to conversions
	TargetRPS float64 `json:"target_rps,omitempty"`
	IntakeRPS float64 `json:"intake_req_per_s,omitempty"`
	P50ms     float64 `json:"p50_ms"`
	P90ms     float64 `json:"p90_ms,omitempty"`
	P99ms     float64 `json:"p99_ms"`
	MaxMs     float64 `json:"max_ms"`
	TargetP99 float64 `json:"target_p99_ms,omitempty"`
	Errors    int64   `json:"errors"`
	Missing   int64   `json:"missing_conversions"`
	Pass      bool    `json:"pass"`
}

type env struct {
	base, secret, domain string
	client               *http.Client
	st                   *store.Store
	shopID               int64
	codes                []string
	nextCode             atomic.Int64
}

func main() {
	base := flag.String("url", "http://127.0.0.1:18093", "base URL of a running `coupontrail serve` (a `coupontrail worker` on the same database and Redis)")
	secret := flag.String("secret", os.Getenv("SHOPIFY_API_SECRET"), "webhook secret")
	dsn := flag.String("db", os.Getenv("DATABASE_URL"), "the database the app uses (seeding and verification)")
	orders := flag.Int("orders", 20000, "orders of the throughput phase (0: skip)")
	refundShare := flag.Float64("refunds", 0.1, "share of throughput orders that also get a refunds/create")
	conns := flag.Int("c", 64, "connections of the throughput phase")
	rate := flag.Int("rate", 300, "orders per second of the lag phase (0: skip)")
	dur := flag.Duration("d", 30*time.Second, "duration of the lag phase")
	minRPS := flag.Float64("target-rps", 1000, "throughput target, orders/s")
	p99 := flag.Float64("target-p99", 2000, "lag p99 target, ms")
	strict := flag.Bool("strict", false, "exit 1 when a target is missed")
	wait := flag.Duration("wait", 3*time.Minute, "how long to wait for the conversions of a phase")
	flag.Parse()

	ctx := context.Background()
	st, err := store.Open(ctx, *dsn, store.Options{MaxOpenConns: 4, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		fail("open database: %v", err)
	}
	defer st.Close()
	e := &env{base: *base, secret: *secret, st: st, client: loadgen.Client(*base, false),
		domain: fmt.Sprintf("bench-attr-%d.myshopify.com", time.Now().UnixNano()%1e9)}
	lagN := int(dur.Seconds() * float64(*rate))
	e.seed(ctx, *orders+lagN+100)

	ok := true
	// Order ids: a fresh range per run and phase.
	baseID := int64(6_100_000_000_000) + (time.Now().UnixNano()/1e6%1e6)*100_000
	if *orders > 0 {
		r := e.throughput(ctx, baseID, *orders, *refundShare, *conns, *wait)
		r.TargetRPS = *minRPS
		r.Pass = r.Errors == 0 && r.Missing == 0 && r.RPS >= *minRPS
		ok = ok && r.Errors == 0 && r.Missing == 0 && (!*strict || r.Pass)
		_ = json.NewEncoder(os.Stdout).Encode(r)
	}
	if *rate > 0 && lagN > 0 {
		r := e.lag(ctx, baseID+int64(*orders)*10+10, lagN, *rate, *wait)
		r.TargetP99 = *p99
		r.Pass = r.Errors == 0 && r.Missing == 0 && r.P99ms < *p99
		ok = ok && r.Errors == 0 && r.Missing == 0 && (!*strict || r.Pass)
		_ = json.NewEncoder(os.Stdout).Encode(r)
	}
	if !ok {
		os.Exit(1)
	}
}

// seed installs the shop (a placeholder token: attribution never calls
// Shopify), a partner with a 10% commission and an active campaign of
// theirs with n live codes.
func (e *env) seed(ctx context.Context, n int) {
	now := time.Now().UTC()
	sh, err := e.st.InstallShop(ctx, e.domain, store.ShopTokens{AccessTokenEnc: "bench-placeholder", TokenKind: "offline", Scopes: "read_orders"}, now)
	if err != nil {
		fail("seed shop: %v", err)
	}
	e.shopID = sh.ID
	pct := 10.0
	p := &store.Partner{ShopID: sh.ID, Name: "Bench partner", Kind: "affiliate", Email: "partner@example.com", CommissionPercent: &pct,
		PayoutDetails: []byte(`{}`), Status: "active", CreatedAt: now, UpdatedAt: now}
	if err := e.st.CreatePartner(ctx, p); err != nil {
		fail("seed partner: %v", err)
	}
	c := &store.Campaign{ShopID: sh.ID, Name: "attributionload " + now.Format(time.RFC3339), Goal: "acquisition", Status: "active",
		Discount: []byte(`{"type":"percentage","value":10}`), CodeFormat: []byte(`{"prefix":"AL","length":10}`),
		Usage: []byte(`{"single_use":true}`), Rules: []byte(`{}`), StartsAt: now.Add(-time.Hour), PartnerID: &p.ID}
	if err := e.st.SeedCampaign(ctx, c); err != nil {
		fail("seed campaign: %v", err)
	}
	codes := make([]store.SeedLiveCode, n)
	e.codes = make([]string, n)
	for i := range codes {
		e.codes[i] = fmt.Sprintf("AL%dX%07d", c.ID, i)
		codes[i] = store.SeedLiveCode{Code: e.codes[i]}
	}
	if err := e.st.SeedLiveCodes(ctx, sh.ID, c.ID, codes); err != nil {
		fail("seed codes: %v", err)
	}
}

type delivery struct {
	topic, id string
	body      []byte
}

// order builds a signed orders/create of about 3 KB: two or three lines,
// 60% of them redeeming a fresh campaign code.
func (e *env) order(id int64, i int) delivery {
	now := time.Now().UTC().Format(time.RFC3339Nano)
	price := 20 + i%80
	qty := 1 + i%3
	subtotal := price * qty * 100
	var codes []map[string]any
	discount := 0
	if i%5 < 3 {
		code := e.codes[int(e.nextCode.Add(1)-1)%len(e.codes)]
		discount = subtotal / 10
		codes = append(codes, map[string]any{"code": code, "amount": minor(discount), "type": "percentage"})
	}
	net := subtotal - discount
	money := func(v int) map[string]any {
		m := map[string]any{"amount": minor(v), "currency_code": "USD"}
		return map[string]any{"shop_money": m, "presentment_money": m}
	}
	lines := []map[string]any{}
	for l := range 2 + i%2 {
		lines = append(lines, map[string]any{"id": id*10 + int64(l), "title": "Organic cotton tee", "variant_title": fmt.Sprintf("Size %d", l),
			"quantity": qty, "price": minor(price * 100), "price_set": money(price * 100), "sku": fmt.Sprintf("TEE-%d", l),
			"product_id": 7000000000000 + int64(l), "variant_id": 40000000000000 + int64(l), "taxable": true, "requires_shipping": true})
	}
	email := fmt.Sprintf("shopper%d@example.com", id)
	o := map[string]any{
		"id": id, "admin_graphql_api_id": fmt.Sprintf("gid://shopify/Order/%d", id), "name": fmt.Sprintf("#B%d", id%1_000_000),
		"email": email, "currency": "USD", "created_at": now, "updated_at": now, "processed_at": now, "financial_status": "paid",
		"browser_ip": fmt.Sprintf("203.0.113.%d", i%250+1), "source_name": "web", "test": false,
		"landing_site": "/products/tee?utm_source=bench&utm_medium=affiliate", "referring_site": "https://partner.example.com/",
		"subtotal_price": minor(net), "subtotal_price_set": money(net), "total_discounts": minor(discount), "total_discounts_set": money(discount),
		"total_price": minor(net + 800), "total_price_set": money(net + 800), "total_shipping_price_set": money(800),
		"current_subtotal_price": minor(net), "current_total_price": minor(net + 800),
		"discount_codes": codes, "line_items": lines,
		"customer": map[string]any{"id": 7100000000000 + id%1_000_000, "email": email},
		"client_details": map[string]any{"browser_ip": fmt.Sprintf("203.0.113.%d", i%250+1),
			"user_agent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 Safari/605.1.15"},
	}
	if codes == nil {
		o["discount_codes"] = []any{}
	}
	b, _ := json.Marshal(o)
	return delivery{topic: "orders/create", id: fmt.Sprintf("attr-%d-create", id), body: b}
}

// refund builds a signed refunds/create returning a quarter of the order.
func (e *env) refund(orderID int64, amount int) delivery {
	now := time.Now().UTC().Format(time.RFC3339Nano)
	rf := map[string]any{"id": orderID + 1, "order_id": orderID, "created_at": now, "processed_at": now, "note": "bench",
		"refund_line_items": []any{}, "order_adjustments": []any{},
		"transactions": []any{map[string]any{"id": orderID + 2, "order_id": orderID, "kind": "refund", "status": "success",
			"amount": minor(amount), "currency": "USD", "gateway": "bogus"}}}
	b, _ := json.Marshal(rf)
	return delivery{topic: "refunds/create", id: fmt.Sprintf("attr-%d-refund", orderID), body: b}
}

func minor(v int) string { return fmt.Sprintf("%d.%02d", v/100, v%100) }

func (e *env) post(d delivery) error {
	req, _ := http.NewRequest(http.MethodPost, e.base+"/webhooks", bytes.NewReader(d.body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Shopify-Topic", d.topic)
	req.Header.Set("X-Shopify-Shop-Domain", e.domain)
	req.Header.Set("X-Shopify-Webhook-Id", d.id)
	req.Header.Set("X-Shopify-API-Version", "2026-07")
	req.Header.Set("X-Shopify-Triggered-At", time.Now().UTC().Format(time.RFC3339Nano))
	req.Header.Set("X-Shopify-Hmac-Sha256", shopify.SignWebhook([]byte(e.secret), d.body))
	res, err := e.client.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %d", d.id, res.StatusCode)
	}
	return nil
}

// throughput posts n orders (and refunds for a share of them, each after
// its order) from conns connections and waits for every conversion.
func (e *env) throughput(ctx context.Context, base int64, n int, refundShare float64, conns int, wait time.Duration) result {
	var ds []delivery
	refunds := 0
	every := 0
	if refundShare > 0 {
		every = int(1 / refundShare)
	}
	for i := range n {
		id := base + int64(i)*10
		o := e.order(id, i)
		ds = append(ds, o)
		if every > 0 && i%every == every-1 {
			ds = append(ds, e.refund(id, 500))
			refunds++
		}
	}
	r := result{Name: "attribution_throughput", Orders: n, Refunds: refunds}
	var next, errN atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= len(ds) {
					return
				}
				if err := e.post(ds[i]); err != nil {
					errN.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	sent := time.Since(start)
	r.IntakeRPS = float64(len(ds)) / sent.Seconds()
	r.Errors = errN.Load()
	deadline := time.Now().Add(wait)
	for {
		convs, waiting, err := e.st.AttributionProgress(ctx, e.shopID, e.domain, base, base+int64(n)*10)
		if err != nil {
			fail("progress: %v", err)
		}
		if convs >= int64(n) && waiting == 0 {
			break
		}
		if time.Now().After(deadline) {
			r.Missing = int64(n) - convs
			break
		}
		// Poll gently: the counts compete with the work they measure (at
		// 20 ms they took a third of the database's CPU). The end of the
		// run is read from the deliveries afterwards, not from the poll.
		time.Sleep(time.Second)
	}
	end := time.Now()
	if last, err := e.st.LastProcessedAt(ctx, e.domain); err == nil && last.After(start) && last.Before(end) {
		end = last
	}
	r.Seconds = end.Sub(start).Seconds()
	r.RPS = float64(n) / r.Seconds
	// Per-order time to conversion, from the start of the run.
	times, err := e.st.ConversionTimes(ctx, e.shopID, base, base+int64(n)*10)
	if err != nil {
		fail("verify: %v", err)
	}
	var lats []time.Duration
	for _, at := range times {
		lats = append(lats, at.Sub(start))
	}
	fillPercentiles(&r, lats)
	return r
}

// lag sends n orders at rate per second (open loop) and measures each
// order's lag from due time to its conversion.
func (e *env) lag(ctx context.Context, base int64, n, rate int, wait time.Duration) result {
	ds := make([]delivery, n)
	for i := range n {
		ds[i] = e.order(base+int64(i)*10, i)
	}
	due := make([]time.Time, n)
	var errN atomic.Int64
	start, sendEnd := loadgen.OpenLoop(n, rate, func(i int, at time.Time) {
		due[i] = at
		if err := e.post(ds[i]); err != nil {
			errN.Add(1)
		}
	})
	r := result{Name: "attribution_lag", Orders: n, Errors: errN.Load(), Seconds: sendEnd.Sub(start).Seconds()}
	r.RPS = float64(n) / r.Seconds
	deadline := time.Now().Add(wait)
	for {
		convs, _, err := e.st.AttributionProgress(ctx, e.shopID, e.domain, base, base+int64(n)*10)
		if err != nil {
			fail("progress: %v", err)
		}
		if convs >= int64(n) || time.Now().After(deadline) {
			r.Missing = int64(n) - convs
			break
		}
		time.Sleep(time.Second) // the lag comes from the conversions' times, not from the poll
	}
	times, err := e.st.ConversionTimes(ctx, e.shopID, base, base+int64(n)*10)
	if err != nil {
		fail("verify: %v", err)
	}
	var lats []time.Duration
	for i := range n {
		if at, ok := times[base+int64(i)*10]; ok {
			lats = append(lats, at.Sub(due[i]))
		}
	}
	fillPercentiles(&r, lats)
	return r
}

func fillPercentiles(r *result, lats []time.Duration) {
	if len(lats) == 0 {
		return
	}
	slices.Sort(lats)
	pct := func(p float64) float64 {
		return float64(lats[min(len(lats)-1, int(p*float64(len(lats))))].Microseconds()) / 1000
	}
	r.P50ms, r.P90ms, r.P99ms = pct(0.50), pct(0.90), pct(0.99)
	r.MaxMs = float64(lats[len(lats)-1].Microseconds()) / 1000
}

func fail(format string, a ...any) {
	fmt.Fprintf(os.Stderr, "attributionload: "+format+"\n", a...)
	os.Exit(1)
}
