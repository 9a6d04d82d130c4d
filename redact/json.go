package redact

import (
	"bytes"
	"encoding/json"
	"strings"
)

// maxEmbed bounds how many levels of JSON-inside-a-JSON-string are parsed;
// deeper strings get the Text rules only.
const maxEmbed = 8

// JSON masks a JSON document by key and by value (see the package doc). The
// output is the input with only the masked tokens replaced: key order,
// duplicate keys and whitespace are kept, and the input itself is returned
// when nothing is masked. A masked number becomes a JSON string
// ("941000******0005", "[REDACTED]"). If body is not valid JSON, JSON
// returns Text(body).
func JSON(body []byte) []byte { return jsonDoc(body, 0, nil) }

// jsonDoc masks a JSON document found at embedding level embed, inside a
// string under key parent.
func jsonDoc(body []byte, embed int, parent []byte) (out []byte) {
	if len(body) == 0 {
		return body
	}
	if !json.Valid(body) {
		return Text(body)
	}
	defer func() {
		// The walker assumes valid JSON, which json.Valid just confirmed; a
		// disagreement between the two must not take a request down.
		if recover() != nil {
			out = Text(body)
		}
	}()
	w := walker{editor: editor{src: body}, embed: embed}
	w.value(0, ctx{key: parent})
	return w.result()
}

// ctx is what the walker knows about the value at hand.
type ctx struct {
	cls class  // the key rule for this value
	key []byte // the member name it sits under (nil at the top); the parent of its members
}

type walker struct {
	editor
	embed int
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func (w *walker) skipSpace(i int) int {
	for i < len(w.src) && isSpace(w.src[i]) {
		i++
	}
	return i
}

// value masks the value at src[i:] (after optional space) and returns the
// index just after it.
func (w *walker) value(i int, c ctx) int {
	s := w.src
	i = w.skipSpace(i)
	switch s[i] {
	case '{':
		i = w.skipSpace(i + 1)
		if s[i] == '}' {
			return i + 1
		}
		for {
			ks := i
			ke := w.stringEnd(ks)
			name := w.decode(ks, ke)
			if m := Text(name); !same(m, name) {
				w.replace(ks, ke, quote(m))
			}
			i = w.skipSpace(ke)
			i++ // ':'
			child := ctx{cls: inherit(c.cls, classifyKey(name, c.key)), key: name}
			i = w.skipSpace(w.value(i, child))
			if s[i] == '}' {
				return i + 1
			}
			i = w.skipSpace(i + 1) // ','
		}
	case '[':
		i = w.skipSpace(i + 1)
		if s[i] == ']' {
			return i + 1
		}
		for {
			i = w.skipSpace(w.value(i, c)) // arrays are transparent: elements take the array's key
			if s[i] == ']' {
				return i + 1
			}
			i++ // ','
		}
	case '"':
		end := w.stringEnd(i)
		v := w.decode(i, end)
		if m := w.maskBytes(v, c); !same(m, v) {
			w.replace(i, end, quote(m))
		}
		return end
	case 't':
		return i + len("true")
	case 'f':
		return i + len("false")
	case 'n':
		return i + len("null")
	default:
		end := i
		for end < len(s) && strings.IndexByte("+-0123456789.eE", s[end]) >= 0 {
			end++
		}
		if m, ok := maskNumber(s[i:end], c.cls); ok {
			w.replace(i, end, quote(m))
		}
		return end
	}
}

// stringEnd returns the index just after the string literal starting at
// src[i] ('"').
func (w *walker) stringEnd(i int) int {
	s := w.src
	for k := i + 1; ; k++ {
		switch s[k] {
		case '\\':
			k++
		case '"':
			return k + 1
		}
	}
}

// decode returns the value of the string literal src[start:end]: a
// sub-slice of src when it has no escapes.
func (w *walker) decode(start, end int) []byte {
	raw := w.src[start:end]
	inner := raw[1 : len(raw)-1]
	if bytes.IndexByte(inner, '\\') < 0 {
		return inner
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return inner
	}
	return []byte(s)
}

// maskBytes masks a string value; it returns v itself when nothing changes.
func (w *walker) maskBytes(v []byte, c ctx) []byte {
	if c.cls != classNone {
		m := maskClass(c.cls, string(v))
		if m == string(v) {
			return v
		}
		return []byte(m)
	}
	t := bytes.TrimLeft(v, " \t\r\n")
	if len(t) > 0 && (t[0] == '{' || t[0] == '[') && w.embed < maxEmbed {
		return jsonDoc(v, w.embed+1, c.key)
	}
	return Text(v)
}

// maskNumber masks a JSON number literal under class cls. It reports false
// when the literal stays as it is.
func maskNumber(lit []byte, cls class) ([]byte, bool) {
	switch cls {
	case classSecret, classAuth:
		return []byte(Redacted), true
	case classNone:
		digits := 0
		exp := false
		for _, c := range lit {
			if isDigit(c) {
				digits++
			} else if c == 'e' || c == 'E' {
				exp = true
			}
		}
		if digits < 13 && !exp {
			return nil, false
		}
		if d := integerDigits(string(lit)); len(d) >= 13 && len(d) <= 19 && luhn(d) {
			return []byte(MaskCard(string(d))), true
		}
		if m := Text(lit); !same(m, lit) {
			return m, true
		}
		return nil, false
	case classCard:
		if d := integerDigits(string(lit)); d != nil {
			return []byte(MaskCard(string(d))), true
		}
	}
	if m := maskClass(cls, string(lit)); m != string(lit) {
		return []byte(m), true
	}
	return nil, false
}

// integerDigits returns the decimal digits of an integral JSON number with
// no leading zeros ("9.41e3" → "9410", "-12.0" → "12"), or nil for a
// fraction, zero, or a number longer than 19 digits.
func integerDigits(lit string) []byte {
	s := strings.TrimPrefix(lit, "-")
	mant, exp := s, 0
	if k := strings.IndexAny(s, "eE"); k >= 0 {
		mant = s[:k]
		e := strings.TrimPrefix(s[k+1:], "+")
		neg := strings.HasPrefix(e, "-")
		e = strings.TrimPrefix(e, "-")
		if len(e) == 0 || len(e) > 4 {
			return nil
		}
		for i := 0; i < len(e); i++ {
			if !isDigit(e[i]) {
				return nil
			}
			exp = exp*10 + int(e[i]-'0')
		}
		if neg {
			exp = -exp
		}
	}
	intPart, frac, _ := strings.Cut(mant, ".")
	all := strings.TrimLeft(intPart+frac, "0")
	scale := exp - len(frac)
	if all == "" || len(all) > 64 {
		return nil
	}
	for i := 0; i < len(all); i++ {
		if !isDigit(all[i]) {
			return nil
		}
	}
	if scale >= 0 {
		if len(all)+scale > 19 {
			return nil
		}
		return append([]byte(all), strings.Repeat("0", scale)...)
	}
	cut := len(all) + scale
	if cut <= 0 || strings.TrimLeft(all[cut:], "0") != "" {
		return nil
	}
	if cut > 19 {
		return nil
	}
	return []byte(all[:cut])
}

// quote returns s as a JSON string literal. Only '"', '\\' and control
// characters are escaped; other bytes, even invalid UTF-8, are copied.
func quote(s []byte) []byte {
	const hex = "0123456789abcdef"
	b := make([]byte, 0, len(s)+2)
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c == '\n':
			b = append(b, '\\', 'n')
		case c == '\r':
			b = append(b, '\\', 'r')
		case c == '\t':
			b = append(b, '\\', 't')
		case c < 0x20:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}
