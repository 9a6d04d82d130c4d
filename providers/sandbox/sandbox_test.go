package sandbox_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paymux/paymux/providers"
	"github.com/paymux/paymux/providers/sandbox"
)

var t0 = time.Date(2026, 3, 2, 10, 0, 0, 0, time.FixedZone("KST", 9*3600))

var ctx = context.Background()

func setup(t *testing.T) (*sandbox.Sandbox, *sandbox.ManualClock, providers.Channel) {
	t.Helper()
	clock := sandbox.NewManualClock(t0)
	sb := sandbox.New(sandbox.Options{Now: clock.Now, CheckoutURL: "https://paymux.test/sandbox/checkout/",
		FingerprintKey: []byte("sandbox-test-fingerprint-key")}) // fixed: TestDeterministic compares two sandboxes
	ch := providers.Channel{ID: "ch_1", MerchantID: "sbx_mid_1", Mode: providers.ModeTest,
		Secrets: providers.Secrets{sandbox.SecretNotification: "notify-secret-1"}}
	return sb, clock, ch
}

func card(number string) providers.CardData {
	return providers.CardData{
		Number:      providers.NewCardNumber(number),
		ExpiryYear:  2030,
		ExpiryMonth: 12,
		OwnerID:     providers.NewRedacted("880412"),
		Password2:   providers.NewRedacted("73"),
	}
}

func krw(n int64) providers.Amount { return providers.Amount{Total: n} }

func i64(v int64) *int64 { return &v }

// wantErr checks that err is a *providers.Error of kind (and code, if set).
func wantErr(t *testing.T, err error, kind providers.Kind, code string) *providers.Error {
	t.Helper()
	var e *providers.Error
	if !errors.As(err, &e) {
		t.Fatalf("error = %v, want a *providers.Error %s [%s]", err, kind, code)
	}
	if e.Kind != kind || (code != "" && e.Code != code) {
		t.Fatalf("error = %v, want %s [%s]", err, kind, code)
	}
	if e.Provider != sandbox.Name || e.Op == "" {
		t.Fatalf("error %v lacks provider or op", err)
	}
	return e
}

func noErr(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("unexpected error: %v", err)
	}
}

func TestNameAndCapabilities(t *testing.T) {
	sb, _, _ := setup(t)
	if sb.Name() != "sandbox" || sb.Capabilities() != providers.AllCapabilities&^providers.CapNetCancelOnTimeout {
		t.Fatalf("%s %s", sb.Name(), sb.Capabilities())
	}
	if err := providers.Require(sb, providers.CapNetCancel|providers.CapKeyIn|providers.CapCashReceipt); err != nil {
		t.Fatal(err)
	}
}

