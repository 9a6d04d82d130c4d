package sandbox

import (
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/text/language"

	"github.com/paymux/paymux/providers"
)

// Checkout returns the hosted test window, the page PrepareWindow's
// RedirectURL points at. Mount it at the path of Options.CheckoutURL with
// http.StripPrefix, so that it sees "/<session id>":
//
//	GET  /<session id>  the window: order name, amount, pay method, a test
//	                    card (or any number), expiry, installment months,
//	                    and what each test card does
//	POST /<session id>  authenticates the session like AuthenticateWindow and
//	                    redirects (303) to the session's return URL with the
//	                    window result as query parameters; without a return
//	                    URL it shows the result.
//
// The page is in Korean, or in English with ?lang=en (?lang=ko back);
// without the parameter the browser's Accept-Language chooses, Korean when
// it names neither. The form posts to the page's own URL, so the language
// stays through a POST.
//
// The page takes test cards only and is meant for development; the sandbox
// refuses LIVE channels.
func (s *Sandbox) Checkout() http.Handler {
	return http.HandlerFunc(s.serveCheckout)
}

// checkoutCSS is the page's only style: inline, allowed by its hash in the
// Content-Security-Policy (no 'unsafe-inline', no style attributes).
const checkoutCSS = `*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%}
body{margin:0;background:#f2f4f6;color:#191f28;font:16px/1.5 system-ui,-apple-system,"Apple SD Gothic Neo","Malgun Gothic","Noto Sans KR",sans-serif;word-break:keep-all;overflow-wrap:anywhere}
.window{max-width:30rem;margin:0 auto;background:#fff;min-height:100vh;padding:1rem 1.25rem 2rem}
@media (min-width:32rem){.window{margin:2rem auto;min-height:0;border-radius:12px;box-shadow:0 2px 12px rgba(0,0,0,.08)}}
.bar{display:flex;justify-content:space-between;align-items:center;gap:1rem}
.brand{margin:0;font-weight:700}
.badge{display:inline-block;margin-left:.25rem;padding:0 .5rem;border-radius:999px;background:#fff4e5;color:#8a4b00;font-size:.75rem;vertical-align:middle}
h1{font-size:1.375rem;margin:1rem 0 .25rem}
h2{font-size:1.0625rem;margin:1.5rem 0 .5rem}
.notice{margin:0 0 1rem;color:#4e5968;font-size:.875rem}
.sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
dl{margin:0;padding:.75rem 1rem;background:#f9fafb;border-radius:8px}
dl div{display:flex;justify-content:space-between;align-items:baseline;gap:1rem;padding:.25rem 0}
dt{color:#4e5968;flex:none}
dd{margin:0;text-align:right;font-weight:600}
.total dd{font-size:1.375rem;color:#1b64da}
.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-weight:400;font-size:.875rem}
fieldset{border:0;margin:1.25rem 0 0;padding:0;min-width:0}
legend{font-weight:700;padding:0;margin-bottom:.25rem}
label{display:block;margin:.75rem 0 .25rem;font-size:.9375rem}
.method{display:flex;align-items:center;gap:.5rem;margin:.25rem 0 0;padding:.75rem 1rem;border:1px solid #b0b8c1;border-radius:8px;font-weight:600}
.method:has(input:checked){border:2px solid #1b64da;background:#e8f3ff}
input,select,button{font:inherit;color:inherit}
input:not([type=radio]),select{display:block;width:100%;min-height:2.75rem;padding:.5rem .75rem;border:1px solid #b0b8c1;border-radius:8px;background:#fff}
.row{display:flex;gap:.75rem}
.row>div{flex:1}
.row label{margin-top:.25rem}
.hint{margin:.25rem 0 0;color:#4e5968;font-size:.8125rem}
.pay{display:block;width:100%;min-height:3.25rem;margin-top:1.5rem;border:0;border-radius:8px;background:#1b64da;color:#fff;font-weight:700;font-size:1.0625rem;cursor:pointer}
.pay:hover{background:#1957c2}
a{color:#1b64da}
:focus-visible{outline:3px solid #f59f00;outline-offset:2px}
.error{margin:1rem 0;padding:.75rem 1rem;border-radius:8px;background:#fff0f0;color:#a61b1b}
.error p{margin:0}
.error .mono{display:block;margin-top:.25rem;font-size:.75rem}
table{width:100%;border-collapse:collapse;font-size:.875rem}
th,td{text-align:left;vertical-align:top;padding:.5rem .25rem;border-bottom:1px solid #e5e8eb}
th{color:#4e5968;font-weight:600}
td.mono{white-space:nowrap}
.rules{padding-left:1.25rem;font-size:.8125rem;color:#4e5968}
footer{margin-top:2rem;font-size:.75rem;color:#6b7684;text-align:center}`

