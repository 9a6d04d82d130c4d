package paystate

import (
	"errors"
	"testing"
)

// expect is the decision for one (state, event) pair: a next state, or the
// reason it is refused. Written out in full, independently of the table in
// paystate.go, so that a change to either shows up here.
type expect struct {
	to     State
	reason string
}

func ok(s State) expect       { return expect{to: s} }
func no(reason string) expect { return expect{reason: reason} }

var want = map[State]map[Event]expect{
	Ready: {
		Approve:             ok(Paid),
		MarkPending:         ok(PayPending),
		Fail:                ok(Failed),
		IssueVirtualAccount: ok(VirtualAccountIssued),
		Deposit:             no(ReasonVirtualAccountNotIssued),
		Expire:              no(ReasonVirtualAccountNotIssued),
		CloseVirtualAccount: no(ReasonVirtualAccountNotIssued),
		PartialCancel:       no(ReasonPaymentNotPaid),
		FullCancel:          no(ReasonPaymentNotPaid),
		MatchDeposit:        ok(Paid),
		ExpireOrder:         ok(Expired),
		CloseOrder:          ok(Cancelled),
		Unmatch:             no(ReasonPaymentNotPaid),
	},
	PayPending: {
		Approve:             ok(Paid),
		MarkPending:         no(ReasonPaymentPending),
		Fail:                ok(Failed),
		IssueVirtualAccount: ok(VirtualAccountIssued),
		Deposit:             no(ReasonVirtualAccountNotIssued),
		Expire:              no(ReasonVirtualAccountNotIssued),
		CloseVirtualAccount: no(ReasonVirtualAccountNotIssued),
		PartialCancel:       no(ReasonPaymentNotPaid),
		FullCancel:          no(ReasonPaymentNotPaid),
		MatchDeposit:        no(ReasonPaymentPending),
		ExpireOrder:         no(ReasonPaymentPending),
		CloseOrder:          no(ReasonPaymentPending),
		Unmatch:             no(ReasonPaymentPending),
	},
	VirtualAccountIssued: {
		Approve:             no(ReasonWaitingForDeposit),
		MarkPending:         no(ReasonWaitingForDeposit),
		Fail:                no(ReasonWaitingForDeposit),
		IssueVirtualAccount: no(ReasonVirtualAccountAlreadyIssued),
		Deposit:             ok(Paid),
		Expire:              ok(Expired),
		CloseVirtualAccount: ok(Cancelled),
		PartialCancel:       no(ReasonPaymentNotPaid),
		FullCancel:          no(ReasonPaymentNotPaid),
		MatchDeposit:        no(ReasonWaitingForDeposit),
		ExpireOrder:         no(ReasonWaitingForDeposit),
		CloseOrder:          no(ReasonWaitingForDeposit),
		Unmatch:             no(ReasonPaymentNotPaid),
	},
	Paid: {
		Approve:             no(ReasonAlreadyPaid),
		MarkPending:         no(ReasonAlreadyPaid),
		Fail:                no(ReasonAlreadyPaid),
		IssueVirtualAccount: no(ReasonAlreadyPaid),
		Deposit:             no(ReasonAlreadyPaid),
		Expire:              no(ReasonAlreadyPaid),
		CloseVirtualAccount: no(ReasonAlreadyPaid),
		PartialCancel:       ok(PartialCancelled),
		FullCancel:          ok(Cancelled),
		MatchDeposit:        no(ReasonAlreadyPaid),
		ExpireOrder:         no(ReasonAlreadyPaid),
		CloseOrder:          no(ReasonAlreadyPaid),
		Unmatch:             ok(Ready),
	},
	PartialCancelled: {
		Approve:             no(ReasonAlreadyPaid),
		MarkPending:         no(ReasonAlreadyPaid),
		Fail:                no(ReasonAlreadyPaid),
		IssueVirtualAccount: no(ReasonAlreadyPaid),
		Deposit:             no(ReasonAlreadyPaid),
		Expire:              no(ReasonAlreadyPaid),
		CloseVirtualAccount: no(ReasonAlreadyPaid),
		PartialCancel:       ok(PartialCancelled),
		FullCancel:          ok(Cancelled),
		MatchDeposit:        no(ReasonAlreadyPaid),
		ExpireOrder:         no(ReasonAlreadyPaid),
		CloseOrder:          no(ReasonAlreadyPaid),
		Unmatch:             no(ReasonPaymentPartiallyCancelled),
	},
	Cancelled: {
		Approve:             no(ReasonPaymentAlreadyCancelled),
		MarkPending:         no(ReasonPaymentAlreadyCancelled),
		Fail:                no(ReasonPaymentAlreadyCancelled),
		IssueVirtualAccount: no(ReasonPaymentAlreadyCancelled),
		Deposit:             no(ReasonPaymentAlreadyCancelled),
		Expire:              no(ReasonPaymentAlreadyCancelled),
		CloseVirtualAccount: no(ReasonPaymentAlreadyCancelled),
		PartialCancel:       no(ReasonPaymentAlreadyCancelled),
		FullCancel:          no(ReasonPaymentAlreadyCancelled),
		MatchDeposit:        no(ReasonPaymentAlreadyCancelled),
		ExpireOrder:         no(ReasonPaymentAlreadyCancelled),
		CloseOrder:          no(ReasonPaymentAlreadyCancelled),
		Unmatch:             no(ReasonPaymentAlreadyCancelled),
	},
	Failed: {
		Approve:             no(ReasonPaymentFailed),
		MarkPending:         no(ReasonPaymentFailed),
		Fail:                no(ReasonPaymentFailed),
		IssueVirtualAccount: no(ReasonPaymentFailed),
		Deposit:             no(ReasonPaymentFailed),
		Expire:              no(ReasonPaymentFailed),
		CloseVirtualAccount: no(ReasonPaymentFailed),
		PartialCancel:       no(ReasonPaymentFailed),
		FullCancel:          no(ReasonPaymentFailed),
		MatchDeposit:        no(ReasonPaymentFailed),
		ExpireOrder:         no(ReasonPaymentFailed),
		CloseOrder:          no(ReasonPaymentFailed),
		Unmatch:             no(ReasonPaymentFailed),
	},
	Expired: {
		Approve:             no(ReasonPaymentExpired),
		MarkPending:         no(ReasonPaymentExpired),
		Fail:                no(ReasonPaymentExpired),
		IssueVirtualAccount: no(ReasonPaymentExpired),
		Deposit:             no(ReasonPaymentExpired),
		Expire:              no(ReasonPaymentExpired),
		CloseVirtualAccount: no(ReasonPaymentExpired),
		PartialCancel:       no(ReasonPaymentExpired),
		FullCancel:          no(ReasonPaymentExpired),
		MatchDeposit:        no(ReasonPaymentExpired),
		ExpireOrder:         no(ReasonPaymentExpired),
		CloseOrder:          no(ReasonPaymentExpired),
		Unmatch:             no(ReasonPaymentExpired),
	},
}

