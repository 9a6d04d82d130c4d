// Package pages serves the public HTTP that is not the API: the pages a
// buyer's browser and a PG reach without an API key. Every window returns
// here (payment windows and billing-key windows), PGs post their
// notifications here, and the sandbox PG's hosted checkout is mounted here.
// Each page verifies what it is given, then calls the domain services; it
// holds no payment rule of its own.
package pages

import (
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/paymux/paymux/apierr"
	"github.com/paymux/paymux/billing"
	"github.com/paymux/paymux/calllog"
	"github.com/paymux/paymux/clientip"
	"github.com/paymux/paymux/ent"
	"github.com/paymux/paymux/ent/billingkey"
	"github.com/paymux/paymux/ent/payment"
	paymentsvc "github.com/paymux/paymux/payment"
	"github.com/paymux/paymux/providers"
	"github.com/paymux/paymux/providers/sandbox"
	"github.com/paymux/paymux/secrets"
	"github.com/paymux/paymux/tenant"
)

// The pages, by path:
//
//	/sandbox/checkout/{session}       the sandbox's hosted payment window
//	GET  /checkout/pay/{payment}      opens a PG's payment window through its JS SDK
//	GET  /checkout/billing/{key}      opens a PG's billing-key window through its JS SDK
//	GET|POST /pay/return/{payment}    where every payment window returns (query or form)
//	GET|POST /billing/return/{key}    where every billing-key window returns
//	POST /notifications/{channel}     a PG's notifications (deposits, cancels, ...)
const (
	CheckoutPath        = "/sandbox/checkout"
	payCheckoutPath     = "/checkout/pay/"
	billingCheckoutPath = "/checkout/billing/"
	windowReturnPath    = "/pay/return/"
	billingReturnPath   = "/billing/return/"
	notifyPath          = "/notifications/"
	requestIDHeader     = "X-Request-Id"
)

// ReturnURLs are the addresses windows return to. The token in each proves
// the request came from the window paymux opened, so nobody can fail a
// payment or a billing key by guessing ids.
type ReturnURLs struct {
	baseURL string
	keyring *secrets.Keyring
}

// NewReturnURLs builds return URLs under paymux's public base URL.
func NewReturnURLs(baseURL string, keyring *secrets.Keyring) ReturnURLs {
	return ReturnURLs{baseURL: baseURL, keyring: keyring}
}

// Payment is where a payment's window sends the buyer back: paymux first,
// which records (server approval) or approves (client approval), then the
// merchant's return URL.
func (u ReturnURLs) Payment(paymentID string) string {
	return u.baseURL + windowReturnPath + paymentID + "?rt=" + u.windowToken(paymentID)
}

// BillingKey is where a billing-key window sends the buyer back.
func (u ReturnURLs) BillingKey(id string) string {
	return u.baseURL + billingReturnPath + id + "?rt=" + u.billingToken(id)
}

// PaymentCheckout is paymux's page that opens a payment's window through
// the PG's JS SDK.
func (u ReturnURLs) PaymentCheckout(paymentID string) string {
	return u.baseURL + payCheckoutPath + paymentID + "?ct=" + u.token("pay-checkout:"+paymentID)
}

// BillingCheckout is paymux's page that opens a billing key's window
// through the PG's JS SDK.
func (u ReturnURLs) BillingCheckout(id string) string {
	return u.baseURL + billingCheckoutPath + id + "?ct=" + u.token("billing-checkout:"+id)
}

func (u ReturnURLs) token(what string) string {
	return hex.EncodeToString(u.keyring.HashSecret(what)[:16])
}

func (u ReturnURLs) windowToken(paymentID string) string {
	return hex.EncodeToString(u.keyring.HashSecret("window-return:" + paymentID)[:16])
}

func (u ReturnURLs) billingToken(id string) string {
	return hex.EncodeToString(u.keyring.HashSecret("billing-return:" + id)[:16])
}

// Deps are what the pages call.
type Deps struct {
	DB       *ent.Client
	URLs     ReturnURLs
	Payments *paymentsvc.Service
	Billing  *billing.Service
	Sandbox  *sandbox.Sandbox
	// Resolver finds a notification's sender address (trusted proxies).
	Resolver *clientip.Resolver
	Logger   *slog.Logger
	Now      func() time.Time
}

// Pages serves the public pages.
type Pages struct {
	db       *ent.Client
	urls     ReturnURLs
	payments *paymentsvc.Service
	billing  *billing.Service
	sandbox  *sandbox.Sandbox
	resolver *clientip.Resolver
	log      *slog.Logger
	now      func() time.Time
}

