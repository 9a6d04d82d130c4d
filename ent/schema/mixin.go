package schema

import (
	"time"

	"entgo.io/ent"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/mixin"

	"github.com/paymux/paymux/tenant"
)

// StoreOwned marks an entity that belongs to one store. Its policy limits
// every query and mutation to the store in the request's viewer, so no
// handler can read or change another store's rows by forgetting a filter.
type StoreOwned struct{ mixin.Schema }

func (StoreOwned) Fields() []ent.Field {
	return []ent.Field{
		field.String("store_id").Immutable().NotEmpty(),
	}
}

func (StoreOwned) Policy() ent.Policy { return tenant.StoreOwnedPolicy() }

// Timestamps records when a row was created and last changed.
type Timestamps struct{ mixin.Schema }

func (Timestamps) Fields() []ent.Field {
	return []ent.Field{
		field.Time("created_at").Immutable().Default(now),
		field.Time("updated_at").Default(now).UpdateDefault(now),
	}
}

// now is truncated to microseconds, the precision PostgreSQL keeps, so a
// time read back equals the one written (page cursors compare them).
func now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }
