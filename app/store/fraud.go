package store

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// FraudEvent is what the fraud layer saw of one scored order (table
// fraud_events): the facts its per-shop aggregates are computed from.
type FraudEvent struct {
	ShopID     int64
	OrderID    int64
	At         time.Time
	Code       string
	PartnerID  *int64
	IP         string `gorm:"column:ip"`
	Prefix     string
	Device     string
	Country    string
	Cold       bool
	ClickID    string
	CustomerID string
	Email      string
	Refunded   bool
}

// TableName pins the table.
func (FraudEvent) TableName() string { return "fraud_events" }

// InsertFraudEvent records e once per order and counts the order for its
// partner and the shop (the refund-rate counters). It reports whether the
// row was new: a replayed attribution writes nothing.
func (s *Store) InsertFraudEvent(ctx context.Context, e *FraudEvent) (bool, error) {
	res := s.conn(ctx).Exec(fraudEventInsert, fraudEventArgs(e)...)
	if res.Error != nil {
		return false, fmt.Errorf("store: fraud event %d: %w", e.OrderID, TranslateError(res.Error))
	}
	if res.RowsAffected == 0 {
		return false, nil
	}
	return true, s.fraudEventRecorded(ctx, e)
}

// fraudEventRecorded counts a newly recorded fraud event: its subjects'
// hours and the refund-rate counters.
func (s *Store) fraudEventRecorded(ctx context.Context, e *FraudEvent) error {
	if err := s.countSubjectHours(ctx, e); err != nil {
		return err
	}
	return s.bumpFraudCounts(ctx, e.ShopID, e.PartnerID, 1, 0)
}

// fraudEventInsert is the INSERT of InsertFraudEvent with its arguments.
const fraudEventInsert = `INSERT INTO fraud_events (shop_id, order_id, at, code, partner_id, ip, prefix, device, country,
		cold, click_id, customer_id, email) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (shop_id, order_id) DO NOTHING`

func fraudEventArgs(e *FraudEvent) []any {
	return []any{e.ShopID, e.OrderID, e.At, e.Code, e.PartnerID, e.IP, e.Prefix, e.Device, e.Country, e.Cold, e.ClickID, e.CustomerID, e.Email}
}

// SubjectHourKey names one counter of fraud_subject_hours.
type SubjectHourKey struct {
	ShopID  int64
	Kind    string // "c" code, "p" partner
	Subject string
	Hour    time.Time
	Country string
	Cold    bool
}

// countSubjectHours counts e for its code and partner. Inside a
// transaction the increments are merged and written just before the
// commit (a busy code's current hour is one row every attribution
// updates: its lock is then held for the commit only).
func (s *Store) countSubjectHours(ctx context.Context, e *FraudEvent) error {
	hour := e.At.UTC().Truncate(time.Hour)
	var keys []SubjectHourKey
	if e.Code != "" {
		keys = append(keys, SubjectHourKey{e.ShopID, "c", e.Code, hour, e.Country, e.Cold})
	}
	if e.PartnerID != nil {
		keys = append(keys, SubjectHourKey{e.ShopID, "p", strconv.FormatInt(*e.PartnerID, 10), hour, e.Country, e.Cold})
	}
	if len(keys) == 0 {
		return nil
	}
	st := stateOf(ctx)
	if st == nil {
		m := map[SubjectHourKey]int{}
		for _, k := range keys {
			m[k]++
		}
		return s.addSubjectHours(ctx, m)
	}
	if st.hours == nil {
		st.hours = map[SubjectHourKey]int{}
	}
	for _, k := range keys {
		st.hours[k]++
	}
	return nil
}

// addSubjectHours adds m to fraud_subject_hours in one statement, rows in
// key order.
func (s *Store) addSubjectHours(ctx context.Context, m map[SubjectHourKey]int) error {
	return s.execWrites(ctx, subjectHoursWrite(m))
}

