package realpg_test

import (
	"context"
	"encoding/base64"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	"github.com/paymux/paymux/app"
	"github.com/paymux/paymux/config"
	"github.com/paymux/paymux/ent"
	paymuxv1 "github.com/paymux/paymux/gen/paymux/v1"
	"github.com/paymux/paymux/gen/paymux/v1/paymuxv1connect"
	"github.com/paymux/paymux/secrets"
)

// choice is what the buyer does in the PG's window.
type choice struct {
	card    string // approve with this card ("" = the fake's default card)
	decline string // the window itself refuses with this PG code
	close   bool   // the buyer closes the window
}

// fault is what the fake PG does to its next call of an operation.
type fault int

const (
	faultLoseAnswer fault = iota + 1 // done, then no answer
	faultTimeoutAfterCharge
	faultUnavailable
)

// sent is a notification the fake PG sent.
type sent struct {
	status int
	body   string
}

// pgDriver is one real PG: its channel's credentials and its fake, as the
// suite needs them. Each PG's file fills one in.
type pgDriver struct {
	name       string
	provider   paymuxv1.Provider
	merchantID string
	secrets    map[string]string
	// badSecrets are well-shaped credentials the PG refuses.
	badSecrets map[string]string
	// misshapen are credentials the adapter refuses without a call, and
	// the field it names.
	misshapen      map[string]string
	misshapenField string
	configure      func(*config.Config)
	// completeWindow plays the buyer on the fake window opened with
	// params and returns the request the browser then makes to paymux.
	completeWindow func(params map[string]string, c choice) (method, target string, form url.Values, err error)
	failNext       func(op string, f fault) // op: "approve", "cancel", "charge", "receipt"
	// declines are window choices each PG refuses, with the PG code paymux
	// must keep.
	declines []declineCase
	// windowVirtualAccount: the PG issues accounts through its window.
	windowVirtualAccount bool
	deposit              func(orderID string, amount int64, depositor string) error
	consoleCancel        func(orderID string, amount int64) error
	setWebhook           func(url string)
	notifications        func() []sent
	resend               func(i int) (sent, error)
	pgStatus             func(orderID string) (status string, balance int64)
	// forgedNotice is a notification of the PG's shape about orderID that
	// does not pass its verification (a wrong signature or secret).
	forgedNotice func(orderID string) string
	// replayedNotice is a correctly signed notice of one payment (tid,
	// amount) carried over to another order; nil where the PG signs none.
	replayedNotice func(tid string, amount int64, otherOrderID string) string
	// windowApprovesItself: in the client approval model the PG's window
	// approves by itself (NicePay's Client-approval key).
	windowApprovesItself bool
	// netCancelsOnTimeout: the PG asks for a net-cancel after a timed-out
	// approval (NicePay); otherwise paymux looks the payment up.
	netCancelsOnTimeout bool
	cardBillingKeys     bool // billing keys from card data
	keyIn               bool // key-in charges (a Toss contract option; not in NicePay's Start API)
	billingCard         string
}

type declineCase struct {
	name   string
	choice choice
	pgCode string
}

