package bankmsg

import (
	"strings"
	"testing"
	"time"
)

func TestNormalizeName(t *testing.T) {
	tests := []struct{ in, want string }{
		{"홍길동", "홍길동"},
		{"  홍길동  ", "홍길동"},
		{"홍 길 동", "홍길동"},
		{"홍\u200b길동", "홍길동"},
		{"홍길동님", "홍길동"},
		{"홍길동 님", "홍길동"},
		{"홍길동님님", "홍길동"},
		{"Karimov Aziz", "KARIMOVAZIZ"},
		{"karimov-aziz", "KARIMOVAZIZ"},
		{"Ｋａｒｉｍｏｖ　Ａｚｉｚ", "KARIMOVAZIZ"}, // full-width
		{"ｈｏｎｇ１２３", "HONG123"},
		{"홍길동4821", "홍길동4821"},
		{"홍길동 ４８２１", "홍길동4821"},
		{"(주)가나상사", "가나상사"},
		{"㈜가나상사", "가나상사"},
		{"（주）가나상사", "가나상사"}, // full-width parentheses
		{"주식회사 가나상사", "가나상사"},
		{"가나상사 주식회사", "가나상사"},
		{"가나상사(주)", "가나상사"},
		{"주식주식회사회사", ""},
		{"홍-길.동", "홍길동"},
		{"홍*동", "홍동"},
		{"\u1112\u1169\u11bc\u1100\u1175\u11af\u1103\u1169\u11bc", "홍길동"}, // NFD
		{"Émile", "ÉMILE"},
		{"emile\u0301", "EMILÉ"}, // combining accent composed by NFC
		{"하나", "하나"},
		{"국민영", "국민영"},
		{"님", ""},
		{"", ""},
		{"!!!", ""},
		{"😀홍길동", "홍길동"},
	}
	for _, tt := range tests {
		got := NormalizeName(tt.in)
		if got != tt.want {
			t.Errorf("NormalizeName(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if again := NormalizeName(got); again != got {
			t.Errorf("NormalizeName not idempotent on %q: %q then %q", tt.in, got, again)
		}
	}
}

func TestKey(t *testing.T) {
	base := Transaction{
		Kind: Deposit, Amount: 10000, Balance: i64(110000), Counterparty: "홍길동",
		Time: time.Date(2025, 3, 5, 9, 58, 0, 0, Seoul),
	}
	k := Key(base, "acct-1")
	if !strings.HasPrefix(k, "bm1:") || len(k) != 4+64 {
		t.Fatalf("Key = %q, want bm1: and 64 hex digits", k)
	}
	if strings.Contains(k, "홍길동") {
		t.Fatal("Key must not contain the name")
	}

	same := base
	same.Counterparty = " 홍길동님 " // same normalised name
	same.Time = base.Time.Add(42 * time.Second).UTC()
	same.Bank = "011" // an SMS and a push of one deposit
	same.Account = "352-****-1234-56"
	if Key(same, "acct-1") != k {
		t.Error("the same deposit seen twice must have the same key")
	}

	differs := map[string]func(*Transaction) string{
		"account": func(*Transaction) string { return "acct-2" },
		"kind":    func(t *Transaction) string { t.Kind = Withdrawal; return "acct-1" },
		"amount":  func(t *Transaction) string { t.Amount = 10001; return "acct-1" },
		"balance": func(t *Transaction) string { t.Balance = i64(120000); return "acct-1" },
		"no balance": func(t *Transaction) string {
			t.Balance = nil
			return "acct-1"
		},
		"minute": func(t *Transaction) string { t.Time = t.Time.Add(time.Minute); return "acct-1" },
		"name":   func(t *Transaction) string { t.Counterparty = "홍길순"; return "acct-1" },
	}
	for name, change := range differs {
		tx := base
		acct := change(&tx)
		if Key(tx, acct) == k {
			t.Errorf("changing %s must change the key", name)
		}
	}

	// Documented limitation: without a balance, two identical deposits in
	// one minute collide.
	a, b := base, base
	a.Balance, b.Balance = nil, nil
	b.Time = b.Time.Add(30 * time.Second)
	if Key(a, "acct-1") != Key(b, "acct-1") {
		t.Error("without a balance, identical deposits in one minute are expected to collide")
	}

	// Fields are length-prefixed: moving text between account and name
	// cannot produce the same key.
	c := base
	c.Counterparty = "1홍길동"
	if Key(c, "acct-") == Key(base, "acct-1") {
		t.Error("field boundaries must be unambiguous")
	}
}
