package realpg_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/paymux/paymux/ent"
	paymuxv1 "github.com/paymux/paymux/gen/paymux/v1"
	"github.com/paymux/paymux/internal/testdb"
)

// The suite: what a merchant does with paymux, on a real PG's fake,
// through paymux's API, its checkout and return pages and its notification
// endpoint. Each PG runs it on SQLite and on PostgreSQL.

func TestNicePay(t *testing.T) { runSuite(t, nicePay) }

func TestTossPayments(t *testing.T) { runSuite(t, tossPayments) }

func runSuite(t *testing.T, newPG func(*testing.T) pgDriver) {
	testdb.ForEach(t, func(t *testing.T, db *ent.Client) {
		e := startEnv(t, db, newPG(t))
		for _, tc := range []struct {
			name string
			run  func(*env, *testing.T)
		}{
			{"channels check and verify credentials", (*env).testChannels},
			{"window, server approval", (*env).testWindowServerApproval},
			{"window, client approval", (*env).testWindowClientApproval},
			{"window in a browser", (*env).testBrowserWindow},
			{"declines", (*env).testDeclines},
			{"partial cancels down to zero", (*env).testPartialCancels},
			{"a cancel whose answer is lost", (*env).testLostCancel},
			{"a window that approves by itself, buyer never back", (*env).testBuyerNeverBack},
			{"a lost approval is settled by lookup", (*env).testLostApproval},
			{"a timed-out approval", (*env).testTimedOutApproval},
			{"virtual account, deposit notice, refund", (*env).testVirtualAccount},
			{"a cancel made in the PG's console", (*env).testConsoleCancel},
			{"cash receipts", (*env).testCashReceipt},
			{"tax types", (*env).testTaxTypes},
			{"key-in", (*env).testKeyIn},
			{"billing keys and schedules", (*env).testBilling},
			{"a deleted channel is archived and keeps working", (*env).testArchive}, // last: it archives the channel
		} {
			t.Run(tc.name, func(t *testing.T) { e.t = t; tc.run(e, t) })
		}
	})
}

var orderSeq atomic.Int64

func nextOrder() string {
	return fmt.Sprintf("order-%d-%d", time.Now().UnixNano()%1e9, orderSeq.Add(1))
}

func amount(total int64) *paymuxv1.Amount { return &paymuxv1.Amount{Total: total} }

// open creates a window payment and returns it with its window.
func (e *env) open(t *testing.T, model paymuxv1.ApprovalModel, method paymuxv1.PayMethod, total int64) (*paymuxv1.Payment, *paymuxv1.Window) {
	t.Helper()
	res, err := e.payments.CreatePayment(context.Background(), connect.NewRequest(&paymuxv1.CreatePaymentRequest{
		MerchantPaymentId: nextOrder(), OrderName: "녹차 세트", Amount: amount(total), Method: method,
		ApprovalModel: model, ReturnUrl: e.merchant.url, Customer: &paymuxv1.Customer{Name: "홍길동", Email: "buyer@example.com"},
	}))
	if err != nil {
		t.Fatalf("create payment: %v", err)
	}
	w := res.Msg.GetWindow()
	if !strings.HasPrefix(w.GetCheckoutUrl(), e.url+"/checkout/pay/") {
		t.Fatalf("checkout_url %q is not paymux's checkout page", w.GetCheckoutUrl())
	}
	return res.Msg.GetPayment(), w
}

// buyerReturns plays the buyer in the PG's window and follows the return
// through paymux; it returns the query paymux sends the buyer on with.
func (e *env) buyerReturns(t *testing.T, w *paymuxv1.Window, c choice) map[string]string {
	t.Helper()
	method, target, form, err := e.pg.completeWindow(w.GetParams(), c)
	if err != nil {
		t.Fatalf("the PG's window: %v", err)
	}
	e.lastWindow = form
	loc := e.returnThroughPaymux(method, target, form)
	if !strings.HasPrefix(loc.String(), strings.Split(e.merchant.url, "?")[0]) || loc.Query().Get("cart") != "7" {
		t.Fatalf("paymux sent the buyer to %s, not to the merchant's return URL", loc)
	}
	out := map[string]string{}
	for k := range loc.Query() {
		out[k] = loc.Query().Get(k)
	}
	return out
}

func (e *env) get(t *testing.T, id string) *paymuxv1.Payment {
	t.Helper()
	res, err := e.payments.GetPayment(context.Background(), connect.NewRequest(&paymuxv1.GetPaymentRequest{Id: id}))
	if err != nil {
		t.Fatalf("get payment %s: %v", id, err)
	}
	return res.Msg.GetPayment()
}

func wantStatus(t *testing.T, p *paymuxv1.Payment, want paymuxv1.PaymentStatus) {
	t.Helper()
	if p.GetStatus() != want {
		t.Fatalf("payment %s is %s (failure %v), want %s", p.GetId(), p.GetStatus(), p.GetFailure(), want)
	}
}

