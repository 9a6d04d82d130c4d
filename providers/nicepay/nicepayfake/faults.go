package nicepayfake

type faultKind int

const (
	faultDecline faultKind = iota + 1
	faultUnavailable
	faultTimeoutBefore
	faultLoseAnswer
	faultTimeoutAfter
)

// Fault is what FailNext makes the next call of an operation do.
type Fault struct {
	kind          faultKind
	code, message string
}

// Decline answers HTTP 200 with resultCode code and resultMsg message. On
// "approve" the transaction is recorded as failed with that code (as a
// refused approval is); on every other operation nothing is done.
func Decline(code, message string) Fault {
	return Fault{kind: faultDecline, code: code, message: message}
}

var (
	// Unavailable answers HTTP 500 and does nothing.
	Unavailable = Fault{kind: faultUnavailable}
	// TimeoutBeforeCharge holds the request until the client gives up
	// (its context ends) or the fake closes, having done nothing.
	TimeoutBeforeCharge = Fault{kind: faultTimeoutBefore}
	// LoseAnswer does the operation (charges, cancels, ...), sends its
	// webhooks, then closes the connection without answering.
	LoseAnswer = Fault{kind: faultLoseAnswer}
	// TimeoutAfterCharge does the operation, sends its webhooks, then holds
	// the request until the client gives up: an approve that charged but
	// whose answer never came (read timeout), the case for net-cancel.
	TimeoutAfterCharge = Fault{kind: faultTimeoutAfter}
)

// Operation names for FailNext.
const (
	OpAccessToken   = "access-token"
	OpApprove       = "approve"
	OpCancel        = "cancel"
	OpNetCancel     = "netcancel"
	OpLookup        = "lookup"
	OpCheckAmount   = "check-amount"
	OpRegist        = "regist"
	OpBillingCharge = "billing-charge"
	OpExpire        = "expire"
	OpReceipt       = "receipt"
)

// FailNext makes the next call of op get fault. Calls queue: two FailNext
// for one op hit the next two calls. Ops: "access-token", "approve",
// "cancel", "netcancel", "lookup" (by tid and by orderId), "check-amount",
// "regist", "billing-charge", "expire", "receipt" (issue, cancel, lookup).
func (f *Fake) FailNext(op string, fault Fault) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.faults[op] = append(f.faults[op], fault)
}

func (f *Fake) takeFault(op string) (Fault, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	q := f.faults[op]
	if len(q) == 0 {
		return Fault{}, false
	}
	f.faults[op] = q[1:]
	return q[0], true
}
