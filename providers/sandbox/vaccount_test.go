package sandbox_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/paymux/paymux/providers"
	"github.com/paymux/paymux/providers/sandbox"
)

func issueVA(t *testing.T, sb *sandbox.Sandbox, ch providers.Channel, order string, amount int64, due time.Time) *providers.Payment {
	t.Helper()
	p, err := sb.IssueVirtualAccount(ctx, ch, providers.IssueVirtualAccountRequest{OrderID: order, OrderName: "책",
		Amount: krw(amount), Bank: providers.BankShinhan, DueAt: due, AccountHolder: "페이먹스상점", CustomerName: "홍길동"})
	noErr(t, err)
	return p
}

func TestVirtualAccountDeposit(t *testing.T) {
	sb, clock, ch := setup(t)
	p := issueVA(t, sb, ch, "va-1", 33_000, time.Time{})
	va := p.VirtualAccount
	if p.Status != providers.StatusVirtualAccountIssued || p.Method != providers.MethodVirtualAccount || va == nil ||
		va.Bank != providers.BankShinhan || va.AccountNumber == "" || va.Holder != "페이먹스상점" ||
		!va.DueAt.Equal(t0.Add(7*24*time.Hour)) || p.Amounts.Paid != 0 || p.Amounts.Cancellable() != 0 || p.NotificationSecret == "" {
		t.Fatalf("issued = %+v / %+v", p, va)
	}
	// Not paid: Cancel refuses, NetCancel does not apply.
	_, err := sb.Cancel(ctx, ch, providers.CancelRequest{OrderID: "va-1"})
	wantErr(t, err, providers.KindInvalidRequest, "PAYMENT_NOT_PAID")
	_, err = sb.SimulateDeposit(ctx, ch, sandbox.DepositRequest{OrderID: "va-1", Amount: 30_000})
	wantErr(t, err, providers.KindInvalidRequest, "DEPOSIT_AMOUNT_MISMATCH")

	clock.Advance(2 * time.Hour)
	n, err := sb.SimulateDeposit(ctx, ch, sandbox.DepositRequest{AccountNumber: va.AccountNumber, DepositorName: "홍길동"})
	noErr(t, err)
	ev, err := sb.ParseNotification(ctx, ch, *n)
	noErr(t, err)
	if ev.Type != providers.EventDepositArrived || ev.OrderID != "va-1" || ev.PGTransactionID != p.PGTransactionID ||
		ev.Amount != 33_000 || ev.Status != providers.StatusPaid || ev.DepositorName != "홍길동" ||
		ev.Authenticity != providers.AuthenticitySignature || ev.ID == "" || !ev.OccurredAt.Equal(t0.Add(2*time.Hour)) ||
		ev.Ack.StatusCode != http.StatusOK || string(ev.Ack.Body) != "OK" {
		t.Fatalf("event = %+v", ev)
	}
	got, err := sb.Lookup(ctx, ch, providers.LookupRequest{OrderID: "va-1"})
	noErr(t, err)
	if got.Status != providers.StatusPaid || got.Amounts.Paid != 33_000 || got.VirtualAccount.DepositorName != "홍길동" ||
		!got.ApprovedAt.Equal(t0.Add(2*time.Hour)) {
		t.Fatalf("after deposit = %+v", got)
	}
	_, err = sb.SimulateDeposit(ctx, ch, sandbox.DepositRequest{OrderID: "va-1"})
	wantErr(t, err, providers.KindAlreadyDone, "ALREADY_DEPOSITED")
	_, err = sb.CloseVirtualAccount(ctx, ch, providers.CloseVirtualAccountRequest{OrderID: "va-1"})
	wantErr(t, err, providers.KindInvalidRequest, "ALREADY_DEPOSITED")

	// Refund: a refund account is required; the refund settles a day later.
	_, err = sb.Cancel(ctx, ch, providers.CancelRequest{OrderID: "va-1", Amount: 3_000})
	wantErr(t, err, providers.KindInvalidRequest, "REFUND_ACCOUNT_REQUIRED")
	bad := &providers.RefundAccount{Bank: providers.BankKB, Number: providers.NewRedacted("12-34"), Holder: "홍길동"}
	_, err = sb.Cancel(ctx, ch, providers.CancelRequest{OrderID: "va-1", Amount: 3_000, RefundAccount: bad})
	wantErr(t, err, providers.KindInvalidRequest, "INVALID_REFUND_ACCOUNT_NUMBER")
	ra := &providers.RefundAccount{Bank: providers.BankKB, Number: providers.NewRedacted("12345678901234"), Holder: "홍길동"}
	res, err := sb.Cancel(ctx, ch, providers.CancelRequest{OrderID: "va-1", Amount: 3_000, RefundAccount: ra})
	noErr(t, err)
	if res.Cancellation.Refund == nil || res.Cancellation.Refund.Status != providers.RefundPending ||
		res.Payment.Status != providers.StatusPartialCancelled || res.Cancellation.Refund.Account.Number.Reveal() != "12345678901234" {
		t.Fatalf("refund = %+v", res.Cancellation)
	}
	clock.Advance(25 * time.Hour)
	got, err = sb.Lookup(ctx, ch, providers.LookupRequest{OrderID: "va-1"})
	noErr(t, err)
	if got.Cancellations[0].Refund.Status != providers.RefundCompleted {
		t.Fatalf("refund after a day = %s", got.Cancellations[0].Refund.Status)
	}
	checkBooks(t, got)
}

