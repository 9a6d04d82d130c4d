package server

import (
	"errors"

	"connectrpc.com/connect"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/protobuf/proto"

	"github.com/paymux/paymux/apierr"
)

// connectError renders a domain error for the Connect, gRPC and gRPC-Web
// surfaces (and so REST, through the gateway hop): an *apierr.Error becomes
// a *connect.Error with a google.rpc.ErrorInfo carrying its reason and
// metadata, and a google.rpc.BadRequest listing its offending fields.
// Any other error is returned as it is.
func connectError(err error) error {
	var ae *apierr.Error
	if !errors.As(err, &ae) {
		return err
	}
	return toConnect(ae)
}

func toConnect(ae *apierr.Error) *connect.Error {
	ce := connect.NewError(connect.Code(ae.Code), errors.New(ae.Message))
	attach(ce, &errdetails.ErrorInfo{Reason: ae.Reason, Domain: apierr.Domain, Metadata: ae.Metadata})
	if len(ae.Violations) > 0 {
		br := &errdetails.BadRequest{}
		for _, v := range ae.Violations {
			br.FieldViolations = append(br.FieldViolations, &errdetails.BadRequest_FieldViolation{
				Field: v.Field, Description: v.Description,
			})
		}
		attach(ce, br)
	}
	return ce
}

// withReason adds an ErrorInfo with the code's reason to a Connect error
// that has none (from a library, say), and returns it.
func withReason(ce *connect.Error) *connect.Error {
	if errorReason(ce) == "" {
		attach(ce, &errdetails.ErrorInfo{Reason: apierr.ReasonForCode(apierr.Code(ce.Code())), Domain: apierr.Domain})
	}
	return ce
}

func attach(ce *connect.Error, msg proto.Message) {
	detail, err := connect.NewErrorDetail(msg)
	if err != nil {
		// Only a nil message fails to marshal; every caller passes a literal.
		panic("server: error detail: " + err.Error())
	}
	ce.AddDetail(detail)
}

// errorReason is the reason of err, whether still a domain error or
// already rendered for Connect.
func errorReason(err error) string {
	if r := apierr.Reason(err); r != "" {
		return r
	}
	var ce *connect.Error
	if !errors.As(err, &ce) {
		return ""
	}
	for _, d := range ce.Details() {
		v, derr := d.Value()
		if derr != nil {
			continue
		}
		if info, ok := v.(*errdetails.ErrorInfo); ok {
			return info.GetReason()
		}
	}
	return ""
}

// errorCode is the code of err, whether a domain error or a Connect one.
func errorCode(err error) connect.Code {
	var ae *apierr.Error
	if errors.As(err, &ae) {
		return connect.Code(ae.Code)
	}
	return connect.CodeOf(err)
}