// checkoutCSP is the page's Content-Security-Policy: nothing but its own
// inline style. form-action is not 'self': browsers (Chromium for one)
// check form-action against every URL the form's submission is redirected
// to, not just the first one. Our POST is redirected (303) to the
// session's return URL, and from there on to wherever that page sends the
// buyer. For paymux that means its /pay/return page and then the
// merchant's return_url, on an origin the sandbox never sees. With 'self',
// Chromium blocked the buyer on that last hop. (The console reports the
// checkout URL, because Chromium hides where the redirect went.) Another
// same-origin 303 in between doesn't help because the whole chain is
// checked. So the form may lead to any http(s) URL. Only a server-side
// session chooses the redirect target, and it must be http(s) (see
// serveCheckout).
var checkoutCSP = func() string {
	sum := sha256.Sum256([]byte(checkoutCSS))
	return "default-src 'none'; style-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) +
		"'; base-uri 'none'; form-action http: https:"
}()

var checkoutPage = template.Must(template.New("checkout").Parse(`<!doctype html>
<html lang="{{.T.Code}}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>{{.T.Title}}</title>
<style>` + checkoutCSS + `</style>
</head>
<body>
<main class="window">
<header class="bar">
<p class="brand">paymux <span class="badge">{{.T.Badge}}</span></p>
<nav aria-label="{{.T.LangLabel}}"><a id="lang-switch" href="?lang={{.T.Other}}" hreflang="{{.T.Other}}" lang="{{.T.Other}}">{{.T.OtherName}}</a></nav>
</header>
<h1>{{if .Payment}}{{.T.PayTitle}}{{else}}{{.T.CardTitle}}{{end}}</h1>
<p class="notice">{{.T.TestNotice}}</p>
{{if and .Error (not .Gone)}}<div class="error" role="alert"><p><strong>{{.Error}}</strong></p>{{if .ErrorDetail}}<p class="mono">{{.ErrorDetail}}</p>{{end}}</div>{{end}}
<section aria-labelledby="summary-h">
<h2 id="summary-h" class="sr">{{.T.Summary}}</h2>
<dl>
{{- if .OrderName}}
<div><dt>{{.T.OrderName}}</dt><dd id="order-name">{{.OrderName}}</dd></div>
{{- end}}
{{- if .Payment}}
<div class="total"><dt>{{.T.Amount}}</dt><dd id="amount">{{.Amount}}</dd></div>
<div><dt>{{.T.OrderID}}</dt><dd class="mono">{{.OrderID}}</dd></div>
{{- else}}
<div><dt>{{.T.Customer}}</dt><dd class="mono">{{.CustomerKey}}</dd></div>
{{- end}}
{{- if .BuyerName}}
<div><dt>{{.T.Buyer}}</dt><dd>{{.BuyerName}}</dd></div>
{{- end}}
</dl>
</section>
{{if .Result -}}
<section aria-labelledby="result-h">
<h2 id="result-h">{{.T.ResultTitle}}</h2>
<p class="hint">{{.T.ResultNote}}</p>
<dl class="mono">{{range $k, $v := .Result}}<div><dt>{{$k}}</dt><dd>{{$v}}</dd></div>{{end}}</dl>
</section>
{{- else if .Gone -}}
<p class="error" role="alert">{{.Gone}}{{if .ErrorDetail}}<span class="mono">{{.ErrorDetail}}</span>{{end}}</p>
{{- else -}}
<form method="post">
<fieldset>
<legend>{{.T.Method}}</legend>
{{- range .Methods}}
<label class="method"><input type="radio" name="method" value="{{.Value}}"{{if .Checked}} checked{{end}}> {{.Label}}</label>
{{- end}}
<p class="hint">{{.T.CardOnly}}</p>
</fieldset>
<fieldset>
<legend>{{.T.CardInfo}}</legend>
<label for="number">{{.T.TestCard}}</label>
<select id="number" name="number">
{{- range .T.Cards}}
<option value="{{.Number}}"{{if eq .Number $.Number}} selected{{end}}>{{.Name}} · {{.Grouped}}</option>
{{- end}}
</select>
<label for="other">{{.T.OtherNumber}}</label>
<input id="other" name="other" inputmode="numeric" autocomplete="off" aria-describedby="other-hint">
<p id="other-hint" class="hint">{{.T.OtherHint}}</p>
<fieldset>
<legend>{{.T.Expiry}}</legend>
<div class="row">
<div><label for="exp_month">{{.T.ExpMonth}}</label><input id="exp_month" name="exp_month" value="{{.ExpMonth}}" inputmode="numeric" maxlength="2" autocomplete="off"></div>
<div><label for="exp_year">{{.T.ExpYear}}</label><input id="exp_year" name="exp_year" value="{{.ExpYear}}" inputmode="numeric" maxlength="4" autocomplete="off"></div>
</div>
</fieldset>
{{- if .Payment}}
<label for="months">{{.T.Installment}}</label>
<select id="months" name="months" aria-describedby="months-hint">
{{- range .MonthOptions}}
<option value="{{.Value}}"{{if .Selected}} selected{{end}}>{{.Label}}</option>
{{- end}}
</select>
<p id="months-hint" class="hint">{{.InstallmentNote}}</p>
{{- end}}
</fieldset>
<button type="submit" class="pay">{{.Submit}}</button>
</form>
<section aria-labelledby="cards-h">
<h2 id="cards-h">{{.T.CardsTitle}}</h2>
<table>
<thead><tr><th scope="col">{{.T.ColCard}}</th><th scope="col">{{.T.ColResult}}</th></tr></thead>
<tbody>
{{- range .T.Cards}}
<tr><td class="mono">{{.Grouped}}</td><td><strong>{{.Name}}</strong><br>{{.Effect}}</td></tr>
{{- end}}
</tbody>
</table>
<ul class="rules">
{{- range .T.Rules}}
<li>{{.}}</li>
{{- end}}
</ul>
</section>
{{- end}}
<footer>{{.T.Footer}}</footer>
</main>
</body>
</html>
`))

