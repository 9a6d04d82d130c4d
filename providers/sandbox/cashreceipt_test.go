package sandbox_test

import (
	"testing"
	"time"

	"github.com/paymux/paymux/providers"
	"github.com/paymux/paymux/providers/sandbox"
)

func income(id string) providers.CashReceiptSubject {
	return providers.CashReceiptSubject{Type: providers.CashReceiptIncomeDeduction, Identity: providers.NewRedacted(id)}
}

func TestCashReceiptLifecycle(t *testing.T) {
	clock := sandbox.NewManualClock(t0)
	sb := sandbox.New(sandbox.Options{Now: clock.Now, CashReceiptDelay: 10 * time.Minute})
	ch := providers.Channel{MerchantID: "m"}

	r, err := sb.IssueCashReceipt(ctx, ch, providers.IssueCashReceiptRequest{OrderID: "cr-1", OrderName: "입금",
		Amount: providers.Amount{Total: 11_000, TaxFree: 1_000}, Subject: income("01012345678")})
	noErr(t, err)
	if r.Status != providers.CashReceiptRequested || r.ReceiptID == "" || r.ApprovalNumber != "" || r.Amounts.VAT != 909 || !r.RequestedAt.Equal(t0) {
		t.Fatalf("requested = %+v", r)
	}
	clock.Advance(9 * time.Minute)
	got, err := sb.LookupCashReceipt(ctx, ch, providers.LookupCashReceiptRequest{ReceiptID: r.ReceiptID})
	noErr(t, err)
	if got.Status != providers.CashReceiptRequested {
		t.Fatalf("before the delay: %s", got.Status)
	}
	clock.Advance(time.Minute)
	got, err = sb.LookupCashReceipt(ctx, ch, providers.LookupCashReceiptRequest{OrderID: "cr-1"})
	noErr(t, err)
	if got.Status != providers.CashReceiptIssued || got.ApprovalNumber == "" || !got.IssuedAt.Equal(t0.Add(10*time.Minute)) {
		t.Fatalf("after the delay: %+v", got)
	}

	// Partial cancel with the tax split, then the rest.
	c1, err := sb.CancelCashReceipt(ctx, ch, providers.CancelCashReceiptRequest{ReceiptID: r.ReceiptID, Amount: 5_500, TaxFree: i64(500), IdempotencyKey: "x"})
	noErr(t, err)
	if c1.Status != providers.CashReceiptPartialCancelled || c1.Amounts.Cancelled != 5_500 || c1.Amounts.CancelledTaxFree != 500 || c1.Amounts.CancelledVAT != 455 {
		t.Fatalf("partial = %+v", c1.Amounts)
	}
	c1b, err := sb.CancelCashReceipt(ctx, ch, providers.CancelCashReceiptRequest{ReceiptID: r.ReceiptID, Amount: 5_500, TaxFree: i64(500), IdempotencyKey: "x"})
	noErr(t, err)
	if c1b.Amounts.Cancelled != 5_500 {
		t.Fatal("a retried receipt cancel cancelled again")
	}
	_, err = sb.CancelCashReceipt(ctx, ch, providers.CancelCashReceiptRequest{ReceiptID: r.ReceiptID, Amount: 100, IdempotencyKey: "x"})
	wantErr(t, err, providers.KindInvalidRequest, "IDEMPOTENCY_KEY_REUSED")
	_, err = sb.CancelCashReceipt(ctx, ch, providers.CancelCashReceiptRequest{ReceiptID: r.ReceiptID, Amount: 6_000})
	wantErr(t, err, providers.KindInvalidRequest, "CANCEL_AMOUNT_EXCEEDS_CANCELLABLE_AMOUNT")
	c2, err := sb.CancelCashReceipt(ctx, ch, providers.CancelCashReceiptRequest{OrderID: "cr-1"})
	noErr(t, err)
	if c2.Status != providers.CashReceiptCancelled || c2.Amounts.CancelledVAT != 909 || c2.Amounts.CancelledTaxFree != 1_000 || c2.CancelledAt.IsZero() {
		t.Fatalf("full = %+v", c2)
	}
	_, err = sb.CancelCashReceipt(ctx, ch, providers.CancelCashReceiptRequest{OrderID: "cr-1"})
	wantErr(t, err, providers.KindAlreadyDone, "CASH_RECEIPT_ALREADY_CANCELLED")
}

