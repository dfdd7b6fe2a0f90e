package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Cart-recovery statuses (cart_recoveries.status).
const (
	CartScheduled = "scheduled"
	CartCompleted = "completed"
	CartSent      = "sent"
	CartHoldout   = "holdout"
	CartSkipped   = "skipped"
)

// Cart touchpoint channels.
const (
	CartChannelFlow    = "flow"
	CartChannelWebhook = "webhook"
	CartChannelOnsite  = "onsite"
)

// CartConfig is what a cart-recovery campaign adds to the campaign: the cart
// value threshold and how often one shopper may get a recovery code.
type CartConfig struct {
	CampaignID   int64
	ShopID       int64
	MinCartMinor int64
	OncePerDays  int
	UpdatedAt    time.Time
}

// DefaultCartOncePerDays is the cooldown of a campaign without a config.
const DefaultCartOncePerDays = 30

// CartConfigOf returns the campaign's cart-recovery config, or the defaults.
func (s *Store) CartConfigOf(ctx context.Context, shopID, campaignID int64) (*CartConfig, error) {
	var out []CartConfig
	err := s.conn(ctx).Raw(`SELECT campaign_id, shop_id, min_cart_minor, once_per_days, updated_at FROM cart_recovery_configs
		WHERE shop_id = ? AND campaign_id = ?`, shopID, campaignID).Scan(&out).Error
	if err != nil {
		return nil, fmt.Errorf("store: cart config %d: %w", campaignID, TranslateError(err))
	}
	if len(out) == 0 {
		return &CartConfig{CampaignID: campaignID, ShopID: shopID, OncePerDays: DefaultCartOncePerDays}, nil
	}
	return &out[0], nil
}

// SetCartConfig writes a campaign's cart-recovery config.
func (s *Store) SetCartConfig(ctx context.Context, c *CartConfig, now time.Time) error {
	err := s.conn(ctx).Exec(`INSERT INTO cart_recovery_configs (campaign_id, shop_id, min_cart_minor, once_per_days, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (campaign_id) DO UPDATE SET min_cart_minor = EXCLUDED.min_cart_minor,
		once_per_days = EXCLUDED.once_per_days, updated_at = EXCLUDED.updated_at WHERE cart_recovery_configs.shop_id = EXCLUDED.shop_id`,
		c.CampaignID, c.ShopID, c.MinCartMinor, c.OncePerDays, now, now).Error
	if err != nil {
		return fmt.Errorf("store: set cart config %d: %w", c.CampaignID, TranslateError(err))
	}
	c.UpdatedAt = now
	return nil
}

