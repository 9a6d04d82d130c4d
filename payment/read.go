package payment

import (
	"context"

	"github.com/paymux/paymux/apierr"
	"github.com/paymux/paymux/database"
	"github.com/paymux/paymux/ent"
	"github.com/paymux/paymux/ent/cancellation"
	"github.com/paymux/paymux/ent/cashreceipt"
	"github.com/paymux/paymux/ent/event"
	"github.com/paymux/paymux/ent/payment"
)

// Find reads a payment of the acting store by paymux id or, when id is
// empty, by merchant payment id, and brings it up to date first: a virtual
// account past its due time is expired (once the PG confirms no deposit),
// and pending refunds are asked after.
func (s *Service) Find(ctx context.Context, id, merchantPaymentID string) (*ent.Payment, error) {
	var p *ent.Payment
	var err error
	if id != "" {
		p, err = s.Load(ctx, id)
	} else {
		p, err = s.db.Payment.Query().Where(append(Visible(ctx), payment.MerchantPaymentID(merchantPaymentID))...).Only(ctx)
		if ent.IsNotFound(err) {
			err = apierr.New(apierr.CodeNotFound, ReasonPaymentNotFound, "no payment with merchant payment id %q", merchantPaymentID)
		}
	}
	if err != nil {
		return nil, err
	}
	if p, err = s.ExpireIfDue(ctx, p); err != nil {
		return nil, err
	}
	if err := s.refreshRefunds(ctx, p); err != nil {
		return nil, err
	}
	return p, nil
}

// Detail is a whole payment: its cancels, its status history (events) and
// its cash receipt, read in one snapshot.
type Detail struct {
	Payment       *ent.Payment
	Cancellations []*ent.Cancellation
	History       []*ent.Event
	CashReceipt   *ent.CashReceipt // nil: none
}

// Detail reads the whole of payment id. One snapshot: a cancel settling
// between two reads would otherwise show as neither held nor cancelled.
func (s *Service) Detail(ctx context.Context, id string) (*Detail, error) {
	var d Detail
	err := database.ReadTx(ctx, s.db, func(tx *ent.Tx) error {
		var err error
		if d.Payment, err = tx.Payment.Get(ctx, id); err != nil {
			return err
		}
		d.Cancellations, err = tx.Cancellation.Query().Where(cancellation.PaymentID(id)).
			Order(ent.Asc(cancellation.FieldCreatedAt), ent.Asc(cancellation.FieldID)).All(ctx)
		if err != nil {
			return err
		}
		d.History, err = tx.Event.Query().Where(event.PaymentID(id), event.TypeHasPrefix("payment.")).
			Order(ent.Asc(event.FieldCreatedAt), ent.Asc(event.FieldID)).All(ctx)
		if err != nil {
			return err
		}
		d.CashReceipt, err = tx.CashReceipt.Query().Where(cashreceipt.PaymentID(id)).Only(ctx)
		if ent.IsNotFound(err) {
			err = nil
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return &d, nil
}

// History is a payment's status changes (its payment.* events), oldest
// first; events of other things about it (a deposit that paid it) are not
// status changes.
func (s *Service) History(ctx context.Context, id string) ([]*ent.Event, error) {
	return s.db.Event.Query().Where(event.PaymentID(id), event.TypeHasPrefix("payment.")).
		Order(ent.Asc(event.FieldCreatedAt), ent.Asc(event.FieldID)).All(ctx)
}
