package schema

import (
	"entgo.io/ent"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"

	"github.com/paymux/paymux/secrets"
)

// APIKey is a key pair: a public client key and a secret key kept only as a
// keyed hash. A deleted key stays as a tombstone (deleted_at set, hashes
// cleared) so a call with it is told the key was deleted.
type APIKey struct{ ent.Schema }

func (APIKey) Mixin() []ent.Mixin { return []ent.Mixin{StoreOwned{}, Timestamps{}} }

func (APIKey) Fields() []ent.Field {
	return []ent.Field{
		field.String("id").Immutable().NotEmpty().DefaultFunc(func() string { return secrets.NewID("key") }),
		field.String("name").NotEmpty(),
		field.Enum("mode").Values("TEST", "LIVE").Immutable(),
		field.Enum("approval_model").Values("SERVER", "CLIENT").Immutable(),
		field.Enum("auth_method").Values("BASIC", "BEARER").Immutable(),
		field.String("client_key").Immutable().Unique().NotEmpty(),
		field.Bytes("secret_hash").Sensitive(),
		field.String("secret_prefix"),
		// Raised on every reissue; access tokens carry it, so a reissue
		// revokes them.
		field.Int64("secret_version").Default(1),
		field.Time("secret_issued_at"),
		// The secret replaced by the last reissue, to tell its user why it
		// stopped working.
		field.Bytes("previous_secret_hash").Optional().Sensitive(),
		field.Time("expires_at").Optional().Nillable(),
		// Expiry of the current access token; the token itself is derived
		// from the key, so it is never stored.
		field.Time("token_expires_at").Optional().Nillable(),
		field.Time("last_used_at").Optional().Nillable(),
		field.String("last_used_ip").Default(""),
		field.Time("deleted_at").Optional().Nillable(),
	}
}

func (APIKey) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("store", Store.Type).Ref("keys").Field("store_id").Unique().Required().Immutable(),
	}
}

func (APIKey) Indexes() []ent.Index {
	return []ent.Index{index.Fields("store_id", "created_at")}
}
