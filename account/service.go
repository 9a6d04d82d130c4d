package account

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	"github.com/paymux/paymux/apierr"
	"github.com/paymux/paymux/ent"
	"github.com/paymux/paymux/ent/store"
	"github.com/paymux/paymux/secrets"
)

// Options are what a Service is built from.
type Options struct {
	DB      *ent.Client
	Keyring *secrets.Keyring
	// AdminTokenHash is the keyed hash of the administrator's token. Leave
	// it nil when Bootstrap will run: Bootstrap sets it.
	AdminTokenHash []byte
	// CacheTTL bounds how long a key, its store's state and a store's IP
	// rules are served from memory (config auth_cache_ttl); 0 caches
	// nothing. Writes made through this Service take effect at once.
	CacheTTL time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Service authenticates calls and is the one writer of stores, keys,
// access tokens and IP rules. It is safe for concurrent use.
type Service struct {
	db        *ent.Client
	keyring   *secrets.Keyring
	now       func() time.Time
	cache     *authCache
	adminHash atomic.Pointer[[]byte]
}

// New returns a Service. It starts nothing.
func New(opts Options) *Service {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Service{
		db:      opts.DB,
		keyring: opts.Keyring,
		now:     opts.Now,
		cache:   newAuthCache(opts.DB, opts.CacheTTL, opts.Now),
	}
	hash := opts.AdminTokenHash
	s.adminHash.Store(&hash)
	return s
}

// AdminTokenHash is the keyed hash of the administrator's token in force
// (set by Options or by Bootstrap), for building another Service over the
// same database.
func (s *Service) AdminTokenHash() []byte { return *s.adminHash.Load() }

// clock is the Service's time as paymux stores it: UTC, in microseconds.
func (s *Service) clock() time.Time { return s.now().UTC().Truncate(time.Microsecond) }

// StoreInput is a new store.
type StoreInput struct {
	Name         string // required
	ContactEmail string
}

// CreateStore creates an active store.
func (s *Service) CreateStore(ctx context.Context, in StoreInput) (*ent.Store, error) {
	if in.Name == "" {
		return nil, apierr.InvalidField("name", "required")
	}
	return s.db.Store.Create().SetName(in.Name).SetContactEmail(in.ContactEmail).Save(ctx)
}

// StoreUpdate names the fields of a store to change; nil leaves one as it is.
type StoreUpdate struct {
	Name         *string
	ContactEmail *string
	State        *store.State
}

// UpdateStore changes a store. Its keys and IP rules are forgotten by the
// cache at once, so a suspension holds from the next call on.
func (s *Service) UpdateStore(ctx context.Context, id string, in StoreUpdate) (*ent.Store, error) {
	upd := s.db.Store.UpdateOneID(id)
	if in.Name != nil {
		if *in.Name == "" {
			return nil, apierr.InvalidField("name", "cannot be empty")
		}
		upd.SetName(*in.Name)
	}
	if in.ContactEmail != nil {
		upd.SetContactEmail(*in.ContactEmail)
	}
	if in.State != nil {
		upd.SetState(*in.State)
	}
	st, err := upd.Save(ctx)
	var nf *ent.NotFoundError
	if errors.As(err, &nf) {
		return nil, apierr.New(apierr.CodeNotFound, apierr.ReasonStoreNotFound, "store %s not found", id)
	}
	if err != nil {
		return nil, err
	}
	s.cache.forgetStore(st.ID)
	return st, nil
}