// TestNextFullTable checks every (state, event) pair against want, and that
// want and the package table both decide every pair: a new state or event
// without decided transitions fails here.
func TestNextFullTable(t *testing.T) {
	if len(want) != len(States()) {
		t.Errorf("want decides %d states, States() has %d", len(want), len(States()))
	}
	if len(transitions) != len(States()) {
		t.Errorf("transitions has %d states, States() has %d", len(transitions), len(States()))
	}
	for _, from := range States() {
		row, decided := want[from]
		if !decided {
			t.Errorf("test table has no row for state %s", from)
			continue
		}
		if len(row) != len(Events()) {
			t.Errorf("test row %s decides %d events, Events() has %d", from, len(row), len(Events()))
		}
		if len(transitions[from]) != len(Events()) {
			t.Errorf("transitions[%s] decides %d events, Events() has %d", from, len(transitions[from]), len(Events()))
		}
		for _, ev := range Events() {
			w, decided := row[ev]
			if !decided {
				t.Errorf("test table has no expectation for (%s, %s)", from, ev)
				continue
			}
			if _, inTable := transitions[from][ev]; !inTable {
				t.Errorf("transitions has no entry for (%s, %s)", from, ev)
			}
			got, err := Next(from, ev)
			if w.reason == "" {
				if err != nil || got != w.to {
					t.Errorf("Next(%s, %s) = %s, %v; want %s", from, ev, got, err, w.to)
				}
				continue
			}
			var te *TransitionError
			if !errors.As(err, &te) {
				t.Errorf("Next(%s, %s) = %s, %v; want refusal %s", from, ev, got, err, w.reason)
				continue
			}
			if te.Reason != w.reason || te.From != from || te.Event != ev || got != from {
				t.Errorf("Next(%s, %s) = %s, %+v; want %s unchanged and reason %s", from, ev, got, te, from, w.reason)
			}
		}
	}
}

