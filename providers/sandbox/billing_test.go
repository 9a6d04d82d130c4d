package sandbox_test

import (
	"testing"

	"github.com/paymux/paymux/providers"
	"github.com/paymux/paymux/providers/sandbox"
)

func issueKey(t *testing.T, sb *sandbox.Sandbox, ch providers.Channel, number, customer string) *providers.BillingKey {
	t.Helper()
	c := card(number)
	k, err := sb.IssueBillingKey(ctx, ch, providers.IssueBillingKeyRequest{CustomerKey: customer, Card: &c})
	noErr(t, err)
	return k
}

func TestBillingKeyCards(t *testing.T) {
	for _, tc := range []struct {
		name       string
		number     string
		issueCode  string // "": issued
		issueKind  providers.Kind
		chargeCode string // "": approved
		chargeKind providers.Kind
		lookup     providers.Status
	}{
		{name: "success", number: sandbox.CardSuccess, lookup: providers.StatusPaid},
		{name: "billing declines", number: sandbox.CardBillingDeclines, chargeKind: providers.KindDeclined, chargeCode: "SB_51", lookup: providers.StatusFailed},
		{name: "insufficient funds", number: sandbox.CardInsufficientFunds, chargeKind: providers.KindDeclined, chargeCode: "SB_51", lookup: providers.StatusFailed},
		{name: "limit exceeded", number: sandbox.CardLimitExceeded, chargeKind: providers.KindDeclined, chargeCode: "SB_61", lookup: providers.StatusFailed},
		{name: "lost or stolen", number: sandbox.CardLostOrStolen, issueKind: providers.KindDeclined, issueCode: "SB_43"},
		{name: "bad check digit", number: "9410000000000006", issueKind: providers.KindDeclined, issueCode: "SB_14"},
		{name: "timeout charged", number: sandbox.CardTimeoutCharged, chargeKind: providers.KindTimeout, chargeCode: "SB_TIMEOUT", lookup: providers.StatusPaid},
		{name: "timeout not charged", number: sandbox.CardTimeoutNotCharged, chargeKind: providers.KindTimeout, chargeCode: "SB_TIMEOUT"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sb, _, ch := setup(t)
			c := card(tc.number)
			k, err := sb.IssueBillingKey(ctx, ch, providers.IssueBillingKeyRequest{CustomerKey: "cust-1", OrderID: "reg-1", Card: &c})
			if tc.issueCode != "" {
				wantErr(t, err, tc.issueKind, tc.issueCode)
				// Replayed by order id.
				_, err = sb.IssueBillingKey(ctx, ch, providers.IssueBillingKeyRequest{CustomerKey: "cust-1", OrderID: "reg-1", Card: &c})
				wantErr(t, err, tc.issueKind, tc.issueCode)
				return
			}
			noErr(t, err)
			if k.Key == "" || k.CustomerKey != "cust-1" || k.Card.Number != c.Number.Masked() || k.IssuedAt.IsZero() || !k.DeletedAt.IsZero() {
				t.Fatalf("key = %+v", k)
			}
			p, err := sb.ChargeBillingKey(ctx, ch, providers.ChargeBillingKeyRequest{BillingKey: k.Key, CustomerKey: "cust-1",
				OrderID: "sub-1", OrderName: "월 구독", Amount: krw(9_900)})
			if tc.chargeCode != "" {
				wantErr(t, err, tc.chargeKind, tc.chargeCode)
			} else {
				noErr(t, err)
				if p.Status != providers.StatusPaid || p.BillingKey != k.Key || p.Amounts.Paid != 9_900 {
					t.Fatalf("charge = %+v", p)
				}
			}
			got, err := sb.Lookup(ctx, ch, providers.LookupRequest{OrderID: "sub-1"})
			if tc.lookup == "" {
				wantErr(t, err, providers.KindNotFound, "")
				return
			}
			noErr(t, err)
			if got.Status != tc.lookup || got.BillingKey != k.Key {
				t.Fatalf("lookup = %+v", got)
			}
		})
	}
}

