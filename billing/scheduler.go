package billing

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"entgo.io/ent/dialect"
	"entgo.io/ent/dialect/sql"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/paymux/paymux/database"
	"github.com/paymux/paymux/ent"
	"github.com/paymux/paymux/ent/billingkey"
	"github.com/paymux/paymux/ent/payment"
	"github.com/paymux/paymux/ent/schedule"
	"github.com/paymux/paymux/ent/schema/details"
	paymentsvc "github.com/paymux/paymux/payment"
	"github.com/paymux/paymux/paystate"
	"github.com/paymux/paymux/providers"
	"github.com/paymux/paymux/tenant"
)

// The scheduler charges due schedules, each exactly once:
//
//  1. claim: in one transaction, due SCHEDULED rows are moved to STARTED
//     (a conditional update, FOR UPDATE SKIP LOCKED on PostgreSQL so that
//     replicas take different rows) and each gets its payment, created
//     PAY_PENDING. The payment's merchant payment id is unique per store,
//     so no schedule can ever make two payments.
//  2. charge: the PG is asked with the payment id as order id and
//     idempotency key, and its answer recorded like any charge's.
//  3. end: the transition that makes the payment PAID or FAILED also ends
//     the schedule (EndSchedule), in the same transaction, and writes the
//     schedule's event; a failed one with retries left schedules its retry.
//
// A crash between 1 and 3 leaves a PAY_PENDING payment, which the sweep
// settles by asking the PG (never by charging again), and that ends the
// schedule (ResumeScheduledCharge). A revoke is a conditional update of
// SCHEDULED rows too: a schedule is revoked or started, never both.

// scheduleClaimBatch bounds the schedules one claim starts.
const scheduleClaimBatch = 200

// SchedulerDeps are what a Scheduler is built from, beside the Service
// whose schedules it charges (and its database, payments, configuration,
// clock and logger).
type SchedulerDeps struct {
	// Registerer takes the scheduler's metrics (paymux_schedules_due);
	// nil registers none.
	Registerer prometheus.Registerer
	// NewJob marks the context of one claim and its charges, so that their
	// PG calls are linked to it in the call log; nil: as is.
	NewJob func(ctx context.Context) context.Context
	// BatchEnqueue readies the context of one transaction that enqueues
	// many events (a claim, a batch of outcomes), so that the outbox reads
	// what it needs once per transaction rather than once per event
	// (webhook endpoints); nil: as is. Called for each try.
	BatchEnqueue func(ctx context.Context) context.Context
}

// Scheduler charges due schedules (a runner). Replicas may run one each:
// a schedule is claimed by one of them only.
type Scheduler struct {
	billing  *Service
	payments *paymentsvc.Service
	newJob   func(context.Context) context.Context
	batch    func(context.Context) context.Context
	wakeC    chan struct{}
	// workers bounds the charges in flight (billing.workers); inflight
	// counts them, so that the next batch is claimed while the last one is
	// still being charged, and Run waits for them before it returns.
	workers  chan struct{}
	inflight sync.WaitGroup
	outcomes outcomeBatcher
}

// NewScheduler builds the scheduler of billing's schedules. Register its
// EndSchedule with payment.Service.OnTransition, give its
// ResumeScheduledCharge to payment.NewSweeper, and its Wake to
// Service.OnSchedule.
func NewScheduler(billing *Service, d SchedulerDeps) (*Scheduler, error) {
	same := func(ctx context.Context) context.Context { return ctx }
	w := &Scheduler{
		billing:  billing,
		payments: billing.payments,
		newJob:   d.NewJob,
		batch:    d.BatchEnqueue,
		wakeC:    make(chan struct{}, 1),
		workers:  make(chan struct{}, max(billing.cfg.Workers, 1)),
	}
	if w.newJob == nil {
		w.newJob = same
	}
	if w.batch == nil {
		w.batch = same
	}
	if d.Registerer != nil {
		if err := d.Registerer.Register(w.dueGauge()); err != nil {
			return nil, fmt.Errorf("billing metrics: %w", err)
		}
	}
	return w, nil
}

