package tossfake

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

// Decline is a card-company refusal: the call is answered HTTP 403 (codes
// starting REJECT_) or 400 (others, or the status the fake knows for the
// code) with {code, message} ("" message = the fake's message for code) and
// nothing is charged. On "confirm" the payment becomes ABORTED with
// failure {code, message} (and PAYMENT_STATUS_CHANGED is sent); on the other
// operations nothing is recorded.
func Decline(code, message string) Fault {
	return Fault{kind: faultDecline, code: code, message: message}
}

var (
	// Unavailable answers HTTP 500 {"code":"FAILED_INTERNAL_SYSTEM_PROCESSING"}
	// and does nothing.
	Unavailable = Fault{kind: faultUnavailable}
	// TimeoutBeforeCharge holds the request until the client gives up (its
	// context ends) or the fake closes, having done nothing.
	TimeoutBeforeCharge = Fault{kind: faultTimeoutBefore}
	// LoseAnswer does the operation (and sends its webhooks and keeps its
	// answer under the Idempotency-Key), then closes the connection without
	// answering.
	LoseAnswer = Fault{kind: faultLoseAnswer}
	// TimeoutAfterCharge does the operation (webhooks and the kept answer
	// included), then holds the request until the client gives up: a read
	// timeout after the charge. Unlike a dropped connection, a client whose
	// deadline passed does not resend the request by itself.
	TimeoutAfterCharge = Fault{kind: faultTimeoutAfter}
)

// FailNext makes the next call of op get fault. Calls queue: two FailNext
// for one op hit the next two calls. Ops: "confirm", "cancel", "lookup"
// (by paymentKey and by orderId), "key-in", "billing-issue" (from authKey
// and from card), "billing-charge", "billing-delete", "virtual-account",
// "cash-receipt" (issue, cancel, list). A call answered from the
// Idempotency-Key store, refused by authentication or by
// TossPayments-Test-Code does not take a fault.
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
