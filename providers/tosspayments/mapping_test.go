package tosspayments_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/paymux/paymux/providers"
)

// Payment objects shaped as the reference's §4 (version 2022-11-16, Korean
// labels, +09:00 timestamps, one L in CANCELED).

// A card payment of 15,000 KRW (2,000 tax-free) with a cancel of 5,000
// (1,000 tax-free): balance, vat and taxFreeAmount describe what is left.
const cardPartialCanceled = `{
  "mId": "tosspayments", "version": "2022-11-16", "type": "NORMAL",
  "lastTransactionKey": "txrd_a01", "paymentKey": "tgen_20240213121750Ujaf5",
  "orderId": "order-2024-0001", "orderName": "토스 티셔츠 외 2건",
  "taxExemptionAmount": 0, "status": "PARTIAL_CANCELED",
  "requestedAt": "2024-02-13T12:17:57+09:00", "approvedAt": "2024-02-13T12:18:14+09:00",
  "useEscrow": false, "cultureExpense": false,
  "card": {"issuerCode": "71", "acquirerCode": "71", "number": "12345678****000*", "installmentPlanMonths": 3,
    "isInterestFree": true, "interestPayer": "MERCHANT", "approveNo": "00000000", "useCardPoint": false,
    "cardType": "체크", "ownerType": "개인", "acquireStatus": "READY", "amount": 15000},
  "virtualAccount": null, "transfer": null, "mobilePhone": null, "giftCertificate": null,
  "cashReceipt": null, "cashReceipts": null, "discount": null,
  "cancels": [{"transactionKey": "txrd_a01", "cancelReason": "고객 변심", "taxExemptionAmount": 0,
    "canceledAt": "2024-02-13T12:20:23+09:00", "easyPayDiscountAmount": 0, "receiptKey": null,
    "cancelAmount": 5000, "taxFreeAmount": 1000, "refundableAmount": 10000, "cancelStatus": "DONE",
    "cancelRequestId": null}],
  "secret": null, "easyPay": null, "country": "KR", "failure": null, "isPartialCancelable": true,
  "receipt": {"url": "https://dashboard.tosspayments.com/receipt/redirection?transactionId=tgen_20240213121750Ujaf5"},
  "checkout": {"url": "https://api.tosspayments.com/v1/payments/tgen_20240213121750Ujaf5/checkout"},
  "currency": "KRW", "totalAmount": 15000, "balanceAmount": 10000, "suppliedAmount": 8182, "vat": 818,
  "taxFreeAmount": 1000, "method": "카드", "metadata": null
}`

// A deposited virtual account refunded in full to a KB account.
const vaRefunded = `{
  "mId": "tosspayments", "version": "2022-11-16", "type": "NORMAL",
  "lastTransactionKey": "txrd_v02", "paymentKey": "tviva20240213121757MvuS8",
  "orderId": "va-order-0001", "orderName": "토스 티셔츠", "status": "CANCELED",
  "requestedAt": "2024-02-13T12:17:57+09:00", "approvedAt": "2024-02-14T09:01:02+09:00",
  "virtualAccount": {"accountType": "일반", "accountNumber": "X3790109057645", "bankCode": "20",
    "customerName": "김토스", "dueDate": "2024-02-20T23:59:59+09:00", "refundStatus": "COMPLETED",
    "expired": false, "settlementStatus": "COMPLETED",
    "refundReceiveAccount": {"bankCode": "06", "accountNumber": "123456789012", "holderName": "김토스"},
    "depositorName": "김입금"},
  "secret": "ps_Z1aOwX7K8mYxbQ5E2RgVyQnl",
  "cancels": [{"transactionKey": "txrd_v02", "cancelReason": "환불", "canceledAt": "2024-02-15T10:00:00+09:00",
    "cancelAmount": 50000, "taxFreeAmount": 0, "refundableAmount": 0, "cancelStatus": "DONE"}],
  "failure": null, "receipt": {"url": "https://dashboard.tosspayments.com/receipt/va"},
  "currency": "KRW", "totalAmount": 50000, "balanceAmount": 0, "suppliedAmount": 0, "vat": 0,
  "taxFreeAmount": 0, "method": "가상계좌"
}`

