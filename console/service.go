package console

import (
	"context"
	"crypto/hmac"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"
	"time"

	"github.com/paymux/paymux/account"
	"github.com/paymux/paymux/apierr"
	"github.com/paymux/paymux/database"
	"github.com/paymux/paymux/ent"
	"github.com/paymux/paymux/ent/consolemembership"
	"github.com/paymux/paymux/ent/consolesession"
	"github.com/paymux/paymux/ent/consolesetuptoken"
	"github.com/paymux/paymux/ent/consoleuser"
	"github.com/paymux/paymux/ent/predicate"
	"github.com/paymux/paymux/ent/store"
	"github.com/paymux/paymux/secrets"
	"github.com/paymux/paymux/tenant"
)

// Config is the console's part of paymux's configuration ("console.*").
type Config struct {
	// IdleTimeout ends a session unused for this long.
	IdleTimeout time.Duration `mapstructure:"idle_timeout"`
	// SessionLifetime ends a session this long after sign-in, used or not.
	SessionLifetime time.Duration `mapstructure:"session_lifetime"`
	// MaxFailedSignIns wrong passwords in a row lock a user out for Lockout.
	MaxFailedSignIns int           `mapstructure:"max_failed_sign_ins"`
	Lockout          time.Duration `mapstructure:"lockout"`
	// InviteTTL is how long an invited user's password link lasts.
	InviteTTL time.Duration `mapstructure:"invite_ttl"`
	// SecureCookie marks the session cookie Secure even on plain HTTP, for
	// a server behind a proxy that terminates TLS. Under paymux's own TLS
	// the cookie is always Secure.
	SecureCookie bool `mapstructure:"secure_cookie"`
}

// Names the browser sends.
const (
	// CookieName holds the session token.
	CookieName = "paymux_session"
	// CSRFHeader carries the session's CSRF token on every API call and
	// on sign-out.
	CSRFHeader = "X-CSRF-Token"
	// StoreHeader names the store a console call acts on.
	StoreHeader = "Paymux-Store"
)

const (
	sessionTokenPrefix = "cs_"
	setupTokenPrefix   = "cst_"
	// touchEvery limits how often a session's last use is written.
	touchEvery     = time.Minute
	firstOwnerTTL  = 7 * 24 * time.Hour
	maxEmailLength = 254
)

// Deps are what a Service is built from.
type Deps struct {
	Config  Config
	DB      *ent.Client
	Keyring *secrets.Keyring
	Logger  *slog.Logger
	Now     func() time.Time
	// PublicURL is where browsers reach paymux (config public_url): its
	// origin counts as the console's own behind a proxy that rewrites Host.
	PublicURL string
}

// Service is the console's users, roles, sessions and links.
type Service struct {
	locks   database.KeyLocks
	cfg     Config
	db      *ent.Client
	keyring *secrets.Keyring
	log     *slog.Logger
	now     func() time.Time
	// publicOrigin is PublicURL without a trailing slash.
	publicOrigin string
}

// New returns a Service.
func New(d Deps) *Service {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	return &Service{cfg: d.Config, db: d.DB, keyring: d.Keyring, log: d.Logger, now: d.Now,
		publicOrigin: strings.TrimRight(d.PublicURL, "/")}
}

func (s *Service) clock() time.Time { return s.now().UTC().Truncate(time.Microsecond) }

// Session is a signed-in browser, as Authenticate found it.
type Session struct {
	ID            string
	User          *ent.ConsoleUser
	IdleExpiry    time.Time
	Expiry        time.Time
	PlatformAdmin bool
}

// ErrSignInFailed is a wrong email or password: the answer never says which.
var ErrSignInFailed = errors.New("console: wrong email or password")

// LockedError is a sign-in refused because the user is locked out.
type LockedError struct{ Until time.Time }

func (e *LockedError) Error() string {
	return "console: too many failed sign-ins; locked until " + e.Until.UTC().Format(time.RFC3339)
}

