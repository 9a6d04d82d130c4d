package nicepayfake

import (
	"bytes"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
)

func (f *Fake) routes() http.Handler {
	m := http.NewServeMux()
	m.HandleFunc("POST /v1/access-token", f.api(OpAccessToken, f.accessToken))
	m.HandleFunc("POST /v1/payments/netcancel", f.api(OpNetCancel, f.netCancel))
	m.HandleFunc("POST /v1/payments/{tid}", f.api(OpApprove, f.approve))
	m.HandleFunc("GET /v1/payments/{tid}", f.api(OpLookup, f.lookupTID))
	m.HandleFunc("GET /v1/payments/find/{orderId}", f.api(OpLookup, f.lookupOrder))
	m.HandleFunc("POST /v1/payments/{tid}/cancel", f.api(OpCancel, f.cancel))
	m.HandleFunc("POST /v1/check-amount/{tid}", f.api(OpCheckAmount, f.checkAmount))
	m.HandleFunc("POST /v1/subscribe/regist", f.api(OpRegist, f.regist))
	m.HandleFunc("POST /v1/subscribe/{bid}/payments", f.api(OpBillingCharge, f.billingCharge))
	m.HandleFunc("POST /v1/subscribe/{bid}/expire", f.api(OpExpire, f.expire))
	m.HandleFunc("POST /v1/receipt", f.api(OpReceipt, f.receiptIssue))
	m.HandleFunc("POST /v1/receipt/{$}", f.api(OpReceipt, f.receiptIssue))
	m.HandleFunc("POST /v1/receipt/{tid}/cancel", f.api(OpReceipt, f.receiptCancel))
	m.HandleFunc("GET /v1/receipt/{tid}", f.api(OpReceipt, f.receiptLookup))

	m.HandleFunc("GET /v1/js/{$}", f.sdk)
	m.HandleFunc("GET /v1/js", f.sdk)
	m.HandleFunc("/window/open", f.windowOpen)
	m.HandleFunc("POST /window/{sid}/pay", f.windowPay)
	m.HandleFunc("POST /window/{sid}/cancel", f.windowCancel)
	m.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusNotFound, errBody("U320", "페이지를 찾을 수 없습니다."))
	})
	return m
}

type resultBody struct {
	ResultCode string `json:"resultCode"`
	ResultMsg  string `json:"resultMsg"`
}

func errBody(code, msg string) resultBody { return resultBody{ResultCode: code, ResultMsg: msg} }

func writeJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
	w.Header().Set("Content-Type", jsonContentType)
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// request is one authenticated API call: the JSON body merged with the
// query string (body wins), and the key that authenticated it.
type request struct {
	r       *http.Request
	key     *keyPair
	fields  map[string]any
	decline *Fault
}

func (q *request) has(k string) bool {
	v, ok := q.fields[k]
	return ok && v != nil && q.str(k) != ""
}

func (q *request) str(k string) string {
	switch v := q.fields[k].(type) {
	case string:
		return v
	case json.Number:
		return v.String()
	case bool:
		return strconv.FormatBool(v)
	default:
		return ""
	}
}

// int reads a number sent as a JSON number or a numeric string (NicePay's
// own samples send approve amounts as strings).
func (q *request) int(k string) (n int64, present, valid bool) {
	switch v := q.fields[k].(type) {
	case nil:
		return 0, false, false
	case json.Number:
		n, err := v.Int64()
		return n, true, err == nil
	case string:
		if strings.TrimSpace(v) == "" {
			return 0, false, false
		}
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		return n, true, err == nil
	default:
		return 0, true, false
	}
}

// verify checks signData when it was sent: sha256(parts... + secret).
func (q *request) verify(parts ...string) bool {
	if !q.has("signData") {
		return true
	}
	return sameSign(q.str("signData"), sign(append(parts, q.key.secret)...))
}

type result struct {
	status int
	body   any
	hooks  []hook
}

func ok(body any, hooks ...hook) result {
	return result{status: http.StatusOK, body: body, hooks: hooks}
}

func refuse(code, msg string) result { return ok(errBody(code, msg)) }

func missing(field string) result {
	return refuse("A117", "필수입력항목이 누락되었습니다: "+field)
}

func badSign() result { return refuse("A101", "SIGN DATA 검증에 실패하였습니다") }

