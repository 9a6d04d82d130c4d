package server_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/paymux/paymux/ent"
	"github.com/paymux/paymux/ent/channel"
	"github.com/paymux/paymux/ent/payment"
	paymuxv1 "github.com/paymux/paymux/gen/paymux/v1"
	"github.com/paymux/paymux/providers"
	"github.com/paymux/paymux/providers/sandbox"
	"github.com/paymux/paymux/tenant"
)

// ---- helpers of the payment flow tests --------------------------------------

func flSysCtx() context.Context { return tenant.System(context.Background()) }

func flStatusName(p *paymuxv1.Payment) string {
	return strings.TrimPrefix(p.GetStatus().String(), "PAYMENT_STATUS_")
}

func flPstatus(name string) paymuxv1.PaymentStatus {
	return paymuxv1.PaymentStatus(paymuxv1.PaymentStatus_value["PAYMENT_STATUS_"+name])
}

const flBuyerName = "Hong Gildong"

// flVaRequest asks for a virtual account at KB ("004"); due nil: the default.
func flVaRequest(mid string, total int64, due *timestamppb.Timestamp) *paymuxv1.CreateInstantPaymentRequest {
	return &paymuxv1.CreateInstantPaymentRequest{
		MerchantPaymentId: mid, OrderName: "VA order", Amount: amount(total),
		Customer: &paymuxv1.Customer{Name: flBuyerName},
		Method:   &paymuxv1.CreateInstantPaymentRequest_VirtualAccount{VirtualAccount: &paymuxv1.VirtualAccountInput{Bank: "004", DueTime: due}},
	}
}

func flCardRequest(mid string, total int64, card string) *paymuxv1.CreateInstantPaymentRequest {
	return &paymuxv1.CreateInstantPaymentRequest{
		MerchantPaymentId: mid, OrderName: "key-in order", Amount: amount(total),
		Method: &paymuxv1.CreateInstantPaymentRequest_Card{Card: testCard(card)},
	}
}

// flReadPayment reads a payment over Connect.
func flReadPayment(t testing.TB, ts *testServer, h http.Header, id string) *paymuxv1.Payment {
	t.Helper()
	return mustOK[*paymuxv1.GetPaymentResponse](t, callConnect(t, ts, getPayment(id), h)).GetPayment()
}

// flIssueVA issues a virtual account over Connect.
func flIssueVA(t testing.TB, ts *testServer, h http.Header, mid string, total int64) *paymuxv1.Payment {
	t.Helper()
	p := mustOK[*paymuxv1.CreateInstantPaymentResponse](t, callConnect(t, ts, instantPayment(flVaRequest(mid, total, nil)), h)).GetPayment()
	if flStatusName(p) != "VIRTUAL_ACCOUNT_ISSUED" {
		t.Fatalf("issued %v", p)
	}
	return p
}

// flDepositedVA issues a virtual account and deposits into it, over Connect.
func flDepositedVA(t testing.TB, ts *testServer, h http.Header, mid string, total int64) *paymuxv1.Payment {
	t.Helper()
	p := flIssueVA(t, ts, h, mid, total)
	p = mustOK[*paymuxv1.SimulateDepositResponse](t, callConnect(t, ts, simulateDeposit(p.GetId(), nil, ""), h)).GetPayment()
	if flStatusName(p) != "PAID" {
		t.Fatalf("deposited %v", p)
	}
	return p
}

// flPaidCard charges a card at once over Connect.
func flPaidCard(t testing.TB, ts *testServer, h http.Header, req *paymuxv1.CreateInstantPaymentRequest) *paymuxv1.Payment {
	t.Helper()
	p := mustOK[*paymuxv1.CreateInstantPaymentResponse](t, callConnect(t, ts, instantPayment(req), h)).GetPayment()
	if flStatusName(p) != "PAID" {
		t.Fatalf("charged %v", p)
	}
	return p
}

// flDeclinedCard charges a declined card over Connect and returns the FAILED
// payment.
func flDeclinedCard(t testing.TB, ts *testServer, h http.Header, mid string) *paymuxv1.Payment {
	t.Helper()
	wantRefusal(t, callConnect(t, ts, instantPayment(flCardRequest(mid, 10000, sandbox.CardInsufficientFunds)), h), connect.CodeFailedPrecondition, "PG_PROVIDER")
	p := mustOK[*paymuxv1.GetPaymentResponse](t, callConnect(t, ts, getPaymentByMerchantID("", mid), h)).GetPayment()
	if flStatusName(p) != "FAILED" {
		t.Fatalf("declined %v", p)
	}
	return p
}

// flRowCounts counts what the payment API writes, in every store, and what
// the sandbox PG holds.
type flRowCounts map[string]int

func flCountRows(t testing.TB, ts *testServer) flRowCounts {
	t.Helper()
	ctx := flSysCtx()
	out := flRowCounts{}
	for name, count := range map[string]func() (int, error){
		"payments":          func() (int, error) { return ts.DB.Payment.Query().Count(ctx) },
		"events":            func() (int, error) { return ts.DB.Event.Query().Count(ctx) },
		"cancellations":     func() (int, error) { return ts.DB.Cancellation.Query().Count(ctx) },
		"cash receipts":     func() (int, error) { return ts.DB.CashReceipt.Query().Count(ctx) },
		"pre-registrations": func() (int, error) { return ts.DB.PreRegistration.Query().Count(ctx) },
	} {
		n, err := count()
		if err != nil {
			t.Fatalf("count %s: %v", name, err)
		}
		out[name] = n
	}
	chans, err := ts.DB.Channel.Query().Where(channel.ModeEQ(channel.ModeTEST)).All(ctx)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, c := range chans {
		if !seen[c.MerchantID] {
			seen[c.MerchantID] = true
			out["sandbox payments"] += len(ts.Sandbox.Payments(providers.Channel{ID: c.ID, MerchantID: c.MerchantID, Mode: providers.ModeTest}))
		}
	}
	return out
}

func flWantNothingWritten(t testing.TB, ts *testServer, before flRowCounts) {
	t.Helper()
	if after := flCountRows(t, ts); !maps.Equal(before, after) {
		t.Fatalf("a refused call wrote: %v -> %v", before, after)
	}
}

// flPgChannel is a channel as the sandbox sees it, secrets included.
func flPgChannel(t testing.TB, ts *testServer, id string) providers.Channel {
	t.Helper()
	row, err := ts.DB.Channel.Get(flSysCtx(), id)
	if err != nil {
		t.Fatal(err)
	}
	plain, err := ts.Keyring.Decrypt(row.SecretsSealed, []byte("channel:"+id))
	if err != nil {
		t.Fatal(err)
	}
	secrets := providers.Secrets{}
	if err := json.Unmarshal(plain, &secrets); err != nil {
		t.Fatal(err)
	}
	return providers.Channel{ID: id, MerchantID: row.MerchantID, Mode: providers.ModeTest, Secrets: secrets}
}

// flDepositEventID finds the sandbox's deposit notification of an order in
// the sandbox's state.
func flDepositEventID(t testing.TB, ts *testServer, merchantID, orderID string) string {
	t.Helper()
	raw, err := ts.Sandbox.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	var state struct {
		Merchants []struct {
			ID     string            `json:"id"`
			Events map[string]string `json:"events"`
		} `json:"merchants"`
	}
	if err := json.Unmarshal(raw, &state); err != nil {
		t.Fatal(err)
	}
	var found []string
	for _, m := range state.Merchants {
		if m.ID != merchantID {
			continue
		}
		for id, body := range m.Events {
			var n struct {
				EventType string `json:"eventType"`
				OrderID   string `json:"orderId"`
			}
			if json.Unmarshal([]byte(body), &n) == nil && n.OrderID == orderID && n.EventType == string(providers.EventDepositArrived) {
				found = append(found, id)
			}
		}
	}
	if len(found) != 1 {
		t.Fatalf("deposit notifications of %s at the sandbox: %v", orderID, found)
	}
	return found[0]
}

// flPostNotification delivers a notification to paymux as a PG does.
func flPostNotification(t testing.TB, ts *testServer, channelID string, n *providers.Notification) (int, string) {
	t.Helper()
	resp, raw := rawHTTP(t, http.DefaultClient, http.MethodPost, ts.URL+"/notifications/"+url.PathEscape(channelID), bytes.NewReader(n.Body), n.Header)
	return resp.StatusCode, string(raw)
}

// flSandboxSignature signs body as the sandbox does, with secret.
func flSandboxSignature(secret string, at time.Time, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	fmt.Fprintf(mac, "%d.", at.Unix())
	mac.Write(body)
	return fmt.Sprintf("t=%d,v1=%s", at.Unix(), hex.EncodeToString(mac.Sum(nil)))
}

func flCloneNotification(n *providers.Notification) *providers.Notification {
	return &providers.Notification{Method: n.Method, Header: n.Header.Clone(), Body: bytes.Clone(n.Body)}
}

// flProtoJSON is the message as JSON, to search it for what must not be there.
func flProtoJSON(t testing.TB, m proto.Message) string {
	t.Helper()
	raw, err := protojson.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return string(raw)
}

// ---- 1. virtual accounts --------------------------------------------------------

