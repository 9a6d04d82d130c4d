package sandbox_test

import (
	"crypto/sha256"
	"encoding/base64"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/paymux/paymux/providers"
	"github.com/paymux/paymux/providers/sandbox"
)

func TestCheckoutPage(t *testing.T) {
	sb, _, ch := setup(t)
	srv := httptest.NewServer(http.StripPrefix("/sandbox/checkout", sb.Checkout()))
	defer srv.Close()
	client := srv.Client()
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

	w, err := sb.PrepareWindow(ctx, ch, providers.PrepareWindowRequest{OrderID: "o-1", Amount: krw(55_000),
		ReturnURL: "https://shop.test/return?cart=7"})
	noErr(t, err)
	page := srv.URL + "/sandbox/checkout/" + w.Params[sandbox.WindowSessionID]

	resp, err := client.Get(page)
	noErr(t, err)
	body := readAll(t, resp)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "o-1") || !strings.Contains(body, sandbox.CardTimeoutCharged) {
		t.Fatalf("GET %d: %s", resp.StatusCode, body)
	}
	resp, err = client.Get(srv.URL + "/sandbox/checkout/sbx_win_999999")
	noErr(t, err)
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("unknown session: %d", resp.StatusCode)
	}

	resp, err = client.PostForm(page, url.Values{"other": {"12"}, "exp_month": {"12"}, "exp_year": {"2030"}})
	noErr(t, err)
	if body := readAll(t, resp); resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "INVALID_CARD_NUMBER") {
		t.Fatalf("bad card: %d %s", resp.StatusCode, body)
	}

	resp, err = client.PostForm(page, url.Values{"number": {sandbox.CardSuccess}, "exp_month": {"12"}, "exp_year": {"2030"}, "months": {"3"}})
	noErr(t, err)
	readAll(t, resp)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("POST: %d", resp.StatusCode)
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	noErr(t, err)
	q := loc.Query()
	if loc.Host != "shop.test" || q.Get("cart") != "7" || q.Get(sandbox.WindowOrderID) != "o-1" || q.Get(sandbox.WindowAmount) != "55000" {
		t.Fatalf("redirect = %s", loc)
	}
	res := providers.WindowResult{}
	for k := range q {
		res[k] = q.Get(k)
	}
	p, err := sb.Approve(ctx, ch, providers.ApproveRequest{OrderID: "o-1", Amount: krw(55_000), Window: res})
	noErr(t, err)
	if p.Status != providers.StatusPaid || p.Card.InstallmentMonths != 3 {
		t.Fatalf("approved = %+v", p)
	}
	resp, err = client.PostForm(page, url.Values{"number": {sandbox.CardSuccess}, "exp_month": {"12"}, "exp_year": {"2030"}})
	noErr(t, err)
	if readAll(t, resp); resp.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("second POST: %d", resp.StatusCode)
	}
	req, _ := http.NewRequest(http.MethodDelete, page, nil)
	resp, err = client.Do(req)
	noErr(t, err)
	if readAll(t, resp); resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("DELETE: %d", resp.StatusCode)
	}

	// Without a return URL the page shows the result.
	w2, err := sb.PrepareWindow(ctx, ch, providers.PrepareWindowRequest{Purpose: providers.WindowBillingKey, CustomerKey: "cust-1"})
	noErr(t, err)
	resp, err = client.PostForm(srv.URL+"/sandbox/checkout/"+w2.Params[sandbox.WindowSessionID],
		url.Values{"number": {sandbox.CardSuccess}, "exp_month": {"12"}, "exp_year": {"2030"}})
	noErr(t, err)
	if body := readAll(t, resp); resp.StatusCode != http.StatusOK || !strings.Contains(body, "cust-1") || !strings.Contains(body, sandbox.WindowAuthToken) {
		t.Fatalf("no return URL: %d %s", resp.StatusCode, body)
	}
}

func readAll(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	noErr(t, err)
	return string(b)
}

// checkoutServer serves sb's checkout page as paymux mounts it.
func checkoutServer(t *testing.T, sb *sandbox.Sandbox) (base string, client *http.Client) {
	t.Helper()
	srv := httptest.NewServer(http.StripPrefix("/sandbox/checkout", sb.Checkout()))
	t.Cleanup(srv.Close)
	client = srv.Client()
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return srv.URL + "/sandbox/checkout/", client
}

func getPage(t *testing.T, client *http.Client, page, acceptLanguage string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, page, nil)
	noErr(t, err)
	if acceptLanguage != "" {
		req.Header.Set("Accept-Language", acceptLanguage)
	}
	resp, err := client.Do(req)
	noErr(t, err)
	return resp, readAll(t, resp)
}

