package calllog

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/paymux/paymux/ent"
	"github.com/paymux/paymux/ent/logrecord"
	"github.com/paymux/paymux/redact"
	"github.com/paymux/paymux/tenant"
)

// Calls hand their record to a bounded queue and go on; one writer masks
// the bodies (package redact) and inserts what is waiting in one statement,
// so logging costs a call an allocation and a channel send, not a commit.
// When the queue is full, call_log.overload decides: drop the record and
// count it (paymux_log_records_dropped_total), or make the call wait.

// writeBatch bounds the records one insert writes; linger is how long the
// writer waits for a batch to fill. One insert of many rows costs far less
// per row than many inserts of few (a commit each), above all through
// SQLite's one writer.
const (
	writeBatch = 500
	linger     = 50 * time.Millisecond
)

// Writer is the call log's batched writer, a runner: Add queues records,
// Run writes them until its context ends and then writes what is left. A
// Writer whose Config is not Enabled takes nothing, but still times PG
// calls (WrapProvider) and purges (Purge).
type Writer struct {
	db  *ent.Client
	cfg Config
	now func() time.Time
	log *slog.Logger

	queue chan *Record // nil when disabled
	block bool
	// closing is closed when the writer stops: a blocked Add gives up.
	// closed (under mu) then turns every later Add into a counted drop,
	// so that no record waits in a queue nobody reads.
	closing chan struct{}
	mu      sync.RWMutex
	closed  bool

	written   prometheus.Counter
	dropped   *prometheus.CounterVec
	pgLatency *prometheus.HistogramVec
}

// NewWriter makes the call log's writer and registers its metrics on reg:
// paymux_log_records_written_total, paymux_log_records_dropped_total,
// paymux_log_records_queued and paymux_pg_call_duration_seconds. now is
// the clock (PG calls' times, retention); it starts nothing.
func NewWriter(db *ent.Client, cfg Config, now func() time.Time, log *slog.Logger, reg prometheus.Registerer) (*Writer, error) {
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.Default()
	}
	w := &Writer{
		db:      db,
		cfg:     cfg,
		now:     now,
		log:     log,
		closing: make(chan struct{}),
		block:   cfg.Overload == "block",
	}
	if cfg.Enabled {
		w.queue = make(chan *Record, max(cfg.Buffer, 1))
	}
	w.pgLatency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "paymux_pg_call_duration_seconds",
		Help:    "Calls paymux made to PGs, by provider, operation and result (OK or the error kind).",
		Buckets: []float64{.001, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
	}, []string{"provider", "operation", "code"})
	w.written = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "paymux_log_records_written_total",
		Help: "Call log records (API and PG calls) written.",
	})
	w.dropped = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "paymux_log_records_dropped_total",
		Help: "Call log records not written: overload (the buffer was full and call_log.overload is drop), write_error, closing.",
	}, []string{"reason"})
	for _, reason := range []string{"overload", "write_error", "closing"} {
		w.dropped.WithLabelValues(reason) // shown as 0 until something is dropped
	}
	queued := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "paymux_log_records_queued",
		Help: "Call log records waiting to be written (at most call_log.buffer).",
	}, func() float64 { return float64(len(w.queue)) })
	if reg != nil {
		for _, c := range []prometheus.Collector{w.pgLatency, w.written, w.dropped, queued} {
			if err := reg.Register(c); err != nil {
				return nil, fmt.Errorf("call log metrics: %w", err)
			}
		}
	}
	return w, nil
}

// Enabled reports whether the writer takes records (call_log.enabled). A
// nil Writer is a disabled one.
func (w *Writer) Enabled() bool { return w != nil && w.queue != nil }

// clock is now as paymux stores times: UTC, to the microsecond.
func (w *Writer) clock() time.Time { return w.now().UTC().Truncate(time.Microsecond) }

// Add queues r. A disabled (or nil) writer takes nothing; after the
// writer has stopped, r is counted as dropped (reason closing).
func (w *Writer) Add(r *Record) {
	if !w.Enabled() {
		return
	}
	w.mu.RLock()
	defer w.mu.RUnlock()
	if w.closed {
		w.dropped.WithLabelValues("closing").Inc()
		return
	}
	if w.block {
		select {
		case w.queue <- r:
		case <-w.closing:
			w.dropped.WithLabelValues("closing").Inc()
		}
		return
	}
	select {
	case w.queue <- r:
	default:
		w.dropped.WithLabelValues("overload").Inc()
	}
}

// Run writes queued records until ctx ends, then writes what is left and
// returns nil. Writes are not cut short by ctx: a batch gathered is
// written. Run once.
func (w *Writer) Run(ctx context.Context) error {
	if w.queue == nil {
		<-ctx.Done()
		return nil
	}
	for {
		select {
		case <-ctx.Done():
			w.close()
			return nil
		case r := <-w.queue:
			w.write(w.fill(ctx, r))
		}
	}
}

// close stops taking records and writes what is queued, within a few
// seconds.
func (w *Writer) close() {
	close(w.closing) // blocked adds give up, so the lock below comes free
	w.mu.Lock()
	w.closed = true
	w.mu.Unlock()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case r := <-w.queue:
			w.write(w.collect(r))
		default:
			return
		}
	}
	if n := len(w.queue); n > 0 {
		w.dropped.WithLabelValues("closing").Add(float64(n))
	}
}

