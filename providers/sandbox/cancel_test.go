package sandbox_test

import (
	"fmt"
	"sync"
	"testing"

	"github.com/paymux/paymux/providers"
	"github.com/paymux/paymux/providers/sandbox"
)

// TestCancelBookkeeping runs cancel sequences and checks each answer and the
// payment's books after it.
func TestCancelBookkeeping(t *testing.T) {
	type step struct {
		amount          int64
		taxFree, vat    *int64
		guard           *int64
		code            string // "" : accepted
		kind            providers.Kind
		wantTF, wantVAT int64 // the cancel's split
		wantStatus      providers.Status
		wantCancellable int64
	}
	for _, tc := range []struct {
		name   string
		amount providers.Amount
		steps  []step
	}{
		{
			name:   "partials then the rest",
			amount: krw(30_000), // VAT 2,727
			steps: []step{
				{amount: 10_000, wantVAT: 909, wantStatus: providers.StatusPartialCancelled, wantCancellable: 20_000},
				{amount: 10_000, wantVAT: 909, wantStatus: providers.StatusPartialCancelled, wantCancellable: 10_000},
				{amount: 10_001, kind: providers.KindInvalidRequest, code: "CANCEL_AMOUNT_EXCEEDS_CANCELLABLE_AMOUNT"},
				{amount: 0, wantVAT: 909, wantStatus: providers.StatusCancelled, wantCancellable: 0},
				{amount: 1, kind: providers.KindAlreadyDone, code: "PAYMENT_ALREADY_CANCELLED"},
			},
		},
		{
			name:   "last cancel takes the VAT left",
			amount: krw(10_000), // VAT 909
			steps: []step{
				{amount: 3_333, wantVAT: 303, wantStatus: providers.StatusPartialCancelled, wantCancellable: 6_667},
				{amount: 3_333, wantVAT: 303, wantStatus: providers.StatusPartialCancelled, wantCancellable: 3_334},
				{amount: 3_334, wantVAT: 303, wantStatus: providers.StatusCancelled}, // 909 - 606
			},
		},
		{
			name:   "tax-free parts",
			amount: providers.Amount{Total: 21_000, TaxFree: 10_000}, // taxable 11,000, VAT 1,000
			steps: []step{
				{amount: 5_000, taxFree: i64(5_000), wantTF: 5_000, wantVAT: 0, wantStatus: providers.StatusPartialCancelled, wantCancellable: 16_000},
				{amount: 6_000, taxFree: i64(6_000), kind: providers.KindInvalidRequest, code: "CANCEL_TAX_FREE_AMOUNT_EXCEEDS_CANCELLABLE_TAX_FREE_AMOUNT"},
				{amount: 100, taxFree: i64(101), kind: providers.KindInvalidRequest, code: "INVALID_CANCEL_TAX_FREE_AMOUNT"},
				{amount: 11_000, wantTF: 0, wantVAT: 1_000, wantStatus: providers.StatusPartialCancelled, wantCancellable: 5_000},
				// Only tax-free is left: an unspecified split takes it.
				{amount: 2_000, wantTF: 2_000, wantStatus: providers.StatusPartialCancelled, wantCancellable: 3_000},
				{amount: 1_000, taxFree: i64(0), kind: providers.KindInvalidRequest, code: "CANCEL_TAX_AMOUNT_EXCEEDS_CANCELLABLE_TAX_AMOUNT"},
				{amount: 0, wantTF: 3_000, wantStatus: providers.StatusCancelled},
			},
		},
		{
			name:   "explicit VAT",
			amount: krw(11_000), // VAT 1,000, supply 10,000
			steps: []step{
				{amount: 1_100, vat: i64(1_101), kind: providers.KindInvalidRequest, code: "INVALID_CANCEL_VAT_AMOUNT"},
				{amount: 1_100, vat: i64(-1), kind: providers.KindInvalidRequest, code: "INVALID_CANCEL_VAT_AMOUNT"},
				{amount: 5_500, vat: i64(900), wantVAT: 900, wantStatus: providers.StatusPartialCancelled, wantCancellable: 5_500},
				// Left: 5,500 = supply 5,400 + VAT 100.
				{amount: 2_000, vat: i64(101), kind: providers.KindInvalidRequest, code: "CANCEL_VAT_AMOUNT_EXCEEDS_CANCELLABLE_VAT_AMOUNT"},
				{amount: 5_500, vat: i64(0), kind: providers.KindInvalidRequest, code: "CANCEL_SUPPLY_AMOUNT_EXCEEDS_CANCELLABLE_SUPPLY_AMOUNT"},
				// Unspecified: 5,000/11 = 455, capped at the 100 left.
				{amount: 5_000, wantVAT: 100, wantStatus: providers.StatusPartialCancelled, wantCancellable: 500},
				{amount: 0, wantVAT: 0, wantStatus: providers.StatusCancelled},
			},
		},
		{
			name:   "guard",
			amount: krw(20_000),
			steps: []step{
				{amount: 5_000, guard: i64(19_000), kind: providers.KindInvalidRequest, code: "CANCELLABLE_AMOUNT_CONSISTENCY_BROKEN"},
				{amount: 5_000, guard: i64(20_000), wantVAT: 455, wantStatus: providers.StatusPartialCancelled, wantCancellable: 15_000},
				{amount: 5_000, guard: i64(20_000), kind: providers.KindInvalidRequest, code: "CANCELLABLE_AMOUNT_CONSISTENCY_BROKEN"},
				{amount: -1, kind: providers.KindInvalidRequest, code: "INVALID_CANCEL_AMOUNT"},
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sb, _, ch := setup(t)
			p, err := sb.ChargeKeyIn(ctx, ch, providers.KeyInRequest{OrderID: "o", Amount: tc.amount, Card: card(sandbox.CardSuccess)})
			noErr(t, err)
			for i, st := range tc.steps {
				res, err := sb.Cancel(ctx, ch, providers.CancelRequest{PGTransactionID: p.PGTransactionID, Amount: st.amount,
					TaxFree: st.taxFree, VAT: st.vat, ExpectedCancellable: st.guard, Reason: fmt.Sprint("step ", i)})
				if st.code != "" {
					wantErr(t, err, st.kind, st.code)
					continue
				}
				noErr(t, err)
				c := res.Cancellation
				if c.TaxFree != st.wantTF || c.VAT != st.wantVAT || res.Payment.Status != st.wantStatus ||
					res.Payment.Amounts.Cancellable() != st.wantCancellable || c.ID == "" || c.Reason != fmt.Sprint("step ", i) {
					t.Fatalf("step %d: cancel %+v, payment %s cancellable %d", i, c, res.Payment.Status, res.Payment.Amounts.Cancellable())
				}
			}
			got, err := sb.Lookup(ctx, ch, providers.LookupRequest{PGTransactionID: p.PGTransactionID})
			noErr(t, err)
			checkBooks(t, got)
		})
	}
}

