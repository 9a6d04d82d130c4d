package nicepay

import (
	"bytes"
	"crypto/aes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/paymux/paymux/providers"
)

// KST is the zone NicePay writes its times in (+0900).
var KST = time.FixedZone("KST", 9*60*60)

// ediDateLayout is how the adapter writes ediDate, as the manual's samples
// do: 2021-11-05T17:14:35.150+0900.
const ediDateLayout = "2006-01-02T15:04:05.000-0700"

// EdiDate formats t as a NicePay ediDate (KST, milliseconds, +0900).
func EdiDate(t time.Time) string { return t.In(KST).Format(ediDateLayout) }

// BasicAuth is the Authorization header value of a key pair:
// "Basic " + base64(clientID + ":" + secretKey).
func BasicAuth(clientID, secretKey string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(clientID+":"+secretKey))
}

// Sign is NicePay's hash: lowercase hex SHA-256 of the parts concatenated
// with nothing between them. Every signData and signature is Sign(fields...,
// secretKey) with the secret key last.
func Sign(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// WindowSignature is the signature of the Server-approval window's POST to
// returnUrl: sha256(authToken + clientId + amount + secretKey).
func WindowSignature(authToken, clientID, amount, secretKey string) string {
	return Sign(authToken, clientID, amount, secretKey)
}

// PaymentSignature is the signature of a Payment object (approve, cancel,
// lookup, billing charge, webhook, the Client-approval window):
// sha256(tid + amount + ediDate + secretKey).
func PaymentSignature(tid, amount, ediDate, secretKey string) string {
	return Sign(tid, amount, ediDate, secretKey)
}

// sameSignature compares hex signatures in constant time, ignoring case.
func sameSignature(got, want string) bool {
	if got == "" {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(strings.ToLower(got)), []byte(want)) == 1
}

// verifyAny reports whether sig is Sign(parts..., secret) for one of the
// secrets.
func verifyAny(sig string, secrets []string, parts ...string) bool {
	ok := false
	for _, s := range secrets {
		if s == "" {
			continue
		}
		if sameSignature(sig, Sign(append(parts[:len(parts):len(parts)], s)...)) {
			ok = true
		}
	}
	return ok
}

// EncData encrypts billing card data the way NicePay's default encMode
// expects: AES-128-ECB with PKCS#7 padding, keyed with the first 16
// characters of the secret key, as lowercase hex. The plain text holds the
// full card number and password digits: it lives only in this call.
func EncData(plain, secretKey string) (string, error) {
	if len(secretKey) < 16 {
		return "", fmt.Errorf("nicepay: the secret key is shorter than 16 characters")
	}
	block, err := aes.NewCipher([]byte(secretKey[:16]))
	if err != nil {
		return "", err
	}
	n := aes.BlockSize - len(plain)%aes.BlockSize
	buf := append([]byte(plain), bytes.Repeat([]byte{byte(n)}, n)...)
	for i := 0; i < len(buf); i += aes.BlockSize {
		block.Encrypt(buf[i:i+aes.BlockSize], buf[i:i+aes.BlockSize])
	}
	out := hex.EncodeToString(buf)
	clear(buf)
	return out, nil
}

// cardPlain is the encData plain text of a card:
// cardNo=..&expYear=YY&expMonth=MM&idNo=..&cardPw=..
func cardPlain(c providers.CardData) string {
	return "cardNo=" + c.Number.Reveal() +
		"&expYear=" + fmt.Sprintf("%02d", c.ExpiryYear%100) +
		"&expMonth=" + fmt.Sprintf("%02d", c.ExpiryMonth) +
		"&idNo=" + c.OwnerID.Reveal() +
		"&cardPw=" + c.Password2.Reveal()
}

// parseTime reads a NicePay time: ISO 8601 with a +0900 style offset (or
// RFC 3339), a bare local date-time or YYYYMMDD (read as KST), or "0" / ""
// for none.
func parseTime(s string) time.Time {
	s = strings.TrimSpace(s)
	if s == "" || s == "0" || s == "null" {
		return time.Time{}
	}
	for _, layout := range []string{
		"2006-01-02T15:04:05.999999999-0700",
		"2006-01-02T15:04:05-0700",
		time.RFC3339Nano,
		"2006-01-02 15:04:05.999999999-0700",
		"2006-01-02 15:04:05-0700",
	} {
		if t, err := time.Parse(layout, s); err == nil {
			return t
		}
	}
	for _, layout := range []string{"2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05", "20060102150405", "20060102", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, s, KST); err == nil {
			return t
		}
	}
	return time.Time{}
}

// digits reports whether s is non-empty and all ASCII digits.
func digits(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
