package server

import (
	"context"
	"strings"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/paymux/paymux/apierr"
	"github.com/paymux/paymux/database"
	"github.com/paymux/paymux/ent"
	"github.com/paymux/paymux/ent/apikey"
	"github.com/paymux/paymux/ent/store"
	paymuxv1 "github.com/paymux/paymux/gen/paymux/v1"
	"github.com/paymux/paymux/secrets"
	"github.com/paymux/paymux/tenant"
)

// maxKeysPerStore: a store may hold this many key pairs, enough to roll a
// key over while the old one is still in use.
const maxKeysPerStore = 5

type keyService struct{ *Server }

// newKeyPair returns a client key, a secret key and the secret's shown
// prefix, marked with the mode so a live key is recognisable at a glance.
func newKeyPair(mode apikey.Mode) (clientKey, secret string) {
	m := "test_"
	if mode == apikey.ModeLIVE {
		m = "live_"
	}
	return clientKeyPrefix + m + secrets.RandomString(clientKeyRandomLen), secretKeyPrefix + m + secrets.RandomString(40)
}

func newSecret(mode apikey.Mode) string { _, s := newKeyPair(mode); return s }

const clientKeyRandomLen = 24

// isClientKey reports whether s has the shape newKeyPair gives client keys,
// so that made-up keys are refused without a database look-up.
func isClientKey(s string) bool {
	rest, ok := strings.CutPrefix(s, clientKeyPrefix)
	if !ok {
		return false
	}
	if rest, ok = strings.CutPrefix(rest, "test_"); !ok {
		if rest, ok = strings.CutPrefix(rest, "live_"); !ok {
			return false
		}
	}
	if len(rest) != clientKeyRandomLen {
		return false
	}
	for i := 0; i < len(rest); i++ {
		c := rest[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
			return false
		}
	}
	return true
}

// secretPrefix is what a list shows of a secret: enough to tell keys apart.
func secretPrefix(secret string) string { return secret[:len(secretKeyPrefix)+len("test_")+4] }

