package calllog

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/paymux/paymux/ent"
	"github.com/paymux/paymux/ent/logrecord"
	paymuxv1 "github.com/paymux/paymux/gen/paymux/v1"
	"github.com/paymux/paymux/internal/testdb"
	"github.com/paymux/paymux/providers"
	"github.com/paymux/paymux/providers/sandbox"
	"github.com/paymux/paymux/redact"
	"github.com/paymux/paymux/tenant"
)

// Internal tests of the call log's writer: what build stores of a call
// (never a full card number) and what Add does when the queue is full.
// Helpers are prefixed "lg".

// lgConfig is call_log's default configuration.
var lgConfig = Config{Enabled: true, Retention: 720 * time.Hour, MaxBodyBytes: 16 << 10, Buffer: 10000, Overload: "drop"}

// lgEnv is a writer on a migrated SQLite database, with its metrics.
type lgEnv struct {
	db  *ent.Client
	w   *Writer
	reg *prometheus.Registry
}

// lgWriter is a writer with call_log's defaults as configure leaves them,
// on a new SQLite database, with a registry of its own.
func lgWriter(tb testing.TB, configure ...func(*Config)) *lgEnv {
	tb.Helper()
	e := &lgEnv{db: testdb.SQLite(tb)}
	cfg := lgConfig
	for _, f := range configure {
		f(&cfg)
	}
	e.renew(tb, cfg)
	return e
}

// renew gives e a new writer with cfg on the same database, and a new
// registry for its metrics.
func (e *lgEnv) renew(tb testing.TB, cfg Config) *Writer {
	tb.Helper()
	e.reg = prometheus.NewRegistry()
	w, err := NewWriter(e.db, cfg, time.Now, slog.New(slog.NewTextHandler(io.Discard, nil)), e.reg)
	if err != nil {
		tb.Fatal(err)
	}
	e.w = w
	return w
}

// lgMetric reads a sample of a metric family from the writer's registry,
// as /metrics would show it: the one whose labels include every pair of
// labels (name, value, ...). ok is false when there is no such sample.
func lgMetric(tb testing.TB, e *lgEnv, family string, labels ...string) (v float64, ok bool) {
	tb.Helper()
	families, err := e.reg.Gather()
	if err != nil {
		tb.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != family {
			continue
		}
	samples:
		for _, m := range f.GetMetric() {
			for i := 0; i+1 < len(labels); i += 2 {
				found := false
				for _, l := range m.GetLabel() {
					if l.GetName() == labels[i] && l.GetValue() == labels[i+1] {
						found = true
					}
				}
				if !found {
					continue samples
				}
			}
			switch {
			case m.GetCounter() != nil:
				return m.GetCounter().GetValue(), true
			case m.GetGauge() != nil:
				return m.GetGauge().GetValue(), true
			}
		}
	}
	return 0, false
}

// lgDropped is paymux_log_records_dropped_total{reason}.
func lgDropped(tb testing.TB, e *lgEnv, reason string) float64 {
	tb.Helper()
	v, _ := lgMetric(tb, e, "paymux_log_records_dropped_total", "reason", reason)
	return v
}

// ---- card numbers never stored ---------------------------------------------

// lgLuhn is the Luhn check, written here independently of package redact.
func lgLuhn(d string) bool {
	sum := 0
	for i := range len(d) {
		v := int(d[len(d)-1-i] - '0')
		if i%2 == 1 {
			v *= 2
			if v > 9 {
				v -= 9
			}
		}
		sum += v
	}
	return sum%10 == 0
}

// lgCard derives a Luhn-valid card number of 13 to 19 digits, not starting
// with 0, from fuzz input: digits of seed are kept (so a seed that is a
// card number of the chosen length gives that number), other bytes become
// digits; the last digit is the check digit.
func lgCard(seed []byte, length uint8) string {
	n := 13 + int(length%7)
	d := make([]byte, n)
	for i := range n - 1 {
		b := byte('4')
		if len(seed) > 0 {
			b = seed[i%len(seed)]
			if b < '0' || b > '9' {
				b = '0' + (b^byte(i*37))%10
			}
		}
		d[i] = b
	}
	if d[0] == '0' {
		d[0] = '4'
	}
	for c := byte('0'); c <= '9'; c++ {
		d[n-1] = c
		if lgLuhn(string(d)) {
			break
		}
	}
	return string(d)
}

