package server

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/paymux/paymux/apierr"
	"github.com/paymux/paymux/authheader"
	"github.com/paymux/paymux/ent/apikey"
	paymuxv1 "github.com/paymux/paymux/gen/paymux/v1"
	"github.com/paymux/paymux/secrets"
)

// Principal is who an authenticated call comes from: the platform
// administrator, or a store's secret key.
type Principal struct {
	Admin bool
	Key   *keyRecord // nil for the administrator
}

// StoreID is the principal's own store ("" for the administrator).
func (p Principal) StoreID() string {
	if p.Key == nil {
		return ""
	}
	return p.Key.StoreID
}

// Token prefixes. A prefix tells paymux (and a person reading a config file)
// what a credential is before anything is looked up.
const (
	adminTokenPrefix  = "pma_"
	accessTokenPrefix = "at_"
	clientKeyPrefix   = "ck_"
	secretKeyPrefix   = "sk_"
	accessTokenTTL    = 30 * time.Minute
)

// authenticator decides who a call comes from (claims); whether that
// principal may call the method is decided here too, from the method's
// declared Access, because the answer depends on how it authenticated.
type authenticator struct {
	keyring   *secrets.Keyring
	adminHash []byte
	cache     *authCache
	now       func() time.Time
}

func (a *authenticator) authenticate(ctx context.Context, header string, access paymuxv1.Access) (Principal, error) {
	if strings.TrimSpace(header) == "" {
		return Principal{}, apierr.New(apierr.CodeUnauthenticated, apierr.ReasonCredentialsMissing,
			"missing Authorization header: send Basic base64(clientKey:secretKey) or Bearer <token>")
	}
	creds, err := authheader.Parse(header)
	if err != nil {
		return Principal{}, apierr.New(apierr.CodeUnauthenticated, apierr.ReasonCredentialsMalformed,
			"malformed Authorization header: %v", err)
	}
	if creds.Scheme == authheader.SchemeBearer {
		return a.bearer(ctx, creds.Token, access)
	}
	return a.basic(ctx, creds.User, creds.Password, access)
}

func (a *authenticator) bearer(ctx context.Context, token string, access paymuxv1.Access) (Principal, error) {
	switch {
	case strings.HasPrefix(token, adminTokenPrefix):
		if !a.keyring.SecretMatches(token, a.adminHash) {
			return Principal{}, apierr.New(apierr.CodeUnauthenticated, apierr.ReasonAdminTokenInvalid, "invalid admin token")
		}
		if access == paymuxv1.Access_ACCESS_KEY_BASIC {
			return Principal{}, apierr.New(apierr.CodeUnauthenticated, apierr.ReasonAuthMethodMismatch,
				"access tokens are issued for keys with auth method BEARER, not for the admin token")
		}
		return Principal{Admin: true}, nil
	case strings.HasPrefix(token, accessTokenPrefix):
		return a.accessToken(ctx, token, access)
	case strings.HasPrefix(token, clientKeyPrefix):
		return Principal{}, a.clientKeyAlone(ctx, token)
	case strings.HasPrefix(token, secretKeyPrefix):
		return Principal{}, apierr.New(apierr.CodeUnauthenticated, apierr.ReasonCredentialsMalformed,
			"a secret key is sent with Basic: base64(clientKey:secretKey), not as a Bearer token")
	}
	return Principal{}, apierr.New(apierr.CodeUnauthenticated, apierr.ReasonTokenInvalid, "unknown bearer token")
}

func (a *authenticator) accessToken(ctx context.Context, token string, access paymuxv1.Access) (Principal, error) {
	claims, err := a.keyring.ParseToken(token)
	if err != nil {
		return Principal{}, apierr.New(apierr.CodeUnauthenticated, apierr.ReasonTokenInvalid, "invalid access token")
	}
	key, err := a.cache.keyByID(ctx, claims.KeyID)
	if err != nil {
		return Principal{}, err
	}
	switch {
	case key == nil:
		return Principal{}, apierr.New(apierr.CodeUnauthenticated, apierr.ReasonTokenInvalid, "invalid access token")
	case key.Deleted:
		return Principal{}, apierr.New(apierr.CodeUnauthenticated, apierr.ReasonKeyDeleted, "key %s was deleted", key.ID)
	case key.SecretVersion != claims.SecretVersion:
		return Principal{}, apierr.New(apierr.CodeUnauthenticated, apierr.ReasonTokenRevoked,
			"access token revoked: the secret of key %s was reissued", key.ID)
	case !a.now().Before(claims.Expiry):
		return Principal{}, apierr.New(apierr.CodeUnauthenticated, apierr.ReasonTokenExpired,
			"access token expired at %s: get a new one at POST /v1/access-token", claims.Expiry.UTC().Format(time.RFC3339))
	case key.AuthMethod != apikey.AuthMethodBEARER:
		return Principal{}, apierr.New(apierr.CodeUnauthenticated, apierr.ReasonAuthMethodMismatch,
			"key %s uses Basic authentication", key.ID)
	}
	if err := a.checkKey(key); err != nil {
		return Principal{}, err
	}
	switch access {
	case paymuxv1.Access_ACCESS_ADMIN:
		return Principal{}, adminOnly()
	case paymuxv1.Access_ACCESS_KEY_BASIC:
		return Principal{}, apierr.New(apierr.CodeUnauthenticated, apierr.ReasonAuthMethodMismatch,
			"an access token is requested with Basic credentials, not with another token")
	}
	return Principal{Key: key}, nil
}

