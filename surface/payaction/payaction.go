// Package payaction serves PayAction's order API on paymux, so that a
// PayAction integration moves to paymux by changing only its base URL and
// its key values. It owns the paths under /compat/payaction/ and nothing
// else: each request becomes calls to paymux's own API through the
// server's loopback client, so they pass the whole policy chain
// (authentication, IP rules, validation, idempotency, call log) as any
// client's call does. It holds no payment rule of its own.
//
// # Endpoints
//
// With base URL https://paymux.example/compat/payaction in place of
// https://api.payaction.app:
//
//	POST /compat/payaction/order            CreateInstantPayment with bank_transfer
//	POST /compat/payaction/order-exclude    GetPayment, then CancelPayment of the open order
//	POST /compat/payaction/cashbill-cancel  GetPayment, then CancelCashReceipt
//
// # Headers
//
// x-mall-id means what it means in the PAYACTION webhooks paymux sends
// (webhook/payaction.go), so a merchant keeps one PAYACTION_MALL_ID for
// both directions:
//
//	x-mall-id   the paymux store id (st_...)
//	x-api-key   a key pair of that store, written <client key>:<secret key>
//	            (ck_test_...:sk_test_..., ck_live_...:sk_live_...)
//
// Every call to paymux carries Authorization: Basic base64(x-api-key),
// the pair as it is, so the key must be an AUTH_METHOD_BASIC key; every
// request message that has a store_id (CreateInstantPayment, GetPayment
// by merchant_payment_id) carries store_id: x-mall-id, so paymux itself
// refuses a key of another store (PERMISSION_DENIED STORE_MISMATCH,
// answered 401 here). The chain does the rest: a TEST key registers TEST
// orders (paid by deposits on the store's TEST bank accounts), a LIVE key
// LIVE ones. The calls also carry X-Forwarded-For (the caller's
// X-Forwarded-For values and then the immediate peer's address, as the
// REST gateway sends them, so IP rules and the call log see the caller;
// trusted proxies apply as on REST), X-Paymux-Surface: payaction (the call
// log's surface), and the caller's Idempotency-Key if it sent one. The
// answer carries the X-Request-Id of the last paymux call made for it.
// Content-Type is not checked.
//
// # Fields
//
// /order (PayAction's fields; others are ignored, as PayAction clients may
// send more):
//
//	order_number          → merchant_payment_id, and order_name   required
//	order_amount          → amount.total (a JSON number, or digits in a string)   required
//	order_date            checked only (below)                     required
//	billing_name          → bank_transfer.depositor_name           required
//	orderer_name          → customer.name                          required
//	orderer_phone_number  → customer.phone
//	orderer_email         → customer.email
//	trade_usage           → bank_transfer.cash_receipt.type: "소득공제용" INCOME_DEDUCTION, "지출증빙용" EXPENSE_PROOF
//	identity_number       → bank_transfer.cash_receipt.identity_number (with trade_usage)
//
// The order is paid into any of the store's bank accounts of the key's
// mode. order_date must be ISO 8601 with an offset
// ("2023-07-26T11:31:00+09:00") and, as PayAction requires, not in the
// future (a minute of clock skew is allowed). paymux then drops it:
// matching uses the time paymux registered the order (a deposit pays only
// orders registered before it, inside deposits.match_window), not the
// date the merchant gives. trade_usage and identity_number come together
// or not at all; the receipt is issued when a deposit pays the order.
// String fields are trimmed; order_number, identity_number and
// orderer_phone_number may also be JSON numbers; hyphens in
// identity_number are dropped (paymux takes 10 to 18 digits).
//
// /order-exclude and /cashbill-cancel take {"order_number"}. Excluding
// closes an open (READY) order with reason "order-exclude": it leaves
// matching (status CANCELLED). An order a deposit already paid cannot be
// excluded; an order already closed or expired is out of matching and
// answers success. /cashbill-cancel cancels the order's cash receipt with
// reason "cashbill-cancel".
//
// # Replies
//
// Bodies are PayAction's: {"status":"success","response":{}} or
// {"status":"error","response":{"message":"..."}}. PayAction documents
// the bodies only; the HTTP statuses are paymux's choice:
//
//	200  success, and every refusal (status "error"): a missing field
//	     ("누락된 필드가 존재합니다." and the fields' names), a duplicate
//	     order number ("이미 해당 주문번호의 주문이 존재합니다."), a body
//	     that is not a JSON object, and whatever paymux refuses (a Korean
//	     summary, then paymux's reason and message), so that clients that
//	     look only at "status", as PayAction's sample does, keep working
//	401  x-mall-id or x-api-key missing, an x-api-key without ':', or
//	     credentials paymux refuses: an unknown or wrong key, or a key
//	     of a store other than x-mall-id's (STORE_MISMATCH)
//	405  a method other than POST (with Allow: POST)
//	404  another path under /compat/payaction/
//	500  an internal error
//
// Refusals made here (missing headers, an x-api-key without ':', missing
// or malformed fields) are answered before any call, so they are not in
// the call log; refusals of the credentials by paymux are, as every call
// paymux refuses.
package payaction

