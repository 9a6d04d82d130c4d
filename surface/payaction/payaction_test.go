package payaction_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/paymux/paymux/app"
	"github.com/paymux/paymux/config"
	"github.com/paymux/paymux/ent"
	paymuxv1 "github.com/paymux/paymux/gen/paymux/v1"
	"github.com/paymux/paymux/gen/paymux/v1/paymuxv1connect"
	"github.com/paymux/paymux/internal/testdb"
	"github.com/paymux/paymux/secrets"
)

// PayAction's own example request, from its developer guide.
const exampleOrder = `{
  "order_number": "1234567890",
  "order_amount": 19000,
  "order_date": "2023-07-26T11:31:00+09:00",
  "billing_name": "홍길동",
  "orderer_name": "홍길동",
  "orderer_phone_number": "01012345678",
  "orderer_email": "hong@gildong.kr",
  "trade_usage": "소득공제용",
  "identity_number": "01012345678"
}`

const successBody = `{"status":"success","response":{}}`

// ---- a whole paymux -------------------------------------------------------

// env is a whole paymux served by httptest, with one store set up through
// its API: a TEST Basic key, a sandbox TEST channel and a TEST bank account.
type env struct {
	t       *testing.T
	url     string
	admin   string // Authorization of the platform administrator
	store   string
	key     *paymuxv1.CreateKeyResponse
	account string
}

func testLogger() *slog.Logger {
	if os.Getenv("PAYMUX_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

func start(t *testing.T, db *ent.Client, configure ...func(*config.Config)) *env {
	t.Helper()
	cfg, err := config.Load(config.NewViper(), "")
	if err != nil {
		t.Fatal(err)
	}
	cfg.DataDir = t.TempDir()
	for _, f := range configure {
		f(&cfg)
	}
	master := make([]byte, 32)
	if _, err := rand.Read(master); err != nil {
		t.Fatal(err)
	}
	keyring, err := secrets.NewKeyring(master)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	hash, first, err := app.Bootstrap(ctx, db, keyring, cfg)
	if err != nil {
		t.Fatal(err)
	}
	a, err := app.New(app.Options{Config: cfg, DB: db, Keyring: keyring, AdminTokenHash: hash, Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	srv := httptest.NewServer(a.Handler())
	t.Cleanup(srv.Close)
	// The call log writer, as Serve runs it.
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- a.Calls.Run(runCtx) }()
	t.Cleanup(func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("call log writer: %v", err)
		}
	})

	e := &env{t: t, url: srv.URL, admin: "Bearer " + first.AdminToken}
	e.store, e.key = e.newStore("paymux shop")
	e.account = e.newBankAccount(e.key)
	return e
}

// newStore creates a store with a TEST Basic key and a sandbox TEST
// payment channel (its default, which issues the cash receipts).
func (e *env) newStore(name string) (string, *paymuxv1.CreateKeyResponse) {
	e.t.Helper()
	ctx := context.Background()
	store := must(paymuxv1connect.NewStoreServiceClient(http.DefaultClient, e.url).CreateStore(ctx,
		withAuth(&paymuxv1.CreateStoreRequest{Name: name}, e.admin)))(e.t).GetStore().GetId()
	key := e.newKey(store, paymuxv1.Mode_MODE_TEST)
	must(paymuxv1connect.NewChannelServiceClient(http.DefaultClient, e.url).CreateChannel(ctx,
		withAuth(&paymuxv1.CreateChannelRequest{
			StoreId: store, Provider: paymuxv1.Provider_PROVIDER_SANDBOX, Mode: paymuxv1.Mode_MODE_TEST,
			Name: "sandbox", Purpose: paymuxv1.ChannelPurpose_CHANNEL_PURPOSE_PAYMENT, MerchantId: "sandbox-mid",
			TaxType: paymuxv1.TaxType_TAX_TYPE_TAXABLE, Secrets: map[string]string{"site_key": "site-key-Vq93kLm2"},
		}, e.admin)))(e.t)
	return store, key
}

func (e *env) newKey(store string, mode paymuxv1.Mode) *paymuxv1.CreateKeyResponse {
	e.t.Helper()
	return must(paymuxv1connect.NewKeyServiceClient(http.DefaultClient, e.url).CreateKey(context.Background(),
		withAuth(&paymuxv1.CreateKeyRequest{
			StoreId: store, Name: "payaction " + mode.String(), Mode: mode,
			ApprovalModel: paymuxv1.ApprovalModel_APPROVAL_MODEL_SERVER, AuthMethod: paymuxv1.AuthMethod_AUTH_METHOD_BASIC,
		}, e.admin)))(e.t)
}

func (e *env) newBankAccount(key *paymuxv1.CreateKeyResponse) string {
	e.t.Helper()
	return must(e.deposits().CreateBankAccount(context.Background(), withAuth(&paymuxv1.CreateBankAccountRequest{
		Bank: "004", AccountNumber: "123-456-789012", Holder: "paymux shop",
	}, basic(key))))(e.t).GetBankAccount().GetId()
}

func (e *env) payments() paymuxv1connect.PaymentServiceClient {
	return paymuxv1connect.NewPaymentServiceClient(http.DefaultClient, e.url)
}

func (e *env) deposits() paymuxv1connect.DepositServiceClient {
	return paymuxv1connect.NewDepositServiceClient(http.DefaultClient, e.url)
}

// payment gets a payment of the store of key by its order number.
func (e *env) payment(key *paymuxv1.CreateKeyResponse, number string) *paymuxv1.Payment {
	e.t.Helper()
	return must(e.payments().GetPayment(context.Background(),
		withAuth(&paymuxv1.GetPaymentRequest{MerchantPaymentId: number}, basic(key))))(e.t).GetPayment()
}

// deposit records a deposit on the store's bank account, as a bank feed
// reports it.
func (e *env) deposit(name string, amount int64) *paymuxv1.Deposit {
	e.t.Helper()
	res := must(e.deposits().RecordDeposits(context.Background(), withAuth(&paymuxv1.RecordDepositsRequest{
		Transactions: []*paymuxv1.TransactionInput{{
			BankAccountId: e.account, Amount: amount, DepositorName: name,
			TransactionTime: timestamppb.Now(), SourceId: "feed-" + secrets.RandomString(8),
		}},
	}, basic(e.key))))(e.t)
	return res.GetResults()[0].GetDeposit()
}

func withAuth[T any](msg *T, authorization string) *connect.Request[T] {
	req := connect.NewRequest(msg)
	req.Header().Set("Authorization", authorization)
	return req
}

func basic(k *paymuxv1.CreateKeyResponse) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(k.GetKey().GetClientKey()+":"+k.GetSecretKey()))
}

