package tosspayments_test

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"os/exec"
	"strings"
	"testing"

	"github.com/paymux/paymux/internal/browsertest"
	"github.com/paymux/paymux/providers"
	"github.com/paymux/paymux/providers/tosspayments"
)

func TestPrepareWindowPayment(t *testing.T) {
	a := tosspayments.New(tosspayments.Options{SDKURL: "https://sdk.example/v2/standard"})
	res, err := a.PrepareWindow(context.Background(), testChannel(), providers.PrepareWindowRequest{
		Method: providers.MethodVirtualAccount, OrderID: "order_1=x", OrderName: "티셔츠",
		Amount: providers.Amount{Total: 15000, TaxFree: 500}, ReturnURL: "https://pay.example/return/1",
		Buyer: providers.Buyer{Name: "김토스", Email: "buyer@example.com", Phone: "010-1234-5678"},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"clientKey": testClientKey, "customerKey": "ANONYMOUS", "method": "VIRTUAL_ACCOUNT", "amount": "15000",
		"taxFreeAmount": "500", "orderId": "order_1=x", "orderName": "티셔츠",
		"successUrl": "https://pay.example/return/1", "failUrl": "https://pay.example/return/1",
		"customerName": "김토스", "customerEmail": "buyer@example.com", "customerMobilePhone": "01012345678",
	}
	if !maps.Equal(res.Params, want) {
		t.Errorf("params %v\nwant   %v", res.Params, want)
	}
	if res.SDKURL != "https://sdk.example/v2/standard" || res.Launch == "" || res.RedirectURL != "" {
		t.Errorf("result %+v", res)
	}
	{
		d := tosspayments.New(tosspayments.Options{})
		r, err := d.PrepareWindow(context.Background(), testChannel(), providers.PrepareWindowRequest{
			OrderID: "order-2", Amount: providers.Amount{Total: 100}, ReturnURL: "https://r", FailURL: "https://f", CustomerKey: "cust_1"})
		if err != nil {
			t.Fatal(err)
		}
		if r.SDKURL != tosspayments.DefaultSDKURL || r.Params["method"] != "CARD" || r.Params["failUrl"] != "https://f" ||
			r.Params["customerKey"] != "cust_1" || r.Params["orderName"] != "order-2" {
			t.Errorf("defaults %+v", r)
		}
		for _, k := range []string{"customerName", "customerEmail", "customerMobilePhone", "taxFreeAmount"} {
			if _, ok := r.Params[k]; ok {
				t.Errorf("empty %s sent", k)
			}
		}
	}
	for m, want := range map[providers.PayMethod]string{providers.MethodCard: "CARD", providers.MethodTransfer: "TRANSFER",
		providers.MethodMobile: "MOBILE_PHONE"} {
		r, err := a.PrepareWindow(context.Background(), testChannel(), providers.PrepareWindowRequest{Method: m,
			OrderID: "order-3", Amount: providers.Amount{Total: 1000}, ReturnURL: "https://r"})
		if err != nil || r.Params["method"] != want {
			t.Errorf("%s: %v %v", m, r, err)
		}
	}
}

func TestPrepareWindowRefusals(t *testing.T) {
	a := tosspayments.New(tosspayments.Options{})
	ok := providers.PrepareWindowRequest{OrderID: "order-1", Amount: providers.Amount{Total: 1000}, ReturnURL: "https://r"}
	cases := []struct {
		name string
		mut  func(*providers.PrepareWindowRequest)
		kind providers.Kind
	}{
		{"short order id", func(r *providers.PrepareWindowRequest) { r.OrderID = "a1" }, providers.KindInvalidRequest},
		{"order id dot", func(r *providers.PrepareWindowRequest) { r.OrderID = "order.1" }, providers.KindInvalidRequest},
		{"zero amount", func(r *providers.PrepareWindowRequest) { r.Amount.Total = 0 }, providers.KindInvalidRequest},
		{"tax-free over", func(r *providers.PrepareWindowRequest) { r.Amount.TaxFree = 2000 }, providers.KindInvalidRequest},
		{"no return url", func(r *providers.PrepareWindowRequest) { r.ReturnURL = "" }, providers.KindInvalidRequest},
		{"billing without customer", func(r *providers.PrepareWindowRequest) { r.Purpose = providers.WindowBillingKey }, providers.KindInvalidRequest},
		{"billing anonymous", func(r *providers.PrepareWindowRequest) {
			r.Purpose, r.CustomerKey = providers.WindowBillingKey, "ANONYMOUS"
		}, providers.KindInvalidRequest},
	}
	for _, c := range cases {
		r := ok
		c.mut(&r)
		_, err := a.PrepareWindow(context.Background(), testChannel(), r)
		if providers.KindOf(err) != c.kind {
			t.Errorf("%s: %v", c.name, err)
		}
	}
	r := ok
	r.Method = providers.MethodEasyPay
	if _, err := a.PrepareWindow(context.Background(), testChannel(), r); !isNotSupported(err) {
		t.Errorf("easy pay: %v", err)
	}
	r = ok
	r.Amount.Currency = "USD"
	if _, err := a.PrepareWindow(context.Background(), testChannel(), r); !isNotSupported(err) {
		t.Errorf("USD: %v", err)
	}
	ch := testChannel()
	ch.Secrets = providers.Secrets{"secret_key": testSecretKey, "client_key": "test_gck_docs_Ovk5rk1EwkEbP0W43n07xlzm"}
	_, err := a.PrepareWindow(context.Background(), ch, ok)
	wantKind(t, err, providers.KindUnauthorized, tosspayments.CodeChannelKeyMode)
}

func TestPrepareBillingWindow(t *testing.T) {
	a := tosspayments.New(tosspayments.Options{})
	res, err := a.PrepareWindow(context.Background(), testChannel(), providers.PrepareWindowRequest{
		Purpose: providers.WindowBillingKey, CustomerKey: "cus_8f2b7c", ReturnURL: "https://pay.example/billing/1",
		Buyer: providers.Buyer{Name: "김토스", Phone: "01012345678"},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"clientKey": testClientKey, "customerKey": "cus_8f2b7c", "method": "CARD", "purpose": "billing",
		"successUrl": "https://pay.example/billing/1", "failUrl": "https://pay.example/billing/1", "customerName": "김토스"}
	if !maps.Equal(res.Params, want) {
		t.Errorf("params %v\nwant   %v", res.Params, want)
	}
}

// The Launch script runs as paymux's checkout page runs it: params as an
// object of strings, the SDK loaded. Node stands in for the page (the SDK
// and document are stubs); CI installs node (.ci/run).
func TestLaunchScript(t *testing.T) {
	node := browsertest.Require(t, "node")
	a := tosspayments.New(tosspayments.Options{})
	pay, err := a.PrepareWindow(context.Background(), testChannel(), providers.PrepareWindowRequest{
		Method: providers.MethodCard, OrderID: "order-js", OrderName: `"quoted" <b>`,
		Amount: providers.Amount{Total: 1004, TaxFree: 4}, ReturnURL: "https://shop.example/r",
		Buyer: providers.Buyer{Name: "김토스"},
	})
	if err != nil {
		t.Fatal(err)
	}
	bill, err := a.PrepareWindow(context.Background(), testChannel(), providers.PrepareWindowRequest{
		Purpose: providers.WindowBillingKey, CustomerKey: "cus_1", ReturnURL: "https://shop.example/b"})
	if err != nil {
		t.Fatal(err)
	}
	run := func(params map[string]string, launch, fail string) map[string]any {
		t.Helper()
		p, _ := json.Marshal(params)
		l, _ := json.Marshal(launch)
		script := `
var shown = {el: null};
var document = {
  body: {appendChild: function (el) { shown.el = el; }},
  getElementById: function () { return shown.el; },
  createElement: function () { return {setAttribute: function (k, v) { this[k] = v; }}; }
};
var got = {};
var fail = ` + fail + `;
function TossPayments(clientKey) {
  got.clientKey = clientKey;
  return {payment: function (o) {
    got.customerKey = o.customerKey;
    var answer = function (kind) { return function (req) {
      got.call = kind; got.req = req;
      if (fail === "throw") throw new Error("thrown: bad arguments");
      if (fail === "reject") return Promise.reject(new Error("<b>rejected</b> by the SDK"));
      return new Promise(function () {});
    }; };
    return {requestPayment: answer("requestPayment"), requestBillingAuth: answer("requestBillingAuth")};
  }};
}
TossPayments.ANONYMOUS = "@@ANONYMOUS";
new Function("params", "TossPayments", "document", ` + string(l) + `)(` + string(p) + `, TossPayments, document);
setTimeout(function () {
  got.shown = shown.el ? shown.el.textContent : null;
  got.role = shown.el ? shown.el.role : null;
  console.log(JSON.stringify(got));
}, 10);
`
		out, err := exec.Command(node, "-e", script).CombinedOutput()
		if err != nil {
			t.Fatalf("node: %v\n%s", err, out)
		}
		var got map[string]any
		if err := json.Unmarshal([]byte(strings.TrimSpace(string(out))), &got); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		return got
	}

	got := run(pay.Params, pay.Launch, `""`)
	req, _ := got["req"].(map[string]any)
	amount, _ := req["amount"].(map[string]any)
	if got["call"] != "requestPayment" || got["clientKey"] != testClientKey || got["customerKey"] != "@@ANONYMOUS" ||
		amount["currency"] != "KRW" || amount["value"] != float64(1004) || req["taxFreeAmount"] != float64(4) ||
		req["method"] != "CARD" || req["orderId"] != "order-js" || req["orderName"] != `"quoted" <b>` ||
		req["successUrl"] != "https://shop.example/r" || req["failUrl"] != "https://shop.example/r" ||
		req["customerName"] != "김토스" || got["shown"] != nil {
		t.Errorf("requestPayment: %v", got)
	}
	if _, ok := req["customerEmail"]; ok {
		t.Error("an absent customerEmail was passed")
	}

	got = run(bill.Params, bill.Launch, `""`)
	req, _ = got["req"].(map[string]any)
	if got["call"] != "requestBillingAuth" || got["customerKey"] != "cus_1" || req["method"] != "CARD" ||
		req["successUrl"] != "https://shop.example/b" || req["amount"] != nil {
		t.Errorf("requestBillingAuth: %v", got)
	}

	// A refused request is shown, as text, not lost.
	if got = run(pay.Params, pay.Launch, `"reject"`); got["shown"] != "<b>rejected</b> by the SDK" || got["role"] != "alert" {
		t.Errorf("rejection: %v", got)
	}
	if got = run(pay.Params, pay.Launch, `"throw"`); got["shown"] != "thrown: bad arguments" {
		t.Errorf("throw: %v", got)
	}

	va := maps.Clone(pay.Params)
	va["method"], va["validHours"] = "VIRTUAL_ACCOUNT", "24"
	got = run(va, pay.Launch, `""`)
	req, _ = got["req"].(map[string]any)
	if v, _ := req["virtualAccount"].(map[string]any); v["validHours"] != float64(24) {
		t.Errorf("virtual account: %v", got)
	}
}

// Approve refuses a failed or tampered window without any call.
func TestApproveWithoutCall(t *testing.T) {
	s, a := newStub(t, answer(200, "{}"))
	ctx := context.Background()
	expect := providers.ApproveRequest{OrderID: "order-1", Amount: providers.Amount{Total: 15000}}
	cases := []struct {
		name    string
		window  providers.WindowResult
		kind    providers.Kind
		code    string
		decline providers.DeclineReason
	}{
		{"closed", providers.WindowResult{"code": "PAY_PROCESS_CANCELED", "message": "사용자에 의해 결제가 취소되었습니다.", "orderId": "order-1"},
			providers.KindDeclined, "PAY_PROCESS_CANCELED", providers.DeclineOther},
		{"refused", providers.WindowResult{"code": "REJECT_CARD_COMPANY", "message": "결제 승인이 거절되었습니다.", "orderId": "order-1"},
			providers.KindDeclined, "REJECT_CARD_COMPANY", providers.DeclineOther},
		{"stopped", providers.WindowResult{"code": "INVALID_STOPPED_CARD", "message": "정지된 카드 입니다.", "orderId": "order-1"},
			providers.KindDeclined, "INVALID_STOPPED_CARD", providers.DeclineLostOrStolen},
		{"unknown failure", providers.WindowResult{"code": "SOME_NEW_CODE", "message": "?"},
			providers.KindDeclined, "SOME_NEW_CODE", providers.DeclineOther},
		{"amount", providers.WindowResult{"paymentKey": "pk", "orderId": "order-1", "amount": "1500", "paymentType": "NORMAL"},
			providers.KindInvalidRequest, tosspayments.CodeAmountMismatch, ""},
		{"amount missing", providers.WindowResult{"paymentKey": "pk", "orderId": "order-1"},
			providers.KindInvalidRequest, tosspayments.CodeAmountMismatch, ""},
		{"order", providers.WindowResult{"paymentKey": "pk", "orderId": "order-2", "amount": "15000"},
			providers.KindInvalidRequest, tosspayments.CodeOrderMismatch, ""},
		{"empty", providers.WindowResult{}, providers.KindInvalidRequest, tosspayments.CodeWindowResult, ""},
	}
	for _, c := range cases {
		req := expect
		req.Window = c.window
		_, err := a.Approve(ctx, testChannel(), req)
		pe := wantKind(t, err, c.kind, c.code)
		if pe.Decline != c.decline || pe.Op != "Approve" {
			t.Errorf("%s: %+v", c.name, pe)
		}
		if c.kind == providers.KindDeclined && pe.Message == "" {
			t.Errorf("%s: message lost", c.name)
		}
	}
	if n := len(s.requests()); n != 0 {
		t.Errorf("%d calls", n)
	}
}

// Approve confirms with the window's paymentKey and the request's
// idempotency key, or a stable one derived from the paymentKey.
func TestApproveConfirmRequest(t *testing.T) {
	s, a := newStub(t, answer(200, `{"paymentKey": "tgen_1", "orderId": "order-1", "status": "DONE", "method": "카드",
      "totalAmount": 15000, "balanceAmount": 15000, "vat": 1364, "approvedAt": "2024-02-13T12:18:14+09:00"}`))
	req := providers.ApproveRequest{OrderID: "order-1", Amount: providers.Amount{Total: 15000}, IdempotencyKey: "idem-approve-1",
		Window: providers.WindowResult{"paymentKey": "tgen_1", "orderId": "order-1", "amount": "15000", "paymentType": "NORMAL"}}
	p, err := a.Approve(context.Background(), testChannel(), req)
	if err != nil {
		t.Fatal(err)
	}
	if p.Status != providers.StatusPaid || p.Amounts.Paid != 15000 {
		t.Errorf("payment %+v", p)
	}
	req.IdempotencyKey = ""
	if _, err := a.Approve(context.Background(), testChannel(), req); err != nil {
		t.Fatal(err)
	}
	req.IdempotencyKey = strings.Repeat("k", 301)
	if _, err := a.Approve(context.Background(), testChannel(), req); err != nil {
		t.Fatal(err)
	}
	reqs := s.requests()
	var body map[string]any
	_ = json.Unmarshal([]byte(reqs[0].Body), &body)
	if reqs[0].Method != "POST" || reqs[0].Path != "/v1/payments/confirm" || body["paymentKey"] != "tgen_1" ||
		body["orderId"] != "order-1" || body["amount"] != float64(15000) || len(body) != 3 ||
		reqs[0].Header.Get("Content-Type") != "application/json" || reqs[0].Header.Get("Authorization") != testBasic {
		t.Errorf("confirm %+v", reqs[0])
	}
	keys := []string{reqs[0].Header.Get("Idempotency-Key"), reqs[1].Header.Get("Idempotency-Key"), reqs[2].Header.Get("Idempotency-Key")}
	if keys[0] != "idem-approve-1" || keys[1] == "" || !strings.Contains(keys[1], "tgen_1") || len(keys[2]) > 300 || keys[2] == "" {
		t.Errorf("idempotency keys %q", keys)
	}
}

func isNotSupported(err error) bool {
	return errors.Is(err, providers.ErrNotSupported)
}
