package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// demoClient talks to the running app (as the shop's admin, with dev store
// session tokens) and to the dev store's control API.
type demoClient struct {
	hc, noFollow *http.Client
	app, dev     string
	shop         string

	mu    sync.Mutex
	tok   string
	tokAt time.Time
}

func newDemoClient(appURL, devAddr, shop string) *demoClient {
	return &demoClient{
		hc: &http.Client{Timeout: 20 * time.Second},
		noFollow: &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		}},
		app: strings.TrimRight(appURL, "/"), dev: "http://" + devAddr, shop: shop,
	}
}

// token returns a session token, minting a new one every 30 seconds (they
// live a minute).
func (d *demoClient) token(ctx context.Context) (string, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.tok != "" && time.Since(d.tokAt) < 30*time.Second {
		return d.tok, nil
	}
	var out struct {
		Token string `json:"token"`
	}
	if err := postJSON(ctx, d.hc, d.dev+"/_dev/session-token", map[string]string{"shop": d.shop, "user_id": "1"}, &out); err != nil {
		return "", fmt.Errorf("dev store session token: %w", err)
	}
	d.tok, d.tokAt = out.Token, time.Now()
	return d.tok, nil
}

// api calls the app's /api/v1 and decodes a 2xx answer into out; other
// statuses are errors carrying the status and body.
func (d *demoClient) api(ctx context.Context, method, path string, in, out any) (int, error) {
	tok, err := d.token(ctx)
	if err != nil {
		return 0, err
	}
	var body io.Reader
	if in != nil {
		b, _ := json.Marshal(in)
		body = bytes.NewReader(b)
	}
	req, _ := http.NewRequestWithContext(ctx, method, d.app+path, body)
	req.Header.Set("Authorization", "Bearer "+tok)
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := d.hc.Do(req)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if res.StatusCode >= 300 {
		return res.StatusCode, fmt.Errorf("%s %s: %s %s", method, path, res.Status, bytes.TrimSpace(b))
	}
	if out != nil && len(b) > 0 {
		if err := json.Unmarshal(b, out); err != nil {
			return res.StatusCode, err
		}
	}
	return res.StatusCode, nil
}

// store calls the dev store's control API for the demo shop.
func (d *demoClient) store(ctx context.Context, path string, in, out any) error {
	return postJSON(ctx, d.hc, d.dev+"/_dev/shops/"+d.shop+path, in, out)
}

// demoPartner and demoCampaign describe the seeded objects.
type demoPartner struct {
	Name, Kind, Email string
	Commission        map[string]any
	Vanity            string // vanity code on the spring campaign
	Channel           string
	LinkMode          string // SmartLink code mode: issue or vanity
	Campaign          string // campaign of the SmartLink
	Referrer          string
}

var demoPartners = []demoPartner{
	{Name: "Ana Ruiz", Kind: "influencer", Email: "ana.ruiz@example.com", Commission: map[string]any{"percent": 10}, Vanity: "ANA15",
		Channel: "influencer", LinkMode: "vanity", Campaign: "Spring Sale", Referrer: "https://instagram.com/ana.ruiz"},
	{Name: "Ben Okafor", Kind: "affiliate", Email: "ben@okafor-reviews.example.com", Commission: map[string]any{"fixed": "2.50"},
		Channel: "affiliate", LinkMode: "issue", Campaign: "Spring Sale", Referrer: "https://okafor-reviews.example.com/best-tees"},
	{Name: "Chloe Martin", Kind: "affiliate", Email: "chloe@example.com", Commission: map[string]any{"percent": 7.5},
		Channel: "affiliate", LinkMode: "issue", Campaign: "Welcome 10", Referrer: "https://chloe-finds.example.com/"},
	{Name: "DealsHub", Kind: "agency", Email: "partners@dealshub.example.com", Commission: map[string]any{"percent": 5}, Vanity: "DEALS15",
		Channel: "affiliate", LinkMode: "vanity", Campaign: "Spring Sale", Referrer: "https://dealshub.example.com/coupons"},
}

