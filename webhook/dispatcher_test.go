package webhook_test

// The Dispatcher without the server: events queued through the Outbox on
// SQLite and PostgreSQL, endpoints made by the Service, and real HTTP
// receivers. The clock is the test's: retries come due when the test moves
// it, not before.

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/paymux/paymux/apierr"
	"github.com/paymux/paymux/ent"
	"github.com/paymux/paymux/ent/event"
	"github.com/paymux/paymux/ent/webhookattempt"
	"github.com/paymux/paymux/ent/webhookdelivery"
	"github.com/paymux/paymux/ent/webhookendpoint"
	"github.com/paymux/paymux/internal/testdb"
	"github.com/paymux/paymux/secrets"
	"github.com/paymux/paymux/tenant"
	"github.com/paymux/paymux/webhook"
)

// ---- the test's world -----------------------------------------------------

// testClock is a clock the test moves.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// world is one store with a running Dispatcher, its Outbox and Service.
type world struct {
	db      *ent.Client
	sys     context.Context // paymux's own work
	store   context.Context // acting as the store
	storeID string
	clock   *testClock
	reg     *prometheus.Registry
	d       *webhook.Dispatcher
	outbox  *webhook.Outbox
	svc     *webhook.Service
}

var eventTypes = []string{"payment.paid", "payment.cancelled", "payment.ready",
	"deposit.received", "deposit.matched", "deposit.unmatched", "bank.transaction"}

func testConfig() webhook.Config {
	return webhook.Config{
		AllowPrivate:     true, // the receivers are on loopback
		Timeout:          5 * time.Second,
		DisableAfter:     24 * time.Hour,
		LogRetention:     720 * time.Hour,
		Workers:          8,
		MaxResponseBytes: 1024,
		// Long: what is sent promptly was sent because something woke the
		// dispatcher (a commit, a finished attempt, the test).
		PollInterval: time.Minute,
	}
}

// start runs a Dispatcher on db until the test ends, then checks that Run
// returned nil.
func start(t *testing.T, db *ent.Client, configure ...func(*webhook.Config)) *world {
	t.Helper()
	cfg := testConfig()
	for _, f := range configure {
		f(&cfg)
	}
	keyring, err := secrets.NewKeyring(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	w := &world{
		db:    db,
		sys:   tenant.System(context.Background()),
		clock: &testClock{t: time.Now().UTC().Truncate(time.Microsecond)},
		reg:   prometheus.NewRegistry(),
	}
	st, err := db.Store.Create().SetName("webhook test").Save(w.sys)
	if err != nil {
		t.Fatal(err)
	}
	w.storeID = st.ID
	w.store = tenant.NewContext(context.Background(), tenant.Viewer{StoreID: st.ID})
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if w.d, err = webhook.NewDispatcher(db, keyring, cfg, w.clock.Now, log, w.reg); err != nil {
		t.Fatal(err)
	}
	w.outbox = webhook.NewOutbox(w.d.Wake)
	w.svc = webhook.NewService(db, keyring, cfg, w.clock.Now, eventTypes, w.d.Wake)

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.d.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Error("Run did not return after its context ended")
		}
	})
	return w
}

// endpoint creates a TEST endpoint for url; it returns the endpoint and its
// signing key.
func (w *world) endpoint(t *testing.T, in webhook.NewEndpoint) (*ent.WebhookEndpoint, []byte) {
	t.Helper()
	in.StoreID = w.storeID
	if in.Mode == "" {
		in.Mode = webhookendpoint.ModeTEST
	}
	if in.ContentType == "" {
		in.ContentType = webhookendpoint.ContentTypeJSON
	}
	ep, secret, err := w.svc.CreateEndpoint(w.store, in)
	if err != nil {
		t.Fatal(err)
	}
	key, err := webhook.ParseSecret(secret)
	if err != nil {
		t.Fatal(err)
	}
	return ep, key
}

// emit writes a TEST event at the clock's time and queues its deliveries
// in the same transaction, as payments and billing do.
func (w *world) emit(t *testing.T, typ, paymentID string) *ent.Event {
	t.Helper()
	return w.emitAt(t, typ, paymentID, w.clock.Now())
}

