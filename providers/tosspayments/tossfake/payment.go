package tossfake

import (
	"sort"
	"time"
)

// Payment statuses (one L in CANCELED, as Toss spells it).
const (
	StatusReady             = "READY"
	StatusInProgress        = "IN_PROGRESS"
	StatusWaitingForDeposit = "WAITING_FOR_DEPOSIT"
	StatusDone              = "DONE"
	StatusCanceled          = "CANCELED"
	StatusPartialCanceled   = "PARTIAL_CANCELED"
	StatusAborted           = "ABORTED"
	StatusExpired           = "EXPIRED"
)

// methodLabels maps the SDK's method names to the Korean labels of
// Payment.method.
var methodLabels = map[string]string{
	"CARD":            "카드",
	"VIRTUAL_ACCOUNT": "가상계좌",
	"TRANSFER":        "계좌이체",
	"MOBILE_PHONE":    "휴대폰",
}

type cardState struct {
	number        string // digits; only for the fake's decisions, shown masked
	profile       cardProfile
	installment   int
	approveNo     string
	acquireStatus string
	interestFree  bool
}

type vaState struct {
	accountNumber, bankCode, customerName string
	dueDate                               time.Time
	refundStatus                          string
	expired                               bool
	settlementStatus                      string
	refund                                *refundAccountJSON
	depositorName                         string
}

type cancelRec struct {
	txKey                   string
	reason                  string
	amount, taxFree         int64
	refundable              int64
	at                      time.Time
	receiptKey, cancelReqID string
}

type payment struct {
	key, mID, orderID, orderName string
	typ                          string // NORMAL | BILLING
	method                       string // SDK name: CARD, VIRTUAL_ACCOUNT, ...
	status                       string
	total, balance, taxFree      int64
	requestedAt, approvedAt      time.Time
	inProgressAt                 time.Time
	lastTx                       string
	card                         *cardState
	va                           *vaState
	secret                       string
	transferBank                 string
	mobilePhone                  string
	receipt                      *cashReceipt // issued for this payment (virtual account after deposit)
	receiptType, receiptReg      string       // requested at virtual account issue
	cancels                      []cancelRec
	failure                      *apiError
	useEscrow                    bool
	validHours                   int64 // window virtual account
	customerName                 string
	seq                          int
	test                         bool // made with a test key
}

// JSON shapes of the Payment object (field names per the reference §4).

type cardJSON struct {
	Amount                int64   `json:"amount"`
	IssuerCode            string  `json:"issuerCode"`
	AcquirerCode          string  `json:"acquirerCode"`
	Number                string  `json:"number"`
	InstallmentPlanMonths int     `json:"installmentPlanMonths"`
	ApproveNo             string  `json:"approveNo"`
	UseCardPoint          bool    `json:"useCardPoint"`
	CardType              string  `json:"cardType"`
	OwnerType             string  `json:"ownerType"`
	AcquireStatus         string  `json:"acquireStatus"`
	IsInterestFree        bool    `json:"isInterestFree"`
	InterestPayer         *string `json:"interestPayer"`
}

type refundAccountJSON struct {
	BankCode      string `json:"bankCode"`
	AccountNumber string `json:"accountNumber"`
	HolderName    string `json:"holderName"`
}

type virtualAccountJSON struct {
	AccountType          string             `json:"accountType"`
	AccountNumber        string             `json:"accountNumber"`
	BankCode             string             `json:"bankCode"`
	CustomerName         string             `json:"customerName"`
	DueDate              string             `json:"dueDate"`
	RefundStatus         string             `json:"refundStatus"`
	Expired              bool               `json:"expired"`
	SettlementStatus     string             `json:"settlementStatus"`
	RefundReceiveAccount *refundAccountJSON `json:"refundReceiveAccount"`
	DepositorName        *string            `json:"depositorName"`
}

type transferJSON struct {
	BankCode         string `json:"bankCode"`
	SettlementStatus string `json:"settlementStatus"`
}

type mobilePhoneJSON struct {
	CustomerMobilePhone string `json:"customerMobilePhone"`
	SettlementStatus    string `json:"settlementStatus"`
	ReceiptURL          string `json:"receiptUrl"`
}

