package server

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/paymux/paymux/apierr"
	"github.com/paymux/paymux/database"
	"github.com/paymux/paymux/ent"
	"github.com/paymux/paymux/ent/apikey"
	"github.com/paymux/paymux/ent/channel"
	"github.com/paymux/paymux/ent/predicate"
	paymuxv1 "github.com/paymux/paymux/gen/paymux/v1"
	"github.com/paymux/paymux/secrets"
)

type channelService struct{ *Server }

// sandboxNotificationSecret is the secret the sandbox signs its
// notifications with; paymux makes one when the merchant gives none.
const sandboxNotificationSecret = "notification_secret"

func (s *channelService) CreateChannel(ctx context.Context, req *connect.Request[paymuxv1.CreateChannelRequest]) (*connect.Response[paymuxv1.CreateChannelResponse], error) {
	ctx, storeID, err := s.actingStore(ctx, req.Msg.GetStoreId())
	if err != nil {
		return nil, err
	}
	mode := modeFromPB(req.Msg.GetMode())
	if err := checkKeyMode(ctx, mode); err != nil {
		return nil, err
	}
	if req.Msg.GetProvider() == paymuxv1.Provider_PROVIDER_SANDBOX && mode == apikey.ModeLIVE {
		return nil, apierr.InvalidField("mode", "the sandbox serves TEST channels only")
	}
	secretValues := maps.Clone(req.Msg.GetSecrets())
	if secretValues == nil {
		secretValues = map[string]string{}
	}
	if req.Msg.GetProvider() == paymuxv1.Provider_PROVIDER_SANDBOX && secretValues[sandboxNotificationSecret] == "" {
		secretValues[sandboxNotificationSecret] = secrets.RandomString(32)
	}
	id := secrets.NewID("ch")
	sealed, err := sealChannelSecrets(s.keyring, id, secretValues)
	if err != nil {
		return nil, err
	}
	purpose := purposeFromPB(req.Msg.GetPurpose())
	var created *ent.Channel
	err = database.InTx(ctx, s.db, func(tx *ent.Tx) error {
		if err := database.LockStore(ctx, tx, storeID); err != nil {
			return err
		}
		others, err := tx.Channel.Query().Where(channel.ModeEQ(channel.Mode(mode)), channel.PurposeEQ(purpose)).Exist(ctx)
		if err != nil {
			return err
		}
		created, err = tx.Channel.Create().
			SetID(id).
			SetStoreID(storeID).
			SetProvider(channel.ProviderSANDBOX).
			SetMode(channel.Mode(mode)).
			SetPurpose(purpose).
			SetName(req.Msg.GetName()).
			SetMerchantID(req.Msg.GetMerchantId()).
			SetTaxType(taxTypeFromPB(req.Msg.GetTaxType())).
			SetSecretsSealed(sealed).
			SetSecretNames(sortedKeys(secretValues)).
			SetDefault(!others). // the first of its mode and purpose
			Save(ctx)
		return err
	})
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&paymuxv1.CreateChannelResponse{Channel: toChannelPB(created)}), nil
}

// sealChannelSecrets encrypts the secrets as one JSON object bound to the
// channel id, so a ciphertext moved to another row does not decrypt.
func sealChannelSecrets(keyring *secrets.Keyring, id string, values map[string]string) ([]byte, error) {
	plain, err := json.Marshal(values)
	if err != nil {
		return nil, fmt.Errorf("channel secrets: %w", err)
	}
	sealed, err := keyring.Encrypt(plain, []byte("channel:"+id))
	if err != nil {
		return nil, fmt.Errorf("seal channel secrets: %w", err)
	}
	return sealed, nil
}

func sortedKeys(m map[string]string) []string {
	return slices.Sorted(maps.Keys(m))
}