// checkBooks: the cancellations add up to the payment's cancelled amounts,
// and what is left splits without a negative part.
func checkBooks(t *testing.T, p *providers.Payment) {
	t.Helper()
	var sum, tf, vat int64
	for _, c := range p.Cancellations {
		sum, tf, vat = sum+c.Amount, tf+c.TaxFree, vat+c.VAT
		if c.TaxFree < 0 || c.VAT < 0 || c.TaxFree+c.VAT > c.Amount {
			t.Fatalf("cancel %+v does not split", c)
		}
	}
	a := p.Amounts
	if sum != a.Cancelled || tf != a.CancelledTaxFree || vat != a.CancelledVAT {
		t.Fatalf("cancels sum to %d/%d/%d, books say %d/%d/%d", sum, tf, vat, a.Cancelled, a.CancelledTaxFree, a.CancelledVAT)
	}
	leftTF, leftVAT := a.TaxFree-a.CancelledTaxFree, a.VAT-a.CancelledVAT
	if a.Cancellable() < 0 || leftTF < 0 || leftVAT < 0 || a.Cancellable()-leftTF-leftVAT < 0 {
		t.Fatalf("remainder does not split: %+v", a)
	}
	if a.Cancellable() == 0 && (leftTF != 0 || leftVAT != 0 || p.Status != providers.StatusCancelled) {
		t.Fatalf("fully cancelled but %+v, %s", a, p.Status)
	}
}

