package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/paymux/paymux/ent"
	paymuxv1 "github.com/paymux/paymux/gen/paymux/v1"
	"github.com/paymux/paymux/tenant"
)

// Tests of DepositService (deposit.proto) and of bank transfer orders
// (CreateInstantPayment's bank_transfer) end to end, through the real
// transport: REST and Connect against a real server on each database, real
// webhook receivers, and the call log as LogService shows it. Helpers are
// prefixed "dp".

// ---- calls -------------------------------------------------------------------

func dpCreateAccount(req *paymuxv1.CreateBankAccountRequest) rpc {
	return newRPC[paymuxv1.CreateBankAccountRequest, paymuxv1.CreateBankAccountResponse]("/paymux.v1.DepositService/CreateBankAccount", http.MethodPost, "/v1/bank-accounts", req)
}

func dpListAccounts(storeID string) rpc {
	return newRPC[paymuxv1.ListBankAccountsRequest, paymuxv1.ListBankAccountsResponse]("/paymux.v1.DepositService/ListBankAccounts", http.MethodGet,
		"/v1/bank-accounts"+query("storeId", storeID), &paymuxv1.ListBankAccountsRequest{StoreId: storeID})
}

func dpGetAccount(id string) rpc {
	return newRPC[paymuxv1.GetBankAccountRequest, paymuxv1.GetBankAccountResponse]("/paymux.v1.DepositService/GetBankAccount", http.MethodGet,
		"/v1/bank-accounts/"+url.PathEscape(id), &paymuxv1.GetBankAccountRequest{Id: id})
}

func dpDeleteAccount(id string) rpc {
	return newRPC[paymuxv1.DeleteBankAccountRequest, paymuxv1.DeleteBankAccountResponse]("/paymux.v1.DepositService/DeleteBankAccount", http.MethodDelete,
		"/v1/bank-accounts/"+url.PathEscape(id), &paymuxv1.DeleteBankAccountRequest{Id: id})
}

func dpRecord(req *paymuxv1.RecordDepositsRequest) rpc {
	return newRPC[paymuxv1.RecordDepositsRequest, paymuxv1.RecordDepositsResponse]("/paymux.v1.DepositService/RecordDeposits", http.MethodPost, "/v1/deposits", req)
}

func dpMessages(req *paymuxv1.RecordBankMessagesRequest) rpc {
	return newRPC[paymuxv1.RecordBankMessagesRequest, paymuxv1.RecordBankMessagesResponse]("/paymux.v1.DepositService/RecordBankMessages", http.MethodPost, "/v1/deposits/messages", req)
}

func dpStatement(req *paymuxv1.ImportStatementRequest) rpc {
	return newRPC[paymuxv1.ImportStatementRequest, paymuxv1.ImportStatementResponse]("/paymux.v1.DepositService/ImportStatement", http.MethodPost, "/v1/deposits/statements", req)
}

// dpList lists up to 100 deposits of a store.
func dpList(storeID string) rpc {
	return newRPC[paymuxv1.ListDepositsRequest, paymuxv1.ListDepositsResponse]("/paymux.v1.DepositService/ListDeposits", http.MethodGet,
		"/v1/deposits"+query("storeId", storeID, "pageSize", "100"), &paymuxv1.ListDepositsRequest{StoreId: storeID, PageSize: 100})
}

func dpGet(id string) rpc {
	return newRPC[paymuxv1.GetDepositRequest, paymuxv1.GetDepositResponse]("/paymux.v1.DepositService/GetDeposit", http.MethodGet,
		"/v1/deposits/"+url.PathEscape(id), &paymuxv1.GetDepositRequest{Id: id})
}

func dpMatch(id, paymentID string) rpc {
	return newRPC[paymuxv1.MatchDepositRequest, paymuxv1.MatchDepositResponse]("/paymux.v1.DepositService/MatchDeposit", http.MethodPost,
		"/v1/deposits/"+url.PathEscape(id)+"/match", &paymuxv1.MatchDepositRequest{Id: id, PaymentId: paymentID})
}

func dpUnmatch(id string) rpc {
	return newRPC[paymuxv1.UnmatchDepositRequest, paymuxv1.UnmatchDepositResponse]("/paymux.v1.DepositService/UnmatchDeposit", http.MethodPost,
		"/v1/deposits/"+url.PathEscape(id)+"/unmatch", &paymuxv1.UnmatchDepositRequest{Id: id})
}

// dpListMessages lists up to 100 bank messages of a store.
func dpListMessages(storeID string) rpc {
	return newRPC[paymuxv1.ListBankMessagesRequest, paymuxv1.ListBankMessagesResponse]("/paymux.v1.DepositService/ListBankMessages", http.MethodGet,
		"/v1/bank-messages"+query("storeId", storeID, "pageSize", "100"), &paymuxv1.ListBankMessagesRequest{StoreId: storeID, PageSize: 100})
}

func dpGetSettings(storeID string) rpc {
	return newRPC[paymuxv1.GetDepositSettingsRequest, paymuxv1.GetDepositSettingsResponse]("/paymux.v1.DepositService/GetDepositSettings", http.MethodGet,
		"/v1/deposit-settings"+query("storeId", storeID), &paymuxv1.GetDepositSettingsRequest{StoreId: storeID})
}

func dpUpdateSettings(req *paymuxv1.UpdateDepositSettingsRequest) rpc {
	return newRPC[paymuxv1.UpdateDepositSettingsRequest, paymuxv1.UpdateDepositSettingsResponse]("/paymux.v1.DepositService/UpdateDepositSettings", http.MethodPatch,
		"/v1/deposit-settings", req)
}

// dpSurfaces are the surfaces these tests call: Connect and REST.
func dpSurfaces() []surface {
	var out []surface
	for _, sf := range surfaces {
		if sf.name == "connect" || sf.name == "rest" {
			out = append(out, sf)
		}
	}
	return out
}

// ---- fixtures ----------------------------------------------------------------

var dpSeq atomic.Int64

// dpMID is a fresh merchant payment id.
func dpMID(prefix string) string { return fmt.Sprintf("%s-%d", prefix, dpSeq.Add(1)) }

// dpDigits is an account number as paymux keeps it: digits only.
func dpDigits(number string) string { return strings.ReplaceAll(number, "-", "") }

// dpMasked is an account number as the API shows it: the first 3 and last
// 4 digits.
func dpMasked(number string) string {
	d := dpDigits(number)
	return d[:3] + strings.Repeat("*", len(d)-7) + d[len(d)-4:]
}

// dpAccountIn is a new NH account (bank 011).
func dpAccountIn(number string) *paymuxv1.CreateBankAccountRequest {
	return &paymuxv1.CreateBankAccountRequest{Bank: "011", AccountNumber: number, Holder: "(주)페이먹스상점", Description: "orders"}
}

func dpNewAccount(t testing.TB, ts *testServer, sf surface, h http.Header, req *paymuxv1.CreateBankAccountRequest) *paymuxv1.BankAccount {
	t.Helper()
	return mustOK[*paymuxv1.CreateBankAccountResponse](t, sf.call(t, ts, dpCreateAccount(req), h)).GetBankAccount()
}

// dpOrderIn is a bank transfer order.
func dpOrderIn(mid string, total int64, depositor, accountID string) *paymuxv1.CreateInstantPaymentRequest {
	return &paymuxv1.CreateInstantPaymentRequest{
		MerchantPaymentId: mid, OrderName: "bank transfer order", Amount: amount(total),
		Method: &paymuxv1.CreateInstantPaymentRequest_BankTransfer{BankTransfer: &paymuxv1.BankTransferInput{DepositorName: depositor, BankAccountId: accountID}},
	}
}

func dpNewOrder(t testing.TB, ts *testServer, sf surface, h http.Header, req *paymuxv1.CreateInstantPaymentRequest) *paymuxv1.Payment {
	t.Helper()
	p := mustOK[*paymuxv1.CreateInstantPaymentResponse](t, sf.call(t, ts, instantPayment(req), h)).GetPayment()
	if p.GetStatus() != paymuxv1.PaymentStatus_PAYMENT_STATUS_READY || p.GetMethod() != paymuxv1.PayMethod_PAY_METHOD_BANK_TRANSFER {
		t.Fatalf("order %s: %v", req.GetMerchantPaymentId(), p)
	}
	return p
}

// dpTx is a deposit (or a withdrawal) as a feed reports it, now.
func dpTx(ts *testServer, accountID string, amt int64, name string) *paymuxv1.TransactionInput {
	return &paymuxv1.TransactionInput{BankAccountId: accountID, Amount: amt, DepositorName: name, TransactionTime: timestamppb.New(ts.Clock.Now())}
}

// dpRecordOne records one transaction and returns what became of it.
func dpRecordOne(t testing.TB, ts *testServer, sf surface, h http.Header, tx *paymuxv1.TransactionInput) *paymuxv1.DepositResult {
	t.Helper()
	res := mustOK[*paymuxv1.RecordDepositsResponse](t, sf.call(t, ts, dpRecord(&paymuxv1.RecordDepositsRequest{Transactions: []*paymuxv1.TransactionInput{tx}}), h))
	if len(res.GetResults()) != 1 {
		t.Fatalf("one transaction, %d results: %v", len(res.GetResults()), res)
	}
	return res.GetResults()[0]
}

func dpPayment(t testing.TB, ts *testServer, h http.Header, id string) *paymuxv1.Payment {
	t.Helper()
	return mustOK[*paymuxv1.GetPaymentResponse](t, callConnect(t, ts, getPayment(id), h)).GetPayment()
}

func dpDeposit(t testing.TB, ts *testServer, h http.Header, id string) *paymuxv1.Deposit {
	t.Helper()
	return mustOK[*paymuxv1.GetDepositResponse](t, callConnect(t, ts, dpGet(id), h)).GetDeposit()
}