// must fails the test on a call's error: must(client.Call(...))(t).
func must[T any](res *connect.Response[T], err error) func(testing.TB) *T {
	return func(t testing.TB) *T {
		t.Helper()
		if err != nil {
			t.Fatalf("paymux call: %v", err)
		}
		return res.Msg
	}
}

// ---- PayAction's calls ----------------------------------------------------

// payActionHeaders are PayAction's headers for k: x-mall-id the store id
// of k, x-api-key its key pair "<client key>:<secret key>".
func payActionHeaders(k *paymuxv1.CreateKeyResponse) http.Header {
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set("x-mall-id", k.GetKey().GetStoreId())
	h.Set("x-api-key", k.GetKey().GetClientKey()+":"+k.GetSecretKey())
	return h
}

type answer struct {
	status int
	header http.Header
	raw    string
	body   struct {
		Status   string         `json:"status"`
		Response map[string]any `json:"response"`
	}
}

func (a answer) message() string {
	m, _ := a.body.Response["message"].(string)
	return m
}

func (e *env) call(method, path string, h http.Header, body string) answer {
	e.t.Helper()
	req, err := http.NewRequest(method, e.url+"/compat/payaction"+path, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	for k, vs := range h {
		req.Header[k] = vs
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	a := answer{status: res.StatusCode, header: res.Header, raw: string(raw)}
	if err := json.Unmarshal(raw, &a.body); err != nil {
		e.t.Fatalf("%s %s: answer %d is not JSON: %q", method, path, res.StatusCode, raw)
	}
	if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		e.t.Errorf("%s %s: Content-Type %q", method, path, ct)
	}
	return a
}

func (e *env) post(path string, k *paymuxv1.CreateKeyResponse, body string) answer {
	e.t.Helper()
	return e.call(http.MethodPost, path, payActionHeaders(k), body)
}

// wantSuccess checks PayAction's success body, exactly.
func wantSuccess(t *testing.T, what string, a answer) {
	t.Helper()
	if a.status != http.StatusOK || a.raw != successBody {
		t.Fatalf("%s: %d %s, want 200 %s", what, a.status, a.raw, successBody)
	}
}

// wantError checks an error body of status whose message contains each
// of parts.
func wantError(t *testing.T, what string, a answer, status int, parts ...string) {
	t.Helper()
	if a.status != status || a.body.Status != "error" {
		t.Fatalf("%s: %d %s, want %d and status error", what, a.status, a.raw, status)
	}
	for _, p := range parts {
		if !strings.Contains(a.message(), p) {
			t.Errorf("%s: message %q, want it to contain %q", what, a.message(), p)
		}
	}
}

// order is an /order body.
func order(number string, amount int64, billingName string, extra ...string) string {
	b := fmt.Sprintf(`{"order_number":%q,"order_amount":%d,"order_date":%q,"billing_name":%q,"orderer_name":"주문자"`,
		number, amount, time.Now().Add(-time.Minute).Format(time.RFC3339), billingName)
	for _, x := range extra {
		b += "," + x
	}
	return b + "}"
}

func orderNumber(number string) string { return fmt.Sprintf(`{"order_number":%q}`, number) }

// ---- tests ----------------------------------------------------------------

// TestOrder posts PayAction's example request as its guide shows it: paymux
// answers PayAction's success body and holds a READY bank transfer order
// of the key's store and mode, with the cash receipt asked for.
func TestOrder(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, db *ent.Client) {
		e := start(t, db)
		a := e.post("/order", e.key, exampleOrder)
		wantSuccess(t, "the example order", a)
		if a.header.Get("X-Request-Id") == "" {
			t.Error("no X-Request-Id on the answer")
		}

		p := e.payment(e.key, "1234567890")
		bt := p.GetBankTransfer()
		checks := []struct {
			what      string
			got, want any
		}{
			{"status", p.GetStatus(), paymuxv1.PaymentStatus_PAYMENT_STATUS_READY},
			{"method", p.GetMethod(), paymuxv1.PayMethod_PAY_METHOD_BANK_TRANSFER},
			{"mode", p.GetMode(), paymuxv1.Mode_MODE_TEST},
			{"store", p.GetStoreId(), e.store},
			{"total", p.GetAmounts().GetTotal(), int64(19000)},
			{"order name", p.GetOrderName(), "1234567890"},
			{"customer name", p.GetCustomer().GetName(), "홍길동"},
			{"customer phone", p.GetCustomer().GetPhone(), "01012345678"},
			{"customer email", p.GetCustomer().GetEmail(), "hong@gildong.kr"},
			{"depositor name", bt.GetDepositorName(), "홍길동"},
			{"account", bt.GetBankAccountId(), ""},
			{"cash receipt type", bt.GetCashReceiptType(), paymuxv1.CashReceiptType_CASH_RECEIPT_TYPE_INCOME_DEDUCTION},
			{"cash receipt identity", bt.GetCashReceiptIdentity(), "010****5678"},
		}
		for _, c := range checks {
			if c.got != c.want {
				t.Errorf("%s: %v, want %v", c.what, c.got, c.want)
			}
		}
		if bt.GetAccountNumber() == "" || bt.GetBank() != "004" {
			t.Errorf("the order shows no account to pay into: %v", bt)
		}
	})
}

