package account_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/paymux/paymux/account"
	"github.com/paymux/paymux/apierr"
	"github.com/paymux/paymux/database"
	"github.com/paymux/paymux/ent"
	"github.com/paymux/paymux/ent/apikey"
	"github.com/paymux/paymux/ent/store"
	"github.com/paymux/paymux/internal/testdb"
	"github.com/paymux/paymux/secrets"
	"github.com/paymux/paymux/tenant"
)

func newKeyring(t testing.TB) *secrets.Keyring {
	master := make([]byte, 32)
	if _, err := rand.Read(master); err != nil {
		t.Fatal(err)
	}
	k, err := secrets.NewKeyring(master)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func basic(clientKey, secret string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(clientKey+":"+secret))
}

func reason(err error) string {
	if err == nil {
		return "(no error)"
	}
	return apierr.Reason(err)
}

// forEachCountedDB is testdb.ForEach over a driver that counts round trips.
func forEachCountedDB(t *testing.T, fn func(t *testing.T, db *ent.Client, rt *testdb.CountingDriver)) {
	for _, kind := range testdb.All(t) {
		t.Run(kind.Name, func(t *testing.T) {
			dsn, path := "", ""
			if kind.Name == "postgres" {
				dsn = testdb.PostgresSchema(t)
			} else {
				path = t.TempDir() + "/paymux.db"
			}
			drv, err := database.OpenDriver(dsn, path, 8)
			if err != nil {
				t.Fatal(err)
			}
			rt := &testdb.CountingDriver{Driver: drv}
			db := ent.NewClient(ent.Driver(rt))
			t.Cleanup(func() { db.Close() })
			if err := database.Migrate(context.Background(), db); err != nil {
				t.Fatal(err)
			}
			fn(t, db, rt)
		})
	}
}

// clock is a test clock that tests move.
type clock struct {
	mu  sync.Mutex
	off time.Duration
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.off)
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.off += d
	c.mu.Unlock()
}

// fixture is a Service after a first run, with the administrator's view of
// its first store.
type fixture struct {
	svc   *account.Service
	db    *ent.Client
	first account.FirstRun
	clock *clock
	// ctx acts on the first store as the administrator would.
	ctx context.Context
}

