package nicepayfake_test

import (
	"testing"
	"time"

	"github.com/paymux/paymux/providers/nicepay/nicepayfake"
)

func TestPartialCancelsToZero(t *testing.T) {
	f, clk := start(t)
	c := newClient(t, f)
	tid, _ := approved(t, f, c, "order-pc", 10000)
	ediD := edi(clk.Now())
	cancelSign := nicepayfake.SignData(tid, ediD, nicepayfake.SandboxSecretKey)

	steps := []struct {
		name      string
		body      obj
		want      string
		status    string
		balance   int64
		newCancel bool
	}{
		{"reason missing", obj{"orderId": "order-pc", "cancelAmt": 1000}, "A117", "", 0, false},
		{"orderId missing", obj{"reason": "r", "cancelAmt": 1000}, "A117", "", 0, false},
		{"wrong signData", obj{"reason": "r", "orderId": "order-pc", "cancelAmt": 1000, "ediDate": ediD, "signData": "00"}, "A101", "", 0, false},
		{"above balance", obj{"reason": "r", "orderId": "order-pc", "cancelAmt": 10001}, "2032", "", 0, false},
		{"zero", obj{"reason": "r", "orderId": "order-pc", "cancelAmt": 0}, "2010", "", 0, false},
		{"first partial with the payment's orderId", obj{"reason": "부분취소", "orderId": "order-pc", "cancelAmt": 3000,
			"ediDate": ediD, "signData": cancelSign}, "0000", "partialCancelled", 7000, true},
		{"payment's orderId again", obj{"reason": "r", "orderId": "order-pc", "cancelAmt": 1000}, "A127", "", 0, false},
		{"fresh orderId", obj{"reason": "부분취소", "orderId": "order-pc-c2", "cancelAmt": "2000"}, "0000", "partialCancelled", 5000, true},
		{"reused cancel orderId", obj{"reason": "r", "orderId": "order-pc-c2", "cancelAmt": 1000}, "A127", "", 0, false},
		{"the rest, cancelAmt omitted", obj{"reason": "나머지", "orderId": "order-pc-c3"}, "0000", "cancelled", 0, true},
		{"nothing left", obj{"reason": "r", "orderId": "order-pc-c4"}, "2013", "", 0, false},
	}
	seen := map[string]bool{tid: true}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			st, m := c.call("POST", "/v1/payments/"+tid+"/cancel", s.body)
			if st != 200 || m["resultCode"] != s.want {
				t.Fatalf("HTTP %d %v %v, want %s", st, m["resultCode"], m["resultMsg"], s.want)
			}
			if !s.newCancel {
				return
			}
			ctid, _ := m["cancelledTid"].(string)
			if ctid == "" || seen[ctid] {
				t.Errorf("cancelledTid %q not new", ctid)
			}
			seen[ctid] = true
			if m["tid"] != tid || m["status"] != s.status || num(t, m["balanceAmt"]) != s.balance || m["cancelledAt"] == "0" {
				t.Errorf("tid %v status %v balance %v cancelledAt %v", m["tid"], m["status"], m["balanceAmt"], m["cancelledAt"])
			}
			if st, bal, _ := f.Payment("order-pc"); st != s.status || bal != s.balance {
				t.Errorf("Payment %s %d", st, bal)
			}
		})
	}
	m := c.ok("GET", "/v1/payments/"+tid, nil)
	cancels, _ := m["cancels"].([]any)
	if len(cancels) != 3 {
		t.Fatalf("cancels %v", m["cancels"])
	}
	var sum int64
	for _, x := range cancels {
		e := x.(map[string]any)
		sum += num(t, e["amount"])
		if e["tid"] == tid || e["cancelledAt"] == "0" || e["reason"] == "" {
			t.Errorf("cancel entry %v", e)
		}
	}
	if sum != 10000 {
		t.Errorf("cancelled %d", sum)
	}
}

func TestFullCancelAndTaxFree(t *testing.T) {
	f, _ := start(t)
	c := newClient(t, f)
	args := cardArgs(nicepayfake.SandboxClientID, "order-tf", 10000)
	args["taxFreeAmt"] = "1000"
	form := window(t, f, args, nicepayfake.Choice{})
	tid := form.Get("tid")
	c.ok("POST", "/v1/payments/"+tid, obj{"amount": 10000})
	if got := c.code("POST", "/v1/payments/"+tid+"/cancel", obj{"reason": "r", "orderId": "order-tf", "cancelAmt": 5000, "taxFreeAmt": 1001}); got != "U319" {
		t.Errorf("tax-free above balance: %s", got)
	}
	// NicePay's samples send the amount as "amount": without cancelAmt that is a full cancel.
	m := c.ok("POST", "/v1/payments/"+tid+"/cancel", obj{"reason": "전체취소", "orderId": "order-tf", "amount": 100})
	if m["status"] != "cancelled" || num(t, m["balanceAmt"]) != 0 {
		t.Errorf("status %v balance %v", m["status"], m["balanceAmt"])
	}
	if got := c.code("POST", "/v1/payments/"+tid+"/cancel", obj{"reason": "r", "orderId": "order-tf-2"}); got != "2013" {
		t.Errorf("cancel again: %s", got)
	}
	if got := c.code("POST", "/v1/payments/nosuch/cancel", obj{"reason": "r", "orderId": "x"}); got != "A118" {
		t.Errorf("unknown tid: %s", got)
	}
}

