package nicepay_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/paymux/paymux/providers"
	"github.com/paymux/paymux/providers/nicepay"
	"github.com/paymux/paymux/providers/nicepay/nicepayfake"
)

// clock is a settable clock shared by the fake and the adapter.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// env is a fake NicePay, an adapter pointed at it and a TEST channel with
// the manual's sandbox keys.
type env struct {
	t     *testing.T
	fake  *nicepayfake.Fake
	a     *nicepay.Adapter
	ch    providers.Channel
	clock *clock
	ctx   context.Context
}

func newEnv(t *testing.T) *env {
	c := &clock{t: time.Date(2024, 3, 1, 1, 0, 0, 0, time.UTC)} // 10:00 KST
	f := nicepayfake.Start(nicepayfake.Options{Now: c.Now})
	t.Cleanup(f.Close)
	return &env{
		t:     t,
		fake:  f,
		a:     nicepay.New(nicepay.Options{SandboxAPIURL: f.URL, APIURL: "http://127.0.0.1:1", SDKURL: f.SDKURL(), Now: c.Now}),
		clock: c,
		ctx:   context.Background(),
		ch: providers.Channel{ID: "ch_np", MerchantID: "nicepay00m", Mode: providers.ModeTest, Secrets: providers.Secrets{
			"client_id": nicepayfake.SandboxClientID, "secret_key": nicepayfake.SandboxSecretKey,
		}},
	}
}

func (e *env) withClientApproval() {
	e.ch.Secrets["client_approval_client_id"] = nicepayfake.ClientApprovalID
	e.ch.Secrets["client_approval_secret_key"] = nicepayfake.ClientApprovalSecret
}

// window prepares a window and plays the buyer in it; it returns what
// NicePay posted to returnUrl.
func (e *env) window(req providers.PrepareWindowRequest, choice nicepayfake.Choice) providers.WindowResult {
	e.t.Helper()
	if req.ReturnURL == "" {
		req.ReturnURL = "https://shop.example/nicepay/return"
	}
	if req.OrderName == "" {
		req.OrderName = "T-shirt"
	}
	res, err := e.a.PrepareWindow(e.ctx, e.ch, req)
	if err != nil {
		e.t.Fatal(err)
	}
	if res.SDKURL != e.fake.SDKURL() {
		e.t.Errorf("SDKURL %q, want %q", res.SDKURL, e.fake.SDKURL())
	}
	ret, err := e.fake.CompleteWindow(res.Params, choice)
	if err != nil {
		e.t.Fatalf("window: %v", err)
	}
	if ret.Method != http.MethodPost || ret.URL != req.ReturnURL {
		e.t.Errorf("window returned %s %s", ret.Method, ret.URL)
	}
	w := providers.WindowResult{}
	for k, v := range ret.Form {
		w[k] = v[0]
	}
	return w
}

// pay opens a card window for orderID and approves it.
func (e *env) pay(orderID string, amount int64) *providers.Payment {
	e.t.Helper()
	w := e.window(providers.PrepareWindowRequest{OrderID: orderID, Amount: providers.Amount{Total: amount}}, nicepayfake.Choice{})
	p, err := e.a.Approve(e.ctx, e.ch, providers.ApproveRequest{OrderID: orderID, Amount: providers.Amount{Total: amount}, Window: w})
	if err != nil {
		e.t.Fatalf("approve %s: %v", orderID, err)
	}
	return p
}

func (e *env) fakeStatus(orderID string) (string, int64) {
	st, bal, ok := e.fake.Payment(orderID)
	if !ok {
		return "", 0
	}
	return st, bal
}

