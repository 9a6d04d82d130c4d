package server

import (
	"context"
	"errors"
	"strings"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/paymux/paymux/apierr"
	"github.com/paymux/paymux/database"
	"github.com/paymux/paymux/ent"
	"github.com/paymux/paymux/ent/apikey"
	"github.com/paymux/paymux/ent/cancellation"
	"github.com/paymux/paymux/ent/cashreceipt"
	"github.com/paymux/paymux/ent/event"
	"github.com/paymux/paymux/ent/payment"
	"github.com/paymux/paymux/ent/preregistration"
	"github.com/paymux/paymux/ent/schedule"
	"github.com/paymux/paymux/ent/schema/details"
	paymuxv1 "github.com/paymux/paymux/gen/paymux/v1"
	"github.com/paymux/paymux/money"
	"github.com/paymux/paymux/paystate"
	"github.com/paymux/paymux/providers"
	"github.com/paymux/paymux/secrets"
)

type paymentService struct{ *Server }

func (s *paymentService) PreRegisterPayment(ctx context.Context, req *connect.Request[paymuxv1.PreRegisterPaymentRequest]) (*connect.Response[paymuxv1.PreRegisterPaymentResponse], error) {
	m := req.Msg
	ctx, storeID, err := s.actingStore(ctx, m.GetStoreId())
	if err != nil {
		return nil, err
	}
	if m.TaxFreeAmount != nil && m.GetTaxFreeAmount() > m.GetTotalAmount() {
		return nil, apierr.InvalidField("tax_free_amount", "must not exceed total_amount %d", m.GetTotalAmount())
	}
	var row *ent.PreRegistration
	err = database.InTx(ctx, s.db, func(tx *ent.Tx) error {
		taken, err := tx.Payment.Query().Where(payment.MerchantPaymentID(m.GetMerchantPaymentId())).Exist(ctx)
		if err != nil {
			return err
		}
		if taken {
			return errPaymentExists(m.GetMerchantPaymentId())
		}
		id, err := tx.PreRegistration.Create().
			SetStoreID(storeID).
			SetMerchantPaymentID(m.GetMerchantPaymentId()).
			SetTotal(m.GetTotalAmount()).
			SetNillableTaxFree(m.TaxFreeAmount).
			SetCurrency(currencyOf(m.GetCurrency())).
			OnConflictColumns(preregistration.FieldStoreID, preregistration.FieldMerchantPaymentID).
			UpdateNewValues().
			ID(ctx)
		if err != nil {
			return err
		}
		row, err = tx.PreRegistration.Get(ctx, id)
		return err
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

func currencyOf(c string) string {
	if c == "" {
		return "KRW"
	}
	return c
}

func errPaymentExists(merchantID string) error {
	return apierr.New(apierr.CodeAlreadyExists, reasonPaymentAlreadyExists,
		"merchant payment id %q is already used by a payment: every payment (a failed one included) needs a new one", merchantID)
}

// checkPreRegistered refuses an amount that differs from the one
// pre-registered for the merchant payment id, if any (seed 002).
func checkPreRegistered(ctx context.Context, db *ent.PreRegistrationClient, merchantID string, total, taxFree int64, field string) error {
	pre, err := db.Query().Where(preregistration.MerchantPaymentID(merchantID)).Only(ctx)
	if ent.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if pre.Total != total || (pre.TaxFree != nil && *pre.TaxFree != taxFree) {
		return apierr.WithMetadata(apierr.CodeInvalidArgument, reasonInformationMismatch,
			map[string]string{"merchant_payment_id": merchantID, "field": field},
			"%s: the amount differs from the one pre-registered for %q", field, merchantID)
	}
	return nil
}

// newPayment is what CreatePayment and CreateInstantPayment share: the
// checked amounts, the channel and the row to create.
type newPayment struct {
	id         string
	merchantID string
	amounts    money.Amounts
	ch         *payChannel
	// fields sets the new row's fields on a create builder.
	fields []func(*ent.PaymentCreate)
}

func (np *newPayment) set(f func(*ent.PaymentCreate)) { np.fields = append(np.fields, f) }

func (s *Server) prepareNewPayment(ctx context.Context, storeID, channelID, merchantID, orderName, currency string, amount *paymuxv1.Amount, customer *paymuxv1.Customer, method payment.Method, model payment.ApprovalModel) (*newPayment, error) {
	amounts, err := money.NewAmounts(amount.GetTotal(), amount.GetTaxFree(), amount.Vat)
	if err != nil {
		var me *money.Error
		if errors.As(err, &me) {
			field := "amount.total"
			switch me.Reason {
			case money.ReasonInvalidTaxFreeAmount:
				field = "amount.tax_free"
			case money.ReasonInvalidVATAmount:
				field = "amount.vat"
			}
			return nil, apierr.InvalidField(field, "%s", me.Message)
		}
		return nil, err
	}
	ch, err := s.channelForNewPayment(ctx, channelID)
	if err != nil {
		return nil, err
	}
	if err := checkPreRegistered(ctx, s.db.PreRegistration, merchantID, amounts.Total, amounts.TaxFree, "amount"); err != nil {
		return nil, err
	}
	taken, err := s.db.Payment.Query().Where(payment.MerchantPaymentID(merchantID)).Exist(ctx)
	if err != nil {
		return nil, err
	}
	if !taken { // a schedule still to run will make a payment under it
		taken, err = s.db.Schedule.Query().Where(schedule.MerchantPaymentID(merchantID),
			schedule.StatusIn(schedule.StatusSCHEDULED, schedule.StatusSTARTED)).Exist(ctx)
		if err != nil {
			return nil, err
		}
	}
	if taken {
		return nil, errPaymentExists(merchantID)
	}
	id := secrets.NewID("pay")
	now := s.clock()
	set := func(c *ent.PaymentCreate) {
		c.SetID(id).
			SetStoreID(storeID).
			SetChannelID(ch.row.ID).
			SetProvider(string(ch.row.Provider)).
			SetMode(payment.Mode(ch.row.Mode)).
			SetMerchantPaymentID(merchantID).
			SetOrderName(orderName).
			SetMethod(method).
			SetApprovalModel(model).
			SetStatus(payment.StatusREADY).
			SetStatusAt(now).
			SetCreatedAt(now).
			SetUpdatedAt(now).
			SetCurrency(currencyOf(currency)).
			SetTotal(amounts.Total).
			SetTaxFree(amounts.TaxFree).
			SetVat(amounts.VAT).
			SetCustomerName(customer.GetName()).
			SetCustomerEmail(customer.GetEmail()).
			SetCustomerPhone(customer.GetPhone()).
			SetKeyID(keyIDOf(callFrom(ctx).Principal))
	}
	return &newPayment{id: id, merchantID: merchantID, amounts: amounts, ch: ch, fields: []func(*ent.PaymentCreate){set}}, nil
}

// insertPayment creates the READY payment (and its event) in tx, and runs
// then on the created row in the same transaction.
func (s *Server) insertPayment(ctx context.Context, np *newPayment, then func(tx *ent.Tx, p *ent.Payment) (*ent.Payment, error)) (*ent.Payment, error) {
	var out *ent.Payment
	err := database.InTx(ctx, s.db, func(tx *ent.Tx) error {
		create := tx.Payment.Create()
		for _, f := range np.fields {
			f(create)
		}
		p, err := create.Save(ctx)
		if ent.IsConstraintError(err) {
			return errPaymentExists(np.merchantID)
		}
		if err != nil {
			return err
		}
		if err := s.recordEvent(ctx, tx, p, ""); err != nil {
			return err
		}
		out = p
		if then != nil {
			out, err = then(tx, p)
		}
		return err
	})
	return out, err
}

// checkReturnURL refuses a window's return URL that is not http(s) (the
// proto checks it is a URL).
func checkReturnURL(u string) error {
	if u != "" && !strings.HasPrefix(u, "http://") && !strings.HasPrefix(u, "https://") {
		return apierr.InvalidField("return_url", "must be an http or https URL")
	}
	return nil
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
	if err := checkReturnURL(m.GetReturnUrl()); err != nil {
		return nil, err
	}
	method := payment.MethodCARD
	if m.GetMethod() != paymuxv1.PayMethod_PAY_METHOD_UNSPECIFIED {
		method = methodFromPB(m.GetMethod())
	}
	if method == payment.MethodVIRTUAL_ACCOUNT {
		return nil, apierr.InvalidField("method", "virtual accounts are issued with CreateInstantPayment (POST /v1/payments/instant)")
	}
	model := payment.ApprovalModelSERVER
	if k := callFrom(ctx).Principal.Key; k != nil && k.ApprovalModel == apikey.ApprovalModelCLIENT {
		model = payment.ApprovalModelCLIENT
	}
	if m.GetApprovalModel() == paymuxv1.ApprovalModel_APPROVAL_MODEL_CLIENT {
		model = payment.ApprovalModelCLIENT
	} else if m.GetApprovalModel() == paymuxv1.ApprovalModel_APPROVAL_MODEL_SERVER {
		model = payment.ApprovalModelSERVER
	}
	np, err := s.prepareNewPayment(ctx, storeID, m.GetChannelId(), m.GetMerchantPaymentId(), m.GetOrderName(), m.GetCurrency(), m.GetAmount(), m.GetCustomer(), method, model)
	if err != nil {
		return nil, err
	}
	np.set(func(c *ent.PaymentCreate) { c.SetReturnURL(m.GetReturnUrl()) })
	// The window opens before the row exists: a refused window leaves
	// nothing behind, and an unused PG session costs nothing.
	pgctx, cancel := s.pgContext(ctx)
	win, err := np.ch.api.PrepareWindow(pgctx, np.ch.pg, providers.PrepareWindowRequest{
		Purpose:   providers.WindowPayment,
		Method:    providers.PayMethod(method),
		OrderID:   np.id,
		OrderName: m.GetOrderName(),
		Amount:    providers.Amount{Total: np.amounts.Total, TaxFree: np.amounts.TaxFree, VAT: &np.amounts.VAT, Currency: currencyOf(m.GetCurrency())},
		ReturnURL: s.windowReturnURL(np.id),
		Buyer:     buyerOf(m.GetCustomer()),
	})
	cancel()
	if err != nil {
		return nil, pgError(nil, err)
	}
	p, err := s.insertPayment(ctx, np, nil)
	if err != nil {
		return nil, err
	}
	res := &paymuxv1.CreatePaymentResponse{
		Payment: toPaymentPB(p, nil, nil, nil),
		Window:  &paymuxv1.Window{CheckoutUrl: win.RedirectURL, SdkUrl: win.SDKURL, Params: win.Params},
	}
	if !win.ExpiresAt.IsZero() {
		res.Window.ExpireTime = timestamppb.New(win.ExpiresAt)
	}
	return connect.NewResponse(res), nil
}

func errWindowNotCompleted(p *ent.Payment) error {
	return apierr.WithMetadata(apierr.CodeFailedPrecondition, reasonWindowNotCompleted,
		map[string]string{"payment_id": p.ID},
		"the buyer has not completed the payment window of %s: pass its window_result, or let the window return through paymux", p.ID)
}

func (s *paymentService) ConfirmPayment(ctx context.Context, req *connect.Request[paymuxv1.ConfirmPaymentRequest]) (*connect.Response[paymuxv1.ConfirmPaymentResponse], error) {
	m := req.Msg
	// check runs on the locked row, inside the transaction that moves it to
	// PAY_PENDING: whatever it reads goes through tx, never the pool (a
	// transaction waiting for a second connection can starve the pool).
	check := func(pre *ent.PreRegistrationClient, p *ent.Payment) error {
		if p.ApprovalModel != payment.ApprovalModelSERVER {
			return apierr.New(apierr.CodeFailedPrecondition, reasonApprovalModelMismatch,
				"payment %s uses client approval: the window approves it; look it up to verify", p.ID)
		}
		if p.Status != payment.StatusREADY {
			_, err := paystate.Next(paystate.State(p.Status), paystate.MarkPending)
			return transitionError(p, err)
		}
		if m.GetAmount() != p.Total {
			return apierr.WithMetadata(apierr.CodeInvalidArgument, reasonInformationMismatch,
				map[string]string{"payment_id": p.ID, "field": "amount"},
				"amount: %d differs from the payment's amount; nothing was charged", m.GetAmount())
		}
		return checkPreRegistered(ctx, pre, p.MerchantPaymentID, p.Total, p.TaxFree, "amount")
	}
	p, err := s.approveWindow(ctx, m.GetId(), m.GetWindowResult(), check)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&paymuxv1.ConfirmPaymentResponse{Payment: toPaymentPB(p, nil, nil, nil)}), nil
}

func (s *paymentService) CreateInstantPayment(ctx context.Context, req *connect.Request[paymuxv1.CreateInstantPaymentRequest]) (*connect.Response[paymuxv1.CreateInstantPaymentResponse], error) {
	m := req.Msg
	ctx, storeID, err := s.actingStore(ctx, m.GetStoreId())
	if err != nil {
		return nil, err
	}
	method := payment.MethodCARD
	if m.GetVirtualAccount() != nil {
		method = payment.MethodVIRTUAL_ACCOUNT
	}
	if card := m.GetCard(); card != nil {
		if err := money.CheckInstallment(card.GetInstallmentMonths(), m.GetAmount().GetTotal()); err != nil {
			return nil, moneyError(err, "card.installment_months")
		}
	}
	var vaBank providers.Bank
	if va := m.GetVirtualAccount(); va != nil {
		if vaBank, err = providers.ParseBank(va.GetBank()); err != nil || !vaBank.Valid() {
			return nil, apierr.InvalidField("virtual_account.bank", "unknown bank code %q", va.GetBank())
		}
	}
	np, err := s.prepareNewPayment(ctx, storeID, m.GetChannelId(), m.GetMerchantPaymentId(), m.GetOrderName(), m.GetCurrency(), m.GetAmount(), m.GetCustomer(), method, payment.ApprovalModelSERVER)
	if err != nil {
		return nil, err
	}
	var p *ent.Payment
	if card := m.GetCard(); card != nil {
		p, err = s.chargeCard(ctx, np, m, card)
	} else {
		p, err = s.issueVirtualAccount(ctx, np, m, vaBank)
	}
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&paymuxv1.CreateInstantPaymentResponse{Payment: toPaymentPB(p, nil, nil, nil)}), nil
}

// chargeCard charges card data at once: the payment is created already
// PAY_PENDING, then the PG's answer is recorded.
func (s *Server) chargeCard(ctx context.Context, np *newPayment, m *paymuxv1.CreateInstantPaymentRequest, card *paymuxv1.CardInput) (*ent.Payment, error) {
	p, err := s.insertPayment(ctx, np, func(tx *ent.Tx, p *ent.Payment) (*ent.Payment, error) {
		return s.transition(ctx, tx, p, paystate.MarkPending, nil)
	})
	if err != nil {
		return nil, err
	}
	pgctx, cancel := s.pgContext(ctx)
	defer cancel()
	res, err := np.ch.api.ChargeKeyIn(pgctx, np.ch.pg, providers.KeyInRequest{
		OrderID:           p.ID,
		OrderName:         p.OrderName,
		Amount:            pgAmount(p),
		Card:              cardDataOf(card),
		InstallmentMonths: int(card.GetInstallmentMonths()),
		Buyer:             buyerOf(m.GetCustomer()),
		IdempotencyKey:    p.ID,
	})
	return s.settleCharge(ctx, p, np.ch, res, err)
}

// issueVirtualAccount asks the PG for a virtual account for a new payment.
func (s *Server) issueVirtualAccount(ctx context.Context, np *newPayment, m *paymuxv1.CreateInstantPaymentRequest, bank providers.Bank) (*ent.Payment, error) {
	in := m.GetVirtualAccount()
	p, err := s.insertPayment(ctx, np, nil)
	if err != nil {
		return nil, err
	}
	req := providers.IssueVirtualAccountRequest{
		OrderID:        p.ID,
		OrderName:      p.OrderName,
		Amount:         pgAmount(p),
		Bank:           bank,
		AccountHolder:  in.GetAccountHolder(),
		CustomerName:   p.CustomerName,
		Buyer:          buyerOf(m.GetCustomer()),
		IdempotencyKey: p.ID,
	}
	if in.GetDueTime() != nil {
		req.DueAt = in.GetDueTime().AsTime()
	}
	var receipt *details.VirtualAccount
	if cr := in.GetCashReceipt(); cr != nil {
		req.CashReceipt = &providers.CashReceiptSubject{Type: cashReceiptType(cr.GetType()), Identity: providers.NewRedacted(cr.GetIdentityNumber())}
		receipt = &details.VirtualAccount{CashReceiptType: string(req.CashReceipt.Type), CashReceiptIdentity: maskDigits(cr.GetIdentityNumber())}
	}
	pgctx, cancel := s.pgContext(ctx)
	res, err := np.ch.api.IssueVirtualAccount(pgctx, np.ch.pg, req)
	cancel()
	ctx = context.WithoutCancel(ctx)
	if err != nil && providers.OutcomeUnknown(err) {
		pgctx, cancel := s.pgContext(ctx)
		res, err = np.ch.api.Lookup(pgctx, np.ch.pg, providers.LookupRequest{OrderID: p.ID, OrderDate: p.CreatedAt})
		cancel()
		if err != nil && providers.OutcomeUnknown(err) {
			return p, outcomeUnknownError(p, "the virtual account request")
		}
	}
	if err != nil {
		failed, ferr := s.recordFailure(ctx, p.ID, failureOf(failRefused, err), "")
		if ferr != nil {
			return nil, ferr
		}
		return failed, pgError(failed, err)
	}
	return s.recordVirtualAccount(ctx, p, res, receipt)
}

func cashReceiptType(t paymuxv1.CashReceiptType) providers.CashReceiptType {
	if t == paymuxv1.CashReceiptType_CASH_RECEIPT_TYPE_EXPENSE_PROOF {
		return providers.CashReceiptExpenseProof
	}
	return providers.CashReceiptIncomeDeduction
}

// maskDigits keeps the first 3 and last 4 digits of an identity or
// account number.
func maskDigits(s string) string {
	if len(s) <= 7 {
		return strings.Repeat("*", len(s))
	}
	return s[:3] + strings.Repeat("*", len(s)-7) + s[len(s)-4:]
}

func (s *paymentService) GetPayment(ctx context.Context, req *connect.Request[paymuxv1.GetPaymentRequest]) (*connect.Response[paymuxv1.GetPaymentResponse], error) {
	m := req.Msg
	if (m.GetId() == "") == (m.GetMerchantPaymentId() == "") {
		return nil, apierr.Invalid(
			apierr.FieldViolation{Field: "id", Description: "give exactly one of id and merchant_payment_id"},
			apierr.FieldViolation{Field: "merchant_payment_id", Description: "give exactly one of id and merchant_payment_id"})
	}
	var p *ent.Payment
	var err error
	if m.GetId() != "" {
		if m.GetStoreId() != "" {
			if ctx, _, err = s.actingStore(ctx, m.GetStoreId()); err != nil {
				return nil, err
			}
		}
		p, err = s.loadPayment(ctx, m.GetId())
	} else {
		if ctx, _, err = s.actingStore(ctx, m.GetStoreId()); err != nil {
			return nil, err
		}
		p, err = s.db.Payment.Query().Where(append(visiblePayments(ctx), payment.MerchantPaymentID(m.GetMerchantPaymentId()))...).Only(ctx)
		if ent.IsNotFound(err) {
			err = apierr.New(apierr.CodeNotFound, reasonPaymentNotFound, "no payment with merchant payment id %q", m.GetMerchantPaymentId())
		}
	}
	if err != nil {
		return nil, err
	}
	if p, err = s.expireIfDue(ctx, p); err != nil {
		return nil, err
	}
	if err := s.refreshRefunds(ctx, p); err != nil {
		return nil, err
	}
	full, err := s.paymentPB(ctx, p)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&paymuxv1.GetPaymentResponse{Payment: full}), nil
}

