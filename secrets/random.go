package secrets

import (
	"crypto/rand"
	"fmt"
	"io"
)

const alphanumeric = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// acceptBelow is the largest multiple of len(alphanumeric) that fits in a
// byte. Bytes at or above it are discarded, so that byte%62 is uniform.
const acceptBelow = 256 / len(alphanumeric) * len(alphanumeric) // 248

// RandomString returns n characters drawn uniformly from [0-9A-Za-z] using
// crypto/rand. It returns "" for n <= 0.
func RandomString(n int) string {
	s, err := randomStringFrom(rand.Reader, n)
	if err != nil {
		// crypto/rand.Reader does not fail on supported platforms (rand.Read
		// even crashes the program if it does), so this is unreachable.
		panic(err)
	}
	return s
}

// NewID returns prefix + "_" + 20 random alphanumerics (about 119 bits), e.g.
// NewID("key") = "key_3fA...". These are paymux's resource ids.
func NewID(prefix string) string {
	return prefix + "_" + RandomString(20)
}

// randomStringFrom does rejection sampling over bytes from r; it takes a
// reader so that tests can check the mapping deterministically.
func randomStringFrom(r io.Reader, n int) (string, error) {
	if n <= 0 {
		return "", nil
	}
	out := make([]byte, 0, n)
	// A little extra per batch because ~3% of bytes are rejected.
	buf := make([]byte, n+n/16+8)
	for len(out) < n {
		if _, err := io.ReadFull(r, buf); err != nil {
			return "", fmt.Errorf("secrets: read random bytes: %w", err)
		}
		for _, b := range buf {
			if int(b) >= acceptBelow {
				continue
			}
			out = append(out, alphanumeric[int(b)%len(alphanumeric)])
			if len(out) == n {
				break
			}
		}
	}
	return string(out), nil
}
