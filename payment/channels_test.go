package payment_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"sync"
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
	"github.com/paymux/paymux/secrets"
	"github.com/paymux/paymux/tenant"
)

// channelEnv is payment.Service over a real database with two stores and
// no channel yet; the PG calls it makes through a channel are recorded.
type channelEnv struct {
	db      *ent.Client
	svc     *payment.Service
	keyring *secrets.Keyring
	sandbox *sandbox.Sandbox
	calls   *pgCalls
	stores  [2]string
	ctx     [2]context.Context // acting as each store's TEST key
}

// pgCalls records the site_key secret each Approve was called with.
type pgCalls struct {
	mu       sync.Mutex
	approves []string
}

func (c *pgCalls) approved() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.approves)
}

// recording is a channel's adapter that records its Approve calls.
type recording struct {
	providers.Provider
	calls *pgCalls
}

func (r recording) Approve(ctx context.Context, ch providers.Channel, req providers.ApproveRequest) (*providers.Payment, error) {
	r.calls.mu.Lock()
	r.calls.approves = append(r.calls.approves, ch.Secret("site_key"))
	r.calls.mu.Unlock()
	return r.Provider.Approve(ctx, ch, req)
}

func newChannelEnv(t *testing.T, db *ent.Client) *channelEnv {
	t.Helper()
	keyring, err := secrets.NewKeyring(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	// The clock moves on a little at every reading, as a real one does,
	// and stays well inside the channel cache's minute.
	clock := sandbox.NewManualClock(time.Now().UTC().Truncate(time.Second))
	tick := func() time.Time { clock.Advance(time.Millisecond); return clock.Now() }
	e := &channelEnv{db: db, keyring: keyring, calls: &pgCalls{}, sandbox: sandbox.New(sandbox.Options{Now: tick})}
	e.svc = payment.New(payment.Deps{
		Config:    payment.Config{PGTimeout: 5 * time.Second, SweepInterval: time.Minute},
		DB:        db,
		Keyring:   keyring,
		Providers: map[string]providers.Provider{sandbox.Name: e.sandbox},
		WrapProvider: func(p providers.Provider, _ string) providers.Provider {
			return recording{Provider: p, calls: e.calls}
		},
		Outbox: &outbox{},
		EventData: func(p *ent.Payment) ([]byte, error) {
			return json.Marshal(map[string]any{"id": p.ID, "status": p.Status})
		},
		ReturnURL:       func(id string) string { return "http://paymux.test/pay/return/" + id },
		ChannelCacheTTL: time.Minute,
		Now:             tick,
	})
	sys := tenant.System(context.Background())
	for i, name := range []string{"shop", "other shop"} {
		st, err := db.Store.Create().SetName(name).Save(sys)
		if err != nil {
			t.Fatal(err)
		}
		e.stores[i] = st.ID
		e.ctx[i] = tenant.NewContext(context.Background(), tenant.Viewer{StoreID: st.ID, KeyID: "key_test", KeyMode: "TEST"})
	}
	return e
}

// create makes a TEST sandbox channel in store i.
func (e *channelEnv) create(t *testing.T, i int, name string, purpose channel.Purpose, siteKey string) *ent.Channel {
	t.Helper()
	c, _, err := e.svc.CreateChannel(e.ctx[i], payment.ChannelInput{
		StoreID: e.stores[i], Provider: channel.ProviderSANDBOX, Mode: channel.ModeTEST, Purpose: purpose,
		Name: name, MerchantID: "mid-" + name, TaxType: channel.TaxTypeTAXABLE,
		Secrets: map[string]string{"site_key": siteKey},
	})
	if err != nil {
		t.Fatalf("create channel %s: %v", name, err)
	}
	return c
}

// secretsOf opens a channel's stored secrets as paymux does.
func (e *channelEnv) secretsOf(t *testing.T, id string) map[string]string {
	t.Helper()
	row, err := e.db.Channel.Get(tenant.System(context.Background()), id)
	if err != nil {
		t.Fatal(err)
	}
	plain, err := e.keyring.Decrypt(row.SecretsSealed, []byte("channel:"+id))
	if err != nil {
		t.Fatalf("channel %s secrets do not open with channel:%s: %v", id, id, err)
	}
	var values map[string]string
	if err := json.Unmarshal(plain, &values); err != nil {
		t.Fatal(err)
	}
	return values
}

// defaults are the ids of the channels flagged default, by store, mode and
// purpose.
func (e *channelEnv) defaults(t *testing.T) map[string][]string {
	t.Helper()
	rows, err := e.db.Channel.Query().Where(channel.Default(true)).All(tenant.System(context.Background()))
	if err != nil {
		t.Fatal(err)
	}
	m := map[string][]string{}
	for _, r := range rows {
		k := r.StoreID + "/" + string(r.Mode) + "/" + string(r.Purpose)
		m[k] = append(m[k], r.ID)
	}
	return m
}

func wantViolation(t *testing.T, err error, field string) {
	t.Helper()
	var ae *apierr.Error
	if !errors.As(err, &ae) || ae.Code != apierr.CodeInvalidArgument || len(ae.Violations) != 1 || ae.Violations[0].Field != field {
		t.Fatalf("got %v, want an invalid %s", err, field)
	}
}

func wantReason(t *testing.T, err error, code apierr.Code, reason string) {
	t.Helper()
	if apierr.CodeOf(err) != code || apierr.Reason(err) != reason {
		t.Fatalf("got %v, want %s %s", err, code, reason)
	}
}

// TestCreateChannelSealsSecrets: a channel's secrets are stored only
// sealed, bound to the channel, with the sandbox's notification secret
// made when missing; the sandbox serves TEST only.
func TestCreateChannelSealsSecrets(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, db *ent.Client) {
		e := newChannelEnv(t, db)
		const secret = "site-key-Vq93kLm2"
		in := map[string]string{"site_key": secret}
		a, _, err := e.svc.CreateChannel(e.ctx[0], payment.ChannelInput{
			StoreID: e.stores[0], Provider: channel.ProviderSANDBOX, Mode: channel.ModeTEST, Purpose: channel.PurposePAYMENT,
			Name: "a", MerchantID: "mid-a", TaxType: channel.TaxTypeCOMBINED, Secrets: in,
		})
		if err != nil {
			t.Fatal(err)
		}
		b := e.create(t, 0, "b", channel.PurposePAYMENT, secret)
		if len(in) != 1 {
			t.Fatalf("the caller's secrets were changed: %v", in)
		}
		if a.StoreID != e.stores[0] || a.TaxType != channel.TaxTypeCOMBINED || a.MerchantID != "mid-a" || a.Provider != channel.ProviderSANDBOX {
			t.Fatalf("created %+v", a)
		}
		if !slices.Equal(a.SecretNames, []string{sandbox.SecretNotification, "site_key"}) {
			t.Fatalf("secret names %q", a.SecretNames)
		}
		row := db.Channel.GetX(tenant.System(e.ctx[0]), a.ID)
		if len(row.SecretsSealed) == 0 || strings.Contains(string(row.SecretsSealed), secret) {
			t.Fatal("the secret is not stored sealed")
		}
		values := e.secretsOf(t, a.ID)
		if values["site_key"] != secret || len(values[sandbox.SecretNotification]) != 32 {
			t.Fatalf("sealed secrets %v", values)
		}
		if other := e.secretsOf(t, b.ID); other[sandbox.SecretNotification] == values[sandbox.SecretNotification] {
			t.Fatal("two channels share a notification secret")
		}
		if _, err := e.keyring.Decrypt(row.SecretsSealed, []byte("channel:"+b.ID)); err == nil {
			t.Fatal("a channel's ciphertext opens as another channel's")
		}

		// A notification secret given is kept; the names say what is set.
		sealed, names, err := payment.SealChannelSecrets(e.keyring, "ch_x", channel.ProviderSANDBOX, map[string]string{sandbox.SecretNotification: "mine"})
		if err != nil || !slices.Equal(names, []string{sandbox.SecretNotification}) {
			t.Fatalf("seal: %q %v", names, err)
		}
		if plain, err := e.keyring.Decrypt(sealed, []byte("channel:ch_x")); err != nil || string(plain) != `{"notification_secret":"mine"}` {
			t.Fatalf("sealed %s, %v", plain, err)
		}

		_, _, err = e.svc.CreateChannel(e.ctx[0], payment.ChannelInput{
			StoreID: e.stores[0], Provider: channel.ProviderSANDBOX, Mode: channel.ModeLIVE, Purpose: channel.PurposePAYMENT,
			Name: "live", MerchantID: "mid-live", TaxType: channel.TaxTypeTAXABLE,
		})
		wantViolation(t, err, "mode")
		if n := db.Channel.Query().CountX(tenant.System(e.ctx[0])); n != 2 {
			t.Fatalf("%d channels, want the 2 created", n)
		}
	})
}

