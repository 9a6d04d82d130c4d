package account

import (
	"context"

	"github.com/paymux/paymux/apierr"
	"github.com/paymux/paymux/database"
	"github.com/paymux/paymux/ent"
	entiprule "github.com/paymux/paymux/ent/iprule"
	"github.com/paymux/paymux/iprule"
)

// MaxIPRulesPerStore keeps a rule set something a person can review.
const MaxIPRulesPerStore = 100

// IPRuleInput is a new IP rule.
type IPRuleInput struct {
	StoreID     string
	CIDR        string // an address or a prefix, IPv4 or IPv6
	Description string
}

// CreateIPRule adds a rule to a store, refusing past MaxIPRulesPerStore
// (IP_RULE_LIMIT_EXCEEDED, under the store's lock) and a second rule for
// the same prefix (IP_RULE_ALREADY_EXISTS). It holds from the next call on.
func (s *Service) CreateIPRule(ctx context.Context, in IPRuleInput) (*ent.IPRule, error) {
	prefix, err := iprule.ParseCIDR(in.CIDR)
	if err != nil {
		return nil, apierr.InvalidField("cidr", "%v", err)
	}
	var created *ent.IPRule
	err = database.InTx(ctx, s.db, func(tx *ent.Tx) error {
		if err := database.LockStore(ctx, tx, in.StoreID); err != nil {
			return err
		}
		n, err := tx.IPRule.Query().Count(ctx)
		if err != nil {
			return err
		}
		if n >= MaxIPRulesPerStore {
			return apierr.New(apierr.CodeFailedPrecondition, apierr.ReasonIPRuleLimitExceeded,
				"store %s already has %d IP rules", in.StoreID, MaxIPRulesPerStore)
		}
		created, err = tx.IPRule.Create().
			SetStoreID(in.StoreID).
			SetCidr(prefix.String()).
			SetDescription(in.Description).
			Save(ctx)
		if ent.IsConstraintError(err) {
			return apierr.New(apierr.CodeAlreadyExists, apierr.ReasonIPRuleAlreadyExists,
				"store %s already has a rule for %s", in.StoreID, prefix)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	s.cache.forgetStore(in.StoreID)
	return created, nil
}

// DeleteIPRule deletes a rule (IP_RULE_NOT_FOUND when the caller's store
// has none with this id). It holds from the next call on.
func (s *Service) DeleteIPRule(ctx context.Context, id string) error {
	// The privacy policy limits both look-up and delete to the viewer's
	// store: another store's rule is simply not found.
	r, err := s.db.IPRule.Get(ctx, id)
	if ent.IsNotFound(err) {
		return apierr.New(apierr.CodeNotFound, apierr.ReasonIPRuleNotFound, "IP rule %s not found", id)
	}
	if err != nil {
		return err
	}
	if _, err := s.db.IPRule.Delete().Where(entiprule.ID(r.ID)).Exec(ctx); err != nil {
		return err
	}
	s.cache.forgetStore(r.StoreID)
	return nil
}
