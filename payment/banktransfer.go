package payment

import (
	"context"
	"fmt"
	"time"

	"github.com/paymux/paymux/apierr"
	"github.com/paymux/paymux/database"
	"github.com/paymux/paymux/ent"
	"github.com/paymux/paymux/ent/bankaccount"
	"github.com/paymux/paymux/ent/cancellation"
	"github.com/paymux/paymux/ent/cashreceipt"
	"github.com/paymux/paymux/ent/channel"
	"github.com/paymux/paymux/ent/payment"
	"github.com/paymux/paymux/ent/schema/details"
	"github.com/paymux/paymux/money"
	"github.com/paymux/paymux/paystate"
	"github.com/paymux/paymux/providers"
	"github.com/paymux/paymux/secrets"
	"github.com/paymux/paymux/tenant"
)

// Bank transfer orders (무통장입금) are payments no PG takes part in: the
// buyer transfers to the store's own account and package deposit matches
// the deposit to the order. They have no channel; deposit creates them
// (PrepareBankTransfer, Insert) and moves them with Transition. Here is
// what the rest of the payment lifecycle does differently for them:
// cancels move no money (the merchant refunds by transfer; paymux records
// it), and their cash receipts go through the store's cash-receipt
// channel.

// ReasonNoCashReceiptChannel: a bank transfer's cash receipt needs a
// channel to issue it, and the store has none.
const ReasonNoCashReceiptChannel = "NO_CASH_RECEIPT_CHANNEL"

// ReasonPaidByDeposit: a bank transfer order has no window to confirm; a
// deposit pays it.
const ReasonPaidByDeposit = "PAID_BY_DEPOSIT"

func errPaidByDeposit(p *ent.Payment) error {
	return apierr.WithMetadata(apierr.CodeFailedPrecondition, ReasonPaidByDeposit, map[string]string{"payment_id": p.ID},
		"payment %s is a bank transfer order: a deposit on the store's account pays it (or MatchDeposit by hand)", p.ID)
}

// PrepareBankTransfer checks a new bank transfer order as PrepareNew checks
// a payment, with no channel: the caller names its mode and sets its
// account.
func (s *Service) PrepareBankTransfer(ctx context.Context, in NewInput, mode payment.Mode) (*Draft, error) {
	if in.ChannelID != "" {
		return nil, apierr.InvalidField("channel_id", "a bank transfer is paid into a bank account, not through a channel: leave channel_id out")
	}
	// No channel sets a tax type: the amount's own split stands.
	amounts, err := AmountsFor(channel.TaxTypeCOMBINED, in.Amount, "amount")
	if err != nil {
		return nil, err
	}
	np, err := s.draft(ctx, in, amounts, payment.MethodBANK_TRANSFER, payment.ApprovalModelSERVER)
	if err != nil {
		return nil, err
	}
	np.Set(func(c *ent.PaymentCreate) { c.SetChannelID("").SetProvider("").SetMode(mode) })
	return np, nil
}

// SealReceiptIdentity seals a bank transfer order's cash receipt identity
// for payment id, to be opened when a deposit pays it.
func (s *Service) SealReceiptIdentity(paymentID, identity string) ([]byte, error) {
	return s.keyring.Encrypt([]byte(identity), receiptIdentityAD(paymentID))
}

// receiptIdentityAD binds a sealed cash receipt identity to its payment.
func receiptIdentityAD(paymentID string) []byte { return []byte("receipt-identity:" + paymentID) }

// RequestOrderReceipt writes, inside tx, the REQUESTED cash receipt that
// bank transfer order p asked for, as a deposit pays it: the receipt is on
// record (and holds off an unmatch) before the PG is asked (SendOrderReceipt,
// once tx commits). An order that asked for none is left as it is.
func (s *Service) RequestOrderReceipt(ctx context.Context, tx *ent.Tx, p *ent.Payment) error {
	bt := p.BankTransfer
	if p.Method != payment.MethodBANK_TRANSFER || bt == nil || len(bt.CashReceiptIdentitySealed) == 0 {
		return nil
	}
	old, err := tx.CashReceipt.Query().Where(cashreceipt.PaymentID(p.ID)).Only(ctx)
	switch {
	case ent.IsNotFound(err):
	case err != nil:
		return err
	case old.Status == cashreceipt.StatusREQUESTED || old.Status == cashreceipt.StatusISSUED:
		return nil
	default: // failed or cancelled before an unmatch: ask again
		if err := tx.CashReceipt.DeleteOne(old).Exec(ctx); err != nil {
			return err
		}
	}
	left := amountsOf(p, money.Amounts{})
	id := secrets.NewID("cr")
	return tx.CashReceipt.Create().
		SetID(id).SetStoreID(p.StoreID).SetPaymentID(p.ID).SetPgOrderID(id).
		SetType(cashreceipt.Type(bt.CashReceiptType)).SetIdentityMasked(bt.CashReceiptIdentity).
		SetStatus(cashreceipt.StatusREQUESTED).
		SetAmount(left.Cancellable()).SetTaxFree(left.CancellableTaxFree()).SetVat(left.CancellableVAT()).
		Exec(ctx)
}

