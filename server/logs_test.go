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
	"google.golang.org/protobuf/types/known/timestamppb"

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

// ---- 2. filters and pages ----------------------------------------------------

// TestLogFilters: each ListLogs filter narrows to exactly the records it
// names (time range, kind, method as a procedure, a bare name, a REST path
// with and without a query, a PG operation; result; code and reason;
// merchant and paymux payment ids; key; client IP; request id), on Connect
// and REST; and pages of 2 walk every record once, newest first.
func TestLogFilters(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *ent.Client) {
		ts := startServer(t, db, func(c *configT) { c.TrustedProxies = []string{"127.0.0.1"} })
		keyA, keyAID := ts.firstKeyAuth(), ts.First.KeyID
		b := newKey(t, ts, "lg-filter-b", paymuxv1.AuthMethod_AUTH_METHOD_BASIC, paymuxv1.Mode_MODE_TEST, nil)
		keyB, keyBID := keyAuth(b), b.GetKey().GetId()
		const (
			midPaid, midDeclined = "lg-f-paid", "lg-f-declined"
			missing              = "pay_lgmissing0000"
			nearIP, farIP        = "198.51.100.7", "203.0.113.9"
		)

		// What each call is, as the test knows it (not as the log says).
		type call struct {
			rid, method, path, key, ip, mid, pid, code, reason string
			pg                                                 []string // the PG operations it made
		}
		var calls []call
		// Every call says where it comes from: the server trusts the
		// loopback proxy's X-Forwarded-For.
		do := func(sf surface, r rpc, key, xff string, c call) result {
			t.Helper()
			c.ip = xff
			time.Sleep(2 * time.Millisecond) // distinct times, so the order is the calls'
			res := sf.call(t, ts, r, headers("Authorization", key, "X-Request-Id", c.rid, "X-Forwarded-For", xff))
			c.method, c.code, c.reason = r.procedure, lgCode(res), res.reason
			if sf.name == "rest" {
				c.path = r.httpPath
			}
			calls = append(calls, c)
			return res
		}

		time.Sleep(5 * time.Millisecond)
		t0 := ts.Clock.Now()
		paid := mustOK[*paymuxv1.CreateInstantPaymentResponse](t, do(surfaces[1], instantPayment(waCardRequest(midPaid)), keyA, nearIP,
			call{rid: "lg-f-pay", key: keyAID, mid: midPaid, pg: []string{"sandbox/ChargeKeyIn"}})).GetPayment()
		pid := paid.GetId()
		calls[0].pid = pid
		declined := &paymuxv1.CreateInstantPaymentRequest{
			MerchantPaymentId: midDeclined, OrderName: "declined order", Amount: amount(1000),
			Method: &paymuxv1.CreateInstantPaymentRequest_Card{Card: testCard(sandbox.CardInsufficientFunds)},
		}
		if res := do(surfaces[4], instantPayment(declined), keyB, nearIP,
			call{rid: "lg-f-declined", key: keyBID, mid: midDeclined, pg: []string{"sandbox/ChargeKeyIn"}}); res.code == 0 {
			t.Fatalf("declined card paid: %v", res)
		}
		mustOK[*paymuxv1.GetPaymentResponse](t, do(surfaces[4], getPayment(pid), keyA, nearIP,
			call{rid: "lg-f-get-rest", key: keyAID, mid: midPaid, pid: pid}))
		wantRefusal(t, do(surfaces[0], getPayment(missing), keyA, nearIP,
			call{rid: "lg-f-missing", key: keyAID, pid: missing}), connect.CodeNotFound, "PAYMENT_NOT_FOUND")
		mustOK[*paymuxv1.ListPaymentsResponse](t, do(surfaces[4], listPayments(&paymuxv1.ListPaymentsRequest{PageSize: 5}), keyB, nearIP,
			call{rid: "lg-f-list-rest", key: keyBID}))
		mustOK[*paymuxv1.CancelPaymentResponse](t, do(surfaces[2], cancelPayment(&paymuxv1.CancelPaymentRequest{Id: pid, Amount: i64(300), Reason: "lg"}), keyA, nearIP,
			call{rid: "lg-f-cancel", key: keyAID, mid: midPaid, pid: pid, pg: []string{"sandbox/Cancel"}}))
		mustOK[*paymuxv1.ListKeysResponse](t, do(surfaces[3], listKeys(""), keyB, farIP,
			call{rid: "lg-f-keys", key: keyBID}))
		time.Sleep(5 * time.Millisecond)
		t1 := ts.Clock.Now()

		// The declined payment's id, which its error named.
		failed := mustOK[*paymuxv1.GetPaymentResponse](t, callConnect(t, ts, getPaymentByMerchantID("", midDeclined), headers("Authorization", keyA))).GetPayment()
		calls[1].pid = failed.GetId()

		key := headers("Authorization", keyA)
		window := func(req *paymuxv1.ListLogsRequest) *paymuxv1.ListLogsRequest {
			req = proto.CloneOf(req)
			if req.StartTime == nil {
				req.StartTime = timestamppb.New(t0)
			}
			if req.EndTime == nil {
				req.EndTime = timestamppb.New(t1)
			}
			return req
		}
		var rids []string
		nPG := 0
		for _, c := range calls {
			rids = append(rids, c.rid)
			nPG += len(c.pg)
		}
		api := lgWait(t, ts, key, window(&paymuxv1.ListLogsRequest{PageSize: 100}), "every call", lgHasAll(rids...))
		pgKind := window(&paymuxv1.ListLogsRequest{Kind: paymuxv1.LogKind_LOG_KIND_PG, PageSize: 100})
		pg := lgWait(t, ts, key, pgKind, "every PG call", lgAtLeast(nPG))
		time.Sleep(50 * time.Millisecond)
		api = lgAll(t, ts, key, window(&paymuxv1.ListLogsRequest{}))
		pg = lgAll(t, ts, key, pgKind)

		// The records are the calls, newest first, each as it was made.
		var gotRIDs []string
		for _, e := range api {
			gotRIDs = append(gotRIDs, e.GetRequestId())
		}
		var wantRIDs []string
		for i := len(calls) - 1; i >= 0; i-- {
			wantRIDs = append(wantRIDs, calls[i].rid)
		}
		if strings.Join(gotRIDs, " ") != strings.Join(wantRIDs, " ") {
			t.Fatalf("records of %q, want %q", gotRIDs, wantRIDs)
		}
		lgNewestFirst(t, api)
		lgNewestFirst(t, pg)
		callOf := map[string]call{}
		for i, c := range calls {
			callOf[c.rid] = c
			e := api[len(api)-1-i]
			ok := c.code == "OK"
			if e.GetMethod() != c.method || e.GetPath() != c.path || e.GetKeyId() != c.key || e.GetClientIp() != c.ip ||
				e.GetMerchantPaymentId() != c.mid || e.GetPaymentId() != c.pid || e.GetCode() != c.code || e.GetReason() != c.reason ||
				(e.GetResult() == paymuxv1.LogResult_LOG_RESULT_OK) != ok {
				t.Errorf("call %+v logged as %v", c, e)
			}
		}
		// Each PG record names the API call that made it and its payment.
		var gotPG, wantPG []string
		for _, e := range pg {
			gotPG = append(gotPG, e.GetRequestId()+" "+e.GetMethod()+" "+e.GetPaymentId())
		}
		for i := len(calls) - 1; i >= 0; i-- {
			for _, op := range calls[i].pg {
				wantPG = append(wantPG, calls[i].rid+" "+op+" "+calls[i].pid)
			}
		}
		if strings.Join(gotPG, ", ") != strings.Join(wantPG, ", ") {
			t.Fatalf("PG records %q, want %q", gotPG, wantPG)
		}

		rid := func(keep func(c call) bool) func(e *paymuxv1.LogEntry) bool {
			return func(e *paymuxv1.LogEntry) bool { return keep(callOf[e.GetRequestId()]) }
		}
		at := func(e *paymuxv1.LogEntry) time.Time { return e.GetTime().AsTime() }
		// A range from the 2nd oldest record up to (not including) the 2nd newest.
		from, to := api[len(api)-2].GetTime(), api[1].GetTime()
		// Each case: the filter, how many of the records it keeps, and
		// which (by what the test knows of the calls).
		type filterCase struct {
			name string
			req  *paymuxv1.ListLogsRequest
			n    int
			keep func(e *paymuxv1.LogEntry) bool
		}
		cases := []filterCase{
			{"everything", &paymuxv1.ListLogsRequest{}, 7, rid(func(call) bool { return true })},
			{"kind API", &paymuxv1.ListLogsRequest{Kind: paymuxv1.LogKind_LOG_KIND_API}, 7, rid(func(call) bool { return true })},
			{"time range", &paymuxv1.ListLogsRequest{StartTime: from, EndTime: to}, 4, func(e *paymuxv1.LogEntry) bool {
				return !at(e).Before(from.AsTime()) && at(e).Before(to.AsTime())
			}},
			{"procedure", &paymuxv1.ListLogsRequest{Method: "/paymux.v1.PaymentService/GetPayment"}, 2,
				rid(func(c call) bool { return c.method == "/paymux.v1.PaymentService/GetPayment" })},
			{"method name", &paymuxv1.ListLogsRequest{Method: "CreateInstantPayment"}, 2,
				rid(func(c call) bool { return c.method == "/paymux.v1.PaymentService/CreateInstantPayment" })},
			{"part of a method name", &paymuxv1.ListLogsRequest{Method: "Payment"}, 0, rid(func(call) bool { return false })},
			{"REST path", &paymuxv1.ListLogsRequest{Method: "/v1/payments/instant"}, 1, rid(func(c call) bool { return c.rid == "lg-f-declined" })},
			{"REST path with an id", &paymuxv1.ListLogsRequest{Method: "/v1/payments/" + pid}, 1, rid(func(c call) bool { return c.rid == "lg-f-get-rest" })},
			{"REST path called with a query", &paymuxv1.ListLogsRequest{Method: "/v1/payments"}, 1, rid(func(c call) bool { return c.rid == "lg-f-list-rest" })},
			{"result OK", &paymuxv1.ListLogsRequest{Result: paymuxv1.LogResult_LOG_RESULT_OK}, 5, rid(func(c call) bool { return c.code == "OK" })},
			{"result ERROR", &paymuxv1.ListLogsRequest{Result: paymuxv1.LogResult_LOG_RESULT_ERROR}, 2, rid(func(c call) bool { return c.code != "OK" })},
			{"code", &paymuxv1.ListLogsRequest{Code: "NOT_FOUND"}, 1, rid(func(c call) bool { return c.rid == "lg-f-missing" })},
			{"reason", &paymuxv1.ListLogsRequest{Code: "PAYMENT_NOT_FOUND"}, 1, rid(func(c call) bool { return c.rid == "lg-f-missing" })},
			{"declined's code", &paymuxv1.ListLogsRequest{Code: callOf["lg-f-declined"].code}, 1, rid(func(c call) bool { return c.rid == "lg-f-declined" })},
			{"declined's reason", &paymuxv1.ListLogsRequest{Code: callOf["lg-f-declined"].reason}, 1, rid(func(c call) bool { return c.rid == "lg-f-declined" })},
			{"merchant payment id", &paymuxv1.ListLogsRequest{MerchantPaymentId: midPaid}, 3, rid(func(c call) bool { return c.mid == midPaid })},
			{"declined merchant payment id", &paymuxv1.ListLogsRequest{MerchantPaymentId: midDeclined}, 1, rid(func(c call) bool { return c.mid == midDeclined })},
			{"payment id", &paymuxv1.ListLogsRequest{PaymentId: pid}, 3, rid(func(c call) bool { return c.pid == pid })},
			{"failed payment id", &paymuxv1.ListLogsRequest{PaymentId: failed.GetId()}, 1, rid(func(c call) bool { return c.rid == "lg-f-declined" })},
			{"key", &paymuxv1.ListLogsRequest{KeyId: keyBID}, 3, rid(func(c call) bool { return c.key == keyBID })},
			{"client IP", &paymuxv1.ListLogsRequest{ClientIp: farIP}, 1, rid(func(c call) bool { return c.ip == farIP })},
			{"other client IP", &paymuxv1.ListLogsRequest{ClientIp: nearIP}, 6, rid(func(c call) bool { return c.ip == nearIP })},
			{"request id", &paymuxv1.ListLogsRequest{RequestId: "lg-f-missing"}, 1, rid(func(c call) bool { return c.rid == "lg-f-missing" })},
			{"key and result", &paymuxv1.ListLogsRequest{KeyId: keyBID, Result: paymuxv1.LogResult_LOG_RESULT_ERROR}, 1,
				rid(func(c call) bool { return c.key == keyBID && c.code != "OK" })},
			{"no such key", &paymuxv1.ListLogsRequest{KeyId: "key_nosuchkey"}, 0, rid(func(call) bool { return false })},
		}
		pgOp := func(op string) func(e *paymuxv1.LogEntry) bool {
			return func(e *paymuxv1.LogEntry) bool { return e.GetMethod() == op }
		}
		pgCases := []filterCase{
			{"PG", &paymuxv1.ListLogsRequest{}, 3, func(*paymuxv1.LogEntry) bool { return true }},
			{"PG operation", &paymuxv1.ListLogsRequest{Method: "ChargeKeyIn"}, 2, pgOp("sandbox/ChargeKeyIn")},
			{"PG provider/operation", &paymuxv1.ListLogsRequest{Method: "sandbox/Cancel"}, 1, pgOp("sandbox/Cancel")},
			{"PG operation Cancel", &paymuxv1.ListLogsRequest{Method: "Cancel"}, 1, pgOp("sandbox/Cancel")},
			{"PG error", &paymuxv1.ListLogsRequest{Result: paymuxv1.LogResult_LOG_RESULT_ERROR}, 1,
				func(e *paymuxv1.LogEntry) bool { return e.GetRequestId() == "lg-f-declined" }},
			{"PG error kind", &paymuxv1.ListLogsRequest{Code: "DECLINED"}, 1,
				func(e *paymuxv1.LogEntry) bool { return e.GetRequestId() == "lg-f-declined" }},
			{"PG payment", &paymuxv1.ListLogsRequest{PaymentId: pid}, 2, func(e *paymuxv1.LogEntry) bool { return e.GetPaymentId() == pid }},
			{"PG request id", &paymuxv1.ListLogsRequest{RequestId: "lg-f-cancel"}, 1, pgOp("sandbox/Cancel")},
			{"PG key (none)", &paymuxv1.ListLogsRequest{KeyId: keyAID}, 0, func(*paymuxv1.LogEntry) bool { return false }},
		}
		for _, c := range pgCases {
			c.req.Kind = paymuxv1.LogKind_LOG_KIND_PG
			cases = append(cases, c)
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				from := api
				if c.req.GetKind() == paymuxv1.LogKind_LOG_KIND_PG {
					from = pg
				}
				var want []string
				for _, e := range from {
					if c.keep(e) {
						want = append(want, e.GetId())
					}
				}
				if len(want) != c.n {
					t.Fatalf("the test expects %d records, its predicate keeps %d", c.n, len(want))
				}
				if c.n == len(from) && c.name != "everything" && c.name != "kind API" && c.name != "PG" {
					t.Fatalf("the filter keeps everything: it narrows nothing")
				}
				req := window(c.req)
				req.PageSize = 100
				for _, sf := range []surface{surfaces[1], surfaces[4]} {
					got := mustOK[*paymuxv1.ListLogsResponse](t, sf.call(t, ts, lgListRPC(req), key))
					if ids := lgIDs(got.GetLogs()); strings.Join(ids, " ") != strings.Join(want, " ") {
						t.Errorf("%s: %v lists %q, want %q", sf.name, req, ids, want)
					}
				}
			})
		}

		// Pages of 2 walk every record once, newest first.
		for _, kind := range []paymuxv1.LogKind{paymuxv1.LogKind_LOG_KIND_API, paymuxv1.LogKind_LOG_KIND_PG} {
			want := api
			if kind == paymuxv1.LogKind_LOG_KIND_PG {
				want = pg
			}
			paged, pages := lgPages(t, ts, key, window(&paymuxv1.ListLogsRequest{Kind: kind, PageSize: 2}))
			if strings.Join(lgIDs(paged), " ") != strings.Join(lgIDs(want), " ") || pages != (len(want)+1)/2 {
				t.Errorf("%s: %d pages of 2 list %q, want %d pages listing %q", kind, pages, lgIDs(paged), (len(want)+1)/2, lgIDs(want))
			}
		}
		// And without a window: the records written meanwhile (these very
		// ListLogs calls) do not push a record onto two pages.
		paged, _ := lgPages(t, ts, key, &paymuxv1.ListLogsRequest{PageSize: 2})
		lgNewestFirst(t, paged)
		seen := map[string]bool{}
		for _, e := range paged {
			if seen[e.GetId()] {
				t.Fatalf("%s listed twice", e.GetId())
			}
			seen[e.GetId()] = true
		}
		for _, e := range api {
			if !seen[e.GetId()] {
				t.Errorf("%s (%s) not on any page", e.GetId(), e.GetRequestId())
			}
		}
	})
}