// testCardHint is a test card as the page lists it.
type testCardHint struct {
	Number, Grouped string // "9410000000000005", "9410 0000 0000 0005"
	Name, Effect    string
}

// checkoutText is every visible text of the page in one language.
type checkoutText struct {
	Code             string // the page's language ("ko", "en")
	Other, OtherName string // the language the switch leads to, named in itself
	LangLabel        string

	Title, Badge, PayTitle, CardTitle, TestNotice string
	Summary, OrderName, Amount, OrderID           string
	Customer, Buyer                               string

	Method, CardOnly                string
	methodNames                     map[providers.PayMethod]string
	CardInfo, TestCard              string
	OtherNumber, OtherHint          string
	Expiry, ExpMonth, ExpYear       string
	Installment, lumpSum, monthsFmt string
	installmentFmt, lumpSumOnlyFmt  string
	payFmt, Register                string
	CardsTitle, ColCard, ColResult  string
	Cards                           []testCardHint
	Rules                           []string
	errorLead                       string
	errors                          map[string]string // by error code: what the buyer should do
	Expired, Used                   string
	ResultTitle, ResultNote, Footer string
	money                           func(int64) string
}

// The cards the page offers, in its order; names and effects per language.
var checkoutCards = []string{
	CardSuccess, CardInsufficientFunds, CardLostOrStolen, CardLimitExceeded,
	CardNoInstallment, CardTimeoutCharged, CardTimeoutNotCharged, CardBillingDeclines,
}

