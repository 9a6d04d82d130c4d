package providers

import (
	"net/http"
	"net/netip"
	"slices"
	"time"
)

// Amount is what a charge asks for: the total and its tax split.
type Amount struct {
	Total   int64  // VAT and tax-free part included
	TaxFree int64  // tax-free (면세) part of Total
	VAT     *int64 // VAT part of Total; nil: the PG's default, (Total-TaxFree)/11 rounded
	// Currency is the ISO 4217 code; "" means KRW.
	Currency string
}

// PayMethod is how a payment is paid.
type PayMethod string

const (
	MethodCard           PayMethod = "CARD"
	MethodVirtualAccount PayMethod = "VIRTUAL_ACCOUNT" // 가상계좌
	MethodTransfer       PayMethod = "TRANSFER"        // 계좌이체
	MethodMobile         PayMethod = "MOBILE"          // 휴대폰
	MethodEasyPay        PayMethod = "EASY_PAY"        // 간편결제
)

// Status is a payment's state at the PG, in paymux's names (DOMAIN §3).
// PAY_PENDING is paymux's own (an answer it does not have) and never
// reported by a PG.
type Status string

const (
	StatusReady                Status = "READY"
	StatusVirtualAccountIssued Status = "VIRTUAL_ACCOUNT_ISSUED"
	StatusPaid                 Status = "PAID"
	StatusPartialCancelled     Status = "PARTIAL_CANCELLED"
	StatusCancelled            Status = "CANCELLED"
	StatusFailed               Status = "FAILED"
	StatusExpired              Status = "EXPIRED" // virtual account not paid by its due time
)

// Buyer is the buyer as some PGs want it on a request. Optional everywhere.
type Buyer struct {
	Name  string
	Email string
	Phone string
}

// WindowPurpose is what a window is opened for.
type WindowPurpose string

const (
	WindowPayment    WindowPurpose = "PAYMENT"     // pay now; Approve follows
	WindowBillingKey WindowPurpose = "BILLING_KEY" // register a card; IssueBillingKey follows
)

// ApprovalModel is who approves a window's payment.
type ApprovalModel string

const (
	ApprovalServer ApprovalModel = "SERVER"
	ApprovalClient ApprovalModel = "CLIENT"
)

// PrepareWindowRequest asks for what the browser needs to open the window.
type PrepareWindowRequest struct {
	Purpose WindowPurpose // "" means WindowPayment
	// ApprovalModel is who approves a payment window: "" or ApprovalServer
	// (paymux calls Approve after the window returns) or ApprovalClient
	// (paymux approves as soon as the window returns, or the PG's window
	// approves by itself where the channel has such a key).
	ApprovalModel ApprovalModel
	Method        PayMethod // "" means MethodCard
	OrderID       string
	OrderName     string
	Amount        Amount // unused for WindowBillingKey
	// CustomerKey names the buyer for a billing-key window (Toss customerKey).
	CustomerKey string
	// ReturnURL receives the window's result (NicePay returnUrl, Toss
	// successUrl, KCP Ret_URL, Inicis returnUrl); FailURL the failure where
	// the PG separates them.
	ReturnURL string
	FailURL   string
	Buyer     Buyer
}

// PrepareWindowResult is what the browser needs. Params are opaque to paymux:
// they go to the PG's JS SDK as they are.
type PrepareWindowResult struct {
	SDKURL      string            // the PG's script to load, if any
	Params      map[string]string // arguments for the SDK call or form fields to post
	RedirectURL string            // a page to send the buyer to instead, if any (sandbox checkout)
	ExpiresAt   time.Time         // zero: the PG states none
	// Launch is the JavaScript that paymux's checkout page runs once
	// SDKURL has loaded, to open the PG's window: a function body in which
	// `params` is Params as a JavaScript object of strings. It comes from
	// the adapter, never from a request.
	Launch string
}

// WindowResult is what the PG's window sent to ReturnURL (form fields or
// query parameters: NicePay tid/authToken/signature, Toss paymentKey, KCP
// enc_data/enc_info/tran_cd, Inicis authToken/authUrl/netCancelUrl), passed
// back unchanged to Approve, IssueBillingKey or NetCancel.
type WindowResult map[string]string

// ApproveRequest confirms a window's payment.
type ApproveRequest struct {
	OrderID string
	// Amount is what paymux expects (pre-registered); the PG refuses another
	// amount than the window authenticated.
	Amount Amount
	Window WindowResult
	// IdempotencyKey makes a retry return the first answer (sent as the
	// Idempotency-Key header where the PG takes one). The order id is the
	// PG's own guard: a second charge of one order id is refused.
	IdempotencyKey string
}

