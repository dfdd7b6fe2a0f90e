package jobs

import "github.com/hibiken/asynq"

// registerIssueJobs adds this feature's task handlers to the mux.
func (j *Jobs) registerIssueJobs(mux *asynq.ServeMux) {}

// issuePeriodic lists this feature's scheduler entries.
func issuePeriodic() []PeriodicTask { return nil }