// lgGrouped writes d in groups of 4 separated by sep (the last group takes
// the rest).
func lgGrouped(d, sep string) string {
	var parts []string
	for len(d) > 4 {
		parts = append(parts, d[:4])
		d = d[4:]
	}
	return strings.Join(append(parts, d), sep)
}

// lgCardForms are the spellings of card that must never be stored.
func lgCardForms(card string) []string {
	return []string{card, lgGrouped(card, " "), lgGrouped(card, "-"), lgGrouped(card, "+"), lgGrouped(card, "%20"), lgGrouped(card, "%2B")}
}

// lgText makes filler text that cannot run into a card number: valid
// UTF-8, without digits or the separators a grouped number is written
// with.
func lgText(s string) string {
	s = strings.ToValidUTF8(s, "?")
	s = strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' || r == '-' || r == '+' || r == '%' || r == '.' || r == ',' {
			return 'x'
		}
		return r
	}, s)
	if len(s) > 60 {
		s = s[:60]
	}
	return s
}

// lgPlacements are the ways a card number is written into a value.
func lgPlacements(card, filler string) []string {
	return []string{
		card,
		filler + " " + card + " " + filler,
		"카드 " + lgGrouped(card, " ") + " / " + filler,
		filler + ": " + lgGrouped(card, "-"),
	}
}

// lgSlot sets one string somewhere in a message.
type lgSlot struct {
	path string
	set  func(m protoreflect.Message, v string)
}

// lgSlots lists every string position of md, through singular, repeated
// and map fields, messages included, down to depth levels.
func lgSlots(md protoreflect.MessageDescriptor, depth int) []lgSlot {
	var slots []lgSlot
	fields := md.Fields()
	for i := range fields.Len() {
		f := fields.Get(i)
		name := string(f.Name())
		switch {
		case f.IsMap():
			if f.MapKey().Kind() == protoreflect.StringKind && f.MapValue().Kind() == protoreflect.StringKind {
				slots = append(slots,
					lgSlot{name + "[key]", func(m protoreflect.Message, v string) {
						m.Mutable(f).Map().Set(protoreflect.ValueOfString(v).MapKey(), protoreflect.ValueOfString("x"))
					}},
					lgSlot{name + "[value]", func(m protoreflect.Message, v string) {
						m.Mutable(f).Map().Set(protoreflect.ValueOfString("note").MapKey(), protoreflect.ValueOfString(v))
					}})
			}
		case f.IsList() && f.Kind() == protoreflect.StringKind:
			slots = append(slots, lgSlot{name + "[]", func(m protoreflect.Message, v string) {
				m.Mutable(f).List().Append(protoreflect.ValueOfString(v))
			}})
		case f.IsList() && f.Kind() == protoreflect.MessageKind && depth > 0:
			for _, sub := range lgSlots(f.Message(), depth-1) {
				slots = append(slots, lgSlot{name + "[]." + sub.path, func(m protoreflect.Message, v string) {
					l := m.Mutable(f).List()
					e := l.NewElement()
					sub.set(e.Message(), v)
					l.Append(e)
				}})
			}
		case f.IsList():
		case f.Kind() == protoreflect.StringKind:
			slots = append(slots, lgSlot{name, func(m protoreflect.Message, v string) { m.Set(f, protoreflect.ValueOfString(v)) }})
		case f.Kind() == protoreflect.MessageKind && depth > 0:
			for _, sub := range lgSlots(f.Message(), depth-1) {
				slots = append(slots, lgSlot{name + "." + sub.path, func(m protoreflect.Message, v string) { sub.set(m.Mutable(f).Message(), v) }})
			}
		}
	}
	return slots
}

// lgStored is what build makes of a record, as it would be stored.
func lgStored(c *ent.LogRecordCreate) map[string]string {
	m := c.Mutation()
	req, _ := m.RequestBody()
	res, _ := m.ResponseBody()
	msg, _ := m.Message()
	path, _ := m.Path()
	var hs []string
	if h, ok := m.RequestHeaders(); ok {
		for k, v := range h {
			hs = append(hs, k+": "+v)
		}
	}
	return map[string]string{"request_body": string(req), "response_body": string(res), "message": msg, "path": path, "headers": strings.Join(hs, "\n")}
}

