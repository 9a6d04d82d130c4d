package nicepay_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/paymux/paymux/providers"
	"github.com/paymux/paymux/providers/nicepay"
)

func wantKind(t *testing.T, err error, kind providers.Kind) *providers.Error {
	t.Helper()
	var e *providers.Error
	if !errors.As(err, &e) || e.Kind != kind {
		t.Fatalf("error %v, want a %v *providers.Error", err, kind)
	}
	return e
}

func TestPrepareWindow(t *testing.T) {
	a := nicepay.New(nicepay.Options{})
	ch := testChannel()
	req := providers.PrepareWindowRequest{
		OrderID: "order-1", OrderName: "T-shirt", Amount: providers.Amount{Total: 1004, TaxFree: 100},
		ReturnURL: "https://shop.example/return", Buyer: providers.Buyer{Name: "홍길동", Phone: "010-1234-5678"},
	}
	res, err := a.PrepareWindow(context.Background(), ch, req)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"clientId": readmeClientID, "method": "card", "orderId": "order-1", "amount": "1004", "goodsName": "T-shirt",
		"returnUrl": "https://shop.example/return", "taxFreeAmt": "100", "buyerName": "홍길동", "buyerTel": "01012345678",
	}
	if len(res.Params) != len(want) {
		t.Errorf("params %v, want %v", res.Params, want)
	}
	for k, v := range want {
		if res.Params[k] != v {
			t.Errorf("%s = %q, want %q", k, res.Params[k], v)
		}
	}
	if res.SDKURL != nicepay.DefaultSDKURL {
		t.Errorf("SDKURL %q", res.SDKURL)
	}
	for _, s := range []string{"AUTHNICE.requestPay(", "Number(params.amount)", "Number(params.taxFreeAmt)", "fnError", "r.errorMsg", "r.msg", "textContent"} {
		if !strings.Contains(res.Launch, s) {
			t.Errorf("Launch lacks %q", s)
		}
	}

	// Methods, the virtual account holder, the client-approval key.
	ch.Secrets["client_approval_client_id"] = "S1_6eaa0db1afdc41f3becb770878d67d25"
	ch.Secrets["client_approval_secret_key"] = "e80d068e400649a6ada66777fa350d40"
	for _, c := range []struct {
		method    providers.PayMethod
		model     providers.ApprovalModel
		buyer     string
		nicepay   string
		clientID  string
		vbankHold string
	}{
		{providers.MethodVirtualAccount, "", "", "vbank", readmeClientID, nicepay.DefaultVbankHolder},
		{providers.MethodVirtualAccount, providers.ApprovalServer, "김구매", "vbank", readmeClientID, "김구매"},
		{providers.MethodTransfer, providers.ApprovalClient, "", "bank", "S1_6eaa0db1afdc41f3becb770878d67d25", ""},
		{providers.MethodMobile, "", "", "cellphone", readmeClientID, ""},
	} {
		r := req
		r.Method, r.ApprovalModel, r.Buyer = c.method, c.model, providers.Buyer{Name: c.buyer}
		res, err := a.PrepareWindow(context.Background(), ch, r)
		if err != nil {
			t.Fatalf("%s: %v", c.method, err)
		}
		if res.Params["method"] != c.nicepay || res.Params["clientId"] != c.clientID || res.Params["vbankHolder"] != c.vbankHold {
			t.Errorf("%s/%s: %v", c.method, c.model, res.Params)
		}
	}

	if _, err := a.PrepareWindow(context.Background(), ch, providers.PrepareWindowRequest{Purpose: providers.WindowBillingKey, CustomerKey: "c"}); !errors.Is(err, providers.ErrNotSupported) {
		t.Errorf("billing window: %v", err)
	}
	r := req
	r.Amount.Total = 0
	if _, err := a.PrepareWindow(context.Background(), ch, r); !providers.IsKind(err, providers.KindInvalidRequest) {
		t.Errorf("zero amount: %v", err)
	}
}

