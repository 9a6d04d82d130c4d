package webhook

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"testing"
	"time"
)

// The Standard Webhooks test vector, used by the specification's reference
// libraries (libraries/go/webhook_test.go, TestWebhookSign) and by Svix's
// manual-verification docs.
const (
	vectorSecret    = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	vectorMsgID     = "msg_p5jXN8AQM9LWM0D4loKWxJek"
	vectorUnix      = 1614265330
	vectorBody      = `{"test": 2432232314}`
	vectorSignature = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
)

func mustParseSecret(t testing.TB, s string) []byte {
	t.Helper()
	key, err := ParseSecret(s)
	if err != nil {
		t.Fatalf("ParseSecret(%q): %v", s, err)
	}
	return key
}

func TestSignSpecVector(t *testing.T) {
	key := mustParseSecret(t, vectorSecret)
	ts := time.Unix(vectorUnix, 0)

	if got := Sign([][]byte{key}, vectorMsgID, ts, []byte(vectorBody)); got != vectorSignature {
		t.Errorf("Sign = %q, want %q", got, vectorSignature)
	}

	h := http.Header{}
	h.Set("Webhook-Id", vectorMsgID)
	h.Set("Webhook-Timestamp", "1614265330")
	h.Set("Webhook-Signature", vectorSignature)
	if err := Verify(key, h, []byte(vectorBody), ts.Add(10*time.Second), 0); err != nil {
		t.Errorf("Verify(spec vector) = %v, want nil", err)
	}
}

// referenceSignature follows the specification's text directly, sharing no
// code with Sign: sign "{msg_id}.{timestamp}.{payload}" with HMAC-SHA256 and
// write "v1," + base64.
func referenceSignature(key []byte, msgID string, unix int64, body []byte) string {
	content := fmt.Sprintf("%s.%d.%s", msgID, unix, body)
	m := hmac.New(sha256.New, key)
	m.Write([]byte(content))
	return "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil))
}

func TestSignMatchesIndependentImplementation(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 2))
	randomBytes := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rnd.UintN(256))
		}
		return b
	}
	for i := range 200 {
		keys := make([][]byte, 1+rnd.IntN(3))
		for k := range keys {
			keys[k] = randomBytes(MinSecretBytes + rnd.IntN(MaxSecretBytes-MinSecretBytes+1))
		}
		msgID := fmt.Sprintf("msg_%d_%x", i, randomBytes(8))
		unix := rnd.Int64N(4_000_000_000)
		body := randomBytes(rnd.IntN(300))

		want := make([]string, len(keys))
		for k, key := range keys {
			want[k] = referenceSignature(key, msgID, unix, body)
		}
		// Sub-second parts must not leak into the signed timestamp.
		ts := time.Unix(unix, rnd.Int64N(1e9))
		if got := Sign(keys, msgID, ts, body); got != strings.Join(want, " ") {
			t.Fatalf("case %d: Sign = %q, want %q", i, got, strings.Join(want, " "))
		}
	}
}

func TestSignRotationOrderAndEmpty(t *testing.T) {
	current, old := bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 32)
	ts := time.Unix(1700000000, 0)
	body := []byte("{}")

	got := strings.Split(Sign([][]byte{current, old}, "msg_1", ts, body), " ")
	want := []string{referenceSignature(current, "msg_1", ts.Unix(), body), referenceSignature(old, "msg_1", ts.Unix(), body)}
	if len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("Sign(current, old) = %q, want %q", got, want)
	}
	if got := Sign(nil, "msg_1", ts, body); got != "" {
		t.Errorf("Sign(no secrets) = %q, want empty", got)
	}
}

func TestNewSecret(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		s := NewSecret()
		if !strings.HasPrefix(s, SecretPrefix) {
			t.Fatalf("NewSecret() = %q, want prefix %q", s, SecretPrefix)
		}
		key := mustParseSecret(t, s)
		if len(key) != 32 {
			t.Fatalf("NewSecret() key is %d bytes, want 32", len(key))
		}
		if seen[s] {
			t.Fatalf("NewSecret() repeated %q", s)
		}
		seen[s] = true
	}
}

