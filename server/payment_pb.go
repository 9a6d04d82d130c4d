package server

import (
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/paymux/paymux/ent"
	"github.com/paymux/paymux/ent/cancellation"
	"github.com/paymux/paymux/ent/cashreceipt"
	"github.com/paymux/paymux/ent/payment"
	"github.com/paymux/paymux/ent/schema/details"
	paymuxv1 "github.com/paymux/paymux/gen/paymux/v1"
)

// toPaymentPB is a payment as the API shows it; cancels, history and
// receipt are added when given.
func toPaymentPB(p *ent.Payment, cancels []*ent.Cancellation, history []*ent.Event, receipt *ent.CashReceipt) *paymuxv1.Payment {
	var held int64
	for _, c := range cancels {
		if c.Status == cancellation.StatusREQUESTED {
			held += c.Amount
		}
	}
	out := &paymuxv1.Payment{
		Id:                p.ID,
		StoreId:           p.StoreID,
		ChannelId:         p.ChannelID,
		Provider:          providerPB(p.Provider),
		Mode:              modePB(string(p.Mode)),
		MerchantPaymentId: p.MerchantPaymentID,
		OrderName:         p.OrderName,
		Method:            methodPB(p.Method),
		ApprovalModel:     approvalModelPB(p.ApprovalModel),
		Status:            statusPB(string(p.Status)),
		Currency:          p.Currency,
		Amounts: &paymuxv1.PaymentAmounts{
			Total:            p.Total,
			TaxFree:          p.TaxFree,
			Vat:              p.Vat,
			Supply:           p.Total - p.TaxFree - p.Vat,
			Paid:             p.Paid,
			Cancelled:        p.Cancelled,
			CancelledTaxFree: p.CancelledTaxFree,
			CancelledVat:     p.CancelledVat,
			Cancellable:      max(0, p.Paid-p.Cancelled-held),
		},
		PgTransactionId: p.PgTransactionID,
		Failure:         failurePB(p.Failure),
		ReceiptUrl:      p.ReceiptURL,
		ReturnUrl:       p.ReturnURL,
		CreateTime:      timestamppb.New(p.CreatedAt),
		UpdateTime:      timestamppb.New(p.UpdatedAt),
		PaidTime:        optTime(p.PaidAt),
		CancelTime:      optTime(p.CancelledAt),
		FailTime:        optTime(p.FailedAt),
		BillingKeyId:    p.BillingKeyID,
		ScheduleId:      p.ScheduleID,
	}
	if p.CustomerName != "" || p.CustomerEmail != "" || p.CustomerPhone != "" {
		out.Customer = &paymuxv1.Customer{Name: p.CustomerName, Email: p.CustomerEmail, Phone: p.CustomerPhone}
	}
	out.Card = cardPB(p.Card)
	if va := p.VirtualAccount; va != nil {
		out.VirtualAccount = &paymuxv1.VirtualAccount{
			Bank: va.Bank, AccountNumber: va.AccountNumber, Holder: va.Holder, CustomerName: va.CustomerName,
			DueTime: microTime(va.DueAt), DepositorName: va.DepositorName, DepositTime: microTime(va.DepositedAt),
		}
	}
	if bt := p.BankTransfer; bt != nil {
		out.BankTransfer = &paymuxv1.BankTransfer{
			BankAccountId: p.BankAccountID, Bank: bt.Bank, AccountNumber: bt.AccountNumber, Holder: bt.Holder,
			DepositorName: p.DepositorName, DueTime: optTime(p.DueAt), DepositId: p.DepositID, DepositTime: microTime(bt.DepositedAt),
			CashReceiptIdentity: bt.CashReceiptIdentity,
			CashReceiptType:     paymuxv1.CashReceiptType(paymuxv1.CashReceiptType_value["CASH_RECEIPT_TYPE_"+bt.CashReceiptType]),
		}
	}
	for _, c := range cancels {
		out.Cancellations = append(out.Cancellations, toCancellationPB(c))
	}
	for _, e := range history {
		out.StatusHistory = append(out.StatusHistory, &paymuxv1.StatusChange{
			From: statusPB(e.FromStatus), To: statusPB(e.ToStatus), Time: timestamppb.New(e.CreatedAt), EventId: e.ID,
		})
	}
	if receipt != nil {
		out.CashReceipt = toCashReceiptPB(receipt)
	}
	return out
}

func toCancellationPB(c *ent.Cancellation) *paymuxv1.Cancellation {
	if c == nil { // closing an unpaid bank transfer order cancels nothing
		return nil
	}
	out := &paymuxv1.Cancellation{
		Id:               c.ID,
		Status:           cancellationStatusPB(c.Status),
		Amount:           c.Amount,
		TaxFree:          c.TaxFree,
		Vat:              c.Vat,
		Reason:           c.Reason,
		PgCancellationId: c.PgCancellationID,
		RequestTime:      timestamppb.New(c.CreatedAt),
		CancelTime:       optTime(c.CancelledAt),
		Failure:          failurePB(c.Failure),
	}
	if c.RefundBank != "" {
		out.RefundAccount = &paymuxv1.RefundAccount{Bank: c.RefundBank, Number: c.RefundNumberMasked, Holder: c.RefundHolder}
	}
	if c.RefundStatus != nil {
		out.RefundStatus = paymuxv1.RefundStatus(paymuxv1.RefundStatus_value["REFUND_STATUS_"+string(*c.RefundStatus)])
	}
	return out
}