// windowForm is what the Server-approval window posts to returnUrl.
func windowForm(tid, orderID, amount, secret string) providers.WindowResult {
	token := "NICEUNTTB06096FF8F653AA366E7EEED1101AAAE"
	return providers.WindowResult{
		"authResultCode": "0000", "authResultMsg": "인증 성공", "tid": tid, "clientId": readmeClientID,
		"orderId": orderID, "amount": amount, "mallReserved": "", "authToken": token,
		"signature": nicepay.WindowSignature(token, readmeClientID, amount, secret),
	}
}

func TestApproveServerModel(t *testing.T) {
	const tid = "UT0000113m01012111051714341073"
	s := newStub(t, func(r stubReq) (int, any) {
		return 200, paidCard(tid, "order-1", 1004, readmeSecret)
	})
	a := stubAdapter(s)
	p, err := a.Approve(context.Background(), testChannel(), providers.ApproveRequest{
		OrderID: "order-1", Amount: providers.Amount{Total: 1004}, Window: windowForm(tid, "order-1", "1004", readmeSecret),
	})
	if err != nil {
		t.Fatal(err)
	}
	reqs := s.requests()
	if len(reqs) != 1 {
		t.Fatalf("%d calls", len(reqs))
	}
	r := reqs[0]
	if r.Method != http.MethodPost || r.Path != "/v1/payments/"+tid {
		t.Errorf("called %s %s", r.Method, r.Path)
	}
	if r.Authorization != nicepay.BasicAuth(readmeClientID, readmeSecret) {
		t.Errorf("Authorization %q", r.Authorization)
	}
	edi, _ := r.Body["ediDate"].(string)
	if r.Body["amount"] != float64(1004) || edi != "2024-03-01T10:00:00.000+0900" ||
		r.Body["signData"] != nicepay.Sign(tid, "1004", edi, readmeSecret) {
		t.Errorf("body %v", r.Body)
	}
	if p.Status != providers.StatusPaid || p.PGTransactionID != tid || p.OrderID != "order-1" || p.Method != providers.MethodCard {
		t.Errorf("payment %+v", p)
	}
	if p.Amounts.Paid != 1004 || p.Amounts.Cancelled != 0 || !p.FailedAt.IsZero() || !p.CancelledAt.IsZero() {
		t.Errorf("amounts %+v, failed %v, cancelled %v", p.Amounts, p.FailedAt, p.CancelledAt)
	}
	if want := time.Date(2024, 3, 1, 1, 0, 0, 0, time.UTC); !p.ApprovedAt.Equal(want) {
		t.Errorf("ApprovedAt %v, want %v", p.ApprovedAt, want)
	}
	if c := p.Card; c == nil || c.Issuer != providers.CardSamsung || c.Number != "123412******1234" || c.Type != providers.CardTypeCredit || c.ApprovalNumber != "000000" {
		t.Errorf("card %+v", p.Card)
	}
}

func TestApproveRefusedWithoutCall(t *testing.T) {
	s := newStub(t, func(r stubReq) (int, any) { return 500, "{}" })
	a := stubAdapter(s)
	ch := testChannel()
	ok := windowForm("tid1", "order-1", "1004", readmeSecret)
	forged := windowForm("tid1", "order-1", "1004", "another-secret-0123456789")
	failed := providers.WindowResult{"authResultCode": "3011", "authResultMsg": "카드번호 오류", "orderId": "order-1", "amount": "1004"}
	closed := providers.WindowResult{"authResultCode": "P091", "authResultMsg": "결제 요청을 취소하였습니다."}
	cases := []struct {
		name string
		req  providers.ApproveRequest
		kind providers.Kind
		code string
	}{
		{"forged signature", providers.ApproveRequest{OrderID: "order-1", Amount: providers.Amount{Total: 1004}, Window: forged}, providers.KindUnauthorized, "WINDOW_SIGNATURE_MISMATCH"},
		{"other amount", providers.ApproveRequest{OrderID: "order-1", Amount: providers.Amount{Total: 2000}, Window: ok}, providers.KindInvalidRequest, "AMOUNT_MISMATCH"},
		{"other order", providers.ApproveRequest{OrderID: "order-2", Amount: providers.Amount{Total: 1004}, Window: ok}, providers.KindInvalidRequest, "AMOUNT_MISMATCH"},
		{"auth failed", providers.ApproveRequest{OrderID: "order-1", Amount: providers.Amount{Total: 1004}, Window: failed}, providers.KindDeclined, "3011"},
		{"buyer closed", providers.ApproveRequest{OrderID: "order-1", Amount: providers.Amount{Total: 1004}, Window: closed}, providers.KindInvalidRequest, "P091"},
		{"garbage", providers.ApproveRequest{OrderID: "order-1", Amount: providers.Amount{Total: 1004}, Window: providers.WindowResult{"x": "y"}}, providers.KindInvalidRequest, "WINDOW_RESULT_INVALID"},
	}
	for _, c := range cases {
		_, err := a.Approve(context.Background(), ch, c.req)
		var e *providers.Error
		if !errors.As(err, &e) || e.Kind != c.kind || e.Code != c.code {
			t.Errorf("%s: %v, want %v %s", c.name, err, c.kind, c.code)
		}
	}
	if n := len(s.requests()); n != 0 {
		t.Errorf("%d calls to NicePay, want none", n)
	}
}

