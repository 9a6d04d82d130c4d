package money

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"testing"
)

// source feeds the sequence generator: math/rand for the property test,
// the fuzzer's bytes for FuzzCancelSequence.
type source interface {
	choice(n int) int // in [0, n)
	value() uint64
	exhausted() bool
}

type randSource struct{ r *rand.Rand }

func (s randSource) choice(n int) int { return s.r.IntN(n) }
func (s randSource) value() uint64    { return s.r.Uint64() }
func (s randSource) exhausted() bool  { return false }

// byteSource reads choices one byte at a time and values eight bytes at a
// time, as zeros once the input runs out.
type byteSource struct{ b []byte }

func (s *byteSource) choice(n int) int {
	if len(s.b) == 0 {
		return 0
	}
	c := int(s.b[0]) % n
	s.b = s.b[1:]
	return c
}

func (s *byteSource) value() uint64 {
	var buf [8]byte
	n := copy(buf[:], s.b)
	s.b = s.b[n:]
	return binary.LittleEndian.Uint64(buf[:])
}

func (s *byteSource) exhausted() bool { return len(s.b) == 0 }

// upTo returns a value in [0, n] for n >= 0.
func upTo(src source, n int64) int64 {
	return int64(src.value() % (uint64(n) + 1))
}

var totalBounds = []int64{100, 100_000, 1_000_000_000, 1_000_000_000_000_000, math.MaxInt64}

// genPayment draws a valid payment: any size up to MaxInt64, tax-free none,
// all or part, VAT default, zero or any valid value.
func genPayment(t testing.TB, src source) Amounts {
	t.Helper()
	var total int64
	if i := src.choice(len(totalBounds) + 1); i == len(totalBounds) {
		total = math.MaxInt64
	} else {
		total = 1 + int64(src.value()%uint64(totalBounds[i])) // in [1, bound]
	}
	var taxFree int64
	switch src.choice(4) {
	case 0:
		taxFree = 0
	case 1:
		taxFree = total
	default:
		taxFree = upTo(src, total)
	}
	var vat *int64
	switch src.choice(4) {
	case 0, 1:
	case 2:
		vat = p(upTo(src, total-taxFree))
	case 3:
		vat = p(0)
	}
	a, err := NewAmounts(total, taxFree, vat)
	if err != nil {
		t.Fatalf("NewAmounts(%d, %d, %v) = %v", total, taxFree, vat, err)
	}
	return a
}

// genRequest draws a cancel request against a. wellFormed says the request
// uses only defaults and an amount within the balance, so it must succeed:
// the default tax split can never make a cancel fail.
func genRequest(src source, a Amounts) (req CancelRequest, wellFormed bool) {
	left := a.Cancellable()
	wellFormed = left > 0
	switch src.choice(8) {
	case 0:
		req.Amount = 0 // everything
	case 1, 2, 3, 4:
		if left > 0 {
			req.Amount = 1 + int64(src.value()%uint64(left))
		}
	case 5:
		req.Amount = 1 + int64(src.value()%1000) // small, may exceed a small balance
		wellFormed = wellFormed && req.Amount <= left
	case 6:
		req.Amount = int64(src.value()) // anything, negative included
		wellFormed = wellFormed && req.Amount >= 0 && req.Amount <= left
	case 7:
		req.Amount = -1 - int64(src.value()%1000)
		wellFormed = false
	}
	switch src.choice(4) {
	case 2:
		req.TaxFree = p(upTo(src, a.CancellableTaxFree()))
		wellFormed = false
	case 3:
		req.TaxFree = p(int64(src.value()))
		wellFormed = false
	}
	switch src.choice(4) {
	case 2:
		req.VAT = p(upTo(src, a.CancellableVAT()))
		wellFormed = false
	case 3:
		req.VAT = p(int64(src.value()))
		wellFormed = false
	}
	switch src.choice(4) {
	case 2:
		req.CurrentCancellable = p(left)
	case 3:
		req.CurrentCancellable = p(int64(src.value()))
		wellFormed = wellFormed && *req.CurrentCancellable == left
	}
	return req, wellFormed
}

