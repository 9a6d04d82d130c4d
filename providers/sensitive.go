package providers

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
)

const redacted = "[REDACTED]"

// CardNumber is a primary account number (PAN). Its printed, logged and
// JSON forms show at most the BIN (first 6 digits) and the last 4; Reveal is
// the only way to the digits, for the adapter that sends them to the PG.
//
// The digits sit behind a pointer in an unexported field, so even a printer
// that cannot call the methods (an unexported field of some other struct
// printed with %v) shows an address, not the number.
type CardNumber struct{ digits *string }

// NewCardNumber keeps the digits of s; spaces and dashes are dropped, any
// other character is kept (so that validation can refuse it).
func NewCardNumber(s string) CardNumber {
	d := strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' {
			return -1
		}
		return r
	}, s)
	return CardNumber{digits: &d}
}

// Reveal returns the full number. Call it only to send it to the PG.
func (n CardNumber) Reveal() string {
	if n.digits == nil {
		return ""
	}
	return *n.digits
}

// IsZero reports whether no number is set.
func (n CardNumber) IsZero() bool { return n.digits == nil || *n.digits == "" }

// BIN returns the first 6 digits, or "" for a number too short to mask.
func (n CardNumber) BIN() string {
	d := n.Reveal()
	if len(d) < 13 {
		return ""
	}
	return d[:6]
}

// Last4 returns the last 4 digits, or "" for a number too short to mask.
func (n CardNumber) Last4() string {
	d := n.Reveal()
	if len(d) < 13 {
		return ""
	}
	return d[len(d)-4:]
}

// Masked returns the BIN, asterisks and the last 4 ("941000******0005").
// A number shorter than 13 characters (no real PAN) is masked entirely.
func (n CardNumber) Masked() string {
	d := n.Reveal()
	if d == "" {
		return ""
	}
	if len(d) < 13 {
		return strings.Repeat("*", len(d))
	}
	return d[:6] + strings.Repeat("*", len(d)-10) + d[len(d)-4:]
}

// String returns Masked.
func (n CardNumber) String() string { return n.Masked() }

// GoString returns the masked number as a Go-ish literal.
func (n CardNumber) GoString() string { return fmt.Sprintf("providers.CardNumber(%q)", n.Masked()) }

// Format prints the masked number for every verb (%#v: GoString).
func (n CardNumber) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		fmt.Fprint(f, n.GoString())
		return
	}
	fmt.Fprint(f, n.Masked())
}

// LogValue logs the masked number.
func (n CardNumber) LogValue() slog.Value { return slog.StringValue(n.Masked()) }

// MarshalJSON writes the masked number.
func (n CardNumber) MarshalJSON() ([]byte, error) { return json.Marshal(n.Masked()) }

// MarshalText writes the masked number.
func (n CardNumber) MarshalText() ([]byte, error) { return []byte(n.Masked()), nil }

// Redacted is a sensitive short value (card password digits, birth date or
// business number, cash-receipt identity, refund account number). Every
// printed, logged and JSON form is "[REDACTED]" (or "" when unset); Reveal
// returns the value. Like CardNumber, the value sits behind a pointer.
type Redacted struct{ v *string }

// NewRedacted wraps s.
func NewRedacted(s string) Redacted { return Redacted{v: &s} }

// Reveal returns the value. Call it only to send it to the PG.
func (r Redacted) Reveal() string {
	if r.v == nil {
		return ""
	}
	return *r.v
}

// IsZero reports whether no value is set.
func (r Redacted) IsZero() bool { return r.v == nil || *r.v == "" }

func (r Redacted) shown() string {
	if r.IsZero() {
		return ""
	}
	return redacted
}

func (r Redacted) String() string   { return r.shown() }
func (r Redacted) GoString() string { return fmt.Sprintf("providers.Redacted(%q)", r.shown()) }

// Format prints "[REDACTED]" for every verb.
func (r Redacted) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		fmt.Fprint(f, r.GoString())
		return
	}
	fmt.Fprint(f, r.shown())
}

func (r Redacted) LogValue() slog.Value         { return slog.StringValue(r.shown()) }
func (r Redacted) MarshalJSON() ([]byte, error) { return json.Marshal(r.shown()) }
func (r Redacted) MarshalText() ([]byte, error) { return []byte(r.shown()), nil }

// CardData is what a buyer types for a key-in charge or a billing key:
// number, expiry, the owner's birth date (YYMMDD) or 10-digit business
// registration number, and the first two digits of the card password. Its
// printed, logged and JSON forms show only the masked number (BIN + last 4).
type CardData struct {
	Number      CardNumber
	ExpiryYear  int      // four digits, e.g. 2029
	ExpiryMonth int      // 1-12
	OwnerID     Redacted // birth date YYMMDD, or business registration number (10 digits)
	Password2   Redacted // first two digits of the card password
}

// String returns the masked number.
func (c CardData) String() string { return "card " + c.Number.Masked() }

// GoString shows the masked number and which secret parts are set.
func (c CardData) GoString() string {
	return fmt.Sprintf("providers.CardData{Number:%q, OwnerID:%q, Password2:%q}",
		c.Number.Masked(), c.OwnerID.shown(), c.Password2.shown())
}

// Format prints String for every verb (%#v: GoString).
func (c CardData) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		fmt.Fprint(f, c.GoString())
		return
	}
	fmt.Fprint(f, c.String())
}

// LogValue logs the BIN and last 4 only.
func (c CardData) LogValue() slog.Value {
	return slog.GroupValue(slog.String("bin", c.Number.BIN()), slog.String("last4", c.Number.Last4()))
}

// MarshalJSON writes the masked number only.
func (c CardData) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Number string `json:"number"`
	}{c.Number.Masked()})
}
