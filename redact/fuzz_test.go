package redact

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// --- helpers, written independently of the code under test ---

// fuzzCard derives a Luhn-valid card number of 13 to 19 digits, not
// starting with 0, from fuzz input.
func fuzzCard(data []byte, length uint8) string {
	n := 13 + int(length%7)
	d := make([]byte, n)
	for i := 0; i < n-1; i++ {
		var b byte
		if len(data) > 0 {
			b = data[i%len(data)] ^ byte(i*37)
			if i >= len(data) {
				b += byte(i / len(data) * 13)
			}
		}
		d[i] = '0' + b%10
	}
	if d[0] == '0' {
		d[0] = '4'
	}
	for c := byte('0'); c <= '9'; c++ {
		d[n-1] = c
		if refLuhn(string(d)) {
			break
		}
	}
	return string(d)
}

func refLuhn(d string) bool {
	sum := 0
	for i := 0; i < len(d); i++ {
		v := int(d[len(d)-1-i] - '0')
		if i%2 == 1 {
			v *= 2
			if v > 9 {
				v -= 9
			}
		}
		sum += v
	}
	return sum%10 == 0
}

// grouped writes d in groups of 4 (the last group takes the rest).
func grouped(d, sep string) string {
	var parts []string
	for len(d) > 4 {
		parts = append(parts, d[:4])
		d = d[4:]
	}
	return strings.Join(append(parts, d), sep)
}

// cardForms are the spellings of d that must never appear in output.
func cardForms(d string) []string {
	return []string{d, grouped(d, " "), grouped(d, "-"), grouped(d, "+"), grouped(d, "%20"), grouped(d, "%2B")}
}

func noDigits(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return -1
		}
		return r
	}, s)
}

func jsonString(s string) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil {
		panic(err)
	}
	return strings.TrimSuffix(b.String(), "\n")
}

func assertNoLeak(t *testing.T, what string, in, out []byte, forbidden ...string) {
	t.Helper()
	for _, f := range forbidden {
		if f != "" && bytes.Contains(out, []byte(f)) {
			t.Fatalf("%s leaks %q\n in: %s\nout: %s", what, f, in, out)
		}
	}
}

func assertIdempotent(t *testing.T, what string, f func([]byte) []byte, out []byte) {
	t.Helper()
	if again := f(out); !bytes.Equal(again, out) {
		t.Fatalf("%s is not idempotent\n once: %q\ntwice: %q", what, out, again)
	}
}

// --- card numbers ---

