package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"entgo.io/ent/dialect"
	"entgo.io/ent/dialect/sql"

	"github.com/paymux/paymux/database"
	"github.com/paymux/paymux/ent"
	"github.com/paymux/paymux/ent/event"
	"github.com/paymux/paymux/ent/webhookattempt"
	"github.com/paymux/paymux/ent/webhookdelivery"
	"github.com/paymux/paymux/ent/webhookendpoint"
	"github.com/paymux/paymux/tenant"
	"github.com/paymux/paymux/webhook"
)

// How webhooks leave paymux:
//
//  1. An event is written in the same transaction as the change it reports,
//     with one WebhookDelivery per endpoint that wants it (queueDeliveries).
//  2. The engine claims due deliveries with a lease (FOR UPDATE SKIP LOCKED
//     on PostgreSQL, so replicas share the work without taking the same
//     one), reading their endpoints and events in the same transaction, and
//     sends each in its own goroutine: an endpoint holds at most its cap of
//     the workers (capLocked), never the others' deliveries.
//  3. Each attempt is logged (outcomes waiting are written in one
//     transaction, recordLoop); the delivery succeeds (2xx), is retried on the
//     schedule (Retry-After honoured), or fails for good. 410 Gone and an
//     endpoint failing for webhooks.disable_after disable the endpoint.
//  4. A worker that dies leaves its lease to run out: the delivery is sent
//     again (at least once, with the same webhook-id for the receiver to
//     drop the duplicate).

// How many attempts one endpoint may have in flight: a quarter of the
// workers while it answers quickly, perEndpoint once it is slow or failing
// (an attempt over slowAttempt, or no answer), so that a dead endpoint
// holds few workers and a fast one is not held to a trickle.
const (
	perEndpoint = 4
	slowAttempt = time.Second
)

// capLocked is endpoint id's cap; called with e.mu held.
func (e *webhookEngine) capLocked(id string) int {
	if e.slow[id] {
		return perEndpoint
	}
	return max(perEndpoint, cap(e.slots)/4)
}

// leaseMargin is what a lease allows beyond webhooks.timeout: the database
// work after the request (recording the outcome), milliseconds normally. It is also how long
// a crashed worker's deliveries wait, beyond the timeout, to be sent again.
const leaseMargin = 5 * time.Second

type webhookEngine struct {
	s        *Server
	client   *http.Client
	schedule webhook.Schedule
	wakeCh   chan struct{}
	slots    chan struct{} // one per attempt in flight
	outcomes chan *outcome // attempts done, for recordLoop

	mu   sync.Mutex
	busy map[string]int  // endpoint id -> attempts in flight
	slow map[string]bool // endpoints whose last attempt was slow or failed
	rnd  *rand.Rand
	wg   sync.WaitGroup

	// backlog says a claim left due deliveries behind, for want of a free
	// worker or because their endpoint was at its cap: the next attempt to
	// finish wakes the engine to take them, rather than leaving its worker
	// idle until the next poll.
	backlog atomic.Bool
}

func newWebhookEngine(s *Server) (*webhookEngine, error) {
	schedule := webhook.DefaultSchedule
	if s.cfg.Webhooks.RetrySchedule != "" {
		var err error
		if schedule, err = webhook.ParseSchedule(s.cfg.Webhooks.RetrySchedule); err != nil {
			return nil, fmt.Errorf("webhooks.retry_schedule: %w", err)
		}
	}
	return &webhookEngine{
		s:        s,
		client:   webhook.NewClient(webhook.ClientOptions{AllowPrivate: s.cfg.Webhooks.AllowPrivate, Timeout: s.cfg.Webhooks.Timeout}),
		schedule: schedule,
		wakeCh:   make(chan struct{}, 1),
		outcomes: make(chan *outcome, s.cfg.Webhooks.Workers),
		slots:    make(chan struct{}, s.cfg.Webhooks.Workers),
		busy:     map[string]int{},
		slow:     map[string]bool{},
		rnd:      rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64())),
	}, nil
}

// wake makes the engine look for due deliveries now, not at its next tick.
func (e *webhookEngine) wake() {
	select {
	case e.wakeCh <- struct{}{}:
	default:
	}
}

