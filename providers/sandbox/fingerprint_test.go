package sandbox

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/paymux/paymux/providers"
)

// fingerprints returns every request fingerprint a snapshot holds, named by
// where it is.
func fingerprints(t *testing.T, s *Sandbox) map[string]string {
	t.Helper()
	data, err := s.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	var st snapState
	if err := json.Unmarshal(data, &st); err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	add := func(name, fp string) {
		if fp != "" {
			out[name] = fp
		}
	}
	for _, m := range st.Merchants {
		for _, p := range m.Payments {
			add(m.ID+" payment "+p.Payment.OrderID, p.Fingerprint)
		}
		for k, c := range m.Cancels {
			add(m.ID+" cancel "+k, c.Fingerprint)
		}
		for k, b := range m.BillingIssues {
			add(m.ID+" billing key "+k, b.Fingerprint)
		}
		for _, r := range m.Receipts {
			add(m.ID+" receipt "+r.Receipt.ReceiptID, r.Fingerprint)
		}
		for k, r := range m.ReceiptCancels {
			add(m.ID+" receipt cancel "+k, r.Fingerprint)
		}
	}
	return out
}

// TestFingerprintKeyed: the same request gives the same fingerprint under
// one key and another under another key; without a key each sandbox draws
// its own.
func TestFingerprintKeyed(t *testing.T) {
	clock := NewManualClock(snapT0)
	ch := snapChannel("mid_a")
	opts := func(key []byte) Options {
		o := snapOptions(clock)
		o.FingerprintKey = key
		return o
	}
	charge := func(s *Sandbox) string {
		t.Helper()
		must[*providers.Payment](t)(s.ChargeKeyIn(snapCtx, ch, providers.KeyInRequest{OrderID: "o-1", Amount: snapKRW(1_000),
			Card: testCardData(CardSuccess)}))
		fp := s.merchants[ch.MerchantID].orders["o-1"].fingerprint
		if len(fp) != 32 {
			t.Fatalf("fingerprint %q is not 32 hex digits", fp)
		}
		if _, err := hex.DecodeString(fp); err != nil {
			t.Fatalf("fingerprint %q: %v", fp, err)
		}
		return fp
	}

	keyA := []byte("key-A")
	a, a2 := charge(New(opts(keyA))), charge(New(opts([]byte("key-A"))))
	b := charge(New(opts([]byte("key-B"))))
	if a != a2 {
		t.Errorf("one key, one request: fingerprints %s and %s", a, a2)
	}
	if a == b {
		t.Errorf("two keys give the same fingerprint %s", a)
	}
	// New copies the key: changing the caller's slice changes nothing.
	sb := New(opts(keyA))
	keyA[0] = 'X'
	if got := charge(sb); got != a {
		t.Errorf("the key changed under the sandbox: %s, want %s", got, a)
	}
	// No key: a random one per sandbox.
	n1, n2 := New(opts(nil)), New(opts([]byte{}))
	if len(n1.fpKey) != 32 || bytes.Equal(n1.fpKey, n2.fpKey) {
		t.Fatalf("random keys %x, %x", n1.fpKey, n2.fpKey)
	}
	if charge(n1) == charge(n2) {
		t.Error("two sandboxes without a key give the same fingerprint")
	}

	// Every fingerprint of a full state (card data, identities, refund
	// accounts, and the rest) depends on the key.
	clock = NewManualClock(snapT0)
	sa := New(opts([]byte("key-A")))
	populate(t, sa, clock)
	clock = NewManualClock(snapT0)
	sa2 := New(opts([]byte("key-A")))
	populate(t, sa2, clock)
	clock = NewManualClock(snapT0)
	sbB := New(opts([]byte("key-B")))
	populate(t, sbB, clock)
	fa, fa2, fb := fingerprints(t, sa), fingerprints(t, sa2), fingerprints(t, sbB)
	if len(fa) < 15 || len(fa) != len(fb) || len(fa) != len(fa2) {
		t.Fatalf("%d, %d and %d fingerprints", len(fa), len(fa2), len(fb))
	}
	for name, fp := range fa {
		if fa2[name] != fp {
			t.Errorf("%s: %s and %s under one key", name, fp, fa2[name])
		}
		if fb[name] == fp || fb[name] == "" {
			t.Errorf("%s: %q under key A, %q under key B", name, fp, fb[name])
		}
	}
}

