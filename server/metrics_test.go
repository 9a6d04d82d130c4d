package server_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	paymuxv1 "github.com/paymux/paymux/gen/paymux/v1"
	"github.com/paymux/paymux/providers/sandbox"
)

// TestMetrics: /metrics is the administrator's; it counts calls by method,
// surface and code, PG calls, webhook attempts by outcome, and the call
// log's records.
func TestMetrics(t *testing.T) {
	ts := startServer(t, openSQLite(t), allowLocalWebhooks)
	key := headers("Authorization", ts.firstKeyAuth())
	rcv := newHookReceiver(t, http.StatusOK)
	mustOK[*paymuxv1.CreateWebhookEndpointResponse](t, callConnect(t, ts, createWebhookEndpoint(&paymuxv1.CreateWebhookEndpointRequest{Url: rcv.URL}), key))
	mustOK[*paymuxv1.CreateInstantPaymentResponse](t, callREST(t, ts, instantPayment(&paymuxv1.CreateInstantPaymentRequest{
		MerchantPaymentId: merchantID("metrics"), OrderName: "m", Amount: amount(1000),
		Method: &paymuxv1.CreateInstantPaymentRequest_Card{Card: testCard(sandbox.CardSuccess)},
	}), key))
	wantRefusal(t, callConnect(t, ts, getPayment("pay_nope"), key), 5, "PAYMENT_NOT_FOUND")
	rcv.next(t)

	for _, auth := range []string{"", ts.firstKeyAuth(), bearer("pma_wrong_token_0123456789abcdef")} {
		resp, _ := rawHTTP(t, http.DefaultClient, http.MethodGet, ts.URL+"/metrics", nil, headers("Authorization", auth))
		if resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("/metrics with %q: HTTP %d, want 401", auth, resp.StatusCode)
		}
	}
	var body string
	for range 50 { // the attempt's outcome is counted once it is written
		req, _ := http.NewRequest(http.MethodGet, ts.URL+"/metrics", nil)
		req.Header.Set("Authorization", ts.adminAuth())
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		body = string(b)
		if strings.Contains(body, `paymux_webhook_attempts_total{outcome="succeeded"} 1`) &&
			!strings.Contains(body, "paymux_log_records_written_total 0") {
			break
		}
	}
	for _, want := range []string{
		`paymux_requests_total{code="ok",procedure="/paymux.v1.PaymentService/CreateInstantPayment",surface="rest"} 1`,
		`paymux_requests_total{code="not_found",procedure="/paymux.v1.PaymentService/GetPayment",surface="connect"} 1`,
		`paymux_request_duration_seconds_count{procedure="/paymux.v1.PaymentService/CreateInstantPayment",surface="rest"} 1`,
		`paymux_webhook_attempts_total{outcome="succeeded"} 1`,
		`paymux_webhook_deliveries_due `,
		`paymux_pg_call_duration_seconds_count{code="OK",operation="ChargeKeyIn",provider="sandbox"} 1`,
		`paymux_log_records_queued `,
		`paymux_schedules_due 0`,
		`paymux_log_records_dropped_total{reason="overload"} 0`,
		`paymux_log_records_written_total `,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}