// api wraps an operation: authentication, request parsing, the queued
// fault, webhooks (sent before the answer), the answer.
func (f *Fake) api(op string, h func(*request) result) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		key, code, msg := f.authenticate(r, op == OpAccessToken)
		if key == nil {
			writeJSON(w, http.StatusUnauthorized, errBody(code, msg))
			return
		}
		q, err := parseRequest(r)
		if err != nil {
			writeJSON(w, http.StatusOK, errBody("A212", "잘못된 데이터 형식입니다: "+err.Error()))
			return
		}
		q.key = key
		fault, faulted := f.takeFault(op)
		if faulted {
			switch fault.kind {
			case faultUnavailable:
				writeJSON(w, http.StatusInternalServerError, errBody("S999", "기타오류가 발생하였습니다."))
				return
			case faultTimeoutBefore:
				f.hold(r)
			case faultDecline:
				if op != OpApprove {
					writeJSON(w, http.StatusOK, errBody(fault.code, fault.message))
					return
				}
				q.decline = &fault
			}
		}
		res := h(q)
		f.deliver(res.hooks)
		if faulted {
			switch fault.kind {
			case faultLoseAnswer:
				if hj, ok := w.(http.Hijacker); ok {
					if conn, _, err := hj.Hijack(); err == nil {
						_ = conn.Close()
						return
					}
				}
				panic(http.ErrAbortHandler)
			case faultTimeoutAfter:
				f.hold(r)
			}
		}
		writeJSON(w, res.status, res.body)
	}
}

// hold keeps the request unanswered until the client gives up or the fake
// closes, then drops the connection (a held request never gets an answer).
func (f *Fake) hold(r *http.Request) {
	select {
	case <-r.Context().Done():
	case <-f.closed:
	}
	panic(http.ErrAbortHandler)
}

func parseRequest(r *http.Request) (*request, error) {
	q := &request{r: r, fields: map[string]any{}}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	if len(bytes.TrimSpace(body)) > 0 {
		if ct := r.Header.Get("Content-Type"); ct != "" {
			mt, _, _ := mime.ParseMediaType(ct)
			if mt != "application/json" {
				return nil, errContentType
			}
		}
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.UseNumber()
		if err := dec.Decode(&q.fields); err != nil {
			return nil, errNotObject
		}
		if q.fields == nil {
			q.fields = map[string]any{}
		}
	}
	for k, vs := range r.URL.Query() {
		if _, ok := q.fields[k]; !ok && len(vs) > 0 {
			q.fields[k] = vs[0]
		}
	}
	return q, nil
}

type parseError string

func (e parseError) Error() string { return string(e) }

const (
	errContentType = parseError("Content-Type must be application/json")
	errNotObject   = parseError("body is not a JSON object")
)

// authenticate accepts Basic base64(clientKey:secretKey) and, except for
// the token call itself, a valid Bearer token.
func (f *Fake) authenticate(r *http.Request, basicOnly bool) (*keyPair, string, string) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return nil, "U102", "사용자 인증정보가 존재하지 않습니다."
	}
	scheme, cred, _ := strings.Cut(h, " ")
	cred = strings.TrimSpace(cred)
	f.mu.Lock()
	defer f.mu.Unlock()
	switch strings.ToLower(scheme) {
	case "basic":
		raw, err := base64.StdEncoding.DecodeString(cred)
		if err != nil {
			return nil, "U101", "BASE64 DECODE 실패"
		}
		id, secret, found := strings.Cut(string(raw), ":")
		k := f.keys[id]
		if !found || k == nil || subtle.ConstantTimeCompare([]byte(secret), []byte(k.secret)) != 1 {
			return nil, "U304", "BASIC AUTHENTICATION 실패"
		}
		return k, "", ""
	case "bearer":
		t := f.tokens[cred]
		if basicOnly || t == nil || !f.clock().Before(t.expireAt) {
			return nil, "U305", "BEARER AUTHENTICATION 실패"
		}
		return f.keys[t.clientID], "", ""
	}
	return nil, "U103", "사용자 인증타입이 맞지 않습니다."
}

type tokenJSON struct {
	ResultCode  string `json:"resultCode"`
	ResultMsg   string `json:"resultMsg"`
	AccessToken string `json:"accessToken"`
	TokenType   string `json:"tokenType"`
	ExpireAt    string `json:"expireAt"`
	Now         string `json:"now"`
}

// accessToken issues a 30-minute token; asking again while it is valid
// returns the same token and expiry.
func (f *Fake) accessToken(q *request) result {
	f.mu.Lock()
	defer f.mu.Unlock()
	now := f.clock()
	t := f.keyTokens[q.key.clientID]
	if t == nil || !now.Before(t.expireAt) {
		if t != nil {
			delete(f.tokens, t.value)
		}
		t = &token{value: randomHex(32), clientID: q.key.clientID, expireAt: now.Add(tokenLifetime)}
		f.tokens[t.value] = t
		f.keyTokens[q.key.clientID] = t
	}
	return ok(tokenJSON{
		ResultCode: "0000", ResultMsg: successMsg, AccessToken: t.value, TokenType: "Bearer",
		ExpireAt: iso(t.expireAt), Now: iso(now),
	})
}
