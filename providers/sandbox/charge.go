package sandbox

import (
	"context"
	"fmt"
	"time"

	"github.com/paymux/paymux/providers"
)

// chargeSpec is one card charge, whatever started it.
type chargeSpec struct {
	op          string
	orderID     string
	orderName   string
	amount      providers.Amount
	card        cardProfile
	months      int
	billingKey  string
	idemKey     string
	fingerprint string
	// refused is the card company's answer found before the charge (bad
	// check digit, expired card), recorded like any decline.
	refused *providers.Error
}

// cardCharge splits checkCard's answer: a malformed card is refused
// outright, a declined one is charged (and recorded) as declined.
func cardCharge(card cardProfile, err *providers.Error) (cardProfile, *providers.Error, error) {
	switch {
	case err == nil:
		return card, nil, nil
	case err.Kind == providers.KindDeclined:
		return card, err, nil
	}
	return card, nil, err
}

// replay answers a request for an order id that already has a payment: the
// stored answer when the request is the same (same fingerprint and
// idempotency key), an error otherwise. ok is false when the order id is
// new. Called locked.
func (m *merchant) replay(op, orderID, fingerprint, idemKey string) (p *providers.Payment, ok bool, err error) {
	prev := m.orders[orderID]
	if prev == nil {
		return nil, false, nil
	}
	switch {
	case prev.op == op && prev.fingerprint == fingerprint && prev.idemKey == idemKey:
		if prev.failure != nil {
			return nil, true, copyErr(prev.failure, op)
		}
		return prev.p.Clone(), true, nil
	case idemKey != "" && idemKey == prev.idemKey:
		return nil, true, invalid(op, "IDEMPOTENCY_KEY_REUSED", "idempotency key %q was used for a different request", idemKey)
	default:
		return nil, true, alreadyDone(op, "DUPLICATED_ORDER_ID", "order %q was already used (%s, %s)", orderID, prev.p.PGTransactionID, prev.p.Status)
	}
}

// claimKey ties an idempotency key to an order id; a key already tied to
// another order is refused. Called locked.
func (m *merchant) claimKey(op, key, orderID string) error {
	if key == "" {
		return nil
	}
	if prev, ok := m.chargeKeys[key]; ok && prev != orderID {
		return invalid(op, "IDEMPOTENCY_KEY_REUSED", "idempotency key %q was used for order %q", key, prev)
	}
	m.chargeKeys[key] = orderID
	return nil
}

// charge runs a card charge whose request passed its checks and whose order
// id is new. Called locked.
//
// Outcomes: approved → a PAID payment; declined → a FAILED payment holding
// the error, replayed on retries (the order id is used up, as at a PG);
// CardTimeoutCharged → PAID, but the caller gets a Timeout;
// CardTimeoutNotCharged → nothing recorded, a Timeout.
func (s *Sandbox) charge(m *merchant, now time.Time, c chargeSpec) (*providers.Payment, error) {
	amounts, err := newAmounts(c.op, c.amount)
	if err != nil {
		return nil, err
	}
	if err := m.claimKey(c.op, c.idemKey, c.orderID); err != nil {
		return nil, err
	}
	if c.card.behaviour == timeoutNotCharged {
		return nil, timedOut(c.op)
	}
	tid := s.next("pay")
	rec := &payment{
		op:          c.op,
		fingerprint: c.fingerprint,
		idemKey:     c.idemKey,
		p: providers.Payment{
			PGTransactionID: tid,
			OrderID:         c.orderID,
			OrderName:       c.orderName,
			Method:          providers.MethodCard,
			Currency:        "KRW",
			Amounts:         amounts,
			RequestedAt:     now,
			BillingKey:      c.billingKey,
		},
	}
	card := c.card.info
	card.InstallmentMonths = c.months
	rec.p.Card = &card
	m.payments[tid] = rec
	m.orders[c.orderID] = rec

	e := c.refused
	if e == nil {
		e = decide(c.op, c.card.behaviour, amounts.Total, c.months, c.billingKey != "")
	}
	if e != nil {
		rec.failure = e
		rec.p.Status = providers.StatusFailed
		rec.p.FailedAt = now
		rec.p.Failure = e
		return nil, copyErr(e, c.op)
	}
	rec.p.Card.ApprovalNumber = fmt.Sprintf("%08d", s.nextNumber()%100_000_000)
	rec.p.Status = providers.StatusPaid
	rec.p.ApprovedAt = now
	rec.p.Amounts.Paid = amounts.Total
	if c.card.behaviour == timeoutCharged {
		return nil, timedOut(c.op)
	}
	return rec.p.Clone(), nil
}

// Approve charges the card a window authenticated, for exactly the amount
// the window was opened with (else AMOUNT_MISMATCH, like NicePay's A123).
func (s *Sandbox) Approve(ctx context.Context, ch providers.Channel, req providers.ApproveRequest) (*providers.Payment, error) {
	const op = "Approve"
	m, now, unlock, err := s.begin(ctx, ch, op)
	if err != nil {
		return nil, err
	}
	defer unlock()

	if req.OrderID == "" {
		return nil, invalid(op, "ORDER_ID_REQUIRED", "an order id is required")
	}
	fp := s.digest(op, amountKey(req.Amount), req.Window[WindowSessionID], req.Window[WindowAuthToken])
	if p, ok, err := m.replay(op, req.OrderID, fp, req.IdempotencyKey); ok {
		return p, err
	}
	sess, serr := m.authenticatedSession(op, req.Window, providers.WindowPayment, now)
	if serr != nil {
		return nil, serr
	}
	switch {
	case sess.orderID != req.OrderID:
		return nil, invalid(op, "ORDER_ID_MISMATCH", "the window was opened for order %q", sess.orderID)
	case req.Amount.Total != sess.amount.Total || req.Amount.TaxFree != sess.amount.TaxFree:
		return nil, invalid(op, "AMOUNT_MISMATCH", "거래금액 불일치: the window authenticated %d (tax-free %d), approve asks %d (tax-free %d)",
			sess.amount.Total, sess.amount.TaxFree, req.Amount.Total, req.Amount.TaxFree)
	}
	card, refused, err := cardCharge(checkCard(op, sess.card, now, false))
	if err != nil {
		return nil, err
	}
	return s.charge(m, now, chargeSpec{
		op: op, orderID: req.OrderID, amount: req.Amount, card: card, months: sess.months,
		idemKey: req.IdempotencyKey, fingerprint: fp, refused: refused,
	})
}

