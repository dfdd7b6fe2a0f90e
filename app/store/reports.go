package store

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// Report dimensions (group_by).
const (
	ReportByCampaign = "campaign"
	ReportByPartner  = "partner"
	ReportByChannel  = "channel"
	ReportByDay      = "day"
)

// ReportMetrics are the additive report measures of a group of conversions
// (minor units of Currency). Rejected conversions count only in
// RejectedOrders and FraudFlagged.
type ReportMetrics struct {
	Orders          int64
	Attributed      int64
	Redemptions     int64
	GrossMinor      int64
	NetMinor        int64
	DiscountMinor   int64
	CommissionMinor int64
	HeldMinor       int64
	ApprovedMinor   int64
	ReversedMinor   int64
	HeldOrders      int64
	ApprovedOrders  int64
	ReversedOrders  int64
	RejectedOrders  int64
	FraudFlagged    int64
}

// Add adds o to m.
func (m *ReportMetrics) Add(o ReportMetrics) {
	m.Orders += o.Orders
	m.Attributed += o.Attributed
	m.Redemptions += o.Redemptions
	m.GrossMinor += o.GrossMinor
	m.NetMinor += o.NetMinor
	m.DiscountMinor += o.DiscountMinor
	m.CommissionMinor += o.CommissionMinor
	m.HeldMinor += o.HeldMinor
	m.ApprovedMinor += o.ApprovedMinor
	m.ReversedMinor += o.ReversedMinor
	m.HeldOrders += o.HeldOrders
	m.ApprovedOrders += o.ApprovedOrders
	m.ReversedOrders += o.ReversedOrders
	m.RejectedOrders += o.RejectedOrders
	m.FraudFlagged += o.FraudFlagged
}

// metricCols is the column list shared by report_daily and its deltas.
const metricCols = `orders, attributed, redemptions, gross_minor, net_minor, discount_minor, commission_minor, held_minor,
	approved_minor, reversed_minor, held_orders, approved_orders, reversed_orders, rejected_orders, fraud_flagged`

func metricSums() string {
	var b strings.Builder
	for i, c := range strings.Split(metricCols, ",") {
		if i > 0 {
			b.WriteString(", ")
		}
		c = strings.TrimSpace(c)
		b.WriteString("COALESCE(sum(" + c + "), 0)::bigint")
	}
	return b.String()
}

func (m *ReportMetrics) scanDest() []any {
	return []any{&m.Orders, &m.Attributed, &m.Redemptions, &m.GrossMinor, &m.NetMinor, &m.DiscountMinor, &m.CommissionMinor,
		&m.HeldMinor, &m.ApprovedMinor, &m.ReversedMinor, &m.HeldOrders, &m.ApprovedOrders, &m.ReversedOrders, &m.RejectedOrders,
		&m.FraudFlagged}
}

// ReportQuery selects rollup rows: a shop, an inclusive range of UTC days,
// optional filters, and the currency (empty: every currency).
type ReportQuery struct {
	ShopID     int64
	Currency   string
	From, To   time.Time // days (UTC midnight), inclusive
	CampaignID int64     // 0: any; -1: none
	PartnerID  int64     // 0: any; -1: none
	Channel    *string
}

// ReportRow is one group of a report: Key is the campaign or partner id ("" for
// none), the channel, or the day (YYYY-MM-DD).
type ReportRow struct {
	Key string
	ReportMetrics
}

// filtered says whether q narrows to one campaign, partner or channel.
func (q ReportQuery) filtered() bool {
	return q.CampaignID != 0 || q.PartnerID != 0 || q.Channel != nil
}

// where is the WHERE clause of q over [from, to] of column col; dims false
// leaves out the campaign, partner and channel filters (report_days).
func (q ReportQuery) where(col string, from, to time.Time, dims bool) (string, []any) {
	w := []string{"shop_id = ?", col + " BETWEEN ? AND ?"}
	args := []any{q.ShopID, from.Format(time.DateOnly), to.Format(time.DateOnly)}
	if q.Currency != "" {
		w = append(w, "currency = ?")
		args = append(args, q.Currency)
	}
	if !dims {
		return strings.Join(w, " AND "), args
	}
	if q.CampaignID != 0 {
		w = append(w, "campaign_id = ?")
		args = append(args, max(q.CampaignID, 0))
	}
	if q.PartnerID != 0 {
		w = append(w, "partner_id = ?")
		args = append(args, max(q.PartnerID, 0))
	}
	if q.Channel != nil {
		w = append(w, "channel = ?")
		args = append(args, *q.Channel)
	}
	return strings.Join(w, " AND "), args
}

// fullMonths returns the first day of the first calendar month inside
// [from, to] and the first day after the last one; ok false when no whole
// month fits.
func fullMonths(from, to time.Time) (mFrom, mEnd time.Time, ok bool) {
	mFrom = time.Date(from.Year(), from.Month(), 1, 0, 0, 0, 0, time.UTC)
	if !mFrom.Equal(from) {
		mFrom = mFrom.AddDate(0, 1, 0)
	}
	next := to.AddDate(0, 0, 1)
	mEnd = time.Date(next.Year(), next.Month(), 1, 0, 0, 0, 0, time.UTC)
	return mFrom, mEnd, mFrom.Before(mEnd)
}