func TestTerminal(t *testing.T) {
	terminal := map[State]bool{Cancelled: true, Failed: true, Expired: true}
	for _, s := range States() {
		if got := s.Terminal(); got != terminal[s] {
			t.Errorf("%s.Terminal() = %v, want %v", s, got, terminal[s])
		}
		// A terminal state has no way out; a non-terminal one has at least one.
		var exits int
		for _, ev := range Events() {
			if next, err := Next(s, ev); err == nil && next != s {
				exits++
			}
		}
		if s.Terminal() != (exits == 0) {
			t.Errorf("%s: Terminal() = %v but %d exits", s, s.Terminal(), exits)
		}
	}
}

// TestReachable checks that every state can be reached from READY.
func TestReachable(t *testing.T) {
	seen := map[State]bool{Ready: true}
	queue := []State{Ready}
	for len(queue) > 0 {
		s := queue[0]
		queue = queue[1:]
		for _, ev := range Events() {
			if next, err := Next(s, ev); err == nil && !seen[next] {
				seen[next] = true
				queue = append(queue, next)
			}
		}
	}
	for _, s := range States() {
		if !seen[s] {
			t.Errorf("state %s is unreachable from READY", s)
		}
	}
}

func TestUnknownInputs(t *testing.T) {
	tests := []struct {
		name   string
		from   State
		ev     Event
		reason string
	}{
		{"unknown state", "DONE", Approve, ReasonUnknownState},
		{"empty state", "", Approve, ReasonUnknownState},
		{"lower-case state", "paid", FullCancel, ReasonUnknownState},
		{"unknown event", Paid, "REFUND", ReasonUnknownEvent},
		{"empty event", Ready, "", ReasonUnknownEvent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Next(tt.from, tt.ev)
			var te *TransitionError
			if !errors.As(err, &te) || te.Reason != tt.reason || got != tt.from {
				t.Fatalf("Next(%q, %q) = %q, %v; want reason %s", tt.from, tt.ev, got, err, tt.reason)
			}
		})
	}
}

func TestValid(t *testing.T) {
	for _, s := range States() {
		if !s.Valid() {
			t.Errorf("%s.Valid() = false", s)
		}
	}
	for _, ev := range Events() {
		if !ev.Valid() {
			t.Errorf("%s.Valid() = false", ev)
		}
	}
	for _, s := range []State{"", "DONE", "paid", "PARTIAL_CANCELED"} {
		if s.Valid() {
			t.Errorf("State(%q).Valid() = true", s)
		}
	}
	for _, ev := range []Event{"", "REFUND", "approve"} {
		if ev.Valid() {
			t.Errorf("Event(%q).Valid() = true", ev)
		}
	}
}

func TestErrorsIs(t *testing.T) {
	_, err := Next(Paid, Deposit)
	if !errors.Is(err, ErrAlreadyPaid) {
		t.Errorf("errors.Is(%v, ErrAlreadyPaid) = false", err)
	}
	if errors.Is(err, ErrPaymentNotPaid) {
		t.Errorf("errors.Is(%v, ErrPaymentNotPaid) = true", err)
	}
	if got, want := err.Error(), "paystate: DEPOSIT refused in state PAID: ALREADY_PAID"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

// TestListsAreCopies checks callers cannot change the package's lists.
func TestListsAreCopies(t *testing.T) {
	States()[0] = "X"
	Events()[0] = "X"
	if States()[0] != Ready || Events()[0] != Approve {
		t.Fatal("States()/Events() expose the package's slices")
	}
}
