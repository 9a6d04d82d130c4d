package tosspayments

import (
	"cmp"
	"context"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"github.com/paymux/paymux/providers"
)

// Window params: the v2 SDK's own argument names, flat, as strings.
const (
	ParamClientKey           = "clientKey"
	ParamCustomerKey         = "customerKey"
	ParamMethod              = "method"
	ParamAmount              = "amount"
	ParamTaxFreeAmount       = "taxFreeAmount"
	ParamOrderID             = "orderId"
	ParamOrderName           = "orderName"
	ParamSuccessURL          = "successUrl"
	ParamFailURL             = "failUrl"
	ParamCustomerName        = "customerName"
	ParamCustomerEmail       = "customerEmail"
	ParamCustomerMobilePhone = "customerMobilePhone"
	ParamValidHours          = "validHours" // virtualAccount.validHours
	ParamPurpose             = "purpose"    // "billing": requestBillingAuth
)

// Anonymous is the customerKey of a payment window for no particular buyer
// (TossPayments.ANONYMOUS in the SDK).
const Anonymous = "ANONYMOUS"

// PurposeBilling is ParamPurpose of a billing-key window.
const PurposeBilling = "billing"

// orderIDPattern is Toss's orderId: 6-64 of A-Z a-z 0-9 - _ =.
var orderIDPattern = regexp.MustCompile(`^[A-Za-z0-9_=-]{6,64}$`)

// customerKeyPattern is a billing customerKey as paymux sends it (Toss:
// 2-300 characters of letters, digits and - _ = . @).
var customerKeyPattern = regexp.MustCompile(`^[A-Za-z0-9_=.@-]{2,300}$`)

// launchScript opens the v2 SDK's window with the params, the amount as a
// number. A refused request (the SDK's promise rejects, or it throws) shows
// the SDK's message in the page as text, never as HTML.
const launchScript = `var show = function (err) {
  var m = (err && err.message) || "The Toss Payments window could not be opened.";
  var el = document.getElementById("paymux-window-error");
  if (!el) {
    el = document.createElement("p");
    el.id = "paymux-window-error";
    el.setAttribute("role", "alert");
    document.body.appendChild(el);
  }
  el.textContent = m;
};
try {
  var payment = TossPayments(params.clientKey).payment({
    customerKey: params.customerKey === "ANONYMOUS" ? TossPayments.ANONYMOUS : params.customerKey
  });
  var req = {method: params.method, successUrl: params.successUrl, failUrl: params.failUrl};
  ["customerName", "customerEmail", "customerMobilePhone"].forEach(function (k) {
    if (params[k] !== undefined && params[k] !== "") req[k] = params[k];
  });
  var done;
  if (params.purpose === "billing") {
    done = payment.requestBillingAuth(req);
  } else {
    req.amount = {currency: "KRW", value: Number(params.amount)};
    req.orderId = params.orderId;
    req.orderName = params.orderName;
    if (params.taxFreeAmount !== undefined) req.taxFreeAmount = Number(params.taxFreeAmount);
    if (params.method === "VIRTUAL_ACCOUNT" && params.validHours !== undefined) {
      req.virtualAccount = {validHours: Number(params.validHours)};
    }
    done = payment.requestPayment(req);
  }
  if (done && typeof done.then === "function") done.then(null, show);
} catch (err) {
  show(err);
}`

