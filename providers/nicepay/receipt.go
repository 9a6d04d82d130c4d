package nicepay

import (
	"cmp"
	"context"
	"net/http"

	"github.com/paymux/paymux/providers"
)

// receiptAnswer is the issue, cancel and lookup answer of a cash receipt.
// The manual copies the cancel table for the lookup, so every field is
// optional here.
type receiptAnswer struct {
	resultHead
	TID         string   `json:"tid"`
	OrderID     string   `json:"orderId"`
	Status      string   `json:"status"`
	Amount      flexInt  `json:"amount"`
	CancelAmt   flexInt  `json:"cancelAmt"`
	BalanceAmt  *flexInt `json:"balanceAmt"`
	ApprovedAt  string   `json:"approvedAt"`
	CancelledAt string   `json:"cancelledAt"`
	ApproveNo   string   `json:"approveNo"`
	ReceiptType string   `json:"receiptType"`
	ReceiptURL  string   `json:"receiptUrl"`
	EdiDate     string   `json:"ediDate"`
	Signature   string   `json:"signature"`
}

// vatOf is the VAT part of a taxable amount: a tenth of the supply value,
// taxable / 11 rounded to the nearest won.
func vatOf(taxable int64) int64 {
	if taxable <= 0 {
		return 0
	}
	v := taxable / 11
	if taxable%11 >= 6 {
		v++
	}
	return v
}

// split is supplyAmt, goodsVat, taxFreeAmt (serviceAmt 0) of an amount.
func split(op string, total, taxFree int64, vat *int64) (supply, goodsVat int64, err error) {
	taxable := total - taxFree
	goodsVat = vatOf(taxable)
	if vat != nil {
		goodsVat = *vat
	}
	if taxFree < 0 || taxable < 0 || goodsVat < 0 || goodsVat > taxable {
		return 0, 0, invalid(op, "INVALID_AMOUNT_SPLIT", "amount %d, tax-free %d and VAT %d do not split", total, taxFree, goodsVat)
	}
	return taxable - goodsVat, goodsVat, nil
}

func receiptType(t providers.CashReceiptType) (string, bool) {
	switch t {
	case providers.CashReceiptIncomeDeduction:
		return "individual", true
	case providers.CashReceiptExpenseProof:
		return "company", true
	}
	return "", false
}

// IssueCashReceipt requests a cash receipt (POST /v1/receipt/). NicePay
// sends it to the National Tax Service the next day: the answer is
// REQUESTED until approvedAt is set.
func (a *Adapter) IssueCashReceipt(ctx context.Context, ch providers.Channel, req providers.IssueCashReceiptRequest) (*providers.CashReceipt, error) {
	const op = "IssueCashReceipt"
	if err := usable(op, ch); err != nil {
		return nil, err
	}
	if err := checkOrderID(op, req.OrderID); err != nil {
		return nil, err
	}
	if err := checkAmount(op, req.Amount); err != nil {
		return nil, err
	}
	rt, ok := receiptType(req.Subject.Type)
	if !ok {
		return nil, invalid(op, "INVALID_RECEIPT_TYPE", "unknown cash receipt type %q", req.Subject.Type)
	}
	if !digits(req.Subject.Identity.Reveal()) {
		return nil, invalid(op, "INVALID_RECEIPT_IDENTITY", "the identity must be digits (phone or business number)")
	}
	supply, vat, err := split(op, req.Amount.Total, req.Amount.TaxFree, req.Amount.VAT)
	if err != nil {
		return nil, err
	}
	ediDate := EdiDate(a.now())
	secret := ch.Secret(SecretSecretKey)
	body := map[string]any{
		"orderId":     req.OrderID,
		"amount":      req.Amount.Total,
		"goodsName":   goodsName(req.OrderName, req.OrderID),
		"receiptType": rt,
		"receiptNo":   req.Subject.Identity.Reveal(),
		"supplyAmt":   supply,
		"goodsVat":    vat,
		"taxFreeAmt":  req.Amount.TaxFree,
		"serviceAmt":  0,
		"ediDate":     ediDate,
		"signData":    Sign(req.OrderID, itoa(req.Amount.Total), ediDate, secret),
	}
	var out receiptAnswer
	if err := a.call(ctx, ch, op, http.MethodPost, "/v1/receipt/", nil, body, &out); err != nil {
		return nil, err
	}
	r, err := a.receipt(ch, op, &out)
	if err != nil {
		return nil, err
	}
	r.Type = req.Subject.Type
	r.Amounts = providers.Amounts{Total: req.Amount.Total, TaxFree: req.Amount.TaxFree, VAT: vat, Paid: req.Amount.Total}
	if r.RequestedAt.IsZero() {
		r.RequestedAt = a.now()
	}
	return r, nil
}

