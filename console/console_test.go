package console_test

import (
	"context"
	"errors"
	"log/slog"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/paymux/paymux/account"
	"github.com/paymux/paymux/apierr"
	"github.com/paymux/paymux/console"
	"github.com/paymux/paymux/ent"
	"github.com/paymux/paymux/ent/store"
	"github.com/paymux/paymux/internal/testdb"
	"github.com/paymux/paymux/secrets"
	"github.com/paymux/paymux/tenant"
)

// clock is a test's movable time.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

var testConfig = console.Config{
	IdleTimeout: 30 * time.Minute, SessionLifetime: 12 * time.Hour,
	MaxFailedSignIns: 3, Lockout: 15 * time.Minute, InviteTTL: 7 * 24 * time.Hour,
}

type fixture struct {
	db      *ent.Client
	svc     *console.Service
	clock   *clock
	storeA  string
	storeB  string
	ctx     context.Context
	keyring *secrets.Keyring
}

func newFixture(t *testing.T, db *ent.Client) *fixture {
	t.Helper()
	keyring, err := secrets.NewKeyring(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	c := &clock{t: time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)}
	f := &fixture{db: db, clock: c, keyring: keyring, ctx: context.Background(),
		svc: console.New(console.Deps{Config: testConfig, DB: db, Keyring: keyring, Now: c.now, Logger: slog.New(slog.DiscardHandler)})}
	sys := tenant.System(f.ctx)
	a := db.Store.Create().SetName("Store A").SaveX(sys)
	b := db.Store.Create().SetName("Store B").SaveX(sys)
	f.storeA, f.storeB = a.ID, b.ID
	return f
}

// owner makes the first owner through the first-owner link.
func (f *fixture) owner(t *testing.T) (email, password, token string) {
	t.Helper()
	link, ok, err := f.svc.FirstOwnerLink(f.ctx)
	if err != nil || !ok {
		t.Fatalf("first owner link: ok=%v err=%v", ok, err)
	}
	token, _, err = f.svc.UseLink(f.ctx, link, "Owner@Example.com", "owner password 1", netip.Addr{})
	if err != nil {
		t.Fatalf("use first owner link: %v", err)
	}
	return "owner@example.com", "owner password 1", token
}

// member invites email with role in storeID and sets their password.
func (f *fixture) member(t *testing.T, storeID, email string, role account.Role) (userID, session string) {
	t.Helper()
	inv, err := f.svc.Invite(f.ctx, storeID, email, role)
	if err != nil {
		t.Fatalf("invite %s: %v", email, err)
	}
	if inv.SetupToken == "" {
		t.Fatalf("invite of new user %s made no link", email)
	}
	session, _, err = f.svc.UseLink(f.ctx, inv.SetupToken, "", "member password 1", netip.Addr{})
	if err != nil {
		t.Fatalf("set password of %s: %v", email, err)
	}
	return inv.Member.User.ID, session
}

func reasonOf(err error) string {
	var ae *apierr.Error
	if errors.As(err, &ae) {
		return ae.Reason
	}
	return ""
}

