package secrets

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// signedToken builds a correctly signed token around an arbitrary payload, to
// test payload validation behind a valid signature.
func signedToken(k *Keyring, payload string) string {
	return tokenPrefix + tokenEncoding.EncodeToString([]byte(payload)) + "." +
		tokenEncoding.EncodeToString(k.signPayload([]byte(payload)))
}

func TestTokenRoundTrip(t *testing.T) {
	k := testKeyring(t, 1)
	tests := []TokenClaims{
		{KeyID: "key_abc", SecretVersion: 1, Expiry: time.Unix(1_900_000_000, 0)},
		{KeyID: "k", SecretVersion: 0, Expiry: time.Unix(0, 0)},
		{KeyID: "key with spaces.and.dots_ünïcode", SecretVersion: -3, Expiry: time.Unix(-1, 0)},
		{KeyID: "key_max", SecretVersion: 1<<63 - 1, Expiry: time.Unix(1<<40, 0)},
	}
	for _, claims := range tests {
		token, err := k.MintToken(claims)
		if err != nil {
			t.Fatalf("MintToken(%+v): %v", claims, err)
		}
		if !strings.HasPrefix(token, "at_") {
			t.Errorf("token %q lacks at_ prefix", token)
		}
		got, err := k.ParseToken(token)
		if err != nil {
			t.Fatalf("ParseToken(%q): %v", token, err)
		}
		if got.KeyID != claims.KeyID || got.SecretVersion != claims.SecretVersion || !got.Expiry.Equal(claims.Expiry) {
			t.Errorf("ParseToken = %+v, want %+v", got, claims)
		}
	}
}

func TestMintTokenIsDeterministic(t *testing.T) {
	k := testKeyring(t, 1)
	expiry := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	claims := TokenClaims{KeyID: "key_1", SecretVersion: 7, Expiry: expiry}
	a, _ := k.MintToken(claims)
	b, _ := testKeyring(t, 1).MintToken(claims)
	if a != b {
		t.Errorf("same inputs gave different tokens: %q vs %q", a, b)
	}

	// Sub-second precision and time zone do not matter: expiry is unix seconds.
	claims.Expiry = expiry.Add(999 * time.Millisecond).In(time.FixedZone("KST", 9*3600))
	c, _ := k.MintToken(claims)
	if a != c {
		t.Errorf("expiry with sub-second part gave a different token: %q vs %q", a, c)
	}
	parsed, _ := k.ParseToken(c)
	if !parsed.Expiry.Equal(expiry) {
		t.Errorf("parsed expiry = %v, want %v (truncated to seconds)", parsed.Expiry, expiry)
	}

	for _, changed := range []TokenClaims{
		{KeyID: "key_2", SecretVersion: 7, Expiry: expiry},
		{KeyID: "key_1", SecretVersion: 8, Expiry: expiry},
		{KeyID: "key_1", SecretVersion: 7, Expiry: expiry.Add(time.Second)},
	} {
		if d, _ := k.MintToken(changed); d == a {
			t.Errorf("claims %+v gave the same token as %+v", changed, claims)
		}
	}
}

func TestMintTokenRejects(t *testing.T) {
	k := testKeyring(t, 1)
	expiry := time.Unix(1_900_000_000, 0)
	tests := []struct {
		name  string
		keyID string
	}{
		{"empty key id", ""},
		{"separator in key id", "key|1"},
		{"token would exceed 512 bytes", strings.Repeat("k", 400)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if token, err := k.MintToken(TokenClaims{KeyID: tt.keyID, Expiry: expiry}); err == nil {
				t.Errorf("MintToken succeeded with %q, want error", token)
			}
		})
	}
}

func TestParseTokenRejectsForgeries(t *testing.T) {
	k := testKeyring(t, 1)
	claims := TokenClaims{KeyID: "key_1", SecretVersion: 1, Expiry: time.Unix(1_900_000_000, 0)}
	token, err := k.MintToken(claims)
	if err != nil {
		t.Fatal(err)
	}
	encodedPayload, encodedSignature, _ := strings.Cut(strings.TrimPrefix(token, tokenPrefix), ".")

	// Same signature, different payload: bump the secret version.
	forgedPayload := tokenPrefix + tokenEncoding.EncodeToString([]byte("key_1|2|1900000000")) + "." + encodedSignature

	// Same payload, one signature bit flipped (re-encoded, so still canonical base64).
	signature, _ := tokenEncoding.DecodeString(encodedSignature)
	signature[0] ^= 0x01
	forgedSignature := tokenPrefix + encodedPayload + "." + tokenEncoding.EncodeToString(signature)

	otherKeyringToken, _ := testKeyring(t, 2).MintToken(claims)

	for name, forged := range map[string]string{
		"tampered payload":      forgedPayload,
		"tampered signature":    forgedSignature,
		"other keyring's token": otherKeyringToken,
	} {
		t.Run(name, func(t *testing.T) {
			_, err := k.ParseToken(forged)
			if !errors.Is(err, ErrTokenSignature) {
				t.Errorf("ParseToken error = %v, want ErrTokenSignature", err)
			}
		})
	}
}