func (w *world) emitAt(t *testing.T, typ, paymentID string, at time.Time) *ent.Event {
	t.Helper()
	tx, err := w.db.Tx(w.sys)
	if err != nil {
		t.Fatal(err)
	}
	ev, err := tx.Event.Create().SetStoreID(w.storeID).SetMode(event.ModeTEST).SetType(typ).
		SetPaymentID(paymentID).SetMerchantPaymentID("order-" + paymentID).
		SetData([]byte(`{"id":"` + paymentID + `","status":"PAYMENT_STATUS_PAID","amounts":{"total":"1000"}}`)).
		SetCreatedAt(at).Save(w.sys)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.outbox.Enqueue(w.sys, tx, ev, "CARD"); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	return ev
}

// delivery is the one delivery of ev to ep.
func (w *world) delivery(t *testing.T, ev *ent.Event, ep *ent.WebhookEndpoint) *ent.WebhookDelivery {
	t.Helper()
	d, err := w.db.WebhookDelivery.Query().
		Where(webhookdelivery.EventID(ev.ID), webhookdelivery.EndpointID(ep.ID)).Only(w.sys)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func (w *world) attempts(t *testing.T, d *ent.WebhookDelivery) []*ent.WebhookAttempt {
	t.Helper()
	as, err := w.db.WebhookAttempt.Query().Where(webhookattempt.DeliveryID(d.ID)).
		Order(ent.Asc(webhookattempt.FieldNumber)).All(w.sys)
	if err != nil {
		t.Fatal(err)
	}
	return as
}

// await polls until cond holds.
func await(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// awaitStatus waits for the delivery of ev to ep to have made n attempts
// and be in status.
func (w *world) awaitStatus(t *testing.T, ev *ent.Event, ep *ent.WebhookEndpoint, n int, status webhookdelivery.Status) *ent.WebhookDelivery {
	t.Helper()
	var d *ent.WebhookDelivery
	await(t, "delivery "+string(status), func() bool {
		d = w.delivery(t, ev, ep)
		return d.Attempts == n && d.Status == status && d.LeaseUntil == nil
	})
	return d
}

// attemptsTotal reads paymux_webhook_attempts_total{outcome}.
func (w *world) attemptsTotal(t *testing.T, outcome string) float64 {
	t.Helper()
	mfs, err := w.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "paymux_webhook_attempts_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "outcome" && l.GetValue() == outcome {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}

// receiver is an endpoint's server: it keeps what it got and answers with
// the status answer gives for the n-th request (1-based).
type receiver struct {
	*httptest.Server
	mu   sync.Mutex
	hits []hit
}

type hit struct {
	header http.Header
	body   []byte
}

func newReceiver(t *testing.T, answer func(n int) int) *receiver {
	r := &receiver{}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.hits = append(r.hits, hit{header: req.Header.Clone(), body: body})
		n := len(r.hits)
		r.mu.Unlock()
		w.WriteHeader(answer(n))
		_, _ = io.WriteString(w, "thanks")
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) got() []hit {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]hit(nil), r.hits...)
}

func always(status int) func(int) int { return func(int) int { return status } }

// ---- the tests --------------------------------------------------------------

// TestDispatcherDeliversSigned: an event queued in a transaction reaches
// each endpoint once its transaction commits, signed with the endpoint's
// secret, in the endpoint's format; the attempt is logged and counted.
func TestDispatcherDeliversSigned(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, db *ent.Client) {
		w := start(t, db)
		jsonRcv, formRcv := newReceiver(t, always(http.StatusOK)), newReceiver(t, always(http.StatusNoContent))
		jsonEP, jsonKey := w.endpoint(t, webhook.NewEndpoint{URL: jsonRcv.URL})
		formEP, formKey := w.endpoint(t, webhook.NewEndpoint{URL: formRcv.URL, ContentType: webhookendpoint.ContentTypeFORM})

		ev := w.emit(t, "payment.paid", "pay_1")
		d := w.awaitStatus(t, ev, jsonEP, 1, webhookdelivery.StatusSUCCEEDED)
		w.awaitStatus(t, ev, formEP, 1, webhookdelivery.StatusSUCCEEDED)
		if d.LastStatus != http.StatusOK || d.Trigger != webhookdelivery.TriggerAUTOMATIC {
			t.Errorf("delivery: last status %d, trigger %s", d.LastStatus, d.Trigger)
		}

		hits := jsonRcv.got()
		if len(hits) != 1 {
			t.Fatalf("JSON endpoint got %d requests, want 1", len(hits))
		}
		h := hits[0]
		if err := webhook.Verify(jsonKey, h.header, h.body, w.clock.Now(), 0); err != nil {
			t.Errorf("signature: %v", err)
		}
		if got := h.header.Get(webhook.HeaderID); got != ev.ID {
			t.Errorf("webhook-id %q, want the event's id %q", got, ev.ID)
		}
		if got := h.header.Get("Content-Type"); got != "application/json" {
			t.Errorf("Content-Type %q", got)
		}
		if got := h.header.Get("User-Agent"); got != "paymux-webhooks/1" {
			t.Errorf("User-Agent %q", got)
		}
		wantBody := `{"type":"payment.paid","timestamp":"` + ev.CreatedAt.UTC().Format(time.RFC3339Nano) + `","data":` + string(ev.Data) + `}`
		if string(h.body) != wantBody {
			t.Errorf("body\n got %s\nwant %s", h.body, wantBody)
		}

		fh := formRcv.got()
		if len(fh) != 1 {
			t.Fatalf("form endpoint got %d requests, want 1", len(fh))
		}
		if err := webhook.Verify(formKey, fh[0].header, fh[0].body, w.clock.Now(), 0); err != nil {
			t.Errorf("form signature: %v", err)
		}
		if err := webhook.Verify(jsonKey, fh[0].header, fh[0].body, w.clock.Now(), 0); err == nil {
			t.Error("the form endpoint's request verifies with the other endpoint's secret")
		}
		form, err := url.ParseQuery(string(fh[0].body))
		if err != nil {
			t.Fatal(err)
		}
		for k, want := range map[string]string{
			"type": "payment.paid", "payment_id": "pay_1", "merchant_payment_id": "order-pay_1",
			"status": "PAYMENT_STATUS_PAID", "data": string(ev.Data),
			"timestamp": ev.CreatedAt.UTC().Format(time.RFC3339Nano),
		} {
			if got := form.Get(k); got != want {
				t.Errorf("form %s = %q, want %q", k, got, want)
			}
		}

		as := w.attempts(t, d)
		if len(as) != 1 {
			t.Fatalf("%d attempts logged, want 1", len(as))
		}
		a := as[0]
		if a.Number != 1 || a.Trigger != webhookattempt.TriggerAUTOMATIC || a.ResponseStatus != http.StatusOK ||
			string(a.ResponseBody) != "thanks" || a.URL != jsonRcv.URL || string(a.RequestBody) != wantBody ||
			a.RequestHeaders["Webhook-Id"] != ev.ID || a.Error != "" {
			t.Errorf("attempt logged: %+v", a)
		}
		if got := w.attemptsTotal(t, "succeeded"); got != 2 {
			t.Errorf(`paymux_webhook_attempts_total{outcome="succeeded"} = %v, want 2`, got)
		}
	})
}

