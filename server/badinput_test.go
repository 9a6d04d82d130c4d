package server_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/paymux/paymux/apierr"
	"github.com/paymux/paymux/ent"
	paymuxv1 "github.com/paymux/paymux/gen/paymux/v1"
)

func bxB64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// TestMalformedAuthorization: every Authorization header paymux cannot use
// is Unauthenticated with the reason naming why, on every surface.
func TestMalformedAuthorization(t *testing.T) {
	ts := startServer(t, openSQLite(t))
	cases := []struct {
		name   string
		header string
		reason string
		noGRPC bool // grpc-go refuses to send the value
	}{
		{"basic without value", "Basic", apierr.ReasonCredentialsMalformed, false},
		{"basic not base64", "Basic !!!", apierr.ReasonCredentialsMalformed, false},
		{"basic without colon", "Basic " + bxB64("nocolon"), apierr.ReasonCredentialsMalformed, false},
		{"basic empty user", "Basic " + bxB64(":sk_test_x"), apierr.ReasonCredentialsMalformed, false},
		{"basic control character", "Basic " + bxB64("ck_test_x:a\x01b"), apierr.ReasonCredentialsMalformed, false},
		{"basic secret as user", "Basic " + bxB64("sk_test_x:y"), apierr.ReasonCredentialsMalformed, false},
		{"basic too long", "Basic " + strings.Repeat("QUFB", 1100), apierr.ReasonCredentialsMalformed, false},
		{"bearer without value", "Bearer", apierr.ReasonCredentialsMalformed, false},
		{"bearer with space", "Bearer a b", apierr.ReasonCredentialsMalformed, false},
		{"bearer secret key", "Bearer sk_test_abc", apierr.ReasonCredentialsMalformed, false},
		{"digest", "Digest abc", apierr.ReasonCredentialsMalformed, false},
		{"bare token", "sk_test_abc", apierr.ReasonCredentialsMalformed, false},
		{"unknown client key", basicAuth("ck_test_unknown", "sk_test_whatever"), apierr.ReasonKeyUnknown, false},
		{"unknown client key as bearer", "Bearer ck_test_unknown", apierr.ReasonKeyUnknown, false},
		{"garbage access token", "Bearer at_garbage", apierr.ReasonTokenInvalid, false},
		{"unknown token", "Bearer zzz", apierr.ReasonTokenInvalid, false},
		{"wrong admin token", "Bearer pma_" + strings.Repeat("x", 30), apierr.ReasonAdminTokenInvalid, false},
		// grpc-go only sends printable ASCII in metadata values, so this
		// one is not sendable over grpc; HTTP clients send it as is.
		{"non-ascii token", "Bearer tökén", apierr.ReasonCredentialsMalformed, true},
	}
	for _, sf := range surfaces {
		for _, c := range cases {
			if sf.name == "grpc" && c.noGRPC {
				continue // grpc-go cannot send a non-printable metadata value
			}
			t.Run(sf.name+"/"+c.name, func(t *testing.T) {
				wantRefusal(t, sf.call(t, ts, listKeys(""), headers("Authorization", c.header)), connect.CodeUnauthenticated, c.reason)
			})
		}
	}
}

