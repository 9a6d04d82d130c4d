package server_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"

	"github.com/paymux/paymux/ent"
	paymuxv1 "github.com/paymux/paymux/gen/paymux/v1"
	"github.com/paymux/paymux/gen/paymux/v1/paymuxv1connect"
	"github.com/paymux/paymux/providers/sandbox"
	"github.com/paymux/paymux/tenant"
)

// lgClient is a LogService client on Connect.
func lgClient(ts *testServer) paymuxv1connect.LogServiceClient {
	return paymuxv1connect.NewLogServiceClient(http.DefaultClient, ts.URL)
}

func lgReq[T any](msg *T, h http.Header) *connect.Request[T] {
	r := connect.NewRequest(msg)
	for k, vs := range h {
		r.Header()[k] = vs
	}
	return r
}

// lgWait lists logs until ok holds (the call log is written after the call).
func lgWait(t testing.TB, ts *testServer, h http.Header, req *paymuxv1.ListLogsRequest, what string, ok func([]*paymuxv1.LogEntry) bool) []*paymuxv1.LogEntry {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		res, err := lgClient(ts).ListLogs(context.Background(), lgReq(req, h))
		if err != nil {
			t.Fatalf("ListLogs: %v", err)
		}
		if ok(res.Msg.GetLogs()) {
			return res.Msg.GetLogs()
		}
		if time.Now().After(deadline) {
			t.Fatalf("waiting for %s: got %v", what, res.Msg.GetLogs())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func lgAtLeast(n int) func([]*paymuxv1.LogEntry) bool {
	return func(l []*paymuxv1.LogEntry) bool { return len(l) >= n }
}

// TestCallLogFindFailingCallByOrderNumber is the README's walk-through: a
// payment, a failing one, the failing one found by its order number, its
// masked detail, and the paid one's timeline.
func TestCallLogFindFailingCallByOrderNumber(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *ent.Client) {
		ts := startServer(t, db)
		h := headers("Authorization", ts.firstKeyAuth())
		paid := waPay(t, ts, waConnect(), h, "order-ok")

		declined := &paymuxv1.CreateInstantPaymentRequest{
			MerchantPaymentId: "order-declined", OrderName: "declined order", Amount: amount(1000),
			Method: &paymuxv1.CreateInstantPaymentRequest_Card{Card: testCard(sandbox.CardInsufficientFunds)},
		}
		res := surfaces[4].call(t, ts, instantPayment(declined), h) // REST
		if res.code == 0 {
			t.Fatalf("declined card paid: %v", res)
		}

		logs := lgWait(t, ts, h, &paymuxv1.ListLogsRequest{MerchantPaymentId: "order-declined"}, "the declined call", lgAtLeast(1))
		e := logs[0]
		if e.GetResult() != paymuxv1.LogResult_LOG_RESULT_ERROR || e.GetSurface() != "rest" ||
			e.GetMethod() != "/paymux.v1.PaymentService/CreateInstantPayment" || e.GetPath() != "/v1/payments/instant" ||
			e.GetHttpMethod() != http.MethodPost || e.GetHttpStatus() != int32(res.httpStatus) || e.GetReason() != res.reason {
			t.Errorf("declined call logged as %v; the call answered %v", e, res)
		}
		if e.GetRequestBody() != "" {
			t.Errorf("a list shows bodies: %q", e.GetRequestBody())
		}

		got, err := lgClient(ts).GetLog(context.Background(), lgReq(&paymuxv1.GetLogRequest{Id: e.GetId()}, h))
		if err != nil {
			t.Fatal(err)
		}
		d := got.Msg.GetLog()
		if !strings.Contains(d.GetRequestBody(), "941000") || !strings.Contains(d.GetRequestBody(), "0518") {
			t.Errorf("request body lost the BIN and last 4: %s", d.GetRequestBody())
		}
		for _, secret := range []string{sandbox.CardInsufficientFunds, ts.First.SecretKey} {
			if strings.Contains(d.String(), secret) {
				t.Errorf("detail shows %q: %v", secret, d)
			}
		}
		if !strings.Contains(d.GetResponseBody(), res.reason) {
			t.Errorf("response body lacks the reason %s: %s", res.reason, d.GetResponseBody())
		}
		if a := d.GetRequestHeaders()["Authorization"]; a != "Basic [REDACTED]" {
			t.Errorf("Authorization stored as %q", a)
		}

		// The PG calls of the paid payment, linked to its API call.
		pg := lgWait(t, ts, h, &paymuxv1.ListLogsRequest{Kind: paymuxv1.LogKind_LOG_KIND_PG, PaymentId: paid.GetId()}, "the PG charge", lgAtLeast(1))
		if pg[0].GetMethod() != "sandbox/ChargeKeyIn" || pg[0].GetResult() != paymuxv1.LogResult_LOG_RESULT_OK {
			t.Errorf("PG call logged as %v", pg[0])
		}

		tl, err := lgClient(ts).GetPaymentTimeline(context.Background(), lgReq(&paymuxv1.GetPaymentTimelineRequest{MerchantPaymentId: "order-ok"}, h))
		if err != nil {
			t.Fatal(err)
		}
		var kinds []string
		for _, en := range tl.Msg.GetEntries() {
			switch {
			case en.GetStatusChange() != nil:
				kinds = append(kinds, "status:"+en.GetStatusChange().GetToStatus().String())
			default:
				kinds = append(kinds, en.GetLog().GetKind().String())
			}
		}
		joined := strings.Join(kinds, " ")
		for _, want := range []string{"LOG_KIND_API", "LOG_KIND_PG", "status:PAYMENT_STATUS_PAID"} {
			if !strings.Contains(joined, want) {
				t.Errorf("timeline %s lacks %s", joined, want)
			}
		}

		// Nothing in storage holds the full card numbers.
		rows, err := db.LogRecord.Query().All(tenant.System(context.Background()))
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			all := string(r.RequestBody) + string(r.ResponseBody) + r.Message + r.Path
			for k, v := range r.RequestHeaders {
				all += k + v
			}
			for _, card := range []string{sandbox.CardSuccess, sandbox.CardInsufficientFunds} {
				if strings.Contains(all, card) {
					t.Errorf("log %s (%s) stores card %s", r.ID, r.Method, card)
				}
			}
		}
	})
}
