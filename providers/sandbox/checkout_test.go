package sandbox_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/paymux/paymux/providers"
	"github.com/paymux/paymux/providers/sandbox"
)

func TestCheckoutPage(t *testing.T) {
	sb, _, ch := setup(t)
	srv := httptest.NewServer(http.StripPrefix("/sandbox/checkout", sb.Checkout()))
	defer srv.Close()
	client := srv.Client()
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

	w, err := sb.PrepareWindow(ctx, ch, providers.PrepareWindowRequest{OrderID: "o-1", Amount: krw(55_000),
		ReturnURL: "https://shop.test/return?cart=7"})
	noErr(t, err)
	page := srv.URL + "/sandbox/checkout/" + w.Params[sandbox.WindowSessionID]

	resp, err := client.Get(page)
	noErr(t, err)
	body := readAll(t, resp)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "o-1") || !strings.Contains(body, sandbox.CardTimeoutCharged) {
		t.Fatalf("GET %d: %s", resp.StatusCode, body)
	}
	resp, err = client.Get(srv.URL + "/sandbox/checkout/sbx_win_999999")
	noErr(t, err)
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("unknown session: %d", resp.StatusCode)
	}

	resp, err = client.PostForm(page, url.Values{"other": {"12"}, "exp_month": {"12"}, "exp_year": {"2030"}})
	noErr(t, err)
	if body := readAll(t, resp); resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "INVALID_CARD_NUMBER") {
		t.Fatalf("bad card: %d %s", resp.StatusCode, body)
	}

	resp, err = client.PostForm(page, url.Values{"number": {sandbox.CardSuccess}, "exp_month": {"12"}, "exp_year": {"2030"}, "months": {"3"}})
	noErr(t, err)
	readAll(t, resp)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("POST: %d", resp.StatusCode)
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	noErr(t, err)
	q := loc.Query()
	if loc.Host != "shop.test" || q.Get("cart") != "7" || q.Get(sandbox.WindowOrderID) != "o-1" || q.Get(sandbox.WindowAmount) != "55000" {
		t.Fatalf("redirect = %s", loc)
	}
	res := providers.WindowResult{}
	for k := range q {
		res[k] = q.Get(k)
	}
	p, err := sb.Approve(ctx, ch, providers.ApproveRequest{OrderID: "o-1", Amount: krw(55_000), Window: res})
	noErr(t, err)
	if p.Status != providers.StatusPaid || p.Card.InstallmentMonths != 3 {
		t.Fatalf("approved = %+v", p)
	}
	resp, err = client.PostForm(page, url.Values{"number": {sandbox.CardSuccess}, "exp_month": {"12"}, "exp_year": {"2030"}})
	noErr(t, err)
	if readAll(t, resp); resp.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("second POST: %d", resp.StatusCode)
	}
	req, _ := http.NewRequest(http.MethodDelete, page, nil)
	resp, err = client.Do(req)
	noErr(t, err)
	if readAll(t, resp); resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("DELETE: %d", resp.StatusCode)
	}

	// Without a return URL the page shows the result.
	w2, err := sb.PrepareWindow(ctx, ch, providers.PrepareWindowRequest{Purpose: providers.WindowBillingKey, CustomerKey: "cust-1"})
	noErr(t, err)
	resp, err = client.PostForm(srv.URL+"/sandbox/checkout/"+w2.Params[sandbox.WindowSessionID],
		url.Values{"number": {sandbox.CardSuccess}, "exp_month": {"12"}, "exp_year": {"2030"}})
	noErr(t, err)
	if body := readAll(t, resp); resp.StatusCode != http.StatusOK || !strings.Contains(body, "cust-1") || !strings.Contains(body, sandbox.WindowAuthToken) {
		t.Fatalf("no return URL: %d %s", resp.StatusCode, body)
	}
}

func readAll(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	noErr(t, err)
	return string(b)
}
