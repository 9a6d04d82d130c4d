package account

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

// UsageRecorder remembers each key's last use in memory and writes it to
// the database in the background (Run), so an authenticated call never
// waits on a write to show "last used".
type UsageRecorder struct {
	db       *ent.Client
	log      *slog.Logger
	interval time.Duration

	mu      sync.Mutex
	pending map[string]keyUse
}

type keyUse struct {
	at time.Time
	ip netip.Addr
}

// NewUsageRecorder returns a recorder that writes what it was told every
// interval while Run runs. A nil log means slog.Default().
func NewUsageRecorder(db *ent.Client, log *slog.Logger, interval time.Duration) *UsageRecorder {
	if log == nil {
		log = slog.Default()
	}
	return &UsageRecorder{db: db, log: log, interval: interval, pending: map[string]keyUse{}}
}

// Record notes that key keyID was used from ip at at; the latest use of a
// key wins. It never touches the database.
func (u *UsageRecorder) Record(keyID string, ip netip.Addr, at time.Time) {
	u.mu.Lock()
	u.pending[keyID] = keyUse{at: at, ip: ip}
	u.mu.Unlock()
}

// flush writes what was recorded since the last flush.
func (u *UsageRecorder) flush(ctx context.Context) error {
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

// Run writes the recorded uses every interval until ctx ends, then once
// more, and returns nil. A failed write is logged, not returned: last use
// is informative only.
func (u *UsageRecorder) Run(ctx context.Context) error {
	t := time.NewTicker(u.interval)
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
			return nil
		}
	}
}
