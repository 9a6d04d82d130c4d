package nicepayfake_test

import (
	"testing"
	"time"

	"github.com/paymux/paymux/providers/nicepay/nicepayfake"
)

func cardData(card, yy, mm string) string {
	return "cardNo=" + card + "&expYear=" + yy + "&expMonth=" + mm + "&idNo=800101&cardPw=12"
}

func TestBillingRegistChargeExpire(t *testing.T) {
	f, clk := start(t)
	c := newClient(t, f)
	ediD := edi(clk.Now())
	secret := nicepayfake.SandboxSecretKey

	m := c.ok("POST", "/v1/subscribe/regist", obj{
		"encData": encrypt(t, cardData(nicepayfake.DefaultCard, "30", "12"), secret, false), "orderId": "bill-reg-1",
		"buyerName": "홍길동", "ediDate": ediD, "signData": nicepayfake.SignData("bill-reg-1", ediD, secret),
	})
	bid, _ := m["bid"].(string)
	if len(bid) != 30 || m["orderId"] != "bill-reg-1" || m["cardCode"] != "04" {
		t.Fatalf("regist %v", m)
	}
	if _, err := time.Parse(isoLayout, m["authDate"].(string)); err != nil {
		t.Errorf("authDate %v: %v", m["authDate"], err)
	}
	if got := c.code("POST", "/v1/subscribe/regist", obj{"encData": encrypt(t, cardData(nicepayfake.DefaultCard, "30", "12"), secret, false), "orderId": "bill-reg-1"}); got != "A127" {
		t.Errorf("regist with a used orderId: %s", got)
	}

	charge := func(orderID string, amount int64) obj {
		return obj{"orderId": orderID, "amount": amount, "goodsName": "정기결제", "cardQuota": 0, "useShopInterest": false,
			"ediDate": ediD, "signData": nicepayfake.SignData(orderID, bid, ediD, secret)}
	}
	p := c.ok("POST", "/v1/subscribe/"+bid+"/payments", charge("bill-pay-1", 9900))
	checkPaidCard(t, p, p["tid"].(string), 9900)
	if got := c.code("POST", "/v1/subscribe/"+bid+"/payments", charge("bill-pay-1", 9900)); got != "A127" {
		t.Errorf("charge with a paid orderId: %s", got)
	}
	c.ok("POST", "/v1/subscribe/"+bid+"/payments", charge("bill-pay-2", 9900))

	refusals := []struct {
		name string
		body obj
		want string
	}{
		{"cardQuota missing", obj{"orderId": "bill-x", "amount": 1000, "goodsName": "g", "useShopInterest": false}, "A117"},
		{"useShopInterest missing", obj{"orderId": "bill-x", "amount": 1000, "goodsName": "g", "cardQuota": "0"}, "A117"},
		{"useShopInterest true", obj{"orderId": "bill-x", "amount": 1000, "goodsName": "g", "cardQuota": 0, "useShopInterest": true}, "U132"},
		{"installments under 50,000", obj{"orderId": "bill-x", "amount": 1000, "goodsName": "g", "cardQuota": "3", "useShopInterest": false}, "3024"},
		{"wrong signData", obj{"orderId": "bill-x", "amount": 1000, "goodsName": "g", "cardQuota": 0, "useShopInterest": false, "ediDate": ediD, "signData": "00"}, "A101"},
	}
	for _, r := range refusals {
		if got := c.code("POST", "/v1/subscribe/"+bid+"/payments", r.body); got != r.want {
			t.Errorf("%s: %s, want %s", r.name, got, r.want)
		}
	}

	// A billing charge cancels like any payment.
	c.ok("POST", "/v1/payments/"+p["tid"].(string)+"/cancel", obj{"reason": "해지", "orderId": "bill-pay-1"})

	e := c.ok("POST", "/v1/subscribe/"+bid+"/expire", obj{"orderId": "bill-exp-1", "ediDate": ediD,
		"signData": nicepayfake.SignData("bill-exp-1", bid, ediD, secret)})
	if e["bid"] != bid || e["orderId"] != "bill-exp-1" || e["tid"] == "" || e["authDate"] == "" {
		t.Errorf("expire %v", e)
	}
	after := []struct {
		name, path string
		body       obj
		want       string
	}{
		{"charge a deleted key", "/v1/subscribe/" + bid + "/payments", charge("bill-pay-3", 9900), "A126"},
		{"delete again", "/v1/subscribe/" + bid + "/expire", obj{"orderId": "bill-exp-2"}, "A126"},
		{"charge an unknown key", "/v1/subscribe/BIKYnictest00m0000000000000000/payments", obj{"orderId": "bill-pay-4", "amount": 1000, "goodsName": "g", "cardQuota": 0, "useShopInterest": false}, "A124"},
		{"delete an unknown key", "/v1/subscribe/BIKYnictest00m0000000000000000/expire", obj{"orderId": "bill-exp-3"}, "A124"},
	}
	for _, a := range after {
		if got := c.code("POST", a.path, a.body); got != a.want {
			t.Errorf("%s: %s, want %s", a.name, got, a.want)
		}
	}
}

