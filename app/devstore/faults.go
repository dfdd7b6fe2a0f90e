package devstore

import (
	"encoding/json"
	"net/http"
)

// Faults are the misbehaviours the dev store injects, set with PUT /_dev/faults or SetFaults.
type Faults struct {
	// DuplicateRate is the probability that a webhook is delivered twice (same X-Shopify-Webhook-Id).
	DuplicateRate float64 `json:"duplicate_rate"`
	// DelayMS delays every first delivery attempt.
	DelayMS int `json:"delay_ms"`
	// Reorder adds a random delay (up to max(DelayMS, 200ms)) to each delivery so they arrive out of order.
	Reorder bool `json:"reorder"`
	// FailureRate is the probability that a delivery attempt is dropped before sending; it is then retried on the
	// retry schedule like a failed delivery.
	FailureRate float64 `json:"failure_rate"`
	// AdminLatencyMS delays every Admin GraphQL response.
	AdminLatencyMS int `json:"admin_latency_ms"`
	// Admin5xxRate is the probability that an Admin GraphQL call answers 503.
	Admin5xxRate float64 `json:"admin_5xx_rate"`
}

// Faults returns the current fault settings.
func (s *Store) Faults() Faults {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.faults
}

// SetFaults replaces the fault settings.
func (s *Store) SetFaults(f Faults) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = f
}

func (s *Store) handlePutFaults(w http.ResponseWriter, r *http.Request) {
	var f Faults
	if err := json.NewDecoder(r.Body).Decode(&f); err != nil {
		writeAPIError(w, apiErr(http.StatusBadRequest, "invalid_json", "%v", err))
		return
	}
	if f.DuplicateRate < 0 || f.DuplicateRate > 1 || f.FailureRate < 0 || f.FailureRate > 1 ||
		f.Admin5xxRate < 0 || f.Admin5xxRate > 1 || f.DelayMS < 0 || f.AdminLatencyMS < 0 {
		writeAPIError(w, apiErr(http.StatusUnprocessableEntity, "invalid_faults", "rates must be within [0,1] and delays >= 0"))
		return
	}
	s.SetFaults(f)
	writeJSON(w, http.StatusOK, f)
}

func (s *Store) handleGetFaults(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, s.Faults())
}