// TestErrorsDoNotEchoCredentials: whatever is wrong with a credential, the
// error (the whole REST body, the message elsewhere) never repeats it.
func TestErrorsDoNotEchoCredentials(t *testing.T) {
	ts := startServer(t, openSQLite(t))
	const secret = "sk_test_Zq8SecretValueNeverEchoed42"
	cases := []struct {
		name, header, reason string
	}{
		{"wrong secret", basicAuth(ts.First.ClientKey, secret), apierr.ReasonSecretMismatch},
		{"unknown client key", basicAuth("ck_test_unknownKey", secret), apierr.ReasonKeyUnknown},
		{"secret as bearer", bearer(secret), apierr.ReasonCredentialsMalformed},
		{"secret as user", basicAuth(secret, "x"), apierr.ReasonCredentialsMalformed},
		{"secret without colon", "Basic " + bxB64(secret), apierr.ReasonCredentialsMalformed},
		{"secret with control char", basicAuth(ts.First.ClientKey, secret+"\x01"), apierr.ReasonCredentialsMalformed},
		{"access token", bearer("at_" + secret), apierr.ReasonTokenInvalid},
		{"bare secret", secret, apierr.ReasonCredentialsMalformed},
		{"bare secret after scheme", "Token " + secret, apierr.ReasonCredentialsMalformed},
	}
	for _, sf := range surfaces {
		for _, c := range cases {
			t.Run(sf.name+"/"+c.name, func(t *testing.T) {
				got := sf.call(t, ts, listKeys(""), headers("Authorization", c.header))
				wantError(t, got, connect.CodeUnauthenticated, c.reason)
				for _, leak := range []string{secret, "Zq8SecretValue", bxB64(secret)} {
					if strings.Contains(got.message, leak) {
						t.Fatalf("error message echoes the credential: %q", got.message)
					}
				}
			})
		}
		if sf.name == "rest" {
			for _, c := range cases {
				_, raw := rawHTTP(t, http.DefaultClient, http.MethodGet, ts.URL+"/v1/keys", nil, headers("Authorization", c.header))
				if bytes.Contains(raw, []byte("Zq8SecretValue")) {
					t.Fatalf("%s: REST error body echoes the credential: %s", c.name, raw)
				}
			}
		}
	}
}

// TestOversizedRequest: a body over max_request_bytes is refused before
// any work, on every surface; one under it reaches validation.
func TestOversizedRequest(t *testing.T) {
	ts := startServer(t, openSQLite(t), func(c *configT) { c.MaxRequestBytes = 4096 })
	key := headers("Authorization", ts.firstKeyAuth())
	big := createIPRule("", "10.0.0.0/8", strings.Repeat("x", 8<<10))
	for _, sf := range surfaces {
		t.Run(sf.name+"/too large", func(t *testing.T) {
			got := sf.call(t, ts, big, key)
			if got.code != connect.CodeResourceExhausted {
				t.Fatalf("8 KiB request: got %v, want ResourceExhausted", got)
			}
			if sf.name == "rest" && (got.httpStatus != http.StatusRequestEntityTooLarge || got.reason != apierr.ReasonRequestTooLarge) {
				t.Fatalf("REST: got %d %v, want 413 REQUEST_TOO_LARGE", got.httpStatus, got)
			}
		})
		t.Run(sf.name+"/under the limit", func(t *testing.T) {
			wantInvalid(t, sf.call(t, ts, createIPRule("", "10.0.0.0/8", strings.Repeat("x", 3<<10)), key), "description")
		})
	}

	t.Run("rest/chunked", func(t *testing.T) {
		// No Content-Length: the limit must hold while reading.
		body := io.MultiReader(strings.NewReader(`{"cidr":"10.0.0.0/8","description":"`),
			strings.NewReader(strings.Repeat("x", 8<<10)), strings.NewReader(`"}`))
		req, err := http.NewRequest(http.MethodPost, ts.URL+"/v1/ip-rules", body)
		if err != nil {
			t.Fatal(err)
		}
		req.ContentLength = -1
		req.TransferEncoding = []string{"chunked"}
		req.Header.Set("Authorization", ts.firstKeyAuth())
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusRequestEntityTooLarge && resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("chunked 8 KiB body: status %d %s, want 413 or 400", resp.StatusCode, raw)
		}
		if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			t.Fatalf("Content-Type %q, want JSON", ct)
		}
		got := restError(t, resp.StatusCode, raw)
		if got.code != connect.CodeResourceExhausted && got.code != connect.CodeInvalidArgument {
			t.Fatalf("chunked 8 KiB body: %v", got)
		}
	})
	if cidrs := ruleCIDRs(t, ts, ts.First.StoreID); len(cidrs) != 0 {
		t.Fatalf("oversized requests created rules: %q", cidrs)
	}
}

