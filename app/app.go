// Package app builds paymux: every domain service and runner, in
// dependency order, with explicit constructors, and the transport over
// them. Run serves HTTP and runs the runners a role asks for, in one
// errgroup: this is the only place paymux starts its long-lived goroutines.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/paymux/paymux/deposit"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"golang.org/x/sync/errgroup"

	"github.com/paymux/paymux/account"
	"github.com/paymux/paymux/billing"
	"github.com/paymux/paymux/calllog"
	"github.com/paymux/paymux/config"
	"github.com/paymux/paymux/console"
	"github.com/paymux/paymux/ent"
	"github.com/paymux/paymux/payment"
	"github.com/paymux/paymux/providers"
	"github.com/paymux/paymux/providers/nicepay"
	"github.com/paymux/paymux/providers/sandbox"
	"github.com/paymux/paymux/providers/tosspayments"
	"github.com/paymux/paymux/secrets"
	"github.com/paymux/paymux/server"
	"github.com/paymux/paymux/surface/pages"
	"github.com/paymux/paymux/surface/payaction"
	"github.com/paymux/paymux/webhook"
)

// Role is what one paymux process does.
type Role string

const (
	// RoleAll serves the API and runs every runner: one process is a whole
	// paymux (the default).
	RoleAll Role = "all"
	// RoleAPI serves the API and the pages; of the runners it keeps only
	// those serving needs (the call log writer, key usage, the sandbox's
	// state), none of the background work.
	RoleAPI Role = "api"
	// RoleWorker runs the background work (sweeper, webhook dispatcher,
	// scheduler, housekeeping) and serves only /healthz and /metrics.
	RoleWorker Role = "worker"
)

// ParseRole reads a role's name.
func ParseRole(s string) (Role, error) {
	switch r := Role(s); r {
	case RoleAll, RoleAPI, RoleWorker:
		return r, nil
	case "":
		return RoleAll, nil
	}
	return "", fmt.Errorf("role %q: want all, api or worker", s)
}

// Options are what an App is built from.
type Options struct {
	Config  config.Config
	DB      *ent.Client
	Keyring *secrets.Keyring
	// Accounts authenticates and writes stores and keys; nil: a new one
	// with AdminTokenHash.
	Accounts       *account.Service
	AdminTokenHash []byte
	Logger         *slog.Logger
	// Now is the clock; nil means time.Now. Tests move it.
	Now func() time.Time
	// Sandbox is the sandbox PG; nil: a new one on the same clock, its
	// state kept in the data directory.
	Sandbox *sandbox.Sandbox
	// Role is what Run does; "" is RoleAll.
	Role Role
}

// App is a built paymux.
type App struct {
	cfg  config.Config
	log  *slog.Logger
	role Role

	Registry *prometheus.Registry
	Accounts *account.Service
	Usage    *account.UsageRecorder
	Calls    *calllog.Writer
	Outbox   *webhook.Outbox
	Dispatch *webhook.Dispatcher
	Webhooks *webhook.Service
	Sandbox  *sandbox.Sandbox
	Payments *payment.Service
	Billing  *billing.Service
	Schedule *billing.Scheduler
	Sweeper  *payment.Sweeper
	Deposits *deposit.Service
	// Orders expires bank transfer orders past their match window.
	Orders *deposit.Sweeper
	// Console signs people in to the web console.
	Console *console.Service
	Server  *server.Server

	sandboxState *sandbox.StateFile
	housekeeping *housekeeping
}

