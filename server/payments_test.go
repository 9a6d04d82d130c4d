package server_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"connectrpc.com/connect"

	"github.com/paymux/paymux/ent"
	paymuxv1 "github.com/paymux/paymux/gen/paymux/v1"
	"github.com/paymux/paymux/providers"
	"github.com/paymux/paymux/providers/sandbox"
)

var payCounter int

// merchantID returns a fresh merchant payment id.
func merchantID(prefix string) string {
	payCounter++
	return fmt.Sprintf("%s-%d", prefix, payCounter)
}

func amount(total int64) *paymuxv1.Amount { return &paymuxv1.Amount{Total: total} }

func i64(v int64) *int64 { return &v }

func testCard(number string) *paymuxv1.CardInput {
	return &paymuxv1.CardInput{Number: number, ExpiryYear: 2030, ExpiryMonth: 12, BirthOrBusinessNumber: "900101", PasswordTwoDigits: "12"}
}

// completeWindow plays the buyer: it submits the sandbox checkout form with
// card and follows every redirect: to paymux's return page, and on to the
// merchant's page if the payment has a return URL. It returns the JSON the
// last page answered.
func completeWindow(t testing.TB, checkoutURL, card string) map[string]string {
	t.Helper()
	resp, err := http.PostForm(checkoutURL, url.Values{"number": {card}, "exp_month": {"12"}, "exp_year": {"2030"}, "months": {"0"}})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("checkout: HTTP %d", resp.StatusCode)
	}
	out := map[string]string{}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatalf("window return page: %v", err)
	}
	return out
}

func statuses(p *paymuxv1.Payment) []string {
	var out []string
	for _, h := range p.GetStatusHistory() {
		out = append(out, strings.TrimPrefix(h.GetTo().String(), "PAYMENT_STATUS_"))
	}
	return out
}

