// Package secrets derives all of paymux's keys from one 32-byte master key and
// uses them to hash API secrets, encrypt data at rest and sign access tokens.
//
// Errors from this package never contain secrets, tokens or key material.
package secrets

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
)

// MasterKeySize is the required length of the master key in bytes.
const MasterKeySize = 32

// HKDF info strings. Each purpose gets its own key so that, for example, a
// secret hash can never double as a token signature. Changing one of these
// invalidates everything derived from it.
const (
	infoHashKey    = "paymux/secrets v1 secret-hash"
	infoTokenKey   = "paymux/secrets v1 access-token"
	infoEncryptKey = "paymux/secrets v1 encryption-at-rest"
)

// Keyring holds keys derived (HKDF-SHA256, distinct info strings) from the
// master key. It is safe for concurrent use.
type Keyring struct {
	hashKey  []byte
	tokenKey []byte
	aead     cipher.AEAD // AES-256-GCM with random nonces prepended to the output
}

// NewKeyring derives a Keyring from a 32-byte master key.
func NewKeyring(master []byte) (*Keyring, error) {
	if len(master) != MasterKeySize {
		return nil, fmt.Errorf("secrets: master key is %d bytes, want %d", len(master), MasterKeySize)
	}
	hashKey, err := deriveKey(master, infoHashKey)
	if err != nil {
		return nil, err
	}
	tokenKey, err := deriveKey(master, infoTokenKey)
	if err != nil {
		return nil, err
	}
	encryptKey, err := deriveKey(master, infoEncryptKey)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(encryptKey)
	if err != nil {
		return nil, fmt.Errorf("secrets: create AES cipher: %w", err)
	}
	aead, err := cipher.NewGCMWithRandomNonce(block)
	if err != nil {
		return nil, fmt.Errorf("secrets: create GCM: %w", err)
	}
	return &Keyring{hashKey: hashKey, tokenKey: tokenKey, aead: aead}, nil
}

func deriveKey(master []byte, info string) ([]byte, error) {
	// The master key is already uniformly random, so no salt is needed.
	key, err := hkdf.Key(sha256.New, master, nil, info, 32)
	if err != nil {
		return nil, fmt.Errorf("secrets: derive key %q: %w", info, err)
	}
	return key, nil
}

// String keeps key material out of logs if a Keyring is ever printed.
func (k Keyring) String() string { return "secrets.Keyring{REDACTED}" }

// GoString keeps key material out of %#v output.
func (k Keyring) GoString() string { return k.String() }

// HashSecret returns HMAC-SHA256(hashKey, secret). Used for API secret keys
// and admin tokens: fast enough for a per-request check, useless to someone
// who steals only the database.
func (k *Keyring) HashSecret(secret string) []byte {
	mac := hmac.New(sha256.New, k.hashKey)
	mac.Write([]byte(secret))
	return mac.Sum(nil)
}

// SecretMatches reports whether secret hashes to hash, comparing in constant time.
func (k *Keyring) SecretMatches(secret string, hash []byte) bool {
	return hmac.Equal(k.HashSecret(secret), hash)
}

// errDecrypt is deliberately vague: GCM cannot tell tampering from a wrong key
// or wrong associated data, and the caller should treat them all the same.
var errDecrypt = errors.New("secrets: decrypt: message authentication failed")

// Encrypt seals plaintext with AES-256-GCM and returns nonce||ciphertext||tag
// (12-byte random nonce). associatedData binds the ciphertext to its row (e.g.
// "channel:<id>") so ciphertexts cannot be swapped between rows.
func (k *Keyring) Encrypt(plaintext, associatedData []byte) ([]byte, error) {
	// The random-nonce AEAD draws the nonce from crypto/rand itself, which
	// cannot fail; the error return leaves room for future key rotation.
	return k.aead.Seal(nil, nil, plaintext, associatedData), nil
}

// Decrypt opens a value produced by Encrypt with the same associatedData.
func (k *Keyring) Decrypt(ciphertext, associatedData []byte) ([]byte, error) {
	if len(ciphertext) < k.aead.Overhead() {
		return nil, fmt.Errorf("secrets: decrypt: ciphertext is %d bytes, shorter than the %d-byte minimum",
			len(ciphertext), k.aead.Overhead())
	}
	plaintext, err := k.aead.Open(nil, nil, ciphertext, associatedData)
	if err != nil {
		return nil, errDecrypt
	}
	return plaintext, nil
}
