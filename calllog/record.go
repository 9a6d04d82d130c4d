package calllog

import (
	"context"
	"net/http"
	"time"

	"google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/paymux/paymux/ent/logrecord"
)

// Record is one call waiting to be written. Bodies are kept as the
// messages or values they were and turned into masked JSON by the writer,
// off the call's path; the writer owns a record once it is added.
type Record struct {
	Kind              logrecord.Kind
	At                time.Time // when the call began, on paymux's clock
	StoreID           string    // empty: nobody was identified
	Mode              string    // TEST or LIVE
	RequestID         string
	Surface           string // grpc, grpcweb, connect, rest; a PG call's provider
	Method            string // the procedure, or provider/Operation
	HTTPMethod        string // REST only: the verb and path the client used
	Path              string
	Code              string // OK, an UPPER_SNAKE code, or a PG error's kind
	HTTPStatus        int
	Reason            string
	Message           string
	KeyID             string
	UserID, UserEmail string // a console user's call
	ClientIP          string
	PaymentID         string // found in the messages when empty
	MerchantPaymentID string
	Latency           time.Duration
	Headers           http.Header
	// ViaREST: the headers are the REST gateway hop's, which carry the
	// client's as Grpcgateway-* and add their own.
	ViaREST bool

	// API calls: the request and response messages; for a failed call,
	// the error as REST shows it (its details name the payment a declined
	// charge made, say).
	Request, Response proto.Message
	Error             *status.Status
	// PG calls: the request and result values, JSON-marshalled.
	RequestValue, ResponseValue any
}

// Headers the REST gateway adds to its hop so the log can show the verb
// and path the client used. They are read into Record.HTTPMethod and
// Record.Path and never stored as headers.
const (
	RESTMethodHeader = "x-paymux-rest-method"
	RESTPathHeader   = "x-paymux-rest-path"
)

type requestIDKey struct{}

// WithRequestID returns ctx carrying id, the request id of the API call or
// background job it serves: the PG calls made under it are recorded with
// it, which links them to their cause.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, id)
}

// RequestID is the request id ctx carries, or "".
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}
