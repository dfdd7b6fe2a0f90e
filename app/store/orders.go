package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Order sources: how an order version reached the app.
const (
	// OrderSourceWebhook is a version delivered by an orders/* webhook.
	OrderSourceWebhook = "webhook"
	// OrderSourceReconcile is a version pulled through the Admin API by
	// reconciliation. Its summary lacks some fields (see [Order]); applying
	// it keeps the values a webhook recorded for them.
	OrderSourceReconcile = "reconcile"
)

// UpsertOutcome says what an upsert did with the incoming version.
type UpsertOutcome string

// Upsert outcomes.
const (
	// Inserted: the row did not exist and was created.
	Inserted UpsertOutcome = "inserted"
	// Updated: the incoming version was newer than or as new as the stored one
	// and replaced it.
	Updated UpsertOutcome = "updated"
	// Stale: the stored version is newer; nothing changed.
	Stale UpsertOutcome = "stale"
)

// Applied reports whether the incoming version was written.
func (o UpsertOutcome) Applied() bool { return o == Inserted || o == Updated }

// Order is the latest known version of a Shopify order. Money is in minor
// units of Currency (the shop currency). Optional amounts are nil when the
// source did not report them — reconciliation summaries carry no subtotal,
// discount or shipping amount — which is not the same as zero.
type Order struct {
	ShopID            int64
	OrderID           int64
	AdminGraphQLAPIID string
	Name              string
	// Email, CustomerID, BrowserIP and UserAgent are protected customer data;
	// customers/redact blanks them (RedactedAt).
	Email                string
	CustomerID           *int64
	CheckoutToken        string
	Currency             string
	TotalMinor           int64
	SubtotalMinor        *int64
	DiscountMinor        *int64
	ShippingMinor        *int64
	CurrentTotalMinor    *int64
	CurrentSubtotalMinor *int64
	// DiscountCodes are upper-cased (redeem codes are case-insensitive).
	DiscountCodes []string
	// NoteAttributes is the JSON array of cart attributes [{name, value}].
	NoteAttributes json.RawMessage
	LandingSite    string
	ReferringSite  string
	BrowserIP      string
	UserAgent      string
	// Country is the shipping (else billing) address's ISO country.
	Country         string
	SourceName      string
	FinancialStatus string
	Test            bool
	OrderCreatedAt  time.Time
	// OrderUpdatedAt is Shopify's updated_at: the version of this row.
	OrderUpdatedAt time.Time
	CancelledAt    *time.Time
	CancelReason   string
	// RefundedMinor is the sum of the order's recorded refunds, kept in sync
	// by UpsertOrder and UpsertRefund whichever arrives first.
	RefundedMinor int64
	// Source is how the order was first recorded (OrderSource*).
	Source string
	// FirstWebhookID is the delivery that first recorded the order,
	// LastWebhookID the one that wrote the current version. Reconciliation
	// deliveries have ids "reconcile:<order id>:<updated_at unix nanos>".
	FirstWebhookID string
	LastWebhookID  string
	RedactedAt     *time.Time
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// lockKey takes a transaction-scoped advisory lock on a business key. Orders,
// their refunds and their checkout are written by different deliveries that
// may run at the same time; without the lock two READ COMMITTED transactions
// could each miss the other's uncommitted row (a refund and its order both
// inserted, refunded_minor left 0). Hash collisions only serialize more.
func (s *Store) lockKey(ctx context.Context, key string) error {
	st := stateOf(ctx)
	if st != nil && st.locks[key] {
		return nil // held until this transaction ends
	}
	if err := s.conn(ctx).Exec(`SELECT pg_advisory_xact_lock(hashtextextended(?, 0))`, key).Error; err != nil {
		return err
	}
	if st != nil {
		if st.locks == nil {
			st.locks = map[string]bool{}
		}
		st.locks[key] = true
	}
	return nil
}

// LockOrders takes the locks of many (shop, order) pairs in one statement
// (lockKeys), for a transaction that will record or attribute them: the
// per-order lockKey calls inside it then cost nothing.
func (s *Store) LockOrders(ctx context.Context, orders [][2]int64) error {
	keys := make([]string, len(orders))
	for i, o := range orders {
		keys[i] = orderLockKey(o[0], o[1])
	}
	return s.lockKeys(ctx, keys)
}

// lockKeys takes lockKey's locks of many keys in one statement, in hash
// order (two transactions taking overlapping sets wait, they do not
// deadlock), skipping those the transaction holds.
func (s *Store) lockKeys(ctx context.Context, keys []string) error {
	st := stateOf(ctx)
	if st == nil {
		return errors.New("store: lock keys outside a transaction")
	}
	need := make([]string, 0, len(keys))
	for _, k := range keys {
		if !st.locks[k] {
			need = append(need, k)
		}
	}
	switch len(need) {
	case 0:
		return nil
	case 1:
		return s.lockKey(ctx, need[0])
	}
	err := s.conn(ctx).Exec(`SELECT count(pg_advisory_xact_lock(l.h)) FROM (SELECT DISTINCT hashtextextended(k, 0) AS h
		FROM jsonb_array_elements_text(CAST(? AS jsonb)) AS k ORDER BY 1) AS l`, textArrayJSON(need)).Error
	if err != nil {
		return fmt.Errorf("store: lock: %w", TranslateError(err))
	}
	if st.locks == nil {
		st.locks = map[string]bool{}
	}
	for _, k := range need {
		st.locks[k] = true
	}
	return nil
}

func orderLockKey(shopID, orderID int64) string {
	return "order:" + strconv.FormatInt(shopID, 10) + ":" + strconv.FormatInt(orderID, 10)
}

func checkoutLockKey(shopID int64, token string) string {
	return "checkout:" + strconv.FormatInt(shopID, 10) + ":" + token
}

// NormalizeCodes upper-cases and trims discount codes, dropping empty ones
// and repeats, keeping the first-seen order.
func NormalizeCodes(codes []string) []string {
	out := make([]string, 0, len(codes))
	seen := make(map[string]bool, len(codes))
	for _, c := range codes {
		c = strings.ToUpper(strings.TrimSpace(c))
		if c == "" || seen[c] {
			continue
		}
		seen[c] = true
		out = append(out, c)
	}
	return out
}

// textArrayJSON encodes a string list for `ARRAY(SELECT ... jsonb ...)`: gorm
// would expand a Go slice into a parenthesised list, not a text[].
func textArrayJSON(v []string) string {
	if v == nil {
		v = []string{}
	}
	return jsonArg(v)
}

// textArrayFromJSON is the SQL expression turning a JSON array parameter into
// a text[] that keeps its order.
const textArrayFromJSON = `ARRAY(SELECT v FROM jsonb_array_elements_text(CAST(? AS jsonb)) WITH ORDINALITY AS t(v, i) ORDER BY i)`

// piiOrKeep sets a column from the incoming version unless the row was
// redacted (then blank stays blank) or the incoming version is a
// reconciliation summary that does not carry the column.
func piiOrKeep(table, col, blank string) string {
	return col + ` = CASE WHEN ` + table + `.redacted_at IS NOT NULL THEN ` + blank +
		` WHEN EXCLUDED.source = 'reconcile' THEN ` + table + `.` + col + ` ELSE EXCLUDED.` + col + ` END`
}

// keepOnReconcile sets a column from the incoming version unless it is a
// reconciliation summary, which does not carry it.
func keepOnReconcile(col string) string {
	return col + ` = CASE WHEN EXCLUDED.source = 'reconcile' THEN orders.` + col + ` ELSE EXCLUDED.` + col + ` END`
}

// upsertOrdersSQL records the versions of one or more orders (distinct
// shop and order pairs) from a JSON array of orderVersion.
var upsertOrdersSQL = `INSERT INTO orders (shop_id, order_id, admin_graphql_api_id, name, email, customer_id, checkout_token,
	currency, total_minor, subtotal_minor, discount_minor, shipping_minor, current_total_minor, current_subtotal_minor,
	discount_codes, note_attributes, landing_site, referring_site, browser_ip, user_agent, source_name, financial_status,
	test, order_created_at, order_updated_at, cancelled_at, cancel_reason, source, first_webhook_id, last_webhook_id,
	created_at, updated_at, country, refunded_minor)
SELECT v.shop_id, v.order_id, v.admin_graphql_api_id, v.name, v.email, v.customer_id, v.checkout_token,
	v.currency, v.total_minor, v.subtotal_minor, v.discount_minor, v.shipping_minor, v.current_total_minor, v.current_subtotal_minor,
	ARRAY(SELECT c FROM jsonb_array_elements_text(v.discount_codes) WITH ORDINALITY AS t(c, i) ORDER BY i), v.note_attributes,
	v.landing_site, v.referring_site, v.browser_ip, v.user_agent, v.source_name, v.financial_status,
	v.test, v.order_created_at, v.order_updated_at, v.cancelled_at, v.cancel_reason, v.source, v.webhook_id, v.webhook_id,
	CAST(? AS timestamptz), CAST(? AS timestamptz), v.country,
	-- Refunds recorded before this version (even before the order): the
	-- sum is taken here, under the order's lock, not by a second statement.
	(SELECT COALESCE(SUM(r.amount_minor), 0) FROM refunds r WHERE r.shop_id = v.shop_id AND r.order_id = v.order_id)
FROM jsonb_to_recordset(CAST(? AS jsonb)) AS v(shop_id bigint, order_id bigint, admin_graphql_api_id text, name text, email text,
	customer_id bigint, checkout_token text, currency text, total_minor bigint, subtotal_minor bigint, discount_minor bigint,
	shipping_minor bigint, current_total_minor bigint, current_subtotal_minor bigint, discount_codes jsonb, note_attributes jsonb,
	landing_site text, referring_site text, browser_ip text, user_agent text, source_name text, financial_status text, test boolean,
	order_created_at timestamptz, order_updated_at timestamptz, cancelled_at timestamptz, cancel_reason text, source text,
	webhook_id text, country text)
ORDER BY v.shop_id, v.order_id
ON CONFLICT (shop_id, order_id) DO UPDATE SET
	admin_graphql_api_id = COALESCE(NULLIF(EXCLUDED.admin_graphql_api_id, ''), orders.admin_graphql_api_id),
	name = COALESCE(NULLIF(EXCLUDED.name, ''), orders.name),
	` + piiOrKeep("orders", "email", "''") + `,
	` + piiOrKeep("orders", "customer_id", "NULL") + `,
	` + piiOrKeep("orders", "browser_ip", "''") + `,
	` + piiOrKeep("orders", "user_agent", "''") + `,
	` + keepOnReconcile("checkout_token") + `,
	currency = EXCLUDED.currency,
	total_minor = EXCLUDED.total_minor,
	` + keepOnReconcile("subtotal_minor") + `,
	` + keepOnReconcile("discount_minor") + `,
	` + keepOnReconcile("shipping_minor") + `,
	current_total_minor = COALESCE(EXCLUDED.current_total_minor, orders.current_total_minor),
	current_subtotal_minor = COALESCE(EXCLUDED.current_subtotal_minor, orders.current_subtotal_minor),
	discount_codes = EXCLUDED.discount_codes,
	` + piiOrKeep("orders", "note_attributes", "'[]'::jsonb") + `,
	` + keepOnReconcile("landing_site") + `,
	` + keepOnReconcile("referring_site") + `,
	source_name = COALESCE(NULLIF(EXCLUDED.source_name, ''), orders.source_name),
	country = COALESCE(NULLIF(EXCLUDED.country, ''), orders.country),
	financial_status = COALESCE(NULLIF(EXCLUDED.financial_status, ''), orders.financial_status),
	test = EXCLUDED.test,
	order_created_at = EXCLUDED.order_created_at,
	order_updated_at = EXCLUDED.order_updated_at,
	-- Shopify cannot un-cancel an order: a cancellation, once seen, stays.
	cancelled_at = COALESCE(EXCLUDED.cancelled_at, orders.cancelled_at),
	cancel_reason = COALESCE(NULLIF(EXCLUDED.cancel_reason, ''), orders.cancel_reason),
	last_webhook_id = EXCLUDED.last_webhook_id,
	refunded_minor = EXCLUDED.refunded_minor,
	updated_at = EXCLUDED.updated_at
WHERE orders.order_updated_at <= EXCLUDED.order_updated_at
RETURNING (xmax = 0), (SELECT count(*) FROM refunds r WHERE r.shop_id = orders.shop_id AND r.order_id = orders.order_id), ` + orderCols

// UpsertOrder records a version of an order: it inserts the order, or
// replaces the stored version when o.OrderUpdatedAt is newer than or equal to
// it. An older version (a late or reordered orders/updated) is ignored and
// reported Stale, so an order never rolls back. A reconciliation version
// (Source OrderSourceReconcile) keeps the stored values of the fields its
// summary lacks. On every applied version the order's refunded_minor is
// recomputed from refunds recorded before it, and the checkout it came from
// (CheckoutToken) is marked completed. o.LastWebhookID names the delivery; it
// also becomes FirstWebhookID of a new row.
func (s *Store) UpsertOrder(ctx context.Context, o *Order, now time.Time) (UpsertOutcome, error) {
	r, err := s.RecordOrder(ctx, o, now)
	return r.Outcome, err
}

// OrderRecorded is what RecordOrder did.
type OrderRecorded struct {
	Outcome UpsertOutcome
	// Stored is the order as the upsert left it (nil when Stale), and
	// Refunds how many refunds of it were recorded then.
	Stored  *Order
	Refunds int
}

// RecordOrder is UpsertOrder, also returning the stored row and its refund
// count from the same statement.
func (s *Store) RecordOrder(ctx context.Context, o *Order, now time.Time) (OrderRecorded, error) {
	rs, err := s.RecordOrders(ctx, []*Order{o}, now)
	if err != nil {
		return OrderRecorded{}, err
	}
	return rs[0], nil
}

// orderVersion is one row of upsertOrdersSQL's JSON array.
type orderVersion struct {
	ShopID               int64           `json:"shop_id"`
	OrderID              int64           `json:"order_id"`
	AdminGraphQLAPIID    string          `json:"admin_graphql_api_id"`
	Name                 string          `json:"name"`
	Email                string          `json:"email"`
	CustomerID           *int64          `json:"customer_id"`
	CheckoutToken        string          `json:"checkout_token"`
	Currency             string          `json:"currency"`
	TotalMinor           int64           `json:"total_minor"`
	SubtotalMinor        *int64          `json:"subtotal_minor"`
	DiscountMinor        *int64          `json:"discount_minor"`
	ShippingMinor        *int64          `json:"shipping_minor"`
	CurrentTotalMinor    *int64          `json:"current_total_minor"`
	CurrentSubtotalMinor *int64          `json:"current_subtotal_minor"`
	DiscountCodes        []string        `json:"discount_codes"`
	NoteAttributes       json.RawMessage `json:"note_attributes"`
	LandingSite          string          `json:"landing_site"`
	ReferringSite        string          `json:"referring_site"`
	BrowserIP            string          `json:"browser_ip"`
	UserAgent            string          `json:"user_agent"`
	SourceName           string          `json:"source_name"`
	FinancialStatus      string          `json:"financial_status"`
	Test                 bool            `json:"test"`
	OrderCreatedAt       time.Time       `json:"order_created_at"`
	OrderUpdatedAt       time.Time       `json:"order_updated_at"`
	CancelledAt          *time.Time      `json:"cancelled_at"`
	CancelReason         string          `json:"cancel_reason"`
	Source               string          `json:"source"`
	WebhookID            string          `json:"webhook_id"`
	Country              string          `json:"country"`
}

// RecordOrders records versions of several orders (distinct shop and order
// pairs) in one statement, under their locks, and returns what RecordOrder
// would have for each, in order.
func (s *Store) RecordOrders(ctx context.Context, orders []*Order, now time.Time) ([]OrderRecorded, error) {
	vs := make([]orderVersion, len(orders))
	keys := make([]string, 0, 2*len(orders))
	at := make(map[[2]int64]int, len(orders))
	for i, o := range orders {
		if o.Source != OrderSourceWebhook && o.Source != OrderSourceReconcile {
			return nil, fmt.Errorf("store: upsert order %d: unknown source %q", o.OrderID, o.Source)
		}
		k := [2]int64{o.ShopID, o.OrderID}
		if _, dup := at[k]; dup {
			return nil, fmt.Errorf("store: upsert order %d of shop %d: twice in one statement", o.OrderID, o.ShopID)
		}
		at[k] = i
		notes := o.NoteAttributes
		if len(notes) == 0 {
			notes = json.RawMessage(`[]`)
		}
		// Times as PostgreSQL keeps them (microseconds, truncated as a
		// bound parameter is).
		var cancelled *time.Time
		if o.CancelledAt != nil {
			t := o.CancelledAt.Truncate(time.Microsecond)
			cancelled = &t
		}
		vs[i] = orderVersion{ShopID: o.ShopID, OrderID: o.OrderID, AdminGraphQLAPIID: o.AdminGraphQLAPIID, Name: o.Name, Email: o.Email,
			CustomerID: o.CustomerID, CheckoutToken: o.CheckoutToken, Currency: o.Currency, TotalMinor: o.TotalMinor,
			SubtotalMinor: o.SubtotalMinor, DiscountMinor: o.DiscountMinor, ShippingMinor: o.ShippingMinor,
			CurrentTotalMinor: o.CurrentTotalMinor, CurrentSubtotalMinor: o.CurrentSubtotalMinor,
			DiscountCodes: NormalizeCodes(o.DiscountCodes), NoteAttributes: notes, LandingSite: o.LandingSite, ReferringSite: o.ReferringSite,
			BrowserIP: o.BrowserIP, UserAgent: o.UserAgent, SourceName: o.SourceName, FinancialStatus: o.FinancialStatus, Test: o.Test,
			OrderCreatedAt: o.OrderCreatedAt.Truncate(time.Microsecond), OrderUpdatedAt: o.OrderUpdatedAt.Truncate(time.Microsecond),
			CancelledAt: cancelled, CancelReason: o.CancelReason, Source: o.Source, WebhookID: o.LastWebhookID, Country: o.Country}
		keys = append(keys, orderLockKey(o.ShopID, o.OrderID))
		if o.CheckoutToken != "" {
			keys = append(keys, checkoutLockKey(o.ShopID, o.CheckoutToken))
		}
	}
	b, err := json.Marshal(vs)
	if err != nil {
		return nil, fmt.Errorf("store: upsert orders: %w", err)
	}
	out := make([]OrderRecorded, len(orders))
	for i := range out {
		out[i].Outcome = Stale
	}
	err = s.InTx(ctx, func(ctx context.Context) error {
		if err := s.lockKeys(ctx, keys); err != nil {
			return err
		}
		rows, err := s.conn(ctx).Raw(upsertOrdersSQL, now, now, string(b)).Rows()
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var inserted bool
			var refunds int
			stored, err := scanOrder(rows, &inserted, &refunds)
			if err != nil {
				return err
			}
			i := at[[2]int64{stored.ShopID, stored.OrderID}]
			out[i] = OrderRecorded{Outcome: Updated, Stored: stored, Refunds: refunds}
			if inserted {
				out[i].Outcome = Inserted
			}
		}
		if err := rows.Err(); err != nil {
			return err
		}
		rows.Close()
		// A checkout that became an applied order is not abandoned (the
		// first order of a token wins, as one by one).
		type done struct {
			ShopID  int64     `json:"shop_id"`
			Token   string    `json:"token"`
			OrderID int64     `json:"order_id"`
			At      time.Time `json:"at"`
		}
		var ds []done
		seen := map[string]bool{}
		for i, o := range orders {
			k := checkoutLockKey(o.ShopID, o.CheckoutToken)
			if o.CheckoutToken == "" || !out[i].Outcome.Applied() || seen[k] {
				continue
			}
			seen[k] = true
			ds = append(ds, done{ShopID: o.ShopID, Token: o.CheckoutToken, OrderID: o.OrderID, At: o.OrderCreatedAt.Truncate(time.Microsecond)})
		}
		if len(ds) == 0 {
			return nil
		}
		return s.conn(ctx).Exec(`UPDATE checkouts c SET completed_at = COALESCE(c.completed_at, v.at), order_id = COALESCE(c.order_id, v.order_id), updated_at = ?
			FROM jsonb_to_recordset(CAST(? AS jsonb)) AS v(shop_id bigint, token text, order_id bigint, at timestamptz)
			WHERE c.shop_id = v.shop_id AND c.token = v.token AND (c.completed_at IS NULL OR c.order_id IS NULL)`, now, jsonArg(ds)).Error
	})
	if err != nil {
		if len(orders) == 1 {
			return nil, fmt.Errorf("store: upsert order %d of shop %d: %w", orders[0].OrderID, orders[0].ShopID, TranslateError(err))
		}
		return nil, fmt.Errorf("store: upsert %d orders: %w", len(orders), TranslateError(err))
	}
	return out, nil
}

