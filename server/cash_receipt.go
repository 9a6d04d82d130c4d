package server

import (
	"context"
	"time"

	"connectrpc.com/connect"

	"github.com/paymux/paymux/apierr"
	"github.com/paymux/paymux/database"
	"github.com/paymux/paymux/ent"
	"github.com/paymux/paymux/ent/cashreceipt"
	"github.com/paymux/paymux/ent/payment"
	paymuxv1 "github.com/paymux/paymux/gen/paymux/v1"
	"github.com/paymux/paymux/paystate"
	"github.com/paymux/paymux/providers"
	"github.com/paymux/paymux/secrets"
)

// Cash receipts (현금영수증) cover what a buyer paid by virtual account or
// transfer, as it stands when the receipt is asked for.

func (s *paymentService) IssueCashReceipt(ctx context.Context, req *connect.Request[paymuxv1.IssueCashReceiptRequest]) (*connect.Response[paymuxv1.IssueCashReceiptResponse], error) {
	p, err := s.loadPayment(ctx, req.Msg.GetPaymentId())
	if err != nil {
		return nil, err
	}
	if p.Method != payment.MethodVIRTUAL_ACCOUNT && p.Method != payment.MethodTRANSFER {
		return nil, apierr.New(apierr.CodeFailedPrecondition, reasonCashReceiptNotAllowed,
			"payment %s was paid by %s: cash receipts cover virtual-account and transfer payments", p.ID, p.Method)
	}
	// A receipt covers money still held: as for a cancel, the payment must
	// be paid and not wholly cancelled, and the reason says which it is not.
	if _, err := paystate.Next(paystate.State(p.Status), paystate.PartialCancel); err != nil {
		return nil, transitionError(p, err)
	}
	old, err := s.db.CashReceipt.Query().Where(cashreceipt.PaymentID(p.ID)).Only(ctx)
	switch {
	case ent.IsNotFound(err):
	case err != nil:
		return nil, err
	case old.Status == cashreceipt.StatusFAILED || old.Status == cashreceipt.StatusCANCELLED:
	default:
		return nil, apierr.New(apierr.CodeAlreadyExists, reasonCashReceiptExists, "payment %s already has cash receipt %s (%s)", p.ID, old.ID, old.Status)
	}
	ch, err := s.channelOf(ctx, p)
	if err != nil {
		return nil, err
	}
	in := req.Msg.GetReceipt()
	id := secrets.NewID("cr")
	held, err := pendingCancels(ctx, s.db.Cancellation, p.ID)
	if err != nil {
		return nil, err
	}
	left := amountsOf(p, held)
	vat := left.CancellableVAT()
	pgctx, cancel := s.pgContext(ctx)
	res, err := ch.api.IssueCashReceipt(pgctx, ch.pg, providers.IssueCashReceiptRequest{
		// The receipt's own id: a PG takes one receipt per order id, and a
		// failed or cancelled receipt may be asked for again.
		OrderID:         id,
		OrderName:       p.OrderName,
		Amount:          providers.Amount{Total: left.Cancellable(), TaxFree: left.CancellableTaxFree(), VAT: &vat, Currency: p.Currency},
		Subject:         providers.CashReceiptSubject{Type: cashReceiptType(in.GetType()), Identity: providers.NewRedacted(in.GetIdentityNumber())},
		PGTransactionID: p.PgTransactionID,
		IdempotencyKey:  id,
	})
	cancel()
	if err != nil {
		if providers.OutcomeUnknown(err) {
			return nil, outcomeUnknownError(p, "the cash receipt request")
		}
		return nil, pgError(p, err)
	}
	var row *ent.CashReceipt
	err = database.InTx(context.WithoutCancel(ctx), s.db, func(tx *ent.Tx) error {
		if old != nil {
			if err := tx.CashReceipt.DeleteOne(old).Exec(ctx); err != nil {
				return err
			}
		}
		create := tx.CashReceipt.Create().
			SetID(id).SetStoreID(p.StoreID).SetPaymentID(p.ID).
			SetType(cashreceipt.Type(cashReceiptType(in.GetType()))).
			SetIdentityMasked(maskDigits(in.GetIdentityNumber())).
			SetAmount(left.Cancellable()).SetTaxFree(left.CancellableTaxFree()).SetVat(vat)
		applyReceipt(create.Mutation(), res)
		row, err = create.Save(ctx)
		return err
	})
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&paymuxv1.IssueCashReceiptResponse{CashReceipt: toCashReceiptPB(row)}), nil
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
		m.SetFailure(failureOf(failRefused, r.Failure))
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

