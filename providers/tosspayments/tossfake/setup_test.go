package tossfake_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/paymux/paymux/providers/tosspayments/tossfake"
)

// docsBasic is the Authorization header of the docs' virtual-account curl
// example (docs /guides/payment/virtual-account-api).
const docsBasic = "Basic dGVzdF9za196WExrS0V5cE5BcldtbzUwblgzbG1lYXhZRzVSOg=="

func basic(secretKey string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(secretKey+":"))
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type env struct {
	t     *testing.T
	f     *tossfake.Fake
	clock *clock
	hc    *http.Client
}

func start(t *testing.T) *env {
	t.Helper()
	c := &clock{t: time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)}
	f := tossfake.Start(tossfake.Options{Now: c.Now})
	t.Cleanup(f.Close)
	// No keep-alive: a dropped answer reaches the client as an error instead
	// of being retried by net/http on a reused connection.
	hc := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 10 * time.Second}
	return &env{t: t, f: f, clock: c, hc: hc}
}

type answer struct {
	status int
	body   map[string]any
	raw    []byte
	err    error
}

func (a answer) code() string { s, _ := a.body["code"].(string); return s }

func (a answer) str(path ...string) string {
	v := dig(a.body, path...)
	s, _ := v.(string)
	return s
}

func (a answer) num(path ...string) int64 {
	v := dig(a.body, path...)
	n, _ := v.(float64)
	return int64(n)
}

func dig(m any, path ...string) any {
	for _, p := range path {
		mm, ok := m.(map[string]any)
		if !ok {
			return nil
		}
		m = mm[p]
	}
	return m
}

// do calls the API with the docs' Basic header unless hdr sets another.
func (e *env) do(ctx context.Context, method, path string, body any, hdr map[string]string) answer {
	e.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, e.f.URL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Authorization", docsBasic)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range hdr {
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	resp, err := e.hc.Do(req)
	if err != nil {
		return answer{err: err}
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	a := answer{status: resp.StatusCode, raw: raw}
	if err := json.Unmarshal(raw, &a.body); err != nil {
		e.t.Fatalf("%s %s: answer is not JSON: %q", method, path, raw)
	}
	return a
}

func (e *env) call(method, path string, body any, hdr map[string]string) answer {
	e.t.Helper()
	a := e.do(context.Background(), method, path, body, hdr)
	if a.err != nil {
		e.t.Fatalf("%s %s: %v", method, path, a.err)
	}
	return a
}

func (e *env) must(a answer, status int) answer {
	e.t.Helper()
	if a.status != status {
		e.t.Fatalf("status %d, want %d: %s", a.status, status, a.raw)
	}
	return a
}

func (e *env) wantError(a answer, status int, code string) {
	e.t.Helper()
	if a.status != status || a.code() != code {
		e.t.Fatalf("got %d %s, want %d %s: %s", a.status, a.code(), status, code, a.raw)
	}
	if m, _ := a.body["message"].(string); m == "" {
		e.t.Fatalf("error without message: %s", a.raw)
	}
}

func payArgs(orderID string, amount string) map[string]string {
	return map[string]string{
		"clientKey":   tossfake.TestClientKey,
		"customerKey": "ANONYMOUS",
		"method":      "CARD",
		"amount":      amount,
		"orderId":     orderID,
		"orderName":   "토스 티셔츠 외 2건",
		"successUrl":  "https://shop.example/pay/return?rt=abc",
		"failUrl":     "https://shop.example/pay/fail?rt=abc",
	}
}

// window completes the window and returns the success redirect's query.
func (e *env) window(args map[string]string, c tossfake.Choice) url.Values {
	e.t.Helper()
	ret, err := e.f.CompleteWindow(args, c)
	if err != nil {
		e.t.Fatal(err)
	}
	if ret.Method != http.MethodGet {
		e.t.Fatalf("method %s", ret.Method)
	}
	return ret.Query()
}

// paid runs the window and confirms: a DONE card payment.
func (e *env) paid(orderID string, amount int64) answer {
	e.t.Helper()
	q := e.window(payArgs(orderID, itoa(amount)), tossfake.Choice{})
	return e.must(e.call("POST", "/v1/payments/confirm", map[string]any{
		"paymentKey": q.Get("paymentKey"), "orderId": orderID, "amount": amount}, nil), 200)
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// receiver is a webhook endpoint that answers status and records bodies.
type receiver struct {
	mu     sync.Mutex
	srv    *httptest.Server
	bodies [][]byte
	status int
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{status: 200}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.bodies = append(r.bodies, b)
		st := r.status
		r.mu.Unlock()
		w.WriteHeader(st)
		_, _ = w.Write([]byte("ok"))
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) got() []map[string]any {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []map[string]any
	for _, b := range r.bodies {
		var m map[string]any
		_ = json.Unmarshal(b, &m)
		out = append(out, m)
	}
	return out
}

func base64Std(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