func TestFakeWindowApproveLookup(t *testing.T) {
	e := newEnv(t)
	p := e.pay("order-1", 15000)
	if p.Status != providers.StatusPaid || p.Amounts.Paid != 15000 || p.OrderID != "order-1" || p.Card == nil || p.Card.Issuer != providers.CardSamsung {
		t.Fatalf("approved %+v", p)
	}
	if st, bal := e.fakeStatus("order-1"); st != "paid" || bal != 15000 {
		t.Errorf("fake: %s %d", st, bal)
	}
	byTID, err := e.a.Lookup(e.ctx, e.ch, providers.LookupRequest{PGTransactionID: p.PGTransactionID})
	if err != nil {
		t.Fatal(err)
	}
	byOrder, err := e.a.Lookup(e.ctx, e.ch, providers.LookupRequest{OrderID: "order-1"})
	if err != nil {
		t.Fatal(err)
	}
	for _, got := range []*providers.Payment{byTID, byOrder} {
		if got.PGTransactionID != p.PGTransactionID || got.Status != providers.StatusPaid || got.Amounts != p.Amounts {
			t.Errorf("lookup %+v, want %+v", got, p)
		}
	}
	// An order made two days ago and paid today is found under today.
	if got, err := e.a.Lookup(e.ctx, e.ch, providers.LookupRequest{OrderID: "order-1", OrderDate: e.clock.Now().Add(-48 * time.Hour)}); err != nil || got.PGTransactionID != p.PGTransactionID {
		t.Errorf("lookup under the order's earlier date: %+v, %v", got, err)
	}
	_, err = e.a.Lookup(e.ctx, e.ch, providers.LookupRequest{OrderID: "nothing"})
	wantKind(t, err, providers.KindNotFound)
	_, err = e.a.Lookup(e.ctx, e.ch, providers.LookupRequest{PGTransactionID: "UT0000000000000000000000000000"})
	wantKind(t, err, providers.KindNotFound)

	// The order is paid: a second window for it is refused.
	w := e.window(providers.PrepareWindowRequest{OrderID: "order-1", Amount: providers.Amount{Total: 15000}}, nicepayfake.Choice{})
	_, err = e.a.Approve(e.ctx, e.ch, providers.ApproveRequest{OrderID: "order-1", Amount: providers.Amount{Total: 15000}, Window: w})
	wantKind(t, err, providers.KindAlreadyDone)
}

func TestFakeWindowRefusals(t *testing.T) {
	e := newEnv(t)
	req := providers.PrepareWindowRequest{OrderID: "order-2", Amount: providers.Amount{Total: 5000}}
	w := e.window(req, nicepayfake.Choice{})

	forged := maps(w)
	forged["signature"] = nicepay.WindowSignature(w["authToken"], w["clientId"], w["amount"], "a-secret-that-is-not-the-key")
	_, err := e.a.Approve(e.ctx, e.ch, providers.ApproveRequest{OrderID: "order-2", Amount: providers.Amount{Total: 5000}, Window: forged})
	wantKind(t, err, providers.KindUnauthorized)

	cheaper := maps(w)
	cheaper["amount"] = "500" // the signature covers the amount
	_, err = e.a.Approve(e.ctx, e.ch, providers.ApproveRequest{OrderID: "order-2", Amount: providers.Amount{Total: 500}, Window: cheaper})
	wantKind(t, err, providers.KindUnauthorized)

	_, err = e.a.Approve(e.ctx, e.ch, providers.ApproveRequest{OrderID: "order-2", Amount: providers.Amount{Total: 4000}, Window: w})
	if pe := wantKind(t, err, providers.KindInvalidRequest); pe.Code != "AMOUNT_MISMATCH" {
		t.Errorf("code %s", pe.Code)
	}
	if st, _ := e.fakeStatus("order-2"); st != "" {
		t.Errorf("refused approvals reached NicePay: %s", st)
	}
	// The genuine result still approves.
	if _, err := e.a.Approve(e.ctx, e.ch, providers.ApproveRequest{OrderID: "order-2", Amount: providers.Amount{Total: 5000}, Window: w}); err != nil {
		t.Fatal(err)
	}
}

func maps(w providers.WindowResult) providers.WindowResult {
	c := providers.WindowResult{}
	for k, v := range w {
		c[k] = v
	}
	return c
}

