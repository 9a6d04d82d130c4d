package server

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	paymentsvc "github.com/paymux/paymux/payment"

	"entgo.io/ent/dialect"
	"entgo.io/ent/dialect/sql"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/paymux/paymux/database"
	"github.com/paymux/paymux/ent"
	"github.com/paymux/paymux/ent/billingkey"
	"github.com/paymux/paymux/ent/event"
	"github.com/paymux/paymux/ent/payment"
	"github.com/paymux/paymux/ent/schedule"
	"github.com/paymux/paymux/ent/schema/details"
	"github.com/paymux/paymux/paystate"
	"github.com/paymux/paymux/providers"
	"github.com/paymux/paymux/secrets"
	"github.com/paymux/paymux/tenant"
)

// The schedule executor charges due schedules, each exactly once:
//
//  1. claim: in one transaction, due SCHEDULED rows are moved to STARTED
//     (a conditional update, FOR UPDATE SKIP LOCKED on PostgreSQL so that
//     replicas take different rows) and each gets its payment, created
//     PAY_PENDING. The payment's merchant payment id is unique per store,
//     so no schedule can ever make two payments.
//  2. charge: the PG is asked with the payment id as order id and
//     idempotency key, and its answer recorded like any charge's.
//  3. end: the transition that makes the payment PAID or FAILED also ends
//     the schedule (endSchedule), in the same transaction, and writes the
//     schedule's event; a failed one with retries left schedules its retry.
//
// A crash between 1 and 3 leaves a PAY_PENDING payment, which the sweep
// settles by asking the PG (never by charging again), and that ends the
// schedule. A revoke is a conditional update of SCHEDULED rows too: a
// schedule is revoked or started, never both.

// scheduleClaimBatch bounds the schedules one claim starts.
const scheduleClaimBatch = 200

type scheduleEngine struct {
	s     *Server
	wakeC chan struct{}
	// workers bounds the charges in flight (billing.workers); inflight
	// counts them, so that the next batch is claimed while the last one is
	// still being charged, and run waits for them before it returns.
	workers  chan struct{}
	inflight sync.WaitGroup
	outcomes outcomeBatcher
}

func newScheduleEngine(s *Server) *scheduleEngine {
	return &scheduleEngine{s: s, wakeC: make(chan struct{}, 1), workers: make(chan struct{}, s.cfg.Billing.Workers)}
}

// wake makes the executor look for due schedules now.
func (e *scheduleEngine) wake() {
	if e == nil {
		return
	}
	select {
	case e.wakeC <- struct{}{}:
	default:
	}
}

