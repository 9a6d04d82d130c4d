package webhook

import (
	"context"
	"time"

	"github.com/paymux/paymux/ent"
	"github.com/paymux/paymux/ent/webhookattempt"
	"github.com/paymux/paymux/ent/webhookdelivery"
)

// PurgeLog drops the delivery log older than before: attempts, and the
// deliveries that are settled (a pending delivery is kept whatever its age).
func PurgeLog(ctx context.Context, db *ent.Client, before time.Time) error {
	if _, err := db.WebhookAttempt.Delete().Where(webhookattempt.CreatedAtLT(before)).Exec(ctx); err != nil {
		return err
	}
	_, err := db.WebhookDelivery.Delete().
		Where(webhookdelivery.StatusNEQ(webhookdelivery.StatusPENDING), webhookdelivery.UpdatedAtLT(before)).Exec(ctx)
	return err
}
