package server

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/paymux/paymux/account"
	"github.com/paymux/paymux/authheader"
)

// metrics are the operator's numbers, served at /metrics in the Prometheus
// text format to the platform administrator (Authorization: Bearer <admin
// token>, which Prometheus sends with its bearer_token setting): method
// names and error counts are not for the public.
type metrics struct {
	// registry also holds what domain packages register on it
	// (webhook.Dispatcher: paymux_webhook_*; billing.Scheduler: paymux_schedules_due;
	// calllog.Writer: paymux_log_*, paymux_pg_*).
	registry *prometheus.Registry
	calls    *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	// The call log's metrics are package calllog's, on this registry.
}

func newMetrics(reg *prometheus.Registry) *metrics {
	m := &metrics{
		registry: reg,
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "paymux_requests_total",
			Help: "API calls by method, surface (grpc, grpcweb, connect, rest) and result code.",
		}, []string{"procedure", "surface", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "paymux_request_duration_seconds",
			Help:    "API call latency by method and surface, policy chain included.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"procedure", "surface"}),
	}
	m.registry.MustRegister(m.calls, m.latency)
	return m
}

// observeCall counts one API call.
func (m *metrics) observeCall(procedure, surface, code string, d time.Duration) {
	m.calls.WithLabelValues(procedure, surface, code).Inc()
	m.latency.WithLabelValues(procedure, surface).Observe(d.Seconds())
}

// metricsHandler serves reg at /metrics to the administrator only.
func metricsHandler(reg *prometheus.Registry, accounts *account.Service) http.Handler {
	inner := promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		creds, err := authheader.Parse(r.Header.Get("Authorization"))
		if err != nil || creds.Scheme != authheader.SchemeBearer || !accounts.IsAdminToken(creds.Token) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="paymux metrics"`)
			http.Error(w, "the admin token is needed: Authorization: Bearer pma_...", http.StatusUnauthorized)
			return
		}
		inner.ServeHTTP(w, r)
	})
}