// TestDispatcherRetriesOnSchedule: a 500 is retried when the schedule says
// (jitter aside) and not before, with the same webhook-id; once the
// schedule is spent the delivery fails, and its endpoint, failing since
// the first attempt, stays enabled (webhooks.disable_after is far off).
func TestDispatcherRetriesOnSchedule(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, db *ent.Client) {
		w := start(t, db, func(c *webhook.Config) { c.RetrySchedule = "1m,1h" })
		flaky := newReceiver(t, func(n int) int {
			if n < 3 {
				return http.StatusInternalServerError
			}
			return http.StatusOK
		})
		dead := newReceiver(t, always(http.StatusInternalServerError))
		flakyEP, _ := w.endpoint(t, webhook.NewEndpoint{URL: flaky.URL})
		deadEP, _ := w.endpoint(t, webhook.NewEndpoint{URL: dead.URL})

		t0 := w.clock.Now()
		ev := w.emit(t, "payment.paid", "pay_1")
		d := w.awaitStatus(t, ev, flakyEP, 1, webhookdelivery.StatusPENDING)
		w.awaitStatus(t, ev, deadEP, 1, webhookdelivery.StatusPENDING)
		if wait := d.NextAttemptAt.Sub(t0); wait < 48*time.Second || wait > 72*time.Second {
			t.Errorf("first retry in %s, want 1m ±20%%", wait)
		}
		if d.LastStatus != http.StatusInternalServerError {
			t.Errorf("last status %d", d.LastStatus)
		}
		ep, err := w.db.WebhookEndpoint.Get(w.sys, deadEP.ID)
		if err != nil {
			t.Fatal(err)
		}
		if ep.FailingSince == nil || !ep.FailingSince.Equal(t0) || !ep.Enabled {
			t.Errorf("after a failure the endpoint is enabled %v, failing since %v (want %v)", ep.Enabled, ep.FailingSince, t0)
		}

		// Not due yet: nothing is sent.
		w.clock.Add(45 * time.Second)
		w.d.Wake()
		time.Sleep(200 * time.Millisecond)
		if n := len(flaky.got()); n != 1 {
			t.Fatalf("sent %d times before the retry was due", n)
		}

		w.clock.Add(30 * time.Second) // t0+75s: past 1m +20%
		w.d.Wake()
		d = w.awaitStatus(t, ev, flakyEP, 2, webhookdelivery.StatusPENDING)
		w.awaitStatus(t, ev, deadEP, 2, webhookdelivery.StatusPENDING)
		t1 := t0.Add(75 * time.Second)
		if wait := d.NextAttemptAt.Sub(t1); wait < 48*time.Minute || wait > 72*time.Minute {
			t.Errorf("second retry in %s, want 1h ±20%%", wait)
		}

		w.clock.Add(73 * time.Minute)
		w.d.Wake()
		w.awaitStatus(t, ev, flakyEP, 3, webhookdelivery.StatusSUCCEEDED)
		failed := w.awaitStatus(t, ev, deadEP, 3, webhookdelivery.StatusFAILED)

		hits := flaky.got()
		if len(hits) != 3 {
			t.Fatalf("flaky endpoint got %d requests, want 3", len(hits))
		}
		for _, h := range hits {
			if id := h.header.Get(webhook.HeaderID); id != ev.ID {
				t.Errorf("a retry's webhook-id is %q, want %q", id, ev.ID)
			}
		}
		var statuses []int
		for _, a := range w.attempts(t, failed) {
			statuses = append(statuses, a.ResponseStatus)
		}
		if len(statuses) != 3 || statuses[0] != 500 || statuses[2] != 500 {
			t.Errorf("dead endpoint's attempts answered %v, want three 500s", statuses)
		}
		ep, err = w.db.WebhookEndpoint.Get(w.sys, deadEP.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !ep.Enabled || ep.FailingSince == nil || !ep.FailingSince.Equal(t0) {
			t.Errorf("dead endpoint: enabled %v, failing since %v (want %v)", ep.Enabled, ep.FailingSince, t0)
		}
		flakyNow, err := w.db.WebhookEndpoint.Get(w.sys, flakyEP.ID)
		if err != nil {
			t.Fatal(err)
		}
		if flakyNow.FailingSince != nil {
			t.Errorf("a success left failing_since %v", flakyNow.FailingSince)
		}
		for outcome, want := range map[string]float64{"retry": 4, "succeeded": 1, "failed": 1} {
			if got := w.attemptsTotal(t, outcome); got != want {
				t.Errorf(`paymux_webhook_attempts_total{outcome=%q} = %v, want %v`, outcome, got, want)
			}
		}
	})
}

