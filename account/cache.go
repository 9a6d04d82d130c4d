package account

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/paymux/paymux/ent"
	"github.com/paymux/paymux/ent/apikey"
	entiprule "github.com/paymux/paymux/ent/iprule"
	"github.com/paymux/paymux/ent/predicate"
	"github.com/paymux/paymux/ent/store"
	"github.com/paymux/paymux/iprule"
	"github.com/paymux/paymux/tenant"
)

type cachedKey struct {
	rec     *Key
	fetched time.Time
}

type cachedRules struct {
	rules   []iprule.Rule
	fetched time.Time
}

// authCache serves keys and IP rules from memory for up to ttl. Writes made
// through this process invalidate the entries they touch at once.
type authCache struct {
	db  *ent.Client
	ttl time.Duration
	now func() time.Time

	mu sync.RWMutex
	// gen is raised by every invalidation. A load that began before one is
	// not stored: it may have read the row before the change.
	gen      uint64
	byClient map[string]cachedKey
	byID     map[string]cachedKey
	// unknown holds look-ups that found no key, apart from the keys that
	// exist, so a flood of made-up client keys can evict only itself.
	unknown map[string]time.Time
	rules   map[string]cachedRules
}

// maxUnknown bounds memory when callers spray client keys that do not exist.
const maxUnknown = 10_000

func newAuthCache(db *ent.Client, ttl time.Duration, now func() time.Time) *authCache {
	return &authCache{
		db: db, ttl: ttl, now: now,
		byClient: map[string]cachedKey{},
		byID:     map[string]cachedKey{},
		unknown:  map[string]time.Time{},
		rules:    map[string]cachedRules{},
	}
}

func (c *authCache) fresh(fetched time.Time) bool {
	return c.ttl > 0 && c.now().Sub(fetched) < c.ttl
}

// keyByClientKey returns the key with this client key, or nil.
func (c *authCache) keyByClientKey(ctx context.Context, clientKey string) (*Key, error) {
	return c.key(ctx, c.byClient, "client:"+clientKey, clientKey, apikey.ClientKey(clientKey))
}

// keyByID returns the key with this id, or nil.
func (c *authCache) keyByID(ctx context.Context, id string) (*Key, error) {
	return c.key(ctx, c.byID, "id:"+id, id, apikey.ID(id))
}

func (c *authCache) key(ctx context.Context, m map[string]cachedKey, unknownKey, k string, where predicate.APIKey) (*Key, error) {
	c.mu.RLock()
	e, ok := m[k]
	missed, isUnknown := c.unknown[unknownKey]
	gen := c.gen
	c.mu.RUnlock()
	if ok && c.fresh(e.fetched) {
		return e.rec, nil
	}
	if isUnknown && c.fresh(missed) {
		return nil, nil
	}
	started := c.now() // an entry is as old as the read behind it
	rec, err := c.loadKey(ctx, where)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen != gen {
		return rec, nil // invalidated meanwhile: use it for this call, keep nothing
	}
	if rec == nil {
		if len(c.unknown) >= maxUnknown {
			clear(c.unknown)
		}
		c.unknown[unknownKey] = started
		return nil, nil
	}
	m[k] = cachedKey{rec: rec, fetched: started}
	return rec, nil
}

func (c *authCache) loadKey(ctx context.Context, where predicate.APIKey) (*Key, error) {
	k, err := c.db.APIKey.Query().Where(where).WithStore().Only(tenant.System(ctx))
	if ent.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("load key: %w", err)
	}
	rec := &Key{
		ID:                 k.ID,
		StoreID:            k.StoreID,
		ClientKey:          k.ClientKey,
		Mode:               k.Mode,
		AuthMethod:         k.AuthMethod,
		ApprovalModel:      k.ApprovalModel,
		SecretHash:         k.SecretHash,
		PreviousSecretHash: k.PreviousSecretHash,
		SecretVersion:      k.SecretVersion,
		Deleted:            k.DeletedAt != nil,
		StoreSuspended:     k.Edges.Store != nil && k.Edges.Store.State == store.StateSUSPENDED,
	}
	if k.ExpiresAt != nil {
		rec.ExpiresAt = *k.ExpiresAt
	}
	return rec, nil
}

// RulesOf returns a store's IP rules, oldest first, from the cache when it
// holds them. The policy chain checks a store key's calls against them.
func (s *Service) RulesOf(ctx context.Context, storeID string) ([]iprule.Rule, error) {
	return s.cache.rulesOf(ctx, storeID)
}

// rulesOf returns a store's IP rules, oldest first.
func (c *authCache) rulesOf(ctx context.Context, storeID string) ([]iprule.Rule, error) {
	c.mu.RLock()
	e, ok := c.rules[storeID]
	gen := c.gen
	c.mu.RUnlock()
	if ok && c.fresh(e.fetched) {
		return e.rules, nil
	}
	started := c.now()
	rows, err := c.db.IPRule.Query().
		Where(entiprule.StoreID(storeID)).
		Order(ent.Asc(entiprule.FieldCreatedAt), ent.Asc(entiprule.FieldID)).
		All(tenant.System(ctx))
	if err != nil {
		return nil, fmt.Errorf("load IP rules of %s: %w", storeID, err)
	}
	rules, err := toRules(rows)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.gen == gen { // one entry per existing store: no bound needed
		c.rules[storeID] = cachedRules{rules: rules, fetched: started}
	}
	c.mu.Unlock()
	return rules, nil
}

func toRules(rows []*ent.IPRule) ([]iprule.Rule, error) {
	rules := make([]iprule.Rule, 0, len(rows))
	for _, r := range rows {
		p, err := iprule.ParseCIDR(r.Cidr)
		if err != nil {
			return nil, fmt.Errorf("stored IP rule %s: %w", r.ID, err)
		}
		rules = append(rules, iprule.Rule{ID: r.ID, Prefix: p, Description: r.Description})
	}
	return rules, nil
}

// forgetKey drops a key after it changed here.
func (c *authCache) forgetKey(id, clientKey string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	delete(c.byID, id)
	delete(c.byClient, clientKey)
}

// forgetStore drops everything cached of a store: its keys (they carry the
// store's state) and its rules.
func (c *authCache) forgetStore(storeID string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	delete(c.rules, storeID)
	for _, m := range []map[string]cachedKey{c.byClient, c.byID} {
		for k, e := range m {
			if e.rec != nil && e.rec.StoreID == storeID {
				delete(m, k)
			}
		}
	}
}
