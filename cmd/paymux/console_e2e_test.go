package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/paymux/paymux/internal/browsertest"
)

// The web console, driven in headless Chromium against the real binary:
// the README's console walk-through (set the first owner's password, create
// a key, add an IP rule after an IP TEST, register a webhook and TEST it,
// take a sandbox payment, find it and its webhook in the logs), in Korean
// and in English, and what a browser alone can show: the cookie out of
// scripts' reach, the secret shown once, an order name kept as text, a
// viewer's page without the actions they may not take, an ended session.
// Each page's screenshot is saved under .artifacts/console/ (or
// $PAYMUX_ARTIFACTS/console/) for a reviewer to look at.

var setupLinkLine = regexp.MustCompile(`(?m)^  (https?://\S+/console/setup#token=cst_\S+)$`)

// consoleBrowser is one Chromium tab on the console of a paymux.
type consoleBrowser struct {
	t       *testing.T
	tab     context.Context
	base    string
	logs    func() []string
	prefix  string // of screenshot names
	mu      sync.Mutex
	dialogs []string
}

func newConsoleBrowser(t *testing.T, base string) *consoleBrowser {
	t.Helper()
	browser := browsertest.Start(t)
	tab, logs := browsertest.Tab(t, browser)
	b := &consoleBrowser{t: t, tab: tab, base: base, logs: logs}
	// A script the page was made to run would open a dialog: record it and
	// dismiss it.
	go func() {
		for ev, err := range chromedp.Events(tab, page.JavascriptDialogOpening) {
			if err != nil {
				return
			}
			b.mu.Lock()
			b.dialogs = append(b.dialogs, ev.Message)
			b.mu.Unlock()
			_, _ = chromedp.Call(tab, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: false})
		}
	}()
	b.run("viewport", chromedp.EmulateViewport(1280, 900))
	return b
}

func tid(id string) chromedp.CSS { return chromedp.CSS(`[data-testid="` + id + `"]`) }

// run runs steps, failing the test with the page's log on error.
func (b *consoleBrowser) run(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.tab, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.fail(what, err)
	}
}

func (b *consoleBrowser) fail(what string, err error) {
	b.t.Helper()
	b.screenshot("failed-" + strings.ReplaceAll(what, " ", "-"))
	ctx, cancel := context.WithTimeout(b.tab, 5*time.Second)
	defer cancel()
	loc, _ := chromedp.Run(ctx, chromedp.Location())
	body, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("body")))
	b.t.Fatalf("%s: %v\nat %s\npage: %q\npage log:\n%s", what, err, loc, body, strings.Join(b.logs(), "\n"))
}

// get runs one action and returns its value.
func browserGet[T any](b *consoleBrowser, what string, a chromedp.Action[T]) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.tab, 20*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		b.fail(what, err)
	}
	return v
}

// evalInto evaluates a JavaScript expression into out.
func evalInto[T any](b *consoleBrowser, what, expr string, out *T) {
	b.t.Helper()
	*out = browserGet(b, what, chromedp.Evaluate[T](expr))
}

// waitFor evaluates a JavaScript expression until it is true, through
// navigations (an evaluation cut short by one is tried again).
func (b *consoleBrowser) waitFor(what, expr string) {
	b.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	var last error
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(b.tab, 5*time.Second)
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool]("!!("+expr+")"))
		cancel()
		if err == nil && ok {
			return
		}
		last = err
		time.Sleep(100 * time.Millisecond)
	}
	b.fail(what, fmt.Errorf("not true within 20s (last error %v): %s", last, expr))
}

// typeInto replaces what a field holds with text, the way a person does
// (a React field ignores a value set behind its back).
func typeInto(sel chromedp.CSS, text string) chromedp.Action[chromedp.Void] {
	return chromedp.SendKeys(sel, strings.Repeat(kb.End+kb.Backspace, 60)+text)
}

func (b *consoleBrowser) open(path string) {
	b.t.Helper()
	b.run("open "+path, chromedp.Navigate(b.base+path))
}

