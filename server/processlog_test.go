package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paymux/paymux/app"
	"github.com/paymux/paymux/config"
	"github.com/paymux/paymux/database"
	"github.com/paymux/paymux/ent"
	"github.com/paymux/paymux/ent/logrecord"
	"github.com/paymux/paymux/secrets"
	"github.com/paymux/paymux/tenant"
)

// lockedBuffer is a log sink safe for the server's goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *lockedBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *lockedBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestProcessLogMatchesCallLog: with log.format json at debug, the process
// log's lines for a call and for the PG call it made carry the request id
// the stored call log shows, so an operator can go from one to the other.
func TestProcessLogMatchesCallLog(t *testing.T) {
	var out lockedBuffer
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
	cfg, err := config.Load(config.NewViper(), "")
	if err != nil {
		t.Fatal(err)
	}
	cfg.DataDir = t.TempDir()
	adminHash, first, err := app.Bootstrap(ctx, db, keyring, cfg)
	if err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.NewJSONHandler(&out, &slog.HandlerOptions{Level: slog.LevelDebug}))
	srv, err := app.New(app.Options{Config: cfg, DB: db, Keyring: keyring, AdminTokenHash: adminHash, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	// Its runners (the call log's writer among them) run while it serves.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	serveCtx, stop := context.WithCancel(ctx)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(serveCtx, ln) }()
	t.Cleanup(func() {
		stop()
		if err := <-served; err != nil {
			t.Errorf("serve: %v", err)
		}
		srv.Close()
	})

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
