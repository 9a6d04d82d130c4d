package webhook

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Standard Webhooks header names.
const (
	HeaderID        = "webhook-id"
	HeaderTimestamp = "webhook-timestamp"
	HeaderSignature = "webhook-signature"
)

const (
	// SecretPrefix marks a serialized signing secret, so people (and secret
	// scanners) can recognise one.
	SecretPrefix = "whsec_"

	// MinSecretBytes and MaxSecretBytes are the key sizes the specification
	// allows (192 to 512 bits).
	MinSecretBytes = 24
	MaxSecretBytes = 64

	// newSecretBytes matches HMAC-SHA256's output size; more adds nothing.
	newSecretBytes = 32

	// DefaultTolerance is how far webhook-timestamp may be from the
	// receiver's clock, both ways, before Verify treats it as a replay.
	DefaultTolerance = 5 * time.Minute

	signatureVersion = "v1"
)

// Verify errors. Verify wraps one of these, so match with errors.Is.
var (
	ErrMissingHeaders = errors.New("webhook: missing webhook-id, webhook-timestamp or webhook-signature header")
	ErrTimestamp      = errors.New("webhook: invalid or out-of-tolerance webhook-timestamp")
	ErrSignature      = errors.New("webhook: no matching signature")
)

// ErrInvalidSecret is wrapped by ParseSecret's errors.
var ErrInvalidSecret = errors.New("webhook: invalid signing secret")

var secretEncoding = base64.StdEncoding

// NewSecret returns a new signing secret: "whsec_" + base64 of 32 random
// bytes.
func NewSecret() string {
	key := make([]byte, newSecretBytes)
	// crypto/rand.Read never returns an error (it crashes the program if the
	// system's randomness fails), so there is nothing to handle.
	_, _ = rand.Read(key)
	return SecretPrefix + secretEncoding.EncodeToString(key)
}

// ParseSecret decodes a signing secret, with or without the "whsec_" prefix,
// to the raw HMAC key. It refuses anything but canonical padded base64 and
// keys outside MinSecretBytes..MaxSecretBytes. Errors wrap ErrInvalidSecret
// and never include the secret itself, since they may end up in logs.
func ParseSecret(s string) ([]byte, error) {
	encoded := strings.TrimPrefix(s, SecretPrefix)
	key, err := secretEncoding.DecodeString(encoded)
	if err != nil {
		return nil, fmt.Errorf("%w: not base64", ErrInvalidSecret)
	}
	// The decoder skips '\r' and '\n' and tolerates non-zero padding bits;
	// requiring a round trip means one key has exactly one spelling.
	if secretEncoding.EncodeToString(key) != encoded {
		return nil, fmt.Errorf("%w: not canonical base64", ErrInvalidSecret)
	}
	if len(key) < MinSecretBytes || len(key) > MaxSecretBytes {
		return nil, fmt.Errorf("%w: key is %d bytes, want %d to %d", ErrInvalidSecret, len(key), MinSecretBytes, MaxSecretBytes)
	}
	return key, nil
}

// Sign returns the webhook-signature header value for one delivery attempt:
// "v1,<base64 HMAC-SHA256 of msgID.unixSeconds.body>" for each secret,
// separated by spaces. During a secret rotation pass the current secret first
// and the old one after it; receivers accept any match. With no secrets it
// returns "".
//
// msgID must not contain '.' (it would make the signed content ambiguous);
// paymux's ids never do. ts is truncated to whole seconds, as sent in
// webhook-timestamp.
func Sign(secrets [][]byte, msgID string, ts time.Time, body []byte) string {
	signatures := make([]string, len(secrets))
	for i, secret := range secrets {
		signatures[i] = signatureVersion + "," + secretEncoding.EncodeToString(mac(secret, msgID, ts.Unix(), body))
	}
	return strings.Join(signatures, " ")
}

// Headers returns the three Standard Webhooks headers for one attempt. ts
// must be the time given to Sign.
func Headers(msgID string, ts time.Time, signature string) http.Header {
	h := make(http.Header, 3)
	h.Set(HeaderID, msgID)
	h.Set(HeaderTimestamp, strconv.FormatInt(ts.Unix(), 10))
	h.Set(HeaderSignature, signature)
	return h
}

// Verify checks a received webhook the way a receiver should: all three
// headers present, webhook-timestamp within tolerance of now (either way;
// tolerance <= 0 means DefaultTolerance), and at least one "v1" signature
// matching secret, compared in constant time. Signatures of other versions
// (such as "v1a") are ignored. Errors wrap ErrMissingHeaders, ErrTimestamp or
// ErrSignature.
func Verify(secret []byte, h http.Header, body []byte, now time.Time, tolerance time.Duration) error {
	if tolerance <= 0 {
		tolerance = DefaultTolerance
	}
	msgID := h.Get(HeaderID)
	tsText := h.Get(HeaderTimestamp)
	sigText := h.Get(HeaderSignature)
	if msgID == "" || tsText == "" || sigText == "" {
		return ErrMissingHeaders
	}

	unix, err := parseUnixSeconds(tsText)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrTimestamp, err)
	}
	if skew := now.Sub(time.Unix(unix, 0)).Abs(); skew > tolerance {
		return fmt.Errorf("%w: %s off, tolerance %s", ErrTimestamp, skew.Truncate(time.Second), tolerance)
	}

	// An empty key is one anybody can sign with.
	if len(secret) == 0 {
		return fmt.Errorf("%w: empty secret", ErrSignature)
	}
	want := []byte(secretEncoding.EncodeToString(mac(secret, msgID, unix, body)))
	for _, versioned := range strings.Fields(sigText) {
		version, sig, ok := strings.Cut(versioned, ",")
		if !ok || version != signatureVersion {
			continue
		}
		if hmac.Equal([]byte(sig), want) {
			return nil
		}
	}
	return ErrSignature
}

// mac is HMAC-SHA256(secret, "msgID.unix.body"), the signed content of the
// specification.
func mac(secret []byte, msgID string, unix int64, body []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(msgID))
	m.Write([]byte{'.'})
	m.Write(strconv.AppendInt(nil, unix, 10))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}

// parseUnixSeconds accepts only plain decimal digits: strconv.ParseInt alone
// would also take "+5" and "-5", which no sender writes.
func parseUnixSeconds(s string) (int64, error) {
	if !isDigits(s) {
		return 0, fmt.Errorf("timestamp %.32q is not unix seconds", s)
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("timestamp %.32q is out of range", s)
	}
	return n, nil
}
