package money

import "fmt"

// Reasons an amount or a cancel is refused. Where shared/DOMAIN.md §4 names
// a reason (PortOne V2's names), it is used as is.
const (
	// NewAmounts / Validate.
	ReasonInvalidTotalAmount      = "INVALID_TOTAL_AMOUNT"
	ReasonInvalidTaxFreeAmount    = "INVALID_TAX_FREE_AMOUNT"
	ReasonInvalidVATAmount        = "INVALID_VAT_AMOUNT"
	ReasonInvalidCancelledAmounts = "INVALID_CANCELLED_AMOUNTS" // the cancelled totals do not fit the payment

	// PlanCancel / Apply: the request itself is malformed.
	ReasonInvalidCancelAmount        = "INVALID_CANCEL_AMOUNT"
	ReasonInvalidCancelTaxFreeAmount = "INVALID_CANCEL_TAX_FREE_AMOUNT" // negative, or more than the cancel amount
	ReasonInvalidCancelVATAmount     = "INVALID_CANCEL_VAT_AMOUNT"      // negative, or more than the cancel's taxable part
	ReasonCancelFullFlagMismatch     = "CANCEL_FULL_FLAG_MISMATCH"      // Cancel.Full disagrees with the balance

	// PlanCancel / Apply: the request does not fit what is left.
	ReasonPaymentAlreadyCancelled                            = "PAYMENT_ALREADY_CANCELLED"
	ReasonCancellableAmountConsistencyBroken                 = "CANCELLABLE_AMOUNT_CONSISTENCY_BROKEN"
	ReasonCancelAmountExceedsCancellableAmount               = "CANCEL_AMOUNT_EXCEEDS_CANCELLABLE_AMOUNT"
	ReasonCancelTaxFreeAmountExceedsCancellableTaxFreeAmount = "CANCEL_TAX_FREE_AMOUNT_EXCEEDS_CANCELLABLE_TAX_FREE_AMOUNT"
	ReasonCancelTaxAmountExceedsCancellableTaxAmount         = "CANCEL_TAX_AMOUNT_EXCEEDS_CANCELLABLE_TAX_AMOUNT" // taxable part (amount - tax-free)
	ReasonCancelVATAmountExceedsCancellableVATAmount         = "CANCEL_VAT_AMOUNT_EXCEEDS_CANCELLABLE_VAT_AMOUNT"
	ReasonCancelSupplyAmountExceedsCancellableSupplyAmount   = "CANCEL_SUPPLY_AMOUNT_EXCEEDS_CANCELLABLE_SUPPLY_AMOUNT" // VAT too small: the supply part (taxable - VAT) is more than is left

	// CheckInstallment.
	ReasonInvalidInstallmentMonths        = "INVALID_INSTALLMENT_MONTHS"
	ReasonInstallmentNotAllowedUnder50000 = "INSTALLMENT_NOT_ALLOWED_UNDER_50000"

	// A sum would not fit in an int64. Unreachable for validated amounts
	// (every sum is bounded by Total); kept so that a bug cannot wrap.
	ReasonAmountOverflow = "AMOUNT_OVERFLOW"
)

// Error is a refused amount or cancel: a stable Reason (one of the Reason
// constants) and a message for people.
type Error struct {
	Reason  string
	Message string
}

func (e *Error) Error() string { return "money: " + e.Reason + ": " + e.Message }

// Is reports whether target is an *Error with the same reason, so that
// errors.Is(err, money.ErrPaymentAlreadyCancelled) ignores the message.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Reason == e.Reason
}

func newError(reason, format string, args ...any) *Error {
	return &Error{Reason: reason, Message: fmt.Sprintf(format, args...)}
}

// Sentinels for errors.Is, one per reason.
var (
	ErrInvalidTotalAmount                                 = &Error{Reason: ReasonInvalidTotalAmount}
	ErrInvalidTaxFreeAmount                               = &Error{Reason: ReasonInvalidTaxFreeAmount}
	ErrInvalidVATAmount                                   = &Error{Reason: ReasonInvalidVATAmount}
	ErrInvalidCancelledAmounts                            = &Error{Reason: ReasonInvalidCancelledAmounts}
	ErrInvalidCancelAmount                                = &Error{Reason: ReasonInvalidCancelAmount}
	ErrInvalidCancelTaxFreeAmount                         = &Error{Reason: ReasonInvalidCancelTaxFreeAmount}
	ErrInvalidCancelVATAmount                             = &Error{Reason: ReasonInvalidCancelVATAmount}
	ErrCancelFullFlagMismatch                             = &Error{Reason: ReasonCancelFullFlagMismatch}
	ErrPaymentAlreadyCancelled                            = &Error{Reason: ReasonPaymentAlreadyCancelled}
	ErrCancellableAmountConsistencyBroken                 = &Error{Reason: ReasonCancellableAmountConsistencyBroken}
	ErrCancelAmountExceedsCancellableAmount               = &Error{Reason: ReasonCancelAmountExceedsCancellableAmount}
	ErrCancelTaxFreeAmountExceedsCancellableTaxFreeAmount = &Error{Reason: ReasonCancelTaxFreeAmountExceedsCancellableTaxFreeAmount}
	ErrCancelTaxAmountExceedsCancellableTaxAmount         = &Error{Reason: ReasonCancelTaxAmountExceedsCancellableTaxAmount}
	ErrCancelVATAmountExceedsCancellableVATAmount         = &Error{Reason: ReasonCancelVATAmountExceedsCancellableVATAmount}
	ErrCancelSupplyAmountExceedsCancellableSupplyAmount   = &Error{Reason: ReasonCancelSupplyAmountExceedsCancellableSupplyAmount}
	ErrInvalidInstallmentMonths                           = &Error{Reason: ReasonInvalidInstallmentMonths}
	ErrInstallmentNotAllowedUnder50000                    = &Error{Reason: ReasonInstallmentNotAllowedUnder50000}
	ErrAmountOverflow                                     = &Error{Reason: ReasonAmountOverflow}
)
