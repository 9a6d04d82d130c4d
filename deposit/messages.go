package deposit

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/paymux/paymux/apierr"
	"github.com/paymux/paymux/deposit/bankmsg"
	"github.com/paymux/paymux/ent"
	"github.com/paymux/paymux/ent/bankmessage"
	entdeposit "github.com/paymux/paymux/ent/deposit"
	"github.com/paymux/paymux/redact"
	"github.com/paymux/paymux/secrets"
	"github.com/paymux/paymux/tenant"
)

// MessageInput is one bank SMS or app notification as a phone forwards it.
type MessageInput struct {
	Text string
	// BankAccountID names the account; "": found from the message's bank
	// and the digits it shows.
	BankAccountID string
	// ReceivedAt dates an alert that shows no year; zero: now.
	ReceivedAt time.Time
	// SourceID is the SMS or notification id: the same id again is the
	// same message.
	SourceID string
}

// MessageResult is what became of one message.
type MessageResult struct {
	Message *ent.BankMessage
	// Deposit is the transaction it reported (recorded now, or before for
	// a DUPLICATE).
	Deposit *ent.Deposit
}

// bankWords are what any bank's transaction alert says. A text with none
// of them that no bank's shape recognises is not a bank message at all,
// and is refused rather than kept.
var bankWords = regexp.MustCompile(`입금|출금|잔액|이체|송금|원`)

// RecordMessages records bank messages: each deposit or withdrawal they
// report is recorded (once, whatever else reported it) and matched;
// card approvals, advertisements and the like are kept as IGNORED; a text
// of a format no parser knows, or for no account of the store, is kept as
// UNPARSED with the reason. A text that is no bank message at all, or an
// account the caller cannot use, is refused and nothing is written.
func (s *Service) RecordMessages(ctx context.Context, storeID string, in []MessageInput) ([]MessageResult, error) {
	parsed := make([]bankmsg.Result, len(in))
	named := make([]*ent.BankAccount, len(in))
	now := s.clock()
	for i, m := range in {
		if m.ReceivedAt.IsZero() {
			in[i].ReceivedAt = now
		}
		parsed[i] = bankmsg.Parse(m.Text, in[i].ReceivedAt)
		if r := parsed[i]; r.Status == bankmsg.StatusUnparsed && r.Shape == "" && !bankWords.MatchString(m.Text) {
			return nil, apierr.InvalidField(fmt.Sprintf("messages[%d].text", i), "not a bank transaction message (%s)", r.Reason)
		}
		if m.BankAccountID != "" {
			a, err := s.usableAccount(ctx, m.BankAccountID, fmt.Sprintf("messages[%d].bank_account_id", i))
			if err != nil {
				return nil, err
			}
			named[i] = a
		}
	}
	accounts, err := s.accountsOf(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]MessageResult, len(in))
	for i, m := range in {
		r, err := s.recordMessage(ctx, storeID, m, parsed[i], named[i], accounts)
		if err != nil {
			return nil, fmt.Errorf("message %d: %w", i, err)
		}
		out[i] = r
	}
	return out, nil
}

func (s *Service) recordMessage(ctx context.Context, storeID string, m MessageInput, r bankmsg.Result, a *ent.BankAccount, accounts []*ent.BankAccount) (MessageResult, error) {
	if m.SourceID != "" {
		// Message ids are per phone: one of the key's mode is this one.
		q := s.Messages(ctx).Where(bankmessage.SourceID(m.SourceID))
		if v, _ := tenant.FromContext(ctx); v.KeyMode != "" {
			q.Where(bankmessage.ModeEQ(bankmessage.Mode(v.KeyMode)))
		}
		old, err := q.First(ctx)
		if err == nil {
			return s.withDeposit(ctx, old)
		}
		if !ent.IsNotFound(err) {
			return MessageResult{}, err
		}
	}
	status, reason := bankmessage.StatusUNPARSED, string(r.Reason)
	if r.Detail != "" {
		reason += ": " + r.Detail
	}
	var dep *ent.Deposit
	switch r.Status {
	case bankmsg.StatusIgnored:
		status = bankmessage.StatusIGNORED
	case bankmsg.StatusTransaction:
		t := r.Transaction
		if a == nil {
			var err error
			if a, err = s.route(accounts, t); err != nil {
				return MessageResult{}, err
			}
		}
		if a == nil {
			reason = fmt.Sprintf("no one bank account of the store is this %s alert's (account %s): name bank_account_id",
				t.Bank, redact.MaskDigitRuns(t.Account))
			break
		}
		if t.Bank != "" && string(t.Bank) != a.Bank {
			reason = fmt.Sprintf("the alert is from bank %s; bank account %s is at %s", t.Bank, a.ID, a.Bank)
			break
		}
		if number, err := s.AccountNumber(a); err != nil {
			return MessageResult{}, err
		} else if !shownMatches(accountShown(t.Account), number) {
			reason = fmt.Sprintf("the alert shows account %s, not bank account %s", redact.MaskDigitRuns(t.Account), a.ID)
			a = nil
			break
		}
		results, err := s.record(ctx, []item{{account: a, t: TransactionInput{
			Withdrawal: t.Kind == bankmsg.Withdrawal, Amount: t.Amount, DepositorName: t.Counterparty,
			At: t.Time, Balance: t.Balance, SourceID: m.SourceID,
		}}}, entdeposit.SourceMESSAGE)
		if err != nil {
			return MessageResult{}, err
		}
		res := results[0]
		dep, reason, status = res.Deposit, "", bankmessage.StatusTRANSACTION
		if res.Duplicate {
			status = bankmessage.StatusDUPLICATE
		}
	}
	mode := modeOf("")
	if a != nil {
		mode = string(a.Mode)
	} else if v, _ := tenant.FromContext(ctx); v.KeyMode != "" {
		mode = v.KeyMode
	}
	id := secrets.NewID("bmsg")
	sealed, err := s.keyring.Encrypt([]byte(m.Text), messageAD(id))
	if err != nil {
		return MessageResult{}, err
	}
	create := s.db.BankMessage.Create().SetID(id).SetStoreID(storeID).SetMode(bankmessage.Mode(mode)).
		SetStatus(status).SetReason(reason).SetShape(r.Shape).SetTextSealed(sealed).
		SetReceivedAt(m.ReceivedAt.UTC().Truncate(time.Microsecond))
	if a != nil {
		create.SetBankAccountID(a.ID)
	}
	if dep != nil {
		create.SetDepositID(dep.ID)
	}
	if m.SourceID != "" {
		create.SetSourceID(m.SourceID)
	}
	msg, err := create.Save(ctx)
	if ent.IsConstraintError(err) && m.SourceID != "" {
		// The same message, sent twice at once: the other one is it.
		old, err := s.Messages(ctx).Where(bankmessage.SourceID(m.SourceID), bankmessage.ModeEQ(bankmessage.Mode(mode))).Only(ctx)
		if err != nil {
			return MessageResult{}, err
		}
		return s.withDeposit(ctx, old)
	}
	if err != nil {
		return MessageResult{}, err
	}
	return MessageResult{Message: msg, Deposit: dep}, nil
}

