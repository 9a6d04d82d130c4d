package schema

import (
	"entgo.io/ent"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"

	"github.com/paymux/paymux/secrets"
	"github.com/paymux/paymux/tenant"
)

// LogRecord is one API call or one PG call, as the merchant's log shows it
// (NicePay's 웹로그): written after the fact, in batches, with request and
// response bodies masked by package redact before they get here. Webhook
// attempts have their own table (WebhookAttempt) and are not repeated here.
type LogRecord struct{ ent.Schema }

func (LogRecord) Fields() []ent.Field {
	return []ent.Field{
		field.String("id").Immutable().NotEmpty().DefaultFunc(func() string { return secrets.NewID("log") }),
		// The store the call acted for; empty for a call nobody could be
		// identified for (refused before authentication), which only the
		// administrator sees. Not the StoreOwned mixin: that one needs a
		// store.
		field.String("store_id").Immutable().Default(""),
		// TEST or LIVE: the calling key's mode, or the PG channel's. Empty
		// for administrator and unidentified calls.
		field.String("mode").Immutable().Default(""),
		field.Enum("kind").Values("API", "PG").Immutable(),
		// When the call began.
		field.Time("created_at").Immutable(),
		// The API call's request id; a PG call carries the id of the API
		// call (or background job) that made it.
		field.String("request_id").Immutable().Default(""),
		// grpc, grpcweb, connect or rest; for a PG call, the provider.
		field.String("surface").Immutable().Default(""),
		// The procedure (/paymux.v1.PaymentService/CreatePayment), or the
		// provider operation (sandbox/Approve).
		field.String("method").Immutable().NotEmpty(),
		// REST only: the HTTP verb and path the client used.
		field.String("http_method").Immutable().Default(""),
		field.String("path").Immutable().Default(""),
		field.Bool("ok").Immutable(),
		// OK or an UPPER_SNAKE gRPC code; for a PG call, OK or the error kind.
		field.String("code").Immutable(),
		field.Int("http_status").Immutable().Default(0),
		// The ErrorInfo reason, or the PG's own result code.
		field.String("reason").Immutable().Default(""),
		field.String("message").Immutable().Default(""),
		field.String("key_id").Immutable().Default(""),
		// The console user who made the call, for calls made in the web
		// console (email as it was then).
		field.String("user_id").Immutable().Default(""),
		field.String("user_email").Immutable().Default(""),
		field.String("client_ip").Immutable().Default(""),
		field.String("payment_id").Immutable().Default(""),
		field.String("merchant_payment_id").Immutable().Default(""),
		field.Int64("latency_us").Immutable(),
		field.JSON("request_headers", map[string]string{}).Optional().Immutable(),
		field.Bytes("request_body").Optional().Immutable(),
		field.Bytes("response_body").Optional().Immutable(),
		// A body was cut at logs.max_body_bytes.
		field.Bool("truncated").Immutable().Default(false),
	}
}

func (LogRecord) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("store_id", "kind", "created_at"),
		index.Fields("created_at"),
		index.Fields("payment_id"),
		index.Fields("merchant_payment_id"),
		index.Fields("request_id"),
	}
}

func (LogRecord) Policy() ent.Policy { return tenant.StoreOwnedPolicy() }
