package nicepay

import (
	"bytes"
	"cmp"
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/paymux/paymux/providers"
)

// flexInt reads a JSON number or a numeric string ("1004", 1004, null).
type flexInt int64

func (n *flexInt) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(bytes.TrimSpace(b)), `"`)
	if s == "" || s == "null" {
		*n = 0
		return nil
	}
	if v, err := strconv.ParseInt(s, 10, 64); err == nil {
		*n = flexInt(v)
		return nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return err
	}
	*n = flexInt(f)
	return nil
}

// flexString reads a JSON string, number or boolean as its text (cardQuota
// is typed String but sent as a number).
type flexString string

func (s *flexString) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var v string
		if err := json.Unmarshal(b, &v); err != nil {
			return err
		}
		*s = flexString(v)
		return nil
	}
	if string(b) == "null" {
		*s = ""
		return nil
	}
	*s = flexString(b)
	return nil
}

// flexBool reads true/false, "true"/"false", "Y"/"N", 1/0.
type flexBool bool

func (v *flexBool) UnmarshalJSON(b []byte) error {
	switch strings.ToLower(strings.Trim(string(bytes.TrimSpace(b)), `"`)) {
	case "true", "y", "1":
		*v = true
	default:
		*v = false
	}
	return nil
}

// payment is NicePay's Payment object (approve, cancel, net-cancel, lookup,
// billing charge, webhook). encoding/json matches keys case-insensitively.
type payment struct {
	resultHead
	TID           string      `json:"tid"`
	CancelledTID  string      `json:"cancelledTid"`
	OrderID       string      `json:"orderId"`
	EdiDate       string      `json:"ediDate"`
	Signature     string      `json:"signature"`
	Status        string      `json:"status"`
	PaidAt        string      `json:"paidAt"`
	FailedAt      string      `json:"failedAt"`
	CancelledAt   string      `json:"cancelledAt"`
	PayMethod     string      `json:"payMethod"`
	Amount        flexInt     `json:"amount"`
	BalanceAmt    flexInt     `json:"balanceAmt"`
	GoodsName     string      `json:"goodsName"`
	Currency      string      `json:"currency"`
	ApproveNo     string      `json:"approveNo"`
	ReceiptURL    string      `json:"receiptUrl"`
	DepositorName string      `json:"depositorName"`
	Card          *card       `json:"card"`
	VBank         *vbank      `json:"vbank"`
	Cancels       []cancel    `json:"cancels"`
	CashReceipts  []cashEntry `json:"cashReceipts"`
}

type card struct {
	CardCode       string     `json:"cardCode"`
	CardName       string     `json:"cardName"`
	CardNum        string     `json:"cardNum"`
	CardQuota      flexString `json:"cardQuota"`
	IsInterestFree flexBool   `json:"isInterestFree"`
	CardType       string     `json:"cardType"`
	CanPartCancel  flexBool   `json:"canPartCancel"`
	AcquCardCode   string     `json:"acquCardCode"`
	AcquCardName   string     `json:"acquCardName"`
}

type vbank struct {
	VbankCode     string `json:"vbankCode"`
	VbankName     string `json:"vbankName"`
	VbankNumber   string `json:"vbankNumber"`
	VbankExpDate  string `json:"vbankExpDate"`
	VbankHolder   string `json:"vbankHolder"`
	DepositorName string `json:"depositorName"`
}

type cancel struct {
	TID         string  `json:"tid"`
	Amount      flexInt `json:"amount"`
	CancelledAt string  `json:"cancelledAt"`
	Reason      string  `json:"reason"`
	ReceiptURL  string  `json:"receiptUrl"`
}

type cashEntry struct {
	ReceiptTID string `json:"receiptTid"`
	Status     string `json:"status"`
}

// verified reports whether the payment's signature is
// PaymentSignature(tid, amount, ediDate, secret) for one of the secrets.
func (p *payment) verified(secrets []string) bool {
	return verifyAny(p.Signature, secrets, p.TID, itoa(int64(p.Amount)), p.EdiDate)
}

// methodOf maps payMethod.
func methodOf(m string) providers.PayMethod {
	switch strings.ToLower(m) {
	case "card", "directcard":
		return providers.MethodCard
	case "vbank":
		return providers.MethodVirtualAccount
	case "bank":
		return providers.MethodTransfer
	case "cellphone":
		return providers.MethodMobile
	case "":
		return ""
	default: // naverpay, kakaopay, samsungpay, payco, ssgpay, ...
		return providers.MethodEasyPay
	}
}

