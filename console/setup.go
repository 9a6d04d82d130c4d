package console

import (
	"context"
	"fmt"
	"net/mail"
	"net/netip"
	"strings"
	"time"

	"github.com/paymux/paymux/apierr"
	"github.com/paymux/paymux/database"
	"github.com/paymux/paymux/ent"
	"github.com/paymux/paymux/ent/consolemembership"
	"github.com/paymux/paymux/ent/consolesetuptoken"
	"github.com/paymux/paymux/ent/consoleuser"
	"github.com/paymux/paymux/ent/store"
	"github.com/paymux/paymux/secrets"
	"github.com/paymux/paymux/tenant"
)

// SetupPath is where a password link opens in the console; the token
// follows in the URL's fragment, which browsers never send to a server or
// put in a Referer.
const SetupPath = "/console/setup#token="

// FirstOwnerLink returns a new one-time link token for the first owner
// when no console user exists and no earlier link is still usable (ok
// false otherwise), so that a link is printed once: on the first run, or on
// the first start after an upgrade or after the last link expired.
func (s *Service) FirstOwnerLink(ctx context.Context) (token string, ok bool, err error) {
	ctx = tenant.System(ctx)
	err = database.InTx(ctx, s.db, func(tx *ent.Tx) error {
		if err := s.locks.Lock(ctx, tx, firstOwnerLock); err != nil {
			return err
		}
		exists, err := tx.ConsoleUser.Query().Exist(ctx)
		if err != nil || exists {
			return err
		}
		live, err := tx.ConsoleSetupToken.Query().
			Where(consolesetuptoken.UserID(""), consolesetuptoken.UsedAtIsNil(), consolesetuptoken.ExpiresAtGT(s.clock())).Exist(ctx)
		if err != nil || live {
			return err
		}
		if _, err := tx.ConsoleSetupToken.Delete().Where(consolesetuptoken.UserID("")).Exec(ctx); err != nil {
			return fmt.Errorf("drop expired first-owner links: %w", err)
		}
		token, err = s.newSetupToken(ctx, tx, "", firstOwnerTTL)
		ok = err == nil
		return err
	})
	if err != nil {
		return "", false, fmt.Errorf("first-owner link: %w", err)
	}
	return token, ok, nil
}

func (s *Service) newSetupToken(ctx context.Context, tx *ent.Tx, userID string, ttl time.Duration) (string, error) {
	token := setupTokenPrefix + secrets.RandomString(40)
	now := s.clock()
	err := tx.ConsoleSetupToken.Create().
		SetTokenHash(s.keyring.HashSecret(token)).
		SetUserID(userID).
		SetCreatedAt(now).
		SetExpiresAt(now.Add(ttl)).
		Exec(ctx)
	if err != nil {
		return "", fmt.Errorf("create password link: %w", err)
	}
	return token, nil
}

// SetupLink is what a password link is for.
type SetupLink struct {
	// Email is the invited user's; empty for the first owner, who gives one.
	Email   string
	Expires time.Time
}

var errLinkInvalid = apierr.New(apierr.CodeNotFound, apierr.ReasonNotFound,
	"this link is unknown, used or expired: ask for a new one")

// Link reads a password link without using it.
func (s *Service) Link(ctx context.Context, token string) (SetupLink, error) {
	ctx = tenant.System(ctx)
	row, err := s.liveLink(ctx, s.db.ConsoleSetupToken, token)
	if err != nil {
		return SetupLink{}, err
	}
	link := SetupLink{Expires: row.ExpiresAt}
	if row.UserID != "" {
		u, err := s.db.ConsoleUser.Get(ctx, row.UserID)
		if ent.IsNotFound(err) {
			return SetupLink{}, errLinkInvalid
		}
		if err != nil {
			return SetupLink{}, fmt.Errorf("find invited user: %w", err)
		}
		link.Email = u.Email
	}
	return link, nil
}

func (s *Service) liveLink(ctx context.Context, q *ent.ConsoleSetupTokenClient, token string) (*ent.ConsoleSetupToken, error) {
	if !strings.HasPrefix(token, setupTokenPrefix) || len(token) > 100 {
		return nil, errLinkInvalid
	}
	row, err := q.Query().Where(consolesetuptoken.TokenHash(s.keyring.HashSecret(token))).Only(ctx)
	if ent.IsNotFound(err) {
		return nil, errLinkInvalid
	}
	if err != nil {
		return nil, fmt.Errorf("find password link: %w", err)
	}
	if row.UsedAt != nil || !s.clock().Before(row.ExpiresAt) {
		return nil, errLinkInvalid
	}
	return row, nil
}