func TestFakeDeclines(t *testing.T) {
	e := newEnv(t)
	cases := []struct {
		name    string
		choice  nicepayfake.Choice
		fault   *nicepayfake.Fault
		kind    providers.Kind
		decline providers.DeclineReason
		code    string
	}{
		{"card company refusal", nicepayfake.ApproveWith(nicepayfake.CardRefused), nil, providers.KindDeclined, providers.DeclineOther, "3095"},
		{"expired card", nicepayfake.ApproveWith(nicepayfake.CardExpired), nil, providers.KindDeclined, providers.DeclineExpiredCard, "3021"},
		{"bad card number in the window", nicepayfake.ApproveWith("12"), nil, providers.KindDeclined, providers.DeclineInvalidCard, "3011"},
		{"window authentication refused", nicepayfake.DeclineWith("C002", "카드사 인증 실패"), nil, providers.KindDeclined, providers.DeclineAuthentication, "C002"},
		{"buyer closed the window", nicepayfake.CloseWindow, nil, providers.KindInvalidRequest, "", "I002"},
		{"installments", nicepayfake.Choice{}, ptr(nicepayfake.Decline("3024", "할부 최소금액 오류")), providers.KindDeclined, providers.DeclineInvalidInstallment, "3024"},
		{"amount differs at NicePay", nicepayfake.Choice{}, ptr(nicepayfake.Decline("A123", "거래금액 불일치")), providers.KindInvalidRequest, "", "A123"},
	}
	for i, c := range cases {
		order := "order-d" + string(rune('a'+i))
		w := e.window(providers.PrepareWindowRequest{OrderID: order, Amount: providers.Amount{Total: 20000}}, c.choice)
		if c.fault != nil {
			e.fake.FailNext(nicepayfake.OpApprove, *c.fault)
		}
		_, err := e.a.Approve(e.ctx, e.ch, providers.ApproveRequest{OrderID: order, Amount: providers.Amount{Total: 20000}, Window: w})
		var pe *providers.Error
		if !errors.As(err, &pe) || pe.Kind != c.kind || pe.Decline != c.decline || pe.Code != c.code || pe.Message == "" {
			t.Errorf("%s: %v, want %v %q %s", c.name, err, c.kind, c.decline, c.code)
		}
		if providers.OutcomeUnknown(err) {
			t.Errorf("%s: a decline must be definite", c.name)
		}
		if st, _ := e.fakeStatus(order); st == "paid" {
			t.Errorf("%s: paid at NicePay", c.name)
		}
	}
}

func ptr[T any](v T) *T { return &v }

func TestFakeLostApproveNetCancel(t *testing.T) {
	e := newEnv(t)
	approveLost := func(order string, fault nicepayfake.Fault) error {
		w := e.window(providers.PrepareWindowRequest{OrderID: order, Amount: providers.Amount{Total: 9900}}, nicepayfake.Choice{})
		e.fake.FailNext(nicepayfake.OpApprove, fault)
		ctx, cancel := context.WithTimeout(e.ctx, 300*time.Millisecond)
		defer cancel()
		_, err := e.a.Approve(ctx, e.ch, providers.ApproveRequest{OrderID: order, Amount: providers.Amount{Total: 9900}, Window: w})
		return err
	}

	err := approveLost("order-lost", nicepayfake.LoseAnswer)
	if !providers.OutcomeUnknown(err) {
		t.Fatalf("lost answer: %v is not outcome-unknown", err)
	}
	p, err := e.a.Lookup(e.ctx, e.ch, providers.LookupRequest{OrderID: "order-lost"})
	if err != nil || p.Status != providers.StatusPaid {
		t.Fatalf("lookup after the lost answer: %+v %v", p, err)
	}
	e.clock.Add(59 * time.Minute)
	voided, err := e.a.NetCancel(e.ctx, e.ch, providers.NetCancelRequest{OrderID: "order-lost", PGTransactionID: p.PGTransactionID})
	if err != nil {
		t.Fatal(err)
	}
	if voided.Status != providers.StatusCancelled || voided.Amounts.Cancellable() != 0 {
		t.Errorf("net-cancelled %+v", voided)
	}
	if st, bal := e.fakeStatus("order-lost"); st != "cancelled" || bal != 0 {
		t.Errorf("fake: %s %d", st, bal)
	}

	err = approveLost("order-late", nicepayfake.TimeoutAfterCharge)
	wantKind(t, err, providers.KindTimeout)
	e.clock.Add(61 * time.Minute)
	_, err = e.a.NetCancel(e.ctx, e.ch, providers.NetCancelRequest{OrderID: "order-late"})
	if pe := wantKind(t, err, providers.KindInvalidRequest); pe.Code != "2020" {
		t.Errorf("code %s", pe.Code)
	}
	if st, _ := e.fakeStatus("order-late"); st != "paid" {
		t.Errorf("fake: %s", st)
	}

	_, err = e.a.NetCancel(e.ctx, e.ch, providers.NetCancelRequest{OrderID: "never-approved"})
	wantKind(t, err, providers.KindNotFound)

	// Nothing charged before the timeout: Lookup finds nothing.
	err = approveLost("order-early", nicepayfake.TimeoutBeforeCharge)
	if !providers.OutcomeUnknown(err) {
		t.Fatalf("timeout: %v", err)
	}
	_, err = e.a.Lookup(e.ctx, e.ch, providers.LookupRequest{OrderID: "order-early"})
	wantKind(t, err, providers.KindNotFound)

	e.fake.FailNext(nicepayfake.OpLookup, nicepayfake.Unavailable)
	_, err = e.a.Lookup(e.ctx, e.ch, providers.LookupRequest{OrderID: "order-lost"})
	if !providers.OutcomeUnknown(err) {
		t.Errorf("HTTP 500: %v", err)
	}
}