func TestCheckoutPageContent(t *testing.T) {
	sb, _, ch := setup(t)
	base, client := checkoutServer(t, sb)
	open := func(req providers.PrepareWindowRequest) string {
		t.Helper()
		w, err := sb.PrepareWindow(ctx, ch, req)
		noErr(t, err)
		return base + w.Params[sandbox.WindowSessionID]
	}
	shirt := open(providers.PrepareWindowRequest{OrderID: "o-shirt", OrderName: "티셔츠 외 2건", Amount: krw(129_000),
		ReturnURL: "https://shop.test/return", Buyer: providers.Buyer{Name: "김결제"}})
	small := open(providers.PrepareWindowRequest{OrderID: "o-small", OrderName: "양말", Amount: krw(4_900)})
	evil := `<img src=x onerror=alert(1)>`
	xss := open(providers.PrepareWindowRequest{OrderID: "o-xss", OrderName: evil, Amount: krw(1_000),
		Buyer: providers.Buyer{Name: `"><script>alert(2)</script>`}})
	billing := open(providers.PrepareWindowRequest{Purpose: providers.WindowBillingKey, CustomerKey: "cust-9", OrderName: "정기구독 카드 등록"})

	allCards := []string{sandbox.CardSuccess, sandbox.CardInsufficientFunds, sandbox.CardLostOrStolen, sandbox.CardLimitExceeded,
		sandbox.CardNoInstallment, sandbox.CardTimeoutCharged, sandbox.CardTimeoutNotCharged, sandbox.CardBillingDeclines}
	korean := []string{`<html lang="ko">`, `href="?lang=en"`, ">English</a>", "주문명", "결제금액", "결제수단", "신용·체크카드",
		"카드 결제만", "테스트 카드 안내", "유효기간", `<label for="exp_month">월 (MM)</label>`, `name="exp_month" value="12"`,
		`name="exp_year" value="2029"`, "잔액 부족", "분실·도난 카드", "한도 초과", "할부 불가", "시간 초과 · 승인됨",
		"시간 초과 · 미승인", "빌링키 결제 거절", "9410 0000 0000 0005"}
	english := []string{`<html lang="en">`, `href="?lang=ko"`, ">한국어</a>", "Order", "Amount", "Payment method",
		"Credit or debit card", "cards only", "Test cards", "Expiry date", "Month (MM)", "Insufficient funds",
		"Lost or stolen", "Limit exceeded", "No installments", "Timeout, charged", "Timeout, not charged", "Billing key declines"}

	tests := []struct {
		name           string
		page, query    string
		acceptLanguage string
		lang           string   // want <html lang> and Content-Language
		want, notWant  []string // in the body
	}{
		{name: "Korean by default", page: shirt, lang: "ko",
			want: append([]string{`<dd id="order-name">티셔츠 외 2건</dd>`, `<dd id="amount">129,000원</dd>`, "129,000원 결제하기",
				"o-shirt", "구매자", "김결제", "할부 개월", `<option value="0" selected>일시불</option>`, `<option value="2">2개월</option>`,
				`<option value="12">12개월</option>`, "50,000원 이상"}, korean...),
			notWant: []string{"KRW", "₩", "Lump sum", "일시불만 승인"}},
		{name: "English by parameter", page: shirt, query: "?lang=en", lang: "en",
			want: append([]string{`<dd id="order-name">티셔츠 외 2건</dd>`, `<dd id="amount">₩129,000</dd>`, "Pay ₩129,000",
				"Installments", `<option value="0" selected>Lump sum</option>`, `<option value="2">2 months</option>`, "₩50,000 or more"}, english...),
			notWant: []string{"129,000원", "일시불", "결제수단"}},
		{name: "English by Accept-Language", page: shirt, acceptLanguage: "en-US,en;q=0.9", lang: "en",
			want: []string{"Pay ₩129,000"}},
		{name: "Korean preferred by Accept-Language", page: shirt, acceptLanguage: "ko-KR,ko;q=0.9,en-US;q=0.8,en;q=0.7", lang: "ko",
			want: []string{"129,000원 결제하기"}},
		{name: "parameter wins over Accept-Language", page: shirt, query: "?lang=ko", acceptLanguage: "en", lang: "ko",
			want: []string{"129,000원 결제하기"}},
		{name: "neither language accepted: Korean", page: shirt, acceptLanguage: "ja-JP,ja;q=0.9", lang: "ko",
			want: []string{"129,000원 결제하기"}},
		{name: "unknown parameter: Accept-Language", page: shirt, query: "?lang=xx", acceptLanguage: "en-GB", lang: "en",
			want: []string{"Pay ₩129,000"}},
		{name: "under 50,000: lump sum only", page: small, lang: "ko",
			want: []string{`<dd id="amount">4,900원</dd>`, "4,900원 결제하기", "50,000원 미만이라 일시불만 승인"}},
		{name: "under 50,000 in English", page: small, query: "?lang=en", lang: "en",
			want: []string{`<dd id="amount">₩4,900</dd>`, "under ₩50,000: only a lump sum"}},
		{name: "order name and buyer escaped", page: xss, lang: "ko",
			want:    []string{`<dd id="order-name">&lt;img src=x onerror=alert(1)&gt;</dd>`, "&#34;&gt;&lt;script&gt;alert(2)&lt;/script&gt;"},
			notWant: []string{evil, "<script>", "<img"}},
		{name: "billing-key window", page: billing, lang: "ko",
			want:    []string{"<h1>카드 등록</h1>", "정기구독 카드 등록", "cust-9", "카드 등록하기", `value="CARD" checked`},
			notWant: []string{`name="months"`, "결제금액", "구매자"}},
		{name: "billing-key window in English", page: billing, query: "?lang=en", lang: "en",
			want: []string{"<h1>Register a card</h1>", "Register card", "Customer"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := getPage(t, client, tc.page+tc.query, tc.acceptLanguage)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("GET %d: %s", resp.StatusCode, body)
			}
			if !strings.Contains(body, `<html lang="`+tc.lang+`">`) || resp.Header.Get("Content-Language") != tc.lang {
				t.Errorf("language: want %s, Content-Language %q", tc.lang, resp.Header.Get("Content-Language"))
			}
			for _, w := range tc.want {
				if !strings.Contains(body, w) {
					t.Errorf("the page lacks %q", w)
				}
			}
			for _, w := range tc.notWant {
				if strings.Contains(body, w) {
					t.Errorf("the page has %q", w)
				}
			}
			// Every test card, card as the only method, one submit button
			// (the browser test presses it), a phone-sized layout.
			for _, c := range allCards {
				if !strings.Contains(body, `<option value="`+c+`"`) {
					t.Errorf("the card list lacks %s", c)
				}
			}
			if n := strings.Count(body, `name="method"`); n != 1 || !strings.Contains(body, `name="method" value="CARD" checked`) {
				t.Errorf("methods: %d radios", n)
			}
			if n := strings.Count(body, `type="submit"`); n != 1 {
				t.Errorf("%d submit buttons", n)
			}
			if !strings.Contains(body, `<meta name="viewport" content="width=device-width, initial-scale=1">`) {
				t.Error("no viewport")
			}
			for _, id := range []string{"number", "other", "exp_month", "exp_year"} {
				if !strings.Contains(body, `<label for="`+id+`">`) || !strings.Contains(body, `id="`+id+`"`) {
					t.Errorf("field %s has no label", id)
				}
			}
			checkCheckoutHeaders(t, resp, body)
		})
	}
}

