package bankmsg

import (
	"strings"
	"testing"
	"time"

	"github.com/paymux/paymux/providers"
)

// All names, accounts and amounts below are placeholders.

var received = time.Date(2025, 3, 5, 10, 0, 0, 0, Seoul)

func at(mo, d, h, mi int) time.Time { return time.Date(2025, time.Month(mo), d, h, mi, 0, 0, Seoul) }

func i64(v int64) *int64 { return &v }

func TestParseTransactions(t *testing.T) {
	tests := []struct {
		name  string
		text  string
		shape string
		want  Transaction
	}{
		{
			name: "NH deposit", shape: "nh",
			text: "농협 입금10,000원\n03/05 09:58 352-****-1234-56 홍길동 잔액110,000원",
			want: Transaction{Kind: Deposit, Bank: providers.BankNH, Amount: 10000, Balance: i64(110000),
				Counterparty: "홍길동", Account: "352-****-1234-56", Time: at(3, 5, 9, 58)},
		},
		{
			name: "NH [Web발신]", shape: "nh",
			text: "[Web발신]\n농협 입금10,000원\n03/05 09:58 352-****-1234-56 홍길동 잔액110,000원",
			want: Transaction{Kind: Deposit, Bank: providers.BankNH, Amount: 10000, Balance: i64(110000),
				Counterparty: "홍길동", Account: "352-****-1234-56", Time: at(3, 5, 9, 58)},
		},
		{
			name: "NH 입출금 알림 title", shape: "nh",
			text: "입출금 알림\n농협 입금 10,000원\n03/05 09:58 352-****-1234-56 홍길동 잔액110,000원",
			want: Transaction{Kind: Deposit, Bank: providers.BankNH, Amount: 10000, Balance: i64(110000),
				Counterparty: "홍길동", Account: "352-****-1234-56", Time: at(3, 5, 9, 58)},
		},
		{
			name: "NH older form, name on its own line", shape: "nh",
			text: "농협 입금10,000원\n03/05 09:58 352-****-1234-56\n홍길동\n잔액110,000원",
			want: Transaction{Kind: Deposit, Bank: providers.BankNH, Amount: 10000, Balance: i64(110000),
				Counterparty: "홍길동", Account: "352-****-1234-56", Time: at(3, 5, 9, 58)},
		},
		{
			name: "NH name after the balance", shape: "nh",
			text: "농협 입금10,000원\n03/05 09:58 352-****-1234-56 잔액110,000원\n홍길동",
			want: Transaction{Kind: Deposit, Bank: providers.BankNH, Amount: 10000, Balance: i64(110000),
				Counterparty: "홍길동", Account: "352-****-1234-56", Time: at(3, 5, 9, 58)},
		},
		{
			name: "NH withdrawal", shape: "nh",
			text: "농협 출금5,000원\n03/05 09:58 352-****-1234-56 가나상점 잔액105,000원",
			want: Transaction{Kind: Withdrawal, Bank: providers.BankNH, Amount: 5000, Balance: i64(105000),
				Counterparty: "가나상점", Account: "352-****-1234-56", Time: at(3, 5, 9, 58)},
		},
		{
			name: "NH depositor with memo code", shape: "nh",
			text: "농협 입금10,000원\n03/05 09:58 352-****-1234-56 홍길동 4821 잔액110,000원",
			want: Transaction{Kind: Deposit, Bank: providers.BankNH, Amount: 10000, Balance: i64(110000),
				Counterparty: "홍길동 4821", Account: "352-****-1234-56", Time: at(3, 5, 9, 58)},
		},
		{
			name: "NH depositor named 김농협 keeps the bank word", shape: "nh",
			text: "농협 입금10,000원\n03/05 09:58 352-****-1234-56 김농협 잔액110,000원",
			want: Transaction{Kind: Deposit, Bank: providers.BankNH, Amount: 10000, Balance: i64(110000),
				Counterparty: "김농협", Account: "352-****-1234-56", Time: at(3, 5, 9, 58)},
		},
		{
			name: "Shinhan deposit", shape: "shinhan",
			text: "[Web발신]\n신한03/05 09:58\n110-***-123456\n입금 10,000\n잔액 110,000\n 홍길동",
			want: Transaction{Kind: Deposit, Bank: providers.BankShinhan, Amount: 10000, Balance: i64(110000),
				Counterparty: "홍길동", Account: "110-***-123456", Time: at(3, 5, 9, 58)},
		},
		{
			name: "Shinhan withdrawal", shape: "shinhan",
			text: "[Web발신]\n신한03/05 09:58\n110-***-123456\n출금 3,300\n잔액 106,700\n 가나상점",
			want: Transaction{Kind: Withdrawal, Bank: providers.BankShinhan, Amount: 3300, Balance: i64(106700),
				Counterparty: "가나상점", Account: "110-***-123456", Time: at(3, 5, 9, 58)},
		},
		{
			name: "Shinhan one line with a word before the amount", shape: "shinhan",
			text: "신한 03/05 09:58 110-***-123456 입금 급여 2,500,000 잔액 3,265,147 가나상사",
			want: Transaction{Kind: Deposit, Bank: providers.BankShinhan, Amount: 2500000, Balance: i64(3265147),
				Counterparty: "급여 가나상사", Account: "110-***-123456", Time: at(3, 5, 9, 58)},
		},
		{
			name: "Shinhan depositor named 신한", shape: "shinhan",
			text: "신한03/05 09:58\n110-***-123456\n입금 10,000\n잔액 110,000\n신한",
			want: Transaction{Kind: Deposit, Bank: providers.BankShinhan, Amount: 10000, Balance: i64(110000),
				Counterparty: "신한", Account: "110-***-123456", Time: at(3, 5, 9, 58)},
		},
		{
			name: "KB SMS deposit", shape: "kb-sms",
			text: "[KB]03/05 09:58\n123456**789\n홍길동\n입금\n10,000\n잔액110,000",
			want: Transaction{Kind: Deposit, Bank: providers.BankKB, Amount: 10000, Balance: i64(110000),
				Counterparty: "홍길동", Account: "123456**789", Time: at(3, 5, 9, 58)},
		},
		{
			name: "KB SMS depositor named 국민영", shape: "kb-sms",
			text: "[KB]03/05 09:58\n123456**789\n국민영\n입금\n10,000\n잔액110,000",
			want: Transaction{Kind: Deposit, Bank: providers.BankKB, Amount: 10000, Balance: i64(110000),
				Counterparty: "국민영", Account: "123456**789", Time: at(3, 5, 9, 58)},
		},
		{
			name: "KB SMS withdrawal with channel word", shape: "kb-sms",
			text: "[KB]03/05 09:58\n123456**789\n가나상점\nFBS출금\n4,500\n잔액105,500",
			want: Transaction{Kind: Withdrawal, Bank: providers.BankKB, Amount: 4500, Balance: i64(105500),
				Counterparty: "가나상점", Account: "123456**789", Time: at(3, 5, 9, 58)},
		},
		{
			name: "KB SMS depositor whose name contains 입금", shape: "kb-sms",
			text: "[KB]03/05 09:58\n123456**789\n김입금\n입금\n10,000\n잔액110,000",
			want: Transaction{Kind: Deposit, Bank: providers.BankKB, Amount: 10000, Balance: i64(110000),
				Counterparty: "김입금", Account: "123456**789", Time: at(3, 5, 9, 58)},
		},
		{
			name: "KB StarBanking push", shape: "kb-starbanking",
			text: "KB스타뱅킹\n입금 10,000원\n가*다님 03/05 09:58 123456**789\n홍길동 FBS입금 10,000 잔액110,000",
			want: Transaction{Kind: Deposit, Bank: providers.BankKB, Amount: 10000, Balance: i64(110000),
				Counterparty: "홍길동", Account: "123456**789", Time: at(3, 5, 9, 58)},
		},
		{
			name: "KB StarBanking withdrawal", shape: "kb-starbanking",
			text: "KB스타뱅킹\n출금 4,500원\n가*다님 03/05 09:58 123456**789\n가나상점 FBS출금 4,500 잔액105,500",
			want: Transaction{Kind: Withdrawal, Bank: providers.BankKB, Amount: 4500, Balance: i64(105500),
				Counterparty: "가나상점", Account: "123456**789", Time: at(3, 5, 9, 58)},
		},
		{
			name: "Shinhyup deposit", shape: "shinhyup",
			text: "신협123-***-4567 03/05 09:58 입금 10,000원 홍길동 잔액110,000원",
			want: Transaction{Kind: Deposit, Bank: providers.BankShinhyup, Amount: 10000, Balance: i64(110000),
				Counterparty: "홍길동", Account: "123-***-4567", Time: at(3, 5, 9, 58)},
		},
		{
			name: "Shinhyup withdrawal", shape: "shinhyup",
			text: "신협123-***-4567 03/05 09:58 출금 1,000원 가나상점 잔액109,000원",
			want: Transaction{Kind: Withdrawal, Bank: providers.BankShinhyup, Amount: 1000, Balance: i64(109000),
				Counterparty: "가나상점", Account: "123-***-4567", Time: at(3, 5, 9, 58)},
		},
		{
			name: "Post office deposit", shape: "post",
			text: "[Web발신]\n우체국,03/05 09:58\n123-****-5678\n입금 10,000원\n잔액 110,000원\n홍길동",
			want: Transaction{Kind: Deposit, Bank: providers.BankPost, Amount: 10000, Balance: i64(110000),
				Counterparty: "홍길동", Account: "123-****-5678", Time: at(3, 5, 9, 58)},
		},
		{
			name: "Post office withdrawal", shape: "post",
			text: "[Web발신]\n우체국,03/05 09:58\n123-****-5678\n출금 2,000원\n잔액 108,000원\n가나상점",
			want: Transaction{Kind: Withdrawal, Bank: providers.BankPost, Amount: 2000, Balance: i64(108000),
				Counterparty: "가나상점", Account: "123-****-5678", Time: at(3, 5, 9, 58)},
		},
		{
			name: "KakaoBank push has no time: receive minute", shape: "kakaobank",
			text: "[카카오뱅크] 홍길동님이 3333-**-1234567 계좌로 10,000원을 입금했어요.",
			want: Transaction{Kind: Deposit, Bank: providers.BankKakao, Amount: 10000,
				Counterparty: "홍길동", Account: "3333-**-1234567", Time: at(3, 5, 10, 0), TimeFromReceipt: true},
		},
		{
			name: "Hana with year", shape: "hana",
			text: "[하나은행] 2024.12.31 23:59 입금 10,000원 홍길동 잔액 110,000원",
			want: Transaction{Kind: Deposit, Bank: providers.BankHana, Amount: 10000, Balance: i64(110000),
				Counterparty: "홍길동", Time: time.Date(2024, 12, 31, 23, 59, 0, 0, Seoul)},
		},
		{
			name: "Hana depositor named 하나", shape: "hana",
			text: "[하나은행] 2025.03.05 09:58 입금 10,000원 하나 잔액 110,000원",
			want: Transaction{Kind: Deposit, Bank: providers.BankHana, Amount: 10000, Balance: i64(110000),
				Counterparty: "하나", Time: at(3, 5, 9, 58)},
		},
		{
			name: "Hana withdrawal", shape: "hana",
			text: "[하나은행] 2025.03.05 09:58 출금 7,000원 가나상점 잔액 103,000원",
			want: Transaction{Kind: Withdrawal, Bank: providers.BankHana, Amount: 7000, Balance: i64(103000),
				Counterparty: "가나상점", Time: at(3, 5, 9, 58)},
		},
		{
			name: "Toss Bank push", shape: "tossbank",
			text: "50,000원 입금\n토스뱅크 | 홍길동\n잔액 1,915,204원",
			want: Transaction{Kind: Deposit, Bank: providers.BankToss, Amount: 50000, Balance: i64(1915204),
				Counterparty: "홍길동", Time: at(3, 5, 10, 0), TimeFromReceipt: true},
		},
		{
			name: "Toss Bank push with app-name line", shape: "tossbank",
			text: "토스뱅크\n30,000원 입금\n홍길동",
			want: Transaction{Kind: Deposit, Bank: providers.BankToss, Amount: 30000,
				Counterparty: "홍길동", Time: at(3, 5, 10, 0), TimeFromReceipt: true},
		},
		{
			name: "Woori deposit", shape: "woori",
			text: "[Web발신]\n우리 03/05 09:58\n*123456\n입금 10,000원\n홍길동\n잔액 110,000원",
			want: Transaction{Kind: Deposit, Bank: providers.BankWoori, Amount: 10000, Balance: i64(110000),
				Counterparty: "홍길동", Account: "*123456", Time: at(3, 5, 9, 58)},
		},
		{
			name: "Woori withdrawal", shape: "woori",
			text: "[Web발신]\n우리 03/05 09:58\n*123456\n출금 4,500원\n가나편의점역삼\n잔액 105,500원",
			want: Transaction{Kind: Withdrawal, Bank: providers.BankWoori, Amount: 4500, Balance: i64(105500),
				Counterparty: "가나편의점역삼", Account: "*123456", Time: at(3, 5, 9, 58)},
		},
		{
			name: "Woori on one line", shape: "woori",
			text: "[Web발신] 우리 03/05 09:58 *123456 입금 31,200원 가나상점환불 잔액 141,200원",
			want: Transaction{Kind: Deposit, Bank: providers.BankWoori, Amount: 31200, Balance: i64(141200),
				Counterparty: "가나상점환불", Account: "*123456", Time: at(3, 5, 9, 58)},
		},
		{
			name: "Woori without a balance line", shape: "woori",
			text: "[Web발신]\n우리 03/05 09:58\n*123456\n입금 1000원\n홍길동4821",
			want: Transaction{Kind: Deposit, Bank: providers.BankWoori, Amount: 1000,
				Counterparty: "홍길동4821", Account: "*123456", Time: at(3, 5, 9, 58)},
		},
		{
			name: "Woori depositor named 우리", shape: "woori",
			text: "[Web발신]\n우리 03/05 09:58\n*123456\n입금 10,000원\n우리\n잔액 110,000원",
			want: Transaction{Kind: Deposit, Bank: providers.BankWoori, Amount: 10000, Balance: i64(110000),
				Counterparty: "우리", Account: "*123456", Time: at(3, 5, 9, 58)},
		},
		{
			name: "IBK deposit", shape: "ibk",
			text: "[Web발신]\n2025/03/05 09:58\n입금 10,000원\n잔액 110,000원\n홍길동\n123***45678901\n기업",
			want: Transaction{Kind: Deposit, Bank: providers.BankIBK, Amount: 10000, Balance: i64(110000),
				Counterparty: "홍길동", Account: "123***45678901", Time: at(3, 5, 9, 58)},
		},
		{
			name: "IBK withdrawal", shape: "ibk",
			text: "[Web발신]\n2025/03/05 09:58\n출금 4,500원\n잔액 105,500원\n가나커피 역삼역\n123***45678901\n기업",
			want: Transaction{Kind: Withdrawal, Bank: providers.BankIBK, Amount: 4500, Balance: i64(105500),
				Counterparty: "가나커피 역삼역", Account: "123***45678901", Time: at(3, 5, 9, 58)},
		},
		{
			name: "IBK with date and time on two lines", shape: "ibk",
			text: "[Web발신]\n2024/12/31\n23:59\n입금 1원\n잔액 110,001원\n(주)가나상사\n123***45678901\n기업",
			want: Transaction{Kind: Deposit, Bank: providers.BankIBK, Amount: 1, Balance: i64(110001),
				Counterparty: "(주)가나상사", Account: "123***45678901", Time: time.Date(2024, 12, 31, 23, 59, 0, 0, Seoul)},
		},
		{
			name: "IBK behind [국제발신]", shape: "ibk",
			text: "[국제발신]\n[Web발신]\n2025/03/05 09:58\n입금 10,000원\n잔액 110,000원\n홍길동\n123***45678901\n기업",
			want: Transaction{Kind: Deposit, Bank: providers.BankIBK, Amount: 10000, Balance: i64(110000),
				Counterparty: "홍길동", Account: "123***45678901", Time: at(3, 5, 9, 58)},
		},
		{
			name: "IBK without a balance line", shape: "ibk",
			text: "2025/03/05 09:58\n입금 20,000원\n홍길동\n123***45678901\n기업",
			want: Transaction{Kind: Deposit, Bank: providers.BankIBK, Amount: 20000,
				Counterparty: "홍길동", Account: "123***45678901", Time: at(3, 5, 9, 58)},
		},
		{
			name: "Hana SMS deposit", shape: "hana-sms",
			text: "[Web발신]\n하나,03/05, 09:58\n123******45678\n입금10,000원\n홍길동\n잔액110,000원",
			want: Transaction{Kind: Deposit, Bank: providers.BankHana, Amount: 10000, Balance: i64(110000),
				Counterparty: "홍길동", Account: "123******45678", Time: at(3, 5, 9, 58)},
		},
		{
			name: "Hana SMS withdrawal, padded name, negative balance", shape: "hana-sms",
			text: "[Web발신]\n하나,03/05 09:58\n123******45678\n출금55,000원\n가나교통\u3000\u3000\u3000\u3000\n잔액-55,000원",
			want: Transaction{Kind: Withdrawal, Bank: providers.BankHana, Amount: 55000, Balance: i64(-55000),
				Counterparty: "가나교통", Account: "123******45678", Time: at(3, 5, 9, 58)},
		},
		{
			name: "Hana SMS with commas around the time, CRLF, no 원 after the balance", shape: "hana-sms",
			text: "[Web발신]\n하나,03/05,09:58\r\n123*****45678\r\n입금15,000원\r\n가나상점환불\r\n잔액80,090",
			want: Transaction{Kind: Deposit, Bank: providers.BankHana, Amount: 15000, Balance: i64(80090),
				Counterparty: "가나상점환불", Account: "123*****45678", Time: at(3, 5, 9, 58)},
		},
		{
			name: "Hana SMS with the name before the amount", shape: "hana-sms",
			text: "[국제발신]\n하나, 03/05 09:58\n123****45678\n홍길동\n입금 10,000원\n잔액 110,000원",
			want: Transaction{Kind: Deposit, Bank: providers.BankHana, Amount: 10000, Balance: i64(110000),
				Counterparty: "홍길동", Account: "123****45678", Time: at(3, 5, 9, 58)},
		},
		{
			name: "MG deposit", shape: "mg",
			text: "[Web발신]<새마을금고>123456**7 홍길동 입금10,000 잔액110,000원 03/05 09:58",
			want: Transaction{Kind: Deposit, Bank: providers.BankMG, Amount: 10000, Balance: i64(110000),
				Counterparty: "홍길동", Account: "123456**7", Time: at(3, 5, 9, 58)},
		},
		{
			name: "MG deposit, one field a line", shape: "mg",
			text: "[Web발신]\n<새마을금고>123456**7\n홍길동\n입금10,000원\n잔액110,000원\n03/05 09:58",
			want: Transaction{Kind: Deposit, Bank: providers.BankMG, Amount: 10000, Balance: i64(110000),
				Counterparty: "홍길동", Account: "123456**7", Time: at(3, 5, 9, 58)},
		},
		{
			name: "MG withdrawal", shape: "mg",
			text: "[Web발신]\n<새마을금고>123456**7\n가나관리비\n출금12,345\n잔액97,655원\n03/05 09:58",
			want: Transaction{Kind: Withdrawal, Bank: providers.BankMG, Amount: 12345, Balance: i64(97655),
				Counterparty: "가나관리비", Account: "123456**7", Time: at(3, 5, 9, 58)},
		},
		{
			name: "MG depositor whose name contains 입금", shape: "mg",
			text: "<새마을금고>123456**7 김입금 입금10,000 잔액110,000원 03/05 09:58",
			want: Transaction{Kind: Deposit, Bank: providers.BankMG, Amount: 10000, Balance: i64(110000),
				Counterparty: "김입금", Account: "123456**7", Time: at(3, 5, 9, 58)},
		},
		{
			name: "Busan deposit", shape: "busan",
			text: "[Web발신]\n부산03/05 09:58 123456789***0 홍길동 입금10,000 잔액110,000",
			want: Transaction{Kind: Deposit, Bank: providers.BankBusan, Amount: 10000, Balance: i64(110000),
				Counterparty: "홍길동", Account: "123456789***0", Time: at(3, 5, 9, 58)},
		},
		{
			name: "Busan withdrawal", shape: "busan",
			text: "[Web발신] 부산03/05 09:58 123456789***0 가나상점 출금4,500 잔액105,500",
			want: Transaction{Kind: Withdrawal, Bank: providers.BankBusan, Amount: 4500, Balance: i64(105500),
				Counterparty: "가나상점", Account: "123456789***0", Time: at(3, 5, 9, 58)},
		},
		{
			name: "Busan card settlement deposit", shape: "busan",
			text: "[Web발신] 부산03/05 09:58 123456789***0 NH12345678 입금1,098,093 잔액3,456,789",
			want: Transaction{Kind: Deposit, Bank: providers.BankBusan, Amount: 1098093, Balance: i64(3456789),
				Counterparty: "NH12345678", Account: "123456789***0", Time: at(3, 5, 9, 58)},
		},
		{
			name: "Busan without a balance", shape: "busan",
			text: "[Web발신]\n부산03/05 09:58 123456789***0 홍길동 입금8,000",
			want: Transaction{Kind: Deposit, Bank: providers.BankBusan, Amount: 8000,
				Counterparty: "홍길동", Account: "123456789***0", Time: at(3, 5, 9, 58)},
		},
		{
			name: "iM deposit", shape: "im",
			text: "iM뱅크 03/05 09:58\n12345*67890\n입금 1,000,000\n잔액 1,189,248\n토스홍길동",
			want: Transaction{Kind: Deposit, Bank: providers.BankDaegu, Amount: 1000000, Balance: i64(1189248),
				Counterparty: "토스홍길동", Account: "12345*67890", Time: at(3, 5, 9, 58)},
		},
		{
			name: "iM withdrawal", shape: "im",
			text: "iM뱅크 03/05 09:58 12345*67890 출금 55,000 잔액 1,134,248 가나관리비",
			want: Transaction{Kind: Withdrawal, Bank: providers.BankDaegu, Amount: 55000, Balance: i64(1134248),
				Counterparty: "가나관리비", Account: "12345*67890", Time: at(3, 5, 9, 58)},
		},
		{
			name: "full-width digits, zero-width spaces, CRLF and extra spaces", shape: "nh",
			text: "\u200b농협　입금１０，０００원\r\n03/05   09:58\t352-****-1234-56 홍\u200b길동 잔액１１０，０００원",
			want: Transaction{Kind: Deposit, Bank: providers.BankNH, Amount: 10000, Balance: i64(110000),
				Counterparty: "홍길동", Account: "352-****-1234-56", Time: at(3, 5, 9, 58)},
		},
		{
			name: "decomposed Hangul (NFD) is composed", shape: "nh",
			text: "\u1102\u1169\u11bc\u1112\u1167\u11b8 입금10,000원\n03/05 09:58 352-****-1234-56 홍길동 잔액110,000원",
			want: Transaction{Kind: Deposit, Bank: providers.BankNH, Amount: 10000, Balance: i64(110000),
				Counterparty: "홍길동", Account: "352-****-1234-56", Time: at(3, 5, 9, 58)},
		},
		{
			name: "depositor 이승인 is not a card approval", shape: "nh",
			text: "농협 입금10,000원\n03/05 09:58 352-****-1234-56 이승인 잔액110,000원",
			want: Transaction{Kind: Deposit, Bank: providers.BankNH, Amount: 10000, Balance: i64(110000),
				Counterparty: "이승인", Account: "352-****-1234-56", Time: at(3, 5, 9, 58)},
		},
		{
			name: "same amount repeated in the residual is not ambiguous", shape: "nh",
			text: "농협 입금10,000원\n03/05 09:58 352-****-1234-56 홍길동 10,000원 잔액110,000원",
			want: Transaction{Kind: Deposit, Bank: providers.BankNH, Amount: 10000, Balance: i64(110000),
				Counterparty: "홍길동 10,000원", Account: "352-****-1234-56", Time: at(3, 5, 9, 58)},
		},
		{
			name: "negative balance (overdraft account)", shape: "shinhyup",
			text: "신협123-***-4567 03/05 09:58 출금 1,000원 가나상점 잔액-9,000원",
			want: Transaction{Kind: Withdrawal, Bank: providers.BankShinhyup, Amount: 1000, Balance: i64(-9000),
				Counterparty: "가나상점", Account: "123-***-4567", Time: at(3, 5, 9, 58)},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := Parse(tt.text, received)
			if r.Status != StatusTransaction || r.Transaction == nil {
				t.Fatalf("Parse(%q) = %+v, want a transaction", tt.text, r)
			}
			if r.Shape != tt.shape {
				t.Errorf("Shape = %q, want %q", r.Shape, tt.shape)
			}
			assertTx(t, *r.Transaction, tt.want)
		})
	}
}

