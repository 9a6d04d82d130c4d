package server_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
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
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/paymux/paymux/account"
	"github.com/paymux/paymux/apierr"
	"github.com/paymux/paymux/app"
	"github.com/paymux/paymux/config"
	"github.com/paymux/paymux/ent"
	paymuxv1 "github.com/paymux/paymux/gen/paymux/v1"
	"github.com/paymux/paymux/internal/testdb"
	"github.com/paymux/paymux/providers/sandbox"
	"github.com/paymux/paymux/secrets"
)

// ---- databases ----------------------------------------------------------

// postgresDSN is the PostgreSQL server tests use; CI always sets it.
func postgresDSN(t testing.TB) string { return testdb.PostgresDSN(t) }

// forEachDB runs fn on SQLite and, when there is one, PostgreSQL.
func forEachDB(t *testing.T, fn func(t *testing.T, db *ent.Client)) { testdb.ForEach(t, fn) }

func openSQLite(t testing.TB) *ent.Client { return testdb.SQLite(t) }

func openPostgres(t testing.TB) *ent.Client { return testdb.Postgres(t) }

func openMigrated(t testing.TB, dsn, path string) *ent.Client { return testdb.Open(t, dsn, path) }

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
	First      account.FirstRun
	DB         *ent.Client
	Keyring    *secrets.Keyring
	Clock      *testClock
	Server     *app.App
	Sandbox    *sandbox.Sandbox
}

func testConfig(t testing.TB) config.Config {
	cfg, err := config.Load(config.NewViper(), "")
	if err != nil {
		t.Fatal(err)
	}
	cfg.DataDir = t.TempDir()
	return cfg
}

// testKeyring is a keyring with a random master key.
func testKeyring(t testing.TB) *secrets.Keyring {
	master := make([]byte, 32)
	if _, err := rand.Read(master); err != nil {
		t.Fatal(err)
	}
	keyring, err := secrets.NewKeyring(master)
	if err != nil {
		t.Fatal(err)
	}
	return keyring
}

func startServer(t testing.TB, db *ent.Client, configure ...func(*config.Config)) *testServer {
	t.Helper()
	cfg := testConfig(t)
	for _, f := range configure {
		f(&cfg)
	}
	keyring := testKeyring(t)
	ctx := context.Background()
	adminHash, first, err := app.Bootstrap(ctx, db, keyring, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if first.AdminToken == "" {
		t.Fatal("bootstrap on an empty database made no admin token")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	scheme := "http"
	if cfg.TLS.CertFile != "" {
		scheme = "https"
	}
	if cfg.PublicURL == "" {
		cfg.PublicURL = scheme + "://" + ln.Addr().String()
	}
	clock := &testClock{}
	sb := sandbox.New(sandbox.Options{Now: clock.Now, CheckoutURL: cfg.PublicURL + "/sandbox/checkout"})
	srv, err := app.New(app.Options{Config: cfg, DB: db, Keyring: keyring, AdminTokenHash: adminHash, Now: clock.Now, Logger: discardLogger(), Sandbox: sb})
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
	return &testServer{
		URL: scheme + "://" + ln.Addr().String(), Addr: ln.Addr().String(),
		AdminToken: first.AdminToken, First: first, DB: db, Keyring: keyring, Clock: clock, Server: srv, Sandbox: sb,
	}
}

// ---- credentials ----------------------------------------------------------

func basicAuth(clientKey, secret string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(clientKey+":"+secret))
}

func bearer(token string) string { return "Bearer " + token }

func (ts *testServer) adminAuth() string { return bearer(ts.AdminToken) }

func (ts *testServer) firstKeyAuth() string { return basicAuth(ts.First.ClientKey, ts.First.SecretKey) }

// keyAuth is the Basic credentials of a created key.
func keyAuth(k *paymuxv1.CreateKeyResponse) string {
	return basicAuth(k.GetKey().GetClientKey(), k.GetSecretKey())
}

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
	surface    string       // set by surface.call
	code       connect.Code // 0: OK
	reason     string
	message    string
	fields     []string // the google.rpc.BadRequest field violations, in the server's order
	httpStatus int      // REST only
	msg        proto.Message
}

func (r result) String() string {
	s := "OK"
	if r.code != 0 {
		s = fmt.Sprintf("%s/%s (%s)", r.code, r.reason, r.message)
	}
	if len(r.fields) > 0 {
		s += fmt.Sprintf(" fields %q", r.fields)
	}
	if r.httpStatus != 0 {
		s += fmt.Sprintf(" HTTP %d", r.httpStatus)
	}
	if r.surface != "" {
		s = r.surface + ": " + s
	}
	return s
}

