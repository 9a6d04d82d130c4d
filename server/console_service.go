package server

import (
	"context"
	"net/http"
	"net/netip"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/paymux/paymux/account"
	"github.com/paymux/paymux/clientip"
	"github.com/paymux/paymux/console"
	"github.com/paymux/paymux/ent"
	"github.com/paymux/paymux/ent/store"
	paymuxv1 "github.com/paymux/paymux/gen/paymux/v1"
	"github.com/paymux/paymux/tenant"
)

type consoleService struct{ *Server }

func (s *consoleService) GetConsoleSession(ctx context.Context, _ *connect.Request[paymuxv1.GetConsoleSessionRequest]) (*connect.Response[paymuxv1.GetConsoleSessionResponse], error) {
	p := callFrom(ctx).Principal
	out := &paymuxv1.GetConsoleSessionResponse{PlatformAdmin: p.Admin}
	if p.User == nil { // the admin token
		stores, err := s.db.Store.Query().Order(ent.Asc(store.FieldCreatedAt), ent.Asc(store.FieldID)).All(tenant.System(ctx))
		if err != nil {
			return nil, err
		}
		for _, st := range stores {
			out.Stores = append(out.Stores, &paymuxv1.ConsoleMembership{StoreId: st.ID, StoreName: st.Name, Role: paymuxv1.ConsoleRole_CONSOLE_ROLE_OWNER})
		}
		return connect.NewResponse(out), nil
	}
	sess := callFrom(ctx).ConsoleSession // read by the chain
	stores, err := s.console.Stores(ctx, sess.User)
	if err != nil {
		return nil, err
	}
	out.User = toConsoleUserPB(console.Member{User: sess.User, Memberships: stores})
	out.Stores = out.User.Memberships
	out.IdleExpireTime, out.ExpireTime = timestamppb.New(sess.IdleExpiry), timestamppb.New(sess.Expiry)
	return connect.NewResponse(out), nil
}

// memberStore is the store a member-management call acts on: a member's
// own (Paymux-Store), or the one the administrator names ("" allowed only
// where allEmpty says so: the administrator's list of every user).
func (s *consoleService) memberStore(ctx context.Context, requested string, allowEmpty bool) (string, error) {
	p := callFrom(ctx).Principal
	if p.Admin && allowEmpty && requested == "" && (p.User == nil || p.User.StoreID == "") {
		return "", nil
	}
	_, storeID, err := s.actingStore(ctx, requested)
	return storeID, err
}

func (s *consoleService) ListConsoleUsers(ctx context.Context, req *connect.Request[paymuxv1.ListConsoleUsersRequest]) (*connect.Response[paymuxv1.ListConsoleUsersResponse], error) {
	storeID, err := s.memberStore(ctx, req.Msg.GetStoreId(), true)
	if err != nil {
		return nil, err
	}
	members, err := s.console.Members(ctx, storeID)
	if err != nil {
		return nil, err
	}
	out := &paymuxv1.ListConsoleUsersResponse{}
	for _, m := range members {
		out.Users = append(out.Users, toConsoleUserPB(m))
	}
	return connect.NewResponse(out), nil
}

func (s *consoleService) InviteConsoleUser(ctx context.Context, req *connect.Request[paymuxv1.InviteConsoleUserRequest]) (*connect.Response[paymuxv1.InviteConsoleUserResponse], error) {
	storeID, err := s.memberStore(ctx, req.Msg.GetStoreId(), false)
	if err != nil {
		return nil, err
	}
	inv, err := s.console.Invite(ctx, storeID, req.Msg.GetEmail(), roleOf[req.Msg.GetRole()])
	if err != nil {
		return nil, err
	}
	out := &paymuxv1.InviteConsoleUserResponse{User: toConsoleUserPB(inv.Member)}
	if inv.SetupToken != "" {
		out.SetupUrl = s.cfg.BaseURL() + console.SetupPath + inv.SetupToken
		out.SetupExpireTime = timestamppb.New(inv.Expires)
	}
	return connect.NewResponse(out), nil
}

func (s *consoleService) UpdateConsoleMember(ctx context.Context, req *connect.Request[paymuxv1.UpdateConsoleMemberRequest]) (*connect.Response[paymuxv1.UpdateConsoleMemberResponse], error) {
	storeID, err := s.memberStore(ctx, req.Msg.GetStoreId(), false)
	if err != nil {
		return nil, err
	}
	m, err := s.console.SetRole(ctx, storeID, req.Msg.GetUserId(), roleOf[req.Msg.GetRole()])
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&paymuxv1.UpdateConsoleMemberResponse{User: toConsoleUserPB(m)}), nil
}

func (s *consoleService) RemoveConsoleMember(ctx context.Context, req *connect.Request[paymuxv1.RemoveConsoleMemberRequest]) (*connect.Response[paymuxv1.RemoveConsoleMemberResponse], error) {
	storeID, err := s.memberStore(ctx, req.Msg.GetStoreId(), false)
	if err != nil {
		return nil, err
	}
	if err := s.console.Remove(ctx, storeID, req.Msg.GetUserId()); err != nil {
		return nil, err
	}
	return connect.NewResponse(&paymuxv1.RemoveConsoleMemberResponse{}), nil
}

// rolePB is a role as the API names it.
func rolePB(r account.Role) paymuxv1.ConsoleRole {
	for pb, role := range roleOf {
		if role == r {
			return pb
		}
	}
	return paymuxv1.ConsoleRole_CONSOLE_ROLE_UNSPECIFIED
}

func toConsoleUserPB(m console.Member) *paymuxv1.ConsoleUser {
	u := m.User
	out := &paymuxv1.ConsoleUser{
		Id: u.ID, Email: u.Email, PlatformAdmin: u.PlatformAdmin, Active: u.PasswordHash != "",
		CreateTime: timestamppb.New(u.CreatedAt),
	}
	if u.LockedUntil != nil {
		out.LockedUntil = timestamppb.New(*u.LockedUntil)
	}
	if u.LastSignInAt != nil {
		out.LastSignInTime = timestamppb.New(*u.LastSignInAt)
	}
	for _, ms := range m.Memberships {
		out.Memberships = append(out.Memberships, &paymuxv1.ConsoleMembership{StoreId: ms.StoreID, StoreName: ms.StoreName, Role: rolePB(ms.Role)})
	}
	return out
}

// requestIP is the address paymux believes a plain HTTP request comes from
// (X-Forwarded-For only from trusted proxies).
func (s *Server) requestIP(r *http.Request) netip.Addr {
	peer, _ := clientip.ParsePeer(r.RemoteAddr)
	return s.resolver.Resolve(peer, r.Header.Values("X-Forwarded-For"), false)
}
