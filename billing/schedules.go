package billing

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/paymux/paymux/apierr"
	"github.com/paymux/paymux/database"
	"github.com/paymux/paymux/ent"
	"github.com/paymux/paymux/ent/payment"
	"github.com/paymux/paymux/ent/predicate"
	"github.com/paymux/paymux/ent/schedule"
	"github.com/paymux/paymux/ent/schema/details"
	"github.com/paymux/paymux/money"
	paymentsvc "github.com/paymux/paymux/payment"
	"github.com/paymux/paymux/providers"
	"github.com/paymux/paymux/secrets"
)

// schedulePastGrace is how far in the past a new schedule's pay time may
// be (a clock a little behind the server's): it runs at once.
const schedulePastGrace = 5 * time.Minute

// ScheduleInput is one charge to schedule.
type ScheduleInput struct {
	MerchantPaymentID string
	OrderName         string
	Amount            paymentsvc.Amount
	InstallmentMonths int
	// Customer is the buyer; each field left empty is the billing key's.
	Customer providers.Buyer
	PayAt    time.Time
	// Retry retries a failed charge; nil: none.
	Retry *RetryPolicy
}

// RetryPolicy is how a failed scheduled charge is tried again: a new
// schedule Interval after the failure, at most MaxRetries times.
type RetryPolicy struct {
	Interval   time.Duration
	MaxRetries int
}

// CreateSchedules schedules charges of a billing key (by bk_ id or name),
// all or none. A merchant payment id names one payment: none may be taken
// by a payment, or by another schedule.
func (s *Service) CreateSchedules(ctx context.Context, billingKey string, ins []ScheduleInput) ([]*ent.Schedule, error) {
	k, err := s.BillingKey(ctx, billingKey)
	if err != nil {
		return nil, err
	}
	if err := activeBillingKey(k); err != nil {
		return nil, err
	}
	ch, err := s.payments.ChannelByID(ctx, k.ChannelID)
	if err != nil {
		return nil, err
	}
	now := s.clock()
	var creates []*ent.ScheduleCreate
	var mids []string
	seen := map[string]bool{}
	for i, in := range ins {
		field := func(name string) string { return fmt.Sprintf("schedules[%d].%s", i, name) }
		amounts, err := paymentsvc.AmountsFor(ch.Row.TaxType, in.Amount, field("amount"))
		if err != nil {
			return nil, err
		}
		if err := money.CheckInstallment(int32(in.InstallmentMonths), amounts.Total); err != nil {
			return nil, paymentsvc.MoneyError(err, field("installment_months"))
		}
		payAt := in.PayAt.UTC().Truncate(time.Microsecond)
		if payAt.Before(now.Add(-schedulePastGrace)) {
			return nil, apierr.InvalidField(field("pay_time"), "%s is in the past", payAt.Format(time.RFC3339))
		}
		mid := in.MerchantPaymentID
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
			SetOrderName(in.OrderName).
			SetTotal(amounts.Total).
			SetTaxFree(amounts.TaxFree).
			SetVat(amounts.VAT).
			SetInstallmentMonths(in.InstallmentMonths).
			SetCustomerName(cmp.Or(in.Customer.Name, k.CustomerName)).
			SetCustomerEmail(cmp.Or(in.Customer.Email, k.CustomerEmail)).
			SetCustomerPhone(cmp.Or(in.Customer.Phone, k.CustomerPhone)).
			SetPayAt(payAt).
			SetKeyID(keyIDOf(ctx)).
			SetCreatedAt(now).
			SetUpdatedAt(now)
		if rp := in.Retry; rp != nil {
			c.SetRetryIntervalSeconds(int64(rp.Interval / time.Second)).SetMaxRetries(rp.MaxRetries)
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
			return apierr.WithMetadata(apierr.CodeAlreadyExists, ReasonScheduleExists, map[string]string{"merchant_payment_id": taken[0]},
				"merchant payment id %q is taken by a payment or a schedule", taken[0])
		}
		rows, err = tx.Schedule.CreateBulk(creates...).Save(ctx)
		return err
	})
	if ent.IsConstraintError(err) {
		return nil, apierr.New(apierr.CodeAlreadyExists, ReasonScheduleExists, "a merchant payment id is taken by a schedule created meanwhile")
	}
	if err != nil {
		return nil, err
	}
	s.schedulesChanged()
	return rows, nil
}