// demoCampaigns are the demo's campaigns, started far enough back for the
// backfilled orders to redeem their codes.
func demoCampaigns(now time.Time, backfill int) []map[string]any {
	start := now.AddDate(0, 0, -backfill).Add(-time.Hour).UTC().Format(time.RFC3339)
	return []map[string]any{
		{"name": "Spring Sale", "goal": "acquisition", "partner_id": nil,
			"discount":  map[string]any{"type": "percentage", "value": 15},
			"code":      map[string]any{"prefix": "SPRING", "length": 8},
			"usage":     map[string]any{"single_use": true, "once_per_customer": false},
			"starts_at": start, "holdout": 0.1, "hold_days": 14},
		{"name": "Welcome 10", "goal": "acquisition", "partner_id": nil,
			"discount":  map[string]any{"type": "percentage", "value": 10, "min_subtotal": "30.00"},
			"code":      map[string]any{"prefix": "HELLO", "length": 8},
			"usage":     map[string]any{"single_use": true, "once_per_customer": true},
			"starts_at": start, "holdout": 0.1, "hold_days": 30},
	}
}

// demoWorld is what the traffic loop draws from.
type demoWorld struct {
	fresh     bool              // the campaigns were created by this run
	partners  map[string]string // name -> id
	campaigns map[string]string // name -> id
	links     []demoLink
}

type demoLink struct {
	URL, Partner, Referrer string
}

type idName struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Status string `json:"status"`
}

