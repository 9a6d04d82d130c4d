package server_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/proto"

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

// ---- helpers for the Log API tests below -------------------------------------

// lgListRPC is ListLogs with its REST mapping (GET /v1/logs?...).
func lgListRPC(req *paymuxv1.ListLogsRequest) rpc {
	v := url.Values{}
	set := func(k, val string) {
		if val != "" {
			v.Set(k, val)
		}
	}
	set("storeId", req.GetStoreId())
	if req.GetKind() != paymuxv1.LogKind_LOG_KIND_UNSPECIFIED {
		set("kind", req.GetKind().String())
	}
	if t := req.GetStartTime(); t != nil {
		set("startTime", t.AsTime().Format(time.RFC3339Nano))
	}
	if t := req.GetEndTime(); t != nil {
		set("endTime", t.AsTime().Format(time.RFC3339Nano))
	}
	set("method", req.GetMethod())
	if req.GetResult() != paymuxv1.LogResult_LOG_RESULT_UNSPECIFIED {
		set("result", req.GetResult().String())
	}
	set("code", req.GetCode())
	set("merchantPaymentId", req.GetMerchantPaymentId())
	set("paymentId", req.GetPaymentId())
	set("keyId", req.GetKeyId())
	set("clientIp", req.GetClientIp())
	set("requestId", req.GetRequestId())
	if req.GetPageSize() != 0 {
		set("pageSize", itoa(req.GetPageSize()))
	}
	set("pageToken", req.GetPageToken())
	path := "/v1/logs"
	if len(v) > 0 {
		path += "?" + v.Encode()
	}
	return newRPC[paymuxv1.ListLogsRequest, paymuxv1.ListLogsResponse]("/paymux.v1.LogService/ListLogs", http.MethodGet, path, req)
}

// lgGetLogRPC is GetLog (GET /v1/logs/{id}).
func lgGetLogRPC(id string) rpc {
	return newRPC[paymuxv1.GetLogRequest, paymuxv1.GetLogResponse]("/paymux.v1.LogService/GetLog", http.MethodGet,
		"/v1/logs/"+url.PathEscape(id), &paymuxv1.GetLogRequest{Id: id})
}

// lgTimelineRPC is GetPaymentTimeline: GET /v1/payments/{payment_id}/timeline
// by payment id, GET /v1/timeline?merchantPaymentId=... by order number.
func lgTimelineRPC(req *paymuxv1.GetPaymentTimelineRequest) rpc {
	path := "/v1/timeline" + query("merchantPaymentId", req.GetMerchantPaymentId(), "storeId", req.GetStoreId())
	if req.GetPaymentId() != "" {
		path = "/v1/payments/" + url.PathEscape(req.GetPaymentId()) + "/timeline" + query("storeId", req.GetStoreId())
	}
	return newRPC[paymuxv1.GetPaymentTimelineRequest, paymuxv1.GetPaymentTimelineResponse]("/paymux.v1.LogService/GetPaymentTimeline", http.MethodGet, path, req)
}

// lgPages walks every page of req over Connect and returns the entries in
// the order listed and the number of pages.
func lgPages(t testing.TB, ts *testServer, h http.Header, req *paymuxv1.ListLogsRequest) ([]*paymuxv1.LogEntry, int) {
	t.Helper()
	req = proto.CloneOf(req)
	var all []*paymuxv1.LogEntry
	for pages := 1; ; pages++ {
		if pages > 100 {
			t.Fatalf("more than 100 pages of %v", req)
		}
		res, err := lgClient(ts).ListLogs(context.Background(), lgReq(req, h))
		if err != nil {
			t.Fatalf("ListLogs %v: %v", req, err)
		}
		logs := res.Msg.GetLogs()
		if size := int(req.GetPageSize()); size > 0 && len(logs) > size {
			t.Fatalf("page %d holds %d entries, more than page_size %d", pages, len(logs), size)
		}
		all = append(all, logs...)
		if res.Msg.GetNextPageToken() == "" {
			return all, pages
		}
		if len(logs) == 0 {
			t.Fatalf("page %d is empty but has a next page token", pages)
		}
		req.PageToken = res.Msg.GetNextPageToken()
	}
}

// lgAll lists every entry req selects (pages of 100).
func lgAll(t testing.TB, ts *testServer, h http.Header, req *paymuxv1.ListLogsRequest) []*paymuxv1.LogEntry {
	t.Helper()
	req = proto.CloneOf(req)
	req.PageSize = 100
	all, _ := lgPages(t, ts, h, req)
	return all
}

