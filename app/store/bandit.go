package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// BanditGroup is one group of a campaign's assigned shoppers (segment
// channel and device, arm, level served) with their outcomes in the window:
// every order from the assignment to the campaign's end, coupon or not,
// counted as the experiment readout counts them (ExperimentShoppers).
// Level is the level's campaign id as text: a treated assignment recorded
// without a level was served the campaign's own discount; control rows
// have none. Money is minor units.
type BanditGroup struct {
	Channel, Device string
	Arm             string
	Level           string
	Shoppers        int64
	Converters      int64
	Orders          int64
	Revenue         int64
	Discount        int64
}

// BanditGroups aggregates a campaign's assignments for the bandit in one
// query (no row per shopper leaves the database).
func (s *Store) BanditGroups(ctx context.Context, shopID, campaignID int64) ([]BanditGroup, error) {
	rows, err := s.pool.Query(ctx, `SELECT ea.channel, ea.device, ea.arm,
			CASE WHEN ea.arm = 'control' THEN '' WHEN ea.level = '' THEN ea.campaign_id::text ELSE ea.level END AS lvl,
			count(*), count(*) FILTER (WHERE o.n > 0), COALESCE(sum(o.n), 0)::bigint,
			COALESCE(sum(o.revenue), 0)::bigint, COALESCE(sum(o.discount), 0)::bigint
		FROM experiment_assignments ea
		JOIN campaigns cp ON cp.shop_id = ea.shop_id AND cp.id = ea.campaign_id
		LEFT JOIN LATERAL (
			SELECT count(*) AS n, sum(x.revenue) AS revenue, sum(x.discount) AS discount
			FROM (`+assignedShopperOrders+`) x
			WHERE x.at >= ea.assigned_at AND (cp.ends_at IS NULL OR x.at < cp.ends_at)
		) o ON true
		WHERE ea.shop_id = $1 AND ea.campaign_id = $2
		GROUP BY 1, 2, 3, 4
		ORDER BY 1, 2, 3, 4`, shopID, campaignID)
	if err != nil {
		return nil, fmt.Errorf("store: bandit groups of campaign %d: %w", campaignID, TranslateError(err))
	}
	defer rows.Close()
	var out []BanditGroup
	for rows.Next() {
		var g BanditGroup
		if err := rows.Scan(&g.Channel, &g.Device, &g.Arm, &g.Level, &g.Shoppers, &g.Converters, &g.Orders, &g.Revenue, &g.Discount); err != nil {
			return nil, TranslateError(err)
		}
		out = append(out, g)
	}
	return out, TranslateError(rows.Err())
}

// BanditCampaign is a campaign whose experiment has discount-level arms.
type BanditCampaign struct {
	ShopID, CampaignID int64
	Currency           string
	Holdout            float64
	Margin             float64
	ArmCampaigns       []int64
}

// BanditCampaigns lists the campaigns with arm campaigns whose bandit may
// still learn: not drafts, of installed shops, not ended more than 30 days
// before now (late orders of the window still arrive after the end).
func (s *Store) BanditCampaigns(ctx context.Context, now time.Time) ([]BanditCampaign, error) {
	rows, err := s.pool.Query(ctx, `SELECT es.shop_id, es.campaign_id, sh.currency, cp.holdout::float8, es.margin, es.arm_campaigns
		FROM experiment_settings es
		JOIN campaigns cp ON cp.shop_id = es.shop_id AND cp.id = es.campaign_id
		JOIN shops sh ON sh.id = es.shop_id
		WHERE cardinality(es.arm_campaigns) > 0 AND cp.status <> 'draft' AND sh.uninstalled_at IS NULL
			AND (cp.ends_at IS NULL OR cp.ends_at > $1::timestamptz - interval '30 days')
		ORDER BY es.shop_id, es.campaign_id`, now)
	if err != nil {
		return nil, fmt.Errorf("store: bandit campaigns: %w", TranslateError(err))
	}
	defer rows.Close()
	var out []BanditCampaign
	for rows.Next() {
		var b BanditCampaign
		if err := rows.Scan(&b.ShopID, &b.CampaignID, &b.Currency, &b.Holdout, &b.Margin, &b.ArmCampaigns); err != nil {
			return nil, TranslateError(err)
		}
		out = append(out, b)
	}
	return out, TranslateError(rows.Err())
}