func TestFakePartialCancels(t *testing.T) {
	e := newEnv(t)
	p := e.pay("order-pc", 10000)
	tf := int64(0)
	cancel := func(amount int64, key string) (*providers.CancelResult, error) {
		return e.a.Cancel(e.ctx, e.ch, providers.CancelRequest{
			PGTransactionID: p.PGTransactionID, OrderID: "order-pc", Amount: amount, TaxFree: &tf, VAT: ptr(int64(0)),
			Reason: "partial", IdempotencyKey: key,
		})
	}
	seen := map[string]bool{}
	for i, step := range []struct {
		amount, balance int64
		key             string
		status          providers.Status
	}{
		{3000, 7000, "can_1", providers.StatusPartialCancelled},
		{2500, 4500, "can_2", providers.StatusPartialCancelled},
		{4500, 0, "can_3", providers.StatusCancelled},
	} {
		res, err := cancel(step.amount, step.key)
		if err != nil {
			t.Fatalf("cancel %d: %v", i, err)
		}
		if res.Cancellation.Amount != step.amount || res.Cancellation.ID == "" || res.Cancellation.ID == p.PGTransactionID || seen[res.Cancellation.ID] {
			t.Errorf("cancel %d: %+v", i, res.Cancellation)
		}
		seen[res.Cancellation.ID] = true
		if res.Payment.Status != step.status || res.Payment.Amounts.Cancellable() != step.balance {
			t.Errorf("cancel %d: %s, balance %d", i, res.Payment.Status, res.Payment.Amounts.Cancellable())
		}
		if _, bal := e.fakeStatus("order-pc"); bal != step.balance {
			t.Errorf("cancel %d: fake balance %d", i, bal)
		}
	}
	// A retry of a done cancel sends its order id again: refused as done.
	_, err := cancel(2500, "can_2")
	wantKind(t, err, providers.KindAlreadyDone)
	_, err = cancel(0, "can_4")
	wantKind(t, err, providers.KindAlreadyDone)

	q := e.pay("order-over", 1000)
	_, err = e.a.Cancel(e.ctx, e.ch, providers.CancelRequest{PGTransactionID: q.PGTransactionID, OrderID: "order-over", Amount: 1001, IdempotencyKey: "can_x"})
	if pe := wantKind(t, err, providers.KindInvalidRequest); pe.Code != "2032" {
		t.Errorf("code %s", pe.Code)
	}
	// A full cancel (no amount) takes what is left.
	res, err := e.a.Cancel(e.ctx, e.ch, providers.CancelRequest{PGTransactionID: q.PGTransactionID, OrderID: "order-over", IdempotencyKey: "can_y"})
	if err != nil || res.Cancellation.Amount != 1000 || res.Payment.Status != providers.StatusCancelled {
		t.Fatalf("full cancel: %+v %v", res, err)
	}
}

// receiver is paymux's webhook endpoint in miniature: it parses each
// notification with the adapter and answers its Ack.
type receiver struct {
	srv    *httptest.Server
	mu     sync.Mutex
	events []*providers.Event
	errs   []error
}

func (e *env) receiver() *receiver {
	r := &receiver{}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		ev, err := e.a.ParseNotification(req.Context(), e.ch, providers.Notification{Method: req.Method, Path: req.URL.Path, Header: req.Header, Body: body})
		r.mu.Lock()
		defer r.mu.Unlock()
		if err != nil {
			r.errs = append(r.errs, err)
			http.Error(w, "refused", http.StatusBadRequest)
			return
		}
		r.events = append(r.events, ev)
		w.Header().Set("Content-Type", ev.Ack.ContentType)
		w.WriteHeader(ev.Ack.StatusCode)
		w.Write(ev.Ack.Body)
	}))
	e.t.Cleanup(r.srv.Close)
	e.fake.SetWebhookURL(r.srv.URL + "/webhooks/nicepay")
	return r
}

func (r *receiver) last() *providers.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.events) == 0 {
		return nil
	}
	return r.events[len(r.events)-1]
}

