package sandbox

import (
	"context"
	"time"

	"github.com/paymux/paymux/providers"
)

// billingKey is an issued billing key.
type billingKey struct {
	k    providers.BillingKey
	card cardProfile
}

// billingOutcome is the stored answer of an IssueBillingKey call.
type billingOutcome struct {
	fingerprint string
	key         *providers.BillingKey
	err         *providers.Error
}

// IssueBillingKey stores a card from card data (owner id and password
// digits required) or from a billing-key window's result. CardLostOrStolen
// is declined; every other test card gets a key (CardBillingDeclines then
// declines its charges). The idempotency key, or else the order id, makes a
// retry return the first answer.
func (s *Sandbox) IssueBillingKey(ctx context.Context, ch providers.Channel, req providers.IssueBillingKeyRequest) (*providers.BillingKey, error) {
	const op = "IssueBillingKey"
	m, now, unlock, err := s.begin(ctx, ch, op)
	if err != nil {
		return nil, err
	}
	defer unlock()

	var source string
	switch {
	case req.Card != nil && req.Window != nil:
		return nil, invalid(op, "CARD_OR_WINDOW", "give card data or a window result, not both")
	case req.Card != nil:
		source = s.digest("card", req.Card.Number.Reveal(), req.Card.ExpiryYear, req.Card.ExpiryMonth)
	case req.Window != nil:
		source = s.digest("window", req.Window[WindowSessionID], req.Window[WindowAuthToken])
	default:
		return nil, invalid(op, "CARD_OR_WINDOW", "card data or a window result is required")
	}
	fp := s.digest(op, req.CustomerKey, req.OrderID, source)
	key := req.IdempotencyKey
	if key == "" && req.OrderID != "" {
		key = "order:" + req.OrderID
	}
	if key != "" {
		if out := m.billingIssues[key]; out != nil {
			switch {
			case out.fingerprint != fp && req.IdempotencyKey != "":
				return nil, invalid(op, "IDEMPOTENCY_KEY_REUSED", "idempotency key %q was used for a different request", req.IdempotencyKey)
			case out.fingerprint != fp:
				return nil, alreadyDone(op, "DUPLICATED_ORDER_ID", "order %q was already used", req.OrderID)
			case out.err != nil:
				return nil, copyErr(out.err, op)
			}
			k := *out.key
			return &k, nil
		}
	}
	k, ierr := s.issueBillingKey(m, now, op, req)
	if key != "" && (ierr == nil || ierr.Kind == providers.KindDeclined) {
		m.billingIssues[key] = &billingOutcome{fingerprint: fp, key: k, err: ierr}
	}
	if ierr != nil {
		return nil, copyErr(ierr, op)
	}
	c := *k
	return &c, nil
}

func (s *Sandbox) issueBillingKey(m *merchant, now time.Time, op string, req providers.IssueBillingKeyRequest) (*providers.BillingKey, *providers.Error) {
	var card providers.CardData
	customer := req.CustomerKey
	if req.Card != nil {
		card = *req.Card
	} else {
		sess, err := m.authenticatedSession(op, req.Window, providers.WindowBillingKey, now)
		if err != nil {
			return nil, err
		}
		if customer != "" && customer != sess.customerKey {
			return nil, invalid(op, "CUSTOMER_KEY_MISMATCH", "the window was opened for another customer key")
		}
		customer = sess.customerKey
		card = sess.card
		delete(m.sessions, sess.id) // one key per window
	}
	profile, err := checkCard(op, card, now, req.Card != nil)
	if err != nil {
		return nil, err
	}
	if profile.behaviour == declineLost {
		return nil, declined(op, providers.DeclineLostOrStolen, "SB_43", "분실/도난 카드 (lost or stolen card)")
	}
	bk := &billingKey{
		k: providers.BillingKey{
			Key:         s.next("bk"),
			CustomerKey: customer,
			Card:        profile.info,
			IssuedAt:    now,
		},
		card: profile,
	}
	m.billingKeys[bk.k.Key] = bk
	k := bk.k
	return &k, nil
}

// ChargeBillingKey charges a billing key now. The order id (with the
// idempotency key) guards against a second charge, as for every charge.
func (s *Sandbox) ChargeBillingKey(ctx context.Context, ch providers.Channel, req providers.ChargeBillingKeyRequest) (*providers.Payment, error) {
	const op = "ChargeBillingKey"
	m, now, unlock, err := s.begin(ctx, ch, op)
	if err != nil {
		return nil, err
	}
	defer unlock()

	if req.OrderID == "" {
		return nil, invalid(op, "ORDER_ID_REQUIRED", "an order id is required")
	}
	fp := s.digest(op, amountKey(req.Amount), req.InstallmentMonths, req.BillingKey, req.CustomerKey)
	if p, ok, err := m.replay(op, req.OrderID, fp, req.IdempotencyKey); ok {
		return p, err
	}
	bk := m.billingKeys[req.BillingKey]
	switch {
	case bk == nil:
		return nil, notFound(op, "BILLING_KEY_NOT_FOUND", "no billing key %q", req.BillingKey)
	case !bk.k.DeletedAt.IsZero():
		return nil, notFound(op, "BILLING_KEY_DELETED", "billing key %q was deleted", req.BillingKey)
	case req.CustomerKey != "" && bk.k.CustomerKey != "" && req.CustomerKey != bk.k.CustomerKey:
		return nil, invalid(op, "CUSTOMER_KEY_MISMATCH", "the billing key belongs to another customer key")
	}
	return s.charge(m, now, chargeSpec{
		op: op, orderID: req.OrderID, orderName: req.OrderName, amount: req.Amount, card: bk.card,
		months: req.InstallmentMonths, billingKey: bk.k.Key, idemKey: req.IdempotencyKey, fingerprint: fp,
	})
}

// DeleteBillingKey deletes a billing key; charging it afterwards answers
// NotFound, deleting it again AlreadyDone.
func (s *Sandbox) DeleteBillingKey(ctx context.Context, ch providers.Channel, req providers.DeleteBillingKeyRequest) (*providers.BillingKey, error) {
	const op = "DeleteBillingKey"
	m, now, unlock, err := s.begin(ctx, ch, op)
	if err != nil {
		return nil, err
	}
	defer unlock()

	bk := m.billingKeys[req.BillingKey]
	switch {
	case bk == nil:
		return nil, notFound(op, "BILLING_KEY_NOT_FOUND", "no billing key %q", req.BillingKey)
	case req.CustomerKey != "" && bk.k.CustomerKey != "" && req.CustomerKey != bk.k.CustomerKey:
		return nil, invalid(op, "CUSTOMER_KEY_MISMATCH", "the billing key belongs to another customer key")
	case !bk.k.DeletedAt.IsZero():
		return nil, alreadyDone(op, "BILLING_KEY_ALREADY_DELETED", "billing key %q was already deleted", req.BillingKey)
	}
	bk.k.DeletedAt = now
	k := bk.k
	return &k, nil
}