// TestVirtualAccountFlows: issue, deposit, a second deposit, the deposit
// notification replayed and forged, refund to a refund account, closing an
// unpaid account, and expiry, on every surface and database.
func TestVirtualAccountFlows(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *ent.Client) {
		ts := startServer(t, db)
		key := headers("Authorization", ts.firstKeyAuth())
		ch := flPgChannel(t, ts, ts.First.ChannelID)
		for _, sf := range surfaces {
			t.Run(sf.name, func(t *testing.T) {
				// Issue.
				due := timestamppb.New(ts.Clock.Now().Add(72 * time.Hour).Truncate(time.Second))
				mid := merchantID("va-" + sf.name)
				issued := mustOK[*paymuxv1.CreateInstantPaymentResponse](t, sf.call(t, ts, instantPayment(flVaRequest(mid, 55000, due)), key)).GetPayment()
				va := issued.GetVirtualAccount()
				if flStatusName(issued) != "VIRTUAL_ACCOUNT_ISSUED" || issued.GetMethod() != paymuxv1.PayMethod_PAY_METHOD_VIRTUAL_ACCOUNT ||
					issued.GetMerchantPaymentId() != mid || issued.GetChannelId() != ts.First.ChannelID || issued.GetPgTransactionId() == "" ||
					va.GetBank() != "004" || va.GetAccountNumber() == "" || va.GetHolder() == "" || va.GetCustomerName() != flBuyerName ||
					!va.GetDueTime().AsTime().Equal(due.AsTime()) || va.GetDepositorName() != "" || va.GetDepositTime() != nil ||
					issued.GetAmounts().GetTotal() != 55000 || issued.GetAmounts().GetPaid() != 0 || issued.GetAmounts().GetCancellable() != 0 ||
					issued.GetPaidTime() != nil {
					t.Fatalf("issued %v", issued)
				}
				// A virtual account takes no cancel before the deposit.
				wantRefusal(t, sf.call(t, ts, cancelPayment(&paymuxv1.CancelPaymentRequest{Id: issued.GetId(), Reason: "early"}), key),
					connect.CodeFailedPrecondition, "PAYMENT_NOT_PAID")

				// Deposit.
				paid := mustOK[*paymuxv1.SimulateDepositResponse](t, sf.call(t, ts, simulateDeposit(issued.GetId(), nil, "Hong Depositor"), key)).GetPayment()
				pva := paid.GetVirtualAccount()
				if flStatusName(paid) != "PAID" || paid.GetAmounts().GetPaid() != 55000 || paid.GetAmounts().GetCancellable() != 55000 ||
					pva.GetDepositorName() != "Hong Depositor" || pva.GetDepositTime() == nil || paid.GetPaidTime() == nil ||
					pva.GetAccountNumber() != va.GetAccountNumber() || !pva.GetDueTime().AsTime().Equal(due.AsTime()) {
					t.Fatalf("deposited %v", paid)
				}
				if got := statuses(paid); !slices.Equal(got, []string{"READY", "VIRTUAL_ACCOUNT_ISSUED", "PAID"}) {
					t.Fatalf("history after the deposit: %v", got)
				}
				// A second deposit is refused.
				wantRefusal(t, sf.call(t, ts, simulateDeposit(issued.GetId(), nil, "again"), key), connect.CodeFailedPrecondition, "ALREADY_PAID")

				// The deposit notification again, as a PG retries it: acknowledged, nothing changes.
				before := flReadPayment(t, ts, key, issued.GetId())
				counts := flCountRows(t, ts)
				n, err := ts.Sandbox.ResendNotification(context.Background(), ch, flDepositEventID(t, ts, ch.MerchantID, issued.GetId()))
				if err != nil {
					t.Fatal(err)
				}
				for range 2 { // the PG's resend, then the very same bytes again
					if code, body := flPostNotification(t, ts, ch.ID, n); code != http.StatusOK || body != "OK" {
						t.Fatalf("replayed notification: HTTP %d %q, want the ack", code, body)
					}
				}
				if after := flReadPayment(t, ts, key, issued.GetId()); !proto.Equal(before, after) {
					t.Fatalf("a replayed notification changed the payment:\n%v\n%v", before, after)
				}
				flWantNothingWritten(t, ts, counts)

				// Broken signatures: 401, nothing changes.
				sig := n.Header.Get(sandbox.HeaderSignature)
				flipped := flCloneNotification(n)
				last := sig[len(sig)-1]
				flip := byte('0')
				if last == '0' {
					flip = '1'
				}
				flipped.Header.Set(sandbox.HeaderSignature, sig[:len(sig)-1]+string(flip))
				altered := flCloneNotification(n)
				altered.Body = bytes.Replace(altered.Body, []byte("Hong Depositor"), []byte("Mallory Kim"), 1)
				unsigned := flCloneNotification(n)
				unsigned.Header.Del(sandbox.HeaderSignature)
				for name, bad := range map[string]*providers.Notification{"flipped": flipped, "altered body": altered, "unsigned": unsigned} {
					if code, _ := flPostNotification(t, ts, ch.ID, bad); code != http.StatusUnauthorized {
						t.Fatalf("%s notification: HTTP %d, want 401", name, code)
					}
				}
				if after := flReadPayment(t, ts, key, issued.GetId()); !proto.Equal(before, after) {
					t.Fatalf("a refused notification changed the payment:\n%v\n%v", before, after)
				}
				flWantNothingWritten(t, ts, counts)

				// A forged deposit into an unpaid account (wrong key): refused, the account stays open.
				open := flIssueVA(t, ts, key, merchantID("va-open-"+sf.name), 20000)
				now := ts.Clock.Now()
				forged, _ := json.Marshal(map[string]any{
					"eventId": "sbx_evt_forged_" + sf.name, "eventType": string(providers.EventDepositArrived), "createdAt": now.UTC(),
					"merchantId": ch.MerchantID, "orderId": open.GetId(), "transactionId": open.GetPgTransactionId(),
					"status": "PAID", "amount": 20000, "depositorName": "Mallory",
				})
				fh := http.Header{}
				fh.Set("Content-Type", "application/json")
				fh.Set(sandbox.HeaderSignature, flSandboxSignature("not-the-channel-secret", now, forged))
				counts = flCountRows(t, ts)
				if code, _ := flPostNotification(t, ts, ch.ID, &providers.Notification{Header: fh, Body: forged}); code != http.StatusUnauthorized {
					t.Fatalf("forged notification: HTTP %d, want 401", code)
				}
				if got := flReadPayment(t, ts, key, open.GetId()); flStatusName(got) != "VIRTUAL_ACCOUNT_ISSUED" || got.GetAmounts().GetPaid() != 0 {
					t.Fatalf("a forged deposit moved the account: %v", got)
				}
				flWantNothingWritten(t, ts, counts)

				// A refund needs a refund account.
				wantRefusal(t, sf.call(t, ts, cancelPayment(&paymuxv1.CancelPaymentRequest{Id: issued.GetId(), Reason: "returned"}), key),
					connect.CodeInvalidArgument, "REFUND_ACCOUNT_REQUIRED")
				const refundNumber, refundPhone = "12345678901234", "01099998888"
				res := mustOK[*paymuxv1.CancelPaymentResponse](t, sf.call(t, ts, cancelPayment(&paymuxv1.CancelPaymentRequest{
					Id: issued.GetId(), Reason: "returned",
					RefundAccount: &paymuxv1.RefundAccount{Bank: "088", Number: refundNumber, Holder: flBuyerName, Phone: refundPhone},
				}), key))
				c := res.GetCancellation()
				if flStatusName(res.GetPayment()) != "CANCELLED" || res.GetPayment().GetAmounts().GetCancelled() != 55000 ||
					res.GetPayment().GetAmounts().GetCancellable() != 0 || res.GetPayment().GetCancelTime() == nil {
					t.Fatalf("refunded payment %v", res.GetPayment())
				}
				if c.GetStatus() != paymuxv1.CancellationStatus_CANCELLATION_STATUS_SUCCEEDED || c.GetAmount() != 55000 || c.GetVat() != 5000 ||
					c.GetRefundStatus() != paymuxv1.RefundStatus_REFUND_STATUS_PENDING ||
					c.GetRefundAccount().GetBank() != "088" || c.GetRefundAccount().GetNumber() != "123*******1234" ||
					c.GetRefundAccount().GetHolder() != flBuyerName {
					t.Fatalf("refund %v", c)
				}
				got := flReadPayment(t, ts, key, issued.GetId())
				if len(got.GetCancellations()) != 1 || !proto.Equal(got.GetCancellations()[0], c) ||
					!slices.Equal(statuses(got), []string{"READY", "VIRTUAL_ACCOUNT_ISSUED", "PAID", "CANCELLED"}) {
					t.Fatalf("after the refund: %v (history %v)", got, statuses(got))
				}
				for _, m := range []proto.Message{res, got} {
					if s := flProtoJSON(t, m); strings.Contains(s, refundNumber) || strings.Contains(s, refundPhone) {
						t.Fatalf("the refund account shows in full: %s", s)
					}
				}
				// The bank settles the refund a business day later; a read then shows it.
				ts.Clock.Advance(25 * time.Hour)
				if got := flReadPayment(t, ts, key, issued.GetId()).GetCancellations()[0]; got.GetRefundStatus() != paymuxv1.RefundStatus_REFUND_STATUS_COMPLETED {
					t.Fatalf("refund a day later: %v", got)
				}
				row, err := ts.DB.Cancellation.Get(flSysCtx(), c.GetId())
				if err != nil {
					t.Fatal(err)
				}
				if bytes.Contains(row.RefundNumberSealed, []byte(refundNumber)) {
					t.Fatal("the refund account number is stored in clear")
				}

				// Closing an unpaid account; no deposit afterwards.
				closed := mustOK[*paymuxv1.CloseVirtualAccountResponse](t, sf.call(t, ts, closeVirtualAccount(open.GetId()), key)).GetPayment()
				if flStatusName(closed) != "CANCELLED" || closed.GetCancelTime() == nil || closed.GetAmounts().GetPaid() != 0 {
					t.Fatalf("closed %v", closed)
				}
				wantRefusal(t, sf.call(t, ts, simulateDeposit(open.GetId(), nil, ""), key), connect.CodeFailedPrecondition, "PAYMENT_ALREADY_CANCELLED")
				wantRefusal(t, sf.call(t, ts, closeVirtualAccount(open.GetId()), key), connect.CodeFailedPrecondition, "PAYMENT_ALREADY_CANCELLED")
				if got := flReadPayment(t, ts, key, open.GetId()); !slices.Equal(statuses(got), []string{"READY", "VIRTUAL_ACCOUNT_ISSUED", "CANCELLED"}) {
					t.Fatalf("closed account history %v", statuses(got))
				}
				// Closing a deposited account is refused: it is refunded instead.
				deposited := flDepositedVA(t, ts, key, merchantID("va-dep-"+sf.name), 10000)
				wantRefusal(t, sf.call(t, ts, closeVirtualAccount(deposited.GetId()), key), connect.CodeFailedPrecondition, "ALREADY_PAID")

				// Expiry: the due time passes without a deposit.
				soon := timestamppb.New(ts.Clock.Now().Add(time.Hour).Truncate(time.Second))
				exp := mustOK[*paymuxv1.CreateInstantPaymentResponse](t, sf.call(t, ts, instantPayment(flVaRequest(merchantID("va-exp-"+sf.name), 12000, soon)), key)).GetPayment()
				if flStatusName(exp) != "VIRTUAL_ACCOUNT_ISSUED" || !exp.GetVirtualAccount().GetDueTime().AsTime().Equal(soon.AsTime()) {
					t.Fatalf("issued %v", exp)
				}
				ts.Clock.Advance(time.Hour + time.Minute)
				expired := mustOK[*paymuxv1.GetPaymentResponse](t, sf.call(t, ts, getPayment(exp.GetId()), key)).GetPayment()
				if flStatusName(expired) != "EXPIRED" || !slices.Equal(statuses(expired), []string{"READY", "VIRTUAL_ACCOUNT_ISSUED", "EXPIRED"}) ||
					expired.GetAmounts().GetPaid() != 0 {
					t.Fatalf("after the due time: %v (history %v)", expired, statuses(expired))
				}
				if h := expired.GetStatusHistory(); h[len(h)-1].GetFrom() != flPstatus("VIRTUAL_ACCOUNT_ISSUED") || h[len(h)-1].GetEventId() == "" {
					t.Fatalf("last status change %v", h[len(h)-1])
				}
				wantRefusal(t, sf.call(t, ts, simulateDeposit(exp.GetId(), nil, ""), key), connect.CodeFailedPrecondition, "PAYMENT_EXPIRED")
				wantRefusal(t, sf.call(t, ts, closeVirtualAccount(exp.GetId()), key), connect.CodeFailedPrecondition, "PAYMENT_EXPIRED")
			})
		}
	})
}

