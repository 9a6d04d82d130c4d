package tosspayments_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paymux/paymux/providers"
	"github.com/paymux/paymux/providers/tosspayments"
	"github.com/paymux/paymux/providers/tosspayments/tossfake"
)

// clock is a settable clock shared by the fake and the adapter.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// env is the adapter against a fake Toss, with a webhook receiver that
// parses every notification with the adapter, as paymux does.
type env struct {
	t     *testing.T
	f     *tossfake.Fake
	a     *tosspayments.Adapter
	ch    providers.Channel
	clock *clock

	mu     sync.Mutex
	events []*providers.Event
	errs   []error
}

func newEnv(t *testing.T) *env {
	t.Helper()
	c := &clock{t: time.Date(2026, 3, 10, 1, 0, 0, 0, time.UTC)}
	f := tossfake.Start(tossfake.Options{Now: c.Now})
	t.Cleanup(f.Close)
	e := &env{t: t, f: f, clock: c,
		a: tosspayments.New(tosspayments.Options{APIURL: f.URL, SDKURL: f.SDKURL(), Now: c.Now}),
		ch: providers.Channel{ID: "ch_toss", MerchantID: tossfake.TestMID, Mode: providers.ModeTest, Secrets: providers.Secrets{
			tosspayments.SecretClientKey: tossfake.TestClientKey, tosspayments.SecretSecretKey: tossfake.TestSecretKey}},
	}
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		ev, err := e.a.ParseNotification(r.Context(), e.ch, providers.Notification{Method: r.Method, Path: r.URL.RequestURI(),
			Header: r.Header, Body: body, ReceivedAt: c.Now()})
		e.mu.Lock()
		e.events = append(e.events, ev)
		e.errs = append(e.errs, err)
		e.mu.Unlock()
		if err != nil {
			http.Error(w, "refused", http.StatusBadRequest)
			return
		}
		w.WriteHeader(ev.Ack.StatusCode)
		_, _ = w.Write(ev.Ack.Body)
	}))
	t.Cleanup(hook.Close)
	f.SetWebhookURL(hook.URL)
	return e
}

func (e *env) parsed() ([]*providers.Event, []error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]*providers.Event(nil), e.events...), append([]error(nil), e.errs...)
}

// window opens a payment window and has the buyer make choice; it returns
// the query the browser brings back.
func (e *env) window(req providers.PrepareWindowRequest, choice tossfake.Choice) providers.WindowResult {
	e.t.Helper()
	if req.ReturnURL == "" {
		req.ReturnURL = "https://pay.example/return/" + req.OrderID + "?rt=token"
	}
	res, err := e.a.PrepareWindow(context.Background(), e.ch, req)
	if err != nil {
		e.t.Fatal(err)
	}
	if res.SDKURL != e.f.SDKURL() {
		e.t.Errorf("SDKURL %q, want the fake's %q", res.SDKURL, e.f.SDKURL())
	}
	ret, err := e.f.CompleteWindow(res.Params, choice)
	if err != nil {
		e.t.Fatalf("window refused the params %v: %v", res.Params, err)
	}
	w := providers.WindowResult{}
	for k, v := range ret.Query() {
		if k != "rt" { // paymux's own token
			w[k] = v[0]
		}
	}
	return w
}

func (e *env) approve(orderID string, total int64, w providers.WindowResult) (*providers.Payment, error) {
	return e.a.Approve(context.Background(), e.ch, providers.ApproveRequest{OrderID: orderID,
		Amount: providers.Amount{Total: total}, Window: w, IdempotencyKey: "approve-" + orderID})
}

func (e *env) paidByWindow(orderID string, total int64) *providers.Payment {
	e.t.Helper()
	w := e.window(providers.PrepareWindowRequest{OrderID: orderID, OrderName: "티셔츠", Amount: providers.Amount{Total: total}}, tossfake.Choice{})
	p, err := e.approve(orderID, total, w)
	if err != nil {
		e.t.Fatal(err)
	}
	return p
}

func (e *env) wantFake(orderID, status string, balance int64) {
	e.t.Helper()
	st, bal, ok := e.f.Payment(orderID)
	if !ok || st != status || bal != balance {
		e.t.Errorf("fake: %s %s balance %d (found %v), want %s %d", orderID, st, bal, ok, status, balance)
	}
}