// ---- 3. a payment's timeline -------------------------------------------------

// TestLogTimelineOrder: a card payment with a webhook endpoint, paid and
// then partly cancelled. Its timeline, by payment id and by order number
// on every surface, holds its API calls, its PG calls, its status changes
// and the webhook attempts, in time order; a webhook entry's detail shows
// masked bodies; webhook attempts are listed apart (kind WEBHOOK), never
// with the API calls.
func TestLogTimelineOrder(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *ent.Client) {
		ts := startServer(t, db, allowLocalWebhooks)
		key := headers("Authorization", ts.firstKeyAuth())
		// The endpoint answers with what must not be shown in full.
		answer := `{"received":true,"card_number":"` + sandbox.CardSuccess + `","note":"card ` + sandbox.CardLimitExceeded + `","password":"hunter2"}`
		rcv := waNewReceiver(t, http.StatusOK, answer)
		ep := waCreate(t, ts, key, &paymuxv1.CreateWebhookEndpointRequest{Url: rcv.URL + "/lg", EventTypes: []string{waPaid, "payment.partial_cancelled"}}).GetEndpoint()

		mid := merchantID("lg-timeline")
		p := waPay(t, ts, waConnect(), key, mid)
		waWaitDeliveries(t, ts, key, &paymuxv1.ListWebhookDeliveriesRequest{EndpointId: ep.GetId()}, "the paid webhook", waAll(1, waSucceeded))
		mustOK[*paymuxv1.CancelPaymentResponse](t, surfaces[4].call(t, ts, cancelPayment(&paymuxv1.CancelPaymentRequest{Id: p.GetId(), Amount: i64(400), Reason: "lg partial"}), key))
		waWaitDeliveries(t, ts, key, &paymuxv1.ListWebhookDeliveriesRequest{EndpointId: ep.GetId()}, "the partial cancel webhook", waAll(2, waSucceeded))
		lgWait(t, ts, key, &paymuxv1.ListLogsRequest{PaymentId: p.GetId()}, "the API calls", lgAtLeast(2))
		lgWait(t, ts, key, &paymuxv1.ListLogsRequest{Kind: paymuxv1.LogKind_LOG_KIND_PG, PaymentId: p.GetId()}, "the PG calls", lgAtLeast(2))
		time.Sleep(50 * time.Millisecond)

		want := []string{
			"api:CreateInstantPayment", "status:READY", "status:PAY_PENDING", "pg:sandbox/ChargeKeyIn", "status:PAID", "webhook:payment.paid",
			"api:CancelPayment", "pg:sandbox/Cancel", "status:PARTIAL_CANCELLED", "webhook:payment.partial_cancelled",
		}
		var first *paymuxv1.GetPaymentTimelineResponse
		for _, by := range []*paymuxv1.GetPaymentTimelineRequest{{PaymentId: p.GetId()}, {MerchantPaymentId: mid}} {
			for _, sf := range surfaces {
				tl := mustOK[*paymuxv1.GetPaymentTimelineResponse](t, sf.call(t, ts, lgTimelineRPC(by), key))
				if got := lgTimelineKinds(tl); strings.Join(got, " ") != strings.Join(want, " ") {
					t.Fatalf("%s: timeline by %v is\n %q, want\n %q", sf.name, by, got, want)
				}
				if tl.GetPaymentId() != p.GetId() || tl.GetMerchantPaymentId() != mid || tl.GetTruncated() {
					t.Errorf("%s: timeline of %s/%s (truncated %v)", sf.name, tl.GetPaymentId(), tl.GetMerchantPaymentId(), tl.GetTruncated())
				}
				for i := 1; i < len(tl.GetEntries()); i++ {
					if a, b := tl.GetEntries()[i-1].GetTime().AsTime(), tl.GetEntries()[i].GetTime().AsTime(); b.Before(a) {
						t.Errorf("%s: entry %d at %s comes after one at %s", sf.name, i, b, a)
					}
				}
				if first == nil {
					first = tl
				} else if !proto.Equal(tl, first) {
					t.Errorf("%s: timeline by %v differs:\n %v\nwant\n %v", sf.name, by, tl, first)
				}
			}
		}

		// Each entry is what happened: the calls' results, the PG calls
		// linked to their API calls, the status changes' events, the
		// webhook attempts' endpoint and answer.
		entries := first.GetEntries()
		createCall, charge, cancelCall, cancel := entries[0].GetLog(), entries[3].GetLog(), entries[6].GetLog(), entries[7].GetLog()
		if charge.GetRequestId() != createCall.GetRequestId() || cancel.GetRequestId() != cancelCall.GetRequestId() || createCall.GetRequestId() == cancelCall.GetRequestId() {
			t.Errorf("PG calls %s, %s not linked to their API calls %s, %s", charge.GetRequestId(), cancel.GetRequestId(), createCall.GetRequestId(), cancelCall.GetRequestId())
		}
		if cancelCall.GetSurface() != "rest" || cancelCall.GetPath() != "/v1/payments/"+p.GetId()+"/cancel" || cancelCall.GetHttpStatus() != 200 ||
			createCall.GetSurface() != "connect" || createCall.GetResult() != paymuxv1.LogResult_LOG_RESULT_OK || charge.GetResult() != paymuxv1.LogResult_LOG_RESULT_OK {
			t.Errorf("calls logged as %v and %v", createCall, cancelCall)
		}
		if paid := entries[4].GetStatusChange(); paid.GetEventType() != waPaid || paid.GetEventId() != waChange(t, ts, key, p.GetId(), "PAID").GetEventId() {
			t.Errorf("status change %v", paid)
		}
		if part := entries[8].GetStatusChange(); part.GetEventType() != "payment.partial_cancelled" || part.GetFromStatus() != paymuxv1.PaymentStatus_PAYMENT_STATUS_PAID {
			t.Errorf("status change %v", part)
		}
		var hooks []*paymuxv1.LogEntry
		for _, i := range []int{5, 9} {
			h := entries[i].GetLog()
			hooks = append(hooks, h)
			if !strings.HasPrefix(h.GetId(), "wha_") || h.GetSurface() != "webhook" || h.GetPath() != rcv.URL+"/lg" || h.GetHttpStatus() != 200 ||
				h.GetResult() != paymuxv1.LogResult_LOG_RESULT_OK || h.GetPaymentId() != p.GetId() || h.GetMerchantPaymentId() != mid || h.GetMode() != "TEST" ||
				h.GetStoreId() != ts.First.StoreID || h.GetRequestBody() != "" {
				t.Errorf("webhook entry %v", h)
			}
		}

		// A webhook entry's detail: the bodies as sent and answered, masked.
		got := mustOK[*paymuxv1.GetLogResponse](t, surfaces[4].call(t, ts, lgGetLogRPC(hooks[0].GetId()), key)).GetLog()
		sent := rcv.hooks()[0]
		if !strings.Contains(got.GetRequestBody(), p.GetId()) || !strings.Contains(got.GetRequestBody(), waPaid) ||
			got.GetRequestBody() != string(sent.body) { // the payload holds no secret: masking leaves it as sent
			t.Errorf("request body %q, sent %q", got.GetRequestBody(), sent.body)
		}
		body := got.GetResponseBody()
		for _, secret := range []string{sandbox.CardSuccess, sandbox.CardLimitExceeded, "hunter2"} {
			if strings.Contains(body, secret) || strings.Contains(got.String(), secret) {
				t.Errorf("webhook entry shows %q: %s", secret, body)
			}
		}
		for _, kept := range []string{"received", "941000", "0005", "0617"} {
			if !strings.Contains(body, kept) {
				t.Errorf("response body %q lost %q", body, kept)
			}
		}
		if waHeader(got.GetResponseHeaders(), "X-Receiver") != "wa" || waHeader(got.GetRequestHeaders(), "webhook-id") != sent.id() {
			t.Errorf("headers %v, %v", got.GetRequestHeaders(), got.GetResponseHeaders())
		}
		summary := proto.CloneOf(got)
		summary.RequestHeaders, summary.ResponseHeaders, summary.RequestBody, summary.ResponseBody = nil, nil, "", ""
		if !proto.Equal(summary, hooks[0]) {
			t.Errorf("GetLog %v, timeline %v", summary, hooks[0])
		}

		// Webhook logs stay apart: kind WEBHOOK lists the attempts only, the
		// default list (API) and the PG list none of them.
		listed := lgAll(t, ts, key, &paymuxv1.ListLogsRequest{Kind: paymuxv1.LogKind_LOG_KIND_WEBHOOK})
		if ids := lgIDs(listed); strings.Join(ids, " ") != hooks[1].GetId()+" "+hooks[0].GetId() {
			t.Errorf("webhook list %q, want %s %s", ids, hooks[1].GetId(), hooks[0].GetId())
		}
		for i, e := range listed {
			if !proto.Equal(e, hooks[1-i]) {
				t.Errorf("webhook list entry %v, timeline %v", e, hooks[1-i])
			}
		}
		byEvent := lgAll(t, ts, key, &paymuxv1.ListLogsRequest{Kind: paymuxv1.LogKind_LOG_KIND_WEBHOOK, Method: waPaid, MerchantPaymentId: mid})
		if ids := lgIDs(byEvent); len(ids) != 1 || ids[0] != hooks[0].GetId() {
			t.Errorf("webhook list by event type lists %q, want %s", ids, hooks[0].GetId())
		}
		for _, kind := range []paymuxv1.LogKind{paymuxv1.LogKind_LOG_KIND_UNSPECIFIED, paymuxv1.LogKind_LOG_KIND_API, paymuxv1.LogKind_LOG_KIND_PG} {
			l := lgAll(t, ts, key, &paymuxv1.ListLogsRequest{Kind: kind})
			if len(l) == 0 {
				t.Errorf("%s lists nothing", kind)
			}
			for _, e := range l {
				if strings.HasPrefix(e.GetId(), "wha_") || e.GetKind() == paymuxv1.LogKind_LOG_KIND_WEBHOOK ||
					(kind == paymuxv1.LogKind_LOG_KIND_PG) != (e.GetKind() == paymuxv1.LogKind_LOG_KIND_PG) {
					t.Errorf("%s lists %v", kind, e)
				}
			}
		}
	})
}