// ---- 2. cash receipts ------------------------------------------------------------

// TestCashReceipts: issue, look up, cancel; not for cards or unpaid
// accounts; one at a time; the tax service's refusal shows as FAILED.
func TestCashReceipts(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *ent.Client) {
		ts := startServer(t, db)
		key := headers("Authorization", ts.firstKeyAuth())
		income := func(identity string) *paymuxv1.CashReceiptInput {
			return &paymuxv1.CashReceiptInput{Type: paymuxv1.CashReceiptType_CASH_RECEIPT_TYPE_INCOME_DEDUCTION, IdentityNumber: identity}
		}
		for _, sf := range surfaces {
			t.Run(sf.name, func(t *testing.T) {
				p := flDepositedVA(t, ts, key, merchantID("cr-"+sf.name), 33000)
				wantRefusal(t, sf.call(t, ts, getCashReceipt(p.GetId()), key), connect.CodeNotFound, "CASH_RECEIPT_NOT_FOUND")
				wantRefusal(t, sf.call(t, ts, cancelCashReceipt(p.GetId()), key), connect.CodeNotFound, "CASH_RECEIPT_NOT_FOUND")

				issued := mustOK[*paymuxv1.IssueCashReceiptResponse](t, sf.call(t, ts, issueCashReceipt(p.GetId(), income("01012345678")), key))
				cr := issued.GetCashReceipt()
				if (cr.GetStatus() != paymuxv1.CashReceiptStatus_CASH_RECEIPT_STATUS_REQUESTED && cr.GetStatus() != paymuxv1.CashReceiptStatus_CASH_RECEIPT_STATUS_ISSUED) ||
					!strings.HasPrefix(cr.GetId(), "cr_") || cr.GetPaymentId() != p.GetId() ||
					cr.GetType() != paymuxv1.CashReceiptType_CASH_RECEIPT_TYPE_INCOME_DEDUCTION || cr.GetIdentityNumber() != "010****5678" ||
					cr.GetAmount() != 33000 || cr.GetVat() != 3000 || cr.GetTaxFree() != 0 || cr.GetRequestTime() == nil || cr.GetPgReceiptId() == "" {
					t.Fatalf("issued %v", cr)
				}
				if s := flProtoJSON(t, issued); strings.Contains(s, "01012345678") {
					t.Fatalf("the identity number shows in full: %s", s)
				}
				// One receipt at a time.
				wantRefusal(t, sf.call(t, ts, issueCashReceipt(p.GetId(), income("01012345678")), key), connect.CodeAlreadyExists, "CASH_RECEIPT_ALREADY_EXISTS")
				wantRefusal(t, sf.call(t, ts, issueCashReceipt(p.GetId(), income("01087654321")), key), connect.CodeAlreadyExists, "CASH_RECEIPT_ALREADY_EXISTS")

				got := mustOK[*paymuxv1.GetCashReceiptResponse](t, sf.call(t, ts, getCashReceipt(p.GetId()), key)).GetCashReceipt()
				if got.GetStatus() != paymuxv1.CashReceiptStatus_CASH_RECEIPT_STATUS_ISSUED || got.GetId() != cr.GetId() ||
					got.GetApprovalNumber() == "" || got.GetIssueTime() == nil || got.GetIdentityNumber() != "010****5678" || got.GetCancelTime() != nil {
					t.Fatalf("looked up %v", got)
				}
				if pr := flReadPayment(t, ts, key, p.GetId()); !proto.Equal(pr.GetCashReceipt(), got) {
					t.Fatalf("the payment shows receipt %v, want %v", pr.GetCashReceipt(), got)
				}
				cancelled := mustOK[*paymuxv1.CancelCashReceiptResponse](t, sf.call(t, ts, cancelCashReceipt(p.GetId()), key)).GetCashReceipt()
				if cancelled.GetStatus() != paymuxv1.CashReceiptStatus_CASH_RECEIPT_STATUS_CANCELLED || cancelled.GetId() != cr.GetId() ||
					cancelled.GetCancelTime() == nil || cancelled.GetApprovalNumber() != got.GetApprovalNumber() {
					t.Fatalf("cancelled %v", cancelled)
				}
				wantRefusal(t, sf.call(t, ts, cancelCashReceipt(p.GetId()), key), connect.CodeFailedPrecondition, "CASH_RECEIPT_NOT_CANCELLABLE")
				if again := mustOK[*paymuxv1.GetCashReceiptResponse](t, sf.call(t, ts, getCashReceipt(p.GetId()), key)).GetCashReceipt(); !proto.Equal(again, cancelled) {
					t.Fatalf("after the cancel: %v, want %v", again, cancelled)
				}

				// Not for a card payment, nor for an account not paid yet.
				card := flPaidCard(t, ts, key, flCardRequest(merchantID("cr-card-"+sf.name), 10000, sandbox.CardSuccess))
				open := flIssueVA(t, ts, key, merchantID("cr-open-"+sf.name), 10000)
				counts := flCountRows(t, ts)
				wantRefusal(t, sf.call(t, ts, issueCashReceipt(card.GetId(), income("01012345678")), key), connect.CodeFailedPrecondition, "CASH_RECEIPT_NOT_APPLICABLE")
				wantRefusal(t, sf.call(t, ts, issueCashReceipt(open.GetId(), income("01012345678")), key), connect.CodeFailedPrecondition, "PAYMENT_NOT_PAID")
				flWantNothingWritten(t, ts, counts)

				// The tax service refuses the identity: REQUESTED, then FAILED.
				q := flDepositedVA(t, ts, key, merchantID("cr-fail-"+sf.name), 22000)
				req := mustOK[*paymuxv1.IssueCashReceiptResponse](t, sf.call(t, ts, issueCashReceipt(q.GetId(), income(sandbox.FailingCashReceiptIdentity)), key)).GetCashReceipt()
				if req.GetStatus() != paymuxv1.CashReceiptStatus_CASH_RECEIPT_STATUS_REQUESTED || req.GetApprovalNumber() != "" {
					t.Fatalf("requested %v", req)
				}
				var failed *paymuxv1.CashReceipt
				for range 3 { // "eventually": the sandbox decides on the first look-up
					failed = mustOK[*paymuxv1.GetCashReceiptResponse](t, sf.call(t, ts, getCashReceipt(q.GetId()), key)).GetCashReceipt()
					if failed.GetStatus() != paymuxv1.CashReceiptStatus_CASH_RECEIPT_STATUS_REQUESTED {
						break
					}
				}
				if failed.GetStatus() != paymuxv1.CashReceiptStatus_CASH_RECEIPT_STATUS_FAILED || failed.GetFailure().GetReason() == "" ||
					failed.GetFailure().GetPgCode() != "SB_CR_REJECTED" || failed.GetApprovalNumber() != "" || failed.GetIssueTime() != nil {
					t.Fatalf("refused receipt %v", failed)
				}
				wantRefusal(t, sf.call(t, ts, cancelCashReceipt(q.GetId()), key), connect.CodeFailedPrecondition, "CASH_RECEIPT_NOT_CANCELLABLE")
				// A refused receipt is asked for again with a corrected number.
				again := mustOK[*paymuxv1.IssueCashReceiptResponse](t, sf.call(t, ts, issueCashReceipt(q.GetId(), income("01012345678")), key)).GetCashReceipt()
				if again.GetId() == failed.GetId() || again.GetStatus() == paymuxv1.CashReceiptStatus_CASH_RECEIPT_STATUS_FAILED {
					t.Fatalf("receipt asked for again: %v", again)
				}
				if got := mustOK[*paymuxv1.GetCashReceiptResponse](t, sf.call(t, ts, getCashReceipt(q.GetId()), key)).GetCashReceipt(); got.GetStatus() != paymuxv1.CashReceiptStatus_CASH_RECEIPT_STATUS_ISSUED {
					t.Fatalf("receipt asked for again, then read: %v", got)
				}

				// Asked for with the account: the PG requests it on the deposit, and paymux shows it.
				withReceipt := flVaRequest(merchantID("cr-auto-"+sf.name), 44000, nil)
				withReceipt.GetVirtualAccount().CashReceipt = &paymuxv1.CashReceiptInput{
					Type: paymuxv1.CashReceiptType_CASH_RECEIPT_TYPE_EXPENSE_PROOF, IdentityNumber: "1234567890"}
				auto := mustOK[*paymuxv1.CreateInstantPaymentResponse](t, sf.call(t, ts, instantPayment(withReceipt), key)).GetPayment()
				if auto.GetCashReceipt() != nil {
					t.Fatalf("a receipt before the deposit: %v", auto.GetCashReceipt())
				}
				deposited := mustOK[*paymuxv1.SimulateDepositResponse](t, sf.call(t, ts, simulateDeposit(auto.GetId(), nil, ""), key)).GetPayment()
				if ar := deposited.GetCashReceipt(); ar.GetStatus() != paymuxv1.CashReceiptStatus_CASH_RECEIPT_STATUS_REQUESTED ||
					ar.GetType() != paymuxv1.CashReceiptType_CASH_RECEIPT_TYPE_EXPENSE_PROOF || ar.GetIdentityNumber() != "123***7890" ||
					ar.GetAmount() != 44000 || ar.GetVat() != 4000 {
					t.Fatalf("receipt after the deposit: %v", ar)
				}
				autoIssued := mustOK[*paymuxv1.GetCashReceiptResponse](t, sf.call(t, ts, getCashReceipt(auto.GetId()), key)).GetCashReceipt()
				if autoIssued.GetStatus() != paymuxv1.CashReceiptStatus_CASH_RECEIPT_STATUS_ISSUED || autoIssued.GetApprovalNumber() == "" || autoIssued.GetPgReceiptId() == "" {
					t.Fatalf("receipt of the deposit looked up: %v", autoIssued)
				}
				wantRefusal(t, sf.call(t, ts, issueCashReceipt(auto.GetId(), income("01012345678")), key), connect.CodeAlreadyExists, "CASH_RECEIPT_ALREADY_EXISTS")
				if c := mustOK[*paymuxv1.CancelCashReceiptResponse](t, sf.call(t, ts, cancelCashReceipt(auto.GetId()), key)).GetCashReceipt(); c.GetStatus() != paymuxv1.CashReceiptStatus_CASH_RECEIPT_STATUS_CANCELLED {
					t.Fatalf("cancelled %v", c)
				}

				// A receipt covers what is left after a partial refund, and nothing after a full one.
				refund := &paymuxv1.RefundAccount{Bank: "088", Number: "12345678", Holder: flBuyerName}
				part := flDepositedVA(t, ts, key, merchantID("cr-part-"+sf.name), 10000)
				mustOK[*paymuxv1.CancelPaymentResponse](t, callConnect(t, ts, cancelPayment(&paymuxv1.CancelPaymentRequest{
					Id: part.GetId(), Amount: i64(4000), Reason: "part", RefundAccount: refund}), key))
				if pr := mustOK[*paymuxv1.IssueCashReceiptResponse](t, sf.call(t, ts, issueCashReceipt(part.GetId(), income("01012345678")), key)).GetCashReceipt(); pr.GetAmount() != 6000 || pr.GetVat() != 545 {
					t.Fatalf("receipt after a partial refund: %v", pr)
				}
				whole := flDepositedVA(t, ts, key, merchantID("cr-whole-"+sf.name), 10000)
				mustOK[*paymuxv1.CancelPaymentResponse](t, callConnect(t, ts, cancelPayment(&paymuxv1.CancelPaymentRequest{
					Id: whole.GetId(), Reason: "whole", RefundAccount: refund}), key))
				mustOK[*paymuxv1.CloseVirtualAccountResponse](t, callConnect(t, ts, closeVirtualAccount(open.GetId()), key))
				counts = flCountRows(t, ts)
				wantRefusal(t, sf.call(t, ts, issueCashReceipt(whole.GetId(), income("01012345678")), key), connect.CodeFailedPrecondition, "PAYMENT_ALREADY_CANCELLED")
				wantRefusal(t, sf.call(t, ts, issueCashReceipt(open.GetId(), income("01012345678")), key), connect.CodeFailedPrecondition, "PAYMENT_ALREADY_CANCELLED")
				flWantNothingWritten(t, ts, counts)
			})
		}
	})
}