func (s *channelService) ListChannels(ctx context.Context, req *connect.Request[paymuxv1.ListChannelsRequest]) (*connect.Response[paymuxv1.ListChannelsResponse], error) {
	ctx, _, err := s.actingStore(ctx, req.Msg.GetStoreId())
	if err != nil {
		return nil, err
	}
	cur, after, err := decodeCursor(req.Msg.GetPageToken())
	if err != nil {
		return nil, err
	}
	q := s.db.Channel.Query().Where(visibleChannels(ctx)...).Order(ent.Asc(channel.FieldCreatedAt), ent.Asc(channel.FieldID))
	if m := req.Msg.GetMode(); m != paymuxv1.Mode_MODE_UNSPECIFIED {
		q = q.Where(channel.ModeEQ(channel.Mode(modeFromPB(m))))
	}
	if p := req.Msg.GetPurpose(); p != paymuxv1.ChannelPurpose_CHANNEL_PURPOSE_UNSPECIFIED {
		q = q.Where(channel.PurposeEQ(purposeFromPB(p)))
	}
	if after {
		q = q.Where(channel.Or(channel.CreatedAtGT(cur.time()), channel.And(channel.CreatedAt(cur.time()), channel.IDGT(cur.ID))))
	}
	size := pageSize(req.Msg.GetPageSize())
	rows, err := q.Limit(size + 1).All(ctx)
	if err != nil {
		return nil, err
	}
	rows, next := page(rows, size, func(x *ent.Channel) (time.Time, string) { return x.CreatedAt, x.ID })
	res := &paymuxv1.ListChannelsResponse{NextPageToken: next}
	for _, c := range rows {
		res.Channels = append(res.Channels, toChannelPB(c))
	}
	return connect.NewResponse(res), nil
}

// visibleChannels hides LIVE channels from TEST keys: a test key cannot
// reach live money, not even to read its set-up.
func visibleChannels(ctx context.Context) []predicate.Channel {
	if k := callFrom(ctx).Principal.Key; k != nil && k.Mode == apikey.ModeTEST {
		return []predicate.Channel{channel.ModeEQ(channel.ModeTEST)}
	}
	return nil
}

// channelByID returns a channel the caller may see.
func (s *channelService) channelByID(ctx context.Context, id string) (*ent.Channel, error) {
	c, err := s.db.Channel.Query().Where(append(visibleChannels(ctx), channel.ID(id))...).Only(ctx)
	if ent.IsNotFound(err) {
		return nil, apierr.New(apierr.CodeNotFound, apierr.ReasonChannelNotFound, "channel %s not found", id)
	}
	return c, err
}

func (s *channelService) GetChannel(ctx context.Context, req *connect.Request[paymuxv1.GetChannelRequest]) (*connect.Response[paymuxv1.GetChannelResponse], error) {
	c, err := s.channelByID(ctx, req.Msg.GetId())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&paymuxv1.GetChannelResponse{Channel: toChannelPB(c)}), nil
}