func TestCardCancelPeriod(t *testing.T) {
	f, clk := start(t)
	c := newClient(t, f)
	tid, _ := approved(t, f, c, "order-old", 1004)
	clk.Add(366 * 24 * time.Hour)
	if got := c.code("POST", "/v1/payments/"+tid+"/cancel", obj{"reason": "r", "orderId": "order-old"}); got != "2016" {
		t.Errorf("cancel after a year: %s, want 2016", got)
	}
}

func TestVirtualAccountDepositRefund(t *testing.T) {
	f, clk := start(t)
	c := newClient(t, f)
	form := window(t, f, vbankArgs("order-vb", 30000), nicepayfake.Choice{})
	if form.Get("authResultCode") != "0000" {
		t.Fatalf("window %v", form)
	}
	tid := form.Get("tid")
	m := c.ok("POST", "/v1/payments/"+tid, obj{"amount": 30000})
	if m["status"] != "ready" || m["payMethod"] != "vbank" || m["paidAt"] != "0" || m["card"] != nil {
		t.Fatalf("approve vbank: %v", m)
	}
	vb := sub(t, m, "vbank")
	for _, k := range []string{"vbankCode", "vbankName", "vbankNumber", "vbankExpDate", "vbankHolder"} {
		if s, _ := vb[k].(string); s == "" {
			t.Errorf("vbank lacks %s: %v", k, vb)
		}
	}
	exp, err := time.Parse(isoLayout, vb["vbankExpDate"].(string))
	if err != nil || !exp.Equal(clk.Now().Add(24*time.Hour)) || vb["vbankHolder"] != "홍길동" {
		t.Errorf("vbankExpDate %v (%v), holder %v", vb["vbankExpDate"], err, vb["vbankHolder"])
	}
	if st, _, _ := f.Payment("order-vb"); st != "ready" {
		t.Errorf("Payment %s", st)
	}
	if err := f.Deposit("order-vb", 29999, "홍길동"); err == nil {
		t.Error("deposit of the wrong amount accepted")
	}
	clk.Add(2 * time.Hour)
	if err := f.Deposit("order-vb", 30000, "홍길동"); err != nil {
		t.Fatal(err)
	}
	m = c.ok("GET", "/v1/payments/"+tid, nil)
	if m["status"] != "paid" || m["paidAt"] == "0" || num(t, m["balanceAmt"]) != 30000 {
		t.Errorf("after deposit: %v %v %v", m["status"], m["paidAt"], m["balanceAmt"])
	}
	refund := obj{"reason": "환불", "orderId": "order-vb", "cancelAmt": 10000,
		"refundAccount": "1234567890", "refundBankCode": "004", "refundHolder": "홍길동"}
	for _, k := range []string{"refundAccount", "refundBankCode", "refundHolder"} {
		b := obj{}
		for kk, v := range refund {
			if kk != k {
				b[kk] = v
			}
		}
		if got := c.code("POST", "/v1/payments/"+tid+"/cancel", b); got != "A117" {
			t.Errorf("refund without %s: %s, want A117", k, got)
		}
	}
	m = c.ok("POST", "/v1/payments/"+tid+"/cancel", refund)
	if m["status"] != "partialCancelled" || num(t, m["balanceAmt"]) != 20000 {
		t.Errorf("refund: %v %v", m["status"], m["balanceAmt"])
	}
	refund["orderId"], refund["cancelAmt"] = "order-vb-r2", 20000
	if m = c.ok("POST", "/v1/payments/"+tid+"/cancel", refund); m["status"] != "cancelled" {
		t.Errorf("second refund: %v", m["status"])
	}
}

