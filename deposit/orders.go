package deposit

import (
	"cmp"
	"context"
	"log/slog"
	"slices"
	"time"

	"github.com/paymux/paymux/apierr"
	"github.com/paymux/paymux/database"
	"github.com/paymux/paymux/deposit/bankmsg"
	"github.com/paymux/paymux/ent"
	"github.com/paymux/paymux/ent/bankaccount"
	entdeposit "github.com/paymux/paymux/ent/deposit"
	"github.com/paymux/paymux/ent/payment"
	"github.com/paymux/paymux/ent/schema/details"
	paymentsvc "github.com/paymux/paymux/payment"
	"github.com/paymux/paymux/paystate"
	"github.com/paymux/paymux/tenant"
)

// OrderInput is a new bank transfer order.
type OrderInput struct {
	paymentsvc.NewInput
	// DepositorName is the name the buyer will type at the bank.
	DepositorName string
	// BankAccountID is the account to pay into; "": any of the store's of
	// the caller's mode.
	BankAccountID string
	CashReceipt   *paymentsvc.CashReceiptSubject
}

// CreateOrder creates a bank transfer order: a READY payment of method
// BANK_TRANSFER that a deposit will pay, due after the match window. When
// the store matches late orders, an unmatched deposit of its name and
// amount that arrived before it pays it at once.
func (s *Service) CreateOrder(ctx context.Context, in OrderInput) (*ent.Payment, error) {
	v, _ := tenant.FromContext(ctx)
	mode := modeOf(v.KeyMode)
	var shown *ent.BankAccount
	if in.BankAccountID != "" {
		a, err := s.usableAccount(ctx, in.BankAccountID, "bank_transfer.bank_account_id")
		if err != nil {
			return nil, err
		}
		shown, mode = a, string(a.Mode)
	} else {
		a, err := s.db.BankAccount.Query().Where(bankaccount.ModeEQ(bankaccount.Mode(mode)), bankaccount.ArchivedAtIsNil()).
			Order(ent.Asc(bankaccount.FieldCreatedAt), ent.Asc(bankaccount.FieldID)).First(ctx)
		if ent.IsNotFound(err) {
			return nil, apierr.New(apierr.CodeFailedPrecondition, ReasonNoBankAccount,
				"the store has no %s bank account to receive transfers: add one with POST /v1/bank-accounts", mode)
		}
		if err != nil {
			return nil, err
		}
		shown = a
	}
	key := bankmsg.NormalizeName(in.DepositorName)
	if key == "" {
		return nil, apierr.InvalidField("bank_transfer.depositor_name", "a depositor name needs at least one letter or digit")
	}
	np, err := s.payments.PrepareBankTransfer(ctx, in.NewInput, payment.Mode(mode))
	if err != nil {
		return nil, err
	}
	number, err := s.AccountNumber(shown)
	if err != nil {
		return nil, err
	}
	bt := &details.BankTransfer{AccountID: shown.ID, Bank: shown.Bank, AccountNumber: number, Holder: shown.Holder}
	if cr := in.CashReceipt; cr != nil {
		sealed, err := s.payments.SealReceiptIdentity(np.ID, cr.Identity)
		if err != nil {
			return nil, err
		}
		bt.CashReceiptType, bt.CashReceiptIdentitySealed, bt.CashReceiptIdentity = string(cr.Type), sealed, paymentsvc.MaskDigits(cr.Identity)
	}
	due := np.CreatedAt.Add(s.cfg.MatchWindow)
	np.Set(func(c *ent.PaymentCreate) {
		c.SetBankAccountID(in.BankAccountID).SetDepositorName(in.DepositorName).SetDepositorKey(key).
			SetBankTransfer(bt).SetDueAt(due)
	})
	set, err := s.Settings(ctx, in.StoreID)
	if err != nil {
		return nil, err
	}
	var paid *ent.Payment
	p, err := s.payments.Insert(ctx, np, func(tx *ent.Tx, p *ent.Payment) (*ent.Payment, error) {
		// A deposit of this name and amount being recorded now waits for
		// this order (PostgreSQL), or this order for it: one sees the other.
		if err := s.locks.Lock(ctx, tx, matchKey(p.StoreID, key, p.Total)); err != nil {
			return nil, err
		}
		if !set.MatchLateOrders {
			return p, nil
		}
		d, err := s.lateDeposit(ctx, tx, p)
		if err != nil || d == nil {
			return p, err
		}
		_, paid, err = s.pay(ctx, tx, d, p, entdeposit.MatchTypeLATE, -1)
		return paid, err
	})
	if err != nil {
		return nil, err
	}
	s.afterMatch(ctx, paid)
	return p, nil
}