func TestFakeWindowApproveLookup(t *testing.T) {
	e := newEnv(t)
	w := e.window(providers.PrepareWindowRequest{OrderID: "order-w1", OrderName: "티셔츠", Amount: providers.Amount{Total: 15000},
		Buyer: providers.Buyer{Name: "김토스", Email: "buyer@example.com"}}, tossfake.Choice{})
	if w["paymentKey"] == "" || w["orderId"] != "order-w1" || w["amount"] != "15000" || w["paymentType"] != "NORMAL" {
		t.Fatalf("window result %v", w)
	}
	p, err := e.approve("order-w1", 15000, w)
	if err != nil {
		t.Fatal(err)
	}
	if p.Status != providers.StatusPaid || p.PGTransactionID != w["paymentKey"] || p.Method != providers.MethodCard ||
		p.Amounts.Paid != 15000 || p.Amounts.VAT != 1364 || p.ApprovedAt.IsZero() || p.ReceiptURL == "" {
		t.Errorf("approved %+v", p)
	}
	if c := p.Card; c == nil || c.PGIssuerCode != "41" || c.Type != providers.CardTypeCredit || c.ApprovalNumber == "" ||
		c.Number == "" || strings.Contains(c.Number, tossfake.DefaultCard) {
		t.Errorf("card %+v", p.Card)
	}
	byKey, err := e.a.Lookup(context.Background(), e.ch, providers.LookupRequest{PGTransactionID: p.PGTransactionID})
	if err != nil {
		t.Fatal(err)
	}
	byOrder, err := e.a.Lookup(context.Background(), e.ch, providers.LookupRequest{OrderID: "order-w1"})
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range []*providers.Payment{byKey, byOrder} {
		if l.PGTransactionID != p.PGTransactionID || l.Status != providers.StatusPaid || l.Amounts != p.Amounts {
			t.Errorf("lookup %+v", l)
		}
	}
	e.wantFake("order-w1", "DONE", 15000)

	// The same confirm again (same idempotency key) replays the answer.
	again, err := e.approve("order-w1", 15000, w)
	if err != nil || again.PGTransactionID != p.PGTransactionID {
		t.Errorf("replay %+v %v", again, err)
	}
	// Another window for the paid order cannot be confirmed.
	w2 := e.window(providers.PrepareWindowRequest{OrderID: "order-w1", Amount: providers.Amount{Total: 15000}}, tossfake.Choice{})
	_, err = e.a.Approve(context.Background(), e.ch, providers.ApproveRequest{OrderID: "order-w1",
		Amount: providers.Amount{Total: 15000}, Window: w2, IdempotencyKey: "approve-order-w1-second-window"})
	wantKind(t, err, providers.KindAlreadyDone, "ALREADY_PROCESSED_PAYMENT")
	// Toss compares no bodies: the first key again replays the first answer.
	replayed, err := e.approve("order-w1", 15000, w2)
	if err != nil || replayed.PGTransactionID != p.PGTransactionID {
		t.Errorf("same key, other window: %+v %v", replayed, err)
	}

	_, err = e.a.Lookup(context.Background(), e.ch, providers.LookupRequest{OrderID: "order-none"})
	wantKind(t, err, providers.KindNotFound, "NOT_FOUND_PAYMENT")
	_, err = e.a.Lookup(context.Background(), e.ch, providers.LookupRequest{PGTransactionID: "tgen_none"})
	wantKind(t, err, providers.KindNotFound, "NOT_FOUND_PAYMENT")
}

func TestFakeAmountMismatch(t *testing.T) {
	e := newEnv(t)
	w := e.window(providers.PrepareWindowRequest{OrderID: "order-m1", Amount: providers.Amount{Total: 15000}}, tossfake.Choice{})
	_, err := e.approve("order-m1", 1500, w) // paymux expected another amount
	wantKind(t, err, providers.KindInvalidRequest, tosspayments.CodeAmountMismatch)
	tampered := providers.WindowResult{}
	for k, v := range w {
		tampered[k] = v
	}
	tampered["amount"] = "100"
	_, err = e.approve("order-m1", 15000, tampered)
	wantKind(t, err, providers.KindInvalidRequest, tosspayments.CodeAmountMismatch)
	_, err = e.approve("order-m2", 15000, w)
	wantKind(t, err, providers.KindInvalidRequest, tosspayments.CodeOrderMismatch)
	e.wantFake("order-m1", "IN_PROGRESS", 15000) // never confirmed

	// Had the adapter not checked, Toss would refuse the amount too.
	_, err = e.a.Approve(context.Background(), e.ch, providers.ApproveRequest{OrderID: "order-m1", Amount: providers.Amount{Total: 100}, Window: tampered})
	wantKind(t, err, providers.KindInvalidRequest, "INVALID_REQUEST")
}