// run executes due schedules until ctx ends: every billing.poll_interval,
// or at once when woken.
func (e *scheduleEngine) run(ctx context.Context) {
	t := time.NewTicker(e.s.cfg.Billing.PollInterval)
	defer t.Stop()
	defer e.inflight.Wait()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-e.wakeC:
		}
		for ctx.Err() == nil {
			n, err := e.claimAndCharge(ctx)
			if err != nil && ctx.Err() == nil {
				e.s.log.Error("schedules: run due", "error", err)
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
func (e *scheduleEngine) runDue(ctx context.Context) (int, error) {
	n, err := e.claimAndCharge(ctx)
	e.inflight.Wait()
	return n, err
}

// claimAndCharge claims one batch and hands its charges to the workers. It
// returns once the last is handed over, not done: the next batch is
// claimed while these are charged.
func (e *scheduleEngine) claimAndCharge(ctx context.Context) (int, error) {
	s := e.s
	ctx = withJobRequestID(tenant.System(ctx), "job_schedule_"+secrets.RandomString(12))
	started, n, err := e.claim(ctx)
	if err != nil || len(started) == 0 {
		return n, err
	}
	for _, st := range started {
		e.workers <- struct{}{}
		e.inflight.Add(1)
		go func() {
			defer func() { <-e.workers; e.inflight.Done() }()
			if err := s.chargeStarted(ctx, st); err != nil {
				s.log.ErrorContext(ctx, "schedules: charge", "schedule", st.sch.ID, "payment", st.p.ID, "error", err)
			}
		}()
	}
	return n, nil
}

// chargeStarted charges a claimed schedule, unless the sweep took its
// payment over meanwhile (a charge that waited for a worker longer than
// the sweep waits).
func (s *Server) chargeStarted(ctx context.Context, st *startedSchedule) error {
	p, mine, err := s.takePending(ctx, st.p)
	if err != nil || !mine {
		return err
	}
	res, pgErr := s.sendBillingCharge(ctx, p, st.ch, st.key, st.sch.InstallmentMonths,
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
	if (o.paid != nil || o.failure != nil) && s.schedules.outcomes.record(ctx, s, o) == nil {
		return nil
	}
	_, err = s.payments.SettleCharge(ctx, p, st.ch, res, pgErr)
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

func (b *outcomeBatcher) record(ctx context.Context, s *Server, o *scheduleOutcome) error {
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
		err := s.writeOutcomes(ctx, batch)
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
func (s *Server) writeOutcomes(ctx context.Context, batch []*scheduleOutcome) error {
	ctx = context.WithoutCancel(ctx) // the charges happened: record them
	return database.InTx(ctx, s.db, func(tx *ent.Tx) error {
		ctx := s.outbox.WithEndpointMemo(ctx)
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
				_, err = s.payments.Transition(ctx, tx, cur, paystate.Approve, paymentsvc.SetPaid(o.paid, s.clock()))
			} else {
				_, err = s.payments.Transition(ctx, tx, cur, paystate.Fail, paymentsvc.SetFailed(o.failure, s.clock(), ""))
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
// read. The executor's worker and the sweep both take a payment so before
// sending, so that only one of them sends; the sweep leaves a payment
// whose status_at is recent alone.
func (s *Server) takePending(ctx context.Context, p *ent.Payment) (*ent.Payment, bool, error) {
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
func (e *scheduleEngine) claim(ctx context.Context) ([]*startedSchedule, int, error) {
	s := e.s
	now := s.clock()
	var started []*startedSchedule
	var claimed int
	err := database.InTx(ctx, s.db, func(tx *ent.Tx) error {
		ctx := s.outbox.WithEndpointMemo(ctx) // one per try of the transaction
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
				why = &details.Failure{Reason: reasonBillingKeyDeleted, Message: "the billing key was deleted"}
			case isTaken[r.StoreID+"\x00"+r.MerchantPaymentID]:
				why = &details.Failure{Reason: "MERCHANT_PAYMENT_ID_TAKEN", Message: "a payment with this merchant payment id exists"}
			default:
				if ch, err = s.payments.ChannelByID(ctx, r.ChannelID); err != nil {
					why = &details.Failure{Reason: "CHANNEL_NOT_FOUND", Message: err.Error()}
				}
			}
			if why != nil {
				if err := s.failUnstarted(ctx, tx, r, why); err != nil {
					return err
				}
				continue
			}
			started = append(started, &startedSchedule{sch: r, key: k, ch: ch})
		}
		return s.startSchedules(ctx, tx, started, now)
	})
	return started, claimed, err
}

// startSchedules moves the claimed schedules to STARTED and creates their
// payments, PAY_PENDING with the events of READY and PAY_PENDING, all with
// a few statements for the whole batch. A payment's id is its schedule's
// with the pay_ prefix: one schedule, one payment id.
func (s *Server) startSchedules(ctx context.Context, tx *ent.Tx, started []*startedSchedule, now time.Time) error {
	if len(started) == 0 {
		return nil
	}
	pending, err := paystate.Next(paystate.State(payment.StatusREADY), paystate.MarkPending)
	if err != nil {
		return err
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
	// The PAY_PENDING step a microsecond after READY, so that the status
	// history reads in order.
	pendingAt := now.Add(time.Microsecond)
	creates := make([]*ent.PaymentCreate, len(started))
	for i, st := range started {
		r := st.sch
		r.PaymentID = "pay_" + strings.TrimPrefix(r.ID, "sch_")
		creates[i] = tx.Payment.Create().
			SetID(r.PaymentID).
			SetStoreID(r.StoreID).
			SetChannelID(r.ChannelID).
			SetProvider(st.key.Provider).
			SetMode(payment.Mode(r.Mode)).
			SetMerchantPaymentID(r.MerchantPaymentID).
			SetOrderName(r.OrderName).
			SetMethod(payment.MethodCARD).
			SetApprovalModel(payment.ApprovalModelSERVER).
			SetStatus(payment.Status(pending)).
			SetStatusAt(pendingAt).
			SetCreatedAt(now).
			SetUpdatedAt(pendingAt).
			SetTotal(r.Total).
			SetTaxFree(r.TaxFree).
			SetVat(r.Vat).
			SetCustomerName(r.CustomerName).
			SetCustomerEmail(r.CustomerEmail).
			SetCustomerPhone(r.CustomerPhone).
			SetKeyID(r.KeyID).
			SetBillingKeyID(r.BillingKeyName).
			SetScheduleID(r.ID)
	}
	payments, err := tx.Payment.CreateBulk(creates...).Save(ctx)
	if err != nil {
		return fmt.Errorf("schedules: payments: %w", err)
	}
	// The two events every charge's payment has: created (READY), and sent
	// to the PG (PAY_PENDING).
	events := make([]*ent.EventCreate, 0, 2*len(payments))
	for i, p := range payments {
		started[i].p = p
		ready := *p
		ready.Status = payment.StatusREADY
		for _, step := range []struct {
			p    *ent.Payment
			from string
			at   time.Time
		}{{&ready, "", now}, {p, string(payment.StatusREADY), pendingAt}} {
			data, err := protojson.Marshal(toPaymentPB(step.p, nil, nil, nil))
			if err != nil {
				return fmt.Errorf("event data: %w", err)
			}
			events = append(events, tx.Event.Create().
				SetStoreID(p.StoreID).SetMode(event.Mode(p.Mode)).SetType(paymentsvc.EventType(step.p.Status)).
				SetPaymentID(p.ID).SetMerchantPaymentID(p.MerchantPaymentID).
				SetFromStatus(step.from).SetToStatus(string(step.p.Status)).SetData(data).SetCreatedAt(step.at))
		}
	}
	saved, err := tx.Event.CreateBulk(events...).Save(ctx)
	if err != nil {
		return err
	}
	for _, ev := range saved {
		if err := s.outbox.Enqueue(ctx, tx, ev, string(payment.MethodCARD)); err != nil {
			return err
		}
	}
	return nil
}

// resumeScheduledCharge settles the payment of a schedule that a crash (or
// a lost answer) left PAY_PENDING. It takes the payment first, so that no
// worker or other sweep sends or settles it meanwhile. Then the PG is
// asked: a charge it has is recorded; if it has none, the charge is sent
// with the same order id and idempotency key (a crash between claiming a
// schedule and charging it must not fail the schedule). No clear answer
// leaves the payment PAY_PENDING for a later sweep: a charge the PG may
// still be making is never declared not made.
func (s *Server) resumeScheduledCharge(ctx context.Context, p *ent.Payment, ch *paymentsvc.Channel) error {
	p, mine, err := s.takePending(ctx, p)
	if err != nil || !mine {
		return err
	}
	pgctx, cancel := s.payments.PGContext(ctx)
	_, err = ch.API.Lookup(pgctx, ch.PG, paymentsvc.LookupOf(p))
	cancel()
	switch {
	case err == nil:
		_, err = s.payments.ResolvePending(ctx, p.ID, ch) // the PG has it: record what it shows
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
		_, err = s.payments.NotCharged(ctx, p, nil) // deleted meanwhile; the PG has no charge
		return err
	}
	res, pgErr := s.sendBillingCharge(ctx, p, ch, k, r.InstallmentMonths,
		providers.Buyer{Name: r.CustomerName, Email: r.CustomerEmail, Phone: r.CustomerPhone})
	if providers.OutcomeUnknown(pgErr) || providers.IsKind(pgErr, providers.KindAlreadyDone) {
		return nil // a later sweep asks again
	}
	_, err = s.payments.SettleCharge(ctx, p, ch, res, pgErr)
	return err
}

// failUnstarted ends a due schedule that cannot be charged at all.
func (s *Server) failUnstarted(ctx context.Context, tx *ent.Tx, r *ent.Schedule, why *details.Failure) error {
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

// endSchedule ends the schedule that made p, now that p is PAID or FAILED,
// in the transaction that moved p: the schedule SUCCEEDED or FAILED, its
// event, and its retry if it failed with retries left. Called by
// transition for every payment a schedule made.
func (s *Server) endSchedule(ctx context.Context, tx *ent.Tx, p *ent.Payment) error {
	var status schedule.Status
	switch p.Status {
	case payment.StatusPAID:
		status = schedule.StatusSUCCEEDED
	case payment.StatusFAILED:
		status = schedule.StatusFAILED
	default:
		return nil
	}
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
		return s.scheduleRetry(ctx, tx, r, now)
	}
	return nil
}

// scheduleRetry schedules the next try of a failed schedule, its merchant
// payment id the first try's with "-retry-N" added.
func (s *Server) scheduleRetry(ctx context.Context, tx *ent.Tx, r *ent.Schedule, now time.Time) error {
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

// recordScheduleEvent writes a schedule's event: its data is the schedule
// as the API shows it.
func (s *Server) recordScheduleEvent(ctx context.Context, tx *ent.Tx, r *ent.Schedule, typ string) error {
	return s.recordBillingEvent(ctx, tx, typ, r.StoreID, string(r.Mode), r.PaymentID, r.MerchantPaymentID, toSchedulePB(r))
}
