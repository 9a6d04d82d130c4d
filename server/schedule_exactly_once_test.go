package server_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/paymux/paymux/app"
	"github.com/paymux/paymux/ent"
	"github.com/paymux/paymux/ent/payment"
	"github.com/paymux/paymux/ent/schedule"
	paymuxv1 "github.com/paymux/paymux/gen/paymux/v1"
	"github.com/paymux/paymux/gen/paymux/v1/paymuxv1connect"
	"github.com/paymux/paymux/providers"
	"github.com/paymux/paymux/providers/sandbox"
	"github.com/paymux/paymux/tenant"
)

// Exactly-once tests of the schedule executor: replicas racing for the
// same due schedules, revokes racing the executor, and a retry whose name
// is taken. The crash-recovery cases drive the executor's steps directly
// and live in schedule_internal_test.go.

// sxFast makes the executor and the sweep poll fast.
func sxFast(c *configT) {
	c.Billing.PollInterval = 20 * time.Millisecond
	c.Payments.SweepInterval = 20 * time.Millisecond
	c.Payments.PGTimeout = time.Second
}

func sxSys() context.Context { return tenant.System(context.Background()) }

// sxStartReplica starts a second server on primary's database with its
// master key, its clock and its sandbox: another replica of the same
// deployment, talking to the same PG.
func sxStartReplica(t testing.TB, primary *testServer, configure ...func(*configT)) *testServer {
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
	srv, err := app.New(app.Options{Config: cfg, DB: primary.DB, Keyring: primary.Keyring, AdminTokenHash: adminHash,
		Now: primary.Clock.Now, Logger: discardLogger(), Sandbox: primary.Sandbox})
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
		DB: primary.DB, Keyring: primary.Keyring, Clock: primary.Clock, Server: srv, Sandbox: primary.Sandbox,
	}
}

func sxBilling(ts *testServer) paymuxv1connect.BillingServiceClient {
	return paymuxv1connect.NewBillingServiceClient(http.DefaultClient, ts.URL)
}

// sxReq is a request with the first store's TEST key.
func sxReq[T any](ts *testServer, msg *T) *connect.Request[T] {
	r := connect.NewRequest(msg)
	r.Header().Set("Authorization", ts.firstKeyAuth())
	return r
}

// sxIssueKey issues a billing key named name for card.
func sxIssueKey(t testing.TB, ts *testServer, name, card string) *paymuxv1.BillingKey {
	t.Helper()
	res, err := sxBilling(ts).IssueBillingKey(context.Background(), sxReq(ts, &paymuxv1.IssueBillingKeyRequest{
		Id: name, Card: testCard(card), Customer: &paymuxv1.Customer{Name: "sx " + name},
	}))
	if err != nil {
		t.Fatalf("issue billing key %s: %v", name, err)
	}
	return res.Msg.GetBillingKey()
}

// sxInput is one schedule to create.
type sxInput struct {
	key, mid string
	total    int64
	payAt    time.Time
	retry    *paymuxv1.RetryPolicy
}

// sxCreate creates the schedules, 100 per call and key, and returns them by
// merchant payment id.
func sxCreate(t testing.TB, ts *testServer, in []sxInput) map[string]*paymuxv1.Schedule {
	t.Helper()
	byKey := map[string][]*paymuxv1.ScheduleInput{}
	var keys []string
	for _, s := range in {
		if _, ok := byKey[s.key]; !ok {
			keys = append(keys, s.key)
		}
		byKey[s.key] = append(byKey[s.key], &paymuxv1.ScheduleInput{
			MerchantPaymentId: s.mid, PayTime: timestamppb.New(s.payAt), Amount: amount(s.total),
			OrderName: "sx " + s.mid, RetryPolicy: s.retry,
		})
	}
	out := map[string]*paymuxv1.Schedule{}
	c := sxBilling(ts)
	for _, k := range keys {
		list := byKey[k]
		for i := 0; i < len(list); i += 100 {
			res, err := c.CreateSchedules(context.Background(), sxReq(ts, &paymuxv1.CreateSchedulesRequest{
				BillingKeyId: k, Schedules: list[i:min(i+100, len(list))],
			}))
			if err != nil {
				t.Fatalf("create schedules on %s: %v", k, err)
			}
			for _, s := range res.Msg.GetSchedules() {
				out[s.GetMerchantPaymentId()] = s
			}
		}
	}
	if len(out) != len(in) {
		t.Fatalf("created %d schedules, want %d", len(out), len(in))
	}
	return out
}

