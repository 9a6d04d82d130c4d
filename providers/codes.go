package providers

import (
	"fmt"
	"strconv"
	"strings"
)

// Bank is a Korean bank by its KFTC (금융결제원) 3-digit code, the canonical
// form paymux stores. Adapters translate the PG's own form: NicePay sends
// the KFTC code as is, Toss and Inicis send it without leading zeros or
// zero-padded to 8 digits ("20", "00000020"), which ParseBank reads; KCP
// uses its own "BK.." table, translated in the KCP adapter.
type Bank string

const (
	BankKDB       Bank = "002" // KDB산업은행
	BankIBK       Bank = "003" // IBK기업은행
	BankKB        Bank = "004" // KB국민은행
	BankSuhyup    Bank = "007" // Sh수협은행
	BankNH        Bank = "011" // NH농협은행
	BankNHLocal   Bank = "012" // 지역 농·축협
	BankWoori     Bank = "020" // 우리은행
	BankSC        Bank = "023" // SC제일은행
	BankCiti      Bank = "027" // 한국씨티은행
	BankDaegu     Bank = "031" // iM뱅크(대구은행)
	BankBusan     Bank = "032" // 부산은행
	BankGwangju   Bank = "034" // 광주은행
	BankJeju      Bank = "035" // 제주은행
	BankJeonbuk   Bank = "037" // 전북은행
	BankGyeongnam Bank = "039" // 경남은행
	BankMG        Bank = "045" // 새마을금고
	BankShinhyup  Bank = "048" // 신협
	BankSavings   Bank = "050" // 저축은행
	BankPost      Bank = "071" // 우체국
	BankHana      Bank = "081" // 하나은행
	BankShinhan   Bank = "088" // 신한은행
	BankKBank     Bank = "089" // 케이뱅크
	BankKakao     Bank = "090" // 카카오뱅크
	BankToss      Bank = "092" // 토스뱅크
)

var bankNames = map[Bank][2]string{
	BankKDB: {"KDB", "KDB산업은행"}, BankIBK: {"IBK", "IBK기업은행"}, BankKB: {"KB Kookmin", "KB국민은행"},
	BankSuhyup: {"Suhyup", "Sh수협은행"}, BankNH: {"NH", "NH농협은행"}, BankNHLocal: {"NH local", "지역농축협"},
	BankWoori: {"Woori", "우리은행"}, BankSC: {"SC First", "SC제일은행"}, BankCiti: {"Citi Korea", "한국씨티은행"},
	BankDaegu: {"iM Bank (Daegu)", "iM뱅크"}, BankBusan: {"Busan", "부산은행"}, BankGwangju: {"Gwangju", "광주은행"},
	BankJeju: {"Jeju", "제주은행"}, BankJeonbuk: {"Jeonbuk", "전북은행"}, BankGyeongnam: {"Gyeongnam", "경남은행"},
	BankMG: {"MG Saemaeul", "새마을금고"}, BankShinhyup: {"Shinhyup", "신협"}, BankSavings: {"Savings banks", "저축은행"},
	BankPost: {"Korea Post", "우체국"}, BankHana: {"Hana", "하나은행"}, BankShinhan: {"Shinhan", "신한은행"},
	BankKBank: {"K bank", "케이뱅크"}, BankKakao: {"Kakao Bank", "카카오뱅크"}, BankToss: {"Toss Bank", "토스뱅크"},
}

// Banks returns every known bank, in code order.
func Banks() []Bank {
	return []Bank{BankKDB, BankIBK, BankKB, BankSuhyup, BankNH, BankNHLocal, BankWoori, BankSC, BankCiti,
		BankDaegu, BankBusan, BankGwangju, BankJeju, BankJeonbuk, BankGyeongnam, BankMG, BankShinhyup,
		BankSavings, BankPost, BankHana, BankShinhan, BankKBank, BankKakao, BankToss}
}

// Valid reports whether b is a known bank.
func (b Bank) Valid() bool { _, ok := bankNames[b]; return ok }

// Name is the English name, or "" for an unknown code.
func (b Bank) Name() string { return bankNames[b][0] }

// KoreanName is the Korean name, or "" for an unknown code.
func (b Bank) KoreanName() string { return bankNames[b][1] }

// ParseBank reads a numeric KFTC bank code in any zero-padding ("4", "04",
// "004", "00000004") and returns the known Bank, or an error.
func ParseBank(code string) (Bank, error) {
	b, err := normalizeNumeric(code, 3)
	if err != nil || !Bank(b).Valid() {
		return "", fmt.Errorf("providers: unknown bank code %q", code)
	}
	return Bank(b), nil
}

// CardCompany is a Korean card company (issuer or acquirer) by its KFTC
// code, the canonical form paymux stores. Each PG has its own table (NicePay
// "01" BC, "02" KB, ...; Toss 2-character codes; KCP "CC.." codes), which its
// adapter translates; an issuer with no constant here is reported as "" with
// the PG's raw code kept in CardInfo.
type CardCompany string

const (
	CardBC      CardCompany = "361" // 비씨카드
	CardKB      CardCompany = "381" // KB국민카드
	CardHyundai CardCompany = "367" // 현대카드
	CardSamsung CardCompany = "365" // 삼성카드
	CardLotte   CardCompany = "368" // 롯데카드
	CardNH      CardCompany = "371" // NH농협카드
	CardShinhan CardCompany = "366" // 신한카드
	CardHana    CardCompany = "374" // 하나카드
	CardWoori   CardCompany = "041" // 우리카드
)

var cardNames = map[CardCompany][2]string{
	CardBC: {"BC", "비씨카드"}, CardKB: {"KB Kookmin", "KB국민카드"}, CardHyundai: {"Hyundai", "현대카드"},
	CardSamsung: {"Samsung", "삼성카드"}, CardLotte: {"Lotte", "롯데카드"}, CardNH: {"NH", "NH농협카드"},
	CardShinhan: {"Shinhan", "신한카드"}, CardHana: {"Hana", "하나카드"}, CardWoori: {"Woori", "우리카드"},
}

// CardCompanies returns every known card company.
func CardCompanies() []CardCompany {
	return []CardCompany{CardWoori, CardBC, CardSamsung, CardShinhan, CardHyundai, CardLotte, CardNH, CardHana, CardKB}
}

// Valid reports whether c is a known card company.
func (c CardCompany) Valid() bool { _, ok := cardNames[c]; return ok }

// Name is the English name, or "" for an unknown code.
func (c CardCompany) Name() string { return cardNames[c][0] }

// KoreanName is the Korean name, or "" for an unknown code.
func (c CardCompany) KoreanName() string { return cardNames[c][1] }

// ParseCardCompany reads a numeric KFTC card company code in any
// zero-padding and returns the known CardCompany, or an error.
func ParseCardCompany(code string) (CardCompany, error) {
	c, err := normalizeNumeric(code, 3)
	if err != nil || !CardCompany(c).Valid() {
		return "", fmt.Errorf("providers: unknown card company code %q", code)
	}
	return CardCompany(c), nil
}

// normalizeNumeric pads or trims the zeros of a numeric code to width digits.
func normalizeNumeric(code string, width int) (string, error) {
	code = strings.TrimSpace(code)
	if code == "" || len(code) > 12 {
		return "", fmt.Errorf("bad code %q", code)
	}
	n, err := strconv.ParseUint(code, 10, 64)
	if err != nil {
		return "", err
	}
	s := strconv.FormatUint(n, 10)
	if len(s) > width {
		return "", fmt.Errorf("code %q is longer than %d digits", code, width)
	}
	return strings.Repeat("0", width-len(s)) + s, nil
}
