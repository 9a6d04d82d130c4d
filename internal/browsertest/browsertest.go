// Package browsertest gives paymux's browser tests what they run on: the
// tools they need (Debian's chromium, node) and headless Chromium with a tab
// that keeps what its pages log. CI installs the tools (.ci/run), so there a
// missing one fails the test; elsewhere it skips it.
package browsertest

import (
	"context"
	"os"
	"os/exec"
	"sync"
	"testing"

	"github.com/chromedp/chromedp"
)

// Require returns the path of the first of names found on the PATH (or as
// given), failing the test in CI and skipping it elsewhere when none is.
func Require(t testing.TB, names ...string) string {
	t.Helper()
	for _, n := range names {
		if path, err := exec.LookPath(n); err == nil {
			return path
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("%s is not installed: .ci/run installs it, and in CI every test must run", names[0])
	}
	t.Skipf("%s is not installed: skipping", names[0])
	return ""
}

// Start starts one headless Chromium for the test, closed when it ends.
func Start(t testing.TB) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(Require(t, "/usr/bin/chromium", "chromium")),
		chromedp.Headless,
		chromedp.NoSandbox, // tests run as root, where Chromium's sandbox refuses to start
		chromedp.DisableGPU,
		chromedp.Flag("disable-dev-shm-usage", true),
	)
	ctx, cancel := chromedp.NewContext(context.Background(), chromedp.WithAllocatorOptions(opts...))
	t.Cleanup(cancel)
	// Start the browser with a context that has no deadline: the first Run
	// binds the browser's life to its context.
	if err := chromedp.Do(ctx); err != nil {
		cancel()
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// Tab opens a new tab of browser, closed when the test ends. console
// returns what the tab's pages logged so far (a Content-Security-Policy
// violation says so there), for a failure's message.
func Tab(t testing.TB, browser context.Context) (tab context.Context, console func() []string) {
	t.Helper()
	tab, closeTab := chromedp.NewContext(browser)
	t.Cleanup(closeTab)
	if err := chromedp.Do(tab); err != nil { // open the tab without a deadline
		t.Fatalf("open a tab: %v", err)
	}
	var (
		mu   sync.Mutex
		logs []string
	)
	messages := chromedp.Console(tab)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			mu.Lock()
			logs = append(logs, m.String())
			mu.Unlock()
		}
	}()
	return tab, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), logs...)
	}
}
