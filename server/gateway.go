package server

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/textproto"
	"slices"
	"strings"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"

	"github.com/paymux/paymux/apierr"
	"github.com/paymux/paymux/clientip"
	paymuxv1 "github.com/paymux/paymux/gen/paymux/v1"

	"connectrpc.com/connect"
)

// gatewayHop carries REST calls into the Connect handlers. grpc-gateway
// translates REST/JSON into gRPC on a grpc-go client connection that dials
// the same Connect mux through an in-memory listener, so REST calls pass the
// same policy chain as every other surface. (Registering the gateway with
// the server-side handlers would skip every interceptor.)
type gatewayHop struct {
	listener *bufconn.Listener
	server   *http.Server
	conn     *grpc.ClientConn
	mux      *runtime.ServeMux
	maxBytes int64
	// refused is told of every REST call the gateway answers itself (a body
	// that is not JSON, no such path, too large), which never reaches the
	// chain, so that the call log has them too.
	refused func(r *http.Request, procedure string, err *connect.Error, httpStatus int, requestID string)
}

func newGatewayHop(api http.Handler, maxBytes int64, log *slog.Logger) (*gatewayHop, error) {
	g := &gatewayHop{listener: bufconn.Listen(1 << 20), maxBytes: maxBytes}
	var protocols http.Protocols
	protocols.SetUnencryptedHTTP2(true)
	g.server = &http.Server{
		Handler:   api,
		Protocols: &protocols,
		// Connections on this listener come only from the gateway, whose
		// X-Forwarded-For the client-IP step may believe.
		ConnContext: func(ctx context.Context, _ net.Conn) context.Context {
			return context.WithValue(ctx, gatewayHopKey{}, true)
		},
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	go func() { _ = g.server.Serve(g.listener) }()

	conn, err := grpc.NewClient("passthrough:///paymux-gateway-hop",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return g.listener.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(16<<20), grpc.MaxCallSendMsgSize(int(maxBytes)+1024)),
	)
	if err != nil {
		return nil, fmt.Errorf("gateway hop: %w", err)
	}
	g.conn = conn

	g.mux = runtime.NewServeMux(
		runtime.WithMarshalerOption(runtime.MIMEWildcard, &runtime.JSONPb{
			MarshalOptions:   jsonMarshal,
			UnmarshalOptions: jsonUnmarshal,
		}),
		runtime.WithIncomingHeaderMatcher(incomingHeader),
		// The call log shows the verb and path a REST client used.
		runtime.WithMetadata(func(_ context.Context, r *http.Request) metadata.MD {
			return metadata.Pairs(restMethodHeader, r.Method, restPathHeader, r.URL.RequestURI())
		}),
		runtime.WithOutgoingHeaderMatcher(outgoingHeader),
		runtime.WithErrorHandler(g.restError),
		runtime.WithRoutingErrorHandler(g.routingError),
	)
	ctx := context.Background()
	for _, register := range []func(context.Context, *runtime.ServeMux, *grpc.ClientConn) error{
		paymuxv1.RegisterStoreServiceHandler,
		paymuxv1.RegisterKeyServiceHandler,
		paymuxv1.RegisterIPRuleServiceHandler,
		paymuxv1.RegisterChannelServiceHandler,
		paymuxv1.RegisterPaymentServiceHandler,
		paymuxv1.RegisterSandboxServiceHandler,
		paymuxv1.RegisterWebhookServiceHandler,
		paymuxv1.RegisterLogServiceHandler,
		paymuxv1.RegisterBillingServiceHandler,
		paymuxv1.RegisterDepositServiceHandler,
		paymuxv1.RegisterConsoleServiceHandler,
	} {
		if err := register(ctx, g.mux, conn); err != nil {
			return nil, fmt.Errorf("gateway: %w", err)
		}
	}
	return g, nil
}

func (g *gatewayHop) close() error {
	err := g.conn.Close()
	if cerr := g.server.Close(); err == nil {
		err = cerr
	}
	return err
}

// restHandler limits the body and cleans X-Forwarded-For before the gateway
// reads the request.
func (g *gatewayHop) restHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > g.maxBytes {
			g.writeRESTError(w, r, toConnect(apierr.New(apierr.CodeResourceExhausted, apierr.ReasonRequestTooLarge,
				"request body of %d bytes exceeds the limit of %d", r.ContentLength, g.maxBytes)), http.StatusRequestEntityTooLarge)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, g.maxBytes)
		// A value gRPC metadata cannot carry would make the gateway drop the
		// header silently. X-Forwarded-For: mask the bad bytes, keeping every
		// entry a proxy appended (dropping the header would make the proxy's
		// own address the client's). Authorization: send a value the chain
		// refuses as malformed, rather than let it look missing.
		if xff := r.Header.Values("X-Forwarded-For"); slices.ContainsFunc(xff, notPrintableASCII) {
			for i, v := range xff {
				xff[i] = clientip.Forwardable(v)
			}
		}
		if slices.ContainsFunc(r.Header.Values("Authorization"), notPrintableASCII) {
			r.Header.Set("Authorization", unforwardableAuthorization)
		}
		g.mux.ServeHTTP(w, r)
	})
}

