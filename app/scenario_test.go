package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/coupontrail/coupontrail/app/attribution"
	"github.com/coupontrail/coupontrail/app/config"
	"github.com/coupontrail/coupontrail/app/devstore"
	"github.com/coupontrail/coupontrail/app/shopify/admin"
	"github.com/coupontrail/coupontrail/app/store"
	"github.com/coupontrail/coupontrail/app/store/storetest"
	"github.com/coupontrail/coupontrail/jobs"
)

// TestAttributionExactlyOnceScenario is the exactly-once proof on more than
// one machine's worth of processes. One dev-store scenario of 5,000 orders
// (issued shopper codes, partner SmartLink clicks with and without their
// code, organic orders, partial and full refunds, cancellations) is captured
// as the webhooks Shopify would send, then delivered to the real binary
// twice, each time on a copy of the same prepared database:
//
//   - clean: one `all` process, every delivery once, in the order the store
//     produced them;
//   - chaos: two `serve` and two `worker` processes on one PostgreSQL and
//     one Redis; every delivery three times, shuffled, a share of refunds
//     sent before any order; a serve and both workers killed with SIGKILL
//     and replaced mid-run; Redis restarted mid-run with its data lost (no
//     persistence), so the queued tasks vanish and only PostgreSQL and the
//     webhook sweeper bring the work back.
//
// The canonical dump of both databases (per order: status, amounts, credited
// campaign/partner/code/click, rule, refunds applied, fraud action and
// review; per conversion: ledger sums per bucket) must be identical, and GET
// /api/v1/ledger/check must pass. The fraud layer's score and signals at
// attribution are reported, not compared: they are computed from the orders
// already recorded when an order is scored, which the delivery order decides.
// With -short the scenario has 1,000 orders.
func TestAttributionExactlyOnceScenario(t *testing.T) {
	nOrders := 5000
	if testing.Short() {
		nOrders = 1000
	}
	start := time.Now()
	bin := buildBinary(t)
	rds := startPrivateRedis(t)
	t.Logf("binary built, redis up: %s", time.Since(start).Round(time.Millisecond))

	sc := prepareScenario(t, rds, nOrders)
	t.Logf("scenario captured: %d deliveries for %d orders (%d refunds, %d cancellations) in %s",
		len(sc.deliveries), nOrders, sc.refunds, sc.cancels, time.Since(start).Round(time.Millisecond))

	cleanDSN := sc.copyDB(t, "clean")
	chaosDSN := sc.copyDB(t, "chaos")

	// Clean run: one process, each delivery once, in order.
	t0 := time.Now()
	clean := sc.newCluster(t, bin, cleanDSN, rds.url(1))
	clean.start(t, "all")
	sendAll(t, clean, sc.deliveries, 4, nil)
	clean.waitProcessed(t, len(sc.deliveries), 10*time.Minute)
	want := sc.dump(t, cleanDSN)
	clean.ledgerCheck(t, sc)
	clean.stopAll()
	t.Logf("clean run: %d deliveries processed in %s", len(sc.deliveries), time.Since(t0).Round(time.Millisecond))

	// Chaos run.
	t0 = time.Now()
	chaos := sc.newCluster(t, bin, chaosDSN, rds.url(2))
	s1 := chaos.start(t, "serve")
	chaos.start(t, "serve")
	w1, w2 := chaos.start(t, "worker"), chaos.start(t, "worker")
	plan := chaosOrder(sc.deliveries, 3, 42)
	var killed []string
	events := []chaosEvent{
		{at: 0.20, do: func() {
			s1.kill(t)
			killed = append(killed, "serve")
			chaos.start(t, "serve")
		}},
		{at: 0.35, do: func() {
			w1.kill(t)
			killed = append(killed, "worker")
			chaos.start(t, "worker")
		}},
		{at: 0.55, do: func() {
			lost := rds.keys(t, 2)
			rds.restart(t) // no persistence: every queued task is gone
			killed = append(killed, fmt.Sprintf("redis (%d keys lost)", lost))
		}},
		{at: 0.75, do: func() {
			w2.kill(t)
			killed = append(killed, "worker")
			chaos.start(t, "worker")
		}},
	}
	sendAll(t, chaos, plan, 16, events)
	t.Logf("chaos: %d sends delivered in %s; killed: %s", len(plan), time.Since(t0).Round(time.Millisecond), strings.Join(killed, ", "))
	chaos.waitProcessed(t, len(sc.deliveries), 10*time.Minute)
	got := sc.dump(t, chaosDSN)
	chaos.ledgerCheck(t, sc)
	t.Logf("chaos run: converged in %s", time.Since(t0).Round(time.Millisecond))
	chaos.stopAll()

	if len(want) != nOrders {
		t.Fatalf("clean run has %d conversions, want one per order (%d)", len(want), nOrders)
	}
	compareDumps(t, want, got)
	counts := map[string]int{}
	for _, v := range want {
		counts[v.Status+"/"+v.Rule]++
	}
	t.Logf("identical: %d conversions %v; total %s", len(got), counts, time.Since(start).Round(time.Millisecond))
}

