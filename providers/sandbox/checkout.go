package sandbox

import (
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/paymux/paymux/providers"
)

// Checkout returns the hosted test window, the page PrepareWindow's
// RedirectURL points at. Mount it at the path of Options.CheckoutURL with
// http.StripPrefix, so that it sees "/<session id>":
//
//	GET  /<session id>  a form: a test card (or any number), expiry, installment months
//	POST /<session id>  authenticates the session like AuthenticateWindow and
//	                    redirects (303) to the session's return URL with the
//	                    window result as query parameters; without a return
//	                    URL it shows the result.
//
// The page takes test cards only and is meant for development; the sandbox
// refuses LIVE channels.
func (s *Sandbox) Checkout() http.Handler {
	return http.HandlerFunc(s.serveCheckout)
}

var checkoutPage = template.Must(template.New("checkout").Parse(`<!doctype html>
<html lang="ko"><head><meta charset="utf-8"><title>paymux sandbox checkout</title></head>
<body>
<h1>paymux sandbox</h1>
{{if .Error}}<p role="alert">{{.Error}}</p>{{end}}
{{if .Result}}<h2>Authenticated</h2><dl>{{range $k, $v := .Result}}<dt>{{$k}}</dt><dd>{{$v}}</dd>{{end}}</dl>
{{else}}<p>{{if .OrderID}}Order {{.OrderID}}: {{.Amount}} KRW{{else}}Register a card for {{.CustomerKey}}{{end}}</p>
<form method="post">
<label>Card <select name="number">{{range .Cards}}<option value="{{.Number}}">{{.Name}} ({{.Number}})</option>{{end}}</select></label>
<label>or number <input name="other" inputmode="numeric" autocomplete="off"></label>
<label>Expiry <input name="exp_month" value="12" size="2">/<input name="exp_year" value="2030" size="4"></label>
<label>Installment months <input name="months" value="0" size="2"></label>
<button type="submit">Pay</button>
</form>{{end}}
</body></html>`))

type checkoutCard struct{ Name, Number string }

var checkoutCards = []checkoutCard{
	{"success", CardSuccess},
	{"insufficient funds", CardInsufficientFunds},
	{"lost or stolen", CardLostOrStolen},
	{"limit exceeded", CardLimitExceeded},
	{"no installments", CardNoInstallment},
	{"timeout, charged", CardTimeoutCharged},
	{"timeout, not charged", CardTimeoutNotCharged},
	{"billing key: charges decline", CardBillingDeclines},
}

type checkoutView struct {
	OrderID, CustomerKey, Error string
	Amount                      int64
	Cards                       []checkoutCard
	Result                      providers.WindowResult
}

func (s *Sandbox) serveCheckout(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	// No scripts, styles or subresources at all. form-action is not 'self':
	// browsers (Chromium for one) check form-action against every URL the
	// form's submission is redirected to, not just the first one. Our POST
	// is redirected (303) to the session's return URL, and from there on to
	// wherever that page sends the buyer. For paymux that means its
	// /pay/return page and then the merchant's return_url, on an origin the
	// sandbox never sees. With 'self', Chromium blocked the buyer on that
	// last hop. (The console reports the checkout URL, because Chromium
	// hides where the redirect went.) Another same-origin 303 in between
	// doesn't help because the whole chain is checked. So the form may lead
	// to any http(s) URL. Only a server-side session chooses the redirect
	// target, and it must be http(s) (see below).
	w.Header().Set("Content-Security-Policy", "default-src 'none'; form-action http: https:")
	id := strings.Trim(r.URL.Path, "/")
	if r.Method == http.MethodPost {
		// Read the form before taking the lock: a slow client must not hold it.
		r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
		if err := r.ParseForm(); err != nil {
			http.Error(w, "bad form", http.StatusBadRequest)
			return
		}
	}

	s.mu.Lock()
	var sess *session
	var m *merchant
	if mid, ok := s.windows[id]; ok {
		m = s.merchants[mid]
		sess = m.sessions[id]
	}
	if sess == nil {
		s.mu.Unlock()
		http.Error(w, "no such window session", http.StatusNotFound)
		return
	}
	view := checkoutView{OrderID: sess.orderID, CustomerKey: sess.customerKey, Amount: sess.amount.Total, Cards: checkoutCards}
	returnURL := sess.returnURL

	switch r.Method {
	case http.MethodGet, http.MethodHead:
		s.mu.Unlock()
		render(w, http.StatusOK, view)
		return
	case http.MethodPost:
	default:
		s.mu.Unlock()
		w.Header().Set("Allow", "GET, POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	number := r.PostFormValue("other")
	if number == "" {
		number = r.PostFormValue("number")
	}
	month, _ := strconv.Atoi(r.PostFormValue("exp_month"))
	year, _ := strconv.Atoi(r.PostFormValue("exp_year"))
	months, _ := strconv.Atoi(r.PostFormValue("months"))
	auth := WindowAuth{
		Card:              providers.CardData{Number: providers.NewCardNumber(number), ExpiryYear: year, ExpiryMonth: month},
		InstallmentMonths: months,
	}
	s.version.Add(1)
	res, err := authenticate(m, s.now(), "Checkout", id, auth)
	s.mu.Unlock()
	if err != nil {
		view.Error = err.Error()
		render(w, http.StatusUnprocessableEntity, view)
		return
	}
	if u, perr := url.Parse(returnURL); perr == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != "" {
		q := u.Query()
		for k, v := range res {
			q.Set(k, v)
		}
		u.RawQuery = q.Encode()
		http.Redirect(w, r, u.String(), http.StatusSeeOther)
		return
	}
	view.Result = res
	render(w, http.StatusOK, view)
}

func render(w http.ResponseWriter, status int, v checkoutView) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_ = checkoutPage.Execute(w, v)
}
