package redact

import (
	"math/rand"
	"strings"
	"testing"
	"time"
)

// TestLargeInputsStayFast feeds large, hostile inputs to JSON, Text and
// Form. Every rule is linear (or bounded by a constant per byte); a
// quadratic slip would take minutes here, not the milliseconds allowed.
func TestLargeInputsStayFast(t *testing.T) {
	rnd := rand.New(rand.NewSource(1))
	rb := make([]byte, 200000)
	for i := range rb {
		rb[i] = byte(rnd.Intn(256))
	}
	alpha := make([]byte, 200000)
	const cs = "0123456789 -+%_=:\"\\{}[],abcpasswordcvcBearerBasicsk_test_at_"
	for i := range alpha {
		alpha[i] = cs[rnd.Intn(len(cs))]
	}
	cases := map[string]string{
		"random":    string(rb),
		"alpha":     string(alpha),
		"bs-quote":  strings.Repeat(`\"`, 100000),
		"pw":        strings.Repeat("password=", 20000),
		"pwq":       `"password":"` + strings.Repeat(`\\\"`, 50000),
		"pwq2":      strings.Repeat(`"password":"\"`, 20000),
		"cards":     strings.Repeat("4111 ", 40000),
		"digits":    strings.Repeat("4", 200000),
		"pct":       strings.Repeat("%20", 60000),
		"pct2":      strings.Repeat("%2041", 40000),
		"nest":      strings.Repeat("[", 9000) + strings.Repeat("]", 9000),
		"nestobj":   strings.Repeat(`{"cvc":`, 9000) + "1" + strings.Repeat("}", 9000),
		"embed":     embedded(8),
		"basic":     strings.Repeat("Basic ", 30000),
		"basic2":    "Basic " + strings.Repeat("a", 200000),
		"sk":        strings.Repeat("sk_test_", 20000),
		"at":        strings.Repeat(" at_", 50000),
		"rrn":       strings.Repeat("900101-", 30000),
		"bearerpct": strings.Repeat("Bearer%20", 20000),
		"keys":      strings.Repeat("card.number.", 20000) + "=1",
		"colon":     strings.Repeat("\"cvc\":", 30000),
		"numbers":   "[" + strings.Repeat("1e5,", 50000) + "1]",
		"bignum":    "[" + strings.Repeat("9", 100000) + "e9999]",
		"strs":      "[" + strings.Repeat(`"{[",`, 40000) + "1]",
	}
	for name, in := range cases {
		for fn, f := range map[string]func([]byte) []byte{"JSON": JSON, "Text": Text, "Form": Form} {
			start := time.Now()
			f([]byte(in))
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("%s %s (%d bytes): %v", fn, name, len(in), d)
			}
		}
	}
}

func embedded(n int) string {
	s := `{"cvc":"4111111111111111"}`
	for i := 0; i < n; i++ {
		s = `{"x":` + jsonString(s) + `}`
	}
	return s
}
