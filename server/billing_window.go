package server

import (
	"context"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"net/http"
	"strings"

	paymentsvc "github.com/paymux/paymux/payment"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/paymux/paymux/apierr"
	"github.com/paymux/paymux/database"
	"github.com/paymux/paymux/ent"
	"github.com/paymux/paymux/ent/billingkey"
	paymuxv1 "github.com/paymux/paymux/gen/paymux/v1"
	"github.com/paymux/paymux/providers"
	"github.com/paymux/paymux/secrets"
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
	if err := paymentsvc.CheckReturnURL(m.GetReturnUrl()); err != nil {
		return nil, err
	}
	id, name, ch, err := s.newBillingKey(ctx, m.GetId(), m.GetChannelId(), providers.CapBillingKeyFromWindow)
	if err != nil {
		return nil, err
	}
	pgctx, cancel := s.payments.PGContext(ctx)
	win, err := ch.API.PrepareWindow(pgctx, ch.PG, providers.PrepareWindowRequest{
		Purpose:     providers.WindowBillingKey,
		OrderID:     id,
		OrderName:   "billing key " + name,
		CustomerKey: name,
		ReturnURL:   s.billingReturnURL(id),
		Buyer:       buyerOf(m.GetCustomer()),
	})
	cancel()
	if err != nil {
		return nil, paymentsvc.PGError(nil, err)
	}
	now := s.clock()
	k, err := s.db.BillingKey.Create().
		SetID(id).
		SetStoreID(storeID).
		SetName(name).
		SetActiveName(name).
		SetChannelID(ch.Row.ID).
		SetProvider(string(ch.Row.Provider)).
		SetMode(billingkey.Mode(ch.Row.Mode)).
		SetStatus(billingkey.StatusPENDING).
		SetReturnURL(m.GetReturnUrl()).
		SetCustomerName(m.GetCustomer().GetName()).
		SetCustomerEmail(m.GetCustomer().GetEmail()).
		SetCustomerPhone(m.GetCustomer().GetPhone()).
		SetKeyID(keyIDOf(callFrom(ctx).Principal)).
		SetCreatedAt(now).
		SetUpdatedAt(now).
		Save(ctx)
	if ent.IsConstraintError(err) {
		return nil, errBillingKeyExists(name)
	}
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

// serveBillingReturn receives the window's result for a PENDING key: it
// issues the key at the PG and records it ACTIVE (or drops the PENDING key
// if the PG refuses), then sends the buyer on.
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
		if k, err = s.issueFromWindow(ctx, k, result); err != nil {
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

// issueFromWindow issues a PENDING key from the window's result. A refusal
// deletes the PENDING key (its name is free again) and answers the error;
// the returned key is then nil unless another return issued it meanwhile.
func (s *Server) issueFromWindow(ctx context.Context, k *ent.BillingKey, result providers.WindowResult) (*ent.BillingKey, error) {
	ch, err := s.payments.ChannelByID(ctx, k.ChannelID)
	if err != nil {
		return k, err
	}
	pgctx, cancel := s.payments.PGContext(ctx)
	issued, err := ch.API.IssueBillingKey(pgctx, ch.PG, providers.IssueBillingKeyRequest{
		CustomerKey: k.Name, OrderID: k.ID, Window: result, IdempotencyKey: k.ID,
	})
	cancel()
	if err != nil {
		if !providers.OutcomeUnknown(err) {
			if _, derr := s.db.BillingKey.Delete().Where(billingkey.ID(k.ID), billingkey.StatusEQ(billingkey.StatusPENDING)).Exec(ctx); derr != nil {
				s.log.ErrorContext(ctx, "billing window: drop refused key", "billing_key", k.ID, "error", derr)
			}
			// Still the buyer's way back, though the key is gone.
			return &ent.BillingKey{Name: k.Name, ReturnURL: k.ReturnURL, Status: billingkey.StatusDELETED}, paymentsvc.PGError(nil, err)
		}
		return k, paymentsvc.PGError(nil, err)
	}
	sealed, err := s.sealBillingKey(k.ID, issued.Key)
	if err != nil {
		return k, err
	}
	var out *ent.BillingKey
	err = database.InTx(ctx, s.db, func(tx *ent.Tx) error {
		n, err := tx.BillingKey.Update().Where(billingkey.ID(k.ID), billingkey.StatusEQ(billingkey.StatusPENDING)).
			SetStatus(billingkey.StatusACTIVE).SetPgKeySealed(sealed).SetCard(paymentsvc.CardOf(&issued.Card)).SetUpdatedAt(s.clock()).Save(ctx)
		if err != nil {
			return err
		}
		if out, err = tx.BillingKey.Get(ctx, k.ID); err != nil || n == 0 {
			return err
		}
		return s.recordBillingKeyEvent(ctx, tx, out, "billing_key.issued")
	})
	return out, err
}

// newBillingKey checks what issuing a key needs, by card data or by window
// (how): a free name (or a generated one), and a channel that can. It
// answers the key's row id, its name and the channel.
func (s *Server) newBillingKey(ctx context.Context, requested, channelID string, how providers.Capabilities) (id, name string, ch *paymentsvc.Channel, err error) {
	id, name = secrets.NewID("bk"), requested
	switch {
	case requested == "":
		name = id
	case strings.HasPrefix(requested, "bk_"):
		return "", "", nil, apierr.InvalidField("id", "bk_ starts the ids paymux makes; name the key otherwise")
	}
	if ch, err = s.payments.ChannelForNew(ctx, channelID); err != nil {
		return "", "", nil, err
	}
	if !ch.API.Capabilities().Has(how) {
		return "", "", nil, apierr.New(apierr.CodeFailedPrecondition, paymentsvc.ReasonNotSupported,
			"channel %s (%s) does not issue billing keys this way", ch.Row.ID, ch.Row.Provider)
	}
	taken, err := s.db.BillingKey.Query().Where(billingkey.ActiveName(name)).Exist(ctx)
	if err != nil {
		return "", "", nil, err
	}
	if taken {
		return "", "", nil, errBillingKeyExists(name)
	}
	return id, name, ch, nil
}

func errBillingKeyExists(name string) error {
	return apierr.New(apierr.CodeAlreadyExists, reasonBillingKeyExists, "billing key %s exists; delete it first", name)
}
