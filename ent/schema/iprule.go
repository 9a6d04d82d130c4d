package schema

import (
	"entgo.io/ent"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"

	"github.com/paymux/paymux/secrets"
)

// IPRule is one CIDR range allowed to use a store's secret keys.
type IPRule struct{ ent.Schema }

func (IPRule) Mixin() []ent.Mixin { return []ent.Mixin{StoreOwned{}, Timestamps{}} }

func (IPRule) Fields() []ent.Field {
	return []ent.Field{
		field.String("id").Immutable().NotEmpty().DefaultFunc(func() string { return secrets.NewID("ipr") }),
		// Normalised CIDR (iprule.ParseCIDR).
		field.String("cidr").Immutable().NotEmpty(),
		field.String("description").Default(""),
	}
}

func (IPRule) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("store", Store.Type).Ref("ip_rules").Field("store_id").Unique().Required().Immutable(),
	}
}

func (IPRule) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("store_id", "created_at"),
		index.Fields("store_id", "cidr").Unique(),
	}
}