func TestApproveAnswers(t *testing.T) {
	const tid = "tid-answers"
	form := windowForm(tid, "order-1", "1004", readmeSecret)
	req := providers.ApproveRequest{OrderID: "order-1", Amount: providers.Amount{Total: 1004}, Window: form}
	cases := []struct {
		name    string
		status  int
		body    any
		kind    providers.Kind
		decline providers.DeclineReason
		unknown bool
	}{
		{"declined", 200, map[string]any{"resultCode": "3011", "resultMsg": "카드번호 오류"}, providers.KindDeclined, providers.DeclineInvalidCard, false},
		{"refused by the card company", 200, map[string]any{"resultCode": "3095", "resultMsg": "카드사 실패 응답"}, providers.KindDeclined, providers.DeclineOther, false},
		{"amount", 200, map[string]any{"resultCode": "A123", "resultMsg": "거래금액 불일치"}, providers.KindInvalidRequest, "", false},
		{"wrong key", 401, map[string]any{"resultCode": "U104", "resultMsg": "사용자 인증에 실패하였습니다."}, providers.KindUnauthorized, "", false},
		{"server error", 503, "Service Unavailable", providers.KindUnavailable, "", true},
		{"forged answer", 200, paidCard(tid, "order-1", 1004, "not-the-secret-0123456789"), providers.KindUnknown, "", true},
		{"unsigned answer", 200, func() any { p := paidCard(tid, "order-1", 1004, readmeSecret); delete(p, "signature"); return p }(), providers.KindUnknown, "", true},
		{"not JSON", 200, "<html>", providers.KindUnknown, "", true},
	}
	for _, c := range cases {
		s := newStub(t, func(stubReq) (int, any) { return c.status, c.body })
		_, err := stubAdapter(s).Approve(context.Background(), testChannel(), req)
		var e *providers.Error
		if !errors.As(err, &e) || e.Kind != c.kind || e.Decline != c.decline {
			t.Errorf("%s: %v, want %v %q", c.name, err, c.kind, c.decline)
			continue
		}
		if providers.OutcomeUnknown(err) != c.unknown {
			t.Errorf("%s: OutcomeUnknown = %v", c.name, !c.unknown)
		}
	}
}

func TestApproveTimeoutIsOutcomeUnknown(t *testing.T) {
	release := make(chan struct{})
	s := newStub(t, func(stubReq) (int, any) { <-release; return 200, "{}" })
	defer close(release)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err := stubAdapter(s).Approve(ctx, testChannel(), providers.ApproveRequest{
		OrderID: "order-1", Amount: providers.Amount{Total: 1004}, Window: windowForm("tid", "order-1", "1004", readmeSecret),
	})
	wantKind(t, err, providers.KindTimeout)
	if !providers.OutcomeUnknown(err) {
		t.Fatal("a timeout must be outcome-unknown")
	}
}

