package authheader

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"
)

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func rawB64(s string) string { return base64.RawStdEncoding.EncodeToString([]byte(s)) }

func TestParse(t *testing.T) {
	longUser := strings.Repeat("u", 3000) // 4000 base64 bytes: just under the limit
	tests := []struct {
		name    string
		header  string
		want    Credentials
		wantErr error
	}{
		{name: "basic", header: "Basic " + b64("alice:s3cret"), want: Credentials{Scheme: SchemeBasic, User: "alice", Password: "s3cret"}},
		{name: "basic lower case", header: "basic " + b64("alice:pw"), want: Credentials{Scheme: SchemeBasic, User: "alice", Password: "pw"}},
		{name: "basic upper case", header: "BASIC " + b64("alice:pw"), want: Credentials{Scheme: SchemeBasic, User: "alice", Password: "pw"}},
		{name: "basic without padding", header: "Basic " + rawB64("ab:c"), want: Credentials{Scheme: SchemeBasic, User: "ab", Password: "c"}},
		{name: "basic split at first colon", header: "Basic " + b64("alice:pa:ss:"), want: Credentials{Scheme: SchemeBasic, User: "alice", Password: "pa:ss:"}},
		{name: "basic empty password", header: "Basic " + b64("pk_live_123:"), want: Credentials{Scheme: SchemeBasic, User: "pk_live_123"}},
		{name: "basic unicode", header: "Basic " + b64("jürgen:pässwörd €"), want: Credentials{Scheme: SchemeBasic, User: "jürgen", Password: "pässwörd €"}},
		{name: "basic spaces inside password", header: "Basic " + b64("bob:a b"), want: Credentials{Scheme: SchemeBasic, User: "bob", Password: "a b"}},
		{name: "several spaces and surrounding whitespace", header: " \tBasic    " + b64("a:b") + " \t", want: Credentials{Scheme: SchemeBasic, User: "a", Password: "b"}},
		{name: "basic near the length limit", header: "Basic " + b64(longUser+":"), want: Credentials{Scheme: SchemeBasic, User: longUser}},
		{name: "bearer", header: "Bearer abc.def-ghi_jkl~+/=", want: Credentials{Scheme: SchemeBearer, Token: "abc.def-ghi_jkl~+/="}},
		{name: "bearer upper case", header: "BEARER tok", want: Credentials{Scheme: SchemeBearer, Token: "tok"}},
		{name: "bearer mixed case and spaces", header: "  bEaReR   tok  ", want: Credentials{Scheme: SchemeBearer, Token: "tok"}},

		{name: "empty", header: "", wantErr: ErrMissing},
		{name: "only whitespace", header: " \t ", wantErr: ErrMissing},
		{name: "digest", header: `Digest username="alice"`, wantErr: ErrUnsupportedScheme},
		{name: "bare token", header: "abcdef", wantErr: ErrUnsupportedScheme},
		{name: "scheme prefix", header: "Basicx " + b64("a:b"), wantErr: ErrUnsupportedScheme},
		{name: "tab separator", header: "Bearer\ttok", wantErr: ErrUnsupportedScheme},
		{name: "basic without value", header: "Basic", wantErr: ErrMalformed},
		{name: "basic with only spaces", header: "Basic    ", wantErr: ErrMalformed},
		{name: "bearer without value", header: "Bearer ", wantErr: ErrMalformed},
		{name: "bad base64", header: "Basic !!!!", wantErr: ErrMalformed},
		{name: "bad base64 padding", header: "Basic YQ=", wantErr: ErrMalformed},
		{name: "base64 with newline", header: "Basic " + b64("alice:pw")[:4] + "\n" + b64("alice:pw")[4:], wantErr: ErrMalformed},
		{name: "url-safe base64", header: "Basic YTr__j4-", wantErr: ErrMalformed},
		{name: "non-canonical base64", header: "Basic YTp=", wantErr: ErrMalformed}, // "YTo=" is "a:"
		{name: "non-canonical raw base64", header: "Basic YTp", wantErr: ErrMalformed},
		{name: "basic value with space", header: "Basic " + b64("a:b") + " " + b64("c:d"), wantErr: ErrMalformed},
		{name: "no colon", header: "Basic " + b64("alice"), wantErr: ErrMalformed},
		{name: "empty user", header: "Basic " + b64(":pw"), wantErr: ErrMalformed},
		{name: "empty decoded value", header: "Basic =", wantErr: ErrMalformed},
		{name: "control character", header: "Basic " + b64("alice:pw\x00"), wantErr: ErrMalformed},
		{name: "newline in decoded value", header: "Basic " + b64("alice\n:pw"), wantErr: ErrMalformed},
		{name: "C1 control character", header: "Basic " + b64("alice:pw\u0085"), wantErr: ErrMalformed},
		{name: "invalid UTF-8", header: "Basic " + b64("alice:\xff"), wantErr: ErrMalformed},
		{name: "value too long", header: "Basic " + b64(strings.Repeat("u", 3100)+":"), wantErr: ErrMalformed},
		{name: "bearer too long", header: "Bearer " + strings.Repeat("t", maxValueLength+1), wantErr: ErrMalformed},
		{name: "bearer with space", header: "Bearer tok en", wantErr: ErrMalformed},
		{name: "bearer with tab", header: "Bearer tok\ten", wantErr: ErrMalformed},
		{name: "bearer with NUL", header: "Bearer tok\x00", wantErr: ErrMalformed},
		{name: "bearer with DEL", header: "Bearer tok\x7f", wantErr: ErrMalformed},
		{name: "bearer with no-break space", header: "Bearer tok\u00a0en", wantErr: ErrMalformed},
		{name: "bearer invalid UTF-8", header: "Bearer tok\xff", wantErr: ErrMalformed},
		{name: "bearer non-ASCII", header: "Bearer tökén", wantErr: ErrMalformed},
		{name: "bearer with comma", header: "Bearer a,b", wantErr: ErrMalformed},
		{name: "bearer only padding", header: "Bearer ==", wantErr: ErrMalformed},
		{name: "bearer padding inside", header: "Bearer a=b", wantErr: ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(tt.header)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("Parse(%q) = %+v, %v; want %v", tt.header, got, err, tt.wantErr)
				}
				if got != (Credentials{}) {
					t.Errorf("Parse(%q) returned credentials %+v with an error", tt.header, got)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.header, err)
			}
			if got != tt.want {
				t.Errorf("Parse(%q) = %+v, want %+v", tt.header, got, tt.want)
			}
		})
	}
}

