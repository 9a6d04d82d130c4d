package tosspayments_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/paymux/paymux/providers"
	"github.com/paymux/paymux/providers/tosspayments"
)

// The published test key pair (every official sample uses it).
const (
	testClientKey = "test_ck_D5GePWvyJnrK0W0k6q8gLzN97Eoq"
	testSecretKey = "test_sk_zXLkKEypNArWmo50nX3lmeaxYG5R"
	// testBasic is the Authorization of the docs' virtual-account example,
	// which decodes to testSecretKey + ":".
	testBasic = "Basic dGVzdF9za196WExrS0V5cE5BcldtbzUwblgzbG1lYXhZRzVSOg=="
)

func testChannel() providers.Channel {
	return providers.Channel{ID: "ch_toss", MerchantID: "tosspayments", Mode: providers.ModeTest,
		Secrets: providers.Secrets{tosspayments.SecretClientKey: testClientKey, tosspayments.SecretSecretKey: testSecretKey}}
}

// seen is one request a stub Toss received.
type seen struct {
	Method, Path, RawQuery string
	Header                 http.Header
	Body                   string
}

// stubToss is an httptest server standing in for Toss with canned answers.
type stubToss struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []seen
}

func (s *stubToss) requests() []seen {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]seen(nil), s.reqs...)
}

// newStub answers every request with handle (status and body).
func newStub(t *testing.T, handle func(r *http.Request) (int, string)) (*stubToss, *tosspayments.Adapter) {
	t.Helper()
	s := &stubToss{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		s.reqs = append(s.reqs, seen{Method: r.Method, Path: r.URL.EscapedPath(), RawQuery: r.URL.RawQuery, Header: r.Header.Clone(), Body: string(b)})
		s.mu.Unlock()
		status, body := handle(r)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}))
	t.Cleanup(s.Close)
	return s, tosspayments.New(tosspayments.Options{APIURL: s.URL})
}

// answer always answers status and body.
func answer(status int, body string) func(*http.Request) (int, string) {
	return func(*http.Request) (int, string) { return status, body }
}

func asError(t *testing.T, err error) *providers.Error {
	t.Helper()
	var pe *providers.Error
	if !errors.As(err, &pe) {
		t.Fatalf("error %v (%T) is not a *providers.Error", err, err)
	}
	return pe
}

func wantKind(t *testing.T, err error, k providers.Kind, code string) *providers.Error {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want %s %s", k, code)
	}
	pe := asError(t, err)
	if pe.Kind != k || (code != "" && pe.Code != code) {
		t.Fatalf("error %v: want kind %s code %q", err, k, code)
	}
	if pe.Provider != tosspayments.Name {
		t.Errorf("Provider = %q", pe.Provider)
	}
	return pe
}

func ctxTimeout(t *testing.T, d time.Duration) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

var kst = time.FixedZone("KST", 9*60*60)
