package server

import (
	"context"
	"strings"
	"time"

	"github.com/paymux/paymux/deposit"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/paymux/paymux/apierr"
	"github.com/paymux/paymux/ent"
	"github.com/paymux/paymux/ent/apikey"
	"github.com/paymux/paymux/ent/payment"
	paymuxv1 "github.com/paymux/paymux/gen/paymux/v1"
	paymentsvc "github.com/paymux/paymux/payment"
	"github.com/paymux/paymux/providers"
)

// paymentService serves PaymentService: each handler maps the request to
// payment.Service's input and its result back to proto.
type paymentService struct{ *Server }

func (s *paymentService) PreRegisterPayment(ctx context.Context, req *connect.Request[paymuxv1.PreRegisterPaymentRequest]) (*connect.Response[paymuxv1.PreRegisterPaymentResponse], error) {
	m := req.Msg
	ctx, storeID, err := s.actingStore(ctx, m.GetStoreId())
	if err != nil {
		return nil, err
	}
	row, err := s.payments.PreRegister(ctx, paymentsvc.PreRegisterInput{
		StoreID: storeID, MerchantPaymentID: m.GetMerchantPaymentId(),
		Total: m.GetTotalAmount(), TaxFree: m.TaxFreeAmount, Currency: m.GetCurrency(),
	})
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&paymuxv1.PreRegisterPaymentResponse{PreRegistration: &paymuxv1.PreRegistration{
		MerchantPaymentId: row.MerchantPaymentID,
		TotalAmount:       row.Total,
		TaxFreeAmount:     row.TaxFree,
		Currency:          row.Currency,
		CreateTime:        timestamppb.New(row.CreatedAt),
	}}), nil
}

// newInputOf is the part every new payment's request names.
func newInputOf(storeID, channelID, merchantID, orderName, currency string, amount *paymuxv1.Amount, customer *paymuxv1.Customer) paymentsvc.NewInput {
	return paymentsvc.NewInput{
		StoreID: storeID, ChannelID: channelID, MerchantPaymentID: merchantID, OrderName: orderName, Currency: currency,
		Amount: paymentsvc.Amount{Total: amount.GetTotal(), TaxFree: amount.GetTaxFree(), VAT: amount.Vat},
		Buyer:  buyerOf(customer),
	}
}

// cardDataOf is card input as the PG adapter takes it: the number and the
// owner's digits in their masking types.
func cardDataOf(card *paymuxv1.CardInput) providers.CardData {
	return providers.CardData{
		Number:      providers.NewCardNumber(card.GetNumber()),
		ExpiryYear:  int(card.GetExpiryYear()),
		ExpiryMonth: int(card.GetExpiryMonth()),
		OwnerID:     providers.NewRedacted(card.GetBirthOrBusinessNumber()),
		Password2:   providers.NewRedacted(card.GetPasswordTwoDigits()),
	}
}

func buyerOf(c *paymuxv1.Customer) providers.Buyer {
	return providers.Buyer{Name: c.GetName(), Email: c.GetEmail(), Phone: c.GetPhone()}
}

