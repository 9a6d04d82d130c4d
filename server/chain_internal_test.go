package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/paymux/paymux/account"
	"github.com/paymux/paymux/apierr"
	"github.com/paymux/paymux/ent/privacy"
	"github.com/paymux/paymux/gen/paymux/v1/paymuxv1connect"
)

// TestPolicyChainOrder pins the documented order of the policy chain.
func TestPolicyChainOrder(t *testing.T) {
	var names []string
	for _, s := range (&Server{}).policyChain() {
		if s.wrap == nil {
			t.Fatalf("step %q has no wrapper", s.name)
		}
		names = append(names, s.name)
	}
	want := []string{"recover", "accesslog", "errors", "clientip", "auth", "cidr", "validate", "idempotency"}
	if !slices.Equal(names, want) {
		t.Fatalf("policy chain %q, want %q", names, want)
	}
}

// TestChainInterceptorWrapsOutermostFirst: the first step sees the call
// first and the result last.
func TestChainInterceptorWrapsOutermostFirst(t *testing.T) {
	var trace []string
	mk := func(name string) step {
		return step{name, func(next connect.UnaryFunc) connect.UnaryFunc {
			return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
				trace = append(trace, "in "+name)
				res, err := next(ctx, req)
				trace = append(trace, "out "+name)
				return res, err
			}
		}}
	}
	handler := func(context.Context, connect.AnyRequest) (connect.AnyResponse, error) {
		trace = append(trace, "handler")
		return connect.NewResponse(&emptypb.Empty{}), nil
	}
	wrapped := chainInterceptor{steps: []step{mk("a"), mk("b"), mk("c")}}.WrapUnary(handler)
	if _, err := wrapped(context.Background(), connect.NewRequest(&emptypb.Empty{})); err != nil {
		t.Fatal(err)
	}
	want := []string{"in a", "in b", "in c", "handler", "out c", "out b", "out a"}
	if !slices.Equal(trace, want) {
		t.Fatalf("trace %q, want %q", trace, want)
	}
}

// TestChainInterceptorRefusesStreams: no method can pass the chain by
// being a stream.
func TestChainInterceptorRefusesStreams(t *testing.T) {
	called := false
	h := chainInterceptor{}.WrapStreamingHandler(func(context.Context, connect.StreamingHandlerConn) error {
		called = true
		return nil
	})
	err := h(context.Background(), nil)
	if called || connect.CodeOf(err) != connect.CodeUnimplemented || errorReason(err) != apierr.ReasonUnimplemented {
		t.Fatalf("streaming handler: called=%v err=%v", called, err)
	}
}

// TestAccessRules: every method of every served service has an access
// rule, read from its (paymux.v1.access) option.
func TestAccessRules(t *testing.T) {
	rules, err := accessRules(serviceNames)
	if err != nil {
		t.Fatal(err)
	}
	methods := 0
	for _, name := range serviceNames {
		d, err := protoregistry.GlobalFiles.FindDescriptorByName(protoreflect.FullName(name))
		if err != nil {
			t.Fatal(err)
		}
		ms := d.(protoreflect.ServiceDescriptor).Methods()
		for i := range ms.Len() {
			methods++
			proc := "/" + name + "/" + string(ms.Get(i).Name())
			a, ok := rules[proc]
			if !ok || a.access == account.AccessUnspecified {
				t.Errorf("%s has no access rule", proc)
			}
		}
	}
	if len(rules) != methods || methods == 0 {
		t.Fatalf("%d access rules for %d methods", len(rules), methods)
	}
	for proc, want := range map[string]account.Access{
		paymuxv1connect.StoreServiceCreateStoreProcedure:     account.AccessAdmin,
		paymuxv1connect.StoreServiceListStoresProcedure:      account.AccessAdmin,
		paymuxv1connect.StoreServiceUpdateStoreProcedure:     account.AccessAdmin,
		paymuxv1connect.StoreServiceGetStoreProcedure:        account.AccessStore,
		paymuxv1connect.KeyServiceListKeysProcedure:          account.AccessStore,
		paymuxv1connect.KeyServiceCreateKeyProcedure:         account.AccessStore,
		paymuxv1connect.KeyServiceCreateAccessTokenProcedure: account.AccessKeyBasic,
		paymuxv1connect.IPRuleServiceCreateIPRuleProcedure:   account.AccessStore,
		paymuxv1connect.IPRuleServiceTestIPRulesProcedure:    account.AccessStore,
		paymuxv1connect.IPRuleServiceDeleteIPRuleProcedure:   account.AccessStore,
		paymuxv1connect.KeyServiceReissueKeySecretProcedure:  account.AccessStore,
		paymuxv1connect.IPRuleServiceListIPRulesProcedure:    account.AccessStore,
		paymuxv1connect.KeyServiceGetKeyProcedure:            account.AccessStore,
		paymuxv1connect.KeyServiceDeleteKeyProcedure:         account.AccessStore,
	} {
		if got := rules[proc].access; got != want {
			t.Errorf("%s: access %v, want %v", proc, got, want)
		}
	}

	if _, err := accessRules([]string{"paymux.v1.NoSuchService"}); err == nil {
		t.Fatal("accessRules accepted an unknown service")
	}
}

