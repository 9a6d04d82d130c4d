package nicepay

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/paymux/paymux/providers"
)

// Name is the provider name of NicePay.
const Name = "nicepay"

// Channel secret names.
const (
	SecretClientID               = "client_id"
	SecretSecretKey              = "secret_key"
	SecretClientApprovalClientID = "client_approval_client_id"
	SecretClientApprovalKey      = "client_approval_secret_key"
)

// Default hosts.
const (
	DefaultAPIURL        = "https://api.nicepay.co.kr"
	DefaultSandboxAPIURL = "https://sandbox-api.nicepay.co.kr"
	DefaultSDKURL        = "https://pay.nicepay.co.kr/v1/js/"
)

// Timeouts NicePay recommends for its API (connect 5 s, read 30 s).
const (
	ConnectTimeout = 5 * time.Second
	ReadTimeout    = 30 * time.Second
)

// Options configure an Adapter. The zero value talks to NicePay.
type Options struct {
	APIURL        string // LIVE channels; default DefaultAPIURL
	SandboxAPIURL string // TEST channels; default DefaultSandboxAPIURL
	SDKURL        string // the JS SDK; default DefaultSDKURL
	// HTTPClient makes the calls; nil: a client with NicePay's timeouts. A
	// call's context deadline wins over either.
	HTTPClient *http.Client
	// Now is the clock (ediDate, default order dates); nil: time.Now.
	Now func() time.Time
}

// Adapter is NicePay as a providers.Provider. It keeps no per-channel state
// and is safe for concurrent use.
type Adapter struct {
	providers.Unsupported
	apiURL, sandboxURL, sdkURL string
	client                     *http.Client
	now                        func() time.Time
}

var (
	_ providers.Provider       = (*Adapter)(nil)
	_ providers.ChannelChecker = (*Adapter)(nil)
	_ providers.Verifier       = (*Adapter)(nil)
)

// New returns an adapter.
func New(opts Options) *Adapter {
	a := &Adapter{
		Unsupported: providers.Unsupported{Provider: Name},
		apiURL:      strings.TrimRight(cmp.Or(opts.APIURL, DefaultAPIURL), "/"),
		sandboxURL:  strings.TrimRight(cmp.Or(opts.SandboxAPIURL, DefaultSandboxAPIURL), "/"),
		sdkURL:      cmp.Or(opts.SDKURL, DefaultSDKURL),
		client:      opts.HTTPClient,
		now:         opts.Now,
	}
	if a.client == nil {
		a.client = providers.HTTPClient(ConnectTimeout, ReadTimeout)
	}
	if a.now == nil {
		a.now = time.Now
	}
	return a
}

// Name returns "nicepay".
func (a *Adapter) Name() string { return Name }

// Capabilities of NicePay's Start API as this adapter uses it.
func (a *Adapter) Capabilities() providers.Capabilities {
	return providers.CapWindow | providers.CapLookupByOrderID | providers.CapPartialCancel |
		providers.CapTaxFreeCancel | providers.CapNetCancel | providers.CapBillingKeyFromCard |
		providers.CapBillingKeyDelete | providers.CapVirtualAccountClose | providers.CapVirtualAccountRefund |
		providers.CapCashReceipt | providers.CapCashReceiptPartialCancel | providers.CapNotifications |
		providers.CapSignedNotifications | providers.CapNetCancelOnTimeout
}

// keys is a NicePay key pair.
type keys struct{ clientID, secret string }

// apiKeys is the Server-approval pair every API call uses.
func apiKeys(ch providers.Channel) keys {
	return keys{ch.Secret(SecretClientID), ch.Secret(SecretSecretKey)}
}

// clientApprovalKeys is the optional Client-approval pair.
func clientApprovalKeys(ch providers.Channel) (keys, bool) {
	k := keys{ch.Secret(SecretClientApprovalClientID), ch.Secret(SecretClientApprovalKey)}
	return k, k.clientID != "" && k.secret != ""
}

// secrets are the secret keys a signature from NicePay may be made with:
// the API pair's first.
func secrets(ch providers.Channel) []string {
	out := []string{ch.Secret(SecretSecretKey)}
	if k, ok := clientApprovalKeys(ch); ok {
		out = append(out, k.secret)
	}
	return out
}