// TestDispatcherGoneDisables: 410 Gone disables the endpoint at once, with
// the reason on it; its other pending deliveries fail, and later events
// are not queued for it.
func TestDispatcherGoneDisables(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, db *ent.Client) {
		w := start(t, db)
		gone := newReceiver(t, always(http.StatusGone))
		ep, _ := w.endpoint(t, webhook.NewEndpoint{URL: gone.URL})

		later := w.emitAt(t, "payment.cancelled", "pay_2", w.clock.Now().Add(time.Hour)) // not due yet
		ev := w.emit(t, "payment.paid", "pay_1")
		w.awaitStatus(t, ev, ep, 1, webhookdelivery.StatusFAILED)

		cur, err := w.db.WebhookEndpoint.Get(w.sys, ep.ID)
		if err != nil {
			t.Fatal(err)
		}
		if cur.Enabled || cur.DisabledReason != "the endpoint answered 410 Gone" || cur.DisabledAt == nil || !cur.DisabledAt.Equal(w.clock.Now()) {
			t.Errorf("after 410: enabled %v, reason %q, disabled at %v", cur.Enabled, cur.DisabledReason, cur.DisabledAt)
		}
		if d := w.delivery(t, later, ep); d.Status != webhookdelivery.StatusFAILED || d.Attempts != 0 {
			t.Errorf("the endpoint's pending delivery: %s after %d attempts, want FAILED unsent", d.Status, d.Attempts)
		}
		if got := w.attemptsTotal(t, "failed"); got != 1 {
			t.Errorf(`paymux_webhook_attempts_total{outcome="failed"} = %v, want 1`, got)
		}

		next := w.emit(t, "payment.paid", "pay_3")
		if n, err := w.db.WebhookDelivery.Query().Where(webhookdelivery.EventID(next.ID)).Count(w.sys); err != nil || n != 0 {
			t.Errorf("%d deliveries queued for a disabled endpoint (err %v)", n, err)
		}
		if n := len(gone.got()); n != 1 {
			t.Errorf("the endpoint got %d requests, want 1", n)
		}
	})
}