func TestVirtualAccountBeforeDepositAndExpiry(t *testing.T) {
	f, clk := start(t)
	c := newClient(t, f)
	approveVbank := func(orderID string) string {
		form := window(t, f, vbankArgs(orderID, 20000), nicepayfake.Choice{})
		c.ok("POST", "/v1/payments/"+form.Get("tid"), obj{"amount": 20000})
		return form.Get("tid")
	}
	a := approveVbank("order-vb-a")
	if got := c.code("POST", "/v1/payments/"+a+"/cancel", obj{"reason": "r", "orderId": "order-vb-a", "cancelAmt": 1000}); got != "2030" {
		t.Errorf("partial cancel before deposit: %s, want 2030", got)
	}
	if m := c.ok("POST", "/v1/payments/"+a+"/cancel", obj{"reason": "r", "orderId": "order-vb-a"}); m["status"] != "cancelled" {
		t.Errorf("full cancel before deposit: %v", m["status"])
	}

	b := approveVbank("order-vb-b")
	if err := f.ExpireVirtualAccount("order-vb-b"); err != nil {
		t.Fatal(err)
	}
	if m := c.ok("GET", "/v1/payments/"+b, nil); m["status"] != "expired" {
		t.Errorf("after ExpireVirtualAccount: %v", m["status"])
	}
	if err := f.Deposit("order-vb-b", 20000, "x"); err == nil {
		t.Error("deposit into an expired account accepted")
	}

	d := approveVbank("order-vb-c") // valid 24 hours
	clk.Add(25 * time.Hour)
	if m := c.ok("GET", "/v1/payments/"+d, nil); m["status"] != "expired" {
		t.Errorf("after the due time: %v", m["status"])
	}
	if got := c.code("POST", "/v1/payments/"+d+"/cancel", obj{"reason": "r", "orderId": "order-vb-c"}); got != "2014" {
		t.Errorf("cancel expired: %s", got)
	}
}

func TestNetCancel(t *testing.T) {
	f, clk := start(t)
	c := newClient(t, f)

	approved(t, f, c, "order-nc-1", 1004)
	clk.Add(59 * time.Minute)
	m := c.ok("POST", "/v1/payments/netcancel", obj{"orderId": "order-nc-1"})
	if m["status"] != "cancelled" || m["cancelledTid"] == nil || num(t, m["balanceAmt"]) != 0 {
		t.Errorf("net-cancel: %v", m)
	}
	if got := c.code("POST", "/v1/payments/netcancel", obj{"orderId": "order-nc-1"}); got != "2013" {
		t.Errorf("net-cancel again: %s", got)
	}

	approved(t, f, c, "order-nc-2", 1004)
	clk.Add(61 * time.Minute)
	if got := c.code("POST", "/v1/payments/netcancel", obj{"orderId": "order-nc-2"}); got != "2020" {
		t.Errorf("net-cancel after the hour: %s, want 2020", got)
	}
	if st, _, _ := f.Payment("order-nc-2"); st != "paid" {
		t.Errorf("late net-cancel changed the payment: %s", st)
	}

	// The manual's curl sample spells the field orderID.
	approved(t, f, c, "order-nc-3", 1004)
	c.ok("POST", "/v1/payments/netcancel", obj{"orderID": "order-nc-3"})

	tests := []struct {
		name string
		body obj
		want string
	}{
		{"orderId missing", obj{}, "A117"},
		{"never approved", obj{"orderId": "order-nc-none"}, "A118"},
		{"wrong signData", obj{"orderId": "order-nc-2", "ediDate": "x", "signData": "00"}, "A101"},
	}
	for _, tt := range tests {
		if got := c.code("POST", "/v1/payments/netcancel", tt.body); got != tt.want {
			t.Errorf("%s: %s, want %s", tt.name, got, tt.want)
		}
	}
}

func TestConsoleCancel(t *testing.T) {
	f, _ := start(t)
	c := newClient(t, f)
	tid, _ := approved(t, f, c, "order-console", 9000)
	if err := f.ConsoleCancel("order-console", 10000, "too much"); err == nil {
		t.Error("console cancel above balance accepted")
	}
	if err := f.ConsoleCancel("order-console", 4000, "부분"); err != nil {
		t.Fatal(err)
	}
	if st, bal, _ := f.Payment("order-console"); st != "partialCancelled" || bal != 5000 {
		t.Errorf("after partial: %s %d", st, bal)
	}
	if err := f.ConsoleCancel("order-console", 0, "전체"); err != nil {
		t.Fatal(err)
	}
	m := c.ok("GET", "/v1/payments/"+tid, nil)
	if m["status"] != "cancelled" || len(m["cancels"].([]any)) != 2 {
		t.Errorf("after console cancels: %v %v", m["status"], m["cancels"])
	}
	if err := f.ConsoleCancel("order-console", 0, "again"); err == nil {
		t.Error("console cancel of a cancelled payment accepted")
	}
	if err := f.ConsoleCancel("nope", 0, ""); err != nicepayfake.ErrNotFound {
		t.Errorf("unknown order: %v", err)
	}
}