func TestParseSecret(t *testing.T) {
	b64 := func(n int) string { return base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{0xfb}, n)) }
	tests := []struct {
		name    string
		in      string
		wantLen int // 0: want an error
	}{
		{"spec vector", vectorSecret, 24},
		{"without prefix", strings.TrimPrefix(vectorSecret, SecretPrefix), 24},
		{"32 bytes", SecretPrefix + b64(32), 32},
		{"64 bytes", SecretPrefix + b64(64), 64},
		{"23 bytes", SecretPrefix + b64(23), 0},
		{"65 bytes", SecretPrefix + b64(65), 0},
		{"empty", "", 0},
		{"prefix only", SecretPrefix, 0},
		{"not base64", SecretPrefix + "not base64 at all, no no no!!", 0},
		{"url-safe alphabet", SecretPrefix + strings.NewReplacer("+", "-", "/", "_").Replace(b64(32)), 0},
		{"missing padding", SecretPrefix + strings.TrimRight(b64(32), "="), 0},
		{"embedded newline", SecretPrefix + b64(24)[:16] + "\n" + b64(24)[16:], 0},
		{"non-zero padding bits", SecretPrefix + b64(32)[:42] + "9=", 0},
		{"doubled prefix", SecretPrefix + vectorSecret, 0},
		{"surrounding space", " " + vectorSecret, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key, err := ParseSecret(tt.in)
			if tt.wantLen == 0 {
				if err == nil {
					t.Fatalf("ParseSecret(%q) = %d bytes, want an error", tt.in, len(key))
				}
				if !errors.Is(err, ErrInvalidSecret) {
					t.Errorf("error %v does not wrap ErrInvalidSecret", err)
				}
				if enc := strings.TrimPrefix(tt.in, SecretPrefix); len(enc) > 8 && strings.Contains(err.Error(), enc) {
					t.Errorf("error %q contains the secret", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseSecret(%q): %v", tt.in, err)
			}
			if len(key) != tt.wantLen {
				t.Errorf("ParseSecret(%q) = %d bytes, want %d", tt.in, len(key), tt.wantLen)
			}
		})
	}
}

func TestHeaders(t *testing.T) {
	h := Headers("msg_1", time.Unix(1614265330, 999_000_000), "v1,abc v1,def")
	want := map[string]string{
		"webhook-id":        "msg_1",
		"webhook-timestamp": "1614265330",
		"webhook-signature": "v1,abc v1,def",
	}
	if len(h) != len(want) {
		t.Errorf("Headers has %d keys, want %d: %v", len(h), len(want), h)
	}
	for k, v := range want {
		if got := h.Values(k); len(got) != 1 || got[0] != v {
			t.Errorf("header %s = %q, want [%q]", k, got, v)
		}
	}
}

