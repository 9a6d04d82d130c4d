package sandbox

// Internal tests: they check the restored maps' pointer sharing directly,
// besides comparing a restored sandbox with the original call by call.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paymux/paymux/providers"
)

var (
	snapT0  = time.Date(2026, 3, 2, 10, 0, 0, 0, time.FixedZone("KST", 9*3600))
	snapCtx = context.Background()
)

const (
	snapOwnerID  = "880412"
	snapPassword = "73"
	snapPhone    = "01012345678"
	snapRefundNo = "12345678901234"
	// Card numbers that are no test card: a valid one and one with a bad
	// check digit.
	snapOtherCard = "4111111111111111"
	snapBadDigit  = "4111111111111112"
)

var allTestCards = []string{CardSuccess, CardInsufficientFunds, CardLostOrStolen, CardLimitExceeded,
	CardNoInstallment, CardTimeoutCharged, CardTimeoutNotCharged, CardBillingDeclines}

// snapKey is the fingerprint key of every sandbox snapOptions makes: an
// original and its restored copy share it, as the server's do (derived from
// its master key), so that replays made before the snapshot match after.
var snapKey = []byte("snapshot-test-fingerprint-key")

func snapOptions(clock *ManualClock) Options {
	return Options{Now: clock.Now, CheckoutURL: "https://paymux.test/sandbox/checkout", CashReceiptDelay: 10 * time.Minute,
		FingerprintKey: snapKey}
}

func snapChannel(mid string) providers.Channel {
	return providers.Channel{ID: "ch_" + mid, MerchantID: mid, Mode: providers.ModeTest,
		Secrets: providers.Secrets{SecretNotification: "notify-secret-" + mid}}
}

func testCardData(number string) providers.CardData {
	return providers.CardData{
		Number:      providers.NewCardNumber(number),
		ExpiryYear:  2030,
		ExpiryMonth: 12,
		OwnerID:     providers.NewRedacted(snapOwnerID),
		Password2:   providers.NewRedacted(snapPassword),
	}
}

func snapKRW(n int64) providers.Amount { return providers.Amount{Total: n} }

func must[T any](t *testing.T) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return v
	}
}

// fixture is what populate made: the names later calls need. They are the
// same in a restored copy.
type fixture struct {
	keyIn          *providers.Payment
	billingWindow  providers.WindowResult // authenticated, no key issued yet
	pendingDeclKey providers.WindowResult // payment window, CardBillingDeclines, not approved
	pendingOther   providers.WindowResult // payment window, snapOtherCard, not approved
	pendingBad     providers.WindowResult // payment window, snapBadDigit, not approved
	unauthWindow   string                 // session id of a window nobody authenticated
	expiringWindow string                 // another one
	approvedWindow providers.WindowResult
	goodKey        string
	declKey        string
	deletedKey     string
	vaDeposited    *providers.Payment
	vaWaiting      *providers.Payment // issued with a failing cash-receipt identity
	depositEvent   string
	refundCancel   *providers.CancelResult
	receipt        *providers.CashReceipt
}

func prepared(t *testing.T, sb *Sandbox, ch providers.Channel, order string, amount int64) string {
	t.Helper()
	w := must[*providers.PrepareWindowResult](t)(sb.PrepareWindow(snapCtx, ch, providers.PrepareWindowRequest{
		OrderID: order, OrderName: "티셔츠", Amount: snapKRW(amount), ReturnURL: "https://shop.test/return"}))
	return w.Params[WindowSessionID]
}

func authenticated(t *testing.T, sb *Sandbox, ch providers.Channel, order string, amount int64, number string, months int) providers.WindowResult {
	t.Helper()
	return must[providers.WindowResult](t)(sb.AuthenticateWindow(snapCtx, ch, prepared(t, sb, ch, order, amount),
		WindowAuth{Card: testCardData(number), InstallmentMonths: months}))
}