// ReportGroups sums the rollups (folded and pending deltas, so a conversion
// counts as soon as it commits) by groupBy over q, ordered by key.
func (s *Store) ReportGroups(ctx context.Context, q ReportQuery, groupBy string) ([]ReportRow, error) {
	var key string
	switch groupBy {
	case ReportByCampaign:
		key = "campaign_id::text"
	case ReportByPartner:
		key = "partner_id::text"
	case ReportByChannel:
		key = "channel"
	case ReportByDay:
		key = "to_char(day, 'YYYY-MM-DD')"
	case "":
		key = "''"
	default:
		return nil, fmt.Errorf("store: report group %q: %w", groupBy, ErrNotFound)
	}
	// Sources: pending deltas always; then report_days for the unfiltered
	// day series, whole months from report_monthly plus the edge days from
	// report_daily for groupings over ranges, else report_daily.
	cols := "campaign_id, partner_id, channel, " + metricCols
	var parts []string
	var args []any
	add := func(table, col string, from, to time.Time, dims bool) {
		w, a := q.where(col, from, to, dims)
		sel := cols
		if !dims {
			sel = "0::bigint, 0::bigint, ''::text, " + metricCols
		}
		parts = append(parts, `SELECT `+col+` AS day, `+sel+` FROM `+table+` WHERE `+w)
		args = append(args, a...)
	}
	// addDim reads a single-dimension rollup (report_dim_days or
	// report_dim_months), shaped like the others.
	addDim := func(table, col, dim string, key *string, from, to time.Time) {
		sel := map[string]string{
			ReportByCampaign: "key::bigint, 0::bigint, ''::text, ",
			ReportByPartner:  "0::bigint, key::bigint, ''::text, ",
			ReportByChannel:  "0::bigint, 0::bigint, key, ",
		}[dim]
		w, a := "shop_id = ? AND dim = ?", []any{q.ShopID, dim}
		if key != nil {
			w, a = w+" AND key = ?", append(a, *key)
		}
		w, a = w+" AND "+col+" BETWEEN ? AND ?", append(a, from.Format(time.DateOnly), to.Format(time.DateOnly))
		if q.Currency != "" {
			w, a = w+" AND currency = ?", append(a, q.Currency)
		}
		parts = append(parts, `SELECT `+col+` AS day, `+sel+metricCols+` FROM `+table+` WHERE `+w)
		args = append(args, a...)
	}
	add("report_daily_deltas", "day", q.From, q.To, true)
	// The one filter, when exactly one is set, as a dimension and key.
	var fdim string
	var fkey string
	nf := 0
	if q.CampaignID != 0 {
		nf, fdim, fkey = nf+1, ReportByCampaign, strconv.FormatInt(max(q.CampaignID, 0), 10)
	}
	if q.PartnerID != 0 {
		nf, fdim, fkey = nf+1, ReportByPartner, strconv.FormatInt(max(q.PartnerID, 0), 10)
	}
	if q.Channel != nil {
		nf, fdim, fkey = nf+1, ReportByChannel, *q.Channel
	}
	mFrom, mEnd, whole := fullMonths(q.From, q.To)
	switch {
	case (groupBy == ReportByDay || groupBy == "") && nf == 0:
		add("report_days", "day", q.From, q.To, false)
	case (groupBy == ReportByDay || groupBy == "" || groupBy == fdim) && nf == 1:
		addDim("report_dim_days", "day", fdim, &fkey, q.From, q.To)
	case groupBy != ReportByDay && nf == 0:
		if !whole {
			addDim("report_dim_days", "day", groupBy, nil, q.From, q.To)
			break
		}
		addDim("report_dim_months", "month", groupBy, nil, mFrom, mEnd.AddDate(0, 0, -1))
		if q.From.Before(mFrom) {
			addDim("report_dim_days", "day", groupBy, nil, q.From, mFrom.AddDate(0, 0, -1))
		}
		if !q.To.Before(mEnd) {
			addDim("report_dim_days", "day", groupBy, nil, mEnd, q.To)
		}
	case groupBy != ReportByDay && whole:
		add("report_monthly", "month", mFrom, mEnd.AddDate(0, 0, -1), true)
		if q.From.Before(mFrom) {
			add("report_daily", "day", q.From, mFrom.AddDate(0, 0, -1), true)
		}
		if !q.To.Before(mEnd) {
			add("report_daily", "day", mEnd, q.To, true)
		}
	default:
		add("report_daily", "day", q.From, q.To, true)
	}
	sql := `SELECT ` + key + ` AS k, ` + metricSums() + ` FROM (` + strings.Join(parts, " UNION ALL ") + `
	) r GROUP BY 1 HAVING sum(orders) <> 0 OR sum(rejected_orders) <> 0 OR sum(fraud_flagged) <> 0 ORDER BY 1`
	rows, err := s.conn(ctx).Raw(sql, args...).Rows()
	if err != nil {
		return nil, fmt.Errorf("store: report: %w", TranslateError(err))
	}
	defer rows.Close()
	var out []ReportRow
	for rows.Next() {
		var r ReportRow
		if err := rows.Scan(append([]any{&r.Key}, r.scanDest()...)...); err != nil {
			return nil, fmt.Errorf("store: report: %w", TranslateError(err))
		}
		if r.Key == "0" && (groupBy == ReportByCampaign || groupBy == ReportByPartner) {
			r.Key = ""
		}
		out = append(out, r)
	}
	return out, TranslateError(rows.Err())
}