// TestOrderRefusals: what PayAction refuses, and what paymux refuses, in
// PayAction's error body, and the HTTP statuses.
func TestOrderRefusals(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, db *ent.Client) {
		e := start(t, db)
		wantSuccess(t, "the example order", e.post("/order", e.key, exampleOrder))
		_, bare := e.newStore("no bank account")

		wrongSecret := payActionHeaders(e.key)
		wrongSecret.Set("x-api-key", e.key.GetKey().GetClientKey()+":sk_test_not-the-secret")
		unknownKey := payActionHeaders(e.key)
		unknownKey.Set("x-api-key", "ck_test_nobody:"+e.key.GetSecretKey())
		noHeaders := http.Header{"Content-Type": {"application/json"}}
		onlyMall := payActionHeaders(e.key)
		onlyMall.Del("x-api-key")
		onlyKey := payActionHeaders(e.key)
		onlyKey.Del("x-mall-id")
		// The pair split over the two headers, as the surface once took it.
		splitPair := payActionHeaders(e.key)
		splitPair.Set("x-mall-id", e.key.GetKey().GetClientKey())
		splitPair.Set("x-api-key", e.key.GetSecretKey())
		secretOnly := payActionHeaders(e.key)
		secretOnly.Set("x-api-key", e.key.GetSecretKey())
		unknownStore := payActionHeaders(e.key)
		unknownStore.Set("x-mall-id", "st_nobody")
		future := time.Now().Add(10 * time.Minute).In(time.FixedZone("KST", 9*3600)).Format(time.RFC3339)

		cases := []struct {
			name   string
			method string
			path   string
			header http.Header
			body   string
			status int
			want   []string // parts of the message; nil: exactly success
		}{
			{name: "every field missing", body: `{}`, status: 200,
				want: []string{"누락된 필드가 존재합니다. (order_number, order_amount, order_date, billing_name, orderer_name)"}},
			{name: "wrong field names", body: `{"orderNo":"1","amount":10000,"customer_name":"홍길동","billing_name":"홍길동","order_date":"2023-07-26T11:31:00+09:00"}`,
				status: 200, want: []string{"누락된 필드가 존재합니다. (order_number, order_amount, orderer_name)"}},
			{name: "blank and null fields", body: `{"order_number":" ","order_amount":null,"order_date":"2023-07-26T11:31:00+09:00","billing_name":"","orderer_name":"김"}`,
				status: 200, want: []string{"누락된 필드가 존재합니다. (order_number, order_amount, billing_name)"}},
			{name: "duplicate order number", body: exampleOrder, status: 200, want: []string{"이미 해당 주문번호의 주문이 존재합니다."}},
			{name: "bad trade_usage", body: order("tu-1", 1000, "김", `"trade_usage":"현금영수증","identity_number":"01012345678"`),
				status: 200, want: []string{"trade_usage", "소득공제용", "지출증빙용"}},
			{name: "trade_usage without identity_number", body: order("tu-2", 1000, "김", `"trade_usage":"소득공제용"`),
				status: 200, want: []string{"identity_number"}},
			{name: "future order_date", body: strings.Replace(exampleOrder, "2023-07-26T11:31:00+09:00", future, 1),
				status: 200, want: []string{"order_date", "미래"}},
			{name: "order_date without offset", body: strings.Replace(exampleOrder, "2023-07-26T11:31:00+09:00", "2023-07-26T11:31:00", 1),
				status: 200, want: []string{"ISO 8601"}},
			{name: "order_amount zero", body: order("amt-0", 0, "김"), status: 200, want: []string{"order_amount"}},
			{name: "order_amount not whole", body: strings.Replace(order("amt-1", 1, "김"), `"order_amount":1`, `"order_amount":1000.5`, 1),
				status: 200, want: []string{"order_amount"}},
			{name: "order_amount not a number", body: strings.Replace(order("amt-2", 1, "김"), `"order_amount":1`, `"order_amount":true`, 1),
				status: 200, want: []string{"order_amount"}},
			{name: "order_amount as digits in a string", body: strings.Replace(order("amt-3", 1, "김"), `"order_amount":1`, `"order_amount":"15000"`, 1),
				status: 200},
			{name: "order_number as a number, and fields PayAction does not document",
				body:   `{"order_number":2023072601,"order_amount":1000,"order_date":"2023-07-26T11:31:00+09:00","billing_name":"김","orderer_name":"김","memo":"x","items":[{"sku":1}]}`,
				status: 200},
			{name: "not JSON", body: `order_number=1234567890&order_amount=19000`, status: 200, want: []string{"JSON"}},
			{name: "a JSON array", body: `[` + exampleOrder + `]`, status: 200, want: []string{"JSON"}},
			{name: "paymux refuses the order number", body: order("주문 1", 1000, "김"), status: 200,
				want: []string{"요청 값이 올바르지 않습니다.", "INVALID_ARGUMENT", "merchant_payment_id"}},
			{name: "paymux refuses the identity number", body: order("id-1", 1000, "김", `"trade_usage":"소득공제용","identity_number":"123"`), status: 200,
				want: []string{"INVALID_ARGUMENT", "identity_number"}},
			{name: "a store without a bank account", header: payActionHeaders(bare), body: order("nb-1", 1000, "김"), status: 200,
				want: []string{"입금받을 계좌가 등록되어 있지 않습니다.", "NO_BANK_ACCOUNT"}},
			{name: "wrong secret key", header: wrongSecret, body: order("auth-1", 1000, "김"), status: 401, want: []string{"인증에 실패했습니다."}},
			{name: "unknown client key", header: unknownKey, body: order("auth-2", 1000, "김"), status: 401, want: []string{"인증에 실패했습니다."}},
			{name: "no credentials", header: noHeaders, body: order("auth-3", 1000, "김"), status: 401, want: []string{"x-mall-id", "x-api-key"}},
			{name: "no x-api-key", header: onlyMall, body: order("auth-4", 1000, "김"), status: 401, want: []string{"x-api-key"}},
			{name: "no x-mall-id", header: onlyKey, body: order("auth-5", 1000, "김"), status: 401, want: []string{"x-mall-id", "상점 ID"}},
			{name: "client key in x-mall-id, secret key in x-api-key", header: splitPair, body: order("auth-6", 1000, "김"), status: 401,
				want: []string{"x-api-key 형식이 올바르지 않습니다.", "<client key>:<secret key>"}},
			{name: "x-api-key without a client key", header: secretOnly, body: order("auth-7", 1000, "김"), status: 401,
				want: []string{"<client key>:<secret key>"}},
			{name: "x-mall-id of no store", header: unknownStore, body: order("auth-8", 1000, "김"), status: 401,
				want: []string{"x-mall-id", "STORE_MISMATCH"}},
			{name: "GET", method: http.MethodGet, body: "", status: 405, want: []string{"POST"}},
			{name: "another path", path: "/orders", body: exampleOrder, status: 404, want: []string{"/compat/payaction/orders"}},
			{name: "exclude without order_number", path: "/order-exclude", body: `{"order_no":"1"}`, status: 200,
				want: []string{"누락된 필드가 존재합니다. (order_number)"}},
			{name: "exclude of an unknown order", path: "/order-exclude", body: orderNumber("no-such-order"), status: 200,
				want: []string{"주문을 찾을 수 없습니다."}},
			{name: "cashbill-cancel of an order without a receipt", path: "/cashbill-cancel", body: orderNumber("1234567890"), status: 200,
				want: []string{"현금영수증", "CASH_RECEIPT_NOT_FOUND"}},
			{name: "cashbill-cancel with wrong credentials", path: "/cashbill-cancel", header: wrongSecret, body: orderNumber("1234567890"), status: 401,
				want: []string{"인증에 실패했습니다."}},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				method, path, h := c.method, c.path, c.header
				if method == "" {
					method = http.MethodPost
				}
				if path == "" {
					path = "/order"
				}
				if h == nil {
					h = payActionHeaders(e.key)
				}
				a := e.call(method, path, h, c.body)
				t.Logf("%d %s", a.status, a.raw)
				if c.want == nil {
					wantSuccess(t, c.name, a)
					return
				}
				wantError(t, c.name, a, c.status, c.want...)
				if c.status == http.StatusMethodNotAllowed && a.header.Get("Allow") != http.MethodPost {
					t.Errorf("Allow %q", a.header.Get("Allow"))
				}
			})
		}
		// The lenient cases made their orders; the refused ones none.
		if got := e.payment(e.key, "amt-3").GetAmounts().GetTotal(); got != 15000 {
			t.Errorf("order_amount \"15000\" made a total of %d", got)
		}
		e.payment(e.key, "2023072601")
		for _, number := range []string{"tu-1", "tu-2", "amt-0", "auth-1", "auth-2", "auth-3", "auth-4", "auth-5", "auth-6", "auth-7", "auth-8"} {
			_, err := e.payments().GetPayment(context.Background(),
				withAuth(&paymuxv1.GetPaymentRequest{MerchantPaymentId: number}, basic(e.key)))
			if connect.CodeOf(err) != connect.CodeNotFound {
				t.Errorf("refused order %s: GetPayment %v, want not found", number, err)
			}
		}
	})
}

