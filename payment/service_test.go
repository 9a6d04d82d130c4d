package payment_test

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/paymux/paymux/apierr"
	"github.com/paymux/paymux/ent"
	"github.com/paymux/paymux/ent/channel"
	entpayment "github.com/paymux/paymux/ent/payment"
	"github.com/paymux/paymux/internal/testdb"
	"github.com/paymux/paymux/money"
	"github.com/paymux/paymux/payment"
	"github.com/paymux/paymux/paystate"
	"github.com/paymux/paymux/providers"
	"github.com/paymux/paymux/providers/sandbox"
	"github.com/paymux/paymux/secrets"
	"github.com/paymux/paymux/tenant"
)

// env is payment.Service on a real database and the sandbox PG, with no
// HTTP in between.
type env struct {
	db      *ent.Client
	svc     *payment.Service
	clock   *sandbox.ManualClock
	outbox  *outbox
	storeID string
	ctx     context.Context // acting as the store's TEST key
}

// outbox records the events queued, checking each is written in the
// transaction that queues it.
type outbox struct {
	mu    sync.Mutex
	types []string
}

func (o *outbox) Enqueue(ctx context.Context, tx *ent.Tx, ev *ent.Event, _ string) error {
	if _, err := tx.Event.Get(ctx, ev.ID); err != nil {
		return err
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	o.types = append(o.types, ev.Type)
	return nil
}

func (o *outbox) queued() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]string(nil), o.types...)
}

func newEnv(t *testing.T, db *ent.Client) *env {
	t.Helper()
	// Every reading moves the clock on a little, as a real one does, so
	// that a payment's events have times in the order they happened.
	clock := sandbox.NewManualClock(time.Now().UTC().Truncate(time.Second))
	tick := func() time.Time { clock.Advance(time.Millisecond); return clock.Now() }
	keyring, err := secrets.NewKeyring(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	sb := sandbox.New(sandbox.Options{Now: tick})
	e := &env{db: db, clock: clock, outbox: &outbox{}}
	e.svc = payment.New(payment.Deps{
		Config:    payment.Config{PGTimeout: 5 * time.Second, SweepInterval: time.Minute},
		DB:        db,
		Keyring:   keyring,
		Providers: map[string]providers.Provider{sandbox.Name: sb},
		Outbox:    e.outbox,
		EventData: func(p *ent.Payment) ([]byte, error) {
			return json.Marshal(map[string]any{"id": p.ID, "status": p.Status})
		},
		ReturnURL:       func(id string) string { return "http://paymux.test/pay/return/" + id },
		ChannelCacheTTL: time.Minute,
		Now:             tick,
	})
	ctx := tenant.System(context.Background())
	st, err := db.Store.Create().SetName("shop").Save(ctx)
	if err != nil {
		t.Fatal(err)
	}
	chID := secrets.NewID("ch")
	sealed, err := keyring.Encrypt([]byte(`{"notification_secret":"nsecret"}`), []byte("channel:"+chID))
	if err != nil {
		t.Fatal(err)
	}
	err = db.Channel.Create().SetID(chID).SetStoreID(st.ID).SetProvider(channel.ProviderSANDBOX).SetMode(channel.ModeTEST).
		SetPurpose(channel.PurposePAYMENT).SetName("Sandbox").SetMerchantID("sandbox-" + st.ID).
		SetTaxType(channel.TaxTypeTAXABLE).SetSecretsSealed(sealed).SetSecretNames([]string{"notification_secret"}).
		SetDefault(true).Exec(ctx)
	if err != nil {
		t.Fatal(err)
	}
	e.storeID = st.ID
	e.ctx = tenant.NewContext(context.Background(), tenant.Viewer{StoreID: st.ID, KeyID: "key_test", KeyMode: "TEST"})
	return e
}

func (e *env) card(t *testing.T, order, number string, total int64) (*ent.Payment, error) {
	t.Helper()
	return e.svc.CreateInstant(e.ctx, payment.InstantInput{
		NewInput: payment.NewInput{StoreID: e.storeID, MerchantPaymentID: order, OrderName: "T-shirt", Amount: payment.Amount{Total: total}},
		Card: &payment.CardInput{Data: providers.CardData{
			Number: providers.NewCardNumber(number), ExpiryYear: e.clock.Now().Year() + 2, ExpiryMonth: 12,
			OwnerID: providers.NewRedacted("900101"), Password2: providers.NewRedacted("12"),
		}},
	})
}

func TestCardCharges(t *testing.T) {
	cases := []struct {
		name       string
		number     string
		status     entpayment.Status
		reason     string // the API error's reason, "" for none
		failReason string // the recorded failure's reason
	}{
		{"approved", sandbox.CardSuccess, entpayment.StatusPAID, "", ""},
		{"declined", sandbox.CardInsufficientFunds, entpayment.StatusFAILED, payment.ReasonPGProvider, payment.FailDeclined},
		{"timeout but charged: found by lookup", sandbox.CardTimeoutCharged, entpayment.StatusPAID, "", ""},
		{"timeout and not charged", sandbox.CardTimeoutNotCharged, entpayment.StatusFAILED, payment.ReasonPGProvider, payment.FailNotCharged},
	}
	testdb.ForEach(t, func(t *testing.T, db *ent.Client) {
		e := newEnv(t, db)
		for i, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				p, err := e.card(t, "order-"+string(rune('a'+i)), c.number, 30000)
				if got := apierr.Reason(err); got != c.reason {
					t.Fatalf("reason %q (%v), want %q", got, err, c.reason)
				}
				if p == nil || p.Status != c.status {
					t.Fatalf("payment %+v, want %s", p, c.status)
				}
				stored, err := db.Payment.Get(e.ctx, p.ID)
				if err != nil || stored.Status != c.status {
					t.Fatalf("stored %v %v", stored, err)
				}
				if c.status == entpayment.StatusPAID && (stored.Paid != 30000 || stored.Card == nil || stored.Card.Number != "941000******"+c.number[12:]) {
					t.Fatalf("paid %d card %+v", stored.Paid, stored.Card)
				}
				if c.failReason != "" && (stored.Failure == nil || stored.Failure.Reason != c.failReason) {
					t.Fatalf("failure %+v, want %s", stored.Failure, c.failReason)
				}
				history, err := e.svc.History(e.ctx, p.ID)
				if err != nil {
					t.Fatal(err)
				}
				want := []string{"payment.ready", "payment.pay_pending", "payment." + map[entpayment.Status]string{entpayment.StatusPAID: "paid", entpayment.StatusFAILED: "failed"}[c.status]}
				if len(history) != len(want) {
					t.Fatalf("history %d events, want %v", len(history), want)
				}
				for j, ev := range history {
					if ev.Type != want[j] {
						t.Errorf("event %d = %s, want %s", j, ev.Type, want[j])
					}
				}
			})
		}
		if n := len(e.outbox.queued()); n != 3*len(cases) {
			t.Errorf("outbox got %d events, want %d", n, 3*len(cases))
		}
	})
}

