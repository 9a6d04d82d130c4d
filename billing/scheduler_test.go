package billing

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paymux/paymux/apierr"
	"github.com/paymux/paymux/ent"
	"github.com/paymux/paymux/ent/billingkey"
	"github.com/paymux/paymux/ent/event"
	"github.com/paymux/paymux/ent/payment"
	"github.com/paymux/paymux/ent/schedule"
	"github.com/paymux/paymux/internal/testdb"
	paymentsvc "github.com/paymux/paymux/payment"
	"github.com/paymux/paymux/providers"
	"github.com/paymux/paymux/providers/sandbox"
	"github.com/paymux/paymux/tenant"
)

// Focused tests of the Scheduler and Service on SQLite and PostgreSQL,
// with the sandbox PG and no server.

// manual keeps the environment's scheduler from running by itself (not
// even when CreateSchedules wakes it, which could claim what the test
// means to claim with runDue).
func manual(c *sixConfig) { c.manual = true }

// TestSchedulerChargesEachDueScheduleOnce: two replicas, each running its
// scheduler every 20ms, charge schedules falling due at once. Each
// schedule is charged by one of them only: one payment (its id derived
// from the schedule's), one charge at the PG, PAID with the status history
// READY, PAY_PENDING, PAID, and one billing.schedule.succeeded event.
func TestSchedulerChargesEachDueScheduleOnce(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, db *ent.Client) {
		fast := func(c *sixConfig) { c.Billing.PollInterval = 20 * time.Millisecond; c.Billing.Workers = 4 }
		e := sixNewEnvOn(t, db, fast, nil)
		e.replica(t)
		keyA := e.issueKey(t, "once-a", sandbox.CardSuccess)
		keyB := e.issueKey(t, "once-b", sandbox.CardSuccess)
		payAt := e.clock.Now().Add(time.Minute).Truncate(time.Second)
		const n = 30
		mids := append(e.createSchedules(t, keyA, "once-a", n, payAt), e.createSchedules(t, keyB, "once-b", n, payAt)...)
		e.clock.Set(payAt.Add(time.Millisecond))

		ctx := tenant.System(context.Background())
		first, err := e.db.Schedule.Query().Where(schedule.MerchantPaymentID(mids[0])).Only(ctx)
		if err != nil {
			t.Fatal(err)
		}
		ch, err := e.payments.ChannelByID(ctx, first.ChannelID)
		if err != nil {
			t.Fatal(err)
		}
		st := e.waitEnded(t, ch.PG, mids, 20*time.Second)
		st.agree(t, mids)
		if st.chargesTotal != len(mids) {
			t.Errorf("the PG holds %d orders, want %d: one per schedule", st.chargesTotal, len(mids))
		}
		for _, mid := range mids {
			r, p := st.rows[mid], st.onePayment(t, mid)
			if r.Status != schedule.StatusSUCCEEDED || p.Status != payment.StatusPAID {
				t.Errorf("schedule %s: %s with payment %s (%v), want SUCCEEDED and PAID", mid, r.Status, p.Status, p.Failure)
			}
			if want := "pay_" + strings.TrimPrefix(r.ID, "sch_"); p.ID != want {
				t.Errorf("schedule %s made payment %s, want %s", r.ID, p.ID, want)
			}
			if p.BillingKeyID != r.BillingKeyName || p.ScheduleID != r.ID || p.Method != payment.MethodCARD {
				t.Errorf("payment %s: billing key %q, schedule %q, method %s", p.ID, p.BillingKeyID, p.ScheduleID, p.Method)
			}
			history, err := e.db.Event.Query().Where(event.PaymentID(p.ID), event.TypeHasPrefix("payment.")).
				Order(ent.Asc(event.FieldCreatedAt), ent.Asc(event.FieldID)).All(ctx)
			if err != nil {
				t.Fatal(err)
			}
			var types []string
			for _, ev := range history {
				types = append(types, ev.Type)
			}
			if got := strings.Join(types, " "); got != "payment.ready payment.pay_pending payment.paid" {
				t.Errorf("payment %s: history %s", p.ID, got)
			}
		}
		succeeded, err := e.db.Event.Query().Where(event.Type("billing.schedule.succeeded")).Count(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if succeeded != len(mids) {
			t.Errorf("%d billing.schedule.succeeded events, want %d", succeeded, len(mids))
		}
	})
}