func TestVirtualAccountExpiryAndClose(t *testing.T) {
	sb, clock, ch := setup(t)
	p := issueVA(t, sb, ch, "va-1", 10_000, t0.Add(time.Hour))
	clock.Advance(time.Hour) // exactly the due time: still open
	got, err := sb.Lookup(ctx, ch, providers.LookupRequest{OrderID: "va-1"})
	noErr(t, err)
	if got.Status != providers.StatusVirtualAccountIssued {
		t.Fatalf("at the due time: %s", got.Status)
	}
	clock.Advance(time.Second)
	got, err = sb.Lookup(ctx, ch, providers.LookupRequest{PGTransactionID: p.PGTransactionID})
	noErr(t, err)
	if got.Status != providers.StatusExpired || !got.VirtualAccount.Expired {
		t.Fatalf("after the due time: %+v", got)
	}
	_, err = sb.SimulateDeposit(ctx, ch, sandbox.DepositRequest{OrderID: "va-1"})
	wantErr(t, err, providers.KindInvalidRequest, "VIRTUAL_ACCOUNT_EXPIRED")
	_, err = sb.CloseVirtualAccount(ctx, ch, providers.CloseVirtualAccountRequest{OrderID: "va-1"})
	wantErr(t, err, providers.KindAlreadyDone, "VIRTUAL_ACCOUNT_EXPIRED")

	// Expiry shows without a Lookup too (SimulateDeposit above), and in Payments.
	issueVA(t, sb, ch, "va-2", 10_000, clock.Now().Add(time.Minute))
	clock.Advance(2 * time.Minute)
	for _, p := range sb.Payments(ch) {
		if p.Status != providers.StatusExpired {
			t.Fatalf("%s: %s", p.OrderID, p.Status)
		}
	}

	// Close before a deposit.
	issueVA(t, sb, ch, "va-3", 10_000, time.Time{})
	closed, err := sb.CloseVirtualAccount(ctx, ch, providers.CloseVirtualAccountRequest{OrderID: "va-3", Reason: "order cancelled"})
	noErr(t, err)
	if closed.Status != providers.StatusCancelled || closed.CancelledAt.IsZero() {
		t.Fatalf("closed = %+v", closed)
	}
	_, err = sb.CloseVirtualAccount(ctx, ch, providers.CloseVirtualAccountRequest{OrderID: "va-3"})
	wantErr(t, err, providers.KindAlreadyDone, "VIRTUAL_ACCOUNT_CLOSED")
	_, err = sb.SimulateDeposit(ctx, ch, sandbox.DepositRequest{OrderID: "va-3"})
	wantErr(t, err, providers.KindInvalidRequest, "VIRTUAL_ACCOUNT_CLOSED")
	_, err = sb.CloseVirtualAccount(ctx, ch, providers.CloseVirtualAccountRequest{OrderID: "nope"})
	wantErr(t, err, providers.KindNotFound, "VIRTUAL_ACCOUNT_NOT_FOUND")
	_, err = sb.SimulateDeposit(ctx, ch, sandbox.DepositRequest{AccountNumber: "nope"})
	wantErr(t, err, providers.KindNotFound, "VIRTUAL_ACCOUNT_NOT_FOUND")
}

