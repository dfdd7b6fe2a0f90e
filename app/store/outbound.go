package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Outbound event statuses.
const (
	OutboundPending   = "pending"
	OutboundDelivered = "delivered"
	OutboundFailed    = "failed"
)

// EmitEvent records one outbound webhook event of type typ for every active
// endpoint of the shop that subscribes to it (an endpoint with no event list
// gets every type): one outbound_events row per endpoint, all sharing one
// event id, so receivers de-duplicate on it and a delivery is idempotent per
// (endpoint, event id).
//
// Call it inside InTx with the ctx of the state change it reports, so the
// event exists if and only if the change commits (the transactional outbox).
// After the commit, hand the returned row ids to jobs.EnqueueOutbound for a
// prompt delivery; the outbound:sweep job delivers anything left behind, so a
// lost enqueue only delays the event. payload is the event's "data": a value
// that marshals to a JSON object, or json.RawMessage. Later features add
// their event types to app/outbound and call EmitEvent the same way.
func (s *Store) EmitEvent(ctx context.Context, shopID int64, typ string, payload any) ([]int64, error) {
	return s.EmitEventAt(ctx, shopID, typ, payload, time.Now().UTC())
}

// EmitEventAt is EmitEvent with the event time given (an injected clock):
// created_at and the first delivery time.
func (s *Store) EmitEventAt(ctx context.Context, shopID int64, typ string, payload any, now time.Time) ([]int64, error) {
	data, ok := payload.(json.RawMessage)
	if !ok {
		var err error
		if data, err = json.Marshal(payload); err != nil {
			return nil, fmt.Errorf("store: emit %s: payload: %w", typ, err)
		}
	}
	eventID, err := newEventID()
	if err != nil {
		return nil, err
	}
	var ids []int64
	err = s.conn(ctx).Raw(emitSQL, shopID, eventID, typ, string(data), now, now, shopID, typ).Scan(&ids).Error
	if err != nil {
		return nil, fmt.Errorf("store: emit %s: %w", typ, TranslateError(err))
	}
	return ids, nil
}

// emitSQL writes one event row per subscribed endpoint (gorm placeholders);
// emitSQLPgx is the same statement for pgx ($1 shop, $2 event id, $3 type,
// $4 payload, $5 time).
const (
	emitSQL = `INSERT INTO outbound_events (shop_id, endpoint_id, event_id, type, payload, next_attempt_at, created_at)
		SELECT ?, e.id, ?, ?, ?::jsonb, ?, ? FROM webhook_endpoints e
		WHERE e.shop_id = ? AND e.active AND (cardinality(e.events) = 0 OR ? = ANY(e.events))
		ON CONFLICT (endpoint_id, event_id) DO NOTHING
		RETURNING id`
	emitSQLPgx = `INSERT INTO outbound_events (shop_id, endpoint_id, event_id, type, payload, next_attempt_at, created_at)
		SELECT $1, e.id, $2, $3, $4::jsonb, $5, $5 FROM webhook_endpoints e
		WHERE e.shop_id = $1 AND e.active AND (cardinality(e.events) = 0 OR $3 = ANY(e.events))
		ON CONFLICT (endpoint_id, event_id) DO NOTHING
		RETURNING id`
)

func newEventID() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("store: event id: %w", err)
	}
	return "evt_" + hex.EncodeToString(b[:]), nil
}

// CreateWebhookEndpoint inserts e (ShopID, URL, SecretEnc, Events set by the
// caller) and fills its id.
func (s *Store) CreateWebhookEndpoint(ctx context.Context, e *WebhookEndpoint) error {
	if e.Events == nil {
		e.Events = StringArray{}
	}
	e.Active = true
	return TranslateError(s.conn(ctx).Create(e).Error)
}

// ListWebhookEndpoints lists the shop's active endpoints, newest first.
func (s *Store) ListWebhookEndpoints(ctx context.Context, shopID int64) ([]WebhookEndpoint, error) {
	var out []WebhookEndpoint
	err := s.conn(ctx).Where("shop_id = ? AND active", shopID).Order("id DESC").Find(&out).Error
	return out, TranslateError(err)
}

// CountWebhookEndpoints counts the shop's active endpoints.
func (s *Store) CountWebhookEndpoints(ctx context.Context, shopID int64) (int64, error) {
	var n int64
	err := s.conn(ctx).Model(&WebhookEndpoint{}).Where("shop_id = ? AND active", shopID).Count(&n).Error
	return n, TranslateError(err)
}

// DeleteWebhookEndpoint deactivates one of the shop's endpoints (the row and
// its event history stay) and fails its pending events. ErrNotFound when the
// shop has no such active endpoint.
func (s *Store) DeleteWebhookEndpoint(ctx context.Context, shopID, id int64, now time.Time) error {
	return s.InTx(ctx, func(ctx context.Context) error {
		res := s.conn(ctx).Exec(`UPDATE webhook_endpoints SET active = false, updated_at = ? WHERE shop_id = ? AND id = ? AND active`, now, shopID, id)
		if res.Error != nil {
			return fmt.Errorf("store: delete endpoint %d: %w", id, TranslateError(res.Error))
		}
		if res.RowsAffected == 0 {
			return fmt.Errorf("store: delete endpoint %d: %w", id, ErrNotFound)
		}
		return TranslateError(s.conn(ctx).Exec(`UPDATE outbound_events SET status = 'failed', last_error = 'endpoint deleted'
			WHERE endpoint_id = ? AND status = 'pending'`, id).Error)
	})
}

// OutboundFilter selects a page of a shop's outbound events, newest first.
type OutboundFilter struct {
	ShopID     int64
	Status     string
	Type       string
	EndpointID int64
	BeforeID   int64 // 0: from the newest
	Limit      int
}