// CartRecovery is the abandonment check of one checkout.
type CartRecovery struct {
	ID            int64
	ShopID        int64
	CheckoutToken string
	Version       time.Time
	DueAt         time.Time
	Status        string
	Reason        string
	CampaignID    *int64
	CustomerEmail string
	CustomerID    *int64
	Currency      string
	TotalMinor    int64
	Code          *string
	CodeExpiresAt *time.Time
	RecoveryURL   string
	Reschedules   int
	CheckedAt     *time.Time
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

const cartRecoveryCols = `id, shop_id, checkout_token, version, due_at, status, reason, campaign_id, customer_email, customer_id, currency,
	total_minor, code, code_expires_at, recovery_url, reschedules, checked_at, created_at, updated_at`

// ScheduleCartCheck records that the checkout c must be checked at due. A
// new checkout inserts a scheduled row; a newer version of a checkout whose
// check has not run yet moves due and the version (Reschedules+1); an
// older or equal version, or a checkout already checked, changes nothing.
// The row after the call comes back either way; changed says whether this
// call created or moved it. A completed checkout is recorded as completed.
func (s *Store) ScheduleCartCheck(ctx context.Context, c *Checkout, due, now time.Time) (r *CartRecovery, changed bool, err error) {
	status := CartScheduled
	if c.CompletedAt != nil {
		status = CartCompleted
	}
	var out []CartRecovery
	err = s.InTx(ctx, func(ctx context.Context) error {
		if err := s.lockKey(ctx, "cart-recovery:"+checkoutLockKey(c.ShopID, c.Token)); err != nil {
			return err
		}
		if err := s.conn(ctx).Raw(`INSERT INTO cart_recoveries (shop_id, checkout_token, version, due_at, status, customer_email, customer_id,
				currency, total_minor, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (shop_id, checkout_token) DO UPDATE SET
				version = EXCLUDED.version,
				due_at = CASE WHEN EXCLUDED.status = 'completed' THEN cart_recoveries.due_at ELSE EXCLUDED.due_at END,
				status = EXCLUDED.status,
				customer_email = EXCLUDED.customer_email, customer_id = EXCLUDED.customer_id,
				currency = EXCLUDED.currency, total_minor = EXCLUDED.total_minor,
				reschedules = cart_recoveries.reschedules + CASE WHEN EXCLUDED.status = 'scheduled' THEN 1 ELSE 0 END,
				updated_at = EXCLUDED.updated_at
			WHERE cart_recoveries.status = 'scheduled' AND cart_recoveries.version < EXCLUDED.version
			RETURNING `+cartRecoveryCols,
			c.ShopID, c.Token, c.CheckoutUpdatedAt, due, status, strings.ToLower(c.Email), c.CustomerID, c.Currency, c.TotalMinor,
			now, now).Scan(&out).Error; err != nil {
			return err
		}
		if len(out) == 1 {
			changed = true
			return nil
		}
		return s.conn(ctx).Raw(`SELECT `+cartRecoveryCols+` FROM cart_recoveries WHERE shop_id = ? AND checkout_token = ?`,
			c.ShopID, c.Token).Scan(&out).Error
	})
	if err != nil {
		return nil, false, fmt.Errorf("store: schedule cart check %s: %w", c.Token, TranslateError(err))
	}
	if len(out) == 0 {
		return nil, false, fmt.Errorf("store: schedule cart check %s: %w", c.Token, ErrNotFound)
	}
	return &out[0], changed, nil
}

// CartRecoveryByToken loads the check of one of the shop's checkouts.
func (s *Store) CartRecoveryByToken(ctx context.Context, shopID int64, token string) (*CartRecovery, error) {
	var out []CartRecovery
	err := s.conn(ctx).Raw(`SELECT `+cartRecoveryCols+` FROM cart_recoveries WHERE shop_id = ? AND checkout_token = ?`, shopID, token).Scan(&out).Error
	if err != nil {
		return nil, fmt.Errorf("store: cart recovery %s: %w", token, TranslateError(err))
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("store: cart recovery %s: %w", token, ErrNotFound)
	}
	return &out[0], nil
}

// DueCartRecoveries lists up to limit scheduled checks due at now, oldest
// first.
func (s *Store) DueCartRecoveries(ctx context.Context, now time.Time, limit int) ([]CartRecovery, error) {
	var out []CartRecovery
	err := s.conn(ctx).Raw(`SELECT `+cartRecoveryCols+` FROM cart_recoveries WHERE status = 'scheduled' AND due_at <= ?
		ORDER BY due_at LIMIT ?`, now, limit).Scan(&out).Error
	if err != nil {
		return nil, fmt.Errorf("store: due cart recoveries: %w", TranslateError(err))
	}
	return out, nil
}

// CheckoutCompleted reports whether the checkout became an order: an order
// with that checkout_token is recorded or the checkout says it completed.
func (s *Store) CheckoutCompleted(ctx context.Context, shopID int64, token string) (bool, error) {
	var n []int64
	err := s.conn(ctx).Raw(`SELECT 1 WHERE EXISTS (SELECT 1 FROM orders WHERE shop_id = ? AND checkout_token = ? AND checkout_token <> '')
		OR EXISTS (SELECT 1 FROM checkouts WHERE shop_id = ? AND token = ? AND completed_at IS NOT NULL)`,
		shopID, token, shopID, token).Scan(&n).Error
	if err != nil {
		return false, fmt.Errorf("store: checkout %s completed: %w", token, TranslateError(err))
	}
	return len(n) > 0, nil
}

// CartOutcome is how a check ended.
type CartOutcome struct {
	Status        string
	Reason        string
	CampaignID    *int64
	Code          *string
	CodeExpiresAt *time.Time
	RecoveryURL   string
}

// FinishCartRecovery ends a scheduled check of version, if it still is
// scheduled at that version; false when another run ended or moved it.
func (s *Store) FinishCartRecovery(ctx context.Context, id int64, version time.Time, o CartOutcome, now time.Time) (bool, error) {
	res := s.conn(ctx).Exec(`UPDATE cart_recoveries SET status = ?, reason = ?, campaign_id = ?, code = ?, code_expires_at = ?,
		recovery_url = ?, checked_at = ?, updated_at = ? WHERE id = ? AND status = 'scheduled' AND version = ?`,
		o.Status, o.Reason, o.CampaignID, o.Code, o.CodeExpiresAt, o.RecoveryURL, now, now, id, version)
	if res.Error != nil {
		return false, fmt.Errorf("store: finish cart recovery %d: %w", id, TranslateError(res.Error))
	}
	return res.RowsAffected == 1, nil
}

// ShopperRecoveredSince reports whether the shopper (customer id or email)
// got a recovery code of the campaign since since, for another checkout
// than token.
func (s *Store) ShopperRecoveredSince(ctx context.Context, shopID, campaignID int64, customerID *int64, email, token string, since time.Time) (bool, error) {
	if customerID == nil && email == "" {
		return false, nil
	}
	var n []int64
	err := s.conn(ctx).Raw(`SELECT 1 FROM cart_recoveries WHERE shop_id = ? AND campaign_id = ? AND status = 'sent' AND checked_at >= ?
		AND checkout_token <> ? AND ((CAST(? AS BIGINT) IS NOT NULL AND customer_id = ?) OR (? <> '' AND lower(customer_email) = lower(?))) LIMIT 1`,
		shopID, campaignID, since, token, customerID, customerID, email, email).Scan(&n).Error
	if err != nil {
		return false, fmt.Errorf("store: shopper recovered: %w", TranslateError(err))
	}
	return len(n) > 0, nil
}

// ActiveCartCampaigns lists the shop's cart_recovery campaigns that are
// active at now, oldest first.
func (s *Store) ActiveCartCampaigns(ctx context.Context, shopID int64, now time.Time) ([]Campaign, error) {
	var out []Campaign
	err := s.conn(ctx).Where(`shop_id = ? AND goal = 'cart_recovery' AND status = 'active' AND starts_at <= ? AND (ends_at IS NULL OR ends_at > ?)`,
		shopID, now, now).Order("id").Find(&out).Error
	if err != nil {
		return nil, fmt.Errorf("store: cart campaigns: %w", TranslateError(err))
	}
	return out, nil
}

// CartTouchpoint is one delivery (or withholding) of a cart-recovery code.
type CartTouchpoint struct {
	ID            int64
	ShopID        int64
	CampaignID    *int64
	Channel       string
	Code          *string
	Holdout       bool
	CheckoutToken *string
	VisitorID     *string
	CustomerEmail string
	CustomerID    *int64
	Trigger       string
	ExpiresAt     *time.Time
	CreatedAt     time.Time
}

// TableName pins the table.
func (CartTouchpoint) TableName() string { return "cart_touchpoints" }

// RecordCartTouchpoint inserts a touchpoint.
func (s *Store) RecordCartTouchpoint(ctx context.Context, tp *CartTouchpoint) error {
	if err := s.conn(ctx).Create(tp).Error; err != nil {
		return fmt.Errorf("store: cart touchpoint: %w", TranslateError(err))
	}
	return nil
}

// CartTouchpoints lists the touchpoints of a campaign (newest first, at
// most limit).
func (s *Store) CartTouchpoints(ctx context.Context, shopID, campaignID int64, limit int) ([]CartTouchpoint, error) {
	var out []CartTouchpoint
	err := s.conn(ctx).Where("shop_id = ? AND campaign_id = ?", shopID, campaignID).Order("id DESC").Limit(limit).Find(&out).Error
	if err != nil {
		return nil, fmt.Errorf("store: cart touchpoints: %w", TranslateError(err))
	}
	return out, nil
}

// VisitorOnsite returns the visitor's latest onsite touchpoint of the
// campaign whose code is still issued and unexpired at now, or its holdout
// assignment; ErrNotFound when there is none.
func (s *Store) VisitorOnsite(ctx context.Context, shopID, campaignID int64, visitor string, now time.Time) (*CartTouchpoint, error) {
	var out []CartTouchpoint
	err := s.conn(ctx).Raw(`SELECT t.* FROM cart_touchpoints t LEFT JOIN codes c ON c.shop_id = t.shop_id AND c.code = t.code
		WHERE t.shop_id = ? AND t.campaign_id = ? AND t.visitor_id = ? AND t.channel = 'onsite'
			AND (t.holdout OR (c.status = 'issued' AND (c.expires_at IS NULL OR c.expires_at > ?)))
		ORDER BY t.id DESC LIMIT 1`, shopID, campaignID, visitor, now).Scan(&out).Error
	if err != nil {
		return nil, fmt.Errorf("store: visitor onsite: %w", TranslateError(err))
	}
	if len(out) == 0 {
		return nil, ErrNotFound
	}
	return &out[0], nil
}

// FlowRun is the stored answer to one Flow action run.
type FlowRun struct {
	Status int
	Body   []byte
}

// FlowRunAnswer returns the answer given to a Flow action run, or
// ErrNotFound.
func (s *Store) FlowRunAnswer(ctx context.Context, shopID int64, runID string) (*FlowRun, error) {
	var out []FlowRun
	err := s.conn(ctx).Raw(`SELECT status, body FROM flow_action_runs WHERE shop_id = ? AND action_run_id = ?`, shopID, runID).Scan(&out).Error
	if err != nil {
		return nil, fmt.Errorf("store: flow run: %w", TranslateError(err))
	}
	if len(out) == 0 {
		return nil, ErrNotFound
	}
	return &out[0], nil
}

// SaveFlowRunAnswer stores the answer to a Flow action run; when the run
// already has one (a concurrent duplicate), that first answer comes back;
// first says whether this call stored it.
func (s *Store) SaveFlowRunAnswer(ctx context.Context, shopID int64, runID string, r FlowRun, now time.Time) (*FlowRun, bool, error) {
	res := s.conn(ctx).Exec(`INSERT INTO flow_action_runs (shop_id, action_run_id, status, body, created_at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (shop_id, action_run_id) DO NOTHING`, shopID, runID, r.Status, r.Body, now)
	if res.Error != nil {
		return nil, false, fmt.Errorf("store: save flow run: %w", TranslateError(res.Error))
	}
	if res.RowsAffected == 1 {
		return &r, true, nil
	}
	prev, err := s.FlowRunAnswer(ctx, shopID, runID)
	return prev, false, err
}

// CartReport is the cart-recovery outcome of one campaign. Eligible
// checkouts are those the campaign's rules accepted: treated (a code was
// sent) or held out (control). Recovered means an order completed the
// checkout after the check.
type CartReport struct {
	CampaignID        int64
	Currency          string
	Abandoned         int64 // checks that found the checkout abandoned and picked this campaign
	CodesSent         int64
	Holdout           int64
	Skipped           int64
	RecoveredTreated  int64
	RecoveredHoldout  int64
	RecoveredRevenue  int64 // minor units, treated arm
	RedeemedCodes     int64 // cart-recovery codes used by an order
	OnsiteCodes       int64
	OnsiteHoldout     int64
	FlowDeliveries    int64
	WebhookDeliveries int64
	RedeemedRevenue   int64 // minor units of conversions crediting this campaign's cart codes
	AttributedOrders  int64
	ReportedAt        time.Time
}

// CartReportOf computes the report of one of the shop's campaigns
// (ErrNotFound when the campaign is not the shop's).
func (s *Store) CartReportOf(ctx context.Context, shopID, campaignID int64, now time.Time) (*CartReport, error) {
	var own []int64
	if err := s.conn(ctx).Raw(`SELECT id FROM campaigns WHERE shop_id = ? AND id = ?`, shopID, campaignID).Scan(&own).Error; err != nil {
		return nil, fmt.Errorf("store: cart report: %w", TranslateError(err))
	}
	if len(own) == 0 {
		return nil, fmt.Errorf("store: cart report campaign %d: %w", campaignID, ErrNotFound)
	}
	r := CartReport{CampaignID: campaignID, ReportedAt: now}
	var row []struct {
		Abandoned, CodesSent, Holdout, Skipped, RecoveredTreated, RecoveredHoldout, RecoveredRevenue int64
	}
	err := s.conn(ctx).Raw(`SELECT count(*) AS abandoned,
			count(*) FILTER (WHERE r.status = 'sent') AS codes_sent,
			count(*) FILTER (WHERE r.status = 'holdout') AS holdout,
			count(*) FILTER (WHERE r.status = 'skipped') AS skipped,
			count(*) FILTER (WHERE r.status = 'sent' AND o.order_id IS NOT NULL) AS recovered_treated,
			count(*) FILTER (WHERE r.status = 'holdout' AND o.order_id IS NOT NULL) AS recovered_holdout,
			COALESCE(sum(COALESCE(o.current_total_minor, o.total_minor)) FILTER (WHERE r.status = 'sent' AND o.order_id IS NOT NULL), 0)::bigint AS recovered_revenue
		FROM cart_recoveries r
		LEFT JOIN LATERAL (SELECT order_id, total_minor, current_total_minor FROM orders
			WHERE shop_id = r.shop_id AND checkout_token = r.checkout_token AND cancelled_at IS NULL ORDER BY order_created_at LIMIT 1) o ON true
		WHERE r.shop_id = ? AND r.campaign_id = ?`, shopID, campaignID).Scan(&row).Error
	if err != nil {
		return nil, fmt.Errorf("store: cart report: %w", TranslateError(err))
	}
	if len(row) == 1 {
		x := row[0]
		r.Abandoned, r.CodesSent, r.Holdout, r.Skipped = x.Abandoned, x.CodesSent, x.Holdout, x.Skipped
		r.RecoveredTreated, r.RecoveredHoldout, r.RecoveredRevenue = x.RecoveredTreated, x.RecoveredHoldout, x.RecoveredRevenue
	}
	var tp []struct{ Onsite, OnsiteHoldout, Flow, Webhook int64 }
	err = s.conn(ctx).Raw(`SELECT count(*) FILTER (WHERE channel = 'onsite' AND NOT holdout) AS onsite,
			count(*) FILTER (WHERE channel = 'onsite' AND holdout) AS onsite_holdout,
			count(*) FILTER (WHERE channel = 'flow') AS flow, count(*) FILTER (WHERE channel = 'webhook') AS webhook
		FROM cart_touchpoints WHERE shop_id = ? AND campaign_id = ?`, shopID, campaignID).Scan(&tp).Error
	if err != nil {
		return nil, fmt.Errorf("store: cart report touchpoints: %w", TranslateError(err))
	}
	if len(tp) == 1 {
		r.OnsiteCodes, r.OnsiteHoldout, r.FlowDeliveries, r.WebhookDeliveries = tp[0].Onsite, tp[0].OnsiteHoldout, tp[0].Flow, tp[0].Webhook
	}
	var conv []struct {
		Orders, Revenue int64
		Currency        string
	}
	err = s.conn(ctx).Raw(`SELECT count(*) AS orders, COALESCE(sum(v.net_minor), 0)::bigint AS revenue, COALESCE(max(v.currency), '') AS currency
		FROM conversions v WHERE v.shop_id = ? AND v.campaign_id = ? AND v.status <> 'reversed' AND v.status <> 'rejected'`, shopID, campaignID).Scan(&conv).Error
	if err != nil {
		return nil, fmt.Errorf("store: cart report conversions: %w", TranslateError(err))
	}
	if len(conv) == 1 {
		r.AttributedOrders, r.RedeemedRevenue, r.Currency = conv[0].Orders, conv[0].Revenue, conv[0].Currency
	}
	var red []int64
	err = s.conn(ctx).Raw(`SELECT count(*) FROM codes WHERE shop_id = ? AND campaign_id = ? AND status = 'redeemed'`, shopID, campaignID).Scan(&red).Error
	if err != nil {
		return nil, fmt.Errorf("store: cart report codes: %w", TranslateError(err))
	}
	if len(red) == 1 {
		r.RedeemedCodes = red[0]
	}
	if r.Currency == "" {
		var cur []string
		if err := s.conn(ctx).Raw(`SELECT currency FROM shops WHERE id = ?`, shopID).Scan(&cur).Error; err == nil && len(cur) == 1 {
			r.Currency = cur[0]
		}
	}
	return &r, nil
}

// ErrNoCartCampaign: the shop has no active cart-recovery campaign.
var ErrNoCartCampaign = errors.New("store: no active cart-recovery campaign")

// redactCartCustomer erases a customer's email and id from the cart
// recoveries and touchpoints; the rows (anonymous outcomes) stay.
func (s *Store) redactCartCustomer(ctx context.Context, shopID int64, k CustomerKey) (int64, error) {
	var total int64
	for _, table := range []string{"cart_recoveries", "cart_touchpoints"} {
		res := s.conn(ctx).Exec(`UPDATE `+table+` SET customer_email = '', customer_id = NULL WHERE shop_id = ?
			AND ((? <> '' AND customer_id::text = ?) OR (? <> '' AND lower(customer_email) = lower(?)))`, shopID, k.ID, k.ID, k.Email, k.Email)
		if res.Error != nil {
			return 0, res.Error
		}
		total += res.RowsAffected
	}
	return total, nil
}
