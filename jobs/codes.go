package jobs

import "github.com/hibiken/asynq"

// registerCodeJobs adds this feature's task handlers to the mux.
func (j *Jobs) registerCodeJobs(mux *asynq.ServeMux) {}

// codePeriodic lists this feature's scheduler entries.
func codePeriodic() []PeriodicTask { return nil }