func TestFirstOwnerLink(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, db *ent.Client) {
		f := newFixture(t, db)
		first, ok, err := f.svc.FirstOwnerLink(f.ctx)
		if err != nil || !ok {
			t.Fatalf("first link: %v %v", ok, err)
		}
		// Printed once: while the link lives, no other is made.
		if again, ok, err := f.svc.FirstOwnerLink(f.ctx); ok || again != "" || err != nil {
			t.Fatalf("a second link while the first lives: %q %v %v", again, ok, err)
		}
		f.clock.add(7 * 24 * time.Hour)
		second, ok, err := f.svc.FirstOwnerLink(f.ctx)
		if err != nil || !ok {
			t.Fatalf("a link after the first expired: %v %v", ok, err)
		}
		if _, err := f.svc.Link(f.ctx, first); reasonOf(err) != apierr.ReasonNotFound {
			t.Fatalf("an expired link still works: %v", err)
		}
		link, err := f.svc.Link(f.ctx, second)
		if err != nil || link.Email != "" || !link.Expires.Equal(f.clock.now().Add(7*24*time.Hour)) {
			t.Fatalf("link: %+v %v", link, err)
		}
		for _, bad := range []struct{ email, password, field string }{
			{"not an email", "long enough password", "email"},
			{"Name <a@example.com>", "long enough password", "email"},
			{"a@example.com", "short", "password"},
			{"a@example.com", "a@example.com", "password"},
		} {
			_, _, err := f.svc.UseLink(f.ctx, second, bad.email, bad.password, netip.Addr{})
			var ae *apierr.Error
			if !errors.As(err, &ae) || len(ae.Violations) != 1 || ae.Violations[0].Field != bad.field {
				t.Errorf("UseLink(%q, %q): %v, want a violation of %s", bad.email, bad.password, err, bad.field)
			}
		}
		// A refused use leaves the link usable (the claim rolled back).
		token, _, err := f.svc.UseLink(f.ctx, second, "Owner@Example.com", "owner password 1", netip.MustParseAddr("192.0.2.7"))
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := f.svc.UseLink(f.ctx, second, "x@example.com", "another password", netip.Addr{}); reasonOf(err) != apierr.ReasonNotFound {
			t.Fatalf("a used link worked again: %v", err)
		}
		if _, ok, err := f.svc.FirstOwnerLink(f.ctx); ok || err != nil {
			t.Fatalf("a first-owner link with an owner: ok=%v err=%v", ok, err)
		}
		p, _, err := f.svc.Authenticate(f.ctx, token, f.svc.CSRFToken(token), f.storeB, account.RoleOwner)
		if err != nil || !p.Admin || p.User.Email != "owner@example.com" {
			t.Fatalf("first owner: %+v %v", p, err)
		}
		members, err := f.svc.Members(f.ctx, f.storeA)
		if err != nil || len(members) != 1 || members[0].Memberships[0].Role != account.RoleOwner {
			t.Fatalf("the first owner owns the oldest store: %+v %v", members, err)
		}
	})
}

func TestSignInLockout(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, db *ent.Client) {
		f := newFixture(t, db)
		email, password, _ := f.owner(t)
		ip := netip.MustParseAddr("192.0.2.1")
		if _, _, err := f.svc.SignIn(f.ctx, "nobody@example.com", password, ip); !errors.Is(err, console.ErrSignInFailed) {
			t.Fatalf("unknown email: %v", err)
		}
		// Two failures, then a success resets the count.
		for range 2 {
			if _, _, err := f.svc.SignIn(f.ctx, email, "wrong password", ip); !errors.Is(err, console.ErrSignInFailed) {
				t.Fatalf("wrong password: %v", err)
			}
		}
		if _, _, err := f.svc.SignIn(f.ctx, " OWNER@example.com ", password, ip); err != nil {
			t.Fatalf("sign in: %v", err)
		}
		for i := range 3 {
			_, _, err := f.svc.SignIn(f.ctx, email, "wrong password", ip)
			var locked *console.LockedError
			if i < 2 && !errors.Is(err, console.ErrSignInFailed) || i == 2 && !errors.As(err, &locked) {
				t.Fatalf("failure %d: %v", i+1, err)
			}
		}
		var locked *console.LockedError
		if _, _, err := f.svc.SignIn(f.ctx, email, password, ip); !errors.As(err, &locked) ||
			!locked.Until.Equal(f.clock.now().Add(15*time.Minute)) {
			t.Fatalf("the right password while locked: %v", err)
		}
		f.clock.add(15 * time.Minute)
		if _, _, err := f.svc.SignIn(f.ctx, email, password, ip); err != nil {
			t.Fatalf("after the lock-out: %v", err)
		}
	})
}

