package server

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	paymentsvc "github.com/paymux/paymux/payment"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/paymux/paymux/apierr"
	"github.com/paymux/paymux/database"
	"github.com/paymux/paymux/ent"
	"github.com/paymux/paymux/ent/payment"
	"github.com/paymux/paymux/ent/predicate"
	"github.com/paymux/paymux/ent/schedule"
	"github.com/paymux/paymux/ent/schema/details"
	paymuxv1 "github.com/paymux/paymux/gen/paymux/v1"
	"github.com/paymux/paymux/money"
	"github.com/paymux/paymux/secrets"
)

// schedulePastGrace is how far in the past a new schedule's pay time may
// be (a clock a little behind the server's): it runs at once.
const schedulePastGrace = 5 * time.Minute

func (s *billingService) CreateSchedules(ctx context.Context, req *connect.Request[paymuxv1.CreateSchedulesRequest]) (*connect.Response[paymuxv1.CreateSchedulesResponse], error) {
	m := req.Msg
	k, err := s.loadBillingKey(ctx, m.GetBillingKeyId())
	if err != nil {
		return nil, err
	}
	if err := activeBillingKey(k); err != nil {
		return nil, err
	}
	now := s.clock()
	var creates []*ent.ScheduleCreate
	var mids []string
	seen := map[string]bool{}
	for i, in := range m.GetSchedules() {
		field := func(name string) string { return fmt.Sprintf("schedules[%d].%s", i, name) }
		amounts, err := money.NewAmounts(in.GetAmount().GetTotal(), in.GetAmount().GetTaxFree(), in.GetAmount().Vat)
		if err != nil {
			return nil, apierr.InvalidField(field("amount"), "%v", err)
		}
		if err := money.CheckInstallment(in.GetInstallmentMonths(), amounts.Total); err != nil {
			return nil, paymentsvc.MoneyError(err, field("installment_months"))
		}
		payAt := in.GetPayTime().AsTime().UTC().Truncate(time.Microsecond)
		if payAt.Before(now.Add(-schedulePastGrace)) {
			return nil, apierr.InvalidField(field("pay_time"), "%s is in the past", payAt.Format(time.RFC3339))
		}
		mid := in.GetMerchantPaymentId()
		if seen[mid] {
			return nil, apierr.InvalidField(field("merchant_payment_id"), "%q is given twice", mid)
		}
		seen[mid] = true
		mids = append(mids, mid)
		c := s.db.Schedule.Create().
			SetID(secrets.NewID("sch")).
			SetStoreID(k.StoreID).
			SetBillingKeyID(k.ID).
			SetBillingKeyName(k.Name).
			SetChannelID(k.ChannelID).
			SetMode(schedule.Mode(k.Mode)).
			SetStatus(schedule.StatusSCHEDULED).
			SetMerchantPaymentID(mid).
			SetOrderName(in.GetOrderName()).
			SetTotal(amounts.Total).
			SetTaxFree(amounts.TaxFree).
			SetVat(amounts.VAT).
			SetInstallmentMonths(int(in.GetInstallmentMonths())).
			SetCustomerName(cmp.Or(in.GetCustomer().GetName(), k.CustomerName)).
			SetCustomerEmail(cmp.Or(in.GetCustomer().GetEmail(), k.CustomerEmail)).
			SetCustomerPhone(cmp.Or(in.GetCustomer().GetPhone(), k.CustomerPhone)).
			SetPayAt(payAt).
			SetKeyID(keyIDOf(callFrom(ctx).Principal)).
			SetCreatedAt(now).
			SetUpdatedAt(now)
		if rp := in.GetRetryPolicy(); rp != nil {
			c.SetRetryIntervalSeconds(int64(rp.GetInterval().AsDuration() / time.Second)).SetMaxRetries(int(rp.GetMaxRetries()))
		}
		creates = append(creates, c)
	}
	var rows []*ent.Schedule
	err = database.InTx(ctx, s.db, func(tx *ent.Tx) error {
		// A merchant payment id names one payment: not one made already,
		// nor one another schedule will make.
		taken, err := tx.Payment.Query().Where(payment.MerchantPaymentIDIn(mids...)).
			Select(payment.FieldMerchantPaymentID).Strings(ctx)
		if err != nil {
			return err
		}
		more, err := tx.Schedule.Query().Where(schedule.MerchantPaymentIDIn(mids...)).
			Select(schedule.FieldMerchantPaymentID).Strings(ctx)
		if err != nil {
			return err
		}
		if taken = append(taken, more...); len(taken) > 0 {
			return apierr.WithMetadata(apierr.CodeAlreadyExists, reasonScheduleExists, map[string]string{"merchant_payment_id": taken[0]},
				"merchant payment id %q is taken by a payment or a schedule", taken[0])
		}
		rows, err = tx.Schedule.CreateBulk(creates...).Save(ctx)
		return err
	})
	if ent.IsConstraintError(err) {
		return nil, apierr.New(apierr.CodeAlreadyExists, reasonScheduleExists, "a merchant payment id is taken by a schedule created meanwhile")
	}
	if err != nil {
		return nil, err
	}
	s.schedules.wake()
	res := &paymuxv1.CreateSchedulesResponse{}
	for _, r := range rows {
		res.Schedules = append(res.Schedules, toSchedulePB(r))
	}
	return connect.NewResponse(res), nil
}

func (s *Server) loadSchedule(ctx context.Context, id string) (*ent.Schedule, error) {
	r, err := s.db.Schedule.Query().Where(append(visibleSchedules(ctx), schedule.ID(id))...).Only(ctx)
	if ent.IsNotFound(err) {
		return nil, apierr.New(apierr.CodeNotFound, reasonScheduleNotFound, "schedule %s not found", id)
	}
	return r, err
}