// TestDispatcherDisablesAfterFailingTooLong: an endpoint whose every
// attempt has failed for webhooks.disable_after is disabled, with the
// streak and the last failure in the reason.
func TestDispatcherDisablesAfterFailingTooLong(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, db *ent.Client) {
		w := start(t, db, func(c *webhook.Config) {
			c.RetrySchedule = "1h,1h,1h"
			c.DisableAfter = 90 * time.Minute
		})
		dead := newReceiver(t, always(http.StatusServiceUnavailable))
		ep, _ := w.endpoint(t, webhook.NewEndpoint{URL: dead.URL})

		t0 := w.clock.Now()
		ev := w.emit(t, "payment.paid", "pay_1")
		w.awaitStatus(t, ev, ep, 1, webhookdelivery.StatusPENDING)
		w.clock.Add(73 * time.Minute) // failing for 73m: not yet
		w.d.Wake()
		w.awaitStatus(t, ev, ep, 2, webhookdelivery.StatusPENDING)
		if cur, err := w.db.WebhookEndpoint.Get(w.sys, ep.ID); err != nil || !cur.Enabled {
			t.Fatalf("disabled too soon (err %v)", err)
		}
		w.clock.Add(73 * time.Minute) // 146m
		w.d.Wake()
		w.awaitStatus(t, ev, ep, 3, webhookdelivery.StatusFAILED)
		cur, err := w.db.WebhookEndpoint.Get(w.sys, ep.ID)
		if err != nil {
			t.Fatal(err)
		}
		want := "every attempt has failed since " + t0.Format(time.RFC3339) + "; the last: HTTP 503"
		if cur.Enabled || cur.DisabledReason != want {
			t.Errorf("enabled %v, reason %q, want %q", cur.Enabled, cur.DisabledReason, want)
		}
	})
}