func TestNewPaymentRefusals(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, db *ent.Client) {
		e := newEnv(t, db)
		if _, err := e.card(t, "dup", sandbox.CardSuccess, 1000); err != nil {
			t.Fatal(err)
		}
		_, err := e.card(t, "dup", sandbox.CardSuccess, 1000)
		if apierr.Reason(err) != payment.ReasonPaymentAlreadyExists || apierr.CodeOf(err) != apierr.CodeAlreadyExists {
			t.Fatalf("second payment under one id: %v", err)
		}
		_, err = e.card(t, "neg", sandbox.CardSuccess, -5)
		var ae *apierr.Error
		if apierr.CodeOf(err) != apierr.CodeInvalidArgument || !asErr(err, &ae) || ae.Violations[0].Field != "amount.total" {
			t.Fatalf("negative amount: %v", err)
		}
		if _, err := e.svc.PreRegister(e.ctx, payment.PreRegisterInput{StoreID: e.storeID, MerchantPaymentID: "pre", Total: 5000}); err != nil {
			t.Fatal(err)
		}
		_, err = e.card(t, "pre", sandbox.CardSuccess, 4000)
		if apierr.Reason(err) != payment.ReasonInformationMismatch {
			t.Fatalf("amount other than pre-registered: %v", err)
		}
		n, _ := db.Payment.Query().Count(tenant.System(e.ctx))
		if n != 1 {
			t.Fatalf("%d payments stored, want only the first", n)
		}
	})
}

func asErr(err error, target **apierr.Error) bool {
	e, ok := err.(*apierr.Error)
	if ok {
		*target = e
	}
	return ok
}

