package nicepay_test

import (
	"context"
	"encoding/json"
	"os/exec"
	"strings"
	"testing"

	"github.com/paymux/paymux/internal/browsertest"
	"github.com/paymux/paymux/providers"
	"github.com/paymux/paymux/providers/nicepay"
)

// The Launch script runs where the checkout page runs it: with params as
// an object of strings and AUTHNICE loaded. Node stands in for the page
// (AUTHNICE and the document are stubs); CI installs node (.ci/run).
func TestLaunchScript(t *testing.T) {
	node := browsertest.Require(t, "node")
	res, err := nicepay.New(nicepay.Options{}).PrepareWindow(context.Background(), testChannel(), providers.PrepareWindowRequest{
		OrderID: "order-js", OrderName: `"quoted" <b>`, Method: providers.MethodVirtualAccount,
		Amount: providers.Amount{Total: 1004, TaxFree: 4}, ReturnURL: "https://shop.example/r",
	})
	if err != nil {
		t.Fatal(err)
	}
	params, _ := json.Marshal(res.Params)
	launch, _ := json.Marshal(res.Launch)
	script := `
var shown = {};
var document = {
  body: {appendChild: function (el) { shown.el = el; }},
  getElementById: function () { return shown.el || null; },
  createElement: function () { return {setAttribute: function () {}}; }
};
var got;
var AUTHNICE = {requestPay: function (o) { got = o; }};
new Function("params", "AUTHNICE", "document", ` + string(launch) + `)(` + string(params) + `, AUTHNICE, document);
got.fnError({errorMsg: "developer text", msg: "<b>buyer</b> text"});
console.log(JSON.stringify({amount: got.amount, taxFreeAmt: got.taxFreeAmt, method: got.method, goodsName: got.goodsName,
  vbankHolder: got.vbankHolder, fnError: typeof got.fnError, shown: shown.el.textContent, id: shown.el.id}));
`
	out, err := exec.Command(node, "-e", script).CombinedOutput()
	if err != nil {
		t.Fatalf("node: %v\n%s", err, out)
	}
	var got map[string]any
	if err := json.Unmarshal([]byte(strings.TrimSpace(string(out))), &got); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	want := map[string]any{"amount": float64(1004), "taxFreeAmt": float64(4), "method": "vbank", "goodsName": `"quoted" <b>`,
		"vbankHolder": nicepay.DefaultVbankHolder, "fnError": "function", "shown": "<b>buyer</b> text", "id": "paymux-window-error"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
}
