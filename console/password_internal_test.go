package console

import (
	"strings"
	"testing"
)

func TestPasswordHash(t *testing.T) {
	h, err := hashPassword("correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("hash %q", h)
	}
	h2, _ := hashPassword("correct horse battery")
	if h == h2 {
		t.Fatal("two hashes of one password are equal: no salt")
	}
	for _, c := range []struct {
		encoded, password string
		want              bool
	}{
		{h, "correct horse battery", true},
		{h, "correct horse batterY", false},
		{h, "", false},
		{strings.Replace(h, "argon2id", "argon2i", 1), "correct horse battery", false},
		{strings.Replace(h, "t=2", "t=3", 1), "correct horse battery", false},
		{strings.Replace(h, "m=19456", "m=99999999", 1), "correct horse battery", false},
		{"", "", false},
		{"$argon2id$v=19$m=19456,t=2,p=1$$", "", false},
	} {
		if got := passwordMatches(c.encoded, c.password); got != c.want {
			t.Errorf("passwordMatches(%q, %q) = %v", c.encoded, c.password, got)
		}
	}
}

// FuzzPasswordMatches: a stored hash in any shape is refused or checked,
// never a panic, and nothing but an argon2id hash ever matches.
func FuzzPasswordMatches(f *testing.F) {
	f.Add("$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaA", "pw")
	f.Add("$argon2id$v=19$m=1,t=1,p=1$$", "")
	f.Add("$$$$$", "x")
	f.Fuzz(func(t *testing.T, encoded, password string) {
		if len(encoded) > 300 {
			return
		}
		if passwordMatches(encoded, password) && !strings.Contains(encoded, "$argon2id$") {
			t.Fatalf("%q matched", encoded)
		}
	})
}

func TestCheckPassword(t *testing.T) {
	for _, c := range []struct {
		password, email string
		ok              bool
	}{
		{"123456789", "a@example.com", false},
		{"1234567890", "a@example.com", true},
		{"비밀번호는열글자이상", "a@example.com", true},
		{"A@Example.com", "a@example.com", false},
		{strings.Repeat("x", 129), "a@example.com", false},
	} {
		if got := checkPassword(c.password, c.email) == ""; got != c.ok {
			t.Errorf("checkPassword(%q) ok = %v", c.password, got)
		}
	}
}