// TestKeyInTestCards charges every test card (and the installment rules)
// and checks the answer and what Lookup then reports.
func TestKeyInTestCards(t *testing.T) {
	expired := card(sandbox.CardSuccess)
	expired.ExpiryYear, expired.ExpiryMonth = 2026, 2 // t0 is March 2026
	endOfMonth := card(sandbox.CardSuccess)
	endOfMonth.ExpiryYear, endOfMonth.ExpiryMonth = 2026, 3
	for _, tc := range []struct {
		name    string
		card    providers.CardData
		amount  int64
		months  int
		kind    providers.Kind // 0: approved
		code    string
		decline providers.DeclineReason
		lookup  providers.Status // "" : Lookup answers NotFound
	}{
		{name: "success", card: card(sandbox.CardSuccess), amount: 10_000, lookup: providers.StatusPaid},
		{name: "success 3 months", card: card(sandbox.CardSuccess), amount: 50_000, months: 3, lookup: providers.StatusPaid},
		{name: "success 12 months", card: card(sandbox.CardSuccess), amount: 120_000, months: 12, lookup: providers.StatusPaid},
		{name: "unknown luhn-valid card", card: card("4111111111111111"), amount: 10_000, lookup: providers.StatusPaid},
		{name: "valid through end of month", card: endOfMonth, amount: 10_000, lookup: providers.StatusPaid},
		{name: "insufficient funds", card: card(sandbox.CardInsufficientFunds), amount: 10_000,
			kind: providers.KindDeclined, code: "SB_51", decline: providers.DeclineInsufficientFunds, lookup: providers.StatusFailed},
		{name: "lost or stolen", card: card(sandbox.CardLostOrStolen), amount: 10_000,
			kind: providers.KindDeclined, code: "SB_43", decline: providers.DeclineLostOrStolen, lookup: providers.StatusFailed},
		{name: "limit exceeded", card: card(sandbox.CardLimitExceeded), amount: 10_000,
			kind: providers.KindDeclined, code: "SB_61", decline: providers.DeclineLimitExceeded, lookup: providers.StatusFailed},
		{name: "no-installment card, lump sum", card: card(sandbox.CardNoInstallment), amount: 60_000, lookup: providers.StatusPaid},
		{name: "no-installment card, 3 months", card: card(sandbox.CardNoInstallment), amount: 60_000, months: 3,
			kind: providers.KindDeclined, code: "SB_12", decline: providers.DeclineInvalidInstallment, lookup: providers.StatusFailed},
		{name: "installment under 50,000", card: card(sandbox.CardSuccess), amount: 49_999, months: 2,
			kind: providers.KindDeclined, code: "INSTALLMENT_NOT_ALLOWED_UNDER_50000", decline: providers.DeclineInvalidInstallment, lookup: providers.StatusFailed},
		{name: "1 month", card: card(sandbox.CardSuccess), amount: 60_000, months: 1,
			kind: providers.KindDeclined, code: "INVALID_INSTALLMENT_MONTHS", decline: providers.DeclineInvalidInstallment, lookup: providers.StatusFailed},
		{name: "13 months", card: card(sandbox.CardSuccess), amount: 600_000, months: 13,
			kind: providers.KindDeclined, code: "INVALID_INSTALLMENT_MONTHS", decline: providers.DeclineInvalidInstallment, lookup: providers.StatusFailed},
		{name: "negative months", card: card(sandbox.CardSuccess), amount: 600_000, months: -1,
			kind: providers.KindDeclined, code: "INVALID_INSTALLMENT_MONTHS", decline: providers.DeclineInvalidInstallment, lookup: providers.StatusFailed},
		{name: "bad check digit", card: card("9410000000000006"), amount: 10_000,
			kind: providers.KindDeclined, code: "SB_14", decline: providers.DeclineInvalidCard, lookup: providers.StatusFailed},
		{name: "expired", card: expired, amount: 10_000,
			kind: providers.KindDeclined, code: "SB_54", decline: providers.DeclineExpiredCard, lookup: providers.StatusFailed},
		{name: "timeout, charged", card: card(sandbox.CardTimeoutCharged), amount: 10_000,
			kind: providers.KindTimeout, code: "SB_TIMEOUT", lookup: providers.StatusPaid},
		{name: "timeout, not charged", card: card(sandbox.CardTimeoutNotCharged), amount: 10_000,
			kind: providers.KindTimeout, code: "SB_TIMEOUT"},
		{name: "billing-decline card charged directly", card: card(sandbox.CardBillingDeclines), amount: 10_000, lookup: providers.StatusPaid},
		{name: "malformed number", card: card("9410-abc"), amount: 10_000, kind: providers.KindInvalidRequest, code: "INVALID_CARD_NUMBER"},
		{name: "bad expiry", card: providers.CardData{Number: providers.NewCardNumber(sandbox.CardSuccess), ExpiryYear: 30, ExpiryMonth: 12},
			amount: 10_000, kind: providers.KindInvalidRequest, code: "INVALID_CARD_EXPIRY"},
		{name: "bad owner id", card: providers.CardData{Number: providers.NewCardNumber(sandbox.CardSuccess), ExpiryYear: 2030, ExpiryMonth: 1,
			OwnerID: providers.NewRedacted("8804")}, amount: 10_000, kind: providers.KindInvalidRequest, code: "INVALID_OWNER_ID"},
		{name: "zero amount", card: card(sandbox.CardSuccess), amount: 0, kind: providers.KindInvalidRequest, code: "INVALID_TOTAL_AMOUNT"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sb, _, ch := setup(t)
			order := "order-" + strings.ReplaceAll(tc.name, " ", "-")
			p, err := sb.ChargeKeyIn(ctx, ch, providers.KeyInRequest{OrderID: order, OrderName: "티셔츠", Amount: krw(tc.amount),
				Card: tc.card, InstallmentMonths: tc.months})
			if tc.kind == 0 {
				noErr(t, err)
				if p.Status != providers.StatusPaid || p.Amounts.Paid != tc.amount || p.Card == nil || p.Card.ApprovalNumber == "" ||
					p.Card.InstallmentMonths != tc.months || strings.Contains(p.Card.Number, tc.card.Number.Reveal()) ||
					p.Card.Number != tc.card.Number.Masked() || p.Method != providers.MethodCard || p.Currency != "KRW" {
					t.Fatalf("payment = %+v / card %+v", p, p.Card)
				}
			} else {
				e := wantErr(t, err, tc.kind, tc.code)
				if e.Decline != tc.decline {
					t.Fatalf("decline = %q, want %q", e.Decline, tc.decline)
				}
				if p != nil {
					t.Fatal("a payment with an error")
				}
			}
			got, err := sb.Lookup(ctx, ch, providers.LookupRequest{OrderID: order})
			if tc.lookup == "" {
				wantErr(t, err, providers.KindNotFound, "PAYMENT_NOT_FOUND")
				return
			}
			noErr(t, err)
			if got.Status != tc.lookup {
				t.Fatalf("Lookup status = %s, want %s", got.Status, tc.lookup)
			}
			if tc.lookup == providers.StatusFailed && (got.Failure == nil || got.Failure.Code != tc.code || got.FailedAt.IsZero()) {
				t.Fatalf("failed payment lacks its failure: %+v", got)
			}
			byID, err := sb.Lookup(ctx, ch, providers.LookupRequest{PGTransactionID: got.PGTransactionID})
			noErr(t, err)
			if byID.OrderID != order {
				t.Fatal("Lookup by transaction id found another payment")
			}
		})
	}
}

