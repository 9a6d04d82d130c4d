package deposit

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	entsql "entgo.io/ent/dialect/sql"

	"github.com/paymux/paymux/apierr"
	"github.com/paymux/paymux/database"
	"github.com/paymux/paymux/deposit/bankmsg"
	"github.com/paymux/paymux/ent"
	"github.com/paymux/paymux/ent/bankaccount"
	entdeposit "github.com/paymux/paymux/ent/deposit"
	"github.com/paymux/paymux/ent/predicate"
	"github.com/paymux/paymux/secrets"
	"github.com/paymux/paymux/tenant"
)

// TransactionInput is one transaction as a source reports it.
type TransactionInput struct {
	BankAccountID string
	Withdrawal    bool
	Amount        int64
	// DepositorName is the depositor text (for a withdrawal, the
	// recipient's) as the bank shows it.
	DepositorName string
	At            time.Time
	Balance       *int64
	SourceID      string
	Note          string
}

// Result is what became of one reported transaction.
type Result struct {
	Deposit *ent.Deposit
	// Duplicate: the transaction was recorded before, and Deposit is that
	// record.
	Duplicate bool
	// Paid is the order the deposit paid, if it paid one.
	Paid *ent.Payment
}

// maxAmount is the most a transaction may move (999,999,999,999 won).
const maxAmount = 999_999_999_999

// maxClockSkew is how far in the future a reported transaction may be: a
// bank's clock and paymux's differ a little, a deposit from tomorrow is a
// mistake (it would stay open to late orders).
const maxClockSkew = 10 * time.Minute

// Record records transactions as a feed reports them, and matches each
// deposit. Every transaction is checked before any is written, so bad
// input writes nothing; each is then recorded and matched in its own
// transaction, so a resent batch finds the ones recorded before.
func (s *Service) Record(ctx context.Context, in []TransactionInput) ([]Result, error) {
	accounts := map[string]*ent.BankAccount{}
	for i, t := range in {
		at := func(f string) string { return fmt.Sprintf("transactions[%d].%s", i, f) }
		if t.Amount <= 0 || t.Amount > maxAmount {
			return nil, apierr.InvalidField(at("amount"), "an amount is a whole number of won from 1 to %d", int64(maxAmount))
		}
		if !t.Withdrawal && bankmsg.NormalizeName(t.DepositorName) == "" {
			return nil, apierr.InvalidField(at("depositor_name"), "a depositor name needs at least one letter or digit")
		}
		if t.At.IsZero() {
			return nil, apierr.InvalidField(at("transaction_time"), "required")
		}
		if t.At.After(s.clock().Add(maxClockSkew)) {
			return nil, apierr.InvalidField(at("transaction_time"), "%s is in the future", t.At.UTC().Format(time.RFC3339))
		}
		if accounts[t.BankAccountID] == nil {
			a, err := s.usableAccount(ctx, t.BankAccountID, at("bank_account_id"))
			if err != nil {
				return nil, err
			}
			accounts[t.BankAccountID] = a
		}
	}
	out := make([]Result, len(in))
	for i, t := range in {
		r, err := s.recordOne(ctx, accounts[t.BankAccountID], t, entdeposit.SourceFEED)
		if err != nil {
			return nil, fmt.Errorf("transaction %d: %w", i, err)
		}
		out[i] = r
	}
	return out, nil
}

