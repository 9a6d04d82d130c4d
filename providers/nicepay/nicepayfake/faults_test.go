package nicepayfake_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/paymux/paymux/providers/nicepay/nicepayfake"
)

// The approve faults, and how an adapter recovers: after a lost or timed
// out answer the payment may be charged; net-cancel voids it.
func TestApproveFaults(t *testing.T) {
	tests := []struct {
		name        string
		fault       nicepayfake.Fault
		wantHTTP    int    // 0 = no answer
		wantCode    string // when answered
		wantCharged bool
	}{
		{"Unavailable", nicepayfake.Unavailable, http.StatusInternalServerError, "", false},
		{"Decline", nicepayfake.Decline("3095", "카드사 실패 응답"), http.StatusOK, "3095", false},
		{"TimeoutBeforeCharge", nicepayfake.TimeoutBeforeCharge, 0, "", false},
		{"LoseAnswer", nicepayfake.LoseAnswer, 0, "", true},
		{"TimeoutAfterCharge", nicepayfake.TimeoutAfterCharge, 0, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, clk := start(t)
			c := newClient(t, f)
			form := window(t, f, cardArgs(nicepayfake.SandboxClientID, "order-fault", 1004), nicepayfake.Choice{})
			tid := form.Get("tid")
			f.FailNext(nicepayfake.OpApprove, tt.fault)

			ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
			defer cancel()
			resp, err := c.send(ctx, "POST", "/v1/payments/"+tid, obj{"amount": 1004})
			if tt.wantHTTP == 0 {
				if err == nil {
					resp.Body.Close()
					t.Fatalf("got HTTP %d, want no answer", resp.StatusCode)
				}
				if tt.fault == nicepayfake.LoseAnswer && errors.Is(err, context.DeadlineExceeded) {
					t.Errorf("LoseAnswer should drop the connection, not hang: %v", err)
				}
			} else {
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != tt.wantHTTP {
					t.Fatalf("HTTP %d, want %d", resp.StatusCode, tt.wantHTTP)
				}
			}

			st, _, ok := f.Payment("order-fault")
			if charged := ok && st == "paid"; charged != tt.wantCharged {
				t.Fatalf("charged = %v (%s %v), want %v", charged, st, ok, tt.wantCharged)
			}
			day := clk.Now().Format("20060102")
			switch {
			case tt.wantCharged:
				// Reconcile: net-cancel, then confirm by orderId.
				c.ok("POST", "/v1/payments/netcancel", obj{"orderId": "order-fault"})
				if m := c.ok("GET", "/v1/payments/find/order-fault?orderDate="+day, nil); m["status"] != "cancelled" {
					t.Errorf("after net-cancel: %v", m["status"])
				}
			case tt.wantCode != "":
				if m := c.ok("GET", "/v1/payments/"+tid, nil); m["status"] != "failed" {
					t.Errorf("declined approve: lookup %v", m["status"])
				}
			default:
				if got := c.code("GET", "/v1/payments/find/order-fault?orderDate="+day, nil); got != "A118" {
					t.Errorf("nothing charged: lookup %s, want A118", got)
				}
				if got := c.code("POST", "/v1/payments/netcancel", obj{"orderId": "order-fault"}); got != "A118" {
					t.Errorf("net-cancel of nothing: %s, want A118", got)
				}
				// The authentication is still there; the next approve works.
				c.ok("POST", "/v1/payments/"+tid, obj{"amount": 1004})
			}
		})
	}
}

