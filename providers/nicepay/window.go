package nicepay

import (
	"cmp"
	"context"
	"net/http"
	"strconv"
	"unicode/utf8"

	"github.com/paymux/paymux/providers"
)

// Window params (AUTHNICE.requestPay arguments) and returnUrl form fields.
const (
	ParamClientID        = "clientId"
	ParamMethod          = "method"
	ParamOrderID         = "orderId"
	ParamAmount          = "amount"
	ParamGoodsName       = "goodsName"
	ParamReturnURL       = "returnUrl"
	ParamTaxFreeAmt      = "taxFreeAmt"
	ParamVbankHolder     = "vbankHolder"
	ParamVbankValidHours = "vbankValidHours"
	ParamBuyerName       = "buyerName"
	ParamBuyerTel        = "buyerTel"
	ParamBuyerEmail      = "buyerEmail"
)

// DefaultVbankHolder is the vbankHolder of a virtual-account window whose
// request names no buyer.
const DefaultVbankHolder = "paymux"

// launchScript opens NicePay's window with the params, numbers as numbers.
// fnError shows NicePay's message in the page (as text, never as HTML).
const launchScript = `AUTHNICE.requestPay({
  ...params,
  amount: Number(params.amount),
  ...(params.taxFreeAmt !== undefined ? {taxFreeAmt: Number(params.taxFreeAmt)} : {}),
  ...(params.vbankValidHours !== undefined ? {vbankValidHours: Number(params.vbankValidHours)} : {}),
  fnError: function (r) {
    var m = (r && (r.msg || r.errorMsg)) || "The NicePay window could not be opened.";
    var el = document.getElementById("paymux-window-error");
    if (!el) {
      el = document.createElement("p");
      el.id = "paymux-window-error";
      el.setAttribute("role", "alert");
      document.body.appendChild(el);
    }
    el.textContent = m;
  }
});`

// PrepareWindow returns the AUTHNICE.requestPay arguments. A window of
// ApprovalModel CLIENT opens with the channel's Client-approval key when it
// has one (the window then approves by itself); otherwise with the
// Server-approval key, and paymux approves on return. NicePay's Start API
// has no billing-key window.
func (a *Adapter) PrepareWindow(ctx context.Context, ch providers.Channel, req providers.PrepareWindowRequest) (*providers.PrepareWindowResult, error) {
	const op = "PrepareWindow"
	if req.Purpose == providers.WindowBillingKey {
		return nil, providers.NotSupported(Name, "billing-key window (NicePay issues billing keys from card data)")
	}
	if req.Purpose != "" && req.Purpose != providers.WindowPayment {
		return nil, invalid(op, "INVALID_PURPOSE", "unknown window purpose %q", req.Purpose)
	}
	if err := usable(op, ch); err != nil {
		return nil, err
	}
	var method string
	switch req.Method {
	case "", providers.MethodCard:
		method = "card"
	case providers.MethodVirtualAccount:
		method = "vbank"
	case providers.MethodTransfer:
		method = "bank"
	case providers.MethodMobile:
		method = "cellphone"
	default:
		return nil, providers.NotSupported(Name, "window method "+string(req.Method))
	}
	if err := checkOrderID(op, req.OrderID); err != nil {
		return nil, err
	}
	if err := checkAmount(op, req.Amount); err != nil {
		return nil, err
	}
	if req.ReturnURL == "" {
		return nil, invalid(op, "RETURN_URL_REQUIRED", "a return URL is required")
	}
	clientID := ch.Secret(SecretClientID)
	if req.ApprovalModel == providers.ApprovalClient {
		if k, ok := clientApprovalKeys(ch); ok {
			clientID = k.clientID
		}
	}
	params := map[string]string{
		ParamClientID:  clientID,
		ParamMethod:    method,
		ParamOrderID:   req.OrderID,
		ParamAmount:    itoa(req.Amount.Total),
		ParamGoodsName: goodsName(req.OrderName, req.OrderID),
		ParamReturnURL: req.ReturnURL,
	}
	if req.Amount.TaxFree > 0 {
		params[ParamTaxFreeAmt] = itoa(req.Amount.TaxFree)
	}
	if method == "vbank" {
		params[ParamVbankHolder] = truncate(cmp.Or(req.Buyer.Name, DefaultVbankHolder), 40)
	}
	setNonEmpty(params, ParamBuyerName, truncate(req.Buyer.Name, 30))
	setNonEmpty(params, ParamBuyerTel, onlyDigits(req.Buyer.Phone))
	setNonEmpty(params, ParamBuyerEmail, req.Buyer.Email)
	return &providers.PrepareWindowResult{SDKURL: a.sdkURL, Params: params, Launch: launchScript}, nil
}

