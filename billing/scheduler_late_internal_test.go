package billing

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/paymux/paymux/ent/payment"
	"github.com/paymux/paymux/ent/schedule"
	paymentsvc "github.com/paymux/paymux/payment"
	"github.com/paymux/paymux/providers"
	"github.com/paymux/paymux/providers/sandbox"
	"github.com/paymux/paymux/tenant"
)

// lateChargePG is the sandbox with a billing-key charge that times out for
// paymux but lands at the PG a moment later.
type lateChargePG struct {
	*sandbox.Sandbox
	mu    *sync.Mutex
	sent  map[string]int
	later *sync.WaitGroup
}

func (p lateChargePG) ChargeBillingKey(ctx context.Context, ch providers.Channel, req providers.ChargeBillingKeyRequest) (*providers.Payment, error) {
	p.mu.Lock()
	p.sent[req.OrderID]++
	first := p.sent[req.OrderID] == 1
	p.mu.Unlock()
	if !first {
		return p.Sandbox.ChargeBillingKey(ctx, ch, req)
	}
	p.later.Add(1)
	go func() {
		defer p.later.Done()
		time.Sleep(200 * time.Millisecond)
		_, _ = p.Sandbox.ChargeBillingKey(context.Background(), ch, req)
	}()
	return nil, &providers.Error{Kind: providers.KindTimeout, Provider: sandbox.Name, Op: "ChargeBillingKey", Message: "no answer"}
}

// TestScheduleLateChargeNotDeclaredNotMade: a scheduled charge whose answer
// is lost, and which the PG makes a moment later, is not declared "not
// charged" (which would fail the schedule and have its retry charge again
// under a new order id): it stays PAY_PENDING until the sweep, after
// 2 × pg_timeout, finds the charge at the PG and records it.
func TestScheduleLateChargeNotDeclaredNotMade(t *testing.T) {
	pg := lateChargePG{mu: &sync.Mutex{}, sent: map[string]int{}, later: &sync.WaitGroup{}}
	e := sixNewEnv(t, func(c *sixConfig) { c.Payments.SweepInterval = time.Hour }, func(sb *sandbox.Sandbox) providers.Provider {
		pg.Sandbox = sb
		return pg
	})
	key := e.issueKey(t, "late-key", sandbox.CardSuccess)
	payAt := e.clock.Now().Add(time.Minute).Truncate(time.Second)
	const mid = "late-00"
	if _, err := e.billing.CreateSchedules(e.caller, key, []ScheduleInput{{
		MerchantPaymentID: mid, PayAt: payAt, Amount: paymentsvc.Amount{Total: 1000}, OrderName: "late",
		// A failure would be retried: the test shows there is none.
		Retry: &RetryPolicy{Interval: time.Minute, MaxRetries: 1},
	}}); err != nil {
		t.Fatal(err)
	}
	ctx := tenant.System(context.Background())

	e.clock.Set(payAt.Add(time.Millisecond))
	if n, err := e.sched.runDue(context.Background()); err != nil || n != 1 {
		t.Fatalf("runDue: %d, %v", n, err)
	}
	p, err := e.db.Payment.Query().Where(payment.MerchantPaymentID(mid)).Only(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if p.Status != payment.StatusPAY_PENDING {
		t.Fatalf("after a lost answer the payment is %s, want PAY_PENDING", p.Status)
	}
	pg.later.Wait() // the charge lands at the PG

	e.sweeper.Sweep(context.Background()) // too early: nothing moves
	if p, _ = e.db.Payment.Get(ctx, p.ID); p.Status != payment.StatusPAY_PENDING {
		t.Fatalf("swept within 2 × pg_timeout: %s", p.Status)
	}
	e.clock.Advance(3 * time.Second)
	e.sweeper.Sweep(context.Background())
	if p, _ = e.db.Payment.Get(ctx, p.ID); p.Status != payment.StatusPAID {
		t.Fatalf("after the sweep the payment is %s (%v), want PAID", p.Status, p.Failure)
	}
	r, err := e.db.Schedule.Query().Where(schedule.MerchantPaymentID(mid)).Only(ctx)
	if err != nil || r.Status != schedule.StatusSUCCEEDED {
		t.Fatalf("schedule: %v %v", r, err)
	}
	if n, _ := e.db.Schedule.Query().Count(ctx); n != 1 {
		t.Errorf("%d schedules, want 1 (no retry)", n)
	}
	pg.mu.Lock()
	defer pg.mu.Unlock()
	if pg.sent[p.ID] != 1 {
		t.Errorf("ChargeBillingKey sent %d times for %s; the sweep found the charge and should not send it again", pg.sent[p.ID], p.ID)
	}
}
