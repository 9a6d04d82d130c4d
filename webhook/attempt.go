package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/paymux/paymux/ent"
	"github.com/paymux/paymux/ent/webhookattempt"
	"github.com/paymux/paymux/ent/webhookendpoint"
	"github.com/paymux/paymux/redact"
	"github.com/paymux/paymux/secrets"
)

// One attempt, whoever makes it (the Dispatcher, or a TEST call through the
// Service): the event signed for the endpoint, sent once, and written to the
// delivery log.

// sender builds and sends attempts.
type sender struct {
	keyring          *secrets.Keyring
	client           *http.Client
	maxResponseBytes int64
	now              func() time.Time
}

func newSender(keyring *secrets.Keyring, cfg Config, now func() time.Time) *sender {
	return &sender{keyring: keyring, client: cfg.client(), maxResponseBytes: cfg.MaxResponseBytes, now: now}
}

// clock is now as paymux stores times: UTC, to the microsecond.
func (s *sender) clock() time.Time { return truncate(s.now()) }

func truncate(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// request is one signed request to an endpoint.
type request struct {
	url     string
	headers http.Header
	body    []byte
	// verdict, when set, judges a 2xx answer by the endpoint's format: why
	// it is not a success, or "". Unset, any 2xx is one.
	verdict func(status int, body []byte, truncated bool) string
}

// build signs the event for the endpoint with its secret (and the
// previous one during a rotation's overlap).
func (s *sender) build(ep *ent.WebhookEndpoint, ev *ent.Event) (*request, error) {
	eventID, eventType, at, data := ev.ID, ev.Type, ev.CreatedAt, ev.Data
	keys, err := s.endpointSecrets(ep)
	if err != nil {
		return nil, err
	}
	var body []byte
	contentType := "application/json"
	switch ep.ContentType {
	case webhookendpoint.ContentTypePAYACTION:
		if body, err = payActionBody(ev); err != nil {
			return nil, err
		}
	case webhookendpoint.ContentTypeFORM:
		contentType = "application/x-www-form-urlencoded"
		var obj struct {
			Status string `json:"status"` // the payment's, schedule's or billing key's
		}
		_ = json.Unmarshal(data, &obj) // best effort: data is the full JSON below anyway
		form := url.Values{
			"type":                {eventType},
			"timestamp":           {at.UTC().Format(time.RFC3339Nano)},
			"payment_id":          {ev.PaymentID},
			"merchant_payment_id": {ev.MerchantPaymentID},
			"status":              {obj.Status},
			"data":                {string(data)},
		}
		body = []byte(form.Encode())
	default:
		body, err = json.Marshal(struct {
			Type      string          `json:"type"`
			Timestamp string          `json:"timestamp"`
			Data      json.RawMessage `json:"data"`
		}{eventType, at.UTC().Format(time.RFC3339Nano), data})
		if err != nil {
			return nil, fmt.Errorf("webhook body: %w", err)
		}
	}
	now := s.now()
	h := Headers(eventID, now, Sign(keys, eventID, now, body))
	h.Set("Content-Type", contentType)
	h.Set("User-Agent", "paymux-webhooks/1")
	r := &request{url: ep.URL, headers: h, body: body}
	if ep.ContentType == webhookendpoint.ContentTypePAYACTION {
		// PayAction's receivers compare x-webhook-key with the key they
		// were given; paymux's signature stays for those that verify it.
		secret, err := s.openSecret(ep, ep.SecretSealed)
		if err != nil {
			return nil, err
		}
		h.Set(headerPayActionKey, secret)
		h.Set(headerPayActionMall, ev.StoreID)
		h.Set(headerPayActionTrace, eventID)
		r.verdict = payActionVerdict
	}
	return r, nil
}

// openSecret opens a sealed signing secret of ep: the "whsec_" string the
// merchant was shown.
func (s *sender) openSecret(ep *ent.WebhookEndpoint, sealed []byte) (string, error) {
	plain, err := s.keyring.Decrypt(sealed, secretAD(ep.ID))
	if err != nil {
		return "", fmt.Errorf("endpoint %s secret: %w", ep.ID, err)
	}
	return string(plain), nil
}

// endpointSecrets opens the signing secrets: the current one, then the
// previous one while its overlap lasts.
func (s *sender) endpointSecrets(ep *ent.WebhookEndpoint) ([][]byte, error) {
	open := func(sealed []byte) ([]byte, error) {
		plain, err := s.openSecret(ep, sealed)
		if err != nil {
			return nil, err
		}
		return ParseSecret(plain)
	}
	cur, err := open(ep.SecretSealed)
	if err != nil {
		return nil, err
	}
	keys := [][]byte{cur}
	if len(ep.PreviousSecretSealed) > 0 && ep.PreviousSecretExpiresAt != nil && s.now().Before(*ep.PreviousSecretExpiresAt) {
		prev, err := open(ep.PreviousSecretSealed)
		if err != nil {
			return nil, err
		}
		keys = append(keys, prev)
	}
	return keys, nil
}

// secretAD binds a sealed secret to its endpoint: it opens for that
// endpoint only.
func secretAD(endpointID string) []byte { return []byte("webhook:" + endpointID) }

// result is what one HTTP attempt gave.
type result struct {
	at         time.Time // when the request went out (paymux's clock)
	status     int
	headers    map[string]string
	body       []byte
	truncated  bool
	latency    time.Duration
	err        error
	retryAfter time.Duration
	// refused is why a 2xx answer is no success in the endpoint's format
	// (request.verdict); "" when it is.
	refused string
}

// ok reports a 2xx answer that the endpoint's format takes for a success.
func (r result) ok() bool {
	return r.err == nil && r.refused == "" && r.status >= 200 && r.status < 300
}

// failure says what went wrong with an attempt, for the delivery log and a
// disabled endpoint's reason.
func (r result) failure() string {
	switch {
	case r.err != nil:
		return r.err.Error()
	case r.refused != "":
		return r.refused
	}
	return fmt.Sprintf("HTTP %d", r.status)
}

// send makes one attempt. Redirects are not followed and private addresses
// are refused at connect time (NewClient).
func (s *sender) send(ctx context.Context, r *request) result {
	start, at := time.Now(), s.clock()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.url, bytes.NewReader(r.body))
	if err != nil {
		return result{at: at, err: err}
	}
	req.Header = r.headers.Clone()
	resp, err := s.client.Do(req)
	if err != nil {
		return result{at: at, err: err, latency: time.Since(start)}
	}
	defer resp.Body.Close()
	keep, limit := max(s.maxResponseBytes, 0), max(s.maxResponseBytes, 0)
	if r.verdict != nil {
		limit = max(limit, payActionAnswerBytes) // judged whole, however little is kept
	}
	body, truncated, rerr := ReadLimited(resp.Body, limit)
	var refused string
	if r.verdict != nil && rerr == nil && resp.StatusCode >= 200 && resp.StatusCode < 300 {
		refused = r.verdict(resp.StatusCode, body, truncated)
	}
	if int64(len(body)) > keep {
		body, truncated = body[:keep], true
	}
	out := result{at: at, status: resp.StatusCode, body: body, truncated: truncated, latency: time.Since(start), headers: map[string]string{}, refused: refused}
	for k := range resp.Header {
		out.headers[k] = resp.Header.Get(k)
	}
	if rerr != nil {
		out.err = fmt.Errorf("reading the answer: %w", rerr)
	}
	if d, ok := ParseRetryAfter(resp.Header.Get("Retry-After"), s.now()); ok {
		out.retryAfter = d
	}
	return out
}