// statusOf maps NicePay's status.
func statusOf(status string, method providers.PayMethod) providers.Status {
	switch status {
	case "paid":
		return providers.StatusPaid
	case "ready":
		if method == providers.MethodVirtualAccount {
			return providers.StatusVirtualAccountIssued
		}
		return providers.StatusReady
	case "partialCancelled":
		return providers.StatusPartialCancelled
	case "cancelled":
		return providers.StatusCancelled
	case "failed":
		return providers.StatusFailed
	case "expired":
		return providers.StatusExpired
	}
	return ""
}

// toPayment converts a NicePay Payment object.
func (p *payment) toPayment() *providers.Payment {
	method := methodOf(p.PayMethod)
	out := &providers.Payment{
		PGTransactionID: p.TID,
		OrderID:         p.OrderID,
		OrderName:       p.GoodsName,
		Method:          method,
		Status:          statusOf(p.Status, method),
		Currency:        strings.ToUpper(p.Currency),
		ApprovedAt:      parseTime(p.PaidAt),
		CancelledAt:     parseTime(p.CancelledAt),
		FailedAt:        parseTime(p.FailedAt),
		ReceiptURL:      p.ReceiptURL,
	}
	if out.Currency == "" {
		out.Currency = "KRW"
	}
	total := int64(p.Amount)
	out.Amounts.Total = total
	if !out.ApprovedAt.IsZero() || out.Status == providers.StatusPaid || out.Status == providers.StatusPartialCancelled {
		out.Amounts.Paid = total
	}
	if out.Amounts.Paid > 0 && (out.Status == providers.StatusPartialCancelled || out.Status == providers.StatusCancelled) {
		// Only a cancelled payment's balance says what was cancelled: a
		// paid one without balanceAmt must not read as cancelled.
		out.Amounts.Cancelled = max(0, out.Amounts.Paid-int64(p.BalanceAmt))
	}
	if c := p.Card; c != nil {
		months, _ := strconv.Atoi(strings.TrimSpace(string(c.CardQuota)))
		info := &providers.CardInfo{
			Issuer:            CardCompany(c.CardCode),
			Acquirer:          CardCompany(c.AcquCardCode),
			PGIssuerCode:      c.CardCode,
			PGAcquirerCode:    c.AcquCardCode,
			Number:            c.CardNum,
			ApprovalNumber:    p.ApproveNo,
			InstallmentMonths: months,
			InterestFree:      bool(c.IsInterestFree),
		}
		switch strings.ToLower(c.CardType) {
		case "credit":
			info.Type = providers.CardTypeCredit
		case "check":
			info.Type = providers.CardTypeCheck
		}
		out.Card = info
	}
	if v := p.VBank; v != nil {
		bank, _ := providers.ParseBank(v.VbankCode)
		va := &providers.VirtualAccount{
			Bank:          bank,
			AccountNumber: v.VbankNumber,
			Holder:        v.VbankHolder,
			DueAt:         parseTime(v.VbankExpDate),
			Expired:       p.Status == "expired",
			DepositorName: cmp.Or(v.DepositorName, p.DepositorName),
		}
		if out.Amounts.Paid > 0 {
			va.DepositedAt = out.ApprovedAt
		}
		out.VirtualAccount = va
	}
	for _, c := range p.Cancels {
		out.Cancellations = append(out.Cancellations, providers.Cancellation{
			ID:          c.TID,
			Amount:      int64(c.Amount),
			Reason:      c.Reason,
			CancelledAt: parseTime(c.CancelledAt),
		})
	}
	for _, r := range p.CashReceipts {
		if r.ReceiptTID != "" {
			out.CashReceiptID = r.ReceiptTID
			break
		}
	}
	if out.Status == providers.StatusFailed {
		out.Failure = &providers.Error{Kind: providers.KindDeclined, Decline: providers.DeclineOther, Provider: Name,
			Code: p.ResultCode, Message: p.ResultMsg}
	}
	return out
}

// cancellation finds the cancel a cancel answer reports: the cancels[]
// entry of cancelledTid, else the latest one.
func (p *payment) cancellation(out *providers.Payment) (providers.Cancellation, bool) {
	for _, c := range out.Cancellations {
		if p.CancelledTID != "" && c.ID == p.CancelledTID {
			return c, true
		}
	}
	if n := len(out.Cancellations); n > 0 && p.CancelledTID == "" {
		return out.Cancellations[n-1], true
	}
	return providers.Cancellation{ID: p.CancelledTID, CancelledAt: parseTime(p.CancelledAt)}, false
}

// orderDate is YYYYMMDD of t in KST.
func orderDate(t time.Time) string { return t.In(KST).Format("20060102") }
