package account

import (
	"cmp"
	"context"
	"errors"
	"strings"
	"time"

	"github.com/paymux/paymux/apierr"
	"github.com/paymux/paymux/database"
	"github.com/paymux/paymux/ent"
	"github.com/paymux/paymux/ent/apikey"
	"github.com/paymux/paymux/ent/store"
	"github.com/paymux/paymux/secrets"
	"github.com/paymux/paymux/tenant"
)

// MaxKeysPerStore: a store may hold this many key pairs, enough to roll a
// key over while the old one is still in use.
const MaxKeysPerStore = 5

const clientKeyRandomLen = 24

// newKeyPair returns a client key and a secret key, marked with the mode so
// a live key is recognisable at a glance.
func newKeyPair(mode apikey.Mode) (clientKey, secret string) {
	m := "test_"
	if mode == apikey.ModeLIVE {
		m = "live_"
	}
	return clientKeyPrefix + m + secrets.RandomString(clientKeyRandomLen), secretKeyPrefix + m + secrets.RandomString(40)
}

func newSecret(mode apikey.Mode) string { _, s := newKeyPair(mode); return s }

// isClientKey reports whether s has the shape newKeyPair gives client keys,
// so that made-up keys are refused without a database look-up.
func isClientKey(s string) bool {
	rest, ok := strings.CutPrefix(s, clientKeyPrefix)
	if !ok {
		return false
	}
	if rest, ok = strings.CutPrefix(rest, "test_"); !ok {
		if rest, ok = strings.CutPrefix(rest, "live_"); !ok {
			return false
		}
	}
	if len(rest) != clientKeyRandomLen {
		return false
	}
	for i := 0; i < len(rest); i++ {
		c := rest[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
			return false
		}
	}
	return true
}

// secretPrefix is what a list shows of a secret: enough to tell keys apart.
func secretPrefix(secret string) string { return secret[:len(secretKeyPrefix)+len("test_")+4] }

// KeyInput is a new key pair. Zero values take the defaults: TEST, SERVER
// approval, BASIC authentication, never expiring.
type KeyInput struct {
	StoreID       string
	Name          string
	Mode          apikey.Mode
	ApprovalModel apikey.ApprovalModel
	AuthMethod    apikey.AuthMethod
	ExpiresAt     *time.Time
}

// CreateKey creates a key pair in a store, refusing past MaxKeysPerStore
// (KEY_LIMIT_EXCEEDED) even under concurrent creates. It returns the key and
// its secret, which paymux keeps only as a keyed hash: this is the one time
// it is known.
func (s *Service) CreateKey(ctx context.Context, in KeyInput) (*ent.APIKey, string, error) {
	mode := cmp.Or(in.Mode, apikey.ModeTEST)
	clientKey, secret := newKeyPair(mode)
	now := s.clock()
	var created *ent.APIKey
	err := database.InTx(ctx, s.db, func(tx *ent.Tx) error {
		// The count is raised only while below the limit, in the same
		// transaction as the insert: concurrent creates cannot pass it.
		// A store key may not change its store row otherwise, hence System.
		n, err := tx.Store.Update().
			Where(store.ID(in.StoreID), store.KeyCountLT(MaxKeysPerStore)).
			AddKeyCount(1).
			Save(tenant.System(ctx))
		if err != nil {
			return err
		}
		if n == 0 {
			return apierr.New(apierr.CodeFailedPrecondition, apierr.ReasonKeyLimitExceeded,
				"store %s already has %d keys: delete one first", in.StoreID, MaxKeysPerStore)
		}
		create := tx.APIKey.Create().
			SetStoreID(in.StoreID).
			SetName(in.Name).
			SetMode(mode).
			SetApprovalModel(cmp.Or(in.ApprovalModel, apikey.ApprovalModelSERVER)).
			SetAuthMethod(cmp.Or(in.AuthMethod, apikey.AuthMethodBASIC)).
			SetClientKey(clientKey).
			SetSecretHash(s.keyring.HashSecret(secret)).
			SetSecretPrefix(secretPrefix(secret)).
			SetSecretIssuedAt(now)
		if in.ExpiresAt != nil {
			create.SetExpiresAt(in.ExpiresAt.UTC().Truncate(time.Microsecond)) // what PostgreSQL keeps
		}
		created, err = create.Save(ctx)
		return err
	})
	if err != nil {
		return nil, "", err
	}
	return created, secret, nil
}