// sxRows reads the schedules with these merchant payment ids, by merchant
// payment id.
func sxRows(t testing.TB, ts *testServer, mids []string) map[string]*ent.Schedule {
	t.Helper()
	rows, err := ts.DB.Schedule.Query().Where(schedule.MerchantPaymentIDIn(mids...)).All(sxSys())
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*ent.Schedule{}
	for _, r := range rows {
		out[r.MerchantPaymentID] = r
	}
	return out
}

// sxPayments reads every payment with one of these merchant payment ids.
func sxPayments(t testing.TB, ts *testServer, mids []string) map[string][]*ent.Payment {
	t.Helper()
	rows, err := ts.DB.Payment.Query().Where(payment.MerchantPaymentIDIn(mids...)).All(sxSys())
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]*ent.Payment{}
	for _, p := range rows {
		out[p.MerchantPaymentID] = append(out[p.MerchantPaymentID], p)
	}
	return out
}

// sxCountStatus counts the schedules among mids in each status.
func sxCountStatus(t testing.TB, ts *testServer, mids []string) map[schedule.Status]int {
	t.Helper()
	out := map[schedule.Status]int{}
	for _, r := range sxRows(t, ts, mids) {
		out[r.Status]++
	}
	return out
}

// sxWait polls cond until it holds, or fails the test after timeout,
// saying what state says.
func sxWait(t testing.TB, timeout time.Duration, what string, cond func() bool, state func() string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %s: not %s (%s)", timeout, what, state())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// sxCharges lists the sandbox's charges of the first store's channel by
// order id (the paymux payment id). The sandbox keeps one record per order
// id (a second charge under one order id is answered from the first), so a
// schedule charged twice shows as a second order, of a second payment or of
// none: callers count orders per payment and in all.
func sxCharges(ts *testServer) map[string][]providers.Payment {
	out := map[string][]providers.Payment{}
	for _, p := range ts.Sandbox.Payments(sandboxPG(ts)) {
		out[p.OrderID] = append(out[p.OrderID], p)
	}
	return out
}

// sxCheckCharged asserts the PG side of exactly-once for the schedules
// ended SUCCEEDED among rows (with their payments): each has one PAID
// charge at the sandbox, for its amount, and no other order of these
// payments was charged. It answers the total charged.
func sxCheckCharged(t testing.TB, ts *testServer, rows map[string]*ent.Schedule, pays map[string][]*ent.Payment) int64 {
	t.Helper()
	charges := sxCharges(ts)
	var charged, want int64
	for mid, r := range rows {
		for _, p := range pays[mid] {
			cs := charges[p.ID]
			if len(cs) > 1 {
				t.Errorf("order %s (schedule %s) charged %d times at the PG", p.ID, mid, len(cs))
			}
			for _, c := range cs {
				if c.Status == providers.StatusPaid {
					charged += c.Amounts.Total
				}
				if c.Status == providers.StatusPaid && p.Status != payment.StatusPAID {
					t.Errorf("schedule %s: the PG charged order %s (%d won) but paymux recorded it %s", mid, p.ID, c.Amounts.Total, p.Status)
				}
			}
			if p.Status == payment.StatusPAID && (len(cs) != 1 || cs[0].Status != providers.StatusPaid) {
				t.Errorf("schedule %s: payment %s PAID in paymux, the PG holds %v", mid, p.ID, cs)
			}
		}
		if r.Status == schedule.StatusSUCCEEDED {
			want += r.Total
		}
	}
	if charged != want {
		t.Errorf("the PG charged %d won for these schedules, want %d (the sum of the succeeded schedules)", charged, want)
	}
	return charged
}

// TestScheduleTwoReplicasChargeOnce: two servers on one database (and one
// PG) race for 200 schedules due at the same moment on four billing keys.
// Every schedule succeeds with exactly one payment, and the PG charged each
// once: the charged total is the schedules' total.
func TestScheduleTwoReplicasChargeOnce(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *ent.Client) {
		ts1 := startServer(t, db, sxFast)
		ts2 := sxStartReplica(t, ts1, sxFast)
		var keys []string
		for i := range 4 {
			ts := []*testServer{ts1, ts2}[i%2]
			keys = append(keys, sxIssueKey(t, ts, fmt.Sprintf("sx-rep-key-%d", i), sandbox.CardSuccess).GetId())
		}
		const n = 200
		payAt := ts1.Clock.Now().Add(time.Hour).Truncate(time.Second)
		var in []sxInput
		var mids []string
		var sum int64
		for i := range n {
			mid := fmt.Sprintf("sx-rep-%03d", i)
			total := int64(1000 + 10*i)
			in = append(in, sxInput{key: keys[i%len(keys)], mid: mid, total: total, payAt: payAt})
			mids = append(mids, mid)
			sum += total
		}
		created := sxCreate(t, ts1, in)

		// All due at once: both executors see them on their next poll.
		ts1.Clock.Advance(payAt.Sub(ts1.Clock.Now()) + time.Millisecond)
		start := time.Now()
		var counts map[schedule.Status]int
		sxWait(t, 20*time.Second, fmt.Sprintf("all %d schedules ended", n), func() bool {
			counts = sxCountStatus(t, ts1, mids)
			return counts[schedule.StatusSCHEDULED]+counts[schedule.StatusSTARTED] == 0
		}, func() string { return fmt.Sprint(counts) })
		t.Logf("%d schedules charged by two replicas in %s", n, time.Since(start).Round(time.Millisecond))
		time.Sleep(100 * time.Millisecond) // a second charge would still be on its way

		rows := sxRows(t, ts1, mids)
		pays := sxPayments(t, ts1, mids)
		for _, mid := range mids {
			r := rows[mid]
			if r.ID != created[mid].GetId() {
				t.Fatalf("schedule %s: read %s, created %s", mid, r.ID, created[mid].GetId())
			}
			if r.Status != schedule.StatusSUCCEEDED {
				t.Errorf("schedule %s (%s): %s %v, want SUCCEEDED", mid, r.ID, r.Status, r.Failure)
			}
			ps := pays[mid]
			if len(ps) != 1 {
				t.Errorf("schedule %s: %d payments, want 1", mid, len(ps))
				continue
			}
			p := ps[0]
			if p.ID != r.PaymentID || p.ScheduleID != r.ID || p.Status != payment.StatusPAID || p.Total != r.Total {
				t.Errorf("schedule %s (payment %q): payment %s of schedule %q is %s for %d, want PAID for %d",
					mid, r.PaymentID, p.ID, p.ScheduleID, p.Status, p.Total, r.Total)
			}
		}
		if charged := sxCheckCharged(t, ts1, rows, pays); charged != sum {
			t.Errorf("the PG charged %d won in all, want %d", charged, sum)
		}
		// Nothing else was charged at the PG.
		if got := len(sxCharges(ts1)); got != n {
			t.Errorf("the PG holds %d orders, want %d", got, n)
		}
	})
}