func (s *paymentService) CreatePayment(ctx context.Context, req *connect.Request[paymuxv1.CreatePaymentRequest]) (*connect.Response[paymuxv1.CreatePaymentResponse], error) {
	m := req.Msg
	ctx, storeID, err := s.actingStore(ctx, m.GetStoreId())
	if err != nil {
		return nil, err
	}
	in := paymentsvc.CreateInput{
		NewInput:  newInputOf(storeID, m.GetChannelId(), m.GetMerchantPaymentId(), m.GetOrderName(), m.GetCurrency(), m.GetAmount(), m.GetCustomer()),
		ReturnURL: m.GetReturnUrl(),
	}
	if m.GetMethod() != paymuxv1.PayMethod_PAY_METHOD_UNSPECIFIED {
		in.Method = methodFromPB(m.GetMethod())
	}
	// The key's approval model is the default; the request may choose.
	in.ApprovalModel = payment.ApprovalModelSERVER
	if k := callFrom(ctx).Principal.Key; k != nil && k.ApprovalModel == apikey.ApprovalModelCLIENT {
		in.ApprovalModel = payment.ApprovalModelCLIENT
	}
	switch m.GetApprovalModel() {
	case paymuxv1.ApprovalModel_APPROVAL_MODEL_CLIENT:
		in.ApprovalModel = payment.ApprovalModelCLIENT
	case paymuxv1.ApprovalModel_APPROVAL_MODEL_SERVER:
		in.ApprovalModel = payment.ApprovalModelSERVER
	}
	p, win, err := s.payments.Create(ctx, in)
	if err != nil {
		return nil, err
	}
	full, err := s.newPaymentPB(ctx, p)
	if err != nil {
		return nil, err
	}
	res := &paymuxv1.CreatePaymentResponse{
		Payment: full,
		Window:  &paymuxv1.Window{CheckoutUrl: win.RedirectURL, SdkUrl: win.SDKURL, Params: win.Params},
	}
	if !win.ExpiresAt.IsZero() {
		res.Window.ExpireTime = timestamppb.New(win.ExpiresAt)
	}
	return connect.NewResponse(res), nil
}

func (s *paymentService) ConfirmPayment(ctx context.Context, req *connect.Request[paymuxv1.ConfirmPaymentRequest]) (*connect.Response[paymuxv1.ConfirmPaymentResponse], error) {
	m := req.Msg
	p, err := s.payments.Confirm(ctx, m.GetId(), m.GetAmount(), m.GetWindowResult())
	if err != nil {
		return nil, err
	}
	full, err := s.newPaymentPB(ctx, p)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&paymuxv1.ConfirmPaymentResponse{Payment: full}), nil
}

func (s *paymentService) CreateInstantPayment(ctx context.Context, req *connect.Request[paymuxv1.CreateInstantPaymentRequest]) (*connect.Response[paymuxv1.CreateInstantPaymentResponse], error) {
	m := req.Msg
	ctx, storeID, err := s.actingStore(ctx, m.GetStoreId())
	if err != nil {
		return nil, err
	}
	in := paymentsvc.InstantInput{
		NewInput: newInputOf(storeID, m.GetChannelId(), m.GetMerchantPaymentId(), m.GetOrderName(), m.GetCurrency(), m.GetAmount(), m.GetCustomer()),
	}
	if card := m.GetCard(); card != nil {
		in.Card = &paymentsvc.CardInput{Data: cardDataOf(card), InstallmentMonths: int(card.GetInstallmentMonths())}
	}
	if va := m.GetVirtualAccount(); va != nil {
		in.VirtualAccount = &paymentsvc.VirtualAccountInput{Bank: va.GetBank(), AccountHolder: va.GetAccountHolder()}
		if va.GetDueTime() != nil {
			in.VirtualAccount.DueAt = va.GetDueTime().AsTime()
		}
		if cr := va.GetCashReceipt(); cr != nil {
			in.VirtualAccount.CashReceipt = &paymentsvc.CashReceiptSubject{Type: cashReceiptType(cr.GetType()), Identity: cr.GetIdentityNumber()}
		}
	}
	var p *ent.Payment
	if bt := m.GetBankTransfer(); bt != nil {
		order := deposit.OrderInput{NewInput: in.NewInput, DepositorName: bt.GetDepositorName(), BankAccountID: bt.GetBankAccountId()}
		if cr := bt.GetCashReceipt(); cr != nil {
			order.CashReceipt = &paymentsvc.CashReceiptSubject{Type: cashReceiptType(cr.GetType()), Identity: cr.GetIdentityNumber()}
		}
		p, err = s.deposits.CreateOrder(ctx, order)
	} else {
		p, err = s.payments.CreateInstant(ctx, in)
	}
	if err != nil {
		return nil, err
	}
	full, err := s.newPaymentPB(ctx, p)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&paymuxv1.CreateInstantPaymentResponse{Payment: full}), nil
}

