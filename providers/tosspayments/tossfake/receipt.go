package tossfake

import (
	"strconv"
	"time"
)

const businessNumber = "1234567890"

type cashReceipt struct {
	key, issueNumber, mID      string
	orderID, orderName, typ    string
	txType                     string // CONFIRM | CANCEL
	amount, taxFree, remaining int64
	identity                   string
	requestedAt                time.Time
	url                        string
	parent                     *cashReceipt // the CONFIRM record a CANCEL belongs to
}

type cashReceiptJSON struct {
	ReceiptKey             string    `json:"receiptKey"`
	IssueNumber            string    `json:"issueNumber"`
	IssueStatus            string    `json:"issueStatus"`
	Amount                 int64     `json:"amount"`
	TaxFreeAmount          int64     `json:"taxFreeAmount"`
	OrderID                string    `json:"orderId"`
	OrderName              string    `json:"orderName"`
	Type                   string    `json:"type"`
	TransactionType        string    `json:"transactionType"`
	BusinessNumber         string    `json:"businessNumber"`
	CustomerIdentityNumber string    `json:"customerIdentityNumber"`
	Failure                *apiError `json:"failure"`
	RequestedAt            string    `json:"requestedAt"`
	ReceiptURL             string    `json:"receiptUrl"`
}

// issueStatus: the tax service's answer is known a day after the request.
func (f *Fake) issueStatus(r *cashReceipt) string {
	if f.clock().Sub(r.requestedAt) >= receiptCompleteAge {
		return "COMPLETED"
	}
	return "IN_PROGRESS"
}

func (f *Fake) receiptView(r *cashReceipt) cashReceiptJSON {
	return cashReceiptJSON{ReceiptKey: r.key, IssueNumber: r.issueNumber, IssueStatus: f.issueStatus(r),
		Amount: r.amount, TaxFreeAmount: r.taxFree, OrderID: r.orderID, OrderName: r.orderName, Type: r.typ,
		TransactionType: r.txType, BusinessNumber: businessNumber, CustomerIdentityNumber: r.identity,
		RequestedAt: iso(r.requestedAt), ReceiptURL: r.url}
}

func (f *Fake) receiptHistory(r *cashReceipt) cashReceiptHistoryJSON {
	return cashReceiptHistoryJSON{ReceiptKey: r.key, OrderID: r.orderID, OrderName: r.orderName, Type: r.typ,
		IssueNumber: r.issueNumber, ReceiptURL: r.url, BusinessNumber: businessNumber, TransactionType: r.txType,
		Amount: r.amount, TaxFreeAmount: r.taxFree, IssueStatus: f.issueStatus(r),
		CustomerIdentityNumber: r.identity, RequestedAt: iso(r.requestedAt)}
}

// newReceipt records an issued cash receipt. Callers hold mu.
func (f *Fake) newReceipt(mID, orderID, orderName, typ, identity string, amount, taxFree int64) *cashReceipt {
	key := "rcpt_" + randomString(24, alnum)
	r := &cashReceipt{key: key, issueNumber: digits(9), mID: mID, orderID: orderID, orderName: orderName,
		typ: typ, txType: "CONFIRM", amount: amount, taxFree: taxFree, remaining: amount, identity: identity,
		requestedAt: f.clock(), url: f.URL + "/receipt/cash/" + key}
	f.receipts = append(f.receipts, r)
	return r
}

type cashReceiptBody struct {
	Amount                 *int64 `json:"amount"`
	OrderID                string `json:"orderId"`
	OrderName              string `json:"orderName"`
	CustomerIdentityNumber string `json:"customerIdentityNumber"`
	Type                   string `json:"type"`
	TaxFreeAmount          int64  `json:"taxFreeAmount"`
}