func (s *billingService) GetSchedule(ctx context.Context, req *connect.Request[paymuxv1.GetScheduleRequest]) (*connect.Response[paymuxv1.GetScheduleResponse], error) {
	r, err := s.loadSchedule(ctx, req.Msg.GetId())
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
	q := s.db.Schedule.Query().Where(visibleSchedules(ctx)...).
		Order(ent.Asc(schedule.FieldPayAt), ent.Asc(schedule.FieldID))
	if ref := m.GetBillingKeyId(); ref != "" {
		k, err := s.loadBillingKey(ctx, ref)
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
	var where predicate.Schedule
	var ids []string
	if ref := m.GetBillingKeyId(); ref != "" {
		k, err := s.loadBillingKey(ctx, ref)
		if err != nil {
			return nil, err
		}
		where = schedule.BillingKeyID(k.ID)
	} else {
		ids = m.GetScheduleIds().GetIds()
		found, err := s.db.Schedule.Query().Where(append(visibleSchedules(ctx), schedule.IDIn(ids...))...).IDs(ctx)
		if err != nil {
			return nil, err
		}
		for _, id := range ids {
			if !slices.Contains(found, id) {
				return nil, apierr.New(apierr.CodeNotFound, reasonScheduleNotFound, "schedule %s not found", id)
			}
		}
		where = schedule.IDIn(ids...)
	}
	var revoked []string
	err := database.InTx(ctx, s.db, func(tx *ent.Tx) (err error) {
		revoked, err = s.revokeWhere(ctx, tx, m.GetReason(), where)
		return err
	})
	if err != nil {
		return nil, err
	}
	res := &paymuxv1.RevokeSchedulesResponse{}
	got, err := s.db.Schedule.Query().Where(append(visibleSchedules(ctx), schedule.IDIn(revoked...))...).
		Order(ent.Asc(schedule.FieldPayAt), ent.Asc(schedule.FieldID)).All(ctx)
	if err != nil {
		return nil, err
	}
	for _, r := range got {
		res.Revoked = append(res.Revoked, toSchedulePB(r))
	}
	if len(ids) > 0 {
		rest, err := s.db.Schedule.Query().Where(append(visibleSchedules(ctx), schedule.IDIn(ids...), schedule.IDNotIn(revoked...))...).
			Order(ent.Asc(schedule.FieldPayAt), ent.Asc(schedule.FieldID)).All(ctx)
		if err != nil {
			return nil, err
		}
		for _, r := range rest {
			res.NotRevoked = append(res.NotRevoked, toSchedulePB(r))
		}
	}
	return connect.NewResponse(res), nil
}

// revokeWhere revokes the SCHEDULED schedules matching where, in tx. The
// executor starts a schedule with a conditional update too, so a schedule
// is either revoked or started, never both.
func (s *Server) revokeWhere(ctx context.Context, tx *ent.Tx, reason string, where predicate.Schedule) ([]string, error) {
	// Locked in id order, as every revoke locks them, so that two revokes
	// over the same schedules wait for each other instead of deadlocking.
	ids, err := tx.Schedule.Query().Where(where, schedule.StatusEQ(schedule.StatusSCHEDULED)).
		Order(ent.Asc(schedule.FieldID)).Modify(database.ForUpdate).IDs(ctx)
	if err != nil || len(ids) == 0 {
		return nil, err
	}
	now := s.clock()
	upd := tx.Schedule.Update().Where(schedule.IDIn(ids...), schedule.StatusEQ(schedule.StatusSCHEDULED)).
		SetStatus(schedule.StatusREVOKED).SetRevokedAt(now).SetUpdatedAt(now)
	if reason != "" {
		upd.SetFailure(&details.Failure{Reason: "REVOKED", Message: reason})
	}
	if _, err := upd.Save(ctx); err != nil {
		return nil, err
	}
	return ids, nil
}

func (s *billingService) Reschedule(ctx context.Context, req *connect.Request[paymuxv1.RescheduleRequest]) (*connect.Response[paymuxv1.RescheduleResponse], error) {
	m := req.Msg
	r, err := s.loadSchedule(ctx, m.GetId())
	if err != nil {
		return nil, err
	}
	now := s.clock()
	payAt := m.GetPayTime().AsTime().UTC().Truncate(time.Microsecond)
	if payAt.Before(now.Add(-schedulePastGrace)) {
		return nil, apierr.InvalidField("pay_time", "%s is in the past", payAt.Format(time.RFC3339))
	}
	upd := s.db.Schedule.Update().Where(schedule.ID(r.ID), schedule.StatusEQ(schedule.StatusSCHEDULED)).
		SetPayAt(payAt).SetUpdatedAt(now)
	if a := m.GetAmount(); a != nil {
		amounts, err := money.NewAmounts(a.GetTotal(), a.GetTaxFree(), a.Vat)
		if err != nil {
			return nil, apierr.InvalidField("amount", "%v", err)
		}
		if err := money.CheckInstallment(int32(r.InstallmentMonths), amounts.Total); err != nil {
			return nil, paymentsvc.MoneyError(err, "amount.total")
		}
		upd.SetTotal(amounts.Total).SetTaxFree(amounts.TaxFree).SetVat(amounts.VAT)
	}
	n, err := upd.Save(ctx)
	if err != nil {
		return nil, err
	}
	if n == 0 {
		return nil, apierr.WithMetadata(apierr.CodeFailedPrecondition, reasonScheduleNotScheduled,
			map[string]string{"status": string(r.Status)}, "schedule %s is %s: only a SCHEDULED one moves", r.ID, r.Status)
	}
	s.schedules.wake()
	if r, err = s.loadSchedule(ctx, r.ID); err != nil {
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
