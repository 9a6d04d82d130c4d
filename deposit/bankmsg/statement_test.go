package bankmsg

import (
	"bytes"
	"io"
	"strings"
	"testing"
	"time"

	"golang.org/x/text/encoding/korean"
)

// Statement fixtures use placeholder names and accounts.

func kst(y, mo, d, h, mi, s int) time.Time {
	return time.Date(y, time.Month(mo), d, h, mi, s, 0, Seoul)
}

func TestParseStatementCSVLayouts(t *testing.T) {
	tests := []struct {
		name string
		csv  string
		want []Transaction
	}{
		{
			name: "거래일시 / 적요 / 기재내용 / 찾으신금액 / 맡기신금액 / 잔액 / 거래점, with a preamble",
			csv: "거래내역조회\n" +
				"계좌번호,123-456789-01-001\n" +
				"조회기간,2025.03.01 ~ 2025.03.05\n" +
				"\n" +
				"거래일시,적요,기재내용,찾으신금액,맡기신금액,잔액,거래점\n" +
				"2025.03.05 09:58:12,타행이체,홍길동,,\"10,000\",\"110,000\",가나지점\n" +
				"2025.03.05 10:15:00,체크카드,가나상점,\"4,500\",0,\"105,500\",\n",
			want: []Transaction{
				{Kind: Deposit, Amount: 10000, Balance: i64(110000), Counterparty: "홍길동", Note: "타행이체", Time: kst(2025, 3, 5, 9, 58, 12)},
				{Kind: Withdrawal, Amount: 4500, Balance: i64(105500), Counterparty: "가나상점", Note: "체크카드", Time: kst(2025, 3, 5, 10, 15, 0)},
			},
		},
		{
			name: "거래일자 + 거래시간 / 출금(원) / 입금(원) / 내용 / 잔액(원)",
			csv: "거래일자,거래시간,적요,출금(원),입금(원),내용,잔액(원),거래점\n" +
				"2025-03-05,09:58:12,인터넷,0,\"10,000\",홍길동,\"110,000\",본점\n" +
				"20250306,134501,인터넷,\"1,000\",0,가나상점,\"109,000\",본점\n",
			want: []Transaction{
				{Kind: Deposit, Amount: 10000, Balance: i64(110000), Counterparty: "홍길동", Note: "인터넷", Time: kst(2025, 3, 5, 9, 58, 12)},
				{Kind: Withdrawal, Amount: 1000, Balance: i64(109000), Counterparty: "가나상점", Note: "인터넷", Time: kst(2025, 3, 6, 13, 45, 1)},
			},
		},
		{
			name: "거래일시 / 보낸분/받는분 / 출금액 / 입금액, amounts with 원",
			csv: "거래일시,적요,보낸분/받는분,출금액,입금액,잔액\n" +
				"2025/03/05 09:58,FBS입금,홍길동 4821,,\"10,000원\",\"110,000원\"\n",
			want: []Transaction{
				{Kind: Deposit, Amount: 10000, Balance: i64(110000), Counterparty: "홍길동 4821", Note: "FBS입금", Time: kst(2025, 3, 5, 9, 58, 0)},
			},
		},
		{
			name: "거래일자 only / 찾으신금액 / 맡기신금액 / 거래후잔액, headers with spaces",
			csv: "거래일자, 적요 ,찾으신 금액,맡기신 금액,거래후 잔액\n" +
				"2025.03.05,보험료,\"10,000\",,\"90,000\"\n",
			want: []Transaction{
				{Kind: Withdrawal, Amount: 10000, Balance: i64(90000), Note: "보험료", Time: kst(2025, 3, 5, 0, 0, 0)},
			},
		},
		{
			name: "입금자명 / 입금액 / 출금액, no balance column",
			csv: "거래일시,입금자명,입금액,출금액\n" +
				"2025-03-05 09:58:00,(주)가나상사,50000,\n",
			want: []Transaction{
				{Kind: Deposit, Amount: 50000, Counterparty: "(주)가나상사", Time: kst(2025, 3, 5, 9, 58, 0)},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for enc, data := range map[string][]byte{
				"utf8":     []byte(tt.csv),
				"utf8-bom": append([]byte("\xEF\xBB\xBF"), tt.csv...),
				"cp949":    cp949(t, tt.csv),
			} {
				got, rowErrs, err := ParseStatementCSV(bytes.NewReader(data))
				if err != nil {
					t.Fatalf("%s: error %v", enc, err)
				}
				if len(rowErrs) != 0 {
					t.Fatalf("%s: row errors %v", enc, rowErrs)
				}
				if len(got) != len(tt.want) {
					t.Fatalf("%s: %d transactions, want %d: %+v", enc, len(got), len(tt.want), got)
				}
				for i := range got {
					assertTx(t, got[i], tt.want[i])
				}
			}
		})
	}
}

func cp949(t *testing.T, s string) []byte {
	t.Helper()
	b, err := korean.EUCKR.NewEncoder().Bytes([]byte(s))
	if err != nil {
		t.Fatalf("encoding fixture as CP949: %v", err)
	}
	return b
}

