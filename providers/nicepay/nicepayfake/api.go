package nicepayfake

import (
	"strconv"
	"time"
)

// approve is POST /v1/payments/{tid}: the merchant server approves a
// window authentication (Server-approval model).
func (f *Fake) approve(q *request) result {
	tid := q.r.PathValue("tid")
	amt, present, valid := q.int("amount")
	if !present {
		return missing("amount")
	}
	if !valid {
		return refuse("A116", "요청 금액이 올바르지 않습니다.")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	p := f.payments[tid]
	if p == nil {
		return refuse("A118", "조회 결과데이터 없음")
	}
	if !q.verify(tid, strconv.FormatInt(amt, 10), q.str("ediDate")) {
		return badSign()
	}
	if p.status != statusAuthenticated {
		return refuse("2201", "기승인존재")
	}
	if amt != p.amount {
		return refuse("A123", "거래금액 불일치(인증된 금액과 승인요청 금액 불일치)")
	}
	if f.orderTaken(p.orderID) {
		return refuse("A127", "주문번호 중복 오류")
	}
	switch {
	case q.decline != nil:
		f.fail(p, q.decline.code, q.decline.message)
	case p.method == "card" && p.cardOutcome.approveCode != "":
		f.fail(p, p.cardOutcome.approveCode, p.cardOutcome.approveMsg)
	default:
		f.settleApproved(p)
	}
	return ok(f.outcome(p, q.key.secret), f.approvalHooks(p)...)
}

// approvalHooks are the webhooks of an approval: paid, or vbank issued.
// Callers hold mu.
func (f *Fake) approvalHooks(p *payment) []hook {
	switch p.status {
	case "paid":
		return f.hookFor(p, EventPaid, "")
	case "ready":
		return f.hookFor(p, EventVbankIssued, "")
	}
	return nil
}

// lookupTID is GET /v1/payments/{tid}.
func (f *Fake) lookupTID(q *request) result {
	tid := q.r.PathValue("tid")
	f.mu.Lock()
	defer f.mu.Unlock()
	if !q.verify(tid, q.str("ediDate")) {
		return badSign()
	}
	p := f.payments[tid]
	if p == nil || !visible(p) {
		return refuse("A118", "조회 결과데이터 없음")
	}
	f.refresh(p)
	return ok(f.view(p, q.key.secret, ""))
}

// lookupOrder is GET /v1/payments/find/{orderId}; orderDate (YYYYMMDD, the
// KST date of the transaction) is required, from the query or a body.
func (f *Fake) lookupOrder(q *request) result {
	orderID := q.r.PathValue("orderId")
	if !q.has("orderDate") {
		return missing("orderDate")
	}
	day, err := time.ParseInLocation(orderDateLayout, q.str("orderDate"), kst)
	if err != nil || len(q.str("orderDate")) != 8 {
		return refuse("A106", "날짜 형식이 올바르지 않습니다")
	}
	date := day.Format(orderDateLayout)
	f.mu.Lock()
	defer f.mu.Unlock()
	var found *payment
	ps := f.orders[orderID]
	for i := len(ps) - 1; i >= 0 && found == nil; i-- {
		p := ps[i]
		if !visible(p) {
			continue
		}
		if p.createdAt.In(kst).Format(orderDateLayout) == date || p.approveReqAt.In(kst).Format(orderDateLayout) == date {
			found = p
		}
	}
	// The manual documents sha256(tid+ediDate+key) here although the caller
	// may not know the tid; sha256(orderId+ediDate+key) is accepted too.
	if q.has("signData") {
		okSign := q.verify(orderID, q.str("ediDate"))
		if found != nil && !okSign {
			okSign = q.verify(found.tid, q.str("ediDate"))
		}
		if !okSign {
			return badSign()
		}
	}
	if found == nil {
		return refuse("A118", "조회 결과데이터 없음")
	}
	f.refresh(found)
	return ok(f.view(found, q.key.secret, ""))
}

// orderIDUsed reports whether id already names a payment, a cancel, a
// billing key request or a cash receipt. Callers hold mu.
func (f *Fake) orderIDUsed(id string) bool {
	return len(f.orders[id]) > 0 || f.cancelOIDs[id] || f.bidOrders[id] || f.rcptOrders[id]
}

// cancel is POST /v1/payments/{tid}/cancel: full or partial cancel, or a
// refund of a deposited virtual account.
func (f *Fake) cancel(q *request) result {
	tid := q.r.PathValue("tid")
	if !q.has("reason") {
		return missing("reason")
	}
	if !q.has("orderId") {
		return missing("orderId")
	}
	cancelOID := q.str("orderId")
	f.mu.Lock()
	defer f.mu.Unlock()
	p := f.payments[tid]
	if p == nil || !visible(p) {
		return refuse("A118", "조회 결과데이터 없음")
	}
	if !q.verify(tid, q.str("ediDate")) {
		return badSign()
	}
	f.refresh(p)
	switch p.status {
	case "failed", "expired":
		return refuse("2014", "취소 불가능 거래")
	case "cancelled":
		return refuse("2013", "취소 완료 거래")
	}
	// Each cancel needs an orderId not used before; the payment's own
	// orderId serves for the first one.
	if f.cancelOIDs[cancelOID] || (cancelOID != p.orderID && f.orderIDUsed(cancelOID)) {
		return refuse("A127", "주문번호 중복 오류")
	}
	amt := p.balance
	if n, present, valid := q.int("cancelAmt"); present {
		if !valid {
			return refuse("A116", "요청 금액이 올바르지 않습니다.")
		}
		if n <= 0 {
			return refuse("2010", "취소 요청금액 0원 이하")
		}
		if n > p.balance {
			return refuse("2032", "취소금액이 취소가능금액보다 큼")
		}
		amt = n
	}
	now := f.clock()
	switch {
	case p.method == "vbank" && !p.deposited:
		if amt != p.balance {
			return refuse("2030", "해당결제수단 부분취소 불가")
		}
	case p.method == "vbank":
		for _, k := range []string{"refundAccount", "refundBankCode", "refundHolder"} {
			if !q.has(k) {
				return missing(k)
			}
		}
		if now.Sub(p.paidAt) > vbankRefundWindow {
			return refuse("2016", "취소 기한 초과")
		}
	default:
		if now.Sub(p.paidAt) > cardCancelWindow {
			return refuse("2016", "취소 기한 초과")
		}
	}
	var taxFree int64
	if n, present, valid := q.int("taxFreeAmt"); present {
		if !valid || n < 0 {
			return refuse("A116", "요청 금액이 올바르지 않습니다.")
		}
		if n > p.taxFreeBal || n > amt {
			return refuse("U319", "요청하신 면세금액이 취소가능한 면세금액을 초과 오류")
		}
		taxFree = n
	}
	ctid := f.applyCancel(p, amt, taxFree, q.str("reason"), cancelOID)
	return ok(f.view(p, q.key.secret, ctid), f.hookFor(p, EventCancelled, ctid)...)
}

// applyCancel records a cancel and returns its new tid. Callers hold mu.
func (f *Fake) applyCancel(p *payment, amt, taxFree int64, reason, orderID string) string {
	now := f.clock()
	ctid := f.newTID(methodCode(p.method), "02")
	p.cancels = append(p.cancels, cancelRecord{tid: ctid, amount: amt, at: now, reason: reason, orderID: orderID})
	p.balance -= amt
	p.taxFreeBal -= taxFree
	p.cancelledAt = now
	if p.balance == 0 {
		p.status = "cancelled"
	} else {
		p.status = "partialCancelled"
	}
	if orderID != "" {
		f.cancelOIDs[orderID] = true
	}
	return ctid
}

// netCancel is POST /v1/payments/netcancel: voids an approval whose answer
// was lost, by orderId, within one hour of the approve request.
func (f *Fake) netCancel(q *request) result {
	orderID := q.str("orderId")
	if orderID == "" {
		orderID = q.str("orderID") // the manual's curl sample spells it so
	}
	if orderID == "" {
		return missing("orderId")
	}
	if !q.verify(orderID, q.str("ediDate")) {
		return badSign()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var p *payment
	for _, c := range f.orders[orderID] {
		if visible(c) && c.status != "failed" {
			p = c
		}
	}
	if p == nil {
		return refuse("A118", "조회 결과데이터 없음")
	}
	f.refresh(p)
	switch p.status {
	case "cancelled":
		return refuse("2013", "취소 완료 거래")
	case "expired":
		return refuse("2014", "취소 불가능 거래")
	}
	if f.clock().Sub(p.approveReqAt) > netCancelWindow {
		return refuse("2020", "망상 취소 허용시간 초과")
	}
	ctid := f.applyCancel(p, p.balance, p.taxFreeBal, "망취소", "")
	return ok(f.view(p, q.key.secret, ctid), f.hookFor(p, EventCancelled, ctid)...)
}

type checkAmountJSON struct {
	ResultCode string `json:"resultCode"`
	ResultMsg  string `json:"resultMsg"`
	EdiDate    string `json:"ediDate"`
	Signature  string `json:"signature"`
	IsValid    bool   `json:"isValid"`
	TID        string `json:"tid"`
}

// checkAmount is POST /v1/check-amount/{tid} (Client-approval model).
func (f *Fake) checkAmount(q *request) result {
	tid := q.r.PathValue("tid")
	amt, present, valid := q.int("amount")
	if !present {
		return missing("amount")
	}
	if !valid {
		return refuse("A116", "요청 금액이 올바르지 않습니다.")
	}
	if !q.verify(tid, strconv.FormatInt(amt, 10), q.str("ediDate")) {
		return badSign()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	p := f.payments[tid]
	if p == nil || !visible(p) {
		return refuse("A118", "조회 결과데이터 없음")
	}
	edi := iso(f.clock())
	return ok(checkAmountJSON{
		ResultCode: "0000", ResultMsg: successMsg, EdiDate: edi,
		Signature: sign(tid, edi, q.key.secret), IsValid: amt == p.amount, TID: tid,
	})
}
