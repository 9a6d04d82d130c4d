// Package nicepay is paymux's adapter for NicePay's Start API (the JSON API
// at api.nicepay.co.kr with a client id and a secret key): the payment
// window (AUTHNICE.requestPay) with server approval or NicePay's own client
// approval, lookups by tid and by order id, cancels and refunds, net-cancel,
// billing keys from card data, cash receipts and signed webhooks. It owns
// the translation between providers.Provider and NicePay's requests,
// signatures (signData, signature, encData) and result codes (ResultCodes).
//
// A channel carries the NicePay MID as MerchantID and these secrets:
//
//	client_id                    Server-approval client key (every API call, and windows)
//	secret_key                   its secret key (Basic auth, every signData and signature)
//	client_approval_client_id    optional Client-approval client key, for windows of
//	client_approval_secret_key   ApprovalModel CLIENT (the window approves by itself)
//
// TEST channels reach Options.SandboxAPIURL, LIVE channels Options.APIURL.
//
// Every request carries ediDate and signData, and every signed answer is
// verified before it is believed: a Payment object whose signature does not
// match is an outcome-unknown error (KindUnknown, INVALID_SIGNATURE), so that
// paymux looks the payment up instead of recording what the answer says.
//
// Choices where NicePay's manual is silent:
//   - A cancel sends a fresh orderId derived from the payment's order id and
//     the request's IdempotencyKey (CancelOrderID), so that every partial
//     cancel has an order id of its own and a retry sends the same one.
//   - Lookup by order id sends no signData (the manual's formula needs the tid
//     the caller does not have) and searches the order date in KST, today
//     when LookupRequest.OrderDate is zero.
//   - A virtual-account window needs vbankHolder; the adapter sends the
//     buyer's name, or "paymux" when there is none.
//   - Billing encData uses NicePay's default encryption (no encMode): AES-128
//     in ECB mode keyed with the first 16 characters of the secret key, as
//     the manual's published example computes.
package nicepay
