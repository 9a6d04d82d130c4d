package server

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"
	"time"

	"connectrpc.com/connect"
	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/paymux/paymux/clientip"
	"github.com/paymux/paymux/ent"
	"github.com/paymux/paymux/ent/logrecord"
	"github.com/paymux/paymux/redact"
	"github.com/paymux/paymux/tenant"
)

// The call log keeps every API call and every PG call for the Log API.
// Calls hand their record to a bounded queue and go on; one writer masks
// the bodies (package redact) and inserts what is waiting in one statement,
// so logging costs a call an allocation and a channel send, not a commit.
// When the queue is full, call_log.overload decides: drop the record and
// count it (paymux_log_records_dropped_total), or make the call wait.

// logWriteBatch bounds the records one insert writes; logLinger is how
// long the writer waits for a batch to fill. One insert of many rows costs
// far less per row than many inserts of few (a commit each).
const (
	logWriteBatch = 500
	logLinger     = 50 * time.Millisecond
)

// pendingLog is one call waiting to be written. Bodies are kept as the
// messages or values they were and turned into masked JSON by the writer,
// off the call's path.
type pendingLog struct {
	kind       logrecord.Kind
	at         time.Time
	storeID    string
	mode       string
	requestID  string
	surface    string
	method     string
	httpMethod string
	path       string
	code       string
	httpStatus int
	reason     string
	message    string
	keyID      string
	clientIP   string
	paymentID  string
	merchantID string
	latency    time.Duration
	headers    http.Header
	viaREST    bool // headers are the gateway hop's

	// API calls: the request and response messages, or the error.
	reqMsg, resMsg proto.Message
	errDetails     []*connect.ErrorDetail
	errCode        connect.Code
	// PG calls: the request and result values (JSON-marshalled).
	reqValue, resValue any
}

type callLog struct {
	s     *Server
	queue chan *pendingLog
	block bool
	// closing is closed when the writer stops: a blocked add gives up.
	// closed (under mu) then turns every later add into a counted drop,
	// so that no record waits in a queue nobody reads.
	closing chan struct{}
	mu      sync.RWMutex
	closed  bool
}

func newCallLog(s *Server) *callLog {
	if !s.cfg.CallLog.Enabled {
		return nil
	}
	return &callLog{
		s:       s,
		queue:   make(chan *pendingLog, s.cfg.CallLog.Buffer),
		block:   s.cfg.CallLog.Overload == "block",
		closing: make(chan struct{}),
	}
}

// add queues r. Nil-safe: a disabled call log takes nothing.
func (l *callLog) add(r *pendingLog) {
	if l == nil {
		return
	}
	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.closed {
		l.s.metrics.logDropped.WithLabelValues("closing").Inc()
		return
	}
	if l.block {
		select {
		case l.queue <- r:
		case <-l.closing:
			l.s.metrics.logDropped.WithLabelValues("closing").Inc()
		}
		return
	}
	select {
	case l.queue <- r:
	default:
		l.s.metrics.logDropped.WithLabelValues("overload").Inc()
	}
}

// run writes queued records until ctx ends, then writes what is left.
// Writes are not cut short by ctx: a batch gathered is written.
func (l *callLog) run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			l.close()
			return
		case r := <-l.queue:
			l.write(l.fill(ctx, r))
		}
	}
}

// close stops taking records and writes what is queued, within a few
// seconds.
func (l *callLog) close() {
	close(l.closing) // blocked adds give up, so the lock below comes free
	l.mu.Lock()
	l.closed = true
	l.mu.Unlock()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case r := <-l.queue:
			l.write(l.collect(r))
		default:
			return
		}
	}
	if n := len(l.queue); n > 0 {
		l.s.metrics.logDropped.WithLabelValues("closing").Add(float64(n))
	}
}

