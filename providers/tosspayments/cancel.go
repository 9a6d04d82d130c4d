package tosspayments

import (
	"cmp"
	"context"
	"net/http"
	"strconv"

	"github.com/paymux/paymux/providers"
)

// DefaultCancelReason is the cancelReason (required by Toss) of a request
// that gives none.
const DefaultCancelReason = "결제 취소"

type refundAccountBody struct {
	Bank          string `json:"bank"`
	AccountNumber string `json:"accountNumber"`
	HolderName    string `json:"holderName"`
}

type cancelBody struct {
	CancelReason         string             `json:"cancelReason"`
	CancelAmount         *int64             `json:"cancelAmount,omitempty"`
	TaxFreeAmount        int64              `json:"taxFreeAmount,omitempty"`
	RefundReceiveAccount *refundAccountBody `json:"refundReceiveAccount,omitempty"`
}

// Cancel cancels all (Amount 0: cancelAmount omitted) or part of a payment:
// POST /v1/payments/{paymentKey}/cancel, with the refund account for a
// deposited virtual account. Without a paymentKey the payment is first
// looked up by order id; without TaxFree it is looked up too, to send the
// tax-free part the cancel must take (the least that fits). The new entry
// of cancels[] is the Cancellation.
//
// Toss takes no VAT on a cancel (req.VAT is ignored, CapVATCancel is off)
// and has no balance guard (ExpectedCancellable is paymux's to check; it
// only enters the derived Idempotency-Key).
func (a *Adapter) Cancel(ctx context.Context, ch providers.Channel, req providers.CancelRequest) (*providers.CancelResult, error) {
	const op = "Cancel"
	if err := usable(op, ch); err != nil {
		return nil, err
	}
	if req.Amount < 0 || (req.TaxFree != nil && (*req.TaxFree < 0 || (req.Amount > 0 && *req.TaxFree > req.Amount))) {
		return nil, invalid(op, "INVALID_CANCEL_AMOUNT", "the cancel amount and its tax-free part must be non-negative, the part within the amount")
	}
	paymentKey := req.PGTransactionID
	var before *paymentJSON
	if paymentKey == "" || req.TaxFree == nil {
		var err error
		if before, err = a.get(ctx, ch, op, paymentKey, req.OrderID); err != nil {
			return nil, err
		}
		paymentKey = before.PaymentKey
	}
	body := cancelBody{CancelReason: cmp.Or(req.Reason, DefaultCancelReason)}
	amount := req.Amount
	if amount > 0 {
		body.CancelAmount = &amount
	}
	switch {
	case req.TaxFree != nil:
		body.TaxFreeAmount = *req.TaxFree
	case before != nil:
		// The least tax-free part that fits: what the taxable rest cannot take.
		take := amount
		if take == 0 {
			take = before.BalanceAmount
		}
		taxableLeft := before.BalanceAmount - before.TaxFreeAmount
		body.TaxFreeAmount = min(max(take-taxableLeft, 0), before.TaxFreeAmount)
	}
	if r := req.RefundAccount; r != nil {
		if !r.Bank.Valid() || r.Number.IsZero() || r.Holder == "" {
			return nil, invalid(op, "INVALID_REFUND_ACCOUNT", "a refund account needs a known bank, an account number and its holder")
		}
		body.RefundReceiveAccount = &refundAccountBody{Bank: tossBankCode(r.Bank), AccountNumber: onlyDigits(r.Number.Reveal()),
			HolderName: r.Holder}
	}
	var key string
	if req.ExpectedCancellable != nil {
		key = idempotencyKey(req.IdempotencyKey, "cancel", paymentKey, strconv.FormatInt(amount, 10),
			strconv.FormatInt(body.TaxFreeAmount, 10), strconv.FormatInt(*req.ExpectedCancellable, 10))
	} else {
		key = idempotencyKey(req.IdempotencyKey)
	}
	var p paymentJSON
	if err := a.call(ctx, ch, op, http.MethodPost, "/v1/payments/"+pathEscape(paymentKey)+"/cancel", key, body, &p); err != nil {
		return nil, err
	}
	pay, err := answer(op, &p)
	if err != nil {
		return nil, err
	}
	c, ok := newCancellation(&p, pay)
	if !ok {
		return nil, &providers.Error{Kind: providers.KindUnknown, Provider: Name, Op: op, Code: CodeUnexpectedAnswer,
			Message: "the cancel's answer has no cancels[] entry"}
	}
	return &providers.CancelResult{Cancellation: c, Payment: pay}, nil
}

// newCancellation finds the cancel a cancel call made: the cancels[] entry
// of lastTransactionKey, else the last one. An unpaid virtual account closed
// by the cancel has no Cancellations in paymux's terms; its entry is
// still returned.
func newCancellation(p *paymentJSON, pay *providers.Payment) (providers.Cancellation, bool) {
	if len(p.Cancels) == 0 {
		return providers.Cancellation{}, false
	}
	raw := p.Cancels[len(p.Cancels)-1]
	if last := str(p.LastTransactionKey); last != "" {
		for _, c := range p.Cancels {
			if c.TransactionKey == last {
				raw = c
			}
		}
	}
	for _, c := range pay.Cancellations {
		if c.ID == raw.TransactionKey {
			return c, true
		}
	}
	return providers.Cancellation{ID: raw.TransactionKey, Amount: raw.CancelAmount, TaxFree: raw.TaxFreeAmount,
		Reason: raw.CancelReason, CancelledAt: parseTime(raw.CanceledAt)}, true
}

// CloseVirtualAccount closes an unpaid virtual account by cancelling its
// WAITING_FOR_DEPOSIT payment (unconfirmed by Toss's pages; Toss's answer
// is CANCELED). It looks the payment up first so that a deposited account
// is never refunded by mistake: a deposit is InvalidRequest
// ALREADY_DEPOSITED (refund it with Cancel), a closed or expired account
// AlreadyDone.
func (a *Adapter) CloseVirtualAccount(ctx context.Context, ch providers.Channel, req providers.CloseVirtualAccountRequest) (*providers.Payment, error) {
	const op = "CloseVirtualAccount"
	if err := usable(op, ch); err != nil {
		return nil, err
	}
	before, err := a.get(ctx, ch, op, req.PGTransactionID, req.OrderID)
	if err != nil {
		return nil, err
	}
	if before.VirtualAccount == nil {
		return nil, invalid(op, CodeNotVirtualAccount, "the payment is not a virtual account")
	}
	switch statusOf(before) {
	case providers.StatusVirtualAccountIssued:
	case providers.StatusCancelled, providers.StatusExpired:
		return nil, &providers.Error{Kind: providers.KindAlreadyDone, Provider: Name, Op: op, Code: before.Status,
			Message: "the account is already closed or expired"}
	default:
		return nil, invalid(op, CodeAlreadyDeposited, "the account was deposited: refund it with Cancel")
	}
	body := cancelBody{CancelReason: cmp.Or(req.Reason, DefaultCancelReason)}
	var p paymentJSON
	key := idempotencyKey("", "close", before.PaymentKey)
	if err := a.call(ctx, ch, op, http.MethodPost, "/v1/payments/"+pathEscape(before.PaymentKey)+"/cancel", key, body, &p); err != nil {
		return nil, err
	}
	return answer(op, &p)
}
