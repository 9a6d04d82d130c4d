package redact

import "bytes"

// Form masks an application/x-www-form-urlencoded body. Fields are split at
// '&'; each name and value is decoded ('+' is a space, %XX a byte, a stray
// '%' itself); the value is masked by the name's key rule (names like
// "card[number]", "card%5Bnumber%5D" or "card.number" count as paths), a
// value holding JSON is masked with JSON, and every other value and every
// name gets the Text rules. A field that changes is re-encoded, escaping
// only what must be ("card_number=941000******0005"); the others are copied
// as they were, in their order. Card numbers that only appear in the raw
// spelling of a field are masked there too.
func Form(body []byte) []byte {
	// Masking can expose a new match (the digits left after a masked card
	// number may start another), so the passes repeat until nothing changes.
	for range 4 {
		n := formPass(body)
		if same(n, body) || bytes.Equal(n, body) {
			return body
		}
		body = n
	}
	return body
}

func formPass(body []byte) []byte {
	e := editor{src: body}
	for start := 0; start <= len(body); {
		end := bytes.IndexByte(body[start:], '&')
		if end < 0 {
			end = len(body)
		} else {
			end += start
		}
		if end > start {
			if m, ok := formField(body[start:end]); ok {
				e.replace(start, end, m)
			}
		}
		start = end + 1
	}
	return e.result()
}

// formField masks one name=value field; false: unchanged.
//
// The decoded name and value are masked; a field that changes is
// re-encoded. The digit rules of Text (card and resident registration
// numbers) then run over the field as written, so that what a reader of the
// stored body sees is masked too: "%4111111111111111" decodes to
// "A111111111111111", but it reads as a card number. They never touch the
// digits of a %XX escape, so the field still decodes as before.
func formField(raw []byte) ([]byte, bool) {
	rawName, rawValue, hasValue := bytes.Cut(raw, []byte("="))
	name, value := formUnescape(rawName), formUnescape(rawValue)
	mName := textString(name)
	mValue := maskFormValue(name, value)
	field := raw
	if mName != name || mValue != value {
		field = formEscape(nil, mName)
		if hasValue {
			field = append(field, '=')
			field = formEscape(field, mValue)
		}
	}
	if d := maskCards(maskResident(field)); !same(d, field) {
		field = d
	}
	return field, !same(field, raw)
}

// formUnescape decodes a form name or value: '+' is a space and "%XX" a
// byte; a '%' not followed by two hex digits stands for itself (browsers
// and url.ParseQuery disagree on such input; keeping it is the safe choice
// for a log).
func formUnescape(b []byte) string {
	if bytes.IndexByte(b, '%') < 0 && bytes.IndexByte(b, '+') < 0 {
		return string(b)
	}
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); i++ {
		switch c := b[i]; {
		case c == '+':
			out = append(out, ' ')
		case c == '%' && i+2 < len(b) && isHex(b[i+1]) && isHex(b[i+2]):
			out = append(out, unhex(b[i+1])<<4|unhex(b[i+2]))
			i += 2
		default:
			out = append(out, c)
		}
	}
	return string(out)
}

func isHex(c byte) bool { return isDigit(c) || 'a' <= c|0x20 && c|0x20 <= 'f' }

func unhex(c byte) byte {
	if isDigit(c) {
		return c - '0'
	}
	return c | 0x20 - 'a' + 10
}

func maskFormValue(name, v string) string {
	var w walker
	b := []byte(v)
	m := w.maskBytes(b, ctx{cls: classifyKey(name, ""), key: []byte(name)})
	if same(m, b) {
		return v
	}
	return string(m)
}

// formEscape appends s encoded for a form body. Only what must be escaped
// is ('&', '=', '+', '%', '#', space as '+', control and non-ASCII bytes), so
// masks like "941000******0005" and "[REDACTED]" stay readable.
func formEscape(dst []byte, s string) []byte {
	const hex = "0123456789ABCDEF"
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ' ':
			dst = append(dst, '+')
		case c <= 0x20 || c >= 0x7f || c == '&' || c == '=' || c == '+' || c == '%' || c == '#' || c == '"' || c == '\'':
			dst = append(dst, '%', hex[c>>4], hex[c&0xF])
		default:
			dst = append(dst, c)
		}
	}
	return dst
}
