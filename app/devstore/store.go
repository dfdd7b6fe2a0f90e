// Package devstore is an in-process stand-in for Shopify, used by tests and by the demo.
//
// It serves, for any number of shops on one listener: the OAuth authorize and access_token endpoints
// (authorization-code grant, token exchange with expiring offline tokens, refresh-token rotation), a subset of the
// 2026-07 Admin GraphQL API (discount mutations and queries, async redeem-code bulk creation, orders for
// reconciliation, webhook subscriptions) with calculated costs and per-plan leaky buckets, the storefront
// /discount/{code} link, and a control API under /_dev that creates orders, refunds, cancellations and checkouts and
// delivers them as HMAC-signed webhooks, at least once, with Shopify's headers and retry schedule.
//
// Every Shopify URL https://{shop}/X is served at BaseURL/store/{shop}/X:
//
//	GET  /store/{shop}/admin/oauth/authorize            auto-approve, 302 to redirect_uri with code, hmac, ...
//	POST /store/{shop}/admin/oauth/access_token         code grant, token exchange, refresh (JSON or form)
//	POST /store/{shop}/admin/api/{version}/graphql.json Admin GraphQL subset (X-Shopify-Access-Token)
//	GET  /store/{shop}/discount/{code}?redirect=/path   storefront discount link
//
// Control API (PRODUCT.md §10 and §12):
//
//	POST /_dev/shops                                    {"shop","plan","currency"}
//	GET  /_dev/shops
//	POST /_dev/session-token                            {"shop","user_id"} -> {"token"}
//	POST /_dev/shops/{shop}/tokens                      {"expiring":true} -> token response, no OAuth round trip
//	POST /_dev/shops/{shop}/orders                      OrderInput -> order as its webhook carries it
//	GET  /_dev/shops/{shop}/orders
//	POST /_dev/shops/{shop}/orders/{id}/refunds         {"amount"} or {"line_items":[{"line_item_id","quantity"}]}
//	POST /_dev/shops/{shop}/orders/{id}/cancel          {"reason","refund"}
//	POST /_dev/shops/{shop}/checkouts                   {"email","line_items",...} -> checkout with token
//	POST /_dev/shops/{shop}/checkouts/{token}/complete  optional OrderInput overrides -> order
//	GET  /_dev/shops/{shop}/discounts                   every discount and redeem code with usage counts
//	GET  /_dev/shops/{shop}/visits                      discount-link clicks
//	POST /_dev/shops/{shop}/uninstall                   revoke tokens, deliver app/uninstalled
//	POST /_dev/webhooks                                 {"shop","topic","payload"} -> signed delivery
//	PUT  /_dev/faults, GET /_dev/faults                 Faults
//	GET  /_dev/deliveries?topic=&shop=                  every delivery attempt
//	POST /_dev/idle?timeout=10s                         wait until deliveries and bulk jobs settle
//
// All state lives in memory behind one mutex. The package imports no other coupontrail package, so the app is
// always tested against an independent implementation of Shopify's contract.
package devstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	mrand "math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// APIVersion is the Admin API and webhook payload version the dev store speaks.
const APIVersion = "2026-07"

// DefaultScopes are granted by token exchange when Config.Scopes is empty.
const DefaultScopes = "read_orders,read_customers,read_discounts,write_discounts"

// MaxRedeemCodesPerStore is Shopify's cap on unique discount codes in one store.
const MaxRedeemCodesPerStore = 20_000_000

// Config configures a Store.
type Config struct {
	// APIKey and APISecret are the app credentials. The secret signs webhooks (base64 HMAC-SHA256 of the raw body),
	// session tokens (HS256) and OAuth redirects (hex HMAC-SHA256), and is checked as client_secret.
	APIKey, APISecret string
	// AppURL is the app's public base: webhooks go to AppURL+"/webhooks", OAuth redirects default to
	// AppURL+"/auth/callback".
	AppURL string
	// BaseURL is the dev store's own public base, e.g. http://127.0.0.1:8081. A shop's admin base is
	// BaseURL+"/store/{shop}".
	BaseURL string
	// Now is the clock used for timestamps, token expiry and the GraphQL leaky buckets (nil = time.Now).
	// Webhook retry timers always run on real time.
	Now func() time.Time
	// Logger receives operational logs (nil = discard).
	Logger *slog.Logger
	// HTTPClient delivers webhooks. Nil means a client with Shopify's 5 s timeout that does not follow redirects
	// (Shopify counts a 3xx as a failure).
	HTTPClient *http.Client
	// Scopes granted by token exchange (default DefaultScopes).
	Scopes string
	// RetryScale multiplies Shopify's webhook retry schedule (8 retries over about 4 hours). Tests use e.g. 1e-4.
	// Zero means 1.
	RetryScale float64
	// BulkDelay is how long a discountRedeemCodeBulkAdd job takes before it is done (default 100ms).
	BulkDelay time.Duration
	// Seed seeds the fault injector's random source (0 = random).
	Seed uint64
}

