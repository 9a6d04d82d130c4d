// Package paystate is the one payment state machine of paymux: which event
// may move a payment from which state to which, and, when an event is
// refused, a stable reason a client can switch on.
//
// The table in transitions below is the single source of truth. Every
// (state, event) pair has an explicit entry, so a new state or event cannot
// be added without deciding all of its transitions (the tests enforce it).
package paystate

import "fmt"

// State is the state of a payment. The names match PortOne V2 (see
// shared/DOMAIN.md §3 for the mapping to iamport, NicePay and Toss).
type State string

// The payment states.
const (
	Ready                State = "READY"
	VirtualAccountIssued State = "VIRTUAL_ACCOUNT_ISSUED"
	PayPending           State = "PAY_PENDING"
	Paid                 State = "PAID"
	PartialCancelled     State = "PARTIAL_CANCELLED"
	Cancelled            State = "CANCELLED"
	Failed               State = "FAILED"
	Expired              State = "EXPIRED"
)

// Event is something that happened to a payment and may change its state.
type Event string

// The payment events.
const (
	// Approve: the PG approved the charge.
	Approve Event = "APPROVE"
	// MarkPending: approval was sent but its outcome is unknown (a PG
	// timeout, a lost answer); a lookup or net-cancel resolves it later with
	// Approve or Fail.
	MarkPending Event = "MARK_PENDING"
	// Fail: declined, abandoned by the buyer, or voided by a net-cancel.
	Fail Event = "FAIL"
	// IssueVirtualAccount: the PG issued a virtual account to pay into.
	IssueVirtualAccount Event = "ISSUE_VIRTUAL_ACCOUNT"
	// Deposit: the PG notified a deposit into the virtual account.
	Deposit Event = "DEPOSIT"
	// Expire: the virtual account's due date passed without a deposit.
	Expire Event = "EXPIRE"
	// CloseVirtualAccount: the merchant closed an unpaid virtual account.
	CloseVirtualAccount Event = "CLOSE_VIRTUAL_ACCOUNT"
	// PartialCancel: part of a paid amount was cancelled; some remains.
	PartialCancel Event = "PARTIAL_CANCEL"
	// FullCancel: the whole remaining paid amount was cancelled.
	FullCancel Event = "FULL_CANCEL"

	// Bank transfer orders (무통장입금) wait in READY for a deposit on the
	// store's own account; no PG takes part.

	// MatchDeposit: a deposit was matched to the order.
	MatchDeposit Event = "MATCH_DEPOSIT"
	// ExpireOrder: the order's match window closed with no deposit.
	ExpireOrder Event = "EXPIRE_ORDER"
	// CloseOrder: the merchant withdrew the unpaid order from matching.
	CloseOrder Event = "CLOSE_ORDER"
	// Unmatch: a match was undone by hand before anything was issued on
	// it; the order waits again.
	Unmatch Event = "UNMATCH"
)

// Reasons a transition is refused. Each names the cause a caller can act
// on; ILLEGAL_TRANSITION is kept for pairs nothing more specific fits (none
// today).
const (
	// The payment (or what is left of it after partial cancels) is paid:
	// approve, deposit, fail, expire and close no longer apply; cancel it.
	ReasonAlreadyPaid = "ALREADY_PAID"
	// A cancel was asked of a payment that was never paid. An unpaid
	// virtual account is closed with CloseVirtualAccount instead.
	ReasonPaymentNotPaid = "PAYMENT_NOT_PAID"
	// The payment is fully cancelled; nothing more can happen to it.
	ReasonPaymentAlreadyCancelled = "PAYMENT_ALREADY_CANCELLED"
	// The payment failed; nothing more can happen to it (use a new
	// merchant payment id to try again).
	ReasonPaymentFailed = "PAYMENT_FAILED"
	// The virtual account expired unpaid; nothing more can happen to it.
	ReasonPaymentExpired = "PAYMENT_EXPIRED"
	// The outcome of an approval is unknown; resolve it (lookup or
	// net-cancel) before trying anything else.
	ReasonPaymentPending = "PAYMENT_PENDING"
	// Deposit, Expire and CloseVirtualAccount need an issued virtual account.
	ReasonVirtualAccountNotIssued = "VIRTUAL_ACCOUNT_NOT_ISSUED"
	// A virtual account is already issued for this payment.
	ReasonVirtualAccountAlreadyIssued = "VIRTUAL_ACCOUNT_ALREADY_ISSUED"
	// An issued virtual account is settled only by Deposit, Expire or
	// CloseVirtualAccount, not by an approval or a failure.
	ReasonWaitingForDeposit = "WAITING_FOR_DEPOSIT"
	// Part of the payment was cancelled: a match can no longer be undone.
	ReasonPaymentPartiallyCancelled = "PAYMENT_PARTIALLY_CANCELLED"
	// Generic refusal, only where nothing more specific fits.
	ReasonIllegalTransition = "ILLEGAL_TRANSITION"
	// The state or the event is not one of this package's constants.
	ReasonUnknownState = "UNKNOWN_STATE"
	ReasonUnknownEvent = "UNKNOWN_EVENT"
)

