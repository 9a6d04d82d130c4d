package server

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"entgo.io/ent/dialect"
	"entgo.io/ent/dialect/sql"
	"google.golang.org/protobuf/encoding/protojson"

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
}

func newScheduleEngine(s *Server) *scheduleEngine {
	return &scheduleEngine{s: s, wakeC: make(chan struct{}, 1)}
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
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-e.wakeC:
		}
		for ctx.Err() == nil {
			n, err := e.runDue(ctx)
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
	ch  *payChannel
}

// runDue claims one batch of due schedules and charges them. It answers how
// many it claimed.
func (e *scheduleEngine) runDue(ctx context.Context) (int, error) {
	s := e.s
	ctx = withCall(tenant.System(ctx), &call{RequestID: "job_schedule_" + secrets.RandomString(12)})
	started, n, err := e.claim(ctx)
	if err != nil || len(started) == 0 {
		return n, err
	}
	sem := make(chan struct{}, s.cfg.Billing.Workers)
	var wg sync.WaitGroup
	for _, st := range started {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			// A charge's failure is its payment's (and schedule's) state;
			// only an error recording it is worth a log line.
			_, err := s.chargeBillingKey(ctx, st.p, st.ch, st.key, st.sch.InstallmentMonths,
				providers.Buyer{Name: st.sch.CustomerName, Email: st.sch.CustomerEmail, Phone: st.sch.CustomerPhone})
			if err != nil && !isPaymentOutcome(err) {
				s.log.ErrorContext(ctx, "schedules: charge", "schedule", st.sch.ID, "payment", st.p.ID, "error", err)
			}
		}()
	}
	wg.Wait()
	return n, nil
}

// isPaymentOutcome reports whether err only tells how a charge went (a
// decline, an unknown outcome being resolved), which the payment records.
func isPaymentOutcome(err error) bool { return ignorePaymentOutcome(err) == nil }

// claim starts a batch of due schedules: each STARTED with its payment,
// PAY_PENDING, in one transaction.
func (e *scheduleEngine) claim(ctx context.Context) ([]*startedSchedule, int, error) {
	s := e.s
	now := s.clock()
	var started []*startedSchedule
	var claimed int
	err := inTx(ctx, s.db, func(tx *ent.Tx) error {
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
			var ch *payChannel
			switch {
			case k == nil || k.Status != billingkey.StatusACTIVE:
				why = &details.Failure{Reason: reasonBillingKeyDeleted, Message: "the billing key was deleted"}
			case isTaken[r.StoreID+"\x00"+r.MerchantPaymentID]:
				why = &details.Failure{Reason: "MERCHANT_PAYMENT_ID_TAKEN", Message: "a payment with this merchant payment id exists"}
			default:
				if ch, err = s.channelByID(ctx, r.ChannelID); err != nil {
					why = &details.Failure{Reason: "CHANNEL_NOT_FOUND", Message: err.Error()}
				}
			}
			if why != nil {
				if err := s.failUnstarted(ctx, tx, r, why); err != nil {
					return err
				}
				continue
			}
			p, err := s.startSchedule(ctx, tx, r, k, now)
			if err != nil {
				return err
			}
			if p != nil {
				started = append(started, &startedSchedule{sch: r, p: p, key: k, ch: ch})
			}
		}
		return nil
	})
	return started, claimed, err
}

// startSchedule moves r to STARTED and creates its payment, PAY_PENDING.
// It answers nil if r was not SCHEDULED any more.
func (s *Server) startSchedule(ctx context.Context, tx *ent.Tx, r *ent.Schedule, k *ent.BillingKey, now time.Time) (*ent.Payment, error) {
	id := secrets.NewID("pay")
	n, err := tx.Schedule.Update().Where(schedule.ID(r.ID), schedule.StatusEQ(schedule.StatusSCHEDULED)).
		SetStatus(schedule.StatusSTARTED).SetStartedAt(now).SetPaymentID(id).SetUpdatedAt(now).Save(ctx)
	if err != nil || n == 0 {
		return nil, err
	}
	p, err := tx.Payment.Create().
		SetID(id).
		SetStoreID(r.StoreID).
		SetChannelID(r.ChannelID).
		SetProvider(k.Provider).
		SetMode(payment.Mode(r.Mode)).
		SetMerchantPaymentID(r.MerchantPaymentID).
		SetOrderName(r.OrderName).
		SetMethod(payment.MethodCARD).
		SetApprovalModel(payment.ApprovalModelSERVER).
		SetStatus(payment.StatusREADY).
		SetStatusAt(now).
		SetCreatedAt(now).
		SetUpdatedAt(now).
		SetTotal(r.Total).
		SetTaxFree(r.TaxFree).
		SetVat(r.Vat).
		SetCustomerName(r.CustomerName).
		SetCustomerEmail(r.CustomerEmail).
		SetCustomerPhone(r.CustomerPhone).
		SetKeyID(r.KeyID).
		SetBillingKeyID(r.BillingKeyName).
		SetScheduleID(r.ID).
		Save(ctx)
	if err != nil {
		return nil, fmt.Errorf("schedule %s: payment: %w", r.ID, err)
	}
	if err := s.recordEvent(ctx, tx, p, ""); err != nil {
		return nil, err
	}
	return s.transition(ctx, tx, p, paystate.MarkPending, nil)
}

// resumeScheduledCharge settles the payment of a schedule that a crash (or
// a lost answer) left PAY_PENDING. The PG is asked first; only if it has no
// charge for the payment is the charge sent, with the same order id and
// idempotency key, so that a crash between claiming a schedule and charging
// it does not fail the schedule. Anything else is settled as any payment.
func (s *Server) resumeScheduledCharge(ctx context.Context, p *ent.Payment, ch *payChannel) error {
	pgctx, cancel := s.pgContext(ctx)
	_, err := ch.api.Lookup(pgctx, ch.pg, lookupOf(p))
	cancel()
	if !isNotFound(err) {
		_, err = s.resolvePending(ctx, p.ID, ch)
		return err
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
		_, err = s.resolvePending(ctx, p.ID, ch) // deleted meanwhile: settled as not charged
		return err
	}
	_, err = s.chargeBillingKey(ctx, p, ch, k, r.InstallmentMonths,
		providers.Buyer{Name: r.CustomerName, Email: r.CustomerEmail, Phone: r.CustomerPhone})
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
	data, err := protojson.Marshal(toSchedulePB(r))
	if err != nil {
		return fmt.Errorf("event data: %w", err)
	}
	ev, err := tx.Event.Create().
		SetStoreID(r.StoreID).
		SetMode(event.Mode(r.Mode)).
		SetType(typ).
		SetPaymentID(r.PaymentID).
		SetMerchantPaymentID(r.MerchantPaymentID).
		SetData(data).
		SetCreatedAt(s.clock()).
		Save(ctx)
	if err != nil {
		return err
	}
	return s.queueDeliveries(ctx, tx, ev, string(payment.MethodCARD))
}
