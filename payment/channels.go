package payment

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/paymux/paymux/apierr"
	"github.com/paymux/paymux/database"
	"github.com/paymux/paymux/ent"
	"github.com/paymux/paymux/ent/billingkey"
	"github.com/paymux/paymux/ent/channel"
	"github.com/paymux/paymux/ent/payment"
	"github.com/paymux/paymux/ent/schedule"
	"github.com/paymux/paymux/providers"
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
	// Verify asks the PG to accept the credentials (one harmless call)
	// before the channel is created.
	Verify bool
}

// Verification is the PG's answer to a channel's credentials.
type Verification struct {
	OK      bool
	Message string
}

// CreateChannel creates a channel in in.StoreID, the default of its mode
// and purpose when it is the first. The sandbox serves TEST channels only.
// The adapter checks the credentials' shape; with in.Verify the PG is asked
// to accept them first, and a refusal creates nothing.
func (s *Service) CreateChannel(ctx context.Context, in ChannelInput) (*ent.Channel, *Verification, error) {
	if in.Provider == channel.ProviderSANDBOX && in.Mode == channel.ModeLIVE {
		return nil, nil, apierr.InvalidField("mode", "the sandbox serves TEST channels only")
	}
	pg := providers.Channel{MerchantID: in.MerchantID, Mode: providers.Mode(in.Mode), Secrets: in.Secrets}
	api, err := s.checkChannel(in.Provider, pg)
	if err != nil {
		return nil, nil, err
	}
	var verified *Verification
	if in.Verify {
		if verified, err = s.verifyChannel(ctx, api, pg); err != nil {
			return nil, nil, err
		}
	}
	id := secrets.NewID("ch")
	sealed, names, err := SealChannelSecrets(s.keyring, id, in.Provider, in.Secrets)
	if err != nil {
		return nil, nil, err
	}
	var created *ent.Channel
	err = database.InTx(ctx, s.db, func(tx *ent.Tx) error {
		if err := database.LockStore(ctx, tx, in.StoreID); err != nil {
			return err
		}
		others, err := tx.Channel.Query().
			Where(channel.StoreID(in.StoreID), channel.ModeEQ(in.Mode), channel.PurposeEQ(in.Purpose), channel.ArchivedAtIsNil()).Exist(ctx)
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
		return nil, nil, err
	}
	return created, verified, nil
}

// checkChannel finds the provider's adapter and has it check the
// credentials' shape, where it can.
func (s *Service) checkChannel(provider channel.Provider, pg providers.Channel) (providers.Provider, error) {
	api, ok := s.providers[strings.ToLower(string(provider))]
	if !ok {
		return nil, apierr.InvalidField("provider", "this paymux has no adapter for %s", provider)
	}
	if c, ok := api.(providers.ChannelChecker); ok {
		if err := c.CheckChannel(pg); err != nil {
			var fe *providers.FieldError
			if errors.As(err, &fe) {
				return nil, apierr.InvalidField(fe.Field, "%s", fe.Message)
			}
			return nil, apierr.InvalidField("secrets", "%v", err)
		}
	}
	return api, nil
}

// verifyChannel asks the PG to accept a channel's credentials. A refusal
// is the caller's error (InvalidArgument on secrets); a PG that cannot be
// reached is Unavailable, and nothing is created either way.
func (s *Service) verifyChannel(ctx context.Context, api providers.Provider, pg providers.Channel) (*Verification, error) {
	v, ok := api.(providers.Verifier)
	if !ok {
		return &Verification{OK: true, Message: api.Name() + " needs no credentials"}, nil
	}
	pgctx, cancel := s.PGContext(ctx)
	defer cancel()
	err := v.VerifyCredentials(pgctx, pg)
	var pe *providers.Error
	switch {
	case err == nil:
		return &Verification{OK: true, Message: api.Name() + " accepted the credentials"}, nil
	case providers.IsKind(err, providers.KindUnauthorized) && errors.As(err, &pe):
		return nil, apierr.InvalidField("secrets", "%s refused the credentials: [%s] %s", api.Name(), pe.Code, pe.Message)
	default:
		return nil, apierr.New(apierr.CodeUnavailable, ReasonPGProvider,
			"could not verify the credentials with %s: %v; nothing was created", api.Name(), err)
	}
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
	if slices.Contains(in.Fields, "secrets") || slices.Contains(in.Fields, "merchant_id") {
		ch, err := s.OpenChannel(c)
		if err != nil {
			return nil, err
		}
		pg := ch.PG
		if slices.Contains(in.Fields, "secrets") {
			pg.Secrets = in.Secrets
		}
		if slices.Contains(in.Fields, "merchant_id") {
			pg.MerchantID = in.MerchantID
		}
		if _, err := s.checkChannel(c.Provider, pg); err != nil {
			return nil, err
		}
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
				// Under the store's lock, which a delete takes too.
				if cur, err := tx.Channel.Get(ctx, c.ID); err != nil {
					return err
				} else if cur.ArchivedAt != nil {
					return apierr.New(apierr.CodeFailedPrecondition, ReasonChannelArchived,
						"channel %s is archived: it cannot be the default", c.ID)
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

// DeleteChannel deletes a channel of the store of ctx, or archives it when
// payments, billing keys or schedules still use it (archived true): an
// archived channel takes no new payment or billing key, and everything it
// made keeps working (lookups, cancels, notifications, charges of its
// billing keys, scheduled charges). The default of its mode and purpose is
// refused (ReasonChannelIsDefault) while another channel of that mode and
// purpose could take its place. The channels kept open are forgotten
// afterwards, whatever the outcome.
func (s *Service) DeleteChannel(ctx context.Context, id string) (archived bool, err error) {
	defer s.ForgetChannels() // after the change, whatever its outcome
	c, err := s.channelToChange(ctx, id)
	if err != nil {
		return false, err
	}
	err = database.InTx(ctx, s.db, func(tx *ent.Tx) error {
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
		if c.ArchivedAt != nil {
			archived = true // deleted before: nothing more to do
			return nil
		}
		if c.Default {
			others, err := tx.Channel.Query().
				Where(channel.StoreID(c.StoreID), channel.ModeEQ(c.Mode), channel.PurposeEQ(c.Purpose), channel.IDNEQ(c.ID), channel.ArchivedAtIsNil()).
				Exist(ctx)
			if err != nil {
				return err
			}
			if others {
				return apierr.New(apierr.CodeFailedPrecondition, apierr.ReasonChannelIsDefault,
					"channel %s is the default of its mode and purpose: make another one the default first", c.ID)
			}
		}
		used, err := channelInUse(ctx, tx, c.ID)
		if err != nil {
			return err
		}
		if !used {
			return tx.Channel.DeleteOneID(c.ID).Exec(ctx)
		}
		archived = true
		return tx.Channel.UpdateOneID(c.ID).SetArchivedAt(s.clock()).SetDefault(false).SetUpdatedAt(s.clock()).Exec(ctx)
	})
	return archived, err
}

// channelInUse reports whether a payment, billing key or schedule was
// made through a channel: then deleting it would orphan them.
func channelInUse(ctx context.Context, tx *ent.Tx, id string) (bool, error) {
	if used, err := tx.Payment.Query().Where(payment.ChannelID(id)).Exist(ctx); used || err != nil {
		return used, err
	}
	if used, err := tx.BillingKey.Query().Where(billingkey.ChannelID(id)).Exist(ctx); used || err != nil {
		return used, err
	}
	return tx.Schedule.Query().Where(schedule.ChannelID(id)).Exist(ctx)
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
