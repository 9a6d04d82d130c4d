package webhook

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"entgo.io/ent/dialect"
	"entgo.io/ent/dialect/sql"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/paymux/paymux/database"
	"github.com/paymux/paymux/ent"
	"github.com/paymux/paymux/ent/event"
	"github.com/paymux/paymux/ent/webhookattempt"
	"github.com/paymux/paymux/ent/webhookdelivery"
	"github.com/paymux/paymux/ent/webhookendpoint"
	"github.com/paymux/paymux/secrets"
	"github.com/paymux/paymux/tenant"
)

// How webhooks leave paymux:
//
//  1. An event is written in the same transaction as the change it reports,
//     with one WebhookDelivery per endpoint that wants it (Outbox.Enqueue).
//  2. The Dispatcher claims due deliveries with a lease (FOR UPDATE SKIP
//     LOCKED on PostgreSQL, so replicas share the work without taking the
//     same one), reading their endpoints and events in the same
//     transaction, and sends each in its own goroutine: an endpoint holds at
//     most its cap of the workers (capLocked), never the others' deliveries.
//  3. Each attempt is logged (outcomes waiting are written in one
//     transaction, recordLoop); the delivery succeeds (2xx; for PAYACTION,
//     200 with {"status":"success"}), is retried on the schedule
//     (Retry-After honoured), or fails for good. 410 Gone and an endpoint
//     failing for webhooks.disable_after disable the endpoint (health.go).
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

// leaseMargin is what a lease allows beyond webhooks.timeout: the database
// work after the request (recording the outcome), milliseconds normally. It
// is also how long a crashed worker's deliveries wait, beyond the timeout,
// to be sent again.
const leaseMargin = 5 * time.Second

// recordBatch bounds the outcomes recordLoop writes in one transaction.
const recordBatch = 200

// Dispatcher sends queued deliveries: a Runner (Run) that claims due
// deliveries, sends them on a bounded pool of workers, records each
// attempt, retries on the schedule and disables dead endpoints.
type Dispatcher struct {
	db       *ent.Client
	cfg      Config
	log      *slog.Logger
	sender   *sender
	health   health
	schedule Schedule
	attempts *prometheus.CounterVec

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
	// finish wakes the dispatcher to take them, rather than leaving its
	// worker idle until the next poll.
	backlog atomic.Bool
}

// NewDispatcher returns a Dispatcher over db. Endpoint secrets are opened
// with keyring; now is the clock. Its metrics
// (paymux_webhook_attempts_total, paymux_webhook_deliveries_due) are
// registered on reg (none when reg is nil). It starts nothing: call Run.
func NewDispatcher(db *ent.Client, keyring *secrets.Keyring, cfg Config, now func() time.Time, log *slog.Logger, reg prometheus.Registerer) (*Dispatcher, error) {
	schedule, err := cfg.schedule()
	if err != nil {
		return nil, err
	}
	d := &Dispatcher{
		db:       db,
		cfg:      cfg,
		log:      log,
		sender:   newSender(keyring, cfg, now),
		health:   health{disableAfter: cfg.DisableAfter, log: log},
		schedule: schedule,
		wakeCh:   make(chan struct{}, 1),
		outcomes: make(chan *outcome, cfg.Workers),
		slots:    make(chan struct{}, cfg.Workers),
		busy:     map[string]int{},
		slow:     map[string]bool{},
		rnd:      rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64())),
	}
	if err := d.registerMetrics(reg); err != nil {
		return nil, err
	}
	return d, nil
}

// Wake makes the dispatcher look for due deliveries now, not at its next
// poll. It never blocks.
func (d *Dispatcher) Wake() {
	select {
	case d.wakeCh <- struct{}{}:
	default:
	}
}

// Run claims and sends due deliveries until ctx ends, then waits for the
// attempts in flight and records their outcomes. It returns nil then.
func (d *Dispatcher) Run(ctx context.Context) error {
	// The recorder outlives ctx until every attempt in flight is written.
	rctx, stopRecorder := context.WithCancel(context.WithoutCancel(ctx))
	recorded := make(chan struct{})
	go func() {
		defer close(recorded)
		d.recordLoop(rctx)
	}()
	defer func() {
		d.wg.Wait()
		stopRecorder()
		<-recorded
	}()
	t := time.NewTicker(d.cfg.PollInterval)
	defer t.Stop()
	for {
		for d.dispatch(ctx) {
			// A full batch: there may be more due at once.
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		case <-d.wakeCh:
		}
	}
}

// capLocked is endpoint id's cap; called with d.mu held.
func (d *Dispatcher) capLocked(id string) int {
	if d.slow[id] {
		return perEndpoint
	}
	return max(perEndpoint, cap(d.slots)/4)
}

// dispatch claims as many due deliveries as there are free workers and
// starts them; it reports whether it filled every free worker.
func (d *Dispatcher) dispatch(ctx context.Context) bool {
	if ctx.Err() != nil {
		return false
	}
	free := cap(d.slots) - len(d.slots)
	if free == 0 {
		d.backlog.Store(true)
		return false
	}
	claimed, more, err := d.claim(ctx, free)
	if err != nil {
		if ctx.Err() == nil {
			d.log.WarnContext(ctx, "webhooks: claim", "error", err)
		}
		return false
	}
	if more {
		d.backlog.Store(true)
	}
	for _, c := range claimed {
		del := c.d
		d.slots <- struct{}{}
		d.mu.Lock()
		d.busy[del.EndpointID]++
		d.mu.Unlock()
		d.wg.Add(1)
		go func() {
			defer d.wg.Done()
			defer func() {
				d.mu.Lock()
				// An endpoint at its cap had its due deliveries left out of
				// every claim: one of them may go now.
				wasFull := d.busy[del.EndpointID] >= d.capLocked(del.EndpointID)
				if d.busy[del.EndpointID]--; d.busy[del.EndpointID] <= 0 {
					delete(d.busy, del.EndpointID)
				}
				d.mu.Unlock()
				<-d.slots
				if d.backlog.Swap(false) || wasFull {
					d.Wake()
				}
			}()
			// Not cut short by shutdown (an attempt is seen through), but
			// never outliving its lease: past it another worker may have
			// taken the delivery, and must not find this one still sending.
			actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), d.lease())
			defer cancel()
			if err := d.attempt(actx, c); err != nil {
				d.log.WarnContext(ctx, "webhooks: attempt", "delivery_id", del.ID, "error", err)
			}
		}()
	}
	return len(claimed) == free
}

