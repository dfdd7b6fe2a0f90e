package store

import (
	"context"
	"time"

	"gorm.io/gorm"
)

// AttributionProgress counts a shop's conversions of orders in
// [fromOrder, toOrder) and its deliveries still waiting to be processed
// (load harnesses and operator checks).
func (s *Store) AttributionProgress(ctx context.Context, shopID int64, domain string, fromOrder, toOrder int64) (conversions, waiting int64, err error) {
	err = s.pool.QueryRow(ctx, `SELECT
		(SELECT count(*) FROM conversions WHERE shop_id = $1 AND order_id >= $3 AND order_id < $4),
		(SELECT count(*) FROM webhook_deliveries WHERE shop_domain = $2 AND status = 'received')`,
		shopID, domain, fromOrder, toOrder).Scan(&conversions, &waiting)
	return conversions, waiting, TranslateError(err)
}

// LastProcessedAt returns when the last of a shop's deliveries was
// processed (zero when none was).
func (s *Store) LastProcessedAt(ctx context.Context, domain string) (time.Time, error) {
	var at *time.Time
	err := s.pool.QueryRow(ctx, `SELECT max(processed_at) FROM webhook_deliveries WHERE shop_domain = $1`, domain).Scan(&at)
	if at == nil {
		return time.Time{}, TranslateError(err)
	}
	return *at, TranslateError(err)
}

// ConversionTimes returns when each conversion of orders in [fromOrder,
// toOrder) was attributed, by order id.
func (s *Store) ConversionTimes(ctx context.Context, shopID, fromOrder, toOrder int64) (map[int64]time.Time, error) {
	rows, err := s.pool.Query(ctx, `SELECT order_id, created_at FROM conversions
		WHERE shop_id = $1 AND order_id >= $2 AND order_id < $3`, shopID, fromOrder, toOrder)
	if err != nil {
		return nil, TranslateError(err)
	}
	defer rows.Close()
	out := map[int64]time.Time{}
	for rows.Next() {
		var id int64
		var at time.Time
		if err := rows.Scan(&id, &at); err != nil {
			return nil, TranslateError(err)
		}
		out[id] = at
	}
	return out, TranslateError(rows.Err())
}

// ForDeliveryWork sets up the transaction carried by ctx for processing
// webhook deliveries, in one statement:
//
//   - it commits without waiting for its WAL flush (synchronous_commit off).
//     Use it only for work that is redone from PostgreSQL when lost: a crash
//     of the database can drop the last few hundred milliseconds of such
//     commits, whole, never in part.
//   - with planOnce (the order and refund topics, which arrive by the
//     thousand) it plans each statement once per connection (plan_cache_mode
//     force_generic_plan): the same two dozen statements run for every
//     order, and planning them again for each one's values was about a sixth
//     of PostgreSQL's time. Every statement of that path keys on the shop and
//     a unique id or an index written for it; a partial index is only usable
//     by a generic plan when the statement repeats its predicate
//     (TestHotStatementsReadTheirIndexes). Rarer topics keep plans made for
//     their values.
func (s *Store) ForDeliveryWork(ctx context.Context, planOnce bool) error {
	if _, ok := ctx.Value(txKey{}).(*gorm.DB); !ok {
		return nil // not in a transaction: nothing to set
	}
	mode := "auto"
	if planOnce {
		mode = "force_generic_plan"
	}
	return TranslateError(s.conn(ctx).Exec(`SELECT set_config('synchronous_commit', 'off', true), set_config('plan_cache_mode', ?, true)`, mode).Error)
}