func dpDepositIDs(ds []*paymuxv1.Deposit) []string {
	var ids []string
	for _, d := range ds {
		ids = append(ids, d.GetId())
	}
	return ids
}

func dpAccountIDs(as []*paymuxv1.BankAccount) []string {
	var ids []string
	for _, a := range as {
		ids = append(ids, a.GetId())
	}
	return ids
}

// dpHistory is a payment's status history: "FROM>TO" for each change.
func dpHistory(p *paymuxv1.Payment) []string {
	var out []string
	for _, c := range p.GetStatusHistory() {
		out = append(out, strings.TrimPrefix(c.GetFrom().String(), "PAYMENT_STATUS_")+">"+strings.TrimPrefix(c.GetTo().String(), "PAYMENT_STATUS_"))
	}
	return out
}

// dpOtherStore is a second store, made by the administrator, with a TEST
// key and a TEST bank account.
type dpOtherStore struct {
	id      string
	key     http.Header // TEST
	live    http.Header // LIVE
	account *paymuxv1.BankAccount
}

func dpNewStore(t testing.TB, ts *testServer, name string) *dpOtherStore {
	t.Helper()
	admin := headers("Authorization", ts.adminAuth())
	st := newStore(t, ts, name, strings.ToLower(strings.ReplaceAll(name, " ", "-"))+"@example.com")
	k := mustOK[*paymuxv1.CreateKeyResponse](t, callConnect(t, ts,
		createKey(keyRequest(st.GetId(), name+" test", paymuxv1.Mode_MODE_TEST, paymuxv1.AuthMethod_AUTH_METHOD_BASIC)), admin))
	lk := mustOK[*paymuxv1.CreateKeyResponse](t, callConnect(t, ts,
		createKey(keyRequest(st.GetId(), name+" live", paymuxv1.Mode_MODE_LIVE, paymuxv1.AuthMethod_AUTH_METHOD_BASIC)), admin))
	in := dpAccountIn("110-222-333444")
	in.StoreId = st.GetId()
	return &dpOtherStore{id: st.GetId(), key: headers("Authorization", keyAuth(k)), live: headers("Authorization", keyAuth(lk)),
		account: dpNewAccount(t, ts, surfaces[1], admin, in)}
}

// ---- webhooks ------------------------------------------------------------------

// dpEndpoint is a webhook endpoint of the caller's store with the default
// event types, on a real receiver that answers 200; and its secret.
func dpEndpoint(t testing.TB, ts *testServer, h http.Header) (*waReceiver, string) {
	t.Helper()
	rcv := waNewReceiver(t, http.StatusOK, "ok")
	created := waCreate(t, ts, h, &paymuxv1.CreateWebhookEndpointRequest{Url: rcv.URL + "/hooks", Description: "deposits"})
	if len(created.GetEndpoint().GetEventTypes()) != 0 {
		t.Fatalf("endpoint event types %v, want the default (none named)", created.GetEndpoint().GetEventTypes())
	}
	return rcv, created.GetSecret()
}

// dpHooks are the webhooks rcv got of type typ whose data has id id.
func dpHooks(t testing.TB, rcv *waReceiver, typ, id string) []waHook {
	t.Helper()
	var out []waHook
	for _, h := range rcv.hooks() {
		b := waDecode(t, h)
		if b.Type == typ && b.Data["id"] == id {
			out = append(out, h)
		}
	}
	return out
}