func TestSessionExpiry(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, db *ent.Client) {
		f := newFixture(t, db)
		email, password, _ := f.owner(t)
		auth := func(token string) error {
			_, _, err := f.svc.Authenticate(f.ctx, token, f.svc.CSRFToken(token), f.storeA, account.RoleViewer)
			return err
		}
		token, expiry, err := f.svc.SignIn(f.ctx, email, password, netip.Addr{})
		if err != nil || !expiry.Equal(f.clock.now().Add(12*time.Hour)) {
			t.Fatalf("sign in: %v %v", expiry, err)
		}
		// Used every 29 minutes, the session lives until its absolute end.
		for f.clock.now().Add(29 * time.Minute).Before(expiry) {
			f.clock.add(29 * time.Minute)
			if err := auth(token); err != nil {
				t.Fatalf("at %v: %v", f.clock.now(), err)
			}
		}
		f.clock.t = expiry
		if err := auth(token); reasonOf(err) != apierr.ReasonSessionEnded {
			t.Fatalf("after the absolute expiry: %v", err)
		}
		// Unused for the idle timeout, it ends.
		token, _, _ = f.svc.SignIn(f.ctx, email, password, netip.Addr{})
		f.clock.add(30 * time.Minute)
		if err := auth(token); reasonOf(err) != apierr.ReasonSessionEnded {
			t.Fatalf("after the idle timeout: %v", err)
		}
		// Signed out, it ends; the CSRF token of another session does not pass.
		token, _, _ = f.svc.SignIn(f.ctx, email, password, netip.Addr{})
		other, _, _ := f.svc.SignIn(f.ctx, email, password, netip.Addr{})
		if _, _, err := f.svc.Authenticate(f.ctx, token, f.svc.CSRFToken(other), f.storeA, account.RoleViewer); reasonOf(err) != apierr.ReasonCSRFMismatch {
			t.Fatalf("another session's CSRF token: %v", err)
		}
		if _, _, err := f.svc.Authenticate(f.ctx, token, "", f.storeA, account.RoleViewer); reasonOf(err) != apierr.ReasonCSRFMismatch {
			t.Fatalf("no CSRF token: %v", err)
		}
		if err := f.svc.SignOut(f.ctx, token); err != nil {
			t.Fatal(err)
		}
		if err := auth(token); reasonOf(err) != apierr.ReasonSessionEnded {
			t.Fatalf("after sign-out: %v", err)
		}
		if err := auth(other); err != nil {
			t.Fatalf("signing out one session ended another: %v", err)
		}
		if err := auth("cs_forged"); reasonOf(err) != apierr.ReasonSessionEnded {
			t.Fatalf("unknown token: %v", err)
		}
	})
}

func TestRoles(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, db *ent.Client) {
		f := newFixture(t, db)
		f.owner(t)
		sessions := map[account.Role]string{}
		for _, r := range []account.Role{account.RoleViewer, account.RoleDeveloper, account.RoleAdmin, account.RoleOwner} {
			_, sessions[r] = f.member(t, f.storeA, "role-"+r.String()+"@example.com", r)
		}
		for have, token := range sessions {
			for need := account.RoleViewer; need <= account.RoleOwner; need++ {
				p, _, err := f.svc.Authenticate(f.ctx, token, f.svc.CSRFToken(token), f.storeA, need)
				switch {
				case have >= need && (err != nil || p.Admin || p.User.Role != have || p.StoreID() != f.storeA):
					t.Errorf("%s calling a %s method: %+v %v", have, need, p, err)
				case have < need && reasonOf(err) != apierr.ReasonRoleNotAllowed:
					t.Errorf("%s calling a %s method: %v, want ROLE_NOT_ALLOWED", have, need, err)
				}
			}
			// Store B is not theirs, whatever the role.
			if _, _, err := f.svc.Authenticate(f.ctx, token, f.svc.CSRFToken(token), f.storeB, account.RoleViewer); reasonOf(err) != apierr.ReasonStoreMismatch {
				t.Errorf("%s on another store: %v", have, err)
			}
			// A store method needs a store.
			if _, _, err := f.svc.Authenticate(f.ctx, token, f.svc.CSRFToken(token), "", account.RoleViewer); reasonOf(err) != apierr.ReasonStoreRequired {
				t.Errorf("%s without a store: %v", have, err)
			}
		}
		// A suspended store refuses its members, not the administrator.
		db.Store.UpdateOneID(f.storeA).SetState(store.StateSUSPENDED).ExecX(tenant.System(f.ctx))
		token := sessions[account.RoleOwner]
		if _, _, err := f.svc.Authenticate(f.ctx, token, f.svc.CSRFToken(token), f.storeA, account.RoleViewer); reasonOf(err) != apierr.ReasonStoreSuspended {
			t.Errorf("member of a suspended store: %v", err)
		}
	})
}

