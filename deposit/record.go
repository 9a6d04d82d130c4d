package deposit

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

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
// input writes nothing; they are then recorded and matched 100 to a
// database transaction (batchSize), so that a report cut off half way has
// its first batches recorded, and a resend finds them.
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
	items := make([]item, len(in))
	for i, t := range in {
		items[i] = item{account: accounts[t.BankAccountID], t: t}
	}
	return s.record(ctx, items, entdeposit.SourceFEED)
}

// item is one transaction to record, on its account.
type item struct {
	account *ent.BankAccount
	t       TransactionInput
}

// batchSize bounds the transactions recorded in one database transaction:
// a commit is paid once per batch, and the locks a batch holds are held
// for a bounded time.
const batchSize = 100

// record records and matches items (all of one store, checked), batchSize
// to a database transaction, then asks for the cash receipts of the
// orders they paid.
func (s *Service) record(ctx context.Context, items []item, source entdeposit.Source) ([]Result, error) {
	if len(items) == 0 {
		return nil, nil
	}
	set, err := s.Settings(ctx, items[0].account.StoreID)
	if err != nil {
		return nil, err
	}
	out := make([]Result, 0, len(items))
	for start := 0; start < len(items); start += batchSize {
		batch := items[start:min(start+batchSize, len(items))]
		res, err := s.recordBatch(ctx, batch, start, source, set)
		if err != nil {
			// The batches before are recorded (a resend finds them), and
			// their receipts were asked for.
			return nil, err
		}
		for _, r := range res {
			s.afterMatch(ctx, r.Paid)
		}
		out = append(out, res...)
	}
	return out, nil
}

// recordBatch records a batch in one database transaction, tried again
// when a concurrent report or order changed what it saw.
func (s *Service) recordBatch(ctx context.Context, batch []item, offset int, source entdeposit.Source, set *ent.DepositSetting) ([]Result, error) {
	// A new order of a deposit's name and amount, and another report of
	// it, wait for this batch (PostgreSQL), so each sees the other's rows.
	// The keys are taken in one order, so two batches cannot deadlock.
	var keys []string
	for _, it := range batch {
		if !it.t.Withdrawal {
			keys = append(keys, matchKey(it.account.StoreID, bankmsg.NormalizeName(it.t.DepositorName), it.t.Amount))
		}
	}
	slices.Sort(keys)
	keys = slices.Compact(keys)
	var out []Result
	for try := 0; ; try++ {
		out = make([]Result, len(batch))
		tctx := s.outboxMemo(ctx) // a new one for each try
		err := database.InTx(tctx, s.db, func(tx *ent.Tx) error {
			for _, k := range keys {
				if err := s.locks.Lock(tctx, tx, k); err != nil {
					return err
				}
			}
			for i, it := range batch {
				r, err := s.recordIn(tctx, tx, it.account, it.t, source, set)
				if err != nil {
					return fmt.Errorf("transaction %d: %w", offset+i, err)
				}
				out[i] = r
			}
			return nil
		})
		retry := database.IsTxConflict(err) || apierr.Reason(err) == apierr.ReasonConflict || errors.Is(err, errRecordedMeanwhile)
		if retry && try < 5 && ctx.Err() == nil {
			continue // another report or deposit changed what this batch saw: decide again
		}
		return out, err
	}
}

