package schema

import (
	"entgo.io/ent"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"

	"github.com/paymux/paymux/secrets"
	"github.com/paymux/paymux/tenant"
)

// Store is a tenant (상점).
type Store struct{ ent.Schema }

func (Store) Mixin() []ent.Mixin { return []ent.Mixin{Timestamps{}} }

func (Store) Fields() []ent.Field {
	return []ent.Field{
		field.String("id").Immutable().NotEmpty().DefaultFunc(func() string { return secrets.NewID("st") }),
		field.String("name").NotEmpty(),
		field.String("contact_email").Default(""),
		field.Enum("state").Values("ACTIVE", "SUSPENDED").Default("ACTIVE"),
		// Live (not deleted) key pairs; raised only by a conditional update
		// below the limit, so two concurrent creates cannot pass it.
		field.Int("key_count").Default(0).NonNegative(),
	}
}

func (Store) Edges() []ent.Edge {
	return []ent.Edge{
		edge.To("keys", APIKey.Type),
		edge.To("ip_rules", IPRule.Type),
		edge.To("channels", Channel.Type),
		edge.To("payments", Payment.Type),
	}
}

func (Store) Indexes() []ent.Index {
	return []ent.Index{index.Fields("created_at")}
}

func (Store) Policy() ent.Policy { return tenant.StorePolicy() }
