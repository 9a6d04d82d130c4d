package deposit_test

// Benchmarks of deposit matching against shared/PERFORMANCE.md: one deposit
// matched among 100,000 open orders in under 1 ms, and at least 1,000
// deposits/s ingested with matching. They run on SQLite, and on PostgreSQL
// when PAYMUX_TEST_POSTGRES_DSN is set (docs/benchmarks.md, "Deposit
// matching"):
//
//	go test ./deposit/ -run '^$' -bench BenchmarkMatchAmong100kOrders -benchtime 1s -count 5
//	go test ./deposit/ -run '^$' -bench BenchmarkIngestDeposits -benchtime 2400x -count 5
//
// The service runs as paymux wires it (webhook.Outbox, the API's event
// data, one webhook endpoint on the store), over a driver that counts
// statements and times the candidates query of match.go where it runs.

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"entgo.io/ent/dialect"
	entsql "entgo.io/ent/dialect/sql"

	"github.com/paymux/paymux/database"
	"github.com/paymux/paymux/deposit"
	"github.com/paymux/paymux/deposit/bankmsg"
	"github.com/paymux/paymux/ent"
	"github.com/paymux/paymux/ent/channel"
	entdeposit "github.com/paymux/paymux/ent/deposit"
	entpayment "github.com/paymux/paymux/ent/payment"
	"github.com/paymux/paymux/ent/schema/details"
	"github.com/paymux/paymux/ent/webhookendpoint"
	"github.com/paymux/paymux/internal/testdb"
	"github.com/paymux/paymux/payment"
	"github.com/paymux/paymux/providers"
	"github.com/paymux/paymux/providers/sandbox"
	"github.com/paymux/paymux/secrets"
	"github.com/paymux/paymux/server"
	"github.com/paymux/paymux/tenant"
	"github.com/paymux/paymux/webhook"
)

// ---- a driver that watches ----------------------------------------------------

// spyDriver counts the statements run through it, in transactions too,
// and times the candidates query (match.go) from its start to the close of
// its rows, keeping the last one run for EXPLAIN.
type spyDriver struct {
	dialect.Driver
	stmts   atomic.Int64
	matchN  atomic.Int64
	matchNs atomic.Int64

	mu        sync.Mutex
	matchSQL  string
	matchArgs []any
}

// isCandidates tells the candidates query: the one select of payments
// where depositor_key is compared (lateDeposit reads deposits).
func isCandidates(q string) bool {
	return strings.HasPrefix(q, "SELECT") && strings.Contains(q, "FROM") &&
		(strings.Contains(q, "`payments`.`depositor_key` = ") || strings.Contains(q, `"payments"."depositor_key" = `))
}

func (d *spyDriver) Exec(ctx context.Context, q string, args, v any) error {
	d.stmts.Add(1)
	return d.Driver.Exec(ctx, q, args, v)
}

func (d *spyDriver) Query(ctx context.Context, q string, args, v any) error {
	return d.query(ctx, d.Driver, q, args, v)
}

type querier interface {
	Query(ctx context.Context, q string, args, v any) error
}

func (d *spyDriver) query(ctx context.Context, on querier, q string, args, v any) error {
	d.stmts.Add(1)
	if !isCandidates(q) {
		return on.Query(ctx, q, args, v)
	}
	start := time.Now()
	err := on.Query(ctx, q, args, v)
	if rows, ok := v.(*entsql.Rows); ok && err == nil {
		rows.ColumnScanner = &timedRows{ColumnScanner: rows.ColumnScanner, start: start, d: d}
	}
	d.mu.Lock()
	d.matchSQL = q
	d.matchArgs = append([]any(nil), args.([]any)...)
	d.mu.Unlock()
	return err
}

func (d *spyDriver) Tx(ctx context.Context) (dialect.Tx, error) { return d.BeginTx(ctx, nil) }

