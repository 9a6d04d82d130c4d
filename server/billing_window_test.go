package server_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"

	"github.com/paymux/paymux/ent"
	"github.com/paymux/paymux/ent/logrecord"
	paymuxv1 "github.com/paymux/paymux/gen/paymux/v1"
	"github.com/paymux/paymux/gen/paymux/v1/paymuxv1connect"
	"github.com/paymux/paymux/providers/sandbox"
	"github.com/paymux/paymux/tenant"
)

func bwReq[T any](msg *T, auth string) *connect.Request[T] {
	r := connect.NewRequest(msg)
	r.Header().Set("Authorization", auth)
	return r
}

// TestBillingKeyWindow: a billing key registered through the sandbox's
// window: PENDING until the window returns through paymux, ACTIVE after,
// and chargeable; a card the PG refuses leaves no key and frees the name.
func TestBillingKeyWindow(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *ent.Client) {
		ts := startServer(t, db)
		auth := ts.firstKeyAuth()
		billing := paymuxv1connect.NewBillingServiceClient(http.DefaultClient, ts.URL)
		ctx := context.Background()

		opened, err := billing.CreateBillingKeyWindow(ctx, bwReq(&paymuxv1.CreateBillingKeyWindowRequest{
			Id: "window-customer", Customer: &paymuxv1.Customer{Name: "Lee"},
		}, auth))
		if err != nil {
			t.Fatal(err)
		}
		if st := opened.Msg.GetBillingKey().GetStatus(); st != paymuxv1.BillingKeyStatus_BILLING_KEY_STATUS_PENDING || opened.Msg.GetWindow().GetCheckoutUrl() == "" {
			t.Fatalf("opened: %v", opened.Msg)
		}
		// While the buyer is in the window, the key cannot be charged and
		// its name is taken.
		_, err = billing.ChargeBillingKey(ctx, bwReq(&paymuxv1.ChargeBillingKeyRequest{
			Id: "window-customer", MerchantPaymentId: "bw-early", OrderName: "o", Amount: amount(1000),
		}, auth))
		if connect.CodeOf(err) != connect.CodeFailedPrecondition {
			t.Fatalf("charge of a pending key: %v", err)
		}
		_, err = billing.IssueBillingKey(ctx, bwReq(&paymuxv1.IssueBillingKeyRequest{Id: "window-customer", Card: testCard(sandbox.CardSuccess)}, auth))
		if connect.CodeOf(err) != connect.CodeAlreadyExists {
			t.Fatalf("a second key under a pending name: %v", err)
		}

		back := completeWindow(t, opened.Msg.GetWindow().GetCheckoutUrl(), sandbox.CardSuccess)
		if back["status"] != "ACTIVE" || back["billing_key_id"] != "window-customer" {
			t.Fatalf("window return: %v", back)
		}
		got, err := billing.GetBillingKey(ctx, bwReq(&paymuxv1.GetBillingKeyRequest{Id: "window-customer"}, auth))
		if err != nil {
			t.Fatal(err)
		}
		if k := got.Msg.GetBillingKey(); k.GetStatus() != paymuxv1.BillingKeyStatus_BILLING_KEY_STATUS_ACTIVE || k.GetCard().GetNumber() != "941000******0005" {
			t.Fatalf("after the window: %v", k)
		}
		paid, err := billing.ChargeBillingKey(ctx, bwReq(&paymuxv1.ChargeBillingKeyRequest{
			Id: "window-customer", MerchantPaymentId: "bw-1", OrderName: "o", Amount: amount(1000),
		}, auth))
		if err != nil || paid.Msg.GetPayment().GetStatus() != paymuxv1.PaymentStatus_PAYMENT_STATUS_PAID {
			t.Fatalf("charge: %v %v", paid, err)
		}

		// A lost card: the PG refuses to keep it; no key is left behind.
		refused, err := billing.CreateBillingKeyWindow(ctx, bwReq(&paymuxv1.CreateBillingKeyWindowRequest{Id: "window-lost"}, auth))
		if err != nil {
			t.Fatal(err)
		}
		back = completeWindow(t, refused.Msg.GetWindow().GetCheckoutUrl(), sandbox.CardLostOrStolen)
		if back["status"] != "FAILED" || back["failure_reason"] == "" {
			t.Fatalf("refused window return: %v", back)
		}
		if _, err := billing.GetBillingKey(ctx, bwReq(&paymuxv1.GetBillingKeyRequest{Id: "window-lost"}, auth)); connect.CodeOf(err) != connect.CodeNotFound {
			t.Fatalf("refused key still there: %v", err)
		}
		if _, err := billing.IssueBillingKey(ctx, bwReq(&paymuxv1.IssueBillingKeyRequest{Id: "window-lost", Card: testCard(sandbox.CardSuccess)}, auth)); err != nil {
			t.Fatalf("the name of a refused window is not free: %v", err)
		}

		// A forged return is refused.
		resp, _ := rawHTTP(t, http.DefaultClient, http.MethodGet, ts.URL+"/billing/return/"+refused.Msg.GetBillingKey().GetId()+"?rt=00", nil, nil)
		if resp.StatusCode != http.StatusNotFound {
			t.Fatalf("forged return: HTTP %d", resp.StatusCode)
		}
	})
}

// TestBillingKeyNeverLogged: the PG's billing key (with the channel's
// credentials it charges the card) is kept only sealed: the call log's
// records of issuing, charging and deleting show it masked.
func TestBillingKeyNeverLogged(t *testing.T) {
	ts := startServer(t, openSQLite(t))
	auth := ts.firstKeyAuth()
	billing := paymuxv1connect.NewBillingServiceClient(http.DefaultClient, ts.URL)
	ctx := context.Background()
	if _, err := billing.IssueBillingKey(ctx, bwReq(&paymuxv1.IssueBillingKeyRequest{Id: "logged-customer", Card: testCard(sandbox.CardSuccess)}, auth)); err != nil {
		t.Fatal(err)
	}
	if _, err := billing.ChargeBillingKey(ctx, bwReq(&paymuxv1.ChargeBillingKeyRequest{
		Id: "logged-customer", MerchantPaymentId: "bl-log-1", OrderName: "o", Amount: amount(1000),
	}, auth)); err != nil {
		t.Fatal(err)
	}
	if _, err := billing.DeleteBillingKey(ctx, bwReq(&paymuxv1.DeleteBillingKeyRequest{Id: "logged-customer"}, auth)); err != nil {
		t.Fatal(err)
	}
	want := []string{"sandbox/IssueBillingKey", "sandbox/ChargeBillingKey", "sandbox/DeleteBillingKey"}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		rows, err := ts.DB.LogRecord.Query().Where(logrecord.KindEQ(logrecord.KindPG)).All(tenant.System(ctx))
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]bool{}
		for _, r := range rows {
			seen[r.Method] = true
			// The sandbox's keys are sbx_bk_NNNNNN.
			if body := string(r.RequestBody) + string(r.ResponseBody); strings.Contains(body, "sbx_bk_") {
				t.Fatalf("%s stores the PG's billing key: %s", r.Method, body)
			}
		}
		if seen[want[0]] && seen[want[1]] && seen[want[2]] {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("PG records %v, want %v", seen, want)
		}
	}
}
