package server_test

// The delivery engine (webhook/dispatcher.go) against real receivers: retries
// with one webhook-id, Retry-After, 410, redirects, timeouts, a hanging
// endpoint beside a fast one, disabling an endpoint failing too long,
// replicas sharing one PostgreSQL database, and the log's retention.

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"connectrpc.com/connect"

	"github.com/paymux/paymux/app"
	"github.com/paymux/paymux/ent"
	"github.com/paymux/paymux/ent/webhookattempt"
	paymuxv1 "github.com/paymux/paymux/gen/paymux/v1"
	"github.com/paymux/paymux/gen/paymux/v1/paymuxv1connect"
	"github.com/paymux/paymux/providers/sandbox"
	"github.com/paymux/paymux/tenant"
	"github.com/paymux/paymux/webhook"
)

const (
	weSucceeded = paymuxv1.WebhookDeliveryStatus_WEBHOOK_DELIVERY_STATUS_SUCCEEDED
	weFailed    = paymuxv1.WebhookDeliveryStatus_WEBHOOK_DELIVERY_STATUS_FAILED
	wePending   = paymuxv1.WebhookDeliveryStatus_WEBHOOK_DELIVERY_STATUS_PENDING
)

// ---- receivers ------------------------------------------------------------

// weHit is one request a weReceiver got.
type weHit struct {
	n      int // 1-based, in arrival order
	at     time.Time
	header http.Header
	body   []byte
}

func (h weHit) id() string { return h.header.Get(webhook.HeaderID) }

// weAnswer is how a weReceiver answers one request.
type weAnswer struct {
	status   int
	header   map[string]string
	location string // a redirect's target
	hang     bool   // answer nothing until the client gives up or the test ends
	delay    time.Duration
}

func weStatus(code int) func(weHit) weAnswer {
	return func(weHit) weAnswer { return weAnswer{status: code} }
}

// weReceiver is an httptest server that records every request (on arrival)
// and answers as respond says.
type weReceiver struct {
	*httptest.Server
	release chan struct{} // closed at the end of the test: hanging handlers return

	mu          sync.Mutex
	hits        []weHit
	inFlight    int
	maxInFlight int
}

func weNewReceiver(t testing.TB, respond func(weHit) weAnswer) *weReceiver {
	r := &weReceiver{release: make(chan struct{})}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		h := weHit{n: len(r.hits) + 1, at: time.Now(), header: req.Header.Clone(), body: body}
		r.hits = append(r.hits, h)
		r.inFlight++
		r.maxInFlight = max(r.maxInFlight, r.inFlight)
		r.mu.Unlock()
		defer func() {
			r.mu.Lock()
			r.inFlight--
			r.mu.Unlock()
		}()
		a := respond(h)
		if a.hang {
			select {
			case <-req.Context().Done():
				return
			case <-r.release:
				w.WriteHeader(http.StatusServiceUnavailable)
				return
			}
		}
		if a.delay > 0 {
			time.Sleep(a.delay)
		}
		for k, v := range a.header {
			w.Header().Set(k, v)
		}
		if a.location != "" {
			w.Header().Set("Location", a.location)
		}
		w.WriteHeader(a.status)
	}))
	// Cleanups run last first: the hanging handlers are released before
	// Close waits for them.
	t.Cleanup(r.Close)
	t.Cleanup(func() { close(r.release) })
	return r
}

func (r *weReceiver) all() []weHit {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]weHit(nil), r.hits...)
}

func (r *weReceiver) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.hits)
}

// ids counts the requests by webhook-id.
func (r *weReceiver) ids() map[string]int {
	out := map[string]int{}
	for _, h := range r.all() {
		out[h.id()]++
	}
	return out
}

func (r *weReceiver) peakInFlight() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.maxInFlight
}

// ---- calls ----------------------------------------------------------------

func weKey(ts *testServer) http.Header { return headers("Authorization", ts.firstKeyAuth()) }

// weEndpoint registers url for the first store's payment.paid events (one
// event per paid payment) and returns it with its signing key.
func weEndpoint(t testing.TB, ts *testServer, url string) (*paymuxv1.WebhookEndpoint, []byte) {
	t.Helper()
	res := mustOK[*paymuxv1.CreateWebhookEndpointResponse](t, callConnect(t, ts, createWebhookEndpoint(&paymuxv1.CreateWebhookEndpointRequest{
		Url: url, EventTypes: []string{"payment.paid"},
	}), weKey(ts)))
	secret, err := webhook.ParseSecret(res.GetSecret())
	if err != nil {
		t.Fatal(err)
	}
	return res.GetEndpoint(), secret
}