func (s *paymentService) receiptOf(ctx context.Context, paymentID string) (*ent.Payment, *ent.CashReceipt, *payChannel, error) {
	p, err := s.loadPayment(ctx, paymentID)
	if err != nil {
		return nil, nil, nil, err
	}
	r, err := s.db.CashReceipt.Query().Where(cashreceipt.PaymentID(p.ID)).Only(ctx)
	if ent.IsNotFound(err) {
		return nil, nil, nil, apierr.New(apierr.CodeNotFound, reasonCashReceiptNotFound, "payment %s has no cash receipt", p.ID)
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

func (s *paymentService) GetCashReceipt(ctx context.Context, req *connect.Request[paymuxv1.GetCashReceiptRequest]) (*connect.Response[paymuxv1.GetCashReceiptResponse], error) {
	p, r, ch, err := s.receiptOf(ctx, req.Msg.GetPaymentId())
	if err != nil {
		return nil, err
	}
	if r.Status == cashreceipt.StatusREQUESTED {
		// Issuing is asynchronous at the PG: see whether it has finished.
		pgctx, cancel := s.pgContext(ctx)
		res, err := ch.api.LookupCashReceipt(pgctx, ch.pg, receiptRef(p, r))
		cancel()
		if err == nil {
			upd := s.db.CashReceipt.UpdateOne(r)
			applyReceipt(upd.Mutation(), res)
			if r, err = upd.Save(ctx); err != nil {
				return nil, err
			}
		} else if !providers.OutcomeUnknown(err) {
			return nil, pgError(p, err)
		}
	}
	return connect.NewResponse(&paymuxv1.GetCashReceiptResponse{CashReceipt: toCashReceiptPB(r)}), nil
}

func (s *paymentService) CancelCashReceipt(ctx context.Context, req *connect.Request[paymuxv1.CancelCashReceiptRequest]) (*connect.Response[paymuxv1.CancelCashReceiptResponse], error) {
	p, r, ch, err := s.receiptOf(ctx, req.Msg.GetPaymentId())
	if err != nil {
		return nil, err
	}
	if r.Status != cashreceipt.StatusISSUED && r.Status != cashreceipt.StatusREQUESTED {
		return nil, apierr.New(apierr.CodeFailedPrecondition, reasonCashReceiptNotIssuable, "cash receipt %s is %s", r.ID, r.Status)
	}
	pgctx, cancel := s.pgContext(ctx)
	res, err := ch.api.CancelCashReceipt(pgctx, ch.pg, providers.CancelCashReceiptRequest{
		ReceiptID: receiptRef(p, r).ReceiptID, OrderID: receiptRef(p, r).OrderID, Reason: req.Msg.GetReason(), IdempotencyKey: r.ID + ":cancel",
	})
	cancel()
	if err != nil {
		if providers.OutcomeUnknown(err) {
			return nil, outcomeUnknownError(p, "the cash receipt cancel")
		}
		return nil, pgError(p, err)
	}
	upd := s.db.CashReceipt.UpdateOne(r)
	applyReceipt(upd.Mutation(), res)
	if res.CancelledAt.IsZero() {
		upd.SetCancelledAt(s.clock())
	}
	if r, err = upd.Save(context.WithoutCancel(ctx)); err != nil {
		return nil, err
	}
	return connect.NewResponse(&paymuxv1.CancelCashReceiptResponse{CashReceipt: toCashReceiptPB(r)}), nil
}

// receiptRef names a receipt at the PG: by the PG's id once known, else by
// order id (a receipt the PG issued itself with a deposit carries the
// payment's).
func receiptRef(p *ent.Payment, r *ent.CashReceipt) providers.LookupCashReceiptRequest {
	if r.PgReceiptID != "" {
		return providers.LookupCashReceiptRequest{ReceiptID: r.PgReceiptID}
	}
	return providers.LookupCashReceiptRequest{OrderID: p.ID}
}