func lgIDs(entries []*paymuxv1.LogEntry) []string {
	ids := []string{}
	for _, e := range entries {
		ids = append(ids, e.GetId())
	}
	return ids
}

// lgRequestIDs counts the entries of each request id.
func lgRequestIDs(entries []*paymuxv1.LogEntry) map[string]int {
	n := map[string]int{}
	for _, e := range entries {
		n[e.GetRequestId()]++
	}
	return n
}

// lgHasAll is an ok for lgWait: an entry for each request id.
func lgHasAll(rids ...string) func([]*paymuxv1.LogEntry) bool {
	return func(l []*paymuxv1.LogEntry) bool {
		n := lgRequestIDs(l)
		for _, r := range rids {
			if n[r] == 0 {
				return false
			}
		}
		return true
	}
}

// lgNewestFirst fails unless entries are newest first, ties by id
// descending (the order ListLogs promises).
func lgNewestFirst(t testing.TB, entries []*paymuxv1.LogEntry) {
	t.Helper()
	for i := 1; i < len(entries); i++ {
		a, b := entries[i-1], entries[i]
		at, bt := a.GetTime().AsTime(), b.GetTime().AsTime()
		if at.Before(bt) || (at.Equal(bt) && a.GetId() <= b.GetId()) {
			t.Fatalf("not newest first at %d: %s %s (%s) then %s %s (%s)", i, a.GetId(), at, a.GetRequestId(), b.GetId(), bt, b.GetRequestId())
		}
	}
}

// lgCode is a result's code as the call log stores it (NOT_FOUND).
func lgCode(r result) string {
	if r.code == 0 {
		return "OK"
	}
	return strings.ToUpper(r.code.String())
}

// lgSurface is the surface a harness surface is stored as.
var lgSurface = map[string]string{"grpc": "grpc", "connect": "connect", "connect-json": "connect", "grpc-web": "grpcweb", "rest": "rest"}

// lgTimelineKinds names each timeline entry: the API or PG method, the
// status reached, or the webhook's event type.
func lgTimelineKinds(tl *paymuxv1.GetPaymentTimelineResponse) []string {
	var kinds []string
	for _, en := range tl.GetEntries() {
		switch l := en.GetLog(); {
		case en.GetStatusChange() != nil:
			kinds = append(kinds, "status:"+strings.TrimPrefix(en.GetStatusChange().GetToStatus().String(), "PAYMENT_STATUS_"))
		case l.GetKind() == paymuxv1.LogKind_LOG_KIND_API:
			kinds = append(kinds, "api:"+l.GetMethod()[strings.LastIndex(l.GetMethod(), "/")+1:])
		case l.GetKind() == paymuxv1.LogKind_LOG_KIND_PG:
			kinds = append(kinds, "pg:"+l.GetMethod())
		case l.GetKind() == paymuxv1.LogKind_LOG_KIND_WEBHOOK:
			kinds = append(kinds, "webhook:"+l.GetMethod())
		default:
			kinds = append(kinds, "?"+en.String())
		}
	}
	return kinds
}

// ---- 1. every surface, once --------------------------------------------------