func TestVerify(t *testing.T) {
	key := mustParseSecret(t, vectorSecret)
	oldKey := bytes.Repeat([]byte{7}, 32)
	signedAt := time.Unix(1700000000, 0)
	body := []byte(`{"type":"payment.approved"}`)
	valid := Sign([][]byte{key}, "msg_1", signedAt, body)
	otherSig := referenceSignature(oldKey, "msg_1", signedAt.Unix(), body)

	tests := []struct {
		name      string
		id, ts    string
		sig       string
		body      string
		now       time.Time
		tolerance time.Duration
		want      error
	}{
		{name: "valid", sig: valid},
		{name: "missing id", id: "-", sig: valid, want: ErrMissingHeaders},
		{name: "missing timestamp", ts: "-", sig: valid, want: ErrMissingHeaders},
		{name: "missing signature", sig: "", want: ErrMissingHeaders},
		{name: "timestamp not a number", ts: "yesterday", sig: valid, want: ErrTimestamp},
		{name: "timestamp with plus sign", ts: "+1700000000", sig: valid, want: ErrTimestamp},
		{name: "timestamp negative", ts: "-1700000000", sig: valid, want: ErrTimestamp},
		{name: "timestamp fractional", ts: "1700000000.5", sig: valid, want: ErrTimestamp},
		{name: "timestamp in milliseconds", ts: "1700000000000", sig: valid, want: ErrTimestamp},
		{name: "timestamp overflows", ts: "99999999999999999999999", sig: valid, want: ErrTimestamp},
		{name: "5 minutes late is fine", sig: valid, now: signedAt.Add(5 * time.Minute)},
		{name: "5 minutes early is fine", sig: valid, now: signedAt.Add(-5 * time.Minute)},
		{name: "too old", sig: valid, now: signedAt.Add(5*time.Minute + time.Second), want: ErrTimestamp},
		{name: "too new", sig: valid, now: signedAt.Add(-5*time.Minute - time.Second), want: ErrTimestamp},
		{name: "custom tolerance", sig: valid, now: signedAt.Add(time.Hour), tolerance: 2 * time.Hour},
		{name: "custom tolerance exceeded", sig: valid, now: signedAt.Add(time.Minute), tolerance: 30 * time.Second, want: ErrTimestamp},
		{name: "wrong key", sig: otherSig, want: ErrSignature},
		{name: "body changed", sig: valid, body: `{"type":"payment.cancelled"}`, want: ErrSignature},
		{name: "id changed", id: "msg_2", sig: valid, want: ErrSignature},
		{name: "timestamp changed", ts: "1700000001", sig: valid, want: ErrSignature},
		{name: "rotation, match second", sig: otherSig + " " + valid},
		{name: "rotation, match first", sig: valid + " " + otherSig},
		{name: "extra spaces", sig: "  " + otherSig + "   " + valid + " "},
		{name: "right digest under another version", sig: "v1a,xyz v2," + strings.TrimPrefix(valid, "v1,"), want: ErrSignature},
		{name: "other versions then v1", sig: "v1a,xyz v2,abc " + valid},
		{name: "no version", sig: strings.TrimPrefix(valid, "v1,"), want: ErrSignature},
		{name: "uppercase version", sig: "V1," + strings.TrimPrefix(valid, "v1,"), want: ErrSignature},
		{name: "truncated signature", sig: valid[:len(valid)-2], want: ErrSignature},
		{name: "signature plus junk", sig: valid + "x", want: ErrSignature},
		{name: "empty v1", sig: "v1,", want: ErrSignature},
		{name: "comma only", sig: ",", want: ErrSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			set := func(name, value, def string) {
				switch value {
				case "-":
				case "":
					h.Set(name, def)
				default:
					h.Set(name, value)
				}
			}
			set(HeaderID, tt.id, "msg_1")
			set(HeaderTimestamp, tt.ts, "1700000000")
			if tt.sig != "" {
				h.Set(HeaderSignature, tt.sig)
			}
			b := body
			if tt.body != "" {
				b = []byte(tt.body)
			}
			now := tt.now
			if now.IsZero() {
				now = signedAt
			}
			err := Verify(key, h, b, now, tt.tolerance)
			if tt.want == nil && err != nil {
				t.Fatalf("Verify = %v, want nil", err)
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Fatalf("Verify = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestVerifyEmptySecret(t *testing.T) {
	ts := time.Unix(1700000000, 0)
	// Signed with the empty key, which anybody could do.
	sig := Sign([][]byte{{}}, "msg_1", ts, nil)
	err := Verify(nil, Headers("msg_1", ts, sig), nil, ts, 0)
	if !errors.Is(err, ErrSignature) {
		t.Fatalf("Verify(empty secret) = %v, want ErrSignature", err)
	}
}

func TestSignVerifyRoundTrip(t *testing.T) {
	current, old := mustParseSecret(t, NewSecret()), mustParseSecret(t, NewSecret())
	ts := time.Unix(1700000000, 0)
	body := []byte("amount=1000&orderId=A-1")
	h := Headers("msg_abc", ts, Sign([][]byte{current, old}, "msg_abc", ts, body))
	for name, key := range map[string][]byte{"current": current, "old": old} {
		if err := Verify(key, h, body, ts.Add(time.Minute), 0); err != nil {
			t.Errorf("Verify with %s secret = %v", name, err)
		}
	}
	if err := Verify(mustParseSecret(t, NewSecret()), h, body, ts, 0); !errors.Is(err, ErrSignature) {
		t.Errorf("Verify with unrelated secret = %v, want ErrSignature", err)
	}
}
