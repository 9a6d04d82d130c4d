package sandbox

import (
	"context"
	"time"

	"github.com/paymux/paymux/providers"
)

// cancelOutcome is the stored answer of a cancel with an idempotency key.
type cancelOutcome struct {
	fingerprint string
	result      *providers.CancelResult
	err         *providers.Error
}

// split is a planned cancel.
type split struct {
	amount, taxFree, vat int64
}

// planCancel works out a cancel of a (amounts with Paid set) the way the
// sandbox PG books it. Amount 0 means all that is left. An unspecified
// tax-free part is 0, or the least that fits when less taxable amount is
// left than asked; an unspecified VAT part is the cancel's taxable part /
// 11, moved into the range that keeps the remainder consistent, which on
// the last cancel is exactly the VAT left. Over-cancel, and any part over
// what is left of it, is refused. The reason codes are PortOne V2's.
func planCancel(op string, a providers.Amounts, amount int64, taxFree, vat, guard *int64) (split, *providers.Error) {
	left := a.Cancellable()
	leftTaxFree := a.TaxFree - a.CancelledTaxFree
	leftVAT := a.VAT - a.CancelledVAT
	leftTaxable := left - leftTaxFree   // VAT included
	leftSupply := leftTaxable - leftVAT // taxable without VAT

	switch {
	case amount < 0:
		return split{}, invalid(op, "INVALID_CANCEL_AMOUNT", "cancel amount %d is negative", amount)
	case guard != nil && *guard != left:
		return split{}, invalid(op, "CANCELLABLE_AMOUNT_CONSISTENCY_BROKEN", "the cancellable amount is %d, the request expected %d", left, *guard)
	case left == 0:
		return split{}, alreadyDone(op, "PAYMENT_ALREADY_CANCELLED", "nothing is left to cancel")
	case amount > left:
		return split{}, invalid(op, "CANCEL_AMOUNT_EXCEEDS_CANCELLABLE_AMOUNT", "cancel amount %d exceeds the cancellable amount %d", amount, left)
	}
	if amount == 0 {
		amount = left
	}

	tf := max(0, amount-leftTaxable)
	if taxFree != nil {
		tf = *taxFree
		switch {
		case tf < 0 || tf > amount:
			return split{}, invalid(op, "INVALID_CANCEL_TAX_FREE_AMOUNT", "tax-free part %d is not within [0, %d]", tf, amount)
		case tf > leftTaxFree:
			return split{}, invalid(op, "CANCEL_TAX_FREE_AMOUNT_EXCEEDS_CANCELLABLE_TAX_FREE_AMOUNT",
				"tax-free part %d exceeds the cancellable tax-free amount %d", tf, leftTaxFree)
		}
	}
	taxable := amount - tf
	if taxable > leftTaxable {
		return split{}, invalid(op, "CANCEL_TAX_AMOUNT_EXCEEDS_CANCELLABLE_TAX_AMOUNT",
			"taxable part %d exceeds the cancellable taxable amount %d", taxable, leftTaxable)
	}

	// VAT must keep both the cancel and the remainder splittable: at most
	// the VAT left and the taxable part, at least what leaves no more
	// supply than is left.
	lo := max(0, taxable-leftSupply)
	hi := min(taxable, leftVAT)
	v := min(max(vatOf(taxable), lo), hi)
	if vat != nil {
		v = *vat
		switch {
		case v < 0 || v > taxable:
			return split{}, invalid(op, "INVALID_CANCEL_VAT_AMOUNT", "VAT part %d is not within [0, %d]", v, taxable)
		case v > leftVAT:
			return split{}, invalid(op, "CANCEL_VAT_AMOUNT_EXCEEDS_CANCELLABLE_VAT_AMOUNT", "VAT part %d exceeds the cancellable VAT %d", v, leftVAT)
		case v < lo:
			return split{}, invalid(op, "CANCEL_SUPPLY_AMOUNT_EXCEEDS_CANCELLABLE_SUPPLY_AMOUNT",
				"VAT part %d leaves a supply part %d over the cancellable supply %d", v, taxable-v, leftSupply)
		}
	}
	return split{amount: amount, taxFree: tf, vat: v}, nil
}

// book applies a planned cancel to a.
func (sp split) book(a *providers.Amounts) {
	a.Cancelled += sp.amount
	a.CancelledTaxFree += sp.taxFree
	a.CancelledVAT += sp.vat
}