func TestMembers(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, db *ent.Client) {
		f := newFixture(t, db)
		f.owner(t)
		ownerA, _ := f.svc.Members(f.ctx, f.storeA)
		ownerID := ownerA[0].User.ID
		devID, devSession := f.member(t, f.storeA, "dev@example.com", account.RoleDeveloper)

		// The last owner can be neither demoted nor removed.
		if _, err := f.svc.SetRole(f.ctx, f.storeA, ownerID, account.RoleAdmin); reasonOf(err) != apierr.ReasonLastOwner {
			t.Fatalf("demote the last owner: %v", err)
		}
		if err := f.svc.Remove(f.ctx, f.storeA, ownerID); reasonOf(err) != apierr.ReasonLastOwner {
			t.Fatalf("remove the last owner: %v", err)
		}
		if _, err := f.svc.SetRole(f.ctx, f.storeA, devID, account.RoleOwner); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.SetRole(f.ctx, f.storeA, ownerID, account.RoleViewer); err != nil {
			t.Fatalf("demote one of two owners: %v", err)
		}
		// Inviting someone again is refused; an existing user in another
		// store gets the role at once, without a link.
		if _, err := f.svc.Invite(f.ctx, f.storeA, "DEV@example.com", account.RoleViewer); reasonOf(err) != apierr.ReasonAlreadyExists {
			t.Fatalf("invite a member again: %v", err)
		}
		inv, err := f.svc.Invite(f.ctx, f.storeB, "dev@example.com", account.RoleViewer)
		if err != nil || inv.SetupToken != "" || inv.Member.User.ID != devID {
			t.Fatalf("invite an existing user: %+v %v", inv, err)
		}
		if _, _, err := f.svc.Authenticate(f.ctx, devSession, f.svc.CSRFToken(devSession), f.storeB, account.RoleViewer); err != nil {
			t.Fatalf("the new role works at once: %v", err)
		}
		// Removed, the member's session loses the store at its next call.
		if err := f.svc.Remove(f.ctx, f.storeB, devID); err != nil {
			t.Fatal(err)
		}
		if _, _, err := f.svc.Authenticate(f.ctx, devSession, f.svc.CSRFToken(devSession), f.storeB, account.RoleViewer); reasonOf(err) != apierr.ReasonStoreMismatch {
			t.Fatalf("after removal: %v", err)
		}
		stores, err := f.svc.Stores(f.ctx, inv.Member.User)
		if err != nil || len(stores) != 1 || stores[0].StoreID != f.storeA || stores[0].StoreName != "Store A" || stores[0].Role != account.RoleOwner {
			t.Fatalf("stores of dev: %+v %v", stores, err)
		}
		// An invited user who never set a password cannot sign in, and a
		// new invitation replaces their link.
		first, err := f.svc.Invite(f.ctx, f.storeA, "late@example.com", account.RoleViewer)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := f.svc.SignIn(f.ctx, "late@example.com", "", netip.Addr{}); !errors.Is(err, console.ErrSignInFailed) {
			t.Fatalf("sign-in without a password: %v", err)
		}
		f.svc.Remove(f.ctx, f.storeA, first.Member.User.ID)
		again, err := f.svc.Invite(f.ctx, f.storeA, "late@example.com", account.RoleViewer)
		if err != nil || again.SetupToken == "" {
			t.Fatalf("invite again: %+v %v", again, err)
		}
		if _, err := f.svc.Link(f.ctx, first.SetupToken); reasonOf(err) != apierr.ReasonNotFound {
			t.Fatalf("the first link still works: %v", err)
		}
		if link, err := f.svc.Link(f.ctx, again.SetupToken); err != nil || link.Email != "late@example.com" {
			t.Fatalf("the new link: %+v %v", link, err)
		}
		f.clock.add(7 * 24 * time.Hour)
		if _, err := f.svc.Link(f.ctx, again.SetupToken); reasonOf(err) != apierr.ReasonNotFound {
			t.Fatalf("an expired link: %v", err)
		}
	})
}

// TestSignInGuessesAtOnce: of many guesses sent at once, no more than the
// lock-out allows are ever checked.
func TestSignInGuessesAtOnce(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, db *ent.Client) {
		f := newFixture(t, db)
		email, password, _ := f.owner(t)
		const guesses = 24
		results := make(chan error, guesses+1)
		var wg sync.WaitGroup
		for i := range guesses + 1 {
			wg.Go(func() {
				pw := "wrong password"
				if i == guesses/2 {
					pw = password
				}
				_, _, err := f.svc.SignIn(f.ctx, email, pw, netip.Addr{})
				results <- err
			})
		}
		wg.Wait()
		close(results)
		checked := 0
		for err := range results {
			var locked *console.LockedError
			switch {
			case err == nil, errors.Is(err, console.ErrSignInFailed):
				checked++
			case errors.As(err, &locked):
			default:
				t.Fatalf("sign-in: %v", err)
			}
		}
		if checked > testConfig.MaxFailedSignIns {
			t.Fatalf("%d of %d guesses were checked; the lock-out allows %d", checked, guesses+1, testConfig.MaxFailedSignIns)
		}
	})
}

