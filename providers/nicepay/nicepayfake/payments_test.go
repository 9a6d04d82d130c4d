package nicepayfake_test

import (
	"strconv"
	"testing"
	"time"

	"github.com/paymux/paymux/providers/nicepay/nicepayfake"
)

const isoLayout = "2006-01-02T15:04:05.000-0700"

func TestCardWindowApproveAndLookups(t *testing.T) {
	f, clk := start(t)
	c := newClient(t, f)
	form := window(t, f, cardArgs(nicepayfake.SandboxClientID, "order-card-1", 1004), nicepayfake.Choice{})

	for _, k := range []string{"authResultCode", "authResultMsg", "tid", "clientId", "orderId", "amount", "mallReserved", "authToken", "signature"} {
		if _, ok := form[k]; !ok {
			t.Errorf("returnUrl form lacks %s", k)
		}
	}
	tid, tok := form.Get("tid"), form.Get("authToken")
	if form.Get("authResultCode") != "0000" || form.Get("amount") != "1004" || form.Get("orderId") != "order-card-1" ||
		form.Get("clientId") != nicepayfake.SandboxClientID || form.Get("mallReserved") != `{"k":"v"}` {
		t.Fatalf("form %v", form)
	}
	if len(tok) != 40 || len(tid) != 30 {
		t.Errorf("authToken %q (%d), tid %q (%d)", tok, len(tok), tid, len(tid))
	}
	if want := nicepayfake.WindowSignature(tok, nicepayfake.SandboxClientID, "1004", nicepayfake.SandboxSecretKey); form.Get("signature") != want {
		t.Errorf("window signature %s, want %s", form.Get("signature"), want)
	}

	// Authenticated only: nothing is charged, nothing to look up.
	if _, _, ok := f.Payment("order-card-1"); ok {
		t.Error("a payment exists before approve")
	}
	if got := c.code("GET", "/v1/payments/"+tid, nil); got != "A118" {
		t.Errorf("lookup before approve: %s", got)
	}

	// Approve as NicePay's samples do: amount as a string, with signData.
	ediD := edi(clk.Now())
	m := c.ok("POST", "/v1/payments/"+tid, obj{
		"amount": "1004", "ediDate": ediD,
		"signData": nicepayfake.PaymentSignature(tid, "1004", ediD, nicepayfake.SandboxSecretKey),
	})
	checkPaidCard(t, m, tid, 1004)
	if got := c.code("POST", "/v1/payments/"+tid, obj{"amount": 1004}); got != "2201" {
		t.Errorf("second approve: %s, want 2201", got)
	}
	if st, bal, ok := f.Payment("order-card-1"); !ok || st != "paid" || bal != 1004 {
		t.Errorf("Payment: %s %d %v", st, bal, ok)
	}

	byTID := c.ok("GET", "/v1/payments/"+tid, nil)
	checkPaidCard(t, byTID, tid, 1004)

	day := clk.Now().Format("20060102")
	tests := []struct {
		name, path string
		body       any
		want       string
	}{
		{"orderDate in the query", "/v1/payments/find/order-card-1?orderDate=" + day, nil, "0000"},
		{"orderDate in a body", "/v1/payments/find/order-card-1", obj{"orderDate": day}, "0000"},
		{"orderDate missing", "/v1/payments/find/order-card-1", nil, "A117"},
		{"orderDate malformed", "/v1/payments/find/order-card-1?orderDate=2025-07-21", nil, "A106"},
		{"another day", "/v1/payments/find/order-card-1?orderDate=20250720", nil, "A118"},
		{"unknown order", "/v1/payments/find/nope?orderDate=" + day, nil, "A118"},
		{"signData over orderId", "/v1/payments/find/order-card-1?orderDate=" + day + "&ediDate=" + queryEsc(ediD) +
			"&signData=" + nicepayfake.SignData("order-card-1", ediD, nicepayfake.SandboxSecretKey), nil, "0000"},
		{"signData over tid", "/v1/payments/find/order-card-1?orderDate=" + day + "&ediDate=" + queryEsc(ediD) +
			"&signData=" + nicepayfake.SignData(tid, ediD, nicepayfake.SandboxSecretKey), nil, "0000"},
		{"wrong signData", "/v1/payments/find/order-card-1?orderDate=" + day + "&ediDate=x&signData=00", nil, "A101"},
		{"tid lookup, signData", "/v1/payments/" + tid + "?ediDate=" + queryEsc(ediD) +
			"&signData=" + nicepayfake.SignData(tid, ediD, nicepayfake.SandboxSecretKey), nil, "0000"},
		{"tid lookup, wrong signData", "/v1/payments/" + tid + "?ediDate=x&signData=00", nil, "A101"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := c.code("GET", tt.path, tt.body); got != tt.want {
				t.Errorf("%s, want %s", got, tt.want)
			}
		})
	}
}

