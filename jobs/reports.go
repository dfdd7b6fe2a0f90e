package jobs

import (
	"context"
	"time"

	"github.com/hibiken/asynq"
)

// TypeReportsFold folds the reporting deltas (written by the conversions
// trigger) into the rollup tables. Reads already include unfolded deltas,
// so folding only keeps the delta tables short; running it twice, late or
// concurrently is harmless (each delta row is moved exactly once).
const TypeReportsFold = "reports:fold"

// reportFoldBatch is how many delta rows one fold statement moves.
const reportFoldBatch = 20000

func (j *Jobs) registerReportJobs(mux *asynq.ServeMux) {
	mux.HandleFunc(TypeReportsFold, j.handleReportsFold)
}

func reportPeriodic() []PeriodicTask {
	return []PeriodicTask{{
		Spec: "@every 5s", Task: asynq.NewTask(TypeReportsFold, nil),
		Opts: []asynq.Option{asynq.Queue(QueueLow), asynq.Unique(4 * time.Second), asynq.MaxRetry(0), asynq.Timeout(time.Minute)},
	}}
}

// handleReportsFold folds batches until the delta tables are drained or the
// task has run for 20 seconds.
func (j *Jobs) handleReportsFold(ctx context.Context, _ *asynq.Task) error {
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		n, err := j.Store.FoldReportDeltas(ctx, reportFoldBatch)
		if err != nil {
			return err
		}
		if n < reportFoldBatch {
			return nil
		}
	}
	return nil
}