// FuzzJSONNeverLeaksCard places a Luhn-valid card number, written plainly
// or in groups, in many places and encodings of a JSON body, a form body and
// a header, and checks that no spelling of it survives JSON, Text, Form,
// Body or Headers.
func FuzzJSONNeverLeaksCard(f *testing.F) {
	f.Add([]byte("9410000000000005"), uint8(3), uint8(0), uint8(0), "결제 카드")
	f.Add([]byte{4, 1, 1, 1}, uint8(0), uint8(1), uint8(1), "pay with")
	f.Add([]byte("378282246310005"), uint8(2), uint8(5), uint8(2), `"quoted" \ back`)
	f.Add([]byte{0xff, 0x00, 0x7f}, uint8(6), uint8(9), uint8(3), "cvc=")
	f.Add([]byte("x"), uint8(1), uint8(13), uint8(0), "phone=")
	f.Add([]byte("601100099013942"), uint8(6), uint8(11), uint8(2), "Basic ")
	f.Fuzz(func(t *testing.T, seed []byte, length, place, style uint8, noise string) {
		card := fuzzCard(seed, length)
		noise = noDigits(noise)
		forms := cardForms(card)
		written := forms[int(style)%4] // plain, spaces, dashes, '+'

		// A sentence around the card. Spaces keep the noise (which has no
		// digits) from touching it.
		sentence := noise + " " + written + " " + noise
		var body string
		exp := "" // a JSON exponent spelling, when used
		switch place % 16 {
		case 0: // string under an unrelated key
			body = `{"memo":` + jsonString(written) + `}`
		case 1: // inside a longer sentence
			body = `{"order_name":"x","memo":` + jsonString(sentence) + `}`
		case 2: // under "number" in a card object
			body = `{"card":{"number":` + jsonString(written) + `,"expiry_year":2029}}`
		case 3:
			body = `{"cardNumber":` + jsonString(written) + `}`
		case 4: // in an array nested three levels deep
			body = `{"a":{"b":{"c":["x",` + jsonString(sentence) + `,{"d":` + jsonString(written) + `}]}}}`
		case 5: // as a JSON number
			body = `{"n":` + card + `,"amount":1000}`
		case 6: // a number in an array
			body = `[1,` + card + `,"x"]`
		case 7: // JSON inside a string
			inner := `{"pan":` + jsonString(written) + `,"memo":` + jsonString(sentence) + `,"n":` + card + `}`
			body = `{"payload":` + jsonString(inner) + `}`
		case 8: // JSON inside a string inside a string
			inner := `{"pan":` + jsonString(written) + `}`
			body = `{"payload":` + jsonString(`{"inner":`+jsonString(inner)+`}`) + `}`
		case 9: // URL query
			u := "https://shop.example/cb?foo=1&cc=" + url.QueryEscape(written) + "&note=" + url.QueryEscape(sentence)
			body = `{"return_url":` + jsonString(u) + `}`
		case 10: // exponent spelling of a number
			exp = card[:1] + "." + card[1:] + "e" + fmt.Sprint(len(card)-1)
			body = `{"n":` + exp + `}`
		case 11: // as a member name
			body = `{` + jsonString(written) + `:1,` + jsonString(sentence) + `:2}`
		case 12: // under an identity key
			body = `{"phone":` + jsonString(written) + `}`
		case 13: // top-level string
			body = jsonString(sentence)
		case 14: // a JSON string holding form data
			body = `{"raw":` + jsonString("a=1&card_number="+url.QueryEscape(written)+"&memo="+url.QueryEscape(sentence)) + `}`
		case 15: // truncated JSON: not valid, Text must still mask
			body = `{"memo":` + jsonString(sentence) + `,"card":{"number":` + jsonString(written)
		}
		forbidden := append(forms, exp)
		in := []byte(body)

		out := JSON(in)
		assertNoLeak(t, "JSON", in, out, forbidden...)
		assertIdempotent(t, "JSON", JSON, out)
		if json.Valid(in) && !json.Valid(out) {
			t.Fatalf("JSON turned valid JSON into invalid\n in: %s\nout: %s", in, out)
		}
		assertNoLeak(t, "Body", in, Body("application/json", in), forbidden...)
		if exp == "" { // Text cannot know that 9.4e15 is a number
			tout := Text(in)
			assertNoLeak(t, "Text", in, tout, forbidden...)
			assertIdempotent(t, "Text", Text, tout)
		}

		// A form body.
		var form string
		switch place % 4 {
		case 0:
			form = "amount=1000&card_number=" + url.QueryEscape(written) + "&memo=" + url.QueryEscape(sentence)
		case 1:
			form = "card%5Bnumber%5D=" + url.QueryEscape(written) + "&x=" + url.PathEscape(sentence)
		case 2:
			form = "data=" + url.QueryEscape(body)
		case 3:
			form = "note=" + url.QueryEscape(sentence) + "&" + url.QueryEscape(written) + "=1"
		}
		fin := []byte(form)
		fout := Form(fin)
		assertNoLeak(t, "Form", fin, fout, forbidden...)
		assertIdempotent(t, "Form", Form, fout)
		if exp == "" {
			assertNoLeak(t, "Text(form)", fin, Text(fin), forbidden...)
		}

		// Headers.
		h := http.Header{}
		h.Set("X-Note", sentence)
		h.Set("Referer", "https://shop.example/?card_number="+url.QueryEscape(written))
		h.Set("Authorization", "Bearer "+card)
		for name, v := range Headers(h) {
			assertNoLeak(t, "Headers["+name+"]", []byte(h.Get(name)), []byte(v), forbidden...)
		}
	})
}

// --- secrets by key ---

