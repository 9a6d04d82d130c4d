package tosspayments

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/paymux/paymux/providers"
)

// Webhook event types paymux reads.
const (
	EventTypePaymentStatusChanged = "PAYMENT_STATUS_CHANGED"
	EventTypeDepositCallback      = "DEPOSIT_CALLBACK"
)

// EventIgnored is the Event type of a webhook paymux has no use for (payout,
// seller, brandpay events): acknowledged so that Toss stops sending it,
// and otherwise ignored.
const EventIgnored providers.EventType = "TOSSPAYMENTS_IGNORED"

// depositFields are DEPOSIT_CALLBACK's fields: at the top level as Toss's
// documents and samples show, or under data as some integrations read them.
type depositFields struct {
	CreatedAt      string `json:"createdAt"`
	Secret         string `json:"secret"`
	Status         string `json:"status"`
	TransactionKey string `json:"transactionKey"`
	OrderID        string `json:"orderId"`
}

type webhookBody struct {
	EventType string          `json:"eventType"`
	Data      json.RawMessage `json:"data"`
	depositFields
}

// ParseNotification reads a Toss webhook (POST, JSON).
//
//   - DEPOSIT_CALLBACK, flat {createdAt, secret, status, transactionKey,
//     orderId} (or the same under data): DONE is EventDepositArrived,
//     WAITING_FOR_DEPOSIT EventVirtualAccountIssued, CANCELED
//     EventDepositCancelled, PARTIAL_CANCELED EventPaymentCancelled, EXPIRED
//     EventVirtualAccountExpired. Authenticity PAYMENT_SECRET with the
//     secret as PaymentSecret (NONE when the body has no secret). The body
//     cannot tell a first issue from a deposit the bank took back
//     (DONE → WAITING_FOR_DEPOSIT): both are EventVirtualAccountIssued, and
//     paymux's own state and a Lookup tell them apart.
//   - PAYMENT_STATUS_CHANGED, data = the Payment object:
//     EventPaymentStatusChanged with the Payment and its Status,
//     Authenticity NONE (unsigned: paymux looks the payment up).
//   - Any other eventType: EventIgnored, acknowledged.
//
// A body that is not one of these is KindInvalidRequest. The Ack is HTTP
// 200 with an empty body. Event.ID is the same for a redelivery of the same
// notice.
func (a *Adapter) ParseNotification(ctx context.Context, ch providers.Channel, n providers.Notification) (*providers.Event, error) {
	const op = "ParseNotification"
	if n.Method != "" && n.Method != http.MethodPost {
		return nil, invalid(op, "INVALID_NOTIFICATION", "Toss webhooks are POSTs")
	}
	var b webhookBody
	dec := json.NewDecoder(bytes.NewReader(n.Body))
	if err := dec.Decode(&b); err != nil {
		return nil, &providers.Error{Kind: providers.KindInvalidRequest, Provider: Name, Op: op, Code: "INVALID_NOTIFICATION",
			Message: "the body is not a JSON object", Err: err}
	}
	ack := providers.Ack{StatusCode: http.StatusOK}
	switch {
	case b.EventType == EventTypeDepositCallback || (b.EventType == "" && b.Status != "" && b.OrderID != ""):
		f := b.depositFields
		if f.Status == "" && len(b.Data) > 0 {
			var d depositFields
			if err := json.Unmarshal(b.Data, &d); err == nil {
				f = d
				if f.CreatedAt == "" {
					f.CreatedAt = b.CreatedAt
				}
			}
		}
		if f.Status == "" || f.OrderID == "" {
			return nil, invalid(op, "INVALID_NOTIFICATION", "a DEPOSIT_CALLBACK without status or orderId")
		}
		ev := &providers.Event{
			ID:            eventID(EventTypeDepositCallback, f.OrderID, "", f.Status, f.TransactionKey, f.CreatedAt),
			OccurredAt:    parseTime(f.CreatedAt),
			OrderID:       f.OrderID,
			PaymentSecret: f.Secret,
			Authenticity:  providers.AuthenticityPaymentSecret,
			Ack:           ack,
		}
		if f.Secret == "" {
			ev.Authenticity = providers.AuthenticityNone
		}
		switch f.Status {
		case statusDone:
			ev.Type, ev.Status = providers.EventDepositArrived, providers.StatusPaid
		case statusWaitingForDeposit:
			ev.Type, ev.Status = providers.EventVirtualAccountIssued, providers.StatusVirtualAccountIssued
		case statusCanceled:
			ev.Type, ev.Status = providers.EventDepositCancelled, providers.StatusCancelled
		case statusPartialCanceled:
			ev.Type, ev.Status = providers.EventPaymentCancelled, providers.StatusPartialCancelled
		case statusExpired:
			ev.Type, ev.Status = providers.EventVirtualAccountExpired, providers.StatusExpired
		default:
			ev.Type = providers.EventPaymentStatusChanged
		}
		return ev, nil

	case b.EventType == EventTypePaymentStatusChanged:
		var p paymentJSON
		if len(b.Data) == 0 || json.Unmarshal(b.Data, &p) != nil || (p.PaymentKey == "" && p.OrderID == "") {
			return nil, invalid(op, "INVALID_NOTIFICATION", "a PAYMENT_STATUS_CHANGED without a Payment in data")
		}
		pay := toPayment(&p)
		return &providers.Event{
			ID:              eventID(b.EventType, p.OrderID, p.PaymentKey, p.Status, str(p.LastTransactionKey), b.CreatedAt),
			Type:            providers.EventPaymentStatusChanged,
			OccurredAt:      parseTime(b.CreatedAt),
			PGTransactionID: p.PaymentKey,
			OrderID:         p.OrderID,
			Status:          pay.Status,
			Payment:         pay,
			Authenticity:    providers.AuthenticityNone,
			Ack:             ack,
		}, nil

	case b.EventType != "":
		// Payout, seller, brandpay, ...: nothing paymux applies.
		var ids struct {
			PaymentKey string `json:"paymentKey"`
			OrderID    string `json:"orderId"`
			Status     string `json:"status"`
		}
		_ = json.Unmarshal(b.Data, &ids)
		return &providers.Event{
			ID:              eventID(b.EventType, ids.OrderID, ids.PaymentKey, ids.Status, "", b.CreatedAt+"|"+digest(n.Body)),
			Type:            EventIgnored,
			OccurredAt:      parseTime(b.CreatedAt),
			PGTransactionID: ids.PaymentKey,
			OrderID:         ids.OrderID,
			Authenticity:    providers.AuthenticityNone,
			Ack:             ack,
		}, nil
	}
	return nil, invalid(op, "INVALID_NOTIFICATION", "neither an eventType nor a DEPOSIT_CALLBACK")
}

// eventID is stable for a redelivery: Toss resends the same body.
func eventID(parts ...string) string {
	return "tosspayments:" + digest([]byte(strings.Join(parts, "|")))[:40]
}

func digest(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
