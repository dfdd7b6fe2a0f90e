package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// Shop is one merchant store. Token fields hold ciphertexts only.
type Shop struct {
	ID                    int64 `gorm:"primaryKey"`
	Domain                string
	Name                  string
	Currency              string
	Plan                  string
	Timezone              string
	Scopes                string
	AccessTokenEnc        *string
	AccessTokenExpiresAt  *time.Time
	RefreshTokenEnc       *string
	RefreshTokenExpiresAt *time.Time
	TokenKind             string
	InstalledAt           *time.Time
	UninstalledAt         *time.Time
	Settings              json.RawMessage `gorm:"type:jsonb"`
	CreatedAt             time.Time
	UpdatedAt             time.Time
}

// TableName pins the table.
func (Shop) TableName() string { return "shops" }

// Installed reports whether the shop currently has the app installed.
func (s *Shop) Installed() bool { return s.InstalledAt != nil && s.UninstalledAt == nil }

// ShopTokens is what an install or a refresh writes, atomically.
type ShopTokens struct {
	AccessTokenEnc        string
	AccessTokenExpiresAt  *time.Time
	RefreshTokenEnc       *string
	RefreshTokenExpiresAt *time.Time
	TokenKind             string
	Scopes                string
}

// InstallShop records an install (or reinstall) of domain with its tokens:
// the row is created if new, tokens replaced, uninstalled_at cleared.
func (s *Store) InstallShop(ctx context.Context, domain string, t ShopTokens, now time.Time) (*Shop, error) {
	sh := Shop{
		Domain: domain, Scopes: t.Scopes, AccessTokenEnc: &t.AccessTokenEnc, AccessTokenExpiresAt: t.AccessTokenExpiresAt,
		RefreshTokenEnc: t.RefreshTokenEnc, RefreshTokenExpiresAt: t.RefreshTokenExpiresAt, TokenKind: t.TokenKind,
		InstalledAt: &now, Settings: json.RawMessage(`{}`), CreatedAt: now, UpdatedAt: now,
	}
	err := s.conn(ctx).Clauses(clause.OnConflict{
		Columns: []clause.Column{{Name: "domain"}},
		DoUpdates: clause.Assignments(map[string]any{
			"scopes": t.Scopes, "access_token_enc": t.AccessTokenEnc, "access_token_expires_at": t.AccessTokenExpiresAt,
			"refresh_token_enc": t.RefreshTokenEnc, "refresh_token_expires_at": t.RefreshTokenExpiresAt,
			"token_kind": t.TokenKind, "installed_at": gorm.Expr("CASE WHEN shops.uninstalled_at IS NOT NULL OR shops.installed_at IS NULL THEN EXCLUDED.installed_at ELSE shops.installed_at END"),
			"uninstalled_at": nil, "updated_at": now,
		}),
	}, clause.Returning{}).Create(&sh).Error
	if err != nil {
		return nil, fmt.Errorf("store: install shop %s: %w", domain, TranslateError(err))
	}
	return s.ShopByDomain(ctx, domain)
}

// ShopByDomain loads a shop by its myshopify domain.
func (s *Store) ShopByDomain(ctx context.Context, domain string) (*Shop, error) {
	var sh Shop
	if err := s.conn(ctx).Where("domain = ?", domain).Take(&sh).Error; err != nil {
		return nil, fmt.Errorf("store: shop %s: %w", domain, TranslateError(err))
	}
	return &sh, nil
}

// ShopByID loads a shop by id.
func (s *Store) ShopByID(ctx context.Context, id int64) (*Shop, error) {
	var sh Shop
	if err := s.conn(ctx).Where("id = ?", id).Take(&sh).Error; err != nil {
		return nil, fmt.Errorf("store: shop %d: %w", id, TranslateError(err))
	}
	return &sh, nil
}

// LockShop loads a shop with a row lock (FOR UPDATE); it must run inside InTx.
// Token refresh uses it so that exactly one replica refreshes at a time.
func (s *Store) LockShop(ctx context.Context, id int64) (*Shop, error) {
	var sh Shop
	if err := s.conn(ctx).Clauses(clause.Locking{Strength: "UPDATE"}).Where("id = ?", id).Take(&sh).Error; err != nil {
		return nil, fmt.Errorf("store: lock shop %d: %w", id, TranslateError(err))
	}
	return &sh, nil
}

