package payment

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/paymux/paymux/apierr"
	"github.com/paymux/paymux/database"
	"github.com/paymux/paymux/ent"
	"github.com/paymux/paymux/ent/cancellation"
	"github.com/paymux/paymux/ent/cashreceipt"
	"github.com/paymux/paymux/ent/payment"
	"github.com/paymux/paymux/ent/schema/details"
	"github.com/paymux/paymux/money"
	"github.com/paymux/paymux/paystate"
	"github.com/paymux/paymux/providers"
	"github.com/paymux/paymux/secrets"
	"github.com/paymux/paymux/tenant"
)

// How paymux charges without ever leaving "charged but not recorded":
//
//  1. Before the PG is asked to charge, the payment moves to PAY_PENDING
//     and that is committed (write-ahead). Only one caller can make that
//     move, so a payment is sent for approval once.
//  2. The PG's answer is recorded: PAID, or FAILED for a definite refusal.
//  3. No answer (timeout, lost connection, crash): the payment stays
//     PAY_PENDING and paymux asks the PG (Lookup). A charge of exactly the
//     expected amount is recorded as PAID; any other charge is voided
//     (NetCancel) and the payment FAILED; no charge means FAILED. If the PG
//     cannot be asked either, the sweeper (sweeper.go) asks again later.

// PGAmount is a payment's amount as the PG is asked for it.
func PGAmount(p *ent.Payment) providers.Amount {
	vat := p.Vat
	return providers.Amount{Total: p.Total, TaxFree: p.TaxFree, VAT: &vat, Currency: p.Currency}
}

// markPending is step 1 for a payment that exists: it moves p to
// PAY_PENDING if check passes on the locked row.
func (s *Service) markPending(ctx context.Context, id string, check func(*ent.PreRegistrationClient, *ent.Payment) error, set func(*ent.PaymentUpdateOne)) (*ent.Payment, error) {
	var out *ent.Payment
	err := database.InTx(ctx, s.db, func(tx *ent.Tx) error {
		p, err := Lock(ctx, tx, id)
		if err != nil {
			return err
		}
		if check != nil {
			if err := check(tx.PreRegistration, p); err != nil {
				return err
			}
		}
		out, err = s.Transition(ctx, tx, p, paystate.MarkPending, set)
		return err
	})
	return out, err
}

// approveWindow charges a payment the window authenticated, for its own
// amount: window-ahead PAY_PENDING, the PG's Approve, then its answer.
func (s *Service) approveWindow(ctx context.Context, id string, window map[string]string, check func(*ent.PreRegistrationClient, *ent.Payment) error) (*ent.Payment, error) {
	p, err := s.markPending(ctx, id, func(pre *ent.PreRegistrationClient, p *ent.Payment) error {
		if check != nil {
			if err := check(pre, p); err != nil {
				return err
			}
		}
		if len(window) == 0 && len(p.WindowResult) == 0 {
			return errWindowNotCompleted(p)
		}
		return nil
	}, func(u *ent.PaymentUpdateOne) {
		if len(window) > 0 {
			u.SetWindowResult(window)
		}
	})
	if err != nil {
		return nil, err
	}
	ch, err := s.channelOf(ctx, p)
	if err != nil {
		return nil, err
	}
	pgctx, cancel := s.PGContext(ctx)
	defer cancel()
	res, err := ch.API.Approve(pgctx, ch.PG, providers.ApproveRequest{
		OrderID: p.ID, Amount: PGAmount(p), Window: p.WindowResult, IdempotencyKey: p.ID,
	})
	if providers.IsKind(err, providers.KindTimeout) && ch.API.Capabilities().Has(providers.CapNetCancelOnTimeout) {
		// The PG asks for a void rather than a lookup after a timed-out
		// approval: nothing is kept that paymux did not see approved.
		return s.netCancel(context.WithoutCancel(ctx), p, ch, "", FailNetCancelled,
			"the PG did not answer the approval in time")
	}
	return s.SettleCharge(ctx, p, ch, res, err)
}

