package nicepay_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/paymux/paymux/providers"
	"github.com/paymux/paymux/providers/nicepay"
)

// stubReq is a request the stub received.
type stubReq struct {
	Method, Path  string
	Query         url.Values
	Authorization string
	Body          map[string]any
}

// stub is a scripted NicePay answering over real HTTP: answer decides the
// status and JSON body of each request.
type stub struct {
	srv    *httptest.Server
	mu     sync.Mutex
	reqs   []stubReq
	answer func(r stubReq) (int, any)
}

func newStub(t *testing.T, answer func(r stubReq) (int, any)) *stub {
	s := &stub{answer: answer}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		req := stubReq{Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), Authorization: r.Header.Get("Authorization")}
		if len(raw) > 0 {
			if err := json.Unmarshal(raw, &req.Body); err != nil {
				t.Errorf("%s %s: body is not JSON: %v", r.Method, r.URL.Path, err)
			}
		}
		s.mu.Lock()
		s.reqs = append(s.reqs, req)
		s.mu.Unlock()
		status, body := s.answer(req)
		w.Header().Set("Content-Type", "application/json;charset=utf-8")
		w.WriteHeader(status)
		switch b := body.(type) {
		case string:
			io.WriteString(w, b)
		default:
			json.NewEncoder(w).Encode(b)
		}
	}))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *stub) requests() []stubReq {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]stubReq(nil), s.reqs...)
}

// stubNow is the adapter's clock in stub tests: 2024-03-01 10:00 KST.
var stubNow = time.Date(2024, 3, 1, 1, 0, 0, 0, time.UTC)

func stubAdapter(s *stub) *nicepay.Adapter {
	return nicepay.New(nicepay.Options{
		SandboxAPIURL: s.srv.URL,
		APIURL:        "http://127.0.0.1:1", // LIVE must never be reached by these tests
		Now:           func() time.Time { return stubNow },
	})
}

func testChannel() providers.Channel {
	return providers.Channel{ID: "ch_test", MerchantID: "nicepay00m", Mode: providers.ModeTest, Secrets: providers.Secrets{
		"client_id": readmeClientID, "secret_key": readmeSecret,
	}}
}

// paidCard is a signed Payment object as the manual's README sample has
// it: "0" for unset times, cardQuota as a number, canPartCancel a bool.
func paidCard(tid, orderID string, amount int64, secret string) map[string]any {
	edi := "2024-03-01T10:00:01.000+0900"
	return map[string]any{
		"resultCode": "0000", "resultMsg": "정상 처리되었습니다.",
		"tid": tid, "cancelledTid": nil, "orderId": orderID, "ediDate": edi,
		"signature": nicepay.PaymentSignature(tid, itoa(amount), edi, secret),
		"status":    "paid", "paidAt": "2024-03-01T10:00:00.000+0900", "failedAt": "0", "cancelledAt": "0",
		"payMethod": "card", "amount": amount, "balanceAmt": amount, "goodsName": "T-shirt",
		"mallReserved": nil, "useEscrow": false, "currency": "KRW", "channel": "pc", "approveNo": "000000",
		"buyerName": nil, "issuedCashReceipt": false, "receiptUrl": "https://npg.nicepay.co.kr/issue/x",
		"coupon": nil, "bank": nil, "vbank": nil, "cancels": nil, "cashReceipts": nil,
		"card": map[string]any{
			"cardCode": "04", "cardName": "삼성", "cardNum": "123412******1234", "cardQuota": 0,
			"isInterestFree": false, "cardType": "credit", "canPartCancel": true, "acquCardCode": "04", "acquCardName": "삼성",
		},
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func jsonMarshal(v any) ([]byte, error) { return json.Marshal(v) }
