package tosspayments_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/paymux/paymux/providers"
	"github.com/paymux/paymux/providers/tosspayments"
)

func bodyOf(t *testing.T, r seen) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(r.Body), &m); err != nil {
		t.Fatalf("%s %s body %q: %v", r.Method, r.Path, r.Body, err)
	}
	return m
}

// A route-by-path stub: GET answers before, POST cancel answers after.
func cancelStub(t *testing.T, before, after string) (*stubToss, *tosspayments.Adapter) {
	return newStub(t, func(r *http.Request) (int, string) {
		if r.Method == http.MethodGet {
			return 200, before
		}
		return 200, after
	})
}

func TestCancelRequests(t *testing.T) {
	ctx := context.Background()
	after := cardPartialCanceled

	// Full cancel with TaxFree given and a refund account: no lookup,
	// cancelAmount omitted, bank in Toss's form.
	s, a := cancelStub(t, "", after)
	zero := int64(0)
	res, err := a.Cancel(ctx, testChannel(), providers.CancelRequest{PGTransactionID: "tgen_20240213121750Ujaf5", TaxFree: &zero,
		Reason: "환불", IdempotencyKey: "idem-c1",
		RefundAccount: &providers.RefundAccount{Bank: providers.BankKB, Number: providers.NewRedacted("123-456-789012"), Holder: "김토스"}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Cancellation.ID != "txrd_a01" || res.Cancellation.Amount != 5000 || res.Payment.Status != providers.StatusPartialCancelled {
		t.Errorf("result %+v", res)
	}
	reqs := s.requests()
	if len(reqs) != 1 || reqs[0].Path != "/v1/payments/tgen_20240213121750Ujaf5/cancel" || reqs[0].Header.Get("Idempotency-Key") != "idem-c1" {
		t.Fatalf("requests %+v", reqs)
	}
	b := bodyOf(t, reqs[0])
	acct, _ := b["refundReceiveAccount"].(map[string]any)
	if b["cancelReason"] != "환불" || b["cancelAmount"] != nil || b["taxFreeAmount"] != nil ||
		acct["bank"] != "06" || acct["accountNumber"] != "123456789012" || acct["holderName"] != "김토스" {
		t.Errorf("body %v", b)
	}

	// Partial cancel by order id, TaxFree nil: looked up first, the least
	// tax-free part that fits is sent (balance 10,000 of which 1,000
	// tax-free: 9,500 takes 500 of it).
	s, a = cancelStub(t, cardPartialCanceled, after)
	expected := int64(10000)
	if _, err := a.Cancel(ctx, testChannel(), providers.CancelRequest{OrderID: "order-2024-0001", Amount: 9500,
		ExpectedCancellable: &expected, VAT: &zero}); err != nil {
		t.Fatal(err)
	}
	reqs = s.requests()
	if len(reqs) != 2 || reqs[0].Path != "/v1/payments/orders/order-2024-0001" || reqs[1].Path != "/v1/payments/tgen_20240213121750Ujaf5/cancel" {
		t.Fatalf("requests %+v", reqs)
	}
	b = bodyOf(t, reqs[1])
	if b["cancelAmount"] != float64(9500) || b["taxFreeAmount"] != float64(500) || b["cancelReason"] != tosspayments.DefaultCancelReason ||
		b["vat"] != nil || b["refundableAmount"] != nil {
		t.Errorf("body %v", b)
	}
	// The derived key is stable for the same logical cancel.
	k1 := reqs[1].Header.Get("Idempotency-Key")
	if _, err := a.Cancel(ctx, testChannel(), providers.CancelRequest{OrderID: "order-2024-0001", Amount: 9500, ExpectedCancellable: &expected}); err != nil {
		t.Fatal(err)
	}
	if k2 := s.requests()[3].Header.Get("Idempotency-Key"); k1 == "" || k2 != k1 {
		t.Errorf("derived keys %q %q", k1, k2)
	}
	// Without a guard or a key, none is sent (two equal partial cancels are
	// two cancels).
	if _, err := a.Cancel(ctx, testChannel(), providers.CancelRequest{PGTransactionID: "pk", Amount: 100, TaxFree: &zero}); err != nil {
		t.Fatal(err)
	}
	if k := s.requests()[4].Header.Get("Idempotency-Key"); k != "" {
		t.Errorf("key %q sent", k)
	}

	// A full cancel of what is left takes all the tax-free part left.
	s, a = cancelStub(t, cardPartialCanceled, after)
	if _, err := a.Cancel(ctx, testChannel(), providers.CancelRequest{PGTransactionID: "tgen_20240213121750Ujaf5"}); err != nil {
		t.Fatal(err)
	}
	if b = bodyOf(t, s.requests()[1]); b["taxFreeAmount"] != float64(1000) || b["cancelAmount"] != nil {
		t.Errorf("full cancel body %v", b)
	}

	_, err = a.Cancel(ctx, testChannel(), providers.CancelRequest{PGTransactionID: "pk", Amount: -1})
	wantKind(t, err, providers.KindInvalidRequest, "")
	_, err = a.Cancel(ctx, testChannel(), providers.CancelRequest{PGTransactionID: "pk", TaxFree: &zero,
		RefundAccount: &providers.RefundAccount{Bank: "999", Number: providers.NewRedacted("1"), Holder: "x"}})
	wantKind(t, err, providers.KindInvalidRequest, "")
}

func TestNetCancelNotSupported(t *testing.T) {
	a := tosspayments.New(tosspayments.Options{})
	if _, err := a.NetCancel(context.Background(), testChannel(), providers.NetCancelRequest{OrderID: "order-1"}); !isNotSupported(err) {
		t.Errorf("NetCancel: %v", err)
	}
	c := a.Capabilities()
	if c.Has(providers.CapNetCancel) || c.Has(providers.CapVATCancel) || c.Has(providers.CapCancelGuard) ||
		c.Has(providers.CapSignedNotifications) || c.Has(providers.CapNetCancelOnTimeout) {
		t.Errorf("capabilities %s", c)
	}
	want := providers.CapWindow | providers.CapLookupByOrderID | providers.CapPartialCancel | providers.CapTaxFreeCancel |
		providers.CapKeyIn | providers.CapBillingKeyFromCard | providers.CapBillingKeyFromWindow | providers.CapBillingKeyDelete |
		providers.CapVirtualAccount | providers.CapVirtualAccountClose | providers.CapVirtualAccountRefund |
		providers.CapCashReceipt | providers.CapNotifications | providers.CapIdempotencyKey
	if !c.Has(want) {
		t.Errorf("capabilities %s lack %s", c, c.Missing(want))
	}
	if a.Name() != "tosspayments" {
		t.Error(a.Name())
	}
}

func testCard(number string) providers.CardData {
	return providers.CardData{Number: providers.NewCardNumber(number), ExpiryYear: 2031, ExpiryMonth: 7,
		OwnerID: providers.NewRedacted("900101"), Password2: providers.NewRedacted("12")}
}

func TestKeyInAndBillingRequests(t *testing.T) {
	ctx := context.Background()
	s, a := newStub(t, func(r *http.Request) (int, string) {
		if strings.HasPrefix(r.URL.Path, "/v1/billing/authorizations") || r.Method == http.MethodDelete {
			return 200, `{"mId": "tosspayments", "customerKey": "cus_1", "authenticatedAt": "2024-02-13T12:18:14+09:00",
              "method": "카드", "billingKey": "Z_t5vOvQxrj4499PeiJcjen28-V2RyqgYTwN44Rdzk0=",
              "card": {"issuerCode": "41", "acquirerCode": "41", "number": "43300000****001*", "cardType": "신용", "ownerType": "개인"}}`
		}
		return 200, `{"paymentKey": "tbill_1", "orderId": "order-b1", "type": "BILLING", "status": "DONE", "method": "카드",
          "totalAmount": 9900, "balanceAmount": 9900, "vat": 900, "card": {"issuerCode": "41", "cardType": "신용", "installmentPlanMonths": 0}}`
	})
	p, err := a.ChargeKeyIn(ctx, testChannel(), providers.KeyInRequest{OrderID: "order-k1", OrderName: "키인", Amount: providers.Amount{Total: 9900, TaxFree: 100},
		Card: testCard("4330-0000-0000-0001"), InstallmentMonths: 3, Buyer: providers.Buyer{Name: "김토스"}})
	if err != nil || p.Status != providers.StatusPaid {
		t.Fatalf("%+v %v", p, err)
	}
	k, err := a.IssueBillingKey(ctx, testChannel(), providers.IssueBillingKeyRequest{CustomerKey: "cus_1", Card: ptr(testCard("4330000000000001"))})
	if err != nil || k.Key != "Z_t5vOvQxrj4499PeiJcjen28-V2RyqgYTwN44Rdzk0=" || k.CustomerKey != "cus_1" || k.Card.PGIssuerCode != "41" ||
		k.Card.Type != providers.CardTypeCredit || k.IssuedAt.IsZero() {
		t.Fatalf("%+v %v", k, err)
	}
	if _, err := a.IssueBillingKey(ctx, testChannel(), providers.IssueBillingKeyRequest{CustomerKey: "cus_1",
		Window: providers.WindowResult{"customerKey": "cus_1", "authKey": "bln_abc"}}); err != nil {
		t.Fatal(err)
	}
	p, err = a.ChargeBillingKey(ctx, testChannel(), providers.ChargeBillingKeyRequest{BillingKey: k.Key, CustomerKey: "cus_1",
		OrderID: "order-b1", OrderName: "구독", Amount: providers.Amount{Total: 9900}, InstallmentMonths: 2})
	if err != nil || p.BillingKey != k.Key {
		t.Fatalf("%+v %v", p, err)
	}
	d, err := a.DeleteBillingKey(ctx, testChannel(), providers.DeleteBillingKeyRequest{BillingKey: k.Key, CustomerKey: "cus_1"})
	if err != nil || d.Key != k.Key || d.DeletedAt.IsZero() {
		t.Fatalf("%+v %v", d, err)
	}

	reqs := s.requests()
	b := bodyOf(t, reqs[0])
	if reqs[0].Path != "/v1/payments/key-in" || b["cardNumber"] != "4330000000000001" || b["cardExpirationYear"] != "31" ||
		b["cardExpirationMonth"] != "07" || b["customerIdentityNumber"] != "900101" || b["cardPassword"] != "12" ||
		b["cardInstallmentPlan"] != float64(3) || b["amount"] != float64(9900) || b["taxFreeAmount"] != float64(100) ||
		b["orderId"] != "order-k1" || b["customerName"] != "김토스" || reqs[0].Header.Get("Idempotency-Key") == "" {
		t.Errorf("key-in %s %v", reqs[0].Path, b)
	}
	b = bodyOf(t, reqs[1])
	if reqs[1].Path != "/v1/billing/authorizations/card" || b["customerKey"] != "cus_1" || b["cardNumber"] != "4330000000000001" {
		t.Errorf("billing card %s %v", reqs[1].Path, b)
	}
	b = bodyOf(t, reqs[2])
	if reqs[2].Path != "/v1/billing/authorizations/issue" || b["authKey"] != "bln_abc" || b["customerKey"] != "cus_1" || len(b) != 2 {
		t.Errorf("billing issue %s %v", reqs[2].Path, b)
	}
	b = bodyOf(t, reqs[3])
	if reqs[3].Path != "/v1/billing/Z_t5vOvQxrj4499PeiJcjen28-V2RyqgYTwN44Rdzk0=" || b["customerKey"] != "cus_1" ||
		b["amount"] != float64(9900) || b["orderId"] != "order-b1" || b["orderName"] != "구독" || b["cardInstallmentPlan"] != float64(2) ||
		b["taxFreeAmount"] != nil {
		t.Errorf("billing charge %s %v", reqs[3].Path, b)
	}
	if reqs[4].Method != http.MethodDelete || reqs[4].Path != reqs[3].Path || reqs[4].Body != "" {
		t.Errorf("delete %+v", reqs[4])
	}

	// A billing window's failure is a decline, without a call.
	n := len(s.requests())
	_, err = a.IssueBillingKey(ctx, testChannel(), providers.IssueBillingKeyRequest{CustomerKey: "cus_1",
		Window: providers.WindowResult{"code": "PAY_PROCESS_CANCELED", "message": "사용자에 의해 결제가 취소되었습니다."}})
	wantKind(t, err, providers.KindDeclined, "PAY_PROCESS_CANCELED")
	_, err = a.IssueBillingKey(ctx, testChannel(), providers.IssueBillingKeyRequest{CustomerKey: "cus_2",
		Window: providers.WindowResult{"customerKey": "cus_1", "authKey": "bln_abc"}})
	wantKind(t, err, providers.KindInvalidRequest, "CUSTOMER_KEY_MISMATCH")
	if len(s.requests()) != n {
		t.Error("a refused window result reached Toss")
	}
}

func TestVirtualAccountAndReceiptRequests(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 3, 10, 1, 0, 0, 0, time.UTC) // 10:00 KST
	var lists []string
	s, _ := newStub(t, func(r *http.Request) (int, string) {
		switch {
		case r.URL.Path == "/v1/virtual-accounts":
			return 200, `{"paymentKey": "tviva_1", "orderId": "va-order-1", "status": "WAITING_FOR_DEPOSIT", "method": "가상계좌",
              "totalAmount": 50000, "balanceAmount": 50000, "vat": 4545, "approvedAt": null, "secret": "ps_abc",
              "virtualAccount": {"accountNumber": "X3790109057645", "bankCode": "06", "customerName": "김토스",
                "dueDate": "2026-03-11T10:00:00+09:00", "expired": false, "refundStatus": "NONE"}}`
		case r.Method == http.MethodGet && r.URL.Path == "/v1/cash-receipts":
			lists = append(lists, r.URL.Query().Get("requestDate"))
			if r.URL.Query().Get("requestDate") != "2026-03-09" {
				return 200, `{"hasNext": false, "lastCursor": null, "data": [
                  {"receiptKey": "rcpt_1", "transactionType": "CANCEL", "amount": 3000, "taxFreeAmount": 0, "issueStatus": "COMPLETED", "orderId": "rc-order-1", "requestedAt": "2026-03-10T09:00:00+09:00"}]}`
			}
			return 200, `{"hasNext": false, "lastCursor": 3, "data": [
              {"receiptKey": "rcpt_0", "transactionType": "CONFIRM", "amount": 100, "issueStatus": "COMPLETED", "orderId": "other-1"},
              {"receiptKey": "rcpt_1", "issueNumber": "123456789", "transactionType": "CONFIRM", "type": "지출증빙", "amount": 11000,
               "taxFreeAmount": 0, "issueStatus": "COMPLETED", "orderId": "rc-order-1", "requestedAt": "2026-03-09T15:00:00+09:00",
               "receiptUrl": "https://dashboard.tosspayments.com/receipt/cash"}]}`
		case strings.HasSuffix(r.URL.Path, "/cancel"):
			return 200, `{"receiptKey": "rcpt_1", "transactionType": "CANCEL", "amount": 3000, "issueStatus": "IN_PROGRESS", "orderId": "rc-order-1", "type": "지출증빙"}`
		default:
			return 200, `{"receiptKey": "rcpt_1", "transactionType": "CONFIRM", "type": "소득공제", "amount": 11000, "issueStatus": "IN_PROGRESS",
              "orderId": "rc-order-1", "requestedAt": "2026-03-09T15:00:00+09:00"}`
		}
	})
	a := tosspayments.New(tosspayments.Options{APIURL: s.URL, Now: func() time.Time { return now }})
	p, err := a.IssueVirtualAccount(ctx, testChannel(), providers.IssueVirtualAccountRequest{OrderID: "va-order-1", OrderName: "티셔츠",
		Amount: providers.Amount{Total: 50000}, Bank: providers.BankKB, DueAt: now.Add(24 * time.Hour), CustomerName: "김토스",
		AccountHolder: "상점", CashReceipt: &providers.CashReceiptSubject{Type: providers.CashReceiptIncomeDeduction, Identity: providers.NewRedacted("010-1234-5678")}})
	if err != nil {
		t.Fatal(err)
	}
	if p.Status != providers.StatusVirtualAccountIssued || p.NotificationSecret != "ps_abc" || p.Amounts.Paid != 0 ||
		p.VirtualAccount.Bank != providers.BankKB || p.VirtualAccount.AccountNumber != "X3790109057645" {
		t.Errorf("payment %+v", p)
	}
	r, err := a.IssueCashReceipt(ctx, testChannel(), providers.IssueCashReceiptRequest{OrderID: "rc-order-1", OrderName: "입금",
		Amount: providers.Amount{Total: 11000}, Subject: providers.CashReceiptSubject{Type: providers.CashReceiptIncomeDeduction, Identity: providers.NewRedacted("01012345678")}})
	if err != nil || r.Status != providers.CashReceiptRequested || r.ReceiptID != "rcpt_1" || r.Type != providers.CashReceiptIncomeDeduction {
		t.Fatalf("%+v %v", r, err)
	}
	c, err := a.CancelCashReceipt(ctx, testChannel(), providers.CancelCashReceiptRequest{ReceiptID: "rcpt_1", Amount: 3000})
	if err != nil || c.Status != providers.CashReceiptPartialCancelled || c.Amounts.Cancelled != 3000 {
		t.Fatalf("%+v %v", c, err)
	}
	l, err := a.LookupCashReceipt(ctx, testChannel(), providers.LookupCashReceiptRequest{OrderID: "rc-order-1"})
	if err != nil {
		t.Fatal(err)
	}
	if l.ReceiptID != "rcpt_1" || l.Status != providers.CashReceiptPartialCancelled || l.ApprovalNumber != "123456789" ||
		l.Amounts.Total != 11000 || l.Amounts.Cancelled != 3000 || l.Type != providers.CashReceiptExpenseProof || l.ReceiptURL == "" {
		t.Errorf("lookup %+v", l)
	}
	if strings.Join(lists, ",") != "2026-03-10,2026-03-09" {
		t.Errorf("list days %v", lists)
	}
	lists = nil
	_, err = a.LookupCashReceipt(ctx, testChannel(), providers.LookupCashReceiptRequest{ReceiptID: "rcpt_none"})
	wantKind(t, err, providers.KindNotFound, "")
	if len(lists) != tosspayments.CashReceiptLookupDays {
		t.Errorf("searched %v", lists)
	}

	reqs := s.requests()
	b := bodyOf(t, reqs[0])
	cr, _ := b["cashReceipt"].(map[string]any)
	if b["bank"] != "06" || b["dueDate"] != "2026-03-11T10:00:00" || b["customerName"] != "김토스" || b["amount"] != float64(50000) ||
		cr["type"] != "소득공제" || cr["registrationNumber"] != "01012345678" || b["validHours"] != nil || b["accountHolder"] != nil {
		t.Errorf("virtual account body %v", b)
	}
	b = bodyOf(t, reqs[1])
	if reqs[1].Path != "/v1/cash-receipts" || b["customerIdentityNumber"] != "01012345678" || b["type"] != "소득공제" || b["amount"] != float64(11000) {
		t.Errorf("receipt body %v", b)
	}
	if b = bodyOf(t, reqs[2]); reqs[2].Path != "/v1/cash-receipts/rcpt_1/cancel" || b["amount"] != float64(3000) {
		t.Errorf("receipt cancel %s %v", reqs[2].Path, b)
	}
}

func ptr[T any](v T) *T { return &v }
