package main

import (
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestServeAPIAndWorkerRoles: an api process and a worker process on one
// PostgreSQL share paymux's work. The api serves the API and runs no
// background work (its events wait); the worker serves only /healthz and
// /metrics and delivers the api's webhooks.
func TestServeAPIAndWorkerRoles(t *testing.T) {
	dsn, _, _ := freshSchema(t, postgresDSN(t))
	masterKey := base64.StdEncoding.EncodeToString([]byte(strings.Repeat("k", 32)))
	env := []string{
		"PAYMUX_DATABASE_DSN=" + dsn,
		"PAYMUX_MASTER_KEY=" + masterKey,
		"PAYMUX_WEBHOOKS_ALLOW_PRIVATE=true",
		"PAYMUX_WEBHOOKS_POLL_INTERVAL=50ms",
	}

	var mu sync.Mutex
	var delivered []string
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		delivered = append(delivered, string(body))
		mu.Unlock()
	}))
	t.Cleanup(rcv.Close)
	deliveries := func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(delivered)
	}

	api := startServe(t, env, "--role", "api", "--listen", "127.0.0.1:0", "--data-dir", filepath.Join(t.TempDir(), "api"))
	f := parseFirstRun(t, api.stdout.String(), api.URL)
	checkKeyWorks(t, api, f)
	var ep struct {
		Endpoint struct{ ID string } `json:"endpoint"`
	}
	if st := post(t, api, f, "/v1/webhook-endpoints", fmt.Sprintf(`{"url":%q,"eventTypes":["payment.paid"]}`, rcv.URL), &ep); st != http.StatusOK {
		t.Fatalf("create endpoint: HTTP %d", st)
	}
	var p paymentJSON
	body := `{"merchantPaymentId":"roles-1","orderName":"roles","amount":{"total":1000},` +
		`"card":{"number":"9410000000000005","expiryYear":2030,"expiryMonth":12,"birthOrBusinessNumber":"900101","passwordTwoDigits":"12"}}`
	if st := post(t, api, f, "/v1/payments/instant", body, &p); st != http.StatusOK || p.Payment.Status != "PAYMENT_STATUS_PAID" {
		t.Fatalf("payment: HTTP %d %+v", st, p)
	}
	// The api runs no dispatcher: the event waits for a worker.
	time.Sleep(time.Second)
	if n := deliveries(); n != 0 {
		t.Fatalf("the api process delivered %d webhooks: it must run no background work", n)
	}

	worker := startServe(t, env, "--role", "worker", "--listen", "127.0.0.1:0", "--data-dir", filepath.Join(t.TempDir(), "worker"))
	if !strings.Contains(worker.stderr.String(), "paymux worker") {
		t.Errorf("the worker does not say it is one:\n%s", worker.stderr)
	}
	for deadline := time.Now().Add(15 * time.Second); deliveries() == 0; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the worker delivered nothing within 15s\nworker stderr:\n%s", worker.stderr)
		}
	}
	mu.Lock()
	if !strings.Contains(delivered[0], p.Payment.ID) || !strings.Contains(delivered[0], "payment.paid") {
		t.Errorf("delivered %s, want payment.paid of %s", delivered[0], p.Payment.ID)
	}
	mu.Unlock()

	// The worker serves operations only.
	// The admin token the api's first run made is the worker's too: it is
	// kept (hashed) in the shared database.
	admin := bearer(f.AdminToken)
	for _, c := range []struct {
		path string
		auth func(*http.Request)
		want int
	}{
		{"/healthz", nil, http.StatusOK},
		{"/metrics", admin, http.StatusOK},
		{"/metrics", nil, http.StatusUnauthorized},
		{"/v1/keys", basic(f.ClientKey, f.SecretKey), http.StatusNotFound},
		{"/openapi.json", nil, http.StatusNotFound},
	} {
		if st, b := get(t, worker.client, worker.URL+c.path, c.auth); st != c.want {
			t.Errorf("worker GET %s: HTTP %d, want %d: %s", c.path, st, c.want, b)
		}
	}
	// The attempt is counted once the receiver's answer is in, a moment
	// after the receiver saw the delivery.
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		st, b := get(t, worker.client, worker.URL+"/metrics", admin)
		if st == http.StatusOK && strings.Contains(string(b), "paymux_webhook_attempts_total") {
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("worker metrics lack the dispatcher's: HTTP %d %s", st, b)
			break
		}
	}
	// The api still serves, and still delivers nothing itself.
	if st, _ := get(t, api.client, api.URL+"/v1/keys", basic(f.ClientKey, f.SecretKey)); st != http.StatusOK {
		t.Errorf("api GET /v1/keys: HTTP %d", st)
	}
	worker.stop(t)
	api.stop(t)
	if n := deliveries(); n != 1 {
		t.Errorf("%d deliveries of one event, want 1", n)
	}
}

// TestServeRejectsUnknownRole: a misspelt role is refused before anything
// starts.
func TestServeRejectsUnknownRole(t *testing.T) {
	_, stderr, code := run(t, nil, "serve", "--role", "workers", "--listen", "127.0.0.1:0", "--data-dir", filepath.Join(t.TempDir(), "d"))
	if code == 0 || !strings.Contains(stderr, `role "workers": want all, api or worker`) {
		t.Fatalf("exit %d, stderr:\n%s", code, stderr)
	}
}
