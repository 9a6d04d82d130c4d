package deposit_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paymux/paymux/apierr"
	"github.com/paymux/paymux/database"
	"github.com/paymux/paymux/deposit"
	"github.com/paymux/paymux/ent"
	"github.com/paymux/paymux/ent/bankmessage"
	"github.com/paymux/paymux/ent/cancellation"
	"github.com/paymux/paymux/ent/cashreceipt"
	"github.com/paymux/paymux/ent/channel"
	entdeposit "github.com/paymux/paymux/ent/deposit"
	"github.com/paymux/paymux/ent/depositsetting"
	entpayment "github.com/paymux/paymux/ent/payment"
	"github.com/paymux/paymux/internal/testdb"
	"github.com/paymux/paymux/payment"
	"github.com/paymux/paymux/paystate"
	"github.com/paymux/paymux/providers"
	"github.com/paymux/paymux/providers/sandbox"
	"github.com/paymux/paymux/secrets"
	"github.com/paymux/paymux/tenant"
)

// env is deposit.Service over payment.Service on a real database, with the
// sandbox as the stores' cash-receipt PG and no HTTP in between.
type env struct {
	db       *ent.Client
	payments *payment.Service
	svc      *deposit.Service
	clock    *sandbox.ManualClock
	outbox   *outbox
	storeID  string
	account  *ent.BankAccount
	ctx      context.Context // acting as the store's TEST key
	newSvc   func() *deposit.Service
}

// outbox records the events queued, checking each is written in the
// transaction that queues it.
type outbox struct {
	mu     sync.Mutex
	events []*ent.Event
}

func (o *outbox) Enqueue(ctx context.Context, tx *ent.Tx, ev *ent.Event, _ string) error {
	if _, err := tx.Event.Get(ctx, ev.ID); err != nil {
		return err
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	o.events = append(o.events, ev)
	return nil
}

// typesFor lists the event types queued about payment or deposit id, in
// order.
func (o *outbox) typesFor(id string) []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	var out []string
	for _, ev := range o.events {
		var data struct {
			ID string `json:"id"`
		}
		_ = json.Unmarshal(ev.Data, &data)
		if ev.PaymentID == id || data.ID == id {
			out = append(out, ev.Type)
		}
	}
	return out
}