// ---- 3. client approval ------------------------------------------------------------

// flMerchantPage is the merchant's return page: it answers its path and
// query as JSON.
func flMerchantPage(t testing.TB) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		out := map[string]string{"path": r.URL.Path}
		for k := range r.URL.Query() {
			out[k] = r.URL.Query().Get(k)
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(out)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestClientApprovalWindow: in the client approval model the window's
// return approves, and the merchant's page learns the outcome; the
// merchant cannot confirm.
func TestClientApprovalWindow(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *ent.Client) {
		ts := startServer(t, db)
		key := headers("Authorization", ts.firstKeyAuth())
		shop := flMerchantPage(t)
		returnURL := shop.URL + "/shop/done?cart=42"
		cases := []struct {
			name, card, status, failure, decline string
		}{
			{"approved", sandbox.CardSuccess, "PAID", "", ""},
			{"declined", sandbox.CardInsufficientFunds, "FAILED", "PG_DECLINED", "INSUFFICIENT_FUNDS"},
			{"timeout charged", sandbox.CardTimeoutCharged, "PAID", "", ""},
			{"timeout not charged", sandbox.CardTimeoutNotCharged, "FAILED", "PG_TIMEOUT_NOT_CHARGED", ""},
		}
		for _, sf := range surfaces {
			for _, c := range cases {
				t.Run(sf.name+"/"+c.name, func(t *testing.T) {
					mid := merchantID("client-" + sf.name)
					created := mustOK[*paymuxv1.CreatePaymentResponse](t, sf.call(t, ts, createPayment(&paymuxv1.CreatePaymentRequest{
						MerchantPaymentId: mid, OrderName: "Client order", Amount: amount(45000),
						ApprovalModel: paymuxv1.ApprovalModel_APPROVAL_MODEL_CLIENT, ReturnUrl: returnURL,
					}), key))
					p := created.GetPayment()
					if flStatusName(p) != "READY" || p.GetApprovalModel() != paymuxv1.ApprovalModel_APPROVAL_MODEL_CLIENT || p.GetReturnUrl() != returnURL {
						t.Fatalf("created %v", p)
					}
					back := completeWindow(t, created.GetWindow().GetCheckoutUrl(), c.card)
					if back["path"] != "/shop/done" || back["cart"] != "42" || back["payment_id"] != p.GetId() || back["merchant_payment_id"] != mid ||
						back["amount"] != "45000" || back["status"] != c.status || back["failure_reason"] != c.failure {
						t.Fatalf("the merchant page got %v", back)
					}
					if _, leaked := back[sandbox.WindowAuthToken]; leaked {
						t.Fatalf("the window's auth token reached the merchant page: %v", back)
					}
					got := mustOK[*paymuxv1.GetPaymentResponse](t, sf.call(t, ts, getPayment(p.GetId()), key)).GetPayment()
					if flStatusName(got) != c.status || got.GetFailure().GetReason() != c.failure || got.GetFailure().GetDecline() != c.decline ||
						!slices.Equal(statuses(got), []string{"READY", "PAY_PENDING", c.status}) {
						t.Fatalf("read back %v (history %v)", got, statuses(got))
					}
					if c.status == "PAID" && (got.GetAmounts().GetPaid() != 45000 || got.GetPaidTime() == nil || !strings.HasPrefix(got.GetCard().GetNumber(), "941000")) {
						t.Fatalf("paid %v", got)
					}
					if c.status == "FAILED" && (got.GetAmounts().GetPaid() != 0 || got.GetFailTime() == nil) {
						t.Fatalf("failed %v", got)
					}
					wantRefusal(t, sf.call(t, ts, confirmPayment(&paymuxv1.ConfirmPaymentRequest{Id: p.GetId(), Amount: 45000}), key),
						connect.CodeFailedPrecondition, "APPROVAL_MODEL_MISMATCH")
					if after := flReadPayment(t, ts, key, p.GetId()); !proto.Equal(after, got) {
						t.Fatalf("a refused confirm changed the payment: %v", after)
					}
				})
			}
		}

		// The browser comes back to the return page twice (a reload): one
		// charge, the same answer. Without its token the page is refused.
		t.Run("reload", func(t *testing.T) {
			noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
			created := mustOK[*paymuxv1.CreatePaymentResponse](t, callConnect(t, ts, createPayment(&paymuxv1.CreatePaymentRequest{
				MerchantPaymentId: merchantID("client-reload"), OrderName: "Client order", Amount: amount(45000),
				ApprovalModel: paymuxv1.ApprovalModel_APPROVAL_MODEL_CLIENT, ReturnUrl: returnURL,
			}), key))
			id := created.GetPayment().GetId()
			form := url.Values{"number": {sandbox.CardSuccess}, "exp_month": {"12"}, "exp_year": {"2030"}, "months": {"0"}}
			resp, _ := rawHTTP(t, noFollow, http.MethodPost, created.GetWindow().GetCheckoutUrl(), strings.NewReader(form.Encode()),
				headers("Content-Type", "application/x-www-form-urlencoded"))
			back := resp.Header.Get("Location")
			if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(back, ts.URL+"/pay/return/"+id+"?") {
				t.Fatalf("checkout: HTTP %d to %q", resp.StatusCode, back)
			}
			for range 2 {
				resp, _ := rawHTTP(t, noFollow, http.MethodGet, back, nil, nil)
				loc, err := url.Parse(resp.Header.Get("Location"))
				if err != nil || resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc.String(), shop.URL+"/shop/done?") ||
					loc.Query().Get("status") != "PAID" || loc.Query().Get("payment_id") != id {
					t.Fatalf("return page: HTTP %d to %q", resp.StatusCode, loc)
				}
			}
			var charges int
			for _, pg := range ts.Sandbox.Payments(sandboxPG(ts)) {
				if pg.OrderID == id {
					charges++
				}
			}
			if charges != 1 {
				t.Fatalf("the sandbox holds %d charges of %s, want 1", charges, id)
			}
			for _, u := range []string{ts.URL + "/pay/return/" + id, ts.URL + "/pay/return/" + id + "?rt=00ff"} {
				if resp, _ := rawHTTP(t, noFollow, http.MethodGet, u, nil, nil); resp.StatusCode != http.StatusNotFound {
					t.Fatalf("%s: HTTP %d, want 404", u, resp.StatusCode)
				}
			}
		})
	})
}

