package admin

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics receives client events. Implementations must be safe for
// concurrent use. Labels deliberately exclude the shop: thousands of shops
// would explode Prometheus cardinality; put the shop in logs instead.
type Metrics interface {
	// Cost reports a completed response's requested and actual cost
	// (actual is -1 when Shopify sent null).
	Cost(operation string, requested, actual int)
	// Throttled reports a THROTTLED or 429 response.
	Throttled(operation string)
	// Retry reports a retry and why: "throttled", "http_5xx", "http_429",
	// "network".
	Retry(operation, reason string)
	// LimiterWait reports time spent waiting for the limiter.
	LimiterWait(operation string, d time.Duration)
}

// NopMetrics discards all events.
type NopMetrics struct{}

// Cost implements Metrics.
func (NopMetrics) Cost(string, int, int) {}

// Throttled implements Metrics.
func (NopMetrics) Throttled(string) {}

// Retry implements Metrics.
func (NopMetrics) Retry(string, string) {}

// LimiterWait implements Metrics.
func (NopMetrics) LimiterWait(string, time.Duration) {}

// PrometheusMetrics implements [Metrics] with Prometheus collectors
// registered on the Registerer given to [NewPrometheusMetrics].
type PrometheusMetrics struct {
	cost      *prometheus.CounterVec
	throttles *prometheus.CounterVec
	retries   *prometheus.CounterVec
	wait      *prometheus.HistogramVec
}

// NewPrometheusMetrics creates and registers the client's collectors on reg
// (never the global registry implicitly):
//
//	{ns}_shopify_graphql_cost_points_total{operation,kind="requested"|"actual"}
//	{ns}_shopify_graphql_throttles_total{operation}
//	{ns}_shopify_graphql_retries_total{operation,reason}
//	{ns}_shopify_graphql_limiter_wait_seconds{operation}
func NewPrometheusMetrics(reg prometheus.Registerer, namespace string) (*PrometheusMetrics, error) {
	m := &PrometheusMetrics{
		cost: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "shopify_graphql_cost_points_total",
			Help: "Shopify Admin GraphQL query cost points, requested and actual.",
		}, []string{"operation", "kind"}),
		throttles: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "shopify_graphql_throttles_total",
			Help: "THROTTLED or HTTP 429 responses from the Shopify Admin API.",
		}, []string{"operation"}),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "shopify_graphql_retries_total",
			Help: "Retried Shopify Admin GraphQL calls by reason.",
		}, []string{"operation", "reason"}),
		wait: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: namespace, Name: "shopify_graphql_limiter_wait_seconds",
			Help:    "Time spent waiting for the per-shop cost limiter.",
			Buckets: []float64{0.001, 0.01, 0.1, 0.5, 1, 2, 5, 10, 30},
		}, []string{"operation"}),
	}
	for _, c := range []prometheus.Collector{m.cost, m.throttles, m.retries, m.wait} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// Cost implements Metrics.
func (m *PrometheusMetrics) Cost(op string, requested, actual int) {
	m.cost.WithLabelValues(op, "requested").Add(float64(requested))
	if actual >= 0 {
		m.cost.WithLabelValues(op, "actual").Add(float64(actual))
	}
}

// Throttled implements Metrics.
func (m *PrometheusMetrics) Throttled(op string) { m.throttles.WithLabelValues(op).Inc() }

// Retry implements Metrics.
func (m *PrometheusMetrics) Retry(op, reason string) { m.retries.WithLabelValues(op, reason).Inc() }

// LimiterWait implements Metrics.
func (m *PrometheusMetrics) LimiterWait(op string, d time.Duration) {
	m.wait.WithLabelValues(op).Observe(d.Seconds())
}
