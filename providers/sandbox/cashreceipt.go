package sandbox

import (
	"context"
	"fmt"
	"time"

	"github.com/paymux/paymux/providers"
)

// receipt is one cash receipt.
type receipt struct {
	r           providers.CashReceipt
	fingerprint string
	idemKey     string
	readyAt     time.Time // when REQUESTED turns ISSUED or FAILED
	fail        bool      // FailingCashReceiptIdentity
}

// receiptCancelOutcome is the stored answer of a receipt cancel with an
// idempotency key.
type receiptCancelOutcome struct {
	fingerprint string
	r           *providers.CashReceipt
	err         *providers.Error
}

// checkIdentity validates who a receipt is for: a phone number (10-11
// digits) or cash-receipt card number (13-19 digits) for income deduction,
// a business registration number (10 digits) for expense proof.
func checkIdentity(op string, sub providers.CashReceiptSubject) *providers.Error {
	id := sub.Identity.Reveal()
	n := len(id)
	switch sub.Type {
	case providers.CashReceiptIncomeDeduction:
		if !allDigits(id) || !(n == 10 || n == 11 || (n >= 13 && n <= 19)) {
			return invalid(op, "INVALID_IDENTITY", "income deduction takes a phone number or a cash-receipt card number")
		}
	case providers.CashReceiptExpenseProof:
		if !allDigits(id) || n != 10 {
			return invalid(op, "INVALID_IDENTITY", "expense proof takes a 10-digit business registration number")
		}
	default:
		return invalid(op, "INVALID_CASH_RECEIPT_TYPE", "unknown cash receipt type %q", sub.Type)
	}
	return nil
}

// IssueCashReceipt requests a cash receipt. It is REQUESTED at first; the
// first lookup at or after CashReceiptDelay shows it ISSUED, or FAILED for
// FailingCashReceiptIdentity. The order id (with the idempotency key)
// guards against a second receipt.
func (s *Sandbox) IssueCashReceipt(ctx context.Context, ch providers.Channel, req providers.IssueCashReceiptRequest) (*providers.CashReceipt, error) {
	const op = "IssueCashReceipt"
	m, now, unlock, err := s.begin(ctx, ch, op)
	if err != nil {
		return nil, err
	}
	defer unlock()

	if req.OrderID == "" {
		return nil, invalid(op, "ORDER_ID_REQUIRED", "an order id is required")
	}
	fp := s.digest(op, amountKey(req.Amount), req.Subject.Type, req.Subject.Identity.Reveal(), req.PGTransactionID)
	if prev := m.receiptOrders[req.OrderID]; prev != nil {
		switch {
		case prev.fingerprint == fp && prev.idemKey == req.IdempotencyKey:
			s.settle(prev, now)
			c := cloneReceipt(prev.r)
			return &c, nil
		case req.IdempotencyKey != "" && req.IdempotencyKey == prev.idemKey:
			return nil, invalid(op, "IDEMPOTENCY_KEY_REUSED", "idempotency key %q was used for a different request", req.IdempotencyKey)
		default:
			return nil, alreadyDone(op, "DUPLICATED_ORDER_ID", "order %q already has cash receipt %s", req.OrderID, prev.r.ReceiptID)
		}
	}
	amounts, err := newAmounts(op, req.Amount)
	if err != nil {
		return nil, err
	}
	if err := checkIdentity(op, req.Subject); err != nil {
		return nil, err
	}
	if req.PGTransactionID != "" && m.payments[req.PGTransactionID] == nil {
		return nil, notFound(op, "PAYMENT_NOT_FOUND", "no payment %q", req.PGTransactionID)
	}
	r := s.newReceipt(m, now, req.OrderID, req.Subject, amounts, fp, req.IdempotencyKey)
	c := r.r
	return &c, nil
}

// newReceipt records a REQUESTED receipt. Called locked.
func (s *Sandbox) newReceipt(m *merchant, now time.Time, orderID string, sub providers.CashReceiptSubject, a providers.Amounts, fp, idemKey string) *receipt {
	a.Paid = a.Total
	a.Cancelled, a.CancelledTaxFree, a.CancelledVAT = 0, 0, 0
	r := &receipt{
		r: providers.CashReceipt{
			ReceiptID:   s.next("cr"),
			OrderID:     orderID,
			Type:        sub.Type,
			Status:      providers.CashReceiptRequested,
			Amounts:     a,
			RequestedAt: now,
		},
		fingerprint: fp,
		idemKey:     idemKey,
		readyAt:     now.Add(s.opts.CashReceiptDelay),
		fail:        sub.Identity.Reveal() == FailingCashReceiptIdentity,
	}
	m.receipts[r.r.ReceiptID] = r
	if m.receiptOrders[orderID] == nil {
		m.receiptOrders[orderID] = r
	}
	return r
}

// settle moves a REQUESTED receipt on once its delay has passed. Called
// locked.
func (s *Sandbox) settle(r *receipt, now time.Time) {
	if r.r.Status != providers.CashReceiptRequested || now.Before(r.readyAt) {
		return
	}
	if r.fail {
		r.r.Status = providers.CashReceiptFailed
		r.r.Failure = declined("IssueCashReceipt", providers.DeclineOther, "SB_CR_REJECTED",
			"국세청 발급 실패 (the tax service refused the identity number)")
		return
	}
	r.r.Status = providers.CashReceiptIssued
	r.r.IssuedAt = r.readyAt
	r.r.ApprovalNumber = fmt.Sprintf("%09d", s.nextNumber()%1_000_000_000)
}

