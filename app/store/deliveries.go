package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// Delivery statuses of the webhook inbox.
const (
	DeliveryReceived  = "received"
	DeliveryProcessed = "processed"
	DeliveryFailed    = "failed"
	DeliveryIgnored   = "ignored"
)

// NewDelivery is one verified webhook to record.
type NewDelivery struct {
	ShopDomain  string
	WebhookID   string
	Topic       string
	APIVersion  string
	EventID     string
	TriggeredAt *time.Time
	ReceivedAt  time.Time
	Payload     []byte
}

// InsertedDelivery says what became of one NewDelivery.
type InsertedDelivery struct {
	ID        int64 // 0 when the webhook id was already recorded
	Duplicate bool
}

// InsertDeliveries records a batch of deliveries in one statement and one
// commit (group commit). Deliveries whose webhook id is already recorded are
// reported as duplicates. The result is in the order of ds.
func (s *Store) InsertDeliveries(ctx context.Context, ds []NewDelivery) ([]InsertedDelivery, error) {
	n := len(ds)
	shops, ids, topics, vers, events := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	trig, recv := make([]*time.Time, n), make([]time.Time, n)
	payloads := make([][]byte, n)
	for i, d := range ds {
		shops[i], ids[i], topics[i], vers[i], events[i] = d.ShopDomain, d.WebhookID, d.Topic, d.APIVersion, d.EventID
		trig[i], recv[i], payloads[i] = d.TriggeredAt, d.ReceivedAt, d.Payload
	}
	rows, err := s.pool.Query(ctx, `INSERT INTO webhook_deliveries
		(shop_domain, webhook_id, topic, api_version, event_id, triggered_at, received_at, payload)
		SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::timestamptz[], $7::timestamptz[], $8::bytea[])
		ON CONFLICT (webhook_id) DO NOTHING
		RETURNING id, webhook_id`, shops, ids, topics, vers, events, trig, recv, payloads)
	if err != nil {
		return nil, fmt.Errorf("store: insert deliveries: %w", TranslateError(err))
	}
	got := make(map[string]int64, n)
	for rows.Next() {
		var id int64
		var wid string
		if err := rows.Scan(&id, &wid); err != nil {
			rows.Close()
			return nil, fmt.Errorf("store: insert deliveries: %w", TranslateError(err))
		}
		got[wid] = id
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: insert deliveries: %w", TranslateError(err))
	}
	out := make([]InsertedDelivery, n)
	for i, d := range ds {
		if id, ok := got[d.WebhookID]; ok {
			out[i].ID = id
			delete(got, d.WebhookID) // a webhook id twice in one batch: the second is a duplicate
		} else {
			out[i].Duplicate = true
		}
	}
	return out, nil
}

// Delivery is a recorded webhook.
type Delivery struct {
	ID          int64
	ShopDomain  string
	WebhookID   string
	Topic       string
	APIVersion  string
	EventID     string
	TriggeredAt *time.Time
	ReceivedAt  time.Time
	Payload     []byte
	Status      string
	Attempts    int
	Error       string
	ProcessedAt *time.Time
}

const deliveryCols = `id, shop_domain, webhook_id, topic, api_version, event_id, triggered_at, received_at, payload, status, attempts, error, processed_at`

func scanDelivery(row pgx.Row) (*Delivery, error) {
	var d Delivery
	err := row.Scan(&d.ID, &d.ShopDomain, &d.WebhookID, &d.Topic, &d.APIVersion, &d.EventID, &d.TriggeredAt, &d.ReceivedAt, &d.Payload, &d.Status, &d.Attempts, &d.Error, &d.ProcessedAt)
	if err == pgx.ErrNoRows {
		return nil, ErrNotFound
	}
	return &d, TranslateError(err)
}

// DeliveryByID loads one delivery.
func (s *Store) DeliveryByID(ctx context.Context, id int64) (*Delivery, error) {
	d, err := scanDelivery(s.pool.QueryRow(ctx, `SELECT `+deliveryCols+` FROM webhook_deliveries WHERE id = $1`, id))
	if err != nil {
		return nil, fmt.Errorf("store: delivery %d: %w", id, err)
	}
	return d, nil
}