// ---- 4. retention ------------------------------------------------------------

// TestLogRetention: with call_log.retention 1h and a fast sweep, records
// older than an hour by the server's clock are purged (API and PG calls
// alike) and the fresh ones kept.
func TestLogRetention(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *ent.Client) {
		ts := startServer(t, db, func(c *configT) {
			c.CallLog.Retention = time.Hour
			c.Payments.SweepInterval = 20 * time.Millisecond
		})
		auth := ts.firstKeyAuth()
		key := headers("Authorization", auth)
		call := func(rid string) {
			t.Helper()
			mustOK[*paymuxv1.ListKeysResponse](t, callConnect(t, ts, listKeys(""), headers("Authorization", auth, "X-Request-Id", rid)))
		}
		old := waPay(t, ts, waConnect(), key, merchantID("lg-retention-old"))
		call("lg-old-1")
		call("lg-old-2")
		lgWait(t, ts, key, &paymuxv1.ListLogsRequest{}, "the old calls", lgHasAll("lg-old-1", "lg-old-2"))
		lgWait(t, ts, key, &paymuxv1.ListLogsRequest{Kind: paymuxv1.LogKind_LOG_KIND_PG, PaymentId: old.GetId()}, "the old PG call", lgAtLeast(1))
		// Sweeps so far kept them: they are younger than an hour.
		time.Sleep(60 * time.Millisecond)
		if n := len(lgAll(t, ts, key, &paymuxv1.ListLogsRequest{PaymentId: old.GetId()})); n != 1 {
			t.Fatalf("%d records of the old payment before any time passed, want 1", n)
		}

		ts.Clock.Advance(2 * time.Hour)
		call("lg-new-1")
		fresh := waPay(t, ts, waConnect(), key, merchantID("lg-retention-new"))
		call("lg-new-2")
		lgWait(t, ts, key, &paymuxv1.ListLogsRequest{}, "the old calls purged", func(l []*paymuxv1.LogEntry) bool {
			n := lgRequestIDs(l)
			return n["lg-old-1"] == 0 && n["lg-old-2"] == 0 && n["lg-new-1"] == 1 && n["lg-new-2"] == 1
		})
		time.Sleep(60 * time.Millisecond) // a few more sweeps
		all := lgAll(t, ts, key, &paymuxv1.ListLogsRequest{})
		if n := lgRequestIDs(all); n["lg-new-1"] != 1 || n["lg-new-2"] != 1 {
			t.Fatalf("fresh records purged: %v", n)
		}
		for _, tc := range []struct {
			req  *paymuxv1.ListLogsRequest
			want int
		}{
			{&paymuxv1.ListLogsRequest{PaymentId: old.GetId()}, 0},
			{&paymuxv1.ListLogsRequest{Kind: paymuxv1.LogKind_LOG_KIND_PG, PaymentId: old.GetId()}, 0},
			{&paymuxv1.ListLogsRequest{PaymentId: fresh.GetId()}, 1},
			{&paymuxv1.ListLogsRequest{Kind: paymuxv1.LogKind_LOG_KIND_PG, PaymentId: fresh.GetId()}, 1},
		} {
			if got := lgAll(t, ts, key, tc.req); len(got) != tc.want {
				t.Errorf("%v lists %d records, want %d: %v", tc.req, len(got), tc.want, got)
			}
		}
		// In storage: nothing older than the retention, by the server's clock.
		cutoff := ts.Clock.Now().Add(-time.Hour)
		rows, err := db.LogRecord.Query().All(tenant.System(context.Background()))
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) < 4 {
			t.Fatalf("%d records left", len(rows))
		}
		for _, r := range rows {
			if r.CreatedAt.Before(cutoff) {
				t.Errorf("record %s (%s %s) of %s outlived the retention (cutoff %s)", r.ID, r.Method, r.RequestID, r.CreatedAt, cutoff)
			}
		}
		// The timeline of the purged payment has its status changes only.
		tl := mustOK[*paymuxv1.GetPaymentTimelineResponse](t, callConnect(t, ts, lgTimelineRPC(&paymuxv1.GetPaymentTimelineRequest{PaymentId: old.GetId()}), key))
		for _, e := range tl.GetEntries() {
			if e.GetLog() != nil {
				t.Errorf("purged payment's timeline shows %v", e.GetLog())
			}
		}
	})
}

