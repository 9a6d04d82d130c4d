package nicepayfake_test

import (
	"fmt"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/paymux/paymux/providers/nicepay/nicepayfake"
)

// Many buyers and the merchant's server at once (run with -race).
func TestConcurrentUse(t *testing.T) {
	f, _ := start(t)
	rcv := &receiver{}
	srv := httptest.NewServer(rcv.handler("OK"))
	defer srv.Close()
	f.SetWebhookURL(srv.URL)
	const n = 20
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := newClient(t, f)
			order := fmt.Sprintf("order-conc-%d", i)
			wr, err := f.CompleteWindow(cardArgs(nicepayfake.SandboxClientID, order, 1000+int64(i)), nicepayfake.Choice{})
			if err != nil {
				errs <- err
				return
			}
			_, m := c.call("POST", "/v1/payments/"+wr.Form.Get("tid"), obj{"amount": 1000 + i})
			if m["status"] != "paid" {
				errs <- fmt.Errorf("%s: %v", order, m)
				return
			}
			_, m = c.call("POST", "/v1/payments/"+wr.Form.Get("tid")+"/cancel", obj{"reason": "r", "orderId": order})
			if m["status"] != "cancelled" {
				errs <- fmt.Errorf("%s cancel: %v", order, m)
			}
			_ = f.Notifications()
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if got := len(f.Notifications()); got != 2*n {
		t.Errorf("%d notifications, want %d", got, 2*n)
	}
}
