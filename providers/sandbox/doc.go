// Package sandbox is a complete, in-memory, deterministic PG that implements
// providers.Provider, so paymux runs and is tested end to end with no PG
// contract. State is kept per channel merchant id, behind one mutex; the
// clock is injectable (Options.Now, ManualClock); ids are sequential
// ("sbx_pay_000001"), so a test that makes the same calls gets the same
// answers — given the same Options.FingerprintKey, under which window auth
// tokens and virtual-account notification secrets are derived (with none,
// each sandbox draws a random key). LIVE channels are refused: the sandbox
// never stands in for money.
//
// # Test cards
//
// All 16-digit, Luhn-valid, BIN 941000 (any expiry in the future, any owner
// id and password digits of the right form):
//
//	9410000000000005  CardSuccess            approved
//	9410000000000518  CardInsufficientFunds  declined INSUFFICIENT_FUNDS (SB_51)
//	9410000000000435  CardLostOrStolen       declined LOST_OR_STOLEN (SB_43); no billing key either
//	9410000000000617  CardLimitExceeded      declined LIMIT_EXCEEDED (SB_61)
//	9410000000000120  CardNoInstallment      check card: lump sum approved, installments declined INVALID_INSTALLMENT (SB_12)
//	9410000000004080  CardTimeoutCharged     Timeout, but charged: Lookup finds it PAID, NetCancel voids it
//	9410000000005046  CardTimeoutNotCharged  Timeout, nothing charged: Lookup NotFound
//	9410000000003413  CardBillingDeclines    billing key issues; every charge of the key declined (SB_51)
//
// Any other Luhn-valid 13-19 digit number is approved; a bad check digit is
// declined INVALID_CARD (SB_14), an expired card EXPIRED_CARD (SB_54).
// Installments must be 0 (lump sum) or 2-12 months, and only from 50,000
// KRW; anything else is declined INVALID_INSTALLMENT
// (INVALID_INSTALLMENT_MONTHS, INSTALLMENT_NOT_ALLOWED_UNDER_50000).
//
// # Idempotency
//
// The order id is the PG's guard, as at NicePay and Toss: the first
// Approve, ChargeKeyIn, ChargeBillingKey or IssueVirtualAccount of an order
// id is recorded with its outcome, approved or declined. The same request
// again (same parameters and idempotency key) returns that recorded outcome
// — the same payment, or the same decline — and never charges twice. A
// different request for the same order id answers AlreadyDone
// DUPLICATED_ORDER_ID; an idempotency key reused for a different request
// answers InvalidRequest IDEMPOTENCY_KEY_REUSED. A replay after
// CardTimeoutCharged returns the PAID payment (what the PG did), not another
// timeout. Requests refused as InvalidRequest are not recorded. Cancel and
// CancelCashReceipt with an idempotency key store their first answer,
// errors included.
//
// # Window
//
// PrepareWindow opens a session and answers RedirectURL (Options.CheckoutURL
// + "/" + session id) and the session's Params. AuthenticateWindow plays the
// buyer and returns the WindowResult for Approve or IssueBillingKey. Approve
// refuses another order id or amount than the window's (AMOUNT_MISMATCH).
//
// Checkout serves the window at RedirectURL, as a Korean PG's looks: the
// order name, the amount ("129,000원"; "₩129,000" in English), the buyer,
// the pay method, the test cards with what each does, expiry and
// installment months. It is in Korean unless ?lang=en or the browser's
// Accept-Language prefers English. The window takes cards only
// (PrepareWindow refuses any other method) and has no cancel result: a
// buyer who leaves it sends nothing back.
//
// # Virtual accounts and notifications
//
// IssueVirtualAccount issues an account (bank, number, holder, due time,
// default 7 days, at most 30). SimulateDeposit plays the bank and returns the
// deposit notification, signed "t=<unix>,v1=<hex>" in the
// Paymux-Sandbox-Signature header: HMAC-SHA256 of "<t>.<body>" with the
// channel secret "notification_secret". ParseNotification verifies it;
// ResendNotification sends an earlier one again with the same event id.
// When the clock passes the due time the account is EXPIRED and refuses
// deposits; CloseVirtualAccount closes it before a deposit. Refunds of a
// deposited account (Cancel with a RefundAccount) stay PENDING for
// Options.RefundDelay.
//
// # Cash receipts
//
// IssueCashReceipt answers REQUESTED; the first LookupCashReceipt at or
// after Options.CashReceiptDelay shows ISSUED with an approval number, or
// FAILED for the identity number FailingCashReceiptIdentity (0100000000).
//
// # Net cancel
//
// NetCancel voids a card approval within Options.NetCancelWindow (1 hour,
// NicePay's rule); later it answers InvalidRequest NET_CANCEL_EXPIRED.
package sandbox
