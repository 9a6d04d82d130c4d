package server

import (
	"cmp"
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"connectrpc.com/connect"
	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/paymux/paymux/calllog"
	"github.com/paymux/paymux/clientip"
	"github.com/paymux/paymux/ent/logrecord"
)

// The call log (package calllog) keeps every API call and every PG call
// for the Log API. Here the transport captures each API call as a
// calllog.Record and hands it over; masking and marshalling happen in the
// writer, off the call's path.

// Headers the REST gateway adds to its hop so the log can show the verb and
// path the client used. Believed only on the gateway hop; a client cannot
// send them through the gateway (incomingHeader drops them).
const (
	restMethodHeader = calllog.RESTMethodHeader
	restPathHeader   = calllog.RESTPathHeader
)

// captureCall queues the record of one API call; the chain's accesslog step
// calls it with the final result.
func (s *Server) captureCall(ctx context.Context, req connect.AnyRequest, res connect.AnyResponse, err error, at time.Time, latency time.Duration, surface, code string) {
	if !s.calls.Enabled() {
		return
	}
	c := callFrom(ctx)
	r := &calllog.Record{
		Kind:      logrecord.KindAPI,
		At:        at,
		StoreID:   cmp.Or(c.Principal.StoreID(), c.ActingStoreID),
		RequestID: c.RequestID,
		Surface:   surface,
		Method:    req.Spec().Procedure,
		Code:      code,
		KeyID:     keyIDOf(c.Principal),
		ClientIP:  displayIP(c.ClientIP),
		Latency:   latency,
		Headers:   req.Header(),
		ViaREST:   c.ViaGateway,
	}
	if k := c.Principal.Key; k != nil {
		r.Mode = string(k.Mode)
	}
	if u := c.Principal.User; u != nil {
		r.UserID, r.UserEmail = u.ID, u.Email
	}
	if c.ViaGateway {
		r.HTTPMethod = req.Header().Get(restMethodHeader)
		r.Path = req.Header().Get(restPathHeader)
	}
	if m, ok := req.Any().(proto.Message); ok {
		r.Request = m
	}
	if err != nil {
		errCode := errorCode(err)
		r.Reason = errorReason(err)
		var ce *connect.Error
		if errors.As(err, &ce) {
			r.Message = ce.Message()
			r.Error = errorStatus(errCode, r.Message, ce.Details())
		} else {
			r.Message = err.Error()
			r.Error = errorStatus(errCode, r.Message, nil)
		}
		if c.ViaGateway {
			r.HTTPStatus = runtime.HTTPStatusFromCode(codes.Code(errCode))
		}
	} else {
		if res != nil {
			if m, ok := res.Any().(proto.Message); ok {
				r.Response = m
			}
		}
		if c.ViaGateway {
			r.HTTPStatus = http.StatusOK
		}
	}
	s.calls.Add(r)
}

// errorStatus is an error as REST shows it: a google.rpc.Status, its
// details as they were sent (marshalled only by the writer).
func errorStatus(code connect.Code, message string, details []*connect.ErrorDetail) *status.Status {
	st := &status.Status{Code: int32(code), Message: message}
	for _, d := range details {
		st.Details = append(st.Details, &anypb.Any{TypeUrl: "type.googleapis.com/" + d.Type(), Value: d.Bytes()})
	}
	return st
}

// captureRESTRefusal records a REST call the gateway answered itself. Nobody
// was identified yet, so the record belongs to no store: the administrator
// sees it.
func (s *Server) captureRESTRefusal(r *http.Request, procedure string, err *connect.Error, httpStatus int, requestID string) {
	if !s.calls.Enabled() {
		return
	}
	peer, _ := clientip.ParsePeer(r.RemoteAddr)
	ip := s.resolver.Resolve(peer, r.Header.Values("X-Forwarded-For"), false)
	s.calls.Add(&calllog.Record{
		Kind:       logrecord.KindAPI,
		At:         s.clock(),
		RequestID:  requestID,
		Surface:    "rest",
		Method:     cmp.Or(procedure, r.Method+" "+r.URL.Path),
		HTTPMethod: r.Method,
		Path:       r.URL.RequestURI(),
		Code:       strings.ToUpper(err.Code().String()),
		HTTPStatus: httpStatus,
		Reason:     errorReason(err),
		Message:    err.Message(),
		ClientIP:   displayIP(ip),
		Headers:    r.Header,
		Error:      errorStatus(err.Code(), err.Message(), err.Details()),
	})
}
