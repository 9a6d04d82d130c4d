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
)

func (a Access) String() string {
	switch a {
	case AccessAdmin:
		return "ADMIN"
	case AccessStore:
		return "STORE"
	case AccessKeyBasic:
		return "KEY_BASIC"
	}
	return "UNSPECIFIED"
}

// Principal is who an authenticated call comes from: the platform
// administrator, or a store's secret key.
type Principal struct {
	Admin bool
	Key   *Key // nil for the administrator
}

// StoreID is the principal's own store ("" for the administrator).
func (p Principal) StoreID() string {
	if p.Key == nil {
		return ""
	}
	return p.Key.StoreID
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
