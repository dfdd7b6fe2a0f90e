package store

import (
	"context"
	"fmt"
	"time"
)

// Campaign sync statuses.
const (
	SyncPending = "pending"
	SyncSynced  = "synced"
	SyncFailed  = "failed"
)

// CreateCampaign inserts c with its internal code (see migration 0006) and
// fills its id.
func (s *Store) CreateCampaign(ctx context.Context, c *Campaign, internalCode string) error {
	return s.InTx(ctx, func(ctx context.Context) error {
		if err := s.conn(ctx).Create(c).Error; err != nil {
			return TranslateError(err)
		}
		return TranslateError(s.conn(ctx).Exec(`UPDATE campaigns SET internal_code = ? WHERE id = ?`, internalCode, c.ID).Error)
	})
}

// CampaignByID returns one of the shop's campaigns, or ErrNotFound.
func (s *Store) CampaignByID(ctx context.Context, shopID, id int64) (*Campaign, error) {
	var c Campaign
	if err := s.conn(ctx).Where("shop_id = ? AND id = ?", shopID, id).Take(&c).Error; err != nil {
		return nil, fmt.Errorf("store: campaign %d: %w", id, TranslateError(err))
	}
	return &c, nil
}

// LockCampaign is CampaignByID with FOR UPDATE; call it inside InTx.
func (s *Store) LockCampaign(ctx context.Context, shopID, id int64) (*Campaign, error) {
	var c Campaign
	if err := s.conn(ctx).Raw(`SELECT * FROM campaigns WHERE shop_id = ? AND id = ? FOR UPDATE`, shopID, id).Scan(&c).Error; err != nil {
		return nil, fmt.Errorf("store: campaign %d: %w", id, TranslateError(err))
	}
	if c.ID == 0 {
		return nil, fmt.Errorf("store: campaign %d: %w", id, ErrNotFound)
	}
	return &c, nil
}

// CampaignFilter selects a page of a shop's campaigns, newest first.
type CampaignFilter struct {
	ShopID    int64
	Status    string
	Goal      string
	PartnerID int64
	BeforeID  int64 // 0: from the newest
	Limit     int
}

// ListCampaigns lists the shop's campaigns matching f, newest first.
func (s *Store) ListCampaigns(ctx context.Context, f CampaignFilter) ([]Campaign, error) {
	q := s.conn(ctx).Where("shop_id = ?", f.ShopID)
	if f.Status != "" {
		q = q.Where("status = ?", f.Status)
	}
	if f.Goal != "" {
		q = q.Where("goal = ?", f.Goal)
	}
	if f.PartnerID > 0 {
		q = q.Where("partner_id = ?", f.PartnerID)
	}
	if f.BeforeID > 0 {
		q = q.Where("id < ?", f.BeforeID)
	}
	var out []Campaign
	err := q.Order("id DESC").Limit(f.Limit).Find(&out).Error
	return out, TranslateError(err)
}

// UpdateCampaign writes every field the API may change (scoped by
// c.ShopID). When bump is true the rules version goes up by one and the
// sync becomes pending, so the sync job (and the sweep) bring Shopify up to
// date; c.RulesVersion and c.SyncStatus are updated to match.
func (s *Store) UpdateCampaign(ctx context.Context, c *Campaign, bump bool, now time.Time) error {
	c.UpdatedAt = now
	var row struct {
		RulesVersion int
		SyncStatus   string
	}
	err := s.conn(ctx).Raw(`UPDATE campaigns SET name = ?, goal = ?, status = ?, partner_id = ?, discount = ?, code_format = ?,
		usage = ?, rules = ?, starts_at = ?, ends_at = ?, code_ttl_hours = ?, holdout = ?, hold_days = ?, updated_at = ?,
		rules_version = rules_version + CASE WHEN ? THEN 1 ELSE 0 END,
		sync_status = CASE WHEN ? THEN 'pending' ELSE sync_status END,
		sync_error = CASE WHEN ? THEN '' ELSE sync_error END
		WHERE shop_id = ? AND id = ? RETURNING rules_version, sync_status`,
		c.Name, c.Goal, c.Status, c.PartnerID, string(c.Discount), string(c.CodeFormat), string(c.Usage), string(c.Rules),
		c.StartsAt, c.EndsAt, c.CodeTTLHours, c.Holdout, c.HoldDays, now, bump, bump, bump, c.ShopID, c.ID).Scan(&row).Error
	if err != nil {
		return TranslateError(err)
	}
	if row.SyncStatus == "" {
		return fmt.Errorf("store: campaign %d: %w", c.ID, ErrNotFound)
	}
	c.RulesVersion, c.SyncStatus = row.RulesVersion, row.SyncStatus
	if bump {
		c.SyncError = ""
	}
	return nil
}