// TestOrderExclude: an open order leaves matching (CANCELLED), and a
// deposit of its name and amount pays nothing; an order a deposit paid
// cannot be excluded, and stays paid.
func TestOrderExclude(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, db *ent.Client) {
		e := start(t, db)
		wantSuccess(t, "order", e.post("/order", e.key, order("excl-1", 25000, "이몽룡")))
		wantSuccess(t, "exclude", e.post("/order-exclude", e.key, orderNumber("excl-1")))
		p := e.payment(e.key, "excl-1")
		if p.GetStatus() != paymuxv1.PaymentStatus_PAYMENT_STATUS_CANCELLED {
			t.Fatalf("excluded order is %v", p.GetStatus())
		}
		if len(p.GetCancellations()) != 0 || p.GetAmounts().GetPaid() != 0 {
			t.Errorf("excluding recorded a refund: %v", p.GetCancellations())
		}
		wantSuccess(t, "exclude again", e.post("/order-exclude", e.key, orderNumber("excl-1")))
		if d := e.deposit("이몽룡", 25000); d.GetStatus() != paymuxv1.DepositStatus_DEPOSIT_STATUS_UNMATCHED {
			t.Errorf("a deposit matched the excluded order: %v", d)
		}

		// PayAction's example, paid by a deposit of 홍길동 19000.
		wantSuccess(t, "the example order", e.post("/order", e.key, exampleOrder))
		d := e.deposit("홍길동", 19000)
		paid := e.payment(e.key, "1234567890")
		if d.GetStatus() != paymuxv1.DepositStatus_DEPOSIT_STATUS_MATCHED || paid.GetStatus() != paymuxv1.PaymentStatus_PAYMENT_STATUS_PAID {
			t.Fatalf("the deposit did not pay the order: deposit %v, order %v", d.GetStatus(), paid.GetStatus())
		}
		wantError(t, "exclude a paid order", e.post("/order-exclude", e.key, orderNumber("1234567890")), 200, "매칭", "1234567890")
		after := e.payment(e.key, "1234567890")
		if after.GetStatus() != paymuxv1.PaymentStatus_PAYMENT_STATUS_PAID || len(after.GetCancellations()) != 0 {
			t.Errorf("after a refused exclude the order is %v with cancellations %v", after.GetStatus(), after.GetCancellations())
		}
	})
}

