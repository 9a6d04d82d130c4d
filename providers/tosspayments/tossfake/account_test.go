package tossfake_test

import (
	"context"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/paymux/paymux/providers/tosspayments/tossfake"
)

var webhookStamp = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$`)

func keys(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func vaBody(orderID string) map[string]any {
	return map[string]any{"amount": 25000, "orderId": orderID, "orderName": "토스 티셔츠", "customerName": "박토스", "bank": "20"}
}

func TestVirtualAccountIssueDepositRefund(t *testing.T) {
	e := start(t)
	r := newReceiver(t)
	e.f.SetWebhookURL(r.srv.URL)
	body := vaBody("va-order-1")
	body["cashReceipt"] = map[string]any{"type": "소득공제", "registrationNumber": "01012345678"}
	a := e.must(e.call("POST", "/v1/virtual-accounts", body, nil), 200)
	secret := a.str("secret")
	if a.str("status") != "WAITING_FOR_DEPOSIT" || a.str("method") != "가상계좌" || !strings.HasPrefix(secret, "ps_") ||
		!strings.HasPrefix(a.str("virtualAccount", "accountNumber"), "X") || a.str("virtualAccount", "bankCode") != "20" ||
		a.str("virtualAccount", "customerName") != "박토스" || a.str("virtualAccount", "refundStatus") != "NONE" ||
		dig(a.body, "virtualAccount", "expired") != false || a.body["approvedAt"] != nil {
		t.Fatalf("issue: %s", a.raw)
	}
	due, err := time.Parse(time.RFC3339, a.str("virtualAccount", "dueDate"))
	if err != nil || !due.Equal(e.clock.Now().Add(7*24*time.Hour)) || !kstStamp.MatchString(a.str("virtualAccount", "dueDate")) {
		t.Fatalf("default due date %s (%v)", a.str("virtualAccount", "dueDate"), err)
	}
	key := a.str("paymentKey")

	if err := e.f.Deposit("va-order-1", 24000, "박토스"); err == nil {
		t.Fatal("a short deposit completed the account")
	}
	if err := e.f.Deposit("va-order-1", 25000, "김입금"); err != nil {
		t.Fatal(err)
	}
	a = e.must(e.call("GET", "/v1/payments/"+key, nil, nil), 200)
	if a.str("status") != "DONE" || a.str("virtualAccount", "depositorName") != "김입금" ||
		!kstStamp.MatchString(a.str("approvedAt")) || a.str("cashReceipt", "type") != "소득공제" || a.num("cashReceipt", "amount") != 25000 {
		t.Fatalf("after deposit: %s", a.raw)
	}

	cancel := "/v1/payments/" + key + "/cancel"
	e.wantError(e.call("POST", cancel, map[string]any{"cancelReason": "환불"}, nil), 400, "INVALID_REQUEST")
	refund := map[string]any{"bank": "88", "accountNumber": "12345678901234", "holderName": "박토스"}
	a = e.must(e.call("POST", cancel, map[string]any{"cancelReason": "부분 환불", "cancelAmount": 5000, "refundReceiveAccount": refund}, nil), 200)
	if a.str("status") != "PARTIAL_CANCELED" || a.num("balanceAmount") != 20000 ||
		a.str("virtualAccount", "refundStatus") != "COMPLETED" || a.str("virtualAccount", "refundReceiveAccount", "bankCode") != "88" {
		t.Fatalf("partial refund: %s", a.raw)
	}
	a = e.must(e.call("POST", cancel, map[string]any{"cancelReason": "환불", "refundReceiveAccount": refund}, nil), 200)
	if a.str("status") != "CANCELED" || a.num("balanceAmount") != 0 {
		t.Fatalf("refund: %s", a.raw)
	}

	// Webhooks: issue, deposit, two refunds; DEPOSIT_CALLBACK flat, before
	// the PAYMENT_STATUS_CHANGED of the same change.
	type seen struct{ kind, status string }
	var got []seen
	for _, h := range r.got() {
		if _, wrapped := h["eventType"]; wrapped {
			if !webhookStamp.MatchString(h["createdAt"].(string)) || dig(h, "data", "paymentKey") != key {
				t.Fatalf("PAYMENT_STATUS_CHANGED: %v", h)
			}
			got = append(got, seen{"PSC", dig(h, "data", "status").(string)})
			continue
		}
		if k := strings.Join(keys(h), ","); k != "createdAt,orderId,secret,status,transactionKey" {
			t.Fatalf("DEPOSIT_CALLBACK fields %s", k)
		}
		if h["secret"] != secret || h["orderId"] != "va-order-1" || !webhookStamp.MatchString(h["createdAt"].(string)) || h["transactionKey"] == "" {
			t.Fatalf("DEPOSIT_CALLBACK: %v", h)
		}
		got = append(got, seen{"DC", h["status"].(string)})
	}
	want := []seen{{"DC", "WAITING_FOR_DEPOSIT"}, {"PSC", "WAITING_FOR_DEPOSIT"}, {"DC", "DONE"}, {"PSC", "DONE"},
		{"DC", "PARTIAL_CANCELED"}, {"PSC", "PARTIAL_CANCELED"}, {"DC", "CANCELED"}, {"PSC", "CANCELED"}}
	if len(got) != len(want) {
		t.Fatalf("webhooks %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("webhooks %v, want %v", got, want)
		}
	}
	ns := e.f.Notifications()
	if len(ns) != len(want) || !ns[0].Delivered || ns[0].Status != 200 || ns[0].EventType != tossfake.EventDepositCallback ||
		ns[0].URL != r.srv.URL || ns[0].Header.Get("Content-Type") != "application/json" {
		t.Fatalf("notifications: %+v", ns[0])
	}
}

func TestVirtualAccountRules(t *testing.T) {
	for _, tc := range []struct {
		name   string
		edit   func(map[string]any)
		status int
		code   string
		due    time.Duration
	}{
		{name: "validHours", edit: func(b map[string]any) { b["validHours"] = 24 }, status: 200, due: 24 * time.Hour},
		{name: "validHours max", edit: func(b map[string]any) { b["validHours"] = 720 }, status: 200, due: 720 * time.Hour},
		{name: "validHours over 30 days", edit: func(b map[string]any) { b["validHours"] = 721 }, status: 400, code: "INVALID_REQUEST"},
		{name: "dueDate", edit: func(b map[string]any) { b["dueDate"] = "2026-03-05T19:00:00+09:00" }, status: 200, due: 3*24*time.Hour + 0*time.Hour},
		{name: "both", edit: func(b map[string]any) { b["validHours"] = 24; b["dueDate"] = "2026-03-05T19:00:00+09:00" }, status: 400, code: "INVALID_REQUEST"},
		{name: "bank by old name", edit: func(b map[string]any) { b["bank"] = "신한" }, status: 200, due: 7 * 24 * time.Hour},
		{name: "unknown bank", edit: func(b map[string]any) { b["bank"] = "XX" }, status: 400, code: "INVALID_REQUEST"},
		{name: "orderId with =", edit: func(b map[string]any) { b["orderId"] = "va=order=2" }, status: 200, due: 7 * 24 * time.Hour},
		{name: "no customerName", edit: func(b map[string]any) { delete(b, "customerName") }, status: 400, code: "INVALID_REQUEST"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := start(t)
			b := vaBody("va-order-2")
			tc.edit(b)
			a := e.call("POST", "/v1/virtual-accounts", b, nil)
			if tc.status != 200 {
				e.wantError(a, tc.status, tc.code)
				return
			}
			e.must(a, 200)
			due, _ := time.Parse(time.RFC3339, a.str("virtualAccount", "dueDate"))
			if got := due.Sub(e.clock.Now()); got != tc.due {
				t.Fatalf("due in %s, want %s", got, tc.due)
			}
		})
	}
	e := start(t)
	e.must(e.call("POST", "/v1/virtual-accounts", vaBody("va-order-3"), nil), 200)
	e.wantError(e.call("POST", "/v1/virtual-accounts", vaBody("va-order-3"), nil), 400, "DUPLICATED_ORDER_ID")
}

func TestVirtualAccountCloseAndExpire(t *testing.T) {
	e := start(t)
	r := newReceiver(t)
	e.f.SetWebhookURL(r.srv.URL)

	// Cancelling an unpaid account closes it.
	a := e.must(e.call("POST", "/v1/virtual-accounts", vaBody("va-close"), nil), 200)
	a = e.must(e.call("POST", "/v1/payments/"+a.str("paymentKey")+"/cancel", map[string]any{"cancelReason": "주문 취소"}, nil), 200)
	if a.str("status") != "CANCELED" || a.num("balanceAmount") != 0 {
		t.Fatalf("close: %s", a.raw)
	}
	if err := e.f.Deposit("va-close", 25000, "x"); err == nil {
		t.Fatal("deposit into a closed account")
	}

	// ExpireVirtualAccount.
	e.must(e.call("POST", "/v1/virtual-accounts", vaBody("va-expire"), nil), 200)
	if err := e.f.ExpireVirtualAccount("va-expire"); err != nil {
		t.Fatal(err)
	}
	a = e.must(e.call("GET", "/v1/payments/orders/va-expire", nil, nil), 200)
	if a.str("status") != "EXPIRED" || dig(a.body, "virtualAccount", "expired") != true {
		t.Fatalf("expired: %s", a.raw)
	}
	if err := e.f.Deposit("va-expire", 25000, "x"); err == nil {
		t.Fatal("deposit into an expired account")
	}

	// The clock passing the due date.
	e.must(e.call("POST", "/v1/virtual-accounts", map[string]any{"amount": 1000, "orderId": "va-clock", "orderName": "x",
		"customerName": "y", "bank": "11", "validHours": 1}, nil), 200)
	e.clock.Advance(time.Hour + time.Second)
	if st, _, _ := e.f.Payment("va-clock"); st != "EXPIRED" {
		t.Fatalf("after due date: %s", st)
	}
	last := r.got()[len(r.got())-1]
	if last["eventType"] != "PAYMENT_STATUS_CHANGED" || dig(last, "data", "status") != "EXPIRED" {
		t.Fatalf("last webhook %v", last)
	}

	// A window virtual account is issued at confirm.
	args := payArgs("va-window", "30000")
	args["method"] = "VIRTUAL_ACCOUNT"
	args["validHours"] = "48"
	q := e.window(args, tossfake.ApproveWith("not a card: ignored"))
	a = e.must(e.call("POST", "/v1/payments/confirm", map[string]any{"paymentKey": q.Get("paymentKey"), "orderId": "va-window", "amount": 30000}, nil), 200)
	due, _ := time.Parse(time.RFC3339, a.str("virtualAccount", "dueDate"))
	if a.str("status") != "WAITING_FOR_DEPOSIT" || a.str("method") != "가상계좌" || due.Sub(e.clock.Now()) != 48*time.Hour || a.str("secret") == "" {
		t.Fatalf("window virtual account: %s", a.raw)
	}
}

func TestConsoleCancelAndResend(t *testing.T) {
	e := start(t)
	r := newReceiver(t)
	e.f.SetWebhookURL(r.srv.URL)
	e.paid("console-order", 10000)
	if err := e.f.ConsoleCancel("console-order", 4000, "콘솔 부분취소"); err != nil {
		t.Fatal(err)
	}
	if st, bal, _ := e.f.Payment("console-order"); st != "PARTIAL_CANCELED" || bal != 6000 {
		t.Fatalf("%s %d", st, bal)
	}
	if err := e.f.ConsoleCancel("console-order", 7000, "too much"); err == nil {
		t.Fatal("console cancelled more than the balance")
	}
	r.mu.Lock()
	r.status = 500
	r.mu.Unlock()
	if err := e.f.ConsoleCancel("console-order", 0, "콘솔 전체취소"); err != nil {
		t.Fatal(err)
	}
	if st, bal, _ := e.f.Payment("console-order"); st != "CANCELED" || bal != 0 {
		t.Fatalf("%s %d", st, bal)
	}
	ns := e.f.Notifications()
	if len(ns) != 3 || ns[2].Delivered || ns[2].Status != 500 || ns[2].Response != "ok" {
		t.Fatalf("notifications %+v", ns)
	}
	r.mu.Lock()
	r.status = 200
	r.mu.Unlock()
	n, err := e.f.Resend(2)
	if err != nil || !n.Delivered || string(n.Body) != string(ns[2].Body) {
		t.Fatalf("resend: %+v %v", n, err)
	}
	if len(e.f.Notifications()) != 4 || len(r.got()) != 4 {
		t.Fatal("resend not recorded")
	}
	if _, err := e.f.Resend(9); err == nil {
		t.Fatal("resend of nothing")
	}
	if err := e.f.ConsoleCancel("no-such-order", 0, "x"); err != tossfake.ErrNotFound {
		t.Fatalf("unknown order: %v", err)
	}
}

func TestBilling(t *testing.T) {
	e := start(t)
	bargs := map[string]string{"clientKey": tossfake.TestClientKey, "customerKey": "cust-1234", "method": "CARD",
		"purpose": "billing", "successUrl": "https://shop.example/billing/ok?rt=q", "failUrl": "https://shop.example/billing/fail"}
	if _, err := e.f.CompleteWindow(map[string]string{"clientKey": tossfake.TestClientKey, "customerKey": "ANONYMOUS",
		"purpose": "billing", "successUrl": "https://a.example/", "failUrl": "https://a.example/"}, tossfake.Choice{}); err == nil {
		t.Fatal("billing window for ANONYMOUS")
	}
	ret, err := e.f.CompleteWindow(bargs, tossfake.ApproveWith(tossfake.RejectCard))
	if err != nil || ret.Query().Get("code") != "REJECT_CARD_COMPANY" {
		t.Fatalf("rejected card: %v %v", ret, err)
	}
	q := e.window(bargs, tossfake.ApproveWith(tossfake.CheckCard))
	if q.Get("customerKey") != "cust-1234" || q.Get("authKey") == "" || q.Get("rt") != "q" {
		t.Fatalf("billing return %v", q)
	}
	issue := "/v1/billing/authorizations/issue"
	e.wantError(e.call("POST", issue, map[string]any{"authKey": q.Get("authKey"), "customerKey": "someone-else"}, nil), 400, "NOT_MATCHES_CUSTOMER_KEY")
	b := e.must(e.call("POST", issue, map[string]any{"authKey": q.Get("authKey"), "customerKey": "cust-1234"}, nil), 200)
	bk := b.str("billingKey")
	if !strings.HasSuffix(bk, "=") || b.str("method") != "카드" || b.str("customerKey") != "cust-1234" ||
		b.str("mId") != tossfake.TestMID || b.str("card", "cardType") != "체크" || b.str("card", "issuerCode") != "11" ||
		!kstStamp.MatchString(b.str("authenticatedAt")) || b.str("card", "number") != "43300000****001*" {
		t.Fatalf("billing: %s", b.raw)
	}
	e.wantError(e.call("POST", issue, map[string]any{"authKey": q.Get("authKey"), "customerKey": "cust-1234"}, nil), 404, "NOT_FOUND")

	charge := func(path, orderID, customerKey string) answer {
		return e.call("POST", path, map[string]any{"customerKey": customerKey, "amount": 9900, "orderId": orderID, "orderName": "정기구독"}, nil)
	}
	escaped := "/v1/billing/" + url.QueryEscape(bk)
	if !strings.Contains(escaped, "%3D") {
		t.Fatalf("escaped path %s keeps '='", escaped)
	}
	a := e.must(charge(escaped, "sub-2026-03", "cust-1234"), 200)
	if a.str("type") != "BILLING" || a.str("status") != "DONE" || a.str("method") != "카드" || a.num("totalAmount") != 9900 {
		t.Fatalf("charge: %s", a.raw)
	}
	e.must(charge("/v1/billing/"+bk, "sub-2026-04", "cust-1234"), 200)
	e.wantError(charge(escaped, "sub-2026-04", "cust-1234"), 400, "DUPLICATED_ORDER_ID")
	e.wantError(charge(escaped, "sub-2026-05", "cust-9999"), 400, "NOT_MATCHES_CUSTOMER_KEY")

	e.must(e.call("DELETE", escaped, nil, nil), 200)
	e.wantError(charge(escaped, "sub-2026-05", "cust-1234"), 404, "NOT_FOUND")
	e.wantError(e.call("DELETE", escaped, nil, nil), 404, "NOT_FOUND")

	// From card data, with a card that passes issue but is refused at charge.
	card := map[string]any{"customerKey": "cust-5678", "cardNumber": tossfake.ConfirmDeclineCard,
		"cardExpirationYear": "30", "cardExpirationMonth": "06", "customerIdentityNumber": "881212"}
	b = e.must(e.call("POST", "/v1/billing/authorizations/card", card, nil), 200)
	e.wantError(charge("/v1/billing/"+url.PathEscape(b.str("billingKey")), "sub-decl-1", "cust-5678"), 403, "REJECT_CARD_COMPANY")
	if _, _, ok := e.f.Payment("sub-decl-1"); ok {
		t.Fatal("a refused charge left a payment")
	}
	card["cardNumber"] = tossfake.RejectCard
	e.wantError(e.call("POST", "/v1/billing/authorizations/card", card, nil), 403, "REJECT_CARD_COMPANY")

	// Another merchant's key does not see the billing key.
	e.f.AddKeys("test_ck_othermerchant", "test_sk_othermerchant", "othermid")
	other := e.call("POST", escaped, map[string]any{"customerKey": "cust-1234", "amount": 100, "orderId": "x-order-1", "orderName": "x"},
		map[string]string{"Authorization": basic("test_sk_othermerchant")})
	e.wantError(other, 404, "NOT_FOUND")
}

func TestBillingFaults(t *testing.T) {
	e := start(t)
	card := map[string]any{"customerKey": "cust-5678", "cardNumber": tossfake.DefaultCard,
		"cardExpirationYear": "30", "cardExpirationMonth": "06", "customerIdentityNumber": "881212"}
	e.f.FailNext("billing-issue", tossfake.Unavailable)
	e.wantError(e.call("POST", "/v1/billing/authorizations/card", card, nil), 500, "FAILED_INTERNAL_SYSTEM_PROCESSING")
	b := e.must(e.call("POST", "/v1/billing/authorizations/card", card, nil), 200)
	path := "/v1/billing/" + url.PathEscape(b.str("billingKey"))
	body := map[string]any{"customerKey": "cust-5678", "amount": 5000, "orderId": "bill-fault-1", "orderName": "x"}

	e.f.FailNext("billing-charge", tossfake.Decline("REJECT_CARD_COMPANY", "잔액부족"))
	a := e.call("POST", path, body, nil)
	e.wantError(a, 403, "REJECT_CARD_COMPANY")
	if a.str("message") != "잔액부족" {
		t.Fatalf("message %q", a.str("message"))
	}
	e.f.FailNext("billing-charge", tossfake.TimeoutBeforeCharge)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if a := e.do(ctx, "POST", path, body, nil); a.err == nil {
		t.Fatal("no timeout")
	}
	if _, _, ok := e.f.Payment("bill-fault-1"); ok {
		t.Fatal("charged despite the faults")
	}
	e.f.FailNext("billing-charge", tossfake.LoseAnswer)
	if a := e.do(context.Background(), "POST", path, body, nil); a.err == nil {
		t.Fatal("answer arrived")
	}
	if st, _, _ := e.f.Payment("bill-fault-1"); st != "DONE" {
		t.Fatalf("lost charge: %s", st)
	}
	e.wantError(e.call("POST", path, body, nil), 400, "DUPLICATED_ORDER_ID")
}

func TestCashReceipts(t *testing.T) {
	e := start(t)
	a := e.must(e.call("POST", "/v1/cash-receipts", map[string]any{"amount": 10000, "orderId": "cr-order-1", "orderName": "x",
		"customerIdentityNumber": "01012345678", "type": "소득공제"}, nil), 200)
	rk := a.str("receiptKey")
	if rk == "" || a.str("issueStatus") != "IN_PROGRESS" || a.str("transactionType") != "CONFIRM" || a.num("amount") != 10000 || a.str("type") != "소득공제" {
		t.Fatalf("issue: %s", a.raw)
	}
	e.wantError(e.call("POST", "/v1/cash-receipts", map[string]any{"amount": 10000, "orderId": "cr-order-1", "orderName": "x",
		"customerIdentityNumber": "01012345678"}, nil), 400, "DUPLICATED_ORDER_ID")
	c := e.must(e.call("POST", "/v1/cash-receipts/"+rk+"/cancel", map[string]any{"amount": 4000}, nil), 200)
	if c.str("transactionType") != "CANCEL" || c.num("amount") != 4000 || c.str("receiptKey") != rk {
		t.Fatalf("cancel: %s", c.raw)
	}
	e.wantError(e.call("POST", "/v1/cash-receipts/"+rk+"/cancel", map[string]any{"amount": 6001}, nil), 403, "NOT_CANCELABLE_AMOUNT")
	e.must(e.call("POST", "/v1/cash-receipts/"+rk+"/cancel", nil, nil), 200)
	e.wantError(e.call("POST", "/v1/cash-receipts/"+rk+"/cancel", nil, nil), 400, "ALREADY_CANCELED_PAYMENT")
	e.wantError(e.call("GET", "/v1/cash-receipts", nil, nil), 400, "INVALID_REQUEST")

	e.clock.Advance(25 * time.Hour)
	l := e.must(e.call("GET", "/v1/cash-receipts?requestDate=2026-03-02&limit=2", nil, nil), 200)
	data, _ := l.body["data"].([]any)
	if len(data) != 2 || l.body["hasNext"] != true || dig(data[0], "issueStatus") != "COMPLETED" {
		t.Fatalf("list page 1: %s", l.raw)
	}
	l2 := e.must(e.call("GET", "/v1/cash-receipts?requestDate=2026-03-02&limit=2&cursor="+itoa(l.num("lastCursor")), nil, nil), 200)
	if data, _ := l2.body["data"].([]any); len(data) != 1 || l2.body["hasNext"] != false {
		t.Fatalf("list page 2: %s", l2.raw)
	}
	if l3 := e.must(e.call("GET", "/v1/cash-receipts?requestDate=2026-03-01", nil, nil), 200); len(l3.body["data"].([]any)) != 0 {
		t.Fatalf("other day: %s", l3.raw)
	}
	e.f.FailNext("cash-receipt", tossfake.Unavailable)
	e.wantError(e.call("GET", "/v1/cash-receipts?requestDate=2026-03-02", nil, nil), 500, "FAILED_INTERNAL_SYSTEM_PROCESSING")
}

func TestMerchantsAreSeparate(t *testing.T) {
	e := start(t)
	a := e.paid("shared-order-1", 1000)
	e.f.AddKeys("test_ck_othermerchant", "test_sk_othermerchant", "othermid")
	hdr := map[string]string{"Authorization": basic("test_sk_othermerchant")}
	e.wantError(e.call("GET", "/v1/payments/"+a.str("paymentKey"), nil, hdr), 404, "NOT_FOUND_PAYMENT")
	e.wantError(e.call("GET", "/v1/payments/orders/shared-order-1", nil, hdr), 404, "NOT_FOUND_PAYMENT")
}
