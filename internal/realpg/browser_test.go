package realpg_test

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	paymuxv1 "github.com/paymux/paymux/gen/paymux/v1"
)

// The buyer's side in a real browser: headless Chromium opens paymux's
// checkout page, which loads the PG's SDK (the fake's stand-in, at the
// configured sdk_url) and runs the adapter's launch code; the SDK opens
// the PG's window, the buyer presses Pay, and the PG sends the browser
// back to paymux (a redirect or a form POST), which sends it on to the
// merchant. Only a browser tells whether the page's policy, the launch
// code and the PG's way back fit together.

func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, p := range []string{"/usr/bin/chromium", "chromium"} {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("chromium is not installed: .ci/run installs it; the browser tests must run in CI")
	}
	t.Skip("chromium is not installed (apt-get install chromium)")
	return ""
}

func startBrowser(t *testing.T) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath(t)), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-dev-shm-usage", true))
	ctx, cancel := chromedp.NewContext(context.Background(), chromedp.WithAllocatorOptions(opts...))
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

func (e *env) testBrowserWindow(t *testing.T) {
	browser := startBrowser(t)
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
	tab, closeTab := chromedp.NewContext(browser)
	defer closeTab()
	if err := chromedp.Do(tab); err != nil {
		t.Fatalf("open a tab: %v", err)
	}
	var (
		mu      sync.Mutex
		console []string
	)
	messages := chromedp.Console(tab)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			mu.Lock()
			console = append(console, m.String())
			mu.Unlock()
		}
	}()
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
		mu.Lock()
		defer mu.Unlock()
		t.Fatalf("the browser did not reach the merchant's page: %v\nat %s\npage: %q\nconsole:\n  %s",
			err, where, strings.TrimSpace(body), strings.Join(console, "\n  "))
	}
	where, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	return where
}
