package sandbox

import (
	"context"
	"strconv"
	"time"

	"github.com/paymux/paymux/providers"
)

// Window result fields the sandbox's window sends to the return URL.
const (
	WindowSessionID   = "sessionId"
	WindowAuthToken   = "authToken"
	WindowOrderID     = "orderId"
	WindowAmount      = "amount"
	WindowCustomerKey = "customerKey"
)

// session is one opened window.
type session struct {
	id, token     string
	purpose       providers.WindowPurpose
	orderID       string
	orderName     string // shown in the checkout page (주문명)
	amount        providers.Amount
	customerKey   string
	buyerName     string // shown in the checkout page (구매자)
	returnURL     string
	expiresAt     time.Time
	authenticated bool
	card          providers.CardData
	months        int
}

// PrepareWindow opens a window session and answers its checkout URL.
func (s *Sandbox) PrepareWindow(ctx context.Context, ch providers.Channel, req providers.PrepareWindowRequest) (*providers.PrepareWindowResult, error) {
	const op = "PrepareWindow"
	m, now, unlock, err := s.begin(ctx, ch, op)
	if err != nil {
		return nil, err
	}
	defer unlock()

	purpose := req.Purpose
	if purpose == "" {
		purpose = providers.WindowPayment
	}
	if req.Method != "" && req.Method != providers.MethodCard {
		return nil, invalid(op, "UNSUPPORTED_METHOD", "the sandbox window takes cards only; issue virtual accounts with IssueVirtualAccount")
	}
	params := map[string]string{}
	switch purpose {
	case providers.WindowPayment:
		if req.OrderID == "" {
			return nil, invalid(op, "ORDER_ID_REQUIRED", "an order id is required")
		}
		if _, err := newAmounts(op, req.Amount); err != nil {
			return nil, err
		}
		params[WindowOrderID] = req.OrderID
		params[WindowAmount] = strconv.FormatInt(req.Amount.Total, 10)
	case providers.WindowBillingKey:
		if req.CustomerKey == "" {
			return nil, invalid(op, "CUSTOMER_KEY_REQUIRED", "a billing-key window needs a customer key")
		}
		params[WindowCustomerKey] = req.CustomerKey
	default:
		return nil, invalid(op, "INVALID_PURPOSE", "unknown window purpose %q", req.Purpose)
	}
	sess := &session{
		id:          s.next("win"),
		purpose:     purpose,
		orderID:     req.OrderID,
		orderName:   req.OrderName,
		amount:      req.Amount,
		customerKey: req.CustomerKey,
		buyerName:   req.Buyer.Name,
		returnURL:   req.ReturnURL,
		expiresAt:   now.Add(s.opts.WindowTTL),
	}
	sess.token = s.digest("token", ch.MerchantID, sess.id)
	m.sessions[sess.id] = sess
	s.windows[sess.id] = ch.MerchantID
	params[WindowSessionID] = sess.id
	return &providers.PrepareWindowResult{
		Params:      params,
		RedirectURL: s.opts.CheckoutURL + "/" + sess.id,
		ExpiresAt:   sess.expiresAt,
	}, nil
}

// methods are the pay methods the window offers: cards only, as
// PrepareWindow takes no other (a virtual account is issued from the
// server with IssueVirtualAccount; transfers, phone and easy pay are not
// modelled).
func (sess *session) methods() []providers.PayMethod {
	return []providers.PayMethod{providers.MethodCard}
}

// WindowAuth is what a buyer enters in the sandbox window.
type WindowAuth struct {
	Card              providers.CardData
	InstallmentMonths int
}

// AuthenticateWindow plays the buyer in the window: it checks the card's
// form and returns the window result the PG would send to the return URL,
// for Approve (payment window) or IssueBillingKey (billing-key window). The
// card's behaviour (decline, timeout) shows when it is charged, as at a PG
// with server approval.
func (s *Sandbox) AuthenticateWindow(ctx context.Context, ch providers.Channel, sessionID string, auth WindowAuth) (providers.WindowResult, error) {
	const op = "AuthenticateWindow"
	m, now, unlock, err := s.begin(ctx, ch, op)
	if err != nil {
		return nil, err
	}
	defer unlock()

	return authenticate(m, now, op, sessionID, auth)
}

// authenticate is AuthenticateWindow, locked.
func authenticate(m *merchant, now time.Time, op, sessionID string, auth WindowAuth) (providers.WindowResult, error) {
	sess := m.sessions[sessionID]
	switch {
	case sess == nil:
		return nil, notFound(op, "WINDOW_NOT_FOUND", "no window session %q", sessionID)
	case now.After(sess.expiresAt):
		return nil, invalid(op, "WINDOW_EXPIRED", "the window session expired at %s", sess.expiresAt.Format(time.RFC3339))
	case sess.authenticated:
		return nil, alreadyDone(op, "WINDOW_ALREADY_AUTHENTICATED", "the window session was already authenticated")
	}
	if _, err := checkCard(op, auth.Card, now, false); err != nil && err.Kind == providers.KindInvalidRequest {
		return nil, err
	}
	sess.authenticated = true
	sess.card = auth.Card
	sess.months = auth.InstallmentMonths
	res := providers.WindowResult{WindowSessionID: sess.id, WindowAuthToken: sess.token}
	if sess.purpose == providers.WindowPayment {
		res[WindowOrderID] = sess.orderID
		res[WindowAmount] = strconv.FormatInt(sess.amount.Total, 10)
	} else {
		res[WindowCustomerKey] = sess.customerKey
	}
	return res, nil
}

// authenticatedSession returns the session a window result names, checked
// for op and purpose. Called locked.
func (m *merchant) authenticatedSession(op string, w providers.WindowResult, purpose providers.WindowPurpose, now time.Time) (*session, *providers.Error) {
	sess := m.sessions[w[WindowSessionID]]
	switch {
	case sess == nil:
		return nil, notFound(op, "WINDOW_NOT_FOUND", "no window session %q", w[WindowSessionID])
	case w[WindowAuthToken] != sess.token:
		return nil, invalid(op, "AUTH_TOKEN_MISMATCH", "the window result's auth token does not match its session")
	case sess.purpose != purpose:
		return nil, invalid(op, "WINDOW_PURPOSE_MISMATCH", "the window was opened for %s", sess.purpose)
	case now.After(sess.expiresAt):
		return nil, invalid(op, "WINDOW_EXPIRED", "the window session expired at %s", sess.expiresAt.Format(time.RFC3339))
	case !sess.authenticated:
		return nil, invalid(op, "WINDOW_NOT_AUTHENTICATED", "the buyer has not authenticated in the window")
	}
	return sess, nil
}