// fill gathers a batch: first, and what arrives within logLinger, up to
// logWriteBatch.
func (l *callLog) fill(ctx context.Context, first *pendingLog) []*pendingLog {
	batch := []*pendingLog{first}
	linger := time.NewTimer(logLinger)
	defer linger.Stop()
	for len(batch) < logWriteBatch {
		select {
		case r := <-l.queue:
			batch = append(batch, r)
		case <-linger.C:
			return batch
		case <-ctx.Done():
			return batch
		}
	}
	return batch
}

// collect takes first and whatever else is waiting now, up to a batch.
func (l *callLog) collect(first *pendingLog) []*pendingLog {
	batch := []*pendingLog{first}
	for len(batch) < logWriteBatch {
		select {
		case r := <-l.queue:
			batch = append(batch, r)
		default:
			return batch
		}
	}
	return batch
}

// write inserts a batch in one statement.
func (l *callLog) write(batch []*pendingLog) {
	s := l.s
	ctx, cancel := context.WithTimeout(tenant.System(context.Background()), 30*time.Second)
	defer cancel()
	creates := make([]*ent.LogRecordCreate, len(batch))
	for i, r := range batch {
		creates[i] = l.build(r)
	}
	if err := s.db.LogRecord.CreateBulk(creates...).Exec(ctx); err != nil {
		s.log.Error("call log: write", "records", len(batch), "error", err)
		s.metrics.logDropped.WithLabelValues("write_error").Add(float64(len(batch)))
		return
	}
	s.metrics.logWritten.Add(float64(len(batch)))
}

// build masks r's bodies and headers and makes its row.
func (l *callLog) build(r *pendingLog) *ent.LogRecordCreate {
	limit := l.s.cfg.CallLog.MaxBodyBytes
	var reqBody, resBody []byte
	switch r.kind {
	case logrecord.KindAPI:
		reqBody = messageJSON(r.reqMsg)
		if r.resMsg != nil {
			resBody = messageJSON(r.resMsg)
		} else if r.code != "OK" {
			resBody = errorJSON(r.errCode, r.message, r.errDetails)
		}
		if r.paymentID == "" || r.merchantID == "" {
			pid, mid := paymentIDsOf(r.method, r.reqMsg, r.resMsg)
			r.paymentID = cmp.Or(cmp.Or(r.paymentID, pid), errorPaymentID(r.errDetails))
			r.merchantID = cmp.Or(r.merchantID, mid)
		}
	case logrecord.KindPG:
		reqBody = valueJSON(r.reqValue)
		resBody = valueJSON(r.resValue)
	}
	reqBody, cutReq := redact.Truncate(redact.JSON(reqBody), limit)
	resBody, cutRes := redact.Truncate(redact.JSON(resBody), limit)
	c := l.s.db.LogRecord.Create().
		SetStoreID(r.storeID).
		SetMode(r.mode).
		SetKind(r.kind).
		SetCreatedAt(r.at).
		SetRequestID(r.requestID).
		SetSurface(r.surface).
		SetMethod(r.method).
		SetHTTPMethod(r.httpMethod).
		SetPath(maskQuery(r.path)).
		SetOk(r.code == "OK").
		SetCode(r.code).
		SetHTTPStatus(r.httpStatus).
		SetReason(r.reason).
		SetMessage(redact.String(r.message)).
		SetKeyID(r.keyID).
		SetClientIP(r.clientIP).
		SetPaymentID(r.paymentID).
		SetMerchantPaymentID(r.merchantID).
		SetLatencyUs(r.latency.Microseconds()).
		SetTruncated(cutReq || cutRes)
	if len(r.headers) > 0 {
		c.SetRequestHeaders(redact.Headers(loggedHeaders(r.headers, r.viaREST)))
	}
	if len(reqBody) > 0 {
		c.SetRequestBody(reqBody)
	}
	if len(resBody) > 0 {
		c.SetResponseBody(resBody)
	}
	return c
}

// logJSON writes messages as the JSON surfaces name their fields; unset
// fields are left out, which keeps every stored body (and its masking)
// small.
var logJSON = protojson.MarshalOptions{}

