// Package nicepayfake is a fake NicePay: an httptest server that speaks the
// NicePay Start API (the JSON API with client key + secret key) as NicePay's
// manual describes it, so that paymux's NicePay adapter can be proven over
// real HTTP without the internet. It owns no paymux logic and does not know
// the adapter.
//
// One URL serves the REST API (/v1/...), the SDK stand-in (/v1/js/, the
// path of https://pay.nicepay.co.kr/v1/js/) and the hosted window
// (/window/...). The published sandbox key pairs are registered: two
// Server-approval pairs (SandboxClientID, TestGuideClientID) and one
// Client-approval pair (ClientApprovalID); AddKeys adds more. All keys
// belong to one merchant.
//
// # Authentication
//
// Basic base64(clientKey:secretKey), or Bearer with a token from
// POST /v1/access-token (30 minutes; the same token while it is valid).
// A missing or wrong key or token answers HTTP 401 with resultCode U102,
// U304 (Basic) or U305 (Bearer). Request signData is optional; when sent it
// is verified with the manual's formula and the caller's secret key (A101
// when wrong). Answers are signed with the caller's secret key; webhooks
// with the secret key of the key pair that created the payment.
//
// # Window
//
// AUTHNICE.requestPay(options) checks the required options (fnError
// otherwise) and navigates to the hosted window: plain HTML with an input
// id "card" (prefilled with DefaultCard), a button id "pay" and a button id
// "cancel". CompleteWindow does the same without a browser. For a
// Server-approval clientId the window records an authenticated transaction
// (nothing charged; POST /v1/payments/{tid} approves it) and posts
// authResultCode 0000, tid, authToken and signature to returnUrl; for a
// Client-approval clientId it approves by itself and posts the flattened
// payment. Closing the window posts CodeBuyerClosed (I002), a bad card
// number CodeBadCardNumber (3011), an orderId already paid A127 — with no
// tid and no signature.
//
// # Test cards
//
//	1234123412341234  DefaultCard    approved (masked 123412******1234)
//	1234123400003095  CardRefused    approval and billing charges refused 3095 카드사 실패 응답 (billing key issues)
//	1234123400003021  CardExpired    approval refused 3021 유효기간 오류; billing key refused 3021
//	1234123400000118  CardNoBilling  approved; billing key refused F118
//
// Any other 13-19 digit number is approved. Every card answers as 삼성
// (cardCode "04"), as the sandbox does. Billing keys also check the
// encData fields: expiry (3021 when past or malformed), idNo of 6 or 10
// digits and cardPw of 2 digits (F113), card number (F112).
//
// # Result codes (common/code.md)
//
//	A101 signData wrong               A106 bad orderDate          A116 bad amount
//	A117 required field missing       A118 no such transaction    A123 amount differs from the authenticated one
//	A124 bid not found                A126 bid deleted            A127 orderId already used
//	A204 encData does not decrypt     2201 already approved       2010 cancel amount <= 0
//	2013 already cancelled            2014 not cancellable (failed, expired)
//	2016 cancel period over (card 1 year, vbank refund 180 days)
//	2020 net-cancel after the hour    2030 partial cancel of an unpaid virtual account
//	2032 cancel amount above balance  U319 tax-free cancel above the tax-free balance
//	1615 receipt amounts do not add up 7012/7013/7041 receipt number/type/amount
//	3022/3024 installments, U132 useShopInterest not false (billing charge)
//
// # Cancels
//
// cancelAmt absent means the whole balance. Every cancel needs an orderId
// not used before: the payment's own orderId serves once, later (partial)
// cancels need fresh ones, and a reused one is refused A127. Each cancel
// gets a new cancelledTid. A deposited virtual account needs
// refundAccount, refundBankCode and refundHolder (A117); an unpaid one can
// only be cancelled whole. The fake allows partial cancels although
// NicePay's sandbox does not. POST /v1/payments/netcancel {orderId}
// cancels the whole balance within one hour of the approve request (2020
// after).
//
// # Faults
//
// FailNext queues a Fault for the next call of an operation: Decline,
// Unavailable (HTTP 500, nothing done), TimeoutBeforeCharge (held until
// the client gives up, nothing done), LoseAnswer (done, then the connection
// is closed unanswered) and TimeoutAfterCharge (done, then held until the
// client gives up: the read timeout after which NicePay asks for a
// net-cancel).
//
// # Webhooks
//
// After SetWebhookURL the fake POSTs the Payment object (Content-Type
// application/json;charset=utf-8, signature sha256(tid+amount+ediDate+
// secretKey)) on every approval (window Client approval, approve, billing
// charge), virtual account issue, deposit, and every cancel (API,
// net-cancel, console). Delivery is synchronous: the webhook is sent
// before the API call that caused it answers (and before Deposit or
// ConsoleCancel return), without the fake's lock held, so the receiver may
// call the fake. A receiver must answer HTTP 200 with exactly "OK"; anything
// else is recorded as not delivered. The fake does not retry (NicePay
// documents no schedule); Resend sends a record again. Expiry of a virtual
// account sends nothing (NicePay documents no such notification).
//
// # Clock
//
// Options.Now drives the net-cancel hour, token expiry, virtual-account
// expiry (an unpaid account past vbankExpDate is "expired"), cancel periods
// and cash-receipt issuing (requested receipts are issued at the next
// midnight KST; until then approvedAt is "0").
//
// Responses are always UTF-8 (returnCharSet is ignored).
package nicepayfake
