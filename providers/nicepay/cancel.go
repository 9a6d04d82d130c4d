package nicepay

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"

	"github.com/paymux/paymux/providers"
)

func pathEscape(s string) string { return url.PathEscape(s) }

// lookupQuery is ediDate + signData = sha256(tid + ediDate + secretKey).
func (a *Adapter) lookupQuery(ch providers.Channel, tid string) url.Values {
	ediDate := EdiDate(a.now())
	return url.Values{"ediDate": {ediDate}, "signData": {Sign(tid, ediDate, ch.Secret(SecretSecretKey))}}
}

// Lookup reads a payment by tid (GET /v1/payments/{tid}) or, without one,
// by order id and order date (GET /v1/payments/find/{orderId}); the order
// date is LookupRequest.OrderDate in KST, today when zero. NicePay's "no
// data" answers are KindNotFound.
func (a *Adapter) Lookup(ctx context.Context, ch providers.Channel, req providers.LookupRequest) (*providers.Payment, error) {
	const op = "Lookup"
	if err := usable(op, ch); err != nil {
		return nil, err
	}
	var p payment
	var err error
	switch {
	case req.PGTransactionID != "":
		err = a.call(ctx, ch, op, http.MethodGet, "/v1/payments/"+pathEscape(req.PGTransactionID), a.lookupQuery(ch, req.PGTransactionID), nil, &p)
	case req.OrderID != "":
		day := req.OrderDate
		if day.IsZero() {
			day = a.now()
		}
		// The manual's signData for this call needs the tid the caller
		// lacks: only ediDate is sent. The order date is the transaction's:
		// a window paid on a later day than the order was made is found
		// under today, so today is asked too.
		for _, d := range []string{orderDate(day), orderDate(a.now())} {
			p = payment{}
			q := url.Values{"orderDate": {d}, "ediDate": {EdiDate(a.now())}}
			err = a.call(ctx, ch, op, http.MethodGet, "/v1/payments/find/"+pathEscape(req.OrderID), q, nil, &p)
			if !providers.IsKind(err, kNotFound) || d == orderDate(a.now()) {
				break
			}
		}
	default:
		return nil, invalid(op, "ID_REQUIRED", "a transaction id or an order id is required")
	}
	// A failed payment may come back with its failure code as resultCode:
	// it is still the payment, FAILED.
	if err != nil && !(p.TID != "" && p.Status == "failed" && providers.KindOf(err) != kUnavail && providers.KindOf(err) != kUnauth) {
		return nil, err
	}
	pay, err := a.signedPayment(ch, op, &p)
	if err != nil {
		return nil, err
	}
	if req.PGTransactionID != "" && req.OrderID != "" && pay.OrderID != req.OrderID {
		return nil, newErr(kNotFound, op, "ORDER_MISMATCH", "transaction %s belongs to order %q, not %q", req.PGTransactionID, pay.OrderID, req.OrderID)
	}
	return pay, nil
}

// CancelOrderID is the orderId a cancel sends. NicePay refuses an order id
// a partial cancel already used, so every cancel gets its own, derived
// from the payment's order id and the request's idempotency key: a retry
// of one cancel sends the same order id, another cancel a new one. It is
// the order id (cut to 48 bytes), "-c" and 14 hex digits of
// SHA-256(orderID NUL key): at most 64 bytes, NicePay's limit.
func CancelOrderID(orderID, idempotencyKey string) string {
	h := sha256.Sum256([]byte(orderID + "\x00" + idempotencyKey))
	return truncate(orderID, 48) + "-c" + hex.EncodeToString(h[:])[:14]
}

// Cancel cancels all (Amount 0: cancelAmt omitted) or part of a payment,
// or refunds a deposited virtual account to RefundAccount. NicePay takes no
// VAT part and no guard on a cancel: VAT and ExpectedCancellable are left
// to paymux. Without an IdempotencyKey each call gets a fresh order id, so
// a retry is not recognised as one.
func (a *Adapter) Cancel(ctx context.Context, ch providers.Channel, req providers.CancelRequest) (*providers.CancelResult, error) {
	return a.cancel(ctx, ch, "Cancel", req)
}

