package devstore

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"time"
)

// retrySchedule approximates Shopify's "8 retries over 4 hours" with exponential backoff (sums to about 4 h).
var retrySchedule = []time.Duration{
	time.Minute, 2 * time.Minute, 4 * time.Minute, 8 * time.Minute,
	16 * time.Minute, 32 * time.Minute, 60 * time.Minute, 120 * time.Minute,
}

// DeliveryRecord is one webhook delivery attempt.
type DeliveryRecord struct {
	WebhookID   string    `json:"webhook_id"`
	EventID     string    `json:"event_id"`
	Topic       string    `json:"topic"`
	Shop        string    `json:"shop"`
	URL         string    `json:"url"`
	Attempt     int       `json:"attempt"` // 1 = first try
	Duplicate   bool      `json:"duplicate"`
	Status      int       `json:"status"` // HTTP status, 0 when no response
	Error       string    `json:"error,omitempty"`
	OK          bool      `json:"ok"`
	Final       bool      `json:"final"` // no more retries will follow
	TriggeredAt time.Time `json:"triggered_at"`
	At          time.Time `json:"at"`
	DurationMS  int64     `json:"duration_ms"`
}

type delivery struct {
	webhookID, eventID, topic, shop, url string
	body                                 []byte
	triggeredAt                          time.Time
	duplicate                            bool
}

// enqueueLocked fans a topic out to the app (AppURL+"/webhooks") and to the shop's matching Admin API
// subscriptions. Each target gets its own webhook id; all share one event id.
func (s *Store) enqueueLocked(sh *shop, topic string, payload any) {
	if sh.uninstalled && topic != "app/uninstalled" {
		return
	}
	body, err := json.Marshal(payload)
	if err != nil {
		s.log.Error("marshal webhook", "topic", topic, "err", err)
		return
	}
	eventID := newUUID()
	now := s.now()
	var targets []string
	if s.cfg.AppURL != "" {
		targets = append(targets, s.cfg.AppURL+"/webhooks")
	}
	for _, sub := range sh.subs {
		if sub.topic == topic {
			targets = append(targets, sub.uri)
		}
	}
	f := s.faults
	for _, u := range targets {
		d := &delivery{webhookID: newUUID(), eventID: eventID, topic: topic, shop: sh.domain, url: u, body: body, triggeredAt: now}
		delay := time.Duration(f.DelayMS) * time.Millisecond
		if f.Reorder {
			jitter := delay
			if jitter < 200*time.Millisecond {
				jitter = 200 * time.Millisecond
			}
			delay += s.randDuration(jitter)
		}
		s.spawnLocked(d, delay)
		if f.DuplicateRate > 0 && s.float() < f.DuplicateRate {
			dup := *d
			dup.duplicate = true
			s.spawnLocked(&dup, delay+s.randDuration(50*time.Millisecond)+time.Millisecond)
		}
	}
}

// SendWebhook signs and delivers an arbitrary payload on a topic for a shop (created if missing), like
// `shopify app webhook trigger`.
func (s *Store) SendWebhook(domain, topic string, payload any) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	sh := s.ensureShopLocked(domain, "")
	s.enqueueLocked(sh, topic, payload)
	return nil
}

func (s *Store) spawnLocked(d *delivery, delay time.Duration) {
	s.pending++
	s.wg.Add(1)
	go s.run(d, delay)
}

// run delivers d at least once: first attempt after delay, then Shopify's retry schedule scaled by RetryScale.
func (s *Store) run(d *delivery, delay time.Duration) {
	defer s.wg.Done()
	defer func() {
		s.mu.Lock()
		s.pending--
		s.mu.Unlock()
	}()
	for attempt := 1; ; attempt++ {
		if !s.sleep(delay) {
			return
		}
		ok := s.attempt(d, attempt)
		if ok || attempt > len(retrySchedule) {
			return
		}
		delay = time.Duration(float64(retrySchedule[attempt-1]) * s.cfg.RetryScale)
	}
}

func (s *Store) sleep(d time.Duration) bool {
	if d <= 0 {
		return s.ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-s.ctx.Done():
		return false
	}
}

func (s *Store) attempt(d *delivery, n int) bool {
	rec := DeliveryRecord{WebhookID: d.webhookID, EventID: d.eventID, Topic: d.topic, Shop: d.shop, URL: d.url,
		Attempt: n, Duplicate: d.duplicate, TriggeredAt: d.triggeredAt}
	start := time.Now()
	rec.At = s.now()
	f := s.Faults()
	if f.FailureRate > 0 && s.float() < f.FailureRate {
		rec.Error = "injected failure (not sent)"
	} else {
		s.post(d, &rec)
	}
	rec.DurationMS = time.Since(start).Milliseconds()
	rec.OK = rec.Status >= 200 && rec.Status < 300
	rec.Final = rec.OK || n > len(retrySchedule)
	s.mu.Lock()
	s.attempts = append(s.attempts, rec)
	s.mu.Unlock()
	s.log.Debug("webhook attempt", "topic", d.topic, "shop", d.shop, "webhook_id", d.webhookID, "attempt", n,
		"status", rec.Status, "err", rec.Error)
	return rec.OK
}

func (s *Store) post(d *delivery, rec *DeliveryRecord) {
	ctx, cancel := context.WithTimeout(s.ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.url, bytes.NewReader(d.body))
	if err != nil {
		rec.Error = err.Error()
		return
	}
	h := req.Header
	h.Set("Content-Type", "application/json")
	h.Set("User-Agent", "Shopify-Captain-Hook")
	h.Set("X-Shopify-Topic", d.topic)
	h.Set("X-Shopify-Hmac-Sha256", SignWebhook(s.cfg.APISecret, d.body))
	h.Set("X-Shopify-Shop-Domain", d.shop)
	h.Set("X-Shopify-API-Version", APIVersion)
	h.Set("X-Shopify-Webhook-Id", d.webhookID)
	h.Set("X-Shopify-Event-Id", d.eventID)
	h.Set("X-Shopify-Triggered-At", d.triggeredAt.Format(time.RFC3339Nano))
	if id := orderIDOf(d); id != "" {
		h.Set("X-Shopify-Order-Id", id)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		rec.Error = err.Error()
		return
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	rec.Status = resp.StatusCode
}

func orderIDOf(d *delivery) string {
	if len(d.topic) < 7 || d.topic[:7] != "orders/" {
		return ""
	}
	var v struct {
		ID json.Number `json:"id"`
	}
	if json.Unmarshal(d.body, &v) == nil && v.ID != "" {
		if _, err := strconv.ParseInt(string(v.ID), 10, 64); err == nil {
			return string(v.ID)
		}
	}
	return ""
}

// Deliveries returns every delivery attempt so far, in order.
func (s *Store) Deliveries() []DeliveryRecord {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]DeliveryRecord(nil), s.attempts...)
}

// WaitIdle blocks until no webhook delivery (including pending retries) and no bulk job is outstanding, or ctx ends.
func (s *Store) WaitIdle(ctx context.Context) error {
	t := time.NewTicker(5 * time.Millisecond)
	defer t.Stop()
	for {
		s.mu.Lock()
		n := s.pending
		s.mu.Unlock()
		if n == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}
