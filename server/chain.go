package server

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"regexp"
	"runtime/debug"
	"strings"
	"time"

	"buf.build/go/protovalidate"
	"connectrpc.com/connect"
	"google.golang.org/protobuf/proto"

	"github.com/paymux/paymux/account"
	"github.com/paymux/paymux/apierr"
	"github.com/paymux/paymux/calllog"
	"github.com/paymux/paymux/clientip"
	"github.com/paymux/paymux/console"
	"github.com/paymux/paymux/database"
	"github.com/paymux/paymux/ent"
	"github.com/paymux/paymux/ent/privacy"
	"github.com/paymux/paymux/iprule"
	"github.com/paymux/paymux/secrets"
	"github.com/paymux/paymux/tenant"
)

// step is one named link of the policy chain.
type step struct {
	name string
	wrap func(connect.UnaryFunc) connect.UnaryFunc
}

// policyChain is the one chain every paymux method runs behind, on every
// surface (gRPC, gRPC-Web, Connect, and REST through the gateway hop).
// Outermost first:
//
//  1. recover: a panic becomes Internal; every call gets a request id.
//  2. accesslog: one process log line per call, with the final code. It sits
//     outside the error mapping so it sees what the client sees, and outside
//     authentication so refused calls are logged too.
//  3. errors: domain and library errors become codes with ErrorInfo reasons;
//     internal errors are masked. Outside every check below, so their
//     refusals carry reasons too.
//  4. clientip: the address the call comes from, believing X-Forwarded-For
//     only from trusted proxies and the gateway hop.
//  5. auth: who is calling, and whether they may call this method.
//  6. cidr: the store's IP rules, for store keys.
//  7. validate: protovalidate rules, with the offending fields.
//  8. idempotency: Idempotency-Key on mutating methods (idempotency.go);
//     last, so a refused or malformed call never takes a key.
//
// The order is asserted by TestPolicyChainOrder and by behaviour in the
// surface tests (no credentials beats a denied address; a denied address
// beats a bad request).
func (s *Server) policyChain() []step {
	return []step{
		{"recover", s.recoverAndRequestID},
		{"accesslog", s.logCall},
		{"errors", s.mapErrors},
		{"clientip", s.resolveClientIP},
		{"auth", s.authenticateCall},
		{"cidr", s.checkIPRules},
		{"validate", s.validateRequest},
		{"idempotency", s.withIdempotency},
	}
}

// chainInterceptor applies the steps to unary calls and refuses streaming
// calls outright: no method may slip past the chain by being a stream.
type chainInterceptor struct{ steps []step }

func (c chainInterceptor) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	for i := len(c.steps) - 1; i >= 0; i-- {
		next = c.steps[i].wrap(next)
	}
	return next
}

func (chainInterceptor) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return next
}

func (chainInterceptor) WrapStreamingHandler(connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return func(context.Context, connect.StreamingHandlerConn) error {
		return toConnect(apierr.New(apierr.CodeUnimplemented, apierr.ReasonUnimplemented, "streaming methods are not served"))
	}
}

var requestIDPattern = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

const requestIDHeader = "X-Request-Id"

func newRequestID() string { return "req_" + secrets.RandomString(20) }

func (s *Server) recoverAndRequestID(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (res connect.AnyResponse, err error) {
		c := &call{RequestID: req.Header().Get(requestIDHeader)}
		if !requestIDPattern.MatchString(c.RequestID) {
			c.RequestID = newRequestID()
		}
		ctx = calllog.WithRequestID(withCall(ctx, c), c.RequestID)
		defer func() {
			if p := recover(); p != nil {
				s.log.ErrorContext(ctx, "panic in handler", "request_id", c.RequestID,
					"procedure", req.Spec().Procedure, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
				res, err = nil, toConnect(apierr.New(apierr.CodeInternal, apierr.ReasonInternal, "internal error (request %s)", c.RequestID))
			}
			if err != nil {
				var ce *connect.Error
				if errors.As(err, &ce) {
					ce.Meta().Set(requestIDHeader, c.RequestID)
				}
			} else if res != nil {
				res.Header().Set(requestIDHeader, c.RequestID)
			}
		}()
		return next(ctx, req)
	}
}

func (s *Server) logCall(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		start, at := time.Now(), s.clock()
		res, err := next(ctx, req)
		// Refusals are what an operator looks for after an attack or a
		// misconfigured client, so they are logged at info; internal errors
		// at error; everything else only at debug.
		level, msg := slog.LevelDebug, "call"
		if err != nil { // CodeOf(nil) is Unknown
			switch connect.CodeOf(err) {
			case connect.CodeUnauthenticated, connect.CodePermissionDenied:
				level, msg = slog.LevelInfo, "call refused"
			case connect.CodeInternal, connect.CodeUnknown, connect.CodeDataLoss:
				level, msg = slog.LevelError, "call failed"
			}
		}
		c := callFrom(ctx)
		code := "ok"
		if err != nil {
			code = connect.CodeOf(err).String()
		}
		surface := req.Peer().Protocol
		if c.ViaGateway {
			surface = cmp.Or(req.Header().Get(SurfaceHeader), "rest")
		}
		latency := time.Since(start)
		if s.metrics != nil {
			s.metrics.observeCall(req.Spec().Procedure, surface, code, latency)
		}
		s.captureCall(ctx, req, res, err, at, latency, surface, strings.ToUpper(code))
		if !s.log.Enabled(ctx, level) {
			return res, err
		}
		s.log.Log(ctx, level, msg,
			"request_id", c.RequestID, "procedure", req.Spec().Procedure, "surface", surface, "code", code, "reason", errorReason(err), "client_ip", displayIP(c.ClientIP),
			"key_id", keyIDOf(c.Principal), "user_id", userIDOf(c.Principal), "admin", c.Principal.Admin, "duration", latency)
		return res, err
	}
}