// TestUnknownJSONFields: a misspelt field is an error on both JSON
// surfaces, never silently ignored, and nothing is written. (A LIVE key:
// a TEST key may not create rules, which would spoil the control request.)
func TestUnknownJSONFields(t *testing.T) {
	ts := startServer(t, openSQLite(t))
	auth := headers("Authorization", liveKeyAuth(t, ts))
	body := `{"cidr":"10.0.0.0/8","bogus":1}`

	t.Run("rest", func(t *testing.T) {
		resp, raw := rawHTTP(t, http.DefaultClient, http.MethodPost, ts.URL+"/v1/ip-rules", strings.NewReader(body), auth)
		if resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("status %d %s, want 400", resp.StatusCode, raw)
		}
		wantError(t, restError(t, resp.StatusCode, raw), connect.CodeInvalidArgument, apierr.ReasonInvalidArgument)
	})
	t.Run("connect-json", func(t *testing.T) {
		h := auth.Clone()
		h.Set("Content-Type", "application/json")
		resp, raw := rawHTTP(t, http.DefaultClient, http.MethodPost, ts.URL+"/paymux.v1.IPRuleService/CreateIPRule", strings.NewReader(body), h)
		if resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("status %d %s, want 400", resp.StatusCode, raw)
		}
		var e struct{ Code string }
		if err := json.Unmarshal(raw, &e); err != nil || e.Code != "invalid_argument" {
			t.Fatalf("Connect error body %s: code %q, want invalid_argument (%v)", raw, e.Code, err)
		}
	})
	if cidrs := ruleCIDRs(t, ts, ts.First.StoreID); len(cidrs) != 0 {
		t.Fatalf("a request with an unknown field created rules: %q", cidrs)
	}
	// The same body without the bogus field works: the refusals above are
	// about the field.
	resp, raw := rawHTTP(t, http.DefaultClient, http.MethodPost, ts.URL+"/v1/ip-rules", strings.NewReader(`{"cidr":"10.0.0.0/8"}`), auth)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("control request: %d %s", resp.StatusCode, raw)
	}
}

// TestRESTRouting: bodies that are not JSON, paths and methods that do not
// exist all get a JSON error with a reason.
func TestRESTRouting(t *testing.T) {
	ts := startServer(t, openSQLite(t))
	auth := headers("Authorization", ts.firstKeyAuth())
	cases := []struct {
		name, method, path, body string
		status                   []int
		code                     connect.Code
		reason                   string
	}{
		{"not json", http.MethodPost, "/v1/ip-rules", "cidr=10.0.0.0/8", []int{400}, connect.CodeInvalidArgument, apierr.ReasonInvalidArgument},
		{"truncated json", http.MethodPost, "/v1/ip-rules", `{"cidr":`, []int{400}, connect.CodeInvalidArgument, apierr.ReasonInvalidArgument},
		{"json array", http.MethodPost, "/v1/ip-rules", `["10.0.0.0/8"]`, []int{400}, connect.CodeInvalidArgument, apierr.ReasonInvalidArgument},
		{"wrong field type", http.MethodPost, "/v1/ip-rules", `{"cidr":8}`, []int{400}, connect.CodeInvalidArgument, apierr.ReasonInvalidArgument},
		{"unknown path", http.MethodGet, "/v1/nope", "", []int{404}, connect.CodeNotFound, apierr.ReasonNotFound},
		{"unknown nested path", http.MethodGet, "/v1/keys/a/b/c", "", []int{404}, connect.CodeNotFound, apierr.ReasonNotFound},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var body io.Reader
			if c.body != "" {
				body = strings.NewReader(c.body)
			}
			resp, raw := rawHTTP(t, http.DefaultClient, c.method, ts.URL+c.path, body, auth)
			if !slices.Contains(c.status, resp.StatusCode) {
				t.Fatalf("status %d %s, want %v", resp.StatusCode, raw, c.status)
			}
			if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Fatalf("Content-Type %q, want JSON: %s", ct, raw)
			}
			wantError(t, restError(t, resp.StatusCode, raw), c.code, c.reason)
		})
	}
	// A wrong method on a known path: 405 (Unimplemented) or 404, as JSON
	// with the reason of its code.
	for _, m := range []struct{ method, path string }{
		{http.MethodPut, "/v1/ip-rules"},
		{http.MethodPatch, "/v1/keys"},
		{http.MethodGet, "/v1/access-token"},
		{http.MethodPost, "/v1/keys/key_x"},
	} {
		t.Run("method "+m.method+" "+m.path, func(t *testing.T) {
			resp, raw := rawHTTP(t, http.DefaultClient, m.method, ts.URL+m.path, strings.NewReader("{}"), auth)
			if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Fatalf("Content-Type %q, want JSON: %s", ct, raw)
			}
			got := restError(t, resp.StatusCode, raw)
			switch resp.StatusCode {
			case http.StatusMethodNotAllowed:
				wantError(t, got, connect.CodeUnimplemented, apierr.ReasonUnimplemented)
			case http.StatusNotFound:
				wantError(t, got, connect.CodeNotFound, apierr.ReasonNotFound)
			default:
				t.Fatalf("status %d %s, want 405 or 404", resp.StatusCode, raw)
			}
		})
	}
	if cidrs := ruleCIDRs(t, ts, ts.First.StoreID); len(cidrs) != 0 {
		t.Fatalf("bad REST requests created rules: %q", cidrs)
	}
}