func lookupBody(t *testing.T, body string) *providers.Payment {
	t.Helper()
	_, a := newStub(t, answer(200, body))
	p, err := a.Lookup(context.Background(), testChannel(), providers.LookupRequest{PGTransactionID: "k"})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestMapCardPartialCancel(t *testing.T) {
	p := lookupBody(t, cardPartialCanceled)
	if p.PGTransactionID != "tgen_20240213121750Ujaf5" || p.OrderID != "order-2024-0001" || p.OrderName != "토스 티셔츠 외 2건" {
		t.Errorf("ids: %+v", p)
	}
	if p.Method != providers.MethodCard || p.Status != providers.StatusPartialCancelled || p.Currency != "KRW" {
		t.Errorf("method %s status %s currency %s", p.Method, p.Status, p.Currency)
	}
	want := providers.Amounts{Total: 15000, TaxFree: 2000, VAT: 1182, Paid: 15000, Cancelled: 5000,
		CancelledTaxFree: 1000, CancelledVAT: 364}
	if p.Amounts != want {
		t.Errorf("amounts %+v, want %+v", p.Amounts, want)
	}
	if p.Amounts.Cancellable() != 10000 {
		t.Errorf("cancellable %d", p.Amounts.Cancellable())
	}
	if !p.ApprovedAt.Equal(time.Date(2024, 2, 13, 12, 18, 14, 0, kst)) || !p.RequestedAt.Equal(time.Date(2024, 2, 13, 12, 17, 57, 0, kst)) {
		t.Errorf("times %v %v", p.RequestedAt, p.ApprovedAt)
	}
	c := p.Card
	if c == nil || c.PGIssuerCode != "71" || c.PGAcquirerCode != "71" || c.Issuer != "" || c.Number != "12345678****000*" ||
		c.Type != providers.CardTypeCheck || c.ApprovalNumber != "00000000" || c.InstallmentMonths != 3 || !c.InterestFree {
		t.Errorf("card %+v", c)
	}
	if len(p.Cancellations) != 1 {
		t.Fatalf("cancellations %+v", p.Cancellations)
	}
	x := p.Cancellations[0]
	if x.ID != "txrd_a01" || x.Amount != 5000 || x.TaxFree != 1000 || x.Reason != "고객 변심" || x.Refund != nil ||
		!x.CancelledAt.Equal(time.Date(2024, 2, 13, 12, 20, 23, 0, kst)) {
		t.Errorf("cancellation %+v", x)
	}
	if !p.CancelledAt.Equal(x.CancelledAt) || !strings.Contains(p.ReceiptURL, "receipt") || p.NotificationSecret != "" {
		t.Errorf("cancelledAt %v receipt %q secret %q", p.CancelledAt, p.ReceiptURL, p.NotificationSecret)
	}
}

func TestMapVirtualAccountRefund(t *testing.T) {
	p := lookupBody(t, vaRefunded)
	if p.Method != providers.MethodVirtualAccount || p.Status != providers.StatusCancelled {
		t.Errorf("method %s status %s", p.Method, p.Status)
	}
	if p.Amounts.Paid != 50000 || p.Amounts.Cancelled != 50000 || p.Amounts.Cancellable() != 0 {
		t.Errorf("amounts %+v", p.Amounts)
	}
	va := p.VirtualAccount
	if va == nil || va.Bank != providers.BankWoori || va.AccountNumber != "X3790109057645" || va.CustomerName != "김토스" ||
		va.DepositorName != "김입금" || !va.DepositedAt.Equal(p.ApprovedAt) || va.Expired ||
		!va.DueAt.Equal(time.Date(2024, 2, 20, 23, 59, 59, 0, kst)) {
		t.Errorf("virtual account %+v", va)
	}
	if p.NotificationSecret != "ps_Z1aOwX7K8mYxbQ5E2RgVyQnl" {
		t.Errorf("secret %q", p.NotificationSecret)
	}
	if len(p.Cancellations) != 1 || p.Cancellations[0].Refund == nil {
		t.Fatalf("cancellations %+v", p.Cancellations)
	}
	r := p.Cancellations[0].Refund
	// Toss numbers KB국민은행 "06".
	if r.Account.Bank != providers.BankKB || r.Account.Number.Reveal() != "123456789012" || r.Account.Holder != "김토스" ||
		r.Status != providers.RefundCompleted {
		t.Errorf("refund %+v", r)
	}
}

func TestMapStatuses(t *testing.T) {
	base := func(status, extra string) string {
		return `{"paymentKey": "pk_1", "orderId": "order-1", "status": "` + status + `", "totalAmount": 1000,
          "balanceAmount": 1000, "vat": 91, "taxFreeAmount": 0, "requestedAt": "2024-02-13T12:17:57+09:00"` + extra + `}`
	}
	va := func(expired bool) string {
		e := "false"
		if expired {
			e = "true"
		}
		return `, "method": "가상계좌", "approvedAt": null, "virtualAccount": {"accountNumber": "X1", "bankCode": "88",
          "dueDate": "2024-02-20T23:59:59+09:00", "expired": ` + e + `, "refundStatus": "NONE"}, "secret": "ps_1"`
	}
	card := `, "method": "카드", "card": {"issuerCode": "41", "cardType": "신용"}`
	cases := []struct {
		name, body string
		status     providers.Status
		paid       int64
		failure    string
	}{
		{"ready", base("READY", `, "method": null`), providers.StatusReady, 0, ""},
		{"in progress", base("IN_PROGRESS", card), providers.StatusReady, 0, ""},
		{"done", base("DONE", card+`, "approvedAt": "2024-02-13T12:18:14+09:00"`), providers.StatusPaid, 1000, ""},
		{"waiting", base("WAITING_FOR_DEPOSIT", va(false)), providers.StatusVirtualAccountIssued, 0, ""},
		{"waiting past due", base("WAITING_FOR_DEPOSIT", va(true)), providers.StatusExpired, 0, ""},
		{"va expired", base("EXPIRED", va(true)), providers.StatusExpired, 0, ""},
		{"card expired", base("EXPIRED", card+`, "failure": {"code": "EXPIRED_PAYMENT", "message": "결제 유효 시간이 지나 만료되었습니다."}`),
			providers.StatusFailed, 0, "EXPIRED_PAYMENT"},
		{"aborted", base("ABORTED", card+`, "failure": {"code": "REJECT_CARD_COMPANY", "message": "결제 승인이 거절되었습니다."}`),
			providers.StatusFailed, 0, "REJECT_CARD_COMPANY"},
		{"va closed unpaid", `{"paymentKey": "pk_1", "orderId": "order-1", "status": "CANCELED", "totalAmount": 1000,
          "balanceAmount": 0, "method": "가상계좌", "approvedAt": null, "virtualAccount": {"bankCode": "06"},
          "cancels": [{"transactionKey": "t1", "cancelAmount": 1000, "cancelStatus": "DONE", "canceledAt": "2024-02-14T00:00:00+09:00"}]}`,
			providers.StatusCancelled, 0, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := lookupBody(t, c.body)
			if p.Status != c.status || p.Amounts.Paid != c.paid {
				t.Errorf("status %s paid %d, want %s %d", p.Status, p.Amounts.Paid, c.status, c.paid)
			}
			if c.failure == "" && p.Failure != nil || c.failure != "" && (p.Failure == nil || p.Failure.Code != c.failure || p.Failure.Message == "") {
				t.Errorf("failure %+v, want %q", p.Failure, c.failure)
			}
			if p.Amounts.Cancellable() != 0 && c.paid == 0 {
				t.Errorf("cancellable %d of an unpaid payment", p.Amounts.Cancellable())
			}
		})
	}
	p := lookupBody(t, cases[len(cases)-1].body)
	if len(p.Cancellations) != 0 || p.Amounts.Cancelled != 0 || p.CancelledAt.IsZero() || p.VirtualAccount.Bank != providers.BankKB {
		t.Errorf("closed account: %+v", p)
	}
	if f := lookupBody(t, cases[7].body).Failure; f.Kind != providers.KindDeclined || f.Decline != providers.DeclineOther {
		t.Errorf("aborted failure %+v", f)
	}
}

