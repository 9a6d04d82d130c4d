package tosspayments

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/paymux/paymux/providers"
)

// Name is the provider name of Toss Payments.
const Name = "tosspayments"

// Channel secret names.
const (
	SecretClientKey          = "client_key"
	SecretSecretKey          = "secret_key"
	SecretWebhookSecurityKey = "webhook_security_key"
)

// Defaults.
const (
	DefaultAPIURL = "https://api.tosspayments.com"
	DefaultSDKURL = "https://js.tosspayments.com/v2/standard"
)

// Timeouts of the default HTTP client. Toss publishes none; a call's
// context deadline wins over them.
const (
	ConnectTimeout = 5 * time.Second
	ReadTimeout    = 30 * time.Second
)

// Options configure an Adapter. The zero value talks to Toss Payments.
type Options struct {
	APIURL string // default DefaultAPIURL
	SDKURL string // the v2 JS SDK; default DefaultSDKURL
	// HTTPClient makes the calls; nil: a client with ConnectTimeout and
	// ReadTimeout.
	HTTPClient *http.Client
	// Now is the clock (default cash-receipt dates, deletion times); nil:
	// time.Now.
	Now func() time.Time
}

// Adapter is Toss Payments as a providers.Provider. It keeps no per-channel
// state and is safe for concurrent use.
type Adapter struct {
	apiURL, sdkURL string
	client         *http.Client
	now            func() time.Time
}

var (
	_ providers.Provider       = (*Adapter)(nil)
	_ providers.ChannelChecker = (*Adapter)(nil)
	_ providers.Verifier       = (*Adapter)(nil)
)

// New returns an adapter.
func New(opts Options) *Adapter {
	a := &Adapter{
		apiURL: strings.TrimRight(cmp.Or(opts.APIURL, DefaultAPIURL), "/"),
		sdkURL: cmp.Or(opts.SDKURL, DefaultSDKURL),
		client: opts.HTTPClient,
		now:    opts.Now,
	}
	if a.client == nil {
		a.client = providers.HTTPClient(ConnectTimeout, ReadTimeout)
	}
	if a.now == nil {
		a.now = time.Now
	}
	return a
}

// Name returns "tosspayments".
func (a *Adapter) Name() string { return Name }

// Capabilities of Toss Payments' core API as this adapter uses it. Not
// offered: a net-cancel endpoint, a VAT part or a balance guard on cancels
// (refundableAmount is deprecated; paymux guards its own balance), and
// signed payment notifications.
func (a *Adapter) Capabilities() providers.Capabilities {
	return providers.CapWindow | providers.CapLookupByOrderID | providers.CapPartialCancel |
		providers.CapTaxFreeCancel | providers.CapKeyIn | providers.CapBillingKeyFromCard |
		providers.CapBillingKeyFromWindow | providers.CapBillingKeyDelete | providers.CapVirtualAccount |
		providers.CapVirtualAccountClose | providers.CapVirtualAccountRefund | providers.CapCashReceipt |
		providers.CapCashReceiptPartialCancel | providers.CapNotifications | providers.CapIdempotencyKey
}

// NetCancel is not offered: Toss has no void endpoint. paymux settles a
// lost approval by Lookup (by order id) and cancels with Cancel.
func (a *Adapter) NetCancel(context.Context, providers.Channel, providers.NetCancelRequest) (*providers.Payment, error) {
	return nil, providers.NotSupported(Name, "NetCancel")
}

// keyKind names the two key kinds of a channel.
type keyKind struct {
	secret, short, widget string // secret name, "ck"/"sk", widget "gck"/"gsk"
}

var (
	clientKeyKind = keyKind{SecretClientKey, "ck", "gck"}
	secretKeyKind = keyKind{SecretSecretKey, "sk", "gsk"}
)

