package payment

import (
	"context"
	"log/slog"
	"time"

	"github.com/paymux/paymux/ent"
	"github.com/paymux/paymux/ent/cancellation"
	"github.com/paymux/paymux/ent/payment"
	"github.com/paymux/paymux/tenant"
)

// sweepBatch bounds the rows one sweep of each kind handles.
const sweepBatch = 100

// Sweeper finishes what a lost PG answer or a crash left open: it resolves
// PAY_PENDING payments and unissued virtual accounts, resends unanswered
// cancels, and expires unpaid virtual accounts past their due time.
// Replicas may sweep at once: every step is a conditional transition or an
// idempotent PG call, so doing one twice changes nothing.
type Sweeper struct {
	payments *Service
	// resumeScheduled settles a scheduled charge left PAY_PENDING
	// (billing's: it knows how to resend it under the same order id).
	resumeScheduled func(ctx context.Context, p *ent.Payment, ch *Channel) error
	// newJobID names one sweep, so its PG calls are linked to it in the
	// call log.
	newJobID func(ctx context.Context) context.Context
}

// NewSweeper builds the sweeper. resumeScheduled settles a payment a
// schedule started; newJob marks the context of one sweep (nil: as is).
func NewSweeper(payments *Service, resumeScheduled func(ctx context.Context, p *ent.Payment, ch *Channel) error, newJob func(ctx context.Context) context.Context) *Sweeper {
	if newJob == nil {
		newJob = func(ctx context.Context) context.Context { return ctx }
	}
	return &Sweeper{payments: payments, resumeScheduled: resumeScheduled, newJobID: newJob}
}

// Run sweeps every payments.sweep_interval until ctx ends.
func (w *Sweeper) Run(ctx context.Context) error {
	t := time.NewTicker(w.payments.cfg.SweepInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			w.Sweep(ctx)
		}
	}
}

// Sweep runs one sweep.
func (w *Sweeper) Sweep(ctx context.Context) {
	s := w.payments
	ctx = w.newJobID(tenant.System(ctx))
	// A call still waiting for its PG answer is not stale; only what has
	// been open longer than any call can take is.
	stale := s.clock().Add(-2 * s.cfg.PGTimeout)
	logErr := func(what, id string, err error) {
		if err != nil && ctx.Err() == nil {
			s.log.WarnContext(ctx, "sweep: "+what, slog.String("id", id), slog.Any("error", err))
		}
	}

	pending, err := s.db.Payment.Query().
		Where(payment.StatusIn(payment.StatusPAY_PENDING, payment.StatusREADY), payment.StatusAtLT(stale)).
		// READY: a virtual account asked for from the server; one opened
		// through a window (checkout set) waits for its buyer instead.
		Where(payment.Or(payment.StatusEQ(payment.StatusPAY_PENDING),
			payment.And(payment.MethodEQ(payment.MethodVIRTUAL_ACCOUNT), payment.CheckoutIsNil()))).
		Limit(sweepBatch).All(ctx)
	logErr("list pending payments", "", err)
	for _, p := range pending {
		logErr("resolve payment", p.ID, w.resolveStale(ctx, p))
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
		_, err := s.ExpireIfDue(ctx, p)
		logErr("expire virtual account", p.ID, err)
	}
}

// resolveStale settles a payment whose PG call never came back.
func (w *Sweeper) resolveStale(ctx context.Context, p *ent.Payment) error {
	s := w.payments
	ch, err := s.channelOf(ctx, p)
	if err != nil {
		return err
	}
	if p.Status == payment.StatusPAY_PENDING && p.ScheduleID != "" && w.resumeScheduled != nil {
		return IgnoreOutcome(w.resumeScheduled(ctx, p, ch))
	}
	if p.Status == payment.StatusPAY_PENDING {
		_, err = s.ResolvePending(ctx, p.ID, ch)
		return IgnoreOutcome(err)
	}
	// A virtual account asked for and never answered.
	pgctx, cancel := s.PGContext(ctx)
	found, err := ch.API.Lookup(pgctx, ch.PG, LookupOf(p))
	cancel()
	if err != nil {
		if isNotFound(err) {
			_, err = s.recordFailure(ctx, p.ID, FailureOf(FailNotCharged, err), "")
		}
		return err
	}
	if found.VirtualAccount == nil {
		_, err = s.recordFailure(ctx, p.ID, FailureOf(FailNotCharged, nil), "")
		return err
	}
	_, err = s.recordVirtualAccount(ctx, p, found, nil)
	return err
}

// resendCancel asks the PG again for a cancel whose answer was lost.
func (s *Service) resendCancel(ctx context.Context, c *ent.Cancellation) error {
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
	return IgnoreOutcome(err)
}
