package calllog_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"entgo.io/ent/dialect"
	entsql "entgo.io/ent/dialect/sql"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/paymux/paymux/calllog"
	"github.com/paymux/paymux/database"
	"github.com/paymux/paymux/ent"
	"github.com/paymux/paymux/ent/logrecord"
	"github.com/paymux/paymux/internal/testdb"
	"github.com/paymux/paymux/providers"
	"github.com/paymux/paymux/providers/sandbox"
	"github.com/paymux/paymux/tenant"
)

// Tests of the Writer as the server uses it, on SQLite and PostgreSQL:
// what it stores (masked), how it batches, what it drops and counts, and
// that it writes what is queued when it stops. Helpers are prefixed "cw".

// cwConfig is call_log's default configuration.
var cwConfig = calllog.Config{Enabled: true, Retention: 720 * time.Hour, MaxBodyBytes: 16 << 10, Buffer: 10000, Overload: "drop"}

// cwCard is a Luhn-valid card number that must never be stored whole.
const cwCard = "4111111111111111"

// cwEnv is a database with the call log's inserts counted, a writer on it
// and the writer's metrics.
type cwEnv struct {
	db      *ent.Client
	inserts *atomic.Int64
	w       *calllog.Writer
	reg     *prometheus.Registry
}

// cwInsertCounter counts the call log's inserts (one per batch).
type cwInsertCounter struct {
	dialect.Driver
	n *atomic.Int64
}

func (d cwInsertCounter) count(q string) {
	if strings.HasPrefix(q, "INSERT INTO") && strings.Contains(q[:min(len(q), 40)], logrecord.Table) {
		d.n.Add(1)
	}
}

func (d cwInsertCounter) Exec(ctx context.Context, q string, args, v any) error {
	d.count(q)
	return d.Driver.Exec(ctx, q, args, v)
}

func (d cwInsertCounter) Query(ctx context.Context, q string, args, v any) error {
	d.count(q)
	return d.Driver.Query(ctx, q, args, v)
}

// BeginTx is the driver's: ent.Client.BeginTx needs it.
func (d cwInsertCounter) BeginTx(ctx context.Context, opts *entsql.TxOptions) (dialect.Tx, error) {
	return d.Driver.(interface {
		BeginTx(context.Context, *entsql.TxOptions) (dialect.Tx, error)
	}).BeginTx(ctx, opts)
}

// cwForEach runs fn on each database of testdb, opened with the call log's
// inserts counted, with a writer of cfg (as configure leaves it).
func cwForEach(t *testing.T, fn func(t *testing.T, e *cwEnv), configure ...func(*calllog.Config)) {
	for _, d := range testdb.All(t) {
		t.Run(d.Name, func(t *testing.T) {
			var dsn, path string
			if d.Name == "postgres" {
				dsn = testdb.PostgresSchema(t)
			} else {
				path = t.TempDir() + "/paymux.db"
			}
			drv, err := database.OpenDriver(dsn, path, 8)
			if err != nil {
				t.Fatal(err)
			}
			e := &cwEnv{inserts: new(atomic.Int64)}
			e.db = ent.NewClient(ent.Driver(cwInsertCounter{Driver: drv, n: e.inserts}))
			t.Cleanup(func() { e.db.Close() })
			if err := database.Migrate(context.Background(), e.db); err != nil {
				t.Fatal(err)
			}
			cfg := cwConfig
			for _, f := range configure {
				f(&cfg)
			}
			e.reg = prometheus.NewRegistry()
			if e.w, err = calllog.NewWriter(e.db, cfg, time.Now, slog.New(slog.NewTextHandler(io.Discard, nil)), e.reg); err != nil {
				t.Fatal(err)
			}
			fn(t, e)
		})
	}
}

// run runs the writer until the returned stop is called; stop waits for
// Run to return.
func (e *cwEnv) run(t *testing.T) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.w.Run(ctx) }()
	return func() {
		t.Helper()
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("the writer did not stop")
		}
	}
}

