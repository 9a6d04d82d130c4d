package server_test

import (
	"context"
	"net/http"
	"net/netip"
	"testing"

	"connectrpc.com/connect"

	"github.com/paymux/paymux/account"
	"github.com/paymux/paymux/apierr"
	"github.com/paymux/paymux/config"
	"github.com/paymux/paymux/console"
	"github.com/paymux/paymux/ent"
	paymuxv1 "github.com/paymux/paymux/gen/paymux/v1"
)

// consoleSession signs a console user in and returns the headers the web
// console sends on each call in storeID.
func consoleSession(t testing.TB, ts *testServer, token, storeID string) http.Header {
	t.Helper()
	return headers("Cookie", console.CookieName+"="+token,
		console.CSRFHeader, ts.Server.Console.CSRFToken(token),
		console.StoreHeader, storeID)
}

// consoleMember invites email into storeID with role and signs them in.
func consoleMember(t testing.TB, ts *testServer, storeID, email string, role account.Role) string {
	t.Helper()
	ctx := context.Background()
	inv, err := ts.Server.Console.Invite(ctx, storeID, email, role)
	if err != nil {
		t.Fatal(err)
	}
	token, _, err := ts.Server.Console.UseLink(ctx, inv.SetupToken, "", "member password 1", netip.Addr{})
	if err != nil {
		t.Fatal(err)
	}
	return token
}

