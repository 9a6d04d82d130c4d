package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

type scheduleJSON struct {
	ID                string `json:"id"`
	Status            string `json:"status"`
	MerchantPaymentID string `json:"merchantPaymentId"`
	PaymentID         string `json:"paymentId"`
}

// listSchedules reads every schedule of a billing key with the given
// statuses ("" for all), page by page.
func listSchedules(t *testing.T, s *serveProc, f firstRun, key, statuses string) []scheduleJSON {
	t.Helper()
	var out []scheduleJSON
	token := ""
	for {
		url := s.URL + "/v1/schedules?pageSize=100&billingKeyId=" + key + statuses + "&pageToken=" + token
		st, body := get(t, s.client, url, basic(f.ClientKey, f.SecretKey))
		if st != http.StatusOK {
			t.Fatalf("list schedules: HTTP %d %s", st, body)
		}
		var page struct {
			Schedules     []scheduleJSON `json:"schedules"`
			NextPageToken string         `json:"nextPageToken"`
		}
		if err := json.Unmarshal(body, &page); err != nil {
			t.Fatal(err)
		}
		out = append(out, page.Schedules...)
		if page.NextPageToken == "" {
			return out
		}
		token = page.NextPageToken
	}
}

// TestServeSchedulesSurviveKill: paymux is killed (SIGKILL) while it charges
// a batch of due schedules, and restarted: every schedule ends with exactly
// one payment, none is charged twice, none is left unfinished, and all are
// charged: a charge whose answer the crash lost is settled by asking the
// PG, and one never sent is sent once the PG says it has none.
func TestServeSchedulesSurviveKill(t *testing.T) {
	dataDir := filepath.Join(t.TempDir(), "data")
	env := []string{"PAYMUX_BILLING_POLL_INTERVAL=10ms", "PAYMUX_BILLING_WORKERS=4",
		"PAYMUX_PAYMENTS_PG_TIMEOUT=1s", "PAYMUX_PAYMENTS_SWEEP_INTERVAL=100ms"}
	s := startServe(t, env, "--listen", "127.0.0.1:0", "--data-dir", dataDir)
	f := parseFirstRun(t, s.stdout.String(), s.URL)
	if st := post(t, s, f, "/v1/billing-keys", `{"id":"crash-customer","card":{"number":"9410000000000005","expiryYear":2030,
		"expiryMonth":12,"birthOrBusinessNumber":"900101","passwordTwoDigits":"12"}}`, nil); st != http.StatusOK {
		t.Fatalf("issue billing key: HTTP %d", st)
	}
	const n = 400
	due := time.Now().Add(2 * time.Second).UTC().Format(time.RFC3339Nano)
	for b := 0; b < n/100; b++ {
		var items []string
		for i := b * 100; i < (b+1)*100; i++ {
			items = append(items, fmt.Sprintf(`{"merchantPaymentId":"crash-%03d","payTime":%q,"amount":{"total":1000},"orderName":"plan"}`, i, due))
		}
		if st := post(t, s, f, "/v1/billing-keys/crash-customer/schedules", `{"schedules":[`+strings.Join(items, ",")+`]}`, nil); st != http.StatusOK {
			t.Fatalf("create schedules: HTTP %d", st)
		}
	}
	// Kill paymux once charging is under way and not done.
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(2 * time.Millisecond) {
		done := listSchedules(t, s, f, "crash-customer", "&statuses=SCHEDULE_STATUS_SUCCEEDED")
		if len(done) >= 10 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no schedule charged within 20s\nstderr:\n%s", s.stderr)
		}
	}
	if err := s.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-s.done

	s2 := startServe(t, env, "--listen", "127.0.0.1:0", "--data-dir", dataDir)
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		open := listSchedules(t, s2, f, "crash-customer", "&statuses=SCHEDULE_STATUS_SCHEDULED&statuses=SCHEDULE_STATUS_STARTED")
		if len(open) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d schedules still open 30s after the restart (first: %+v)\nstderr:\n%s", len(open), open[0], s2.stderr)
		}
	}
	all := listSchedules(t, s2, f, "crash-customer", "")
	if len(all) != n {
		t.Fatalf("%d schedules, want %d", len(all), n)
	}
	payments := map[string]string{}
	succeeded := 0
	for _, sc := range all {
		if sc.PaymentID == "" || payments[sc.PaymentID] != "" {
			t.Fatalf("schedule %+v: no payment, or a payment of another schedule", sc)
		}
		payments[sc.PaymentID] = sc.ID
		var p paymentJSON
		st, body := get(t, s2.client, s2.URL+"/v1/payments/"+sc.PaymentID, basic(f.ClientKey, f.SecretKey))
		if st != http.StatusOK {
			t.Fatalf("payment %s: HTTP %d", sc.PaymentID, st)
		}
		if err := json.Unmarshal(body, &p); err != nil {
			t.Fatal(err)
		}
		switch {
		case sc.Status == "SCHEDULE_STATUS_SUCCEEDED" && p.Payment.Status == "PAYMENT_STATUS_PAID":
			succeeded++
		case sc.Status == "SCHEDULE_STATUS_FAILED" && p.Payment.Status == "PAYMENT_STATUS_FAILED":
		default:
			t.Errorf("schedule %s is %s but its payment %s is %s", sc.ID, sc.Status, sc.PaymentID, p.Payment.Status)
		}
	}
	// Every schedule made one payment, and no other payment was made.
	st, body := get(t, s2.client, s2.URL+"/v1/payments?pageSize=100&query=crash-", basic(f.ClientKey, f.SecretKey))
	if st != http.StatusOK {
		t.Fatalf("list payments: HTTP %d", st)
	}
	var page struct {
		Payments []struct {
			ID string `json:"id"`
		} `json:"payments"`
	}
	if err := json.Unmarshal(body, &page); err != nil {
		t.Fatal(err)
	}
	for _, p := range page.Payments {
		if payments[p.ID] == "" {
			t.Errorf("payment %s belongs to no schedule", p.ID)
		}
	}
	// A schedule the crash caught between its claim and its charge is
	// charged after the restart (the PG, asked first, had no charge for it).
	if succeeded != n {
		t.Errorf("%d of %d schedules charged", succeeded, n)
	}
	s2.stop(t)
}