func TestBillingKeyLifecycle(t *testing.T) {
	sb, _, ch := setup(t)
	c := card(sandbox.CardSuccess)
	req := providers.IssueBillingKeyRequest{CustomerKey: "cust-1", OrderID: "reg-1", Card: &c}
	k1, err := sb.IssueBillingKey(ctx, ch, req)
	noErr(t, err)
	k2, err := sb.IssueBillingKey(ctx, ch, req)
	noErr(t, err)
	if k1.Key != k2.Key {
		t.Fatal("a retry issued a second key")
	}
	other := card(sandbox.CardLimitExceeded)
	_, err = sb.IssueBillingKey(ctx, ch, providers.IssueBillingKeyRequest{CustomerKey: "cust-1", OrderID: "reg-1", Card: &other})
	wantErr(t, err, providers.KindAlreadyDone, "DUPLICATED_ORDER_ID")
	_, err = sb.IssueBillingKey(ctx, ch, providers.IssueBillingKeyRequest{CustomerKey: "c", Card: &other, IdempotencyKey: "ik"})
	noErr(t, err)
	_, err = sb.IssueBillingKey(ctx, ch, providers.IssueBillingKeyRequest{CustomerKey: "c", Card: &c, IdempotencyKey: "ik"})
	wantErr(t, err, providers.KindInvalidRequest, "IDEMPOTENCY_KEY_REUSED")

	// A billing key needs the owner id and password digits.
	bare := providers.CardData{Number: providers.NewCardNumber(sandbox.CardSuccess), ExpiryYear: 2030, ExpiryMonth: 1}
	_, err = sb.IssueBillingKey(ctx, ch, providers.IssueBillingKeyRequest{Card: &bare})
	wantErr(t, err, providers.KindInvalidRequest, "INVALID_OWNER_ID")
	bare.OwnerID = providers.NewRedacted("1234567890") // a business number
	_, err = sb.IssueBillingKey(ctx, ch, providers.IssueBillingKeyRequest{Card: &bare})
	wantErr(t, err, providers.KindInvalidRequest, "INVALID_CARD_PASSWORD")
	_, err = sb.IssueBillingKey(ctx, ch, providers.IssueBillingKeyRequest{})
	wantErr(t, err, providers.KindInvalidRequest, "CARD_OR_WINDOW")
	_, err = sb.IssueBillingKey(ctx, ch, providers.IssueBillingKeyRequest{Card: &c, Window: providers.WindowResult{}})
	wantErr(t, err, providers.KindInvalidRequest, "CARD_OR_WINDOW")

	// Charges: the order id guards, the customer key must match.
	charge := providers.ChargeBillingKeyRequest{BillingKey: k1.Key, CustomerKey: "cust-1", OrderID: "sub-1", Amount: krw(60_000), InstallmentMonths: 3}
	p1, err := sb.ChargeBillingKey(ctx, ch, charge)
	noErr(t, err)
	p2, err := sb.ChargeBillingKey(ctx, ch, charge)
	noErr(t, err)
	if p1.PGTransactionID != p2.PGTransactionID || p1.Card.InstallmentMonths != 3 {
		t.Fatal("a retried billing charge charged again")
	}
	wrong := charge
	wrong.OrderID, wrong.CustomerKey = "sub-2", "cust-2"
	_, err = sb.ChargeBillingKey(ctx, ch, wrong)
	wantErr(t, err, providers.KindInvalidRequest, "CUSTOMER_KEY_MISMATCH")
	_, err = sb.ChargeBillingKey(ctx, ch, providers.ChargeBillingKeyRequest{BillingKey: "nope", OrderID: "sub-3", Amount: krw(1000)})
	wantErr(t, err, providers.KindNotFound, "BILLING_KEY_NOT_FOUND")
	_, err = sb.ChargeBillingKey(ctx, ch, providers.ChargeBillingKeyRequest{BillingKey: k1.Key, Amount: krw(1000)})
	wantErr(t, err, providers.KindInvalidRequest, "ORDER_ID_REQUIRED")

	// Delete: later charges NotFound, a second delete AlreadyDone.
	_, err = sb.DeleteBillingKey(ctx, ch, providers.DeleteBillingKeyRequest{BillingKey: k1.Key, CustomerKey: "cust-2"})
	wantErr(t, err, providers.KindInvalidRequest, "CUSTOMER_KEY_MISMATCH")
	d, err := sb.DeleteBillingKey(ctx, ch, providers.DeleteBillingKeyRequest{BillingKey: k1.Key, CustomerKey: "cust-1"})
	noErr(t, err)
	if d.DeletedAt.IsZero() {
		t.Fatal("DeletedAt not set")
	}
	_, err = sb.DeleteBillingKey(ctx, ch, providers.DeleteBillingKeyRequest{BillingKey: k1.Key})
	wantErr(t, err, providers.KindAlreadyDone, "BILLING_KEY_ALREADY_DELETED")
	_, err = sb.DeleteBillingKey(ctx, ch, providers.DeleteBillingKeyRequest{BillingKey: "nope"})
	wantErr(t, err, providers.KindNotFound, "BILLING_KEY_NOT_FOUND")
	_, err = sb.ChargeBillingKey(ctx, ch, providers.ChargeBillingKeyRequest{BillingKey: k1.Key, OrderID: "sub-4", Amount: krw(1000)})
	wantErr(t, err, providers.KindNotFound, "BILLING_KEY_DELETED")
	// The charge made before the deletion still replays.
	p3, err := sb.ChargeBillingKey(ctx, ch, charge)
	noErr(t, err)
	if p3.PGTransactionID != p1.PGTransactionID {
		t.Fatal("replay after deletion")
	}
}