// TestChannelDefaults: the first channel of a store, mode and purpose is
// its default; making another the default moves the flag within that
// store, mode and purpose only; a refused change writes nothing.
func TestChannelDefaults(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, db *ent.Client) {
		e := newChannelEnv(t, db)
		first := e.create(t, 0, "first", channel.PurposePAYMENT, "k1")
		second := e.create(t, 0, "second", channel.PurposePAYMENT, "k2")
		identity := e.create(t, 0, "identity", channel.PurposeIDENTITY_VERIFICATION, "k3")
		theirs := e.create(t, 1, "theirs", channel.PurposePAYMENT, "k4")
		if !first.Default || second.Default || !identity.Default || !theirs.Default {
			t.Fatalf("defaults on create: %v %v %v %v", first.Default, second.Default, identity.Default, theirs.Default)
		}
		// A LIVE channel (of a future provider), put in place directly.
		live := db.Channel.Create().SetStoreID(e.stores[0]).SetProvider(channel.ProviderSANDBOX).
			SetMode(channel.ModeLIVE).SetPurpose(channel.PurposePAYMENT).SetName("live").SetMerchantID("m").
			SetTaxType(channel.TaxTypeTAXABLE).SetDefault(true).SaveX(tenant.System(e.ctx[0]))

		moved, err := e.svc.UpdateChannel(e.ctx[0], payment.ChannelChange{ID: second.ID, Fields: []string{"default", "name"}, Default: true, Name: "now main"})
		if err != nil {
			t.Fatal(err)
		}
		if !moved.Default || moved.Name != "now main" {
			t.Fatalf("after update %+v", moved)
		}
		want := map[string][]string{
			e.stores[0] + "/TEST/PAYMENT":               {second.ID},
			e.stores[0] + "/TEST/IDENTITY_VERIFICATION": {identity.ID},
			e.stores[0] + "/LIVE/PAYMENT":               {live.ID},
			e.stores[1] + "/TEST/PAYMENT":               {theirs.ID},
		}
		got := e.defaults(t)
		if len(got) != len(want) {
			t.Fatalf("defaults %v, want %v", got, want)
		}
		for k, ids := range want {
			if !slices.Equal(got[k], ids) {
				t.Fatalf("defaults of %s: %v, want %v", k, got[k], ids)
			}
		}

		// Refusals, each naming its field; none writes anything.
		_, err = e.svc.UpdateChannel(e.ctx[0], payment.ChannelChange{ID: first.ID, Fields: []string{"default", "name"}, Default: true, Name: ""})
		wantViolation(t, err, "name")
		_, err = e.svc.UpdateChannel(e.ctx[0], payment.ChannelChange{ID: second.ID, Fields: []string{"name", "default"}, Name: "renamed", Default: false})
		wantViolation(t, err, "default")
		_, err = e.svc.UpdateChannel(e.ctx[0], payment.ChannelChange{ID: second.ID})
		wantViolation(t, err, "update_mask")
		_, err = e.svc.UpdateChannel(e.ctx[0], payment.ChannelChange{ID: second.ID, Fields: []string{"mode"}})
		wantViolation(t, err, "update_mask")
		_, err = e.svc.UpdateChannel(e.ctx[0], payment.ChannelChange{ID: second.ID, Fields: []string{"tax_type"}})
		wantViolation(t, err, "tax_type")
		_, err = e.svc.UpdateChannel(e.ctx[0], payment.ChannelChange{ID: second.ID, Fields: []string{"merchant_id"}})
		wantViolation(t, err, "merchant_id")
		if got := e.defaults(t)[e.stores[0]+"/TEST/PAYMENT"]; !slices.Equal(got, []string{second.ID}) {
			t.Fatalf("a refused change moved the default: %v", got)
		}
		if c := db.Channel.GetX(e.ctx[0], second.ID); c.Name != "now main" {
			t.Fatalf("a refused change renamed the channel: %s", c.Name)
		}

		// Another store's channel does not exist for this store.
		_, err = e.svc.UpdateChannel(e.ctx[0], payment.ChannelChange{ID: theirs.ID, Fields: []string{"default"}, Default: true})
		wantReason(t, err, apierr.CodeNotFound, apierr.ReasonChannelNotFound)

		changed, err := e.svc.UpdateChannel(e.ctx[0], payment.ChannelChange{ID: first.ID,
			Fields: []string{"merchant_id", "tax_type"}, MerchantID: "mid-new", TaxType: channel.TaxTypeTAX_FREE})
		if err != nil || changed.MerchantID != "mid-new" || changed.TaxType != channel.TaxTypeTAX_FREE || changed.Default {
			t.Fatalf("changed %+v, %v", changed, err)
		}
	})
}