// ReportCurrencies lists the currencies of a shop's rollups, most orders
// first (a shop that changed currency has more than one).
func (s *Store) ReportCurrencies(ctx context.Context, shopID int64) ([]string, error) {
	var out []string
	err := s.conn(ctx).Raw(`SELECT currency FROM (
		SELECT currency, orders FROM report_daily WHERE shop_id = ?
		UNION ALL SELECT currency, orders FROM report_daily_deltas WHERE shop_id = ?) r
		GROUP BY currency ORDER BY sum(orders) DESC, currency`, shopID, shopID).Scan(&out).Error
	return out, TranslateError(err)
}

// CohortRow is one acquisition cohort: customers first attributed to Key
// (campaign or partner id, "" for none, or channel) and the sums of their
// net revenue within 30/90/365 days of that first order.
type CohortRow struct {
	Key       string
	Customers int64
	LTV30     int64
	LTV90     int64
	LTV365    int64
}

// ReportCohorts reads the cohorts of dim ("campaign", "partner", "channel").
func (s *Store) ReportCohorts(ctx context.Context, shopID int64, currency, dim string) ([]CohortRow, error) {
	switch dim {
	case ReportByCampaign, ReportByPartner, ReportByChannel:
	default:
		return nil, fmt.Errorf("store: cohort dimension %q: %w", dim, ErrNotFound)
	}
	if err := s.refreshPendingReportCustomers(ctx, shopID); err != nil {
		return nil, err
	}
	cur, args := "", []any{shopID, dim}
	if currency != "" {
		cur, args = " AND currency = ?", append(args, currency)
	}
	rows, err := s.conn(ctx).Raw(`SELECT key, sum(customers)::bigint, sum(ltv_30_minor)::bigint, sum(ltv_90_minor)::bigint, sum(ltv_365_minor)::bigint FROM (
		SELECT key, customers, ltv_30_minor, ltv_90_minor, ltv_365_minor FROM report_cohorts WHERE shop_id = ? AND dim = ?`+cur+`
		UNION ALL
		SELECT key, customers, ltv_30_minor, ltv_90_minor, ltv_365_minor FROM report_cohort_deltas WHERE shop_id = ? AND dim = ?`+cur+`
	) r GROUP BY key HAVING sum(customers) > 0 ORDER BY key`, append(args, args...)...).Rows()
	if err != nil {
		return nil, fmt.Errorf("store: cohorts: %w", TranslateError(err))
	}
	defer rows.Close()
	var out []CohortRow
	for rows.Next() {
		var r CohortRow
		if err := rows.Scan(&r.Key, &r.Customers, &r.LTV30, &r.LTV90, &r.LTV365); err != nil {
			return nil, fmt.Errorf("store: cohorts: %w", TranslateError(err))
		}
		if r.Key == "0" && dim != ReportByChannel {
			r.Key = ""
		}
		out = append(out, r)
	}
	return out, TranslateError(rows.Err())
}

// ReportLabels returns the names of the shop's campaigns or partners with
// these ids (dim "campaign" or "partner").
func (s *Store) ReportLabels(ctx context.Context, shopID int64, dim string, ids []string) (map[string]string, error) {
	table := map[string]string{ReportByCampaign: "campaigns", ReportByPartner: "partners"}[dim]
	out := map[string]string{}
	if table == "" || len(ids) == 0 {
		return out, nil
	}
	nums := make([]int64, 0, len(ids))
	for _, id := range ids {
		if n, err := strconv.ParseInt(id, 10, 64); err == nil && n > 0 {
			nums = append(nums, n)
		}
	}
	if len(nums) == 0 {
		return out, nil
	}
	var rows []struct {
		ID   int64
		Name string
	}
	if err := s.conn(ctx).Raw(`SELECT id, name FROM `+table+` WHERE shop_id = ? AND id IN ?`, shopID, nums).Scan(&rows).Error; err != nil {
		return nil, fmt.Errorf("store: report labels: %w", TranslateError(err))
	}
	for _, r := range rows {
		out[strconv.FormatInt(r.ID, 10)] = r.Name
	}
	return out, nil
}

// FoldReportDeltas moves up to limit pending deltas into the rollup tables,
// one statement per table so readers never see a delta twice or not at all,
// and refreshes the customers the moved deltas name, in one transaction.
// It returns how many delta rows it folded. Concurrent folds skip each
// other's rows.
func (s *Store) FoldReportDeltas(ctx context.Context, limit int) (int64, error) {
	var n int64
	err := s.InTx(ctx, func(ctx context.Context) error {
		var err error
		n, err = s.foldReportDeltas(ctx, limit)
		return err
	})
	return n, err
}

