package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestServeLogsWalkthrough is the README's Logs section on the real binary:
// a payment and a refused one, the refused one found by its order number,
// its masked detail, and the paid one's timeline with its webhook attempt.
func TestServeLogsWalkthrough(t *testing.T) {
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	t.Cleanup(rcv.Close)
	dataDir := filepath.Join(t.TempDir(), "data")
	s := startServe(t, []string{"PAYMUX_WEBHOOKS_ALLOW_PRIVATE=true"}, "--listen", "127.0.0.1:0", "--data-dir", dataDir)
	f := parseFirstRun(t, s.stdout.String(), s.URL)
	key := basic(f.ClientKey, f.SecretKey)

	if st := post(t, s, f, "/v1/webhook-endpoints", `{"url":"`+rcv.URL+`"}`, nil); st != http.StatusOK {
		t.Fatalf("create endpoint: HTTP %d", st)
	}
	var paid paymentJSON
	if st := post(t, s, f, "/v1/payments/instant", `{"merchantPaymentId":"order-20","orderName":"Lamp",
		"amount":{"total":42000},"card":{"number":"9410000000000005","expiryYear":2030,"expiryMonth":12}}`, &paid); st != http.StatusOK {
		t.Fatalf("pay: HTTP %d", st)
	}
	if st := post(t, s, f, "/v1/payments/instant", `{"merchantPaymentId":"order-21","orderName":"Rug",
		"amount":{"total":99000},"card":{"number":"9410000000000518","expiryYear":2030,"expiryMonth":12,"passwordTwoDigits":"12"}}`, nil); st != http.StatusBadRequest {
		t.Fatalf("declined card: HTTP %d, want 400", st)
	}

	type entry struct {
		ID, Kind, Method, Path, Result, Reason, MerchantPaymentID string
		HTTPStatus                                                int
		RequestBody, ResponseBody                                 string
		RequestHeaders                                            map[string]string
	}
	getJSON := func(path string, out any) {
		t.Helper()
		st, body := get(t, s.client, s.URL+path, key)
		if st != http.StatusOK {
			t.Fatalf("GET %s: HTTP %d %s", path, st, body)
		}
		if err := json.Unmarshal(body, out); err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
	}
	var list struct{ Logs []entry }
	for deadline := time.Now().Add(10 * time.Second); len(list.Logs) == 0; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the refused call never showed in the log")
		}
		getJSON("/v1/logs?merchantPaymentId=order-21", &list)
	}
	failed := list.Logs[0]
	if len(list.Logs) != 1 || failed.Result != "LOG_RESULT_ERROR" || failed.HTTPStatus != 400 || failed.Reason != "PG_PROVIDER" ||
		failed.Path != "/v1/payments/instant" || failed.Kind != "LOG_KIND_API" {
		t.Fatalf("order-21's log: %+v", list.Logs)
	}
	var detail struct{ Log entry }
	getJSON("/v1/logs/"+failed.ID, &detail)
	d := detail.Log
	if !strings.Contains(d.RequestBody, "941000******0518") || strings.Contains(d.RequestBody, "9410000000000518") ||
		!strings.Contains(d.RequestBody, `"passwordTwoDigits":"[REDACTED]"`) && !strings.Contains(d.RequestBody, `"passwordTwoDigits": "[REDACTED]"`) ||
		!strings.Contains(d.ResponseBody, "PG_PROVIDER") || d.RequestHeaders["Authorization"] != "Basic [REDACTED]" {
		t.Fatalf("detail of the refused call: %+v", d)
	}

	var timeline struct {
		PaymentID string
		Entries   []struct {
			Time         time.Time
			Log          *entry
			StatusChange *struct{ EventType, ToStatus string }
		}
	}
	var kinds []string
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(strings.Join(kinds, " "), "LOG_KIND_WEBHOOK"); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timeline without its webhook attempt: %v", kinds)
		}
		getJSON("/v1/timeline?merchantPaymentId=order-20", &timeline)
		kinds = kinds[:0]
		for i, e := range timeline.Entries {
			if i > 0 && e.Time.Before(timeline.Entries[i-1].Time) {
				t.Fatalf("timeline out of order at %d: %+v", i, timeline.Entries)
			}
			switch {
			case e.Log != nil:
				kinds = append(kinds, e.Log.Kind+":"+e.Log.Method)
			case e.StatusChange != nil:
				kinds = append(kinds, e.StatusChange.EventType)
			}
		}
	}
	want := []string{"LOG_KIND_API:/paymux.v1.PaymentService/CreateInstantPayment", "payment.ready", "payment.pay_pending",
		"LOG_KIND_PG:sandbox/ChargeKeyIn", "payment.paid", "LOG_KIND_WEBHOOK:payment.paid"}
	if strings.Join(kinds, " ") != strings.Join(want, " ") || timeline.PaymentID != paid.Payment.ID {
		t.Fatalf("timeline of %s: %v\nwant %v", paid.Payment.ID, kinds, want)
	}
	s.stop(t)
}