func (d *spyDriver) BeginTx(ctx context.Context, opts *entsql.TxOptions) (dialect.Tx, error) {
	d.stmts.Add(1)
	tx, err := d.Driver.(interface {
		BeginTx(context.Context, *entsql.TxOptions) (dialect.Tx, error)
	}).BeginTx(ctx, opts)
	if err != nil {
		return nil, err
	}
	return &spyTx{Tx: tx, d: d}, nil
}

type spyTx struct {
	dialect.Tx
	d *spyDriver
}

func (t *spyTx) Exec(ctx context.Context, q string, args, v any) error {
	t.d.stmts.Add(1)
	return t.Tx.Exec(ctx, q, args, v)
}

func (t *spyTx) Query(ctx context.Context, q string, args, v any) error {
	return t.d.query(ctx, t.Tx, q, args, v)
}

func (t *spyTx) Commit() error { t.d.stmts.Add(1); return t.Tx.Commit() }

// ExecContext and QueryContext pass through what ent's Tx.ExecContext and
// Tx.QueryContext ask of the driver (database.LockKey uses the first).
func (t *spyTx) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	return execContext(ctx, t.d, t.Tx, q, args)
}

func (t *spyTx) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	return queryContext(ctx, t.d, t.Tx, q, args)
}

func (d *spyDriver) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	return execContext(ctx, d, d.Driver, q, args)
}

func (d *spyDriver) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	return queryContext(ctx, d, d.Driver, q, args)
}

func execContext(ctx context.Context, d *spyDriver, on any, q string, args []any) (sql.Result, error) {
	ex, ok := on.(interface {
		ExecContext(context.Context, string, ...any) (sql.Result, error)
	})
	if !ok {
		return nil, fmt.Errorf("%T has no ExecContext", on)
	}
	d.stmts.Add(1)
	return ex.ExecContext(ctx, q, args...)
}

func queryContext(ctx context.Context, d *spyDriver, on any, q string, args []any) (*sql.Rows, error) {
	qr, ok := on.(interface {
		QueryContext(context.Context, string, ...any) (*sql.Rows, error)
	})
	if !ok {
		return nil, fmt.Errorf("%T has no QueryContext", on)
	}
	d.stmts.Add(1)
	return qr.QueryContext(ctx, q, args...)
}

// timedRows ends the candidates query's time when ent has read its rows.
type timedRows struct {
	entsql.ColumnScanner
	start time.Time
	d     *spyDriver
	once  sync.Once
}

func (r *timedRows) Close() error {
	err := r.ColumnScanner.Close()
	r.once.Do(func() {
		r.d.matchNs.Add(int64(time.Since(r.start)))
		r.d.matchN.Add(1)
	})
	return err
}

func (d *spyDriver) reset() {
	d.stmts.Store(0)
	d.matchN.Store(0)
	d.matchNs.Store(0)
}

// explain shows the plan of the last candidates query with its own
// arguments: EXPLAIN QUERY PLAN on SQLite, EXPLAIN on PostgreSQL.
func (d *spyDriver) explain(ctx context.Context) (string, error) {
	d.mu.Lock()
	q, args := d.matchSQL, d.matchArgs
	d.mu.Unlock()
	if q == "" {
		return "", fmt.Errorf("no candidates query seen")
	}
	prefix := "EXPLAIN "
	if d.Dialect() == dialect.SQLite {
		prefix = "EXPLAIN QUERY PLAN "
	}
	var rows entsql.Rows
	if err := d.Driver.Query(ctx, prefix+q, args, &rows); err != nil {
		return "", err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return "", err
	}
	var out []string
	for rows.Next() {
		vals := make([]sql.NullString, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return "", err
		}
		out = append(out, vals[len(vals)-1].String) // SQLite: detail; PostgreSQL: QUERY PLAN
	}
	return strings.Join(out, "\n"), rows.Err()
}

func (d *spyDriver) exec(ctx context.Context, q string) error {
	return d.Driver.Exec(ctx, q, []any{}, nil)
}

