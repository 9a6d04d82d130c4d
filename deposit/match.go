package deposit

import (
	"cmp"
	"context"
	"fmt"
	"time"

	"github.com/paymux/paymux/apierr"
	"github.com/paymux/paymux/database"
	"github.com/paymux/paymux/deposit/bankmsg"
	"github.com/paymux/paymux/ent"
	"github.com/paymux/paymux/ent/cancellation"
	"github.com/paymux/paymux/ent/cashreceipt"
	entdeposit "github.com/paymux/paymux/ent/deposit"
	"github.com/paymux/paymux/ent/depositsetting"
	"github.com/paymux/paymux/ent/event"
	"github.com/paymux/paymux/ent/payment"
	paymentsvc "github.com/paymux/paymux/payment"
	"github.com/paymux/paymux/paystate"
)

// The matching rule, and the one place a deposit pays an order.

// candidates are the open orders deposit d may pay, oldest first, locked
// until tx ends (so two deposits cannot both pay one; the second waits and
// then no longer sees it READY). An order is a candidate when it is a
// READY bank transfer of d's store and mode, for d's account or for any
// account, with d's normalised depositor name and amount, created before
// d (bank times are to the minute: up to the end of d's minute, and never
// after paymux recorded d), and not due before d happened.
func candidates(ctx context.Context, tx *ent.Tx, d *ent.Deposit) ([]*ent.Payment, error) {
	// (The matching index ends in created_at, for this ORDER BY.)
	before := d.TransactionAt.Truncate(time.Minute).Add(time.Minute)
	if dateOnly(d.Source, d.TransactionAt) {
		// A statement row with a date and no time: any time that day.
		before = d.TransactionAt.Add(24 * time.Hour)
	}
	if d.CreatedAt.Before(before) {
		before = d.CreatedAt
	}
	return tx.Payment.Query().Where(
		payment.StoreID(d.StoreID),
		payment.DepositorKey(d.DepositorKey),
		payment.Total(d.Amount),
		payment.StatusEQ(payment.StatusREADY),
		payment.MethodEQ(payment.MethodBANK_TRANSFER),
		payment.ModeEQ(payment.Mode(d.Mode)),
		payment.BankAccountIDIn("", d.BankAccountID),
		payment.CreatedAtLT(before),
		payment.DueAtGT(d.TransactionAt),
	).Order(ent.Asc(payment.FieldCreatedAt), ent.Asc(payment.FieldID)).
		Modify(database.ForUpdate).All(ctx)
}

// dateOnly reports a statement row dated without a time (midnight in
// Seoul).
func dateOnly(source entdeposit.Source, at time.Time) bool {
	t := at.In(bankmsg.Seoul)
	return source == entdeposit.SourceSTATEMENT && t.Hour() == 0 && t.Minute() == 0 && t.Second() == 0 && t.Nanosecond() == 0
}

// match decides deposit d (just recorded, UNMATCHED) inside tx: exactly
// one candidate takes it; several take it only through smart matching;
// otherwise it stays UNMATCHED with the reason. It returns the deposit as
// it then is, and the order it paid, if any.
func (s *Service) match(ctx context.Context, tx *ent.Tx, d *ent.Deposit, set *ent.DepositSetting) (*ent.Deposit, *ent.Payment, error) {
	cands, err := candidates(ctx, tx, d)
	if err != nil {
		return nil, nil, fmt.Errorf("match deposit %s: %w", d.ID, err)
	}
	var pick *ent.Payment
	how := entdeposit.MatchTypeAUTO
	switch {
	case len(cands) == 1:
		pick = cands[0]
	case len(cands) > 1 && set.SmartMatching == depositsetting.SmartMatchingOLDEST:
		pick, how = cands[0], entdeposit.MatchTypeSMART
	case len(cands) > 1 && set.SmartMatching == depositsetting.SmartMatchingNEWEST:
		pick, how = cands[len(cands)-1], entdeposit.MatchTypeSMART
	}
	if pick == nil {
		reason := UnmatchedNoCandidate
		if len(cands) > 1 {
			reason = UnmatchedSeveral
		}
		d, err = tx.Deposit.UpdateOne(d).SetUnmatchedReason(reason).SetCandidates(len(cands)).Save(ctx)
		if err != nil {
			return nil, nil, err
		}
		return d, nil, s.recordEvent(ctx, tx, d, EventDepositUnmatched)
	}
	return s.pay(ctx, tx, d, pick, how, len(cands))
}