// ---- 4. pre-registration ------------------------------------------------------------

// TestPreRegistration: a payment must be made with the pre-registered
// amount (seed 002); another amount writes nothing.
func TestPreRegistration(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *ent.Client) {
		ts := startServer(t, db)
		key := headers("Authorization", ts.firstKeyAuth())
		for _, sf := range surfaces {
			t.Run(sf.name, func(t *testing.T) {
				mid := merchantID("pre-" + sf.name)
				pre := mustOK[*paymuxv1.PreRegisterPaymentResponse](t, sf.call(t, ts, preRegister(&paymuxv1.PreRegisterPaymentRequest{
					MerchantPaymentId: mid, TotalAmount: 30000,
				}), key)).GetPreRegistration()
				if pre.GetMerchantPaymentId() != mid || pre.GetTotalAmount() != 30000 || pre.TaxFreeAmount != nil || pre.GetCurrency() != "KRW" || pre.GetCreateTime() == nil {
					t.Fatalf("pre-registered %v", pre)
				}
				counts := flCountRows(t, ts)
				wantRefusal(t, sf.call(t, ts, createPayment(&paymuxv1.CreatePaymentRequest{MerchantPaymentId: mid, OrderName: "pre", Amount: amount(31000)}), key),
					connect.CodeInvalidArgument, "INFORMATION_MISMATCH")
				wantRefusal(t, sf.call(t, ts, instantPayment(flCardRequest(mid, 29000, sandbox.CardSuccess)), key), connect.CodeInvalidArgument, "INFORMATION_MISMATCH")
				wantRefusal(t, sf.call(t, ts, instantPayment(flVaRequest(mid, 29000, nil)), key), connect.CodeInvalidArgument, "INFORMATION_MISMATCH")
				flWantNothingWritten(t, ts, counts)
				wantRefusal(t, sf.call(t, ts, getPaymentByMerchantID("", mid), key), connect.CodeNotFound, "PAYMENT_NOT_FOUND")

				// Pre-registering again before the payment replaces the amount, tax-free part included.
				mustOK[*paymuxv1.PreRegisterPaymentResponse](t, sf.call(t, ts, preRegister(&paymuxv1.PreRegisterPaymentRequest{
					MerchantPaymentId: mid, TotalAmount: 32000, TaxFreeAmount: i64(2000),
				}), key))
				wantRefusal(t, sf.call(t, ts, createPayment(&paymuxv1.CreatePaymentRequest{MerchantPaymentId: mid, OrderName: "pre", Amount: amount(30000)}), key),
					connect.CodeInvalidArgument, "INFORMATION_MISMATCH")
				wantRefusal(t, sf.call(t, ts, createPayment(&paymuxv1.CreatePaymentRequest{MerchantPaymentId: mid, OrderName: "pre", Amount: amount(32000)}), key),
					connect.CodeInvalidArgument, "INFORMATION_MISMATCH")
				flWantNothingWritten(t, ts, counts)

				created := mustOK[*paymuxv1.CreatePaymentResponse](t, sf.call(t, ts, createPayment(&paymuxv1.CreatePaymentRequest{
					MerchantPaymentId: mid, OrderName: "pre", Amount: &paymuxv1.Amount{Total: 32000, TaxFree: 2000},
				}), key))
				p := created.GetPayment()
				if p.GetAmounts().GetTotal() != 32000 || p.GetAmounts().GetTaxFree() != 2000 || p.GetAmounts().GetVat() != 2727 {
					t.Fatalf("created %v", p)
				}
				completeWindow(t, created.GetWindow().GetCheckoutUrl(), sandbox.CardSuccess)
				paid := mustOK[*paymuxv1.ConfirmPaymentResponse](t, sf.call(t, ts, confirmPayment(&paymuxv1.ConfirmPaymentRequest{Id: p.GetId(), Amount: 32000}), key)).GetPayment()
				if flStatusName(paid) != "PAID" {
					t.Fatalf("confirmed %v", paid)
				}
				// The merchant payment id is taken now.
				counts = flCountRows(t, ts)
				wantRefusal(t, sf.call(t, ts, preRegister(&paymuxv1.PreRegisterPaymentRequest{MerchantPaymentId: mid, TotalAmount: 32000}), key),
					connect.CodeAlreadyExists, "PAYMENT_ALREADY_EXISTS")
				wantRefusal(t, sf.call(t, ts, preRegister(&paymuxv1.PreRegisterPaymentRequest{MerchantPaymentId: mid, TotalAmount: 1000}), key),
					connect.CodeAlreadyExists, "PAYMENT_ALREADY_EXISTS")
				flWantNothingWritten(t, ts, counts)

				// An instant payment with the pre-registered amount goes through.
				mid2 := merchantID("pre-instant-" + sf.name)
				mustOK[*paymuxv1.PreRegisterPaymentResponse](t, sf.call(t, ts, preRegister(&paymuxv1.PreRegisterPaymentRequest{MerchantPaymentId: mid2, TotalAmount: 20000}), key))
				if p := mustOK[*paymuxv1.CreateInstantPaymentResponse](t, sf.call(t, ts, instantPayment(flCardRequest(mid2, 20000, sandbox.CardSuccess)), key)).GetPayment(); flStatusName(p) != "PAID" {
					t.Fatalf("instant %v", p)
				}
			})
		}
	})
}

// ---- 5. bad input --------------------------------------------------------------------

