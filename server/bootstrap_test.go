package server_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/paymux/paymux/ent"
	"github.com/paymux/paymux/secrets"
	"github.com/paymux/paymux/server"
)

// TestBootstrapRefusesAnotherMasterKey: a server started on a database with
// a different master key than its first run stops at once, rather than
// failing every secret later.
func TestBootstrapRefusesAnotherMasterKey(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *ent.Client) {
		ctx := context.Background()
		cfg := testConfig(t)
		first, err := secrets.NewKeyring(bytes.Repeat([]byte{1}, 32))
		if err != nil {
			t.Fatal(err)
		}
		other, err := secrets.NewKeyring(bytes.Repeat([]byte{2}, 32))
		if err != nil {
			t.Fatal(err)
		}
		_, run, err := server.Bootstrap(ctx, db, first, cfg)
		if err != nil || run.AdminToken == "" || run.SecretKey == "" {
			t.Fatalf("first run: %+v, %v", run, err)
		}
		if _, again, err := server.Bootstrap(ctx, db, first, cfg); err != nil || again != (server.FirstRun{}) {
			t.Fatalf("second start with the same key: %+v, %v (want nothing new)", again, err)
		}
		_, _, err = server.Bootstrap(ctx, db, other, cfg)
		if err == nil || !strings.Contains(err.Error(), "master key") {
			t.Fatalf("start with another master key: %v, want a refusal naming the master key", err)
		}
	})
}