// LookupRequest names a payment by PG transaction id or, when that was never
// received, by order id.
type LookupRequest struct {
	PGTransactionID string
	OrderID         string
	// OrderDate is the day the order was placed; NicePay needs it to search
	// by order id. Zero: the adapter uses today.
	OrderDate time.Time
}

// RefundAccount is where a deposited virtual account is refunded.
type RefundAccount struct {
	Bank   Bank
	Number Redacted // account number, digits only
	Holder string   // 예금주
	Phone  string   // some PGs ask for the holder's phone
}

// CancelRequest cancels all or part of a payment.
type CancelRequest struct {
	PGTransactionID string
	OrderID         string
	// Amount to cancel; 0 cancels everything still cancellable.
	Amount int64
	// TaxFree is the tax-free part of Amount; nil: 0, or the least that
	// fits when less taxable amount is left than Amount.
	TaxFree *int64
	// VAT is the VAT part of Amount; nil: the PG derives it. Most PGs take
	// no VAT on a cancel (see Capabilities, CapVATCancel).
	VAT *int64
	// ExpectedCancellable is the guard: cancel only if the cancellable
	// balance is still this. Where the PG has no guard (CapCancelGuard),
	// paymux checks it against its own records instead.
	ExpectedCancellable *int64
	Reason              string
	// RefundAccount is required to refund a deposited virtual account.
	RefundAccount  *RefundAccount
	IdempotencyKey string
}

// NetCancelRequest voids an approval whose answer was lost.
type NetCancelRequest struct {
	OrderID         string
	PGTransactionID string       // when known
	Window          WindowResult // the window result Approve used (Inicis needs its netCancelUrl)
	Reason          string
}

// KeyInRequest charges card data at once.
type KeyInRequest struct {
	OrderID           string
	OrderName         string
	Amount            Amount
	Card              CardData
	InstallmentMonths int // 0: lump sum; 2-12 from 50,000 KRW
	Buyer             Buyer
	IdempotencyKey    string
}

// IssueBillingKeyRequest stores a card: exactly one of Card and Window.
type IssueBillingKeyRequest struct {
	CustomerKey    string // the merchant's name for the buyer (Toss customerKey)
	OrderID        string // NicePay wants a unique order id for the registration
	Card           *CardData
	Window         WindowResult
	Buyer          Buyer
	IdempotencyKey string
}

// ChargeBillingKeyRequest charges a billing key now.
type ChargeBillingKeyRequest struct {
	BillingKey        string
	CustomerKey       string
	OrderID           string
	OrderName         string
	Amount            Amount
	InstallmentMonths int
	Buyer             Buyer
	IdempotencyKey    string
}

// DeleteBillingKeyRequest deletes a billing key.
type DeleteBillingKeyRequest struct {
	BillingKey  string
	CustomerKey string
	OrderID     string // NicePay wants a unique order id for the deletion
	Reason      string
}

// BillingKey is a stored card at the PG.
type BillingKey struct {
	Key         string // NicePay bid, Toss billingKey, KCP batch_key, Inicis billKey
	CustomerKey string
	Card        CardInfo
	IssuedAt    time.Time
	DeletedAt   time.Time // zero while usable
}

// CashReceiptType is the purpose of a cash receipt.
type CashReceiptType string

const (
	CashReceiptIncomeDeduction CashReceiptType = "INCOME_DEDUCTION" // 소득공제: phone or cash-receipt card number
	CashReceiptExpenseProof    CashReceiptType = "EXPENSE_PROOF"    // 지출증빙: business registration number
)

// CashReceiptSubject is who a cash receipt is issued to.
type CashReceiptSubject struct {
	Type     CashReceiptType
	Identity Redacted // digits: phone, cash-receipt card or business registration number
}

// IssueVirtualAccountRequest issues a virtual account.
type IssueVirtualAccountRequest struct {
	OrderID   string
	OrderName string
	Amount    Amount
	Bank      Bank
	// DueAt is the deposit deadline; zero: the PG's default (7 days at
	// NicePay and Toss).
	DueAt time.Time
	// AccountHolder is the holder shown to the depositor (usually the
	// merchant's name); "" for the PG's default.
	AccountHolder string
	CustomerName  string // the buyer, as the PG records the expected depositor
	// CashReceipt, when set, asks the PG to issue a cash receipt on deposit.
	CashReceipt    *CashReceiptSubject
	Buyer          Buyer
	IdempotencyKey string
}

// CloseVirtualAccountRequest closes an issued virtual account before any
// deposit.
type CloseVirtualAccountRequest struct {
	PGTransactionID string
	OrderID         string
	Reason          string
}

