package jobs

import (
	"context"
	"time"

	"github.com/hibiken/asynq"
)

// TypeStatsRefresh keeps the planner statistics of the app's tables fresh.
// PostgreSQL plans each statement from them, and a plan made when a table
// was small (a new install, the first minutes of a burst) reads it whole or
// joins it the slow way once it is big: on a fresh database 20,000 orders
// went through attribution at 230 orders/s instead of 700, until an ANALYZE.
// autovacuum does this too, but at most once a minute per database and not
// at all where it is switched off (as on CI machines). Here a table whose
// changes since its last ANALYZE exceed statsMinChanged rows plus the rows
// that ANALYZE counted (it about doubled, or turned over) is analyzed within
// statsEvery: plans go wrong when a table grows by orders of magnitude, not
// by a tenth, and a growing table is then analyzed a logarithmic number of
// times. ANALYZE reads a fixed sample, so a big table costs no more than a
// mid-sized one.
const TypeStatsRefresh = "db:stats-refresh"

const (
	statsEvery      = 3 * time.Second
	statsMinChanged = 1000
	statsFraction   = 1.0
)

func (j *Jobs) registerStatsJobs(mux *asynq.ServeMux) {
	mux.HandleFunc(TypeStatsRefresh, j.handleStatsRefresh)
}

func statsPeriodic() []PeriodicTask {
	return []PeriodicTask{{
		Spec: "@every " + statsEvery.String(), Task: asynq.NewTask(TypeStatsRefresh, nil),
		Opts: []asynq.Option{asynq.Queue(QueueLow), asynq.Unique(statsEvery - time.Second), asynq.MaxRetry(0), asynq.Timeout(2 * time.Minute)},
	}}
}

func (j *Jobs) handleStatsRefresh(ctx context.Context, _ *asynq.Task) error {
	_, err := j.RefreshStats(ctx)
	return err
}

// RefreshStats analyzes the tables whose statistics lag and returns their
// names.
func (j *Jobs) RefreshStats(ctx context.Context) ([]string, error) {
	tables, err := j.Store.StaleStats(ctx, statsMinChanged, statsFraction)
	if err != nil {
		return nil, err
	}
	for i, t := range tables {
		if err := j.Store.Analyze(ctx, t); err != nil {
			return tables[:i], err
		}
		j.Log.DebugContext(ctx, "table statistics refreshed", "table", t)
	}
	return tables, nil
}
