package payment

import (
	"context"
	"fmt"
	"time"

	"github.com/paymux/paymux/database"
	"github.com/paymux/paymux/ent"
	"github.com/paymux/paymux/ent/cancellation"
	"github.com/paymux/paymux/ent/payment"
	"github.com/paymux/paymux/money"
	"github.com/paymux/paymux/paystate"
	"github.com/paymux/paymux/providers"
	"github.com/paymux/paymux/secrets"
)

// SyncFromPG brings a payment in line with what the PG reports of it
// (found: from paymux's own Lookup, or the PG's answer to a cancel, never a
// notice's own content): a deposit paymux was not told of, an expiry, and
// cancels made outside paymux (in the PG's own console). Cancels are reconciled by amount, not by id: what the PG
// has cancelled beyond what paymux recorded is recorded as one cancel, so
// a notice of paymux's own cancel changes nothing. While a cancel of
// paymux's own awaits the PG's answer, cancels are left to the sweep that
// settles it. A PAY_PENDING payment is left to the sweep as well; a READY
// one the PG shows charged is recorded.
func (s *Service) SyncFromPG(ctx context.Context, ch *Channel, p *ent.Payment, found *providers.Payment) (*ent.Payment, error) {
	if found == nil || (found.OrderID != "" && found.OrderID != p.ID) {
		return p, nil
	}
	if ch != nil && p.Status == payment.StatusREADY && p.Checkout != nil && (found.Status == providers.StatusPaid || found.Status == providers.StatusVirtualAccountIssued) {
		// The PG's window approved by itself (a client-approval key) and the
		// buyer never came back through paymux: the charge is recorded (or,
		// of another amount, voided) as if they had. (A payment made from the
		// server is recorded by the call that made it.)
		return s.recordCharge(ctx, p, ch, found)
	}
	if p.Status == payment.StatusVIRTUAL_ACCOUNT_ISSUED {
		switch {
		case found.Amounts.Paid > 0 && found.VirtualAccount != nil:
			at := found.VirtualAccount.DepositedAt
			if at.IsZero() {
				at = found.ApprovedAt
			}
			if at.IsZero() {
				at = s.now()
			}
			out, err := s.RecordDeposit(ctx, p.ID, found.Amounts.Paid, found.VirtualAccount.DepositorName, at)
			if err != nil {
				return nil, err
			}
			p = out
		case found.Status == providers.StatusExpired || (found.VirtualAccount != nil && found.VirtualAccount.Expired):
			return s.transitionIf(ctx, p.ID, payment.StatusVIRTUAL_ACCOUNT_ISSUED, paystate.Expire, nil)
		case found.Status == providers.StatusCancelled && found.Amounts.Paid == 0:
			// Closed at the PG before any deposit.
			now := s.clock()
			return s.transitionIf(ctx, p.ID, payment.StatusVIRTUAL_ACCOUNT_ISSUED, paystate.CloseVirtualAccount,
				func(u *ent.PaymentUpdateOne) { u.SetCancelledAt(now) })
		}
	}
	holds := found.Amounts.Cancellable() > 0 && (found.Status == providers.StatusPaid || found.Status == providers.StatusPartialCancelled)
	switch {
	case ch != nil && holds && (p.Status == payment.StatusFAILED || p.Status == payment.StatusEXPIRED):
		// Money paymux recorded as never charged (an approval that finished
		// at the PG after paymux gave up on it, a deposit into a closed
		// account): it goes back to the buyer.
		s.log.ErrorContext(ctx, "the PG holds money for a payment paymux closed: cancelling it at the PG",
			"payment_id", p.ID, "status", p.Status, "amount", found.Amounts.Cancellable())
		return p, s.cancelAllAtPG(ctx, ch, p, found.PGTransactionID, "paymux did not record this payment")
	case p.Status == payment.StatusPAID && found.Status == providers.StatusVirtualAccountIssued && found.Amounts.Paid == 0:
		s.log.ErrorContext(ctx, "the PG reports a deposit taken back: the payment needs a person", "payment_id", p.ID)
	}
	if found.Amounts.Cancelled > p.Cancelled {
		return s.recordOutsideCancel(ctx, p.ID, found)
	}
	return p, nil
}