// dpWaitHook waits for a webhook of type typ about id, checks its
// signature with secret, and returns its body.
func dpWaitHook(t testing.TB, rcv *waReceiver, secret, typ, id string) waJSONBody {
	t.Helper()
	deadline := time.Now().Add(waWait)
	for {
		if hs := dpHooks(t, rcv, typ, id); len(hs) > 0 {
			waCheckSigned(t, hs[0], secret)
			return waDecode(t, hs[0])
		}
		if time.Now().After(deadline) {
			var got []string
			for _, h := range rcv.hooks() {
				b := waDecode(t, h)
				got = append(got, fmt.Sprintf("%s %v", b.Type, b.Data["id"]))
			}
			t.Fatalf("no %s webhook about %s within %s; got %q", typ, id, waWait, got)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// ---- nothing written -------------------------------------------------------------

// dpState is what a refused call must leave as it was: lists through the
// API and row counts in the database.
type dpState struct {
	lists  map[string]proto.Message
	counts map[string]int
}

// dpView is one list read through the API for dpState.
type dpView struct {
	name string
	r    rpc
	h    http.Header
}

func dpSnapshot(t testing.TB, ts *testServer, views ...dpView) dpState {
	t.Helper()
	st := dpState{lists: map[string]proto.Message{}, counts: map[string]int{}}
	for _, v := range views {
		st.lists[v.name] = mustOK[proto.Message](t, callConnect(t, ts, v.r, v.h))
	}
	ctx := tenant.System(context.Background())
	for name, count := range map[string]func() (int, error){
		"deposits":         func() (int, error) { return ts.DB.Deposit.Query().Count(ctx) },
		"bank messages":    func() (int, error) { return ts.DB.BankMessage.Query().Count(ctx) },
		"bank accounts":    func() (int, error) { return ts.DB.BankAccount.Query().Count(ctx) },
		"deposit settings": func() (int, error) { return ts.DB.DepositSetting.Query().Count(ctx) },
		"payments":         func() (int, error) { return ts.DB.Payment.Query().Count(ctx) },
		"events":           func() (int, error) { return ts.DB.Event.Query().Count(ctx) },
		"cancellations":    func() (int, error) { return ts.DB.Cancellation.Query().Count(ctx) },
		"cash receipts":    func() (int, error) { return ts.DB.CashReceipt.Query().Count(ctx) },
	} {
		n, err := count()
		if err != nil {
			t.Fatalf("count %s: %v", name, err)
		}
		st.counts[name] = n
	}
	return st
}

func dpWantUnchanged(t testing.TB, before, after dpState) {
	t.Helper()
	for name, b := range before.lists {
		if !proto.Equal(b, after.lists[name]) {
			t.Fatalf("a refused call changed %s:\nbefore %v\nafter  %v", name, b, after.lists[name])
		}
	}
	for name, n := range before.counts {
		if after.counts[name] != n {
			t.Fatalf("a refused call wrote %s: %d rows, then %d", name, n, after.counts[name])
		}
	}
}

// dpWantRefused asserts code and reason (and, when fields is not nil,
// exactly those field violations), with REST's HTTP status.
func dpWantRefused(t testing.TB, r result, code connect.Code, reason string, fields ...string) {
	t.Helper()
	wantRefusal(t, r, code, reason)
	if fields != nil && !slices.Equal(slices.Sorted(slices.Values(r.fields)), slices.Sorted(slices.Values(fields))) {
		t.Fatalf("got %v, want field violations %q", r, fields)
	}
}

// ---- 1. the happy path -----------------------------------------------------------

// TestDepositAPIHappyPath: a bank account (shown masked), a bank transfer
// order (the number in full for the buyer, due in 14 days), a matching
// deposit that pays it, and the signed webhooks of it; then a match by hand
// and its undoing, and the account deleted (archived, as it is used); on
// REST and Connect and on every database.
func TestDepositAPIHappyPath(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *ent.Client) {
		ts := startServer(t, db, allowLocalWebhooks)
		key := headers("Authorization", ts.firstKeyAuth())
		rcv, secret := dpEndpoint(t, ts, key)
		for i, sf := range dpSurfaces() {
			t.Run(sf.name, func(t *testing.T) {
				number := fmt.Sprintf("352-1234-5678-9%d", i)
				start := ts.Clock.Now()

				// The account: the number masked, never in full.
				acct := dpNewAccount(t, ts, sf, key, dpAccountIn(number))
				if !strings.HasPrefix(acct.GetId(), "bac_") || acct.GetStoreId() != ts.First.StoreID || acct.GetMode() != paymuxv1.Mode_MODE_TEST ||
					acct.GetBank() != "011" || acct.GetAccountNumber() != dpMasked(number) || acct.GetHolder() != "(주)페이먹스상점" ||
					acct.GetDescription() != "orders" || acct.GetArchived() || acct.GetArchiveTime() != nil {
					t.Fatalf("created %v", acct)
				}
				waNear(t, "create_time", acct.GetCreateTime().AsTime(), start, 5*time.Second)
				got := mustOK[*paymuxv1.GetBankAccountResponse](t, sf.call(t, ts, dpGetAccount(acct.GetId()), key)).GetBankAccount()
				if !proto.Equal(got, acct) {
					t.Fatalf("get %v, want %v", got, acct)
				}
				list := mustOK[*paymuxv1.ListBankAccountsResponse](t, sf.call(t, ts, dpListAccounts(""), key))
				if !slices.Contains(dpAccountIDs(list.GetBankAccounts()), acct.GetId()) {
					t.Fatalf("list %v lacks %s", dpAccountIDs(list.GetBankAccounts()), acct.GetId())
				}
				for what, m := range map[string]proto.Message{"create": acct, "get": got, "list": list} {
					if s := protojson.Format(m); strings.Contains(s, dpDigits(number)) || strings.Contains(s, number) {
						t.Fatalf("%s shows the account number in full: %s", what, s)
					}
				}

				// The order: the buyer is shown where to send the money, in full.
				mid := dpMID("bt-" + sf.name)
				order := dpNewOrder(t, ts, sf, key, dpOrderIn(mid, 19000, "홍길동", acct.GetId()))
				bt := order.GetBankTransfer()
				if order.GetMerchantPaymentId() != mid || order.GetChannelId() != "" || order.GetMode() != paymuxv1.Mode_MODE_TEST ||
					order.GetAmounts().GetTotal() != 19000 || order.GetPaidTime() != nil ||
					bt.GetBankAccountId() != acct.GetId() || bt.GetBank() != "011" || bt.GetAccountNumber() != dpDigits(number) ||
					bt.GetHolder() != "(주)페이먹스상점" || bt.GetDepositorName() != "홍길동" || bt.GetDepositId() != "" || bt.GetDepositTime() != nil {
					t.Fatalf("order %v", order)
				}
				if due := bt.GetDueTime().AsTime(); !due.Equal(order.GetCreateTime().AsTime().Add(14 * 24 * time.Hour)) {
					t.Fatalf("due %s, want 14 days after %s", due, order.GetCreateTime().AsTime())
				}

				// The deposit pays it.
				r := dpRecordOne(t, ts, sf, key, dpTx(ts, acct.GetId(), 19000, "홍길동"))
				dep := r.GetDeposit()
				if r.GetDuplicate() || !strings.HasPrefix(dep.GetId(), "dep_") || dep.GetStatus() != paymuxv1.DepositStatus_DEPOSIT_STATUS_MATCHED ||
					dep.GetType() != paymuxv1.DepositType_DEPOSIT_TYPE_DEPOSIT || dep.GetSource() != paymuxv1.DepositSource_DEPOSIT_SOURCE_FEED ||
					dep.GetMode() != paymuxv1.Mode_MODE_TEST || dep.GetStoreId() != ts.First.StoreID || dep.GetBankAccountId() != acct.GetId() ||
					dep.GetAmount() != 19000 || dep.GetDepositorName() != "홍길동" || dep.GetPaymentId() != order.GetId() ||
					dep.GetMerchantPaymentId() != mid || dep.GetMatchType() != paymuxv1.MatchType_MATCH_TYPE_AUTO ||
					dep.GetCandidates() != 1 || dep.GetUnmatchedReason() != "" || dep.GetMatchTime() == nil {
					t.Fatalf("deposit %v", r)
				}
				if got := mustOK[*paymuxv1.GetDepositResponse](t, sf.call(t, ts, dpGet(dep.GetId()), key)).GetDeposit(); !proto.Equal(got, dep) {
					t.Fatalf("get deposit %v, want %v", got, dep)
				}
				deps := mustOK[*paymuxv1.ListDepositsResponse](t, sf.call(t, ts, dpList(""), key))
				if !slices.Contains(dpDepositIDs(deps.GetDeposits()), dep.GetId()) {
					t.Fatalf("list %v lacks %s", dpDepositIDs(deps.GetDeposits()), dep.GetId())
				}

				paid := mustOK[*paymuxv1.GetPaymentResponse](t, sf.call(t, ts, getPayment(order.GetId()), key)).GetPayment()
				if paid.GetStatus() != paymuxv1.PaymentStatus_PAYMENT_STATUS_PAID || paid.GetPaidTime() == nil ||
					paid.GetBankTransfer().GetDepositId() != dep.GetId() || paid.GetBankTransfer().GetDepositTime() == nil ||
					paid.GetBankTransfer().GetAccountNumber() != dpDigits(number) {
					t.Fatalf("paid order %v", paid)
				}
				if h := dpHistory(paid); !slices.Equal(h, []string{"UNSPECIFIED>READY", "READY>PAID"}) {
					t.Errorf("status history %q, want [UNSPECIFIED>READY READY>PAID]: only the payment's own status changes", h)
				}

				// The webhooks, signed, with the default event types.
				pb := dpWaitHook(t, rcv, secret, waPaid, order.GetId())
				if pb.Data["status"] != "PAYMENT_STATUS_PAID" || pb.Data["merchantPaymentId"] != mid {
					t.Fatalf("payment.paid data %v", pb.Data)
				}
				if btData, _ := pb.Data["bankTransfer"].(map[string]any); btData["depositId"] != dep.GetId() {
					t.Fatalf("payment.paid bankTransfer %v", pb.Data["bankTransfer"])
				}
				rb := dpWaitHook(t, rcv, secret, "deposit.received", dep.GetId())
				mb := dpWaitHook(t, rcv, secret, "deposit.matched", dep.GetId())
				if mb.Data["status"] != "DEPOSIT_STATUS_MATCHED" || mb.Data["paymentId"] != order.GetId() || rb.Data["amount"] == nil {
					t.Fatalf("deposit events: received %v, matched %v", rb.Data, mb.Data)
				}
				for _, typ := range []string{"deposit.unmatched", "bank.transaction"} {
					if hs := dpHooks(t, rcv, typ, dep.GetId()); len(hs) > 0 {
						t.Fatalf("%d %s webhooks for a matched deposit, with bank transactions not reported", len(hs), typ)
					}
				}

				// By hand: a deposit under another name pays a second order,
				// and the match is undone.
				second := dpNewOrder(t, ts, sf, key, dpOrderIn(dpMID("bt-hand-"+sf.name), 30000, "김민준", acct.GetId()))
				odd := dpRecordOne(t, ts, sf, key, dpTx(ts, acct.GetId(), 30000, "김민준엄마")).GetDeposit()
				if odd.GetStatus() != paymuxv1.DepositStatus_DEPOSIT_STATUS_UNMATCHED || odd.GetUnmatchedReason() != "NO_CANDIDATE" || odd.GetCandidates() != 0 {
					t.Fatalf("deposit under another name %v", odd)
				}
				dpWaitHook(t, rcv, secret, "deposit.unmatched", odd.GetId())
				m := mustOK[*paymuxv1.MatchDepositResponse](t, sf.call(t, ts, dpMatch(odd.GetId(), second.GetId()), key))
				if d := m.GetDeposit(); d.GetStatus() != paymuxv1.DepositStatus_DEPOSIT_STATUS_MATCHED || d.GetPaymentId() != second.GetId() ||
					d.GetMatchType() != paymuxv1.MatchType_MATCH_TYPE_MANUAL || d.GetUnmatchedReason() != "" ||
					m.GetPayment().GetStatus() != paymuxv1.PaymentStatus_PAYMENT_STATUS_PAID || m.GetPayment().GetBankTransfer().GetDepositId() != odd.GetId() {
					t.Fatalf("match by hand %v", m)
				}
				dpWaitHook(t, rcv, secret, waPaid, second.GetId())
				dpWaitHook(t, rcv, secret, "deposit.matched", odd.GetId())
				u := mustOK[*paymuxv1.UnmatchDepositResponse](t, sf.call(t, ts, dpUnmatch(odd.GetId()), key))
				if d := u.GetDeposit(); d.GetStatus() != paymuxv1.DepositStatus_DEPOSIT_STATUS_UNMATCHED || d.GetUnmatchedReason() != "UNMATCHED_BY_HAND" ||
					d.GetPaymentId() != "" || d.GetMatchType() != paymuxv1.MatchType_MATCH_TYPE_UNSPECIFIED ||
					u.GetPayment().GetStatus() != paymuxv1.PaymentStatus_PAYMENT_STATUS_READY || u.GetPayment().GetBankTransfer().GetDepositId() != "" ||
					u.GetPayment().GetPaidTime() != nil {
					t.Fatalf("unmatch %v", u)
				}
				if got := dpDeposit(t, ts, key, odd.GetId()); !proto.Equal(got, u.GetDeposit()) {
					t.Fatalf("deposit read after the unmatch %v, want %v", got, u.GetDeposit())
				}

				// Deleting: an account nothing refers to goes; a used one is
				// archived, stays readable, and takes no new deposit.
				spare := dpNewAccount(t, ts, sf, key, dpAccountIn(fmt.Sprintf("110-%d00-123456", i)))
				if del := mustOK[*paymuxv1.DeleteBankAccountResponse](t, sf.call(t, ts, dpDeleteAccount(spare.GetId()), key)); del.GetArchived() {
					t.Fatalf("unused account archived: %v", del)
				}
				wantRefusal(t, sf.call(t, ts, dpGetAccount(spare.GetId()), key), connect.CodeNotFound, "BANK_ACCOUNT_NOT_FOUND")
				if del := mustOK[*paymuxv1.DeleteBankAccountResponse](t, sf.call(t, ts, dpDeleteAccount(acct.GetId()), key)); !del.GetArchived() {
					t.Fatalf("used account deleted, not archived: %v", del)
				}
				arch := mustOK[*paymuxv1.GetBankAccountResponse](t, sf.call(t, ts, dpGetAccount(acct.GetId()), key)).GetBankAccount()
				if !arch.GetArchived() || arch.GetArchiveTime() == nil || arch.GetAccountNumber() != dpMasked(number) {
					t.Fatalf("archived account %v", arch)
				}
				if ids := dpAccountIDs(mustOK[*paymuxv1.ListBankAccountsResponse](t, sf.call(t, ts, dpListAccounts(""), key)).GetBankAccounts()); slices.Contains(ids, acct.GetId()) {
					t.Fatalf("list shows the archived account: %v", ids)
				}
				dpWantRefused(t, sf.call(t, ts, dpRecord(&paymuxv1.RecordDepositsRequest{Transactions: []*paymuxv1.TransactionInput{dpTx(ts, acct.GetId(), 30000, "김민준")}}), key),
					connect.CodeInvalidArgument, "BANK_ACCOUNT_ARCHIVED", "transactions[0].bank_account_id")
			})
		}
	})
}

// ---- 2. bad input ----------------------------------------------------------------

// TestDepositAPIBadInput: each bad request is refused with its code, reason
// and offending field (HTTP 400 on REST), and writes nothing: the deposits,
// payments, bank messages and accounts of both stores read the same after.
func TestDepositAPIBadInput(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *ent.Client) {
		ts := startServer(t, db)
		key := headers("Authorization", ts.firstKeyAuth())
		admin := headers("Authorization", ts.adminAuth())
		cn := surfaces[1]
		acct := dpNewAccount(t, ts, cn, key, dpAccountIn("352-1234-5678-90"))
		b := dpNewStore(t, ts, "Store B")

		// A's paid order and its deposit; an open order of 10,000; an
		// unmatched deposit of 7,000. B's deposit.
		paidOrder := dpNewOrder(t, ts, cn, key, dpOrderIn(dpMID("bad-paid"), 5000, "이영희", acct.GetId()))
		matched := dpRecordOne(t, ts, cn, key, dpTx(ts, acct.GetId(), 5000, "이영희")).GetDeposit()
		if matched.GetPaymentId() != paidOrder.GetId() {
			t.Fatalf("fixture deposit %v", matched)
		}
		open := dpNewOrder(t, ts, cn, key, dpOrderIn(dpMID("bad-open"), 10000, "김철수", acct.GetId()))
		stray := dpRecordOne(t, ts, cn, key, dpTx(ts, acct.GetId(), 7000, "박민수")).GetDeposit()
		if stray.GetStatus() != paymuxv1.DepositStatus_DEPOSIT_STATUS_UNMATCHED || stray.GetUnmatchedReason() != "NO_CANDIDATE" {
			t.Fatalf("fixture deposit %v", stray)
		}
		bTx := dpTx(ts, b.account.GetId(), 3000, "최지우")
		bDep := mustOK[*paymuxv1.RecordDepositsResponse](t, callConnect(t, ts, dpRecord(&paymuxv1.RecordDepositsRequest{
			StoreId: b.id, Transactions: []*paymuxv1.TransactionInput{bTx},
		}), admin)).GetResults()[0].GetDeposit()
		bAccountBefore := mustOK[*paymuxv1.GetBankAccountResponse](t, callConnect(t, ts, dpGetAccount(b.account.GetId()), admin)).GetBankAccount()

		views := []dpView{
			{"A deposits", dpList(""), key},
			{"A payments", listPayments(&paymuxv1.ListPaymentsRequest{PageSize: 100}), key},
			{"A bank messages", dpListMessages(""), key},
			{"A bank accounts", dpListAccounts(""), key},
			{"B deposits", dpList(b.id), admin},
			{"B bank accounts", dpListAccounts(b.id), admin},
			{"B bank messages", dpListMessages(b.id), admin},
		}

		txs := func(in ...*paymuxv1.TransactionInput) rpc {
			return dpRecord(&paymuxv1.RecordDepositsRequest{Transactions: in})
		}
		tx := func(f func(*paymuxv1.TransactionInput)) *paymuxv1.TransactionInput {
			in := dpTx(ts, acct.GetId(), 10000, "김철수") // would pay the open order
			f(in)
			return in
		}
		ok := func(*paymuxv1.TransactionInput) {}
		account := func(f func(*paymuxv1.CreateBankAccountRequest)) rpc {
			in := dpAccountIn("352-9999-0000-11")
			f(in)
			return dpCreateAccount(in)
		}
		statement := "거래일시,적요,기재내용,찾으신금액,맡기신금액,잔액\n" +
			ts.Clock.Now().In(dpKST).Format("2006.01.02 15:04") + ",타행이체,김철수,,\"10,000\",\"110,000\"\n" + // would pay the open order
			"2025.13.45 10:00,타행이체,김철수,,\"1,0000\",\"120,000\"\n" // unreadable

		const invalid = "INVALID_ARGUMENT"
		cases := []struct {
			name   string
			r      rpc
			code   connect.Code
			reason string
			fields []string
		}{
			{"amount 0", txs(tx(func(in *paymuxv1.TransactionInput) { in.Amount = 0 })), connect.CodeInvalidArgument, invalid, []string{"transactions[0].amount"}},
			{"negative amount", txs(tx(func(in *paymuxv1.TransactionInput) { in.Amount = -10000 })), connect.CodeInvalidArgument, invalid, []string{"transactions[0].amount"}},
			{"amount 0 after a good transaction", txs(tx(ok), tx(func(in *paymuxv1.TransactionInput) { in.Amount, in.DepositorName = 0, "이영희" })),
				connect.CodeInvalidArgument, invalid, []string{"transactions[1].amount"}},
			{"depositor name missing", txs(tx(func(in *paymuxv1.TransactionInput) { in.DepositorName = "" })), connect.CodeInvalidArgument, invalid, []string{"transactions[0].depositor_name"}},
			{"depositor name of punctuation only", txs(tx(func(in *paymuxv1.TransactionInput) { in.DepositorName = "-- ." })), connect.CodeInvalidArgument, invalid, []string{"transactions[0].depositor_name"}},
			{"transaction time missing", txs(tx(func(in *paymuxv1.TransactionInput) { in.TransactionTime = nil })), connect.CodeInvalidArgument, invalid, []string{"transactions[0].transaction_time"}},
			{"another store's account", txs(tx(func(in *paymuxv1.TransactionInput) { in.BankAccountId = b.account.GetId() })),
				connect.CodeInvalidArgument, "BANK_ACCOUNT_NOT_FOUND", []string{"transactions[0].bank_account_id"}},
			{"another store's account after a good transaction", txs(tx(ok), tx(func(in *paymuxv1.TransactionInput) { in.BankAccountId = b.account.GetId() })),
				connect.CodeInvalidArgument, "BANK_ACCOUNT_NOT_FOUND", []string{"transactions[1].bank_account_id"}},
			{"no transactions", txs(), connect.CodeInvalidArgument, invalid, []string{"transactions"}},
			{"unknown bank", account(func(in *paymuxv1.CreateBankAccountRequest) { in.Bank = "999" }), connect.CodeInvalidArgument, invalid, []string{"bank"}},
			{"account number with letters", account(func(in *paymuxv1.CreateBankAccountRequest) { in.AccountNumber = "352-12AB-5678-90" }), connect.CodeInvalidArgument, invalid, []string{"account_number"}},
			{"holder missing", account(func(in *paymuxv1.CreateBankAccountRequest) { in.Holder = "" }), connect.CodeInvalidArgument, invalid, []string{"holder"}},
			{"not a bank message", dpMessages(&paymuxv1.RecordBankMessagesRequest{Messages: []*paymuxv1.BankMessageInput{{Text: "농협 입금10,000원\n" + dpNHTime(ts) + " 352-****-5678-90 김철수 잔액110,000원"}, {Text: "see you at the cafe tomorrow"}}}),
				connect.CodeInvalidArgument, invalid, []string{"messages[1].text"}},
			{"statement with an unreadable row", dpStatement(&paymuxv1.ImportStatementRequest{BankAccountId: acct.GetId(), Content: []byte(statement)}),
				connect.CodeInvalidArgument, invalid, []string{"content"}},
			{"match another store's deposit", dpMatch(bDep.GetId(), open.GetId()), connect.CodeNotFound, "DEPOSIT_NOT_FOUND", nil},
			{"match a matched deposit", dpMatch(matched.GetId(), open.GetId()), connect.CodeFailedPrecondition, "DEPOSIT_ALREADY_MATCHED", nil},
			{"match a different amount", dpMatch(stray.GetId(), open.GetId()), connect.CodeFailedPrecondition, "AMOUNT_MISMATCH", nil},
			{"unmatch an unmatched deposit", dpUnmatch(stray.GetId()), connect.CodeFailedPrecondition, "DEPOSIT_NOT_MATCHED", nil},
			{"unmatch another store's deposit", dpUnmatch(bDep.GetId()), connect.CodeNotFound, "DEPOSIT_NOT_FOUND", nil},
		}
		for _, sf := range dpSurfaces() {
			for _, c := range cases {
				t.Run(sf.name+"/"+c.name, func(t *testing.T) {
					before := dpSnapshot(t, ts, views...)
					dpWantRefused(t, sf.call(t, ts, c.r, key), c.code, c.reason, c.fields...)
					dpWantUnchanged(t, before, dpSnapshot(t, ts, views...))
				})
			}
			// A fractional amount cannot be written in protobuf: only JSON
			// carries it.
			for _, amt := range []string{`1.5`, `"1.5"`} {
				t.Run(sf.name+"/fractional amount "+amt, func(t *testing.T) {
					before := dpSnapshot(t, ts, views...)
					body := `{"transactions":[{"bankAccountId":"` + acct.GetId() + `","amount":` + amt + `,"depositorName":"김철수","transactionTime":"` +
						ts.Clock.Now().UTC().Format(time.RFC3339) + `"}]}`
					code, msg, httpStatus := dpRawJSON(t, ts, sf, "/paymux.v1.DepositService/RecordDeposits", "/v1/deposits", body, key)
					if code != connect.CodeInvalidArgument || httpStatus != http.StatusBadRequest || !strings.Contains(msg, "amount") {
						t.Fatalf("amount %s: %s (%q) HTTP %d, want invalid_argument naming amount, HTTP 400", amt, code, msg, httpStatus)
					}
					dpWantUnchanged(t, before, dpSnapshot(t, ts, views...))
				})
			}
		}

		// B's account is as it was, and still takes B's deposits.
		if got := mustOK[*paymuxv1.GetBankAccountResponse](t, callConnect(t, ts, dpGetAccount(b.account.GetId()), admin)).GetBankAccount(); !proto.Equal(got, bAccountBefore) {
			t.Fatalf("store B's account changed:\n%v\n%v", bAccountBefore, got)
		}
		bTx2 := dpTx(ts, b.account.GetId(), 4000, "최지우")
		if r := dpRecordOne(t, ts, cn, b.key, bTx2); r.GetDuplicate() || r.GetDeposit().GetStoreId() != b.id {
			t.Fatalf("store B's deposit after the attempts: %v", r)
		}
		// The open order is still open.
		if p := dpPayment(t, ts, key, open.GetId()); p.GetStatus() != paymuxv1.PaymentStatus_PAYMENT_STATUS_READY {
			t.Fatalf("open order after the refusals: %v", p)
		}
	})
}

