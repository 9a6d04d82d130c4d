package console

import (
	"context"
	"fmt"
	"time"

	"github.com/paymux/paymux/account"
	"github.com/paymux/paymux/apierr"
	"github.com/paymux/paymux/database"
	"github.com/paymux/paymux/ent"
	"github.com/paymux/paymux/ent/consolemembership"
	"github.com/paymux/paymux/ent/consolesetuptoken"
	"github.com/paymux/paymux/ent/consoleuser"
	"github.com/paymux/paymux/ent/store"
	"github.com/paymux/paymux/tenant"
)

// Membership is a user's role in a store.
type Membership struct {
	StoreID, StoreName string
	Role               account.Role
}

// Member is a console user with their roles.
type Member struct {
	User        *ent.ConsoleUser
	Memberships []Membership
}

// Stores are the stores a user may act on, oldest first: every store, as
// OWNER, for a platform administrator.
func (s *Service) Stores(ctx context.Context, u *ent.ConsoleUser) ([]Membership, error) {
	ctx = tenant.System(ctx)
	if u.PlatformAdmin {
		stores, err := s.db.Store.Query().Order(ent.Asc(store.FieldCreatedAt), ent.Asc(store.FieldID)).All(ctx)
		if err != nil {
			return nil, fmt.Errorf("list stores: %w", err)
		}
		out := make([]Membership, len(stores))
		for i, st := range stores {
			out[i] = Membership{StoreID: st.ID, StoreName: st.Name, Role: account.RoleOwner}
		}
		return out, nil
	}
	rows, err := s.db.ConsoleMembership.Query().Where(consolemembership.UserID(u.ID)).
		Order(ent.Asc(consolemembership.FieldCreatedAt)).All(ctx)
	if err != nil {
		return nil, fmt.Errorf("list roles of %s: %w", u.ID, err)
	}
	return s.withStoreNames(ctx, rows)
}

func (s *Service) withStoreNames(ctx context.Context, rows []*ent.ConsoleMembership) ([]Membership, error) {
	ids := make([]string, len(rows))
	for i, r := range rows {
		ids[i] = r.StoreID
	}
	stores, err := s.db.Store.Query().Where(store.IDIn(ids...)).All(ctx)
	if err != nil {
		return nil, fmt.Errorf("read store names: %w", err)
	}
	names := make(map[string]string, len(stores))
	for _, st := range stores {
		names[st.ID] = st.Name
	}
	out := make([]Membership, len(rows))
	for i, r := range rows {
		out[i] = Membership{StoreID: r.StoreID, StoreName: names[r.StoreID], Role: account.ParseRole(r.Role.String())}
	}
	return out, nil
}

// Members lists storeID's console users with their role there, or, with
// storeID "", every console user with all their roles (the administrator's
// view).
func (s *Service) Members(ctx context.Context, storeID string) ([]Member, error) {
	ctx = tenant.System(ctx)
	q := s.db.ConsoleMembership.Query().Order(ent.Asc(consolemembership.FieldCreatedAt))
	users := s.db.ConsoleUser.Query().Order(ent.Asc(consoleuser.FieldCreatedAt), ent.Asc(consoleuser.FieldID))
	if storeID != "" {
		q.Where(consolemembership.StoreID(storeID))
	}
	rows, err := q.All(ctx)
	if err != nil {
		return nil, fmt.Errorf("list roles: %w", err)
	}
	if storeID != "" {
		ids := make([]string, len(rows))
		for i, r := range rows {
			ids[i] = r.UserID
		}
		users.Where(consoleuser.IDIn(ids...))
	}
	us, err := users.All(ctx)
	if err != nil {
		return nil, fmt.Errorf("list console users: %w", err)
	}
	ms, err := s.withStoreNames(ctx, rows)
	if err != nil {
		return nil, err
	}
	byUser := map[string][]Membership{}
	for i, r := range rows {
		byUser[r.UserID] = append(byUser[r.UserID], ms[i])
	}
	out := make([]Member, 0, len(us))
	for _, u := range us {
		out = append(out, Member{User: u, Memberships: byUser[u.ID]})
	}
	return out, nil
}

