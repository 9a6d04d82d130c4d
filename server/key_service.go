package server

import (
	"context"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/paymux/paymux/account"
	"github.com/paymux/paymux/apierr"
	"github.com/paymux/paymux/ent"
	"github.com/paymux/paymux/ent/apikey"
	paymuxv1 "github.com/paymux/paymux/gen/paymux/v1"
)

type keyService struct{ *Server }

func (s *keyService) CreateKey(ctx context.Context, req *connect.Request[paymuxv1.CreateKeyRequest]) (*connect.Response[paymuxv1.CreateKeyResponse], error) {
	ctx, storeID, err := s.actingStore(ctx, req.Msg.GetStoreId())
	if err != nil {
		return nil, err
	}
	mode := modeFromPB(req.Msg.GetMode())
	if err := checkKeyMode(ctx, mode); err != nil {
		return nil, err
	}
	in := account.KeyInput{
		StoreID:       storeID,
		Name:          req.Msg.GetName(),
		Mode:          mode,
		ApprovalModel: approvalFromPB(req.Msg.GetApprovalModel()),
		AuthMethod:    authMethodFromPB(req.Msg.GetAuthMethod()),
	}
	if req.Msg.GetExpireTime() != nil {
		in.ExpiresAt = new(req.Msg.GetExpireTime().AsTime())
	}
	created, secret, err := s.accounts.CreateKey(ctx, in)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&paymuxv1.CreateKeyResponse{Key: toKeyPB(created), SecretKey: secret}), nil
}

func (s *keyService) ListKeys(ctx context.Context, req *connect.Request[paymuxv1.ListKeysRequest]) (*connect.Response[paymuxv1.ListKeysResponse], error) {
	ctx, _, err := s.actingStore(ctx, req.Msg.GetStoreId())
	if err != nil {
		return nil, err
	}
	cur, after, err := decodeCursor(req.Msg.GetPageToken())
	if err != nil {
		return nil, err
	}
	q := s.db.APIKey.Query().Where(apikey.DeletedAtIsNil()).Order(ent.Asc(apikey.FieldCreatedAt), ent.Asc(apikey.FieldID))
	if after {
		q = q.Where(apikey.Or(apikey.CreatedAtGT(cur.time()), apikey.And(apikey.CreatedAt(cur.time()), apikey.IDGT(cur.ID))))
	}
	size := pageSize(req.Msg.GetPageSize())
	rows, err := q.Limit(size + 1).All(ctx)
	if err != nil {
		return nil, err
	}
	rows, next := page(rows, size, func(x *ent.APIKey) (time.Time, string) { return x.CreatedAt, x.ID })
	res := &paymuxv1.ListKeysResponse{NextPageToken: next}
	for _, k := range rows {
		res.Keys = append(res.Keys, toKeyPB(k))
	}
	return connect.NewResponse(res), nil
}

// liveKey returns a key of the viewer's store that is not deleted.
func (s *keyService) liveKey(ctx context.Context, id string) (*ent.APIKey, error) {
	k, err := s.db.APIKey.Query().Where(apikey.ID(id), apikey.DeletedAtIsNil()).Only(ctx)
	if ent.IsNotFound(err) {
		return nil, apierr.New(apierr.CodeNotFound, apierr.ReasonKeyNotFound, "key %s not found", id)
	}
	return k, err
}

func (s *keyService) GetKey(ctx context.Context, req *connect.Request[paymuxv1.GetKeyRequest]) (*connect.Response[paymuxv1.GetKeyResponse], error) {
	k, err := s.liveKey(ctx, req.Msg.GetId())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&paymuxv1.GetKeyResponse{Key: toKeyPB(k)}), nil
}

