package store

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// CustomerKey identifies a customer in a compliance request.
type CustomerKey struct {
	ID    string
	Email string
}

// customerMatch is the SQL predicate selecting webhook payloads about a
// customer: its customer id or its email, at the top level or under customer.
const customerMatch = `shop_domain = ? AND payload <> '\x7b7d'::bytea AND (
	(? <> '' AND (convert_from(payload, 'UTF8')::jsonb #>> '{customer,id}' = ? OR convert_from(payload, 'UTF8')::jsonb ->> 'customer_id' = ?))
	OR (? <> '' AND (lower(convert_from(payload, 'UTF8')::jsonb ->> 'email') = ? OR lower(convert_from(payload, 'UTF8')::jsonb #>> '{customer,email}') = ?)))`

func customerArgs(domain string, k CustomerKey) []any {
	e := strings.ToLower(k.Email)
	return []any{domain, k.ID, k.ID, k.ID, e, e, e}
}

// CustomerData assembles what is stored about one customer of a shop.
func (s *Store) CustomerData(ctx context.Context, shopID int64, domain string, k CustomerKey) (json.RawMessage, error) {
	type row struct {
		Topic      string
		ReceivedAt time.Time
		Payload    []byte
	}
	var rows []row
	err := s.conn(ctx).Raw(`SELECT topic, received_at, payload FROM webhook_deliveries WHERE `+customerMatch+`
		AND topic NOT IN ('customers/data_request','customers/redact','shop/redact') ORDER BY id`, customerArgs(domain, k)...).Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("store: customer data: %w", TranslateError(err))
	}
	type item struct {
		Topic      string          `json:"topic"`
		ReceivedAt time.Time       `json:"received_at"`
		Payload    json.RawMessage `json:"payload"`
	}
	out := struct {
		Customer  CustomerKey     `json:"customer"`
		Webhooks  []item          `json:"webhooks"`
		Orders    json.RawMessage `json:"orders"`
		Checkouts json.RawMessage `json:"checkouts"`
		Codes     json.RawMessage `json:"issued_codes"`
	}{Customer: k, Webhooks: []item{}}
	for _, r := range rows {
		out.Webhooks = append(out.Webhooks, item{r.Topic, r.ReceivedAt, r.Payload})
	}
	if out.Orders, out.Checkouts, err = s.customerOrderData(ctx, shopID, k); err != nil {
		return nil, fmt.Errorf("store: customer data: %w", err)
	}
	var codes *string
	if err := s.conn(ctx).Raw(`SELECT coalesce(json_agg(json_build_object('code', code, 'campaign_id', campaign_id::text, 'status', status,
			'channel', channel, 'issued_at', issued_at, 'expires_at', expires_at, 'redeemed_at', redeemed_at) ORDER BY id), '[]')::text
		FROM codes WHERE shop_id = ? AND ((? <> '' AND customer_id::text = ?) OR (? <> '' AND lower(customer_email) = lower(?)))`,
		shopID, k.ID, k.ID, k.Email, k.Email).Scan(&codes).Error; err != nil {
		return nil, fmt.Errorf("store: customer codes: %w", TranslateError(err))
	}
	if codes != nil {
		out.Codes = json.RawMessage(*codes)
	}
	return json.Marshal(out)
}

// SaveDataExport stores an assembled export (once per request id).
func (s *Store) SaveDataExport(ctx context.Context, shopID int64, requestID, email string, export json.RawMessage, now time.Time) error {
	err := s.conn(ctx).Exec(`INSERT INTO data_exports (shop_id, request_id, customer_email, export, created_at) VALUES (?,?,?,?,?)
		ON CONFLICT (shop_id, request_id) DO NOTHING`, shopID, requestID, email, string(export), now).Error
	return TranslateError(err)
}

// DataExports lists a shop's data exports, newest first.
func (s *Store) DataExports(ctx context.Context, shopID int64) ([]json.RawMessage, error) {
	var out []string
	err := s.conn(ctx).Raw(`SELECT export::text FROM data_exports WHERE shop_id = ? ORDER BY id DESC`, shopID).Scan(&out).Error
	res := make([]json.RawMessage, len(out))
	for i, o := range out {
		res[i] = json.RawMessage(o)
	}
	return res, TranslateError(err)
}

// RedactCustomer erases a customer's personal data from everything stored for
// the shop and returns how many rows it changed. Later features add their
// tables (orders, clicks, issued codes, experiment assignments) here.
func (s *Store) RedactCustomer(ctx context.Context, shopID int64, domain string, k CustomerKey, requestDeliveryID int64) (int64, error) {
	var total int64
	err := s.InTx(ctx, func(ctx context.Context) error {
		res := s.conn(ctx).Exec(`UPDATE webhook_deliveries SET payload = '\x7b7d'::bytea WHERE `+customerMatch, customerArgs(domain, k)...)
		if res.Error != nil {
			return res.Error
		}
		total += res.RowsAffected
		res = s.conn(ctx).Exec(`UPDATE data_exports SET export = '{"redacted":true}'::jsonb, customer_email = '' WHERE shop_id = ? AND lower(customer_email) = lower(?) AND ? <> ''`, shopID, k.Email, k.Email)
		if res.Error != nil {
			return res.Error
		}
		total += res.RowsAffected
		n, err := s.redactCustomerOrders(ctx, shopID, k)
		if err != nil {
			return err
		}
		total += n
		// Issued codes keep their code and outcome (anonymous aggregates)
		// but lose who they were issued to.
		res = s.conn(ctx).Exec(`UPDATE codes SET customer_email = NULL, customer_id = NULL WHERE shop_id = ?
			AND ((? <> '' AND customer_id::text = ?) OR (? <> '' AND lower(customer_email) = lower(?)))`, shopID, k.ID, k.ID, k.Email, k.Email)
		if res.Error != nil {
			return res.Error
		}
		total += res.RowsAffected
		if n, err = s.redactCartCustomer(ctx, shopID, k); err != nil {
			return err
		}
		total += n
		if n, err = s.redactReportCustomer(ctx, shopID, k); err != nil {
			return err
		}
		total += n
		if n, err = s.redactExperimentCustomer(ctx, shopID, k); err != nil {
			return err
		}
		total += n
		if n, err = s.redactFraudCustomer(ctx, shopID, k); err != nil {
			return err
		}
		total += n
		// Each later feature that stores personal data erases it here too.
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("store: redact customer: %w", TranslateError(err))
	}
	return total, nil
}