// IssueCashReceiptRequest requests a cash receipt.
type IssueCashReceiptRequest struct {
	OrderID   string
	OrderName string
	Amount    Amount
	Subject   CashReceiptSubject
	// PGTransactionID is the payment the receipt covers, where the PG links
	// them; "" for a stand-alone receipt (bank transfer matched by paymux).
	PGTransactionID string
	IdempotencyKey  string
}

// CancelCashReceiptRequest cancels all or part of a cash receipt.
type CancelCashReceiptRequest struct {
	ReceiptID      string
	OrderID        string
	Amount         int64  // 0: everything left
	TaxFree        *int64 // tax-free part of Amount
	VAT            *int64 // VAT part of Amount; nil: derived
	Reason         string
	IdempotencyKey string
}

// LookupCashReceiptRequest names a cash receipt.
type LookupCashReceiptRequest struct {
	ReceiptID string
	OrderID   string
}

// CashReceiptStatus is where a cash receipt is.
type CashReceiptStatus string

const (
	CashReceiptRequested        CashReceiptStatus = "REQUESTED" // sent on to the National Tax Service, not confirmed yet
	CashReceiptIssued           CashReceiptStatus = "ISSUED"
	CashReceiptFailed           CashReceiptStatus = "FAILED"
	CashReceiptPartialCancelled CashReceiptStatus = "PARTIAL_CANCELLED"
	CashReceiptCancelled        CashReceiptStatus = "CANCELLED"
)

// CashReceipt is a cash receipt as the PG sees it.
type CashReceipt struct {
	ReceiptID      string // NicePay receipt tid, Toss receiptKey, ...
	OrderID        string
	Type           CashReceiptType
	Status         CashReceiptStatus
	ApprovalNumber string  // the National Tax Service's number, once issued
	Amounts        Amounts // Paid is Total; cancels as for a payment
	RequestedAt    time.Time
	IssuedAt       time.Time
	CancelledAt    time.Time
	Failure        *Error // why FAILED
	ReceiptURL     string
}

// Amounts are a payment's amounts as the PG keeps them.
type Amounts struct {
	Total            int64
	TaxFree          int64
	VAT              int64
	Paid             int64 // collected so far: Total once paid, 0 for an unpaid virtual account
	Cancelled        int64
	CancelledTaxFree int64
	CancelledVAT     int64
}

// Supply is the supply value (공급가액): Total less tax-free part and VAT.
func (a Amounts) Supply() int64 { return a.Total - a.TaxFree - a.VAT }

// Cancellable is what can still be cancelled (or refunded).
func (a Amounts) Cancellable() int64 { return a.Paid - a.Cancelled }

// CardType is credit, check (debit) or gift.
type CardType string

const (
	CardTypeCredit CardType = "CREDIT"
	CardTypeCheck  CardType = "CHECK"
	CardTypeGift   CardType = "GIFT"
)

// CardInfo is what a PG reports of a card: never the full number.
type CardInfo struct {
	Issuer            CardCompany
	Acquirer          CardCompany
	PGIssuerCode      string // the PG's own code, kept when Issuer is unknown
	PGAcquirerCode    string
	Number            string // masked by the PG: BIN + last 4 at most
	Type              CardType
	ApprovalNumber    string // 승인번호
	InstallmentMonths int
	InterestFree      bool
}

// VirtualAccount is an issued virtual account.
type VirtualAccount struct {
	Bank          Bank
	AccountNumber string
	Holder        string // 예금주 shown to the depositor
	CustomerName  string
	DueAt         time.Time
	Expired       bool
	DepositorName string
	DepositedAt   time.Time
}

// RefundStatus is where the refund of a deposited virtual account is.
type RefundStatus string

const (
	RefundPending   RefundStatus = "PENDING" // settles on the next business day
	RefundCompleted RefundStatus = "COMPLETED"
	RefundFailed    RefundStatus = "FAILED"
)

// Refund is the refund part of a cancellation of a deposited virtual account.
type Refund struct {
	Account RefundAccount
	Status  RefundStatus
}

// Cancellation is one cancel of a payment.
type Cancellation struct {
	ID          string // the PG's cancel transaction id (NicePay cancelledTid, Toss transactionKey, ...)
	Amount      int64
	TaxFree     int64
	VAT         int64
	Reason      string
	CancelledAt time.Time
	NetCancel   bool    // a void of a lost approval
	Refund      *Refund // set for a refund of a deposited virtual account
}

