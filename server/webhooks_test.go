package server_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/paymux/paymux/ent"
	paymuxv1 "github.com/paymux/paymux/gen/paymux/v1"
	"github.com/paymux/paymux/providers/sandbox"
	"github.com/paymux/paymux/webhook"
)

// allowLocalWebhooks lets endpoints be loopback httptest servers.
func allowLocalWebhooks(c *configT) {
	c.Webhooks.AllowPrivate = true
	c.Webhooks.PollInterval = 20 * time.Millisecond
}

// receivedHook is one request an httptest receiver got.
type receivedHook struct {
	header http.Header
	body   []byte
}

// hookReceiver is an httptest server that records what it receives and
// answers with status.
type hookReceiver struct {
	*httptest.Server
	mu     sync.Mutex
	got    []receivedHook
	status int
	wait   chan struct{}
}

func newHookReceiver(t testing.TB, status int) *hookReceiver {
	r := &hookReceiver{status: status, wait: make(chan struct{}, 100)}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.got = append(r.got, receivedHook{header: req.Header.Clone(), body: body})
		st := r.status
		r.mu.Unlock()
		w.WriteHeader(st)
		select {
		case r.wait <- struct{}{}:
		default:
		}
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *hookReceiver) next(t testing.TB) receivedHook {
	t.Helper()
	select {
	case <-r.wait:
	case <-time.After(10 * time.Second):
		t.Fatal("no webhook arrived within 10s")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.got[len(r.got)-1]
}

// TestWebhookDeliveredSigned: a payment's event arrives at the endpoint,
// signed with its secret by the Standard Webhooks rules.
func TestWebhookDeliveredSigned(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *ent.Client) {
		ts := startServer(t, db, allowLocalWebhooks)
		key := headers("Authorization", ts.firstKeyAuth())
		rcv := newHookReceiver(t, http.StatusOK)
		ep := mustOK[*paymuxv1.CreateWebhookEndpointResponse](t, callConnect(t, ts, createWebhookEndpoint(&paymuxv1.CreateWebhookEndpointRequest{
			Url: rcv.URL + "/hooks", EventTypes: []string{"payment.paid"},
		}), key))
		secret, err := webhook.ParseSecret(ep.GetSecret())
		if err != nil {
			t.Fatal(err)
		}
		mustOK[*paymuxv1.CreateInstantPaymentResponse](t, callConnect(t, ts, instantPayment(&paymuxv1.CreateInstantPaymentRequest{
			MerchantPaymentId: merchantID("hook"), OrderName: "hook", Amount: amount(1000),
			Method: &paymuxv1.CreateInstantPaymentRequest_Card{Card: testCard(sandbox.CardSuccess)},
		}), key))
		got := rcv.next(t)
		if err := webhook.Verify(secret, got.header, got.body, time.Now(), 0); err != nil {
			t.Fatalf("signature: %v (headers %v)", err, got.header)
		}
	})
}