func newEnv(t *testing.T, db *ent.Client) *env {
	t.Helper()
	clock := sandbox.NewManualClock(time.Now().UTC().Truncate(time.Minute).Add(10 * time.Second))
	tick := func() time.Time { clock.Advance(time.Millisecond); return clock.Now() }
	keyring, err := secrets.NewKeyring(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	e := &env{db: db, clock: clock, outbox: &outbox{}}
	sb := sandbox.New(sandbox.Options{Now: tick})
	e.payments = payment.New(payment.Deps{
		Config: payment.Config{PGTimeout: 5 * time.Second, SweepInterval: time.Minute}, DB: db, Keyring: keyring,
		Providers: map[string]providers.Provider{sandbox.Name: sb}, Outbox: e.outbox,
		EventData: func(p *ent.Payment) ([]byte, error) {
			return json.Marshal(map[string]any{"id": p.ID, "status": p.Status})
		},
		ChannelCacheTTL: time.Minute, Now: tick,
	})
	e.newSvc = func() *deposit.Service {
		return deposit.New(deposit.Deps{
			Config: deposit.Config{MatchWindow: 14 * 24 * time.Hour}, DB: db, Keyring: keyring, Payments: e.payments, Outbox: e.outbox,
			DepositData: func(d *ent.Deposit) ([]byte, error) {
				return json.Marshal(map[string]any{"id": d.ID, "status": d.Status, "paymentId": d.PaymentID})
			},
			Now: tick,
		})
	}
	e.svc = e.newSvc()
	sys := tenant.System(context.Background())
	st, err := db.Store.Create().SetName("shop").Save(sys)
	if err != nil {
		t.Fatal(err)
	}
	chID := secrets.NewID("ch")
	sealed, err := keyring.Encrypt([]byte(`{"notification_secret":"nsecret"}`), []byte("channel:"+chID))
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Channel.Create().SetID(chID).SetStoreID(st.ID).SetProvider(channel.ProviderSANDBOX).SetMode(channel.ModeTEST).
		SetPurpose(channel.PurposePAYMENT).SetName("Sandbox").SetMerchantID("sandbox-" + st.ID).
		SetTaxType(channel.TaxTypeTAXABLE).SetSecretsSealed(sealed).SetSecretNames([]string{"notification_secret"}).
		SetDefault(true).Exec(sys); err != nil {
		t.Fatal(err)
	}
	e.storeID = st.ID
	e.ctx = tenant.NewContext(context.Background(), tenant.Viewer{StoreID: st.ID, KeyID: "key_test", KeyMode: "TEST"})
	e.account = e.newAccount(t, "088", "110-123-456789")
	return e
}

func (e *env) newAccount(t *testing.T, bank, number string) *ent.BankAccount {
	t.Helper()
	a, err := e.svc.CreateAccount(e.ctx, deposit.AccountInput{StoreID: e.storeID, Bank: bank, Number: number, Holder: "(주)상점"})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// order creates a bank transfer order into any of the store's accounts.
func (e *env) order(t *testing.T, id, name string, total int64) *ent.Payment {
	t.Helper()
	p, err := e.orderErr(id, name, total, "")
	if err != nil {
		t.Fatalf("order %s: %v", id, err)
	}
	return p
}

func (e *env) orderErr(id, name string, total int64, account string) (*ent.Payment, error) {
	return e.svc.CreateOrder(e.ctx, deposit.OrderInput{
		NewInput:      payment.NewInput{StoreID: e.storeID, MerchantPaymentID: id, OrderName: "order " + id, Amount: payment.Amount{Total: total}},
		DepositorName: name, BankAccountID: account,
	})
}

// deposit reports one deposit on the env's account, now.
func (e *env) deposit(t *testing.T, name string, amount int64) deposit.Result {
	t.Helper()
	return e.depositOn(t, e.account.ID, name, amount, "")
}

func (e *env) depositOn(t *testing.T, account, name string, amount int64, sourceID string) deposit.Result {
	t.Helper()
	res, err := e.svc.Record(e.ctx, []deposit.TransactionInput{{
		BankAccountID: account, Amount: amount, DepositorName: name, At: e.clock.Now(), SourceID: sourceID,
	}})
	if err != nil {
		t.Fatalf("record deposit: %v", err)
	}
	return res[0]
}

func (e *env) payment(t *testing.T, id string) *ent.Payment {
	t.Helper()
	p, err := e.db.Payment.Get(tenant.System(context.Background()), id)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// setSettings changes the store's matching settings, as its LIVE key (a
// TEST key may not).
func (e *env) setSettings(t *testing.T, in deposit.SettingsInput) {
	t.Helper()
	if _, err := e.svc.UpdateSettings(e.ctx, e.storeID, in); apierr.CodeOf(err) != apierr.CodePermissionDenied {
		t.Errorf("a TEST key changed the settings: %v", err)
	}
	live := tenant.NewContext(context.Background(), tenant.Viewer{StoreID: e.storeID, KeyID: "key_live", KeyMode: "LIVE"})
	if _, err := e.svc.UpdateSettings(live, e.storeID, in); err != nil {
		t.Fatal(err)
	}
}

func TestDepositPaysItsOrder(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, db *ent.Client) {
		e := newEnv(t, db)
		o := e.order(t, "A-1", "홍길동", 19000)
		if o.Status != entpayment.StatusREADY || o.Method != entpayment.MethodBANK_TRANSFER || o.ChannelID != "" {
			t.Fatalf("order: %s %s channel %q", o.Status, o.Method, o.ChannelID)
		}
		bt := o.BankTransfer
		if bt == nil || bt.AccountNumber != "110123456789" || bt.Bank != "088" || bt.AccountID != e.account.ID {
			t.Fatalf("order shows the buyer %+v", bt)
		}
		if o.DueAt == nil || !o.DueAt.Equal(o.CreatedAt.Add(14*24*time.Hour)) {
			t.Errorf("due %v, want 14 days after %v", o.DueAt, o.CreatedAt)
		}
		e.clock.Advance(time.Minute)
		// The bank shows the name with stray and full-width spaces.
		res := e.deposit(t, " 홍\u3000길동 ", 19000)
		d := res.Deposit
		if d.Status != entdeposit.StatusMATCHED || d.PaymentID != o.ID || d.MerchantPaymentID != "A-1" ||
			d.MatchType == nil || *d.MatchType != entdeposit.MatchTypeAUTO || d.Candidates != 1 {
			t.Fatalf("deposit %+v", d)
		}
		p := e.payment(t, o.ID)
		if p.Status != entpayment.StatusPAID || p.Paid != 19000 || p.DepositID != d.ID || p.PaidAt == nil ||
			p.BankTransfer.DepositedAt != d.TransactionAt.UnixMicro() {
			t.Fatalf("payment %s paid %d deposit %q", p.Status, p.Paid, p.DepositID)
		}
		if got, want := e.outbox.typesFor(o.ID), []string{"payment.ready", "payment.paid", "deposit.matched"}; !slices.Equal(got, want) {
			t.Errorf("events of the order %v, want %v", got, want)
		}
		if got, want := e.outbox.typesFor(d.ID), []string{"deposit.received", "deposit.matched"}; !slices.Equal(got, want) {
			t.Errorf("events of the deposit %v, want %v", got, want)
		}
		// The money is in: a second deposit of the same kind pays nothing.
		e.clock.Advance(time.Minute)
		again := e.deposit(t, "홍길동", 19000)
		if again.Deposit.Status != entdeposit.StatusUNMATCHED || again.Deposit.UnmatchedReason != deposit.UnmatchedNoCandidate {
			t.Errorf("second deposit %s %s", again.Deposit.Status, again.Deposit.UnmatchedReason)
		}
		if got := e.outbox.typesFor(again.Deposit.ID); !slices.Equal(got, []string{"deposit.received", "deposit.unmatched"}) {
			t.Errorf("events of an unmatched deposit %v", got)
		}
	})
}

func TestMatchingRules(t *testing.T) {
	type step struct {
		order  string // depositor name of an order made now ("" none)
		amount int64
		wait   time.Duration
	}
	cases := []struct {
		name      string
		smart     depositsetting.SmartMatching
		orders    []step
		depName   string
		depAmount int64
		// paid is the index of the order paid, -1 none.
		paid   int
		reason string
	}{
		{name: "one candidate", orders: []step{{"김철수", 5000, 0}}, depName: "김철수", depAmount: 5000, paid: 0},
		{name: "name differs", orders: []step{{"김철수", 5000, 0}}, depName: "김철희", depAmount: 5000, paid: -1, reason: deposit.UnmatchedNoCandidate},
		{name: "amount differs", orders: []step{{"김철수", 5000, 0}}, depName: "김철수", depAmount: 5001, paid: -1, reason: deposit.UnmatchedNoCandidate},
		{name: "latin case and spaces", orders: []step{{"Karimov Aziz", 7000, 0}}, depName: "KARIMOV  AZIZ", depAmount: 7000, paid: 0},
		{name: "decomposed hangul", orders: []step{{"한글", 7000, 0}}, depName: "\u1112\u1161\u11ab\u1100\u1173\u11af", depAmount: 7000, paid: 0},
		{name: "several, smart off", orders: []step{{"이영희", 9000, 0}, {"이영희", 9000, time.Hour}}, depName: "이영희", depAmount: 9000, paid: -1, reason: deposit.UnmatchedSeveral},
		{name: "several, oldest", smart: depositsetting.SmartMatchingOLDEST, orders: []step{{"이영희", 9000, 0}, {"이영희", 9000, time.Hour}}, depName: "이영희", depAmount: 9000, paid: 0},
		{name: "several, newest", smart: depositsetting.SmartMatchingNEWEST, orders: []step{{"이영희", 9000, 0}, {"이영희", 9000, time.Hour}}, depName: "이영희", depAmount: 9000, paid: 1},
		{name: "only the one inside the window", orders: []step{{"박민수", 3000, 0}, {"박민수", 3000, 15 * 24 * time.Hour}}, depName: "박민수", depAmount: 3000, paid: 1},
		{name: "window closed", orders: []step{{"박민수", 3000, 0}, {"", 0, 14*24*time.Hour + time.Minute}}, depName: "박민수", depAmount: 3000, paid: -1, reason: deposit.UnmatchedNoCandidate},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			testdb.ForEach(t, func(t *testing.T, db *ent.Client) {
				e := newEnv(t, db)
				if tc.smart != "" {
					e.setSettings(t, deposit.SettingsInput{SmartMatching: &tc.smart})
				}
				var orders []*ent.Payment
				for i, o := range tc.orders {
					e.clock.Advance(o.wait)
					if o.order != "" {
						orders = append(orders, e.order(t, fmt.Sprintf("O-%d", i), o.order, o.amount))
					}
				}
				e.clock.Advance(time.Minute)
				d := e.deposit(t, tc.depName, tc.depAmount).Deposit
				for i, o := range orders {
					got := e.payment(t, o.ID).Status
					want := entpayment.StatusREADY
					if i == tc.paid {
						want = entpayment.StatusPAID
					}
					if got != want {
						t.Errorf("order %d is %s, want %s", i, got, want)
					}
				}
				if tc.paid < 0 && (d.Status != entdeposit.StatusUNMATCHED || d.UnmatchedReason != tc.reason) {
					t.Errorf("deposit %s %q, want UNMATCHED %q", d.Status, d.UnmatchedReason, tc.reason)
				}
				if tc.paid >= 0 && d.PaymentID != orders[tc.paid].ID {
					t.Errorf("deposit paid %q, want %s", d.PaymentID, orders[tc.paid].ID)
				}
			})
		})
	}
}

