package nicepayfake

import (
	"strconv"
	"time"
)

type receipt struct {
	tid, orderID, clientID string
	receiptType            string
	amount, balance        int64
	requestedAt, issueAt   time.Time
	cancelledAt            time.Time
	approveNo              string
	status                 string
}

// issued applies the National Tax Service's delay: a receipt requested
// today is issued at the next midnight (KST). Callers hold mu.
func (f *Fake) settleReceipt(r *receipt) {
	if r.status == "issueRequested" && !f.clock().Before(r.issueAt) {
		r.status = "issued"
		r.approveNo = strconv.Itoa(100000000 + f.next()%900000000)
	}
}

func approvedAt(r *receipt) string {
	if r.approveNo == "" {
		return "0"
	}
	return iso(r.issueAt)
}

type receiptIssueJSON struct {
	ResultCode string `json:"resultCode"`
	ResultMsg  string `json:"resultMsg"`
	TID        string `json:"tid"`
	OrderID    string `json:"orderId"`
	ApprovedAt string `json:"approvedAt"`
	ApproveNo  string `json:"approveNo"`
	EdiDate    string `json:"ediDate"`
	Signature  string `json:"signature"`
}

type receiptJSON struct {
	ResultCode  string `json:"resultCode"`
	ResultMsg   string `json:"resultMsg"`
	TID         string `json:"tid"`
	OrderID     string `json:"orderId"`
	Status      string `json:"status,omitempty"`
	ReceiptType string `json:"receiptType,omitempty"`
	Amount      int64  `json:"amount,omitempty"`
	CancelAmt   int64  `json:"cancelAmt"`
	BalanceAmt  int64  `json:"balanceAmt"`
	ApprovedAt  string `json:"approvedAt,omitempty"`
	CancelledAt string `json:"cancelledAt"`
	ApproveNo   string `json:"approveNo"`
	EdiDate     string `json:"ediDate"`
	Signature   string `json:"signature"`
}

// breakdown reads supplyAmt+goodsVat+taxFreeAmt+serviceAmt, all required.
func breakdown(q *request) (sum int64, res *result) {
	for _, k := range []string{"supplyAmt", "goodsVat", "taxFreeAmt", "serviceAmt"} {
		n, present, valid := q.int(k)
		if !present {
			r := missing(k)
			return 0, &r
		}
		if !valid || n < 0 {
			r := refuse("A116", "요청 금액이 올바르지 않습니다.")
			return 0, &r
		}
		sum += n
	}
	return sum, nil
}

