package server_test

import (
	"context"
	"testing"

	"connectrpc.com/connect"

	"github.com/paymux/paymux/database"
	"github.com/paymux/paymux/ent"
	paymuxv1 "github.com/paymux/paymux/gen/paymux/v1"
)

// TestMigrateUpgradesPopulatedDatabase: a database made by an older paymux
// (here: one without a column and an index the current schema has) is
// upgraded in place, and every row and credential survives.
func TestMigrateUpgradesPopulatedDatabase(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *ent.Client) {
		ts := startServer(t, db)
		admin := headers("Authorization", ts.adminAuth())
		bearerKey := newKey(t, ts, "second", paymuxv1.AuthMethod_AUTH_METHOD_BEARER, paymuxv1.Mode_MODE_TEST, nil)
		rule := mustOK[*paymuxv1.CreateIPRuleResponse](t, callConnect(t, ts, createIPRule(ts.First.StoreID, "127.0.0.0/8", "loopback"), admin))

		// Make the database look like it came from an older release.
		ctx := context.Background()
		for _, stmt := range []string{
			"DROP INDEX iprule_store_id_cidr",
			"ALTER TABLE api_keys DROP COLUMN last_used_ip",
		} {
			if _, err := db.ExecContext(ctx, stmt); err != nil {
				t.Fatalf("%s: %v", stmt, err)
			}
		}
		if err := database.Migrate(ctx, db); err != nil {
			t.Fatal(err)
		}
		if err := database.Migrate(ctx, db); err != nil { // a second run changes nothing
			t.Fatal(err)
		}

		// Everything is still there and still works.
		keys := mustOK[*paymuxv1.ListKeysResponse](t, callConnect(t, ts, listKeys(""), headers("Authorization", ts.firstKeyAuth())))
		if len(keys.GetKeys()) != 2 {
			t.Fatalf("keys after upgrade: %v", keys)
		}
		rules := mustOK[*paymuxv1.ListIPRulesResponse](t, callConnect(t, ts, listIPRules(ts.First.StoreID), admin))
		if len(rules.GetRules()) != 1 || rules.GetRules()[0].GetId() != rule.GetRule().GetId() {
			t.Fatalf("rules after upgrade: %v", rules)
		}
		mustOK[*paymuxv1.CreateAccessTokenResponse](t, callConnect(t, ts, createAccessToken(),
			headers("Authorization", basicAuth(bearerKey.GetKey().GetClientKey(), bearerKey.GetSecretKey()))))
		// The restored unique index is back in force.
		wantError(t, callConnect(t, ts, createIPRule(ts.First.StoreID, "127.0.0.0/8", "again"), admin),
			connect.CodeAlreadyExists, "IP_RULE_ALREADY_EXISTS")
	})
}