// ReissueKeySecret gives key k (as read by the caller) a new secret and
// returns the key and the secret. The old secret is refused from now on
// (SECRET_REVOKED) and so are access tokens minted for it. Of two
// concurrent reissues one wins; the other is told to retry (CONFLICT).
func (s *Service) ReissueKeySecret(ctx context.Context, k *ent.APIKey) (*ent.APIKey, string, error) {
	secret := newSecret(k.Mode)
	// Conditional on the version read: of two concurrent reissues one wins,
	// the other is told to retry instead of handing out a dead secret.
	n, err := s.db.APIKey.Update().
		Where(apikey.ID(k.ID), apikey.SecretVersion(k.SecretVersion), apikey.DeletedAtIsNil()).
		SetPreviousSecretHash(k.SecretHash).
		SetSecretHash(s.keyring.HashSecret(secret)).
		SetSecretPrefix(secretPrefix(secret)).
		SetSecretVersion(k.SecretVersion + 1).
		SetSecretIssuedAt(s.clock()).
		ClearTokenExpiresAt().
		Save(ctx)
	if err != nil {
		return nil, "", err
	}
	s.cache.forgetKey(k.ID, k.ClientKey)
	if n == 0 {
		return nil, "", apierr.New(apierr.CodeAborted, apierr.ReasonConflict, "key %s changed meanwhile; retry", k.ID)
	}
	k, err = s.db.APIKey.Get(ctx, k.ID)
	if err != nil {
		return nil, "", err
	}
	return k, secret, nil
}

// DeleteKey deletes key k (as read by the caller). The row stays as a
// tombstone without its hashes, so a call with the deleted key is told so
// (KEY_DELETED); the store may hold one more key.
func (s *Service) DeleteKey(ctx context.Context, k *ent.APIKey) error {
	err := database.InTx(ctx, s.db, func(tx *ent.Tx) error {
		n, err := tx.APIKey.Update().
			Where(apikey.ID(k.ID), apikey.DeletedAtIsNil()).
			SetDeletedAt(s.clock()).
			SetSecretHash([]byte{}).
			ClearPreviousSecretHash().
			ClearTokenExpiresAt().
			Save(ctx)
		if err != nil || n == 0 {
			return err // n == 0: deleted meanwhile, nothing more to do
		}
		return tx.Store.UpdateOneID(k.StoreID).AddKeyCount(-1).Exec(tenant.System(ctx))
	})
	s.cache.forgetKey(k.ID, k.ClientKey)
	return err
}

// AccessToken is a Bearer token for a key whose auth method is BEARER.
type AccessToken struct {
	Token     string
	ExpiresAt time.Time
	// ExpiresIn is the time left when it was handed out.
	ExpiresIn time.Duration
}

// IssueAccessToken returns the current access token of key (as
// Authenticate gave it), or a new one, valid for 30 minutes, when there is
// none or it has expired. The token is derived from the key, its secret
// version and the expiry, so the same valid token comes back each time.
func (s *Service) IssueAccessToken(ctx context.Context, key *Key) (AccessToken, error) {
	if key == nil {
		return AccessToken{}, apierr.New(apierr.CodeUnauthenticated, apierr.ReasonCredentialsMissing,
			"an access token is issued to a key: call with its Basic credentials")
	}
	now := s.now().UTC()
	expiry := now.Add(accessTokenTTL).Truncate(time.Second)
	// Start a new token only if there is none valid; otherwise hand back
	// the one in force (same expiry, so the same token).
	_, err := s.db.APIKey.Update().
		Where(apikey.ID(key.ID), apikey.SecretVersion(key.SecretVersion), apikey.DeletedAtIsNil(),
			apikey.Or(apikey.TokenExpiresAtIsNil(), apikey.TokenExpiresAtLTE(now))).
		SetTokenExpiresAt(expiry).
		Save(ctx)
	if err != nil {
		return AccessToken{}, err
	}
	k, err := s.db.APIKey.Get(ctx, key.ID)
	if err != nil {
		return AccessToken{}, err
	}
	if k.DeletedAt != nil {
		return AccessToken{}, apierr.New(apierr.CodeUnauthenticated, apierr.ReasonKeyDeleted, "key %s was deleted", k.ID)
	}
	if k.TokenExpiresAt == nil || k.SecretVersion != key.SecretVersion {
		return AccessToken{}, apierr.New(apierr.CodeAborted, apierr.ReasonConflict, "key %s changed meanwhile; retry", key.ID)
	}
	expiry = k.TokenExpiresAt.UTC()
	token, err := s.keyring.MintToken(secrets.TokenClaims{KeyID: k.ID, SecretVersion: k.SecretVersion, Expiry: expiry})
	if err != nil {
		return AccessToken{}, errors.Join(errors.New("mint access token"), err)
	}
	return AccessToken{Token: token, ExpiresAt: expiry, ExpiresIn: expiry.Sub(now)}, nil
}
