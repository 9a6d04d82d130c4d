package payment

import (
	"context"
	"fmt"
	"time"

	"github.com/paymux/paymux/ent"
	"github.com/paymux/paymux/ent/event"
	"github.com/paymux/paymux/ent/payment"
	"github.com/paymux/paymux/paystate"
	"github.com/paymux/paymux/providers"
)

// PendingInput is a card charge under the server approval model whose
// payment is written ahead of it, already PAY_PENDING: a billing
// schedule's charge. Its id is given (billing derives it from the
// schedule's, so that one schedule can make one payment only).
type PendingInput struct {
	ID                string
	StoreID           string
	ChannelID         string
	Provider          string
	Mode              payment.Mode
	MerchantPaymentID string
	OrderName         string
	Total             int64
	TaxFree           int64
	VAT               int64
	Buyer             providers.Buyer
	KeyID             string // the API key the charge was asked with
	BillingKeyID      string // the billing key's name, as the API shows it
	ScheduleID        string
}

// InsertPending creates payments PAY_PENDING in tx, each with the two
// events every charge's payment has (created READY at now, sent to the PG
// as PAY_PENDING a microsecond later, so that the status history reads in
// order) and their webhook deliveries, with a few statements for the
// whole batch. The caller sends each charge after tx commits, and records
// its answer with SettleCharge or Transition.
func (s *Service) InsertPending(ctx context.Context, tx *ent.Tx, now time.Time, in []PendingInput) ([]*ent.Payment, error) {
	if len(in) == 0 {
		return nil, nil
	}
	pending, err := paystate.Next(paystate.State(payment.StatusREADY), paystate.MarkPending)
	if err != nil {
		return nil, err
	}
	pendingAt := now.Add(time.Microsecond)
	creates := make([]*ent.PaymentCreate, len(in))
	for i, r := range in {
		creates[i] = tx.Payment.Create().
			SetID(r.ID).
			SetStoreID(r.StoreID).
			SetChannelID(r.ChannelID).
			SetProvider(r.Provider).
			SetMode(r.Mode).
			SetMerchantPaymentID(r.MerchantPaymentID).
			SetOrderName(r.OrderName).
			SetMethod(payment.MethodCARD).
			SetApprovalModel(payment.ApprovalModelSERVER).
			SetStatus(payment.Status(pending)).
			SetStatusAt(pendingAt).
			SetCreatedAt(now).
			SetUpdatedAt(pendingAt).
			SetTotal(r.Total).
			SetTaxFree(r.TaxFree).
			SetVat(r.VAT).
			SetCustomerName(r.Buyer.Name).
			SetCustomerEmail(r.Buyer.Email).
			SetCustomerPhone(r.Buyer.Phone).
			SetKeyID(r.KeyID).
			SetBillingKeyID(r.BillingKeyID).
			SetScheduleID(r.ScheduleID)
	}
	payments, err := tx.Payment.CreateBulk(creates...).Save(ctx)
	if err != nil {
		return nil, fmt.Errorf("payments: %w", err)
	}
	events := make([]*ent.EventCreate, 0, 2*len(payments))
	for _, p := range payments {
		ready := *p
		ready.Status = payment.StatusREADY
		for _, step := range []struct {
			p    *ent.Payment
			from string
			at   time.Time
		}{{&ready, "", now}, {p, string(payment.StatusREADY), pendingAt}} {
			data, err := s.eventData(step.p)
			if err != nil {
				return nil, fmt.Errorf("event data: %w", err)
			}
			events = append(events, tx.Event.Create().
				SetStoreID(p.StoreID).SetMode(event.Mode(p.Mode)).SetType(EventType(step.p.Status)).
				SetPaymentID(p.ID).SetMerchantPaymentID(p.MerchantPaymentID).
				SetFromStatus(step.from).SetToStatus(string(step.p.Status)).SetData(data).SetCreatedAt(step.at))
		}
	}
	saved, err := tx.Event.CreateBulk(events...).Save(ctx)
	if err != nil {
		return nil, err
	}
	for _, ev := range saved {
		if err := s.outbox.Enqueue(ctx, tx, ev, string(payment.MethodCARD)); err != nil {
			return nil, err
		}
	}
	return payments, nil
}
