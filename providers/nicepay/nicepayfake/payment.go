package nicepayfake

import (
	"strconv"
	"time"
)

// Internal status of a transaction that passed the window but was never
// approved: not a payment yet, invisible to lookups.
const statusAuthenticated = "authenticated"

type cancelRecord struct {
	tid     string
	amount  int64
	at      time.Time
	reason  string
	orderID string
}

type payment struct {
	tid, orderID, clientID string
	method                 string // card, vbank, bank, cellphone
	status                 string
	amount, balance        int64
	taxFree, taxFreeBal    int64
	goodsName              string
	mallReserved           string
	mallUserID             string
	buyerName, buyerTel    string
	buyerEmail             string
	authToken              string
	createdAt              time.Time // window authentication or charge time
	approveReqAt           time.Time // approve request; the net-cancel hour runs from here
	paidAt, failedAt       time.Time
	cancelledAt            time.Time
	failCode, failMsg      string
	approveNo              string
	// card
	cardMasked  string
	cardOutcome cardOutcome
	cardQuota   int64
	bid         string
	// vbank
	vbankCode, vbankName string
	vbankNumber          string
	vbankHolder          string
	vbankExp             time.Time
	vbankHours           int64
	vbankExpArg          string
	deposited            bool
	depositor            string
	cancels              []cancelRecord
}

type cardJSON struct {
	CardCode       string `json:"cardCode"`
	CardName       string `json:"cardName"`
	CardNum        string `json:"cardNum"`
	CardQuota      int64  `json:"cardQuota"`
	IsInterestFree bool   `json:"isInterestFree"`
	CardType       string `json:"cardType"`
	CanPartCancel  bool   `json:"canPartCancel"`
	AcquCardCode   string `json:"acquCardCode"`
	AcquCardName   string `json:"acquCardName"`
}

type bankJSON struct {
	BankCode string `json:"bankCode"`
	BankName string `json:"bankName"`
}

type vbankJSON struct {
	VbankCode    string `json:"vbankCode"`
	VbankName    string `json:"vbankName"`
	VbankNumber  string `json:"vbankNumber"`
	VbankExpDate string `json:"vbankExpDate"`
	VbankHolder  string `json:"vbankHolder"`
}

type cancelJSON struct {
	TID         string `json:"tid"`
	Amount      int64  `json:"amount"`
	CancelledAt string `json:"cancelledAt"`
	Reason      string `json:"reason"`
	ReceiptURL  string `json:"receiptUrl"`
	CouponAmt   int64  `json:"couponAmt"`
}

// paymentJSON is the Payment object of the manual (§14), in its field order.
type paymentJSON struct {
	ResultCode        string       `json:"resultCode"`
	ResultMsg         string       `json:"resultMsg"`
	TID               string       `json:"tid"`
	CancelledTID      *string      `json:"cancelledTid"`
	OrderID           string       `json:"orderId"`
	EdiDate           string       `json:"ediDate"`
	Signature         string       `json:"signature"`
	Status            string       `json:"status"`
	PaidAt            string       `json:"paidAt"`
	FailedAt          string       `json:"failedAt"`
	CancelledAt       string       `json:"cancelledAt"`
	PayMethod         string       `json:"payMethod"`
	Amount            int64        `json:"amount"`
	BalanceAmt        int64        `json:"balanceAmt"`
	GoodsName         string       `json:"goodsName"`
	MallReserved      *string      `json:"mallReserved"`
	UseEscrow         bool         `json:"useEscrow"`
	Currency          string       `json:"currency"`
	Channel           *string      `json:"channel"`
	ApproveNo         string       `json:"approveNo"`
	BuyerName         *string      `json:"buyerName"`
	BuyerTel          *string      `json:"buyerTel"`
	BuyerEmail        *string      `json:"buyerEmail"`
	IssuedCashReceipt bool         `json:"issuedCashReceipt"`
	ReceiptURL        string       `json:"receiptUrl"`
	MallUserID        *string      `json:"mallUserId"`
	Coupon            *struct{}    `json:"coupon"`
	Card              *cardJSON    `json:"card"`
	CashReceipts      []struct{}   `json:"cashReceipts"`
	Bank              *bankJSON    `json:"bank"`
	Vbank             *vbankJSON   `json:"vbank"`
	Cancels           []cancelJSON `json:"cancels"`
}