// demoSetup creates (or finds, on a second run) the demo's partners,
// campaigns, codes, vanity codes and SmartLinks through the API.
func demoSetup(ctx context.Context, d *demoClient, backfill int, log io.Writer) (*demoWorld, error) {
	w := &demoWorld{partners: map[string]string{}, campaigns: map[string]string{}}
	var ps list[idName]
	if _, err := d.api(ctx, "GET", "/api/v1/partners?limit=500", nil, &ps); err != nil {
		return nil, err
	}
	for _, p := range ps.Items {
		w.partners[p.Name] = p.ID
	}
	for _, p := range demoPartners {
		if w.partners[p.Name] != "" {
			continue
		}
		var out idName
		if _, err := d.api(ctx, "POST", "/api/v1/partners", map[string]any{"name": p.Name, "kind": p.Kind, "email": p.Email, "commission": p.Commission}, &out); err != nil {
			return nil, err
		}
		w.partners[p.Name] = out.ID
		fmt.Fprintf(log, "demo: partner %s\n", p.Name)
	}
	var cs list[idName]
	if _, err := d.api(ctx, "GET", "/api/v1/campaigns?limit=500", nil, &cs); err != nil {
		return nil, err
	}
	status := map[string]string{}
	for _, c := range cs.Items {
		w.campaigns[c.Name], status[c.Name] = c.ID, c.Status
	}
	var fresh []string
	for _, spec := range demoCampaigns(time.Now(), backfill) {
		name := spec["name"].(string)
		if w.campaigns[name] == "" {
			var out idName
			if _, err := d.api(ctx, "POST", "/api/v1/campaigns", spec, &out); err != nil {
				return nil, err
			}
			w.campaigns[name], status[name] = out.ID, out.Status
			fresh = append(fresh, name)
			fmt.Fprintf(log, "demo: campaign %s\n", name)
		}
		if status[name] == "draft" {
			if _, err := d.api(ctx, "POST", "/api/v1/campaigns/"+w.campaigns[name]+"/activate", nil, nil); err != nil {
				return nil, err
			}
		}
	}
	w.fresh = len(fresh) > 0
	if w.fresh {
		// The demo enforces fraud decisions (the default only observes), so
		// the leaked code and the self-referral show up held or rejected.
		if _, err := d.api(ctx, "PATCH", "/api/v1/settings", map[string]any{"fraud": map[string]any{"mode": "enforce"}}, nil); err != nil {
			fmt.Fprintf(log, "demo: fraud mode: %v\n", err)
		}
	}
	// Codes for the fresh campaigns (generated, then pushed to the store).
	for _, name := range fresh {
		var b struct {
			ID string `json:"id"`
		}
		if _, err := d.api(ctx, "POST", "/api/v1/campaigns/"+w.campaigns[name]+"/codes", map[string]any{"count": 400, "channel": "email"}, &b); err != nil {
			return nil, err
		}
		fmt.Fprintf(log, "demo: generating 400 codes for %s\n", name)
		deadline := time.Now().Add(90 * time.Second)
		for time.Now().Before(deadline) {
			var st struct {
				Status string `json:"status"`
				Pushed int    `json:"pushed"`
			}
			if _, err := d.api(ctx, "GET", "/api/v1/code-batches/"+b.ID, nil, &st); err == nil && (st.Status == "done" || st.Status == "failed") {
				fmt.Fprintf(log, "demo: codes for %s %s (%d in the store)\n", name, st.Status, st.Pushed)
				break
			}
			if err := sleepCtx(ctx, time.Second); err != nil {
				return nil, err
			}
		}
	}
	for _, p := range demoPartners {
		if p.Vanity == "" {
			continue
		}
		code, err := d.api(ctx, "POST", "/api/v1/campaigns/"+w.campaigns["Spring Sale"]+"/vanity-codes",
			map[string]any{"code": p.Vanity, "partner_id": w.partners[p.Name], "channel": p.Channel, "usage_cap": 100000}, nil)
		if err != nil && code != http.StatusConflict {
			return nil, err
		}
	}
	var ls list[struct {
		URL       string  `json:"url"`
		PartnerID *string `json:"partner_id"`
	}]
	if _, err := d.api(ctx, "GET", "/api/v1/links?limit=500", nil, &ls); err != nil {
		return nil, err
	}
	have := map[string]string{}
	for _, l := range ls.Items {
		if l.PartnerID != nil {
			have[*l.PartnerID] = l.URL
		}
	}
	for _, p := range demoPartners {
		pid := w.partners[p.Name]
		u := have[pid]
		if u == "" {
			var out struct {
				URL string `json:"url"`
			}
			in := map[string]any{"partner_id": pid, "campaign_id": w.campaigns[p.Campaign], "channel": p.Channel, "code_mode": p.LinkMode,
				"destination": "/products/tee", "utm": map[string]any{"source": strings.ToLower(strings.Fields(p.Name)[0]), "medium": p.Channel}}
			if p.LinkMode == "vanity" {
				in["vanity_code"] = p.Vanity
			}
			if _, err := d.api(ctx, "POST", "/api/v1/links", in, &out); err != nil {
				// A vanity code still on its way to the store: fall back to a
				// link without a code rather than no link.
				in["code_mode"], in["vanity_code"] = "none", ""
				if _, err2 := d.api(ctx, "POST", "/api/v1/links", in, &out); err2 != nil {
					return nil, errors.Join(err, err2)
				}
			}
			u = out.URL
			fmt.Fprintf(log, "demo: SmartLink for %s: %s\n", p.Name, u)
		}
		w.links = append(w.links, demoLink{URL: u, Partner: p.Name, Referrer: p.Referrer})
	}
	return w, nil
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

var demoUAs = []string{
	"Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
	"Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36",
	"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
	"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36 Edg/126.0.0.0",
}

var demoBotUAs = []string{
	"Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
	"curl/8.5.0",
	"Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)",
}

var demoProducts = []map[string]any{
	{"title": "Organic Tee", "price": "28.00", "product_id": 9001},
	{"title": "Canvas Tote", "price": "19.50", "product_id": 9002},
	{"title": "Wool Beanie", "price": "24.00", "product_id": 9003},
	{"title": "Trail Hoodie", "price": "64.00", "product_id": 9004},
	{"title": "Ceramic Mug", "price": "14.00", "product_id": 9005},
}

var demoCountries = []string{"US", "US", "US", "CA", "GB", "DE", "AU"}

// demoTraffic is the traffic generator's state.
type demoTraffic struct {
	d         *demoClient
	w         *demoWorld
	rng       *rand.Rand
	customers []string // returning shoppers
	orders    []demoOrder
	seq       int
	counts    map[string]int
	log       io.Writer
	noted     bool // told the log that the store refuses codes
}

type demoOrder struct {
	ID    int64
	Total float64
}

func demoCustomerID(email string) int64 {
	h := fnv.New64a()
	h.Write([]byte(email))
	return int64(h.Sum64()>>12) + 1_000_000
}

// shopper picks a returning customer (30%) or a new one.
func (t *demoTraffic) shopper() string {
	if len(t.customers) > 0 && t.rng.IntN(10) < 3 {
		return t.customers[t.rng.IntN(len(t.customers))]
	}
	return t.newShopper()
}

func (t *demoTraffic) newShopper() string {
	t.seq++
	e := fmt.Sprintf("shopper%d.%d@example.com", time.Now().Unix()%100000, t.seq)
	t.customers = append(t.customers, e)
	if len(t.customers) > 500 {
		t.customers = t.customers[1:]
	}
	return e
}

func (t *demoTraffic) ip() string {
	return fmt.Sprintf("%d.%d.%d.%d", []int{73, 98, 24, 81, 176}[t.rng.IntN(5)], t.rng.IntN(256), t.rng.IntN(256), 1+t.rng.IntN(254))
}

func (t *demoTraffic) lines() []map[string]any {
	n := 1 + t.rng.IntN(3)
	out := make([]map[string]any, 0, n)
	for range n {
		p := demoProducts[t.rng.IntN(len(demoProducts))]
		l := map[string]any{"quantity": 1 + t.rng.IntN(2)}
		for k, v := range p {
			l[k] = v
		}
		out = append(out, l)
	}
	return out
}

// order places an order in the dev store (which delivers its webhooks to
// the app) and remembers it for later refunds.
func (t *demoTraffic) order(ctx context.Context, email string, codes []string, ip, ua, landing, referrer string) error {
	return t.orderAt(ctx, time.Time{}, email, codes, ip, ua, landing, referrer)
}

// orderAt is order with a creation time in the past (zero: now).
func (t *demoTraffic) orderAt(ctx context.Context, at time.Time, email string, codes []string, ip, ua, landing, referrer string) error {
	lines := t.lines()
	if len(codes) > 0 { // discounted baskets clear the campaigns' minimum subtotal
		lines = append(lines, map[string]any{"title": "Trail Hoodie", "price": "64.00", "product_id": 9004, "quantity": 1})
	}
	in := map[string]any{"email": email, "customer_id": demoCustomerID(email), "line_items": lines, "browser_ip": ip, "user_agent": ua,
		"country": demoCountries[t.rng.IntN(len(demoCountries))], "landing_site": landing, "referring_site": referrer}
	if len(codes) > 0 {
		in["discount_codes"] = codes
	}
	if !at.IsZero() {
		in["created_at"] = at.UTC().Format(time.RFC3339)
	}
	var out struct {
		ID    json.Number     `json:"id"` // beyond 2^53: not a float
		Total json.RawMessage `json:"total_price"`
	}
	err := t.d.store(ctx, "/orders", in, &out)
	if err != nil && len(codes) > 0 && strings.Contains(err.Error(), "discount_code_") {
		// The store refused the code (e.g. the dev store restarted and
		// forgot its discounts): the shopper buys anyway, without it.
		if !t.noted {
			t.noted = true
			fmt.Fprintf(t.log, "demo: the dev store refused a code (%v); orders go on without codes. The dev store keeps discounts in memory: start from a fresh database for coupon traffic after a restart.\n", err)
		}
		t.counts["code_refused"]++
		delete(in, "discount_codes")
		err = t.d.store(ctx, "/orders", in, &out)
	}
	if err != nil {
		return fmt.Errorf("order: %w", err)
	}
	id, _ := out.ID.Int64()
	total, _ := strconv.ParseFloat(strings.Trim(string(out.Total), `"`), 64)
	t.orders = append(t.orders, demoOrder{ID: id, Total: total})
	if len(t.orders) > 300 {
		t.orders = t.orders[1:]
	}
	t.counts["orders"]++
	return nil
}

// click follows a SmartLink like a browser would, without following the
// redirect, and returns the code and the landing path it carries.
func (t *demoTraffic) click(ctx context.Context, l demoLink, ua, ip string) (code, landing string, err error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, l.URL, nil)
	req.Header.Set("User-Agent", ua)
	req.Header.Set("X-Forwarded-For", ip)
	req.Header.Set("Referer", l.Referrer)
	res, err := t.d.noFollow.Do(req)
	if err != nil {
		return "", "", err
	}
	res.Body.Close()
	t.counts["clicks"]++
	u, err := url.Parse(res.Header.Get("Location"))
	if err != nil || res.StatusCode/100 != 3 {
		return "", "", fmt.Errorf("click %s: %d", l.URL, res.StatusCode)
	}
	landing = u.RequestURI()
	if c, ok := strings.CutPrefix(u.Path, "/store/"+t.d.shop+"/discount/"); ok {
		code = c
		if r := u.Query().Get("redirect"); r != "" {
			landing = r
		}
	} else if i := strings.Index(u.Path, "/discount/"); i >= 0 {
		code = u.Path[i+len("/discount/"):]
		if r := u.Query().Get("redirect"); r != "" {
			landing = r
		}
	}
	return code, landing, nil
}

