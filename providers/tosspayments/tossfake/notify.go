package tossfake

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"
)

// Webhook event types (SentNotification.EventType).
const (
	EventPaymentStatusChanged = "PAYMENT_STATUS_CHANGED"
	EventDepositCallback      = "DEPOSIT_CALLBACK"
)

// SentNotification is one webhook POST as sent and as answered.
type SentNotification struct {
	// EventType is PAYMENT_STATUS_CHANGED or DEPOSIT_CALLBACK (the latter
	// is not in the body: its body is flat).
	EventType string
	URL       string
	Header    http.Header
	Body      []byte
	// Status is the receiver's HTTP status (0 when no answer came).
	Status int
	// Response is the body the receiver answered.
	Response string
	// Err is the transport error, if any.
	Err string
	// Delivered reports success as Toss counts it: HTTP 200.
	Delivered bool
	At        time.Time
}

type hook struct {
	event, url string
	body       []byte
}

// SetWebhookURL sets where notifications of every merchant go ("" = none).
// Toss registers webhooks per mId in its console; SetWebhookURLFor sets one
// merchant's URL, which wins over this one.
func (f *Fake) SetWebhookURL(url string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.hookURL = url
}

// SetWebhookURLFor sets the webhook URL of merchant mId ("" = use the URL of
// SetWebhookURL).
func (f *Fake) SetWebhookURLFor(mID, url string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.hookURLs[mID] = url
}

func (f *Fake) webhookURL(mID string) string {
	if u := f.hookURLs[mID]; u != "" {
		return u
	}
	return f.hookURL
}

type paymentEvent struct {
	EventType string      `json:"eventType"`
	CreatedAt string      `json:"createdAt"`
	Data      paymentJSON `json:"data"`
}

type depositCallback struct {
	CreatedAt      string `json:"createdAt"`
	Secret         string `json:"secret"`
	Status         string `json:"status"`
	TransactionKey string `json:"transactionKey"`
	OrderID        string `json:"orderId"`
}

func webhookTime(t time.Time) string { return t.In(kst).Format(webhookTimeLayout) }

// statusHook is PAYMENT_STATUS_CHANGED with p as it is now. Callers hold mu.
func (f *Fake) statusHook(p *payment) []hook {
	u := f.webhookURL(p.mID)
	if u == "" {
		return nil
	}
	body := marshal(paymentEvent{EventType: EventPaymentStatusChanged, CreatedAt: webhookTime(f.clock()), Data: f.view(p)})
	return []hook{{event: EventPaymentStatusChanged, url: u, body: body}}
}

// depositHook is the flat DEPOSIT_CALLBACK of p's virtual account now.
// Callers hold mu.
func (f *Fake) depositHook(p *payment) []hook {
	u := f.webhookURL(p.mID)
	if u == "" {
		return nil
	}
	body := marshal(depositCallback{CreatedAt: webhookTime(f.clock()), Secret: p.secret, Status: p.status,
		TransactionKey: p.lastTx, OrderID: p.orderID})
	return []hook{{event: EventDepositCallback, url: u, body: body}}
}

// deliver posts each webhook synchronously, in order, and records it; one
// attempt each (Toss's retries are left to Resend). It runs without mu
// held, so a receiver may call back into the fake.
func (f *Fake) deliver(hs []hook) {
	for _, h := range hs {
		hdr := http.Header{}
		hdr.Set("Content-Type", jsonContentType)
		f.record(f.send(h.event, h.url, hdr, h.body))
	}
}

