package account

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/paymux/paymux/database"
	"github.com/paymux/paymux/ent"
	"github.com/paymux/paymux/ent/apikey"
	"github.com/paymux/paymux/ent/channel"
	"github.com/paymux/paymux/payment"
	"github.com/paymux/paymux/secrets"
	"github.com/paymux/paymux/tenant"
)

const (
	settingAdminTokenHash = "admin_token_hash"
	settingFirstRun       = "first_run"
	settingMasterKeyCheck = "master_key_check"
)

// masterKeyCheck is what the master key's hash of a fixed string looks
// like; kept in the database, it tells a server started with another key.
func masterKeyCheck(keyring *secrets.Keyring) string {
	return hex.EncodeToString(keyring.HashSecret("paymux master key check"))
}

// FirstRun is what Bootstrap created and must be shown once: empty fields
// were not created now.
type FirstRun struct {
	AdminToken string
	StoreID    string
	KeyID      string
	ClientKey  string
	SecretKey  string
	// ChannelID is the store's sandbox channel, its TEST default: payments
	// work at once, with test cards.
	ChannelID string
}

// Bootstrap prepares the database for this server before it serves. It
// refuses a master key other than the one the database was set up with,
// and settles the administrator's token: adminToken when configured (""
// for none), else the one a first run made, else a new one. On an empty
// database it creates a first store with a TEST key pair and a sandbox
// channel. The Service authenticates the administrator from then on.
func (s *Service) Bootstrap(ctx context.Context, adminToken string) (FirstRun, error) {
	hash, first, err := s.bootstrapOnce(ctx, adminToken)
	if ent.IsConstraintError(err) {
		// Another replica ran its first run at the same moment and won;
		// the second attempt reads what it made.
		hash, first, err = s.bootstrapOnce(ctx, adminToken)
	}
	if err != nil {
		return FirstRun{}, err
	}
	s.adminHash.Store(&hash)
	return first, nil
}

func (s *Service) bootstrapOnce(ctx context.Context, adminToken string) ([]byte, FirstRun, error) {
	ctx = tenant.System(ctx)
	keyring := s.keyring
	var first FirstRun
	adminHash := []byte(nil)
	if adminToken != "" {
		adminHash = keyring.HashSecret(adminToken)
	}
	err := database.InTx(ctx, s.db, func(tx *ent.Tx) error {
		check, err := tx.Setting.Get(ctx, settingMasterKeyCheck)
		switch {
		case ent.IsNotFound(err):
			if err := tx.Setting.Create().SetID(settingMasterKeyCheck).SetValue(masterKeyCheck(keyring)).Exec(ctx); err != nil {
				return fmt.Errorf("save master key check: %w", err)
			}
		case err != nil:
			return fmt.Errorf("read master key check: %w", err)
		case check.Value != masterKeyCheck(keyring):
			return errors.New("the master key is not the one this database was set up with, so no stored secret " +
				"would verify: set master_key (PAYMUX_MASTER_KEY) to the key of the first server, or point data_dir at its master.key")
		}
		if adminHash == nil {
			st, err := tx.Setting.Get(ctx, settingAdminTokenHash)
			switch {
			case err == nil:
				if adminHash, err = hex.DecodeString(st.Value); err != nil {
					return fmt.Errorf("stored admin token hash: %w", err)
				}
			case ent.IsNotFound(err):
				first.AdminToken = AdminTokenPrefix + secrets.RandomString(40)
				adminHash = keyring.HashSecret(first.AdminToken)
				if err := tx.Setting.Create().SetID(settingAdminTokenHash).SetValue(hex.EncodeToString(adminHash)).Exec(ctx); err != nil {
					return fmt.Errorf("save admin token hash: %w", err)
				}
			default:
				return fmt.Errorf("read admin token hash: %w", err)
			}
		}
		n, err := tx.Store.Query().Count(ctx)
		if err != nil || n > 0 {
			return err
		}
		now := s.clock()
		// The marker row makes a concurrent first run of a second replica
		// fail on its primary key instead of creating a second store.
		if err := tx.Setting.Create().SetID(settingFirstRun).SetValue(now.Format(time.RFC3339)).Exec(ctx); err != nil {
			return fmt.Errorf("mark first run: %w", err)
		}
		st, err := tx.Store.Create().SetName("My store").Save(ctx)
		if err != nil {
			return fmt.Errorf("create first store: %w", err)
		}
		clientKey, secret := newKeyPair(apikey.ModeTEST)
		k, err := tx.APIKey.Create().
			SetStoreID(st.ID).
			SetName("first key").
			SetMode(apikey.ModeTEST).
			SetApprovalModel(apikey.ApprovalModelSERVER).
			SetAuthMethod(apikey.AuthMethodBASIC).
			SetClientKey(clientKey).
			SetSecretHash(keyring.HashSecret(secret)).
			SetSecretPrefix(secretPrefix(secret)).
			SetSecretIssuedAt(now).
			Save(ctx)
		if err != nil {
			return fmt.Errorf("create first key: %w", err)
		}
		if err := tx.Store.UpdateOneID(st.ID).SetKeyCount(1).Exec(ctx); err != nil {
			return err
		}
		chID := secrets.NewID("ch")
		// Sealed as every channel's secrets are, with the notification
		// secret the sandbox signs with.
		sealed, names, err := payment.SealChannelSecrets(keyring, chID, channel.ProviderSANDBOX, nil)
		if err != nil {
			return err
		}
		if err := tx.Channel.Create().
			SetID(chID).SetStoreID(st.ID).SetProvider(channel.ProviderSANDBOX).SetMode(channel.ModeTEST).
			SetPurpose(channel.PurposePAYMENT).SetName("Sandbox").SetMerchantID("sandbox-" + st.ID).
			SetTaxType(channel.TaxTypeTAXABLE).SetSecretsSealed(sealed).SetSecretNames(names).
			SetDefault(true).Exec(ctx); err != nil {
			return fmt.Errorf("create sandbox channel: %w", err)
		}
		first.StoreID, first.KeyID, first.ClientKey, first.SecretKey, first.ChannelID = st.ID, k.ID, clientKey, secret, chID
		return nil
	})
	if err != nil {
		return nil, FirstRun{}, fmt.Errorf("bootstrap: %w", err)
	}
	return adminHash, first, nil
}
