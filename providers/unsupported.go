package providers

import "context"

// Unsupported answers every Provider method except Name and Capabilities with
// an error wrapping ErrNotSupported. An adapter embeds it and overrides what
// its PG offers, so a method it lacks is refused rather than missing:
//
//	type adapter struct{ providers.Unsupported }
//	func newAdapter() *adapter { return &adapter{providers.Unsupported{Provider: "kcp"}} }
type Unsupported struct {
	Provider string // the provider name used in the errors
}

func (u Unsupported) no(op string) error { return NotSupported(u.Provider, op) }

func (u Unsupported) PrepareWindow(context.Context, Channel, PrepareWindowRequest) (*PrepareWindowResult, error) {
	return nil, u.no("PrepareWindow")
}

func (u Unsupported) Approve(context.Context, Channel, ApproveRequest) (*Payment, error) {
	return nil, u.no("Approve")
}

func (u Unsupported) Lookup(context.Context, Channel, LookupRequest) (*Payment, error) {
	return nil, u.no("Lookup")
}

func (u Unsupported) Cancel(context.Context, Channel, CancelRequest) (*CancelResult, error) {
	return nil, u.no("Cancel")
}

func (u Unsupported) NetCancel(context.Context, Channel, NetCancelRequest) (*Payment, error) {
	return nil, u.no("NetCancel")
}

func (u Unsupported) ChargeKeyIn(context.Context, Channel, KeyInRequest) (*Payment, error) {
	return nil, u.no("ChargeKeyIn")
}

func (u Unsupported) IssueBillingKey(context.Context, Channel, IssueBillingKeyRequest) (*BillingKey, error) {
	return nil, u.no("IssueBillingKey")
}

func (u Unsupported) ChargeBillingKey(context.Context, Channel, ChargeBillingKeyRequest) (*Payment, error) {
	return nil, u.no("ChargeBillingKey")
}

func (u Unsupported) DeleteBillingKey(context.Context, Channel, DeleteBillingKeyRequest) (*BillingKey, error) {
	return nil, u.no("DeleteBillingKey")
}

func (u Unsupported) IssueVirtualAccount(context.Context, Channel, IssueVirtualAccountRequest) (*Payment, error) {
	return nil, u.no("IssueVirtualAccount")
}

func (u Unsupported) CloseVirtualAccount(context.Context, Channel, CloseVirtualAccountRequest) (*Payment, error) {
	return nil, u.no("CloseVirtualAccount")
}

func (u Unsupported) IssueCashReceipt(context.Context, Channel, IssueCashReceiptRequest) (*CashReceipt, error) {
	return nil, u.no("IssueCashReceipt")
}

func (u Unsupported) CancelCashReceipt(context.Context, Channel, CancelCashReceiptRequest) (*CashReceipt, error) {
	return nil, u.no("CancelCashReceipt")
}

func (u Unsupported) LookupCashReceipt(context.Context, Channel, LookupCashReceiptRequest) (*CashReceipt, error) {
	return nil, u.no("LookupCashReceipt")
}

func (u Unsupported) ParseNotification(context.Context, Channel, Notification) (*Event, error) {
	return nil, u.no("ParseNotification")
}
