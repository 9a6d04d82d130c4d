package server_test

import (
	"context"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/paymux/paymux/ent"
	paymuxv1 "github.com/paymux/paymux/gen/paymux/v1"
	"github.com/paymux/paymux/tenant"
)

// TestSurfaceMatrix: every surface × every kind of credential × allowed,
// denied and spoofed client addresses, on every database.
func TestSurfaceMatrix(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *ent.Client) {
		ts := startServer(t, db)
		basicAuthOK := ts.firstKeyAuth()

		bearerKey := newKey(t, ts, "bearer", paymuxv1.AuthMethod_AUTH_METHOD_BEARER, paymuxv1.Mode_MODE_TEST, nil)
		bearerBasic := keyAuth(bearerKey)
		tok := mustOK[*paymuxv1.CreateAccessTokenResponse](t, callConnect(t, ts, createAccessToken(), headers("Authorization", bearerBasic)))

		expiring := newKey(t, ts, "expired", paymuxv1.AuthMethod_AUTH_METHOD_BASIC, paymuxv1.Mode_MODE_TEST, timestamppb.New(time.Now().Add(time.Hour)))
		// Expire it in the database before its first use, so no cache has it.
		if err := db.APIKey.UpdateOneID(expiring.GetKey().GetId()).SetExpiresAt(time.Now().Add(-time.Minute)).Exec(tenant.System(context.Background())); err != nil {
			t.Fatal(err)
		}
		deleted := newKey(t, ts, "deleted", paymuxv1.AuthMethod_AUTH_METHOD_BASIC, paymuxv1.Mode_MODE_TEST, nil)
		mustOK[*paymuxv1.DeleteKeyResponse](t, callConnect(t, ts, deleteKey(deleted.GetKey().GetId()), headers("Authorization", ts.adminAuth())))

		creds := []struct {
			name   string
			auth   string
			code   connect.Code
			reason string
		}{
			{"none", "", connect.CodeUnauthenticated, "CREDENTIALS_MISSING"},
			{"bad secret", basicAuth(ts.First.ClientKey, "sk_test_wrong"), connect.CodeUnauthenticated, "SECRET_MISMATCH"},
			{"expired", keyAuth(expiring), connect.CodeUnauthenticated, "KEY_EXPIRED"},
			{"deleted", keyAuth(deleted), connect.CodeUnauthenticated, "KEY_DELETED"},
			{"wrong method", bearerBasic, connect.CodeUnauthenticated, "AUTH_METHOD_MISMATCH"},
			{"client key only", basicAuth(ts.First.ClientKey, ""), connect.CodePermissionDenied, "CLIENT_KEY_NOT_ALLOWED"},
			{"basic ok", basicAuthOK, 0, ""},
			{"bearer ok", bearer(tok.GetAccessToken()), 0, ""},
		}
		addresses := []struct {
			name    string
			rules   []string
			xff     string
			allowed bool
		}{
			{"allowed", []string{"127.0.0.0/8"}, "", true},
			{"denied", []string{"10.0.0.0/8"}, "", false},
			{"spoofed forwarded-for", []string{"10.0.0.0/8"}, "10.1.2.3", false},
		}
		for _, addr := range addresses {
			setRules(t, ts, addr.rules...)
			for _, sf := range surfaces {
				for _, c := range creds {
					t.Run(addr.name+"/"+sf.name+"/"+c.name, func(t *testing.T) {
						got := sf.call(t, ts, listKeys(""), headers("Authorization", c.auth, "X-Forwarded-For", addr.xff))
						code, reason := c.code, c.reason
						if code == 0 && !addr.allowed {
							code, reason = connect.CodePermissionDenied, "IP_NOT_ALLOWED"
						}
						wantRefusal(t, got, code, reason) // or success: 0, HTTP 200
						if code == 0 && len(got.msg.(*paymuxv1.ListKeysResponse).GetKeys()) != 3 {
							t.Fatalf("want the store's 3 live keys, got %v", got.msg)
						}
					})
				}
			}
		}
	})
}

// TestFirstRunFlow is the newcomer's path: the printed TEST key works on
// every surface; IP TEST predicts that 10.0.0.0/8 alone shuts out
// 127.0.0.1; the administrator (whose token is printed too) adds it, as a
// TEST key may not; every surface then refuses the TEST key; the
// administrator deletes the rule and access returns.
func TestFirstRunFlow(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *ent.Client) {
		ts := startServer(t, db)
		key := headers("Authorization", ts.firstKeyAuth())
		for _, sf := range surfaces {
			mustOK[*paymuxv1.ListKeysResponse](t, sf.call(t, ts, listKeys(""), key))
		}
		for _, sf := range surfaces {
			pred := mustOK[*paymuxv1.TestIPRulesResponse](t, sf.call(t, ts, testIPRules(&paymuxv1.TestIPRulesRequest{
				CandidateRules: &paymuxv1.CandidateRules{Cidrs: []string{"10.0.0.0/8"}},
			}), key))
			if pred.GetAllowed() || pred.GetIp() != "127.0.0.1" || pred.GetRuleCount() != 1 || pred.GetMatchedRule() != nil {
				t.Fatalf("%s: IP TEST of 10.0.0.0/8 for the caller: %v", sf.name, pred)
			}
		}
		admin := headers("Authorization", ts.adminAuth())
		created := mustOK[*paymuxv1.CreateIPRuleResponse](t, callREST(t, ts, createIPRule(ts.First.StoreID, "10.0.0.0/8", "office"), admin))
		if created.GetRule().GetStoreId() != ts.First.StoreID || created.GetCallerAllowed() || created.GetCallerIp() != "127.0.0.1" {
			t.Fatalf("adding 10.0.0.0/8 should report the caller shut out: %v", created)
		}
		for _, sf := range surfaces {
			wantError(t, sf.call(t, ts, listKeys(""), key), connect.CodePermissionDenied, "IP_NOT_ALLOWED")
		}
		mustOK[*paymuxv1.DeleteIPRuleResponse](t, callREST(t, ts, deleteIPRule(created.GetRule().GetId()), admin))
		for _, sf := range surfaces {
			mustOK[*paymuxv1.ListKeysResponse](t, sf.call(t, ts, listKeys(""), key))
		}
	})
}