// TestCashbillCancel: an order that asked for a cash receipt gets one when
// a deposit pays it; cashbill-cancel cancels it, once.
func TestCashbillCancel(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, db *ent.Client) {
		e := start(t, db)
		wantSuccess(t, "order", e.post("/order", e.key,
			order("cb-1", 33000, "김철수", `"trade_usage":"지출증빙용","identity_number":"123-45-67890"`)))
		if bt := e.payment(e.key, "cb-1").GetBankTransfer(); bt.GetCashReceiptType() != paymuxv1.CashReceiptType_CASH_RECEIPT_TYPE_EXPENSE_PROOF {
			t.Fatalf("cash receipt type %v", bt.GetCashReceiptType())
		}
		e.deposit("김철수", 33000)
		paid := e.payment(e.key, "cb-1")
		if paid.GetStatus() != paymuxv1.PaymentStatus_PAYMENT_STATUS_PAID || paid.GetCashReceipt() == nil {
			t.Fatalf("the deposit did not pay the order with its receipt: %v", paid)
		}
		// The sandbox issues receipts asynchronously: a read from the PG
		// finds it issued.
		r := must(e.payments().GetCashReceipt(context.Background(),
			withAuth(&paymuxv1.GetCashReceiptRequest{PaymentId: paid.GetId()}, basic(e.key))))(t).GetCashReceipt()
		if r.GetStatus() != paymuxv1.CashReceiptStatus_CASH_RECEIPT_STATUS_ISSUED {
			t.Fatalf("the paid order's cash receipt: %v", r)
		}
		if r.GetType() != paymuxv1.CashReceiptType_CASH_RECEIPT_TYPE_EXPENSE_PROOF || r.GetAmount() != 33000 {
			t.Errorf("cash receipt %v", r)
		}

		wantSuccess(t, "cashbill-cancel", e.post("/cashbill-cancel", e.key, orderNumber("cb-1")))
		p := e.payment(e.key, "cb-1")
		if p.GetCashReceipt().GetStatus() != paymuxv1.CashReceiptStatus_CASH_RECEIPT_STATUS_CANCELLED {
			t.Errorf("after cashbill-cancel the receipt is %v", p.GetCashReceipt().GetStatus())
		}
		if p.GetStatus() != paymuxv1.PaymentStatus_PAYMENT_STATUS_PAID {
			t.Errorf("cashbill-cancel moved the order to %v", p.GetStatus())
		}
		wantError(t, "cashbill-cancel again", e.post("/cashbill-cancel", e.key, orderNumber("cb-1")), 200,
			"취소할 수 있는 현금영수증이 없습니다.", "CASH_RECEIPT_NOT_CANCELLABLE")
	})
}

