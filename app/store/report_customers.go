package store

import (
	"context"
	"fmt"
)

// A customer's acquisition row (report_customers: the campaign, partner and
// channel of the first attributed order, and the net revenue of the
// customer's orders within 30/90/365 days of it) is recomputed from the
// customer's conversions whenever one of them changes. The conversions
// trigger only names the customer in the change's delta row; the refresh
// runs set-based for many customers at once: when the fold moves the deltas
// (same transaction) and, for one shop, before its cohorts are read.

// reportCustomerLock serializes refreshes of the same customers (the fold
// and a cohort read, or two folds): each takes the advisory locks of the
// customers' stripes in stripe order, then reads what the other committed.
// Striping (64 locks at most, whatever the number of customers) keeps a
// fold of thousands of customers within PostgreSQL's shared lock table.
// keys is a JSON array of {"shop_id", "key"}.
const reportCustomerLock = `SELECT count(pg_advisory_xact_lock(1919120755, l.stripe)) FROM (
	SELECT DISTINCT (hashtextextended(k.shop_id || ':' || k.key, 0) & 63)::int AS stripe
	FROM jsonb_to_recordset(CAST(? AS jsonb)) AS k(shop_id bigint, key text) ORDER BY 1) AS l`

// reportCustomerRefresh recomputes the named customers' rows, writes those
// that changed (a customer left with no attributed conversion is removed)
// and the cohort deltas of each change: the old row's sums out, the new
// row's in. One indexed join per kind of key: "c:<customer id>" reads the
// orders by customer, "e:<md5 of the lower-cased e-mail>" (guests) by that
// hash.
const reportCustomerRefresh = `WITH keys AS (
		SELECT DISTINCT k.shop_id, k.key FROM jsonb_to_recordset(CAST(? AS jsonb)) AS k(shop_id bigint, key text)
		WHERE k.shop_id IN (SELECT id FROM shops)
	), old AS (
		SELECT r.* FROM report_customers r JOIN keys k ON r.shop_id = k.shop_id AND r.customer_key = k.key
		ORDER BY r.shop_id, r.customer_key FOR UPDATE OF r
	), mine AS (
		SELECT k.shop_id, k.key, c.id, c.order_created_at, c.attributed, c.campaign_id, c.partner_id, c.channel, c.currency, c.net_minor
		FROM keys k JOIN orders o ON o.shop_id = k.shop_id AND o.customer_id = substr(k.key, 3)::bigint
		JOIN conversions c ON c.shop_id = o.shop_id AND c.order_id = o.order_id
		WHERE left(k.key, 2) = 'c:' AND c.status <> 'rejected'
		UNION ALL
		SELECT k.shop_id, k.key, c.id, c.order_created_at, c.attributed, c.campaign_id, c.partner_id, c.channel, c.currency, c.net_minor
		FROM keys k JOIN orders o ON o.shop_id = k.shop_id AND o.customer_id IS NULL AND o.email <> '' AND md5(lower(o.email)) = substr(k.key, 3)
		JOIN conversions c ON c.shop_id = o.shop_id AND c.order_id = o.order_id
		WHERE left(k.key, 2) = 'e:' AND c.status <> 'rejected'
	), first AS (
		SELECT DISTINCT ON (shop_id, key) shop_id, key, order_created_at, campaign_id, partner_id, channel, currency
		FROM mine WHERE attributed ORDER BY shop_id, key, order_created_at, id
	), fresh AS (
		SELECT f.shop_id, f.key AS customer_key, f.order_created_at AS first_order_at, COALESCE(f.campaign_id, 0) AS campaign_id,
			COALESCE(f.partner_id, 0) AS partner_id, f.channel, f.currency,
			COALESCE(sum(m.net_minor) FILTER (WHERE m.order_created_at < f.order_created_at + interval '30 days'), 0)::bigint AS ltv_30_minor,
			COALESCE(sum(m.net_minor) FILTER (WHERE m.order_created_at < f.order_created_at + interval '90 days'), 0)::bigint AS ltv_90_minor,
			COALESCE(sum(m.net_minor) FILTER (WHERE m.order_created_at < f.order_created_at + interval '365 days'), 0)::bigint AS ltv_365_minor
		FROM first f JOIN mine m ON m.shop_id = f.shop_id AND m.key = f.key AND m.order_created_at >= f.order_created_at AND m.currency = f.currency
		GROUP BY 1, 2, 3, 4, 5, 6, 7
	), changed AS (
		SELECT o.shop_id AS old_shop, n.shop_id AS new_shop, o.customer_key AS old_key, n.customer_key AS new_key,
			o.campaign_id AS old_campaign, o.partner_id AS old_partner, o.channel AS old_channel, o.currency AS old_currency,
			o.ltv_30_minor AS old_30, o.ltv_90_minor AS old_90, o.ltv_365_minor AS old_365, n.*
		FROM old o FULL JOIN fresh n ON n.shop_id = o.shop_id AND n.customer_key = o.customer_key
		WHERE (o.first_order_at, o.campaign_id, o.partner_id, o.channel, o.currency, o.ltv_30_minor, o.ltv_90_minor, o.ltv_365_minor)
			IS DISTINCT FROM (n.first_order_at, n.campaign_id, n.partner_id, n.channel, n.currency, n.ltv_30_minor, n.ltv_90_minor, n.ltv_365_minor)
	), upserted AS (
		INSERT INTO report_customers (shop_id, customer_key, first_order_at, campaign_id, partner_id, channel, currency, ltv_30_minor, ltv_90_minor, ltv_365_minor)
		SELECT new_shop, new_key, first_order_at, campaign_id, partner_id, channel, currency, ltv_30_minor, ltv_90_minor, ltv_365_minor
		FROM changed WHERE new_key IS NOT NULL ORDER BY 1, 2
		ON CONFLICT (shop_id, customer_key) DO UPDATE SET first_order_at = EXCLUDED.first_order_at, campaign_id = EXCLUDED.campaign_id,
			partner_id = EXCLUDED.partner_id, channel = EXCLUDED.channel, currency = EXCLUDED.currency,
			ltv_30_minor = EXCLUDED.ltv_30_minor, ltv_90_minor = EXCLUDED.ltv_90_minor, ltv_365_minor = EXCLUDED.ltv_365_minor
		RETURNING 1
	), removed AS (
		DELETE FROM report_customers r USING changed x
		WHERE x.new_key IS NULL AND r.shop_id = x.old_shop AND r.customer_key = x.old_key
		RETURNING 1
	), cohort AS (
		INSERT INTO report_cohort_deltas (shop_id, dim, key, currency, customers, ltv_30_minor, ltv_90_minor, ltv_365_minor)
		SELECT s.shop_id, d.dim, d.key, s.currency, s.sign, s.sign * s.l30, s.sign * s.l90, s.sign * s.l365
		FROM (SELECT old_shop AS shop_id, old_campaign AS campaign_id, old_partner AS partner_id, old_channel AS channel, old_currency AS currency,
				old_30 AS l30, old_90 AS l90, old_365 AS l365, -1 AS sign FROM changed WHERE old_key IS NOT NULL
			UNION ALL
			SELECT new_shop, campaign_id, partner_id, channel, currency, ltv_30_minor, ltv_90_minor, ltv_365_minor, 1 FROM changed WHERE new_key IS NOT NULL) s
		CROSS JOIN LATERAL (VALUES ('campaign', s.campaign_id::text), ('partner', s.partner_id::text), ('channel', s.channel)) d(dim, key)
		RETURNING 1
	) SELECT (SELECT count(*) FROM upserted) + (SELECT count(*) FROM removed)`