// Invitation is what Invite made: for a new user, the one-time link token.
type Invitation struct {
	Member     Member
	SetupToken string
	Expires    time.Time
}

// Invite gives email the role in storeID. A new email gets a user without
// a password and a link to set one (a user who never used theirs gets a
// fresh one); an existing user gets the role at once.
func (s *Service) Invite(ctx context.Context, storeID, email string, role account.Role) (Invitation, error) {
	ctx = tenant.System(ctx)
	email, err := checkEmail(email)
	if err != nil {
		return Invitation{}, err
	}
	if role == account.RoleNone {
		return Invitation{}, apierr.InvalidField("role", "must be VIEWER, DEVELOPER, ADMIN or OWNER")
	}
	var inv Invitation
	var userID string
	err = database.InTx(ctx, s.db, func(tx *ent.Tx) error {
		if err := database.LockStore(ctx, tx, storeID); err != nil {
			return err
		}
		u, err := userByEmail(ctx, tx, email)
		if err != nil {
			return fmt.Errorf("find console user: %w", err)
		}
		if u == nil {
			if u, err = tx.ConsoleUser.Create().SetEmail(email).Save(ctx); err != nil {
				return fmt.Errorf("create console user: %w", err)
			}
		}
		userID = u.ID
		exists, err := tx.ConsoleMembership.Query().
			Where(consolemembership.UserID(u.ID), consolemembership.StoreID(storeID)).Exist(ctx)
		if err != nil {
			return fmt.Errorf("find role: %w", err)
		}
		if exists {
			return apierr.New(apierr.CodeAlreadyExists, apierr.ReasonAlreadyExists,
				"%s already has a role in store %s: change it instead", email, storeID)
		}
		if err := tx.ConsoleMembership.Create().SetUserID(u.ID).SetStoreID(storeID).
			SetRole(consolemembership.Role(role.String())).Exec(ctx); err != nil {
			return fmt.Errorf("give role: %w", err)
		}
		if u.PasswordHash != "" || u.PlatformAdmin {
			return nil
		}
		// A user who has not come yet gets a new link only from the store
		// that first invited them: a link from here would let this store's
		// owner set the password of someone another store is waiting for.
		elsewhere, err := tx.ConsoleMembership.Query().
			Where(consolemembership.UserID(u.ID), consolemembership.StoreIDNEQ(storeID)).Exist(ctx)
		if err != nil || elsewhere {
			return err
		}
		if _, err := tx.ConsoleSetupToken.Delete().
			Where(consolesetuptoken.UserID(u.ID), consolesetuptoken.UsedAtIsNil()).Exec(ctx); err != nil {
			return fmt.Errorf("drop earlier links: %w", err)
		}
		inv.SetupToken, err = s.newSetupToken(ctx, tx, u.ID, s.cfg.InviteTTL)
		inv.Expires = s.clock().Add(s.cfg.InviteTTL)
		return err
	})
	if err != nil {
		return Invitation{}, err
	}
	inv.Member, err = s.member(ctx, storeID, userID)
	return inv, err
}

// member is userID with their role in storeID.
func (s *Service) member(ctx context.Context, storeID, userID string) (Member, error) {
	row, err := s.db.ConsoleMembership.Query().
		Where(consolemembership.UserID(userID), consolemembership.StoreID(storeID)).Only(ctx)
	if ent.IsNotFound(err) {
		return Member{}, apierr.New(apierr.CodeNotFound, apierr.ReasonConsoleUserNotFound,
			"console user %s has no role in store %s", userID, storeID)
	}
	if err != nil {
		return Member{}, fmt.Errorf("find role: %w", err)
	}
	u, err := s.db.ConsoleUser.Get(ctx, userID)
	if err != nil {
		return Member{}, fmt.Errorf("find console user: %w", err)
	}
	ms, err := s.withStoreNames(ctx, []*ent.ConsoleMembership{row})
	return Member{User: u, Memberships: ms}, err
}