func TestFakeDeclines(t *testing.T) {
	e := newEnv(t)
	cases := []struct {
		name    string
		choice  tossfake.Choice
		fault   *tossfake.Fault
		code    string
		decline providers.DeclineReason
		after   string // the fake's status afterwards, "" when nothing was recorded
	}{
		{"closed", tossfake.CloseWindow, nil, "PAY_PROCESS_CANCELED", providers.DeclineOther, ""},
		{"window refusal", tossfake.DeclineWith("REJECT_CARD_COMPANY", ""), nil, "REJECT_CARD_COMPANY", providers.DeclineOther, ""},
		{"stopped card", tossfake.ApproveWith(tossfake.StoppedCard), nil, "INVALID_STOPPED_CARD", providers.DeclineLostOrStolen, ""},
		{"rejected card", tossfake.ApproveWith(tossfake.RejectCard), nil, "REJECT_CARD_COMPANY", providers.DeclineOther, ""},
		{"confirm refused", tossfake.ApproveWith(tossfake.ConfirmDeclineCard), nil, "REJECT_CARD_COMPANY", providers.DeclineOther, "ABORTED"},
		{"expired card", tossfake.Choice{}, ptr(tossfake.Decline("INVALID_CARD_EXPIRATION", "")), "INVALID_CARD_EXPIRATION", providers.DeclineExpiredCard, "ABORTED"},
		{"installment", tossfake.Choice{}, ptr(tossfake.Decline("EXCEED_MAX_CARD_INSTALLMENT_PLAN", "")), "EXCEED_MAX_CARD_INSTALLMENT_PLAN", providers.DeclineInvalidInstallment, "ABORTED"},
		{"rejected", tossfake.Choice{}, ptr(tossfake.Decline("INVALID_REJECT_CARD", "")), "INVALID_REJECT_CARD", providers.DeclineOther, "ABORTED"},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			order := "order-d" + string(rune('a'+i)) + "0001"
			w := e.window(providers.PrepareWindowRequest{OrderID: order, Amount: providers.Amount{Total: 5000}}, c.choice)
			if c.fault != nil {
				e.f.FailNext(tossfake.OpConfirm, *c.fault)
			}
			_, err := e.approve(order, 5000, w)
			pe := wantKind(t, err, providers.KindDeclined, c.code)
			if pe.Decline != c.decline || pe.Message == "" || providers.OutcomeUnknown(err) {
				t.Errorf("%+v", pe)
			}
			if c.after == "" {
				if _, _, ok := e.f.Payment(order); ok {
					t.Error("the fake recorded a payment")
				}
				return
			}
			e.wantFake(order, c.after, 5000)
			l, err := e.a.Lookup(context.Background(), e.ch, providers.LookupRequest{OrderID: order})
			if err != nil {
				t.Fatal(err)
			}
			if l.Status != providers.StatusFailed || l.Failure == nil || l.Failure.Code != c.code || l.Amounts.Paid != 0 {
				t.Errorf("lookup %+v failure %+v", l, l.Failure)
			}
		})
	}

	// Key-in refusals.
	_, err := e.a.ChargeKeyIn(context.Background(), e.ch, providers.KeyInRequest{OrderID: "order-k-rej", OrderName: "키인",
		Amount: providers.Amount{Total: 5000}, Card: testCard(tossfake.RejectCard)})
	wantKind(t, err, providers.KindDeclined, "REJECT_CARD_COMPANY")
	_, err = e.a.ChargeKeyIn(context.Background(), e.ch, providers.KeyInRequest{OrderID: "order-k-stop", OrderName: "키인",
		Amount: providers.Amount{Total: 5000}, Card: testCard(tossfake.StoppedCard)})
	if pe := wantKind(t, err, providers.KindDeclined, "INVALID_STOPPED_CARD"); pe.Decline != providers.DeclineLostOrStolen {
		t.Errorf("%+v", pe)
	}
	old := testCard(tossfake.DefaultCard)
	old.ExpiryYear = 2025
	_, err = e.a.ChargeKeyIn(context.Background(), e.ch, providers.KeyInRequest{OrderID: "order-k-exp", OrderName: "키인",
		Amount: providers.Amount{Total: 5000}, Card: old})
	if pe := wantKind(t, err, providers.KindDeclined, "INVALID_CARD_EXPIRATION"); pe.Decline != providers.DeclineExpiredCard {
		t.Errorf("%+v", pe)
	}
	_, err = e.a.ChargeKeyIn(context.Background(), e.ch, providers.KeyInRequest{OrderID: "order-k-inst", OrderName: "키인",
		Amount: providers.Amount{Total: 60000}, Card: testCard(tossfake.DefaultCard), InstallmentMonths: 24})
	if pe := wantKind(t, err, providers.KindDeclined, "EXCEED_MAX_CARD_INSTALLMENT_PLAN"); pe.Decline != providers.DeclineInvalidInstallment {
		t.Errorf("%+v", pe)
	}
}

// A confirm whose answer is lost: the outcome is unknown, Lookup finds the
// payment, and the same confirm again replays Toss's kept answer.
func TestFakeLostAnswer(t *testing.T) {
	e := newEnv(t)
	// No connection reuse, so that net/http cannot retry the request by
	// itself (it does, for a request with an Idempotency-Key on a reused
	// connection).
	a := tosspayments.New(tosspayments.Options{APIURL: e.f.URL, HTTPClient: &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}})
	w := e.window(providers.PrepareWindowRequest{OrderID: "order-lost1", Amount: providers.Amount{Total: 20000}}, tossfake.Choice{})
	e.f.FailNext(tossfake.OpConfirm, tossfake.LoseAnswer)
	req := providers.ApproveRequest{OrderID: "order-lost1", Amount: providers.Amount{Total: 20000}, Window: w, IdempotencyKey: "pay_lost1"}
	_, err := a.Approve(context.Background(), e.ch, req)
	if err == nil || !providers.OutcomeUnknown(err) {
		t.Fatalf("lost answer: %v, want an unknown outcome", err)
	}
	found, err := a.Lookup(context.Background(), e.ch, providers.LookupRequest{OrderID: "order-lost1"})
	if err != nil {
		t.Fatal(err)
	}
	if found.Status != providers.StatusPaid || found.PGTransactionID != w["paymentKey"] {
		t.Errorf("lookup after the lost answer %+v", found)
	}
	p, err := a.Approve(context.Background(), e.ch, req)
	if err != nil || p.PGTransactionID != found.PGTransactionID || p.Status != providers.StatusPaid {
		t.Errorf("replay %+v %v", p, err)
	}

	// A lost key-in answer likewise.
	e.f.FailNext(tossfake.OpKeyIn, tossfake.LoseAnswer)
	_, err = a.ChargeKeyIn(context.Background(), e.ch, providers.KeyInRequest{OrderID: "order-lost2", OrderName: "키인",
		Amount: providers.Amount{Total: 3000}, Card: testCard(tossfake.DefaultCard)})
	if !providers.OutcomeUnknown(err) {
		t.Fatalf("lost key-in: %v", err)
	}
	if l, err := a.Lookup(context.Background(), e.ch, providers.LookupRequest{OrderID: "order-lost2"}); err != nil || l.Status != providers.StatusPaid {
		t.Errorf("lookup %+v %v", l, err)
	}
}