// PrepareWindow returns the v2 SDK's arguments: requestPayment for a
// payment (CARD, TRANSFER, VIRTUAL_ACCOUNT, MOBILE_PHONE), or
// requestBillingAuth (method CARD) for a billing-key window, which needs
// the buyer's CustomerKey. FailURL "" is ReturnURL.
func (a *Adapter) PrepareWindow(ctx context.Context, ch providers.Channel, req providers.PrepareWindowRequest) (*providers.PrepareWindowResult, error) {
	const op = "PrepareWindow"
	clientKey := ch.Secret(SecretClientKey)
	if clientKey == "" {
		return nil, &providers.Error{Kind: providers.KindUnauthorized, Provider: Name, Op: op, Code: CodeChannelKeysMissing,
			Message: "the channel has no client_key"}
	}
	if err := checkKey(ch.Mode, clientKeyKind, clientKey); err != nil {
		return nil, &providers.Error{Kind: providers.KindUnauthorized, Provider: Name, Op: op, Code: CodeChannelKeyMode, Message: err.Error()}
	}
	if req.ReturnURL == "" {
		return nil, invalid(op, "RETURN_URL_REQUIRED", "a return URL is required")
	}
	failURL := cmp.Or(req.FailURL, req.ReturnURL)
	params := map[string]string{
		ParamClientKey:  clientKey,
		ParamSuccessURL: req.ReturnURL,
		ParamFailURL:    failURL,
	}
	setNonEmpty(params, ParamCustomerName, req.Buyer.Name)
	setNonEmpty(params, ParamCustomerEmail, req.Buyer.Email)
	setNonEmpty(params, ParamCustomerMobilePhone, onlyDigits(req.Buyer.Phone))

	switch req.Purpose {
	case providers.WindowBillingKey:
		if req.Method != "" && req.Method != providers.MethodCard {
			return nil, providers.NotSupported(Name, "billing-key window for "+string(req.Method))
		}
		if req.CustomerKey == "" || req.CustomerKey == Anonymous || !customerKeyPattern.MatchString(req.CustomerKey) {
			return nil, invalid(op, "CUSTOMER_KEY_REQUIRED",
				"a billing-key window needs the buyer's customerKey (2-300 of A-Z a-z 0-9 - _ = . @, not ANONYMOUS)")
		}
		params[ParamCustomerKey] = req.CustomerKey
		params[ParamMethod] = "CARD"
		params[ParamPurpose] = PurposeBilling
		delete(params, ParamCustomerMobilePhone) // not a requestBillingAuth argument
		return &providers.PrepareWindowResult{SDKURL: a.sdkURL, Params: params, Launch: launchScript}, nil
	case "", providers.WindowPayment:
	default:
		return nil, invalid(op, "INVALID_PURPOSE", "unknown window purpose "+strconv.Quote(string(req.Purpose)))
	}

	var method string
	switch req.Method {
	case "", providers.MethodCard:
		method = "CARD"
	case providers.MethodTransfer:
		method = "TRANSFER"
	case providers.MethodVirtualAccount:
		method = "VIRTUAL_ACCOUNT"
	case providers.MethodMobile:
		method = "MOBILE_PHONE"
	default:
		return nil, providers.NotSupported(Name, "window method "+string(req.Method))
	}
	if !orderIDPattern.MatchString(req.OrderID) {
		return nil, invalid(op, "INVALID_ORDER_ID", "Toss order ids are 6-64 of A-Z a-z 0-9 - _ =")
	}
	if err := checkAmount(op, req.Amount); err != nil {
		return nil, err
	}
	customerKey := req.CustomerKey
	if customerKey == "" {
		customerKey = Anonymous
	}
	params[ParamCustomerKey] = customerKey
	params[ParamMethod] = method
	params[ParamAmount] = strconv.FormatInt(req.Amount.Total, 10)
	params[ParamOrderID] = req.OrderID
	params[ParamOrderName] = cmp.Or(req.OrderName, req.OrderID)
	if req.Amount.TaxFree > 0 {
		params[ParamTaxFreeAmount] = strconv.FormatInt(req.Amount.TaxFree, 10)
	}
	return &providers.PrepareWindowResult{SDKURL: a.sdkURL, Params: params, Launch: launchScript}, nil
}

// checkAmount refuses what Toss would: no positive KRW total, a tax-free
// part outside it.
func checkAmount(op string, am providers.Amount) error {
	switch {
	case am.Currency != "" && am.Currency != "KRW":
		return providers.NotSupported(Name, "currency "+am.Currency)
	case am.Total <= 0:
		return invalid(op, "INVALID_AMOUNT", "the amount must be positive")
	case am.TaxFree < 0 || am.TaxFree > am.Total:
		return invalid(op, "INVALID_TAX_FREE_AMOUNT", "the tax-free part must be within the amount")
	}
	return nil
}

func setNonEmpty(m map[string]string, k, v string) {
	if v != "" {
		m[k] = v
	}
}

func onlyDigits(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// Approve confirms a window's payment: POST /v1/payments/confirm with the
// paymentKey of the successUrl query, for exactly the expected amount.
//
// Without any call: a failUrl result (code, message) is KindDeclined (a
// closed window, PAY_PROCESS_CANCELED, too); a window amount or orderId
// other than the expected one is KindInvalidRequest AMOUNT_MISMATCH /
// ORDER_MISMATCH (the tampering check Toss asks for).
//
// DONE is PAID; a window virtual account comes back WAITING_FOR_DEPOSIT,
// VIRTUAL_ACCOUNT_ISSUED with its NotificationSecret.
func (a *Adapter) Approve(ctx context.Context, ch providers.Channel, req providers.ApproveRequest) (*providers.Payment, error) {
	const op = "Approve"
	w := req.Window
	paymentKey := w["paymentKey"]
	if paymentKey == "" {
		if code := w["code"]; code != "" {
			return nil, windowFailure(op, code, w["message"])
		}
		return nil, invalid(op, CodeWindowResult, "the window result has neither a paymentKey nor a failure code")
	}
	if req.OrderID == "" || w["orderId"] != req.OrderID {
		return nil, invalid(op, CodeOrderMismatch, "the window's orderId is not the expected order")
	}
	amount, err := strconv.ParseInt(w["amount"], 10, 64)
	if err != nil || amount != req.Amount.Total {
		return nil, invalid(op, CodeAmountMismatch, "the window's amount is not the expected amount")
	}
	if err := usable(op, ch); err != nil {
		return nil, err
	}
	body := map[string]any{"paymentKey": paymentKey, "orderId": req.OrderID, "amount": amount}
	var p paymentJSON
	key := idempotencyKey(req.IdempotencyKey, "confirm", paymentKey)
	if err := a.call(ctx, ch, op, http.MethodPost, "/v1/payments/confirm", key, body, &p); err != nil {
		return nil, err
	}
	return answer(op, &p)
}
