package tossfake

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// request is one authenticated API call.
type request struct {
	r       *http.Request
	key     *keyPair
	en      bool
	body    []byte
	params  []string // unescaped path values ({paymentKey}, {billingKey}, ...)
	decline *Fault   // a Decline fault the handler applies itself (confirm)
}

// result is an API answer plus the webhooks the change caused.
type result struct {
	status int
	body   any
	hooks  []hook
}

func ok(body any) result { return result{status: http.StatusOK, body: body} }

// fail answers code; detail, when given, says which field was wrong.
func (q *request) fail(code, detail string) result {
	msg := messageOf(code, q.en)
	if detail != "" {
		msg += " (" + detail + ")"
	}
	return result{status: statusOf(code), body: apiError{Code: code, Message: msg}}
}

// decode reads the JSON body into v; false means the body is not JSON.
func (q *request) decode(v any) bool {
	if len(bytes.TrimSpace(q.body)) == 0 {
		return true
	}
	return json.Unmarshal(q.body, v) == nil
}

type handler func(q *request) result

type route struct {
	op string
	h  handler
	// ownsDecline: the handler applies a Decline fault itself.
	ownsDecline bool
}

// Operation names for FailNext.
const (
	OpConfirm        = "confirm"
	OpCancel         = "cancel"
	OpLookup         = "lookup"
	OpKeyIn          = "key-in"
	OpBillingIssue   = "billing-issue"
	OpBillingCharge  = "billing-charge"
	OpBillingDelete  = "billing-delete"
	OpVirtualAccount = "virtual-account"
	OpCashReceipt    = "cash-receipt"
)

// match finds the API route of method and the /v1/ path segments.
func (f *Fake) match(method string, segs []string) (route, []string, int) {
	type cand struct {
		method string
		rt     route
	}
	var cs []cand
	var params []string
	n := len(segs)
	switch {
	case n == 2 && segs[0] == "payments" && segs[1] == "confirm":
		cs = []cand{{"POST", route{op: OpConfirm, h: f.confirm, ownsDecline: true}}}
	case n == 2 && segs[0] == "payments" && segs[1] == "key-in":
		cs = []cand{{"POST", route{op: OpKeyIn, h: f.keyIn}}}
	case n == 3 && segs[0] == "payments" && segs[1] == "orders":
		cs, params = []cand{{"GET", route{op: OpLookup, h: f.lookupByOrder}}}, segs[2:]
	case n == 2 && segs[0] == "payments":
		cs, params = []cand{{"GET", route{op: OpLookup, h: f.lookupByKey}}}, segs[1:]
	case n == 3 && segs[0] == "payments" && segs[2] == "cancel":
		cs, params = []cand{{"POST", route{op: OpCancel, h: f.cancel}}}, segs[1:2]
	case n == 3 && segs[0] == "billing" && segs[1] == "authorizations" && segs[2] == "issue":
		cs = []cand{{"POST", route{op: OpBillingIssue, h: f.billingIssue}}}
	case n == 3 && segs[0] == "billing" && segs[1] == "authorizations" && segs[2] == "card":
		cs = []cand{{"POST", route{op: OpBillingIssue, h: f.billingCard}}}
	case n == 2 && segs[0] == "billing":
		cs, params = []cand{
			{"POST", route{op: OpBillingCharge, h: f.billingCharge}},
			{"DELETE", route{op: OpBillingDelete, h: f.billingDelete}},
		}, segs[1:]
	case n == 1 && segs[0] == "virtual-accounts":
		cs = []cand{{"POST", route{op: OpVirtualAccount, h: f.issueVirtualAccount}}}
	case n == 1 && segs[0] == "cash-receipts":
		cs = []cand{
			{"POST", route{op: OpCashReceipt, h: f.issueCashReceipt}},
			{"GET", route{op: OpCashReceipt, h: f.listCashReceipts}},
		}
	case n == 3 && segs[0] == "cash-receipts" && segs[2] == "cancel":
		cs, params = []cand{{"POST", route{op: OpCashReceipt, h: f.cancelCashReceipt}}}, segs[1:2]
	}
	if len(cs) == 0 {
		return route{}, nil, http.StatusNotFound
	}
	for _, c := range cs {
		if c.method == method {
			return c.rt, params, 0
		}
	}
	return route{}, nil, http.StatusMethodNotAllowed
}

func (f *Fake) serve(w http.ResponseWriter, r *http.Request) {
	p := r.URL.EscapedPath()
	switch {
	case p == "/v2/standard":
		f.serveSDK(w, r)
	case p == windowPath:
		f.serveWindow(w, r)
	case p == windowSubmitPath:
		f.serveWindowSubmit(w, r)
	case strings.HasPrefix(p, "/v1/"):
		f.serveAPI(w, r, strings.TrimPrefix(p, "/v1/"))
	default:
		http.NotFound(w, r)
	}
}

