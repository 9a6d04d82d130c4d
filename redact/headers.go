package redact

import (
	"net/http"
	"slices"
	"strings"
)

// Headers returns the headers to store in a log, one entry per canonical
// name with its values joined by ", ", each value masked by HeaderValue.
// Names are kept (masked by the Text rules like any text); nothing is
// dropped, so a log shows that an Authorization header was sent and with
// which scheme.
func Headers(h http.Header) map[string]string {
	out := make(map[string]string, len(h))
	names := make([]string, 0, len(h))
	for name := range h {
		names = append(names, name)
	}
	slices.Sort(names) // deterministic when two spellings share a canonical name
	for _, name := range names {
		vals := h[name]
		canon := String(http.CanonicalHeaderKey(name))
		masked := make([]string, len(vals))
		for i, v := range vals {
			masked[i] = HeaderValue(name, v)
		}
		joined := strings.Join(masked, ", ")
		if prev, ok := out[canon]; ok {
			joined = prev + ", " + joined
		}
		out[canon] = joined
	}
	return out
}

// HeaderValue masks one value of header name:
//
//   - Authorization, Proxy-Authorization (and any name containing
//     "authorization"): the scheme word is kept, the credentials become
//     "[REDACTED]" ("Basic [REDACTED]"; a value without a scheme:
//     "[REDACTED]").
//   - Cookie: every cookie keeps its name, its value becomes "[REDACTED]".
//   - Set-Cookie: the cookie's value becomes "[REDACTED]"; its attributes
//     (Path, Expires, HttpOnly, ...) are kept.
//   - webhook-id, webhook-timestamp, webhook-signature, Idempotency-Key:
//     kept (Text rules only). A webhook signature is an HMAC output: it
//     reveals nothing of the signing secret and cannot sign anything else,
//     and it is what one compares when a receiver rejects a delivery.
//   - Any other name is classified like a JSON key ("X-Api-Key",
//     "X-Auth-Token" → "[REDACTED]"; "X-Customer-Phone" → identity mask),
//     and the value then gets the Text rules.
func HeaderValue(name, value string) string {
	switch strings.ToLower(name) {
	case "cookie":
		return maskCookies(value)
	case "set-cookie":
		return maskSetCookie(value)
	case "webhook-id", "webhook-timestamp", "webhook-signature", "idempotency-key":
		return String(value)
	}
	return maskClass(classifyKey(name, ""), value)
}

// maskCookies masks a Cookie header: "a=1; b=2" → "a=[REDACTED]; b=[REDACTED]".
func maskCookies(v string) string {
	parts := strings.Split(v, ";")
	for i, p := range parts {
		parts[i] = maskCookiePair(p)
	}
	return strings.Join(parts, ";")
}

// maskSetCookie masks the first pair of a Set-Cookie header and keeps the
// attributes.
func maskSetCookie(v string) string {
	first, attrs, ok := strings.Cut(v, ";")
	if !ok {
		return maskCookiePair(first)
	}
	return maskCookiePair(first) + ";" + String(attrs)
}

func maskCookiePair(p string) string {
	name, val, ok := strings.Cut(p, "=")
	if !ok {
		if strings.TrimSpace(p) == "" {
			return p
		}
		return Redacted
	}
	if val == "" {
		return String(name) + "="
	}
	return String(name) + "=" + Redacted
}