func newFixture(t *testing.T, db *ent.Client) *fixture {
	t.Helper()
	c := &clock{}
	svc := account.New(account.Options{DB: db, Keyring: newKeyring(t), CacheTTL: time.Minute, Now: c.now})
	first, err := svc.Bootstrap(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	ctx := tenant.NewContext(context.Background(), tenant.Viewer{Admin: true, StoreID: first.StoreID})
	return &fixture{svc: svc, db: db, first: first, clock: c, ctx: ctx}
}

func (f *fixture) createKey(t *testing.T, method apikey.AuthMethod) (*ent.APIKey, string) {
	t.Helper()
	k, secret, err := f.svc.CreateKey(f.ctx, account.KeyInput{StoreID: f.first.StoreID, Name: string(method), AuthMethod: method})
	if err != nil {
		t.Fatal(err)
	}
	return k, secret
}

// TestAuthenticateByAuthMethod: a BASIC key authenticates with Basic on
// every call; a BEARER key uses Basic only to get an access token, then the
// token; each refuses the other way with AUTH_METHOD_MISMATCH, and a wrong
// secret is SECRET_MISMATCH.
func TestAuthenticateByAuthMethod(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, db *ent.Client) {
		f := newFixture(t, db)
		ctx := context.Background()
		basicKey, basicSecret := f.createKey(t, apikey.AuthMethodBASIC)
		bearerKey, bearerSecret := f.createKey(t, apikey.AuthMethodBEARER)

		p, err := f.svc.Authenticate(ctx, basic(basicKey.ClientKey, basicSecret), account.AccessStore)
		if err != nil || p.Admin || p.Key == nil || p.Key.ID != basicKey.ID || p.StoreID() != f.first.StoreID {
			t.Fatalf("BASIC key with Basic: %+v, %v", p, err)
		}
		if _, err := f.svc.Authenticate(ctx, basic(basicKey.ClientKey, basicSecret), account.AccessKeyBasic); reason(err) != apierr.ReasonAuthMethodMismatch {
			t.Fatalf("BASIC key asking for a token: %v", err)
		}
		if _, err := f.svc.Authenticate(ctx, basic(basicKey.ClientKey, basicSecret), account.AccessAdmin); reason(err) != apierr.ReasonAdminOnly {
			t.Fatalf("BASIC key on an admin method: %v", err)
		}
		if _, err := f.svc.Authenticate(ctx, basic(basicKey.ClientKey, bearerSecret), account.AccessStore); reason(err) != apierr.ReasonSecretMismatch {
			t.Fatalf("wrong secret: %v", err)
		}
		if _, err := f.svc.Authenticate(ctx, "Bearer "+basicSecret, account.AccessStore); reason(err) != apierr.ReasonCredentialsMalformed {
			t.Fatalf("secret key as a bearer token: %v", err)
		}

		if _, err := f.svc.Authenticate(ctx, basic(bearerKey.ClientKey, bearerSecret), account.AccessStore); reason(err) != apierr.ReasonAuthMethodMismatch {
			t.Fatalf("BEARER key with Basic on a store method: %v", err)
		}
		p, err = f.svc.Authenticate(ctx, basic(bearerKey.ClientKey, bearerSecret), account.AccessKeyBasic)
		if err != nil || p.Key == nil || p.Key.ID != bearerKey.ID {
			t.Fatalf("BEARER key asking for a token: %+v, %v", p, err)
		}
		tok, err := f.svc.IssueAccessToken(f.ctx, p.Key)
		if err != nil || tok.ExpiresIn <= 29*time.Minute || tok.ExpiresIn > 30*time.Minute {
			t.Fatalf("access token: %+v, %v", tok, err)
		}
		if again, err := f.svc.IssueAccessToken(f.ctx, p.Key); err != nil || again.Token != tok.Token {
			t.Fatalf("second token %q, %v: want the one in force", again.Token, err)
		}
		p, err = f.svc.Authenticate(ctx, "Bearer "+tok.Token, account.AccessStore)
		if err != nil || p.Key == nil || p.Key.ID != bearerKey.ID {
			t.Fatalf("access token: %+v, %v", p, err)
		}
		if _, err := f.svc.Authenticate(ctx, "Bearer "+tok.Token, account.AccessKeyBasic); reason(err) != apierr.ReasonAuthMethodMismatch {
			t.Fatalf("token asking for a token: %v", err)
		}

		f.clock.advance(31 * time.Minute)
		if _, err := f.svc.Authenticate(ctx, "Bearer "+tok.Token, account.AccessStore); reason(err) != apierr.ReasonTokenExpired {
			t.Fatalf("expired token: %v", err)
		}

		// A reissue revokes the old secret and the tokens of the old one.
		fresh, err := f.svc.IssueAccessToken(f.ctx, p.Key)
		if err != nil {
			t.Fatal(err)
		}
		_, newSecret, err := f.svc.ReissueKeySecret(f.ctx, bearerKey)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.Authenticate(ctx, basic(bearerKey.ClientKey, bearerSecret), account.AccessKeyBasic); reason(err) != apierr.ReasonSecretRevoked {
			t.Fatalf("old secret: %v", err)
		}
		if _, err := f.svc.Authenticate(ctx, "Bearer "+fresh.Token, account.AccessStore); reason(err) != apierr.ReasonTokenRevoked {
			t.Fatalf("token of the old secret: %v", err)
		}
		if _, err := f.svc.Authenticate(ctx, basic(bearerKey.ClientKey, newSecret), account.AccessKeyBasic); err != nil {
			t.Fatalf("new secret: %v", err)
		}

		// The administrator.
		if p, err := f.svc.Authenticate(ctx, "Bearer "+f.first.AdminToken, account.AccessStore); err != nil || !p.Admin || p.StoreID() != "" {
			t.Fatalf("admin: %+v, %v", p, err)
		}
		if _, err := f.svc.Authenticate(ctx, "Bearer "+f.first.AdminToken, account.AccessKeyBasic); reason(err) != apierr.ReasonAuthMethodMismatch {
			t.Fatalf("admin asking for a token: %v", err)
		}
		if _, err := f.svc.Authenticate(ctx, "Bearer pma_not-the-token", account.AccessAdmin); reason(err) != apierr.ReasonAdminTokenInvalid {
			t.Fatalf("wrong admin token: %v", err)
		}
		for header, want := range map[string]string{
			"":                                        apierr.ReasonCredentialsMissing,
			"Digest x":                                apierr.ReasonCredentialsMalformed,
			"Bearer nonsense":                         apierr.ReasonTokenInvalid,
			"Bearer at_bm90IGEgdG9rZW4.c2ln":          apierr.ReasonTokenInvalid,
			basic("ck_test_madeup", "sk_test_x"):      apierr.ReasonKeyUnknown,
			basic(basicKey.ClientKey, ""):             apierr.ReasonClientKeyNotAllowed,
			"Bearer " + basicKey.ClientKey:            apierr.ReasonClientKeyNotAllowed,
			basic("user", "password"):                 apierr.ReasonCredentialsMalformed,
			"Bearer ck_test_abcdefghijklmnopqrstuvwx": apierr.ReasonKeyUnknown,
		} {
			if _, err := f.svc.Authenticate(ctx, header, account.AccessStore); reason(err) != want {
				t.Errorf("%q: %v, want %s", header, err, want)
			}
		}
	})
}

