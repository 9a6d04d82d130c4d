package tosspayments

import (
	"cmp"
	"context"
	"net/http"

	"github.com/paymux/paymux/providers"
)

// Toss's Payment object, the fields the adapter reads (reference §4).
type paymentJSON struct {
	PaymentKey         string              `json:"paymentKey"`
	Type               string              `json:"type"`
	OrderID            string              `json:"orderId"`
	OrderName          string              `json:"orderName"`
	MID                string              `json:"mId"`
	Currency           string              `json:"currency"`
	Method             *string             `json:"method"`
	TotalAmount        int64               `json:"totalAmount"`
	BalanceAmount      int64               `json:"balanceAmount"`
	SuppliedAmount     int64               `json:"suppliedAmount"`
	VAT                int64               `json:"vat"`
	TaxFreeAmount      int64               `json:"taxFreeAmount"`
	TaxExemptionAmount int64               `json:"taxExemptionAmount"`
	Status             string              `json:"status"`
	RequestedAt        string              `json:"requestedAt"`
	ApprovedAt         *string             `json:"approvedAt"`
	LastTransactionKey *string             `json:"lastTransactionKey"`
	Card               *cardJSON           `json:"card"`
	VirtualAccount     *virtualAccountJSON `json:"virtualAccount"`
	MobilePhone        *struct {
		ReceiptURL string `json:"receiptUrl"`
	} `json:"mobilePhone"`
	CashReceipt *struct {
		ReceiptKey string `json:"receiptKey"`
	} `json:"cashReceipt"`
	Secret  *string      `json:"secret"`
	Cancels []cancelJSON `json:"cancels"`
	Failure *apiError    `json:"failure"`
	Receipt *struct {
		URL string `json:"url"`
	} `json:"receipt"`
}

