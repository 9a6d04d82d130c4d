package nicepayfake

import "strings"

// Test card numbers. Any other 13-19 digit number is approved.
const (
	// DefaultCard is used when a Choice names no card; its masked form is
	// the sandbox sample's "123412******1234".
	DefaultCard = "1234123412341234"
	// CardRefused authenticates in the window and registers as a billing
	// key, but every approval and billing charge is refused: 3095.
	CardRefused = "1234123400003095"
	// CardExpired is refused at approval and at billing-key registration: 3021.
	CardExpired = "1234123400003021"
	// CardNoBilling is approved in the window, but billing-key registration
	// is refused: F118.
	CardNoBilling = "1234123400000118"
)

// The sandbox answers every card as 삼성 (code 04).
const (
	sandboxCardCode = "04"
	sandboxCardName = "삼성"
)

type cardOutcome struct {
	approveCode, approveMsg string // refusal at approve / charge; "" = approved
	registCode, registMsg   string // refusal at billing-key registration
}

var cardOutcomes = map[string]cardOutcome{
	CardRefused:   {approveCode: "3095", approveMsg: "카드사 실패 응답"},
	CardExpired:   {approveCode: "3021", approveMsg: "유효기간 오류", registCode: "3021", registMsg: "유효기간 오류"},
	CardNoBilling: {registCode: "F118", registMsg: "해당카드는 사용이 불가능 합니다 타사카드를 이용해주세요"},
}

// cleanCard drops spaces and dashes and reports whether the rest is a
// 13-19 digit card number.
func cleanCard(s string) (string, bool) {
	d := strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' {
			return -1
		}
		return r
	}, s)
	if len(d) < 13 || len(d) > 19 {
		return d, false
	}
	for _, r := range d {
		if r < '0' || r > '9' {
			return d, false
		}
	}
	return d, true
}

// maskCard keeps the first 6 and last 4 digits, as NicePay's cardNum.
func maskCard(d string) string {
	return d[:6] + strings.Repeat("*", len(d)-10) + d[len(d)-4:]
}
