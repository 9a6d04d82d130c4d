package redact

import (
	"bytes"
	"encoding/base64"
)

// Text applies the value rules to free text (a non-JSON body, a query
// string, a log line). It returns s itself when nothing is masked.
//
// The rules, in order:
//
//  1. Resident registration numbers written YYMMDD-NNNNNNN (valid month and
//     day, 7th digit 1-8): the 7 back digits become '*'.
//  2. Card numbers: 13 to 19 digits, contiguous or in groups separated by a
//     single space, dash, '+', "%20" or "%2B", that pass the Luhn check, wherever
//     they are: all but the first 6 and last 4 digits become '*'
//     ("9410000000000005" → "941000******0005", "9410 0000 0000 0005" →
//     "9410 00** **** 0005"). A contiguous run of more than 19 digits is not a
//     card number and is kept.
//  3. Credentials: "Basic <token>" and "Bearer <token>" (any case, after a
//     space, '+' or "%20") become "Basic [REDACTED]". A Basic token made only
//     of letters is masked only if it decodes as base64 to "user:password",
//     so that prose ("Basic plan") survives.
//  4. paymux secrets: "sk_test_", "sk_live_", "whsec_" followed by token
//     characters, and "pma_", "at_" (at a word start) followed by 8 or more
//     token characters: the prefix is kept, the rest becomes "[REDACTED]".
//  5. Key/value pairs: a sensitive key (see the package doc) followed by '='
//     ("cvc=123", query strings, form bodies), or a quoted or line-leading
//     key followed by ':' ("\"cvc\": \"123\"", "Authorization: ..."): its
//     value is masked by the key rule. This catches JSON fragments that are
//     not valid JSON (truncated bodies, JSON escaped inside text).
//
// The passes repeat until nothing changes (at most 4), so Text(Text(s)) ==
// Text(s).
func Text(s []byte) []byte {
	for range 4 {
		n := textPass(s)
		if same(n, s) || bytes.Equal(n, s) {
			return s
		}
		s = n
	}
	return s
}

// same reports whether a and b are the same slice (not just equal bytes).
func same(a, b []byte) bool {
	return len(a) == len(b) && (len(a) == 0 || &a[0] == &b[0])
}

// String is Text for a string.
func String(s string) string { return textString(s) }

func textString(s string) string {
	if s == "" {
		return s
	}
	b := []byte(s)
	r := Text(b)
	if same(r, b) {
		return s
	}
	return string(r)
}

func textPass(s []byte) []byte {
	s = maskResident(s)
	s = maskCards(s)
	s = maskCredentials(s)
	s = maskPrefixes(s)
	s = maskPairs(s)
	return s
}

// editor builds a copy of src with some spans replaced, copying nothing
// until the first replacement.
type editor struct {
	src  []byte
	out  []byte
	last int
	done bool
}

func (e *editor) replace(start, end int, with []byte) {
	if !e.done {
		e.out = make([]byte, 0, len(e.src)+16)
		e.done = true
	}
	e.out = append(e.out, e.src[e.last:start]...)
	e.out = append(e.out, with...)
	e.last = end
}

func (e *editor) replaceString(start, end int, with string) {
	if !e.done {
		e.out = make([]byte, 0, len(e.src)+16)
		e.done = true
	}
	e.out = append(e.out, e.src[e.last:start]...)
	e.out = append(e.out, with...)
	e.last = end
}

func (e *editor) result() []byte {
	if !e.done {
		return e.src
	}
	return append(e.out, e.src[e.last:]...)
}

// --- 1. resident registration numbers ---

func maskResident(s []byte) []byte {
	e := editor{src: s}
	for k := 6; k+8 <= len(s); k++ {
		if s[k] != '-' {
			continue
		}
		if k > 6 && isDigit(s[k-7]) || k+8 < len(s) && isDigit(s[k+8]) {
			continue
		}
		if !allDigits(s[k-6:k]) || !allDigits(s[k+1:k+8]) || s[k+1] < '1' || s[k+1] > '8' {
			continue
		}
		mm := int(s[k-4]-'0')*10 + int(s[k-3]-'0')
		dd := int(s[k-2]-'0')*10 + int(s[k-1]-'0')
		if mm < 1 || mm > 12 || dd < 1 || dd > 31 {
			continue
		}
		e.replaceString(k+1, k+8, "*******")
		k += 7
	}
	return e.result()
}

