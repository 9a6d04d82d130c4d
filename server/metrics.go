package server

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/paymux/paymux/authheader"
	"github.com/paymux/paymux/ent/webhookdelivery"
	"github.com/paymux/paymux/tenant"
)

// metrics are the operator's numbers, served at /metrics in the Prometheus
// text format to the platform administrator (Authorization: Bearer <admin
// token>, which Prometheus sends with its bearer_token setting): method
// names and error counts are not for the public.
type metrics struct {
	// registry also holds what domain packages register on it
	// (billing.Scheduler: paymux_schedules_due).
	registry *prometheus.Registry
	calls    *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	attempts *prometheus.CounterVec
	// The call log (calllog.go) and the PG calls it records.
	pgLatency  *prometheus.HistogramVec
	logWritten prometheus.Counter
	logDropped *prometheus.CounterVec
}

func newMetrics(s *Server) *metrics {
	m := &metrics{
		registry: prometheus.NewRegistry(),
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "paymux_requests_total",
			Help: "API calls by method, surface (grpc, grpcweb, connect, rest) and result code.",
		}, []string{"procedure", "surface", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "paymux_request_duration_seconds",
			Help:    "API call latency by method and surface, policy chain included.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"procedure", "surface"}),
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "paymux_webhook_attempts_total",
			Help: "Webhook delivery attempts by outcome: succeeded, retry, failed (retries spent or 410).",
		}, []string{"outcome"}),
	}
	m.pgLatency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "paymux_pg_call_duration_seconds",
		Help:    "Calls paymux made to PGs, by provider, operation and result (OK or the error kind).",
		Buckets: []float64{.001, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
	}, []string{"provider", "operation", "code"})
	m.logWritten = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "paymux_log_records_written_total",
		Help: "Call log records (API and PG calls) written.",
	})
	m.logDropped = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "paymux_log_records_dropped_total",
		Help: "Call log records not written: overload (the buffer was full and call_log.overload is drop), write_error, closing.",
	}, []string{"reason"})
	for _, reason := range []string{"overload", "write_error", "closing"} {
		m.logDropped.WithLabelValues(reason) // shown as 0 until something is dropped
	}
	queued := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "paymux_log_records_queued",
		Help: "Call log records waiting to be written (at most call_log.buffer).",
	}, func() float64 {
		if s.calls == nil {
			return 0
		}
		return float64(len(s.calls.queue))
	})
	pending := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "paymux_webhook_deliveries_due",
		Help: "Webhook deliveries due now and not yet sent (the queue's depth).",
	}, func() float64 {
		ctx, cancel := context.WithTimeout(tenant.System(context.Background()), 5*time.Second)
		defer cancel()
		n, err := s.db.WebhookDelivery.Query().Where(
			webhookdelivery.StatusEQ(webhookdelivery.StatusPENDING), webhookdelivery.NextAttemptAtLTE(s.clock()),
		).Count(ctx)
		if err != nil {
			s.log.Warn("metrics: count due webhook deliveries", "error", err)
			return -1
		}
		return float64(n)
	})
	m.registry.MustRegister(m.calls, m.latency, m.attempts, pending, m.pgLatency, m.logWritten, m.logDropped, queued,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// observeCall counts one API call.
func (m *metrics) observeCall(procedure, surface, code string, d time.Duration) {
	m.calls.WithLabelValues(procedure, surface, code).Inc()
	m.latency.WithLabelValues(procedure, surface).Observe(d.Seconds())
}

// handler serves /metrics to the administrator only.
func (m *metrics) handler(s *Server) http.Handler {
	inner := promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		creds, err := authheader.Parse(r.Header.Get("Authorization"))
		if err != nil || creds.Scheme != authheader.SchemeBearer || !strings.HasPrefix(creds.Token, adminTokenPrefix) ||
			!s.keyring.SecretMatches(creds.Token, s.auth.adminHash) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="paymux metrics"`)
			http.Error(w, "the admin token is needed: Authorization: Bearer pma_...", http.StatusUnauthorized)
			return
		}
		inner.ServeHTTP(w, r)
	})
}