func (s *Service) withDeposit(ctx context.Context, m *ent.BankMessage) (MessageResult, error) {
	if m.DepositID == "" {
		return MessageResult{Message: m}, nil
	}
	d, err := s.db.Deposit.Get(ctx, m.DepositID)
	return MessageResult{Message: m, Deposit: d}, err
}

// route finds the account an alert is about among the store's: the only
// one of the alert's bank whose number agrees with every digit the alert
// shows ("352-****-1234-56": the leading 352 and the trailing 123456, or
// digit by digit when the lengths agree). An alert that shows no digit
// goes to the only account of its bank. None or several: no account.
func (s *Service) route(accounts []*ent.BankAccount, t *bankmsg.Transaction) (*ent.BankAccount, error) {
	shown := accountShown(t.Account)
	var hit []*ent.BankAccount
	for _, a := range accounts {
		if t.Bank != "" && a.Bank != string(t.Bank) {
			continue
		}
		number, err := s.AccountNumber(a)
		if err != nil {
			return nil, err
		}
		if shownMatches(shown, number) {
			hit = append(hit, a)
		}
	}
	if len(hit) == 1 {
		return hit[0], nil
	}
	return nil, nil
}

// accountShown is an alert's account fragment without its separators.
func accountShown(fragment string) string {
	return strings.NewReplacer("-", "", " ", "").Replace(fragment)
}

// shownMatches reports whether a masked account fragment (separators
// removed) can be number: every digit it shows agrees with the number, the
// leading ones at its start and the trailing ones at its end (or position
// by position when the lengths agree). A fragment of other characters, or
// with digits only inside the mask, is not trusted to say which account.
func shownMatches(shown, number string) bool {
	if strings.IndexFunc(shown, isDigit) < 0 {
		return !strings.ContainsFunc(shown, func(r rune) bool { return r != '*' }) // no digits, only mask (or nothing)
	}
	if strings.ContainsFunc(shown, func(r rune) bool { return !isDigit(r) && r != '*' }) {
		return false
	}
	if len(shown) == len(number) {
		for i := range len(shown) {
			if isDigit(rune(shown[i])) && shown[i] != number[i] {
				return false
			}
		}
		return true
	}
	head := shown[:len(shown)-len(strings.TrimLeftFunc(shown, isDigit))]
	tail := shown[len(strings.TrimRightFunc(shown, isDigit)):]
	if head == shown || strings.IndexFunc(strings.Trim(shown, "0123456789"), isDigit) >= 0 {
		return false // all digits of another length, or digits inside the mask
	}
	return len(head)+len(tail) <= len(number) && strings.HasPrefix(number, head) && strings.HasSuffix(number, tail)
}

func isDigit(r rune) bool { return r >= '0' && r <= '9' }

func messageAD(id string) []byte { return []byte("bank-message:" + id) }

// MessageText opens a message's text for display: account, phone and
// identity numbers masked to their last 4 digits, then paymux's usual text
// redaction.
func (s *Service) MessageText(m *ent.BankMessage) (string, error) {
	plain, err := s.keyring.Decrypt(m.TextSealed, messageAD(m.ID))
	if err != nil {
		return "", fmt.Errorf("open bank message %s: %w", m.ID, err)
	}
	return redact.String(redact.MaskDigitRuns(string(plain))), nil
}

// Messages lists the caller's bank messages as it may see them.
func (s *Service) Messages(ctx context.Context) *ent.BankMessageQuery {
	q := s.db.BankMessage.Query()
	if v, _ := tenant.FromContext(ctx); v.TestOnly() {
		q.Where(bankmessage.ModeEQ(bankmessage.ModeTEST))
	}
	return q
}
