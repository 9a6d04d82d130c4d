package providers

import (
	"context"
	"errors"
	"fmt"
)

// ErrNotSupported is wrapped by every error that means "this PG (or this
// adapter) does not offer that". Test with errors.Is.
var ErrNotSupported = errors.New("not supported by this PG")

// NotSupported returns an error wrapping ErrNotSupported for op of provider.
func NotSupported(provider, op string) error {
	return fmt.Errorf("%s: %s: %w", provider, op, ErrNotSupported)
}

// Kind classifies a PG error by what the caller may do next.
type Kind int

const (
	// KindUnknown is the zero Kind; treat it as an unknown outcome.
	KindUnknown Kind = iota
	// KindDeclined: the card company or bank refused (insufficient funds,
	// lost card, limit exceeded, invalid installment, ...). Definite: nothing
	// was charged. Code and Message are the PG's own; Decline is canonical.
	KindDeclined
	// KindInvalidRequest: the PG refused the request itself (a field, the
	// amount against the authenticated one, a cancel over the balance, a
	// net-cancel too late, ...). Definite: nothing happened.
	KindInvalidRequest
	// KindUnauthorized: the PG refused the channel's credentials, or an
	// inbound notification failed verification. Definite.
	KindUnauthorized
	// KindNotFound: the PG has no such payment, billing key or receipt.
	// After a lost answer this means nothing was charged.
	KindNotFound
	// KindAlreadyDone: the operation was already done (order id already
	// paid, payment already cancelled, key already deleted). The state the
	// caller wanted may well be in place: Lookup to see it.
	KindAlreadyDone
	// KindUnavailable: the PG could not be reached or answered a server
	// error. The outcome is unknown: Lookup, never retry blindly.
	KindUnavailable
	// KindTimeout: no answer in time. The outcome is unknown: the PG may
	// have done it. Lookup, and NetCancel what cannot be recorded.
	KindTimeout
)

var kindNames = [...]string{"UNKNOWN", "DECLINED", "INVALID_REQUEST", "UNAUTHORIZED", "NOT_FOUND", "ALREADY_DONE", "UNAVAILABLE", "TIMEOUT"}

func (k Kind) String() string {
	if k >= 0 && int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// DeclineReason is the canonical cause of a KindDeclined error.
type DeclineReason string

const (
	DeclineInsufficientFunds  DeclineReason = "INSUFFICIENT_FUNDS"  // 잔액 부족
	DeclineLostOrStolen       DeclineReason = "LOST_OR_STOLEN"      // 분실/도난 카드
	DeclineLimitExceeded      DeclineReason = "LIMIT_EXCEEDED"      // 한도 초과
	DeclineInvalidInstallment DeclineReason = "INVALID_INSTALLMENT" // 할부 불가/할부 개월 오류
	DeclineInvalidCard        DeclineReason = "INVALID_CARD"        // 카드번호 오류, 미등록 카드
	DeclineExpiredCard        DeclineReason = "EXPIRED_CARD"        // 유효기간 경과
	DeclineAuthentication     DeclineReason = "AUTHENTICATION"      // 비밀번호/생년월일 불일치
	DeclineOther              DeclineReason = "OTHER"
)

// Error is a failed PG call.
type Error struct {
	Kind     Kind
	Code     string        // the PG's own result code ("3022", "REJECT_CARD_COMPANY", ...)
	Message  string        // the PG's own message
	Decline  DeclineReason // set when Kind is KindDeclined
	Provider string        // Provider.Name()
	Op       string        // the method, e.g. "Approve"
	Err      error         // the underlying cause (transport error), if any
}

func (e *Error) Error() string {
	s := e.Provider
	if e.Op != "" {
		s += " " + e.Op
	}
	s += ": " + e.Kind.String()
	if e.Decline != "" {
		s += " (" + string(e.Decline) + ")"
	}
	if e.Code != "" {
		s += ": [" + e.Code + "]"
	}
	if e.Message != "" {
		s += " " + e.Message
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// KindOf returns the Kind of the *Error in err's chain, or KindUnknown.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return KindUnknown
}

// IsKind reports whether err's chain holds a *Error of kind k.
func IsKind(err error, k Kind) bool { return err != nil && KindOf(err) == k }

// OutcomeUnknown reports whether, after err, the caller cannot know whether
// the PG did the operation: a Timeout or Unavailable *Error, a context
// deadline or cancellation, or any error that is not a *Error at all (a
// bug or transport failure an adapter did not classify). The caller must
// Lookup before anything else, and NetCancel a charge it cannot record.
// nil and ErrNotSupported are definite.
func OutcomeUnknown(err error) bool {
	if err == nil || errors.Is(err, ErrNotSupported) {
		return false
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Kind == KindTimeout || e.Kind == KindUnavailable || e.Kind == KindUnknown
	}
	return true // context errors included: the request may have left
}

// ContextError classifies ctx's error for op: a deadline is a Timeout and a
// cancellation is Unavailable, both outcome-unknown. Adapters use it when a
// call is cut short after the request may have been sent.
func ContextError(provider, op string, err error) *Error {
	k := KindUnavailable
	if errors.Is(err, context.DeadlineExceeded) {
		k = KindTimeout
	}
	return &Error{Kind: k, Provider: provider, Op: op, Message: "no answer from the PG", Err: err}
}