// TestConsoleRoles: a console session calls the API through the policy
// chain with the user's role in the store it names, and nothing more.
func TestConsoleRoles(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *ent.Client) {
		ts := startServer(t, db)
		storeA := ts.First.StoreID
		storeB := mustOK[*paymuxv1.CreateStoreResponse](t, callConnect(t, ts, createStore(&paymuxv1.CreateStoreRequest{Name: "B"}), headers("Authorization", ts.adminAuth()))).GetStore().GetId()
		keyB := mustOK[*paymuxv1.CreateKeyResponse](t, callConnect(t, ts,
			createKey(keyRequest(storeB, "b", paymuxv1.Mode_MODE_TEST, paymuxv1.AuthMethod_AUTH_METHOD_BASIC)), headers("Authorization", ts.adminAuth())))
		tokens := map[account.Role]string{}
		for _, r := range []account.Role{account.RoleViewer, account.RoleDeveloper, account.RoleAdmin, account.RoleOwner} {
			tokens[r] = consoleMember(t, ts, storeA, "role-"+r.String()+"@example.com", r)
		}
		keyA := mustOK[*paymuxv1.CreateKeyResponse](t, callConnect(t, ts,
			createKey(keyRequest("", "for deletion", paymuxv1.Mode_MODE_TEST, paymuxv1.AuthMethod_AUTH_METHOD_BASIC)), consoleSession(t, ts, tokens[account.RoleAdmin], storeA)))
		invite := newRPC[paymuxv1.InviteConsoleUserRequest, paymuxv1.InviteConsoleUserResponse]("/paymux.v1.ConsoleService/InviteConsoleUser", http.MethodPost, "/v1/console/users",
			&paymuxv1.InviteConsoleUserRequest{Email: "new@example.com", Role: paymuxv1.ConsoleRole_CONSOLE_ROLE_VIEWER})
		listUsers := newRPC[paymuxv1.ListConsoleUsersRequest, paymuxv1.ListConsoleUsersResponse]("/paymux.v1.ConsoleService/ListConsoleUsers", http.MethodGet, "/v1/console/users",
			&paymuxv1.ListConsoleUsersRequest{})
		for _, c := range []struct {
			name   string
			role   account.Role
			call   rpc
			code   connect.Code
			reason string
		}{
			{"viewer lists keys", account.RoleViewer, listKeys(""), 0, ""},
			{"viewer cannot create a key", account.RoleViewer, createKey(keyRequest("", "v", paymuxv1.Mode_MODE_TEST, paymuxv1.AuthMethod_AUTH_METHOD_BASIC)), connect.CodePermissionDenied, apierr.ReasonRoleNotAllowed},
			{"viewer cannot read the call log", account.RoleViewer, lgListRPC(&paymuxv1.ListLogsRequest{}), connect.CodePermissionDenied, apierr.ReasonRoleNotAllowed},
			{"developer reads the call log", account.RoleDeveloper, lgListRPC(&paymuxv1.ListLogsRequest{}), 0, ""},
			{"developer cannot delete a key", account.RoleDeveloper, deleteKey(keyA.GetKey().GetId()), connect.CodePermissionDenied, apierr.ReasonRoleNotAllowed},
			{"developer cannot add an IP rule", account.RoleDeveloper, createIPRule("", "10.0.0.0/8", ""), connect.CodePermissionDenied, apierr.ReasonRoleNotAllowed},
			{"admin cannot invite", account.RoleAdmin, invite, connect.CodePermissionDenied, apierr.ReasonRoleNotAllowed},
			{"admin lists members", account.RoleAdmin, listUsers, 0, ""},
			{"admin deletes a key", account.RoleAdmin, deleteKey(keyA.GetKey().GetId()), 0, ""},
			{"owner invites", account.RoleOwner, invite, 0, ""},
			{"owner cannot create stores", account.RoleOwner, createStore(&paymuxv1.CreateStoreRequest{Name: "C"}), connect.CodePermissionDenied, apierr.ReasonAdminOnly},
			{"owner gets no access token", account.RoleOwner, createAccessToken(), connect.CodeUnauthenticated, apierr.ReasonAuthMethodMismatch},
			{"another store's key is not found", account.RoleOwner, getKey(keyB.GetKey().GetId()), connect.CodeNotFound, apierr.ReasonKeyNotFound},
			{"another store by store_id", account.RoleOwner, listKeys(storeB), connect.CodePermissionDenied, apierr.ReasonStoreMismatch},
		} {
			t.Run(c.name, func(t *testing.T) {
				got := callConnect(t, ts, c.call, consoleSession(t, ts, tokens[c.role], storeA))
				if got.code != c.code || got.reason != c.reason {
					t.Fatalf("%s: %v, want %v/%s", c.name, got, c.code, c.reason)
				}
			})
		}

		owner := tokens[account.RoleOwner]
		t.Run("another store by header", func(t *testing.T) {
			wantError(t, callConnect(t, ts, listKeys(""), consoleSession(t, ts, owner, storeB)), connect.CodePermissionDenied, apierr.ReasonStoreMismatch)
		})
		t.Run("no CSRF token", func(t *testing.T) {
			h := consoleSession(t, ts, owner, storeA)
			h.Del(console.CSRFHeader)
			wantError(t, callConnect(t, ts, listKeys(""), h), connect.CodePermissionDenied, apierr.ReasonCSRFMismatch)
		})
		t.Run("a store key cannot manage console users", func(t *testing.T) {
			wantError(t, callConnect(t, ts, listUsers, headers("Authorization", ts.firstKeyAuth())), connect.CodePermissionDenied, apierr.ReasonAdminOnly)
		})
		t.Run("credentials win over a cookie", func(t *testing.T) {
			h := consoleSession(t, ts, owner, storeA)
			h.Set("Authorization", basicAuth(keyB.GetKey().GetClientKey(), keyB.GetSecretKey()))
			res := mustOK[*paymuxv1.ListKeysResponse](t, callConnect(t, ts, listKeys(""), h))
			if len(res.GetKeys()) != 1 || res.GetKeys()[0].GetStoreId() != storeB {
				t.Fatalf("keys: %v", res.GetKeys())
			}
		})
		t.Run("the call log names the user", func(t *testing.T) {
			logs := lgWait(t, ts, headers("Authorization", ts.adminAuth()),
				&paymuxv1.ListLogsRequest{StoreId: storeA, Method: "DeleteKey"}, "the console's DeleteKey", lgAtLeast(2))
			by := map[string]string{}
			for _, l := range logs {
				if l.GetUserId() != "" && l.GetKeyId() == "" {
					by[l.GetUserEmail()] = l.GetCode()
				}
			}
			if len(by) != 2 || by["role-admin@example.com"] != "OK" || by["role-developer@example.com"] != "PERMISSION_DENIED" {
				t.Fatalf("DeleteKey entries by console users: %v of %v", by, logs)
			}
		})
		t.Run("session", func(t *testing.T) {
			res := mustOK[*paymuxv1.GetConsoleSessionResponse](t, callConnect(t, ts,
				newRPC[paymuxv1.GetConsoleSessionRequest, paymuxv1.GetConsoleSessionResponse]("/paymux.v1.ConsoleService/GetConsoleSession", http.MethodGet, "/v1/console/session", &paymuxv1.GetConsoleSessionRequest{}),
				consoleSession(t, ts, tokens[account.RoleDeveloper], storeB))) // the session needs no store: a stale one is ignored
			if res.GetPlatformAdmin() || res.GetUser().GetEmail() != "role-developer@example.com" || len(res.GetStores()) != 1 ||
				res.GetStores()[0].GetStoreId() != storeA || res.GetStores()[0].GetRole() != paymuxv1.ConsoleRole_CONSOLE_ROLE_DEVELOPER ||
				!res.GetIdleExpireTime().AsTime().Before(res.GetExpireTime().AsTime()) {
				t.Fatalf("session: %v", res)
			}
		})
	})
}