// New builds every service and the transport over them. It starts
// nothing: Run does.
func New(o Options) (*App, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	role := o.Role
	if role == "" {
		role = RoleAll
	}
	cfg, db, keyring, log, now := o.Config, o.DB, o.Keyring, o.Logger, o.Now
	a := &App{cfg: cfg, log: log, role: role, Registry: prometheus.NewRegistry()}
	a.Registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	a.Accounts = o.Accounts
	if a.Accounts == nil {
		a.Accounts = account.New(account.Options{DB: db, Keyring: keyring, AdminTokenHash: o.AdminTokenHash,
			CacheTTL: cfg.AuthCacheTTL, Now: now})
	}
	a.Usage = account.NewUsageRecorder(db, log, 5*time.Second)

	var err error
	if a.Calls, err = calllog.NewWriter(db, cfg.CallLog, now, log, a.Registry); err != nil {
		return nil, err
	}
	if a.Dispatch, err = webhook.NewDispatcher(db, keyring, cfg.Webhooks, now, log, a.Registry); err != nil {
		return nil, err
	}
	a.Outbox = webhook.NewOutbox(a.Dispatch.Wake)
	a.Webhooks = webhook.NewService(db, keyring, cfg.Webhooks, now, server.EventTypes(), a.Dispatch.Wake)

	a.Sandbox = o.Sandbox
	if a.Sandbox == nil {
		a.Sandbox = sandbox.New(sandbox.Options{
			Now:         now,
			CheckoutURL: cfg.BaseURL() + pages.CheckoutPath,
			// From the master key: a replay after a restart is still
			// recognised, and the saved state holds no key.
			FingerprintKey: keyring.HashSecret("sandbox-fingerprint"),
		})
		a.sandboxState, err = sandbox.OpenStateFile(a.Sandbox, cfg.DataDir, time.Second,
			func(err error) { log.Error("save sandbox state", "error", err) })
		if err != nil {
			return nil, err
		}
	}

	urls := pages.NewReturnURLs(cfg.BaseURL(), keyring)
	a.Payments = payment.New(payment.Deps{
		Config:  cfg.Payments,
		DB:      db,
		Keyring: keyring,
		Providers: map[string]providers.Provider{
			sandbox.Name: a.Sandbox,
			tosspayments.Name: tosspayments.New(tosspayments.Options{APIURL: cfg.PGs.TossPayments.APIURL,
				SDKURL: cfg.PGs.TossPayments.SDKURL, Now: now}),
			nicepay.Name: nicepay.New(nicepay.Options{APIURL: cfg.PGs.NicePay.APIURL,
				SandboxAPIURL: cfg.PGs.NicePay.SandboxAPIURL, SDKURL: cfg.PGs.NicePay.SDKURL, Now: now}),
		},
		WrapProvider:    a.Calls.WrapProvider,
		Outbox:          a.Outbox,
		EventData:       server.PaymentEventData,
		ReturnURL:       urls.Payment,
		CheckoutURL:     urls.PaymentCheckout,
		ChannelCacheTTL: cfg.AuthCacheTTL,
		Logger:          log,
		Now:             now,
	})
	a.Billing = billing.New(billing.Deps{
		Config:         cfg.Billing,
		DB:             db,
		Keyring:        keyring,
		Payments:       a.Payments,
		Outbox:         a.Outbox,
		BillingKeyData: server.BillingKeyEventData,
		ScheduleData:   server.ScheduleEventData,
		ReturnURL:      urls.BillingKey,
		CheckoutURL:    urls.BillingCheckout,
		Logger:         log,
		Now:            now,
	})
	if a.Schedule, err = billing.NewScheduler(a.Billing, billing.SchedulerDeps{
		Registerer:   a.Registry,
		NewJob:       func(ctx context.Context) context.Context { return jobContext(ctx, "job_schedule_") },
		BatchEnqueue: a.Outbox.WithEndpointMemo,
	}); err != nil {
		return nil, err
	}
	a.Billing.OnSchedule(a.Schedule.Wake)
	a.Payments.OnTransition(a.Schedule.EndSchedule)
	a.Sweeper = payment.NewSweeper(a.Payments, a.Schedule.ResumeScheduledCharge,
		func(ctx context.Context) context.Context { return jobContext(ctx, "job_sweep_") })
	a.Deposits = deposit.New(deposit.Deps{
		Config: cfg.Deposits, DB: db, Keyring: keyring, Payments: a.Payments, Outbox: a.Outbox,
		DepositData: server.DepositEventData, BatchEnqueue: a.Outbox.WithEndpointMemo, Logger: log, Now: now,
	})
	a.Orders = deposit.NewSweeper(a.Deposits)
	a.Console = console.New(console.Deps{Config: cfg.Console, DB: db, Keyring: keyring, Logger: log, Now: now, PublicURL: cfg.BaseURL()})
	a.housekeeping = &housekeeping{cfg: cfg, db: db, calls: a.Calls, billing: a.Billing, console: a.Console, log: log, now: now}

	resolver, err := server.NewResolver(cfg)
	if err != nil {
		return nil, err
	}
	a.Server, err = server.New(server.Deps{
		Config: cfg, DB: db, Keyring: keyring, Logger: log, Now: now, Registry: a.Registry,
		Accounts: a.Accounts, Usage: a.Usage, Calls: a.Calls,
		Payments: a.Payments, Billing: a.Billing, Webhooks: a.Webhooks, Deposits: a.Deposits, Console: a.Console,
		Pages: pages.New(pages.Deps{DB: db, URLs: urls, Payments: a.Payments, Billing: a.Billing,
			Sandbox: a.Sandbox, Resolver: resolver, Logger: log, Now: now}),
	})
	if err != nil {
		return nil, err
	}
	a.Server.Mount(payaction.New(payaction.Deps{Client: a.Server.Loopback(), BaseURL: "http://paymux.loopback",
		Logger: log, Now: now}))
	return a, nil
}

