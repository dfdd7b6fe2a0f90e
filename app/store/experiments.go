package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
)

// Assignment is one shopper's arm in a campaign's holdout experiment.
type Assignment struct {
	ShopID, CampaignID int64
	Shopper            string // "customer:<id>" or "email:<e-mail>"
	CustomerID         *int64
	Email              string
	Arm                string // treatment or control
	Level              string
	PartnerID          *int64
	Channel            string
	Country            string
	Device             string
	AssignedAt         time.Time
}

// RecordAssignment stores the shopper's arm once: one INSERT that does
// nothing when the shopper was assigned before (the first sighting wins, so
// the outcome window starts at the first exposure).
func (s *Store) RecordAssignment(ctx context.Context, a *Assignment) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO experiment_assignments
		(shop_id, campaign_id, shopper, customer_id, email, arm, level, partner_id, channel, country, device, assigned_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
		ON CONFLICT (shop_id, campaign_id, shopper) DO NOTHING`,
		a.ShopID, a.CampaignID, a.Shopper, a.CustomerID, a.Email, a.Arm, a.Level, a.PartnerID, a.Channel, a.Country, a.Device, a.AssignedAt)
	return TranslateError(err)
}

// ExperimentSettings is the merchant's readout settings of one campaign.
type ExperimentSettings struct {
	CampaignID   int64
	MDE          float64
	Margin       float64
	ArmCampaigns []int64
	UpdatedAt    time.Time
}

// Default experiment settings.
const (
	DefaultMDE    = 0.1
	DefaultMargin = 0.5
)

// ExperimentSettingsFor returns the settings of the campaigns (defaults for
// campaigns without a row), keyed by campaign id.
func (s *Store) ExperimentSettingsFor(ctx context.Context, shopID int64, campaignIDs []int64) (map[int64]ExperimentSettings, error) {
	out := make(map[int64]ExperimentSettings, len(campaignIDs))
	for _, id := range campaignIDs {
		out[id] = ExperimentSettings{CampaignID: id, MDE: DefaultMDE, Margin: DefaultMargin, ArmCampaigns: []int64{}}
	}
	rows, err := s.pool.Query(ctx, `SELECT campaign_id, mde, margin, arm_campaigns, updated_at FROM experiment_settings
		WHERE shop_id = $1 AND campaign_id = ANY($2)`, shopID, campaignIDs)
	if err != nil {
		return nil, TranslateError(err)
	}
	defer rows.Close()
	for rows.Next() {
		var e ExperimentSettings
		if err := rows.Scan(&e.CampaignID, &e.MDE, &e.Margin, &e.ArmCampaigns, &e.UpdatedAt); err != nil {
			return nil, TranslateError(err)
		}
		out[e.CampaignID] = e
	}
	return out, TranslateError(rows.Err())
}

// SaveExperimentSettings upserts a campaign's settings.
func (s *Store) SaveExperimentSettings(ctx context.Context, shopID int64, e ExperimentSettings) error {
	if e.ArmCampaigns == nil {
		e.ArmCampaigns = []int64{}
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO experiment_settings (shop_id, campaign_id, mde, margin, arm_campaigns, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (shop_id, campaign_id) DO UPDATE SET mde = EXCLUDED.mde, margin = EXCLUDED.margin,
			arm_campaigns = EXCLUDED.arm_campaigns, updated_at = EXCLUDED.updated_at`,
		shopID, e.CampaignID, e.MDE, e.Margin, e.ArmCampaigns, e.UpdatedAt)
	return TranslateError(err)
}

// ExperimentCampaigns lists the shop's campaigns that run an experiment: a
// holdout share above zero or recorded assignments, newest first.
func (s *Store) ExperimentCampaigns(ctx context.Context, shopID int64, beforeID int64, limit int) ([]Campaign, error) {
	var out []Campaign
	q := s.conn(ctx).Where("shop_id = ? AND (holdout > 0 OR EXISTS (SELECT 1 FROM experiment_assignments ea WHERE ea.shop_id = campaigns.shop_id AND ea.campaign_id = campaigns.id))", shopID)
	if beforeID > 0 {
		q = q.Where("id < ?", beforeID)
	}
	if err := q.Order("id DESC").Limit(limit).Find(&out).Error; err != nil {
		return nil, TranslateError(err)
	}
	return out, nil
}

// assignedShopperOrders is the subquery of an experiment assignment's
// (ea's) orders, before and after its assignment: the shopper's by
// customer id, or by e-mail when either side has no customer id; test,
// cancelled and reversed orders left out; with what each brought (net of refunds),
// discounted and paid in commission. Experiment results and the bandit
// count outcomes from it alike.
const assignedShopperOrders = `SELECT ord.order_created_at AS at,
		GREATEST(COALESCE(c.order_net_minor - c.refunded_minor, ord.current_subtotal_minor, ord.subtotal_minor, ord.total_minor), 0) AS revenue,
		COALESCE(c.discount_minor, ord.discount_minor, 0) AS discount,
		COALESCE(c.commission_minor, 0) AS commission
	FROM orders ord
	LEFT JOIN conversions c ON c.shop_id = ord.shop_id AND c.order_id = ord.order_id
	WHERE ord.shop_id = ea.shop_id AND NOT ord.test AND ord.cancelled_at IS NULL
		AND (c.status IS NULL OR c.status <> 'reversed')
		AND (ord.customer_id = ea.customer_id
			OR (ea.email <> '' AND lower(ord.email) = ea.email AND (ea.customer_id IS NULL OR ord.customer_id IS NULL)))`

