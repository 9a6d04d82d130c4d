package server_test

import (
	"context"
	"fmt"
	"html/template"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/paymux/paymux/ent"
	paymuxv1 "github.com/paymux/paymux/gen/paymux/v1"
	"github.com/paymux/paymux/internal/browsertest"
	"github.com/paymux/paymux/providers/sandbox"
)

// The buyer's side of a window payment in a real browser: headless Chromium
// opens the sandbox's checkout page, picks a test card, presses Pay and
// follows the redirects (the sandbox to paymux's /pay/return, paymux to the
// merchant's return URL) until it lands on the merchant's page. What the
// page's Content-Security-Policy allows, and so whether the buyer ever gets
// back to the shop, only a browser can tell.

// browserShop is the merchant's return page: it records the query each
// payment came back with and shows a page the browser test waits for.
type browserShop struct {
	*httptest.Server
	mu  sync.Mutex
	got map[string]url.Values // by payment_id
}

var browserShopPage = template.Must(template.New("shop").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>shop</title></head>
<body><h1>Thank you</h1><p id="landed" data-status="{{.}}">Payment {{.}}</p></body></html>`))

func startBrowserShop(t *testing.T) *browserShop {
	t.Helper()
	m := &browserShop{got: map[string]url.Values{}}
	m.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/shop/return" {
			http.NotFound(w, r)
			return
		}
		q := r.URL.Query()
		m.mu.Lock()
		m.got[q.Get("payment_id")] = q
		m.mu.Unlock()
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_ = browserShopPage.Execute(w, q.Get("status"))
	}))
	t.Cleanup(m.Close)
	return m
}

// returnURL is the page the merchant passes as return_url, with a query of
// its own that must come back too.
func (m *browserShop) returnURL() string { return m.URL + "/shop/return?cart=42" }

func (m *browserShop) query(paymentID string) url.Values {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.got[paymentID]
}

// browserPay plays the buyer in a new tab: it opens checkoutURL, chooses
// card in the test card list, presses Pay and waits to land on the
// merchant's page. It returns the URL the browser ends on.
func browserPay(t *testing.T, browser context.Context, merchant *browserShop, checkoutURL, card string) string {
	t.Helper()
	tab, console := browsertest.Tab(t, browser)
	ctx, cancel := context.WithTimeout(tab, 30*time.Second)
	defer cancel()
	const cards = `select[name="number"]`
	err := chromedp.Do(ctx,
		chromedp.Navigate(checkoutURL),
		chromedp.WaitVisible(chromedp.CSS(cards)),
		chromedp.SetValue(chromedp.CSS(cards), card),
	)
	if err != nil {
		t.Fatalf("checkout page %s: %v", checkoutURL, err)
	}
	if chosen, err := chromedp.Run(ctx, chromedp.Value(chromedp.CSS(cards))); err != nil || chosen != card {
		t.Fatalf("the checkout page's card list does not offer %s: chose %q (%v)", card, chosen, err)
	}
	err = chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#landed`)),
	)
	if err != nil {
		// Say where the browser stopped, and why if the page said so.
		dctx, dcancel := context.WithTimeout(tab, 5*time.Second)
		defer dcancel()
		where, _ := chromedp.Run(dctx, chromedp.Location())
		body, _ := chromedp.Run(dctx, chromedp.Text(chromedp.CSS("body")))
		t.Fatalf("after Pay the browser did not reach the merchant's page: %v\nat %s\npage: %q\nconsole:\n  %s",
			err, where, strings.TrimSpace(body), strings.Join(console(), "\n  "))
	}
	where, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(where, merchant.URL+"/shop/return?") {
		t.Fatalf("the browser ended on %s, not the merchant's return page", where)
	}
	return where
}

// browserCreatePayment creates a card window payment returning to the merchant.
func browserCreatePayment(t *testing.T, ts *testServer, key http.Header, merchant *browserShop, model paymuxv1.ApprovalModel, total int64) *paymuxv1.CreatePaymentResponse {
	t.Helper()
	created := mustOK[*paymuxv1.CreatePaymentResponse](t, callConnect(t, ts, createPayment(&paymuxv1.CreatePaymentRequest{
		MerchantPaymentId: merchantID("browser"), OrderName: "T-shirt", Amount: amount(total),
		ApprovalModel: model, ReturnUrl: merchant.returnURL(), Customer: &paymuxv1.Customer{Name: "Kim"},
	}), key))
	if p := created.GetPayment(); p.GetStatus() != paymuxv1.PaymentStatus_PAYMENT_STATUS_READY || p.GetApprovalModel() != model {
		t.Fatalf("created %v", p)
	}
	if !strings.HasPrefix(created.GetWindow().GetCheckoutUrl(), ts.URL+"/sandbox/checkout/") {
		t.Fatalf("checkout URL %q", created.GetWindow().GetCheckoutUrl())
	}
	return created
}