// lgNoCard fails if a stored column holds a spelling of card.
func lgNoCard(t *testing.T, what, card string, stored map[string]string) {
	t.Helper()
	for col, v := range stored {
		for _, form := range lgCardForms(card) {
			if strings.Contains(v, form) {
				t.Fatalf("%s: %s stores %q:\n%s", what, col, form, v)
			}
		}
	}
}

// lgAPIRecord is an API call's record with the given messages.
func lgAPIRecord(req, res proto.Message) *Record {
	return &Record{
		Kind: logrecord.KindAPI, At: time.Now(), StoreID: "st_lg", Mode: "TEST", RequestID: "req_lg", Surface: "connect",
		Method: "/paymux.v1.PaymentService/CreateInstantPayment", Code: "OK", Request: req, Response: res,
	}
}

// lgSeedCards are the sandbox's test cards and well-known test numbers of
// other BINs and lengths.
var lgSeedCards = []string{
	sandbox.CardSuccess, sandbox.CardInsufficientFunds, sandbox.CardLostOrStolen, sandbox.CardLimitExceeded,
	sandbox.CardNoInstallment, sandbox.CardTimeoutCharged, sandbox.CardTimeoutNotCharged, sandbox.CardBillingDeclines,
	"4111111111111111",    // Visa
	"4222222222222",       // Visa, 13 digits
	"5555555555554444",    // Mastercard
	"378282246310005",     // American Express, 15
	"36227206271667",      // Diners, 14
	"6011111111111117",    // Discover
	"3530111333300000",    // JCB
	"6200000000000005",    // UnionPay
	"6250941006528599",    // UnionPay
	"4000000000000000006", // 19 digits
}

