package tosspayments

import (
	"cmp"
	"context"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/paymux/paymux/providers"
)

// CashReceiptLookupDays is how many days (KST, today first) a cash-receipt
// lookup searches: Toss lists receipts only by request date, and paymux
// does not pass the date. Toss knows the tax service's answer 1-2 days
// after the request.
const CashReceiptLookupDays = 7

// cashReceiptPageLimit is the page size of the list query (Toss's maximum).
const cashReceiptPageLimit = 10000

// Toss's CashReceipt object: one record per issue (transactionType
// CONFIRM) and per cancel (CANCEL), under one receiptKey.
type cashReceiptJSON struct {
	ReceiptKey      string    `json:"receiptKey"`
	IssueNumber     string    `json:"issueNumber"`
	IssueStatus     string    `json:"issueStatus"`
	Amount          int64     `json:"amount"`
	TaxFreeAmount   int64     `json:"taxFreeAmount"`
	OrderID         string    `json:"orderId"`
	OrderName       string    `json:"orderName"`
	Type            string    `json:"type"`
	TransactionType string    `json:"transactionType"`
	Failure         *apiError `json:"failure"`
	RequestedAt     string    `json:"requestedAt"`
	ReceiptURL      string    `json:"receiptUrl"`
}

const (
	txConfirm = "CONFIRM"
	txCancel  = "CANCEL"
)

func receiptStatusOf(issueStatus string) providers.CashReceiptStatus {
	switch issueStatus {
	case "COMPLETED":
		return providers.CashReceiptIssued
	case "FAILED":
		return providers.CashReceiptFailed
	}
	return providers.CashReceiptRequested // IN_PROGRESS
}

// toCashReceipt maps an issue record, and the cancel records of the same
// receiptKey when known.
func toCashReceipt(op string, r *cashReceiptJSON, cancels []cashReceiptJSON) *providers.CashReceipt {
	out := &providers.CashReceipt{
		ReceiptID:   r.ReceiptKey,
		OrderID:     r.OrderID,
		Type:        receiptTypeOf(r.Type),
		Status:      receiptStatusOf(r.IssueStatus),
		Amounts:     providers.Amounts{Total: r.Amount, TaxFree: r.TaxFreeAmount, Paid: r.Amount, VAT: vatOf(r.Amount - r.TaxFreeAmount)},
		RequestedAt: parseTime(r.RequestedAt),
		ReceiptURL:  r.ReceiptURL,
	}
	if out.Status == providers.CashReceiptIssued {
		out.ApprovalNumber = r.IssueNumber
	}
	if f := failure(r.Failure); f != nil {
		f.Op = op
		out.Failure = f
	}
	for _, c := range cancels {
		out.Amounts.Cancelled += c.Amount
		out.Amounts.CancelledTaxFree += c.TaxFreeAmount
		if t := parseTime(c.RequestedAt); t.After(out.CancelledAt) {
			out.CancelledAt = t
		}
	}
	if out.Amounts.Cancelled > 0 {
		out.Amounts.CancelledVAT = vatOf(out.Amounts.Cancelled - out.Amounts.CancelledTaxFree)
		out.Status = providers.CashReceiptPartialCancelled
		if out.Amounts.Cancelled >= out.Amounts.Total {
			out.Status = providers.CashReceiptCancelled
		}
	}
	return out
}

type cashReceiptBody struct {
	Amount                 int64  `json:"amount"`
	OrderID                string `json:"orderId"`
	OrderName              string `json:"orderName"`
	CustomerIdentityNumber string `json:"customerIdentityNumber"`
	Type                   string `json:"type"`
	TaxFreeAmount          int64  `json:"taxFreeAmount,omitempty"`
}

// IssueCashReceipt requests a stand-alone cash receipt: POST
// /v1/cash-receipts. Toss does not link it to a payment
// (req.PGTransactionID is not sent). The answer is usually REQUESTED
// (IN_PROGRESS).
func (a *Adapter) IssueCashReceipt(ctx context.Context, ch providers.Channel, req providers.IssueCashReceiptRequest) (*providers.CashReceipt, error) {
	const op = "IssueCashReceipt"
	if err := usable(op, ch); err != nil {
		return nil, err
	}
	if err := checkOrder(op, req.OrderID, req.Amount); err != nil {
		return nil, err
	}
	t, ok := receiptType(req.Subject.Type)
	if !ok || req.Subject.Identity.IsZero() {
		return nil, invalid(op, "INVALID_CASH_RECEIPT", "a cash receipt needs a known type and the buyer's identity")
	}
	body := cashReceiptBody{Amount: req.Amount.Total, OrderID: req.OrderID, OrderName: cmp.Or(req.OrderName, req.OrderID),
		CustomerIdentityNumber: onlyDigits(req.Subject.Identity.Reveal()), Type: t, TaxFreeAmount: req.Amount.TaxFree}
	var r cashReceiptJSON
	key := idempotencyKey(req.IdempotencyKey, "cash-receipt", req.OrderID)
	if err := a.call(ctx, ch, op, http.MethodPost, "/v1/cash-receipts", key, body, &r); err != nil {
		return nil, err
	}
	if r.ReceiptKey == "" {
		return nil, &providers.Error{Kind: providers.KindUnknown, Provider: Name, Op: op, Code: CodeUnexpectedAnswer,
			Message: "the answer has no receiptKey"}
	}
	return toCashReceipt(op, &r, nil), nil
}