import (
	"context"
	"encoding/base64"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"connectrpc.com/connect"

	"github.com/paymux/paymux/clientip"
	paymuxv1 "github.com/paymux/paymux/gen/paymux/v1"
	"github.com/paymux/paymux/gen/paymux/v1/paymuxv1connect"
	"github.com/paymux/paymux/server"
)

// Prefix is where the surface is mounted: a PayAction integration's base
// URL becomes paymux's public URL followed by it.
const Prefix = "/compat/payaction"

// The paths, and the headers the surface reads and sends.
const (
	orderPath          = Prefix + "/order"
	orderExcludePath   = Prefix + "/order-exclude"
	cashbillCancelPath = Prefix + "/cashbill-cancel"

	mallIDHeader         = "X-Mall-Id"
	apiKeyHeader         = "X-Api-Key"
	forwardedForHeader   = "X-Forwarded-For"
	idempotencyKeyHeader = "Idempotency-Key"
	requestIDHeader      = "X-Request-Id"

	// surfaceName is this surface in the call log and metrics.
	surfaceName = "payaction"

	// excludeReason and cashbillCancelReason are the cancel reasons paymux
	// records.
	excludeReason        = "order-exclude"
	cashbillCancelReason = "cashbill-cancel"

	// maxBodyBytes bounds a request body: PayAction's bodies are a few
	// hundred bytes.
	maxBodyBytes = 64 << 10

	// futureSkew is how far in the future an order_date may be (clock
	// skew between the merchant's server and paymux).
	futureSkew = time.Minute
)

// Deps are what the surface calls.
type Deps struct {
	// Client reaches paymux's API through the policy chain
	// ((*server.Server).Loopback): the chain believes the X-Forwarded-For
	// of its calls only on that client.
	Client *http.Client
	// BaseURL is the API's address for Client; the loopback transport
	// ignores the host ("http://paymux.loopback").
	BaseURL string
	Logger  *slog.Logger
	// Now is the clock order dates are checked against; nil: time.Now.
	Now func() time.Time
}

// Surface serves PayAction's API.
type Surface struct {
	payments paymuxv1connect.PaymentServiceClient
	log      *slog.Logger
	now      func() time.Time
}

// New builds the surface.
func New(d Deps) *Surface {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	if d.Client == nil {
		d.Client = http.DefaultClient
	}
	return &Surface{
		payments: paymuxv1connect.NewPaymentServiceClient(d.Client, strings.TrimSuffix(d.BaseURL, "/")),
		log:      d.Logger,
		now:      d.Now,
	}
}