// FuzzCallLogMasksCards writes a Luhn-valid card number (13 to 19 digits,
// derived from the input), alone, in text, and grouped with spaces or
// dashes, into every string position of a CreateInstantPayment request
// and response, into an error's message and details, into a REST query
// and into headers, and into a PG call's request and result; build never
// stores it in a body, the message, the path or the headers. The BIN and
// last 4 may stay, and do for the card number's own field.
func FuzzCallLogMasksCards(f *testing.F) {
	for i, c := range lgSeedCards {
		f.Add([]byte(c), uint8(len(c)-13), []string{"order", "결제", `"quoted" \ back`, "cvc=", ""}[i%5])
	}
	f.Add([]byte{0xff, 0x00, 0x7f}, uint8(6), "phone=")
	f.Add([]byte("x"), uint8(1), "number:")
	l := lgWriter(f).w
	reqSlots := lgSlots((&paymuxv1.CreateInstantPaymentRequest{}).ProtoReflect().Descriptor(), 3)
	resSlots := lgSlots((&paymuxv1.CreateInstantPaymentResponse{}).ProtoReflect().Descriptor(), 4)
	if len(reqSlots) < 10 || len(resSlots) < 20 {
		f.Fatalf("%d request and %d response positions: the walk misses fields", len(reqSlots), len(resSlots))
	}

	f.Fuzz(func(t *testing.T, seed []byte, length uint8, filler string) {
		card := lgCard(seed, length)
		if !lgLuhn(card) || len(card) < 13 || len(card) > 19 {
			t.Fatalf("lgCard made %q", card)
		}
		text := lgText(filler)
		values := lgPlacements(card, text)

		// Every position of the request and of the response.
		for i, v := range values {
			for _, slot := range reqSlots {
				req := &paymuxv1.CreateInstantPaymentRequest{}
				slot.set(req.ProtoReflect(), v)
				got := lgStored(l.build(lgAPIRecord(req, nil)))
				lgNoCard(t, "request "+slot.path, card, got)
				if slot.path == "card.number" && i == 0 &&
					(!strings.Contains(got["request_body"], card[:6]) || !strings.Contains(got["request_body"], card[len(card)-4:])) {
					t.Fatalf("the card number lost its BIN and last 4: %s", got["request_body"])
				}
			}
			for _, slot := range resSlots {
				res := &paymuxv1.CreateInstantPaymentResponse{}
				slot.set(res.ProtoReflect(), v)
				lgNoCard(t, "response "+slot.path, card, lgStored(l.build(lgAPIRecord(&paymuxv1.CreateInstantPaymentRequest{}, res))))
			}
		}

		// An error: its message and its details.
		for _, v := range values {
			r := lgAPIRecord(&paymuxv1.CreateInstantPaymentRequest{MerchantPaymentId: "lg-1"}, nil)
			r.Code, r.Reason, r.Message = "FAILED_PRECONDITION", "PG_PROVIDER", "the PG refused card "+v
			r.Error = &status.Status{Code: 9, Message: r.Message} // FAILED_PRECONDITION
			for _, d := range []proto.Message{
				&errdetails.ErrorInfo{Reason: "PG_PROVIDER", Domain: "paymux", Metadata: map[string]string{"pg_message": v, "card": card}},
				&errdetails.BadRequest{FieldViolations: []*errdetails.BadRequest_FieldViolation{{Field: "card.number", Description: v + " is not accepted"}}},
				&errdetails.LocalizedMessage{Locale: "ko-KR", Message: v},
			} {
				detail, err := anypb.New(d)
				if err != nil {
					t.Fatal(err)
				}
				r.Error.Details = append(r.Error.Details, detail)
			}
			lgNoCard(t, "error", card, lgStored(l.build(r)))
		}

		// A REST call: its query and headers (the client's and, on the
		// gateway hop, the gateway's copies of them).
		for _, v := range values {
			for _, viaREST := range []bool{false, true} {
				r := lgAPIRecord(&paymuxv1.CreateInstantPaymentRequest{}, nil)
				r.Surface, r.HTTPMethod, r.ViaREST = "rest", http.MethodGet, viaREST
				r.Path = "/v1/payments?" + url.Values{"query": {v}, "cardNumber": {card}, "note": {text}}.Encode() + "&raw=" + v
				r.Headers = http.Header{
					"X-Note": {v}, "X-Card-Number": {card}, "Authorization": {"Basic " + card},
					"Grpcgateway-X-Order": {v}, "Grpcgateway-Referer": {"https://shop.example/pay?card=" + card},
				}
				lgNoCard(t, "REST call", card, lgStored(l.build(r)))
			}
		}

		// A PG call: the key-in request (the providers' types mask the
		// number themselves) and a result where a PG sent the number back
		// unmasked, and a PG error naming it.
		for _, v := range values {
			r := &Record{
				Kind: logrecord.KindPG, At: time.Now(), StoreID: "st_lg", Mode: "TEST", RequestID: "req_lg", Surface: "sandbox",
				Method: "sandbox/ChargeKeyIn", Code: "DECLINED", Reason: "SB_51", Message: "card " + v + " declined",
				RequestValue: providers.KeyInRequest{
					OrderID: "pay_lg", OrderName: v, Amount: providers.Amount{Total: 1000},
					Card: providers.CardData{
						Number: providers.NewCardNumber(lgGrouped(card, "-")), ExpiryYear: 2030, ExpiryMonth: 12,
						OwnerID: providers.NewRedacted("900101"), Password2: providers.NewRedacted("12"),
					},
					Buyer: providers.Buyer{Name: v, Email: text + "@example.com", Phone: v},
				},
				ResponseValue: &providers.Payment{
					OrderID: "pay_lg", OrderName: v, ReceiptURL: "https://pg.example/receipt?card=" + card,
					Card:    &providers.CardInfo{Number: card, ApprovalNumber: v},
					Failure: &providers.Error{Kind: providers.KindDeclined, Code: "SB_51", Message: v},
				},
			}
			got := lgStored(l.build(r))
			lgNoCard(t, "PG call", card, got)
			for _, secret := range []string{`"900101"`, `"12"`} {
				if strings.Contains(got["request_body"], secret) {
					t.Fatalf("PG request stores %s: %s", secret, got["request_body"])
				}
			}
			if !strings.Contains(got["request_body"], card[:6]) || !strings.Contains(got["request_body"], card[len(card)-4:]) {
				t.Fatalf("the PG request lost the BIN and last 4: %s", got["request_body"])
			}
		}
		// And the masking of a PG value alone, as valueJSON and redact give it.
		lgNoCard(t, "valueJSON", card, map[string]string{"value": string(redact.JSON(valueJSON(providers.KeyInRequest{
			OrderName: text + " " + card, Card: providers.CardData{Number: providers.NewCardNumber(card)},
		})))})
	})
}