// pay makes a card payment of total, approved at once (client approval).
func (e *env) pay(t *testing.T, total int64) *paymuxv1.Payment {
	t.Helper()
	p, w := e.open(t, paymuxv1.ApprovalModel_APPROVAL_MODEL_CLIENT, paymuxv1.PayMethod_PAY_METHOD_UNSPECIFIED, total)
	if got := e.buyerReturns(t, w, choice{}); got["status"] != "PAID" {
		t.Fatalf("the window returned %v", got)
	}
	p = e.get(t, p.GetId())
	wantStatus(t, p, paymuxv1.PaymentStatus_PAYMENT_STATUS_PAID)
	return p
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (e *env) testChannels(t *testing.T) {
	ctx := context.Background()
	base := func() *paymuxv1.CreateChannelRequest {
		return &paymuxv1.CreateChannelRequest{
			Provider: e.pg.provider, Mode: paymuxv1.Mode_MODE_TEST, Name: "another", Purpose: paymuxv1.ChannelPurpose_CHANNEL_PURPOSE_PAYMENT,
			MerchantId: e.pg.merchantID, TaxType: paymuxv1.TaxType_TAX_TYPE_TAXABLE, Verify: true,
		}
	}
	refused := base()
	refused.Secrets = e.pg.badSecrets
	_, err := e.channels.CreateChannel(ctx, connect.NewRequest(refused))
	ce := wantCode(t, err, connect.CodeInvalidArgument, "credentials the PG refuses")
	if !strings.Contains(ce.Message(), "secrets") {
		t.Fatalf("the refusal does not name the secrets: %v", ce)
	}
	misshapen := base()
	misshapen.Secrets, misshapen.Verify = e.pg.misshapen, false
	_, err = e.channels.CreateChannel(ctx, connect.NewRequest(misshapen))
	ce = wantCode(t, err, connect.CodeInvalidArgument, "misshapen credentials")
	if !strings.Contains(ce.Message(), e.pg.misshapenField) {
		t.Fatalf("the refusal does not name %s: %v", e.pg.misshapenField, ce)
	}
	// TEST credentials do not make a LIVE channel.
	live := base()
	live.StoreId, live.Mode, live.Secrets, live.Verify = e.storeID, paymuxv1.Mode_MODE_LIVE, e.pg.secrets, false
	_, err = e.adminCh.CreateChannel(ctx, connect.NewRequest(live))
	wantCode(t, err, connect.CodeInvalidArgument, "a LIVE channel with TEST credentials")
	n, err := e.channels.ListChannels(ctx, connect.NewRequest(&paymuxv1.ListChannelsRequest{}))
	if err != nil || len(n.Msg.GetChannels()) != 2 { // the first run's sandbox channel and e's
		t.Fatalf("refused channels were created: %v %v", n, err)
	}
	got, err := e.channels.GetChannel(ctx, connect.NewRequest(&paymuxv1.GetChannelRequest{Id: e.channelID}))
	if err != nil || got.Msg.GetChannel().GetNotificationUrl() != e.url+"/notifications/"+e.channelID ||
		got.Msg.GetChannel().GetProvider() != e.pg.provider {
		t.Fatalf("channel %v, %v", got, err)
	}
	for _, name := range got.Msg.GetChannel().GetSecretNames() {
		if strings.Contains(got.Msg.String(), e.pg.secrets[name]) {
			t.Fatalf("the channel shows the value of its %s", name)
		}
	}
}

func (e *env) testWindowServerApproval(t *testing.T) {
	p, w := e.open(t, paymuxv1.ApprovalModel_APPROVAL_MODEL_SERVER, paymuxv1.PayMethod_PAY_METHOD_CARD, 15000)
	// The checkout page loads the PG's SDK, under a policy that runs only
	// its own scripts.
	res, err := http.Get(w.GetCheckoutUrl())
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !bytes.Contains(page, []byte(w.GetSdkUrl())) || !strings.Contains(res.Header.Get("Content-Security-Policy"), "'nonce-") {
		t.Fatalf("checkout page %d %q: %s", res.StatusCode, res.Header.Get("Content-Security-Policy"), page)
	}
	if res, _ := http.Get(strings.Replace(w.GetCheckoutUrl(), "ct=", "ct=x", 1)); res.StatusCode != http.StatusNotFound {
		t.Fatalf("a checkout page with a wrong token answered %d", res.StatusCode)
	}

	back := e.buyerReturns(t, w, choice{})
	if back["status"] != "READY" || back["payment_id"] != p.GetId() {
		t.Fatalf("the window returned %v", back)
	}
	window := e.lastWindow
	_, err = e.payments.ConfirmPayment(context.Background(), connect.NewRequest(&paymuxv1.ConfirmPaymentRequest{Id: p.GetId(), Amount: 1500}))
	wantCode(t, err, connect.CodeInvalidArgument, "confirm with a wrong amount")
	wantStatus(t, e.get(t, p.GetId()), paymuxv1.PaymentStatus_PAYMENT_STATUS_READY)
	if st, _ := e.pg.pgStatus(p.GetId()); st == "paid" || st == "DONE" {
		t.Fatalf("the PG charged a refused confirm: %s", st)
	}
	got := e.confirm(t, p.GetId(), 15000)
	if got.GetPgTransactionId() == "" || got.GetAmounts().GetPaid() != 15000 || got.GetCard() == nil {
		t.Fatalf("paid payment %v", got)
	}
	if _, bal := e.pg.pgStatus(p.GetId()); bal != 15000 {
		t.Fatalf("the PG holds %d, want 15000", bal)
	}
	e.wantMaskedPGLog(t, p.GetId(), window)
	// The same window again charges nothing more.
	_, err = e.payments.ConfirmPayment(context.Background(), connect.NewRequest(&paymuxv1.ConfirmPaymentRequest{Id: p.GetId(), Amount: 15000}))
	wantCode(t, err, connect.CodeFailedPrecondition, "a second confirm")
}

func (e *env) confirm(t *testing.T, id string, total int64) *paymuxv1.Payment {
	t.Helper()
	done, err := e.payments.ConfirmPayment(context.Background(), connect.NewRequest(&paymuxv1.ConfirmPaymentRequest{Id: id, Amount: total}))
	if err != nil {
		t.Fatalf("confirm: %v", err)
	}
	wantStatus(t, done.Msg.GetPayment(), paymuxv1.PaymentStatus_PAYMENT_STATUS_PAID)
	return done.Msg.GetPayment()
}

func (e *env) testWindowClientApproval(t *testing.T) {
	p, w := e.open(t, paymuxv1.ApprovalModel_APPROVAL_MODEL_CLIENT, paymuxv1.PayMethod_PAY_METHOD_CARD, 23000)
	if back := e.buyerReturns(t, w, choice{}); back["status"] != "PAID" || back["amount"] != "23000" || back["payment_id"] != p.GetId() {
		t.Fatalf("the merchant's page gets %v", back)
	}
	wantStatus(t, e.get(t, p.GetId()), paymuxv1.PaymentStatus_PAYMENT_STATUS_PAID)
	if st, bal := e.pg.pgStatus(p.GetId()); bal != 23000 {
		t.Fatalf("the PG shows %s %d", st, bal)
	}
}

func (e *env) testDeclines(t *testing.T) {
	for _, d := range e.pg.declines {
		t.Run(d.name, func(t *testing.T) {
			p, w := e.open(t, paymuxv1.ApprovalModel_APPROVAL_MODEL_CLIENT, paymuxv1.PayMethod_PAY_METHOD_CARD, 12000)
			back := e.buyerReturns(t, w, d.choice)
			got := e.get(t, p.GetId())
			if back["status"] != "FAILED" || got.GetStatus() != paymuxv1.PaymentStatus_PAYMENT_STATUS_FAILED ||
				got.GetFailure().GetPgCode() != d.pgCode || back["failure_reason"] == "" {
				t.Fatalf("returned %v; payment %s failure %v; want FAILED with PG code %s", back, got.GetStatus(), got.GetFailure(), d.pgCode)
			}
			if _, bal := e.pg.pgStatus(p.GetId()); bal != 0 {
				t.Fatalf("the PG holds %d of a declined payment", bal)
			}
		})
	}
}

func (e *env) cancel(t *testing.T, id string, amt *int64) (*paymuxv1.Payment, error) {
	t.Helper()
	res, err := e.payments.CancelPayment(context.Background(), connect.NewRequest(&paymuxv1.CancelPaymentRequest{Id: id, Amount: amt, Reason: "buyer asked"}))
	if err != nil {
		return nil, err
	}
	return res.Msg.GetPayment(), nil
}

func ptr[T any](v T) *T { return &v }

func (e *env) testPartialCancels(t *testing.T) {
	p := e.pay(t, 10000)
	steps := []struct {
		amount *int64
		status paymuxv1.PaymentStatus
		left   int64
	}{
		{ptr[int64](3000), paymuxv1.PaymentStatus_PAYMENT_STATUS_PARTIAL_CANCELLED, 7000},
		{ptr[int64](2500), paymuxv1.PaymentStatus_PAYMENT_STATUS_PARTIAL_CANCELLED, 4500},
		{nil, paymuxv1.PaymentStatus_PAYMENT_STATUS_CANCELLED, 0}, // what is left
	}
	for i, s := range steps {
		got, err := e.cancel(t, p.GetId(), s.amount)
		if err != nil {
			t.Fatalf("cancel %d: %v", i, err)
		}
		wantStatus(t, got, s.status)
		if got.GetAmounts().GetCancellable() != s.left {
			t.Fatalf("cancel %d leaves %d, want %d", i, got.GetAmounts().GetCancellable(), s.left)
		}
		if _, bal := e.pg.pgStatus(p.GetId()); bal != s.left {
			t.Fatalf("cancel %d: the PG holds %d, want %d", i, bal, s.left)
		}
	}
	_, err := e.cancel(t, p.GetId(), ptr[int64](100))
	wantCode(t, err, connect.CodeFailedPrecondition, "a cancel of a cancelled payment")
	got := e.get(t, p.GetId())
	if len(got.GetCancellations()) != 3 || got.GetCancellations()[0].GetPgCancellationId() == "" {
		t.Fatalf("cancellations %v", got.GetCancellations())
	}
}

func (e *env) testLostCancel(t *testing.T) {
	p := e.pay(t, 10000)
	e.pg.failNext("cancel", faultTimeoutAfterCharge)
	_, err := e.cancel(t, p.GetId(), ptr[int64](3000))
	// Unknown outcome: the amount stays held, the sweep asks again.
	wantCode(t, err, connect.CodeUnavailable, "a cancel whose answer never came")
	if got := e.get(t, p.GetId()); got.GetAmounts().GetCancelled() != 0 || got.GetAmounts().GetCancellable() != 7000 || // held
		got.GetCancellations()[0].GetStatus() != paymuxv1.CancellationStatus_CANCELLATION_STATUS_REQUESTED {
		t.Fatalf("while the cancel is unknown: %v %v", got.GetAmounts(), got.GetCancellations())
	}
	waitFor(t, "the sweep to settle the cancel", func() bool {
		return e.get(t, p.GetId()).GetStatus() == paymuxv1.PaymentStatus_PAYMENT_STATUS_PARTIAL_CANCELLED
	})
	got := e.get(t, p.GetId())
	if got.GetAmounts().GetCancelled() != 3000 || got.GetAmounts().GetCancellable() != 7000 || len(got.GetCancellations()) != 1 ||
		got.GetCancellations()[0].GetStatus() != paymuxv1.CancellationStatus_CANCELLATION_STATUS_SUCCEEDED {
		t.Fatalf("after a lost cancel answer: %v %v", got.GetAmounts(), got.GetCancellations())
	}
	if _, bal := e.pg.pgStatus(p.GetId()); bal != 7000 {
		t.Fatalf("the PG holds %d, paymux 7000", bal)
	}
}

func (e *env) testBuyerNeverBack(t *testing.T) {
	p, w := e.open(t, paymuxv1.ApprovalModel_APPROVAL_MODEL_CLIENT, paymuxv1.PayMethod_PAY_METHOD_CARD, 26000)
	if _, _, _, err := e.pg.completeWindow(w.GetParams(), choice{}); err != nil { // and the browser is closed
		t.Fatal(err)
	}
	got := e.get(t, p.GetId())
	if !e.pg.windowApprovesItself {
		// paymux approves on the return: without it nothing was charged.
		if st, bal := e.pg.pgStatus(p.GetId()); got.GetStatus() != paymuxv1.PaymentStatus_PAYMENT_STATUS_READY || bal != 0 {
			t.Fatalf("payment %s; the PG %s %d", got.GetStatus(), st, bal)
		}
		return
	}
	// The PG's notice of its own approval records the charge.
	wantStatus(t, got, paymuxv1.PaymentStatus_PAYMENT_STATUS_PAID)
	if got.GetAmounts().GetPaid() != 26000 || got.GetPgTransactionId() == "" {
		t.Fatalf("recorded from the PG's notice: %v", got)
	}
}

func (e *env) testLostApproval(t *testing.T) {
	p, w := e.open(t, paymuxv1.ApprovalModel_APPROVAL_MODEL_SERVER, paymuxv1.PayMethod_PAY_METHOD_CARD, 18000)
	e.buyerReturns(t, w, choice{})
	e.pg.failNext("approve", faultLoseAnswer)
	res, err := e.payments.ConfirmPayment(context.Background(), connect.NewRequest(&paymuxv1.ConfirmPaymentRequest{Id: p.GetId(), Amount: 18000}))
	if err != nil {
		t.Fatalf("confirm after a lost answer: %v", err)
	}
	wantStatus(t, res.Msg.GetPayment(), paymuxv1.PaymentStatus_PAYMENT_STATUS_PAID) // the lookup found the charge
	if _, bal := e.pg.pgStatus(p.GetId()); bal != 18000 {
		t.Fatalf("the PG holds %d", bal)
	}
}

func (e *env) testTimedOutApproval(t *testing.T) {
	p, w := e.open(t, paymuxv1.ApprovalModel_APPROVAL_MODEL_SERVER, paymuxv1.PayMethod_PAY_METHOD_CARD, 21000)
	e.buyerReturns(t, w, choice{})
	e.pg.failNext("approve", faultTimeoutAfterCharge)
	_, err := e.payments.ConfirmPayment(context.Background(), connect.NewRequest(&paymuxv1.ConfirmPaymentRequest{Id: p.GetId(), Amount: 21000}))
	got := e.get(t, p.GetId())
	st, bal := e.pg.pgStatus(p.GetId())
	if e.pg.netCancelsOnTimeout {
		// NicePay: read timeout, then net-cancel; nothing is kept.
		if err == nil || got.GetStatus() != paymuxv1.PaymentStatus_PAYMENT_STATUS_FAILED || got.GetFailure().GetReason() != "NET_CANCELLED" || bal != 0 {
			t.Fatalf("after a timed-out approval: %v; payment %s %v; the PG %s %d", err, got.GetStatus(), got.GetFailure(), st, bal)
		}
		return
	}
	// Otherwise the lookup finds the charge and paymux records it.
	if err != nil || got.GetStatus() != paymuxv1.PaymentStatus_PAYMENT_STATUS_PAID || bal != 21000 {
		t.Fatalf("after a timed-out approval: %v; payment %s; the PG %s %d", err, got.GetStatus(), st, bal)
	}
}

func (e *env) issueVirtualAccount(t *testing.T, total int64) *paymuxv1.Payment {
	t.Helper()
	if e.pg.windowVirtualAccount {
		p, w := e.open(t, paymuxv1.ApprovalModel_APPROVAL_MODEL_CLIENT, paymuxv1.PayMethod_PAY_METHOD_VIRTUAL_ACCOUNT, total)
		if back := e.buyerReturns(t, w, choice{}); back["status"] != "VIRTUAL_ACCOUNT_ISSUED" {
			t.Fatalf("the window returned %v", back)
		}
		return e.get(t, p.GetId())
	}
	res, err := e.payments.CreateInstantPayment(context.Background(), connect.NewRequest(&paymuxv1.CreateInstantPaymentRequest{
		MerchantPaymentId: nextOrder(), OrderName: "녹차 세트", Amount: amount(total),
		Customer: &paymuxv1.Customer{Name: "홍길동"},
		Method:   &paymuxv1.CreateInstantPaymentRequest_VirtualAccount{VirtualAccount: &paymuxv1.VirtualAccountInput{Bank: "020"}},
	}))
	if err != nil {
		t.Fatalf("issue a virtual account: %v", err)
	}
	return res.Msg.GetPayment()
}

func (e *env) testVirtualAccount(t *testing.T) {
	p := e.issueVirtualAccount(t, 33000)
	wantStatus(t, p, paymuxv1.PaymentStatus_PAYMENT_STATUS_VIRTUAL_ACCOUNT_ISSUED)
	if p.GetVirtualAccount().GetAccountNumber() == "" || p.GetVirtualAccount().GetDueTime() == nil {
		t.Fatalf("virtual account %v", p.GetVirtualAccount())
	}
	before := len(e.pg.notifications())
	if err := e.pg.deposit(p.GetId(), 33000, "홍길동"); err != nil {
		t.Fatalf("deposit: %v", err)
	}
	// The PG's notice reaches paymux, which answers as the PG expects.
	sentNow := e.pg.notifications()[before:]
	if len(sentNow) == 0 {
		t.Fatal("the PG sent no notification of the deposit")
	}
	for _, n := range sentNow {
		if n.status != http.StatusOK {
			t.Fatalf("paymux answered a notification %d %q", n.status, n.body)
		}
	}
	paid := e.get(t, p.GetId())
	wantStatus(t, paid, paymuxv1.PaymentStatus_PAYMENT_STATUS_PAID)
	if paid.GetAmounts().GetPaid() != 33000 || paid.GetVirtualAccount().GetDepositTime() == nil {
		t.Fatalf("deposited payment %v", paid)
	}
	// The same notice again changes nothing.
	history := len(paid.GetStatusHistory())
	again, err := e.pg.resend(len(e.pg.notifications()) - 1)
	if err != nil || again.status != http.StatusOK {
		t.Fatalf("a duplicate notice: %v %v", again, err)
	}
	if got := e.get(t, p.GetId()); len(got.GetStatusHistory()) != history || got.GetStatus() != paid.GetStatus() {
		t.Fatalf("a duplicate notice changed the payment: %v", got.GetStatusHistory())
	}
	// A forged notice is refused, and changes nothing.
	res, err := http.Post(e.url+"/notifications/"+e.channelID, "application/json", strings.NewReader(e.pg.forgedNotice(p.GetId())))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if got := e.get(t, p.GetId()); res.StatusCode != http.StatusUnauthorized || got.GetStatus() != paymuxv1.PaymentStatus_PAYMENT_STATUS_PAID {
		t.Fatalf("a forged notice was answered %d and left the payment %s", res.StatusCode, got.GetStatus())
	}

	// The refund goes to a bank account.
	_, err = e.cancel(t, p.GetId(), nil)
	wantCode(t, err, connect.CodeInvalidArgument, "a refund without an account")
	refunded, err := e.payments.CancelPayment(context.Background(), connect.NewRequest(&paymuxv1.CancelPaymentRequest{
		Id: p.GetId(), Reason: "out of stock",
		RefundAccount: &paymuxv1.RefundAccount{Bank: "088", Number: "110123456789", Holder: "홍길동"},
	}))
	if err != nil {
		t.Fatalf("refund: %v", err)
	}
	wantStatus(t, refunded.Msg.GetPayment(), paymuxv1.PaymentStatus_PAYMENT_STATUS_CANCELLED)
	if c := refunded.Msg.GetCancellation(); c.GetRefundAccount().GetNumber() == "110123456789" {
		t.Fatalf("the refund account number is shown whole: %v", c.GetRefundAccount())
	}
	if _, bal := e.pg.pgStatus(p.GetId()); bal != 0 {
		t.Fatalf("the PG holds %d after the refund", bal)
	}
}

func (e *env) testConsoleCancel(t *testing.T) {
	p := e.pay(t, 9000)
	if err := e.pg.consoleCancel(p.GetId(), 4000); err != nil {
		t.Fatalf("console cancel: %v", err)
	}
	waitFor(t, "the console cancel to reach paymux", func() bool {
		return e.get(t, p.GetId()).GetStatus() == paymuxv1.PaymentStatus_PAYMENT_STATUS_PARTIAL_CANCELLED
	})
	got := e.get(t, p.GetId())
	if got.GetAmounts().GetCancelled() != 4000 || len(got.GetCancellations()) != 1 {
		t.Fatalf("after the console cancel: %v", got.GetAmounts())
	}
	// paymux's own cancel of the rest, told back by the PG, is not counted twice.
	if _, err := e.cancel(t, p.GetId(), nil); err != nil {
		t.Fatal(err)
	}
	got = e.get(t, p.GetId())
	if got.GetStatus() != paymuxv1.PaymentStatus_PAYMENT_STATUS_CANCELLED || got.GetAmounts().GetCancelled() != 9000 || len(got.GetCancellations()) != 2 {
		t.Fatalf("after the rest: %s %v %d cancellations", got.GetStatus(), got.GetAmounts(), len(got.GetCancellations()))
	}
}

func (e *env) setTaxType(t *testing.T, tt paymuxv1.TaxType) {
	t.Helper()
	if _, err := e.channels.UpdateChannel(context.Background(), connect.NewRequest(&paymuxv1.UpdateChannelRequest{
		Id: e.channelID, TaxType: tt, UpdateMask: mask("tax_type")})); err != nil {
		t.Fatal(err)
	}
}

func (e *env) testTaxTypes(t *testing.T) {
	defer e.setTaxType(t, paymuxv1.TaxType_TAX_TYPE_TAXABLE)
	e.setTaxType(t, paymuxv1.TaxType_TAX_TYPE_TAX_FREE)
	p := e.pay(t, 11000)
	if a := p.GetAmounts(); a.GetTaxFree() != 11000 || a.GetVat() != 0 {
		t.Fatalf("a TAX_FREE channel's payment: %v", a)
	}
	half, err := e.payments.CancelPayment(context.Background(), connect.NewRequest(&paymuxv1.CancelPaymentRequest{Id: p.GetId(), Amount: ptr[int64](5000), Reason: "tax-free part"}))
	if err != nil || half.Msg.GetCancellation().GetTaxFree() != 5000 {
		t.Fatalf("a cancel of a tax-free payment: %v %v", half, err)
	}
	_, err = e.payments.CreatePayment(context.Background(), connect.NewRequest(&paymuxv1.CreatePaymentRequest{
		MerchantPaymentId: nextOrder(), OrderName: "tea", Amount: &paymuxv1.Amount{Total: 11000, Vat: ptr[int64](1000)}}))
	wantCode(t, err, connect.CodeInvalidArgument, "VAT on a TAX_FREE channel")

	// A cancel made in the PG's console is all tax-free too.
	q := e.pay(t, 11000)
	if err := e.pg.consoleCancel(q.GetId(), 4000); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the console cancel", func() bool { return e.get(t, q.GetId()).GetAmounts().GetCancelled() == 4000 })
	if a := e.get(t, q.GetId()).GetAmounts(); a.GetCancelledTaxFree() != 4000 || a.GetCancelledVat() != 0 {
		t.Fatalf("a console cancel of a tax-free payment: %v", a)
	}

	e.setTaxType(t, paymuxv1.TaxType_TAX_TYPE_TAXABLE)
	if a := e.pay(t, 11000).GetAmounts(); a.GetTaxFree() != 0 || a.GetVat() != 1000 {
		t.Fatalf("a TAXABLE channel's payment: %v", a)
	}
}

func (e *env) issueBillingKey(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	name := "bk-" + nextOrder()
	if e.pg.cardBillingKeys {
		res, err := e.billing.IssueBillingKey(ctx, connect.NewRequest(&paymuxv1.IssueBillingKeyRequest{
			Id: name, Customer: &paymuxv1.Customer{Name: "홍길동"},
			Card: &paymuxv1.CardInput{Number: e.pg.billingCard, ExpiryYear: int32(time.Now().Year() + 3), ExpiryMonth: 12,
				BirthOrBusinessNumber: "900101", PasswordTwoDigits: "12"},
		}))
		if err != nil {
			t.Fatalf("issue a billing key: %v", err)
		}
		return res.Msg.GetBillingKey().GetId()
	}
	res, err := e.billing.CreateBillingKeyWindow(ctx, connect.NewRequest(&paymuxv1.CreateBillingKeyWindowRequest{
		Id: name, Customer: &paymuxv1.Customer{Name: "홍길동"}, ReturnUrl: e.merchant.url}))
	if err != nil {
		t.Fatalf("open a billing key window: %v", err)
	}
	back := e.buyerReturns(t, res.Msg.GetWindow(), choice{})
	if back["status"] != "ACTIVE" {
		t.Fatalf("the billing window returned %v", back)
	}
	return res.Msg.GetBillingKey().GetId()
}

func (e *env) testBilling(t *testing.T) {
	ctx := context.Background()
	key := e.issueBillingKey(t)
	charged, err := e.billing.ChargeBillingKey(ctx, connect.NewRequest(&paymuxv1.ChargeBillingKeyRequest{
		Id: key, MerchantPaymentId: nextOrder(), OrderName: "정기 구독", Amount: amount(9900)}))
	if err != nil {
		t.Fatalf("charge the billing key: %v", err)
	}
	wantStatus(t, charged.Msg.GetPayment(), paymuxv1.PaymentStatus_PAYMENT_STATUS_PAID)
	if _, bal := e.pg.pgStatus(charged.Msg.GetPayment().GetId()); bal != 9900 {
		t.Fatalf("the PG holds %d for the charge", bal)
	}
	// A charge the PG refuses is a FAILED payment with the PG's code.
	e.pg.failNext("charge", faultUnavailable)
	mid := nextOrder()
	_, err = e.billing.ChargeBillingKey(ctx, connect.NewRequest(&paymuxv1.ChargeBillingKeyRequest{
		Id: key, MerchantPaymentId: mid, OrderName: "정기 구독", Amount: amount(9900)}))
	if err == nil {
		t.Fatal("a charge the PG could not do succeeded")
	}
	// paymux asked the PG, which has no such charge: FAILED, nothing held.
	failed, err := e.payments.GetPayment(ctx, connect.NewRequest(&paymuxv1.GetPaymentRequest{MerchantPaymentId: mid}))
	if err != nil {
		t.Fatal(err)
	}
	if st, bal := e.pg.pgStatus(failed.Msg.GetPayment().GetId()); failed.Msg.GetPayment().GetStatus() != paymuxv1.PaymentStatus_PAYMENT_STATUS_FAILED || bal != 0 {
		t.Fatalf("a charge the PG could not do: %s; the PG %s %d", failed.Msg.GetPayment().GetStatus(), st, bal)
	}

	sched, err := e.billing.CreateSchedules(ctx, connect.NewRequest(&paymuxv1.CreateSchedulesRequest{BillingKeyId: key,
		Schedules: []*paymuxv1.ScheduleInput{{MerchantPaymentId: nextOrder(), PayTime: timestamppb.New(time.Now().Add(time.Second)),
			Amount: amount(9900), OrderName: "정기 구독 2회차"}}}))
	if err != nil {
		t.Fatalf("schedule: %v", err)
	}
	id := sched.Msg.GetSchedules()[0].GetId()
	waitFor(t, "the scheduled charge", func() bool {
		s, err := e.billing.GetSchedule(ctx, connect.NewRequest(&paymuxv1.GetScheduleRequest{Id: id}))
		return err == nil && s.Msg.GetSchedule().GetStatus() == paymuxv1.ScheduleStatus_SCHEDULE_STATUS_SUCCEEDED
	})

	if _, err := e.billing.DeleteBillingKey(ctx, connect.NewRequest(&paymuxv1.DeleteBillingKeyRequest{Id: key})); err != nil {
		t.Fatalf("delete the billing key: %v", err)
	}
	_, err = e.billing.ChargeBillingKey(ctx, connect.NewRequest(&paymuxv1.ChargeBillingKeyRequest{
		Id: key, MerchantPaymentId: nextOrder(), OrderName: "정기 구독", Amount: amount(9900)}))
	wantCode(t, err, connect.CodeFailedPrecondition, "a charge of a deleted billing key")
}

func (e *env) testArchive(t *testing.T) {
	ctx := context.Background()
	p := e.pay(t, 8000)
	key := e.issueBillingKey(t)
	// The first run's sandbox channel takes the default back; then the
	// channel, which has payments, is archived rather than removed.
	if _, err := e.channels.UpdateChannel(ctx, connect.NewRequest(&paymuxv1.UpdateChannelRequest{
		Id: firstSandboxChannel(t, e), Default: true, UpdateMask: mask("default")})); err != nil {
		t.Fatal(err)
	}
	del, err := e.channels.DeleteChannel(ctx, connect.NewRequest(&paymuxv1.DeleteChannelRequest{Id: e.channelID}))
	if err != nil || !del.Msg.GetArchived() {
		t.Fatalf("delete: %v %v", del, err)
	}
	got, err := e.channels.GetChannel(ctx, connect.NewRequest(&paymuxv1.GetChannelRequest{Id: e.channelID}))
	if err != nil || got.Msg.GetChannel().GetArchiveTime() == nil {
		t.Fatalf("archived channel: %v %v", got, err)
	}
	_, err = e.payments.CreatePayment(ctx, connect.NewRequest(&paymuxv1.CreatePaymentRequest{
		ChannelId: e.channelID, MerchantPaymentId: nextOrder(), OrderName: "tea", Amount: amount(1000)}))
	wantCode(t, err, connect.CodeFailedPrecondition, "a payment on an archived channel")
	// What it made keeps working: a cancel, charges of its billing keys
	// (here scheduled after the archive, so the executor charges through
	// the archived channel).
	sched, err := e.billing.CreateSchedules(ctx, connect.NewRequest(&paymuxv1.CreateSchedulesRequest{BillingKeyId: key,
		Schedules: []*paymuxv1.ScheduleInput{{MerchantPaymentId: nextOrder(), PayTime: timestamppb.New(time.Now().Add(time.Second)),
			Amount: amount(5000), OrderName: "after the archive"}}}))
	if err != nil {
		t.Fatalf("schedule a charge of a billing key of the archived channel: %v", err)
	}
	if got, err := e.cancel(t, p.GetId(), ptr[int64](3000)); err != nil || got.GetStatus() != paymuxv1.PaymentStatus_PAYMENT_STATUS_PARTIAL_CANCELLED {
		t.Fatalf("cancel on an archived channel: %v %v", got, err)
	}
	id := sched.Msg.GetSchedules()[0].GetId()
	waitFor(t, "the scheduled charge on the archived channel", func() bool {
		s, err := e.billing.GetSchedule(ctx, connect.NewRequest(&paymuxv1.GetScheduleRequest{Id: id}))
		return err == nil && s.Msg.GetSchedule().GetStatus() == paymuxv1.ScheduleStatus_SCHEDULE_STATUS_SUCCEEDED
	})
}

func firstSandboxChannel(t *testing.T, e *env) string {
	t.Helper()
	res, err := e.channels.ListChannels(context.Background(), connect.NewRequest(&paymuxv1.ListChannelsRequest{}))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range res.Msg.GetChannels() {
		if c.GetProvider() == paymuxv1.Provider_PROVIDER_SANDBOX {
			return c.GetId()
		}
	}
	t.Fatal("no sandbox channel")
	return ""
}

// wantMaskedPGLog checks the call log's PG calls for a payment: they are
// there, and no channel secret, token or signature of the window shows.
func (e *env) wantMaskedPGLog(t *testing.T, paymentID string, window url.Values) {
	t.Helper()
	var secretValues []string
	for name, v := range e.pg.secrets {
		if strings.Contains(name, "secret") || strings.Contains(name, "security") { // client ids are public
			secretValues = append(secretValues, v)
		}
	}
	for k := range window {
		lk := strings.ToLower(k)
		if strings.Contains(lk, "token") || strings.Contains(lk, "signature") || strings.Contains(lk, "authkey") {
			secretValues = append(secretValues, window.Get(k))
		}
	}
	var logs []*paymuxv1.LogEntry
	waitFor(t, "the PG calls in the call log", func() bool {
		res, err := e.logs.ListLogs(context.Background(), connect.NewRequest(&paymuxv1.ListLogsRequest{
			Kind: paymuxv1.LogKind_LOG_KIND_PG, PaymentId: paymentID}))
		if err != nil {
			t.Fatal(err)
		}
		logs = res.Msg.GetLogs()
		return len(logs) > 0
	})
	for _, l := range logs {
		full, err := e.logs.GetLog(context.Background(), connect.NewRequest(&paymuxv1.GetLogRequest{Id: l.GetId()}))
		if err != nil {
			t.Fatal(err)
		}
		text := full.Msg.String()
		if !strings.HasPrefix(full.Msg.GetLog().GetMethod(), e.pg.name+"/") {
			t.Fatalf("PG call logged as %q", full.Msg.GetLog().GetMethod())
		}
		for _, v := range secretValues {
			if v != "" && strings.Contains(text, v) {
				t.Fatalf("the call log shows a secret value in %s: %s", full.Msg.GetLog().GetMethod(), text)
			}
		}
	}
}

func (e *env) testKeyIn(t *testing.T) {
	res, err := e.payments.CreateInstantPayment(context.Background(), connect.NewRequest(&paymuxv1.CreateInstantPaymentRequest{
		MerchantPaymentId: nextOrder(), OrderName: "녹차 세트", Amount: amount(12000),
		Method: &paymuxv1.CreateInstantPaymentRequest_Card{Card: &paymuxv1.CardInput{Number: e.pg.billingCard,
			ExpiryYear: int32(time.Now().Year() + 2), ExpiryMonth: 12, BirthOrBusinessNumber: "900101", PasswordTwoDigits: "12"}},
	}))
	if !e.pg.keyIn {
		// Not offered: refused by name, before anything is recorded.
		ce := wantCode(t, err, connect.CodeFailedPrecondition, "key-in on a PG without it")
		if !strings.Contains(ce.Message(), e.pg.name) {
			t.Fatalf("the refusal does not name the PG: %v", ce)
		}
		return
	}
	if err != nil {
		t.Fatalf("key-in: %v", err)
	}
	p := res.Msg.GetPayment()
	wantStatus(t, p, paymuxv1.PaymentStatus_PAYMENT_STATUS_PAID)
	if _, bal := e.pg.pgStatus(p.GetId()); bal != 12000 || strings.Contains(p.String(), e.pg.billingCard) {
		t.Fatalf("key-in: the PG holds %d; payment %v", bal, p)
	}
}

func (e *env) testCashReceipt(t *testing.T) {
	ctx := context.Background()
	// A request whose answer never came is kept REQUESTED: asking again
	// cannot make the PG issue a second receipt.
	q := e.issueVirtualAccount(t, 13000)
	if err := e.pg.deposit(q.GetId(), 13000, "홍길동"); err != nil {
		t.Fatal(err)
	}
	ask := connect.NewRequest(&paymuxv1.IssueCashReceiptRequest{PaymentId: q.GetId(),
		Receipt: &paymuxv1.CashReceiptInput{Type: paymuxv1.CashReceiptType_CASH_RECEIPT_TYPE_INCOME_DEDUCTION, IdentityNumber: "01012345678"}})
	e.pg.failNext("receipt", faultTimeoutAfterCharge)
	_, err := e.payments.IssueCashReceipt(ctx, ask)
	wantCode(t, err, connect.CodeUnavailable, "a cash receipt whose answer never came")
	_, err = e.payments.IssueCashReceipt(ctx, ask)
	wantCode(t, err, connect.CodeAlreadyExists, "a second cash receipt while the first is unknown")

	p := e.issueVirtualAccount(t, 22000)
	if err := e.pg.deposit(p.GetId(), 22000, "홍길동"); err != nil {
		t.Fatal(err)
	}
	wantStatus(t, e.get(t, p.GetId()), paymuxv1.PaymentStatus_PAYMENT_STATUS_PAID)
	res, err := e.payments.IssueCashReceipt(ctx, connect.NewRequest(&paymuxv1.IssueCashReceiptRequest{PaymentId: p.GetId(),
		Receipt: &paymuxv1.CashReceiptInput{Type: paymuxv1.CashReceiptType_CASH_RECEIPT_TYPE_INCOME_DEDUCTION, IdentityNumber: "01012345678"}}))
	if err != nil {
		t.Fatalf("issue a cash receipt: %v", err)
	}
	r := res.Msg.GetCashReceipt()
	if r.GetPgReceiptId() == "" || r.GetAmount() != 22000 || strings.Contains(r.String(), "01012345678") ||
		(r.GetStatus() != paymuxv1.CashReceiptStatus_CASH_RECEIPT_STATUS_REQUESTED && r.GetStatus() != paymuxv1.CashReceiptStatus_CASH_RECEIPT_STATUS_ISSUED) {
		t.Fatalf("cash receipt %v", r)
	}
	got, err := e.payments.GetCashReceipt(ctx, connect.NewRequest(&paymuxv1.GetCashReceiptRequest{PaymentId: p.GetId()}))
	if err != nil || got.Msg.GetCashReceipt().GetId() != r.GetId() {
		t.Fatalf("get the cash receipt: %v %v", got, err)
	}
	cancelled, err := e.payments.CancelCashReceipt(ctx, connect.NewRequest(&paymuxv1.CancelCashReceiptRequest{PaymentId: p.GetId()}))
	if err != nil || cancelled.Msg.GetCashReceipt().GetStatus() != paymuxv1.CashReceiptStatus_CASH_RECEIPT_STATUS_CANCELLED {
		t.Fatalf("cancel the cash receipt: %v %v", cancelled, err)
	}
}
