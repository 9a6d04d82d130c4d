package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/paymux/paymux/webhook"
)

// crashReceiver hangs (answers nothing) while hanging is set, noting the
// webhook-ids that reached it; otherwise it checks the signature and
// answers 200, noting what it was delivered.
type crashReceiver struct {
	*httptest.Server
	release chan struct{}

	mu        sync.Mutex
	secret    []byte
	hanging   bool
	inFlight  int
	seen      map[string]bool // webhook-ids received while hanging
	delivered map[string]int  // webhook-id -> requests answered 200
	payments  map[string]bool // payment ids in the events answered 200
	bad       []string        // what failed a check
}

func newCrashReceiver(t *testing.T) *crashReceiver {
	r := &crashReceiver{release: make(chan struct{}), hanging: true, seen: map[string]bool{}, delivered: map[string]int{}, payments: map[string]bool{}}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		id := req.Header.Get(webhook.HeaderID)
		r.mu.Lock()
		if r.hanging {
			r.seen[id] = true
			r.inFlight++
			r.mu.Unlock()
			// Until the client goes (killed) or the test ends.
			select {
			case <-req.Context().Done():
			case <-r.release:
			}
			r.mu.Lock()
			r.inFlight--
			r.mu.Unlock()
			return
		}
		defer r.mu.Unlock()
		if err := webhook.Verify(r.secret, req.Header, body, time.Now(), 0); err != nil {
			r.bad = append(r.bad, fmt.Sprintf("%s: %v", id, err))
		}
		var ev struct {
			Type string `json:"type"`
			Data struct {
				ID string `json:"id"`
			} `json:"data"`
		}
		if err := json.Unmarshal(body, &ev); err != nil || ev.Type != "payment.paid" {
			r.bad = append(r.bad, fmt.Sprintf("%s: body %s: %v", id, body, err))
		}
		r.delivered[id]++
		r.payments[ev.Data.ID] = true
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(r.Close)
	t.Cleanup(func() { close(r.release) })
	return r
}

func (r *crashReceiver) state(f func(r *crashReceiver)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	f(r)
}

// TestServeWebhooksSurviveCrash: paymux is killed (SIGKILL) while its
// webhook requests hang unanswered; restarted on the same data, it sends
// every event again once the crashed worker's lease has run out (about
// webhooks.timeout + 5s): at least once, each with its webhook-id, signed
// with the same secret.
func TestServeWebhooksSurviveCrash(t *testing.T) {
	dataDir := filepath.Join(t.TempDir(), "data")
	env := []string{
		"PAYMUX_WEBHOOKS_ALLOW_PRIVATE=true",
		"PAYMUX_WEBHOOKS_POLL_INTERVAL=50ms",
		"PAYMUX_WEBHOOKS_TIMEOUT=1s",
	}
	rcv := newCrashReceiver(t)
	s := startServe(t, env, "--listen", "127.0.0.1:0", "--data-dir", dataDir)
	f := parseFirstRun(t, s.stdout.String(), s.URL)

	var ep struct {
		Endpoint struct {
			ID string `json:"id"`
		} `json:"endpoint"`
		Secret string `json:"secret"`
	}
	if st := post(t, s, f, "/v1/webhook-endpoints", fmt.Sprintf(`{"url":%q,"eventTypes":["payment.paid"]}`, rcv.URL+"/hooks"), &ep); st != http.StatusOK {
		t.Fatalf("create endpoint: HTTP %d", st)
	}
	secret, err := webhook.ParseSecret(ep.Secret)
	if err != nil {
		t.Fatal(err)
	}
	rcv.state(func(r *crashReceiver) { r.secret = secret })

	const payments = 6
	want := map[string]bool{}
	for i := range payments {
		var p paymentJSON
		body := fmt.Sprintf(`{"merchantPaymentId":"crash-%d","orderName":"crash","amount":{"total":1000},`+
			`"card":{"number":"9410000000000005","expiryYear":2030,"expiryMonth":12,"birthOrBusinessNumber":"900101","passwordTwoDigits":"12"}}`, i)
		if st := post(t, s, f, "/v1/payments/instant", body, &p); st != http.StatusOK || p.Payment.Status != "PAYMENT_STATUS_PAID" {
			t.Fatalf("payment %d: HTTP %d %+v", i, st, p)
		}
		want[p.Payment.ID] = true
	}

	// Kill paymux while requests are out: their deliveries stay leased.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		var n int
		rcv.state(func(r *crashReceiver) { n = r.inFlight })
		if n > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no webhook request reached the receiver within 10s\nstderr:\n%s", s.stderr)
		}
	}
	if err := s.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-s.done
	killed := time.Now()
	var hung []string
	rcv.state(func(r *crashReceiver) {
		r.hanging = false
		for id := range r.seen {
			hung = append(hung, id)
		}
	})

	s2 := startServe(t, env, "--listen", "127.0.0.1:0", "--data-dir", dataDir)
	restarted := time.Now()
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		var got int
		rcv.state(func(r *crashReceiver) {
			for id := range want {
				if r.payments[id] {
					got++
				}
			}
		})
		if got == payments {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d events delivered within 20s of the restart\nstderr:\n%s", got, payments, s2.stderr)
		}
	}
	t.Logf("killed with %d requests out; restarted in %s; every event delivered %s after the restart",
		len(hung), restarted.Sub(killed).Round(time.Millisecond), time.Since(restarted).Round(time.Millisecond))
	rcv.state(func(r *crashReceiver) {
		for _, id := range hung {
			if r.delivered[id] == 0 {
				t.Errorf("event %s was out when paymux died and never delivered after", id)
			}
		}
		if len(r.delivered) != payments {
			t.Errorf("%d webhook-ids delivered for %d events: %v", len(r.delivered), payments, r.delivered)
		}
		for _, b := range r.bad {
			t.Error(b)
		}
	})
	s2.stop(t)
}