var weCounter atomic.Int64

func weInstant(mid string) *paymuxv1.CreateInstantPaymentRequest {
	return &paymuxv1.CreateInstantPaymentRequest{
		MerchantPaymentId: mid, OrderName: "webhook", Amount: amount(1000),
		Method: &paymuxv1.CreateInstantPaymentRequest_Card{Card: testCard(sandbox.CardSuccess)},
	}
}

// wePay makes a paid key-in payment (one payment.paid event) and returns
// its merchant payment id.
func wePay(t testing.TB, ts *testServer) string {
	t.Helper()
	mid := fmt.Sprintf("we-%d", weCounter.Add(1))
	mustOK[*paymuxv1.CreateInstantPaymentResponse](t, callConnect(t, ts, instantPayment(weInstant(mid)), weKey(ts)))
	return mid
}

// weDeliveries lists an endpoint's deliveries, of one payment when mid is
// set, every page.
func weDeliveries(t testing.TB, ts *testServer, endpointID, mid string) []*paymuxv1.WebhookDelivery {
	t.Helper()
	var out []*paymuxv1.WebhookDelivery
	req := &paymuxv1.ListWebhookDeliveriesRequest{EndpointId: endpointID, MerchantPaymentId: mid, PageSize: 100}
	for {
		res := mustOK[*paymuxv1.ListWebhookDeliveriesResponse](t, callConnect(t, ts, listWebhookDeliveries(req), weKey(ts)))
		out = append(out, res.GetDeliveries()...)
		if res.GetNextPageToken() == "" {
			return out
		}
		req.PageToken = res.GetNextPageToken()
	}
}

// weDelivery reads one delivery with its attempts.
func weDelivery(t testing.TB, ts *testServer, id string) *paymuxv1.WebhookDelivery {
	t.Helper()
	return mustOK[*paymuxv1.GetWebhookDeliveryResponse](t, callConnect(t, ts, getWebhookDelivery(id), weKey(ts))).GetDelivery()
}

// weDeliveryOf is the endpoint's delivery of a payment's event, with its
// attempts; nil while there is none.
func weDeliveryOf(t testing.TB, ts *testServer, endpointID, mid string) *paymuxv1.WebhookDelivery {
	t.Helper()
	list := weDeliveries(t, ts, endpointID, mid)
	switch len(list) {
	case 0:
		return nil
	case 1:
		return weDelivery(t, ts, list[0].GetId())
	}
	t.Fatalf("endpoint %s has %d deliveries of %s, want one", endpointID, len(list), mid)
	return nil
}

func weGetEndpoint(t testing.TB, ts *testServer, id string) *paymuxv1.WebhookEndpoint {
	t.Helper()
	return mustOK[*paymuxv1.GetWebhookEndpointResponse](t, callConnect(t, ts, getWebhookEndpoint(id), weKey(ts))).GetEndpoint()
}

func weResend(t testing.TB, ts *testServer, deliveryID string) {
	t.Helper()
	mustOK[*paymuxv1.ResendWebhooksResponse](t, callConnect(t, ts, resendWebhooks(&paymuxv1.ResendWebhooksRequest{
		Target: &paymuxv1.ResendWebhooksRequest_DeliveryId{DeliveryId: deliveryID},
	}), weKey(ts)))
}

