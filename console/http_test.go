package console_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"github.com/paymux/paymux/console"
	"github.com/paymux/paymux/internal/testdb"
)

// TestAuthHandler drives /console/auth/ over HTTPS as a browser would.
func TestAuthHandler(t *testing.T) {
	f := newFixture(t, testdb.SQLite(t))
	link, _, err := f.svc.FirstOwnerLink(f.ctx)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewTLSServer(f.svc.Handler(func(*http.Request) netip.Addr { return netip.MustParseAddr("192.0.2.9") }))
	defer srv.Close()
	hc := srv.Client()
	origin := srv.URL

	send := func(method, path, body string, h ...string) (*http.Response, map[string]any) {
		t.Helper()
		req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		for i := 0; i+1 < len(h); i += 2 {
			req.Header.Set(h[i], h[i+1])
		}
		res, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		raw, _ := io.ReadAll(res.Body)
		var out map[string]any
		if len(raw) > 0 {
			if err := json.Unmarshal(raw, &out); err != nil {
				t.Fatalf("%s %s: not JSON: %s", method, path, raw)
			}
		}
		if cc := res.Header.Get("Cache-Control"); cc != "no-store" {
			t.Errorf("%s %s: Cache-Control %q", method, path, cc)
		}
		return res, out
	}

	res, body := send("POST", "/console/auth/setup/link", `{"token":"`+link+`"}`)
	if res.StatusCode != 200 || body["email"] != "" {
		t.Fatalf("link: %d %v", res.StatusCode, body)
	}
	if res, _ := send("POST", "/console/auth/setup/link", `{"token":"cst_nope"}`); res.StatusCode != 404 {
		t.Fatalf("unknown link: %d", res.StatusCode)
	}
	res, body = send("POST", "/console/auth/setup", `{"token":"`+link+`","email":"owner@example.com","password":"owner password 1"}`, "Origin", origin)
	if res.StatusCode != 200 || body["csrfToken"] == "" {
		t.Fatalf("setup: %d %v", res.StatusCode, body)
	}

	// Refused before anything is checked: not JSON, or from another origin.
	for _, c := range []struct {
		name, contentType, origin string
	}{
		{"form post", "application/x-www-form-urlencoded", ""},
		{"text post", "text/plain", ""},
		{"other origin", "application/json", "https://evil.example"},
	} {
		req, _ := http.NewRequest("POST", srv.URL+"/console/auth/sign-in", strings.NewReader(`{"email":"owner@example.com","password":"owner password 1"}`))
		req.Header.Set("Content-Type", c.contentType)
		if c.origin != "" {
			req.Header.Set("Origin", c.origin)
		}
		res, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusForbidden || len(res.Cookies()) != 0 {
			t.Errorf("%s: %d, cookies %v", c.name, res.StatusCode, res.Cookies())
		}
	}

	res, body = send("POST", "/console/auth/sign-in", `{"email":"owner@example.com","password":"wrong password"}`)
	if res.StatusCode != 401 || body["code"] != "invalid_credentials" || len(res.Cookies()) != 0 {
		t.Fatalf("wrong password: %d %v", res.StatusCode, body)
	}
	res, body = send("POST", "/console/auth/sign-in", `{"email":"owner@example.com","password":"owner password 1"}`, "Origin", origin)
	if res.StatusCode != 200 {
		t.Fatalf("sign in: %d %v", res.StatusCode, body)
	}
	csrf, _ := body["csrfToken"].(string)
	var cookie *http.Cookie
	for _, c := range res.Cookies() {
		if c.Name == console.CookieName {
			cookie = c
		}
	}
	if cookie == nil || !cookie.HttpOnly || !cookie.Secure || cookie.SameSite != http.SameSiteStrictMode || cookie.Path != "/" ||
		!strings.HasPrefix(cookie.Value, "cs_") || cookie.Expires.IsZero() {
		t.Fatalf("session cookie: %+v", cookie)
	}
	if csrf == "" || csrf != f.svc.CSRFToken(cookie.Value) {
		t.Fatalf("csrf token %q", csrf)
	}
	withCookie := console.CookieName + "=" + cookie.Value
	if res, body := send("GET", "/console/auth/session", "", "Cookie", withCookie); res.StatusCode != 200 || body["csrfToken"] != csrf {
		t.Fatalf("session: %d %v", res.StatusCode, body)
	}
	if res, _ := send("GET", "/console/auth/session", ""); res.StatusCode != 401 {
		t.Fatalf("session without a cookie: %d", res.StatusCode)
	}
	if res, _ := send("POST", "/console/auth/sign-out", "{}", "Cookie", withCookie); res.StatusCode != http.StatusForbidden {
		t.Fatalf("sign-out without the CSRF token: %d", res.StatusCode)
	}
	res, _ = send("POST", "/console/auth/sign-out", "{}", "Cookie", withCookie, console.CSRFHeader, csrf)
	if res.StatusCode != http.StatusNoContent || len(res.Cookies()) != 1 || res.Cookies()[0].MaxAge >= 0 {
		t.Fatalf("sign-out: %d %v", res.StatusCode, res.Cookies())
	}
	if res, body := send("GET", "/console/auth/session", "", "Cookie", withCookie); res.StatusCode != 401 || body["code"] != "unauthenticated" {
		t.Fatalf("session after sign-out: %d %v", res.StatusCode, body)
	}
	// Locked out after the configured failures.
	for range 3 {
		res, body = send("POST", "/console/auth/sign-in", `{"email":"owner@example.com","password":"wrong password"}`)
	}
	if res.StatusCode != http.StatusLocked || body["code"] != "locked" || body["lockedUntil"] == "" {
		t.Fatalf("locked: %d %v", res.StatusCode, body)
	}
}

// TestAuthHandlerBehindProxy: behind a proxy that rewrites Host, the
// configured public URL is the console's own origin; any other is not.
func TestAuthHandlerBehindProxy(t *testing.T) {
	f := newFixture(t, testdb.SQLite(t))
	svc := console.New(console.Deps{Config: testConfig, DB: f.db, Keyring: f.keyring, PublicURL: "https://pay.example.com/"})
	srv := httptest.NewServer(svc.Handler(func(*http.Request) netip.Addr { return netip.Addr{} }))
	defer srv.Close()
	for origin, want := range map[string]int{
		"https://pay.example.com":  http.StatusUnauthorized, // judged: wrong email or password
		"https://evil.example.com": http.StatusForbidden,
		"http://pay.example.com":   http.StatusForbidden,
	} {
		req, _ := http.NewRequest("POST", srv.URL+"/console/auth/sign-in", strings.NewReader(`{"email":"a@example.com","password":"nope nope nope"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Origin", origin)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != want {
			t.Errorf("Origin %s: HTTP %d, want %d", origin, res.StatusCode, want)
		}
	}
}