// byIDReceived selects deliveries by id that still wait to be processed. The
// status test is written so it cannot match the pending partial index: the
// planner's statistics usually say almost nothing is pending (true between
// bursts), so with a plain `status = 'received'` it read the pending index
// whole and filtered the ids — during a backlog of 20,000 deliveries that was
// the costliest statement of processing. By id is always a few rows.
const byIDReceived = `(status || '') = 'received'`

const lockDeliveriesSQL = `SELECT ` + deliveryCols + ` FROM webhook_deliveries WHERE id IN ? AND ` + byIDReceived + `
	ORDER BY id FOR UPDATE SKIP LOCKED`

// LockPendingDelivery locks a delivery that still waits to be processed
// (status received) for the transaction carried by ctx, skipping rows another
// worker holds. It must run inside InTx. ErrNotFound means there is nothing to
// do: the delivery is done, or another worker has it. Because the lock and the
// work share one transaction, a worker that dies mid-job leaves the row
// received and the sweeper hands it out again: the work is redone exactly once.
func (s *Store) LockPendingDelivery(ctx context.Context, id int64) (*Delivery, error) {
	var d Delivery
	res := s.conn(ctx).Raw(`SELECT `+deliveryCols+` FROM webhook_deliveries WHERE id = ? AND `+byIDReceived+` FOR UPDATE SKIP LOCKED`, id).Scan(&d)
	if res.Error != nil {
		return nil, fmt.Errorf("store: lock delivery %d: %w", id, TranslateError(res.Error))
	}
	if res.RowsAffected == 0 {
		return nil, fmt.Errorf("store: lock delivery %d: %w", id, ErrNotFound)
	}
	return &d, nil
}

// LockPendingDeliveries locks those of ids still waiting to be processed,
// skipping any another worker holds, in id order.
func (s *Store) LockPendingDeliveries(ctx context.Context, ids []int64) ([]Delivery, error) {
	var ds []Delivery
	if len(ids) == 0 {
		return ds, nil
	}
	err := s.conn(ctx).Raw(lockDeliveriesSQL, ids).Scan(&ds).Error
	if err != nil {
		return nil, fmt.Errorf("store: lock deliveries: %w", TranslateError(err))
	}
	return ds, nil
}

// DeliveryResult is the final status of one delivery of a batch.
type DeliveryResult struct {
	ID     int64
	Topic  string
	Status string
	Error  string
}

// FinishDeliveries sets the final status of several deliveries in one
// statement (see FinishDelivery).
func (s *Store) FinishDeliveries(ctx context.Context, rs []DeliveryResult, now time.Time) error {
	if len(rs) == 0 {
		return nil
	}
	var sb strings.Builder
	args := make([]any, 0, 3*len(rs)+1)
	args = append(args, now)
	for i, r := range rs {
		if i > 0 {
			sb.WriteString(", ")
		}
		sb.WriteString("(CAST(? AS BIGINT), ?, ?)")
		args = append(args, r.ID, r.Status, truncate(r.Error))
	}
	err := s.conn(ctx).Exec(`UPDATE webhook_deliveries d SET status = v.status, error = v.error, processed_at = ?
		FROM (VALUES `+sb.String()+`) AS v(id, status, error) WHERE d.id = v.id`, args...).Error
	if err != nil {
		return fmt.Errorf("store: finish deliveries: %w", TranslateError(err))
	}
	return nil
}

// RecordDeliveryAttempt counts a failed attempt with its error; after
// maxAttempts the delivery is marked failed so it is not retried forever.
func (s *Store) RecordDeliveryAttempt(ctx context.Context, id int64, errText string, maxAttempts int, now time.Time) error {
	err := s.conn(ctx).Exec(`UPDATE webhook_deliveries SET attempts = attempts + 1, error = ?,
		status = CASE WHEN attempts + 1 >= ? THEN 'failed' ELSE status END,
		processed_at = CASE WHEN attempts + 1 >= ? THEN ? ELSE processed_at END
		WHERE id = ? AND `+byIDReceived, truncate(errText), maxAttempts, maxAttempts, now, id).Error
	return TranslateError(err)
}

