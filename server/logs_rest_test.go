package server_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/paymux/paymux/ent"
	paymuxv1 "github.com/paymux/paymux/gen/paymux/v1"
)

// TestCallLogRESTRefusedByGateway: REST calls the gateway answers itself
// (a body that is not JSON, no such path) never reach the chain; they are
// in the log too, for the administrator, since nobody was identified.
func TestCallLogRESTRefusedByGateway(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *ent.Client) {
		ts := startServer(t, db)
		h := headers("Authorization", ts.firstKeyAuth(), "Content-Type", "application/json")
		cases := []struct {
			method, path, body string
			status             int
			code, wantMethod   string
		}{
			{http.MethodPost, "/v1/payments/instant", `{"merchantPaymentId": "broken-json", "card": {"number": "9410000000000005"`, 400, "INVALID_ARGUMENT", "/paymux.v1.PaymentService/CreateInstantPayment"},
			{http.MethodGet, "/v1/no-such-thing", "", 404, "NOT_FOUND", "GET /v1/no-such-thing"},
		}
		for _, c := range cases {
			resp, _ := rawHTTP(t, http.DefaultClient, c.method, ts.URL+c.path, strings.NewReader(c.body), h)
			if resp.StatusCode != c.status {
				t.Fatalf("%s %s: HTTP %d, want %d", c.method, c.path, resp.StatusCode, c.status)
			}
			id := resp.Header.Get("X-Request-Id")
			admin := headers("Authorization", ts.adminAuth())
			logs := lgWait(t, ts, admin, &paymuxv1.ListLogsRequest{RequestId: id}, "the refused call", lgAtLeast(1))
			e := logs[0]
			if len(logs) != 1 || e.GetStoreId() != "" || e.GetSurface() != "rest" || e.GetHttpStatus() != int32(c.status) ||
				e.GetCode() != c.code || e.GetMethod() != c.wantMethod || e.GetPath() != c.path || e.GetClientIp() != "127.0.0.1" {
				t.Errorf("%s %s logged as %v", c.method, c.path, logs)
			}
			// The store's own key does not see it: it names no store.
			own := lgWait(t, ts, headers("Authorization", ts.firstKeyAuth()), &paymuxv1.ListLogsRequest{RequestId: id}, "nothing", lgAtLeast(0))
			if len(own) != 0 {
				t.Errorf("a store key sees a call nobody was identified for: %v", own)
			}
		}
	})
}
