package payaction_test

import (
	"context"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"connectrpc.com/connect"

	paymuxv1 "github.com/paymux/paymux/gen/paymux/v1"
	"github.com/paymux/paymux/gen/paymux/v1/paymuxv1connect"
	"github.com/paymux/paymux/surface/payaction"
)

// recordingPayments is a PaymentService that records what the surface
// sends: each call's procedure, Authorization and store_id (where its
// message has one).
type recordingPayments struct {
	paymuxv1connect.UnimplementedPaymentServiceHandler
	mu    sync.Mutex
	calls []recordedCall
}

type recordedCall struct {
	procedure, authorization, storeID string
}

func (p *recordingPayments) note(spec connect.Spec, h http.Header, storeID string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls = append(p.calls, recordedCall{spec.Procedure, h.Get("Authorization"), storeID})
}

func (p *recordingPayments) CreateInstantPayment(_ context.Context, req *connect.Request[paymuxv1.CreateInstantPaymentRequest]) (*connect.Response[paymuxv1.CreateInstantPaymentResponse], error) {
	p.note(req.Spec(), req.Header(), req.Msg.GetStoreId())
	return connect.NewResponse(&paymuxv1.CreateInstantPaymentResponse{}), nil
}

func (p *recordingPayments) GetPayment(_ context.Context, req *connect.Request[paymuxv1.GetPaymentRequest]) (*connect.Response[paymuxv1.GetPaymentResponse], error) {
	p.note(req.Spec(), req.Header(), req.Msg.GetStoreId())
	return connect.NewResponse(&paymuxv1.GetPaymentResponse{Payment: &paymuxv1.Payment{
		Id: "pay_1", Method: paymuxv1.PayMethod_PAY_METHOD_BANK_TRANSFER, Status: paymuxv1.PaymentStatus_PAYMENT_STATUS_READY,
	}}), nil
}

func (p *recordingPayments) CancelPayment(_ context.Context, req *connect.Request[paymuxv1.CancelPaymentRequest]) (*connect.Response[paymuxv1.CancelPaymentResponse], error) {
	p.note(req.Spec(), req.Header(), "")
	return connect.NewResponse(&paymuxv1.CancelPaymentResponse{}), nil
}

func (p *recordingPayments) CancelCashReceipt(_ context.Context, req *connect.Request[paymuxv1.CancelCashReceiptRequest]) (*connect.Response[paymuxv1.CancelCashReceiptResponse], error) {
	p.note(req.Spec(), req.Header(), "")
	return connect.NewResponse(&paymuxv1.CancelCashReceiptResponse{}), nil
}

// TestOutgoingCalls: every call carries Authorization: Basic
// base64(x-api-key), the pair as it is, and every message with a store_id
// carries x-mall-id in it.
func TestOutgoingCalls(t *testing.T) {
	rec := &recordingPayments{}
	api := http.NewServeMux()
	api.Handle(paymuxv1connect.NewPaymentServiceHandler(rec))
	apiSrv := httptest.NewServer(api)
	defer apiSrv.Close()
	mux := http.NewServeMux()
	payaction.New(payaction.Deps{Client: apiSrv.Client(), BaseURL: apiSrv.URL}).Mount(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()

	const storeID, pair = "st_shop", "ck_test_abc:sk_test_def"
	for path, body := range map[string]string{
		"/order":           order("out-1", 1000, "김"),
		"/order-exclude":   orderNumber("out-1"),
		"/cashbill-cancel": orderNumber("out-1"),
	} {
		req, err := http.NewRequest(http.MethodPost, srv.URL+payaction.Prefix+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("x-mall-id", " "+storeID+" ")
		req.Header.Set("x-api-key", pair)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			t.Errorf("%s: %d", path, res.StatusCode)
		}
	}

	wantAuth := "Basic " + base64.StdEncoding.EncodeToString([]byte(pair))
	withStore := map[string]bool{
		paymuxv1connect.PaymentServiceCreateInstantPaymentProcedure: true,
		paymuxv1connect.PaymentServiceGetPaymentProcedure:           true,
	}
	seen := map[string]bool{}
	for _, c := range rec.calls {
		seen[c.procedure] = true
		if c.authorization != wantAuth {
			t.Errorf("%s: Authorization %q, want %q", c.procedure, c.authorization, wantAuth)
		}
		if withStore[c.procedure] && c.storeID != storeID {
			t.Errorf("%s: store_id %q, want %q", c.procedure, c.storeID, storeID)
		}
	}
	for _, p := range []string{
		paymuxv1connect.PaymentServiceCreateInstantPaymentProcedure, paymuxv1connect.PaymentServiceGetPaymentProcedure,
		paymuxv1connect.PaymentServiceCancelPaymentProcedure, paymuxv1connect.PaymentServiceCancelCashReceiptProcedure,
	} {
		if !seen[p] {
			t.Errorf("no call of %s", p)
		}
	}
}
