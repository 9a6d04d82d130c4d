package sandbox

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/paymux/paymux/providers"
)

// maxDueIn is the latest deposit deadline the sandbox accepts (Toss: 30 days).
const maxDueIn = 30 * 24 * time.Hour

// IssueVirtualAccount issues a virtual account: the payment is
// VIRTUAL_ACCOUNT_ISSUED until SimulateDeposit, EXPIRED once the clock
// passes DueAt, CANCELLED once closed. The order id (with the idempotency
// key) guards against a second account, as for charges.
func (s *Sandbox) IssueVirtualAccount(ctx context.Context, ch providers.Channel, req providers.IssueVirtualAccountRequest) (*providers.Payment, error) {
	const op = "IssueVirtualAccount"
	m, now, unlock, err := s.begin(ctx, ch, op)
	if err != nil {
		return nil, err
	}
	defer unlock()

	if req.OrderID == "" {
		return nil, invalid(op, "ORDER_ID_REQUIRED", "an order id is required")
	}
	var receipt string
	if cr := req.CashReceipt; cr != nil {
		receipt = s.digest(cr.Type, cr.Identity.Reveal())
	}
	fp := s.digest(op, amountKey(req.Amount), req.Bank, req.DueAt.UnixNano(), req.AccountHolder, req.CustomerName, receipt)
	if p, ok, err := m.replay(op, req.OrderID, fp, req.IdempotencyKey); ok {
		return p, err
	}
	amounts, err := newAmounts(op, req.Amount)
	if err != nil {
		return nil, err
	}
	if !req.Bank.Valid() {
		return nil, invalid(op, "INVALID_BANK", "unknown bank %q", req.Bank)
	}
	due := req.DueAt
	switch {
	case due.IsZero():
		due = now.Add(s.opts.DefaultDueIn)
	case !due.After(now):
		return nil, invalid(op, "INVALID_DUE_DATE", "the due time %s is not in the future", due.Format(time.RFC3339))
	case due.Sub(now) > maxDueIn:
		return nil, invalid(op, "INVALID_DUE_DATE", "the due time is more than 30 days ahead")
	}
	if cr := req.CashReceipt; cr != nil {
		if err := checkIdentity(op, *cr); err != nil {
			return nil, err
		}
	}
	if err := m.claimKey(op, req.IdempotencyKey, req.OrderID); err != nil {
		return nil, err
	}
	holder := req.AccountHolder
	if holder == "" {
		holder = "PAYMUX SANDBOX"
	}
	tid := s.next("pay")
	number := fmt.Sprintf("9%s%010d", strings.TrimLeft(string(req.Bank), "0"), s.nextNumber())
	rec := &payment{
		op:          op,
		fingerprint: fp,
		idemKey:     req.IdempotencyKey,
		cashReceipt: req.CashReceipt,
		p: providers.Payment{
			PGTransactionID: tid,
			OrderID:         req.OrderID,
			OrderName:       req.OrderName,
			Method:          providers.MethodVirtualAccount,
			Status:          providers.StatusVirtualAccountIssued,
			Currency:        "KRW",
			Amounts:         amounts,
			RequestedAt:     now,
			VirtualAccount: &providers.VirtualAccount{
				Bank:          req.Bank,
				AccountNumber: number,
				Holder:        holder,
				CustomerName:  req.CustomerName,
				DueAt:         due,
			},
			NotificationSecret: "vs_" + s.digest("va-secret", ch.MerchantID, tid),
		},
	}
	m.payments[tid] = rec
	m.orders[req.OrderID] = rec
	m.accounts[number] = rec
	return rec.p.Clone(), nil
}

// CloseVirtualAccount closes an account before any deposit: the payment
// becomes CANCELLED. A deposited account answers InvalidRequest
// ALREADY_DEPOSITED (refund it with Cancel); an expired or closed one
// AlreadyDone.
func (s *Sandbox) CloseVirtualAccount(ctx context.Context, ch providers.Channel, req providers.CloseVirtualAccountRequest) (*providers.Payment, error) {
	const op = "CloseVirtualAccount"
	m, now, unlock, err := s.begin(ctx, ch, op)
	if err != nil {
		return nil, err
	}
	defer unlock()

	p := m.find(req.PGTransactionID, req.OrderID)
	if p == nil || p.p.Method != providers.MethodVirtualAccount {
		return nil, notFound(op, "VIRTUAL_ACCOUNT_NOT_FOUND", "no virtual account for transaction %q / order %q", req.PGTransactionID, req.OrderID)
	}
	s.refresh(p, now)
	switch p.p.Status {
	case providers.StatusVirtualAccountIssued:
	case providers.StatusExpired:
		return nil, alreadyDone(op, "VIRTUAL_ACCOUNT_EXPIRED", "the account expired unpaid")
	case providers.StatusCancelled:
		return nil, alreadyDone(op, "VIRTUAL_ACCOUNT_CLOSED", "the account is already closed")
	default:
		return nil, invalid(op, "ALREADY_DEPOSITED", "the account was deposited; refund it with Cancel")
	}
	p.p.Status = providers.StatusCancelled
	p.p.CancelledAt = now
	return p.p.Clone(), nil
}

