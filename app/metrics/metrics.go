// Package metrics owns the Prometheus registry and every collector the app
// exports. There is no global registry: the composition root builds one
// Metrics and passes it to the parts that record.
package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Metrics holds the registry and the collectors.
type Metrics struct {
	Registry *prometheus.Registry

	HTTPRequests *prometheus.CounterVec
	HTTPDuration *prometheus.HistogramVec
	HTTPInFlight prometheus.Gauge

	WebhooksReceived *prometheus.CounterVec // topic, outcome (recorded|duplicate|bad_hmac|too_large|error)
	WebhookBatchSize prometheus.Histogram
	WebhookCommit    prometheus.Histogram
	WebhookOutcomes  *prometheus.CounterVec // topic, status (processed|failed|ignored|retry)

	JobOutcomes *prometheus.CounterVec // task type, outcome (ok|retry|failed|skipped|panic)
	JobDuration *prometheus.HistogramVec

	QueueSize    *prometheus.GaugeVec // queue, state
	QueueLatency *prometheus.GaugeVec // queue

	ShopifyCost        *prometheus.CounterVec // operation
	ShopifyThrottled   *prometheus.CounterVec // operation
	ShopifyRetries     *prometheus.CounterVec // reason
	ShopifyLimiterWait prometheus.Histogram

	CodesGenerated *prometheus.CounterVec // purpose (stock|pool_refill|import): codes persisted
	CodesPushed    *prometheus.CounterVec // outcome (live|failed|retried): codes resolved by a push to Shopify
}

// New builds the registry with Go runtime and process collectors.
func New() *Metrics {
	r := prometheus.NewRegistry()
	r.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m := &Metrics{
		Registry: r,
		HTTPRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "coupontrail_http_requests_total", Help: "HTTP requests by route, method and status.",
		}, []string{"route", "method", "status"}),
		HTTPDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "coupontrail_http_request_duration_seconds", Help: "HTTP request latency by route and method.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"route", "method"}),
		HTTPInFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "coupontrail_http_in_flight_requests", Help: "HTTP requests being served.",
		}),
		WebhooksReceived: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "coupontrail_webhooks_received_total", Help: "Webhook deliveries received by topic and intake outcome.",
		}, []string{"topic", "outcome"}),
		WebhookBatchSize: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "coupontrail_webhook_batch_size", Help: "Deliveries committed per group-commit batch.",
			Buckets: []float64{1, 2, 4, 8, 16, 32, 64, 128, 256},
		}),
		WebhookCommit: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "coupontrail_webhook_commit_seconds", Help: "Time to commit one intake batch.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, 1},
		}),
		WebhookOutcomes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "coupontrail_webhook_deliveries_processed_total", Help: "Webhook deliveries processed by topic and final status.",
		}, []string{"topic", "status"}),
		JobOutcomes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "coupontrail_jobs_total", Help: "Job runs by task type and outcome.",
		}, []string{"type", "outcome"}),
		JobDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "coupontrail_job_duration_seconds", Help: "Job run time by task type.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2.5, 12),
		}, []string{"type"}),
		QueueSize: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "coupontrail_queue_tasks", Help: "Tasks per asynq queue and state (from the Inspector).",
		}, []string{"queue", "state"}),
		QueueLatency: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "coupontrail_queue_latency_seconds", Help: "Age of the oldest pending task per queue.",
		}, []string{"queue"}),
		ShopifyCost: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "coupontrail_shopify_query_cost_total", Help: "Admin GraphQL cost points used, by operation.",
		}, []string{"operation"}),
		ShopifyThrottled: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "coupontrail_shopify_throttled_total", Help: "Admin GraphQL THROTTLED answers, by operation.",
		}, []string{"operation"}),
		ShopifyRetries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "coupontrail_shopify_retries_total", Help: "Admin API retries by reason.",
		}, []string{"reason"}),
		ShopifyLimiterWait: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "coupontrail_shopify_limiter_wait_seconds", Help: "Time spent waiting for the shared per-shop Admin API cost bucket.",
			Buckets: prometheus.ExponentialBuckets(0.001, 3, 10),
		}),
		CodesGenerated: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "coupontrail_codes_generated_total", Help: "Discount codes persisted by code batches, by purpose.",
		}, []string{"purpose"}),
		CodesPushed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "coupontrail_codes_pushed_total", Help: "Discount codes resolved by pushes to Shopify, by outcome.",
		}, []string{"outcome"}),
	}
	r.MustRegister(m.CodesGenerated, m.CodesPushed)
	r.MustRegister(m.HTTPRequests, m.HTTPDuration, m.HTTPInFlight, m.WebhooksReceived, m.WebhookBatchSize,
		m.WebhookCommit, m.WebhookOutcomes, m.JobOutcomes, m.JobDuration, m.QueueSize, m.QueueLatency,
		m.ShopifyCost, m.ShopifyThrottled, m.ShopifyRetries, m.ShopifyLimiterWait)
	return m
}