// ---- the service as paymux wires it ----------------------------------------------

type benchEnv struct {
	kind    string
	db      *ent.Client
	spy     *spyDriver
	svc     *deposit.Service
	storeID string
	account *ent.BankAccount
	ctx     context.Context // the store's TEST key
}

// newBenchEnv opens a fresh database of kind (testdb.All's names) behind a
// spyDriver and sets up a store with one bank account, one enabled webhook
// endpoint and a default sandbox channel.
func newBenchEnv(b *testing.B, kind string) *benchEnv {
	b.Helper()
	var dsn, path string
	if kind == "postgres" {
		dsn = testdb.PostgresSchema(b)
	} else {
		path = b.TempDir() + "/paymux.db"
	}
	drv, err := database.OpenDriver(dsn, path, 8)
	if err != nil {
		b.Fatal(err)
	}
	spy := &spyDriver{Driver: drv}
	db := ent.NewClient(ent.Driver(spy))
	b.Cleanup(func() { db.Close() })
	if err := database.Migrate(context.Background(), db); err != nil {
		b.Fatal(err)
	}
	keyring, err := secrets.NewKeyring(make([]byte, 32))
	if err != nil {
		b.Fatal(err)
	}
	outbox := webhook.NewOutbox(nil)
	payments := payment.New(payment.Deps{
		Config: payment.Config{PGTimeout: 5 * time.Second, SweepInterval: time.Minute}, DB: db, Keyring: keyring,
		Providers: map[string]providers.Provider{sandbox.Name: sandbox.New(sandbox.Options{})}, Outbox: outbox,
		EventData: server.PaymentEventData, ChannelCacheTTL: time.Minute,
	})
	svc := deposit.New(deposit.Deps{
		Config: deposit.Config{MatchWindow: 14 * 24 * time.Hour}, DB: db, Keyring: keyring, Payments: payments,
		Outbox: outbox, DepositData: server.DepositEventData, BatchEnqueue: outbox.WithEndpointMemo,
	})
	sys := tenant.System(context.Background())
	st, err := db.Store.Create().SetName("shop").Save(sys)
	if err != nil {
		b.Fatal(err)
	}
	chID := secrets.NewID("ch")
	sealed, err := keyring.Encrypt([]byte(`{"notification_secret":"nsecret"}`), []byte("channel:"+chID))
	if err != nil {
		b.Fatal(err)
	}
	if err := db.Channel.Create().SetID(chID).SetStoreID(st.ID).SetProvider(channel.ProviderSANDBOX).SetMode(channel.ModeTEST).
		SetPurpose(channel.PurposePAYMENT).SetName("Sandbox").SetMerchantID("sandbox-" + st.ID).
		SetTaxType(channel.TaxTypeTAXABLE).SetSecretsSealed(sealed).SetSecretNames([]string{"notification_secret"}).
		SetDefault(true).Exec(sys); err != nil {
		b.Fatal(err)
	}
	if err := db.WebhookEndpoint.Create().SetStoreID(st.ID).SetMode(webhookendpoint.ModeTEST).
		SetURL("https://shop.example/webhooks").SetSecretSealed([]byte("sealed")).Exec(sys); err != nil {
		b.Fatal(err)
	}
	e := &benchEnv{kind: kind, db: db, spy: spy, svc: svc, storeID: st.ID,
		ctx: tenant.NewContext(context.Background(), tenant.Viewer{StoreID: st.ID, KeyID: "key_bench", KeyMode: "TEST"})}
	e.account, err = svc.CreateAccount(e.ctx, deposit.AccountInput{StoreID: st.ID, Bank: "088", Number: "110-123-456789", Holder: "(주)상점"})
	if err != nil {
		b.Fatal(err)
	}
	return e
}

// ---- orders, seeded in bulk --------------------------------------------------------

