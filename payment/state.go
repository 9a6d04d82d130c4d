package payment

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/paymux/paymux/apierr"
	"github.com/paymux/paymux/database"
	"github.com/paymux/paymux/ent"
	"github.com/paymux/paymux/ent/cancellation"
	"github.com/paymux/paymux/ent/event"
	"github.com/paymux/paymux/ent/payment"
	"github.com/paymux/paymux/ent/predicate"
	"github.com/paymux/paymux/ent/schema/details"
	"github.com/paymux/paymux/money"
	"github.com/paymux/paymux/paystate"
	"github.com/paymux/paymux/providers"
	"github.com/paymux/paymux/tenant"
)

// ---- loading and locking ---------------------------------------------------

// Visible hides LIVE payments from TEST keys, as visibleChannels
// hides LIVE channels: a test key cannot reach live money, not even to read
// it.
func Visible(ctx context.Context) []predicate.Payment {
	if v, _ := tenant.FromContext(ctx); v.TestOnly() {
		return []predicate.Payment{payment.ModeEQ(payment.ModeTEST)}
	}
	return nil
}

// Load reads a payment of the caller's store by paymux id.
func (s *Service) Load(ctx context.Context, id string) (*ent.Payment, error) {
	p, err := s.db.Payment.Query().Where(append(Visible(ctx), payment.ID(id))...).Only(ctx)
	if ent.IsNotFound(err) {
		return nil, apierr.New(apierr.CodeNotFound, ReasonPaymentNotFound, "payment %s not found", id)
	}
	return p, err
}

// Lock reads a payment inside tx and keeps others from changing it
// until tx ends: FOR UPDATE on PostgreSQL; SQLite runs one write
// transaction at a time already.
func Lock(ctx context.Context, tx *ent.Tx, id string) (*ent.Payment, error) {
	p, err := tx.Payment.Query().Where(append(Visible(ctx), payment.ID(id))...).
		Modify(database.ForUpdate).Only(ctx)
	if ent.IsNotFound(err) {
		return nil, apierr.New(apierr.CodeNotFound, ReasonPaymentNotFound, "payment %s not found", id)
	}
	return p, err
}

// ---- the state machine, recorded -------------------------------------------

// Transition moves p by ev inside tx: the status (only if nobody moved it
// since p was read), whatever set adds, and an event, all in one
// transaction. A refused event is FailedPrecondition with paystate's reason.
func (s *Service) Transition(ctx context.Context, tx *ent.Tx, p *ent.Payment, ev paystate.Event, set func(*ent.PaymentUpdateOne)) (*ent.Payment, error) {
	next, err := paystate.Next(paystate.State(p.Status), ev)
	if err != nil {
		return nil, TransitionError(p, err)
	}
	now := s.clock()
	upd := tx.Payment.UpdateOne(p).Where(payment.StatusEQ(p.Status)).
		SetStatus(payment.Status(next)).SetStatusAt(now)
	if set != nil {
		set(upd)
	}
	updated, err := upd.Save(ctx)
	if ent.IsNotFound(err) {
		return nil, apierr.New(apierr.CodeAborted, apierr.ReasonConflict, "payment %s changed meanwhile; read it again", p.ID)
	}
	if err != nil {
		return nil, err
	}
	if err := s.recordEvent(ctx, tx, updated, string(p.Status)); err != nil {
		return nil, err
	}
	for _, h := range s.hooks {
		if err := h(ctx, tx, updated); err != nil {
			return nil, err
		}
	}
	return updated, nil
}

// recordEvent writes the event of p having reached its current status.
func (s *Service) recordEvent(ctx context.Context, tx *ent.Tx, p *ent.Payment, from string) error {
	data, err := s.eventData(p)
	if err != nil {
		return fmt.Errorf("event data: %w", err)
	}
	ev, err := tx.Event.Create().
		SetStoreID(p.StoreID).
		SetMode(event.Mode(p.Mode)).
		SetType(EventType(p.Status)).
		SetPaymentID(p.ID).
		SetMerchantPaymentID(p.MerchantPaymentID).
		SetFromStatus(from).
		SetToStatus(string(p.Status)).
		SetData(data).
		SetCreatedAt(p.StatusAt).
		Save(ctx)
	if err != nil {
		return err
	}
	return s.outbox.Enqueue(ctx, tx, ev, string(p.Method))
}

// EventType names the event of reaching status: "payment.paid", ...
func EventType(status payment.Status) string {
	return "payment." + strings.ToLower(string(status))
}

// ---- errors ----------------------------------------------------------------

// TransitionError is the API error of an event paystate refuses for p.
func TransitionError(p *ent.Payment, err error) error {
	var te *paystate.TransitionError
	if errors.As(err, &te) {
		return apierr.WithMetadata(apierr.CodeFailedPrecondition, te.Reason,
			map[string]string{"payment_id": p.ID, "status": string(p.Status)},
			"payment %s is %s: %s", p.ID, p.Status, strings.ToLower(strings.ReplaceAll(te.Reason, "_", " ")))
	}
	return err
}