func (s *Store) foldReportDeltas(ctx context.Context, limit int) (int64, error) {
	setsFor := func(table string) string {
		out := make([]string, 0, 16)
		for _, c := range strings.Split(metricCols, ",") {
			c = strings.TrimSpace(c)
			out = append(out, c+" = "+table+"."+c+" + EXCLUDED."+c)
		}
		return strings.Join(out, ", ")
	}
	var daily int64
	var customers string
	err := s.conn(ctx).Raw(`WITH moved AS (
			DELETE FROM report_daily_deltas WHERE id IN (SELECT id FROM report_daily_deltas ORDER BY id LIMIT ? FOR UPDATE SKIP LOCKED)
			RETURNING *
		), live AS (
			SELECT * FROM moved WHERE shop_id IN (SELECT id FROM shops)
		), ins_daily AS (
			INSERT INTO report_daily (shop_id, day, campaign_id, partner_id, channel, currency, `+metricCols+`)
			SELECT shop_id, day, campaign_id, partner_id, channel, currency, `+metricSums()+`
			FROM live GROUP BY 1, 2, 3, 4, 5, 6 ORDER BY 1, 2, 3, 4, 5, 6
			ON CONFLICT (shop_id, day, campaign_id, partner_id, channel, currency) DO UPDATE SET `+setsFor("report_daily")+`
			RETURNING 1
		), ins_monthly AS (
			INSERT INTO report_monthly (shop_id, month, campaign_id, partner_id, channel, currency, `+metricCols+`)
			SELECT shop_id, date_trunc('month', day)::date, campaign_id, partner_id, channel, currency, `+metricSums()+`
			FROM live GROUP BY 1, 2, 3, 4, 5, 6 ORDER BY 1, 2, 3, 4, 5, 6
			ON CONFLICT (shop_id, month, campaign_id, partner_id, channel, currency) DO UPDATE SET `+setsFor("report_monthly")+`
			RETURNING 1
		), ins_days AS (
			INSERT INTO report_days (shop_id, day, currency, `+metricCols+`)
			SELECT shop_id, day, currency, `+metricSums()+`
			FROM live GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
			ON CONFLICT (shop_id, day, currency) DO UPDATE SET `+setsFor("report_days")+`
			RETURNING 1
		), dims AS (
			SELECT l.*, d.dim, d.key FROM live l
			CROSS JOIN LATERAL (VALUES ('campaign', l.campaign_id::text), ('partner', l.partner_id::text), ('channel', l.channel)) d(dim, key)
		), ins_dim_days AS (
			INSERT INTO report_dim_days (shop_id, dim, key, day, currency, `+metricCols+`)
			SELECT shop_id, dim, key, day, currency, `+metricSums()+`
			FROM dims GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5
			ON CONFLICT (shop_id, dim, key, day, currency) DO UPDATE SET `+setsFor("report_dim_days")+`
			RETURNING 1
		), ins_dim_months AS (
			INSERT INTO report_dim_months (shop_id, dim, key, month, currency, `+metricCols+`)
			SELECT shop_id, dim, key, date_trunc('month', day)::date, currency, `+metricSums()+`
			FROM dims GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5
			ON CONFLICT (shop_id, dim, key, month, currency) DO UPDATE SET `+setsFor("report_dim_months")+`
			RETURNING 1
		) SELECT count(*), COALESCE(jsonb_agg(DISTINCT jsonb_build_object('shop_id', shop_id, 'key', customer_key))
			FILTER (WHERE customer_key IS NOT NULL AND shop_id IN (SELECT id FROM shops)), '[]')::text FROM moved`, limit).Row().Scan(&daily, &customers)
	if err != nil {
		return 0, fmt.Errorf("store: fold report deltas: %w", TranslateError(err))
	}
	if err := s.refreshReportCustomers(ctx, customers); err != nil {
		return 0, err
	}
	var cohorts int64
	err = s.conn(ctx).Raw(`WITH moved AS (
			DELETE FROM report_cohort_deltas WHERE id IN (SELECT id FROM report_cohort_deltas ORDER BY id LIMIT ? FOR UPDATE SKIP LOCKED)
			RETURNING *
		), agg AS (
			SELECT shop_id, dim, key, currency, sum(customers)::bigint, sum(ltv_30_minor)::bigint, sum(ltv_90_minor)::bigint, sum(ltv_365_minor)::bigint
			FROM moved WHERE shop_id IN (SELECT id FROM shops) GROUP BY 1, 2, 3, 4
		), ins AS (
			INSERT INTO report_cohorts (shop_id, dim, key, currency, customers, ltv_30_minor, ltv_90_minor, ltv_365_minor)
			SELECT * FROM agg ORDER BY 1, 2, 3, 4
			ON CONFLICT (shop_id, dim, key, currency) DO UPDATE SET customers = report_cohorts.customers + EXCLUDED.customers,
				ltv_30_minor = report_cohorts.ltv_30_minor + EXCLUDED.ltv_30_minor, ltv_90_minor = report_cohorts.ltv_90_minor + EXCLUDED.ltv_90_minor,
				ltv_365_minor = report_cohorts.ltv_365_minor + EXCLUDED.ltv_365_minor
			RETURNING 1
		) SELECT count(*) FROM moved`, limit).Row().Scan(&cohorts)
	if err != nil {
		return daily, fmt.Errorf("store: fold cohort deltas: %w", TranslateError(err))
	}
	return daily + cohorts, nil
}

