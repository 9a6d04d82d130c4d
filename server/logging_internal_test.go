package server

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paymux/paymux/database"
	"github.com/paymux/paymux/ent"
	"github.com/paymux/paymux/ent/logrecord"
	"github.com/paymux/paymux/secrets"
	"github.com/paymux/paymux/tenant"
)

// syncBuffer is a log sink safe for the gateway hop's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestRefusalsAreLogged: at the default level, refused calls are logged with
// their reason, client address and request id, and never with the secret;
// successful calls are not logged.
func TestRefusalsAreLogged(t *testing.T) {
	var out syncBuffer
	e := newBenchEnv(t, slog.New(slog.NewTextHandler(&out, &slog.HandlerOptions{Level: slog.LevelInfo})))
	serveOK(t, e.srv.Handler(), connectRequest(e.auth))
	if strings.Contains(out.String(), "call") {
		t.Fatalf("a successful call was logged at info:\n%s", out.String())
	}
	wrong := "Basic " + base64.StdEncoding.EncodeToString([]byte(e.first.ClientKey+":sk_test_thisIsNotTheSecret"))
	w := httptest.NewRecorder()
	e.srv.Handler().ServeHTTP(w, restRequest(wrong))
	if w.Code != http.StatusUnauthorized {
		t.Fatalf("status %d", w.Code)
	}
	log := out.String()
	for _, want := range []string{"call refused", "reason=SECRET_MISMATCH", "client_ip=127.0.0.1", "request_id=" + w.Header().Get("X-Request-Id")} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
	for _, secret := range []string{"sk_test_thisIsNotTheSecret", e.first.SecretKey, wrong} {
		if strings.Contains(log, secret) {
			t.Errorf("log contains a credential:\n%s", log)
		}
	}
}

// TestGatewayRefusalsCarryRequestID: answers the REST gateway gives without
// reaching the chain (unknown path, wrong method, body too large, body not
// JSON) still carry an X-Request-Id.
func TestGatewayRefusalsCarryRequestID(t *testing.T) {
	e := newBenchEnv(t)
	big := strings.Repeat("x", 2<<20)
	for _, c := range []struct{ method, path, body string }{
		{http.MethodGet, "/v1/nope", ""},
		{http.MethodPut, "/v1/keys", "{}"},
		{http.MethodPost, "/v1/ip-rules", big},
		{http.MethodPost, "/v1/ip-rules", "not json"},
	} {
		r := httptest.NewRequest(c.method, c.path, strings.NewReader(c.body))
		r.Header.Set("Authorization", e.auth)
		w := httptest.NewRecorder()
		e.srv.Handler().ServeHTTP(w, r)
		if w.Code < 400 || !strings.HasPrefix(w.Header().Get("X-Request-Id"), "req_") {
			t.Errorf("%s %s: status %d, X-Request-Id %q", c.method, c.path, w.Code, w.Header().Get("X-Request-Id"))
		}
	}
}

// TestProcessLogMatchesCallLog: with log.format json at debug, the process
// log's lines for a call and for the PG call it made carry the request id
// the stored call log shows, so an operator can go from one to the other.
func TestProcessLogMatchesCallLog(t *testing.T) {
	var out syncBuffer
	drv, err := database.OpenDriver("", t.TempDir()+"/paymux.db", 4)
	if err != nil {
		t.Fatal(err)
	}
	db := ent.NewClient(ent.Driver(drv))
	t.Cleanup(func() { db.Close() })
	ctx := context.Background()
	if err := database.Migrate(ctx, db); err != nil {
		t.Fatal(err)
	}
	keyring, err := secrets.NewKeyring(bytes.Repeat([]byte{9}, 32))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := LoadConfig(NewViper(), "")
	if err != nil {
		t.Fatal(err)
	}
	cfg.DataDir = t.TempDir()
	adminHash, first, err := Bootstrap(ctx, db, keyring, cfg)
	if err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.NewJSONHandler(&out, &slog.HandlerOptions{Level: slog.LevelDebug}))
	srv, err := New(Options{Config: cfg, DB: db, Keyring: keyring, AdminTokenHash: adminHash, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })

	const id = "req-process-log-1"
	body := `{"merchantPaymentId":"proc-log-1","orderName":"o","amount":{"total":1000},"card":{"number":"9410000000000005","expiryYear":2030,"expiryMonth":12}}`
	r := httptest.NewRequest(http.MethodPost, "/v1/payments/instant", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("X-Request-Id", id)
	r.SetBasicAuth(first.ClientKey, first.SecretKey)
	r.RemoteAddr = "127.0.0.1:40000"
	w := httptest.NewRecorder()
	srv.Handler().ServeHTTP(w, r)
	if w.Code != http.StatusOK || w.Header().Get("X-Request-Id") != id {
		t.Fatalf("HTTP %d, request id %q: %s", w.Code, w.Header().Get("X-Request-Id"), w.Body)
	}

	var kinds []string
	for deadline := time.Now().Add(5 * time.Second); len(kinds) < 2; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("call log records of %s: %v", id, kinds)
		}
		rows, err := db.LogRecord.Query().Where(logrecord.RequestID(id)).All(tenant.System(ctx))
		if err != nil {
			t.Fatal(err)
		}
		kinds = kinds[:0]
		for _, row := range rows {
			kinds = append(kinds, string(row.Kind)+" "+row.Method)
		}
	}
	lines := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var rec struct{ Msg, RequestID string }
		var raw map[string]any
		if err := json.Unmarshal([]byte(line), &raw); err != nil {
			t.Fatalf("not a JSON log line: %q", line)
		}
		rec.Msg, _ = raw["msg"].(string)
		rec.RequestID, _ = raw["request_id"].(string)
		if rec.RequestID == id {
			lines[rec.Msg] = true
		}
		if strings.Contains(line, "9410000000000005") {
			t.Errorf("process log holds the card number: %s", line)
		}
	}
	if !lines["call"] || !lines["pg call"] {
		t.Errorf("process log lines with request_id %s: %v (call log: %v)\n%s", id, lines, kinds, out.String())
	}
}
