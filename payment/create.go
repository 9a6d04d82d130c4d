package payment

import (
	"context"
	"strings"
	"time"

	"github.com/paymux/paymux/apierr"
	"github.com/paymux/paymux/database"
	"github.com/paymux/paymux/ent"
	"github.com/paymux/paymux/ent/payment"
	"github.com/paymux/paymux/ent/preregistration"
	"github.com/paymux/paymux/ent/schedule"
	"github.com/paymux/paymux/ent/schema/details"
	"github.com/paymux/paymux/money"
	"github.com/paymux/paymux/paystate"
	"github.com/paymux/paymux/providers"
	"github.com/paymux/paymux/secrets"
	"github.com/paymux/paymux/tenant"
)

// PreRegisterInput is an amount fixed ahead for a merchant payment id: a
// payment under that id for another amount is refused (seed 002).
type PreRegisterInput struct {
	StoreID           string
	MerchantPaymentID string
	Total             int64
	TaxFree           *int64
	Currency          string
}

// PreRegister records (or replaces) the amount expected for a merchant
// payment id not yet used by a payment.
func (s *Service) PreRegister(ctx context.Context, in PreRegisterInput) (*ent.PreRegistration, error) {
	if in.TaxFree != nil && *in.TaxFree > in.Total {
		return nil, apierr.InvalidField("tax_free_amount", "must not exceed total_amount %d", in.Total)
	}
	var row *ent.PreRegistration
	err := database.InTx(ctx, s.db, func(tx *ent.Tx) error {
		taken, err := tx.Payment.Query().Where(payment.MerchantPaymentID(in.MerchantPaymentID)).Exist(ctx)
		if err != nil {
			return err
		}
		if taken {
			return errPaymentExists(in.MerchantPaymentID)
		}
		id, err := tx.PreRegistration.Create().
			SetStoreID(in.StoreID).
			SetMerchantPaymentID(in.MerchantPaymentID).
			SetTotal(in.Total).
			SetNillableTaxFree(in.TaxFree).
			SetCurrency(currencyOf(in.Currency)).
			OnConflictColumns(preregistration.FieldStoreID, preregistration.FieldMerchantPaymentID).
			UpdateNewValues().
			ID(ctx)
		if err != nil {
			return err
		}
		row, err = tx.PreRegistration.Get(ctx, id)
		return err
	})
	return row, err
}

func currencyOf(c string) string {
	if c == "" {
		return "KRW"
	}
	return c
}

func errPaymentExists(merchantID string) error {
	return apierr.New(apierr.CodeAlreadyExists, ReasonPaymentAlreadyExists,
		"merchant payment id %q is already used by a payment: every payment (a failed one included) needs a new one", merchantID)
}

func errWindowNotCompleted(p *ent.Payment) error {
	return apierr.WithMetadata(apierr.CodeFailedPrecondition, ReasonWindowNotCompleted,
		map[string]string{"payment_id": p.ID},
		"the buyer has not completed the payment window of %s: pass its window_result, or let the window return through paymux", p.ID)
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
		return apierr.WithMetadata(apierr.CodeInvalidArgument, ReasonInformationMismatch,
			map[string]string{"merchant_payment_id": merchantID, "field": field},
			"%s: the amount differs from the one pre-registered for %q", field, merchantID)
	}
	return nil
}

// Amount is a requested amount: the total, its tax-free part, and its VAT
// (nil: computed from the rest).
type Amount struct {
	Total   int64
	TaxFree int64
	VAT     *int64
}

// NewInput is what every new payment names.
type NewInput struct {
	StoreID           string
	ChannelID         string // "": the store's default channel of the key's mode
	MerchantPaymentID string
	OrderName         string
	Currency          string // "": KRW
	Amount            Amount
	Buyer             providers.Buyer
	// BillingKeyCharge says the payment charges a billing key of
	// ChannelID: the channel may be archived, since what it issued keeps
	// working.
	BillingKeyCharge bool
}

// Draft is a payment checked and about to be created: its id, amounts,
// channel and row.
type Draft struct {
	ID         string
	merchantID string
	Amounts    money.Amounts
	CreatedAt  time.Time
	// Channel is nil for a bank transfer order.
	Channel *Channel
	// fields sets the new row's fields on a create builder.
	fields []func(*ent.PaymentCreate)
}

// Set adds fields to the row to create.
func (np *Draft) Set(f func(*ent.PaymentCreate)) { np.fields = append(np.fields, f) }