func setNonEmpty(m map[string]string, k, v string) {
	if v != "" {
		m[k] = v
	}
}

func onlyDigits(s string) string {
	b := make([]byte, 0, len(s))
	for i := range len(s) {
		if s[i] >= '0' && s[i] <= '9' {
			b = append(b, s[i])
		}
	}
	return string(b)
}

// truncate cuts s to at most n bytes at a character boundary (NicePay
// counts bytes).
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[:n]
	for len(s) > 0 && !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}

// goodsName is the order name within NicePay's 40 bytes, or the order id
// when there is none (goodsName is required).
func goodsName(name, orderID string) string {
	if name == "" {
		name = orderID
	}
	return truncate(name, 40)
}

func checkOrderID(op, id string) error {
	switch {
	case id == "":
		return invalid(op, "ORDER_ID_REQUIRED", "an order id is required")
	case len(id) > 64:
		return invalid(op, "ORDER_ID_TOO_LONG", "NicePay order ids have at most 64 characters")
	}
	return nil
}

func checkAmount(op string, a providers.Amount) error {
	switch {
	case a.Currency != "" && a.Currency != "KRW":
		return invalid(op, "UNSUPPORTED_CURRENCY", "the adapter charges KRW only, not %q", a.Currency)
	case a.Total <= 0:
		return invalid(op, "INVALID_AMOUNT", "amount %d is not positive", a.Total)
	case a.TaxFree < 0 || a.TaxFree > a.Total:
		return invalid(op, "INVALID_TAX_FREE_AMOUNT", "tax-free amount %d is not within [0, %d]", a.TaxFree, a.Total)
	}
	return nil
}

// Approve approves what the window posted to returnUrl.
//
// Server model (the form has authResultCode): the authentication must have
// succeeded, its signature verify and its order id and amount equal the
// request's; only then is POST /v1/payments/{tid} called. Client model (the
// form has resultCode: NicePay's window approved by itself): the form's
// signature must verify, then check-amount confirms the amount and the
// payment is read back; a payment of another amount is cancelled and
// answered AMOUNT_MISMATCH.
func (a *Adapter) Approve(ctx context.Context, ch providers.Channel, req providers.ApproveRequest) (*providers.Payment, error) {
	const op = "Approve"
	if err := usable(op, ch); err != nil {
		return nil, err
	}
	w := req.Window
	if _, ok := w["authResultCode"]; !ok {
		if _, ok := w["resultCode"]; ok {
			return a.approveClient(ctx, ch, req)
		}
		return nil, invalid(op, "WINDOW_RESULT_INVALID", "the window result has neither authResultCode nor resultCode")
	}
	if code := w["authResultCode"]; code != "0000" {
		e := resultError(op, code, w["authResultMsg"])
		if e.Kind == kUnknown || e.Kind == kUnavail || e.Kind == kTimeout {
			// Nothing is charged until approve: a failed authentication
			// is definite whatever its code.
			e.Kind, e.Decline = kDeclined, providers.DeclineOther
		}
		return nil, e
	}
	tid, clientID, amount := w["tid"], w["clientId"], w["amount"]
	secret := secretOf(ch, clientID)
	if tid == "" || secret == "" || !sameSignature(w["signature"], WindowSignature(w["authToken"], clientID, amount, secret)) {
		return nil, unauthorized(op, "WINDOW_SIGNATURE_MISMATCH", "the window result's signature does not verify with the channel's keys")
	}
	if w["orderId"] != req.OrderID || amount != itoa(req.Amount.Total) {
		return nil, invalid(op, "AMOUNT_MISMATCH", "the window authenticated order %q for %s, expected %q for %d",
			w["orderId"], amount, req.OrderID, req.Amount.Total)
	}
	ediDate := EdiDate(a.now())
	body := map[string]any{
		"amount":   req.Amount.Total,
		"ediDate":  ediDate,
		"signData": Sign(tid, itoa(req.Amount.Total), ediDate, ch.Secret(SecretSecretKey)),
	}
	var p payment
	if err := a.call(ctx, ch, op, http.MethodPost, "/v1/payments/"+pathEscape(tid), nil, body, &p); err != nil {
		return nil, err
	}
	return a.signedPayment(ch, op, &p)
}

// signedPayment verifies a Payment answer's signature and converts it.
func (a *Adapter) signedPayment(ch providers.Channel, op string, p *payment) (*providers.Payment, error) {
	if !p.verified(secrets(ch)) {
		return nil, badSignature(op)
	}
	return p.toPayment(), nil
}