// checkCheckoutHeaders: no subresource and no script may load; the one
// inline style is allowed by its hash, and only it.
func checkCheckoutHeaders(t *testing.T, resp *http.Response, body string) {
	t.Helper()
	csp := resp.Header.Get("Content-Security-Policy")
	_, rest, _ := strings.Cut(body, "<style>")
	style, _, ok := strings.Cut(rest, "</style>")
	if !ok || strings.Count(body, "<style") != 1 {
		t.Fatal("the page has not exactly one style element")
	}
	sum := sha256.Sum256([]byte(style))
	want := "default-src 'none'; style-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'; base-uri 'none'; form-action http: https:"
	if csp != want {
		t.Errorf("Content-Security-Policy = %q, want %q", csp, want)
	}
	for _, bad := range []string{"<script", "<link", "<img", " style=", "http://", "https://"} {
		if strings.Contains(body, bad) {
			t.Errorf("the page has %q", bad)
		}
	}
	if resp.Header.Get("Cache-Control") != "no-store" || resp.Header.Get("Vary") != "Accept-Language" ||
		resp.Header.Get("X-Content-Type-Options") != "nosniff" || resp.Header.Get("Content-Type") != "text/html; charset=utf-8" {
		t.Errorf("headers %v", resp.Header)
	}
}