func allDigits(b []byte) bool {
	for _, c := range b {
		if !isDigit(c) {
			return false
		}
	}
	return true
}

// --- 2. card numbers ---

// sepLen is the length of a digit-group separator at s[i:] (0: none).
func sepLen(s []byte, i int) int {
	if i >= len(s) {
		return 0
	}
	switch s[i] {
	case ' ', '-', '+':
		return 1
	case '%': // "%20" (space) or "%2B" ('+'), as in a URL-encoded query
		if i+2 < len(s) && s[i+1] == '2' && (s[i+2] == '0' || s[i+2]|0x20 == 'b') {
			return 3
		}
	}
	return 0
}

type span struct{ start, end int } // a run of digits, s[start:end]

func maskCards(s []byte) []byte {
	// Quick exit: fewer than 13 digits in all.
	n := 0
	for _, c := range s {
		if isDigit(c) {
			n++
		}
	}
	if n < 13 {
		return s
	}
	e := editor{src: s}
	var groups []span
	var hide []bool
	i := 0
	for i < len(s) {
		if !isDigit(s[i]) {
			i++
			continue
		}
		// A sequence of digit groups joined by single separators.
		groups = groups[:0]
		j := i
		for {
			k := j
			for k < len(s) && isDigit(s[k]) {
				k++
			}
			if j == i && i > 0 && s[i-1] == '%' && k-i > 2 {
				// "%22" + digits (a URL-encoded quote, or "%20" before a
				// number): the first two digits may belong to the escape,
				// so they form a group of their own, and runs with and
				// without them are both checked.
				groups = append(groups, span{j, j + 2})
				j += 2
			}
			groups = append(groups, span{j, k})
			if l := sepLen(s, k); l > 0 && k+l < len(s) && isDigit(s[k+l]) {
				j = k + l
				continue
			}
			j = k
			break
		}
		// Every run of consecutive groups with 13 to 19 digits in all that
		// passes Luhn gets its middle digits hidden. Runs may overlap: each
		// one's middle stays hidden.
		hide = hide[:0]
		for a := range groups {
			total := 0
			for b := a; b < len(groups); b++ {
				total += groups[b].end - groups[b].start
				if total > 19 {
					break
				}
				if total < 13 || !luhnGroups(s, groups[a:b+1]) {
					continue
				}
				if hide == nil || len(hide) == 0 {
					hide = append(hide[:0], make([]bool, j-i)...)
				}
				idx := 0
				for _, g := range groups[a : b+1] {
					for p := g.start; p < g.end; p++ {
						if idx >= 6 && idx < total-4 {
							hide[p-i] = true
						}
						idx++
					}
				}
			}
		}
		if len(hide) > 0 {
			seq := make([]byte, j-i)
			copy(seq, s[i:j])
			for p, h := range hide {
				if h {
					seq[p] = '*'
				}
			}
			e.replace(i, j, seq)
		}
		i = j
	}
	return e.result()
}

func luhnGroups(s []byte, groups []span) bool {
	sum, double := 0, false
	for g := len(groups) - 1; g >= 0; g-- {
		for p := groups[g].end - 1; p >= groups[g].start; p-- {
			d := int(s[p] - '0')
			if double {
				d *= 2
				if d > 9 {
					d -= 9
				}
			}
			sum += d
			double = !double
		}
	}
	return sum%10 == 0
}

// luhn reports whether the digit string d passes the Luhn check.
func luhn(d []byte) bool { return luhnGroups(d, []span{{0, len(d)}}) }

// --- 3. Basic / Bearer credentials ---

func isTokenChar(c byte) bool {
	return isAlnum(c) || c == '-' || c == '.' || c == '_' || c == '~' || c == '+' || c == '/' || c == '=' || c == '%'
}

