package payment_test

import (
	"context"
	"testing"
	"time"

	"github.com/paymux/paymux/apierr"
	"github.com/paymux/paymux/ent"
	"github.com/paymux/paymux/ent/channel"
	entpayment "github.com/paymux/paymux/ent/payment"
	"github.com/paymux/paymux/internal/testdb"
	"github.com/paymux/paymux/payment"
	"github.com/paymux/paymux/providers"
	"github.com/paymux/paymux/providers/sandbox"
	"github.com/paymux/paymux/tenant"
)

// payOn pays a window payment of total on channel ch through the sandbox.
func (e *channelEnv) payOn(t *testing.T, ch *ent.Channel, order string, total int64) *ent.Payment {
	t.Helper()
	p, win, err := e.svc.Create(e.ctx[0], payment.CreateInput{
		NewInput: payment.NewInput{StoreID: e.stores[0], ChannelID: ch.ID, MerchantPaymentID: order, OrderName: "mug", Amount: payment.Amount{Total: total}},
	})
	if err != nil {
		t.Fatal(err)
	}
	result, err := e.sandbox.AuthenticateWindow(context.Background(),
		providers.Channel{ID: ch.ID, MerchantID: ch.MerchantID, Mode: providers.ModeTest},
		win.Params[sandbox.WindowSessionID], sandbox.WindowAuth{Card: providers.CardData{
			Number: providers.NewCardNumber(sandbox.CardSuccess), ExpiryYear: time.Now().Year() + 2, ExpiryMonth: 12,
		}})
	if err != nil {
		t.Fatal(err)
	}
	if p, err = e.svc.Confirm(e.ctx[0], p.ID, total, result); err != nil || p.Status != entpayment.StatusPAID {
		t.Fatalf("confirm: %v %v", p, err)
	}
	return p
}

// TestDeleteChannelArchivesWhatItServes: a channel with payments is archived,
// not removed: it takes no new payment and is nobody's default, while its
// payments can still be cancelled. One without is removed.
func TestDeleteChannelArchivesWhatItServes(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, db *ent.Client) {
		e := newChannelEnv(t, db)
		e.create(t, 0, "main", channel.PurposePAYMENT, "k1")
		used := e.create(t, 0, "used", channel.PurposePAYMENT, "k2")
		unused := e.create(t, 0, "unused", channel.PurposePAYMENT, "k3")
		p := e.payOn(t, used, "order-archived", 10000)

		archived, err := e.svc.DeleteChannel(e.ctx[0], unused.ID)
		if err != nil || archived {
			t.Fatalf("delete of an unused channel: archived %v, %v", archived, err)
		}
		if db.Channel.Query().Where(channel.ID(unused.ID)).ExistX(tenant.System(e.ctx[0])) {
			t.Fatal("the unused channel is still there")
		}
		for range 2 { // again: still archived, nothing else happens
			archived, err = e.svc.DeleteChannel(e.ctx[0], used.ID)
			if err != nil || !archived {
				t.Fatalf("delete of a used channel: archived %v, %v", archived, err)
			}
		}
		row := db.Channel.GetX(tenant.System(e.ctx[0]), used.ID)
		if row.ArchivedAt == nil || row.Default {
			t.Fatalf("archived channel %+v", row)
		}
		_, _, err = e.svc.Create(e.ctx[0], payment.CreateInput{NewInput: payment.NewInput{
			StoreID: e.stores[0], ChannelID: used.ID, MerchantPaymentID: "order-new", OrderName: "mug", Amount: payment.Amount{Total: 1000}}})
		wantReason(t, err, apierr.CodeFailedPrecondition, payment.ReasonChannelArchived)
		_, err = e.svc.UpdateChannel(e.ctx[0], payment.ChannelChange{ID: used.ID, Fields: []string{"default"}, Default: true})
		wantReason(t, err, apierr.CodeFailedPrecondition, payment.ReasonChannelArchived)

		half := int64(4000)
		got, _, err := e.svc.Cancel(e.ctx[0], payment.CancelInput{ID: p.ID, Amount: &half, Reason: "after the archive"})
		if err != nil || got.Status != entpayment.StatusPARTIAL_CANCELLED || got.Cancelled != 4000 {
			t.Fatalf("cancel on an archived channel: %+v, %v", got, err)
		}
	})
}

