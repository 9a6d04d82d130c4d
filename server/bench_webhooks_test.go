package server_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/paymux/paymux/ent/event"
	"github.com/paymux/paymux/ent/webhookdelivery"
	paymuxv1 "github.com/paymux/paymux/gen/paymux/v1"
	"github.com/paymux/paymux/providers/sandbox"
	"github.com/paymux/paymux/secrets"
	"github.com/paymux/paymux/tenant"
)

// benchReceiver answers 200 at once and notes when each webhook-id first
// arrived.
type benchReceiver struct {
	*httptest.Server
	mu      sync.Mutex
	arrived map[string]time.Time
	count   atomic.Int64
}

func newBenchReceiver(b *testing.B) *benchReceiver {
	r := &benchReceiver{arrived: map[string]time.Time{}}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		_, _ = io.Copy(io.Discard, req.Body)
		if id := req.Header.Get("webhook-id"); id != "" {
			r.mu.Lock()
			if _, ok := r.arrived[id]; !ok {
				r.arrived[id] = time.Now()
			}
			r.mu.Unlock()
		}
		r.count.Add(1)
	}))
	b.Cleanup(r.Close)
	return r
}

func (r *benchReceiver) waitFor(b *testing.B, n int64) {
	deadline := time.Now().Add(2 * time.Minute)
	for r.count.Load() < n {
		if time.Now().After(deadline) {
			b.Fatalf("only %d of %d webhooks arrived", r.count.Load(), n)
		}
		time.Sleep(time.Millisecond)
	}
}

// BenchmarkWebhookDelivery measures the delivery engine against a fast local
// receiver: deliveries/s for b.N events committed at once (in batches of
// 100, each event with its delivery, as payments write them), and beside it
// a plain loop of the same POSTs from 64 goroutines, the limit of this
// machine; the ratio is the engine's share of it.
//
//	go test ./server -run '^$' -bench BenchmarkWebhookDelivery -benchtime 3000x
func BenchmarkWebhookDelivery(b *testing.B) {
	for _, db := range databases(b) {
		b.Run(db.Name, func(b *testing.B) {
			ts := startServer(b, db.Open(b), allowLocalWebhooks, func(c *configT) { c.Webhooks.PollInterval = 10 * time.Millisecond })
			rcv := newBenchReceiver(b)
			ep := mustOK[*paymuxv1.CreateWebhookEndpointResponse](b, callConnect(b, ts, createWebhookEndpoint(&paymuxv1.CreateWebhookEndpointRequest{Url: rcv.URL}),
				headers("Authorization", ts.firstKeyAuth()))).GetEndpoint()
			ctx := tenant.System(context.Background())
			data := []byte(`{"id":"pay_bench","status":"PAYMENT_STATUS_PAID","amounts":{"total":"10000"}}`)
			b.ResetTimer()
			start := time.Now()
			for done := 0; done < b.N; {
				n := min(100, b.N-done)
				tx, err := ts.DB.Tx(ctx)
				if err != nil {
					b.Fatal(err)
				}
				for range n {
					id := secrets.NewID("evt")
					if err := tx.Event.Create().SetID(id).SetStoreID(ts.First.StoreID).SetMode(event.ModeTEST).SetType("payment.paid").
						SetPaymentID("pay_bench").SetData(data).Exec(ctx); err != nil {
						b.Fatal(err)
					}
					if err := tx.WebhookDelivery.Create().SetStoreID(ts.First.StoreID).SetEndpointID(ep.GetId()).SetEventID(id).
						SetEventType("payment.paid").SetStatus(webhookdelivery.StatusPENDING).SetNextAttemptAt(time.Now()).Exec(ctx); err != nil {
						b.Fatal(err)
					}
				}
				if err := tx.Commit(); err != nil {
					b.Fatal(err)
				}
				done += n
			}
			rcv.waitFor(b, int64(b.N))
			engine := time.Since(start)
			b.StopTimer()

			// The limit: the same number of POSTs of a like body, 64 at a time.
			body := bytes.Repeat([]byte("x"), 200)
			var next atomic.Int64
			var wg sync.WaitGroup
			plainStart := time.Now()
			for range 64 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for next.Add(1) <= int64(b.N) {
						resp, err := http.Post(rcv.URL, "application/json", bytes.NewReader(body))
						if err != nil {
							b.Error(err)
							return
						}
						_, _ = io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
					}
				}()
			}
			wg.Wait()
			plain := time.Since(plainStart)
			b.ReportMetric(float64(b.N)/engine.Seconds(), "deliveries/s")
			b.ReportMetric(float64(b.N)/plain.Seconds(), "plain-posts/s")
			b.ReportMetric(plain.Seconds()/engine.Seconds(), "ratio")
		})
	}
}

// BenchmarkWebhookLatency measures commit-to-delivery latency at a steady
// 100 payments/s (key-in payments through the API, each paid event sent to
// a fast local receiver): from the event's time to its arrival.
//
//	go test ./server -run '^$' -bench BenchmarkWebhookLatency -benchtime 500x
func BenchmarkWebhookLatency(b *testing.B) {
	for _, db := range databases(b) {
		b.Run(db.Name, func(b *testing.B) {
			ts := startServer(b, db.Open(b), allowLocalWebhooks)
			key := headers("Authorization", ts.firstKeyAuth())
			rcv := newBenchReceiver(b)
			mustOK[*paymuxv1.CreateWebhookEndpointResponse](b, callConnect(b, ts, createWebhookEndpoint(&paymuxv1.CreateWebhookEndpointRequest{
				Url: rcv.URL, EventTypes: []string{"payment.paid"}}), key))
			tick := time.NewTicker(10 * time.Millisecond) // 100/s
			defer tick.Stop()
			b.ResetTimer()
			var wg sync.WaitGroup
			for i := range b.N {
				<-tick.C
				wg.Add(1)
				go func() {
					defer wg.Done()
					mustOK[*paymuxv1.CreateInstantPaymentResponse](b, callConnect(b, ts, instantPayment(&paymuxv1.CreateInstantPaymentRequest{
						MerchantPaymentId: fmt.Sprintf("lat-%d", i), OrderName: "bench", Amount: amount(1000),
						Method: &paymuxv1.CreateInstantPaymentRequest_Card{Card: testCard(sandbox.CardSuccess)},
					}), key))
				}()
			}
			wg.Wait()
			rcv.waitFor(b, int64(b.N))
			b.StopTimer()
			events, err := ts.DB.Event.Query().Where(event.Type("payment.paid")).All(tenant.System(context.Background()))
			if err != nil {
				b.Fatal(err)
			}
			var lat []time.Duration
			rcv.mu.Lock()
			for _, e := range events {
				if at, ok := rcv.arrived[e.ID]; ok {
					lat = append(lat, at.Sub(e.CreatedAt))
				}
			}
			rcv.mu.Unlock()
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
		})
	}
}