// subjectHoursWrite is the write adding m to fraud_subject_hours, rows in
// key order.
func subjectHoursWrite(m map[SubjectHourKey]int) write {
	keys := make([]SubjectHourKey, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b SubjectHourKey) int {
		return cmp.Or(cmpInt64(a.ShopID, b.ShopID), strings.Compare(a.Kind, b.Kind), strings.Compare(a.Subject, b.Subject),
			a.Hour.Compare(b.Hour), strings.Compare(a.Country, b.Country), cmpBool(a.Cold, b.Cold))
	})
	type row struct {
		ShopID  int64     `json:"shop_id"`
		Kind    string    `json:"kind"`
		Subject string    `json:"subject"`
		Hour    time.Time `json:"hour"`
		Country string    `json:"country"`
		Cold    bool      `json:"cold"`
		N       int       `json:"n"`
	}
	rows := make([]row, len(keys))
	for i, k := range keys {
		rows[i] = row{k.ShopID, k.Kind, k.Subject, k.Hour, k.Country, k.Cold, m[k]}
	}
	return write{name: "hours", args: []any{jsonArg(rows)}, cte: `hours AS (
		INSERT INTO fraud_subject_hours (shop_id, kind, subject, hour, country, cold, n)
		SELECT v.shop_id, v.kind, v.subject, v.hour, v.country, v.cold, v.n
		FROM jsonb_to_recordset(CAST(? AS jsonb)) AS v(shop_id bigint, kind text, subject text, hour timestamptz, country text, cold boolean, n int)
		ORDER BY v.shop_id, v.kind, v.subject, v.hour, v.country, v.cold
		ON CONFLICT (shop_id, kind, subject, hour, country, cold) DO UPDATE SET n = fraud_subject_hours.n + EXCLUDED.n
		RETURNING 1)`}
}

func cmpBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case !a:
		return -1
	}
	return 1
}

// SubjectHour is one row of fraud_subject_hours as scoring reads it.
type SubjectHour struct {
	Kind    string
	Hour    time.Time
	Country string
	Cold    bool
	N       int
}

// FraudSubjectHours returns the hourly counts of a code (when code is not
// empty) and a partner (when partnerID is set) for the hours in [from, to]
// — of the code only when codeHours is set, of the partner only when
// partnerHours is — and, for each, a row with N = 0 holding its first hour
// when it was redeemed before from.
func (s *Store) FraudSubjectHours(ctx context.Context, shopID int64, code string, partnerID *int64, from, to time.Time, codeHours, partnerHours bool) ([]SubjectHour, error) {
	p := ""
	if partnerID != nil {
		p = strconv.FormatInt(*partnerID, 10)
	}
	if code == "" && p == "" {
		return nil, nil
	}
	rows, err := s.conn(ctx).Raw(`SELECT kind, hour, country, cold, n FROM fraud_subject_hours
		WHERE shop_id = ? AND ((kind = 'c' AND subject = ? AND ?) OR (kind = 'p' AND subject = ? AND ?))
		AND hour >= ? AND hour <= ?
		UNION ALL
		SELECT kind, min(hour), '', false, 0 FROM fraud_subject_hours
		WHERE shop_id = ? AND ((kind = 'c' AND subject = ?) OR (kind = 'p' AND subject = ?)) AND hour < ?
		GROUP BY kind`,
		shopID, code, codeHours && code != "", p, partnerHours && p != "", from.UTC().Truncate(time.Hour), to,
		shopID, code, p, from.UTC().Truncate(time.Hour)).Rows()
	if err != nil {
		return nil, fmt.Errorf("store: fraud subject hours: %w", TranslateError(err))
	}
	defer rows.Close()
	var out []SubjectHour
	for rows.Next() {
		var h SubjectHour
		if err := rows.Scan(&h.Kind, &h.Hour, &h.Country, &h.Cold, &h.N); err != nil {
			return nil, fmt.Errorf("store: fraud subject hours: %w", TranslateError(err))
		}
		out = append(out, h)
	}
	return out, TranslateError(rows.Err())
}