// buildBinary compiles the app into the test's temp dir (not with -race:
// the processes are separate and race-checked by the in-process tests).
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "coupontrail")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// privateRedis is a redis-server of the test's own on a free port, without
// persistence: a restart loses every queued task.
type privateRedis struct {
	port int
	dir  string
	cmd  *exec.Cmd
}

func startPrivateRedis(t *testing.T) *privateRedis {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Fatalf("redis-server is required for this test and is not installed: %v", err)
	}
	r := &privateRedis{port: freePort(t), dir: t.TempDir()}
	r.launch(t)
	t.Cleanup(func() {
		if r.cmd != nil && r.cmd.Process != nil {
			_ = r.cmd.Process.Kill()
			_ = r.cmd.Wait()
		}
	})
	return r
}

func (r *privateRedis) launch(t *testing.T) {
	t.Helper()
	cmd := exec.Command("redis-server", "--port", strconv.Itoa(r.port), "--bind", "127.0.0.1", "--save", "",
		"--appendonly", "no", "--dir", r.dir, "--daemonize", "no", "--protected-mode", "no")
	if err := cmd.Start(); err != nil {
		t.Fatalf("start redis-server: %v", err)
	}
	r.cmd = cmd
	c := redis.NewClient(&redis.Options{Addr: r.addr()})
	defer c.Close()
	deadline := time.Now().Add(10 * time.Second)
	for c.Ping(context.Background()).Err() != nil {
		if time.Now().After(deadline) {
			t.Fatalf("private redis on %s did not answer", r.addr())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// restart kills the server (its data is lost) and starts it again on the
// same port.
func (r *privateRedis) restart(t *testing.T) {
	t.Helper()
	_ = r.cmd.Process.Signal(syscall.SIGKILL)
	_ = r.cmd.Wait()
	time.Sleep(300 * time.Millisecond)
	r.launch(t)
}

// keys counts the keys of database db.
func (r *privateRedis) keys(t *testing.T, db int) int64 {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: r.addr(), DB: db})
	defer c.Close()
	n, err := c.DBSize(context.Background()).Result()
	if err != nil {
		t.Fatalf("redis dbsize: %v", err)
	}
	return n
}

func (r *privateRedis) addr() string      { return "127.0.0.1:" + strconv.Itoa(r.port) }
func (r *privateRedis) url(db int) string { return fmt.Sprintf("redis://%s/%d", r.addr(), db) }

// capturedDelivery is one webhook as the dev store sent it.
type capturedDelivery struct {
	seq    int
	header http.Header
	body   []byte
}

func (d capturedDelivery) topic() string { return d.header.Get("X-Shopify-Topic") }

// scenario is the prepared database (template) and the captured deliveries.
type scenario struct {
	admin, template string
	env             map[string]string // shared app environment
	shop, key       string
	devURL          string
	deliveries      []capturedDelivery
	refunds         int
	cancels         int
	partners        map[int64]string // partner id -> name
	campaigns       map[int64]string // campaign id -> name
}

// prepareScenario sets up a shop through the app (in process, on the
// template database): partners, a campaign with live codes in the dev
// store, codes issued to shoppers, SmartLink clicks; then creates the
// orders, refunds and cancellations in the dev store and captures every
// webhook it sends, without delivering any.
func prepareScenario(t *testing.T, rds *privateRedis, nOrders int) *scenario {
	t.Helper()
	ctx := context.Background()
	t0 := time.Now()
	dsn := storetest.NewDatabase(t)
	t.Logf("setup: database: %s", time.Since(t0).Round(time.Millisecond))
	sc := &scenario{admin: storetest.AdminDSN(), template: store.DatabaseName(dsn),
		partners: map[int64]string{}, campaigns: map[int64]string{}}

	var mu sync.Mutex
	var captured []capturedDelivery
	capture := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		captured = append(captured, capturedDelivery{seq: len(captured), header: r.Header.Clone(), body: b})
		mu.Unlock()
		w.WriteHeader(http.StatusOK)
	}))
	defer capture.Close()

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sc.devURL = "http://" + ln.Addr().String()
	sc.env = map[string]string{
		"REDIS_URL":                  rds.url(0),
		"ENCRYPTION_KEY":             testKey(),
		"SHOPIFY_API_SECRET":         "scenario-secret-" + strconv.FormatInt(time.Now().UnixNano(), 36),
		"SHOPIFY_ADMIN_URL_TEMPLATE": sc.devURL + "/store/{shop}",
		"LOG_LEVEL":                  "error",
	}
	env := map[string]string{"DATABASE_URL": dsn, "HTTP_ADDR": "127.0.0.1:0"}
	for k, v := range sc.env {
		env[k] = v
	}
	cfg, err := config.Load(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	a, err := newApp(ctx, cfg, slog.New(slog.NewJSONHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelError})))
	if err != nil {
		t.Fatal(err)
	}
	a.startIntake()
	srv := httptest.NewServer(a.newEcho())
	a.cfg.AppURL = srv.URL
	closed := false
	closeApp := func() {
		if !closed {
			closed = true
			srv.Close()
			a.close()
		}
	}
	defer closeApp()
	dev := devstore.New(devstore.Config{APIKey: cfg.ShopifyAPIKey, APISecret: cfg.ShopifyAPISecret, AppURL: capture.URL,
		BaseURL: sc.devURL, Logger: slog.New(slog.DiscardHandler), RetryScale: 1e-4, BulkDelay: 1})
	ds := httptest.NewUnstartedServer(dev)
	ds.Listener.Close()
	ds.Listener = ln
	ds.Start()
	t.Cleanup(func() { ds.Close(); dev.Close() })
	e := &testEnv{t: t, a: a, srv: srv, cfg: cfg}

	sc.shop = "scenario-" + strconv.FormatInt(time.Now().UnixNano()%1e9, 10) + ".myshopify.com"
	// Plus: ten times the Admin API budget, so pushing the codes is not throttled.
	if err := dev.CreateShop(sc.shop, "plus"); err != nil {
		t.Fatal(err)
	}
	tok, err := dev.MintSessionToken(sc.shop, "42")
	if err != nil {
		t.Fatal(err)
	}
	var k apiKeyJSON
	if code := e.api("POST", "/api/v1/api-keys", tok, map[string]string{"name": "scenario"}, &k); code != 201 {
		t.Fatalf("api key: %d", code)
	}
	sc.key = k.Key
	sh := mustShop(t, e, sc.shop)
	t.Logf("setup: shop installed: %s", time.Since(t0).Round(time.Millisecond))

	// Partners: two percentages and a fixed fee.
	partners := []map[string]any{
		{"name": "Ana", "kind": "influencer", "email": "ana@example.com", "commission": map[string]any{"percent": 10}},
		{"name": "Ben", "kind": "affiliate", "email": "ben@example.com", "commission": map[string]any{"fixed": "2.50"}},
		{"name": "Cy", "kind": "affiliate", "email": "cy@example.com", "commission": map[string]any{"percent": 7.5}},
	}
	var pids []string
	for _, p := range partners {
		var out partnerJSON
		if code := e.api("POST", "/api/v1/partners", sc.key, p, &out); code != 201 {
			t.Fatalf("partner: %d", code)
		}
		pids = append(pids, out.ID)
		id, _ := strconv.ParseInt(out.ID, 10, 64)
		sc.partners[id] = out.Name
	}

	// The campaign: a 10% discount in the dev store with live codes.
	adm, err := a.shops.Admin(ctx, sh.ID)
	if err != nil {
		t.Fatal(err)
	}
	startsAt := time.Now().Add(-time.Hour).UTC()
	pct, all := 0.1, true
	discountID, err := adm.DiscountCodeBasicCreate(ctx, admin.DiscountCodeBasicInput{Title: "Scenario", Code: "SCNINTERNAL",
		StartsAt: &startsAt, Context: admin.ContextAll(), CustomerGets: &admin.DiscountCustomerGetsInput{
			Value: &admin.DiscountCustomerGetsValueInput{Percentage: &pct}, Items: &admin.DiscountItemsInput{All: &all}}})
	if err != nil {
		t.Fatal(err)
	}
	camp := &store.Campaign{ShopID: sh.ID, Name: "Scenario", Goal: "acquisition", Status: "active",
		Discount: []byte(`{"type":"percentage","value":10}`), CodeFormat: []byte(`{"prefix":"SCN","length":8}`),
		Usage: []byte(`{"single_use":true,"once_per_customer":false}`), Rules: []byte(`{}`), StartsAt: startsAt, ShopifyDiscountID: &discountID}
	if err := a.store.SeedCampaign(ctx, camp); err != nil {
		t.Fatal(err)
	}
	sc.campaigns[camp.ID] = camp.Name
	nIssued, nLinkClicks, nBareClicks := nOrders*3/10, nOrders/10, nOrders/20
	pool := nIssued + nLinkClicks + nBareClicks + 100
	var seed []store.SeedLiveCode
	for i := 0; i < pool; i += 250 {
		var batch []string
		for j := i; j < min(i+250, pool); j++ {
			batch = append(batch, fmt.Sprintf("SCN%06d", j))
		}
		bulk, err := adm.DiscountRedeemCodeBulkAdd(ctx, discountID, batch)
		if err != nil {
			t.Fatal(err)
		}
		bc, err := pollBulkCreation(ctx, adm, bulk)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range bc.Codes {
			if c.RedeemCodeID == "" {
				t.Fatalf("dev store refused %s: %+v", c.Code, c.Errors)
			}
			seed = append(seed, store.SeedLiveCode{Code: c.Code, ShopifyCodeID: c.RedeemCodeID})
		}
	}
	if err := a.store.SeedLiveCodes(ctx, sh.ID, camp.ID, seed); err != nil {
		t.Fatal(err)
	}

	t.Logf("setup: shop, partners, %d live codes: %s", len(seed), time.Since(t0).Round(time.Millisecond))
	// Codes issued to shoppers (partner and channel recorded on the code).
	type shopper struct{ email, code string }
	shoppers := make([]shopper, nIssued)
	parallel(t, nIssued, 8, func(i int) error {
		email := fmt.Sprintf("buyer%05d@example.com", i)
		body, _ := json.Marshal(map[string]any{"campaign_id": idString(camp.ID), "customer_email": email,
			"partner_id": pids[i%len(pids)], "channel": []string{"affiliate", "email", "influencer"}[i%3]})
		code, out, err := scenarioPost(srv.URL+"/api/v1/codes/issue", sc.key, body)
		if err != nil || code != 201 {
			return fmt.Errorf("issue %d: %d %s %v", i, code, out, err)
		}
		var is issuedJSON
		if err := json.Unmarshal(out, &is); err != nil {
			return err
		}
		shoppers[i] = shopper{email, is.Code}
		return nil
	})

	t.Logf("setup: %d codes issued: %s", nIssued, time.Since(t0).Round(time.Millisecond))
	// SmartLink clicks: each redirect issues a code and carries ct_click.
	var link linkJSON
	if code := e.api("POST", "/api/v1/links", sc.key, map[string]any{"partner_id": pids[0], "campaign_id": idString(camp.ID),
		"channel": "influencer", "destination": "/products/hat"}, &link); code != 201 {
		t.Fatalf("link: %d", code)
	}
	type clickRef struct{ code, landing string }
	clicks := make([]clickRef, nLinkClicks+nBareClicks)
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	parallel(t, len(clicks), 8, func(i int) error {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/l/"+link.Slug, nil)
		req.Header.Set("User-Agent", uaDesktop)
		req.Header.Set("X-Forwarded-For", fmt.Sprintf("198.51.100.%d", i%250+1))
		res, err := noFollow.Do(req)
		if err != nil {
			return err
		}
		res.Body.Close()
		loc := res.Header.Get("Location")
		if res.StatusCode != http.StatusFound {
			return fmt.Errorf("click %d: %d", i, res.StatusCode)
		}
		u, err := url.Parse(loc)
		if err != nil {
			return err
		}
		ref := clickRef{landing: u.RequestURI()}
		if c, ok := strings.CutPrefix(u.Path, "/store/"+sc.shop+"/discount/"); ok {
			ref.code = c
			if r := u.Query().Get("redirect"); r != "" {
				ref.landing = r
			}
		}
		if !strings.Contains(ref.landing, "ct_click=") || ref.code == "" {
			return fmt.Errorf("click %d: redirect %q has no code or click id", i, loc)
		}
		clicks[i] = ref
		return nil
	})
	closeApp() // the template database must have no sessions when it is copied
	t.Logf("setup: %d clicks: %s", len(clicks), time.Since(t0).Round(time.Millisecond))

	// Orders, refunds and cancellations in the dev store (deterministic).
	rng := rand.New(rand.NewPCG(7, 11))
	lines := []devstore.LineItemInput{{Title: "Tee", Price: "30.00", Quantity: 2}, {Title: "Hat", Price: "19.99", Quantity: 1},
		{Title: "Mug", Price: "12.50", Quantity: 3}}
	nextShopper, nextClick, nextBare := 0, 0, nLinkClicks
	for i := range nOrders {
		in := devstore.OrderInput{LineItems: []devstore.LineItemInput{lines[i%3]}, BrowserIP: fmt.Sprintf("203.0.113.%d", i%250+1),
			UserAgent: uaDesktop}
		if i%4 == 0 {
			in.LineItems = append(in.LineItems, lines[(i+1)%3])
		}
		switch k := i % 20; {
		case k < 6 && nextShopper < nIssued: // a shopper redeems the code issued to them
			s := shoppers[nextShopper]
			nextShopper++
			in.Email = s.email
			code := s.code
			if nextShopper%2 == 0 {
				code = strings.ToLower(code) // redeem codes are case-insensitive
			}
			in.DiscountCodes = []string{code}
		case k < 8 && nextClick < nLinkClicks: // SmartLink click with its code
			c := clicks[nextClick]
			nextClick++
			in.Email = fmt.Sprintf("linkbuyer%05d@example.com", i)
			in.DiscountCodes = []string{c.code}
			in.LandingSite = c.landing
			in.ReferringSite = "https://instagram.com/ana"
		case k == 8 && nextBare < len(clicks): // click, no code
			c := clicks[nextBare]
			nextBare++
			in.Email = fmt.Sprintf("clickonly%05d@example.com", i)
			in.LandingSite = c.landing
		default: // organic
			in.Email = fmt.Sprintf("organic%05d@example.com", i)
			if i%3 == 0 {
				in.LandingSite = "/products/tee?utm_source=newsletter&utm_medium=email"
				in.ReferringSite = "https://mail.example.com/"
			}
		}
		if i%50 == 7 {
			in.FinancialStatus = "pending" // no orders/paid
		}
		o, err := dev.CreateOrder(sc.shop, in)
		if err != nil {
			t.Fatalf("order %d: %v", i, err)
		}
		oid := orderIDOf(o)
		total, _ := strconv.ParseFloat(fmt.Sprint(o["total_price"]), 64)
		switch r := rng.IntN(100); {
		case r < 12: // one partial refund
			sc.refundOrder(t, dev, oid, total*0.25)
		case r < 16: // two partial refunds
			sc.refundOrder(t, dev, oid, total*0.2)
			sc.refundOrder(t, dev, oid, total*0.3)
		case r < 20: // full refund
			sc.refundOrder(t, dev, oid, total)
		case r < 23: // partial refund, then cancelled with the rest refunded
			sc.refundOrder(t, dev, oid, total*0.1)
			sc.cancelOrder(t, dev, oid, true)
		case r < 25: // cancelled without a refund
			sc.cancelOrder(t, dev, oid, false)
		}
	}
	wctx, cancel := context.WithTimeout(ctx, 120*time.Second)
	defer cancel()
	if err := dev.WaitIdle(wctx); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, d := range captured {
		if tp := d.topic(); strings.HasPrefix(tp, "orders/") || strings.HasPrefix(tp, "refunds/") {
			sc.deliveries = append(sc.deliveries, d)
		}
	}
	// The order the store produced them in (triggered at, then arrival).
	sort.SliceStable(sc.deliveries, func(i, j int) bool {
		ti, tj := sc.deliveries[i].header.Get("X-Shopify-Triggered-At"), sc.deliveries[j].header.Get("X-Shopify-Triggered-At")
		a, _ := time.Parse(time.RFC3339Nano, ti)
		b, _ := time.Parse(time.RFC3339Nano, tj)
		if !a.Equal(b) {
			return a.Before(b)
		}
		return sc.deliveries[i].seq < sc.deliveries[j].seq
	})
	return sc
}