// populate makes a state with every kind of record: card payments (key-in,
// window, declined, timed out), partial cancels with and without
// idempotency keys, window sessions in every stage, billing keys (issued,
// declining, deleted), virtual accounts (deposited, refunded, waiting),
// cash receipts and notifications, for two merchants.
func populate(t *testing.T, sb *Sandbox, clock *ManualClock) fixture {
	t.Helper()
	var f fixture
	ch, other := snapChannel("mid_a"), snapChannel("mid_b")
	pay := must[*providers.Payment](t)

	f.keyIn = pay(sb.ChargeKeyIn(snapCtx, ch, providers.KeyInRequest{OrderID: "keyin", OrderName: "책", Amount: snapKRW(30_000),
		Card: testCardData(CardSuccess), IdempotencyKey: "idem-keyin"}))
	if _, err := sb.ChargeKeyIn(snapCtx, ch, providers.KeyInRequest{OrderID: "declined", Amount: snapKRW(1_000),
		Card: testCardData(CardInsufficientFunds)}); providers.KindOf(err) != providers.KindDeclined {
		t.Fatalf("declined charge: %v", err)
	}
	if _, err := sb.ChargeKeyIn(snapCtx, ch, providers.KeyInRequest{OrderID: "timeout", Amount: snapKRW(2_000),
		Card: testCardData(CardTimeoutCharged)}); providers.KindOf(err) != providers.KindTimeout {
		t.Fatalf("timeout charge: %v", err)
	}
	if _, err := sb.ChargeKeyIn(snapCtx, ch, providers.KeyInRequest{OrderID: "timeout-none", Amount: snapKRW(2_000),
		Card: testCardData(CardTimeoutNotCharged)}); providers.KindOf(err) != providers.KindTimeout {
		t.Fatalf("timeout charge: %v", err)
	}
	pay(sb.ChargeKeyIn(snapCtx, other, providers.KeyInRequest{OrderID: "keyin", Amount: snapKRW(7_000), Card: testCardData(snapOtherCard)}))

	f.approvedWindow = authenticated(t, sb, ch, "window", 55_000, CardSuccess, 3)
	pay(sb.Approve(snapCtx, ch, providers.ApproveRequest{OrderID: "window", Amount: snapKRW(55_000), Window: f.approvedWindow,
		IdempotencyKey: "idem-window"}))
	f.pendingDeclKey = authenticated(t, sb, ch, "pending-decl", 12_000, CardBillingDeclines, 0)
	f.pendingOther = authenticated(t, sb, ch, "pending-other", 60_000, snapOtherCard, 6)
	f.pendingBad = authenticated(t, sb, ch, "pending-bad", 13_000, snapBadDigit, 0)
	f.unauthWindow = prepared(t, sb, ch, "unauth", 5_000)
	f.expiringWindow = prepared(t, sb, ch, "expiring", 5_000)
	bw := must[*providers.PrepareWindowResult](t)(sb.PrepareWindow(snapCtx, ch, providers.PrepareWindowRequest{
		Purpose: providers.WindowBillingKey, CustomerKey: "cust-window"}))
	f.billingWindow = must[providers.WindowResult](t)(sb.AuthenticateWindow(snapCtx, ch, bw.Params[WindowSessionID],
		WindowAuth{Card: testCardData(snapOtherCard)}))

	must[*providers.CancelResult](t)(sb.Cancel(snapCtx, ch, providers.CancelRequest{OrderID: "keyin", Amount: 10_000,
		Reason: "부분 취소", IdempotencyKey: "idem-cancel-1"}))
	must[*providers.CancelResult](t)(sb.Cancel(snapCtx, ch, providers.CancelRequest{PGTransactionID: f.keyIn.PGTransactionID,
		Amount: 5_000, TaxFree: new(int64(0))}))
	if _, err := sb.Cancel(snapCtx, ch, providers.CancelRequest{OrderID: "keyin", Amount: 999_999, IdempotencyKey: "idem-cancel-err"}); err == nil {
		t.Fatal("over-cancel passed")
	}

	key := must[*providers.BillingKey](t)
	c := testCardData(CardSuccess)
	f.goodKey = key(sb.IssueBillingKey(snapCtx, ch, providers.IssueBillingKeyRequest{CustomerKey: "cust-1", Card: &c, IdempotencyKey: "idem-bk-1"})).Key
	d := testCardData(CardBillingDeclines)
	f.declKey = key(sb.IssueBillingKey(snapCtx, ch, providers.IssueBillingKeyRequest{CustomerKey: "cust-2", OrderID: "reg-2", Card: &d})).Key
	f.deletedKey = key(sb.IssueBillingKey(snapCtx, ch, providers.IssueBillingKeyRequest{CustomerKey: "cust-3", Card: &c})).Key
	key(sb.DeleteBillingKey(snapCtx, ch, providers.DeleteBillingKeyRequest{BillingKey: f.deletedKey, CustomerKey: "cust-3"}))
	l := testCardData(CardLostOrStolen)
	if _, err := sb.IssueBillingKey(snapCtx, ch, providers.IssueBillingKeyRequest{CustomerKey: "cust-4", Card: &l, IdempotencyKey: "idem-bk-lost"}); err == nil {
		t.Fatal("lost card got a billing key")
	}
	pay(sb.ChargeBillingKey(snapCtx, ch, providers.ChargeBillingKeyRequest{BillingKey: f.goodKey, CustomerKey: "cust-1",
		OrderID: "bill-1", Amount: snapKRW(9_900), IdempotencyKey: "idem-bill-1"}))
	if _, err := sb.ChargeBillingKey(snapCtx, ch, providers.ChargeBillingKeyRequest{BillingKey: f.declKey,
		OrderID: "bill-decl", Amount: snapKRW(9_900)}); providers.KindOf(err) != providers.KindDeclined {
		t.Fatalf("declining key: %v", err)
	}

	subject := &providers.CashReceiptSubject{Type: providers.CashReceiptIncomeDeduction, Identity: providers.NewRedacted(snapPhone)}
	f.vaDeposited = pay(sb.IssueVirtualAccount(snapCtx, ch, providers.IssueVirtualAccountRequest{OrderID: "va-1", OrderName: "가방",
		Amount: snapKRW(20_000), Bank: providers.BankKB, CustomerName: "홍길동", CashReceipt: subject, IdempotencyKey: "idem-va-1"}))
	n := must[*providers.Notification](t)(sb.SimulateDeposit(snapCtx, ch, DepositRequest{AccountNumber: f.vaDeposited.VirtualAccount.AccountNumber}))
	f.depositEvent = n.Header.Get(HeaderEventID)
	ra := &providers.RefundAccount{Bank: providers.BankShinhan, Number: providers.NewRedacted(snapRefundNo), Holder: "홍길동"}
	f.refundCancel = must[*providers.CancelResult](t)(sb.Cancel(snapCtx, ch, providers.CancelRequest{OrderID: "va-1", Amount: 4_000,
		RefundAccount: ra, IdempotencyKey: "idem-refund"}))
	failing := &providers.CashReceiptSubject{Type: providers.CashReceiptExpenseProof, Identity: providers.NewRedacted(FailingCashReceiptIdentity)}
	f.vaWaiting = pay(sb.IssueVirtualAccount(snapCtx, ch, providers.IssueVirtualAccountRequest{OrderID: "va-2",
		Amount: snapKRW(15_000), Bank: providers.BankShinhan, CashReceipt: failing}))
	// An order with two receipts: one asked for directly, then the
	// deposit's. The order id names the first.
	pay(sb.IssueVirtualAccount(snapCtx, ch, providers.IssueVirtualAccountRequest{OrderID: "va-4", Amount: snapKRW(8_000),
		Bank: providers.BankKB, CashReceipt: subject}))
	must[*providers.CashReceipt](t)(sb.IssueCashReceipt(snapCtx, ch, providers.IssueCashReceiptRequest{OrderID: "va-4",
		Amount: snapKRW(8_000), Subject: *subject}))
	must[*providers.Notification](t)(sb.SimulateDeposit(snapCtx, ch, DepositRequest{OrderID: "va-4"}))
	pay(sb.IssueVirtualAccount(snapCtx, ch, providers.IssueVirtualAccountRequest{OrderID: "va-closed", Amount: snapKRW(1_000), Bank: providers.BankKB}))
	pay(sb.CloseVirtualAccount(snapCtx, ch, providers.CloseVirtualAccountRequest{OrderID: "va-closed"}))

	rec := must[*providers.CashReceipt](t)
	f.receipt = rec(sb.IssueCashReceipt(snapCtx, ch, providers.IssueCashReceiptRequest{OrderID: "cash-1", Amount: snapKRW(11_000),
		Subject:        providers.CashReceiptSubject{Type: providers.CashReceiptIncomeDeduction, Identity: providers.NewRedacted(snapPhone)},
		IdempotencyKey: "idem-cr-1"}))
	rec(sb.IssueCashReceipt(snapCtx, ch, providers.IssueCashReceiptRequest{OrderID: "cash-2", Amount: snapKRW(22_000),
		Subject: providers.CashReceiptSubject{Type: providers.CashReceiptIncomeDeduction, Identity: providers.NewRedacted(snapPhone)}}))
	clock.Advance(10 * time.Minute)
	rec(sb.LookupCashReceipt(snapCtx, ch, providers.LookupCashReceiptRequest{OrderID: "cash-2"})) // ISSUED now
	rec(sb.CancelCashReceipt(snapCtx, ch, providers.CancelCashReceiptRequest{OrderID: "cash-2", Amount: 2_000, IdempotencyKey: "idem-crc-1"}))
	// cash-1 stays REQUESTED: nobody looked since its delay passed.
	return f
}

// result is one call's answer in comparable form: the JSON of the value
// (card numbers masked, redacted values hidden), the revealed refund
// account numbers, and the error.
func result(v any, err error) string {
	var b strings.Builder
	if err != nil {
		fmt.Fprintf(&b, "error[%s] %s; ", providers.KindOf(err), err)
	}
	j, jerr := json.Marshal(v)
	if jerr != nil {
		return "unmarshalable: " + jerr.Error()
	}
	b.Write(j)
	var pays []*providers.Payment
	switch x := v.(type) {
	case *providers.Payment:
		pays = append(pays, x)
	case *providers.CancelResult:
		if x != nil {
			pays = append(pays, x.Payment)
			if r := x.Cancellation.Refund; r != nil {
				fmt.Fprintf(&b, "; refund to %s", r.Account.Number.Reveal())
			}
		}
	case []providers.Payment:
		for i := range x {
			pays = append(pays, &x[i])
		}
	}
	for _, p := range pays {
		if p == nil {
			continue
		}
		for _, c := range p.Cancellations {
			if c.Refund != nil {
				fmt.Fprintf(&b, "; %s refunds to %s", c.ID, c.Refund.Account.Number.Reveal())
			}
		}
	}
	return b.String()
}