// fraudCountShards is how many rows each refund-rate counter is split over.
const fraudCountShards = 64

func (s *Store) bumpFraudCounts(ctx context.Context, shopID int64, partnerID *int64, orders, refunded int) error {
	ids := []int64{0}
	if partnerID != nil {
		ids = append(ids, *partnerID)
	}
	if st := stateOf(ctx); st != nil {
		// Merged and written just before the commit (txState.beforeCommit).
		if st.refundCounts == nil {
			st.refundCounts = map[[2]int64][2]int{}
		}
		for _, p := range ids {
			c := st.refundCounts[[2]int64{shopID, p}]
			st.refundCounts[[2]int64{shopID, p}] = [2]int{c[0] + orders, c[1] + refunded}
		}
		return nil
	}
	return s.addFraudCounts(ctx, shopID, ids, orders, refunded)
}

func (s *Store) addFraudCounts(ctx context.Context, shopID int64, ids []int64, orders, refunded int) error {
	m := make(map[[2]int64][2]int, len(ids))
	for _, p := range ids {
		m[[2]int64{shopID, p}] = [2]int{orders, refunded}
	}
	return s.execWrites(ctx, fraudCountsWrite(m))
}

// fraudCountsWrite is the write adding m ((shop, partner) -> (orders,
// refunded)) to the refund-rate counters, rows in key order. The shard is
// the database session's: a connection runs one transaction at a time, so
// concurrent attributions (each on its own connection) update different
// rows and never wait for each other's commit, whatever orders they carry.
func fraudCountsWrite(m map[[2]int64][2]int) write {
	keys := make([][2]int64, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b [2]int64) int { return cmp.Or(cmpInt64(a[0], b[0]), cmpInt64(a[1], b[1])) })
	type row struct {
		ShopID    int64 `json:"shop_id"`
		PartnerID int64 `json:"partner_id"`
		Orders    int   `json:"orders"`
		Refunded  int   `json:"refunded"`
	}
	rows := make([]row, len(keys))
	for i, k := range keys {
		rows[i] = row{k[0], k[1], m[k][0], m[k][1]}
	}
	return write{name: "counts", args: []any{fraudCountShards, jsonArg(rows)}, cte: `counts AS (
		INSERT INTO fraud_refund_counts (shop_id, partner_id, shard, orders, refunded)
		SELECT v.shop_id, v.partner_id, pg_backend_pid() % ?, v.orders, v.refunded
		FROM jsonb_to_recordset(CAST(? AS jsonb)) AS v(shop_id bigint, partner_id bigint, orders int, refunded int)
		ORDER BY v.shop_id, v.partner_id
		ON CONFLICT (shop_id, partner_id, shard) DO UPDATE SET orders = fraud_refund_counts.orders + EXCLUDED.orders,
			refunded = fraud_refund_counts.refunded + EXCLUDED.refunded
		RETURNING 1)`}
}

// MarkFraudRefunded records that a scored order was refunded (once: a
// second refund of the same order is not counted again).
func (s *Store) MarkFraudRefunded(ctx context.Context, shopID, orderID int64) error {
	var rows []struct{ PartnerID *int64 }
	err := s.conn(ctx).Raw(`UPDATE fraud_events SET refunded = true WHERE shop_id = ? AND order_id = ? AND NOT refunded
		RETURNING partner_id`, shopID, orderID).Scan(&rows).Error
	if err != nil {
		return fmt.Errorf("store: fraud refund %d: %w", orderID, TranslateError(err))
	}
	if len(rows) == 0 {
		return nil
	}
	return s.bumpFraudCounts(ctx, shopID, rows[0].PartnerID, 0, 1)
}

