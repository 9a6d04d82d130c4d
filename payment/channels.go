package payment

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"

	"github.com/paymux/paymux/apierr"
	"github.com/paymux/paymux/database"
	"github.com/paymux/paymux/ent"
	"github.com/paymux/paymux/ent/channel"
	"github.com/paymux/paymux/providers/sandbox"
	"github.com/paymux/paymux/secrets"
)

// ChannelInput is a channel to create.
type ChannelInput struct {
	StoreID    string
	Provider   channel.Provider
	Mode       channel.Mode
	Purpose    channel.Purpose
	Name       string
	MerchantID string
	TaxType    channel.TaxType
	// Secrets are the provider's credentials by name; they are stored
	// sealed (SealChannelSecrets), and only their names are readable.
	Secrets map[string]string
}

// CreateChannel creates a channel in in.StoreID, the default of its mode
// and purpose when it is the first. The sandbox serves TEST channels only.
func (s *Service) CreateChannel(ctx context.Context, in ChannelInput) (*ent.Channel, error) {
	if in.Provider == channel.ProviderSANDBOX && in.Mode == channel.ModeLIVE {
		return nil, apierr.InvalidField("mode", "the sandbox serves TEST channels only")
	}
	id := secrets.NewID("ch")
	sealed, names, err := SealChannelSecrets(s.keyring, id, in.Provider, in.Secrets)
	if err != nil {
		return nil, err
	}
	var created *ent.Channel
	err = database.InTx(ctx, s.db, func(tx *ent.Tx) error {
		if err := database.LockStore(ctx, tx, in.StoreID); err != nil {
			return err
		}
		others, err := tx.Channel.Query().
			Where(channel.StoreID(in.StoreID), channel.ModeEQ(in.Mode), channel.PurposeEQ(in.Purpose)).Exist(ctx)
		if err != nil {
			return err
		}
		created, err = tx.Channel.Create().
			SetID(id).
			SetStoreID(in.StoreID).
			SetProvider(in.Provider).
			SetMode(in.Mode).
			SetPurpose(in.Purpose).
			SetName(in.Name).
			SetMerchantID(in.MerchantID).
			SetTaxType(in.TaxType).
			SetSecretsSealed(sealed).
			SetSecretNames(names).
			SetDefault(!others). // the first of its mode and purpose
			Save(ctx)
		return err
	})
	if err != nil {
		return nil, err
	}
	return created, nil
}

// ChannelChange is a change to a channel: the fields Fields names (an
// update mask: name, merchant_id, tax_type, secrets, default) take the
// values given here.
type ChannelChange struct {
	ID     string
	Fields []string

	Name       string
	MerchantID string
	// TaxType "" is not set: naming tax_type then is refused.
	TaxType channel.TaxType
	// Secrets replace the channel's secrets, all of them.
	Secrets map[string]string
	// Default makes the channel the default of its mode and purpose in its
	// store (the others lose the flag). It cannot be false: a default is
	// given up by making another channel the default.
	Default bool
}

// UpdateChannel changes a channel of the store of ctx. The channels kept
// open are forgotten afterwards, whatever the outcome.
func (s *Service) UpdateChannel(ctx context.Context, in ChannelChange) (*ent.Channel, error) {
	defer s.ForgetChannels() // after the change, whatever its outcome
	c, err := s.channelToChange(ctx, in.ID)
	if err != nil {
		return nil, err
	}
	if len(in.Fields) == 0 {
		return nil, apierr.InvalidField("update_mask", "name at least one of name, merchant_id, tax_type, secrets, default")
	}
	var updated *ent.Channel
	err = database.InTx(ctx, s.db, func(tx *ent.Tx) error {
		upd := tx.Channel.UpdateOneID(c.ID)
		for _, path := range in.Fields {
			switch path {
			case "name":
				if in.Name == "" {
					return apierr.InvalidField("name", "cannot be empty")
				}
				upd.SetName(in.Name)
			case "merchant_id":
				if in.MerchantID == "" {
					return apierr.InvalidField("merchant_id", "cannot be empty")
				}
				upd.SetMerchantID(in.MerchantID)
			case "tax_type":
				if in.TaxType == "" {
					return apierr.InvalidField("tax_type", "must be set")
				}
				upd.SetTaxType(in.TaxType)
			case "secrets":
				sealed, names, err := SealChannelSecrets(s.keyring, c.ID, c.Provider, in.Secrets)
				if err != nil {
					return err
				}
				upd.SetSecretsSealed(sealed).SetSecretNames(names)
			case "default":
				if !in.Default {
					return apierr.InvalidField("default", "make another channel the default instead")
				}
				if err := database.LockStore(ctx, tx, c.StoreID); err != nil {
					return err
				}
				if err := tx.Channel.Update().
					Where(channel.StoreID(c.StoreID), channel.ModeEQ(c.Mode), channel.PurposeEQ(c.Purpose), channel.IDNEQ(c.ID)).
					SetDefault(false).Exec(ctx); err != nil {
					return err
				}
				upd.SetDefault(true)
			default:
				return apierr.InvalidField("update_mask", "cannot update %q", path)
			}
		}
		var err error
		updated, err = upd.Save(ctx)
		return err
	})
	if err != nil {
		return nil, err
	}
	return updated, nil
}

