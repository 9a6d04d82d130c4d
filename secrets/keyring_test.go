package secrets

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
)

// testKeyring returns a keyring whose master key is fill repeated 32 times.
func testKeyring(t testing.TB, fill byte) *Keyring {
	t.Helper()
	k, err := NewKeyring(bytes.Repeat([]byte{fill}, MasterKeySize))
	if err != nil {
		t.Fatalf("NewKeyring: %v", err)
	}
	return k
}

func TestNewKeyringRejectsWrongLength(t *testing.T) {
	for _, n := range []int{0, 16, 31, 33, 64} {
		if _, err := NewKeyring(make([]byte, n)); err == nil {
			t.Errorf("NewKeyring(%d bytes): want error", n)
		}
	}
}

func TestDerivedKeysAreDistinct(t *testing.T) {
	k := testKeyring(t, 1)
	if bytes.Equal(k.hashKey, k.tokenKey) {
		t.Fatal("hash key and token key are equal")
	}
}

func TestKeyringDoesNotPrintKeys(t *testing.T) {
	k := testKeyring(t, 1)
	for _, format := range []string{"%v", "%+v", "%#v", "%s"} {
		out := fmt.Sprintf(format, *k) + fmt.Sprintf(format, k)
		if strings.Contains(out, fmt.Sprint(k.hashKey)) || strings.Contains(out, fmt.Sprintf("%x", k.hashKey)) {
			t.Errorf("%s printed key material: %s", format, out)
		}
	}
}

func TestHashSecret(t *testing.T) {
	k1 := testKeyring(t, 1)
	k1Again := testKeyring(t, 1)
	k2 := testKeyring(t, 2)

	h := k1.HashSecret("sk_live_abc")
	if len(h) != 32 {
		t.Fatalf("hash length = %d, want 32", len(h))
	}
	if !bytes.Equal(h, k1Again.HashSecret("sk_live_abc")) {
		t.Error("same master key and secret gave different hashes")
	}
	if bytes.Equal(h, k2.HashSecret("sk_live_abc")) {
		t.Error("different master keys gave the same hash")
	}
	if bytes.Equal(h, k1.HashSecret("sk_live_abd")) {
		t.Error("different secrets gave the same hash")
	}
}

func TestSecretMatches(t *testing.T) {
	k := testKeyring(t, 1)
	stored := k.HashSecret("correct horse")
	tests := []struct {
		name   string
		secret string
		hash   []byte
		want   bool
	}{
		{"right secret", "correct horse", stored, true},
		{"wrong secret", "correct horsf", stored, false},
		{"empty secret", "", stored, false},
		{"truncated hash", "correct horse", stored[:31], false},
		{"nil hash", "correct horse", nil, false},
		{"hash from other keyring", "correct horse", testKeyring(t, 2).HashSecret("correct horse"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := k.SecretMatches(tt.secret, tt.hash); got != tt.want {
				t.Errorf("SecretMatches = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestEncryptDecryptRoundTrip(t *testing.T) {
	k := testKeyring(t, 1)
	for _, plaintext := range [][]byte{nil, {}, []byte("x"), []byte(`{"merchant_id":"m1","api_key":"pg_secret"}`), bytes.Repeat([]byte{0xff}, 4096)} {
		ad := []byte("channel:ch_123")
		ct, err := k.Encrypt(plaintext, ad)
		if err != nil {
			t.Fatalf("Encrypt: %v", err)
		}
		if want := 12 + len(plaintext) + 16; len(ct) != want {
			t.Errorf("ciphertext length = %d, want %d (nonce||ciphertext||tag)", len(ct), want)
		}
		got, err := k.Decrypt(ct, ad)
		if err != nil {
			t.Fatalf("Decrypt: %v", err)
		}
		if !bytes.Equal(got, plaintext) {
			t.Errorf("Decrypt = %q, want %q", got, plaintext)
		}
	}
}

func TestEncryptIsRandomized(t *testing.T) {
	k := testKeyring(t, 1)
	a, _ := k.Encrypt([]byte("same"), []byte("channel:1"))
	b, _ := k.Encrypt([]byte("same"), []byte("channel:1"))
	if bytes.Equal(a, b) {
		t.Error("two encryptions of the same plaintext are identical")
	}
	if bytes.Equal(a[:12], b[:12]) {
		t.Error("two encryptions reused a nonce")
	}
}

func TestDecryptRejects(t *testing.T) {
	k := testKeyring(t, 1)
	ad := []byte("channel:ch_1")
	ct, err := k.Encrypt([]byte("pg password"), ad)
	if err != nil {
		t.Fatalf("Encrypt: %v", err)
	}
	flip := func(i int) []byte {
		c := bytes.Clone(ct)
		c[i] ^= 0x01
		return c
	}
	tests := []struct {
		name       string
		keyring    *Keyring
		ciphertext []byte
		ad         []byte
	}{
		{"flipped nonce byte", k, flip(0), ad},
		{"flipped ciphertext byte", k, flip(12), ad},
		{"flipped tag byte", k, flip(len(ct) - 1), ad},
		{"truncated", k, ct[:len(ct)-1], ad},
		{"extended", k, append(bytes.Clone(ct), 0), ad},
		{"shorter than nonce+tag", k, ct[:27], ad},
		{"empty", k, nil, ad},
		{"wrong associated data", k, ct, []byte("channel:ch_2")},
		{"missing associated data", k, ct, nil},
		{"other keyring", testKeyring(t, 2), ct, ad},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, err := tt.keyring.Decrypt(tt.ciphertext, tt.ad); err == nil {
				t.Errorf("Decrypt succeeded with %q, want error", got)
			}
		})
	}
}

func BenchmarkHashSecret(b *testing.B) {
	k := testKeyring(b, 1)
	secret := "sk_live_" + RandomString(40)
	for b.Loop() {
		k.HashSecret(secret)
	}
}
