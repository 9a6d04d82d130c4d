package redact

import "strings"

// Redacted replaces secrets.
const Redacted = "[REDACTED]"

// MaskCard masks a value found under a card-number key.
//
// With spaces and dashes removed, a value of 13 to 19 characters that are all
// digits or '*' becomes its first 6 and last 4 positions with '*' between
// ("9410-0000-0000-0005" → "941000******0005"; an already masked
// "941000******0005" stays as it is). Any other value has every digit
// replaced by '*'. The empty string stays empty.
func MaskCard(s string) string {
	var buf [19]byte
	d := buf[:0]
	ok := true
	for i := 0; i < len(s) && ok; i++ {
		switch c := s[i]; {
		case c == ' ' || c == '-':
		case isDigit(c) || c == '*':
			if len(d) == cap(d) {
				ok = false
				break
			}
			d = append(d, c)
		default:
			ok = false
		}
	}
	if ok && len(d) >= 13 {
		for i := 6; i < len(d)-4; i++ {
			d[i] = '*'
		}
		return string(d)
	}
	return maskAllDigits(s)
}

// MaskIdentity masks an identity or account number: a phone number,
// business registration number, birth date, cash-receipt identity or bank
// account number.
//
// The positions that hold a digit or '*' are counted. With 10 or more such
// positions the first 3 and last 4 are kept and the others become '*'
// ("01012345678" → "010****5678", "010-1234-5678" → "010-****-5678",
// "1234567890" → "123***7890"); with fewer, every digit becomes '*'
// ("900101" → "******"). Other characters are kept. Masking a masked value
// changes nothing.
func MaskIdentity(s string) string {
	n := 0
	for i := 0; i < len(s); i++ {
		if isDigit(s[i]) || s[i] == '*' {
			n++
		}
	}
	if n < 10 {
		return maskAllDigits(s)
	}
	b := []byte(s)
	pos := 0
	changed := false
	for i, c := range b {
		if !isDigit(c) && c != '*' {
			continue
		}
		if pos >= 3 && pos < n-4 && c != '*' {
			b[i] = '*'
			changed = true
		}
		pos++
	}
	if !changed {
		return s
	}
	return string(b)
}

// maskAllDigits replaces every ASCII digit with '*'.
func maskAllDigits(s string) string {
	i := strings.IndexFunc(s, func(r rune) bool { return r >= '0' && r <= '9' })
	if i < 0 {
		return s
	}
	b := []byte(s)
	for ; i < len(b); i++ {
		if isDigit(b[i]) {
			b[i] = '*'
		}
	}
	return string(b)
}

// authSchemes are the Authorization schemes whose name maskAuth keeps.
var authSchemes = map[string]bool{
	"basic": true, "bearer": true, "digest": true, "token": true, "negotiate": true,
	"ntlm": true, "dpop": true, "hoba": true, "mutual": true, "vapid": true,
	"aws4-hmac-sha256": true, "scram-sha-1": true, "scram-sha-256": true,
}

// maskAuth redacts an Authorization-like value, keeping a known scheme
// name and the separator after it (a space, or '+' in a URL-encoded value):
// "Basic Y2s6c2s=" → "Basic [REDACTED]", "sk_live_x" → "[REDACTED]".
func maskAuth(s string) string {
	if s == "" {
		return ""
	}
	i := strings.IndexAny(s, " +")
	if i > 0 && authSchemes[strings.ToLower(s[:i])] && strings.Trim(s[i:], " +") != "" {
		return s[:i+1] + Redacted
	}
	return Redacted
}

// maskClass applies the key rule of c to a string value, and then the value
// rules (Text) to what a key rule leaves readable. The result is a fixed
// point: masking it again changes nothing.
func maskClass(c class, s string) string {
	switch c {
	case classSecret:
		if s == "" {
			return ""
		}
		return Redacted
	case classAuth:
		return maskAuth(s)
	case classNone:
		return textString(s)
	case classText:
		return MaskDigitRuns(textString(s))
	}
	for range 4 {
		n := textString(s)
		switch c {
		case classCard:
			n = MaskCard(n)
		case classIdentity:
			n = MaskIdentity(n)
		case classResident:
			n = maskAllDigits(n)
		}
		if n == s {
			break
		}
		s = n
	}
	return s
}

func isDigit(c byte) bool  { return '0' <= c && c <= '9' }
func isLetter(c byte) bool { return 'a' <= c|0x20 && c|0x20 <= 'z' }
func isAlnum(c byte) bool  { return isDigit(c) || isLetter(c) }

// MaskDigitRuns masks account, phone and identity numbers inside free text
// (a bank alert): every run of digits, '-' and '*' holding 6 or more digits
// keeps its last 4 digits, the others become '*' ("352-1234-5678-90" →
// "***-****-**78-90"). Amounts (commas), dates and times (slashes, colons,
// dots) have shorter runs and stay. Masking twice changes nothing more.
func MaskDigitRuns(s string) string {
	var b []byte
	for i := 0; i < len(s); {
		if !isDigit(s[i]) && s[i] != '*' {
			i++
			continue
		}
		j, digits := i, 0
		for j < len(s) && (isDigit(s[j]) || s[j] == '*' || s[j] == '-') {
			if isDigit(s[j]) {
				digits++
			}
			j++
		}
		if digits >= 6 {
			if b == nil {
				b = []byte(s)
			}
			keep := 4
			for k := j - 1; k >= i; k-- {
				if isDigit(b[k]) {
					if keep > 0 {
						keep--
					} else {
						b[k] = '*'
					}
				}
			}
		}
		i = j
	}
	if b == nil {
		return s
	}
	return string(b)
}
