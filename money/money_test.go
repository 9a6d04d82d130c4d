package money

import (
	"errors"
	"math"
	"testing"
)

func p(v int64) *int64 { return &v }

// reasonOf returns the Reason of a *Error, "" for nil, and fails the test
// for any other error.
func reasonOf(t testing.TB, err error) string {
	t.Helper()
	if err == nil {
		return ""
	}
	var e *Error
	if !errors.As(err, &e) || e.Reason == "" {
		t.Fatalf("error %v is not a *money.Error with a reason", err)
	}
	return e.Reason
}

const maxInt = math.MaxInt64

func TestDefaultVAT(t *testing.T) {
	tests := []struct {
		total, taxFree, want int64
	}{
		{11000, 0, 1000},
		{10000, 0, 909},  // 909.09
		{9026, 0, 821},   // 820.55: rounds up, as Toss answers
		{30000, 0, 2727}, // 2727.27
		{25000, 0, 2273}, // 2272.73
		{1, 0, 0},
		{5, 0, 0},  // 0.45
		{6, 0, 1},  // 0.55
		{16, 0, 1}, // 1.45
		{17, 0, 2}, // 1.55
		{55000, 33000, 2000},
		{11000, 11000, 0},
		{0, 0, 0},
		{maxInt, 0, 838488366986797801}, // remainder 7 rounds up
		{maxInt, maxInt, 0},
		{maxInt, maxInt / 2, 419244183493398900},
		// Not a valid split: 0, never an overflowed value.
		{100, -1, 0},
		{100, 101, 0},
		{-5, -10, 0},
		{maxInt, math.MinInt64, 0},
		{math.MinInt64, 0, 0},
	}
	for _, tt := range tests {
		if got := DefaultVAT(tt.total, tt.taxFree); got != tt.want {
			t.Errorf("DefaultVAT(%d, %d) = %d, want %d", tt.total, tt.taxFree, got, tt.want)
		}
	}
}