// UseLink sets a password with a one-time link and signs the user in. The
// first owner's link creates the first user, with email, as the platform
// administrator and the OWNER of the oldest store; an invited user's sets
// their password (email is ignored) while they still have a role. The link
// works once. The password is hashed before the transaction, so no write
// waits on it.
func (s *Service) UseLink(ctx context.Context, token, email, password string, ip netip.Addr) (sessionToken string, expiry time.Time, err error) {
	ctx = tenant.System(ctx)
	link, err := s.liveLink(ctx, s.db.ConsoleSetupToken, token)
	if err != nil {
		return "", time.Time{}, err
	}
	if link.UserID == "" {
		if email, err = checkEmail(email); err != nil {
			return "", time.Time{}, err
		}
	} else {
		u, err := s.db.ConsoleUser.Get(ctx, link.UserID)
		if ent.IsNotFound(err) {
			return "", time.Time{}, errLinkInvalid
		}
		if err != nil {
			return "", time.Time{}, fmt.Errorf("find invited user: %w", err)
		}
		email = u.Email
	}
	if msg := checkPassword(password, email); msg != "" {
		return "", time.Time{}, apierr.InvalidField("password", "%s", msg)
	}
	hash, err := hashPassword(password)
	if err != nil {
		return "", time.Time{}, err
	}
	var userID string
	err = database.InTx(ctx, s.db, func(tx *ent.Tx) error {
		if link.UserID == "" {
			if err := s.locks.Lock(ctx, tx, firstOwnerLock); err != nil {
				return err
			}
		}
		// Claim the link first: of two uses at once, one changes the row.
		n, err := tx.ConsoleSetupToken.Update().
			Where(consolesetuptoken.ID(link.ID), consolesetuptoken.UsedAtIsNil(), consolesetuptoken.ExpiresAtGT(s.clock())).
			SetUsedAt(s.clock()).Save(ctx)
		if err != nil {
			return fmt.Errorf("use password link: %w", err)
		}
		if n == 0 {
			return errLinkInvalid
		}
		if link.UserID == "" {
			userID, err = s.createFirstOwner(ctx, tx, email, hash)
			return err
		}
		u, err := tx.ConsoleUser.Get(ctx, link.UserID)
		if ent.IsNotFound(err) {
			return errLinkInvalid
		}
		if err != nil {
			return fmt.Errorf("find invited user: %w", err)
		}
		roles, err := tx.ConsoleMembership.Query().Where(consolemembership.UserID(u.ID)).Exist(ctx)
		if err != nil {
			return fmt.Errorf("find roles of invited user: %w", err)
		}
		if !roles && !u.PlatformAdmin {
			return errLinkInvalid // their roles were taken away before they came
		}
		userID = u.ID
		return u.Update().SetPasswordHash(hash).SetFailedSignIns(0).ClearLockedUntil().SetLastSignInAt(s.clock()).Exec(ctx)
	})
	if err != nil {
		return "", time.Time{}, err
	}
	s.log.InfoContext(ctx, "console password set", "user_id", userID, "client_ip", ipString(ip))
	return s.openSession(ctx, userID, ip)
}

// firstOwnerLock serialises the making and the use of first-owner links
// across replicas, so that there is only ever one first owner.
const firstOwnerLock = "console:first-owner"

func (s *Service) createFirstOwner(ctx context.Context, tx *ent.Tx, email, hash string) (string, error) {
	if exists, err := tx.ConsoleUser.Query().Exist(ctx); err != nil || exists {
		if err != nil {
			return "", fmt.Errorf("count console users: %w", err)
		}
		return "", errLinkInvalid // someone else became the first owner
	}
	u, err := tx.ConsoleUser.Create().SetEmail(email).SetPasswordHash(hash).SetPlatformAdmin(true).
		SetLastSignInAt(s.clock()).Save(ctx)
	if err != nil {
		return "", fmt.Errorf("create first owner: %w", err)
	}
	first, err := tx.Store.Query().Order(ent.Asc(store.FieldCreatedAt), ent.Asc(store.FieldID)).First(ctx)
	if ent.IsNotFound(err) {
		return u.ID, nil
	}
	if err != nil {
		return "", fmt.Errorf("find first store: %w", err)
	}
	if err := tx.ConsoleMembership.Create().SetUserID(u.ID).SetStoreID(first.ID).
		SetRole(consolemembership.RoleOWNER).Exec(ctx); err != nil {
		return "", fmt.Errorf("make first owner: %w", err)
	}
	return u.ID, nil
}

// checkEmail normalises an email address or says what is wrong with it.
func checkEmail(email string) (string, error) {
	email = normaliseEmail(email)
	if len(email) > maxEmailLength {
		return "", apierr.InvalidField("email", "must be at most 254 characters")
	}
	a, err := mail.ParseAddress(email)
	if err != nil || a.Address != email || a.Name != "" {
		return "", apierr.InvalidField("email", "must be an email address such as dev@example.com")
	}
	return email, nil
}

// userByEmail finds a console user by email (nil if none).
func userByEmail(ctx context.Context, tx *ent.Tx, email string) (*ent.ConsoleUser, error) {
	u, err := tx.ConsoleUser.Query().Where(consoleuser.Email(email)).Only(ctx)
	if ent.IsNotFound(err) {
		return nil, nil
	}
	return u, err
}