// TestRestoreWithAnotherKey: a snapshot restored into a sandbox with
// another key works, but a retry of a request made before it is no longer
// recognised as a replay (as Options.FingerprintKey documents); with the
// same key it is.
func TestRestoreWithAnotherKey(t *testing.T) {
	clock := NewManualClock(snapT0)
	orig := New(snapOptions(clock))
	f := populate(t, orig, clock)
	data, err := orig.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	ch := snapChannel("mid_a")
	retry := providers.KeyInRequest{OrderID: "keyin", OrderName: "책", Amount: snapKRW(30_000),
		Card: testCardData(CardSuccess), IdempotencyKey: "idem-keyin"}

	same := New(snapOptions(clock))
	if err := same.Restore(data); err != nil {
		t.Fatal(err)
	}
	p, err := same.ChargeKeyIn(snapCtx, ch, retry)
	if err != nil || p.PGTransactionID != f.keyIn.PGTransactionID {
		t.Fatalf("same key: the retry answers %v, %v", p, err)
	}

	o := snapOptions(clock)
	o.FingerprintKey = []byte("another key")
	other := New(o)
	if err := other.Restore(data); err != nil {
		t.Fatal(err)
	}
	if _, err := other.Lookup(snapCtx, ch, providers.LookupRequest{OrderID: "keyin"}); err != nil {
		t.Fatalf("another key: lookup: %v", err)
	}
	_, err = other.ChargeKeyIn(snapCtx, ch, retry)
	if providers.KindOf(err) != providers.KindInvalidRequest || !bytes.Contains([]byte(err.Error()), []byte("[IDEMPOTENCY_KEY_REUSED]")) {
		t.Fatalf("another key: the retry answers %v", err)
	}
}

// unkeyed is the sandbox's former fingerprint: plain SHA-256 of the parts,
// 32 hex digits.
func unkeyed(parts ...any) string {
	h := sha256.New()
	for _, p := range parts {
		fmt.Fprintf(h, "%v\x00", p)
	}
	return hex.EncodeToString(h.Sum(nil))[:32]
}

// TestSnapshotHoldsNoUnkeyedCardHash: no hash of a card number (or of an
// identity number or refund account) computed without the key is written:
// not the card's own digest, not the fingerprint of a request carrying it
// as the sandbox used to compute it, not a plain SHA-256 of the number.
func TestSnapshotHoldsNoUnkeyedCardHash(t *testing.T) {
	clock := NewManualClock(snapT0)
	sb := New(snapOptions(clock))
	populate(t, sb, clock)
	ch := snapChannel("mid_a")

	var bad []string
	addHashes := func(s string) {
		sum := sha256.Sum256([]byte(s))
		full := hex.EncodeToString(sum[:])
		bad = append(bad, full, full[:32], full[:16])
	}
	numbers := append(append([]string{}, allTestCards...), snapOtherCard, snapBadDigit)
	for i, number := range numbers {
		c := testCardData(number)
		cardHash := unkeyed("card", number, c.ExpiryYear, c.ExpiryMonth)
		addHashes(number)
		bad = append(bad, cardHash)

		order := fmt.Sprint("hash-", i)
		amount := snapKRW(1_000)
		_, _ = sb.ChargeKeyIn(snapCtx, ch, providers.KeyInRequest{OrderID: order, Amount: amount, Card: c})
		bad = append(bad, unkeyed("ChargeKeyIn", amountKey(amount), 0, cardHash))

		reg := fmt.Sprint("hash-reg-", i)
		_, _ = sb.IssueBillingKey(snapCtx, ch, providers.IssueBillingKeyRequest{CustomerKey: "hash", OrderID: reg, Card: &c})
		bad = append(bad, unkeyed("IssueBillingKey", "hash", reg, cardHash))
	}
	// populate's own card requests.
	bad = append(bad,
		unkeyed("ChargeKeyIn", amountKey(snapKRW(30_000)), 0, unkeyed("card", CardSuccess, 2030, 12)),
		unkeyed("ChargeKeyIn", amountKey(snapKRW(1_000)), 0, unkeyed("card", CardInsufficientFunds, 2030, 12)),
		unkeyed("ChargeKeyIn", amountKey(snapKRW(7_000)), 0, unkeyed("card", snapOtherCard, 2030, 12)),
		unkeyed("IssueBillingKey", "cust-1", "", unkeyed("card", CardSuccess, 2030, 12)),
		unkeyed("IssueBillingKey", "cust-2", "reg-2", unkeyed("card", CardBillingDeclines, 2030, 12)),
		unkeyed("IssueBillingKey", "cust-4", "", unkeyed("card", CardLostOrStolen, 2030, 12)),
	)
	// Identity numbers and refund accounts.
	for _, id := range []string{snapPhone, FailingCashReceiptIdentity, snapOwnerID, snapPassword, snapRefundNo} {
		addHashes(id)
	}
	bad = append(bad,
		unkeyed(providers.CashReceiptIncomeDeduction, snapPhone),
		unkeyed(providers.CashReceiptExpenseProof, FailingCashReceiptIdentity),
		unkeyed("IssueCashReceipt", amountKey(snapKRW(11_000)), providers.CashReceiptIncomeDeduction, snapPhone, ""),
		unkeyed("IssueCashReceipt", amountKey(snapKRW(22_000)), providers.CashReceiptIncomeDeduction, snapPhone, ""),
		unkeyed(providers.BankShinhan, snapRefundNo, "홍길동"),
	)

	data, err := sb.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range bad {
		if bytes.Contains(data, []byte(h)) {
			t.Errorf("the snapshot holds the unkeyed hash %s", h)
		}
	}
	// The fingerprints are there, keyed.
	if fps := fingerprints(t, sb); len(fps) < 15 {
		t.Fatalf("only %d fingerprints", len(fps))
	}
}
