package nicepay

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"

	"github.com/paymux/paymux/providers"
)

// Ack is NicePay's expected answer to a webhook: 200, text/html, exactly
// "OK" (anything else counts as a failed delivery).
var ackOK = providers.Ack{StatusCode: http.StatusOK, ContentType: "text/html", Body: []byte("OK")}

// ParseNotification reads a NicePay webhook: a POST whose JSON body is the
// Payment object, signed sha256(tid + amount + ediDate + secretKey) with the
// channel's secret key (or its Client-approval secret key). A notification
// that does not verify is a *providers.Error of KindUnauthorized.
//
// Event types: paid → PAYMENT_APPROVED, or DEPOSIT_ARRIVED for a virtual
// account; ready (virtual account) → VIRTUAL_ACCOUNT_ISSUED; cancelled and
// partialCancelled → PAYMENT_CANCELLED; expired → VIRTUAL_ACCOUNT_EXPIRED;
// anything else PAYMENT_STATUS_CHANGED. The event id is tid, status,
// cancelledTid and ediDate: a resend of one notice has the same id.
func (a *Adapter) ParseNotification(ctx context.Context, ch providers.Channel, n providers.Notification) (*providers.Event, error) {
	const op = "ParseNotification"
	var p payment
	if err := json.Unmarshal(bytes.TrimSpace(n.Body), &p); err != nil {
		// Nothing in it can be verified.
		return nil, unauthorized(op, "NOTIFICATION_BODY", "the notification is not a NicePay Payment object: %v", err)
	}
	if p.TID == "" || p.Signature == "" {
		return nil, unauthorized(op, "NOTIFICATION_UNSIGNED", "the notification has no tid or signature")
	}
	if !p.verified(secrets(ch)) {
		return nil, unauthorized(op, "NOTIFICATION_SIGNATURE_MISMATCH", "the notification's signature does not verify with the channel's secret keys")
	}
	pay := p.toPayment()
	ev := &providers.Event{
		ID:              p.TID + ":" + p.Status + ":" + p.CancelledTID + ":" + p.EdiDate,
		PGTransactionID: p.TID,
		OrderID:         p.OrderID,
		Status:          pay.Status,
		Payment:         pay,
		Authenticity:    providers.AuthenticitySignature,
		Ack:             ackOK,
		OccurredAt:      parseTime(p.EdiDate),
	}
	vbank := pay.Method == providers.MethodVirtualAccount
	switch p.Status {
	case "paid":
		ev.Type = providers.EventPaymentApproved
		if vbank {
			ev.Type = providers.EventDepositArrived
			ev.Amount = pay.Amounts.Total
			if pay.VirtualAccount != nil {
				ev.DepositorName = pay.VirtualAccount.DepositorName
			}
		}
		if !pay.ApprovedAt.IsZero() {
			ev.OccurredAt = pay.ApprovedAt
		}
	case "ready":
		ev.Type = providers.EventPaymentStatusChanged
		if vbank {
			ev.Type = providers.EventVirtualAccountIssued
		}
	case "cancelled", "partialCancelled":
		ev.Type = providers.EventPaymentCancelled
		c, _ := p.cancellation(pay)
		ev.Amount = c.Amount
		if !pay.CancelledAt.IsZero() {
			ev.OccurredAt = pay.CancelledAt
		}
	case "expired":
		ev.Type = providers.EventVirtualAccountExpired
	default:
		ev.Type = providers.EventPaymentStatusChanged
	}
	if ev.DepositorName == "" {
		ev.DepositorName = p.DepositorName
	}
	return ev, nil
}