// dpKST is Korea's time, which bank messages and statements are written in.
var dpKST = time.FixedZone("KST", 9*60*60)

// dpNHTime is now as an NH SMS writes it ("03/05 09:58").
func dpNHTime(ts *testServer) string { return ts.Clock.Now().In(dpKST).Format("01/02 15:04") }

// dpRawJSON posts a JSON body as it is, over REST (restPath) or Connect's
// JSON (procedure), and returns the error's code, message and HTTP status.
func dpRawJSON(t testing.TB, ts *testServer, sf surface, procedure, restPath, body string, h http.Header) (connect.Code, string, int) {
	t.Helper()
	path := procedure
	if sf.name == "rest" {
		path = restPath
	}
	resp, raw := rawHTTP(t, http.DefaultClient, http.MethodPost, ts.URL+path, bytes.NewReader([]byte(body)), h)
	if resp.StatusCode == http.StatusOK {
		t.Fatalf("POST %s %s: HTTP 200 %s", path, body, raw)
	}
	if sf.name == "rest" {
		r := restError(t, resp.StatusCode, raw)
		return r.code, r.message, resp.StatusCode
	}
	var ce struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	}
	if err := json.Unmarshal(raw, &ce); err != nil {
		t.Fatalf("Connect error body %s: %v", raw, err)
	}
	var code connect.Code
	if err := code.UnmarshalText([]byte(ce.Code)); err != nil {
		t.Fatalf("Connect error code %q: %v", ce.Code, err)
	}
	return code, ce.Message, resp.StatusCode
}