func TestBillingKeyFromWindow(t *testing.T) {
	sb, _, ch := setup(t)
	w, err := sb.PrepareWindow(ctx, ch, providers.PrepareWindowRequest{Purpose: providers.WindowBillingKey, CustomerKey: "cust-9"})
	noErr(t, err)
	if w.Params[sandbox.WindowCustomerKey] != "cust-9" {
		t.Fatalf("params %v", w.Params)
	}
	res, err := sb.AuthenticateWindow(ctx, ch, w.Params[sandbox.WindowSessionID], sandbox.WindowAuth{Card: card(sandbox.CardBillingDeclines)})
	noErr(t, err)
	_, err = sb.IssueBillingKey(ctx, ch, providers.IssueBillingKeyRequest{CustomerKey: "someone-else", Window: res})
	wantErr(t, err, providers.KindInvalidRequest, "CUSTOMER_KEY_MISMATCH")
	k, err := sb.IssueBillingKey(ctx, ch, providers.IssueBillingKeyRequest{Window: res, IdempotencyKey: "w-1"})
	noErr(t, err)
	if k.CustomerKey != "cust-9" {
		t.Fatalf("key = %+v", k)
	}
	again, err := sb.IssueBillingKey(ctx, ch, providers.IssueBillingKeyRequest{Window: res, IdempotencyKey: "w-1"})
	noErr(t, err)
	if again.Key != k.Key {
		t.Fatal("retry issued another key")
	}
	_, err = sb.IssueBillingKey(ctx, ch, providers.IssueBillingKeyRequest{Window: res})
	wantErr(t, err, providers.KindNotFound, "WINDOW_NOT_FOUND") // one key per window
	_, err = sb.ChargeBillingKey(ctx, ch, providers.ChargeBillingKeyRequest{BillingKey: k.Key, OrderID: "s-1", Amount: krw(9_900)})
	wantErr(t, err, providers.KindDeclined, "SB_51")
}