// run claims and sends due deliveries until ctx ends, then waits for the
// attempts in flight.
func (e *webhookEngine) run(ctx context.Context) {
	// The recorder outlives ctx until every attempt in flight is written.
	rctx, stopRecorder := context.WithCancel(context.WithoutCancel(ctx))
	recorded := make(chan struct{})
	go func() {
		defer close(recorded)
		e.recordLoop(rctx)
	}()
	defer func() {
		e.wg.Wait()
		stopRecorder()
		<-recorded
	}()
	t := time.NewTicker(e.s.cfg.Webhooks.PollInterval)
	defer t.Stop()
	for {
		for e.dispatch(ctx) {
			// A full batch: there may be more due at once.
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-e.wakeCh:
		}
	}
}

// dispatch claims as many due deliveries as there are free workers and
// starts them; it reports whether it filled every free worker.
func (e *webhookEngine) dispatch(ctx context.Context) bool {
	if ctx.Err() != nil {
		return false
	}
	free := cap(e.slots) - len(e.slots)
	if free == 0 {
		e.backlog.Store(true)
		return false
	}
	claimed, more, err := e.claim(ctx, free)
	if err != nil {
		if ctx.Err() == nil {
			e.s.log.WarnContext(ctx, "webhooks: claim", "error", err)
		}
		return false
	}
	if more {
		e.backlog.Store(true)
	}
	for _, c := range claimed {
		d := c.d
		e.slots <- struct{}{}
		e.mu.Lock()
		e.busy[d.EndpointID]++
		e.mu.Unlock()
		e.wg.Add(1)
		go func() {
			defer e.wg.Done()
			defer func() {
				e.mu.Lock()
				// An endpoint at its cap had its due deliveries left out of
				// every claim: one of them may go now.
				wasFull := e.busy[d.EndpointID] >= e.capLocked(d.EndpointID)
				if e.busy[d.EndpointID]--; e.busy[d.EndpointID] <= 0 {
					delete(e.busy, d.EndpointID)
				}
				e.mu.Unlock()
				<-e.slots
				if e.backlog.Swap(false) || wasFull {
					e.wake()
				}
			}()
			// Not cut short by shutdown (an attempt is seen through), but
			// never outliving its lease: past it another worker may have
			// taken the delivery, and must not find this one still sending.
			actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), e.lease())
			defer cancel()
			if err := e.attempt(actx, c); err != nil {
				e.s.log.WarnContext(ctx, "webhooks: attempt", "delivery_id", d.ID, "error", err)
			}
		}()
	}
	return len(claimed) == free
}

// lease is how long a claimed delivery is ours: the attempt's timeout and
// room to read what it sends and record what came back.
func (e *webhookEngine) lease() time.Duration { return e.s.cfg.Webhooks.Timeout + leaseMargin }