// New builds the pages.
func New(d Deps) *Pages {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	return &Pages{db: d.DB, urls: d.URLs, payments: d.Payments, billing: d.Billing, sandbox: d.Sandbox,
		resolver: d.Resolver, log: d.Logger, now: d.Now}
}

// Mount adds the pages to mux.
func (pg *Pages) Mount(mux *http.ServeMux) {
	if pg.sandbox != nil {
		mux.Handle(CheckoutPath+"/", http.StripPrefix(CheckoutPath, pg.sandbox.Checkout()))
	}
	mux.Handle("GET "+payCheckoutPath+"{id}", http.HandlerFunc(pg.servePaymentCheckout))
	mux.Handle("GET "+billingCheckoutPath+"{id}", http.HandlerFunc(pg.serveBillingCheckout))
	mux.Handle("GET "+windowReturnPath+"{id}", withRequestID(pg.serveWindowReturn))
	mux.Handle("POST "+windowReturnPath+"{id}", withRequestID(pg.serveWindowReturn))
	mux.Handle("POST "+notifyPath+"{channel}", withRequestID(pg.serveNotification))
	mux.Handle("GET "+billingReturnPath+"{id}", withRequestID(pg.serveBillingReturn))
	mux.Handle("POST "+billingReturnPath+"{id}", withRequestID(pg.serveBillingReturn))
}

// withRequestID gives a page a request id, as the API's chain gives every
// call one, so the PG calls it makes are linked to it in the call log and
// the process log.
func withRequestID(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := "req_" + secrets.RandomString(20)
		w.Header().Set(requestIDHeader, id)
		h(w, r.WithContext(calllog.WithRequestID(r.Context(), id)))
	})
}

// windowOutcome is what the window return tells the merchant's page (as
// query parameters) or shows itself (as JSON) when there is no return URL.
type windowOutcome map[string]string

