package webhook

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"time"

	"github.com/paymux/paymux/apierr"
	"github.com/paymux/paymux/database"
	"github.com/paymux/paymux/ent"
	"github.com/paymux/paymux/ent/webhookattempt"
	"github.com/paymux/paymux/ent/webhookdelivery"
	"github.com/paymux/paymux/ent/webhookendpoint"
	"github.com/paymux/paymux/secrets"
)

// TestEndpoint sends an endpoint a sample event of eventType at once (a
// paid TEST payment's, say; a matched deposit's for PAYACTION, which takes
// its event types only), signed like any, and keeps the attempt in the
// delivery log under a delivery marked TEST, which is never resent.
func (s *Service) TestEndpoint(ctx context.Context, id string, testOnly bool, eventType string) (*ent.WebhookAttempt, error) {
	ep, err := s.Endpoint(ctx, id, testOnly)
	if err != nil {
		return nil, err
	}
	if eventType == "" { // what the endpoint is for
		eventType = "payment.paid"
		if ep.ContentType == webhookendpoint.ContentTypePAYACTION {
			eventType = payActionEventTypes[0]
		}
	}
	if err := s.checkEventTypes("event_type", []string{eventType}); err != nil {
		return nil, err
	}
	if !carries(ep.ContentType, eventType) {
		return nil, apierr.InvalidField("event_type", "a %s endpoint carries %s only", ep.ContentType, strings.Join(payActionEventTypes, ", "))
	}
	now := s.sender.clock()
	paymentID := "pay_test_" + secrets.RandomString(12)
	data := map[string]any{
		"id": paymentID, "storeId": ep.StoreID, "merchantPaymentId": "test-order",
		"orderName": "TEST", "status": "PAYMENT_STATUS_" + strings.ToUpper(strings.TrimPrefix(eventType, "payment.")),
		"mode": "MODE_" + string(ep.Mode), "amounts": map[string]any{"total": "1000"}, "test": true,
	}
	if ep.ContentType == webhookendpoint.ContentTypePAYACTION {
		// A deposit: what the bank transfer events carry.
		at := now.Format(time.RFC3339Nano)
		data = map[string]any{
			"id": "dep_test_" + secrets.RandomString(12), "storeId": ep.StoreID, "mode": "MODE_" + string(ep.Mode),
			"bankAccountId": "bac_test", "type": "DEPOSIT_TYPE_DEPOSIT", "status": "DEPOSIT_STATUS_MATCHED",
			"amount": "1000", "depositorName": "홍길동", "balance": "1000", "transactionTime": at,
			"paymentId": paymentID, "merchantPaymentId": "test-order", "matchType": "MATCH_TYPE_AUTO", "matchTime": at,
		}
	}
	sample, err := json.Marshal(data)
	if err != nil {
		return nil, err
	}
	eventID := secrets.NewID("evt_test")
	r, err := s.sender.build(ep, &ent.Event{ID: eventID, Type: eventType, CreatedAt: now, Data: sample,
		PaymentID: paymentID, MerchantPaymentID: "test-order"})
	if err != nil {
		return nil, err
	}
	res := s.sender.send(ctx, r)
	// Kept in the delivery log like any delivery, marked TEST.
	status := webhookdelivery.StatusFAILED
	if res.ok() {
		status = webhookdelivery.StatusSUCCEEDED
	}
	var a *ent.WebhookAttempt
	wctx := context.WithoutCancel(ctx)
	err = database.InTx(wctx, s.db, func(tx *ent.Tx) error {
		d, err := tx.WebhookDelivery.Create().
			SetStoreID(ep.StoreID).SetEndpointID(ep.ID).SetEventID(eventID).SetEventType(eventType).
			SetStatus(status).SetAttempts(1).SetNextAttemptAt(now).SetTrigger(webhookdelivery.TriggerTEST).
			SetLastStatus(res.status).Save(wctx)
		if err != nil {
			return err
		}
		a, err = s.sender.logAttempt(wctx, tx.Client(), ep, d.ID, 1, webhookattempt.TriggerTEST, r, res)
		return err
	})
	if err != nil {
		return nil, err
	}
	return a, nil
}