func TestLookupByOrderID(t *testing.T) {
	s := newStub(t, func(r stubReq) (int, any) {
		if r.Path == "/v1/payments/find/missing" {
			return 200, map[string]any{"resultCode": "A118", "resultMsg": "조회 결과데이터 없음"}
		}
		return 200, paidCard("tid-9", "order-9", 5000, readmeSecret)
	})
	a := stubAdapter(s)
	p, err := a.Lookup(context.Background(), testChannel(), providers.LookupRequest{OrderID: "order-9"})
	if err != nil {
		t.Fatal(err)
	}
	if p.PGTransactionID != "tid-9" {
		t.Errorf("tid %q", p.PGTransactionID)
	}
	r := s.requests()[0]
	if r.Path != "/v1/payments/find/order-9" || r.Query.Get("orderDate") != "20240301" || r.Query.Get("signData") != "" {
		t.Errorf("request %s %v", r.Path, r.Query)
	}
	// The order date is the KST day: 23:30 UTC on Feb 29 is March 1 in Korea.
	_, _ = a.Lookup(context.Background(), testChannel(), providers.LookupRequest{OrderID: "order-9", OrderDate: time.Date(2024, 2, 29, 23, 30, 0, 0, time.UTC)})
	if got := s.requests()[1].Query.Get("orderDate"); got != "20240301" {
		t.Errorf("orderDate %q", got)
	}
	_, err = a.Lookup(context.Background(), testChannel(), providers.LookupRequest{OrderID: "missing"})
	wantKind(t, err, providers.KindNotFound)

	_, _ = a.Lookup(context.Background(), testChannel(), providers.LookupRequest{PGTransactionID: "tid-9"})
	r = s.requests()[3]
	if r.Path != "/v1/payments/tid-9" || r.Query.Get("signData") != nicepay.Sign("tid-9", r.Query.Get("ediDate"), readmeSecret) {
		t.Errorf("lookup by tid %s %v", r.Path, r.Query)
	}
}

func TestCancelRequest(t *testing.T) {
	const tid = "tid-c"
	s := newStub(t, func(r stubReq) (int, any) {
		p := paidCard(tid, "order-c", 10000, readmeSecret)
		p["status"], p["balanceAmt"], p["cancelledTid"] = "partialCancelled", 7000, "tid-c-1"
		p["cancelledAt"] = "2024-03-01T10:05:00.000+0900"
		p["cancels"] = []any{map[string]any{"tid": "tid-c-1", "amount": "3000", "cancelledAt": "2024-03-01T10:05:00.000+0900", "reason": "size"}}
		return 200, p
	})
	tf := int64(0)
	res, err := stubAdapter(s).Cancel(context.Background(), testChannel(), providers.CancelRequest{
		PGTransactionID: tid, OrderID: "order-c", Amount: 3000, TaxFree: &tf, Reason: "size", IdempotencyKey: "can_1",
	})
	if err != nil {
		t.Fatal(err)
	}
	b := s.requests()[0].Body
	if b["cancelAmt"] != float64(3000) || b["orderId"] != nicepay.CancelOrderID("order-c", "can_1") || b["reason"] != "size" ||
		b["taxFreeAmt"] != float64(0) || b["signData"] != nicepay.Sign(tid, b["ediDate"].(string), readmeSecret) {
		t.Errorf("body %v", b)
	}
	if _, ok := b["amount"]; ok {
		t.Error("the cancel amount goes in cancelAmt, never amount")
	}
	if res.Cancellation.ID != "tid-c-1" || res.Cancellation.Amount != 3000 || res.Payment.Status != providers.StatusPartialCancelled ||
		res.Payment.Amounts.Cancelled != 3000 || res.Payment.Amounts.Cancellable() != 7000 {
		t.Errorf("result %+v, payment %+v", res.Cancellation, res.Payment.Amounts)
	}

	// Full cancel: no cancelAmt.
	_, _ = stubAdapter(s).Cancel(context.Background(), testChannel(), providers.CancelRequest{PGTransactionID: tid, OrderID: "order-c", IdempotencyKey: "can_2"})
	if _, ok := s.requests()[1].Body["cancelAmt"]; ok {
		t.Error("a full cancel sent cancelAmt")
	}
}