// TestCallLogBuildStoresTheCall: build keeps what a record is about (the
// call's fields, the payment ids from the messages, masked bodies) and
// the records it makes can be written.
func TestCallLogBuildStoresTheCall(t *testing.T) {
	e := lgWriter(t)
	l := e.w
	ctx := tenant.System(context.Background())
	req := &paymuxv1.CreateInstantPaymentRequest{
		MerchantPaymentId: "lg-order-1", OrderName: "lg order", Amount: &paymuxv1.Amount{Total: 1000},
		Method: &paymuxv1.CreateInstantPaymentRequest_Card{Card: &paymuxv1.CardInput{
			Number: sandbox.CardSuccess, ExpiryYear: 2030, ExpiryMonth: 12, BirthOrBusinessNumber: "900101", PasswordTwoDigits: "12",
		}},
	}
	res := &paymuxv1.CreateInstantPaymentResponse{Payment: &paymuxv1.Payment{Id: "pay_lg1", MerchantPaymentId: "lg-order-1"}}
	r := lgAPIRecord(req, res)
	r.Latency, r.KeyID, r.ClientIP = 1500*time.Microsecond, "key_lg", "192.0.2.1"
	r.Headers = http.Header{"Authorization": {"Basic c2VjcmV0OnNlY3JldA=="}, "Content-Length": {"12"}, "X-Request-Id": {"req_lg"}}
	c := l.build(r)
	m := c.Mutation()
	pid, _ := m.PaymentID()
	mid, _ := m.MerchantPaymentID()
	body, _ := m.RequestBody()
	h, _ := m.RequestHeaders()
	if pid != "pay_lg1" || mid != "lg-order-1" {
		t.Errorf("payment %q, order %q", pid, mid)
	}
	for _, secret := range []string{sandbox.CardSuccess, `"900101"`, `"12"`} {
		if strings.Contains(string(body), secret) {
			t.Errorf("request body stores %s: %s", secret, body)
		}
	}
	if !strings.Contains(string(body), "941000") || !strings.Contains(string(body), "lg order") {
		t.Errorf("request body %s", body)
	}
	if h["Authorization"] != "Basic [REDACTED]" || h["X-Request-Id"] != "req_lg" || h["Content-Length"] != "" {
		t.Errorf("headers %v", h)
	}
	if err := e.db.LogRecord.CreateBulk(c).Exec(ctx); err != nil {
		t.Fatal(err)
	}
	row, err := e.db.LogRecord.Query().Only(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if row.RequestID != "req_lg" || row.KeyID != "key_lg" || row.ClientIP != "192.0.2.1" || row.LatencyUs != 1500 || !row.Ok ||
		row.Code != "OK" || row.Kind != logrecord.KindAPI || row.Truncated || string(row.RequestBody) != string(body) {
		t.Errorf("stored %+v", row)
	}

	// A body over call_log.max_body_bytes is cut, after masking, and says so.
	l.cfg.MaxBodyBytes = 256
	req.OrderName = strings.Repeat("긴 주문 ", 100)
	c = l.build(lgAPIRecord(req, nil))
	body, _ = c.Mutation().RequestBody()
	cut, _ := c.Mutation().Truncated()
	if len(body) > 256 || !cut || strings.Contains(string(body), sandbox.CardSuccess) {
		t.Errorf("cut body of %d bytes (truncated %v): %s", len(body), cut, body)
	}
}

// ---- overload ---------------------------------------------------------------

// TestCallLogOverloadDrop: with overload "drop", a full queue drops what
// does not fit and counts it under reason overload; the call never waits;
// once the writer takes a record there is room again.
func TestCallLogOverloadDrop(t *testing.T) {
	s := lgWriter(t, func(c *Config) { c.Buffer, c.Overload = 2, "drop" })
	l := s.w
	if !l.Enabled() || l.block {
		t.Fatalf("call log %+v, want a dropping one", l)
	}
	if v, ok := lgMetric(t, s, "paymux_log_records_dropped_total", "reason", "overload"); !ok || v != 0 {
		t.Errorf("dropped{overload} before any drop: %v (shown %v), want 0 shown", v, ok)
	}
	records := make([]*Record, 5)
	done := make(chan struct{})
	go func() {
		for i := range records {
			records[i] = lgAPIRecord(nil, nil)
			l.Add(records[i])
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("add blocked with overload drop")
	}
	if got := lgDropped(t, s, "overload"); got != 3 {
		t.Errorf("dropped{overload} = %v, want 3", got)
	}
	if v, _ := lgMetric(t, s, "paymux_log_records_queued"); v != 2 || len(l.queue) != 2 {
		t.Errorf("queued %v (queue %d), want 2", v, len(l.queue))
	}
	// The first two are kept, in order.
	if a, b := <-l.queue, <-l.queue; a != records[0] || b != records[1] {
		t.Error("the queue does not hold the first records")
	}
	l.Add(records[4])
	if len(l.queue) != 1 || lgDropped(t, s, "overload") != 3 {
		t.Errorf("with room again: queue %d, dropped %v", len(l.queue), lgDropped(t, s, "overload"))
	}
	if got := lgDropped(t, s, "closing"); got != 0 {
		t.Errorf("dropped{closing} = %v", got)
	}
	// A disabled call log takes nothing and does not panic.
	var off *Writer
	off.Add(records[0])
	off = s.renew(t, Config{Enabled: false, Buffer: 2, Overload: "drop"})
	off.Add(records[0])
	if v, _ := lgMetric(t, s, "paymux_log_records_queued"); v != 0 || lgDropped(t, s, "overload") != 0 {
		t.Errorf("a disabled call log took a record: queued %v, dropped %v", v, lgDropped(t, s, "overload"))
	}
}

// TestCallLogOverloadBlock: with overload "block", a call waits for room
// rather than lose its record, and stops waiting (counting the record
// under reason closing) when the server shuts down.
func TestCallLogOverloadBlock(t *testing.T) {
	s := lgWriter(t, func(c *Config) { c.Buffer, c.Overload = 1, "block" })
	l := s.w
	if !l.Enabled() || !l.block {
		t.Fatalf("call log %+v, want a blocking one", l)
	}
	first, second, third := lgAPIRecord(nil, nil), lgAPIRecord(nil, nil), lgAPIRecord(nil, nil)
	l.Add(first)
	added := make(chan struct{})
	go func() {
		l.Add(second)
		close(added)
	}()
	select {
	case <-added:
		t.Fatal("add did not wait for room")
	case <-time.After(50 * time.Millisecond):
	}
	if got := <-l.queue; got != first {
		t.Fatal("the queue does not start with the first record")
	}
	select {
	case <-added:
	case <-time.After(5 * time.Second):
		t.Fatal("add still waits with room in the queue")
	}
	if len(l.queue) != 1 || <-l.queue != second {
		t.Fatal("the waiting record is not queued")
	}
	l.Add(first) // full again

	unblocked := make(chan struct{})
	go func() {
		l.Add(third)
		close(unblocked)
	}()
	select {
	case <-unblocked:
		t.Fatal("add did not wait for room")
	case <-time.After(20 * time.Millisecond):
	}
	close(l.closing)
	select {
	case <-unblocked:
	case <-time.After(5 * time.Second):
		t.Fatal("add still waits after the call log closed")
	}
	if got := lgDropped(t, s, "closing"); got != 1 {
		t.Errorf("dropped{closing} = %v, want 1", got)
	}
	if got := lgDropped(t, s, "overload"); got != 0 {
		t.Errorf("dropped{overload} = %v, want 0 in block mode", got)
	}
	if len(l.queue) != 1 {
		t.Errorf("queue %d, want the one record queued before closing", len(l.queue))
	}
}

// lgCount is how many call log records are stored.
func lgCount(t testing.TB, s *lgEnv) int {
	t.Helper()
	n, err := s.db.LogRecord.Query().Count(tenant.System(context.Background()))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// lgWaitCount waits until n records are stored.
func lgWaitCount(t testing.TB, s *lgEnv, n int) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); lgCount(t, s) < n; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d records written", lgCount(t, s), n)
		}
	}
}