// ExperimentShopper is one assigned shopper with its features before the
// assignment and its outcomes after it. Outcomes are every order of the
// shopper (matched by customer id, or by e-mail when either side has no
// customer id) from the assignment to the campaign's end, coupon or not;
// test, cancelled and reversed orders do not count. Money is minor units.
type ExperimentShopper struct {
	CampaignID  int64
	Shopper     string
	Arm         string
	Level       string
	PartnerID   *int64
	Channel     string
	Country     string
	Device      string
	AssignedAt  time.Time
	PriorOrders int64
	PriorSpend  int64
	LastPrior   *time.Time
	Orders      int64
	FirstOrder  *time.Time
	Revenue     int64
	Discount    int64
	Commission  int64
}

// ExperimentShoppers returns the assigned shoppers of the campaigns with
// their features and outcomes, oldest assignment first; limit caps the
// rows (0: no cap; the newest are kept).
func (s *Store) ExperimentShoppers(ctx context.Context, shopID int64, campaignIDs []int64, limit int) ([]ExperimentShopper, error) {
	if limit <= 0 {
		limit = 1 << 30
	}
	rows, err := s.pool.Query(ctx, `SELECT * FROM (
		SELECT ea.campaign_id, ea.shopper, ea.arm, ea.level, ea.partner_id, ea.channel, ea.country, ea.device, ea.assigned_at,
			COALESCE(o.prior_n, 0), COALESCE(o.prior_spend, 0), o.prior_last,
			COALESCE(o.n, 0), o.first_at, COALESCE(o.revenue, 0), COALESCE(o.discount, 0), COALESCE(o.commission, 0)
		FROM experiment_assignments ea
		JOIN campaigns cp ON cp.shop_id = ea.shop_id AND cp.id = ea.campaign_id
		LEFT JOIN LATERAL (
			SELECT count(*) FILTER (WHERE x.at >= ea.assigned_at AND (cp.ends_at IS NULL OR x.at < cp.ends_at)) AS n,
				min(x.at) FILTER (WHERE x.at >= ea.assigned_at AND (cp.ends_at IS NULL OR x.at < cp.ends_at)) AS first_at,
				sum(x.revenue) FILTER (WHERE x.at >= ea.assigned_at AND (cp.ends_at IS NULL OR x.at < cp.ends_at)) AS revenue,
				sum(x.discount) FILTER (WHERE x.at >= ea.assigned_at AND (cp.ends_at IS NULL OR x.at < cp.ends_at)) AS discount,
				sum(x.commission) FILTER (WHERE x.at >= ea.assigned_at AND (cp.ends_at IS NULL OR x.at < cp.ends_at)) AS commission,
				count(*) FILTER (WHERE x.at < ea.assigned_at) AS prior_n,
				sum(x.revenue) FILTER (WHERE x.at < ea.assigned_at) AS prior_spend,
				max(x.at) FILTER (WHERE x.at < ea.assigned_at) AS prior_last
			FROM (`+assignedShopperOrders+`) x
		) o ON true
		WHERE ea.shop_id = $1 AND ea.campaign_id = ANY($2)
		ORDER BY ea.assigned_at DESC, ea.shopper DESC
		LIMIT $3) t ORDER BY assigned_at, shopper`, shopID, campaignIDs, limit)
	if err != nil {
		return nil, TranslateError(err)
	}
	defer rows.Close()
	var out []ExperimentShopper
	for rows.Next() {
		var e ExperimentShopper
		if err := rows.Scan(&e.CampaignID, &e.Shopper, &e.Arm, &e.Level, &e.PartnerID, &e.Channel, &e.Country, &e.Device, &e.AssignedAt,
			&e.PriorOrders, &e.PriorSpend, &e.LastPrior, &e.Orders, &e.FirstOrder, &e.Revenue, &e.Discount, &e.Commission); err != nil {
			return nil, TranslateError(err)
		}
		out = append(out, e)
	}
	return out, TranslateError(rows.Err())
}

// ShopsWithExperiments lists the shops that have recorded assignments.
func (s *Store) ShopsWithExperiments(ctx context.Context) ([]int64, error) {
	rows, err := s.pool.Query(ctx, `SELECT DISTINCT ea.shop_id FROM experiment_assignments ea
		JOIN shops sh ON sh.id = ea.shop_id ORDER BY 1`)
	if err != nil {
		return nil, TranslateError(err)
	}
	return pgx.CollectRows(rows, pgx.RowTo[int64])
}