func TestWindowPayment(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, db *ent.Client) {
		e := newEnv(t, db)
		p, win, err := e.svc.Create(e.ctx, payment.CreateInput{
			NewInput:  payment.NewInput{StoreID: e.storeID, MerchantPaymentID: "win-1", OrderName: "mug", Amount: payment.Amount{Total: 12000}},
			ReturnURL: "https://shop.example/done",
		})
		if err != nil {
			t.Fatal(err)
		}
		if p.Status != entpayment.StatusREADY || win.RedirectURL == "" || p.ApprovalModel != entpayment.ApprovalModelSERVER {
			t.Fatalf("created %+v window %+v", p, win)
		}
		if _, err := e.svc.Confirm(e.ctx, p.ID, 12000, nil); apierr.Reason(err) != payment.ReasonWindowNotCompleted {
			t.Fatalf("confirm before the window: %v", err)
		}
		if _, err := e.svc.Confirm(e.ctx, p.ID, 11000, map[string]string{"x": "y"}); apierr.Reason(err) != payment.ReasonInformationMismatch {
			t.Fatalf("confirm another amount: %v", err)
		}
		if _, _, err := e.svc.Create(e.ctx, payment.CreateInput{
			NewInput:  payment.NewInput{StoreID: e.storeID, MerchantPaymentID: "win-2", Amount: payment.Amount{Total: 1000}},
			ReturnURL: "ftp://shop.example",
		}); apierr.CodeOf(err) != apierr.CodeInvalidArgument {
			t.Fatalf("ftp return URL: %v", err)
		}
		still, _ := db.Payment.Get(e.ctx, p.ID)
		if still.Status != entpayment.StatusREADY {
			t.Fatalf("refused confirms changed the payment: %s", still.Status)
		}
	})
}

func TestCancels(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, db *ent.Client) {
		e := newEnv(t, db)
		p, err := e.card(t, "c-1", sandbox.CardSuccess, 30000)
		if err != nil {
			t.Fatal(err)
		}
		ten := int64(10000)
		p, c, err := e.svc.Cancel(e.ctx, payment.CancelInput{ID: p.ID, Amount: &ten, Reason: "one item"})
		if err != nil {
			t.Fatal(err)
		}
		if p.Status != entpayment.StatusPARTIAL_CANCELLED || p.Cancelled != 10000 || c.Amount != 10000 || c.Status != "SUCCEEDED" {
			t.Fatalf("partial cancel: %s %d / %+v", p.Status, p.Cancelled, c)
		}
		big := int64(25000)
		if _, _, err := e.svc.Cancel(e.ctx, payment.CancelInput{ID: p.ID, Amount: &big}); apierr.Reason(err) != money.ReasonCancelAmountExceedsCancellableAmount {
			t.Fatalf("cancel beyond the balance: %v", err)
		}
		stale := int64(30000)
		if _, _, err := e.svc.Cancel(e.ctx, payment.CancelInput{ID: p.ID, CurrentCancellable: &stale}); apierr.CodeOf(err) != apierr.CodeFailedPrecondition {
			t.Fatalf("cancel on a stale balance: %v", err)
		}
		p, _, err = e.svc.Cancel(e.ctx, payment.CancelInput{ID: p.ID})
		if err != nil {
			t.Fatal(err)
		}
		if p.Status != entpayment.StatusCANCELLED || p.Cancelled != 30000 {
			t.Fatalf("full cancel: %s %d", p.Status, p.Cancelled)
		}
		if _, _, err := e.svc.Cancel(e.ctx, payment.CancelInput{ID: p.ID}); apierr.Reason(err) != paystate.ReasonPaymentAlreadyCancelled {
			t.Fatalf("cancel a cancelled payment: %v", err)
		}
		d, err := e.svc.Detail(e.ctx, p.ID)
		if err != nil || len(d.Cancellations) != 2 || len(d.History) != 5 {
			t.Fatalf("detail: %d cancels, %d events, %v", len(d.Cancellations), len(d.History), err)
		}
	})
}