// lgRun runs l's writer until the returned stop is called; stop waits for
// it to return.
func lgRun(t testing.TB, l *Writer, ctx context.Context) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(ctx)
	stopped := make(chan struct{})
	go func() {
		if err := l.Run(ctx); err != nil {
			t.Errorf("Run: %v", err)
		}
		close(stopped)
	}()
	return func() {
		cancel()
		select {
		case <-stopped:
		case <-time.After(10 * time.Second):
			t.Fatal("the writer did not stop")
		}
	}
}

// TestCallLogRunWrites: the writer writes what is queued, in batches, and
// counts it.
func TestCallLogRunWrites(t *testing.T) {
	s := lgWriter(t, func(c *Config) { c.Buffer = 1000 })
	l := s.w
	stop := lgRun(t, l, context.Background())
	for range 3 {
		l.Add(lgAPIRecord(&paymuxv1.GetPaymentRequest{Id: "pay_lg"}, nil))
	}
	lgWaitCount(t, s, 3)
	for range writeBatch + 20 { // more than one batch at once
		l.queue <- lgAPIRecord(nil, nil)
	}
	lgWaitCount(t, s, writeBatch+23)
	stop()
	if n := lgCount(t, s); n != writeBatch+23 {
		t.Errorf("%d records written, want %d", n, writeBatch+23)
	}
	if v, _ := lgMetric(t, s, "paymux_log_records_written_total"); v != writeBatch+23 {
		t.Errorf("written_total %v, want %d", v, writeBatch+23)
	}
	for _, reason := range []string{"overload", "write_error", "closing"} {
		if v := lgDropped(t, s, reason); v != 0 {
			t.Errorf("dropped{%s} = %v", reason, v)
		}
	}
}

