// Package apierr builds paymux's API errors: a gRPC/Connect code plus a
// google.rpc.ErrorInfo whose reason is a stable UPPER_SNAKE string clients
// can switch on, and field violations for bad input. The REST gateway
// renders the same details as JSON, so every surface carries the reason.
package apierr

import (
	"errors"
	"fmt"

	"connectrpc.com/connect"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/protobuf/proto"
)

// Domain is the ErrorInfo domain of every paymux error.
const Domain = "paymux"

// The reasons paymux answers with. Each names one cause a client may handle.
const (
	ReasonInvalidArgument      = "INVALID_ARGUMENT"
	ReasonRequestTooLarge      = "REQUEST_TOO_LARGE"
	ReasonCredentialsMissing   = "CREDENTIALS_MISSING"
	ReasonCredentialsMalformed = "CREDENTIALS_MALFORMED"
	ReasonKeyUnknown           = "KEY_UNKNOWN"
	ReasonSecretMismatch       = "SECRET_MISMATCH"
	ReasonSecretRevoked        = "SECRET_REVOKED"
	ReasonKeyExpired           = "KEY_EXPIRED"
	ReasonKeyDeleted           = "KEY_DELETED"
	ReasonAuthMethodMismatch   = "AUTH_METHOD_MISMATCH"
	ReasonTokenInvalid         = "TOKEN_INVALID"
	ReasonTokenExpired         = "TOKEN_EXPIRED"
	ReasonTokenRevoked         = "TOKEN_REVOKED"
	ReasonAdminTokenInvalid    = "ADMIN_TOKEN_INVALID"
	ReasonClientKeyNotAllowed  = "CLIENT_KEY_NOT_ALLOWED"
	ReasonAdminOnly            = "ADMIN_ONLY"
	ReasonIPNotAllowed         = "IP_NOT_ALLOWED"
	ReasonStoreSuspended       = "STORE_SUSPENDED"
	ReasonStoreMismatch        = "STORE_MISMATCH"
	ReasonStoreRequired        = "STORE_ID_REQUIRED"
	ReasonStoreNotFound        = "STORE_NOT_FOUND"
	ReasonKeyNotFound          = "KEY_NOT_FOUND"
	ReasonKeyModeNotAllowed    = "KEY_MODE_NOT_ALLOWED"
	ReasonKeyLimitExceeded     = "KEY_LIMIT_EXCEEDED"
	ReasonIPRuleNotFound       = "IP_RULE_NOT_FOUND"
	ReasonIPRuleLimitExceeded  = "IP_RULE_LIMIT_EXCEEDED"
	ReasonIPRuleAlreadyExists  = "IP_RULE_ALREADY_EXISTS"
	ReasonChannelNotFound      = "CHANNEL_NOT_FOUND"
	ReasonChannelIsDefault     = "CHANNEL_IS_DEFAULT"
	ReasonNotFound             = "NOT_FOUND"
	ReasonPermissionDenied     = "PERMISSION_DENIED"
	ReasonConflict             = "CONFLICT"
	ReasonInternal             = "INTERNAL"
	ReasonUnavailable          = "UNAVAILABLE"
	ReasonDeadlineExceeded     = "DEADLINE_EXCEEDED"
	ReasonCanceled             = "CANCELED"
	ReasonUnimplemented        = "UNIMPLEMENTED"
	ReasonResourceExhausted    = "RESOURCE_EXHAUSTED"
	ReasonFailedPrecondition   = "FAILED_PRECONDITION"
	ReasonUnauthenticated      = "UNAUTHENTICATED"
	ReasonAborted              = "ABORTED"
	ReasonAlreadyExists        = "ALREADY_EXISTS"
	ReasonOutOfRange           = "OUT_OF_RANGE"
	ReasonDataLoss             = "DATA_LOSS"
	ReasonUnknown              = "UNKNOWN"
)

// New returns a Connect error with code, an ErrorInfo carrying reason, and
// a message for people.
func New(code connect.Code, reason, format string, args ...any) *connect.Error {
	err := connect.NewError(code, fmt.Errorf(format, args...))
	attach(err, &errdetails.ErrorInfo{Reason: reason, Domain: Domain})
	return err
}

