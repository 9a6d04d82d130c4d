package schema

import (
	"entgo.io/ent"
	"entgo.io/ent/schema/field"

	"github.com/paymux/paymux/tenant"
)

// Setting is a platform-wide value kept in the database, such as the hash of
// the generated admin token.
type Setting struct{ ent.Schema }

func (Setting) Mixin() []ent.Mixin { return []ent.Mixin{Timestamps{}} }

func (Setting) Fields() []ent.Field {
	return []ent.Field{
		field.String("id").Immutable().NotEmpty(),
		field.String("value").Sensitive(),
	}
}

func (Setting) Policy() ent.Policy { return tenant.SystemOnlyPolicy() }