// Schedule reads a schedule of the acting store by id.
func (s *Service) Schedule(ctx context.Context, id string) (*ent.Schedule, error) {
	r, err := s.db.Schedule.Query().Where(append(VisibleSchedules(ctx), schedule.ID(id))...).Only(ctx)
	if ent.IsNotFound(err) {
		return nil, apierr.New(apierr.CodeNotFound, ReasonScheduleNotFound, "schedule %s not found", id)
	}
	return r, err
}

// RevokeInput names the schedules to revoke: every one of a billing key,
// or those listed.
type RevokeInput struct {
	BillingKey  string // its bk_ id or name; "": ScheduleIDs
	ScheduleIDs []string
	Reason      string
}

// Revoke revokes the SCHEDULED schedules named. It answers those it
// revoked and, when they were listed by id, those it did not (started or
// ended already), each in pay time order.
func (s *Service) Revoke(ctx context.Context, in RevokeInput) (revoked, notRevoked []*ent.Schedule, err error) {
	var where predicate.Schedule
	var ids []string
	if ref := in.BillingKey; ref != "" {
		k, err := s.BillingKey(ctx, ref)
		if err != nil {
			return nil, nil, err
		}
		where = schedule.BillingKeyID(k.ID)
	} else {
		ids = in.ScheduleIDs
		found, err := s.db.Schedule.Query().Where(append(VisibleSchedules(ctx), schedule.IDIn(ids...))...).IDs(ctx)
		if err != nil {
			return nil, nil, err
		}
		for _, id := range ids {
			if !slices.Contains(found, id) {
				return nil, nil, apierr.New(apierr.CodeNotFound, ReasonScheduleNotFound, "schedule %s not found", id)
			}
		}
		where = schedule.IDIn(ids...)
	}
	var revokedIDs []string
	err = database.InTx(ctx, s.db, func(tx *ent.Tx) (err error) {
		revokedIDs, err = s.revokeWhere(ctx, tx, in.Reason, where)
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	revoked, err = s.db.Schedule.Query().Where(append(VisibleSchedules(ctx), schedule.IDIn(revokedIDs...))...).
		Order(ent.Asc(schedule.FieldPayAt), ent.Asc(schedule.FieldID)).All(ctx)
	if err != nil {
		return nil, nil, err
	}
	if len(ids) > 0 {
		notRevoked, err = s.db.Schedule.Query().Where(append(VisibleSchedules(ctx), schedule.IDIn(ids...), schedule.IDNotIn(revokedIDs...))...).
			Order(ent.Asc(schedule.FieldPayAt), ent.Asc(schedule.FieldID)).All(ctx)
		if err != nil {
			return nil, nil, err
		}
	}
	return revoked, notRevoked, nil
}

// revokeWhere revokes the SCHEDULED schedules matching where, in tx. The
// executor starts a schedule with a conditional update too, so a schedule
// is either revoked or started, never both.
func (s *Service) revokeWhere(ctx context.Context, tx *ent.Tx, reason string, where predicate.Schedule) ([]string, error) {
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

// RescheduleInput moves a SCHEDULED schedule, and may change its amount.
type RescheduleInput struct {
	ID     string
	PayAt  time.Time
	Amount *paymentsvc.Amount // nil: unchanged
}

// Reschedule moves a schedule still SCHEDULED to a new pay time (and
// amount).
func (s *Service) Reschedule(ctx context.Context, in RescheduleInput) (*ent.Schedule, error) {
	r, err := s.Schedule(ctx, in.ID)
	if err != nil {
		return nil, err
	}
	now := s.clock()
	payAt := in.PayAt.UTC().Truncate(time.Microsecond)
	if payAt.Before(now.Add(-schedulePastGrace)) {
		return nil, apierr.InvalidField("pay_time", "%s is in the past", payAt.Format(time.RFC3339))
	}
	upd := s.db.Schedule.Update().Where(schedule.ID(r.ID), schedule.StatusEQ(schedule.StatusSCHEDULED)).
		SetPayAt(payAt).SetUpdatedAt(now)
	if a := in.Amount; a != nil {
		ch, err := s.payments.ChannelByID(ctx, r.ChannelID)
		if err != nil {
			return nil, err
		}
		amounts, err := paymentsvc.AmountsFor(ch.Row.TaxType, *a, "amount")
		if err != nil {
			return nil, err
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
		return nil, apierr.WithMetadata(apierr.CodeFailedPrecondition, ReasonScheduleNotScheduled,
			map[string]string{"status": string(r.Status)}, "schedule %s is %s: only a SCHEDULED one moves", r.ID, r.Status)
	}
	s.schedulesChanged()
	return s.Schedule(ctx, r.ID)
}