func assertTx(t *testing.T, got, want Transaction) {
	t.Helper()
	if (got.Balance == nil) != (want.Balance == nil) || (got.Balance != nil && *got.Balance != *want.Balance) {
		t.Errorf("Balance = %v, want %v", fmtBal(got.Balance), fmtBal(want.Balance))
	}
	if !got.Time.Equal(want.Time) {
		t.Errorf("Time = %v, want %v", got.Time, want.Time)
	}
	if got.Time.Location() != Seoul && !got.Time.IsZero() {
		t.Errorf("Time location = %v, want Asia/Seoul", got.Time.Location())
	}
	got.Balance, want.Balance, got.Time, want.Time = nil, nil, time.Time{}, time.Time{}
	if got != want {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
}

func fmtBal(b *int64) any {
	if b == nil {
		return "nil"
	}
	return *b
}

func TestParseNotTransactions(t *testing.T) {
	tests := []struct {
		name   string
		text   string
		status Status
		reason Reason
	}{
		{"card approval 승인/일시불/누적", "[Web발신]\n삼성1234승인 홍*동\n39,000원 일시불\n03/05 20:16 가나상점\n누적1,234,567원", StatusIgnored, ReasonCardApproval},
		{"card approval with 카드 and 승인", "[Web발신]\n신한카드(1234)승인 홍*동 1,350원(일시불)03/05 23:30 가나상점 누적611,640원", StatusIgnored, ReasonCardApproval},
		{"check card approval", "[Web발신]\n삼성체크1234승인 홍*동\n4,730원\n03/05 21:09\n가나마트", StatusIgnored, ReasonCardApproval},
		{"card cancellation", "[Web발신]\n신한카드(1234)승인취소 홍*동 150,000원 03/05 14:47 가나상점", StatusIgnored, ReasonCardApproval},
		{"Toss check-card payment", "1,417원 결제\n토스뱅크 체크카드 | 가나상점\n잔액 1,865,204원", StatusIgnored, ReasonCardApproval},
		{"advertisement", "(광고)[KB국민은행] 봄맞이 적금 이벤트 안내 입금 10,000원 시 경품 무료수신거부 080-000-0000", StatusIgnored, ReasonAdvertisement},
		{"advertisement in brackets", "[광고] 농협 입금10,000원 이벤트", StatusIgnored, ReasonAdvertisement},
		{"scheduled deposit notice", "[Web발신]\n03/06 급여 입금예정 금액 2,500,000원", StatusIgnored, ReasonScheduled},
		{"scheduled deposit notice with space", "농협 03/06 입금 예정 10,000원", StatusIgnored, ReasonScheduled},

		{"two different amounts", "농협 입금10,000원\n03/05 09:58 352-****-1234-56 홍길동 입금20,000원 잔액110,000원", StatusUnparsed, ReasonAmbiguousAmount},
		{"KB StarBanking amounts disagree", "KB스타뱅킹\n입금 10,000원\n가*다님 03/05 09:58 123456**789\n홍길동 FBS입금 20,000 잔액110,000", StatusUnparsed, ReasonAmbiguousAmount},
		{"KB StarBanking kinds disagree", "KB스타뱅킹\n입금 10,000원\n가*다님 03/05 09:58 123456**789\n홍길동 FBS출금 10,000 잔액110,000", StatusUnparsed, ReasonAmbiguousAmount},
		{"zero amount", "농협 입금0원\n03/05 09:58 352-****-1234-56 홍길동 잔액110,000원", StatusUnparsed, ReasonAbsurdAmount},
		{"20-digit amount", "농협 입금12345678901234567890원\n03/05 09:58 352-****-1234-56 홍길동 잔액110,000원", StatusUnparsed, ReasonAbsurdAmount},
		{"20-digit balance", "농협 입금10,000원\n03/05 09:58 352-****-1234-56 홍길동 잔액12345678901234567890원", StatusUnparsed, ReasonAbsurdAmount},
		{"misplaced commas", "농협 입금1,00,00원\n03/05 09:58 352-****-1234-56 홍길동 잔액110,000원", StatusUnparsed, ReasonUnknownFormat},
		{"KakaoBank zero", "[카카오뱅크] 홍길동님이 3333-**-1234567 계좌로 0원을 입금했어요.", StatusUnparsed, ReasonAbsurdAmount},
		{"bad date", "농협 입금10,000원\n02/30 09:58 352-****-1234-56 홍길동 잔액110,000원", StatusUnparsed, ReasonBadDate},
		{"bad time", "농협 입금10,000원\n03/05 25:58 352-****-1234-56 홍길동 잔액110,000원", StatusUnparsed, ReasonBadDate},
		{"known bank, unknown shape", "농협 입금10,000원 홍길동", StatusUnparsed, ReasonUnknownFormat},
		{"KB header, unknown shape", "[KB]03/05 09:58 뭔가 다른 문자", StatusUnparsed, ReasonUnknownFormat},
		{"unknown bank", "[가나은행] 입금 10,000원 홍길동", StatusUnparsed, ReasonUnknownFormat},
		{"Toss-like without 토스뱅크", "50,000원 입금\n홍길동", StatusUnparsed, ReasonUnknownFormat},
		{"Woori card approval", "[Web발신]\n우리(1234)승인\n홍*동님\n3,000원 일시불\n03/05 11:47\n가나상점\n누적1,234,567원", StatusIgnored, ReasonCardApproval},
		{"Woori with a second amount in the name", "[Web발신]\n우리 03/05 09:58\n*123456\n입금 10,000원\n홍길동 입금20,000원\n잔액 110,000원", StatusUnparsed, ReasonAmbiguousAmount},
		{"Woori text after the balance", "[Web발신]\n우리 03/05 09:58\n*123456\n입금 10,000원\n홍길동\n잔액 110,000원\n우리WON뱅킹", StatusUnparsed, ReasonAmbiguousAmount},
		{"Woori header, unknown shape", "우리 03/05 09:58 뭔가 다른 문자", StatusUnparsed, ReasonUnknownFormat},
		{"IBK bad date", "[Web발신]\n2025/02/30 09:58\n입금 10,000원\n잔액 110,000원\n홍길동\n123***45678901\n기업", StatusUnparsed, ReasonBadDate},
		{"IBK-like text that names no bank", "[Web발신]\n2025/03/05 09:58\n입금 10,000원\n잔액 110,000원\n홍길동", StatusUnparsed, ReasonUnknownFormat},
		{"IBK zero amount", "[Web발신]\n2025/03/05 09:58\n입금 0원\n잔액 110,000원\n홍길동\n123***45678901\n기업", StatusUnparsed, ReasonAbsurdAmount},
		{"Hana SMS without a balance", "[Web발신]\n하나,03/05, 09:58\n123******45678\n입금10,000원\n홍길동", StatusUnparsed, ReasonUnknownFormat},
		{"MG without the time", "[Web발신]<새마을금고>123456**7 홍길동 입금10,000 잔액110,000원", StatusUnparsed, ReasonUnknownFormat},
		{"Busan bad time", "[Web발신] 부산03/05 24:58 123456789***0 홍길동 입금10,000 잔액110,000", StatusUnparsed, ReasonBadDate},
		{"iM misplaced commas", "iM뱅크 03/05 09:58 12345*67890 입금 1,00,000 잔액 1,189,248 홍길동", StatusUnparsed, ReasonUnknownFormat},
		{"empty", "", StatusUnparsed, ReasonEmpty},
		{"only spaces and zero-width", " \u200b\n\t\ufeff ", StatusUnparsed, ReasonEmpty},
		{"only envelope", "[Web발신]\n", StatusUnparsed, ReasonEmpty},
		{"too long", strings.Repeat("농협 입금10,000원 ", 200), StatusUnparsed, ReasonTooLong},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := Parse(tt.text, received)
			if r.Status != tt.status || r.Reason != tt.reason {
				t.Fatalf("Parse(%q) = %+v, want %s / %q", tt.text, r, tt.status, tt.reason)
			}
			if r.Transaction != nil {
				t.Fatalf("Parse(%q) returned a transaction with status %s", tt.text, r.Status)
			}
		})
	}
}

