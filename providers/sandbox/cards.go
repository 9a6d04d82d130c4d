package sandbox

import (
	"time"

	"github.com/paymux/paymux/providers"
)

// Test cards. Every one is a 16-digit, Luhn-valid number of the sandbox BIN
// 941000; the last 4 digits tell them apart in masked form. Any other
// Luhn-valid number of 13 to 19 digits is approved like CardSuccess.
const (
	// CardSuccess is approved.
	CardSuccess = "9410000000000005"
	// CardInsufficientFunds is declined: DeclineInsufficientFunds, code SB_51.
	CardInsufficientFunds = "9410000000000518"
	// CardLostOrStolen is declined: DeclineLostOrStolen, code SB_43. A
	// billing key cannot be issued for it either.
	CardLostOrStolen = "9410000000000435"
	// CardLimitExceeded is declined: DeclineLimitExceeded, code SB_61.
	CardLimitExceeded = "9410000000000617"
	// CardNoInstallment is a check card: a lump sum is approved, any
	// installment plan is declined (DeclineInvalidInstallment, code SB_12).
	CardNoInstallment = "9410000000000120"
	// CardTimeoutCharged answers KindTimeout, but the charge DID go
	// through: Lookup by order id finds it PAID, and NetCancel voids it
	// within the net-cancel window.
	CardTimeoutCharged = "9410000000004080"
	// CardTimeoutNotCharged answers KindTimeout and charges nothing:
	// Lookup answers NotFound and NetCancel has nothing to void.
	CardTimeoutNotCharged = "9410000000005046"
	// CardBillingDeclines issues a billing key fine, but every charge of
	// that key is declined (DeclineInsufficientFunds, code SB_51). Charged
	// directly (key-in, window) it is approved.
	CardBillingDeclines = "9410000000003413"
)

// FailingCashReceiptIdentity is the identity number for which a cash
// receipt is accepted (REQUESTED) and then FAILED at the tax service.
const FailingCashReceiptIdentity = "0100000000"

type behaviour int

const (
	approve behaviour = iota
	declineInsufficient
	declineLost
	declineLimit
	declineInstallment
	timeoutCharged
	timeoutNotCharged
	billingDeclines
)

var testCards = map[string]behaviour{
	CardSuccess:           approve,
	CardInsufficientFunds: declineInsufficient,
	CardLostOrStolen:      declineLost,
	CardLimitExceeded:     declineLimit,
	CardNoInstallment:     declineInstallment,
	CardTimeoutCharged:    timeoutCharged,
	CardTimeoutNotCharged: timeoutNotCharged,
	CardBillingDeclines:   billingDeclines,
}

// Installment rules of the sandbox, as Korean issuers apply them.
const (
	maxInstallment       = 12
	minInstallmentAmount = 50_000
)

// cardProfile is a validated card: its behaviour and what the PG reports.
type cardProfile struct {
	behaviour behaviour
	info      providers.CardInfo // without approval number and installment
}

// checkCard validates the form of card data (InvalidRequest) and then what
// the card company would refuse outright (Declined: bad check digit,
// expired). requireOwner asks for the owner id and password digits, which
// billing keys need.
func checkCard(op string, c providers.CardData, now time.Time, requireOwner bool) (cardProfile, *providers.Error) {
	num := c.Number.Reveal()
	if len(num) < 13 || len(num) > 19 || !allDigits(num) {
		return cardProfile{}, invalid(op, "INVALID_CARD_NUMBER", "a card number has 13 to 19 digits")
	}
	if c.ExpiryMonth < 1 || c.ExpiryMonth > 12 || c.ExpiryYear < 2000 || c.ExpiryYear > 2099 {
		return cardProfile{}, invalid(op, "INVALID_CARD_EXPIRY", "expiry must be a month 1-12 and a four-digit year")
	}
	if id := c.OwnerID.Reveal(); id != "" || requireOwner {
		if !allDigits(id) || (len(id) != 6 && len(id) != 10) {
			return cardProfile{}, invalid(op, "INVALID_OWNER_ID", "the owner id is a birth date YYMMDD or a 10-digit business number")
		}
	}
	if pw := c.Password2.Reveal(); pw != "" || requireOwner {
		if len(pw) != 2 || !allDigits(pw) {
			return cardProfile{}, invalid(op, "INVALID_CARD_PASSWORD", "the password part is the first 2 digits")
		}
	}
	b, known := testCards[num]
	if !known {
		b = approve
	}
	info := providers.CardInfo{
		Issuer:   providers.CardShinhan,
		Acquirer: providers.CardShinhan,
		Number:   c.Number.Masked(),
		Type:     providers.CardTypeCredit,
	}
	if !known {
		info.Issuer, info.Acquirer = providers.CardBC, providers.CardBC
	}
	if b == declineInstallment {
		info.Type = providers.CardTypeCheck
	}
	profile := cardProfile{behaviour: b, info: info}
	if !luhn(num) {
		return profile, declined(op, providers.DeclineInvalidCard, "SB_14", "카드번호 오류 (invalid card number)")
	}
	// A card is valid through the last day of its expiry month.
	if !now.Before(time.Date(c.ExpiryYear, time.Month(c.ExpiryMonth)+1, 1, 0, 0, 0, 0, time.UTC)) {
		return profile, declined(op, providers.DeclineExpiredCard, "SB_54", "유효기간 경과 (expired card)")
	}
	return profile, nil
}

// decide is what the card company answers a charge of amount in months.
// billing marks a charge of a billing key.
func decide(op string, b behaviour, amount int64, months int, billing bool) *providers.Error {
	switch {
	case months != 0 && (months < 2 || months > maxInstallment):
		return declined(op, providers.DeclineInvalidInstallment, "INVALID_INSTALLMENT_MONTHS",
			"할부 개월 오류: 0(일시불) 또는 2-12개월 (installment months must be 0 or 2-12)")
	case months != 0 && amount < minInstallmentAmount:
		return declined(op, providers.DeclineInvalidInstallment, "INSTALLMENT_NOT_ALLOWED_UNDER_50000",
			"할부 최소금액 오류: 50,000원 이상 (installments need 50,000 KRW or more)")
	}
	switch b {
	case declineInsufficient:
		return declined(op, providers.DeclineInsufficientFunds, "SB_51", "잔액 부족 (insufficient funds)")
	case declineLost:
		return declined(op, providers.DeclineLostOrStolen, "SB_43", "분실/도난 카드 (lost or stolen card)")
	case declineLimit:
		return declined(op, providers.DeclineLimitExceeded, "SB_61", "한도 초과 (limit exceeded)")
	case declineInstallment:
		if months != 0 {
			return declined(op, providers.DeclineInvalidInstallment, "SB_12", "할부 불가 카드 (this card takes no installments)")
		}
	case billingDeclines:
		if billing {
			return declined(op, providers.DeclineInsufficientFunds, "SB_51", "잔액 부족 (insufficient funds)")
		}
	}
	return nil
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// luhn reports whether the digits pass the Luhn check.
func luhn(digits string) bool {
	sum := 0
	for i := range len(digits) {
		d := int(digits[len(digits)-1-i] - '0')
		if i%2 == 1 {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	return sum%10 == 0
}
