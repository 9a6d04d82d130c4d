// Package providers defines what paymux needs from a payment gateway (PG),
// independent of transport and of paymux's database: the Provider interface,
// its request and result types, typed errors, the canonical bank and card
// company codes, and card data types that are safe to log.
//
// A Provider is stateless across channels: every call carries the Channel
// (merchant id, mode, decrypted secrets) it acts for, so one value serves
// every store. Money is int64 in the currency's minor unit (KRW has none).
//
// What each real PG (NicePay, Toss Payments, NHN KCP, KG Inicis) offers for
// each method is in docs/providers.md; an adapter answers ErrNotSupported
// (wrapped, see NotSupported) for what its PG lacks and says so in
// Capabilities, so paymux can refuse cleanly before calling.
//
// Errors: every method returns either a result or an error; an error from a
// PG call is a *Error whose Kind says what the caller may do next. Above all,
// Timeout and Unavailable mean the outcome is unknown: the caller must Lookup
// (and NetCancel what it cannot record), never retry blindly. See
// OutcomeUnknown.
package providers

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"
)

// Provider is one PG as paymux uses it. Implementations must be safe for
// concurrent use.
type Provider interface {
	// Name is the provider's stable identifier ("sandbox", "nicepay",
	// "tosspayments", "kcp", "inicis"), as stored on a channel.
	Name() string
	// Capabilities says which operations and options the PG supports.
	Capabilities() Capabilities

	// PrepareWindow returns what the buyer's browser needs to open the PG's
	// payment window (or the billing-key registration window): parameters
	// for the PG's JS SDK and/or a URL to redirect to.
	PrepareWindow(ctx context.Context, ch Channel, req PrepareWindowRequest) (*PrepareWindowResult, error)
	// Approve confirms a payment the window authenticated (server approval,
	// 서버 승인), for exactly the expected amount.
	Approve(ctx context.Context, ch Channel, req ApproveRequest) (*Payment, error)
	// Lookup reads a payment as the PG sees it, by PG transaction id or by
	// order id. It answers NotFound when the PG has no such payment, which
	// after a lost answer means nothing was charged.
	Lookup(ctx context.Context, ch Channel, req LookupRequest) (*Payment, error)
	// Cancel cancels a payment fully or partly, or refunds a deposited
	// virtual account to a refund account.
	Cancel(ctx context.Context, ch Channel, req CancelRequest) (*CancelResult, error)
	// NetCancel (망취소) voids an approval whose answer was lost. NotFound
	// means there was nothing to void.
	NetCancel(ctx context.Context, ch Channel, req NetCancelRequest) (*Payment, error)
	// ChargeKeyIn charges card data at once, without a window (키인/수기결제).
	ChargeKeyIn(ctx context.Context, ch Channel, req KeyInRequest) (*Payment, error)

	// IssueBillingKey stores a card at the PG for later charges, from card
	// data or from a billing-key window's result.
	IssueBillingKey(ctx context.Context, ch Channel, req IssueBillingKeyRequest) (*BillingKey, error)
	// ChargeBillingKey charges a billing key now.
	ChargeBillingKey(ctx context.Context, ch Channel, req ChargeBillingKeyRequest) (*Payment, error)
	// DeleteBillingKey removes a billing key; it cannot be charged again.
	DeleteBillingKey(ctx context.Context, ch Channel, req DeleteBillingKeyRequest) (*BillingKey, error)

	// IssueVirtualAccount issues a virtual account (가상계좌) from the server.
	// The payment is VIRTUAL_ACCOUNT_ISSUED until a deposit notification.
	IssueVirtualAccount(ctx context.Context, ch Channel, req IssueVirtualAccountRequest) (*Payment, error)
	// CloseVirtualAccount closes an issued account before any deposit.
	CloseVirtualAccount(ctx context.Context, ch Channel, req CloseVirtualAccountRequest) (*Payment, error)

	// IssueCashReceipt requests a cash receipt (현금영수증). Issuing is
	// asynchronous at the PG: the answer is usually REQUESTED, and
	// LookupCashReceipt later shows ISSUED or FAILED.
	IssueCashReceipt(ctx context.Context, ch Channel, req IssueCashReceiptRequest) (*CashReceipt, error)
	CancelCashReceipt(ctx context.Context, ch Channel, req CancelCashReceiptRequest) (*CashReceipt, error)
	LookupCashReceipt(ctx context.Context, ch Channel, req LookupCashReceiptRequest) (*CashReceipt, error)

	// ParseNotification checks an inbound HTTP notification from the PG
	// (webhook, 입금통보, 공통통보) as far as the PG allows and returns it as a
	// typed event, with the reply the PG expects. Event.Authenticity says
	// whether the caller may act on the content or must Lookup first.
	ParseNotification(ctx context.Context, ch Channel, n Notification) (*Event, error)
}