func TestParseStatementCSVCP949Bytes(t *testing.T) {
	// "거래일시,기재내용,출금액,입금액\n" ... written out as CP949 bytes, so
	// the test does not depend on the encoder it checks against.
	data := []byte("\xb0\xc5\xb7\xa1\xc0\xcf\xbd\xc3,\xb1\xe2\xc0\xe7\xb3\xbb\xbf\xeb,\xc3\xe2\xb1\xdd\xbe\xd7,\xc0\xd4\xb1\xdd\xbe\xd7\r\n" +
		"2025.03.05 09:58,\xc8\xab\xb1\xe6\xb5\xbf,,10000\r\n")
	got, rowErrs, err := ParseStatementCSV(bytes.NewReader(data))
	if err != nil || len(rowErrs) != 0 || len(got) != 1 {
		t.Fatalf("got %+v, %v, %v", got, rowErrs, err)
	}
	if got[0].Counterparty != "홍길동" || got[0].Amount != 10000 || got[0].Kind != Deposit {
		t.Fatalf("got %+v", got[0])
	}
}

func TestParseStatementCSVRowErrors(t *testing.T) {
	csv := "거래일시,적요,기재내용,찾으신금액,맡기신금액,잔액\n" + // line 1
		"2025.03.05 09:58,이체,홍길동,,\"10,000\",\"110,000\"\n" + // 2 ok
		"2025.03.05 10:00,이체,홍길동,\"1,000\",\"10,000\",\"119,000\"\n" + // 3 both amounts
		"2025.03.05 10:01,이체,홍길동,,,\"119,000\"\n" + // 4 no amount
		"2025.13.05 10:02,이체,홍길동,,\"10,000\",\"129,000\"\n" + // 5 bad date
		"2025.03.05 10:03,이체,홍길동,,\"1,0000\",\"139,000\"\n" + // 6 bad amount
		"2025.03.05 10:04,이체,홍길동,,12345678901234567890,\"139,000\"\n" + // 7 absurd
		",,,,,\n" + // 8 blank: skipped
		"\n" + // 9 empty line: skipped
		"2025.03.05 10:05,이체,홍길동,,-5000,\n" + // 10 negative
		"합계,,,\"1,000\",\"20,000\",\n" + // 11 summary row
		"2025.03.05 10:06,이체,홍길동,,\"5,000\",abc\n" + // 12 bad balance
		"2025.03.05 10:07,이체,\"홍길동\n4821\",,\"5,000\",\"144,000\"\n" // 13-14 ok, quoted newline
	got, rowErrs, err := ParseStatementCSV(strings.NewReader(csv))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Amount != 10000 || got[1].Counterparty != "홍길동 4821" {
		t.Errorf("transactions = %+v", got)
	}
	wantRows := []int{3, 4, 5, 6, 7, 10, 11, 12}
	if len(rowErrs) != len(wantRows) {
		t.Fatalf("row errors = %v, want rows %v", rowErrs, wantRows)
	}
	for i, e := range rowErrs {
		if e.Row != wantRows[i] || e.Err == "" {
			t.Errorf("row error %d = %+v, want row %d", i, e, wantRows[i])
		}
	}
	if !strings.Contains(rowErrs[0].Error(), "row 3") {
		t.Errorf("Error() = %q", rowErrs[0].Error())
	}
}

func TestParseStatementCSVFileErrors(t *testing.T) {
	tests := map[string]string{
		"empty":                   "",
		"no header":               "a,b,c\n1,2,3\n",
		"header without amounts":  "거래일시,적요,기재내용\n2025.03.05 09:58,이체,홍길동\n",
		"header without date":     "적요,출금액,입금액\n이체,,1000\n",
		"duplicate column role":   "거래일시,입금액,입금,출금액\n",
		"header too far down":     strings.Repeat("x\n", maxHeaderSearchRows+2) + "거래일시,출금액,입금액\n2025.03.05 09:58,,1000\n",
		"broken quoting pre-head": "\"a\"b\"\n",
	}
	for name, in := range tests {
		t.Run(name, func(t *testing.T) {
			got, rowErrs, err := ParseStatementCSV(strings.NewReader(in))
			if err == nil {
				t.Fatalf("got %+v, %v, want an error", got, rowErrs)
			}
		})
	}
}

func TestParseStatementCSVTooLarge(t *testing.T) {
	r := io0{n: MaxStatementBytes + 10}
	if _, _, err := ParseStatementCSV(&r); err == nil || !strings.Contains(err.Error(), "larger") {
		t.Fatalf("err = %v, want too large", err)
	}
}

// io0 is a reader of n spaces.
type io0 struct{ n int }

func (r *io0) Read(p []byte) (int, error) {
	if r.n == 0 {
		return 0, errEOF
	}
	k := min(len(p), r.n)
	for i := range p[:k] {
		p[i] = ' '
	}
	r.n -= k
	return k, nil
}

var errEOF = io.EOF