// TestErrorMapping: the errors step turns every error into a code with a
// reason, and never shows an internal error's text.
func TestErrorMapping(t *testing.T) {
	s := &Server{log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	ctx := withCall(context.Background(), &call{RequestID: "req_test"})
	cases := []struct {
		name   string
		err    error
		code   connect.Code
		reason string
	}{
		{"domain error kept", apierr.New(apierr.CodeNotFound, apierr.ReasonKeyNotFound, "key x"), connect.CodeNotFound, apierr.ReasonKeyNotFound},
		{"connect error gets a reason", connect.NewError(connect.CodeInvalidArgument, errors.New("bad")), connect.CodeInvalidArgument, apierr.ReasonInvalidArgument},
		{"internal masked", fmt.Errorf("dial db at 10.0.0.5: secret-detail"), connect.CodeInternal, apierr.ReasonInternal},
		{"bare connect internal masked", connect.NewError(connect.CodeInternal, errors.New("secret-detail")), connect.CodeInternal, apierr.ReasonInternal},
		{"unknown masked", connect.NewError(connect.CodeUnknown, errors.New("secret-detail")), connect.CodeInternal, apierr.ReasonInternal},
		{"privacy deny", fmt.Errorf("query: %w", privacy.Deny), connect.CodePermissionDenied, apierr.ReasonStoreMismatch},
		{"canceled", fmt.Errorf("x: %w", context.Canceled), connect.CodeCanceled, apierr.ReasonCanceled},
		{"deadline", context.DeadlineExceeded, connect.CodeDeadlineExceeded, apierr.ReasonDeadlineExceeded},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			wrapped := s.mapErrors(func(context.Context, connect.AnyRequest) (connect.AnyResponse, error) { return nil, c.err })
			_, err := wrapped(ctx, connect.NewRequest(&emptypb.Empty{}))
			if connect.CodeOf(err) != c.code || errorReason(err) != c.reason {
				t.Fatalf("got %v/%s, want %v/%s", connect.CodeOf(err), errorReason(err), c.code, c.reason)
			}
			if strings.Contains(err.Error(), "secret-detail") {
				t.Fatalf("internal detail leaked: %v", err)
			}
			if c.code == connect.CodeInternal && !strings.Contains(err.Error(), "req_test") {
				t.Fatalf("internal error without the request id: %v", err)
			}
		})
	}
}

// TestRecoverStep: a panic becomes Internal carrying the request id, and
// the request id is set on answers and errors.
func TestRecoverStep(t *testing.T) {
	s := &Server{log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	var seen string
	wrapped := s.recoverAndRequestID(func(ctx context.Context, _ connect.AnyRequest) (connect.AnyResponse, error) {
		seen = callFrom(ctx).RequestID
		panic("boom secret-detail")
	})
	req := connect.NewRequest(&emptypb.Empty{})
	req.Header().Set(requestIDHeader, "abc-123")
	res, err := wrapped(context.Background(), req)
	if res != nil || connect.CodeOf(err) != connect.CodeInternal || errorReason(err) != apierr.ReasonInternal {
		t.Fatalf("panic: %v %v", res, err)
	}
	var ce *connect.Error
	if !errors.As(err, &ce) || ce.Meta().Get(requestIDHeader) != "abc-123" || seen != "abc-123" {
		t.Fatalf("request id: seen %q, meta %v", seen, ce.Meta())
	}
	if strings.Contains(err.Error(), "secret-detail") || !strings.Contains(err.Error(), "abc-123") {
		t.Fatalf("panic error %v", err)
	}

	ok := s.recoverAndRequestID(func(context.Context, connect.AnyRequest) (connect.AnyResponse, error) {
		return connect.NewResponse(&emptypb.Empty{}), nil
	})
	req = connect.NewRequest(&emptypb.Empty{})
	req.Header().Set(requestIDHeader, "bad id!")
	out, err := ok(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if id := out.Header().Get(requestIDHeader); !strings.HasPrefix(id, "req_") || !requestIDPattern.MatchString(id) {
		t.Fatalf("invalid client id not replaced: %q", id)
	}
}