// ChargeKeyIn charges card data at once.
func (s *Sandbox) ChargeKeyIn(ctx context.Context, ch providers.Channel, req providers.KeyInRequest) (*providers.Payment, error) {
	const op = "ChargeKeyIn"
	m, now, unlock, err := s.begin(ctx, ch, op)
	if err != nil {
		return nil, err
	}
	defer unlock()

	if req.OrderID == "" {
		return nil, invalid(op, "ORDER_ID_REQUIRED", "an order id is required")
	}
	fp := s.digest(op, amountKey(req.Amount), req.InstallmentMonths,
		s.digest("card", req.Card.Number.Reveal(), req.Card.ExpiryYear, req.Card.ExpiryMonth))
	if p, ok, err := m.replay(op, req.OrderID, fp, req.IdempotencyKey); ok {
		return p, err
	}
	card, refused, err := cardCharge(checkCard(op, req.Card, now, false))
	if err != nil {
		return nil, err
	}
	return s.charge(m, now, chargeSpec{
		op: op, orderID: req.OrderID, orderName: req.OrderName, amount: req.Amount, card: card,
		months: req.InstallmentMonths, idemKey: req.IdempotencyKey, fingerprint: fp, refused: refused,
	})
}

// Lookup reads a payment by transaction id or order id.
func (s *Sandbox) Lookup(ctx context.Context, ch providers.Channel, req providers.LookupRequest) (*providers.Payment, error) {
	const op = "Lookup"
	m, now, unlock, err := s.begin(ctx, ch, op)
	if err != nil {
		return nil, err
	}
	defer unlock()

	if req.PGTransactionID == "" && req.OrderID == "" {
		return nil, invalid(op, "ID_REQUIRED", "a transaction id or an order id is required")
	}
	p := m.find(req.PGTransactionID, req.OrderID)
	if p == nil {
		return nil, notFound(op, "PAYMENT_NOT_FOUND", "no payment for transaction %q / order %q", req.PGTransactionID, req.OrderID)
	}
	s.refresh(p, now)
	return p.p.Clone(), nil
}

// NetCancel voids a card approval within NetCancelWindow of it. After that
// it answers InvalidRequest NET_CANCEL_EXPIRED (NicePay 2020 "망상 취소
// 허용시간 초과"): use Cancel. NotFound: nothing was charged (or the charge
// was declined). AlreadyDone: already cancelled.
func (s *Sandbox) NetCancel(ctx context.Context, ch providers.Channel, req providers.NetCancelRequest) (*providers.Payment, error) {
	const op = "NetCancel"
	m, now, unlock, err := s.begin(ctx, ch, op)
	if err != nil {
		return nil, err
	}
	defer unlock()

	if req.PGTransactionID == "" && req.OrderID == "" {
		return nil, invalid(op, "ID_REQUIRED", "a transaction id or an order id is required")
	}
	p := m.find(req.PGTransactionID, req.OrderID)
	if p == nil || p.p.Status == providers.StatusFailed {
		return nil, notFound(op, "NO_APPROVAL", "no approval to void for transaction %q / order %q", req.PGTransactionID, req.OrderID)
	}
	s.refresh(p, now)
	switch {
	case p.p.Method != providers.MethodCard:
		return nil, invalid(op, "NET_CANCEL_NOT_APPLICABLE", "net cancel voids card approvals only")
	case p.p.Status == providers.StatusCancelled:
		return nil, alreadyDone(op, "PAYMENT_ALREADY_CANCELLED", "the payment is already cancelled")
	case p.p.Status != providers.StatusPaid:
		return nil, invalid(op, "NET_CANCEL_NOT_APPLICABLE", "a %s payment cannot be net-cancelled; use Cancel", p.p.Status)
	case now.Sub(p.p.ApprovedAt) > s.opts.NetCancelWindow:
		return nil, invalid(op, "NET_CANCEL_EXPIRED", "망상 취소 허용시간 초과: net cancel works for %s after approval; use Cancel", s.opts.NetCancelWindow)
	}
	a := &p.p.Amounts
	reason := req.Reason
	if reason == "" {
		reason = "net cancel"
	}
	p.p.Cancellations = append(p.p.Cancellations, providers.Cancellation{
		ID:          s.next("can"),
		Amount:      a.Cancellable(),
		TaxFree:     a.TaxFree - a.CancelledTaxFree,
		VAT:         a.VAT - a.CancelledVAT,
		Reason:      reason,
		CancelledAt: now,
		NetCancel:   true,
	})
	a.Cancelled, a.CancelledTaxFree, a.CancelledVAT = a.Paid, a.TaxFree, a.VAT
	p.p.Status = providers.StatusCancelled
	p.p.CancelledAt = now
	return p.p.Clone(), nil
}