// TestErrorsDoNotLeakSecrets guards the promise that errors are safe to log.
func TestErrorsDoNotLeakSecrets(t *testing.T) {
	const user, password, token = "alice-the-user", "hunter2-pass", "tok_9f8e7d6c"
	tests := []struct {
		header  string
		secrets []string
	}{
		{"Basic " + b64(user+password), []string{user, password, b64(user + password)}},
		{"Basic " + b64(":"+password), []string{password, b64(":" + password)}},
		{"Basic " + b64(user+":"+password+"\x01"), []string{user, password, b64(user + ":" + password + "\x01")}},
		{"Basic " + b64(user+":"+password+"\xff"), []string{user, password}},
		{"Basic " + b64(user+":"+password) + "!", []string{user, password, b64(user + ":" + password)}},
		{"Basic " + b64(user+":"+password) + " " + token, []string{user, password, token}},
		{"Basic " + strings.Repeat(b64(user+":"+password), 200), []string{user, password, b64(user + ":" + password)}},
		{"Bearer " + token + " " + token, []string{token}},
		{"Bearer " + token + "\x00", []string{token}},
		{"Bearer " + strings.Repeat(token, 400), []string{token}},
		{"Digest " + token, []string{token}},
		{token, []string{token}},
		{user + ":" + password, []string{user, password}},
	}
	for _, tt := range tests {
		_, err := Parse(tt.header)
		if err == nil {
			t.Errorf("Parse(%q) unexpectedly succeeded", tt.header)
			continue
		}
		for _, secret := range tt.secrets {
			if strings.Contains(err.Error(), secret) {
				t.Errorf("error %q contains secret %q", err, secret)
			}
		}
	}
}

func TestSchemeString(t *testing.T) {
	for s, want := range map[Scheme]string{SchemeBasic: "Basic", SchemeBearer: "Bearer", 0: "Scheme(0)"} {
		if got := s.String(); got != want {
			t.Errorf("Scheme(%d).String() = %q, want %q", int(s), got, want)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"Basic " + b64("alice:s3cret"), "basic " + rawB64("a:b:c"), "Basic " + b64("key:"), "BEARER abc.def",
		"Bearer tok en", "Basic YQ=", "Basic " + b64(":pw"), "Basic " + b64("a:\x00"), "Digest x", "", "  ",
		"Basic", "bearer\ttok", "Basic " + b64("jürgen:€"),
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, header string) {
		got, err := Parse(header)
		if err != nil {
			if !errors.Is(err, ErrMissing) && !errors.Is(err, ErrUnsupportedScheme) && !errors.Is(err, ErrMalformed) {
				t.Fatalf("Parse(%q): error %v wraps no sentinel", header, err)
			}
			if len(header) > 8 && strings.Contains(err.Error(), header) {
				t.Fatalf("Parse(%q): error %q contains the header", header, err)
			}
			return
		}
		switch got.Scheme {
		case SchemeBasic:
			// Raw encoding is never longer than an accepted input, so the
			// length limit can't reject the re-encoded value.
			again, err := Parse("Basic " + rawB64(got.User+":"+got.Password))
			if err != nil || again != got {
				t.Fatalf("Parse(%q) = %+v, but re-encoded it parses as %+v, %v", header, got, again, err)
			}
		case SchemeBearer:
			if got.Token == "" || got.User != "" || got.Password != "" {
				t.Fatalf("Parse(%q) = %+v: bad Bearer credentials", header, got)
			}
		default:
			t.Fatalf("Parse(%q) = %+v: unknown scheme", header, got)
		}
	})
}
