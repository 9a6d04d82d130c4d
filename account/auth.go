package account

import (
	"context"
	"strings"
	"time"

	"github.com/paymux/paymux/apierr"
	"github.com/paymux/paymux/authheader"
	"github.com/paymux/paymux/ent/apikey"
)

// Token prefixes. A prefix tells paymux (and a person reading a config file)
// what a credential is before anything is looked up.
const (
	// AdminTokenPrefix starts every administrator token.
	AdminTokenPrefix  = "pma_"
	accessTokenPrefix = "at_"
	clientKeyPrefix   = "ck_"
	secretKeyPrefix   = "sk_"
	accessTokenTTL    = 30 * time.Minute
)

// ValidAdminToken says whether a configured admin token can be told apart
// from other bearer tokens.
func ValidAdminToken(token string) bool { return strings.HasPrefix(token, AdminTokenPrefix) }

// IsAdminToken reports whether token is the administrator's token, comparing
// its keyed hash in constant time.
func (s *Service) IsAdminToken(token string) bool {
	return strings.HasPrefix(token, AdminTokenPrefix) && s.keyring.SecretMatches(token, *s.adminHash.Load())
}

// Authenticate decides who a call comes from, given its Authorization
// header, and whether that principal may call a method that demands access:
// the answer depends on how it authenticated. Refusals are apierr errors
// (Unauthenticated or PermissionDenied) with the reason of the cause.
func (s *Service) Authenticate(ctx context.Context, header string, access Access) (Principal, error) {
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
		return s.bearer(ctx, creds.Token, access)
	}
	return s.basic(ctx, creds.User, creds.Password, access)
}

func (s *Service) bearer(ctx context.Context, token string, access Access) (Principal, error) {
	switch {
	case strings.HasPrefix(token, AdminTokenPrefix):
		if !s.keyring.SecretMatches(token, *s.adminHash.Load()) {
			return Principal{}, apierr.New(apierr.CodeUnauthenticated, apierr.ReasonAdminTokenInvalid, "invalid admin token")
		}
		if access == AccessKeyBasic {
			return Principal{}, apierr.New(apierr.CodeUnauthenticated, apierr.ReasonAuthMethodMismatch,
				"access tokens are issued for keys with auth method BEARER, not for the admin token")
		}
		return Principal{Admin: true}, nil
	case strings.HasPrefix(token, accessTokenPrefix):
		return s.accessToken(ctx, token, access)
	case strings.HasPrefix(token, clientKeyPrefix):
		return Principal{}, s.clientKeyAlone(ctx, token)
	case strings.HasPrefix(token, secretKeyPrefix):
		return Principal{}, apierr.New(apierr.CodeUnauthenticated, apierr.ReasonCredentialsMalformed,
			"a secret key is sent with Basic: base64(clientKey:secretKey), not as a Bearer token")
	}
	return Principal{}, apierr.New(apierr.CodeUnauthenticated, apierr.ReasonTokenInvalid, "unknown bearer token")
}

func (s *Service) accessToken(ctx context.Context, token string, access Access) (Principal, error) {
	claims, err := s.keyring.ParseToken(token)
	if err != nil {
		return Principal{}, apierr.New(apierr.CodeUnauthenticated, apierr.ReasonTokenInvalid, "invalid access token")
	}
	key, err := s.cache.keyByID(ctx, claims.KeyID)
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
	case !s.now().Before(claims.Expiry):
		return Principal{}, apierr.New(apierr.CodeUnauthenticated, apierr.ReasonTokenExpired,
			"access token expired at %s: get a new one at POST /v1/access-token", claims.Expiry.UTC().Format(time.RFC3339))
	case key.AuthMethod != apikey.AuthMethodBEARER:
		return Principal{}, apierr.New(apierr.CodeUnauthenticated, apierr.ReasonAuthMethodMismatch,
			"key %s uses Basic authentication", key.ID)
	}
	if err := s.checkKey(key); err != nil {
		return Principal{}, err
	}
	switch access {
	case AccessAdmin:
		return Principal{}, adminOnly()
	case AccessKeyBasic:
		return Principal{}, apierr.New(apierr.CodeUnauthenticated, apierr.ReasonAuthMethodMismatch,
			"an access token is requested with Basic credentials, not with another token")
	}
	return Principal{Key: key}, nil
}

func (s *Service) basic(ctx context.Context, clientKey, secret string, access Access) (Principal, error) {
	if !strings.HasPrefix(clientKey, clientKeyPrefix) {
		return Principal{}, apierr.New(apierr.CodeUnauthenticated, apierr.ReasonCredentialsMalformed,
			"Basic credentials are clientKey:secretKey, and a client key starts with %q", clientKeyPrefix)
	}
	if secret == "" {
		return Principal{}, s.clientKeyAlone(ctx, clientKey)
	}
	if !isClientKey(clientKey) {
		return Principal{}, apierr.New(apierr.CodeUnauthenticated, apierr.ReasonKeyUnknown, "unknown client key")
	}
	key, err := s.cache.keyByClientKey(ctx, clientKey)
	if err != nil {
		return Principal{}, err
	}
	switch {
	case key == nil:
		return Principal{}, apierr.New(apierr.CodeUnauthenticated, apierr.ReasonKeyUnknown, "unknown client key")
	case key.Deleted:
		return Principal{}, apierr.New(apierr.CodeUnauthenticated, apierr.ReasonKeyDeleted, "key %s was deleted", key.ID)
	case s.keyring.SecretMatches(secret, key.SecretHash):
	case key.PreviousSecretHash != nil && s.keyring.SecretMatches(secret, key.PreviousSecretHash):
		return Principal{}, apierr.New(apierr.CodeUnauthenticated, apierr.ReasonSecretRevoked,
			"this secret of key %s was replaced by a reissue", key.ID)
	default:
		return Principal{}, apierr.New(apierr.CodeUnauthenticated, apierr.ReasonSecretMismatch,
			"secret key does not match client key")
	}
	if err := s.checkKey(key); err != nil {
		return Principal{}, err
	}
	switch access {
	case AccessAdmin:
		return Principal{}, adminOnly()
	case AccessKeyBasic:
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
func (s *Service) checkKey(key *Key) error {
	if !key.ExpiresAt.IsZero() && !s.now().Before(key.ExpiresAt) {
		return apierr.New(apierr.CodeUnauthenticated, apierr.ReasonKeyExpired,
			"key %s expired at %s", key.ID, key.ExpiresAt.UTC().Format(time.RFC3339))
	}
	if key.StoreSuspended {
		return apierr.New(apierr.CodePermissionDenied, apierr.ReasonStoreSuspended, "store %s is suspended", key.StoreID)
	}
	return nil
}

// clientKeyAlone answers a call made with only a public client key.
func (s *Service) clientKeyAlone(ctx context.Context, clientKey string) error {
	if !isClientKey(clientKey) {
		return apierr.New(apierr.CodeUnauthenticated, apierr.ReasonKeyUnknown, "unknown client key")
	}
	key, err := s.cache.keyByClientKey(ctx, clientKey)
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