// Mount adds the surface's paths to mux.
func (s *Surface) Mount(mux *http.ServeMux) {
	mux.Handle(orderPath, s.endpoint(s.order))
	mux.Handle(orderExcludePath, s.endpoint(s.orderExclude))
	mux.Handle(cashbillCancelPath, s.endpoint(s.cashbillCancel))
	mux.Handle(Prefix+"/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeReply(w, http.StatusNotFound, errorBody("요청한 API를 찾을 수 없습니다. ("+r.URL.Path+")"))
	}))
}

// caller is what a request says about who calls: the headers every call
// to paymux carries.
type caller struct {
	header    http.Header
	storeID   string // x-mall-id: the store_id of the calls' messages
	requestID string // paymux's id of the last call made
}

// endpoint checks the method and the credentials' presence, then runs
// handle with the headers its calls carry, and writes its reply.
func (s *Surface) endpoint(handle func(ctx context.Context, c *caller, body []byte) reply) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			writeReply(w, http.StatusMethodNotAllowed, errorBody("POST 요청만 지원합니다."))
			return
		}
		mallID, apiKey := strings.TrimSpace(r.Header.Get(mallIDHeader)), strings.TrimSpace(r.Header.Get(apiKeyHeader))
		var missing []string
		if mallID == "" {
			missing = append(missing, "x-mall-id")
		}
		if apiKey == "" {
			missing = append(missing, "x-api-key")
		}
		if len(missing) > 0 {
			writeReply(w, http.StatusUnauthorized, errorBody("인증 정보가 없습니다. ("+strings.Join(missing, ", ")+
				" 헤더가 비어 있습니다. "+msgHeaders+")"))
			return
		}
		if !strings.Contains(apiKey, ":") {
			writeReply(w, http.StatusUnauthorized, errorBody(msgAPIKeyForm))
			return
		}
		body, err := readBody(w, r)
		if err != nil {
			writeReply(w, http.StatusOK, errorBody(err.Error()))
			return
		}
		c := &caller{header: outgoingHeader(r, apiKey), storeID: mallID}
		rep := handle(r.Context(), c, body)
		if c.requestID != "" {
			w.Header().Set(requestIDHeader, c.requestID)
		}
		if rep.status == http.StatusInternalServerError && rep.cause != nil {
			s.log.ErrorContext(r.Context(), "payaction surface", "path", r.URL.Path, "request_id", c.requestID, "error", rep.cause)
		}
		writeReply(w, rep.status, rep.body)
	})
}

// readBody reads a body of at most maxBodyBytes.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return nil, errors.New("요청 본문이 너무 큽니다.")
	}
	if err != nil {
		return nil, errors.New("요청 본문을 읽을 수 없습니다.")
	}
	return body, nil
}

// outgoingHeader is what every call to paymux for r carries; apiKey is
// the key pair "<client key>:<secret key>", sent as it is.
func outgoingHeader(r *http.Request, apiKey string) http.Header {
	h := http.Header{}
	h.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(apiKey)))
	h.Set(server.SurfaceHeader, surfaceName)
	if xff := clientip.ForwardedFor(r); xff != "" {
		h.Set(forwardedForHeader, xff)
	}
	if key := r.Header.Get(idempotencyKeyHeader); key != "" {
		h.Set(idempotencyKeyHeader, key)
	}
	return h
}

// request is a Connect request with the caller's headers.
func request[T any](c *caller, msg *T) *connect.Request[T] {
	req := connect.NewRequest(msg)
	for k, vs := range c.header {
		for _, v := range vs {
			req.Header().Add(k, v)
		}
	}
	return req
}

// noted keeps paymux's request id of a call's answer or error.
func (c *caller) noted(h http.Header, err error) {
	var ce *connect.Error
	if errors.As(err, &ce) {
		h = ce.Meta()
	}
	if h != nil {
		if id := h.Get(requestIDHeader); id != "" {
			c.requestID = id
		}
	}
}

// ---- /order ---------------------------------------------------------------