func TestCancelIdempotency(t *testing.T) {
	sb, _, ch := setup(t)
	_, err := sb.ChargeKeyIn(ctx, ch, providers.KeyInRequest{OrderID: "o", Amount: krw(10_000), Card: card(sandbox.CardSuccess)})
	noErr(t, err)
	req := providers.CancelRequest{OrderID: "o", Amount: 4_000, IdempotencyKey: "c-1"}
	r1, err := sb.Cancel(ctx, ch, req)
	noErr(t, err)
	r2, err := sb.Cancel(ctx, ch, req)
	noErr(t, err)
	if r1.Cancellation.ID != r2.Cancellation.ID || r2.Payment.Amounts.Cancelled != 4_000 {
		t.Fatalf("retry cancelled again: %+v / %+v", r1.Cancellation, r2.Cancellation)
	}
	other := req
	other.Amount = 5_000
	_, err = sb.Cancel(ctx, ch, other)
	wantErr(t, err, providers.KindInvalidRequest, "IDEMPOTENCY_KEY_REUSED")
	// A refused cancel is stored under its key too.
	over := providers.CancelRequest{OrderID: "o", Amount: 7_000, IdempotencyKey: "c-2"}
	_, err = sb.Cancel(ctx, ch, over)
	wantErr(t, err, providers.KindInvalidRequest, "CANCEL_AMOUNT_EXCEEDS_CANCELLABLE_AMOUNT")
	_, err = sb.Cancel(ctx, ch, over)
	wantErr(t, err, providers.KindInvalidRequest, "CANCEL_AMOUNT_EXCEEDS_CANCELLABLE_AMOUNT")
	got, err := sb.Lookup(ctx, ch, providers.LookupRequest{OrderID: "o"})
	noErr(t, err)
	if got.Amounts.Cancelled != 4_000 || len(got.Cancellations) != 1 {
		t.Fatalf("books %+v", got.Amounts)
	}
	_, err = sb.Cancel(ctx, ch, providers.CancelRequest{OrderID: "nope"})
	wantErr(t, err, providers.KindNotFound, "PAYMENT_NOT_FOUND")
	_, err = sb.Cancel(ctx, ch, providers.CancelRequest{})
	wantErr(t, err, providers.KindInvalidRequest, "ID_REQUIRED")
	// A declined charge cannot be cancelled.
	_, err = sb.ChargeKeyIn(ctx, ch, providers.KeyInRequest{OrderID: "d", Amount: krw(10_000), Card: card(sandbox.CardInsufficientFunds)})
	wantErr(t, err, providers.KindDeclined, "")
	_, err = sb.Cancel(ctx, ch, providers.CancelRequest{OrderID: "d"})
	wantErr(t, err, providers.KindInvalidRequest, "PAYMENT_NOT_PAID")
}

// TestConcurrentPartialCancels: 50 goroutines cancelling 1,000 each of a
// 30,000 payment never cancel more than 30,000.
func TestConcurrentPartialCancels(t *testing.T) {
	sb, _, ch := setup(t)
	p, err := sb.ChargeKeyIn(ctx, ch, providers.KeyInRequest{OrderID: "o",
		Amount: providers.Amount{Total: 30_000, TaxFree: 3_000}, Card: card(sandbox.CardSuccess)})
	noErr(t, err)
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok, over := 0, 0
	for i := range 50 {
		wg.Go(func() {
			_, err := sb.Cancel(ctx, ch, providers.CancelRequest{PGTransactionID: p.PGTransactionID, Amount: 1_000,
				IdempotencyKey: fmt.Sprint("c-", i)})
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				ok++
			case providers.IsKind(err, providers.KindInvalidRequest) || providers.IsKind(err, providers.KindAlreadyDone):
				over++
			default:
				t.Errorf("goroutine %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	got, err := sb.Lookup(ctx, ch, providers.LookupRequest{PGTransactionID: p.PGTransactionID})
	noErr(t, err)
	if ok != 30 || over != 20 || got.Amounts.Cancelled != 30_000 || len(got.Cancellations) != 30 || got.Status != providers.StatusCancelled {
		t.Fatalf("accepted %d, refused %d, cancelled %d in %d cancels, %s", ok, over, got.Amounts.Cancelled, len(got.Cancellations), got.Status)
	}
	checkBooks(t, got)
	if got.Amounts.CancelledTaxFree != 3_000 || got.Amounts.CancelledVAT != got.Amounts.VAT {
		t.Fatalf("tax split not exhausted: %+v", got.Amounts)
	}
}