// TestWindowPaymentServerApproval: create, the buyer's window, confirm,
// look up, cancel in part and then the rest, on every surface and database.
func TestWindowPaymentServerApproval(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *ent.Client) {
		ts := startServer(t, db)
		key := headers("Authorization", ts.firstKeyAuth())
		for _, sf := range surfaces {
			mid := merchantID("order-" + sf.name)
			created := mustOK[*paymuxv1.CreatePaymentResponse](t, sf.call(t, ts, createPayment(&paymuxv1.CreatePaymentRequest{
				MerchantPaymentId: mid, OrderName: "T-shirt", Amount: amount(30000),
				Customer: &paymuxv1.Customer{Name: "Kim"},
			}), key))
			p := created.GetPayment()
			if p.GetStatus() != paymuxv1.PaymentStatus_PAYMENT_STATUS_READY || p.GetChannelId() != ts.First.ChannelID ||
				p.GetAmounts().GetVat() != 2727 || p.GetApprovalModel() != paymuxv1.ApprovalModel_APPROVAL_MODEL_SERVER {
				t.Fatalf("%s: created %v", sf.name, p)
			}
			if !strings.HasPrefix(created.GetWindow().GetCheckoutUrl(), ts.URL+"/sandbox/checkout/") {
				t.Fatalf("%s: checkout URL %q", sf.name, created.GetWindow().GetCheckoutUrl())
			}
			// Not yet authenticated: nothing to confirm.
			wantRefusal(t, sf.call(t, ts, confirmPayment(&paymuxv1.ConfirmPaymentRequest{Id: p.GetId(), Amount: 30000}), key), connect.CodeFailedPrecondition, "WINDOW_NOT_COMPLETED")

			back := completeWindow(t, created.GetWindow().GetCheckoutUrl(), sandbox.CardSuccess)
			if back["payment_id"] != p.GetId() || back["status"] != "READY" || back[sandbox.WindowSessionID] == "" ||
				back[sandbox.WindowAuthToken] != "" { // the one-time token stays with paymux
				t.Fatalf("%s: window return %v", sf.name, back)
			}
			// A tampered amount is refused and charges nothing.
			wantRefusal(t, sf.call(t, ts, confirmPayment(&paymuxv1.ConfirmPaymentRequest{Id: p.GetId(), Amount: 100}), key), connect.CodeInvalidArgument, "INFORMATION_MISMATCH")
			paid := mustOK[*paymuxv1.ConfirmPaymentResponse](t, sf.call(t, ts, confirmPayment(&paymuxv1.ConfirmPaymentRequest{Id: p.GetId(), Amount: 30000}), key)).GetPayment()
			if paid.GetStatus() != paymuxv1.PaymentStatus_PAYMENT_STATUS_PAID || paid.GetAmounts().GetPaid() != 30000 || paid.GetPgTransactionId() == "" ||
				!strings.HasPrefix(paid.GetCard().GetNumber(), "941000") {
				t.Fatalf("%s: confirmed %v", sf.name, paid)
			}
			wantRefusal(t, sf.call(t, ts, confirmPayment(&paymuxv1.ConfirmPaymentRequest{Id: p.GetId(), Amount: 30000}), key), connect.CodeFailedPrecondition, "ALREADY_PAID")

			got := mustOK[*paymuxv1.GetPaymentResponse](t, sf.call(t, ts, getPaymentByMerchantID("", mid), key)).GetPayment()
			if got.GetId() != p.GetId() || !slices.Equal(statuses(got), []string{"READY", "PAY_PENDING", "PAID"}) {
				t.Fatalf("%s: by merchant id: %v (history %v)", sf.name, got, statuses(got))
			}

			part := mustOK[*paymuxv1.CancelPaymentResponse](t, sf.call(t, ts, cancelPayment(&paymuxv1.CancelPaymentRequest{
				Id: p.GetId(), Amount: i64(10000), Reason: "one item returned", CurrentCancellableAmount: i64(30000),
			}), key))
			if s := part.GetPayment(); s.GetStatus() != paymuxv1.PaymentStatus_PAYMENT_STATUS_PARTIAL_CANCELLED ||
				s.GetAmounts().GetCancellable() != 20000 || s.GetAmounts().GetCancelledVat() != 909 {
				t.Fatalf("%s: after partial cancel %v", sf.name, s)
			}
			// The same guard again is stale: the balance moved.
			wantRefusal(t, sf.call(t, ts, cancelPayment(&paymuxv1.CancelPaymentRequest{
				Id: p.GetId(), Amount: i64(10000), Reason: "retry", CurrentCancellableAmount: i64(30000),
			}), key), connect.CodeFailedPrecondition, "CANCELLABLE_AMOUNT_CONSISTENCY_BROKEN")
			wantRefusal(t, sf.call(t, ts, cancelPayment(&paymuxv1.CancelPaymentRequest{
				Id: p.GetId(), Amount: i64(20001), Reason: "too much",
			}), key), connect.CodeFailedPrecondition, "CANCEL_AMOUNT_EXCEEDS_CANCELLABLE_AMOUNT")
			rest := mustOK[*paymuxv1.CancelPaymentResponse](t, sf.call(t, ts, cancelPayment(&paymuxv1.CancelPaymentRequest{Id: p.GetId(), Reason: "the rest"}), key)).GetPayment()
			if rest.GetStatus() != paymuxv1.PaymentStatus_PAYMENT_STATUS_CANCELLED || rest.GetAmounts().GetCancelled() != 30000 ||
				rest.GetAmounts().GetCancelledVat() != 2727 || len(rest.GetCancellations()) != 2 {
				t.Fatalf("%s: after full cancel %v", sf.name, rest)
			}
			wantRefusal(t, sf.call(t, ts, cancelPayment(&paymuxv1.CancelPaymentRequest{Id: p.GetId(), Reason: "again"}), key), connect.CodeFailedPrecondition, "PAYMENT_ALREADY_CANCELLED")
		}
	})
}

