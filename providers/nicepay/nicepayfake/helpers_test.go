package nicepayfake_test

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/paymux/paymux/providers/nicepay/nicepayfake"
)

var kst = time.FixedZone("KST", 9*60*60)

const returnURL = "https://shop.example/nicepay/return"

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func start(t *testing.T) (*nicepayfake.Fake, *clock) {
	t.Helper()
	c := &clock{t: time.Date(2025, 7, 21, 10, 0, 0, 0, kst)}
	f := nicepayfake.Start(nicepayfake.Options{Now: c.Now})
	t.Cleanup(f.Close)
	return f, c
}

func basic(id, secret string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(id+":"+secret))
}

// client is a plain net/http client of the fake's API, as an adapter
// would use it.
type client struct {
	t      *testing.T
	base   string
	auth   string
	secret string
	hc     *http.Client
}

func newClient(t *testing.T, f *nicepayfake.Fake) *client {
	return &client{t: t, base: f.URL, auth: basic(nicepayfake.SandboxClientID, nicepayfake.SandboxSecretKey),
		secret: nicepayfake.SandboxSecretKey, hc: &http.Client{Timeout: 10 * time.Second}}
}

type obj = map[string]any

func (c *client) send(ctx context.Context, method, path string, body any) (*http.Response, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			c.t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json;charset=utf-8")
	}
	if c.auth != "" {
		req.Header.Set("Authorization", c.auth)
	}
	return c.hc.Do(req)
}

// call makes a request and decodes the JSON answer (numbers as json.Number).
func (c *client) call(method, path string, body any) (int, obj) {
	c.t.Helper()
	resp, err := c.send(context.Background(), method, path, body)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "application/json;charset=utf-8" {
		c.t.Errorf("%s %s: Content-Type %q", method, path, ct)
	}
	var m obj
	dec := json.NewDecoder(resp.Body)
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		c.t.Fatalf("%s %s: decode: %v", method, path, err)
	}
	return resp.StatusCode, m
}

// ok calls and requires HTTP 200 and resultCode 0000.
func (c *client) ok(method, path string, body any) obj {
	c.t.Helper()
	st, m := c.call(method, path, body)
	if st != http.StatusOK || m["resultCode"] != "0000" {
		c.t.Fatalf("%s %s: HTTP %d %v %v", method, path, st, m["resultCode"], m["resultMsg"])
	}
	return m
}

// code calls and returns the resultCode (HTTP 200 required).
func (c *client) code(method, path string, body any) string {
	c.t.Helper()
	st, m := c.call(method, path, body)
	if st != http.StatusOK {
		c.t.Fatalf("%s %s: HTTP %d %v", method, path, st, m)
	}
	s, _ := m["resultCode"].(string)
	return s
}

func num(t *testing.T, v any) int64 {
	t.Helper()
	n, ok := v.(json.Number)
	if !ok {
		t.Fatalf("%v (%T) is not a JSON number", v, v)
	}
	i, err := n.Int64()
	if err != nil {
		t.Fatal(err)
	}
	return i
}

func sub(t *testing.T, m obj, k string) obj {
	t.Helper()
	o, ok := m[k].(map[string]any)
	if !ok {
		t.Fatalf("%s is %v (%T), not an object", k, m[k], m[k])
	}
	return o
}

func cardArgs(clientID, orderID string, amount int64) map[string]string {
	return map[string]string{
		"clientId": clientID, "method": "card", "orderId": orderID,
		"amount": strconv.FormatInt(amount, 10), "goodsName": "커피", "returnUrl": returnURL,
		"buyerName": "홍길동", "mallReserved": `{"k":"v"}`,
	}
}

func vbankArgs(orderID string, amount int64) map[string]string {
	a := cardArgs(nicepayfake.SandboxClientID, orderID, amount)
	a["method"] = "vbank"
	a["vbankHolder"] = "홍길동"
	a["vbankValidHours"] = "24"
	return a
}

// window completes a window and checks the browser's next request.
func window(t *testing.T, f *nicepayfake.Fake, args map[string]string, choice nicepayfake.Choice) url.Values {
	t.Helper()
	wr, err := f.CompleteWindow(args, choice)
	if err != nil {
		t.Fatalf("CompleteWindow: %v", err)
	}
	if wr.Method != http.MethodPost || wr.URL != args["returnUrl"] {
		t.Fatalf("window returns %s %s", wr.Method, wr.URL)
	}
	return wr.Form
}

// approved runs a Server-approval window and approve; it returns the tid.
func approved(t *testing.T, f *nicepayfake.Fake, c *client, orderID string, amount int64) (string, obj) {
	t.Helper()
	form := window(t, f, cardArgs(nicepayfake.SandboxClientID, orderID, amount), nicepayfake.Choice{})
	tid := form.Get("tid")
	m := c.ok("POST", "/v1/payments/"+tid, obj{"amount": amount})
	if m["status"] != "paid" {
		t.Fatalf("approve status %v", m["status"])
	}
	return tid, m
}

func edi(t time.Time) string { return t.In(kst).Format("2006-01-02T15:04:05.000-0700") }

// encrypt builds encData as a merchant does: AES-128-ECB with the first 16
// characters of the secret key, or (a2) AES-256-CBC, IV = first 16.
func encrypt(t *testing.T, plain, secret string, a2 bool) string {
	t.Helper()
	pad := 16 - len(plain)%16
	b := append([]byte(plain), bytes.Repeat([]byte{byte(pad)}, pad)...)
	out := make([]byte, len(b))
	if a2 {
		blk, err := aes.NewCipher([]byte(secret))
		if err != nil {
			t.Fatal(err)
		}
		cipher.NewCBCEncrypter(blk, []byte(secret[:16])).CryptBlocks(out, b)
	} else {
		blk, err := aes.NewCipher([]byte(secret[:16]))
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < len(b); i += 16 {
			blk.Encrypt(out[i:i+16], b[i:i+16])
		}
	}
	return hex.EncodeToString(out)
}

// receiver is a merchant's webhook endpoint answering reply.
type receiver struct {
	mu     sync.Mutex
	bodies [][]byte
	ctypes []string
}

func (r *receiver) handler(reply string) http.HandlerFunc {
	return func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.bodies = append(r.bodies, b)
		r.ctypes = append(r.ctypes, req.Header.Get("Content-Type"))
		r.mu.Unlock()
		w.Header().Set("Content-Type", "text/html")
		_, _ = io.WriteString(w, reply)
	}
}

func (r *receiver) got() [][]byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([][]byte(nil), r.bodies...)
}

// httpHandlerFunc adapts a body -> reply function to a webhook receiver.
func httpHandlerFunc(fn func([]byte) string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		_, _ = io.WriteString(w, fn(b))
	}
}
