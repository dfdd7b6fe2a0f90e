package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// LedgerEntry is one append-only change with its cause.
type LedgerEntry struct {
	ID             int64 `gorm:"primaryKey"`
	ShopID         int64
	SubjectType    string
	SubjectID      int64
	Kind           string
	FromStatus     string
	ToStatus       string
	AmountMinor    int64
	Currency       string
	CauseType      string
	CauseID        string
	IdempotencyKey *string
	Detail         json.RawMessage `gorm:"type:jsonb"`
	CreatedAt      time.Time
}

// TableName pins the table.
func (LedgerEntry) TableName() string { return "ledger_entries" }

// AppendLedger writes e unless an entry with the same idempotency key exists
// for the shop; it reports whether a row was written.
func (s *Store) AppendLedger(ctx context.Context, e *LedgerEntry) (bool, error) {
	if len(e.Detail) == 0 {
		e.Detail = json.RawMessage(`{}`)
	}
	res := s.conn(ctx).Exec(`INSERT INTO ledger_entries
		(shop_id, subject_type, subject_id, kind, from_status, to_status, amount_minor, currency, cause_type, cause_id, idempotency_key, detail, created_at)
		VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT (shop_id, idempotency_key) DO NOTHING`,
		e.ShopID, e.SubjectType, e.SubjectID, e.Kind, e.FromStatus, e.ToStatus, e.AmountMinor, e.Currency, e.CauseType, e.CauseID, e.IdempotencyKey, string(e.Detail), e.CreatedAt)
	if res.Error != nil {
		return false, fmt.Errorf("store: append ledger: %w", TranslateError(res.Error))
	}
	return res.RowsAffected == 1, nil
}

// AuditEvent records who did what.
type AuditEvent struct {
	ID        int64 `gorm:"primaryKey"`
	ShopID    *int64
	ActorType string
	ActorID   string
	Action    string
	Target    string
	Detail    json.RawMessage `gorm:"type:jsonb"`
	CreatedAt time.Time
}

// TableName pins the table.
func (AuditEvent) TableName() string { return "audit_events" }

// Audit appends an audit event.
func (s *Store) Audit(ctx context.Context, e *AuditEvent) error {
	if len(e.Detail) == 0 {
		e.Detail = json.RawMessage(`{}`)
	}
	return TranslateError(s.conn(ctx).Create(e).Error)
}

// CountAudit counts audit events with action (operators and tests).
func (s *Store) CountAudit(ctx context.Context, action string) (int, error) {
	var n int64
	err := s.conn(ctx).Model(&AuditEvent{}).Where("action = ?", action).Count(&n).Error
	return int(n), TranslateError(err)
}

// ShopFingerprint hashes every row the database holds for a shop: each table
// with a shop_id column, the inbox rows of its domain and its shops row. It
// finds the tables itself, so tables added later are covered. Tests use it to
// prove that another shop's calls changed nothing.
func (s *Store) ShopFingerprint(ctx context.Context, shopID int64, domain string) (string, error) {
	var tables []string
	err := s.conn(ctx).Raw(`SELECT table_name FROM information_schema.columns
		WHERE table_schema = 'public' AND column_name = 'shop_id' ORDER BY table_name`).Scan(&tables).Error
	if err != nil {
		return "", TranslateError(err)
	}
	var parts []string
	for _, t := range tables {
		var h *string
		if err := s.conn(ctx).Raw(`SELECT md5(string_agg(x::text, '|' ORDER BY x::text)) FROM "`+t+`" x WHERE shop_id = ?`, shopID).Scan(&h).Error; err != nil {
			return "", TranslateError(err)
		}
		v := ""
		if h != nil {
			v = *h
		}
		parts = append(parts, t+"="+v)
	}
	var h1, h2 *string
	if err := s.conn(ctx).Raw(`SELECT md5(string_agg(x::text, '|' ORDER BY x.id)) FROM webhook_deliveries x WHERE shop_domain = ?`, domain).Scan(&h1).Error; err != nil {
		return "", TranslateError(err)
	}
	if err := s.conn(ctx).Raw(`SELECT md5(x::text) FROM shops x WHERE id = ?`, shopID).Scan(&h2).Error; err != nil {
		return "", TranslateError(err)
	}
	deref := func(p *string) string {
		if p == nil {
			return ""
		}
		return *p
	}
	return fmt.Sprint(parts, deref(h1), deref(h2)), nil
}
