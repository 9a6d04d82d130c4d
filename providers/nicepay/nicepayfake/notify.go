package nicepayfake

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"
)

// Webhook events (SentNotification.Event). NicePay itself only sends the
// Payment object; the event names say why the fake sent it.
const (
	EventPaid        = "paid"         // an approval: card, transfer, phone, billing charge
	EventVbankIssued = "vbank-issued" // a virtual account issued (status ready)
	EventDeposit     = "deposit"      // a virtual account paid (status paid)
	EventCancelled   = "cancelled"    // a cancel or refund: API, net-cancel or console
)

// SentNotification is one webhook POST as sent and as answered.
type SentNotification struct {
	Event  string
	URL    string
	Header http.Header
	Body   []byte
	// Status is the receiver's HTTP status (0 when no answer came).
	Status int
	// Response is the body the receiver answered.
	Response string
	// Err is the transport error, if any.
	Err string
	// Delivered reports success as NicePay counts it: HTTP 200 and a body
	// of exactly "OK".
	Delivered bool
	At        time.Time
}

type hook struct {
	event, url string
	body       []byte
}

// SetWebhookURL sets where the merchant's notifications go ("" = none).
func (f *Fake) SetWebhookURL(url string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.webhookURL = url
}

// hookFor builds the webhook of p now: the Payment object signed with the
// secret key of the key pair that created the payment. Callers hold mu.
func (f *Fake) hookFor(p *payment, event, cancelledTID string) []hook {
	if f.webhookURL == "" {
		return nil
	}
	secret := ""
	if k := f.keys[p.clientID]; k != nil {
		secret = k.secret
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(f.view(p, secret, cancelledTID))
	return []hook{{event: event, url: f.webhookURL, body: bytes.TrimSpace(buf.Bytes())}}
}

// deliver posts each webhook synchronously, in order, and records it. It
// runs without mu held, so a receiver may call back into the fake.
func (f *Fake) deliver(hs []hook) {
	for _, h := range hs {
		hdr := http.Header{}
		hdr.Set("Content-Type", jsonContentType)
		f.record(f.send(h.event, h.url, hdr, h.body))
	}
}

func (f *Fake) send(event, url string, hdr http.Header, body []byte) SentNotification {
	n := SentNotification{Event: event, URL: url, Header: hdr.Clone(), Body: body, At: f.clock()}
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		n.Err = err.Error()
		return n
	}
	req.Header = hdr.Clone()
	resp, err := f.hc.Do(req)
	if err != nil {
		n.Err = err.Error()
		return n
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	n.Status = resp.StatusCode
	n.Response = string(b)
	n.Delivered = resp.StatusCode == http.StatusOK && n.Response == "OK"
	return n
}

func (f *Fake) record(n SentNotification) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sent = append(f.sent, n)
}

// Notifications returns every webhook sent so far, in order.
func (f *Fake) Notifications() []SentNotification {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]SentNotification, len(f.sent))
	copy(out, f.sent)
	return out
}

// Resend sends the i-th notification again, unchanged (same URL, headers
// and body: a duplicate), records it and returns the new record.
func (f *Fake) Resend(i int) (SentNotification, error) {
	f.mu.Lock()
	if i < 0 || i >= len(f.sent) {
		f.mu.Unlock()
		return SentNotification{}, fmt.Errorf("nicepayfake: no notification %d", i)
	}
	old := f.sent[i]
	f.mu.Unlock()
	n := f.send(old.Event, old.URL, old.Header, old.Body)
	f.record(n)
	return n, nil
}

// ErrNotFound is returned by the console operations for an unknown order.
var ErrNotFound = errors.New("nicepayfake: no such payment")

// Deposit makes the buyer pay the virtual account of orderID. The amount
// must equal the payment's amount (NicePay 4122 otherwise).
func (f *Fake) Deposit(orderID string, amount int64, depositor string) error {
	f.mu.Lock()
	p := f.latestByOrder(orderID)
	switch {
	case p == nil:
		f.mu.Unlock()
		return ErrNotFound
	case p.method != "vbank":
		f.mu.Unlock()
		return fmt.Errorf("nicepayfake: %s is a %s payment, not a virtual account", orderID, p.method)
	case p.status != "ready":
		f.mu.Unlock()
		return fmt.Errorf("nicepayfake: virtual account of %s is %s, not ready", orderID, p.status)
	case amount != p.amount:
		f.mu.Unlock()
		return fmt.Errorf("nicepayfake: 4122 가상계좌 입금요청 금액 불일치: %d != %d", amount, p.amount)
	}
	p.status = "paid"
	p.deposited = true
	p.depositor = depositor
	p.paidAt = f.clock()
	hs := f.hookFor(p, EventDeposit, "")
	f.mu.Unlock()
	f.deliver(hs)
	return nil
}

// ConsoleCancel cancels amount (0 = all that is left) of orderID's payment
// as the merchant does in NicePay's console; a deposited virtual account is
// refunded to the account given there. The cancel webhook is sent.
func (f *Fake) ConsoleCancel(orderID string, amount int64, reason string) error {
	f.mu.Lock()
	p := f.latestByOrder(orderID)
	if p == nil {
		f.mu.Unlock()
		return ErrNotFound
	}
	switch p.status {
	case "paid", "partialCancelled", "ready":
	default:
		f.mu.Unlock()
		return fmt.Errorf("nicepayfake: %s is %s, nothing to cancel", orderID, p.status)
	}
	if amount == 0 {
		amount = p.balance
	}
	if amount < 0 || amount > p.balance {
		f.mu.Unlock()
		return fmt.Errorf("nicepayfake: 2032 취소금액이 취소가능금액보다 큼: %d > %d", amount, p.balance)
	}
	if p.status == "ready" && amount != p.balance {
		f.mu.Unlock()
		return fmt.Errorf("nicepayfake: 2030 해당결제수단 부분취소 불가")
	}
	taxFree := min(p.taxFreeBal, amount)
	if amount < p.balance {
		taxFree = 0
	}
	ctid := f.applyCancel(p, amount, taxFree, reason, "")
	hs := f.hookFor(p, EventCancelled, ctid)
	f.mu.Unlock()
	f.deliver(hs)
	return nil
}

// ExpireVirtualAccount makes the deposit deadline of orderID's virtual
// account pass now. NicePay documents no webhook for this; none is sent.
func (f *Fake) ExpireVirtualAccount(orderID string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	p := f.latestByOrder(orderID)
	if p == nil {
		return ErrNotFound
	}
	if p.method != "vbank" || p.status != "ready" {
		return fmt.Errorf("nicepayfake: %s is not an unpaid virtual account (%s %s)", orderID, p.method, p.status)
	}
	p.vbankExp = f.clock()
	p.status = "expired"
	return nil
}

// Payment reports the newest payment of orderID as NicePay sees it: status
// and cancellable balance. A window authentication never approved is not a
// payment (ok false).
func (f *Fake) Payment(orderID string) (status string, balance int64, ok bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	p := f.latestByOrder(orderID)
	if p == nil {
		return "", 0, false
	}
	return p.status, p.balance, true
}