// TestInstantCardPayments: key-in charges with each sandbox card: approved,
// declined for each reason, and the two timeouts, resolved by asking the PG.
func TestInstantCardPayments(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *ent.Client) {
		ts := startServer(t, db)
		key := headers("Authorization", ts.firstKeyAuth())
		cases := []struct {
			card, wantStatus, wantReason, wantDecline, wantFailure string
			months                                                 int32
		}{
			{card: sandbox.CardSuccess, wantStatus: "PAID"},
			{card: sandbox.CardInsufficientFunds, wantStatus: "FAILED", wantReason: "PG_PROVIDER", wantDecline: "INSUFFICIENT_FUNDS", wantFailure: "PG_DECLINED"},
			{card: sandbox.CardLostOrStolen, wantStatus: "FAILED", wantReason: "PG_PROVIDER", wantDecline: "LOST_OR_STOLEN", wantFailure: "PG_DECLINED"},
			{card: sandbox.CardLimitExceeded, wantStatus: "FAILED", wantReason: "PG_PROVIDER", wantDecline: "LIMIT_EXCEEDED", wantFailure: "PG_DECLINED"},
			{card: sandbox.CardNoInstallment, months: 3, wantStatus: "FAILED", wantReason: "PG_PROVIDER", wantDecline: "INVALID_INSTALLMENT", wantFailure: "PG_DECLINED"},
			{card: sandbox.CardNoInstallment, wantStatus: "PAID"},
			// The PG charged but its answer was lost: paymux asks and records it.
			{card: sandbox.CardTimeoutCharged, wantStatus: "PAID"},
			// Nothing was charged: the payment fails, nothing to void.
			{card: sandbox.CardTimeoutNotCharged, wantStatus: "FAILED", wantReason: "PG_PROVIDER", wantFailure: "PG_TIMEOUT_NOT_CHARGED"},
		}
		for _, sf := range surfaces {
			for _, c := range cases {
				mid := merchantID("keyin-" + sf.name)
				card := testCard(c.card)
				card.InstallmentMonths = c.months
				r := sf.call(t, ts, instantPayment(&paymuxv1.CreateInstantPaymentRequest{
					MerchantPaymentId: mid, OrderName: "keyin", Amount: amount(60000),
					Method: &paymuxv1.CreateInstantPaymentRequest_Card{Card: card},
				}), key)
				if c.wantReason != "" {
					wantRefusal(t, r, connect.CodeFailedPrecondition, c.wantReason)
				} else {
					mustOK[*paymuxv1.CreateInstantPaymentResponse](t, r)
				}
				got := mustOK[*paymuxv1.GetPaymentResponse](t, sf.call(t, ts, getPaymentByMerchantID("", mid), key)).GetPayment()
				if st := strings.TrimPrefix(got.GetStatus().String(), "PAYMENT_STATUS_"); st != c.wantStatus {
					t.Fatalf("%s %s: status %s, want %s (%v)", sf.name, c.card[12:], st, c.wantStatus, got)
				}
				if got.GetFailure().GetDecline() != c.wantDecline || got.GetFailure().GetReason() != c.wantFailure {
					t.Fatalf("%s %s: failure %v", sf.name, c.card[12:], got.GetFailure())
				}
			}
		}
		// Every PAID payment is charged once at the PG; nothing else is.
		var charged int
		for _, p := range ts.Sandbox.Payments(sandboxPG(ts)) {
			if p.Status == "PAID" {
				charged++
			}
		}
		if want := 3 * len(surfaces); charged != want {
			t.Fatalf("the sandbox holds %d paid charges, want %d", charged, want)
		}
	})
}

// sandboxPG names the first store's sandbox channel at the sandbox.
func sandboxPG(ts *testServer) providers.Channel {
	return providers.Channel{ID: ts.First.ChannelID, MerchantID: "sandbox-" + ts.First.StoreID, Mode: providers.ModeTest}
}