// An order created after the deposit is not its candidate, unless the
// store matches late orders; an order for another account never is.
func TestLateOrdersAndAccounts(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, db *ent.Client) {
		e := newEnv(t, db)
		early := e.deposit(t, "최지우", 12000).Deposit
		e.clock.Advance(2 * time.Minute)
		late := e.order(t, "LATE-1", "최지우", 12000)
		if late.Status != entpayment.StatusREADY {
			t.Fatalf("a late order took a deposit with late matching off: %s", late.Status)
		}
		on := true
		e.setSettings(t, deposit.SettingsInput{MatchLateOrders: &on})
		late2 := e.order(t, "LATE-2", "최지우", 12000)
		if late2.Status != entpayment.StatusPAID {
			t.Fatalf("late order with late matching on: %s", late2.Status)
		}
		d, err := e.svc.Get(e.ctx, early.ID)
		if err != nil {
			t.Fatal(err)
		}
		if d.PaymentID != late2.ID || d.MatchType == nil || *d.MatchType != entdeposit.MatchTypeLATE {
			t.Errorf("early deposit paid %q (%v)", d.PaymentID, d.MatchType)
		}

		// An order for one account ignores deposits on another.
		other := e.newAccount(t, "004", "123456-01-234567")
		if _, err := e.orderErr("ACC-1", "정우성", 8000, other.ID); err != nil {
			t.Fatal(err)
		}
		e.clock.Advance(time.Minute)
		if r := e.deposit(t, "정우성", 8000); r.Deposit.Status != entdeposit.StatusUNMATCHED {
			t.Errorf("a deposit on the first account paid an order for the second")
		}
		if r := e.depositOn(t, other.ID, "정우성", 8000, ""); r.Deposit.Status != entdeposit.StatusMATCHED {
			t.Errorf("a deposit on the order's account: %s", r.Deposit.Status)
		}
	})
}