// Mode is a channel's mode. TEST channels reach the PG's test environment
// and never move money.
type Mode string

const (
	ModeTest Mode = "TEST"
	ModeLive Mode = "LIVE"
)

// Channel is one PG contract, with its secrets already decrypted, passed on
// every call. Printing or logging a Channel never shows a secret value.
type Channel struct {
	ID         string // paymux's channel id (ch_...), for logs and errors
	MerchantID string // the PG's merchant id: NicePay/Inicis MID, Toss mId, KCP site code
	Mode       Mode
	// Secrets holds the provider-specific credentials by name (for example
	// "secret_key", "client_key", "site_key", "batch_group_id",
	// "notification_secret"); docs/providers.md lists each provider's names.
	Secrets Secrets
}

// Secret returns the named secret, or "" when the channel has none.
func (c Channel) Secret(name string) string { return c.Secrets[name] }

// LogValue logs the channel without secret values.
func (c Channel) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("id", c.ID),
		slog.String("merchant_id", c.MerchantID),
		slog.String("mode", string(c.Mode)),
		slog.Any("secrets", c.Secrets),
	)
}

// Secrets are a channel's decrypted credentials. Every printed, logged or
// JSON form shows the names only, never a value.
type Secrets map[string]string

func (s Secrets) names() []string {
	names := make([]string, 0, len(s))
	for k := range s {
		names = append(names, k)
	}
	slices.Sort(names)
	return names
}

// String lists the secret names, values redacted.
func (s Secrets) String() string {
	names := s.names()
	for i, n := range names {
		names[i] = n + ":" + redacted
	}
	return "Secrets{" + strings.Join(names, ", ") + "}"
}

// GoString is String: %#v must not print values either.
func (s Secrets) GoString() string { return "providers." + s.String() }

// Format prints String for every verb.
func (s Secrets) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		fmt.Fprint(f, s.GoString())
		return
	}
	fmt.Fprint(f, s.String())
}

// LogValue logs the secret names only.
func (s Secrets) LogValue() slog.Value {
	return slog.StringValue(strings.Join(s.names(), ","))
}

// MarshalJSON writes every value redacted.
func (s Secrets) MarshalJSON() ([]byte, error) {
	m := make(map[string]string, len(s))
	for k := range s {
		m[k] = redacted
	}
	return json.Marshal(m)
}

// ChannelChecker is implemented by an adapter that can check a channel's
// credentials' shape (names, prefixes, lengths, their mode) without a call.
// CheckChannel answers nil or a *FieldError naming the offending field
// ("merchant_id", "mode" or "secrets.<name>").
type ChannelChecker interface {
	CheckChannel(ch Channel) error
}

// FieldError is a channel field an adapter refuses.
type FieldError struct {
	Field   string
	Message string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Message }

// Verifier is implemented by an adapter that can prove a channel's
// credentials with one harmless authenticated call to the PG (a token
// request, a lookup of an order that does not exist). It answers nil when
// the PG accepted the credentials, a *Error of KindUnauthorized when it
// refused them, and any other error when it could not tell.
type Verifier interface {
	VerifyCredentials(ctx context.Context, ch Channel) error
}

// HTTPClient is an HTTP client for a PG's API: it connects within
// connect and waits read for the answer's headers; the whole call is
// bounded too, in case the body trickles. A call's context deadline wins
// over either.
func HTTPClient(connect, read time.Duration) *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.DialContext = (&net.Dialer{Timeout: connect, KeepAlive: 30 * time.Second}).DialContext
	t.TLSHandshakeTimeout = connect
	t.ResponseHeaderTimeout = read
	return &http.Client{Transport: t, Timeout: connect + read + 5*time.Second}
}
