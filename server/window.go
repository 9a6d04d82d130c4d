package server

import (
	"context"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"

	"connectrpc.com/connect"

	"github.com/paymux/paymux/calllog"
	"github.com/paymux/paymux/clientip"
	"github.com/paymux/paymux/ent/payment"
	paymuxv1 "github.com/paymux/paymux/gen/paymux/v1"
	"github.com/paymux/paymux/providers"
	"github.com/paymux/paymux/tenant"
)

// The pages browsers and PGs reach without an API key:
//
//	/sandbox/checkout/{session}   the sandbox's hosted payment window
//	GET  /pay/return/{payment}    where every window returns (through paymux)
//	POST /notifications/{channel} a PG's notifications (deposits, ...)
const (
	checkoutPath     = "/sandbox/checkout"
	windowReturnPath = "/pay/return/"
	notifyPath       = "/notifications/"
)

func (s *Server) mountPublicPages(mux *http.ServeMux) {
	mux.Handle(checkoutPath+"/", http.StripPrefix(checkoutPath, s.sandbox.Checkout()))
	mux.Handle("GET "+windowReturnPath+"{id}", withRequestID(s.serveWindowReturn))
	mux.Handle("POST "+notifyPath+"{channel}", withRequestID(s.serveNotification))
	mux.Handle("GET "+billingReturnPath+"{id}", withRequestID(s.serveBillingReturn))
}

// withRequestID gives a page outside the API a request id, as the chain
// gives every API call one, so the PG calls it makes are linked to it in
// the call log and the process log.
func withRequestID(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c := &call{RequestID: newRequestID()}
		w.Header().Set(requestIDHeader, c.RequestID)
		h(w, r.WithContext(calllog.WithRequestID(withCall(r.Context(), c), c.RequestID)))
	})
}

// windowReturnURL is where the PG's window sends the buyer back: paymux
// first, which records (server approval) or approves (client approval),
// then the merchant's return URL. The token proves the request came from
// the window paymux opened, so nobody can fail a payment by guessing ids.
func (s *Server) windowReturnURL(paymentID string) string {
	return s.cfg.BaseURL() + windowReturnPath + paymentID + "?rt=" + s.returnToken(paymentID)
}

func (s *Server) returnToken(paymentID string) string {
	return hex.EncodeToString(s.keyring.HashSecret("window-return:" + paymentID)[:16])
}

// windowOutcome is what the window return tells the merchant's page (as
// query parameters) or shows itself (as JSON) when there is no return URL.
type windowOutcome map[string]string

func (s *Server) serveWindowReturn(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	q := r.URL.Query()
	if subtle.ConstantTimeCompare([]byte(q.Get("rt")), []byte(s.returnToken(id))) != 1 {
		http.Error(w, "unknown payment window", http.StatusNotFound)
		return
	}
	q.Del("rt")
	result := map[string]string{}
	for k := range q {
		result[k] = q.Get(k)
	}
	ctx := tenant.System(r.Context())
	p, err := s.db.Payment.Get(ctx, id)
	if err != nil {
		http.Error(w, "unknown payment window", http.StatusNotFound)
		return
	}
	out := windowOutcome{"payment_id": p.ID, "merchant_payment_id": p.MerchantPaymentID, "amount": strconv.FormatInt(p.Total, 10)}
	if p.ApprovalModel == payment.ApprovalModelSERVER && p.Status == payment.StatusREADY {
		// The result is kept for ConfirmPayment, and shown to the merchant.
		for k, v := range result {
			out[k] = v
		}
	}
	if p, err = s.payments.WindowReturned(ctx, p, result); err != nil {
		s.log.ErrorContext(ctx, "window return", "payment_id", id, "error", err)
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
func (s *Server) serveNotification(w http.ResponseWriter, r *http.Request) {
	ctx := tenant.System(r.Context())
	row, err := s.db.Channel.Get(ctx, r.PathValue("channel"))
	if err != nil {
		http.Error(w, "unknown channel", http.StatusNotFound)
		return
	}
	ch, err := s.payments.OpenChannel(row)
	if err != nil {
		s.log.ErrorContext(ctx, "notification channel", "channel_id", row.ID, "error", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 64<<10))
	if err != nil {
		http.Error(w, "body too large", http.StatusRequestEntityTooLarge)
		return
	}
	peer, _ := clientip.ParsePeer(r.RemoteAddr)
	ip := s.resolver.Resolve(peer, r.Header.Values("X-Forwarded-For"), false)
	ev, err := ch.API.ParseNotification(ctx, ch.PG, providers.Notification{
		Method: r.Method, Path: r.URL.RequestURI(), Header: r.Header, Body: body, RemoteAddr: ip, ReceivedAt: s.now(),
	})
	if err != nil {
		status := http.StatusBadRequest
		if providers.IsKind(err, providers.KindUnauthorized) {
			status = http.StatusUnauthorized
		}
		s.log.WarnContext(ctx, "notification refused", "channel_id", row.ID, "error", err)
		http.Error(w, "notification refused", status)
		return
	}
	if _, err := s.payments.ApplyNotification(ctx, ch, ev); err != nil {
		s.log.ErrorContext(ctx, "notification not applied", "channel_id", row.ID, "event_id", ev.ID, "error", err)
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

type sandboxService struct{ *Server }

func (s *sandboxService) SimulateDeposit(ctx context.Context, req *connect.Request[paymuxv1.SimulateDepositRequest]) (*connect.Response[paymuxv1.SimulateDepositResponse], error) {
	p, err := s.payments.SimulateDeposit(ctx, req.Msg.GetPaymentId(), req.Msg.GetAmount(), req.Msg.GetDepositorName())
	if err != nil {
		return nil, err
	}
	full, err := s.paymentPB(ctx, p)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&paymuxv1.SimulateDepositResponse{Payment: full}), nil
}
