package pages

import (
	"crypto/subtle"
	"encoding/json"
	"html/template"
	"net/http"

	"github.com/paymux/paymux/ent/billingkey"
	"github.com/paymux/paymux/ent/payment"
	"github.com/paymux/paymux/ent/schema/details"
	"github.com/paymux/paymux/secrets"
	"github.com/paymux/paymux/tenant"
)

// checkoutPage opens a PG's window: it loads the PG's JS SDK and runs the
// adapter's launch code with the window's parameters. The launch code
// comes from the adapter, the parameters are JSON-escaped, and the
// Content-Security-Policy lets only this page's nonced scripts (and what
// they load) run.
var checkoutPage = template.Must(template.New("checkout").Parse(`<!doctype html>
<html lang="ko"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>{{.Title}}</title></head>
<body>
<noscript>결제창을 열려면 JavaScript가 필요합니다. / The payment window needs JavaScript.</noscript>
<p id="opening">결제창을 여는 중입니다… / Opening the payment window…</p>
<script nonce="{{.Nonce}}" src="{{.SDKURL}}"></script>
<script nonce="{{.Nonce}}">
(function () {
  var params = JSON.parse({{.ParamsJSON}});
  try {
    {{.Launch}}
  } catch (e) {
    document.getElementById("opening").textContent = "결제창을 열 수 없습니다 / Cannot open the payment window: " + e.message;
  }
})();
</script>
</body></html>`))

type checkoutView struct {
	Title      string
	Nonce      string
	SDKURL     string
	ParamsJSON string
	Launch     template.JS
}

func (pg *Pages) servePaymentCheckout(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if subtle.ConstantTimeCompare([]byte(r.URL.Query().Get("ct")), []byte(pg.urls.token("pay-checkout:"+id))) != 1 {
		http.Error(w, "unknown payment window", http.StatusNotFound)
		return
	}
	p, err := pg.db.Payment.Get(tenant.System(r.Context()), id)
	if err != nil || p.Checkout == nil {
		http.Error(w, "unknown payment window", http.StatusNotFound)
		return
	}
	if p.Status != payment.StatusREADY || len(p.WindowResult) > 0 {
		http.Error(w, "this payment window was already used: the payment is "+p.Status.String(), http.StatusGone)
		return
	}
	pg.renderCheckout(w, p.OrderName, p.Checkout)
}

func (pg *Pages) serveBillingCheckout(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if subtle.ConstantTimeCompare([]byte(r.URL.Query().Get("ct")), []byte(pg.urls.token("billing-checkout:"+id))) != 1 {
		http.Error(w, "unknown billing key window", http.StatusNotFound)
		return
	}
	k, err := pg.db.BillingKey.Get(tenant.System(r.Context()), id)
	if err != nil || k.Checkout == nil {
		http.Error(w, "unknown billing key window", http.StatusNotFound)
		return
	}
	if k.Status != billingkey.StatusPENDING {
		http.Error(w, "this billing key window was already used", http.StatusGone)
		return
	}
	pg.renderCheckout(w, "카드 등록 / Card registration", k.Checkout)
}

func (pg *Pages) renderCheckout(w http.ResponseWriter, title string, c *details.Checkout) {
	params, err := json.Marshal(c.Params)
	if err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	nonce := secrets.RandomString(24)
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Content-Type-Options", "nosniff")
	// 'strict-dynamic': the PG's SDK may load its own further scripts;
	// nothing else runs, whatever a parameter holds.
	h.Set("Content-Security-Policy", "default-src 'self' https: http:; script-src 'nonce-"+nonce+"' 'strict-dynamic'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'")
	_ = checkoutPage.Execute(w, checkoutView{
		Title:      title,
		Nonce:      nonce,
		SDKURL:     c.SDKURL,
		ParamsJSON: string(params),
		Launch:     template.JS(c.Launch), // the adapter's code, never a request's
	})
}