// Resend names the deliveries to send again: one delivery (DeliveryID),
// every delivery of one event (EventID), or else an endpoint's deliveries
// that failed since a time (EndpointID, FailedSince).
type Resend struct {
	DeliveryID  string
	EventID     string
	EndpointID  string
	FailedSince time.Time
	TestOnly    bool
}

// resendLimit bounds the deliveries one Resend queues again.
const resendLimit = 1000

// Resend queues deliveries again, due now, and wakes the dispatcher. A
// delivery whose endpoint the caller cannot see is left out; a disabled
// endpoint refuses the whole resend (ReasonEndpointDisabled) before
// anything changes; a TEST call's record is never resent
// (ReasonTestNotResent when named alone).
func (s *Service) Resend(ctx context.Context, in Resend) ([]*ent.WebhookDelivery, error) {
	q := s.db.WebhookDelivery.Query()
	switch {
	case in.DeliveryID != "":
		q = q.Where(webhookdelivery.ID(in.DeliveryID))
	case in.EventID != "":
		q = q.Where(webhookdelivery.EventID(in.EventID))
	default:
		// The endpoint is named: one the caller cannot see is not found,
		// a disabled one is refused even with nothing to resend.
		ep, err := s.Endpoint(ctx, in.EndpointID, in.TestOnly)
		if err != nil {
			return nil, err
		}
		if err := endpointDisabled(ep); err != nil {
			return nil, err
		}
		q = q.Where(webhookdelivery.EndpointID(in.EndpointID), webhookdelivery.StatusEQ(webhookdelivery.StatusFAILED),
			webhookdelivery.CreatedAtGTE(in.FailedSince))
	}
	rows, err := q.Order(ent.Asc(webhookdelivery.FieldCreatedAt), ent.Asc(webhookdelivery.FieldID)).Limit(resendLimit).All(ctx)
	if err != nil {
		return nil, err
	}
	// A TEST call's record has no event to send again: fire another TEST.
	if len(rows) == 1 && in.DeliveryID != "" && rows[0].Trigger == webhookdelivery.TriggerTEST {
		return nil, apierr.New(apierr.CodeFailedPrecondition, ReasonTestNotResent,
			"webhook delivery %s was a TEST call: fire another TEST call instead", rows[0].ID)
	}
	rows = slices.DeleteFunc(rows, func(d *ent.WebhookDelivery) bool { return d.Trigger == webhookdelivery.TriggerTEST })
	// Check every endpoint before changing anything: a refusal re-queues
	// nothing.
	visible := map[string]bool{}
	var todo []*ent.WebhookDelivery
	for _, d := range rows {
		ok, seen := visible[d.EndpointID]
		if !seen {
			ep, err := s.Endpoint(ctx, d.EndpointID, in.TestOnly)
			switch {
			case apierr.Reason(err) == ReasonEndpointNotFound:
				// A TEST key and a LIVE endpoint's delivery, or a deleted
				// endpoint's: not the caller's to resend.
			case err != nil:
				return nil, err
			default:
				if err := endpointDisabled(ep); err != nil {
					return nil, err
				}
				ok = true
			}
			visible[d.EndpointID] = ok
		}
		if ok {
			todo = append(todo, d)
		}
	}
	if len(todo) == 0 && in.DeliveryID != "" {
		return nil, apierr.New(apierr.CodeNotFound, ReasonDeliveryNotFound, "webhook delivery %s not found", in.DeliveryID)
	}
	now := s.sender.clock()
	var out []*ent.WebhookDelivery
	err = database.InTx(ctx, s.db, func(tx *ent.Tx) error {
		out = out[:0]
		for _, d := range todo {
			d, err := tx.WebhookDelivery.UpdateOne(d).SetStatus(webhookdelivery.StatusPENDING).
				SetNextAttemptAt(now).SetTrigger(webhookdelivery.TriggerRESEND).Save(ctx)
			if err != nil {
				return err
			}
			out = append(out, d)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(todo) > 0 && s.wake != nil {
		s.wake()
	}
	return out, nil
}