// rows are the stored records, oldest first.
func (e *cwEnv) rows(t *testing.T) []*ent.LogRecord {
	t.Helper()
	rows, err := e.db.LogRecord.Query().Order(ent.Asc(logrecord.FieldCreatedAt), ent.Asc(logrecord.FieldID)).
		All(tenant.System(context.Background()))
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

// waitRows waits until n records are stored.
func (e *cwEnv) waitRows(t *testing.T, n int) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		got, err := e.db.LogRecord.Query().Count(tenant.System(context.Background()))
		if err != nil {
			t.Fatal(err)
		}
		if got >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d records written", got, n)
		}
	}
}

// metric is the value of a counter or gauge on the writer's registry: the
// sample of family with the label pair (name, value), if given.
func (e *cwEnv) metric(t *testing.T, family string, label ...string) float64 {
	t.Helper()
	families, err := e.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != family {
			continue
		}
		for _, m := range f.GetMetric() {
			if len(label) == 2 && !slices.ContainsFunc(m.GetLabel(), func(l *dto.LabelPair) bool {
				return l.GetName() == label[0] && l.GetValue() == label[1]
			}) {
				continue
			}
			if m.GetCounter() != nil {
				return m.GetCounter().GetValue()
			}
			return m.GetGauge().GetValue()
		}
	}
	t.Fatalf("no metric %s %v", family, label)
	return 0
}

// cwRecord is an API call's record whose request carries message.
func cwRecord(requestID string, request *structpb.Struct) *calllog.Record {
	return &calllog.Record{
		Kind: logrecord.KindAPI, At: time.Now().UTC().Truncate(time.Microsecond), StoreID: "st_cw", Mode: "TEST",
		RequestID: requestID, Surface: "connect", Method: "/paymux.v1.PaymentService/GetPayment", Code: "OK",
		Request: request,
	}
}

// TestWriterBatches: records that wait together are written together, in
// inserts of many rows, and counted as written.
func TestWriterBatches(t *testing.T) {
	cwForEach(t, func(t *testing.T, e *cwEnv) {
		// Queued before the writer runs: one insert takes them all.
		for range 300 {
			e.w.Add(cwRecord("req_cw_first", nil))
		}
		if q := e.metric(t, "paymux_log_records_queued"); q != 300 {
			t.Errorf("queued %v, want 300", q)
		}
		stop := e.run(t)
		e.waitRows(t, 300)
		if n := e.inserts.Load(); n != 1 {
			t.Errorf("300 queued records took %d inserts, want 1", n)
		}

		// Added while it runs, faster than it writes: batches of about a
		// hundred rows or more, never a row at a time.
		before := e.inserts.Load()
		for range 1200 {
			e.w.Add(cwRecord("req_cw_more", nil))
		}
		e.waitRows(t, 1500)
		if n := e.inserts.Load() - before; n < 3 || n > 12 {
			t.Errorf("1,200 records took %d inserts, want 3 to 12 (at most 500 rows each, about 100 or more)", n)
		}
		stop()
		if w := e.metric(t, "paymux_log_records_written_total"); w != 1500 {
			t.Errorf("written_total %v, want 1500", w)
		}
		for _, reason := range []string{"overload", "write_error", "closing"} {
			if v := e.metric(t, "paymux_log_records_dropped_total", "reason", reason); v != 0 {
				t.Errorf("dropped{%s} = %v", reason, v)
			}
		}
	})
}