type cashReceiptSummaryJSON struct {
	Type          string `json:"type"`
	ReceiptKey    string `json:"receiptKey"`
	IssueNumber   string `json:"issueNumber"`
	ReceiptURL    string `json:"receiptUrl"`
	Amount        int64  `json:"amount"`
	TaxFreeAmount int64  `json:"taxFreeAmount"`
}

type cashReceiptHistoryJSON struct {
	ReceiptKey             string    `json:"receiptKey"`
	OrderID                string    `json:"orderId"`
	OrderName              string    `json:"orderName"`
	Type                   string    `json:"type"`
	IssueNumber            string    `json:"issueNumber"`
	ReceiptURL             string    `json:"receiptUrl"`
	BusinessNumber         string    `json:"businessNumber"`
	TransactionType        string    `json:"transactionType"`
	Amount                 int64     `json:"amount"`
	TaxFreeAmount          int64     `json:"taxFreeAmount"`
	IssueStatus            string    `json:"issueStatus"`
	Failure                *apiError `json:"failure"`
	CustomerIdentityNumber string    `json:"customerIdentityNumber"`
	RequestedAt            string    `json:"requestedAt"`
}

type cancelJSON struct {
	TransactionKey        string  `json:"transactionKey"`
	CancelReason          string  `json:"cancelReason"`
	TaxExemptionAmount    int64   `json:"taxExemptionAmount"`
	CanceledAt            string  `json:"canceledAt"`
	EasyPayDiscountAmount int64   `json:"easyPayDiscountAmount"`
	ReceiptKey            *string `json:"receiptKey"`
	CancelAmount          int64   `json:"cancelAmount"`
	TaxFreeAmount         int64   `json:"taxFreeAmount"`
	RefundableAmount      int64   `json:"refundableAmount"`
	CancelStatus          string  `json:"cancelStatus"`
	CancelRequestID       *string `json:"cancelRequestId"`
}

type urlJSON struct {
	URL string `json:"url"`
}

type paymentJSON struct {
	MID                 string                   `json:"mId"`
	LastTransactionKey  *string                  `json:"lastTransactionKey"`
	PaymentKey          string                   `json:"paymentKey"`
	OrderID             string                   `json:"orderId"`
	OrderName           string                   `json:"orderName"`
	TaxExemptionAmount  int64                    `json:"taxExemptionAmount"`
	Status              string                   `json:"status"`
	RequestedAt         string                   `json:"requestedAt"`
	ApprovedAt          *string                  `json:"approvedAt"`
	UseEscrow           bool                     `json:"useEscrow"`
	CultureExpense      bool                     `json:"cultureExpense"`
	Card                *cardJSON                `json:"card"`
	VirtualAccount      *virtualAccountJSON      `json:"virtualAccount"`
	Transfer            *transferJSON            `json:"transfer"`
	MobilePhone         *mobilePhoneJSON         `json:"mobilePhone"`
	GiftCertificate     any                      `json:"giftCertificate"`
	CashReceipt         *cashReceiptSummaryJSON  `json:"cashReceipt"`
	CashReceipts        []cashReceiptHistoryJSON `json:"cashReceipts"`
	Discount            any                      `json:"discount"`
	Cancels             []cancelJSON             `json:"cancels"`
	Secret              *string                  `json:"secret"`
	Type                string                   `json:"type"`
	EasyPay             any                      `json:"easyPay"`
	ForeignEasyPay      any                      `json:"foreignEasyPay"`
	Country             string                   `json:"country"`
	Failure             *apiError                `json:"failure"`
	IsPartialCancelable bool                     `json:"isPartialCancelable"`
	Receipt             *urlJSON                 `json:"receipt"`
	Checkout            *urlJSON                 `json:"checkout"`
	Currency            string                   `json:"currency"`
	TotalAmount         int64                    `json:"totalAmount"`
	BalanceAmount       int64                    `json:"balanceAmount"`
	SuppliedAmount      int64                    `json:"suppliedAmount"`
	VAT                 int64                    `json:"vat"`
	TaxFreeAmount       int64                    `json:"taxFreeAmount"`
	Method              *string                  `json:"method"`
	Version             string                   `json:"version"`
	Metadata            any                      `json:"metadata"`
}

