package main

import (
	"time"

	"github.com/coupontrail/coupontrail/app/metrics"
)

// adminMetrics feeds the Admin API client's events into the app's registry.
type adminMetrics struct{ m *metrics.Metrics }

func (a adminMetrics) Cost(operation string, requested, actual int) {
	if actual < 0 {
		actual = requested
	}
	a.m.ShopifyCost.WithLabelValues(operation).Add(float64(actual))
}

func (a adminMetrics) Throttled(operation string) {
	a.m.ShopifyThrottled.WithLabelValues(operation).Inc()
}

func (a adminMetrics) Retry(operation, reason string) {
	a.m.ShopifyRetries.WithLabelValues(reason).Inc()
}

func (a adminMetrics) LimiterWait(operation string, d time.Duration) {
	a.m.ShopifyLimiterWait.Observe(d.Seconds())
}
