package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestServeBillingWalkthrough is the README's Billing section on the real
// binary: a billing key, a charge now, a schedule a moment ahead whose
// result arrives by webhook, and a further schedule revoked.
func TestServeBillingWalkthrough(t *testing.T) {
	var mu sync.Mutex
	var types []string
	var scheduleData string
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var ev struct {
			Type string          `json:"type"`
			Data json.RawMessage `json:"data"`
		}
		_ = json.Unmarshal(body, &ev)
		mu.Lock()
		types = append(types, ev.Type)
		if ev.Type == "billing.schedule.succeeded" {
			scheduleData = string(ev.Data)
		}
		mu.Unlock()
	}))
	t.Cleanup(rcv.Close)
	env := []string{"PAYMUX_WEBHOOKS_ALLOW_PRIVATE=true", "PAYMUX_BILLING_POLL_INTERVAL=100ms"}
	s := startServe(t, env, "--listen", "127.0.0.1:0", "--data-dir", filepath.Join(t.TempDir(), "data"))
	f := parseFirstRun(t, s.stdout.String(), s.URL)
	if st := post(t, s, f, "/v1/webhook-endpoints", `{"url":"`+rcv.URL+`"}`, nil); st != http.StatusOK {
		t.Fatalf("endpoint: HTTP %d", st)
	}

	var key struct {
		BillingKey struct {
			ID, Status string
			Card       struct{ Number string }
		}
	}
	if st := post(t, s, f, "/v1/billing-keys", `{"id":"customer-42","customer":{"name":"Kim","email":"kim@example.com"},
		"card":{"number":"9410000000000005","expiryYear":2030,"expiryMonth":12,"birthOrBusinessNumber":"900101","passwordTwoDigits":"12"}}`, &key); st != http.StatusOK ||
		key.BillingKey.Status != "BILLING_KEY_STATUS_ACTIVE" || key.BillingKey.Card.Number != "941000******0005" {
		t.Fatalf("issue: HTTP %d %+v", st, key)
	}
	var charged struct {
		Payment struct{ ID, Status, BillingKeyID string }
	}
	if st := post(t, s, f, "/v1/billing-keys/customer-42/charge", `{"merchantPaymentId":"sub-2026-11","orderName":"Monthly plan","amount":{"total":9900}}`, &charged); st != http.StatusOK ||
		charged.Payment.Status != "PAYMENT_STATUS_PAID" || charged.Payment.BillingKeyID != "customer-42" {
		t.Fatalf("charge now: HTTP %d %+v", st, charged)
	}

	soon := time.Now().Add(2 * time.Second).UTC().Format(time.RFC3339)
	var created struct{ Schedules []scheduleJSON }
	if st := post(t, s, f, "/v1/billing-keys/customer-42/schedules", `{"schedules":[
		{"merchantPaymentId":"sub-trial-end","payTime":"`+soon+`","amount":{"total":9900},"orderName":"Monthly plan"},
		{"merchantPaymentId":"sub-2026-12","payTime":"2026-12-22T00:00:00Z","amount":{"total":9900},"orderName":"Monthly plan",
		 "retryPolicy":{"interval":"86400s","maxRetries":2}}]}`, &created); st != http.StatusOK || len(created.Schedules) != 2 {
		t.Fatalf("schedules: HTTP %d %+v", st, created)
	}
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		mu.Lock()
		got := scheduleData
		mu.Unlock()
		if got != "" {
			if !strings.Contains(got, created.Schedules[0].ID) || !strings.Contains(got, "SCHEDULE_STATUS_SUCCEEDED") {
				t.Fatalf("billing.schedule.succeeded data: %s", got)
			}
			break
		}
		if time.Now().After(deadline) {
			mu.Lock()
			defer mu.Unlock()
			t.Fatalf("no billing.schedule.succeeded webhook; got %v", types)
		}
	}
	var revoked struct {
		Revoked    []scheduleJSON
		NotRevoked []scheduleJSON
	}
	if st := post(t, s, f, "/v1/schedules/revoke", `{"scheduleIds":{"ids":["`+created.Schedules[1].ID+`"]},"reason":"plan cancelled"}`, &revoked); st != http.StatusOK ||
		len(revoked.Revoked) != 1 || revoked.Revoked[0].Status != "SCHEDULE_STATUS_REVOKED" {
		t.Fatalf("revoke: HTTP %d %+v", st, revoked)
	}
	all := listSchedules(t, s, f, "customer-42", "")
	if len(all) != 2 || all[0].Status != "SCHEDULE_STATUS_SUCCEEDED" || all[1].Status != "SCHEDULE_STATUS_REVOKED" {
		t.Fatalf("schedules at the end: %+v", all)
	}
	s.stop(t)
}