// FieldViolation is one bad field of a request.
type FieldViolation struct {
	Field       string // the proto field path, e.g. "cidr" or "store.name"
	Description string
}

// Invalid returns InvalidArgument with the INVALID_ARGUMENT reason and the
// offending fields as google.rpc.BadRequest.
func Invalid(violations ...FieldViolation) *connect.Error {
	return InvalidBecause(ReasonInvalidArgument, violations...)
}

// InvalidBecause is Invalid with a more specific reason
// (INSTALLMENT_NOT_ALLOWED_UNDER_50000, say) a client may switch on.
func InvalidBecause(reason string, violations ...FieldViolation) *connect.Error {
	msg := "invalid request"
	for i, v := range violations {
		sep := ": "
		if i > 0 {
			sep = "; "
		}
		msg += sep + v.Field + ": " + v.Description
	}
	err := New(connect.CodeInvalidArgument, reason, "%s", msg)
	br := &errdetails.BadRequest{}
	for _, v := range violations {
		br.FieldViolations = append(br.FieldViolations, &errdetails.BadRequest_FieldViolation{
			Field: v.Field, Description: v.Description,
		})
	}
	attach(err, br)
	return err
}

// InvalidField is Invalid for one field.
func InvalidField(field, format string, args ...any) *connect.Error {
	return Invalid(FieldViolation{Field: field, Description: fmt.Sprintf(format, args...)})
}

// Reason returns the ErrorInfo reason of err, or "" if it has none.
func Reason(err error) string {
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

// ReasonForCode is the reason given to an error that arrived without one
// (from a library, say): the code's own name.
func ReasonForCode(code connect.Code) string {
	switch code {
	case connect.CodeCanceled:
		return ReasonCanceled
	case connect.CodeInvalidArgument:
		return ReasonInvalidArgument
	case connect.CodeDeadlineExceeded:
		return ReasonDeadlineExceeded
	case connect.CodeNotFound:
		return ReasonNotFound
	case connect.CodeAlreadyExists:
		return ReasonAlreadyExists
	case connect.CodePermissionDenied:
		return ReasonPermissionDenied
	case connect.CodeResourceExhausted:
		return ReasonResourceExhausted
	case connect.CodeFailedPrecondition:
		return ReasonFailedPrecondition
	case connect.CodeAborted:
		return ReasonAborted
	case connect.CodeOutOfRange:
		return ReasonOutOfRange
	case connect.CodeUnimplemented:
		return ReasonUnimplemented
	case connect.CodeUnavailable:
		return ReasonUnavailable
	case connect.CodeDataLoss:
		return ReasonDataLoss
	case connect.CodeUnauthenticated:
		return ReasonUnauthenticated
	case connect.CodeInternal:
		return ReasonInternal
	default:
		return ReasonUnknown
	}
}

// WithReason adds an ErrorInfo with the code's reason to a Connect error
// that has none, and returns it.
func WithReason(err *connect.Error) *connect.Error {
	if Reason(err) == "" {
		attach(err, &errdetails.ErrorInfo{Reason: ReasonForCode(err.Code()), Domain: Domain})
	}
	return err
}

func attach(err *connect.Error, msg proto.Message) {
	detail, derr := connect.NewErrorDetail(msg)
	if derr != nil {
		// Only a nil message fails to marshal; every caller passes a literal.
		panic(fmt.Sprintf("apierr: %v", derr))
	}
	err.AddDetail(detail)
}

// WithMetadata returns New's error with metadata on its ErrorInfo: ids and
// the PG's own code, for a client to act on without parsing the message.
func WithMetadata(code connect.Code, reason string, metadata map[string]string, format string, args ...any) *connect.Error {
	err := connect.NewError(code, fmt.Errorf(format, args...))
	attach(err, &errdetails.ErrorInfo{Reason: reason, Domain: Domain, Metadata: metadata})
	return err
}