func TestFakeVirtualAccount(t *testing.T) {
	e := newEnv(t)
	rcv := e.receiver()
	req := providers.PrepareWindowRequest{OrderID: "order-va", Method: providers.MethodVirtualAccount, Amount: providers.Amount{Total: 33000},
		Buyer: providers.Buyer{Name: "김입금"}}
	w := e.window(req, nicepayfake.Choice{})
	p, err := e.a.Approve(e.ctx, e.ch, providers.ApproveRequest{OrderID: "order-va", Amount: providers.Amount{Total: 33000}, Window: w})
	if err != nil {
		t.Fatal(err)
	}
	va := p.VirtualAccount
	if p.Status != providers.StatusVirtualAccountIssued || p.Method != providers.MethodVirtualAccount || va == nil ||
		va.AccountNumber == "" || !va.Bank.Valid() || va.DueAt.IsZero() || va.Holder != "김입금" || p.Amounts.Paid != 0 {
		t.Fatalf("issued %+v %+v", p, va)
	}
	if ev := rcv.last(); ev == nil || ev.Type != providers.EventVirtualAccountIssued {
		t.Errorf("issue notification %+v", ev)
	}

	if err := e.fake.Deposit("order-va", 33000, "김입금"); err != nil {
		t.Fatal(err)
	}
	ev := rcv.last()
	if ev == nil || ev.Type != providers.EventDepositArrived || ev.Amount != 33000 || ev.Status != providers.StatusPaid ||
		ev.Authenticity != providers.AuthenticitySignature || ev.PGTransactionID != p.PGTransactionID || ev.Payment.Amounts.Paid != 33000 {
		t.Fatalf("deposit event %+v", ev)
	}
	sent := e.fake.Notifications()
	if n := sent[len(sent)-1]; !n.Delivered || n.Response != "OK" {
		t.Errorf("the fake counts the deposit notice as not delivered: %d %q", n.Status, n.Response)
	}
	// A resend is the same event.
	again, err := e.fake.Resend(len(sent) - 1)
	if err != nil || !again.Delivered {
		t.Fatalf("resend: %+v %v", again, err)
	}
	if dup := rcv.last(); dup.ID != ev.ID {
		t.Errorf("resend has event id %s, first %s", dup.ID, ev.ID)
	}

	// Refund: needs a refund account.
	_, err = e.a.Cancel(e.ctx, e.ch, providers.CancelRequest{PGTransactionID: p.PGTransactionID, OrderID: "order-va", Reason: "refund", IdempotencyKey: "can_r0"})
	wantKind(t, err, providers.KindInvalidRequest)
	account := &providers.RefundAccount{Bank: providers.BankShinhan, Number: providers.NewRedacted("110123456789"), Holder: "김입금"}
	res, err := e.a.Cancel(e.ctx, e.ch, providers.CancelRequest{PGTransactionID: p.PGTransactionID, OrderID: "order-va", Reason: "refund",
		RefundAccount: account, IdempotencyKey: "can_r1"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Payment.Status != providers.StatusCancelled || res.Cancellation.Amount != 33000 || res.Cancellation.Refund == nil ||
		res.Cancellation.Refund.Status != providers.RefundPending {
		t.Errorf("refund %+v %+v", res.Payment, res.Cancellation)
	}
	if ev := rcv.last(); ev.Type != providers.EventPaymentCancelled || ev.Amount != 33000 {
		t.Errorf("refund event %+v", ev)
	}

	// Another account, closed before any deposit.
	w = e.window(providers.PrepareWindowRequest{OrderID: "order-va2", Method: providers.MethodVirtualAccount, Amount: providers.Amount{Total: 1000}}, nicepayfake.Choice{})
	q, err := e.a.Approve(e.ctx, e.ch, providers.ApproveRequest{OrderID: "order-va2", Amount: providers.Amount{Total: 1000}, Window: w})
	if err != nil {
		t.Fatal(err)
	}
	if q.VirtualAccount.Holder != nicepay.DefaultVbankHolder {
		t.Errorf("holder %q", q.VirtualAccount.Holder)
	}
	closed, err := e.a.CloseVirtualAccount(e.ctx, e.ch, providers.CloseVirtualAccountRequest{PGTransactionID: q.PGTransactionID, OrderID: "order-va2"})
	if err != nil {
		t.Fatal(err)
	}
	if closed.Status != providers.StatusCancelled {
		t.Errorf("closed %s", closed.Status)
	}
	if err := e.fake.Deposit("order-va2", 1000, "x"); err == nil {
		t.Error("a closed account took a deposit")
	}

	// Expiry: no notice, Lookup shows it.
	w = e.window(providers.PrepareWindowRequest{OrderID: "order-va3", Method: providers.MethodVirtualAccount, Amount: providers.Amount{Total: 1000}}, nicepayfake.Choice{})
	if _, err := e.a.Approve(e.ctx, e.ch, providers.ApproveRequest{OrderID: "order-va3", Amount: providers.Amount{Total: 1000}, Window: w}); err != nil {
		t.Fatal(err)
	}
	if err := e.fake.ExpireVirtualAccount("order-va3"); err != nil {
		t.Fatal(err)
	}
	exp, err := e.a.Lookup(e.ctx, e.ch, providers.LookupRequest{OrderID: "order-va3"})
	if err != nil || exp.Status != providers.StatusExpired || !exp.VirtualAccount.Expired {
		t.Errorf("expired lookup %+v %v", exp, err)
	}

	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	if len(rcv.errs) > 0 {
		t.Errorf("notifications refused: %v", rcv.errs)
	}
}

func TestFakeNotificationsVerified(t *testing.T) {
	e := newEnv(t)
	rcv := e.receiver()
	p := e.pay("order-n", 7000)
	ev := rcv.last()
	if ev == nil || ev.Type != providers.EventPaymentApproved || ev.PGTransactionID != p.PGTransactionID {
		t.Fatalf("approval event %+v", ev)
	}
	if err := e.fake.ConsoleCancel("order-n", 2000, "console"); err != nil {
		t.Fatal(err)
	}
	ev = rcv.last()
	if ev.Type != providers.EventPaymentCancelled || ev.Status != providers.StatusPartialCancelled || ev.Amount != 2000 {
		t.Errorf("console cancel event %+v", ev)
	}

	// Forged: the last body with the amount changed, and signed with another key.
	body := e.fake.Notifications()[len(e.fake.Notifications())-1].Body
	forged := []byte(string(body))
	for i := range len(forged) - 12 {
		if string(forged[i:i+12]) == `"amount":700` {
			forged[i+10] = '1'
			break
		}
	}
	_, err := e.a.ParseNotification(e.ctx, e.ch, providers.Notification{Method: "POST", Body: forged})
	wantKind(t, err, providers.KindUnauthorized)
	other := e.ch
	other.Secrets = providers.Secrets{"client_id": nicepayfake.TestGuideClientID, "secret_key": nicepayfake.TestGuideSecretKey}
	_, err = e.a.ParseNotification(e.ctx, other, providers.Notification{Method: "POST", Body: body})
	wantKind(t, err, providers.KindUnauthorized)
}

func TestFakeBilling(t *testing.T) {
	e := newEnv(t)
	card := func(number string) *providers.CardData {
		return &providers.CardData{Number: providers.NewCardNumber(number), ExpiryYear: 2030, ExpiryMonth: 7,
			OwnerID: providers.NewRedacted("800101"), Password2: providers.NewRedacted("12")}
	}
	bk, err := e.a.IssueBillingKey(e.ctx, e.ch, providers.IssueBillingKeyRequest{OrderID: "reg-1", CustomerKey: "cust-1",
		Card: card(nicepayfake.DefaultCard), Buyer: providers.Buyer{Name: "홍길동", Email: "h@example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	if bk.Key == "" || bk.Card.Issuer != providers.CardSamsung || bk.IssuedAt.IsZero() {
		t.Errorf("billing key %+v", bk)
	}
	p, err := e.a.ChargeBillingKey(e.ctx, e.ch, providers.ChargeBillingKeyRequest{BillingKey: bk.Key, OrderID: "sub-1", OrderName: "월 구독",
		Amount: providers.Amount{Total: 9900}})
	if err != nil {
		t.Fatal(err)
	}
	if p.Status != providers.StatusPaid || p.BillingKey != bk.Key || p.Amounts.Paid != 9900 {
		t.Errorf("charge %+v", p)
	}
	_, err = e.a.ChargeBillingKey(e.ctx, e.ch, providers.ChargeBillingKeyRequest{BillingKey: bk.Key, OrderID: "sub-1", Amount: providers.Amount{Total: 9900}})
	wantKind(t, err, providers.KindAlreadyDone)
	_, err = e.a.ChargeBillingKey(e.ctx, e.ch, providers.ChargeBillingKeyRequest{BillingKey: bk.Key, OrderID: "sub-2", Amount: providers.Amount{Total: 9900}, InstallmentMonths: 3})
	if pe := wantKind(t, err, providers.KindDeclined); pe.Decline != providers.DeclineInvalidInstallment {
		t.Errorf("installments under 50,000: %v", err)
	}

	e.fake.FailNext(nicepayfake.OpBillingCharge, nicepayfake.LoseAnswer)
	_, err = e.a.ChargeBillingKey(e.ctx, e.ch, providers.ChargeBillingKeyRequest{BillingKey: bk.Key, OrderID: "sub-3", Amount: providers.Amount{Total: 9900}})
	if !providers.OutcomeUnknown(err) {
		t.Errorf("lost charge answer: %v", err)
	}
	if got, err := e.a.Lookup(e.ctx, e.ch, providers.LookupRequest{OrderID: "sub-3"}); err != nil || got.Status != providers.StatusPaid {
		t.Errorf("lookup of the lost charge: %+v %v", got, err)
	}

	refused, err := e.a.IssueBillingKey(e.ctx, e.ch, providers.IssueBillingKeyRequest{OrderID: "reg-2", Card: card(nicepayfake.CardRefused)})
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.a.ChargeBillingKey(e.ctx, e.ch, providers.ChargeBillingKeyRequest{BillingKey: refused.Key, OrderID: "sub-4", Amount: providers.Amount{Total: 9900}})
	if pe := wantKind(t, err, providers.KindDeclined); pe.Code != "3095" {
		t.Errorf("code %s", pe.Code)
	}
	_, err = e.a.IssueBillingKey(e.ctx, e.ch, providers.IssueBillingKeyRequest{OrderID: "reg-3", Card: card(nicepayfake.CardNoBilling)})
	if pe := wantKind(t, err, providers.KindDeclined); pe.Code != "F118" {
		t.Errorf("code %s", pe.Code)
	}
	_, err = e.a.IssueBillingKey(e.ctx, e.ch, providers.IssueBillingKeyRequest{OrderID: "reg-4", Card: card(nicepayfake.CardExpired)})
	if pe := wantKind(t, err, providers.KindDeclined); pe.Decline != providers.DeclineExpiredCard {
		t.Errorf("expired card: %v", err)
	}

	del, err := e.a.DeleteBillingKey(e.ctx, e.ch, providers.DeleteBillingKeyRequest{BillingKey: bk.Key, OrderID: "del-1"})
	if err != nil || del.Key != bk.Key || del.DeletedAt.IsZero() {
		t.Fatalf("delete %+v %v", del, err)
	}
	_, err = e.a.ChargeBillingKey(e.ctx, e.ch, providers.ChargeBillingKeyRequest{BillingKey: bk.Key, OrderID: "sub-5", Amount: providers.Amount{Total: 9900}})
	wantKind(t, err, providers.KindNotFound)
	_, err = e.a.DeleteBillingKey(e.ctx, e.ch, providers.DeleteBillingKeyRequest{BillingKey: bk.Key})
	wantKind(t, err, providers.KindNotFound)

	_, err = e.a.IssueBillingKey(e.ctx, e.ch, providers.IssueBillingKeyRequest{Window: providers.WindowResult{"x": "y"}})
	if !errors.Is(err, providers.ErrNotSupported) {
		t.Errorf("billing window: %v", err)
	}
}

func TestFakeCashReceipt(t *testing.T) {
	e := newEnv(t)
	r, err := e.a.IssueCashReceipt(e.ctx, e.ch, providers.IssueCashReceiptRequest{OrderID: "rcpt-1", OrderName: "계좌이체 주문",
		Amount: providers.Amount{Total: 11000}, Subject: providers.CashReceiptSubject{Type: providers.CashReceiptIncomeDeduction, Identity: providers.NewRedacted("01012345678")}})
	if err != nil {
		t.Fatal(err)
	}
	if r.ReceiptID == "" || r.Status != providers.CashReceiptRequested || r.Amounts.VAT != 1000 || r.Amounts.Total != 11000 {
		t.Fatalf("issued %+v", r)
	}
	got, err := e.a.LookupCashReceipt(e.ctx, e.ch, providers.LookupCashReceiptRequest{ReceiptID: r.ReceiptID})
	if err != nil || got.Status != providers.CashReceiptRequested {
		t.Fatalf("lookup %+v %v", got, err)
	}
	e.clock.Add(15 * time.Hour) // past midnight KST
	got, err = e.a.LookupCashReceipt(e.ctx, e.ch, providers.LookupCashReceiptRequest{ReceiptID: r.ReceiptID})
	if err != nil || got.Status != providers.CashReceiptIssued || got.ApprovalNumber == "" || got.IssuedAt.IsZero() {
		t.Fatalf("lookup after a day %+v %v", got, err)
	}
	part, err := e.a.CancelCashReceipt(e.ctx, e.ch, providers.CancelCashReceiptRequest{ReceiptID: r.ReceiptID, OrderID: "rcpt-1", Amount: 5500, Reason: "partial", IdempotencyKey: "rc_1"})
	if err != nil || part.Status != providers.CashReceiptPartialCancelled {
		t.Fatalf("partial cancel %+v %v", part, err)
	}
	all, err := e.a.CancelCashReceipt(e.ctx, e.ch, providers.CancelCashReceiptRequest{ReceiptID: r.ReceiptID, OrderID: "rcpt-1", Reason: "rest", IdempotencyKey: "rc_2"})
	if err != nil || all.Status != providers.CashReceiptCancelled {
		t.Fatalf("cancel %+v %v", all, err)
	}

	_, err = e.a.IssueCashReceipt(e.ctx, e.ch, providers.IssueCashReceiptRequest{OrderID: "rcpt-2", Amount: providers.Amount{Total: 11000},
		Subject: providers.CashReceiptSubject{Type: providers.CashReceiptExpenseProof, Identity: providers.NewRedacted("12")}})
	wantKind(t, err, providers.KindInvalidRequest)
}

func TestFakeCredentials(t *testing.T) {
	e := newEnv(t)
	if err := e.a.VerifyCredentials(e.ctx, e.ch); err != nil {
		t.Fatal(err)
	}
	bad := e.ch
	bad.Secrets = providers.Secrets{"client_id": nicepayfake.SandboxClientID, "secret_key": "0000000000000000ffffffffffffffff"}
	wantKind(t, e.a.VerifyCredentials(e.ctx, bad), providers.KindUnauthorized)
	_, err := e.a.Lookup(e.ctx, bad, providers.LookupRequest{OrderID: "x"})
	wantKind(t, err, providers.KindUnauthorized)
	if err := e.a.CheckChannel(e.ch); err != nil {
		t.Errorf("CheckChannel: %v", err)
	}
}

func TestFakeClientApproval(t *testing.T) {
	e := newEnv(t)
	e.withClientApproval()
	req := providers.PrepareWindowRequest{OrderID: "order-ca", ApprovalModel: providers.ApprovalClient, Amount: providers.Amount{Total: 12000}}
	w := e.window(req, nicepayfake.Choice{})
	if w["clientId"] != nicepayfake.ClientApprovalID || w["resultCode"] != "0000" {
		t.Fatalf("client-approval window posted %v", w)
	}
	p, err := e.a.Approve(e.ctx, e.ch, providers.ApproveRequest{OrderID: "order-ca", Amount: providers.Amount{Total: 12000}, Window: w})
	if err != nil {
		t.Fatal(err)
	}
	if p.Status != providers.StatusPaid || p.Amounts.Paid != 12000 || p.OrderID != "order-ca" {
		t.Errorf("payment %+v", p)
	}

	// The window charged another amount than the order's: cancelled.
	w = e.window(providers.PrepareWindowRequest{OrderID: "order-cb", ApprovalModel: providers.ApprovalClient, Amount: providers.Amount{Total: 100}}, nicepayfake.Choice{})
	_, err = e.a.Approve(e.ctx, e.ch, providers.ApproveRequest{OrderID: "order-cb", Amount: providers.Amount{Total: 12000}, Window: w})
	if pe := wantKind(t, err, providers.KindInvalidRequest); pe.Code != "AMOUNT_MISMATCH" {
		t.Errorf("code %s", pe.Code)
	}
	if st, bal := e.fakeStatus("order-cb"); st != "cancelled" || bal != 0 {
		t.Errorf("the tampered payment stands: %s %d", st, bal)
	}

	// A forged client-approval post.
	w = e.window(providers.PrepareWindowRequest{OrderID: "order-cc", ApprovalModel: providers.ApprovalClient, Amount: providers.Amount{Total: 100}}, nicepayfake.Choice{})
	w["amount"] = "12000"
	_, err = e.a.Approve(e.ctx, e.ch, providers.ApproveRequest{OrderID: "order-cc", Amount: providers.Amount{Total: 12000}, Window: w})
	wantKind(t, err, providers.KindUnauthorized)

	// Without a client-approval pair a CLIENT window opens with the server
	// key and paymux approves on return.
	e2 := newEnv(t)
	w = e2.window(providers.PrepareWindowRequest{OrderID: "order-cd", ApprovalModel: providers.ApprovalClient, Amount: providers.Amount{Total: 100}}, nicepayfake.Choice{})
	if w["authResultCode"] != "0000" || w["clientId"] != nicepayfake.SandboxClientID {
		t.Fatalf("server-key window posted %v", w)
	}
	if _, err := e2.a.Approve(e2.ctx, e2.ch, providers.ApproveRequest{OrderID: "order-cd", Amount: providers.Amount{Total: 100}, Window: w}); err != nil {
		t.Fatal(err)
	}
}
