package webhook

import (
	"testing"

	"github.com/paymux/paymux/ent"
	"github.com/paymux/paymux/ent/webhookendpoint"
)

// TestWantsPayAction: a PAYACTION endpoint takes deposit.matched and
// bank.transaction only, whatever its filters name; its filters narrow
// that further. JSON and FORM endpoints take the rest as before.
func TestWantsPayAction(t *testing.T) {
	const (
		payAction = webhookendpoint.ContentTypePAYACTION
		jsonType  = webhookendpoint.ContentTypeJSON
		form      = webhookendpoint.ContentTypeFORM
	)
	for _, tc := range []struct {
		name        string
		contentType webhookendpoint.ContentType
		eventTypes  []string
		payMethods  []string
		eventType   string
		method      string
		want        bool
	}{
		{"matched", payAction, nil, nil, "deposit.matched", "BANK_TRANSFER", true},
		{"bank transaction", payAction, nil, nil, "bank.transaction", "BANK_TRANSFER", true},
		{"bank transaction, no method", payAction, nil, nil, "bank.transaction", "", true},
		{"deposit received", payAction, nil, nil, "deposit.received", "BANK_TRANSFER", false},
		{"deposit unmatched", payAction, nil, nil, "deposit.unmatched", "BANK_TRANSFER", false},
		{"payment paid", payAction, nil, nil, "payment.paid", "BANK_TRANSFER", false},
		{"payment cancelled", payAction, nil, nil, "payment.cancelled", "CARD", false},
		{"billing key", payAction, nil, nil, "billing_key.issued", "", false},
		{"billing schedule", payAction, nil, nil, "billing.schedule.succeeded", "", false},
		{"quiet", payAction, nil, nil, "payment.ready", "BANK_TRANSFER", false},
		{"named payment.paid still not", payAction, []string{"payment.paid", "deposit.matched"}, nil, "payment.paid", "BANK_TRANSFER", false},
		{"filter takes matched", payAction, []string{"deposit.matched"}, nil, "deposit.matched", "BANK_TRANSFER", true},
		{"filter leaves bank transaction out", payAction, []string{"deposit.matched"}, nil, "bank.transaction", "BANK_TRANSFER", false},
		{"method filter takes bank transfer", payAction, nil, []string{"BANK_TRANSFER"}, "deposit.matched", "BANK_TRANSFER", true},
		{"method filter leaves bank transfer out", payAction, nil, []string{"CARD"}, "deposit.matched", "BANK_TRANSFER", false},
		{"JSON takes payment.paid", jsonType, nil, nil, "payment.paid", "CARD", true},
		{"JSON takes deposit.received", jsonType, nil, nil, "deposit.received", "BANK_TRANSFER", true},
		{"JSON quiet", jsonType, nil, nil, "payment.ready", "CARD", false},
		{"FORM takes payment.paid", form, nil, nil, "payment.paid", "CARD", true},
		{"FORM takes deposit.unmatched", form, nil, nil, "deposit.unmatched", "BANK_TRANSFER", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ep := &ent.WebhookEndpoint{ContentType: tc.contentType, EventTypes: tc.eventTypes, PayMethods: tc.payMethods}
			if got := wants(ep, tc.eventType, tc.method); got != tc.want {
				t.Errorf("a %s endpoint (event types %v, methods %v) wants %s of %q: %v, want %v",
					tc.contentType, tc.eventTypes, tc.payMethods, tc.eventType, tc.method, got, tc.want)
			}
		})
	}
}
