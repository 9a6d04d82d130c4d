package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
)

// post sends a JSON body to a REST path with the key and decodes the
// answer into out; it returns the HTTP status.
func post(t *testing.T, s *serveProc, f firstRun, path, body string, out any) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, s.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth(f.ClientKey, f.SecretKey)
	req.Header.Set("Content-Type", "application/json")
	res, err := s.client.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	if out != nil && res.StatusCode == http.StatusOK {
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatalf("POST %s: %v: %s", path, err, raw)
		}
	}
	if res.StatusCode != http.StatusOK {
		t.Logf("POST %s: HTTP %d: %s", path, res.StatusCode, raw)
	}
	return res.StatusCode
}

type paymentJSON struct {
	Payment struct {
		ID      string `json:"id"`
		Status  string `json:"status"`
		Amounts struct {
			Cancellable string `json:"cancellable"`
		} `json:"amounts"`
	} `json:"payment"`
	Window struct {
		CheckoutURL string `json:"checkoutUrl"`
	} `json:"window"`
}

// TestServeSandboxPaymentAcrossRestart is the README's sandbox payment on
// the real binary with zero configuration: a window payment paid by a test
// card through the hosted checkout, confirmed, cancelled in part; then the
// server restarts and the rest is cancelled (the sandbox PG kept its
// state).
func TestServeSandboxPaymentAcrossRestart(t *testing.T) {
	dataDir := filepath.Join(t.TempDir(), "data")
	s := startServe(t, nil, "--listen", "127.0.0.1:0", "--data-dir", dataDir)
	f := parseFirstRun(t, s.stdout.String(), s.URL)

	var created paymentJSON
	if st := post(t, s, f, "/v1/payments", `{"merchantPaymentId":"order-1","orderName":"T-shirt","amount":{"total":30000}}`, &created); st != http.StatusOK {
		t.Fatalf("create payment: HTTP %d", st)
	}
	if !strings.HasPrefix(created.Window.CheckoutURL, s.URL+"/sandbox/checkout/") {
		t.Fatalf("checkout URL %q is not on the server %s", created.Window.CheckoutURL, s.URL)
	}
	// The buyer: the checkout form, then paymux's return page (JSON, as the
	// payment has no return URL).
	res, err := s.client.PostForm(created.Window.CheckoutURL, url.Values{"number": {"9410000000000005"}, "exp_month": {"12"}, "exp_year": {"2030"}})
	if err != nil {
		t.Fatal(err)
	}
	back, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || !bytes.Contains(back, []byte(`"status":"READY"`)) {
		t.Fatalf("window return: HTTP %d %s", res.StatusCode, back)
	}
	var confirmed paymentJSON
	if st := post(t, s, f, "/v1/payments/"+created.Payment.ID+"/confirm", `{"amount":30000}`, &confirmed); st != http.StatusOK || confirmed.Payment.Status != "PAYMENT_STATUS_PAID" {
		t.Fatalf("confirm: HTTP %d %+v", st, confirmed)
	}
	var part paymentJSON
	if st := post(t, s, f, "/v1/payments/"+created.Payment.ID+"/cancel", `{"amount":10000,"reason":"one returned"}`, &part); st != http.StatusOK || part.Payment.Amounts.Cancellable != "20000" {
		t.Fatalf("partial cancel: HTTP %d %+v", st, part)
	}
	s.stop(t)

	s2 := startServe(t, nil, "--listen", "127.0.0.1:0", "--data-dir", dataDir)
	var rest paymentJSON
	if st := post(t, s2, f, "/v1/payments/"+created.Payment.ID+"/cancel", `{"reason":"the rest"}`, &rest); st != http.StatusOK || rest.Payment.Status != "PAYMENT_STATUS_CANCELLED" {
		t.Fatalf("cancel after restart: HTTP %d %+v", st, rest)
	}
	s2.stop(t)
}