// SignIn checks email and password and opens a session, returning its
// token (for the cookie) and when it ends at the latest. Wrong passwords
// count towards the lock-out; a success resets the count.
//
// Each attempt is reserved in the database before its password is hashed,
// and only while the user is not locked and has attempts left: of any
// number of guesses sent at once, at most console.max_failed_sign_ins are
// ever checked before the lock-out.
func (s *Service) SignIn(ctx context.Context, email, password string, ip netip.Addr) (token string, expiry time.Time, err error) {
	ctx = tenant.System(ctx)
	email = normaliseEmail(email)
	u, err := s.db.ConsoleUser.Query().Where(consoleuser.Email(email)).Only(ctx)
	if ent.IsNotFound(err) || (err == nil && u.PasswordHash == "") {
		passwordMatches(dummyHash(), password) // as long as a real check
		return "", time.Time{}, ErrSignInFailed
	}
	if err != nil {
		return "", time.Time{}, fmt.Errorf("find console user: %w", err)
	}
	now := s.clock()
	n, err := s.db.ConsoleUser.Update().
		Where(consoleuser.ID(u.ID), notLocked(now), consoleuser.FailedSignInsLT(s.cfg.MaxFailedSignIns)).
		AddFailedSignIns(1).Save(ctx)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("count sign-in attempt of %s: %w", u.ID, err)
	}
	if n == 0 { // locked, or the attempts in flight took what was left
		passwordMatches(dummyHash(), password)
		return "", time.Time{}, s.lock(ctx, u.ID, now)
	}
	if !passwordMatches(u.PasswordHash, password) {
		failures, err := s.db.ConsoleUser.Query().Where(consoleuser.ID(u.ID)).Select(consoleuser.FieldFailedSignIns).Int(ctx)
		if err != nil {
			return "", time.Time{}, fmt.Errorf("read failed sign-ins of %s: %w", u.ID, err)
		}
		s.log.InfoContext(ctx, "console sign-in failed", "user_id", u.ID, "client_ip", ipString(ip), "failures", failures)
		if failures >= s.cfg.MaxFailedSignIns {
			return "", time.Time{}, s.lock(ctx, u.ID, now)
		}
		return "", time.Time{}, ErrSignInFailed
	}
	// A guess that failed meanwhile may have locked the user: then even the
	// right password waits for the lock-out to end.
	n, err = s.db.ConsoleUser.Update().Where(consoleuser.ID(u.ID), notLocked(now)).
		SetFailedSignIns(0).SetLastSignInAt(now).Save(ctx)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("record sign-in of %s: %w", u.ID, err)
	}
	if n == 0 {
		return "", time.Time{}, s.lock(ctx, u.ID, now)
	}
	token, expiry, err = s.openSession(ctx, u.ID, ip)
	if err != nil {
		return "", time.Time{}, err
	}
	s.log.InfoContext(ctx, "console sign-in", "user_id", u.ID, "client_ip", ipString(ip))
	return token, expiry, nil
}

func notLocked(now time.Time) predicate.ConsoleUser {
	return consoleuser.Or(consoleuser.LockedUntilIsNil(), consoleuser.LockedUntilLTE(now))
}

// lock locks the user out from now, unless they are locked already, and
// answers with the time the lock ends.
func (s *Service) lock(ctx context.Context, userID string, now time.Time) error {
	until := now.Add(s.cfg.Lockout)
	n, err := s.db.ConsoleUser.Update().Where(consoleuser.ID(userID), notLocked(now)).
		SetFailedSignIns(0).SetLockedUntil(until).Save(ctx)
	if err != nil {
		return fmt.Errorf("lock console user %s: %w", userID, err)
	}
	if n == 1 {
		s.log.WarnContext(ctx, "console user locked out", "user_id", userID, "until", until)
	}
	u, err := s.db.ConsoleUser.Get(ctx, userID)
	if err != nil {
		return fmt.Errorf("read lock of %s: %w", userID, err)
	}
	if u.LockedUntil == nil {
		return ErrSignInFailed
	}
	return &LockedError{Until: *u.LockedUntil}
}

