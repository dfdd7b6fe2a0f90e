package devstore

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Plans recognised by CreateShop; they set the GraphQL leaky bucket.
const (
	PlanBasic    = "basic"
	PlanStandard = "standard"
	PlanAdvanced = "advanced"
	PlanPlus     = "plus"
)

type shop struct {
	id          int64
	domain      string
	plan        string
	currency    string
	createdAt   time.Time
	uninstalled bool
	bucket      bucket
	refreshes   int

	discounts   map[int64]*discount
	discOrder   []int64
	codes       map[string]*redeemCode // upper-cased code -> code
	codesByID   map[int64]*redeemCode
	bulks       map[int64]*bulkCreation
	orders      map[int64]*order
	orderSeq    []int64
	checkouts   map[string]*checkout
	customers   map[string]int64 // email -> id
	visitors    map[string]*visit
	visitLog    []Visit
	subs        []*subscription
	redeemTotal int // redeem codes in the store (cap check)
}

type discount struct {
	id                     int64
	title                  string
	startsAt               time.Time
	endsAt                 *time.Time
	createdAt, updatedAt   time.Time
	percentage             *float64 // 0..1
	amount                 cents    // fixed amount when percentage == nil
	appliesOnEachItem      bool
	minSubtotal            *cents
	minQuantity            *int64
	usageLimit             *int64
	appliesOncePerCustomer bool
	combinesWith           map[string]bool
	context                any
	codes                  []*redeemCode
	usedBy                 map[string]bool // customer keys (email / customer id) for appliesOncePerCustomer
	raw                    map[string]any  // last input, echoed for fields we don't model
	freeShipping           bool            // a DiscountCodeFreeShipping (discount_freeshipping.go)
	maxShippingPrice       *cents
	destination            map[string]any // DiscountShippingDestinationSelection
}

type redeemCode struct {
	id         int64
	code       string
	discountID int64
	usage      int64
	createdAt  time.Time
}

type bulkCreation struct {
	id         int64
	discountID int64
	createdAt  time.Time
	done       bool
	codes      []bulkCode
	imported   int
	failed     int
}

type bulkCode struct {
	code   string
	errMsg string
	rc     *redeemCode
}

type subscription struct {
	id        int64
	topic     string // REST form, e.g. orders/create
	uri       string
	createdAt time.Time
}

type visit struct {
	code string
	at   time.Time
}

// Visit is one click on a storefront /discount/{code} link.
type Visit struct {
	Shop      string    `json:"shop"`
	VisitorID string    `json:"visitor_id"`
	Code      string    `json:"code"`
	Redirect  string    `json:"redirect"`
	At        time.Time `json:"at"`
	UserAgent string    `json:"user_agent"`
	IP        string    `json:"ip"`
}

func (d *discount) status(now time.Time) string {
	switch {
	case d.endsAt != nil && !d.endsAt.After(now):
		return "EXPIRED"
	case d.startsAt.After(now):
		return "SCHEDULED"
	default:
		return "ACTIVE"
	}
}

func (d *discount) usageCount() int64 {
	var n int64
	for _, c := range d.codes {
		n += c.usage
	}
	return n
}

func (d *discount) valueType() string {
	if d.freeShipping {
		return "free_shipping"
	}
	if d.percentage != nil {
		return "percentage"
	}
	return "fixed_amount"
}

// cents is an amount of money in minor units; money travels as decimal strings like Shopify's.
type cents int64

// String renders the amount as a decimal string with two places.
func (c cents) String() string {
	sign := ""
	if c < 0 {
		sign, c = "-", -c
	}
	return fmt.Sprintf("%s%d.%02d", sign, int64(c)/100, int64(c)%100)
}

func parseCents(s string) (cents, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, fmt.Errorf("empty amount")
	}
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	whole, frac, _ := strings.Cut(s, ".")
	if len(frac) > 2 {
		// round half up on the third decimal
		up := frac[2] >= '5'
		frac = frac[:2]
		c, err := parseCents(whole + "." + frac)
		if err != nil {
			return 0, err
		}
		if up {
			c++
		}
		if neg {
			c = -c
		}
		return c, nil
	}
	for len(frac) < 2 {
		frac += "0"
	}
	if whole == "" {
		whole = "0"
	}
	w, err := strconv.ParseInt(whole, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("invalid amount %q", s)
	}
	f, err := strconv.ParseInt(frac, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("invalid amount %q", s)
	}
	c := cents(w*100 + f)
	if neg {
		c = -c
	}
	return c, nil
}