// receiptIssue is POST /v1/receipt/: a cash receipt request.
func (f *Fake) receiptIssue(q *request) result {
	for _, k := range []string{"orderId", "amount", "goodsName", "receiptType", "receiptNo"} {
		if !q.has(k) {
			return missing(k)
		}
	}
	amt, _, valid := q.int("amount")
	if !valid {
		return refuse("A116", "요청 금액이 올바르지 않습니다.")
	}
	sum, bad := breakdown(q)
	if bad != nil {
		return *bad
	}
	if amt <= 0 {
		return refuse("7041", "금액오류(0원 이하 발행불가)")
	}
	if sum != amt {
		return refuse("1615", "거래금액 합계오류(공급가액,부가세,봉사료,면세금액 합계)")
	}
	typ, no := q.str("receiptType"), q.str("receiptNo")
	switch {
	case typ != "individual" && typ != "company":
		return refuse("7013", "현금영수증 요청구분 값 오류(1:소득공제, 2:지출증빙)")
	case typ == "individual" && !allDigits(no, 10, 11), typ == "company" && !allDigits(no, 10):
		return refuse("7012", "현금영수증 Identity 번호 오류")
	}
	orderID := q.str("orderId")
	if !q.verify(orderID, strconv.FormatInt(amt, 10), q.str("ediDate")) {
		return badSign()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.rcptOrders[orderID] {
		return refuse("A127", "주문번호 중복 오류")
	}
	now := f.clock()
	y, m, d := now.Date()
	r := &receipt{
		tid: f.newTID("04", "01"), orderID: orderID, clientID: q.key.clientID, receiptType: typ,
		amount: amt, balance: amt, requestedAt: now,
		issueAt: time.Date(y, m, d+receiptIssueDelayDays, 0, 0, 0, 0, kst), status: "issueRequested",
	}
	f.receipts[r.tid] = r
	f.rcptOrders[orderID] = true
	edi := iso(now)
	return ok(receiptIssueJSON{
		ResultCode: "0000", ResultMsg: successMsg, TID: r.tid, OrderID: orderID,
		ApprovedAt: "0", ApproveNo: "", EdiDate: edi, Signature: sign(r.tid, orderID, edi, q.key.secret),
	})
}

func (f *Fake) receiptView(r *receipt, secret string, full bool) receiptJSON {
	edi := iso(f.clock())
	v := receiptJSON{
		ResultCode: "0000", ResultMsg: successMsg, TID: r.tid, OrderID: r.orderID,
		CancelAmt: r.amount - r.balance, BalanceAmt: r.balance, CancelledAt: iso(r.cancelledAt),
		ApproveNo: r.approveNo, EdiDate: edi, Signature: sign(r.tid, r.orderID, edi, secret),
	}
	if full {
		v.Status, v.ReceiptType, v.Amount, v.ApprovedAt = r.status, r.receiptType, r.amount, approvedAt(r)
	}
	return v
}

// receiptCancel is POST /v1/receipt/{tid}/cancel (the fake offers it,
// although NicePay's sandbox does not).
func (f *Fake) receiptCancel(q *request) result {
	tid := q.r.PathValue("tid")
	if !q.has("orderId") {
		return missing("orderId")
	}
	if !q.has("reason") {
		return missing("reason")
	}
	if !q.verify(tid, q.str("ediDate")) {
		return badSign()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	r := f.receipts[tid]
	if r == nil {
		return refuse("A118", "조회 결과데이터 없음")
	}
	f.settleReceipt(r)
	if r.balance == 0 {
		return refuse("2013", "취소 완료 거래")
	}
	oid := q.str("orderId")
	if f.cancelOIDs[oid] || (oid != r.orderID && f.orderIDUsed(oid)) {
		return refuse("A127", "주문번호 중복 오류")
	}
	amt := r.balance
	if n, present, valid := q.int("cancelAmt"); present {
		switch {
		case !valid:
			return refuse("A116", "요청 금액이 올바르지 않습니다.")
		case n <= 0:
			return refuse("2010", "취소 요청금액 0원 이하")
		case n > r.balance:
			return refuse("2032", "취소금액이 취소가능금액보다 큼")
		}
		if n < r.balance {
			sum, bad := breakdown(q)
			if bad != nil {
				return *bad
			}
			if sum != n {
				return refuse("1615", "거래금액 합계오류(공급가액,부가세,봉사료,면세금액 합계)")
			}
		}
		amt = n
	}
	r.balance -= amt
	r.cancelledAt = f.clock()
	f.cancelOIDs[oid] = true
	if r.balance == 0 {
		if r.status == "issueRequested" {
			r.status = "issueReqCancelled"
		} else {
			r.status = "cancelled"
		}
	}
	v := f.receiptView(r, q.key.secret, false)
	v.CancelAmt = amt
	return ok(v)
}

// receiptLookup is GET /v1/receipt/{tid}.
func (f *Fake) receiptLookup(q *request) result {
	tid := q.r.PathValue("tid")
	if !q.verify(tid, q.str("ediDate")) {
		return badSign()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	r := f.receipts[tid]
	if r == nil {
		return refuse("A118", "조회 결과데이터 없음")
	}
	f.settleReceipt(r)
	return ok(f.receiptView(r, q.key.secret, true))
}
