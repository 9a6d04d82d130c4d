package server_test

import (
	"context"
	"fmt"
	"os"
	"runtime/pprof"
	"slices"
	"strconv"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/paymux/paymux/ent/schedule"
	paymuxv1 "github.com/paymux/paymux/gen/paymux/v1"
	"github.com/paymux/paymux/providers/sandbox"
)

// sxBenchResult is one round of BenchmarkSchedulesDueAtOnce, in seconds.
type sxBenchResult struct {
	all                float64 // pay time -> the last schedule SUCCEEDED (its ended_at)
	endP50, endP99     float64 // ended_at - pay_at
	startP50, startP99 float64 // started_at - pay_at (claimed)
	// Where the time went, summed over the executor's claim batches: from
	// the pay time to the first claim (the poll), claiming (a batch's
	// started_at to its first charge recorded), charging (first to last
	// charge recorded), and between a batch's last charge and the next
	// claim.
	firstPoll, claiming, charging, between float64
}

// BenchmarkSchedulesDueAtOnce: 10,000 schedules (100 billing keys, 100
// schedules each; 500 with -short, PAYMUX_BENCH_SCHEDULES to change) fall
// due at the same moment on the sandbox PG, with the default billing
// configuration (poll every 1s, 32 workers). Creating them is not timed;
// the clock is then set to their pay time, and the round is timed until
// every schedule is SUCCEEDED. The figures come from the database, as the
// server clock runs in step with the wall clock from the pay time on:
// all-charged is the last ended_at minus the pay time, lateness ended_at
// (or started_at, when claimed) minus pay_at. Each b.N is a round on a fresh database;
// the metrics are the medians of the rounds.
//
//	go test ./server -run '^$' -bench BenchmarkSchedulesDueAtOnce -benchtime 1x -count 3
//
// PAYMUX_BENCH_CPUPROFILE=file writes a CPU profile of the timed part of
// the last round (file.sqlite, file.postgres).
func BenchmarkSchedulesDueAtOnce(b *testing.B) {
	n := 10_000
	if testing.Short() {
		n = 500
	}
	if v := os.Getenv("PAYMUX_BENCH_SCHEDULES"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 100 || n%100 != 0 {
			b.Fatalf("PAYMUX_BENCH_SCHEDULES=%q: want a multiple of 100", v)
		}
	}
	for _, db := range databases(b) {
		b.Run(db.Name, func(b *testing.B) {
			var rounds []sxBenchResult
			for i := range b.N {
				profile := ""
				if p := os.Getenv("PAYMUX_BENCH_CPUPROFILE"); p != "" && i == b.N-1 {
					profile = p + "." + db.Name
				}
				rounds = append(rounds, sxBenchRound(b, db, n, profile))
			}
			med := func(f func(sxBenchResult) float64) float64 {
				var xs []float64
				for _, r := range rounds {
					xs = append(xs, f(r))
				}
				return sxQuantile(xs, 0.5)
			}
			all := med(func(r sxBenchResult) float64 { return r.all })
			b.ReportMetric(all, "s-all-charged")
			b.ReportMetric(float64(n)/all, "charges/s")
			b.ReportMetric(med(func(r sxBenchResult) float64 { return r.endP50 }), "s-late-p50")
			b.ReportMetric(med(func(r sxBenchResult) float64 { return r.endP99 }), "s-late-p99")
			b.ReportMetric(med(func(r sxBenchResult) float64 { return r.startP50 }), "s-claim-late-p50")
			b.ReportMetric(med(func(r sxBenchResult) float64 { return r.startP99 }), "s-claim-late-p99")
			b.ReportMetric(med(func(r sxBenchResult) float64 { return r.claiming }), "s-claiming")
			b.ReportMetric(med(func(r sxBenchResult) float64 { return r.charging }), "s-charging")
		})
	}
}