var secretKeyNames = []string{
	"password", "Password", "PASSWORD", "passwd", "pwd", "password_two_digits",
	"passwordTwoDigits", "card-password", "cvc", "CVC", "cvv", "card_cvc",
	"secret", "secret_key", "secretKey", "client-secret", "notification_secret",
	"token", "access_token", "accessToken", "refresh_token", "authToken",
	"auth_token", "authorization", "Authorization", "api_key", "apiKey",
	"X-Api-Key", "whsec", "signature", "pin", "card.cvc", "card[password]",
}

// FuzzSecretKeysNeverLeak puts an arbitrary secret under a secret-like key,
// in JSON (plain, nested, in a secret subtree, as a number, inside a JSON
// string, in a URL query), in a form, in text and in a header, and checks
// that the secret never appears in the output. The secret starts with a
// marker so that the check cannot be confused by other text.
func FuzzSecretKeysNeverLeak(f *testing.F) {
	f.Add(uint8(0), uint8(0), "hunter2")
	f.Add(uint8(5), uint8(3), "1234")
	f.Add(uint8(24), uint8(9), "Basic Zm9vOmJhcg==")
	f.Add(uint8(7), uint8(8), `a"b\c`)
	f.Add(uint8(30), uint8(5), "x&y=z w")
	f.Add(uint8(12), uint8(10), "line\nbreak")
	f.Fuzz(func(t *testing.T, keyIdx, place uint8, tail string) {
		key := secretKeyNames[int(keyIdx)%len(secretKeyNames)]
		secret := "ZQXJ" + tail
		const marker = "ZQXJ"
		digits := "7391" + fmt.Sprint(len(tail)) // a numeric secret, for number placements

		var in []byte
		var fn func([]byte) []byte
		name := ""
		forbidden := []string{marker}
		switch place % 12 {
		case 0:
			name, fn = "JSON", JSON
			in = []byte(`{"amount":1,` + jsonString(key) + `:` + jsonString(secret) + `}`)
		case 1:
			name, fn = "JSON", JSON
			in = []byte(`{"a":{"b":[{` + jsonString(key) + `:` + jsonString(secret) + `}]}}`)
		case 2:
			name, fn = "JSON", JSON
			in = []byte(`{` + jsonString(key) + `:{"inner":[` + jsonString(secret) + `,{"deeper":` + jsonString(secret) + `}]}}`)
		case 3:
			name, fn = "JSON", JSON
			in = []byte(`{` + jsonString(key) + `:` + digits + `}`)
			forbidden = []string{digits}
		case 4:
			name, fn = "JSON", JSON
			in = []byte(`{"payload":` + jsonString(`{`+jsonString(key)+`:`+jsonString(secret)+`}`) + `}`)
		case 5:
			name, fn = "JSON", JSON
			u := "https://shop.example/cb?x=1&" + url.QueryEscape(key) + "=" + url.QueryEscape(secret) + "&y=2"
			in = []byte(`{"url":` + jsonString(u) + `}`)
		case 6:
			name, fn = "Form", Form
			in = []byte("a=1&" + url.QueryEscape(key) + "=" + url.QueryEscape(secret) + "&b=2")
		case 7:
			name, fn = "Text", Text
			in = []byte("GET /cb?" + url.QueryEscape(key) + "=" + url.QueryEscape(secret) + " HTTP/1.1")
		case 8: // a JSON fragment that does not parse (truncated body)
			name, fn = "JSON", JSON
			in = []byte(`{"x":1,` + jsonString(key) + `: ` + jsonString(secret) + `, "y": "tr`)
		case 9: // escaped JSON inside a truncated body
			name, fn = "JSON", JSON
			in = []byte(`{"data":` + jsonString(`{`+jsonString(key)+`:`+jsonString(secret)+`}`))
		case 10: // a header
			name = "Headers"
			fn = func(b []byte) []byte {
				h := http.Header{}
				h.Set(key, string(b))
				return []byte(Headers(h)[http.CanonicalHeaderKey(key)])
			}
			in = []byte(secret)
		case 11: // form field holding JSON
			name, fn = "Form", Form
			in = []byte("payload=" + url.QueryEscape(`{`+jsonString(key)+`:`+jsonString(secret)+`}`))
		}
		out := fn(in)
		assertNoLeak(t, name+" with key "+key, in, out, forbidden...)
		if name != "Headers" {
			assertIdempotent(t, name, fn, out)
		}
	})
}