// transitionIf applies ev to the payment if it is still in status from.
func (s *Service) transitionIf(ctx context.Context, id string, from payment.Status, ev paystate.Event, set func(*ent.PaymentUpdateOne)) (*ent.Payment, error) {
	var out *ent.Payment
	err := database.InTx(ctx, s.db, func(tx *ent.Tx) error {
		cur, err := Lock(ctx, tx, id)
		if err != nil {
			return err
		}
		if cur.Status != from {
			out = cur
			return nil
		}
		out, err = s.Transition(ctx, tx, cur, ev, set)
		return err
	})
	return out, err
}

// recordOutsideCancel records what the PG cancelled beyond paymux's
// records as one SUCCEEDED cancel, and moves the payment accordingly.
func (s *Service) recordOutsideCancel(ctx context.Context, id string, found *providers.Payment) (*ent.Payment, error) {
	var out *ent.Payment
	err := database.InTx(ctx, s.db, func(tx *ent.Tx) error {
		cur, err := Lock(ctx, tx, id)
		if err != nil {
			return err
		}
		out = cur
		missing := found.Amounts.Cancelled - cur.Cancelled
		if missing <= 0 {
			return nil
		}
		held, err := pendingCancels(ctx, tx.Cancellation, cur.ID)
		if err != nil {
			return err
		}
		if held.Cancelled > 0 {
			s.log.InfoContext(ctx, "PG cancel left to the sweep: a cancel of paymux's own awaits its answer", "payment_id", cur.ID)
			return nil
		}
		if _, err := paystate.Next(paystate.State(cur.Status), paystate.PartialCancel); err != nil {
			s.log.WarnContext(ctx, "PG reports a cancel paymux cannot apply", "payment_id", cur.ID, "status", cur.Status, "error", err)
			return nil
		}
		// The split is the PG's where it reports one, else paymux's own
		// (the least tax-free part that fits, the default VAT).
		a := amountsOf(cur, money.Amounts{})
		var taxFree, vat *int64
		if d := found.Amounts.CancelledTaxFree - cur.CancelledTaxFree; d > 0 {
			taxFree = ptr(clamp(d, 0, missing))
		}
		if d := found.Amounts.CancelledVAT - cur.CancelledVat; d > 0 {
			vat = ptr(clamp(d, 0, missing))
		}
		plan, err := a.PlanCancel(money.CancelRequest{Amount: missing, TaxFree: taxFree, VAT: vat})
		if err != nil {
			return fmt.Errorf("payment %s: the PG cancelled %d: %w", cur.ID, missing, err)
		}
		c := money.Cancel{Amount: plan.Amount, TaxFree: plan.TaxFree, VAT: plan.VAT, Full: plan.Full}
		next, err := a.Apply(c)
		if err != nil {
			return fmt.Errorf("payment %s: the PG cancelled %d: %w", cur.ID, missing, err)
		}
		at, pgID, reason := s.clock(), "", "cancelled at the PG"
		if n := len(found.Cancellations); n > 0 {
			last := found.Cancellations[n-1]
			pgID = last.ID
			if last.Reason != "" {
				reason = "cancelled at the PG: " + last.Reason
			}
			if !last.CancelledAt.IsZero() {
				at = last.CancelledAt.UTC().Truncate(time.Microsecond)
			}
		}
		if err := tx.Cancellation.Create().
			SetID(secrets.NewID("cnl")).SetStoreID(cur.StoreID).SetPaymentID(cur.ID).
			SetStatus(cancellation.StatusSUCCEEDED).
			SetAmount(c.Amount).SetTaxFree(c.TaxFree).SetVat(c.VAT).SetFull(c.Full).
			SetReason(reason).SetPgCancellationID(pgID).SetCancelledAt(at).
			Exec(ctx); err != nil {
			return err
		}
		ev := paystate.PartialCancel
		if next.Cancellable() == 0 {
			ev = paystate.FullCancel
		}
		out, err = s.Transition(ctx, tx, cur, ev, func(u *ent.PaymentUpdateOne) {
			u.SetCancelled(next.Cancelled).SetCancelledTaxFree(next.CancelledTaxFree).SetCancelledVat(next.CancelledVAT).SetCancelledAt(at)
		})
		return err
	})
	return out, err
}

func clamp(v, lo, hi int64) int64 { return max(lo, min(v, hi)) }

func ptr(v int64) *int64 { return &v }