// TestDeleteChannel: the default is deleted only as the last of its store,
// mode and purpose.
func TestDeleteChannel(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, db *ent.Client) {
		e := newChannelEnv(t, db)
		main := e.create(t, 0, "main", channel.PurposePAYMENT, "k1")
		spare := e.create(t, 0, "spare", channel.PurposePAYMENT, "k2")
		theirs := e.create(t, 1, "theirs", channel.PurposePAYMENT, "k3")

		wantReason(t, second(e.svc.DeleteChannel(e.ctx[0], main.ID)), apierr.CodeFailedPrecondition, apierr.ReasonChannelIsDefault)
		wantReason(t, second(e.svc.DeleteChannel(e.ctx[0], theirs.ID)), apierr.CodeNotFound, apierr.ReasonChannelNotFound)
		if n := db.Channel.Query().CountX(tenant.System(e.ctx[0])); n != 3 {
			t.Fatalf("refused deletes left %d channels, want 3", n)
		}
		if _, err := e.svc.DeleteChannel(e.ctx[0], spare.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.DeleteChannel(e.ctx[0], main.ID); err != nil { // the last one, default or not
			t.Fatal(err)
		}
		wantReason(t, second(e.svc.DeleteChannel(e.ctx[0], main.ID)), apierr.CodeNotFound, apierr.ReasonChannelNotFound)
		if ids := db.Channel.Query().IDsX(tenant.System(e.ctx[0])); !slices.Equal(ids, []string{theirs.ID}) {
			t.Fatalf("left %v, want only the other store's", ids)
		}
	})
}

