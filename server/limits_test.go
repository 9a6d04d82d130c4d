package server_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"connectrpc.com/connect"

	"github.com/paymux/paymux/ent"
	"github.com/paymux/paymux/tenant"
)

// TestIPRuleLimitUnderConcurrency: two creates racing for the last of the
// 100 rule places never both get it. Each create's count is held until the
// other has counted too (or a second has passed), forcing the interleaving
// "count, count, insert, insert" wherever the two can run side by side.
func TestIPRuleLimitUnderConcurrency(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *ent.Client) {
		ts := startServer(t, db)
		sys := tenant.System(context.Background())
		for i := range 99 {
			db.IPRule.Create().SetStoreID(ts.First.StoreID).SetCidr(fmt.Sprintf("10.%d.0.0/16", i)).SaveX(sys)
		}
		var held atomic.Int32
		arrived := make(chan struct{}, 2)
		db.IPRule.Intercept(ent.InterceptFunc(func(next ent.Querier) ent.Querier {
			return ent.QuerierFunc(func(ctx context.Context, q ent.Query) (ent.Value, error) {
				v, err := next.Query(ctx, q)
				if held.Add(1) <= 2 { // the two creates' counts
					arrived <- struct{}{}
					deadline := time.After(time.Second)
					for len(arrived) < 2 {
						select {
						case <-deadline:
							return v, err
						case <-time.After(5 * time.Millisecond):
						}
					}
				}
				return v, err
			})
		}))
		admin := headers("Authorization", ts.adminAuth())
		var wg sync.WaitGroup
		results := make([]result, 2)
		for i := range results {
			wg.Go(func() {
				results[i] = callConnect(t, ts, createIPRule(ts.First.StoreID, fmt.Sprintf("192.0.%d.0/24", i), ""), admin)
			})
		}
		wg.Wait()
		created := 0
		for _, r := range results {
			switch {
			case r.code == 0:
				created++
			case r.code == connect.CodeFailedPrecondition && r.reason == "IP_RULE_LIMIT_EXCEEDED":
			default:
				t.Fatalf("unexpected answer: %v", r)
			}
		}
		if n := db.IPRule.Query().CountX(sys); created != 1 || n != 100 {
			t.Fatalf("%d creates passed and the store has %d rules; want 1 and 100", created, n)
		}
	})
}