func TestRegistPascalCase(t *testing.T) {
	s := newStub(t, func(r stubReq) (int, any) {
		// The manual's sample answer spells the keys in PascalCase.
		return 200, `{"ResultCode":"0000","ResultMsg":"빌키가 정상적으로 생성되었습니다.","TID":"UT0001","OrderID":"order-b","BID":"BIKYnictest00m1104191651325596","AuthDate":"20230214","CardCode":"04","CardName":"[신한]"}`
	})
	card := providers.CardData{Number: providers.NewCardNumber("1234567890123456"), ExpiryYear: 2025, ExpiryMonth: 12,
		OwnerID: providers.NewRedacted("800101"), Password2: providers.NewRedacted("12")}
	bk, err := stubAdapter(s).IssueBillingKey(context.Background(), testChannel(), providers.IssueBillingKeyRequest{
		OrderID: "order-b", CustomerKey: "cust", Card: &card, Buyer: providers.Buyer{Name: "홍길동"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if bk.Key != "BIKYnictest00m1104191651325596" || bk.Card.Issuer != providers.CardSamsung || bk.Card.Number != "123456******3456" ||
		bk.IssuedAt.Format("20060102") != "20230214" || bk.CustomerKey != "cust" {
		t.Errorf("billing key %+v", bk)
	}
	b := s.requests()[0].Body
	wantEnc, _ := nicepay.EncData("cardNo=1234567890123456&expYear=25&expMonth=12&idNo=800101&cardPw=12", readmeSecret)
	if b["encData"] != wantEnc || b["orderId"] != "order-b" || b["buyerName"] != "홍길동" ||
		b["signData"] != nicepay.Sign("order-b", b["ediDate"].(string), readmeSecret) {
		t.Errorf("body %v", b)
	}
	if _, ok := b["encMode"]; ok {
		t.Error("encMode sent")
	}
}

func TestVerifyCredentials(t *testing.T) {
	s := newStub(t, func(r stubReq) (int, any) {
		if r.Authorization != nicepay.BasicAuth(readmeClientID, readmeSecret) {
			return 401, map[string]any{"resultCode": "U104", "resultMsg": "사용자 인증에 실패하였습니다."}
		}
		return 200, map[string]any{"resultCode": "0000", "resultMsg": "정상 처리되었습니다.", "accessToken": "x", "tokenType": "Bearer"}
	})
	a := stubAdapter(s)
	if err := a.VerifyCredentials(context.Background(), testChannel()); err != nil {
		t.Fatal(err)
	}
	if s.requests()[0].Path != "/v1/access-token" {
		t.Errorf("path %s", s.requests()[0].Path)
	}
	ch := testChannel()
	ch.Secrets["secret_key"] = "00000000000000000000000000000000"
	wantKind(t, a.VerifyCredentials(context.Background(), ch), providers.KindUnauthorized)
}

func TestParseNotification(t *testing.T) {
	a := nicepay.New(nicepay.Options{})
	ch := testChannel()
	note := func(p map[string]any) providers.Notification {
		b, _ := jsonMarshal(p)
		return providers.Notification{Method: "POST", Body: b}
	}
	vbank := func(status string, secret string) map[string]any {
		p := paidCard("tid-v", "order-v", 30000, secret)
		p["payMethod"], p["status"], p["card"] = "vbank", status, nil
		if status == "ready" {
			p["paidAt"], p["balanceAmt"] = "0", 0
		}
		p["vbank"] = map[string]any{"vbankCode": "004", "vbankName": "국민", "vbankNumber": "12345678901234",
			"vbankExpDate": "2024-03-08T23:59:59.000+0900", "vbankHolder": "paymux"}
		return p
	}
	cases := []struct {
		name   string
		body   map[string]any
		typ    providers.EventType
		status providers.Status
		amount int64
	}{
		{"card paid", paidCard("tid-1", "order-1", 1004, readmeSecret), providers.EventPaymentApproved, providers.StatusPaid, 0},
		{"vbank issued", vbank("ready", readmeSecret), providers.EventVirtualAccountIssued, providers.StatusVirtualAccountIssued, 0},
		{"deposit", vbank("paid", readmeSecret), providers.EventDepositArrived, providers.StatusPaid, 30000},
		{"expired", vbank("expired", readmeSecret), providers.EventVirtualAccountExpired, providers.StatusExpired, 0},
	}
	for _, c := range cases {
		ev, err := a.ParseNotification(context.Background(), ch, note(c.body))
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if ev.Type != c.typ || ev.Status != c.status || ev.Amount != c.amount || ev.Authenticity != providers.AuthenticitySignature || ev.Payment == nil {
			t.Errorf("%s: %+v", c.name, ev)
		}
		if ev.Ack.StatusCode != 200 || ev.Ack.ContentType != "text/html" || string(ev.Ack.Body) != "OK" {
			t.Errorf("%s: ack %+v", c.name, ev.Ack)
		}
	}
	issued, _ := a.ParseNotification(context.Background(), ch, note(vbank("ready", readmeSecret)))
	if va := issued.Payment.VirtualAccount; va == nil || va.Bank != providers.BankKB || va.AccountNumber != "12345678901234" || va.DueAt.IsZero() {
		t.Errorf("virtual account %+v", issued.Payment.VirtualAccount)
	}
	deposit, _ := a.ParseNotification(context.Background(), ch, note(vbank("paid", readmeSecret)))
	if issued.ID == deposit.ID {
		t.Error("two notices, one event id")
	}
	again, _ := a.ParseNotification(context.Background(), ch, note(vbank("paid", readmeSecret)))
	if again.ID != deposit.ID {
		t.Error("a resend has another event id")
	}

	// Signed with the client-approval secret.
	ch.Secrets["client_approval_client_id"] = "S1_6eaa0db1afdc41f3becb770878d67d25"
	ch.Secrets["client_approval_secret_key"] = "e80d068e400649a6ada66777fa350d40"
	if _, err := a.ParseNotification(context.Background(), ch, note(paidCard("tid-2", "order-2", 1004, "e80d068e400649a6ada66777fa350d40"))); err != nil {
		t.Errorf("client-approval signature: %v", err)
	}

	// Forged: another secret, an amount changed after signing, no signature.
	forged := paidCard("tid-3", "order-3", 1004, "forged-forged-forged-forged")
	tampered := paidCard("tid-3", "order-3", 1004, readmeSecret)
	tampered["amount"] = 1
	unsigned := paidCard("tid-3", "order-3", 1004, readmeSecret)
	delete(unsigned, "signature")
	for name, body := range map[string]map[string]any{"forged": forged, "tampered": tampered, "unsigned": unsigned} {
		_, err := a.ParseNotification(context.Background(), ch, note(body))
		if !providers.IsKind(err, providers.KindUnauthorized) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// The manual types cardQuota and canPartCancel as strings where its samples
// send a number and a bool: both forms read alike.
func TestPaymentFieldForms(t *testing.T) {
	a := nicepay.New(nicepay.Options{})
	for _, form := range []map[string]any{
		{"cardQuota": "03", "canPartCancel": "true", "isInterestFree": "Y"},
		{"cardQuota": 3, "canPartCancel": true, "isInterestFree": true},
	} {
		p := paidCard("tid-f", "order-f", 60000, readmeSecret)
		card := p["card"].(map[string]any)
		for k, v := range form {
			card[k] = v
		}
		p["amount"] = "60000" // a numeric string reads as the number
		body, _ := jsonMarshal(p)
		ev, err := a.ParseNotification(context.Background(), testChannel(), providers.Notification{Method: "POST", Body: body})
		if err != nil {
			t.Fatalf("%v: %v", form, err)
		}
		if c := ev.Payment.Card; c.InstallmentMonths != 3 || !c.InterestFree || ev.Payment.Amounts.Total != 60000 {
			t.Errorf("%v: card %+v, amounts %+v", form, c, ev.Payment.Amounts)
		}
	}
	_, err := a.ParseNotification(context.Background(), testChannel(), providers.Notification{Method: "POST", Body: []byte("tid=1&amount=2")})
	wantKind(t, err, providers.KindUnauthorized)
}