// TestOutboxFilters: Enqueue writes one delivery per enabled endpoint of
// the event's store and mode whose filters take the event, in the event's
// transaction (a rolled-back one leaves none).
func TestOutboxFilters(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, db *ent.Client) {
		w := start(t, db)
		addr := "http://127.0.0.1:9/" // never called: nothing comes due
		all, _ := w.endpoint(t, webhook.NewEndpoint{URL: addr})
		paidOnly, _ := w.endpoint(t, webhook.NewEndpoint{URL: addr, EventTypes: []string{"payment.paid"}})
		cancelledOnly, _ := w.endpoint(t, webhook.NewEndpoint{URL: addr, EventTypes: []string{"payment.cancelled"}})
		card, _ := w.endpoint(t, webhook.NewEndpoint{URL: addr, PayMethods: []string{"CARD"}})
		vbank, _ := w.endpoint(t, webhook.NewEndpoint{URL: addr, PayMethods: []string{"VIRTUAL_ACCOUNT"}})
		quiet, _ := w.endpoint(t, webhook.NewEndpoint{URL: addr, EventTypes: []string{"payment.ready"}})
		live, _ := w.endpoint(t, webhook.NewEndpoint{URL: addr, Mode: webhookendpoint.ModeLIVE})
		off, _ := w.endpoint(t, webhook.NewEndpoint{URL: addr})
		if _, err := w.svc.UpdateEndpoint(w.store, webhook.EndpointChange{ID: off.ID, Fields: []string{"enabled"}}); err != nil {
			t.Fatal(err)
		}
		// Far in the future, so that the dispatcher leaves them be.
		at := w.clock.Now().Add(time.Hour)
		queued := func(ev *ent.Event) map[string]bool {
			ds, err := w.db.WebhookDelivery.Query().Where(webhookdelivery.EventID(ev.ID)).All(w.sys)
			if err != nil {
				t.Fatal(err)
			}
			out := map[string]bool{}
			for _, d := range ds {
				if d.Status != webhookdelivery.StatusPENDING || !d.NextAttemptAt.Equal(at) || d.PaymentID != ev.PaymentID {
					t.Errorf("delivery %+v", d)
				}
				out[d.EndpointID] = true
			}
			return out
		}
		names := map[string]string{all.ID: "all", paidOnly.ID: "paidOnly", cancelledOnly.ID: "cancelledOnly",
			card.ID: "card", vbank.ID: "vbank", quiet.ID: "quiet", live.ID: "live", off.ID: "off"}
		check := func(what string, got map[string]bool, want ...*ent.WebhookEndpoint) {
			t.Helper()
			var gotNames, wantNames []string
			for id := range got {
				gotNames = append(gotNames, names[id])
			}
			for _, ep := range want {
				wantNames = append(wantNames, names[ep.ID])
				if !got[ep.ID] {
					t.Errorf("%s: nothing queued for %s (queued for %v)", what, names[ep.ID], gotNames)
				}
			}
			if len(got) != len(want) {
				t.Errorf("%s: queued for %v, want %v", what, gotNames, wantNames)
			}
		}

		check("payment.paid", queued(w.emitAt(t, "payment.paid", "pay_1", at)), all, paidOnly, card)
		// payment.ready is quiet: only endpoints naming it get it.
		check("payment.ready", queued(w.emitAt(t, "payment.ready", "pay_2", at)), quiet)

		// Rolled back: nothing queued.
		tx, err := w.db.Tx(w.sys)
		if err != nil {
			t.Fatal(err)
		}
		ev, err := tx.Event.Create().SetStoreID(w.storeID).SetMode(event.ModeTEST).SetType("payment.paid").
			SetData([]byte(`{}`)).SetCreatedAt(at).Save(w.sys)
		if err != nil {
			t.Fatal(err)
		}
		if err := w.outbox.Enqueue(w.sys, tx, ev, "CARD"); err != nil {
			t.Fatal(err)
		}
		if err := tx.Rollback(); err != nil {
			t.Fatal(err)
		}
		if n, err := w.db.WebhookDelivery.Query().Where(webhookdelivery.EventID(ev.ID)).Count(w.sys); err != nil || n != 0 {
			t.Errorf("%d deliveries after a rollback (err %v)", n, err)
		}
	})
}