// dueGauge is paymux_schedules_due: the scheduler's backlog.
func (w *Scheduler) dueGauge() prometheus.Collector {
	s := w.billing
	return prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "paymux_schedules_due",
		Help: "Billing schedules due now and not yet started (the executor's backlog).",
	}, func() float64 {
		ctx, cancel := context.WithTimeout(tenant.System(context.Background()), 5*time.Second)
		defer cancel()
		n, err := s.db.Schedule.Query().Where(schedule.StatusEQ(schedule.StatusSCHEDULED), schedule.PayAtLTE(s.clock())).Count(ctx)
		if err != nil {
			s.log.Warn("metrics: count due schedules", "error", err)
			return -1
		}
		return float64(n)
	})
}

// Wake makes the scheduler look for due schedules now.
func (w *Scheduler) Wake() {
	if w == nil {
		return
	}
	select {
	case w.wakeC <- struct{}{}:
	default:
	}
}

// Run charges due schedules until ctx ends: every billing.poll_interval,
// or at once when woken. It returns once the charges under way are
// recorded.
func (w *Scheduler) Run(ctx context.Context) error {
	s := w.billing
	t := time.NewTicker(s.cfg.PollInterval)
	defer t.Stop()
	defer w.inflight.Wait()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		case <-w.wakeC:
		}
		for ctx.Err() == nil {
			n, err := w.claimAndCharge(ctx)
			if err != nil && ctx.Err() == nil {
				s.log.Error("schedules: run due", "error", err)
			}
			if err != nil || n < scheduleClaimBatch {
				break
			}
		}
	}
}

// startedSchedule is a claimed schedule with what its charge needs.
type startedSchedule struct {
	sch *ent.Schedule
	p   *ent.Payment
	key *ent.BillingKey
	ch  *paymentsvc.Channel
}

// runDue claims one batch of due schedules and charges them, waiting for
// the charges. It answers how many it claimed.
func (w *Scheduler) runDue(ctx context.Context) (int, error) {
	n, err := w.claimAndCharge(ctx)
	w.inflight.Wait()
	return n, err
}

// claimAndCharge claims one batch and hands its charges to the workers. It
// returns once the last is handed over, not done: the next batch is
// claimed while these are charged.
func (w *Scheduler) claimAndCharge(ctx context.Context) (int, error) {
	s := w.billing
	ctx = w.newJob(tenant.System(ctx))
	started, n, err := w.claim(ctx)
	if err != nil || len(started) == 0 {
		return n, err
	}
	for _, st := range started {
		w.workers <- struct{}{}
		w.inflight.Add(1)
		go func() {
			defer func() { <-w.workers; w.inflight.Done() }()
			if err := w.chargeStarted(ctx, st); err != nil {
				s.log.ErrorContext(ctx, "schedules: charge", "schedule", st.sch.ID, "payment", st.p.ID, "error", err)
			}
		}()
	}
	return n, nil
}

// chargeStarted charges a claimed schedule, unless the sweep took its
// payment over meanwhile (a charge that waited for a worker longer than
// the sweep waits).
func (w *Scheduler) chargeStarted(ctx context.Context, st *startedSchedule) error {
	p, mine, err := w.takePending(ctx, st.p)
	if err != nil || !mine {
		return err
	}
	res, pgErr := w.billing.sendCharge(ctx, p, st.ch, st.key, st.sch.InstallmentMonths,
		providers.Buyer{Name: st.sch.CustomerName, Email: st.sch.CustomerEmail, Phone: st.sch.CustomerPhone})
	if providers.OutcomeUnknown(pgErr) || providers.IsKind(pgErr, providers.KindAlreadyDone) {
		// No clear answer: the payment stays PAY_PENDING, and the sweep asks
		// the PG once any late charge has had time to land (resending with
		// the same order id only if the PG has none).
		return nil
	}
	// A clear answer is recorded with others in one transaction; another
	// amount than asked is voided the one-by-one way.
	o := &scheduleOutcome{p: p, done: make(chan error, 1)}
	switch {
	case pgErr == nil && res.Amounts.Total == p.Total:
		o.paid = res
	case pgErr != nil && !providers.OutcomeUnknown(pgErr) && !providers.IsKind(pgErr, providers.KindAlreadyDone):
		o.failure = paymentsvc.FailureOf(paymentsvc.FailRefused, pgErr)
		if providers.IsKind(pgErr, providers.KindDeclined) {
			o.failure = paymentsvc.FailureOf(paymentsvc.FailDeclined, pgErr)
		}
	}
	if (o.paid != nil || o.failure != nil) && w.outcomes.record(ctx, w, o) == nil {
		return nil
	}
	_, err = w.payments.SettleCharge(ctx, p, st.ch, res, pgErr)
	if isPaymentOutcome(err) {
		// A charge's failure is its payment's (and schedule's) state.
		return nil
	}
	return err
}