func TestParseNeedsReceivedAtForYearlessAlerts(t *testing.T) {
	r := Parse("농협 입금10,000원\n03/05 09:58 352-****-1234-56 홍길동 잔액110,000원", time.Time{})
	if r.Status != StatusUnparsed || r.Reason != ReasonNoReceivedAt {
		t.Fatalf("got %+v, want unparsed for want of receivedAt", r)
	}
	// The Hana alert carries its year.
	r = Parse("[하나은행] 2025.03.05 09:58 입금 10,000원 홍길동 잔액 110,000원", time.Time{})
	if r.Status != StatusTransaction {
		t.Fatalf("got %+v, want a transaction", r)
	}
	// So does the IBK alert.
	r = Parse("[Web발신]\n2025/03/05 09:58\n입금 10,000원\n잔액 110,000원\n홍길동\n123***45678901\n기업", time.Time{})
	if r.Status != StatusTransaction {
		t.Fatalf("got %+v, want a transaction", r)
	}
	// The Woori alert does not.
	r = Parse("[Web발신]\n우리 03/05 09:58\n*123456\n입금 10,000원\n홍길동\n잔액 110,000원", time.Time{})
	if r.Status != StatusUnparsed || r.Reason != ReasonNoReceivedAt {
		t.Fatalf("got %+v, want unparsed for want of receivedAt", r)
	}
}

