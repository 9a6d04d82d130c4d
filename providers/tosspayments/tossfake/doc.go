// Package tossfake is a fake Toss Payments: an httptest server that speaks
// the Toss Payments core API v1 as its documentation describes it, so that
// paymux's Toss Payments adapter can be proven over real HTTP without the
// internet. It owns no paymux logic and does not know the adapter.
//
// One URL serves the REST API (/v1/...), the SDK stand-in (/v2/standard,
// the path of https://js.tosspayments.com/v2/standard) and the hosted
// window (/_window). The published test key pair (TestClientKey,
// TestSecretKey) is registered as merchant TestMID; AddKeys adds more.
// Payments, billing keys and receipts belong to the merchant (mId) of the
// key that made them and are invisible to other merchants' keys.
//
// # Authentication and headers
//
// Authorization: Basic base64(secretKey + ":"); a missing, malformed or
// unknown key, or a non-empty password, answers HTTP 401 UNAUTHORIZED_KEY.
// Errors are HTTP 4xx/5xx with {"code", "message"}; messages are Korean,
// English with Accept-Language: en(-US). With a test key,
// TossPayments-Test-Code: CODE answers that error (its usual status, else
// 400 — 403 for REJECT_*) and does nothing.
//
// Idempotency-Key on POST: the first answer under key + API key + URL +
// method is replayed for 15 days (by Options.Now); the body is not
// compared; keys over 300 characters are refused (400 INVALID_REQUEST). A
// second request arriving while the first runs waits for it. Answers with
// HTTP 5xx (and requests held by TimeoutBeforeCharge) are not kept, since
// nothing was done. Note that Go's net/http retries a request carrying an
// Idempotency-Key by itself when a reused connection drops (LoseAnswer); the
// retry then gets the kept answer, as it would from Toss.
//
// # Endpoints
//
//	POST   /v1/payments/confirm                  {paymentKey, orderId, amount}
//	GET    /v1/payments/{paymentKey}
//	GET    /v1/payments/orders/{orderId}
//	POST   /v1/payments/{paymentKey}/cancel      {cancelReason, cancelAmount, taxFreeAmount, refundReceiveAccount, refundableAmount}
//	POST   /v1/payments/key-in
//	POST   /v1/billing/authorizations/issue      {authKey, customerKey}
//	POST   /v1/billing/authorizations/card
//	POST   /v1/billing/{billingKey}              (key URL-encoded or not)
//	DELETE /v1/billing/{billingKey}              (unverified: not in the docs; answers 200 with the Billing object)
//	POST   /v1/virtual-accounts
//	POST   /v1/cash-receipts
//	POST   /v1/cash-receipts/{receiptKey}/cancel {amount}
//	GET    /v1/cash-receipts?requestDate=YYYY-MM-DD&cursor=&limit=
//
// Payment objects follow the reference's field list: Korean method labels
// (카드, 가상계좌, 계좌이체, 휴대폰), statuses READY .. EXPIRED (one L in
// CANCELED), timestamps ISO 8601 with +09:00, version "2022-11-16".
// suppliedAmount and vat describe the balance: vat = round((balanceAmount -
// taxFreeAmount) / 11), suppliedAmount = the rest, so both shrink with
// cancels; taxFreeAmount shrinks by each cancel's taxFreeAmount.
//
// # Choices where the documents are silent
//
//   - confirm with an amount or orderId other than the authenticated ones:
//     400 INVALID_REQUEST (the payment stays IN_PROGRESS).
//   - confirm of an unknown paymentKey, or of one whose 10 minutes have
//     passed: NOT_FOUND_PAYMENT_SESSION with HTTP 404 (status unverified).
//     A payment not confirmed within 10 minutes becomes EXPIRED with failure
//     EXPIRED_PAYMENT.
//   - confirm of a DONE (or otherwise processed or ABORTED) payment, or of a
//     second window's paymentKey for an order already paid:
//     ALREADY_PROCESSED_PAYMENT (400).
//   - DUPLICATED_ORDER_ID: HTTP 400 (status unverified); an orderId is taken
//     by any payment of the merchant that is not ABORTED or EXPIRED.
//   - unknown lookups: 404 NOT_FOUND_PAYMENT; unknown, used or foreign
//     authKey, unknown or deleted billing key, unknown receiptKey: 404
//     NOT_FOUND (status unverified). An authKey is good for one issue.
//   - cancel of READY/IN_PROGRESS/ABORTED/EXPIRED: 403 NOT_CANCELABLE_PAYMENT;
//     of CANCELED: 400 ALREADY_CANCELED_PAYMENT; more than the balance, or a
//     refundableAmount other than the balance: 403 NOT_CANCELABLE_AMOUNT. A
//     deposited virtual account needs refundReceiveAccount {bank,
//     accountNumber (digits), holderName} (400 INVALID_REQUEST otherwise);
//     its refundStatus becomes COMPLETED at once. Cancelling a
//     WAITING_FOR_DEPOSIT payment closes the account: CANCELED, whole.
//   - an unpaid virtual account past its dueDate (by Options.Now, or
//     ExpireVirtualAccount) becomes EXPIRED with virtualAccount.expired true;
//     the docs leave this outcome unverified.
//   - virtual accounts: bank is a numeric code of the docs' issuing banks
//     (the Korean names are accepted too); default validity 7 days, at most
//     30 (validHours 1-720, or dueDate, not both). With test keys account
//     numbers start with X. A window virtual account (method
//     VIRTUAL_ACCOUNT) is issued at confirm at bank "20". A requested cash
//     receipt is issued at deposit.
//   - cash receipts: issueStatus is IN_PROGRESS for a day after the request,
//     then COMPLETED; a cancel is a CANCEL record under the same receiptKey;
//     the list answers {hasNext, lastCursor, data}.
//   - Decline faults and card refusals answer 403 for REJECT_* codes, else
//     400 (or the status the fake knows for the code).
//   - card issuer/acquirer codes: "41" for credit cards, "11" for CheckCard.
//
// # Window
//
// TossPayments(clientKey).payment({customerKey}).requestPayment({...}) and
// .requestBillingAuth({...}) navigate to the hosted window with the
// arguments flattened (amount.value as amount, amount.currency as currency,
// virtualAccount.validHours as validHours, purpose=billing for billing).
// taxFreeAmount (the tax-free part of the amount, 0 when absent) is not in
// the reference; Toss's own SDKs take it on a payment request (the
// PaymentData of pub.dev's tosspayments_sdk_flutter), and the window keeps
// it on the payment, so that tax-free cancels fit.
// The window checks them as the SDK does (registered client key, positive
// integer amount, KRW, orderId pattern, absolute success/fail URLs,
// customerKey; billing: method CARD only and a real customerKey) and shows
// an error page (element id "error") otherwise. The page is plain HTML with
// no external resources: the order, an input id "card" (prefilled with
// DefaultCard), a button id "pay" and a button id "cancel". Pay records the
// payment IN_PROGRESS (confirm within 10 minutes) and redirects (303) to
// successUrl with paymentKey, orderId, amount and paymentType=NORMAL
// appended to successUrl's own query; for billing it redirects to
// successUrl with customerKey and authKey. Cancel redirects to failUrl with
// code=PAY_PROCESS_CANCELED, message and orderId; a card refused in the
// window (RejectCard, StoppedCard) to failUrl with its code.
// CompleteWindow does the same without a browser.
//
// # Faults
//
// FailNext(op, fault) makes the next call of op fail: Decline (a card
// company refusal), Unavailable (500 FAILED_INTERNAL_SYSTEM_PROCESSING),
// TimeoutBeforeCharge (held until the client gives up, nothing done) or
// LoseAnswer (done, then the connection is closed unanswered).
//
// # Webhooks
//
// SetWebhookURL (or SetWebhookURLFor per mId) says where notifications go.
// PAYMENT_STATUS_CHANGED {eventType, createdAt, data: Payment} is sent on
// every status change to WAITING_FOR_DEPOSIT, DONE, CANCELED,
// PARTIAL_CANCELED, ABORTED or EXPIRED (not when the window makes a payment
// IN_PROGRESS, nor for a second partial cancel, which changes no status).
// DEPOSIT_CALLBACK, flat {createdAt, secret, status, transactionKey,
// orderId}, is sent when a virtual account is issued, deposited and
// cancelled, before the PAYMENT_STATUS_CHANGED of the same change.
// createdAt has no offset and six fraction digits
// ("2026-01-02T14:46:59.653270", KST). Webhooks are delivered
// synchronously, once, within the call that caused them (before its answer
// is written), so tests are deterministic; success is HTTP 200. Every send
// is recorded (Notifications); Resend sends one again unchanged.
//
// Deposit, ConsoleCancel and ExpireVirtualAccount act as the buyer's bank
// and the merchant's console do; Payment reports the state for assertions.
package tossfake