func TestDuplicatesAreRecordedOnce(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, db *ent.Client) {
		e := newEnv(t, db)
		o := e.order(t, "DUP-1", "홍길동", 10000)
		e.clock.Advance(time.Minute)
		at := e.clock.Now()
		seoul := at.In(time.FixedZone("KST", 9*3600))
		balance := int64(110000)
		first, err := e.svc.Record(e.ctx, []deposit.TransactionInput{{
			BankAccountID: e.account.ID, Amount: 10000, DepositorName: "홍길동", At: at, Balance: &balance, SourceID: "feed-1",
		}})
		if err != nil || first[0].Duplicate || first[0].Deposit.PaymentID != o.ID {
			t.Fatalf("first report: %+v %v", first, err)
		}
		// The same row resent by the feed, and the bank's SMS of it.
		again, err := e.svc.Record(e.ctx, []deposit.TransactionInput{{
			BankAccountID: e.account.ID, Amount: 10000, DepositorName: "홍길동", At: at, Balance: &balance, SourceID: "feed-1",
		}})
		if err != nil || !again[0].Duplicate || again[0].Deposit.ID != first[0].Deposit.ID {
			t.Fatalf("resent: %+v %v", again, err)
		}
		sms := fmt.Sprintf("[Web발신]\n신한%s\n110-***-456789\n입금 10,000\n잔액 110,000\n 홍길동", seoul.Format("01/02 15:04"))
		msgs, err := e.svc.RecordMessages(e.ctx, e.storeID, []deposit.MessageInput{{Text: sms, ReceivedAt: at.Add(5 * time.Second), SourceID: "sms-77"}})
		if err != nil {
			t.Fatal(err)
		}
		if m := msgs[0]; m.Message.Status != bankmessage.StatusDUPLICATE || m.Deposit.ID != first[0].Deposit.ID || m.Message.BankAccountID != e.account.ID {
			t.Fatalf("the SMS of a recorded deposit: %s %+v", m.Message.Status, m.Message)
		}
		n, err := db.Deposit.Query().Where(entdeposit.Amount(10000)).Count(tenant.System(context.Background()))
		if err != nil || n != 1 {
			t.Errorf("%d deposits of the SMS'd transfer recorded, want 1 (%v)", n, err)
		}
		// A feed that tells two transfers apart by its ids, with no balance
		// to separate them, records both; sent again, neither is recorded.
		pair := []deposit.TransactionInput{
			{BankAccountID: e.account.ID, Amount: 20000, DepositorName: "김민준", At: at, SourceID: "row-1"},
			{BankAccountID: e.account.ID, Amount: 20000, DepositorName: "김민준", At: at, SourceID: "row-2"},
		}
		for round, wantDup := range []bool{false, true} {
			res, err := e.svc.Record(e.ctx, pair)
			if err != nil {
				t.Fatal(err)
			}
			if res[0].Duplicate != wantDup || res[1].Duplicate != wantDup || res[0].Deposit.ID == res[1].Deposit.ID {
				t.Errorf("round %d: two rows of one minute: %v %v, ids %s %s", round, res[0].Duplicate, res[1].Duplicate, res[0].Deposit.ID, res[1].Deposit.ID)
			}
		}
		// Without ids, the same name, amount and minute is one transaction.
		noID, err := e.svc.Record(e.ctx, []deposit.TransactionInput{{BankAccountID: e.account.ID, Amount: 20000, DepositorName: "김민준", At: at}})
		if err != nil || !noID[0].Duplicate {
			t.Errorf("a report without an id: %+v %v", noID, err)
		}
		// The same SMS forwarded twice is one message.
		twice, err := e.svc.RecordMessages(e.ctx, e.storeID, []deposit.MessageInput{{Text: sms, SourceID: "sms-77"}})
		if err != nil || twice[0].Message.ID != msgs[0].Message.ID {
			t.Errorf("the same SMS again: %+v %v", twice, err)
		}
	})
}

func TestBankMessages(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, db *ent.Client) {
		e := newEnv(t, db)
		nh := e.newAccount(t, "011", "352-0000-1234-56")
		o := e.order(t, "SMS-1", "홍길동", 10000)
		e.clock.Advance(time.Minute)
		now := e.clock.Now()
		hm := now.In(time.FixedZone("KST", 9*3600)).Format("01/02 15:04")
		in := []deposit.MessageInput{
			{Text: "농협 입금10,000원\n" + hm + " 352-****-1234-56 홍길동 잔액110,000원", ReceivedAt: now},
			{Text: "농협 출금3,000원\n" + hm + " 352-****-1234-56 관리비 잔액107,000원", ReceivedAt: now},
			{Text: "[Web발신]\n신한카드(1234)승인 홍*동 12,000원(일시불)" + hm + " 스타벅스 누적 1,234,567원", ReceivedAt: now},
			{Text: "[XX은행] 입금 안내: 어떤 형식인지 알 수 없는 알림 10,000원", ReceivedAt: now},
		}
		res, err := e.svc.RecordMessages(e.ctx, e.storeID, in)
		if err != nil {
			t.Fatal(err)
		}
		want := []bankmessage.Status{bankmessage.StatusTRANSACTION, bankmessage.StatusTRANSACTION, bankmessage.StatusIGNORED, bankmessage.StatusUNPARSED}
		for i, r := range res {
			if r.Message.Status != want[i] {
				t.Errorf("message %d: %s (%s), want %s", i, r.Message.Status, r.Message.Reason, want[i])
			}
		}
		if d := res[0].Deposit; d == nil || d.BankAccountID != nh.ID || d.PaymentID != o.ID || res[0].Message.Shape != "nh" {
			t.Errorf("NH deposit routed to %+v", d)
		}
		if d := res[1].Deposit; d == nil || d.Type != entdeposit.TypeWITHDRAWAL || d.Status != entdeposit.StatusRECORDED {
			t.Errorf("NH withdrawal: %+v", d)
		}
		if res[3].Message.Reason == "" {
			t.Error("an unparsed message has no reason")
		}
		text, err := e.svc.MessageText(res[0].Message)
		if err != nil || text == in[0].Text || !containsAll(text, "입금10,000원", "홍길동") {
			t.Errorf("shown text %q (%v)", text, err)
		}
		// Not a bank message at all: refused, nothing kept.
		before, _ := db.BankMessage.Query().Count(tenant.System(context.Background()))
		_, err = e.svc.RecordMessages(e.ctx, e.storeID, []deposit.MessageInput{
			{Text: "농협 입금10,000원\n" + hm + " 352-****-1234-56 홍길동 잔액120,000원"},
			{Text: "hello, see you tomorrow"},
		})
		if apierr.CodeOf(err) != apierr.CodeInvalidArgument {
			t.Errorf("a chat message: %v", err)
		}
		after, _ := db.BankMessage.Query().Count(tenant.System(context.Background()))
		if after != before {
			t.Errorf("a refused batch kept %d messages", after-before)
		}
	})
}