// recordOne records one transaction on account a (unless it was recorded
// before) and matches it, in one database transaction; then asks for the
// cash receipt of the order it paid.
func (s *Service) recordOne(ctx context.Context, a *ent.BankAccount, t TransactionInput, source entdeposit.Source) (Result, error) {
	kind := bankmsg.Deposit
	typ, status := entdeposit.TypeDEPOSIT, entdeposit.StatusUNMATCHED
	if t.Withdrawal {
		kind, typ, status = bankmsg.Withdrawal, entdeposit.TypeWITHDRAWAL, entdeposit.StatusRECORDED
	}
	at := t.At.UTC().Truncate(time.Microsecond)
	key := bankmsg.Key(bankmsg.Transaction{Kind: kind, Amount: t.Amount, Balance: t.Balance, Counterparty: t.DepositorName, Time: at}, a.ID)
	var res Result
	var err error
	for try := 0; ; try++ {
		res = Result{}
		err = database.InTx(ctx, s.db, func(tx *ent.Tx) error {
			if !t.Withdrawal {
				// A new order of this name and amount, and another report of
				// this deposit, wait for this one (PostgreSQL): each sees the
				// other's rows.
				if err := database.LockKey(ctx, tx, matchKey(a.StoreID, bankmsg.NormalizeName(t.DepositorName), t.Amount)); err != nil {
					return err
				}
			}
			dup, dedupeKey, err := findRecorded(ctx, tx, a.ID, key, source, t)
			if dup != nil || err != nil {
				res = Result{Deposit: dup, Duplicate: true}
				return err
			}
			set, err := s.settingsIn(ctx, tx, a.StoreID)
			if err != nil {
				return err
			}
			var twin *ent.Deposit
			if !t.Withdrawal {
				if twin, err = possibleTwin(ctx, tx, a.ID, source, t); err != nil {
					return err
				}
			}
			now := s.clock()
			create := tx.Deposit.Create().
				SetStoreID(a.StoreID).SetMode(entdeposit.Mode(a.Mode)).SetBankAccountID(a.ID).
				SetType(typ).SetStatus(status).SetAmount(t.Amount).
				SetDepositorName(t.DepositorName).SetDepositorKey(bankmsg.NormalizeName(t.DepositorName)).
				SetNillableBalance(t.Balance).SetTransactionAt(at).SetSource(source).
				SetDedupeBase(key).SetDedupeKey(dedupeKey).SetNote(t.Note).SetCreatedAt(now).SetUpdatedAt(now)
			if t.SourceID != "" {
				create.SetSourceID(t.SourceID)
			}
			if twin != nil {
				// Maybe the same transfer another source reported with other
				// details (no balance, a date without a time): never paid
				// automatically; a human decides.
				create.SetUnmatchedReason(UnmatchedPossibleDuplicate).SetNote(cmpOr(t.Note, "possibly deposit "+twin.ID))
			}
			id, err := insertOnce(ctx, tx, create)
			if err != nil {
				return err
			}
			if id == "" { // recorded meanwhile by a concurrent report: decide again
				return errRecordedMeanwhile
			}
			d, err := tx.Deposit.Get(ctx, id)
			if err != nil {
				return err
			}
			if set.ReportBankTransactions {
				if err := s.recordEvent(ctx, tx, d, EventBankTransaction); err != nil {
					return err
				}
			}
			if t.Withdrawal {
				res.Deposit = d
				return nil
			}
			if err := s.recordEvent(ctx, tx, d, EventDepositReceived); err != nil {
				return err
			}
			if twin != nil {
				res.Deposit = d
				return s.recordEvent(ctx, tx, d, EventDepositUnmatched)
			}
			if res.Paid, err = s.match(ctx, tx, d, set); err != nil {
				return err
			}
			res.Deposit, err = tx.Deposit.Get(ctx, id)
			return err
		})
		retry := database.IsTxConflict(err) || apierr.Reason(err) == apierr.ReasonConflict || errors.Is(err, errRecordedMeanwhile)
		if retry && try < 5 && ctx.Err() == nil {
			continue // another report or deposit changed what this one sees: decide again
		}
		break
	}
	if err != nil {
		return Result{}, err
	}
	s.afterMatch(ctx, res.Paid)
	return res, nil
}

// errRecordedMeanwhile: a concurrent report took the key this one meant
// to record under.
var errRecordedMeanwhile = errors.New("transaction recorded meanwhile")

// insertOnce inserts a deposit unless one with its key or source id is
// there already (ON CONFLICT DO NOTHING, so a concurrent insert of the same
// transaction does not abort tx on PostgreSQL). It returns the new id, or
// "" when nothing was inserted.
func insertOnce(ctx context.Context, tx *ent.Tx, create *ent.DepositCreate) (string, error) {
	id, _ := create.Mutation().ID()
	if id == "" {
		id = newDepositID()
		create.SetID(id)
	}
	err := create.OnConflict(entsql.DoNothing()).Exec(ctx)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return "", err
	}
	ok, err := tx.Deposit.Query().Where(entdeposit.ID(id)).Exist(ctx)
	if err != nil || !ok {
		return "", err
	}
	return id, nil
}