var checkoutKO = &checkoutText{
	Code: "ko", Other: "en", OtherName: "English", LangLabel: "언어",

	Title: "paymux 테스트 결제창", Badge: "테스트", PayTitle: "결제하기", CardTitle: "카드 등록",
	TestNotice: "paymux 샌드박스의 테스트 결제창입니다. 실제로 돈이 오가지 않으니 아래 테스트 카드를 사용하세요.",
	Summary:    "주문 정보", OrderName: "주문명", Amount: "결제금액", OrderID: "주문번호",
	Customer: "고객", Buyer: "구매자",

	Method: "결제수단", CardOnly: "샌드박스 결제창은 카드 결제만 지원합니다.",
	methodNames: map[providers.PayMethod]string{providers.MethodCard: "신용·체크카드"},
	CardInfo:    "카드 정보", TestCard: "테스트 카드",
	OtherNumber: "다른 카드번호 (선택)", OtherHint: "입력하면 위 테스트 카드 대신 이 번호를 씁니다. 숫자 13~19자리.",
	Expiry: "유효기간", ExpMonth: "월 (MM)", ExpYear: "연도 (YYYY)",
	Installment: "할부 개월", lumpSum: "일시불", monthsFmt: "%d개월",
	installmentFmt: "할부는 %s 이상 결제에서 2~12개월까지 가능합니다.",
	lumpSumOnlyFmt: "이 결제는 %s 미만이라 일시불만 승인됩니다.",
	payFmt:         "%s 결제하기", Register: "카드 등록하기",
	CardsTitle: "테스트 카드 안내", ColCard: "카드번호", ColResult: "결과",
	Cards: hints([][2]string{
		{"승인", "정상 승인됩니다."},
		{"잔액 부족", "승인 단계에서 거절됩니다 (SB_51)."},
		{"분실·도난 카드", "거절됩니다 (SB_43). 빌링키도 발급되지 않습니다."},
		{"한도 초과", "거절됩니다 (SB_61)."},
		{"할부 불가 (체크카드)", "일시불은 승인, 할부는 거절됩니다 (SB_12)."},
		{"시간 초과 · 승인됨", "응답이 없지만 실제로는 승인됩니다. 조회하면 PAID이고, 망취소로 취소할 수 있습니다."},
		{"시간 초과 · 미승인", "응답이 없고 승인되지도 않습니다. 조회해도 결제가 없습니다."},
		{"빌링키 결제 거절", "빌링키는 발급되지만 그 빌링키 결제는 모두 거절됩니다 (SB_51). 결제창 결제는 승인됩니다."},
	}),
	Rules: []string{
		"유효기간은 지나지 않았다면 아무 값이나 됩니다. 지난 카드는 거절됩니다 (SB_54).",
		"그 밖의 번호는 Luhn 검사를 통과하면 승인, 통과하지 못하면 거절됩니다 (SB_14).",
		"할부는 일시불 또는 2~12개월이며 " + formatMoney(minInstallmentAmount, "ko") + " 이상 결제에서만 됩니다.",
		"거절과 시간 초과는 이 창이 아니라 승인(Approve) 단계에서 나타납니다.",
	},
	errorLead: "진행할 수 없습니다.",
	errors: map[string]string{
		"INVALID_CARD_NUMBER":          "카드번호는 숫자 13~19자리입니다.",
		"INVALID_CARD_EXPIRY":          "유효기간을 확인해 주세요: 월은 1~12, 연도는 네 자리입니다.",
		"UNSUPPORTED_METHOD":           "이 결제에서 쓸 수 없는 결제수단입니다.",
		"WINDOW_EXPIRED":               "결제 가능 시간이 지났습니다.",
		"WINDOW_ALREADY_AUTHENTICATED": "이미 처리된 결제창입니다.",
	},
	Expired:     "결제 가능 시간이 지났습니다. 상점에서 결제를 다시 시작해 주세요.",
	Used:        "이미 처리된 결제창입니다.",
	ResultTitle: "인증 완료", ResultNote: "돌아갈 주소(return URL)가 없어 결과를 여기에 표시합니다.",
	Footer: "paymux 샌드박스 · 테스트 전용",
	money:  func(n int64) string { return formatMoney(n, "ko") },
}