func (f *Fake) issueCashReceipt(q *request) result {
	var b cashReceiptBody
	if !q.decode(&b) {
		return q.fail("INVALID_REQUEST", "body")
	}
	switch {
	case b.Amount == nil || *b.Amount <= 0:
		return q.fail("INVALID_REQUEST", "amount")
	case !orderIDPattern.MatchString(b.OrderID):
		return q.fail("INVALID_REQUEST", "orderId")
	case b.OrderName == "":
		return q.fail("INVALID_REQUEST", "orderName")
	case b.CustomerIdentityNumber == "":
		return q.fail("INVALID_REQUEST", "customerIdentityNumber")
	case b.TaxFreeAmount < 0 || b.TaxFreeAmount > *b.Amount:
		return q.fail("INVALID_REQUEST", "taxFreeAmount")
	}
	if b.Type == "" {
		b.Type = "소득공제"
	}
	if b.Type != "소득공제" && b.Type != "지출증빙" {
		return q.fail("INVALID_REQUEST", "type")
	}
	for _, r := range f.receipts {
		if r.mID == q.key.mID && r.orderID == b.OrderID && r.txType == "CONFIRM" {
			return q.fail("DUPLICATED_ORDER_ID", "")
		}
	}
	r := f.newReceipt(q.key.mID, b.OrderID, b.OrderName, b.Type, b.CustomerIdentityNumber, *b.Amount, b.TaxFreeAmount)
	return ok(f.receiptView(r))
}

type cashReceiptCancelBody struct {
	Amount *int64 `json:"amount"`
}

func (f *Fake) cancelCashReceipt(q *request) result {
	var b cashReceiptCancelBody
	if !q.decode(&b) {
		return q.fail("INVALID_REQUEST", "body")
	}
	var orig *cashReceipt
	for _, r := range f.receipts {
		if r.key == q.params[0] && r.mID == q.key.mID && r.txType == "CONFIRM" {
			orig = r
		}
	}
	if orig == nil {
		return q.fail("NOT_FOUND", "receiptKey")
	}
	if orig.remaining == 0 {
		return q.fail("ALREADY_CANCELED_PAYMENT", "")
	}
	amount := orig.remaining
	if b.Amount != nil {
		amount = *b.Amount
	}
	if amount <= 0 {
		return q.fail("INVALID_REQUEST", "amount")
	}
	if amount > orig.remaining {
		return q.fail("NOT_CANCELABLE_AMOUNT", "")
	}
	orig.remaining -= amount
	taxFree := min(orig.taxFree, amount)
	c := &cashReceipt{key: orig.key, issueNumber: digits(9), mID: orig.mID, orderID: orig.orderID,
		orderName: orig.orderName, typ: orig.typ, txType: "CANCEL", amount: amount, taxFree: taxFree,
		identity: orig.identity, requestedAt: f.clock(), url: orig.url, parent: orig}
	f.receipts = append(f.receipts, c)
	return ok(f.receiptView(c))
}

type receiptListJSON struct {
	HasNext    bool              `json:"hasNext"`
	LastCursor *int              `json:"lastCursor"`
	Data       []cashReceiptJSON `json:"data"`
}

// listCashReceipts lists the receipts requested on requestDate (KST).
// cursor is the lastCursor of the previous page.
func (f *Fake) listCashReceipts(q *request) result {
	v := q.r.URL.Query()
	day, err := time.ParseInLocation("2006-01-02", v.Get("requestDate"), kst)
	if err != nil {
		return q.fail("INVALID_REQUEST", "requestDate")
	}
	limit := 100
	if s := v.Get("limit"); s != "" {
		if limit, err = strconv.Atoi(s); err != nil || limit < 1 || limit > 10000 {
			return q.fail("INVALID_REQUEST", "limit")
		}
	}
	after := -1
	if s := v.Get("cursor"); s != "" {
		if after, err = strconv.Atoi(s); err != nil {
			return q.fail("INVALID_REQUEST", "cursor")
		}
	}
	out := receiptListJSON{Data: []cashReceiptJSON{}}
	for i, r := range f.receipts {
		if i <= after || r.mID != q.key.mID {
			continue
		}
		d := r.requestedAt.In(kst)
		if d.Year() != day.Year() || d.YearDay() != day.YearDay() {
			continue
		}
		if len(out.Data) == limit {
			out.HasNext = true
			break
		}
		out.Data = append(out.Data, f.receiptView(r))
		c := i
		out.LastCursor = &c
	}
	return ok(out)
}
