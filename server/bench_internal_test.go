package server

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/proto"

	"github.com/paymux/paymux/account"
	"github.com/paymux/paymux/config"
	"github.com/paymux/paymux/database"
	"github.com/paymux/paymux/ent"
	paymuxv1 "github.com/paymux/paymux/gen/paymux/v1"
	"github.com/paymux/paymux/gen/paymux/v1/paymuxv1connect"
	"github.com/paymux/paymux/internal/testdb"
	"github.com/paymux/paymux/secrets"
	"github.com/paymux/paymux/tenant"
)

type benchEnv struct {
	srv    *Server
	driver *testdb.CountingDriver
	auth   string
	first  account.FirstRun
}

// newBenchEnv is a server on SQLite after a first run, with 20 IP rules of
// which only the last admits 127.0.0.1.
func newBenchEnv(tb testing.TB, logger ...*slog.Logger) *benchEnv {
	tb.Helper()
	drv, err := database.OpenDriver("", tb.TempDir()+"/paymux.db", 4)
	if err != nil {
		tb.Fatal(err)
	}
	counting := &testdb.CountingDriver{Driver: drv}
	db := ent.NewClient(ent.Driver(counting))
	tb.Cleanup(func() { db.Close() })
	ctx := context.Background()
	if err := database.Migrate(ctx, db); err != nil {
		tb.Fatal(err)
	}
	master := bytes.Repeat([]byte{7}, 32)
	keyring, err := secrets.NewKeyring(master)
	if err != nil {
		tb.Fatal(err)
	}
	v := config.NewViper()
	cfg, err := config.Load(v, "")
	if err != nil {
		tb.Fatal(err)
	}
	cfg.DataDir = tb.TempDir()
	// Background work (webhook polls, the sweep) reads the database on its
	// own schedule: keep it out of the counted window.
	cfg.Webhooks.PollInterval = time.Minute
	cfg.Payments.SweepInterval = time.Hour
	// So does the call log's writer (after the call, in batches);
	// BenchmarkCallLog measures it.
	cfg.CallLog.Enabled = false
	accounts := account.New(account.Options{DB: db, Keyring: keyring, CacheTTL: cfg.AuthCacheTTL})
	first, err := accounts.Bootstrap(ctx, cfg.AdminToken)
	if err != nil {
		tb.Fatal(err)
	}
	sys := tenant.System(ctx)
	for i := range 19 {
		db.IPRule.Create().SetStoreID(first.StoreID).SetCidr(fmt.Sprintf("10.%d.0.0/16", i)).SaveX(sys)
	}
	db.IPRule.Create().SetStoreID(first.StoreID).SetCidr("127.0.0.0/8").SaveX(sys)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if len(logger) > 0 {
		log = logger[0]
	}
	// Only what the IP-rule methods and the chain need: the chain costs
	// what it costs whatever the other services are.
	srv, err := New(Deps{Config: cfg, DB: db, Keyring: keyring, Logger: log, Accounts: accounts,
		Usage: account.NewUsageRecorder(db, log, time.Hour)})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { srv.Close() })
	auth := "Basic " + base64.StdEncoding.EncodeToString([]byte(first.ClientKey+":"+first.SecretKey))
	return &benchEnv{srv: srv, driver: counting, auth: auth, first: first}
}

// bareHandler serves the same IP-rule service with no interceptors: only
// what the handler itself needs (the caller's store and address) is put in
// the context, as the chain would.
func (e *benchEnv) bareHandler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle(paymuxv1connect.NewIPRuleServiceHandler(&ipRuleService{e.srv},
		connect.WithCodec(strictJSONCodec{}), connect.WithReadMaxBytes(1<<20)))
	p, err := e.srv.accounts.Authenticate(context.Background(), e.auth, account.AccessStore)
	key := p.Key
	if err != nil || key == nil {
		panic(fmt.Sprint("bench key: ", err))
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c := &call{Principal: account.Principal{Key: key}}
		ctx := tenant.NewContext(withCall(r.Context(), c), tenant.Viewer{StoreID: key.StoreID})
		mux.ServeHTTP(w, r.WithContext(ctx))
	})
}

// testIPRulesRequest is an authenticated call whose handler itself needs no
// database: what it costs beyond the bare handler is the chain.
func connectRequest(auth string) *http.Request {
	body, _ := proto.Marshal(&paymuxv1.TestIPRulesRequest{Ip: "10.3.4.5"})
	r := httptest.NewRequest(http.MethodPost, "/paymux.v1.IPRuleService/TestIPRules", bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/proto")
	r.RemoteAddr = "127.0.0.1:40000"
	if auth != "" {
		r.Header.Set("Authorization", auth)
	}
	return r
}

func restRequest(auth string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/v1/ip-rules/test", bytes.NewReader([]byte(`{"ip":"10.3.4.5"}`)))
	r.Header.Set("Content-Type", "application/json")
	r.RemoteAddr = "127.0.0.1:40000"
	if auth != "" {
		r.Header.Set("Authorization", auth)
	}
	return r
}

func serveOK(tb testing.TB, h http.Handler, r *http.Request) {
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != http.StatusOK {
		tb.Fatalf("status %d: %s", w.Code, w.Body.String())
	}
}

// TestKnownKeyNoDatabaseRoundTrip: once a key and its store's rules are
// known, an authenticated call through the chain reads nothing from the
// database.
func TestKnownKeyNoDatabaseRoundTrip(t *testing.T) {
	e := newBenchEnv(t)
	serveOK(t, e.srv.Handler(), connectRequest(e.auth)) // warm the cache
	before := e.driver.N.Load()
	for range 20 {
		serveOK(t, e.srv.Handler(), connectRequest(e.auth))
		serveOK(t, e.srv.Handler(), restRequest(e.auth))
	}
	if n := e.driver.N.Load() - before; n != 0 {
		t.Fatalf("%d database round trips for 40 calls with a known key", n)
	}
}

// BenchmarkPolicyChain compares an authenticated call through the whole
// chain (client IP, Basic auth, 20 CIDR rules, validation, error mapping)
// with the same handler and no interceptors, on Connect and on REST.
func BenchmarkPolicyChain(b *testing.B) {
	e := newBenchEnv(b)
	bare := e.bareHandler()
	bareREST, err := newGatewayHop(bare, 1<<20, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { bareREST.close() })
	cases := []struct {
		name    string
		handler http.Handler
		request func(string) *http.Request
	}{
		{"connect/chain", e.srv.Handler(), connectRequest},
		{"connect/bare", bare, connectRequest},
		{"rest/chain", e.srv.Handler(), restRequest},
		{"rest/bare", bareREST.restHandler(), restRequest},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			serveOK(b, c.handler, c.request(e.auth))
			b.ReportAllocs()
			for b.Loop() {
				serveOK(b, c.handler, c.request(e.auth))
			}
		})
	}
}