// paymentPB is the whole payment: cancels, status history and receipt.
func (s *Server) paymentPB(ctx context.Context, p *ent.Payment) (*paymuxv1.Payment, error) {
	// One snapshot: a cancel settling between two reads would otherwise show
	// as neither held nor cancelled.
	var out *paymuxv1.Payment
	err := database.ReadTx(ctx, s.db, func(tx *ent.Tx) error {
		p, err := tx.Payment.Get(ctx, p.ID)
		if err != nil {
			return err
		}
		cancels, err := tx.Cancellation.Query().Where(cancellation.PaymentID(p.ID)).
			Order(ent.Asc(cancellation.FieldCreatedAt), ent.Asc(cancellation.FieldID)).All(ctx)
		if err != nil {
			return err
		}
		history, err := tx.Event.Query().Where(event.PaymentID(p.ID)).
			Order(ent.Asc(event.FieldCreatedAt), ent.Asc(event.FieldID)).All(ctx)
		if err != nil {
			return err
		}
		receipt, err := tx.CashReceipt.Query().Where(cashreceipt.PaymentID(p.ID)).Only(ctx)
		if err != nil && !ent.IsNotFound(err) {
			return err
		}
		out = toPaymentPB(p, cancels, history, receipt)
		return nil
	})
	return out, err
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
	q := s.db.Payment.Query().Where(visiblePayments(ctx)...).Order(ent.Desc(payment.FieldCreatedAt), ent.Desc(payment.FieldID))
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

func (s *paymentService) CancelPayment(ctx context.Context, req *connect.Request[paymuxv1.CancelPaymentRequest]) (*connect.Response[paymuxv1.CancelPaymentResponse], error) {
	m := req.Msg
	p, err := s.loadPayment(ctx, m.GetId())
	if err != nil {
		return nil, err
	}
	ch, err := s.channelOf(ctx, p)
	if err != nil {
		return nil, err
	}
	var refundBank providers.Bank
	if ra := m.GetRefundAccount(); ra != nil {
		if refundBank, err = providers.ParseBank(ra.GetBank()); err != nil || !refundBank.Valid() {
			return nil, apierr.InvalidField("refund_account.bank", "unknown bank code %q", ra.GetBank())
		}
	}
	if p.Method == payment.MethodVIRTUAL_ACCOUNT && p.Paid > 0 && m.GetRefundAccount() == nil {
		return nil, apierr.WithMetadata(apierr.CodeInvalidArgument, reasonRefundAccountRequired,
			map[string]string{"payment_id": p.ID, "field": "refund_account"},
			"refund_account: a deposited virtual account is refunded to a bank account; give bank, number and holder")
	}
	// Hold the cancel against the balance before the PG is asked.
	var c *ent.Cancellation
	err = database.InTx(ctx, s.db, func(tx *ent.Tx) error {
		cur, err := lockPayment(ctx, tx, p.ID)
		if err != nil {
			return err
		}
		if _, err := paystate.Next(paystate.State(cur.Status), paystate.PartialCancel); err != nil {
			return transitionError(cur, err)
		}
		held, err := pendingCancels(ctx, tx.Cancellation, cur.ID)
		if err != nil {
			return err
		}
		var amount int64
		if m.Amount != nil {
			amount = m.GetAmount()
		}
		plan, err := amountsOf(cur, held).PlanCancel(money.CancelRequest{
			Amount: amount, TaxFree: m.TaxFreeAmount, VAT: m.VatAmount, CurrentCancellable: m.CurrentCancellableAmount,
		})
		if err != nil {
			return moneyError(err, cancelField(err))
		}
		id := secrets.NewID("cnl")
		create := tx.Cancellation.Create().
			SetID(id).SetStoreID(cur.StoreID).SetPaymentID(cur.ID).
			SetStatus(cancellation.StatusREQUESTED).
			SetAmount(plan.Amount).SetTaxFree(plan.TaxFree).SetVat(plan.VAT).SetFull(plan.Full).
			SetReason(m.GetReason())
		if ra := m.GetRefundAccount(); ra != nil && cur.Method == payment.MethodVIRTUAL_ACCOUNT {
			sealed, err := s.keyring.Encrypt([]byte(ra.GetNumber()), []byte("refund:"+id))
			if err != nil {
				return err
			}
			create.SetRefundBank(string(refundBank)).SetRefundNumberSealed(sealed).
				SetRefundNumberMasked(maskDigits(ra.GetNumber())).SetRefundHolder(ra.GetHolder()).SetRefundPhone(ra.GetPhone())
		}
		c, err = create.Save(ctx)
		p = cur
		return err
	})
	if err != nil {
		return nil, err
	}
	res, pgErr := s.sendCancel(ctx, p, ch, c)
	p, c, err = s.settleCancel(ctx, p, c, res, pgErr)
	if err != nil {
		return nil, err
	}
	full, err := s.paymentPB(ctx, p)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&paymuxv1.CancelPaymentResponse{Payment: full, Cancellation: toCancellationPB(c)}), nil
}