func TestMethodLabels(t *testing.T) {
	for label, want := range map[string]providers.PayMethod{
		"카드": providers.MethodCard, "가상계좌": providers.MethodVirtualAccount, "계좌이체": providers.MethodTransfer,
		"휴대폰": providers.MethodMobile, "간편결제": providers.MethodEasyPay, "문화상품권": "",
	} {
		p := lookupBody(t, `{"paymentKey": "pk", "orderId": "order-1", "status": "DONE", "method": "`+label+`"}`)
		if p.Method != want {
			t.Errorf("%s: %q, want %q", label, p.Method, want)
		}
	}
}

// Lookup by key and by order go to the documented paths, escaped, with the
// secret key as Basic user and an empty password.
func TestLookupPathsAndAuth(t *testing.T) {
	s, a := newStub(t, answer(200, cardPartialCanceled))
	ctx := context.Background()
	if _, err := a.Lookup(ctx, testChannel(), providers.LookupRequest{PGTransactionID: "tgen/a=b", OrderID: "ignored"}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Lookup(ctx, testChannel(), providers.LookupRequest{OrderID: "order=1"}); err != nil {
		t.Fatal(err)
	}
	reqs := s.requests()
	if reqs[0].Path != "/v1/payments/tgen%2Fa=b" || reqs[1].Path != "/v1/payments/orders/order=1" {
		t.Errorf("paths %q %q", reqs[0].Path, reqs[1].Path)
	}
	for _, r := range reqs {
		if r.Method != http.MethodGet || r.Header.Get("Authorization") != testBasic || r.Header.Get("Idempotency-Key") != "" {
			t.Errorf("%s %s: auth %q idem %q", r.Method, r.Path, r.Header.Get("Authorization"), r.Header.Get("Idempotency-Key"))
		}
	}
	_, err := a.Lookup(ctx, testChannel(), providers.LookupRequest{})
	wantKind(t, err, providers.KindInvalidRequest, "")
	if len(s.requests()) != 2 {
		t.Error("a lookup without ids reached Toss")
	}
}

// Timestamps: +09:00 and offset-less microseconds (webhook createdAt).
func TestTimestamps(t *testing.T) {
	p := lookupBody(t, `{"paymentKey": "pk", "orderId": "order-1", "status": "DONE",
      "requestedAt": "2026-01-02T14:46:59.65327", "approvedAt": "2026-01-02T14:47:00.123456+09:00"}`)
	if want := time.Date(2026, 1, 2, 14, 46, 59, 653270000, kst); !p.RequestedAt.Equal(want) {
		t.Errorf("requestedAt %v, want %v", p.RequestedAt, want)
	}
	if want := time.Date(2026, 1, 2, 14, 47, 0, 123456000, kst); !p.ApprovedAt.Equal(want) {
		t.Errorf("approvedAt %v, want %v", p.ApprovedAt, want)
	}
}
