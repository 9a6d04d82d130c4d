package server

import (
	"context"
	"time"

	"github.com/paymux/paymux/ent/idempotencyrecord"
	"github.com/paymux/paymux/ent/webhookattempt"
	"github.com/paymux/paymux/ent/webhookdelivery"
	"github.com/paymux/paymux/tenant"
)

// housekeeping drops, every payments.sweep_interval, what is kept only for
// a time: idempotency records past their time, the webhook delivery log,
// call log records, and billing-key windows never completed.
func (s *Server) housekeeping(ctx context.Context) {
	t := time.NewTicker(s.cfg.Payments.SweepInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.dropExpired(tenant.System(ctx))
		}
	}
}

func (s *Server) dropExpired(ctx context.Context) {
	logErr := func(what string, err error) {
		if err != nil && ctx.Err() == nil {
			s.log.WarnContext(ctx, "sweep: "+what, "id", "", "error", err)
		}
	}
	_, err := s.db.IdempotencyRecord.Delete().Where(idempotencyrecord.ExpiresAtLT(s.clock())).Exec(ctx)
	logErr("drop idempotency records", err)

	// The delivery log is kept for webhooks.log_retention.
	old := s.clock().Add(-s.cfg.Webhooks.LogRetention)
	_, err = s.db.WebhookAttempt.Delete().Where(webhookattempt.CreatedAtLT(old)).Exec(ctx)
	logErr("drop old webhook attempts", err)
	_, err = s.db.WebhookDelivery.Delete().
		Where(webhookdelivery.StatusNEQ(webhookdelivery.StatusPENDING), webhookdelivery.UpdatedAtLT(old)).Exec(ctx)
	logErr("drop old webhook deliveries", err)

	logErr("drop old call log records", s.calls.Purge(ctx))

	// A billing-key window not completed within a day is given up, and its
	// name freed.
	logErr("drop unfinished billing key windows", s.billing.DropUnfinishedWindows(ctx))
}