func TestBillingCards(t *testing.T) {
	f, _ := start(t)
	c := newClient(t, f)
	secret := nicepayfake.SandboxSecretKey
	tests := []struct {
		name, plain string
		a2          bool
		wantRegist  string
		wantCharge  string
	}{
		{"default card, AES-256 A2", cardData(nicepayfake.DefaultCard, "30", "12"), true, "0000", "0000"},
		{"refused card: key issues, charges refused", cardData(nicepayfake.CardRefused, "30", "12"), false, "0000", "3095"},
		{"no billing for this card", cardData(nicepayfake.CardNoBilling, "30", "12"), false, "F118", ""},
		{"expired card", cardData(nicepayfake.CardExpired, "30", "12"), false, "3021", ""},
		{"expiry past", cardData(nicepayfake.DefaultCard, "24", "12"), false, "3021", ""},
		{"bad month", cardData(nicepayfake.DefaultCard, "30", "13"), false, "3021", ""},
		{"bad card number", cardData("1234", "30", "12"), false, "F112", ""},
		{"bad idNo", "cardNo=" + nicepayfake.DefaultCard + "&expYear=30&expMonth=12&idNo=8001&cardPw=12", false, "F113", ""},
		{"the OpenAPI file's birth= instead of idNo=", "cardNo=" + nicepayfake.DefaultCard + "&expYear=30&expMonth=12&birth=800101&cardPw=12", false, "F113", ""},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := obj{"encData": encrypt(t, tt.plain, secret, tt.a2), "orderId": "bc-reg-" + string(rune('a'+i))}
			if tt.a2 {
				body["encMode"] = "A2"
			}
			_, m := c.call("POST", "/v1/subscribe/regist", body)
			if m["resultCode"] != tt.wantRegist {
				t.Fatalf("regist: %v %v, want %s", m["resultCode"], m["resultMsg"], tt.wantRegist)
			}
			if tt.wantCharge == "" {
				return
			}
			_, p := c.call("POST", "/v1/subscribe/"+m["bid"].(string)+"/payments", obj{
				"orderId": "bc-pay-" + string(rune('a'+i)), "amount": "5000", "goodsName": "g", "cardQuota": "0", "useShopInterest": false})
			if p["resultCode"] != tt.wantCharge {
				t.Errorf("charge: %v", p["resultCode"])
			}
			if tt.wantCharge != "0000" && p["status"] != "failed" {
				t.Errorf("refused charge status %v", p["status"])
			}
		})
	}
	if got := c.code("POST", "/v1/subscribe/regist", obj{"encData": "00ff", "orderId": "bc-garbage"}); got != "A204" {
		t.Errorf("garbage encData: %s", got)
	}
	if got := c.code("POST", "/v1/subscribe/regist", obj{"orderId": "bc-none"}); got != "A117" {
		t.Errorf("no encData: %s", got)
	}
}

