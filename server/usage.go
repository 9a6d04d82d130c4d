package server

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"sync"
	"time"

	"github.com/paymux/paymux/ent"
	"github.com/paymux/paymux/tenant"
)

// usageRecorder remembers each key's last use in memory and writes it to the
// database in the background, so an authenticated call never waits on a
// write to show "last used".
type usageRecorder struct {
	db      *ent.Client
	log     *slog.Logger
	mu      sync.Mutex
	pending map[string]keyUse
}

type keyUse struct {
	at time.Time
	ip netip.Addr
}

func newUsageRecorder(db *ent.Client, log *slog.Logger) *usageRecorder {
	return &usageRecorder{db: db, log: log, pending: map[string]keyUse{}}
}

func (u *usageRecorder) record(keyID string, ip netip.Addr, at time.Time) {
	u.mu.Lock()
	u.pending[keyID] = keyUse{at: at, ip: ip}
	u.mu.Unlock()
}

// flush writes what was recorded since the last flush.
func (u *usageRecorder) flush(ctx context.Context) error {
	u.mu.Lock()
	pending := u.pending
	u.pending = make(map[string]keyUse, len(pending))
	u.mu.Unlock()
	ctx = tenant.System(ctx)
	for id, use := range pending {
		ip := ""
		if use.ip.IsValid() {
			ip = use.ip.String()
		}
		err := u.db.APIKey.UpdateOneID(id).SetLastUsedAt(use.at.UTC()).SetLastUsedIP(ip).Exec(ctx)
		if err != nil && !ent.IsNotFound(err) {
			return fmt.Errorf("record use of key %s: %w", id, err)
		}
	}
	return nil
}

// run flushes every interval until ctx ends, then once more.
func (u *usageRecorder) run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			if err := u.flush(ctx); err != nil {
				u.log.Warn("key usage not recorded", "error", err)
			}
		case <-ctx.Done():
			if err := u.flush(context.WithoutCancel(ctx)); err != nil {
				u.log.Warn("key usage not recorded", "error", err)
			}
			return
		}
	}
}
