// Package details holds the JSON documents kept in payment rows. It is apart
// from package schema because the generated ent code imports these types.
package details

// Card is what the PG reported of the card: never the full number.
type Card struct {
	Issuer            string `json:"issuer,omitempty"`
	Acquirer          string `json:"acquirer,omitempty"`
	Number            string `json:"number,omitempty"` // BIN + last 4 at most
	Type              string `json:"type,omitempty"`
	ApprovalNumber    string `json:"approval_number,omitempty"`
	InstallmentMonths int    `json:"installment_months,omitempty"`
	InterestFree      bool   `json:"interest_free,omitempty"`
}

// VirtualAccount is an issued virtual account.
type VirtualAccount struct {
	Bank          string `json:"bank"`
	AccountNumber string `json:"account_number"`
	Holder        string `json:"holder,omitempty"`
	CustomerName  string `json:"customer_name,omitempty"`
	DepositorName string `json:"depositor_name,omitempty"`
	// Unix microseconds; 0 when not set.
	DueAt       int64 `json:"due_at,omitempty"`
	DepositedAt int64 `json:"deposited_at,omitempty"`
	// Ask the PG for a cash receipt on deposit.
	CashReceiptType     string `json:"cash_receipt_type,omitempty"`
	CashReceiptIdentity string `json:"cash_receipt_identity,omitempty"` // masked
}

// Failure says why a payment or cancel failed.
type Failure struct {
	Reason    string `json:"reason"`
	Message   string `json:"message,omitempty"`
	PGCode    string `json:"pg_code,omitempty"`
	PGMessage string `json:"pg_message,omitempty"`
	Decline   string `json:"decline,omitempty"`
}

// Checkout is what paymux's checkout page needs to open a PG's window
// through the PG's JS SDK: the script, the arguments and the code that
// calls it (from the adapter). Nothing here is secret: a PG's client key is
// public by design.
type Checkout struct {
	SDKURL string            `json:"sdk_url"`
	Params map[string]string `json:"params"`
	Launch string            `json:"launch"`
}

// BankTransfer is a bank transfer order's account and cash receipt. The
// account number is the one shown to the buyer, kept as a virtual
// account's is (its BankAccount keeps it sealed and shows it masked); the
// cash receipt identity is sealed for the payment, to be sent to the PG
// when a deposit pays the order.
type BankTransfer struct {
	// The account shown to the buyer: the order's, or the store's first of
	// the mode when the order names none.
	AccountID     string `json:"account_id"`
	Bank          string `json:"bank"`
	AccountNumber string `json:"account_number"`
	Holder        string `json:"holder"`
	// Unix microseconds of the deposit that paid it; 0 before.
	DepositedAt               int64  `json:"deposited_at,omitempty"`
	CashReceiptType           string `json:"cash_receipt_type,omitempty"`
	CashReceiptIdentitySealed []byte `json:"cash_receipt_identity_sealed,omitempty"`
	CashReceiptIdentity       string `json:"cash_receipt_identity,omitempty"` // masked
}