// SettleCharge is steps 2 and 3: it records the PG's answer to a charge of
// p (PAY_PENDING), or finds out what happened when there was none.
func (s *Service) SettleCharge(ctx context.Context, p *ent.Payment, ch *Channel, res *providers.Payment, err error) (*ent.Payment, error) {
	// The charge happened or not whatever the API client does now: record it.
	ctx = context.WithoutCancel(ctx)
	switch {
	case err == nil:
		return s.recordCharge(ctx, p, ch, res)
	case providers.OutcomeUnknown(err), providers.IsKind(err, providers.KindAlreadyDone):
		// Already done: the PG has this order (a resent charge whose first
		// try went through). Either way, ask it.
		return s.ResolvePending(ctx, p.ID, ch)
	}
	reason := FailRefused
	if providers.IsKind(err, providers.KindDeclined) {
		reason = FailDeclined
	}
	failed, ferr := s.recordFailure(ctx, p.ID, FailureOf(reason, err), "")
	if ferr != nil {
		return nil, ferr
	}
	return failed, PGError(failed, err)
}

// recordCharge records a charge the PG reports for p. A charge of another
// amount than p's is voided: paymux never keeps money it did not ask for.
func (s *Service) recordCharge(ctx context.Context, p *ent.Payment, ch *Channel, res *providers.Payment) (*ent.Payment, error) {
	if res.OrderID != "" && res.OrderID != p.ID {
		// The PG approved another order (a window result carried over from
		// another payment): that money is the other payment's, not this one's.
		failed, err := s.recordFailure(ctx, p.ID, &details.Failure{Reason: FailRefused,
			Message: fmt.Sprintf("the PG's answer is for order %s, not this payment", res.OrderID)}, "")
		if err != nil {
			return nil, err
		}
		return failed, apiFailure(failed)
	}
	if res.Amounts.Total != p.Total {
		if res.Status == providers.StatusVirtualAccountIssued {
			return s.recordFailure(ctx, p.ID, &details.Failure{Reason: FailAmountMismatchPG,
				Message: fmt.Sprintf("the PG issued an account for %d, not the expected %d", res.Amounts.Total, p.Total)}, res.PGTransactionID)
		}
		return s.netCancel(ctx, p, ch, res.PGTransactionID, FailAmountMismatchPG,
			fmt.Sprintf("the PG charged %d, not the expected %d", res.Amounts.Total, p.Total))
	}
	if res.Status == providers.StatusVirtualAccountIssued {
		return s.recordVirtualAccount(ctx, p, res, nil) // through the window: the deposit follows
	}
	var out *ent.Payment
	err := database.InTx(ctx, s.db, func(tx *ent.Tx) error {
		cur, err := Lock(ctx, tx, p.ID)
		if err != nil {
			return err
		}
		out, err = s.Transition(ctx, tx, cur, paystate.Approve, SetPaid(res, s.clock()))
		return err
	})
	return out, err
}

// recordFailure moves a payment to FAILED.
func (s *Service) recordFailure(ctx context.Context, id string, f *details.Failure, pgTID string) (*ent.Payment, error) {
	var out *ent.Payment
	err := database.InTx(ctx, s.db, func(tx *ent.Tx) error {
		cur, err := Lock(ctx, tx, id)
		if err != nil {
			return err
		}
		out, err = s.Transition(ctx, tx, cur, paystate.Fail, SetFailed(f, s.clock(), pgTID))
		return err
	})
	return out, err
}