// TestDeletedKeyAndSuspendedStore: a deleted key is KEY_DELETED at once,
// its access tokens too, although the cache held it; a suspended store's
// keys are STORE_SUSPENDED at once.
func TestDeletedKeyAndSuspendedStore(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, db *ent.Client) {
		f := newFixture(t, db)
		ctx := context.Background()
		k, secret := f.createKey(t, apikey.AuthMethodBASIC)
		bk, bsecret := f.createKey(t, apikey.AuthMethodBEARER)
		p, err := f.svc.Authenticate(ctx, basic(bk.ClientKey, bsecret), account.AccessKeyBasic)
		if err != nil {
			t.Fatal(err)
		}
		tok, err := f.svc.IssueAccessToken(f.ctx, p.Key)
		if err != nil {
			t.Fatal(err)
		}
		for _, h := range []string{basic(k.ClientKey, secret), "Bearer " + tok.Token} {
			if _, err := f.svc.Authenticate(ctx, h, account.AccessStore); err != nil { // now cached
				t.Fatal(err)
			}
		}
		before := db.Store.GetX(tenant.System(ctx), f.first.StoreID).KeyCount
		for _, key := range []*ent.APIKey{k, bk} {
			if err := f.svc.DeleteKey(f.ctx, key); err != nil {
				t.Fatal(err)
			}
		}
		if got := db.Store.GetX(tenant.System(ctx), f.first.StoreID).KeyCount; got != before-2 {
			t.Fatalf("key count %d after deleting two of %d", got, before)
		}
		if _, err := f.svc.Authenticate(ctx, basic(k.ClientKey, secret), account.AccessStore); reason(err) != apierr.ReasonKeyDeleted {
			t.Fatalf("deleted key: %v", err)
		}
		if _, err := f.svc.Authenticate(ctx, "Bearer "+tok.Token, account.AccessStore); reason(err) != apierr.ReasonKeyDeleted {
			t.Fatalf("token of a deleted key: %v", err)
		}
		if _, err := f.svc.Authenticate(ctx, basic(k.ClientKey, ""), account.AccessStore); reason(err) != apierr.ReasonKeyUnknown {
			t.Fatalf("deleted client key alone: %v", err)
		}
		if err := f.svc.DeleteKey(f.ctx, k); err != nil {
			t.Fatalf("second delete: %v", err)
		}
		if got := db.Store.GetX(tenant.System(ctx), f.first.StoreID).KeyCount; got != before-2 {
			t.Fatalf("key count %d after deleting a key twice", got)
		}

		first := basic(f.first.ClientKey, f.first.SecretKey)
		if _, err := f.svc.Authenticate(ctx, first, account.AccessStore); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.UpdateStore(f.ctx, f.first.StoreID, account.StoreUpdate{State: new(store.StateSUSPENDED)}); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.Authenticate(ctx, first, account.AccessStore); reason(err) != apierr.ReasonStoreSuspended {
			t.Fatalf("key of a suspended store: %v", err)
		}
		if _, err := f.svc.UpdateStore(f.ctx, f.first.StoreID, account.StoreUpdate{State: new(store.StateACTIVE)}); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.Authenticate(ctx, first, account.AccessStore); err != nil {
			t.Fatalf("key of a reactivated store: %v", err)
		}
		if _, err := f.svc.UpdateStore(f.ctx, "st_nope", account.StoreUpdate{Name: new("x")}); reason(err) != apierr.ReasonStoreNotFound {
			t.Fatalf("update of a missing store: %v", err)
		}
	})
}

