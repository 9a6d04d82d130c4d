package tossfake

import (
	"regexp"
	"strconv"
	"time"
)

// orderIDPattern is the documented orderId rule (with '=').
var orderIDPattern = regexp.MustCompile(`^[A-Za-z0-9_=-]{6,64}$`)

type confirmBody struct {
	PaymentKey string `json:"paymentKey"`
	OrderID    string `json:"orderId"`
	Amount     *int64 `json:"amount"`
}

// confirm approves a payment the window authenticated (IN_PROGRESS).
func (f *Fake) confirm(q *request) result {
	var b confirmBody
	if !q.decode(&b) {
		return q.fail("INVALID_REQUEST", "body")
	}
	switch {
	case b.PaymentKey == "":
		return q.fail("INVALID_REQUEST", "paymentKey")
	case b.OrderID == "":
		return q.fail("INVALID_REQUEST", "orderId")
	case b.Amount == nil:
		return q.fail("INVALID_REQUEST", "amount")
	}
	p := f.payments[b.PaymentKey]
	if p == nil || p.mID != q.key.mID {
		return q.fail("NOT_FOUND_PAYMENT_SESSION", "")
	}
	if cur := f.latestByOrder(p.mID, p.orderID); cur != nil && cur != p && processed(cur.status) {
		return q.fail("ALREADY_PROCESSED_PAYMENT", "")
	}
	switch p.status {
	case StatusInProgress:
	case StatusExpired, StatusReady:
		return q.fail("NOT_FOUND_PAYMENT_SESSION", "")
	default:
		return q.fail("ALREADY_PROCESSED_PAYMENT", "")
	}
	if b.OrderID != p.orderID {
		return q.fail("INVALID_REQUEST", "orderId does not match the payment")
	}
	if *b.Amount != p.total {
		return q.fail("INVALID_REQUEST", "amount does not match the authenticated amount")
	}
	f.orders[orderKey(p.mID, p.orderID)] = p
	if q.decline != nil {
		res := q.declined(*q.decline)
		e := res.body.(apiError)
		p.failure = &e
		res.hooks = f.setStatus(p, StatusAborted)
		return res
	}
	if p.card != nil && p.card.number == ConfirmDeclineCard {
		res := q.fail("REJECT_CARD_COMPANY", "")
		e := apiError{Code: "REJECT_CARD_COMPANY", Message: messageOf("REJECT_CARD_COMPANY", false)}
		p.failure = &e
		res.hooks = f.setStatus(p, StatusAborted)
		return res
	}
	var hs []hook
	if p.method == "VIRTUAL_ACCOUNT" {
		validity := defaultVAValidity
		if p.validHours > 0 {
			validity = time.Duration(p.validHours) * time.Hour
		}
		hs = f.openVirtualAccount(p, "20", p.customerName, f.clock().Add(validity))
	} else {
		hs = f.approve(p)
	}
	return result{status: 200, body: f.view(p), hooks: hs}
}

// processed reports a status from which no confirm is possible any more.
func processed(s string) bool {
	switch s {
	case StatusDone, StatusWaitingForDeposit, StatusCanceled, StatusPartialCanceled:
		return true
	}
	return false
}

func (f *Fake) lookupByKey(q *request) result {
	p := f.payments[q.params[0]]
	if p == nil || p.mID != q.key.mID {
		return q.fail("NOT_FOUND_PAYMENT", "")
	}
	return ok(f.view(p))
}

func (f *Fake) lookupByOrder(q *request) result {
	p := f.latestByOrder(q.key.mID, q.params[0])
	if p == nil {
		return q.fail("NOT_FOUND_PAYMENT", "")
	}
	return ok(f.view(p))
}

type refundAccountBody struct {
	Bank          string `json:"bank"`
	AccountNumber string `json:"accountNumber"`
	HolderName    string `json:"holderName"`
}