func maskCredentials(s []byte) []byte {
	e := editor{src: s}
	for i := 0; i+6 < len(s); i++ {
		c := s[i] | 0x20
		if c != 'b' || i > 0 && isAlnum(s[i-1]) {
			continue
		}
		var word int
		switch {
		case hasFoldPrefix(s[i:], "bearer"):
			word = 6
		case hasFoldPrefix(s[i:], "basic"):
			word = 5
		default:
			continue
		}
		p := i + word
		gap := p
		for gap < len(s) {
			if s[gap] == ' ' || s[gap] == '\t' || s[gap] == '+' {
				gap++
			} else if gap+2 < len(s) && s[gap] == '%' && s[gap+1] == '2' && s[gap+2] == '0' {
				gap += 3
			} else {
				break
			}
		}
		if gap == p {
			continue
		}
		t := gap
		for t < len(s) && isTokenChar(s[t]) {
			t++
		}
		if t == gap {
			continue
		}
		if word == 5 && !looksLikeBasic(s[gap:t]) {
			i = t - 1
			continue
		}
		e.replaceString(gap, t, Redacted)
		i = t - 1
	}
	return e.result()
}

func hasFoldPrefix(s []byte, lower string) bool {
	if len(s) < len(lower) {
		return false
	}
	for i := 0; i < len(lower); i++ {
		if s[i]|0x20 != lower[i] {
			return false
		}
	}
	return true
}

// looksLikeBasic reports whether tok is plausibly base64(user:password):
// anything but letters, or letters that decode to something with a colon.
func looksLikeBasic(tok []byte) bool {
	for _, c := range tok {
		if !isLetter(c) {
			return true
		}
	}
	if len(tok) > 1024 {
		return true
	}
	buf := make([]byte, base64.RawStdEncoding.DecodedLen(len(tok)))
	n, err := base64.RawStdEncoding.Decode(buf, tok)
	if err != nil {
		// A length that is not a base64 length: try without the tail.
		n, _ = base64.RawStdEncoding.Decode(buf, tok[:len(tok)/4*4])
	}
	return bytes.IndexByte(buf[:n], ':') >= 0
}

// --- 4. paymux secret prefixes ---

var secretPrefixes = []struct {
	prefix   string
	boundary bool // must start a word
	min      int  // token characters needed after the prefix
}{
	{"sk_test_", false, 1},
	{"sk_live_", false, 1},
	{"whsec_", false, 1},
	{"pma_", true, 8},
	{"at_", true, 8},
}

func isSecretChar(c byte) bool {
	return isAlnum(c) || c == '+' || c == '/' || c == '=' || c == '.' || c == '_' || c == '-'
}

func maskPrefixes(s []byte) []byte {
	if bytes.IndexByte(s, '_') < 0 {
		return s
	}
	type hit struct{ start, end int }
	var hits []hit
	for _, sp := range secretPrefixes {
		from := 0
		for {
			k := bytes.Index(s[from:], []byte(sp.prefix))
			if k < 0 {
				break
			}
			k += from
			from = k + 1
			if sp.boundary && k > 0 && (isAlnum(s[k-1]) || s[k-1] == '_') {
				continue
			}
			t := k + len(sp.prefix)
			for t < len(s) && isSecretChar(s[t]) {
				t++
			}
			if t-(k+len(sp.prefix)) < sp.min {
				continue
			}
			hits = append(hits, hit{k + len(sp.prefix), t})
			from = t
		}
	}
	if len(hits) == 0 {
		return s
	}
	// Merge overlapping hits ("sk_test_at_...") in order.
	for i := 1; i < len(hits); i++ {
		for j := i; j > 0 && hits[j].start < hits[j-1].start; j-- {
			hits[j], hits[j-1] = hits[j-1], hits[j]
		}
	}
	e := editor{src: s}
	end := 0
	for _, h := range hits {
		if h.start < end {
			continue // inside a token already masked
		}
		e.replaceString(h.start, h.end, Redacted)
		end = h.end
	}
	return e.result()
}

// --- 5. key/value pairs ---

func isKeyChar(c byte) bool {
	return isAlnum(c) || c == '_' || c == '-' || c == '.' || c == '[' || c == ']'
}