// restoredPair returns a populated sandbox and a new one restored from its
// snapshot, on one clock.
func restoredPair(t *testing.T) (orig, restored *Sandbox, clock *ManualClock, f fixture, data []byte) {
	t.Helper()
	clock = NewManualClock(snapT0)
	orig = New(snapOptions(clock))
	f = populate(t, orig, clock)
	data, err := orig.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	restored = New(snapOptions(clock))
	if err := restored.Restore(data); err != nil {
		t.Fatal(err)
	}
	return orig, restored, clock, f, data
}

// allIDs returns every id the state holds that the sequence made.
func allIDs(s *Sandbox) map[string]bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	ids := map[string]bool{}
	for _, m := range s.merchants {
		for _, p := range m.payments {
			ids[p.p.PGTransactionID] = true
			if p.p.VirtualAccount != nil {
				ids[p.p.VirtualAccount.AccountNumber] = true
			}
			for _, c := range p.p.Cancellations {
				ids[c.ID] = true
			}
		}
		for id := range m.sessions {
			ids[id] = true
		}
		for id := range m.billingKeys {
			ids[id] = true
		}
		for id := range m.receipts {
			ids[id] = true
		}
		for id := range m.events {
			ids[id] = true
		}
	}
	return ids
}

func TestSnapshotRoundTripSameBytes(t *testing.T) {
	orig, restored, _, _, data := restoredPair(t)
	again, err := restored.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(data, again) {
		t.Fatalf("the restored sandbox's snapshot differs:\n%s\n%s", data, again)
	}
	twice, err := orig.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(data, twice) {
		t.Fatal("two snapshots of one state differ")
	}
	if restored.seq != orig.seq || !sameIndex(restored.windows, orig.windows) {
		t.Fatalf("seq %d/%d, windows %v/%v", restored.seq, orig.seq, restored.windows, orig.windows)
	}
}

func idLess(a, b string) bool {
	x, _ := idSeq(a)
	y, _ := idSeq(b)
	return x < y
}

// TestSnapshotPointerSharing: the indexes of a restored merchant point at
// the same records, as in the original.
func TestSnapshotPointerSharing(t *testing.T) {
	orig, restored, _, _, _ := restoredPair(t)
	for _, s := range []*Sandbox{orig, restored} {
		if len(s.merchants) != 2 {
			t.Fatalf("%d merchants", len(s.merchants))
		}
		for mid, m := range s.merchants {
			accounts := 0
			for tid, p := range m.payments {
				if m.orders[p.p.OrderID] != p {
					t.Errorf("%s: orders[%q] is not payments[%q]", mid, p.p.OrderID, tid)
				}
				if va := p.p.VirtualAccount; va != nil {
					accounts++
					if m.accounts[va.AccountNumber] != p {
						t.Errorf("%s: accounts[%q] is not payments[%q]", mid, va.AccountNumber, tid)
					}
				}
			}
			if len(m.orders) != len(m.payments) || len(m.accounts) != accounts {
				t.Errorf("%s: %d payments, %d orders, %d accounts (%d virtual)", mid, len(m.payments), len(m.orders), len(m.accounts), accounts)
			}
			for id, r := range m.receipts {
				first := m.receiptOrders[r.r.OrderID]
				if first == nil || (first != r && !idLess(first.r.ReceiptID, id)) {
					t.Errorf("%s: receipt %s: receiptOrders[%q] is not the order's first receipt", mid, id, r.r.OrderID)
				}
			}
			for order, r := range m.receiptOrders {
				if m.receipts[r.r.ReceiptID] != r || r.r.OrderID != order {
					t.Errorf("%s: receiptOrders[%q] is not receipts[%q]", mid, order, r.r.ReceiptID)
				}
			}
			if m == s.merchants["mid_a"] && len(m.receiptOrders) == len(m.receipts) {
				t.Errorf("%s: no order has two receipts", mid)
			}
			for id, bk := range m.billingKeys {
				if bk.card.info != bk.k.Card {
					t.Errorf("%s: billing key %s card profile differs", mid, id)
				}
			}
		}
	}
	// Sharing also shows in behaviour: a cancel by order id is seen by
	// transaction id.
	ch := snapChannel("mid_a")
	p := restored.merchants["mid_a"].orders["keyin"]
	if _, err := restored.Cancel(snapCtx, ch, providers.CancelRequest{OrderID: "keyin"}); err != nil {
		t.Fatal(err)
	}
	got, err := restored.Lookup(snapCtx, ch, providers.LookupRequest{PGTransactionID: p.p.PGTransactionID})
	if err != nil || got.Status != providers.StatusCancelled {
		t.Fatalf("after cancel by order id, Lookup by tid: %+v, %v", got, err)
	}
}