// recomputeRefunded sets an order's refunded_minor to the sum of its
// recorded refunds. Callers hold the order's lock.
func (s *Store) recomputeRefunded(ctx context.Context, shopID, orderID int64, now time.Time) error {
	return s.conn(ctx).Exec(`UPDATE orders o SET refunded_minor = r.total, updated_at = ?
		FROM (SELECT COALESCE(SUM(amount_minor), 0) AS total FROM refunds WHERE shop_id = ? AND order_id = ?) r
		WHERE o.shop_id = ? AND o.order_id = ? AND o.refunded_minor <> r.total`, now, shopID, orderID, shopID, orderID).Error
}

// MarkOrderCancelled records that an order was cancelled at (the first
// cancellation time seen wins) with reason, whatever the stored version:
// orders/cancelled must void the order even when a newer orders/updated was
// applied first. It does nothing when the order is not recorded.
func (s *Store) MarkOrderCancelled(ctx context.Context, shopID, orderID int64, at time.Time, reason string, now time.Time) error {
	err := s.conn(ctx).Exec(`UPDATE orders SET cancelled_at = COALESCE(cancelled_at, ?),
		cancel_reason = CASE WHEN cancel_reason = '' THEN ? ELSE cancel_reason END, updated_at = ?
		WHERE shop_id = ? AND order_id = ? AND (cancelled_at IS NULL OR (cancel_reason = '' AND ? <> ''))`,
		at, reason, now, shopID, orderID, reason).Error
	if err != nil {
		return fmt.Errorf("store: cancel order %d of shop %d: %w", orderID, shopID, TranslateError(err))
	}
	return nil
}