func checkPaidCard(t *testing.T, m obj, tid string, amount int64) {
	t.Helper()
	if m["tid"] != tid || m["status"] != "paid" || m["payMethod"] != "card" || m["currency"] != "KRW" {
		t.Errorf("payment %v", m)
	}
	if num(t, m["amount"]) != amount || num(t, m["balanceAmt"]) != amount {
		t.Errorf("amount %v balance %v", m["amount"], m["balanceAmt"])
	}
	if m["failedAt"] != "0" || m["cancelledAt"] != "0" {
		t.Errorf(`failedAt %v cancelledAt %v, want "0"`, m["failedAt"], m["cancelledAt"])
	}
	paid, err := time.Parse(isoLayout, m["paidAt"].(string))
	if err != nil || m["paidAt"].(string)[23:] != "+0900" || paid.IsZero() {
		t.Errorf("paidAt %v: %v", m["paidAt"], err)
	}
	card := sub(t, m, "card")
	if card["cardCode"] != "04" || card["cardNum"] != "123412******1234" || card["cardName"] == "" {
		t.Errorf("card %v", card)
	}
	if m["vbank"] != nil || m["cancelledTid"] != nil || m["cancels"] != nil {
		t.Errorf("vbank %v cancelledTid %v cancels %v, want null", m["vbank"], m["cancelledTid"], m["cancels"])
	}
	ediD, _ := m["ediDate"].(string)
	if want := nicepayfake.PaymentSignature(tid, strconv.FormatInt(amount, 10), ediD, nicepayfake.SandboxSecretKey); m["signature"] != want {
		t.Errorf("signature %v, want %s", m["signature"], want)
	}
}

func TestApproveRefusals(t *testing.T) {
	f, _ := start(t)
	c := newClient(t, f)
	form := window(t, f, cardArgs(nicepayfake.SandboxClientID, "order-refuse", 1004), nicepayfake.Choice{})
	tid := form.Get("tid")
	tests := []struct {
		name string
		body obj
		want string
	}{
		{"amount differs", obj{"amount": 1000}, "A123"},
		{"amount differs as string", obj{"amount": "1005"}, "A123"},
		{"amount missing", obj{}, "A117"},
		{"amount not a number", obj{"amount": "10x4"}, "A116"},
		{"wrong signData", obj{"amount": 1004, "ediDate": "2025-07-21T10:00:00.000+0900", "signData": "deadbeef"}, "A101"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := c.code("POST", "/v1/payments/"+tid, tt.body); got != tt.want {
				t.Errorf("%s, want %s", got, tt.want)
			}
		})
	}
	if got := c.code("POST", "/v1/payments/nosuchtid000000000000000000000", obj{"amount": 1004}); got != "A118" {
		t.Errorf("unknown tid: %s", got)
	}
	// Refusals left the authentication approvable.
	c.ok("POST", "/v1/payments/"+tid, obj{"amount": 1004})
	// The orderId is now paid: a new window for it is refused.
	again := window(t, f, cardArgs(nicepayfake.SandboxClientID, "order-refuse", 1004), nicepayfake.Choice{})
	if again.Get("authResultCode") != "A127" || again.Get("tid") != "" {
		t.Errorf("window for a paid orderId: %v", again)
	}
}