// TestChannelChangeReachesCharges: payment.Service keeps opened channels
// for a while; every change it makes, and every change it refuses, drops
// them, so the next charge uses the channel's secrets as stored.
func TestChannelChangeReachesCharges(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, db *ent.Client) {
		e := newChannelEnv(t, db)
		ch := e.create(t, 0, "main", channel.PurposePAYMENT, "v1")
		e.create(t, 0, "spare", channel.PurposePAYMENT, "spare") // so that ch, the default, is not the last
		n := 0
		// charge pays through a window on ch; its approval opens ch the
		// way every charge of an existing payment does (cached).
		charge := func() {
			t.Helper()
			n++
			order := "order-" + string(rune('a'+n))
			p, win, err := e.svc.Create(e.ctx[0], payment.CreateInput{
				NewInput:  payment.NewInput{StoreID: e.stores[0], ChannelID: ch.ID, MerchantPaymentID: order, OrderName: "mug", Amount: payment.Amount{Total: 12000}},
				ReturnURL: "https://shop.example/done",
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
			if p, err = e.svc.Confirm(e.ctx[0], p.ID, 12000, result); err != nil || p.Status != entpayment.StatusPAID {
				t.Fatalf("confirm: %v %v", p, err)
			}
		}
		// writeDirectly changes ch's secrets behind the service's back.
		writeDirectly := func(siteKey string) {
			t.Helper()
			sealed, names, err := payment.SealChannelSecrets(e.keyring, ch.ID, ch.Provider, map[string]string{"site_key": siteKey})
			if err != nil {
				t.Fatal(err)
			}
			db.Channel.UpdateOneID(ch.ID).SetSecretsSealed(sealed).SetSecretNames(names).ExecX(tenant.System(e.ctx[0]))
		}

		charge() // v1, and ch is kept open
		writeDirectly("behind")
		charge() // still v1: the service did not make the change

		if _, err := e.svc.UpdateChannel(e.ctx[0], payment.ChannelChange{ID: ch.ID, Fields: []string{"secrets"}, Secrets: map[string]string{"site_key": "v2"}}); err != nil {
			t.Fatal(err)
		}
		if got := e.secretsOf(t, ch.ID)["site_key"]; got != "v2" {
			t.Fatalf("stored site_key %q after the update", got)
		}
		charge() // v2

		writeDirectly("v3")
		_, err := e.svc.UpdateChannel(e.ctx[0], payment.ChannelChange{ID: ch.ID, Fields: []string{"name"}})
		wantViolation(t, err, "name")
		charge() // v3: a refused update forgets too

		writeDirectly("v4")
		wantReason(t, second(e.svc.DeleteChannel(e.ctx[0], ch.ID)), apierr.CodeFailedPrecondition, apierr.ReasonChannelIsDefault)
		charge() // v4: so does a refused delete

		want := []string{"v1", "v1", "v2", "v3", "v4"}
		if got := e.calls.approved(); !slices.Equal(got, want) {
			t.Fatalf("approvals used site_key %q, want %q", got, want)
		}
	})
}

// second returns the error of a two-valued call.
func second[T any](_ T, err error) error { return err }