// TestTrustedProxy: behind a configured proxy, X-Forwarded-For is believed;
// the same header from any other peer is not (the matrix covers that).
func TestTrustedProxy(t *testing.T) {
	ts := startServer(t, openSQLite(t), func(c *configT) { c.TrustedProxies = []string{"127.0.0.1/32"} })
	setRules(t, ts, "10.0.0.0/8")
	for _, sf := range surfaces {
		h := headers("Authorization", ts.firstKeyAuth(), "X-Forwarded-For", "10.1.2.3")
		mustOK[*paymuxv1.ListKeysResponse](t, sf.call(t, ts, listKeys(""), h))
		h = headers("Authorization", ts.firstKeyAuth(), "X-Forwarded-For", "192.0.2.1")
		wantError(t, sf.call(t, ts, listKeys(""), h), connect.CodePermissionDenied, "IP_NOT_ALLOWED")
		// The rightmost untrusted entry counts, not a spoofed one to its left.
		h = headers("Authorization", ts.firstKeyAuth(), "X-Forwarded-For", "10.9.9.9, 192.0.2.1")
		wantError(t, sf.call(t, ts, listKeys(""), h), connect.CodePermissionDenied, "IP_NOT_ALLOWED")
		got := mustOK[*paymuxv1.TestIPRulesResponse](t, sf.call(t, ts, testIPRules(&paymuxv1.TestIPRulesRequest{}),
			headers("Authorization", ts.firstKeyAuth(), "X-Forwarded-For", "10.1.2.3")))
		if got.GetIp() != "10.1.2.3" || !got.GetAllowed() || got.GetMatchedRule().GetCidr() != "10.0.0.0/8" {
			t.Fatalf("%s: IP TEST behind a trusted proxy: %v", sf.name, got)
		}
	}
}

// TestUpdateStoreEverySurface: the update mask travels on every surface (over
// REST in the query, beside the store as the body).
func TestUpdateStoreEverySurface(t *testing.T) {
	ts := startServer(t, openSQLite(t))
	admin := headers("Authorization", ts.adminAuth())
	for _, sf := range surfaces {
		got := mustOK[*paymuxv1.UpdateStoreResponse](t, sf.call(t, ts, updateStore(&paymuxv1.UpdateStoreRequest{
			Store:      &paymuxv1.Store{Id: ts.First.StoreID, Name: "renamed by " + sf.name, ContactEmail: "ignored@example.com"},
			UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"name"}},
		}), admin))
		if got.GetStore().GetName() != "renamed by "+sf.name || got.GetStore().GetContactEmail() != "" {
			t.Fatalf("%s: only the name should change: %v", sf.name, got.GetStore())
		}
	}
}

// TestForwardedForFailsClosed: behind a trusted proxy, a garbled
// X-Forwarded-For never makes the proxy's own (allowed) address the client's.
func TestForwardedForFailsClosed(t *testing.T) {
	ts := startServer(t, openSQLite(t), func(c *configT) { c.TrustedProxies = []string{"127.0.0.1/32"} })
	setRules(t, ts, "127.0.0.1/32") // only the proxy's own address would pass
	key := ts.firstKeyAuth()
	cases := []struct {
		name   string
		header []string
		noGRPC bool // grpc-go cannot send non-printable metadata
	}{
		{"garbled entry left of the proxy's", []string{"X-Forwarded-For", "\xff, 203.0.113.7"}, true},
		{"garbled entry alone", []string{"X-Forwarded-For", "\xff"}, true},
		{"malformed rightmost entry", []string{"X-Forwarded-For", "10.1.1.1, unknown"}, false},
		{"only trusted entries", []string{"X-Forwarded-For", "127.0.0.1"}, false},
		{"no header behind the proxy", nil, false},
		{"gateway metadata header", []string{"Grpc-Metadata-X-Forwarded-For", "127.0.0.1"}, false},
	}
	for _, c := range cases {
		for _, sf := range surfaces {
			if sf.name == "grpc" && c.noGRPC {
				continue
			}
			t.Run(c.name+"/"+sf.name, func(t *testing.T) {
				h := headers(append([]string{"Authorization", key}, c.header...)...)
				wantError(t, sf.call(t, ts, listKeys(""), h), connect.CodePermissionDenied, "IP_NOT_ALLOWED")
			})
		}
	}
}
