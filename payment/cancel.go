package payment

import (
	"context"
	"errors"

	"github.com/paymux/paymux/apierr"
	"github.com/paymux/paymux/database"
	"github.com/paymux/paymux/ent"
	"github.com/paymux/paymux/ent/cancellation"
	"github.com/paymux/paymux/ent/payment"
	"github.com/paymux/paymux/money"
	"github.com/paymux/paymux/paystate"
	"github.com/paymux/paymux/providers"
	"github.com/paymux/paymux/secrets"
)

// CancelInput is a cancel of a payment, in full or in part.
type CancelInput struct {
	ID string
	// Amount to cancel; nil: all that is left.
	Amount *int64
	// TaxFree and VAT split the amount; nil: derived.
	TaxFree, VAT *int64
	// CurrentCancellable guards against a cancel based on a stale read:
	// when set it must equal what is cancellable now.
	CurrentCancellable *int64
	Reason             string
	// RefundAccount is where a deposited virtual account is refunded.
	RefundAccount *RefundAccount
}

// RefundAccount is a bank account a refund is paid to.
type RefundAccount struct {
	Bank, Number, Holder, Phone string
}

// Cancel cancels a payment in full or in part. The cancel is held against
// the balance (committed) before the PG is asked, so two cancels can never
// refund more than was paid; the PG's answer then settles it.
func (s *Service) Cancel(ctx context.Context, in CancelInput) (*ent.Payment, *ent.Cancellation, error) {
	p, err := s.Load(ctx, in.ID)
	if err != nil {
		return nil, nil, err
	}
	if p.Method == payment.MethodBANK_TRANSFER {
		return s.cancelBankTransfer(ctx, in, p)
	}
	ch, err := s.channelOf(ctx, p)
	if err != nil {
		return nil, nil, err
	}
	var refundBank providers.Bank
	if ra := in.RefundAccount; ra != nil {
		if refundBank, err = providers.ParseBank(ra.Bank); err != nil || !refundBank.Valid() {
			return nil, nil, apierr.InvalidField("refund_account.bank", "unknown bank code %q", ra.Bank)
		}
	}
	if p.Method == payment.MethodVIRTUAL_ACCOUNT && p.Paid > 0 && in.RefundAccount == nil {
		return nil, nil, apierr.WithMetadata(apierr.CodeInvalidArgument, ReasonRefundAccountRequired,
			map[string]string{"payment_id": p.ID, "field": "refund_account"},
			"refund_account: a deposited virtual account is refunded to a bank account; give bank, number and holder")
	}
	var c *ent.Cancellation
	err = database.InTx(ctx, s.db, func(tx *ent.Tx) error {
		cur, err := Lock(ctx, tx, p.ID)
		if err != nil {
			return err
		}
		if _, err := paystate.Next(paystate.State(cur.Status), paystate.PartialCancel); err != nil {
			return TransitionError(cur, err)
		}
		held, err := pendingCancels(ctx, tx.Cancellation, cur.ID)
		if err != nil {
			return err
		}
		var amount int64
		if in.Amount != nil {
			amount = *in.Amount
		}
		plan, err := amountsOf(cur, held).PlanCancel(money.CancelRequest{
			Amount: amount, TaxFree: in.TaxFree, VAT: in.VAT, CurrentCancellable: in.CurrentCancellable,
		})
		if err != nil {
			return MoneyError(err, cancelField(err))
		}
		id := secrets.NewID("cnl")
		create := tx.Cancellation.Create().
			SetID(id).SetStoreID(cur.StoreID).SetPaymentID(cur.ID).
			SetStatus(cancellation.StatusREQUESTED).
			SetAmount(plan.Amount).SetTaxFree(plan.TaxFree).SetVat(plan.VAT).SetFull(plan.Full).
			SetReason(in.Reason)
		if cur.Method == payment.MethodVIRTUAL_ACCOUNT {
			if err := s.setRefundAccount(create, id, in.RefundAccount, refundBank); err != nil {
				return err
			}
		}
		c, err = create.Save(ctx)
		p = cur
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	res, pgErr := s.sendCancel(ctx, p, ch, c)
	return s.settleCancel(ctx, p, c, res, pgErr)
}

// setRefundAccount adds the refund account (if any) to cancel id being
// created: its number sealed for the PG, and masked for display.
func (s *Service) setRefundAccount(create *ent.CancellationCreate, id string, ra *RefundAccount, bank providers.Bank) error {
	if ra == nil {
		return nil
	}
	sealed, err := s.keyring.Encrypt([]byte(ra.Number), []byte("refund:"+id))
	if err != nil {
		return err
	}
	create.SetRefundBank(string(bank)).SetRefundNumberSealed(sealed).
		SetRefundNumberMasked(MaskDigits(ra.Number)).SetRefundHolder(ra.Holder).SetRefundPhone(ra.Phone)
	return nil
}

// cancelField is the request field a refused cancel split is about.
func cancelField(err error) string {
	var me *money.Error
	if errors.As(err, &me) {
		switch me.Reason {
		case money.ReasonInvalidCancelTaxFreeAmount:
			return "tax_free_amount"
		case money.ReasonInvalidCancelVATAmount:
			return "vat_amount"
		}
	}
	return "amount"
}

// CloseVirtualAccount closes an issued virtual account no deposit has
// reached: the PG first, then the payment.
func (s *Service) CloseVirtualAccount(ctx context.Context, id, reason string) (*ent.Payment, error) {
	p, err := s.Load(ctx, id)
	if err != nil {
		return nil, err
	}
	if p, err = s.ExpireIfDue(ctx, p); err != nil {
		return nil, err
	}
	if _, err := paystate.Next(paystate.State(p.Status), paystate.CloseVirtualAccount); err != nil {
		return nil, TransitionError(p, err)
	}
	ch, err := s.channelOf(ctx, p)
	if err != nil {
		return nil, err
	}
	pgctx, cancel := s.PGContext(ctx)
	_, err = ch.API.CloseVirtualAccount(pgctx, ch.PG, providers.CloseVirtualAccountRequest{
		PGTransactionID: p.PgTransactionID, OrderID: p.ID, Reason: reason,
	})
	cancel()
	switch {
	case err == nil || providers.IsKind(err, providers.KindAlreadyDone):
	case providers.OutcomeUnknown(err):
		return nil, outcomeUnknownError(p, "closing the virtual account")
	default:
		return nil, PGError(p, err)
	}
	ctx = context.WithoutCancel(ctx)
	err = database.InTx(ctx, s.db, func(tx *ent.Tx) error {
		cur, err := Lock(ctx, tx, p.ID)
		if err != nil {
			return err
		}
		now := s.clock()
		p, err = s.Transition(ctx, tx, cur, paystate.CloseVirtualAccount, func(u *ent.PaymentUpdateOne) { u.SetCancelledAt(now) })
		return err
	})
	return p, err
}