func containsAll(s string, subs ...string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}

func TestManualMatchAndUnmatch(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, db *ent.Client) {
		e := newEnv(t, db)
		a := e.order(t, "M-1", "이영희", 9000)
		b := e.order(t, "M-2", "이영희", 9000)
		e.clock.Advance(time.Minute)
		d := e.deposit(t, "이영희", 9000).Deposit
		if d.UnmatchedReason != deposit.UnmatchedSeveral || d.Candidates != 2 {
			t.Fatalf("ambiguous deposit: %s %d", d.UnmatchedReason, d.Candidates)
		}
		small := e.order(t, "M-3", "이영희", 5000)
		if _, _, err := e.svc.Match(e.ctx, d.ID, small.ID); apierr.Reason(err) != deposit.ReasonAmountMismatch {
			t.Errorf("match to another amount: %v", err)
		}
		md, mp, err := e.svc.Match(e.ctx, d.ID, b.ID)
		if err != nil {
			t.Fatal(err)
		}
		if md.Status != entdeposit.StatusMATCHED || *md.MatchType != entdeposit.MatchTypeMANUAL || mp.Status != entpayment.StatusPAID {
			t.Fatalf("manual match: %s / %s", md.Status, mp.Status)
		}
		if got := e.outbox.typesFor(b.ID); !slices.Equal(got, []string{"payment.ready", "payment.paid", "deposit.matched"}) {
			t.Errorf("events of a manual match %v", got)
		}
		if _, _, err := e.svc.Match(e.ctx, d.ID, a.ID); apierr.Reason(err) != deposit.ReasonDepositMatched {
			t.Errorf("matching a matched deposit again: %v", err)
		}
		ud, up, err := e.svc.Unmatch(e.ctx, d.ID)
		if err != nil {
			t.Fatal(err)
		}
		if ud.Status != entdeposit.StatusUNMATCHED || ud.UnmatchedReason != deposit.UnmatchedByHand || up.Status != entpayment.StatusREADY || up.Paid != 0 || up.DepositID != "" {
			t.Fatalf("unmatch: %s %s / %s %d", ud.Status, ud.UnmatchedReason, up.Status, up.Paid)
		}
		if _, _, err := e.svc.Match(e.ctx, d.ID, a.ID); err != nil {
			t.Fatalf("match after unmatch: %v", err)
		}
		// A cancel on the order makes the match final.
		one := int64(1000)
		if _, _, err := e.payments.Cancel(e.ctx, payment.CancelInput{ID: a.ID, Amount: &one, Reason: "partial refund"}); err != nil {
			t.Fatal(err)
		}
		if _, _, err := e.svc.Unmatch(e.ctx, d.ID); apierr.CodeOf(err) != apierr.CodeFailedPrecondition {
			t.Errorf("unmatch after a cancel: %v", err)
		}

		// Another store sees neither the deposit nor the order.
		other, err := db.Store.Create().SetName("other").Save(tenant.System(context.Background()))
		if err != nil {
			t.Fatal(err)
		}
		octx := tenant.NewContext(context.Background(), tenant.Viewer{StoreID: other.ID, KeyID: "key_other", KeyMode: "TEST"})
		if _, _, err := e.svc.Match(octx, d.ID, b.ID); apierr.CodeOf(err) != apierr.CodeNotFound {
			t.Errorf("match across stores: %v", err)
		}
		if _, err := e.svc.Record(octx, []deposit.TransactionInput{{BankAccountID: e.account.ID, Amount: 1, DepositorName: "x", At: e.clock.Now()}}); apierr.CodeOf(err) != apierr.CodeInvalidArgument {
			t.Errorf("a deposit on another store's account: %v", err)
		}
	})
}

func TestOrdersExpireAndCancel(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, db *ent.Client) {
		e := newEnv(t, db)
		old := e.order(t, "EXP-1", "홍길동", 1000)
		closed := e.order(t, "CLS-1", "김철수", 2000)
		p, c, err := e.payments.Cancel(e.ctx, payment.CancelInput{ID: closed.ID, Reason: "order-exclude"})
		if err != nil || c != nil || p.Status != entpayment.StatusCANCELLED {
			t.Fatalf("closing an unpaid order: %v %v %v", p, c, err)
		}
		paidLate := e.order(t, "EXP-2", "이순신", 1500)
		e.clock.Advance(14*24*time.Hour + time.Minute)
		// Past due, the orders wait a day for transfers made in time and
		// reported late.
		if n, err := e.svc.ExpireDue(context.Background()); err != nil || n != 0 {
			t.Fatalf("expired %d during the grace day (%v)", n, err)
		}
		res, err := e.svc.Record(e.ctx, []deposit.TransactionInput{{
			BankAccountID: e.account.ID, Amount: 1500, DepositorName: "이순신", At: paidLate.DueAt.Add(-time.Minute),
		}})
		if err != nil || res[0].Paid == nil || res[0].Paid.ID != paidLate.ID {
			t.Fatalf("a transfer made before the due time, reported after it: %+v %v", res, err)
		}
		e.clock.Advance(24 * time.Hour)
		n, err := e.svc.ExpireDue(context.Background())
		if err != nil || n != 1 {
			t.Fatalf("expired %d (%v)", n, err)
		}
		if got := e.payment(t, old.ID).Status; got != entpayment.StatusEXPIRED {
			t.Errorf("order past its window: %s", got)
		}
		if got := e.outbox.typesFor(old.ID); !slices.Equal(got, []string{"payment.ready", "payment.expired"}) {
			t.Errorf("events %v", got)
		}
		if r := e.deposit(t, "김철수", 2000); r.Deposit.Status != entdeposit.StatusUNMATCHED {
			t.Errorf("a closed order took a deposit")
		}
	})
}