// weEventually polls cond every 10ms until it holds, failing the test
// after within.
func weEventually(t testing.TB, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %s: %s", within, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// weAwait waits for the endpoint's delivery of mid to satisfy cond and
// returns it.
func weAwait(t testing.TB, ts *testServer, endpointID, mid string, what string, cond func(*paymuxv1.WebhookDelivery) bool) *paymuxv1.WebhookDelivery {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		d := weDeliveryOf(t, ts, endpointID, mid)
		if d != nil && cond(d) {
			return d
		}
		if time.Now().After(deadline) {
			t.Fatalf("the delivery of %s to %s is not %s within 10s; last seen: %v (attempts %q)", mid, endpointID, what, d, weAttempts(d))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func weInStatus(st paymuxv1.WebhookDeliveryStatus) func(*paymuxv1.WebhookDelivery) bool {
	return func(d *paymuxv1.WebhookDelivery) bool { return d.GetStatus() == st }
}

// weHeader reads a logged request header whatever its case.
func weHeader(h map[string]string, name string) string {
	for k, v := range h {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return ""
}

// weAttempts summarises a delivery's log: "1:500 2:500 3:200".
func weAttempts(d *paymuxv1.WebhookDelivery) string {
	var parts []string
	for _, a := range d.GetAttempts() {
		parts = append(parts, fmt.Sprintf("%d:%d", a.GetNumber(), a.GetResponseStatus()))
	}
	return strings.Join(parts, " ")
}

// ---- tests ----------------------------------------------------------------

// TestWebhookEngineRetries: a receiver answering 500 twice and then 200
// gets the event on the third attempt; every attempt carries the same
// webhook-id and body, freshly signed at its own time; the log numbers the
// attempts 1..3. One that always fails ends FAILED after exactly the 3
// attempts a two-retry schedule allows.
func TestWebhookEngineRetries(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *ent.Client) {
		ts := startServer(t, db, allowLocalWebhooks, func(c *configT) { c.Webhooks.RetrySchedule = "20ms,20ms" })
		// Each failure moves the server's clock on 2s, so each retry is
		// signed at another webhook-timestamp (whole seconds).
		flaky := weNewReceiver(t, func(h weHit) weAnswer {
			if h.n <= 2 {
				ts.Clock.Advance(2 * time.Second)
				return weAnswer{status: http.StatusInternalServerError}
			}
			return weAnswer{status: http.StatusOK}
		})
		down := weNewReceiver(t, weStatus(http.StatusInternalServerError))
		epFlaky, secret := weEndpoint(t, ts, flaky.URL)
		epDown, _ := weEndpoint(t, ts, down.URL)
		mid := wePay(t, ts)

		d := weAwait(t, ts, epFlaky.GetId(), mid, "SUCCEEDED", weInStatus(weSucceeded))
		if got := weAttempts(d); got != "1:500 2:500 3:200" || d.GetAttemptCount() != 3 || d.GetLastResponseStatus() != 200 || d.GetNextAttemptTime() != nil {
			t.Fatalf("flaky delivery: attempts %q, count %d, last status %d, next %v", got, d.GetAttemptCount(), d.GetLastResponseStatus(), d.GetNextAttemptTime())
		}
		hits := flaky.all()
		if len(hits) != 3 {
			t.Fatalf("flaky receiver got %d requests, want 3", len(hits))
		}
		var lastTS int64
		sigs := map[string]bool{}
		for i, h := range hits {
			if h.id() != d.GetEventId() {
				t.Errorf("request %d: webhook-id %q, want the event id %q", i+1, h.id(), d.GetEventId())
			}
			if string(h.body) != string(hits[0].body) {
				t.Errorf("request %d: body differs from the first:\n%s\n%s", i+1, h.body, hits[0].body)
			}
			if err := webhook.Verify(secret, h.header, h.body, ts.Clock.Now(), time.Minute); err != nil {
				t.Errorf("request %d: %v", i+1, err)
			}
			stamp, err := strconv.ParseInt(h.header.Get(webhook.HeaderTimestamp), 10, 64)
			if err != nil || stamp <= lastTS {
				t.Errorf("request %d: webhook-timestamp %q, want one after %d", i+1, h.header.Get(webhook.HeaderTimestamp), lastTS)
			}
			lastTS = stamp
			sigs[h.header.Get(webhook.HeaderSignature)] = true
		}
		if len(sigs) != 3 {
			t.Errorf("3 attempts carried %d distinct signatures, want 3", len(sigs))
		}
		for i, a := range d.GetAttempts() {
			if a.GetTrigger() != paymuxv1.WebhookTrigger_WEBHOOK_TRIGGER_AUTOMATIC || weHeader(a.GetRequestHeaders(), webhook.HeaderID) != d.GetEventId() ||
				weHeader(a.GetRequestHeaders(), webhook.HeaderTimestamp) != hits[i].header.Get(webhook.HeaderTimestamp) {
				t.Errorf("logged attempt %d: trigger %v, headers %v", a.GetNumber(), a.GetTrigger(), a.GetRequestHeaders())
			}
		}

		failed := weAwait(t, ts, epDown.GetId(), mid, "FAILED", weInStatus(weFailed))
		if got := weAttempts(failed); got != "1:500 2:500 3:500" || failed.GetAttemptCount() != 3 || failed.GetNextAttemptTime() != nil {
			t.Fatalf("failing delivery: attempts %q, count %d, next %v", got, failed.GetAttemptCount(), failed.GetNextAttemptTime())
		}
		time.Sleep(200 * time.Millisecond) // ten poll intervals: no 4th attempt
		if ids := down.ids(); down.count() != 3 || ids[d.GetEventId()] != 3 {
			t.Fatalf("the failing receiver got %d requests (%v), want 3 of event %s", down.count(), ids, d.GetEventId())
		}
	})
}

// TestWebhookEngineRetryAfter: a 429 with Retry-After: 1 puts the next
// attempt at least a second later, in the log as in fact, though the
// schedule says 20ms.
func TestWebhookEngineRetryAfter(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *ent.Client) {
		ts := startServer(t, db, allowLocalWebhooks, func(c *configT) { c.Webhooks.RetrySchedule = "20ms,20ms" })
		rcv := weNewReceiver(t, func(h weHit) weAnswer {
			if h.n == 1 {
				return weAnswer{status: http.StatusTooManyRequests, header: map[string]string{"Retry-After": "1"}}
			}
			return weAnswer{status: http.StatusOK}
		})
		ep, _ := weEndpoint(t, ts, rcv.URL)
		mid := wePay(t, ts)

		waiting := weAwait(t, ts, ep.GetId(), mid, "logging its first attempt", func(d *paymuxv1.WebhookDelivery) bool { return d.GetAttemptCount() >= 1 })
		if waiting.GetStatus() != wePending || len(waiting.GetAttempts()) != 1 {
			t.Fatalf("after the 429: %v, attempts %q (the retry came sooner than Retry-After)", waiting.GetStatus(), weAttempts(waiting))
		}
		a := waiting.GetAttempts()[0]
		if a.GetResponseStatus() != 429 || weHeader(a.GetResponseHeaders(), "Retry-After") != "1" {
			t.Fatalf("logged attempt: status %d, headers %v", a.GetResponseStatus(), a.GetResponseHeaders())
		}
		if gap := waiting.GetNextAttemptTime().AsTime().Sub(a.GetRequestTime().AsTime()); gap < 990*time.Millisecond || gap > 2*time.Second {
			t.Fatalf("next attempt %s after the 429, want about 1s (Retry-After)", gap)
		}

		done := weAwait(t, ts, ep.GetId(), mid, "SUCCEEDED", weInStatus(weSucceeded))
		if got := weAttempts(done); got != "1:429 2:200" {
			t.Fatalf("attempts %q", got)
		}
		hits := rcv.all()
		if gap := hits[1].at.Sub(hits[0].at); gap < 990*time.Millisecond {
			t.Fatalf("the retry came %s after the 429, before its Retry-After: 1", gap)
		}
	})
}

