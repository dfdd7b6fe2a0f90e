package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/hibiken/asynq"

	"github.com/coupontrail/coupontrail/app/experiment"
	"github.com/coupontrail/coupontrail/app/store"
	"github.com/coupontrail/coupontrail/app/uplift"
)

// Experiment task types: the periodic fan-out and the per-shop training of
// the uplift model on the shop's holdout experiments.
const (
	TypeExperimentsTrain     = "experiments:train"
	TypeExperimentsTrainShop = "experiments:train_shop"
)

// Training settings: the newest rows kept, the candidate learners (each
// shop keeps whichever ranks best on its own held-out rows) and the split
// seed (fixed, so a rerun on the same data reproduces the same model).
const (
	trainMaxRows        = 200000
	trainSeed    uint64 = 42
)

var trainCandidates = []string{uplift.NameTLearner, uplift.NameGAMTLearner, uplift.NameSLearnerGAM, uplift.NameEnsemble, uplift.NameXLearner}

func (j *Jobs) registerExperimentJobs(mux *asynq.ServeMux) {
	mux.HandleFunc(TypeExperimentsTrain, j.handleExperimentsTrain)
	mux.HandleFunc(TypeExperimentsTrainShop, j.handleExperimentsTrainShop)
}

func experimentPeriodic() []PeriodicTask {
	return []PeriodicTask{{
		Spec: "@every 6h", Task: asynq.NewTask(TypeExperimentsTrain, nil),
		Opts: []asynq.Option{asynq.Queue(QueueLow), asynq.Unique(time.Hour), asynq.MaxRetry(0), asynq.Timeout(5 * time.Minute)},
	}}
}

// NewTrainShopTask is the per-shop training task; its id is unique per shop
// and hour so the fan-out never queues a shop twice.
func NewTrainShopTask(shopID int64, at time.Time) *asynq.Task {
	b, _ := json.Marshal(map[string]int64{"shop_id": shopID})
	return asynq.NewTask(TypeExperimentsTrainShop, b, asynq.Queue(QueueLow), asynq.MaxRetry(3), asynq.Timeout(30*time.Minute),
		asynq.TaskID(fmt.Sprintf("%s:%d:%s", TypeExperimentsTrainShop, shopID, at.UTC().Format("2006010215"))), asynq.Retention(time.Hour))
}

func (j *Jobs) handleExperimentsTrain(ctx context.Context, _ *asynq.Task) error {
	ids, err := j.Store.ShopsWithExperiments(ctx)
	if err != nil {
		return err
	}
	now := j.Now()
	for _, id := range ids {
		if _, err := j.Client.EnqueueContext(ctx, NewTrainShopTask(id, now)); err != nil && !errors.Is(err, asynq.ErrTaskIDConflict) && !errors.Is(err, asynq.ErrDuplicateTask) {
			return err
		}
	}
	return nil
}

func (j *Jobs) handleExperimentsTrainShop(ctx context.Context, t *asynq.Task) error {
	var p struct {
		ShopID int64 `json:"shop_id"`
	}
	if err := json.Unmarshal(t.Payload(), &p); err != nil || p.ShopID <= 0 {
		return fmt.Errorf("%s: bad payload: %w", TypeExperimentsTrainShop, asynq.SkipRetry)
	}
	_, err := j.TrainShopModel(ctx, p.ShopID)
	if errors.Is(err, uplift.ErrTooLittleData) {
		j.Log.InfoContext(ctx, "uplift model not trained", "shop_id", p.ShopID, "reason", err.Error())
		return nil
	}
	return err
}

// TrainShopModel fits the shop's uplift model on every assigned shopper of
// its experiments (features known before the assignment, outcome: ordered
// in the window) and stores it as the next version with its held-out
// metrics; it becomes the active model only when it beats the active one
// on the same held-out rows. Idempotent: when the newest model already saw
// exactly this data nothing is stored (nil model, nil error).
func (j *Jobs) TrainShopModel(ctx context.Context, shopID int64) (*store.UpliftModel, error) {
	camps, err := j.Store.ExperimentCampaigns(ctx, shopID, 0, 1000)
	if err != nil {
		return nil, err
	}
	ids := make([]int64, len(camps))
	for i := range camps {
		ids[i] = camps[i].ID
	}
	shoppers, err := j.Store.ExperimentShoppers(ctx, shopID, ids, trainMaxRows)
	if err != nil {
		return nil, err
	}
	rows := make([]uplift.ShopRow, len(shoppers))
	for i := range shoppers {
		s := &shoppers[i]
		seg, _ := experiment.SegmentName(s.Channel, s.PriorOrders)
		rec := -1.0
		if s.LastPrior != nil {
			rec = s.AssignedAt.Sub(*s.LastPrior).Hours() / 24
		}
		rows[i] = uplift.ShopRow{Shopper: strconv.FormatInt(s.CampaignID, 10) + "/" + s.Shopper, Treated: s.Arm == experiment.Treatment,
			Converted: s.Orders > 0, PriorOrders: float64(s.PriorOrders), PriorSpend: float64(s.PriorSpend), RecencyDays: rec,
			Channel: s.Channel, Country: s.Country, Device: s.Device, Segment: seg}
	}
	hash := uplift.DataHash(rows)
	if last, err := j.Store.LatestUpliftModel(ctx, shopID); err == nil && last.DataHash == hash {
		return nil, nil
	} else if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	var prev []byte
	active, err := j.Store.ActiveUpliftModel(ctx, shopID)
	switch {
	case err == nil:
		prev = active.Model
	case !errors.Is(err, store.ErrNotFound):
		return nil, err
	}
	tr, err := uplift.TrainShop(ctx, rows, prev, uplift.NewRegistry(), trainCandidates, trainSeed)
	if err != nil {
		return nil, err
	}
	segs, err := json.Marshal(tr.Segments)
	if err != nil {
		return nil, err
	}
	m := &store.UpliftModel{ShopID: shopID, Learner: tr.Learner, DataHash: hash, NTrain: tr.NTrain, NHoldout: tr.NHoldout,
		Qini: finite(tr.Qini), AUUC: finite(tr.AUUC), UpliftAt30: finite(tr.UpliftAt30), BaselineQini: finite(tr.BaselineQini),
		Active: tr.Activate, Reason: tr.Reason, Model: tr.Model, Segments: segs, TrainedAt: j.Now()}
	if err := j.Store.AddUpliftModel(ctx, m); err != nil {
		return nil, err
	}
	j.Log.InfoContext(ctx, "uplift model trained", "shop_id", shopID, "version", m.Version, "learner", m.Learner, "active", m.Active, "reason", m.Reason)
	return m, nil
}

func finite(f float64) *float64 {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return nil
	}
	return &f
}