func toCashReceiptPB(r *ent.CashReceipt) *paymuxv1.CashReceipt {
	return &paymuxv1.CashReceipt{
		Id:             r.ID,
		PaymentId:      r.PaymentID,
		Type:           paymuxv1.CashReceiptType(paymuxv1.CashReceiptType_value["CASH_RECEIPT_TYPE_"+string(r.Type)]),
		IdentityNumber: r.IdentityMasked,
		Status:         cashReceiptStatusPB(r.Status),
		Amount:         r.Amount,
		TaxFree:        r.TaxFree,
		Vat:            r.Vat,
		ApprovalNumber: r.ApprovalNumber,
		PgReceiptId:    r.PgReceiptID,
		ReceiptUrl:     r.ReceiptURL,
		Failure:        failurePB(r.Failure),
		RequestTime:    timestamppb.New(r.CreatedAt),
		IssueTime:      optTime(r.IssuedAt),
		CancelTime:     optTime(r.CancelledAt),
	}
}

func cardPB(c *details.Card) *paymuxv1.CardDetails {
	if c == nil {
		return nil
	}
	return &paymuxv1.CardDetails{
		Issuer: c.Issuer, Acquirer: c.Acquirer, Number: c.Number, Type: c.Type,
		ApprovalNumber: c.ApprovalNumber, InstallmentMonths: int32(c.InstallmentMonths), InterestFree: c.InterestFree,
	}
}

func failurePB(f *details.Failure) *paymuxv1.Failure {
	if f == nil {
		return nil
	}
	return &paymuxv1.Failure{Reason: f.Reason, Message: f.Message, PgCode: f.PGCode, PgMessage: f.PGMessage, Decline: f.Decline}
}

func optTime(t *time.Time) *timestamppb.Timestamp {
	if t == nil {
		return nil
	}
	return timestamppb.New(*t)
}

func microTime(us int64) *timestamppb.Timestamp {
	if us == 0 {
		return nil
	}
	return timestamppb.New(time.UnixMicro(us).UTC())
}

func statusPB(s string) paymuxv1.PaymentStatus {
	return paymuxv1.PaymentStatus(paymuxv1.PaymentStatus_value["PAYMENT_STATUS_"+s])
}

func statusFromPB(s paymuxv1.PaymentStatus) payment.Status {
	return payment.Status(s.String()[len("PAYMENT_STATUS_"):])
}

func methodPB(m payment.Method) paymuxv1.PayMethod {
	return paymuxv1.PayMethod(paymuxv1.PayMethod_value["PAY_METHOD_"+string(m)])
}

func methodFromPB(m paymuxv1.PayMethod) payment.Method {
	return payment.Method(m.String()[len("PAY_METHOD_"):])
}

func approvalModelPB(m payment.ApprovalModel) paymuxv1.ApprovalModel {
	return paymuxv1.ApprovalModel(paymuxv1.ApprovalModel_value["APPROVAL_MODEL_"+string(m)])
}

func providerPB(name string) paymuxv1.Provider {
	return paymuxv1.Provider(paymuxv1.Provider_value["PROVIDER_"+name])
}

func modePB(m string) paymuxv1.Mode {
	return paymuxv1.Mode(paymuxv1.Mode_value["MODE_"+m])
}

func cancellationStatusPB(s cancellation.Status) paymuxv1.CancellationStatus {
	return paymuxv1.CancellationStatus(paymuxv1.CancellationStatus_value["CANCELLATION_STATUS_"+string(s)])
}

func cashReceiptStatusPB(s cashreceipt.Status) paymuxv1.CashReceiptStatus {
	return paymuxv1.CashReceiptStatus(paymuxv1.CashReceiptStatus_value["CASH_RECEIPT_STATUS_"+string(s)])
}

// PaymentEventData is a payment as its events carry it: the API's JSON of
// the payment, without its history.
func PaymentEventData(p *ent.Payment) ([]byte, error) {
	return protojson.Marshal(toPaymentPB(p, nil, nil, nil))
}

// BillingKeyEventData is a billing key as its events carry it.
func BillingKeyEventData(k *ent.BillingKey) ([]byte, error) {
	return protojson.Marshal(toBillingKeyPB(k, 0))
}

// ScheduleEventData is a schedule as its events carry it.
func ScheduleEventData(r *ent.Schedule) ([]byte, error) {
	return protojson.Marshal(toSchedulePB(r))
}