func TestCashReceiptOnMatchAndCancel(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, db *ent.Client) {
		e := newEnv(t, db)
		o, err := e.svc.CreateOrder(e.ctx, deposit.OrderInput{
			NewInput:      payment.NewInput{StoreID: e.storeID, MerchantPaymentID: "CR-1", OrderName: "book", Amount: payment.Amount{Total: 33000}},
			DepositorName: "홍길동",
			CashReceipt:   &payment.CashReceiptSubject{Type: providers.CashReceiptIncomeDeduction, Identity: "01012345678"},
		})
		if err != nil {
			t.Fatal(err)
		}
		if o.BankTransfer.CashReceiptIdentity != "010****5678" {
			t.Errorf("identity shown as %q", o.BankTransfer.CashReceiptIdentity)
		}
		e.clock.Advance(time.Minute)
		e.deposit(t, "홍길동", 33000)
		// The sandbox issues receipts a moment after it is asked.
		e.clock.Advance(time.Minute)
		r, err := e.payments.GetCashReceipt(e.ctx, o.ID)
		if err != nil || r.Status != cashreceipt.StatusISSUED || r.Amount != 33000 || r.IdentityMasked != "010****5678" {
			t.Fatalf("receipt on match: %+v %v", r, err)
		}
		p := e.payment(t, o.ID)
		if _, _, err := e.svc.Unmatch(e.ctx, p.DepositID); apierr.Reason(err) != deposit.ReasonReceiptIssued {
			t.Errorf("unmatch with an issued receipt: %v", err)
		}
		cp, cc, err := e.payments.Cancel(e.ctx, payment.CancelInput{ID: o.ID, Reason: "returned"})
		if err != nil || cp.Status != entpayment.StatusCANCELLED || cc.Status != cancellation.StatusSUCCEEDED || cc.Amount != 33000 {
			t.Fatalf("cancel: %v %v %v", cp, cc, err)
		}
		r, err = db.CashReceipt.Query().Where(cashreceipt.PaymentID(o.ID)).Only(tenant.System(context.Background()))
		if err != nil || r.Status != cashreceipt.StatusCANCELLED {
			t.Errorf("receipt after the cancel: %v %v", r.Status, err)
		}
	})
}

func TestBadInputWritesNothing(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, db *ent.Client) {
		e := newEnv(t, db)
		now := e.clock.Now()
		cases := []struct {
			name  string
			in    []deposit.TransactionInput
			field string
		}{
			{"zero amount", []deposit.TransactionInput{{BankAccountID: e.account.ID, Amount: 0, DepositorName: "a", At: now}}, "transactions[0].amount"},
			{"negative amount", []deposit.TransactionInput{{BankAccountID: e.account.ID, Amount: 5, DepositorName: "a", At: now}, {BankAccountID: e.account.ID, Amount: -5, DepositorName: "a", At: now}}, "transactions[1].amount"},
			{"no name", []deposit.TransactionInput{{BankAccountID: e.account.ID, Amount: 5, DepositorName: " - ", At: now}}, "transactions[0].depositor_name"},
			{"unknown account", []deposit.TransactionInput{{BankAccountID: "bac_nope", Amount: 5, DepositorName: "a", At: now}}, "transactions[0].bank_account_id"},
		}
		for _, tc := range cases {
			_, err := e.svc.Record(e.ctx, tc.in)
			var ae *apierr.Error
			if !asAPIErr(err, &ae) || ae.Code != apierr.CodeInvalidArgument || len(ae.Violations) == 0 || ae.Violations[0].Field != tc.field {
				t.Errorf("%s: %v", tc.name, err)
			}
		}
		if _, err := e.svc.CreateAccount(e.ctx, deposit.AccountInput{StoreID: e.storeID, Bank: "999", Number: "1234567", Holder: "x"}); apierr.CodeOf(err) != apierr.CodeInvalidArgument {
			t.Errorf("unknown bank code: %v", err)
		}
		if _, err := e.svc.CreateAccount(e.ctx, deposit.AccountInput{StoreID: e.storeID, Mode: "LIVE", Bank: "004", Number: "1234567", Holder: "x"}); apierr.CodeOf(err) != apierr.CodePermissionDenied {
			t.Errorf("a LIVE account by a TEST key: %v", err)
		}
		n, _ := db.Deposit.Query().Count(tenant.System(context.Background()))
		if n != 0 {
			t.Errorf("bad input wrote %d deposits", n)
		}
	})
}

func asAPIErr(err error, target **apierr.Error) bool { return errors.As(err, target) }

// Two deposits of one name and amount arriving together, with one order
// open: exactly one pays it, the other is left UNMATCHED. Several
// services on one database play replicas (PostgreSQL); SQLite's one
// writer serialises them.
func TestConcurrentDepositsPayAnOrderOnce(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, db *ent.Client) {
		e := newEnv(t, db)
		const rounds = 8
		for r := range rounds {
			o := e.order(t, fmt.Sprintf("RACE-%d", r), fmt.Sprintf("동시%d", r), 7000)
			e.clock.Advance(time.Minute)
			var wg sync.WaitGroup
			results := make([]deposit.Result, 4)
			errs := make([]error, 4)
			for i := range results {
				wg.Add(1)
				go func() {
					defer wg.Done()
					svc := e.newSvc() // a replica of its own
					bal := int64(i)   // distinct balances: four genuine deposits
					res, err := svc.Record(e.ctx, []deposit.TransactionInput{{
						BankAccountID: e.account.ID, Amount: 7000, DepositorName: fmt.Sprintf("동시%d", r), At: e.clock.Now(), Balance: &bal,
					}})
					errs[i] = err
					if err == nil {
						results[i] = res[0]
					}
				}()
			}
			wg.Wait()
			matched := 0
			for i, res := range results {
				if errs[i] != nil {
					t.Fatalf("deposit %d: %v", i, errs[i])
				}
				if res.Deposit.Status == entdeposit.StatusMATCHED {
					matched++
				}
			}
			p := e.payment(t, o.ID)
			if matched != 1 || p.Status != entpayment.StatusPAID {
				t.Fatalf("round %d: %d deposits matched, order %s", r, matched, p.Status)
			}
			paidEvents := 0
			for _, typ := range e.outbox.typesFor(o.ID) {
				if typ == "payment.paid" {
					paidEvents++
				}
			}
			if paidEvents != 1 {
				t.Errorf("round %d: %d payment.paid events", r, paidEvents)
			}
		}
	})
}

