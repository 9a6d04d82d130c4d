// Package tenant carries who is acting (a store's key or the platform
// administrator) in a request's context, and holds the ent privacy policies
// that keep every store's rows apart. Handlers never filter by store by
// hand: the policies add the filter to every query and mutation.
package tenant

import (
	"context"
	"fmt"

	"entgo.io/ent/entql"

	"github.com/paymux/paymux/ent"
	"github.com/paymux/paymux/ent/privacy"
)

// Viewer is who a database operation runs for.
type Viewer struct {
	// StoreID is the store acted on: a store key's own store, or the store an
	// administrator named. Empty for an administrator acting platform-wide.
	StoreID string
	// Admin is the platform administrator.
	Admin bool
	// KeyID is the API key acting, "" for the administrator.
	KeyID string
	// KeyMode is the acting key's mode, "TEST" or "LIVE" ("" for the
	// administrator). A TEST key reaches only TEST money, not even to read.
	KeyMode string
}

// TestOnly reports whether the viewer may see TEST payments only.
func (v Viewer) TestOnly() bool { return v.KeyMode == "TEST" }

type viewerKey struct{}

// NewContext returns ctx acting as v.
func NewContext(ctx context.Context, v Viewer) context.Context {
	return context.WithValue(ctx, viewerKey{}, v)
}

// FromContext returns the viewer in ctx.
func FromContext(ctx context.Context) (Viewer, bool) {
	v, ok := ctx.Value(viewerKey{}).(Viewer)
	return v, ok
}

// System returns ctx allowed every database operation: for paymux's own
// work (authentication look-ups, first-run set-up, background jobs), never
// for a caller's request.
func System(ctx context.Context) context.Context {
	return privacy.DecisionContext(ctx, privacy.Allow)
}

type storeIDFilter interface{ WhereStoreID(entql.StringP) }

// filterToStore limits queries and updates of a store-owned entity to the
// viewer's store.
var filterToStore = privacy.FilterFunc(func(ctx context.Context, f privacy.Filter) error {
	v, ok := FromContext(ctx)
	switch {
	case !ok:
		return privacy.Denyf("no viewer in context")
	case v.StoreID == "" && v.Admin:
		return privacy.Skip
	case v.StoreID == "":
		return privacy.Denyf("viewer has no store")
	}
	sf, ok := f.(storeIDFilter)
	if !ok {
		return privacy.Denyf("%T has no store_id", f)
	}
	sf.WhereStoreID(entql.StringEQ(v.StoreID))
	return privacy.Skip
})

// createInOwnStore refuses a create whose store_id is not the viewer's store.
var createInOwnStore = privacy.MutationRuleFunc(func(ctx context.Context, m ent.Mutation) error {
	if !m.Op().Is(ent.OpCreate) {
		return privacy.Skip
	}
	v, ok := FromContext(ctx)
	if !ok {
		return privacy.Denyf("no viewer in context")
	}
	storeID, _ := m.Field("store_id")
	if v.StoreID != "" && storeID != v.StoreID {
		return privacy.Denyf("create in store %v by viewer of store %s", storeID, v.StoreID)
	}
	if v.StoreID == "" && !v.Admin {
		return privacy.Denyf("viewer has no store")
	}
	return privacy.Skip
})

// StoreOwnedPolicy is the policy of every entity with a store_id.
func StoreOwnedPolicy() ent.Policy {
	return privacy.Policy{
		Query:    privacy.QueryPolicy{filterToStore},
		Mutation: privacy.MutationPolicy{createInOwnStore, filterToStore},
	}
}

// StorePolicy lets a store's key read only its own store and leaves changes
// to the administrator.
func StorePolicy() ent.Policy {
	return privacy.Policy{
		Query: privacy.QueryPolicy{privacy.FilterFunc(func(ctx context.Context, f privacy.Filter) error {
			v, ok := FromContext(ctx)
			switch {
			case !ok:
				return privacy.Denyf("no viewer in context")
			case v.StoreID == "" && v.Admin:
				return privacy.Skip
			case v.StoreID == "":
				return privacy.Denyf("viewer has no store")
			}
			idf, ok := f.(interface{ WhereID(entql.StringP) })
			if !ok {
				return fmt.Errorf("store filter: unexpected %T", f)
			}
			idf.WhereID(entql.StringEQ(v.StoreID))
			return privacy.Skip
		})},
		Mutation: privacy.MutationPolicy{privacy.MutationRuleFunc(func(ctx context.Context, _ ent.Mutation) error {
			if v, ok := FromContext(ctx); ok && v.Admin {
				return privacy.Allow
			}
			return privacy.Denyf("only the platform administrator changes stores")
		})},
	}
}

// SystemOnlyPolicy allows nothing but System contexts.
func SystemOnlyPolicy() ent.Policy {
	return privacy.Policy{
		Query:    privacy.QueryPolicy{privacy.AlwaysDenyRule()},
		Mutation: privacy.MutationPolicy{privacy.AlwaysDenyRule()},
	}
}
