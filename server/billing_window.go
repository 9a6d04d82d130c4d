package server

import (
	"context"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"net/http"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/paymux/paymux/apierr"
	"github.com/paymux/paymux/billing"
	"github.com/paymux/paymux/ent/billingkey"
	paymuxv1 "github.com/paymux/paymux/gen/paymux/v1"
	"github.com/paymux/paymux/providers"
	"github.com/paymux/paymux/tenant"
)

// billingReturnPath is where a billing-key window returns: paymux issues the
// key, then sends the buyer on to the merchant's return URL.
const billingReturnPath = "/billing/return/"

func (s *Server) billingReturnURL(id string) string {
	return s.cfg.BaseURL() + billingReturnPath + id + "?rt=" + s.billingReturnToken(id)
}

// billingReturnToken proves a return came from the window paymux opened.
func (s *Server) billingReturnToken(id string) string {
	return hex.EncodeToString(s.keyring.HashSecret("billing-return:" + id)[:16])
}

func (s *billingService) CreateBillingKeyWindow(ctx context.Context, req *connect.Request[paymuxv1.CreateBillingKeyWindowRequest]) (*connect.Response[paymuxv1.CreateBillingKeyWindowResponse], error) {
	m := req.Msg
	ctx, storeID, err := s.actingStore(ctx, m.GetStoreId())
	if err != nil {
		return nil, err
	}
	k, win, err := s.billing.CreateWindow(ctx, billing.WindowInput{
		KeyInput:  keyInputOf(storeID, m.GetId(), m.GetChannelId(), m.GetCustomer()),
		ReturnURL: m.GetReturnUrl(),
	})
	if err != nil {
		return nil, err
	}
	res := &paymuxv1.CreateBillingKeyWindowResponse{
		BillingKey: toBillingKeyPB(k, 0),
		Window:     &paymuxv1.Window{CheckoutUrl: win.RedirectURL, SdkUrl: win.SDKURL, Params: win.Params},
	}
	if !win.ExpiresAt.IsZero() {
		res.Window.ExpireTime = timestamppb.New(win.ExpiresAt)
	}
	return connect.NewResponse(res), nil
}

// serveBillingReturn receives the window's result for a PENDING key:
// billing issues the key at the PG and records it ACTIVE (or drops the
// PENDING key if the PG refuses), then the buyer is sent on.
func (s *Server) serveBillingReturn(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	q := r.URL.Query()
	if subtle.ConstantTimeCompare([]byte(q.Get("rt")), []byte(s.billingReturnToken(id))) != 1 {
		http.Error(w, "unknown billing key window", http.StatusNotFound)
		return
	}
	q.Del("rt")
	result := providers.WindowResult{}
	for k := range q {
		result[k] = q.Get(k)
	}
	ctx := tenant.System(r.Context())
	k, err := s.db.BillingKey.Get(ctx, id)
	if err != nil {
		http.Error(w, "unknown billing key window", http.StatusNotFound)
		return
	}
	out := windowOutcome{"billing_key_id": k.Name}
	if k.Status == billingkey.StatusPENDING {
		if k, err = s.billing.IssueFromWindow(ctx, k, result); err != nil {
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