// BanditSnapshot is the bandit's stored state of one campaign: Counts
// (experiment.BanditCounts) and Levels ([]experiment.LevelSummary) as JSON.
type BanditSnapshot struct {
	ShopID, CampaignID int64
	Counts             json.RawMessage
	Levels             json.RawMessage
	ComputedAt         time.Time
}

// SaveBanditSnapshot replaces the campaign's snapshot.
func (s *Store) SaveBanditSnapshot(ctx context.Context, b *BanditSnapshot) error {
	if len(b.Levels) == 0 {
		b.Levels = json.RawMessage(`[]`)
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO bandit_snapshots (shop_id, campaign_id, counts, levels, computed_at)
		VALUES ($1, $2, $3::jsonb, $4::jsonb, $5)
		ON CONFLICT (shop_id, campaign_id) DO UPDATE SET counts = EXCLUDED.counts, levels = EXCLUDED.levels, computed_at = EXCLUDED.computed_at`,
		b.ShopID, b.CampaignID, string(b.Counts), string(b.Levels), b.ComputedAt)
	if err != nil {
		return fmt.Errorf("store: save bandit snapshot of campaign %d: %w", b.CampaignID, TranslateError(err))
	}
	return nil
}

// LoadBanditSnapshot returns the campaign's snapshot, or ErrNotFound before
// the first refresh.
func (s *Store) LoadBanditSnapshot(ctx context.Context, shopID, campaignID int64) (*BanditSnapshot, error) {
	b := BanditSnapshot{ShopID: shopID, CampaignID: campaignID}
	var counts, levels []byte
	err := s.pool.QueryRow(ctx, `SELECT counts, levels, computed_at FROM bandit_snapshots WHERE shop_id = $1 AND campaign_id = $2`,
		shopID, campaignID).Scan(&counts, &levels, &b.ComputedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("store: bandit snapshot of campaign %d: %w", campaignID, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("store: bandit snapshot of campaign %d: %w", campaignID, TranslateError(err))
	}
	b.Counts, b.Levels = counts, levels
	return &b, nil
}

// BanditRetirement is a level the bandit no longer serves, and why.
type BanditRetirement struct {
	ShopID, CampaignID       int64
	Level                    string // the level's campaign id as text
	RetiredAt                time.Time
	Reason                   string
	ExpectedProfitPerShopper float64 // minor units
	PLoss                    float64
	Shoppers                 int64
}

// RetireBanditLevel records a retirement once; it reports whether this call
// retired the level (false: it was retired before, and keeps its first
// reason).
func (s *Store) RetireBanditLevel(ctx context.Context, r *BanditRetirement) (bool, error) {
	tag, err := s.pool.Exec(ctx, `INSERT INTO bandit_retirements (shop_id, campaign_id, level, retired_at, reason, expected_profit_per_shopper, p_loss, shoppers)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (shop_id, campaign_id, level) DO NOTHING`,
		r.ShopID, r.CampaignID, r.Level, r.RetiredAt, r.Reason, r.ExpectedProfitPerShopper, r.PLoss, r.Shoppers)
	if err != nil {
		return false, fmt.Errorf("store: retire level %s of campaign %d: %w", r.Level, r.CampaignID, TranslateError(err))
	}
	return tag.RowsAffected() == 1, nil
}

// BanditRetirements lists the campaign's retired levels, oldest first.
func (s *Store) BanditRetirements(ctx context.Context, shopID, campaignID int64) ([]BanditRetirement, error) {
	rows, err := s.pool.Query(ctx, `SELECT level, retired_at, reason, expected_profit_per_shopper, p_loss, shoppers FROM bandit_retirements
		WHERE shop_id = $1 AND campaign_id = $2 ORDER BY retired_at, level`, shopID, campaignID)
	if err != nil {
		return nil, fmt.Errorf("store: bandit retirements of campaign %d: %w", campaignID, TranslateError(err))
	}
	defer rows.Close()
	var out []BanditRetirement
	for rows.Next() {
		r := BanditRetirement{ShopID: shopID, CampaignID: campaignID}
		if err := rows.Scan(&r.Level, &r.RetiredAt, &r.Reason, &r.ExpectedProfitPerShopper, &r.PLoss, &r.Shoppers); err != nil {
			return nil, TranslateError(err)
		}
		out = append(out, r)
	}
	return out, TranslateError(rows.Err())
}

// BanditState is what the issue path needs to serve one treated shopper of
// a campaign: its arm campaigns (and which of them can issue now), its
// retired levels, the bandit's counts and the shopper's recorded
// assignment, if any.
type BanditState struct {
	Margin       float64
	ArmCampaigns []int64
	LiveArms     []int64 // arm campaigns that are active and within their dates at now
	Retired      []string
	Counts       json.RawMessage // nil before the first refresh
	ComputedAt   *time.Time
	Assigned     bool   // the shopper has an assignment
	Level        string // its recorded level ('' = the campaign's own discount)
}

// BanditStateFor reads the bandit state of campaignID for shopper in one
// round trip of primary-key lookups; ErrNotFound when the campaign has no
// experiment settings (so no arms).
func (s *Store) BanditStateFor(ctx context.Context, shopID, campaignID int64, shopper string, now time.Time) (*BanditState, error) {
	var b BanditState
	var counts []byte
	var level *string
	err := s.pool.QueryRow(ctx, `SELECT es.margin, es.arm_campaigns,
			ARRAY(SELECT c.id FROM campaigns c WHERE c.shop_id = es.shop_id AND c.id = ANY(es.arm_campaigns)
				AND c.status = 'active' AND c.starts_at <= $4 AND (c.ends_at IS NULL OR c.ends_at > $4) ORDER BY c.id),
			ARRAY(SELECT br.level FROM bandit_retirements br WHERE br.shop_id = es.shop_id AND br.campaign_id = es.campaign_id),
			bs.counts, bs.computed_at, ea.level
		FROM experiment_settings es
		LEFT JOIN bandit_snapshots bs ON bs.shop_id = es.shop_id AND bs.campaign_id = es.campaign_id
		LEFT JOIN experiment_assignments ea ON ea.shop_id = es.shop_id AND ea.campaign_id = es.campaign_id AND ea.shopper = $3
		WHERE es.shop_id = $1 AND es.campaign_id = $2`, shopID, campaignID, shopper, now).
		Scan(&b.Margin, &b.ArmCampaigns, &b.LiveArms, &b.Retired, &counts, &b.ComputedAt, &level)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("store: bandit state of campaign %d: %w", campaignID, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("store: bandit state of campaign %d: %w", campaignID, TranslateError(err))
	}
	if counts != nil {
		b.Counts = counts
	}
	if level != nil {
		b.Assigned, b.Level = true, *level
	}
	return &b, nil
}

// RecordBanditAssignment stores a treated shopper's assignment with the
// level the bandit chose, once, and returns the level the shopper holds:
// the chosen one, or the one a concurrent first request recorded before
// (the first sighting wins, like RecordAssignment).
func (s *Store) RecordBanditAssignment(ctx context.Context, a *Assignment) (string, error) {
	var level string
	err := s.pool.QueryRow(ctx, `INSERT INTO experiment_assignments
		(shop_id, campaign_id, shopper, customer_id, email, arm, level, partner_id, channel, country, device, assigned_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
		ON CONFLICT (shop_id, campaign_id, shopper) DO NOTHING RETURNING level`,
		a.ShopID, a.CampaignID, a.Shopper, a.CustomerID, a.Email, a.Arm, a.Level, a.PartnerID, a.Channel, a.Country, a.Device, a.AssignedAt).Scan(&level)
	if err == nil {
		return level, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return "", fmt.Errorf("store: record bandit assignment: %w", TranslateError(err))
	}
	err = s.pool.QueryRow(ctx, `SELECT level FROM experiment_assignments WHERE shop_id = $1 AND campaign_id = $2 AND shopper = $3`,
		a.ShopID, a.CampaignID, a.Shopper).Scan(&level)
	if err != nil {
		return "", fmt.Errorf("store: read bandit assignment: %w", TranslateError(err))
	}
	return level, nil
}