func (pg *Pages) serveWindowReturn(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	q := r.URL.Query()
	if subtle.ConstantTimeCompare([]byte(q.Get("rt")), []byte(pg.urls.windowToken(id))) != 1 {
		http.Error(w, "unknown payment window", http.StatusNotFound)
		return
	}
	result, ok := windowFields(w, r)
	if !ok {
		return
	}
	ctx := tenant.System(r.Context())
	p, err := pg.db.Payment.Get(ctx, id)
	if err != nil {
		http.Error(w, "unknown payment window", http.StatusNotFound)
		return
	}
	out := windowOutcome{"payment_id": p.ID, "merchant_payment_id": p.MerchantPaymentID, "amount": strconv.FormatInt(p.Total, 10)}
	if p.ApprovalModel == payment.ApprovalModelSERVER && p.Status == payment.StatusREADY {
		// The result is kept for ConfirmPayment, and shown to the merchant:
		// never over paymux's own fields (the buyer could set them), and
		// without the PG's one-time tokens and signatures.
		for k, v := range result {
			if !paymuxField[k] && !oneTimeSecret(k) {
				out[k] = v
			}
		}
	}
	if p, err = pg.payments.WindowReturned(ctx, p, result); err != nil {
		pg.log.ErrorContext(ctx, "window return", "payment_id", id, "error", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	out["status"] = p.Status.String()
	if p.Failure != nil {
		out["failure_reason"] = p.Failure.Reason
		out["failure_message"] = p.Failure.Message
	}
	sendOn(w, r, p.ReturnURL, out)
}

// paymuxField names what paymux itself tells the merchant's page: a
// window field of the same name (which the buyer could set) never stands
// in for it.
var paymuxField = map[string]bool{"payment_id": true, "merchant_payment_id": true, "amount": true, "status": true,
	"failure_reason": true, "failure_message": true, "billing_key_id": true}

// oneTimeSecret reports whether a window field is a token or signature
// that only the approval needs: it stays out of the merchant's URL (and so
// out of browser history and access logs).
func oneTimeSecret(key string) bool {
	k := strings.ToLower(key)
	return strings.Contains(k, "token") || strings.Contains(k, "signature") || strings.Contains(k, "authkey")
}

// windowFields reads what a PG's window sent back: the query (a redirect,
// as Toss and the sandbox do) and, for a POST, the form (NicePay posts its
// result), without paymux's own "rt" token. A form field wins over a query
// parameter of the same name.
func windowFields(w http.ResponseWriter, r *http.Request) (providers.WindowResult, bool) {
	result := providers.WindowResult{}
	q := r.URL.Query()
	for k := range q {
		result[k] = q.Get(k)
	}
	if r.Method == http.MethodPost {
		r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
		if err := r.ParseForm(); err != nil {
			http.Error(w, "unreadable window result", http.StatusBadRequest)
			return nil, false
		}
		for k := range r.PostForm {
			result[k] = r.PostForm.Get(k)
		}
	}
	delete(result, "rt")
	return result, true
}

// sendOn ends a window's return: the buyer goes on to the merchant's return
// URL with the outcome as query parameters, or sees it as JSON when there
// is none.
func sendOn(w http.ResponseWriter, r *http.Request, returnURL string, out windowOutcome) {
	w.Header().Set("Cache-Control", "no-store")
	if returnURL != "" {
		if u, err := url.Parse(returnURL); err == nil {
			uq := u.Query()
			for k, v := range out {
				uq.Set(k, v)
			}
			u.RawQuery = uq.Encode()
			http.Redirect(w, r, u.String(), http.StatusSeeOther)
			return
		}
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(out) // the buyer may have gone; nothing to do then
}

// serveNotification receives a PG's notification for a channel, has the
// adapter verify it, and applies it through the state machine. It answers
// the PG's expected acknowledgement only once the change is stored; any
// other answer makes the PG send it again.
func (pg *Pages) serveNotification(w http.ResponseWriter, r *http.Request) {
	ctx := tenant.System(r.Context())
	row, err := pg.db.Channel.Get(ctx, r.PathValue("channel"))
	if err != nil {
		http.Error(w, "unknown channel", http.StatusNotFound)
		return
	}
	ch, err := pg.payments.OpenChannel(row)
	if err != nil {
		pg.log.ErrorContext(ctx, "notification channel", "channel_id", row.ID, "error", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 64<<10))
	if err != nil {
		http.Error(w, "body too large", http.StatusRequestEntityTooLarge)
		return
	}
	peer, _ := clientip.ParsePeer(r.RemoteAddr)
	ip := pg.resolver.Resolve(peer, r.Header.Values("X-Forwarded-For"), false)
	ev, err := ch.API.ParseNotification(ctx, ch.PG, providers.Notification{
		Method: r.Method, Path: r.URL.RequestURI(), Header: r.Header, Body: body, RemoteAddr: ip, ReceivedAt: pg.now(),
	})
	if err != nil {
		status := http.StatusBadRequest
		if providers.IsKind(err, providers.KindUnauthorized) {
			status = http.StatusUnauthorized
		}
		pg.log.WarnContext(ctx, "notification refused", "channel_id", row.ID, "error", err)
		http.Error(w, "notification refused", status)
		return
	}
	if _, err := pg.payments.ApplyNotification(ctx, ch, ev); errors.Is(err, paymentsvc.ErrForgedNotification) {
		pg.log.WarnContext(ctx, "notification refused", "channel_id", row.ID, "event_id", ev.ID, "error", err)
		http.Error(w, "notification refused", http.StatusUnauthorized)
		return
	} else if err != nil {
		pg.log.ErrorContext(ctx, "notification not applied", "channel_id", row.ID, "event_id", ev.ID, "error", err)
		http.Error(w, "not applied; send it again", http.StatusInternalServerError)
		return
	}
	if ev.Ack.ContentType != "" {
		w.Header().Set("Content-Type", ev.Ack.ContentType)
	}
	status := ev.Ack.StatusCode
	if status == 0 {
		status = http.StatusOK
	}
	w.WriteHeader(status)
	_, _ = w.Write(ev.Ack.Body)
}

// serveBillingReturn issues the billing key a billing-key window returned
// for, then sends the buyer on.
func (pg *Pages) serveBillingReturn(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	q := r.URL.Query()
	if subtle.ConstantTimeCompare([]byte(q.Get("rt")), []byte(pg.urls.billingToken(id))) != 1 {
		http.Error(w, "unknown billing key window", http.StatusNotFound)
		return
	}
	result, ok := windowFields(w, r)
	if !ok {
		return
	}
	ctx := tenant.System(r.Context())
	k, err := pg.db.BillingKey.Get(ctx, id)
	if err != nil {
		http.Error(w, "unknown billing key window", http.StatusNotFound)
		return
	}
	out := windowOutcome{"billing_key_id": k.Name}
	if k.Status == billingkey.StatusPENDING {
		if k, err = pg.billing.IssueFromWindow(ctx, k, result); err != nil {
			out["failure_reason"] = apierr.Reason(err)
			var ae *apierr.Error
			if errors.As(err, &ae) {
				out["failure_message"] = ae.Message
			}
		}
	}
	out["status"] = "FAILED"
	if k != nil && k.Status == billingkey.StatusACTIVE {
		out["status"] = "ACTIVE"
	}
	returnURL := ""
	if k != nil {
		returnURL = k.ReturnURL
	}
	sendOn(w, r, returnURL, out)
}
