package secrets

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Token errors. ParseToken wraps one of these, so match with errors.Is.
var (
	ErrTokenMalformed = errors.New("secrets: malformed access token")
	ErrTokenSignature = errors.New("secrets: invalid access token signature")
)

const (
	tokenPrefix     = "at_"
	maxTokenLength  = 512
	payloadSep      = "|"
	signatureLength = sha256.Size
)

var tokenEncoding = base64.RawURLEncoding

// TokenClaims is what an access token carries. Expiry is kept to whole seconds.
type TokenClaims struct {
	KeyID         string
	SecretVersion int64
	Expiry        time.Time
}

// MintToken returns a signed access token:
//
//	"at_" + base64url(payload) + "." + base64url(HMAC-SHA256(tokenKey, payload))
//
// where payload is "keyID|secretVersion|expiryUnixSeconds". It is
// deterministic, so paymux can hand out the same token while it is valid.
func (k *Keyring) MintToken(c TokenClaims) (string, error) {
	if c.KeyID == "" {
		return "", errors.New("secrets: mint token: key id is empty")
	}
	if strings.Contains(c.KeyID, payloadSep) {
		return "", fmt.Errorf("secrets: mint token: key id contains %q", payloadSep)
	}
	payload := encodePayload(c)
	token := tokenPrefix + tokenEncoding.EncodeToString(payload) + "." +
		tokenEncoding.EncodeToString(k.signPayload(payload))
	// Refuse to mint what ParseToken would refuse to accept.
	if len(token) > maxTokenLength {
		return "", fmt.Errorf("secrets: mint token: token would be %d bytes, limit is %d (key id too long)",
			len(token), maxTokenLength)
	}
	return token, nil
}

// ParseToken verifies the token's signature in constant time and decodes its
// claims. It does not check expiry: the caller does, with its own clock.
// Errors wrap ErrTokenMalformed or ErrTokenSignature.
func (k *Keyring) ParseToken(token string) (TokenClaims, error) {
	if len(token) > maxTokenLength {
		return TokenClaims{}, fmt.Errorf("%w: longer than %d bytes", ErrTokenMalformed, maxTokenLength)
	}
	body, ok := strings.CutPrefix(token, tokenPrefix)
	if !ok {
		return TokenClaims{}, fmt.Errorf("%w: missing %q prefix", ErrTokenMalformed, tokenPrefix)
	}
	encodedPayload, encodedSignature, ok := strings.Cut(body, ".")
	if !ok {
		return TokenClaims{}, fmt.Errorf("%w: missing '.' separator", ErrTokenMalformed)
	}
	if encodedPayload == "" {
		return TokenClaims{}, fmt.Errorf("%w: empty payload", ErrTokenMalformed)
	}
	payload, err := decodeCanonical(encodedPayload)
	if err != nil {
		return TokenClaims{}, fmt.Errorf("%w: payload: %w", ErrTokenMalformed, err)
	}
	signature, err := decodeCanonical(encodedSignature)
	if err != nil {
		return TokenClaims{}, fmt.Errorf("%w: signature: %w", ErrTokenMalformed, err)
	}
	if len(signature) != signatureLength {
		return TokenClaims{}, fmt.Errorf("%w: signature is %d bytes, want %d",
			ErrTokenMalformed, len(signature), signatureLength)
	}
	// Verify before looking inside the payload, so unauthenticated input
	// never reaches the payload parser.
	if !hmac.Equal(k.signPayload(payload), signature) {
		return TokenClaims{}, ErrTokenSignature
	}
	claims, err := decodePayload(string(payload))
	if err != nil {
		return TokenClaims{}, fmt.Errorf("%w: payload: %w", ErrTokenMalformed, err)
	}
	return claims, nil
}

func (k *Keyring) signPayload(payload []byte) []byte {
	mac := hmac.New(sha256.New, k.tokenKey)
	mac.Write(payload)
	return mac.Sum(nil)
}

// decodeCanonical decodes raw base64url and rejects any spelling other than
// the one MintToken produces (the decoder otherwise ignores CR/LF and
// non-zero trailing bits), so each token has exactly one valid string form.
func decodeCanonical(s string) ([]byte, error) {
	b, err := tokenEncoding.DecodeString(s)
	if err != nil {
		return nil, errors.New("invalid base64url")
	}
	if tokenEncoding.EncodeToString(b) != s {
		return nil, errors.New("non-canonical base64url")
	}
	return b, nil
}

func encodePayload(c TokenClaims) []byte {
	payload := make([]byte, 0, len(c.KeyID)+2*(len(payloadSep)+20))
	payload = append(payload, c.KeyID...)
	payload = append(payload, payloadSep...)
	payload = strconv.AppendInt(payload, c.SecretVersion, 10)
	payload = append(payload, payloadSep...)
	payload = strconv.AppendInt(payload, c.Expiry.Unix(), 10)
	return payload
}

func decodePayload(payload string) (TokenClaims, error) {
	fields := strings.Split(payload, payloadSep)
	if len(fields) != 3 {
		return TokenClaims{}, fmt.Errorf("%d fields, want 3", len(fields))
	}
	if fields[0] == "" {
		return TokenClaims{}, errors.New("empty key id")
	}
	version, err := parseCanonicalInt(fields[1])
	if err != nil {
		return TokenClaims{}, fmt.Errorf("secret version: %w", err)
	}
	expiry, err := parseCanonicalInt(fields[2])
	if err != nil {
		return TokenClaims{}, fmt.Errorf("expiry: %w", err)
	}
	return TokenClaims{
		KeyID:         fields[0],
		SecretVersion: version,
		// UTC so parsed claims do not depend on the server's TZ.
		Expiry: time.Unix(expiry, 0).UTC(),
	}, nil
}

// parseCanonicalInt accepts only what strconv.FormatInt produces ("-0", "+1"
// and "007" are rejected), keeping the payload encoding one-to-one.
func parseCanonicalInt(s string) (int64, error) {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || strconv.FormatInt(n, 10) != s {
		return 0, errors.New("not a canonical base-10 integer")
	}
	return n, nil
}