// moneySet is the REST *_set money bag.
func moneySet(c cents, shopCur, presCur string) map[string]any {
	return map[string]any{
		"shop_money":        map[string]any{"amount": c.String(), "currency_code": shopCur},
		"presentment_money": map[string]any{"amount": c.String(), "currency_code": presCur},
	}
}

// gqlMoneyBag is the GraphQL MoneyBag.
func gqlMoneyBag(c cents, shopCur, presCur string) map[string]any {
	return map[string]any{
		"shopMoney":        map[string]any{"amount": c.String(), "currencyCode": shopCur},
		"presentmentMoney": map[string]any{"amount": c.String(), "currencyCode": presCur},
	}
}

func rfc3339(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func normCode(c string) string { return strings.ToUpper(strings.TrimSpace(c)) }

// isShopDomain reports whether d looks like a myshopify domain.
func isShopDomain(d string) bool {
	name, ok := strings.CutSuffix(d, ".myshopify.com")
	if !ok || name == "" {
		return false
	}
	for i, r := range name {
		alnum := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9'
		if !alnum && (i == 0 || r != '-') {
			return false
		}
	}
	return true
}

// CreateShop creates (or re-creates after uninstall) a shop. plan is one of basic/standard, advanced, plus
// (empty = standard); it sets the GraphQL bucket.
func (s *Store) CreateShop(domain, plan string) error {
	if !isShopDomain(domain) {
		return fmt.Errorf("devstore: %q is not a myshopify domain", domain)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ensureShopLocked(domain, plan)
	return nil
}

func (s *Store) ensureShopLocked(domain, plan string) *shop {
	if sh, ok := s.shops[domain]; ok {
		if plan != "" && plan != sh.plan {
			sh.plan = plan
			sh.bucket = newBucket(plan, s.now())
		}
		sh.uninstalled = false
		return sh
	}
	if plan == "" {
		plan = PlanStandard
	}
	sh := &shop{
		id:        s.ids.id("Shop"),
		domain:    domain,
		plan:      plan,
		currency:  "USD",
		createdAt: s.now(),
		bucket:    newBucket(plan, s.now()),
		discounts: map[int64]*discount{},
		codes:     map[string]*redeemCode{},
		codesByID: map[int64]*redeemCode{},
		bulks:     map[int64]*bulkCreation{},
		orders:    map[int64]*order{},
		checkouts: map[string]*checkout{},
		customers: map[string]int64{},
		visitors:  map[string]*visit{},
	}
	s.shops[domain] = sh
	return sh
}

// SetShopCurrency sets the shop's currency (default USD).
func (s *Store) SetShopCurrency(domain, currency string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	sh, ok := s.shops[domain]
	if !ok {
		return fmt.Errorf("devstore: unknown shop %s", domain)
	}
	sh.currency = currency
	return nil
}

// RefreshCount reports how many refresh-token grants the shop has served.
func (s *Store) RefreshCount(domain string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sh, ok := s.shops[domain]; ok {
		return sh.refreshes
	}
	return 0
}

func (s *Store) shopPayloadLocked(sh *shop) map[string]any {
	return map[string]any{
		"id":                   sh.id,
		"name":                 strings.TrimSuffix(sh.domain, ".myshopify.com"),
		"email":                "owner@" + sh.domain,
		"domain":               sh.domain,
		"myshopify_domain":     sh.domain,
		"plan_name":            sh.plan,
		"plan_display_name":    planDisplay(sh.plan),
		"currency":             sh.currency,
		"created_at":           rfc3339(sh.createdAt),
		"iana_timezone":        "UTC",
		"country_code":         "US",
		"admin_graphql_api_id": gid("Shop", sh.id),
	}
}

func planDisplay(plan string) string {
	switch plan {
	case PlanAdvanced:
		return "Advanced"
	case PlanPlus:
		return "Shopify Plus"
	case PlanBasic:
		return "Basic"
	default:
		return "Shopify"
	}
}
