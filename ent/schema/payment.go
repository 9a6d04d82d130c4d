package schema

import (
	"entgo.io/ent"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"

	"github.com/paymux/paymux/ent/schema/details"
	"github.com/paymux/paymux/secrets"
	"github.com/paymux/paymux/tenant"
)

// Payment is one payment of a store through one of its channels. Its status
// changes only through paystate, and each change writes an Event in the same
// transaction.
type Payment struct{ ent.Schema }

func (Payment) Mixin() []ent.Mixin { return []ent.Mixin{StoreOwned{}, Timestamps{}} }

// PaymentStatuses are paystate's states, in its order.
var PaymentStatuses = []string{
	"READY", "VIRTUAL_ACCOUNT_ISSUED", "PAY_PENDING", "PAID", "PARTIAL_CANCELLED", "CANCELLED", "FAILED", "EXPIRED",
}

func (Payment) Fields() []ent.Field {
	return []ent.Field{
		field.String("id").Immutable().NotEmpty().DefaultFunc(func() string { return secrets.NewID("pay") }),
		// "" for a bank transfer: no PG takes part.
		field.String("channel_id").Immutable(),
		field.String("provider").Immutable(),
		field.Enum("mode").Values("TEST", "LIVE").Immutable(),
		field.String("merchant_payment_id").Immutable().NotEmpty(),
		field.String("order_name").NotEmpty(),
		field.Enum("method").Values("CARD", "VIRTUAL_ACCOUNT", "TRANSFER", "MOBILE", "EASY_PAY", "BANK_TRANSFER").Immutable(),
		field.Enum("approval_model").Values("SERVER", "CLIENT").Immutable(),
		field.Enum("status").Values(PaymentStatuses...),
		field.String("currency").Default("KRW"),
		// Money, in won: never a float.
		field.Int64("total").Immutable(),
		field.Int64("tax_free").Immutable(),
		field.Int64("vat").Immutable(),
		field.Int64("paid").Default(0),
		field.Int64("cancelled").Default(0),
		field.Int64("cancelled_tax_free").Default(0),
		field.Int64("cancelled_vat").Default(0),
		field.String("customer_name").Default(""),
		field.String("customer_email").Default(""),
		field.String("customer_phone").Default(""),
		field.String("return_url").Default(""),
		field.String("key_id").Default("").Immutable(),
		field.String("pg_transaction_id").Default(""),
		// The window's result as the PG sent it, for the approval; it
		// holds a one-time auth token, so it is never printed.
		field.JSON("window_result", map[string]string{}).Optional().Sensitive(),
		// What paymux's checkout page needs to open the PG's window through
		// its JS SDK (script, parameters, launch code); none for a PG with
		// a hosted page of its own (the sandbox).
		field.JSON("checkout", &details.Checkout{}).Optional(),
		field.JSON("card", &details.Card{}).Optional(),
		field.JSON("virtual_account", &details.VirtualAccount{}).Optional(),
		// Due time of an issued virtual account, kept apart for the expiry sweep.
		field.Time("due_at").Optional().Nillable(),
		field.JSON("failure", &details.Failure{}).Optional(),
		// A per-payment secret the PG repeats in its notifications.
		field.String("notification_secret").Default("").Sensitive(),
		field.String("receipt_url").Default(""),
		field.Time("paid_at").Optional().Nillable(),
		field.Time("cancelled_at").Optional().Nillable(),
		field.Time("failed_at").Optional().Nillable(),
		// When the payment last changed status, for the PAY_PENDING sweep.
		field.Time("status_at"),
		// A charge of a billing key: the key (its name, as the API shows
		// it), and the schedule that made it, if one did.
		field.String("billing_key_id").Default("").Immutable(),
		field.String("schedule_id").Default("").Immutable(),
		// A bank transfer order: the account ("" = any of the store's of
		// the mode), the depositor name as given and as compared
		// (bankmsg.NormalizeName), the cash receipt asked for, and the
		// deposit that paid it. due_at is when it expires unpaid.
		field.String("bank_account_id").Default("").Immutable(),
		field.String("depositor_name").Default("").Immutable(),
		field.String("depositor_key").Default("").Immutable(),
		field.JSON("bank_transfer", &details.BankTransfer{}).Optional(),
		field.String("deposit_id").Default(""),
	}
}

func (Payment) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("store", Store.Type).Ref("payments").Field("store_id").Unique().Required().Immutable(),
		edge.To("cancellations", Cancellation.Type),
		edge.To("cash_receipt", CashReceipt.Type).Unique(),
	}
}

func (Payment) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("store_id", "merchant_payment_id").Unique(),
		index.Fields("store_id", "created_at"),
		index.Fields("status", "status_at"),
		index.Fields("status", "due_at"),
		// Matching: the open orders of a name and amount, oldest first
		// (created_at too, so that SQLite, with no statistics, takes this
		// index for deposit.candidates rather than one that gives the order).
		index.Fields("store_id", "depositor_key", "total", "status", "created_at"),
	}
}

// PreRegistration is the amount a merchant payment id must be paid with.
type PreRegistration struct{ ent.Schema }

func (PreRegistration) Mixin() []ent.Mixin { return []ent.Mixin{StoreOwned{}, Timestamps{}} }

func (PreRegistration) Fields() []ent.Field {
	return []ent.Field{
		field.String("merchant_payment_id").Immutable().NotEmpty(),
		field.Int64("total"),
		field.Int64("tax_free").Optional().Nillable(),
		field.String("currency").Default("KRW"),
	}
}

func (PreRegistration) Indexes() []ent.Index {
	return []ent.Index{index.Fields("store_id", "merchant_payment_id").Unique()}
}