// PrepareNew checks a new payment (amounts, channel, pre-registration, a
// merchant payment id not yet used) and gives it an id; Insert creates it.
func (s *Service) PrepareNew(ctx context.Context, in NewInput, method payment.Method, model payment.ApprovalModel) (*Draft, error) {
	ch, err := s.channelForNew(ctx, in.ChannelID, in.BillingKeyCharge)
	if err != nil {
		return nil, err
	}
	amounts, err := AmountsFor(ch.Row.TaxType, in.Amount, "amount")
	if err != nil {
		return nil, err
	}
	np, err := s.draft(ctx, in, amounts, method, model)
	if err != nil {
		return nil, err
	}
	np.Channel = ch
	np.Set(func(c *ent.PaymentCreate) {
		c.SetChannelID(ch.Row.ID).SetProvider(string(ch.Row.Provider)).SetMode(payment.Mode(ch.Row.Mode))
	})
	return np, nil
}

// draft checks what every new payment must pass whatever it is paid
// through (pre-registration, a merchant payment id not yet used) and sets
// the fields every payment has; the caller adds channel, provider and mode.
func (s *Service) draft(ctx context.Context, in NewInput, amounts money.Amounts, method payment.Method, model payment.ApprovalModel) (*Draft, error) {
	merchantID := in.MerchantPaymentID
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
	viewer, _ := tenant.FromContext(ctx)
	set := func(c *ent.PaymentCreate) {
		c.SetID(id).
			SetStoreID(in.StoreID).
			SetMerchantPaymentID(merchantID).
			SetOrderName(in.OrderName).
			SetMethod(method).
			SetApprovalModel(model).
			SetStatus(payment.StatusREADY).
			SetStatusAt(now).
			SetCreatedAt(now).
			SetUpdatedAt(now).
			SetCurrency(currencyOf(in.Currency)).
			SetTotal(amounts.Total).
			SetTaxFree(amounts.TaxFree).
			SetVat(amounts.VAT).
			SetCustomerName(in.Buyer.Name).
			SetCustomerEmail(in.Buyer.Email).
			SetCustomerPhone(in.Buyer.Phone).
			SetKeyID(viewer.KeyID)
	}
	return &Draft{ID: id, merchantID: merchantID, Amounts: amounts, CreatedAt: now, fields: []func(*ent.PaymentCreate){set}}, nil
}