// ---- 5. who sees what --------------------------------------------------------

// TestLogTenantIsolation: another store's key cannot list, read or build
// a timeline from a store's logs; a TEST key does not see what a LIVE key
// did; the administrator sees every store with store_id empty and one with
// it set; a call refused before authentication belongs to no store and
// only the administrator sees it.
func TestLogTenantIsolation(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *ent.Client) {
		ts := startServer(t, db)
		testAuth := ts.firstKeyAuth()
		testKey := headers("Authorization", testAuth)
		liveAuth := liveKeyAuth(t, ts)
		liveKey := headers("Authorization", liveAuth)
		other, otherKey := waOtherStore(t, ts)
		mustOK[*paymuxv1.CreateChannelResponse](t, callConnect(t, ts, createChannel(sandboxChannel("", "lg other")), otherKey))
		admin := headers("Authorization", ts.adminAuth())
		with := func(auth, rid string) http.Header { return headers("Authorization", auth, "X-Request-Id", rid) }

		mid := merchantID("lg-iso")
		p := mustOK[*paymuxv1.CreateInstantPaymentResponse](t, callConnect(t, ts, instantPayment(waCardRequest(mid)), with(testAuth, "lg-iso-test"))).GetPayment()
		mustOK[*paymuxv1.ListKeysResponse](t, callConnect(t, ts, listKeys(""), with(liveAuth, "lg-iso-live")))
		otherPay := mustOK[*paymuxv1.CreateInstantPaymentResponse](t, callConnect(t, ts, instantPayment(waCardRequest(mid)), // the same order number
			headers("Authorization", otherKey.Get("Authorization"), "X-Request-Id", "lg-iso-other"))).GetPayment()
		// No credentials, and credentials nobody has: refused before anyone is known.
		wantRefusal(t, callConnect(t, ts, listKeys(""), headers("X-Request-Id", "lg-iso-anon")), connect.CodeUnauthenticated, "CREDENTIALS_MISSING")
		if res := surfaces[4].call(t, ts, listKeys(""), with(basicAuth("ck_test_nobody", "sk_test_nobody"), "lg-iso-bad")); res.code != connect.CodeUnauthenticated {
			t.Fatalf("unknown key: %v", res)
		}

		rids := []string{"lg-iso-test", "lg-iso-live", "lg-iso-other", "lg-iso-anon", "lg-iso-bad"}
		everything := lgWait(t, ts, admin, &paymuxv1.ListLogsRequest{PageSize: 100}, "every call", lgHasAll(rids...))
		lgWait(t, ts, admin, &paymuxv1.ListLogsRequest{Kind: paymuxv1.LogKind_LOG_KIND_PG}, "both PG calls", lgAtLeast(2))
		rec := map[string]*paymuxv1.LogEntry{}
		for _, e := range everything {
			if _, dup := rec[e.GetRequestId()]; !dup {
				rec[e.GetRequestId()] = e
			}
		}
		for rid, want := range map[string][2]string{ // store, mode
			"lg-iso-test": {ts.First.StoreID, "TEST"}, "lg-iso-live": {ts.First.StoreID, "LIVE"}, "lg-iso-other": {other.GetId(), "TEST"},
			"lg-iso-anon": {"", ""}, "lg-iso-bad": {"", ""},
		} {
			if e := rec[rid]; e.GetStoreId() != want[0] || e.GetMode() != want[1] || e.GetKeyId() != "" && want[0] == "" {
				t.Errorf("%s stored for store %q mode %q key %q, want store %q mode %q", rid, e.GetStoreId(), e.GetMode(), e.GetKeyId(), want[0], want[1])
			}
		}
		if e := rec["lg-iso-anon"]; e.GetCode() != "UNAUTHENTICATED" || e.GetReason() != "CREDENTIALS_MISSING" || e.GetClientIp() != "127.0.0.1" {
			t.Errorf("refused call logged as %v", e)
		}
		if e := rec["lg-iso-bad"]; e.GetSurface() != "rest" || e.GetHttpStatus() != 401 || e.GetCode() != "UNAUTHENTICATED" {
			t.Errorf("refused REST call logged as %v", e)
		}

		// visible lists which of rids a caller's ListLogs (all pages) shows.
		visible := func(h http.Header, req *paymuxv1.ListLogsRequest) []string {
			t.Helper()
			n := lgRequestIDs(lgAll(t, ts, h, req))
			var seen []string
			for _, r := range rids {
				if n[r] > 0 {
					seen = append(seen, r)
				}
			}
			return seen
		}
		for _, tc := range []struct {
			who  string
			h    http.Header
			req  *paymuxv1.ListLogsRequest
			want []string
		}{
			{"TEST key", testKey, &paymuxv1.ListLogsRequest{}, []string{"lg-iso-test"}},
			{"LIVE key", liveKey, &paymuxv1.ListLogsRequest{}, []string{"lg-iso-test", "lg-iso-live"}},
			{"other store", otherKey, &paymuxv1.ListLogsRequest{}, []string{"lg-iso-other"}},
			{"other store by order number", otherKey, &paymuxv1.ListLogsRequest{MerchantPaymentId: mid}, []string{"lg-iso-other"}},
			{"other store by payment id", otherKey, &paymuxv1.ListLogsRequest{PaymentId: p.GetId()}, nil},
			{"other store by request id", otherKey, &paymuxv1.ListLogsRequest{RequestId: "lg-iso-test"}, nil},
			{"admin, every store", admin, &paymuxv1.ListLogsRequest{}, rids},
			{"admin, first store", admin, &paymuxv1.ListLogsRequest{StoreId: ts.First.StoreID}, []string{"lg-iso-test", "lg-iso-live"}},
			{"admin, other store", admin, &paymuxv1.ListLogsRequest{StoreId: other.GetId()}, []string{"lg-iso-other"}},
		} {
			if got := visible(tc.h, tc.req); strings.Join(got, " ") != strings.Join(tc.want, " ") {
				t.Errorf("%s: %v shows %q, want %q", tc.who, tc.req, got, tc.want)
			}
		}
		// The PG calls too: each store sees its own.
		for _, tc := range []struct {
			who  string
			h    http.Header
			req  *paymuxv1.ListLogsRequest
			want []string // payment ids
		}{
			{"first store", testKey, &paymuxv1.ListLogsRequest{}, []string{p.GetId()}},
			{"other store", otherKey, &paymuxv1.ListLogsRequest{}, []string{otherPay.GetId()}},
			{"admin", admin, &paymuxv1.ListLogsRequest{}, []string{otherPay.GetId(), p.GetId()}},
			{"admin, other store", admin, &paymuxv1.ListLogsRequest{StoreId: other.GetId()}, []string{otherPay.GetId()}},
		} {
			tc.req.Kind = paymuxv1.LogKind_LOG_KIND_PG
			var got []string
			for _, e := range lgAll(t, ts, tc.h, tc.req) {
				got = append(got, e.GetPaymentId())
			}
			if strings.Join(got, " ") != strings.Join(tc.want, " ") {
				t.Errorf("%s: PG calls of %q, want %q", tc.who, got, tc.want)
			}
		}

		// Reading one record, or a timeline, of another store: not found.
		for _, rid := range []string{"lg-iso-test", "lg-iso-live", "lg-iso-anon"} {
			for _, sf := range []surface{surfaces[1], surfaces[4]} {
				wantRefusal(t, sf.call(t, ts, lgGetLogRPC(rec[rid].GetId()), otherKey), connect.CodeNotFound, "LOG_NOT_FOUND")
			}
		}
		for _, rid := range []string{"lg-iso-live", "lg-iso-anon", "lg-iso-bad"} {
			wantRefusal(t, callConnect(t, ts, lgGetLogRPC(rec[rid].GetId()), testKey), connect.CodeNotFound, "LOG_NOT_FOUND")
		}
		for _, rid := range []string{"lg-iso-test", "lg-iso-live"} {
			mustOK[*paymuxv1.GetLogResponse](t, callConnect(t, ts, lgGetLogRPC(rec[rid].GetId()), liveKey))
		}
		for _, rid := range rids {
			got := mustOK[*paymuxv1.GetLogResponse](t, callConnect(t, ts, lgGetLogRPC(rec[rid].GetId()), admin)).GetLog()
			if got.GetRequestId() != rid {
				t.Errorf("admin reads %s as %v", rid, got)
			}
		}
		wantRefusal(t, surfaces[4].call(t, ts, lgTimelineRPC(&paymuxv1.GetPaymentTimelineRequest{PaymentId: p.GetId()}), otherKey), connect.CodeNotFound, "PAYMENT_NOT_FOUND")
		otherTL := mustOK[*paymuxv1.GetPaymentTimelineResponse](t, callConnect(t, ts, lgTimelineRPC(&paymuxv1.GetPaymentTimelineRequest{MerchantPaymentId: mid}), otherKey))
		if otherTL.GetPaymentId() != otherPay.GetId() {
			t.Errorf("the other store's timeline of %s is of %s", mid, otherTL.GetPaymentId())
		}
		for _, e := range otherTL.GetEntries() {
			if l := e.GetLog(); l != nil && (l.GetStoreId() != other.GetId() || l.GetPaymentId() == p.GetId()) {
				t.Errorf("the other store's timeline shows %v", l)
			}
		}
		firstTL := mustOK[*paymuxv1.GetPaymentTimelineResponse](t, callConnect(t, ts, lgTimelineRPC(&paymuxv1.GetPaymentTimelineRequest{PaymentId: p.GetId()}), testKey))
		adminTL := mustOK[*paymuxv1.GetPaymentTimelineResponse](t, callConnect(t, ts,
			lgTimelineRPC(&paymuxv1.GetPaymentTimelineRequest{MerchantPaymentId: mid, StoreId: ts.First.StoreID}), admin))
		if len(firstTL.GetEntries()) == 0 || !proto.Equal(firstTL, adminTL) {
			t.Errorf("the store's timeline\n %v\nthe administrator's\n %v", firstTL, adminTL)
		}
		for _, e := range firstTL.GetEntries() {
			if l := e.GetLog(); l != nil && l.GetStoreId() != ts.First.StoreID {
				t.Errorf("the first store's timeline shows %v", l)
			}
		}

		// A key cannot name another store.
		wantRefusal(t, callConnect(t, ts, lgListRPC(&paymuxv1.ListLogsRequest{StoreId: ts.First.StoreID}), otherKey), connect.CodePermissionDenied, "STORE_MISMATCH")
		wantRefusal(t, callConnect(t, ts, lgTimelineRPC(&paymuxv1.GetPaymentTimelineRequest{PaymentId: p.GetId(), StoreId: ts.First.StoreID}), otherKey),
			connect.CodePermissionDenied, "STORE_MISMATCH")
		// Nobody: nothing.
		wantRefusal(t, surfaces[4].call(t, ts, lgListRPC(&paymuxv1.ListLogsRequest{}), nil), connect.CodeUnauthenticated, "CREDENTIALS_MISSING")
	})
}