// TestCallLogShutdownWritesQueued: what is queued when the server stops is
// written before the writer returns (run: "then writes what is left"),
// not lost to the stop itself: neither the batch the writer is gathering
// as the server stops, nor records waiting when the writer sees the stop
// (tried a few times, since the writer may see the stop or the queue
// first).
func TestCallLogShutdownWritesQueued(t *testing.T) {
	s := lgWriter(t, func(c *Config) { c.Buffer = 1000 })
	// Records arrive, and the server stops while the writer gathers them.
	l := s.w
	stop := lgRun(t, l, context.Background())
	for range 200 {
		l.Add(lgAPIRecord(nil, nil))
	}
	stop()
	want := 200
	if n := lgCount(t, s); n != want {
		t.Errorf("stopped while gathering: %d records written, want %d (dropped as write_error: %v)", n, want, lgDropped(t, s, "write_error"))
	}

	// Records waiting as the writer starts with the stop under way.
	stopped, cancel := context.WithCancel(context.Background())
	cancel()
	for trial := range 8 {
		want = lgCount(t, s) + 10
		l := s.renew(t, lgConfig)
		for range 10 {
			l.Add(lgAPIRecord(nil, nil))
		}
		if err := l.Run(stopped); err != nil {
			t.Fatal(err)
		}
		if n := lgCount(t, s); n != want {
			t.Fatalf("trial %d: %d records written, want %d (dropped as write_error so far: %v)", trial, n, want, lgDropped(t, s, "write_error"))
		}
	}
}

// TestCallLogNoSilentLossAfterClose: once the writer has stopped, a record
// still added (a background job's PG call finishing during shutdown) is
// counted as dropped (reason closing) in either overload mode, never put
// in a queue nobody reads.
func TestCallLogNoSilentLossAfterClose(t *testing.T) {
	for _, mode := range []string{"block", "drop"} {
		t.Run(mode, func(t *testing.T) {
			s := lgWriter(t, func(c *Config) { c.Buffer, c.Overload = 100, mode })
			l := s.w
			stop := lgRun(t, l, context.Background())
			stop()
			const n = 20
			for range n {
				l.Add(lgAPIRecord(nil, nil))
			}
			written, _ := lgMetric(t, s, "paymux_log_records_written_total")
			dropped := lgDropped(t, s, "closing") + lgDropped(t, s, "overload") + lgDropped(t, s, "write_error")
			if written+dropped != n {
				t.Errorf("%d records added after the writer stopped: %v written, %v counted as dropped, %d left in the queue uncounted",
					n, written, dropped, len(l.queue))
			}
		})
	}
}