// FraudRefundCounts returns the orders and refunded orders of a partner
// (zeros for nil) and of the whole shop. A transaction reads them once (its
// own changes are written at its commit).
func (s *Store) FraudRefundCounts(ctx context.Context, shopID int64, partnerID *int64) (pOrders, pRefunded, shopOrders, shopRefunded int, err error) {
	p := int64(-1)
	if partnerID != nil {
		p = *partnerID
	}
	st, key := stateOf(ctx), [2]int64{shopID, p}
	if st != nil {
		if c, ok := st.refundReads[key]; ok {
			return c[0], c[1], c[2], c[3], nil
		}
	}
	pOrders, pRefunded, shopOrders, shopRefunded, err = s.readFraudRefundCounts(ctx, shopID, p)
	if err == nil && st != nil {
		if st.refundReads == nil {
			st.refundReads = map[[2]int64][4]int{}
		}
		st.refundReads[key] = [4]int{pOrders, pRefunded, shopOrders, shopRefunded}
	}
	return pOrders, pRefunded, shopOrders, shopRefunded, err
}

func (s *Store) readFraudRefundCounts(ctx context.Context, shopID, p int64) (pOrders, pRefunded, shopOrders, shopRefunded int, err error) {
	var rows []struct {
		PartnerID int64
		Orders    int
		Refunded  int
	}
	err = s.conn(ctx).Raw(`SELECT partner_id, sum(orders) AS orders, sum(refunded) AS refunded FROM fraud_refund_counts
		WHERE shop_id = ? AND partner_id IN (0, ?) GROUP BY partner_id`,
		shopID, p).Scan(&rows).Error
	for _, r := range rows {
		if r.PartnerID == 0 {
			shopOrders, shopRefunded = r.Orders, r.Refunded
		} else {
			pOrders, pRefunded = r.Orders, r.Refunded
		}
	}
	return pOrders, pRefunded, shopOrders, shopRefunded, TranslateError(err)
}

// FraudHistoryQuery names the subjects whose history scoring an order
// needs: the code's and the partner's redemptions in [From, To], every
// earlier order carrying the click id, and the orders from the IP prefix in
// [PrefixFrom, To]. Each part is capped at Limit rows (the newest).
type FraudHistoryQuery struct {
	ShopID       int64
	ExcludeOrder int64
	Code         string
	PartnerID    *int64
	ClickID      string
	Prefix       string
	From, To     time.Time
	PrefixFrom   time.Time
	Limit        int
}

// fraudHistorySQL is the statement FraudHistory runs for q ("" when q
// selects nothing).
func fraudHistorySQL(q FraudHistoryQuery) (string, []any) {
	limit := q.Limit
	if limit <= 0 {
		limit = 5000
	}
	const cols = `shop_id, order_id, at, code, partner_id, ip, prefix, device, country, cold, click_id, customer_id, email, refunded`
	var parts []string
	var args []any
	if q.Code != "" {
		parts = append(parts, `(SELECT `+cols+` FROM fraud_events WHERE shop_id = ? AND code = ? AND code <> '' AND at >= ? AND at <= ? AND order_id <> ? ORDER BY at DESC LIMIT ?)`)
		args = append(args, q.ShopID, q.Code, q.From, q.To, q.ExcludeOrder, limit)
	}
	if q.PartnerID != nil {
		parts = append(parts, `(SELECT `+cols+` FROM fraud_events WHERE shop_id = ? AND partner_id = ? AND at >= ? AND at <= ? AND order_id <> ? ORDER BY at DESC LIMIT ?)`)
		args = append(args, q.ShopID, *q.PartnerID, q.From, q.To, q.ExcludeOrder, limit)
	}
	if q.ClickID != "" {
		parts = append(parts, `(SELECT `+cols+` FROM fraud_events WHERE shop_id = ? AND click_id = ? AND click_id <> '' AND at <= ? AND order_id <> ? ORDER BY at DESC LIMIT ?)`)
		args = append(args, q.ShopID, q.ClickID, q.To, q.ExcludeOrder, limit)
	}
	if q.Prefix != "" {
		parts = append(parts, `(SELECT `+cols+` FROM fraud_events WHERE shop_id = ? AND prefix = ? AND prefix <> '' AND at >= ? AND at <= ? AND order_id <> ? ORDER BY at DESC LIMIT ?)`)
		args = append(args, q.ShopID, q.Prefix, q.PrefixFrom, q.To, q.ExcludeOrder, limit)
	}
	if len(parts) == 0 {
		return "", nil
	}
	// The code, click and prefix indexes are partial (non-empty values):
	// each part repeats that predicate as a literal so the plan PostgreSQL
	// caches for the prepared statement, which cannot see the value, still
	// reads them (without it every call scanned the whole table).
	// UNION ALL and a plain Scan per row: this runs for every attributed
	// order over up to a few thousand rows, where reflection-based scanning
	// was most of the worker's CPU. Duplicates (an order in two parts) are
	// dropped after the sort.
	sql := parts[0]
	for _, p := range parts[1:] {
		sql += " UNION ALL " + p
	}
	return sql, args
}