// step runs one random event.
func (t *demoTraffic) step(ctx context.Context) error {
	ua := demoUAs[t.rng.IntN(len(demoUAs))]
	switch r := t.rng.IntN(100); {
	case r < 38: // a shopper clicks a partner's SmartLink; some buy
		l := t.w.links[t.rng.IntN(len(t.w.links))]
		ip := t.ip()
		code, landing, err := t.click(ctx, l, ua, ip)
		if err != nil {
			return err
		}
		if t.rng.IntN(100) < 45 {
			var codes []string
			if code != "" {
				codes = []string{code}
			}
			return t.order(ctx, t.shopper(), codes, ip, ua, landing, l.Referrer)
		}
	case r < 53: // an e-mail code issued to a new shopper; most redeem it
		email := t.newShopper()
		var is struct {
			Code    string `json:"code"`
			Holdout bool   `json:"holdout"`
		}
		if _, err := t.d.api(ctx, "POST", "/api/v1/codes/issue", map[string]any{"campaign_id": t.w.campaigns["Welcome 10"],
			"customer_email": email, "channel": "email"}, &is); err != nil {
			return err
		}
		t.counts["issued"]++
		if t.rng.IntN(100) < 65 {
			var codes []string
			if is.Code != "" {
				codes = []string{is.Code}
			}
			return t.order(ctx, email, codes, t.ip(), ua, "/products/tee?utm_source=newsletter&utm_medium=email", "https://mail.example.com/")
		}
	case r < 78: // organic order
		return t.order(ctx, t.shopper(), nil, t.ip(), ua, "/", []string{"https://www.google.com/", "", "https://duckduckgo.com/"}[t.rng.IntN(3)])
	case r < 83: // bots hit a SmartLink
		l := t.w.links[t.rng.IntN(len(t.w.links))]
		_, _, err := t.click(ctx, l, demoBotUAs[t.rng.IntN(len(demoBotUAs))], "34.102."+strconv.Itoa(t.rng.IntN(256))+".9")
		t.counts["bot_clicks"]++
		return err
	case r < 87: // a leaked partner code used without any click, from many places
		t.counts["fraud"]++
		return t.order(ctx, t.shopper(), []string{"DEALS15"}, "45.33."+strconv.Itoa(t.rng.IntN(256))+"."+strconv.Itoa(1+t.rng.IntN(254)), ua, "/", "")
	case r < 88: // self-referral: the influencer buys with her own code
		t.counts["fraud"]++
		return t.order(ctx, "ana.ruiz@example.com", []string{"ANA15"}, t.ip(), ua, "/", "https://instagram.com/ana.ruiz")
	case r < 96: // a partial refund of a recent order
		if len(t.orders) == 0 {
			return nil
		}
		o := t.orders[t.rng.IntN(len(t.orders))]
		amt := o.Total * (0.2 + 0.5*t.rng.Float64())
		if amt < 1 {
			return nil
		}
		t.counts["refunds"]++
		err := t.d.store(ctx, "/orders/"+strconv.FormatInt(o.ID, 10)+"/refunds", map[string]any{"amount": strconv.FormatFloat(amt, 'f', 2, 64)}, nil)
		if err != nil && strings.Contains(err.Error(), "422") {
			return nil // already fully refunded
		}
		return err
	default: // a cancellation with a full refund
		if len(t.orders) == 0 {
			return nil
		}
		i := t.rng.IntN(len(t.orders))
		o := t.orders[i]
		t.orders = append(t.orders[:i], t.orders[i+1:]...)
		t.counts["cancels"]++
		err := t.d.store(ctx, "/orders/"+strconv.FormatInt(o.ID, 10)+"/cancel", map[string]any{"reason": "customer", "refund": true}, nil)
		if err != nil && strings.Contains(err.Error(), "422") {
			return nil
		}
		return err
	}
	return nil
}