func sxBenchRound(b *testing.B, db testDB, n int, profile string) sxBenchResult {
	b.StopTimer()
	ts := startServer(b, db.Open(b))
	ctx := sxSys()
	const perKey = 100
	payAt := ts.Clock.Now().Add(time.Hour).Truncate(time.Millisecond)
	c := sxBilling(ts)
	for k := range n / perKey {
		key := sxIssueKey(b, ts, fmt.Sprintf("sx-bench-%03d", k), sandbox.CardSuccess).GetId()
		var in []*paymuxv1.ScheduleInput
		for i := range perKey {
			in = append(in, &paymuxv1.ScheduleInput{
				MerchantPaymentId: fmt.Sprintf("sx-bench-%03d-%03d", k, i), PayTime: timestamppb.New(payAt),
				Amount: amount(int64(1000 + i)), OrderName: "bench",
			})
		}
		if _, err := c.CreateSchedules(context.Background(), sxReq(ts, &paymuxv1.CreateSchedulesRequest{BillingKeyId: key, Schedules: in})); err != nil {
			b.Fatal(err)
		}
	}
	if got, err := ts.DB.Schedule.Query().Where(schedule.StatusEQ(schedule.StatusSCHEDULED)).Count(ctx); err != nil || got != n {
		b.Fatalf("%d schedules SCHEDULED (%v), want %d", got, err, n)
	}

	if profile != "" {
		f, err := os.Create(profile)
		if err != nil {
			b.Fatal(err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			b.Fatal(err)
		}
	}
	b.StartTimer()
	// From now on the server clock reads the pay time plus the wall time
	// since.
	ts.Clock.Advance(payAt.Sub(ts.Clock.Now()))
	start := time.Now()
	for {
		done, err := ts.DB.Schedule.Query().Where(schedule.StatusEQ(schedule.StatusSUCCEEDED)).Count(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if done == n {
			break
		}
		if time.Since(start) > 5*time.Minute {
			counts := map[schedule.Status]int{}
			rows, _ := ts.DB.Schedule.Query().Select(schedule.FieldStatus).All(ctx)
			for _, r := range rows {
				counts[r.Status]++
			}
			b.Fatalf("after 5 minutes: %v", counts)
		}
		time.Sleep(250 * time.Millisecond) // a count costs ms on SQLite: poll sparingly
	}
	b.StopTimer()
	if profile != "" {
		pprof.StopCPUProfile()
	}

	rows, err := ts.DB.Schedule.Query().All(ctx)
	if err != nil {
		b.Fatal(err)
	}
	var ended, started []float64
	type batch struct{ start, first, last time.Time }
	batches := map[time.Time]*batch{} // by started_at: one claim's rows share it
	var last time.Time
	for _, r := range rows {
		if r.EndedAt == nil || r.StartedAt == nil {
			b.Fatalf("schedule %s: %s without start or end", r.ID, r.Status)
		}
		ended = append(ended, r.EndedAt.Sub(r.PayAt).Seconds())
		started = append(started, r.StartedAt.Sub(r.PayAt).Seconds())
		if r.EndedAt.After(last) {
			last = *r.EndedAt
		}
		bt := batches[*r.StartedAt]
		if bt == nil {
			bt = &batch{start: *r.StartedAt, first: *r.EndedAt, last: *r.EndedAt}
			batches[*r.StartedAt] = bt
		}
		if r.EndedAt.Before(bt.first) {
			bt.first = *r.EndedAt
		}
		if r.EndedAt.After(bt.last) {
			bt.last = *r.EndedAt
		}
	}
	res := sxBenchResult{
		all:    last.Sub(payAt).Seconds(),
		endP50: sxQuantile(ended, 0.5), endP99: sxQuantile(ended, 0.99),
		startP50: sxQuantile(started, 0.5), startP99: sxQuantile(started, 0.99),
	}
	var order []*batch
	for _, bt := range batches {
		order = append(order, bt)
	}
	slices.SortFunc(order, func(x, y *batch) int { return x.start.Compare(y.start) })
	res.firstPoll = order[0].start.Sub(payAt).Seconds()
	for i, bt := range order {
		res.claiming += bt.first.Sub(bt.start).Seconds()
		res.charging += bt.last.Sub(bt.first).Seconds()
		if i+1 < len(order) {
			res.between += order[i+1].start.Sub(bt.last).Seconds()
		}
	}
	b.Logf("%s: %d schedules all charged %.2fs after their pay time (%.0f/s); lateness p50 %.2fs p99 %.2fs (claimed p50 %.2fs p99 %.2fs); "+
		"%d claims: the first %.2fs after the pay time, claiming %.2fs, charging %.2fs, between %.2fs",
		db.Name, n, res.all, float64(n)/res.all, res.endP50, res.endP99, res.startP50, res.startP99,
		len(order), res.firstPoll, res.claiming, res.charging, res.between)
	return res
}

// sxQuantile is the q-quantile of xs (nearest rank).
func sxQuantile(xs []float64, q float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	i := int(q*float64(len(s))+0.5) - 1
	return s[min(max(i, 0), len(s)-1)]
}
