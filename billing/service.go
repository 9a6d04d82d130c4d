package billing

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/paymux/paymux/ent"
	"github.com/paymux/paymux/ent/billingkey"
	"github.com/paymux/paymux/ent/event"
	"github.com/paymux/paymux/ent/payment"
	"github.com/paymux/paymux/ent/predicate"
	"github.com/paymux/paymux/ent/schedule"
	paymentsvc "github.com/paymux/paymux/payment"
	"github.com/paymux/paymux/secrets"
	"github.com/paymux/paymux/tenant"
)

// Config is the billing section of paymux's configuration (the schedule
// executor's).
type Config struct {
	// PollInterval is how often due schedules are looked for (a schedule
	// created or moved in this process wakes the executor at once).
	PollInterval time.Duration `mapstructure:"poll_interval"`
	// Workers bounds the scheduled charges in flight in one process.
	Workers int `mapstructure:"workers"`
}

// Reasons of the billing API.
const (
	ReasonBillingKeyNotFound     = "BILLING_KEY_NOT_FOUND"
	ReasonBillingKeyExists       = "BILLING_KEY_EXISTS"
	ReasonBillingKeyDeleted      = "BILLING_KEY_DELETED"
	ReasonBillingKeyPending      = "BILLING_KEY_PENDING"
	ReasonBillingKeyAmbiguous    = "BILLING_KEY_AMBIGUOUS"
	ReasonBillingKeyHasSchedules = "BILLING_KEY_HAS_SCHEDULES"
	ReasonScheduleNotFound       = "SCHEDULE_NOT_FOUND"
	ReasonScheduleExists         = "SCHEDULE_EXISTS"
	ReasonScheduleNotScheduled   = "SCHEDULE_NOT_SCHEDULED"
)

// Outbox queues the webhook deliveries of an event in the transaction that
// wrote it (package webhook implements it).
type Outbox interface {
	Enqueue(ctx context.Context, tx *ent.Tx, ev *ent.Event, method string) error
}

// Deps are what a Service is built from.
type Deps struct {
	Config   Config
	DB       *ent.Client
	Keyring  *secrets.Keyring
	Payments *paymentsvc.Service
	Outbox   Outbox
	// BillingKeyData and ScheduleData render a billing key and a schedule
	// as the data of their events (the webhook payload's "data").
	BillingKeyData func(*ent.BillingKey) ([]byte, error)
	ScheduleData   func(*ent.Schedule) ([]byte, error)
	// ReturnURL is where a PG's billing window sends the buyer back to
	// paymux for a PENDING key (by its bk_ id).
	ReturnURL func(billingKeyID string) string
	// CheckoutURL is paymux's page that opens a billing key's window
	// through the PG's JS SDK.
	CheckoutURL func(billingKeyID string) string
	Logger      *slog.Logger
	Now         func() time.Time
}

// Service is billing: the one writer of billing keys and schedules.
type Service struct {
	cfg          Config
	db           *ent.Client
	keyring      *secrets.Keyring
	payments     *paymentsvc.Service
	outbox       Outbox
	keyData      func(*ent.BillingKey) ([]byte, error)
	scheduleData func(*ent.Schedule) ([]byte, error)
	returnURL    func(string) string
	checkoutURL  func(string) string
	// scheduled are told that schedules were created or moved (the
	// Scheduler's Wake).
	scheduled []func()
	log       *slog.Logger
	now       func() time.Time
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
		cfg:          d.Config,
		db:           d.DB,
		keyring:      d.Keyring,
		payments:     d.Payments,
		outbox:       d.Outbox,
		keyData:      d.BillingKeyData,
		scheduleData: d.ScheduleData,
		returnURL:    d.ReturnURL,
		checkoutURL:  d.CheckoutURL,
		log:          d.Logger,
		now:          d.Now,
	}
}

// OnSchedule adds a function called when schedules were created or moved
// (the Scheduler's Wake, so that one due now runs at once). Call it while
// wiring, before the service serves.
func (s *Service) OnSchedule(f func()) { s.scheduled = append(s.scheduled, f) }

func (s *Service) schedulesChanged() {
	for _, f := range s.scheduled {
		f()
	}
}

// clock is the service's clock, truncated to what PostgreSQL keeps.
func (s *Service) clock() time.Time { return s.now().UTC().Truncate(time.Microsecond) }

// VisibleBillingKeys hides LIVE billing keys from TEST keys, as
// payment.Visible does payments.
func VisibleBillingKeys(ctx context.Context) []predicate.BillingKey {
	if v, _ := tenant.FromContext(ctx); v.TestOnly() {
		return []predicate.BillingKey{billingkey.ModeEQ(billingkey.ModeTEST)}
	}
	return nil
}

// VisibleSchedules hides LIVE schedules from TEST keys.
func VisibleSchedules(ctx context.Context) []predicate.Schedule {
	if v, _ := tenant.FromContext(ctx); v.TestOnly() {
		return []predicate.Schedule{schedule.ModeEQ(schedule.ModeTEST)}
	}
	return nil
}

// keyIDOf is the API key acting, "" for the administrator.
func keyIDOf(ctx context.Context) string {
	v, _ := tenant.FromContext(ctx)
	return v.KeyID
}

func (s *Service) sealBillingKey(id, pgKey string) ([]byte, error) {
	return s.keyring.Encrypt([]byte(pgKey), []byte("billing-key:"+id))
}

// openBillingKey decrypts the PG's key of k.
func (s *Service) openBillingKey(k *ent.BillingKey) (string, error) {
	plain, err := s.keyring.Decrypt(k.PgKeySealed, []byte("billing-key:"+k.ID))
	if err != nil {
		return "", fmt.Errorf("billing key %s: %w", k.ID, err)
	}
	return string(plain), nil
}

// recordBillingKeyEvent writes billing_key.issued or .deleted.
func (s *Service) recordBillingKeyEvent(ctx context.Context, tx *ent.Tx, k *ent.BillingKey, typ string) error {
	data, err := s.keyData(k)
	if err != nil {
		return fmt.Errorf("event data: %w", err)
	}
	return s.recordEvent(ctx, tx, typ, k.StoreID, string(k.Mode), "", "", data)
}

// recordScheduleEvent writes a schedule's event: its data is the schedule
// as the API shows it.
func (s *Service) recordScheduleEvent(ctx context.Context, tx *ent.Tx, r *ent.Schedule, typ string) error {
	data, err := s.scheduleData(r)
	if err != nil {
		return fmt.Errorf("event data: %w", err)
	}
	return s.recordEvent(ctx, tx, typ, r.StoreID, string(r.Mode), r.PaymentID, r.MerchantPaymentID, data)
}

// recordEvent writes one of billing's events, its data the billing key or
// schedule as the API shows it, and queues its deliveries. Billing charges
// cards: endpoints filtered by pay method take them as CARD.
func (s *Service) recordEvent(ctx context.Context, tx *ent.Tx, typ, storeID, mode, paymentID, merchantPaymentID string, data []byte) error {
	ev, err := tx.Event.Create().
		SetStoreID(storeID).
		SetMode(event.Mode(mode)).
		SetType(typ).
		SetPaymentID(paymentID).
		SetMerchantPaymentID(merchantPaymentID).
		SetData(data).
		SetCreatedAt(s.clock()).
		Save(ctx)
	if err != nil {
		return err
	}
	return s.outbox.Enqueue(ctx, tx, ev, string(payment.MethodCARD))
}