// SetRole changes userID's role in storeID. The store keeps an OWNER.
func (s *Service) SetRole(ctx context.Context, storeID, userID string, role account.Role) (Member, error) {
	ctx = tenant.System(ctx)
	if role == account.RoleNone {
		return Member{}, apierr.InvalidField("role", "must be VIEWER, DEVELOPER, ADMIN or OWNER")
	}
	err := s.changeMembership(ctx, storeID, userID, role != account.RoleOwner, func(tx *ent.Tx, m *ent.ConsoleMembership) error {
		return m.Update().SetRole(consolemembership.Role(role.String())).Exec(ctx)
	})
	if err != nil {
		return Member{}, err
	}
	return s.member(ctx, storeID, userID)
}

// Remove takes userID's role in storeID away; their sessions lose the
// store at their next call. The store keeps an OWNER.
func (s *Service) Remove(ctx context.Context, storeID, userID string) error {
	ctx = tenant.System(ctx)
	return s.changeMembership(ctx, storeID, userID, true, func(tx *ent.Tx, m *ent.ConsoleMembership) error {
		if err := tx.ConsoleMembership.DeleteOne(m).Exec(ctx); err != nil {
			return err
		}
		return dropIfNeverCame(ctx, tx, userID)
	})
}

// dropIfNeverCame deletes a user who never set a password and has no role
// left, with their links: a link sent to the wrong person must not open an
// account once its roles are gone.
func dropIfNeverCame(ctx context.Context, tx *ent.Tx, userID string) error {
	u, err := tx.ConsoleUser.Get(ctx, userID)
	if err != nil || u.PasswordHash != "" || u.PlatformAdmin {
		return err
	}
	if roles, err := tx.ConsoleMembership.Query().Where(consolemembership.UserID(userID)).Exist(ctx); err != nil || roles {
		return err
	}
	if _, err := tx.ConsoleSetupToken.Delete().Where(consolesetuptoken.UserID(userID)).Exec(ctx); err != nil {
		return err
	}
	return tx.ConsoleUser.DeleteOneID(userID).Exec(ctx)
}

// changeMembership runs change on userID's membership of storeID, refusing
// it when it would leave the store without an OWNER (dropsOwner: the change
// takes the OWNER role away). The store's row lock makes two such changes
// take turns, so two owners cannot demote each other at once.
func (s *Service) changeMembership(ctx context.Context, storeID, userID string, dropsOwner bool, change func(*ent.Tx, *ent.ConsoleMembership) error) error {
	return database.InTx(ctx, s.db, func(tx *ent.Tx) error {
		if err := database.LockStore(ctx, tx, storeID); err != nil {
			return err
		}
		m, err := tx.ConsoleMembership.Query().
			Where(consolemembership.UserID(userID), consolemembership.StoreID(storeID)).Only(ctx)
		if ent.IsNotFound(err) {
			return apierr.New(apierr.CodeNotFound, apierr.ReasonConsoleUserNotFound,
				"console user %s has no role in store %s", userID, storeID)
		}
		if err != nil {
			return fmt.Errorf("find role: %w", err)
		}
		changed, err := tx.ConsoleUser.Get(ctx, userID)
		if err != nil {
			return fmt.Errorf("find console user: %w", err)
		}
		if dropsOwner && m.Role == consolemembership.RoleOWNER && changed.PasswordHash != "" {
			// Another OWNER who has set their password must remain: one
			// whose link may expire unused does not keep the store.
			others, err := tx.ConsoleMembership.Query().
				Where(consolemembership.StoreID(storeID), consolemembership.RoleEQ(consolemembership.RoleOWNER),
					consolemembership.UserIDNEQ(userID)).
				Select(consolemembership.FieldUserID).Strings(ctx)
			if err != nil {
				return fmt.Errorf("find owners: %w", err)
			}
			active, err := tx.ConsoleUser.Query().Where(consoleuser.IDIn(others...), consoleuser.PasswordHashNEQ("")).Count(ctx)
			if err != nil {
				return fmt.Errorf("count owners: %w", err)
			}
			if active == 0 {
				return apierr.New(apierr.CodeFailedPrecondition, apierr.ReasonLastOwner,
					"store %s must keep an OWNER: make someone else OWNER first", storeID)
			}
		}
		if err := change(tx, m); err != nil {
			return fmt.Errorf("change role: %w", err)
		}
		return nil
	})
}
