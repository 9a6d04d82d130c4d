package payment

import (
	"context"
	"time"

	"github.com/paymux/paymux/apierr"
	"github.com/paymux/paymux/database"
	"github.com/paymux/paymux/ent"
	"github.com/paymux/paymux/ent/cashreceipt"
	"github.com/paymux/paymux/ent/payment"
	"github.com/paymux/paymux/paystate"
	"github.com/paymux/paymux/providers"
	"github.com/paymux/paymux/secrets"
)

// Cash receipts (현금영수증) cover what a buyer paid by virtual account or
// transfer, as it stands when the receipt is asked for.

// IssueCashReceipt asks the PG for a cash receipt of what a virtual
// account or transfer payment still holds.
func (s *Service) IssueCashReceipt(ctx context.Context, paymentID string, subject CashReceiptSubject) (*ent.CashReceipt, error) {
	p, err := s.Load(ctx, paymentID)
	if err != nil {
		return nil, err
	}
	if p.Method != payment.MethodVIRTUAL_ACCOUNT && p.Method != payment.MethodTRANSFER && p.Method != payment.MethodBANK_TRANSFER {
		return nil, apierr.New(apierr.CodeFailedPrecondition, ReasonCashReceiptNotAllowed,
			"payment %s was paid by %s: cash receipts cover virtual-account, transfer and bank transfer payments", p.ID, p.Method)
	}
	// A receipt covers money still held: as for a cancel, the payment must
	// be paid and not wholly cancelled, and the reason says which it is not.
	if _, err := paystate.Next(paystate.State(p.Status), paystate.PartialCancel); err != nil {
		return nil, TransitionError(p, err)
	}
	old, err := s.db.CashReceipt.Query().Where(cashreceipt.PaymentID(p.ID)).Only(ctx)
	switch {
	case ent.IsNotFound(err):
	case err != nil:
		return nil, err
	case old.Status == cashreceipt.StatusFAILED || old.Status == cashreceipt.StatusCANCELLED:
	default:
		return nil, apierr.New(apierr.CodeAlreadyExists, ReasonCashReceiptExists, "payment %s already has cash receipt %s (%s)", p.ID, old.ID, old.Status)
	}
	ch, err := s.channelOf(ctx, p)
	if err != nil {
		return nil, err
	}
	id := secrets.NewID("cr")
	held, err := pendingCancels(ctx, s.db.Cancellation, p.ID)
	if err != nil {
		return nil, err
	}
	left := amountsOf(p, held)
	vat := left.CancellableVAT()
	pgctx, cancel := s.PGContext(ctx)
	res, err := ch.API.IssueCashReceipt(pgctx, ch.PG, providers.IssueCashReceiptRequest{
		// The receipt's own id: a PG takes one receipt per order id, and a
		// failed or cancelled receipt may be asked for again.
		OrderID:         id,
		OrderName:       p.OrderName,
		Amount:          providers.Amount{Total: left.Cancellable(), TaxFree: left.CancellableTaxFree(), VAT: &vat, Currency: p.Currency},
		Subject:         providers.CashReceiptSubject{Type: subject.Type, Identity: providers.NewRedacted(subject.Identity)},
		PGTransactionID: p.PgTransactionID,
		IdempotencyKey:  id,
	})
	cancel()
	unknown := providers.OutcomeUnknown(err)
	if err != nil && !unknown {
		return nil, PGError(p, err)
	}
	if unknown {
		// The PG may have issued it: the receipt is kept REQUESTED under its
		// order id, so that a second ask cannot issue another and a lookup
		// (GetCashReceipt) finds out.
		res = &providers.CashReceipt{Status: providers.CashReceiptRequested}
	}
	var row *ent.CashReceipt
	err = database.InTx(context.WithoutCancel(ctx), s.db, func(tx *ent.Tx) error {
		if old != nil {
			if err := tx.CashReceipt.DeleteOne(old).Exec(ctx); err != nil {
				return err
			}
		}
		create := tx.CashReceipt.Create().
			SetID(id).SetStoreID(p.StoreID).SetPaymentID(p.ID).SetPgOrderID(id).
			SetType(cashreceipt.Type(subject.Type)).
			SetIdentityMasked(MaskDigits(subject.Identity)).
			SetAmount(left.Cancellable()).SetTaxFree(left.CancellableTaxFree()).SetVat(vat)
		applyReceipt(create.Mutation(), res)
		row, err = create.Save(ctx)
		return err
	})
	if err != nil {
		return nil, err
	}
	if unknown {
		return nil, outcomeUnknownError(p, "the cash receipt request")
	}
	return row, nil
}