func cashReceiptType(t paymuxv1.CashReceiptType) providers.CashReceiptType {
	if t == paymuxv1.CashReceiptType_CASH_RECEIPT_TYPE_EXPENSE_PROOF {
		return providers.CashReceiptExpenseProof
	}
	return providers.CashReceiptIncomeDeduction
}

func (s *paymentService) GetPayment(ctx context.Context, req *connect.Request[paymuxv1.GetPaymentRequest]) (*connect.Response[paymuxv1.GetPaymentResponse], error) {
	m := req.Msg
	if (m.GetId() == "") == (m.GetMerchantPaymentId() == "") {
		return nil, apierr.Invalid(
			apierr.FieldViolation{Field: "id", Description: "give exactly one of id and merchant_payment_id"},
			apierr.FieldViolation{Field: "merchant_payment_id", Description: "give exactly one of id and merchant_payment_id"})
	}
	var err error
	if m.GetId() == "" || m.GetStoreId() != "" {
		if ctx, _, err = s.actingStore(ctx, m.GetStoreId()); err != nil {
			return nil, err
		}
	}
	p, err := s.payments.Find(ctx, m.GetId(), m.GetMerchantPaymentId())
	if err != nil {
		return nil, err
	}
	full, err := s.paymentPB(ctx, p)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&paymuxv1.GetPaymentResponse{Payment: full}), nil
}

// newPaymentPB is a payment just created, charged or confirmed, with its
// status history (it has no cancels or receipt yet). The PG has acted and
// the outcome is recorded whatever the client does now: the read does not
// fail because the client hung up, so its answer (and an Idempotency-Key's
// replay of it) is the payment, never a cancellation.
func (s *Server) newPaymentPB(ctx context.Context, p *ent.Payment) (*paymuxv1.Payment, error) {
	history, err := s.payments.History(context.WithoutCancel(ctx), p.ID)
	if err != nil {
		return nil, err
	}
	return toPaymentPB(p, nil, history, nil), nil
}

// paymentPB is the whole payment: cancels, status history and receipt.
func (s *Server) paymentPB(ctx context.Context, p *ent.Payment) (*paymuxv1.Payment, error) {
	d, err := s.payments.Detail(ctx, p.ID)
	if err != nil {
		return nil, err
	}
	return toPaymentPB(d.Payment, d.Cancellations, d.History, d.CashReceipt), nil
}

func (s *paymentService) CancelPayment(ctx context.Context, req *connect.Request[paymuxv1.CancelPaymentRequest]) (*connect.Response[paymuxv1.CancelPaymentResponse], error) {
	m := req.Msg
	in := paymentsvc.CancelInput{
		ID: m.GetId(), Amount: m.Amount, TaxFree: m.TaxFreeAmount, VAT: m.VatAmount,
		CurrentCancellable: m.CurrentCancellableAmount, Reason: m.GetReason(),
	}
	if ra := m.GetRefundAccount(); ra != nil {
		in.RefundAccount = &paymentsvc.RefundAccount{Bank: ra.GetBank(), Number: ra.GetNumber(), Holder: ra.GetHolder(), Phone: ra.GetPhone()}
	}
	p, c, err := s.payments.Cancel(ctx, in)
	if err != nil {
		return nil, err
	}
	full, err := s.paymentPB(ctx, p)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&paymuxv1.CancelPaymentResponse{Payment: full, Cancellation: toCancellationPB(c)}), nil
}

func (s *paymentService) CloseVirtualAccount(ctx context.Context, req *connect.Request[paymuxv1.CloseVirtualAccountRequest]) (*connect.Response[paymuxv1.CloseVirtualAccountResponse], error) {
	p, err := s.payments.CloseVirtualAccount(ctx, req.Msg.GetId(), req.Msg.GetReason())
	if err != nil {
		return nil, err
	}
	full, err := s.paymentPB(ctx, p)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&paymuxv1.CloseVirtualAccountResponse{Payment: full}), nil
}