// Insert creates the READY payment (and its event) in one transaction,
// and runs then on the created row in the same transaction.
func (s *Service) Insert(ctx context.Context, np *Draft, then func(tx *ent.Tx, p *ent.Payment) (*ent.Payment, error)) (*ent.Payment, error) {
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

// CheckReturnURL refuses a window's return URL that is not http(s) (the
// API checks it is a URL).
func CheckReturnURL(u string) error {
	if u != "" && !strings.HasPrefix(u, "http://") && !strings.HasPrefix(u, "https://") {
		return apierr.InvalidField("return_url", "must be an http or https URL")
	}
	return nil
}

// CreateInput is a payment through the payment window.
type CreateInput struct {
	NewInput
	Method        payment.Method        // "": CARD
	ApprovalModel payment.ApprovalModel // who approves: the merchant (SERVER) or the window (CLIENT)
	ReturnURL     string                // where the buyer goes after the window
}

// Create opens the PG's payment window for a new payment and records the
// payment READY. The window is opened before the row exists: a refused
// window leaves nothing behind, and an unused PG session costs nothing.
func (s *Service) Create(ctx context.Context, in CreateInput) (*ent.Payment, *providers.PrepareWindowResult, error) {
	if err := CheckReturnURL(in.ReturnURL); err != nil {
		return nil, nil, err
	}
	method := cmpOr(in.Method, payment.MethodCARD)
	if method == payment.MethodBANK_TRANSFER {
		return nil, nil, apierr.InvalidField("method", "a bank transfer has no window: create the order with CreateInstantPayment's bank_transfer (POST /v1/payments/instant)")
	}
	model := cmpOr(in.ApprovalModel, payment.ApprovalModelSERVER)
	np, err := s.PrepareNew(ctx, in.NewInput, method, model)
	if err != nil {
		return nil, nil, err
	}
	if method == payment.MethodVIRTUAL_ACCOUNT && np.Channel.API.Capabilities().Has(providers.CapVirtualAccount) {
		// Only a PG that issues accounts through its window alone (NicePay)
		// opens a window for one.
		return nil, nil, apierr.InvalidField("method", "%s issues virtual accounts from the server: use CreateInstantPayment (POST /v1/payments/instant)", np.Channel.API.Name())
	}
	np.Set(func(c *ent.PaymentCreate) { c.SetReturnURL(in.ReturnURL) })
	pgctx, cancel := s.PGContext(ctx)
	win, err := np.Channel.API.PrepareWindow(pgctx, np.Channel.PG, providers.PrepareWindowRequest{
		Purpose:       providers.WindowPayment,
		ApprovalModel: providers.ApprovalModel(model),
		Method:        providers.PayMethod(method),
		OrderID:       np.ID,
		OrderName:     in.OrderName,
		Amount:        providers.Amount{Total: np.Amounts.Total, TaxFree: np.Amounts.TaxFree, VAT: &np.Amounts.VAT, Currency: currencyOf(in.Currency)},
		ReturnURL:     s.returnURL(np.ID),
		Buyer:         in.Buyer,
	})
	cancel()
	if err != nil {
		return nil, nil, PGError(nil, err)
	}
	if win.RedirectURL == "" && win.SDKURL != "" {
		// The PG's window opens through its JS SDK: paymux's checkout page
		// runs it, so the merchant sends the buyer to a URL as for any PG.
		np.Set(func(c *ent.PaymentCreate) {
			c.SetCheckout(&details.Checkout{SDKURL: win.SDKURL, Params: win.Params, Launch: win.Launch})
		})
		win.RedirectURL = s.checkoutURL(np.ID)
	}
	p, err := s.Insert(ctx, np, nil)
	if err != nil {
		return nil, nil, err
	}
	return p, win, nil
}

func cmpOr[T ~string](v, def T) T {
	if v == "" {
		return def
	}
	return v
}

// Confirm approves a window payment under the server approval model, for
// the amount the merchant expects: the window's result (given, or kept
// when the window returned through paymux) goes to the PG's approval.
func (s *Service) Confirm(ctx context.Context, id string, amount int64, window map[string]string) (*ent.Payment, error) {
	// check runs on the locked row, inside the transaction that moves it to
	// PAY_PENDING: whatever it reads goes through tx, never the pool (a
	// transaction waiting for a second connection can starve the pool).
	check := func(pre *ent.PreRegistrationClient, p *ent.Payment) error {
		if p.Method == payment.MethodBANK_TRANSFER {
			return errPaidByDeposit(p)
		}
		if p.ApprovalModel != payment.ApprovalModelSERVER {
			return apierr.New(apierr.CodeFailedPrecondition, ReasonApprovalModelMismatch,
				"payment %s uses client approval: the window approves it; look it up to verify", p.ID)
		}
		if p.Status != payment.StatusREADY {
			_, err := paystate.Next(paystate.State(p.Status), paystate.MarkPending)
			return TransitionError(p, err)
		}
		if amount != p.Total {
			return apierr.WithMetadata(apierr.CodeInvalidArgument, ReasonInformationMismatch,
				map[string]string{"payment_id": p.ID, "field": "amount"},
				"amount: %d differs from the payment's amount; nothing was charged", amount)
		}
		return checkPreRegistered(ctx, pre, p.MerchantPaymentID, p.Total, p.TaxFree, "amount")
	}
	return s.approveWindow(ctx, id, window, check)
}

// InstantInput is a payment made at once: a card charged by its data
// (key-in), or a virtual account issued. Exactly one is set.
type InstantInput struct {
	NewInput
	Card           *CardInput
	VirtualAccount *VirtualAccountInput
}

// CardInput is card data to charge.
type CardInput struct {
	Data              providers.CardData
	InstallmentMonths int
}

// VirtualAccountInput asks for a virtual account.
type VirtualAccountInput struct {
	Bank          string // the bank's code
	AccountHolder string
	DueAt         time.Time // zero: the PG's default
	CashReceipt   *CashReceiptSubject
}

// CashReceiptSubject is who a cash receipt is issued to.
type CashReceiptSubject struct {
	Type     providers.CashReceiptType
	Identity string // a phone, business or card number: masked wherever kept
}

// CreateInstant makes a payment at once: a card charge (PAID or FAILED) or
// a virtual account (VIRTUAL_ACCOUNT_ISSUED).
func (s *Service) CreateInstant(ctx context.Context, in InstantInput) (*ent.Payment, error) {
	method := payment.MethodCARD
	if in.VirtualAccount != nil {
		method = payment.MethodVIRTUAL_ACCOUNT
	}
	if in.Card != nil {
		if err := money.CheckInstallment(int32(in.Card.InstallmentMonths), in.Amount.Total); err != nil {
			return nil, MoneyError(err, "card.installment_months")
		}
	}
	var bank providers.Bank
	if va := in.VirtualAccount; va != nil {
		var err error
		if bank, err = providers.ParseBank(va.Bank); err != nil || !bank.Valid() {
			return nil, apierr.InvalidField("virtual_account.bank", "unknown bank code %q", va.Bank)
		}
	}
	np, err := s.PrepareNew(ctx, in.NewInput, method, payment.ApprovalModelSERVER)
	if err != nil {
		return nil, err
	}
	if in.Card != nil {
		return s.chargeCard(ctx, np, in)
	}
	return s.issueVirtualAccount(ctx, np, in, bank)
}

// chargeCard charges card data at once: the payment is created already
// PAY_PENDING, then the PG's answer is recorded.
func (s *Service) chargeCard(ctx context.Context, np *Draft, in InstantInput) (*ent.Payment, error) {
	p, err := s.Insert(ctx, np, func(tx *ent.Tx, p *ent.Payment) (*ent.Payment, error) {
		return s.Transition(ctx, tx, p, paystate.MarkPending, nil)
	})
	if err != nil {
		return nil, err
	}
	pgctx, cancel := s.PGContext(ctx)
	defer cancel()
	res, err := np.Channel.API.ChargeKeyIn(pgctx, np.Channel.PG, providers.KeyInRequest{
		OrderID:           p.ID,
		OrderName:         p.OrderName,
		Amount:            PGAmount(p),
		Card:              in.Card.Data,
		InstallmentMonths: in.Card.InstallmentMonths,
		Buyer:             in.Buyer,
		IdempotencyKey:    p.ID,
	})
	return s.SettleCharge(ctx, p, np.Channel, res, err)
}

// issueVirtualAccount asks the PG for a virtual account for a new payment.
func (s *Service) issueVirtualAccount(ctx context.Context, np *Draft, in InstantInput, bank providers.Bank) (*ent.Payment, error) {
	va := in.VirtualAccount
	p, err := s.Insert(ctx, np, nil)
	if err != nil {
		return nil, err
	}
	req := providers.IssueVirtualAccountRequest{
		OrderID:        p.ID,
		OrderName:      p.OrderName,
		Amount:         PGAmount(p),
		Bank:           bank,
		AccountHolder:  va.AccountHolder,
		CustomerName:   p.CustomerName,
		Buyer:          in.Buyer,
		IdempotencyKey: p.ID,
		DueAt:          va.DueAt,
	}
	var receipt *details.VirtualAccount
	if cr := va.CashReceipt; cr != nil {
		req.CashReceipt = &providers.CashReceiptSubject{Type: cr.Type, Identity: providers.NewRedacted(cr.Identity)}
		receipt = &details.VirtualAccount{CashReceiptType: string(cr.Type), CashReceiptIdentity: MaskDigits(cr.Identity)}
	}
	ch := np.Channel
	pgctx, cancel := s.PGContext(ctx)
	res, err := ch.API.IssueVirtualAccount(pgctx, ch.PG, req)
	cancel()
	ctx = context.WithoutCancel(ctx)
	if err != nil && providers.OutcomeUnknown(err) {
		pgctx, cancel := s.PGContext(ctx)
		res, err = ch.API.Lookup(pgctx, ch.PG, providers.LookupRequest{OrderID: p.ID, OrderDate: p.CreatedAt})
		cancel()
		if err != nil && providers.OutcomeUnknown(err) {
			return p, outcomeUnknownError(p, "the virtual account request")
		}
	}
	if err != nil {
		failed, ferr := s.recordFailure(ctx, p.ID, FailureOf(FailRefused, err), "")
		if ferr != nil {
			return nil, ferr
		}
		return failed, PGError(failed, err)
	}
	return s.recordVirtualAccount(ctx, p, res, receipt)
}

// MaskDigits keeps the first 3 and last 4 digits of an identity or
// account number.
func MaskDigits(s string) string {
	if len(s) <= 7 {
		return strings.Repeat("*", len(s))
	}
	return s[:3] + strings.Repeat("*", len(s)-7) + s[len(s)-4:]
}
