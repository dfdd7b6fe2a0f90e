package jobs

import "github.com/hibiken/asynq"

func (j *Jobs) registerReportJobs(mux *asynq.ServeMux) {}

func reportPeriodic() []PeriodicTask { return nil }