// TestSchedulerRetriesPerPolicy: a declined scheduled charge fails its
// schedule and schedules its retry, retry_interval later under the merchant
// payment id with "-retry-N", until max_retries are spent; each try is a
// payment of its own.
func TestSchedulerRetriesPerPolicy(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, db *ent.Client) {
		e := sixNewEnvOn(t, db, manual, nil)
		key := e.issueKey(t, "retry-key", sandbox.CardBillingDeclines)
		payAt := e.clock.Now().Add(time.Minute).Truncate(time.Second)
		if _, err := e.billing.CreateSchedules(e.caller, key, []ScheduleInput{{
			MerchantPaymentID: "retry-00", PayAt: payAt, Amount: paymentsvc.Amount{Total: 5000}, OrderName: "retry",
			Retry: &RetryPolicy{Interval: 10 * time.Minute, MaxRetries: 2},
		}}); err != nil {
			t.Fatal(err)
		}
		ctx := tenant.System(context.Background())
		at := payAt
		for try, mid := range []string{"retry-00", "retry-00-retry-1", "retry-00-retry-2"} {
			e.clock.Set(at.Add(time.Second))
			if n, err := e.sched.runDue(context.Background()); err != nil || n != 1 {
				t.Fatalf("try %d: runDue %d, %v; want 1", try, n, err)
			}
			r, err := e.db.Schedule.Query().Where(schedule.MerchantPaymentID(mid)).Only(ctx)
			if err != nil {
				t.Fatalf("try %d: schedule %s: %v", try, mid, err)
			}
			if r.Status != schedule.StatusFAILED || r.Failure == nil || r.Failure.Reason != paymentsvc.FailDeclined || r.RetryNumber != try {
				t.Fatalf("try %d: schedule %s is %s (%v), retry number %d", try, mid, r.Status, r.Failure, r.RetryNumber)
			}
			if try > 0 && r.RetryOf == "" {
				t.Errorf("try %d: schedule %s names no first try", try, mid)
			}
			p, err := e.db.Payment.Get(ctx, r.PaymentID)
			if err != nil || p.Status != payment.StatusFAILED {
				t.Fatalf("try %d: payment %s: %v %v", try, r.PaymentID, p, err)
			}
			at = at.Add(time.Second + 10*time.Minute)
		}
		if n, _ := e.db.Schedule.Query().Count(ctx); n != 3 {
			t.Errorf("%d schedules, want 3 (the first try and 2 retries)", n)
		}
		e.clock.Set(at.Add(time.Hour))
		e.wantNothingDue(t, "retries spent")
	})
}

// TestSchedulerFailsWhatCannotBeCharged: a due schedule whose billing key
// is no longer ACTIVE fails at the claim, with no payment and no PG call.
func TestSchedulerFailsWhatCannotBeCharged(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, db *ent.Client) {
		e := sixNewEnvOn(t, db, manual, nil)
		key := e.issueKey(t, "gone-key", sandbox.CardSuccess)
		payAt := e.clock.Now().Add(time.Minute).Truncate(time.Second)
		mids := e.createSchedules(t, key, "gone", 2, payAt)
		ctx := tenant.System(context.Background())
		// Deleted behind billing's back (a Delete refuses while schedules
		// are left): the executor must still not charge it.
		if err := e.db.BillingKey.Update().Where(billingkey.Name(key)).SetStatus(billingkey.StatusDELETED).Exec(ctx); err != nil {
			t.Fatal(err)
		}
		e.clock.Set(payAt.Add(time.Second))
		if n, err := e.sched.runDue(context.Background()); err != nil || n != 2 {
			t.Fatalf("runDue: %d, %v; want 2", n, err)
		}
		for _, mid := range mids {
			r, err := e.db.Schedule.Query().Where(schedule.MerchantPaymentID(mid)).Only(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if r.Status != schedule.StatusFAILED || r.Failure == nil || r.Failure.Reason != ReasonBillingKeyDeleted || r.PaymentID != "" {
				t.Errorf("schedule %s: %s (%v) payment %q, want FAILED %s and none", mid, r.Status, r.Failure, r.PaymentID, ReasonBillingKeyDeleted)
			}
		}
		if n, _ := e.db.Payment.Query().Count(ctx); n != 0 {
			t.Errorf("%d payments made for a deleted key", n)
		}
		if n, _ := e.db.Event.Query().Where(event.Type("billing.schedule.failed")).Count(ctx); n != 2 {
			t.Errorf("%d billing.schedule.failed events, want 2", n)
		}
	})
}