// Every other operation takes Unavailable and Decline; each fault is used once.
func TestOperationFaults(t *testing.T) {
	f, _ := start(t)
	c := newClient(t, f)
	tid, _ := approved(t, f, c, "order-ops", 50000)
	plain := "cardNo=" + nicepayfake.DefaultCard + "&expYear=30&expMonth=01&idNo=800101&cardPw=12"
	bid := c.ok("POST", "/v1/subscribe/regist", obj{"encData": encrypt(t, plain, nicepayfake.SandboxSecretKey, false), "orderId": "order-ops-bid"})["bid"].(string)
	n := 0
	fresh := func() string { n++; return "order-ops-" + string(rune('a'+n)) }
	ops := []struct {
		op   string
		call func() (int, obj)
	}{
		{nicepayfake.OpAccessToken, func() (int, obj) { return c.call("POST", "/v1/access-token", nil) }},
		{nicepayfake.OpLookup, func() (int, obj) { return c.call("GET", "/v1/payments/"+tid, nil) }},
		{nicepayfake.OpCancel, func() (int, obj) {
			return c.call("POST", "/v1/payments/"+tid+"/cancel", obj{"reason": "r", "orderId": fresh(), "cancelAmt": 100})
		}},
		{nicepayfake.OpNetCancel, func() (int, obj) { return c.call("POST", "/v1/payments/netcancel", obj{"orderId": "order-ops"}) }},
		{nicepayfake.OpCheckAmount, func() (int, obj) { return c.call("POST", "/v1/check-amount/"+tid, obj{"amount": 50000}) }},
		{nicepayfake.OpRegist, func() (int, obj) {
			return c.call("POST", "/v1/subscribe/regist", obj{"encData": encrypt(t, plain, nicepayfake.SandboxSecretKey, false), "orderId": fresh()})
		}},
		{nicepayfake.OpBillingCharge, func() (int, obj) {
			return c.call("POST", "/v1/subscribe/"+bid+"/payments", obj{"orderId": fresh(), "amount": 1000, "goodsName": "g", "cardQuota": "0", "useShopInterest": false})
		}},
		{nicepayfake.OpReceipt, func() (int, obj) {
			return c.call("POST", "/v1/receipt/", obj{"orderId": fresh(), "amount": 1100, "goodsName": "g", "receiptType": "individual",
				"receiptNo": "01012345678", "supplyAmt": 1000, "goodsVat": 100, "taxFreeAmt": 0, "serviceAmt": 0})
		}},
		{nicepayfake.OpExpire, func() (int, obj) { return c.call("POST", "/v1/subscribe/"+bid+"/expire", obj{"orderId": fresh()}) }},
	}
	for _, o := range ops {
		t.Run(o.op, func(t *testing.T) {
			f.FailNext(o.op, nicepayfake.Unavailable)
			f.FailNext(o.op, nicepayfake.Decline("X999", "fault"))
			if st, _ := o.call(); st != http.StatusInternalServerError {
				t.Errorf("Unavailable: HTTP %d", st)
			}
			if st, m := o.call(); st != http.StatusOK || m["resultCode"] != "X999" {
				t.Errorf("Decline: HTTP %d %v", st, m["resultCode"])
			}
			if st, m := o.call(); st != http.StatusOK || m["resultCode"] != "0000" {
				t.Errorf("after the faults: HTTP %d %v %v", st, m["resultCode"], m["resultMsg"])
			}
		})
	}
}

// TimeoutBeforeCharge holds a request until the client gives up, and Close
// releases one still held.
func TestTimeoutFaultReleasedByClose(t *testing.T) {
	c0 := &clock{t: time.Date(2025, 7, 21, 10, 0, 0, 0, kst)}
	f := nicepayfake.Start(nicepayfake.Options{Now: c0.Now})
	c := newClient(t, f)
	c.hc = &http.Client{} // no client timeout
	f.FailNext(nicepayfake.OpLookup, nicepayfake.TimeoutBeforeCharge)
	done := make(chan error, 1)
	go func() {
		resp, err := c.send(context.Background(), "GET", "/v1/payments/x", nil)
		if err == nil {
			resp.Body.Close()
		}
		done <- err
	}()
	time.Sleep(100 * time.Millisecond)
	closed := make(chan struct{})
	go func() { f.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		t.Fatal("Close hung on a held request")
	}
	if err := <-done; err == nil {
		t.Error("held request got an answer")
	}
}