// Depositor names as buyers type them: a surname and a given name of two
// syllables (three past the 216,000 two-syllable ones). No syllable is 님,
// which NormalizeName drops, so every name stays distinct once normalised.
var (
	surnames  = []rune("김이박최정강조윤장임한오서신권황안송류전홍고문양손배백허유남심노하곽성차주우구민진지엄채원천방공현함변염여추도소석선설마길연위표명기반왕금옥육인맹")
	syllables = []rune("민서준지우현수하윤도예은진영재원성호연주아채유희태동혁경선소빈나훈석승정혜미규환다시건율람상보슬찬결완란솔온설한강새별효")
)

// depositorName is the i-th name, distinct for every i below 13 million;
// consecutive i are spread over surnames and syllables.
func depositorName(i int) string {
	ns, ng := len(surnames), len(syllables)
	base := ns * ng * ng
	k := (i % base) * 7919 % base // 7919 is prime and divides no base: a permutation
	name := []rune{surnames[k%ns], syllables[(k/ns)%ng], syllables[(k/ns/ng)%ng]}
	if extra := i / base; extra > 0 {
		name = append(name, syllables[(extra-1)%ng])
		if extra > ng {
			panic("depositorName: too many names")
		}
	}
	return string(name)
}

// orderSpec is one bank transfer order to seed.
type orderSpec struct {
	id, name  string
	total     int64
	createdAt time.Time
}

// specs are n orders of names first..first+n, amounts from 1,000 to
// 500,000 won (in 100s), created at spread times in the last 13 days, so
// they are all open and before any deposit of now.
func specs(first, n int, rng *rand.Rand, now time.Time) []orderSpec {
	out := make([]orderSpec, n)
	for i := range out {
		out[i] = orderSpec{
			id:        fmt.Sprintf("BT-%08d", first+i),
			name:      depositorName(first + i),
			total:     1000 + 100*rng.Int64N(4991),
			createdAt: now.Add(-time.Minute - time.Duration(rng.Int64N(int64(13*24*time.Hour)))).Truncate(time.Microsecond),
		}
	}
	return out
}

// seedBatch bounds a multi-row insert: a payment row is about 40 columns,
// and SQLite takes at most 32,766 parameters a statement.
const seedBatch = 500

