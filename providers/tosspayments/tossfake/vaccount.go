package tossfake

import (
	"time"
)

// issuingBanks are the virtual-account banks of the docs, by numeric code
// (older docs used the Korean names, also accepted).
var issuingBanks = map[string]string{
	"39": "경남", "34": "광주", "06": "국민", "03": "기업", "11": "농협", "31": "대구",
	"32": "부산", "45": "새마을", "07": "수협", "88": "신한", "20": "우리", "71": "우체국",
	"37": "전북", "89": "케이뱅크", "81": "하나",
}

// bankCode resolves a bank given as a numeric code or a Korean name. Any
// two-digit code is accepted (refund accounts may be at any bank).
func bankCode(s string) (string, bool) {
	if len(s) == 2 && allDigits(s) {
		return s, true
	}
	for code, name := range issuingBanks {
		if s == name {
			return code, true
		}
	}
	return "", false
}

type cashReceiptReq struct {
	Type               string `json:"type"`
	RegistrationNumber string `json:"registrationNumber"`
}

type virtualAccountBody struct {
	Amount              *int64          `json:"amount"`
	OrderID             string          `json:"orderId"`
	OrderName           string          `json:"orderName"`
	CustomerName        string          `json:"customerName"`
	Bank                string          `json:"bank"`
	ValidHours          *int64          `json:"validHours"`
	DueDate             string          `json:"dueDate"`
	AccountKey          string          `json:"accountKey"`
	CustomerEmail       string          `json:"customerEmail"`
	CustomerMobilePhone string          `json:"customerMobilePhone"`
	TaxFreeAmount       int64           `json:"taxFreeAmount"`
	UseEscrow           bool            `json:"useEscrow"`
	CashReceipt         *cashReceiptReq `json:"cashReceipt"`
}

// parseDueDate accepts ISO 8601 with an offset, without one (KST), or a
// bare date (the end of that day, KST).
func parseDueDate(s string) (time.Time, bool) {
	for _, l := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02T15:04"} {
		if t, err := time.ParseInLocation(l, s, kst); err == nil {
			return t, true
		}
	}
	if t, err := time.ParseInLocation("2006-01-02", s, kst); err == nil {
		return t.Add(24*time.Hour - time.Second), true
	}
	return time.Time{}, false
}

func (f *Fake) issueVirtualAccount(q *request) result {
	var b virtualAccountBody
	if !q.decode(&b) {
		return q.fail("INVALID_REQUEST", "body")
	}
	if code, d := f.orderCheck(q, b.Amount, b.OrderID, b.OrderName, b.TaxFreeAmount, false); code != "" {
		return q.fail(code, d)
	}
	if b.CustomerName == "" {
		return q.fail("INVALID_REQUEST", "customerName")
	}
	bank, known := bankCode(b.Bank)
	if _, issuing := issuingBanks[bank]; !known || !issuing {
		return q.fail("INVALID_REQUEST", "bank")
	}
	now := f.clock()
	due := now.Add(defaultVAValidity)
	switch {
	case b.ValidHours != nil && b.DueDate != "":
		return q.fail("INVALID_REQUEST", "use validHours or dueDate, not both")
	case b.ValidHours != nil:
		if *b.ValidHours <= 0 || time.Duration(*b.ValidHours)*time.Hour > maxVAValidity {
			return q.fail("INVALID_REQUEST", "validHours")
		}
		due = now.Add(time.Duration(*b.ValidHours) * time.Hour)
	case b.DueDate != "":
		t, valid := parseDueDate(b.DueDate)
		if !valid || !t.After(now) || t.Sub(now) > maxVAValidity {
			return q.fail("INVALID_REQUEST", "dueDate")
		}
		due = t
	}
	p := &payment{key: newPaymentKey(), mID: q.key.mID, test: q.key.test, orderID: b.OrderID,
		orderName: b.OrderName, typ: "NORMAL", method: "VIRTUAL_ACCOUNT", status: StatusReady,
		total: *b.Amount, balance: *b.Amount, taxFree: b.TaxFreeAmount, requestedAt: now,
		useEscrow: b.UseEscrow, customerName: b.CustomerName, mobilePhone: ""}
	if cr := b.CashReceipt; cr != nil && cr.Type != "" && cr.Type != "미발행" {
		if cr.Type != "소득공제" && cr.Type != "지출증빙" {
			return q.fail("INVALID_REQUEST", "cashReceipt.type")
		}
		if cr.RegistrationNumber == "" {
			return q.fail("INVALID_REQUEST", "cashReceipt.registrationNumber")
		}
		p.receiptType, p.receiptReg = cr.Type, cr.RegistrationNumber
	}
	f.addPayment(p)
	hs := f.openVirtualAccount(p, bank, b.CustomerName, due)
	return result{status: 200, body: f.view(p), hooks: hs}
}

// openVirtualAccount issues the account of p: WAITING_FOR_DEPOSIT with its
// secret, DEPOSIT_CALLBACK and PAYMENT_STATUS_CHANGED. Callers hold mu.
func (f *Fake) openVirtualAccount(p *payment, bank, customerName string, due time.Time) []hook {
	number := digits(14)
	if p.test {
		number = "X" + digits(13)
	}
	p.method = "VIRTUAL_ACCOUNT"
	p.va = &vaState{accountNumber: number, bankCode: bank, customerName: customerName, dueDate: due,
		refundStatus: "NONE", settlementStatus: "INCOMPLETED"}
	p.secret = "ps_" + randomString(20, alnum)
	p.lastTx = newTransactionKey()
	p.status = StatusWaitingForDeposit
	hs := f.depositHook(p)
	return append(hs, f.statusHook(p)...)
}

// deposit completes p's virtual account. Callers hold mu.
func (f *Fake) deposit(p *payment, depositor string) []hook {
	now := f.clock()
	p.approvedAt = now
	p.lastTx = newTransactionKey()
	p.status = StatusDone
	p.va.depositorName = depositor
	p.va.settlementStatus = "COMPLETED"
	if p.receiptType != "" {
		p.receipt = f.newReceipt(p.mID, p.orderID, p.orderName, p.receiptType, p.receiptReg, p.total, p.taxFree)
	}
	hs := f.depositHook(p)
	return append(hs, f.statusHook(p)...)
}