// findRecorded decides whether transaction t was recorded before on the
// account, and if not, the unique key to record it under.
//
//   - The same source id from the same source is the same transaction; the
//     same id for another amount, direction or name is refused.
//   - Otherwise the same de-duplication key (bankmsg.Key: direction,
//     amount, balance, minute, name) is the same transaction reported
//     again: the bank's SMS and its app push of one deposit, a statement
//     overlapping a feed, a forwarder resending under a new id.
//   - Except that a feed which tells its rows apart by its own ids, with no
//     balance to do it, is believed: two transfers of one name and amount
//     in one minute come as two rows with two ids, and are recorded as two
//     (under base, base#2, ...).
func findRecorded(ctx context.Context, tx *ent.Tx, accountID, base string, source entdeposit.Source, t TransactionInput) (*ent.Deposit, string, error) {
	if t.SourceID != "" {
		d, err := tx.Deposit.Query().Where(entdeposit.BankAccountID(accountID), entdeposit.SourceEQ(source), entdeposit.SourceID(t.SourceID)).First(ctx)
		if err == nil && (d.Amount != t.Amount || (d.Type == entdeposit.TypeWITHDRAWAL) != t.Withdrawal ||
			d.DepositorKey != bankmsg.NormalizeName(t.DepositorName)) {
			return nil, "", apierr.InvalidField("source_id", "source id %q already names another transaction (%s)", t.SourceID, d.ID)
		}
		if err == nil || !ent.IsNotFound(err) {
			return d, "", err
		}
	}
	same, err := tx.Deposit.Query().Where(entdeposit.BankAccountID(accountID), entdeposit.DedupeBase(base)).
		Order(ent.Asc(entdeposit.FieldCreatedAt), ent.Asc(entdeposit.FieldID)).All(ctx)
	if err != nil || len(same) == 0 {
		return nil, base, err
	}
	if t.SourceID == "" || source != entdeposit.SourceFEED || t.Balance != nil {
		return same[0], "", nil
	}
	for _, d := range same {
		if d.Source != source || d.SourceID == nil {
			return same[0], "", nil
		}
	}
	return nil, fmt.Sprintf("%s#%d", base, len(same)+1), nil
}

// possibleTwin finds a deposit another source recorded that may be t
// reported with other details, so its key differs: one report with a
// balance and one without, an alert timed at its receipt, a statement
// dated without a time. It has t's amount and name, on the same account,
// within two minutes of t (the same day, for a statement row at midnight),
// and no balance that tells them apart.
func possibleTwin(ctx context.Context, tx *ent.Tx, accountID string, source entdeposit.Source, t TransactionInput) (*ent.Deposit, error) {
	from, to := t.At.Add(-2*time.Minute), t.At.Add(2*time.Minute)
	if day := t.At.In(seoul); source == entdeposit.SourceSTATEMENT && day.Hour() == 0 && day.Minute() == 0 && day.Second() == 0 {
		from, to = day, day.AddDate(0, 0, 1)
	}
	rows, err := tx.Deposit.Query().Where(
		entdeposit.BankAccountID(accountID), entdeposit.TypeEQ(entdeposit.TypeDEPOSIT),
		entdeposit.Amount(t.Amount), entdeposit.DepositorKey(bankmsg.NormalizeName(t.DepositorName)),
		entdeposit.SourceNEQ(source), entdeposit.TransactionAtGTE(from), entdeposit.TransactionAtLT(to),
	).Order(ent.Asc(entdeposit.FieldCreatedAt)).All(ctx)
	if err != nil {
		return nil, err
	}
	for _, d := range rows {
		if d.Balance == nil || t.Balance == nil || *d.Balance == *t.Balance {
			return d, nil
		}
	}
	return nil, nil
}

// matchKey names what a deposit and an order must not decide at once: a
// store's deposits and orders of one name and amount.
func matchKey(storeID, depositorKey string, amount int64) string {
	return fmt.Sprintf("deposit-match:%s:%s:%d", storeID, depositorKey, amount)
}