func (a *Adapter) cancel(ctx context.Context, ch providers.Channel, op string, req providers.CancelRequest) (*providers.CancelResult, error) {
	if err := usable(op, ch); err != nil {
		return nil, err
	}
	switch {
	case req.PGTransactionID == "":
		return nil, invalid(op, "TID_REQUIRED", "NicePay cancels by tid: a transaction id is required")
	case req.OrderID == "":
		return nil, invalid(op, "ORDER_ID_REQUIRED", "an order id is required")
	case req.Amount < 0:
		return nil, invalid(op, "INVALID_CANCEL_AMOUNT", "cancel amount %d is negative", req.Amount)
	case req.TaxFree != nil && (*req.TaxFree < 0 || (req.Amount > 0 && *req.TaxFree > req.Amount)):
		return nil, invalid(op, "INVALID_CANCEL_TAX_FREE_AMOUNT", "tax-free part %d is not within [0, %d]", *req.TaxFree, req.Amount)
	}
	now := a.now()
	ediDate := EdiDate(now)
	key := req.IdempotencyKey
	if key == "" {
		key = "at " + ediDate
	}
	body := map[string]any{
		"reason":   truncate(cmp.Or(req.Reason, "cancel"), 100),
		"orderId":  CancelOrderID(req.OrderID, key),
		"ediDate":  ediDate,
		"signData": Sign(req.PGTransactionID, ediDate, ch.Secret(SecretSecretKey)),
	}
	if req.Amount > 0 {
		body["cancelAmt"] = req.Amount
	}
	if req.TaxFree != nil {
		body["taxFreeAmt"] = *req.TaxFree
	}
	if ra := req.RefundAccount; ra != nil {
		body["refundAccount"] = ra.Number.Reveal()
		body["refundBankCode"] = string(ra.Bank)
		body["refundHolder"] = truncate(ra.Holder, 10)
	}
	var p payment
	if err := a.call(ctx, ch, op, http.MethodPost, "/v1/payments/"+pathEscape(req.PGTransactionID)+"/cancel", nil, body, &p); err != nil {
		return nil, err
	}
	pay, err := a.signedPayment(ch, op, &p)
	if err != nil {
		return nil, err
	}
	c, found := p.cancellation(pay)
	if c.Amount == 0 {
		c.Amount = req.Amount
		if c.Amount == 0 {
			c.Amount = pay.Amounts.Paid
			for _, x := range pay.Cancellations {
				if x.ID != c.ID {
					c.Amount -= x.Amount
				}
			}
		}
	}
	if c.Reason == "" {
		c.Reason = req.Reason
	}
	if req.TaxFree != nil {
		c.TaxFree = *req.TaxFree
	}
	if req.RefundAccount != nil {
		c.Refund = &providers.Refund{Account: *req.RefundAccount, Status: providers.RefundPending}
	}
	if found {
		for i := range pay.Cancellations {
			if pay.Cancellations[i].ID == c.ID {
				pay.Cancellations[i] = c
			}
		}
	} else if c.ID != "" || len(pay.Cancellations) == 0 {
		pay.Cancellations = append(pay.Cancellations, c)
	}
	return &providers.CancelResult{Cancellation: c, Payment: pay}, nil
}

// NetCancel voids an approval whose answer was lost, by order id
// (POST /v1/payments/netcancel), within an hour of the approve request.
// After the hour NicePay answers 2020 (KindInvalidRequest); with nothing
// to void, "no data" (KindNotFound).
func (a *Adapter) NetCancel(ctx context.Context, ch providers.Channel, req providers.NetCancelRequest) (*providers.Payment, error) {
	const op = "NetCancel"
	if err := usable(op, ch); err != nil {
		return nil, err
	}
	if err := checkOrderID(op, req.OrderID); err != nil {
		return nil, err
	}
	ediDate := EdiDate(a.now())
	body := map[string]any{
		"orderId":  req.OrderID,
		"ediDate":  ediDate,
		"signData": Sign(req.OrderID, ediDate, ch.Secret(SecretSecretKey)),
	}
	var p payment
	if err := a.call(ctx, ch, op, http.MethodPost, "/v1/payments/netcancel", nil, body, &p); err != nil {
		return nil, err
	}
	pay, err := a.signedPayment(ch, op, &p)
	if err != nil {
		return nil, err
	}
	for i := range pay.Cancellations {
		pay.Cancellations[i].NetCancel = true
	}
	return pay, nil
}

// CloseVirtualAccount cancels an issued virtual account before any deposit
// (a full cancel).
func (a *Adapter) CloseVirtualAccount(ctx context.Context, ch providers.Channel, req providers.CloseVirtualAccountRequest) (*providers.Payment, error) {
	res, err := a.cancel(ctx, ch, "CloseVirtualAccount", providers.CancelRequest{
		PGTransactionID: req.PGTransactionID,
		OrderID:         req.OrderID,
		Reason:          cmp.Or(req.Reason, "virtual account closed"),
		IdempotencyKey:  "close",
	})
	if err != nil {
		return nil, err
	}
	return res.Payment, nil
}