// jobContext gives a background job a request id of its own, so the PG
// calls it makes are linked to it in the call log.
func jobContext(ctx context.Context, prefix string) context.Context {
	return calllog.WithRequestID(ctx, prefix+secrets.RandomString(12))
}

// runner is one piece of background work.
type runner struct {
	name string
	run  func(ctx context.Context) error
}

// runners are what the role runs beside its HTTP server.
func (a *App) runners() []runner {
	var rs []runner
	// Every role writes the call log (API calls, or the PG calls its jobs
	// make) and keeps the sandbox's state.
	if a.Calls.Enabled() {
		rs = append(rs, runner{"call log writer", a.Calls.Run})
	}
	if a.sandboxState != nil {
		rs = append(rs, runner{"sandbox state", a.sandboxState.Run})
	}
	if a.role != RoleWorker {
		rs = append(rs, runner{"key usage", a.Usage.Run})
	}
	if a.role != RoleAPI {
		rs = append(rs,
			runner{"sweeper", a.Sweeper.Run},
			runner{"order expiry", a.Orders.Run},
			runner{"webhook dispatcher", a.Dispatch.Run},
			runner{"scheduler", a.Schedule.Run},
			runner{"housekeeping", a.housekeeping.Run},
		)
	}
	return rs
}

// Handler is what the role serves: everything, or for a worker only
// /healthz and /metrics.
func (a *App) Handler() http.Handler {
	if a.role == RoleWorker {
		mux := http.NewServeMux()
		server.MountOperations(mux, a.Registry, a.Accounts)
		return mux
	}
	return a.Server.Handler()
}

// Serve serves on ln and runs the role's runners until ctx ends, then
// stops the HTTP server gracefully and waits for every runner to finish
// its work in hand. The first runner to fail stops the others.
func (a *App) Serve(ctx context.Context, ln net.Listener) error {
	g, gctx := errgroup.WithContext(ctx)
	// The runners stop after the HTTP server: calls still being answered
	// may write the call log or wake the dispatcher.
	runCtx, stopRunners := context.WithCancel(context.WithoutCancel(ctx))
	defer stopRunners()
	for _, r := range a.runners() {
		g.Go(func() error {
			if err := r.run(runCtx); err != nil {
				return fmt.Errorf("%s: %w", r.name, err)
			}
			return nil
		})
	}
	g.Go(func() error {
		defer stopRunners()
		err := server.Serve(gctx, ln, a.Handler(), a.cfg, a.log)
		if errors.Is(err, context.Canceled) {
			return nil
		}
		return err
	})
	// A runner that fails ends the HTTP server through gctx, and so the
	// other runners.
	return g.Wait()
}

// Close releases what New opened (the REST gateway hop).
func (a *App) Close() error { return a.Server.Close() }