// backfill places a few orders a day over the past days (partner vanity
// codes, returning shoppers, organic orders, some refunds) so a fresh demo's
// charts have a history; orders past their hold period are approved by the
// release sweep.
func (t *demoTraffic) backfill(ctx context.Context, days int, log io.Writer) {
	fmt.Fprintf(log, "demo: backfilling %d days of orders\n", days)
	now := time.Now().UTC()
	n := 0
	for day := days; day >= 1; day-- {
		for range 4 + t.rng.IntN(6) {
			at := now.AddDate(0, 0, -day).Add(time.Duration(t.rng.IntN(86400)) * time.Second)
			ua := demoUAs[t.rng.IntN(len(demoUAs))]
			var codes []string
			var ref string
			switch r := t.rng.IntN(10); {
			case r < 3:
				codes, ref = []string{"ANA15"}, "https://instagram.com/ana.ruiz"
			case r < 4:
				codes, ref = []string{"DEALS15"}, "https://dealshub.example.com/coupons"
			}
			if err := t.orderAt(ctx, at, t.shopper(), codes, t.ip(), ua, "/", ref); err != nil {
				fmt.Fprintf(log, "demo: backfill: %v\n", err)
				continue
			}
			n++
			if t.rng.IntN(100) < 8 {
				o := t.orders[len(t.orders)-1]
				_ = t.d.store(ctx, "/orders/"+strconv.FormatInt(o.ID, 10)+"/refunds", map[string]any{"amount": strconv.FormatFloat(o.Total*0.5, 'f', 2, 64)}, nil)
			}
			if ctx.Err() != nil {
				return
			}
		}
	}
	fmt.Fprintf(log, "demo: backfilled %d orders\n", n)
}

