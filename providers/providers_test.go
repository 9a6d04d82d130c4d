package providers_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/paymux/paymux/providers"
)

func TestOutcomeUnknown(t *testing.T) {
	perr := func(k providers.Kind) error { return &providers.Error{Kind: k, Provider: "p", Op: "Approve"} }
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"declined", perr(providers.KindDeclined), false},
		{"invalid", perr(providers.KindInvalidRequest), false},
		{"unauthorized", perr(providers.KindUnauthorized), false},
		{"not found", perr(providers.KindNotFound), false},
		{"already done", perr(providers.KindAlreadyDone), false},
		{"unavailable", perr(providers.KindUnavailable), true},
		{"timeout", perr(providers.KindTimeout), true},
		{"zero kind", perr(providers.KindUnknown), true},
		{"wrapped timeout", fmt.Errorf("approve: %w", perr(providers.KindTimeout)), true},
		{"wrapped declined", fmt.Errorf("approve: %w", perr(providers.KindDeclined)), false},
		{"deadline", context.DeadlineExceeded, true},
		{"canceled", context.Canceled, true},
		{"plain", errors.New("boom"), true},
		{"not supported", providers.NotSupported("p", "KeyIn"), false},
	} {
		if got := providers.OutcomeUnknown(tc.err); got != tc.want {
			t.Errorf("%s: OutcomeUnknown = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestErrorForms(t *testing.T) {
	e := &providers.Error{Kind: providers.KindDeclined, Decline: providers.DeclineInsufficientFunds,
		Code: "3095", Message: "카드사 실패 응답", Provider: "nicepay", Op: "Approve"}
	if got := e.Error(); got != "nicepay Approve: DECLINED (INSUFFICIENT_FUNDS): [3095] 카드사 실패 응답" {
		t.Errorf("Error() = %q", got)
	}
	wrapped := fmt.Errorf("pay: %w", e)
	if providers.KindOf(wrapped) != providers.KindDeclined || !providers.IsKind(wrapped, providers.KindDeclined) {
		t.Error("KindOf does not see through wrapping")
	}
	if providers.KindOf(errors.New("x")) != providers.KindUnknown || providers.IsKind(nil, providers.KindUnknown) {
		t.Error("KindOf of a plain error / nil")
	}
	cause := errors.New("read tcp: i/o timeout")
	te := &providers.Error{Kind: providers.KindTimeout, Err: cause}
	if !errors.Is(te, cause) {
		t.Error("Unwrap does not reach the cause")
	}
	ce := providers.ContextError("toss", "Approve", context.DeadlineExceeded)
	if ce.Kind != providers.KindTimeout || !errors.Is(ce, context.DeadlineExceeded) || !providers.OutcomeUnknown(ce) {
		t.Errorf("ContextError(deadline) = %v", ce)
	}
	if providers.ContextError("toss", "Approve", context.Canceled).Kind != providers.KindUnavailable {
		t.Error("ContextError(canceled) is not Unavailable")
	}
	if providers.Kind(99).String() != "Kind(99)" {
		t.Error("unknown kind name")
	}
}

func TestNotSupported(t *testing.T) {
	err := providers.NotSupported("kcp", "ChargeKeyIn")
	if !errors.Is(err, providers.ErrNotSupported) || !strings.Contains(err.Error(), "kcp: ChargeKeyIn") {
		t.Fatalf("NotSupported = %v", err)
	}
}

// minimal embeds Unsupported: it must satisfy Provider and refuse everything.
type minimal struct{ providers.Unsupported }

func (minimal) Name() string                         { return "minimal" }
func (minimal) Capabilities() providers.Capabilities { return providers.CapNetCancel }

func TestUnsupported(t *testing.T) {
	var p providers.Provider = minimal{providers.Unsupported{Provider: "minimal"}}
	ctx, ch := context.Background(), providers.Channel{}
	errs := []error{}
	add := func(_ any, err error) { errs = append(errs, err) }
	add(p.PrepareWindow(ctx, ch, providers.PrepareWindowRequest{}))
	add(p.Approve(ctx, ch, providers.ApproveRequest{}))
	add(p.Lookup(ctx, ch, providers.LookupRequest{}))
	add(p.Cancel(ctx, ch, providers.CancelRequest{}))
	add(p.NetCancel(ctx, ch, providers.NetCancelRequest{}))
	add(p.ChargeKeyIn(ctx, ch, providers.KeyInRequest{}))
	add(p.IssueBillingKey(ctx, ch, providers.IssueBillingKeyRequest{}))
	add(p.ChargeBillingKey(ctx, ch, providers.ChargeBillingKeyRequest{}))
	add(p.DeleteBillingKey(ctx, ch, providers.DeleteBillingKeyRequest{}))
	add(p.IssueVirtualAccount(ctx, ch, providers.IssueVirtualAccountRequest{}))
	add(p.CloseVirtualAccount(ctx, ch, providers.CloseVirtualAccountRequest{}))
	add(p.IssueCashReceipt(ctx, ch, providers.IssueCashReceiptRequest{}))
	add(p.CancelCashReceipt(ctx, ch, providers.CancelCashReceiptRequest{}))
	add(p.LookupCashReceipt(ctx, ch, providers.LookupCashReceiptRequest{}))
	add(p.ParseNotification(ctx, ch, providers.Notification{}))
	if len(errs) != 15 {
		t.Fatalf("checked %d methods", len(errs))
	}
	for i, err := range errs {
		if !errors.Is(err, providers.ErrNotSupported) || providers.OutcomeUnknown(err) {
			t.Errorf("method %d: %v", i, err)
		}
	}
}

func TestCapabilities(t *testing.T) {
	c := providers.CapPartialCancel | providers.CapNetCancel
	if !c.Has(providers.CapNetCancel) || c.Has(providers.CapNetCancel|providers.CapKeyIn) {
		t.Error("Has")
	}
	if c.Missing(providers.CapKeyIn|providers.CapNetCancel) != providers.CapKeyIn {
		t.Error("Missing")
	}
	if got := c.String(); got != "PARTIAL_CANCEL|NET_CANCEL" {
		t.Errorf("String = %q", got)
	}
	if providers.Capabilities(0).String() != "NONE" {
		t.Error("empty String")
	}
	all := providers.AllCapabilities.String()
	if strings.Contains(all, "BIT") || strings.Count(all, "|") != 19 {
		t.Errorf("every flag needs a name: %s", all)
	}
	p := minimal{}
	if err := providers.Require(p, providers.CapNetCancel); err != nil {
		t.Errorf("Require(held) = %v", err)
	}
	err := providers.Require(p, providers.CapKeyIn|providers.CapNetCancel)
	if !errors.Is(err, providers.ErrNotSupported) || !strings.Contains(err.Error(), "KEY_IN") || strings.Contains(err.Error(), "NET_CANCEL") {
		t.Errorf("Require(missing) = %v", err)
	}
}

func TestParseBank(t *testing.T) {
	for in, want := range map[string]providers.Bank{
		"088": providers.BankShinhan, "88": providers.BankShinhan, "00000088": providers.BankShinhan,
		"4": providers.BankKB, "020": providers.BankWoori, " 092 ": providers.BankToss,
	} {
		got, err := providers.ParseBank(in)
		if err != nil || got != want {
			t.Errorf("ParseBank(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", "999", "BK04", "-4", "1088", "0000000000000088"} {
		if got, err := providers.ParseBank(in); err == nil {
			t.Errorf("ParseBank(%q) = %q, want an error", in, got)
		}
	}
	for _, b := range providers.Banks() {
		if !b.Valid() || b.Name() == "" || b.KoreanName() == "" || len(b) != 3 {
			t.Errorf("bank %q incomplete", b)
		}
	}
	if providers.Bank("999").Valid() || providers.Bank("999").Name() != "" {
		t.Error("unknown bank is valid")
	}
}

func TestParseCardCompany(t *testing.T) {
	for in, want := range map[string]providers.CardCompany{"361": providers.CardBC, "41": providers.CardWoori, "041": providers.CardWoori} {
		if got, err := providers.ParseCardCompany(in); err != nil || got != want {
			t.Errorf("ParseCardCompany(%q) = %q, %v", in, got, err)
		}
	}
	if _, err := providers.ParseCardCompany("01"); err == nil {
		t.Error("NicePay's 01 is not a KFTC code")
	}
	for _, c := range providers.CardCompanies() {
		if !c.Valid() || c.Name() == "" || c.KoreanName() == "" {
			t.Errorf("card company %q incomplete", c)
		}
	}
}

func TestPaymentClone(t *testing.T) {
	p := &providers.Payment{
		PGTransactionID: "t",
		Card:            &providers.CardInfo{Number: "941000******0005"},
		VirtualAccount:  &providers.VirtualAccount{AccountNumber: "1"},
		Failure:         &providers.Error{Code: "x"},
		Cancellations:   []providers.Cancellation{{ID: "c", Refund: &providers.Refund{Status: providers.RefundPending}}},
	}
	c := p.Clone()
	c.Card.Number = "changed"
	c.VirtualAccount.AccountNumber = "2"
	c.Failure.Code = "y"
	c.Cancellations[0].Refund.Status = providers.RefundCompleted
	c.Cancellations[0].ID = "d"
	if p.Card.Number != "941000******0005" || p.VirtualAccount.AccountNumber != "1" || p.Failure.Code != "x" ||
		p.Cancellations[0].Refund.Status != providers.RefundPending || p.Cancellations[0].ID != "c" {
		t.Fatal("Clone shares memory with the original")
	}
	var nilp *providers.Payment
	if nilp.Clone() != nil {
		t.Fatal("nil Clone")
	}
}

func TestAmountsHelpers(t *testing.T) {
	a := providers.Amounts{Total: 11000, TaxFree: 1000, VAT: 909, Paid: 11000, Cancelled: 3000}
	if a.Supply() != 9091 || a.Cancellable() != 8000 {
		t.Errorf("Supply %d Cancellable %d", a.Supply(), a.Cancellable())
	}
}