func TestNewAmounts(t *testing.T) {
	tests := []struct {
		name           string
		total, taxFree int64
		vat            *int64
		wantVAT        int64
		wantSupply     int64
		reason         string
	}{
		{name: "taxable, default VAT", total: 11000, wantVAT: 1000, wantSupply: 10000},
		{name: "mixed, default VAT", total: 55000, taxFree: 33000, wantVAT: 2000, wantSupply: 20000},
		{name: "all tax-free", total: 11000, taxFree: 11000, wantVAT: 0, wantSupply: 0},
		{name: "zero-rated VAT given", total: 10000, vat: p(0), wantVAT: 0, wantSupply: 10000},
		{name: "VAT equals taxable part", total: 10000, taxFree: 4000, vat: p(6000), wantVAT: 6000, wantSupply: 0},
		{name: "1 won", total: 1, wantVAT: 0, wantSupply: 1},
		{name: "max total", total: maxInt, wantVAT: 838488366986797801, wantSupply: maxInt - 838488366986797801},
		{name: "max total all tax-free", total: maxInt, taxFree: maxInt, wantVAT: 0, wantSupply: 0},
		{name: "max total, max VAT", total: maxInt, vat: p(maxInt), wantVAT: maxInt, wantSupply: 0},

		{name: "zero total", total: 0, reason: ReasonInvalidTotalAmount},
		{name: "negative total", total: -1, reason: ReasonInvalidTotalAmount},
		{name: "min total", total: math.MinInt64, reason: ReasonInvalidTotalAmount},
		{name: "negative tax-free", total: 100, taxFree: -1, reason: ReasonInvalidTaxFreeAmount},
		{name: "min tax-free", total: maxInt, taxFree: math.MinInt64, reason: ReasonInvalidTaxFreeAmount},
		{name: "tax-free above total", total: 100, taxFree: 101, reason: ReasonInvalidTaxFreeAmount},
		{name: "negative VAT", total: 100, vat: p(-1), reason: ReasonInvalidVATAmount},
		{name: "VAT above taxable part", total: 100, taxFree: 50, vat: p(51), reason: ReasonInvalidVATAmount},
		{name: "VAT on all tax-free", total: 100, taxFree: 100, vat: p(1), reason: ReasonInvalidVATAmount},
		{name: "max VAT over tax-free", total: maxInt, taxFree: 1, vat: p(maxInt), reason: ReasonInvalidVATAmount},
		{name: "min VAT", total: maxInt, vat: p(math.MinInt64), reason: ReasonInvalidVATAmount},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := NewAmounts(tt.total, tt.taxFree, tt.vat)
			if got := reasonOf(t, err); got != tt.reason {
				t.Fatalf("NewAmounts(%d, %d, %v) error %v, want reason %q", tt.total, tt.taxFree, tt.vat, err, tt.reason)
			}
			if tt.reason != "" {
				return
			}
			want := Amounts{Total: tt.total, TaxFree: tt.taxFree, VAT: tt.wantVAT}
			if a != want {
				t.Fatalf("NewAmounts = %+v, want %+v", a, want)
			}
			if a.Supply() != tt.wantSupply {
				t.Errorf("Supply() = %d, want %d", a.Supply(), tt.wantSupply)
			}
			if a.Cancellable() != tt.total || a.CancellableTaxFree() != tt.taxFree || a.CancellableVAT() != tt.wantVAT {
				t.Errorf("cancellable = %d/%d/%d, want the whole payment", a.Cancellable(), a.CancellableTaxFree(), a.CancellableVAT())
			}
			if err := a.Validate(); err != nil {
				t.Errorf("Validate() = %v", err)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	mixed := Amounts{Total: 55000, TaxFree: 33000, VAT: 2000}
	with := func(f func(*Amounts)) Amounts {
		a := mixed
		f(&a)
		return a
	}
	tests := []struct {
		name   string
		a      Amounts
		reason string
	}{
		{"fresh", mixed, ""},
		{"partly cancelled", with(func(a *Amounts) { a.Cancelled, a.CancelledTaxFree, a.CancelledVAT = 11000, 0, 1000 }), ""},
		{"fully cancelled", with(func(a *Amounts) { a.Cancelled, a.CancelledTaxFree, a.CancelledVAT = 55000, 33000, 2000 }), ""},
		{"zero value", Amounts{}, ReasonInvalidTotalAmount},
		{"bad tax-free", with(func(a *Amounts) { a.TaxFree = 60000 }), ReasonInvalidTaxFreeAmount},
		{"bad VAT", with(func(a *Amounts) { a.VAT = 22001 }), ReasonInvalidVATAmount},
		{"negative cancelled", with(func(a *Amounts) { a.Cancelled = -1 }), ReasonInvalidCancelledAmounts},
		{"cancelled above total", with(func(a *Amounts) { a.Cancelled = 55001 }), ReasonInvalidCancelledAmounts},
		{"min cancelled", with(func(a *Amounts) { a.Cancelled = math.MinInt64 }), ReasonInvalidCancelledAmounts},
		{"cancelled tax-free above tax-free", with(func(a *Amounts) { a.Cancelled, a.CancelledTaxFree = 40000, 33001 }), ReasonInvalidCancelledAmounts},
		{"negative cancelled tax-free", with(func(a *Amounts) { a.CancelledTaxFree = -1 }), ReasonInvalidCancelledAmounts},
		{"cancelled VAT above VAT", with(func(a *Amounts) { a.Cancelled, a.CancelledVAT = 11000, 2001 }), ReasonInvalidCancelledAmounts},
		{"negative cancelled VAT", with(func(a *Amounts) { a.CancelledVAT = -1 }), ReasonInvalidCancelledAmounts},
		{"cancelled tax-free above cancelled", with(func(a *Amounts) { a.Cancelled, a.CancelledTaxFree = 100, 101 }), ReasonInvalidCancelledAmounts},
		{"cancelled VAT above cancelled taxable", with(func(a *Amounts) { a.Cancelled, a.CancelledTaxFree, a.CancelledVAT = 1000, 500, 501 }), ReasonInvalidCancelledAmounts},
		{"more taxable cancelled than paid", with(func(a *Amounts) { a.Cancelled, a.CancelledTaxFree, a.CancelledVAT = 23000, 0, 2000 }), ReasonInvalidCancelledAmounts},
		{"more supply cancelled than paid", with(func(a *Amounts) { a.Cancelled, a.CancelledTaxFree, a.CancelledVAT = 21000, 0, 0 }), ReasonInvalidCancelledAmounts},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := reasonOf(t, tt.a.Validate()); got != tt.reason {
				t.Fatalf("Validate(%+v) reason %q, want %q", tt.a, got, tt.reason)
			}
		})
	}
}