func (s *keyService) ReissueKeySecret(ctx context.Context, req *connect.Request[paymuxv1.ReissueKeySecretRequest]) (*connect.Response[paymuxv1.ReissueKeySecretResponse], error) {
	k, err := s.liveKey(ctx, req.Msg.GetId())
	if err != nil {
		return nil, err
	}
	if err := checkKeyMode(ctx, k.Mode); err != nil {
		return nil, err
	}
	k, secret, err := s.accounts.ReissueKeySecret(ctx, k)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&paymuxv1.ReissueKeySecretResponse{Key: toKeyPB(k), SecretKey: secret}), nil
}

func (s *keyService) DeleteKey(ctx context.Context, req *connect.Request[paymuxv1.DeleteKeyRequest]) (*connect.Response[paymuxv1.DeleteKeyResponse], error) {
	k, err := s.liveKey(ctx, req.Msg.GetId())
	if err != nil {
		return nil, err
	}
	if err := checkKeyMode(ctx, k.Mode); err != nil {
		return nil, err
	}
	if err := s.accounts.DeleteKey(ctx, k); err != nil {
		return nil, err
	}
	return connect.NewResponse(&paymuxv1.DeleteKeyResponse{}), nil
}

func (s *keyService) CreateAccessToken(ctx context.Context, _ *connect.Request[paymuxv1.CreateAccessTokenRequest]) (*connect.Response[paymuxv1.CreateAccessTokenResponse], error) {
	tok, err := s.accounts.IssueAccessToken(ctx, callFrom(ctx).Principal.Key)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&paymuxv1.CreateAccessTokenResponse{
		AccessToken: tok.Token,
		TokenType:   "Bearer",
		ExpireTime:  timestamppb.New(tok.ExpiresAt),
		ExpiresIn:   int32(tok.ExpiresIn.Seconds()),
	}), nil
}

func toKeyPB(k *ent.APIKey) *paymuxv1.Key {
	pb := &paymuxv1.Key{
		Id:              k.ID,
		StoreId:         k.StoreID,
		Name:            k.Name,
		Mode:            modeToPB(k.Mode),
		ApprovalModel:   paymuxv1.ApprovalModel_APPROVAL_MODEL_SERVER,
		AuthMethod:      paymuxv1.AuthMethod_AUTH_METHOD_BASIC,
		ClientKey:       k.ClientKey,
		SecretKeyPrefix: k.SecretPrefix,
		CreateTime:      timestamppb.New(k.CreatedAt),
		SecretIssueTime: timestamppb.New(k.SecretIssuedAt),
		LastUsedIp:      k.LastUsedIP,
	}
	if k.ApprovalModel == apikey.ApprovalModelCLIENT {
		pb.ApprovalModel = paymuxv1.ApprovalModel_APPROVAL_MODEL_CLIENT
	}
	if k.AuthMethod == apikey.AuthMethodBEARER {
		pb.AuthMethod = paymuxv1.AuthMethod_AUTH_METHOD_BEARER
	}
	if k.ExpiresAt != nil {
		pb.ExpireTime = timestamppb.New(*k.ExpiresAt)
	}
	if k.LastUsedAt != nil {
		pb.LastUsedTime = timestamppb.New(*k.LastUsedAt)
	}
	return pb
}

func modeFromPB(m paymuxv1.Mode) apikey.Mode {
	if m == paymuxv1.Mode_MODE_LIVE {
		return apikey.ModeLIVE
	}
	return apikey.ModeTEST
}

func modeToPB(m apikey.Mode) paymuxv1.Mode {
	if m == apikey.ModeLIVE {
		return paymuxv1.Mode_MODE_LIVE
	}
	return paymuxv1.Mode_MODE_TEST
}

func approvalFromPB(a paymuxv1.ApprovalModel) apikey.ApprovalModel {
	if a == paymuxv1.ApprovalModel_APPROVAL_MODEL_CLIENT {
		return apikey.ApprovalModelCLIENT
	}
	return apikey.ApprovalModelSERVER
}

func authMethodFromPB(a paymuxv1.AuthMethod) apikey.AuthMethod {
	if a == paymuxv1.AuthMethod_AUTH_METHOD_BEARER {
		return apikey.AuthMethodBEARER
	}
	return apikey.AuthMethodBASIC
}