// A text that starts like a known bank's alert but does not match its shape
// says which shape it looked like, so a human sees which bank changed its
// template.
func TestParseRecognisedHeaderNamesTheShape(t *testing.T) {
	tests := []struct{ text, shape string }{
		{"우리 03/05 09:58 뭔가 다른 문자", "woori"},
		{"2025/03/05 09:58 입금 10,000원 뭔가 다른 문자 기업", "ibk"},
		{"하나,03/05 09:58 뭔가 다른 문자", "hana-sms"},
		{"<새마을금고>뭔가 다른 문자", "mg"},
		{"부산03/05 09:58 뭔가 다른 문자", "busan"},
		{"iM뱅크 03/05 09:58 뭔가 다른 문자", "im"},
	}
	for _, tt := range tests {
		r := Parse(tt.text, received)
		if r.Status != StatusUnparsed || r.Reason != ReasonUnknownFormat || r.Shape != tt.shape {
			t.Errorf("Parse(%q) = %+v, want unparsed as shape %q", tt.text, r, tt.shape)
		}
	}
}

func TestParseYearAcrossNewYear(t *testing.T) {
	const msg = "농협 입금10,000원\n%s 352-****-1234-56 홍길동 잔액110,000원"
	tests := []struct {
		name     string
		when     string
		received time.Time
		want     time.Time
	}{
		{"New Year's Eve alert received after midnight", "12/31 23:59",
			time.Date(2025, 1, 1, 0, 0, 30, 0, Seoul), time.Date(2024, 12, 31, 23, 59, 0, 0, Seoul)},
		{"late forward of a December alert", "12/30 10:00",
			time.Date(2025, 1, 2, 9, 0, 0, 0, Seoul), time.Date(2024, 12, 30, 10, 0, 0, 0, Seoul)},
		{"New Year alert, phone clock slow", "01/01 00:00",
			time.Date(2024, 12, 31, 23, 59, 50, 0, Seoul), time.Date(2025, 1, 1, 0, 0, 0, 0, Seoul)},
		{"ordinary", "06/15 12:00",
			time.Date(2025, 6, 15, 12, 0, 5, 0, Seoul), time.Date(2025, 6, 15, 12, 0, 0, 0, Seoul)},
		{"receivedAt in UTC is read in Seoul", "01/01 08:30",
			time.Date(2024, 12, 31, 23, 30, 0, 0, time.UTC), time.Date(2025, 1, 1, 8, 30, 0, 0, Seoul)},
		{"02/29 takes the leap year", "02/29 10:00",
			time.Date(2025, 1, 10, 0, 0, 0, 0, Seoul), time.Date(2024, 2, 29, 10, 0, 0, 0, Seoul)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			text := strings.Replace(msg, "%s", tt.when, 1)
			r := Parse(text, tt.received)
			if r.Transaction == nil {
				t.Fatalf("Parse = %+v", r)
			}
			if !r.Transaction.Time.Equal(tt.want) {
				t.Errorf("Time = %v, want %v", r.Transaction.Time, tt.want)
			}
		})
	}
}

func TestParseHostileInputIsFast(t *testing.T) {
	inputs := []string{
		strings.Repeat("농협 입금1", MaxMessageBytes/len("농협 입금1")),
		"농협 입금10,000원 03/05 09:58 " + strings.Repeat("*-", 900) + " 잔액",
		"KB스타뱅킹 " + strings.Repeat("입금 1원 ", 200),
		"우리 03/05 09:58 *1 입금 1원 " + strings.Repeat("잔액 1원 ", 200),
		"2025/03/05 09:58 입금 1원 " + strings.Repeat("1*1 ", 400) + "기업",
		"하나,03/05 09:58 1*1 " + strings.Repeat("입금1원 ", 200),
		"<새마을금고>1*1 " + strings.Repeat("입금1 잔액1원 ", 120),
		strings.Repeat("1,", 1000),
	}
	for _, in := range inputs {
		in = in[:min(len(in), MaxMessageBytes)]
		start := time.Now()
		_ = Parse(in, received)
		if d := time.Since(start); d > 200*time.Millisecond {
			t.Errorf("Parse took %v on a %d-byte input", d, len(in))
		}
	}
}