// TestCheckoutLanguageSwitch: the switch link leads to the same window in
// the other language, and a POST keeps the language of its page.
func TestCheckoutLanguageSwitch(t *testing.T) {
	sb, _, ch := setup(t)
	base, client := checkoutServer(t, sb)
	w, err := sb.PrepareWindow(ctx, ch, providers.PrepareWindowRequest{OrderID: "o-lang", OrderName: "머그컵", Amount: krw(12_000)})
	noErr(t, err)
	page := base + w.Params[sandbox.WindowSessionID]

	href := func(body string) string {
		t.Helper()
		_, rest, ok := strings.Cut(body, `<a id="lang-switch" href="`)
		h, _, _ := strings.Cut(rest, `"`)
		if !ok || h == "" {
			t.Fatalf("no language switch in %s", body)
		}
		return html.UnescapeString(h)
	}
	follow := func(from, body string) string {
		t.Helper()
		u, err := url.Parse(from)
		noErr(t, err)
		ref, err := url.Parse(href(body))
		noErr(t, err)
		return u.ResolveReference(ref).String()
	}

	_, ko := getPage(t, client, page, "")
	en := follow(page, ko)
	if en != page+"?lang=en" {
		t.Fatalf("switch to English leads to %s", en)
	}
	_, body := getPage(t, client, en, "")
	if !strings.Contains(body, `<html lang="en">`) || !strings.Contains(body, "머그컵") || !strings.Contains(body, "₩12,000") {
		t.Fatalf("English page: %s", body)
	}
	back := follow(en, body)
	if back != page+"?lang=ko" {
		t.Fatalf("switch back leads to %s", back)
	}
	if _, body := getPage(t, client, back, "en"); !strings.Contains(body, `<html lang="ko">`) || !strings.Contains(body, "12,000원") {
		t.Fatalf("Korean page: %s", body)
	}

	// The form posts to the page's own URL, ?lang included: a refused card
	// is explained in the page's language, and the buyer's choices stay.
	for _, tc := range []struct{ query, lang, msg string }{
		{"?lang=en", "en", "A card number has 13 to 19 digits."},
		{"", "ko", "카드번호는 숫자 13~19자리입니다."},
	} {
		resp, err := client.PostForm(page+tc.query, url.Values{"other": {"12"}, "number": {sandbox.CardLimitExceeded},
			"exp_month": {"07"}, "exp_year": {"2031"}, "months": {"3"}})
		noErr(t, err)
		body := readAll(t, resp)
		for _, want := range []string{`<html lang="` + tc.lang + `">`, tc.msg, "[INVALID_CARD_NUMBER]", `role="alert"`,
			`<option value="` + sandbox.CardLimitExceeded + `" selected>`, `name="exp_month" value="07"`, `name="exp_year" value="2031"`,
			`<option value="3" selected>`} {
			if !strings.Contains(body, want) {
				t.Errorf("POST%s: no %q in %s", tc.query, want, body)
			}
		}
		// A number typed in is never shown again.
		if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `<input id="other" name="other" inputmode="numeric" autocomplete="off"`) {
			t.Errorf("POST%s: %d", tc.query, resp.StatusCode)
		}
	}
}

// TestCheckoutMethods: the window offers the methods the sandbox can
// complete through it, cards only, and refuses another one posted.
func TestCheckoutMethods(t *testing.T) {
	sb, _, ch := setup(t)
	base, client := checkoutServer(t, sb)
	for _, m := range []providers.PayMethod{providers.MethodVirtualAccount, providers.MethodTransfer, providers.MethodMobile, providers.MethodEasyPay} {
		_, err := sb.PrepareWindow(ctx, ch, providers.PrepareWindowRequest{OrderID: "o-" + string(m), Method: m, Amount: krw(10_000)})
		wantErr(t, err, providers.KindInvalidRequest, "UNSUPPORTED_METHOD")
	}
	w, err := sb.PrepareWindow(ctx, ch, providers.PrepareWindowRequest{OrderID: "o-card", Method: providers.MethodCard, Amount: krw(10_000),
		ReturnURL: "https://shop.test/return"})
	noErr(t, err)
	page := base + w.Params[sandbox.WindowSessionID]
	form := url.Values{"number": {sandbox.CardSuccess}, "exp_month": {"12"}, "exp_year": {"2030"}}

	form.Set("method", string(providers.MethodEasyPay))
	resp, err := client.PostForm(page, form)
	noErr(t, err)
	if body := readAll(t, resp); resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "UNSUPPORTED_METHOD") ||
		!strings.Contains(body, "이 결제에서 쓸 수 없는 결제수단입니다.") {
		t.Fatalf("easy pay: %d %s", resp.StatusCode, body)
	}
	form.Set("method", string(providers.MethodCard)) // the window is still open
	resp, err = client.PostForm(page, form)
	noErr(t, err)
	if readAll(t, resp); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("card: %d", resp.StatusCode)
	}
}

