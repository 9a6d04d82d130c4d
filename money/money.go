// Package money keeps the amounts of a payment and plans its cancels: how
// much of a cancel is tax-free, how much is VAT, and whether it empties the
// payment.
//
// Money is int64 in the currency's minor unit (KRW has none: 1 = 1 won),
// never a float. Every amount is checked to be in range before it is used,
// so no sum or difference below can overflow: differences are taken only
// between non-negative numbers, and sums are bounded by the payment's Total.
package money

// Amounts are the amounts of one payment and of everything cancelled from
// it so far. The zero value is not a valid payment; build one with
// NewAmounts, or check one loaded from storage with Validate.
type Amounts struct {
	Total   int64 // charged amount, VAT and tax-free part included
	TaxFree int64 // tax-free (면세) part of Total
	VAT     int64 // VAT of the taxable part (Total - TaxFree)

	Cancelled        int64 // sum of all cancels
	CancelledTaxFree int64 // tax-free part of Cancelled
	CancelledVAT     int64 // VAT part of Cancelled
}

// vatDivisor: Korean VAT is 10% of the supply value, so a VAT-inclusive
// price holds 10/110 = 1/11 of VAT.
const vatDivisor = 11

// DefaultVAT is the VAT of a price when the caller gives none: the taxable
// part (total - taxFree) divided by 11, rounded to the nearest won (반올림).
//
// Rounding source: Toss Payments' API answers vat = round((totalAmount -
// taxFreeAmount) / 11), e.g. 9,026 → 821 (truncating would give 820) and
// 30,000 → 2,727; Toss Pay's API guide sends 25,000 → 2,273. PortOne
// documents its default only as "1/11 of the amount less tax-free", without
// naming the rounding; paymux follows Toss. As 11 is odd a remainder is
// never exactly one half, so half-up and half-even agree.
//
// DefaultVAT returns 0 when taxFree is not within [0, total]; NewAmounts
// reports such inputs as errors.
func DefaultVAT(total, taxFree int64) int64 {
	if taxFree < 0 || taxFree > total {
		return 0
	}
	taxable := total - taxFree
	vat := taxable / vatDivisor
	// remainder/11 >= 0.5 exactly when remainder >= 6. Comparing the
	// remainder, rather than computing (taxable+5)/11, cannot overflow.
	if taxable%vatDivisor >= (vatDivisor+1)/2 {
		vat++
	}
	return vat
}

// NewAmounts returns the amounts of a new payment of total, of which taxFree
// is tax-free. vat nil means DefaultVAT(total, taxFree); a given vat (0 is a
// valid zero-rated VAT) must lie within [0, total - taxFree].
func NewAmounts(total, taxFree int64, vat *int64) (Amounts, error) {
	if err := checkTotalAndTaxFree(total, taxFree); err != nil {
		return Amounts{}, err
	}
	v := DefaultVAT(total, taxFree)
	if vat != nil {
		v = *vat
	}
	if v < 0 || v > total-taxFree {
		return Amounts{}, newError(ReasonInvalidVATAmount,
			"VAT %d is not within [0, %d] (total %d minus tax-free %d)", v, total-taxFree, total, taxFree)
	}
	return Amounts{Total: total, TaxFree: taxFree, VAT: v}, nil
}

func checkTotalAndTaxFree(total, taxFree int64) error {
	if total <= 0 {
		return newError(ReasonInvalidTotalAmount, "total %d is not positive", total)
	}
	if taxFree < 0 || taxFree > total {
		return newError(ReasonInvalidTaxFreeAmount, "tax-free amount %d is not within [0, total %d]", taxFree, total)
	}
	return nil
}

// Validate reports whether a is a consistent payment: NewAmounts' rules for
// Total, TaxFree and VAT, each cancelled part within its payment part, and
// both the cancelled and the remaining amounts splitting into tax-free, VAT
// and supply without a negative part (so that cancelling the rest lands on
// the payment's amounts exactly).
func (a Amounts) Validate() error {
	if err := checkTotalAndTaxFree(a.Total, a.TaxFree); err != nil {
		return err
	}
	if a.VAT < 0 || a.VAT > a.Total-a.TaxFree {
		return newError(ReasonInvalidVATAmount, "VAT %d is not within [0, %d]", a.VAT, a.Total-a.TaxFree)
	}
	switch {
	case a.Cancelled < 0 || a.Cancelled > a.Total:
		return newError(ReasonInvalidCancelledAmounts, "cancelled %d is not within [0, total %d]", a.Cancelled, a.Total)
	case a.CancelledTaxFree < 0 || a.CancelledTaxFree > a.TaxFree:
		return newError(ReasonInvalidCancelledAmounts, "cancelled tax-free %d is not within [0, tax-free %d]", a.CancelledTaxFree, a.TaxFree)
	case a.CancelledVAT < 0 || a.CancelledVAT > a.VAT:
		return newError(ReasonInvalidCancelledAmounts, "cancelled VAT %d is not within [0, VAT %d]", a.CancelledVAT, a.VAT)
	case a.CancelledTaxFree > a.Cancelled:
		return newError(ReasonInvalidCancelledAmounts, "cancelled tax-free %d exceeds cancelled %d", a.CancelledTaxFree, a.Cancelled)
	case a.CancelledVAT > a.Cancelled-a.CancelledTaxFree:
		return newError(ReasonInvalidCancelledAmounts, "cancelled VAT %d exceeds the cancelled taxable part %d", a.CancelledVAT, a.Cancelled-a.CancelledTaxFree)
	case a.cancellableTaxable() < 0:
		return newError(ReasonInvalidCancelledAmounts, "more taxable amount cancelled than the payment had")
	case a.cancellableSupply() < 0:
		return newError(ReasonInvalidCancelledAmounts, "more supply amount cancelled than the payment had")
	}
	return nil
}