// TestKeys: the key pair in x-api-key decides the store and the mode, and
// x-mall-id must name that store. A TEST key makes TEST orders; another
// store's key neither sees nor excludes them, and may use the same order
// number; a key with the x-mall-id of another store is refused (401) on
// every path, whichever store's order it names; a LIVE key needs a LIVE
// account.
func TestKeys(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, db *ent.Client) {
		e := start(t, db)
		wantSuccess(t, "store A's order", e.post("/order", e.key, exampleOrder))

		storeB, keyB := e.newStore("another shop")
		e.newBankAccount(keyB)

		// Store A's key with store B's x-mall-id, and the other way round.
		keyAmallB := payActionHeaders(e.key)
		keyAmallB.Set("x-mall-id", storeB)
		keyBmallA := payActionHeaders(keyB)
		keyBmallA.Set("x-mall-id", e.store)
		for _, c := range []struct {
			name   string
			header http.Header
			path   string
			body   string
		}{
			{"key A, mall B: order", keyAmallB, "/order", order("mix-1", 1000, "김")},
			{"key A, mall B: exclude A's order", keyAmallB, "/order-exclude", orderNumber("1234567890")},
			{"key A, mall B: cashbill-cancel of A's order", keyAmallB, "/cashbill-cancel", orderNumber("1234567890")},
			{"key B, mall A: order", keyBmallA, "/order", order("mix-2", 1000, "김")},
			{"key B, mall A: exclude A's order", keyBmallA, "/order-exclude", orderNumber("1234567890")},
		} {
			a := e.call(http.MethodPost, c.path, c.header, c.body)
			wantError(t, c.name, a, http.StatusUnauthorized, "x-mall-id", "STORE_MISMATCH")
			if a.header.Get("X-Request-Id") == "" {
				t.Errorf("%s: no X-Request-Id: paymux's refusal is a logged call", c.name)
			}
		}
		for _, k := range []*paymuxv1.CreateKeyResponse{e.key, keyB} {
			for _, number := range []string{"mix-1", "mix-2"} {
				_, err := e.payments().GetPayment(context.Background(),
					withAuth(&paymuxv1.GetPaymentRequest{MerchantPaymentId: number}, basic(k)))
				if connect.CodeOf(err) != connect.CodeNotFound {
					t.Errorf("refused order %s in store %s: GetPayment %v, want not found", number, k.GetKey().GetStoreId(), err)
				}
			}
		}
		if p := e.payment(e.key, "1234567890"); p.GetStatus() != paymuxv1.PaymentStatus_PAYMENT_STATUS_READY {
			t.Errorf("after refused excludes store A's order is %v", p.GetStatus())
		}

		wantError(t, "store B excludes store A's order", e.post("/order-exclude", keyB, orderNumber("1234567890")), 200,
			"주문을 찾을 수 없습니다.")
		wantError(t, "store B cancels store A's receipt", e.post("/cashbill-cancel", keyB, orderNumber("1234567890")), 200,
			"주문을 찾을 수 없습니다.")
		wantSuccess(t, "store B's order of the same number", e.post("/order", keyB, exampleOrder))
		if a, b := e.payment(e.key, "1234567890"), e.payment(keyB, "1234567890"); a.GetId() == b.GetId() ||
			a.GetStoreId() != e.store || b.GetStoreId() != storeB || a.GetStatus() != paymuxv1.PaymentStatus_PAYMENT_STATUS_READY {
			t.Errorf("store A's order %v / %v, store B's %v / %v", a.GetId(), a.GetStoreId(), b.GetId(), b.GetStoreId())
		}

		live := e.newKey(e.store, paymuxv1.Mode_MODE_LIVE)
		wantError(t, "a LIVE key without a LIVE account", e.post("/order", live, order("live-1", 1000, "김")), 200,
			"NO_BANK_ACCOUNT", "LIVE")
		if p := e.payment(e.key, "1234567890"); p.GetMode() != paymuxv1.Mode_MODE_TEST {
			t.Errorf("the TEST key's order is %v", p.GetMode())
		}
	})
}