// RebuildReports recomputes every rollup of shopID (0: every shop) from the
// conversions, set-based: for bulk loads (which bypass the trigger) and to
// repair. It takes an exclusive lock on the rollups for its duration.
func (s *Store) RebuildReports(ctx context.Context, shopID int64) error {
	shop, args := "", []any{}
	if shopID != 0 {
		shop, args = " WHERE shop_id = ?", []any{shopID}
	}
	joined := ""
	if shopID != 0 {
		joined = " AND c.shop_id = ?"
	}
	stmts := []string{
		`LOCK TABLE report_daily, report_monthly, report_days, report_dim_days, report_dim_months, report_daily_deltas, report_customers, report_cohorts, report_cohort_deltas IN EXCLUSIVE MODE`,
		`DELETE FROM report_daily_deltas` + shop,
		`DELETE FROM report_daily` + shop,
		`DELETE FROM report_monthly` + shop,
		`DELETE FROM report_days` + shop,
		`DELETE FROM report_dim_days` + shop,
		`DELETE FROM report_dim_months` + shop,
		`INSERT INTO report_daily (shop_id, day, campaign_id, partner_id, channel, currency, ` + metricCols + `)
		SELECT shop_id, (order_created_at AT TIME ZONE 'UTC')::date, COALESCE(campaign_id, 0), COALESCE(partner_id, 0), channel, currency,
			count(*) FILTER (WHERE status <> 'rejected'),
			count(*) FILTER (WHERE status <> 'rejected' AND attributed),
			COALESCE(sum(cardinality(codes)) FILTER (WHERE status <> 'rejected'), 0),
			COALESCE(sum(gross_minor) FILTER (WHERE status <> 'rejected'), 0),
			COALESCE(sum(net_minor) FILTER (WHERE status <> 'rejected'), 0),
			COALESCE(sum(discount_minor) FILTER (WHERE status <> 'rejected'), 0),
			COALESCE(sum(commission_minor) FILTER (WHERE status <> 'rejected'), 0),
			COALESCE(sum(net_minor) FILTER (WHERE status = 'held'), 0),
			COALESCE(sum(net_minor) FILTER (WHERE status IN ('approved', 'paid')), 0),
			COALESCE(sum(original_net_minor) FILTER (WHERE status = 'reversed'), 0),
			count(*) FILTER (WHERE status = 'held'),
			count(*) FILTER (WHERE status IN ('approved', 'paid')),
			count(*) FILTER (WHERE status = 'reversed'),
			count(*) FILTER (WHERE status = 'rejected'),
			count(*) FILTER (WHERE fraud->>'action' IN ('flag', 'hold', 'reject')
				OR (fraud->>'action' = 'shadow' AND fraud->>'would_action' IN ('flag', 'hold', 'reject')))
		FROM conversions` + shop + ` GROUP BY 1, 2, 3, 4, 5, 6`,
		`INSERT INTO report_monthly (shop_id, month, campaign_id, partner_id, channel, currency, ` + metricCols + `)
		SELECT shop_id, date_trunc('month', day)::date, campaign_id, partner_id, channel, currency, ` + metricSums() + `
		FROM report_daily` + shop + ` GROUP BY 1, 2, 3, 4, 5, 6`,
		`INSERT INTO report_days (shop_id, day, currency, ` + metricCols + `)
		SELECT shop_id, day, currency, ` + metricSums() + ` FROM report_daily` + shop + ` GROUP BY 1, 2, 3`,
		`INSERT INTO report_dim_days (shop_id, dim, key, day, currency, ` + metricCols + `)
		SELECT shop_id, d.dim, d.key, day, currency, ` + metricSums() + ` FROM report_daily r
		CROSS JOIN LATERAL (VALUES ('campaign', r.campaign_id::text), ('partner', r.partner_id::text), ('channel', r.channel)) d(dim, key)` +
			shop + ` GROUP BY 1, 2, 3, 4, 5`,
		`INSERT INTO report_dim_months (shop_id, dim, key, month, currency, ` + metricCols + `)
		SELECT shop_id, dim, key, date_trunc('month', day)::date, currency, ` + metricSums() + ` FROM report_dim_days` + shop + ` GROUP BY 1, 2, 3, 4, 5`,
		`DELETE FROM report_cohort_deltas` + shop,
		`DELETE FROM report_cohorts` + shop,
		`DELETE FROM report_customers` + shop,
		`INSERT INTO report_customers (shop_id, customer_key, first_order_at, campaign_id, partner_id, channel, currency, ltv_30_minor, ltv_90_minor, ltv_365_minor)
		WITH mine AS (
			SELECT c.shop_id, CASE WHEN o.customer_id IS NOT NULL THEN 'c:' || o.customer_id ELSE 'e:' || md5(lower(o.email)) END AS customer_key,
				c.id, c.order_created_at, c.attributed, c.campaign_id, c.partner_id, c.channel, c.currency, c.net_minor
			FROM conversions c JOIN orders o ON o.shop_id = c.shop_id AND o.order_id = c.order_id
			WHERE c.status <> 'rejected' AND (o.customer_id IS NOT NULL OR o.email <> '')` + joined + `
		), first AS (
			SELECT DISTINCT ON (shop_id, customer_key) shop_id, customer_key, order_created_at, campaign_id, partner_id, channel, currency
			FROM mine WHERE attributed ORDER BY shop_id, customer_key, order_created_at, id
		)
		SELECT f.shop_id, f.customer_key, f.order_created_at, COALESCE(f.campaign_id, 0), COALESCE(f.partner_id, 0), f.channel, f.currency,
			COALESCE(sum(m.net_minor) FILTER (WHERE m.order_created_at < f.order_created_at + interval '30 days'), 0),
			COALESCE(sum(m.net_minor) FILTER (WHERE m.order_created_at < f.order_created_at + interval '90 days'), 0),
			COALESCE(sum(m.net_minor) FILTER (WHERE m.order_created_at < f.order_created_at + interval '365 days'), 0)
		FROM first f JOIN mine m ON m.shop_id = f.shop_id AND m.customer_key = f.customer_key
			AND m.order_created_at >= f.order_created_at AND m.currency = f.currency
		GROUP BY 1, 2, 3, 4, 5, 6, 7`,
		`INSERT INTO report_cohorts (shop_id, dim, key, currency, customers, ltv_30_minor, ltv_90_minor, ltv_365_minor)
		SELECT shop_id, d.dim, d.key, currency, count(*), sum(ltv_30_minor), sum(ltv_90_minor), sum(ltv_365_minor)
		FROM report_customers r CROSS JOIN LATERAL (VALUES ('campaign', r.campaign_id::text), ('partner', r.partner_id::text), ('channel', r.channel)) d(dim, key)` +
			shop + ` GROUP BY 1, 2, 3, 4`,
	}
	return s.InTx(ctx, func(ctx context.Context) error {
		for i, q := range stmts {
			a := args
			if i == 0 {
				a = nil
			}
			if err := s.conn(ctx).Exec(q, a...).Error; err != nil {
				return fmt.Errorf("store: rebuild reports (step %d): %w", i, TranslateError(err))
			}
		}
		return nil
	})
}