func TestVATDefaults(t *testing.T) {
	sb, _, ch := setup(t)
	for i, tc := range []struct {
		amount providers.Amount
		vat    int64
	}{
		{krw(30_000), 2_727},
		{krw(9_026), 821}, // rounded, not truncated
		{krw(37_400), 3_400},
		{providers.Amount{Total: 11_000, TaxFree: 1_000}, 909},
		{providers.Amount{Total: 11_000, TaxFree: 11_000}, 0},
		{providers.Amount{Total: 11_000, VAT: i64(0)}, 0},
		{providers.Amount{Total: 11_000, VAT: i64(1_000), Currency: "KRW"}, 1_000},
	} {
		p, err := sb.ChargeKeyIn(ctx, ch, providers.KeyInRequest{OrderID: fmt.Sprint("vat-", i), Amount: tc.amount, Card: card(sandbox.CardSuccess)})
		noErr(t, err)
		if p.Amounts.VAT != tc.vat || p.Amounts.Supply() != tc.amount.Total-tc.amount.TaxFree-tc.vat {
			t.Errorf("%+v: VAT %d, want %d", tc.amount, p.Amounts.VAT, tc.vat)
		}
	}
	for i, tc := range []struct {
		amount providers.Amount
		code   string
	}{
		{providers.Amount{Total: 1000, TaxFree: 1001}, "INVALID_TAX_FREE_AMOUNT"},
		{providers.Amount{Total: 1000, TaxFree: -1}, "INVALID_TAX_FREE_AMOUNT"},
		{providers.Amount{Total: 1000, TaxFree: 500, VAT: i64(501)}, "INVALID_VAT_AMOUNT"},
		{providers.Amount{Total: 1000, Currency: "USD"}, "UNSUPPORTED_CURRENCY"},
		{providers.Amount{Total: -5}, "INVALID_TOTAL_AMOUNT"},
	} {
		_, err := sb.ChargeKeyIn(ctx, ch, providers.KeyInRequest{OrderID: fmt.Sprint("bad-", i), Amount: tc.amount, Card: card(sandbox.CardSuccess)})
		wantErr(t, err, providers.KindInvalidRequest, tc.code)
	}
}

// openWindow prepares and authenticates a payment window.
func openWindow(t *testing.T, sb *sandbox.Sandbox, ch providers.Channel, order string, amount int64, c providers.CardData, months int) providers.WindowResult {
	t.Helper()
	w, err := sb.PrepareWindow(ctx, ch, providers.PrepareWindowRequest{OrderID: order, OrderName: "티셔츠", Amount: krw(amount),
		ReturnURL: "https://shop.test/return"})
	noErr(t, err)
	res, err := sb.AuthenticateWindow(ctx, ch, w.Params[sandbox.WindowSessionID], sandbox.WindowAuth{Card: c, InstallmentMonths: months})
	noErr(t, err)
	return res
}

