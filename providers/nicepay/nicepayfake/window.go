package nicepayfake

import (
	"context"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
)

// Window results posted to returnUrl that are not a success.
const (
	// CodeBuyerClosed is posted when the buyer closes the window
	// (common/code.md I002 "사용자가 결제를 취소하였습니다").
	CodeBuyerClosed = "I002"
	// CodeBadCardNumber is posted for a card number that is not 13-19
	// digits (3011 "카드번호 오류").
	CodeBadCardNumber = "3011"
)

// Choice is what the buyer does in the window. The zero Choice approves
// with DefaultCard.
type Choice struct {
	// CardNumber is the card to pay with ("" = DefaultCard). Other methods
	// ignore it.
	CardNumber string
	// DeclineCode, when set, makes the window fail with this code (the card
	// company refused authentication), DeclineMessage its message.
	DeclineCode, DeclineMessage string
	// Close makes the buyer close the window (CodeBuyerClosed).
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
// done: a form POST to returnUrl.
type WindowReturn struct {
	Method string // always "POST"
	URL    string
	Form   url.Values
}

// Post makes the request with c (nil = http.DefaultClient) as the browser
// would: application/x-www-form-urlencoded.
func (w *WindowReturn) Post(ctx context.Context, c *http.Client) (*http.Response, error) {
	if c == nil {
		c = http.DefaultClient
	}
	req, err := http.NewRequestWithContext(ctx, w.Method, w.URL, strings.NewReader(w.Form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return c.Do(req)
}

// CompleteWindow does what the window does for these AUTHNICE.requestPay
// arguments (flat, every value a string: clientId, method, orderId, amount,
// goodsName, returnUrl, vbankHolder, vbankValidHours, taxFreeAmt, buyerName,
// ...) when the buyer makes choice, and returns the browser's next request.
// Webhooks of a Client-approval window are sent before it returns. An
// error means the SDK would have called fnError instead of opening the
// window.
func (f *Fake) CompleteWindow(args map[string]string, choice Choice) (*WindowReturn, error) {
	wr, hs, err := f.runWindow(args, choice)
	if err != nil {
		return nil, err
	}
	f.deliver(hs)
	return wr, nil
}

type windowArgs struct {
	raw      map[string]string
	key      *keyPair
	amount   int64
	taxFree  int64
	vbankHrs int64
}

var windowMethods = map[string]bool{"card": true, "vbank": true, "bank": true, "cellphone": true}

// checkWindow validates the SDK arguments as the SDK does before it opens
// the window. Callers hold mu.
func (f *Fake) checkWindow(args map[string]string) (*windowArgs, error) {
	for _, k := range []string{"clientId", "method", "orderId", "amount", "goodsName", "returnUrl"} {
		if strings.TrimSpace(args[k]) == "" {
			return nil, fmt.Errorf("nicepayfake: %s is required", k)
		}
	}
	w := &windowArgs{raw: args, key: f.keys[args["clientId"]]}
	if w.key == nil {
		return nil, fmt.Errorf("nicepayfake: P001 unknown clientId %q", args["clientId"])
	}
	if !windowMethods[args["method"]] {
		return nil, fmt.Errorf("nicepayfake: method %q not supported (card, vbank, bank, cellphone)", args["method"])
	}
	var err error
	if w.amount, err = strconv.ParseInt(args["amount"], 10, 64); err != nil || w.amount <= 0 {
		return nil, fmt.Errorf("nicepayfake: amount %q is not a positive integer", args["amount"])
	}
	if v := args["taxFreeAmt"]; v != "" {
		if w.taxFree, err = strconv.ParseInt(v, 10, 64); err != nil || w.taxFree < 0 || w.taxFree > w.amount {
			return nil, fmt.Errorf("nicepayfake: P036 taxFreeAmt %q invalid or above amount", v)
		}
	}
	if args["method"] == "vbank" {
		if strings.TrimSpace(args["vbankHolder"]) == "" {
			return nil, fmt.Errorf("nicepayfake: vbankHolder is required for vbank")
		}
		if v := args["vbankValidHours"]; v != "" {
			if w.vbankHrs, err = strconv.ParseInt(v, 10, 64); err != nil || w.vbankHrs <= 0 {
				return nil, fmt.Errorf("nicepayfake: P031 vbankValidHours %q invalid", v)
			}
		}
	}
	if u, err := url.Parse(args["returnUrl"]); err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, fmt.Errorf("nicepayfake: returnUrl %q is not an http(s) URL", args["returnUrl"])
	}
	return w, nil
}

func (f *Fake) runWindow(args map[string]string, c Choice) (*WindowReturn, []hook, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	w, err := f.checkWindow(args)
	if err != nil {
		return nil, nil, err
	}
	server := w.key.model != ModelClient
	wr := &WindowReturn{Method: http.MethodPost, URL: args["returnUrl"], Form: url.Values{}}
	failure := func(code, msg string) (*WindowReturn, []hook, error) {
		if server {
			wr.Form.Set("authResultCode", code)
			wr.Form.Set("authResultMsg", msg)
		} else {
			wr.Form.Set("success", "false")
			wr.Form.Set("resultCode", code)
			wr.Form.Set("resultMsg", msg)
		}
		wr.Form.Set("clientId", args["clientId"])
		wr.Form.Set("orderId", args["orderId"])
		wr.Form.Set("amount", args["amount"])
		wr.Form.Set("mallReserved", args["mallReserved"])
		return wr, nil, nil
	}
	switch {
	case c.Close:
		return failure(CodeBuyerClosed, "사용자가 결제를 취소하였습니다")
	case c.DeclineCode != "":
		msg := c.DeclineMessage
		if msg == "" {
			msg = "카드사 인증 실패"
		}
		return failure(c.DeclineCode, msg)
	}
	method := args["method"]
	p := &payment{
		orderID: args["orderId"], clientID: w.key.clientID, method: method,
		status: statusAuthenticated, amount: w.amount, taxFree: w.taxFree,
		goodsName: args["goodsName"], mallReserved: args["mallReserved"], mallUserID: args["mallUserId"],
		buyerName: args["buyerName"], buyerTel: args["buyerTel"], buyerEmail: args["buyerEmail"],
		vbankHolder: args["vbankHolder"], vbankHours: w.vbankHrs, vbankExpArg: args["vbankExpDate"],
		createdAt: f.clock(),
	}
	if method == "card" {
		card := c.CardNumber
		if card == "" {
			card = DefaultCard
		}
		d, valid := cleanCard(card)
		if !valid {
			return failure(CodeBadCardNumber, "카드번호 오류")
		}
		p.cardMasked = maskCard(d)
		p.cardOutcome = cardOutcomes[d]
	}
	if f.orderTaken(p.orderID) {
		return failure("A127", "주문번호 중복 오류")
	}
	p.tid = f.newTID(methodCode(method), "01")
	p.authToken = "NICEUNTT" + strings.ToUpper(randomHex(16))
	f.addPayment(p)
	if server {
		wr.Form.Set("authResultCode", "0000")
		wr.Form.Set("authResultMsg", "인증 성공")
		wr.Form.Set("tid", p.tid)
		wr.Form.Set("clientId", w.key.clientID)
		wr.Form.Set("orderId", p.orderID)
		wr.Form.Set("amount", args["amount"])
		wr.Form.Set("mallReserved", p.mallReserved)
		wr.Form.Set("authToken", p.authToken)
		wr.Form.Set("signature", WindowSignature(p.authToken, w.key.clientID, args["amount"], w.key.secret))
		return wr, nil, nil
	}
	// Client approval: the window approves by itself.
	if method == "card" && p.cardOutcome.approveCode != "" {
		f.fail(p, p.cardOutcome.approveCode, p.cardOutcome.approveMsg)
	} else {
		f.settleApproved(p)
	}
	flattenPayment(wr.Form, f.outcome(p, w.key.secret), p.authToken, w.key.clientID)
	return wr, f.approvalHooks(p), nil
}

// flattenPayment writes the Client-approval returnUrl fields
// (api/payment-window-client.md) from the Payment object.
func flattenPayment(form url.Values, v paymentJSON, authToken, clientID string) {
	set := func(k, val string) { form.Set(k, val) }
	deref := func(s *string) string {
		if s == nil {
			return ""
		}
		return *s
	}
	set("success", strconv.FormatBool(v.ResultCode == "0000"))
	set("authToken", authToken)
	set("tid", v.TID)
	set("orderId", v.OrderID)
	set("clientId", clientID)
	set("mallReserved", deref(v.MallReserved))
	set("resultCode", v.ResultCode)
	set("resultMsg", v.ResultMsg)
	set("amount", strconv.FormatInt(v.Amount, 10))
	set("goodsName", v.GoodsName)
	set("channel", deref(v.Channel))
	set("status", v.Status)
	set("ediDate", v.EdiDate)
	set("signature", v.Signature)
	set("paidAt", v.PaidAt)
	set("failedAt", v.FailedAt)
	set("payMethod", v.PayMethod)
	set("useEscrow", strconv.FormatBool(v.UseEscrow))
	set("currency", v.Currency)
	set("approveNo", v.ApproveNo)
	set("couponAmt", "0")
	set("buyerName", deref(v.BuyerName))
	set("buyerTel", deref(v.BuyerTel))
	set("buyerEmail", deref(v.BuyerEmail))
	set("issuedCashReceipt", strconv.FormatBool(v.IssuedCashReceipt))
	set("receiptUrl", v.ReceiptURL)
	set("mallUserId", deref(v.MallUserID))
	if c := v.Card; c != nil {
		set("cardCode", c.CardCode)
		set("cardName", c.CardName)
		set("cardQuota", strconv.FormatInt(c.CardQuota, 10))
		set("isInterestFree", strconv.FormatBool(c.IsInterestFree))
		set("cardType", c.CardType)
		set("canPartCancel", strconv.FormatBool(c.CanPartCancel))
		set("acquCardCode", c.AcquCardCode)
		set("acquCardName", c.AcquCardName)
	}
	if b := v.Vbank; b != nil {
		set("vbankCode", b.VbankCode)
		set("vbankName", b.VbankName)
		set("vbankNumber", b.VbankNumber)
		set("vbankExpDate", b.VbankExpDate)
		set("vbankHolder", b.VbankHolder)
	}
	if b := v.Bank; b != nil {
		set("bankCode", b.BankCode)
		set("bankName", b.BankName)
	}
}

// sdkJS stands in for https://pay.nicepay.co.kr/v1/js/: it defines
// AUTHNICE.requestPay, checks the required options (fnError otherwise) and
// navigates to the fake's hosted window with the options as a form POST.
const sdkJS = `(function () {
  "use strict";
  var windowURL = %q;
  function fail(o, msg) {
    var result = { resultCode: "9000", msg: msg, errorMsg: msg };
    if (o && typeof o.fnError === "function") { o.fnError(result); return; }
    if (window.console) { console.error("AUTHNICE: " + msg); }
  }
  window.AUTHNICE = {
    requestPay: function (o) {
      o = o || {};
      var required = ["clientId", "method", "orderId", "amount", "goodsName", "returnUrl"];
      for (var i = 0; i < required.length; i++) {
        var v = o[required[i]];
        if (v === undefined || v === null || String(v) === "") { return fail(o, required[i] + " is required"); }
      }
      if (!/^[0-9]+$/.test(String(o.amount))) { return fail(o, "amount must be an integer"); }
      if (o.method === "vbank" && !o.vbankHolder) { return fail(o, "vbankHolder is required for vbank"); }
      var form = document.createElement("form");
      form.method = "POST";
      form.action = windowURL;
      form.acceptCharset = "utf-8";
      form.style.display = "none";
      for (var k in o) {
        if (!Object.prototype.hasOwnProperty.call(o, k)) { continue; }
        var val = o[k];
        if (val === undefined || val === null || typeof val === "function") { continue; }
        if (typeof val === "object") { val = JSON.stringify(val); }
        var input = document.createElement("input");
        input.type = "hidden";
        input.name = k;
        input.value = String(val);
        form.appendChild(input);
      }
      (document.body || document.documentElement).appendChild(form);
      form.submit();
    }
  };
})();
`

func (f *Fake) sdk(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	fmt.Fprintf(w, sdkJS, f.URL+"/window/open")
}

var windowPage = template.Must(template.New("window").Parse(`<!doctype html>
<html lang="ko"><head><meta charset="utf-8"><title>NICEPAY</title></head>
<body>
<h1>NICEPAY 결제</h1>
<p id="goods">{{.Goods}}</p>
<p id="amount">{{.Amount}}원</p>
<p id="method">{{.Method}}</p>
<form id="payform" method="POST" action="/window/{{.SID}}/pay">
<label for="card">카드번호</label>
<input id="card" name="card" value="{{.Card}}" autocomplete="off" inputmode="numeric">
<button id="pay" type="submit">결제하기</button>
</form>
<form id="cancelform" method="POST" action="/window/{{.SID}}/cancel">
<button id="cancel" type="submit">취소</button>
</form>
</body></html>
`))

var returnPage = template.Must(template.New("return").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>NICEPAY</title></head>
<body>
<form id="return" method="POST" action="{{.URL}}" accept-charset="utf-8">
{{range .Fields}}<input type="hidden" name="{{.K}}" value="{{.V}}">
{{end}}<noscript><button type="submit">계속</button></noscript>
</form>
<script>document.getElementById("return").submit();</script>
</body></html>
`))

var errorPage = template.Must(template.New("error").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>NICEPAY</title></head>
<body><p id="error">{{.}}</p></body></html>
`))

func htmlHeader(w http.ResponseWriter, status int) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
}