// SaveShopTokens replaces a shop's tokens (access and refresh together).
func (s *Store) SaveShopTokens(ctx context.Context, id int64, t ShopTokens, now time.Time) error {
	res := s.conn(ctx).Model(&Shop{}).Where("id = ?", id).Updates(map[string]any{
		"access_token_enc": t.AccessTokenEnc, "access_token_expires_at": t.AccessTokenExpiresAt,
		"refresh_token_enc": t.RefreshTokenEnc, "refresh_token_expires_at": t.RefreshTokenExpiresAt,
		"token_kind": t.TokenKind, "scopes": t.Scopes, "updated_at": now,
	})
	if res.Error != nil {
		return fmt.Errorf("store: save tokens shop %d: %w", id, TranslateError(res.Error))
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("store: save tokens shop %d: %w", id, ErrNotFound)
	}
	return nil
}

// UpdateShopDetails stores what the Admin API says about the shop.
func (s *Store) UpdateShopDetails(ctx context.Context, id int64, name, currency, plan, timezone string, now time.Time) error {
	err := s.conn(ctx).Model(&Shop{}).Where("id = ?", id).Updates(map[string]any{
		"name": name, "currency": currency, "plan": plan, "timezone": timezone, "updated_at": now,
	}).Error
	return TranslateError(err)
}

// UpdateShopScopes records the scopes granted (app/scopes_update).
func (s *Store) UpdateShopScopes(ctx context.Context, id int64, scopes string, now time.Time) error {
	return TranslateError(s.conn(ctx).Model(&Shop{}).Where("id = ?", id).Updates(map[string]any{"scopes": scopes, "updated_at": now}).Error)
}

// MarkUninstalled marks the shop uninstalled and drops its tokens. It is
// repeat-safe: a second call leaves the first uninstall time in place.
func (s *Store) MarkUninstalled(ctx context.Context, id int64, now time.Time) error {
	err := s.conn(ctx).Model(&Shop{}).Where("id = ?", id).Updates(map[string]any{
		"uninstalled_at":   gorm.Expr("COALESCE(uninstalled_at, ?)", now),
		"access_token_enc": nil, "access_token_expires_at": nil,
		"refresh_token_enc": nil, "refresh_token_expires_at": nil, "token_kind": "", "updated_at": now,
	}).Error
	return TranslateError(err)
}

// SetShopSettings replaces a shop's settings document.
func (s *Store) SetShopSettings(ctx context.Context, id int64, settings json.RawMessage, now time.Time) error {
	return TranslateError(s.conn(ctx).Model(&Shop{}).Where("id = ?", id).Updates(map[string]any{"settings": settings, "updated_at": now}).Error)
}

// InstalledShops lists the shops that have the app installed.
func (s *Store) InstalledShops(ctx context.Context) ([]Shop, error) {
	var out []Shop
	err := s.conn(ctx).Where("installed_at IS NOT NULL AND uninstalled_at IS NULL").Order("id").Find(&out).Error
	return out, TranslateError(err)
}

// DeleteShopData erases everything stored for a shop (shop/redact). Child
// tables cascade from shops; the inbox is keyed by domain.
func (s *Store) DeleteShopData(ctx context.Context, domain string) error {
	return s.InTx(ctx, func(ctx context.Context) error {
		// codes carry no foreign key (bulk insert speed): delete them first.
		if err := s.conn(ctx).Exec("DELETE FROM codes WHERE shop_id = (SELECT id FROM shops WHERE domain = ?)", domain).Error; err != nil {
			return err
		}
		if err := s.conn(ctx).Exec("DELETE FROM shops WHERE domain = ?", domain).Error; err != nil {
			return err
		}
		return s.conn(ctx).Exec("UPDATE webhook_deliveries SET payload = '\\x7b7d'::bytea WHERE shop_domain = ? AND topic <> 'shop/redact'", domain).Error
	})
}