// redactReportCustomer removes a customer's acquisition row (customers/redact)
// and takes it out of its cohorts.
func (s *Store) redactReportCustomer(ctx context.Context, shopID int64, k CustomerKey) (int64, error) {
	// Under the customers' refresh locks (a fold refreshing the customer
	// now would write it back), and the pending deltas stop naming them.
	var keys string
	err := s.conn(ctx).Raw(`SELECT jsonb_agg(jsonb_build_object('shop_id', ?::bigint, 'key', k))::text
		FROM (VALUES ('c:' || ?), ('e:' || md5(lower(?)))) AS v(k)`, shopID, k.ID, k.Email).Row().Scan(&keys)
	if err != nil {
		return 0, fmt.Errorf("store: redact report customer: %w", TranslateError(err))
	}
	var n int64
	if err := s.conn(ctx).Raw(reportCustomerLock, keys).Row().Scan(&n); err != nil {
		return 0, fmt.Errorf("store: redact report customer: %w", TranslateError(err))
	}
	if err := s.conn(ctx).Exec(`UPDATE report_daily_deltas SET customer_key = NULL WHERE shop_id = ? AND customer_key IN ('c:' || ?, 'e:' || md5(lower(?)))`,
		shopID, k.ID, k.Email).Error; err != nil {
		return 0, fmt.Errorf("store: redact report customer: %w", TranslateError(err))
	}
	err = s.conn(ctx).Raw(`WITH gone AS (
			DELETE FROM report_customers WHERE shop_id = ? AND customer_key IN ('c:' || ?, 'e:' || md5(lower(?)))
			RETURNING *
		), ins AS (
			INSERT INTO report_cohort_deltas (shop_id, dim, key, currency, customers, ltv_30_minor, ltv_90_minor, ltv_365_minor)
			SELECT g.shop_id, d.dim, d.key, g.currency, -1, -g.ltv_30_minor, -g.ltv_90_minor, -g.ltv_365_minor
			FROM gone g CROSS JOIN LATERAL (VALUES ('campaign', g.campaign_id::text), ('partner', g.partner_id::text), ('channel', g.channel)) d(dim, key)
			RETURNING 1
		) SELECT count(*) FROM gone`, shopID, k.ID, k.Email).Row().Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("store: redact report customer: %w", TranslateError(err))
	}
	return n, nil
}

// PartnerLinkClicks counts the clicks of each of a partner's links: all
// clicks and those recorded as bots.
type PartnerLinkClicks struct {
	LinkID int64
	Clicks int64
	Bots   int64
	Last   *time.Time
}

