package server

import (
	"bytes"
	"encoding/base64"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
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
