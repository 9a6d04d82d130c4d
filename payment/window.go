package payment

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"

	"github.com/paymux/paymux/apierr"
	"github.com/paymux/paymux/ent"
	"github.com/paymux/paymux/ent/payment"
	"github.com/paymux/paymux/paystate"
	"github.com/paymux/paymux/providers"
	"github.com/paymux/paymux/providers/sandbox"
	"github.com/paymux/paymux/tenant"
)

// WindowReturned records what a payment window returned through paymux:
// under the server approval model the result is kept for Confirm; under
// the client approval model the payment is approved at once. It returns the
// payment as it then stands; a failed approval is recorded on it (FAILED,
// with its failure), not returned as an error.
func (s *Service) WindowReturned(ctx context.Context, p *ent.Payment, result map[string]string) (*ent.Payment, error) {
	ctx = tenant.System(ctx)
	switch {
	case p.Method == payment.MethodBANK_TRANSFER: // no window: a deposit pays it
	case p.ApprovalModel == payment.ApprovalModelSERVER && p.Status == payment.StatusREADY:
		err := s.db.Payment.UpdateOne(p).Where(payment.StatusEQ(payment.StatusREADY)).SetWindowResult(result).Exec(ctx)
		if err != nil && !ent.IsNotFound(err) {
			return nil, err
		}
	case p.ApprovalModel == payment.ApprovalModelCLIENT && p.Status == payment.StatusREADY:
		approved, aerr := s.approveWindow(ctx, p.ID, result, nil)
		if approved != nil {
			p = approved
		}
		if aerr != nil && approved == nil {
			s.log.WarnContext(ctx, "window approval", "payment_id", p.ID, "error", aerr)
		}
	}
	return p, nil
}

// ErrForgedNotification: a notification that names the payment with a
// per-payment secret or a transaction that are not the payment's. It is
// refused, never applied.
var ErrForgedNotification = errors.New("the notification does not match the payment")

// ApplyNotification applies a verified PG event to its payment. A notice is
// only ever a hint: what paymux applies is the PG's answer to its own
// lookup of the payment (SyncFromPG), so that neither an unsigned notice
// nor a signed one replayed under another payment's name can move money.
// The same event twice changes nothing. An event for a payment paymux does
// not have (another system on the same contract, a test call) is
// acknowledged: nil, nil.
func (s *Service) ApplyNotification(ctx context.Context, ch *Channel, ev *providers.Event) (*ent.Payment, error) {
	if ev.OrderID == "" && ev.PGTransactionID == "" {
		return nil, nil // about no payment (a payout, a test call): acknowledged
	}
	q := s.db.Payment.Query().Where(payment.ChannelID(ch.Row.ID))
	if ev.OrderID != "" {
		q = q.Where(payment.ID(ev.OrderID))
	} else {
		q = q.Where(payment.PgTransactionID(ev.PGTransactionID))
	}
	p, err := q.Only(ctx)
	if ent.IsNotFound(err) {
		s.log.WarnContext(ctx, "notification for an unknown payment", "channel_id", ch.Row.ID, "order_id", ev.OrderID)
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	// A secret paymux does not have yet (the PG's notice of an account it
	// is still issuing) proves nothing either way: the lookup decides.
	if ev.Authenticity == providers.AuthenticityPaymentSecret && p.NotificationSecret != "" &&
		subtle.ConstantTimeCompare([]byte(ev.PaymentSecret), []byte(p.NotificationSecret)) != 1 {
		return nil, fmt.Errorf("payment %s: the secret differs: %w", p.ID, ErrForgedNotification)
	}
	if ev.PGTransactionID != "" && p.PgTransactionID != "" && ev.PGTransactionID != p.PgTransactionID {
		return nil, fmt.Errorf("payment %s: transaction %s is not its own: %w", p.ID, ev.PGTransactionID, ErrForgedNotification)
	}
	switch ev.Type {
	case providers.EventDepositArrived, providers.EventDepositCancelled, providers.EventVirtualAccountIssued,
		providers.EventVirtualAccountExpired, providers.EventPaymentCancelled, providers.EventPaymentStatusChanged,
		providers.EventPaymentApproved:
		pgctx, cancel := s.PGContext(ctx)
		found, err := ch.API.Lookup(pgctx, ch.PG, LookupOf(p))
		cancel()
		if err != nil {
			return nil, fmt.Errorf("look up payment %s for a notification: %w", p.ID, err)
		}
		return s.SyncFromPG(ctx, ch, p, found)
	default:
		s.log.InfoContext(ctx, "notification ignored", "payment_id", p.ID, "type", ev.Type)
		return p, nil
	}
}

// SimulateDeposit has the sandbox PG take a deposit into a payment's
// virtual account, then applies the sandbox's notice through the same door
// as a real PG's: verified, then applied.
func (s *Service) SimulateDeposit(ctx context.Context, id string, amount int64, depositor string) (*ent.Payment, error) {
	p, err := s.Load(ctx, id)
	if err != nil {
		return nil, err
	}
	ch, err := s.channelOf(ctx, p)
	if err != nil {
		return nil, err
	}
	sb, ok := s.providers[sandbox.Name].(*sandbox.Sandbox)
	if !ok || ch.API.Name() != sandbox.Name {
		return nil, apierr.New(apierr.CodeFailedPrecondition, ReasonNotSandboxChannel,
			"payment %s is on a %s channel: only sandbox accounts take simulated deposits", p.ID, p.Provider)
	}
	if p, err = s.ExpireIfDue(ctx, p); err != nil {
		return nil, err
	}
	if _, err := paystate.Next(paystate.State(p.Status), paystate.Deposit); err != nil {
		return nil, TransitionError(p, err)
	}
	n, err := sb.SimulateDeposit(ctx, ch.PG, sandbox.DepositRequest{
		PGTransactionID: p.PgTransactionID, OrderID: p.ID, Amount: amount, DepositorName: depositor,
	})
	if err != nil {
		return nil, PGError(p, err)
	}
	ev, err := ch.API.ParseNotification(ctx, ch.PG, *n)
	if err != nil {
		return nil, err
	}
	ctx = context.WithoutCancel(ctx)
	if _, err := s.ApplyNotification(tenant.System(ctx), ch, ev); err != nil {
		return nil, err
	}
	return s.Load(ctx, p.ID)
}