func TestVirtualAccountIssueChecks(t *testing.T) {
	sb, _, ch := setup(t)
	for _, tc := range []struct {
		req  providers.IssueVirtualAccountRequest
		code string
	}{
		{providers.IssueVirtualAccountRequest{Amount: krw(1000), Bank: providers.BankKB}, "ORDER_ID_REQUIRED"},
		{providers.IssueVirtualAccountRequest{OrderID: "a", Amount: krw(1000), Bank: "999"}, "INVALID_BANK"},
		{providers.IssueVirtualAccountRequest{OrderID: "b", Amount: krw(0), Bank: providers.BankKB}, "INVALID_TOTAL_AMOUNT"},
		{providers.IssueVirtualAccountRequest{OrderID: "c", Amount: krw(1000), Bank: providers.BankKB, DueAt: t0}, "INVALID_DUE_DATE"},
		{providers.IssueVirtualAccountRequest{OrderID: "d", Amount: krw(1000), Bank: providers.BankKB, DueAt: t0.Add(31 * 24 * time.Hour)}, "INVALID_DUE_DATE"},
		{providers.IssueVirtualAccountRequest{OrderID: "e", Amount: krw(1000), Bank: providers.BankKB,
			CashReceipt: &providers.CashReceiptSubject{Type: providers.CashReceiptExpenseProof, Identity: providers.NewRedacted("123")}}, "INVALID_IDENTITY"},
	} {
		_, err := sb.IssueVirtualAccount(ctx, ch, tc.req)
		wantErr(t, err, providers.KindInvalidRequest, tc.code)
	}
	req := providers.IssueVirtualAccountRequest{OrderID: "f", Amount: krw(1000), Bank: providers.BankKB}
	p1, err := sb.IssueVirtualAccount(ctx, ch, req)
	noErr(t, err)
	p2, err := sb.IssueVirtualAccount(ctx, ch, req)
	noErr(t, err)
	if p1.VirtualAccount.AccountNumber != p2.VirtualAccount.AccountNumber {
		t.Fatal("a retry issued a second account")
	}
	req.Bank = providers.BankWoori
	_, err = sb.IssueVirtualAccount(ctx, ch, req)
	wantErr(t, err, providers.KindAlreadyDone, "DUPLICATED_ORDER_ID")
	// An order id used by a card charge cannot get an account.
	_, err = sb.ChargeKeyIn(ctx, ch, providers.KeyInRequest{OrderID: "g", Amount: krw(1000), Card: card(sandbox.CardSuccess)})
	noErr(t, err)
	_, err = sb.IssueVirtualAccount(ctx, ch, providers.IssueVirtualAccountRequest{OrderID: "g", Amount: krw(1000), Bank: providers.BankKB})
	wantErr(t, err, providers.KindAlreadyDone, "DUPLICATED_ORDER_ID")
}

