package nicepayfake_test

import (
	"context"
	"encoding/json"
	"html/template"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/paymux/paymux/internal/browsertest"
	"github.com/paymux/paymux/providers/nicepay/nicepayfake"
)

// The SDK stand-in and the hosted window in headless Chromium: a shop page
// on its own origin loads the script, calls AUTHNICE.requestPay, and the
// buyer presses the window's buttons until the browser posts back to the
// shop's returnUrl.

var shopPage = template.Must(template.New("shop").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>shop</title>
<script src="{{.SDK}}"></script></head>
<body><p id="err"></p>
<script>
var params = {{.Params}};
AUTHNICE.requestPay({
  clientId: params.clientId, method: params.method, orderId: params.orderId,
  amount: Number(params.amount), goodsName: params.goodsName, returnUrl: params.returnUrl,
  vbankHolder: params.vbankHolder,
  fnError: function (result) { document.getElementById("err").textContent = "fnError: " + result.errorMsg; }
});
</script></body></html>`))

type shop struct {
	*httptest.Server
	mu  sync.Mutex
	got map[string]url.Values // by orderId
}

func startShop(t *testing.T, sdkURL string) *shop {
	s := &shop{got: map[string]url.Values{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /checkout", func(w http.ResponseWriter, r *http.Request) {
		params := map[string]string{}
		if err := json.Unmarshal([]byte(r.URL.Query().Get("p")), &params); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		params["returnUrl"] = s.URL + "/return"
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_ = shopPage.Execute(w, map[string]any{"SDK": sdkURL, "Params": params})
	})
	mux.HandleFunc("POST /return", func(w http.ResponseWriter, r *http.Request) {
		if ct := r.Header.Get("Content-Type"); ct != "application/x-www-form-urlencoded" {
			http.Error(w, "Content-Type "+ct, 400)
			return
		}
		_ = r.ParseForm()
		s.mu.Lock()
		s.got[r.PostForm.Get("orderId")] = r.PostForm
		s.mu.Unlock()
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(`<!doctype html><html><body><p id="landed">back at the shop</p></body></html>`))
	})
	s.Server = httptest.NewServer(mux)
	t.Cleanup(s.Close)
	return s
}

func (s *shop) form(orderID string) url.Values {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.got[orderID]
}

func TestWindowInHeadlessChromium(t *testing.T) {
	bctx := browsertest.Start(t)
	f, _ := start(t)
	c := newClient(t, f)
	sh := startShop(t, f.SDKURL())

	checkout := func(params map[string]string) string {
		b, _ := json.Marshal(params)
		return sh.URL + "/checkout?p=" + url.QueryEscape(string(b))
	}
	// tab opens a new tab; its context ends with the test.
	tab := func(t *testing.T) context.Context {
		t.Helper()
		tctx, _ := browsertest.Tab(t, bctx)
		ctx, cancel := context.WithTimeout(tctx, 30*time.Second)
		t.Cleanup(cancel)
		return ctx
	}
	run := func(t *testing.T, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		ctx := tab(t)
		if err := chromedp.Do(ctx, actions...); err != nil {
			where, _ := chromedp.Run(ctx, chromedp.Location())
			t.Fatalf("%v (at %s)", err, where)
		}
	}

	t.Run("pay with a typed card", func(t *testing.T) {
		params := cardArgs(nicepayfake.SandboxClientID, "order-browser-1", 1004)
		run(t,
			chromedp.Navigate(checkout(params)),
			chromedp.WaitVisible(chromedp.CSS("#pay")),
			chromedp.SetValue(chromedp.CSS("#card"), "5365 1000 0000 1234"),
			chromedp.Click(chromedp.CSS("#pay")),
			chromedp.WaitVisible(chromedp.CSS("#landed")),
		)
		form := sh.form("order-browser-1")
		if form.Get("authResultCode") != "0000" || form.Get("amount") != "1004" ||
			form.Get("signature") != nicepayfake.WindowSignature(form.Get("authToken"), nicepayfake.SandboxClientID, "1004", nicepayfake.SandboxSecretKey) {
			t.Fatalf("posted %v", form)
		}
		m := c.ok("POST", "/v1/payments/"+form.Get("tid"), obj{"amount": 1004})
		if sub(t, m, "card")["cardNum"] != "536510******1234" {
			t.Errorf("cardNum %v", sub(t, m, "card")["cardNum"])
		}
	})

	t.Run("buyer closes the window", func(t *testing.T) {
		run(t,
			chromedp.Navigate(checkout(cardArgs(nicepayfake.SandboxClientID, "order-browser-2", 1004))),
			chromedp.WaitVisible(chromedp.CSS("#cancel")),
			chromedp.Click(chromedp.CSS("#cancel")),
			chromedp.WaitVisible(chromedp.CSS("#landed")),
		)
		if form := sh.form("order-browser-2"); form.Get("authResultCode") != nicepayfake.CodeBuyerClosed || form.Has("tid") {
			t.Errorf("posted %v", form)
		}
	})

	t.Run("vbank without vbankHolder calls fnError", func(t *testing.T) {
		params := cardArgs(nicepayfake.SandboxClientID, "order-browser-3", 1004)
		params["method"] = "vbank"
		ctx := tab(t)
		if err := chromedp.Do(ctx, chromedp.Navigate(checkout(params))); err != nil {
			t.Fatal(err)
		}
		if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`document.getElementById("err").textContent.length > 0`)); err != nil {
			t.Fatal(err)
		}
		text, err := chromedp.Run(ctx, chromedp.TextContent(chromedp.CSS("#err")))
		if err != nil || !strings.Contains(text, "vbankHolder") {
			t.Errorf("fnError text %q", text)
		}
	})
}