// receipt verifies a cash-receipt answer, signed
// sha256(tid + orderId + ediDate + secretKey), and converts it.
func (a *Adapter) receipt(ch providers.Channel, op string, out *receiptAnswer) (*providers.CashReceipt, error) {
	if !verifyAny(out.Signature, secrets(ch), out.TID, out.OrderID, out.EdiDate) {
		return nil, badSignature(op)
	}
	r := &providers.CashReceipt{
		ReceiptID:      out.TID,
		OrderID:        out.OrderID,
		ApprovalNumber: out.ApproveNo,
		IssuedAt:       parseTime(out.ApprovedAt),
		CancelledAt:    parseTime(out.CancelledAt),
		ReceiptURL:     out.ReceiptURL,
	}
	switch out.ReceiptType {
	case "individual":
		r.Type = providers.CashReceiptIncomeDeduction
	case "company":
		r.Type = providers.CashReceiptExpenseProof
	}
	total := int64(out.Amount)
	if out.BalanceAmt != nil && total == 0 && !r.CancelledAt.IsZero() {
		total = int64(*out.BalanceAmt) + int64(out.CancelAmt) // the best the answer tells
	}
	r.Amounts = providers.Amounts{Total: total, Paid: total}
	if out.BalanceAmt != nil && total > 0 {
		r.Amounts.Cancelled = max(0, total-int64(*out.BalanceAmt))
	}
	r.Status = receiptStatus(out.Status)
	if r.Status == "" {
		switch {
		case !r.CancelledAt.IsZero() && out.BalanceAmt != nil && *out.BalanceAmt > 0:
			r.Status = providers.CashReceiptPartialCancelled
		case !r.CancelledAt.IsZero():
			r.Status = providers.CashReceiptCancelled
		case r.IssuedAt.IsZero():
			r.Status = providers.CashReceiptRequested
		default:
			r.Status = providers.CashReceiptIssued
		}
	}
	if r.Status == providers.CashReceiptFailed {
		r.Failure = &providers.Error{Kind: kInvalid, Provider: Name, Op: op, Code: out.ResultCode, Message: out.ResultMsg}
	}
	return r, nil
}

// receiptStatus maps the cashReceipts[].status values of the manual.
func receiptStatus(s string) providers.CashReceiptStatus {
	switch s {
	case "issueRequested":
		return providers.CashReceiptRequested
	case "issued", "cancelReqCancelled", "cancelFailed":
		return providers.CashReceiptIssued
	case "issueFailed":
		return providers.CashReceiptFailed
	case "issueReqCancelled", "cancelRequested", "cancelled":
		return providers.CashReceiptCancelled
	}
	return ""
}

// CancelCashReceipt cancels all (Amount 0) or part of a cash receipt
// (POST /v1/receipt/{tid}/cancel). A partial cancel carries its supply,
// VAT and tax-free parts; its order id is derived as for payment cancels
// (CancelOrderID).
func (a *Adapter) CancelCashReceipt(ctx context.Context, ch providers.Channel, req providers.CancelCashReceiptRequest) (*providers.CashReceipt, error) {
	const op = "CancelCashReceipt"
	if err := usable(op, ch); err != nil {
		return nil, err
	}
	switch {
	case req.ReceiptID == "":
		return nil, invalid(op, "RECEIPT_ID_REQUIRED", "a receipt id is required")
	case req.OrderID == "":
		return nil, invalid(op, "ORDER_ID_REQUIRED", "an order id is required")
	case req.Amount < 0:
		return nil, invalid(op, "INVALID_CANCEL_AMOUNT", "cancel amount %d is negative", req.Amount)
	}
	ediDate := EdiDate(a.now())
	key := req.IdempotencyKey
	if key == "" {
		key = "at " + ediDate
	}
	body := map[string]any{
		"orderId":  CancelOrderID(req.OrderID, key),
		"reason":   truncate(cmp.Or(req.Reason, "cancel"), 100),
		"ediDate":  ediDate,
		"signData": Sign(req.ReceiptID, ediDate, ch.Secret(SecretSecretKey)),
	}
	if req.Amount > 0 {
		var taxFree int64
		if req.TaxFree != nil {
			taxFree = *req.TaxFree
		}
		supply, vat, err := split(op, req.Amount, taxFree, req.VAT)
		if err != nil {
			return nil, err
		}
		body["cancelAmt"] = req.Amount
		body["supplyAmt"] = supply
		body["goodsVat"] = vat
		body["taxFreeAmt"] = taxFree
		body["serviceAmt"] = 0
	}
	var out receiptAnswer
	if err := a.call(ctx, ch, op, http.MethodPost, "/v1/receipt/"+pathEscape(req.ReceiptID)+"/cancel", nil, body, &out); err != nil {
		return nil, err
	}
	if out.OrderID == "" {
		out.OrderID = body["orderId"].(string)
	}
	r, err := a.receipt(ch, op, &out)
	if err != nil {
		return nil, err
	}
	r.OrderID = req.OrderID
	if r.CancelledAt.IsZero() {
		r.CancelledAt = a.now()
	}
	if r.Status != providers.CashReceiptPartialCancelled && r.Status != providers.CashReceiptCancelled {
		if out.BalanceAmt != nil && *out.BalanceAmt > 0 {
			r.Status = providers.CashReceiptPartialCancelled
		} else {
			r.Status = providers.CashReceiptCancelled
		}
	}
	return r, nil
}

// LookupCashReceipt reads a cash receipt (GET /v1/receipt/{tid}).
func (a *Adapter) LookupCashReceipt(ctx context.Context, ch providers.Channel, req providers.LookupCashReceiptRequest) (*providers.CashReceipt, error) {
	const op = "LookupCashReceipt"
	if err := usable(op, ch); err != nil {
		return nil, err
	}
	if req.ReceiptID == "" {
		return nil, invalid(op, "RECEIPT_ID_REQUIRED", "NicePay looks cash receipts up by tid: a receipt id is required")
	}
	var out receiptAnswer
	if err := a.call(ctx, ch, op, http.MethodGet, "/v1/receipt/"+pathEscape(req.ReceiptID), a.lookupQuery(ch, req.ReceiptID), nil, &out); err != nil {
		return nil, err
	}
	return a.receipt(ch, op, &out)
}