// --- secrets by value ---

var secretValuePrefixes = []string{"sk_test_", "sk_live_", "whsec_", "pma_", "at_"}

// FuzzSecretPrefixesNeverLeak puts a paymux secret (sk_test_, sk_live_,
// whsec_, pma_, at_) or a Basic/Bearer credential under unrelated keys and in
// text, and checks that nothing after the prefix survives.
func FuzzSecretPrefixesNeverLeak(f *testing.F) {
	f.Add(uint8(0), uint8(0), "abcDEF123")
	f.Add(uint8(2), uint8(3), "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw+/=")
	f.Add(uint8(4), uint8(6), "a.b-c_d")
	f.Add(uint8(3), uint8(9), "")
	f.Fuzz(func(t *testing.T, prefixIdx, place uint8, tail string) {
		tok := "ZQXJ" + strings.Map(func(r rune) rune {
			if r < 0x80 && isSecretChar(byte(r)) {
				return r
			}
			return -1
		}, tail) + "Q7Q7"
		const marker = "ZQXJ"
		var secret string
		if prefixIdx%7 < 5 {
			secret = secretValuePrefixes[prefixIdx%7] + tok
		} else if prefixIdx%7 == 5 {
			secret = "Bearer " + tok
		} else {
			secret = "Basic " + tok
		}

		var in []byte
		var fn func([]byte) []byte
		name := "JSON"
		fn = JSON
		switch place % 11 {
		case 0:
			in = []byte(`{"memo":` + jsonString(secret) + `}`)
		case 1:
			in = []byte(`{"memo":` + jsonString("the key is "+secret+", keep it") + `}`)
		case 2:
			in = []byte(`{"url":` + jsonString("https://x.example/?k="+secret+"&x=1") + `}`)
		case 3:
			in = []byte(`{"log":` + jsonString("Authorization: "+secret) + `}`)
		case 4:
			in = []byte(`{"d":` + jsonString(`{"note":`+jsonString(secret)+`}`) + `}`)
		case 5:
			in = []byte(`{` + jsonString(secret) + `:1}`)
		case 6:
			in = []byte(`["a",[` + jsonString(secret) + `]]`)
		case 7:
			name, fn = "Text", Text
			in = []byte("x " + secret + " y")
		case 8:
			name, fn = "Form", Form
			in = []byte("memo=" + url.QueryEscape("x "+secret))
		case 9:
			name = "Headers"
			fn = func(b []byte) []byte {
				h := http.Header{}
				h.Set("X-Note", string(b))
				return []byte(Headers(h)["X-Note"])
			}
			in = []byte(secret)
		case 10:
			name, fn = "Text", Text
			in = []byte(`{"broken": "` + secret + `"`)
		}
		out := fn(in)
		assertNoLeak(t, name, in, out, marker)
		if name != "Headers" {
			assertIdempotent(t, name, fn, out)
		}
	})
}

// --- arbitrary input ---

