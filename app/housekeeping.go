package app

import (
	"context"
	"log/slog"
	"time"

	"github.com/paymux/paymux/billing"
	"github.com/paymux/paymux/calllog"
	"github.com/paymux/paymux/config"
	"github.com/paymux/paymux/console"
	"github.com/paymux/paymux/ent"
	"github.com/paymux/paymux/server"
	"github.com/paymux/paymux/tenant"
	"github.com/paymux/paymux/webhook"
)

// housekeeping drops, every payments.sweep_interval, what is kept only for
// a time; each rule is its owner's: Idempotency-Key records (server), the
// webhook delivery log (webhook), call log records (calllog), billing-key
// windows never completed (billing), ended console sessions and used
// password links (console).
type housekeeping struct {
	cfg     config.Config
	db      *ent.Client
	calls   *calllog.Writer
	billing *billing.Service
	console *console.Service
	log     *slog.Logger
	now     func() time.Time
}

func (h *housekeeping) Run(ctx context.Context) error {
	t := time.NewTicker(h.cfg.Payments.SweepInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			h.once(tenant.System(ctx))
		}
	}
}

func (h *housekeeping) once(ctx context.Context) {
	now := h.now().UTC().Truncate(time.Microsecond)
	for _, chore := range []struct {
		what string
		do   func() error
	}{
		{"drop idempotency records", func() error { return server.PurgeIdempotency(ctx, h.db, now) }},
		{"drop old webhook deliveries", func() error { return webhook.PurgeLog(ctx, h.db, now.Add(-h.cfg.Webhooks.LogRetention)) }},
		{"drop old call log records", func() error { return h.calls.Purge(ctx) }},
		{"drop unfinished billing key windows", func() error { return h.billing.DropUnfinishedWindows(ctx) }},
		{"drop ended console sessions and used links", func() error { return h.console.Purge(ctx) }},
	} {
		if err := chore.do(); err != nil && ctx.Err() == nil {
			h.log.WarnContext(ctx, "sweep: "+chore.what, "error", err)
		}
	}
}