func TestVirtualAccountCashReceiptOnDeposit(t *testing.T) {
	sb, _, ch := setup(t)
	p, err := sb.IssueVirtualAccount(ctx, ch, providers.IssueVirtualAccountRequest{OrderID: "va-1", Amount: krw(22_000), Bank: providers.BankNH,
		CashReceipt: &providers.CashReceiptSubject{Type: providers.CashReceiptIncomeDeduction, Identity: providers.NewRedacted("01012345678")}})
	noErr(t, err)
	if p.CashReceiptID != "" {
		t.Fatal("a receipt before the deposit")
	}
	_, err = sb.SimulateDeposit(ctx, ch, sandbox.DepositRequest{PGTransactionID: p.PGTransactionID})
	noErr(t, err)
	got, err := sb.Lookup(ctx, ch, providers.LookupRequest{PGTransactionID: p.PGTransactionID})
	noErr(t, err)
	r, err := sb.LookupCashReceipt(ctx, ch, providers.LookupCashReceiptRequest{ReceiptID: got.CashReceiptID})
	noErr(t, err)
	if r.Status != providers.CashReceiptIssued || r.Amounts.Total != 22_000 || r.Amounts.VAT != 2_000 || r.OrderID != "va-1" {
		t.Fatalf("receipt = %+v", r)
	}
}

