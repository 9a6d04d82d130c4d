package billing

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/paymux/paymux/ent"
	"github.com/paymux/paymux/ent/apikey"
	"github.com/paymux/paymux/ent/channel"
	"github.com/paymux/paymux/internal/testdb"
	paymentsvc "github.com/paymux/paymux/payment"
	"github.com/paymux/paymux/providers"
	"github.com/paymux/paymux/providers/sandbox"
	"github.com/paymux/paymux/secrets"
	"github.com/paymux/paymux/tenant"
)

// sixEnv is billing on a real database with the sandbox PG, and no
// server: a store with a TEST key and its default sandbox channel,
// payment.Service and billing.Service, the scheduler and the payment
// sweeper running, wired as server.New wires them.
type sixEnv struct {
	db      *ent.Client
	clock   *sixClock
	sandbox *sandbox.Sandbox
	keyring *secrets.Keyring
	cfg     sixConfig
	pg      providers.Provider
	outbox  *sixOutbox
	logger  *slog.Logger

	payments *paymentsvc.Service
	billing  *Service
	sched    *Scheduler
	sweeper  *paymentsvc.Sweeper
	registry *prometheus.Registry

	// caller is the store's TEST key acting, as the API's chain makes it.
	caller  context.Context
	storeID string
}

// sixConfig is what sixNewEnv builds from. By default the scheduler never
// runs by itself (billing.poll_interval 1h; it still runs when woken, as
// by CreateSchedules), payments.pg_timeout is 1s and the sweep runs every
// 20ms.
type sixConfig struct {
	Billing  Config
	Payments paymentsvc.Config
	// manual: the scheduler's loop is not started (the test calls runDue).
	manual bool
}

// sixNewEnv builds the environment on SQLite. configure may change the
// configuration; provider may stand in for the sandbox PG (wrapping it)
// before anything calls it.
func sixNewEnv(t *testing.T, configure func(*sixConfig), provider func(*sandbox.Sandbox) providers.Provider) *sixEnv {
	t.Helper()
	return sixNewEnvOn(t, testdb.SQLite(t), configure, provider)
}

