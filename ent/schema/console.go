package schema

import (
	"entgo.io/ent"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"

	"github.com/paymux/paymux/secrets"
	"github.com/paymux/paymux/tenant"
)

// ConsoleUser is a person who signs in to the web console. Only package
// console reads and writes these rows, in System contexts.
type ConsoleUser struct{ ent.Schema }

func (ConsoleUser) Mixin() []ent.Mixin { return []ent.Mixin{Timestamps{}} }

func (ConsoleUser) Fields() []ent.Field {
	return []ent.Field{
		field.String("id").Immutable().NotEmpty().DefaultFunc(func() string { return secrets.NewID("usr") }),
		// Lower-cased; unique.
		field.String("email").NotEmpty(),
		// argon2id in PHC string form; empty until the user sets a password
		// with their one-time link.
		field.String("password_hash").Default("").Sensitive(),
		field.Bool("platform_admin").Default(false),
		// Consecutive failed sign-ins since the last success or lock.
		field.Int("failed_sign_ins").Default(0),
		field.Time("locked_until").Optional().Nillable(),
		field.Time("last_sign_in_at").Optional().Nillable(),
	}
}

func (ConsoleUser) Indexes() []ent.Index {
	return []ent.Index{index.Fields("email").Unique()}
}

func (ConsoleUser) Policy() ent.Policy { return tenant.SystemOnlyPolicy() }

// ConsoleMembership is a console user's role in one store.
type ConsoleMembership struct{ ent.Schema }

func (ConsoleMembership) Mixin() []ent.Mixin { return []ent.Mixin{Timestamps{}} }

func (ConsoleMembership) Fields() []ent.Field {
	return []ent.Field{
		field.String("id").Immutable().NotEmpty().DefaultFunc(func() string { return secrets.NewID("mbr") }),
		field.String("user_id").Immutable().NotEmpty(),
		field.String("store_id").Immutable().NotEmpty(),
		field.Enum("role").Values("VIEWER", "DEVELOPER", "ADMIN", "OWNER"),
	}
}

func (ConsoleMembership) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("user_id", "store_id").Unique(),
		index.Fields("store_id", "role"),
	}
}

func (ConsoleMembership) Policy() ent.Policy { return tenant.SystemOnlyPolicy() }

// ConsoleSession is one signed-in browser. The cookie holds a random token;
// only its keyed hash is kept.
type ConsoleSession struct{ ent.Schema }

func (ConsoleSession) Fields() []ent.Field {
	return []ent.Field{
		field.String("id").Immutable().NotEmpty().DefaultFunc(func() string { return secrets.NewID("ses") }),
		field.Bytes("token_hash").Immutable().NotEmpty().Sensitive(),
		field.String("user_id").Immutable().NotEmpty(),
		field.Time("created_at").Immutable(),
		// Last use, written at most once a minute; the idle expiry counts
		// from it.
		field.Time("last_seen_at"),
		// The absolute expiry.
		field.Time("expires_at").Immutable(),
		// Set on sign-out (or when the user loses access): the session is
		// over whatever its times say.
		field.Time("ended_at").Optional().Nillable(),
		field.String("client_ip").Immutable().Default(""),
	}
}

func (ConsoleSession) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("token_hash").Unique(),
		index.Fields("user_id"),
		index.Fields("expires_at"),
	}
}

func (ConsoleSession) Policy() ent.Policy { return tenant.SystemOnlyPolicy() }

// ConsoleSetupToken is a one-time link to set a console user's password:
// the first owner's (printed on the first run) or an invited user's.
type ConsoleSetupToken struct{ ent.Schema }

func (ConsoleSetupToken) Fields() []ent.Field {
	return []ent.Field{
		field.String("id").Immutable().NotEmpty().DefaultFunc(func() string { return secrets.NewID("stk") }),
		field.Bytes("token_hash").Immutable().NotEmpty().Sensitive(),
		// The invited user; empty for the first owner's link, whose user is
		// created when the link is used (with the email given then).
		field.String("user_id").Immutable().Default(""),
		field.Time("created_at").Immutable(),
		field.Time("expires_at").Immutable(),
		field.Time("used_at").Optional().Nillable(),
	}
}

func (ConsoleSetupToken) Indexes() []ent.Index {
	return []ent.Index{index.Fields("token_hash").Unique()}
}

func (ConsoleSetupToken) Policy() ent.Policy { return tenant.SystemOnlyPolicy() }
