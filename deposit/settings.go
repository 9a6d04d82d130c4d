package deposit

import (
	"context"

	"github.com/paymux/paymux/apierr"
	"github.com/paymux/paymux/tenant"

	"github.com/paymux/paymux/database"
	"github.com/paymux/paymux/ent"
	"github.com/paymux/paymux/ent/depositsetting"
)

// SettingsInput changes a store's matching settings; nil leaves a value
// as it is.
type SettingsInput struct {
	SmartMatching          *depositsetting.SmartMatching
	MatchLateOrders        *bool
	ReportBankTransactions *bool
}

// Settings reads a store's matching settings: the defaults (smart matching
// off, no late orders, no bank.transaction) until it changes them.
func (s *Service) Settings(ctx context.Context, storeID string) (*ent.DepositSetting, error) {
	return settingsOf(ctx, s.db.DepositSetting, storeID)
}

func (s *Service) settingsIn(ctx context.Context, tx *ent.Tx, storeID string) (*ent.DepositSetting, error) {
	return settingsOf(ctx, tx.DepositSetting, storeID)
}

func settingsOf(ctx context.Context, c *ent.DepositSettingClient, storeID string) (*ent.DepositSetting, error) {
	set, err := c.Query().Where(depositsetting.StoreID(storeID)).Only(ctx)
	if ent.IsNotFound(err) {
		return &ent.DepositSetting{StoreID: storeID, SmartMatching: depositsetting.SmartMatchingOFF}, nil
	}
	return set, err
}

// UpdateSettings changes a store's matching settings. They rule LIVE
// deposits too, so a TEST key may read them, not change them.
func (s *Service) UpdateSettings(ctx context.Context, storeID string, in SettingsInput) (*ent.DepositSetting, error) {
	if v, _ := tenant.FromContext(ctx); v.TestOnly() {
		return nil, apierr.New(apierr.CodePermissionDenied, ReasonSettingsNeedLiveKey,
			"a TEST key cannot change the store's matching settings: they apply to LIVE deposits too; use a LIVE key")
	}
	var out *ent.DepositSetting
	err := database.InTx(ctx, s.db, func(tx *ent.Tx) error {
		if err := database.LockStore(ctx, tx, storeID); err != nil {
			return err
		}
		cur, err := tx.DepositSetting.Query().Where(depositsetting.StoreID(storeID)).Only(ctx)
		if ent.IsNotFound(err) {
			cur, err = tx.DepositSetting.Create().SetStoreID(storeID).Save(ctx)
		}
		if err != nil {
			return err
		}
		upd := tx.DepositSetting.UpdateOne(cur)
		if in.SmartMatching != nil {
			upd.SetSmartMatching(*in.SmartMatching)
		}
		if in.MatchLateOrders != nil {
			upd.SetMatchLateOrders(*in.MatchLateOrders)
		}
		if in.ReportBankTransactions != nil {
			upd.SetReportBankTransactions(*in.ReportBankTransactions)
		}
		out, err = upd.Save(ctx)
		return err
	})
	return out, err
}