// fill gathers a batch: first, and what arrives within linger, up to
// writeBatch.
func (w *Writer) fill(ctx context.Context, first *Record) []*Record {
	batch := []*Record{first}
	t := time.NewTimer(linger)
	defer t.Stop()
	for len(batch) < writeBatch {
		select {
		case r := <-w.queue:
			batch = append(batch, r)
		case <-t.C:
			return batch
		case <-ctx.Done():
			return batch
		}
	}
	return batch
}

// collect takes first and whatever else is waiting now, up to a batch.
func (w *Writer) collect(first *Record) []*Record {
	batch := []*Record{first}
	for len(batch) < writeBatch {
		select {
		case r := <-w.queue:
			batch = append(batch, r)
		default:
			return batch
		}
	}
	return batch
}

// write inserts a batch in one statement.
func (w *Writer) write(batch []*Record) {
	ctx, cancel := context.WithTimeout(tenant.System(context.Background()), 30*time.Second)
	defer cancel()
	creates := make([]*ent.LogRecordCreate, len(batch))
	for i, r := range batch {
		creates[i] = w.build(r)
	}
	if err := w.db.LogRecord.CreateBulk(creates...).Exec(ctx); err != nil {
		w.log.Error("call log: write", "records", len(batch), "error", err)
		w.dropped.WithLabelValues("write_error").Add(float64(len(batch)))
		return
	}
	w.written.Add(float64(len(batch)))
}

// build masks r's bodies and headers and makes its row.
func (w *Writer) build(r *Record) *ent.LogRecordCreate {
	limit := w.cfg.MaxBodyBytes
	var reqBody, resBody []byte
	switch r.Kind {
	case logrecord.KindAPI:
		reqBody = messageJSON(r.Request)
		if r.Response != nil {
			resBody = messageJSON(r.Response)
		} else if r.Code != "OK" && r.Error != nil {
			resBody = messageJSON(r.Error)
		}
		if r.PaymentID == "" || r.MerchantPaymentID == "" {
			pid, mid := paymentIDsOf(r.Method, r.Request, r.Response)
			r.PaymentID = cmp.Or(cmp.Or(r.PaymentID, pid), errorPaymentID(r.Error))
			r.MerchantPaymentID = cmp.Or(r.MerchantPaymentID, mid)
		}
	case logrecord.KindPG:
		reqBody = valueJSON(r.RequestValue)
		resBody = valueJSON(r.ResponseValue)
	}
	reqBody, cutReq := redact.Truncate(redact.JSON(reqBody), limit)
	resBody, cutRes := redact.Truncate(redact.JSON(resBody), limit)
	c := w.db.LogRecord.Create().
		SetStoreID(r.StoreID).
		SetMode(r.Mode).
		SetKind(r.Kind).
		SetCreatedAt(r.At).
		SetRequestID(r.RequestID).
		SetSurface(r.Surface).
		SetMethod(r.Method).
		SetHTTPMethod(r.HTTPMethod).
		SetPath(maskQuery(r.Path)).
		SetOk(r.Code == "OK").
		SetCode(r.Code).
		SetHTTPStatus(r.HTTPStatus).
		SetReason(r.Reason).
		SetMessage(redact.String(r.Message)).
		SetKeyID(r.KeyID).
		SetUserID(r.UserID).
		SetUserEmail(r.UserEmail).
		SetClientIP(r.ClientIP).
		SetPaymentID(r.PaymentID).
		SetMerchantPaymentID(r.MerchantPaymentID).
		SetLatencyUs(r.Latency.Microseconds()).
		SetTruncated(cutReq || cutRes)
	if len(r.Headers) > 0 {
		c.SetRequestHeaders(redact.Headers(loggedHeaders(r.Headers, r.ViaREST)))
	}
	if len(reqBody) > 0 {
		c.SetRequestBody(reqBody)
	}
	if len(resBody) > 0 {
		c.SetResponseBody(resBody)
	}
	return c
}

// Purge deletes records older than call_log.retention, a batch at a time
// so that SQLite's one writer is never held for long. The sweep calls it.
func (w *Writer) Purge(ctx context.Context) error {
	old := w.clock().Add(-w.cfg.Retention)
	for ctx.Err() == nil {
		ids, err := w.db.LogRecord.Query().Where(logrecord.CreatedAtLT(old)).Limit(purgeBatch).IDs(ctx)
		if err != nil || len(ids) == 0 {
			return err
		}
		if _, err := w.db.LogRecord.Delete().Where(logrecord.IDIn(ids...)).Exec(ctx); err != nil {
			return err
		}
		if len(ids) < purgeBatch {
			return nil
		}
	}
	return ctx.Err()
}

// purgeBatch bounds the rows one retention delete removes.
const purgeBatch = 1000

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

// valueJSON is a PG request or result as JSON. The providers' card and
// secret types marshal masked already; the writer masks the JSON again.
func valueJSON(v any) []byte {
	if v == nil {
		return nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return []byte(`{"unloggable":` + quoteJSON(err.Error()) + `}`)
	}
	if string(b) == "null" {
		return nil
	}
	return b
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
			"connect-content-encoding", "grpc-encoding", RESTMethodHeader, RESTPathHeader:
			continue
		}
		out[k] = v
	}
	return out
}

// errorPaymentID is the payment an error names in its ErrorInfo (a
// declined charge's FAILED payment, say).
func errorPaymentID(st *status.Status) string {
	for _, d := range st.GetDetails() {
		if v, err := d.UnmarshalNew(); err == nil {
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