func TestCashReceiptFailureAndChecks(t *testing.T) {
	sb, _, ch := setup(t)
	f, err := sb.IssueCashReceipt(ctx, ch, providers.IssueCashReceiptRequest{OrderID: "f", Amount: krw(5_000),
		Subject: providers.CashReceiptSubject{Type: providers.CashReceiptExpenseProof, Identity: providers.NewRedacted(sandbox.FailingCashReceiptIdentity)}})
	noErr(t, err)
	if f.Status != providers.CashReceiptRequested {
		t.Fatalf("issue answers %s", f.Status)
	}
	got, err := sb.LookupCashReceipt(ctx, ch, providers.LookupCashReceiptRequest{ReceiptID: f.ReceiptID})
	noErr(t, err)
	if got.Status != providers.CashReceiptFailed || got.Failure == nil || got.Failure.Code != "SB_CR_REJECTED" || got.ApprovalNumber != "" {
		t.Fatalf("failing identity: %+v", got)
	}
	_, err = sb.CancelCashReceipt(ctx, ch, providers.CancelCashReceiptRequest{ReceiptID: f.ReceiptID})
	wantErr(t, err, providers.KindInvalidRequest, "CASH_RECEIPT_NOT_ISSUED")

	// A receipt still REQUESTED is withdrawn whole, not in part.
	clock := sandbox.NewManualClock(t0)
	slow := sandbox.New(sandbox.Options{Now: clock.Now, CashReceiptDelay: time.Hour})
	w, err := slow.IssueCashReceipt(ctx, ch, providers.IssueCashReceiptRequest{OrderID: "w", Amount: krw(5_000), Subject: income("1234567890123456")})
	noErr(t, err)
	_, err = slow.CancelCashReceipt(ctx, ch, providers.CancelCashReceiptRequest{ReceiptID: w.ReceiptID, Amount: 1_000})
	wantErr(t, err, providers.KindInvalidRequest, "CASH_RECEIPT_NOT_ISSUED")
	wd, err := slow.CancelCashReceipt(ctx, ch, providers.CancelCashReceiptRequest{ReceiptID: w.ReceiptID})
	noErr(t, err)
	if wd.Status != providers.CashReceiptCancelled {
		t.Fatalf("withdrawn = %s", wd.Status)
	}
	clock.Advance(2 * time.Hour)
	wl, err := slow.LookupCashReceipt(ctx, ch, providers.LookupCashReceiptRequest{ReceiptID: w.ReceiptID})
	noErr(t, err)
	if wl.Status != providers.CashReceiptCancelled {
		t.Fatalf("a withdrawn receipt became %s", wl.Status)
	}

	for _, tc := range []struct {
		req  providers.IssueCashReceiptRequest
		code string
	}{
		{providers.IssueCashReceiptRequest{Amount: krw(1000), Subject: income("01012345678")}, "ORDER_ID_REQUIRED"},
		{providers.IssueCashReceiptRequest{OrderID: "a", Amount: krw(1000), Subject: income("010-1234")}, "INVALID_IDENTITY"},
		{providers.IssueCashReceiptRequest{OrderID: "b", Amount: krw(1000), Subject: income("123456789012")}, "INVALID_IDENTITY"},
		{providers.IssueCashReceiptRequest{OrderID: "c", Amount: krw(1000),
			Subject: providers.CashReceiptSubject{Type: providers.CashReceiptExpenseProof, Identity: providers.NewRedacted("01012345678")}}, "INVALID_IDENTITY"},
		{providers.IssueCashReceiptRequest{OrderID: "d", Amount: krw(1000), Subject: providers.CashReceiptSubject{Type: "OTHER"}}, "INVALID_CASH_RECEIPT_TYPE"},
		{providers.IssueCashReceiptRequest{OrderID: "e", Amount: krw(0), Subject: income("01012345678")}, "INVALID_TOTAL_AMOUNT"},
	} {
		_, err := sb.IssueCashReceipt(ctx, ch, tc.req)
		wantErr(t, err, providers.KindInvalidRequest, tc.code)
	}
	_, err = sb.IssueCashReceipt(ctx, ch, providers.IssueCashReceiptRequest{OrderID: "g", Amount: krw(1000), Subject: income("01012345678"),
		PGTransactionID: "sbx_pay_999999"})
	wantErr(t, err, providers.KindNotFound, "PAYMENT_NOT_FOUND")

	// The order id guards against a second receipt; the same request replays.
	req := providers.IssueCashReceiptRequest{OrderID: "h", Amount: krw(1000), Subject: income("01012345678"), IdempotencyKey: "h-1"}
	r1, err := sb.IssueCashReceipt(ctx, ch, req)
	noErr(t, err)
	r2, err := sb.IssueCashReceipt(ctx, ch, req)
	noErr(t, err)
	if r1.ReceiptID != r2.ReceiptID || r2.Status != providers.CashReceiptIssued {
		t.Fatalf("replay = %+v", r2)
	}
	other := req
	other.Amount = krw(2000)
	_, err = sb.IssueCashReceipt(ctx, ch, other)
	wantErr(t, err, providers.KindInvalidRequest, "IDEMPOTENCY_KEY_REUSED")
	other.IdempotencyKey = ""
	_, err = sb.IssueCashReceipt(ctx, ch, other)
	wantErr(t, err, providers.KindAlreadyDone, "DUPLICATED_ORDER_ID")

	_, err = sb.LookupCashReceipt(ctx, ch, providers.LookupCashReceiptRequest{})
	wantErr(t, err, providers.KindInvalidRequest, "ID_REQUIRED")
	_, err = sb.LookupCashReceipt(ctx, ch, providers.LookupCashReceiptRequest{ReceiptID: r1.ReceiptID, OrderID: "other"})
	wantErr(t, err, providers.KindNotFound, "CASH_RECEIPT_NOT_FOUND")
	_, err = sb.CancelCashReceipt(ctx, ch, providers.CancelCashReceiptRequest{OrderID: "nope"})
	wantErr(t, err, providers.KindNotFound, "CASH_RECEIPT_NOT_FOUND")
}
