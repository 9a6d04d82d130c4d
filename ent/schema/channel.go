package schema

import (
	"entgo.io/ent"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"

	"github.com/paymux/paymux/secrets"
)

// Channel is one PG contract of a store. Provider secrets are kept only as
// one AES-GCM ciphertext bound to the channel's id.
type Channel struct{ ent.Schema }

func (Channel) Mixin() []ent.Mixin { return []ent.Mixin{StoreOwned{}, Timestamps{}} }

func (Channel) Fields() []ent.Field {
	return []ent.Field{
		field.String("id").Immutable().NotEmpty().DefaultFunc(func() string { return secrets.NewID("ch") }),
		field.Enum("provider").Values("SANDBOX", "TOSSPAYMENTS", "NICEPAY").Immutable(),
		field.Enum("mode").Values("TEST", "LIVE").Immutable(),
		field.Enum("purpose").Values("PAYMENT", "IDENTITY_VERIFICATION").Immutable(),
		field.String("name").NotEmpty(),
		field.String("merchant_id").NotEmpty(),
		field.Enum("tax_type").Values("TAXABLE", "TAX_FREE", "COMBINED"),
		// JSON object of the secrets, encrypted; the names are kept apart in
		// clear so a channel can say which are set.
		field.Bytes("secrets_sealed").Optional().Sensitive(),
		field.Strings("secret_names").Optional(),
		field.Bool("default").Default(false),
		// Set when the channel was deleted while something still used it:
		// it takes nothing new; what it made keeps working.
		field.Time("archived_at").Optional().Nillable(),
	}
}

func (Channel) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("store", Store.Type).Ref("channels").Field("store_id").Unique().Required().Immutable(),
	}
}

func (Channel) Indexes() []ent.Index {
	return []ent.Index{index.Fields("store_id", "created_at")}
}