// TestCheckoutGone: a window used or expired shows so, without a form.
func TestCheckoutGone(t *testing.T) {
	sb, clock, ch := setup(t)
	base, client := checkoutServer(t, sb)
	used, err := sb.PrepareWindow(ctx, ch, providers.PrepareWindowRequest{OrderID: "o-used", OrderName: "책", Amount: krw(8_000)})
	noErr(t, err)
	_, err = sb.AuthenticateWindow(ctx, ch, used.Params[sandbox.WindowSessionID],
		sandbox.WindowAuth{Card: providers.CardData{Number: providers.NewCardNumber(sandbox.CardSuccess), ExpiryYear: 2030, ExpiryMonth: 12}})
	noErr(t, err)
	expired, err := sb.PrepareWindow(ctx, ch, providers.PrepareWindowRequest{OrderID: "o-late", OrderName: "책", Amount: krw(8_000)})
	noErr(t, err)
	clock.Advance(31 * time.Minute)

	for _, tc := range []struct{ name, id, query, want string }{
		{"used", used.Params[sandbox.WindowSessionID], "", "이미 처리된 결제창입니다."},
		{"used, English", used.Params[sandbox.WindowSessionID], "?lang=en", "This payment window has already been used."},
		{"expired", expired.Params[sandbox.WindowSessionID], "", "결제 가능 시간이 지났습니다. 상점에서 결제를 다시 시작해 주세요."},
		{"expired, English", expired.Params[sandbox.WindowSessionID], "?lang=en", "This payment window has expired."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := getPage(t, client, base+tc.id+tc.query, "")
			if resp.StatusCode != http.StatusGone || !strings.Contains(body, tc.want) || strings.Contains(body, "<form") ||
				!strings.Contains(body, "8,000") {
				t.Fatalf("GET %d: %s", resp.StatusCode, body)
			}
			resp, err := client.PostForm(base+tc.id+tc.query, url.Values{"number": {sandbox.CardSuccess}, "exp_month": {"12"}, "exp_year": {"2030"}})
			noErr(t, err)
			if body := readAll(t, resp); resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, tc.want) ||
				strings.Contains(body, "<form") || !strings.Contains(body, "[WINDOW_") {
				t.Fatalf("POST %d: %s", resp.StatusCode, body)
			}
		})
	}
}

// TestCheckoutAfterRestore: the order name and buyer survive a snapshot,
// and a state file written before they were kept still loads: its windows
// show without them.
func TestCheckoutAfterRestore(t *testing.T) {
	sb, clock, ch := setup(t)
	w, err := sb.PrepareWindow(ctx, ch, providers.PrepareWindowRequest{OrderID: "o-snap", OrderName: "겨울 코트", Amount: krw(250_000),
		Buyer: providers.Buyer{Name: "이구매"}})
	noErr(t, err)
	id := w.Params[sandbox.WindowSessionID]
	data, err := sb.Snapshot()
	noErr(t, err)
	if !strings.Contains(string(data), `"orderName":"겨울 코트"`) || !strings.Contains(string(data), `"buyerName":"이구매"`) {
		t.Fatalf("snapshot %s", data)
	}
	old := strings.NewReplacer(`"orderName":"겨울 코트",`, "", `"buyerName":"이구매",`, "").Replace(string(data))
	if strings.Contains(old, "겨울 코트") || strings.Contains(old, "이구매") {
		t.Fatalf("could not make an old snapshot: %s", old)
	}

	for _, tc := range []struct {
		name, data    string
		want, notWant []string
	}{
		{"restored", string(data), []string{`<dd id="order-name">겨울 코트</dd>`, "이구매", "250,000원"}, nil},
		{"old state file", old, []string{"250,000원", "o-snap"}, []string{"order-name", "구매자"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			restored := sandbox.New(sandbox.Options{Now: clock.Now})
			noErr(t, restored.Restore([]byte(tc.data)))
			base, client := checkoutServer(t, restored)
			resp, body := getPage(t, client, base+id, "")
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("GET %d: %s", resp.StatusCode, body)
			}
			for _, w := range tc.want {
				if !strings.Contains(body, w) {
					t.Errorf("the page lacks %q", w)
				}
			}
			for _, w := range tc.notWant {
				if strings.Contains(body, w) {
					t.Errorf("the page has %q", w)
				}
			}
		})
	}
}