// TestWebhookEngineGoneDisables: a 410 disables the endpoint (the reason
// says so), fails its pending deliveries, and nothing more is sent to it.
func TestWebhookEngineGoneDisables(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *ent.Client) {
		ts := startServer(t, db, allowLocalWebhooks, func(c *configT) { c.Webhooks.RetrySchedule = "1h,1h" })
		var gone atomic.Bool
		rcv := weNewReceiver(t, func(weHit) weAnswer {
			if gone.Load() {
				return weAnswer{status: http.StatusGone}
			}
			return weAnswer{status: http.StatusInternalServerError}
		})
		ep, _ := weEndpoint(t, ts, rcv.URL)
		// Three deliveries failed once, waiting an hour for their retry.
		var waiting []string
		for range 3 {
			mid := wePay(t, ts)
			d := weAwait(t, ts, ep.GetId(), mid, "failing once", func(d *paymuxv1.WebhookDelivery) bool { return d.GetAttemptCount() == 1 })
			if d.GetStatus() != wePending {
				t.Fatalf("after one 500: %v", d.GetStatus())
			}
			waiting = append(waiting, mid)
		}

		gone.Store(true)
		mid := wePay(t, ts)
		d := weAwait(t, ts, ep.GetId(), mid, "FAILED", weInStatus(weFailed))
		if got := weAttempts(d); got != "1:410" {
			t.Fatalf("410 delivery: attempts %q", got)
		}
		got := weGetEndpoint(t, ts, ep.GetId())
		if got.GetEnabled() || !strings.Contains(got.GetDisabledReason(), "410") || got.GetDisableTime() == nil {
			t.Fatalf("after a 410 the endpoint is enabled=%v, reason %q, disabled at %v", got.GetEnabled(), got.GetDisabledReason(), got.GetDisableTime())
		}
		for _, mid := range waiting {
			if d := weDeliveryOf(t, ts, ep.GetId(), mid); d.GetStatus() != weFailed || d.GetAttemptCount() != 1 {
				t.Fatalf("pending delivery of %s after the 410: %v with %d attempts, want FAILED", mid, d.GetStatus(), d.GetAttemptCount())
			}
		}

		// Nothing more: a new event is not queued, and the retries that
		// were due in an hour never come.
		sent := rcv.count()
		later := wePay(t, ts)
		ts.Clock.Advance(3 * time.Hour)
		time.Sleep(200 * time.Millisecond)
		if n := rcv.count(); n != sent || sent != 4 {
			t.Fatalf("the endpoint got %d requests after its 410 (%d before, want 4)", n-sent, sent)
		}
		if d := weDeliveryOf(t, ts, ep.GetId(), later); d != nil {
			t.Fatalf("an event after the 410 was queued for the disabled endpoint: %v", d)
		}
	})
}