// TestSnapshotRestoredBehavesAsOriginal runs the same calls on the
// original and on a restored copy: every answer must be the same, new ids
// included, and none of the new ids may be one the snapshot held.
func TestSnapshotRestoredBehavesAsOriginal(t *testing.T) {
	orig, restored, clock, f, _ := restoredPair(t)
	before := allIDs(orig)
	ch, other := snapChannel("mid_a"), snapChannel("mid_b")
	ra := &providers.RefundAccount{Bank: providers.BankShinhan, Number: providers.NewRedacted(snapRefundNo), Holder: "홍길동"}
	subject := &providers.CashReceiptSubject{Type: providers.CashReceiptIncomeDeduction, Identity: providers.NewRedacted(snapPhone)}
	good, other4 := testCardData(CardSuccess), testCardData(snapOtherCard)

	type call func(s *Sandbox) (any, error)
	checkout := func(method, id string, form url.Values) call {
		return func(s *Sandbox) (any, error) {
			req := httptest.NewRequest(method, "/"+id, strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			w := httptest.NewRecorder()
			s.Checkout().ServeHTTP(w, req)
			return fmt.Sprintf("%d %s %s", w.Code, w.Header().Get("Location"), w.Body.String()), nil
		}
	}
	tests := []struct {
		name    string
		advance time.Duration // before the call
		call    call
		want    providers.Kind // KindUnknown: success
		code    string
	}{
		{"lookup key-in by tid", 0, func(s *Sandbox) (any, error) {
			return s.Lookup(snapCtx, ch, providers.LookupRequest{PGTransactionID: f.keyIn.PGTransactionID})
		}, 0, ""},
		{"lookup key-in by order", 0, func(s *Sandbox) (any, error) {
			return s.Lookup(snapCtx, ch, providers.LookupRequest{OrderID: "keyin"})
		}, 0, ""},
		{"lookup other merchant", 0, func(s *Sandbox) (any, error) {
			return s.Lookup(snapCtx, other, providers.LookupRequest{OrderID: "keyin"})
		}, 0, ""},
		{"lookup declined", 0, func(s *Sandbox) (any, error) {
			return s.Lookup(snapCtx, ch, providers.LookupRequest{OrderID: "declined"})
		}, 0, ""},
		{"lookup timeout not charged", 0, func(s *Sandbox) (any, error) {
			return s.Lookup(snapCtx, ch, providers.LookupRequest{OrderID: "timeout-none"})
		}, providers.KindNotFound, "PAYMENT_NOT_FOUND"},
		{"key-in replay", 0, func(s *Sandbox) (any, error) {
			return s.ChargeKeyIn(snapCtx, ch, providers.KeyInRequest{OrderID: "keyin", OrderName: "책", Amount: snapKRW(30_000),
				Card: testCardData(CardSuccess), IdempotencyKey: "idem-keyin"})
		}, 0, ""},
		{"key-in replay of a decline", 0, func(s *Sandbox) (any, error) {
			return s.ChargeKeyIn(snapCtx, ch, providers.KeyInRequest{OrderID: "declined", Amount: snapKRW(1_000), Card: testCardData(CardInsufficientFunds)})
		}, providers.KindDeclined, "SB_51"},
		{"key-in replay after timeout", 0, func(s *Sandbox) (any, error) {
			return s.ChargeKeyIn(snapCtx, ch, providers.KeyInRequest{OrderID: "timeout", Amount: snapKRW(2_000), Card: testCardData(CardTimeoutCharged)})
		}, 0, ""},
		{"key-in same order, other card", 0, func(s *Sandbox) (any, error) {
			return s.ChargeKeyIn(snapCtx, ch, providers.KeyInRequest{OrderID: "keyin", OrderName: "책", Amount: snapKRW(30_000),
				Card: testCardData(snapOtherCard), IdempotencyKey: "idem-keyin"})
		}, providers.KindInvalidRequest, "IDEMPOTENCY_KEY_REUSED"},
		{"key-in idempotency key of another order", 0, func(s *Sandbox) (any, error) {
			return s.ChargeKeyIn(snapCtx, ch, providers.KeyInRequest{OrderID: "fresh", Amount: snapKRW(1_000), Card: good, IdempotencyKey: "idem-keyin"})
		}, providers.KindInvalidRequest, "IDEMPOTENCY_KEY_REUSED"},
		{"key-in new order", 0, func(s *Sandbox) (any, error) {
			return s.ChargeKeyIn(snapCtx, ch, providers.KeyInRequest{OrderID: "after-1", Amount: snapKRW(4_000), Card: good})
		}, 0, ""},
		{"approve replay", 0, func(s *Sandbox) (any, error) {
			return s.Approve(snapCtx, ch, providers.ApproveRequest{OrderID: "window", Amount: snapKRW(55_000), Window: f.approvedWindow,
				IdempotencyKey: "idem-window"})
		}, 0, ""},
		{"approve replay, other amount", 0, func(s *Sandbox) (any, error) {
			return s.Approve(snapCtx, ch, providers.ApproveRequest{OrderID: "window", Amount: snapKRW(55_001), Window: f.approvedWindow,
				IdempotencyKey: "idem-window"})
		}, providers.KindInvalidRequest, "IDEMPOTENCY_KEY_REUSED"},
		{"approve pending window, billing-declines card", 0, func(s *Sandbox) (any, error) {
			return s.Approve(snapCtx, ch, providers.ApproveRequest{OrderID: "pending-decl", Amount: snapKRW(12_000), Window: f.pendingDeclKey})
		}, 0, ""},
		{"approve pending window, other card, installments", 0, func(s *Sandbox) (any, error) {
			return s.Approve(snapCtx, ch, providers.ApproveRequest{OrderID: "pending-other", Amount: snapKRW(60_000), Window: f.pendingOther})
		}, 0, ""},
		{"approve pending window, bad check digit", 0, func(s *Sandbox) (any, error) {
			return s.Approve(snapCtx, ch, providers.ApproveRequest{OrderID: "pending-bad", Amount: snapKRW(13_000), Window: f.pendingBad})
		}, providers.KindDeclined, "SB_14"},
		{"approve replay of the approved pending window", 0, func(s *Sandbox) (any, error) {
			return s.Approve(snapCtx, ch, providers.ApproveRequest{OrderID: "pending-other", Amount: snapKRW(60_000), Window: f.pendingOther})
		}, 0, ""},
		{"checkout page of an open window", 0, checkout(http.MethodGet, f.unauthWindow, nil), 0, ""},
		{"checkout page of a gone window", 0, checkout(http.MethodGet, f.billingWindow[WindowSessionID], nil), 0, ""},
		{"checkout post", 0, checkout(http.MethodPost, f.unauthWindow, url.Values{"number": {CardLimitExceeded}, "exp_month": {"12"}, "exp_year": {"2031"}}), 0, ""},
		{"approve the checkout's window", 0, func(s *Sandbox) (any, error) {
			sess := s.merchants["mid_a"].sessions[f.unauthWindow]
			return s.Approve(snapCtx, ch, providers.ApproveRequest{OrderID: "unauth", Amount: snapKRW(5_000),
				Window: providers.WindowResult{WindowSessionID: sess.id, WindowAuthToken: sess.token}})
		}, providers.KindDeclined, "SB_61"},
		{"billing key from the pending window", 0, func(s *Sandbox) (any, error) {
			return s.IssueBillingKey(snapCtx, ch, providers.IssueBillingKeyRequest{Window: f.billingWindow})
		}, 0, ""},
		{"billing key issue replay", 0, func(s *Sandbox) (any, error) {
			c := testCardData(CardSuccess)
			return s.IssueBillingKey(snapCtx, ch, providers.IssueBillingKeyRequest{CustomerKey: "cust-1", Card: &c, IdempotencyKey: "idem-bk-1"})
		}, 0, ""},
		{"billing key issue replay by order id", 0, func(s *Sandbox) (any, error) {
			d := testCardData(CardBillingDeclines)
			return s.IssueBillingKey(snapCtx, ch, providers.IssueBillingKeyRequest{CustomerKey: "cust-2", OrderID: "reg-2", Card: &d})
		}, 0, ""},
		{"billing key issue replay of a decline", 0, func(s *Sandbox) (any, error) {
			l := testCardData(CardLostOrStolen)
			return s.IssueBillingKey(snapCtx, ch, providers.IssueBillingKeyRequest{CustomerKey: "cust-4", Card: &l, IdempotencyKey: "idem-bk-lost"})
		}, providers.KindDeclined, "SB_43"},
		{"billing key issue, key reused", 0, func(s *Sandbox) (any, error) {
			return s.IssueBillingKey(snapCtx, ch, providers.IssueBillingKeyRequest{CustomerKey: "cust-1", Card: &other4, IdempotencyKey: "idem-bk-1"})
		}, providers.KindInvalidRequest, "IDEMPOTENCY_KEY_REUSED"},
		{"charge good key", 0, func(s *Sandbox) (any, error) {
			return s.ChargeBillingKey(snapCtx, ch, providers.ChargeBillingKeyRequest{BillingKey: f.goodKey, CustomerKey: "cust-1",
				OrderID: "bill-2", Amount: snapKRW(9_900)})
		}, 0, ""},
		{"charge good key replay", 0, func(s *Sandbox) (any, error) {
			return s.ChargeBillingKey(snapCtx, ch, providers.ChargeBillingKeyRequest{BillingKey: f.goodKey, CustomerKey: "cust-1",
				OrderID: "bill-1", Amount: snapKRW(9_900), IdempotencyKey: "idem-bill-1"})
		}, 0, ""},
		{"charge declining key", 0, func(s *Sandbox) (any, error) {
			return s.ChargeBillingKey(snapCtx, ch, providers.ChargeBillingKeyRequest{BillingKey: f.declKey, OrderID: "bill-decl-2", Amount: snapKRW(9_900)})
		}, providers.KindDeclined, "SB_51"},
		{"charge declining key, installments refused first", 0, func(s *Sandbox) (any, error) {
			return s.ChargeBillingKey(snapCtx, ch, providers.ChargeBillingKeyRequest{BillingKey: f.declKey, OrderID: "bill-decl-3",
				Amount: snapKRW(9_900), InstallmentMonths: 3})
		}, providers.KindDeclined, "INSTALLMENT_NOT_ALLOWED_UNDER_50000"},
		{"charge deleted key", 0, func(s *Sandbox) (any, error) {
			return s.ChargeBillingKey(snapCtx, ch, providers.ChargeBillingKeyRequest{BillingKey: f.deletedKey, OrderID: "bill-del", Amount: snapKRW(9_900)})
		}, providers.KindNotFound, "BILLING_KEY_DELETED"},
		{"delete deleted key", 0, func(s *Sandbox) (any, error) {
			return s.DeleteBillingKey(snapCtx, ch, providers.DeleteBillingKeyRequest{BillingKey: f.deletedKey})
		}, providers.KindAlreadyDone, "BILLING_KEY_ALREADY_DELETED"},
		{"cancel replay", 0, func(s *Sandbox) (any, error) {
			return s.Cancel(snapCtx, ch, providers.CancelRequest{OrderID: "keyin", Amount: 10_000, Reason: "부분 취소", IdempotencyKey: "idem-cancel-1"})
		}, 0, ""},
		{"cancel replay of an error", 0, func(s *Sandbox) (any, error) {
			return s.Cancel(snapCtx, ch, providers.CancelRequest{OrderID: "keyin", Amount: 999_999, IdempotencyKey: "idem-cancel-err"})
		}, providers.KindInvalidRequest, "CANCEL_AMOUNT_EXCEEDS_CANCELLABLE_AMOUNT"},
		{"cancel key reused", 0, func(s *Sandbox) (any, error) {
			return s.Cancel(snapCtx, ch, providers.CancelRequest{OrderID: "keyin", Amount: 1_000, IdempotencyKey: "idem-cancel-1"})
		}, providers.KindInvalidRequest, "IDEMPOTENCY_KEY_REUSED"},
		{"cancel partly again", 0, func(s *Sandbox) (any, error) {
			return s.Cancel(snapCtx, ch, providers.CancelRequest{OrderID: "keyin", Amount: 3_000, ExpectedCancellable: new(int64(15_000))})
		}, 0, ""},
		{"cancel the rest by tid", 0, func(s *Sandbox) (any, error) {
			return s.Cancel(snapCtx, ch, providers.CancelRequest{PGTransactionID: f.keyIn.PGTransactionID})
		}, 0, ""},
		{"cancel again", 0, func(s *Sandbox) (any, error) {
			return s.Cancel(snapCtx, ch, providers.CancelRequest{OrderID: "keyin"})
		}, providers.KindAlreadyDone, "PAYMENT_ALREADY_CANCELLED"},
		{"net cancel the timed-out charge", 0, func(s *Sandbox) (any, error) {
			return s.NetCancel(snapCtx, ch, providers.NetCancelRequest{OrderID: "timeout"})
		}, 0, ""},
		{"refund replay", 0, func(s *Sandbox) (any, error) {
			return s.Cancel(snapCtx, ch, providers.CancelRequest{OrderID: "va-1", Amount: 4_000, RefundAccount: ra, IdempotencyKey: "idem-refund"})
		}, 0, ""},
		{"virtual account issue replay", 0, func(s *Sandbox) (any, error) {
			return s.IssueVirtualAccount(snapCtx, ch, providers.IssueVirtualAccountRequest{OrderID: "va-1", OrderName: "가방",
				Amount: snapKRW(20_000), Bank: providers.BankKB, CustomerName: "홍길동", CashReceipt: subject, IdempotencyKey: "idem-va-1"})
		}, 0, ""},
		{"deposit twice", 0, func(s *Sandbox) (any, error) {
			return s.SimulateDeposit(snapCtx, ch, DepositRequest{OrderID: "va-1"})
		}, providers.KindAlreadyDone, "ALREADY_DEPOSITED"},
		{"deposit into the closed account", 0, func(s *Sandbox) (any, error) {
			return s.SimulateDeposit(snapCtx, ch, DepositRequest{OrderID: "va-closed"})
		}, providers.KindInvalidRequest, "VIRTUAL_ACCOUNT_CLOSED"},
		{"deposit into the waiting account by number", 0, func(s *Sandbox) (any, error) {
			return s.SimulateDeposit(snapCtx, ch, DepositRequest{AccountNumber: f.vaWaiting.VirtualAccount.AccountNumber, DepositorName: "김철수"})
		}, 0, ""},
		{"lookup the waiting account by order", 0, func(s *Sandbox) (any, error) {
			return s.Lookup(snapCtx, ch, providers.LookupRequest{OrderID: "va-2"})
		}, 0, ""},
		{"resend the deposit notification", 0, func(s *Sandbox) (any, error) {
			return s.ResendNotification(snapCtx, ch, f.depositEvent)
		}, 0, ""},
		{"new virtual account", 0, func(s *Sandbox) (any, error) {
			return s.IssueVirtualAccount(snapCtx, ch, providers.IssueVirtualAccountRequest{OrderID: "va-3", Amount: snapKRW(3_000), Bank: providers.BankKB})
		}, 0, ""},
		{"new window", 0, func(s *Sandbox) (any, error) {
			return s.PrepareWindow(snapCtx, ch, providers.PrepareWindowRequest{OrderID: "win-new", Amount: snapKRW(3_000)})
		}, 0, ""},
		{"cash receipt still requested, settles now", 0, func(s *Sandbox) (any, error) {
			return s.LookupCashReceipt(snapCtx, ch, providers.LookupCashReceiptRequest{ReceiptID: f.receipt.ReceiptID})
		}, 0, ""},
		{"cash receipt issue replay", 0, func(s *Sandbox) (any, error) {
			return s.IssueCashReceipt(snapCtx, ch, providers.IssueCashReceiptRequest{OrderID: "cash-1", Amount: snapKRW(11_000),
				Subject:        providers.CashReceiptSubject{Type: providers.CashReceiptIncomeDeduction, Identity: providers.NewRedacted(snapPhone)},
				IdempotencyKey: "idem-cr-1"})
		}, 0, ""},
		{"cash receipt cancel replay", 0, func(s *Sandbox) (any, error) {
			return s.CancelCashReceipt(snapCtx, ch, providers.CancelCashReceiptRequest{OrderID: "cash-2", Amount: 2_000, IdempotencyKey: "idem-crc-1"})
		}, 0, ""},
		{"deposit's cash receipt, requested", 0, func(s *Sandbox) (any, error) {
			return s.LookupCashReceipt(snapCtx, ch, providers.LookupCashReceiptRequest{OrderID: "va-1"})
		}, 0, ""},
		{"the first receipt of an order", 0, func(s *Sandbox) (any, error) {
			return s.LookupCashReceipt(snapCtx, ch, providers.LookupCashReceiptRequest{OrderID: "va-4"})
		}, 0, ""},
		{"the deposit's receipt of that order", 0, func(s *Sandbox) (any, error) {
			p, err := s.Lookup(snapCtx, ch, providers.LookupRequest{OrderID: "va-4"})
			if err != nil {
				return nil, err
			}
			return s.LookupCashReceipt(snapCtx, ch, providers.LookupCashReceiptRequest{ReceiptID: p.CashReceiptID, OrderID: "va-4"})
		}, 0, ""},
		{"failing deposit receipt, requested", 0, func(s *Sandbox) (any, error) {
			return s.LookupCashReceipt(snapCtx, ch, providers.LookupCashReceiptRequest{OrderID: "va-2"})
		}, 0, ""},
		{"deposit's cash receipt, issued", 10 * time.Minute, func(s *Sandbox) (any, error) {
			return s.LookupCashReceipt(snapCtx, ch, providers.LookupCashReceiptRequest{OrderID: "va-1"})
		}, 0, ""},
		{"failing deposit receipt, failed", 0, func(s *Sandbox) (any, error) {
			return s.LookupCashReceipt(snapCtx, ch, providers.LookupCashReceiptRequest{OrderID: "va-2"})
		}, 0, ""},
		{"cancel a failed receipt", 0, func(s *Sandbox) (any, error) {
			return s.CancelCashReceipt(snapCtx, ch, providers.CancelCashReceiptRequest{OrderID: "va-2"})
		}, providers.KindInvalidRequest, "CASH_RECEIPT_NOT_ISSUED"},
		{"authenticate a window past its TTL", time.Hour, func(s *Sandbox) (any, error) {
			return s.AuthenticateWindow(snapCtx, ch, f.expiringWindow, WindowAuth{Card: good})
		}, providers.KindInvalidRequest, "WINDOW_EXPIRED"},
		{"net cancel too late", 0, func(s *Sandbox) (any, error) {
			return s.NetCancel(snapCtx, ch, providers.NetCancelRequest{OrderID: "window"})
		}, providers.KindInvalidRequest, "NET_CANCEL_EXPIRED"},
		{"refund completes", 24 * time.Hour, func(s *Sandbox) (any, error) {
			return s.Lookup(snapCtx, ch, providers.LookupRequest{OrderID: "va-1"})
		}, 0, ""},
		{"a virtual account expires", 7 * 24 * time.Hour, func(s *Sandbox) (any, error) {
			return s.Lookup(snapCtx, ch, providers.LookupRequest{OrderID: "va-3"})
		}, 0, ""},
		{"all payments", 0, func(s *Sandbox) (any, error) { return s.Payments(ch), nil }, 0, ""},
		{"all payments of the other merchant", 0, func(s *Sandbox) (any, error) { return s.Payments(other), nil }, 0, ""},
	}
	for _, tc := range tests {
		if !t.Run(tc.name, func(t *testing.T) {
			clock.Advance(tc.advance)
			a, aerr := tc.call(orig)
			b, berr := tc.call(restored)
			ra, rb := result(a, aerr), result(b, berr)
			if ra != rb {
				t.Fatalf("the restored sandbox answers differently:\noriginal: %s\nrestored: %s", ra, rb)
			}
			if got := providers.KindOf(berr); got != tc.want || (tc.code != "" && !strings.Contains(berr.Error(), "["+tc.code+"]")) {
				t.Fatalf("answer %s, want %s [%s]", rb, tc.want, tc.code)
			}
		}) {
			break // later calls depend on earlier ones
		}
	}

	after := allIDs(restored)
	fresh := 0
	for id := range after {
		if !before[id] {
			fresh++
		}
	}
	if fresh < 10 {
		t.Fatalf("only %d new ids after restore", fresh)
	}
	for id := range before {
		if !after[id] && !strings.HasPrefix(id, "sbx_win_") { // used windows may go
			t.Errorf("id %s lost", id)
		}
	}
	// No new id reuses a number the snapshot already held.
	var maxBefore uint64
	for id := range before {
		if n, ok := idSeq(id); ok {
			maxBefore = max(maxBefore, n)
		}
	}
	for id := range after {
		if n, ok := idSeq(id); ok && !before[id] && n <= maxBefore {
			t.Errorf("new id %s is not past the snapshot's ids (%d)", id, maxBefore)
		}
	}
}

// TestSnapshotHoldsNoCardData: no full card number, owner id or
// cash-receipt identity is written, whatever stage the card is in (key-in,
// window waiting for approval, billing key).
func TestSnapshotHoldsNoCardData(t *testing.T) {
	clock := NewManualClock(snapT0)
	sb := New(snapOptions(clock))
	populate(t, sb, clock)
	ch := snapChannel("mid_a")
	// Every test card in every place that sees a card.
	for i, number := range allTestCards {
		c := testCardData(number)
		_, _ = sb.ChargeKeyIn(snapCtx, ch, providers.KeyInRequest{OrderID: fmt.Sprint("leak-", i), Amount: snapKRW(1_000), Card: c})
		_, _ = sb.IssueBillingKey(snapCtx, ch, providers.IssueBillingKeyRequest{CustomerKey: "leak", Card: &c})
		authenticated(t, sb, ch, fmt.Sprint("leak-window-", i), 1_000, number, 0)
		bw := must[*providers.PrepareWindowResult](t)(sb.PrepareWindow(snapCtx, ch, providers.PrepareWindowRequest{
			Purpose: providers.WindowBillingKey, CustomerKey: "leak"}))
		must[providers.WindowResult](t)(sb.AuthenticateWindow(snapCtx, ch, bw.Params[WindowSessionID], WindowAuth{Card: c}))
	}
	data, err := sb.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range append(allTestCards, snapOtherCard, snapBadDigit, snapOwnerID, snapPhone) {
		if bytes.Contains(data, []byte(secret)) {
			t.Errorf("the snapshot holds %q", secret)
		}
	}
	for _, field := range []string{"password", "ownerId", "identity", "cvc"} {
		if bytes.Contains(bytes.ToLower(data), []byte(strings.ToLower(field))) {
			t.Errorf("the snapshot has a %q field", field)
		}
	}
	// And a restored copy still tells the cards apart.
	restored := New(snapOptions(clock))
	if err := restored.Restore(data); err != nil {
		t.Fatal(err)
	}
	again, err := restored.Snapshot()
	if err != nil || !bytes.Equal(again, data) {
		t.Fatalf("round trip: %v", err)
	}
}

// TestRestoreRefusesBadSnapshots: a snapshot that cannot be read is
// refused and leaves the state as it was.
func TestRestoreRefusesBadSnapshots(t *testing.T) {
	clock := NewManualClock(snapT0)
	src := New(snapOptions(clock))
	populate(t, src, clock)
	good, err := src.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	edit := func(f func(st map[string]any)) []byte {
		var st map[string]any
		if err := json.Unmarshal(good, &st); err != nil {
			t.Fatal(err)
		}
		f(st)
		b, err := json.Marshal(st)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	merchant0 := func(st map[string]any) map[string]any {
		return st["merchants"].([]any)[0].(map[string]any)
	}
	tests := []struct {
		name string
		data []byte
		want string // in the error
	}{
		{"empty", nil, "not a sandbox snapshot"},
		{"garbage", []byte("\x00\x01garbage"), "not a sandbox snapshot"},
		{"json null", []byte("null"), "no format version"},
		{"json array", []byte("[1,2]"), "not a sandbox snapshot"},
		{"no format", []byte(`{"seq":1,"merchants":[]}`), "no format version"},
		{"format 0", []byte(`{"format":0,"seq":1,"merchants":[]}`), "format 0 is not supported"},
		{"format 2", edit(func(st map[string]any) { st["format"] = 2 }), "format 2 is not supported"},
		{"format as string", []byte(`{"format":"1"}`), "not a sandbox snapshot"},
		{"truncated", good[:len(good)/2], "not a sandbox snapshot"},
		{"trailing data", append(bytes.Clone(good), []byte(` {"format":1}`)...), ""},
		{"unknown field", edit(func(st map[string]any) { st["extra"] = true }), "unknown field"},
		{"sequence behind the ids", edit(func(st map[string]any) { st["seq"] = 3 }), "new ids would collide"},
		{"merchant twice", edit(func(st map[string]any) {
			st["merchants"] = append(st["merchants"].([]any), st["merchants"].([]any)[0])
		}), "appears twice"},
		{"merchant without id", edit(func(st map[string]any) { merchant0(st)["id"] = "" }), "without id"},
		{"payment twice", edit(func(st map[string]any) {
			m := merchant0(st)
			m["payments"] = append(m["payments"].([]any), m["payments"].([]any)[0])
		}), "appears twice"},
		{"unknown card behaviour", edit(func(st map[string]any) {
			merchant0(st)["billingKeys"].([]any)[0].(map[string]any)["behaviour"] = "FREE_MONEY"
		}), "unknown card behaviour"},
		{"unknown error kind", edit(func(st map[string]any) {
			for _, p := range merchant0(st)["payments"].([]any) {
				if a, ok := p.(map[string]any)["answer"].(map[string]any); ok {
					a["kind"] = "OOPS"
				}
			}
		}), "unknown error kind"},
		{"test card that is not one", edit(func(st map[string]any) {
			for _, s := range merchant0(st)["sessions"].([]any) {
				if c, ok := s.(map[string]any)["card"].(map[string]any); ok {
					c["testCard"] = "LIMIT_EXCEEDED"
				}
			}
		}), "test card"},
		{"card number not masked", edit(func(st map[string]any) {
			for _, s := range merchant0(st)["sessions"].([]any) {
				if c, ok := s.(map[string]any)["card"].(map[string]any); ok && c["testCard"] == nil {
					c["number"] = "12"
				}
			}
		}), "not a masked card number"},
	}

	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clock := NewManualClock(snapT0)
			sb := New(snapOptions(clock))
			populate(t, sb, clock)
			before, err := sb.Snapshot()
			if err != nil {
				t.Fatal(err)
			}
			v := sb.Version()
			err = sb.Restore(tc.data)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "sandbox: restore: ") {
				t.Fatalf("Restore = %v, want an error with %q", err, tc.want)
			}
			after, serr := sb.Snapshot()
			if serr != nil || !bytes.Equal(before, after) || sb.Version() != v {
				t.Fatalf("a refused restore changed the state (%v)", serr)
			}
			if _, err := sb.Lookup(snapCtx, snapChannel("mid_a"), providers.LookupRequest{OrderID: "keyin"}); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestRestoreReplacesState: what the receiver held before is gone.
func TestRestoreReplacesState(t *testing.T) {
	clock := NewManualClock(snapT0)
	empty, err := New(snapOptions(clock)).Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	sb := New(snapOptions(clock))
	f := populate(t, sb, clock)
	if err := sb.Restore(empty); err != nil {
		t.Fatal(err)
	}
	ch := snapChannel("mid_a")
	if _, err := sb.Lookup(snapCtx, ch, providers.LookupRequest{PGTransactionID: f.keyIn.PGTransactionID}); providers.KindOf(err) != providers.KindNotFound {
		t.Fatalf("Lookup after restoring an empty snapshot: %v", err)
	}
	if sb.seq != 0 || len(sb.windows) != 0 {
		t.Fatalf("seq %d, %d windows", sb.seq, len(sb.windows))
	}
	p, err := sb.ChargeKeyIn(snapCtx, ch, providers.KeyInRequest{OrderID: "o", Amount: snapKRW(1_000), Card: testCardData(CardSuccess)})
	if err != nil || p.PGTransactionID != "sbx_pay_000001" {
		t.Fatalf("%+v, %v", p, err)
	}
}

// TestStandIn: a stand-in number keeps the masked number and check-digit
// validity and is never a test card.
func TestStandIn(t *testing.T) {
	numbers := append([]string{snapOtherCard, snapBadDigit, "4222222222222", "4222222222223", "6011000990139424",
		"3530111333300000", "6212345678901265", "6212345678901234567", "9410001111110005", "9410009999990518"}, allTestCards...)
	for _, number := range numbers {
		for _, valid := range []bool{true, false} {
			masked := providers.NewCardNumber(number).Masked()
			got, ok := standIn(masked, valid)
			_, test := testCards[got]
			if !ok || providers.NewCardNumber(got).Masked() != masked || luhn(got) != valid || test || !allDigits(got) {
				t.Errorf("standIn(%s, %v) = %q, %v", masked, valid, got, ok)
			}
		}
	}
	for _, masked := range []string{"", "12", "941000******000", "94100*******0005", "941000******00a5", "941000*****x0005", strings.Repeat("1", 16)} {
		if got, ok := standIn(masked, true); ok {
			t.Errorf("standIn(%q) = %q", masked, got)
		}
	}
	// Every behaviour has a name, and names are unique.
	seen := map[string]bool{}
	for _, b := range testCards {
		name, ok := behaviourNames[b]
		if !ok || seen[name] {
			t.Errorf("behaviour %d: name %q", b, name)
		}
		seen[name] = true
		if back, err := parseBehaviour(name); err != nil || back != b {
			t.Errorf("parseBehaviour(%q) = %d, %v", name, back, err)
		}
	}
}

// TestVersion: every call that may change the state moves Version;
// Snapshot, ParseNotification and the checkout page do not.
func TestVersion(t *testing.T) {
	clock := NewManualClock(snapT0)
	sb := New(snapOptions(clock))
	f := populate(t, sb, clock)
	ch := snapChannel("mid_a")
	snap, err := sb.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	c := testCardData(CardSuccess)
	page := func(method, id string) {
		req := httptest.NewRequest(method, "/"+id, strings.NewReader("number="+CardSuccess+"&exp_month=12&exp_year=2031"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		sb.Checkout().ServeHTTP(httptest.NewRecorder(), req)
	}
	tests := []struct {
		name  string
		moves bool
		call  func()
	}{
		{"PrepareWindow", true, func() {
			_, _ = sb.PrepareWindow(snapCtx, ch, providers.PrepareWindowRequest{OrderID: "v-w", Amount: snapKRW(1_000)})
		}},
		{"AuthenticateWindow", true, func() {
			_, _ = sb.AuthenticateWindow(snapCtx, ch, prepared(t, sb, ch, "v-a", 1_000), WindowAuth{Card: c})
		}},
		{"Approve", true, func() { _, _ = sb.Approve(snapCtx, ch, providers.ApproveRequest{OrderID: "v-x", Amount: snapKRW(1)}) }},
		{"ChargeKeyIn", true, func() {
			_, _ = sb.ChargeKeyIn(snapCtx, ch, providers.KeyInRequest{OrderID: "v-k", Amount: snapKRW(1_000), Card: c})
		}},
		{"Lookup (expires, settles)", true, func() { _, _ = sb.Lookup(snapCtx, ch, providers.LookupRequest{OrderID: "keyin"}) }},
		{"Lookup of nothing", true, func() { _, _ = sb.Lookup(snapCtx, ch, providers.LookupRequest{OrderID: "none"}) }},
		{"Lookup of a new merchant", true, func() { _, _ = sb.Lookup(snapCtx, snapChannel("mid_new"), providers.LookupRequest{OrderID: "none"}) }},
		{"Cancel", true, func() { _, _ = sb.Cancel(snapCtx, ch, providers.CancelRequest{OrderID: "keyin", Amount: 100}) }},
		{"NetCancel", true, func() { _, _ = sb.NetCancel(snapCtx, ch, providers.NetCancelRequest{OrderID: "timeout"}) }},
		{"IssueBillingKey", true, func() { _, _ = sb.IssueBillingKey(snapCtx, ch, providers.IssueBillingKeyRequest{Card: &c}) }},
		{"ChargeBillingKey", true, func() {
			_, _ = sb.ChargeBillingKey(snapCtx, ch, providers.ChargeBillingKeyRequest{BillingKey: f.goodKey, OrderID: "v-b", Amount: snapKRW(1_000)})
		}},
		{"DeleteBillingKey", true, func() {
			_, _ = sb.DeleteBillingKey(snapCtx, ch, providers.DeleteBillingKeyRequest{BillingKey: f.goodKey})
		}},
		{"IssueVirtualAccount", true, func() {
			_, _ = sb.IssueVirtualAccount(snapCtx, ch, providers.IssueVirtualAccountRequest{OrderID: "v-va", Amount: snapKRW(1_000), Bank: providers.BankKB})
		}},
		{"CloseVirtualAccount", true, func() {
			_, _ = sb.CloseVirtualAccount(snapCtx, ch, providers.CloseVirtualAccountRequest{OrderID: "v-va"})
		}},
		{"SimulateDeposit", true, func() { _, _ = sb.SimulateDeposit(snapCtx, ch, DepositRequest{OrderID: "va-2"}) }},
		{"ResendNotification", true, func() { _, _ = sb.ResendNotification(snapCtx, ch, f.depositEvent) }},
		{"IssueCashReceipt", true, func() {
			_, _ = sb.IssueCashReceipt(snapCtx, ch, providers.IssueCashReceiptRequest{OrderID: "v-cr", Amount: snapKRW(1_000),
				Subject: providers.CashReceiptSubject{Type: providers.CashReceiptIncomeDeduction, Identity: providers.NewRedacted(snapPhone)}})
		}},
		{"LookupCashReceipt", true, func() {
			_, _ = sb.LookupCashReceipt(snapCtx, ch, providers.LookupCashReceiptRequest{OrderID: "cash-1"})
		}},
		{"CancelCashReceipt", true, func() {
			_, _ = sb.CancelCashReceipt(snapCtx, ch, providers.CancelCashReceiptRequest{OrderID: "cash-1"})
		}},
		{"Payments (expires virtual accounts)", true, func() { sb.Payments(ch) }},
		{"Checkout POST", true, func() { page(http.MethodPost, prepared(t, sb, ch, "v-page", 1_000)) }},
		{"Restore", true, func() {
			if err := sb.Restore(snap); err != nil {
				t.Fatal(err)
			}
		}},
		{"Snapshot", false, func() { _, _ = sb.Snapshot() }},
		{"refused Restore", false, func() { _ = sb.Restore([]byte("{}")) }},
		{"Checkout GET", false, func() { page(http.MethodGet, f.unauthWindow) }},
		{"ParseNotification", false, func() { _, _ = sb.ParseNotification(snapCtx, ch, providers.Notification{}) }},
		{"cancelled context", false, func() {
			cctx, cancel := context.WithCancel(snapCtx)
			cancel()
			_, _ = sb.ChargeKeyIn(cctx, ch, providers.KeyInRequest{OrderID: "v-c", Amount: snapKRW(1_000), Card: c})
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.name == "Checkout POST" || tc.name == "AuthenticateWindow" {
				// The window is prepared inside the call; check the last
				// step alone moved it.
				v := sb.Version()
				tc.call()
				if sb.Version() < v+2 {
					t.Fatalf("version %d -> %d", v, sb.Version())
				}
				return
			}
			v := sb.Version()
			tc.call()
			if moved := sb.Version() > v; moved != tc.moves {
				t.Fatalf("version %d -> %d, want moved=%v", v, sb.Version(), tc.moves)
			}
		})
	}
}

// TestSnapshotConcurrent: snapshots, restores and calls at once (for
// -race), and every snapshot taken restores.
func TestSnapshotConcurrent(t *testing.T) {
	clock := NewManualClock(snapT0)
	sb := New(snapOptions(clock))
	populate(t, sb, clock)
	ch := snapChannel("mid_a")
	var wg sync.WaitGroup
	snaps := make(chan []byte, 64)
	for g := range 4 {
		wg.Go(func() {
			for i := range 20 {
				_, _ = sb.ChargeKeyIn(snapCtx, ch, providers.KeyInRequest{OrderID: fmt.Sprintf("c-%d-%d", g, i), Amount: snapKRW(1_000), Card: testCardData(CardSuccess)})
				_, _ = sb.Lookup(snapCtx, ch, providers.LookupRequest{OrderID: "keyin"})
			}
		})
	}
	wg.Go(func() {
		for range 20 {
			_ = sb.Version()
			data, err := sb.Snapshot()
			if err != nil {
				t.Error(err)
				return
			}
			snaps <- data
		}
	})
	wg.Wait()
	close(snaps)
	for data := range snaps {
		if err := New(snapOptions(clock)).Restore(data); err != nil {
			t.Fatal(err)
		}
	}
	// Restoring while others call.
	data, err := sb.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	wg.Go(func() {
		for i := range 20 {
			_, _ = sb.ChargeKeyIn(snapCtx, ch, providers.KeyInRequest{OrderID: fmt.Sprint("r-", i), Amount: snapKRW(1_000), Card: testCardData(CardSuccess)})
		}
	})
	wg.Go(func() {
		for range 5 {
			if err := sb.Restore(data); err != nil {
				t.Error(err)
			}
		}
	})
	wg.Wait()
}
