package tossfake

import (
	"context"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

const (
	windowPath       = "/_window"
	windowSubmitPath = "/_window/submit"
	argPrefix        = "arg."
)

// Choice is what the buyer does in the window. The zero Choice approves
// with DefaultCard.
type Choice struct {
	// CardNumber is the card to pay with ("" = DefaultCard). Methods other
	// than CARD ignore it.
	CardNumber string
	// DeclineCode, when set, makes the window fail with this code (the card
	// company refused the authentication), DeclineMessage its message ("" =
	// the fake's message for the code).
	DeclineCode, DeclineMessage string
	// Close makes the buyer close the window (PAY_PROCESS_CANCELED).
	Close bool
}

// ApproveWith pays with the given card number.
func ApproveWith(card string) Choice { return Choice{CardNumber: card} }

// DeclineWith fails the window with code and message.
func DeclineWith(code, message string) Choice {
	return Choice{DeclineCode: code, DeclineMessage: message}
}

// CloseWindow is the buyer closing the window.
var CloseWindow = Choice{Close: true}

// WindowReturn is the request the buyer's browser makes when the window is
// done: a GET of successUrl or failUrl with the redirect's query appended.
type WindowReturn struct {
	Method string // always "GET"
	URL    string
	Form   url.Values // always nil: Toss returns in the query
}

// Query is the query of URL (successUrl's own parameters included).
func (w *WindowReturn) Query() url.Values {
	u, err := url.Parse(w.URL)
	if err != nil {
		return nil
	}
	return u.Query()
}

// Do makes the request with c (nil = http.DefaultClient) as the browser
// would.
func (w *WindowReturn) Do(ctx context.Context, c *http.Client) (*http.Response, error) {
	if c == nil {
		c = http.DefaultClient
	}
	req, err := http.NewRequestWithContext(ctx, w.Method, w.URL, nil)
	if err != nil {
		return nil, err
	}
	return c.Do(req)
}

// WindowError is the SDK refusing its arguments (the real SDK rejects
// requestPayment; the hosted window shows it as an error page).
type WindowError struct {
	Code, Message string
}

func (e *WindowError) Error() string { return "tossfake window: " + e.Code + ": " + e.Message }

func werr(code, format string, a ...any) *WindowError {
	return &WindowError{Code: code, Message: fmt.Sprintf(format, a...)}
}

var amountPattern = regexp.MustCompile(`^[1-9][0-9]{0,15}$`)

func absoluteHTTP(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

func anonymous(customerKey string) bool {
	return customerKey == "ANONYMOUS" || customerKey == "@@ANONYMOUS"
}

// checkArgs validates SDK arguments as the SDK does. Callers hold mu.
func (f *Fake) checkArgs(a map[string]string) (*keyPair, *WindowError) {
	k := f.byClient[a["clientKey"]]
	if k == nil || !strings.Contains(a["clientKey"], "_ck_") {
		return nil, werr("UNAUTHORIZED_KEY", "%s", messageOf("UNAUTHORIZED_KEY", false))
	}
	ck := a["customerKey"]
	if a["purpose"] == "billing" {
		if a["method"] != "" && a["method"] != "CARD" {
			return nil, werr("INVALID_REQUEST", "this fake's billing window supports method CARD only")
		}
		if anonymous(ck) || !customerKeyPattern.MatchString(ck) {
			return nil, werr("INVALID_REQUEST", "customerKey is required for billing and must not be ANONYMOUS")
		}
	} else {
		if ck == "" || (!anonymous(ck) && !customerKeyPattern.MatchString(ck)) {
			return nil, werr("INVALID_REQUEST", "invalid customerKey")
		}
		if _, known := methodLabels[a["method"]]; !known {
			return nil, werr("INVALID_REQUEST", "method must be CARD, TRANSFER, VIRTUAL_ACCOUNT or MOBILE_PHONE")
		}
		if !amountPattern.MatchString(a["amount"]) {
			return nil, werr("INVALID_REQUEST", "amount.value must be a positive integer")
		}
		if c := a["currency"]; c != "" && c != "KRW" {
			return nil, werr("INVALID_REQUEST", "amount.currency must be KRW")
		}
		if !orderIDPattern.MatchString(a["orderId"]) {
			return nil, werr("INVALID_REQUEST", "orderId must match ^[A-Za-z0-9_=-]{6,64}$")
		}
		if a["orderName"] == "" {
			return nil, werr("INVALID_REQUEST", "orderName is required")
		}
		if tf := a["taxFreeAmount"]; tf != "" {
			n, err := strconv.ParseInt(tf, 10, 64)
			total, _ := strconv.ParseInt(a["amount"], 10, 64)
			if err != nil || n < 0 || n > total {
				return nil, werr("INVALID_REQUEST", "taxFreeAmount must be 0 to amount")
			}
		}
		if h := a["validHours"]; h != "" {
			if n, err := strconv.Atoi(h); err != nil || n <= 0 || n > 720 {
				return nil, werr("INVALID_REQUEST", "validHours must be 1-720")
			}
		}
	}
	if !absoluteHTTP(a["successUrl"]) || !absoluteHTTP(a["failUrl"]) {
		return nil, werr("INVALID_REQUEST", "successUrl and failUrl must be absolute http(s) URLs")
	}
	return k, nil
}

// CompleteWindow does what the window does for these SDK arguments (the
// flat keys of paymux's window Params: clientKey, customerKey, method,
// amount, orderId, orderName, successUrl, failUrl, customer*, and
// purpose=billing for requestBillingAuth) when the buyer makes choice, and
// returns the request the browser would then make. An error means the SDK
// refused the arguments (a *WindowError) or the card number is malformed.
func (f *Fake) CompleteWindow(args map[string]string, choice Choice) (*WindowReturn, error) {
	ret, err := f.runWindow(args, choice)
	if err != nil {
		return nil, err
	}
	return ret, nil
}

func appendQuery(raw string, v url.Values) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	if u.RawQuery != "" {
		u.RawQuery += "&"
	}
	u.RawQuery += v.Encode()
	return u.String()
}

func (f *Fake) runWindow(a map[string]string, c Choice) (*WindowReturn, *WindowError) {
	f.mu.Lock()
	defer f.mu.Unlock()
	k, e := f.checkArgs(a)
	if e != nil {
		return nil, e
	}
	billing := a["purpose"] == "billing"
	failWith := func(code, msg string) (*WindowReturn, *WindowError) {
		if msg == "" {
			msg = messageOf(code, false)
		}
		v := url.Values{"code": {code}, "message": {msg}}
		if !billing {
			v.Set("orderId", a["orderId"])
		}
		return &WindowReturn{Method: http.MethodGet, URL: appendQuery(a["failUrl"], v)}, nil
	}
	if c.Close {
		return failWith("PAY_PROCESS_CANCELED", "")
	}
	if c.DeclineCode != "" {
		return failWith(c.DeclineCode, c.DeclineMessage)
	}
	card := ""
	if billing || a["method"] == "CARD" {
		n := c.CardNumber
		if n == "" {
			n = DefaultCard
		}
		var valid bool
		if card, valid = cleanCard(n); !valid {
			return nil, werr("INVALID_CARD_NUMBER", "%s", messageOf("INVALID_CARD_NUMBER", false))
		}
		if code := cardError(card); code != "" {
			return failWith(code, "")
		}
	}
	now := f.clock()
	if billing {
		ak := &authKey{key: "bln_" + randomString(32, alnum), mID: k.mID, customerKey: a["customerKey"], card: card, at: now}
		f.authKeys[ak.key] = ak
		v := url.Values{"customerKey": {ak.customerKey}, "authKey": {ak.key}}
		return &WindowReturn{Method: http.MethodGet, URL: appendQuery(a["successUrl"], v)}, nil
	}
	amount, _ := strconv.ParseInt(a["amount"], 10, 64)
	hours, _ := strconv.ParseInt(a["validHours"], 10, 64)
	taxFree, _ := strconv.ParseInt(a["taxFreeAmount"], 10, 64)
	p := &payment{key: newPaymentKey(), mID: k.mID, test: k.test, orderID: a["orderId"], orderName: a["orderName"],
		typ: "NORMAL", method: a["method"], status: StatusInProgress, total: amount, balance: amount, taxFree: taxFree,
		requestedAt: now, inProgressAt: now, customerName: a["customerName"], validHours: hours}
	switch p.method {
	case "CARD":
		p.card = &cardState{number: card, profile: profileOf(card)}
	case "TRANSFER":
		p.transferBank = "88"
	case "MOBILE_PHONE":
		p.mobilePhone = a["customerMobilePhone"]
		if p.mobilePhone == "" {
			p.mobilePhone = "01000000000"
		}
	}
	f.seq++
	p.seq = f.seq
	f.payments[p.key] = p
	// A window for an order that is already paid does not take the order
	// over; its confirm answers ALREADY_PROCESSED_PAYMENT.
	if cur := f.latestByOrder(k.mID, p.orderID); cur == nil || !processed(cur.status) {
		f.orders[orderKey(k.mID, p.orderID)] = p
	}
	v := url.Values{"paymentKey": {p.key}, "orderId": {p.orderID}, "amount": {a["amount"]}, "paymentType": {"NORMAL"}}
	return &WindowReturn{Method: http.MethodGet, URL: appendQuery(a["successUrl"], v)}, nil
}

// sdkScript is the SDK stand-in: TossPayments(clientKey).payment({customerKey})
// with requestPayment and requestBillingAuth, which navigate to the hosted
// window with the arguments flattened into the query.
const sdkScript = `(function () {
  var base = %q;
  function absolute(u) {
    if (typeof u !== "string" || u === "") return u;
    try { return new URL(u, window.location.href).href; } catch (e) { return u; }
  }
  function go(args) {
    var q = new URLSearchParams();
    Object.keys(args).forEach(function (k) {
      var v = args[k];
      if (v !== undefined && v !== null && v !== "") q.set(k, String(v));
    });
    window.location.href = base + %q + "?" + q.toString();
    return new Promise(function () {});
  }
  function TossPayments(clientKey) {
    if (typeof clientKey !== "string" || clientKey === "") {
      throw new Error("TossPayments: clientKey is required");
    }
    return {
      payment: function (opts) {
        var customerKey = (opts || {}).customerKey;
        return {
          requestPayment: function (p) {
            p = p || {};
            var amt = p.amount, value = amt, currency;
            if (amt !== null && typeof amt === "object") { value = amt.value; currency = amt.currency; }
            return go({
              clientKey: clientKey, customerKey: customerKey, method: p.method,
              amount: value, currency: currency, orderId: p.orderId, orderName: p.orderName,
              successUrl: absolute(p.successUrl), failUrl: absolute(p.failUrl),
              customerName: p.customerName, customerEmail: p.customerEmail,
              customerMobilePhone: p.customerMobilePhone, taxFreeAmount: p.taxFreeAmount,
              validHours: p.virtualAccount ? p.virtualAccount.validHours : undefined
            });
          },
          requestBillingAuth: function (p) {
            p = p || {};
            return go({
              clientKey: clientKey, customerKey: customerKey, method: p.method, purpose: "billing",
              successUrl: absolute(p.successUrl), failUrl: absolute(p.failUrl),
              customerName: p.customerName, customerEmail: p.customerEmail
            });
          }
        };
      }
    };
  }
  TossPayments.ANONYMOUS = "ANONYMOUS";
  window.TossPayments = TossPayments;
})();
`

func (f *Fake) serveSDK(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = fmt.Fprintf(w, sdkScript, f.URL, windowPath)
}

var windowPage = template.Must(template.New("window").Parse(`<!doctype html>
<html lang="ko"><head><meta charset="utf-8"><title>{{if .Error}}오류{{else}}토스페이먼츠 (fake){{end}}</title></head>
<body>
{{if .Error}}
<h1>결제를 진행할 수 없습니다</h1>
<p id="error" data-code="{{.Error.Code}}">{{.Error.Code}}: {{.Error.Message}}</p>
{{else}}
<h1>{{if .Billing}}카드 등록{{else}}결제{{end}}</h1>
<dl id="order">
{{if .Billing}}<dt>customerKey</dt><dd id="customerKey">{{.Args.customerKey}}</dd>
{{else}}<dt>주문</dt><dd id="orderName">{{.Args.orderName}}</dd>
<dt>주문번호</dt><dd id="orderId">{{.Args.orderId}}</dd>
<dt>금액</dt><dd id="amount">{{.Args.amount}}</dd>
<dt>결제수단</dt><dd id="method">{{.Args.method}}</dd>{{end}}
</dl>
<form method="post" action="{{.Action}}">
{{range .Hidden}}<input type="hidden" name="{{.Name}}" value="{{.Value}}">
{{end}}<label>카드번호 <input id="card" name="card" value="{{.Card}}" autocomplete="off"></label>
<button id="pay" type="submit" name="action" value="pay">{{if .Billing}}등록{{else}}결제하기{{end}}</button>
<button id="cancel" type="submit" name="action" value="cancel">취소</button>
</form>
{{end}}
</body></html>
`))

type hiddenField struct{ Name, Value string }

type windowView struct {
	Error   *WindowError
	Billing bool
	Args    map[string]string
	Hidden  []hiddenField
	Action  string
	Card    string
}

func (f *Fake) renderWindow(w http.ResponseWriter, v windowView) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if v.Error != nil {
		w.WriteHeader(http.StatusBadRequest)
	}
	_ = windowPage.Execute(w, v)
}