// TestWebhookEngineRedirectsNotFollowed: a 302 or 307 is a failed attempt,
// retried like any; the redirect's target never hears of it.
func TestWebhookEngineRedirectsNotFollowed(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *ent.Client) {
		ts := startServer(t, db, allowLocalWebhooks, func(c *configT) { c.Webhooks.RetrySchedule = "20ms" })
		target := weNewReceiver(t, weStatus(http.StatusOK))
		var eps []*paymuxv1.WebhookEndpoint
		var rcvs []*weReceiver
		for _, code := range []int{http.StatusFound, http.StatusTemporaryRedirect} {
			rcv := weNewReceiver(t, func(weHit) weAnswer { return weAnswer{status: code, location: target.URL + "/elsewhere"} })
			ep, _ := weEndpoint(t, ts, rcv.URL)
			eps, rcvs = append(eps, ep), append(rcvs, rcv)
		}
		mid := wePay(t, ts)
		for i, code := range []int{302, 307} {
			d := weAwait(t, ts, eps[i].GetId(), mid, "FAILED", weInStatus(weFailed))
			if got, want := weAttempts(d), fmt.Sprintf("1:%d 2:%d", code, code); got != want || d.GetLastResponseStatus() != int32(code) {
				t.Fatalf("%d: attempts %q, want %q", code, got, want)
			}
			if loc := weHeader(d.GetAttempts()[0].GetResponseHeaders(), "Location"); loc != target.URL+"/elsewhere" {
				t.Fatalf("%d: logged Location %q", code, loc)
			}
		}
		time.Sleep(100 * time.Millisecond)
		if n := target.count(); n != 0 {
			t.Fatalf("the redirect target received %d requests", n)
		}
		for i, rcv := range rcvs {
			if n := rcv.count(); n != 2 {
				t.Fatalf("redirecting endpoint %d got %d requests, want 2", i, n)
			}
		}
	})
}

// TestWebhookEngineTimeout: an endpoint that does not answer within
// webhooks.timeout is a failed attempt, logged with its error, and retried.
func TestWebhookEngineTimeout(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *ent.Client) {
		ts := startServer(t, db, allowLocalWebhooks, func(c *configT) {
			c.Webhooks.Timeout = 200 * time.Millisecond
			c.Webhooks.RetrySchedule = "20ms"
		})
		rcv := weNewReceiver(t, func(h weHit) weAnswer {
			if h.n == 1 {
				return weAnswer{hang: true}
			}
			return weAnswer{status: http.StatusOK}
		})
		ep, _ := weEndpoint(t, ts, rcv.URL)
		mid := wePay(t, ts)
		d := weAwait(t, ts, ep.GetId(), mid, "SUCCEEDED", weInStatus(weSucceeded))
		if got := weAttempts(d); got != "1:0 2:200" {
			t.Fatalf("attempts %q, want a timeout then 200", got)
		}
		first := d.GetAttempts()[0]
		if !strings.Contains(strings.ToLower(first.GetError()), "timeout") {
			t.Fatalf("timed-out attempt logged with error %q", first.GetError())
		}
		if l := first.GetLatency().AsDuration(); l < 150*time.Millisecond || l > 3*time.Second {
			t.Fatalf("timed-out attempt took %s, want about the 200ms timeout", l)
		}
		if d.GetAttempts()[1].GetError() != "" {
			t.Fatalf("second attempt error %q", d.GetAttempts()[1].GetError())
		}
	})
}

// TestWebhookEngineIsolation: an endpoint that never answers holds at most
// its share of the workers; a fast endpoint of the same store gets all 20
// events at once regardless.
func TestWebhookEngineIsolation(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *ent.Client) {
		// Few workers, so that a hanging endpoint taking them all would show.
		ts := startServer(t, db, allowLocalWebhooks, func(c *configT) { c.Webhooks.Workers = 6 })
		hanging := weNewReceiver(t, func(weHit) weAnswer { return weAnswer{hang: true} })
		fast := weNewReceiver(t, weStatus(http.StatusOK))
		weEndpoint(t, ts, hanging.URL)
		weEndpoint(t, ts, fast.URL)
		start := time.Now()
		for range 20 {
			wePay(t, ts)
		}
		paid := time.Now()
		weEventually(t, 3*time.Second, "the fast endpoint receiving 20 events", func() bool { return len(fast.ids()) == 20 })
		t.Logf("20 payments in %s; the fast endpoint had them all %s after the last", paid.Sub(start).Round(time.Millisecond), time.Since(paid).Round(time.Millisecond))
		if n := fast.count(); n != 20 {
			t.Fatalf("the fast endpoint got %d requests for 20 events", n)
		}
		if peak := hanging.peakInFlight(); peak < 1 || peak > 4 {
			t.Fatalf("the hanging endpoint had up to %d requests in flight, want 1 to 4 (the per-endpoint cap)", peak)
		}
	})
}