func messageJSON(m proto.Message) []byte {
	if m == nil {
		return nil
	}
	b, err := logJSON.Marshal(m)
	if err != nil {
		return []byte(`{"unloggable":` + quoteJSON(err.Error()) + `}`)
	}
	return b
}

// errorJSON is an error as REST shows it: a google.rpc.Status.
func errorJSON(code connect.Code, message string, details []*connect.ErrorDetail) []byte {
	st := &status.Status{Code: int32(code), Message: message}
	for _, d := range details {
		st.Details = append(st.Details, &anypb.Any{TypeUrl: "type.googleapis.com/" + d.Type(), Value: d.Bytes()})
	}
	return messageJSON(st)
}

func quoteJSON(s string) string {
	b, _ := json.Marshal(s) // a string always marshals
	return string(b)
}

// loggedHeaders drops the transport's own headers, which say nothing about
// the call, and paymux's internal ones; redact.Headers masks the rest. On
// the REST hop the client's headers are the gateway's Grpcgateway-* ones;
// the hop's own Content-Type, User-Agent and Host are not the client's.
func loggedHeaders(h http.Header, viaREST bool) http.Header {
	out := make(http.Header, len(h))
	for k, v := range h {
		switch lower := strings.ToLower(k); {
		case viaREST && strings.HasPrefix(lower, "grpcgateway-"):
			k = k[len("grpcgateway-"):]
		case viaREST && (lower == "content-type" || lower == "user-agent" || lower == "host" || lower == "authorization" ||
			lower == "x-forwarded-host"):
			continue // the hop's, or the gateway's own
		}
		switch strings.ToLower(k) {
		case "te", "content-length", "connection", "accept-encoding", "grpc-accept-encoding",
			"connect-accept-encoding", "grpc-timeout", "connect-timeout-ms", "content-encoding",
			"connect-content-encoding", "grpc-encoding", restMethodHeader, restPathHeader:
			continue
		}
		out[k] = v
	}
	return out
}

// errorPaymentID is the payment an error names in its ErrorInfo (a
// declined charge's FAILED payment, say).
func errorPaymentID(details []*connect.ErrorDetail) string {
	for _, d := range details {
		if v, err := d.Value(); err == nil {
			if info, ok := v.(*errdetails.ErrorInfo); ok && info.GetMetadata()["payment_id"] != "" {
				return info.GetMetadata()["payment_id"]
			}
		}
	}
	return ""
}

// maskQuery masks a REST path's query string, which may carry anything a
// body could.
func maskQuery(path string) string {
	p, q, ok := strings.Cut(path, "?")
	if !ok {
		return path
	}
	return p + "?" + string(redact.Form([]byte(q)))
}

// paymentIDsOf finds the payment a call was about: a request's payment_id
// or merchant_payment_id (and a PaymentService request's id), or the
// payment (or a message's payment_id) in the response. Searches are not
// about the payments they look for: a list's or the Log API's filters do
// not count, or reading a payment's log would add to it.
func paymentIDsOf(procedure string, req, res proto.Message) (paymentID, merchantID string) {
	_, name, _ := strings.Cut(strings.TrimPrefix(procedure, "/"), "/")
	if strings.HasPrefix(procedure, "/paymux.v1.LogService/") || strings.HasPrefix(name, "List") {
		return "", ""
	}
	if req != nil {
		m := req.ProtoReflect()
		paymentID = stringField(m, "payment_id")
		merchantID = stringField(m, "merchant_payment_id")
		if paymentID == "" && strings.HasPrefix(procedure, "/paymux.v1.PaymentService/") {
			paymentID = stringField(m, "id")
		}
	}
	if res == nil {
		return paymentID, merchantID
	}
	m := res.ProtoReflect()
	fields := m.Descriptor().Fields()
	for i := range fields.Len() {
		f := fields.Get(i)
		if f.Kind() != protoreflect.MessageKind || f.IsList() || f.IsMap() || !m.Has(f) {
			continue
		}
		sub := m.Get(f).Message()
		if f.Name() == "payment" {
			return cmp.Or(stringField(sub, "id"), paymentID), cmp.Or(stringField(sub, "merchant_payment_id"), merchantID)
		}
		if paymentID == "" {
			paymentID = stringField(sub, "payment_id")
		}
	}
	return paymentID, merchantID
}

