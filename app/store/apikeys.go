package store

import (
	"context"
	"fmt"
	"time"
)

// APIKey is a stored key (hash only).
type APIKey struct {
	ID         int64 `gorm:"primaryKey"`
	ShopID     int64
	Name       string
	Prefix     string
	KeyHash    []byte
	CreatedAt  time.Time
	LastUsedAt *time.Time
	RevokedAt  *time.Time
}

// TableName pins the table.
func (APIKey) TableName() string { return "api_keys" }

// CreateAPIKey stores a key hash for a shop.
func (s *Store) CreateAPIKey(ctx context.Context, k *APIKey) error {
	if err := s.conn(ctx).Create(k).Error; err != nil {
		return fmt.Errorf("store: create api key: %w", TranslateError(err))
	}
	return nil
}

// APIKeyByHash finds an active key by its hash.
func (s *Store) APIKeyByHash(ctx context.Context, hash []byte) (*APIKey, error) {
	var k APIKey
	if err := s.conn(ctx).Where("key_hash = ? AND revoked_at IS NULL", hash).Take(&k).Error; err != nil {
		return nil, TranslateError(err)
	}
	return &k, nil
}

// TouchAPIKey records use, at most once a minute per key.
func (s *Store) TouchAPIKey(ctx context.Context, id int64, now time.Time) error {
	return TranslateError(s.conn(ctx).Exec(`UPDATE api_keys SET last_used_at = ? WHERE id = ? AND (last_used_at IS NULL OR last_used_at < ?)`,
		now, id, now.Add(-time.Minute)).Error)
}

// ListAPIKeys lists a shop's keys, newest first.
func (s *Store) ListAPIKeys(ctx context.Context, shopID int64) ([]APIKey, error) {
	var out []APIKey
	err := s.conn(ctx).Where("shop_id = ?", shopID).Order("id DESC").Find(&out).Error
	return out, TranslateError(err)
}

// RevokeAPIKey revokes a shop's key; revoking twice is a no-op.
func (s *Store) RevokeAPIKey(ctx context.Context, shopID, id int64, now time.Time) error {
	res := s.conn(ctx).Exec(`UPDATE api_keys SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ? AND shop_id = ?`, now, id, shopID)
	if res.Error != nil {
		return TranslateError(res.Error)
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("store: api key %d: %w", id, ErrNotFound)
	}
	return nil
}