const orderCols = `shop_id, order_id, admin_graphql_api_id, name, email, customer_id, checkout_token, currency,
	total_minor, subtotal_minor, discount_minor, shipping_minor, current_total_minor, current_subtotal_minor,
	array_to_json(discount_codes)::text, note_attributes::text, landing_site, referring_site, browser_ip, user_agent,
	source_name, financial_status, test, order_created_at, order_updated_at, cancelled_at, cancel_reason, refunded_minor,
	source, first_webhook_id, last_webhook_id, redacted_at, created_at, updated_at, country`

// scanOrder scans orderCols, after lead (destinations of columns before).
func scanOrder(rows *sql.Rows, lead ...any) (*Order, error) {
	var o Order
	var codes, notes string
	err := rows.Scan(append(lead, &o.ShopID, &o.OrderID, &o.AdminGraphQLAPIID, &o.Name, &o.Email, &o.CustomerID, &o.CheckoutToken, &o.Currency,
		&o.TotalMinor, &o.SubtotalMinor, &o.DiscountMinor, &o.ShippingMinor, &o.CurrentTotalMinor, &o.CurrentSubtotalMinor,
		&codes, &notes, &o.LandingSite, &o.ReferringSite, &o.BrowserIP, &o.UserAgent,
		&o.SourceName, &o.FinancialStatus, &o.Test, &o.OrderCreatedAt, &o.OrderUpdatedAt, &o.CancelledAt, &o.CancelReason, &o.RefundedMinor,
		&o.Source, &o.FirstWebhookID, &o.LastWebhookID, &o.RedactedAt, &o.CreatedAt, &o.UpdatedAt, &o.Country)...)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(codes), &o.DiscountCodes); err != nil {
		return nil, fmt.Errorf("discount_codes: %w", err)
	}
	if o.DiscountCodes == nil {
		o.DiscountCodes = []string{}
	}
	o.NoteAttributes = json.RawMessage(notes)
	return &o, nil
}