// What one deposit reported by several sources, and alerts of accounts
// that are not the store's, must not do.
func TestReportsOfOneDepositAndForeignAlerts(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, db *ent.Client) {
		e := newEnv(t, db)
		kb := e.newAccount(t, "004", "123456-01-234789")
		oldest := depositsetting.SmartMatchingOLDEST
		e.setSettings(t, deposit.SettingsInput{SmartMatching: &oldest})
		a := e.order(t, "TWIN-1", "홍길동", 10000)
		b := e.order(t, "TWIN-2", "홍길동", 10000)
		e.clock.Advance(time.Minute)
		now := e.clock.Now()
		hm := now.In(time.FixedZone("KST", 9*3600)).Format("01/02 15:04")
		// The KB SMS and the StarBanking push of one deposit, each with its
		// own message id: one deposit, one order paid.
		res, err := e.svc.RecordMessages(e.ctx, e.storeID, []deposit.MessageInput{
			{Text: "[KB]" + hm + "\n123456**789\n홍길동\n입금\n10,000\n잔액110,000", SourceID: "sms-1001", ReceivedAt: now},
			{Text: "KB스타뱅킹\n입금 10,000원\n가*다님 " + hm + " 123456**789\n홍길동 FBS입금 10,000 잔액110,000", SourceID: "push-5f3a", ReceivedAt: now},
		})
		if err != nil {
			t.Fatal(err)
		}
		if res[0].Deposit == nil || res[0].Message.BankAccountID != kb.ID || res[1].Message.Status != bankmessage.StatusDUPLICATE ||
			res[1].Deposit.ID != res[0].Deposit.ID {
			t.Fatalf("SMS and push of one deposit: %s %s", res[0].Message.Status, res[1].Message.Status)
		}
		if pa, pb := e.payment(t, a.ID).Status, e.payment(t, b.ID).Status; pa != entpayment.StatusPAID || pb != entpayment.StatusREADY {
			t.Errorf("orders after one deposit: %s %s", pa, pb)
		}
		// A report of it without a balance, from a feed: maybe the same
		// transfer, so it pays nothing and waits for a human.
		twin := e.depositOn(t, kb.ID, "홍길동", 10000, "feed-9").Deposit
		if twin.Status != entdeposit.StatusUNMATCHED || twin.UnmatchedReason != deposit.UnmatchedPossibleDuplicate {
			t.Errorf("a second report without a balance: %s %s", twin.Status, twin.UnmatchedReason)
		}
		if pb := e.payment(t, b.ID).Status; pb != entpayment.StatusREADY {
			t.Errorf("a possible duplicate paid the second order")
		}
		// An alert of the owner's own KB account (other digits shown) is not
		// the store's: kept as UNPARSED, nothing recorded.
		res, err = e.svc.RecordMessages(e.ctx, e.storeID, []deposit.MessageInput{
			{Text: "[KB]" + hm + "\n999999**789\n홍길동\n입금\n10,000\n잔액510,000", ReceivedAt: now},
		})
		if err != nil {
			t.Fatal(err)
		}
		if m := res[0].Message; m.Status != bankmessage.StatusUNPARSED || res[0].Deposit != nil || m.BankAccountID != "" {
			t.Errorf("an alert of another account: %s %q", m.Status, m.Reason)
		}
		// Named by the forwarder, the store's account still must be the one
		// the alert shows.
		res, err = e.svc.RecordMessages(e.ctx, e.storeID, []deposit.MessageInput{
			{Text: "[KB]" + hm + "\n999999**111\n홍길동\n입금\n10,000\n잔액610,000", ReceivedAt: now, BankAccountID: kb.ID},
		})
		if err != nil {
			t.Fatal(err)
		}
		if m := res[0].Message; m.Status != bankmessage.StatusUNPARSED || res[0].Deposit != nil {
			t.Errorf("an alert of another account sent with the store's account id: %s %q", m.Status, m.Reason)
		}
		// A source id names one transaction: another amount under it is
		// refused.
		if _, err := e.svc.Record(e.ctx, []deposit.TransactionInput{{BankAccountID: kb.ID, Amount: 99, DepositorName: "홍길동", At: now, SourceID: "feed-9"}}); apierr.CodeOf(err) != apierr.CodeInvalidArgument {
			t.Errorf("a source id reused for another amount: %v", err)
		}
		if _, err := e.svc.Record(e.ctx, []deposit.TransactionInput{{BankAccountID: kb.ID, Amount: 99, DepositorName: "x", At: now.Add(time.Hour)}}); apierr.CodeOf(err) != apierr.CodeInvalidArgument {
			t.Errorf("a transaction an hour ahead: %v", err)
		}
	})
}

