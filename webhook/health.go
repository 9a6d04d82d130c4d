package webhook

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/paymux/paymux/database"
	"github.com/paymux/paymux/ent"
	"github.com/paymux/paymux/ent/webhookdelivery"
	"github.com/paymux/paymux/ent/webhookendpoint"
)

// health keeps an endpoint's failing streak (failing_since) as the
// Dispatcher records attempts, and disables an endpoint that answered 410
// Gone or has failed for webhooks.disable_after.
type health struct {
	disableAfter time.Duration
	log          *slog.Logger
}

// note records one attempt's verdict on ep, in the attempt's transaction.
func (h health) note(ctx context.Context, tx *ent.Tx, ep *ent.WebhookEndpoint, ok, gone bool, failure string, now time.Time) error {
	switch {
	case ok:
		if ep.FailingSince == nil {
			return nil
		}
		// Update, not UpdateOne: an endpoint deleted meanwhile is no error.
		return tx.WebhookEndpoint.Update().Where(webhookendpoint.ID(ep.ID)).ClearFailingSince().Exec(ctx)
	case gone:
		return h.disable(ctx, tx, ep.ID, "the endpoint answered 410 Gone", now)
	}
	// ep was read before the request; another attempt may have succeeded
	// (ending the streak) or failed (starting one) since. Judge by the
	// endpoint as it is now, locked until this outcome is recorded.
	cur, err := tx.WebhookEndpoint.Query().Where(webhookendpoint.ID(ep.ID)).Modify(database.ForUpdate).Only(ctx)
	switch {
	case ent.IsNotFound(err):
		return nil // deleted meanwhile
	case err != nil:
		return err
	case !cur.Enabled:
		return nil
	case cur.FailingSince == nil:
		return tx.WebhookEndpoint.UpdateOneID(ep.ID).SetFailingSince(now).Exec(ctx)
	case now.Sub(*cur.FailingSince) >= h.disableAfter:
		return h.disable(ctx, tx, ep.ID, fmt.Sprintf("every attempt has failed since %s; the last: %s",
			cur.FailingSince.UTC().Format(time.RFC3339), failure), now)
	}
	return nil
}

// disable turns an endpoint off and fails its pending deliveries; the
// reason shows on the endpoint.
func (h health) disable(ctx context.Context, tx *ent.Tx, id, reason string, now time.Time) error {
	n, err := tx.WebhookEndpoint.Update().Where(webhookendpoint.ID(id), webhookendpoint.Enabled(true)).
		SetEnabled(false).SetDisabledReason(reason).SetDisabledAt(now).Save(ctx)
	if err != nil || n == 0 {
		return err
	}
	h.log.WarnContext(ctx, "webhook endpoint disabled", "endpoint_id", id, "reason", reason)
	return tx.WebhookDelivery.Update().
		Where(webhookdelivery.EndpointID(id), webhookdelivery.StatusEQ(webhookdelivery.StatusPENDING), webhookdelivery.LeaseUntilIsNil()).
		SetStatus(webhookdelivery.StatusFAILED).Exec(ctx)
}