// claim takes up to n due deliveries whose endpoints have a free worker.
// more reports that it may have left due ones behind.
func (e *webhookEngine) claim(ctx context.Context, n int) (out []*claimedDelivery, more bool, err error) {
	ctx = tenant.System(ctx)
	e.mu.Lock()
	var full []string
	for id, k := range e.busy {
		if k >= e.capLocked(id) {
			full = append(full, id)
		}
	}
	e.mu.Unlock()
	now := e.s.clock()
	err = database.InTx(ctx, e.s.db, func(tx *ent.Tx) error {
		q := tx.WebhookDelivery.Query().Where(
			webhookdelivery.StatusEQ(webhookdelivery.StatusPENDING),
			webhookdelivery.NextAttemptAtLTE(now),
			webhookdelivery.Or(webhookdelivery.LeaseUntilIsNil(), webhookdelivery.LeaseUntilLT(now)),
		)
		if len(full) > 0 {
			q = q.Where(webhookdelivery.EndpointIDNotIn(full...))
		}
		rows, err := q.Order(ent.Asc(webhookdelivery.FieldNextAttemptAt)).Limit(n).
			Modify(func(s *sql.Selector) {
				// Replicas skip each other's rows instead of waiting for them.
				if s.Dialect() == dialect.Postgres {
					s.ForUpdate(sql.WithLockAction(sql.SkipLocked))
				}
			}).All(ctx)
		if err != nil || len(rows) == 0 {
			return err
		}
		// Within one claim, at most the endpoint's cap.
		per := map[string]int{}
		var ids []string
		for _, d := range rows {
			e.mu.Lock()
			inFlight := e.busy[d.EndpointID]
			e.mu.Unlock()
			e.mu.Lock()
			limit := e.capLocked(d.EndpointID)
			e.mu.Unlock()
			if inFlight+per[d.EndpointID] >= limit {
				continue
			}
			per[d.EndpointID]++
			ids = append(ids, d.ID)
			out = append(out, &claimedDelivery{d: d})
		}
		more = len(rows) == n || len(out) < len(rows)
		until := now.Add(e.lease())
		if err := tx.WebhookDelivery.Update().Where(webhookdelivery.IDIn(ids...)).SetLeaseUntil(until).Exec(ctx); err != nil {
			return err
		}
		for _, c := range out {
			c.d.LeaseUntil = &until
		}
		// What the attempts will send, read here for the whole batch.
		var epIDs, evIDs []string
		for _, c := range out {
			epIDs, evIDs = append(epIDs, c.d.EndpointID), append(evIDs, c.d.EventID)
		}
		eps, err := tx.WebhookEndpoint.Query().Where(webhookendpoint.IDIn(epIDs...)).All(ctx)
		if err != nil {
			return err
		}
		evs, err := tx.Event.Query().Where(event.IDIn(evIDs...)).All(ctx)
		if err != nil {
			return err
		}
		for _, c := range out {
			for _, ep := range eps {
				if ep.ID == c.d.EndpointID {
					c.ep = ep
				}
			}
			for _, ev := range evs {
				if ev.ID == c.d.EventID {
					c.ev = ev
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, false, err
	}
	return out, more, nil
}

// queueDeliveries writes, in the event's transaction, one delivery per
// enabled endpoint of the event's store and mode that wants it, and wakes
// the engine once the transaction commits.
func (s *Server) queueDeliveries(ctx context.Context, tx *ent.Tx, ev *ent.Event, method string) error {
	memo, _ := ctx.Value(endpointMemoKey{}).(endpointMemo)
	key := ev.StoreID + "\x00" + string(ev.Mode)
	endpoints, ok := memo[key]
	if !ok {
		var err error
		endpoints, err = tx.WebhookEndpoint.Query().Where(
			webhookendpoint.StoreID(ev.StoreID),
			webhookendpoint.ModeEQ(webhookendpoint.Mode(ev.Mode)),
			webhookendpoint.Enabled(true),
		).All(ctx)
		if err != nil {
			return err
		}
		if memo != nil {
			memo[key] = endpoints
		}
	}
	if len(endpoints) == 0 {
		return nil
	}
	var creates []*ent.WebhookDeliveryCreate
	for _, ep := range endpoints {
		if !wants(ep, ev.Type, method) {
			continue
		}
		creates = append(creates, tx.WebhookDelivery.Create().
			SetStoreID(ev.StoreID).
			SetEndpointID(ep.ID).
			SetEventID(ev.ID).
			SetEventType(ev.Type).
			SetPaymentID(ev.PaymentID).
			SetMerchantPaymentID(ev.MerchantPaymentID).
			SetStatus(webhookdelivery.StatusPENDING).
			SetNextAttemptAt(ev.CreatedAt))
	}
	if len(creates) == 0 {
		return nil
	}
	if err := tx.WebhookDelivery.CreateBulk(creates...).Exec(ctx); err != nil {
		return err
	}
	tx.OnCommit(func(next ent.Committer) ent.Committer {
		return ent.CommitFunc(func(ctx context.Context, tx *ent.Tx) error {
			err := next.Commit(ctx, tx)
			if err == nil && s.webhooks != nil {
				s.webhooks.wake()
			}
			return err
		})
	})
	return nil
}

// endpointMemo keeps a store's enabled endpoints for the rest of one
// transaction that writes many events (the schedule executor's claim), so
// they are read once rather than once per event.
type endpointMemo map[string][]*ent.WebhookEndpoint

type endpointMemoKey struct{}

// withEndpointMemo returns ctx for one such transaction.
func withEndpointMemo(ctx context.Context) context.Context {
	return context.WithValue(ctx, endpointMemoKey{}, endpointMemo{})
}

// quietEventTypes are sent only to endpoints that name them: a payment
// created, or waiting for its PG's answer, is nothing a merchant acts on
// (DOMAIN §7 lists what is sent).
var quietEventTypes = []string{"payment.ready", "payment.pay_pending"}

// wants reports whether an endpoint takes an event of this type about a
// payment of this method (empty filters take everything but the quiet
// event types).
func wants(ep *ent.WebhookEndpoint, eventType, method string) bool {
	if len(ep.EventTypes) > 0 && !slices.Contains(ep.EventTypes, eventType) {
		return false
	}
	if len(ep.EventTypes) == 0 && slices.Contains(quietEventTypes, eventType) {
		return false
	}
	if len(ep.PayMethods) > 0 && method != "" && !slices.Contains(ep.PayMethods, method) {
		return false
	}
	return true
}

// webhookRequest is one signed request to an endpoint.
type webhookRequest struct {
	url     string
	headers http.Header
	body    []byte
}

// buildRequest signs the event for the endpoint with its secret (and the
// previous one during a rotation's overlap).
func (s *Server) buildRequest(ep *ent.WebhookEndpoint, ev *ent.Event) (*webhookRequest, error) {
	eventID, eventType, at, data := ev.ID, ev.Type, ev.CreatedAt, ev.Data
	keys, err := s.endpointSecrets(ep)
	if err != nil {
		return nil, err
	}
	var body []byte
	contentType := "application/json"
	if ep.ContentType == webhookendpoint.ContentTypeFORM {
		contentType = "application/x-www-form-urlencoded"
		var obj struct {
			Status string `json:"status"` // the payment's, schedule's or billing key's
		}
		_ = json.Unmarshal(data, &obj) // best effort: data is the full JSON below anyway
		form := url.Values{
			"type":                {eventType},
			"timestamp":           {at.UTC().Format(time.RFC3339Nano)},
			"payment_id":          {ev.PaymentID},
			"merchant_payment_id": {ev.MerchantPaymentID},
			"status":              {obj.Status},
			"data":                {string(data)},
		}
		body = []byte(form.Encode())
	} else {
		body, err = json.Marshal(struct {
			Type      string          `json:"type"`
			Timestamp string          `json:"timestamp"`
			Data      json.RawMessage `json:"data"`
		}{eventType, at.UTC().Format(time.RFC3339Nano), data})
		if err != nil {
			return nil, fmt.Errorf("webhook body: %w", err)
		}
	}
	now := s.now()
	h := webhook.Headers(eventID, now, webhook.Sign(keys, eventID, now, body))
	h.Set("Content-Type", contentType)
	h.Set("User-Agent", "paymux-webhooks/1")
	return &webhookRequest{url: ep.URL, headers: h, body: body}, nil
}

// endpointSecrets opens the signing secrets: the current one, then the
// previous one while its overlap lasts.
func (s *Server) endpointSecrets(ep *ent.WebhookEndpoint) ([][]byte, error) {
	open := func(sealed []byte) ([]byte, error) {
		plain, err := s.keyring.Decrypt(sealed, []byte("webhook:"+ep.ID))
		if err != nil {
			return nil, fmt.Errorf("endpoint %s secret: %w", ep.ID, err)
		}
		return webhook.ParseSecret(string(plain))
	}
	cur, err := open(ep.SecretSealed)
	if err != nil {
		return nil, err
	}
	keys := [][]byte{cur}
	if len(ep.PreviousSecretSealed) > 0 && ep.PreviousSecretExpiresAt != nil && s.now().Before(*ep.PreviousSecretExpiresAt) {
		prev, err := open(ep.PreviousSecretSealed)
		if err != nil {
			return nil, err
		}
		keys = append(keys, prev)
	}
	return keys, nil
}

// sendResult is what one HTTP attempt gave.
type sendResult struct {
	at         time.Time // when the request went out (the server's clock)
	status     int
	headers    map[string]string
	body       []byte
	truncated  bool
	latency    time.Duration
	err        error
	retryAfter time.Duration
}

// send makes one attempt. Redirects are not followed and private addresses
// are refused at connect time (webhook.NewClient).
func (s *Server) send(ctx context.Context, client *http.Client, r *webhookRequest) sendResult {
	start, at := time.Now(), s.clock()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.url, bytes.NewReader(r.body))
	if err != nil {
		return sendResult{at: at, err: err}
	}
	req.Header = r.headers.Clone()
	resp, err := client.Do(req)
	if err != nil {
		return sendResult{at: at, err: err, latency: time.Since(start)}
	}
	defer resp.Body.Close()
	body, truncated, rerr := webhook.ReadLimited(resp.Body, s.cfg.Webhooks.MaxResponseBytes)
	out := sendResult{at: at, status: resp.StatusCode, body: body, truncated: truncated, latency: time.Since(start), headers: map[string]string{}}
	for k := range resp.Header {
		out.headers[k] = resp.Header.Get(k)
	}
	if rerr != nil {
		out.err = fmt.Errorf("reading the answer: %w", rerr)
	}
	if d, ok := webhook.ParseRetryAfter(resp.Header.Get("Retry-After"), s.now()); ok {
		out.retryAfter = d
	}
	return out
}

// logAttempt writes an attempt to the delivery log.
func (s *Server) logAttempt(ctx context.Context, db *ent.Client, ep *ent.WebhookEndpoint, deliveryID string, number int, trigger string, r *webhookRequest, res sendResult) (*ent.WebhookAttempt, error) {
	// The attempt's time is when its request went out, not when it is
	// written down (which may have waited for the database).
	at := res.at
	if at.IsZero() {
		at = s.clock()
	}
	hdr := map[string]string{}
	for k := range r.headers {
		hdr[k] = r.headers.Get(k)
	}
	c := db.WebhookAttempt.Create().
		SetStoreID(ep.StoreID).
		SetEndpointID(ep.ID).
		SetDeliveryID(deliveryID).
		SetNumber(number).
		SetTrigger(webhookattempt.Trigger(trigger)).
		SetURL(r.url).
		SetRequestHeaders(hdr).
		SetRequestBody(r.body).
		SetResponseStatus(res.status).
		SetResponseHeaders(res.headers).
		SetResponseBody(res.body).
		SetResponseTruncated(res.truncated).
		SetLatencyUs(res.latency.Microseconds()).
		SetCreatedAt(at)
	if res.err != nil {
		c.SetError(res.err.Error())
	}
	return c.Save(ctx)
}

// attempt sends one claimed delivery and records what happened.
// claimedDelivery is a claimed delivery with what its attempt sends: its
// endpoint and its event (nil when gone).
type claimedDelivery struct {
	d  *ent.WebhookDelivery
	ep *ent.WebhookEndpoint
	ev *ent.Event
}

func (e *webhookEngine) attempt(ctx context.Context, c *claimedDelivery) error {
	s, d, ep, ev := e.s, c.d, c.ep, c.ev
	ctx = tenant.System(ctx)
	// A deleted or disabled endpoint, or an event gone (a TEST call's record
	// resent by hand, say): nothing to send.
	if ep == nil || !ep.Enabled || ev == nil {
		return s.db.WebhookDelivery.UpdateOne(d).SetStatus(webhookdelivery.StatusFAILED).ClearLeaseUntil().Exec(ctx)
	}
	r, err := s.buildRequest(ep, ev)
	if err != nil {
		return err
	}
	res := s.send(ctx, e.client, r)
	e.mu.Lock()
	if res.err != nil || res.status >= 500 || res.latency >= slowAttempt {
		e.slow[ep.ID] = true
	} else {
		delete(e.slow, ep.ID)
	}
	e.mu.Unlock()
	o := &outcome{ep: ep, d: d, number: d.Attempts + 1, r: r, res: res, now: s.clock(), done: make(chan error, 1)}
	select {
	case e.outcomes <- o:
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-o.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// outcome is one attempt's result, waiting to be recorded.
type outcome struct {
	ep     *ent.WebhookEndpoint
	d      *ent.WebhookDelivery
	number int
	r      *webhookRequest
	res    sendResult
	now    time.Time
	done   chan error
}

// recordLoop writes attempts' outcomes, all those waiting in one
// transaction: under load one commit serves many attempts (SQLite has one
// writer; PostgreSQL flushes its log at each commit), and alone an outcome
// is written at once.
func (e *webhookEngine) recordLoop(ctx context.Context) {
	for {
		var batch []*outcome
		select {
		case <-ctx.Done():
			return
		case o := <-e.outcomes:
			batch = append(batch, o)
		}
	more:
		for len(batch) < 200 {
			select {
			case o := <-e.outcomes:
				batch = append(batch, o)
			default:
				break more
			}
		}
		err := database.InTx(tenant.System(ctx), e.s.db, func(tx *ent.Tx) error {
			for _, o := range batch {
				if err := e.record(tenant.System(ctx), tx, o); err != nil {
					return err
				}
			}
			return nil
		})
		for _, o := range batch {
			o.done <- err
		}
	}
}

// record writes one outcome: the attempt in the log, the delivery's next
// step, and the endpoint's health.
func (e *webhookEngine) record(ctx context.Context, tx *ent.Tx, o *outcome) error {
	s, res := e.s, o.res
	ok := res.err == nil && res.status >= 200 && res.status < 300
	gone := res.err == nil && res.status == http.StatusGone
	if _, err := s.logAttempt(ctx, tx.Client(), o.ep, o.d.ID, o.number, string(o.d.Trigger), o.r, res); err != nil {
		return err
	}
	// Only while the lease is ours: if it ran out and another worker took
	// the delivery, that worker records its own outcome.
	upd := tx.WebhookDelivery.Update().
		Where(webhookdelivery.ID(o.d.ID), webhookdelivery.LeaseUntil(*o.d.LeaseUntil)).
		SetAttempts(o.number).SetLastStatus(res.status).ClearLeaseUntil().SetTrigger(webhookdelivery.TriggerAUTOMATIC)
	outcome := "retry"
	switch next, retry := e.nextAttempt(o.number, o.now, res.retryAfter); {
	case ok:
		upd.SetStatus(webhookdelivery.StatusSUCCEEDED)
		outcome = "succeeded"
	case gone || !retry:
		upd.SetStatus(webhookdelivery.StatusFAILED)
		outcome = "failed"
	default:
		upd.SetNextAttemptAt(next)
	}
	if n, err := upd.Save(ctx); err != nil || n == 0 {
		return err
	}
	s.metrics.attempts.WithLabelValues(outcome).Inc()
	return s.noteEndpointHealth(ctx, tx, o.ep, ok, gone, res.failure(), o.now)
}

func (e *webhookEngine) nextAttempt(number int, now time.Time, retryAfter time.Duration) (time.Time, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.schedule.Next(number, now, retryAfter, e.rnd)
}

// failure says what went wrong with an attempt, for a disabled endpoint's
// reason.
func (r sendResult) failure() string {
	if r.err != nil {
		return r.err.Error()
	}
	return fmt.Sprintf("HTTP %d", r.status)
}

// noteEndpointHealth keeps failing_since, and disables an endpoint that
// answered 410 Gone or has failed for webhooks.disable_after.
func (s *Server) noteEndpointHealth(ctx context.Context, tx *ent.Tx, ep *ent.WebhookEndpoint, ok, gone bool, failure string, now time.Time) error {
	switch {
	case ok:
		if ep.FailingSince == nil {
			return nil
		}
		// Update, not UpdateOne: an endpoint deleted meanwhile is no error.
		return tx.WebhookEndpoint.Update().Where(webhookendpoint.ID(ep.ID)).ClearFailingSince().Exec(ctx)
	case gone:
		return s.disableEndpoint(ctx, tx, ep.ID, "the endpoint answered 410 Gone", now)
	}
	// ep was read before the request; another attempt may have succeeded
	// (ending the streak) or failed (starting one) since. Judge by the
	// endpoint as it is now, locked until this outcome is recorded.
	cur, err := tx.WebhookEndpoint.Query().Where(webhookendpoint.ID(ep.ID)).Modify(database.ForUpdate).Only(ctx)
	switch {
	case ent.IsNotFound(err):
		return nil // deleted meanwhile
	case err != nil:
		return err
	case !cur.Enabled:
		return nil
	case cur.FailingSince == nil:
		return tx.WebhookEndpoint.UpdateOneID(ep.ID).SetFailingSince(now).Exec(ctx)
	case now.Sub(*cur.FailingSince) >= s.cfg.Webhooks.DisableAfter:
		return s.disableEndpoint(ctx, tx, ep.ID, fmt.Sprintf("every attempt has failed since %s; the last: %s",
			cur.FailingSince.UTC().Format(time.RFC3339), failure), now)
	}
	return nil
}

// disableEndpoint turns an endpoint off and fails its pending deliveries;
// the reason shows on the endpoint.
func (s *Server) disableEndpoint(ctx context.Context, tx *ent.Tx, id, reason string, now time.Time) error {
	n, err := tx.WebhookEndpoint.Update().Where(webhookendpoint.ID(id), webhookendpoint.Enabled(true)).
		SetEnabled(false).SetDisabledReason(reason).SetDisabledAt(now).Save(ctx)
	if err != nil || n == 0 {
		return err
	}
	s.log.WarnContext(ctx, "webhook endpoint disabled", "endpoint_id", id, "reason", reason)
	return tx.WebhookDelivery.Update().
		Where(webhookdelivery.EndpointID(id), webhookdelivery.StatusEQ(webhookdelivery.StatusPENDING), webhookdelivery.LeaseUntilIsNil()).
		SetStatus(webhookdelivery.StatusFAILED).Exec(ctx)
}