// PartnerClickCounts returns the click counts of the partner's links.
func (s *Store) PartnerClickCounts(ctx context.Context, shopID, partnerID int64) (map[int64]PartnerLinkClicks, error) {
	var rows []PartnerLinkClicks
	err := s.conn(ctx).Raw(`SELECT k.link_id, count(*) AS clicks, count(*) FILTER (WHERE k.is_bot) AS bots, max(k.created_at) AS last
		FROM clicks k JOIN links l ON l.id = k.link_id AND l.shop_id = k.shop_id
		WHERE l.shop_id = ? AND l.partner_id = ? GROUP BY k.link_id`, shopID, partnerID).Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("store: partner clicks: %w", TranslateError(err))
	}
	out := make(map[int64]PartnerLinkClicks, len(rows))
	for _, r := range rows {
		out[r.LinkID] = r
	}
	return out, nil
}

// PartnerPageLink is one signed link to a partner's read-only page. Only the
// hash of its token is stored.
type PartnerPageLink struct {
	ID         int64 `gorm:"primaryKey"`
	ShopID     int64
	PartnerID  int64
	TokenHash  []byte
	Hint       string
	CreatedAt  time.Time
	RevokedAt  *time.Time
	LastUsedAt *time.Time
}

// TableName pins the table.
func (PartnerPageLink) TableName() string { return "partner_page_links" }

// CreatePartnerPageLink stores l (ShopID, PartnerID, TokenHash, Hint,
// CreatedAt set) after checking the partner is the shop's.
func (s *Store) CreatePartnerPageLink(ctx context.Context, l *PartnerPageLink) error {
	if _, err := s.PartnerByID(ctx, l.ShopID, l.PartnerID); err != nil {
		return err
	}
	if err := s.conn(ctx).Create(l).Error; err != nil {
		return fmt.Errorf("store: create partner page link: %w", TranslateError(err))
	}
	return nil
}

// ListPartnerPageLinks lists a partner's page links, newest first.
func (s *Store) ListPartnerPageLinks(ctx context.Context, shopID, partnerID int64) ([]PartnerPageLink, error) {
	var out []PartnerPageLink
	err := s.conn(ctx).Where("shop_id = ? AND partner_id = ?", shopID, partnerID).Order("id DESC").Find(&out).Error
	return out, TranslateError(err)
}

// RevokePartnerPageLink revokes one of a partner's page links (revoking twice
// is fine); ErrNotFound when it is not this shop's and partner's.
func (s *Store) RevokePartnerPageLink(ctx context.Context, shopID, partnerID, id int64, now time.Time) error {
	res := s.conn(ctx).Exec(`UPDATE partner_page_links SET revoked_at = COALESCE(revoked_at, ?) WHERE shop_id = ? AND partner_id = ? AND id = ?`,
		now, shopID, partnerID, id)
	if res.Error != nil {
		return fmt.Errorf("store: revoke partner page link: %w", TranslateError(res.Error))
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("store: partner page link %d: %w", id, ErrNotFound)
	}
	return nil
}

// PartnerPageLinkByHash returns the live (not revoked) link with this token
// hash and notes its use, or ErrNotFound.
func (s *Store) PartnerPageLinkByHash(ctx context.Context, hash []byte, now time.Time) (*PartnerPageLink, error) {
	var l PartnerPageLink
	err := s.conn(ctx).Raw(`UPDATE partner_page_links SET last_used_at = ? WHERE token_hash = ? AND revoked_at IS NULL
		RETURNING id, shop_id, partner_id, token_hash, hint, created_at, revoked_at, last_used_at`, now, hash).Scan(&l).Error
	if err != nil {
		return nil, fmt.Errorf("store: partner page link: %w", TranslateError(err))
	}
	if l.ID == 0 {
		return nil, fmt.Errorf("store: partner page link: %w", ErrNotFound)
	}
	return &l, nil
}

// BulkConversion is one order and its conversion for BulkLoadConversions.
type BulkConversion struct {
	OrderID     int64
	CustomerID  int64 // 0: none
	CreatedAt   time.Time
	Status      string
	Attributed  bool
	CampaignID  int64 // 0: none
	PartnerID   int64 // 0: none
	Channel     string
	Code        string
	Rule        string
	Gross       int64
	Net         int64
	Discount    int64
	Commission  int64
	OriginalNet int64
	FraudAction string
}