// DeleteChannel deletes a channel of the store of ctx. The default of its
// mode and purpose is refused (ReasonChannelIsDefault) while another
// channel of that mode and purpose could take its place. The channels kept
// open are forgotten afterwards, whatever the outcome.
func (s *Service) DeleteChannel(ctx context.Context, id string) error {
	defer s.ForgetChannels() // after the change, whatever its outcome
	c, err := s.channelToChange(ctx, id)
	if err != nil {
		return err
	}
	return database.InTx(ctx, s.db, func(tx *ent.Tx) error {
		if err := database.LockStore(ctx, tx, c.StoreID); err != nil {
			return err
		}
		// Read again under the store's lock: the default may have moved.
		c, err := tx.Channel.Get(ctx, c.ID)
		if ent.IsNotFound(err) {
			return apierr.New(apierr.CodeNotFound, apierr.ReasonChannelNotFound, "channel %s not found", id)
		}
		if err != nil {
			return err
		}
		if c.Default {
			others, err := tx.Channel.Query().
				Where(channel.StoreID(c.StoreID), channel.ModeEQ(c.Mode), channel.PurposeEQ(c.Purpose), channel.IDNEQ(c.ID)).
				Exist(ctx)
			if err != nil {
				return err
			}
			if others {
				return apierr.New(apierr.CodeFailedPrecondition, apierr.ReasonChannelIsDefault,
					"channel %s is the default of its mode and purpose: make another one the default first", c.ID)
			}
		}
		return tx.Channel.DeleteOneID(c.ID).Exec(ctx)
	})
}

// channelToChange reads a channel the store of ctx may change.
func (s *Service) channelToChange(ctx context.Context, id string) (*ent.Channel, error) {
	c, err := s.db.Channel.Query().Where(channel.ID(id)).Only(ctx)
	if ent.IsNotFound(err) {
		return nil, apierr.New(apierr.CodeNotFound, apierr.ReasonChannelNotFound, "channel %s not found", id)
	}
	return c, err
}

// SealChannelSecrets makes a channel's stored secrets: the values given,
// with those paymux makes for the provider when they are missing (the
// sandbox's notification secret, which it signs its notifications with),
// as one JSON object encrypted with the keyring and bound to the channel
// by "channel:<id>", so that a ciphertext moved to another row does not
// decrypt. names are the secrets' names, sorted. values is not changed.
func SealChannelSecrets(keyring *secrets.Keyring, channelID string, provider channel.Provider, values map[string]string) (sealed []byte, names []string, err error) {
	values = maps.Clone(values)
	if values == nil {
		values = map[string]string{}
	}
	if provider == channel.ProviderSANDBOX && values[sandbox.SecretNotification] == "" {
		values[sandbox.SecretNotification] = secrets.RandomString(32)
	}
	plain, err := json.Marshal(values)
	if err != nil {
		return nil, nil, fmt.Errorf("channel secrets: %w", err)
	}
	if sealed, err = keyring.Encrypt(plain, []byte("channel:"+channelID)); err != nil {
		return nil, nil, fmt.Errorf("seal channel secrets: %w", err)
	}
	return sealed, slices.Sorted(maps.Keys(values)), nil
}
