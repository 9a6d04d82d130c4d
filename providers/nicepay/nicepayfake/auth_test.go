package nicepayfake_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/paymux/paymux/providers/nicepay/nicepayfake"
)

func TestBasicAuth(t *testing.T) {
	f, _ := start(t)
	tests := []struct {
		name, auth string
		want       int
	}{
		{"README.md example header", "Basic UzJfYWY0NTQzYTBiZTRkNDlhOTgxMjJlMDFlYzIwNTlhNTY6OWViODU2MDcxMDM2NDZkYTlmOWMwMmIxMjhmMmU1ZWU=", http.StatusOK},
		{"common/test.md key pair", basic(nicepayfake.TestGuideClientID, nicepayfake.TestGuideSecretKey), http.StatusOK},
		{"client-approval key pair", basic(nicepayfake.ClientApprovalID, nicepayfake.ClientApprovalSecret), http.StatusOK},
		{"missing", "", http.StatusUnauthorized},
		{"wrong secret", basic(nicepayfake.SandboxClientID, nicepayfake.TestGuideSecretKey), http.StatusUnauthorized},
		{"unknown client key", basic("S2_nobody", nicepayfake.SandboxSecretKey), http.StatusUnauthorized},
		{"not base64", "Basic %%%", http.StatusUnauthorized},
		{"unknown scheme", "Digest x", http.StatusUnauthorized},
		{"unknown bearer", "Bearer abc", http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newClient(t, f)
			c.auth = tt.auth
			st, m := c.call("GET", "/v1/payments/UT0000113m01012111051714341073", nil)
			if st != tt.want {
				t.Fatalf("HTTP %d %v, want %d", st, m, tt.want)
			}
			if st == http.StatusOK && m["resultCode"] != "A118" {
				t.Errorf("unknown tid: %v, want A118", m["resultCode"])
			}
			if st == http.StatusUnauthorized && m["resultCode"] == "0000" {
				t.Errorf("401 with resultCode 0000")
			}
		})
	}
}

func TestBearerToken(t *testing.T) {
	f, clk := start(t)
	c := newClient(t, f)
	m := c.ok("POST", "/v1/access-token", nil)
	tok, _ := m["accessToken"].(string)
	if tok == "" || m["tokenType"] != "Bearer" {
		t.Fatalf("token answer %v", m)
	}
	exp, err := time.Parse("2006-01-02T15:04:05.000-0700", m["expireAt"].(string))
	if err != nil || !exp.Equal(clk.Now().Add(30*time.Minute)) {
		t.Fatalf("expireAt %v (%v), want now+30m", m["expireAt"], err)
	}
	clk.Add(10 * time.Minute)
	if again := c.ok("POST", "/v1/access-token", obj{"returnCharSet": "utf-8"}); again["accessToken"] != tok || again["expireAt"] != m["expireAt"] {
		t.Errorf("second ask while valid: %v, want the same token and expiry", again)
	}

	b := newClient(t, f)
	b.auth = "Bearer " + tok
	if got := b.code("GET", "/v1/payments/nosuchtid", nil); got != "A118" {
		t.Errorf("Bearer call: %s", got)
	}
	if st, _ := b.call("POST", "/v1/access-token", nil); st != http.StatusUnauthorized {
		t.Errorf("access-token with Bearer: HTTP %d, want 401 (Basic only)", st)
	}

	clk.Add(21 * time.Minute)
	if st, _ := b.call("GET", "/v1/payments/nosuchtid", nil); st != http.StatusUnauthorized {
		t.Errorf("expired token: HTTP %d, want 401", st)
	}
	if renewed := c.ok("POST", "/v1/access-token", nil); renewed["accessToken"] == tok {
		t.Errorf("after expiry the same token came back")
	}
}

func TestRequestMustBeJSON(t *testing.T) {
	f, _ := start(t)
	req, _ := http.NewRequest("POST", f.URL+"/v1/payments/x", strings.NewReader("amount=1004"))
	req.Header.Set("Authorization", basic(nicepayfake.SandboxClientID, nicepayfake.SandboxSecretKey))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m obj
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil || m["resultCode"] != "A212" {
		t.Errorf("form body: %v %v, want A212", m, err)
	}
	// No body at all is a request without fields.
	if got := newClient(t, f).code("POST", "/v1/payments/x", nil); got != "A117" {
		t.Errorf("approve without amount: %s, want A117", got)
	}
}
