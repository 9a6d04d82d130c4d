package tosspayments

import (
	"cmp"
	"context"
	"fmt"
	"net/http"

	"github.com/paymux/paymux/providers"
)

// cardFields are the raw-card fields of key-in and billing-from-card.
type cardFields struct {
	CardNumber             string `json:"cardNumber"`
	CardExpirationYear     string `json:"cardExpirationYear"`
	CardExpirationMonth    string `json:"cardExpirationMonth"`
	CustomerIdentityNumber string `json:"customerIdentityNumber"`
	CardPassword           string `json:"cardPassword,omitempty"`
}

func cardFieldsOf(op string, c providers.CardData) (cardFields, error) {
	switch {
	case c.Number.IsZero():
		return cardFields{}, invalid(op, "INVALID_CARD_NUMBER", "a card number is required")
	case c.ExpiryMonth < 1 || c.ExpiryMonth > 12 || c.ExpiryYear < 2000 || c.ExpiryYear > 2099:
		return cardFields{}, invalid(op, "INVALID_CARD_EXPIRATION", "the expiry must be a month 1-12 of a four-digit year")
	case c.OwnerID.IsZero():
		return cardFields{}, invalid(op, "INVALID_REQUEST", "the owner's birth date (YYMMDD) or business number is required")
	}
	return cardFields{
		CardNumber:             c.Number.Reveal(),
		CardExpirationYear:     fmt.Sprintf("%02d", c.ExpiryYear%100),
		CardExpirationMonth:    fmt.Sprintf("%02d", c.ExpiryMonth),
		CustomerIdentityNumber: c.OwnerID.Reveal(),
		CardPassword:           c.Password2.Reveal(),
	}, nil
}

type keyInBody struct {
	Amount    int64  `json:"amount"`
	OrderID   string `json:"orderId"`
	OrderName string `json:"orderName"`
	cardFields
	CardInstallmentPlan int    `json:"cardInstallmentPlan,omitempty"`
	TaxFreeAmount       int64  `json:"taxFreeAmount,omitempty"`
	CustomerEmail       string `json:"customerEmail,omitempty"`
	CustomerName        string `json:"customerName,omitempty"`
}

// ChargeKeyIn charges card data at once: POST /v1/payments/key-in (a
// separate Toss contract option).
func (a *Adapter) ChargeKeyIn(ctx context.Context, ch providers.Channel, req providers.KeyInRequest) (*providers.Payment, error) {
	const op = "ChargeKeyIn"
	if err := usable(op, ch); err != nil {
		return nil, err
	}
	if err := checkOrder(op, req.OrderID, req.Amount); err != nil {
		return nil, err
	}
	cf, err := cardFieldsOf(op, req.Card)
	if err != nil {
		return nil, err
	}
	body := keyInBody{Amount: req.Amount.Total, OrderID: req.OrderID, OrderName: cmp.Or(req.OrderName, req.OrderID),
		cardFields: cf, CardInstallmentPlan: req.InstallmentMonths, TaxFreeAmount: req.Amount.TaxFree,
		CustomerEmail: req.Buyer.Email, CustomerName: req.Buyer.Name}
	var p paymentJSON
	key := idempotencyKey(req.IdempotencyKey, "key-in", req.OrderID)
	if err := a.call(ctx, ch, op, http.MethodPost, "/v1/payments/key-in", key, body, &p); err != nil {
		return nil, err
	}
	return answer(op, &p)
}

func checkOrder(op, orderID string, am providers.Amount) error {
	if !orderIDPattern.MatchString(orderID) {
		return invalid(op, "INVALID_ORDER_ID", "Toss order ids are 6-64 of A-Z a-z 0-9 - _ =")
	}
	return checkAmount(op, am)
}

// Toss's Billing object.
type billingJSON struct {
	MID             string `json:"mId"`
	CustomerKey     string `json:"customerKey"`
	AuthenticatedAt string `json:"authenticatedAt"`
	Method          string `json:"method"`
	BillingKey      string `json:"billingKey"`
	Card            *struct {
		IssuerCode   string `json:"issuerCode"`
		AcquirerCode string `json:"acquirerCode"`
		Number       string `json:"number"`
		CardType     string `json:"cardType"`
	} `json:"card"`
}

func (b *billingJSON) toBillingKey() *providers.BillingKey {
	k := &providers.BillingKey{Key: b.BillingKey, CustomerKey: b.CustomerKey, IssuedAt: parseTime(b.AuthenticatedAt)}
	if c := b.Card; c != nil {
		k.Card = providers.CardInfo{PGIssuerCode: c.IssuerCode, PGAcquirerCode: c.AcquirerCode, Number: c.Number,
			Type: cardTypeOf(c.CardType)}
	}
	return k
}

type billingCardBody struct {
	CustomerKey string `json:"customerKey"`
	cardFields
	CustomerName  string `json:"customerName,omitempty"`
	CustomerEmail string `json:"customerEmail,omitempty"`
}

