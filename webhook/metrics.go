package webhook

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/paymux/paymux/ent/webhookdelivery"
	"github.com/paymux/paymux/tenant"
)

// registerMetrics makes the dispatcher's collectors and registers them on
// reg (none when reg is nil): attempts by outcome, and the queue's depth.
func (d *Dispatcher) registerMetrics(reg prometheus.Registerer) error {
	d.attempts = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "paymux_webhook_attempts_total",
		Help: "Webhook delivery attempts by outcome: succeeded, retry, failed (retries spent or 410).",
	}, []string{"outcome"})
	due := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "paymux_webhook_deliveries_due",
		Help: "Webhook deliveries due now and not yet sent (the queue's depth).",
	}, func() float64 {
		ctx, cancel := context.WithTimeout(tenant.System(context.Background()), 5*time.Second)
		defer cancel()
		n, err := d.db.WebhookDelivery.Query().Where(
			webhookdelivery.StatusEQ(webhookdelivery.StatusPENDING), webhookdelivery.NextAttemptAtLTE(d.sender.clock()),
		).Count(ctx)
		if err != nil {
			d.log.Warn("metrics: count due webhook deliveries", "error", err)
			return -1
		}
		return float64(n)
	})
	if reg == nil {
		return nil
	}
	for _, c := range []prometheus.Collector{d.attempts, due} {
		if err := reg.Register(c); err != nil {
			return err
		}
	}
	return nil
}
