package realpg_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	paymuxv1 "github.com/paymux/paymux/gen/paymux/v1"
	"github.com/paymux/paymux/internal/browsertest"
)

// The buyer's side in a real browser: headless Chromium opens paymux's
// checkout page, which loads the PG's SDK (the fake's stand-in, at the
// configured sdk_url) and runs the adapter's launch code; the SDK opens
// the PG's window, the buyer presses Pay, and the PG sends the browser
// back to paymux (a redirect or a form POST), which sends it on to the
// merchant. Only a browser tells whether the page's policy, the launch
// code and the PG's way back fit together.

func (e *env) testBrowserWindow(t *testing.T) {
	browser := browsertest.Start(t)
	for _, tc := range []struct {
		model  paymuxv1.ApprovalModel
		status string
	}{
		{paymuxv1.ApprovalModel_APPROVAL_MODEL_SERVER, "READY"},
		{paymuxv1.ApprovalModel_APPROVAL_MODEL_CLIENT, "PAID"},
	} {
		t.Run(tc.model.String(), func(t *testing.T) {
			p, w := e.open(t, tc.model, paymuxv1.PayMethod_PAY_METHOD_CARD, 27000)
			where := browserPay(t, browser, w.GetCheckoutUrl())
			if !strings.HasPrefix(where, strings.Split(e.merchant.url, "?")[0]) {
				t.Fatalf("the browser ended on %s", where)
			}
			q := e.merchant.query(p.GetId())
			if q.Get("status") != tc.status || q.Get("cart") != "7" {
				t.Fatalf("the merchant's page got %v", q)
			}
			if tc.status == "READY" {
				e.confirm(t, p.GetId(), 27000)
			}
			wantStatus(t, e.get(t, p.GetId()), paymuxv1.PaymentStatus_PAYMENT_STATUS_PAID)
		})
	}
}

// browserPay opens checkoutURL in a new tab, presses Pay in the PG's
// window and waits for the merchant's page; it returns where it landed.
func browserPay(t *testing.T, browser context.Context, checkoutURL string) string {
	t.Helper()
	tab, console := browsertest.Tab(t, browser)
	ctx, cancel := context.WithTimeout(tab, 30*time.Second)
	defer cancel()
	err := chromedp.Do(ctx,
		chromedp.Navigate(checkoutURL),
		chromedp.WaitVisible(chromedp.CSS(`#pay`)),
		chromedp.Click(chromedp.CSS(`#pay`)),
		chromedp.WaitVisible(chromedp.CSS(`#landed`)),
	)
	if err != nil {
		dctx, dcancel := context.WithTimeout(tab, 5*time.Second)
		defer dcancel()
		where, _ := chromedp.Run(dctx, chromedp.Location())
		body, _ := chromedp.Run(dctx, chromedp.Text(chromedp.CSS("body")))
		t.Fatalf("the browser did not reach the merchant's page: %v\nat %s\npage: %q\nconsole:\n  %s",
			err, where, strings.TrimSpace(body), strings.Join(console(), "\n  "))
	}
	where, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	return where
}