// IssueBillingKey stores a card at Toss: from a billing window's successUrl
// query (authKey + customerKey → POST /v1/billing/authorizations/issue) or
// from card data (POST /v1/billing/authorizations/card, which Toss no longer
// offers to new contracts). A billing window's failUrl result is
// KindDeclined, without any call.
func (a *Adapter) IssueBillingKey(ctx context.Context, ch providers.Channel, req providers.IssueBillingKeyRequest) (*providers.BillingKey, error) {
	const op = "IssueBillingKey"
	var (
		path, key string
		body      any
	)
	switch {
	case req.Window != nil && req.Card != nil:
		return nil, invalid(op, "INVALID_REQUEST", "give card data or a window result, not both")
	case req.Window != nil:
		w := req.Window
		authKey := w["authKey"]
		if authKey == "" {
			if code := w["code"]; code != "" {
				return nil, windowFailure(op, code, w["message"])
			}
			return nil, invalid(op, CodeWindowResult, "the billing window result has neither an authKey nor a failure code")
		}
		customerKey := cmp.Or(w["customerKey"], req.CustomerKey)
		if req.CustomerKey != "" && customerKey != req.CustomerKey {
			return nil, invalid(op, "CUSTOMER_KEY_MISMATCH", "the window's customerKey is not the expected buyer")
		}
		path = "/v1/billing/authorizations/issue"
		body = map[string]string{"authKey": authKey, "customerKey": customerKey}
		key = idempotencyKey(req.IdempotencyKey, "billing-issue", authKey)
	case req.Card != nil:
		if req.CustomerKey == "" || !customerKeyPattern.MatchString(req.CustomerKey) {
			return nil, invalid(op, "CUSTOMER_KEY_REQUIRED", "a billing key needs the buyer's customerKey")
		}
		cf, err := cardFieldsOf(op, *req.Card)
		if err != nil {
			return nil, err
		}
		path = "/v1/billing/authorizations/card"
		body = billingCardBody{CustomerKey: req.CustomerKey, cardFields: cf, CustomerName: req.Buyer.Name,
			CustomerEmail: req.Buyer.Email}
		key = idempotencyKey(req.IdempotencyKey)
	default:
		return nil, invalid(op, "INVALID_REQUEST", "card data or a window result is required")
	}
	if err := usable(op, ch); err != nil {
		return nil, err
	}
	var b billingJSON
	if err := a.call(ctx, ch, op, http.MethodPost, path, key, body, &b); err != nil {
		return nil, err
	}
	if b.BillingKey == "" {
		return nil, &providers.Error{Kind: providers.KindUnknown, Provider: Name, Op: op, Code: CodeUnexpectedAnswer,
			Message: "the answer has no billingKey"}
	}
	return b.toBillingKey(), nil
}

type billingChargeBody struct {
	CustomerKey         string `json:"customerKey"`
	Amount              int64  `json:"amount"`
	OrderID             string `json:"orderId"`
	OrderName           string `json:"orderName"`
	CardInstallmentPlan int    `json:"cardInstallmentPlan,omitempty"`
	TaxFreeAmount       int64  `json:"taxFreeAmount,omitempty"`
	CustomerEmail       string `json:"customerEmail,omitempty"`
	CustomerName        string `json:"customerName,omitempty"`
}

// ChargeBillingKey charges a billing key: POST /v1/billing/{billingKey}
// (the key URL-escaped: it may hold '='), with the customerKey it was
// issued for.
func (a *Adapter) ChargeBillingKey(ctx context.Context, ch providers.Channel, req providers.ChargeBillingKeyRequest) (*providers.Payment, error) {
	const op = "ChargeBillingKey"
	if err := usable(op, ch); err != nil {
		return nil, err
	}
	if req.BillingKey == "" || req.CustomerKey == "" {
		return nil, invalid(op, "INVALID_REQUEST", "the billing key and its customerKey are required")
	}
	if err := checkOrder(op, req.OrderID, req.Amount); err != nil {
		return nil, err
	}
	body := billingChargeBody{CustomerKey: req.CustomerKey, Amount: req.Amount.Total, OrderID: req.OrderID,
		OrderName: cmp.Or(req.OrderName, req.OrderID), CardInstallmentPlan: req.InstallmentMonths,
		TaxFreeAmount: req.Amount.TaxFree, CustomerEmail: req.Buyer.Email, CustomerName: req.Buyer.Name}
	var p paymentJSON
	key := idempotencyKey(req.IdempotencyKey, "billing-charge", req.OrderID)
	if err := a.call(ctx, ch, op, http.MethodPost, "/v1/billing/"+pathEscape(req.BillingKey), key, body, &p); err != nil {
		return nil, err
	}
	pay, err := answer(op, &p)
	if err != nil {
		return nil, err
	}
	pay.BillingKey = req.BillingKey
	return pay, nil
}

// DeleteBillingKey deletes a billing key: DELETE /v1/billing/{billingKey}.
// No official page confirms this endpoint; Toss's answer, when it is a
// Billing object, fills the card.
func (a *Adapter) DeleteBillingKey(ctx context.Context, ch providers.Channel, req providers.DeleteBillingKeyRequest) (*providers.BillingKey, error) {
	const op = "DeleteBillingKey"
	if err := usable(op, ch); err != nil {
		return nil, err
	}
	if req.BillingKey == "" {
		return nil, invalid(op, "INVALID_REQUEST", "the billing key is required")
	}
	var b billingJSON
	if err := a.call(ctx, ch, op, http.MethodDelete, "/v1/billing/"+pathEscape(req.BillingKey), "", nil, &b); err != nil {
		return nil, err
	}
	k := b.toBillingKey()
	k.Key = req.BillingKey
	k.CustomerKey = cmp.Or(k.CustomerKey, req.CustomerKey)
	k.DeletedAt = a.now()
	return k, nil
}