func (s *channelService) UpdateChannel(ctx context.Context, req *connect.Request[paymuxv1.UpdateChannelRequest]) (*connect.Response[paymuxv1.UpdateChannelResponse], error) {
	defer s.payments.ForgetChannels() // after the change, whatever its outcome
	c, err := s.channelByID(ctx, req.Msg.GetId())
	if err != nil {
		return nil, err
	}
	paths := req.Msg.GetUpdateMask().GetPaths()
	if len(paths) == 0 {
		return nil, apierr.InvalidField("update_mask", "name at least one of name, merchant_id, tax_type, secrets, default")
	}
	var updated *ent.Channel
	err = database.InTx(ctx, s.db, func(tx *ent.Tx) error {
		upd := tx.Channel.UpdateOneID(c.ID)
		for _, path := range paths {
			switch path {
			case "name":
				if req.Msg.GetName() == "" {
					return apierr.InvalidField("name", "cannot be empty")
				}
				upd.SetName(req.Msg.GetName())
			case "merchant_id":
				if req.Msg.GetMerchantId() == "" {
					return apierr.InvalidField("merchant_id", "cannot be empty")
				}
				upd.SetMerchantID(req.Msg.GetMerchantId())
			case "tax_type":
				if req.Msg.GetTaxType() == paymuxv1.TaxType_TAX_TYPE_UNSPECIFIED {
					return apierr.InvalidField("tax_type", "must be set")
				}
				upd.SetTaxType(taxTypeFromPB(req.Msg.GetTaxType()))
			case "secrets":
				values := maps.Clone(req.Msg.GetSecrets())
				if values == nil {
					values = map[string]string{}
				}
				if c.Provider == channel.ProviderSANDBOX && values[sandboxNotificationSecret] == "" {
					values[sandboxNotificationSecret] = secrets.RandomString(32)
				}
				sealed, err := sealChannelSecrets(s.keyring, c.ID, values)
				if err != nil {
					return err
				}
				upd.SetSecretsSealed(sealed).SetSecretNames(sortedKeys(values))
			case "default":
				if !req.Msg.GetDefault() {
					return apierr.InvalidField("default", "make another channel the default instead")
				}
				if err := database.LockStore(ctx, tx, c.StoreID); err != nil {
					return err
				}
				if err := tx.Channel.Update().
					Where(channel.ModeEQ(c.Mode), channel.PurposeEQ(c.Purpose), channel.IDNEQ(c.ID)).
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
	return connect.NewResponse(&paymuxv1.UpdateChannelResponse{Channel: toChannelPB(updated)}), nil
}

func (s *channelService) DeleteChannel(ctx context.Context, req *connect.Request[paymuxv1.DeleteChannelRequest]) (*connect.Response[paymuxv1.DeleteChannelResponse], error) {
	defer s.payments.ForgetChannels() // after the change, whatever its outcome
	c, err := s.channelByID(ctx, req.Msg.GetId())
	if err != nil {
		return nil, err
	}
	err = database.InTx(ctx, s.db, func(tx *ent.Tx) error {
		if err := database.LockStore(ctx, tx, c.StoreID); err != nil {
			return err
		}
		if c.Default {
			others, err := tx.Channel.Query().
				Where(channel.ModeEQ(c.Mode), channel.PurposeEQ(c.Purpose), channel.IDNEQ(c.ID)).Exist(ctx)
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
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&paymuxv1.DeleteChannelResponse{}), nil
}

func toChannelPB(c *ent.Channel) *paymuxv1.Channel {
	pb := &paymuxv1.Channel{
		Id:          c.ID,
		StoreId:     c.StoreID,
		Provider:    paymuxv1.Provider_PROVIDER_SANDBOX,
		Mode:        modeToPB(apikey.Mode(c.Mode)),
		Name:        c.Name,
		Purpose:     paymuxv1.ChannelPurpose_CHANNEL_PURPOSE_PAYMENT,
		MerchantId:  c.MerchantID,
		TaxType:     paymuxv1.TaxType(paymuxv1.TaxType_value["TAX_TYPE_"+string(c.TaxType)]),
		SecretNames: c.SecretNames,
		Default:     c.Default,
		CreateTime:  timestamppb.New(c.CreatedAt),
		UpdateTime:  timestamppb.New(c.UpdatedAt),
	}
	if c.Purpose == channel.PurposeIDENTITY_VERIFICATION {
		pb.Purpose = paymuxv1.ChannelPurpose_CHANNEL_PURPOSE_IDENTITY_VERIFICATION
	}
	return pb
}

func purposeFromPB(p paymuxv1.ChannelPurpose) channel.Purpose {
	if p == paymuxv1.ChannelPurpose_CHANNEL_PURPOSE_IDENTITY_VERIFICATION {
		return channel.PurposeIDENTITY_VERIFICATION
	}
	return channel.PurposePAYMENT
}

func taxTypeFromPB(t paymuxv1.TaxType) channel.TaxType {
	switch t {
	case paymuxv1.TaxType_TAX_TYPE_TAX_FREE:
		return channel.TaxTypeTAX_FREE
	case paymuxv1.TaxType_TAX_TYPE_COMBINED:
		return channel.TaxTypeCOMBINED
	}
	return channel.TaxTypeTAXABLE
}