func maskPairs(s []byte) []byte {
	if bytes.IndexByte(s, '=') < 0 && bytes.IndexByte(s, ':') < 0 {
		return s
	}
	e := editor{src: s}
	i := 0
	for i < len(s) {
		if !isKeyChar(s[i]) || i > 0 && isKeyChar(s[i-1]) {
			i++
			continue
		}
		j := i
		escaped := false // "%5B" / "%5D": URL-encoded brackets, as in card%5Bnumber%5D
		for j < len(s) {
			if isKeyChar(s[j]) {
				j++
			} else if j+2 < len(s) && s[j] == '%' && s[j+1] == '5' && (s[j+2]|0x20 == 'b' || s[j+2]|0x20 == 'd') {
				j += 3
				escaped = true
			} else {
				break
			}
		}
		key := s[i:j]
		if escaped {
			key = bytes.ReplaceAll(bytes.ReplaceAll(bytes.ToLower(key), []byte("%5b"), []byte("[")), []byte("%5d"), []byte("]"))
		}
		cls := classifyKey(key, "")
		if cls == classNone {
			i = j
			continue
		}
		quoted := i > 0 && (s[i-1] == '"' || s[i-1] == '\'')
		p := j
		for n := 0; n < 8 && p < len(s) && (s[p] == '"' || s[p] == '\'' || s[p] == '\\'); n++ {
			p++
		}
		for p < len(s) && (s[p] == ' ' || s[p] == '\t') {
			p++
		}
		if p >= len(s) || s[p] != '=' && s[p] != ':' {
			i = j
			continue
		}
		sep := s[p]
		if sep == ':' && !quoted && !atLineStart(s, i) {
			i = j
			continue
		}
		p++
		for p < len(s) && (s[p] == ' ' || s[p] == '\t') {
			p++
		}
		vs, ve, next := valueSpan(s, p, sep)
		if ve > vs {
			v := string(s[vs:ve])
			if m := maskClass(cls, v); m != v {
				e.replaceString(vs, ve, m)
			}
		}
		if next <= j {
			next = j
		}
		i = next
	}
	return e.result()
}

// atLineStart reports whether only spaces and tabs stand between the start
// of the line and s[i].
func atLineStart(s []byte, i int) bool {
	for k := i - 1; k >= 0; k-- {
		switch s[k] {
		case ' ', '\t':
		case '\n', '\r':
			return true
		default:
			return false
		}
	}
	return true
}

// valueSpan finds the value starting at s[p] after separator sep: the
// content of a quoted value (quotes may be backslash-escaped, as in JSON
// inside a JSON string; the closing quote is the one escaped the same way),
// or an unquoted run. It returns the value's bounds and where to continue.
// A value that opens an object or array is not a value here: the scan goes
// on inside it.
func valueSpan(s []byte, p int, sep byte) (start, end, next int) {
	if p >= len(s) {
		return p, p, p
	}
	// Quoted, with b backslashes before the quote.
	b := 0
	for p+b < len(s) && s[p+b] == '\\' {
		b++
	}
	if p+b < len(s) && (s[p+b] == '"' || s[p+b] == '\'') {
		q := s[p+b]
		start = p + b + 1
		for k := start; k < len(s); k++ {
			if s[k] == '\n' || s[k] == '\r' {
				return start, k, k
			}
			if s[k] != q {
				continue
			}
			t := 0
			for k-t-1 >= start && s[k-t-1] == '\\' {
				t++
			}
			if t == b {
				return start, k - b, k + 1
			}
		}
		return start, len(s), len(s)
	}
	if bytes.HasPrefix(s[p:], []byte(Redacted)) {
		return p, p, p + len(Redacted)
	}
	if s[p] == '{' || s[p] == '[' {
		return p, p, p
	}
	k := p
	for k < len(s) {
		if bytes.HasPrefix(s[k:], []byte(Redacted)) {
			k += len(Redacted)
			continue
		}
		c := s[k]
		if c == '\r' || c == '\n' || c == '&' || c == '"' || c == '\'' || c == '\\' ||
			c == ',' || c == ';' || c == '<' || c == '>' || c == ')' || c == '}' || c == ']' {
			break
		}
		if sep == '=' && (c == ' ' || c == '\t') {
			break
		}
		k++
	}
	return p, k, k
}