func userIDOf(p account.Principal) string {
	if p.User == nil {
		return ""
	}
	return p.User.ID
}

func keyIDOf(p account.Principal) string {
	if p.Key == nil {
		return ""
	}
	return p.Key.ID
}

func (s *Server) mapErrors(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		res, err := next(ctx, req)
		if err == nil {
			return res, nil
		}
		return nil, s.toAPIError(ctx, err)
	}
}

// toAPIError is the one place errors become what clients see: domain
// errors (apierr) keep their code and reason, library errors get the
// reason of what they mean, anything else is masked as Internal.
func (s *Server) toAPIError(ctx context.Context, err error) error {
	var ae *apierr.Error
	var ce *connect.Error
	switch {
	case errors.As(err, &ae):
		if ae.Code == apierr.CodeInternal || ae.Code == apierr.CodeUnknown {
			if ae.Reason == "" {
				return s.internal(ctx, err)
			}
		}
		return toConnect(ae)
	case errors.As(err, &ce):
		if ce.Code() == connect.CodeInternal || ce.Code() == connect.CodeUnknown {
			if errorReason(ce) == "" {
				return s.internal(ctx, err)
			}
		}
		return withReason(ce)
	case ent.IsNotFound(err):
		return toConnect(apierr.New(apierr.CodeNotFound, apierr.ReasonNotFound, "not found"))
	case ent.IsConstraintError(err), database.IsTxConflict(err):
		return toConnect(apierr.New(apierr.CodeAborted, apierr.ReasonConflict, "conflicting change; retry"))
	case errors.Is(err, privacy.Deny):
		return toConnect(apierr.New(apierr.CodePermissionDenied, apierr.ReasonStoreMismatch, "not allowed for this store"))
	case errors.Is(err, context.Canceled):
		return toConnect(apierr.New(apierr.CodeCanceled, apierr.ReasonCanceled, "request canceled"))
	case errors.Is(err, context.DeadlineExceeded):
		return toConnect(apierr.New(apierr.CodeDeadlineExceeded, apierr.ReasonDeadlineExceeded, "deadline exceeded"))
	}
	return s.internal(ctx, err)
}

// internal logs the real error and gives the client only a request id.
func (s *Server) internal(ctx context.Context, err error) error {
	id := callFrom(ctx).RequestID
	s.log.ErrorContext(ctx, "internal error", "request_id", id, "error", err)
	return toConnect(apierr.New(apierr.CodeInternal, apierr.ReasonInternal, "internal error (request %s)", id))
}

func (s *Server) resolveClientIP(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		c := callFrom(ctx)
		c.ViaGateway = viaGatewayHop(ctx)
		peer, _ := clientip.ParsePeer(req.Peer().Addr) // the gateway hop's peer is not an IP
		c.ClientIP = s.resolver.Resolve(peer, req.Header().Values("X-Forwarded-For"), c.ViaGateway)
		return next(ctx, req)
	}
}

func (s *Server) authenticateCall(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		rule, ok := s.access[req.Spec().Procedure]
		if !ok {
			return nil, fmt.Errorf("no access rule for %s", req.Spec().Procedure)
		}
		var p account.Principal
		var err error
		if token := s.consoleToken(req.Header()); token != "" {
			p, err = s.consoleCall(ctx, req.Header(), token, rule, s.mutating[req.Spec().Procedure])
			if err != nil && p.User != nil {
				callFrom(ctx).Principal = p // refused for its role: logged in its store
			}
		} else {
			p, err = s.accounts.Authenticate(ctx, req.Header().Get("Authorization"), rule.access)
			if err == nil && rule.access == account.AccessConsole && p.Key != nil {
				err = apierr.New(apierr.CodePermissionDenied, apierr.ReasonAdminOnly,
					"console users are managed in the console or with the admin token, not with a store key")
			}
		}
		if err != nil {
			return nil, err
		}
		callFrom(ctx).Principal = p
		return next(tenant.NewContext(ctx, viewerOf(p)), req)
	}
}

