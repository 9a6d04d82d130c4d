package apierr

import (
	"fmt"
	"testing"
)

func TestErrors(t *testing.T) {
	cases := []struct {
		name           string
		err            error
		code           Code
		reason, string string
	}{
		{"new", New(CodeNotFound, "PAYMENT_NOT_FOUND", "payment %s not found", "pay_1"), CodeNotFound, "PAYMENT_NOT_FOUND", "not_found: payment pay_1 not found"},
		{"wrapped", fmt.Errorf("cancel: %w", New(CodeAborted, ReasonConflict, "changed")), CodeAborted, ReasonConflict, "cancel: aborted: changed"},
		{"invalid fields", Invalid(FieldViolation{"amount", "must be positive"}, FieldViolation{"cidr", "bad"}), CodeInvalidArgument, ReasonInvalidArgument,
			"invalid_argument: invalid request: amount: must be positive; cidr: bad"},
		{"plain error", fmt.Errorf("boom"), CodeUnknown, "", "boom"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := CodeOf(c.err); got != c.code {
				t.Errorf("CodeOf = %v, want %v", got, c.code)
			}
			if got := Reason(c.err); got != c.reason {
				t.Errorf("Reason = %q, want %q", got, c.reason)
			}
			if got := c.err.Error(); got != c.string {
				t.Errorf("Error() = %q, want %q", got, c.string)
			}
		})
	}
}

func TestCodeNames(t *testing.T) {
	for c := CodeCanceled; c <= CodeUnauthenticated; c++ {
		if _, ok := codeNames[c]; !ok {
			t.Errorf("code %d has no name", c)
		}
		if ReasonForCode(c) == ReasonUnknown && c != CodeUnknown {
			t.Errorf("code %v has no reason", c)
		}
	}
	if got := Code(99).String(); got != "code_99" {
		t.Errorf("Code(99) = %q", got)
	}
}
