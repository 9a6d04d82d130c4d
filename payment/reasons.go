package payment

// Reasons of the payment API, beside paystate's and money's own.
const (
	ReasonPaymentNotFound        = "PAYMENT_NOT_FOUND"
	ReasonPaymentAlreadyExists   = "PAYMENT_ALREADY_EXISTS"
	ReasonInformationMismatch    = "INFORMATION_MISMATCH"
	ReasonNoDefaultChannel       = "NO_DEFAULT_CHANNEL"
	ReasonChannelModeMismatch    = "CHANNEL_MODE_MISMATCH"
	ReasonApprovalModelMismatch  = "APPROVAL_MODEL_MISMATCH"
	ReasonWindowNotCompleted     = "WINDOW_NOT_COMPLETED"
	ReasonPGProvider             = "PG_PROVIDER"
	ReasonPGOutcomeUnknown       = "PG_OUTCOME_UNKNOWN"
	ReasonNotSupported           = "NOT_SUPPORTED_BY_PG"
	ReasonRefundAccountRequired  = "REFUND_ACCOUNT_REQUIRED"
	ReasonCashReceiptNotFound    = "CASH_RECEIPT_NOT_FOUND"
	ReasonCashReceiptExists      = "CASH_RECEIPT_ALREADY_EXISTS"
	ReasonCashReceiptNotAllowed  = "CASH_RECEIPT_NOT_APPLICABLE"
	ReasonCashReceiptNotIssuable = "CASH_RECEIPT_NOT_CANCELLABLE"
	ReasonNotSandboxChannel      = "NOT_A_SANDBOX_CHANNEL"
	ReasonChannelArchived        = "CHANNEL_ARCHIVED"
	ReasonChannelInUse           = "CHANNEL_IN_USE"
)

// Failure reasons recorded on a payment or cancel (Failure.reason).
const (
	FailDeclined         = "PG_DECLINED"
	FailRefused          = "PG_REFUSED"
	FailNotCharged       = "PG_TIMEOUT_NOT_CHARGED"
	FailNetCancelled     = "NET_CANCELLED"
	FailAmountMismatchPG = "PG_AMOUNT_MISMATCH"
)