// TestWebhookEngineRefillsFreedWorkers: a backlog for one endpoint does not
// wait for the poll interval between batches: a worker that finishes takes
// the next due delivery.
func TestWebhookEngineRefillsFreedWorkers(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *ent.Client) {
		ts := startServer(t, db, allowLocalWebhooks, func(c *configT) { c.Webhooks.PollInterval = 5 * time.Second })
		slow := weNewReceiver(t, func(weHit) weAnswer { return weAnswer{status: http.StatusOK, delay: 200 * time.Millisecond} })
		weEndpoint(t, ts, slow.URL)
		for range 20 {
			wePay(t, ts)
		}
		paid := time.Now()
		backlog := 20 - len(slow.ids())
		// 4 in flight at 200ms each: 20 per second. Refilled only at each
		// poll, the backlog would drain by 4 every 5s.
		weEventually(t, 3*time.Second, "20 events through one endpoint", func() bool { return len(slow.ids()) == 20 })
		t.Logf("a backlog of %d drained %s after the last payment", backlog, time.Since(paid).Round(time.Millisecond))
		if backlog < 8 {
			t.Logf("the payments were too slow to build a backlog: the test proves little")
		}
	})
}

// TestWebhookEngineDisablesFailingEndpoint: an endpoint whose every attempt
// has failed for webhooks.disable_after is disabled at its next failure,
// with a reason naming it; one that succeeded meanwhile is not.
func TestWebhookEngineDisablesFailingEndpoint(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *ent.Client) {
		ts := startServer(t, db, allowLocalWebhooks, func(c *configT) {
			c.Webhooks.DisableAfter = time.Minute
			c.Webhooks.RetrySchedule = "1h,1h"
		})
		down := weNewReceiver(t, weStatus(http.StatusInternalServerError))
		flaky := weNewReceiver(t, func(h weHit) weAnswer {
			if h.n == 1 {
				return weAnswer{status: http.StatusInternalServerError}
			}
			return weAnswer{status: http.StatusOK}
		})
		epDown, _ := weEndpoint(t, ts, down.URL)
		epFlaky, _ := weEndpoint(t, ts, flaky.URL)
		mid := wePay(t, ts)
		failedOnce := func(d *paymuxv1.WebhookDelivery) bool { return d.GetAttemptCount() == 1 }
		dDown := weAwait(t, ts, epDown.GetId(), mid, "failing once", failedOnce)
		dFlaky := weAwait(t, ts, epFlaky.GetId(), mid, "failing once", failedOnce)
		for _, id := range []string{epDown.GetId(), epFlaky.GetId()} {
			if ep := weGetEndpoint(t, ts, id); !ep.GetEnabled() || ep.GetFailingSince() == nil {
				t.Fatalf("after one failure: enabled %v, failing since %v", ep.GetEnabled(), ep.GetFailingSince())
			}
		}

		ts.Clock.Advance(2 * time.Minute)
		weResend(t, ts, dDown.GetId())
		weResend(t, ts, dFlaky.GetId())

		d := weAwait(t, ts, epDown.GetId(), mid, "FAILED", weInStatus(weFailed))
		if got := weAttempts(d); got != "1:500 2:500" || d.GetAttempts()[1].GetTrigger() != paymuxv1.WebhookTrigger_WEBHOOK_TRIGGER_RESEND {
			t.Fatalf("attempts %q (second trigger %v)", got, d.GetAttempts()[1].GetTrigger())
		}
		ep := weGetEndpoint(t, ts, epDown.GetId())
		if ep.GetEnabled() || ep.GetDisableTime() == nil || !strings.Contains(ep.GetDisabledReason(), "failed since") ||
			!strings.Contains(ep.GetDisabledReason(), "HTTP 500") {
			t.Fatalf("after failing for 2m: enabled %v, disabled at %v, reason %q (want it to name the failure)", ep.GetEnabled(), ep.GetDisableTime(), ep.GetDisabledReason())
		}

		weAwait(t, ts, epFlaky.GetId(), mid, "SUCCEEDED", weInStatus(weSucceeded))
		if ep := weGetEndpoint(t, ts, epFlaky.GetId()); !ep.GetEnabled() || ep.GetFailingSince() != nil {
			t.Fatalf("the endpoint that recovered: enabled %v, failing since %v", ep.GetEnabled(), ep.GetFailingSince())
		}
	})
}