func (m *merchant) findReceipt(id, orderID string) *receipt {
	if id != "" {
		r := m.receipts[id]
		if r != nil && orderID != "" && r.r.OrderID != orderID {
			return nil
		}
		return r
	}
	if orderID != "" {
		return m.receiptOrders[orderID]
	}
	return nil
}

// LookupCashReceipt reads a cash receipt by id or order id.
func (s *Sandbox) LookupCashReceipt(ctx context.Context, ch providers.Channel, req providers.LookupCashReceiptRequest) (*providers.CashReceipt, error) {
	const op = "LookupCashReceipt"
	m, now, unlock, err := s.begin(ctx, ch, op)
	if err != nil {
		return nil, err
	}
	defer unlock()

	if req.ReceiptID == "" && req.OrderID == "" {
		return nil, invalid(op, "ID_REQUIRED", "a receipt id or an order id is required")
	}
	r := m.findReceipt(req.ReceiptID, req.OrderID)
	if r == nil {
		return nil, notFound(op, "CASH_RECEIPT_NOT_FOUND", "no cash receipt %q / order %q", req.ReceiptID, req.OrderID)
	}
	s.settle(r, now)
	c := cloneReceipt(r.r)
	return &c, nil
}

// CancelCashReceipt cancels all or part of an issued receipt, with the same
// tax split rules as a payment cancel. A receipt still REQUESTED can only be
// withdrawn whole; a FAILED one cannot be cancelled.
func (s *Sandbox) CancelCashReceipt(ctx context.Context, ch providers.Channel, req providers.CancelCashReceiptRequest) (*providers.CashReceipt, error) {
	const op = "CancelCashReceipt"
	m, now, unlock, err := s.begin(ctx, ch, op)
	if err != nil {
		return nil, err
	}
	defer unlock()

	fp := s.digest(op, req.ReceiptID, req.OrderID, req.Amount, optKey(req.TaxFree), optKey(req.VAT))
	if key := req.IdempotencyKey; key != "" {
		if out := m.receiptCancels[key]; out != nil {
			if out.fingerprint != fp {
				return nil, invalid(op, "IDEMPOTENCY_KEY_REUSED", "idempotency key %q was used for a different cancel", key)
			}
			if out.err != nil {
				return nil, copyErr(out.err, op)
			}
			c := cloneReceipt(*out.r)
			return &c, nil
		}
	}
	r, cerr := s.cancelReceipt(m, now, op, req)
	if req.IdempotencyKey != "" {
		m.receiptCancels[req.IdempotencyKey] = &receiptCancelOutcome{fingerprint: fp, r: r, err: cerr}
	}
	if cerr != nil {
		return nil, copyErr(cerr, op)
	}
	c := cloneReceipt(*r)
	return &c, nil
}

func (s *Sandbox) cancelReceipt(m *merchant, now time.Time, op string, req providers.CancelCashReceiptRequest) (*providers.CashReceipt, *providers.Error) {
	if req.ReceiptID == "" && req.OrderID == "" {
		return nil, invalid(op, "ID_REQUIRED", "a receipt id or an order id is required")
	}
	r := m.findReceipt(req.ReceiptID, req.OrderID)
	if r == nil {
		return nil, notFound(op, "CASH_RECEIPT_NOT_FOUND", "no cash receipt %q / order %q", req.ReceiptID, req.OrderID)
	}
	s.settle(r, now)
	a := &r.r.Amounts
	switch r.r.Status {
	case providers.CashReceiptIssued, providers.CashReceiptPartialCancelled:
	case providers.CashReceiptRequested:
		if req.Amount != 0 && req.Amount != a.Total {
			return nil, invalid(op, "CASH_RECEIPT_NOT_ISSUED", "a receipt not issued yet can only be withdrawn whole")
		}
		a.Cancelled, a.CancelledTaxFree, a.CancelledVAT = a.Total, a.TaxFree, a.VAT
		r.r.Status = providers.CashReceiptCancelled
		r.r.CancelledAt = now
		c := cloneReceipt(r.r)
		return &c, nil
	case providers.CashReceiptCancelled:
		return nil, alreadyDone(op, "CASH_RECEIPT_ALREADY_CANCELLED", "the receipt is already cancelled")
	default:
		return nil, invalid(op, "CASH_RECEIPT_NOT_ISSUED", "a %s receipt cannot be cancelled", r.r.Status)
	}
	sp, err := planCancel(op, *a, req.Amount, req.TaxFree, req.VAT, nil)
	if err != nil {
		return nil, err
	}
	sp.book(a)
	r.r.CancelledAt = now
	r.r.Status = providers.CashReceiptPartialCancelled
	if a.Cancellable() == 0 {
		r.r.Status = providers.CashReceiptCancelled
	}
	c := cloneReceipt(r.r)
	return &c, nil
}

func cloneReceipt(r providers.CashReceipt) providers.CashReceipt {
	if r.Failure != nil {
		f := *r.Failure
		r.Failure = &f
	}
	return r
}