// DepositRequest is a simulated deposit into a virtual account, named by
// transaction id, order id or account number.
type DepositRequest struct {
	PGTransactionID string
	OrderID         string
	AccountNumber   string
	// Amount deposited; 0 means the expected amount. Another amount is
	// refused by the bank (DEPOSIT_AMOUNT_MISMATCH).
	Amount        int64
	DepositorName string
}

// SimulateDeposit plays the bank: it deposits into an issued virtual
// account, which becomes PAID, and returns the deposit notification the PG
// would send, signed with the channel's notification_secret, for
// ParseNotification. An account past its due time answers InvalidRequest
// VIRTUAL_ACCOUNT_EXPIRED. When the account was issued with a cash receipt,
// the receipt is requested now (see LookupCashReceipt).
func (s *Sandbox) SimulateDeposit(ctx context.Context, ch providers.Channel, req DepositRequest) (*providers.Notification, error) {
	const op = "SimulateDeposit"
	m, now, unlock, err := s.begin(ctx, ch, op)
	if err != nil {
		return nil, err
	}
	defer unlock()

	secret := ch.Secret(SecretNotification)
	if secret == "" {
		return nil, invalid(op, "NOTIFICATION_SECRET_MISSING", "the channel has no %s to sign the notification", SecretNotification)
	}
	p := m.find(req.PGTransactionID, req.OrderID)
	if p == nil && req.PGTransactionID == "" && req.OrderID == "" {
		p = m.accounts[req.AccountNumber]
	}
	if p == nil || p.p.Method != providers.MethodVirtualAccount {
		return nil, notFound(op, "VIRTUAL_ACCOUNT_NOT_FOUND", "no virtual account for transaction %q / order %q / account %q",
			req.PGTransactionID, req.OrderID, req.AccountNumber)
	}
	s.refresh(p, now)
	switch p.p.Status {
	case providers.StatusVirtualAccountIssued:
	case providers.StatusExpired:
		return nil, invalid(op, "VIRTUAL_ACCOUNT_EXPIRED", "the account expired at %s", p.p.VirtualAccount.DueAt.Format(time.RFC3339))
	case providers.StatusCancelled:
		return nil, invalid(op, "VIRTUAL_ACCOUNT_CLOSED", "the account is closed")
	default:
		return nil, alreadyDone(op, "ALREADY_DEPOSITED", "the account was already deposited")
	}
	amount := req.Amount
	if amount == 0 {
		amount = p.p.Amounts.Total
	}
	if amount != p.p.Amounts.Total {
		return nil, invalid(op, "DEPOSIT_AMOUNT_MISMATCH", "the account takes exactly %d, not %d", p.p.Amounts.Total, amount)
	}
	depositor := req.DepositorName
	if depositor == "" {
		depositor = p.p.VirtualAccount.CustomerName
	}
	p.p.Status = providers.StatusPaid
	p.p.ApprovedAt = now
	p.p.Amounts.Paid = amount
	p.p.VirtualAccount.DepositorName = depositor
	p.p.VirtualAccount.DepositedAt = now
	if cr := p.cashReceipt; cr != nil {
		r := s.newReceipt(m, now, p.p.OrderID, *cr, p.p.Amounts, "", "")
		p.p.CashReceiptID = r.r.ReceiptID
	}
	body := notice{
		EventID:       s.next("evt"),
		EventType:     string(providers.EventDepositArrived),
		CreatedAt:     now,
		MerchantID:    ch.MerchantID,
		OrderID:       p.p.OrderID,
		TransactionID: p.p.PGTransactionID,
		Status:        string(p.p.Status),
		Amount:        amount,
		DepositorName: depositor,
	}
	return s.emit(m, secret, body, now)
}