// ---- 3. isolation and modes ---------------------------------------------------------

// TestDepositAPIIsolationAndModes: a TEST key neither sees nor uses the
// store's LIVE bank account (made by the administrator) and sees only TEST
// deposits; another store's key reads and changes nothing of the store's
// deposits, accounts, bank messages or settings.
func TestDepositAPIIsolationAndModes(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *ent.Client) {
		ts := startServer(t, db)
		key := headers("Authorization", ts.firstKeyAuth())
		live := headers("Authorization", liveKeyAuth(t, ts))
		admin := headers("Authorization", ts.adminAuth())
		cn := surfaces[1]

		testAcct := dpNewAccount(t, ts, cn, key, dpAccountIn("352-1234-5678-90"))
		liveIn := dpAccountIn("301-0000-1111-22")
		liveIn.StoreId, liveIn.Mode = ts.First.StoreID, paymuxv1.Mode_MODE_LIVE
		liveAcct := dpNewAccount(t, ts, cn, admin, liveIn)
		if liveAcct.GetMode() != paymuxv1.Mode_MODE_LIVE || liveAcct.GetStoreId() != ts.First.StoreID {
			t.Fatalf("LIVE account %v", liveAcct)
		}
		testDep := dpRecordOne(t, ts, cn, key, dpTx(ts, testAcct.GetId(), 1000, "홍길동")).GetDeposit()
		liveDep := dpRecordOne(t, ts, cn, live, dpTx(ts, liveAcct.GetId(), 2000, "홍길동")).GetDeposit()
		if testDep.GetMode() != paymuxv1.Mode_MODE_TEST || liveDep.GetMode() != paymuxv1.Mode_MODE_LIVE {
			t.Fatalf("deposits %v / %v", testDep, liveDep)
		}
		msg := mustOK[*paymuxv1.RecordBankMessagesResponse](t, callConnect(t, ts, dpMessages(&paymuxv1.RecordBankMessagesRequest{
			Messages: []*paymuxv1.BankMessageInput{{Text: "농협 입금3,000원\n" + dpNHTime(ts) + " 352-****-5678-90 김영수 잔액113,000원"}},
		}), key)).GetMessages()[0]
		if msg.GetStatus() != paymuxv1.BankMessageStatus_BANK_MESSAGE_STATUS_TRANSACTION || msg.GetBankAccountId() != testAcct.GetId() {
			t.Fatalf("bank message %v", msg)
		}
		liveOrder := mustOK[*paymuxv1.CreateInstantPaymentResponse](t, callConnect(t, ts, instantPayment(dpOrderIn(dpMID("live"), 2500, "홍길동", liveAcct.GetId())), live)).GetPayment()
		if liveOrder.GetMode() != paymuxv1.Mode_MODE_LIVE {
			t.Fatalf("LIVE order %v", liveOrder)
		}

		b := dpNewStore(t, ts, "Store B")
		set := mustOK[*paymuxv1.UpdateDepositSettingsResponse](t, callConnect(t, ts, dpUpdateSettings(&paymuxv1.UpdateDepositSettingsRequest{
			SmartMatching: paymuxv1.SmartMatching_SMART_MATCHING_NEWEST,
		}), live)).GetSettings()

		for _, sf := range dpSurfaces() {
			t.Run(sf.name+"/TEST key and the LIVE account", func(t *testing.T) {
				before := dpSnapshot(t, ts, dpView{"LIVE account", dpGetAccount(liveAcct.GetId()), admin}, dpView{"deposits", dpList(ts.First.StoreID), admin})
				accts := mustOK[*paymuxv1.ListBankAccountsResponse](t, sf.call(t, ts, dpListAccounts(""), key))
				if ids := dpAccountIDs(accts.GetBankAccounts()); !slices.Equal(ids, []string{testAcct.GetId()}) {
					t.Fatalf("TEST key lists accounts %v, want only %s", ids, testAcct.GetId())
				}
				wantRefusal(t, sf.call(t, ts, dpGetAccount(liveAcct.GetId()), key), connect.CodeNotFound, "BANK_ACCOUNT_NOT_FOUND")
				wantRefusal(t, sf.call(t, ts, dpDeleteAccount(liveAcct.GetId()), key), connect.CodeNotFound, "BANK_ACCOUNT_NOT_FOUND")
				dpWantRefused(t, sf.call(t, ts, dpRecord(&paymuxv1.RecordDepositsRequest{Transactions: []*paymuxv1.TransactionInput{dpTx(ts, liveAcct.GetId(), 2500, "홍길동")}}), key),
					connect.CodeInvalidArgument, "BANK_ACCOUNT_NOT_FOUND", "transactions[0].bank_account_id")
				dpWantRefused(t, sf.call(t, ts, instantPayment(dpOrderIn(dpMID("test-on-live"), 2500, "홍길동", liveAcct.GetId())), key),
					connect.CodeInvalidArgument, "BANK_ACCOUNT_NOT_FOUND", "bank_transfer.bank_account_id")
				dpWantRefused(t, sf.call(t, ts, dpStatement(&paymuxv1.ImportStatementRequest{BankAccountId: liveAcct.GetId(),
					Content: []byte("거래일시,입금자명,입금액,출금액\n" + ts.Clock.Now().In(dpKST).Format("2006-01-02 15:04:05") + ",홍길동,2500,\n")}), key),
					connect.CodeInvalidArgument, "BANK_ACCOUNT_NOT_FOUND", "bank_account_id")
				dpWantRefused(t, sf.call(t, ts, dpMessages(&paymuxv1.RecordBankMessagesRequest{Messages: []*paymuxv1.BankMessageInput{{
					Text: "농협 입금2,500원\n" + dpNHTime(ts) + " 301-****-1111-22 홍길동 잔액102,500원", BankAccountId: liveAcct.GetId(),
				}}}), key), connect.CodeInvalidArgument, "BANK_ACCOUNT_NOT_FOUND", "messages[0].bank_account_id")
				wantRefusal(t, sf.call(t, ts, dpMatch(liveDep.GetId(), liveOrder.GetId()), key), connect.CodeNotFound, "DEPOSIT_NOT_FOUND")
				in := dpAccountIn("352-7777-8888-99")
				in.Mode = paymuxv1.Mode_MODE_LIVE
				wantRefusal(t, sf.call(t, ts, dpCreateAccount(in), key), connect.CodePermissionDenied, "BANK_ACCOUNT_MODE_MISMATCH")

				// Only TEST deposits.
				deps := mustOK[*paymuxv1.ListDepositsResponse](t, sf.call(t, ts, dpList(""), key)).GetDeposits()
				for _, d := range deps {
					if d.GetMode() != paymuxv1.Mode_MODE_TEST {
						t.Fatalf("TEST key lists a %s deposit: %v", d.GetMode(), d)
					}
				}
				if ids := dpDepositIDs(deps); !slices.Contains(ids, testDep.GetId()) || slices.Contains(ids, liveDep.GetId()) {
					t.Fatalf("TEST key lists %v; want %s and not %s", ids, testDep.GetId(), liveDep.GetId())
				}
				wantRefusal(t, sf.call(t, ts, dpGet(liveDep.GetId()), key), connect.CodeNotFound, "DEPOSIT_NOT_FOUND")
				dpWantUnchanged(t, before, dpSnapshot(t, ts, dpView{"LIVE account", dpGetAccount(liveAcct.GetId()), admin}, dpView{"deposits", dpList(ts.First.StoreID), admin}))
			})

			t.Run(sf.name+"/another store's key", func(t *testing.T) {
				views := []dpView{
					{"A deposits", dpList(ts.First.StoreID), admin},
					{"A accounts", dpListAccounts(ts.First.StoreID), admin},
					{"A messages", dpListMessages(ts.First.StoreID), admin},
					{"A settings", dpGetSettings(ts.First.StoreID), admin},
				}
				before := dpSnapshot(t, ts, views...)
				wantRefusal(t, sf.call(t, ts, dpGet(testDep.GetId()), b.key), connect.CodeNotFound, "DEPOSIT_NOT_FOUND")
				wantRefusal(t, sf.call(t, ts, dpGetAccount(testAcct.GetId()), b.key), connect.CodeNotFound, "BANK_ACCOUNT_NOT_FOUND")
				wantRefusal(t, sf.call(t, ts, dpDeleteAccount(testAcct.GetId()), b.key), connect.CodeNotFound, "BANK_ACCOUNT_NOT_FOUND")
				wantRefusal(t, sf.call(t, ts, dpUnmatch(testDep.GetId()), b.key), connect.CodeNotFound, "DEPOSIT_NOT_FOUND")
				for name, r := range map[string]rpc{
					"list deposits": dpList(ts.First.StoreID), "list accounts": dpListAccounts(ts.First.StoreID),
					"list messages": dpListMessages(ts.First.StoreID), "get settings": dpGetSettings(ts.First.StoreID),
					"update settings": dpUpdateSettings(&paymuxv1.UpdateDepositSettingsRequest{StoreId: ts.First.StoreID, SmartMatching: paymuxv1.SmartMatching_SMART_MATCHING_OFF}),
					"record":          dpRecord(&paymuxv1.RecordDepositsRequest{StoreId: ts.First.StoreID, Transactions: []*paymuxv1.TransactionInput{dpTx(ts, testAcct.GetId(), 1000, "홍길동")}}),
				} {
					if res := sf.call(t, ts, r, b.key); res.code != connect.CodePermissionDenied || res.reason != "STORE_MISMATCH" {
						t.Fatalf("%s of store A with store B's key: %v, want PermissionDenied/STORE_MISMATCH", name, res)
					}
				}
				dpWantRefused(t, sf.call(t, ts, dpRecord(&paymuxv1.RecordDepositsRequest{Transactions: []*paymuxv1.TransactionInput{dpTx(ts, testAcct.GetId(), 1000, "홍길동")}}), b.key),
					connect.CodeInvalidArgument, "BANK_ACCOUNT_NOT_FOUND", "transactions[0].bank_account_id")

				// B's own lists hold nothing of A's.
				if ds := mustOK[*paymuxv1.ListDepositsResponse](t, sf.call(t, ts, dpList(""), b.key)).GetDeposits(); len(ds) != 0 {
					t.Fatalf("store B lists deposits %v", dpDepositIDs(ds))
				}
				if as := mustOK[*paymuxv1.ListBankAccountsResponse](t, sf.call(t, ts, dpListAccounts(""), b.key)).GetBankAccounts(); !slices.Equal(dpAccountIDs(as), []string{b.account.GetId()}) {
					t.Fatalf("store B lists accounts %v", dpAccountIDs(as))
				}
				if ms := mustOK[*paymuxv1.ListBankMessagesResponse](t, sf.call(t, ts, dpListMessages(""), b.key)).GetMessages(); len(ms) != 0 {
					t.Fatalf("store B lists bank messages %v", ms)
				}
				bSet := mustOK[*paymuxv1.GetDepositSettingsResponse](t, sf.call(t, ts, dpGetSettings(""), b.key)).GetSettings()
				if bSet.GetStoreId() != b.id || bSet.GetSmartMatching() != paymuxv1.SmartMatching_SMART_MATCHING_OFF {
					t.Fatalf("store B's settings %v (A's: %v)", bSet, set)
				}
				dpWantUnchanged(t, before, dpSnapshot(t, ts, views...))
			})
		}
	})
}