func TestWindowApprove(t *testing.T) {
	sb, clock, ch := setup(t)

	w, err := sb.PrepareWindow(ctx, ch, providers.PrepareWindowRequest{OrderID: "o-1", Amount: krw(15_000)})
	noErr(t, err)
	sid := w.Params[sandbox.WindowSessionID]
	if w.RedirectURL != "https://paymux.test/sandbox/checkout/"+sid || w.Params[sandbox.WindowOrderID] != "o-1" ||
		w.Params[sandbox.WindowAmount] != "15000" || !w.ExpiresAt.Equal(t0.Add(30*time.Minute)) {
		t.Fatalf("window = %+v", w)
	}
	// Not authenticated yet.
	_, err = sb.Approve(ctx, ch, providers.ApproveRequest{OrderID: "o-1", Amount: krw(15_000),
		Window: providers.WindowResult{sandbox.WindowSessionID: sid, sandbox.WindowAuthToken: "x"}})
	wantErr(t, err, providers.KindInvalidRequest, "AUTH_TOKEN_MISMATCH")
	res, err := sb.AuthenticateWindow(ctx, ch, sid, sandbox.WindowAuth{Card: card(sandbox.CardSuccess)})
	noErr(t, err)
	_, err = sb.AuthenticateWindow(ctx, ch, sid, sandbox.WindowAuth{Card: card(sandbox.CardSuccess)})
	wantErr(t, err, providers.KindAlreadyDone, "WINDOW_ALREADY_AUTHENTICATED")

	// A tampered amount, another order, a forged token: refused, not recorded.
	_, err = sb.Approve(ctx, ch, providers.ApproveRequest{OrderID: "o-1", Amount: krw(1_500), Window: res})
	wantErr(t, err, providers.KindInvalidRequest, "AMOUNT_MISMATCH")
	_, err = sb.Approve(ctx, ch, providers.ApproveRequest{OrderID: "o-2", Amount: krw(15_000), Window: res})
	wantErr(t, err, providers.KindInvalidRequest, "ORDER_ID_MISMATCH")
	forged := providers.WindowResult{sandbox.WindowSessionID: sid, sandbox.WindowAuthToken: "forged"}
	_, err = sb.Approve(ctx, ch, providers.ApproveRequest{OrderID: "o-1", Amount: krw(15_000), Window: forged})
	wantErr(t, err, providers.KindInvalidRequest, "AUTH_TOKEN_MISMATCH")
	_, err = sb.Approve(ctx, ch, providers.ApproveRequest{OrderID: "o-1", Amount: krw(15_000),
		Window: providers.WindowResult{sandbox.WindowSessionID: "nope"}})
	wantErr(t, err, providers.KindNotFound, "WINDOW_NOT_FOUND")

	p, err := sb.Approve(ctx, ch, providers.ApproveRequest{OrderID: "o-1", Amount: krw(15_000), Window: res, IdempotencyKey: "k-1"})
	noErr(t, err)
	if p.Status != providers.StatusPaid || p.Amounts.Total != 15_000 || p.OrderID != "o-1" {
		t.Fatalf("payment = %+v", p)
	}
	// The retry answers the same payment, even after the window's TTL.
	clock.Advance(time.Hour)
	again, err := sb.Approve(ctx, ch, providers.ApproveRequest{OrderID: "o-1", Amount: krw(15_000), Window: res, IdempotencyKey: "k-1"})
	noErr(t, err)
	if again.PGTransactionID != p.PGTransactionID || len(sb.Payments(ch)) != 1 {
		t.Fatal("a retry charged again")
	}

	// An expired window.
	w2, err := sb.PrepareWindow(ctx, ch, providers.PrepareWindowRequest{OrderID: "o-3", Amount: krw(15_000)})
	noErr(t, err)
	res2, err := sb.AuthenticateWindow(ctx, ch, w2.Params[sandbox.WindowSessionID], sandbox.WindowAuth{Card: card(sandbox.CardSuccess)})
	noErr(t, err)
	clock.Advance(31 * time.Minute)
	_, err = sb.Approve(ctx, ch, providers.ApproveRequest{OrderID: "o-3", Amount: krw(15_000), Window: res2})
	wantErr(t, err, providers.KindInvalidRequest, "WINDOW_EXPIRED")

	// A declined card in the window is recorded like a key-in decline.
	res3 := openWindow(t, sb, ch, "o-4", 60_000, card(sandbox.CardNoInstallment), 6)
	_, err = sb.Approve(ctx, ch, providers.ApproveRequest{OrderID: "o-4", Amount: krw(60_000), Window: res3})
	wantErr(t, err, providers.KindDeclined, "SB_12")
	_, err = sb.Approve(ctx, ch, providers.ApproveRequest{OrderID: "o-4", Amount: krw(60_000), Window: res3})
	wantErr(t, err, providers.KindDeclined, "SB_12") // replayed, not charged again
}