// SendOrderReceipt asks the PG for the receipt RequestOrderReceipt wrote
// for order p, and records its answer on it: ISSUED, FAILED with the PG's
// reason (or for want of a channel), or still REQUESTED when the PG did
// not answer (GetCashReceipt asks it again).
func (s *Service) SendOrderReceipt(ctx context.Context, p *ent.Payment) error {
	ctx = context.WithoutCancel(ctx)
	r, err := s.db.CashReceipt.Query().Where(cashreceipt.PaymentID(p.ID), cashreceipt.StatusEQ(cashreceipt.StatusREQUESTED),
		cashreceipt.PgReceiptID("")).Only(ctx)
	if ent.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	fail := func(f *details.Failure) error {
		return s.db.CashReceipt.UpdateOne(r).Where(cashreceipt.StatusEQ(cashreceipt.StatusREQUESTED)).
			SetStatus(cashreceipt.StatusFAILED).SetFailure(f).Exec(ctx)
	}
	// Unmatched or wholly cancelled meanwhile: the receipt is not asked for.
	if cur, err := s.db.Payment.Get(tenant.System(ctx), p.ID); err != nil {
		return err
	} else if cur.Status != payment.StatusPAID && cur.Status != payment.StatusPARTIAL_CANCELLED {
		return fail(&details.Failure{Reason: "NOT_SENT", Message: fmt.Sprintf("payment %s is %s: the receipt was not asked for", p.ID, cur.Status)})
	}
	identity, err := s.keyring.Decrypt(p.BankTransfer.CashReceiptIdentitySealed, receiptIdentityAD(p.ID))
	if err != nil {
		return fmt.Errorf("open the cash receipt identity of %s: %w", p.ID, err)
	}
	ch, err := s.channelOf(ctx, p)
	if err != nil {
		return fail(&details.Failure{Reason: apierr.Reason(err), Message: err.Error()})
	}
	pgctx, cancel := s.PGContext(ctx)
	res, err := ch.API.IssueCashReceipt(pgctx, ch.PG, providers.IssueCashReceiptRequest{
		OrderID: r.ID, OrderName: p.OrderName,
		Amount:         providers.Amount{Total: r.Amount, TaxFree: r.TaxFree, VAT: &r.Vat, Currency: p.Currency},
		Subject:        providers.CashReceiptSubject{Type: providers.CashReceiptType(r.Type), Identity: providers.NewRedacted(string(identity))},
		IdempotencyKey: r.ID,
	})
	cancel()
	switch {
	case providers.OutcomeUnknown(err):
		return outcomeUnknownError(p, "the cash receipt request")
	case err != nil:
		return fail(FailureOf(FailRefused, err))
	}
	upd := s.db.CashReceipt.UpdateOne(r).Where(cashreceipt.StatusEQ(cashreceipt.StatusREQUESTED))
	applyReceipt(upd.Mutation(), res)
	if err := upd.Exec(ctx); err != nil && !ent.IsNotFound(err) {
		return err
	}
	return nil
}

// receiptChannel is the channel that issues a bank transfer's cash
// receipts: its account's, or the store's default payment channel of the
// payment's mode.
func (s *Service) receiptChannel(ctx context.Context, p *ent.Payment) (*Channel, error) {
	ctx = tenant.System(ctx)
	id := ""
	if p.BankTransfer != nil {
		acct, err := s.db.BankAccount.Query().Where(bankaccount.ID(p.BankTransfer.AccountID)).Only(ctx)
		if err != nil && !ent.IsNotFound(err) {
			return nil, err
		}
		if acct != nil {
			id = acct.CashReceiptChannelID
		}
	}
	if id == "" {
		row, err := s.db.Channel.Query().Where(channel.StoreID(p.StoreID), channel.ModeEQ(channel.Mode(p.Mode)),
			channel.PurposeEQ(channel.PurposePAYMENT), channel.Default(true)).First(ctx)
		if ent.IsNotFound(err) {
			return nil, apierr.New(apierr.CodeFailedPrecondition, ReasonNoCashReceiptChannel,
				"the store has no %s payment channel to issue the cash receipt of bank transfer %s: create one, or name one on the bank account", p.Mode, p.ID)
		}
		if err != nil {
			return nil, err
		}
		id = row.ID
	}
	return s.ChannelByID(ctx, id)
}

