package realpg_test

import (
	"net/url"
	"testing"

	"github.com/paymux/paymux/config"
	paymuxv1 "github.com/paymux/paymux/gen/paymux/v1"
	"github.com/paymux/paymux/providers/tosspayments/tossfake"
)

// tossPayments is the Toss Payments driver: the fake core API v1 with the
// test key pair of Toss's official samples.
func tossPayments(t *testing.T) pgDriver {
	f := tossfake.Start(tossfake.Options{})
	t.Cleanup(f.Close)
	ops := map[string]string{"approve": tossfake.OpConfirm, "cancel": tossfake.OpCancel, "charge": tossfake.OpBillingCharge,
		"receipt": tossfake.OpCashReceipt}
	faults := map[fault]tossfake.Fault{
		// A dropped connection may be invisible: Go's client resends a POST
		// with an Idempotency-Key by itself, and Toss answers the kept
		// result. A timeout after the charge is what paymux must settle.
		faultLoseAnswer: tossfake.LoseAnswer, faultTimeoutAfterCharge: tossfake.TimeoutAfterCharge, faultUnavailable: tossfake.Unavailable,
	}
	return pgDriver{
		name:           "tosspayments",
		provider:       paymuxv1.Provider_PROVIDER_TOSSPAYMENTS,
		merchantID:     tossfake.TestMID,
		secrets:        map[string]string{"client_key": tossfake.TestClientKey, "secret_key": tossfake.TestSecretKey},
		badSecrets:     map[string]string{"client_key": tossfake.TestClientKey, "secret_key": "test_sk_0000000000000000000000"},
		misshapen:      map[string]string{"client_key": tossfake.TestClientKey, "secret_key": "live_sk_zXLkKEypNArWmo50nX3lmeaxYG5R"},
		misshapenField: "secrets.secret_key",
		configure: func(c *config.Config) {
			c.PGs.TossPayments = config.TossPaymentsConfig{APIURL: f.URL, SDKURL: f.SDKURL()}
		},
		completeWindow: func(params map[string]string, c choice) (string, string, url.Values, error) {
			ch := tossfake.ApproveWith(c.card)
			switch {
			case c.close:
				ch = tossfake.CloseWindow
			case c.decline != "":
				ch = tossfake.DeclineWith(c.decline, "declined in the window")
			}
			ret, err := f.CompleteWindow(params, ch)
			if err != nil {
				return "", "", nil, err
			}
			return ret.Method, ret.URL, ret.Form, nil
		},
		failNext: func(op string, fl fault) { f.FailNext(ops[op], faults[fl]) },
		declines: []declineCase{
			{"card company refusal in the window", choice{card: tossfake.RejectCard}, "REJECT_CARD_COMPANY"},
			{"stopped card in the window", choice{card: tossfake.StoppedCard}, "INVALID_STOPPED_CARD"},
			{"card company refusal at confirm", choice{card: tossfake.ConfirmDeclineCard}, "REJECT_CARD_COMPANY"},
			{"buyer closed the window", choice{close: true}, "PAY_PROCESS_CANCELED"},
		},
		deposit:       f.Deposit,
		consoleCancel: func(orderID string, amount int64) error { return f.ConsoleCancel(orderID, amount, "console") },
		setWebhook:    f.SetWebhookURL,
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
			if st != tossfake.StatusDone && st != tossfake.StatusPartialCanceled {
				bal = 0 // an ABORTED or EXPIRED payment's balance holds no money
			}
			return st, bal
		},
		keyIn:       true,
		billingCard: tossfake.DefaultCard,
		forgedNotice: func(orderID string) string {
			return `{"createdAt":"2026-12-03T10:00:00.000000","secret":"ps_forged000000000000","status":"CANCELED","transactionKey":"forged","orderId":"` + orderID + `"}`
		},
	}
}