func (sc *scenario) refundOrder(t *testing.T, dev *devstore.Store, oid int64, amount float64) {
	t.Helper()
	if _, err := dev.CreateRefund(sc.shop, oid, devstore.RefundInput{Amount: strconv.FormatFloat(amount, 'f', 2, 64)}); err != nil {
		t.Fatalf("refund %d: %v", oid, err)
	}
	sc.refunds++
}

func (sc *scenario) cancelOrder(t *testing.T, dev *devstore.Store, oid int64, refund bool) {
	t.Helper()
	if _, err := dev.CancelOrder(sc.shop, oid, "customer", refund); err != nil {
		t.Fatalf("cancel %d: %v", oid, err)
	}
	sc.cancels++
}

// copyDB makes a copy of the prepared database, dropped when the test ends.
func (sc *scenario) copyDB(t *testing.T, tag string) string {
	t.Helper()
	name := sc.template + "_" + tag
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := store.CopyDatabase(ctx, sc.admin, name, sc.template); err != nil {
		t.Fatalf("copy database: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = store.DropDatabase(ctx, sc.admin, name)
	})
	dsn, err := store.WithDatabase(sc.admin, name)
	if err != nil {
		t.Fatal(err)
	}
	return dsn
}

func parallel(t *testing.T, n, workers int, f func(i int) error) {
	t.Helper()
	var next atomic.Int64
	var wg sync.WaitGroup
	var once sync.Once
	var first error
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				if err := f(i); err != nil {
					once.Do(func() { first = err })
					return
				}
			}
		}()
	}
	wg.Wait()
	if first != nil {
		t.Fatal(first)
	}
}

