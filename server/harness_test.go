package server_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	rpcstatus "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/paymux/paymux/apierr"
	"github.com/paymux/paymux/ent"
	"github.com/paymux/paymux/secrets"
	"github.com/paymux/paymux/server"
)

// ---- databases ----------------------------------------------------------

// postgresDSN is the PostgreSQL server tests use; CI always sets it.
func postgresDSN(t testing.TB) string {
	dsn := os.Getenv("PAYMUX_TEST_POSTGRES_DSN")
	if dsn == "" && os.Getenv("CI") != "" {
		t.Fatal("PAYMUX_TEST_POSTGRES_DSN must be set in CI: the suite runs on PostgreSQL too")
	}
	return dsn
}

type testDB struct {
	name string
	open func(t testing.TB) *ent.Client
}

// databases lists the databases every store-facing test runs on: SQLite
// always, PostgreSQL when PAYMUX_TEST_POSTGRES_DSN is set.
func databases(t testing.TB) []testDB {
	dbs := []testDB{{"sqlite", openSQLite}}
	if postgresDSN(t) != "" {
		dbs = append(dbs, testDB{"postgres", openPostgres})
	}
	return dbs
}

func forEachDB(t *testing.T, fn func(t *testing.T, db *ent.Client)) {
	for _, d := range databases(t) {
		t.Run(d.name, func(t *testing.T) { fn(t, d.open(t)) })
	}
}

func openSQLite(t testing.TB) *ent.Client {
	db, err := server.OpenDatabase("", t.TempDir()+"/paymux.db", 8)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := server.Migrate(context.Background(), db); err != nil {
		t.Fatal(err)
	}
	return db
}

// openPostgres gives the test its own schema, dropped afterwards.
func openPostgres(t testing.TB) *ent.Client {
	dsn := postgresDSN(t)
	schema := "pmt_" + strings.ToLower(secrets.RandomString(12))
	admin, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Exec("CREATE SCHEMA " + schema); err != nil {
		t.Fatalf("create schema on %s: %v", dsn, err)
	}
	t.Cleanup(func() {
		if _, err := admin.Exec("DROP SCHEMA " + schema + " CASCADE"); err != nil {
			t.Errorf("drop schema: %v", err)
		}
		admin.Close()
	})
	sep := "?"
	if strings.Contains(dsn, "?") {
		sep = "&"
	}
	db, err := server.OpenDatabase(dsn+sep+"search_path="+schema, "", 8)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := server.Migrate(context.Background(), db); err != nil {
		t.Fatal(err)
	}
	return db
}

// ---- server ---------------------------------------------------------------

// testClock is a clock tests can move.
type testClock struct {
	mu     sync.Mutex
	offset time.Duration
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.offset += d
	c.mu.Unlock()
}

// testServer is a real paymux server on a loopback port, set up as a first
// run leaves it: an admin token and a store with a TEST Basic key.
type testServer struct {
	URL, Addr  string
	AdminToken string
	First      server.FirstRun
	DB         *ent.Client
	Keyring    *secrets.Keyring
	Clock      *testClock
	Server     *server.Server
}

func testConfig(t testing.TB) server.Config {
	cfg, err := server.LoadConfig(server.NewViper(), "")
	if err != nil {
		t.Fatal(err)
	}
	cfg.DataDir = t.TempDir()
	return cfg
}