// UpliftModel is one trained uplift model of a shop.
type UpliftModel struct {
	ID           int64
	ShopID       int64
	Version      int
	Learner      string
	DataHash     string
	NTrain       int
	NHoldout     int
	Qini         *float64
	AUUC         *float64
	UpliftAt30   *float64
	BaselineQini *float64
	Active       bool
	Reason       string
	Model        json.RawMessage
	Segments     json.RawMessage
	TrainedAt    time.Time
}

const upliftModelCols = `id, shop_id, version, learner, data_hash, n_train, n_holdout, qini, auuc, uplift_at_30, baseline_qini, active, reason, model, segments, trained_at`

func scanUpliftModel(row pgx.Row) (*UpliftModel, error) {
	var m UpliftModel
	var model, segs []byte
	err := row.Scan(&m.ID, &m.ShopID, &m.Version, &m.Learner, &m.DataHash, &m.NTrain, &m.NHoldout, &m.Qini, &m.AUUC, &m.UpliftAt30,
		&m.BaselineQini, &m.Active, &m.Reason, &model, &segs, &m.TrainedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, TranslateError(err)
	}
	m.Model, m.Segments = model, segs
	return &m, nil
}

// ActiveUpliftModel returns the model the app uses for the shop.
func (s *Store) ActiveUpliftModel(ctx context.Context, shopID int64) (*UpliftModel, error) {
	return scanUpliftModel(s.pool.QueryRow(ctx, `SELECT `+upliftModelCols+` FROM uplift_models WHERE shop_id = $1 AND active`, shopID))
}

// LatestUpliftModel returns the newest model of the shop, active or not.
func (s *Store) LatestUpliftModel(ctx context.Context, shopID int64) (*UpliftModel, error) {
	return scanUpliftModel(s.pool.QueryRow(ctx, `SELECT `+upliftModelCols+` FROM uplift_models WHERE shop_id = $1 ORDER BY version DESC LIMIT 1`, shopID))
}

// ListUpliftModels returns the shop's models, newest first.
func (s *Store) ListUpliftModels(ctx context.Context, shopID int64, limit int) ([]UpliftModel, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+upliftModelCols+` FROM uplift_models WHERE shop_id = $1 ORDER BY version DESC LIMIT $2`, shopID, limit)
	if err != nil {
		return nil, TranslateError(err)
	}
	defer rows.Close()
	var out []UpliftModel
	for rows.Next() {
		m, err := scanUpliftModel(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *m)
	}
	return out, TranslateError(rows.Err())
}

// AddUpliftModel stores a newly trained model as the shop's next version;
// when m.Active it becomes the shop's only active model. It runs in one
// transaction under a per-shop lock, so concurrent trainings number their
// versions in turn.
func (s *Store) AddUpliftModel(ctx context.Context, m *UpliftModel) error {
	if len(m.Segments) == 0 {
		m.Segments = json.RawMessage(`{}`)
	}
	return s.InTx(ctx, func(ctx context.Context) error {
		db := s.conn(ctx)
		if err := s.lockKey(ctx, "uplift_models:"+strconv.FormatInt(m.ShopID, 10)); err != nil {
			return TranslateError(err)
		}
		if err := db.Raw(`SELECT COALESCE(max(version), 0) + 1 FROM uplift_models WHERE shop_id = ?`, m.ShopID).Row().Scan(&m.Version); err != nil {
			return TranslateError(err)
		}
		if m.Active {
			if err := db.Exec(`UPDATE uplift_models SET active = false WHERE shop_id = ? AND active`, m.ShopID).Error; err != nil {
				return TranslateError(err)
			}
		}
		err := db.Raw(`INSERT INTO uplift_models (shop_id, version, learner, data_hash, n_train, n_holdout, qini, auuc, uplift_at_30,
				baseline_qini, active, reason, model, segments, trained_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?::jsonb, ?::jsonb, ?) RETURNING id`,
			m.ShopID, m.Version, m.Learner, m.DataHash, m.NTrain, m.NHoldout, m.Qini, m.AUUC, m.UpliftAt30, m.BaselineQini, m.Active, m.Reason,
			string(m.Model), string(m.Segments), m.TrainedAt).Row().Scan(&m.ID)
		if err != nil {
			return fmt.Errorf("store: add uplift model: %w", TranslateError(err))
		}
		return nil
	})
}

// redactExperimentCustomer erases who a customer was from the experiment
// assignments: the arm stays (the experiment's counts do not move) under an
// opaque shopper key, without customer id or e-mail.
func (s *Store) redactExperimentCustomer(ctx context.Context, shopID int64, k CustomerKey) (int64, error) {
	res := s.conn(ctx).Exec(`UPDATE experiment_assignments SET shopper = 'redacted:' || md5(shopper), customer_id = NULL, email = ''
		WHERE shop_id = ? AND shopper NOT LIKE 'redacted:%'
			AND ((? <> '' AND customer_id::text = ?) OR (? <> '' AND email = lower(?)))`, shopID, k.ID, k.ID, k.Email, k.Email)
	return res.RowsAffected, TranslateError(res.Error)
}