// secretOf returns the secret key of the channel's key pair with this
// client id, or "".
func secretOf(ch providers.Channel, clientID string) string {
	if clientID == "" {
		return ""
	}
	if k := apiKeys(ch); k.clientID == clientID {
		return k.secret
	}
	if k, ok := clientApprovalKeys(ch); ok && k.clientID == clientID {
		return k.secret
	}
	return ""
}

// approveClient checks a payment NicePay's Client-approval window approved.
func (a *Adapter) approveClient(ctx context.Context, ch providers.Channel, req providers.ApproveRequest) (*providers.Payment, error) {
	const op = "Approve"
	w := req.Window
	if code := w["resultCode"]; code != "0000" {
		e := resultError(op, code, w["resultMsg"])
		if e.Kind == kUnknown {
			e.Kind, e.Decline = kDeclined, providers.DeclineOther
		}
		return nil, e
	}
	tid, amount := w["tid"], w["amount"]
	secret := secretOf(ch, w["clientId"])
	if tid == "" || secret == "" || !sameSignature(w["signature"], PaymentSignature(tid, amount, w["ediDate"], secret)) {
		return nil, unauthorized(op, "WINDOW_SIGNATURE_MISMATCH", "the window result's signature does not verify with the channel's keys")
	}
	if w["orderId"] != req.OrderID {
		// Another order's payment: not this approval's to cancel.
		return nil, invalid(op, "ORDER_MISMATCH", "the window paid order %q, expected %q", w["orderId"], req.OrderID)
	}

	// check-amount: NicePay compares the amount it charged with paymux's.
	ediDate := EdiDate(a.now())
	secretKey := ch.Secret(SecretSecretKey)
	var chk struct {
		resultHead
		TID       string   `json:"tid"`
		EdiDate   string   `json:"ediDate"`
		Signature string   `json:"signature"`
		IsValid   flexBool `json:"isValid"`
	}
	err := a.call(ctx, ch, op, http.MethodPost, "/v1/check-amount/"+pathEscape(tid), nil, map[string]any{
		"amount":   req.Amount.Total,
		"ediDate":  ediDate,
		"signData": Sign(tid, itoa(req.Amount.Total), ediDate, secretKey),
	}, &chk)
	if err != nil {
		return nil, err
	}
	if !verifyAny(chk.Signature, secrets(ch), cmp.Or(chk.TID, tid), chk.EdiDate) {
		return nil, badSignature(op)
	}
	if !chk.IsValid || amount != itoa(req.Amount.Total) {
		return nil, a.cancelMismatch(ctx, ch, tid, req)
	}

	var p payment
	if err := a.call(ctx, ch, op, http.MethodGet, "/v1/payments/"+pathEscape(tid), a.lookupQuery(ch, tid), nil, &p); err != nil {
		return nil, err
	}
	pay, err := a.signedPayment(ch, op, &p)
	if err != nil {
		return nil, err
	}
	if pay.OrderID != req.OrderID {
		// Another order's payment (a window result carried over): not this
		// approval's to cancel.
		return nil, invalid(op, "ORDER_MISMATCH", "the window paid order %q, expected %q", pay.OrderID, req.OrderID)
	}
	if pay.Amounts.Total != req.Amount.Total {
		return nil, a.cancelMismatch(ctx, ch, tid, req)
	}
	return pay, nil
}

// cancelMismatch cancels a client-approved payment of the wrong amount.
// When the cancel itself fails the payment may still stand: the answer is
// then outcome-unknown, so paymux looks it up.
func (a *Adapter) cancelMismatch(ctx context.Context, ch providers.Channel, tid string, req providers.ApproveRequest) error {
	const op = "Approve"
	_, err := a.cancel(ctx, ch, "Cancel", providers.CancelRequest{
		PGTransactionID: tid,
		OrderID:         req.OrderID,
		Reason:          "amount mismatch",
		IdempotencyKey:  "amount-mismatch",
	})
	if err != nil && !providers.IsKind(err, kDone) {
		return &providers.Error{Kind: kUnknown, Provider: Name, Op: op, Code: "AMOUNT_MISMATCH",
			Message: "the window charged another amount than " + strconv.FormatInt(req.Amount.Total, 10) + " and cancelling it failed; look the payment up", Err: err}
	}
	return invalid(op, "AMOUNT_MISMATCH", "the window charged another amount than %d; the payment was cancelled", req.Amount.Total)
}