func (s *Surface) order(ctx context.Context, c *caller, body []byte) reply {
	in, err := parseOrder(body, s.now())
	if err != nil {
		return refused(err)
	}
	in.StoreId = c.storeID
	res, err := s.payments.CreateInstantPayment(ctx, request(c, in))
	if err != nil {
		c.noted(nil, err)
		return fromPaymux(err, "주문을 등록할 수 없습니다.")
	}
	c.noted(res.Header(), nil)
	return success()
}

// ---- /order-exclude -------------------------------------------------------

func (s *Surface) orderExclude(ctx context.Context, c *caller, body []byte) reply {
	number, err := parseOrderNumber(body)
	if err != nil {
		return refused(err)
	}
	// A refused cancel is looked at again once: the order may have left
	// matching (or been paid) since it was read.
	for attempt := 0; ; attempt++ {
		p, rep, ok := s.find(ctx, c, number)
		if !ok {
			return rep
		}
		if p.GetMethod() != paymuxv1.PayMethod_PAY_METHOD_BANK_TRANSFER {
			return refusedf("무통장입금 주문이 아니므로 매칭에서 제외할 수 없습니다. (order_number %s)", number)
		}
		switch p.GetStatus() {
		case paymuxv1.PaymentStatus_PAYMENT_STATUS_READY:
		case paymuxv1.PaymentStatus_PAYMENT_STATUS_EXPIRED:
			return success() // out of matching already
		case paymuxv1.PaymentStatus_PAYMENT_STATUS_CANCELLED:
			if p.GetAmounts().GetPaid() == 0 {
				return success() // excluded before
			}
			return refusedMatched(number)
		default:
			return refusedMatched(number)
		}
		// The guard (nothing paid) keeps a deposit that pays the order
		// meanwhile from turning the exclusion into a refund.
		zero := int64(0)
		res, err := s.payments.CancelPayment(ctx, request(c, &paymuxv1.CancelPaymentRequest{
			Id: p.GetId(), Reason: excludeReason, CurrentCancellableAmount: &zero,
		}))
		if err == nil {
			c.noted(res.Header(), nil)
			return success()
		}
		c.noted(nil, err)
		if attempt > 0 || connect.CodeOf(err) != connect.CodeFailedPrecondition {
			return fromPaymux(err, "주문을 매칭에서 제외할 수 없습니다.")
		}
	}
}

func refusedMatched(number string) reply {
	return refusedf("이미 입금이 확인되어 매칭된 주문은 매칭에서 제외할 수 없습니다. (order_number %s)", number)
}

// ---- /cashbill-cancel -----------------------------------------------------

func (s *Surface) cashbillCancel(ctx context.Context, c *caller, body []byte) reply {
	number, err := parseOrderNumber(body)
	if err != nil {
		return refused(err)
	}
	p, rep, ok := s.find(ctx, c, number)
	if !ok {
		return rep
	}
	res, err := s.payments.CancelCashReceipt(ctx, request(c, &paymuxv1.CancelCashReceiptRequest{
		PaymentId: p.GetId(), Reason: cashbillCancelReason,
	}))
	if err != nil {
		c.noted(nil, err)
		return fromPaymux(err, "현금영수증을 취소할 수 없습니다.")
	}
	c.noted(res.Header(), nil)
	return success()
}

// find gets the payment of an order number; ok false: rep is the reply.
func (s *Surface) find(ctx context.Context, c *caller, number string) (p *paymuxv1.Payment, rep reply, ok bool) {
	res, err := s.payments.GetPayment(ctx, request(c, &paymuxv1.GetPaymentRequest{
		MerchantPaymentId: number, StoreId: c.storeID,
	}))
	if err != nil {
		c.noted(nil, err)
		return nil, fromPaymux(err, "주문을 조회할 수 없습니다."), false
	}
	c.noted(res.Header(), nil)
	return res.Msg.GetPayment(), reply{}, true
}
