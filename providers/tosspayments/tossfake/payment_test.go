package tossfake_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/paymux/paymux/providers/tosspayments/tossfake"
)

var kstStamp = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+09:00$`)

func TestDocsBasicHeaderIsThePublishedSecretKey(t *testing.T) {
	if got := basic(tossfake.TestSecretKey); got != docsBasic {
		t.Fatalf("Basic of the test secret key = %q, docs show %q", got, docsBasic)
	}
	e := start(t)
	e.wantError(e.call("GET", "/v1/payments/orders/no-such-order", nil, nil), 404, "NOT_FOUND_PAYMENT")
}

func TestAuthentication(t *testing.T) {
	e := start(t)
	b64 := func(s string) string { return "Basic " + base64Std(s) }
	for _, tc := range []struct {
		name, header string
	}{
		{"missing", ""},
		{"unknown secret", basic("test_sk_unknownunknownunknown")},
		{"client key as secret", basic(tossfake.TestClientKey)},
		{"no colon", b64(tossfake.TestSecretKey)},
		{"password set", b64(tossfake.TestSecretKey + ":x")},
		{"bearer", "Bearer " + tossfake.TestSecretKey},
		{"not base64", "Basic !!!"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := e.call("GET", "/v1/payments/orders/order-123", nil, map[string]string{"Authorization": tc.header})
			e.wantError(a, 401, "UNAUTHORIZED_KEY")
		})
	}
	a := e.call("GET", "/v1/payments/orders/order-123", nil,
		map[string]string{"Authorization": "", "Accept-Language": "en-US"})
	if m := a.str("message"); !strings.HasPrefix(m, "Unauthorized") {
		t.Fatalf("English message = %q", m)
	}
}

func TestWindowConfirmLookup(t *testing.T) {
	e := start(t)
	r := newReceiver(t)
	e.f.SetWebhookURL(r.srv.URL)
	orderID := "order_2026-03=01"
	args := payArgs(orderID, "15000")
	args["customerKey"] = "cust_8f2a"
	q := e.window(args, tossfake.Choice{})
	if q.Get("rt") != "abc" || q.Get("orderId") != orderID || q.Get("amount") != "15000" ||
		q.Get("paymentType") != "NORMAL" || q.Get("paymentKey") == "" {
		t.Fatalf("success query = %v", q)
	}
	key := q.Get("paymentKey")

	st, _, ok := e.f.Payment(orderID)
	if !ok || st != tossfake.StatusInProgress {
		t.Fatalf("after window: %s %v", st, ok)
	}
	inProgress := e.must(e.call("GET", "/v1/payments/"+key, nil, nil), 200)
	if inProgress.str("status") != "IN_PROGRESS" || inProgress.body["approvedAt"] != nil {
		t.Fatalf("in progress: %s", inProgress.raw)
	}

	a := e.must(e.call("POST", "/v1/payments/confirm",
		map[string]any{"paymentKey": key, "orderId": orderID, "amount": 15000}, nil), 200)
	checks := map[string]string{
		"status": "DONE", "method": "카드", "type": "NORMAL", "paymentKey": key, "orderId": orderID,
		"currency": "KRW", "country": "KR", "mId": tossfake.TestMID, "card.cardType": "신용",
		"card.ownerType": "개인", "card.number": "43300000****000*", "card.issuerCode": "41",
		"card.acquirerCode": "41", "card.acquireStatus": "READY", "version": "2022-11-16",
	}
	for path, want := range checks {
		if got := a.str(strings.Split(path, ".")...); got != want {
			t.Errorf("%s = %q, want %q", path, got, want)
		}
	}
	if a.num("totalAmount") != 15000 || a.num("balanceAmount") != 15000 || a.num("vat") != 1364 ||
		a.num("suppliedAmount") != 13636 || a.num("taxFreeAmount") != 0 || a.num("card", "installmentPlanMonths") != 0 {
		t.Errorf("amounts: %s", a.raw)
	}
	if !kstStamp.MatchString(a.str("approvedAt")) || !kstStamp.MatchString(a.str("requestedAt")) {
		t.Errorf("timestamps %q %q", a.str("approvedAt"), a.str("requestedAt"))
	}
	if len(a.str("card", "approveNo")) != 8 || a.str("lastTransactionKey") == "" {
		t.Errorf("approveNo/lastTransactionKey: %s", a.raw)
	}

	byKey := e.must(e.call("GET", "/v1/payments/"+key, nil, nil), 200)
	byOrder := e.must(e.call("GET", "/v1/payments/orders/"+url.PathEscape(orderID), nil, nil), 200)
	if string(byKey.raw) != string(a.raw) || string(byOrder.raw) != string(a.raw) {
		t.Fatalf("lookups differ from the confirm answer:\n%s\n%s\n%s", a.raw, byKey.raw, byOrder.raw)
	}

	// The same confirm again, and a second window for the paid order.
	e.wantError(e.call("POST", "/v1/payments/confirm",
		map[string]any{"paymentKey": key, "orderId": orderID, "amount": 15000}, nil), 400, "ALREADY_PROCESSED_PAYMENT")
	q2 := e.window(args, tossfake.Choice{})
	e.wantError(e.call("POST", "/v1/payments/confirm",
		map[string]any{"paymentKey": q2.Get("paymentKey"), "orderId": orderID, "amount": 15000}, nil), 400, "ALREADY_PROCESSED_PAYMENT")
	if got := e.must(e.call("GET", "/v1/payments/orders/"+orderID, nil, nil), 200).str("paymentKey"); got != key {
		t.Fatalf("order now refers to %s", got)
	}

	hooks := r.got()
	if len(hooks) != 1 || hooks[0]["eventType"] != "PAYMENT_STATUS_CHANGED" || dig(hooks[0], "data", "status") != "DONE" {
		t.Fatalf("webhooks: %v", hooks)
	}
}

func TestConfirmRefusals(t *testing.T) {
	for _, tc := range []struct {
		name         string
		card         string
		amount       int64
		orderID      string
		key          string
		wait         time.Duration
		status       int
		code         string
		paymentAfter string
	}{
		{name: "amount differs", amount: 999, status: 400, code: "INVALID_REQUEST", paymentAfter: "IN_PROGRESS"},
		{name: "orderId differs", orderID: "other-order", status: 400, code: "INVALID_REQUEST", paymentAfter: "IN_PROGRESS"},
		{name: "unknown paymentKey", key: "tfake-unknown", status: 404, code: "NOT_FOUND_PAYMENT_SESSION", paymentAfter: "IN_PROGRESS"},
		{name: "after 10 minutes", wait: 10*time.Minute + time.Second, status: 404, code: "NOT_FOUND_PAYMENT_SESSION", paymentAfter: "EXPIRED"},
		{name: "card declined at confirm", card: tossfake.ConfirmDeclineCard, status: 403, code: "REJECT_CARD_COMPANY", paymentAfter: "ABORTED"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := start(t)
			q := e.window(payArgs("order-1", "5000"), tossfake.ApproveWith(tc.card))
			body := map[string]any{"paymentKey": q.Get("paymentKey"), "orderId": "order-1", "amount": 5000}
			if tc.amount != 0 {
				body["amount"] = tc.amount
			}
			if tc.orderID != "" {
				body["orderId"] = tc.orderID
			}
			if tc.key != "" {
				body["paymentKey"] = tc.key
			}
			e.clock.Advance(tc.wait)
			e.wantError(e.call("POST", "/v1/payments/confirm", body, nil), tc.status, tc.code)
			a := e.must(e.call("GET", "/v1/payments/"+q.Get("paymentKey"), nil, nil), 200)
			if a.str("status") != tc.paymentAfter {
				t.Fatalf("payment is %s, want %s", a.str("status"), tc.paymentAfter)
			}
			if tc.paymentAfter == "ABORTED" && a.str("failure", "code") != "REJECT_CARD_COMPANY" {
				t.Fatalf("failure: %s", a.raw)
			}
			if tc.paymentAfter == "EXPIRED" && a.str("failure", "code") != "EXPIRED_PAYMENT" {
				t.Fatalf("failure: %s", a.raw)
			}
		})
	}
}

func TestWindowOutcomes(t *testing.T) {
	for _, tc := range []struct {
		name   string
		edit   func(map[string]string)
		choice tossfake.Choice
		errCod string // CompleteWindow refuses
		fail   string // failUrl code
	}{
		{name: "buyer closes", choice: tossfake.CloseWindow, fail: "PAY_PROCESS_CANCELED"},
		{name: "card company rejects", choice: tossfake.ApproveWith(tossfake.RejectCard), fail: "REJECT_CARD_COMPANY"},
		{name: "stopped card", choice: tossfake.ApproveWith(tossfake.StoppedCard), fail: "INVALID_STOPPED_CARD"},
		{name: "declined by choice", choice: tossfake.DeclineWith("PAY_PROCESS_ABORTED", ""), fail: "PAY_PROCESS_ABORTED"},
		{name: "malformed card", choice: tossfake.ApproveWith("1234"), errCod: "INVALID_CARD_NUMBER"},
		{name: "unknown client key", edit: func(a map[string]string) { a["clientKey"] = "test_ck_nope" }, errCod: "UNAUTHORIZED_KEY"},
		{name: "secret key as client key", edit: func(a map[string]string) { a["clientKey"] = tossfake.TestSecretKey }, errCod: "UNAUTHORIZED_KEY"},
		{name: "zero amount", edit: func(a map[string]string) { a["amount"] = "0" }, errCod: "INVALID_REQUEST"},
		{name: "fractional amount", edit: func(a map[string]string) { a["amount"] = "100.5" }, errCod: "INVALID_REQUEST"},
		{name: "short orderId", edit: func(a map[string]string) { a["orderId"] = "abc" }, errCod: "INVALID_REQUEST"},
		{name: "orderId with a dot", edit: func(a map[string]string) { a["orderId"] = "order.123" }, errCod: "INVALID_REQUEST"},
		{name: "unknown method", edit: func(a map[string]string) { a["method"] = "카드" }, errCod: "INVALID_REQUEST"},
		{name: "relative successUrl", edit: func(a map[string]string) { a["successUrl"] = "/return" }, errCod: "INVALID_REQUEST"},
		{name: "no customerKey", edit: func(a map[string]string) { delete(a, "customerKey") }, errCod: "INVALID_REQUEST"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := start(t)
			args := payArgs("order-xyz", "1000")
			if tc.edit != nil {
				tc.edit(args)
			}
			ret, err := e.f.CompleteWindow(args, tc.choice)
			if tc.errCod != "" {
				we, ok := err.(*tossfake.WindowError)
				if !ok || we.Code != tc.errCod {
					t.Fatalf("err = %v, want %s", err, tc.errCod)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(ret.URL, "https://shop.example/pay/fail?rt=abc&") {
				t.Fatalf("URL = %s", ret.URL)
			}
			q := ret.Query()
			if q.Get("code") != tc.fail || q.Get("message") == "" || q.Get("orderId") != "order-xyz" {
				t.Fatalf("fail query = %v", q)
			}
			if _, _, ok := e.f.Payment("order-xyz"); ok {
				t.Fatal("a refused window left a payment")
			}
		})
	}
}

func TestHostedWindowAndSDK(t *testing.T) {
	e := start(t)
	resp, err := http.Get(e.f.SDKURL())
	if err != nil {
		t.Fatal(err)
	}
	js, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.HasSuffix(e.f.SDKURL(), "/v2/standard") || !strings.Contains(resp.Header.Get("Content-Type"), "javascript") {
		t.Fatalf("SDK at %s served as %q", e.f.SDKURL(), resp.Header.Get("Content-Type"))
	}
	for _, s := range []string{"window.TossPayments = TossPayments", "requestPayment", "requestBillingAuth", "ANONYMOUS", e.f.URL} {
		if !strings.Contains(string(js), s) {
			t.Errorf("SDK stand-in lacks %q", s)
		}
	}

	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	args := url.Values{}
	for k, v := range payArgs("order-page-1", "2500") {
		args.Set(k, v)
	}
	resp, err = http.Get(e.f.URL + "/_window?" + args.Encode())
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, s := range []string{`id="card"`, `id="pay"`, `id="cancel"`, "order-page-1", "2500", tossfake.DefaultCard} {
		if !strings.Contains(string(page), s) {
			t.Fatalf("window page lacks %q:\n%s", s, page)
		}
	}
	if strings.Contains(string(page), "http://") && strings.Contains(string(page), "<script") {
		t.Fatal("window page loads external resources")
	}

	form := url.Values{"card": {tossfake.DefaultCard}, "action": {"pay"}}
	for k := range args {
		form.Set("arg."+k, args.Get(k))
	}
	resp, err = noFollow.PostForm(e.f.URL+"/_window/submit", form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, _ := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusSeeOther || loc.Host != "shop.example" || loc.Query().Get("paymentKey") == "" {
		t.Fatalf("pay: %d %s", resp.StatusCode, loc)
	}

	form.Set("action", "cancel")
	resp, err = noFollow.PostForm(e.f.URL+"/_window/submit", form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, _ = url.Parse(resp.Header.Get("Location"))
	if loc.Path != "/pay/fail" || loc.Query().Get("code") != "PAY_PROCESS_CANCELED" {
		t.Fatalf("cancel: %s", loc)
	}

	args.Set("amount", "-1")
	resp, err = http.Get(e.f.URL + "/_window?" + args.Encode())
	if err != nil {
		t.Fatal(err)
	}
	page, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 400 || !strings.Contains(string(page), `id="error"`) {
		t.Fatalf("bad args page: %d %s", resp.StatusCode, page)
	}
}

func TestPartialCancelsDownToZero(t *testing.T) {
	e := start(t)
	r := newReceiver(t)
	e.f.SetWebhookURL(r.srv.URL)
	a := e.must(e.call("POST", "/v1/payments/key-in", map[string]any{
		"amount": 11000, "orderId": "keyin-order-1", "orderName": "책", "cardNumber": tossfake.DefaultCard,
		"cardExpirationYear": "29", "cardExpirationMonth": "12", "customerIdentityNumber": "881212",
		"taxFreeAmount": 1000}, nil), 200)
	key := a.str("paymentKey")
	if a.num("vat") != 909 || a.num("suppliedAmount") != 9091 || a.num("taxFreeAmount") != 1000 {
		t.Fatalf("amounts: %s", a.raw)
	}
	path := "/v1/payments/" + key + "/cancel"
	steps := []struct {
		body                       map[string]any
		status                     string
		balance, vat, supp, taxFre int64
	}{
		{map[string]any{"cancelReason": "부분", "cancelAmount": 3000, "taxFreeAmount": 500}, "PARTIAL_CANCELED", 8000, 682, 6818, 500},
		{map[string]any{"cancelReason": "부분", "cancelAmount": 2000}, "PARTIAL_CANCELED", 6000, 500, 5000, 500},
		{map[string]any{"cancelReason": "나머지"}, "CANCELED", 0, 0, 0, 0},
	}
	seen := map[string]bool{}
	for i, s := range steps {
		if i == 2 {
			e.wantError(e.call("POST", path, map[string]any{"cancelReason": "x", "cancelAmount": 6001}, nil), 403, "NOT_CANCELABLE_AMOUNT")
			steps[2].body["taxFreeAmount"] = 500
		}
		a := e.must(e.call("POST", path, s.body, nil), 200)
		if a.str("status") != s.status || a.num("balanceAmount") != s.balance || a.num("vat") != s.vat ||
			a.num("suppliedAmount") != s.supp || a.num("taxFreeAmount") != s.taxFre || a.num("totalAmount") != 11000 {
			t.Fatalf("step %d: %s", i, a.raw)
		}
		cancels, _ := a.body["cancels"].([]any)
		if len(cancels) != i+1 {
			t.Fatalf("step %d: %d cancels", i, len(cancels))
		}
		last := cancels[i].(map[string]any)
		tx, _ := last["transactionKey"].(string)
		if tx == "" || seen[tx] || tx != a.str("lastTransactionKey") || last["cancelStatus"] != "DONE" ||
			!kstStamp.MatchString(last["canceledAt"].(string)) {
			t.Fatalf("step %d: cancel entry %v", i, last)
		}
		seen[tx] = true
	}
	e.wantError(e.call("POST", path, map[string]any{"cancelReason": "again"}, nil), 400, "ALREADY_CANCELED_PAYMENT")
	e.wantError(e.call("POST", path, map[string]any{}, nil), 400, "INVALID_REQUEST")
	e.wantError(e.call("POST", "/v1/payments/nope/cancel", map[string]any{"cancelReason": "x"}, nil), 404, "NOT_FOUND_PAYMENT")

	var statuses []any
	for _, h := range r.got() {
		statuses = append(statuses, dig(h, "data", "status"))
	}
	if len(statuses) != 3 || statuses[0] != "DONE" || statuses[1] != "PARTIAL_CANCELED" || statuses[2] != "CANCELED" {
		t.Fatalf("status webhooks: %v", statuses)
	}
}

func TestKeyInRefusals(t *testing.T) {
	e := start(t)
	base := func() map[string]any {
		return map[string]any{"amount": 5000, "orderId": "keyin-2", "orderName": "x", "cardNumber": tossfake.DefaultCard,
			"cardExpirationYear": "29", "cardExpirationMonth": "01", "customerIdentityNumber": "881212"}
	}
	for _, tc := range []struct {
		name   string
		k, v   string
		val    any
		status int
		code   string
	}{
		{"rejected card", "cardNumber", "", tossfake.RejectCard, 403, "REJECT_CARD_COMPANY"},
		{"declined card", "cardNumber", "", tossfake.ConfirmDeclineCard, 403, "REJECT_CARD_COMPANY"},
		{"stopped card", "cardNumber", "", tossfake.StoppedCard, 400, "INVALID_STOPPED_CARD"},
		{"expired card", "cardExpirationYear", "", "25", 400, "INVALID_CARD_EXPIRATION"},
		{"below minimum", "amount", "", 99, 400, "BELOW_MINIMUM_AMOUNT"},
		{"installments", "cardInstallmentPlan", "", 24, 400, "EXCEED_MAX_CARD_INSTALLMENT_PLAN"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := base()
			b[tc.k] = tc.val
			e.wantError(e.call("POST", "/v1/payments/key-in", b, nil), tc.status, tc.code)
		})
	}
	e.must(e.call("POST", "/v1/payments/key-in", base(), nil), 200)
	e.wantError(e.call("POST", "/v1/payments/key-in", base(), nil), 400, "DUPLICATED_ORDER_ID")
}

func TestIdempotencyKey(t *testing.T) {
	e := start(t)
	q := e.window(payArgs("idem-order-1", "7000"), tossfake.Choice{})
	hdr := map[string]string{"Idempotency-Key": "confirm-idem-order-1"}
	first := e.must(e.call("POST", "/v1/payments/confirm",
		map[string]any{"paymentKey": q.Get("paymentKey"), "orderId": "idem-order-1", "amount": 7000}, hdr), 200)
	// Same key, another body: the first answer (the body is not compared).
	again := e.call("POST", "/v1/payments/confirm", map[string]any{"paymentKey": "whatever", "orderId": "zzzzzz", "amount": 1}, hdr)
	if again.status != 200 || string(again.raw) != string(first.raw) {
		t.Fatalf("replay: %d %s", again.status, again.raw)
	}
	// Another key: the real answer.
	e.wantError(e.call("POST", "/v1/payments/confirm",
		map[string]any{"paymentKey": q.Get("paymentKey"), "orderId": "idem-order-1", "amount": 7000},
		map[string]string{"Idempotency-Key": "other"}), 400, "ALREADY_PROCESSED_PAYMENT")

	cancel := "/v1/payments/" + q.Get("paymentKey") + "/cancel"
	ch := map[string]string{"Idempotency-Key": "cancel-1"}
	c1 := e.must(e.call("POST", cancel, map[string]any{"cancelReason": "a", "cancelAmount": 1000}, ch), 200)
	c2 := e.must(e.call("POST", cancel, map[string]any{"cancelReason": "a", "cancelAmount": 1000}, ch), 200)
	if string(c1.raw) != string(c2.raw) {
		t.Fatal("cancel replay differs")
	}
	if _, bal, _ := e.f.Payment("idem-order-1"); bal != 6000 {
		t.Fatalf("balance %d after one cancel sent twice", bal)
	}
	// The same key on another URL is another scope.
	e.wantError(e.call("POST", "/v1/payments/nope/cancel", map[string]any{"cancelReason": "a"}, ch), 404, "NOT_FOUND_PAYMENT")
	// Kept 15 days.
	e.clock.Advance(15*24*time.Hour + time.Second)
	c3 := e.must(e.call("POST", cancel, map[string]any{"cancelReason": "a", "cancelAmount": 1000}, ch), 200)
	if c3.num("balanceAmount") != 5000 {
		t.Fatalf("after 15 days the key ran again? %s", c3.raw)
	}
	e.wantError(e.call("POST", cancel, map[string]any{"cancelReason": "a"},
		map[string]string{"Idempotency-Key": strings.Repeat("k", 301)}), 400, "INVALID_REQUEST")
}

func TestTestCodeHeader(t *testing.T) {
	e := start(t)
	e.f.AddKeys("live_ck_fakefakefake", "live_sk_fakefakefake", "livemid")
	for _, tc := range []struct {
		name, code, lang, auth string
		status                 int
		want                   string
	}{
		{"card expiration", "INVALID_CARD_EXPIRATION", "", docsBasic, 400, "INVALID_CARD_EXPIRATION"},
		{"english", "INVALID_CARD_EXPIRATION", "en-US", docsBasic, 400, "INVALID_CARD_EXPIRATION"},
		{"reject", "REJECT_CARD_COMPANY", "", docsBasic, 403, "REJECT_CARD_COMPANY"},
		{"provider error", "PROVIDER_ERROR", "", docsBasic, 400, "PROVIDER_ERROR"},
		{"live key ignores it", "INVALID_CARD_EXPIRATION", "", basic("live_sk_fakefakefake"), 404, "NOT_FOUND_PAYMENT_SESSION"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := e.call("POST", "/v1/payments/confirm", map[string]any{"paymentKey": "k", "orderId": "order-1", "amount": 100},
				map[string]string{"TossPayments-Test-Code": tc.code, "Accept-Language": tc.lang, "Authorization": tc.auth})
			e.wantError(a, tc.status, tc.want)
			m := a.str("message")
			if english := !strings.ContainsFunc(m, func(r rune) bool { return r > 0x1100 }); english != (tc.lang != "") {
				t.Fatalf("message %q for Accept-Language %q", m, tc.lang)
			}
		})
	}
}

func TestFaults(t *testing.T) {
	type setup func(e *env) (method, path string, body map[string]any, orderID string)
	windowConfirm := func(e *env) (string, string, map[string]any, string) {
		q := e.window(payArgs("fault-order", "3000"), tossfake.Choice{})
		return "POST", "/v1/payments/confirm", map[string]any{"paymentKey": q.Get("paymentKey"), "orderId": "fault-order", "amount": 3000}, "fault-order"
	}
	paidCancel := func(e *env) (string, string, map[string]any, string) {
		a := e.paid("fault-order", 3000)
		return "POST", "/v1/payments/" + a.str("paymentKey") + "/cancel", map[string]any{"cancelReason": "x"}, "fault-order"
	}
	vaIssue := func(e *env) (string, string, map[string]any, string) {
		return "POST", "/v1/virtual-accounts", map[string]any{"amount": 3000, "orderId": "fault-order", "orderName": "x",
			"customerName": "박토스", "bank": "20"}, "fault-order"
	}
	keyIn := func(e *env) (string, string, map[string]any, string) {
		return "POST", "/v1/payments/key-in", map[string]any{"amount": 3000, "orderId": "fault-order", "orderName": "x",
			"cardNumber": tossfake.DefaultCard, "cardExpirationYear": "30", "cardExpirationMonth": "01", "customerIdentityNumber": "881212"}, "fault-order"
	}
	for _, tc := range []struct {
		name     string
		op       string
		fault    tossfake.Fault
		setup    setup
		status   int
		code     string
		after    string // payment status after ("" = none)
		timeout  bool
		lost     bool
		wantDone bool
	}{
		{name: "confirm declined", op: "confirm", fault: tossfake.Decline("REJECT_CARD_COMPANY", "한도초과"), setup: windowConfirm, status: 403, code: "REJECT_CARD_COMPANY", after: "ABORTED"},
		{name: "confirm declined 400", op: "confirm", fault: tossfake.Decline("INVALID_STOPPED_CARD", ""), setup: windowConfirm, status: 400, code: "INVALID_STOPPED_CARD", after: "ABORTED"},
		{name: "confirm unavailable", op: "confirm", fault: tossfake.Unavailable, setup: windowConfirm, status: 500, code: "FAILED_INTERNAL_SYSTEM_PROCESSING", after: "IN_PROGRESS"},
		{name: "confirm timeout", op: "confirm", fault: tossfake.TimeoutBeforeCharge, setup: windowConfirm, timeout: true, after: "IN_PROGRESS"},
		{name: "confirm answer lost", op: "confirm", fault: tossfake.LoseAnswer, setup: windowConfirm, lost: true, after: "DONE"},
		{name: "cancel declined", op: "cancel", fault: tossfake.Decline("NOT_CANCELABLE_PAYMENT", ""), setup: paidCancel, status: 403, code: "NOT_CANCELABLE_PAYMENT", after: "DONE"},
		{name: "cancel unavailable", op: "cancel", fault: tossfake.Unavailable, setup: paidCancel, status: 500, code: "FAILED_INTERNAL_SYSTEM_PROCESSING", after: "DONE"},
		{name: "cancel timeout", op: "cancel", fault: tossfake.TimeoutBeforeCharge, setup: paidCancel, timeout: true, after: "DONE"},
		{name: "cancel answer lost", op: "cancel", fault: tossfake.LoseAnswer, setup: paidCancel, lost: true, after: "CANCELED"},
		{name: "key-in declined", op: "key-in", fault: tossfake.Decline("REJECT_CARD_COMPANY", ""), setup: keyIn, status: 403, code: "REJECT_CARD_COMPANY"},
		{name: "key-in lost", op: "key-in", fault: tossfake.LoseAnswer, setup: keyIn, lost: true, after: "DONE"},
		{name: "virtual account unavailable", op: "virtual-account", fault: tossfake.Unavailable, setup: vaIssue, status: 500, code: "FAILED_INTERNAL_SYSTEM_PROCESSING"},
		{name: "virtual account timeout", op: "virtual-account", fault: tossfake.TimeoutBeforeCharge, setup: vaIssue, timeout: true},
		{name: "virtual account lost", op: "virtual-account", fault: tossfake.LoseAnswer, setup: vaIssue, lost: true, after: "WAITING_FOR_DEPOSIT"},
		{name: "lookup unavailable", op: "lookup", fault: tossfake.Unavailable, setup: func(e *env) (string, string, map[string]any, string) {
			e.paid("fault-order", 3000)
			return "GET", "/v1/payments/orders/fault-order", nil, "fault-order"
		}, status: 500, code: "FAILED_INTERNAL_SYSTEM_PROCESSING", after: "DONE"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := start(t)
			method, path, body, orderID := tc.setup(e)
			e.f.FailNext(tc.op, tc.fault)
			ctx := context.Background()
			if tc.timeout {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, 200*time.Millisecond)
				defer cancel()
			}
			var b any
			if body != nil {
				b = body
			}
			a := e.do(ctx, method, path, b, nil)
			switch {
			case tc.timeout:
				if a.err == nil || ctx.Err() == nil {
					t.Fatalf("want a client timeout, got %v %d", a.err, a.status)
				}
			case tc.lost:
				if a.err == nil {
					t.Fatalf("want a lost answer, got %d %s", a.status, a.raw)
				}
			default:
				if a.err != nil {
					t.Fatal(a.err)
				}
				e.wantError(a, tc.status, tc.code)
			}
			st, _, ok := e.f.Payment(orderID)
			if st != tc.after || ok != (tc.after != "") {
				t.Fatalf("payment after: %q %v, want %q", st, ok, tc.after)
			}
			// The fault was for one call only.
			if method == "GET" {
				e.must(e.call(method, path, nil, nil), 200)
			}
		})
	}
}

func TestLostAnswerThenIdempotentRetry(t *testing.T) {
	e := start(t)
	q := e.window(payArgs("lost-order", "3000"), tossfake.Choice{})
	body := map[string]any{"paymentKey": q.Get("paymentKey"), "orderId": "lost-order", "amount": 3000}
	hdr := map[string]string{"Idempotency-Key": "lost-order-confirm"}
	e.f.FailNext("confirm", tossfake.LoseAnswer)
	if a := e.do(context.Background(), "POST", "/v1/payments/confirm", body, hdr); a.err == nil {
		t.Fatalf("answer arrived: %s", a.raw)
	}
	a := e.must(e.call("POST", "/v1/payments/confirm", body, hdr), 200)
	if a.str("status") != "DONE" {
		t.Fatalf("retry: %s", a.raw)
	}
}
