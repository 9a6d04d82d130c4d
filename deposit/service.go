// Package deposit owns bank-transfer payment (무통장입금): a store's own
// bank accounts, the transactions reported on them (a feed, forwarded bank
// SMS and app notifications through bankmsg, statement files), the store's
// matching settings, bank transfer orders, and the matching of deposits to
// orders, automatic and by hand. Service is the one writer of bank
// accounts, deposits, bank messages and deposit settings; bank transfer
// orders are payments, created and moved through package payment's
// Service, so that a matched order is PAID with the same event, webhooks
// and timeline as any payment.
//
// The matching rule lives in match.go: a deposit pays the one open order
// of its account (or of any account of the store, for an order that named
// none) with the same normalised depositor name (bankmsg.NormalizeName)
// and amount, created before the deposit, and not yet due. None or several
// leave it UNMATCHED with the reason, unless the store's smart matching
// picks the oldest or newest of several.
//
// The package speaks Go and ent, not any wire format.
package deposit

import (
	"context"
	"log/slog"
	"time"

	"github.com/paymux/paymux/database"
	"github.com/paymux/paymux/ent"
	"github.com/paymux/paymux/payment"
	"github.com/paymux/paymux/secrets"
)

// Config is the deposits section of paymux's configuration.
type Config struct {
	// MatchWindow is how long a bank transfer order waits for its deposit
	// before it expires (PayAction: two weeks).
	MatchWindow time.Duration `mapstructure:"match_window"`
	// SweepInterval is how often orders past their window are expired.
	SweepInterval time.Duration `mapstructure:"sweep_interval"`
}

// Deps are what a Service is built from.
type Deps struct {
	Config   Config
	DB       *ent.Client
	Keyring  *secrets.Keyring
	Payments *payment.Service
	Outbox   payment.Outbox
	// DepositData renders a deposit as the data of its events (the
	// webhook payload's "data").
	DepositData func(*ent.Deposit) ([]byte, error)
	// BatchEnqueue returns the context for one transaction that writes many
	// events (webhook.Outbox.WithEndpointMemo); nil: ctx as it is.
	BatchEnqueue func(context.Context) context.Context
	Logger       *slog.Logger
	Now          func() time.Time
}

// Service is bank-transfer payment.
type Service struct {
	cfg         Config
	db          *ent.Client
	keyring     *secrets.Keyring
	payments    *payment.Service
	outbox      payment.Outbox
	depositData func(*ent.Deposit) ([]byte, error)
	outboxMemo  func(context.Context) context.Context
	locks       database.KeyLocks
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
	if d.Config.MatchWindow <= 0 {
		d.Config.MatchWindow = 14 * 24 * time.Hour
	}
	if d.BatchEnqueue == nil {
		d.BatchEnqueue = func(ctx context.Context) context.Context { return ctx }
	}
	if d.Config.SweepInterval <= 0 {
		d.Config.SweepInterval = time.Minute
	}
	return &Service{
		cfg: d.Config, db: d.DB, keyring: d.Keyring, payments: d.Payments, outbox: d.Outbox,
		depositData: d.DepositData, outboxMemo: d.BatchEnqueue, log: d.Logger, now: d.Now,
	}
}

// clock is now as paymux stores times: UTC, to the microsecond.
func (s *Service) clock() time.Time { return s.now().UTC().Truncate(time.Microsecond) }

// Reasons of the deposit API.
const (
	ReasonBankAccountNotFound = "BANK_ACCOUNT_NOT_FOUND"
	ReasonBankAccountArchived = "BANK_ACCOUNT_ARCHIVED"
	ReasonBankAccountMode     = "BANK_ACCOUNT_MODE_MISMATCH"
	ReasonNoBankAccount       = "NO_BANK_ACCOUNT"
	ReasonDepositNotFound     = "DEPOSIT_NOT_FOUND"
	ReasonDepositMatched      = "DEPOSIT_ALREADY_MATCHED"
	ReasonDepositNotMatched   = "DEPOSIT_NOT_MATCHED"
	ReasonNotADeposit         = "NOT_A_DEPOSIT"
	ReasonNotBankTransfer     = "NOT_A_BANK_TRANSFER"
	ReasonAmountMismatch      = "AMOUNT_MISMATCH"
	ReasonAccountMismatch     = "ACCOUNT_MISMATCH"
	ReasonReceiptIssued       = "CASH_RECEIPT_ISSUED"
	ReasonSettingsNeedLiveKey = "SETTINGS_NEED_LIVE_KEY"
)

// Why a deposit is UNMATCHED.
const (
	UnmatchedNoCandidate = "NO_CANDIDATE"
	UnmatchedSeveral     = "SEVERAL_CANDIDATES"
	UnmatchedByHand      = "UNMATCHED_BY_HAND"
	// Maybe a deposit recorded already, reported by another source with
	// other details: never paid automatically.
	UnmatchedPossibleDuplicate = "POSSIBLE_DUPLICATE"
)

// Event types of the deposit events.
const (
	EventDepositReceived  = "deposit.received"
	EventDepositMatched   = "deposit.matched"
	EventDepositUnmatched = "deposit.unmatched"
	EventBankTransaction  = "bank.transaction"
)

// EventTypes are the deposit events a webhook endpoint may ask for.
func EventTypes() []string {
	return []string{EventDepositReceived, EventDepositMatched, EventDepositUnmatched, EventBankTransaction}
}

// modeOf is the mode a caller acts in: its key's, TEST for the
// administrator.
func modeOf(keyMode string) string {
	if keyMode == "LIVE" {
		return "LIVE"
	}
	return "TEST"
}
