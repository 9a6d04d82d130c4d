// Package authheader parses the HTTP Authorization header.
//
// Errors never contain the credentials, the base64 value or its decoded form,
// because callers log them.
package authheader

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Scheme is an authorization scheme paymux understands.
type Scheme int

// The zero Scheme is deliberately not a valid scheme, so an unset
// Credentials value is never mistaken for a parsed one.
const (
	SchemeBasic Scheme = iota + 1
	SchemeBearer
)

func (s Scheme) String() string {
	switch s {
	case SchemeBasic:
		return "Basic"
	case SchemeBearer:
		return "Bearer"
	default:
		return fmt.Sprintf("Scheme(%d)", int(s))
	}
}

// Credentials is a parsed Authorization header.
type Credentials struct {
	Scheme         Scheme
	User, Password string // Basic: base64(user:password), split at the FIRST colon
	Token          string // Bearer
}

// Sentinel errors, for callers to map with errors.Is. Returned errors wrap
// one of these with detail.
var (
	ErrMissing           = errors.New("authorization header missing")
	ErrUnsupportedScheme = errors.New("authorization scheme not supported")
	ErrMalformed         = errors.New("authorization header malformed")
)

// maxValueLength is the longest credentials value (the part after the
// scheme) accepted, to bound the work done for a hostile header.
const maxValueLength = 4096

// Parse parses an Authorization header value. Scheme names are
// case-insensitive ("basic", "BEARER"); one or more spaces separate scheme and
// value; surrounding spaces and tabs are trimmed.
//
// Errors: ErrMissing (empty), ErrUnsupportedScheme (e.g. "Digest ..."),
// ErrMalformed (no value; value longer than maxValueLength bytes; Basic value
// that is not standard base64 with or without padding, or that decodes to
// something that is not valid UTF-8, contains control characters, has no
// colon, or has an empty user; Bearer token that is not an RFC 6750
// b64token: letters, digits, -._~+/ and trailing '=').
//
// The Basic value is split at the first colon, so passwords may contain
// colons. An empty Basic password is allowed (a client key alone); the caller
// decides what it means.
func Parse(header string) (Credentials, error) {
	header = strings.Trim(header, " \t")
	if header == "" {
		return Credentials{}, ErrMissing
	}
	schemeName, value, _ := strings.Cut(header, " ")
	value = strings.TrimLeft(value, " ")

	var scheme Scheme
	switch {
	case strings.EqualFold(schemeName, "Basic"):
		scheme = SchemeBasic
	case strings.EqualFold(schemeName, "Bearer"):
		scheme = SchemeBearer
	default:
		// The unknown name is not echoed: a client that sent a bare token
		// with no scheme would otherwise have it logged.
		return Credentials{}, fmt.Errorf("%w: want Basic or Bearer", ErrUnsupportedScheme)
	}
	if value == "" {
		return Credentials{}, fmt.Errorf("%w: %s scheme without credentials", ErrMalformed, scheme)
	}
	if len(value) > maxValueLength {
		return Credentials{}, fmt.Errorf("%w: %s credentials longer than %d bytes", ErrMalformed, scheme, maxValueLength)
	}
	if scheme == SchemeBasic {
		return parseBasic(value)
	}
	return parseBearer(value)
}

func parseBasic(value string) (Credentials, error) {
	decoded, err := decodeBase64(value)
	if err != nil {
		// err is not wrapped: keep even its byte offsets out of the logs.
		return Credentials{}, fmt.Errorf("%w: Basic credentials are not valid base64", ErrMalformed)
	}
	if !utf8.Valid(decoded) {
		return Credentials{}, fmt.Errorf("%w: Basic credentials are not valid UTF-8", ErrMalformed)
	}
	text := string(decoded)
	if strings.ContainsFunc(text, unicode.IsControl) {
		return Credentials{}, fmt.Errorf("%w: Basic credentials contain control characters", ErrMalformed)
	}
	user, password, found := strings.Cut(text, ":")
	if !found {
		return Credentials{}, fmt.Errorf("%w: Basic credentials have no colon between user and password", ErrMalformed)
	}
	if user == "" {
		return Credentials{}, fmt.Errorf("%w: Basic credentials have an empty user", ErrMalformed)
	}
	return Credentials{Scheme: SchemeBasic, User: user, Password: password}, nil
}

// decodeBase64 decodes standard base64 with or without padding. The alphabet
// is checked first because the decoder silently skips '\r' and '\n'; Strict
// refuses non-zero trailing bits, so each value has only one encoding.
func decodeBase64(s string) ([]byte, error) {
	for _, c := range []byte(s) {
		isAlphabet := c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == '/' || c == '='
		if !isAlphabet {
			return nil, errors.New("character outside the base64 alphabet")
		}
	}
	if strings.HasSuffix(s, "=") {
		return base64.StdEncoding.Strict().DecodeString(s)
	}
	return base64.RawStdEncoding.Strict().DecodeString(s)
}

func parseBearer(token string) (Credentials, error) {
	if !isToken68(token) {
		return Credentials{}, fmt.Errorf("%w: Bearer token must use only letters, digits and -._~+/ (RFC 6750)", ErrMalformed)
	}
	return Credentials{Scheme: SchemeBearer, Token: token}, nil
}

// isToken68 reports whether s is an RFC 6750 b64token:
// 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=".
func isToken68(s string) bool {
	body := strings.TrimRight(s, "=")
	if body == "" {
		return false
	}
	for i := 0; i < len(body); i++ {
		c := body[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c == '-', c == '.', c == '_', c == '~', c == '+', c == '/':
		default:
			return false
		}
	}
	return true
}