func stringField(m protoreflect.Message, name protoreflect.Name) string {
	f := m.Descriptor().Fields().ByName(name)
	if f == nil || f.Kind() != protoreflect.StringKind || f.IsList() {
		return ""
	}
	return m.Get(f).String()
}

// ---- capture in the policy chain --------------------------------------------

// Headers the REST gateway adds to its hop so the log can show the verb and
// path the client used. Believed only on the gateway hop; a client cannot
// send them through the gateway (incomingHeader drops them).
const (
	restMethodHeader = "x-paymux-rest-method"
	restPathHeader   = "x-paymux-rest-path"
)

// captureCall queues the record of one API call; the chain's accesslog step
// calls it with the final result.
func (s *Server) captureCall(ctx context.Context, req connect.AnyRequest, res connect.AnyResponse, err error, at time.Time, latency time.Duration, surface, code string) {
	if s.calls == nil {
		return
	}
	c := callFrom(ctx)
	r := &pendingLog{
		kind:      logrecord.KindAPI,
		at:        at,
		storeID:   cmp.Or(c.Principal.StoreID(), c.ActingStoreID),
		requestID: c.RequestID,
		surface:   surface,
		method:    req.Spec().Procedure,
		code:      code,
		keyID:     keyIDOf(c.Principal),
		clientIP:  displayIP(c.ClientIP),
		latency:   latency,
		headers:   req.Header(),
		viaREST:   c.ViaGateway,
	}
	if k := c.Principal.Key; k != nil {
		r.mode = string(k.Mode)
	}
	if c.ViaGateway {
		r.httpMethod = req.Header().Get(restMethodHeader)
		r.path = req.Header().Get(restPathHeader)
	}
	if m, ok := req.Any().(proto.Message); ok {
		r.reqMsg = m
	}
	if err != nil {
		r.errCode = errorCode(err)
		r.reason = errorReason(err)
		var ce *connect.Error
		if errors.As(err, &ce) {
			r.message = ce.Message()
			r.errDetails = ce.Details()
		} else {
			r.message = err.Error()
		}
		if c.ViaGateway {
			r.httpStatus = runtime.HTTPStatusFromCode(codes.Code(r.errCode))
		}
	} else {
		if res != nil {
			if m, ok := res.Any().(proto.Message); ok {
				r.resMsg = m
			}
		}
		if c.ViaGateway {
			r.httpStatus = http.StatusOK
		}
	}
	s.calls.add(r)
}

// captureRESTRefusal records a REST call the gateway answered itself. Nobody
// was identified yet, so the record belongs to no store: the administrator
// sees it.
func (s *Server) captureRESTRefusal(r *http.Request, procedure string, err *connect.Error, httpStatus int, requestID string) {
	if s.calls == nil {
		return
	}
	peer, _ := clientip.ParsePeer(r.RemoteAddr)
	ip := s.resolver.Resolve(peer, r.Header.Values("X-Forwarded-For"), false)
	s.calls.add(&pendingLog{
		kind:       logrecord.KindAPI,
		at:         s.clock(),
		requestID:  requestID,
		surface:    "rest",
		method:     cmp.Or(procedure, r.Method+" "+r.URL.Path),
		httpMethod: r.Method,
		path:       r.URL.RequestURI(),
		code:       strings.ToUpper(err.Code().String()),
		httpStatus: httpStatus,
		reason:     errorReason(err),
		message:    err.Message(),
		clientIP:   displayIP(ip),
		headers:    r.Header,
		errCode:    err.Code(),
		errDetails: err.Details(),
	})
}