func scenarioPost(u, bearer string, body []byte) (int, []byte, error) {
	req, _ := http.NewRequest(http.MethodPost, u, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+bearer)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return res.StatusCode, b, err
}

// scenarioProc is one app process.
type scenarioProc struct {
	role string
	url  string // serve and all only
	cmd  *exec.Cmd
	log  string
	done chan struct{}
}

func (p *scenarioProc) kill(t *testing.T) {
	t.Helper()
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

// cluster is the app processes of one run on one database and Redis.
type cluster struct {
	sc     *scenario
	bin    string
	dsn    string
	redis  string
	dir    string
	mu     sync.Mutex
	procs  []*scenarioProc
	rr     atomic.Int64
	client *http.Client
}

func (sc *scenario) newCluster(t *testing.T, bin, dsn, redisURL string) *cluster {
	c := &cluster{sc: sc, bin: bin, dsn: dsn, redis: redisURL, dir: t.TempDir(),
		client: &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}}
	t.Cleanup(c.stopAll)
	return c
}

// start runs the binary in role (serve, worker or all) and waits until it
// answers (serve, all) or has started (worker).
func (c *cluster) start(t *testing.T, role string) *scenarioProc {
	t.Helper()
	p := &scenarioProc{role: role, done: make(chan struct{})}
	env := append(os.Environ(),
		"DATABASE_URL="+c.dsn, "REDIS_URL="+c.redis,
		"DB_MAX_OPEN_CONNS=10", "DB_MAX_IDLE_CONNS=4", "WORKER_CONCURRENCY=8", "SHUTDOWN_TIMEOUT=5s",
		"WEBHOOK_SWEEP_INTERVAL=2s")
	for k, v := range c.sc.env {
		if k != "REDIS_URL" {
			env = append(env, k+"="+v)
		}
	}
	if role != "worker" {
		port := freePort(t)
		p.url = "http://127.0.0.1:" + strconv.Itoa(port)
		env = append(env, "HTTP_ADDR=127.0.0.1:"+strconv.Itoa(port), "APP_URL="+p.url)
	}
	c.mu.Lock()
	p.log = filepath.Join(c.dir, fmt.Sprintf("%s-%d.log", role, len(c.procs)))
	c.mu.Unlock()
	lf, err := os.Create(p.log)
	if err != nil {
		t.Fatal(err)
	}
	p.cmd = exec.Command(c.bin, role)
	p.cmd.Env = env
	p.cmd.Stdout, p.cmd.Stderr = lf, lf
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", role, err)
	}
	go func() {
		_ = p.cmd.Wait()
		lf.Close()
		close(p.done)
	}()
	if p.url != "" {
		deadline := time.Now().Add(20 * time.Second)
		for {
			res, err := c.client.Get(p.url + "/healthz")
			if err == nil {
				res.Body.Close()
				if res.StatusCode == 200 {
					break
				}
			}
			select {
			case <-p.done:
				t.Fatalf("%s exited at start:\n%s", role, tail(p.log))
			default:
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s did not answer:\n%s", role, tail(p.log))
			}
			time.Sleep(25 * time.Millisecond)
		}
	} else {
		time.Sleep(200 * time.Millisecond)
		select {
		case <-p.done:
			t.Fatalf("%s exited at start:\n%s", role, tail(p.log))
		default:
		}
	}
	c.mu.Lock()
	c.procs = append(c.procs, p)
	c.mu.Unlock()
	return p
}