// browserWantLanded checks the query the merchant's page received.
func browserWantLanded(t *testing.T, merchant *browserShop, p *paymuxv1.Payment, status string) url.Values {
	t.Helper()
	q := merchant.query(p.GetId())
	if q == nil {
		t.Fatalf("the merchant's page never saw payment %s", p.GetId())
	}
	want := map[string]string{
		"payment_id": p.GetId(), "merchant_payment_id": p.GetMerchantPaymentId(),
		"amount": fmt.Sprint(p.GetAmounts().GetTotal()), "status": status, "cart": "42",
	}
	for k, v := range want {
		if q.Get(k) != v {
			t.Fatalf("the merchant's page got %s=%q, want %q (query %v)", k, q.Get(k), v, q)
		}
	}
	return q
}

func browserReadPayment(t *testing.T, ts *testServer, key http.Header, id string) *paymuxv1.Payment {
	t.Helper()
	return mustOK[*paymuxv1.GetPaymentResponse](t, callConnect(t, ts, getPayment(id), key)).GetPayment()
}

// TestBrowserWindowPayment: a buyer pays in the sandbox's window in
// Chromium and lands on the merchant's page, under both approval models
// and with a declined card, on every database.
func TestBrowserWindowPayment(t *testing.T) {
	browser := browsertest.Start(t)
	merchant := startBrowserShop(t)
	forEachDB(t, func(t *testing.T, db *ent.Client) {
		ts := startServer(t, db)
		key := headers("Authorization", ts.firstKeyAuth())

		t.Run("server approval", func(t *testing.T) {
			created := browserCreatePayment(t, ts, key, merchant, paymuxv1.ApprovalModel_APPROVAL_MODEL_SERVER, 30000)
			p := created.GetPayment()
			browserPay(t, browser, merchant, created.GetWindow().GetCheckoutUrl(), sandbox.CardSuccess)
			q := browserWantLanded(t, merchant, p, "READY")
			if q.Get(sandbox.WindowSessionID) == "" || q.Has(sandbox.WindowAuthToken) {
				t.Fatalf("the merchant's page got %v: want the window's result without its one-time token", q)
			}
			if got := browserReadPayment(t, ts, key, p.GetId()); got.GetStatus() != paymuxv1.PaymentStatus_PAYMENT_STATUS_READY {
				t.Fatalf("before confirm: %v", got)
			}
			// The merchant's server confirms with the amount it expects.
			paid := mustOK[*paymuxv1.ConfirmPaymentResponse](t, callREST(t, ts,
				confirmPayment(&paymuxv1.ConfirmPaymentRequest{Id: p.GetId(), Amount: 30000}), key)).GetPayment()
			if paid.GetStatus() != paymuxv1.PaymentStatus_PAYMENT_STATUS_PAID || paid.GetAmounts().GetPaid() != 30000 {
				t.Fatalf("confirmed %v", paid)
			}
			if got := browserReadPayment(t, ts, key, p.GetId()); got.GetStatus() != paymuxv1.PaymentStatus_PAYMENT_STATUS_PAID || got.GetPgTransactionId() == "" {
				t.Fatalf("after confirm: %v", got)
			}
		})

		t.Run("client approval", func(t *testing.T) {
			created := browserCreatePayment(t, ts, key, merchant, paymuxv1.ApprovalModel_APPROVAL_MODEL_CLIENT, 12000)
			p := created.GetPayment()
			browserPay(t, browser, merchant, created.GetWindow().GetCheckoutUrl(), sandbox.CardSuccess)
			browserWantLanded(t, merchant, p, "PAID")
			if got := browserReadPayment(t, ts, key, p.GetId()); got.GetStatus() != paymuxv1.PaymentStatus_PAYMENT_STATUS_PAID || got.GetAmounts().GetPaid() != 12000 {
				t.Fatalf("after the window: %v", got)
			}
		})

		t.Run("client approval, declined card", func(t *testing.T) {
			created := browserCreatePayment(t, ts, key, merchant, paymuxv1.ApprovalModel_APPROVAL_MODEL_CLIENT, 5000)
			p := created.GetPayment()
			browserPay(t, browser, merchant, created.GetWindow().GetCheckoutUrl(), sandbox.CardInsufficientFunds)
			q := browserWantLanded(t, merchant, p, "FAILED")
			if q.Get("failure_reason") == "" {
				t.Fatalf("a failed payment came back without failure_reason: %v", q)
			}
			if got := browserReadPayment(t, ts, key, p.GetId()); got.GetStatus() != paymuxv1.PaymentStatus_PAYMENT_STATUS_FAILED {
				t.Fatalf("after the window: %v", got)
			}
		})
	})
}