// TestWebhookEngineSuccessEndsFailingStreak: a success ends an endpoint's
// failing streak even while another attempt, started during the streak, is
// still out: that attempt failing afterwards starts a new streak, it does
// not disable the endpoint for the old one.
func TestWebhookEngineSuccessEndsFailingStreak(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *ent.Client) {
		ts := startServer(t, db, allowLocalWebhooks, func(c *configT) {
			c.Webhooks.DisableAfter = time.Minute
			c.Webhooks.RetrySchedule = "1h,1h"
		})
		var slowMID atomic.Value
		slowMID.Store("")
		rcv := weNewReceiver(t, func(h weHit) weAnswer {
			switch {
			case h.n <= 2: // the streak: both events fail once
				return weAnswer{status: http.StatusInternalServerError}
			case strings.Contains(string(h.body), `"merchantPaymentId":"`+slowMID.Load().(string)+`"`):
				return weAnswer{status: http.StatusInternalServerError, delay: 500 * time.Millisecond}
			}
			return weAnswer{status: http.StatusOK}
		})
		ep, _ := weEndpoint(t, ts, rcv.URL)
		failedOnce := func(d *paymuxv1.WebhookDelivery) bool { return d.GetAttemptCount() == 1 }
		slow, fast := wePay(t, ts), wePay(t, ts)
		slowMID.Store(slow)
		dSlow := weAwait(t, ts, ep.GetId(), slow, "failing once", failedOnce)
		dFast := weAwait(t, ts, ep.GetId(), fast, "failing once", failedOnce)
		streak := weGetEndpoint(t, ts, ep.GetId()).GetFailingSince()
		if streak == nil {
			t.Fatal("no failing streak after two failures")
		}

		ts.Clock.Advance(2 * time.Minute)
		// The slow attempt reads the endpoint (failing for 2m) and waits
		// for its answer; the fast one succeeds meanwhile.
		weResend(t, ts, dSlow.GetId())
		weEventually(t, 5*time.Second, "the slow attempt sent", func() bool { return rcv.count() == 3 })
		weResend(t, ts, dFast.GetId())
		weAwait(t, ts, ep.GetId(), fast, "SUCCEEDED", weInStatus(weSucceeded))
		weAwait(t, ts, ep.GetId(), slow, "failing again", func(d *paymuxv1.WebhookDelivery) bool { return d.GetAttemptCount() == 2 })

		got := weGetEndpoint(t, ts, ep.GetId())
		if !got.GetEnabled() {
			t.Fatalf("disabled (%q) by a failure that came after a success", got.GetDisabledReason())
		}
		if got.GetFailingSince() == nil || !got.GetFailingSince().AsTime().After(streak.AsTime()) {
			t.Fatalf("failing since %v, want a new streak after %v", got.GetFailingSince(), streak)
		}
	})
}