// runDemoTraffic sets the demo shop up and then generates traffic until ctx
// ends (or for duration, when set), one event every interval on average.
func runDemoTraffic(ctx context.Context, d *demoClient, interval, duration time.Duration, backfill int, stderr io.Writer) error {
	var w *demoWorld
	var err error
	for attempt := 0; ; attempt++ {
		if w, err = demoSetup(ctx, d, backfill, stderr); err == nil {
			break
		}
		if attempt == 5 || ctx.Err() != nil {
			return fmt.Errorf("demo setup: %w", err)
		}
		fmt.Fprintf(stderr, "demo: setup: %v (retrying)\n", err)
		if err := sleepCtx(ctx, 3*time.Second); err != nil {
			return err
		}
	}
	t := &demoTraffic{d: d, w: w, rng: rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 42)), counts: map[string]int{}, log: stderr}
	if duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, duration)
		defer cancel()
	}
	if w.fresh && backfill > 0 {
		t.backfill(ctx, backfill, stderr)
	}
	fmt.Fprintf(stderr, "demo: traffic running for %s (about one event every %s)\n", d.shop, interval)
	report := time.NewTicker(time.Minute)
	defer report.Stop()
	fails := 0
	for {
		// Exponential gaps: a Poisson stream of events.
		gap := time.Duration(t.rng.ExpFloat64() * float64(interval))
		select {
		case <-ctx.Done():
			fmt.Fprintf(stderr, "demo: traffic stopped: %v\n", t.counts)
			return nil
		case <-report.C:
			fmt.Fprintf(stderr, "demo: so far %v\n", t.counts)
		case <-time.After(min(gap, 10*interval)):
			if err := t.step(ctx); err != nil && ctx.Err() == nil {
				fails++
				t.counts["errors"]++
				fmt.Fprintf(stderr, "demo: %v\n", err)
				if fails > 50 {
					return fmt.Errorf("demo traffic: too many errors, last: %w", err)
				}
			} else {
				fails = 0
			}
		}
	}
}