// TestConsoleChangesBelowAdminAreTest: a change made by a console user
// below ADMIN reaches TEST endpoints only, as a TEST key's does; and an
// Idempotency-Key is the user's own, in their store.
func TestConsoleChangesBelowAdminAreTest(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *ent.Client) {
		ts := startServer(t, db, func(c *config.Config) { c.Webhooks.AllowPrivate = true })
		storeA := ts.First.StoreID
		admin := headers("Authorization", ts.adminAuth())
		live := mustOK[*paymuxv1.CreateWebhookEndpointResponse](t, callConnect(t, ts, createWebhookEndpoint(&paymuxv1.CreateWebhookEndpointRequest{
			StoreId: storeA, Url: "http://127.0.0.1:9/live", Mode: paymuxv1.Mode_MODE_LIVE}), admin)).GetEndpoint()
		dev := consoleSession(t, ts, consoleMember(t, ts, storeA, "dev@example.com", account.RoleDeveloper), storeA)
		wantError(t, callConnect(t, ts, createWebhookEndpoint(&paymuxv1.CreateWebhookEndpointRequest{
			Url: "http://127.0.0.1:9/x", Mode: paymuxv1.Mode_MODE_LIVE}), dev), connect.CodePermissionDenied, apierr.ReasonKeyModeNotAllowed)
		if got := callConnect(t, ts, rotateWebhookSecret(&paymuxv1.RotateWebhookSecretRequest{Id: live.GetId()}), dev); got.code == 0 {
			t.Fatalf("a developer rotated a LIVE endpoint's secret: %v", got)
		}
		mustOK[*paymuxv1.CreateWebhookEndpointResponse](t, callConnect(t, ts, createWebhookEndpoint(&paymuxv1.CreateWebhookEndpointRequest{
			Url: "http://127.0.0.1:9/test"}), dev))
		// Reading is not a change: the developer still sees the LIVE endpoint.
		eps := mustOK[*paymuxv1.ListWebhookEndpointsResponse](t, callConnect(t, ts,
			newRPC[paymuxv1.ListWebhookEndpointsRequest, paymuxv1.ListWebhookEndpointsResponse]("/paymux.v1.WebhookService/ListWebhookEndpoints", http.MethodGet, "/v1/webhook-endpoints", &paymuxv1.ListWebhookEndpointsRequest{}), dev))
		if len(eps.GetEndpoints()) != 2 {
			t.Fatalf("a developer lists %d endpoints, want the LIVE and the TEST one", len(eps.GetEndpoints()))
		}

		// The same Idempotency-Key in two stores makes two keys.
		storeB := mustOK[*paymuxv1.CreateStoreResponse](t, callConnect(t, ts, createStore(&paymuxv1.CreateStoreRequest{Name: "B"}), admin)).GetStore().GetId()
		adminA := consoleSession(t, ts, consoleMember(t, ts, storeA, "a@example.com", account.RoleAdmin), storeA)
		adminB := consoleSession(t, ts, consoleMember(t, ts, storeB, "b@example.com", account.RoleAdmin), storeB)
		adminA.Set("Idempotency-Key", "same-key")
		adminB.Set("Idempotency-Key", "same-key")
		req := keyRequest("", "k", paymuxv1.Mode_MODE_LIVE, paymuxv1.AuthMethod_AUTH_METHOD_BASIC)
		a := mustOK[*paymuxv1.CreateKeyResponse](t, callConnect(t, ts, createKey(req), adminA))
		b := mustOK[*paymuxv1.CreateKeyResponse](t, callConnect(t, ts, createKey(req), adminB))
		if a.GetKey().GetId() == b.GetKey().GetId() || b.GetKey().GetStoreId() != storeB || a.GetSecretKey() == b.GetSecretKey() {
			t.Fatalf("one Idempotency-Key answered two stores alike: %v / %v", a.GetKey(), b.GetKey())
		}
		again := mustOK[*paymuxv1.CreateKeyResponse](t, callConnect(t, ts, createKey(req), adminA))
		if again.GetKey().GetId() != a.GetKey().GetId() {
			t.Fatalf("a replay made another key: %s, %s", again.GetKey().GetId(), a.GetKey().GetId())
		}
	})
}