// TestPaymentBadInput: every refusal names its reason (and fields), and
// writes nothing, neither at paymux nor at the PG.
func TestPaymentBadInput(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *ent.Client) {
		ts := startServer(t, db)
		key := headers("Authorization", ts.firstKeyAuth())
		admin := headers("Authorization", ts.adminAuth())

		// Store B, with its own channel and payment.
		b := newStore(t, ts, "Store B", "b@example.com")
		bCh := mustOK[*paymuxv1.CreateChannelResponse](t, callConnect(t, ts, createChannel(sandboxChannel(b.GetId(), "B sandbox")), admin)).GetChannel()
		bReq := flCardRequest(merchantID("b-order"), 10000, sandbox.CardSuccess)
		bReq.StoreId = b.GetId()
		bPay := flPaidCard(t, ts, admin, bReq)

		// A paid payment with a tax-free part, a failed one, an unpaid account.
		paidReq := flCardRequest(merchantID("bad-paid"), 30000, sandbox.CardSuccess)
		paidReq.Amount.TaxFree = 10000
		paid := flPaidCard(t, ts, key, paidReq)
		failed := flDeclinedCard(t, ts, key, merchantID("bad-failed"))
		open := flIssueVA(t, ts, key, merchantID("bad-open"), 10000)

		create := func(f func(*paymuxv1.CreatePaymentRequest)) rpc {
			req := &paymuxv1.CreatePaymentRequest{MerchantPaymentId: merchantID("bad"), OrderName: "bad", Amount: amount(10000)}
			f(req)
			return createPayment(req)
		}
		instant := func(f func(*paymuxv1.CreateInstantPaymentRequest)) rpc {
			req := flCardRequest(merchantID("bad"), 60000, sandbox.CardSuccess)
			f(req)
			return instantPayment(req)
		}
		card := func(f func(*paymuxv1.CardInput)) rpc {
			return instant(func(r *paymuxv1.CreateInstantPaymentRequest) { f(r.GetCard()) })
		}
		cancel := func(f func(*paymuxv1.CancelPaymentRequest)) rpc {
			req := &paymuxv1.CancelPaymentRequest{Id: paid.GetId(), Reason: "bad"}
			f(req)
			return cancelPayment(req)
		}
		getBoth := newRPC[paymuxv1.GetPaymentRequest, paymuxv1.GetPaymentResponse]("/paymux.v1.PaymentService/GetPayment", http.MethodGet,
			"/v1/payments/"+url.PathEscape(paid.GetId())+query("merchantPaymentId", paid.GetMerchantPaymentId()),
			&paymuxv1.GetPaymentRequest{Id: paid.GetId(), MerchantPaymentId: paid.GetMerchantPaymentId()})
		getNeither := newRPC[paymuxv1.GetPaymentRequest, paymuxv1.GetPaymentResponse]("/paymux.v1.PaymentService/GetPayment", http.MethodGet,
			"", &paymuxv1.GetPaymentRequest{})

		badBank := flVaRequest(merchantID("bad"), 10000, nil) // a well-formed code no bank has
		badBank.GetVirtualAccount().Bank = "999"

		const invalidArgument = "INVALID_ARGUMENT"
		cases := []struct {
			name   string
			r      rpc
			code   connect.Code
			reason string
			fields []string // for INVALID_ARGUMENT
			noREST bool     // the request has no REST form
		}{
			{name: "create: zero amount", r: create(func(r *paymuxv1.CreatePaymentRequest) { r.Amount = amount(0) }),
				code: connect.CodeInvalidArgument, reason: invalidArgument, fields: []string{"amount.total"}},
			{name: "create: negative amount", r: create(func(r *paymuxv1.CreatePaymentRequest) { r.Amount = amount(-1000) }),
				code: connect.CodeInvalidArgument, reason: invalidArgument, fields: []string{"amount.total"}},
			{name: "instant: zero amount", r: instant(func(r *paymuxv1.CreateInstantPaymentRequest) { r.Amount = amount(0) }),
				code: connect.CodeInvalidArgument, reason: invalidArgument, fields: []string{"amount.total"}},
			{name: "instant: negative amount", r: instant(func(r *paymuxv1.CreateInstantPaymentRequest) { r.Amount = amount(-1) }),
				code: connect.CodeInvalidArgument, reason: invalidArgument, fields: []string{"amount.total"}},
			{name: "create: tax-free over total", r: create(func(r *paymuxv1.CreatePaymentRequest) { r.Amount = &paymuxv1.Amount{Total: 1000, TaxFree: 1001} }),
				code: connect.CodeInvalidArgument, reason: invalidArgument, fields: []string{"amount.tax_free"}},
			{name: "instant: tax-free over total", r: instant(func(r *paymuxv1.CreateInstantPaymentRequest) {
				r.Amount = &paymuxv1.Amount{Total: 60000, TaxFree: 60001}
			}),
				code: connect.CodeInvalidArgument, reason: invalidArgument, fields: []string{"amount.tax_free"}},
			{name: "create: unknown channel", r: create(func(r *paymuxv1.CreatePaymentRequest) { r.ChannelId = "ch_doesnotexist" }),
				code: connect.CodeNotFound, reason: "CHANNEL_NOT_FOUND"},
			{name: "instant: unknown channel", r: instant(func(r *paymuxv1.CreateInstantPaymentRequest) { r.ChannelId = "ch_doesnotexist" }),
				code: connect.CodeNotFound, reason: "CHANNEL_NOT_FOUND"},
			{name: "create: another store's channel", r: create(func(r *paymuxv1.CreatePaymentRequest) { r.ChannelId = bCh.GetId() }),
				code: connect.CodeNotFound, reason: "CHANNEL_NOT_FOUND"},
			{name: "instant: another store's channel", r: instant(func(r *paymuxv1.CreateInstantPaymentRequest) { r.ChannelId = bCh.GetId() }),
				code: connect.CodeNotFound, reason: "CHANNEL_NOT_FOUND"},
			{name: "get: another store's payment", r: getPayment(bPay.GetId()), code: connect.CodeNotFound, reason: "PAYMENT_NOT_FOUND"},
			{name: "get: another store's merchant id", r: getPaymentByMerchantID("", bPay.GetMerchantPaymentId()), code: connect.CodeNotFound, reason: "PAYMENT_NOT_FOUND"},
			{name: "cancel: another store's payment", r: cancelPayment(&paymuxv1.CancelPaymentRequest{Id: bPay.GetId(), Reason: "x"}),
				code: connect.CodeNotFound, reason: "PAYMENT_NOT_FOUND"},
			{name: "confirm: another store's payment", r: confirmPayment(&paymuxv1.ConfirmPaymentRequest{Id: bPay.GetId(), Amount: 10000}),
				code: connect.CodeNotFound, reason: "PAYMENT_NOT_FOUND"},
			{name: "create: reused merchant id", r: create(func(r *paymuxv1.CreatePaymentRequest) { r.MerchantPaymentId = paid.GetMerchantPaymentId() }),
				code: connect.CodeAlreadyExists, reason: "PAYMENT_ALREADY_EXISTS"},
			{name: "instant: reused merchant id", r: instant(func(r *paymuxv1.CreateInstantPaymentRequest) { r.MerchantPaymentId = paid.GetMerchantPaymentId() }),
				code: connect.CodeAlreadyExists, reason: "PAYMENT_ALREADY_EXISTS"},
			{name: "virtual account: reused merchant id", r: instantPayment(flVaRequest(open.GetMerchantPaymentId(), 10000, nil)),
				code: connect.CodeAlreadyExists, reason: "PAYMENT_ALREADY_EXISTS"},
			{name: "create: merchant id of a failed payment", r: create(func(r *paymuxv1.CreatePaymentRequest) { r.MerchantPaymentId = failed.GetMerchantPaymentId() }),
				code: connect.CodeAlreadyExists, reason: "PAYMENT_ALREADY_EXISTS"},
			{name: "instant: merchant id of a failed payment", r: instant(func(r *paymuxv1.CreateInstantPaymentRequest) { r.MerchantPaymentId = failed.GetMerchantPaymentId() }),
				code: connect.CodeAlreadyExists, reason: "PAYMENT_ALREADY_EXISTS"},
			{name: "cancel: over the cancellable amount", r: cancel(func(r *paymuxv1.CancelPaymentRequest) { r.Amount = i64(30001) }),
				code: connect.CodeFailedPrecondition, reason: "CANCEL_AMOUNT_EXCEEDS_CANCELLABLE_AMOUNT"},
			{name: "cancel: stale cancellable amount", r: cancel(func(r *paymuxv1.CancelPaymentRequest) { r.Amount, r.CurrentCancellableAmount = i64(1000), i64(29999) }),
				code: connect.CodeFailedPrecondition, reason: "CANCELLABLE_AMOUNT_CONSISTENCY_BROKEN"},
			{name: "cancel: tax-free over the cancellable tax-free", r: cancel(func(r *paymuxv1.CancelPaymentRequest) { r.Amount, r.TaxFreeAmount = i64(20000), i64(10001) }),
				code: connect.CodeFailedPrecondition, reason: "CANCEL_TAX_FREE_AMOUNT_EXCEEDS_CANCELLABLE_TAX_FREE_AMOUNT"},
			{name: "cancel: tax-free over the cancel", r: cancel(func(r *paymuxv1.CancelPaymentRequest) { r.Amount, r.TaxFreeAmount = i64(1000), i64(1001) }),
				code: connect.CodeInvalidArgument, reason: invalidArgument, fields: []string{"tax_free_amount"}},
			{name: "cancel: VAT over the taxable part", r: cancel(func(r *paymuxv1.CancelPaymentRequest) { r.Amount, r.VatAmount = i64(1000), i64(1001) }),
				code: connect.CodeInvalidArgument, reason: invalidArgument, fields: []string{"vat_amount"}},
			{name: "cancel: a failed payment", r: cancelPayment(&paymuxv1.CancelPaymentRequest{Id: failed.GetId(), Reason: "x"}),
				code: connect.CodeFailedPrecondition, reason: "PAYMENT_FAILED"},
			{name: "cancel: an unpaid virtual account", r: cancelPayment(&paymuxv1.CancelPaymentRequest{Id: open.GetId(), Reason: "x",
				RefundAccount: &paymuxv1.RefundAccount{Bank: "088", Number: "12345678", Holder: "Kim"}}),
				code: connect.CodeFailedPrecondition, reason: "PAYMENT_NOT_PAID"},
			{name: "installment of 1 month", r: card(func(c *paymuxv1.CardInput) { c.InstallmentMonths = 1 }),
				code: connect.CodeInvalidArgument, reason: invalidArgument, fields: []string{"card.installment_months"}},
			{name: "installment of 13 months", r: card(func(c *paymuxv1.CardInput) { c.InstallmentMonths = 13 }),
				code: connect.CodeInvalidArgument, reason: invalidArgument, fields: []string{"card.installment_months"}},
			{name: "3 months under 50,000", r: instant(func(r *paymuxv1.CreateInstantPaymentRequest) {
				r.Amount = amount(49999)
				r.GetCard().InstallmentMonths = 3
			}),
				code: connect.CodeInvalidArgument, reason: "INSTALLMENT_NOT_ALLOWED_UNDER_50000", fields: []string{"card.installment_months"}},
			{name: "card number not digits", r: card(func(c *paymuxv1.CardInput) { c.Number = "9410-0000-0000-0005" }),
				code: connect.CodeInvalidArgument, reason: invalidArgument, fields: []string{"card.number"}},
			{name: "unknown virtual account bank", r: instantPayment(badBank),
				code: connect.CodeInvalidArgument, reason: invalidArgument, fields: []string{"virtual_account.bank"}},
			{name: "get: both ids", r: getBoth, code: connect.CodeInvalidArgument, reason: invalidArgument, fields: []string{"id", "merchant_payment_id"}},
			{name: "get: neither id", r: getNeither, code: connect.CodeInvalidArgument, reason: invalidArgument, fields: []string{"id", "merchant_payment_id"}, noREST: true},
		}

		paidBefore, bBefore := flReadPayment(t, ts, key, paid.GetId()), flReadPayment(t, ts, admin, bPay.GetId())
		for _, sf := range surfaces {
			for _, c := range cases {
				if c.noREST && sf.name == "rest" {
					continue
				}
				t.Run(sf.name+"/"+c.name, func(t *testing.T) {
					before := flCountRows(t, ts)
					r := sf.call(t, ts, c.r, key)
					if c.reason == invalidArgument {
						wantInvalid(t, r, c.fields...)
					} else {
						wantRefusal(t, r, c.code, c.reason)
					}
					flWantNothingWritten(t, ts, before)
				})
			}
		}
		if got := flReadPayment(t, ts, key, paid.GetId()); !proto.Equal(got, paidBefore) {
			t.Fatalf("refused cancels changed the payment:\n%v\n%v", paidBefore, got)
		}
		if got := flReadPayment(t, ts, admin, bPay.GetId()); !proto.Equal(got, bBefore) {
			t.Fatalf("store B's payment changed:\n%v\n%v", bBefore, got)
		}
	})
}