func strPtr(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func (f *Fake) receiptURL(tid string) string { return f.URL + "/receipt-slip/" + tid }

// view renders p as the Payment object, signed with secret at the fake's
// current time. cancelledTID is set on cancel answers and cancel webhooks.
func (f *Fake) view(p *payment, secret, cancelledTID string) paymentJSON {
	edi := iso(f.clock())
	channel := "pc"
	v := paymentJSON{
		ResultCode:   "0000",
		ResultMsg:    successMsg,
		TID:          p.tid,
		CancelledTID: strPtr(cancelledTID),
		OrderID:      p.orderID,
		EdiDate:      edi,
		Signature:    PaymentSignature(p.tid, strconv.FormatInt(p.amount, 10), edi, secret),
		Status:       p.status,
		PaidAt:       iso(p.paidAt),
		FailedAt:     iso(p.failedAt),
		CancelledAt:  iso(p.cancelledAt),
		PayMethod:    p.method,
		Amount:       p.amount,
		BalanceAmt:   p.balance,
		GoodsName:    p.goodsName,
		MallReserved: strPtr(p.mallReserved),
		Currency:     "KRW",
		Channel:      &channel,
		ApproveNo:    p.approveNo,
		BuyerName:    strPtr(p.buyerName),
		BuyerTel:     strPtr(p.buyerTel),
		BuyerEmail:   strPtr(p.buyerEmail),
		ReceiptURL:   f.receiptURL(p.tid),
		MallUserID:   strPtr(p.mallUserID),
	}
	switch p.method {
	case "card":
		v.Card = &cardJSON{
			CardCode: sandboxCardCode, CardName: sandboxCardName, CardNum: p.cardMasked,
			CardQuota: p.cardQuota, CardType: "credit", CanPartCancel: true,
			AcquCardCode: sandboxCardCode, AcquCardName: sandboxCardName,
		}
	case "bank":
		v.Bank = &bankJSON{BankCode: "004", BankName: "국민"}
	case "vbank":
		v.Vbank = &vbankJSON{
			VbankCode: p.vbankCode, VbankName: p.vbankName, VbankNumber: p.vbankNumber,
			VbankExpDate: iso(p.vbankExp), VbankHolder: p.vbankHolder,
		}
	}
	for _, c := range p.cancels {
		v.Cancels = append(v.Cancels, cancelJSON{
			TID: c.tid, Amount: c.amount, CancelledAt: iso(c.at), Reason: c.reason,
			ReceiptURL: f.receiptURL(c.tid),
		})
	}
	return v
}

// outcome renders p as the answer of the call that approved (or refused)
// it: a refusal carries its code; a lookup of it later answers 0000 with
// status "failed".
func (f *Fake) outcome(p *payment, secret string) paymentJSON {
	v := f.view(p, secret, "")
	if p.status == "failed" {
		v.ResultCode, v.ResultMsg = p.failCode, p.failMsg
	}
	return v
}

// refresh applies the passage of time: an unpaid virtual account past its
// due time expires. Callers hold mu.
func (f *Fake) refresh(p *payment) {
	if p.method == "vbank" && p.status == "ready" && !p.vbankExp.IsZero() && f.clock().After(p.vbankExp) {
		p.status = "expired"
	}
}

// visible reports whether p is a payment as the PG shows it (approved or
// refused), not a window authentication awaiting approve.
func visible(p *payment) bool { return p.status != statusAuthenticated }

// latestByOrder returns the newest visible payment of orderID. Callers hold mu.
func (f *Fake) latestByOrder(orderID string) *payment {
	ps := f.orders[orderID]
	for i := len(ps) - 1; i >= 0; i-- {
		if visible(ps[i]) {
			f.refresh(ps[i])
			return ps[i]
		}
	}
	return nil
}

// orderTaken reports whether orderID belongs to a payment that is or was
// paid/issued (an orderId cannot be reused once paid). Callers hold mu.
func (f *Fake) orderTaken(orderID string) bool {
	for _, p := range f.orders[orderID] {
		if visible(p) && p.status != "failed" {
			return true
		}
	}
	return false
}

func (f *Fake) addPayment(p *payment) {
	f.payments[p.tid] = p
	f.orders[p.orderID] = append(f.orders[p.orderID], p)
}

// settleApproved marks p approved now: paid, or ready with a virtual
// account. Callers hold mu.
func (f *Fake) settleApproved(p *payment) {
	now := f.clock()
	p.approveReqAt = now
	p.approveNo = ""
	switch p.method {
	case "vbank":
		p.status = "ready"
		p.vbankCode, p.vbankName = "004", "국민"
		p.vbankNumber = strconv.Itoa(90000000000000 + f.next())
		p.vbankExp = vbankExpiry(now, p.vbankHours, p.vbankExpArg)
	default:
		p.status = "paid"
		p.paidAt = now
		p.approveNo = strconv.Itoa(10000000 + f.next()%90000000)
	}
	p.balance = p.amount
	p.taxFreeBal = p.taxFree
}

// fail marks p refused with code. Callers hold mu.
func (f *Fake) fail(p *payment, code, msg string) {
	now := f.clock()
	p.approveReqAt = now
	p.status = "failed"
	p.failedAt = now
	p.failCode, p.failMsg = code, msg
	p.balance = 0
}

func vbankExpiry(now time.Time, hours int64, expArg string) time.Time {
	if hours > 0 {
		return now.Add(time.Duration(hours) * time.Hour)
	}
	if expArg != "" {
		for _, layout := range []string{"20060102150405", "200601021504", "20060102", isoLayout, time.RFC3339} {
			if t, err := time.ParseInLocation(layout, expArg, kst); err == nil {
				if layout == "20060102" {
					t = t.Add(24*time.Hour - time.Second)
				}
				return t
			}
		}
	}
	return now.Add(defaultVbankValidity)
}