// TestWriterMasksCards: a card number in a request body, an error's
// details, a REST query, a header, a message or a PG call's values is
// stored masked (BIN and last 4 at most), secrets not at all; what the
// record is about is kept.
func TestWriterMasksCards(t *testing.T) {
	cwForEach(t, func(t *testing.T, e *cwEnv) {
		req, err := structpb.NewStruct(map[string]any{
			"note":      "cw-order-1",
			"card":      map[string]any{"number": cwCard, "passwordTwoDigits": "12"},
			"orderName": "card " + cwCard[:4] + " " + cwCard[4:8] + " " + cwCard[8:12] + " " + cwCard[12:],
		})
		if err != nil {
			t.Fatal(err)
		}
		api := cwRecord("req_cw_api", req)
		api.Method = "/paymux.v1.PaymentService/CreateInstantPayment"
		api.Surface, api.HTTPMethod, api.Path, api.ViaREST = "rest", http.MethodPost, "/v1/payments/instant?card="+cwCard, true
		api.Code, api.Reason, api.Message = "FAILED_PRECONDITION", "PG_DECLINED", "card "+cwCard+" declined"
		info, err := anypb.New(&errdetails.ErrorInfo{Reason: "PG_DECLINED", Domain: "paymux",
			Metadata: map[string]string{"payment_id": "pay_cw1", "pg_message": "card " + cwCard}})
		if err != nil {
			t.Fatal(err)
		}
		api.Error = &status.Status{Code: 9, Message: api.Message, Details: []*anypb.Any{info}}
		api.Headers = http.Header{
			"Grpcgateway-Authorization": {"Basic c2VjcmV0OnNlY3JldA=="}, "Grpcgateway-X-Card": {cwCard},
			"Content-Type": {"application/json"}, "X-Paymux-Rest-Method": {"POST"}, "Content-Length": {"99"},
		}
		pg := &calllog.Record{
			Kind: logrecord.KindPG, At: time.Now().UTC().Truncate(time.Microsecond), StoreID: "st_cw", Mode: "TEST",
			RequestID: "req_cw_api", Surface: "sandbox", Method: "sandbox/ChargeKeyIn", Code: "DECLINED", Reason: "SB_51",
			PaymentID: "pay_cw1",
			RequestValue: providers.KeyInRequest{OrderID: "pay_cw1", OrderName: "o", Amount: providers.Amount{Total: 1000},
				Card: providers.CardData{Number: providers.NewCardNumber(cwCard), ExpiryYear: 2030, ExpiryMonth: 12,
					Password2: providers.NewRedacted("12")}},
			ResponseValue: &providers.Payment{OrderID: "pay_cw1", Card: &providers.CardInfo{Number: cwCard}},
		}
		e.w.Add(api)
		e.w.Add(pg)
		stop := e.run(t)
		e.waitRows(t, 2)
		stop()

		for _, row := range e.rows(t) {
			stored := map[string]string{
				"request_body": string(row.RequestBody), "response_body": string(row.ResponseBody),
				"message": row.Message, "path": row.Path,
			}
			for k, v := range row.RequestHeaders {
				stored["header "+k] = v
			}
			for col, v := range stored {
				if strings.Contains(v, cwCard) || strings.Contains(v, "1111 1111") {
					t.Errorf("%s %s stores the card number: %s", row.Kind, col, v)
				}
			}
			if !strings.Contains(string(row.RequestBody), cwCard[:6]) || !strings.Contains(string(row.RequestBody), cwCard[12:]) {
				t.Errorf("%s request body lost the BIN and last 4: %s", row.Kind, row.RequestBody)
			}
			if strings.Contains(string(row.RequestBody), `"12"`) {
				t.Errorf("%s request body stores the card password: %s", row.Kind, row.RequestBody)
			}
			if row.PaymentID != "pay_cw1" || row.RequestID != "req_cw_api" || row.Ok {
				t.Errorf("%s stored as %+v", row.Kind, row)
			}
			if row.Kind != logrecord.KindAPI {
				continue
			}
			// The REST hop's headers: the client's, without the hop's own or
			// paymux's internal ones, the credentials masked.
			h := row.RequestHeaders
			if h["Authorization"] != "Basic [REDACTED]" || h["Content-Type"] != "" || h["X-Paymux-Rest-Method"] != "" || h["Content-Length"] != "" {
				t.Errorf("headers %v", h)
			}
			// The error, as REST shows it, names the payment.
			if !strings.Contains(string(row.ResponseBody), `"reason":"PG_DECLINED"`) || row.Code != "FAILED_PRECONDITION" ||
				row.HTTPMethod != http.MethodPost || !strings.HasPrefix(row.Path, "/v1/payments/instant?card=411111") {
				t.Errorf("API call stored as %+v, response %s", row, row.ResponseBody)
			}
		}
	})
}