// seed inserts orders as CreateOrder writes them (the payment row; not the
// payment.ready event, which matching never reads), in multi-row inserts
// of seedBatch in one transaction, and returns their payment ids.
func (e *benchEnv) seed(b *testing.B, orders []orderSpec) []string {
	b.Helper()
	number := "110123456789"
	ids := make([]string, 0, len(orders))
	seen := make(map[string]bool, len(orders))
	err := database.InTx(e.ctx, e.db, func(tx *ent.Tx) error {
		for start := 0; start < len(orders); start += seedBatch {
			batch := orders[start:min(start+seedBatch, len(orders))]
			creates := make([]*ent.PaymentCreate, len(batch))
			for i, o := range batch {
				key := bankmsg.NormalizeName(o.name)
				if key == "" || seen[key] {
					return fmt.Errorf("depositor name %q is not distinct", o.name)
				}
				seen[key] = true
				c, id, err := e.orderCreate(tx.Payment, o, number)
				if err != nil {
					return err
				}
				creates[i] = c
				ids = append(ids, id)
			}
			if err := tx.Payment.CreateBulk(creates...).Exec(e.ctx); err != nil {
				return fmt.Errorf("seed orders: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	return ids
}

// orderCreate builds the row of order o as CreateOrder does (payment's
// draft, PrepareBankTransfer, then CreateOrder's own fields), for an
// order into any of the store's accounts.
func (e *benchEnv) orderCreate(payments *ent.PaymentClient, o orderSpec, number string) (*ent.PaymentCreate, string, error) {
	amounts, err := payment.AmountsFor(channel.TaxTypeCOMBINED, payment.Amount{Total: o.total}, "amount")
	if err != nil {
		return nil, "", err
	}
	id := secrets.NewID("pay")
	c := payments.Create().
		SetID(id).SetStoreID(e.storeID).SetMerchantPaymentID(o.id).SetOrderName("order " + o.id).
		SetMethod(entpayment.MethodBANK_TRANSFER).SetApprovalModel(entpayment.ApprovalModelSERVER).
		SetStatus(entpayment.StatusREADY).SetStatusAt(o.createdAt).SetCreatedAt(o.createdAt).SetUpdatedAt(o.createdAt).
		SetCurrency("KRW").SetTotal(amounts.Total).SetTaxFree(amounts.TaxFree).SetVat(amounts.VAT).
		SetCustomerName("").SetCustomerEmail("").SetCustomerPhone("").SetKeyID("key_bench").
		SetChannelID("").SetProvider("").SetMode(entpayment.ModeTEST).
		SetBankAccountID("").SetDepositorName(o.name).SetDepositorKey(bankmsg.NormalizeName(o.name)).
		SetBankTransfer(&details.BankTransfer{AccountID: e.account.ID, Bank: e.account.Bank, AccountNumber: number, Holder: e.account.Holder}).
		SetDueAt(o.createdAt.Add(14 * 24 * time.Hour))
	return c, id, nil
}

// checkSeedLikeCreateOrder fails b when a seeded order differs from one
// CreateOrder makes of the same input in anything matching could see.
func (e *benchEnv) checkSeedLikeCreateOrder(b *testing.B) {
	b.Helper()
	api, err := e.svc.CreateOrder(e.ctx, deposit.OrderInput{
		NewInput:      payment.NewInput{StoreID: e.storeID, MerchantPaymentID: "CHECK-API", OrderName: "order CHECK", Amount: payment.Amount{Total: 12345}},
		DepositorName: "검사용",
	})
	if err != nil {
		b.Fatal(err)
	}
	ids := e.seed(b, []orderSpec{{id: "CHECK-SEED", name: "검사용", total: 12345, createdAt: api.CreatedAt}})
	seeded, err := e.db.Payment.Get(e.ctx, ids[0])
	if err != nil {
		b.Fatal(err)
	}
	show := func(p *ent.Payment) string {
		return fmt.Sprintf("%s %s %s %s ch=%q prov=%q %s total=%d taxfree=%d vat=%d paid=%d key=%s acct=%q depositor=%q due-created=%v bt=%+v",
			p.Status, p.Method, p.ApprovalModel, p.Mode, p.ChannelID, p.Provider, p.Currency, p.Total, p.TaxFree, p.Vat, p.Paid,
			p.KeyID, p.BankAccountID, p.DepositorKey, p.DueAt.Sub(p.CreatedAt), *p.BankTransfer)
	}
	if a, s := show(api), show(seeded); a != s {
		b.Fatalf("a seeded order differs from CreateOrder's:\n api:  %s\n seed: %s", a, s)
	}
}

// depositOf is the deposit that pays o, reported now.
func (e *benchEnv) depositOf(o orderSpec) deposit.TransactionInput {
	return deposit.TransactionInput{BankAccountID: e.account.ID, Amount: o.total, DepositorName: o.name, At: time.Now()}
}

// checkPlan explains the candidates query last run and reports whether it
// uses the matching index (payment_store_id_depositor_key_total_status)
// and scans no range of the store's payments by another one.
func (e *benchEnv) checkPlan(b *testing.B, when string) (plan string, ok bool) {
	b.Helper()
	plan, err := e.spy.explain(e.ctx)
	if err != nil {
		b.Fatal(err)
	}
	ok = strings.Contains(plan, "payment_store_id_depositor_key_total_status") &&
		!strings.Contains(plan, "Seq Scan") && !strings.Contains(plan, "SCAN payments")
	verdict := "uses the matching index"
	if !ok {
		verdict = "DOES NOT USE the matching index"
	}
	return fmt.Sprintf("%s: the candidates query %s (%s):\n%s", e.kind, verdict, when, plan), ok
}

// ---- benchmarks ----------------------------------------------------------------------

// BenchmarkMatchAmong100kOrders records one deposit (Service.Record with
// one transaction) that pays exactly one of 100,000 open bank transfer
// orders of the store, per iteration: record, match, pay the order, write
// the three events and their webhook deliveries, commit. Each iteration's
// order is new (b.N of them are seeded before the timer, next to the
// 100,000), so every deposit really matches. match-ns/op is the candidates
// query alone, as it ran inside Record; stmts/op the round trips (BEGIN and
// COMMIT included); uses-index is 1 when EXPLAIN (EXPLAIN QUERY PLAN on
// SQLite) shows the candidates query on the matching index, 0 when not (the
// plan is logged). The candidates sub-benchmark runs the same query on its
// own through ent, in one transaction (one open order found per call).
//
//	go test ./deposit/ -run '^$' -bench BenchmarkMatchAmong100kOrders -benchtime 1s -count 5
func BenchmarkMatchAmong100kOrders(b *testing.B) {
	for _, kind := range testdb.All(b) {
		b.Run(kind.Name, func(b *testing.B) {
			e := newBenchEnv(b, kind.Name)
			e.checkSeedLikeCreateOrder(b)
			rng := rand.New(rand.NewPCG(1, 2))
			start := time.Now()
			open := specs(0, 100_000, rng, time.Now())
			e.seed(b, open)
			b.Logf("%s: 100,000 open orders seeded in %v", kind.Name, time.Since(start).Round(time.Millisecond))
			next := len(open) // the next name for a fresh order

			// One match to see the query, and its plan; on PostgreSQL again
			// once the table has statistics (autovacuum's ANALYZE, here run
			// at once).
			fresh := specs(next, 1, rng, time.Now())
			next++
			e.seed(b, fresh)
			if res, err := e.svc.Record(e.ctx, []deposit.TransactionInput{e.depositOf(fresh[0])}); err != nil || res[0].Paid == nil {
				b.Fatalf("the first deposit did not match: %v", err)
			}
			plan, ok := e.checkPlan(b, "as seeded")
			plans := []string{plan}
			if kind.Name == "postgres" {
				if err := e.spy.exec(e.ctx, "ANALYZE payments"); err != nil {
					b.Fatal(err)
				}
				plan, ok2 := e.checkPlan(b, "after ANALYZE")
				plans, ok = append(plans, plan), ok && ok2
			}
			usesIndex := 0.0
			if ok {
				usesIndex = 1
			}

			b.Run("record", func(b *testing.B) {
				orders := specs(next, b.N, rng, time.Now())
				next += b.N
				ids := e.seed(b, orders)
				e.spy.reset()
				b.ResetTimer()
				for i := range b.N {
					res, err := e.svc.Record(e.ctx, []deposit.TransactionInput{e.depositOf(orders[i])})
					if err != nil {
						b.Fatal(err)
					}
					if d := res[0].Deposit; res[0].Paid == nil || res[0].Paid.ID != ids[i] || d.Status != entdeposit.StatusMATCHED || d.Candidates != 1 {
						b.Fatalf("deposit %d of %s %d: %s, %d candidates, paid %v", i, orders[i].name, orders[i].total, d.Status, d.Candidates, res[0].Paid)
					}
				}
				b.StopTimer()
				if n := e.spy.matchN.Load(); n > 0 {
					b.ReportMetric(float64(e.spy.matchNs.Load())/float64(n), "match-ns/op")
				}
				b.ReportMetric(float64(e.spy.stmts.Load())/float64(b.N), "stmts/op")
				b.ReportMetric(usesIndex, "uses-index")
				for _, p := range plans {
					b.Log(p)
				}
				plans = nil // once
			})

			b.Run("candidates", func(b *testing.B) {
				// As in Record: inside a write transaction (rolled back here,
				// so that no commit is timed).
				tx, err := e.db.Tx(e.ctx)
				if err != nil {
					b.Fatal(err)
				}
				defer tx.Rollback()
				pick := rand.New(rand.NewPCG(3, 4))
				b.ResetTimer()
				for range b.N {
					o := open[pick.IntN(len(open))]
					at := time.Now()
					got, err := tx.Payment.Query().Where(
						entpayment.StoreID(e.storeID),
						entpayment.DepositorKey(bankmsg.NormalizeName(o.name)),
						entpayment.Total(o.total),
						entpayment.StatusEQ(entpayment.StatusREADY),
						entpayment.MethodEQ(entpayment.MethodBANK_TRANSFER),
						entpayment.ModeEQ(entpayment.ModeTEST),
						entpayment.BankAccountIDIn("", e.account.ID),
						entpayment.CreatedAtLT(at),
						entpayment.DueAtGT(at),
					).Order(ent.Asc(entpayment.FieldCreatedAt), ent.Asc(entpayment.FieldID)).
						Modify(database.ForUpdate).All(e.ctx)
					if err != nil || len(got) != 1 {
						b.Fatalf("candidates of %s %d: %d, %v", o.name, o.total, len(got), err)
					}
				}
				b.StopTimer()
			})
		})
	}
}

// ingestCallers are the feeds reporting at once.
const ingestCallers = 8

// BenchmarkIngestDeposits ingests b.N deposits with matching, reported 100
// a call (Service.Record) by 8 callers at once, against 3,000 open orders
// no deposit pays plus b.N/2 that one does: every other deposit pays an
// order, the rest stay UNMATCHED (NO_CANDIDATE). Reports deposits/s.
//
//	go test ./deposit/ -run '^$' -bench BenchmarkIngestDeposits -benchtime 2400x -count 5
func BenchmarkIngestDeposits(b *testing.B) {
	for _, kind := range testdb.All(b) {
		b.Run(kind.Name, func(b *testing.B) {
			e := newBenchEnv(b, kind.Name)
			rng := rand.New(rand.NewPCG(5, 6))
			now := time.Now()
			e.seed(b, specs(0, 3000, rng, now))
			paying := specs(3000, (b.N+1)/2, rng, now)
			e.seed(b, paying)
			// Deposits in the order the bank reports them: every other one
			// pays an order; the others have names no order has.
			in := make([]deposit.TransactionInput, b.N)
			for i := range in {
				if i%2 == 0 {
					in[i] = e.depositOf(paying[i/2])
				} else {
					in[i] = deposit.TransactionInput{BankAccountID: e.account.ID, Amount: 1000 + 100*rng.Int64N(4991),
						DepositorName: depositorName(1_000_000 + i), At: now}
				}
			}
			batches := make(chan []deposit.TransactionInput, (b.N+99)/100)
			for i := 0; i < b.N; i += 100 {
				batches <- in[i:min(i+100, b.N)]
			}
			close(batches)
			var matched, unmatched atomic.Int64
			var wg sync.WaitGroup
			e.spy.reset()
			b.ResetTimer()
			start := time.Now()
			for range ingestCallers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for batch := range batches {
						res, err := e.svc.Record(e.ctx, batch)
						if err != nil {
							b.Error(err)
							return
						}
						for _, r := range res {
							switch {
							case r.Paid != nil:
								matched.Add(1)
							case r.Deposit.Status == entdeposit.StatusUNMATCHED && r.Deposit.UnmatchedReason == deposit.UnmatchedNoCandidate:
								unmatched.Add(1)
							}
						}
					}
				}()
			}
			wg.Wait()
			elapsed := time.Since(start)
			b.StopTimer()
			if matched.Load() != int64(len(paying)) || unmatched.Load() != int64(b.N-len(paying)) {
				b.Fatalf("%d matched, %d unmatched; want %d and %d", matched.Load(), unmatched.Load(), len(paying), b.N-len(paying))
			}
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "deposits/s")
			b.ReportMetric(float64(e.spy.stmts.Load())/float64(b.N), "stmts/op")
		})
	}
}
