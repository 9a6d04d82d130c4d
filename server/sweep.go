package server

import (
	"context"
	"time"

	"github.com/paymux/paymux/ent"
	"github.com/paymux/paymux/ent/billingkey"
	"github.com/paymux/paymux/ent/cancellation"
	"github.com/paymux/paymux/ent/idempotencyrecord"
	"github.com/paymux/paymux/ent/payment"
	"github.com/paymux/paymux/ent/webhookattempt"
	"github.com/paymux/paymux/ent/webhookdelivery"
	"github.com/paymux/paymux/secrets"
	"github.com/paymux/paymux/tenant"
)

// sweepBatch bounds the rows one sweep of each kind handles.
const sweepBatch = 100

// sweepLoop runs sweep every payments.sweep_interval until ctx ends.
// Replicas may sweep at once: every step is a conditional transition or an
// idempotent PG call, so doing one twice changes nothing.
func (s *Server) sweepLoop(ctx context.Context) {
	t := time.NewTicker(s.cfg.Payments.SweepInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.sweep(ctx)
		}
	}
}

// sweep finishes what a lost PG answer or a crash left open: it resolves
// PAY_PENDING payments and unissued virtual accounts, resends unanswered
// cancels, expires unpaid virtual accounts past their due time, and drops
// idempotency records past their time.
func (s *Server) sweep(ctx context.Context) {
	// The PG calls a sweep makes are linked to it in the call log.
	ctx = withJobRequestID(tenant.System(ctx), "job_sweep_"+secrets.RandomString(12))
	// A call still waiting for its PG answer is not stale; only what has
	// been open longer than any call can take is.
	stale := s.clock().Add(-2 * s.cfg.Payments.PGTimeout)
	logErr := func(what, id string, err error) {
		if err != nil && ctx.Err() == nil {
			s.log.WarnContext(ctx, "sweep: "+what, "id", id, "error", err)
		}
	}

	pending, err := s.db.Payment.Query().
		Where(payment.StatusIn(payment.StatusPAY_PENDING, payment.StatusREADY), payment.StatusAtLT(stale)).
		Where(payment.Or(payment.StatusEQ(payment.StatusPAY_PENDING), payment.MethodEQ(payment.MethodVIRTUAL_ACCOUNT))).
		Limit(sweepBatch).All(ctx)
	logErr("list pending payments", "", err)
	for _, p := range pending {
		logErr("resolve payment", p.ID, s.resolveStale(ctx, p))
	}

	cancels, err := s.db.Cancellation.Query().
		Where(cancellation.StatusEQ(cancellation.StatusREQUESTED), cancellation.CreatedAtLT(stale)).
		Limit(sweepBatch).All(ctx)
	logErr("list requested cancels", "", err)
	for _, c := range cancels {
		logErr("resend cancel", c.ID, s.resendCancel(ctx, c))
	}

	due, err := s.db.Payment.Query().
		Where(payment.StatusEQ(payment.StatusVIRTUAL_ACCOUNT_ISSUED), payment.DueAtLT(s.clock())).
		Limit(sweepBatch).All(ctx)
	logErr("list due virtual accounts", "", err)
	for _, p := range due {
		_, err := s.expireIfDue(ctx, p)
		logErr("expire virtual account", p.ID, err)
	}

	_, err = s.db.IdempotencyRecord.Delete().Where(idempotencyrecord.ExpiresAtLT(s.clock())).Exec(ctx)
	logErr("drop idempotency records", "", err)

	// The delivery log is kept for webhooks.log_retention.
	old := s.clock().Add(-s.cfg.Webhooks.LogRetention)
	_, err = s.db.WebhookAttempt.Delete().Where(webhookattempt.CreatedAtLT(old)).Exec(ctx)
	logErr("drop old webhook attempts", "", err)
	_, err = s.db.WebhookDelivery.Delete().
		Where(webhookdelivery.StatusNEQ(webhookdelivery.StatusPENDING), webhookdelivery.UpdatedAtLT(old)).Exec(ctx)
	logErr("drop old webhook deliveries", "", err)

	logErr("drop old call log records", "", s.calls.Purge(ctx))

	// A billing-key window not completed within a day is given up, and its
	// name freed.
	_, err = s.db.BillingKey.Delete().Where(billingkey.StatusEQ(billingkey.StatusPENDING),
		billingkey.CreatedAtLT(s.clock().Add(-24*time.Hour))).Exec(ctx)
	logErr("drop unfinished billing key windows", "", err)
}

// resolveStale settles a payment whose PG call never came back.
func (s *Server) resolveStale(ctx context.Context, p *ent.Payment) error {
	ch, err := s.channelOf(ctx, p)
	if err != nil {
		return err
	}
	if p.Status == payment.StatusPAY_PENDING && p.ScheduleID != "" {
		return ignorePaymentOutcome(s.resumeScheduledCharge(ctx, p, ch))
	}
	if p.Status == payment.StatusPAY_PENDING {
		_, err = s.resolvePending(ctx, p.ID, ch)
		return ignorePaymentOutcome(err)
	}
	// A virtual account asked for and never answered.
	pgctx, cancel := s.pgContext(ctx)
	found, err := ch.api.Lookup(pgctx, ch.pg, lookupOf(p))
	cancel()
	if err != nil {
		if isNotFound(err) {
			_, err = s.recordFailure(ctx, p.ID, failureOf(failNotCharged, err), "")
		}
		return err
	}
	if found.VirtualAccount == nil {
		_, err = s.recordFailure(ctx, p.ID, failureOf(failNotCharged, nil), "")
		return err
	}
	_, err = s.recordVirtualAccount(ctx, p, found, nil)
	return err
}

// resendCancel asks the PG again for a cancel whose answer was lost.
func (s *Server) resendCancel(ctx context.Context, c *ent.Cancellation) error {
	p, err := s.db.Payment.Get(ctx, c.PaymentID)
	if err != nil {
		return err
	}
	ch, err := s.channelOf(ctx, p)
	if err != nil {
		return err
	}
	res, pgErr := s.sendCancel(ctx, p, ch, c)
	_, _, err = s.settleCancel(ctx, p, c, res, pgErr)
	return ignorePaymentOutcome(err)
}