// lease is how long a claimed delivery is ours: the attempt's timeout and
// room to read what it sends and record what came back.
func (d *Dispatcher) lease() time.Duration { return d.cfg.Timeout + leaseMargin }

// claimedDelivery is a claimed delivery with what its attempt sends: its
// endpoint and its event (nil when gone).
type claimedDelivery struct {
	d  *ent.WebhookDelivery
	ep *ent.WebhookEndpoint
	ev *ent.Event
}

// claim takes up to n due deliveries whose endpoints have a free worker.
// more reports that it may have left due ones behind.
func (d *Dispatcher) claim(ctx context.Context, n int) (out []*claimedDelivery, more bool, err error) {
	ctx = tenant.System(ctx)
	d.mu.Lock()
	var full []string
	for id, k := range d.busy {
		if k >= d.capLocked(id) {
			full = append(full, id)
		}
	}
	d.mu.Unlock()
	now := d.sender.clock()
	err = database.InTx(ctx, d.db, func(tx *ent.Tx) error {
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
		for _, row := range rows {
			d.mu.Lock()
			inFlight, limit := d.busy[row.EndpointID], d.capLocked(row.EndpointID)
			d.mu.Unlock()
			if inFlight+per[row.EndpointID] >= limit {
				continue
			}
			per[row.EndpointID]++
			ids = append(ids, row.ID)
			out = append(out, &claimedDelivery{d: row})
		}
		more = len(rows) == n || len(out) < len(rows)
		until := now.Add(d.lease())
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

// attempt sends one claimed delivery and waits for its outcome to be
// recorded.
func (d *Dispatcher) attempt(ctx context.Context, c *claimedDelivery) error {
	del, ep, ev := c.d, c.ep, c.ev
	ctx = tenant.System(ctx)
	// A deleted or disabled endpoint, an event gone (a TEST call's record
	// resent by hand, say), or one the endpoint's format cannot carry (its
	// content type changed to PAYACTION since): nothing to send.
	if ep == nil || !ep.Enabled || ev == nil || !carries(ep.ContentType, ev.Type) {
		return d.db.WebhookDelivery.UpdateOne(del).SetStatus(webhookdelivery.StatusFAILED).ClearLeaseUntil().Exec(ctx)
	}
	r, err := d.sender.build(ep, ev)
	if err != nil {
		return err
	}
	res := d.sender.send(ctx, r)
	d.mu.Lock()
	if res.err != nil || res.status >= 500 || res.latency >= slowAttempt {
		d.slow[ep.ID] = true
	} else {
		delete(d.slow, ep.ID)
	}
	d.mu.Unlock()
	o := &outcome{ep: ep, d: del, number: del.Attempts + 1, r: r, res: res, now: d.sender.clock(), done: make(chan error, 1)}
	select {
	case d.outcomes <- o:
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
	r      *request
	res    result
	now    time.Time
	done   chan error
}

// recordLoop writes attempts' outcomes, all those waiting in one
// transaction: under load one commit serves many attempts (SQLite has one
// writer; PostgreSQL flushes its log at each commit), and alone an outcome
// is written at once.
func (d *Dispatcher) recordLoop(ctx context.Context) {
	for {
		var batch []*outcome
		select {
		case <-ctx.Done():
			return
		case o := <-d.outcomes:
			batch = append(batch, o)
		}
	more:
		for len(batch) < recordBatch {
			select {
			case o := <-d.outcomes:
				batch = append(batch, o)
			default:
				break more
			}
		}
		err := database.InTx(tenant.System(ctx), d.db, func(tx *ent.Tx) error {
			for _, o := range batch {
				if err := d.record(tenant.System(ctx), tx, o); err != nil {
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
func (d *Dispatcher) record(ctx context.Context, tx *ent.Tx, o *outcome) error {
	res := o.res
	ok := res.ok()
	gone := res.err == nil && res.status == http.StatusGone
	if _, err := d.sender.logAttempt(ctx, tx.Client(), o.ep, o.d.ID, o.number, webhookattempt.Trigger(o.d.Trigger), o.r, res); err != nil {
		return err
	}
	// Only while the lease is ours: if it ran out and another worker took
	// the delivery, that worker records its own outcome.
	upd := tx.WebhookDelivery.Update().
		Where(webhookdelivery.ID(o.d.ID), webhookdelivery.LeaseUntil(*o.d.LeaseUntil)).
		SetAttempts(o.number).SetLastStatus(res.status).ClearLeaseUntil().SetTrigger(webhookdelivery.TriggerAUTOMATIC)
	outcome := "retry"
	switch next, retry := d.nextAttempt(o.number, o.now, res.retryAfter); {
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
	d.attempts.WithLabelValues(outcome).Inc()
	return d.health.note(ctx, tx, o.ep, ok, gone, res.failure(), o.now)
}

func (d *Dispatcher) nextAttempt(number int, now time.Time, retryAfter time.Duration) (time.Time, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.schedule.Next(number, now, retryAfter, d.rnd)
}
