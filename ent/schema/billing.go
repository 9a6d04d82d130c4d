package schema

import (
	"entgo.io/ent"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"

	"github.com/paymux/paymux/ent/schema/details"
	"github.com/paymux/paymux/secrets"
)

// BillingKey is a card kept at a PG for later charges (빌링키). paymux keeps
// the PG's key encrypted and the card's BIN and last 4, never the number.
type BillingKey struct{ ent.Schema }

func (BillingKey) Mixin() []ent.Mixin { return []ent.Mixin{StoreOwned{}, Timestamps{}} }

func (BillingKey) Fields() []ent.Field {
	return []ent.Field{
		field.String("id").Immutable().NotEmpty().DefaultFunc(func() string { return secrets.NewID("bk") }),
		// The merchant's name for the key (customer_uid), or the id.
		field.String("name").Immutable().NotEmpty(),
		// name while the key is ACTIVE, cleared when it is deleted: the
		// unique index on it lets a deleted key's name be used again.
		field.String("active_name").Optional().Nillable(),
		field.String("channel_id").Immutable().NotEmpty(),
		field.String("provider").Immutable().NotEmpty(),
		field.Enum("mode").Values("TEST", "LIVE").Immutable(),
		// PENDING while the buyer is in the window (CreateBillingKeyWindow).
		field.Enum("status").Values("ACTIVE", "DELETED", "PENDING"),
		// The PG's billing key, sealed under the master key; none while
		// PENDING.
		field.Bytes("pg_key_sealed").Optional().Sensitive(),
		// Where the window sends the buyer on to.
		field.String("return_url").Default(""),
		// What paymux's checkout page needs to open the PG's window through
		// its JS SDK (script, parameters, launch code); none for a PG with
		// a hosted page of its own (the sandbox).
		field.JSON("checkout", &details.Checkout{}).Optional(),
		field.JSON("card", &details.Card{}).Optional(),
		field.String("customer_name").Default(""),
		field.String("customer_email").Default(""),
		field.String("customer_phone").Default(""),
		field.String("key_id").Default("").Immutable(),
		field.Time("deleted_at").Optional().Nillable(),
	}
}

func (BillingKey) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("store_id", "active_name").Unique(),
		index.Fields("store_id", "name"),
		index.Fields("store_id", "created_at"),
	}
}

// Schedule is a charge of a billing key that paymux makes at its time,
// exactly once: the executor moves it SCHEDULED → STARTED in the same
// transaction as it creates its payment (whose merchant payment id is
// unique), and the payment's outcome ends it (SUCCEEDED or FAILED) in the
// transaction that records that outcome.
type Schedule struct{ ent.Schema }

func (Schedule) Mixin() []ent.Mixin { return []ent.Mixin{StoreOwned{}, Timestamps{}} }

// ScheduleStatuses are a schedule's states.
var ScheduleStatuses = []string{"SCHEDULED", "STARTED", "SUCCEEDED", "FAILED", "REVOKED"}

func (Schedule) Fields() []ent.Field {
	return []ent.Field{
		field.String("id").Immutable().NotEmpty().DefaultFunc(func() string { return secrets.NewID("sch") }),
		// The key's row id, and its name as the API shows it.
		field.String("billing_key_id").Immutable().NotEmpty(),
		field.String("billing_key_name").Immutable().NotEmpty(),
		field.String("channel_id").Immutable().NotEmpty(),
		field.Enum("mode").Values("TEST", "LIVE").Immutable(),
		field.Enum("status").Values(ScheduleStatuses...),
		field.String("merchant_payment_id").Immutable().NotEmpty(),
		field.String("order_name").NotEmpty(),
		// Money, in won: never a float.
		field.Int64("total"),
		field.Int64("tax_free"),
		field.Int64("vat"),
		field.Int("installment_months").Default(0),
		field.String("customer_name").Default(""),
		field.String("customer_email").Default(""),
		field.String("customer_phone").Default(""),
		field.Time("pay_at"),
		// Retry policy: 0 retries means none.
		field.Int64("retry_interval_seconds").Default(0).Immutable(),
		field.Int("max_retries").Default(0).Immutable(),
		field.Int("retry_number").Default(0).Immutable(),
		field.String("retry_of").Default("").Immutable(),
		field.String("payment_id").Default(""),
		field.String("key_id").Default("").Immutable(),
		field.Time("started_at").Optional().Nillable(),
		field.Time("ended_at").Optional().Nillable(),
		field.Time("revoked_at").Optional().Nillable(),
		field.JSON("failure", &details.Failure{}).Optional(),
	}
}

func (Schedule) Indexes() []ent.Index {
	return []ent.Index{
		// The executor's claim: due SCHEDULED rows by time.
		index.Fields("status", "pay_at"),
		index.Fields("store_id", "billing_key_id", "status"),
		index.Fields("store_id", "pay_at"),
		// One schedule per merchant payment id: a schedule's payment is
		// made once.
		index.Fields("store_id", "merchant_payment_id").Unique(),
	}
}