// TestServiceRotationSignsWithBoth: during a rotation's overlap a delivery
// is signed with the new secret and the old one; after it, with the new
// one only.
func TestServiceRotationSignsWithBoth(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, db *ent.Client) {
		w := start(t, db)
		rcv := newReceiver(t, always(http.StatusOK))
		ep, oldKey := w.endpoint(t, webhook.NewEndpoint{URL: rcv.URL})
		_, secret, err := w.svc.RotateSecret(w.store, ep.ID, false, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		newKey, err := webhook.ParseSecret(secret)
		if err != nil {
			t.Fatal(err)
		}
		ev := w.emit(t, "payment.paid", "pay_1")
		w.awaitStatus(t, ev, ep, 1, webhookdelivery.StatusSUCCEEDED)

		w.clock.Add(2 * time.Hour) // the overlap is over
		ev2 := w.emit(t, "payment.paid", "pay_2")
		w.awaitStatus(t, ev2, ep, 1, webhookdelivery.StatusSUCCEEDED)

		hits := rcv.got()
		if len(hits) != 2 {
			t.Fatalf("%d requests, want 2", len(hits))
		}
		during, after := hits[0], hits[1]
		if got := strings.Count(during.header.Get(webhook.HeaderSignature), "v1,"); got != 2 {
			t.Errorf("%d signatures during the overlap, want 2", got)
		}
		for name, key := range map[string][]byte{"new": newKey, "old": oldKey} {
			if err := webhook.Verify(key, during.header, during.body, w.clock.Now().Add(-2*time.Hour), 0); err != nil {
				t.Errorf("during the overlap, the %s secret: %v", name, err)
			}
		}
		if err := webhook.Verify(newKey, after.header, after.body, w.clock.Now(), 0); err != nil {
			t.Errorf("after the overlap, the new secret: %v", err)
		}
		if err := webhook.Verify(oldKey, after.header, after.body, w.clock.Now(), 0); err == nil {
			t.Error("after the overlap, the old secret still signs")
		}
	})
}

// TestServiceTestCall: a TEST call is sent at once, signed, and logged
// under a delivery marked TEST that is never resent.
func TestServiceTestCall(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, db *ent.Client) {
		w := start(t, db)
		rcv := newReceiver(t, always(http.StatusOK))
		ep, key := w.endpoint(t, webhook.NewEndpoint{URL: rcv.URL})
		a, err := w.svc.TestEndpoint(w.store, ep.ID, false, "payment.paid")
		if err != nil {
			t.Fatal(err)
		}
		if a.Trigger != webhookattempt.TriggerTEST || a.ResponseStatus != http.StatusOK || a.Number != 1 {
			t.Errorf("attempt %+v", a)
		}
		hits := rcv.got()
		if len(hits) != 1 {
			t.Fatalf("%d requests, want 1", len(hits))
		}
		if err := webhook.Verify(key, hits[0].header, hits[0].body, w.clock.Now(), 0); err != nil {
			t.Errorf("signature: %v", err)
		}
		var body struct {
			Type string         `json:"type"`
			Data map[string]any `json:"data"`
		}
		if err := json.Unmarshal(hits[0].body, &body); err != nil {
			t.Fatal(err)
		}
		if body.Type != "payment.paid" || body.Data["status"] != "PAYMENT_STATUS_PAID" || body.Data["test"] != true {
			t.Errorf("body %s", hits[0].body)
		}
		_, err = w.svc.Resend(w.store, webhook.Resend{DeliveryID: a.DeliveryID})
		if got := apierr.Reason(err); got != webhook.ReasonTestNotResent {
			t.Errorf("resending a TEST call: %v, want %s", err, webhook.ReasonTestNotResent)
		}
		if _, err := w.svc.TestEndpoint(w.store, ep.ID, false, "payment.nonsense"); err == nil {
			t.Error("a TEST call of an unknown event type was sent")
		}
	})
}
