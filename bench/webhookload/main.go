// Command webhookload drives POST /webhooks of a running coupontrail with
// realistic signed orders/create payloads (6-15 KB) from N concurrent
// connections for a fixed time, then confirms that every delivery answered
// 200 has its committed row. It prints one JSON result line.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coupontrail/coupontrail/app/shopify"
	"github.com/coupontrail/coupontrail/app/store"
)

type result struct {
	Name        string  `json:"name"`
	Connections int     `json:"connections"`
	Seconds     float64 `json:"seconds"`
	Requests    int64   `json:"requests"`
	OK          int64   `json:"ok"`
	Errors      int64   `json:"errors"`
	RPS         float64 `json:"req_per_s"`
	P50ms       float64 `json:"p50_ms"`
	P99ms       float64 `json:"p99_ms"`
	MaxMs       float64 `json:"max_ms"`
	Committed   int64   `json:"committed_rows"`
	Missing     int64   `json:"acknowledged_without_row"`
	PayloadKB   float64 `json:"avg_payload_kb"`
}

func main() {
	url := flag.String("url", "http://127.0.0.1:18090/webhooks", "webhook endpoint")
	secret := flag.String("secret", os.Getenv("SHOPIFY_API_SECRET"), "webhook secret")
	conns := flag.Int("c", 50, "concurrent connections")
	dur := flag.Duration("d", 15*time.Second, "duration")
	dsn := flag.String("db", os.Getenv("DATABASE_URL"), "database to verify rows in (empty: skip)")
	shop := flag.String("shop", "bench.myshopify.com", "shop domain")
	flag.Parse()

	payloads := make([][]byte, 64)
	var total int
	for i := range payloads {
		payloads[i] = orderPayload(i)
		total += len(payloads[i])
	}
	tr := &http.Transport{MaxIdleConnsPerHost: *conns, MaxConnsPerHost: *conns, DisableCompression: true}
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}

	runID := fmt.Sprintf("%x", time.Now().UnixNano())
	var seq, okN, errN atomic.Int64
	lat := make([][]time.Duration, *conns)
	okIDs := make([][]string, *conns)
	deadline := time.Now().Add(*dur)
	start := time.Now()
	var wg sync.WaitGroup
	for w := 0; w < *conns; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for time.Now().Before(deadline) {
				n := seq.Add(1)
				body := payloads[n%int64(len(payloads))]
				id := fmt.Sprintf("bench-%s-%d", runID, n)
				req, _ := http.NewRequest(http.MethodPost, *url, bytes.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("X-Shopify-Topic", "orders/create")
				req.Header.Set("X-Shopify-Shop-Domain", *shop)
				req.Header.Set("X-Shopify-Webhook-Id", id)
				req.Header.Set("X-Shopify-API-Version", "2026-07")
				req.Header.Set("X-Shopify-Hmac-Sha256", shopify.SignWebhook([]byte(*secret), body))
				t0 := time.Now()
				res, err := client.Do(req)
				d := time.Since(t0)
				if err != nil {
					errN.Add(1)
					continue
				}
				res.Body.Close()
				lat[w] = append(lat[w], d)
				if res.StatusCode == 200 {
					okN.Add(1)
					okIDs[w] = append(okIDs[w], id)
				} else {
					errN.Add(1)
				}
			}
		}(w)
	}
	wg.Wait()
	elapsed := time.Since(start).Seconds()
	var all []time.Duration
	for _, l := range lat {
		all = append(all, l...)
	}
	slices.Sort(all)
	pct := func(p float64) float64 {
		if len(all) == 0 {
			return 0
		}
		return float64(all[min(len(all)-1, int(p*float64(len(all))))].Microseconds()) / 1000
	}
	r := result{Name: "webhook_intake", Connections: *conns, Seconds: elapsed, Requests: seq.Load(), OK: okN.Load(), Errors: errN.Load(),
		RPS: float64(okN.Load()) / elapsed, P50ms: pct(0.50), P99ms: pct(0.99), PayloadKB: float64(total) / float64(len(payloads)) / 1024}
	if len(all) > 0 {
		r.MaxMs = float64(all[len(all)-1].Microseconds()) / 1000
	}
	if *dsn != "" {
		ctx := context.Background()
		st, err := store.Open(ctx, *dsn, store.Options{MaxOpenConns: 2, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			fmt.Fprintln(os.Stderr, "verify:", err)
			os.Exit(1)
		}
		var ids []string
		for _, l := range okIDs {
			ids = append(ids, l...)
		}
		n, err := st.CountDeliveriesByWebhookIDs(ctx, ids)
		if err != nil {
			fmt.Fprintln(os.Stderr, "verify:", err)
			os.Exit(1)
		}
		r.Committed = n
		r.Missing = int64(len(ids)) - n
		st.Close()
	}
	_ = json.NewEncoder(os.Stdout).Encode(r)
	if r.Missing != 0 {
		os.Exit(1)
	}
}

