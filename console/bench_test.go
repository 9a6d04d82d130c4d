package console_test

import (
	"context"
	"log/slog"
	"net/netip"
	"testing"

	"github.com/paymux/paymux/account"
	"github.com/paymux/paymux/console"
	"github.com/paymux/paymux/ent"
	"github.com/paymux/paymux/internal/testdb"
	"github.com/paymux/paymux/secrets"
	"github.com/paymux/paymux/tenant"
)

// benchFixture is a store with a signed-in DEVELOPER, on db.
func benchFixture(b *testing.B, db *ent.Client) (*console.Service, string, string) {
	keyring, err := secrets.NewKeyring(make([]byte, 32))
	if err != nil {
		b.Fatal(err)
	}
	svc := console.New(console.Deps{Config: testConfig, DB: db, Keyring: keyring, Logger: slog.New(slog.DiscardHandler)})
	ctx := context.Background()
	st := db.Store.Create().SetName("bench").SaveX(tenant.System(ctx))
	inv, err := svc.Invite(ctx, st.ID, "bench@example.com", account.RoleDeveloper)
	if err != nil {
		b.Fatal(err)
	}
	token, _, err := svc.UseLink(ctx, inv.SetupToken, "", "bench password 1", netip.Addr{})
	if err != nil {
		b.Fatal(err)
	}
	return svc, st.ID, token
}

// BenchmarkAuthenticate is what a console session adds to each API call:
// the session, the CSRF token and the user's role in the store.
func BenchmarkAuthenticate(b *testing.B) {
	for _, d := range testdb.All(b) {
		b.Run(d.Name, func(b *testing.B) {
			svc, storeID, token := benchFixture(b, d.Open(b))
			csrf := svc.CSRFToken(token)
			ctx := context.Background()
			b.ResetTimer()
			for b.Loop() {
				if _, _, err := svc.Authenticate(ctx, token, csrf, storeID, account.RoleViewer); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkSignIn is one sign-in: the argon2id check and the session.
func BenchmarkSignIn(b *testing.B) {
	svc, _, _ := benchFixture(b, testdb.SQLite(b))
	ctx := context.Background()
	for b.Loop() {
		if _, _, err := svc.SignIn(ctx, "bench@example.com", "bench password 1", netip.Addr{}); err != nil {
			b.Fatal(err)
		}
	}
}