// refreshReportCustomers recomputes the customers named by keys (a JSON
// array of {"shop_id", "key"}) inside the caller's transaction.
func (s *Store) refreshReportCustomers(ctx context.Context, keys string) error {
	if keys == "" || keys == "[]" {
		return nil
	}
	var n int64
	if err := s.conn(ctx).Raw(reportCustomerLock, keys).Row().Scan(&n); err != nil {
		return fmt.Errorf("store: lock report customers: %w", TranslateError(err))
	}
	if err := s.conn(ctx).Raw(reportCustomerRefresh, keys).Row().Scan(&n); err != nil {
		return fmt.Errorf("store: refresh report customers: %w", TranslateError(err))
	}
	return nil
}

// refreshPendingReportCustomers refreshes the customers named by the shop's
// deltas not folded yet, so its cohorts can be read from the rollups, and
// takes the names off those deltas: the next read (and the fold) does not
// refresh them again. A delta written after this one's snapshot keeps its
// name and is refreshed later.
func (s *Store) refreshPendingReportCustomers(ctx context.Context, shopID int64) error {
	return s.InTx(ctx, func(ctx context.Context) error {
		var keys string
		err := s.conn(ctx).Raw(`WITH named AS (
				UPDATE report_daily_deltas d SET customer_key = NULL
				FROM (SELECT id, customer_key FROM report_daily_deltas WHERE shop_id = ? AND customer_key IS NOT NULL FOR UPDATE) o
				WHERE d.id = o.id
				RETURNING o.customer_key AS k
			) SELECT COALESCE(jsonb_agg(DISTINCT jsonb_build_object('shop_id', ?::bigint, 'key', k)), '[]')::text FROM named`,
			shopID, shopID).Row().Scan(&keys)
		if err != nil {
			return fmt.Errorf("store: pending report customers: %w", TranslateError(err))
		}
		return s.refreshReportCustomers(ctx, keys)
	})
}