type cancelBody struct {
	CancelReason         string             `json:"cancelReason"`
	CancelAmount         *int64             `json:"cancelAmount"`
	RefundReceiveAccount *refundAccountBody `json:"refundReceiveAccount"`
	TaxFreeAmount        int64              `json:"taxFreeAmount"`
	RefundableAmount     *int64             `json:"refundableAmount"`
	Currency             string             `json:"currency"`
}

func (f *Fake) cancel(q *request) result {
	var b cancelBody
	if !q.decode(&b) {
		return q.fail("INVALID_REQUEST", "body")
	}
	if b.CancelReason == "" {
		return q.fail("INVALID_REQUEST", "cancelReason")
	}
	p := f.payments[q.params[0]]
	if p == nil || p.mID != q.key.mID {
		return q.fail("NOT_FOUND_PAYMENT", "")
	}
	var refund *refundAccountJSON
	if b.RefundReceiveAccount != nil {
		r := b.RefundReceiveAccount
		code, known := bankCode(r.Bank)
		if !known || !allDigits(r.AccountNumber) || r.HolderName == "" {
			return q.fail("INVALID_REQUEST", "refundReceiveAccount")
		}
		refund = &refundAccountJSON{BankCode: code, AccountNumber: r.AccountNumber, HolderName: r.HolderName}
	}
	if code, detail := f.cancelCheck(p, b.CancelAmount, b.TaxFreeAmount, b.RefundableAmount, refund != nil, true); code != "" {
		return q.fail(code, detail)
	}
	amount := p.balance
	if b.CancelAmount != nil {
		amount = *b.CancelAmount
	}
	hs := f.applyCancel(p, amount, b.TaxFreeAmount, b.CancelReason, refund)
	return result{status: 200, body: f.view(p), hooks: hs}
}

// cancelCheck says why a cancel of p cannot be done ("" = it can).
// needRefund: a deposited virtual account must name a refund account.
func (f *Fake) cancelCheck(p *payment, amt *int64, taxFree int64, refundable *int64, hasRefund, needRefund bool) (string, string) {
	switch p.status {
	case StatusCanceled:
		return "ALREADY_CANCELED_PAYMENT", ""
	case StatusDone, StatusPartialCanceled:
	case StatusWaitingForDeposit:
		// Cancelling an unpaid virtual account closes it, whole.
		if amt != nil && *amt != p.balance {
			return "NOT_CANCELABLE_AMOUNT", ""
		}
		return "", ""
	default:
		return "NOT_CANCELABLE_PAYMENT", ""
	}
	amount := p.balance
	if amt != nil {
		amount = *amt
	}
	switch {
	case amount <= 0:
		return "INVALID_REQUEST", "cancelAmount"
	case amount > p.balance:
		return "NOT_CANCELABLE_AMOUNT", ""
	case refundable != nil && *refundable != p.balance:
		return "NOT_CANCELABLE_AMOUNT", "refundableAmount"
	case taxFree < 0 || taxFree > amount:
		return "INVALID_REQUEST", "taxFreeAmount"
	case taxFree > p.taxFree:
		return "NOT_CANCELABLE_AMOUNT", "taxFreeAmount"
	case needRefund && p.va != nil && !hasRefund:
		return "INVALID_REQUEST", "refundReceiveAccount is required for a virtual account"
	}
	return "", ""
}

type keyInBody struct {
	Amount                 *int64 `json:"amount"`
	OrderID                string `json:"orderId"`
	OrderName              string `json:"orderName"`
	CardNumber             string `json:"cardNumber"`
	CardExpirationYear     string `json:"cardExpirationYear"`
	CardExpirationMonth    string `json:"cardExpirationMonth"`
	CustomerIdentityNumber string `json:"customerIdentityNumber"`
	CardPassword           string `json:"cardPassword"`
	CardInstallmentPlan    *int   `json:"cardInstallmentPlan"`
	UseFreeInstallmentPlan bool   `json:"useFreeInstallmentPlan"`
	TaxFreeAmount          int64  `json:"taxFreeAmount"`
	CustomerEmail          string `json:"customerEmail"`
	CustomerName           string `json:"customerName"`
}