// Cancellation is one cancel of a payment. It is written REQUESTED before
// the PG is asked, so its amount is held against the cancellable balance
// while the PG answers; concurrent cancels can never exceed what was paid.
type Cancellation struct{ ent.Schema }

func (Cancellation) Mixin() []ent.Mixin { return []ent.Mixin{StoreOwned{}, Timestamps{}} }

func (Cancellation) Fields() []ent.Field {
	return []ent.Field{
		field.String("id").Immutable().NotEmpty().DefaultFunc(func() string { return secrets.NewID("cnl") }),
		field.String("payment_id").Immutable().NotEmpty(),
		field.Enum("status").Values("REQUESTED", "SUCCEEDED", "FAILED"),
		field.Int64("amount").Immutable(),
		field.Int64("tax_free").Immutable(),
		field.Int64("vat").Immutable(),
		field.Bool("full").Immutable(),
		field.String("reason").Immutable(),
		field.String("pg_cancellation_id").Default(""),
		field.String("refund_bank").Default("").Immutable(),
		// The refund account number, sealed for the PG and masked for display.
		field.Bytes("refund_number_sealed").Optional().Sensitive().Immutable(),
		field.String("refund_number_masked").Default("").Immutable(),
		field.String("refund_holder").Default("").Immutable(),
		field.String("refund_phone").Default("").Immutable().Sensitive(),
		field.Enum("refund_status").Values("PENDING", "COMPLETED", "FAILED").Optional().Nillable(),
		field.JSON("failure", &details.Failure{}).Optional(),
		field.Time("cancelled_at").Optional().Nillable(),
	}
}

func (Cancellation) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("payment", Payment.Type).Ref("cancellations").Field("payment_id").Unique().Required().Immutable(),
	}
}

func (Cancellation) Indexes() []ent.Index {
	return []ent.Index{index.Fields("status", "created_at")}
}

// CashReceipt is the cash receipt (현금영수증) of a payment.
type CashReceipt struct{ ent.Schema }

func (CashReceipt) Mixin() []ent.Mixin { return []ent.Mixin{StoreOwned{}, Timestamps{}} }

func (CashReceipt) Fields() []ent.Field {
	return []ent.Field{
		field.String("id").Immutable().NotEmpty().DefaultFunc(func() string { return secrets.NewID("cr") }),
		field.String("payment_id").Immutable().NotEmpty(),
		field.Enum("type").Values("INCOME_DEDUCTION", "EXPENSE_PROOF").Immutable(),
		field.String("identity_masked").Immutable(),
		field.Enum("status").Values("REQUESTED", "ISSUED", "FAILED", "CANCELLED"),
		field.Int64("amount").Immutable(),
		field.Int64("tax_free").Immutable(),
		field.Int64("vat").Immutable(),
		field.String("approval_number").Default(""),
		field.String("pg_receipt_id").Default(""),
		// The order id the receipt was asked for under at the PG: its own
		// id when paymux asked, the payment's when the PG issued it with a
		// deposit. "" on receipts from before it was kept: the payment's.
		field.String("pg_order_id").Default(""),
		field.String("receipt_url").Default(""),
		field.JSON("failure", &details.Failure{}).Optional(),
		field.Time("issued_at").Optional().Nillable(),
		field.Time("cancelled_at").Optional().Nillable(),
	}
}

func (CashReceipt) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("payment", Payment.Type).Ref("cash_receipt").Field("payment_id").Unique().Required().Immutable(),
	}
}

// Event is something a merchant can see happen, written in the same
// transaction as the change itself; webhooks deliver them from here.
type Event struct{ ent.Schema }

func (Event) Mixin() []ent.Mixin { return []ent.Mixin{StoreOwned{}} }

func (Event) Fields() []ent.Field {
	return []ent.Field{
		field.String("id").Immutable().NotEmpty().DefaultFunc(func() string { return secrets.NewID("evt") }),
		field.Enum("mode").Values("TEST", "LIVE").Immutable(),
		// payment.paid, payment.cancelled, ... (see server/events.go).
		field.String("type").Immutable().NotEmpty(),
		field.String("payment_id").Default("").Immutable(),
		field.String("merchant_payment_id").Default("").Immutable(),
		field.String("from_status").Default("").Immutable(),
		field.String("to_status").Default("").Immutable(),
		// The payment as the API shows it at that moment (JSON).
		field.Bytes("data").Immutable(),
		field.Time("created_at").Immutable().Default(now),
	}
}

func (Event) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("store_id", "created_at"),
		index.Fields("payment_id", "created_at"),
	}
}

// IdempotencyRecord remembers a mutating call made with an Idempotency-Key:
// the request's hash, and once done, its response, so a retry gets the
// same answer.
type IdempotencyRecord struct{ ent.Schema }

func (IdempotencyRecord) Mixin() []ent.Mixin { return []ent.Mixin{Timestamps{}} }

func (IdempotencyRecord) Fields() []ent.Field {
	return []ent.Field{
		// The caller's store, or "admin".
		field.String("scope").Immutable().NotEmpty(),
		field.String("key").Immutable().NotEmpty(),
		field.String("procedure").NotEmpty(),
		field.Bytes("request_hash"),
		field.Enum("state").Values("IN_PROGRESS", "DONE"),
		// The response message (protobuf), or the error as a google.rpc.Status.
		field.Bytes("response").Optional(),
		field.Bytes("error").Optional(),
		// An IN_PROGRESS record whose lease passed (its call died) may be
		// taken over by a retry.
		field.Time("lease_until"),
		field.Time("expires_at"),
	}
}

func (IdempotencyRecord) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("scope", "key").Unique(),
		index.Fields("expires_at"),
	}
}

func (IdempotencyRecord) Policy() ent.Policy { return tenant.SystemOnlyPolicy() }