func (f *Fake) serveWindow(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	args := map[string]string{}
	for k, vs := range r.URL.Query() {
		args[k] = vs[0]
	}
	f.mu.Lock()
	_, e := f.checkArgs(args)
	f.mu.Unlock()
	if e != nil {
		f.renderWindow(w, windowView{Error: e})
		return
	}
	v := windowView{Billing: args["purpose"] == "billing", Args: args, Action: windowSubmitPath, Card: DefaultCard}
	for k, val := range args {
		v.Hidden = append(v.Hidden, hiddenField{Name: argPrefix + k, Value: val})
	}
	sort.Slice(v.Hidden, func(i, j int) bool { return v.Hidden[i].Name < v.Hidden[j].Name })
	f.renderWindow(w, v)
}

func (f *Fake) serveWindowSubmit(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	args := map[string]string{}
	for k, vs := range r.PostForm {
		if name, found := strings.CutPrefix(k, argPrefix); found {
			args[name] = vs[0]
		}
	}
	c := Choice{CardNumber: r.PostForm.Get("card")}
	if r.PostForm.Get("action") == "cancel" {
		c = CloseWindow
	}
	ret, e := f.runWindow(args, c)
	if e != nil {
		f.renderWindow(w, windowView{Error: e})
		return
	}
	http.Redirect(w, r, ret.URL, http.StatusSeeOther)
}