// FraudHistory returns the fraud events q selects, oldest first, each once.
// Every part reads its own index.
func (s *Store) FraudHistory(ctx context.Context, q FraudHistoryQuery) ([]FraudEvent, error) {
	sql, args := fraudHistorySQL(q)
	if sql == "" {
		return nil, nil
	}
	rows, err := s.conn(ctx).Raw(sql, args...).Rows()
	if err != nil {
		return nil, fmt.Errorf("store: fraud history: %w", TranslateError(err))
	}
	defer rows.Close()
	out := make([]FraudEvent, 0, 256)
	for rows.Next() {
		var e FraudEvent
		if err := rows.Scan(&e.ShopID, &e.OrderID, &e.At, &e.Code, &e.PartnerID, &e.IP, &e.Prefix, &e.Device, &e.Country,
			&e.Cold, &e.ClickID, &e.CustomerID, &e.Email, &e.Refunded); err != nil {
			return nil, fmt.Errorf("store: fraud history: %w", TranslateError(err))
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: fraud history: %w", TranslateError(err))
	}
	slices.SortFunc(out, func(a, b FraudEvent) int {
		if c := a.At.Compare(b.At); c != 0 {
			return c
		}
		return cmpInt64(a.OrderID, b.OrderID)
	})
	return slices.CompactFunc(out, func(a, b FraudEvent) bool { return a.OrderID == b.OrderID }), nil
}

func cmpInt64(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// ClicksFromIP counts the shop's clicks from ip in [from, to].
func (s *Store) ClicksFromIP(ctx context.Context, shopID int64, ip string, from, to time.Time) (int, error) {
	var n int
	err := s.conn(ctx).Raw(`SELECT count(*) FROM clicks WHERE shop_id = ? AND ip = ? AND created_at >= ? AND created_at <= ?`,
		shopID, ip, from, to).Scan(&n).Error
	return n, TranslateError(err)
}

// FraudClick is a click as the fraud layer reads it: bot clicks included
// (attribution leaves them out; for fraud they are evidence).
type FraudClick struct {
	ClickID    string
	PartnerID  *int64
	CampaignID *int64
	IP         string `gorm:"column:ip"`
	UserAgent  string
	Referrer   string
	Country    string
	Device     string
	Channel    string
	IsBot      bool
	CreatedAt  time.Time
}

// FraudClickByID loads a shop's click by click id; nil when there is none.
func (s *Store) FraudClickByID(ctx context.Context, shopID int64, clickID string) (*FraudClick, error) {
	var out []FraudClick
	err := s.conn(ctx).Raw(`SELECT click_id, partner_id, campaign_id, ip, user_agent, referrer, country, device, channel, is_bot, created_at
		FROM clicks WHERE shop_id = ? AND click_id = ? LIMIT 1`, shopID, clickID).Scan(&out).Error
	if err != nil || len(out) == 0 {
		return nil, TranslateError(err)
	}
	return &out[0], nil
}

// PartnerClickFromIP returns the partner's newest click from ip in
// [from, to] (bot clicks included); nil when there is none.
func (s *Store) PartnerClickFromIP(ctx context.Context, shopID, partnerID int64, ip string, from, to time.Time) (*FraudClick, error) {
	var out []FraudClick
	err := s.conn(ctx).Raw(`SELECT click_id, partner_id, campaign_id, ip, user_agent, referrer, country, device, channel, is_bot, created_at
		FROM clicks WHERE shop_id = ? AND ip = ? AND created_at >= ? AND created_at <= ? AND partner_id = ?
		ORDER BY created_at DESC LIMIT 1`, shopID, ip, from, to, partnerID).Scan(&out).Error
	if err != nil || len(out) == 0 {
		return nil, TranslateError(err)
	}
	return &out[0], nil
}

// FraudCode is what scoring needs to know about a code.
type FraudCode struct {
	ID            int64
	CampaignID    int64
	Code          string
	Kind          string
	Status        string
	PartnerID     *int64
	Channel       string
	CustomerID    *int64
	CustomerEmail *string
	UsageCap      *int
	Rules         json.RawMessage
	CampPartnerID *int64
}

// FraudCodeByValue loads a shop's code with its campaign's rules and
// partner; nil when the shop has no such code.
func (s *Store) FraudCodeByValue(ctx context.Context, shopID int64, code string) (*FraudCode, error) {
	var out []struct {
		FraudCode
		Rules string
	}
	err := s.conn(ctx).Raw(`SELECT k.id, k.campaign_id, k.code, k.kind, k.status, k.partner_id, k.channel, k.customer_id,
		k.customer_email, k.usage_cap, c.rules::text AS rules, c.partner_id AS camp_partner_id
		FROM codes k JOIN campaigns c ON c.id = k.campaign_id WHERE k.shop_id = ? AND k.code = ? LIMIT 1`, shopID, code).Scan(&out).Error
	if err != nil || len(out) == 0 {
		return nil, TranslateError(err)
	}
	fc := out[0].FraudCode
	fc.Rules = json.RawMessage(out[0].Rules)
	return &fc, nil
}

// CampaignRules returns a campaign's rules document ({} when unknown).
func (s *Store) CampaignRules(ctx context.Context, shopID, campaignID int64) (json.RawMessage, error) {
	var out []string
	err := s.conn(ctx).Raw(`SELECT rules::text FROM campaigns WHERE shop_id = ? AND id = ?`, shopID, campaignID).Scan(&out).Error
	if err != nil || len(out) == 0 {
		return json.RawMessage(`{}`), TranslateError(err)
	}
	return json.RawMessage(out[0]), nil
}

// FraudIncident is one alert (table fraud_incidents).
type FraudIncident struct {
	ID        int64
	ShopID    int64
	Kind      string
	Key       string
	PartnerID *int64
	Code      string
	OrderIDs  []int64
	Orders    int
	FirstSeen time.Time
	LastSeen  time.Time
	MaxScore  int
	Evidence  json.RawMessage
	Actions   json.RawMessage
	Shadow    bool
	CreatedAt time.Time
	UpdatedAt time.Time
}

const incidentCols = `id, shop_id, kind, key, partner_id, code, array_to_json(order_ids)::text, orders, first_seen, last_seen,
	max_score, evidence::text, actions::text, shadow, created_at, updated_at`

func (s *Store) queryIncidents(ctx context.Context, q string, args ...any) ([]FraudIncident, error) {
	rows, err := s.conn(ctx).Raw(q, args...).Rows()
	if err != nil {
		return nil, TranslateError(err)
	}
	defer rows.Close()
	var out []FraudIncident
	for rows.Next() {
		var in FraudIncident
		var ids, ev, acts string
		if err := rows.Scan(&in.ID, &in.ShopID, &in.Kind, &in.Key, &in.PartnerID, &in.Code, &ids, &in.Orders, &in.FirstSeen,
			&in.LastSeen, &in.MaxScore, &ev, &acts, &in.Shadow, &in.CreatedAt, &in.UpdatedAt); err != nil {
			return nil, TranslateError(err)
		}
		if err := json.Unmarshal([]byte(ids), &in.OrderIDs); err != nil {
			return nil, fmt.Errorf("store: incident %d orders: %w", in.ID, err)
		}
		in.Evidence, in.Actions = json.RawMessage(ev), json.RawMessage(acts)
		out = append(out, in)
	}
	return out, TranslateError(rows.Err())
}

// LockOpenIncident returns the newest incident of kind and key whose last
// order is at or after since, locked for update; nil when there is none.
// The caller holds the incident key's advisory lock (LockIncidentKey).
func (s *Store) LockOpenIncident(ctx context.Context, shopID int64, kind, key string, since time.Time) (*FraudIncident, error) {
	out, err := s.queryIncidents(ctx, `SELECT `+incidentCols+` FROM fraud_incidents WHERE shop_id = ? AND kind = ? AND key = ?
		AND last_seen >= ? ORDER BY last_seen DESC LIMIT 1 FOR UPDATE`, shopID, kind, key, since)
	if err != nil || len(out) == 0 {
		return nil, err
	}
	return &out[0], nil
}

// LockIncidentKey serializes the grouping of one incident key (two orders
// of the same leak must not open two incidents).
func (s *Store) LockIncidentKey(ctx context.Context, shopID int64, kind, key string) error {
	return TranslateError(s.lockKey(ctx, fmt.Sprintf("fraud-incident:%d:%s:%s", shopID, kind, key)))
}

// SaveIncident inserts (ID 0) or updates an incident.
func (s *Store) SaveIncident(ctx context.Context, in *FraudIncident, now time.Time) error {
	ids := "{}"
	if len(in.OrderIDs) > 0 {
		b, _ := json.Marshal(in.OrderIDs)
		ids = "{" + string(b[1:len(b)-1]) + "}"
	}
	ev, acts := jsonOr(in.Evidence, "{}"), jsonOr(in.Actions, "[]")
	in.UpdatedAt = now
	if in.ID == 0 {
		in.CreatedAt = now
		var id []int64
		err := s.conn(ctx).Raw(`INSERT INTO fraud_incidents (shop_id, kind, key, partner_id, code, order_ids, orders, first_seen,
			last_seen, max_score, evidence, actions, shadow, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?::bigint[], ?, ?, ?, ?, ?::jsonb, ?::jsonb, ?, ?, ?) RETURNING id`,
			in.ShopID, in.Kind, in.Key, in.PartnerID, in.Code, ids, in.Orders, in.FirstSeen, in.LastSeen, in.MaxScore, ev, acts,
			in.Shadow, now, now).Scan(&id).Error
		if err != nil {
			return fmt.Errorf("store: insert incident: %w", TranslateError(err))
		}
		in.ID = id[0]
		return nil
	}
	err := s.conn(ctx).Exec(`UPDATE fraud_incidents SET partner_id = ?, code = ?, order_ids = ?::bigint[], orders = ?, first_seen = ?,
		last_seen = ?, max_score = ?, evidence = ?::jsonb, actions = ?::jsonb, shadow = ?, updated_at = ? WHERE shop_id = ? AND id = ?`,
		in.PartnerID, in.Code, ids, in.Orders, in.FirstSeen, in.LastSeen, in.MaxScore, ev, acts, in.Shadow, now, in.ShopID, in.ID).Error
	if err != nil {
		return fmt.Errorf("store: update incident %d: %w", in.ID, TranslateError(err))
	}
	return nil
}

// IncidentFilter selects a page of a shop's incidents, newest first.
type IncidentFilter struct {
	ShopID    int64
	Kind      string
	PartnerID *int64
	BeforeID  int64
	Limit     int
}

// ListIncidents lists the shop's incidents matching f, newest first.
func (s *Store) ListIncidents(ctx context.Context, f IncidentFilter) ([]FraudIncident, error) {
	q := `SELECT ` + incidentCols + ` FROM fraud_incidents WHERE shop_id = ?`
	args := []any{f.ShopID}
	if f.Kind != "" {
		q += ` AND kind = ?`
		args = append(args, f.Kind)
	}
	if f.PartnerID != nil {
		q += ` AND partner_id = ?`
		args = append(args, *f.PartnerID)
	}
	if f.BeforeID > 0 {
		q += ` AND id < ?`
		args = append(args, f.BeforeID)
	}
	if f.Limit <= 0 {
		f.Limit = 100
	}
	q += ` ORDER BY id DESC LIMIT ?`
	args = append(args, f.Limit)
	return s.queryIncidents(ctx, q, args...)
}

// IncidentByID loads one of the shop's incidents.
func (s *Store) IncidentByID(ctx context.Context, shopID, id int64) (*FraudIncident, error) {
	out, err := s.queryIncidents(ctx, `SELECT `+incidentCols+` FROM fraud_incidents WHERE shop_id = ? AND id = ?`, shopID, id)
	if err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("store: incident %d: %w", id, ErrNotFound)
	}
	return &out[0], nil
}

// PartnerEvent is one entry of a partner's record (table partner_events).
type PartnerEvent struct {
	ID        int64 `gorm:"primaryKey"`
	ShopID    int64
	PartnerID int64
	Kind      string
	Detail    json.RawMessage `gorm:"type:jsonb"`
	CreatedAt time.Time
}

// TableName pins the table.
func (PartnerEvent) TableName() string { return "partner_events" }

// AddPartnerEvent appends e to the partner's record.
func (s *Store) AddPartnerEvent(ctx context.Context, e *PartnerEvent) error {
	if len(e.Detail) == 0 {
		e.Detail = json.RawMessage(`{}`)
	}
	return TranslateError(s.conn(ctx).Create(e).Error)
}

// ListPartnerEvents lists a partner's record, newest first.
func (s *Store) ListPartnerEvents(ctx context.Context, shopID, partnerID, beforeID int64, limit int) ([]PartnerEvent, error) {
	q := s.conn(ctx).Where("shop_id = ? AND partner_id = ?", shopID, partnerID)
	if beforeID > 0 {
		q = q.Where("id < ?", beforeID)
	}
	if limit <= 0 {
		limit = 100
	}
	var out []PartnerEvent
	return out, TranslateError(q.Order("id DESC").Limit(limit).Find(&out).Error)
}

// ConversionsByOrders loads the shop's conversions of the given orders.
func (s *Store) ConversionsByOrders(ctx context.Context, shopID int64, orderIDs []int64) ([]Conversion, error) {
	if len(orderIDs) == 0 {
		return nil, nil
	}
	return s.queryConversions(ctx, `SELECT `+conversionCols+` FROM conversions WHERE shop_id = ? AND order_id IN ?`,
		shopID, orderIDs)
}

// SeedCodes inserts codes as given (kind, partner, issued-to shopper,
// status), bypassing generation, issue and push. It exists for tests, the
// fraud scenario harness and demo seeding only.
func (s *Store) SeedCodes(ctx context.Context, cs []*Code) error {
	if len(cs) == 0 {
		return nil
	}
	for _, c := range cs {
		if c.Status == "" {
			c.Status = "issued"
		}
		if c.ShopifyState == "" {
			c.ShopifyState = ShopifyLive
		}
	}
	return TranslateError(s.conn(ctx).CreateInBatches(cs, 500).Error)
}

// redactFraudCustomer erases a shopper from the scoring history: the rows
// keep their code, partner and outcome (the aggregates of other orders stay
// right) but lose the buyer's email, customer id and address.
func (s *Store) redactFraudCustomer(ctx context.Context, shopID int64, k CustomerKey) (int64, error) {
	res := s.conn(ctx).Exec(`UPDATE fraud_events SET email = '', customer_id = '', ip = '' WHERE shop_id = ?
		AND ((? <> '' AND customer_id = ?) OR (? <> '' AND lower(email) = lower(?)))`, shopID, k.ID, k.ID, k.Email, k.Email)
	return res.RowsAffected, res.Error
}
