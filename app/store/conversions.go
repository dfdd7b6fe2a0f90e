package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Conversion statuses (the attribution package's, repeated here so the store
// can filter without importing a domain package).
const (
	ConversionHeld     = "held"
	ConversionApproved = "approved"
	ConversionRejected = "rejected"
	ConversionReversed = "reversed"
	ConversionPaid     = "paid"
)

// SubjectConversion is the ledger_entries.subject_type of conversion entries.
const SubjectConversion = "conversion"

// Conversion is the credit of one order (unique per shop and order). Money is
// in minor units of Currency; the *Minor fields are sums of Lines' current
// amounts and Original* of their original amounts. Lines, Evidence, Path and
// Fraud are JSON documents the attribution job owns.
type Conversion struct {
	ID             int64
	ShopID         int64
	OrderID        int64
	OrderName      string
	OrderCreatedAt time.Time
	// OrderVersion is the orders.order_updated_at the job last saw.
	OrderVersion    time.Time
	Status          string
	StatusReason    string
	Attributed      bool
	Policy          string
	Rule            string
	CampaignID      *int64
	PartnerID       *int64
	Channel         string
	Code            string
	ClickID         string
	Codes           []string
	Currency        string
	GrossMinor      int64
	NetMinor        int64
	DiscountMinor   int64
	CommissionMinor int64
	OriginalGross   int64
	OriginalNet     int64
	OriginalDisc    int64
	OriginalComm    int64
	OrderNetMinor   int64
	RefundedMinor   int64
	ClawbackMinor   int64
	// AppliedRefunds are the Shopify refund ids already applied.
	AppliedRefunds []int64
	HoldUntil      time.Time
	Evidence       json.RawMessage
	Lines          json.RawMessage
	Path           json.RawMessage
	Fraud          json.RawMessage
	AttributedAt   time.Time
	ApprovedAt     *time.Time
	RejectedAt     *time.Time
	ReversedAt     *time.Time
	PaidAt         *time.Time
	StatementID    *int64
	Version        int
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

const conversionCols = `id, shop_id, order_id, order_name, order_created_at, order_version, status, status_reason, attributed,
	policy, rule, campaign_id, partner_id, channel, code, click_id, array_to_json(codes)::text, currency,
	gross_minor, net_minor, discount_minor, commission_minor, original_gross_minor, original_net_minor,
	original_discount_minor, original_commission_minor, order_net_minor, refunded_minor, clawback_minor,
	applied_refunds::text, hold_until, evidence::text, lines::text, path::text, fraud::text, attributed_at,
	approved_at, rejected_at, reversed_at, paid_at, statement_id, version, created_at, updated_at`

func scanConversion(rows *sql.Rows) (*Conversion, error) {
	var c Conversion
	var codes, applied, ev, lines, path, fraud string
	err := rows.Scan(&c.ID, &c.ShopID, &c.OrderID, &c.OrderName, &c.OrderCreatedAt, &c.OrderVersion, &c.Status, &c.StatusReason,
		&c.Attributed, &c.Policy, &c.Rule, &c.CampaignID, &c.PartnerID, &c.Channel, &c.Code, &c.ClickID, &codes, &c.Currency,
		&c.GrossMinor, &c.NetMinor, &c.DiscountMinor, &c.CommissionMinor, &c.OriginalGross, &c.OriginalNet,
		&c.OriginalDisc, &c.OriginalComm, &c.OrderNetMinor, &c.RefundedMinor, &c.ClawbackMinor,
		&applied, &c.HoldUntil, &ev, &lines, &path, &fraud, &c.AttributedAt,
		&c.ApprovedAt, &c.RejectedAt, &c.ReversedAt, &c.PaidAt, &c.StatementID, &c.Version, &c.CreatedAt, &c.UpdatedAt)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(codes), &c.Codes); err != nil {
		return nil, fmt.Errorf("codes: %w", err)
	}
	if err := json.Unmarshal([]byte(applied), &c.AppliedRefunds); err != nil {
		return nil, fmt.Errorf("applied_refunds: %w", err)
	}
	c.Evidence, c.Lines, c.Path, c.Fraud = json.RawMessage(ev), json.RawMessage(lines), json.RawMessage(path), json.RawMessage(fraud)
	return &c, nil
}

func (s *Store) queryConversions(ctx context.Context, q string, args ...any) ([]Conversion, error) {
	rows, err := s.conn(ctx).Raw(q, args...).Rows()
	if err != nil {
		return nil, TranslateError(err)
	}
	defer rows.Close()
	var out []Conversion
	for rows.Next() {
		c, err := scanConversion(rows)
		if err != nil {
			return nil, TranslateError(err)
		}
		out = append(out, *c)
	}
	return out, TranslateError(rows.Err())
}

// LockOrder takes the transaction-scoped lock that serializes everything
// written about one order (its versions, refunds and conversion). It must
// run inside InTx.
func (s *Store) LockOrder(ctx context.Context, shopID, orderID int64) error {
	if err := s.lockKey(ctx, orderLockKey(shopID, orderID)); err != nil {
		return fmt.Errorf("store: lock order %d: %w", orderID, TranslateError(err))
	}
	return nil
}

// ConversionByOrder loads the conversion of an order; forUpdate locks the row
// until the transaction ends.
func (s *Store) ConversionByOrder(ctx context.Context, shopID, orderID int64, forUpdate bool) (*Conversion, error) {
	q := `SELECT ` + conversionCols + ` FROM conversions WHERE shop_id = ? AND order_id = ?`
	if forUpdate {
		q += ` FOR UPDATE`
	}
	out, err := s.queryConversions(ctx, q, shopID, orderID)
	if err != nil {
		return nil, fmt.Errorf("store: conversion of order %d: %w", orderID, err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("store: conversion of order %d: %w", orderID, ErrNotFound)
	}
	return &out[0], nil
}

// ConversionByID loads one of a shop's conversions; forUpdate locks the row.
func (s *Store) ConversionByID(ctx context.Context, shopID, id int64, forUpdate bool) (*Conversion, error) {
	q := `SELECT ` + conversionCols + ` FROM conversions WHERE shop_id = ? AND id = ?`
	if forUpdate {
		q += ` FOR UPDATE`
	}
	out, err := s.queryConversions(ctx, q, shopID, id)
	if err != nil {
		return nil, fmt.Errorf("store: conversion %d: %w", id, err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("store: conversion %d: %w", id, ErrNotFound)
	}
	return &out[0], nil
}

func jsonOr(v json.RawMessage, def string) string {
	if len(v) == 0 {
		return def
	}
	return string(v)
}

func int64sJSON(v []int64) string {
	if v == nil {
		v = []int64{}
	}
	return jsonArg(v)
}

// FirstEntry is a ledger entry written with its conversion by
// InsertConversion: its subject is the new conversion and its idempotency
// key "conv:<conversion id>" + KeySuffix.
type FirstEntry struct {
	Kind        string          `json:"kind"`
	FromStatus  string          `json:"from_status"`
	ToStatus    string          `json:"to_status"`
	AmountMinor int64           `json:"amount_minor"`
	CauseType   string          `json:"cause_type"`
	CauseID     string          `json:"cause_id"`
	KeySuffix   string          `json:"key_suffix"`
	Detail      json.RawMessage `json:"detail"`
	Ord         int             `json:"ord"`
}

// InsertConversion creates c (one per order: a second insert for the same
// order is ErrConflict), setting its ID and Version, and its first ledger
// entries in the same statement (one round trip per attributed order, not
// one more per entry). The entries take c's currency and CreatedAt.
func (s *Store) InsertConversion(ctx context.Context, c *Conversion, first ...FirstEntry) error {
	return s.InsertAttributed(ctx, c, first, nil)
}

// InsertAttributed is InsertConversion that also records the order's fraud
// event (InsertFraudEvent) in the same statement, when ev is not nil.
func (s *Store) InsertAttributed(ctx context.Context, c *Conversion, first []FirstEntry, ev *FraudEvent) error {
	for i := range first {
		first[i].Ord = i
		if len(first[i].Detail) == 0 {
			first[i].Detail = json.RawMessage(`{}`)
		}
	}
	entries, err := json.Marshal(first)
	if err != nil {
		return fmt.Errorf("store: insert conversion of order %d: %w", c.OrderID, err)
	}
	if len(first) == 0 {
		entries = []byte(`[]`)
	}
	fraudPart, fraudNew, fraudArgs, evNew := "", "false", []any(nil), false
	if ev != nil {
		fraudPart = `, f AS (` + fraudEventInsert + ` RETURNING 1)`
		fraudNew, fraudArgs = "EXISTS (SELECT 1 FROM f)", fraudEventArgs(ev)
	}
	args := []any{
		c.ShopID, c.OrderID, c.OrderName, c.OrderCreatedAt, c.OrderVersion, c.Status, c.StatusReason, c.Attributed, c.Policy,
		c.Rule, c.CampaignID, c.PartnerID, c.Channel, c.Code, c.ClickID, textArrayJSON(c.Codes), c.Currency,
		c.GrossMinor, c.NetMinor, c.DiscountMinor, c.CommissionMinor, c.OriginalGross, c.OriginalNet, c.OriginalDisc, c.OriginalComm,
		c.OrderNetMinor, c.RefundedMinor, c.ClawbackMinor, int64sJSON(c.AppliedRefunds), c.HoldUntil, jsonOr(c.Evidence, "{}"),
		jsonOr(c.Lines, "[]"), jsonOr(c.Path, "[]"), jsonOr(c.Fraud, "{}"), c.AttributedAt, c.ApprovedAt, c.RejectedAt,
		c.ReversedAt, c.PaidAt, c.StatementID, c.CreatedAt, c.UpdatedAt,
		c.ShopID, SubjectConversion, c.Currency, c.CreatedAt, string(entries)}
	args = append(args, fraudArgs...)
	err = s.conn(ctx).Raw(`WITH c AS (
		INSERT INTO conversions (shop_id, order_id, order_name, order_created_at, order_version, status,
		status_reason, attributed, policy, rule, campaign_id, partner_id, channel, code, click_id, codes, currency,
		gross_minor, net_minor, discount_minor, commission_minor, original_gross_minor, original_net_minor,
		original_discount_minor, original_commission_minor, order_net_minor, refunded_minor, clawback_minor, applied_refunds,
		hold_until, evidence, lines, path, fraud, attributed_at, approved_at, rejected_at, reversed_at, paid_at, statement_id,
		version, created_at, updated_at)
		VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,`+textArrayFromJSON+`,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,1,?,?) RETURNING id
	), l AS (
		INSERT INTO ledger_entries (shop_id, subject_type, subject_id, kind, from_status, to_status, amount_minor, currency,
			cause_type, cause_id, idempotency_key, detail, created_at)
		SELECT ?, ?, c.id, e.kind, e.from_status, e.to_status, e.amount_minor, ?, e.cause_type, e.cause_id,
			'conv:' || c.id || e.key_suffix, e.detail, ?
		FROM c CROSS JOIN jsonb_to_recordset(CAST(? AS jsonb)) AS e(kind text, from_status text, to_status text, amount_minor bigint,
			cause_type text, cause_id text, key_suffix text, detail jsonb, ord int)
		ORDER BY e.ord
		ON CONFLICT (shop_id, idempotency_key) DO NOTHING
	)`+fraudPart+` SELECT id, `+fraudNew+` FROM c`, args...).Row().Scan(&c.ID, &evNew)
	if err != nil {
		return fmt.Errorf("store: insert conversion of order %d: %w", c.OrderID, TranslateError(err))
	}
	c.Version = 1
	if evNew {
		return s.fraudEventRecorded(ctx, ev)
	}
	return nil
}

// UpdateConversion writes every mutable column of c and bumps its version
// (scoped by c.ShopID). Callers hold the row lock (ConversionBy* forUpdate).
func (s *Store) UpdateConversion(ctx context.Context, c *Conversion) error {
	res := s.conn(ctx).Exec(`UPDATE conversions SET order_name = ?, order_version = ?, status = ?, status_reason = ?, attributed = ?,
		policy = ?, rule = ?, campaign_id = ?, partner_id = ?, channel = ?, code = ?, click_id = ?, codes = `+textArrayFromJSON+`,
		gross_minor = ?, net_minor = ?, discount_minor = ?, commission_minor = ?, original_gross_minor = ?, original_net_minor = ?,
		original_discount_minor = ?, original_commission_minor = ?, order_net_minor = ?, refunded_minor = ?, clawback_minor = ?,
		applied_refunds = ?, hold_until = ?, evidence = ?, lines = ?, path = ?, fraud = ?, attributed_at = ?, approved_at = ?,
		rejected_at = ?, reversed_at = ?, paid_at = ?, statement_id = ?, version = version + 1, updated_at = ?
		WHERE shop_id = ? AND id = ?`,
		c.OrderName, c.OrderVersion, c.Status, c.StatusReason, c.Attributed, c.Policy, c.Rule, c.CampaignID, c.PartnerID, c.Channel,
		c.Code, c.ClickID, textArrayJSON(c.Codes), c.GrossMinor, c.NetMinor, c.DiscountMinor, c.CommissionMinor, c.OriginalGross,
		c.OriginalNet, c.OriginalDisc, c.OriginalComm, c.OrderNetMinor, c.RefundedMinor, c.ClawbackMinor, int64sJSON(c.AppliedRefunds),
		c.HoldUntil, jsonOr(c.Evidence, "{}"), jsonOr(c.Lines, "[]"), jsonOr(c.Path, "[]"), jsonOr(c.Fraud, "{}"), c.AttributedAt,
		c.ApprovedAt, c.RejectedAt, c.ReversedAt, c.PaidAt, c.StatementID, c.UpdatedAt, c.ShopID, c.ID)
	if res.Error != nil {
		return fmt.Errorf("store: update conversion %d: %w", c.ID, TranslateError(res.Error))
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("store: update conversion %d: %w", c.ID, ErrNotFound)
	}
	c.Version++
	return nil
}

// ConversionFilter selects a page of a shop's conversions, newest first.
type ConversionFilter struct {
	ShopID    int64
	OrderID   int64
	Status    string
	PartnerID int64
	// From and To bound order_created_at ([From, To)); zero means open.
	From, To time.Time
	BeforeID int64
	// Limit 0 means no limit (internal callers such as rerun).
	Limit int
	// Ascending lists oldest first (rerun, models).
	Ascending bool
}

// ListConversions lists the shop's conversions matching f.
func (s *Store) ListConversions(ctx context.Context, f ConversionFilter) ([]Conversion, error) {
	var where []string
	args := []any{}
	where = append(where, "shop_id = ?")
	args = append(args, f.ShopID)
	if f.OrderID != 0 {
		where, args = append(where, "order_id = ?"), append(args, f.OrderID)
	}
	if f.Status != "" {
		where, args = append(where, "status = ?"), append(args, f.Status)
	}
	if f.PartnerID != 0 {
		where, args = append(where, "partner_id = ?"), append(args, f.PartnerID)
	}
	if !f.From.IsZero() {
		where, args = append(where, "order_created_at >= ?"), append(args, f.From)
	}
	if !f.To.IsZero() {
		where, args = append(where, "order_created_at < ?"), append(args, f.To)
	}
	if f.BeforeID > 0 {
		where, args = append(where, "id < ?"), append(args, f.BeforeID)
	}
	q := `SELECT ` + conversionCols + ` FROM conversions WHERE ` + strings.Join(where, " AND ")
	if f.Ascending {
		q += ` ORDER BY id`
	} else {
		q += ` ORDER BY id DESC`
	}
	if f.Limit > 0 {
		q += fmt.Sprintf(` LIMIT %d`, f.Limit)
	}
	out, err := s.queryConversions(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("store: list conversions of shop %d: %w", f.ShopID, err)
	}
	return out, nil
}

// ConversionRef names one conversion.
type ConversionRef struct {
	ShopID int64
	ID     int64
}

// DueConversions lists held conversions whose hold ended at or before now,
// oldest hold first, at most limit: the release sweep approves them.
// Conversions the fraud layer holds for review wait for the merchant.
func (s *Store) DueConversions(ctx context.Context, now time.Time, limit int) ([]ConversionRef, error) {
	var out []ConversionRef
	err := s.conn(ctx).Raw(`SELECT shop_id, id FROM conversions WHERE status = 'held' AND hold_until <= ?
		AND fraud->>'review' IS DISTINCT FROM 'true' ORDER BY hold_until, id LIMIT ?`, now, limit).Scan(&out).Error
	if err != nil {
		return nil, fmt.Errorf("store: due conversions: %w", TranslateError(err))
	}
	return out, nil
}

// ConversionLedger returns every conversion ledger entry of a shop, oldest
// first (the ledger check replays them).
func (s *Store) ConversionLedger(ctx context.Context, shopID int64, conversionID int64) ([]LedgerEntry, error) {
	q := s.conn(ctx).Where("shop_id = ? AND subject_type = ?", shopID, SubjectConversion)
	if conversionID != 0 {
		q = q.Where("subject_id = ?", conversionID)
	}
	var out []LedgerEntry
	if err := q.Order("id").Find(&out).Error; err != nil {
		return nil, fmt.Errorf("store: conversion ledger of shop %d: %w", shopID, TranslateError(err))
	}
	return out, nil
}

// AttributionCode is a codes row as attribution reads it.
type AttributionCode struct {
	Code          string
	CampaignID    int64
	PartnerID     *int64
	Channel       string
	Kind          string
	CustomerID    *int64
	CustomerEmail *string
	IssuedAt      *time.Time
	UsageCap      *int
	// CampaignPartnerID is the campaign's partner, used when the code has none.
	CampaignPartnerID *int64
	// CampaignHoldDays is the campaign's hold_days override.
	CampaignHoldDays *int
	// Rules is the campaign's rules document (what fraud scoring checks
	// the order against).
	Rules string
	// PriorOrdersJSON lists (CodesForOrder only) the earlier orders whose
	// conversions redeemed the code, oldest first, as a JSON array; see
	// PriorOrders.
	PriorOrdersJSON string `gorm:"column:prior_orders"`
}

// PriorOrders are the orders of PriorOrdersJSON.
func (c AttributionCode) PriorOrders() ([]int64, error) {
	if c.PriorOrdersJSON == "" {
		return nil, nil
	}
	var ids []int64
	if err := json.Unmarshal([]byte(c.PriorOrdersJSON), &ids); err != nil {
		return nil, fmt.Errorf("store: prior orders of code %s: %w", c.Code, err)
	}
	return ids, nil
}

const attributionCodeSelect = `SELECT c.code, c.campaign_id, c.partner_id, c.channel, c.kind, c.customer_id, c.customer_email,
	c.issued_at, c.usage_cap, cp.partner_id AS campaign_partner_id, cp.hold_days AS campaign_hold_days, COALESCE(cp.rules::text, '') AS rules
	FROM codes c LEFT JOIN campaigns cp ON cp.id = c.campaign_id AND cp.shop_id = c.shop_id`

// OrderCodesQuery names what OrderCodes reads for one order.
type OrderCodesQuery struct {
	ShopID int64
	// Values are the order's discount codes (any case) and Order the order,
	// whose own redemption is not a prior one.
	Values []string
	Order  int64
	// CustomerID and Email are the shopper's; codes issued to them between
	// From and To are its touchpoints.
	CustomerID *int64
	Email      string
	From, To   time.Time
}

// OrderCodes reads, in one statement, the order's codes and the codes issued
// to its shopper in the window (CodesForOrder and CodesIssuedToShopper).
func (s *Store) OrderCodes(ctx context.Context, q OrderCodesQuery) (forOrder, issued []AttributionCode, err error) {
	values := NormalizeCodes(q.Values)
	var parts []string
	var args []any
	if len(values) > 0 {
		// shop_id + 0: the shop is checked on the rows the code index finds.
		// Left as a plain column, the planner ANDs in a bitmap of every
		// conversion of the shop, which costs as much as the shop is big.
		parts = append(parts, `SELECT 0 AS part, a.*, COALESCE((SELECT array_to_json(array_agg(r.order_id ORDER BY r.order_id))::text FROM (
			SELECT v.order_id FROM conversions v WHERE v.shop_id + 0 = ? AND v.codes @> ARRAY[a.code] AND v.order_id <> ?
			ORDER BY v.order_id
			LIMIT CASE WHEN a.kind <> 'vanity' THEN 10 WHEN a.usage_cap > 0 THEN LEAST(a.usage_cap + 1, 10000) ELSE 0 END) r), '[]') AS prior_orders
		FROM (`+attributionCodeSelect+` WHERE c.shop_id = ? AND c.code IN ?) a`)
		args = append(args, q.ShopID, q.Order, q.ShopID, values)
	}
	// One indexed part per key the order has (an OR of both reads neither
	// index); UNION drops a code found by both.
	var keys []string
	if q.CustomerID != nil {
		keys = append(keys, `(`+attributionCodeSelect+` WHERE c.shop_id = ? AND c.customer_id = ? AND c.issued_at >= ? AND c.issued_at <= ?)`)
		args = append(args, q.ShopID, *q.CustomerID, q.From, q.To)
	}
	if q.Email != "" {
		keys = append(keys, `(`+attributionCodeSelect+` WHERE c.shop_id = ? AND lower(c.customer_email) = lower(?) AND c.issued_at >= ? AND c.issued_at <= ?)`)
		args = append(args, q.ShopID, q.Email, q.From, q.To)
	}
	if len(keys) > 0 {
		parts = append(parts, `SELECT 1 AS part, t.*, '' AS prior_orders FROM (SELECT * FROM (`+strings.Join(keys, " UNION ")+`) AS u
			ORDER BY issued_at, code LIMIT 100) AS t`)
	}
	if len(parts) == 0 {
		return nil, nil, nil
	}
	var rows []struct {
		Part int
		AttributionCode
	}
	err = s.conn(ctx).Raw(`SELECT * FROM (`+strings.Join(parts, " UNION ALL ")+`) AS x
		ORDER BY part, CASE WHEN part = 1 THEN issued_at END, code`, args...).Scan(&rows).Error
	if err != nil {
		return nil, nil, fmt.Errorf("store: codes for attribution: %w", TranslateError(err))
	}
	for _, r := range rows {
		if r.Part == 0 {
			forOrder = append(forOrder, r.AttributionCode)
		} else {
			issued = append(issued, r.AttributionCode)
		}
	}
	return forOrder, issued, nil
}

// CodesForOrder loads the shop's codes among values (upper-cased; codes
// are case-insensitive and stored upper-case) with the earlier orders that
// redeemed each, but order: enough to flag a second redemption of a
// single-use code and name a few (10), a capped vanity code's cap plus one,
// none for an uncapped vanity code, whose redemptions flag nothing (the
// fraud layer reads its history).
func (s *Store) CodesForOrder(ctx context.Context, shopID int64, values []string, order int64) ([]AttributionCode, error) {
	out, _, err := s.OrderCodes(ctx, OrderCodesQuery{ShopID: shopID, Values: values, Order: order})
	return out, err
}

// RedeemCodes records one redemption of each code by an order: uses+1,
// redeemed_at, and status 'redeemed' for unique codes. The caller calls it
// once per order (when the order's conversion is created), which is what
// keeps it idempotent.
//
// Inside a transaction the write is deferred to just before the commit and
// merged with the transaction's other redemptions: a popular vanity code is
// one row every concurrent attribution updates, and its row lock is then
// held for the commit only, not for the rest of the work.
func (s *Store) RedeemCodes(ctx context.Context, shopID int64, codes []string, at time.Time) error {
	codes = NormalizeCodes(codes)
	if len(codes) == 0 {
		return nil
	}
	st := stateOf(ctx)
	if st == nil {
		return s.redeemNow(ctx, shopID, codes, 1, at)
	}
	if st.redeem == nil {
		st.redeem = map[redeemKey]*redeemDelta{}
	}
	for _, c := range codes {
		k := redeemKey{shopID, c}
		d := st.redeem[k]
		if d == nil {
			d = &redeemDelta{at: at}
			st.redeem[k] = d
		}
		d.uses++
		if at.Before(d.at) {
			d.at = at
		}
	}
	return nil
}

func (s *Store) redeemNow(ctx context.Context, shopID int64, codes []string, uses int, at time.Time) error {
	err := s.conn(ctx).Exec(`UPDATE codes SET uses = uses + ?, redeemed_at = LEAST(COALESCE(redeemed_at, ?), ?),
		status = CASE WHEN kind = 'unique' AND status IN ('available', 'issued', 'expired') THEN 'redeemed' ELSE status END
		WHERE shop_id = ? AND code IN ?`, uses, at, at, shopID, codes).Error
	if err != nil {
		return fmt.Errorf("store: redeem codes: %w", TranslateError(err))
	}
	return nil
}

// codeRedemption is one code's redemptions of a transaction.
type codeRedemption struct {
	ShopID int64     `json:"shop_id"`
	Code   string    `json:"code"`
	Uses   int       `json:"uses"`
	At     time.Time `json:"at"`
}

// redeemMany is redeemNow for several codes in one statement. It locks the
// rows in the order given (callers sort by shop and code), so two
// transactions redeeming the same codes never wait for each other in a
// cycle.
func (s *Store) redeemMany(ctx context.Context, rs []codeRedemption) error {
	if len(rs) == 0 {
		return nil
	}
	return s.execWrites(ctx, redeemWrite(rs))
}

// redeemWrite is redeemMany's write.
func redeemWrite(rs []codeRedemption) write {
	return write{name: "redeemed", args: []any{jsonArg(rs)}, cte: `redeem AS (
			SELECT * FROM jsonb_to_recordset(CAST(? AS jsonb)) AS v(shop_id bigint, code text, uses int, at timestamptz)
		), redeem_locked AS (
			SELECT c.shop_id, c.code FROM codes c JOIN redeem v ON c.shop_id = v.shop_id AND c.code = v.code
			ORDER BY c.shop_id, c.code FOR UPDATE OF c
		), redeemed AS (
			UPDATE codes c SET uses = c.uses + v.uses, redeemed_at = LEAST(COALESCE(c.redeemed_at, v.at), v.at),
				status = CASE WHEN c.kind = 'unique' AND c.status IN ('available', 'issued', 'expired') THEN 'redeemed' ELSE c.status END
			FROM redeem_locked l JOIN redeem v ON v.shop_id = l.shop_id AND v.code = l.code
			WHERE c.shop_id = l.shop_id AND c.code = l.code
			RETURNING 1)`}
}

// ClickRow is a clicks row as attribution reads it.
type ClickRow struct {
	ClickID    string
	PartnerID  *int64
	CampaignID *int64
	Channel    string
	IP         string
	UserAgent  string
	Country    string
	Device     string
	IsBot      bool
	CreatedAt  time.Time
}

// ClickByClickID loads a shop's click by its public click id (ErrNotFound
// when there is none).
func (s *Store) ClickByClickID(ctx context.Context, shopID int64, clickID string) (*ClickRow, error) {
	var out []ClickRow
	err := s.conn(ctx).Raw(`SELECT click_id, partner_id, campaign_id, channel, ip, user_agent, country, device, is_bot, created_at
		FROM clicks WHERE shop_id = ? AND click_id = ?`, shopID, clickID).Scan(&out).Error
	if err != nil {
		return nil, fmt.Errorf("store: click %s: %w", clickID, TranslateError(err))
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("store: click %s: %w", clickID, ErrNotFound)
	}
	return &out[0], nil
}

// PartnerCommission is a partner's commission rule.
type PartnerCommission struct {
	ID                   int64
	Name                 string
	CommissionPercent    *float64
	CommissionFixedMinor *int64
}

// PartnerCommissions lists the commission rules of a shop's partners.
func (s *Store) PartnerCommissions(ctx context.Context, shopID int64) ([]PartnerCommission, error) {
	var out []PartnerCommission
	err := s.conn(ctx).Raw(`SELECT id, name, commission_percent::float8 AS commission_percent, commission_fixed_minor
		FROM partners WHERE shop_id = ?`, shopID).Scan(&out).Error
	if err != nil {
		return nil, fmt.Errorf("store: partner commissions: %w", TranslateError(err))
	}
	return out, nil
}

// CampaignHoldDays returns a campaign's hold_days override (nil: none, or no
// such campaign in the shop).
func (s *Store) CampaignHoldDays(ctx context.Context, shopID, campaignID int64) (*int, error) {
	var out []struct{ HoldDays *int }
	if err := s.conn(ctx).Raw(`SELECT hold_days FROM campaigns WHERE shop_id = ? AND id = ?`, shopID, campaignID).Scan(&out).Error; err != nil {
		return nil, fmt.Errorf("store: hold days of campaign %d: %w", campaignID, TranslateError(err))
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out[0].HoldDays, nil
}

// Clawback is commission refunded after it was paid; it goes on the
// partner's next statement.
type Clawback struct {
	ID             int64
	ShopID         int64
	PartnerID      int64
	ConversionID   int64
	OrderID        int64
	AmountMinor    int64
	Currency       string
	IdempotencyKey string
	StatementID    *int64
	CreatedAt      time.Time
}

// AddClawback records a clawback once per idempotency key.
func (s *Store) AddClawback(ctx context.Context, c *Clawback) error {
	err := s.conn(ctx).Exec(`INSERT INTO clawbacks (shop_id, partner_id, conversion_id, order_id, amount_minor, currency,
		idempotency_key, created_at) VALUES (?,?,?,?,?,?,?,?) ON CONFLICT (shop_id, idempotency_key) DO NOTHING`,
		c.ShopID, c.PartnerID, c.ConversionID, c.OrderID, c.AmountMinor, c.Currency, c.IdempotencyKey, c.CreatedAt).Error
	if err != nil {
		return fmt.Errorf("store: add clawback: %w", TranslateError(err))
	}
	return nil
}

// Statement is a payout statement of one partner for one period and
// currency: the commission of the conversions approved in the period minus
// the clawbacks recorded up to its end.
type Statement struct {
	ID              int64
	ShopID          int64
	PartnerID       int64
	PeriodStart     time.Time
	PeriodEnd       time.Time
	Currency        string
	Status          string
	Conversions     int
	CommissionMinor int64
	ClawbackMinor   int64
	TotalMinor      int64
	PaidAt          *time.Time
	PaidBy          string
	CreatedAt       time.Time
}

// StatementLine is one conversion line or clawback on a statement.
type StatementLine struct {
	ID           int64
	StatementID  int64
	Kind         string
	ConversionID int64
	Line         int
	ClawbackID   *int64
	OrderID      int64
	OrderName    string
	AmountMinor  int64
}

const statementCols = `id, shop_id, partner_id, period_start, period_end, currency, status, conversions, commission_minor,
	clawback_minor, total_minor, paid_at, paid_by, created_at`

// BuildStatements creates (or completes) the statements of a period: every
// partner line of a conversion approved in [start, end) that is on no
// statement yet, and every clawback recorded before end that is on none,
// goes on the open statement of its partner, period and currency. Running it
// again for the same period adds nothing new, so it is idempotent. Lines
// never go on a statement already paid. It returns the period's statements.
func (s *Store) BuildStatements(ctx context.Context, shopID int64, start, end, now time.Time) ([]Statement, error) {
	err := s.InTx(ctx, func(ctx context.Context) error {
		if err := s.lockKey(ctx, fmt.Sprintf("statements:%d", shopID)); err != nil {
			return err
		}
		type cand struct {
			ConversionID int64
			Line         int
			PartnerID    int64
			Currency     string
			Amount       int64
			OrderID      int64
			OrderName    string
		}
		var cands []cand
		err := s.conn(ctx).Raw(`SELECT c.id AS conversion_id, (l.ord - 1)::int AS line, (l.v->>'PartnerID')::bigint AS partner_id,
			c.currency, COALESCE((l.v->'Amounts'->>'commission')::bigint, 0) AS amount, c.order_id, c.order_name
			FROM conversions c, jsonb_array_elements(c.lines) WITH ORDINALITY AS l(v, ord)
			WHERE c.shop_id = ? AND c.status = 'approved' AND c.approved_at >= ? AND c.approved_at < ?
				AND COALESCE(l.v->>'PartnerID', '') <> ''
				AND NOT EXISTS (SELECT 1 FROM statement_lines sl WHERE sl.shop_id = c.shop_id AND sl.kind = 'conversion'
					AND sl.conversion_id = c.id AND sl.line = l.ord - 1)
			ORDER BY c.id, l.ord`, shopID, start, end).Scan(&cands).Error
		if err != nil {
			return err
		}
		var claws []Clawback
		if err := s.conn(ctx).Raw(`SELECT id, shop_id, partner_id, conversion_id, order_id, amount_minor, currency, idempotency_key,
			statement_id, created_at FROM clawbacks WHERE shop_id = ? AND statement_id IS NULL AND created_at < ? ORDER BY id`,
			shopID, end).Scan(&claws).Error; err != nil {
			return err
		}
		stmt := map[string]int64{}
		ensure := func(partner int64, currency string) (int64, error) {
			k := fmt.Sprint(partner, currency)
			if id, ok := stmt[k]; ok {
				return id, nil
			}
			var out []struct {
				ID     int64
				Status string
			}
			if err := s.conn(ctx).Raw(`INSERT INTO statements (shop_id, partner_id, period_start, period_end, currency, created_at)
				VALUES (?,?,?,?,?,?) ON CONFLICT (shop_id, partner_id, period_start, period_end, currency) DO UPDATE SET status = statements.status
				RETURNING id, status`, shopID, partner, start, end, currency, now).Scan(&out).Error; err != nil {
				return 0, err
			}
			id := out[0].ID
			if out[0].Status != "open" {
				id = 0
			}
			stmt[k] = id
			return id, nil
		}
		for _, c := range cands {
			id, err := ensure(c.PartnerID, c.Currency)
			if err != nil {
				return err
			}
			if id == 0 {
				continue
			}
			if err := s.conn(ctx).Exec(`INSERT INTO statement_lines (shop_id, statement_id, kind, conversion_id, line, order_id, order_name, amount_minor)
				VALUES (?,?,'conversion',?,?,?,?,?)`, shopID, id, c.ConversionID, c.Line, c.OrderID, c.OrderName, c.Amount).Error; err != nil {
				return err
			}
		}
		for _, cb := range claws {
			id, err := ensure(cb.PartnerID, cb.Currency)
			if err != nil {
				return err
			}
			if id == 0 {
				continue
			}
			if err := s.conn(ctx).Exec(`INSERT INTO statement_lines (shop_id, statement_id, kind, conversion_id, clawback_id, order_id, amount_minor)
				VALUES (?,?,'clawback',?,?,?,?)`, shopID, id, cb.ConversionID, cb.ID, cb.OrderID, cb.AmountMinor).Error; err != nil {
				return err
			}
			if err := s.conn(ctx).Exec(`UPDATE clawbacks SET statement_id = ? WHERE shop_id = ? AND id = ?`, id, shopID, cb.ID).Error; err != nil {
				return err
			}
		}
		return s.conn(ctx).Exec(`UPDATE statements st SET
			conversions = (SELECT count(DISTINCT conversion_id) FROM statement_lines WHERE statement_id = st.id AND kind = 'conversion'),
			commission_minor = COALESCE((SELECT sum(amount_minor) FROM statement_lines WHERE statement_id = st.id AND kind = 'conversion'), 0),
			clawback_minor = COALESCE((SELECT sum(amount_minor) FROM statement_lines WHERE statement_id = st.id AND kind = 'clawback'), 0)
			WHERE st.shop_id = ? AND st.period_start = ? AND st.period_end = ? AND st.status = 'open'`, shopID, start, end).Error
	})
	if err != nil {
		return nil, fmt.Errorf("store: build statements: %w", TranslateError(err))
	}
	if err := s.conn(ctx).Exec(`UPDATE statements SET total_minor = commission_minor - clawback_minor WHERE shop_id = ? AND period_start = ? AND period_end = ?`,
		shopID, start, end).Error; err != nil {
		return nil, fmt.Errorf("store: build statements: %w", TranslateError(err))
	}
	return s.ListStatements(ctx, StatementFilter{ShopID: shopID, PeriodStart: start, PeriodEnd: end})
}

// StatementFilter selects a shop's statements, newest first.
type StatementFilter struct {
	ShopID                 int64
	PartnerID              int64
	Status                 string
	PeriodStart, PeriodEnd time.Time
	BeforeID               int64
	Limit                  int
}

// ListStatements lists the shop's statements matching f.
func (s *Store) ListStatements(ctx context.Context, f StatementFilter) ([]Statement, error) {
	q := s.conn(ctx).Table("statements").Select(statementCols).Where("shop_id = ?", f.ShopID)
	if f.PartnerID != 0 {
		q = q.Where("partner_id = ?", f.PartnerID)
	}
	if f.Status != "" {
		q = q.Where("status = ?", f.Status)
	}
	if !f.PeriodStart.IsZero() {
		q = q.Where("period_start = ? AND period_end = ?", f.PeriodStart, f.PeriodEnd)
	}
	if f.BeforeID > 0 {
		q = q.Where("id < ?", f.BeforeID)
	}
	if f.Limit > 0 {
		q = q.Limit(f.Limit)
	}
	var out []Statement
	if err := q.Order("id DESC").Scan(&out).Error; err != nil {
		return nil, fmt.Errorf("store: list statements: %w", TranslateError(err))
	}
	return out, nil
}

// StatementByID loads one of a shop's statements; forUpdate locks it.
func (s *Store) StatementByID(ctx context.Context, shopID, id int64, forUpdate bool) (*Statement, error) {
	q := `SELECT ` + statementCols + ` FROM statements WHERE shop_id = ? AND id = ?`
	if forUpdate {
		q += ` FOR UPDATE`
	}
	var out []Statement
	if err := s.conn(ctx).Raw(q, shopID, id).Scan(&out).Error; err != nil {
		return nil, fmt.Errorf("store: statement %d: %w", id, TranslateError(err))
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("store: statement %d: %w", id, ErrNotFound)
	}
	return &out[0], nil
}

// StatementLines lists a statement's lines (scoped by shop).
func (s *Store) StatementLines(ctx context.Context, shopID, statementID int64) ([]StatementLine, error) {
	var out []StatementLine
	err := s.conn(ctx).Raw(`SELECT id, statement_id, kind, conversion_id, line, clawback_id, order_id, order_name, amount_minor
		FROM statement_lines WHERE shop_id = ? AND statement_id = ? ORDER BY id`, shopID, statementID).Scan(&out).Error
	if err != nil {
		return nil, fmt.Errorf("store: lines of statement %d: %w", statementID, TranslateError(err))
	}
	return out, nil
}

// SetStatementLineAmount corrects a conversion line's amount (a refund
// between building and paying the statement).
func (s *Store) SetStatementLineAmount(ctx context.Context, shopID, lineID, amount int64) error {
	return TranslateError(s.conn(ctx).Exec(`UPDATE statement_lines SET amount_minor = ? WHERE shop_id = ? AND id = ?`, amount, shopID, lineID).Error)
}

// MarkStatementPaid recomputes the statement's totals from its lines and
// marks it paid by by.
func (s *Store) MarkStatementPaid(ctx context.Context, shopID, id int64, by string, now time.Time) error {
	err := s.conn(ctx).Exec(`UPDATE statements st SET status = 'paid', paid_at = ?, paid_by = ?,
		commission_minor = COALESCE((SELECT sum(amount_minor) FROM statement_lines WHERE statement_id = st.id AND kind = 'conversion'), 0),
		clawback_minor = COALESCE((SELECT sum(amount_minor) FROM statement_lines WHERE statement_id = st.id AND kind = 'clawback'), 0)
		WHERE shop_id = ? AND id = ?`, now, by, shopID, id).Error
	if err == nil {
		err = s.conn(ctx).Exec(`UPDATE statements SET total_minor = commission_minor - clawback_minor WHERE shop_id = ? AND id = ?`, shopID, id).Error
	}
	if err != nil {
		return fmt.Errorf("store: mark statement %d paid: %w", id, TranslateError(err))
	}
	return nil
}