// BulkLoadConversions writes n orders and their conversions for shopID with
// COPY (row(i, r) fills row i), for load tests and imports into an empty
// shop. The reporting trigger is off during the load, in one transaction;
// call RebuildReports afterwards. progress, when set, is called after each
// chunk with the rows written so far.
func (s *Store) BulkLoadConversions(ctx context.Context, shopID int64, currency string, n int, row func(i int, r *BulkConversion), progress func(done int)) error {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("store: bulk load: %w", TranslateError(err))
	}
	defer conn.Release()
	tx, err := conn.Begin(ctx)
	if err != nil {
		return fmt.Errorf("store: bulk load: %w", TranslateError(err))
	}
	defer tx.Rollback(ctx) //nolint:errcheck // after Commit this is a no-op
	if _, err := tx.Exec(ctx, `ALTER TABLE conversions DISABLE TRIGGER conversions_reports`); err != nil {
		return fmt.Errorf("store: bulk load: %w", TranslateError(err))
	}
	const chunk = 250000
	for start := 0; start < n; start += chunk {
		end := min(start+chunk, n)
		rows := make([]BulkConversion, end-start)
		for i := range rows {
			row(start+i, &rows[i])
		}
		orders := make([][]any, len(rows))
		convs := make([][]any, len(rows))
		for i := range rows {
			r := &rows[i]
			var cust, camp, part any
			if r.CustomerID != 0 {
				cust = r.CustomerID
			}
			if r.CampaignID != 0 {
				camp = r.CampaignID
			}
			if r.PartnerID != 0 {
				part = r.PartnerID
			}
			name := "#" + strconv.FormatInt(r.OrderID, 10)
			orders[i] = []any{shopID, r.OrderID, name, cust, currency, r.Gross - r.Discount, r.CreatedAt, r.CreatedAt, "webhook", "bulk", "bulk"}
			codes := []string{}
			if r.Code != "" {
				codes = []string{r.Code}
			}
			fraud := `{}`
			if r.FraudAction != "" {
				fraud = `{"score":0.9,"action":"` + r.FraudAction + `","reasons":[]}`
			}
			var approved, reversed, rejected any
			switch r.Status {
			case ConversionApproved, ConversionPaid:
				approved = r.CreatedAt.Add(30 * 24 * time.Hour)
			case ConversionReversed:
				reversed = r.CreatedAt.Add(5 * 24 * time.Hour)
			case ConversionRejected:
				rejected = r.CreatedAt.Add(time.Hour)
			}
			convs[i] = []any{shopID, r.OrderID, name, r.CreatedAt, r.CreatedAt, r.Status, r.Attributed, r.Rule, camp, part, r.Channel, r.Code,
				codes, currency, r.Gross, r.Net, r.Discount, r.Commission, r.Gross, r.OriginalNet, r.Discount, r.Commission, r.OriginalNet,
				r.CreatedAt.Add(30 * 24 * time.Hour), fraud, r.CreatedAt, approved, rejected, reversed}
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"orders"}, []string{"shop_id", "order_id", "name", "customer_id", "currency", "total_minor",
			"order_created_at", "order_updated_at", "source", "first_webhook_id", "last_webhook_id"}, pgx.CopyFromRows(orders)); err != nil {
			return fmt.Errorf("store: bulk load orders: %w", TranslateError(err))
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"conversions"}, []string{"shop_id", "order_id", "order_name", "order_created_at",
			"order_version", "status", "attributed", "rule", "campaign_id", "partner_id", "channel", "code", "codes", "currency",
			"gross_minor", "net_minor", "discount_minor", "commission_minor", "original_gross_minor", "original_net_minor",
			"original_discount_minor", "original_commission_minor", "order_net_minor", "hold_until", "fraud", "attributed_at",
			"approved_at", "rejected_at", "reversed_at"}, pgx.CopyFromRows(convs)); err != nil {
			return fmt.Errorf("store: bulk load conversions: %w", TranslateError(err))
		}
		if progress != nil {
			progress(end)
		}
	}
	if _, err := tx.Exec(ctx, `ALTER TABLE conversions ENABLE TRIGGER conversions_reports`); err != nil {
		return fmt.Errorf("store: bulk load: %w", TranslateError(err))
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("store: bulk load: %w", TranslateError(err))
	}
	return nil
}

// AnalyzeReports refreshes the planner statistics of the reporting tables
// and their sources (after a bulk load).
func (s *Store) AnalyzeReports(ctx context.Context) error {
	return TranslateError(s.conn(ctx).Exec(`ANALYZE conversions, orders, report_daily, report_monthly, report_days, report_dim_days, report_dim_months, report_daily_deltas, report_customers,
		report_cohorts, report_cohort_deltas`).Error)
}

// ApproveHeldForBench approves up to n held conversions of shopID in one
// statement (through the reporting trigger, so it leaves n pending deltas
// behind, as a busy shop has between folds) and returns how many it changed.
func (s *Store) ApproveHeldForBench(ctx context.Context, shopID int64, n int, now time.Time) (int64, error) {
	res := s.conn(ctx).Exec(`UPDATE conversions SET status = 'approved', approved_at = ?, version = version + 1, updated_at = ?
		WHERE id IN (SELECT id FROM conversions WHERE shop_id = ? AND status = 'held' ORDER BY id DESC LIMIT ?)`, now, now, shopID, n)
	return res.RowsAffected, TranslateError(res.Error)
}

// ReportRowCounts says how big the reporting tables of shopID are.
func (s *Store) ReportRowCounts(ctx context.Context, shopID int64) (map[string]int64, error) {
	out := map[string]int64{}
	for _, t := range []string{"conversions", "report_daily", "report_monthly", "report_days", "report_dim_days", "report_dim_months", "report_daily_deltas", "report_customers", "report_cohorts", "report_cohort_deltas"} {
		var n int64
		if err := s.conn(ctx).Raw(`SELECT count(*) FROM `+t+` WHERE shop_id = ?`, shopID).Row().Scan(&n); err != nil {
			return nil, TranslateError(err)
		}
		out[t] = n
	}
	return out, nil
}