// ---- 4. settings --------------------------------------------------------------

// TestDepositAPISettings: the defaults, each setting changed alone, and what
// they do: reportBankTransactions sends bank.transaction for a withdrawal,
// smart matching OLDEST gives a deposit to the older of two orders, and
// matchLateOrders lets a new order take a deposit that came first.
func TestDepositAPISettings(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *ent.Client) {
		ts := startServer(t, db, allowLocalWebhooks)
		for _, sf := range dpSurfaces() {
			t.Run(sf.name, func(t *testing.T) {
				st := dpNewStore(t, ts, "Settings "+sf.name)
				key, acct := st.key, st.account
				rcv, secret := dpEndpoint(t, ts, key)

				got := mustOK[*paymuxv1.GetDepositSettingsResponse](t, sf.call(t, ts, dpGetSettings(""), key)).GetSettings()
				if got.GetStoreId() != st.id || got.GetSmartMatching() != paymuxv1.SmartMatching_SMART_MATCHING_OFF || got.GetMatchLateOrders() || got.GetReportBankTransactions() {
					t.Fatalf("default settings %v", got)
				}

				// The settings rule LIVE deposits too: a TEST key reads them only.
				wantError(t, sf.call(t, ts, dpUpdateSettings(&paymuxv1.UpdateDepositSettingsRequest{
					SmartMatching: paymuxv1.SmartMatching_SMART_MATCHING_OLDEST}), key), connect.CodePermissionDenied, "SETTINGS_NEED_LIVE_KEY")
				update := func(req *paymuxv1.UpdateDepositSettingsRequest, want *paymuxv1.DepositSettings) {
					t.Helper()
					set := mustOK[*paymuxv1.UpdateDepositSettingsResponse](t, sf.call(t, ts, dpUpdateSettings(req), st.live)).GetSettings()
					if set.GetUpdateTime() == nil {
						t.Fatalf("settings without update_time: %v", set)
					}
					want.StoreId, want.UpdateTime = st.id, set.GetUpdateTime()
					if !proto.Equal(set, want) {
						t.Fatalf("after %v: %v, want %v", req, set, want)
					}
					if read := mustOK[*paymuxv1.GetDepositSettingsResponse](t, sf.call(t, ts, dpGetSettings(""), key)).GetSettings(); !proto.Equal(read, set) {
						t.Fatalf("read back %v, want %v", read, set)
					}
				}
				yes := true
				update(&paymuxv1.UpdateDepositSettingsRequest{SmartMatching: paymuxv1.SmartMatching_SMART_MATCHING_OLDEST},
					&paymuxv1.DepositSettings{SmartMatching: paymuxv1.SmartMatching_SMART_MATCHING_OLDEST})
				update(&paymuxv1.UpdateDepositSettingsRequest{MatchLateOrders: &yes},
					&paymuxv1.DepositSettings{SmartMatching: paymuxv1.SmartMatching_SMART_MATCHING_OLDEST, MatchLateOrders: true})
				update(&paymuxv1.UpdateDepositSettingsRequest{ReportBankTransactions: &yes},
					&paymuxv1.DepositSettings{SmartMatching: paymuxv1.SmartMatching_SMART_MATCHING_OLDEST, MatchLateOrders: true, ReportBankTransactions: true})
				update(&paymuxv1.UpdateDepositSettingsRequest{},
					&paymuxv1.DepositSettings{SmartMatching: paymuxv1.SmartMatching_SMART_MATCHING_OLDEST, MatchLateOrders: true, ReportBankTransactions: true})

				// A withdrawal: recorded, and reported.
				w := dpTx(ts, acct.GetId(), 4500, "가나상점")
				w.Type = paymuxv1.DepositType_DEPOSIT_TYPE_WITHDRAWAL
				wd := dpRecordOne(t, ts, sf, key, w).GetDeposit()
				if wd.GetType() != paymuxv1.DepositType_DEPOSIT_TYPE_WITHDRAWAL || wd.GetStatus() != paymuxv1.DepositStatus_DEPOSIT_STATUS_RECORDED || wd.GetPaymentId() != "" {
					t.Fatalf("withdrawal %v", wd)
				}
				bt := dpWaitHook(t, rcv, secret, "bank.transaction", wd.GetId())
				if bt.Data["type"] != "DEPOSIT_TYPE_WITHDRAWAL" || bt.Data["status"] != "DEPOSIT_STATUS_RECORDED" || bt.Data["depositorName"] != "가나상점" {
					t.Fatalf("bank.transaction data %v", bt.Data)
				}

				// Smart matching OLDEST: the older of two orders takes the deposit.
				older := dpNewOrder(t, ts, sf, key, dpOrderIn(dpMID("older"), 25000, "김철수", acct.GetId()))
				newer := dpNewOrder(t, ts, sf, key, dpOrderIn(dpMID("newer"), 25000, "김 철수", ""))
				dep := dpRecordOne(t, ts, sf, key, dpTx(ts, acct.GetId(), 25000, "김철수")).GetDeposit()
				if dep.GetStatus() != paymuxv1.DepositStatus_DEPOSIT_STATUS_MATCHED || dep.GetPaymentId() != older.GetId() ||
					dep.GetMatchType() != paymuxv1.MatchType_MATCH_TYPE_SMART || dep.GetCandidates() != 2 {
					t.Fatalf("smart match: %v; want the older order %s", dep, older.GetId())
				}
				if p := dpPayment(t, ts, key, older.GetId()); p.GetStatus() != paymuxv1.PaymentStatus_PAYMENT_STATUS_PAID {
					t.Fatalf("older order %v", p)
				}
				if p := dpPayment(t, ts, key, newer.GetId()); p.GetStatus() != paymuxv1.PaymentStatus_PAYMENT_STATUS_READY {
					t.Fatalf("newer order %v", p)
				}
				dpWaitHook(t, rcv, secret, "bank.transaction", dep.GetId())
				dpWaitHook(t, rcv, secret, "deposit.matched", dep.GetId())

				// Late orders: the deposit first, then its order takes it.
				early := dpRecordOne(t, ts, sf, key, dpTx(ts, acct.GetId(), 8800, "이순신")).GetDeposit()
				if early.GetStatus() != paymuxv1.DepositStatus_DEPOSIT_STATUS_UNMATCHED || early.GetUnmatchedReason() != "NO_CANDIDATE" {
					t.Fatalf("early deposit %v", early)
				}
				late := mustOK[*paymuxv1.CreateInstantPaymentResponse](t, sf.call(t, ts, instantPayment(dpOrderIn(dpMID("late"), 8800, "이순신", acct.GetId())), key)).GetPayment()
				lateDep := dpDeposit(t, ts, key, early.GetId())
				if p := dpPayment(t, ts, key, late.GetId()); p.GetStatus() != paymuxv1.PaymentStatus_PAYMENT_STATUS_PAID || p.GetBankTransfer().GetDepositId() != early.GetId() ||
					lateDep.GetStatus() != paymuxv1.DepositStatus_DEPOSIT_STATUS_MATCHED || lateDep.GetMatchType() != paymuxv1.MatchType_MATCH_TYPE_LATE {
					t.Fatalf("late order %v, deposit %v", p, lateDep)
				}
			})
		}
	})
}