// A confirm held until the caller's deadline: Timeout, outcome unknown;
// Lookup shows it unconfirmed and the confirm can be retried.
func TestFakeTimeout(t *testing.T) {
	e := newEnv(t)
	w := e.window(providers.PrepareWindowRequest{OrderID: "order-slow1", Amount: providers.Amount{Total: 7000}}, tossfake.Choice{})
	e.f.FailNext(tossfake.OpConfirm, tossfake.TimeoutBeforeCharge)
	ctx := ctxTimeout(t, 200*time.Millisecond)
	_, err := e.a.Approve(ctx, e.ch, providers.ApproveRequest{OrderID: "order-slow1", Amount: providers.Amount{Total: 7000}, Window: w, IdempotencyKey: "pay_slow1"})
	wantKind(t, err, providers.KindTimeout, "")
	if !providers.OutcomeUnknown(err) {
		t.Error("a timeout is not an unknown outcome")
	}
	l, err := e.a.Lookup(context.Background(), e.ch, providers.LookupRequest{OrderID: "order-slow1"})
	if err != nil || l.Status != providers.StatusReady {
		t.Fatalf("lookup %+v %v", l, err)
	}
	p, err := e.a.Approve(context.Background(), e.ch, providers.ApproveRequest{OrderID: "order-slow1", Amount: providers.Amount{Total: 7000}, Window: w, IdempotencyKey: "pay_slow1"})
	if err != nil || p.Status != providers.StatusPaid {
		t.Errorf("retry %+v %v", p, err)
	}

	e.f.FailNext(tossfake.OpLookup, tossfake.Unavailable)
	_, err = e.a.Lookup(context.Background(), e.ch, providers.LookupRequest{OrderID: "order-slow1"})
	wantKind(t, err, providers.KindUnavailable, "FAILED_INTERNAL_SYSTEM_PROCESSING")
}

func TestFakePartialCancelsToZero(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	p, err := e.a.ChargeKeyIn(ctx, e.ch, providers.KeyInRequest{OrderID: "order-pc1", OrderName: "키인",
		Amount: providers.Amount{Total: 10000, TaxFree: 1000}, Card: testCard(tossfake.CheckCard), IdempotencyKey: "keyin-pc1"})
	if err != nil {
		t.Fatal(err)
	}
	if p.Status != providers.StatusPaid || p.Card.Type != providers.CardTypeCheck || p.Card.PGIssuerCode != "11" || p.Amounts.TaxFree != 1000 {
		t.Fatalf("key-in %+v card %+v", p, p.Card)
	}
	ids := map[string]bool{}
	steps := []struct {
		amount, balance int64
		status          providers.Status
	}{
		{3000, 7000, providers.StatusPartialCancelled},
		{6500, 500, providers.StatusPartialCancelled}, // takes 500 tax-free: only 6,000 taxable was left
		{0, 0, providers.StatusCancelled},
	}
	for i, s := range steps {
		bal := p.Amounts.Cancellable()
		res, err := e.a.Cancel(ctx, e.ch, providers.CancelRequest{PGTransactionID: p.PGTransactionID, Amount: s.amount,
			ExpectedCancellable: &bal, Reason: "부분 취소", IdempotencyKey: "cancel-pc1-" + string(rune('0'+i))})
		if err != nil {
			t.Fatalf("cancel %d: %v", i, err)
		}
		p = res.Payment
		c := res.Cancellation
		if p.Status != s.status || p.Amounts.Cancellable() != s.balance || c.ID == "" || ids[c.ID] || c.Reason != "부분 취소" {
			t.Errorf("step %d: %+v %+v", i, p.Amounts, c)
		}
		ids[c.ID] = true
		if len(p.Cancellations) != i+1 {
			t.Errorf("step %d: %d cancellations", i, len(p.Cancellations))
		}
	}
	if p.Amounts.CancelledTaxFree != 1000 || p.Amounts.Cancelled != 10000 || p.Amounts.TaxFree != 1000 || p.Amounts.CancelledVAT != p.Amounts.VAT {
		t.Errorf("amounts %+v", p.Amounts)
	}
	if p.Cancellations[1].TaxFree != 500 || p.Cancellations[2].Amount != 500 || p.Cancellations[2].TaxFree != 500 {
		t.Errorf("cancellations %+v", p.Cancellations)
	}
	e.wantFake("order-pc1", "CANCELED", 0)
	_, err = e.a.Cancel(ctx, e.ch, providers.CancelRequest{PGTransactionID: p.PGTransactionID})
	wantKind(t, err, providers.KindAlreadyDone, "ALREADY_CANCELED_PAYMENT")

	q := e.paidByWindow("order-pc2", 5000)
	zero := int64(0)
	_, err = e.a.Cancel(ctx, e.ch, providers.CancelRequest{PGTransactionID: q.PGTransactionID, Amount: 6000, TaxFree: &zero})
	wantKind(t, err, providers.KindInvalidRequest, "NOT_CANCELABLE_AMOUNT")
	// By order id alone.
	res, err := e.a.Cancel(ctx, e.ch, providers.CancelRequest{OrderID: "order-pc2", Amount: 1000})
	if err != nil || res.Payment.Amounts.Cancellable() != 4000 {
		t.Fatalf("%+v %v", res, err)
	}
}