// CampaignInternalCode returns the code the campaign's Shopify discount is
// created with ("" for campaigns made before migration 0006).
func (s *Store) CampaignInternalCode(ctx context.Context, shopID, id int64) (string, error) {
	var code *string
	if err := s.conn(ctx).Raw(`SELECT internal_code FROM campaigns WHERE shop_id = ? AND id = ?`, shopID, id).Scan(&code).Error; err != nil {
		return "", TranslateError(err)
	}
	if code == nil {
		return "", nil
	}
	return *code, nil
}

// SetCampaignInternalCode sets the internal code of a campaign that has none.
func (s *Store) SetCampaignInternalCode(ctx context.Context, shopID, id int64, code string) error {
	return TranslateError(s.conn(ctx).Exec(`UPDATE campaigns SET internal_code = ? WHERE shop_id = ? AND id = ? AND internal_code IS NULL`,
		code, shopID, id).Error)
}

// TryLockCampaignSync takes a transaction-scoped advisory lock that
// serialises Shopify syncs of one campaign across workers; call it inside
// InTx. It reports false when another sync holds it.
func (s *Store) TryLockCampaignSync(ctx context.Context, id int64) (bool, error) {
	var ok bool
	err := s.conn(ctx).Raw(`SELECT pg_try_advisory_xact_lock(hashtext('campaign-sync'), ?::int)`, int32(id)).Scan(&ok).Error
	return ok, TranslateError(err)
}

// SetCampaignDiscountID records the Shopify discount backing the campaign.
func (s *Store) SetCampaignDiscountID(ctx context.Context, shopID, id int64, discountID string, now time.Time) error {
	return TranslateError(s.conn(ctx).Exec(`UPDATE campaigns SET shopify_discount_id = ?, updated_at = ? WHERE shop_id = ? AND id = ?`,
		discountID, now, shopID, id).Error)
}

// MarkCampaignSynced records that Shopify reflects version of the campaign.
// A later change (rules_version > version) keeps the sync pending.
func (s *Store) MarkCampaignSynced(ctx context.Context, shopID, id int64, version int, now time.Time) error {
	return TranslateError(s.conn(ctx).Exec(`UPDATE campaigns SET synced_version = GREATEST(synced_version, ?),
		sync_status = CASE WHEN GREATEST(synced_version, ?) >= rules_version THEN 'synced' ELSE 'pending' END,
		sync_error = '', updated_at = ? WHERE shop_id = ? AND id = ?`, version, version, now, shopID, id).Error)
}

// MarkCampaignSyncFailed records a permanent sync failure (Shopify refused
// the input) for version; a later change makes the sync pending again.
func (s *Store) MarkCampaignSyncFailed(ctx context.Context, shopID, id int64, version int, msg string, now time.Time) error {
	return TranslateError(s.conn(ctx).Exec(`UPDATE campaigns SET sync_status = 'failed', sync_error = ?, updated_at = ?
		WHERE shop_id = ? AND id = ? AND rules_version = ?`, truncate(msg), now, shopID, id, version).Error)
}

// NoteCampaignSyncError records a transient sync error (it is retried; the
// status stays pending).
func (s *Store) NoteCampaignSyncError(ctx context.Context, shopID, id int64, msg string) error {
	return TranslateError(s.conn(ctx).Exec(`UPDATE campaigns SET sync_error = ? WHERE shop_id = ? AND id = ? AND sync_status = 'pending'`,
		truncate(msg), shopID, id).Error)
}

// CampaignRef names one campaign and its current rules version.
type CampaignRef struct {
	ID           int64
	ShopID       int64
	RulesVersion int
}

// CampaignsToSync lists non-draft campaigns of installed shops that Shopify
// has not caught up with: sync pending, or behind and not failed.
func (s *Store) CampaignsToSync(ctx context.Context, afterID int64, limit int) ([]CampaignRef, error) {
	var out []CampaignRef
	err := s.conn(ctx).Raw(`SELECT c.id, c.shop_id, c.rules_version FROM campaigns c JOIN shops s ON s.id = c.shop_id
		WHERE (c.sync_status = 'pending' OR (c.synced_version < c.rules_version AND c.sync_status <> 'failed'))
		  AND c.status <> 'draft' AND c.id > ? AND s.uninstalled_at IS NULL
		ORDER BY c.id LIMIT ?`, afterID, limit).Scan(&out).Error
	return out, TranslateError(err)
}
