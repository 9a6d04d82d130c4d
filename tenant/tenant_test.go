package tenant_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/paymux/paymux/database"
	"github.com/paymux/paymux/ent"
	"github.com/paymux/paymux/ent/apikey"
	"github.com/paymux/paymux/ent/privacy"
	"github.com/paymux/paymux/tenant"
)

// fixture: two stores, each with one key and one IP rule.
func fixture(t *testing.T) (*ent.Client, [2]string) {
	t.Helper()
	db, err := database.Open("", t.TempDir()+"/t.db", 2)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	ctx := tenant.System(context.Background())
	if err := database.Migrate(ctx, db); err != nil {
		t.Fatal(err)
	}
	var stores [2]string
	for i, name := range []string{"A", "B"} {
		st := db.Store.Create().SetName(name).SaveX(ctx)
		stores[i] = st.ID
		db.APIKey.Create().SetStoreID(st.ID).SetName(name).SetMode(apikey.ModeTEST).
			SetApprovalModel(apikey.ApprovalModelSERVER).SetAuthMethod(apikey.AuthMethodBASIC).
			SetClientKey("ck_test_" + name).SetSecretHash([]byte{1}).SetSecretPrefix("sk_test_" + name).
			SetSecretIssuedAt(time.Now()).SaveX(ctx)
		db.IPRule.Create().SetStoreID(st.ID).SetCidr("10.0.0.0/8").SaveX(ctx)
	}
	return db, stores
}

func TestQueriesSeeOnlyTheViewersStore(t *testing.T) {
	db, stores := fixture(t)
	cases := []struct {
		name       string
		ctx        context.Context
		keys       int
		stores     int
		wantDenied bool
	}{
		{"store A", tenant.NewContext(context.Background(), tenant.Viewer{StoreID: stores[0]}), 1, 1, false},
		{"admin acting on B", tenant.NewContext(context.Background(), tenant.Viewer{Admin: true, StoreID: stores[1]}), 1, 1, false},
		{"admin platform-wide", tenant.NewContext(context.Background(), tenant.Viewer{Admin: true}), 2, 2, false},
		{"system", tenant.System(context.Background()), 2, 2, false},
		{"no viewer", context.Background(), 0, 0, true},
		{"viewer without store", tenant.NewContext(context.Background(), tenant.Viewer{}), 0, 0, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			keys, err := db.APIKey.Query().All(c.ctx)
			if c.wantDenied {
				if !errors.Is(err, privacy.Deny) {
					t.Fatalf("keys: err %v, want privacy.Deny", err)
				}
				return
			}
			if err != nil || len(keys) != c.keys {
				t.Fatalf("keys: %d, %v; want %d", len(keys), err, c.keys)
			}
			for _, k := range keys {
				if v, _ := tenant.FromContext(c.ctx); v.StoreID != "" && k.StoreID != v.StoreID {
					t.Fatalf("viewer of %s saw a key of %s", v.StoreID, k.StoreID)
				}
			}
			rules, err := db.IPRule.Query().All(c.ctx)
			if err != nil || len(rules) != c.keys {
				t.Fatalf("rules: %d, %v", len(rules), err)
			}
			n, err := db.Store.Query().Count(c.ctx)
			if err != nil || n != c.stores {
				t.Fatalf("stores: %d, %v; want %d", n, err, c.stores)
			}
		})
	}
}

func TestMutationsStayInTheViewersStore(t *testing.T) {
	db, stores := fixture(t)
	a := tenant.NewContext(context.Background(), tenant.Viewer{StoreID: stores[0]})

	// Creating in another store is denied.
	err := db.IPRule.Create().SetStoreID(stores[1]).SetCidr("192.0.2.0/24").Exec(a)
	if !errors.Is(err, privacy.Deny) {
		t.Fatalf("create in B as A: %v, want privacy.Deny", err)
	}
	// Updating and deleting every key only reaches A's.
	n, err := db.APIKey.Update().SetName("renamed").Save(a)
	if err != nil || n != 1 {
		t.Fatalf("update as A touched %d rows: %v", n, err)
	}
	n, err = db.IPRule.Delete().Exec(a)
	if err != nil || n != 1 {
		t.Fatalf("delete as A removed %d rules: %v", n, err)
	}
	sys := tenant.System(context.Background())
	b := db.APIKey.Query().Where(apikey.StoreID(stores[1])).OnlyX(sys)
	if b.Name != "B" {
		t.Fatalf("B's key was renamed to %q", b.Name)
	}
	if db.IPRule.Query().CountX(sys) != 1 {
		t.Fatal("B's rule was deleted")
	}
	// A store's key cannot change stores; the administrator can.
	if err := db.Store.UpdateOneID(stores[0]).SetName("x").Exec(a); !errors.Is(err, privacy.Deny) {
		t.Fatalf("store update as A: %v, want privacy.Deny", err)
	}
	admin := tenant.NewContext(context.Background(), tenant.Viewer{Admin: true})
	if err := db.Store.UpdateOneID(stores[0]).SetName("x").Exec(admin); err != nil {
		t.Fatal(err)
	}
	// Settings are for paymux itself only.
	if _, err := db.Setting.Query().All(admin); !errors.Is(err, privacy.Deny) {
		t.Fatalf("settings as admin: %v, want privacy.Deny", err)
	}
}