// scheduleOutcome is a scheduled charge's clear answer, waiting to be
// recorded: paid, or failed.
type scheduleOutcome struct {
	p       *ent.Payment
	paid    *providers.Payment
	failure *details.Failure
	done    chan error
}

// outcomeBatcher records outcomes many to a transaction: the worker that
// finds no write under way writes what is waiting, the others wait for it.
// Under load one commit serves many charges; alone a charge is written at
// once.
type outcomeBatcher struct {
	mu       sync.Mutex
	pending  []*scheduleOutcome
	flushing bool
}

func (b *outcomeBatcher) record(ctx context.Context, w *Scheduler, o *scheduleOutcome) error {
	b.mu.Lock()
	b.pending = append(b.pending, o)
	if b.flushing {
		b.mu.Unlock()
		return <-o.done
	}
	b.flushing = true
	for len(b.pending) > 0 {
		batch := b.pending[:min(len(b.pending), scheduleClaimBatch)]
		b.pending = b.pending[len(batch):]
		b.mu.Unlock()
		err := w.writeOutcomes(ctx, batch)
		for _, x := range batch {
			x.done <- err
		}
		b.mu.Lock()
	}
	b.flushing = false
	b.mu.Unlock()
	return <-o.done
}

// writeOutcomes records outcomes in one transaction, each through the
// state machine (which ends its schedule). A payment no longer PAY_PENDING
// was settled by someone else and is left as it is.
func (w *Scheduler) writeOutcomes(ctx context.Context, batch []*scheduleOutcome) error {
	s := w.billing
	ctx = context.WithoutCancel(ctx) // the charges happened: record them
	return database.InTx(ctx, s.db, func(tx *ent.Tx) error {
		ctx := w.batch(ctx)
		for _, o := range batch {
			cur, err := paymentsvc.Lock(ctx, tx, o.p.ID)
			if err != nil {
				return err
			}
			if cur.Status != payment.StatusPAY_PENDING {
				if o.paid != nil && cur.Status != payment.StatusPAID {
					s.log.ErrorContext(ctx, "schedules: the PG charged a payment paymux had settled otherwise",
						"payment", cur.ID, "status", cur.Status, "pg_transaction_id", o.paid.PGTransactionID)
				}
				continue
			}
			if o.paid != nil {
				_, err = w.payments.Transition(ctx, tx, cur, paystate.Approve, paymentsvc.SetPaid(o.paid, s.clock()))
			} else {
				_, err = w.payments.Transition(ctx, tx, cur, paystate.Fail, paymentsvc.SetFailed(o.failure, s.clock(), ""))
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
}

// takePending makes the caller the one to send p's charge: it moves p's
// status_at to now if p is still PAY_PENDING with the status_at the caller
// read. The scheduler's worker and the sweep both take a payment so before
// sending, so that only one of them sends; the sweep leaves a payment
// whose status_at is recent alone.
func (w *Scheduler) takePending(ctx context.Context, p *ent.Payment) (*ent.Payment, bool, error) {
	s := w.billing
	now := s.clock()
	n, err := s.db.Payment.Update().
		Where(payment.ID(p.ID), payment.StatusEQ(payment.StatusPAY_PENDING), payment.StatusAt(p.StatusAt)).
		SetStatusAt(now).Save(ctx)
	if err != nil || n == 0 {
		return p, false, err
	}
	taken := *p
	taken.StatusAt = now
	return &taken, true, nil
}

// isPaymentOutcome reports whether err only tells how a charge went (a
// decline, an unknown outcome being resolved), which the payment records.
func isPaymentOutcome(err error) bool { return paymentsvc.IgnoreOutcome(err) == nil }

// claim starts a batch of due schedules: each STARTED with its payment,
// PAY_PENDING, in one transaction.
func (w *Scheduler) claim(ctx context.Context) ([]*startedSchedule, int, error) {
	s := w.billing
	now := s.clock()
	var started []*startedSchedule
	var claimed int
	err := database.InTx(ctx, s.db, func(tx *ent.Tx) error {
		ctx := w.batch(ctx) // one per try of the transaction
		started, claimed = nil, 0
		rows, err := tx.Schedule.Query().
			Where(schedule.StatusEQ(schedule.StatusSCHEDULED), schedule.PayAtLTE(now)).
			Order(ent.Asc(schedule.FieldPayAt), ent.Asc(schedule.FieldID)).Limit(scheduleClaimBatch).
			Modify(func(sel *sql.Selector) {
				if sel.Dialect() == dialect.Postgres {
					sel.ForUpdate(sql.WithLockAction(sql.SkipLocked))
				}
			}).All(ctx)
		if err != nil || len(rows) == 0 {
			return err
		}
		claimed = len(rows)
		var keyIDs, mids []string
		for _, r := range rows {
			keyIDs = append(keyIDs, r.BillingKeyID)
			mids = append(mids, r.MerchantPaymentID)
		}
		keys, err := tx.BillingKey.Query().Where(billingkey.IDIn(keyIDs...)).All(ctx)
		if err != nil {
			return err
		}
		byID := map[string]*ent.BillingKey{}
		for _, k := range keys {
			byID[k.ID] = k
		}
		taken, err := tx.Payment.Query().Where(payment.MerchantPaymentIDIn(mids...)).
			Select(payment.FieldStoreID, payment.FieldMerchantPaymentID).All(ctx)
		if err != nil {
			return err
		}
		isTaken := map[string]bool{}
		for _, p := range taken {
			isTaken[p.StoreID+"\x00"+p.MerchantPaymentID] = true
		}
		for _, r := range rows {
			k := byID[r.BillingKeyID]
			var why *details.Failure
			var ch *paymentsvc.Channel
			switch {
			case k == nil || k.Status != billingkey.StatusACTIVE:
				why = &details.Failure{Reason: ReasonBillingKeyDeleted, Message: "the billing key was deleted"}
			case isTaken[r.StoreID+"\x00"+r.MerchantPaymentID]:
				why = &details.Failure{Reason: "MERCHANT_PAYMENT_ID_TAKEN", Message: "a payment with this merchant payment id exists"}
			default:
				if ch, err = w.payments.ChannelByID(ctx, r.ChannelID); err != nil {
					why = &details.Failure{Reason: "CHANNEL_NOT_FOUND", Message: err.Error()}
				}
			}
			if why != nil {
				if err := w.failUnstarted(ctx, tx, r, why); err != nil {
					return err
				}
				continue
			}
			started = append(started, &startedSchedule{sch: r, key: k, ch: ch})
		}
		return w.startSchedules(ctx, tx, started, now)
	})
	return started, claimed, err
}

// startSchedules moves the claimed schedules to STARTED and creates their
// payments, PAY_PENDING with the events of READY and PAY_PENDING, all with
// a few statements for the whole batch. A payment's id is its schedule's
// with the pay_ prefix: one schedule, one payment id.
func (w *Scheduler) startSchedules(ctx context.Context, tx *ent.Tx, started []*startedSchedule, now time.Time) error {
	if len(started) == 0 {
		return nil
	}
	ids := make([]string, len(started))
	for i, st := range started {
		ids[i] = st.sch.ID
	}
	n, err := tx.Schedule.Update().Where(schedule.IDIn(ids...), schedule.StatusEQ(schedule.StatusSCHEDULED)).
		SetStatus(schedule.StatusSTARTED).SetStartedAt(now).SetUpdatedAt(now).
		Modify(func(u *sql.UpdateBuilder) {
			u.Set(schedule.FieldPaymentID, sql.Expr("'pay_' || substr("+schedule.FieldID+", 5)"))
		}).Save(ctx)
	if err != nil {
		return err
	}
	if n != len(ids) {
		return fmt.Errorf("schedules: %d of %d claimed schedules changed meanwhile", len(ids)-n, len(ids))
	}
	in := make([]paymentsvc.PendingInput, len(started))
	for i, st := range started {
		r := st.sch
		r.PaymentID = "pay_" + strings.TrimPrefix(r.ID, "sch_")
		in[i] = paymentsvc.PendingInput{
			ID:                r.PaymentID,
			StoreID:           r.StoreID,
			ChannelID:         r.ChannelID,
			Provider:          st.key.Provider,
			Mode:              payment.Mode(r.Mode),
			MerchantPaymentID: r.MerchantPaymentID,
			OrderName:         r.OrderName,
			Total:             r.Total,
			TaxFree:           r.TaxFree,
			VAT:               r.Vat,
			Buyer:             providers.Buyer{Name: r.CustomerName, Email: r.CustomerEmail, Phone: r.CustomerPhone},
			KeyID:             r.KeyID,
			BillingKeyID:      r.BillingKeyName,
			ScheduleID:        r.ID,
		}
	}
	payments, err := w.payments.InsertPending(ctx, tx, now, in)
	if err != nil {
		return fmt.Errorf("schedules: %w", err)
	}
	for i, p := range payments {
		started[i].p = p
	}
	return nil
}

// ResumeScheduledCharge settles the payment of a schedule that a crash (or
// a lost answer) left PAY_PENDING; the payment sweeper calls it. It takes
// the payment first, so that no worker or other sweep sends or settles it
// meanwhile. Then the PG is asked: a charge it has is recorded; if it has
// none, the charge is sent with the same order id and idempotency key (a
// crash between claiming a schedule and charging it must not fail the
// schedule). No clear answer leaves the payment PAY_PENDING for a later
// sweep: a charge the PG may still be making is never declared not made.
func (w *Scheduler) ResumeScheduledCharge(ctx context.Context, p *ent.Payment, ch *paymentsvc.Channel) error {
	s := w.billing
	p, mine, err := w.takePending(ctx, p)
	if err != nil || !mine {
		return err
	}
	pgctx, cancel := w.payments.PGContext(ctx)
	_, err = ch.API.Lookup(pgctx, ch.PG, paymentsvc.LookupOf(p))
	cancel()
	switch {
	case err == nil:
		_, err = w.payments.ResolvePending(ctx, p.ID, ch) // the PG has it: record what it shows
		return err
	case !providers.IsKind(err, providers.KindNotFound):
		return nil // no answer: a later sweep asks again
	}
	r, err := s.db.Schedule.Get(ctx, p.ScheduleID)
	if err != nil {
		return err
	}
	k, err := s.db.BillingKey.Get(ctx, r.BillingKeyID)
	if err != nil {
		return err
	}
	if k.Status != billingkey.StatusACTIVE {
		_, err = w.payments.NotCharged(ctx, p, nil) // deleted meanwhile; the PG has no charge
		return err
	}
	res, pgErr := s.sendCharge(ctx, p, ch, k, r.InstallmentMonths,
		providers.Buyer{Name: r.CustomerName, Email: r.CustomerEmail, Phone: r.CustomerPhone})
	if providers.OutcomeUnknown(pgErr) || providers.IsKind(pgErr, providers.KindAlreadyDone) {
		return nil // a later sweep asks again
	}
	_, err = w.payments.SettleCharge(ctx, p, ch, res, pgErr)
	return err
}

// failUnstarted ends a due schedule that cannot be charged at all.
func (w *Scheduler) failUnstarted(ctx context.Context, tx *ent.Tx, r *ent.Schedule, why *details.Failure) error {
	s := w.billing
	now := s.clock()
	n, err := tx.Schedule.Update().Where(schedule.ID(r.ID), schedule.StatusEQ(schedule.StatusSCHEDULED)).
		SetStatus(schedule.StatusFAILED).SetStartedAt(now).SetEndedAt(now).SetFailure(why).SetUpdatedAt(now).Save(ctx)
	if err != nil || n == 0 {
		return err
	}
	ended, err := tx.Schedule.Get(ctx, r.ID)
	if err != nil {
		return err
	}
	return s.recordScheduleEvent(ctx, tx, ended, "billing.schedule.failed")
}

// EndSchedule ends the schedule that made p, now that p is PAID or FAILED,
// in the transaction that moved p: the schedule SUCCEEDED or FAILED, its
// event, and its retry if it failed with retries left. Register it with
// payment.Service.OnTransition: it runs in every transition, and does
// nothing for a payment no schedule made.
func (w *Scheduler) EndSchedule(ctx context.Context, tx *ent.Tx, p *ent.Payment) error {
	if p.ScheduleID == "" {
		return nil
	}
	var status schedule.Status
	switch p.Status {
	case payment.StatusPAID:
		status = schedule.StatusSUCCEEDED
	case payment.StatusFAILED:
		status = schedule.StatusFAILED
	default:
		return nil
	}
	s := w.billing
	now := s.clock()
	upd := tx.Schedule.Update().Where(schedule.ID(p.ScheduleID), schedule.StatusEQ(schedule.StatusSTARTED)).
		SetStatus(status).SetEndedAt(now).SetUpdatedAt(now)
	if p.Failure != nil {
		upd.SetFailure(p.Failure)
	}
	n, err := upd.Save(ctx)
	if err != nil || n == 0 {
		return err
	}
	r, err := tx.Schedule.Get(ctx, p.ScheduleID)
	if err != nil {
		return err
	}
	if err := s.recordScheduleEvent(ctx, tx, r, "billing.schedule."+strings.ToLower(string(status))); err != nil {
		return err
	}
	if status == schedule.StatusFAILED && r.RetryNumber < r.MaxRetries {
		return w.scheduleRetry(ctx, tx, r, now)
	}
	return nil
}

// scheduleRetry schedules the next try of a failed schedule, its merchant
// payment id the first try's with "-retry-N" added.
func (w *Scheduler) scheduleRetry(ctx context.Context, tx *ent.Tx, r *ent.Schedule, now time.Time) error {
	s := w.billing
	first, n := r.ID, r.RetryNumber+1
	base := r.MerchantPaymentID
	if r.RetryOf != "" {
		first = r.RetryOf
		base = strings.TrimSuffix(base, fmt.Sprintf("-retry-%d", r.RetryNumber))
	}
	mid := fmt.Sprintf("%s-retry-%d", base, n)
	// The merchant may have used the retry's id already: then there is no
	// retry, and the failure is recorded all the same (an insert that
	// broke the unique index would undo it).
	taken, err := tx.Schedule.Query().Where(schedule.StoreID(r.StoreID), schedule.MerchantPaymentID(mid)).Exist(ctx)
	if err == nil && !taken {
		taken, err = tx.Payment.Query().Where(payment.StoreID(r.StoreID), payment.MerchantPaymentID(mid)).Exist(ctx)
	}
	if err != nil {
		return err
	}
	if taken {
		s.log.WarnContext(ctx, "schedules: no retry, its merchant payment id is taken", "schedule", r.ID, "merchant_payment_id", mid)
		return nil
	}
	err = tx.Schedule.Create().
		SetStoreID(r.StoreID).
		SetBillingKeyID(r.BillingKeyID).
		SetBillingKeyName(r.BillingKeyName).
		SetChannelID(r.ChannelID).
		SetMode(r.Mode).
		SetStatus(schedule.StatusSCHEDULED).
		SetMerchantPaymentID(mid).
		SetOrderName(r.OrderName).
		SetTotal(r.Total).
		SetTaxFree(r.TaxFree).
		SetVat(r.Vat).
		SetInstallmentMonths(r.InstallmentMonths).
		SetCustomerName(r.CustomerName).
		SetCustomerEmail(r.CustomerEmail).
		SetCustomerPhone(r.CustomerPhone).
		SetPayAt(now.Add(time.Duration(r.RetryIntervalSeconds) * time.Second)).
		SetRetryIntervalSeconds(r.RetryIntervalSeconds).
		SetMaxRetries(r.MaxRetries).
		SetRetryNumber(n).
		SetRetryOf(first).
		SetKeyID(r.KeyID).
		SetCreatedAt(now).
		SetUpdatedAt(now).
		Exec(ctx)
	if err != nil {
		return fmt.Errorf("schedule %s: retry: %w", r.ID, err)
	}
	return nil
}
