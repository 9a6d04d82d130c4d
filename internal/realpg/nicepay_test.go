package realpg_test

import (
	"net/url"
	"strconv"
	"testing"

	"github.com/paymux/paymux/config"
	paymuxv1 "github.com/paymux/paymux/gen/paymux/v1"
	"github.com/paymux/paymux/providers/nicepay/nicepayfake"
)

// nicePay is the NicePay driver: the fake NicePay Start API, with the
// manual's published sandbox keys (a Server-approval pair, and a
// Client-approval pair for windows of the client approval model).
func nicePay(t *testing.T) pgDriver {
	f := nicepayfake.Start(nicepayfake.Options{})
	t.Cleanup(f.Close)
	ops := map[string]string{"approve": nicepayfake.OpApprove, "cancel": nicepayfake.OpCancel, "charge": nicepayfake.OpBillingCharge,
		"receipt": nicepayfake.OpReceipt}
	faults := map[fault]nicepayfake.Fault{
		faultLoseAnswer: nicepayfake.LoseAnswer, faultTimeoutAfterCharge: nicepayfake.TimeoutAfterCharge, faultUnavailable: nicepayfake.Unavailable,
	}
	return pgDriver{
		name:       "nicepay",
		provider:   paymuxv1.Provider_PROVIDER_NICEPAY,
		merchantID: "nictest00m",
		secrets: map[string]string{
			"client_id": nicepayfake.SandboxClientID, "secret_key": nicepayfake.SandboxSecretKey,
			"client_approval_client_id": nicepayfake.ClientApprovalID, "client_approval_secret_key": nicepayfake.ClientApprovalSecret,
		},
		badSecrets:     map[string]string{"client_id": nicepayfake.SandboxClientID, "secret_key": "00000000000000000000000000000000"},
		misshapen:      map[string]string{"client_id": nicepayfake.SandboxClientID, "secret_key": "short"},
		misshapenField: "secrets.secret_key",
		configure: func(c *config.Config) {
			c.PGs.NicePay = config.NicePayConfig{APIURL: f.URL, SandboxAPIURL: f.URL, SDKURL: f.SDKURL()}
		},
		completeWindow: func(params map[string]string, c choice) (string, string, url.Values, error) {
			ch := nicepayfake.ApproveWith(c.card)
			switch {
			case c.close:
				ch = nicepayfake.CloseWindow
			case c.decline != "":
				ch = nicepayfake.DeclineWith(c.decline, "declined in the window")
			}
			ret, err := f.CompleteWindow(params, ch)
			if err != nil {
				return "", "", nil, err
			}
			return ret.Method, ret.URL, ret.Form, nil
		},
		failNext: func(op string, fl fault) { f.FailNext(ops[op], faults[fl]) },
		declines: []declineCase{
			{"card company refusal at approval", choice{card: nicepayfake.CardRefused}, "3095"},
			{"expired card at approval", choice{card: nicepayfake.CardExpired}, "3021"},
			{"bad card number in the window", choice{decline: nicepayfake.CodeBadCardNumber}, nicepayfake.CodeBadCardNumber},
			{"buyer closed the window", choice{close: true}, nicepayfake.CodeBuyerClosed},
		},
		windowVirtualAccount: true,
		deposit:              f.Deposit,
		consoleCancel:        func(orderID string, amount int64) error { return f.ConsoleCancel(orderID, amount, "console") },
		setWebhook:           f.SetWebhookURL,
		notifications: func() []sent {
			var out []sent
			for _, n := range f.Notifications() {
				out = append(out, sent{status: n.Status, body: n.Response})
			}
			return out
		},
		resend: func(i int) (sent, error) {
			n, err := f.Resend(i)
			return sent{status: n.Status, body: n.Response}, err
		},
		pgStatus: func(orderID string) (string, int64) {
			st, bal, _ := f.Payment(orderID)
			return st, bal
		},
		forgedNotice: func(orderID string) string {
			return `{"resultCode":"0000","resultMsg":"ok","tid":"nictest00m01012612030000009999","orderId":"` + orderID +
				`","status":"cancelled","amount":33000,"balanceAmt":0,"payMethod":"vbank","ediDate":"2026-12-03T10:00:00.000+0900","signature":"` +
				"0000000000000000000000000000000000000000000000000000000000000000" + `"}`
		},
		replayedNotice: func(tid string, amount int64, otherOrderID string) string {
			edi := "2026-12-03T10:00:00.000+0900"
			amt := strconv.FormatInt(amount, 10)
			return `{"resultCode":"0000","resultMsg":"ok","tid":"` + tid + `","orderId":"` + otherOrderID + `","status":"paid","amount":` + amt +
				`,"balanceAmt":` + amt + `,"payMethod":"vbank","ediDate":"` + edi + `","signature":"` +
				nicepayfake.PaymentSignature(tid, amt, edi, nicepayfake.SandboxSecretKey) + `"}`
		},
		windowApprovesItself: true,
		netCancelsOnTimeout:  true,
		cardBillingKeys:      true,
		billingCard:          nicepayfake.DefaultCard,
	}
}