func startServer(t testing.TB, db *ent.Client, configure ...func(*server.Config)) *testServer {
	t.Helper()
	cfg := testConfig(t)
	for _, f := range configure {
		f(&cfg)
	}
	master := make([]byte, 32)
	if _, err := rand.Read(master); err != nil {
		t.Fatal(err)
	}
	keyring, err := secrets.NewKeyring(master)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	adminHash, first, err := server.Bootstrap(ctx, db, keyring, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if first.AdminToken == "" {
		t.Fatal("bootstrap on an empty database made no admin token")
	}
	clock := &testClock{}
	srv, err := server.New(server.Options{Config: cfg, DB: db, Keyring: keyring, AdminTokenHash: adminHash, Now: clock.Now, Logger: discardLogger()})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(sctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
		if err := srv.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	scheme := "http"
	if cfg.TLS.CertFile != "" {
		scheme = "https"
	}
	return &testServer{
		URL: scheme + "://" + ln.Addr().String(), Addr: ln.Addr().String(),
		AdminToken: first.AdminToken, First: first, DB: db, Keyring: keyring, Clock: clock, Server: srv,
	}
}

// ---- credentials ----------------------------------------------------------

func basicAuth(clientKey, secret string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(clientKey+":"+secret))
}

func bearer(token string) string { return "Bearer " + token }

func (ts *testServer) adminAuth() string { return bearer(ts.AdminToken) }

func (ts *testServer) firstKeyAuth() string { return basicAuth(ts.First.ClientKey, ts.First.SecretKey) }

func headers(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] != "" {
			h.Add(kv[i], kv[i+1])
		}
	}
	return h
}

// ---- calls on every surface -----------------------------------------------

// rpc is one method call, callable on every surface.
type rpc struct {
	procedure  string // "/paymux.v1.KeyService/ListKeys"
	httpMethod string
	httpPath   string // with the query string for GET
	req        proto.Message
	restBody   proto.Message // the REST body when the mapping is not body: "*"
	newRes     func() proto.Message
	connect    func(ctx context.Context, hc *http.Client, baseURL string, h http.Header, opts ...connect.ClientOption) (proto.Message, error)
}

func newRPC[Req, Res any, PReq interface {
	*Req
	proto.Message
}, PRes interface {
	*Res
	proto.Message
}](procedure, httpMethod, httpPath string, req PReq) rpc {
	return rpc{
		procedure: procedure, httpMethod: httpMethod, httpPath: httpPath, req: req,
		newRes: func() proto.Message { return PRes(new(Res)) },
		connect: func(ctx context.Context, hc *http.Client, baseURL string, h http.Header, opts ...connect.ClientOption) (proto.Message, error) {
			c := connect.NewClient[Req, Res](hc, baseURL+procedure, opts...)
			r := connect.NewRequest((*Req)(req))
			for k, vs := range h {
				r.Header()[k] = vs
			}
			res, err := c.CallUnary(ctx, r)
			if err != nil {
				return nil, err
			}
			return PRes(res.Msg), nil
		},
	}
}

// result is what a call answered, the same on every surface.
type result struct {
	code       connect.Code // 0: OK
	reason     string
	message    string
	httpStatus int // REST only
	msg        proto.Message
}

func (r result) String() string {
	if r.code == 0 {
		return "OK"
	}
	return fmt.Sprintf("%s/%s (%s)", r.code, r.reason, r.message)
}

type surface struct {
	name string
	call func(t testing.TB, ts *testServer, r rpc, h http.Header) result
}

var surfaces = []surface{
	{"grpc", callGRPC},
	{"connect", func(t testing.TB, ts *testServer, r rpc, h http.Header) result {
		return callConnect(t, ts, r, h)
	}},
	{"connect-json", func(t testing.TB, ts *testServer, r rpc, h http.Header) result {
		return callConnect(t, ts, r, h, connect.WithProtoJSON())
	}},
	{"grpc-web", func(t testing.TB, ts *testServer, r rpc, h http.Header) result {
		return callConnect(t, ts, r, h, connect.WithGRPCWeb())
	}},
	{"rest", callREST},
}

var (
	grpcConnsMu sync.Mutex
	grpcConns   = map[string]*grpc.ClientConn{}
)