// TestScheduleRevokeRacesExecution: schedules fall due one after another
// (2 ms apart) while the merchant revokes them, by billing key and by id,
// again and again. Each ends either REVOKED with no payment, or started
// (and SUCCEEDED) with exactly one: never both, never two payments. A
// schedule a revoke answered as revoked is REVOKED.
func TestScheduleRevokeRacesExecution(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *ent.Client) {
		ts := startServer(t, db, sxFast)
		c := sxBilling(ts)
		var revokedTotal, startedTotal int
		// Rounds with the revokes starting later and later, so that the
		// executor claims the first schedules and the revokes take the
		// rest, racing at the boundary.
		for round, delay := range []time.Duration{0, 60 * time.Millisecond, 150 * time.Millisecond} {
			keyByKey := sxIssueKey(t, ts, fmt.Sprintf("sx-rv-%d-key", round), sandbox.CardSuccess).GetId()
			keyByID := sxIssueKey(t, ts, fmt.Sprintf("sx-rv-%d-ids", round), sandbox.CardSuccess).GetId()
			const perKey = 60
			payAt := ts.Clock.Now().Add(time.Hour).Truncate(time.Second)
			var in []sxInput
			var mids []string
			for i := range 2 * perKey {
				k := []string{keyByKey, keyByID}[i%2]
				mid := fmt.Sprintf("sx-rv-%d-%03d", round, i)
				in = append(in, sxInput{key: k, mid: mid, total: int64(5000 + i), payAt: payAt.Add(time.Duration(i) * 2 * time.Millisecond)})
				mids = append(mids, mid)
			}
			created := sxCreate(t, ts, in)
			var idsByID []string
			for _, mid := range mids {
				if s := created[mid]; s.GetBillingKeyId() == keyByID {
					idsByID = append(idsByID, s.GetId())
				}
			}

			var mu sync.Mutex
			answeredRevoked := map[string]bool{}
			var errs []error
			note := func(res *connect.Response[paymuxv1.RevokeSchedulesResponse], err error) {
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					errs = append(errs, err)
					return
				}
				for _, s := range res.Msg.GetRevoked() {
					answeredRevoked[s.GetId()] = true
					if s.GetStatus() != paymuxv1.ScheduleStatus_SCHEDULE_STATUS_REVOKED || s.GetPaymentId() != "" {
						errs = append(errs, fmt.Errorf("revoke answered schedule %s as revoked, but it is %s with payment %q",
							s.GetId(), s.GetStatus(), s.GetPaymentId()))
					}
				}
				for _, s := range res.Msg.GetNotRevoked() {
					if s.GetStatus() == paymuxv1.ScheduleStatus_SCHEDULE_STATUS_SCHEDULED {
						errs = append(errs, fmt.Errorf("revoke answered schedule %s as not revoked, but it is SCHEDULED", s.GetId()))
					}
				}
			}
			pending := func(key string) bool {
				n, err := ts.DB.Schedule.Query().Where(schedule.BillingKeyName(key), schedule.StatusEQ(schedule.StatusSCHEDULED)).Count(sxSys())
				if err != nil {
					t.Error(err)
					return false
				}
				return n > 0
			}

			ts.Clock.Advance(payAt.Sub(ts.Clock.Now()) + time.Millisecond)
			time.Sleep(delay)
			var wg sync.WaitGroup
			deadline := time.Now().Add(8 * time.Second)
			for range 2 { // two revokers by billing key
				wg.Add(1)
				go func() {
					defer wg.Done()
					for pending(keyByKey) && time.Now().Before(deadline) {
						note(c.RevokeSchedules(context.Background(), sxReq(ts, &paymuxv1.RevokeSchedulesRequest{
							Target: &paymuxv1.RevokeSchedulesRequest_BillingKeyId{BillingKeyId: keyByKey}, Reason: "race",
						})))
					}
				}()
			}
			wg.Add(1)
			go func() { // one by ids, 10 at a time, last due first
				defer wg.Done()
				for end := len(idsByID); end > 0; end -= 10 {
					note(c.RevokeSchedules(context.Background(), sxReq(ts, &paymuxv1.RevokeSchedulesRequest{
						Target: &paymuxv1.RevokeSchedulesRequest_ScheduleIds{ScheduleIds: &paymuxv1.ScheduleIDs{Ids: idsByID[max(0, end-10):end]}},
					})))
				}
			}()
			wg.Wait()
			for _, err := range errs {
				t.Errorf("round %d: %v", round, err)
			}
			var counts map[schedule.Status]int
			sxWait(t, 8*time.Second, "every schedule revoked or ended", func() bool {
				counts = sxCountStatus(t, ts, mids)
				return counts[schedule.StatusSCHEDULED]+counts[schedule.StatusSTARTED] == 0
			}, func() string { return fmt.Sprint(counts) })
			time.Sleep(50 * time.Millisecond)

			rows := sxRows(t, ts, mids)
			pays := sxPayments(t, ts, mids)
			var revoked, started int
			for _, mid := range mids {
				r := rows[mid]
				ps := pays[mid]
				switch r.Status {
				case schedule.StatusREVOKED:
					revoked++
					if r.PaymentID != "" || r.StartedAt != nil || len(ps) != 0 {
						t.Errorf("round %d: schedule %s REVOKED, yet started at %v with payment %q and %d payments", round, mid, r.StartedAt, r.PaymentID, len(ps))
					}
				case schedule.StatusSUCCEEDED:
					started++
					if r.RevokedAt != nil || answeredRevoked[r.ID] {
						t.Errorf("round %d: schedule %s SUCCEEDED, yet revoked at %v (answered revoked: %v)", round, mid, r.RevokedAt, answeredRevoked[r.ID])
					}
					if len(ps) != 1 || ps[0].ID != r.PaymentID || ps[0].Status != payment.StatusPAID {
						t.Errorf("round %d: schedule %s SUCCEEDED with payment %q, payments %v", round, mid, r.PaymentID, ps)
					}
				default:
					t.Errorf("round %d: schedule %s ended %s %v", round, mid, r.Status, r.Failure)
				}
				if answeredRevoked[r.ID] && r.Status != schedule.StatusREVOKED {
					t.Errorf("round %d: schedule %s was answered revoked, but is %s", round, mid, r.Status)
				}
			}
			sxCheckCharged(t, ts, rows, pays)
			t.Logf("round %d (revokes %s after the due time): %d revoked, %d charged", round, delay, revoked, started)
			revokedTotal += revoked
			startedTotal += started
			// Nothing else was charged at the PG.
			if got := len(sxCharges(ts)); got != startedTotal {
				t.Errorf("round %d: the PG holds %d orders, want %d", round, got, startedTotal)
			}
		}
		t.Logf("in all: %d revoked, %d charged", revokedTotal, startedTotal)
	})
}

