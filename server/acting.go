package server

import (
	"context"

	"github.com/paymux/paymux/apierr"
	"github.com/paymux/paymux/ent/apikey"
	"github.com/paymux/paymux/ent/store"
	"github.com/paymux/paymux/tenant"
)

// actingStore is the store a store-scoped call acts on: a key's own store
// (store_id may repeat it), or the store the administrator names. The
// returned context's viewer is narrowed to that store.
func (s *Server) actingStore(ctx context.Context, requested string) (context.Context, string, error) {
	p := callFrom(ctx).Principal
	if p.Key != nil {
		if requested != "" && requested != p.Key.StoreID {
			return nil, "", apierr.New(apierr.CodePermissionDenied, apierr.ReasonStoreMismatch,
				"store_id %s is not the store of this key", requested)
		}
		return ctx, p.Key.StoreID, nil
	}
	if p.User != nil && !p.Admin { // a console member, on the store they named
		if requested != "" && requested != p.User.StoreID {
			return nil, "", apierr.New(apierr.CodePermissionDenied, apierr.ReasonStoreMismatch,
				"store_id %s is not the store this console call acts on (Paymux-Store: %s)", requested, p.User.StoreID)
		}
		return ctx, p.User.StoreID, nil
	}
	if !p.Admin {
		return nil, "", apierr.New(apierr.CodeUnauthenticated, apierr.ReasonCredentialsMissing, "not authenticated")
	}
	if requested == "" && p.User != nil {
		requested = p.User.StoreID
	}
	if requested == "" {
		return nil, "", apierr.InvalidField("store_id", "required when calling with the admin token")
	}
	exists, err := s.db.Store.Query().Where(store.ID(requested)).Exist(ctx)
	if err != nil {
		return nil, "", err
	}
	if !exists {
		return nil, "", apierr.New(apierr.CodeNotFound, apierr.ReasonStoreNotFound, "store %s not found", requested)
	}
	callFrom(ctx).ActingStoreID = requested
	return tenant.NewContext(ctx, tenant.Viewer{Admin: true, StoreID: requested}), requested, nil
}

// checkKeyMode refuses a TEST key acting on a LIVE key: a leaked test key
// must not be a way to mint live credentials.
func checkKeyMode(ctx context.Context, target apikey.Mode) error {
	if k := callFrom(ctx).Principal.Key; k != nil && k.Mode == apikey.ModeTEST && target == apikey.ModeLIVE {
		return apierr.New(apierr.CodePermissionDenied, apierr.ReasonKeyModeNotAllowed,
			"a TEST key cannot create or change LIVE keys")
	}
	return nil
}

// checkRuleChange refuses a TEST key changing IP rules: the rules guard the
// store's LIVE keys too, and a leaked test key must not lift or jam them.
func checkRuleChange(ctx context.Context) error {
	if k := callFrom(ctx).Principal.Key; k != nil && k.Mode == apikey.ModeTEST {
		return apierr.New(apierr.CodePermissionDenied, apierr.ReasonKeyModeNotAllowed,
			"IP rules also guard LIVE keys: change them with a LIVE key or the admin token")
	}
	return nil
}
