package money

// Installment limits of the platform. Korean card issuers allow installments
// (할부) only from 50,000 KRW; some cards allow 24 months or more, but paymux
// caps at 12 by default, the range every issuer supports.
const (
	MaxInstallmentMonths = 12
	MinInstallmentAmount = 50_000
)

// CheckInstallment reports whether a card charge of amount may be split into
// months installments: 0 is a lump sum (일시불) and always allowed; 2 to
// MaxInstallmentMonths need amount >= MinInstallmentAmount. 1 is not an
// installment plan (a lump sum is 0), so it is refused like negatives and
// anything above the maximum.
func CheckInstallment(months int32, amount int64) error {
	switch {
	case months == 0:
		return nil
	case months < 2 || months > MaxInstallmentMonths:
		return newError(ReasonInvalidInstallmentMonths,
			"installment months %d is neither 0 (lump sum) nor within [2, %d]", months, MaxInstallmentMonths)
	case amount < MinInstallmentAmount:
		return newError(ReasonInstallmentNotAllowedUnder50000,
			"installments need an amount of at least %d, got %d", MinInstallmentAmount, amount)
	}
	return nil
}
