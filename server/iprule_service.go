package server

import (
	"context"
	"fmt"
	"net/netip"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/paymux/paymux/account"
	"github.com/paymux/paymux/apierr"
	"github.com/paymux/paymux/ent"
	entiprule "github.com/paymux/paymux/ent/iprule"
	paymuxv1 "github.com/paymux/paymux/gen/paymux/v1"
	"github.com/paymux/paymux/iprule"
)

type ipRuleService struct{ *Server }

func (s *ipRuleService) CreateIPRule(ctx context.Context, req *connect.Request[paymuxv1.CreateIPRuleRequest]) (*connect.Response[paymuxv1.CreateIPRuleResponse], error) {
	ctx, storeID, err := s.actingStore(ctx, req.Msg.GetStoreId())
	if err != nil {
		return nil, err
	}
	if err := checkRuleChange(ctx); err != nil {
		return nil, err
	}
	created, err := s.accounts.CreateIPRule(ctx, account.IPRuleInput{
		StoreID: storeID, CIDR: req.Msg.GetCidr(), Description: req.Msg.GetDescription(),
	})
	if err != nil {
		return nil, err
	}
	rules, err := s.accounts.RulesOf(ctx, storeID)
	if err != nil {
		return nil, err
	}
	caller := callFrom(ctx).ClientIP
	_, allowed := iprule.Match(rules, caller)
	return connect.NewResponse(&paymuxv1.CreateIPRuleResponse{
		Rule:          toIPRulePB(created),
		CallerIp:      displayIP(caller),
		CallerAllowed: allowed,
	}), nil
}

func (s *ipRuleService) ListIPRules(ctx context.Context, req *connect.Request[paymuxv1.ListIPRulesRequest]) (*connect.Response[paymuxv1.ListIPRulesResponse], error) {
	ctx, _, err := s.actingStore(ctx, req.Msg.GetStoreId())
	if err != nil {
		return nil, err
	}
	cur, after, err := decodeCursor(req.Msg.GetPageToken())
	if err != nil {
		return nil, err
	}
	q := s.db.IPRule.Query().Order(ent.Asc(entiprule.FieldCreatedAt), ent.Asc(entiprule.FieldID))
	if after {
		q = q.Where(entiprule.Or(entiprule.CreatedAtGT(cur.time()),
			entiprule.And(entiprule.CreatedAt(cur.time()), entiprule.IDGT(cur.ID))))
	}
	size := pageSize(req.Msg.GetPageSize())
	rows, err := q.Limit(size + 1).All(ctx)
	if err != nil {
		return nil, err
	}
	rows, next := page(rows, size, func(x *ent.IPRule) (time.Time, string) { return x.CreatedAt, x.ID })
	res := &paymuxv1.ListIPRulesResponse{NextPageToken: next}
	for _, r := range rows {
		res.Rules = append(res.Rules, toIPRulePB(r))
	}
	return connect.NewResponse(res), nil
}

func (s *ipRuleService) DeleteIPRule(ctx context.Context, req *connect.Request[paymuxv1.DeleteIPRuleRequest]) (*connect.Response[paymuxv1.DeleteIPRuleResponse], error) {
	if err := checkRuleChange(ctx); err != nil {
		return nil, err
	}
	if err := s.accounts.DeleteIPRule(ctx, req.Msg.GetId()); err != nil {
		return nil, err
	}
	return connect.NewResponse(&paymuxv1.DeleteIPRuleResponse{}), nil
}

func (s *ipRuleService) TestIPRules(ctx context.Context, req *connect.Request[paymuxv1.TestIPRulesRequest]) (*connect.Response[paymuxv1.TestIPRulesResponse], error) {
	ctx, storeID, err := s.actingStore(ctx, req.Msg.GetStoreId())
	if err != nil {
		return nil, err
	}
	addr := callFrom(ctx).ClientIP
	if req.Msg.GetIp() != "" {
		if addr, err = netip.ParseAddr(req.Msg.GetIp()); err != nil {
			return nil, apierr.InvalidField("ip", "not an IP address")
		}
		addr = addr.Unmap()
	}
	var rules []iprule.Rule
	if cand := req.Msg.GetCandidateRules(); cand != nil {
		for i, c := range cand.GetCidrs() {
			p, err := iprule.ParseCIDR(c)
			if err != nil {
				return nil, apierr.InvalidField(fmt.Sprintf("candidate_rules.cidrs[%d]", i), "%v", err)
			}
			rules = append(rules, iprule.Rule{Prefix: p})
		}
	} else if rules, err = s.accounts.RulesOf(ctx, storeID); err != nil {
		return nil, err
	}
	matched, allowed := iprule.Match(rules, addr)
	res := &paymuxv1.TestIPRulesResponse{Ip: displayIP(addr), Allowed: allowed, RuleCount: int32(len(rules))}
	if matched != nil {
		res.MatchedRule = &paymuxv1.IPRule{Id: matched.ID, StoreId: storeID, Cidr: matched.Prefix.String(), Description: matched.Description}
		if matched.ID == "" {
			res.MatchedRule.StoreId = ""
		}
	}
	return connect.NewResponse(res), nil
}

func toIPRulePB(r *ent.IPRule) *paymuxv1.IPRule {
	return &paymuxv1.IPRule{
		Id:          r.ID,
		StoreId:     r.StoreID,
		Cidr:        r.Cidr,
		Description: r.Description,
		CreateTime:  timestamppb.New(r.CreatedAt),
	}
}