// lateDeposit is the unmatched deposit a new order p takes when the store
// matches late orders: the oldest one of p's name and amount, on p's
// account (or any of the store's of p's mode), inside the match window,
// that no order was there for (NO_CANDIDATE; one that several orders fit
// is a human's to decide, and one unmatched by hand stays so).
func (s *Service) lateDeposit(ctx context.Context, tx *ent.Tx, p *ent.Payment) (*ent.Deposit, error) {
	q := tx.Deposit.Query().Where(
		entdeposit.StoreID(p.StoreID),
		entdeposit.DepositorKey(p.DepositorKey),
		entdeposit.Amount(p.Total),
		entdeposit.StatusEQ(entdeposit.StatusUNMATCHED),
		entdeposit.UnmatchedReason(UnmatchedNoCandidate),
		entdeposit.TypeEQ(entdeposit.TypeDEPOSIT),
		entdeposit.ModeEQ(entdeposit.Mode(p.Mode)),
		entdeposit.TransactionAtGT(p.CreatedAt.Add(-s.cfg.MatchWindow)),
	)
	if p.BankAccountID != "" {
		q.Where(entdeposit.BankAccountID(p.BankAccountID))
	}
	// Every fitting deposit, locked, the oldest taken: with LIMIT 1 a
	// locked first row would hide the others (PostgreSQL).
	ds, err := q.Modify(database.ForUpdate).All(ctx)
	if err != nil || len(ds) == 0 {
		return nil, err
	}
	return slices.MinFunc(ds, func(a, b *ent.Deposit) int {
		return cmp.Or(a.TransactionAt.Compare(b.TransactionAt), cmp.Compare(a.ID, b.ID))
	}), nil
}

// ---- expiry ------------------------------------------------------------------

// expireBatch bounds the orders one sweep expires.
const expireBatch = 500

// expiryGrace is how long an order past its due time stays open before it
// expires: a transfer made just before the due time may be reported later
// (a statement imported the next morning), and still pays it.
const expiryGrace = 24 * time.Hour

// ExpireDue expires the bank transfer orders whose match window closed
// unpaid a day ago (expiryGrace) (EXPIRED, with payment.expired). Replicas may sweep together: an
// order another one expired is skipped.
func (s *Service) ExpireDue(ctx context.Context) (int, error) {
	ctx = tenant.System(ctx)
	due, err := s.db.Payment.Query().Where(
		payment.StatusEQ(payment.StatusREADY), payment.DueAtLT(s.clock().Add(-expiryGrace)), payment.MethodEQ(payment.MethodBANK_TRANSFER),
	).Limit(expireBatch).IDs(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, id := range due {
		err := database.InTx(ctx, s.db, func(tx *ent.Tx) error {
			p, err := paymentsvc.Lock(ctx, tx, id)
			if err != nil {
				return err
			}
			if p.Status != payment.StatusREADY || p.DueAt == nil || !p.DueAt.Before(s.clock().Add(-expiryGrace)) {
				return nil
			}
			_, err = s.payments.Transition(ctx, tx, p, paystate.ExpireOrder, nil)
			if err == nil {
				n++
			}
			return err
		})
		if err != nil && apierr.Reason(err) != apierr.ReasonConflict && ctx.Err() == nil {
			s.log.WarnContext(ctx, "expire bank transfer order", slog.String("payment_id", id), slog.Any("error", err))
		}
	}
	return n, nil
}

// Sweeper expires bank transfer orders past their window, and sends the
// cash receipts of matches that were never sent, every SweepInterval.
type Sweeper struct{ s *Service }

// NewSweeper returns the sweeper of s.
func NewSweeper(s *Service) *Sweeper { return &Sweeper{s: s} }

// Run sweeps until ctx ends.
func (w *Sweeper) Run(ctx context.Context) error {
	t := time.NewTicker(w.s.cfg.SweepInterval)
	defer t.Stop()
	for {
		if _, err := w.s.ExpireDue(ctx); err != nil && ctx.Err() == nil {
			w.s.log.WarnContext(ctx, "sweep bank transfer orders", slog.Any("error", err))
		}
		if err := w.s.payments.SendStrandedReceipts(ctx); err != nil && ctx.Err() == nil {
			w.s.log.WarnContext(ctx, "send stranded cash receipts", slog.Any("error", err))
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