// TestNotificationVerification: good, tampered, wrong secret, stale, replayed.
func TestNotificationVerification(t *testing.T) {
	sb, clock, ch := setup(t)
	issueVA(t, sb, ch, "va-1", 10_000, time.Time{})
	n, err := sb.SimulateDeposit(ctx, ch, sandbox.DepositRequest{OrderID: "va-1", DepositorName: "김입금"})
	noErr(t, err)
	if n.Method != http.MethodPost || n.Header.Get("Content-Type") != "application/json" || n.Header.Get(sandbox.HeaderEventID) == "" {
		t.Fatalf("notification = %+v", n)
	}
	good, err := sb.ParseNotification(ctx, ch, *n)
	noErr(t, err)

	// The same notice again (a retry or a replay): the same event id, so the
	// caller dedupes it.
	again, err := sb.ParseNotification(ctx, ch, *n)
	noErr(t, err)
	if again.ID != good.ID || good.ID != n.Header.Get(sandbox.HeaderEventID) {
		t.Fatalf("replay: %q vs %q", again.ID, good.ID)
	}
	// A resend a minute later is signed anew and carries the same event id.
	clock.Advance(time.Minute)
	re, err := sb.ResendNotification(ctx, ch, good.ID)
	noErr(t, err)
	if re.Header.Get(sandbox.HeaderSignature) == n.Header.Get(sandbox.HeaderSignature) {
		t.Fatal("resend not signed anew")
	}
	ev, err := sb.ParseNotification(ctx, ch, *re)
	noErr(t, err)
	if ev.ID != good.ID {
		t.Fatal("resend changed the event id")
	}
	_, err = sb.ResendNotification(ctx, ch, "sbx_evt_000000")
	wantErr(t, err, providers.KindNotFound, "EVENT_NOT_FOUND")

	mutate := func(f func(*providers.Notification)) providers.Notification {
		c := *re
		c.Header = re.Header.Clone()
		c.Body = bytes.Clone(re.Body)
		f(&c)
		return c
	}
	tampered := mutate(func(c *providers.Notification) {
		c.Body = bytes.Replace(c.Body, []byte(`"amount":10000`), []byte(`"amount":99000`), 1)
	})
	if bytes.Equal(tampered.Body, re.Body) {
		t.Fatal("test did not tamper the body")
	}
	_, err = sb.ParseNotification(ctx, ch, tampered)
	wantErr(t, err, providers.KindUnauthorized, "SIGNATURE_MISMATCH")

	badSig := mutate(func(c *providers.Notification) {
		h := c.Header.Get(sandbox.HeaderSignature)
		c.Header.Set(sandbox.HeaderSignature, h[:len(h)-4]+"0000")
	})
	_, err = sb.ParseNotification(ctx, ch, badSig)
	wantErr(t, err, providers.KindUnauthorized, "SIGNATURE_MISMATCH")

	// A rotated header with an extra wrong signature still verifies.
	rotated := mutate(func(c *providers.Notification) {
		c.Header.Set(sandbox.HeaderSignature, c.Header.Get(sandbox.HeaderSignature)+",v1=deadbeef")
	})
	_, err = sb.ParseNotification(ctx, ch, rotated)
	noErr(t, err)

	for name, h := range map[string]string{"missing": "", "no signature": "t=123", "no time": "v1=abc", "junk": "nonsense"} {
		c := mutate(func(c *providers.Notification) { c.Header.Set(sandbox.HeaderSignature, h) })
		_, err = sb.ParseNotification(ctx, ch, c)
		if e := wantErr(t, err, providers.KindUnauthorized, ""); e.Code != "SIGNATURE_MISSING" && e.Code != "SIGNATURE_MISMATCH" {
			t.Fatalf("%s: %v", name, err)
		}
	}

	wrongSecret := ch
	wrongSecret.Secrets = providers.Secrets{sandbox.SecretNotification: "another-secret"}
	_, err = sb.ParseNotification(ctx, wrongSecret, *re)
	wantErr(t, err, providers.KindUnauthorized, "SIGNATURE_MISMATCH")

	noSecret := ch
	noSecret.Secrets = nil
	_, err = sb.ParseNotification(ctx, noSecret, *re)
	wantErr(t, err, providers.KindInvalidRequest, "NOTIFICATION_SECRET_MISSING")
	_, err = sb.SimulateDeposit(ctx, noSecret, sandbox.DepositRequest{OrderID: "va-1"})
	wantErr(t, err, providers.KindInvalidRequest, "NOTIFICATION_SECRET_MISSING")

	// Another merchant with the same secret: the body names the merchant.
	otherMerchant := ch
	otherMerchant.MerchantID = "sbx_mid_2"
	_, err = sb.ParseNotification(ctx, otherMerchant, *re)
	wantErr(t, err, providers.KindUnauthorized, "MERCHANT_MISMATCH")

	get := mutate(func(c *providers.Notification) { c.Method = http.MethodGet })
	_, err = sb.ParseNotification(ctx, ch, get)
	wantErr(t, err, providers.KindInvalidRequest, "METHOD_NOT_ALLOWED")

	var body map[string]any
	noErr(t, json.Unmarshal(re.Body, &body))
	if body["eventType"] != "DEPOSIT_ARRIVED" || !strings.Contains(string(re.Body), `"merchantId":"sbx_mid_1"`) {
		t.Fatalf("body = %s", re.Body)
	}
	// A correctly signed body that is not a notification.
	junk := []byte(`{"hello":"world"}`)
	ts := clock.Now().Unix()
	mac := hmac.New(sha256.New, []byte("notify-secret-1"))
	fmt.Fprintf(mac, "%d.%s", ts, junk)
	signedJunk := providers.Notification{Body: junk, Header: http.Header{}}
	signedJunk.Header.Set(sandbox.HeaderSignature, fmt.Sprintf("t=%d,v1=%x", ts, mac.Sum(nil)))
	_, err = sb.ParseNotification(ctx, ch, signedJunk)
	wantErr(t, err, providers.KindInvalidRequest, "MALFORMED_NOTIFICATION")

	// Stale: more than 5 minutes after signing.
	clock.Advance(5*time.Minute + time.Second)
	_, err = sb.ParseNotification(ctx, ch, *re)
	wantErr(t, err, providers.KindUnauthorized, "SIGNATURE_EXPIRED")
	// A resend is fresh again.
	fresh, err := sb.ResendNotification(ctx, ch, good.ID)
	noErr(t, err)
	_, err = sb.ParseNotification(ctx, ch, *fresh)
	noErr(t, err)
}