// pay makes deposit d pay order p (READY, locked) inside tx: the order
// becomes PAID through paystate with its event and webhooks, the deposit
// MATCHED with deposit.matched. candidates is how many orders fitted d
// when it arrived (-1: leave it as it is).
func (s *Service) pay(ctx context.Context, tx *ent.Tx, d *ent.Deposit, p *ent.Payment, how entdeposit.MatchType, candidates int) (*ent.Deposit, *ent.Payment, error) {
	now := s.clock()
	upd := tx.Deposit.UpdateOne(d).Where(entdeposit.StatusEQ(entdeposit.StatusUNMATCHED)).
		SetStatus(entdeposit.StatusMATCHED).SetPaymentID(p.ID).SetMerchantPaymentID(p.MerchantPaymentID).
		SetMatchType(how).SetMatchedAt(now).SetUnmatchedReason("")
	if candidates >= 0 {
		upd.SetCandidates(candidates)
	}
	d, err := upd.Save(ctx)
	if ent.IsNotFound(err) {
		return nil, nil, apierr.New(apierr.CodeAborted, apierr.ReasonConflict, "deposit changed meanwhile; read it again")
	}
	if err != nil {
		return nil, nil, err
	}
	bt := *p.BankTransfer
	bt.DepositedAt = d.TransactionAt.UnixMicro()
	paid, err := s.payments.Transition(ctx, tx, p, paystate.MatchDeposit, func(u *ent.PaymentUpdateOne) {
		u.SetPaid(p.Total).SetPaidAt(now).SetDepositID(d.ID).SetBankTransfer(&bt)
	})
	if err != nil {
		return nil, nil, err
	}
	if err := s.payments.RequestOrderReceipt(ctx, tx, paid); err != nil {
		return nil, nil, err
	}
	return d, paid, s.recordEvent(ctx, tx, d, EventDepositMatched)
}

// recordEvent writes an event about deposit d as it now stands and queues
// its webhooks, inside tx.
func (s *Service) recordEvent(ctx context.Context, tx *ent.Tx, d *ent.Deposit, typ string) error {
	data, err := s.depositData(d)
	if err != nil {
		return fmt.Errorf("event data: %w", err)
	}
	ev, err := tx.Event.Create().
		SetStoreID(d.StoreID).
		SetMode(event.Mode(d.Mode)).
		SetType(typ).
		SetPaymentID(d.PaymentID).
		SetMerchantPaymentID(d.MerchantPaymentID).
		SetToStatus(string(d.Status)).
		SetData(data).
		SetCreatedAt(s.clock()).
		Save(ctx)
	if err != nil {
		return err
	}
	return s.outbox.Enqueue(ctx, tx, ev, string(payment.MethodBANK_TRANSFER))
}

// afterMatch asks the PG for the cash receipt a matched order wanted
// (written REQUESTED with the match). The match stands whatever the PG
// says; its answer is on the receipt.
func (s *Service) afterMatch(ctx context.Context, p *ent.Payment) {
	if p == nil || p.BankTransfer == nil || len(p.BankTransfer.CashReceiptIdentitySealed) == 0 {
		return
	}
	if err := s.payments.SendOrderReceipt(context.WithoutCancel(ctx), p); err != nil {
		s.log.WarnContext(ctx, "cash receipt of a matched bank transfer", "payment_id", p.ID, "error", err)
	}
}