// TransitionError is a refused transition.
type TransitionError struct {
	From   State
	Event  Event
	Reason string // one of the Reason constants
}

func (e *TransitionError) Error() string {
	return fmt.Sprintf("paystate: %s refused in state %s: %s", e.Event, e.From, e.Reason)
}

// Is reports whether target is a TransitionError with the same reason, so
// errors.Is(err, paystate.ErrAlreadyPaid) works whatever the state and event.
func (e *TransitionError) Is(target error) bool {
	t, ok := target.(*TransitionError)
	return ok && t.Reason == e.Reason
}

// Sentinels for errors.Is, one per reason.
var (
	ErrAlreadyPaid                 = &TransitionError{Reason: ReasonAlreadyPaid}
	ErrPaymentNotPaid              = &TransitionError{Reason: ReasonPaymentNotPaid}
	ErrPaymentAlreadyCancelled     = &TransitionError{Reason: ReasonPaymentAlreadyCancelled}
	ErrPaymentFailed               = &TransitionError{Reason: ReasonPaymentFailed}
	ErrPaymentExpired              = &TransitionError{Reason: ReasonPaymentExpired}
	ErrPaymentPending              = &TransitionError{Reason: ReasonPaymentPending}
	ErrVirtualAccountNotIssued     = &TransitionError{Reason: ReasonVirtualAccountNotIssued}
	ErrVirtualAccountAlreadyIssued = &TransitionError{Reason: ReasonVirtualAccountAlreadyIssued}
	ErrWaitingForDeposit           = &TransitionError{Reason: ReasonWaitingForDeposit}
	ErrPaymentPartiallyCancelled   = &TransitionError{Reason: ReasonPaymentPartiallyCancelled}
	ErrIllegalTransition           = &TransitionError{Reason: ReasonIllegalTransition}
	ErrUnknownState                = &TransitionError{Reason: ReasonUnknownState}
	ErrUnknownEvent                = &TransitionError{Reason: ReasonUnknownEvent}
)

// outcome is one cell of the table: either a next state or a refusal reason.
type outcome struct {
	to     State
	reason string
}

func to(s State) outcome           { return outcome{to: s} }
func refuse(reason string) outcome { return outcome{reason: reason} }

// paidRefusals is the row shared by PAID and PARTIAL_CANCELLED for every
// event that is not a cancel: money was taken, so only cancels apply. A
// duplicate deposit notice or a late expiry notice lands here too, and
// ALREADY_PAID tells the caller it is a duplicate to ignore.
var paidRefusals = map[Event]outcome{
	Approve:             refuse(ReasonAlreadyPaid),
	MarkPending:         refuse(ReasonAlreadyPaid),
	Fail:                refuse(ReasonAlreadyPaid),
	IssueVirtualAccount: refuse(ReasonAlreadyPaid),
	Deposit:             refuse(ReasonAlreadyPaid),
	Expire:              refuse(ReasonAlreadyPaid),
	CloseVirtualAccount: refuse(ReasonAlreadyPaid),
	MatchDeposit:        refuse(ReasonAlreadyPaid),
	ExpireOrder:         refuse(ReasonAlreadyPaid),
	CloseOrder:          refuse(ReasonAlreadyPaid),
}

