package deposit

import (
	"context"
	"fmt"
	"strings"

	"github.com/paymux/paymux/apierr"
	"github.com/paymux/paymux/database"
	"github.com/paymux/paymux/ent"
	"github.com/paymux/paymux/ent/bankaccount"
	"github.com/paymux/paymux/ent/channel"
	entdeposit "github.com/paymux/paymux/ent/deposit"
	"github.com/paymux/paymux/ent/payment"
	paymentsvc "github.com/paymux/paymux/payment"
	"github.com/paymux/paymux/providers"
	"github.com/paymux/paymux/secrets"
	"github.com/paymux/paymux/tenant"
)

// AccountInput is a new bank account.
type AccountInput struct {
	StoreID string
	// Mode is "TEST" or "LIVE"; "": the calling key's.
	Mode                 string
	Bank                 string
	Number               string // digits, hyphens allowed
	Holder               string
	Description          string
	CashReceiptChannelID string
}

// CreateAccount adds a bank account to a store. Its number is sealed,
// bound to the account's id.
func (s *Service) CreateAccount(ctx context.Context, in AccountInput) (*ent.BankAccount, error) {
	v, _ := tenant.FromContext(ctx)
	mode := in.Mode
	if mode == "" {
		mode = modeOf(v.KeyMode)
	}
	if v.KeyMode != "" && v.KeyMode != mode {
		return nil, apierr.New(apierr.CodePermissionDenied, ReasonBankAccountMode, "a %s key adds only %s bank accounts", v.KeyMode, v.KeyMode)
	}
	bank, err := providers.ParseBank(in.Bank)
	if err != nil || !bank.Valid() {
		return nil, apierr.InvalidField("bank", "unknown bank code %q", in.Bank)
	}
	number := strings.ReplaceAll(in.Number, "-", "")
	if len(number) < 6 || len(number) > 20 {
		return nil, apierr.InvalidField("account_number", "an account number has 6 to 20 digits")
	}
	if id := in.CashReceiptChannelID; id != "" {
		ch, err := s.db.Channel.Query().Where(channel.ID(id)).Only(ctx)
		if ent.IsNotFound(err) {
			return nil, apierr.InvalidField("cash_receipt_channel_id", "channel %s not found", id)
		}
		if err != nil {
			return nil, err
		}
		if string(ch.Mode) != mode || ch.Purpose != channel.PurposePAYMENT {
			return nil, apierr.InvalidField("cash_receipt_channel_id", "channel %s is not a %s payment channel", id, mode)
		}
	}
	id := secrets.NewID("bac")
	sealed, err := s.keyring.Encrypt([]byte(number), accountAD(id))
	if err != nil {
		return nil, fmt.Errorf("seal account number: %w", err)
	}
	return s.db.BankAccount.Create().
		SetID(id).SetStoreID(in.StoreID).SetMode(bankaccount.Mode(mode)).SetBank(string(bank)).
		SetNumberSealed(sealed).SetNumberMasked(paymentsvc.MaskDigits(number)).SetNumberLast4(number[len(number)-4:]).
		SetHolder(in.Holder).SetDescription(in.Description).SetCashReceiptChannelID(in.CashReceiptChannelID).
		Save(ctx)
}

// accountAD binds a sealed account number to its account.
func accountAD(id string) []byte { return []byte("bank-account:" + id) }

// AccountNumber opens an account's number, in full.
func (s *Service) AccountNumber(a *ent.BankAccount) (string, error) {
	plain, err := s.keyring.Decrypt(a.NumberSealed, accountAD(a.ID))
	if err != nil {
		return "", fmt.Errorf("open account %s: %w", a.ID, err)
	}
	return string(plain), nil
}

// Account reads a bank account of the caller's store. A TEST key sees
// TEST accounts only.
func (s *Service) Account(ctx context.Context, id string) (*ent.BankAccount, error) {
	q := s.db.BankAccount.Query().Where(bankaccount.ID(id))
	if v, _ := tenant.FromContext(ctx); v.TestOnly() {
		q.Where(bankaccount.ModeEQ(bankaccount.ModeTEST))
	}
	a, err := q.Only(ctx)
	if ent.IsNotFound(err) {
		return nil, apierr.New(apierr.CodeNotFound, ReasonBankAccountNotFound, "bank account %s not found", id)
	}
	return a, err
}

// usableAccount reads an account that takes new orders and deposits, in
// the caller's mode, for field.
func (s *Service) usableAccount(ctx context.Context, id, field string) (*ent.BankAccount, error) {
	a, err := s.Account(ctx, id)
	if apierr.Reason(err) == ReasonBankAccountNotFound {
		return nil, apierr.InvalidBecause(ReasonBankAccountNotFound, apierr.FieldViolation{Field: field, Description: fmt.Sprintf("bank account %s not found", id)})
	}
	if err != nil {
		return nil, err
	}
	if a.ArchivedAt != nil {
		return nil, apierr.InvalidBecause(ReasonBankAccountArchived, apierr.FieldViolation{Field: field, Description: fmt.Sprintf("bank account %s was deleted", id)})
	}
	if v, _ := tenant.FromContext(ctx); v.KeyMode != "" && v.KeyMode != string(a.Mode) {
		return nil, apierr.New(apierr.CodePermissionDenied, ReasonBankAccountMode, "a %s key reaches only %s bank accounts; %s is %s", v.KeyMode, v.KeyMode, a.ID, a.Mode)
	}
	return a, nil
}

// DeleteAccount removes a bank account, or archives one that orders or
// deposits refer to (archived reports which).
func (s *Service) DeleteAccount(ctx context.Context, id string) (archived bool, err error) {
	err = database.InTx(ctx, s.db, func(tx *ent.Tx) error {
		a, err := tx.BankAccount.Query().Where(bankaccount.ID(id)).Modify(database.ForUpdate).Only(ctx)
		if ent.IsNotFound(err) {
			return apierr.New(apierr.CodeNotFound, ReasonBankAccountNotFound, "bank account %s not found", id)
		}
		if err != nil {
			return err
		}
		if v, _ := tenant.FromContext(ctx); v.TestOnly() && a.Mode != bankaccount.ModeTEST {
			return apierr.New(apierr.CodeNotFound, ReasonBankAccountNotFound, "bank account %s not found", id)
		}
		if a.ArchivedAt != nil {
			archived = true
			return nil
		}
		used, err := tx.Deposit.Query().Where(entdeposit.BankAccountID(id)).Exist(ctx)
		if err == nil && !used {
			used, err = tx.Payment.Query().Where(payment.BankAccountID(id)).Exist(ctx)
		}
		if err == nil && !used {
			// An order that named no account shows this one to its buyer.
			used, err = tx.Payment.Query().Where(payment.MethodEQ(payment.MethodBANK_TRANSFER), payment.BankAccountID(""),
				payment.ModeEQ(payment.Mode(a.Mode)), payment.StatusEQ(payment.StatusREADY)).Exist(ctx)
		}
		if err != nil {
			return err
		}
		if !used {
			return tx.BankAccount.DeleteOne(a).Exec(ctx)
		}
		archived = true
		return tx.BankAccount.UpdateOne(a).SetArchivedAt(s.clock()).Exec(ctx)
	})
	return archived, err
}