// Match pays order paymentID with unmatched deposit id, by hand. The
// order must be an open bank transfer of the deposit's store and mode, for
// its account or any, of the same amount.
func (s *Service) Match(ctx context.Context, id, paymentID string) (*ent.Deposit, *ent.Payment, error) {
	var outD *ent.Deposit
	var outP *ent.Payment
	err := database.InTx(ctx, s.db, func(tx *ent.Tx) error {
		d, err := s.lockDeposit(ctx, tx, id)
		if err != nil {
			return err
		}
		if d.Type != entdeposit.TypeDEPOSIT {
			return apierr.New(apierr.CodeFailedPrecondition, ReasonNotADeposit, "%s is a withdrawal: only deposits pay orders", d.ID)
		}
		if d.Status != entdeposit.StatusUNMATCHED {
			return apierr.WithMetadata(apierr.CodeFailedPrecondition, ReasonDepositMatched, map[string]string{"payment_id": d.PaymentID},
				"deposit %s already paid payment %s; unmatch it first", d.ID, d.PaymentID)
		}
		p, err := paymentsvc.Lock(ctx, tx, paymentID)
		if err != nil {
			return err
		}
		if p.StoreID != d.StoreID { // the administrator sees every store: keep them apart
			return apierr.New(apierr.CodeNotFound, paymentsvc.ReasonPaymentNotFound, "payment %s not found in the store of deposit %s", p.ID, d.ID)
		}
		if p.Method != payment.MethodBANK_TRANSFER {
			return apierr.New(apierr.CodeFailedPrecondition, ReasonNotBankTransfer, "payment %s is a %s payment, not a bank transfer order", p.ID, p.Method)
		}
		if _, err := paystate.Next(paystate.State(p.Status), paystate.MatchDeposit); err != nil {
			return paymentsvc.TransitionError(p, err)
		}
		if string(p.Mode) != string(d.Mode) || (p.BankAccountID != "" && p.BankAccountID != d.BankAccountID) {
			return apierr.New(apierr.CodeFailedPrecondition, ReasonAccountMismatch,
				"payment %s waits for a %s transfer into %s; deposit %s is on %s", p.ID, p.Mode, cmp.Or(p.BankAccountID, "any account"), d.ID, d.BankAccountID)
		}
		if p.Total != d.Amount {
			return apierr.WithMetadata(apierr.CodeFailedPrecondition, ReasonAmountMismatch,
				map[string]string{"payment_amount": fmt.Sprint(p.Total), "deposit_amount": fmt.Sprint(d.Amount)},
				"deposit %s of %d does not pay payment %s of %d", d.ID, d.Amount, p.ID, p.Total)
		}
		outD, outP, err = s.pay(ctx, tx, d, p, entdeposit.MatchTypeMANUAL, -1)
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	s.afterMatch(ctx, outP)
	return outD, outP, nil
}

// Unmatch undoes a match while nothing was issued on the order (no cash
// receipt requested or issued, no cancel): the order is READY again and the
// deposit UNMATCHED, with deposit.unmatched.
func (s *Service) Unmatch(ctx context.Context, id string) (*ent.Deposit, *ent.Payment, error) {
	var outD *ent.Deposit
	var outP *ent.Payment
	err := database.InTx(ctx, s.db, func(tx *ent.Tx) error {
		d, err := s.lockDeposit(ctx, tx, id)
		if err != nil {
			return err
		}
		if d.Status != entdeposit.StatusMATCHED {
			return apierr.New(apierr.CodeFailedPrecondition, ReasonDepositNotMatched, "deposit %s pays no order", d.ID)
		}
		p, err := paymentsvc.Lock(ctx, tx, d.PaymentID)
		if err != nil {
			return err
		}
		if _, err := paystate.Next(paystate.State(p.Status), paystate.Unmatch); err != nil {
			return paymentsvc.TransitionError(p, err)
		}
		issued, err := tx.CashReceipt.Query().Where(cashreceipt.PaymentID(p.ID),
			cashreceipt.StatusIn(cashreceipt.StatusREQUESTED, cashreceipt.StatusISSUED)).Exist(ctx)
		if err != nil {
			return err
		}
		cancelled, err := tx.Cancellation.Query().Where(cancellation.PaymentID(p.ID)).Exist(ctx)
		if err != nil {
			return err
		}
		if issued || cancelled {
			return apierr.New(apierr.CodeFailedPrecondition, ReasonReceiptIssued,
				"payment %s has a cash receipt or a cancel: cancel those first, or cancel the payment instead", p.ID)
		}
		bt := *p.BankTransfer
		bt.DepositedAt = 0
		if outP, err = s.payments.Transition(ctx, tx, p, paystate.Unmatch, func(u *ent.PaymentUpdateOne) {
			u.SetPaid(0).ClearPaidAt().SetDepositID("").SetBankTransfer(&bt)
		}); err != nil {
			return err
		}
		if outD, err = tx.Deposit.UpdateOne(d).SetStatus(entdeposit.StatusUNMATCHED).SetUnmatchedReason(UnmatchedByHand).
			SetPaymentID("").SetMerchantPaymentID("").ClearMatchType().ClearMatchedAt().Save(ctx); err != nil {
			return err
		}
		return s.recordEvent(ctx, tx, outD, EventDepositUnmatched)
	})
	if err != nil {
		return nil, nil, err
	}
	return outD, outP, nil
}

// lockDeposit reads a deposit of the caller's store inside tx and keeps
// others from changing it until tx ends.
func (s *Service) lockDeposit(ctx context.Context, tx *ent.Tx, id string) (*ent.Deposit, error) {
	q := tx.Deposit.Query().Where(entdeposit.ID(id))
	q.Where(visibleDeposits(ctx)...)
	d, err := q.Modify(database.ForUpdate).Only(ctx)
	if ent.IsNotFound(err) {
		return nil, apierr.New(apierr.CodeNotFound, ReasonDepositNotFound, "deposit %s not found", id)
	}
	return d, err
}
