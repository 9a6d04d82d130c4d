package server_test

import (
	"bufio"
	"context"
	"database/sql"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"connectrpc.com/connect"
	"entgo.io/ent/dialect"
	entsql "entgo.io/ent/dialect/sql"

	"github.com/paymux/paymux/database"
	"github.com/paymux/paymux/ent"
	"github.com/paymux/paymux/ent/logrecord"
	paymuxv1 "github.com/paymux/paymux/gen/paymux/v1"
	"github.com/paymux/paymux/gen/paymux/v1/paymuxv1connect"
	"github.com/paymux/paymux/secrets"
)

// BenchmarkCallLog measures what the call log costs a hot authenticated
// call: GetPayment of an existing sandbox payment with Basic auth, 4
// goroutines per CPU in flight, with call_log.enabled off and on (the
// default config otherwise: buffer 10,000, overload drop), over Connect
// (binary proto) and REST, on SQLite and on PostgreSQL when
// PAYMUX_TEST_POSTGRES_DSN is set. Reported: calls/s; with logging on also
// the records dropped (paymux_log_records_dropped_total, every reason),
// drain-ms, how long after the last call the writer took to write the last
// record, and records/insert, the writer's mean batch. The timed window
// ends only when every call's record is written (or dropped), so a writer
// that falls behind and lives off the buffer shows in calls/s rather than
// hiding in the queue. Compare off and on of one surface and database:
// ratio = calls/s on / calls/s off.
//
//	go test ./server -run '^$' -bench BenchmarkCallLog -benchtime 3s -count 3
func BenchmarkCallLog(b *testing.B) {
	for _, db := range databases(b) {
		for _, sf := range []string{"connect", "rest"} {
			for _, logging := range []bool{false, true} {
				name := fmt.Sprintf("%s/surface=%s/logging=%s", db.Name, sf, map[bool]string{false: "off", true: "on"}[logging])
				b.Run(name, func(b *testing.B) { benchCallLog(b, db.Name, sf, logging) })
			}
		}
	}
}

func benchCallLog(b *testing.B, dbName, surface string, logging bool) {
	client, inserts := openCountingDB(b, dbName)
	ts := startServer(b, client, func(c *configT) { c.CallLog.Enabled = logging })
	auth := ts.firstKeyAuth()
	id := waPay(b, ts, surfaces[1], headers("Authorization", auth), "calllog-bench").GetId()

	// A client of its own, keeping a connection per goroutine: the default
	// client keeps 2 idle per host, and new connections would be measured.
	hc := &http.Client{Transport: &http.Transport{MaxIdleConns: 64, MaxIdleConnsPerHost: 64}}
	b.Cleanup(hc.CloseIdleConnections)
	var call func() error
	switch surface {
	case "connect":
		payments := paymuxv1connect.NewPaymentServiceClient(hc, ts.URL)
		call = func() error {
			req := connect.NewRequest(&paymuxv1.GetPaymentRequest{Id: id})
			req.Header().Set("Authorization", auth)
			res, err := payments.GetPayment(context.Background(), req)
			if err != nil {
				return err
			}
			if res.Msg.GetPayment().GetId() != id {
				return fmt.Errorf("GetPayment(%s) answered payment %q", id, res.Msg.GetPayment().GetId())
			}
			return nil
		}
	case "rest":
		url := ts.URL + "/v1/payments/" + id
		call = func() error {
			req, err := http.NewRequest(http.MethodGet, url, nil)
			if err != nil {
				return err
			}
			req.Header.Set("Authorization", auth)
			resp, err := hc.Do(req)
			if err != nil {
				return err
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				return err
			}
			if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), id) {
				return fmt.Errorf("GET %s: HTTP %d: %s", url, resp.StatusCode, body)
			}
			return nil
		}
	}
	for range 8 { // warm the key cache and the connections
		if err := call(); err != nil {
			b.Fatal(err)
		}
	}
	var base logCounts
	if logging {
		base = settledLogCounts(b, ts)
	}
	baseInserts := inserts.Load()

	b.SetParallelism(4)
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := call(); err != nil {
				b.Error(err)
				return
			}
		}
	})
	calls := time.Since(start)
	if b.Failed() { // some calls were not made: their records would never come
		return
	}
	var end logCounts
	if logging {
		end = waitLogged(b, ts, base.written+base.dropped+float64(b.N))
	}
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "calls/s")
	if logging {
		dropped := end.dropped - base.dropped
		b.ReportMetric(dropped, "dropped")
		if n := inserts.Load() - baseInserts; n > 0 {
			b.ReportMetric((end.written-base.written)/float64(n), "records/insert")
		}
		b.ReportMetric(float64((elapsed-calls).Microseconds())/1000, "drain-ms")
		if dropped > 0 {
			b.Logf("%.0f of %d call log records dropped", dropped, b.N)
		}
	}
}

