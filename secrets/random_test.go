package secrets

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

func TestRandomStringLengthAndAlphabet(t *testing.T) {
	for _, n := range []int{-1, 0, 1, 20, 100, 1000} {
		s := RandomString(n)
		if want := max(n, 0); len(s) != want {
			t.Errorf("len(RandomString(%d)) = %d, want %d", n, len(s), want)
		}
		if i := strings.IndexFunc(s, func(r rune) bool { return !strings.ContainsRune(alphanumeric, r) }); i >= 0 {
			t.Errorf("RandomString(%d) = %q has non-alphanumeric at %d", n, s, i)
		}
	}
}

func TestRandomStringCoversAlphabet(t *testing.T) {
	// Each character is missed with probability (61/62)^12400 ≈ 1e-88.
	s := RandomString(len(alphanumeric) * 200)
	for _, c := range alphanumeric {
		if !strings.ContainsRune(s, c) {
			t.Errorf("character %q never appeared", c)
		}
	}
}

func TestRandomStringFromRejectionSampling(t *testing.T) {
	// Feed every byte value once, highest first so that 255..248 come first
	// and must be skipped; the 248 accepted bytes must then map onto each of
	// the 62 characters exactly 4 times.
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(255 - i)
	}
	// Trailing padding because the helper reads in batches; it is never used.
	s, err := randomStringFrom(bytes.NewReader(append(all, make([]byte, 64)...)), acceptBelow)
	if err != nil {
		t.Fatal(err)
	}
	counts := map[rune]int{}
	for _, c := range s {
		counts[c]++
	}
	if len(counts) != len(alphanumeric) {
		t.Errorf("got %d distinct characters, want %d", len(counts), len(alphanumeric))
	}
	for c, n := range counts {
		if n != 4 {
			t.Errorf("character %q appeared %d times, want 4", c, n)
		}
	}

	tests := []struct {
		name  string
		input []byte
		n     int
		want  string
	}{
		{"first and last accepted", []byte{0, 61, 62, 247}, 4, "0z0z"},
		{"rejected bytes skipped", []byte{248, 255, 1, 250, 36}, 2, "1a"},
		{"only rejected then accepted", append(bytes.Repeat([]byte{255}, 50), 10), 1, "A"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Pad with zeros since the helper reads in batches.
			input := append(bytes.Clone(tt.input), make([]byte, 1024)...)
			got, err := randomStringFrom(bytes.NewReader(input), tt.n)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestRandomStringFromReaderError(t *testing.T) {
	_, err := randomStringFrom(bytes.NewReader(make([]byte, 3)), 10)
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("error = %v, want wrapped io.ErrUnexpectedEOF", err)
	}
}

func TestNewID(t *testing.T) {
	id := NewID("key")
	rest, ok := strings.CutPrefix(id, "key_")
	if !ok || len(rest) != 20 {
		t.Fatalf("NewID(\"key\") = %q, want key_ + 20 characters", id)
	}
	if NewID("key") == id {
		t.Error("two NewID calls returned the same id")
	}
}