func TestDeclinedTestCards(t *testing.T) {
	tests := []struct {
		card, code string
	}{
		{nicepayfake.CardRefused, "3095"},
		{nicepayfake.CardExpired, "3021"},
	}
	for _, tt := range tests {
		t.Run(tt.card, func(t *testing.T) {
			f, _ := start(t)
			c := newClient(t, f)
			form := window(t, f, cardArgs(nicepayfake.SandboxClientID, "order-declined", 5000), nicepayfake.ApproveWith(tt.card))
			if form.Get("authResultCode") != "0000" {
				t.Fatalf("window: %v", form)
			}
			tid := form.Get("tid")
			st, m := c.call("POST", "/v1/payments/"+tid, obj{"amount": 5000})
			if st != 200 || m["resultCode"] != tt.code || m["status"] != "failed" {
				t.Fatalf("approve: HTTP %d %v %v", st, m["resultCode"], m["status"])
			}
			if m["failedAt"] == "0" || m["paidAt"] != "0" || num(t, m["balanceAmt"]) != 0 {
				t.Errorf("failedAt %v paidAt %v balance %v", m["failedAt"], m["paidAt"], m["balanceAmt"])
			}
			// A lookup answers 0000 with the state "failed".
			if got := sub(t, c.ok("GET", "/v1/payments/"+tid, nil), "card")["cardNum"]; got != tt.card[:6]+"******"+tt.card[12:] {
				t.Errorf("cardNum %v", got)
			}
			// A refused order may be paid again.
			again := window(t, f, cardArgs(nicepayfake.SandboxClientID, "order-declined", 5000), nicepayfake.Choice{})
			c.ok("POST", "/v1/payments/"+again.Get("tid"), obj{"amount": 5000})
		})
	}
}

// A refused approval stays visible: lookups answer 0000 with status failed.
func TestFailedLookup(t *testing.T) {
	f, _ := start(t)
	c := newClient(t, f)
	form := window(t, f, cardArgs(nicepayfake.SandboxClientID, "order-failed", 5000), nicepayfake.ApproveWith(nicepayfake.CardRefused))
	c.code("POST", "/v1/payments/"+form.Get("tid"), obj{"amount": 5000})
	if _, m := c.call("GET", "/v1/payments/"+form.Get("tid"), nil); m["status"] != "failed" || m["resultCode"] != "0000" || m["failedAt"] == "0" {
		t.Errorf("lookup of a refused approval: %v %v", m["resultCode"], m["status"])
	}
	if st, _, ok := f.Payment("order-failed"); !ok || st != "failed" {
		t.Errorf("Payment %s %v", st, ok)
	}
}

func TestWindowCloseDeclineAndBadInput(t *testing.T) {
	f, _ := start(t)
	tests := []struct {
		name   string
		client string
		choice nicepayfake.Choice
		key    string
		want   string
	}{
		{"server model, buyer closes", nicepayfake.SandboxClientID, nicepayfake.CloseWindow, "authResultCode", nicepayfake.CodeBuyerClosed},
		{"server model, card company refuses", nicepayfake.SandboxClientID, nicepayfake.DeclineWith("C002", "카드사 인증 실패"), "authResultCode", "C002"},
		{"server model, bad card number", nicepayfake.SandboxClientID, nicepayfake.ApproveWith("1234"), "authResultCode", nicepayfake.CodeBadCardNumber},
		{"client model, buyer closes", nicepayfake.ClientApprovalID, nicepayfake.CloseWindow, "resultCode", nicepayfake.CodeBuyerClosed},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			form := window(t, f, cardArgs(tt.client, "order-close-"+strconv.Itoa(i), 1004), tt.choice)
			if form.Get(tt.key) != tt.want {
				t.Errorf("%s = %q, want %q (%v)", tt.key, form.Get(tt.key), tt.want, form)
			}
			for _, k := range []string{"tid", "signature", "authToken"} {
				if form.Has(k) {
					t.Errorf("failed window posts %s", k)
				}
			}
			if form.Get("orderId") != "order-close-"+strconv.Itoa(i) || form.Get("amount") != "1004" {
				t.Errorf("form %v", form)
			}
		})
	}

	bad := []struct {
		name string
		edit func(map[string]string)
	}{
		{"no clientId", func(a map[string]string) { delete(a, "clientId") }},
		{"unknown clientId", func(a map[string]string) { a["clientId"] = "S2_unknown" }},
		{"no returnUrl", func(a map[string]string) { delete(a, "returnUrl") }},
		{"amount not a number", func(a map[string]string) { a["amount"] = "1,004" }},
		{"vbank without vbankHolder", func(a map[string]string) { a["method"] = "vbank" }},
		{"unsupported method", func(a map[string]string) { a["method"] = "paypal" }},
		{"taxFreeAmt above amount", func(a map[string]string) { a["taxFreeAmt"] = "2000" }},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			a := cardArgs(nicepayfake.SandboxClientID, "order-bad", 1004)
			tt.edit(a)
			if _, err := f.CompleteWindow(a, nicepayfake.Choice{}); err == nil {
				t.Error("want an error")
			}
		})
	}
}

func queryEsc(s string) string {
	out := ""
	for _, r := range s {
		if r == '+' {
			out += "%2B"
		} else {
			out += string(r)
		}
	}
	return out
}
