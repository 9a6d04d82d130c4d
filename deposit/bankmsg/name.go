package bankmsg

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"
	"time"
	"unicode"

	"golang.org/x/text/unicode/norm"
	"golang.org/x/text/width"
)

// NormalizeName turns a depositor or billing name into the form names are
// compared in:
//
//  1. Unicode NFC, full-width forms folded to their ordinary width; all
//     whitespace, format characters (zero-width spaces), punctuation and
//     symbols removed: only letters, digits and combining marks remain.
//  2. Latin letters upper-cased ("Karimov Aziz" → "KARIMOVAZIZ").
//  3. The honorific 님 dropped from the end ("홍길동님" → "홍길동").
//  4. Company forms 주식회사, (주) and ㈜ removed ("(주)가나상사" → "가나상사").
//
// The result is for comparison only; keep the original for display. It is
// deterministic and idempotent: NormalizeName(NormalizeName(s)) ==
// NormalizeName(s).
func NormalizeName(s string) string {
	// A pass can expose a new company form or 님 ("주식주식회사회사",
	// "홍님-님"), so passes repeat until nothing changes. Each pass that
	// changes anything removes at least one rune, after the first.
	for i := 0; i < 64; i++ {
		n := normalizeOnce(s)
		if n == s {
			break
		}
		s = n
	}
	return s
}

var companyForms = strings.NewReplacer("주식회사", "", "(주)", "", "㈜", "")

func normalizeOnce(s string) string {
	s = strings.ToValidUTF8(s, "")
	s = width.Fold.String(norm.NFC.String(s))
	s = strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) || unicode.Is(unicode.Cf, r) {
			return -1
		}
		return r
	}, s)
	s = companyForms.Replace(s) // before punctuation goes, so "(주)" is still whole
	s = strings.Map(func(r rune) rune {
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r):
			if r < utf8RuneSelf && 'a' <= r && r <= 'z' {
				return r - 'a' + 'A'
			}
			if r >= utf8RuneSelf && unicode.Is(unicode.Latin, r) {
				if u := unicode.ToUpper(r); unicode.Is(unicode.Latin, u) {
					return u
				}
			}
			return r
		default:
			return -1
		}
	}, s)
	s = companyForms.Replace(s)
	for {
		t, ok := strings.CutSuffix(s, "님")
		if !ok {
			break
		}
		s = t
	}
	return norm.NFC.String(s)
}

const utf8RuneSelf = 0x80

// Key is the de-duplication key of a transaction on the merchant account
// account (however the caller names it: an id, or the full account number).
// The same deposit often arrives twice (an SMS and the app push for it, or an
// overlapping statement import); both produce the same key.
//
// The key covers (account, kind, amount, balance, minute, normalised name).
// The balance after the transaction is what separates two genuine identical
// deposits (same person, same amount, same minute). Without a balance (the
// KakaoBank and Toss pushes, some statement layouts) two identical deposits
// in one minute collide: the caller must keep its own source id (SMS id,
// notification key, statement row) and not treat a key collision as proof of
// a duplicate. Alerts that carry no time (TimeFromReceipt) are keyed by their
// receive minute, so they do not collide with the SMS for the same deposit.
//
// The key is an opaque hash ("bm1:" and 64 hex digits), because depositor
// names and account numbers are personal data and keys end up in logs and
// indexes.
func Key(t Transaction, account string) string {
	var b strings.Builder
	field := func(s string) {
		b.WriteString(strconv.Itoa(len(s)))
		b.WriteByte(':')
		b.WriteString(s)
		b.WriteByte(';')
	}
	field(account)
	field(string(t.Kind))
	field(strconv.FormatInt(t.Amount, 10))
	if t.Balance != nil {
		field(strconv.FormatInt(*t.Balance, 10))
	} else {
		field("-")
	}
	field(t.Time.In(Seoul).Truncate(time.Minute).Format("2006-01-02T15:04"))
	field(NormalizeName(t.Counterparty))
	sum := sha256.Sum256([]byte(b.String()))
	return "bm1:" + hex.EncodeToString(sum[:])
}