// ---- 5. Idempotency-Key ----------------------------------------------------------

// TestDepositAPIIdempotencyKey: RecordDeposits with an Idempotency-Key
// answers a retry with the first answer (the same deposit, not a
// duplicate); the same transaction sent again without the key is found as a
// duplicate; the key with another body is refused.
func TestDepositAPIIdempotencyKey(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *ent.Client) {
		ts := startServer(t, db)
		key := headers("Authorization", ts.firstKeyAuth())
		acct := dpNewAccount(t, ts, surfaces[1], key, dpAccountIn("352-1234-5678-90"))
		for i, sf := range dpSurfaces() {
			t.Run(sf.name, func(t *testing.T) {
				// Amounts of their own: a bank reports times to the minute,
				// and the surfaces' transactions share one.
				total := int64(15000 + i)
				order := dpNewOrder(t, ts, sf, key, dpOrderIn(dpMID("idem"), total, "홍길동", acct.GetId()))
				txs := []*paymuxv1.TransactionInput{dpTx(ts, acct.GetId(), total, "홍길동"), dpTx(ts, acct.GetId(), int64(700+i), "무명씨")}
				txs[0].SourceId, txs[1].SourceId = "feed-"+sf.name+"-1", "feed-"+sf.name+"-2"
				req := &paymuxv1.RecordDepositsRequest{Transactions: txs}
				withKey := headers("Authorization", ts.firstKeyAuth(), "Idempotency-Key", "deposits-"+sf.name)

				first := mustOK[*paymuxv1.RecordDepositsResponse](t, sf.call(t, ts, dpRecord(req), withKey))
				if len(first.GetResults()) != 2 || first.GetResults()[0].GetDuplicate() || first.GetResults()[1].GetDuplicate() ||
					first.GetResults()[0].GetDeposit().GetPaymentId() != order.GetId() ||
					first.GetResults()[1].GetDeposit().GetStatus() != paymuxv1.DepositStatus_DEPOSIT_STATUS_UNMATCHED {
					t.Fatalf("first answer %v", first)
				}
				replay := mustOK[*paymuxv1.RecordDepositsResponse](t, sf.call(t, ts, dpRecord(req), withKey))
				if !proto.Equal(replay, first) {
					t.Fatalf("replay %v, want the first answer %v", replay, first)
				}

				again := mustOK[*paymuxv1.RecordDepositsResponse](t, sf.call(t, ts, dpRecord(req), key))
				if len(again.GetResults()) != 2 {
					t.Fatalf("resend %v", again)
				}
				for i, r := range again.GetResults() {
					if !r.GetDuplicate() || r.GetDeposit().GetId() != first.GetResults()[i].GetDeposit().GetId() {
						t.Fatalf("resend without the key, result %d: %v; want duplicate of %s", i, r, first.GetResults()[i].GetDeposit().GetId())
					}
				}

				other := proto.CloneOf(req)
				other.Transactions = other.Transactions[:1]
				wantRefusal(t, sf.call(t, ts, dpRecord(other), withKey), connect.CodeInvalidArgument, "IDEMPOTENCY_KEY_REUSED")

				n, err := ts.DB.Deposit.Query().Count(tenant.System(context.Background()))
				if err != nil {
					t.Fatal(err)
				}
				deps := mustOK[*paymuxv1.ListDepositsResponse](t, sf.call(t, ts, dpList(""), key)).GetDeposits()
				if len(deps) != n {
					t.Fatalf("list %d deposits, %d rows", len(deps), n)
				}
				for _, r := range first.GetResults() {
					c := 0
					for _, d := range deps {
						if d.GetId() == r.GetDeposit().GetId() || (d.GetSourceId() == r.GetDeposit().GetSourceId()) {
							c++
						}
					}
					if c != 1 {
						t.Fatalf("deposit %s recorded %d times", r.GetDeposit().GetId(), c)
					}
				}
				if p := dpPayment(t, ts, key, order.GetId()); p.GetStatus() != paymuxv1.PaymentStatus_PAYMENT_STATUS_PAID || p.GetBankTransfer().GetDepositId() != first.GetResults()[0].GetDeposit().GetId() {
					t.Fatalf("order after the retries %v", p)
				}
			})
		}
	})
}

// TestDepositAPIDistinctSourceIDsSameMinute: a feed reports two deposits
// with its own ids, of one name and amount in the same minute and without a
// balance (two buyers called 김민준 paying 20,000 each): they are two
// deposits, as their source ids say, not one deposit and a duplicate. Sent
// again with the same ids, each is found as itself.
func TestDepositAPIDistinctSourceIDsSameMinute(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *ent.Client) {
		ts := startServer(t, db)
		key := headers("Authorization", ts.firstKeyAuth())
		acct := dpNewAccount(t, ts, surfaces[1], key, dpAccountIn("352-1234-5678-90"))
		for i, sf := range dpSurfaces() {
			for _, withBalance := range []bool{true, false} {
				t.Run(fmt.Sprintf("%s/balance %v", sf.name, withBalance), func(t *testing.T) {
					at := timestamppb.New(ts.Clock.Now().Truncate(time.Minute))
					total := int64(20000 + 10*i)
					if withBalance {
						total++
					}
					var txs []*paymuxv1.TransactionInput
					for n := range 2 {
						tx := &paymuxv1.TransactionInput{BankAccountId: acct.GetId(), Amount: total, DepositorName: "김민준", TransactionTime: at,
							SourceId: fmt.Sprintf("feed-%s-%v-%d", sf.name, withBalance, n)}
						if withBalance {
							tx.Balance = i64(int64(1_000_000 + (n+1)*int(total)))
						}
						txs = append(txs, tx)
					}
					req := &paymuxv1.RecordDepositsRequest{Transactions: txs}
					first := mustOK[*paymuxv1.RecordDepositsResponse](t, sf.call(t, ts, dpRecord(req), key)).GetResults()
					if len(first) != 2 || first[0].GetDuplicate() || first[1].GetDuplicate() ||
						first[0].GetDeposit().GetId() == first[1].GetDeposit().GetId() || first[1].GetDeposit().GetSourceId() != txs[1].GetSourceId() {
						t.Fatalf("two transactions with their own source ids (%s, %s) recorded as %v; want two deposits, neither a duplicate",
							txs[0].GetSourceId(), txs[1].GetSourceId(), first)
					}
					again := mustOK[*paymuxv1.RecordDepositsResponse](t, sf.call(t, ts, dpRecord(req), key)).GetResults()
					for n, r := range again {
						if !r.GetDuplicate() || r.GetDeposit().GetId() != first[n].GetDeposit().GetId() {
							t.Fatalf("resent transaction %d: %v; want a duplicate of %s", n, r, first[n].GetDeposit().GetId())
						}
					}
				})
			}
		}
	})
}

// ---- 6. logging safety ----------------------------------------------------------

