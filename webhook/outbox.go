package webhook

import (
	"context"
	"slices"

	"github.com/paymux/paymux/ent"
	"github.com/paymux/paymux/ent/webhookdelivery"
	"github.com/paymux/paymux/ent/webhookendpoint"
)

// Outbox queues an event's deliveries in the transaction that writes the
// event, so that a change and the webhooks reporting it commit together or
// not at all. The Dispatcher sends them.
type Outbox struct {
	wake func()
}

// NewOutbox returns an Outbox that calls wake (the Dispatcher's Wake) after
// a transaction that queued deliveries commits; nil wakes nothing (no
// dispatcher in this process: it finds them at its next poll).
func NewOutbox(wake func()) *Outbox {
	return &Outbox{wake: wake}
}

// Enqueue writes, in the event's transaction, one delivery per enabled
// endpoint of the event's store and mode that wants it (method is the
// payment's pay method, for endpoints filtered by method), and wakes the
// dispatcher once the transaction commits.
func (o *Outbox) Enqueue(ctx context.Context, tx *ent.Tx, ev *ent.Event, method string) error {
	memo, _ := ctx.Value(endpointMemoKey{}).(endpointMemo)
	key := ev.StoreID + "\x00" + string(ev.Mode)
	endpoints, ok := memo[key]
	if !ok {
		var err error
		endpoints, err = tx.WebhookEndpoint.Query().Where(
			webhookendpoint.StoreID(ev.StoreID),
			webhookendpoint.ModeEQ(webhookendpoint.Mode(ev.Mode)),
			webhookendpoint.Enabled(true),
		).All(ctx)
		if err != nil {
			return err
		}
		if memo != nil {
			memo[key] = endpoints
		}
	}
	if len(endpoints) == 0 {
		return nil
	}
	var creates []*ent.WebhookDeliveryCreate
	for _, ep := range endpoints {
		if !wants(ep, ev.Type, method) {
			continue
		}
		creates = append(creates, tx.WebhookDelivery.Create().
			SetStoreID(ev.StoreID).
			SetEndpointID(ep.ID).
			SetEventID(ev.ID).
			SetEventType(ev.Type).
			SetPaymentID(ev.PaymentID).
			SetMerchantPaymentID(ev.MerchantPaymentID).
			SetStatus(webhookdelivery.StatusPENDING).
			SetNextAttemptAt(ev.CreatedAt))
	}
	if len(creates) == 0 {
		return nil
	}
	if err := tx.WebhookDelivery.CreateBulk(creates...).Exec(ctx); err != nil {
		return err
	}
	tx.OnCommit(func(next ent.Committer) ent.Committer {
		return ent.CommitFunc(func(ctx context.Context, tx *ent.Tx) error {
			err := next.Commit(ctx, tx)
			if err == nil && o.wake != nil {
				o.wake()
			}
			return err
		})
	})
	return nil
}

// WithEndpointMemo returns ctx for one transaction that enqueues many
// events (the schedule executor's claim): Enqueue reads a store's enabled
// endpoints once for the rest of it rather than once per event. Use a new
// one for each try of the transaction.
func (o *Outbox) WithEndpointMemo(ctx context.Context) context.Context {
	return context.WithValue(ctx, endpointMemoKey{}, endpointMemo{})
}

// endpointMemo keeps, per store and mode, the enabled endpoints read in
// one transaction.
type endpointMemo map[string][]*ent.WebhookEndpoint

type endpointMemoKey struct{}

// quietEventTypes are sent only to endpoints that name them: a payment
// created, or waiting for its PG's answer, is nothing a merchant acts on
// (DOMAIN §7 lists what is sent).
var quietEventTypes = []string{"payment.ready", "payment.pay_pending"}

// wants reports whether an endpoint takes an event of this type about a
// payment of this method (empty filters take everything but the quiet
// event types). A PAYACTION endpoint takes the events its format carries
// only, its filters narrowing further.
func wants(ep *ent.WebhookEndpoint, eventType, method string) bool {
	if !carries(ep.ContentType, eventType) {
		return false
	}
	if len(ep.EventTypes) > 0 && !slices.Contains(ep.EventTypes, eventType) {
		return false
	}
	if len(ep.EventTypes) == 0 && slices.Contains(quietEventTypes, eventType) {
		return false
	}
	if len(ep.PayMethods) > 0 && method != "" && !slices.Contains(ep.PayMethods, method) {
		return false
	}
	return true
}