// The accessors below are plain differences: on amounts that pass Validate
// every operand is non-negative, so none can overflow.

// Supply is the supply value (공급가액): the taxable part without its VAT.
func (a Amounts) Supply() int64 { return a.Total - a.TaxFree - a.VAT }

// Cancellable is what is left to cancel.
func (a Amounts) Cancellable() int64 { return a.Total - a.Cancelled }

// CancellableTaxFree is the tax-free part of Cancellable.
func (a Amounts) CancellableTaxFree() int64 { return a.TaxFree - a.CancelledTaxFree }

// CancellableVAT is the VAT part of Cancellable.
func (a Amounts) CancellableVAT() int64 { return a.VAT - a.CancelledVAT }

// cancellableTaxable is the taxable part (VAT included) of Cancellable.
func (a Amounts) cancellableTaxable() int64 {
	return (a.Total - a.TaxFree) - (a.Cancelled - a.CancelledTaxFree)
}

// cancellableSupply is the supply part of Cancellable.
func (a Amounts) cancellableSupply() int64 { return a.cancellableTaxable() - a.CancellableVAT() }

// CancelRequest asks for a cancel. Nil pointers mean "not given".
type CancelRequest struct {
	Amount  int64  // 0 = everything still cancellable
	TaxFree *int64 // tax-free part of Amount; nil: see PlanCancel
	VAT     *int64 // VAT part of Amount; nil: see PlanCancel
	// CurrentCancellable is the guard (PortOne currentCancellableAmount,
	// iamport checksum): cancel only if Cancellable() still equals it, so a
	// retried request cannot cancel twice.
	CurrentCancellable *int64
}

// Cancel is one planned cancel, ready to send to the PG and to Apply.
type Cancel struct {
	Amount  int64
	TaxFree int64
	VAT     int64
	Full    bool // nothing is left to cancel afterwards
}

