package nicepayfake_test

import (
	"bytes"
	"encoding/json"
	"net/http/httptest"
	"testing"

	"github.com/paymux/paymux/providers/nicepay/nicepayfake"
)

type hookBody struct {
	ResultCode   string  `json:"resultCode"`
	TID          string  `json:"tid"`
	CancelledTID *string `json:"cancelledTid"`
	OrderID      string  `json:"orderId"`
	Status       string  `json:"status"`
	Amount       int64   `json:"amount"`
	BalanceAmt   int64   `json:"balanceAmt"`
	EdiDate      string  `json:"ediDate"`
	Signature    string  `json:"signature"`
	PaidAt       string  `json:"paidAt"`
	CancelledAt  string  `json:"cancelledAt"`
}

func TestWebhooks(t *testing.T) {
	f, _ := start(t)
	c := newClient(t, f)
	rcv := &receiver{}
	srv := httptest.NewServer(rcv.handler("OK"))
	defer srv.Close()
	f.SetWebhookURL(srv.URL + "/hooks/nicepay")

	tid, _ := approved(t, f, c, "order-hook-card", 1004)
	c.ok("POST", "/v1/payments/"+tid+"/cancel", obj{"reason": "r", "orderId": "order-hook-card", "cancelAmt": 4})
	vform := window(t, f, vbankArgs("order-hook-vb", 20000), nicepayfake.Choice{})
	c.ok("POST", "/v1/payments/"+vform.Get("tid"), obj{"amount": 20000})
	if err := f.Deposit("order-hook-vb", 20000, "홍길동"); err != nil {
		t.Fatal(err)
	}
	if err := f.ConsoleCancel("order-hook-vb", 0, "콘솔 환불"); err != nil {
		t.Fatal(err)
	}
	if err := f.ExpireVirtualAccount("order-hook-none"); err == nil {
		t.Fatal("expired an unknown order")
	}

	want := []struct {
		event, order, status string
		balance              int64
		cancel               bool
	}{
		{nicepayfake.EventPaid, "order-hook-card", "paid", 1004, false},
		{nicepayfake.EventCancelled, "order-hook-card", "partialCancelled", 1000, true},
		{nicepayfake.EventVbankIssued, "order-hook-vb", "ready", 20000, false},
		{nicepayfake.EventDeposit, "order-hook-vb", "paid", 20000, false},
		{nicepayfake.EventCancelled, "order-hook-vb", "cancelled", 0, true},
	}
	sent := f.Notifications()
	got := rcv.got()
	if len(sent) != len(want) || len(got) != len(want) {
		t.Fatalf("%d notifications recorded, %d received, want %d", len(sent), len(got), len(want))
	}
	for i, w := range want {
		n := sent[i]
		if n.Event != w.event || n.URL != srv.URL+"/hooks/nicepay" || !n.Delivered || n.Status != 200 || n.Response != "OK" {
			t.Errorf("#%d: %+v", i, n)
		}
		if ct := n.Header.Get("Content-Type"); ct != "application/json;charset=utf-8" || rcv.ctypes[i] != ct {
			t.Errorf("#%d Content-Type %q / received %q", i, ct, rcv.ctypes[i])
		}
		if !bytes.Equal(n.Body, got[i]) {
			t.Errorf("#%d recorded body differs from the received one", i)
		}
		var b hookBody
		if err := json.Unmarshal(got[i], &b); err != nil {
			t.Fatalf("#%d: %v", i, err)
		}
		if b.ResultCode != "0000" || b.OrderID != w.order || b.Status != w.status || b.BalanceAmt != w.balance {
			t.Errorf("#%d body %+v", i, b)
		}
		if (b.CancelledTID != nil) != w.cancel || (b.CancelledAt != "0") != w.cancel {
			t.Errorf("#%d cancelledTid %v cancelledAt %s", i, b.CancelledTID, b.CancelledAt)
		}
		if sig := nicepayfake.PaymentSignature(b.TID, jsonInt(b.Amount), b.EdiDate, nicepayfake.SandboxSecretKey); b.Signature != sig {
			t.Errorf("#%d signature %s, want %s", i, b.Signature, sig)
		}
	}

	// A duplicate, unchanged.
	again, err := f.Resend(0)
	if err != nil || !again.Delivered || !bytes.Equal(again.Body, sent[0].Body) {
		t.Errorf("Resend: %+v %v", again, err)
	}
	if len(rcv.got()) != len(want)+1 || len(f.Notifications()) != len(want)+1 {
		t.Error("Resend did not send or record")
	}
	if _, err := f.Resend(99); err == nil {
		t.Error("Resend(99) worked")
	}
}