type surface struct {
	name string
	send func(t testing.TB, ts *testServer, r rpc, h http.Header) result
}

// call calls r on the surface; the result names the surface.
func (s surface) call(t testing.TB, ts *testServer, r rpc, h http.Header) result {
	res := s.send(t, ts, r, h)
	res.surface = s.name
	return res
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
		switch d := d.(type) {
		case *errdetails.ErrorInfo:
			out.reason = d.GetReason()
		case *errdetails.BadRequest:
			out.fields = append(out.fields, violationFields(d)...)
		}
	}
	return out
}

func violationFields(br *errdetails.BadRequest) []string {
	var fields []string
	for _, v := range br.GetFieldViolations() {
		fields = append(fields, v.GetField())
	}
	return fields
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
	out := result{code: ce.Code(), reason: reasonOf(ce), message: ce.Message()}
	for _, d := range ce.Details() {
		v, err := d.Value()
		if err != nil {
			t.Fatalf("connect %s: undecodable error detail %s: %v", r.procedure, d.Type(), err)
		}
		if br, ok := v.(*errdetails.BadRequest); ok {
			out.fields = append(out.fields, violationFields(br)...)
		}
	}
	return out
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
	t.Helper()
	resp, raw := rawHTTP(t, http.DefaultClient, method, ts.URL+path, body, h)
	if resp.StatusCode == http.StatusOK {
		if err := protojson.Unmarshal(raw, res); err != nil {
			t.Fatalf("REST %s %s: decode %s: %v", method, path, raw, err)
		}
		return result{msg: res, httpStatus: resp.StatusCode}
	}
	return restError(t, resp.StatusCode, raw)
}