// base returns the API host of the channel's mode.
func (a *Adapter) base(ch providers.Channel) string {
	if ch.Mode == providers.ModeLive {
		return a.apiURL
	}
	return a.sandboxURL
}

// usable checks what every call needs from a channel.
func usable(op string, ch providers.Channel) error {
	k := apiKeys(ch)
	if k.clientID == "" || k.secret == "" {
		return &providers.Error{Kind: providers.KindUnauthorized, Provider: Name, Op: op, Code: "CHANNEL_KEYS_MISSING",
			Message: "the channel has no client_id and secret_key"}
	}
	if ch.Mode != providers.ModeTest && ch.Mode != providers.ModeLive {
		return invalid(op, "CHANNEL_MODE", "unknown channel mode %q", ch.Mode)
	}
	return nil
}

// CheckChannel checks the shape of a channel's credentials without a call.
func (a *Adapter) CheckChannel(ch providers.Channel) error {
	if ch.Mode != providers.ModeTest && ch.Mode != providers.ModeLive {
		return &providers.FieldError{Field: "mode", Message: fmt.Sprintf("must be TEST or LIVE, not %q", ch.Mode)}
	}
	for name := range ch.Secrets {
		switch name {
		case SecretClientID, SecretSecretKey, SecretClientApprovalClientID, SecretClientApprovalKey:
		default:
			return &providers.FieldError{Field: "secrets." + name, Message: "not a NicePay secret (client_id, secret_key, client_approval_client_id, client_approval_secret_key)"}
		}
	}
	if err := checkPair(ch.Mode, SecretClientID, ch.Secret(SecretClientID), SecretSecretKey, ch.Secret(SecretSecretKey), true); err != nil {
		return err
	}
	return checkPair(ch.Mode, SecretClientApprovalClientID, ch.Secret(SecretClientApprovalClientID),
		SecretClientApprovalKey, ch.Secret(SecretClientApprovalKey), false)
}

func checkPair(mode providers.Mode, idName, id, keyName, key string, required bool) error {
	if id == "" && key == "" && !required {
		return nil
	}
	switch {
	case id == "" && required:
		return &providers.FieldError{Field: "secrets." + idName, Message: "required"}
	case id == "":
		return &providers.FieldError{Field: "secrets." + idName, Message: "required together with " + keyName}
	case key == "" && required:
		return &providers.FieldError{Field: "secrets." + keyName, Message: "required"}
	case key == "":
		return &providers.FieldError{Field: "secrets." + keyName, Message: "required together with " + idName}
	case len(id) > 50 || strings.ContainsAny(id, " \t\r\n:"):
		return &providers.FieldError{Field: "secrets." + idName, Message: "not a NicePay client key (at most 50 characters, no spaces or colons)"}
	case len(key) < 16:
		return &providers.FieldError{Field: "secrets." + keyName, Message: "too short: a NicePay secret key has at least 16 characters (billing encryption uses the first 16)"}
	case strings.ContainsAny(key, " \t\r\n"):
		return &providers.FieldError{Field: "secrets." + keyName, Message: "contains white space"}
	}
	// NicePay issues live keys as R1_/R2_ and sandbox keys as S1_/S2_; keys
	// without such a prefix exist too (the manual's own test key), so only
	// a prefix of the other mode is refused.
	upper := strings.ToUpper(id)
	if mode == providers.ModeLive && (strings.HasPrefix(upper, "S1_") || strings.HasPrefix(upper, "S2_")) {
		return &providers.FieldError{Field: "secrets." + idName, Message: "a sandbox client key (S1_/S2_) on a LIVE channel"}
	}
	if mode == providers.ModeTest && (strings.HasPrefix(upper, "R1_") || strings.HasPrefix(upper, "R2_")) {
		return &providers.FieldError{Field: "secrets." + idName, Message: "a live client key (R1_/R2_) on a TEST channel"}
	}
	return nil
}

// VerifyCredentials asks NicePay for an access token with the channel's
// Basic credentials: the call has no effect beyond proving them.
func (a *Adapter) VerifyCredentials(ctx context.Context, ch providers.Channel) error {
	const op = "VerifyCredentials"
	if err := usable(op, ch); err != nil {
		return err
	}
	var out struct {
		resultHead
		AccessToken string `json:"accessToken"`
	}
	return a.call(ctx, ch, op, http.MethodPost, "/v1/access-token", nil, map[string]any{}, &out)
}