// Message ids are a phone's: a TEST message does not hide a LIVE one.
func TestMessageIDsPerMode(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, db *ent.Client) {
		e := newEnv(t, db)
		nh := e.newAccount(t, "011", "352-0000-1234-56")
		live := tenant.NewContext(context.Background(), tenant.Viewer{StoreID: e.storeID, KeyID: "key_live", KeyMode: "LIVE"})
		liveNH, err := e.svc.CreateAccount(live, deposit.AccountInput{StoreID: e.storeID, Bank: "011", Number: "352-0000-1234-56", Holder: "x"})
		if err != nil {
			t.Fatal(err)
		}
		hm := e.clock.Now().In(time.FixedZone("KST", 9*3600)).Format("01/02 15:04")
		text := "농협 입금10,000원\n" + hm + " 352-****-1234-56 홍길동 잔액110,000원"
		tr, err := e.svc.RecordMessages(e.ctx, e.storeID, []deposit.MessageInput{{Text: text, SourceID: "57"}})
		if err != nil {
			t.Fatal(err)
		}
		lr, err := e.svc.RecordMessages(live, e.storeID, []deposit.MessageInput{{Text: text, SourceID: "57"}})
		if err != nil {
			t.Fatal(err)
		}
		if tr[0].Deposit.BankAccountID != nh.ID || lr[0].Deposit == nil || lr[0].Deposit.BankAccountID != liveNH.ID || lr[0].Message.ID == tr[0].Message.ID {
			t.Errorf("TEST and LIVE message 57: %+v / %+v", tr[0].Message, lr[0].Message)
		}
	})
}

// The administrator acts across stores: a deposit still pays only its own
// store's orders.
func TestAdminCannotMatchAcrossStores(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, db *ent.Client) {
		a := newEnv(t, db)
		b := newEnv(t, db)
		order := b.order(t, "B-1", "홍길동", 5000)
		a.clock.Advance(time.Minute)
		dep := a.deposit(t, "무명", 5000).Deposit
		admin := tenant.NewContext(context.Background(), tenant.Viewer{Admin: true})
		if _, _, err := a.svc.Match(admin, dep.ID, order.ID); apierr.CodeOf(err) != apierr.CodeNotFound {
			t.Errorf("admin match across stores: %v", err)
		}
	})
}

// A receipt the store cannot issue (no channel) is on record as FAILED,
// not lost in a log.
func TestReceiptWithoutAChannelIsRecorded(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, db *ent.Client) {
		e := newEnv(t, db)
		if _, err := db.Channel.Delete().Exec(tenant.System(context.Background())); err != nil {
			t.Fatal(err)
		}
		o, err := e.svc.CreateOrder(e.ctx, deposit.OrderInput{
			NewInput:      payment.NewInput{StoreID: e.storeID, MerchantPaymentID: "CR-X", OrderName: "book", Amount: payment.Amount{Total: 5000}},
			DepositorName: "홍길동",
			CashReceipt:   &payment.CashReceiptSubject{Type: providers.CashReceiptExpenseProof, Identity: "1234567890"},
		})
		if err != nil {
			t.Fatal(err)
		}
		e.clock.Advance(time.Minute)
		if r := e.deposit(t, "홍길동", 5000); r.Paid == nil {
			t.Fatal("not matched")
		}
		r, err := db.CashReceipt.Query().Where(cashreceipt.PaymentID(o.ID)).Only(tenant.System(context.Background()))
		if err != nil || r.Status != cashreceipt.StatusFAILED || r.Failure == nil || r.Failure.Reason != payment.ReasonNoCashReceiptChannel {
			t.Fatalf("receipt without a channel: %+v %v", r, err)
		}
	})
}

// A receipt written with a match but never sent (paymux stopped between)
// is sent by the sweep.
func TestStrandedReceiptIsSent(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, db *ent.Client) {
		e := newEnv(t, db)
		o, err := e.svc.CreateOrder(e.ctx, deposit.OrderInput{
			NewInput:      payment.NewInput{StoreID: e.storeID, MerchantPaymentID: "CR-S", OrderName: "book", Amount: payment.Amount{Total: 7000}},
			DepositorName: "홍길동",
			CashReceipt:   &payment.CashReceiptSubject{Type: providers.CashReceiptIncomeDeduction, Identity: "01012345678"},
		})
		if err != nil {
			t.Fatal(err)
		}
		// The match's transaction, as deposit writes it, with no send after.
		err = database.InTx(e.ctx, db, func(tx *ent.Tx) error {
			p, err := payment.Lock(e.ctx, tx, o.ID)
			if err != nil {
				return err
			}
			paid, err := e.payments.Transition(e.ctx, tx, p, paystate.MatchDeposit, func(u *ent.PaymentUpdateOne) { u.SetPaid(p.Total) })
			if err != nil {
				return err
			}
			return e.payments.RequestOrderReceipt(e.ctx, tx, paid)
		})
		if err != nil {
			t.Fatal(err)
		}
		sys := tenant.System(context.Background())
		r, err := db.CashReceipt.Query().Where(cashreceipt.PaymentID(o.ID)).Only(sys)
		if err != nil || r.Status != cashreceipt.StatusREQUESTED || r.PgReceiptID != "" {
			t.Fatalf("written, not sent: %+v %v", r, err)
		}
		if err := e.payments.SendStrandedReceipts(context.Background()); err != nil {
			t.Fatal(err)
		}
		if r, _ = db.CashReceipt.Get(sys, r.ID); r.PgReceiptID != "" {
			t.Fatal("sent before it was a minute old: a match may still be sending it")
		}
		e.clock.Advance(2 * time.Minute)
		if err := e.payments.SendStrandedReceipts(context.Background()); err != nil {
			t.Fatal(err)
		}
		if r, _ = db.CashReceipt.Get(sys, r.ID); r.PgReceiptID == "" || r.Status == cashreceipt.StatusFAILED {
			t.Errorf("stranded receipt after the sweep: %s %q", r.Status, r.PgReceiptID)
		}
	})
}