// orderPayload builds a realistic 2026-07 orders/create body of 6-15 KB: the
// size comes from the number of line items, as in real stores.
func orderPayload(i int) []byte {
	rng := rand.New(rand.NewPCG(uint64(i), 7))
	money := func(v float64) map[string]any {
		m := map[string]any{"amount": fmt.Sprintf("%.2f", v), "currency_code": "USD"}
		return map[string]any{"shop_money": m, "presentment_money": m}
	}
	lines := 3 + rng.IntN(10)
	var items []map[string]any
	total := 0.0
	for l := 0; l < lines; l++ {
		price := float64(500+rng.IntN(20000)) / 100
		q := 1 + rng.IntN(3)
		total += price * float64(q)
		lid := 13000000000000 + rng.Int64N(1e12)
		items = append(items, map[string]any{
			"id": lid, "admin_graphql_api_id": fmt.Sprintf("gid://shopify/LineItem/%d", lid), "attributed_staffs": []any{},
			"current_quantity": q, "fulfillable_quantity": q, "fulfillment_service": "manual", "fulfillment_status": nil,
			"gift_card": false, "grams": 200 + rng.IntN(800), "name": fmt.Sprintf("Organic cotton tee - Size %d / Colour %d", l, i),
			"price": fmt.Sprintf("%.2f", price), "price_set": money(price), "product_exists": true,
			"product_id": 7000000000000 + rng.Int64N(1e12), "properties": []any{}, "quantity": q, "requires_shipping": true,
			"sku": fmt.Sprintf("TEE-%d-%d", l, i), "taxable": true, "title": "Organic cotton tee", "total_discount": "0.00",
			"total_discount_set": money(0), "variant_id": 40000000000000 + rng.Int64N(1e12), "variant_inventory_management": "shopify",
			"variant_title": fmt.Sprintf("Size %d / Colour %d", l, i), "vendor": "coupontrail bench",
			"tax_lines":            []any{map[string]any{"channel_liable": false, "price": fmt.Sprintf("%.2f", price*0.08), "price_set": money(price * 0.08), "rate": 0.08, "title": "State tax"}},
			"duties":               []any{},
			"discount_allocations": []any{map[string]any{"amount": fmt.Sprintf("%.2f", price*0.1), "amount_set": money(price * 0.1), "discount_application_index": 0}},
		})
	}
	id := 5800000000000 + int64(i)*7919
	email := fmt.Sprintf("shopper%d@example.com", i)
	ip := fmt.Sprintf("203.0.113.%d", i%250)
	order := map[string]any{
		"id": id, "admin_graphql_api_id": fmt.Sprintf("gid://shopify/Order/%d", id), "app_id": 580111, "browser_ip": ip,
		"buyer_accepts_marketing": false, "cancel_reason": nil, "cancelled_at": nil, "cart_token": fmt.Sprintf("c1-%x", rng.Uint64()),
		"checkout_id": id + 1, "checkout_token": fmt.Sprintf("%x", rng.Uint64()),
		"client_details": map[string]any{"accept_language": "en-US,en;q=0.9", "browser_height": 900, "browser_ip": ip, "browser_width": 1440, "session_hash": nil,
			"user_agent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 Safari/605.1.15"},
		"confirmation_number": fmt.Sprintf("X%05dQ", i), "confirmed": true, "contact_email": email,
		"created_at": "2026-11-27T09:15:00-05:00", "currency": "USD",
		"current_subtotal_price": fmt.Sprintf("%.2f", total), "current_total_discounts": fmt.Sprintf("%.2f", total*0.1),
		"current_total_price": fmt.Sprintf("%.2f", total*0.98), "customer_locale": "en-US",
		"discount_codes": []any{map[string]any{"code": "BF26-K7M2Q9XZ", "amount": fmt.Sprintf("%.2f", total*0.1), "type": "percentage"}},
		"email":          email, "financial_status": "paid",
		"landing_site": fmt.Sprintf("/discount/BF26-K7M2Q9XZ?redirect=%%2F&ct_click=clk_%x&utm_source=affiliate&utm_medium=partner&utm_campaign=bf26", rng.Uint64()),
		"name":         fmt.Sprintf("#%d", 1000+i), "number": i, "order_number": 1000 + i, "presentment_currency": "USD",
		"processed_at": "2026-11-27T09:15:00-05:00", "referring_site": "https://partner.example.com/black-friday", "source_name": "web",
		"subtotal_price": fmt.Sprintf("%.2f", total), "subtotal_price_set": money(total), "tags": "", "taxes_included": false, "test": false,
		"token": fmt.Sprintf("%x", rng.Uint64()), "total_discounts": fmt.Sprintf("%.2f", total*0.1), "total_discounts_set": money(total * 0.1),
		"total_price": fmt.Sprintf("%.2f", total*0.98), "total_price_set": money(total * 0.98), "total_tax": fmt.Sprintf("%.2f", total*0.08),
		"updated_at": "2026-11-27T09:15:00-05:00",
		"customer": map[string]any{"id": 7100000000000 + int64(i), "email": email, "created_at": "2025-01-01T00:00:00-05:00", "first_name": "Sam",
			"last_name": "Shopper", "state": "enabled", "verified_email": true, "currency": "USD",
			"default_address": map[string]any{"city": "Ottawa", "country": "Canada", "country_code": "CA", "province": "Ontario", "zip": "K2P 1L4"}},
		"discount_applications": []any{map[string]any{"target_type": "line_item", "type": "discount_code", "value": "10.0", "value_type": "percentage",
			"allocation_method": "across", "target_selection": "all", "code": "BF26-K7M2Q9XZ"}},
		"line_items":       items,
		"shipping_address": map[string]any{"address1": "150 Elgin St", "city": "Ottawa", "country": "Canada", "country_code": "CA", "province": "Ontario", "zip": "K2P 1L4", "name": "Sam Shopper"},
		"shipping_lines": []any{map[string]any{"id": 4300000000000 + int64(i), "code": "Standard", "price": "8.00", "price_set": money(8),
			"source": "shopify", "title": "Standard"}},
	}
	b, _ := json.Marshal(order)
	return b
}