// windowOpen receives the SDK's options and shows the hosted window.
func (f *Fake) windowOpen(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		htmlHeader(w, http.StatusBadRequest)
		_ = errorPage.Execute(w, err.Error())
		return
	}
	args := map[string]string{}
	for k, vs := range r.Form {
		if len(vs) > 0 {
			args[k] = vs[0]
		}
	}
	f.mu.Lock()
	_, err := f.checkWindow(args)
	sid := randomHex(16)
	if err == nil {
		f.sessions[sid] = args
	}
	f.mu.Unlock()
	if err != nil {
		htmlHeader(w, http.StatusBadRequest)
		_ = errorPage.Execute(w, err.Error())
		return
	}
	htmlHeader(w, http.StatusOK)
	_ = windowPage.Execute(w, map[string]string{
		"SID": sid, "Goods": args["goodsName"], "Amount": args["amount"], "Method": args["method"], "Card": DefaultCard,
	})
}

func (f *Fake) takeSession(r *http.Request) map[string]string {
	f.mu.Lock()
	defer f.mu.Unlock()
	sid := r.PathValue("sid")
	args := f.sessions[sid]
	delete(f.sessions, sid)
	return args
}

func (f *Fake) windowPay(w http.ResponseWriter, r *http.Request) {
	f.finishWindow(w, r, Choice{CardNumber: r.PostFormValue("card")})
}

func (f *Fake) windowCancel(w http.ResponseWriter, r *http.Request) {
	f.finishWindow(w, r, CloseWindow)
}

func (f *Fake) finishWindow(w http.ResponseWriter, r *http.Request, c Choice) {
	_ = r.ParseForm()
	args := f.takeSession(r)
	if args == nil {
		htmlHeader(w, http.StatusNotFound)
		_ = errorPage.Execute(w, "window session not found or already used")
		return
	}
	wr, err := f.CompleteWindow(args, c)
	if err != nil {
		htmlHeader(w, http.StatusBadRequest)
		_ = errorPage.Execute(w, err.Error())
		return
	}
	type kv struct{ K, V string }
	keys := make([]string, 0, len(wr.Form))
	for k := range wr.Form {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	fields := make([]kv, 0, len(keys))
	for _, k := range keys {
		fields = append(fields, kv{k, wr.Form.Get(k)})
	}
	htmlHeader(w, http.StatusOK)
	_ = returnPage.Execute(w, map[string]any{"URL": template.URL(wr.URL), "Fields": fields})
}