func TestVirtualAccountDeposit(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, db *ent.Client) {
		e := newEnv(t, db)
		p, err := e.svc.CreateInstant(e.ctx, payment.InstantInput{
			NewInput: payment.NewInput{StoreID: e.storeID, MerchantPaymentID: "va-1", OrderName: "desk", Amount: payment.Amount{Total: 50000}},
			VirtualAccount: &payment.VirtualAccountInput{Bank: "004", AccountHolder: "shop",
				CashReceipt: &payment.CashReceiptSubject{Type: providers.CashReceiptIncomeDeduction, Identity: "01012345678"}},
		})
		if err != nil {
			t.Fatal(err)
		}
		if p.Status != entpayment.StatusVIRTUAL_ACCOUNT_ISSUED || p.VirtualAccount == nil || p.VirtualAccount.CashReceiptIdentity != "010****5678" {
			t.Fatalf("issued %+v", p)
		}
		if _, err := e.svc.SimulateDeposit(e.ctx, p.ID, 40000, "Kim"); err == nil {
			t.Fatal("a short deposit was taken")
		}
		paid, err := e.svc.SimulateDeposit(e.ctx, p.ID, 50000, "Kim")
		if err != nil {
			t.Fatal(err)
		}
		if paid.Status != entpayment.StatusPAID || paid.Paid != 50000 || paid.VirtualAccount.DepositorName != "Kim" {
			t.Fatalf("deposited %+v", paid)
		}
		// A deposited virtual account is refunded to a bank account.
		if _, _, err := e.svc.Cancel(e.ctx, payment.CancelInput{ID: p.ID}); apierr.Reason(err) != payment.ReasonRefundAccountRequired {
			t.Fatalf("refund without an account: %v", err)
		}
		r, err := e.svc.GetCashReceipt(e.ctx, p.ID)
		if err != nil || r.IdentityMasked != "010****5678" {
			t.Fatalf("cash receipt with the deposit: %+v %v", r, err)
		}
	})
}

func TestSweeperSettlesALostCharge(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, db *ent.Client) {
		e := newEnv(t, db)
		// A charge marked PAY_PENDING whose PG call never happened (a crash
		// between the two): the sweeper asks the PG, which has nothing.
		np, err := e.svc.PrepareNew(e.ctx, payment.NewInput{StoreID: e.storeID, MerchantPaymentID: "lost", OrderName: "lamp", Amount: payment.Amount{Total: 7000}},
			entpayment.MethodCARD, entpayment.ApprovalModelSERVER)
		if err != nil {
			t.Fatal(err)
		}
		p, err := e.svc.Insert(e.ctx, np, func(tx *ent.Tx, p *ent.Payment) (*ent.Payment, error) {
			return e.svc.Transition(e.ctx, tx, p, paystate.MarkPending, nil)
		})
		if err != nil || p.Status != entpayment.StatusPAY_PENDING {
			t.Fatalf("pending: %v %v", p, err)
		}
		sw := payment.NewSweeper(e.svc, nil, nil)
		sw.Sweep(context.Background()) // not stale yet: a PG call may still be under way
		if p, _ = db.Payment.Get(e.ctx, p.ID); p.Status != entpayment.StatusPAY_PENDING {
			t.Fatalf("a fresh PAY_PENDING was settled: %s", p.Status)
		}
		e.clock.Advance(time.Minute)
		sw.Sweep(context.Background())
		p, _ = db.Payment.Get(e.ctx, p.ID)
		if p.Status != entpayment.StatusFAILED || p.Failure == nil || p.Failure.Reason != payment.FailNotCharged {
			t.Fatalf("after the sweep: %s %+v", p.Status, p.Failure)
		}
	})
}

func TestTestKeySeesNoLivePayment(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, db *ent.Client) {
		e := newEnv(t, db)
		now := e.clock.Now()
		p, err := db.Payment.Create().SetStoreID(e.storeID).SetChannelID("ch_live").SetProvider("SANDBOX").
			SetMode(entpayment.ModeLIVE).SetMerchantPaymentID("live-1").SetOrderName("chair").SetMethod(entpayment.MethodCARD).
			SetApprovalModel(entpayment.ApprovalModelSERVER).SetStatus(entpayment.StatusPAID).SetStatusAt(now).
			SetCreatedAt(now).SetUpdatedAt(now).SetCurrency("KRW").SetTotal(1000).SetTaxFree(0).SetVat(91).
			Save(tenant.System(e.ctx))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.Find(e.ctx, p.ID, ""); apierr.Reason(err) != payment.ReasonPaymentNotFound {
			t.Fatalf("TEST key read a LIVE payment: %v", err)
		}
		admin := tenant.NewContext(context.Background(), tenant.Viewer{StoreID: e.storeID, Admin: true})
		if _, err := e.svc.Find(admin, "", "live-1"); err != nil {
			t.Fatalf("the administrator cannot read it: %v", err)
		}
	})
}