// consoleToken is the console session's token of a call that sends no
// Authorization header: a call with credentials is judged by them alone.
func (s *Server) consoleToken(h http.Header) string {
	if s.console == nil || h.Get("Authorization") != "" {
		return ""
	}
	for _, c := range (&http.Request{Header: h}).CookiesNamed(console.CookieName) {
		return c.Value
	}
	return ""
}

// consoleCall authenticates a call made with a console session: the
// session, its CSRF token and the user's role in the store the call names
// (Paymux-Store), which must be at least the method's console role. A
// platform administrator acts as the administrator; a store method still
// acts on the store named. A change made by a user below ADMIN reaches TEST
// money only, as a TEST key's does: a developer takes test payments and
// manages test endpoints, and cannot charge, confirm or reroute live ones.
func (s *Server) consoleCall(ctx context.Context, h http.Header, token string, rule methodRule, mutating bool) (account.Principal, error) {
	storeID := h.Get(console.StoreHeader)
	switch rule.access {
	case account.AccessKeyBasic:
		return account.Principal{}, apierr.New(apierr.CodeUnauthenticated, apierr.ReasonAuthMethodMismatch,
			"access tokens are issued for keys, not for console sessions")
	case account.AccessAdmin:
		storeID = "" // platform-wide methods act on no store
	}
	if rule.role == account.RoleNone {
		storeID = "" // nor does a method that needs no role in one (the session itself)
	}
	p, sess, err := s.console.Authenticate(ctx, token, h.Get(console.CSRFHeader), storeID, rule.role)
	if err != nil {
		return p, err
	}
	callFrom(ctx).ConsoleSession = sess
	if rule.access == account.AccessAdmin && !p.Admin {
		return account.Principal{}, adminOnlyError()
	}
	if !p.Admin && p.User != nil && p.User.Role < account.RoleAdmin && mutating {
		p.User.TestOnly = true
	}
	return p, nil
}

func adminOnlyError() error {
	return apierr.New(apierr.CodePermissionDenied, apierr.ReasonAdminOnly, "only the platform administrator may call this method")
}

// viewerOf is who the domain services and ent privacy see acting. A
// platform administrator signed in to the console is narrowed to the store
// the console names, as the admin token is by a request's store_id.
func viewerOf(p account.Principal) tenant.Viewer {
	v := tenant.Viewer{StoreID: p.StoreID(), Admin: p.Admin} // an admin's console session: the store it names
	if p.Key != nil {
		v.KeyID, v.KeyMode = p.Key.ID, string(p.Key.Mode)
	}
	if p.User != nil && p.User.TestOnly {
		v.KeyMode = "TEST"
	}
	return v
}

func (s *Server) checkIPRules(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		c := callFrom(ctx)
		key := c.Principal.Key
		if key == nil { // the administrator is not bound by a store's rules
			return next(ctx, req)
		}
		rules, err := s.accounts.RulesOf(ctx, key.StoreID)
		if err != nil {
			return nil, err
		}
		if _, allowed := iprule.Match(rules, c.ClientIP); !allowed {
			if !c.ClientIP.IsValid() {
				return nil, apierr.New(apierr.CodePermissionDenied, apierr.ReasonIPNotAllowed,
					"the client address is unknown (X-Forwarded-For from a trusted proxy is missing or malformed), so the IP rules of store %s refuse it", key.StoreID)
			}
			return nil, apierr.New(apierr.CodePermissionDenied, apierr.ReasonIPNotAllowed,
				"address %s is not allowed by the IP rules of store %s", displayIP(c.ClientIP), key.StoreID)
		}
		s.usage.Record(key.ID, c.ClientIP, s.now())
		return next(ctx, req)
	}
}

func displayIP(a netip.Addr) string {
	if !a.IsValid() {
		return "(unknown)"
	}
	return a.String()
}

func (s *Server) validateRequest(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		msg, ok := req.Any().(proto.Message)
		if !ok {
			return nil, fmt.Errorf("request %T is not a proto message", req.Any())
		}
		if err := s.validator.Validate(msg); err != nil {
			var verr *protovalidate.ValidationError
			if !errors.As(err, &verr) {
				return nil, fmt.Errorf("validate %s: %w", req.Spec().Procedure, err)
			}
			violations := make([]apierr.FieldViolation, 0, len(verr.Violations))
			for _, v := range verr.Violations {
				violations = append(violations, apierr.FieldViolation{
					Field:       protovalidate.FieldPathString(v.Proto.GetField()),
					Description: v.Proto.GetMessage(),
				})
			}
			return nil, apierr.Invalid(violations...)
		}
		return next(ctx, req)
	}
}