// FinishDelivery sets the final status (processed, failed or ignored) of a
// delivery. Run it in the same transaction as the work so that the work and
// its completion commit together.
func (s *Store) FinishDelivery(ctx context.Context, id int64, status, errText string, now time.Time) error {
	res := s.conn(ctx).Exec(`UPDATE webhook_deliveries SET status = ?, error = ?, processed_at = ? WHERE id = ?`, status, truncate(errText), now, id)
	if res.Error != nil {
		return fmt.Errorf("store: finish delivery %d: %w", id, TranslateError(res.Error))
	}
	return nil
}

// StaleDeliveries returns ids of deliveries recorded before olderThan that are
// still waiting to be processed.
// Pass the last id seen as afterID to page.
func (s *Store) StaleDeliveries(ctx context.Context, olderThan time.Time, afterID int64, limit int) ([]int64, error) {
	rows, err := s.pool.Query(ctx, `SELECT id FROM webhook_deliveries
		WHERE status = 'received' AND received_at < $1 AND id > $2 ORDER BY id LIMIT $3`, olderThan, afterID, limit)
	if err != nil {
		return nil, TranslateError(err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	return ids, TranslateError(err)
}

// DeliveryFilter narrows ListDeliveries.
type DeliveryFilter struct {
	ShopDomain string
	Topic      string
	Status     string
	BeforeID   int64 // cursor: only ids below this
	Limit      int
}

// ListDeliveries lists a shop's deliveries, newest first.
func (s *Store) ListDeliveries(ctx context.Context, f DeliveryFilter) ([]Delivery, error) {
	if f.Limit <= 0 || f.Limit > 500 {
		f.Limit = 100
	}
	q := `SELECT id, shop_domain, webhook_id, topic, api_version, event_id, triggered_at, received_at, ''::bytea, status, attempts, error, processed_at
		FROM webhook_deliveries WHERE shop_domain = $1 AND ($2 = '' OR topic = $2) AND ($3 = '' OR status = $3) AND ($4 = 0 OR id < $4)
		ORDER BY id DESC LIMIT $5`
	rows, err := s.pool.Query(ctx, q, f.ShopDomain, f.Topic, f.Status, f.BeforeID, f.Limit)
	if err != nil {
		return nil, TranslateError(err)
	}
	defer rows.Close()
	var out []Delivery
	for rows.Next() {
		d, err := scanDelivery(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *d)
	}
	return out, TranslateError(rows.Err())
}

// DeliveryCounts counts deliveries by topic and status (for metrics).
func (s *Store) DeliveryCounts(ctx context.Context) (map[[2]string]int64, error) {
	rows, err := s.pool.Query(ctx, `SELECT topic, status, count(*) FROM webhook_deliveries GROUP BY 1, 2`)
	if err != nil {
		return nil, TranslateError(err)
	}
	defer rows.Close()
	out := map[[2]string]int64{}
	for rows.Next() {
		var t, st string
		var n int64
		if err := rows.Scan(&t, &st, &n); err != nil {
			return nil, TranslateError(err)
		}
		out[[2]string{t, st}] = n
	}
	return out, TranslateError(rows.Err())
}

func truncate(s string) string {
	if len(s) > 2000 {
		return s[:2000]
	}
	return s
}

// CountDeliveriesByWebhookIDs counts how many of ids are recorded (bench and
// operator checks).
func (s *Store) CountDeliveriesByWebhookIDs(ctx context.Context, ids []string) (int64, error) {
	var n int64
	err := s.pool.QueryRow(ctx, `SELECT count(*) FROM webhook_deliveries WHERE webhook_id = ANY($1)`, ids).Scan(&n)
	return n, TranslateError(err)
}
