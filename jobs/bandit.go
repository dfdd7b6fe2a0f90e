package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/hibiken/asynq"

	"github.com/coupontrail/coupontrail/app/attribution"
	"github.com/coupontrail/coupontrail/app/experiment"
	"github.com/coupontrail/coupontrail/app/store"
)

// TypeBanditRefresh recomputes the bandit snapshot of every campaign with
// discount-level arms and retires the levels that lose money.
const TypeBanditRefresh = "bandit:refresh"

// banditRefreshEvery is how stale the issue path's bandit data may get;
// banditMaxSegments caps the segments a snapshot keeps (the issue path
// decodes it per new shopper).
const (
	banditRefreshEvery = 5 * time.Minute
	banditMaxSegments  = 200
)

func (j *Jobs) registerBanditJobs(mux *asynq.ServeMux) {
	mux.HandleFunc(TypeBanditRefresh, j.handleBanditRefresh)
}

func banditPeriodic() []PeriodicTask {
	return []PeriodicTask{{
		Spec: "@every 5m", Task: asynq.NewTask(TypeBanditRefresh, nil),
		Opts: []asynq.Option{asynq.Queue(QueueLow), asynq.Unique(banditRefreshEvery), asynq.MaxRetry(0), asynq.Timeout(4 * time.Minute)},
	}}
}

func (j *Jobs) handleBanditRefresh(ctx context.Context, _ *asynq.Task) error {
	_, err := j.RefreshBandits(ctx)
	return err
}

// RefreshBandits refreshes every campaign with arms (RefreshBandit) and
// returns the levels retired by this run. One campaign's failure does not
// stop the others; the errors come back joined.
func (j *Jobs) RefreshBandits(ctx context.Context) ([]store.BanditRetirement, error) {
	camps, err := j.Store.BanditCampaigns(ctx, j.Now())
	if err != nil {
		return nil, err
	}
	var out []store.BanditRetirement
	var errs []error
	for _, bc := range camps {
		if err := ctx.Err(); err != nil {
			return out, err
		}
		r, err := j.RefreshBandit(ctx, bc)
		if err != nil {
			j.Log.WarnContext(ctx, "bandit refresh failed", "shop_id", bc.ShopID, "campaign_id", bc.CampaignID, "err", err)
			errs = append(errs, err)
			continue
		}
		out = append(out, r...)
	}
	return out, errors.Join(errs...)
}

// RefreshBandit recomputes one campaign's bandit snapshot from its
// assignments and their orders, retires the live levels that lose money
// with 95% posterior probability after enough shoppers (never the last
// live one) and stores the snapshot with the merchant's per-level view.
// Levels are the campaign's own discount and its arm campaigns, keyed by
// campaign id. The posterior draws are seeded by shop and campaign, so a
// rerun on the same data decides the same.
func (j *Jobs) RefreshBandit(ctx context.Context, bc store.BanditCampaign) ([]store.BanditRetirement, error) {
	groups, err := j.Store.BanditGroups(ctx, bc.ShopID, bc.CampaignID)
	if err != nil {
		return nil, err
	}
	rows := make([]experiment.BanditRow, len(groups))
	for i, g := range groups {
		rows[i] = experiment.BanditRow{Channel: g.Channel, Device: g.Device, Arm: g.Arm, Level: g.Level,
			Counts: experiment.Counts{Shoppers: g.Shoppers, Converters: g.Converters, Orders: g.Orders, RevenueMinor: g.Revenue, DiscountMinor: g.Discount}}
	}
	counts := experiment.BuildBanditCounts(rows)
	levels := []string{strconv.FormatInt(bc.CampaignID, 10)}
	for _, id := range bc.ArmCampaigns {
		if id != bc.CampaignID {
			levels = append(levels, strconv.FormatInt(id, 10))
		}
	}
	prior, err := j.Store.BanditRetirements(ctx, bc.ShopID, bc.CampaignID)
	if err != nil {
		return nil, err
	}
	live := make(map[string]bool, len(levels))
	for _, l := range levels {
		live[l] = true
	}
	for _, r := range prior {
		live[r.Level] = false
	}
	now := j.Now()
	rng := rand.New(rand.NewPCG(uint64(bc.ShopID), uint64(bc.CampaignID)))
	sum := counts.Summarize(levels, live, bc.Margin, experiment.BanditRetireRounds, rng)
	money := func(minor float64) string { return attribution.FormatMinor(int64(math.Round(minor)), bc.Currency) }
	var retired []store.BanditRetirement
	for _, x := range experiment.Retire(sum, live, money) {
		r := store.BanditRetirement{ShopID: bc.ShopID, CampaignID: bc.CampaignID, Level: x.Level, RetiredAt: now, Reason: x.Reason,
			ExpectedProfitPerShopper: x.ExpectedProfitPerShopper, PLoss: x.PLoss, Shoppers: x.Shoppers}
		ok, err := j.Store.RetireBanditLevel(ctx, &r)
		if err != nil {
			return retired, err
		}
		live[x.Level] = false
		if ok {
			retired = append(retired, r)
			j.Log.InfoContext(ctx, "bandit level retired", "shop_id", bc.ShopID, "campaign_id", bc.CampaignID, "level", x.Level, "reason", x.Reason)
		}
	}
	if len(retired) > 0 { // the selection shares of the merchant's view follow the retirements
		sum = counts.Summarize(levels, live, bc.Margin, experiment.BanditRetireRounds, rand.New(rand.NewPCG(uint64(bc.ShopID), uint64(bc.CampaignID))))
	}
	cb, err := json.Marshal(counts.Compact(banditMaxSegments))
	if err != nil {
		return retired, err
	}
	lb, err := json.Marshal(sum)
	if err != nil {
		return retired, err
	}
	return retired, j.Store.SaveBanditSnapshot(ctx, &store.BanditSnapshot{ShopID: bc.ShopID, CampaignID: bc.CampaignID, Counts: cb, Levels: lb, ComputedAt: now})
}