func (s *paymentService) IssueCashReceipt(ctx context.Context, req *connect.Request[paymuxv1.IssueCashReceiptRequest]) (*connect.Response[paymuxv1.IssueCashReceiptResponse], error) {
	in := req.Msg.GetReceipt()
	r, err := s.payments.IssueCashReceipt(ctx, req.Msg.GetPaymentId(),
		paymentsvc.CashReceiptSubject{Type: cashReceiptType(in.GetType()), Identity: in.GetIdentityNumber()})
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&paymuxv1.IssueCashReceiptResponse{CashReceipt: toCashReceiptPB(r)}), nil
}

func (s *paymentService) GetCashReceipt(ctx context.Context, req *connect.Request[paymuxv1.GetCashReceiptRequest]) (*connect.Response[paymuxv1.GetCashReceiptResponse], error) {
	r, err := s.payments.GetCashReceipt(ctx, req.Msg.GetPaymentId())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&paymuxv1.GetCashReceiptResponse{CashReceipt: toCashReceiptPB(r)}), nil
}

func (s *paymentService) CancelCashReceipt(ctx context.Context, req *connect.Request[paymuxv1.CancelCashReceiptRequest]) (*connect.Response[paymuxv1.CancelCashReceiptResponse], error) {
	r, err := s.payments.CancelCashReceipt(ctx, req.Msg.GetPaymentId(), req.Msg.GetReason())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&paymuxv1.CancelCashReceiptResponse{CashReceipt: toCashReceiptPB(r)}), nil
}
func (s *paymentService) ListPayments(ctx context.Context, req *connect.Request[paymuxv1.ListPaymentsRequest]) (*connect.Response[paymuxv1.ListPaymentsResponse], error) {
	m := req.Msg
	ctx, _, err := s.actingStore(ctx, m.GetStoreId())
	if err != nil {
		return nil, err
	}
	cur, after, err := decodeCursor(m.GetPageToken())
	if err != nil {
		return nil, err
	}
	q := s.db.Payment.Query().Where(paymentsvc.Visible(ctx)...).Order(ent.Desc(payment.FieldCreatedAt), ent.Desc(payment.FieldID))
	if len(m.GetStatuses()) > 0 {
		var in []payment.Status
		for _, st := range m.GetStatuses() {
			in = append(in, statusFromPB(st))
		}
		q = q.Where(payment.StatusIn(in...))
	}
	if len(m.GetMethods()) > 0 {
		var in []payment.Method
		for _, me := range m.GetMethods() {
			in = append(in, methodFromPB(me))
		}
		q = q.Where(payment.MethodIn(in...))
	}
	if m.GetChannelId() != "" {
		q = q.Where(payment.ChannelID(m.GetChannelId()))
	}
	if t := m.GetStartTime(); t != nil {
		q = q.Where(payment.CreatedAtGTE(t.AsTime()))
	}
	if t := m.GetEndTime(); t != nil {
		q = q.Where(payment.CreatedAtLT(t.AsTime()))
	}
	if text := strings.TrimSpace(m.GetQuery()); text != "" {
		// Case-insensitive on every database (SQLite's LIKE folds ASCII
		// case, PostgreSQL's does not).
		q = q.Where(payment.Or(
			payment.MerchantPaymentIDContainsFold(text),
			payment.OrderNameContainsFold(text),
			payment.CustomerNameContainsFold(text),
		))
	}
	if after {
		q = q.Where(payment.Or(payment.CreatedAtLT(cur.time()), payment.And(payment.CreatedAt(cur.time()), payment.IDLT(cur.ID))))
	}
	size := pageSize(m.GetPageSize())
	rows, err := q.Limit(size + 1).All(ctx)
	if err != nil {
		return nil, err
	}
	rows, next := page(rows, size, func(p *ent.Payment) (time.Time, string) { return p.CreatedAt, p.ID })
	res := &paymuxv1.ListPaymentsResponse{NextPageToken: next}
	for _, p := range rows {
		res.Payments = append(res.Payments, toPaymentPB(p, nil, nil, nil))
	}
	return connect.NewResponse(res), nil
}
