package billing

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/paymux/paymux/ent"
	"github.com/paymux/paymux/ent/payment"
	"github.com/paymux/paymux/ent/schedule"
	paymentsvc "github.com/paymux/paymux/payment"
	"github.com/paymux/paymux/providers"
	"github.com/paymux/paymux/providers/sandbox"
	"github.com/paymux/paymux/tenant"
)

// Crash recovery of the schedule executor, driven step by step: the claim
// (schedules STARTED with PAY_PENDING payments) without the charge that
// follows it, a charge the PG made that paymux never recorded, clock
// jumps, and a PG slow enough that claimed charges wait for a worker.

// sixClock is a clock the test sets.
type sixClock struct {
	mu     sync.Mutex
	offset time.Duration
}

func (c *sixClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

func (c *sixClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.offset += d
	c.mu.Unlock()
}

// Set makes the clock read at now, and go on from there.
func (c *sixClock) Set(at time.Time) {
	c.mu.Lock()
	c.offset = time.Until(at)
	c.mu.Unlock()
}

func (e *sixEnv) issueKey(t *testing.T, name, card string) string {
	t.Helper()
	k, err := e.billing.IssueBillingKey(e.caller, IssueInput{
		KeyInput: KeyInput{StoreID: e.storeID, Name: name},
		Card: providers.CardData{Number: providers.NewCardNumber(card), ExpiryYear: 2030, ExpiryMonth: 12,
			OwnerID: providers.NewRedacted("900101"), Password2: providers.NewRedacted("12")},
	})
	if err != nil {
		t.Fatalf("issue billing key %s: %v", name, err)
	}
	return k.Name
}

// createSchedules creates n schedules on key due at payAt, merchant
// payment ids prefix-00 ..., and returns those ids.
func (e *sixEnv) createSchedules(t *testing.T, key, prefix string, n int, payAt time.Time) []string {
	t.Helper()
	var in []ScheduleInput
	var mids []string
	for i := range n {
		mid := fmt.Sprintf("%s-%02d", prefix, i)
		mids = append(mids, mid)
		in = append(in, ScheduleInput{
			MerchantPaymentID: mid, PayAt: payAt,
			Amount: paymentsvc.Amount{Total: int64(1000 + 100*i)}, OrderName: "six " + mid,
		})
	}
	if _, err := e.billing.CreateSchedules(e.caller, key, in); err != nil {
		t.Fatalf("create schedules: %v", err)
	}
	return mids
}

// sixJobCtx is the context the scheduler's runDue gives claim.
func sixJobCtx() context.Context {
	return tenant.System(context.Background())
}

// sixState is what the database and the PG hold for some schedules.
type sixState struct {
	rows    map[string]*ent.Schedule  // by merchant payment id
	pays    map[string][]*ent.Payment // by merchant payment id
	charges map[string]providers.Payment
	// chargesTotal counts every order the PG holds for the channel.
	chargesTotal int
}

func (e *sixEnv) state(t *testing.T, ch providers.Channel, mids []string) sixState {
	t.Helper()
	ctx := tenant.System(context.Background())
	st := sixState{rows: map[string]*ent.Schedule{}, pays: map[string][]*ent.Payment{}, charges: map[string]providers.Payment{}}
	rows, err := e.db.Schedule.Query().Where(schedule.MerchantPaymentIDIn(mids...)).All(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		st.rows[r.MerchantPaymentID] = r
	}
	pays, err := e.db.Payment.Query().Where(payment.MerchantPaymentIDIn(mids...)).All(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pays {
		st.pays[p.MerchantPaymentID] = append(st.pays[p.MerchantPaymentID], p)
	}
	all := e.sandbox.Payments(ch)
	st.chargesTotal = len(all)
	for _, c := range all {
		if _, dup := st.charges[c.OrderID]; dup {
			t.Errorf("the PG holds order %s twice", c.OrderID)
		}
		st.charges[c.OrderID] = c
	}
	return st
}

// onePayment answers the one payment of schedule mid, failing the test if
// it has none or several, or if it is not the schedule's.
func (st sixState) onePayment(t *testing.T, mid string) *ent.Payment {
	t.Helper()
	r, ps := st.rows[mid], st.pays[mid]
	if r == nil {
		t.Fatalf("schedule %s not found", mid)
	}
	if len(ps) != 1 {
		t.Fatalf("schedule %s (%s) has %d payments, want 1", mid, r.Status, len(ps))
	}
	if ps[0].ID != r.PaymentID || ps[0].ScheduleID != r.ID {
		t.Fatalf("schedule %s names payment %q; its payment %s names schedule %q", mid, r.PaymentID, ps[0].ID, ps[0].ScheduleID)
	}
	return ps[0]
}

// agree asserts that paymux and the PG tell the same story of every
// payment: PAID in paymux exactly when the PG holds a PAID charge of its
// amount.
func (st sixState) agree(t *testing.T, mids []string) {
	t.Helper()
	for _, mid := range mids {
		p := st.onePayment(t, mid)
		c, charged := st.charges[p.ID]
		charged = charged && c.Status == providers.StatusPaid
		switch {
		case charged && p.Status != payment.StatusPAID:
			t.Errorf("schedule %s: the PG charged order %s %d won, paymux recorded it %s (%v); the schedule is %s",
				mid, p.ID, c.Amounts.Total, p.Status, p.Failure, st.rows[mid].Status)
		case !charged && p.Status == payment.StatusPAID:
			t.Errorf("schedule %s: payment %s PAID in paymux, the PG holds no charge", mid, p.ID)
		case charged && c.Amounts.Total != p.Total:
			t.Errorf("schedule %s: the PG charged %d, the payment is for %d", mid, c.Amounts.Total, p.Total)
		}
	}
}

func (e *sixEnv) waitEnded(t *testing.T, ch providers.Channel, mids []string, timeout time.Duration) sixState {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		st := e.state(t, ch, mids)
		open := 0
		for _, r := range st.rows {
			if r.Status == schedule.StatusSCHEDULED || r.Status == schedule.StatusSTARTED {
				open++
			}
		}
		if open == 0 {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %s, %d of %d schedules are still SCHEDULED or STARTED", timeout, open, len(mids))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// claimAll runs the executor's claim step alone: the schedules STARTED,
// their payments PAY_PENDING, no PG call ("a crash before the charge").
func (e *sixEnv) claimAll(t *testing.T, want int) []*startedSchedule {
	t.Helper()
	started, claimed, err := e.sched.claim(sixJobCtx())
	if err != nil {
		t.Fatal(err)
	}
	if claimed != want || len(started) != want {
		t.Fatalf("claim took %d and started %d schedules, want %d", claimed, len(started), want)
	}
	sort.Slice(started, func(i, j int) bool { return started[i].sch.MerchantPaymentID < started[j].sch.MerchantPaymentID })
	return started
}

func (e *sixEnv) wantNothingDue(t *testing.T, when string) {
	t.Helper()
	n, err := e.sched.runDue(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Fatalf("%s: the executor claimed %d schedules again", when, n)
	}
}

// TestScheduleCrashRecovery: the executor claimed schedules and "crashed":
// some before the PG call, some after the PG charged but before paymux
// recorded it. Within 2 × pg_timeout nothing touches them (a PG call could
// be under way); past it, the sweep asks the PG about each: a charge it
// holds is recorded (PAID, SUCCEEDED) and never sent again, a charge it
// does not hold is sent once more under the same order id and idempotency
// key (PAID, or FAILED when the card declines). One payment per schedule,
// one charge per order.
func TestScheduleCrashRecovery(t *testing.T) {
	e := sixNewEnv(t, nil, nil)
	key := e.issueKey(t, "six-crash-key", sandbox.CardSuccess)
	declining := e.issueKey(t, "six-crash-declines", sandbox.CardBillingDeclines)
	const n, nd = 20, 4
	payAt := e.clock.Now().Add(time.Minute).Truncate(time.Second)
	mids := e.createSchedules(t, key, "six-crash", n, payAt)
	midsD := e.createSchedules(t, declining, "six-crash-d", nd, payAt)
	all := append(append([]string{}, mids...), midsD...)
	e.clock.Set(payAt.Add(time.Second))

	started := e.claimAll(t, n+nd)
	ch := started[0].ch.PG
	st := e.state(t, ch, all)
	for _, mid := range all {
		if r, p := st.rows[mid], st.onePayment(t, mid); r.Status != schedule.StatusSTARTED || p.Status != payment.StatusPAY_PENDING {
			t.Fatalf("after the claim, schedule %s is %s with payment %s, want STARTED and PAY_PENDING", mid, r.Status, p.Status)
		}
	}
	if st.chargesTotal != 0 {
		t.Fatalf("the claim alone charged %d orders", st.chargesTotal)
	}

	// The PG charged every other one of the card that pays; paymux never
	// heard of it.
	charged := map[string]string{} // merchant payment id -> PG transaction id
	ctx := sixJobCtx()
	for i, s := range started {
		if s.key.Name != key || i%2 != 0 {
			continue
		}
		pgKey, err := e.billing.openBillingKey(s.key)
		if err != nil {
			t.Fatal(err)
		}
		res, err := e.sandbox.ChargeBillingKey(ctx, s.ch.PG, providers.ChargeBillingKeyRequest{
			BillingKey: pgKey, CustomerKey: s.key.Name, OrderID: s.p.ID, OrderName: s.p.OrderName,
			Amount: paymentsvc.PGAmount(s.p), IdempotencyKey: s.p.ID,
		})
		if err != nil {
			t.Fatalf("charge %s at the sandbox: %v", s.p.ID, err)
		}
		charged[s.sch.MerchantPaymentID] = res.PGTransactionID
	}

	// Within 2 × pg_timeout a PG call could still be under way: the sweep
	// leaves the payments alone, and the executor does not take the
	// schedules again.
	time.Sleep(200 * time.Millisecond)
	e.wantNothingDue(t, "after the crash")
	st = e.state(t, ch, all)
	for _, mid := range all {
		if r, p := st.rows[mid], st.onePayment(t, mid); r.Status != schedule.StatusSTARTED || p.Status != payment.StatusPAY_PENDING {
			t.Fatalf("before 2 × pg_timeout, schedule %s is %s with payment %s, want STARTED and PAY_PENDING", mid, r.Status, p.Status)
		}
	}
	if st.chargesTotal != len(charged) {
		t.Fatalf("before 2 × pg_timeout the PG holds %d orders, want %d", st.chargesTotal, len(charged))
	}

	// Past 2 × pg_timeout the sweep asks the PG.
	e.clock.Advance(3 * time.Second)
	st = e.waitEnded(t, ch, all, 5*time.Second)
	for _, mid := range mids {
		r, p := st.rows[mid], st.onePayment(t, mid)
		if r.Status != schedule.StatusSUCCEEDED || p.Status != payment.StatusPAID || p.Paid != p.Total {
			t.Errorf("schedule %s: %s with payment %s (paid %d of %d, %v), want SUCCEEDED and PAID", mid, r.Status, p.Status, p.Paid, p.Total, p.Failure)
		}
		if tid, ok := charged[mid]; ok && (p.PgTransactionID != tid || st.charges[p.ID].PGTransactionID != tid) {
			t.Errorf("schedule %s: charged at the PG as %s before the crash; paymux recorded %s, the PG holds %s",
				mid, tid, p.PgTransactionID, st.charges[p.ID].PGTransactionID)
		}
	}
	for _, mid := range midsD {
		r, p := st.rows[mid], st.onePayment(t, mid)
		if r.Status != schedule.StatusFAILED || p.Status != payment.StatusFAILED || p.Failure == nil || p.Failure.Reason != paymentsvc.FailDeclined {
			t.Errorf("schedule %s (card declines): %s with payment %s (%v), want FAILED and FAILED %s", mid, r.Status, p.Status, p.Failure, paymentsvc.FailDeclined)
		}
		if c := st.charges[p.ID]; c.Status != providers.StatusFailed {
			t.Errorf("schedule %s (card declines): the PG holds %q for order %s, want one declined charge", mid, c.Status, p.ID)
		}
	}
	st.agree(t, all)
	if st.chargesTotal != n+nd {
		t.Errorf("the PG holds %d orders, want %d: one per schedule", st.chargesTotal, n+nd)
	}

	// Settled for good: neither the executor nor another sweep changes
	// anything.
	e.wantNothingDue(t, "after the sweep")
	e.sweeper.Sweep(context.Background())
	again := e.state(t, ch, all)
	for _, mid := range all {
		if a, b := st.rows[mid], again.rows[mid]; a.Status != b.Status || !a.UpdatedAt.Equal(b.UpdatedAt) {
			t.Errorf("schedule %s moved after it ended: %s -> %s", mid, a.Status, b.Status)
		}
	}
	if again.chargesTotal != n+nd {
		t.Errorf("the PG holds %d orders after another sweep, want %d", again.chargesTotal, n+nd)
	}
}

// TestScheduleClockJumpDoesNotRerun: the server clock jumping back before
// the schedules' pay times (NTP, a VM restore) after they were charged or
// claimed does not run them again: no claim, no new payment, no charge;
// nor does the sweep settle a claimed payment early. Forward again, the
// claimed ones are settled once (their charge sent under the same order
// id), and further jumps change nothing.
func TestScheduleClockJumpDoesNotRerun(t *testing.T) {
	e := sixNewEnv(t, nil, nil)
	key := e.issueKey(t, "six-jump-key", sandbox.CardSuccess)
	t0 := e.clock.Now()
	payA := t0.Add(time.Minute).Truncate(time.Second)
	payB := payA.Add(time.Minute)
	const n = 10
	midsA := e.createSchedules(t, key, "six-jump-a", n, payA)
	midsB := e.createSchedules(t, key, "six-jump-b", n, payB)
	all := append(append([]string{}, midsA...), midsB...)

	// A: due, claimed and charged by the executor.
	e.clock.Set(payA.Add(time.Second))
	if got, err := e.sched.runDue(context.Background()); err != nil || got != n {
		t.Fatalf("runDue: %d, %v; want %d", got, err, n)
	}
	// B: due and claimed, the charge lost in a crash.
	e.clock.Set(payB.Add(time.Second))
	started := e.claimAll(t, n)
	ch := started[0].ch.PG

	check := func(when string, bEnded bool) sixState {
		t.Helper()
		st := e.state(t, ch, all)
		for _, mid := range midsA {
			if r, p := st.rows[mid], st.onePayment(t, mid); r.Status != schedule.StatusSUCCEEDED || p.Status != payment.StatusPAID {
				t.Fatalf("%s: schedule %s is %s with payment %s, want SUCCEEDED and PAID", when, mid, r.Status, p.Status)
			}
		}
		for _, mid := range midsB {
			r, p := st.rows[mid], st.onePayment(t, mid)
			switch {
			case !bEnded && (r.Status != schedule.StatusSTARTED || p.Status != payment.StatusPAY_PENDING):
				t.Fatalf("%s: schedule %s is %s with payment %s, want STARTED and PAY_PENDING", when, mid, r.Status, p.Status)
			case bEnded && (r.Status != schedule.StatusSUCCEEDED || p.Status != payment.StatusPAID):
				t.Fatalf("%s: schedule %s is %s with payment %s, want SUCCEEDED and PAID", when, mid, r.Status, p.Status)
			}
		}
		st.agree(t, all)
		want := n
		if bEnded {
			want = 2 * n
		}
		if st.chargesTotal != want {
			t.Fatalf("%s: the PG holds %d orders, want %d", when, st.chargesTotal, want)
		}
		return st
	}
	check("after the claims", false)

	// The clock jumps back an hour, before every pay time.
	e.clock.Set(t0.Add(-time.Hour))
	e.wantNothingDue(t, "an hour back")
	e.sweeper.Sweep(context.Background())
	time.Sleep(100 * time.Millisecond) // and the sweep loop's own turns
	check("an hour back", false)

	// Forward again, past the pay times and 2 × pg_timeout: the sweep
	// finds no charge for B at the PG and sends each once; nothing is
	// claimed again.
	e.clock.Set(payB.Add(5 * time.Second))
	e.waitEnded(t, ch, all, 5*time.Second)
	e.wantNothingDue(t, "forward again")
	settled := check("forward again", true)

	// Back and forth once more: nothing moves.
	e.clock.Set(t0.Add(-24 * time.Hour))
	e.wantNothingDue(t, "a day back")
	e.sweeper.Sweep(context.Background())
	e.clock.Set(payB.Add(time.Hour))
	e.wantNothingDue(t, "an hour ahead")
	e.sweeper.Sweep(context.Background())
	final := check("an hour ahead", true)
	for _, mid := range all {
		if a, b := settled.rows[mid], final.rows[mid]; !a.UpdatedAt.Equal(b.UpdatedAt) {
			t.Errorf("schedule %s changed after it ended (%s -> %s)", mid, a.UpdatedAt, b.UpdatedAt)
		}
	}
}

// sixSlowPG is the sandbox with billing-key charges that take delay, within
// payments.pg_timeout: a PG under load.
type sixSlowPG struct {
	*sandbox.Sandbox
	delay time.Duration
	mu    *sync.Mutex
	sent  map[string]int // ChargeBillingKey calls by order id
}

func (p sixSlowPG) ChargeBillingKey(ctx context.Context, ch providers.Channel, req providers.ChargeBillingKeyRequest) (*providers.Payment, error) {
	p.mu.Lock()
	p.sent[req.OrderID]++
	p.mu.Unlock()
	select {
	case <-time.After(p.delay):
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return p.Sandbox.ChargeBillingKey(ctx, ch, req)
}

// TestScheduleQueuedChargeNotSweptAsUncharged: claimed schedules wait for a
// worker (billing.workers) before their PG call. Each PG call answers
// within pg_timeout, but the last ones of the batch start more than
// 2 × pg_timeout after the claim made their payments PAY_PENDING, so the
// sweep takes them up while the worker still holds them. Whatever the two
// do, paymux and the PG must agree on every payment, with one charge per
// order.
func TestScheduleQueuedChargeNotSweptAsUncharged(t *testing.T) {
	const delay = 600 * time.Millisecond // pg_timeout is 1 s
	pg := sixSlowPG{delay: delay, mu: &sync.Mutex{}, sent: map[string]int{}}
	e := sixNewEnv(t, func(c *sixConfig) {
		c.Billing.Workers = 1
		c.Payments.SweepInterval = time.Hour // swept by the test below, after the PG is replaced
	}, func(sb *sandbox.Sandbox) providers.Provider {
		pg.Sandbox = sb
		return pg
	})
	key := e.issueKey(t, "six-slow-key", sandbox.CardSuccess)
	const n = 5
	payAt := e.clock.Now().Add(time.Minute).Truncate(time.Second)
	mids := e.createSchedules(t, key, "six-slow", n, payAt)

	ctx, cancel := context.WithCancel(context.Background())
	var sweeps sync.WaitGroup
	sweeps.Add(1)
	go func() { // the sweep loop, every 20 ms
		defer sweeps.Done()
		for ctx.Err() == nil {
			e.sweeper.Sweep(ctx)
			time.Sleep(20 * time.Millisecond)
		}
	}()
	defer func() { cancel(); sweeps.Wait() }()

	e.clock.Set(payAt.Add(time.Millisecond))
	start := time.Now()
	e.sched.Wake()
	var ch providers.Channel
	for deadline := time.Now().Add(2 * time.Second); ch.ID == ""; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the executor claimed nothing")
		}
		if p, err := e.db.Payment.Query().Where(payment.MerchantPaymentIDIn(mids...)).First(tenant.System(ctx)); err == nil {
			c, err := e.payments.ChannelByID(ctx, p.ChannelID)
			if err != nil {
				t.Fatal(err)
			}
			ch = c.PG
		}
	}
	e.waitEnded(t, ch, mids, 8*time.Second)
	// The worker's last PG call may still be under way: wait it out.
	time.Sleep(time.Until(start.Add(n*delay + 500*time.Millisecond)))
	st := e.state(t, ch, mids)
	st.agree(t, mids)
	pg.mu.Lock()
	defer pg.mu.Unlock()
	for _, mid := range mids {
		p := st.onePayment(t, mid)
		// Sent twice (by the worker and by the sweep) is safe only because
		// the PG dedupes by order id and idempotency key.
		t.Logf("schedule %s: %s, payment %s %v; at the PG: %s after %d ChargeBillingKey calls",
			mid, st.rows[mid].Status, p.Status, p.Failure, st.charges[p.ID].Status, pg.sent[p.ID])
	}
}
