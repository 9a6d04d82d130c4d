package server

import (
	"context"
	"strings"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/paymux/paymux/apierr"
	"github.com/paymux/paymux/ent"
	"github.com/paymux/paymux/ent/apikey"
	"github.com/paymux/paymux/ent/channel"
	"github.com/paymux/paymux/ent/predicate"
	paymuxv1 "github.com/paymux/paymux/gen/paymux/v1"
	"github.com/paymux/paymux/payment"
)

type channelService struct{ *Server }

func (s *channelService) CreateChannel(ctx context.Context, req *connect.Request[paymuxv1.CreateChannelRequest]) (*connect.Response[paymuxv1.CreateChannelResponse], error) {
	ctx, storeID, err := s.actingStore(ctx, req.Msg.GetStoreId())
	if err != nil {
		return nil, err
	}
	mode := modeFromPB(req.Msg.GetMode())
	if err := checkKeyMode(ctx, mode); err != nil {
		return nil, err
	}
	created, verified, err := s.payments.CreateChannel(ctx, payment.ChannelInput{
		StoreID:    storeID,
		Provider:   channel.Provider(strings.TrimPrefix(req.Msg.GetProvider().String(), "PROVIDER_")), // validated
		Mode:       channel.Mode(mode),
		Purpose:    purposeFromPB(req.Msg.GetPurpose()),
		Name:       req.Msg.GetName(),
		MerchantID: req.Msg.GetMerchantId(),
		TaxType:    taxTypeFromPB(req.Msg.GetTaxType()),
		Secrets:    req.Msg.GetSecrets(),
		Verify:     req.Msg.GetVerify(),
	})
	if err != nil {
		return nil, err
	}
	res := &paymuxv1.CreateChannelResponse{Channel: s.toChannelPB(created)}
	if verified != nil {
		res.Verification = &paymuxv1.ChannelVerification{Ok: verified.OK, Message: verified.Message}
	}
	return connect.NewResponse(res), nil
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
		res.Channels = append(res.Channels, s.toChannelPB(c))
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
	return connect.NewResponse(&paymuxv1.GetChannelResponse{Channel: s.toChannelPB(c)}), nil
}

func (s *channelService) UpdateChannel(ctx context.Context, req *connect.Request[paymuxv1.UpdateChannelRequest]) (*connect.Response[paymuxv1.UpdateChannelResponse], error) {
	c, err := s.channelByID(ctx, req.Msg.GetId()) // one the caller may see
	if err != nil {
		return nil, err
	}
	change := payment.ChannelChange{
		ID:         c.ID,
		Fields:     req.Msg.GetUpdateMask().GetPaths(),
		Name:       req.Msg.GetName(),
		MerchantID: req.Msg.GetMerchantId(),
		Secrets:    req.Msg.GetSecrets(),
		Default:    req.Msg.GetDefault(),
	}
	if t := req.Msg.GetTaxType(); t != paymuxv1.TaxType_TAX_TYPE_UNSPECIFIED {
		change.TaxType = taxTypeFromPB(t)
	}
	updated, err := s.payments.UpdateChannel(ctx, change)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&paymuxv1.UpdateChannelResponse{Channel: s.toChannelPB(updated)}), nil
}

func (s *channelService) DeleteChannel(ctx context.Context, req *connect.Request[paymuxv1.DeleteChannelRequest]) (*connect.Response[paymuxv1.DeleteChannelResponse], error) {
	c, err := s.channelByID(ctx, req.Msg.GetId()) // one the caller may see
	if err != nil {
		return nil, err
	}
	archived, err := s.payments.DeleteChannel(ctx, c.ID)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&paymuxv1.DeleteChannelResponse{Archived: archived}), nil
}

func (s *channelService) toChannelPB(c *ent.Channel) *paymuxv1.Channel {
	pb := &paymuxv1.Channel{
		Id:              c.ID,
		StoreId:         c.StoreID,
		Provider:        paymuxv1.Provider(paymuxv1.Provider_value["PROVIDER_"+string(c.Provider)]),
		NotificationUrl: s.cfg.BaseURL() + "/notifications/" + c.ID,
		Mode:            modeToPB(apikey.Mode(c.Mode)),
		Name:            c.Name,
		Purpose:         paymuxv1.ChannelPurpose_CHANNEL_PURPOSE_PAYMENT,
		MerchantId:      c.MerchantID,
		TaxType:         paymuxv1.TaxType(paymuxv1.TaxType_value["TAX_TYPE_"+string(c.TaxType)]),
		SecretNames:     c.SecretNames,
		Default:         c.Default,
		CreateTime:      timestamppb.New(c.CreatedAt),
		UpdateTime:      timestamppb.New(c.UpdatedAt),
	}
	if c.ArchivedAt != nil {
		pb.ArchiveTime = timestamppb.New(*c.ArchivedAt)
	}
	if c.Purpose == channel.PurposeIDENTITY_VERIFICATION {
		pb.Purpose = paymuxv1.ChannelPurpose_CHANNEL_PURPOSE_IDENTITY_VERIFICATION
	}
	return pb
}

// purposeFromPB and taxTypeFromPB read validated enums (never UNSPECIFIED)
// as ent's values, which are the proto names without their prefix.
func purposeFromPB(p paymuxv1.ChannelPurpose) channel.Purpose {
	return channel.Purpose(strings.TrimPrefix(p.String(), "CHANNEL_PURPOSE_"))
}

func taxTypeFromPB(t paymuxv1.TaxType) channel.TaxType {
	return channel.TaxType(strings.TrimPrefix(t.String(), "TAX_TYPE_"))
}