// TestCallsThroughTheChain: the surface's calls are paymux API calls: the
// call log has them with surface payaction and the caller's address (the
// X-Forwarded-For a trusted proxy gave, ahead of the peer), and an
// Idempotency-Key replays an order rather than refusing it as a duplicate.
func TestCallsThroughTheChain(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, db *ent.Client) {
		e := start(t, db, func(c *config.Config) { c.TrustedProxies = []string{"127.0.0.1/32"} })
		h := payActionHeaders(e.key)
		h.Set("X-Forwarded-For", "203.0.113.7")
		h.Set("Idempotency-Key", "order-log-1")
		body := order("log-1", 7000, "박")
		first := e.call(http.MethodPost, "/order", h, body)
		wantSuccess(t, "order", first)
		wantSuccess(t, "the same order, same Idempotency-Key", e.call(http.MethodPost, "/order", h, body))
		h.Del("Idempotency-Key")
		wantError(t, "the same order, no Idempotency-Key", e.call(http.MethodPost, "/order", h, body), 200,
			"이미 해당 주문번호의 주문이 존재합니다.")

		entries := e.logs("log-1", 3)
		ids := map[string]bool{}
		for _, l := range entries {
			ids[l.GetRequestId()] = true
			if l.GetSurface() != "payaction" || l.GetClientIp() != "203.0.113.7" || l.GetKeyId() != e.key.GetKey().GetId() ||
				l.GetMethod() != "/paymux.v1.PaymentService/CreateInstantPayment" {
				t.Errorf("logged: %s surface %q, client %q, key %q", l.GetMethod(), l.GetSurface(), l.GetClientIp(), l.GetKeyId())
			}
		}
		if !ids[first.header.Get("X-Request-Id")] {
			t.Errorf("the answer's X-Request-Id %q is not a logged call's", first.header.Get("X-Request-Id"))
		}
	})
}