// applyReceipt copies what the PG reports of a receipt onto a mutation.
func applyReceipt(m *ent.CashReceiptMutation, r *providers.CashReceipt) {
	m.SetPgReceiptID(r.ReceiptID)
	m.SetApprovalNumber(r.ApprovalNumber)
	m.SetReceiptURL(r.ReceiptURL)
	switch r.Status {
	case providers.CashReceiptIssued, providers.CashReceiptPartialCancelled:
		m.SetStatus(cashreceipt.StatusISSUED)
	case providers.CashReceiptFailed:
		m.SetStatus(cashreceipt.StatusFAILED)
		m.SetFailure(FailureOf(FailRefused, r.Failure))
	case providers.CashReceiptCancelled:
		m.SetStatus(cashreceipt.StatusCANCELLED)
	default:
		m.SetStatus(cashreceipt.StatusREQUESTED)
	}
	if !r.IssuedAt.IsZero() {
		m.SetIssuedAt(r.IssuedAt.UTC().Truncate(time.Microsecond))
	}
	if !r.CancelledAt.IsZero() {
		m.SetCancelledAt(r.CancelledAt.UTC().Truncate(time.Microsecond))
	}
}

func (s *Service) receiptOf(ctx context.Context, paymentID string) (*ent.Payment, *ent.CashReceipt, *Channel, error) {
	p, err := s.Load(ctx, paymentID)
	if err != nil {
		return nil, nil, nil, err
	}
	r, err := s.db.CashReceipt.Query().Where(cashreceipt.PaymentID(p.ID)).Only(ctx)
	if ent.IsNotFound(err) {
		return nil, nil, nil, apierr.New(apierr.CodeNotFound, ReasonCashReceiptNotFound, "payment %s has no cash receipt", p.ID)
	}
	if err != nil {
		return nil, nil, nil, err
	}
	ch, err := s.channelOf(ctx, p)
	if err != nil {
		return nil, nil, nil, err
	}
	return p, r, ch, nil
}

// GetCashReceipt reads a payment's cash receipt, asking the PG whether a
// requested one has been issued meanwhile.
func (s *Service) GetCashReceipt(ctx context.Context, paymentID string) (*ent.CashReceipt, error) {
	p, r, ch, err := s.receiptOf(ctx, paymentID)
	if err != nil {
		return nil, err
	}
	if r.Status == cashreceipt.StatusREQUESTED {
		// Issuing is asynchronous at the PG: see whether it has finished.
		pgctx, cancel := s.PGContext(ctx)
		res, err := ch.API.LookupCashReceipt(pgctx, ch.PG, receiptRef(p, r))
		cancel()
		if providers.IsKind(err, providers.KindNotFound) && r.PgReceiptID == "" {
			// Asked for with no answer, and the PG has none: it was never
			// issued, and may be asked for again.
			res, err = &providers.CashReceipt{Status: providers.CashReceiptFailed,
				Failure: &providers.Error{Kind: providers.KindNotFound, Message: "the PG has no such receipt"}}, nil
		}
		if err == nil {
			upd := s.db.CashReceipt.UpdateOne(r)
			applyReceipt(upd.Mutation(), res)
			if r, err = upd.Save(ctx); err != nil {
				return nil, err
			}
		} else if !providers.OutcomeUnknown(err) {
			return nil, PGError(p, err)
		}
	}
	return r, nil
}

// CancelCashReceipt cancels a payment's cash receipt at the PG.
func (s *Service) CancelCashReceipt(ctx context.Context, paymentID, reason string) (*ent.CashReceipt, error) {
	p, r, ch, err := s.receiptOf(ctx, paymentID)
	if err != nil {
		return nil, err
	}
	if r.Status != cashreceipt.StatusISSUED && r.Status != cashreceipt.StatusREQUESTED {
		return nil, apierr.New(apierr.CodeFailedPrecondition, ReasonCashReceiptNotIssuable, "cash receipt %s is %s", r.ID, r.Status)
	}
	pgctx, cancel := s.PGContext(ctx)
	res, err := ch.API.CancelCashReceipt(pgctx, ch.PG, providers.CancelCashReceiptRequest{
		ReceiptID: receiptRef(p, r).ReceiptID, OrderID: receiptRef(p, r).OrderID, Reason: reason, IdempotencyKey: r.ID + ":cancel",
	})
	cancel()
	if err != nil {
		if providers.OutcomeUnknown(err) {
			return nil, outcomeUnknownError(p, "the cash receipt cancel")
		}
		return nil, PGError(p, err)
	}
	upd := s.db.CashReceipt.UpdateOne(r)
	applyReceipt(upd.Mutation(), res)
	if res.CancelledAt.IsZero() {
		upd.SetCancelledAt(s.clock())
	}
	if r, err = upd.Save(context.WithoutCancel(ctx)); err != nil {
		return nil, err
	}
	return r, nil
}

// receiptRef names a receipt at the PG: by the PG's id once known, else by
// order id (a receipt the PG issued itself with a deposit carries the
// payment's).
func receiptRef(p *ent.Payment, r *ent.CashReceipt) providers.LookupCashReceiptRequest {
	orderID := r.PgOrderID
	if orderID == "" {
		orderID = p.ID
	}
	return providers.LookupCashReceiptRequest{ReceiptID: r.PgReceiptID, OrderID: orderID}
}
