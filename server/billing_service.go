package server

import (
	"context"
	"strings"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/paymux/paymux/billing"
	"github.com/paymux/paymux/ent"
	"github.com/paymux/paymux/ent/billingkey"
	paymuxv1 "github.com/paymux/paymux/gen/paymux/v1"
	paymentsvc "github.com/paymux/paymux/payment"
)

// billingService serves BillingService: each handler maps the request to
// billing.Service's input and its result back to proto; lists read
// through ent.
type billingService struct{ *Server }

// keyInputOf is what every new billing key's request names.
func keyInputOf(storeID, name, channelID string, customer *paymuxv1.Customer) billing.KeyInput {
	return billing.KeyInput{StoreID: storeID, Name: name, ChannelID: channelID, Customer: buyerOf(customer)}
}

func (s *billingService) IssueBillingKey(ctx context.Context, req *connect.Request[paymuxv1.IssueBillingKeyRequest]) (*connect.Response[paymuxv1.IssueBillingKeyResponse], error) {
	m := req.Msg
	ctx, storeID, err := s.actingStore(ctx, m.GetStoreId())
	if err != nil {
		return nil, err
	}
	k, err := s.billing.IssueBillingKey(ctx, billing.IssueInput{
		KeyInput: keyInputOf(storeID, m.GetId(), m.GetChannelId(), m.GetCustomer()),
		Card:     cardDataOf(m.GetCard()),
	})
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&paymuxv1.IssueBillingKeyResponse{BillingKey: toBillingKeyPB(k, 0)}), nil
}

func (s *billingService) GetBillingKey(ctx context.Context, req *connect.Request[paymuxv1.GetBillingKeyRequest]) (*connect.Response[paymuxv1.GetBillingKeyResponse], error) {
	k, pending, err := s.billing.Get(ctx, req.Msg.GetId())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&paymuxv1.GetBillingKeyResponse{BillingKey: toBillingKeyPB(k, pending)}), nil
}

func (s *billingService) ListBillingKeys(ctx context.Context, req *connect.Request[paymuxv1.ListBillingKeysRequest]) (*connect.Response[paymuxv1.ListBillingKeysResponse], error) {
	m := req.Msg
	ctx, _, err := s.actingStore(ctx, m.GetStoreId())
	if err != nil {
		return nil, err
	}
	cur, after, err := decodeCursor(m.GetPageToken())
	if err != nil {
		return nil, err
	}
	q := s.db.BillingKey.Query().Where(billing.VisibleBillingKeys(ctx)...).
		Order(ent.Desc(billingkey.FieldCreatedAt), ent.Desc(billingkey.FieldID))
	if len(m.GetStatuses()) > 0 {
		var in []billingkey.Status
		for _, st := range m.GetStatuses() {
			in = append(in, billingkey.Status(strings.TrimPrefix(st.String(), "BILLING_KEY_STATUS_")))
		}
		q = q.Where(billingkey.StatusIn(in...))
	}
	if id := m.GetChannelId(); id != "" {
		q = q.Where(billingkey.ChannelID(id))
	}
	if t := m.GetQuery(); t != "" {
		q = q.Where(billingkey.Or(billingkey.NameContainsFold(t), billingkey.CustomerNameContainsFold(t),
			billingkey.CustomerEmailContainsFold(t), billingkey.CustomerPhoneContainsFold(t)))
	}
	if t := m.GetStartTime(); t != nil {
		q = q.Where(billingkey.CreatedAtGTE(t.AsTime()))
	}
	if t := m.GetEndTime(); t != nil {
		q = q.Where(billingkey.CreatedAtLT(t.AsTime()))
	}
	if after {
		q = q.Where(billingkey.Or(billingkey.CreatedAtLT(cur.time()),
			billingkey.And(billingkey.CreatedAt(cur.time()), billingkey.IDLT(cur.ID))))
	}
	size := pageSize(m.GetPageSize())
	rows, err := q.Limit(size + 1).All(ctx)
	if err != nil {
		return nil, err
	}
	rows, next := page(rows, size, func(k *ent.BillingKey) (time.Time, string) { return k.CreatedAt, k.ID })
	ids := make([]string, len(rows))
	for i, k := range rows {
		ids[i] = k.ID
	}
	pending, err := s.billing.PendingSchedules(ctx, ids...)
	if err != nil {
		return nil, err
	}
	res := &paymuxv1.ListBillingKeysResponse{NextPageToken: next}
	for _, k := range rows {
		res.BillingKeys = append(res.BillingKeys, toBillingKeyPB(k, pending[k.ID]))
	}
	return connect.NewResponse(res), nil
}

func (s *billingService) DeleteBillingKey(ctx context.Context, req *connect.Request[paymuxv1.DeleteBillingKeyRequest]) (*connect.Response[paymuxv1.DeleteBillingKeyResponse], error) {
	m := req.Msg
	k, revoked, err := s.billing.Delete(ctx, billing.DeleteInput{Ref: m.GetId(), RevokeSchedules: m.GetRevokeSchedules(), Reason: m.GetReason()})
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&paymuxv1.DeleteBillingKeyResponse{BillingKey: toBillingKeyPB(k, 0), RevokedScheduleIds: revoked}), nil
}

func (s *billingService) ChargeBillingKey(ctx context.Context, req *connect.Request[paymuxv1.ChargeBillingKeyRequest]) (*connect.Response[paymuxv1.ChargeBillingKeyResponse], error) {
	m := req.Msg
	in := billing.ChargeInput{
		BillingKey:        m.GetId(),
		MerchantPaymentID: m.GetMerchantPaymentId(),
		OrderName:         m.GetOrderName(),
		Amount:            amountOf(m.GetAmount()),
		InstallmentMonths: int(m.GetInstallmentMonths()),
	}
	if c := m.GetCustomer(); c != nil {
		buyer := buyerOf(c)
		in.Customer = &buyer
	}
	p, err := s.billing.ChargeNow(ctx, in)
	if err != nil {
		return nil, err
	}
	full, err := s.newPaymentPB(ctx, p)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&paymuxv1.ChargeBillingKeyResponse{Payment: full}), nil
}

// amountOf is a requested amount as the domain takes it.
func amountOf(a *paymuxv1.Amount) paymentsvc.Amount {
	return paymentsvc.Amount{Total: a.GetTotal(), TaxFree: a.GetTaxFree(), VAT: a.Vat}
}

func toBillingKeyPB(k *ent.BillingKey, pending int) *paymuxv1.BillingKey {
	out := &paymuxv1.BillingKey{
		Id:               k.Name,
		StoreId:          k.StoreID,
		ChannelId:        k.ChannelID,
		Provider:         providerPB(k.Provider),
		Mode:             modePB(string(k.Mode)),
		Status:           paymuxv1.BillingKeyStatus(paymuxv1.BillingKeyStatus_value["BILLING_KEY_STATUS_"+string(k.Status)]),
		Card:             cardPB(k.Card),
		CreateTime:       timestamppb.New(k.CreatedAt),
		PendingSchedules: int32(pending),
	}
	if k.CustomerName != "" || k.CustomerEmail != "" || k.CustomerPhone != "" {
		out.Customer = &paymuxv1.Customer{Name: k.CustomerName, Email: k.CustomerEmail, Phone: k.CustomerPhone}
	}
	if k.DeletedAt != nil {
		out.DeleteTime = timestamppb.New(*k.DeletedAt)
	}
	return out
}
