package bankmsg

import (
	"bytes"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

var fuzzMessages = []string{
	"농협 입금10,000원\n03/05 09:58 352-****-1234-56 홍길동 잔액110,000원",
	"[Web발신]\n신한03/05 09:58\n110-***-123456\n입금 10,000\n잔액 110,000\n 홍길동",
	"[KB]03/05 09:58\n123456**789\n홍길동\n입금\n10,000\n잔액110,000",
	"KB스타뱅킹\n입금 10,000원\n가*다님 03/05 09:58 123456**789\n홍길동 FBS입금 10,000 잔액110,000",
	"신협123-***-4567 03/05 09:58 입금 10,000원 홍길동 잔액110,000원",
	"[Web발신]\n우체국,03/05 09:58\n123-****-5678\n입금 10,000원\n잔액 110,000원\n홍길동",
	"[카카오뱅크] 홍길동님이 3333-**-1234567 계좌로 10,000원을 입금했어요.",
	"[하나은행] 2025.03.05 09:58 입금 10,000원 홍길동 잔액 110,000원",
	"50,000원 입금\n토스뱅크 | 홍길동\n잔액 1,915,204원",
	"[Web발신]\n우리 03/05 09:58\n*123456\n입금 10,000원\n홍길동\n잔액 110,000원",
	"[Web발신]\n2025/03/05 09:58\n입금 10,000원\n잔액 110,000원\n홍길동\n123***45678901\n기업",
	"[Web발신]\n하나,03/05, 09:58\n123******45678\n입금10,000원\n홍길동\n잔액110,000원",
	"[Web발신]<새마을금고>123456**7 홍길동 입금10,000 잔액110,000원 03/05 09:58",
	"[Web발신]\n부산03/05 09:58 123456789***0 홍길동 입금10,000 잔액110,000",
	"iM뱅크 03/05 09:58\n12345*67890\n입금 1,000,000\n잔액 1,189,248\n토스홍길동",
	"[Web발신]\n삼성1234승인 홍*동\n39,000원 일시불\n03/05 20:16 가나상점\n누적1,234,567원",
	"농협 입금12345678901234567890원\n03/05 09:58 352-****-1234-56 홍길동 잔액110,000원",
	"",
}

func FuzzParse(f *testing.F) {
	for _, s := range fuzzMessages {
		f.Add(s, int64(1741136400))
	}
	f.Fuzz(func(t *testing.T, text string, unix int64) {
		receivedAt := time.Unix(unix%(1<<34), 0) // keep years sane
		r := Parse(text, receivedAt)
		switch r.Status {
		case StatusTransaction:
			tx := r.Transaction
			if tx == nil {
				t.Fatalf("Parse(%q): transaction status without a transaction", text)
			}
			if tx.Amount <= 0 {
				t.Fatalf("Parse(%q): amount %d", text, tx.Amount)
			}
			if tx.Kind != Deposit && tx.Kind != Withdrawal {
				t.Fatalf("Parse(%q): kind %q", text, tx.Kind)
			}
			if !tx.Bank.Valid() {
				t.Fatalf("Parse(%q): bank %q", text, tx.Bank)
			}
			if tx.Time.IsZero() {
				t.Fatalf("Parse(%q): no time", text)
			}
			if !utf8.ValidString(tx.Counterparty) || !utf8.ValidString(tx.Account) {
				t.Fatalf("Parse(%q): invalid UTF-8 in %+v", text, tx)
			}
			if r.Reason != "" {
				t.Fatalf("Parse(%q): transaction with reason %q", text, r.Reason)
			}
			_ = Key(*tx, "acct")
		case StatusIgnored, StatusUnparsed:
			if r.Transaction != nil || r.Reason == "" {
				t.Fatalf("Parse(%q) = %+v", text, r)
			}
		default:
			t.Fatalf("Parse(%q): status %q", text, r.Status)
		}
		if len(text) > MaxMessageBytes && r.Reason != ReasonTooLong {
			t.Fatalf("Parse accepted %d bytes", len(text))
		}
	})
}

func FuzzParseStatementCSV(f *testing.F) {
	f.Add([]byte("거래일시,적요,기재내용,찾으신금액,맡기신금액,잔액,거래점\n2025.03.05 09:58:12,타행이체,홍길동,,\"10,000\",\"110,000\",가나지점\n"))
	f.Add([]byte("거래일자,거래시간,적요,출금(원),입금(원),내용,잔액(원)\n20250306,134501,인터넷,\"1,000\",0,가나상점,\"109,000\"\n"))
	f.Add([]byte("\xEF\xBB\xBF거래일시,입금자명,입금액,출금액\n2025-03-05 09:58:00,(주)가나상사,50000,\n"))
	f.Add([]byte("\xb0\xc5\xb7\xa1\xc0\xcf\xbd\xc3,\xc3\xe2\xb1\xdd\xbe\xd7,\xc0\xd4\xb1\xdd\xbe\xd7\r\n2025.03.05 09:58,,10000\r\n"))
	f.Add([]byte("\"\n,,\"\"\"\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		txs, rowErrs, err := ParseStatementCSV(bytes.NewReader(data))
		if err != nil {
			if len(txs) != 0 || len(rowErrs) != 0 {
				t.Fatalf("error %v with results", err)
			}
			return
		}
		for _, tx := range txs {
			if tx.Amount <= 0 || (tx.Kind != Deposit && tx.Kind != Withdrawal) || tx.Time.IsZero() {
				t.Fatalf("bad transaction %+v", tx)
			}
		}
		for _, e := range rowErrs {
			if e.Row <= 0 || e.Err == "" {
				t.Fatalf("bad row error %+v", e)
			}
		}
	})
}

func FuzzNormalizeName(f *testing.F) {
	for _, s := range []string{"홍길동님", "(주)가나상사", "㈜가나", "주식주식회사회사", "Karimov Aziz", "Ｋａｒｉｍｏｖ",
		"\u1112\u1169\u11bc", "e\u0301", "홍\u200b길동", "님님님", "\xff\xfe", "ǅ", "ß"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n := NormalizeName(s)
		if again := NormalizeName(n); again != n {
			t.Fatalf("NormalizeName(%q) = %q, but NormalizeName(%q) = %q", s, n, n, again)
		}
		if !utf8.ValidString(n) {
			t.Fatalf("NormalizeName(%q) = %q: invalid UTF-8", s, n)
		}
		if strings.ContainsAny(n, " \t\n()-.") || strings.HasSuffix(n, "님") {
			t.Fatalf("NormalizeName(%q) = %q still has spaces, punctuation or 님", s, n)
		}
	})
}