// TestLogEachSurfaceOnce: a GetPayment that succeeds and one that fails
// (NOT_FOUND) on each surface, each with its own X-Request-Id, are each
// stored once as an API record with the surface, result, code, reason,
// HTTP status (REST only), method, path (REST only), key and client IP of
// the call; ListLogs and GetLog on the calling surface show the same entry.
func TestLogEachSurfaceOnce(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *ent.Client) {
		ts := startServer(t, db)
		auth := ts.firstKeyAuth()
		key := headers("Authorization", auth)
		p := waPay(t, ts, waConnect(), key, merchantID("lg-surface"))
		const missing = "pay_lgmissing0000"

		type sent struct {
			sf    surface
			rid   string
			found bool
			res   result
		}
		var calls []sent
		var rids []string
		for _, sf := range surfaces {
			for _, found := range []bool{true, false} {
				id, rid := p.GetId(), "lg-sf-"+sf.name+"-ok"
				if !found {
					id, rid = missing, "lg-sf-"+sf.name+"-missing"
				}
				res := sf.call(t, ts, getPayment(id), headers("Authorization", auth, "X-Request-Id", rid))
				if found {
					mustOK[*paymuxv1.GetPaymentResponse](t, res)
				} else {
					wantRefusal(t, res, connect.CodeNotFound, "PAYMENT_NOT_FOUND")
				}
				calls = append(calls, sent{sf, rid, found, res})
				rids = append(rids, rid)
			}
		}

		byMethod := &paymuxv1.ListLogsRequest{Method: "/paymux.v1.PaymentService/GetPayment"}
		lgWait(t, ts, key, byMethod, "a record of every call", lgHasAll(rids...))
		time.Sleep(50 * time.Millisecond) // a second record of a call would be written by now
		logged := lgAll(t, ts, key, byMethod)
		if n := lgRequestIDs(logged); len(n) != len(rids) || len(logged) != len(rids) {
			t.Fatalf("%d records of %d request ids, want one each of %q: %v", len(logged), len(n), rids, n)
		}
		byRID := map[string]*paymuxv1.LogEntry{}
		for _, e := range logged {
			byRID[e.GetRequestId()] = e
		}

		for _, c := range calls {
			t.Run(c.rid, func(t *testing.T) {
				e := byRID[c.rid]
				want := &paymuxv1.LogEntry{
					Id: e.GetId(), Kind: paymuxv1.LogKind_LOG_KIND_API, Time: e.GetTime(), StoreId: ts.First.StoreID, Mode: "TEST",
					RequestId: c.rid, Surface: lgSurface[c.sf.name], Method: "/paymux.v1.PaymentService/GetPayment",
					Result: paymuxv1.LogResult_LOG_RESULT_OK, Code: "OK", KeyId: ts.First.KeyID, ClientIp: "127.0.0.1",
					PaymentId: p.GetId(), MerchantPaymentId: p.GetMerchantPaymentId(), Latency: e.GetLatency(),
				}
				if !c.found {
					want.Result, want.Code, want.Reason, want.Message = paymuxv1.LogResult_LOG_RESULT_ERROR, "NOT_FOUND", "PAYMENT_NOT_FOUND", c.res.message
					want.PaymentId, want.MerchantPaymentId = missing, ""
				}
				if c.sf.name == "rest" {
					want.HttpMethod, want.Path, want.HttpStatus = http.MethodGet, "/v1/payments/"+want.PaymentId, int32(c.res.httpStatus)
					if (c.found && c.res.httpStatus != 200) || (!c.found && c.res.httpStatus != 404) {
						t.Fatalf("REST answered %v", c.res)
					}
				}
				if !strings.HasPrefix(e.GetId(), "log_") || e.GetTime() == nil || e.GetLatency() == nil {
					t.Errorf("id %q, time %v, latency %v", e.GetId(), e.GetTime(), e.GetLatency())
				}
				if !proto.Equal(e, want) {
					t.Errorf("logged\n %v\nwant\n %v", e, want)
				}

				// The same entry, listed and read on the surface that made the call.
				listed := mustOK[*paymuxv1.ListLogsResponse](t, c.sf.call(t, ts, lgListRPC(&paymuxv1.ListLogsRequest{RequestId: c.rid}), key))
				if len(listed.GetLogs()) != 1 || !proto.Equal(listed.GetLogs()[0], e) {
					t.Errorf("%s lists %v, want %v", c.sf.name, listed.GetLogs(), e)
				}
				got := mustOK[*paymuxv1.GetLogResponse](t, c.sf.call(t, ts, lgGetLogRPC(e.GetId()), key)).GetLog()
				summary := proto.CloneOf(got)
				summary.RequestHeaders, summary.RequestBody, summary.ResponseBody = nil, "", ""
				if !proto.Equal(summary, e) {
					t.Errorf("GetLog on %s: %v, want %v", c.sf.name, summary, e)
				}
				if a := waHeader(got.GetRequestHeaders(), "Authorization"); a != "Basic [REDACTED]" {
					t.Errorf("Authorization stored as %q (headers %v)", a, got.GetRequestHeaders())
				}
				if r := waHeader(got.GetRequestHeaders(), "X-Request-Id"); r != c.rid {
					t.Errorf("X-Request-Id stored as %q (headers %v)", r, got.GetRequestHeaders())
				}
				if !strings.Contains(got.GetRequestBody(), want.PaymentId) {
					t.Errorf("request body %q lacks the payment id", got.GetRequestBody())
				}
				if c.found && !strings.Contains(got.GetResponseBody(), p.GetMerchantPaymentId()) {
					t.Errorf("response body %q lacks the payment", got.GetResponseBody())
				}
				if !c.found && !strings.Contains(got.GetResponseBody(), "PAYMENT_NOT_FOUND") {
					t.Errorf("response body %q lacks the error's reason", got.GetResponseBody())
				}
				if s := got.String(); strings.Contains(s, ts.First.SecretKey) || strings.Contains(s, strings.TrimPrefix(auth, "Basic ")) {
					t.Errorf("GetLog shows the credentials: %v", got)
				}
			})
		}
	})
}
