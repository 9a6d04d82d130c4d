package tosspayments

import (
	"cmp"
	"context"
	"net/http"

	"github.com/paymux/paymux/providers"
)

type cashReceiptRequest struct {
	Type               string `json:"type"`
	RegistrationNumber string `json:"registrationNumber"`
}

type virtualAccountBody struct {
	Amount              int64               `json:"amount"`
	OrderID             string              `json:"orderId"`
	OrderName           string              `json:"orderName"`
	CustomerName        string              `json:"customerName"`
	Bank                string              `json:"bank"`
	DueDate             string              `json:"dueDate,omitempty"`
	TaxFreeAmount       int64               `json:"taxFreeAmount,omitempty"`
	CustomerEmail       string              `json:"customerEmail,omitempty"`
	CustomerMobilePhone string              `json:"customerMobilePhone,omitempty"`
	CashReceipt         *cashReceiptRequest `json:"cashReceipt,omitempty"`
}

// receiptType is Toss's cash-receipt type.
func receiptType(t providers.CashReceiptType) (string, bool) {
	switch t {
	case providers.CashReceiptIncomeDeduction, "":
		return "소득공제", true
	case providers.CashReceiptExpenseProof:
		return "지출증빙", true
	}
	return "", false
}

func receiptTypeOf(s string) providers.CashReceiptType {
	switch s {
	case "소득공제", "INCOME_DEDUCTION":
		return providers.CashReceiptIncomeDeduction
	case "지출증빙", "EXPENSE_PROOF":
		return providers.CashReceiptExpenseProof
	}
	return ""
}

// IssueVirtualAccount issues a virtual account from the server: POST
// /v1/virtual-accounts. The answer is WAITING_FOR_DEPOSIT, i.e.
// VIRTUAL_ACCOUNT_ISSUED, with Toss's per-payment secret as
// NotificationSecret (DEPOSIT_CALLBACK repeats it). DueAt zero is Toss's
// default (7 days); the buyer's name (CustomerName, else Buyer.Name) is
// required. Toss has no field for the holder shown to the depositor:
// AccountHolder is not sent.
func (a *Adapter) IssueVirtualAccount(ctx context.Context, ch providers.Channel, req providers.IssueVirtualAccountRequest) (*providers.Payment, error) {
	const op = "IssueVirtualAccount"
	if err := usable(op, ch); err != nil {
		return nil, err
	}
	if err := checkOrder(op, req.OrderID, req.Amount); err != nil {
		return nil, err
	}
	if !req.Bank.Valid() {
		return nil, invalid(op, "INVALID_BANK", "a known bank is required")
	}
	name := cmp.Or(req.CustomerName, req.Buyer.Name)
	if name == "" {
		return nil, invalid(op, "CUSTOMER_NAME_REQUIRED", "Toss needs the buyer's name (customerName)")
	}
	body := virtualAccountBody{Amount: req.Amount.Total, OrderID: req.OrderID, OrderName: cmp.Or(req.OrderName, req.OrderID),
		CustomerName: name, Bank: tossBankCode(req.Bank), TaxFreeAmount: req.Amount.TaxFree,
		CustomerEmail: req.Buyer.Email, CustomerMobilePhone: onlyDigits(req.Buyer.Phone)}
	if !req.DueAt.IsZero() {
		body.DueDate = tossTime(req.DueAt)
	}
	if cr := req.CashReceipt; cr != nil {
		t, ok := receiptType(cr.Type)
		if !ok || cr.Identity.IsZero() {
			return nil, invalid(op, "INVALID_CASH_RECEIPT", "a cash receipt needs a known type and the buyer's identity")
		}
		body.CashReceipt = &cashReceiptRequest{Type: t, RegistrationNumber: onlyDigits(cr.Identity.Reveal())}
	}
	var p paymentJSON
	key := idempotencyKey(req.IdempotencyKey, "virtual-account", req.OrderID)
	if err := a.call(ctx, ch, op, http.MethodPost, "/v1/virtual-accounts", key, body, &p); err != nil {
		return nil, err
	}
	return answer(op, &p)
}
