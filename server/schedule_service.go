package server

import (
	"context"
	"strings"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/paymux/paymux/billing"
	"github.com/paymux/paymux/ent"
	"github.com/paymux/paymux/ent/schedule"
	paymuxv1 "github.com/paymux/paymux/gen/paymux/v1"
)

func (s *billingService) CreateSchedules(ctx context.Context, req *connect.Request[paymuxv1.CreateSchedulesRequest]) (*connect.Response[paymuxv1.CreateSchedulesResponse], error) {
	m := req.Msg
	var in []billing.ScheduleInput
	for _, x := range m.GetSchedules() {
		si := billing.ScheduleInput{
			MerchantPaymentID: x.GetMerchantPaymentId(),
			OrderName:         x.GetOrderName(),
			Amount:            amountOf(x.GetAmount()),
			InstallmentMonths: int(x.GetInstallmentMonths()),
			Customer:          buyerOf(x.GetCustomer()),
			PayAt:             x.GetPayTime().AsTime(),
		}
		if rp := x.GetRetryPolicy(); rp != nil {
			si.Retry = &billing.RetryPolicy{Interval: rp.GetInterval().AsDuration(), MaxRetries: int(rp.GetMaxRetries())}
		}
		in = append(in, si)
	}
	rows, err := s.billing.CreateSchedules(ctx, m.GetBillingKeyId(), in)
	if err != nil {
		return nil, err
	}
	res := &paymuxv1.CreateSchedulesResponse{}
	for _, r := range rows {
		res.Schedules = append(res.Schedules, toSchedulePB(r))
	}
	return connect.NewResponse(res), nil
}

func (s *billingService) GetSchedule(ctx context.Context, req *connect.Request[paymuxv1.GetScheduleRequest]) (*connect.Response[paymuxv1.GetScheduleResponse], error) {
	r, err := s.billing.Schedule(ctx, req.Msg.GetId())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&paymuxv1.GetScheduleResponse{Schedule: toSchedulePB(r)}), nil
}

func (s *billingService) ListSchedules(ctx context.Context, req *connect.Request[paymuxv1.ListSchedulesRequest]) (*connect.Response[paymuxv1.ListSchedulesResponse], error) {
	m := req.Msg
	ctx, _, err := s.actingStore(ctx, m.GetStoreId())
	if err != nil {
		return nil, err
	}
	cur, after, err := decodeCursor(m.GetPageToken())
	if err != nil {
		return nil, err
	}
	q := s.db.Schedule.Query().Where(billing.VisibleSchedules(ctx)...).
		Order(ent.Asc(schedule.FieldPayAt), ent.Asc(schedule.FieldID))
	if ref := m.GetBillingKeyId(); ref != "" {
		k, err := s.billing.BillingKey(ctx, ref)
		if err != nil {
			return nil, err
		}
		q = q.Where(schedule.BillingKeyID(k.ID))
	}
	if len(m.GetStatuses()) > 0 {
		var in []schedule.Status
		for _, st := range m.GetStatuses() {
			in = append(in, schedule.Status(strings.TrimPrefix(st.String(), "SCHEDULE_STATUS_")))
		}
		q = q.Where(schedule.StatusIn(in...))
	}
	if t := m.GetStartTime(); t != nil {
		q = q.Where(schedule.PayAtGTE(t.AsTime()))
	}
	if t := m.GetEndTime(); t != nil {
		q = q.Where(schedule.PayAtLT(t.AsTime()))
	}
	if after {
		q = q.Where(schedule.Or(schedule.PayAtGT(cur.time()),
			schedule.And(schedule.PayAt(cur.time()), schedule.IDGT(cur.ID))))
	}
	size := pageSize(m.GetPageSize())
	rows, err := q.Limit(size + 1).All(ctx)
	if err != nil {
		return nil, err
	}
	rows, next := page(rows, size, func(r *ent.Schedule) (time.Time, string) { return r.PayAt, r.ID })
	res := &paymuxv1.ListSchedulesResponse{NextPageToken: next}
	for _, r := range rows {
		res.Schedules = append(res.Schedules, toSchedulePB(r))
	}
	return connect.NewResponse(res), nil
}

func (s *billingService) RevokeSchedules(ctx context.Context, req *connect.Request[paymuxv1.RevokeSchedulesRequest]) (*connect.Response[paymuxv1.RevokeSchedulesResponse], error) {
	m := req.Msg
	revoked, rest, err := s.billing.Revoke(ctx, billing.RevokeInput{
		BillingKey: m.GetBillingKeyId(), ScheduleIDs: m.GetScheduleIds().GetIds(), Reason: m.GetReason(),
	})
	if err != nil {
		return nil, err
	}
	res := &paymuxv1.RevokeSchedulesResponse{}
	for _, r := range revoked {
		res.Revoked = append(res.Revoked, toSchedulePB(r))
	}
	for _, r := range rest {
		res.NotRevoked = append(res.NotRevoked, toSchedulePB(r))
	}
	return connect.NewResponse(res), nil
}

func (s *billingService) Reschedule(ctx context.Context, req *connect.Request[paymuxv1.RescheduleRequest]) (*connect.Response[paymuxv1.RescheduleResponse], error) {
	m := req.Msg
	in := billing.RescheduleInput{ID: m.GetId(), PayAt: m.GetPayTime().AsTime()}
	if a := m.GetAmount(); a != nil {
		amount := amountOf(a)
		in.Amount = &amount
	}
	r, err := s.billing.Reschedule(ctx, in)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&paymuxv1.RescheduleResponse{Schedule: toSchedulePB(r)}), nil
}

func toSchedulePB(r *ent.Schedule) *paymuxv1.Schedule {
	out := &paymuxv1.Schedule{
		Id:                r.ID,
		StoreId:           r.StoreID,
		BillingKeyId:      r.BillingKeyName,
		Mode:              modePB(string(r.Mode)),
		Status:            paymuxv1.ScheduleStatus(paymuxv1.ScheduleStatus_value["SCHEDULE_STATUS_"+string(r.Status)]),
		MerchantPaymentId: r.MerchantPaymentID,
		OrderName:         r.OrderName,
		Amount:            &paymuxv1.Amount{Total: r.Total, TaxFree: r.TaxFree, Vat: &r.Vat},
		InstallmentMonths: int32(r.InstallmentMonths),
		PayTime:           timestamppb.New(r.PayAt),
		RetryNumber:       int32(r.RetryNumber),
		RetryOf:           r.RetryOf,
		PaymentId:         r.PaymentID,
		StartTime:         optTime(r.StartedAt),
		EndTime:           optTime(r.EndedAt),
		RevokeTime:        optTime(r.RevokedAt),
		Failure:           failurePB(r.Failure),
		CreateTime:        timestamppb.New(r.CreatedAt),
		UpdateTime:        timestamppb.New(r.UpdatedAt),
	}
	if r.CustomerName != "" || r.CustomerEmail != "" || r.CustomerPhone != "" {
		out.Customer = &paymuxv1.Customer{Name: r.CustomerName, Email: r.CustomerEmail, Phone: r.CustomerPhone}
	}
	if r.MaxRetries > 0 {
		out.RetryPolicy = &paymuxv1.RetryPolicy{
			Interval: durationpb.New(time.Duration(r.RetryIntervalSeconds) * time.Second), MaxRetries: int32(r.MaxRetries),
		}
	}
	return out
}