// ResolvePending asks the PG what became of a PAY_PENDING payment and
// records it. The payment is returned as it stands, with an error while
// the outcome is still unknown.
func (s *Service) ResolvePending(ctx context.Context, id string, ch *Channel) (*ent.Payment, error) {
	p, err := s.db.Payment.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	if p.Status != payment.StatusPAY_PENDING {
		return p, nil
	}
	pgctx, cancel := s.PGContext(ctx)
	found, err := ch.API.Lookup(pgctx, ch.PG, providers.LookupRequest{
		PGTransactionID: p.PgTransactionID, OrderID: p.ID, OrderDate: p.CreatedAt,
	})
	cancel()
	switch {
	case providers.IsKind(err, providers.KindNotFound):
		return s.NotCharged(ctx, p, nil)
	case err != nil:
		return p, outcomeUnknownError(p, "the approval")
	case found.Status == providers.StatusPaid, found.Status == providers.StatusVirtualAccountIssued:
		return s.recordCharge(ctx, p, ch, found)
	case found.Status == providers.StatusPartialCancelled || found.Status == providers.StatusCancelled:
		// Cancelled at the PG before paymux recorded the charge: void what is left.
		return s.netCancel(ctx, p, ch, found.PGTransactionID, FailNetCancelled, "the PG shows a charge paymux never confirmed")
	case found.Status == providers.StatusFailed || found.Status == providers.StatusExpired:
		return s.NotCharged(ctx, p, found.Failure)
	default:
		// READY (Toss's IN_PROGRESS: the approval may still be under way) or
		// a status the adapter does not know: still unknown. The sweep asks
		// again until the PG says one way or the other.
		return p, outcomeUnknownError(p, "the approval")
	}
}

// NotCharged records that the PG has no charge for p.
func (s *Service) NotCharged(ctx context.Context, p *ent.Payment, pgFailure *providers.Error) (*ent.Payment, error) {
	f := &details.Failure{Reason: FailNotCharged, Message: "the PG did not answer in time and has no charge for this payment"}
	if pgFailure != nil {
		f = FailureOf(FailDeclined, pgFailure)
	}
	failed, err := s.recordFailure(ctx, p.ID, f, "")
	if err != nil {
		return nil, err
	}
	return failed, apiFailure(failed)
}

// netCancel voids a charge paymux will not record (망취소), then records
// the payment FAILED.
func (s *Service) netCancel(ctx context.Context, p *ent.Payment, ch *Channel, pgTID, reason, message string) (*ent.Payment, error) {
	void := func() error { return s.cancelAllAtPG(ctx, ch, p, pgTID, message) }
	var err error
	if ch.API.Capabilities().Has(providers.CapNetCancel) {
		pgctx, cancel := s.PGContext(ctx)
		_, err = ch.API.NetCancel(pgctx, ch.PG, providers.NetCancelRequest{
			OrderID: p.ID, PGTransactionID: pgTID, Window: p.WindowResult, Reason: message,
		})
		cancel()
		if providers.IsKind(err, providers.KindInvalidRequest) && pgTID != "" {
			err = void() // too late for a net-cancel (NicePay's hour): an ordinary full cancel
		}
	} else {
		err = void() // a PG without a void (Toss) cancels the charge in full instead
	}
	if providers.IsKind(err, providers.KindNotFound) {
		// Nothing to void, says the PG: make sure no charge landed since.
		pgctx, cancel := s.PGContext(ctx)
		found, lerr := ch.API.Lookup(pgctx, ch.PG, LookupOf(p))
		cancel()
		switch {
		case providers.IsKind(lerr, providers.KindNotFound):
		case lerr != nil:
			err = lerr
		case found.Status == providers.StatusPaid || found.Status == providers.StatusPartialCancelled:
			err = errors.New("the PG shows a charge after answering that it had none to void")
		}
	}
	if err != nil && !providers.IsKind(err, providers.KindNotFound) && !providers.IsKind(err, providers.KindAlreadyDone) {
		s.log.WarnContext(ctx, "net-cancel failed; the sweep retries", "payment_id", p.ID, "error", err)
		return p, outcomeUnknownError(p, "the net-cancel")
	}
	failed, ferr := s.recordFailure(ctx, p.ID, &details.Failure{Reason: reason, Message: message + "; the charge was voided"}, pgTID)
	if ferr != nil {
		return nil, ferr
	}
	return failed, apiFailure(failed)
}

