// Package tosspayments is paymux's adapter for Toss Payments' core API v1
// (https://api.tosspayments.com, an API-only contract with a client key and
// a secret key): the v2 JS SDK payment and billing windows with server
// confirmation, lookups by paymentKey and by order id, full and partial
// cancels and virtual-account refunds, key-in charges, billing keys from a
// window or from card data, server-issued virtual accounts, cash receipts
// and webhooks. It owns the translation between providers.Provider and
// Toss's requests, Payment objects, bank codes and error codes (CodeTable).
//
// A channel carries the Toss mId as MerchantID and these secrets:
//
//	client_key             test_ck_… / live_ck_… (opens the SDK window)
//	secret_key             test_sk_… / live_sk_… (Basic auth of every API call)
//	webhook_security_key   optional; signs payout webhooks only, which paymux ignores
//
// The key prefix decides Toss's mode, so it must agree with Channel.Mode.
// Payment-widget keys (test_gck_/test_gsk_) are refused: paymux integrates
// the API-only way.
//
// Every POST carries an Idempotency-Key (see idempotencyKey): the request's
// own, or one derived from what makes the operation unique.
//
// Choices where Toss's documents are silent or unverified:
//   - A window the buyer closed (failUrl code PAY_PROCESS_CANCELED) is
//     KindDeclined with DeclineOther, like any other window failure: nothing
//     was charged and the buyer may try again.
//   - NetCancel is not offered (Toss has no void endpoint); paymux settles
//     a lost answer by Lookup and cancels with Cancel.
//   - Card issuer and acquirer codes are kept raw in CardInfo.PGIssuerCode /
//     PGAcquirerCode with Issuer and Acquirer empty: paymux's Toss reference
//     has no table of Toss's two-character card codes yet.
//   - Bank codes are Toss's two-digit numbers, which are the KFTC codes
//     without the leading zero except KB국민은행, "06" at Toss (KFTC 004);
//     see tossBankCode.
//   - DeleteBillingKey uses DELETE /v1/billing/{billingKey}, which no
//     official page confirms; CloseVirtualAccount cancels a
//     WAITING_FOR_DEPOSIT payment, likewise unconfirmed.
//   - Cash-receipt lookup has only the list API by request date: the adapter
//     searches the last CashReceiptLookupDays days (KST), today first.
//   - A cancel without TaxFree looks the payment up first to send the
//     tax-free part that must go with it (Toss assumes 0 otherwise).
//   - Webhook event types other than PAYMENT_STATUS_CHANGED and
//     DEPOSIT_CALLBACK are acknowledged as EventIgnored.
//   - Key-in and billing-from-card send the expiry year as two digits (YY)
//     and the month as two digits (MM).
//   - The HTTP client connects within ConnectTimeout and waits ReadTimeout
//     for an answer; Toss publishes no guidance, these are paymux's.
package tosspayments
