package tosspayments

import (
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/paymux/paymux/providers"
)

// Codes the adapter itself answers with (never sent by Toss).
const (
	CodeAmountMismatch     = "AMOUNT_MISMATCH"       // the window's amount is not the expected one
	CodeOrderMismatch      = "ORDER_MISMATCH"        // the window's orderId is not the expected one
	CodeWindowResult       = "INVALID_WINDOW_RESULT" // the window result is neither a success nor a failure
	CodeChannelKeysMissing = "CHANNEL_KEYS_MISSING"
	CodeChannelKeyMode     = "CHANNEL_KEY_MODE" // the secret key's prefix disagrees with the channel's mode
	CodeBadRequestBody     = "BAD_REQUEST_BODY"
	CodeBadAnswer          = "BAD_ANSWER"        // a 2xx answer that could not be read
	CodeUnexpectedAnswer   = "UNEXPECTED_ANSWER" // an answer that makes no sense for the call
	CodeAlreadyDeposited   = "ALREADY_DEPOSITED" // CloseVirtualAccount of a deposited account
	CodeNotVirtualAccount  = "NOT_VIRTUAL_ACCOUNT"
)

// CodeMapping is how the adapter reads one Toss error code.
type CodeMapping struct {
	Code    string
	Kind    providers.Kind
	Decline providers.DeclineReason // for KindDeclined
	// Source says where the code is documented (see paymux's Toss
	// reference, §2, §5, §7, §11).
	Source string
}

// codeTable is the one table of Toss codes → paymux kinds. HTTP 5xx is
// always Unavailable whatever the code; codes not listed fall back on the
// HTTP status (see classify).
var codeTable = []CodeMapping{
	// The card company or the buyer refused: definite, nothing charged.
	{"REJECT_CARD_COMPANY", providers.KindDeclined, providers.DeclineOther, "error-codes; failUrl"},
	{"INVALID_REJECT_CARD", providers.KindDeclined, providers.DeclineOther, "error-codes"},
	{"INVALID_CARD_EXPIRATION", providers.KindDeclined, providers.DeclineExpiredCard, "error-codes"},
	{"INVALID_STOPPED_CARD", providers.KindDeclined, providers.DeclineLostOrStolen, "error-codes"},
	{"EXCEED_MAX_CARD_INSTALLMENT_PLAN", providers.KindDeclined, providers.DeclineInvalidInstallment, "error-codes"},
	{"INVALID_CARD_NUMBER", providers.KindDeclined, providers.DeclineInvalidCard, "paymux's fake (card-number refusal)"},
	{"NOT_ALLOWED_POINT_USE", providers.KindDeclined, providers.DeclineOther, "error-codes"},
	{"PAY_PROCESS_CANCELED", providers.KindDeclined, providers.DeclineOther, "failUrl: the buyer closed the window"},
	{"PAY_PROCESS_ABORTED", providers.KindDeclined, providers.DeclineOther, "failUrl"},

	// Done before: the state the caller wanted may be in place; Lookup.
	{"ALREADY_PROCESSED_PAYMENT", providers.KindAlreadyDone, "", "error-codes"},
	{"DUPLICATED_ORDER_ID", providers.KindAlreadyDone, "", "error-codes (HTTP status unverified)"},
	{"ALREADY_CANCELED_PAYMENT", providers.KindAlreadyDone, "", "secondary"},

	// Nothing there: after a lost answer, nothing was charged.
	{"NOT_FOUND_PAYMENT", providers.KindNotFound, "", "secondary (HTTP 404)"},
	{"NOT_FOUND_PAYMENT_SESSION", providers.KindNotFound, "", "error-codes (HTTP status unverified)"},
	{"NOT_FOUND", providers.KindNotFound, "", "error-codes (HTTP status unverified)"},

	// The channel's keys.
	{"UNAUTHORIZED_KEY", providers.KindUnauthorized, "", "secondary (HTTP 401)"},
	{"INVALID_API_KEY", providers.KindUnauthorized, "", "error-codes"},

	// Toss could not do it now: outcome unknown, Lookup.
	{"PROVIDER_ERROR", providers.KindUnavailable, "", "error-codes: temporary, retry later"},
	{"FAILED_INTERNAL_SYSTEM_PROCESSING", providers.KindUnavailable, "", "error-codes (HTTP 500)"},
	{"FAILED_DB_PROCESSING", providers.KindUnavailable, "", "error-codes (HTTP status unverified)"},

	// Toss refused the request itself: definite, nothing happened.
	{"INVALID_REQUEST", providers.KindInvalidRequest, "", "error-codes"},
	{"BELOW_MINIMUM_AMOUNT", providers.KindInvalidRequest, "", "error-codes"},
	{"NOT_CANCELABLE_AMOUNT", providers.KindInvalidRequest, "", "secondary (HTTP 403)"},
	{"NOT_CANCELABLE_PAYMENT", providers.KindInvalidRequest, "", "secondary (HTTP 403)"},
	{"NOT_MATCHES_CUSTOMER_KEY", providers.KindInvalidRequest, "", "techchat (HTTP 400)"},
	// A request Toss may still be doing, or has dropped unread: unknown.
	{"FORBIDDEN_CONSECUTIVE_REQUEST", providers.KindUnavailable, "", "secondary (HTTP 403): a repeat within a second is dropped; the first may still go through"},
	{"IDEMPOTENT_REQUEST_PROCESSING", providers.KindUnavailable, "", "not in the reference; Toss's idempotency-key guide as quoted by integrations (HTTP 409): the first request with the key is still being processed"},
	{"INVALID_IDEMPOTENCY_KEY", providers.KindInvalidRequest, "", "not in the reference; as quoted by integrations (HTTP 400)"},
	{"EXPIRED_PAYMENT", providers.KindInvalidRequest, "", "techchat: failure of an EXPIRED payment"},
}