// cancelAllAtPG cancels at the PG everything it holds for p, which paymux
// does not record as paid: a void by an ordinary full cancel, under one
// idempotency key per payment, so that every attempt is the same cancel.
func (s *Service) cancelAllAtPG(ctx context.Context, ch *Channel, p *ent.Payment, pgTID, reason string) error {
	pgctx, cancel := s.PGContext(ctx)
	defer cancel()
	_, err := ch.API.Cancel(pgctx, ch.PG, providers.CancelRequest{
		PGTransactionID: pgTID, OrderID: p.ID, Reason: reason, IdempotencyKey: p.ID + "-void",
	})
	return err
}

// apiFailure is the API error for a payment that ended FAILED.
func apiFailure(p *ent.Payment) error {
	f := p.Failure
	if f == nil {
		f = &details.Failure{Reason: FailRefused}
	}
	pe := &providers.Error{Kind: providers.KindDeclined, Code: f.PGCode, Message: f.PGMessage, Decline: providers.DeclineReason(f.Decline)}
	if f.PGCode == "" {
		pe.Code, pe.Message = f.Reason, f.Message
	}
	return PGError(p, pe)
}

// ---- cancels -----------------------------------------------------------------

// settleCancel records the PG's answer to cancel c of payment p. No answer
// leaves c REQUESTED (its amount still held); the sweep asks again with the
// same idempotency key.
func (s *Service) settleCancel(ctx context.Context, p *ent.Payment, c *ent.Cancellation, res *providers.CancelResult, pgErr error) (*ent.Payment, *ent.Cancellation, error) {
	ctx = context.WithoutCancel(ctx)
	if pgErr != nil && providers.OutcomeUnknown(pgErr) {
		return p, c, outcomeUnknownError(p, "the cancel "+c.ID)
	}
	if providers.IsKind(pgErr, providers.KindAlreadyDone) {
		// Sent again after a lost answer, the cancel may be the one already
		// done: the PG's cancelled total says whether it is.
		if res, pgErr = s.cancelDoneBefore(ctx, p, c, pgErr); pgErr != nil && providers.OutcomeUnknown(pgErr) {
			return p, c, outcomeUnknownError(p, "the cancel "+c.ID)
		}
	}
	var outP *ent.Payment
	var outC *ent.Cancellation
	err := database.InTx(ctx, s.db, func(tx *ent.Tx) error {
		cur, err := Lock(ctx, tx, p.ID)
		if err != nil {
			return err
		}
		c, err = tx.Cancellation.Get(ctx, c.ID)
		if err != nil {
			return err
		}
		if c.Status != cancellation.StatusREQUESTED {
			outP, outC = cur, c // settled meanwhile (by the sweep)
			return nil
		}
		now := s.clock()
		if pgErr != nil {
			outC, err = tx.Cancellation.UpdateOne(c).SetStatus(cancellation.StatusFAILED).SetFailure(FailureOf(FailRefused, pgErr)).Save(ctx)
			outP = cur
			return err
		}
		a := amountsOf(cur, money.Amounts{})
		next, err := a.Apply(money.Cancel{Amount: c.Amount, TaxFree: c.TaxFree, VAT: c.Vat, Full: c.Amount == a.Cancellable()})
		if err != nil {
			return fmt.Errorf("apply cancel %s to payment %s: %w", c.ID, cur.ID, err)
		}
		upd := tx.Cancellation.UpdateOne(c).SetStatus(cancellation.StatusSUCCEEDED).
			SetPgCancellationID(res.Cancellation.ID).SetCancelledAt(cancelTime(res, now))
		if r := res.Cancellation.Refund; r != nil {
			upd.SetRefundStatus(cancellation.RefundStatus(r.Status))
		}
		if outC, err = upd.Save(ctx); err != nil {
			return err
		}
		outP, err = s.recordCancelled(ctx, tx, cur, next, cancelTime(res, now))
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	if pgErr != nil {
		return outP, outC, PGError(outP, pgErr)
	}
	if res.Payment != nil {
		// A cancel made in the PG's console meanwhile shows here too.
		if synced, err := s.SyncFromPG(ctx, nil, outP, res.Payment); err != nil {
			s.log.WarnContext(ctx, "sync after a cancel", "payment_id", outP.ID, "error", err)
		} else {
			outP = synced
		}
	}
	return outP, outC, nil
}

// recordCancelled moves payment cur, inside tx, to the amounts next that a
// cancel left: PARTIAL_CANCELLED, or CANCELLED when nothing is left.
func (s *Service) recordCancelled(ctx context.Context, tx *ent.Tx, cur *ent.Payment, next money.Amounts, at time.Time) (*ent.Payment, error) {
	ev := paystate.PartialCancel
	if next.Cancellable() == 0 {
		ev = paystate.FullCancel
	}
	return s.Transition(ctx, tx, cur, ev, func(u *ent.PaymentUpdateOne) {
		u.SetCancelled(next.Cancelled).SetCancelledTaxFree(next.CancelledTaxFree).SetCancelledVat(next.CancelledVAT).
			SetCancelledAt(at)
	})
}

// cancelDoneBefore decides a cancel the PG answered "already done": if the
// PG has cancelled at least what paymux recorded plus this cancel, it was
// this cancel's first try that went through, and it is a success.
// Otherwise the refusal stands.
func (s *Service) cancelDoneBefore(ctx context.Context, p *ent.Payment, c *ent.Cancellation, refusal error) (*providers.CancelResult, error) {
	ch, err := s.channelOf(ctx, p)
	if err != nil {
		return nil, err
	}
	pgctx, cancel := s.PGContext(ctx)
	found, err := ch.API.Lookup(pgctx, ch.PG, LookupOf(p))
	cancel()
	if err != nil {
		return nil, err
	}
	cur, err := s.db.Payment.Get(ctx, p.ID)
	if err != nil {
		return nil, err
	}
	if found.Amounts.Cancelled < cur.Cancelled+c.Amount {
		return nil, refusal
	}
	res := &providers.CancelResult{Payment: found, Cancellation: providers.Cancellation{Amount: c.Amount}}
	if n := len(found.Cancellations); n > 0 {
		last := found.Cancellations[n-1]
		res.Cancellation.ID, res.Cancellation.CancelledAt, res.Cancellation.Refund = last.ID, last.CancelledAt, last.Refund
	}
	return res, nil
}

func cancelTime(res *providers.CancelResult, now time.Time) time.Time {
	if res == nil || res.Cancellation.CancelledAt.IsZero() {
		return now
	}
	return res.Cancellation.CancelledAt.UTC().Truncate(time.Microsecond)
}

// sendCancel asks the PG for cancel c (again, after a lost answer: the
// idempotency key makes the PG answer the first call's result).
func (s *Service) sendCancel(ctx context.Context, p *ent.Payment, ch *Channel, c *ent.Cancellation) (*providers.CancelResult, error) {
	req := providers.CancelRequest{
		PGTransactionID: p.PgTransactionID,
		OrderID:         p.ID,
		Amount:          c.Amount,
		TaxFree:         &c.TaxFree,
		VAT:             &c.Vat,
		Reason:          c.Reason,
		IdempotencyKey:  c.ID,
	}
	if c.Full && c.Amount == p.Paid {
		// Everything, never cancelled before: a full cancel, which a PG
		// allows where it refuses partial ones (cards that cannot be partly
		// cancelled). The balance guard is paymux's own.
		req.Amount, req.TaxFree, req.VAT = 0, nil, nil
	}
	if c.RefundBank != "" {
		number, err := s.keyring.Decrypt(c.RefundNumberSealed, []byte("refund:"+c.ID))
		if err != nil {
			return nil, fmt.Errorf("refund account of %s: %w", c.ID, err)
		}
		req.RefundAccount = &providers.RefundAccount{
			Bank: providers.Bank(c.RefundBank), Number: providers.NewRedacted(string(number)),
			Holder: c.RefundHolder, Phone: c.RefundPhone,
		}
	}
	pgctx, cancel := s.PGContext(ctx)
	defer cancel()
	return ch.API.Cancel(pgctx, ch.PG, req)
}

// ---- virtual accounts ----------------------------------------------------------

// recordVirtualAccount records an account the PG issued for p.
func (s *Service) recordVirtualAccount(ctx context.Context, p *ent.Payment, res *providers.Payment, cashReceipt *details.VirtualAccount) (*ent.Payment, error) {
	va := res.VirtualAccount
	if va == nil {
		return nil, errors.New("the PG issued no virtual account details")
	}
	d := &details.VirtualAccount{
		Bank: string(va.Bank), AccountNumber: va.AccountNumber, Holder: va.Holder, CustomerName: va.CustomerName,
		DueAt: va.DueAt.UnixMicro(),
	}
	if cashReceipt != nil {
		d.CashReceiptType, d.CashReceiptIdentity = cashReceipt.CashReceiptType, cashReceipt.CashReceiptIdentity
	}
	due := va.DueAt.UTC().Truncate(time.Microsecond)
	var out *ent.Payment
	err := database.InTx(ctx, s.db, func(tx *ent.Tx) error {
		cur, err := Lock(ctx, tx, p.ID)
		if err != nil {
			return err
		}
		if cur.Status == payment.StatusVIRTUAL_ACCOUNT_ISSUED && cur.PgTransactionID == res.PGTransactionID {
			out = cur // recorded already (the PG's notice of it came first)
			return nil
		}
		out, err = s.Transition(ctx, tx, cur, paystate.IssueVirtualAccount, func(u *ent.PaymentUpdateOne) {
			u.SetVirtualAccount(d).SetDueAt(due).SetPgTransactionID(res.PGTransactionID).
				SetNotificationSecret(res.NotificationSecret).SetReceiptURL(res.ReceiptURL)
		})
		return err
	})
	return out, err
}

// RecordDeposit moves an issued virtual account to PAID. A duplicate notice
// (already PAID) changes nothing and is not an error.
func (s *Service) RecordDeposit(ctx context.Context, id string, amount int64, depositor string, at time.Time) (*ent.Payment, error) {
	var out *ent.Payment
	err := database.InTx(ctx, s.db, func(tx *ent.Tx) error {
		cur, err := Lock(ctx, tx, id)
		if err != nil {
			return err
		}
		if cur.Paid > 0 {
			out = cur // the same deposit, told again
			return nil
		}
		if amount != cur.Total {
			return fmt.Errorf("deposit of %d into payment %s, which expects %d", amount, cur.ID, cur.Total)
		}
		va := *cur.VirtualAccount
		va.DepositorName, va.DepositedAt = depositor, at.UnixMicro()
		out, err = s.Transition(ctx, tx, cur, paystate.Deposit, func(u *ent.PaymentUpdateOne) {
			u.SetPaid(amount).SetPaidAt(at.UTC().Truncate(time.Microsecond)).SetVirtualAccount(&va)
		})
		if err != nil || va.CashReceiptType == "" {
			return err
		}
		// The account was issued with a cash receipt: the PG requests it on
		// the deposit. Record it REQUESTED; GetCashReceipt follows it up at
		// the PG by the order id.
		return tx.CashReceipt.Create().
			SetID(secrets.NewID("cr")).SetStoreID(out.StoreID).SetPaymentID(out.ID).SetPgOrderID(out.ID).
			SetType(cashreceipt.Type(va.CashReceiptType)).SetIdentityMasked(va.CashReceiptIdentity).
			SetStatus(cashreceipt.StatusREQUESTED).
			SetAmount(out.Total).SetTaxFree(out.TaxFree).SetVat(out.Vat).
			Exec(ctx)
	})
	return out, err
}

// virtualAccountGrace is how long past its due time an account the PG
// still shows open is waited for before paymux expires it anyway.
const virtualAccountGrace = 24 * time.Hour

// ExpireIfDue expires an issued virtual account whose due time passed, once
// the PG says it is closed, or shows no deposit a day after the due time (a
// lost deposit notice is recorded instead).
func (s *Service) ExpireIfDue(ctx context.Context, p *ent.Payment) (*ent.Payment, error) {
	if p.Status != payment.StatusVIRTUAL_ACCOUNT_ISSUED || p.DueAt == nil || !s.now().After(*p.DueAt) {
		return p, nil
	}
	ctx = tenant.System(ctx)
	ch, err := s.channelOf(ctx, p)
	if err != nil {
		return nil, err
	}
	pgctx, cancel := s.PGContext(ctx)
	found, err := ch.API.Lookup(pgctx, ch.PG, providers.LookupRequest{PGTransactionID: p.PgTransactionID, OrderID: p.ID, OrderDate: p.CreatedAt})
	cancel()
	if err != nil {
		return p, fmt.Errorf("look up virtual account %s: %w", p.ID, err)
	}
	if found.Status == providers.StatusPaid && found.VirtualAccount != nil {
		return s.RecordDeposit(ctx, p.ID, found.Amounts.Paid, found.VirtualAccount.DepositorName, found.VirtualAccount.DepositedAt)
	}
	closedAtPG := found.Status == providers.StatusExpired || (found.VirtualAccount != nil && found.VirtualAccount.Expired) ||
		(found.Status == providers.StatusCancelled && found.Amounts.Paid == 0)
	if !closedAtPG && (found.Amounts.Paid > 0 || s.now().Before(p.DueAt.Add(virtualAccountGrace))) {
		// The PG still takes deposits, or has one paymux must see first:
		// expiring now could leave a deposit unrecorded.
		return s.SyncFromPG(ctx, ch, p, found)
	}
	var out *ent.Payment
	err = database.InTx(ctx, s.db, func(tx *ent.Tx) error {
		cur, err := Lock(ctx, tx, p.ID)
		if err != nil {
			return err
		}
		if cur.Status != payment.StatusVIRTUAL_ACCOUNT_ISSUED {
			out = cur
			return nil
		}
		out, err = s.Transition(ctx, tx, cur, paystate.Expire, nil)
		return err
	})
	return out, err
}

// LookupOf names p for a PG Lookup.
func LookupOf(p *ent.Payment) providers.LookupRequest {
	return providers.LookupRequest{PGTransactionID: p.PgTransactionID, OrderID: p.ID, OrderDate: p.CreatedAt}
}

func isNotFound(err error) bool { return providers.IsKind(err, providers.KindNotFound) }

// IgnoreOutcome drops the API error that reports a recorded PG
// refusal: for the sweep and the scheduler the outcome is settled, not failed.
func IgnoreOutcome(err error) error {
	if apierr.Reason(err) == ReasonPGProvider {
		return nil
	}
	return err
}

// refreshRefunds asks the PG how far the pending refunds of a deposited
// virtual account have got (they settle a business day later) and records
// it, so a read shows COMPLETED once the bank has paid.
func (s *Service) refreshRefunds(ctx context.Context, p *ent.Payment) error {
	if p.Method != payment.MethodVIRTUAL_ACCOUNT || p.Cancelled == 0 {
		return nil // only a deposited virtual account is refunded to a bank
	}
	pending, err := s.db.Cancellation.Query().
		Where(cancellation.PaymentID(p.ID), cancellation.RefundStatusEQ(cancellation.RefundStatusPENDING)).All(ctx)
	if err != nil || len(pending) == 0 {
		return err
	}
	ch, err := s.channelOf(ctx, p)
	if err != nil {
		return err
	}
	pgctx, cancel := s.PGContext(ctx)
	found, err := ch.API.Lookup(pgctx, ch.PG, LookupOf(p))
	cancel()
	if err != nil {
		if providers.OutcomeUnknown(err) {
			return nil // shown as PENDING still; the next read asks again
		}
		return err
	}
	for _, c := range pending {
		for _, pc := range found.Cancellations {
			if pc.ID != c.PgCancellationID || pc.Refund == nil || pc.Refund.Status == providers.RefundPending {
				continue
			}
			if err := s.db.Cancellation.UpdateOne(c).SetRefundStatus(cancellation.RefundStatus(pc.Refund.Status)).Exec(ctx); err != nil {
				return err
			}
		}
	}
	return nil
}