func (s *keyService) CreateKey(ctx context.Context, req *connect.Request[paymuxv1.CreateKeyRequest]) (*connect.Response[paymuxv1.CreateKeyResponse], error) {
	ctx, storeID, err := s.actingStore(ctx, req.Msg.GetStoreId())
	if err != nil {
		return nil, err
	}
	mode := modeFromPB(req.Msg.GetMode())
	if err := checkKeyMode(ctx, mode); err != nil {
		return nil, err
	}
	clientKey, secret := newKeyPair(mode)
	now := s.now().UTC().Truncate(time.Microsecond)
	var created *ent.APIKey
	err = database.InTx(ctx, s.db, func(tx *ent.Tx) error {
		// The count is raised only while below the limit, in the same
		// transaction as the insert: concurrent creates cannot pass it.
		// A store key may not change its store row otherwise, hence System.
		n, err := tx.Store.Update().
			Where(store.ID(storeID), store.KeyCountLT(maxKeysPerStore)).
			AddKeyCount(1).
			Save(tenant.System(ctx))
		if err != nil {
			return err
		}
		if n == 0 {
			return apierr.New(apierr.CodeFailedPrecondition, apierr.ReasonKeyLimitExceeded,
				"store %s already has %d keys: delete one first", storeID, maxKeysPerStore)
		}
		create := tx.APIKey.Create().
			SetStoreID(storeID).
			SetName(req.Msg.GetName()).
			SetMode(mode).
			SetApprovalModel(approvalFromPB(req.Msg.GetApprovalModel())).
			SetAuthMethod(authMethodFromPB(req.Msg.GetAuthMethod())).
			SetClientKey(clientKey).
			SetSecretHash(s.keyring.HashSecret(secret)).
			SetSecretPrefix(secretPrefix(secret)).
			SetSecretIssuedAt(now)
		if req.Msg.GetExpireTime() != nil {
			create.SetExpiresAt(req.Msg.GetExpireTime().AsTime().UTC().Truncate(time.Microsecond)) // what PostgreSQL keeps
		}
		created, err = create.Save(ctx)
		return err
	})
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
	secret := newSecret(k.Mode)
	// Conditional on the version read: of two concurrent reissues one wins,
	// the other is told to retry instead of handing out a dead secret.
	n, err := s.db.APIKey.Update().
		Where(apikey.ID(k.ID), apikey.SecretVersion(k.SecretVersion), apikey.DeletedAtIsNil()).
		SetPreviousSecretHash(k.SecretHash).
		SetSecretHash(s.keyring.HashSecret(secret)).
		SetSecretPrefix(secretPrefix(secret)).
		SetSecretVersion(k.SecretVersion + 1).
		SetSecretIssuedAt(s.now().UTC().Truncate(time.Microsecond)).
		ClearTokenExpiresAt().
		Save(ctx)
	if err != nil {
		return nil, err
	}
	s.cache.forgetKey(k.ID, k.ClientKey)
	if n == 0 {
		return nil, apierr.New(apierr.CodeAborted, apierr.ReasonConflict, "key %s changed meanwhile; retry", k.ID)
	}
	k, err = s.db.APIKey.Get(ctx, k.ID)
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
	err = database.InTx(ctx, s.db, func(tx *ent.Tx) error {
		// The row stays as a tombstone without its hashes, so a call with
		// the deleted key is told so.
		n, err := tx.APIKey.Update().
			Where(apikey.ID(k.ID), apikey.DeletedAtIsNil()).
			SetDeletedAt(s.now().UTC().Truncate(time.Microsecond)).
			SetSecretHash([]byte{}).
			ClearPreviousSecretHash().
			ClearTokenExpiresAt().
			Save(ctx)
		if err != nil || n == 0 {
			return err // n == 0: deleted meanwhile, nothing more to do
		}
		return tx.Store.UpdateOneID(k.StoreID).AddKeyCount(-1).Exec(tenant.System(ctx))
	})
	s.cache.forgetKey(k.ID, k.ClientKey)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&paymuxv1.DeleteKeyResponse{}), nil
}

func (s *keyService) CreateAccessToken(ctx context.Context, _ *connect.Request[paymuxv1.CreateAccessTokenRequest]) (*connect.Response[paymuxv1.CreateAccessTokenResponse], error) {
	rec := callFrom(ctx).Principal.Key
	now := s.now().UTC()
	expiry := now.Add(accessTokenTTL).Truncate(time.Second)
	// Start a new token only if there is none valid; otherwise hand back
	// the one in force (same expiry, so the same token).
	_, err := s.db.APIKey.Update().
		Where(apikey.ID(rec.ID), apikey.SecretVersion(rec.SecretVersion), apikey.DeletedAtIsNil(),
			apikey.Or(apikey.TokenExpiresAtIsNil(), apikey.TokenExpiresAtLTE(now))).
		SetTokenExpiresAt(expiry).
		Save(ctx)
	if err != nil {
		return nil, err
	}
	k, err := s.db.APIKey.Get(ctx, rec.ID)
	if err != nil {
		return nil, err
	}
	if k.DeletedAt != nil {
		return nil, apierr.New(apierr.CodeUnauthenticated, apierr.ReasonKeyDeleted, "key %s was deleted", k.ID)
	}
	if k.TokenExpiresAt == nil || k.SecretVersion != rec.SecretVersion {
		return nil, apierr.New(apierr.CodeAborted, apierr.ReasonConflict, "key %s changed meanwhile; retry", rec.ID)
	}
	expiry = k.TokenExpiresAt.UTC()
	token, err := mintAccessToken(s.keyring, k.ID, k.SecretVersion, expiry)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&paymuxv1.CreateAccessTokenResponse{
		AccessToken: token,
		TokenType:   "Bearer",
		ExpireTime:  timestamppb.New(expiry),
		ExpiresIn:   int32(expiry.Sub(now).Seconds()),
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
