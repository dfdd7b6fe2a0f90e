package store

import (
	"context"
	"fmt"
	"time"
)

// CreatePartner inserts p (ShopID set by the caller) and fills its id.
func (s *Store) CreatePartner(ctx context.Context, p *Partner) error {
	if len(p.PayoutDetails) == 0 {
		p.PayoutDetails = []byte("{}")
	}
	return TranslateError(s.conn(ctx).Create(p).Error)
}

// PartnerByID returns one of the shop's partners, or ErrNotFound.
func (s *Store) PartnerByID(ctx context.Context, shopID, id int64) (*Partner, error) {
	var p Partner
	if err := s.conn(ctx).Where("shop_id = ? AND id = ?", shopID, id).Take(&p).Error; err != nil {
		return nil, fmt.Errorf("store: partner %d: %w", id, TranslateError(err))
	}
	return &p, nil
}

// PartnerFilter selects a page of a shop's partners, newest first.
type PartnerFilter struct {
	ShopID   int64
	Kind     string
	Status   string
	BeforeID int64 // 0: from the newest
	Limit    int
}

// ListPartners lists the shop's partners matching f, newest first.
func (s *Store) ListPartners(ctx context.Context, f PartnerFilter) ([]Partner, error) {
	q := s.conn(ctx).Where("shop_id = ?", f.ShopID)
	if f.Kind != "" {
		q = q.Where("kind = ?", f.Kind)
	}
	if f.Status != "" {
		q = q.Where("status = ?", f.Status)
	}
	if f.BeforeID > 0 {
		q = q.Where("id < ?", f.BeforeID)
	}
	var out []Partner
	err := q.Order("id DESC").Limit(f.Limit).Find(&out).Error
	return out, TranslateError(err)
}

// UpdatePartner writes every mutable field of p (scoped by p.ShopID).
func (s *Store) UpdatePartner(ctx context.Context, p *Partner, now time.Time) error {
	if len(p.PayoutDetails) == 0 {
		p.PayoutDetails = []byte("{}")
	}
	p.UpdatedAt = now
	res := s.conn(ctx).Exec(`UPDATE partners SET name = ?, kind = ?, email = ?, customer_id = ?, commission_percent = ?,
		commission_fixed_minor = ?, payout_details = ?, status = ?, updated_at = ? WHERE shop_id = ? AND id = ?`,
		p.Name, p.Kind, p.Email, p.CustomerID, p.CommissionPercent, p.CommissionFixedMinor, string(p.PayoutDetails), p.Status, now, p.ShopID, p.ID)
	if res.Error != nil {
		return TranslateError(res.Error)
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("store: partner %d: %w", p.ID, ErrNotFound)
	}
	return nil
}
