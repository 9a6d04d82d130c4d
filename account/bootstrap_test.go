package account_test

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/paymux/paymux/account"
	"github.com/paymux/paymux/ent"
	"github.com/paymux/paymux/ent/channel"
	"github.com/paymux/paymux/internal/testdb"
	"github.com/paymux/paymux/providers/sandbox"
	"github.com/paymux/paymux/secrets"
	"github.com/paymux/paymux/tenant"
)

// TestBootstrapRefusesAnotherMasterKey: a server started on a database with
// a different master key than its first run stops at once, rather than
// failing every secret later.
func TestBootstrapRefusesAnotherMasterKey(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, db *ent.Client) {
		ctx := context.Background()
		first, err := secrets.NewKeyring(bytes.Repeat([]byte{1}, 32))
		if err != nil {
			t.Fatal(err)
		}
		other, err := secrets.NewKeyring(bytes.Repeat([]byte{2}, 32))
		if err != nil {
			t.Fatal(err)
		}
		bootstrap := func(k *secrets.Keyring) (account.FirstRun, error) {
			return account.New(account.Options{DB: db, Keyring: k}).Bootstrap(ctx, "")
		}
		run, err := bootstrap(first)
		if err != nil || run.AdminToken == "" || run.SecretKey == "" {
			t.Fatalf("first run: %+v, %v", run, err)
		}
		if again, err := bootstrap(first); err != nil || again != (account.FirstRun{}) {
			t.Fatalf("second start with the same key: %+v, %v (want nothing new)", again, err)
		}
		_, err = bootstrap(other)
		if err == nil || !strings.Contains(err.Error(), "master key") {
			t.Fatalf("start with another master key: %v, want a refusal naming the master key", err)
		}
	})
}

// TestBootstrapFirstRun: a first run's admin token and TEST key
// authenticate, its sandbox channel is the store's TEST default with a
// notification secret sealed as channels keep theirs, and a later start
// with a configured admin token takes that token instead.
func TestBootstrapFirstRun(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, db *ent.Client) {
		ctx := context.Background()
		keyring := newKeyring(t)
		svc := account.New(account.Options{DB: db, Keyring: keyring})
		run, err := svc.Bootstrap(ctx, "")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(run.AdminToken, account.AdminTokenPrefix) || !account.ValidAdminToken(run.AdminToken) {
			t.Fatalf("admin token %q", run.AdminToken)
		}
		if p, err := svc.Authenticate(ctx, "Bearer "+run.AdminToken, account.AccessAdmin); err != nil || !p.Admin {
			t.Fatalf("admin token: %+v, %v", p, err)
		}
		if !svc.IsAdminToken(run.AdminToken) || svc.IsAdminToken(run.AdminToken+"x") {
			t.Fatal("IsAdminToken does not tell the admin token")
		}
		p, err := svc.Authenticate(ctx, basic(run.ClientKey, run.SecretKey), account.AccessStore)
		if err != nil || p.Key == nil || p.Key.ID != run.KeyID || p.StoreID() != run.StoreID {
			t.Fatalf("first key: %+v, %v", p, err)
		}

		sys := tenant.System(ctx)
		ch, err := db.Channel.Get(sys, run.ChannelID)
		if err != nil {
			t.Fatal(err)
		}
		if ch.StoreID != run.StoreID || !ch.Default || ch.Provider != channel.ProviderSANDBOX || ch.Mode != channel.ModeTEST {
			t.Fatalf("sandbox channel %+v", ch)
		}
		plain, err := keyring.Decrypt(ch.SecretsSealed, []byte("channel:"+ch.ID))
		if err != nil {
			t.Fatalf("channel secrets do not open as channel secrets: %v", err)
		}
		var values map[string]string
		if err := json.Unmarshal(plain, &values); err != nil || len(values[sandbox.SecretNotification]) != 32 {
			t.Fatalf("channel secrets %v, %v", values, err)
		}
		if st := db.Store.GetX(sys, run.StoreID); st.KeyCount != 1 {
			t.Fatalf("key count %d, want 1", st.KeyCount)
		}

		// A configured token replaces the generated one; nothing new is made.
		configured := account.AdminTokenPrefix + strings.Repeat("c", 30)
		again := account.New(account.Options{DB: db, Keyring: keyring})
		if first, err := again.Bootstrap(ctx, configured); err != nil || first != (account.FirstRun{}) {
			t.Fatalf("second start: %+v, %v", first, err)
		}
		if _, err := again.Authenticate(ctx, "Bearer "+configured, account.AccessAdmin); err != nil {
			t.Fatalf("configured admin token: %v", err)
		}
		if _, err := again.Authenticate(ctx, "Bearer "+run.AdminToken, account.AccessAdmin); reason(err) != "ADMIN_TOKEN_INVALID" {
			t.Fatalf("generated token with another configured: %v", err)
		}
	})
}