// rawHTTP sends one HTTP request (a body is JSON unless h says otherwise)
// and returns the response and its body, whatever they are.
func rawHTTP(t testing.TB, hc *http.Client, method, url string, body io.Reader, h http.Header) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, vs := range h {
		req.Header[k] = vs
	}
	if body != nil && req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, raw
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
		var br errdetails.BadRequest
		if d.UnmarshalTo(&br) == nil {
			out.fields = append(out.fields, violationFields(&br)...)
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

// restStatus is the HTTP status the REST gateway answers a code with.
var restStatus = map[connect.Code]int{
	0:                              http.StatusOK,
	connect.CodeInvalidArgument:    http.StatusBadRequest,
	connect.CodeFailedPrecondition: http.StatusBadRequest,
	connect.CodeUnauthenticated:    http.StatusUnauthorized,
	connect.CodePermissionDenied:   http.StatusForbidden,
	connect.CodeNotFound:           http.StatusNotFound,
	connect.CodeAlreadyExists:      http.StatusConflict,
}

// wantRefusal is wantError plus, over REST (httpStatus set), the HTTP
// status of the code.
func wantRefusal(t testing.TB, r result, code connect.Code, reason string) {
	t.Helper()
	wantError(t, r, code, reason)
	if r.httpStatus != 0 && r.httpStatus != restStatus[code] {
		t.Fatalf("got %v, want HTTP %d for %s", r, restStatus[code], code)
	}
}

// wantInvalid asserts InvalidArgument/INVALID_ARGUMENT with field violations
// naming exactly fields, in any order (HTTP 400 over REST).
func wantInvalid(t testing.TB, r result, fields ...string) {
	t.Helper()
	wantRefusal(t, r, connect.CodeInvalidArgument, apierr.ReasonInvalidArgument)
	if !slices.Equal(slices.Sorted(slices.Values(r.fields)), slices.Sorted(slices.Values(fields))) {
		t.Fatalf("got %v, want field violations %q", r, fields)
	}
}

// wantInvalidEverywhere calls r on every surface and asserts wantInvalid.
func wantInvalidEverywhere(t testing.TB, ts *testServer, r rpc, h http.Header, fields ...string) {
	t.Helper()
	for _, sf := range surfaces {
		wantInvalid(t, sf.call(t, ts, r, h), fields...)
	}
}

// ---- fixtures, as the administrator over Connect --------------------------

func keyRequest(storeID, name string, mode paymuxv1.Mode, method paymuxv1.AuthMethod) *paymuxv1.CreateKeyRequest {
	return &paymuxv1.CreateKeyRequest{
		StoreId: storeID, Name: name, Mode: mode,
		ApprovalModel: paymuxv1.ApprovalModel_APPROVAL_MODEL_SERVER, AuthMethod: method,
	}
}

// newKey creates a key in the first store.
func newKey(t testing.TB, ts *testServer, name string, method paymuxv1.AuthMethod, mode paymuxv1.Mode, expire *timestamppb.Timestamp) *paymuxv1.CreateKeyResponse {
	t.Helper()
	req := keyRequest(ts.First.StoreID, name, mode, method)
	req.ExpireTime = expire
	return mustOK[*paymuxv1.CreateKeyResponse](t, callConnect(t, ts, createKey(req), headers("Authorization", ts.adminAuth())))
}

// liveKeyAuth creates a LIVE Basic key in the first store, as the
// administrator, and returns its Basic credentials: the key a store changes
// its IP rules with (a TEST key may not). It is one more key in the store.
func liveKeyAuth(t testing.TB, ts *testServer) string {
	t.Helper()
	return keyAuth(newKey(t, ts, "live", paymuxv1.AuthMethod_AUTH_METHOD_BASIC, paymuxv1.Mode_MODE_LIVE, nil))
}

func readKey(t testing.TB, ts *testServer, id string) *paymuxv1.Key {
	t.Helper()
	return mustOK[*paymuxv1.GetKeyResponse](t, callConnect(t, ts, getKey(id), headers("Authorization", ts.adminAuth()))).GetKey()
}

// keyIDs lists the ids of a store's keys, sorted.
func keyIDs(t testing.TB, ts *testServer, storeID string) []string {
	t.Helper()
	res := mustOK[*paymuxv1.ListKeysResponse](t, callConnect(t, ts, listKeys(storeID), headers("Authorization", ts.adminAuth())))
	var ids []string
	for _, k := range res.GetKeys() {
		ids = append(ids, k.GetId())
	}
	return sorted(ids...)
}

func sorted(ids ...string) []string {
	ids = slices.Clone(ids)
	slices.Sort(ids)
	return ids
}

func newStore(t testing.TB, ts *testServer, name, email string) *paymuxv1.Store {
	t.Helper()
	return mustOK[*paymuxv1.CreateStoreResponse](t, callConnect(t, ts,
		createStore(&paymuxv1.CreateStoreRequest{Name: name, ContactEmail: email}), headers("Authorization", ts.adminAuth()))).GetStore()
}

func readStore(t testing.TB, ts *testServer, id string) *paymuxv1.Store {
	t.Helper()
	return mustOK[*paymuxv1.GetStoreResponse](t, callConnect(t, ts, getStore(id), headers("Authorization", ts.adminAuth()))).GetStore()
}

// ruleCIDRs lists a store's IP rules, oldest first.
func ruleCIDRs(t testing.TB, ts *testServer, storeID string) []string {
	t.Helper()
	list := mustOK[*paymuxv1.ListIPRulesResponse](t, callConnect(t, ts, listIPRules(storeID), headers("Authorization", ts.adminAuth())))
	var cidrs []string
	for _, r := range list.GetRules() {
		cidrs = append(cidrs, r.GetCidr())
	}
	return cidrs
}

// setRules replaces the first store's IP rules.
func setRules(t testing.TB, ts *testServer, cidrs ...string) {
	t.Helper()
	admin := headers("Authorization", ts.adminAuth())
	list := mustOK[*paymuxv1.ListIPRulesResponse](t, callConnect(t, ts, listIPRules(ts.First.StoreID), admin))
	for _, r := range list.GetRules() {
		mustOK[*paymuxv1.DeleteIPRuleResponse](t, callConnect(t, ts, deleteIPRule(r.GetId()), admin))
	}
	for _, c := range cidrs {
		mustOK[*paymuxv1.CreateIPRuleResponse](t, callConnect(t, ts, createIPRule(ts.First.StoreID, c, "test"), admin))
	}
}

type configT = config.Config

// reasonOf is the ErrorInfo reason a client reads off a Connect error.
func reasonOf(err error) string {
	var ce *connect.Error
	if !errors.As(err, &ce) {
		return ""
	}
	for _, d := range ce.Details() {
		if v, derr := d.Value(); derr == nil {
			if info, ok := v.(*errdetails.ErrorInfo); ok {
				return info.GetReason()
			}
		}
	}
	return ""
}

type testDB = testdb.DB

func databases(t testing.TB) []testDB { return testdb.All(t) }