// TestInviteLinks: a link goes only to the store that first invited a user
// who has not come yet, and dies with the user's last role.
func TestInviteLinks(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, db *ent.Client) {
		f := newFixture(t, db)
		f.owner(t)
		byB, err := f.svc.Invite(f.ctx, f.storeB, "carol@example.com", account.RoleOwner)
		if err != nil || byB.SetupToken == "" {
			t.Fatalf("invite by B: %+v %v", byB, err)
		}
		byA, err := f.svc.Invite(f.ctx, f.storeA, "carol@example.com", account.RoleViewer)
		if err != nil || byA.SetupToken != "" {
			t.Fatalf("store A got a link for B's invitee: %+v %v", byA, err)
		}
		if _, err := f.svc.Link(f.ctx, byB.SetupToken); err != nil {
			t.Fatalf("B's link died: %v", err)
		}
		// Removed from both stores before coming, carol's link opens nothing.
		if err := f.svc.Remove(f.ctx, f.storeA, byA.Member.User.ID); err != nil {
			t.Fatal(err)
		}
		if err := f.svc.Remove(f.ctx, f.storeB, byB.Member.User.ID); err != nil {
			t.Fatal(err)
		}
		if _, _, err := f.svc.UseLink(f.ctx, byB.SetupToken, "", "carol password 1", netip.Addr{}); reasonOf(err) != apierr.ReasonNotFound {
			t.Fatalf("the link of a user with no role left: %v", err)
		}
		// An OWNER who never came does not keep a store: the last active
		// owner stays.
		pending, err := f.svc.Invite(f.ctx, f.storeA, "pending@example.com", account.RoleOwner)
		if err != nil {
			t.Fatal(err)
		}
		members, _ := f.svc.Members(f.ctx, f.storeA)
		for _, m := range members {
			if m.User.ID != pending.Member.User.ID {
				if err := f.svc.Remove(f.ctx, f.storeA, m.User.ID); reasonOf(err) != apierr.ReasonLastOwner {
					t.Fatalf("remove the last active owner beside a pending one: %v", err)
				}
			}
		}
	})
}

// TestFirstOwnerLinkOnce: replicas starting at once print one link.
func TestFirstOwnerLinkOnce(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, db *ent.Client) {
		f := newFixture(t, db)
		var wg sync.WaitGroup
		var mu sync.Mutex
		made := 0
		for range 5 {
			wg.Go(func() {
				_, ok, err := f.svc.FirstOwnerLink(f.ctx)
				if err != nil {
					t.Errorf("first owner link: %v", err)
				}
				if ok {
					mu.Lock()
					made++
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if made != 1 {
			t.Fatalf("%d first-owner links made at once", made)
		}
	})
}

// TestPurge: housekeeping drops ended sessions and used or expired links,
// and keeps what still works.
func TestPurge(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, db *ent.Client) {
		f := newFixture(t, db)
		email, password, _ := f.owner(t)
		sys := tenant.System(f.ctx)
		signedOut, _, _ := f.svc.SignIn(f.ctx, email, password, netip.Addr{})
		if err := f.svc.SignOut(f.ctx, signedOut); err != nil {
			t.Fatal(err)
		}
		idle, _, _ := f.svc.SignIn(f.ctx, email, password, netip.Addr{})
		f.clock.add(20 * time.Minute)
		live, _, _ := f.svc.SignIn(f.ctx, email, password, netip.Addr{})
		pending, err := f.svc.Invite(f.ctx, f.storeA, "pending@example.com", account.RoleViewer)
		if err != nil {
			t.Fatal(err)
		}
		f.clock.add(15 * time.Minute) // idle is past its idle timeout, live is not
		if err := f.svc.Purge(f.ctx); err != nil {
			t.Fatal(err)
		}
		// The first owner's used link, the signed-out and the idle session are gone.
		if n := db.ConsoleSession.Query().CountX(sys); n != 1 {
			t.Fatalf("%d sessions left, want the live one", n)
		}
		if n := db.ConsoleSetupToken.Query().CountX(sys); n != 1 {
			t.Fatalf("%d links left, want the pending invite's", n)
		}
		if _, _, err := f.svc.Authenticate(f.ctx, live, f.svc.CSRFToken(live), f.storeA, account.RoleViewer); err != nil {
			t.Fatalf("the live session after the purge: %v", err)
		}
		if _, _, err := f.svc.Authenticate(f.ctx, idle, f.svc.CSRFToken(idle), f.storeA, account.RoleViewer); reasonOf(err) != apierr.ReasonSessionEnded {
			t.Fatalf("the idle session after the purge: %v", err)
		}
		if _, err := f.svc.Link(f.ctx, pending.SetupToken); err != nil {
			t.Fatalf("the pending link after the purge: %v", err)
		}
	})
}