// Cancel cancels all or part of a paid payment, or refunds a deposited
// virtual account to the refund account (then Cancellation.Refund is
// PENDING until RefundDelay has passed). With an idempotency key a retry
// returns the first answer, errors included.
func (s *Sandbox) Cancel(ctx context.Context, ch providers.Channel, req providers.CancelRequest) (*providers.CancelResult, error) {
	const op = "Cancel"
	m, now, unlock, err := s.begin(ctx, ch, op)
	if err != nil {
		return nil, err
	}
	defer unlock()

	var refund string
	if ra := req.RefundAccount; ra != nil {
		refund = s.digest(ra.Bank, ra.Number.Reveal(), ra.Holder)
	}
	fp := s.digest(op, req.PGTransactionID, req.OrderID, req.Amount, optKey(req.TaxFree), optKey(req.VAT),
		optKey(req.ExpectedCancellable), refund)
	if key := req.IdempotencyKey; key != "" {
		if out := m.cancels[key]; out != nil {
			if out.fingerprint != fp {
				return nil, invalid(op, "IDEMPOTENCY_KEY_REUSED", "idempotency key %q was used for a different cancel", key)
			}
			if out.err != nil {
				return nil, copyErr(out.err, op)
			}
			return cloneCancel(out.result), nil
		}
	}
	res, cerr := s.cancel(m, now, op, req)
	if req.IdempotencyKey != "" {
		m.cancels[req.IdempotencyKey] = &cancelOutcome{fingerprint: fp, result: res, err: cerr}
	}
	if cerr != nil {
		return nil, copyErr(cerr, op)
	}
	return cloneCancel(res), nil
}

func (s *Sandbox) cancel(m *merchant, now time.Time, op string, req providers.CancelRequest) (*providers.CancelResult, *providers.Error) {
	if req.PGTransactionID == "" && req.OrderID == "" {
		return nil, invalid(op, "ID_REQUIRED", "a transaction id or an order id is required")
	}
	p := m.find(req.PGTransactionID, req.OrderID)
	if p == nil {
		return nil, notFound(op, "PAYMENT_NOT_FOUND", "no payment for transaction %q / order %q", req.PGTransactionID, req.OrderID)
	}
	s.refresh(p, now)
	switch p.p.Status {
	case providers.StatusPaid, providers.StatusPartialCancelled:
	case providers.StatusCancelled:
		return nil, alreadyDone(op, "PAYMENT_ALREADY_CANCELLED", "the payment is already cancelled")
	case providers.StatusVirtualAccountIssued:
		return nil, invalid(op, "PAYMENT_NOT_PAID", "nothing was deposited yet; close the account with CloseVirtualAccount")
	default:
		return nil, invalid(op, "PAYMENT_NOT_PAID", "a %s payment cannot be cancelled", p.p.Status)
	}
	var refund *providers.Refund
	if p.p.Method == providers.MethodVirtualAccount {
		ra := req.RefundAccount
		switch {
		case ra == nil:
			return nil, invalid(op, "REFUND_ACCOUNT_REQUIRED", "a deposited virtual account is refunded to a refund account")
		case !ra.Bank.Valid():
			return nil, invalid(op, "INVALID_REFUND_BANK", "unknown refund bank %q", ra.Bank)
		case !allDigits(ra.Number.Reveal()) || len(ra.Number.Reveal()) < 6 || len(ra.Number.Reveal()) > 20:
			return nil, invalid(op, "INVALID_REFUND_ACCOUNT_NUMBER", "a refund account number has 6 to 20 digits")
		case ra.Holder == "":
			return nil, invalid(op, "REFUND_HOLDER_REQUIRED", "the refund account's holder is required")
		}
		refund = &providers.Refund{Account: *ra, Status: providers.RefundPending}
	}
	sp, err := planCancel(op, p.p.Amounts, req.Amount, req.TaxFree, req.VAT, req.ExpectedCancellable)
	if err != nil {
		return nil, err
	}
	c := providers.Cancellation{
		ID:          s.next("can"),
		Amount:      sp.amount,
		TaxFree:     sp.taxFree,
		VAT:         sp.vat,
		Reason:      req.Reason,
		CancelledAt: now,
		Refund:      refund,
	}
	sp.book(&p.p.Amounts)
	p.p.Cancellations = append(p.p.Cancellations, c)
	p.p.CancelledAt = now
	p.p.Status = providers.StatusPartialCancelled
	if p.p.Amounts.Cancellable() == 0 {
		p.p.Status = providers.StatusCancelled
	}
	return &providers.CancelResult{Cancellation: c, Payment: p.p.Clone()}, nil
}

func cloneCancel(r *providers.CancelResult) *providers.CancelResult {
	c := &providers.CancelResult{Cancellation: r.Cancellation, Payment: r.Payment.Clone()}
	if r.Cancellation.Refund != nil {
		rf := *r.Cancellation.Refund
		c.Cancellation.Refund = &rf
	}
	return c
}