// FuzzJSONArbitrary feeds arbitrary bytes to every entry point: none may
// panic, each is idempotent, valid JSON stays valid, unchanged input comes
// back as is, and no output holds a Luhn-valid run of 13 to 19 digits.
func FuzzJSONArbitrary(f *testing.F) {
	for _, s := range []string{
		`{"card":{"number":"9410000000000005"},"cvc":"123"}`,
		`[9.410000000000005e15, -4111111111111111, 1e400, 0.5]`,
		`{"payload":"{\"pan\":\"4111111111111111\"}"}`,
		`{"a":"\u0034111111111111111","b":"\ud800"}`,
		"cvc=1&card%5Bnumber%5D=4111111111111111&x=%zz",
		"Authorization: Basic Zm9vOmJhcg==\npassword: x",
		`\"password\":\"a\\\"b\"`,
		"900101-1234567 4111 1111 1111 1111 sk_live_x at_abcdefghij",
		`{"phone":"010*1234*5678"}`,
		`"`, `{`, "\xff\xfe", "",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		orig := bytes.Clone(in)
		entries := []struct {
			name string
			fn   func([]byte) []byte
		}{
			{"JSON", JSON},
			{"Text", Text},
			{"Form", Form},
			{"Body(form)", func(b []byte) []byte { return Body("application/x-www-form-urlencoded", b) }},
			{"Body()", func(b []byte) []byte { return Body("", b) }},
		}
		for _, e := range entries {
			out := e.fn(in)
			if !bytes.Equal(in, orig) {
				t.Fatalf("%s modified its input", e.name)
			}
			assertIdempotent(t, e.name, e.fn, out)
			if bytes.Equal(out, in) && !same(out, in) && len(in) > 0 {
				t.Fatalf("%s copied an input it did not change", e.name)
			}
		}

		out := JSON(in)
		if json.Valid(in) {
			if !json.Valid(out) {
				t.Fatalf("JSON made valid JSON invalid\n in: %q\nout: %q", in, out)
			}
			checkJSONValues(t, in, out)
		} else {
			checkRuns(t, "JSON(text)", in, out)
		}
		checkRuns(t, "Text", in, Text(in))
		fout := Form(in)
		checkFormValues(t, in, fout)
		checkRuns(t, "Form", in, fout)

		for _, name := range []string{"Authorization", "Cookie", "Set-Cookie", "X-Api-Key", "X-Phone", "X-Note", "Webhook-Signature"} {
			v := HeaderValue(name, string(in))
			if again := HeaderValue(name, v); again != v {
				t.Fatalf("HeaderValue(%s) not idempotent: %q then %q", name, v, again)
			}
			checkRuns(t, "HeaderValue("+name+")", in, []byte(v))
		}

		if n := len(in) / 2; true {
			cut, _ := Truncate(in, n)
			if len(cut) > n || !bytes.HasPrefix(in, cut) || len(cut) < n-3 {
				t.Fatalf("Truncate(%q, %d) = %q", in, n, cut)
			}
		}
	})
}

// checkRuns fails if out holds a maximal run of 13 to 19 ASCII digits that
// passes Luhn.
func checkRuns(t *testing.T, what string, in, out []byte) {
	t.Helper()
	for i := 0; i < len(out); {
		if out[i] < '0' || out[i] > '9' {
			i++
			continue
		}
		j := i
		for j < len(out) && out[j] >= '0' && out[j] <= '9' {
			j++
		}
		if n := j - i; n >= 13 && n <= 19 && refLuhn(string(out[i:j])) {
			t.Fatalf("%s leaves card-like %q\n in: %q\nout: %q", what, out[i:j], in, out)
		}
		i = j
	}
}

// checkJSONValues decodes every member name, string and number of out and
// checks them with checkRuns; a number is also checked as the integer it
// denotes.
func checkJSONValues(t *testing.T, in, out []byte) {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(out))
	dec.UseNumber()
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return
		}
		if err != nil {
			t.Fatalf("re-reading output: %v\nout: %q", err, out)
		}
		switch v := tok.(type) {
		case string:
			checkRuns(t, "JSON string", in, []byte(v))
		case json.Number:
			checkRuns(t, "JSON number", in, []byte(v))
			lit := string(v)
			if k := strings.IndexAny(lit, "eE"); len(lit) < 40 && (k < 0 || len(lit)-k <= 4) {
				if r, ok := new(big.Rat).SetString(lit); ok && r.IsInt() {
					d := new(big.Int).Abs(r.Num()).String()
					if len(d) >= 13 && len(d) <= 19 && refLuhn(d) {
						t.Fatalf("JSON number %s is the card number %s\n in: %q\nout: %q", lit, d, in, out)
					}
				}
			}
		}
	}
}

// checkFormValues decodes every field of a form output (or takes it raw if
// it does not decode) and checks it with checkRuns.
func checkFormValues(t *testing.T, in, out []byte) {
	t.Helper()
	for _, field := range bytes.Split(out, []byte("&")) {
		for _, part := range bytes.SplitN(field, []byte("="), 2) {
			if d, err := url.QueryUnescape(string(part)); err == nil {
				checkRuns(t, "Form field", in, []byte(d))
			} else {
				checkRuns(t, "Form field", in, part)
			}
		}
	}
}