type cardJSON struct {
	Amount                int64  `json:"amount"`
	IssuerCode            string `json:"issuerCode"`
	AcquirerCode          string `json:"acquirerCode"`
	Number                string `json:"number"`
	InstallmentPlanMonths int    `json:"installmentPlanMonths"`
	ApproveNo             string `json:"approveNo"`
	CardType              string `json:"cardType"`
	OwnerType             string `json:"ownerType"`
	IsInterestFree        bool   `json:"isInterestFree"`
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

type cancelJSON struct {
	TransactionKey   string `json:"transactionKey"`
	CancelReason     string `json:"cancelReason"`
	CancelAmount     int64  `json:"cancelAmount"`
	TaxFreeAmount    int64  `json:"taxFreeAmount"`
	RefundableAmount int64  `json:"refundableAmount"`
	CanceledAt       string `json:"canceledAt"`
	CancelStatus     string `json:"cancelStatus"`
}

// Toss statuses (one L in CANCELED).
const (
	statusReady             = "READY"
	statusInProgress        = "IN_PROGRESS"
	statusWaitingForDeposit = "WAITING_FOR_DEPOSIT"
	statusDone              = "DONE"
	statusCanceled          = "CANCELED"
	statusPartialCanceled   = "PARTIAL_CANCELED"
	statusAborted           = "ABORTED"
	statusExpired           = "EXPIRED"
)

// methodOf reads Payment.method: Korean labels, or the SDK's English names
// some integrations see. Gift certificates have no paymux method ("").
func methodOf(label *string) providers.PayMethod {
	if label == nil {
		return ""
	}
	switch *label {
	case "카드", "CARD":
		return providers.MethodCard
	case "가상계좌", "VIRTUAL_ACCOUNT":
		return providers.MethodVirtualAccount
	case "계좌이체", "TRANSFER":
		return providers.MethodTransfer
	case "휴대폰", "MOBILE_PHONE":
		return providers.MethodMobile
	case "간편결제", "EASY_PAY":
		return providers.MethodEasyPay
	}
	return ""
}

// statusOf maps a Toss status (reference §4.1). An unpaid virtual account
// past its due date is EXPIRED whether Toss shows EXPIRED or still
// WAITING_FOR_DEPOSIT with virtualAccount.expired; any other EXPIRED
// payment never completed and is FAILED.
func statusOf(p *paymentJSON) providers.Status {
	isVA := p.VirtualAccount != nil || methodOf(p.Method) == providers.MethodVirtualAccount
	switch p.Status {
	case statusReady, statusInProgress:
		return providers.StatusReady
	case statusWaitingForDeposit:
		if p.VirtualAccount != nil && p.VirtualAccount.Expired {
			return providers.StatusExpired
		}
		return providers.StatusVirtualAccountIssued
	case statusDone:
		return providers.StatusPaid
	case statusCanceled:
		return providers.StatusCancelled
	case statusPartialCanceled:
		return providers.StatusPartialCancelled
	case statusAborted:
		return providers.StatusFailed
	case statusExpired:
		if isVA {
			return providers.StatusExpired
		}
		return providers.StatusFailed
	}
	return ""
}

func cardTypeOf(s string) providers.CardType {
	switch s {
	case "신용", "CREDIT":
		return providers.CardTypeCredit
	case "체크", "CHECK", "DEBIT":
		return providers.CardTypeCheck
	case "기프트", "GIFT":
		return providers.CardTypeGift
	}
	return "" // 미확인
}

func refundStatusOf(s string) providers.RefundStatus {
	switch s {
	case "PENDING":
		return providers.RefundPending
	case "COMPLETED":
		return providers.RefundCompleted
	case "FAILED", "PARTIAL_FAILED":
		return providers.RefundFailed
	}
	return ""
}

// cardInfo maps Toss's card. Toss's two-character issuer and acquirer
// codes are kept raw: paymux's reference has no table of them yet.
func cardInfo(c *cardJSON) *providers.CardInfo {
	if c == nil {
		return nil
	}
	return &providers.CardInfo{
		PGIssuerCode:      c.IssuerCode,
		PGAcquirerCode:    c.AcquirerCode,
		Number:            c.Number,
		Type:              cardTypeOf(c.CardType),
		ApprovalNumber:    c.ApproveNo,
		InstallmentMonths: c.InstallmentPlanMonths,
		InterestFree:      c.IsInterestFree,
	}
}

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// vatOf is Toss's default VAT of a taxable amount, rounded.
func vatOf(taxable int64) int64 {
	if taxable <= 0 {
		return 0
	}
	return (2*taxable + 11) / 22
}

// toPayment maps a Toss Payment object.
//
// Amounts: totalAmount is the original; balanceAmount, vat and
// taxFreeAmount describe what is left after cancels. Paid is the total once
// Toss collected it (a card approval, a deposit); Cancelled is total less
// balance; the original tax-free part is what is left plus each cancel's.
// Toss reports no VAT per cancel: with cancels, VAT is Toss's default of the
// original taxable amount and CancelledVAT what the balance's VAT lacks.
// An unpaid virtual account closed by a cancel collected nothing: its
// Amounts and Cancellations are empty.
func toPayment(p *paymentJSON) *providers.Payment {
	out := &providers.Payment{
		PGTransactionID:    p.PaymentKey,
		OrderID:            p.OrderID,
		OrderName:          p.OrderName,
		Method:             methodOf(p.Method),
		Status:             statusOf(p),
		Currency:           cmp.Or(p.Currency, "KRW"),
		RequestedAt:        parseTime(p.RequestedAt),
		ApprovedAt:         parseTime(str(p.ApprovedAt)),
		Card:               cardInfo(p.Card),
		Failure:            failure(p.Failure),
		NotificationSecret: str(p.Secret),
	}
	if out.Failure != nil {
		out.Failure.Op = "Lookup"
	}
	if p.Receipt != nil {
		out.ReceiptURL = p.Receipt.URL
	}
	if out.ReceiptURL == "" && p.MobilePhone != nil {
		out.ReceiptURL = p.MobilePhone.ReceiptURL
	}
	if p.CashReceipt != nil {
		out.CashReceiptID = p.CashReceipt.ReceiptKey
	}
	isVA := p.VirtualAccount != nil
	collected := false
	switch p.Status {
	case statusDone, statusPartialCanceled:
		collected = true
	case statusCanceled:
		collected = !isVA || p.ApprovedAt != nil
	}

	var cancelledTaxFree int64
	var done []cancelJSON
	for _, c := range p.Cancels {
		if c.CancelStatus != "" && c.CancelStatus != "DONE" {
			continue
		}
		done = append(done, c)
		cancelledTaxFree += c.TaxFreeAmount
	}
	if len(done) > 0 {
		out.CancelledAt = parseTime(done[len(done)-1].CanceledAt)
	}
	am := providers.Amounts{Total: p.TotalAmount, TaxFree: p.TaxFreeAmount, VAT: p.VAT}
	if collected {
		am.Paid = p.TotalAmount
		am.Cancelled = p.TotalAmount - p.BalanceAmount
		am.CancelledTaxFree = cancelledTaxFree
		am.TaxFree = p.TaxFreeAmount + cancelledTaxFree
		if len(done) > 0 {
			am.VAT = vatOf(am.Total - am.TaxFree)
			am.CancelledVAT = max(am.VAT-p.VAT, 0)
		}
	} else if len(done) > 0 {
		// Closed before any deposit: the cancel took the whole amount back.
		am.TaxFree = p.TaxFreeAmount + cancelledTaxFree
		am.VAT = vatOf(am.Total - am.TaxFree)
	}
	out.Amounts = am

	if va := p.VirtualAccount; va != nil {
		out.VirtualAccount = &providers.VirtualAccount{
			Bank:          parseTossBank(va.BankCode),
			AccountNumber: va.AccountNumber,
			CustomerName:  va.CustomerName,
			DueAt:         parseTime(va.DueDate),
			Expired:       va.Expired,
			DepositorName: str(va.DepositorName),
		}
		if collected {
			out.VirtualAccount.DepositedAt = out.ApprovedAt
		}
	}
	if collected {
		for _, c := range done {
			x := providers.Cancellation{
				ID:          c.TransactionKey,
				Amount:      c.CancelAmount,
				TaxFree:     c.TaxFreeAmount,
				Reason:      c.CancelReason,
				CancelledAt: parseTime(c.CanceledAt),
			}
			if isVA {
				x.Refund = refundOf(p.VirtualAccount)
			}
			out.Cancellations = append(out.Cancellations, x)
		}
	}
	return out
}

// refundOf is the refund of a deposited virtual account: Toss keeps one
// refund account and status per payment.
func refundOf(va *virtualAccountJSON) *providers.Refund {
	r := &providers.Refund{Status: refundStatusOf(va.RefundStatus)}
	if a := va.RefundReceiveAccount; a != nil {
		r.Account = providers.RefundAccount{Bank: parseTossBank(a.BankCode), Number: providers.NewRedacted(a.AccountNumber),
			Holder: a.HolderName}
	}
	return r
}

// Lookup reads a payment by paymentKey (GET /v1/payments/{paymentKey}) or,
// without one, by order id (GET /v1/payments/orders/{orderId}). Toss's 404
// NOT_FOUND_PAYMENT is KindNotFound: nothing was charged.
func (a *Adapter) Lookup(ctx context.Context, ch providers.Channel, req providers.LookupRequest) (*providers.Payment, error) {
	const op = "Lookup"
	if err := usable(op, ch); err != nil {
		return nil, err
	}
	p, err := a.get(ctx, ch, op, req.PGTransactionID, req.OrderID)
	if err != nil {
		return nil, err
	}
	return toPayment(p), nil
}

// get reads Toss's Payment object by key or order id.
func (a *Adapter) get(ctx context.Context, ch providers.Channel, op, paymentKey, orderID string) (*paymentJSON, error) {
	var path string
	switch {
	case paymentKey != "":
		path = "/v1/payments/" + pathEscape(paymentKey)
	case orderID != "":
		path = "/v1/payments/orders/" + pathEscape(orderID)
	default:
		return nil, invalid(op, "INVALID_REQUEST", "a paymentKey or an order id is required")
	}
	var p paymentJSON
	if err := a.call(ctx, ch, op, http.MethodGet, path, "", nil, &p); err != nil {
		return nil, err
	}
	if p.PaymentKey == "" {
		return nil, &providers.Error{Kind: providers.KindUnknown, Provider: Name, Op: op, Code: CodeUnexpectedAnswer,
			Message: "the answer has no paymentKey"}
	}
	return &p, nil
}

// answer maps a Payment answer of a POST, refusing one without a paymentKey
// (an outcome-unknown answer, so that paymux looks the order up).
func answer(op string, p *paymentJSON) (*providers.Payment, error) {
	if p.PaymentKey == "" {
		return nil, &providers.Error{Kind: providers.KindUnknown, Provider: Name, Op: op, Code: CodeUnexpectedAnswer,
			Message: "the answer has no paymentKey"}
	}
	out := toPayment(p)
	if out.Failure != nil {
		out.Failure.Op = op
	}
	return out, nil
}
