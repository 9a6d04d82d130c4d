package sandbox

import (
	"math"
	"testing"
)

func TestFormatMoney(t *testing.T) {
	tests := []struct {
		n      int64
		ko, en string
	}{
		{0, "0원", "₩0"},
		{7, "7원", "₩7"},
		{999, "999원", "₩999"},
		{1_000, "1,000원", "₩1,000"},
		{50_000, "50,000원", "₩50,000"},
		{129_000, "129,000원", "₩129,000"},
		{1_234_567, "1,234,567원", "₩1,234,567"},
		{100_000_000, "100,000,000원", "₩100,000,000"},
		{-5_000, "-5,000원", "-₩5,000"},
		{math.MaxInt64, "9,223,372,036,854,775,807원", "₩9,223,372,036,854,775,807"},
		{math.MinInt64, "-9,223,372,036,854,775,808원", "-₩9,223,372,036,854,775,808"},
	}
	for _, tc := range tests {
		if got := formatMoney(tc.n, "ko"); got != tc.ko {
			t.Errorf("formatMoney(%d, ko) = %q, want %q", tc.n, got, tc.ko)
		}
		if got := formatMoney(tc.n, "en"); got != tc.en {
			t.Errorf("formatMoney(%d, en) = %q, want %q", tc.n, got, tc.en)
		}
	}
}

// TestCheckoutTexts: both languages have every text.
func TestCheckoutTexts(t *testing.T) {
	for _, tx := range checkoutTexts {
		if len(tx.Cards) != len(checkoutCards) || tx.methodNames["CARD"] == "" || tx.money == nil ||
			len(tx.errors) != len(checkoutKO.errors) || len(tx.Rules) != len(checkoutKO.Rules) {
			t.Errorf("%s: texts missing", tx.Code)
		}
		for code := range checkoutKO.errors {
			if tx.errors[code] == "" {
				t.Errorf("%s: no text for %s", tx.Code, code)
			}
		}
	}
}
