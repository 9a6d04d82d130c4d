package account

import (
	"time"

	"github.com/paymux/paymux/ent/apikey"
)

// Access is what a method demands of its caller. Every method declares one;
// the transport maps its own declaration (a proto option) to these.
type Access uint8

const (
	// AccessUnspecified is no rule: nothing is admitted.
	AccessUnspecified Access = iota
	// AccessAdmin admits only the platform administrator.
	AccessAdmin
	// AccessStore admits a store's secret key, by its auth method (Basic,
	// or a Bearer access token), or the administrator acting on a store.
	AccessStore
	// AccessKeyBasic admits the Basic credentials of a key whose auth
	// method is BEARER, to exchange for an access token.
	AccessKeyBasic
	// AccessConsole admits a signed-in console user (by role) or the
	// administrator, never a store key.
	AccessConsole
)

func (a Access) String() string {
	switch a {
	case AccessAdmin:
		return "ADMIN"
	case AccessStore:
		return "STORE"
	case AccessKeyBasic:
		return "KEY_BASIC"
	case AccessConsole:
		return "CONSOLE"
	}
	return "UNSPECIFIED"
}

// Principal is who an authenticated call comes from: the platform
// administrator, a store's secret key, or a console user (who may also be
// the administrator).
type Principal struct {
	Admin bool
	Key   *Key  // nil for the administrator and console users
	User  *User // a console user's call; nil otherwise
}

// StoreID is the principal's own store: a key's, or the store a console
// user acts on ("" for the administrator's token).
func (p Principal) StoreID() string {
	switch {
	case p.Key != nil:
		return p.Key.StoreID
	case p.User != nil:
		return p.User.StoreID
	}
	return ""
}

// Role is a console user's role in a store; each includes those below it.
type Role uint8

const (
	RoleNone Role = iota
	RoleViewer
	RoleDeveloper
	RoleAdmin
	RoleOwner
)

func (r Role) String() string {
	switch r {
	case RoleViewer:
		return "VIEWER"
	case RoleDeveloper:
		return "DEVELOPER"
	case RoleAdmin:
		return "ADMIN"
	case RoleOwner:
		return "OWNER"
	}
	return "NONE"
}

// ParseRole reads a role's name ("" or unknown: RoleNone).
func ParseRole(s string) Role {
	for r := RoleViewer; r <= RoleOwner; r++ {
		if r.String() == s {
			return r
		}
	}
	return RoleNone
}

// User is a signed-in console user making a call through their session.
type User struct {
	ID        string
	Email     string
	SessionID string
	// StoreID is the store the call acts on (the Paymux-Store header) and
	// Role the user's role there; for a platform administrator Role is
	// RoleOwner on every store.
	StoreID string
	Role    Role
	// TestOnly is set on a change made by a user below ADMIN: like a TEST
	// key, it reaches TEST money, channels and endpoints only.
	TestOnly bool
}

// Key is what authentication knows of a key and its store, held in memory
// so a known key costs no database round trip. It is shared: read it, never
// change it.
type Key struct {
	ID                 string
	StoreID            string
	ClientKey          string
	Mode               apikey.Mode
	AuthMethod         apikey.AuthMethod
	ApprovalModel      apikey.ApprovalModel
	SecretHash         []byte
	PreviousSecretHash []byte
	SecretVersion      int64
	ExpiresAt          time.Time // zero: never
	Deleted            bool
	StoreSuspended     bool
}