func TestPlanCancel(t *testing.T) {
	taxable := Amounts{Total: 11000, VAT: 1000}
	mixed := Amounts{Total: 55000, TaxFree: 33000, VAT: 2000}
	taxFreeOnly := Amounts{Total: 11000, TaxFree: 11000}
	zeroRated := Amounts{Total: 11000}
	heavyVAT := Amounts{Total: 11000, VAT: 5000} // supply only 6000
	done := Amounts{Total: 11000, VAT: 1000, Cancelled: 11000, CancelledVAT: 1000}
	taxFreeGone := Amounts{Total: 55000, TaxFree: 33000, VAT: 2000, Cancelled: 33000, CancelledTaxFree: 33000}
	huge := Amounts{Total: maxInt, VAT: 838488366986797801}
	hugeMixed := Amounts{Total: maxInt, TaxFree: maxInt / 2, VAT: 419244183493398900}

	tests := []struct {
		name   string
		a      Amounts
		req    CancelRequest
		want   Cancel
		reason string
	}{
		// Amount and balance.
		{name: "all by default", a: taxable, req: CancelRequest{}, want: Cancel{11000, 0, 1000, true}},
		{name: "all by amount", a: taxable, req: CancelRequest{Amount: 11000}, want: Cancel{11000, 0, 1000, true}},
		{name: "half", a: taxable, req: CancelRequest{Amount: 5500}, want: Cancel{5500, 0, 500, false}},
		{name: "1 won", a: taxable, req: CancelRequest{Amount: 1}, want: Cancel{1, 0, 0, false}},
		{name: "6 won", a: taxable, req: CancelRequest{Amount: 6}, want: Cancel{6, 0, 1, false}},
		{name: "negative", a: taxable, req: CancelRequest{Amount: -1}, reason: ReasonInvalidCancelAmount},
		{name: "min amount", a: taxable, req: CancelRequest{Amount: math.MinInt64}, reason: ReasonInvalidCancelAmount},
		{name: "too much", a: taxable, req: CancelRequest{Amount: 11001}, reason: ReasonCancelAmountExceedsCancellableAmount},
		{name: "max amount", a: taxable, req: CancelRequest{Amount: maxInt}, reason: ReasonCancelAmountExceedsCancellableAmount},
		{name: "nothing left", a: done, req: CancelRequest{}, reason: ReasonPaymentAlreadyCancelled},
		{name: "nothing left, amount given", a: done, req: CancelRequest{Amount: 1}, reason: ReasonPaymentAlreadyCancelled},
		{name: "invalid payment", a: Amounts{}, req: CancelRequest{}, reason: ReasonInvalidTotalAmount},
		{name: "invalid cancelled", a: Amounts{Total: 100, Cancelled: 101}, req: CancelRequest{}, reason: ReasonInvalidCancelledAmounts},

		// Guard.
		{name: "guard holds", a: taxable, req: CancelRequest{Amount: 1000, CurrentCancellable: p(11000)}, want: Cancel{1000, 0, 91, false}},
		{name: "guard broken", a: taxable, req: CancelRequest{Amount: 1000, CurrentCancellable: p(10000)}, reason: ReasonCancellableAmountConsistencyBroken},
		{name: "guard checked before balance", a: done, req: CancelRequest{CurrentCancellable: p(11000)}, reason: ReasonCancellableAmountConsistencyBroken},
		{name: "guard checked before excess", a: taxable, req: CancelRequest{Amount: 20000, CurrentCancellable: p(1)}, reason: ReasonCancellableAmountConsistencyBroken},
		{name: "guard 0 on nothing left", a: done, req: CancelRequest{CurrentCancellable: p(0)}, reason: ReasonPaymentAlreadyCancelled},
		{name: "negative amount before guard", a: taxable, req: CancelRequest{Amount: -1, CurrentCancellable: p(1)}, reason: ReasonInvalidCancelAmount},

		// Tax-free part.
		{name: "mixed partial: taxable first", a: mixed, req: CancelRequest{Amount: 10000}, want: Cancel{10000, 0, 909, false}},
		{name: "mixed partial beyond taxable", a: mixed, req: CancelRequest{Amount: 30000}, want: Cancel{30000, 8000, 2000, false}},
		{name: "mixed all", a: mixed, req: CancelRequest{}, want: Cancel{55000, 33000, 2000, true}},
		{name: "tax-free only partial", a: taxFreeOnly, req: CancelRequest{Amount: 5000}, want: Cancel{5000, 5000, 0, false}},
		{name: "tax-free given", a: mixed, req: CancelRequest{Amount: 40000, TaxFree: p(33000)}, want: Cancel{40000, 33000, 636, false}},
		{name: "tax-free given, all", a: mixed, req: CancelRequest{TaxFree: p(33000)}, want: Cancel{55000, 33000, 2000, true}},
		{name: "tax-free negative", a: mixed, req: CancelRequest{Amount: 100, TaxFree: p(-1)}, reason: ReasonInvalidCancelTaxFreeAmount},
		{name: "tax-free above amount", a: mixed, req: CancelRequest{Amount: 100, TaxFree: p(101)}, reason: ReasonInvalidCancelTaxFreeAmount},
		{name: "tax-free above balance", a: taxFreeGone, req: CancelRequest{Amount: 100, TaxFree: p(1)}, reason: ReasonCancelTaxFreeAmountExceedsCancellableTaxFreeAmount},
		{name: "tax-free above payment's", a: mixed, req: CancelRequest{Amount: 34000, TaxFree: p(33001)}, reason: ReasonCancelTaxFreeAmountExceedsCancellableTaxFreeAmount},
		{name: "taxable part above balance", a: taxFreeOnly, req: CancelRequest{Amount: 5000, TaxFree: p(0)}, reason: ReasonCancelTaxAmountExceedsCancellableTaxAmount},
		{name: "all with too little tax-free", a: mixed, req: CancelRequest{TaxFree: p(0)}, reason: ReasonCancelTaxAmountExceedsCancellableTaxAmount},
		{name: "after tax-free is gone", a: taxFreeGone, req: CancelRequest{Amount: 11000}, want: Cancel{11000, 0, 1000, false}},

		// VAT part.
		{name: "VAT given", a: taxable, req: CancelRequest{Amount: 5500, VAT: p(0)}, want: Cancel{5500, 0, 0, false}},
		{name: "VAT given, all", a: taxable, req: CancelRequest{VAT: p(1000)}, want: Cancel{11000, 0, 1000, true}},
		{name: "VAT negative", a: taxable, req: CancelRequest{Amount: 500, VAT: p(-1)}, reason: ReasonInvalidCancelVATAmount},
		{name: "VAT above taxable part", a: taxable, req: CancelRequest{Amount: 500, VAT: p(501)}, reason: ReasonInvalidCancelVATAmount},
		{name: "VAT on tax-free part", a: mixed, req: CancelRequest{Amount: 33000, TaxFree: p(33000), VAT: p(1)}, reason: ReasonInvalidCancelVATAmount},
		{name: "VAT above balance", a: taxable, req: CancelRequest{Amount: 5500, VAT: p(1001)}, reason: ReasonCancelVATAmountExceedsCancellableVATAmount},
		{name: "VAT too small for the rest", a: taxable, req: CancelRequest{VAT: p(999)}, reason: ReasonCancelSupplyAmountExceedsCancellableSupplyAmount},
		{name: "default VAT capped by balance", a: zeroRated, req: CancelRequest{Amount: 5500}, want: Cancel{5500, 0, 0, false}},
		{name: "default VAT raised to keep supply whole", a: heavyVAT, req: CancelRequest{Amount: 10000}, want: Cancel{10000, 0, 4000, false}},

		// Near MaxInt64.
		{name: "huge all", a: huge, req: CancelRequest{}, want: Cancel{maxInt, 0, 838488366986797801, true}},
		{name: "huge all but 1", a: huge, req: CancelRequest{Amount: maxInt - 1}, want: Cancel{maxInt - 1, 0, 838488366986797801, false}},
		{name: "huge 1 won", a: huge, req: CancelRequest{Amount: 1, CurrentCancellable: p(maxInt)}, want: Cancel{1, 0, 0, false}},
		{name: "huge mixed all", a: hugeMixed, req: CancelRequest{}, want: Cancel{maxInt, maxInt / 2, 419244183493398900, true}},
		{name: "huge mixed taxable half", a: hugeMixed, req: CancelRequest{Amount: maxInt - maxInt/2}, want: Cancel{maxInt - maxInt/2, 0, 419244183493398900, false}},
		{name: "huge tax-free max", a: hugeMixed, req: CancelRequest{Amount: 1, TaxFree: p(maxInt)}, reason: ReasonInvalidCancelTaxFreeAmount},
		{name: "huge VAT max", a: huge, req: CancelRequest{Amount: 1, VAT: p(maxInt)}, reason: ReasonInvalidCancelVATAmount},
		{name: "huge VAT min", a: huge, req: CancelRequest{Amount: 1, VAT: p(math.MinInt64)}, reason: ReasonInvalidCancelVATAmount},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.a.PlanCancel(tt.req)
			if r := reasonOf(t, err); r != tt.reason {
				t.Fatalf("PlanCancel error %v, want reason %q", err, tt.reason)
			}
			if tt.reason == "" && got != tt.want {
				t.Fatalf("PlanCancel = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestApply(t *testing.T) {
	mixed := Amounts{Total: 55000, TaxFree: 33000, VAT: 2000}
	huge := Amounts{Total: maxInt, TaxFree: 1, VAT: 838488366986797801}
	tests := []struct {
		name   string
		a      Amounts
		c      Cancel
		want   Amounts
		reason string
	}{
		{name: "partial", a: mixed, c: Cancel{10000, 0, 909, false},
			want: Amounts{55000, 33000, 2000, 10000, 0, 909}},
		{name: "all", a: mixed, c: Cancel{55000, 33000, 2000, true},
			want: Amounts{55000, 33000, 2000, 55000, 33000, 2000}},
		{name: "rest", a: Amounts{55000, 33000, 2000, 10000, 0, 909}, c: Cancel{45000, 33000, 1091, true},
			want: Amounts{55000, 33000, 2000, 55000, 33000, 2000}},
		{name: "huge all", a: huge, c: Cancel{maxInt, 1, 838488366986797801, true},
			want: Amounts{maxInt, 1, 838488366986797801, maxInt, 1, 838488366986797801}},
		{name: "huge rest", a: Amounts{maxInt, 1, 838488366986797801, maxInt - 1, 0, 838488366986797801}, c: Cancel{1, 1, 0, true},
			want: Amounts{maxInt, 1, 838488366986797801, maxInt, 1, 838488366986797801}},

		{name: "zero amount", a: mixed, c: Cancel{}, reason: ReasonInvalidCancelAmount},
		{name: "negative amount", a: mixed, c: Cancel{Amount: -5}, reason: ReasonInvalidCancelAmount},
		{name: "says full but is not", a: mixed, c: Cancel{10000, 0, 909, true}, reason: ReasonCancelFullFlagMismatch},
		{name: "says partial but is full", a: mixed, c: Cancel{55000, 33000, 2000, false}, reason: ReasonCancelFullFlagMismatch},
		{name: "stale: balance moved", a: Amounts{55000, 33000, 2000, 50000, 33000, 1546}, c: Cancel{10000, 0, 909, false}, reason: ReasonCancelAmountExceedsCancellableAmount},
		{name: "already cancelled", a: Amounts{55000, 33000, 2000, 55000, 33000, 2000}, c: Cancel{1, 0, 0, false}, reason: ReasonPaymentAlreadyCancelled},
		{name: "tax-free too big", a: mixed, c: Cancel{34000, 33001, 0, false}, reason: ReasonCancelTaxFreeAmountExceedsCancellableTaxFreeAmount},
		{name: "VAT too big", a: mixed, c: Cancel{10000, 0, 2001, false}, reason: ReasonCancelVATAmountExceedsCancellableVATAmount},
		{name: "rest with wrong VAT", a: Amounts{55000, 33000, 2000, 10000, 0, 909}, c: Cancel{45000, 33000, 1090, true}, reason: ReasonCancelSupplyAmountExceedsCancellableSupplyAmount},
		{name: "huge overflow attempt", a: Amounts{maxInt, 0, 0, maxInt - 1, 0, 0}, c: Cancel{maxInt, 0, 0, true}, reason: ReasonCancelAmountExceedsCancellableAmount},
		{name: "invalid amounts", a: Amounts{Total: -1}, c: Cancel{1, 0, 0, true}, reason: ReasonInvalidTotalAmount},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.a.Apply(tt.c)
			if r := reasonOf(t, err); r != tt.reason {
				t.Fatalf("Apply error %v, want reason %q", err, tt.reason)
			}
			if tt.reason != "" {
				if got != tt.a {
					t.Fatalf("Apply refused but returned %+v, not the amounts unchanged", got)
				}
				return
			}
			if got != tt.want {
				t.Fatalf("Apply = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestCheckInstallment(t *testing.T) {
	tests := []struct {
		months int32
		amount int64
		reason string
	}{
		{0, 1, ""},
		{0, 49999, ""},
		{0, 0, ""},
		{2, 50000, ""},
		{12, 50000, ""},
		{6, maxInt, ""},
		{2, 49999, ReasonInstallmentNotAllowedUnder50000},
		{12, 1, ReasonInstallmentNotAllowedUnder50000},
		{3, -50000, ReasonInstallmentNotAllowedUnder50000},
		{1, 50000, ReasonInvalidInstallmentMonths},
		{1, 10, ReasonInvalidInstallmentMonths},
		{-1, 50000, ReasonInvalidInstallmentMonths},
		{13, 50000, ReasonInvalidInstallmentMonths},
		{24, 1000000, ReasonInvalidInstallmentMonths},
		{math.MaxInt32, maxInt, ReasonInvalidInstallmentMonths},
		{math.MinInt32, maxInt, ReasonInvalidInstallmentMonths},
	}
	for _, tt := range tests {
		if got := reasonOf(t, CheckInstallment(tt.months, tt.amount)); got != tt.reason {
			t.Errorf("CheckInstallment(%d, %d) reason %q, want %q", tt.months, tt.amount, got, tt.reason)
		}
	}
}

func TestErrorsIs(t *testing.T) {
	_, err := Amounts{Total: 100, Cancelled: 100}.PlanCancel(CancelRequest{})
	if !errors.Is(err, ErrPaymentAlreadyCancelled) {
		t.Errorf("errors.Is(%v, ErrPaymentAlreadyCancelled) = false", err)
	}
	if errors.Is(err, ErrCancelAmountExceedsCancellableAmount) {
		t.Errorf("errors.Is(%v, ErrCancelAmountExceedsCancellableAmount) = true", err)
	}
	if got, want := err.Error(), "money: PAYMENT_ALREADY_CANCELLED: nothing is left to cancel"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

func TestAdd(t *testing.T) {
	tests := []struct {
		x, y, want int64
		ok         bool
	}{
		{1, 2, 3, true},
		{maxInt, 0, maxInt, true},
		{maxInt - 1, 1, maxInt, true},
		{maxInt, 1, 0, false},
		{math.MinInt64, -1, 0, false},
		{math.MinInt64, maxInt, -1, true},
	}
	for _, tt := range tests {
		got, ok := add(tt.x, tt.y)
		if got != tt.want || ok != tt.ok {
			t.Errorf("add(%d, %d) = %d, %v; want %d, %v", tt.x, tt.y, got, ok, tt.want, tt.ok)
		}
	}
}