func (f *Fake) send(event, url string, hdr http.Header, body []byte) SentNotification {
	n := SentNotification{EventType: event, URL: url, Header: hdr.Clone(), Body: body, At: f.clock()}
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
	n.Delivered = resp.StatusCode == http.StatusOK
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
// and body: a duplicate, as a Toss retry is), records it and returns the new
// record.
func (f *Fake) Resend(i int) (SentNotification, error) {
	f.mu.Lock()
	if i < 0 || i >= len(f.sent) {
		f.mu.Unlock()
		return SentNotification{}, fmt.Errorf("tossfake: no notification %d", i)
	}
	old := f.sent[i]
	f.mu.Unlock()
	n := f.send(old.EventType, old.URL, old.Header, old.Body)
	f.record(n)
	return n, nil
}

// ErrNotFound is returned by the console operations for an unknown order.
var ErrNotFound = errors.New("tossfake: no such payment")

// byOrder finds the payment orderID refers to, in any merchant (the most
// recent when several). Callers hold mu.
func (f *Fake) byOrder(orderID string) *payment {
	var best *payment
	for _, p := range f.orders {
		if p.orderID == orderID && (best == nil || p.seq > best.seq) {
			best = p
		}
	}
	return best
}

// consoleOp runs op on the payment of orderID after applying the clock, then
// delivers the webhooks.
func (f *Fake) consoleOp(orderID string, op func(p *payment) ([]hook, error)) error {
	f.mu.Lock()
	hs := f.sweep()
	p := f.byOrder(orderID)
	var err error
	if p == nil {
		err = ErrNotFound
	} else {
		var more []hook
		more, err = op(p)
		hs = append(hs, more...)
	}
	f.mu.Unlock()
	f.deliver(hs)
	return err
}

// Deposit makes the buyer pay the virtual account of orderID. Only the
// exact amount completes it (as the docs' FAQ says); the depositor name need
// not match anything. Sends DEPOSIT_CALLBACK (DONE) and
// PAYMENT_STATUS_CHANGED.
func (f *Fake) Deposit(orderID string, amount int64, depositor string) error {
	return f.consoleOp(orderID, func(p *payment) ([]hook, error) {
		switch {
		case p.va == nil:
			return nil, fmt.Errorf("tossfake: %s is not a virtual account payment", orderID)
		case p.status != StatusWaitingForDeposit:
			return nil, fmt.Errorf("tossfake: %s is %s, not waiting for a deposit", orderID, p.status)
		case amount != p.total:
			return nil, fmt.Errorf("tossfake: deposit of %d for %s, which wants exactly %d", amount, orderID, p.total)
		}
		return f.deposit(p, depositor), nil
	})
}

// ConsoleCancel cancels amount (0 = the whole balance) of orderID's payment
// as the merchant would in Toss's console, with the same rules as the cancel
// API except that a deposited virtual account needs no refund account.
func (f *Fake) ConsoleCancel(orderID string, amount int64, reason string) error {
	return f.consoleOp(orderID, func(p *payment) ([]hook, error) {
		var amt *int64
		if amount != 0 {
			amt = &amount
		}
		if code, d := f.cancelCheck(p, amt, 0, nil, false, false); code != "" {
			return nil, fmt.Errorf("tossfake: cancel refused: %s %s", code, d)
		}
		if amount == 0 {
			amount = p.balance
		}
		return f.applyCancel(p, amount, 0, reason, nil), nil
	})
}

// ExpireVirtualAccount makes the due date of orderID's unpaid virtual
// account pass now: the payment becomes EXPIRED with virtualAccount.expired
// true, and PAYMENT_STATUS_CHANGED is sent.
func (f *Fake) ExpireVirtualAccount(orderID string) error {
	return f.consoleOp(orderID, func(p *payment) ([]hook, error) {
		if p.va == nil || p.status != StatusWaitingForDeposit {
			return nil, fmt.Errorf("tossfake: %s is not an unpaid virtual account", orderID)
		}
		p.va.dueDate = f.clock()
		return f.expireVA(p), nil
	})
}

// Payment reports the status and balanceAmount of orderID's payment as Toss
// sees it (after applying the clock).
func (f *Fake) Payment(orderID string) (status string, balance int64, ok bool) {
	f.mu.Lock()
	hs := f.sweep()
	p := f.byOrder(orderID)
	if p != nil {
		status, balance, ok = p.status, p.balance, true
	}
	f.mu.Unlock()
	f.deliver(hs)
	return status, balance, ok
}