func (b *consoleBrowser) text(sel chromedp.CSS) string {
	b.t.Helper()
	return browserGet(b, "text of "+string(sel), chromedp.Text(sel, chromedp.NodeVisible))
}

func (b *consoleBrowser) value(sel chromedp.CSS) string {
	b.t.Helper()
	b.run("wait for "+string(sel), chromedp.WaitVisible(sel))
	return browserGet(b, "value of "+string(sel), chromedp.Value(sel))
}

func (b *consoleBrowser) html() string {
	b.t.Helper()
	return browserGet(b, "page html", chromedp.OuterHTML(chromedp.CSS("html")))
}

// screenshot saves the viewport as <name>.png in the artifacts folder.
func (b *consoleBrowser) screenshot(name string) {
	dir := os.Getenv("PAYMUX_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join("..", "..", ".artifacts")
	}
	dir = filepath.Join(dir, "console")
	ctx, cancel := context.WithTimeout(b.tab, 10*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		b.t.Logf("screenshot %s: %v", name, err)
		return
	}
	if err := os.MkdirAll(dir, 0o755); err == nil {
		_ = os.WriteFile(filepath.Join(dir, b.prefix+name+".png"), png, 0o644)
	}
}

// setPassword opens a one-time link and sets the password (and the email,
// for the first owner's link).
func (b *consoleBrowser) setPassword(link, email, password string) {
	b.t.Helper()
	b.run("open the password link", chromedp.Navigate(link), chromedp.WaitVisible(tid("setup-password")))
	var emailShown bool
	evalInto(b, "email field", `!!document.querySelector('[data-testid="setup-email"]:not([disabled]):not([readonly])')`, &emailShown)
	if email != "" && emailShown {
		b.run("type the email", chromedp.SendKeys(tid("setup-email"), email))
	}
	b.run("set the password",
		chromedp.SendKeys(tid("setup-password"), password),
		chromedp.Click(tid("setup-submit")),
		chromedp.WaitVisible(tid("user-email")))
}

// consoleServe starts paymux and returns it with the first owner's link.
func consoleServe(t *testing.T, env ...string) (*serveProc, firstRun, string) {
	t.Helper()
	browsertest.Require(t, "/usr/bin/chromium", "chromium")
	s := startServe(t, append([]string{"PAYMUX_WEBHOOKS_ALLOW_PRIVATE=true"}, env...), "--listen", "127.0.0.1:0", "--data-dir", t.TempDir())
	f := parseFirstRun(t, s.stdout.String(), s.URL)
	m := setupLinkLine.FindStringSubmatch(s.stdout.String())
	if m == nil {
		t.Fatalf("no console link on stdout:\n%s", s.stdout)
	}
	return s, f, m[1]
}

// apiCall makes a REST call with the admin token or Basic credentials.
func apiCall(t *testing.T, s *serveProc, auth func(*http.Request), method, path, body string, out any) int {
	t.Helper()
	req, err := http.NewRequest(method, s.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	auth(req)
	res, err := s.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	if out != nil && res.StatusCode < 300 {
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatalf("%s %s: %v: %s", method, path, err, raw)
		}
	}
	return res.StatusCode
}

func TestConsoleWalkthrough(t *testing.T) {
	for _, lang := range []string{"ko", "en"} {
		t.Run(lang, func(t *testing.T) { consoleWalkthrough(t, lang) })
	}
}

// pageTexts are, per language, a text each page shows once loaded.
var pageTexts = map[string]map[string]string{
	"ko": {"/console/": "실패한 웹훅 전송", "/console/keys": "키 발급", "/console/ip-rules": "규칙 추가", "/console/webhooks": "엔드포인트 추가",
		"/console/payments": "테스트 결제", "/console/logs": "주문번호", "/console/channels": "채널 추가", "/console/billing": "빌링키",
		"/console/deposits": "입금 내역", "/console/members": "멤버 초대"},
	"en": {"/console/": "Failed webhook", "/console/keys": "Issue key", "/console/ip-rules": "Add rule", "/console/webhooks": "Add endpoint",
		"/console/payments": "Test payment", "/console/logs": "Order number", "/console/channels": "Add channel", "/console/billing": "Billing keys",
		"/console/deposits": "Deposits", "/console/members": "Invite member"},
}