// unforwardableAuthorization stands in for an Authorization header the
// gateway cannot forward; authheader.Parse refuses it as malformed.
const unforwardableAuthorization = "Bearer (not-printable-ASCII)"

func notPrintableASCII(s string) bool { return clientip.Forwardable(s) != s }

// incomingHeader forwards the REST headers the chain reads (Authorization
// is always forwarded by the gateway itself).
func incomingHeader(key string) (string, bool) {
	switch textproto.CanonicalMIMEHeaderKey(key) {
	case requestIDHeader, idempotencyKeyHeader:
		return strings.ToLower(key), true
	}
	if strings.HasPrefix(strings.ToLower(key), "grpc-metadata-x-paymux-") {
		return "", false // paymux's own hop headers come from the gateway only
	}
	return runtime.DefaultHeaderMatcher(key)
}

func outgoingHeader(key string) (string, bool) {
	if textproto.CanonicalMIMEHeaderKey(key) == requestIDHeader {
		return requestIDHeader, true
	}
	return "", false
}

// restError writes gRPC errors as JSON with the same ErrorInfo reason the
// other surfaces carry; errors raised by the gateway itself (a body that is
// not JSON, an unknown field) get the reason of their code.
func (g *gatewayHop) restError(ctx context.Context, mux *runtime.ServeMux, m runtime.Marshaler, w http.ResponseWriter, r *http.Request, err error) {
	st := status.Convert(err)
	hasInfo := false
	for _, d := range st.Details() {
		if _, ok := d.(*errdetails.ErrorInfo); ok {
			hasInfo = true
		}
	}
	if !hasInfo {
		reason := apierr.ReasonForCode(apierr.Code(st.Code()))
		if withInfo, derr := st.WithDetails(&errdetails.ErrorInfo{Reason: reason, Domain: apierr.Domain}); derr == nil {
			st = withInfo
		}
	}
	if md, ok := runtime.ServerMetadataFromContext(ctx); ok {
		// A failed call answers with trailers only: the id is there.
		ids := append(md.HeaderMD.Get(strings.ToLower(requestIDHeader)), md.TrailerMD.Get(strings.ToLower(requestIDHeader))...)
		if len(ids) > 0 {
			w.Header().Set(requestIDHeader, ids[0])
		}
	}
	if w.Header().Get(requestIDHeader) == "" { // refused by the gateway itself
		id := newRequestID()
		w.Header().Set(requestIDHeader, id)
		if g.refused != nil {
			procedure, _ := runtime.RPCMethod(ctx)
			ce := toConnect(apierr.New(apierr.Code(st.Code()), apierr.ReasonForCode(apierr.Code(st.Code())), "%s", st.Message()))
			g.refused(r, procedure, ce, runtime.HTTPStatusFromCode(st.Code()), id)
		}
	}
	runtime.DefaultHTTPErrorHandler(ctx, mux, m, w, r, st.Err())
}

func (g *gatewayHop) routingError(ctx context.Context, mux *runtime.ServeMux, m runtime.Marshaler, w http.ResponseWriter, r *http.Request, httpStatus int) {
	err := apierr.New(apierr.CodeNotFound, apierr.ReasonNotFound, "no REST method at %s %s", r.Method, r.URL.Path)
	if httpStatus == http.StatusMethodNotAllowed {
		err = apierr.New(apierr.CodeUnimplemented, apierr.ReasonUnimplemented, "method %s not allowed at %s", r.Method, r.URL.Path)
	}
	g.writeRESTError(w, r, toConnect(err), httpStatus)
}

// writeRESTError writes a Connect error in the gateway's JSON error shape,
// for errors answered before the gateway runs.
func (g *gatewayHop) writeRESTError(w http.ResponseWriter, r *http.Request, err *connect.Error, httpStatus int) {
	st := status.New(codes.Code(err.Code()), err.Message())
	for _, d := range err.Details() {
		if v, derr := d.Value(); derr == nil {
			if info, ok := v.(*errdetails.ErrorInfo); ok {
				if withInfo, werr := st.WithDetails(info); werr == nil {
					st = withInfo
				}
			}
		}
	}
	body, merr := jsonMarshal.Marshal(st.Proto())
	if merr != nil {
		body, _ = json.Marshal(map[string]any{"code": int(err.Code()), "message": err.Message()})
	}
	id := newRequestID()
	if g.refused != nil {
		g.refused(r, "", err, httpStatus, id)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set(requestIDHeader, id)
	w.WriteHeader(httpStatus)
	_, _ = w.Write(body)
}

// Loopback is an HTTP client into the API through the gateway hop's
// in-process listener, for the compatibility surfaces (surface/payaction):
// their calls pass the same policy chain as any client's, and the chain
// believes the X-Forwarded-For they set (the caller's address) as it does
// the REST gateway's. Set surfaceHeader to name the surface in the logs.
func (s *Server) Loopback() *http.Client {
	var protocols http.Protocols
	protocols.SetUnencryptedHTTP2(true)
	return &http.Client{Transport: &http.Transport{
		Protocols: &protocols,
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return s.gateway.listener.DialContext(ctx)
		},
	}}
}

// SurfaceHeader names, on a loopback call, the surface it came from
// ("payaction"), for the process log, metrics and call log.
const SurfaceHeader = "X-Paymux-Surface"