// cancelField is the request field a refused cancel split is about.
func cancelField(err error) string {
	var me *money.Error
	if errors.As(err, &me) {
		switch me.Reason {
		case money.ReasonInvalidCancelTaxFreeAmount:
			return "tax_free_amount"
		case money.ReasonInvalidCancelVATAmount:
			return "vat_amount"
		}
	}
	return "amount"
}

func (s *paymentService) CloseVirtualAccount(ctx context.Context, req *connect.Request[paymuxv1.CloseVirtualAccountRequest]) (*connect.Response[paymuxv1.CloseVirtualAccountResponse], error) {
	p, err := s.loadPayment(ctx, req.Msg.GetId())
	if err != nil {
		return nil, err
	}
	if p, err = s.expireIfDue(ctx, p); err != nil {
		return nil, err
	}
	if _, err := paystate.Next(paystate.State(p.Status), paystate.CloseVirtualAccount); err != nil {
		return nil, transitionError(p, err)
	}
	ch, err := s.channelOf(ctx, p)
	if err != nil {
		return nil, err
	}
	pgctx, cancel := s.pgContext(ctx)
	_, err = ch.api.CloseVirtualAccount(pgctx, ch.pg, providers.CloseVirtualAccountRequest{
		PGTransactionID: p.PgTransactionID, OrderID: p.ID, Reason: req.Msg.GetReason(),
	})
	cancel()
	switch {
	case err == nil || providers.IsKind(err, providers.KindAlreadyDone):
	case providers.OutcomeUnknown(err):
		return nil, outcomeUnknownError(p, "closing the virtual account")
	default:
		return nil, pgError(p, err)
	}
	ctx = context.WithoutCancel(ctx)
	err = database.InTx(ctx, s.db, func(tx *ent.Tx) error {
		cur, err := lockPayment(ctx, tx, p.ID)
		if err != nil {
			return err
		}
		now := s.clock()
		p, err = s.transition(ctx, tx, cur, paystate.CloseVirtualAccount, func(u *ent.PaymentUpdateOne) { u.SetCancelledAt(now) })
		return err
	})
	if err != nil {
		return nil, err
	}
	full, err := s.paymentPB(ctx, p)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&paymuxv1.CloseVirtualAccountResponse{Payment: full}), nil
}