// env is a running paymux with one channel of the PG under test, the
// store's default TEST payment channel.
type env struct {
	t         *testing.T
	pg        pgDriver
	url       string
	db        *ent.Client
	storeID   string
	channelID string
	admin     string // Authorization of the platform administrator
	key       string // Authorization of the store's TEST key
	payments  paymuxv1connect.PaymentServiceClient
	channels  paymuxv1connect.ChannelServiceClient
	billing   paymuxv1connect.BillingServiceClient
	adminCh   paymuxv1connect.ChannelServiceClient
	app       *app.App
	noFollow  *http.Client
	merchant  *merchantSite
	logs      paymuxv1connect.LogServiceClient
	// lastWindow is what the PG's window last sent back to paymux.
	lastWindow url.Values
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

func startEnv(t *testing.T, db *ent.Client, pg pgDriver) *env {
	t.Helper()
	cfg, err := config.Load(config.NewViper(), "")
	if err != nil {
		t.Fatal(err)
	}
	cfg.DataDir = t.TempDir()
	cfg.Payments.PGTimeout = 2 * time.Second // the fakes' timeouts end in seconds, not half a minute
	cfg.Payments.SweepInterval = 250 * time.Millisecond
	pg.configure(&cfg)
	master := []byte(secrets.RandomString(32))[:32] // any 32 bytes
	keyring, err := secrets.NewKeyring(master)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	adminHash, first, err := app.Bootstrap(ctx, db, keyring, cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg.PublicURL = "http://" + ln.Addr().String()
	a, err := app.New(app.Options{Config: cfg, DB: db, Keyring: keyring, AdminTokenHash: adminHash,
		Logger: slog.New(slog.NewTextHandler(discard{}, nil))})
	if err != nil {
		t.Fatal(err)
	}
	sctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- a.Serve(sctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
		_ = a.Close()
	})
	e := &env{t: t, pg: pg, url: cfg.PublicURL, db: db, storeID: first.StoreID, app: a,
		admin: "Bearer " + first.AdminToken,
		key:   "Basic " + base64.StdEncoding.EncodeToString([]byte(first.ClientKey+":"+first.SecretKey)),
		noFollow: &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
			Timeout: 30 * time.Second},
		merchant: startMerchant(t),
	}
	hc := authed(e.key)
	e.payments = paymuxv1connect.NewPaymentServiceClient(hc, e.url)
	e.channels = paymuxv1connect.NewChannelServiceClient(hc, e.url)
	e.billing = paymuxv1connect.NewBillingServiceClient(hc, e.url)
	e.logs = paymuxv1connect.NewLogServiceClient(hc, e.url)
	e.adminCh = paymuxv1connect.NewChannelServiceClient(authed(e.admin), e.url)

	created, err := e.channels.CreateChannel(ctx, connect.NewRequest(&paymuxv1.CreateChannelRequest{
		Provider: pg.provider, Mode: paymuxv1.Mode_MODE_TEST, Name: pg.name + " test", Purpose: paymuxv1.ChannelPurpose_CHANNEL_PURPOSE_PAYMENT,
		MerchantId: pg.merchantID, TaxType: paymuxv1.TaxType_TAX_TYPE_TAXABLE, Secrets: pg.secrets, Verify: true,
	}))
	if err != nil {
		t.Fatalf("create the %s channel: %v", pg.name, err)
	}
	if v := created.Msg.GetVerification(); !v.GetOk() {
		t.Fatalf("the %s channel was not verified: %v", pg.name, v)
	}
	e.channelID = created.Msg.GetChannel().GetId()
	if _, err := e.channels.UpdateChannel(ctx, connect.NewRequest(&paymuxv1.UpdateChannelRequest{
		Id: e.channelID, Default: true, UpdateMask: mask("default"),
	})); err != nil {
		t.Fatal(err)
	}
	pg.setWebhook(e.url + "/notifications/" + e.channelID)
	return e
}

// authed is an HTTP client that sends authorization with every request.
func authed(authorization string) *http.Client {
	return &http.Client{Timeout: 30 * time.Second, Transport: authTransport{authorization}}
}

type authTransport struct{ authorization string }

func (a authTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", a.authorization)
	return http.DefaultTransport.RoundTrip(r)
}

// merchantSite is the merchant's return page: it records what each
// payment came back with.
type merchantSite struct {
	url string
	mu  sync.Mutex
	got map[string]url.Values
}

func startMerchant(t *testing.T) *merchantSite {
	m := &merchantSite{got: map[string]url.Values{}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		m.mu.Lock()
		m.got[q.Get("payment_id")+q.Get("billing_key_id")] = q
		m.mu.Unlock()
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = io.WriteString(w, `<!doctype html><title>shop</title><p id="landed" data-status="`+q.Get("status")+`">thanks</p>`)
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	m.url = "http://" + ln.Addr().String() + "/shop/return?cart=7"
	return m
}

func (m *merchantSite) query(id string) url.Values {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.got[id]
}

// returnThroughPaymux makes the request the PG's window makes to paymux and
// returns where paymux then sends the buyer.
func (e *env) returnThroughPaymux(method, target string, form url.Values) *url.URL {
	e.t.Helper()
	if !strings.HasPrefix(target, e.url+"/") {
		e.t.Fatalf("the window returns to %s, not to paymux", target)
	}
	var res *http.Response
	var err error
	if method == http.MethodPost {
		res, err = e.noFollow.PostForm(target, form)
	} else {
		u, _ := url.Parse(target)
		q := u.Query()
		for k := range form {
			q.Set(k, form.Get(k))
		}
		u.RawQuery = q.Encode()
		res, err = e.noFollow.Get(u.String())
	}
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusSeeOther {
		body, _ := io.ReadAll(res.Body)
		e.t.Fatalf("paymux answered the window's return with %d: %s", res.StatusCode, body)
	}
	loc, err := url.Parse(res.Header.Get("Location"))
	if err != nil {
		e.t.Fatal(err)
	}
	return loc
}

func mask(paths ...string) *fieldmaskpb.FieldMask { return &fieldmaskpb.FieldMask{Paths: paths} }

// wantCode fails unless err is a Connect error of code.
func wantCode(t *testing.T, err error, code connect.Code, what string) *connect.Error {
	t.Helper()
	var ce *connect.Error
	if !errors.As(err, &ce) || ce.Code() != code {
		t.Fatalf("%s: got %v, want %s", what, err, code)
	}
	return ce
}
