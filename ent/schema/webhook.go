package schema

import (
	"entgo.io/ent"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"

	"github.com/paymux/paymux/secrets"
)

// WebhookEndpoint is where a store's events of one mode are sent. The
// signing secret is kept encrypted: it must be read to sign.
type WebhookEndpoint struct{ ent.Schema }

func (WebhookEndpoint) Mixin() []ent.Mixin { return []ent.Mixin{StoreOwned{}, Timestamps{}} }

func (WebhookEndpoint) Fields() []ent.Field {
	return []ent.Field{
		field.String("id").Immutable().NotEmpty().DefaultFunc(func() string { return secrets.NewID("whe") }),
		field.Enum("mode").Values("TEST", "LIVE").Immutable(),
		field.String("url").NotEmpty(),
		field.String("description").Default(""),
		// Empty: every event type / every pay method.
		field.Strings("event_types").Optional(),
		field.Strings("pay_methods").Optional(),
		field.Enum("content_type").Values("JSON", "FORM", "PAYACTION").Default("JSON"),
		field.Bool("enabled").Default(true),
		field.String("disabled_reason").Default(""),
		field.Time("disabled_at").Optional().Nillable(),
		field.Time("failing_since").Optional().Nillable(),
		field.Bytes("secret_sealed").Sensitive(),
		field.Bytes("previous_secret_sealed").Optional().Sensitive(),
		field.Time("previous_secret_expires_at").Optional().Nillable(),
	}
}

func (WebhookEndpoint) Indexes() []ent.Index {
	return []ent.Index{index.Fields("store_id", "mode", "enabled")}
}

// WebhookDelivery is one event to one endpoint, written in the same
// transaction as the event, so no event is lost by a crash. Workers claim
// due deliveries with a lease; a lease that runs out (a worker died) makes
// the delivery due again: at least once.
type WebhookDelivery struct{ ent.Schema }

func (WebhookDelivery) Mixin() []ent.Mixin { return []ent.Mixin{StoreOwned{}, Timestamps{}} }

func (WebhookDelivery) Fields() []ent.Field {
	return []ent.Field{
		field.String("id").Immutable().NotEmpty().DefaultFunc(func() string { return secrets.NewID("whd") }),
		field.String("endpoint_id").Immutable().NotEmpty(),
		field.String("event_id").Immutable().NotEmpty(),
		field.String("event_type").Immutable().NotEmpty(),
		field.String("payment_id").Default("").Immutable(),
		field.String("merchant_payment_id").Default("").Immutable(),
		field.Enum("status").Values("PENDING", "SUCCEEDED", "FAILED"),
		field.Int("attempts").Default(0),
		field.Time("next_attempt_at"),
		// A worker holds the delivery until then.
		field.Time("lease_until").Optional().Nillable(),
		// The trigger of the next attempt: AUTOMATIC, or RESEND after a
		// resend. TEST marks a TEST call's record, which is never sent again.
		field.Enum("trigger").Values("AUTOMATIC", "RESEND", "TEST").Default("AUTOMATIC"),
		field.Int("last_status").Default(0),
	}
}

func (WebhookDelivery) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("endpoint_id", "event_id").Unique(),
		index.Fields("status", "next_attempt_at"),
		index.Fields("store_id", "created_at"),
		index.Fields("merchant_payment_id"),
	}
}

// WebhookAttempt is one HTTP request to an endpoint and its answer, kept
// for the delivery log (bodies truncated).
type WebhookAttempt struct{ ent.Schema }

func (WebhookAttempt) Mixin() []ent.Mixin { return []ent.Mixin{StoreOwned{}} }

func (WebhookAttempt) Fields() []ent.Field {
	return []ent.Field{
		field.String("id").Immutable().NotEmpty().DefaultFunc(func() string { return secrets.NewID("wha") }),
		field.String("endpoint_id").Immutable().NotEmpty(),
		// Empty for a TEST call.
		field.String("delivery_id").Default("").Immutable(),
		field.Int("number").Immutable(),
		field.Enum("trigger").Values("AUTOMATIC", "RESEND", "TEST").Immutable(),
		field.String("url").Immutable(),
		field.JSON("request_headers", map[string]string{}).Immutable(),
		field.Bytes("request_body").Immutable(),
		field.Int("response_status").Default(0).Immutable(),
		field.JSON("response_headers", map[string]string{}).Optional().Immutable(),
		field.Bytes("response_body").Optional().Immutable(),
		field.Bool("response_truncated").Default(false).Immutable(),
		field.Int64("latency_us").Immutable(),
		field.String("error").Default("").Immutable(),
		field.Time("created_at").Immutable().Default(now),
	}
}

func (WebhookAttempt) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("delivery_id", "number"),
		index.Fields("created_at"),
	}
}