// resultHead is what every NicePay answer starts with.
type resultHead struct {
	ResultCode string `json:"resultCode"`
	ResultMsg  string `json:"resultMsg"`
}

func (h resultHead) head() resultHead { return h }

type header interface{ head() resultHead }

// call sends one API request with the channel's Basic credentials and
// decodes the answer into out, which embeds resultHead. A NicePay failure
// code is classified with ResultCodes for op; a transport failure after
// the request may have left is outcome-unknown.
func (a *Adapter) call(ctx context.Context, ch providers.Channel, op, method, path string, query url.Values, body any, out header) error {
	u := a.base(ch) + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return &providers.Error{Kind: providers.KindInvalidRequest, Provider: Name, Op: op, Message: "encoding the request", Err: err}
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return &providers.Error{Kind: providers.KindInvalidRequest, Provider: Name, Op: op, Message: "building the request", Err: err}
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json;charset=utf-8")
	}
	req.Header.Set("Accept", "application/json")
	k := apiKeys(ch)
	req.Header.Set("Authorization", BasicAuth(k.clientID, k.secret))

	if err := ctx.Err(); err != nil {
		return err // nothing sent
	}
	resp, err := a.client.Do(req)
	if err != nil {
		return transportError(ctx, op, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return transportError(ctx, op, err)
	}
	decodeErr := json.Unmarshal(raw, out)
	h := out.head()
	switch {
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		return &providers.Error{Kind: providers.KindUnauthorized, Provider: Name, Op: op, Code: cmp.Or(h.ResultCode, fmt.Sprint(resp.StatusCode)),
			Message: cmp.Or(h.ResultMsg, http.StatusText(resp.StatusCode))}
	case resp.StatusCode >= 500:
		return &providers.Error{Kind: providers.KindUnavailable, Provider: Name, Op: op, Code: h.ResultCode,
			Message: cmp.Or(h.ResultMsg, fmt.Sprintf("HTTP %d", resp.StatusCode))}
	case decodeErr != nil || h.ResultCode == "":
		if resp.StatusCode == http.StatusNotFound {
			return &providers.Error{Kind: providers.KindNotFound, Provider: Name, Op: op, Code: "404", Message: "no such resource at NicePay"}
		}
		if resp.StatusCode >= 400 {
			return &providers.Error{Kind: providers.KindInvalidRequest, Provider: Name, Op: op, Code: fmt.Sprint(resp.StatusCode),
				Message: fmt.Sprintf("HTTP %d without a result code", resp.StatusCode)}
		}
		// An answer paymux cannot read: NicePay may have done it.
		return &providers.Error{Kind: providers.KindUnknown, Provider: Name, Op: op, Code: "UNREADABLE_ANSWER",
			Message: fmt.Sprintf("HTTP %d with an answer that is not a NicePay result", resp.StatusCode), Err: decodeErr}
	}
	if rc := Classify(op, h.ResultCode); !rc.OK {
		return resultError(op, h.ResultCode, h.ResultMsg)
	}
	return nil
}

// transportError classifies a failed exchange: the request may have
// reached NicePay, so the outcome is unknown.
func transportError(ctx context.Context, op string, err error) error {
	if ctx.Err() != nil {
		return providers.ContextError(Name, op, ctx.Err())
	}
	kind := providers.KindUnavailable
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		kind = providers.KindTimeout
	}
	return &providers.Error{Kind: kind, Provider: Name, Op: op, Message: "no answer from NicePay", Err: err}
}

func newErr(kind providers.Kind, op, code, format string, args ...any) *providers.Error {
	return &providers.Error{Kind: kind, Provider: Name, Op: op, Code: code, Message: fmt.Sprintf(format, args...)}
}

func invalid(op, code, format string, args ...any) *providers.Error {
	return newErr(providers.KindInvalidRequest, op, code, format, args...)
}

func unauthorized(op, code, format string, args ...any) *providers.Error {
	return newErr(providers.KindUnauthorized, op, code, format, args...)
}

// badSignature is a signed answer that does not verify: whatever it says
// cannot be believed, so the outcome is unknown and paymux must look up.
func badSignature(op string) *providers.Error {
	return newErr(providers.KindUnknown, op, "INVALID_SIGNATURE", "the answer's signature does not verify with the channel's secret key; look the payment up")
}
