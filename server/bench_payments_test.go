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
			b.Run(db.name+"/"+sf.name, func(b *testing.B) {
				ts := startServer(b, db.open(b))
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
