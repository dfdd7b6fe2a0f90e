package jobs

import "github.com/hibiken/asynq"

func (j *Jobs) registerExperimentJobs(mux *asynq.ServeMux) {}

func experimentPeriodic() []PeriodicTask { return nil }