// recordIn records one transaction on account a inside tx, unless it was
// recorded before, and matches it.
func (s *Service) recordIn(ctx context.Context, tx *ent.Tx, a *ent.BankAccount, t TransactionInput, source entdeposit.Source, set *ent.DepositSetting) (Result, error) {
	kind := bankmsg.Deposit
	typ, status := entdeposit.TypeDEPOSIT, entdeposit.StatusUNMATCHED
	if t.Withdrawal {
		kind, typ, status = bankmsg.Withdrawal, entdeposit.TypeWITHDRAWAL, entdeposit.StatusRECORDED
	}
	at := t.At.UTC().Truncate(time.Microsecond)
	depositorKey := bankmsg.NormalizeName(t.DepositorName)
	key := bankmsg.Key(bankmsg.Transaction{Kind: kind, Amount: t.Amount, Balance: t.Balance, Counterparty: t.DepositorName, Time: at}, a.ID)
	dup, dedupeKey, err := findRecorded(ctx, tx, a.ID, key, source, t)
	if dup != nil || err != nil {
		return Result{Deposit: dup, Duplicate: true}, err
	}
	var twin *ent.Deposit
	if !t.Withdrawal {
		if twin, err = possibleTwin(ctx, tx, a.ID, source, t); err != nil {
			return Result{}, err
		}
	}
	now := s.clock()
	create := tx.Deposit.Create().SetID(secrets.NewID("dep")).
		SetStoreID(a.StoreID).SetMode(entdeposit.Mode(a.Mode)).SetBankAccountID(a.ID).
		SetType(typ).SetStatus(status).SetAmount(t.Amount).
		SetDepositorName(t.DepositorName).SetDepositorKey(depositorKey).
		SetNillableBalance(t.Balance).SetTransactionAt(at).SetSource(source).
		SetDedupeBase(key).SetDedupeKey(dedupeKey).SetNote(t.Note).SetCreatedAt(now).SetUpdatedAt(now)
	if t.SourceID != "" {
		create.SetSourceID(t.SourceID)
	}
	if twin != nil {
		// Maybe the same transfer another source reported with other
		// details (no balance, a date without a time): never paid
		// automatically; a human decides.
		create.SetUnmatchedReason(UnmatchedPossibleDuplicate).SetNote(cmp.Or(t.Note, "possibly deposit "+twin.ID))
	}
	d, err := insertOnce(ctx, create)
	if err != nil {
		return Result{}, err
	}
	if set.ReportBankTransactions {
		if err := s.recordEvent(ctx, tx, d, EventBankTransaction); err != nil {
			return Result{}, err
		}
	}
	if t.Withdrawal {
		return Result{Deposit: d}, nil
	}
	if err := s.recordEvent(ctx, tx, d, EventDepositReceived); err != nil {
		return Result{}, err
	}
	if twin != nil {
		return Result{Deposit: d}, s.recordEvent(ctx, tx, d, EventDepositUnmatched)
	}
	d, paid, err := s.match(ctx, tx, d, set)
	return Result{Deposit: d, Paid: paid}, err
}

// errRecordedMeanwhile: a concurrent report took the key this one meant
// to record under.
var errRecordedMeanwhile = errors.New("transaction recorded meanwhile")

// insertOnce inserts a deposit. findRecorded found no record of it, under
// the batch's locks; a key or source id taken meanwhile all the same (a
// withdrawal, which no lock orders) is errRecordedMeanwhile, to decide
// again in a new transaction (PostgreSQL has ended this one).
func insertOnce(ctx context.Context, create *ent.DepositCreate) (*ent.Deposit, error) {
	d, err := create.Save(ctx)
	if ent.IsConstraintError(err) {
		return nil, errRecordedMeanwhile
	}
	return d, err
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
	// No ORDER BY: without statistics SQLite would walk an index that
	// gives the order rather than the one that finds the rows.
	same, err := tx.Deposit.Query().Where(entdeposit.BankAccountID(accountID), entdeposit.DedupeBase(base)).All(ctx)
	if err != nil || len(same) == 0 {
		return nil, base, err
	}
	sortOldestFirst(same)
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
	if dateOnly(source, t.At) {
		day := t.At.In(bankmsg.Seoul)
		from, to = day, day.AddDate(0, 0, 1)
	}
	// The time is compared here, not in SQL: SQLite, with no statistics,
	// would take a range on the time over the index of name and amount.
	rows, err := tx.Deposit.Query().Where(
		entdeposit.BankAccountID(accountID), entdeposit.DepositorKey(bankmsg.NormalizeName(t.DepositorName)),
		entdeposit.Amount(t.Amount), entdeposit.TypeEQ(entdeposit.TypeDEPOSIT), entdeposit.SourceNEQ(source),
	).All(ctx)
	if err != nil {
		return nil, err
	}
	sortOldestFirst(rows)
	for _, d := range rows {
		if d.TransactionAt.Before(from) || !d.TransactionAt.Before(to) {
			continue
		}
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
	rows, rowErrs, err := bankmsg.ParseStatementCSV(bytes.NewReader(file))
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
	items := make([]item, len(rows))
	for i, t := range rows {
		items[i] = item{account: a, t: TransactionInput{
			Withdrawal: t.Kind == bankmsg.Withdrawal, Amount: t.Amount, DepositorName: t.Counterparty,
			At: t.Time, Balance: t.Balance, Note: t.Note,
		}}
	}
	results, err := s.record(ctx, items, entdeposit.SourceSTATEMENT)
	if err != nil {
		return nil, err
	}
	out := &StatementResult{}
	for _, r := range results {
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

// sortOldestFirst orders deposits by when paymux recorded them.
func sortOldestFirst(ds []*ent.Deposit) {
	slices.SortFunc(ds, func(a, b *ent.Deposit) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.ID, b.ID))
	})
}