func (s *Store) queryOrders(ctx context.Context, q string, args ...any) ([]Order, error) {
	rows, err := s.conn(ctx).Raw(q, args...).Rows()
	if err != nil {
		return nil, TranslateError(err)
	}
	defer rows.Close()
	var out []Order
	for rows.Next() {
		o, err := scanOrder(rows)
		if err != nil {
			return nil, TranslateError(err)
		}
		out = append(out, *o)
	}
	return out, TranslateError(rows.Err())
}

// OrderByID loads one of a shop's orders by Shopify order id.
func (s *Store) OrderByID(ctx context.Context, shopID, orderID int64) (*Order, error) {
	out, err := s.queryOrders(ctx, `SELECT `+orderCols+` FROM orders WHERE shop_id = ? AND order_id = ?`, shopID, orderID)
	if err != nil {
		return nil, fmt.Errorf("store: order %d of shop %d: %w", orderID, shopID, err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("store: order %d of shop %d: %w", orderID, shopID, ErrNotFound)
	}
	return &out[0], nil
}

// OrdersUpdatedSince lists a shop's orders whose Shopify updated_at is at or
// after since, oldest update first (ties by order id), at most limit (default
// and cap 1000). Page by passing the last row's OrderUpdatedAt as since and
// its OrderID as afterOrderID (0 for the first page).
func (s *Store) OrdersUpdatedSince(ctx context.Context, shopID int64, since time.Time, afterOrderID int64, limit int) ([]Order, error) {
	if limit <= 0 || limit > 1000 {
		limit = 1000
	}
	out, err := s.queryOrders(ctx, `SELECT `+orderCols+` FROM orders
		WHERE shop_id = ? AND (order_updated_at > ? OR (order_updated_at = ? AND order_id > ?))
		ORDER BY order_updated_at, order_id LIMIT ?`, shopID, since, since, afterOrderID, limit)
	if err != nil {
		return nil, fmt.Errorf("store: orders of shop %d updated since %s: %w", shopID, since.Format(time.RFC3339), err)
	}
	return out, nil
}

// KnownOrderVersions returns, for those of orderIDs the shop has recorded,
// the Shopify updated_at of the stored version. Reconciliation skips an order
// whose stored version is at least as new as the one Shopify reports.
func (s *Store) KnownOrderVersions(ctx context.Context, shopID int64, orderIDs []int64) (map[int64]time.Time, error) {
	out := make(map[int64]time.Time, len(orderIDs))
	if len(orderIDs) == 0 {
		return out, nil
	}
	rows, err := s.conn(ctx).Raw(`SELECT order_id, order_updated_at FROM orders WHERE shop_id = ? AND order_id IN ?`, shopID, orderIDs).Rows()
	if err != nil {
		return nil, fmt.Errorf("store: known order versions: %w", TranslateError(err))
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var at time.Time
		if err := rows.Scan(&id, &at); err != nil {
			return nil, fmt.Errorf("store: known order versions: %w", TranslateError(err))
		}
		out[id] = at
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: known order versions: %w", TranslateError(err))
	}
	return out, nil
}

// Refund is one recorded Shopify refund. It may exist before its order.
type Refund struct {
	ShopID   int64
	RefundID int64
	OrderID  int64
	// AmountMinor is the money returned to the buyer, in Currency (the shop
	// currency); the order's refunded_minor is the sum of these.
	AmountMinor int64
	// LinesSubtotalMinor is the refunded lines' subtotal after discounts and
	// before tax: the usual commission claw-back base.
	LinesSubtotalMinor int64
	Currency           string
	RefundCreatedAt    time.Time
	WebhookID          string
	CreatedAt          time.Time
	UpdatedAt          time.Time
}

// UpsertRefund records a refund, idempotently: the same refund recorded again
// (a repeated delivery, or the copy embedded in an orders/updated payload)
// changes nothing unless its amounts differ. Then it recomputes the order's
// refunded_minor when the order is recorded; when it is not yet, UpsertOrder
// does it on arrival. It reports whether the refund was new.
func (s *Store) UpsertRefund(ctx context.Context, r *Refund, now time.Time) (bool, error) {
	var inserted bool
	err := s.InTx(ctx, func(ctx context.Context) error {
		if err := s.lockKey(ctx, orderLockKey(r.ShopID, r.OrderID)); err != nil {
			return err
		}
		rows, err := s.conn(ctx).Raw(`INSERT INTO refunds (shop_id, refund_id, order_id, amount_minor, lines_subtotal_minor, currency,
			refund_created_at, webhook_id, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?)
			ON CONFLICT (shop_id, refund_id) DO UPDATE SET amount_minor = EXCLUDED.amount_minor,
				lines_subtotal_minor = EXCLUDED.lines_subtotal_minor, currency = EXCLUDED.currency,
				refund_created_at = EXCLUDED.refund_created_at, updated_at = EXCLUDED.updated_at
			WHERE (refunds.amount_minor, refunds.lines_subtotal_minor, refunds.currency, refunds.refund_created_at)
				IS DISTINCT FROM (EXCLUDED.amount_minor, EXCLUDED.lines_subtotal_minor, EXCLUDED.currency, EXCLUDED.refund_created_at)
			RETURNING (xmax = 0)`,
			r.ShopID, r.RefundID, r.OrderID, r.AmountMinor, r.LinesSubtotalMinor, r.Currency, r.RefundCreatedAt, r.WebhookID, now, now).Rows()
		if err != nil {
			return err
		}
		defer rows.Close()
		if rows.Next() {
			if err := rows.Scan(&inserted); err != nil {
				return err
			}
		}
		if err := rows.Err(); err != nil {
			return err
		}
		rows.Close()
		return s.recomputeRefunded(ctx, r.ShopID, r.OrderID, now)
	})
	if err != nil {
		return false, fmt.Errorf("store: upsert refund %d of shop %d: %w", r.RefundID, r.ShopID, TranslateError(err))
	}
	return inserted, nil
}

// RefundsForOrder lists the recorded refunds of an order, oldest first.
func (s *Store) RefundsForOrder(ctx context.Context, shopID, orderID int64) ([]Refund, error) {
	rows, err := s.conn(ctx).Raw(`SELECT shop_id, refund_id, order_id, amount_minor, lines_subtotal_minor, currency, refund_created_at,
		webhook_id, created_at, updated_at FROM refunds WHERE shop_id = ? AND order_id = ? ORDER BY refund_created_at, refund_id`, shopID, orderID).Rows()
	if err != nil {
		return nil, fmt.Errorf("store: refunds of order %d: %w", orderID, TranslateError(err))
	}
	defer rows.Close()
	var out []Refund
	for rows.Next() {
		var r Refund
		if err := rows.Scan(&r.ShopID, &r.RefundID, &r.OrderID, &r.AmountMinor, &r.LinesSubtotalMinor, &r.Currency, &r.RefundCreatedAt,
			&r.WebhookID, &r.CreatedAt, &r.UpdatedAt); err != nil {
			return nil, fmt.Errorf("store: refunds of order %d: %w", orderID, TranslateError(err))
		}
		out = append(out, r)
	}
	return out, TranslateError(rows.Err())
}

// Checkout is the latest known version of a checkout, keyed by token.
type Checkout struct {
	ShopID    int64
	Token     string
	CartToken string
	// Email and CustomerID are protected customer data (blanked by redaction).
	Email                string
	CustomerID           *int64
	Currency             string
	TotalMinor           int64
	DiscountCodes        []string
	AbandonedCheckoutURL string
	// CompletedAt is set once the checkout became an order (from the payload,
	// or when an order with this checkout_token was recorded); OrderID then
	// names the order when known.
	CompletedAt       *time.Time
	OrderID           *int64
	CheckoutCreatedAt time.Time
	// CheckoutUpdatedAt is Shopify's updated_at: the version of this row.
	CheckoutUpdatedAt time.Time
	RedactedAt        *time.Time
	CreatedAt         time.Time
	UpdatedAt         time.Time
}

// UpsertCheckout records a version of a checkout under the same rule as
// orders: a version older than the stored one is ignored (Stale). A checkout
// whose order is already recorded is stored completed, and completion, once
// known, is never cleared by a later version.
func (s *Store) UpsertCheckout(ctx context.Context, c *Checkout, now time.Time) (UpsertOutcome, error) {
	outcome := Stale
	err := s.InTx(ctx, func(ctx context.Context) error {
		if err := s.lockKey(ctx, checkoutLockKey(c.ShopID, c.Token)); err != nil {
			return err
		}
		rows, err := s.conn(ctx).Raw(`WITH o AS (
				SELECT order_id, order_created_at FROM orders WHERE shop_id = ? AND checkout_token = ? AND checkout_token <> '' ORDER BY order_created_at LIMIT 1)
			INSERT INTO checkouts (shop_id, token, cart_token, email, customer_id, currency, total_minor, discount_codes,
				abandoned_checkout_url, completed_at, order_id, checkout_created_at, checkout_updated_at, created_at, updated_at)
			VALUES (?,?,?,?,?,?,?,`+textArrayFromJSON+`,?, COALESCE(?, (SELECT order_created_at FROM o)), (SELECT order_id FROM o),?,?,?,?)
			ON CONFLICT (shop_id, token) DO UPDATE SET
				cart_token = COALESCE(NULLIF(EXCLUDED.cart_token, ''), checkouts.cart_token),
				email = CASE WHEN checkouts.redacted_at IS NOT NULL THEN '' ELSE EXCLUDED.email END,
				customer_id = CASE WHEN checkouts.redacted_at IS NOT NULL THEN NULL ELSE EXCLUDED.customer_id END,
				currency = EXCLUDED.currency,
				total_minor = EXCLUDED.total_minor,
				discount_codes = EXCLUDED.discount_codes,
				abandoned_checkout_url = CASE WHEN checkouts.redacted_at IS NOT NULL THEN '' ELSE EXCLUDED.abandoned_checkout_url END,
				completed_at = COALESCE(checkouts.completed_at, EXCLUDED.completed_at),
				order_id = COALESCE(checkouts.order_id, EXCLUDED.order_id),
				checkout_created_at = EXCLUDED.checkout_created_at,
				checkout_updated_at = EXCLUDED.checkout_updated_at,
				updated_at = EXCLUDED.updated_at
			WHERE checkouts.checkout_updated_at <= EXCLUDED.checkout_updated_at
			RETURNING (xmax = 0)`,
			c.ShopID, c.Token,
			c.ShopID, c.Token, c.CartToken, c.Email, c.CustomerID, c.Currency, c.TotalMinor, textArrayJSON(NormalizeCodes(c.DiscountCodes)),
			c.AbandonedCheckoutURL, c.CompletedAt, c.CheckoutCreatedAt, c.CheckoutUpdatedAt, now, now).Rows()
		if err != nil {
			return err
		}
		defer rows.Close()
		if rows.Next() {
			var inserted bool
			if err := rows.Scan(&inserted); err != nil {
				return err
			}
			outcome = Updated
			if inserted {
				outcome = Inserted
			}
		}
		return rows.Err()
	})
	if err != nil {
		return "", fmt.Errorf("store: upsert checkout %s of shop %d: %w", c.Token, c.ShopID, TranslateError(err))
	}
	return outcome, nil
}

// CheckoutByToken loads one of a shop's checkouts.
func (s *Store) CheckoutByToken(ctx context.Context, shopID int64, token string) (*Checkout, error) {
	rows, err := s.conn(ctx).Raw(`SELECT shop_id, token, cart_token, email, customer_id, currency, total_minor,
		array_to_json(discount_codes)::text, abandoned_checkout_url, completed_at, order_id, checkout_created_at, checkout_updated_at,
		redacted_at, created_at, updated_at FROM checkouts WHERE shop_id = ? AND token = ?`, shopID, token).Rows()
	if err != nil {
		return nil, fmt.Errorf("store: checkout %s: %w", token, TranslateError(err))
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("store: checkout %s: %w", token, TranslateError(err))
		}
		return nil, fmt.Errorf("store: checkout %s: %w", token, ErrNotFound)
	}
	var c Checkout
	var codes string
	if err := rows.Scan(&c.ShopID, &c.Token, &c.CartToken, &c.Email, &c.CustomerID, &c.Currency, &c.TotalMinor, &codes,
		&c.AbandonedCheckoutURL, &c.CompletedAt, &c.OrderID, &c.CheckoutCreatedAt, &c.CheckoutUpdatedAt,
		&c.RedactedAt, &c.CreatedAt, &c.UpdatedAt); err != nil {
		return nil, fmt.Errorf("store: checkout %s: %w", token, TranslateError(err))
	}
	if err := json.Unmarshal([]byte(codes), &c.DiscountCodes); err != nil {
		return nil, fmt.Errorf("store: checkout %s: discount_codes: %w", token, err)
	}
	return &c, nil
}