// TestKnownKeyServedFromCache: once a key and its store's IP rules are
// known, authenticating and reading the rules make no database round trip
// until the TTL passes.
func TestKnownKeyServedFromCache(t *testing.T) {
	forEachCountedDB(t, func(t *testing.T, db *ent.Client, rt *testdb.CountingDriver) {
		f := newFixture(t, db)
		ctx := context.Background()
		if _, err := f.svc.CreateIPRule(f.ctx, account.IPRuleInput{StoreID: f.first.StoreID, CIDR: "127.0.0.0/8"}); err != nil {
			t.Fatal(err)
		}
		bk, bsecret := f.createKey(t, apikey.AuthMethodBEARER)
		p, err := f.svc.Authenticate(ctx, basic(bk.ClientKey, bsecret), account.AccessKeyBasic)
		if err != nil {
			t.Fatal(err)
		}
		tok, err := f.svc.IssueAccessToken(f.ctx, p.Key)
		if err != nil {
			t.Fatal(err)
		}
		h := basic(f.first.ClientKey, f.first.SecretKey)
		warm := func() {
			for _, c := range []struct {
				header string
				access account.Access
			}{{h, account.AccessStore}, {"Bearer " + tok.Token, account.AccessStore}, {"Bearer " + f.first.AdminToken, account.AccessAdmin}} {
				if _, err := f.svc.Authenticate(ctx, c.header, c.access); err != nil {
					t.Fatal(err)
				}
			}
			if rules, err := f.svc.RulesOf(ctx, f.first.StoreID); err != nil || len(rules) != 1 {
				t.Fatalf("rules %v, %v", rules, err)
			}
		}
		warm()
		before := rt.N.Load()
		for range 50 {
			warm()
		}
		if n := rt.N.Load() - before; n != 0 {
			t.Fatalf("%d database round trips for known keys", n)
		}
		f.clock.advance(time.Minute)
		warm()
		if n := rt.N.Load() - before; n == 0 {
			t.Fatal("no database round trip after the TTL")
		}
	})
}