func TestPrepareWindowChecks(t *testing.T) {
	sb, _, ch := setup(t)
	for _, tc := range []struct {
		req  providers.PrepareWindowRequest
		code string
	}{
		{providers.PrepareWindowRequest{Amount: krw(1000)}, "ORDER_ID_REQUIRED"},
		{providers.PrepareWindowRequest{OrderID: "o"}, "INVALID_TOTAL_AMOUNT"},
		{providers.PrepareWindowRequest{OrderID: "o", Amount: krw(1000), Method: providers.MethodVirtualAccount}, "UNSUPPORTED_METHOD"},
		{providers.PrepareWindowRequest{Purpose: providers.WindowBillingKey}, "CUSTOMER_KEY_REQUIRED"},
		{providers.PrepareWindowRequest{Purpose: "OTHER"}, "INVALID_PURPOSE"},
	} {
		_, err := sb.PrepareWindow(ctx, ch, tc.req)
		wantErr(t, err, providers.KindInvalidRequest, tc.code)
	}
	w, err := sb.PrepareWindow(ctx, ch, providers.PrepareWindowRequest{OrderID: "o", Amount: krw(1000)})
	noErr(t, err)
	_, err = sb.AuthenticateWindow(ctx, ch, w.Params[sandbox.WindowSessionID], sandbox.WindowAuth{Card: card("12")})
	wantErr(t, err, providers.KindInvalidRequest, "INVALID_CARD_NUMBER")
	_, err = sb.AuthenticateWindow(ctx, ch, "sbx_win_999999", sandbox.WindowAuth{Card: card(sandbox.CardSuccess)})
	wantErr(t, err, providers.KindNotFound, "WINDOW_NOT_FOUND")
	// A payment window's result cannot issue a billing key.
	res, err := sb.AuthenticateWindow(ctx, ch, w.Params[sandbox.WindowSessionID], sandbox.WindowAuth{Card: card(sandbox.CardSuccess)})
	noErr(t, err)
	_, err = sb.IssueBillingKey(ctx, ch, providers.IssueBillingKeyRequest{Window: res})
	wantErr(t, err, providers.KindInvalidRequest, "WINDOW_PURPOSE_MISMATCH")
}

// TestIdempotency: the order id and the idempotency key make a retry answer
// the first outcome and never charge twice.
func TestIdempotency(t *testing.T) {
	sb, _, ch := setup(t)
	req := providers.KeyInRequest{OrderID: "o-1", Amount: krw(10_000), Card: card(sandbox.CardSuccess), IdempotencyKey: "k-1"}
	p1, err := sb.ChargeKeyIn(ctx, ch, req)
	noErr(t, err)
	p2, err := sb.ChargeKeyIn(ctx, ch, req)
	noErr(t, err)
	if p1.PGTransactionID != p2.PGTransactionID || p1.Card.ApprovalNumber != p2.Card.ApprovalNumber {
		t.Fatal("the retry answered another payment")
	}
	// The answer is a copy: changing it changes nothing at the PG.
	p2.Status, p2.Card.Number = providers.StatusCancelled, "x"
	p3, err := sb.Lookup(ctx, ch, providers.LookupRequest{OrderID: "o-1"})
	noErr(t, err)
	if p3.Status != providers.StatusPaid || p3.Card.Number == "x" {
		t.Fatal("a returned payment aliases the sandbox's state")
	}

	other := req
	other.Amount = krw(20_000)
	_, err = sb.ChargeKeyIn(ctx, ch, other)
	wantErr(t, err, providers.KindInvalidRequest, "IDEMPOTENCY_KEY_REUSED")
	other.IdempotencyKey = "k-2"
	_, err = sb.ChargeKeyIn(ctx, ch, other)
	wantErr(t, err, providers.KindAlreadyDone, "DUPLICATED_ORDER_ID")
	sameButNewKey := req
	sameButNewKey.IdempotencyKey = "k-3"
	_, err = sb.ChargeKeyIn(ctx, ch, sameButNewKey)
	wantErr(t, err, providers.KindAlreadyDone, "DUPLICATED_ORDER_ID")
	keyForOtherOrder := req
	keyForOtherOrder.OrderID = "o-2"
	_, err = sb.ChargeKeyIn(ctx, ch, keyForOtherOrder)
	wantErr(t, err, providers.KindInvalidRequest, "IDEMPOTENCY_KEY_REUSED")
	// The key of a charge cannot be reused for a virtual account either.
	_, err = sb.IssueVirtualAccount(ctx, ch, providers.IssueVirtualAccountRequest{OrderID: "o-3", Amount: krw(1000),
		Bank: providers.BankWoori, IdempotencyKey: "k-1"})
	wantErr(t, err, providers.KindInvalidRequest, "IDEMPOTENCY_KEY_REUSED")

	// A decline uses the order id up and is replayed.
	dreq := providers.KeyInRequest{OrderID: "o-4", Amount: krw(10_000), Card: card(sandbox.CardLimitExceeded)}
	_, err = sb.ChargeKeyIn(ctx, ch, dreq)
	wantErr(t, err, providers.KindDeclined, "SB_61")
	_, err = sb.ChargeKeyIn(ctx, ch, dreq)
	wantErr(t, err, providers.KindDeclined, "SB_61")
	dreq.Card = card(sandbox.CardSuccess)
	_, err = sb.ChargeKeyIn(ctx, ch, dreq)
	wantErr(t, err, providers.KindAlreadyDone, "DUPLICATED_ORDER_ID")

	// A refused request is not recorded: the corrected one goes through.
	_, err = sb.ChargeKeyIn(ctx, ch, providers.KeyInRequest{OrderID: "o-5", Amount: krw(0), Card: card(sandbox.CardSuccess)})
	wantErr(t, err, providers.KindInvalidRequest, "INVALID_TOTAL_AMOUNT")
	_, err = sb.ChargeKeyIn(ctx, ch, providers.KeyInRequest{OrderID: "o-5", Amount: krw(100), Card: card(sandbox.CardSuccess)})
	noErr(t, err)

	// After a timeout that charged, the retry returns the PAID payment.
	treq := providers.KeyInRequest{OrderID: "o-6", Amount: krw(10_000), Card: card(sandbox.CardTimeoutCharged), IdempotencyKey: "k-6"}
	_, err = sb.ChargeKeyIn(ctx, ch, treq)
	wantErr(t, err, providers.KindTimeout, "SB_TIMEOUT")
	tp, err := sb.ChargeKeyIn(ctx, ch, treq)
	noErr(t, err)
	if tp.Status != providers.StatusPaid {
		t.Fatalf("replay after timeout = %+v", tp)
	}

	var charged int
	for _, p := range sb.Payments(ch) {
		if p.Status == providers.StatusPaid {
			charged++
		}
	}
	if charged != 3 {
		t.Fatalf("%d paid payments, want 3 (o-1, o-5, o-6)", charged)
	}
}

