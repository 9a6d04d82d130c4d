package server

import (
	"context"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/paymux/paymux/account"
	"github.com/paymux/paymux/apierr"
	"github.com/paymux/paymux/ent"
	"github.com/paymux/paymux/ent/store"
	paymuxv1 "github.com/paymux/paymux/gen/paymux/v1"
)

type storeService struct{ *Server }

func (s *storeService) CreateStore(ctx context.Context, req *connect.Request[paymuxv1.CreateStoreRequest]) (*connect.Response[paymuxv1.CreateStoreResponse], error) {
	st, err := s.accounts.CreateStore(ctx, account.StoreInput{Name: req.Msg.GetName(), ContactEmail: req.Msg.GetContactEmail()})
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&paymuxv1.CreateStoreResponse{Store: toStorePB(st)}), nil
}

func (s *storeService) ListStores(ctx context.Context, req *connect.Request[paymuxv1.ListStoresRequest]) (*connect.Response[paymuxv1.ListStoresResponse], error) {
	cur, after, err := decodeCursor(req.Msg.GetPageToken())
	if err != nil {
		return nil, err
	}
	q := s.db.Store.Query().Order(ent.Desc(store.FieldCreatedAt), ent.Desc(store.FieldID))
	if after {
		q = q.Where(store.Or(store.CreatedAtLT(cur.time()), store.And(store.CreatedAt(cur.time()), store.IDLT(cur.ID))))
	}
	size := pageSize(req.Msg.GetPageSize())
	rows, err := q.Limit(size + 1).All(ctx)
	if err != nil {
		return nil, err
	}
	rows, next := page(rows, size, func(x *ent.Store) (time.Time, string) { return x.CreatedAt, x.ID })
	res := &paymuxv1.ListStoresResponse{NextPageToken: next}
	for _, st := range rows {
		res.Stores = append(res.Stores, toStorePB(st))
	}
	return connect.NewResponse(res), nil
}

func (s *storeService) GetStore(ctx context.Context, req *connect.Request[paymuxv1.GetStoreRequest]) (*connect.Response[paymuxv1.GetStoreResponse], error) {
	// The privacy policy hides every other store from a store key.
	st, err := s.db.Store.Get(ctx, req.Msg.GetId())
	if ent.IsNotFound(err) {
		return nil, apierr.New(apierr.CodeNotFound, apierr.ReasonStoreNotFound, "store %s not found", req.Msg.GetId())
	}
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&paymuxv1.GetStoreResponse{Store: toStorePB(st)}), nil
}

func (s *storeService) UpdateStore(ctx context.Context, req *connect.Request[paymuxv1.UpdateStoreRequest]) (*connect.Response[paymuxv1.UpdateStoreResponse], error) {
	in := req.Msg.GetStore()
	if in.GetId() == "" {
		return nil, apierr.InvalidField("store.id", "required")
	}
	paths := req.Msg.GetUpdateMask().GetPaths()
	if len(paths) == 0 {
		return nil, apierr.InvalidField("update_mask", "name at least one field to change: name, contact_email, state")
	}
	var upd account.StoreUpdate
	for _, path := range paths {
		switch path {
		case "name":
			if in.GetName() == "" {
				return nil, apierr.InvalidField("store.name", "cannot be empty")
			}
			upd.Name = new(in.GetName())
		case "contact_email":
			upd.ContactEmail = new(in.GetContactEmail())
		case "state":
			switch in.GetState() {
			case paymuxv1.StoreState_STORE_STATE_ACTIVE:
				upd.State = new(store.StateACTIVE)
			case paymuxv1.StoreState_STORE_STATE_SUSPENDED:
				upd.State = new(store.StateSUSPENDED)
			default:
				return nil, apierr.InvalidField("store.state", "must be STORE_STATE_ACTIVE or STORE_STATE_SUSPENDED")
			}
		default:
			return nil, apierr.InvalidField("update_mask", "cannot update %q: only name, contact_email and state", path)
		}
	}
	st, err := s.accounts.UpdateStore(ctx, in.GetId(), upd)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&paymuxv1.UpdateStoreResponse{Store: toStorePB(st)}), nil
}

func toStorePB(st *ent.Store) *paymuxv1.Store {
	state := paymuxv1.StoreState_STORE_STATE_ACTIVE
	if st.State == store.StateSUSPENDED {
		state = paymuxv1.StoreState_STORE_STATE_SUSPENDED
	}
	return &paymuxv1.Store{
		Id:           st.ID,
		Name:         st.Name,
		ContactEmail: st.ContactEmail,
		State:        state,
		CreateTime:   timestamppb.New(st.CreatedAt),
		UpdateTime:   timestamppb.New(st.UpdatedAt),
	}
}