// Store is the dev store. It implements http.Handler. Create it with New and stop it with Close.
type Store struct {
	cfg                   Config
	log                   *slog.Logger
	client                *http.Client
	mux                   *http.ServeMux
	ctx                   context.Context
	cancel                context.CancelFunc
	wg                    sync.WaitGroup
	ids                   idGen
	baseURL               atomic.Pointer[string]
	randMu                sync.Mutex
	rnd                   *mrand.Rand
	mu                    sync.Mutex // guards everything below
	shops                 map[string]*shop
	codes                 map[string]*authCode    // authorization codes
	access                map[string]*accessToken // access tokens
	refresh               map[string]*refreshToken
	faults                Faults
	attempts              []DeliveryRecord // delivery attempts, in order
	pending               int              // deliveries and bulk jobs not settled yet
	accessTTL, refreshTTL time.Duration
	codeCap               int
}

// New returns a Store serving cfg. Call Close when done to stop background delivery.
func New(cfg Config) *Store {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Scopes == "" {
		cfg.Scopes = DefaultScopes
	}
	if cfg.RetryScale <= 0 {
		cfg.RetryScale = 1
	}
	if cfg.BulkDelay <= 0 {
		cfg.BulkDelay = 100 * time.Millisecond
	}
	cfg.AppURL = strings.TrimRight(cfg.AppURL, "/")
	cfg.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	client := cfg.HTTPClient
	if client == nil {
		client = &http.Client{
			Timeout:       5 * time.Second,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	seed := cfg.Seed
	if seed == 0 {
		seed = mrand.Uint64()
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Store{
		cfg:        cfg,
		log:        log.With("component", "devstore"),
		client:     client,
		ctx:        ctx,
		cancel:     cancel,
		rnd:        mrand.New(mrand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		shops:      map[string]*shop{},
		codes:      map[string]*authCode{},
		access:     map[string]*accessToken{},
		refresh:    map[string]*refreshToken{},
		accessTTL:  time.Hour,
		refreshTTL: 90 * 24 * time.Hour,
		codeCap:    MaxRedeemCodesPerStore,
	}
	s.ids.init()
	s.SetBaseURL(cfg.BaseURL)
	s.routes()
	return s
}

// Close stops webhook delivery and bulk jobs and waits for their goroutines. Undelivered webhooks are dropped.
func (s *Store) Close() {
	s.cancel()
	s.wg.Wait()
}

// ServeHTTP serves the dev store.
func (s *Store) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// SetTokenTTL sets the lifetime of expiring access tokens and refresh tokens issued from now on
// (defaults 1 h and 90 days, as Shopify).
func (s *Store) SetTokenTTL(access, refresh time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.accessTTL, s.refreshTTL = access, refresh
}

// SetCodeCap lowers (or raises) the per-store redeem-code cap (default MaxRedeemCodesPerStore) so tests can reach it.
func (s *Store) SetCodeCap(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.codeCap = n
}

func (s *Store) now() time.Time { return s.cfg.Now().UTC() }

// shopBase is the public base URL standing in for https://{shop}.
func (s *Store) shopBase(domain string) string { return *s.baseURL.Load() + "/store/" + domain }

// SetBaseURL changes the public base URL after New, for servers whose address is known only once they listen
// (httptest.NewServer(store)).
func (s *Store) SetBaseURL(u string) {
	u = strings.TrimRight(u, "/")
	s.baseURL.Store(&u)
}

func (s *Store) float() float64 {
	s.randMu.Lock()
	defer s.randMu.Unlock()
	return s.rnd.Float64()
}

func (s *Store) randDuration(max time.Duration) time.Duration {
	if max <= 0 {
		return 0
	}
	s.randMu.Lock()
	defer s.randMu.Unlock()
	return time.Duration(s.rnd.Int64N(int64(max)))
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func newUUID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// idGen hands out realistic, increasing 64-bit Shopify ids per resource kind.
type idGen struct {
	mu   sync.Mutex
	next map[string]int64
}

func (g *idGen) init() {
	g.next = map[string]int64{
		"Shop":                           68_817_354_770,
		"Order":                          5_912_345_678_901,
		"LineItem":                       14_735_811_223_601,
		"Customer":                       7_391_234_567_001,
		"Refund":                         925_543_211_001,
		"RefundLineItem":                 538_512_344_001,
		"Transaction":                    6_912_334_455_001,
		"DiscountCodeNode":               1_660_207_006_002,
		"DiscountRedeemCode":             22_275_631_350_066,
		"DiscountRedeemCodeBulkCreation": 799_635_374_386,
		"Job":                            120_443_559_001,
		"WebhookSubscription":            1_423_980_552_001,
		"Product":                        8_123_456_789_001,
		"Order#":                         1001,
	}
}

func (g *idGen) id(kind string) int64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	v := g.next[kind]
	step := int64(1)
	switch kind {
	case "DiscountCodeNode", "DiscountRedeemCode", "DiscountRedeemCodeBulkCreation":
		step = 32768 // the spacing seen in ids recorded from a real store
	case "Order", "LineItem", "Customer", "Refund", "Transaction":
		step = 1 + v%97 // not contiguous, like real ids
	}
	g.next[kind] = v + step
	return v
}

func gid(kind string, id int64) string { return fmt.Sprintf("gid://shopify/%s/%d", kind, id) }
