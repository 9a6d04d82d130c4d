package nicepay

import (
	"context"
	"net/http"
	"strconv"

	"github.com/paymux/paymux/providers"
)

// billingAnswer is the regist and expire answer. NicePay's manual shows it
// in camelCase and, in one sample, PascalCase (ResultCode, BID, TID,
// AuthDate "20230214"): encoding/json matches keys case-insensitively and
// parseTime reads both date forms.
type billingAnswer struct {
	resultHead
	TID      string `json:"tid"`
	OrderID  string `json:"orderId"`
	BID      string `json:"bid"`
	AuthDate string `json:"authDate"`
	CardCode string `json:"cardCode"`
	CardName string `json:"cardName"`
}

// IssueBillingKey registers card data as a billing key
// (POST /v1/subscribe/regist with encData). NicePay has no billing window.
func (a *Adapter) IssueBillingKey(ctx context.Context, ch providers.Channel, req providers.IssueBillingKeyRequest) (*providers.BillingKey, error) {
	const op = "IssueBillingKey"
	if req.Card == nil {
		if req.Window != nil {
			return nil, providers.NotSupported(Name, "billing key from a window (NicePay issues billing keys from card data)")
		}
		return nil, invalid(op, "CARD_REQUIRED", "card data is required")
	}
	if err := usable(op, ch); err != nil {
		return nil, err
	}
	if err := checkOrderID(op, req.OrderID); err != nil {
		return nil, err
	}
	c := *req.Card
	switch {
	case !digits(c.Number.Reveal()):
		return nil, invalid(op, "INVALID_CARD_NUMBER", "the card number must be digits")
	case c.ExpiryMonth < 1 || c.ExpiryMonth > 12 || c.ExpiryYear < 2000:
		return nil, invalid(op, "INVALID_EXPIRY", "the expiry must be a month 1-12 of a four-digit year")
	case !digits(c.OwnerID.Reveal()):
		return nil, invalid(op, "INVALID_OWNER_ID", "the owner id must be a birth date (YYMMDD) or a business number")
	}
	secret := ch.Secret(SecretSecretKey)
	enc, err := EncData(cardPlain(c), secret)
	if err != nil {
		return nil, invalid(op, "SECRET_KEY_TOO_SHORT", "%v", err)
	}
	ediDate := EdiDate(a.now())
	body := map[string]any{
		"encData":  enc,
		"orderId":  req.OrderID,
		"ediDate":  ediDate,
		"signData": Sign(req.OrderID, ediDate, secret),
	}
	buyer(body, req.Buyer)
	var out billingAnswer
	if err := a.call(ctx, ch, op, http.MethodPost, "/v1/subscribe/regist", nil, body, &out); err != nil {
		return nil, err
	}
	if out.BID == "" {
		return nil, newErr(kUnknown, op, "BID_MISSING", "NicePay answered %s without a bid", out.ResultCode)
	}
	issued := parseTime(out.AuthDate)
	if issued.IsZero() {
		issued = a.now()
	}
	return &providers.BillingKey{
		Key:         out.BID,
		CustomerKey: req.CustomerKey,
		Card: providers.CardInfo{
			Issuer:       CardCompany(out.CardCode),
			PGIssuerCode: out.CardCode,
			Number:       c.Number.Masked(),
		},
		IssuedAt: issued,
	}, nil
}

func buyer(body map[string]any, b providers.Buyer) {
	if b.Name != "" {
		body["buyerName"] = truncate(b.Name, 30)
	}
	if b.Email != "" {
		body["buyerEmail"] = b.Email
	}
	if tel := onlyDigits(b.Phone); tel != "" {
		body["buyerTel"] = tel
	}
}

// ChargeBillingKey charges a billing key (POST /v1/subscribe/{bid}/payments).
// The answer's signature must verify: one that does not is outcome-unknown.
func (a *Adapter) ChargeBillingKey(ctx context.Context, ch providers.Channel, req providers.ChargeBillingKeyRequest) (*providers.Payment, error) {
	const op = "ChargeBillingKey"
	if err := usable(op, ch); err != nil {
		return nil, err
	}
	if req.BillingKey == "" {
		return nil, invalid(op, "BILLING_KEY_REQUIRED", "a billing key is required")
	}
	if err := checkOrderID(op, req.OrderID); err != nil {
		return nil, err
	}
	if err := checkAmount(op, req.Amount); err != nil {
		return nil, err
	}
	if req.InstallmentMonths < 0 || req.InstallmentMonths > 99 {
		return nil, invalid(op, "INVALID_INSTALLMENT", "installment months %d out of range", req.InstallmentMonths)
	}
	ediDate := EdiDate(a.now())
	body := map[string]any{
		"orderId":         req.OrderID,
		"amount":          req.Amount.Total,
		"goodsName":       goodsName(req.OrderName, req.OrderID),
		"cardQuota":       strconv.Itoa(req.InstallmentMonths),
		"useShopInterest": false,
		"taxFreeAmt":      req.Amount.TaxFree,
		"ediDate":         ediDate,
		"signData":        Sign(req.OrderID, req.BillingKey, ediDate, ch.Secret(SecretSecretKey)),
	}
	buyer(body, req.Buyer)
	var p payment
	if err := a.call(ctx, ch, op, http.MethodPost, "/v1/subscribe/"+pathEscape(req.BillingKey)+"/payments", nil, body, &p); err != nil {
		return nil, err
	}
	pay, err := a.signedPayment(ch, op, &p)
	if err != nil {
		return nil, err
	}
	pay.BillingKey = req.BillingKey
	return pay, nil
}

// DeleteBillingKey expires a billing key (POST /v1/subscribe/{bid}/expire).
// NicePay wants an order id for the deletion; without one the adapter
// sends the bid with "-expire" (a bid is deleted once).
func (a *Adapter) DeleteBillingKey(ctx context.Context, ch providers.Channel, req providers.DeleteBillingKeyRequest) (*providers.BillingKey, error) {
	const op = "DeleteBillingKey"
	if err := usable(op, ch); err != nil {
		return nil, err
	}
	if req.BillingKey == "" {
		return nil, invalid(op, "BILLING_KEY_REQUIRED", "a billing key is required")
	}
	orderID := req.OrderID
	if orderID == "" {
		orderID = truncate(req.BillingKey, 57) + "-expire"
	}
	if err := checkOrderID(op, orderID); err != nil {
		return nil, err
	}
	ediDate := EdiDate(a.now())
	body := map[string]any{
		"orderId":  orderID,
		"ediDate":  ediDate,
		"signData": Sign(orderID, req.BillingKey, ediDate, ch.Secret(SecretSecretKey)),
	}
	var out billingAnswer
	if err := a.call(ctx, ch, op, http.MethodPost, "/v1/subscribe/"+pathEscape(req.BillingKey)+"/expire", nil, body, &out); err != nil {
		return nil, err
	}
	deleted := parseTime(out.AuthDate)
	if deleted.IsZero() {
		deleted = a.now()
	}
	return &providers.BillingKey{Key: req.BillingKey, CustomerKey: req.CustomerKey, DeletedAt: deleted}, nil
}