// NicePay wants exactly "OK"; the official samples' lowercase "ok" is
// recorded as a failed delivery, and so is anything but HTTP 200.
func TestWebhookReceiverMustAnswerOK(t *testing.T) {
	tests := []struct {
		name  string
		reply string
		ok    bool
	}{
		{"OK", "OK", true},
		{"lowercase ok", "ok", false},
		{"OK with newline", "OK\n", false},
		{"empty", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, _ := start(t)
			c := newClient(t, f)
			rcv := &receiver{}
			srv := httptest.NewServer(rcv.handler(tt.reply))
			defer srv.Close()
			f.SetWebhookURL(srv.URL)
			approved(t, f, c, "order-ok", 1004)
			n := f.Notifications()
			if len(n) != 1 || n[0].Delivered != tt.ok || n[0].Response != tt.reply || n[0].Status != 200 {
				t.Errorf("%+v", n)
			}
		})
	}
	t.Run("unreachable", func(t *testing.T) {
		f, _ := start(t)
		c := newClient(t, f)
		srv := httptest.NewServer(nil)
		url := srv.URL
		srv.Close()
		f.SetWebhookURL(url)
		approved(t, f, c, "order-down", 1004)
		if n := f.Notifications(); len(n) != 1 || n[0].Delivered || n[0].Err == "" {
			t.Errorf("%+v", n)
		}
	})
}

// The receiver may call the fake while it is being notified.
func TestWebhookReceiverCallsBack(t *testing.T) {
	f, _ := start(t)
	c := newClient(t, f)
	var status string
	srv := httptest.NewServer(httpHandlerFunc(func(body []byte) string {
		var b hookBody
		_ = json.Unmarshal(body, &b)
		_, m := c.call("GET", "/v1/payments/"+b.TID, nil)
		status, _ = m["status"].(string)
		return "OK"
	}))
	defer srv.Close()
	f.SetWebhookURL(srv.URL)
	approved(t, f, c, "order-callback", 1004)
	if status != "paid" {
		t.Errorf("lookup from the receiver: %q", status)
	}
}

func jsonInt(n int64) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// A Client-approval window approves by itself: its webhook is sent before
// CompleteWindow returns, signed with the Client-approval secret key.
func TestClientApprovalWindowWebhook(t *testing.T) {
	f, _ := start(t)
	rcv := &receiver{}
	srv := httptest.NewServer(rcv.handler("OK"))
	defer srv.Close()
	f.SetWebhookURL(srv.URL)
	form := window(t, f, cardArgs(nicepayfake.ClientApprovalID, "order-client-hook", 2000), nicepayfake.Choice{})
	got := rcv.got()
	if len(got) != 1 {
		t.Fatalf("%d webhooks", len(got))
	}
	var b hookBody
	if err := json.Unmarshal(got[0], &b); err != nil {
		t.Fatal(err)
	}
	if b.TID != form.Get("tid") || b.Status != "paid" ||
		b.Signature != nicepayfake.PaymentSignature(b.TID, "2000", b.EdiDate, nicepayfake.ClientApprovalSecret) {
		t.Errorf("webhook %+v", b)
	}
}