// vatOf is Toss's default VAT: round((amount - taxFree) / 11).
func vatOf(amount, taxFree int64) int64 {
	taxable := amount - taxFree
	if taxable <= 0 {
		return 0
	}
	return (2*taxable + 11) / 22
}

func strPtr(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// view is the Payment object of p now. Callers hold mu.
func (f *Fake) view(p *payment) paymentJSON {
	v := paymentJSON{
		MID:                 p.mID,
		LastTransactionKey:  strPtr(p.lastTx),
		PaymentKey:          p.key,
		OrderID:             p.orderID,
		OrderName:           p.orderName,
		Status:              p.status,
		RequestedAt:         iso(p.requestedAt),
		ApprovedAt:          isoPtr(p.approvedAt),
		UseEscrow:           p.useEscrow,
		Secret:              strPtr(p.secret),
		Type:                p.typ,
		Country:             "KR",
		Failure:             p.failure,
		IsPartialCancelable: true,
		Checkout:            &urlJSON{URL: f.URL + "/v1/payments/" + p.key + "/checkout"},
		Currency:            "KRW",
		TotalAmount:         p.total,
		BalanceAmount:       p.balance,
		TaxFreeAmount:       p.taxFree,
		Version:             apiVersion,
	}
	if l, ok := methodLabels[p.method]; ok {
		v.Method = &l
	}
	v.VAT = vatOf(p.balance, p.taxFree)
	v.SuppliedAmount = max(p.balance-p.taxFree-v.VAT, 0)
	if !p.approvedAt.IsZero() {
		v.Receipt = &urlJSON{URL: f.URL + "/receipt/" + p.key}
	}
	if c := p.card; c != nil {
		v.Card = &cardJSON{
			Amount:                p.total,
			IssuerCode:            c.profile.issuer,
			AcquirerCode:          c.profile.issuer,
			Number:                maskCard(c.number),
			InstallmentPlanMonths: c.installment,
			ApproveNo:             c.approveNo,
			CardType:              c.profile.cardType,
			OwnerType:             c.profile.ownerType,
			AcquireStatus:         c.acquireStatus,
			IsInterestFree:        c.interestFree,
		}
		if c.installment > 0 {
			payer := "BUYER"
			v.Card.InterestPayer = &payer
		}
	}
	if a := p.va; a != nil {
		v.VirtualAccount = &virtualAccountJSON{
			AccountType:          "일반",
			AccountNumber:        a.accountNumber,
			BankCode:             a.bankCode,
			CustomerName:         a.customerName,
			DueDate:              iso(a.dueDate),
			RefundStatus:         a.refundStatus,
			Expired:              a.expired,
			SettlementStatus:     a.settlementStatus,
			RefundReceiveAccount: a.refund,
			DepositorName:        strPtr(a.depositorName),
		}
	}
	if p.transferBank != "" {
		v.Transfer = &transferJSON{BankCode: p.transferBank, SettlementStatus: "INCOMPLETED"}
	}
	if p.mobilePhone != "" || p.method == "MOBILE_PHONE" {
		v.MobilePhone = &mobilePhoneJSON{CustomerMobilePhone: p.mobilePhone, SettlementStatus: "INCOMPLETED",
			ReceiptURL: f.URL + "/receipt/" + p.key}
	}
	if r := p.receipt; r != nil {
		v.CashReceipt = &cashReceiptSummaryJSON{Type: r.typ, ReceiptKey: r.key, IssueNumber: r.issueNumber,
			ReceiptURL: r.url, Amount: r.amount, TaxFreeAmount: r.taxFree}
		v.CashReceipts = []cashReceiptHistoryJSON{f.receiptHistory(r)}
	}
	for _, c := range p.cancels {
		v.Cancels = append(v.Cancels, cancelJSON{
			TransactionKey:   c.txKey,
			CancelReason:     c.reason,
			CanceledAt:       iso(c.at),
			ReceiptKey:       strPtr(c.receiptKey),
			CancelAmount:     c.amount,
			TaxFreeAmount:    c.taxFree,
			RefundableAmount: c.refundable,
			CancelStatus:     "DONE",
			CancelRequestID:  strPtr(c.cancelReqID),
		})
	}
	return v
}

// latestByOrder is the payment orderId of merchant mId now refers to.
func (f *Fake) latestByOrder(mID, orderID string) *payment { return f.orders[orderKey(mID, orderID)] }

// orderUsed reports whether orderId already belongs to a payment that was
// not refused or left to expire.
func (f *Fake) orderUsed(mID, orderID string) bool {
	p := f.latestByOrder(mID, orderID)
	return p != nil && p.status != StatusAborted && p.status != StatusExpired
}

func (f *Fake) addPayment(p *payment) {
	f.seq++
	p.seq = f.seq
	f.payments[p.key] = p
	f.orders[orderKey(p.mID, p.orderID)] = p
}

// setStatus moves p to status and returns the PAYMENT_STATUS_CHANGED
// webhook when the status changed. Callers hold mu.
func (f *Fake) setStatus(p *payment, status string) []hook {
	if p.status == status {
		return nil
	}
	p.status = status
	return f.statusHook(p)
}

// approve marks p approved now with a new transaction.
func (f *Fake) approve(p *payment) []hook {
	now := f.clock()
	p.approvedAt = now
	p.lastTx = newTransactionKey()
	if p.card != nil {
		p.card.approveNo = digits(8)
		p.card.acquireStatus = "READY"
	}
	return f.setStatus(p, StatusDone)
}

// applyCancel records a cancel of amount (taxFree of it tax-free) on p and
// returns the webhooks. Checks are done by the caller. Callers hold mu.
func (f *Fake) applyCancel(p *payment, amount, taxFree int64, reason string, refund *refundAccountJSON) []hook {
	now := f.clock()
	wasWaiting := p.status == StatusWaitingForDeposit
	p.balance -= amount
	p.taxFree -= taxFree
	tx := newTransactionKey()
	p.lastTx = tx
	p.cancels = append(p.cancels, cancelRec{txKey: tx, reason: reason, amount: amount, taxFree: taxFree,
		refundable: p.balance, at: now})
	status := StatusPartialCanceled
	if p.balance == 0 {
		status = StatusCanceled
		if p.card != nil {
			p.card.acquireStatus = "CANCELED"
		}
	}
	if p.va != nil && !wasWaiting {
		p.va.refundStatus = "COMPLETED"
		if refund != nil {
			p.va.refund = refund
		}
	}
	var hs []hook
	changed := p.status != status
	p.status = status
	if p.va != nil {
		hs = append(hs, f.depositHook(p)...)
	}
	if changed {
		hs = append(hs, f.statusHook(p)...)
	}
	return hs
}

// sweep applies the clock: IN_PROGRESS payments not confirmed within 10
// minutes expire, virtual accounts past their due date expire. Callers hold
// mu.
func (f *Fake) sweep() []hook {
	now := f.clock()
	var hs []hook
	ps := make([]*payment, 0, len(f.payments))
	for _, p := range f.payments {
		ps = append(ps, p)
	}
	sort.Slice(ps, func(i, j int) bool { return ps[i].seq < ps[j].seq })
	for _, p := range ps {
		switch {
		case p.status == StatusInProgress && now.Sub(p.inProgressAt) > confirmWindow:
			p.failure = &apiError{Code: "EXPIRED_PAYMENT", Message: messageOf("EXPIRED_PAYMENT", false)}
			hs = append(hs, f.setStatus(p, StatusExpired)...)
		case p.status == StatusWaitingForDeposit && p.va != nil && now.After(p.va.dueDate):
			hs = append(hs, f.expireVA(p)...)
		}
	}
	return hs
}

func (f *Fake) expireVA(p *payment) []hook {
	p.va.expired = true
	return f.setStatus(p, StatusExpired)
}