func TestClientApprovalWindowAndCheckAmount(t *testing.T) {
	f, _ := start(t)
	c := newClient(t, f)
	c.auth = basic(nicepayfake.ClientApprovalID, nicepayfake.ClientApprovalSecret)
	secret := nicepayfake.ClientApprovalSecret
	form := window(t, f, cardArgs(nicepayfake.ClientApprovalID, "order-client", 1004), nicepayfake.Choice{})
	tid := form.Get("tid")
	if form.Get("resultCode") != "0000" || form.Get("status") != "paid" || form.Get("success") != "true" ||
		form.Get("amount") != "1004" || form.Get("cardCode") != "04" || form.Get("failedAt") != "0" || form.Has("authResultCode") {
		t.Fatalf("client-approval form %v", form)
	}
	if want := nicepayfake.PaymentSignature(tid, "1004", form.Get("ediDate"), secret); form.Get("signature") != want {
		t.Errorf("signature %s, want %s", form.Get("signature"), want)
	}
	if st, bal, ok := f.Payment("order-client"); !ok || st != "paid" || bal != 1004 {
		t.Errorf("Payment %s %d %v", st, bal, ok)
	}
	if got := c.code("POST", "/v1/payments/"+tid, obj{"amount": 1004}); got != "2201" {
		t.Errorf("approve of a window-approved tid: %s", got)
	}

	tests := []struct {
		name   string
		amount int64
		sign   bool
		valid  bool
		code   string
	}{
		{"amount as paid", 1004, true, true, "0000"},
		{"tampered amount", 1000, false, false, "0000"},
		{"wrong signData", 1004, false, false, "A101"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ediD := "2025-07-21T10:00:01.000+0900"
			body := obj{"amount": tt.amount}
			if tt.sign {
				body["ediDate"], body["signData"] = ediD, nicepayfake.PaymentSignature(tid, "1004", ediD, secret)
			} else if tt.code == "A101" {
				body["ediDate"], body["signData"] = ediD, "00"
			}
			_, m := c.call("POST", "/v1/check-amount/"+tid, body)
			if m["resultCode"] != tt.code {
				t.Fatalf("%v %v", m["resultCode"], m["resultMsg"])
			}
			if tt.code != "0000" {
				return
			}
			if m["isValid"] != tt.valid || m["tid"] != tid {
				t.Errorf("isValid %v tid %v", m["isValid"], m["tid"])
			}
			if want := nicepayfake.SignData(tid, m["ediDate"].(string), secret); m["signature"] != want {
				t.Errorf("signature %v, want %s", m["signature"], want)
			}
		})
	}

	// The refused test card is refused in the window itself.
	refused := window(t, f, cardArgs(nicepayfake.ClientApprovalID, "order-client-2", 1004), nicepayfake.ApproveWith(nicepayfake.CardRefused))
	if refused.Get("resultCode") != "3095" || refused.Get("status") != "failed" || refused.Get("success") != "false" {
		t.Errorf("refused card form %v", refused)
	}
	// vbank in the client model: the window issues the account.
	args := vbankArgs("order-client-vb", 15000)
	args["clientId"] = nicepayfake.ClientApprovalID
	vb := window(t, f, args, nicepayfake.Choice{})
	if vb.Get("status") != "ready" || vb.Get("vbankNumber") == "" || vb.Get("vbankHolder") != "홍길동" || vb.Get("paidAt") != "0" {
		t.Errorf("client vbank form %v", vb)
	}
}

