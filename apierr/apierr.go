// Package apierr is paymux's error vocabulary, free of any transport: a
// code (gRPC's numbering), a stable UPPER_SNAKE reason clients can switch
// on, a message for people, metadata (ids, the PG's own code) and the
// offending fields of bad input. Domain services return these; each surface
// renders them (server/errors.go as Connect/gRPC errors with
// google.rpc.ErrorInfo and BadRequest details, which REST carries as JSON).
package apierr

import (
	"errors"
	"fmt"
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
	ReasonSessionEnded         = "SESSION_ENDED"
	ReasonCSRFMismatch         = "CSRF_MISMATCH"
	ReasonRoleNotAllowed       = "ROLE_NOT_ALLOWED"
	ReasonLastOwner            = "LAST_OWNER"
	ReasonConsoleUserNotFound  = "CONSOLE_USER_NOT_FOUND"
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

// Code is an error's class, numbered as gRPC numbers its status codes so
// that a surface converts it by value.
type Code uint32

// The codes, as gRPC defines them.
const (
	CodeCanceled           Code = 1
	CodeUnknown            Code = 2
	CodeInvalidArgument    Code = 3
	CodeDeadlineExceeded   Code = 4
	CodeNotFound           Code = 5
	CodeAlreadyExists      Code = 6
	CodePermissionDenied   Code = 7
	CodeResourceExhausted  Code = 8
	CodeFailedPrecondition Code = 9
	CodeAborted            Code = 10
	CodeOutOfRange         Code = 11
	CodeUnimplemented      Code = 12
	CodeInternal           Code = 13
	CodeUnavailable        Code = 14
	CodeDataLoss           Code = 15
	CodeUnauthenticated    Code = 16
)

var codeNames = map[Code]string{
	CodeCanceled:           "canceled",
	CodeUnknown:            "unknown",
	CodeInvalidArgument:    "invalid_argument",
	CodeDeadlineExceeded:   "deadline_exceeded",
	CodeNotFound:           "not_found",
	CodeAlreadyExists:      "already_exists",
	CodePermissionDenied:   "permission_denied",
	CodeResourceExhausted:  "resource_exhausted",
	CodeFailedPrecondition: "failed_precondition",
	CodeAborted:            "aborted",
	CodeOutOfRange:         "out_of_range",
	CodeUnimplemented:      "unimplemented",
	CodeInternal:           "internal",
	CodeUnavailable:        "unavailable",
	CodeDataLoss:           "data_loss",
	CodeUnauthenticated:    "unauthenticated",
}

// String is the code's lower_snake name, as Connect spells it.
func (c Code) String() string {
	if n, ok := codeNames[c]; ok {
		return n
	}
	return fmt.Sprintf("code_%d", uint32(c))
}

// Error is one refusal or failure a client is told about.
type Error struct {
	Code    Code
	Reason  string
	Message string
	// Metadata are ids and the PG's own code, for a client to act on
	// without parsing the message.
	Metadata map[string]string
	// Violations are the offending fields of an InvalidArgument.
	Violations []FieldViolation
}

// Error reads as Connect's errors do: "code: message".
func (e *Error) Error() string { return e.Code.String() + ": " + e.Message }

// New returns an error with code, reason, and a message for people.
func New(code Code, reason, format string, args ...any) *Error {
	return &Error{Code: code, Reason: reason, Message: fmt.Sprintf(format, args...)}
}

// WithMetadata is New with metadata.
func WithMetadata(code Code, reason string, metadata map[string]string, format string, args ...any) *Error {
	e := New(code, reason, format, args...)
	e.Metadata = metadata
	return e
}

// FieldViolation is one bad field of a request.
type FieldViolation struct {
	Field       string // the proto field path, e.g. "cidr" or "store.name"
	Description string
}

// Invalid returns InvalidArgument with the INVALID_ARGUMENT reason and the
// offending fields.
func Invalid(violations ...FieldViolation) *Error {
	return InvalidBecause(ReasonInvalidArgument, violations...)
}

// InvalidBecause is Invalid with a more specific reason
// (INSTALLMENT_NOT_ALLOWED_UNDER_50000, say) a client may switch on.
func InvalidBecause(reason string, violations ...FieldViolation) *Error {
	msg := "invalid request"
	for i, v := range violations {
		sep := ": "
		if i > 0 {
			sep = "; "
		}
		msg += sep + v.Field + ": " + v.Description
	}
	return &Error{Code: CodeInvalidArgument, Reason: reason, Message: msg, Violations: violations}
}

// InvalidField is Invalid for one field.
func InvalidField(field, format string, args ...any) *Error {
	return Invalid(FieldViolation{Field: field, Description: fmt.Sprintf(format, args...)})
}

// Reason returns the reason of the *Error in err's chain, or "".
func Reason(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Reason
	}
	return ""
}

// CodeOf returns the code of the *Error in err's chain; CodeUnknown if
// there is none.
func CodeOf(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return CodeUnknown
}

// ReasonForCode is the reason given to an error that arrived without one
// (from a library, say): the code's own name.
func ReasonForCode(code Code) string {
	switch code {
	case CodeCanceled:
		return ReasonCanceled
	case CodeInvalidArgument:
		return ReasonInvalidArgument
	case CodeDeadlineExceeded:
		return ReasonDeadlineExceeded
	case CodeNotFound:
		return ReasonNotFound
	case CodeAlreadyExists:
		return ReasonAlreadyExists
	case CodePermissionDenied:
		return ReasonPermissionDenied
	case CodeResourceExhausted:
		return ReasonResourceExhausted
	case CodeFailedPrecondition:
		return ReasonFailedPrecondition
	case CodeAborted:
		return ReasonAborted
	case CodeOutOfRange:
		return ReasonOutOfRange
	case CodeUnimplemented:
		return ReasonUnimplemented
	case CodeUnavailable:
		return ReasonUnavailable
	case CodeDataLoss:
		return ReasonDataLoss
	case CodeUnauthenticated:
		return ReasonUnauthenticated
	case CodeInternal:
		return ReasonInternal
	default:
		return ReasonUnknown
	}
}