// TestConcurrentApproveSameOrder: 20 goroutines approving one order id
// charge once.
func TestConcurrentApproveSameOrder(t *testing.T) {
	sb, _, ch := setup(t)
	res := openWindow(t, sb, ch, "o-1", 30_000, card(sandbox.CardSuccess), 0)
	var wg sync.WaitGroup
	tids := make([]string, 20)
	errs := make([]error, 20)
	for i := range 20 {
		wg.Go(func() {
			p, err := sb.Approve(ctx, ch, providers.ApproveRequest{OrderID: "o-1", Amount: krw(30_000), Window: res, IdempotencyKey: "k"})
			errs[i] = err
			if p != nil {
				tids[i] = p.PGTransactionID
			}
		})
	}
	wg.Wait()
	for i := range 20 {
		if errs[i] != nil || tids[i] != tids[0] {
			t.Fatalf("goroutine %d: %q %v (first %q)", i, tids[i], errs[i], tids[0])
		}
	}
	if n := len(sb.Payments(ch)); n != 1 {
		t.Fatalf("%d payments, want 1", n)
	}

	// Different idempotency keys for one order: one charge, the rest refused.
	var ok, dup int
	var mu sync.Mutex
	for i := range 20 {
		wg.Go(func() {
			_, err := sb.ChargeKeyIn(ctx, ch, providers.KeyInRequest{OrderID: "o-2", Amount: krw(1000),
				Card: card(sandbox.CardSuccess), IdempotencyKey: fmt.Sprint("key-", i)})
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				ok++
			case providers.IsKind(err, providers.KindAlreadyDone):
				dup++
			default:
				t.Errorf("goroutine %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	if ok != 1 || dup != 19 || len(sb.Payments(ch)) != 2 {
		t.Fatalf("ok %d, duplicates %d, payments %d", ok, dup, len(sb.Payments(ch)))
	}
}

// TestTimeoutLookupNetCancel is the net-cancel path: the charge's answer is
// lost, Lookup by order id finds it, NetCancel voids it.
func TestTimeoutLookupNetCancel(t *testing.T) {
	sb, clock, ch := setup(t)
	_, err := sb.ChargeKeyIn(ctx, ch, providers.KeyInRequest{OrderID: "o-1", Amount: krw(25_000), Card: card(sandbox.CardTimeoutCharged)})
	wantErr(t, err, providers.KindTimeout, "SB_TIMEOUT")
	if !providers.OutcomeUnknown(err) {
		t.Fatal("a timeout must be an unknown outcome")
	}
	clock.Advance(10 * time.Minute)
	p, err := sb.Lookup(ctx, ch, providers.LookupRequest{OrderID: "o-1", OrderDate: t0})
	noErr(t, err)
	if p.Status != providers.StatusPaid || p.Amounts.Paid != 25_000 {
		t.Fatalf("lookup = %+v", p)
	}
	v, err := sb.NetCancel(ctx, ch, providers.NetCancelRequest{OrderID: "o-1"})
	noErr(t, err)
	if v.Status != providers.StatusCancelled || len(v.Cancellations) != 1 || !v.Cancellations[0].NetCancel ||
		v.Cancellations[0].Amount != 25_000 || v.Amounts.Cancellable() != 0 || v.Amounts.CancelledVAT != v.Amounts.VAT {
		t.Fatalf("net-cancelled = %+v", v)
	}
	_, err = sb.NetCancel(ctx, ch, providers.NetCancelRequest{OrderID: "o-1"})
	wantErr(t, err, providers.KindAlreadyDone, "PAYMENT_ALREADY_CANCELLED")
	after, err := sb.Lookup(ctx, ch, providers.LookupRequest{PGTransactionID: p.PGTransactionID})
	noErr(t, err)
	if after.Status != providers.StatusCancelled {
		t.Fatal("Lookup after NetCancel")
	}

	// Nothing charged: nothing to find, nothing to void.
	_, err = sb.ChargeKeyIn(ctx, ch, providers.KeyInRequest{OrderID: "o-2", Amount: krw(25_000), Card: card(sandbox.CardTimeoutNotCharged)})
	wantErr(t, err, providers.KindTimeout, "")
	_, err = sb.Lookup(ctx, ch, providers.LookupRequest{OrderID: "o-2"})
	wantErr(t, err, providers.KindNotFound, "PAYMENT_NOT_FOUND")
	_, err = sb.NetCancel(ctx, ch, providers.NetCancelRequest{OrderID: "o-2"})
	wantErr(t, err, providers.KindNotFound, "NO_APPROVAL")

	// A declined charge has no approval to void either.
	_, err = sb.ChargeKeyIn(ctx, ch, providers.KeyInRequest{OrderID: "o-3", Amount: krw(1000), Card: card(sandbox.CardLostOrStolen)})
	wantErr(t, err, providers.KindDeclined, "SB_43")
	_, err = sb.NetCancel(ctx, ch, providers.NetCancelRequest{OrderID: "o-3"})
	wantErr(t, err, providers.KindNotFound, "NO_APPROVAL")

	// Past one hour, NetCancel refuses and Cancel is the way.
	_, err = sb.ChargeKeyIn(ctx, ch, providers.KeyInRequest{OrderID: "o-4", Amount: krw(25_000), Card: card(sandbox.CardTimeoutCharged)})
	wantErr(t, err, providers.KindTimeout, "")
	clock.Advance(time.Hour)
	_, err = sb.NetCancel(ctx, ch, providers.NetCancelRequest{OrderID: "o-4"})
	noErr(t, err) // exactly one hour: still within
	_, err = sb.ChargeKeyIn(ctx, ch, providers.KeyInRequest{OrderID: "o-5", Amount: krw(25_000), Card: card(sandbox.CardTimeoutCharged)})
	wantErr(t, err, providers.KindTimeout, "")
	clock.Advance(time.Hour + time.Second)
	_, err = sb.NetCancel(ctx, ch, providers.NetCancelRequest{OrderID: "o-5"})
	wantErr(t, err, providers.KindInvalidRequest, "NET_CANCEL_EXPIRED")
	res, err := sb.Cancel(ctx, ch, providers.CancelRequest{OrderID: "o-5", Reason: "answer lost"})
	noErr(t, err)
	if res.Payment.Status != providers.StatusCancelled || res.Cancellation.NetCancel {
		t.Fatalf("cancel = %+v", res)
	}

	// A partly cancelled payment is not net-cancelled.
	p6, err := sb.ChargeKeyIn(ctx, ch, providers.KeyInRequest{OrderID: "o-6", Amount: krw(25_000), Card: card(sandbox.CardSuccess)})
	noErr(t, err)
	_, err = sb.Cancel(ctx, ch, providers.CancelRequest{PGTransactionID: p6.PGTransactionID, Amount: 1000})
	noErr(t, err)
	_, err = sb.NetCancel(ctx, ch, providers.NetCancelRequest{PGTransactionID: p6.PGTransactionID})
	wantErr(t, err, providers.KindInvalidRequest, "NET_CANCEL_NOT_APPLICABLE")
	_, err = sb.NetCancel(ctx, ch, providers.NetCancelRequest{})
	wantErr(t, err, providers.KindInvalidRequest, "ID_REQUIRED")
}

func TestChannelChecks(t *testing.T) {
	sb, _, ch := setup(t)
	live := ch
	live.Mode = providers.ModeLive
	_, err := sb.ChargeKeyIn(ctx, live, providers.KeyInRequest{OrderID: "o", Amount: krw(1000), Card: card(sandbox.CardSuccess)})
	wantErr(t, err, providers.KindInvalidRequest, "LIVE_MODE_NOT_ALLOWED")
	_, err = sb.Lookup(ctx, providers.Channel{}, providers.LookupRequest{OrderID: "o"})
	wantErr(t, err, providers.KindInvalidRequest, "MERCHANT_ID_REQUIRED")
	_, err = sb.ParseNotification(ctx, live, providers.Notification{})
	wantErr(t, err, providers.KindInvalidRequest, "LIVE_MODE_NOT_ALLOWED")

	// Merchants do not see each other's payments; an empty mode is TEST.
	p, err := sb.ChargeKeyIn(ctx, ch, providers.KeyInRequest{OrderID: "o", Amount: krw(1000), Card: card(sandbox.CardSuccess)})
	noErr(t, err)
	other := providers.Channel{MerchantID: "sbx_mid_2"}
	_, err = sb.Lookup(ctx, other, providers.LookupRequest{PGTransactionID: p.PGTransactionID})
	wantErr(t, err, providers.KindNotFound, "")
	_, err = sb.ChargeKeyIn(ctx, other, providers.KeyInRequest{OrderID: "o", Amount: krw(1000), Card: card(sandbox.CardSuccess)})
	noErr(t, err)
	if len(sb.Payments(ch)) != 1 || len(sb.Payments(other)) != 1 || sb.Payments(providers.Channel{MerchantID: "none"}) != nil {
		t.Fatal("payments leak between merchants")
	}
	// Lookup by transaction id with the wrong order id finds nothing.
	_, err = sb.Lookup(ctx, ch, providers.LookupRequest{PGTransactionID: p.PGTransactionID, OrderID: "other"})
	wantErr(t, err, providers.KindNotFound, "")
	_, err = sb.Lookup(ctx, ch, providers.LookupRequest{})
	wantErr(t, err, providers.KindInvalidRequest, "ID_REQUIRED")

	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := sb.ChargeKeyIn(cctx, ch, providers.KeyInRequest{OrderID: "o-c", Amount: krw(1000), Card: card(sandbox.CardSuccess)}); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled context: %v", err)
	}
	if _, err := sb.ParseNotification(cctx, ch, providers.Notification{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled context: %v", err)
	}
}

// TestDeterministic: the same calls give the same answers.
func TestDeterministic(t *testing.T) {
	run := func() []string {
		sb, _, ch := setup(t)
		var out []string
		for i := range 3 {
			p, err := sb.ChargeKeyIn(ctx, ch, providers.KeyInRequest{OrderID: fmt.Sprint("o-", i), Amount: krw(1000), Card: card(sandbox.CardSuccess)})
			noErr(t, err)
			out = append(out, p.PGTransactionID, p.Card.ApprovalNumber)
		}
		va, err := sb.IssueVirtualAccount(ctx, ch, providers.IssueVirtualAccountRequest{OrderID: "va", Amount: krw(1000), Bank: providers.BankKB})
		noErr(t, err)
		return append(out, va.VirtualAccount.AccountNumber, va.NotificationSecret)
	}
	a, b := run(), run()
	if strings.Join(a, ",") != strings.Join(b, ",") {
		t.Fatalf("%v != %v", a, b)
	}
}

// TestNoCardNumberLeaks: the sandbox's own types, answers and errors never
// carry a full card number.
func TestNoCardNumberLeaks(t *testing.T) {
	sb, _, ch := setup(t)
	auth := sandbox.WindowAuth{Card: card(sandbox.CardSuccess), InstallmentMonths: 3}
	var outs []string
	for _, verb := range []string{"%v", "%+v", "%#v"} {
		outs = append(outs, fmt.Sprintf(verb, auth))
	}
	for i, number := range []string{sandbox.CardSuccess, sandbox.CardInsufficientFunds, sandbox.CardLostOrStolen,
		sandbox.CardTimeoutCharged, "9410000000000006", "9410-abc"} {
		c := card(number)
		p, err := sb.ChargeKeyIn(ctx, ch, providers.KeyInRequest{OrderID: fmt.Sprint("o-", i), Amount: krw(1000), Card: c})
		outs = append(outs, fmt.Sprintf("%+v %#v", p, err))
		if err != nil {
			outs = append(outs, err.Error())
		}
		k, err := sb.IssueBillingKey(ctx, ch, providers.IssueBillingKeyRequest{Card: &c})
		outs = append(outs, fmt.Sprintf("%+v %v", k, err))
	}
	for _, p := range sb.Payments(ch) {
		outs = append(outs, fmt.Sprintf("%+v %+v", p, p.Card))
	}
	for _, out := range outs {
		for _, number := range []string{sandbox.CardSuccess, sandbox.CardInsufficientFunds, sandbox.CardLostOrStolen,
			sandbox.CardTimeoutCharged, "9410000000000006", "880412"} {
			if strings.Contains(out, number) {
				t.Fatalf("%q leaks in %s", number, out)
			}
		}
	}
}
