package server

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/paymux/paymux/account"
	"github.com/paymux/paymux/config"
	"github.com/paymux/paymux/internal/testdb"
	paymentsvc "github.com/paymux/paymux/payment"
	"github.com/paymux/paymux/providers"
	"github.com/paymux/paymux/providers/sandbox"
	"github.com/paymux/paymux/secrets"
	"github.com/paymux/paymux/webhook"
)

// hangUpPG is the sandbox, but the client hangs up (or its deadline
// passes) while the PG charges.
type hangUpPG struct {
	*sandbox.Sandbox
	hangUp func()
}

func (p *hangUpPG) ChargeKeyIn(ctx context.Context, ch providers.Channel, req providers.KeyInRequest) (*providers.Payment, error) {
	if p.hangUp != nil {
		p.hangUp()
	}
	return p.Sandbox.ChargeKeyIn(ctx, ch, req)
}

// TestChargeAnsweredWhenClientHangsUp: a charge the PG made is recorded and
// answered as the payment even if the client went away meanwhile, so the
// Idempotency-Key keeps that answer and a retry gets it again (not
// PAYMENT_ALREADY_EXISTS).
func TestChargeAnsweredWhenClientHangsUp(t *testing.T) {
	db := testdb.SQLite(t)
	ctx := context.Background()
	keyring, err := secrets.NewKeyring(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(config.NewViper(), "")
	if err != nil {
		t.Fatal(err)
	}
	cfg.DataDir = t.TempDir()
	cfg.CallLog.Enabled = false
	accounts := account.New(account.Options{DB: db, Keyring: keyring})
	first, err := accounts.Bootstrap(ctx, cfg.AdminToken)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	pg := &hangUpPG{Sandbox: sandbox.New(sandbox.Options{})}
	payments := paymentsvc.New(paymentsvc.Deps{Config: cfg.Payments, DB: db, Keyring: keyring,
		Providers: map[string]providers.Provider{sandbox.Name: pg}, Outbox: webhook.NewOutbox(nil),
		EventData: PaymentEventData, ReturnURL: func(string) string { return "http://paymux.test" }, Logger: log})
	srv, err := New(Deps{Config: cfg, DB: db, Keyring: keyring, Logger: log, Accounts: accounts,
		Usage: account.NewUsageRecorder(db, log, time.Hour), Payments: payments})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	call := func(ctx context.Context) (int, string) {
		body := `{"merchantPaymentId":"gone-1","orderName":"o","amount":{"total":1000},"card":{"number":"9410000000000005","expiryYear":2030,"expiryMonth":12}}`
		r := httptest.NewRequest(http.MethodPost, "/paymux.v1.PaymentService/CreateInstantPayment", strings.NewReader(body)).WithContext(ctx)
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("Idempotency-Key", "k-1")
		r.SetBasicAuth(first.ClientKey, first.SecretKey)
		r.RemoteAddr = "127.0.0.1:1234"
		w := httptest.NewRecorder()
		srv.Handler().ServeHTTP(w, r)
		return w.Code, w.Body.String()
	}
	type answer struct {
		Payment struct {
			ID, Status    string
			StatusHistory []json.RawMessage
		}
	}
	clientCtx, hangUp := context.WithCancel(ctx)
	pg.hangUp = hangUp
	code, body := call(clientCtx)
	var a answer
	if err := json.Unmarshal([]byte(body), &a); code != http.StatusOK || err != nil || a.Payment.Status != "PAYMENT_STATUS_PAID" || len(a.Payment.StatusHistory) != 3 {
		t.Fatalf("the charged payment answered %d: %s", code, body)
	}
	pg.hangUp = nil
	code, body = call(ctx)
	var again answer
	if err := json.Unmarshal([]byte(body), &again); code != http.StatusOK || err != nil || again.Payment.ID != a.Payment.ID {
		t.Fatalf("retry with the same Idempotency-Key: %d %s", code, body)
	}
}