// TestDepositAPILogsMaskNumbers: after a bank SMS with the account number
// in full pays an order that asked for a cash receipt, no logged API, PG or
// webhook call shows the account number or the receipt's identity number in
// full, and GET /v1/bank-messages shows the text masked.
func TestDepositAPILogsMaskNumbers(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *ent.Client) {
		ts := startServer(t, db, allowLocalWebhooks)
		key := headers("Authorization", ts.firstKeyAuth())
		rest := surfaces[4]
		rcv, secret := dpEndpoint(t, ts, key)
		const number, identity = "352-1234-5678-90", "01012345678"

		acct := dpNewAccount(t, ts, rest, key, dpAccountIn(number))
		in := dpOrderIn(dpMID("logged"), 19000, "홍길동", "")
		in.GetBankTransfer().CashReceipt = &paymuxv1.CashReceiptInput{Type: paymuxv1.CashReceiptType_CASH_RECEIPT_TYPE_INCOME_DEDUCTION, IdentityNumber: identity}
		order := dpNewOrder(t, ts, rest, key, in)
		if bt := order.GetBankTransfer(); bt.GetAccountNumber() != dpDigits(number) || bt.GetCashReceiptIdentity() != "010****5678" ||
			bt.GetCashReceiptType() != paymuxv1.CashReceiptType_CASH_RECEIPT_TYPE_INCOME_DEDUCTION {
			t.Fatalf("order %v", order)
		}

		when := dpNHTime(ts)
		text := "농협 입금19,000원\n" + when + " " + number + " 홍길동 잔액1,019,000원"
		masked := "농협 입금19,000원\n" + when + " ***-****-**78-90 홍길동 잔액1,019,000원"
		msgs := mustOK[*paymuxv1.RecordBankMessagesResponse](t, rest.call(t, ts, dpMessages(&paymuxv1.RecordBankMessagesRequest{
			Messages: []*paymuxv1.BankMessageInput{{Text: text, SourceId: "sms-1"}},
		}), key)).GetMessages()
		if len(msgs) != 1 || msgs[0].GetStatus() != paymuxv1.BankMessageStatus_BANK_MESSAGE_STATUS_TRANSACTION || msgs[0].GetShape() != "nh" ||
			msgs[0].GetBankAccountId() != acct.GetId() || msgs[0].GetDeposit().GetPaymentId() != order.GetId() ||
			msgs[0].GetDeposit().GetSource() != paymuxv1.DepositSource_DEPOSIT_SOURCE_MESSAGE || msgs[0].GetText() != masked {
			t.Fatalf("bank message %v; want it matched and its text %q", msgs, masked)
		}
		listed := mustOK[*paymuxv1.ListBankMessagesResponse](t, rest.call(t, ts, dpListMessages(""), key)).GetMessages()
		if len(listed) != 1 || listed[0].GetId() != msgs[0].GetId() || listed[0].GetText() != masked {
			t.Fatalf("GET /v1/bank-messages: %v; want the text %q", listed, masked)
		}
		paid := mustOK[*paymuxv1.GetPaymentResponse](t, rest.call(t, ts, getPayment(order.GetId()), key)).GetPayment()
		if paid.GetStatus() != paymuxv1.PaymentStatus_PAYMENT_STATUS_PAID {
			t.Fatalf("order %v", paid)
		}
		dpWaitHook(t, rcv, secret, waPaid, order.GetId())

		// Every logged call, with its bodies.
		wantAPI := []string{"CreateBankAccount", "CreateInstantPayment", "RecordBankMessages", "ListBankMessages", "GetPayment"}
		lgWait(t, ts, key, &paymuxv1.ListLogsRequest{PageSize: 100}, "the API calls", func(es []*paymuxv1.LogEntry) bool {
			for _, m := range wantAPI {
				if !slices.ContainsFunc(es, func(e *paymuxv1.LogEntry) bool { return strings.HasSuffix(e.GetMethod(), "/"+m) }) {
					return false
				}
			}
			return true
		})
		lgWait(t, ts, key, &paymuxv1.ListLogsRequest{Kind: paymuxv1.LogKind_LOG_KIND_WEBHOOK, PageSize: 100}, "the webhook attempts", lgAtLeast(1))
		forbidden := []string{dpDigits(number), number, "1234-5678", identity, "010-1234-5678"}
		seen := 0
		for _, kind := range []paymuxv1.LogKind{paymuxv1.LogKind_LOG_KIND_API, paymuxv1.LogKind_LOG_KIND_PG, paymuxv1.LogKind_LOG_KIND_WEBHOOK} {
			for _, e := range lgAll(t, ts, key, &paymuxv1.ListLogsRequest{Kind: kind}) {
				res, err := lgClient(ts).GetLog(context.Background(), lgReq(&paymuxv1.GetLogRequest{Id: e.GetId()}, key))
				if err != nil {
					t.Fatalf("GetLog %s: %v", e.GetId(), err)
				}
				d := res.Msg.GetLog()
				seen++
				parts := map[string]string{"request body": d.GetRequestBody(), "response body": d.GetResponseBody(), "path": d.GetPath(), "message": d.GetMessage()}
				for k, v := range d.GetRequestHeaders() {
					parts["request header "+k] = v
				}
				for what, v := range parts {
					for _, f := range forbidden {
						if strings.Contains(v, f) {
							t.Errorf("%s log %s (%s): the %s shows %q: %s", kind, d.GetId(), d.GetMethod(), what, f, v)
						}
					}
				}
			}
		}
		if seen < len(wantAPI)+1 {
			t.Fatalf("read %d logged calls", seen)
		}

		// Nor does the bank message's row.
		row, err := db.BankMessage.Get(tenant.System(context.Background()), msgs[0].GetId())
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range forbidden {
			if cols := waColumnsHolding(row, f); len(cols) > 0 {
				t.Errorf("the bank message row holds %q in %v", f, cols)
			}
		}
	})
}

// ---- 7, 8. cancel and confirm of bank transfer orders --------------------------------

// TestBankTransferCancel: cancelling a READY order closes it (CANCELLED, no
// cancellation) and takes it out of matching; cancelling part of a PAID one
// records a SUCCEEDED cancellation at once, with no PG involved.
func TestBankTransferCancel(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *ent.Client) {
		ts := startServer(t, db)
		key := headers("Authorization", ts.firstKeyAuth())
		acct := dpNewAccount(t, ts, surfaces[1], key, dpAccountIn("352-1234-5678-90"))
		for i, sf := range dpSurfaces() {
			t.Run(sf.name, func(t *testing.T) {
				pgBefore := len(ts.Sandbox.Payments(sandboxPG(ts)))
				openTotal, paidTotal := int64(12000+i), int64(10000+i)

				// READY: closed.
				open := dpNewOrder(t, ts, sf, key, dpOrderIn(dpMID("cancel-open"), openTotal, "정몽주", acct.GetId()))
				res := mustOK[*paymuxv1.CancelPaymentResponse](t, sf.call(t, ts, cancelPayment(&paymuxv1.CancelPaymentRequest{Id: open.GetId(), Reason: "buyer changed their mind"}), key))
				if p := res.GetPayment(); p.GetStatus() != paymuxv1.PaymentStatus_PAYMENT_STATUS_CANCELLED || p.GetCancelTime() == nil ||
					len(p.GetCancellations()) != 0 || res.GetCancellation() != nil || !slices.Equal(dpHistory(p), []string{"UNSPECIFIED>READY", "READY>CANCELLED"}) {
					t.Fatalf("cancelled open order %v (history %q)", res, dpHistory(p))
				}
				late := dpRecordOne(t, ts, sf, key, dpTx(ts, acct.GetId(), openTotal, "정몽주")).GetDeposit()
				if late.GetStatus() != paymuxv1.DepositStatus_DEPOSIT_STATUS_UNMATCHED || late.GetUnmatchedReason() != "NO_CANDIDATE" || late.GetPaymentId() != "" {
					t.Fatalf("deposit for a cancelled order: %v", late)
				}
				if p := dpPayment(t, ts, key, open.GetId()); p.GetStatus() != paymuxv1.PaymentStatus_PAYMENT_STATUS_CANCELLED {
					t.Fatalf("cancelled order after the deposit: %v", p)
				}

				// PAID: part of it.
				order := dpNewOrder(t, ts, sf, key, dpOrderIn(dpMID("cancel-paid"), paidTotal, "정도전", acct.GetId()))
				dep := dpRecordOne(t, ts, sf, key, dpTx(ts, acct.GetId(), paidTotal, "정도전")).GetDeposit()
				if dep.GetPaymentId() != order.GetId() {
					t.Fatalf("deposit %v", dep)
				}
				res = mustOK[*paymuxv1.CancelPaymentResponse](t, sf.call(t, ts, cancelPayment(&paymuxv1.CancelPaymentRequest{Id: order.GetId(), Amount: i64(3000), Reason: "one item returned"}), key))
				c, p := res.GetCancellation(), res.GetPayment()
				if c.GetStatus() != paymuxv1.CancellationStatus_CANCELLATION_STATUS_SUCCEEDED || c.GetAmount() != 3000 || c.GetPgCancellationId() != "" ||
					c.GetCancelTime() == nil || c.GetReason() != "one item returned" {
					t.Fatalf("cancellation %v", c)
				}
				if p.GetStatus() != paymuxv1.PaymentStatus_PAYMENT_STATUS_PARTIAL_CANCELLED || p.GetAmounts().GetCancelled() != 3000 ||
					p.GetAmounts().GetCancellable() != paidTotal-3000 || len(p.GetCancellations()) != 1 || p.GetCancellations()[0].GetId() != c.GetId() {
					t.Fatalf("partly cancelled order %v", p)
				}
				if h := dpHistory(p); !slices.Equal(h, []string{"UNSPECIFIED>READY", "READY>PAID", "PAID>PARTIAL_CANCELLED"}) {
					t.Errorf("status history %q, want [UNSPECIFIED>READY READY>PAID PAID>PARTIAL_CANCELLED]: only the payment's own status changes", h)
				}
				if got := dpDeposit(t, ts, key, dep.GetId()); got.GetStatus() != paymuxv1.DepositStatus_DEPOSIT_STATUS_MATCHED || got.GetPaymentId() != order.GetId() {
					t.Fatalf("deposit of the cancelled order %v", got)
				}
				if n := len(ts.Sandbox.Payments(sandboxPG(ts))); n != pgBefore || len(pgOrders(ts, order.GetId())) != 0 || len(pgOrders(ts, open.GetId())) != 0 {
					t.Fatalf("the PG was involved: %d payments, then %d", pgBefore, n)
				}
			})
		}
	})
}

// TestBankTransferConfirmRefused: a bank transfer order has no window to
// confirm: ConfirmPayment is refused with PAID_BY_DEPOSIT and the order is
// as it was.
func TestBankTransferConfirmRefused(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *ent.Client) {
		ts := startServer(t, db)
		key := headers("Authorization", ts.firstKeyAuth())
		acct := dpNewAccount(t, ts, surfaces[1], key, dpAccountIn("352-1234-5678-90"))
		for _, sf := range dpSurfaces() {
			t.Run(sf.name, func(t *testing.T) {
				order := dpNewOrder(t, ts, sf, key, dpOrderIn(dpMID("confirm"), 9000, "홍길동", acct.GetId()))
				before := dpPayment(t, ts, key, order.GetId())
				wantRefusal(t, sf.call(t, ts, confirmPayment(&paymuxv1.ConfirmPaymentRequest{Id: order.GetId(), Amount: 9000}), key),
					connect.CodeFailedPrecondition, "PAID_BY_DEPOSIT")
				wantRefusal(t, sf.call(t, ts, confirmPayment(&paymuxv1.ConfirmPaymentRequest{Id: order.GetId(), Amount: 9000,
					WindowResult: map[string]string{"result": "ok"}}), key), connect.CodeFailedPrecondition, "PAID_BY_DEPOSIT")
				if after := dpPayment(t, ts, key, order.GetId()); !proto.Equal(after, before) {
					t.Fatalf("a refused confirm changed the order:\n%v\n%v", before, after)
				}
			})
		}
	})
}