// cardData checks raw card data as key-in and billing-from-card do.
func (f *Fake) cardData(number, year, month, identity, password string) (string, string, string) {
	n, valid := cleanCard(number)
	if !valid {
		return "", "INVALID_CARD_NUMBER", ""
	}
	if identity == "" || !allDigits(identity) || (len(identity) != 6 && len(identity) != 10) {
		return "", "INVALID_REQUEST", "customerIdentityNumber"
	}
	if password != "" && (len(password) != 2 || !allDigits(password)) {
		return "", "INVALID_REQUEST", "cardPassword"
	}
	y, err1 := strconv.Atoi(year)
	m, err2 := strconv.Atoi(month)
	if err1 != nil || err2 != nil || m < 1 || m > 12 || (len(year) != 2 && len(year) != 4) {
		return "", "INVALID_CARD_EXPIRATION", ""
	}
	if y < 100 {
		y += 2000
	}
	now := f.clock()
	if y < now.Year() || (y == now.Year() && m < int(now.Month())) {
		return "", "INVALID_CARD_EXPIRATION", ""
	}
	if code := cardError(n); code != "" {
		return "", code, ""
	}
	return n, "", ""
}

// installmentCheck: 0 = lump sum, else 2-12 months.
func installmentCheck(p *int) (int, string) {
	if p == nil || *p == 0 {
		return 0, ""
	}
	switch {
	case *p > 12:
		return 0, "EXCEED_MAX_CARD_INSTALLMENT_PLAN"
	case *p < 2:
		return 0, "INVALID_REQUEST"
	}
	return *p, ""
}

// orderCheck validates the common order fields of a server-created payment.
func (f *Fake) orderCheck(q *request, amount *int64, orderID, orderName string, taxFree int64, card bool) (string, string) {
	switch {
	case amount == nil || *amount <= 0:
		return "INVALID_REQUEST", "amount"
	case card && *amount < 100:
		return "BELOW_MINIMUM_AMOUNT", ""
	case !orderIDPattern.MatchString(orderID):
		return "INVALID_REQUEST", "orderId"
	case orderName == "":
		return "INVALID_REQUEST", "orderName"
	case taxFree < 0 || taxFree > *amount:
		return "INVALID_REQUEST", "taxFreeAmount"
	case f.orderUsed(q.key.mID, orderID):
		return "DUPLICATED_ORDER_ID", ""
	}
	return "", ""
}

func (f *Fake) keyIn(q *request) result {
	var b keyInBody
	if !q.decode(&b) {
		return q.fail("INVALID_REQUEST", "body")
	}
	if code, d := f.orderCheck(q, b.Amount, b.OrderID, b.OrderName, b.TaxFreeAmount, true); code != "" {
		return q.fail(code, d)
	}
	n, code, d := f.cardData(b.CardNumber, b.CardExpirationYear, b.CardExpirationMonth, b.CustomerIdentityNumber, b.CardPassword)
	if code != "" {
		return q.fail(code, d)
	}
	inst, code := installmentCheck(b.CardInstallmentPlan)
	if code != "" {
		return q.fail(code, "cardInstallmentPlan")
	}
	if n == ConfirmDeclineCard {
		return q.fail("REJECT_CARD_COMPANY", "")
	}
	now := f.clock()
	p := &payment{key: newPaymentKey(), mID: q.key.mID, orderID: b.OrderID, orderName: b.OrderName,
		typ: "NORMAL", method: "CARD", status: StatusInProgress, total: *b.Amount, balance: *b.Amount,
		taxFree: b.TaxFreeAmount, requestedAt: now, inProgressAt: now, customerName: b.CustomerName,
		card: &cardState{number: n, profile: profileOf(n), installment: inst, interestFree: b.UseFreeInstallmentPlan && inst > 0}}
	f.addPayment(p)
	hs := f.approve(p)
	return result{status: 200, body: f.view(p), hooks: hs}
}