// TestWriterCountsDrops: with overload drop, a full buffer drops what does
// not fit and counts it, and the call never waits; what was kept is
// written.
func TestWriterCountsDrops(t *testing.T) {
	cwForEach(t, func(t *testing.T, e *cwEnv) {
		done := make(chan struct{})
		go func() {
			for range 10 {
				e.w.Add(cwRecord("req_cw_drop", nil))
			}
			close(done)
		}()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatal("Add waited with overload drop")
		}
		if v := e.metric(t, "paymux_log_records_dropped_total", "reason", "overload"); v != 7 {
			t.Errorf("dropped{overload} = %v, want 7", v)
		}
		stop := e.run(t)
		e.waitRows(t, 3)
		stop()
		if n := len(e.rows(t)); n != 3 {
			t.Errorf("%d records written, want the 3 that fit", n)
		}
		if w := e.metric(t, "paymux_log_records_written_total"); w != 3 {
			t.Errorf("written_total %v, want 3", w)
		}
	}, func(c *calllog.Config) { c.Buffer, c.Overload = 3, "drop" })
}

// TestWriterFlushesOnStop: what is queued when the writer's context ends
// is written before Run returns; what is added after that is counted as
// dropped (reason closing), in either overload mode.
func TestWriterFlushesOnStop(t *testing.T) {
	for _, mode := range []string{"drop", "block"} {
		t.Run(mode, func(t *testing.T) {
			cwForEach(t, func(t *testing.T, e *cwEnv) {
				ctx, cancel := context.WithCancel(context.Background())
				done := make(chan error, 1)
				go func() { done <- e.w.Run(ctx) }()
				for range 250 {
					e.w.Add(cwRecord("req_cw_stop", nil))
				}
				cancel()
				select {
				case err := <-done:
					if err != nil {
						t.Fatalf("Run: %v", err)
					}
				case <-time.After(10 * time.Second):
					t.Fatal("the writer did not stop")
				}
				if n := len(e.rows(t)); n != 250 {
					t.Errorf("%d of 250 queued records written when Run returned", n)
				}
				for range 5 {
					e.w.Add(cwRecord("req_cw_late", nil))
				}
				if v := e.metric(t, "paymux_log_records_dropped_total", "reason", "closing"); v != 5 {
					t.Errorf("dropped{closing} = %v, want the 5 added after the stop", v)
				}
				if w := e.metric(t, "paymux_log_records_written_total"); w != 250 {
					t.Errorf("written_total %v, want 250", w)
				}
			}, func(c *calllog.Config) { c.Overload = mode })
		})
	}
}

// TestWriterDisabled: with call_log.enabled false the writer takes
// nothing, its Run just waits for the stop, and its metrics still show.
func TestWriterDisabled(t *testing.T) {
	cwForEach(t, func(t *testing.T, e *cwEnv) {
		if e.w.Enabled() {
			t.Fatal("enabled")
		}
		stop := e.run(t)
		e.w.Add(cwRecord("req_cw_off", nil))
		stop()
		if n := len(e.rows(t)); n != 0 {
			t.Errorf("%d records written", n)
		}
		if e.metric(t, "paymux_log_records_queued") != 0 || e.metric(t, "paymux_log_records_dropped_total", "reason", "overload") != 0 {
			t.Error("a disabled writer counted a record")
		}
	}, func(c *calllog.Config) { c.Enabled = false })
}

