package account

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/paymux/paymux/database"
	"github.com/paymux/paymux/ent"
	"github.com/paymux/paymux/ent/apikey"
	"github.com/paymux/paymux/tenant"
)

// cacheFixture is a database with one key, and a cache over it that counts
// the key look-ups reaching the database.
func cacheFixture(t *testing.T) (*authCache, *ent.APIKey, *atomic.Int32, *atomic.Bool) {
	t.Helper()
	db, err := database.Open("", t.TempDir()+"/c.db", 2)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	ctx := tenant.System(context.Background())
	if err := database.Migrate(ctx, db); err != nil {
		t.Fatal(err)
	}
	st := db.Store.Create().SetName("s").SaveX(ctx)
	clientKey, _ := newKeyPair(apikey.ModeTEST)
	k := db.APIKey.Create().SetStoreID(st.ID).SetName("k").SetMode(apikey.ModeTEST).
		SetApprovalModel(apikey.ApprovalModelSERVER).SetAuthMethod(apikey.AuthMethodBASIC).
		SetClientKey(clientKey).SetSecretHash([]byte{1}).SetSecretPrefix("sk_test_x").
		SetSecretIssuedAt(time.Now()).SaveX(ctx)
	cache := newAuthCache(db, time.Minute, time.Now)
	var loads atomic.Int32
	var invalidateDuringLoad atomic.Bool
	db.APIKey.Intercept(ent.InterceptFunc(func(next ent.Querier) ent.Querier {
		return ent.QuerierFunc(func(ctx context.Context, q ent.Query) (ent.Value, error) {
			v, err := next.Query(ctx, q)
			loads.Add(1)
			if invalidateDuringLoad.Load() {
				// The key changes after the read and before the cache
				// stores what it read.
				cache.forgetKey(k.ID, k.ClientKey)
			}
			return v, err
		})
	}))
	return cache, k, &loads, &invalidateDuringLoad
}

func TestAuthCacheKeepsNothingReadBeforeAnInvalidation(t *testing.T) {
	cache, k, loads, invalidate := cacheFixture(t)
	ctx := context.Background()
	invalidate.Store(true)
	if rec, err := cache.keyByClientKey(ctx, k.ClientKey); err != nil || rec == nil {
		t.Fatalf("look-up: %v, %v", rec, err)
	}
	invalidate.Store(false)
	for range 3 {
		if rec, err := cache.keyByClientKey(ctx, k.ClientKey); err != nil || rec == nil {
			t.Fatalf("look-up: %v, %v", rec, err)
		}
	}
	// The racing read was not kept; the next one was, and served the rest.
	if n := loads.Load(); n != 2 {
		t.Fatalf("%d database look-ups, want 2", n)
	}
}

func TestAuthCacheUnknownKeysApart(t *testing.T) {
	cache, k, loads, _ := cacheFixture(t)
	ctx := context.Background()
	if _, err := cache.keyByClientKey(ctx, k.ClientKey); err != nil {
		t.Fatal(err)
	}
	made, _ := newKeyPair(apikey.ModeTEST)
	for range 3 {
		if rec, err := cache.keyByClientKey(ctx, made); err != nil || rec != nil {
			t.Fatalf("made-up key: %v, %v", rec, err)
		}
	}
	if n := loads.Load(); n != 2 {
		t.Fatalf("%d database look-ups, want 2 (one per key)", n)
	}
	cache.mu.RLock()
	defer cache.mu.RUnlock()
	if len(cache.byClient) != 1 || len(cache.unknown) != 1 {
		t.Fatalf("known %d, unknown %d: want 1 and 1", len(cache.byClient), len(cache.unknown))
	}
}

func TestIsClientKey(t *testing.T) {
	test, _ := newKeyPair(apikey.ModeTEST)
	live, _ := newKeyPair(apikey.ModeLIVE)
	for key, want := range map[string]bool{
		test:                                     true,
		live:                                     true,
		"ck_test_" + "abcdefghijklmnopqrstuvw":   false, // 23
		"ck_test_" + "abcdefghijklmnopqrstuvwxy": false, // 25
		"ck_prod_abcdefghijklmnopqrstuvwx":       false,
		"ck_test_abcdefghijklmnopqrstuv-x":       false,
		"sk_test_abcdefghijklmnopqrstuvwx":       false,
		"":                                       false,
	} {
		if got := isClientKey(key); got != want {
			t.Errorf("isClientKey(%q) = %v, want %v", key, got, want)
		}
	}
}
