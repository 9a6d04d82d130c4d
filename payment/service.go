package payment

import (
	"context"
	"log/slog"
	"time"

	"github.com/paymux/paymux/ent"
	"github.com/paymux/paymux/providers"
	"github.com/paymux/paymux/secrets"
)

// Config is the payments section of paymux's configuration.
type Config struct {
	// PGTimeout bounds one call to a PG. A call cut off is an unknown
	// outcome, settled by asking the PG again.
	PGTimeout time.Duration `mapstructure:"pg_timeout"`
	// SweepInterval is how often paymux resolves unknown PG outcomes,
	// resends unanswered cancels and expires virtual accounts.
	SweepInterval time.Duration `mapstructure:"sweep_interval"`
	// IdempotencyTTL is how long an Idempotency-Key is remembered.
	IdempotencyTTL time.Duration `mapstructure:"idempotency_ttl"`
}

// Outbox queues the webhook deliveries of an event in the transaction that
// wrote it (package webhook implements it).
type Outbox interface {
	Enqueue(ctx context.Context, tx *ent.Tx, ev *ent.Event, method string) error
}

// TransitionHook runs in the transaction of every state change, after the
// payment row and its event are written: billing ends the schedule a
// payment was charged for in the same transaction.
type TransitionHook func(ctx context.Context, tx *ent.Tx, p *ent.Payment) error

// Deps are what a Service is built from.
type Deps struct {
	Config  Config
	DB      *ent.Client
	Keyring *secrets.Keyring
	// Providers are the PG adapters by provider name ("sandbox", ...).
	Providers map[string]providers.Provider
	// WrapProvider wraps a channel's adapter, for the call log; nil keeps
	// it as it is.
	WrapProvider func(p providers.Provider, storeID string) providers.Provider
	Outbox       Outbox
	// EventData renders a payment as the data of its events (the webhook
	// payload's "data").
	EventData func(*ent.Payment) ([]byte, error)
	// ReturnURL is where a PG's window sends the buyer back to paymux for
	// a payment.
	ReturnURL func(paymentID string) string
	// CheckoutURL is paymux's page that opens a payment's window through
	// the PG's JS SDK.
	CheckoutURL func(paymentID string) string
	// ChannelCacheTTL is how long an opened channel is reused.
	ChannelCacheTTL time.Duration
	Logger          *slog.Logger
	Now             func() time.Time
}

// Service is the payment lifecycle.
type Service struct {
	cfg         Config
	db          *ent.Client
	keyring     *secrets.Keyring
	providers   map[string]providers.Provider
	wrap        func(providers.Provider, string) providers.Provider
	outbox      Outbox
	eventData   func(*ent.Payment) ([]byte, error)
	returnURL   func(string) string
	checkoutURL func(string) string
	channels    *channelCache
	hooks       []TransitionHook
	log         *slog.Logger
	now         func() time.Time
}

// New builds a Service.
func New(d Deps) *Service {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	return &Service{
		cfg:         d.Config,
		db:          d.DB,
		keyring:     d.Keyring,
		providers:   d.Providers,
		wrap:        d.WrapProvider,
		outbox:      d.Outbox,
		eventData:   d.EventData,
		returnURL:   d.ReturnURL,
		checkoutURL: d.CheckoutURL,
		channels:    newChannelCache(d.ChannelCacheTTL, d.Now),
		log:         d.Logger,
		now:         d.Now,
	}
}

// OnTransition adds a hook every state change runs in its transaction.
// Call it while wiring, before the service serves.
func (s *Service) OnTransition(h TransitionHook) { s.hooks = append(s.hooks, h) }

// clock is the service's clock, truncated to what PostgreSQL keeps.
func (s *Service) clock() time.Time { return s.now().UTC().Truncate(time.Microsecond) }

// PGContext bounds one PG call. It is detached from the API call: a client
// that hangs up must not cut a charge off half-way (that would make its
// outcome unknown for no reason).
func (s *Service) PGContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), s.cfg.PGTimeout)
}