func tail(path string) string {
	b, _ := os.ReadFile(path)
	if len(b) > 6000 {
		return string(b[:3000]) + "\n...\n" + string(b[len(b)-3000:])
	}
	return string(b)
}

func (c *cluster) stopAll() {
	c.mu.Lock()
	procs := append([]*scenarioProc(nil), c.procs...)
	c.mu.Unlock()
	for _, p := range procs {
		select {
		case <-p.done:
			continue
		default:
		}
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(10 * time.Second):
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	}
}

// logs returns the tail of every process's log.
func (c *cluster) logs() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var b strings.Builder
	for _, p := range c.procs {
		fmt.Fprintf(&b, "--- %s %s\n%s\n", p.role, p.log, tail(p.log))
	}
	return b.String()
}

// serveURLs are the live HTTP processes.
func (c *cluster) serveURLs() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, p := range c.procs {
		if p.url == "" {
			continue
		}
		select {
		case <-p.done:
		default:
			out = append(out, p.url)
		}
	}
	return out
}

// send delivers d like Shopify: to one of the live serve processes (round
// robin, as a load balancer would), again until it is answered 200.
func (c *cluster) send(d capturedDelivery) error {
	deadline := time.Now().Add(60 * time.Second)
	var last string
	for {
		urls := c.serveURLs()
		if len(urls) > 0 {
			u := urls[int(c.rr.Add(1))%len(urls)]
			req, _ := http.NewRequest(http.MethodPost, u+"/webhooks", bytes.NewReader(d.body))
			for _, h := range []string{"Content-Type", "X-Shopify-Topic", "X-Shopify-Hmac-Sha256", "X-Shopify-Shop-Domain",
				"X-Shopify-API-Version", "X-Shopify-Webhook-Id", "X-Shopify-Event-Id", "X-Shopify-Triggered-At"} {
				req.Header.Set(h, d.header.Get(h))
			}
			res, err := c.client.Do(req)
			if err != nil {
				last = err.Error()
			}
			if err == nil {
				last = res.Status
				_, _ = io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if res.StatusCode == http.StatusOK {
					return nil
				}
				if res.StatusCode != http.StatusServiceUnavailable && res.StatusCode < 500 {
					return fmt.Errorf("delivery %s answered %d", d.header.Get("X-Shopify-Webhook-Id"), res.StatusCode)
				}
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("delivery %s not accepted within 60s (last: %s)\n%s", d.header.Get("X-Shopify-Webhook-Id"), last, c.logs())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

type chaosEvent struct {
	at float64 // share of sends done
	do func()
}

// sendAll delivers ds with conc senders taking them in order. The test
// goroutine runs each event once the given share of sends has been handed
// out, while the senders keep going.
func sendAll(t *testing.T, c *cluster, ds []capturedDelivery, conc int, events []chaosEvent) {
	t.Helper()
	var next atomic.Int64
	var wg sync.WaitGroup
	errc := make(chan error, conc)
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= len(ds) {
					return
				}
				if err := c.send(ds[i]); err != nil {
					errc <- err
					return
				}
			}
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	for _, ev := range events {
		for float64(next.Load()) < ev.at*float64(len(ds)) {
			select {
			case <-done:
			case <-time.After(5 * time.Millisecond):
				continue
			}
			break
		}
		ev.do()
	}
	<-done
	close(errc)
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
}

// chaosOrder repeats every delivery times and shuffles them, then moves the
// first copy of every third refunds/create to the front, so those refunds
// reach the app before any order.
func chaosOrder(ds []capturedDelivery, times int, seed uint64) []capturedDelivery {
	rng := rand.New(rand.NewPCG(seed, seed*31+1))
	var out []capturedDelivery
	for range times {
		out = append(out, ds...)
	}
	rng.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	var early, rest []capturedDelivery
	n := 0
	seen := map[string]bool{}
	for _, d := range out {
		id := d.header.Get("X-Shopify-Webhook-Id")
		if d.topic() == "refunds/create" && !seen[id] {
			seen[id] = true
			n++
			if n%3 == 0 {
				early = append(early, d)
				continue
			}
		}
		rest = append(rest, d)
	}
	return append(early, rest...)
}

// waitProcessed waits until every one of n unique deliveries is recorded and
// none is waiting; failed deliveries fail the test.
func (c *cluster) waitProcessed(t *testing.T, n int, timeout time.Duration) {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, c.dsn, store.Options{MaxOpenConns: 2, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	deadline := time.Now().Add(timeout)
	var last map[[2]string]int64
	for {
		counts, err := st.DeliveryCounts(ctx)
		if err != nil {
			t.Fatal(err)
		}
		last = counts
		total, waiting, failed := int64(0), int64(0), int64(0)
		for k, v := range counts {
			total += v
			switch k[1] {
			case store.DeliveryReceived:
				waiting += v
			case store.DeliveryFailed:
				failed += v
			}
		}
		if failed > 0 {
			t.Fatalf("%d deliveries failed: %v", failed, counts)
		}
		if total == int64(n) && waiting == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("not every delivery processed after %s: %v (want %d)\n%s", timeout, last, n, c.logs())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (c *cluster) ledgerCheck(t *testing.T, sc *scenario) {
	t.Helper()
	urls := c.serveURLs()
	if len(urls) == 0 {
		t.Fatal("no serve process left")
	}
	req, _ := http.NewRequest(http.MethodGet, urls[0]+"/api/v1/ledger/check", nil)
	req.Header.Set("Authorization", "Bearer "+sc.key)
	res, err := c.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var chk jobs.LedgerCheck
	if err := json.NewDecoder(res.Body).Decode(&chk); err != nil || res.StatusCode != 200 {
		t.Fatalf("ledger check: %d %v", res.StatusCode, err)
	}
	if !chk.OK || chk.Checked == 0 {
		t.Fatalf("ledger check failed: checked %d, entries %d, mismatches %v", chk.Checked, chk.Entries, chk.Mismatches)
	}
}

// canonical is one order's conversion and ledger, free of ids and times
// that differ between runs.
type canonical struct {
	Status, Rule, Policy, Channel, Code, Click, Campaign, Partner string
	Attributed                                                    bool
	Gross, Net, Discount, Commission                              int64
	OrigGross, OrigNet, OrigDiscount, OrigCommission              int64
	OrderNet, Refunded, Clawback                                  int64
	Codes, AppliedRefunds, Fraud                                  string
	Lines                                                         string
	Ledger                                                        string // bucket sums
	// Observed is what the fraud layer observed at attribution (score,
	// would-be action, signals). It depends on which other orders were
	// already recorded when this one was scored, so it is reported, not
	// compared; its action and review flag (which move money) are.
	Observed string
}

func (sc *scenario) dump(t *testing.T, dsn string) map[int64]canonical {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, dsn, store.Options{MaxOpenConns: 2, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	sh, err := st.ShopByDomain(ctx, sc.shop)
	if err != nil {
		t.Fatal(err)
	}
	convs, err := st.ListConversions(ctx, store.ConversionFilter{ShopID: sh.ID, Ascending: true})
	if err != nil {
		t.Fatal(err)
	}
	rows, err := st.ConversionLedger(ctx, sh.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	entries, err := jobs.EntriesFromLedger(rows)
	if err != nil {
		t.Fatal(err)
	}
	byConv := map[string][]attribution.Entry{}
	for _, e := range entries {
		byConv[e.ConversionID] = append(byConv[e.ConversionID], e)
	}
	name := func(names map[int64]string, p *int64) string {
		if p == nil {
			return ""
		}
		if n, ok := names[*p]; ok {
			return n
		}
		return "unknown:" + strconv.FormatInt(*p, 10)
	}
	out := make(map[int64]canonical, len(convs))
	for _, c := range convs {
		if _, dup := out[c.OrderID]; dup {
			t.Fatalf("order %d has two conversions", c.OrderID)
		}
		applied := append([]int64(nil), c.AppliedRefunds...)
		sort.Slice(applied, func(i, j int) bool { return applied[i] < applied[j] })
		codes := append([]string(nil), c.Codes...)
		sort.Strings(codes)
		bal := attribution.Balance(byConv[strconv.FormatInt(c.ID, 10)])
		var buckets []string
		for b, a := range bal {
			if a.IsZero() {
				continue
			}
			buckets = append(buckets, fmt.Sprintf("%s=%+v", b, a))
		}
		sort.Strings(buckets)
		var fr struct {
			Action      string `json:"action"`
			Review      bool   `json:"review"`
			Score       int    `json:"score"`
			WouldAction string `json:"would_action"`
			Reasons     []struct {
				Kind string `json:"kind"`
			} `json:"reasons"`
			Flags []struct {
				Kind string `json:"kind"`
			} `json:"flags"`
		}
		_ = json.Unmarshal(c.Fraud, &fr)
		var kinds []string
		for _, r := range fr.Reasons {
			kinds = append(kinds, r.Kind)
		}
		for _, r := range fr.Flags {
			kinds = append(kinds, "flag:"+r.Kind)
		}
		sort.Strings(kinds)
		var lines []attribution.Line
		_ = json.Unmarshal(c.Lines, &lines)
		var ls []string
		for _, l := range lines {
			ls = append(ls, fmt.Sprintf("%s/%s/%s/%s/%d/%+v/%+v", name(sc.partners, parseIDPtrT(l.PartnerID)), name(sc.campaigns, parseIDPtrT(l.CampaignID)),
				l.Channel, l.Code, l.Share, l.Amounts, l.Original))
		}
		out[c.OrderID] = canonical{
			Status: c.Status, Rule: c.Rule, Policy: c.Policy, Channel: c.Channel, Code: c.Code, Click: c.ClickID,
			Campaign: name(sc.campaigns, c.CampaignID), Partner: name(sc.partners, c.PartnerID), Attributed: c.Attributed,
			Gross: c.GrossMinor, Net: c.NetMinor, Discount: c.DiscountMinor, Commission: c.CommissionMinor,
			OrigGross: c.OriginalGross, OrigNet: c.OriginalNet, OrigDiscount: c.OriginalDisc, OrigCommission: c.OriginalComm,
			OrderNet: c.OrderNetMinor, Refunded: c.RefundedMinor, Clawback: c.ClawbackMinor,
			Codes: strings.Join(codes, ","), AppliedRefunds: fmt.Sprint(applied), Fraud: fmt.Sprintf("%s review=%v", fr.Action, fr.Review),
			Observed: fmt.Sprintf("score=%d would=%s %s", fr.Score, fr.WouldAction, strings.Join(kinds, ",")),
			Lines:    strings.Join(ls, ";"), Ledger: strings.Join(buckets, ";"),
		}
	}
	return out
}

func parseIDPtrT(s string) *int64 {
	if s == "" {
		return nil
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return nil
	}
	return &v
}

func compareDumps(t *testing.T, want, got map[int64]canonical) {
	t.Helper()
	var diffs []string
	observed := 0
	for id, w := range want {
		g, ok := got[id]
		if ok && g.Observed != w.Observed {
			observed++
			g.Observed = w.Observed
		}
		switch {
		case !ok:
			diffs = append(diffs, fmt.Sprintf("order %d: missing in the chaos run", id))
		case g != w:
			diffs = append(diffs, fmt.Sprintf("order %d:\n  clean %+v\n  chaos %+v", id, w, g))
		}
	}
	for id := range got {
		if _, ok := want[id]; !ok {
			diffs = append(diffs, fmt.Sprintf("order %d: only in the chaos run", id))
		}
	}
	if observed > 0 {
		t.Logf("fraud observations at attribution (score, signals) differ for %d of %d orders: they depend on delivery order; actions and money do not", observed, len(want))
	}
	if len(diffs) > 0 {
		sort.Strings(diffs)
		t.Fatalf("%d of %d orders differ between the clean and the chaos run; first:\n%s", len(diffs), len(want),
			strings.Join(diffs[:min(len(diffs), 5)], "\n"))
	}
}