// checkKey checks one key's shape against the channel's mode.
func checkKey(mode providers.Mode, k keyKind, v string) error {
	field := "secrets." + k.secret
	want := "test_" + k.short + "_"
	if mode == providers.ModeLive {
		want = "live_" + k.short + "_"
	}
	switch {
	case v == "":
		return &providers.FieldError{Field: field, Message: "required"}
	case strings.ContainsAny(v, " \t\r\n:"):
		return &providers.FieldError{Field: field, Message: "must not contain spaces or colons"}
	case strings.HasPrefix(v, "test_"+k.widget+"_") || strings.HasPrefix(v, "live_"+k.widget+"_"):
		return &providers.FieldError{Field: field, Message: fmt.Sprintf(
			"a payment-widget key (%s_): paymux uses Toss's API-only keys (test_%s_/live_%s_)", k.widget, k.short, k.short)}
	case strings.HasPrefix(v, want):
		if len(v) == len(want) {
			return &providers.FieldError{Field: field, Message: "is only a prefix"}
		}
		return nil
	case strings.HasPrefix(v, "test_"+k.short+"_") || strings.HasPrefix(v, "live_"+k.short+"_"):
		return &providers.FieldError{Field: field, Message: fmt.Sprintf("a %s key on a %s channel: want %s…", v[:4], mode, want)}
	}
	return &providers.FieldError{Field: field, Message: fmt.Sprintf("not a Toss Payments API key: want %s…", want)}
}

// CheckChannel checks the shape of a channel's credentials without a call:
// known secret names, both keys present with the prefix of the channel's
// mode, and a merchant id.
func (a *Adapter) CheckChannel(ch providers.Channel) error {
	if ch.Mode != providers.ModeTest && ch.Mode != providers.ModeLive {
		return &providers.FieldError{Field: "mode", Message: fmt.Sprintf("must be TEST or LIVE, not %q", ch.Mode)}
	}
	for name := range ch.Secrets {
		switch name {
		case SecretClientKey, SecretSecretKey, SecretWebhookSecurityKey:
		default:
			return &providers.FieldError{Field: "secrets." + name,
				Message: "not a Toss Payments secret (client_key, secret_key, webhook_security_key)"}
		}
	}
	if err := checkKey(ch.Mode, clientKeyKind, ch.Secret(SecretClientKey)); err != nil {
		return err
	}
	if err := checkKey(ch.Mode, secretKeyKind, ch.Secret(SecretSecretKey)); err != nil {
		return err
	}
	if strings.TrimSpace(ch.MerchantID) == "" {
		return &providers.FieldError{Field: "merchant_id", Message: "required: the Toss mId"}
	}
	return nil
}

// usable checks what every API call needs: a secret key whose prefix agrees
// with the channel's mode, so that a LIVE channel never runs on a test key
// (nor the other way round).
func usable(op string, ch providers.Channel) error {
	sk := ch.Secret(SecretSecretKey)
	if sk == "" {
		return &providers.Error{Kind: providers.KindUnauthorized, Provider: Name, Op: op, Code: CodeChannelKeysMissing,
			Message: "the channel has no secret_key"}
	}
	if err := checkKey(ch.Mode, secretKeyKind, sk); err != nil {
		return &providers.Error{Kind: providers.KindUnauthorized, Provider: Name, Op: op, Code: CodeChannelKeyMode,
			Message: err.Error()}
	}
	return nil
}

// VerifyCredentials proves the secret key with a lookup of an order id that
// cannot exist: Toss answers 404 NOT_FOUND_PAYMENT to a key it accepts and
// 401 to one it refuses.
func (a *Adapter) VerifyCredentials(ctx context.Context, ch providers.Channel) error {
	const op = "VerifyCredentials"
	if err := usable(op, ch); err != nil {
		return err
	}
	var b [12]byte
	_, _ = rand.Read(b[:])
	orderID := "paymux-verify-" + hex.EncodeToString(b[:])
	var p paymentJSON
	err := a.call(ctx, ch, op, http.MethodGet, "/v1/payments/orders/"+pathEscape(orderID), "", nil, &p)
	var pe *providers.Error
	switch {
	case err == nil:
		return &providers.Error{Kind: providers.KindUnknown, Provider: Name, Op: op, Code: CodeUnexpectedAnswer,
			Message: "a lookup of a random order id found a payment"}
	case errors.As(err, &pe) && pe.Kind == providers.KindNotFound && pe.Code == "NOT_FOUND_PAYMENT":
		return nil
	}
	return err
}