// weStartReplica starts a second server on primary's database, with its
// master key: another replica of the same deployment.
func weStartReplica(t *testing.T, primary *testServer, configure ...func(*configT)) *testServer {
	t.Helper()
	cfg := testConfig(t)
	for _, f := range configure {
		f(&cfg)
	}
	ctx := context.Background()
	adminHash, first, err := app.Bootstrap(ctx, primary.DB, primary.Keyring, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if first.StoreID != "" || first.AdminToken != "" {
		t.Fatalf("the replica ran a first run of its own: %+v", first)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg.PublicURL = "http://" + ln.Addr().String()
	clock := &testClock{}
	sb := sandbox.New(sandbox.Options{Now: clock.Now, CheckoutURL: cfg.PublicURL + "/sandbox/checkout"})
	srv, err := app.New(app.Options{Config: cfg, DB: primary.DB, Keyring: primary.Keyring, AdminTokenHash: adminHash, Now: clock.Now, Logger: discardLogger(), Sandbox: sb})
	if err != nil {
		t.Fatal(err)
	}
	sctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(sctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
		if err := srv.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return &testServer{
		URL: "http://" + ln.Addr().String(), Addr: ln.Addr().String(), AdminToken: primary.AdminToken, First: primary.First,
		DB: primary.DB, Keyring: primary.Keyring, Clock: clock, Server: srv, Sandbox: sb,
	}
}

// TestWebhookEngineReplicas: two servers on one PostgreSQL database share
// the deliveries of 200 events (made through both) without taking the
// same one twice: each arrives exactly once.
func TestWebhookEngineReplicas(t *testing.T) {
	if postgresDSN(t) == "" {
		t.Skip("PAYMUX_TEST_POSTGRES_DSN is not set: replicas share work through PostgreSQL's row locks")
	}
	db := openPostgres(t)
	ts1 := startServer(t, db, allowLocalWebhooks)
	ts2 := weStartReplica(t, ts1, allowLocalWebhooks)
	rcv := weNewReceiver(t, weStatus(http.StatusOK))
	ep, _ := weEndpoint(t, ts1, rcv.URL)

	const events = 200
	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, events)
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < events; i += 8 {
				ts := []*testServer{ts1, ts2}[i%2]
				c := paymuxv1connect.NewPaymentServiceClient(http.DefaultClient, ts.URL)
				req := connect.NewRequest(weInstant(fmt.Sprintf("we-replica-%d", i)))
				req.Header().Set("Authorization", ts.firstKeyAuth())
				if _, err := c.CreateInstantPayment(context.Background(), req); err != nil {
					errs <- fmt.Errorf("payment %d on replica %d: %w", i, i%2+1, err)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	paid := time.Now()
	weEventually(t, 15*time.Second, fmt.Sprintf("%d events delivered", events), func() bool { return len(rcv.ids()) == events })
	delivered := time.Now()
	time.Sleep(300 * time.Millisecond) // a duplicate would still be on its way
	t.Logf("%d payments over two replicas in %s; every event delivered %s after the last", events, paid.Sub(start).Round(time.Millisecond), delivered.Sub(paid).Round(time.Millisecond))
	for id, n := range rcv.ids() {
		if n != 1 {
			t.Errorf("event %s arrived %d times", id, n)
		}
	}
	list := weDeliveries(t, ts2, ep.GetId(), "")
	if len(list) != events {
		t.Fatalf("%d deliveries, want %d", len(list), events)
	}
	for _, d := range list {
		if d.GetStatus() != weSucceeded || d.GetAttemptCount() != 1 {
			t.Errorf("delivery %s: %v after %d attempts, want SUCCEEDED after 1", d.GetId(), d.GetStatus(), d.GetAttemptCount())
		}
	}
}

// TestWebhookEngineRetention: the sweep drops attempts older than
// webhooks.log_retention, and the finished deliveries they belong to;
// newer attempts stay.
func TestWebhookEngineRetention(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *ent.Client) {
		ts := startServer(t, db, allowLocalWebhooks, func(c *configT) {
			c.Webhooks.LogRetention = 48 * time.Hour
			c.Payments.SweepInterval = 20 * time.Millisecond
		})
		rcv := weNewReceiver(t, weStatus(http.StatusOK))
		ep, _ := weEndpoint(t, ts, rcv.URL)
		old := weAwait(t, ts, ep.GetId(), wePay(t, ts), "SUCCEEDED", weInStatus(weSucceeded))
		// A TEST call is logged too, with no delivery.
		mustOK[*paymuxv1.TestWebhookEndpointResponse](t, callConnect(t, ts, testWebhookEndpoint(ep.GetId(), ""), weKey(ts)))
		sys := tenant.System(context.Background())
		attempts := func(q ...func(*ent.WebhookAttemptQuery)) int {
			query := db.WebhookAttempt.Query().Where(webhookattempt.EndpointID(ep.GetId()))
			for _, f := range q {
				f(query)
			}
			n, err := query.Count(sys)
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
		if n := attempts(); n != 2 {
			t.Fatalf("%d attempts logged before the sweep, want 2", n)
		}

		ts.Clock.Advance(49 * time.Hour)
		cutoff := ts.Clock.Now().Add(-time.Second)
		wePay(t, ts)
		// Not waited for through the API: the delivery row is stamped with
		// the wall clock (ent's updated_at), which this test's moved server
		// clock makes look 49h old, so the sweep may drop the row itself at
		// once. Attempts carry the server's clock.
		weEventually(t, 10*time.Second, "the new event delivered", func() bool { return rcv.count() == 3 })
		recent := func(q *ent.WebhookAttemptQuery) { q.Where(webhookattempt.CreatedAtGT(cutoff)) }
		weEventually(t, 5*time.Second, "the old attempts purged, the new one kept", func() bool { return attempts() == 1 && attempts(recent) == 1 })
		// The finished delivery goes too (the same sweep, a moment later).
		weEventually(t, 5*time.Second, "the old delivery purged", func() bool {
			return callConnect(t, ts, getWebhookDelivery(old.GetId()), weKey(ts)).reason == "WEBHOOK_DELIVERY_NOT_FOUND"
		})
	})
}