// TestKeyLimitUnderConcurrentCreates: however many creates race, a store
// ends with MaxKeysPerStore keys, the rest refused with KEY_LIMIT_EXCEEDED.
func TestKeyLimitUnderConcurrentCreates(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, db *ent.Client) {
		f := newFixture(t, db)
		const tries = 12
		var wg sync.WaitGroup
		var created, refused atomic.Int32
		errs := make(chan error, tries)
		for i := range tries {
			wg.Go(func() {
				_, _, err := f.svc.CreateKey(f.ctx, account.KeyInput{StoreID: f.first.StoreID, Name: fmt.Sprint("k", i)})
				switch {
				case err == nil:
					created.Add(1)
				case apierr.Reason(err) == apierr.ReasonKeyLimitExceeded:
					refused.Add(1)
				default:
					errs <- err
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Errorf("create: %v", err)
		}
		sys := tenant.System(context.Background())
		keys := db.APIKey.Query().Where(apikey.StoreID(f.first.StoreID), apikey.DeletedAtIsNil()).CountX(sys)
		count := db.Store.GetX(sys, f.first.StoreID).KeyCount
		// The first run's key is one of the five.
		if keys != account.MaxKeysPerStore || count != account.MaxKeysPerStore || created.Load() != account.MaxKeysPerStore-1 || refused.Load() != tries-(account.MaxKeysPerStore-1) {
			t.Fatalf("%d keys, count %d, %d created, %d refused", keys, count, created.Load(), refused.Load())
		}
	})
}

// TestIPRules: rules are checked and deduplicated, and RulesOf sees a
// change at once although it cached the rules before.
func TestIPRules(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, db *ent.Client) {
		f := newFixture(t, db)
		ctx := context.Background()
		if rules, err := f.svc.RulesOf(ctx, f.first.StoreID); err != nil || len(rules) != 0 {
			t.Fatalf("rules %v, %v", rules, err)
		}
		r, err := f.svc.CreateIPRule(f.ctx, account.IPRuleInput{StoreID: f.first.StoreID, CIDR: "10.1.2.3", Description: "office"})
		if err != nil || r.Cidr != "10.1.2.3/32" || r.Description != "office" {
			t.Fatalf("rule %+v, %v", r, err)
		}
		if _, err := f.svc.CreateIPRule(f.ctx, account.IPRuleInput{StoreID: f.first.StoreID, CIDR: "10.1.2.3/32"}); reason(err) != apierr.ReasonIPRuleAlreadyExists {
			t.Fatalf("same prefix again: %v", err)
		}
		if _, err := f.svc.CreateIPRule(f.ctx, account.IPRuleInput{StoreID: f.first.StoreID, CIDR: "10.1.2.300"}); apierr.CodeOf(err) != apierr.CodeInvalidArgument {
			t.Fatalf("bad CIDR: %v", err)
		}
		rules, err := f.svc.RulesOf(ctx, f.first.StoreID)
		if err != nil || len(rules) != 1 || rules[0].ID != r.ID || !rules[0].Prefix.Contains(netip.MustParseAddr("10.1.2.3")) {
			t.Fatalf("rules %v, %v", rules, err)
		}
		if err := f.svc.DeleteIPRule(f.ctx, r.ID); err != nil {
			t.Fatal(err)
		}
		if rules, err := f.svc.RulesOf(ctx, f.first.StoreID); err != nil || len(rules) != 0 {
			t.Fatalf("rules after delete %v, %v", rules, err)
		}
		if err := f.svc.DeleteIPRule(f.ctx, r.ID); reason(err) != apierr.ReasonIPRuleNotFound {
			t.Fatalf("second delete: %v", err)
		}
	})
}

// TestUsageRecorder: the recorder writes each key's last use when its
// runner stops (and on its ticks), and a use of a key that is gone is
// dropped without an error.
func TestUsageRecorder(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, db *ent.Client) {
		f := newFixture(t, db)
		u := account.NewUsageRecorder(db, slog.New(slog.NewTextHandler(io.Discard, nil)), time.Hour)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- u.Run(ctx) }()
		at := time.Date(2026, 12, 1, 9, 30, 0, 0, time.UTC)
		u.Record(f.first.KeyID, netip.MustParseAddr("192.0.2.1"), at.Add(-time.Minute))
		u.Record(f.first.KeyID, netip.MustParseAddr("192.0.2.7"), at)
		u.Record("key_gone", netip.Addr{}, at)
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("Run did not return when its context ended")
		}
		k := db.APIKey.GetX(tenant.System(context.Background()), f.first.KeyID)
		if k.LastUsedAt == nil || !k.LastUsedAt.Equal(at) || k.LastUsedIP != "192.0.2.7" {
			t.Fatalf("last used %v from %q", k.LastUsedAt, k.LastUsedIP)
		}
	})
}

// TestCreateStore: a store needs a name.
func TestCreateStore(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, db *ent.Client) {
		svc := account.New(account.Options{DB: db, Keyring: newKeyring(t)})
		admin := tenant.NewContext(context.Background(), tenant.Viewer{Admin: true})
		if _, err := svc.CreateStore(admin, account.StoreInput{}); apierr.CodeOf(err) != apierr.CodeInvalidArgument {
			t.Fatalf("store without a name: %v", err)
		}
		st, err := svc.CreateStore(admin, account.StoreInput{Name: "Shop", ContactEmail: "ops@example.com"})
		if err != nil || st.Name != "Shop" || st.ContactEmail != "ops@example.com" || st.State != store.StateACTIVE {
			t.Fatalf("store %+v, %v", st, err)
		}
	})
}