func TestFakeVirtualAccountDepositRefund(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	p, err := e.a.IssueVirtualAccount(ctx, e.ch, providers.IssueVirtualAccountRequest{OrderID: "va-order-1", OrderName: "티셔츠",
		Amount: providers.Amount{Total: 50000}, Bank: providers.BankKB, DueAt: e.clock.Now().Add(48 * time.Hour),
		CustomerName: "김토스", IdempotencyKey: "va-1",
		CashReceipt: &providers.CashReceiptSubject{Type: providers.CashReceiptIncomeDeduction, Identity: providers.NewRedacted("01012345678")}})
	if err != nil {
		t.Fatal(err)
	}
	va := p.VirtualAccount
	if p.Status != providers.StatusVirtualAccountIssued || p.NotificationSecret == "" || p.Amounts.Paid != 0 || va == nil ||
		va.Bank != providers.BankKB || !strings.HasPrefix(va.AccountNumber, "X") || !va.DueAt.Equal(e.clock.Now().Add(48*time.Hour)) {
		t.Fatalf("issued %+v %+v", p, va)
	}
	if err := e.f.Deposit("va-order-1", 50000, "김입금"); err != nil {
		t.Fatal(err)
	}
	events, errs := e.parsed()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("notification %d: %v", i, err)
		}
	}
	var deposit, changed *providers.Event
	for _, ev := range events {
		switch ev.Type {
		case providers.EventDepositArrived:
			deposit = ev
		case providers.EventPaymentStatusChanged:
			if ev.Status == providers.StatusPaid {
				changed = ev
			}
		}
	}
	if deposit == nil || deposit.OrderID != "va-order-1" || deposit.Authenticity != providers.AuthenticityPaymentSecret ||
		deposit.PaymentSecret != p.NotificationSecret || deposit.OccurredAt.IsZero() {
		t.Fatalf("deposit event %+v (events %d)", deposit, len(events))
	}
	if changed == nil || changed.Payment == nil || changed.Payment.Amounts.Paid != 50000 || changed.Authenticity != providers.AuthenticityNone ||
		changed.PGTransactionID != p.PGTransactionID {
		t.Fatalf("status event %+v", changed)
	}
	for _, n := range e.f.Notifications() {
		if !n.Delivered || n.Response != "" {
			t.Errorf("%s not acknowledged: %d %q", n.EventType, n.Status, n.Response)
		}
	}
	// A redelivery is the same event.
	sent := e.f.Notifications()
	for i, n := range sent {
		if n.EventType == tossfake.EventDepositCallback && strings.Contains(string(n.Body), `"DONE"`) {
			if _, err := e.f.Resend(i); err != nil {
				t.Fatal(err)
			}
			break
		}
	}
	events, _ = e.parsed()
	if last := events[len(events)-1]; last.ID != deposit.ID {
		t.Errorf("resent id %q, first %q", last.ID, deposit.ID)
	}

	l, err := e.a.Lookup(ctx, e.ch, providers.LookupRequest{OrderID: "va-order-1"})
	if err != nil {
		t.Fatal(err)
	}
	if l.Status != providers.StatusPaid || l.VirtualAccount.DepositorName != "김입금" || l.VirtualAccount.DepositedAt.IsZero() ||
		l.Amounts.Paid != 50000 || l.CashReceiptID == "" {
		t.Errorf("deposited %+v %+v", l, l.VirtualAccount)
	}

	// A refund needs a refund account.
	zero := int64(0)
	_, err = e.a.Cancel(ctx, e.ch, providers.CancelRequest{PGTransactionID: p.PGTransactionID, TaxFree: &zero})
	wantKind(t, err, providers.KindInvalidRequest, "INVALID_REQUEST")
	res, err := e.a.Cancel(ctx, e.ch, providers.CancelRequest{PGTransactionID: p.PGTransactionID, Amount: 20000, Reason: "환불",
		IdempotencyKey: "refund-1",
		RefundAccount:  &providers.RefundAccount{Bank: providers.BankShinhan, Number: providers.NewRedacted("110-123-456789"), Holder: "김토스"}})
	if err != nil {
		t.Fatal(err)
	}
	r := res.Cancellation.Refund
	if res.Payment.Status != providers.StatusPartialCancelled || res.Cancellation.Amount != 20000 || r == nil ||
		r.Account.Bank != providers.BankShinhan || r.Account.Number.Reveal() != "110123456789" || r.Account.Holder != "김토스" ||
		r.Status != providers.RefundCompleted {
		t.Errorf("refund %+v %+v", res, r)
	}
	e.wantFake("va-order-1", "PARTIAL_CANCELED", 30000)
}