// transitions is the whole state machine: transitions[from][event].
var transitions = map[State]map[Event]outcome{
	Ready: {
		Approve:             to(Paid),
		MarkPending:         to(PayPending),
		Fail:                to(Failed),
		IssueVirtualAccount: to(VirtualAccountIssued),
		Deposit:             refuse(ReasonVirtualAccountNotIssued),
		Expire:              refuse(ReasonVirtualAccountNotIssued),
		CloseVirtualAccount: refuse(ReasonVirtualAccountNotIssued),
		PartialCancel:       refuse(ReasonPaymentNotPaid),
		FullCancel:          refuse(ReasonPaymentNotPaid),
		MatchDeposit:        to(Paid),
		ExpireOrder:         to(Expired),
		CloseOrder:          to(Cancelled),
		Unmatch:             refuse(ReasonPaymentNotPaid),
	},
	PayPending: {
		Approve: to(Paid),
		// A second approval while the first one's outcome is unknown could
		// charge twice: resolve the pending one first.
		MarkPending: refuse(ReasonPaymentPending),
		Fail:        to(Failed),
		// A window's approval issued an account (NicePay's window).
		IssueVirtualAccount: to(VirtualAccountIssued),
		Deposit:             refuse(ReasonVirtualAccountNotIssued),
		Expire:              refuse(ReasonVirtualAccountNotIssued),
		CloseVirtualAccount: refuse(ReasonVirtualAccountNotIssued),
		// Voiding an unknown charge is a net-cancel, recorded as Fail.
		PartialCancel: refuse(ReasonPaymentNotPaid),
		FullCancel:    refuse(ReasonPaymentNotPaid),
		MatchDeposit:  refuse(ReasonPaymentPending),
		ExpireOrder:   refuse(ReasonPaymentPending),
		CloseOrder:    refuse(ReasonPaymentPending),
		Unmatch:       refuse(ReasonPaymentPending),
	},
	VirtualAccountIssued: {
		Approve:             refuse(ReasonWaitingForDeposit),
		MarkPending:         refuse(ReasonWaitingForDeposit),
		Fail:                refuse(ReasonWaitingForDeposit),
		IssueVirtualAccount: refuse(ReasonVirtualAccountAlreadyIssued),
		Deposit:             to(Paid),
		Expire:              to(Expired),
		CloseVirtualAccount: to(Cancelled),
		PartialCancel:       refuse(ReasonPaymentNotPaid),
		FullCancel:          refuse(ReasonPaymentNotPaid),
		MatchDeposit:        refuse(ReasonWaitingForDeposit),
		ExpireOrder:         refuse(ReasonWaitingForDeposit),
		CloseOrder:          refuse(ReasonWaitingForDeposit),
		Unmatch:             refuse(ReasonPaymentNotPaid),
	},
	Paid: withCancels(paidRefusals, to(Ready)),
	// A partially cancelled payment is still (partly) paid: same row, but
	// its match stands: money went back on it.
	PartialCancelled: withCancels(paidRefusals, refuse(ReasonPaymentPartiallyCancelled)),
	Cancelled:        refuseAll(ReasonPaymentAlreadyCancelled),
	Failed:           refuseAll(ReasonPaymentFailed),
	Expired:          refuseAll(ReasonPaymentExpired),
}

// withCancels is row plus the two cancel transitions of a paid payment,
// and what undoing its match does.
func withCancels(row map[Event]outcome, unmatch outcome) map[Event]outcome {
	out := make(map[Event]outcome, len(row)+3)
	for ev, o := range row {
		out[ev] = o
	}
	out[Unmatch] = unmatch
	out[PartialCancel] = to(PartialCancelled)
	out[FullCancel] = to(Cancelled)
	return out
}

// refuseAll is the row of a terminal state: every event refused for reason.
func refuseAll(reason string) map[Event]outcome {
	out := make(map[Event]outcome, len(allEvents))
	for _, ev := range allEvents {
		out[ev] = refuse(reason)
	}
	return out
}

var allStates = []State{
	Ready, VirtualAccountIssued, PayPending, Paid, PartialCancelled, Cancelled, Failed, Expired,
}

var allEvents = []Event{
	Approve, MarkPending, Fail, IssueVirtualAccount, Deposit, Expire, CloseVirtualAccount,
	PartialCancel, FullCancel, MatchDeposit, ExpireOrder, CloseOrder, Unmatch,
}

// States returns every state, in lifecycle order.
func States() []State { return append([]State(nil), allStates...) }

// Events returns every event.
func Events() []Event { return append([]Event(nil), allEvents...) }

// Valid reports whether s is one of the State constants.
func (s State) Valid() bool {
	_, ok := transitions[s]
	return ok
}

// Terminal reports whether nothing can happen to a payment in s any more.
func (s State) Terminal() bool {
	return s == Cancelled || s == Failed || s == Expired
}

// Valid reports whether ev is one of the Event constants.
func (ev Event) Valid() bool {
	for _, known := range allEvents {
		if ev == known {
			return true
		}
	}
	return false
}

// Next returns the state a payment in from moves to on ev. A refused event
// returns from unchanged and a *TransitionError saying why.
func Next(from State, ev Event) (State, error) {
	row, ok := transitions[from]
	if !ok {
		return from, &TransitionError{From: from, Event: ev, Reason: ReasonUnknownState}
	}
	o, ok := row[ev]
	if !ok {
		if !ev.Valid() {
			return from, &TransitionError{From: from, Event: ev, Reason: ReasonUnknownEvent}
		}
		// Unreachable while the table is complete (the tests check it).
		return from, &TransitionError{From: from, Event: ev, Reason: ReasonIllegalTransition}
	}
	if o.reason != "" {
		return from, &TransitionError{From: from, Event: ev, Reason: o.reason}
	}
	return o.to, nil
}