func (s *Service) openSession(ctx context.Context, userID string, ip netip.Addr) (string, time.Time, error) {
	token := sessionTokenPrefix + secrets.RandomString(40)
	now := s.clock()
	expiry := now.Add(s.cfg.SessionLifetime)
	create := s.db.ConsoleSession.Create().
		SetTokenHash(s.keyring.HashSecret(token)).
		SetUserID(userID).
		SetCreatedAt(now).
		SetLastSeenAt(now).
		SetExpiresAt(expiry)
	if ip.IsValid() {
		create.SetClientIP(ip.String())
	}
	if err := create.Exec(ctx); err != nil {
		return "", time.Time{}, fmt.Errorf("open console session: %w", err)
	}
	return token, expiry, nil
}

// CSRFToken is the token a session's calls must carry in X-CSRF-Token: a
// keyed hash of the session token, so it needs no storage and is useless
// without the cookie it belongs to.
func (s *Service) CSRFToken(sessionToken string) string {
	return base64.RawURLEncoding.EncodeToString(s.keyring.HashSecret("csrf:" + sessionToken))
}

func (s *Service) csrfMatches(sessionToken, header string) bool {
	return header != "" && hmac.Equal([]byte(s.CSRFToken(sessionToken)), []byte(header))
}

// session finds the live session of token, touching its last use.
func (s *Service) session(ctx context.Context, token string) (*Session, error) {
	ctx = tenant.System(ctx)
	if !strings.HasPrefix(token, sessionTokenPrefix) || len(token) > 100 {
		return nil, sessionEnded("no console session: sign in again")
	}
	row, err := s.db.ConsoleSession.Query().Where(consolesession.TokenHash(s.keyring.HashSecret(token))).Only(ctx)
	if ent.IsNotFound(err) {
		return nil, sessionEnded("no console session: sign in again")
	}
	if err != nil {
		return nil, fmt.Errorf("find console session: %w", err)
	}
	now := s.clock()
	idle := row.LastSeenAt.Add(s.cfg.IdleTimeout)
	switch {
	case row.EndedAt != nil:
		return nil, sessionEnded("the console session was signed out: sign in again")
	case !now.Before(row.ExpiresAt):
		return nil, sessionEnded("the console session ended at " + row.ExpiresAt.Format(time.RFC3339) + ": sign in again")
	case !now.Before(idle):
		return nil, sessionEnded("the console session ended after " + s.cfg.IdleTimeout.String() + " unused: sign in again")
	}
	u, err := s.db.ConsoleUser.Get(ctx, row.UserID)
	if ent.IsNotFound(err) {
		return nil, sessionEnded("the console user no longer exists")
	}
	if err != nil {
		return nil, fmt.Errorf("find console user %s: %w", row.UserID, err)
	}
	if now.Sub(row.LastSeenAt) >= touchEvery {
		if err := s.db.ConsoleSession.UpdateOneID(row.ID).SetLastSeenAt(now).Exec(ctx); err != nil {
			return nil, fmt.Errorf("touch console session: %w", err)
		}
		idle = now.Add(s.cfg.IdleTimeout)
	}
	return &Session{ID: row.ID, User: u, IdleExpiry: minTime(idle, row.ExpiresAt), Expiry: row.ExpiresAt, PlatformAdmin: u.PlatformAdmin}, nil
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func sessionEnded(msg string) error {
	return apierr.New(apierr.CodeUnauthenticated, apierr.ReasonSessionEnded, "%s", msg)
}

// SignOut ends the session of token (nothing if there is none).
func (s *Service) SignOut(ctx context.Context, token string) error {
	ctx = tenant.System(ctx)
	_, err := s.db.ConsoleSession.Update().
		Where(consolesession.TokenHash(s.keyring.HashSecret(token)), consolesession.EndedAtIsNil()).
		SetEndedAt(s.clock()).Save(ctx)
	if err != nil {
		return fmt.Errorf("end console session: %w", err)
	}
	return nil
}

// Authenticate is the policy chain's check of a console call: the session
// of the cookie's token, the CSRF token it must carry, and the user's role
// in storeID (the Paymux-Store header; "" for calls that act on no store).
// need is the method's console role (RoleNone: any signed-in user). A
// platform administrator has every role on every store.
func (s *Service) Authenticate(ctx context.Context, token, csrf, storeID string, need account.Role) (account.Principal, *Session, error) {
	sess, err := s.session(ctx, token)
	if err != nil {
		return account.Principal{}, nil, err
	}
	if !s.csrfMatches(token, csrf) {
		return account.Principal{}, nil, apierr.New(apierr.CodePermissionDenied, apierr.ReasonCSRFMismatch,
			"console calls must carry the session's CSRF token in %s", CSRFHeader)
	}
	user := &account.User{ID: sess.User.ID, Email: sess.User.Email, SessionID: sess.ID, StoreID: storeID}
	if sess.PlatformAdmin {
		user.Role = account.RoleOwner
		return account.Principal{Admin: true, User: user}, sess, nil
	}
	if storeID == "" {
		if need != account.RoleNone {
			return account.Principal{}, nil, apierr.New(apierr.CodeInvalidArgument, apierr.ReasonStoreRequired,
				"console calls name the store they act on in the %s header", StoreHeader)
		}
		return account.Principal{User: user}, sess, nil
	}
	m, err := s.db.ConsoleMembership.Query().
		Where(consolemembership.UserID(sess.User.ID), consolemembership.StoreID(storeID)).
		Only(tenant.System(ctx))
	if ent.IsNotFound(err) {
		return account.Principal{}, nil, apierr.New(apierr.CodePermissionDenied, apierr.ReasonStoreMismatch,
			"%s has no role in store %s", sess.User.Email, storeID)
	}
	if err != nil {
		return account.Principal{}, nil, fmt.Errorf("find role of %s in %s: %w", sess.User.ID, storeID, err)
	}
	user.Role = account.ParseRole(m.Role.String())
	suspended, err := s.db.Store.Query().Where(store.ID(storeID), store.StateEQ(store.StateSUSPENDED)).Exist(tenant.System(ctx))
	if err != nil {
		return account.Principal{}, nil, fmt.Errorf("read state of store %s: %w", storeID, err)
	}
	if suspended {
		return account.Principal{}, nil, apierr.New(apierr.CodePermissionDenied, apierr.ReasonStoreSuspended, "store %s is suspended", storeID)
	}
	if user.Role < need {
		// The principal comes with the refusal, so the call log keeps the
		// attempt in the store, under the user who made it.
		return account.Principal{User: user}, nil, apierr.New(apierr.CodePermissionDenied, apierr.ReasonRoleNotAllowed,
			"this needs the %s role in store %s; %s is %s", need, storeID, sess.User.Email, user.Role)
	}
	return account.Principal{User: user}, sess, nil
}

func normaliseEmail(e string) string { return strings.ToLower(strings.TrimSpace(e)) }

// ipString is an address for the log ("" when unknown).
func ipString(ip netip.Addr) string {
	if !ip.IsValid() {
		return ""
	}
	return ip.String()
}

// Purge deletes what can no longer be used: sessions that ended (signed
// out, idle or past their lifetime) and password links used or expired.
// Housekeeping runs it.
func (s *Service) Purge(ctx context.Context) error {
	ctx = tenant.System(ctx)
	now := s.clock()
	if _, err := s.db.ConsoleSession.Delete().Where(consolesession.Or(
		consolesession.EndedAtNotNil(),
		consolesession.ExpiresAtLTE(now),
		consolesession.LastSeenAtLTE(now.Add(-s.cfg.IdleTimeout)),
	)).Exec(ctx); err != nil {
		return fmt.Errorf("drop ended console sessions: %w", err)
	}
	if _, err := s.db.ConsoleSetupToken.Delete().Where(consolesetuptoken.Or(
		consolesetuptoken.UsedAtNotNil(),
		consolesetuptoken.ExpiresAtLTE(now),
	)).Exec(ctx); err != nil {
		return fmt.Errorf("drop used password links: %w", err)
	}
	return nil
}