// TestWrapProvider: every PG call through a wrapped adapter is recorded
// with the context's request id, the store, the channel's mode, the
// payment its order id names and the PG's result, the billing key masked;
// it is timed in paymux_pg_call_duration_seconds.
func TestWrapProvider(t *testing.T) {
	cwForEach(t, func(t *testing.T, e *cwEnv) {
		pg := e.w.WrapProvider(sandbox.New(sandbox.Options{}), "st_cw")
		ch := providers.Channel{ID: "ch_cw", MerchantID: "mid_cw", Mode: providers.ModeTest}
		ctx := calllog.WithRequestID(context.Background(), "job_sweep_cw")
		if got := calllog.RequestID(ctx); got != "job_sweep_cw" {
			t.Fatalf("RequestID %q", got)
		}
		card := providers.CardData{Number: providers.NewCardNumber(sandbox.CardSuccess), ExpiryYear: 2030, ExpiryMonth: 12,
			OwnerID: providers.NewRedacted("900101"), Password2: providers.NewRedacted("12")}
		if _, err := pg.ChargeKeyIn(ctx, ch, providers.KeyInRequest{OrderID: "pay_cw2", OrderName: "o", Amount: providers.Amount{Total: 1000}, Card: card}); err != nil {
			t.Fatal(err)
		}
		key, err := pg.IssueBillingKey(ctx, ch, providers.IssueBillingKeyRequest{OrderID: "bk_cw", Card: &card})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := pg.ChargeBillingKey(ctx, ch, providers.ChargeBillingKeyRequest{OrderID: "pay_cw3", BillingKey: "nope", Amount: providers.Amount{Total: 1000}}); err == nil {
			t.Fatal("charging an unknown billing key succeeded")
		}
		stop := e.run(t)
		e.waitRows(t, 3)
		stop()

		rows := e.rows(t)
		var got []string
		for _, r := range rows {
			got = append(got, r.Method+" "+r.Code+" "+r.PaymentID)
			if r.Kind != logrecord.KindPG || r.RequestID != "job_sweep_cw" || r.StoreID != "st_cw" || r.Mode != "TEST" || r.Surface != "sandbox" {
				t.Errorf("stored %+v", r)
			}
			for _, body := range []string{string(r.RequestBody), string(r.ResponseBody)} {
				if strings.Contains(body, sandbox.CardSuccess) || strings.Contains(body, key.Key) || strings.Contains(body, "900101") {
					t.Errorf("%s stores the card, its owner id or the billing key: %s", r.Method, body)
				}
			}
		}
		want := []string{"sandbox/ChargeKeyIn OK pay_cw2", "sandbox/IssueBillingKey OK ", "sandbox/ChargeBillingKey NOT_FOUND pay_cw3"}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("recorded\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		families, err := e.reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		timed := 0
		for _, f := range families {
			if f.GetName() == "paymux_pg_call_duration_seconds" {
				for _, m := range f.GetMetric() {
					timed += int(m.GetHistogram().GetSampleCount())
				}
			}
		}
		if timed != 3 {
			t.Errorf("%d PG calls timed, want 3", timed)
		}
	})
}

// TestWriterPurge: Purge drops the records older than call_log.retention
// and keeps the rest.
func TestWriterPurge(t *testing.T) {
	cwForEach(t, func(t *testing.T, e *cwEnv) {
		now := time.Now().UTC().Truncate(time.Microsecond)
		for i, age := range []time.Duration{3 * time.Hour, 2 * time.Hour, 30 * time.Minute, 0} {
			r := cwRecord("req_cw_"+string(rune('a'+i)), nil)
			r.At = now.Add(-age)
			e.w.Add(r)
		}
		stop := e.run(t)
		e.waitRows(t, 4)
		stop()
		if err := e.w.Purge(tenant.System(context.Background())); err != nil {
			t.Fatal(err)
		}
		var left []string
		for _, r := range e.rows(t) {
			left = append(left, r.RequestID)
		}
		if strings.Join(left, " ") != "req_cw_c req_cw_d" {
			t.Errorf("after the purge: %v, want the records of the last hour", left)
		}
	}, func(c *calllog.Config) { c.Retention = time.Hour })
}