// TestScheduleRetryNameTaken: a failed schedule's retry is named after it
// ("<merchant payment id>-retry-1"). When another schedule already has that
// name, the failure must still be recorded: the payment FAILED, the
// schedule FAILED, and nothing left PAY_PENDING or STARTED for ever.
func TestScheduleRetryNameTaken(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *ent.Client) {
		ts := startServer(t, db, sxFast)
		key := sxIssueKey(t, ts, "sx-rt-key", sandbox.CardBillingDeclines).GetId()
		now := ts.Clock.Now()
		payAt := now.Add(time.Hour).Truncate(time.Second)
		retry := &paymuxv1.RetryPolicy{Interval: durationpb.New(time.Hour), MaxRetries: 2}
		mids := []string{"sx-rt-1", "sx-rt-1-retry-1"}
		sxCreate(t, ts, []sxInput{
			{key: key, mid: mids[0], total: 3000, payAt: payAt, retry: retry},
			// The merchant's own schedule, next month, under the name the
			// retry would take.
			{key: key, mid: mids[1], total: 3000, payAt: payAt.Add(30 * 24 * time.Hour)},
		})
		ts.Clock.Advance(payAt.Sub(ts.Clock.Now()) + time.Millisecond)
		// The charge is declined at once; the sweep settles a lost answer
		// after 2 × pg_timeout (2 s).
		deadline := time.Now().Add(4 * time.Second)
		var r *ent.Schedule
		for {
			r = sxRows(t, ts, mids[:1])[mids[0]]
			if r.Status != schedule.StatusSCHEDULED && r.Status != schedule.StatusSTARTED || time.Now().After(deadline) {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		pays := sxPayments(t, ts, mids[:1])[mids[0]]
		var ps []string
		for _, p := range pays {
			ps = append(ps, fmt.Sprintf("%s %s", p.ID, p.Status))
		}
		if r.Status != schedule.StatusFAILED || len(pays) != 1 || pays[0].Status != payment.StatusFAILED {
			t.Fatalf("schedule %s is %s with payments %v 4 s after its declined charge; want FAILED, its one payment FAILED", mids[0], r.Status, ps)
		}
		if other := sxRows(t, ts, mids[1:])[mids[1]]; other.Status != schedule.StatusSCHEDULED || !other.PayAt.Equal(payAt.Add(30*24*time.Hour)) {
			t.Errorf("the merchant's schedule %s was changed: %s at %s", mids[1], other.Status, other.PayAt)
		}
	})
}