// ---- 6. listing ----------------------------------------------------------------------

func flPaymentIDs(ps []*paymuxv1.Payment) []string {
	ids := make([]string, 0, len(ps))
	for _, p := range ps {
		ids = append(ids, p.GetId())
	}
	return ids
}

// flListAll pages through ListPayments, checking every page.
func flListAll(t testing.TB, sf surface, ts *testServer, h http.Header, req *paymuxv1.ListPaymentsRequest) (ids []string, pages int) {
	t.Helper()
	req = proto.CloneOf(req)
	for {
		res := mustOK[*paymuxv1.ListPaymentsResponse](t, sf.call(t, ts, listPayments(req), h))
		pages++
		if req.GetPageSize() > 0 && len(res.GetPayments()) > int(req.GetPageSize()) {
			t.Fatalf("%s: a page of %d, page size %d", sf.name, len(res.GetPayments()), req.GetPageSize())
		}
		ids = append(ids, flPaymentIDs(res.GetPayments())...)
		if res.GetNextPageToken() == "" {
			return ids, pages
		}
		if len(res.GetPayments()) == 0 || pages > 50 {
			t.Fatalf("%s: an empty page with a next page token, or no end", sf.name)
		}
		req.PageToken = res.GetNextPageToken()
	}
}

// TestListPayments: filters, newest first, pages without duplicates or
// gaps; TEST keys never see LIVE payments.
func TestListPayments(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *ent.Client) {
		ts := startServer(t, db)
		key := headers("Authorization", ts.firstKeyAuth())
		second := mustOK[*paymuxv1.CreateChannelResponse](t, callConnect(t, ts, createChannel(sandboxChannel("", "second")), key)).GetChannel()
		step := func() { ts.Clock.Advance(time.Minute) }
		customer := func(name string) *paymuxv1.Customer { return &paymuxv1.Customer{Name: name} }

		r1 := flCardRequest("shop-alpha-1", 10000, sandbox.CardSuccess)
		r1.OrderName, r1.Customer = "Blue shirt", customer("Kim Minji")
		p1 := flPaidCard(t, ts, key, r1)
		step()
		r2 := flCardRequest("shop-beta-2", 10000, sandbox.CardInsufficientFunds)
		r2.OrderName, r2.Customer = "Red hat", customer("Lee Jun")
		wantRefusal(t, callConnect(t, ts, instantPayment(r2), key), connect.CodeFailedPrecondition, "PG_PROVIDER")
		p2 := mustOK[*paymuxv1.GetPaymentResponse](t, callConnect(t, ts, getPaymentByMerchantID("", "shop-beta-2"), key)).GetPayment()
		step()
		r3 := flVaRequest("shop-gamma-3", 15000, nil)
		r3.OrderName, r3.Customer, r3.ChannelId = "Green socks", customer("Park Sora"), second.GetId()
		p3 := mustOK[*paymuxv1.CreateInstantPaymentResponse](t, callConnect(t, ts, instantPayment(r3), key)).GetPayment()
		step()
		p4 := mustOK[*paymuxv1.CreatePaymentResponse](t, callConnect(t, ts, createPayment(&paymuxv1.CreatePaymentRequest{
			MerchantPaymentId: "shop-delta-4", OrderName: "Blue jeans", Amount: amount(20000), Customer: customer("Choi Yuna"),
		}), key)).GetPayment()
		step()
		r5 := flVaRequest("shop-epsilon-5", 25000, nil)
		r5.OrderName, r5.Customer = "Gift card", customer("Kim Jisoo")
		p5 := mustOK[*paymuxv1.CreateInstantPaymentResponse](t, callConnect(t, ts, instantPayment(r5), key)).GetPayment()
		mustOK[*paymuxv1.SimulateDepositResponse](t, callConnect(t, ts, simulateDeposit(p5.GetId(), nil, ""), key))
		step()
		var bulk []*paymuxv1.Payment // created as fast as they come: close or equal times
		for i := range 7 {
			bulk = append(bulk, mustOK[*paymuxv1.CreatePaymentResponse](t, callConnect(t, ts, createPayment(&paymuxv1.CreatePaymentRequest{
				MerchantPaymentId: "bulk-" + strconv.Itoa(i), OrderName: "Bulk item", Amount: amount(1000),
			}), key)).GetPayment())
		}
		if flStatusName(p1) != "PAID" || flStatusName(p2) != "FAILED" || flStatusName(p3) != "VIRTUAL_ACCOUNT_ISSUED" || flStatusName(p4) != "READY" {
			t.Fatalf("set-up: %s %s %s %s", flStatusName(p1), flStatusName(p2), flStatusName(p3), flStatusName(p4))
		}
		all := append([]*paymuxv1.Payment{p1, p2, p3, p4, p5}, bulk...)
		newest := flPaymentIDs(all)
		slices.Reverse(newest)
		ids := func(ps ...*paymuxv1.Payment) []string { return flPaymentIDs(ps) }
		bulkNewest := flPaymentIDs(bulk)
		slices.Reverse(bulkNewest)

		cases := []struct {
			name string
			req  *paymuxv1.ListPaymentsRequest
			want []string
		}{
			{"everything", &paymuxv1.ListPaymentsRequest{}, newest},
			{"paid", &paymuxv1.ListPaymentsRequest{Statuses: []paymuxv1.PaymentStatus{flPstatus("PAID")}}, ids(p5, p1)},
			{"paid or failed", &paymuxv1.ListPaymentsRequest{Statuses: []paymuxv1.PaymentStatus{flPstatus("FAILED"), flPstatus("PAID")}}, ids(p5, p2, p1)},
			{"expired", &paymuxv1.ListPaymentsRequest{Statuses: []paymuxv1.PaymentStatus{flPstatus("EXPIRED")}}, ids()},
			{"virtual accounts", &paymuxv1.ListPaymentsRequest{Methods: []paymuxv1.PayMethod{paymuxv1.PayMethod_PAY_METHOD_VIRTUAL_ACCOUNT}}, ids(p5, p3)},
			{"ready cards", &paymuxv1.ListPaymentsRequest{Methods: []paymuxv1.PayMethod{paymuxv1.PayMethod_PAY_METHOD_CARD},
				Statuses: []paymuxv1.PaymentStatus{flPstatus("READY")}}, append(slices.Clone(bulkNewest), p4.GetId())},
			{"transfers", &paymuxv1.ListPaymentsRequest{Methods: []paymuxv1.PayMethod{paymuxv1.PayMethod_PAY_METHOD_TRANSFER}}, ids()},
			{"second channel", &paymuxv1.ListPaymentsRequest{ChannelId: second.GetId()}, ids(p3)},
			{"first channel's virtual accounts", &paymuxv1.ListPaymentsRequest{ChannelId: ts.First.ChannelID,
				Methods: []paymuxv1.PayMethod{paymuxv1.PayMethod_PAY_METHOD_VIRTUAL_ACCOUNT}}, ids(p5)},
			{"time range", &paymuxv1.ListPaymentsRequest{StartTime: p2.GetCreateTime(), EndTime: p4.GetCreateTime()}, ids(p3, p2)},
			{"from a time", &paymuxv1.ListPaymentsRequest{StartTime: p5.GetCreateTime()}, append(slices.Clone(bulkNewest), p5.GetId())},
			{"until a time", &paymuxv1.ListPaymentsRequest{EndTime: p2.GetCreateTime()}, ids(p1)},
			{"merchant id", &paymuxv1.ListPaymentsRequest{Query: "gamma"}, ids(p3)},
			{"order name", &paymuxv1.ListPaymentsRequest{Query: "Blue"}, ids(p4, p1)},
			{"order name in another case", &paymuxv1.ListPaymentsRequest{Query: "blue"}, ids(p4, p1)},
			{"customer name", &paymuxv1.ListPaymentsRequest{Query: "Kim"}, ids(p5, p1)},
			{"query and status", &paymuxv1.ListPaymentsRequest{Query: "Blue", Statuses: []paymuxv1.PaymentStatus{flPstatus("PAID")}}, ids(p1)},
			{"no match", &paymuxv1.ListPaymentsRequest{Query: "nothing like it"}, ids()},
			{"LIKE wildcard %", &paymuxv1.ListPaymentsRequest{Query: "%"}, ids()},
			{"LIKE wildcard _", &paymuxv1.ListPaymentsRequest{Query: "_"}, ids()},
		}
		for _, sf := range surfaces {
			for _, c := range cases {
				t.Run(sf.name+"/"+c.name, func(t *testing.T) {
					res := mustOK[*paymuxv1.ListPaymentsResponse](t, sf.call(t, ts, listPayments(c.req), key))
					if got := flPaymentIDs(res.GetPayments()); !slices.Equal(got, c.want) || res.GetNextPageToken() != "" {
						t.Fatalf("got %v (next %q), want %v", got, res.GetNextPageToken(), c.want)
					}
				})
			}
			t.Run(sf.name+"/pages", func(t *testing.T) {
				for _, size := range []int32{1, 3, 5, 12, 13} {
					got, pages := flListAll(t, sf, ts, key, &paymuxv1.ListPaymentsRequest{PageSize: size})
					if !slices.Equal(got, newest) || pages != (len(newest)+int(size)-1)/int(size) {
						t.Fatalf("page size %d: %d pages of %v, want %v", size, pages, got, newest)
					}
				}
				got, _ := flListAll(t, sf, ts, key, &paymuxv1.ListPaymentsRequest{PageSize: 2, Methods: []paymuxv1.PayMethod{paymuxv1.PayMethod_PAY_METHOD_CARD}})
				if want := append(slices.Clone(bulkNewest), p4.GetId(), p2.GetId(), p1.GetId()); !slices.Equal(got, want) {
					t.Fatalf("card pages %v, want %v", got, want)
				}
				wantInvalid(t, sf.call(t, ts, listPayments(&paymuxv1.ListPaymentsRequest{PageToken: "not-a-token"}), key), "page_token")
			})
		}

		// A LIVE payment, put in place directly (the sandbox takes TEST only).
		sys := flSysCtx()
		liveCh := db.Channel.Create().SetStoreID(ts.First.StoreID).SetProvider(channel.ProviderSANDBOX).
			SetMode(channel.ModeLIVE).SetPurpose(channel.PurposePAYMENT).SetName("live").SetMerchantID("live-mid").
			SetTaxType(channel.TaxTypeTAXABLE).SetCreatedAt(time.Now()).SaveX(sys)
		now := ts.Clock.Now().UTC().Truncate(time.Microsecond)
		live := db.Payment.Create().SetID("pay_liveFlowsTest1").SetStoreID(ts.First.StoreID).SetChannelID(liveCh.ID).SetProvider("SANDBOX").
			SetMode(payment.ModeLIVE).SetMerchantPaymentID("live-order-1").SetOrderName("Live order").SetMethod(payment.MethodCARD).
			SetApprovalModel(payment.ApprovalModelSERVER).SetStatus(payment.StatusPAID).SetStatusAt(now).SetCreatedAt(now).SetUpdatedAt(now).
			SetTotal(10000).SetTaxFree(0).SetVat(909).SetPaid(10000).SetPaidAt(now).SaveX(sys)
		liveKey := headers("Authorization", liveKeyAuth(t, ts))
		for _, sf := range surfaces {
			got, _ := flListAll(t, sf, ts, key, &paymuxv1.ListPaymentsRequest{PageSize: 5})
			if !slices.Equal(got, newest) {
				t.Fatalf("%s: a TEST key lists %v, want %v", sf.name, got, newest)
			}
			wantRefusal(t, sf.call(t, ts, getPayment(live.ID), key), connect.CodeNotFound, "PAYMENT_NOT_FOUND")
			wantRefusal(t, sf.call(t, ts, getPaymentByMerchantID("", live.MerchantPaymentID), key), connect.CodeNotFound, "PAYMENT_NOT_FOUND")
			wantRefusal(t, sf.call(t, ts, cancelPayment(&paymuxv1.CancelPaymentRequest{Id: live.ID, Reason: "test key"}), key), connect.CodeNotFound, "PAYMENT_NOT_FOUND")

			got, _ = flListAll(t, sf, ts, liveKey, &paymuxv1.ListPaymentsRequest{PageSize: 5})
			if want := append([]string{live.ID}, newest...); !slices.Equal(got, want) {
				t.Fatalf("%s: a LIVE key lists %v, want %v", sf.name, got, want)
			}
			if p := mustOK[*paymuxv1.GetPaymentResponse](t, sf.call(t, ts, getPayment(live.ID), liveKey)).GetPayment(); p.GetMode() != paymuxv1.Mode_MODE_LIVE {
				t.Fatalf("%s: LIVE key reads %v", sf.name, p)
			}
		}
	})
}