// ReconcileState is how far order reconciliation has read a shop.
type ReconcileState struct {
	ShopID int64
	// OrdersWatermark is the newest Shopify updated_at reconciliation has
	// recorded; the next run reads from it minus an overlap.
	OrdersWatermark time.Time
	LastRunAt       time.Time
}

// ReconcileStateOf loads a shop's reconciliation state; ErrNotFound before
// the first run.
func (s *Store) ReconcileStateOf(ctx context.Context, shopID int64) (*ReconcileState, error) {
	var st ReconcileState
	rows, err := s.conn(ctx).Raw(`SELECT shop_id, orders_watermark, last_run_at FROM reconcile_state WHERE shop_id = ?`, shopID).Rows()
	if err != nil {
		return nil, fmt.Errorf("store: reconcile state of shop %d: %w", shopID, TranslateError(err))
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("store: reconcile state of shop %d: %w", shopID, TranslateError(err))
		}
		return nil, fmt.Errorf("store: reconcile state of shop %d: %w", shopID, ErrNotFound)
	}
	if err := rows.Scan(&st.ShopID, &st.OrdersWatermark, &st.LastRunAt); err != nil {
		return nil, fmt.Errorf("store: reconcile state of shop %d: %w", shopID, TranslateError(err))
	}
	return &st, nil
}