// Payment is a payment as the PG sees it.
type Payment struct {
	PGTransactionID string // NicePay tid, Toss paymentKey, KCP tno, Inicis tid
	OrderID         string
	OrderName       string
	Method          PayMethod
	Status          Status
	Currency        string
	Amounts         Amounts
	RequestedAt     time.Time
	ApprovedAt      time.Time // for a virtual account: the deposit time
	CancelledAt     time.Time // the last cancel
	FailedAt        time.Time
	Card            *CardInfo
	VirtualAccount  *VirtualAccount
	Cancellations   []Cancellation
	Failure         *Error // why FAILED
	BillingKey      string // the billing key charged, if any
	ReceiptURL      string // the PG's sales slip
	CashReceiptID   string // a cash receipt the PG issued with the payment
	// NotificationSecret is a per-payment secret the PG will repeat in its
	// notifications about this payment (Toss "secret" of a virtual
	// account). Store it: Event.PaymentSecret must equal it.
	NotificationSecret string
}

// Clone returns a deep copy.
func (p *Payment) Clone() *Payment {
	if p == nil {
		return nil
	}
	c := *p
	if p.Card != nil {
		card := *p.Card
		c.Card = &card
	}
	if p.VirtualAccount != nil {
		va := *p.VirtualAccount
		c.VirtualAccount = &va
	}
	if p.Failure != nil {
		f := *p.Failure
		c.Failure = &f
	}
	c.Cancellations = slices.Clone(p.Cancellations)
	for i, x := range c.Cancellations {
		if x.Refund != nil {
			r := *x.Refund
			c.Cancellations[i].Refund = &r
		}
	}
	return &c
}

// CancelResult is a done cancel and the payment after it.
type CancelResult struct {
	Cancellation Cancellation
	Payment      *Payment
}

// Notification is an inbound HTTP request from a PG, as received.
type Notification struct {
	Method     string
	Path       string // path and query
	Header     http.Header
	Body       []byte
	RemoteAddr netip.Addr // the client address as paymux resolved it (KCP and Inicis are verified by it)
	ReceivedAt time.Time
}

// EventType is what a notification reports.
type EventType string

const (
	EventPaymentApproved          EventType = "PAYMENT_APPROVED"
	EventVirtualAccountIssued     EventType = "VIRTUAL_ACCOUNT_ISSUED"
	EventDepositArrived           EventType = "DEPOSIT_ARRIVED"   // 입금통보
	EventDepositCancelled         EventType = "DEPOSIT_CANCELLED" // a deposit taken back by the bank
	EventPaymentCancelled         EventType = "PAYMENT_CANCELLED" // cancelled at the PG (API or console)
	EventVirtualAccountExpired    EventType = "VIRTUAL_ACCOUNT_EXPIRED"
	EventPaymentStatusChanged     EventType = "PAYMENT_STATUS_CHANGED" // unspecific: read Status, or Lookup
	EventBillingKeyDeleted        EventType = "BILLING_KEY_DELETED"
	EventCashReceiptStatusChanged EventType = "CASH_RECEIPT_STATUS_CHANGED"
)

// Authenticity is how far ParseNotification could verify a notification.
type Authenticity string

const (
	// AuthenticitySignature: a signature over the body, checked with the
	// channel's secrets. The content may be acted on.
	AuthenticitySignature Authenticity = "SIGNATURE"
	// AuthenticityPaymentSecret: the notice repeats a per-payment secret
	// (Toss DEPOSIT_CALLBACK "secret"). Act on it only if Event.PaymentSecret
	// equals the stored Payment.NotificationSecret (constant-time compare).
	AuthenticityPaymentSecret Authenticity = "PAYMENT_SECRET"
	// AuthenticitySourceAddress: only the sender's address was checked
	// against the PG's published list (KCP, Inicis). Confirm with Lookup.
	AuthenticitySourceAddress Authenticity = "SOURCE_ADDRESS"
	// AuthenticityNone: nothing could be verified (Toss
	// PAYMENT_STATUS_CHANGED). Confirm with Lookup before acting.
	AuthenticityNone Authenticity = "NONE"
)

// Event is a parsed notification.
type Event struct {
	// ID identifies the event for deduplication: the same notice delivered
	// again (a PG retry or a replay) has the same ID.
	ID              string
	Type            EventType
	OccurredAt      time.Time
	PGTransactionID string
	OrderID         string
	Status          Status // the payment status the notice reports, "" if none
	Amount          int64  // the amount the notice is about (deposit, cancel), 0 if none
	DepositorName   string
	// Payment is the full payment when the notice carries one (NicePay,
	// Toss PAYMENT_STATUS_CHANGED), nil otherwise.
	Payment       *Payment
	PaymentSecret string // see AuthenticityPaymentSecret
	Authenticity  Authenticity
	// Ack is what to answer the PG once the event is safely stored; any
	// other answer makes the PG send it again.
	Ack Ack
}

// Ack is the HTTP answer a PG expects to a notification.
type Ack struct {
	StatusCode  int
	ContentType string
	Body        []byte
}