// TestTaxTypeSetsDefaultVAT: a channel's tax type sets the VAT of its
// payments; a TAX_FREE channel charges no VAT and refuses an amount that
// says otherwise.
func TestTaxTypeSetsDefaultVAT(t *testing.T) {
	vat := func(v int64) *int64 { return &v }
	tests := []struct {
		name         string
		taxType      channel.TaxType
		amount       payment.Amount
		taxFree, vat int64
		badField     string
	}{
		{"taxable", channel.TaxTypeTAXABLE, payment.Amount{Total: 11000}, 0, 1000, ""},
		{"taxable with a tax-free part", channel.TaxTypeTAXABLE, payment.Amount{Total: 11000, TaxFree: 1000}, 1000, 909, ""},
		{"tax-free", channel.TaxTypeTAX_FREE, payment.Amount{Total: 11000}, 11000, 0, ""},
		{"tax-free, said so", channel.TaxTypeTAX_FREE, payment.Amount{Total: 11000, TaxFree: 11000, VAT: vat(0)}, 11000, 0, ""},
		{"tax-free with a taxable part", channel.TaxTypeTAX_FREE, payment.Amount{Total: 11000, TaxFree: 5000}, 0, 0, "amount.tax_free"},
		{"tax-free with VAT", channel.TaxTypeTAX_FREE, payment.Amount{Total: 11000, VAT: vat(1000)}, 0, 0, "amount.vat"},
		{"combined", channel.TaxTypeCOMBINED, payment.Amount{Total: 11000, TaxFree: 5500}, 5500, 500, ""},
		{"combined, no tax-free part", channel.TaxTypeCOMBINED, payment.Amount{Total: 11000}, 0, 1000, ""},
	}
	testdb.ForEach(t, func(t *testing.T, db *ent.Client) {
		e := newChannelEnv(t, db)
		ch := e.create(t, 0, "main", channel.PurposePAYMENT, "k1")
		for i, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				if _, err := e.svc.UpdateChannel(e.ctx[0], payment.ChannelChange{ID: ch.ID, Fields: []string{"tax_type"}, TaxType: tc.taxType}); err != nil {
					t.Fatal(err)
				}
				p, _, err := e.svc.Create(e.ctx[0], payment.CreateInput{NewInput: payment.NewInput{
					StoreID: e.stores[0], ChannelID: ch.ID, MerchantPaymentID: "order-tax-" + string(rune('a'+i)), OrderName: "tea", Amount: tc.amount}})
				if tc.badField != "" {
					wantViolation(t, err, tc.badField)
					return
				}
				if err != nil || p.TaxFree != tc.taxFree || p.Vat != tc.vat {
					t.Fatalf("payment tax-free %d VAT %d (%v), want %d and %d", p.TaxFree, p.Vat, err, tc.taxFree, tc.vat)
				}
			})
		}
	})
}

// TestSyncVoidsMoneyOfAClosedPayment: a charge the PG completed after
// paymux recorded the payment FAILED (an approval that finished after
// paymux gave up on it) is cancelled at the PG when paymux next hears of
// it: no money is kept that paymux did not record.
func TestSyncVoidsMoneyOfAClosedPayment(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, db *ent.Client) {
		e := newChannelEnv(t, db)
		ch := e.create(t, 0, "main", channel.PurposePAYMENT, "k1")
		p := e.payOn(t, ch, "order-late", 15000)
		sys := tenant.System(context.Background())
		p = db.Payment.UpdateOneID(p.ID).SetStatus(entpayment.StatusFAILED).SaveX(sys) // as if paymux had given up

		open, err := e.svc.ChannelByID(sys, ch.ID)
		if err != nil {
			t.Fatal(err)
		}
		found, err := open.API.Lookup(sys, open.PG, payment.LookupOf(p))
		if err != nil || found.Status != providers.StatusPaid {
			t.Fatalf("the PG shows %+v, %v", found, err)
		}
		got, err := e.svc.SyncFromPG(sys, open, p, found)
		if err != nil || got.Status != entpayment.StatusFAILED {
			t.Fatalf("sync: %v %v", got, err)
		}
		after, err := open.API.Lookup(sys, open.PG, payment.LookupOf(p))
		if err != nil || after.Status != providers.StatusCancelled || after.Amounts.Cancellable() != 0 {
			t.Fatalf("after the sync the PG shows %s, %d cancellable (%v)", after.Status, after.Amounts.Cancellable(), err)
		}
		// Told again, nothing more happens.
		if _, err := e.svc.SyncFromPG(sys, open, p, after); err != nil {
			t.Fatal(err)
		}
	})
}