// ---- 7. tenant isolation --------------------------------------------------------------

// TestPaymentTenantIsolation: store B's key cannot read, list, cancel or
// otherwise touch store A's payments on any surface, and A's payments are
// unchanged after the attempts.
func TestPaymentTenantIsolation(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *ent.Client) {
		ts := startServer(t, db)
		aKey := headers("Authorization", ts.firstKeyAuth())
		admin := headers("Authorization", ts.adminAuth())

		aPaid := flPaidCard(t, ts, aKey, flCardRequest(merchantID("iso-a-paid"), 30000, sandbox.CardSuccess))
		aDeposited := flDepositedVA(t, ts, aKey, merchantID("iso-a-va"), 20000)
		mustOK[*paymuxv1.IssueCashReceiptResponse](t, callConnect(t, ts, issueCashReceipt(aDeposited.GetId(), &paymuxv1.CashReceiptInput{
			Type: paymuxv1.CashReceiptType_CASH_RECEIPT_TYPE_INCOME_DEDUCTION, IdentityNumber: "01012345678"}), aKey))
		aOpen := flIssueVA(t, ts, aKey, merchantID("iso-a-open"), 10000)
		aReady := mustOK[*paymuxv1.CreatePaymentResponse](t, callConnect(t, ts, createPayment(&paymuxv1.CreatePaymentRequest{
			MerchantPaymentId: merchantID("iso-a-ready"), OrderName: "A ready", Amount: amount(5000)}), aKey)).GetPayment()
		aPayments := []*paymuxv1.Payment{aPaid, aDeposited, aOpen, aReady}
		before := map[string]*paymuxv1.Payment{}
		for _, p := range aPayments {
			before[p.GetId()] = flReadPayment(t, ts, aKey, p.GetId())
		}

		b := newStore(t, ts, "Store B", "b@example.com")
		mustOK[*paymuxv1.CreateChannelResponse](t, callConnect(t, ts, createChannel(sandboxChannel(b.GetId(), "B sandbox")), admin))
		bKey := headers("Authorization", keyAuth(mustOK[*paymuxv1.CreateKeyResponse](t, callConnect(t, ts,
			createKey(keyRequest(b.GetId(), "B test", paymuxv1.Mode_MODE_TEST, paymuxv1.AuthMethod_AUTH_METHOD_BASIC)), admin))))
		// Merchant payment ids are per store: B may use one of A's.
		bPay := flPaidCard(t, ts, bKey, flCardRequest(aPaid.GetMerchantPaymentId(), 7000, sandbox.CardSuccess))
		counts := flCountRows(t, ts)

		income := &paymuxv1.CashReceiptInput{Type: paymuxv1.CashReceiptType_CASH_RECEIPT_TYPE_INCOME_DEDUCTION, IdentityNumber: "01012345678"}
		refund := &paymuxv1.RefundAccount{Bank: "088", Number: "12345678", Holder: "Mallory"}
		for _, sf := range surfaces {
			for _, p := range aPayments {
				id := p.GetId()
				for name, r := range map[string]rpc{
					"get":                   getPayment(id),
					"cancel":                cancelPayment(&paymuxv1.CancelPaymentRequest{Id: id, Reason: "intruder"}),
					"cancel with refund":    cancelPayment(&paymuxv1.CancelPaymentRequest{Id: id, Reason: "intruder", RefundAccount: refund}),
					"confirm":               confirmPayment(&paymuxv1.ConfirmPaymentRequest{Id: id, Amount: p.GetAmounts().GetTotal()}),
					"close virtual account": closeVirtualAccount(id),
					"simulate deposit":      simulateDeposit(id, nil, "Mallory"),
					"issue cash receipt":    issueCashReceipt(id, income),
					"get cash receipt":      getCashReceipt(id),
					"cancel cash receipt":   cancelCashReceipt(id),
				} {
					t.Run(sf.name+"/"+name+"/"+p.GetMerchantPaymentId(), func(t *testing.T) {
						wantRefusal(t, sf.call(t, ts, r, bKey), connect.CodeNotFound, "PAYMENT_NOT_FOUND")
					})
				}
			}
			t.Run(sf.name+"/lookups", func(t *testing.T) {
				wantRefusal(t, sf.call(t, ts, getPaymentByMerchantID("", aOpen.GetMerchantPaymentId()), bKey), connect.CodeNotFound, "PAYMENT_NOT_FOUND")
				wantRefusal(t, sf.call(t, ts, getPaymentByMerchantID(ts.First.StoreID, aOpen.GetMerchantPaymentId()), bKey), connect.CodePermissionDenied, "STORE_MISMATCH")
				// The shared merchant id is B's own payment for B.
				if got := mustOK[*paymuxv1.GetPaymentResponse](t, sf.call(t, ts, getPaymentByMerchantID("", aPaid.GetMerchantPaymentId()), bKey)).GetPayment(); got.GetId() != bPay.GetId() {
					t.Fatalf("B reads %v by the shared merchant id", got)
				}
				if got, _ := flListAll(t, sf, ts, bKey, &paymuxv1.ListPaymentsRequest{}); !slices.Equal(got, []string{bPay.GetId()}) {
					t.Fatalf("B lists %v", got)
				}
				if got, _ := flListAll(t, sf, ts, bKey, &paymuxv1.ListPaymentsRequest{Query: "iso-a-open"}); len(got) != 0 {
					t.Fatalf("B finds %v", got)
				}
				if got, _ := flListAll(t, sf, ts, bKey, &paymuxv1.ListPaymentsRequest{ChannelId: ts.First.ChannelID}); len(got) != 0 {
					t.Fatalf("B lists A's channel: %v", got)
				}
				wantRefusal(t, sf.call(t, ts, listPayments(&paymuxv1.ListPaymentsRequest{StoreId: ts.First.StoreID}), bKey), connect.CodePermissionDenied, "STORE_MISMATCH")
				wantRefusal(t, sf.call(t, ts, createPayment(&paymuxv1.CreatePaymentRequest{MerchantPaymentId: merchantID("iso-b"), OrderName: "x",
					Amount: amount(1000), ChannelId: ts.First.ChannelID}), bKey), connect.CodeNotFound, "CHANNEL_NOT_FOUND")
				// And the other way round.
				wantRefusal(t, sf.call(t, ts, getPayment(bPay.GetId()), aKey), connect.CodeNotFound, "PAYMENT_NOT_FOUND")
				if got, _ := flListAll(t, sf, ts, aKey, &paymuxv1.ListPaymentsRequest{}); slices.Contains(got, bPay.GetId()) || len(got) != len(aPayments) {
					t.Fatalf("A lists %v", got)
				}
			})
		}
		flWantNothingWritten(t, ts, counts)
		for _, p := range aPayments {
			if got := flReadPayment(t, ts, aKey, p.GetId()); !proto.Equal(got, before[p.GetId()]) {
				t.Fatalf("A's payment changed:\n%v\n%v", before[p.GetId()], got)
			}
		}
	})
}