func grpcConn(t testing.TB, ts *testServer) *grpc.ClientConn {
	grpcConnsMu.Lock()
	defer grpcConnsMu.Unlock()
	if c, ok := grpcConns[ts.Addr]; ok {
		return c
	}
	c, err := grpc.NewClient(ts.Addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	grpcConns[ts.Addr] = c
	t.Cleanup(func() {
		grpcConnsMu.Lock()
		delete(grpcConns, ts.Addr)
		grpcConnsMu.Unlock()
		c.Close()
	})
	return c
}

func callGRPC(t testing.TB, ts *testServer, r rpc, h http.Header) result {
	md := metadata.MD{}
	for k, vs := range h {
		md.Append(strings.ToLower(k), vs...)
	}
	ctx, cancel := context.WithTimeout(metadata.NewOutgoingContext(context.Background(), md), 10*time.Second)
	defer cancel()
	res := r.newRes()
	err := grpcConn(t, ts).Invoke(ctx, r.procedure, r.req, res)
	if err == nil {
		return result{msg: res}
	}
	st, ok := status.FromError(err)
	if !ok {
		t.Fatalf("grpc %s: %v", r.procedure, err)
	}
	out := result{code: connect.Code(st.Code()), message: st.Message()}
	for _, d := range st.Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok {
			out.reason = info.GetReason()
		}
	}
	return out
}

func callConnect(t testing.TB, ts *testServer, r rpc, h http.Header, opts ...connect.ClientOption) result {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	msg, err := r.connect(ctx, http.DefaultClient, ts.URL, h, opts...)
	if err == nil {
		return result{msg: msg}
	}
	var ce *connect.Error
	if !errors.As(err, &ce) {
		t.Fatalf("connect %s: %v", r.procedure, err)
	}
	return result{code: ce.Code(), reason: apierr.Reason(ce), message: ce.Message()}
}

func callREST(t testing.TB, ts *testServer, r rpc, h http.Header) result {
	var body io.Reader
	if r.httpMethod != http.MethodGet && r.httpMethod != http.MethodDelete {
		msg := r.req
		if r.restBody != nil {
			msg = r.restBody
		}
		b, err := protojson.Marshal(msg)
		if err != nil {
			t.Fatal(err)
		}
		body = bytes.NewReader(b)
	}
	return doREST(t, ts, r.httpMethod, r.httpPath, body, h, r.newRes())
}

// doREST sends one REST request and decodes the answer into res, or the
// error JSON.
func doREST(t testing.TB, ts *testServer, method, path string, body io.Reader, h http.Header, res proto.Message) result {
	req, err := http.NewRequest(method, ts.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, vs := range h {
		req.Header[k] = vs
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("REST %s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode == http.StatusOK {
		if err := protojson.Unmarshal(raw, res); err != nil {
			t.Fatalf("REST %s %s: decode %s: %v", method, path, raw, err)
		}
		return result{msg: res, httpStatus: resp.StatusCode}
	}
	return restError(t, resp.StatusCode, raw)
}

func restError(t testing.TB, httpStatus int, raw []byte) result {
	var st rpcstatus.Status
	if err := protojson.Unmarshal(raw, &st); err != nil {
		t.Fatalf("REST error body is not a status (%d): %s: %v", httpStatus, raw, err)
	}
	out := result{code: connect.Code(st.GetCode()), message: st.GetMessage(), httpStatus: httpStatus}
	for _, d := range st.GetDetails() {
		var info errdetails.ErrorInfo
		if d.UnmarshalTo(&info) == nil {
			out.reason = info.GetReason()
		}
	}
	if out.reason == "" {
		t.Errorf("REST error without an ErrorInfo reason: %s", raw)
	}
	return out
}

// mustOK fails the test unless the call succeeded, and returns the answer.
func mustOK[T proto.Message](t testing.TB, r result) T {
	t.Helper()
	if r.code != 0 {
		t.Fatalf("call failed: %v", r)
	}
	return r.msg.(T)
}

func wantError(t testing.TB, r result, code connect.Code, reason string) {
	t.Helper()
	if r.code != code || r.reason != reason {
		t.Fatalf("got %v, want %s/%s", r, code, reason)
	}
}

type configT = server.Config
