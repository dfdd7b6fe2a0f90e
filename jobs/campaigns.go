package jobs

import "github.com/hibiken/asynq"

// registerCampaignJobs adds this feature's task handlers to the mux.
func (j *Jobs) registerCampaignJobs(mux *asynq.ServeMux) {}

// campaignPeriodic lists this feature's scheduler entries.
func campaignPeriodic() []PeriodicTask { return nil }
