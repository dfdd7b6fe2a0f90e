package jobs

import "github.com/hibiken/asynq"

func (j *Jobs) registerCartJobs(mux *asynq.ServeMux) {}

func cartPeriodic() []PeriodicTask { return nil }
