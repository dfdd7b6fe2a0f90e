package jobs

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/hibiken/asynq"

	"github.com/coupontrail/coupontrail/app/metrics"
	"github.com/coupontrail/coupontrail/app/secrets"
	"github.com/coupontrail/coupontrail/app/shops"
	"github.com/coupontrail/coupontrail/app/store"
)

// Task types.
const (
	TypeWebhookProcess = "webhook:process"
	TypeWebhookSweep   = "webhook:sweep"
)

// Deps are what handlers need; the composition root fills them.
type Deps struct {
	Store   *store.Store
	Client  *asynq.Client
	Shops   *shops.Service
	Keyring *secrets.Keyring // outbound webhook secrets
	Rand    io.Reader        // crypto/rand in production
	HTTP    *http.Client     // outbound webhooks
	Log     *slog.Logger
	Metrics *metrics.Metrics
	Now     func() time.Time
}

// Jobs owns the handlers.
type Jobs struct {
	Deps
	topics map[string]TopicHandler
}

// New builds the handlers with their topic table.
func New(d Deps) *Jobs {
	if d.Now == nil {
		d.Now = func() time.Time { return time.Now().UTC() }
	}
	if d.Rand == nil {
		d.Rand = rand.Reader
	}
	if d.HTTP == nil {
		d.HTTP = &http.Client{Timeout: 10 * time.Second}
	}
	j := &Jobs{Deps: d}
	j.topics = j.topicTable()
	return j
}

// NewMux routes every task type to its handler.
func (j *Jobs) NewMux() *asynq.ServeMux {
	mux := asynq.NewServeMux()
	mux.Use(Middleware(j.Log, j.Metrics))
	mux.HandleFunc(TypeWebhookProcess, j.handleWebhookProcess)
	mux.HandleFunc(TypeWebhookSweep, j.handleWebhookSweep)
	j.registerCampaignJobs(mux)
	j.registerCodeJobs(mux)
	j.registerIssueJobs(mux)
	j.registerOrderJobs(mux)
	j.registerAttributionJobs(mux)
	j.registerFraudJobs(mux)
	j.registerExperimentJobs(mux)
	j.registerCartJobs(mux)
	j.registerReportJobs(mux)
	j.registerBanditJobs(mux)
	j.registerStatsJobs(mux)
	return mux
}

// Periodic lists the scheduler's entries: cron spec and task.
func Periodic() []PeriodicTask {
	out := []PeriodicTask{
		webhookSweepPeriodic(),
	}
	out = append(out, campaignPeriodic()...)
	out = append(out, codePeriodic()...)
	out = append(out, issuePeriodic()...)
	out = append(out, ordersPeriodic()...)
	out = append(out, attributionPeriodic()...)
	out = append(out, fraudPeriodic()...)
	out = append(out, experimentPeriodic()...)
	out = append(out, cartPeriodic()...)
	out = append(out, reportPeriodic()...)
	out = append(out, banditPeriodic()...)
	out = append(out, statsPeriodic()...)
	return out
}

// PeriodicTask is one scheduler entry.
type PeriodicTask struct {
	Spec string
	Task *asynq.Task
	Opts []asynq.Option
}

// NewScheduler registers the periodic tasks. Several worker replicas may each
// run one: the Unique option keeps one enqueue per period.
func NewScheduler(opt asynq.RedisConnOpt, log *slog.Logger) (*asynq.Scheduler, error) {
	s := asynq.NewScheduler(opt, &asynq.SchedulerOpts{
		Logger:   slogAdapter{log},
		LogLevel: asynq.WarnLevel,
		EnqueueErrorHandler: func(t *asynq.Task, opts []asynq.Option, err error) {
			if !IsConflict(err) {
				log.Warn("periodic enqueue failed", "task_type", t.Type(), "err", err)
			}
		},
	})
	for _, p := range Periodic() {
		if _, err := s.Register(p.Spec, p.Task, p.Opts...); err != nil {
			return nil, fmt.Errorf("jobs: register %s: %w", p.Task.Type(), err)
		}
	}
	return s, nil
}

// WebhookProcessPayload carries only row ids; the rows are the truth.
type WebhookProcessPayload struct {
	DeliveryIDs []int64 `json:"delivery_ids"`
}

// NewWebhookProcessTask builds the task for a batch of recorded deliveries.
func NewWebhookProcessTask(ids []int64) (*asynq.Task, error) {
	b, err := json.Marshal(WebhookProcessPayload{DeliveryIDs: ids})
	if err != nil {
		return nil, err
	}
	return asynq.NewTask(TypeWebhookProcess, b, asynq.Queue(QueueCritical), asynq.MaxRetry(12), asynq.Timeout(2*time.Minute)), nil
}

// EnqueueDeliveries enqueues one processing task for a batch of deliveries.
func EnqueueDeliveries(ctx context.Context, c *asynq.Client, ids []int64, opts ...asynq.Option) error {
	t, err := NewWebhookProcessTask(ids)
	if err != nil {
		return err
	}
	_, err = c.EnqueueContext(ctx, t, opts...)
	if IsConflict(err) {
		return nil
	}
	return err
}