// TestSchedulesDueGauge: paymux_schedules_due counts the schedules due and
// not yet started, on the registerer the scheduler was given.
func TestSchedulesDueGauge(t *testing.T) {
	e := sixNewEnv(t, manual, nil)
	due := func() float64 {
		t.Helper()
		families, err := e.registry.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range families {
			if f.GetName() == "paymux_schedules_due" && len(f.GetMetric()) == 1 && f.GetMetric()[0].GetGauge() != nil {
				return f.GetMetric()[0].GetGauge().GetValue()
			}
		}
		t.Fatal("paymux_schedules_due is not registered")
		return 0
	}
	key := e.issueKey(t, "gauge-key", sandbox.CardSuccess)
	payAt := e.clock.Now().Add(time.Minute).Truncate(time.Second)
	e.createSchedules(t, key, "gauge", 3, payAt)
	if got := due(); got != 0 {
		t.Errorf("before the pay time: %v due, want 0", got)
	}
	e.clock.Set(payAt.Add(time.Second))
	if got := due(); got != 3 {
		t.Errorf("at the pay time: %v due, want 3", got)
	}
	if _, err := e.sched.runDue(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := due(); got != 0 {
		t.Errorf("once run: %v due, want 0", got)
	}
}

// TestSchedulerRunWaitsForCharges: Run returns when its context ends, but
// only once the charges it sent are recorded: none is left PAY_PENDING
// for the sweep.
func TestSchedulerRunWaitsForCharges(t *testing.T) {
	pg := sixSlowPG{delay: 300 * time.Millisecond, mu: &sync.Mutex{}, sent: map[string]int{}}
	e := sixNewEnv(t, func(c *sixConfig) { c.Billing.Workers = 4; c.manual = true }, func(sb *sandbox.Sandbox) providers.Provider {
		pg.Sandbox = sb
		return pg
	})
	key := e.issueKey(t, "wait-key", sandbox.CardSuccess)
	payAt := e.clock.Now().Add(time.Minute).Truncate(time.Second)
	mids := e.createSchedules(t, key, "wait", 4, payAt)
	e.clock.Set(payAt.Add(time.Millisecond))

	// A scheduler of its own (the environment's does not run), run and
	// stopped while its PG calls are under way.
	w, err := NewScheduler(e.billing, SchedulerDeps{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	w.Wake()
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		pg.mu.Lock()
		sent := len(pg.sent)
		pg.mu.Unlock()
		if sent == len(mids) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d charges sent", sent, len(mids))
		}
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
	sys := tenant.System(context.Background())
	pays, err := e.db.Payment.Query().Where(payment.MerchantPaymentIDIn(mids...)).All(sys)
	if err != nil {
		t.Fatal(err)
	}
	if len(pays) != len(mids) {
		t.Fatalf("%d payments, want %d", len(pays), len(mids))
	}
	for _, p := range pays {
		if p.Status != payment.StatusPAID {
			t.Errorf("payment %s is %s when Run returned, want PAID", p.ID, p.Status)
		}
	}
}

// TestChargeNow: a billing key charged at once makes a PAID payment that
// names the key, ends no schedule, and a declining card's charge is FAILED
// with the PG's refusal; a deleted key is refused before any payment.
func TestChargeNow(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, db *ent.Client) {
		e := sixNewEnvOn(t, db, nil, nil)
		key := e.issueKey(t, "now-key", sandbox.CardSuccess)
		p, err := e.billing.ChargeNow(e.caller, ChargeInput{
			BillingKey: key, MerchantPaymentID: "now-1", OrderName: "now", Amount: paymentsvc.Amount{Total: 12000},
		})
		if err != nil {
			t.Fatal(err)
		}
		if p.Status != payment.StatusPAID || p.Paid != 12000 || p.BillingKeyID != key || p.ScheduleID != "" {
			t.Errorf("charged: %s paid %d, billing key %q, schedule %q", p.Status, p.Paid, p.BillingKeyID, p.ScheduleID)
		}
		if p.CustomerName != "" || p.KeyID == "" {
			t.Errorf("charged: customer %q, key %q", p.CustomerName, p.KeyID)
		}
		ctx := tenant.System(context.Background())
		if n, _ := e.db.Event.Query().Where(event.TypeHasPrefix("billing.schedule.")).Count(ctx); n != 0 {
			t.Errorf("%d schedule events for a charge no schedule made", n)
		}

		declines := e.issueKey(t, "now-declines", sandbox.CardBillingDeclines)
		p, err = e.billing.ChargeNow(e.caller, ChargeInput{
			BillingKey: declines, MerchantPaymentID: "now-2", OrderName: "now", Amount: paymentsvc.Amount{Total: 12000},
			Customer: &providers.Buyer{Name: "Kim"},
		})
		if apierr.Reason(err) != paymentsvc.ReasonPGProvider || p == nil || p.Status != payment.StatusFAILED || p.CustomerName != "Kim" {
			t.Errorf("declined: %v, %v", p, err)
		}

		if _, _, err := e.billing.Delete(e.caller, DeleteInput{Ref: key}); err != nil {
			t.Fatal(err)
		}
		_, err = e.billing.ChargeNow(e.caller, ChargeInput{
			BillingKey: key, MerchantPaymentID: "now-3", OrderName: "now", Amount: paymentsvc.Amount{Total: 12000},
		})
		if apierr.Reason(err) != ReasonBillingKeyDeleted {
			t.Errorf("charging a deleted key: %v, want %s", err, ReasonBillingKeyDeleted)
		}
		if n, _ := e.db.Payment.Query().Where(payment.MerchantPaymentID("now-3")).Count(ctx); n != 0 {
			t.Errorf("a payment was made for a deleted key")
		}
	})
}