var codeIndex = func() map[string]CodeMapping {
	m := make(map[string]CodeMapping, len(codeTable))
	for _, c := range codeTable {
		m[c.Code] = c
	}
	return m
}()

// CodeTable returns the table of Toss error codes the adapter knows, in
// its order, for documentation and tests.
func CodeTable() []CodeMapping { return slices.Clone(codeTable) }

// LookupCode returns the mapping of a Toss code.
func LookupCode(code string) (CodeMapping, bool) {
	c, ok := codeIndex[code]
	return c, ok
}

// classify turns a Toss error answer into a *providers.Error, keeping
// Toss's code and message. HTTP 5xx is outcome-unknown whatever the code;
// a code the table does not know is read by its HTTP status.
func classify(op string, status int, code, message string) *providers.Error {
	e := &providers.Error{Provider: Name, Op: op, Code: code, Message: message}
	if m, ok := codeIndex[code]; ok && status < 500 {
		e.Kind, e.Decline = m.Kind, m.Decline
		return e
	}
	switch {
	case status >= 500:
		e.Kind = providers.KindUnavailable
	case status == http.StatusTooManyRequests:
		e.Kind = providers.KindUnavailable
	case status == http.StatusUnauthorized:
		e.Kind = providers.KindUnauthorized
	case status == http.StatusNotFound:
		e.Kind = providers.KindNotFound
	case status == http.StatusConflict:
		// A conflict Toss does not name may be a request still in progress.
		e.Kind = providers.KindUnavailable
	case strings.HasPrefix(code, "REJECT_"):
		// Card-company refusals all start so (REJECT_CARD_PAYMENT, ...).
		e.Kind, e.Decline = providers.KindDeclined, providers.DeclineOther
	default:
		e.Kind = providers.KindInvalidRequest
	}
	if e.Code == "" {
		e.Code = "HTTP_" + strconv.Itoa(status)
	}
	return e
}

// failure reads a Payment's failure as an error of the table's kind.
func failure(f *apiError) *providers.Error {
	if f == nil || (f.Code == "" && f.Message == "") {
		return nil
	}
	e := &providers.Error{Kind: providers.KindDeclined, Decline: providers.DeclineOther, Provider: Name, Code: f.Code, Message: f.Message}
	if m, ok := codeIndex[f.Code]; ok {
		e.Kind, e.Decline = m.Kind, m.Decline
	}
	return e
}

// windowFailure reads a failUrl result: always a decline (nothing was
// charged), with the table's reason when the code names one.
func windowFailure(op, code, message string) *providers.Error {
	e := &providers.Error{Kind: providers.KindDeclined, Decline: providers.DeclineOther, Provider: Name, Op: op,
		Code: code, Message: message}
	if m, ok := codeIndex[code]; ok && m.Kind == providers.KindDeclined {
		e.Decline = m.Decline
	}
	return e
}

// Toss's bank codes: two-digit numbers. They are the KFTC codes without the
// leading zero, except KB국민은행, which Toss numbers "06" (the old KFTC
// code of 국민은행) where the KFTC code is 004.
const tossKB = "06"

// tossBankCode is the Toss form of a bank ("20" for 020, "06" for KB).
func tossBankCode(b providers.Bank) string {
	if b == providers.BankKB {
		return tossKB
	}
	s := strings.TrimLeft(string(b), "0")
	if len(s) == 1 {
		s = "0" + s
	}
	return s
}

// parseTossBank reads a Toss bank code ("20", "06", "088"); "" when
// unknown.
func parseTossBank(code string) providers.Bank {
	c := strings.TrimSpace(code)
	if c == tossKB || c == "006" {
		return providers.BankKB
	}
	b, err := providers.ParseBank(c)
	if err != nil {
		return ""
	}
	return b
}