// ListOutboundEvents lists the shop's outbound events matching f.
func (s *Store) ListOutboundEvents(ctx context.Context, f OutboundFilter) ([]OutboundEvent, error) {
	if f.Limit <= 0 || f.Limit > 501 {
		f.Limit = 100
	}
	q := s.conn(ctx).Where("shop_id = ?", f.ShopID)
	if f.Status != "" {
		q = q.Where("status = ?", f.Status)
	}
	if f.Type != "" {
		q = q.Where("type = ?", f.Type)
	}
	if f.EndpointID != 0 {
		q = q.Where("endpoint_id = ?", f.EndpointID)
	}
	if f.BeforeID != 0 {
		q = q.Where("id < ?", f.BeforeID)
	}
	var out []OutboundEvent
	err := q.Order("id DESC").Limit(f.Limit).Find(&out).Error
	return out, TranslateError(err)
}

// OutboundDelivery is one claimed delivery attempt: the event and where to
// send it.
type OutboundDelivery struct {
	ID          int64
	ShopID      int64
	EndpointID  int64
	EventID     string
	Type        string
	Payload     []byte
	Attempt     int // this attempt's number, from 1
	CreatedAt   time.Time
	URL         string
	SecretEnc   string
	EndpointOn  bool // false: the endpoint was deleted
	LeaseExpiry time.Time
}

// ClaimOutboundEvent takes the next attempt of a pending, due event: it
// counts the attempt and pushes next_attempt_at to leaseUntil, so the sweep
// and a concurrent task cannot send it at the same time; a worker that dies
// mid-attempt leaves the event due again once the lease passes.
// ErrNotFound means there is nothing to send (delivered, failed, not due, or
// another worker holds it).
func (s *Store) ClaimOutboundEvent(ctx context.Context, id int64, now, leaseUntil time.Time) (*OutboundDelivery, error) {
	var d OutboundDelivery
	var payload string
	err := s.pool.QueryRow(ctx, `UPDATE outbound_events o SET attempts = o.attempts + 1, next_attempt_at = $3
		FROM webhook_endpoints e
		WHERE o.id = $1 AND o.status = 'pending' AND o.next_attempt_at <= $2 AND e.id = o.endpoint_id
		RETURNING o.id, o.shop_id, o.endpoint_id, o.event_id, o.type, o.payload::text, o.attempts, o.created_at, e.url, e.secret_enc, e.active`,
		id, now, leaseUntil).Scan(&d.ID, &d.ShopID, &d.EndpointID, &d.EventID, &d.Type, &payload, &d.Attempt, &d.CreatedAt, &d.URL, &d.SecretEnc, &d.EndpointOn)
	if err == pgx.ErrNoRows {
		return nil, fmt.Errorf("store: claim outbound %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("store: claim outbound %d: %w", id, TranslateError(err))
	}
	d.Payload = []byte(payload)
	d.LeaseExpiry = leaseUntil
	return &d, nil
}

// OutboundOutcome is the result of one attempt.
type OutboundOutcome struct {
	Delivered  bool
	Failed     bool       // no attempt left (or permanent): status failed
	HTTPStatus *int       // nil when no answer came back
	Error      string     // why it was not delivered
	NextAt     *time.Time // when neither Delivered nor Failed: the next attempt
}

// FinishOutboundAttempt records the outcome of attempt number attempt of
// event id. It only applies while the event is still pending at that
// attempt, so a worker whose lease ran out cannot overwrite a later one.
// It reports whether the outcome was recorded.
func (s *Store) FinishOutboundAttempt(ctx context.Context, id int64, attempt int, o OutboundOutcome, now time.Time) (bool, error) {
	status, next, deliveredAt := OutboundPending, now, (*time.Time)(nil)
	switch {
	case o.Delivered:
		status, deliveredAt = OutboundDelivered, &now
	case o.Failed:
		status = OutboundFailed
	case o.NextAt != nil:
		next = *o.NextAt
	}
	tag, err := s.pool.Exec(ctx, `UPDATE outbound_events SET status = $3, next_attempt_at = $4, last_status = $5, last_error = $6, delivered_at = $7
		WHERE id = $1 AND attempts = $2 AND status = 'pending'`, id, attempt, status, next, o.HTTPStatus, truncate(o.Error), deliveredAt)
	if err != nil {
		return false, fmt.Errorf("store: finish outbound %d: %w", id, TranslateError(err))
	}
	return tag.RowsAffected() == 1, nil
}

// DueOutbound is a pending event whose next attempt is due.
type DueOutbound struct {
	ID       int64
	Attempts int
}

// DueOutboundEvents returns pending events due at now, oldest first.
func (s *Store) DueOutboundEvents(ctx context.Context, now time.Time, limit int) ([]DueOutbound, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, attempts FROM outbound_events WHERE status = 'pending' AND next_attempt_at <= $1
		ORDER BY next_attempt_at LIMIT $2`, now, limit)
	if err != nil {
		return nil, fmt.Errorf("store: due outbound: %w", TranslateError(err))
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (DueOutbound, error) {
		var d DueOutbound
		err := r.Scan(&d.ID, &d.Attempts)
		return d, err
	})
	return out, TranslateError(err)
}

// OutboundEventByID loads one outbound event row (tests and operators).
func (s *Store) OutboundEventByID(ctx context.Context, id int64) (*OutboundEvent, error) {
	var e OutboundEvent
	if err := s.conn(ctx).Take(&e, id).Error; err != nil {
		return nil, fmt.Errorf("store: outbound %d: %w", id, TranslateError(err))
	}
	return &e, nil
}