func TestCashReceipts(t *testing.T) {
	f, clk := start(t)
	c := newClient(t, f)
	secret := nicepayfake.SandboxSecretKey
	issue := func(orderID string, amount, supply, vat, taxFree, service int64) obj {
		return obj{"orderId": orderID, "amount": amount, "goodsName": "g", "receiptType": "individual", "receiptNo": "01012345678",
			"supplyAmt": supply, "goodsVat": vat, "taxFreeAmt": taxFree, "serviceAmt": service}
	}
	refusals := []struct {
		name string
		body obj
		want string
	}{
		{"parts do not add up", issue("rc-1", 11000, 10000, 900, 0, 0), "1615"},
		{"zero amount", issue("rc-1", 0, 0, 0, 0, 0), "7041"},
		{"serviceAmt missing", obj{"orderId": "rc-1", "amount": 1100, "goodsName": "g", "receiptType": "individual", "receiptNo": "01012345678", "supplyAmt": 1000, "goodsVat": 100, "taxFreeAmt": 0}, "A117"},
		{"bad receiptType", obj{"orderId": "rc-1", "amount": 1100, "goodsName": "g", "receiptType": "person", "receiptNo": "01012345678", "supplyAmt": 1000, "goodsVat": 100, "taxFreeAmt": 0, "serviceAmt": 0}, "7013"},
	}
	for _, r := range refusals {
		if got := c.code("POST", "/v1/receipt/", r.body); got != r.want {
			t.Errorf("%s: %s, want %s", r.name, got, r.want)
		}
	}
	ediD := edi(clk.Now())
	body := issue("rc-1", 11000, 9000, 900, 1000, 100)
	body["ediDate"], body["signData"] = ediD, nicepayfake.SignData("rc-1", "11000", ediD, secret)
	m := c.ok("POST", "/v1/receipt/", body)
	tid := m["tid"].(string)
	if m["approvedAt"] != "0" || m["signature"] != nicepayfake.SignData(tid, "rc-1", m["ediDate"].(string), secret) {
		t.Errorf("issue %v", m)
	}
	if got := c.code("POST", "/v1/receipt", issue("rc-1", 1100, 1000, 100, 0, 0)); got != "A127" {
		t.Errorf("same orderId: %s", got)
	}
	if l := c.ok("GET", "/v1/receipt/"+tid, nil); l["status"] != "issueRequested" || l["approvedAt"] != "0" {
		t.Errorf("lookup before the tax service: %v", l)
	}
	clk.Add(24 * time.Hour)
	l := c.ok("GET", "/v1/receipt/"+tid, nil)
	if l["status"] != "issued" || l["approvedAt"] == "0" || l["approveNo"] == "" {
		t.Errorf("lookup a day later: %v", l)
	}
	if got := c.code("POST", "/v1/receipt/"+tid+"/cancel", obj{"orderId": "rc-1", "reason": "r", "cancelAmt": 1100, "supplyAmt": 1000}); got != "A117" {
		t.Errorf("partial without the parts: %s", got)
	}
	if got := c.code("POST", "/v1/receipt/"+tid+"/cancel", obj{"orderId": "rc-1", "reason": "r", "cancelAmt": 1100, "supplyAmt": 1000, "goodsVat": 10, "taxFreeAmt": 0, "serviceAmt": 0}); got != "1615" {
		t.Errorf("partial parts not adding up: %s", got)
	}
	p := c.ok("POST", "/v1/receipt/"+tid+"/cancel", obj{"orderId": "rc-1", "reason": "부분", "cancelAmt": 1100, "supplyAmt": 1000, "goodsVat": 100, "taxFreeAmt": 0, "serviceAmt": 0})
	if num(t, p["cancelAmt"]) != 1100 || num(t, p["balanceAmt"]) != 9900 || p["cancelledAt"] == "0" {
		t.Errorf("partial cancel %v", p)
	}
	if got := c.code("POST", "/v1/receipt/"+tid+"/cancel", obj{"orderId": "rc-1", "reason": "r"}); got != "A127" {
		t.Errorf("cancel orderId reused: %s", got)
	}
	c.ok("POST", "/v1/receipt/"+tid+"/cancel", obj{"orderId": "rc-1-c2", "reason": "전체"})
	if l := c.ok("GET", "/v1/receipt/"+tid, nil); l["status"] != "cancelled" || num(t, l["balanceAmt"]) != 0 {
		t.Errorf("after cancels: %v", l)
	}
	if got := c.code("GET", "/v1/receipt/nosuch", nil); got != "A118" {
		t.Errorf("unknown receipt: %s", got)
	}
}
