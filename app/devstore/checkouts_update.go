package devstore

import (
	"net/http"
	"time"
)

// UpdateCheckout changes an open checkout (fields of over replace the
// checkout's when set, like CompleteCheckout) and delivers checkouts/update.
// Its updated_at moves forward by at least a second, so the new version is
// distinguishable at the payload's one-second precision.
func (s *Store) UpdateCheckout(domain, token string, over OrderInput) (map[string]any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sh, aerr := s.shopLocked(domain)
	if aerr != nil {
		return nil, aerr
	}
	c, ok := sh.checkouts[token]
	if !ok {
		return nil, apiErr(http.StatusNotFound, "checkout_not_found", "no checkout %s", token)
	}
	if c.completedAt != nil {
		return nil, apiErr(http.StatusUnprocessableEntity, "checkout_completed", "checkout %s is already completed (order %d)", token, c.orderID)
	}
	mergeInput(&c.in, over)
	now := s.now().Truncate(time.Second)
	if !now.After(c.updatedAt.Truncate(time.Second)) {
		now = c.updatedAt.Truncate(time.Second).Add(time.Second)
	}
	c.updatedAt = now
	body := s.checkoutJSONLocked(sh, c)
	s.enqueueLocked(sh, "checkouts/update", body)
	return body, nil
}