// TestDeleteWithSchedules: a key with schedules still to run is not
// deleted unless they are revoked with it; revoked, they never run.
func TestDeleteWithSchedules(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, db *ent.Client) {
		e := sixNewEnvOn(t, db, manual, nil)
		key := e.issueKey(t, "del-key", sandbox.CardSuccess)
		payAt := e.clock.Now().Add(time.Minute).Truncate(time.Second)
		mids := e.createSchedules(t, key, "del", 3, payAt)
		if k, pending, err := e.billing.Get(e.caller, key); err != nil || pending != 3 || k.Status != billingkey.StatusACTIVE {
			t.Fatalf("get: %v, %d pending, %v", k, pending, err)
		}
		if _, _, err := e.billing.Delete(e.caller, DeleteInput{Ref: key}); apierr.Reason(err) != ReasonBillingKeyHasSchedules {
			t.Fatalf("delete with schedules: %v, want %s", err, ReasonBillingKeyHasSchedules)
		}
		k, revoked, err := e.billing.Delete(e.caller, DeleteInput{Ref: key, RevokeSchedules: true, Reason: "moved away"})
		if err != nil {
			t.Fatal(err)
		}
		if k.Status != billingkey.StatusDELETED || len(revoked) != 3 {
			t.Fatalf("deleted: %s, revoked %v", k.Status, revoked)
		}
		ctx := tenant.System(context.Background())
		rows, err := e.db.Schedule.Query().Where(schedule.MerchantPaymentIDIn(mids...)).All(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			if r.Status != schedule.StatusREVOKED || r.Failure == nil || r.Failure.Message != "moved away" {
				t.Errorf("schedule %s: %s (%v), want REVOKED for the reason given", r.ID, r.Status, r.Failure)
			}
		}
		e.clock.Set(payAt.Add(time.Second))
		e.wantNothingDue(t, "after the delete")
		// Deleted already: answered as it is.
		if again, none, err := e.billing.Delete(e.caller, DeleteInput{Ref: key}); err != nil || again.ID != k.ID || len(none) != 0 {
			t.Errorf("delete again: %v, %v, %v", again, none, err)
		}
	})
}

// TestWindowRefusedAndUnfinished: a billing window's key is PENDING until
// the window comes back; a result the PG refuses drops it (its name is
// free again) and answers a DELETED stand-in that still carries the way
// back; a window never completed is dropped after a day.
func TestWindowRefusedAndUnfinished(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, db *ent.Client) {
		e := sixNewEnvOn(t, db, manual, nil)
		in := WindowInput{KeyInput: KeyInput{StoreID: e.storeID, Name: "win-key"}, ReturnURL: "https://shop.example/back"}
		k, win, err := e.billing.CreateWindow(e.caller, in)
		if err != nil {
			t.Fatal(err)
		}
		if k.Status != billingkey.StatusPENDING || win.RedirectURL == "" {
			t.Fatalf("window: %s, %q", k.Status, win.RedirectURL)
		}
		if _, _, err := e.billing.CreateWindow(e.caller, in); apierr.Reason(err) != ReasonBillingKeyExists {
			t.Errorf("a second window under the name: %v, want %s", err, ReasonBillingKeyExists)
		}
		out, err := e.billing.IssueFromWindow(tenant.System(context.Background()), k,
			providers.WindowResult{sandbox.WindowSessionID: "no-such-session", sandbox.WindowAuthToken: "x"})
		if apierr.Reason(err) != paymentsvc.ReasonPGProvider || out == nil || out.Status != billingkey.StatusDELETED ||
			out.ReturnURL != in.ReturnURL || out.Name != "win-key" {
			t.Fatalf("refused window: %+v, %v", out, err)
		}
		if _, err := e.billing.BillingKey(e.caller, "win-key"); apierr.Reason(err) != ReasonBillingKeyNotFound {
			t.Errorf("the refused key is still there: %v", err)
		}

		// Opened again, never completed: dropped after a day, not before.
		if _, _, err := e.billing.CreateWindow(e.caller, in); err != nil {
			t.Fatal(err)
		}
		ctx := tenant.System(context.Background())
		if err := e.billing.DropUnfinishedWindows(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := e.billing.BillingKey(e.caller, "win-key"); err != nil {
			t.Errorf("dropped within the day: %v", err)
		}
		e.clock.Advance(25 * time.Hour)
		if err := e.billing.DropUnfinishedWindows(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := e.billing.BillingKey(e.caller, "win-key"); apierr.Reason(err) != ReasonBillingKeyNotFound {
			t.Errorf("an unfinished window after a day: %v, want it dropped", err)
		}
	})
}