// logInsertCounter counts the call log's inserts (one per batch).
type logInsertCounter struct {
	dialect.Driver
	inserts *atomic.Int64
}

func (d logInsertCounter) count(q string) {
	if strings.HasPrefix(q, "INSERT INTO") && strings.Contains(q[:min(len(q), 40)], logrecord.Table) {
		d.inserts.Add(1)
	}
}

func (d logInsertCounter) Exec(ctx context.Context, q string, args, v any) error {
	d.count(q)
	return d.Driver.Exec(ctx, q, args, v)
}

func (d logInsertCounter) Query(ctx context.Context, q string, args, v any) error {
	d.count(q)
	return d.Driver.Query(ctx, q, args, v)
}

// BeginTx is the driver's: ent.Client.BeginTx needs it (read transactions
// are begun read-only). Statements in transactions are not counted; the
// call log inserts outside any.
func (d logInsertCounter) BeginTx(ctx context.Context, opts *entsql.TxOptions) (dialect.Tx, error) {
	return d.Driver.(interface {
		BeginTx(context.Context, *entsql.TxOptions) (dialect.Tx, error)
	}).BeginTx(ctx, opts)
}

// openCountingDB is databases(b)'s database called name (sqlite, postgres),
// migrated, with the call log's inserts counted.
func openCountingDB(b *testing.B, name string) (*ent.Client, *atomic.Int64) {
	var dsn, path string
	switch name {
	case "sqlite":
		path = b.TempDir() + "/paymux.db"
	case "postgres":
		dsn = postgresDSN(b)
		schema := "pmt_" + strings.ToLower(secrets.RandomString(12))
		admin, err := sql.Open("pgx", dsn)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := admin.Exec("CREATE SCHEMA " + schema); err != nil {
			b.Fatalf("create schema on %s: %v", dsn, err)
		}
		b.Cleanup(func() {
			if _, err := admin.Exec("DROP SCHEMA " + schema + " CASCADE"); err != nil {
				b.Errorf("drop schema: %v", err)
			}
			admin.Close()
		})
		sep := "?"
		if strings.Contains(dsn, "?") {
			sep = "&"
		}
		dsn += sep + "search_path=" + schema
	default:
		b.Fatalf("no database %q", name)
	}
	drv, err := database.OpenDriver(dsn, path, 8)
	if err != nil {
		b.Fatal(err)
	}
	n := new(atomic.Int64)
	db := ent.NewClient(ent.Driver(logInsertCounter{Driver: drv, inserts: n}))
	b.Cleanup(func() { db.Close() })
	if err := database.Migrate(context.Background(), db); err != nil {
		b.Fatal(err)
	}
	return db, n
}

// logCounts are the call log's counters on /metrics.
type logCounts struct{ written, dropped, queued float64 }

func readLogCounts(b *testing.B, ts *testServer) logCounts {
	req, err := http.NewRequest(http.MethodGet, ts.URL+"/metrics", nil)
	if err != nil {
		b.Fatal(err)
	}
	req.Header.Set("Authorization", ts.adminAuth())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b.Fatalf("/metrics: HTTP %d", resp.StatusCode)
	}
	var c logCounts
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			continue
		}
		name := line[:strings.IndexAny(line+" ", "{ ")]
		var into *float64
		switch name {
		case "paymux_log_records_written_total":
			into = &c.written
		case "paymux_log_records_dropped_total": // summed over reasons
			into = &c.dropped
		case "paymux_log_records_queued":
			into = &c.queued
		default:
			continue
		}
		v, err := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64)
		if err != nil {
			b.Fatalf("/metrics: %q: %v", line, err)
		}
		*into += v
	}
	if err := sc.Err(); err != nil {
		b.Fatal(err)
	}
	return c
}

// settledLogCounts waits until the setup's records are written: nothing
// queued and the counts still for a while.
func settledLogCounts(b *testing.B, ts *testServer) logCounts {
	prev := readLogCounts(b, ts)
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond)
		c := readLogCounts(b, ts)
		if c == prev && c.queued == 0 {
			return c
		}
		prev = c
	}
	b.Fatalf("call log never settled: %+v", prev)
	return prev
}

// waitLogged waits until written + dropped reaches want.
func waitLogged(b *testing.B, ts *testServer, want float64) logCounts {
	deadline := time.Now().Add(2 * time.Minute)
	for {
		c := readLogCounts(b, ts)
		if c.written+c.dropped >= want {
			return c
		}
		if time.Now().After(deadline) {
			b.Fatalf("call log: %.0f written and %.0f dropped, want %.0f together", c.written, c.dropped, want)
		}
		time.Sleep(2 * time.Millisecond)
	}
}
