package tossfake

import "strings"

// Fake test cards. Any other card number of 13-19 digits is approved as a
// personal credit card of issuer "41".
const (
	// DefaultCard is approved (credit card, issuer/acquirer "41"). The
	// hosted window's card input starts with it.
	DefaultCard = "4330000000000001"
	// CheckCard is approved as a check (debit) card (체크, issuer "11").
	CheckCard = "4330000000000019"
	// RejectCard is refused by the card company in the window (failUrl with
	// code REJECT_CARD_COMPANY) and by key-in / billing-from-card (HTTP 403
	// REJECT_CARD_COMPANY).
	RejectCard = "4000000000000002"
	// StoppedCard is a stopped card: failUrl with code INVALID_STOPPED_CARD in
	// the window, HTTP 400 INVALID_STOPPED_CARD from key-in / billing-from-card.
	StoppedCard = "4000000000000010"
	// ConfirmDeclineCard passes the window (and billing-key issue) but is
	// refused when the payment is confirmed or charged: confirm answers
	// HTTP 403 REJECT_CARD_COMPANY and the payment becomes ABORTED; key-in
	// and billing charges answer the same and record nothing.
	ConfirmDeclineCard = "4000000000000028"
)

type cardProfile struct {
	issuer, cardType, ownerType string
}

// cardError is the code a card is refused with before any approval.
func cardError(number string) string {
	switch number {
	case RejectCard:
		return "REJECT_CARD_COMPANY"
	case StoppedCard:
		return "INVALID_STOPPED_CARD"
	}
	return ""
}

func profileOf(number string) cardProfile {
	if number == CheckCard {
		return cardProfile{issuer: "11", cardType: "체크", ownerType: "개인"}
	}
	return cardProfile{issuer: "41", cardType: "신용", ownerType: "개인"}
}

// cleanCard strips spaces and dashes; false when not 13-19 digits.
func cleanCard(s string) (string, bool) {
	s = strings.NewReplacer(" ", "", "-", "").Replace(s)
	if len(s) < 13 || len(s) > 19 || !allDigits(s) {
		return "", false
	}
	return s, true
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// maskCard masks like Toss: the first 8 digits, then stars, one more group
// of digits, and a final star ("43300000****000*").
func maskCard(n string) string {
	if len(n) < 13 {
		return strings.Repeat("*", len(n))
	}
	tail := len(n) - 8 - 4 - 1
	return n[:8] + "****" + n[12:12+tail] + "*"
}