// TestCreateKeyNoPartialWrite: a CreateKey refused by validation or by a
// rule in the handler creates nothing and uses up none of the store's key
// allowance.
func TestCreateKeyNoPartialWrite(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *ent.Client) {
		ts := startServer(t, db)
		key := headers("Authorization", ts.firstKeyAuth())
		valid := func() *paymuxv1.CreateKeyRequest {
			return keyRequest("", "k", paymuxv1.Mode_MODE_TEST, paymuxv1.AuthMethod_AUTH_METHOD_BASIC)
		}
		with := func(f func(*paymuxv1.CreateKeyRequest)) *paymuxv1.CreateKeyRequest { r := valid(); f(r); return r }
		cases := []struct {
			name   string
			req    *paymuxv1.CreateKeyRequest
			code   connect.Code
			reason string
			field  string
		}{
			{"empty name", with(func(r *paymuxv1.CreateKeyRequest) { r.Name = "" }), connect.CodeInvalidArgument, apierr.ReasonInvalidArgument, "name"},
			{"long name", with(func(r *paymuxv1.CreateKeyRequest) { r.Name = strings.Repeat("n", 101) }), connect.CodeInvalidArgument, apierr.ReasonInvalidArgument, "name"},
			{"no mode", with(func(r *paymuxv1.CreateKeyRequest) { r.Mode = 0 }), connect.CodeInvalidArgument, apierr.ReasonInvalidArgument, "mode"},
			{"undefined auth method", with(func(r *paymuxv1.CreateKeyRequest) { r.AuthMethod = 9 }), connect.CodeInvalidArgument, apierr.ReasonInvalidArgument, "auth_method"},
			{"no approval model", with(func(r *paymuxv1.CreateKeyRequest) { r.ApprovalModel = 0 }), connect.CodeInvalidArgument, apierr.ReasonInvalidArgument, "approval_model"},
			{"expired", with(func(r *paymuxv1.CreateKeyRequest) { r.ExpireTime = timestamppb.New(time.Now().Add(-time.Hour)) }), connect.CodeInvalidArgument, apierr.ReasonInvalidArgument, "expire_time"},
			{"test key makes live key", with(func(r *paymuxv1.CreateKeyRequest) { r.Mode = paymuxv1.Mode_MODE_LIVE }), connect.CodePermissionDenied, apierr.ReasonKeyModeNotAllowed, ""},
			{"other store", with(func(r *paymuxv1.CreateKeyRequest) { r.StoreId = "sto_other" }), connect.CodePermissionDenied, apierr.ReasonStoreMismatch, ""},
		}
		for _, sf := range surfaces {
			for _, c := range cases {
				t.Run(sf.name+"/"+c.name, func(t *testing.T) {
					got := sf.call(t, ts, createKey(c.req), key)
					if c.field != "" {
						wantInvalid(t, got, c.field)
						return
					}
					wantError(t, got, c.code, c.reason)
				})
			}
		}
		if ids := keyIDs(t, ts, ts.First.StoreID); len(ids) != 1 {
			t.Fatalf("refused CreateKey calls left keys: %v", ids)
		}
		// The store's allowance of 5 is whole: 4 more keys fit, the 5th more does not.
		for range 4 {
			mustOK[*paymuxv1.CreateKeyResponse](t, callConnect(t, ts, createKey(valid()), key))
		}
		wantError(t, callConnect(t, ts, createKey(valid()), key), connect.CodeFailedPrecondition, apierr.ReasonKeyLimitExceeded)
		if ids := keyIDs(t, ts, ts.First.StoreID); len(ids) != 5 {
			t.Fatalf("want 5 keys at the limit, got %d", len(ids))
		}
	})
}
