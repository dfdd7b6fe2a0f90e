// Package jobs owns background work: asynq task types ("noun:verb"), their
// constructors and handlers, one mux, the middleware, the error handler and
// the periodic scheduler. Handlers are idempotent: PostgreSQL decides what is
// done, Redis only carries the work.
package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"time"

	"github.com/hibiken/asynq"

	"github.com/coupontrail/coupontrail/app/metrics"
)

// Queue names with their priorities: webhook processing first, reports and
// model training last.
const (
	QueueCritical = "critical"
	QueueDefault  = "default"
	QueueLow      = "low"
)

// Queues maps each queue to its weight.
var Queues = map[string]int{QueueCritical: 6, QueueDefault: 3, QueueLow: 1}

// RedisOpt parses a redis:// URL into asynq's connection option.
func RedisOpt(redisURL string) (asynq.RedisConnOpt, error) {
	opt, err := asynq.ParseRedisURI(redisURL)
	if err != nil {
		return nil, fmt.Errorf("REDIS_URL: %w", err)
	}
	if c, ok := opt.(asynq.RedisClientOpt); ok {
		c.DialTimeout = 2 * time.Second
		c.ReadTimeout = 2 * time.Second
		c.WriteTimeout = 2 * time.Second
		return c, nil
	}
	return opt, nil
}

// ServerOptions configures NewServer.
type ServerOptions struct {
	Concurrency     int
	ShutdownTimeout time.Duration
	Logger          *slog.Logger
	Metrics         *metrics.Metrics
	// RetryBase is the first retry's delay, doubled on every retry up to
	// 10 minutes (default 1 s).
	RetryBase time.Duration
}

// NewServer builds the asynq server with the app's queues and error handler.
func NewServer(opt asynq.RedisConnOpt, o ServerOptions) *asynq.Server {
	log := o.Logger
	m := o.Metrics
	base := o.RetryBase
	check := time.Duration(0) // asynq's default (5 s)
	if base <= 0 {
		base = time.Second
	} else if base < time.Second {
		check = max(base*5, 100*time.Millisecond) // short retries must not wait for the default poll
	}
	return asynq.NewServer(opt, asynq.Config{
		DelayedTaskCheckInterval: check,
		Concurrency:              o.Concurrency,
		Queues:                   Queues,
		ShutdownTimeout:          o.ShutdownTimeout,
		Logger:                   slogAdapter{log},
		LogLevel:                 asynq.WarnLevel,
		// Tasks of a worker that died are recovered by asynq after their lease
		// expires; handlers are idempotent so a re-run is safe.
		ErrorHandler: asynq.ErrorHandlerFunc(func(ctx context.Context, t *asynq.Task, err error) {
			retried, _ := asynq.GetRetryCount(ctx)
			maxRetry, _ := asynq.GetMaxRetry(ctx)
			id, _ := asynq.GetTaskID(ctx)
			level := slog.LevelWarn
			if retried >= maxRetry || errors.Is(err, asynq.SkipRetry) {
				level = slog.LevelError
			}
			log.Log(ctx, level, "job failed", "task_type", t.Type(), "task_id", id, "retried", retried, "max_retry", maxRetry, "err", err)
			if m != nil {
				m.JobOutcomes.WithLabelValues(t.Type(), "error").Inc()
			}
		}),
		RetryDelayFunc: func(n int, err error, t *asynq.Task) time.Duration {
			d := time.Duration(1<<min(n, 10)) * base
			return min(d, 10*time.Minute)
		},
	})
}

// Middleware returns the logging, metrics and panic-recovery middleware.
func Middleware(log *slog.Logger, m *metrics.Metrics) asynq.MiddlewareFunc {
	return func(next asynq.Handler) asynq.Handler {
		return asynq.HandlerFunc(func(ctx context.Context, t *asynq.Task) (err error) {
			start := time.Now()
			id, _ := asynq.GetTaskID(ctx)
			defer func() {
				if r := recover(); r != nil {
					log.ErrorContext(ctx, "job panicked", "task_type", t.Type(), "task_id", id, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
					err = fmt.Errorf("panic in %s: %v", t.Type(), r)
					if m != nil {
						m.JobOutcomes.WithLabelValues(t.Type(), "panic").Inc()
					}
				}
				outcome := "ok"
				switch {
				case err == nil:
				case errors.Is(err, asynq.SkipRetry):
					outcome = "failed"
				default:
					outcome = "retry"
				}
				if m != nil {
					m.JobOutcomes.WithLabelValues(t.Type(), outcome).Inc()
					m.JobDuration.WithLabelValues(t.Type()).Observe(time.Since(start).Seconds())
				}
				log.DebugContext(ctx, "job done", "task_type", t.Type(), "task_id", id, "outcome", outcome, "duration_ms", time.Since(start).Milliseconds())
			}()
			return next.ProcessTask(ctx, t)
		})
	}
}

// CollectQueueMetrics polls the Inspector every interval until ctx ends and
// publishes queue sizes and latency.
func CollectQueueMetrics(ctx context.Context, insp *asynq.Inspector, m *metrics.Metrics, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		for q := range Queues {
			info, err := insp.GetQueueInfo(q)
			if err != nil {
				continue // an empty queue does not exist yet; Redis down shows in /readyz
			}
			m.QueueSize.WithLabelValues(q, "pending").Set(float64(info.Pending))
			m.QueueSize.WithLabelValues(q, "active").Set(float64(info.Active))
			m.QueueSize.WithLabelValues(q, "scheduled").Set(float64(info.Scheduled))
			m.QueueSize.WithLabelValues(q, "retry").Set(float64(info.Retry))
			m.QueueSize.WithLabelValues(q, "archived").Set(float64(info.Archived))
			m.QueueLatency.WithLabelValues(q).Set(info.Latency.Seconds())
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// IsConflict reports whether an enqueue error means the task already exists,
// which callers treat as success.
func IsConflict(err error) bool {
	return errors.Is(err, asynq.ErrTaskIDConflict) || errors.Is(err, asynq.ErrDuplicateTask)
}

type slogAdapter struct{ l *slog.Logger }

func (a slogAdapter) Debug(args ...any) { a.l.Debug(fmt.Sprint(args...), "component", "asynq") }
func (a slogAdapter) Info(args ...any)  { a.l.Info(fmt.Sprint(args...), "component", "asynq") }
func (a slogAdapter) Warn(args ...any)  { a.l.Warn(fmt.Sprint(args...), "component", "asynq") }
func (a slogAdapter) Error(args ...any) { a.l.Error(fmt.Sprint(args...), "component", "asynq") }
func (a slogAdapter) Fatal(args ...any) {
	a.l.Error(fmt.Sprint(args...), "component", "asynq", "fatal", true)
}