// AdvanceReconcileWatermark records a reconciliation run: the watermark moves
// to watermark only if that is later than the stored one (two overlapping
// runs never move it back); last_run_at becomes runAt.
func (s *Store) AdvanceReconcileWatermark(ctx context.Context, shopID int64, watermark, runAt time.Time) error {
	err := s.conn(ctx).Exec(`INSERT INTO reconcile_state (shop_id, orders_watermark, last_run_at) VALUES (?,?,?)
		ON CONFLICT (shop_id) DO UPDATE SET orders_watermark = GREATEST(reconcile_state.orders_watermark, EXCLUDED.orders_watermark),
			last_run_at = EXCLUDED.last_run_at`, shopID, watermark, runAt).Error
	if err != nil {
		return fmt.Errorf("store: advance reconcile watermark of shop %d: %w", shopID, TranslateError(err))
	}
	return nil
}

// customerOrderMatch selects a customer's rows in orders or checkouts by
// customer id or email (case-insensitive); an empty key part matches nothing.
const customerOrderMatch = `shop_id = ? AND ((? <> '' AND customer_id::text = ?) OR (? <> '' AND lower(email) = lower(?)))`

func customerOrderArgs(shopID int64, k CustomerKey) []any {
	return []any{shopID, k.ID, k.ID, k.Email, k.Email}
}

