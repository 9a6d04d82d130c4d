package nicepayfake_test

import (
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/paymux/paymux/providers/nicepay/nicepayfake"
)

func TestSDKScriptIsJavaScriptDefiningAUTHNICE(t *testing.T) {
	f, _ := start(t)
	if f.SDKURL() != f.URL+"/v1/js/" {
		t.Errorf("SDKURL %s", f.SDKURL())
	}
	for _, u := range []string{f.SDKURL(), f.URL + "/v1/js"} {
		resp, err := http.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Content-Type"), "javascript") {
			t.Fatalf("%s: HTTP %d %s", u, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		js := string(b)
		for _, want := range []string{"window.AUTHNICE", "requestPay", "fnError", `"` + f.URL + `/window/open"`} {
			if !strings.Contains(js, want) {
				t.Errorf("%s: script lacks %s", u, want)
			}
		}
	}
}

var (
	hiddenRE = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`)
	actionRE = regexp.MustCompile(`<form id="(payform|cancelform|return)" method="POST" action="([^"]+)"`)
)

// page posts form to u and returns the HTML answer with its form actions
// by id.
func page(t *testing.T, u string, form url.Values) (string, map[string]string) {
	t.Helper()
	resp, err := http.PostForm(u, form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("HTTP %d %s: %s", resp.StatusCode, resp.Header.Get("Content-Type"), b)
	}
	actions := map[string]string{}
	for _, m := range actionRE.FindAllStringSubmatch(string(b), -1) {
		actions[m[1]] = html.UnescapeString(m[2])
	}
	return string(b), actions
}

func hiddenFields(body string) url.Values {
	v := url.Values{}
	for _, m := range hiddenRE.FindAllStringSubmatch(body, -1) {
		v.Set(html.UnescapeString(m[1]), html.UnescapeString(m[2]))
	}
	return v
}

// The hosted window as the SDK reaches it (a form POST of the options),
// without a browser: pay and cancel.
func TestHostedWindowOverHTTP(t *testing.T) {
	f, _ := start(t)
	c := newClient(t, f)
	open := func(orderID string) map[string]string {
		form := url.Values{}
		for k, v := range cardArgs(nicepayfake.SandboxClientID, orderID, 1004) {
			form.Set(k, v)
		}
		body, actions := page(t, f.URL+"/window/open", form)
		for _, id := range []string{`id="card"`, `id="pay"`, `id="cancel"`} {
			if !strings.Contains(body, id) {
				t.Errorf("window page lacks %s", id)
			}
		}
		if strings.Contains(body, "src=") || strings.Contains(body, "<link") {
			t.Error("window page loads external resources")
		}
		return actions
	}

	actions := open("order-html-1")
	body, ret := page(t, f.URL+actions["payform"], url.Values{"card": {nicepayfake.DefaultCard}})
	if ret["return"] != returnURL || !strings.Contains(body, "submit()") {
		t.Fatalf("return page action %q", ret["return"])
	}
	fields := hiddenFields(body)
	tid := fields.Get("tid")
	if fields.Get("authResultCode") != "0000" || fields.Get("amount") != "1004" || fields.Get("mallReserved") != `{"k":"v"}` ||
		fields.Get("signature") != nicepayfake.WindowSignature(fields.Get("authToken"), nicepayfake.SandboxClientID, "1004", nicepayfake.SandboxSecretKey) {
		t.Fatalf("posted fields %v", fields)
	}
	c.ok("POST", "/v1/payments/"+tid, obj{"amount": 1004})

	// The session is used up.
	resp, err := http.PostForm(f.URL+actions["payform"], url.Values{"card": {nicepayfake.DefaultCard}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("second pay on one window: HTTP %d", resp.StatusCode)
	}

	actions = open("order-html-2")
	body, _ = page(t, f.URL+actions["cancelform"], nil)
	fields = hiddenFields(body)
	if fields.Get("authResultCode") != nicepayfake.CodeBuyerClosed || fields.Has("tid") || fields.Has("signature") {
		t.Errorf("cancel posts %v", fields)
	}

	// Options the SDK would have refused show an error page.
	resp, err = http.PostForm(f.URL+"/window/open", url.Values{"clientId": {nicepayfake.SandboxClientID}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("window without options: HTTP %d", resp.StatusCode)
	}
}
