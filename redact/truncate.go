package redact

import "unicode/utf8"

// Truncate bounds a body to at most n bytes for storage, cutting before a
// UTF-8 sequence rather than through it, so that valid UTF-8 stays valid.
// It reports whether anything was cut. The result shares b's array (with
// its capacity limited to its length). Truncate after masking, never before:
// a cut document may no longer parse, and then only the Text rules apply.
func Truncate(b []byte, n int) ([]byte, bool) {
	if len(b) <= n {
		return b, false
	}
	if n <= 0 {
		return b[:0:0], true
	}
	cut := n
	for k := 0; k < utf8.UTFMax-1 && cut > 0 && !utf8.RuneStart(b[cut]); k++ {
		cut--
	}
	return b[:cut:cut], true
}