var checkoutEN = &checkoutText{
	Code: "en", Other: "ko", OtherName: "한국어", LangLabel: "Language",

	Title: "paymux test checkout", Badge: "TEST", PayTitle: "Checkout", CardTitle: "Register a card",
	TestNotice: "This is the paymux sandbox's test payment window: no money moves. Use one of the test cards below.",
	Summary:    "Order summary", OrderName: "Order", Amount: "Amount", OrderID: "Order number",
	Customer: "Customer", Buyer: "Buyer",

	Method: "Payment method", CardOnly: "The sandbox window takes cards only.",
	methodNames: map[providers.PayMethod]string{providers.MethodCard: "Credit or debit card"},
	CardInfo:    "Card details", TestCard: "Test card",
	OtherNumber: "Another card number (optional)", OtherHint: "If filled in, used instead of the test card above. 13 to 19 digits.",
	Expiry: "Expiry date", ExpMonth: "Month (MM)", ExpYear: "Year (YYYY)",
	Installment: "Installments", lumpSum: "Lump sum", monthsFmt: "%d months",
	installmentFmt: "Installments of 2 to 12 months need a payment of %s or more.",
	lumpSumOnlyFmt: "This payment is under %s: only a lump sum is approved.",
	payFmt:         "Pay %s", Register: "Register card",
	CardsTitle: "Test cards", ColCard: "Card number", ColResult: "What happens",
	Cards: hints([][2]string{
		{"Approved", "The payment is approved."},
		{"Insufficient funds", "Declined at approval (SB_51)."},
		{"Lost or stolen", "Declined (SB_43); no billing key either."},
		{"Limit exceeded", "Declined (SB_61)."},
		{"No installments (check card)", "A lump sum is approved, installments are declined (SB_12)."},
		{"Timeout, charged", "No answer, but the charge went through: a lookup finds it PAID, and a net cancel voids it."},
		{"Timeout, not charged", "No answer and nothing charged: a lookup finds no payment."},
		{"Billing key declines", "A billing key is issued, but every charge of it is declined (SB_51). A window payment is approved."},
	}),
	Rules: []string{
		"Any expiry date still to come works; an expired card is declined (SB_54).",
		"Any other number is approved if its check digit is valid (Luhn), declined otherwise (SB_14).",
		"Installments: a lump sum or 2 to 12 months, for payments of " + formatMoney(minInstallmentAmount, "en") + " or more only.",
		"Declines and timeouts show at approval, not in this window.",
	},
	errorLead: "Could not continue.",
	errors: map[string]string{
		"INVALID_CARD_NUMBER":          "A card number has 13 to 19 digits.",
		"INVALID_CARD_EXPIRY":          "Check the expiry date: a month from 1 to 12 and a four-digit year.",
		"UNSUPPORTED_METHOD":           "This payment cannot be paid with that method.",
		"WINDOW_EXPIRED":               "This payment window has expired.",
		"WINDOW_ALREADY_AUTHENTICATED": "This payment window has already been used.",
	},
	Expired:     "This payment window has expired. Start the payment again at the shop.",
	Used:        "This payment window has already been used.",
	ResultTitle: "Authenticated", ResultNote: "The window has no return URL, so its result is shown here.",
	Footer: "paymux sandbox · for testing only",
	money:  func(n int64) string { return formatMoney(n, "en") },
}

// checkoutTexts are the page's languages, the default first.
var checkoutTexts = []*checkoutText{checkoutKO, checkoutEN}

var checkoutMatcher = language.NewMatcher([]language.Tag{language.Korean, language.English})