func (f *Fake) serveAPI(w http.ResponseWriter, r *http.Request, p string) {
	q := &request{r: r, en: strings.HasPrefix(strings.ToLower(r.Header.Get("Accept-Language")), "en")}
	// Billing keys may arrive URL-encoded or not (they can hold '='): split
	// the escaped path, then unescape each segment.
	var segs []string
	for _, s := range strings.Split(p, "/") {
		u, err := url.PathUnescape(s)
		if err != nil {
			f.write(w, q.fail("INVALID_REQUEST", "path"))
			return
		}
		segs = append(segs, u)
	}
	rt, params, miss := f.match(r.Method, segs)
	if miss != 0 {
		res := q.fail("NOT_FOUND", "")
		if miss == http.StatusMethodNotAllowed {
			res = q.fail("INVALID_REQUEST", "method")
			res.status = miss
		}
		f.write(w, res)
		return
	}
	q.params = params
	if q.key = f.authenticate(r); q.key == nil {
		f.write(w, q.fail("UNAUTHORIZED_KEY", ""))
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		return
	}
	q.body = body

	// Time-driven changes (confirm deadline, due dates) happen first, with
	// their webhooks, so the answer reflects them.
	f.mu.Lock()
	hs := f.sweep()
	f.mu.Unlock()
	f.deliver(hs)

	if code := r.Header.Get("TossPayments-Test-Code"); code != "" && q.key.test {
		f.write(w, q.fail(code, ""))
		return
	}

	var slot *idemEntry
	if k := r.Header.Get("Idempotency-Key"); k != "" && r.Method == http.MethodPost {
		if len(k) > maxIdempotencyKey {
			f.write(w, q.fail("INVALID_REQUEST", "Idempotency-Key longer than 300 characters"))
			return
		}
		var replay *idemEntry
		slot, replay = f.idemBegin(k+"\x00"+q.key.secretKey+"\x00"+r.Method+"\x00"+r.URL.Path, r)
		if replay != nil {
			w.Header().Set("Content-Type", jsonContentType)
			w.WriteHeader(replay.status)
			_, _ = w.Write(replay.body)
			return
		}
		if slot == nil { // the client went away while waiting
			return
		}
	}

	fault, faulted := f.takeFault(rt.op)
	lose, hold := false, false
	if faulted {
		switch fault.kind {
		case faultUnavailable:
			f.idemAbandon(slot)
			f.write(w, q.fail("FAILED_INTERNAL_SYSTEM_PROCESSING", ""))
			return
		case faultTimeoutBefore:
			f.idemAbandon(slot)
			select {
			case <-r.Context().Done():
			case <-f.closed:
				panic(http.ErrAbortHandler) // drop the connection, unanswered
			}
			return
		case faultLoseAnswer:
			lose = true
		case faultTimeoutAfter:
			hold = true
		case faultDecline:
			if !rt.ownsDecline {
				res := q.declined(fault)
				f.idemFinish(slot, res)
				f.write(w, res)
				return
			}
			q.decline = &fault
		}
	}

	f.mu.Lock()
	res := rt.h(q)
	f.mu.Unlock()
	f.idemFinish(slot, res)
	f.deliver(res.hooks)
	if hold {
		select {
		case <-r.Context().Done():
		case <-f.closed:
			panic(http.ErrAbortHandler)
		}
		return
	}
	if lose {
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				_ = conn.Close()
				return
			}
		}
		panic(http.ErrAbortHandler)
	}
	f.write(w, res)
}

// declined is the answer to a Decline fault.
func (q *request) declined(ft Fault) result {
	msg := ft.message
	if msg == "" {
		msg = messageOf(ft.code, q.en)
	}
	return result{status: statusOf(ft.code), body: apiError{Code: ft.code, Message: msg}}
}

func marshal(v any) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
	return bytes.TrimSpace(buf.Bytes())
}

func (f *Fake) write(w http.ResponseWriter, res result) {
	w.Header().Set("Content-Type", jsonContentType)
	w.WriteHeader(res.status)
	_, _ = w.Write(marshal(res.body))
}

// authenticate checks Authorization: Basic base64(secretKey + ":").
func (f *Fake) authenticate(r *http.Request) *keyPair {
	h := r.Header.Get("Authorization")
	scheme, cred, found := strings.Cut(h, " ")
	if !found || !strings.EqualFold(scheme, "Basic") {
		return nil
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(cred))
	if err != nil {
		return nil
	}
	user, pass, found := strings.Cut(string(raw), ":")
	if !found || pass != "" {
		return nil
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.bySecret[user]
}

// idemEntry is the first answer under one Idempotency-Key scope.
type idemEntry struct {
	ready   chan struct{} // closed once status/body are known or abandoned
	stored  bool
	status  int
	body    []byte
	expires time.Time
	scope   string
}

// idemBegin returns either the stored answer to replay or a fresh slot the
// caller fills. A second request arriving while the first is running waits
// for it. Both nil means the caller's context ended while waiting.
func (f *Fake) idemBegin(scope string, r *http.Request) (slot, replay *idemEntry) {
	for {
		f.mu.Lock()
		e := f.idem[scope]
		now := f.clock()
		if e != nil && e.stored && !now.Before(e.expires) {
			delete(f.idem, scope)
			e = nil
		}
		if e == nil {
			e = &idemEntry{ready: make(chan struct{}), scope: scope}
			f.idem[scope] = e
			f.mu.Unlock()
			return e, nil
		}
		if e.stored {
			f.mu.Unlock()
			return nil, e
		}
		f.mu.Unlock()
		select {
		case <-e.ready:
		case <-r.Context().Done():
			return nil, nil
		}
	}
}

// idemFinish keeps res as the scope's answer. Server errors (5xx) are not
// kept: nothing was done, so a retry with the same key runs again.
func (f *Fake) idemFinish(e *idemEntry, res result) {
	if e == nil {
		return
	}
	if res.status >= 500 {
		f.idemAbandon(e)
		return
	}
	f.mu.Lock()
	e.stored, e.status, e.body = true, res.status, marshal(res.body)
	e.expires = f.clock().Add(idempotencyTTL)
	f.mu.Unlock()
	close(e.ready)
}

func (f *Fake) idemAbandon(e *idemEntry) {
	if e == nil {
		return
	}
	f.mu.Lock()
	if f.idem[e.scope] == e {
		delete(f.idem, e.scope)
	}
	f.mu.Unlock()
	close(e.ready)
}