// MoneyError maps a refused amount: a malformed amount is InvalidArgument
// on field, one that does not fit the balance is FailedPrecondition.
func MoneyError(err error, field string) error {
	var me *money.Error
	if !errors.As(err, &me) {
		return err
	}
	switch {
	case strings.HasPrefix(me.Reason, "INVALID_"):
		return apierr.InvalidField(field, "%s", me.Message)
	case me.Reason == money.ReasonInstallmentNotAllowedUnder50000:
		return apierr.InvalidBecause(me.Reason, apierr.FieldViolation{Field: field, Description: me.Message})
	}
	return apierr.New(apierr.CodeFailedPrecondition, me.Reason, "%s", me.Message)
}

// PGError is the API error for a PG's definite refusal of op.
func PGError(p *ent.Payment, err error) error {
	if errors.Is(err, providers.ErrNotSupported) {
		return apierr.New(apierr.CodeFailedPrecondition, ReasonNotSupported, "%v", err)
	}
	var pe *providers.Error
	if !errors.As(err, &pe) {
		return err
	}
	md := map[string]string{"pg_code": pe.Code, "pg_message": pe.Message, "kind": pe.Kind.String()}
	if p != nil {
		md["payment_id"] = p.ID
		md["status"] = string(p.Status)
	}
	if pe.Decline != "" {
		md["decline"] = string(pe.Decline)
	}
	code := apierr.CodeFailedPrecondition
	switch pe.Kind {
	case providers.KindInvalidRequest:
		code = apierr.CodeInvalidArgument
	case providers.KindNotFound:
		code = apierr.CodeNotFound
	case providers.KindTimeout, providers.KindUnavailable, providers.KindUnknown:
		code = apierr.CodeUnavailable
	}
	return apierr.WithMetadata(code, ReasonPGProvider, md, "the PG refused: [%s] %s", pe.Code, pe.Message)
}

// outcomeUnknownError tells the caller paymux does not know yet what the PG
// did, and will find out.
func outcomeUnknownError(p *ent.Payment, what string) error {
	return apierr.WithMetadata(apierr.CodeUnavailable, ReasonPGOutcomeUnknown,
		map[string]string{"payment_id": p.ID, "status": string(p.Status)},
		"no answer from the PG to %s of payment %s; paymux asks the PG again and records the outcome (read the payment later)", what, p.ID)
}

// FailureOf records a PG error on a payment or cancel.
func FailureOf(reason string, err error) *details.Failure {
	f := &details.Failure{Reason: reason}
	var pe *providers.Error
	if errors.As(err, &pe) {
		f.PGCode, f.PGMessage, f.Decline = pe.Code, pe.Message, string(pe.Decline)
		f.Message = "the PG refused"
		if pe.Kind == providers.KindDeclined {
			f.Message = "the card company or bank declined"
		}
	} else if err != nil {
		f.Message = err.Error()
	}
	return f
}

// ---- what the PG reported, kept ---------------------------------------------

// CardOf keeps what the PG reported of a card.
func CardOf(c *providers.CardInfo) *details.Card {
	if c == nil {
		return nil
	}
	return &details.Card{
		Issuer:            string(c.Issuer),
		Acquirer:          string(c.Acquirer),
		Number:            c.Number,
		Type:              string(c.Type),
		ApprovalNumber:    c.ApprovalNumber,
		InstallmentMonths: c.InstallmentMonths,
		InterestFree:      c.InterestFree,
	}
}

// SetPaid records an approval the PG reported.
func SetPaid(pg *providers.Payment, at time.Time) func(*ent.PaymentUpdateOne) {
	return func(u *ent.PaymentUpdateOne) {
		paidAt := pg.ApprovedAt
		if paidAt.IsZero() {
			paidAt = at
		}
		u.SetPaid(pg.Amounts.Total).
			SetPaidAt(paidAt.UTC().Truncate(time.Microsecond)).
			SetPgTransactionID(pg.PGTransactionID).
			SetReceiptURL(pg.ReceiptURL).
			ClearFailure()
		if c := CardOf(pg.Card); c != nil {
			u.SetCard(c)
		}
	}
}

// SetFailed records a failure the PG reported, or paymux decided.
func SetFailed(f *details.Failure, at time.Time, pgTID string) func(*ent.PaymentUpdateOne) {
	return func(u *ent.PaymentUpdateOne) {
		u.SetFailure(f).SetFailedAt(at)
		if pgTID != "" {
			u.SetPgTransactionID(pgTID)
		}
	}
}

// ---- amounts -----------------------------------------------------------------

// pendingCancels sums the cancels sent to the PG and not yet answered: they
// are held against the cancellable balance.
func pendingCancels(ctx context.Context, q *ent.CancellationClient, paymentID string) (money.Amounts, error) {
	rows, err := q.Query().Where(cancellation.PaymentID(paymentID), cancellation.StatusEQ(cancellation.StatusREQUESTED)).All(ctx)
	if err != nil {
		return money.Amounts{}, err
	}
	var held money.Amounts
	for _, c := range rows {
		held.Cancelled += c.Amount
		held.CancelledTaxFree += c.TaxFree
		held.CancelledVAT += c.Vat
	}
	return held, nil
}

// amountsOf returns what p has paid and cancelled, with held counting as
// cancelled.
func amountsOf(p *ent.Payment, held money.Amounts) money.Amounts {
	return money.Amounts{
		Total:            p.Total,
		TaxFree:          p.TaxFree,
		VAT:              p.Vat,
		Cancelled:        p.Cancelled + held.Cancelled,
		CancelledTaxFree: p.CancelledTaxFree + held.CancelledTaxFree,
		CancelledVAT:     p.CancelledVat + held.CancelledVAT,
	}
}