// PlanCancel works out the cancel req asks for, or why it is refused. Checks,
// in this order:
//
//   - a must pass Validate.
//   - Amount < 0: INVALID_CANCEL_AMOUNT.
//   - The guard, if set, must equal Cancellable(), before anything that
//     depends on the balance: CANCELLABLE_AMOUNT_CONSISTENCY_BROKEN.
//   - Nothing left: PAYMENT_ALREADY_CANCELLED. Amount 0 means all that is
//     left; more than is left: CANCEL_AMOUNT_EXCEEDS_CANCELLABLE_AMOUNT.
//   - Tax-free part. Given: within [0, Amount] (else
//     INVALID_CANCEL_TAX_FREE_AMOUNT) and at most CancellableTaxFree() (else
//     CANCEL_TAX_FREE_AMOUNT_EXCEEDS_CANCELLABLE_TAX_FREE_AMOUNT). Not given:
//     0, as Toss (taxFreeAmount) and PortOne (taxFreeAmount) default it,
//     except that a cancel never takes more taxable amount than is left: the
//     tax-free part is then the smallest that fits, Amount minus the taxable
//     balance. So a cancel of the whole remainder takes all remaining
//     tax-free, and on an entirely tax-free payment a cancel is entirely
//     tax-free.
//   - The taxable part (Amount - tax-free) must fit the taxable balance:
//     CANCEL_TAX_AMOUNT_EXCEEDS_CANCELLABLE_TAX_AMOUNT.
//   - VAT part. Given: within [0, taxable part] (else
//     INVALID_CANCEL_VAT_AMOUNT), at most CancellableVAT() (else
//     CANCEL_VAT_AMOUNT_EXCEEDS_CANCELLABLE_VAT_AMOUNT), and large enough
//     that the supply part (taxable - VAT) fits the supply balance (else
//     CANCEL_SUPPLY_AMOUNT_EXCEEDS_CANCELLABLE_SUPPLY_AMOUNT). Not given:
//     DefaultVAT of the cancel, moved into that same range. On the last
//     cancel the range is a single point, all remaining VAT, so the VAT of
//     the cancels sums exactly to the payment's VAT.
//
// With TaxFree and VAT both nil, a cancel of a valid Amount never fails on
// the tax split.
func (a Amounts) PlanCancel(req CancelRequest) (Cancel, error) {
	if err := a.Validate(); err != nil {
		return Cancel{}, err
	}
	if req.Amount < 0 {
		return Cancel{}, newError(ReasonInvalidCancelAmount, "cancel amount %d is negative", req.Amount)
	}
	left := a.Cancellable()
	if req.CurrentCancellable != nil && *req.CurrentCancellable != left {
		return Cancel{}, newError(ReasonCancellableAmountConsistencyBroken,
			"cancellable amount is %d, the request expected %d", left, *req.CurrentCancellable)
	}
	if left == 0 {
		return Cancel{}, newError(ReasonPaymentAlreadyCancelled, "nothing is left to cancel")
	}
	amount := req.Amount
	if amount == 0 {
		amount = left
	}
	if amount > left {
		return Cancel{}, newError(ReasonCancelAmountExceedsCancellableAmount,
			"cancel amount %d exceeds the cancellable amount %d", amount, left)
	}

	taxFreeLeft := a.CancellableTaxFree()
	taxableLeft := a.cancellableTaxable()
	var taxFree int64
	if req.TaxFree != nil {
		taxFree = *req.TaxFree
		if taxFree < 0 || taxFree > amount {
			return Cancel{}, newError(ReasonInvalidCancelTaxFreeAmount,
				"tax-free amount %d is not within [0, cancel amount %d]", taxFree, amount)
		}
		if taxFree > taxFreeLeft {
			return Cancel{}, newError(ReasonCancelTaxFreeAmountExceedsCancellableTaxFreeAmount,
				"tax-free amount %d exceeds the cancellable tax-free amount %d", taxFree, taxFreeLeft)
		}
	} else {
		// amount <= left = taxableLeft + taxFreeLeft, so this is <= taxFreeLeft.
		taxFree = max(0, amount-taxableLeft)
	}
	taxable := amount - taxFree
	if taxable > taxableLeft {
		return Cancel{}, newError(ReasonCancelTaxAmountExceedsCancellableTaxAmount,
			"taxable amount %d (cancel %d minus tax-free %d) exceeds the cancellable taxable amount %d",
			taxable, amount, taxFree, taxableLeft)
	}

	vatLeft := a.CancellableVAT()
	// The VAT range that keeps both the VAT and the supply balance whole;
	// non-empty because taxable <= taxableLeft = vatLeft + supplyLeft.
	minVAT := max(0, taxable-a.cancellableSupply())
	maxVAT := min(taxable, vatLeft)
	var vat int64
	if req.VAT != nil {
		vat = *req.VAT
		switch {
		case vat < 0 || vat > taxable:
			return Cancel{}, newError(ReasonInvalidCancelVATAmount,
				"VAT %d is not within [0, taxable amount %d]", vat, taxable)
		case vat > vatLeft:
			return Cancel{}, newError(ReasonCancelVATAmountExceedsCancellableVATAmount,
				"VAT %d exceeds the cancellable VAT %d", vat, vatLeft)
		case vat < minVAT:
			return Cancel{}, newError(ReasonCancelSupplyAmountExceedsCancellableSupplyAmount,
				"supply amount %d (taxable %d minus VAT %d) exceeds the cancellable supply amount %d",
				taxable-vat, taxable, vat, a.cancellableSupply())
		}
	} else {
		vat = min(max(DefaultVAT(amount, taxFree), minVAT), maxVAT)
	}
	return Cancel{Amount: amount, TaxFree: taxFree, VAT: vat, Full: amount == left}, nil
}

// Apply returns the amounts after cancel c. c is checked again against a
// (as PlanCancel would check it with every part given), so a Cancel planned
// on amounts that have changed since is refused rather than applied.
func (a Amounts) Apply(c Cancel) (Amounts, error) {
	if c.Amount <= 0 {
		// 0 means "everything" only in a CancelRequest; a Cancel is explicit.
		return a, newError(ReasonInvalidCancelAmount, "cancel amount %d is not positive", c.Amount)
	}
	planned, err := a.PlanCancel(CancelRequest{Amount: c.Amount, TaxFree: &c.TaxFree, VAT: &c.VAT})
	if err != nil {
		return a, err
	}
	if planned.Full != c.Full {
		return a, newError(ReasonCancelFullFlagMismatch,
			"cancel says full=%v, but %d of %d cancellable leaves it full=%v", c.Full, c.Amount, a.Cancellable(), planned.Full)
	}
	next := a
	var ok1, ok2, ok3 bool
	next.Cancelled, ok1 = add(a.Cancelled, c.Amount)
	next.CancelledTaxFree, ok2 = add(a.CancelledTaxFree, c.TaxFree)
	next.CancelledVAT, ok3 = add(a.CancelledVAT, c.VAT)
	if !ok1 || !ok2 || !ok3 {
		return a, newError(ReasonAmountOverflow, "cancelled amounts overflow int64")
	}
	if err := next.Validate(); err != nil {
		return a, err
	}
	return next, nil
}

// add returns x + y and whether it fitted in an int64.
func add(x, y int64) (int64, bool) {
	sum := x + y
	if (y > 0 && sum < x) || (y < 0 && sum > x) {
		return 0, false
	}
	return sum, true
}