// logAttempt writes an attempt to the delivery log.
func (s *sender) logAttempt(ctx context.Context, db *ent.Client, ep *ent.WebhookEndpoint, deliveryID string, number int, trigger webhookattempt.Trigger, r *request, res result) (*ent.WebhookAttempt, error) {
	// The attempt's time is when its request went out, not when it is
	// written down (which may have waited for the database).
	at := res.at
	if at.IsZero() {
		at = s.clock()
	}
	hdr := map[string]string{}
	for k := range r.headers {
		hdr[k] = r.headers.Get(k)
	}
	// The secret is kept sealed, never in the log.
	if _, ok := r.headers[http.CanonicalHeaderKey(headerPayActionKey)]; ok {
		hdr[http.CanonicalHeaderKey(headerPayActionKey)] = redact.Redacted
	}
	c := db.WebhookAttempt.Create().
		SetStoreID(ep.StoreID).
		SetEndpointID(ep.ID).
		SetDeliveryID(deliveryID).
		SetNumber(number).
		SetTrigger(trigger).
		SetURL(r.url).
		SetRequestHeaders(hdr).
		SetRequestBody(r.body).
		SetResponseStatus(res.status).
		SetResponseHeaders(res.headers).
		SetResponseBody(res.body).
		SetResponseTruncated(res.truncated).
		SetLatencyUs(res.latency.Microseconds()).
		SetCreatedAt(at)
	if res.err != nil || res.refused != "" {
		c.SetError(res.failure())
	}
	return c.Save(ctx)
}