// checkoutLanguage is the page's language: the lang query parameter, else
// the Accept-Language header, else Korean.
func checkoutLanguage(r *http.Request) *checkoutText {
	_, i := language.MatchStrings(checkoutMatcher, r.URL.Query().Get("lang"), r.Header.Get("Accept-Language"))
	return checkoutTexts[i]
}

func hints(texts [][2]string) []testCardHint {
	if len(texts) != len(checkoutCards) {
		panic("sandbox: a checkout text for every test card")
	}
	out := make([]testCardHint, len(texts))
	for i, t := range texts {
		n := checkoutCards[i]
		out[i] = testCardHint{Number: n, Grouped: n[0:4] + " " + n[4:8] + " " + n[8:12] + " " + n[12:], Name: t[0], Effect: t[1]}
	}
	return out
}

// formatMoney writes a won amount as the page's language does: "129,000원"
// in Korean, "₩129,000" in English. Integers only: the won has no minor
// unit.
func formatMoney(n int64, lang string) string {
	u := uint64(n)
	sign := ""
	if n < 0 {
		sign, u = "-", -u // two's complement: right for math.MinInt64 too
	}
	digits := strconv.FormatUint(u, 10)
	var b strings.Builder
	head := len(digits) % 3
	if head == 0 {
		head = 3
	}
	b.WriteString(digits[:head])
	for i := head; i < len(digits); i += 3 {
		b.WriteByte(',')
		b.WriteString(digits[i : i+3])
	}
	if lang == "en" {
		return sign + "₩" + b.String()
	}
	return sign + b.String() + "원"
}

type methodOption struct {
	Value, Label string
	Checked      bool
}

type monthOption struct {
	Value    int
	Label    string
	Selected bool
}

type checkoutView struct {
	T                               *checkoutText
	Payment                         bool // a payment window, not a billing-key one
	OrderID, OrderName, CustomerKey string
	BuyerName                       string
	Amount, Submit                  string // formatted
	Methods                         []methodOption
	Number                          string // the test card selected
	ExpMonth, ExpYear               string
	MonthOptions                    []monthOption
	InstallmentNote                 string
	Error, ErrorDetail              string
	Gone                            string // why the window takes nothing any more
	Result                          providers.WindowResult
}

// newCheckoutView is what the page shows of sess, in t, at now. Called
// locked.
func newCheckoutView(t *checkoutText, sess *session, now time.Time) checkoutView {
	v := checkoutView{
		T:           t,
		Payment:     sess.purpose == providers.WindowPayment,
		OrderID:     sess.orderID,
		OrderName:   sess.orderName,
		CustomerKey: sess.customerKey,
		BuyerName:   sess.buyerName,
		Number:      CardSuccess,
		ExpMonth:    "12",
		ExpYear:     strconv.Itoa(now.Year() + 3),
	}
	for i, m := range sess.methods() {
		label := t.methodNames[m]
		if label == "" {
			label = string(m)
		}
		v.Methods = append(v.Methods, methodOption{Value: string(m), Label: label, Checked: i == 0})
	}
	if v.Payment {
		v.Amount = t.money(sess.amount.Total)
		v.Submit = fmt.Sprintf(t.payFmt, v.Amount)
		v.InstallmentNote = fmt.Sprintf(t.installmentFmt, t.money(minInstallmentAmount))
		if sess.amount.Total < minInstallmentAmount {
			v.InstallmentNote += " " + fmt.Sprintf(t.lumpSumOnlyFmt, t.money(minInstallmentAmount))
		}
	} else {
		v.Submit = t.Register
	}
	v.MonthOptions = append(v.MonthOptions, monthOption{Value: 0, Label: t.lumpSum, Selected: true})
	for n := 2; n <= maxInstallment; n++ {
		v.MonthOptions = append(v.MonthOptions, monthOption{Value: n, Label: fmt.Sprintf(t.monthsFmt, n)})
	}
	switch {
	case sess.authenticated:
		v.Gone = t.Used
	case now.After(sess.expiresAt):
		v.Gone = t.Expired
	}
	return v
}

