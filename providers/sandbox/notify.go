package sandbox

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/paymux/paymux/providers"
)

// Headers of a sandbox notification. The signature header is
// "t=<unix seconds>,v1=<hex HMAC-SHA256>" over "<t>.<body>" keyed with the
// channel's notification_secret; several v1 entries may appear (any match
// passes).
const (
	HeaderSignature = "Paymux-Sandbox-Signature"
	HeaderEventID   = "Paymux-Sandbox-Event-Id"
)

// notice is the JSON body of a sandbox notification.
type notice struct {
	EventID       string    `json:"eventId"`
	EventType     string    `json:"eventType"`
	CreatedAt     time.Time `json:"createdAt"`
	MerchantID    string    `json:"merchantId"`
	OrderID       string    `json:"orderId"`
	TransactionID string    `json:"transactionId"`
	Status        string    `json:"status"`
	Amount        int64     `json:"amount"`
	DepositorName string    `json:"depositorName,omitempty"`
}

func sign(secret string, ts int64, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(strconv.FormatInt(ts, 10)))
	mac.Write([]byte{'.'})
	mac.Write(body)
	return hex.EncodeToString(mac.Sum(nil))
}

// emit stores a notification body under its event id and returns it
// signed. Called locked.
func (s *Sandbox) emit(m *merchant, secret string, n notice, now time.Time) (*providers.Notification, error) {
	body, err := json.Marshal(n)
	if err != nil {
		return nil, err
	}
	m.events[n.EventID] = body
	return signed(secret, n.EventID, body, now), nil
}

func signed(secret, eventID string, body []byte, now time.Time) *providers.Notification {
	ts := now.Unix()
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set(HeaderEventID, eventID)
	h.Set(HeaderSignature, "t="+strconv.FormatInt(ts, 10)+",v1="+sign(secret, ts, body))
	return &providers.Notification{Method: http.MethodPost, Header: h, Body: bytes.Clone(body)}
}

// ResendNotification sends an earlier notification again, as a PG retry
// does: the same body (so the same event id), signed anew at the current
// time.
func (s *Sandbox) ResendNotification(ctx context.Context, ch providers.Channel, eventID string) (*providers.Notification, error) {
	const op = "ResendNotification"
	m, now, unlock, err := s.begin(ctx, ch, op)
	if err != nil {
		return nil, err
	}
	defer unlock()
	secret := ch.Secret(SecretNotification)
	if secret == "" {
		return nil, invalid(op, "NOTIFICATION_SECRET_MISSING", "the channel has no %s to sign the notification", SecretNotification)
	}
	body, ok := m.events[eventID]
	if !ok {
		return nil, notFound(op, "EVENT_NOT_FOUND", "no event %q", eventID)
	}
	return signed(secret, eventID, body, now), nil
}

// ParseNotification verifies a sandbox notification: the HMAC-SHA256
// signature with the channel's notification_secret, a timestamp within
// NotificationTolerance of the clock, and the channel's merchant id in the
// body. It keeps no state: the same notice parsed twice (a retry, a replay
// within the tolerance) gives the same event, whose ID the caller dedupes
// on. Failures are KindUnauthorized (SIGNATURE_MISSING, SIGNATURE_MISMATCH,
// SIGNATURE_EXPIRED, MERCHANT_MISMATCH) or KindInvalidRequest.
func (s *Sandbox) ParseNotification(ctx context.Context, ch providers.Channel, n providers.Notification) (*providers.Event, error) {
	const op = "ParseNotification"
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := checkChannel(ch, op); err != nil {
		return nil, err
	}
	secret := ch.Secret(SecretNotification)
	if secret == "" {
		return nil, invalid(op, "NOTIFICATION_SECRET_MISSING", "the channel has no %s to verify notifications", SecretNotification)
	}
	if n.Method != "" && n.Method != http.MethodPost {
		return nil, invalid(op, "METHOD_NOT_ALLOWED", "notifications are POSTed, not %s", n.Method)
	}
	ts, sigs := parseSignature(n.Header.Get(HeaderSignature))
	if ts == 0 || len(sigs) == 0 {
		return nil, unauthorized(op, "SIGNATURE_MISSING", "no valid %s header", HeaderSignature)
	}
	want := []byte(sign(secret, ts, n.Body))
	ok := false
	for _, sig := range sigs {
		if hmac.Equal(want, []byte(sig)) {
			ok = true
		}
	}
	if !ok {
		return nil, unauthorized(op, "SIGNATURE_MISMATCH", "the signature does not match the body")
	}
	now := s.now()
	if d := now.Sub(time.Unix(ts, 0)).Abs(); d > s.opts.NotificationTolerance {
		return nil, unauthorized(op, "SIGNATURE_EXPIRED", "the notification was signed %s away from now", d.Round(time.Second))
	}
	var body notice
	if err := json.Unmarshal(n.Body, &body); err != nil || body.EventID == "" {
		return nil, invalid(op, "MALFORMED_NOTIFICATION", "the body is not a sandbox notification")
	}
	if body.MerchantID != ch.MerchantID {
		return nil, unauthorized(op, "MERCHANT_MISMATCH", "the notification is for another merchant")
	}
	return &providers.Event{
		ID:              body.EventID,
		Type:            providers.EventType(body.EventType),
		OccurredAt:      body.CreatedAt,
		PGTransactionID: body.TransactionID,
		OrderID:         body.OrderID,
		Status:          providers.Status(body.Status),
		Amount:          body.Amount,
		DepositorName:   body.DepositorName,
		Authenticity:    providers.AuthenticitySignature,
		Ack:             providers.Ack{StatusCode: http.StatusOK, ContentType: "text/plain; charset=utf-8", Body: []byte("OK")},
	}, nil
}

// parseSignature reads "t=...,v1=...[,v1=...]".
func parseSignature(h string) (ts int64, sigs []string) {
	for part := range strings.SplitSeq(h, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			continue
		}
		switch k {
		case "t":
			ts, _ = strconv.ParseInt(v, 10, 64)
		case "v1":
			sigs = append(sigs, v)
		}
	}
	return ts, sigs
}