// cancelBankTransfer cancels a bank transfer order. An unpaid order is
// closed: it leaves matching. For a paid one paymux moves no money: the
// merchant refunds the buyer by transfer, and the cancel records it at
// once (with the refund account, when given); a full cancel cancels the
// order's cash receipt too.
func (s *Service) cancelBankTransfer(ctx context.Context, in CancelInput, p *ent.Payment) (*ent.Payment, *ent.Cancellation, error) {
	var refundBank providers.Bank
	if ra := in.RefundAccount; ra != nil {
		var err error
		if refundBank, err = providers.ParseBank(ra.Bank); err != nil || !refundBank.Valid() {
			return nil, nil, apierr.InvalidField("refund_account.bank", "unknown bank code %q", ra.Bank)
		}
	}
	var outP *ent.Payment
	var outC *ent.Cancellation
	err := database.InTx(ctx, s.db, func(tx *ent.Tx) error {
		cur, err := Lock(ctx, tx, p.ID)
		if err != nil {
			return err
		}
		now := s.clock()
		if cur.Status == payment.StatusREADY {
			if in.Amount != nil && *in.Amount != cur.Total {
				return TransitionError(cur, paystate.ErrPaymentNotPaid)
			}
			outP, err = s.Transition(ctx, tx, cur, paystate.CloseOrder, func(u *ent.PaymentUpdateOne) { u.SetCancelledAt(now) })
			return err
		}
		if _, err := paystate.Next(paystate.State(cur.Status), paystate.PartialCancel); err != nil {
			return TransitionError(cur, err)
		}
		var amount int64
		if in.Amount != nil {
			amount = *in.Amount
		}
		a := amountsOf(cur, money.Amounts{})
		plan, err := a.PlanCancel(money.CancelRequest{Amount: amount, TaxFree: in.TaxFree, VAT: in.VAT, CurrentCancellable: in.CurrentCancellable})
		if err != nil {
			return MoneyError(err, cancelField(err))
		}
		next, err := a.Apply(money.Cancel{Amount: plan.Amount, TaxFree: plan.TaxFree, VAT: plan.VAT, Full: plan.Full})
		if err != nil {
			return MoneyError(err, "amount")
		}
		id := secrets.NewID("cnl")
		create := tx.Cancellation.Create().
			SetID(id).SetStoreID(cur.StoreID).SetPaymentID(cur.ID).
			SetStatus(cancellation.StatusSUCCEEDED).
			SetAmount(plan.Amount).SetTaxFree(plan.TaxFree).SetVat(plan.VAT).SetFull(plan.Full).
			SetReason(in.Reason).SetCancelledAt(now)
		if err := s.setRefundAccount(create, id, in.RefundAccount, refundBank); err != nil {
			return err
		}
		if outC, err = create.Save(ctx); err != nil {
			return err
		}
		outP, err = s.recordCancelled(ctx, tx, cur, next, now)
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	if outP.Status == payment.StatusCANCELLED && outC != nil {
		s.cancelOrderReceipt(ctx, outP, in.Reason)
	}
	return outP, outC, nil
}

// cancelOrderReceipt cancels the cash receipt of a wholly cancelled bank
// transfer, if it has one. A PG that does not answer leaves it for the
// merchant to cancel again (CancelCashReceipt); the cancel itself stands.
func (s *Service) cancelOrderReceipt(ctx context.Context, p *ent.Payment, reason string) {
	ctx = context.WithoutCancel(ctx)
	// A receipt asked for but not known at the PG yet: learn what became
	// of it first (GetCashReceipt settles one the PG never issued as
	// FAILED); only an issued one is cancelled.
	r, err := s.GetCashReceipt(ctx, p.ID)
	if apierr.Reason(err) == ReasonCashReceiptNotFound {
		return // the order asked for none
	}
	if err != nil || r.Status != cashreceipt.StatusISSUED {
		if err != nil {
			s.log.WarnContext(ctx, "cash receipt of a cancelled bank transfer", "payment_id", p.ID, "error", err)
		}
		return
	}
	if _, err := s.CancelCashReceipt(ctx, p.ID, reason); err != nil {
		s.log.WarnContext(ctx, "cancel the cash receipt of a cancelled bank transfer", "payment_id", p.ID, "error", err)
	}
}

// SendStrandedReceipts sends the bank transfer receipts written REQUESTED
// with a match but never sent (paymux stopped between the match and the
// PG call), a minute or more after they were written.
func (s *Service) SendStrandedReceipts(ctx context.Context) error {
	ctx = tenant.System(ctx)
	rows, err := s.db.CashReceipt.Query().Where(cashreceipt.StatusEQ(cashreceipt.StatusREQUESTED), cashreceipt.PgReceiptID(""),
		cashreceipt.CreatedAtLT(s.clock().Add(-time.Minute)), cashreceipt.HasPaymentWith(payment.MethodEQ(payment.MethodBANK_TRANSFER)),
		cashreceipt.FailureIsNil()).Limit(100).All(ctx)
	if err != nil {
		return err
	}
	for _, r := range rows {
		p, err := s.db.Payment.Get(ctx, r.PaymentID)
		if err == nil {
			err = s.SendOrderReceipt(ctx, p)
		}
		if err != nil && !providers.OutcomeUnknown(err) && apierr.Reason(err) != ReasonPGOutcomeUnknown {
			s.log.WarnContext(ctx, "send a bank transfer's cash receipt", "payment_id", r.PaymentID, "error", err)
		}
	}
	return nil
}
