package devstore

import (
	"time"
)

// UpdateCheckout changes an open checkout (fields of over replace the
// checkout's when set, like CompleteCheckout) and delivers checkouts/update.
// Its updated_at moves forward by at least a second, so the new version is
// distinguishable at the payload's one-second precision.
func (s *Store) UpdateCheckout(domain, token string, over OrderInput) (map[string]any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sh, c, aerr := s.openCheckoutLocked(domain, token)
	if aerr != nil {
		return nil, aerr
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