// customerOrderData returns, as JSON arrays, the orders and checkouts stored
// for a customer (customers/data_request). Ids are strings: they exceed 2^53.
func (s *Store) customerOrderData(ctx context.Context, shopID int64, k CustomerKey) (orders, checkouts json.RawMessage, err error) {
	var o, c string
	err = s.conn(ctx).Raw(`SELECT COALESCE(json_agg(json_build_object('order_id', order_id::text, 'name', name, 'email', email,
		'customer_id', customer_id::text, 'created_at', order_created_at, 'updated_at', order_updated_at, 'currency', currency,
		'total_minor', total_minor, 'refunded_minor', refunded_minor, 'discount_codes', discount_codes,
		'note_attributes', note_attributes, 'landing_site', landing_site, 'referring_site', referring_site,
		'browser_ip', browser_ip, 'user_agent', user_agent, 'cancelled_at', cancelled_at) ORDER BY order_created_at, order_id), '[]')::text
		FROM orders WHERE `+customerOrderMatch, customerOrderArgs(shopID, k)...).Row().Scan(&o)
	if err != nil {
		return nil, nil, TranslateError(err)
	}
	err = s.conn(ctx).Raw(`SELECT COALESCE(json_agg(json_build_object('token', token, 'email', email,
		'customer_id', customer_id::text, 'created_at', checkout_created_at, 'updated_at', checkout_updated_at, 'currency', currency,
		'total_minor', total_minor, 'discount_codes', discount_codes, 'abandoned_checkout_url', abandoned_checkout_url,
		'completed_at', completed_at) ORDER BY checkout_created_at, token), '[]')::text
		FROM checkouts WHERE `+customerOrderMatch, customerOrderArgs(shopID, k)...).Row().Scan(&c)
	if err != nil {
		return nil, nil, TranslateError(err)
	}
	return json.RawMessage(o), json.RawMessage(c), nil
}

// redactCustomerOrders erases a customer's personal data from orders and
// checkouts (customers/redact) and returns how many rows it changed. The
// rows stay, de-identified, for attribution and payouts (§2.5): email,
// customer id, IP, user agent and cart attributes are dropped; later versions
// of a redacted order do not bring them back (UpsertOrder).
func (s *Store) redactCustomerOrders(ctx context.Context, shopID int64, k CustomerKey) (int64, error) {
	res := s.conn(ctx).Exec(`UPDATE orders SET email = '', customer_id = NULL, browser_ip = '', user_agent = '',
		note_attributes = '[]'::jsonb, redacted_at = COALESCE(redacted_at, now()), updated_at = now() WHERE `+customerOrderMatch,
		customerOrderArgs(shopID, k)...)
	if res.Error != nil {
		return 0, res.Error
	}
	n := res.RowsAffected
	res = s.conn(ctx).Exec(`UPDATE checkouts SET email = '', customer_id = NULL, abandoned_checkout_url = '',
		redacted_at = COALESCE(redacted_at, now()), updated_at = now() WHERE `+customerOrderMatch,
		customerOrderArgs(shopID, k)...)
	if res.Error != nil {
		return 0, res.Error
	}
	return n + res.RowsAffected, nil
}