// checkCancel checks one applied cancel c that took before to after.
func checkCancel(t testing.TB, before Amounts, c Cancel, after Amounts) {
	t.Helper()
	if err := after.Validate(); err != nil {
		t.Fatalf("after %+v: %v", after, err)
	}
	if c.Amount <= 0 || c.TaxFree < 0 || c.TaxFree > c.Amount || c.VAT < 0 || c.VAT > c.Amount-c.TaxFree {
		t.Fatalf("cancel %+v does not split its amount", c)
	}
	if after.Cancelled != before.Cancelled+c.Amount ||
		after.CancelledTaxFree != before.CancelledTaxFree+c.TaxFree ||
		after.CancelledVAT != before.CancelledVAT+c.VAT {
		t.Fatalf("%+v + %+v = %+v: sums do not add up", before, c, after)
	}
	if after.Total != before.Total || after.TaxFree != before.TaxFree || after.VAT != before.VAT {
		t.Fatalf("payment amounts changed: %+v -> %+v", before, after)
	}
	if after.Cancelled > after.Total || after.CancelledTaxFree > after.TaxFree || after.CancelledVAT > after.VAT {
		t.Fatalf("cancelled more than paid: %+v", after)
	}
	if c.Full != (after.Cancellable() == 0) {
		t.Fatalf("cancel %+v: Full = %v, but %d left", c, c.Full, after.Cancellable())
	}
}

// exercise runs one payment through up to maxSteps drawn cancels, then
// cancels whatever is left, checking the invariants throughout.
func exercise(t testing.TB, src source, maxSteps int) {
	t.Helper()
	a := genPayment(t, src)
	paid := a
	for step := 0; step < maxSteps && !src.exhausted(); step++ {
		req, wellFormed := genRequest(src, a)
		c, err := a.PlanCancel(req)
		if err != nil {
			reason := reasonOf(t, err)
			if wellFormed {
				t.Fatalf("%+v.PlanCancel(%s) = %v, want success", a, describe(req), err)
			}
			if a.Cancellable() == 0 && req.Amount >= 0 && reason != ReasonPaymentAlreadyCancelled &&
				reason != ReasonCancellableAmountConsistencyBroken {
				t.Fatalf("cancel on an emptied payment: reason %s", reason)
			}
			continue
		}
		next, err := a.Apply(c)
		if err != nil {
			t.Fatalf("%+v.Apply(%+v) of a planned cancel = %v", a, c, err)
		}
		checkCancel(t, a, c, next)
		a = next
	}
	if a.Cancellable() > 0 {
		c, err := a.PlanCancel(CancelRequest{CurrentCancellable: p(a.Cancellable())})
		if err != nil || !c.Full {
			t.Fatalf("%+v: cancelling the rest = %+v, %v", a, c, err)
		}
		next, err := a.Apply(c)
		if err != nil {
			t.Fatalf("%+v.Apply(%+v) = %v", a, c, err)
		}
		checkCancel(t, a, c, next)
		a = next
	}
	if a.Cancelled != paid.Total || a.CancelledTaxFree != paid.TaxFree || a.CancelledVAT != paid.VAT {
		t.Fatalf("all cancelled: %+v, want cancelled parts equal to %+v", a, paid)
	}
	if _, err := a.PlanCancel(CancelRequest{}); reasonOf(t, err) != ReasonPaymentAlreadyCancelled {
		t.Fatalf("cancel after everything: %v, want %s", err, ReasonPaymentAlreadyCancelled)
	}
}

func describe(req CancelRequest) string {
	show := func(v *int64) string {
		if v == nil {
			return "nil"
		}
		return strconv.FormatInt(*v, 10)
	}
	return fmt.Sprintf("{Amount:%d TaxFree:%s VAT:%s Guard:%s}",
		req.Amount, show(req.TaxFree), show(req.VAT), show(req.CurrentCancellable))
}

// TestCancelSequenceProperty: random payments, random sequences of cancels
// (partial, full, malformed, guarded), fixed seed so failures reproduce.
func TestCancelSequenceProperty(t *testing.T) {
	src := randSource{rand.New(rand.NewPCG(20240601, 11))}
	runs := 20000
	if testing.Short() {
		runs = 2000
	}
	for range runs {
		exercise(t, src, 1+src.choice(12))
	}
}

func FuzzCancelSequence(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0})
	f.Add([]byte{5, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 2, 2, 2, 2})
	f.Add([]byte{2, 0x10, 0x27, 0, 0, 0, 0, 0, 0, 2, 0x88, 0x13, 0, 0, 0, 0, 0, 0, 0, 1, 7, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0})
	f.Add([]byte("a payment cancelled in many small parts, some of them malformed"))
	f.Fuzz(func(t *testing.T, data []byte) {
		exercise(t, &byteSource{b: data}, 64)
	})
}