func TestFakeVirtualAccountCloseAndExpire(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	issue := func(order string) *providers.Payment {
		p, err := e.a.IssueVirtualAccount(ctx, e.ch, providers.IssueVirtualAccountRequest{OrderID: order, OrderName: "티셔츠",
			Amount: providers.Amount{Total: 12000}, Bank: providers.BankWoori, Buyer: providers.Buyer{Name: "김토스"}})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	p := issue("va-close-1")
	if want := e.clock.Now().Add(7 * 24 * time.Hour); !p.VirtualAccount.DueAt.Equal(want) || p.VirtualAccount.Bank != providers.BankWoori {
		t.Errorf("default due %v bank %s", p.VirtualAccount.DueAt, p.VirtualAccount.Bank)
	}
	closed, err := e.a.CloseVirtualAccount(ctx, e.ch, providers.CloseVirtualAccountRequest{OrderID: "va-close-1", Reason: "주문 취소"})
	if err != nil {
		t.Fatal(err)
	}
	if closed.Status != providers.StatusCancelled || closed.Amounts.Paid != 0 || closed.Amounts.Cancellable() != 0 || len(closed.Cancellations) != 0 {
		t.Errorf("closed %+v", closed)
	}
	_, err = e.a.CloseVirtualAccount(ctx, e.ch, providers.CloseVirtualAccountRequest{PGTransactionID: p.PGTransactionID})
	wantKind(t, err, providers.KindAlreadyDone, "")

	issue("va-paid-1")
	if err := e.f.Deposit("va-paid-1", 12000, "김입금"); err != nil {
		t.Fatal(err)
	}
	_, err = e.a.CloseVirtualAccount(ctx, e.ch, providers.CloseVirtualAccountRequest{OrderID: "va-paid-1"})
	wantKind(t, err, providers.KindInvalidRequest, tosspayments.CodeAlreadyDeposited)
	e.wantFake("va-paid-1", "DONE", 12000)

	issue("va-exp-1")
	if err := e.f.ExpireVirtualAccount("va-exp-1"); err != nil {
		t.Fatal(err)
	}
	l, err := e.a.Lookup(ctx, e.ch, providers.LookupRequest{OrderID: "va-exp-1"})
	if err != nil || l.Status != providers.StatusExpired || !l.VirtualAccount.Expired {
		t.Errorf("expired %+v %v", l, err)
	}
	found := false
	events, _ := e.parsed()
	for _, ev := range events {
		if ev != nil && ev.OrderID == "va-exp-1" && ev.Status == providers.StatusExpired {
			found = true
		}
	}
	if !found {
		t.Error("no notification of the expiry")
	}

	// A window virtual account.
	w := e.window(providers.PrepareWindowRequest{OrderID: "va-window-1", Method: providers.MethodVirtualAccount,
		Amount: providers.Amount{Total: 9000}, Buyer: providers.Buyer{Name: "김토스"}}, tossfake.Choice{})
	wp, err := e.approve("va-window-1", 9000, w)
	if err != nil {
		t.Fatal(err)
	}
	if wp.Status != providers.StatusVirtualAccountIssued || wp.NotificationSecret == "" || wp.VirtualAccount == nil ||
		wp.VirtualAccount.Bank != providers.BankWoori || wp.Amounts.Paid != 0 {
		t.Errorf("window account %+v", wp)
	}
}

func TestFakeBilling(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	res, err := e.a.PrepareWindow(ctx, e.ch, providers.PrepareWindowRequest{Purpose: providers.WindowBillingKey,
		CustomerKey: "cus_7f3a9b21", ReturnURL: "https://pay.example/billing/bk_1?rt=x"})
	if err != nil {
		t.Fatal(err)
	}
	ret, err := e.f.CompleteWindow(res.Params, tossfake.Choice{})
	if err != nil {
		t.Fatal(err)
	}
	w := providers.WindowResult{}
	for k, v := range ret.Query() {
		if k != "rt" {
			w[k] = v[0]
		}
	}
	k, err := e.a.IssueBillingKey(ctx, e.ch, providers.IssueBillingKeyRequest{CustomerKey: "cus_7f3a9b21", Window: w})
	if err != nil {
		t.Fatal(err)
	}
	if k.Key == "" || k.CustomerKey != "cus_7f3a9b21" || k.Card.PGIssuerCode == "" || k.Card.Number == "" || k.IssuedAt.IsZero() {
		t.Errorf("billing key %+v", k)
	}
	// The authKey is good once.
	_, err = e.a.IssueBillingKey(ctx, e.ch, providers.IssueBillingKeyRequest{CustomerKey: "cus_7f3a9b21", Window: w, IdempotencyKey: "other"})
	wantKind(t, err, providers.KindNotFound, "NOT_FOUND")

	p, err := e.a.ChargeBillingKey(ctx, e.ch, providers.ChargeBillingKeyRequest{BillingKey: k.Key, CustomerKey: "cus_7f3a9b21",
		OrderID: "bill-order-1", OrderName: "3월 구독", Amount: providers.Amount{Total: 9900}})
	if err != nil {
		t.Fatal(err)
	}
	if p.Status != providers.StatusPaid || p.BillingKey != k.Key || p.Amounts.Paid != 9900 {
		t.Errorf("charge %+v", p)
	}
	_, err = e.a.ChargeBillingKey(ctx, e.ch, providers.ChargeBillingKeyRequest{BillingKey: k.Key, CustomerKey: "cus_other",
		OrderID: "bill-order-2", OrderName: "3월 구독", Amount: providers.Amount{Total: 9900}})
	wantKind(t, err, providers.KindInvalidRequest, "NOT_MATCHES_CUSTOMER_KEY")
	_, err = e.a.ChargeBillingKey(ctx, e.ch, providers.ChargeBillingKeyRequest{BillingKey: k.Key, CustomerKey: "cus_7f3a9b21",
		OrderID: "bill-order-1", OrderName: "3월 구독", Amount: providers.Amount{Total: 9900}, IdempotencyKey: "another"})
	wantKind(t, err, providers.KindAlreadyDone, "DUPLICATED_ORDER_ID")

	// From card data.
	ck, err := e.a.IssueBillingKey(ctx, e.ch, providers.IssueBillingKeyRequest{CustomerKey: "cus_card_1", Card: ptr(testCard(tossfake.CheckCard))})
	if err != nil {
		t.Fatal(err)
	}
	if ck.Card.Type != providers.CardTypeCheck || ck.Card.PGIssuerCode != "11" {
		t.Errorf("card billing key %+v", ck)
	}
	_, err = e.a.IssueBillingKey(ctx, e.ch, providers.IssueBillingKeyRequest{CustomerKey: "cus_card_2", Card: ptr(testCard(tossfake.RejectCard))})
	wantKind(t, err, providers.KindDeclined, "REJECT_CARD_COMPANY")
	e.f.FailNext(tossfake.OpBillingCharge, tossfake.Decline("REJECT_CARD_COMPANY", "한도초과"))
	_, err = e.a.ChargeBillingKey(ctx, e.ch, providers.ChargeBillingKeyRequest{BillingKey: ck.Key, CustomerKey: "cus_card_1",
		OrderID: "bill-order-3", OrderName: "구독", Amount: providers.Amount{Total: 1000}})
	if pe := wantKind(t, err, providers.KindDeclined, "REJECT_CARD_COMPANY"); pe.Message != "한도초과" {
		t.Errorf("%+v", pe)
	}

	d, err := e.a.DeleteBillingKey(ctx, e.ch, providers.DeleteBillingKeyRequest{BillingKey: ck.Key, CustomerKey: "cus_card_1"})
	if err != nil || d.Key != ck.Key || d.DeletedAt.IsZero() {
		t.Fatalf("%+v %v", d, err)
	}
	_, err = e.a.ChargeBillingKey(ctx, e.ch, providers.ChargeBillingKeyRequest{BillingKey: ck.Key, CustomerKey: "cus_card_1",
		OrderID: "bill-order-4", OrderName: "구독", Amount: providers.Amount{Total: 1000}})
	wantKind(t, err, providers.KindNotFound, "")
	_, err = e.a.DeleteBillingKey(ctx, e.ch, providers.DeleteBillingKeyRequest{BillingKey: ck.Key})
	wantKind(t, err, providers.KindNotFound, "")

	// A closed billing window.
	ret, err = e.f.CompleteWindow(res.Params, tossfake.CloseWindow)
	if err != nil {
		t.Fatal(err)
	}
	fw := providers.WindowResult{}
	for k, v := range ret.Query() {
		fw[k] = v[0]
	}
	_, err = e.a.IssueBillingKey(ctx, e.ch, providers.IssueBillingKeyRequest{CustomerKey: "cus_7f3a9b21", Window: fw})
	wantKind(t, err, providers.KindDeclined, "PAY_PROCESS_CANCELED")
}

func TestFakeCashReceipt(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	r, err := e.a.IssueCashReceipt(ctx, e.ch, providers.IssueCashReceiptRequest{OrderID: "cr-order-1", OrderName: "계좌이체 입금",
		Amount: providers.Amount{Total: 33000}, Subject: providers.CashReceiptSubject{Type: providers.CashReceiptExpenseProof,
			Identity: providers.NewRedacted("123-45-67890")}})
	if err != nil {
		t.Fatal(err)
	}
	if r.ReceiptID == "" || r.Status != providers.CashReceiptRequested || r.Type != providers.CashReceiptExpenseProof || r.Amounts.Total != 33000 {
		t.Fatalf("issued %+v", r)
	}
	l, err := e.a.LookupCashReceipt(ctx, e.ch, providers.LookupCashReceiptRequest{ReceiptID: r.ReceiptID})
	if err != nil || l.Status != providers.CashReceiptRequested {
		t.Fatalf("lookup %+v %v", l, err)
	}
	e.clock.Add(25 * time.Hour)
	l, err = e.a.LookupCashReceipt(ctx, e.ch, providers.LookupCashReceiptRequest{OrderID: "cr-order-1"})
	if err != nil || l.Status != providers.CashReceiptIssued || l.ReceiptID != r.ReceiptID || l.ApprovalNumber == "" {
		t.Fatalf("lookup a day later %+v %v", l, err)
	}
	c, err := e.a.CancelCashReceipt(ctx, e.ch, providers.CancelCashReceiptRequest{ReceiptID: r.ReceiptID, Amount: 13000, IdempotencyKey: "crc-1"})
	if err != nil || c.Status != providers.CashReceiptPartialCancelled || c.Amounts.Cancelled != 13000 {
		t.Fatalf("cancel %+v %v", c, err)
	}
	l, err = e.a.LookupCashReceipt(ctx, e.ch, providers.LookupCashReceiptRequest{ReceiptID: r.ReceiptID})
	if err != nil || l.Status != providers.CashReceiptPartialCancelled || l.Amounts.Cancelled != 13000 {
		t.Fatalf("lookup after a partial cancel %+v %v", l, err)
	}
	c, err = e.a.CancelCashReceipt(ctx, e.ch, providers.CancelCashReceiptRequest{ReceiptID: r.ReceiptID})
	if err != nil || c.Status != providers.CashReceiptCancelled || c.Amounts.Cancelled != 20000 {
		t.Fatalf("cancel the rest %+v %v", c, err)
	}
	l, err = e.a.LookupCashReceipt(ctx, e.ch, providers.LookupCashReceiptRequest{ReceiptID: r.ReceiptID})
	if err != nil || l.Status != providers.CashReceiptCancelled || l.Amounts.Cancelled != 33000 {
		t.Fatalf("lookup after cancelling all %+v %v", l, err)
	}
	_, err = e.a.CancelCashReceipt(ctx, e.ch, providers.CancelCashReceiptRequest{ReceiptID: r.ReceiptID})
	wantKind(t, err, providers.KindAlreadyDone, "ALREADY_CANCELED_PAYMENT")
	_, err = e.a.LookupCashReceipt(ctx, e.ch, providers.LookupCashReceiptRequest{ReceiptID: "rcpt_none"})
	wantKind(t, err, providers.KindNotFound, "")
}

func TestFakeCredentials(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	if err := e.a.VerifyCredentials(ctx, e.ch); err != nil {
		t.Errorf("published test keys refused: %v", err)
	}
	if err := e.a.CheckChannel(e.ch); err != nil {
		t.Errorf("check: %v", err)
	}
	wrong := e.ch
	wrong.Secrets = providers.Secrets{tosspayments.SecretClientKey: tossfake.TestClientKey,
		tosspayments.SecretSecretKey: "test_sk_wrongWrongWrongWrong000"}
	err := e.a.VerifyCredentials(ctx, wrong)
	wantKind(t, err, providers.KindUnauthorized, "UNAUTHORIZED_KEY")
	_, err = e.a.Lookup(ctx, wrong, providers.LookupRequest{OrderID: "order-1"})
	wantKind(t, err, providers.KindUnauthorized, "UNAUTHORIZED_KEY")

	// Another merchant's keys see none of this merchant's payments.
	e.f.AddKeys("test_ck_otherMerchant0001", "test_sk_otherMerchant0001", "other")
	e.paidByWindow("order-own1", 1000)
	other := e.ch
	other.MerchantID = "other"
	other.Secrets = providers.Secrets{tosspayments.SecretClientKey: "test_ck_otherMerchant0001", tosspayments.SecretSecretKey: "test_sk_otherMerchant0001"}
	if err := e.a.VerifyCredentials(ctx, other); err != nil {
		t.Errorf("added keys: %v", err)
	}
	_, err = e.a.Lookup(ctx, other, providers.LookupRequest{OrderID: "order-own1"})
	wantKind(t, err, providers.KindNotFound, "NOT_FOUND_PAYMENT")
}

// Key-in: idempotency and a reused order id.
func TestFakeKeyInIdempotency(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	req := providers.KeyInRequest{OrderID: "order-ki1", OrderName: "키인", Amount: providers.Amount{Total: 4000},
		Card: testCard(tossfake.DefaultCard), InstallmentMonths: 0, IdempotencyKey: "pay_ki1"}
	p1, err := e.a.ChargeKeyIn(ctx, e.ch, req)
	if err != nil {
		t.Fatal(err)
	}
	p2, err := e.a.ChargeKeyIn(ctx, e.ch, req)
	if err != nil || p2.PGTransactionID != p1.PGTransactionID {
		t.Errorf("replay %+v %v", p2, err)
	}
	req.IdempotencyKey = "pay_ki1-again"
	_, err = e.a.ChargeKeyIn(ctx, e.ch, req)
	wantKind(t, err, providers.KindAlreadyDone, "DUPLICATED_ORDER_ID")
	// Without a key, one is derived from the order id: a retry replays.
	req.OrderID, req.IdempotencyKey = "order-ki2", ""
	p3, err := e.a.ChargeKeyIn(ctx, e.ch, req)
	if err != nil {
		t.Fatal(err)
	}
	p4, err := e.a.ChargeKeyIn(ctx, e.ch, req)
	if err != nil || p4.PGTransactionID != p3.PGTransactionID {
		t.Errorf("derived-key replay %+v %v", p4, err)
	}
}