var seoul = func() *time.Location {
	if loc, err := time.LoadLocation("Asia/Seoul"); err == nil {
		return loc
	}
	return time.FixedZone("KST", 9*3600)
}()

// visibleDeposits hides LIVE deposits from TEST keys.
func visibleDeposits(ctx context.Context) []predicate.Deposit {
	if v, _ := tenant.FromContext(ctx); v.TestOnly() {
		return []predicate.Deposit{entdeposit.ModeEQ(entdeposit.ModeTEST)}
	}
	return nil
}

// Get reads a deposit of the caller's store.
func (s *Service) Get(ctx context.Context, id string) (*ent.Deposit, error) {
	d, err := s.db.Deposit.Query().Where(append(visibleDeposits(ctx), entdeposit.ID(id))...).Only(ctx)
	if ent.IsNotFound(err) {
		return nil, apierr.New(apierr.CodeNotFound, ReasonDepositNotFound, "deposit %s not found", id)
	}
	return d, err
}

// Query lists deposits of the caller's store as the caller may see them.
func (s *Service) Query(ctx context.Context) *ent.DepositQuery {
	return s.db.Deposit.Query().Where(visibleDeposits(ctx)...)
}

// StatementResult is what an imported statement added.
type StatementResult struct {
	Recorded, Duplicates, Matched int
	// Unmatched are the deposits newly recorded that no order took.
	Unmatched []*ent.Deposit
}

// ImportStatement records the transactions of an account-history file
// (bankmsg.ParseStatementCSV) on account accountID. A file with a row that
// does not read records nothing.
func (s *Service) ImportStatement(ctx context.Context, accountID string, file []byte) (*StatementResult, error) {
	a, err := s.usableAccount(ctx, accountID, "bank_account_id")
	if err != nil {
		return nil, err
	}
	rows, rowErrs, err := bankmsg.ParseStatementCSV(bytesReader(file))
	if err != nil {
		return nil, apierr.InvalidField("content", "%v", err)
	}
	if len(rowErrs) > 0 {
		var vs []apierr.FieldViolation
		for i, re := range rowErrs {
			if i == 20 {
				vs = append(vs, apierr.FieldViolation{Field: "content", Description: fmt.Sprintf("and %d more rows", len(rowErrs)-20)})
				break
			}
			vs = append(vs, apierr.FieldViolation{Field: "content", Description: re.Error()})
		}
		return nil, apierr.Invalid(vs...)
	}
	if len(rows) == 0 {
		return nil, apierr.InvalidField("content", "the file has no transactions")
	}
	out := &StatementResult{}
	for i, t := range rows {
		r, err := s.recordOne(ctx, a, TransactionInput{
			Withdrawal: t.Kind == bankmsg.Withdrawal, Amount: t.Amount, DepositorName: t.Counterparty,
			At: t.Time, Balance: t.Balance, Note: t.Note,
		}, entdeposit.SourceSTATEMENT)
		if err != nil {
			return nil, fmt.Errorf("statement row %d: %w", i+1, err)
		}
		switch {
		case r.Duplicate:
			out.Duplicates++
		case r.Paid != nil:
			out.Recorded++
			out.Matched++
		default:
			out.Recorded++
			if r.Deposit.Status == entdeposit.StatusUNMATCHED {
				out.Unmatched = append(out.Unmatched, r.Deposit)
			}
		}
	}
	return out, nil
}

// accountsOf lists the store's usable accounts the caller's key reaches.
func (s *Service) accountsOf(ctx context.Context) ([]*ent.BankAccount, error) {
	q := s.db.BankAccount.Query().Where(bankaccount.ArchivedAtIsNil())
	if v, _ := tenant.FromContext(ctx); v.KeyMode != "" {
		q.Where(bankaccount.ModeEQ(bankaccount.Mode(v.KeyMode)))
	}
	return q.Order(ent.Asc(bankaccount.FieldCreatedAt), ent.Asc(bankaccount.FieldID)).All(ctx)
}

func newDepositID() string { return secrets.NewID("dep") }

func bytesReader(b []byte) *bytes.Reader { return bytes.NewReader(b) }