// consoleWalkthrough is the README's walk-through in one language.
func consoleWalkthrough(t *testing.T, lang string) {
	var received sync.Map // webhook deliveries by webhook-id
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		received.Store(r.Header.Get("webhook-id"), true)
		fmt.Fprint(w, "thanks")
	}))
	defer receiver.Close()
	s, f, link := consoleServe(t)
	b := newConsoleBrowser(t, s.URL)
	b.prefix = lang + "-"
	const email, password = "owner@example.com", "owner password 1"

	t.Run("set the first owner's password", func(t *testing.T) {
		b.t = t
		b.setPassword(link, email, password)
		if got := b.text(tid("user-email")); got != email {
			t.Fatalf("signed in as %q", got)
		}
		var cookies string
		evalInto(b, "document.cookie", `document.cookie`, &cookies)
		if strings.Contains(cookies, "paymux_session") {
			t.Fatalf("the session cookie is readable by scripts: %q", cookies)
		}
		b.waitFor("the start page", `!!document.querySelector('[data-testid="home-failed-deliveries"]')`)
		if lang == "en" {
			b.run("switch to English", chromedp.Click(tid("lang-switch")))
		}
		b.waitFor("the language", fmt.Sprintf(`document.documentElement.lang === %q`, lang))
		b.screenshot("home")
	})

	var secret string
	t.Run("create a key: the secret shown once", func(t *testing.T) {
		b.t = t
		b.open("/console/keys")
		b.run("create a key",
			chromedp.WaitVisible(tid("keys-table")),
			chromedp.Click(tid("key-create")),
			chromedp.WaitVisible(tid("key-name")),
			chromedp.SendKeys(tid("key-name"), "console key"),
			chromedp.Click(tid("key-create-submit")),
			chromedp.WaitVisible(tid("key-secret")))
		secret = b.value(tid("key-secret"))
		if !strings.HasPrefix(secret, "sk_test_") {
			t.Fatalf("secret %q", secret)
		}
		b.screenshot("keys-secret-once")
		b.run("close the secret", chromedp.Click(tid("key-secret-modal-close")), chromedp.WaitNotPresent(tid("key-secret")))
		if strings.Contains(b.html(), secret) {
			t.Fatal("the secret is still in the page after its modal closed")
		}
		b.open("/console/keys")
		b.waitFor("the new key listed", `[...document.querySelectorAll('[data-testid="key-row"]')].some(r => r.textContent.includes("console key"))`)
		if strings.Contains(b.html(), secret) {
			t.Fatal("the secret is shown again")
		}
		b.screenshot("keys")
		var clientKey string
		evalInto(b, "client key of the new key", `[...document.querySelectorAll('[data-testid="key-row"]')].find(r => r.textContent.includes("console key")).querySelector('[data-testid="key-client-key"]').textContent.trim()`, &clientKey)
		if code := apiCall(t, s, basic(clientKey, secret), "GET", "/v1/keys", "", nil); code != 200 {
			t.Fatalf("the new key's secret works: HTTP %d", code)
		}
	})

	t.Run("IP rules after an IP TEST", func(t *testing.T) {
		b.t = t
		b.open("/console/ip-rules")
		// A first rule that leaves out this browser's address is warned about.
		b.run("add a rule that shuts us out",
			chromedp.WaitVisible(tid("ip-rule-cidr")),
			chromedp.SendKeys(tid("ip-rule-cidr"), "10.0.0.0/8"),
			chromedp.Click(tid("ip-rule-add")),
			chromedp.WaitVisible(tid("ip-rule-warning")))
		b.screenshot("ip-rules-warning")
		b.run("cancel it", chromedp.Click(tid("ip-rule-add-modal-cancel")), chromedp.WaitNotPresent(tid("ip-rule-warning")))
		b.run("add our own address",
			typeInto(tid("ip-rule-cidr"), "127.0.0.1/32"),
			chromedp.SendKeys(tid("ip-rule-description"), "this machine"),
			chromedp.Click(tid("ip-rule-add")),
			chromedp.WaitVisible(tid("ip-rule-caller-status")))
		b.waitFor("the rule listed", `[...document.querySelectorAll('[data-testid="ip-rule-row"]')].some(r => r.textContent.includes("127.0.0.1/32"))`)
		b.run("IP TEST of another address",
			chromedp.SendKeys(tid("ip-test-input"), "203.0.113.9"),
			chromedp.Click(tid("ip-test-run")),
			chromedp.WaitVisible(tid("ip-test-result")))
		allowed := browserGet(b, "IP TEST result", chromedp.AttributeValue(tid("ip-test-result"), "data-allowed")).Value
		if allowed != "false" {
			t.Fatalf("203.0.113.9 allowed=%q by 127.0.0.1/32", allowed)
		}
		b.screenshot("ip-rules")
	})

	t.Run("register a webhook and TEST it", func(t *testing.T) {
		b.t = t
		b.open("/console/webhooks")
		b.run("add an endpoint",
			chromedp.Click(tid("webhook-create")),
			chromedp.WaitVisible(tid("webhook-url")),
			chromedp.SendKeys(tid("webhook-url"), receiver.URL+"/hooks"),
			chromedp.Click(tid("webhook-save")),
			chromedp.WaitVisible(tid("webhook-secret")))
		if whsec := b.value(tid("webhook-secret")); !strings.HasPrefix(whsec, "whsec_") {
			t.Fatalf("signing secret %q", whsec)
		}
		b.run("close the secret", chromedp.Click(tid("webhook-secret-modal-close")), chromedp.WaitNotPresent(tid("webhook-secret")))
		b.run("TEST", chromedp.WaitVisible(tid("webhook-row")), chromedp.Click(tid("webhook-row")+" "+tid("webhook-test")),
			chromedp.WaitVisible(tid("webhook-attempt-status")))
		b.waitFor("the receiver's answer", `document.querySelector('[data-testid="webhook-test-modal"]').textContent.includes("thanks")`)
		if st := b.text(tid("webhook-attempt-status")); !strings.Contains(st, "200") {
			t.Fatalf("TEST status %q", st)
		}
		b.screenshot("webhooks-test")
	})

	const orderName = `<img src=x onerror=alert(1)>`
	var orderID string
	t.Run("a sandbox payment found in payments and logs", func(t *testing.T) {
		b.t = t
		b.open("/console/payments")
		b.run("test payment",
			chromedp.Click(tid("payment-test")),
			chromedp.WaitVisible(tid("payment-test-order-name")),
			typeInto(tid("payment-test-order-name"), orderName),
			typeInto(tid("payment-test-amount"), "129000"),
			// The console opens the window in a new tab; this test pays
			// in its own tab (a background tab draws nothing to capture).
			chromedp.Evaluate[chromedp.Void](`window.open = () => null`),
			chromedp.Click(tid("payment-test-submit")),
			chromedp.WaitVisible(tid("payment-test-url")))
		checkout := b.value(tid("payment-test-url"))
		b.screenshot("payments-test")
		sep := "?"
		if strings.Contains(checkout, "?") {
			sep = "&"
		}
		b.run("pay in the sandbox window",
			chromedp.Navigate(checkout+sep+"lang="+lang),
			chromedp.WaitVisible(chromedp.CSS(`button[type="submit"]`)))
		b.screenshot("sandbox-checkout")
		want := map[string]string{"ko": "129,000원", "en": "₩129,000"}[lang]
		if page := b.html(); !strings.Contains(page, want) || !strings.Contains(page, `lang="`+lang+`"`) {
			t.Fatalf("the checkout in %s shows no %s: %s", lang, want, page)
		}
		b.run("pay", chromedp.Click(chromedp.CSS(`button[type="submit"]`)))
		b.waitFor("back on the console", `location.pathname.startsWith("/console/payments")`)
		b.waitFor("the payment paid", `[...document.querySelectorAll('[data-testid="payment-status"]')].some(e => e.dataset.status === "PAID" || e.dataset.status === "PAYMENT_STATUS_PAID")`)
		b.screenshot("payments-paid")
		cell := b.text(tid("payment-order-name"))
		if cell != orderName {
			t.Fatalf("order name shown as %q", cell)
		}
		var imgs int
		evalInto(b, "no injected image", `document.querySelectorAll('[data-testid="payments-table"] img[src="x"]').length`, &imgs)
		if imgs != 0 {
			t.Fatalf("the order name became %d <img> elements", imgs)
		}
		evalInto(b, "the order number", `document.querySelector('[data-testid="payment-row"]').textContent.match(/console-test-[A-Za-z0-9_-]+|test-[A-Za-z0-9_-]+/)?.[0] ?? ""`, &orderID)
		b.run("payment detail", chromedp.Click(tid("payment-link")), chromedp.WaitVisible(tid("payment-detail")), chromedp.WaitVisible(tid("payment-timeline")))
		if got := b.text(tid("payment-detail-order-name")); got != orderName {
			t.Fatalf("detail order name %q", got)
		}
		b.screenshot("payment-detail")
		b.mu.Lock()
		dialogs := b.dialogs
		b.mu.Unlock()
		if len(dialogs) != 0 {
			t.Fatalf("the page ran a script from the order name: dialogs %q", dialogs)
		}
	})

	t.Run("logs: the payment's calls and its webhook", func(t *testing.T) {
		b.t = t
		b.open("/console/logs")
		b.run("API logs", chromedp.WaitVisible(tid("logs-table")))
		b.waitFor("the CreatePayment call, by its console user", `[...document.querySelectorAll('[data-testid="log-row"]')].some(r => r.textContent.includes("CreatePayment") && r.querySelector('[data-testid="log-user"]')?.textContent === "owner@example.com")`)
		b.screenshot("logs-api")
		var clicked bool
		evalInto(b, "its detail", `([...document.querySelectorAll('[data-testid="log-row"]')].find(r => r.textContent.includes("CreatePayment")).querySelector('[data-testid="log-details"]').click(), true)`, &clicked)
		b.run("the detail", chromedp.WaitVisible(tid("log-request-body")))
		if body := b.text(tid("log-request-body")); !strings.Contains(body, "129000") {
			t.Fatalf("request body %q", body)
		}
		b.screenshot("log-detail")
		b.open("/console/logs/webhook")
		if orderID == "" {
			t.Fatal("no order number was read from the payments list")
		}
		b.waitFor("the payment's webhook", fmt.Sprintf(`[...document.querySelectorAll('[data-testid="log-row"]')].some(r => r.textContent.includes("payment.paid") && r.textContent.includes(%q))`, orderID))
		b.screenshot("logs-webhook")
	})

	t.Run("every page", func(t *testing.T) {
		b.t = t
		for _, p := range []struct{ path, ready, shot string }{
			{"/console/", "home-failed-deliveries", "home"},
			{"/console/keys", "keys-table", "keys"},
			{"/console/ip-rules", "ip-test-run", "ip-rules"},
			{"/console/webhooks", "webhooks-table", "webhooks"},
			{"/console/payments", "payments-table", "payments"},
			{"/console/logs", "logs-table", "logs"},
			{"/console/channels", "channels-table", "channels"},
			{"/console/billing", "billing-keys-table", "billing"},
			{"/console/deposits", "deposits-table", "deposits"},
			{"/console/members", "members-table", "members"},
		} {
			b.open(p.path)
			b.run(p.path+" loaded", chromedp.WaitVisible(tid(p.ready)))
			b.waitFor(p.path+" in "+lang, fmt.Sprintf(`document.documentElement.lang === %q && document.querySelector("main").innerText.includes(%q)`, lang, pageTexts[lang][p.path]))
			b.screenshot("page-" + p.shot)
		}
		// On a phone the menu folds behind a button.
		b.run("phone", chromedp.EmulateViewport(390, 844))
		b.open("/console/payments")
		b.run("payments on a phone", chromedp.WaitVisible(tid("payments-table")), chromedp.WaitVisible(tid("nav-toggle")))
		b.screenshot("phone-payments")
		b.run("the menu", chromedp.Click(tid("nav-toggle")), chromedp.WaitVisible(tid("nav-keys")),
			chromedp.Sleep(500*time.Millisecond)) // the drawer's slide, for the picture only
		b.screenshot("phone-menu")
		b.run("desktop again", chromedp.EmulateViewport(1280, 900))
	})

	t.Run("a viewer sees no key actions and no other store", func(t *testing.T) {
		b.t = t
		var other struct{ Store struct{ ID string } }
		apiCall(t, s, bearer(f.AdminToken), "POST", "/v1/stores", `{"name":"Store B"}`, &other)
		var inv struct {
			SetupURL string `json:"setupUrl"`
		}
		if code := apiCall(t, s, bearer(f.AdminToken), "POST", "/v1/console/users",
			fmt.Sprintf(`{"storeId":%q,"email":"viewer@example.com","role":"CONSOLE_ROLE_VIEWER"}`, f.StoreID), &inv); code != 200 || inv.SetupURL == "" {
			t.Fatalf("invite a viewer: HTTP %d %+v", code, inv)
		}
		b.run("sign out", chromedp.Click(tid("sign-out")), chromedp.WaitVisible(tid("sign-in-email")))
		b.setPassword(inv.SetupURL, "", "viewer password 1")
		b.open("/console/keys")
		b.run("keys as a viewer", chromedp.WaitVisible(tid("keys-table")))
		var createButtons int
		evalInto(b, "create button", `[...document.querySelectorAll('[data-testid="key-create"]')].filter(e => !e.disabled).length`, &createButtons)
		if createButtons != 0 {
			t.Fatal("a viewer is offered to create a key")
		}
		var stores []string
		evalInto(b, "stores offered", `[...document.querySelectorAll('[data-testid="store-switch"] option')].map(o => o.value)`, &stores)
		if len(stores) != 1 || stores[0] != f.StoreID {
			t.Fatalf("a viewer of %s is offered stores %v (B is %s)", f.StoreID, stores, other.Store.ID)
		}
		b.screenshot("keys-viewer")

		// A developer may not delete a key either.
		var dev struct {
			SetupURL string `json:"setupUrl"`
		}
		if code := apiCall(t, s, bearer(f.AdminToken), "POST", "/v1/console/users",
			fmt.Sprintf(`{"storeId":%q,"email":"dev@example.com","role":"CONSOLE_ROLE_DEVELOPER"}`, f.StoreID), &dev); code != 200 || dev.SetupURL == "" {
			t.Fatalf("invite a developer: HTTP %d %+v", code, dev)
		}
		b.run("sign out", chromedp.Click(tid("sign-out")), chromedp.WaitVisible(tid("sign-in-email")))
		b.setPassword(dev.SetupURL, "", "developer password 1")
		b.open("/console/keys")
		b.run("keys as a developer", chromedp.WaitVisible(tid("key-row")))
		var deletable int
		evalInto(b, "delete buttons", `[...document.querySelectorAll('[data-testid="key-delete"]')].filter(e => !e.disabled).length`, &deletable)
		if deletable != 0 {
			t.Fatalf("a developer is offered to delete %d keys", deletable)
		}
		b.screenshot("keys-developer")
	})
}

// TestConsoleSessionExpiry: a session unused for console.idle_timeout ends,
// and the console says so on its sign-in page.
func TestConsoleSessionExpiry(t *testing.T) {
	s, _, link := consoleServe(t, "PAYMUX_CONSOLE_IDLE_TIMEOUT=2s")
	b := newConsoleBrowser(t, s.URL)
	b.setPassword(link, "owner@example.com", "owner password 1")
	time.Sleep(2500 * time.Millisecond)
	b.open("/console/keys")
	b.run("signed out", chromedp.WaitVisible(tid("sign-in-email")))
	b.screenshot("session-expired")
	b.run("signed in again",
		chromedp.SendKeys(tid("sign-in-email"), "owner@example.com"),
		chromedp.SendKeys(tid("sign-in-password"), "owner password 1"),
		chromedp.Click(tid("sign-in-submit")),
		chromedp.WaitVisible(tid("user-email")))
}
