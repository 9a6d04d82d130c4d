package schema

import (
	"entgo.io/ent"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"

	"github.com/paymux/paymux/secrets"
)

// BankAccount is a store's own account that buyers transfer to. Its
// number is sealed (bound to the account's id) and kept masked beside it;
// the last digits are kept apart to route a bank alert that shows only
// them.
type BankAccount struct{ ent.Schema }

func (BankAccount) Mixin() []ent.Mixin { return []ent.Mixin{StoreOwned{}, Timestamps{}} }

func (BankAccount) Fields() []ent.Field {
	return []ent.Field{
		field.String("id").Immutable().NotEmpty().DefaultFunc(func() string { return secrets.NewID("bac") }),
		field.Enum("mode").Values("TEST", "LIVE").Immutable(),
		field.String("bank").Immutable().NotEmpty(),
		field.Bytes("number_sealed").Immutable().Sensitive(),
		field.String("number_masked").Immutable(),
		// The last four digits, to find the account of an alert that masks
		// the rest.
		field.String("number_last4").Immutable(),
		field.String("holder").NotEmpty(),
		field.String("description").Default(""),
		field.String("cash_receipt_channel_id").Default(""),
		field.Time("archived_at").Optional().Nillable(),
	}
}

func (BankAccount) Indexes() []ent.Index {
	return []ent.Index{index.Fields("store_id", "created_at")}
}

// Deposit is one transaction on a store's bank account: a deposit to be
// matched to a bank transfer order, or a withdrawal only recorded. It is
// recorded once: the de-duplication key and the source's own id are unique
// per account (deposit/record.go findRecorded).
type Deposit struct{ ent.Schema }

func (Deposit) Mixin() []ent.Mixin { return []ent.Mixin{StoreOwned{}, Timestamps{}} }

func (Deposit) Fields() []ent.Field {
	return []ent.Field{
		field.String("id").Immutable().NotEmpty().DefaultFunc(func() string { return secrets.NewID("dep") }),
		field.Enum("mode").Values("TEST", "LIVE").Immutable(),
		field.String("bank_account_id").Immutable().NotEmpty(),
		field.Enum("type").Values("DEPOSIT", "WITHDRAWAL").Immutable(),
		field.Enum("status").Values("UNMATCHED", "MATCHED", "RECORDED"),
		field.Int64("amount").Immutable(),
		field.String("depositor_name").Immutable(),
		// NormalizeName of depositor_name: what matching compares.
		field.String("depositor_key").Immutable(),
		field.Int64("balance").Optional().Nillable().Immutable(),
		field.Time("transaction_at").Immutable(),
		field.Enum("source").Values("FEED", "MESSAGE", "STATEMENT").Immutable(),
		// The source's own id; nil when it gave none.
		field.String("source_id").Optional().Nillable().Immutable(),
		// bankmsg.Key of the transaction, and the unique key it was recorded
		// under: the same, or with "#n" for the n-th transaction of that key
		// one source told apart by its own ids.
		field.String("dedupe_base").Immutable().Default(""),
		field.String("dedupe_key").Immutable().NotEmpty(),
		field.String("note").Default("").Immutable(),
		field.String("unmatched_reason").Default(""),
		field.Int("candidates").Default(0),
		field.String("payment_id").Default(""),
		field.String("merchant_payment_id").Default(""),
		field.Enum("match_type").Values("AUTO", "SMART", "LATE", "MANUAL").Optional().Nillable(),
		field.Time("matched_at").Optional().Nillable(),
	}
}

func (Deposit) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("bank_account_id", "dedupe_key").Unique(),
		index.Fields("bank_account_id", "dedupe_base"),
		// possibleTwin: the same name and amount on an account.
		index.Fields("bank_account_id", "depositor_key", "amount"),
		index.Fields("bank_account_id", "source", "source_id").Unique(),
		index.Fields("store_id", "transaction_at"),
		// A late order looks for an unmatched deposit of its name and
		// amount.
		index.Fields("store_id", "depositor_key", "amount", "status"),
		index.Fields("payment_id"),
	}
}

// BankMessage is one bank SMS or app notification received, and what it
// became. The text is sealed: it may hold account and identity digits.
type BankMessage struct{ ent.Schema }

func (BankMessage) Mixin() []ent.Mixin { return []ent.Mixin{StoreOwned{}, Timestamps{}} }

func (BankMessage) Fields() []ent.Field {
	return []ent.Field{
		field.String("id").Immutable().NotEmpty().DefaultFunc(func() string { return secrets.NewID("bmsg") }),
		field.Enum("mode").Values("TEST", "LIVE").Immutable(),
		field.String("bank_account_id").Default("").Immutable(),
		field.Enum("status").Values("TRANSACTION", "DUPLICATE", "IGNORED", "UNPARSED").Immutable(),
		field.String("reason").Default("").Immutable(),
		field.String("shape").Default("").Immutable(),
		field.String("deposit_id").Default("").Immutable(),
		field.Bytes("text_sealed").Immutable().Sensitive(),
		field.Time("received_at").Immutable(),
		field.String("source_id").Optional().Nillable().Immutable(),
	}
}

func (BankMessage) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("store_id", "created_at"),
		index.Fields("store_id", "mode", "source_id").Unique(),
	}
}

// DepositSetting is a store's matching rules; a store without a row has
// the defaults.
type DepositSetting struct{ ent.Schema }

func (DepositSetting) Mixin() []ent.Mixin { return []ent.Mixin{StoreOwned{}, Timestamps{}} }

func (DepositSetting) Fields() []ent.Field {
	return []ent.Field{
		field.Enum("smart_matching").Values("OFF", "OLDEST", "NEWEST").Default("OFF"),
		field.Bool("match_late_orders").Default(false),
		field.Bool("report_bank_transactions").Default(false),
	}
}

func (DepositSetting) Indexes() []ent.Index {
	return []ent.Index{index.Fields("store_id").Unique()}
}
