package server_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	paymuxv1 "github.com/paymux/paymux/gen/paymux/v1"
	"github.com/paymux/paymux/providers"
	"github.com/paymux/paymux/providers/sandbox"
)

// BenchmarkPaymentFlow measures one whole window payment as a merchant's
// server makes it: CreatePayment, the buyer authenticating in the sandbox
// window (in process, not over HTTP), ConfirmPayment with the amount, and
// GetPayment, through Connect and through REST, on SQLite and PostgreSQL,
// with 4 payments in flight per CPU. Reported: payments/s and the p50/p99
// latency of one whole payment.
//
//	go test ./server -run '^$' -bench BenchmarkPaymentFlow -benchtime 2000x
func BenchmarkPaymentFlow(b *testing.B) {
	for _, db := range databases(b) {
		for _, sf := range []surface{surfaces[1], surfaces[4]} { // connect, rest
			b.Run(db.Name+"/"+sf.name, func(b *testing.B) {
				ts := startServer(b, db.Open(b))
				key := headers("Authorization", ts.firstKeyAuth())
				pg := sandboxPG(ts)
				var (
					mu        sync.Mutex
					latencies []time.Duration
					seq       int
				)
				b.SetParallelism(4)
				b.ResetTimer()
				start := time.Now()
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						mu.Lock()
						seq++
						mid := fmt.Sprintf("bench-%s-%d", sf.name, seq)
						mu.Unlock()
						t0 := time.Now()
						onePayment(b, ts, sf, key, pg, mid)
						d := time.Since(t0)
						mu.Lock()
						latencies = append(latencies, d)
						mu.Unlock()
					}
				})
				elapsed := time.Since(start)
				b.StopTimer()
				slices.Sort(latencies)
				b.ReportMetric(float64(len(latencies))/elapsed.Seconds(), "payments/s")
				b.ReportMetric(float64(latencies[len(latencies)/2].Microseconds())/1000, "p50-ms")
				b.ReportMetric(float64(latencies[len(latencies)*99/100].Microseconds())/1000, "p99-ms")
			})
		}
	}
}

func onePayment(b *testing.B, ts *testServer, sf surface, key map[string][]string, pg providers.Channel, mid string) {
	created := mustOK[*paymuxv1.CreatePaymentResponse](b, sf.call(b, ts, createPayment(&paymuxv1.CreatePaymentRequest{
		MerchantPaymentId: mid, OrderName: "bench", Amount: &paymuxv1.Amount{Total: 10000},
	}), key))
	window, err := ts.Sandbox.AuthenticateWindow(context.Background(), pg, created.GetWindow().GetParams()[sandbox.WindowSessionID],
		sandbox.WindowAuth{Card: providers.CardData{Number: providers.NewCardNumber(sandbox.CardSuccess), ExpiryYear: 2030, ExpiryMonth: 12}})
	if err != nil {
		b.Fatal(err)
	}
	id := created.GetPayment().GetId()
	mustOK[*paymuxv1.ConfirmPaymentResponse](b, sf.call(b, ts, confirmPayment(&paymuxv1.ConfirmPaymentRequest{Id: id, Amount: 10000, WindowResult: window}), key))
	got := mustOK[*paymuxv1.GetPaymentResponse](b, sf.call(b, ts, getPayment(id), key))
	if got.GetPayment().GetStatus() != paymuxv1.PaymentStatus_PAYMENT_STATUS_PAID {
		b.Fatalf("payment %s is %s", id, got.GetPayment().GetStatus())
	}
}

// BenchmarkPaymentCallLatency takes one payment at a time and reports the
// p50/p99 latency of each call on its own, as a merchant's server sees it
// with no other load: the API's own latency over the sandbox PG.
//
//	go test ./server -run '^$' -bench BenchmarkPaymentCallLatency -benchtime 1000x
func BenchmarkPaymentCallLatency(b *testing.B) {
	for _, db := range databases(b) {
		for _, sf := range []surface{surfaces[1], surfaces[4]} { // connect, rest
			b.Run(db.Name+"/"+sf.name, func(b *testing.B) {
				ts := startServer(b, db.Open(b))
				key := headers("Authorization", ts.firstKeyAuth())
				pg := sandboxPG(ts)
				var create, confirm, get []time.Duration
				b.ResetTimer()
				for i := range b.N {
					mid := fmt.Sprintf("lat-%s-%d", sf.name, i)
					t0 := time.Now()
					created := mustOK[*paymuxv1.CreatePaymentResponse](b, sf.call(b, ts, createPayment(&paymuxv1.CreatePaymentRequest{
						MerchantPaymentId: mid, OrderName: "bench", Amount: &paymuxv1.Amount{Total: 10000},
					}), key))
					create = append(create, time.Since(t0))
					window, err := ts.Sandbox.AuthenticateWindow(context.Background(), pg, created.GetWindow().GetParams()[sandbox.WindowSessionID],
						sandbox.WindowAuth{Card: providers.CardData{Number: providers.NewCardNumber(sandbox.CardSuccess), ExpiryYear: 2030, ExpiryMonth: 12}})
					if err != nil {
						b.Fatal(err)
					}
					id := created.GetPayment().GetId()
					t1 := time.Now()
					mustOK[*paymuxv1.ConfirmPaymentResponse](b, sf.call(b, ts, confirmPayment(&paymuxv1.ConfirmPaymentRequest{Id: id, Amount: 10000, WindowResult: window}), key))
					confirm = append(confirm, time.Since(t1))
					t2 := time.Now()
					mustOK[*paymuxv1.GetPaymentResponse](b, sf.call(b, ts, getPayment(id), key))
					get = append(get, time.Since(t2))
				}
				b.StopTimer()
				for _, x := range []struct {
					name string
					d    []time.Duration
				}{{"create", create}, {"confirm", confirm}, {"get", get}} {
					slices.Sort(x.d)
					b.ReportMetric(float64(x.d[len(x.d)/2].Microseconds())/1000, x.name+"-p50-ms")
					b.ReportMetric(float64(x.d[len(x.d)*99/100].Microseconds())/1000, x.name+"-p99-ms")
				}
			})
		}
	}
}