// CancelCashReceipt cancels all (Amount 0: amount omitted) or part of a cash
// receipt: POST /v1/cash-receipts/{receiptKey}/cancel. Toss answers the
// cancel record alone, so the result shows this cancel only: CANCELLED for
// a cancel of everything, PARTIAL_CANCELLED otherwise (LookupCashReceipt
// adds the cancels up). Toss takes no tax-free or VAT part here.
func (a *Adapter) CancelCashReceipt(ctx context.Context, ch providers.Channel, req providers.CancelCashReceiptRequest) (*providers.CashReceipt, error) {
	const op = "CancelCashReceipt"
	if err := usable(op, ch); err != nil {
		return nil, err
	}
	if req.ReceiptID == "" {
		return nil, invalid(op, "INVALID_REQUEST", "the receiptKey is required")
	}
	if req.Amount < 0 {
		return nil, invalid(op, "INVALID_CANCEL_AMOUNT", "the cancel amount must not be negative")
	}
	body := map[string]int64{}
	if req.Amount > 0 {
		body["amount"] = req.Amount
	}
	var r cashReceiptJSON
	key := idempotencyKey(req.IdempotencyKey)
	if err := a.call(ctx, ch, op, http.MethodPost, "/v1/cash-receipts/"+pathEscape(req.ReceiptID)+"/cancel", key, body, &r); err != nil {
		return nil, err
	}
	out := &providers.CashReceipt{
		ReceiptID:   cmp.Or(r.ReceiptKey, req.ReceiptID),
		OrderID:     cmp.Or(r.OrderID, req.OrderID),
		Type:        receiptTypeOf(r.Type),
		Status:      providers.CashReceiptPartialCancelled,
		Amounts:     providers.Amounts{Cancelled: r.Amount, CancelledTaxFree: r.TaxFreeAmount, CancelledVAT: vatOf(r.Amount - r.TaxFreeAmount)},
		CancelledAt: parseTime(r.RequestedAt),
		ReceiptURL:  r.ReceiptURL,
	}
	if req.Amount == 0 {
		out.Status = providers.CashReceiptCancelled
	}
	return out, nil
}

type cashReceiptList struct {
	HasNext    bool              `json:"hasNext"`
	LastCursor *int64            `json:"lastCursor"`
	Data       []cashReceiptJSON `json:"data"`
}

// LookupCashReceipt finds a cash receipt by receiptKey (or, without one, by
// order id) in Toss's list by request date (GET
// /v1/cash-receipts?requestDate=), searching CashReceiptLookupDays days
// back from today (KST). Cancels requested on the days searched are added
// up. Not found in those days is KindNotFound.
func (a *Adapter) LookupCashReceipt(ctx context.Context, ch providers.Channel, req providers.LookupCashReceiptRequest) (*providers.CashReceipt, error) {
	const op = "LookupCashReceipt"
	if err := usable(op, ch); err != nil {
		return nil, err
	}
	if req.ReceiptID == "" && req.OrderID == "" {
		return nil, invalid(op, "INVALID_REQUEST", "a receiptKey or an order id is required")
	}
	matches := func(r *cashReceiptJSON) bool {
		if req.ReceiptID != "" {
			return r.ReceiptKey == req.ReceiptID
		}
		return r.OrderID == req.OrderID
	}
	// Days are searched from today back, so the cancels (requested after
	// the issue) are seen before or with the issue record.
	var cancels []cashReceiptJSON
	day := a.now().In(kst)
	for range CashReceiptLookupDays {
		records, err := a.listCashReceipts(ctx, ch, op, day)
		if err != nil {
			return nil, err
		}
		var confirm *cashReceiptJSON
		for i := range records {
			r := &records[i]
			switch {
			case r.TransactionType == txCancel:
				cancels = append(cancels, *r)
			case matches(r):
				confirm = r
			}
		}
		if confirm != nil {
			var mine []cashReceiptJSON
			for _, c := range cancels {
				if c.ReceiptKey == confirm.ReceiptKey {
					mine = append(mine, c)
				}
			}
			return toCashReceipt(op, confirm, mine), nil
		}
		day = day.AddDate(0, 0, -1)
	}
	return nil, &providers.Error{Kind: providers.KindNotFound, Provider: Name, Op: op, Code: "NOT_FOUND",
		Message: "no such cash receipt requested in the last " + strconv.Itoa(CashReceiptLookupDays) + " days"}
}

// listCashReceipts reads every page of the receipts requested on day.
func (a *Adapter) listCashReceipts(ctx context.Context, ch providers.Channel, op string, day time.Time) ([]cashReceiptJSON, error) {
	var out []cashReceiptJSON
	q := url.Values{"requestDate": {day.Format("2006-01-02")}, "limit": {strconv.Itoa(cashReceiptPageLimit)}}
	for page := 0; page < 100; page++ {
		var l cashReceiptList
		if err := a.call(ctx, ch, op, http.MethodGet, "/v1/cash-receipts?"+q.Encode(), "", nil, &l); err != nil {
			return nil, err
		}
		out = append(out, l.Data...)
		if !l.HasNext || l.LastCursor == nil {
			break
		}
		q.Set("cursor", strconv.FormatInt(*l.LastCursor, 10))
	}
	return out, nil
}