func (a *authenticator) basic(ctx context.Context, clientKey, secret string, access paymuxv1.Access) (Principal, error) {
	if !strings.HasPrefix(clientKey, clientKeyPrefix) {
		return Principal{}, apierr.New(apierr.CodeUnauthenticated, apierr.ReasonCredentialsMalformed,
			"Basic credentials are clientKey:secretKey, and a client key starts with %q", clientKeyPrefix)
	}
	if secret == "" {
		return Principal{}, a.clientKeyAlone(ctx, clientKey)
	}
	if !isClientKey(clientKey) {
		return Principal{}, apierr.New(apierr.CodeUnauthenticated, apierr.ReasonKeyUnknown, "unknown client key")
	}
	key, err := a.cache.keyByClientKey(ctx, clientKey)
	if err != nil {
		return Principal{}, err
	}
	switch {
	case key == nil:
		return Principal{}, apierr.New(apierr.CodeUnauthenticated, apierr.ReasonKeyUnknown, "unknown client key")
	case key.Deleted:
		return Principal{}, apierr.New(apierr.CodeUnauthenticated, apierr.ReasonKeyDeleted, "key %s was deleted", key.ID)
	case a.keyring.SecretMatches(secret, key.SecretHash):
	case key.PreviousSecretHash != nil && a.keyring.SecretMatches(secret, key.PreviousSecretHash):
		return Principal{}, apierr.New(apierr.CodeUnauthenticated, apierr.ReasonSecretRevoked,
			"this secret of key %s was replaced by a reissue", key.ID)
	default:
		return Principal{}, apierr.New(apierr.CodeUnauthenticated, apierr.ReasonSecretMismatch,
			"secret key does not match client key")
	}
	if err := a.checkKey(key); err != nil {
		return Principal{}, err
	}
	switch access {
	case paymuxv1.Access_ACCESS_ADMIN:
		return Principal{}, adminOnly()
	case paymuxv1.Access_ACCESS_KEY_BASIC:
		if key.AuthMethod != apikey.AuthMethodBEARER {
			return Principal{}, apierr.New(apierr.CodeUnauthenticated, apierr.ReasonAuthMethodMismatch,
				"key %s uses Basic authentication on every call and needs no access token", key.ID)
		}
	default:
		if key.AuthMethod != apikey.AuthMethodBASIC {
			return Principal{}, apierr.New(apierr.CodeUnauthenticated, apierr.ReasonAuthMethodMismatch,
				"key %s uses Bearer authentication: get a token at POST /v1/access-token, then send Authorization: Bearer <token>", key.ID)
		}
	}
	return Principal{Key: key}, nil
}

// checkKey refuses a key that has expired or whose store is suspended.
func (a *authenticator) checkKey(key *keyRecord) error {
	if !key.ExpiresAt.IsZero() && !a.now().Before(key.ExpiresAt) {
		return apierr.New(apierr.CodeUnauthenticated, apierr.ReasonKeyExpired,
			"key %s expired at %s", key.ID, key.ExpiresAt.UTC().Format(time.RFC3339))
	}
	if key.StoreSuspended {
		return apierr.New(apierr.CodePermissionDenied, apierr.ReasonStoreSuspended, "store %s is suspended", key.StoreID)
	}
	return nil
}

// clientKeyAlone answers a call made with only a public client key.
func (a *authenticator) clientKeyAlone(ctx context.Context, clientKey string) error {
	if !isClientKey(clientKey) {
		return apierr.New(apierr.CodeUnauthenticated, apierr.ReasonKeyUnknown, "unknown client key")
	}
	key, err := a.cache.keyByClientKey(ctx, clientKey)
	if err != nil {
		return err
	}
	if key == nil || key.Deleted {
		return apierr.New(apierr.CodeUnauthenticated, apierr.ReasonKeyUnknown, "unknown client key")
	}
	return apierr.New(apierr.CodePermissionDenied, apierr.ReasonClientKeyNotAllowed,
		"a client key is public and cannot call this method: use the secret key")
}

func adminOnly() error {
	return apierr.New(apierr.CodePermissionDenied, apierr.ReasonAdminOnly, "only the platform administrator may call this method")
}

// mintAccessToken returns the key's current token, or a new one when there
// is none or it has expired. The token is derived from the key, its secret
// version and the expiry, so the same valid token comes back each time.
func mintAccessToken(k *secrets.Keyring, keyID string, secretVersion int64, expiry time.Time) (string, error) {
	token, err := k.MintToken(secrets.TokenClaims{KeyID: keyID, SecretVersion: secretVersion, Expiry: expiry})
	if err != nil {
		return "", errors.Join(errors.New("mint access token"), err)
	}
	return token, nil
}