// TestPeerAddress: with no trusted proxy, the peer is the caller, whatever
// X-Forwarded-For it writes.
func TestPeerAddress(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, db *ent.Client) {
		e := start(t, db)
		h := payActionHeaders(e.key)
		h.Set("X-Forwarded-For", "203.0.113.7")
		wantSuccess(t, "order", e.call(http.MethodPost, "/order", h, order("peer-1", 7000, "박")))
		for _, l := range e.logs("peer-1", 1) {
			if l.GetClientIp() != "127.0.0.1" || l.GetSurface() != "payaction" {
				t.Errorf("logged: client %q, surface %q", l.GetClientIp(), l.GetSurface())
			}
		}
	})
}

// logs waits for want API calls about an order number in the call log.
func (e *env) logs(number string, want int) []*paymuxv1.LogEntry {
	e.t.Helper()
	client := paymuxv1connect.NewLogServiceClient(http.DefaultClient, e.url)
	for deadline := time.Now().Add(10 * time.Second); ; {
		got := must(client.ListLogs(context.Background(), withAuth(&paymuxv1.ListLogsRequest{
			MerchantPaymentId: number,
		}, basic(e.key))))(e.t).GetLogs()
		if len(got) >= want {
			if len(got) > want {
				e.t.Fatalf("%d calls logged for %s, want %d", len(got), number, want)
			}
			return got
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("%d calls logged for %s, want %d", len(got), number, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