// keep shows the buyer's choices again after a refused POST: the test card,
// expiry and installment months, never a number typed in.
func (v *checkoutView) keep(form url.Values) {
	if n := form.Get("number"); slices.Contains(checkoutCards, n) {
		v.Number = n
	}
	if m := form.Get("exp_month"); len(m) <= 2 && allDigits(m) {
		v.ExpMonth = m
	}
	if y := form.Get("exp_year"); len(y) <= 4 && allDigits(y) {
		v.ExpYear = y
	}
	if months, err := strconv.Atoi(form.Get("months")); err == nil {
		for i := range v.MonthOptions {
			v.MonthOptions[i].Selected = v.MonthOptions[i].Value == months
		}
	}
}

// fail puts err on the view: what the buyer should do in the page's
// language, and the PG's code and message.
func (v *checkoutView) fail(err error) {
	v.Error, v.ErrorDetail = v.T.errorLead, err.Error()
	var pe *providers.Error
	if errors.As(err, &pe) {
		if msg := v.T.errors[pe.Code]; msg != "" {
			v.Error = msg
		}
		v.ErrorDetail = "[" + pe.Code + "] " + pe.Message
	}
}

func (s *Sandbox) serveCheckout(w http.ResponseWriter, r *http.Request) {
	const op = "Checkout"
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", checkoutCSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer") // the return URL need not see the session id
	h.Set("Vary", "Accept-Language")
	id := strings.Trim(r.URL.Path, "/")
	if r.Method == http.MethodPost {
		// Read the form before taking the lock: a slow client must not hold it.
		r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
		if err := r.ParseForm(); err != nil {
			http.Error(w, "bad form", http.StatusBadRequest)
			return
		}
	}
	t := checkoutLanguage(r)

	s.mu.Lock()
	var sess *session
	var m *merchant
	if mid, ok := s.windows[id]; ok {
		m = s.merchants[mid]
		sess = m.sessions[id]
	}
	if sess == nil {
		s.mu.Unlock()
		http.Error(w, "no such window session", http.StatusNotFound)
		return
	}
	view := newCheckoutView(t, sess, s.now())
	returnURL := sess.returnURL

	switch r.Method {
	case http.MethodGet, http.MethodHead:
		s.mu.Unlock()
		status := http.StatusOK
		if view.Gone != "" {
			status = http.StatusGone
		}
		render(w, status, view)
		return
	case http.MethodPost:
	default:
		s.mu.Unlock()
		w.Header().Set("Allow", "GET, POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	view.keep(r.PostForm)
	if method := r.PostFormValue("method"); method != "" && !slices.Contains(sess.methods(), providers.PayMethod(method)) {
		s.mu.Unlock()
		view.fail(invalid(op, "UNSUPPORTED_METHOD", "the window offers %v, not %q", sess.methods(), method))
		render(w, http.StatusUnprocessableEntity, view)
		return
	}
	number := r.PostFormValue("other")
	if number == "" {
		number = r.PostFormValue("number")
	}
	month, _ := strconv.Atoi(r.PostFormValue("exp_month"))
	year, _ := strconv.Atoi(r.PostFormValue("exp_year"))
	months, _ := strconv.Atoi(r.PostFormValue("months"))
	auth := WindowAuth{
		Card:              providers.CardData{Number: providers.NewCardNumber(number), ExpiryYear: year, ExpiryMonth: month},
		InstallmentMonths: months,
	}
	s.version.Add(1)
	res, err := authenticate(m, s.now(), op, id, auth)
	s.mu.Unlock()
	if err != nil {
		view.fail(err)
		render(w, http.StatusUnprocessableEntity, view)
		return
	}
	if u, perr := url.Parse(returnURL); perr == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != "" {
		q := u.Query()
		for k, v := range res {
			q.Set(k, v)
		}
		u.RawQuery = q.Encode()
		http.Redirect(w, r, u.String(), http.StatusSeeOther)
		return
	}
	view.Result = res
	render(w, http.StatusOK, view)
}

func render(w http.ResponseWriter, status int, v checkoutView) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Language", v.T.Code)
	w.WriteHeader(status)
	_ = checkoutPage.Execute(w, v)
}
