package webhook

import (
	"context"
	"errors"
	"time"

	"github.com/paymux/paymux/ent"
	"github.com/paymux/paymux/ent/webhookattempt"
	"github.com/paymux/paymux/ent/webhookdelivery"
)

// PurgeLog drops the delivery log older than before: attempts, and the
// deliveries that are settled (a pending delivery is kept whatever its age).
func PurgeLog(ctx context.Context, db *ent.Client, before time.Time) error {
	_, attemptsErr := db.WebhookAttempt.Delete().Where(webhookattempt.CreatedAtLT(before)).Exec(ctx)
	_, deliveriesErr := db.WebhookDelivery.Delete().
		Where(webhookdelivery.StatusNEQ(webhookdelivery.StatusPENDING), webhookdelivery.UpdatedAtLT(before)).Exec(ctx)
	return errors.Join(attemptsErr, deliveriesErr)
}