func TestParseTokenRejectsMalformed(t *testing.T) {
	k := testKeyring(t, 1)
	valid, err := k.MintToken(TokenClaims{KeyID: "key_1", SecretVersion: 1, Expiry: time.Unix(1_900_000_000, 0)})
	if err != nil {
		t.Fatal(err)
	}
	encodedPayload, encodedSignature, _ := strings.Cut(strings.TrimPrefix(valid, tokenPrefix), ".")

	tests := []struct {
		name  string
		token string
	}{
		{"empty", ""},
		{"prefix only", "at_"},
		{"prefix and dot", "at_."},
		{"wrong prefix", "xt_" + encodedPayload + "." + encodedSignature},
		{"uppercase prefix", "AT_" + encodedPayload + "." + encodedSignature},
		{"no prefix", encodedPayload + "." + encodedSignature},
		{"missing dot", "at_" + encodedPayload + encodedSignature},
		{"extra dot", valid + ".x"},
		{"empty payload", "at_." + encodedSignature},
		{"empty signature", "at_" + encodedPayload + "."},
		{"padded base64", "at_" + encodedPayload + "." + encodedSignature + "="},
		{"standard alphabet", "at_" + encodedPayload + "." + strings.NewReplacer("-", "+", "_", "/").Replace(encodedSignature) + "+/"},
		{"bad base64 in payload", "at_" + encodedPayload[:4] + "!" + encodedPayload[5:] + "." + encodedSignature},
		{"newline in payload", "at_" + encodedPayload[:4] + "\n" + encodedPayload[4:] + "." + encodedSignature},
		{"CR in signature", "at_" + encodedPayload + "." + encodedSignature[:4] + "\r" + encodedSignature[4:]},
		{"trailing space", valid + " "},
		{"signature too short", "at_" + encodedPayload + "." + encodedSignature[:40]},
		{"signature too long", "at_" + encodedPayload + "." + encodedSignature + "AAAA"},
		{"over 512 bytes", "at_" + strings.Repeat("A", 600) + "." + encodedSignature},
		// Correctly signed but with payloads MintToken never produces.
		{"two fields", signedToken(k, "key_1|1")},
		{"four fields", signedToken(k, "key_1|1|2|3")},
		{"empty key id", signedToken(k, "|1|1900000000")},
		{"empty version", signedToken(k, "key_1||1900000000")},
		{"empty expiry", signedToken(k, "key_1|1|")},
		{"non-numeric version", signedToken(k, "key_1|one|1900000000")},
		{"leading zero", signedToken(k, "key_1|01|1900000000")},
		{"plus sign", signedToken(k, "key_1|+1|1900000000")},
		{"negative zero", signedToken(k, "key_1|1|-0")},
		{"version overflows int64", signedToken(k, "key_1|9223372036854775808|1900000000")},
		{"fractional expiry", signedToken(k, "key_1|1|1900000000.5")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			claims, err := k.ParseToken(tt.token)
			if !errors.Is(err, ErrTokenMalformed) {
				t.Fatalf("ParseToken = (%+v, %v), want ErrTokenMalformed", claims, err)
			}
			if len(tt.token) > 8 && strings.Contains(err.Error(), tt.token) {
				t.Errorf("error message echoes the token: %v", err)
			}
		})
	}
}

func FuzzParseToken(f *testing.F) {
	k := testKeyring(f, 1)
	for _, c := range []TokenClaims{
		{KeyID: "key_abc", SecretVersion: 1, Expiry: time.Unix(1_900_000_000, 0)},
		{KeyID: "k", SecretVersion: -1, Expiry: time.Unix(0, 0)},
	} {
		token, err := k.MintToken(c)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(token)
		f.Add(token + "\n")
		f.Add(strings.Replace(token, ".", "\r\n.", 1))
	}
	f.Add("")
	f.Add("at_.")
	f.Add(signedToken(k, "key_1|01|5"))

	f.Fuzz(func(t *testing.T, token string) {
		claims, err := k.ParseToken(token)
		if err != nil {
			if !errors.Is(err, ErrTokenMalformed) && !errors.Is(err, ErrTokenSignature) {
				t.Fatalf("error %v wraps neither sentinel", err)
			}
			return
		}
		// Anything accepted must be exactly what MintToken makes for its claims.
		reminted, err := k.MintToken(claims)
		if err != nil {
			t.Fatalf("accepted token %q with claims %+v that cannot be minted: %v", token, claims, err)
		}
		if reminted != token {
			t.Fatalf("accepted token %q, but its claims mint %q", token, reminted)
		}
	})
}

func BenchmarkParseToken(b *testing.B) {
	k := testKeyring(b, 1)
	token, err := k.MintToken(TokenClaims{KeyID: NewID("key"), SecretVersion: 3, Expiry: time.Unix(1_900_000_000, 0)})
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := k.ParseToken(token); err != nil {
			b.Fatal(err)
		}
	}
}
