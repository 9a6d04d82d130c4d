package providers

import (
	"fmt"
	"math/bits"
	"strings"
)

// Capabilities is a set of flags: what a provider supports. paymux checks
// them before calling, to answer "not supported by this PG" cleanly; a
// provider still answers ErrNotSupported if called anyway.
type Capabilities uint64

const (
	// CapWindow: PrepareWindow and Approve (the PG's payment window with
	// server approval).
	CapWindow Capabilities = 1 << iota
	// CapLookupByOrderID: Lookup accepts an order id alone (needed to
	// resolve an approval whose answer, and so the PG transaction id, was
	// lost).
	CapLookupByOrderID
	// CapPartialCancel: Cancel with an amount below the cancellable balance.
	CapPartialCancel
	// CapTaxFreeCancel: a cancel carries its tax-free part.
	CapTaxFreeCancel
	// CapVATCancel: a cancel carries its VAT part (otherwise the PG derives
	// it).
	CapVATCancel
	// CapCancelGuard: the PG itself checks the caller's idea of the
	// cancellable balance (KCP rem_mny, Inicis confirmPrice).
	CapCancelGuard
	// CapNetCancel: NetCancel, a void of an approval whose answer was lost.
	CapNetCancel
	// CapKeyIn: ChargeKeyIn.
	CapKeyIn
	// CapBillingKeyFromCard: IssueBillingKey with card data.
	CapBillingKeyFromCard
	// CapBillingKeyFromWindow: IssueBillingKey with a billing window's result.
	CapBillingKeyFromWindow
	// CapBillingKeyDelete: DeleteBillingKey at the PG.
	CapBillingKeyDelete
	// CapVirtualAccount: IssueVirtualAccount from the server (without the
	// window).
	CapVirtualAccount
	// CapVirtualAccountClose: CloseVirtualAccount before a deposit.
	CapVirtualAccountClose
	// CapVirtualAccountRefund: Cancel of a deposited virtual account to a
	// refund account.
	CapVirtualAccountRefund
	// CapCashReceipt: IssueCashReceipt, CancelCashReceipt and
	// LookupCashReceipt.
	CapCashReceipt
	// CapCashReceiptPartialCancel: CancelCashReceipt of part of a receipt.
	CapCashReceiptPartialCancel
	// CapNotifications: ParseNotification (the PG sends notifications).
	CapNotifications
	// CapSignedNotifications: notifications carry a signature ParseNotification
	// verifies with the channel's secrets, so their content can be trusted
	// without a Lookup.
	CapSignedNotifications
	// CapIdempotencyKey: the PG itself honours the idempotency key of a
	// request (a retry returns the first answer).
	CapIdempotencyKey
	// CapNetCancelOnTimeout: the PG asks that an approval whose answer
	// timed out be net-cancelled at once rather than looked up (NicePay's
	// guidance: read timeout 30 s, then net-cancel).
	CapNetCancelOnTimeout

	capEnd // keep last
)

var capNames = [...]string{
	"WINDOW", "LOOKUP_BY_ORDER_ID", "PARTIAL_CANCEL", "TAX_FREE_CANCEL", "VAT_CANCEL", "CANCEL_GUARD",
	"NET_CANCEL", "KEY_IN", "BILLING_KEY_FROM_CARD", "BILLING_KEY_FROM_WINDOW", "BILLING_KEY_DELETE",
	"VIRTUAL_ACCOUNT", "VIRTUAL_ACCOUNT_CLOSE", "VIRTUAL_ACCOUNT_REFUND", "CASH_RECEIPT",
	"CASH_RECEIPT_PARTIAL_CANCEL", "NOTIFICATIONS", "SIGNED_NOTIFICATIONS", "IDEMPOTENCY_KEY",
	"NET_CANCEL_ON_TIMEOUT",
}

// AllCapabilities has every flag set.
const AllCapabilities = capEnd - 1

// Has reports whether every flag of want is set.
func (c Capabilities) Has(want Capabilities) bool { return c&want == want }

// Missing returns the flags of want that c lacks.
func (c Capabilities) Missing(want Capabilities) Capabilities { return want &^ c }

// String lists the flags, e.g. "PARTIAL_CANCEL|NET_CANCEL".
func (c Capabilities) String() string {
	if c == 0 {
		return "NONE"
	}
	var names []string
	for v := uint64(c); v != 0; v &= v - 1 {
		i := bits.TrailingZeros64(v)
		if i < len(capNames) {
			names = append(names, capNames[i])
		} else {
			names = append(names, fmt.Sprintf("BIT%d", i))
		}
	}
	return strings.Join(names, "|")
}

// Require returns nil when p has every flag of want, or an error wrapping
// ErrNotSupported that names the missing ones.
func Require(p Provider, want Capabilities) error {
	if missing := p.Capabilities().Missing(want); missing != 0 {
		return fmt.Errorf("%s: %s: %w", p.Name(), missing, ErrNotSupported)
	}
	return nil
}
