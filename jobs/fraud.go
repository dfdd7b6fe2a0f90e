package jobs

import "github.com/hibiken/asynq"

func (j *Jobs) registerFraudJobs(mux *asynq.ServeMux) {}

func fraudPeriodic() []PeriodicTask { return nil }