// sixNewEnvOn builds the environment on db.
func sixNewEnvOn(t *testing.T, db *ent.Client, configure func(*sixConfig), provider func(*sandbox.Sandbox) providers.Provider) *sixEnv {
	t.Helper()
	master := make([]byte, 32)
	if _, err := rand.Read(master); err != nil {
		t.Fatal(err)
	}
	keyring, err := secrets.NewKeyring(master)
	if err != nil {
		t.Fatal(err)
	}
	cfg := sixConfig{
		Billing:  Config{PollInterval: time.Hour, Workers: 32},
		Payments: paymentsvc.Config{PGTimeout: time.Second, SweepInterval: 20 * time.Millisecond, IdempotencyTTL: 24 * time.Hour},
	}
	if configure != nil {
		configure(&cfg)
	}
	clock := &sixClock{}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	if os.Getenv("PAYMUX_TEST_LOG") != "" {
		logger = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	sb := sandbox.New(sandbox.Options{Now: clock.Now})
	var pg providers.Provider = sb
	if provider != nil {
		pg = provider(sb)
	}

	ctx := tenant.System(context.Background())
	st, err := db.Store.Create().SetName("six store").Save(ctx)
	if err != nil {
		t.Fatal(err)
	}
	key, err := db.APIKey.Create().SetStoreID(st.ID).SetName("six key").SetMode(apikey.ModeTEST).
		SetApprovalModel(apikey.ApprovalModelSERVER).SetAuthMethod(apikey.AuthMethodBASIC).
		SetClientKey("six_client_" + secrets.RandomString(8)).SetSecretHash(keyring.HashSecret("six")).SetSecretPrefix("six").
		SetSecretIssuedAt(time.Now().UTC().Truncate(time.Microsecond)).Save(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Channel.Create().SetID(secrets.NewID("ch")).SetStoreID(st.ID).SetProvider(channel.ProviderSANDBOX).
		SetMode(channel.ModeTEST).SetPurpose(channel.PurposePAYMENT).SetName("Sandbox").SetMerchantID("sandbox-" + st.ID).
		SetTaxType(channel.TaxTypeTAXABLE).SetDefault(true).Exec(ctx); err != nil {
		t.Fatal(err)
	}
	e := &sixEnv{
		db: db, clock: clock, sandbox: sb, keyring: keyring, cfg: cfg, pg: pg, outbox: &sixOutbox{}, logger: logger,
		caller:  tenant.NewContext(context.Background(), tenant.Viewer{StoreID: st.ID, KeyID: key.ID, KeyMode: string(key.Mode)}),
		storeID: st.ID,
	}
	e.start(t)
	return e
}

// replica is a second paymux process beside e: its own services,
// scheduler and sweeper, on the same database, PG and clock.
func (e *sixEnv) replica(t *testing.T) *sixEnv {
	t.Helper()
	r := &sixEnv{
		db: e.db, clock: e.clock, sandbox: e.sandbox, keyring: e.keyring, cfg: e.cfg, pg: e.pg, outbox: e.outbox,
		logger: e.logger, caller: e.caller, storeID: e.storeID,
	}
	r.start(t)
	return r
}

// start builds the services and starts the runners, until the test ends.
func (e *sixEnv) start(t *testing.T) {
	t.Helper()
	e.payments = paymentsvc.New(paymentsvc.Deps{
		Config:    e.cfg.Payments,
		DB:        e.db,
		Keyring:   e.keyring,
		Providers: map[string]providers.Provider{sandbox.Name: e.pg},
		Outbox:    e.outbox,
		EventData: func(p *ent.Payment) ([]byte, error) {
			return json.Marshal(map[string]any{"id": p.ID, "status": p.Status})
		},
		ReturnURL:       func(id string) string { return "http://paymux.test/pay/return/" + id },
		ChannelCacheTTL: 10 * time.Second,
		Logger:          e.logger,
		Now:             e.clock.Now,
	})
	e.billing = New(Deps{
		Config:   e.cfg.Billing,
		DB:       e.db,
		Keyring:  e.keyring,
		Payments: e.payments,
		Outbox:   e.outbox,
		BillingKeyData: func(k *ent.BillingKey) ([]byte, error) {
			return json.Marshal(map[string]any{"id": k.Name, "status": k.Status})
		},
		ScheduleData: func(r *ent.Schedule) ([]byte, error) {
			return json.Marshal(map[string]any{"id": r.ID, "status": r.Status})
		},
		ReturnURL: func(id string) string { return "http://paymux.test/billing/return/" + id },
		Logger:    e.logger,
		Now:       e.clock.Now,
	})
	e.registry = prometheus.NewRegistry()
	var err error
	e.sched, err = NewScheduler(e.billing, SchedulerDeps{Registerer: e.registry, BatchEnqueue: e.outbox.batch})
	if err != nil {
		t.Fatal(err)
	}
	e.billing.OnSchedule(e.sched.Wake)
	e.payments.OnTransition(e.sched.EndSchedule)
	e.sweeper = paymentsvc.NewSweeper(e.payments, e.sched.ResumeScheduledCharge, nil)

	run, stop := context.WithCancel(context.Background())
	var runners sync.WaitGroup
	runners.Add(1)
	go func() { defer runners.Done(); _ = e.sweeper.Run(run) }()
	if !e.cfg.manual {
		runners.Add(1)
		go func() { defer runners.Done(); _ = e.sched.Run(run) }()
	}
	t.Cleanup(func() { stop(); runners.Wait() })
}

// sixOutbox stands in for the webhook outbox: no endpoint takes the events
// here, so it queues nothing; it counts the events it is given, committed
// or not, and the transactions readied for many (BatchEnqueue).
type sixOutbox struct {
	mu      sync.Mutex
	events  map[string]int // by type
	batches int
}

func (o *sixOutbox) Enqueue(_ context.Context, _ *ent.Tx, ev *ent.Event, _ string) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.events == nil {
		o.events = map[string]int{}
	}
	o.events[ev.Type]++
	return nil
}

func (o *sixOutbox) batch(ctx context.Context) context.Context {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.batches++
	return ctx
}
