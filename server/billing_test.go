package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/paymux/paymux/ent"
	"github.com/paymux/paymux/ent/billingkey"
	"github.com/paymux/paymux/ent/channel"
	"github.com/paymux/paymux/ent/event"
	"github.com/paymux/paymux/ent/schedule"
	"github.com/paymux/paymux/ent/schema/details"
	paymuxv1 "github.com/paymux/paymux/gen/paymux/v1"
	"github.com/paymux/paymux/providers/sandbox"
	"github.com/paymux/paymux/tenant"
)

// Tests of the BillingService (billing.proto): billing keys, charges now,
// schedules and their executor, retry policies, and tenant and mode
// isolation, on every surface and database. Helpers are prefixed "bl".

// blWait bounds every wait for the executor or a webhook.
const blWait = 10 * time.Second

// blMasked is CardSuccess as paymux may show it: BIN and last 4.
const blMasked = "941000******0005"

const (
	blScheduleSucceeded = "billing.schedule.succeeded"
	blScheduleFailed    = "billing.schedule.failed"
)

// blFast makes the schedule executor look for due schedules every 20ms.
func blFast(c *configT) { c.Billing.PollInterval = 20 * time.Millisecond }

func blSys() context.Context { return tenant.System(context.Background()) }

// ---- calls -----------------------------------------------------------------

func blTimeParam(t *timestamppb.Timestamp) string {
	if t == nil {
		return ""
	}
	return t.AsTime().Format(time.RFC3339Nano)
}

func blIssue(req *paymuxv1.IssueBillingKeyRequest) rpc {
	return newRPC[paymuxv1.IssueBillingKeyRequest, paymuxv1.IssueBillingKeyResponse]("/paymux.v1.BillingService/IssueBillingKey", http.MethodPost, "/v1/billing-keys", req)
}

func blGet(id string) rpc {
	return newRPC[paymuxv1.GetBillingKeyRequest, paymuxv1.GetBillingKeyResponse]("/paymux.v1.BillingService/GetBillingKey", http.MethodGet,
		"/v1/billing-keys/"+url.PathEscape(id), &paymuxv1.GetBillingKeyRequest{Id: id})
}

func blList(req *paymuxv1.ListBillingKeysRequest) rpc {
	v := url.Values{}
	for _, s := range req.GetStatuses() {
		v.Add("statuses", s.String())
	}
	for k, val := range map[string]string{"storeId": req.GetStoreId(), "channelId": req.GetChannelId(), "query": req.GetQuery(),
		"pageToken": req.GetPageToken(), "pageSize": itoa(req.GetPageSize()),
		"startTime": blTimeParam(req.GetStartTime()), "endTime": blTimeParam(req.GetEndTime())} {
		if val != "" {
			v.Set(k, val)
		}
	}
	path := "/v1/billing-keys"
	if len(v) > 0 {
		path += "?" + v.Encode()
	}
	return newRPC[paymuxv1.ListBillingKeysRequest, paymuxv1.ListBillingKeysResponse]("/paymux.v1.BillingService/ListBillingKeys", http.MethodGet, path, req)
}

func blDelete(id string, revoke bool, reason string) rpc {
	rs := ""
	if revoke {
		rs = "true"
	}
	return newRPC[paymuxv1.DeleteBillingKeyRequest, paymuxv1.DeleteBillingKeyResponse]("/paymux.v1.BillingService/DeleteBillingKey", http.MethodDelete,
		"/v1/billing-keys/"+url.PathEscape(id)+query("revokeSchedules", rs, "reason", reason),
		&paymuxv1.DeleteBillingKeyRequest{Id: id, RevokeSchedules: revoke, Reason: reason})
}

func blCharge(req *paymuxv1.ChargeBillingKeyRequest) rpc {
	return newRPC[paymuxv1.ChargeBillingKeyRequest, paymuxv1.ChargeBillingKeyResponse]("/paymux.v1.BillingService/ChargeBillingKey", http.MethodPost,
		"/v1/billing-keys/"+url.PathEscape(req.GetId())+"/charge", req)
}

func blCreateSchedules(keyID string, in ...*paymuxv1.ScheduleInput) rpc {
	return newRPC[paymuxv1.CreateSchedulesRequest, paymuxv1.CreateSchedulesResponse]("/paymux.v1.BillingService/CreateSchedules", http.MethodPost,
		"/v1/billing-keys/"+url.PathEscape(keyID)+"/schedules", &paymuxv1.CreateSchedulesRequest{BillingKeyId: keyID, Schedules: in})
}

func blGetSchedule(id string) rpc {
	return newRPC[paymuxv1.GetScheduleRequest, paymuxv1.GetScheduleResponse]("/paymux.v1.BillingService/GetSchedule", http.MethodGet,
		"/v1/schedules/"+url.PathEscape(id), &paymuxv1.GetScheduleRequest{Id: id})
}

func blListSchedules(req *paymuxv1.ListSchedulesRequest) rpc {
	v := url.Values{}
	for _, s := range req.GetStatuses() {
		v.Add("statuses", s.String())
	}
	for k, val := range map[string]string{"storeId": req.GetStoreId(), "billingKeyId": req.GetBillingKeyId(),
		"pageToken": req.GetPageToken(), "pageSize": itoa(req.GetPageSize()),
		"startTime": blTimeParam(req.GetStartTime()), "endTime": blTimeParam(req.GetEndTime())} {
		if val != "" {
			v.Set(k, val)
		}
	}
	path := "/v1/schedules"
	if len(v) > 0 {
		path += "?" + v.Encode()
	}
	return newRPC[paymuxv1.ListSchedulesRequest, paymuxv1.ListSchedulesResponse]("/paymux.v1.BillingService/ListSchedules", http.MethodGet, path, req)
}

func blRevokeIDs(reason string, ids ...string) rpc {
	return blRevoke(&paymuxv1.RevokeSchedulesRequest{Reason: reason,
		Target: &paymuxv1.RevokeSchedulesRequest_ScheduleIds{ScheduleIds: &paymuxv1.ScheduleIDs{Ids: ids}}})
}

func blRevokeKey(keyID string) rpc {
	return blRevoke(&paymuxv1.RevokeSchedulesRequest{Target: &paymuxv1.RevokeSchedulesRequest_BillingKeyId{BillingKeyId: keyID}})
}

func blRevoke(req *paymuxv1.RevokeSchedulesRequest) rpc {
	return newRPC[paymuxv1.RevokeSchedulesRequest, paymuxv1.RevokeSchedulesResponse]("/paymux.v1.BillingService/RevokeSchedules", http.MethodPost, "/v1/schedules/revoke", req)
}

func blReschedule(id string, at time.Time, amt *paymuxv1.Amount) rpc {
	return newRPC[paymuxv1.RescheduleRequest, paymuxv1.RescheduleResponse]("/paymux.v1.BillingService/Reschedule", http.MethodPost,
		"/v1/schedules/"+url.PathEscape(id)+"/reschedule", &paymuxv1.RescheduleRequest{Id: id, PayTime: timestamppb.New(at), Amount: amt})
}

// ---- fixtures --------------------------------------------------------------

func blIssueReq(name, card string, customer *paymuxv1.Customer) *paymuxv1.IssueBillingKeyRequest {
	return &paymuxv1.IssueBillingKeyRequest{Id: name, Card: testCard(card), Customer: customer}
}

// blIssueKey issues a billing key on sf and returns it.
func blIssueKey(t testing.TB, ts *testServer, sf surface, h http.Header, name, card string, customer *paymuxv1.Customer) *paymuxv1.BillingKey {
	t.Helper()
	k := mustOK[*paymuxv1.IssueBillingKeyResponse](t, sf.call(t, ts, blIssue(blIssueReq(name, card, customer)), h)).GetBillingKey()
	if k.GetStatus() != paymuxv1.BillingKeyStatus_BILLING_KEY_STATUS_ACTIVE {
		t.Fatalf("%s: issued %v", sf.name, k)
	}
	return k
}

func blGetKey(t testing.TB, ts *testServer, sf surface, h http.Header, id string) *paymuxv1.BillingKey {
	t.Helper()
	return mustOK[*paymuxv1.GetBillingKeyResponse](t, sf.call(t, ts, blGet(id), h)).GetBillingKey()
}

func blKeyIDs(ks []*paymuxv1.BillingKey) []string {
	var out []string
	for _, k := range ks {
		out = append(out, k.GetId())
	}
	return out
}

func blListKeys(t testing.TB, ts *testServer, sf surface, h http.Header, req *paymuxv1.ListBillingKeysRequest) []*paymuxv1.BillingKey {
	t.Helper()
	return mustOK[*paymuxv1.ListBillingKeysResponse](t, sf.call(t, ts, blList(req), h)).GetBillingKeys()
}

// blIn is one schedule to create.
func blIn(mid string, at time.Time, total int64) *paymuxv1.ScheduleInput {
	return &paymuxv1.ScheduleInput{MerchantPaymentId: mid, PayTime: timestamppb.New(at), Amount: amount(total), OrderName: "Monthly plan " + mid}
}

func blCreate(t testing.TB, ts *testServer, sf surface, h http.Header, keyID string, in ...*paymuxv1.ScheduleInput) []*paymuxv1.Schedule {
	t.Helper()
	out := mustOK[*paymuxv1.CreateSchedulesResponse](t, sf.call(t, ts, blCreateSchedules(keyID, in...), h)).GetSchedules()
	if len(out) != len(in) {
		t.Fatalf("%s: created %d schedules, want %d", sf.name, len(out), len(in))
	}
	return out
}

func blSchedule(t testing.TB, ts *testServer, sf surface, h http.Header, id string) *paymuxv1.Schedule {
	t.Helper()
	return mustOK[*paymuxv1.GetScheduleResponse](t, sf.call(t, ts, blGetSchedule(id), h)).GetSchedule()
}

func blListScheds(t testing.TB, ts *testServer, sf surface, h http.Header, req *paymuxv1.ListSchedulesRequest) []*paymuxv1.Schedule {
	t.Helper()
	return mustOK[*paymuxv1.ListSchedulesResponse](t, sf.call(t, ts, blListSchedules(req), h)).GetSchedules()
}

func blSchedIDs(ss []*paymuxv1.Schedule) []string {
	var out []string
	for _, s := range ss {
		out = append(out, s.GetId())
	}
	return out
}

func blStatus(name string) paymuxv1.ScheduleStatus {
	return paymuxv1.ScheduleStatus(paymuxv1.ScheduleStatus_value["SCHEDULE_STATUS_"+name])
}

// blWaitSchedule polls a schedule (over Connect) until it has status.
func blWaitSchedule(t testing.TB, ts *testServer, h http.Header, id, status string, within time.Duration) *paymuxv1.Schedule {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		s := blSchedule(t, ts, surfaces[1], h, id)
		if s.GetStatus() == blStatus(status) {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("schedule %s is %s after %s, want %s: %v", id, s.GetStatus(), within, status, s)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// blPolls lets the executor run a few times.
func blPolls() { time.Sleep(150 * time.Millisecond) }

// blNoFullCard fails if msg, as protojson, holds a full card number.
func blNoFullCard(t testing.TB, what string, msg proto.Message, cards ...string) {
	t.Helper()
	b, err := protojson.Marshal(msg)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cards {
		if strings.Contains(string(b), c) {
			t.Fatalf("%s shows the full card number %s: %s", what, c, b)
		}
	}
}

func blPayment(t testing.TB, ts *testServer, sf surface, h http.Header, id string) *paymuxv1.Payment {
	t.Helper()
	return mustOK[*paymuxv1.GetPaymentResponse](t, sf.call(t, ts, getPayment(id), h)).GetPayment()
}

func blPaymentByMID(t testing.TB, ts *testServer, sf surface, h http.Header, mid string) *paymuxv1.Payment {
	t.Helper()
	return mustOK[*paymuxv1.GetPaymentResponse](t, sf.call(t, ts, getPaymentByMerchantID("", mid), h)).GetPayment()
}

// blHooks is the JSON webhooks rcv got of type typ whose data.id is id.
func blHooks(t testing.TB, rcv *waReceiver, typ, id string) []waJSONBody {
	t.Helper()
	var out []waJSONBody
	for _, h := range rcv.hooks() {
		b := waDecode(t, h)
		if b.Type == typ && b.Data["id"] == id {
			out = append(out, b)
		}
	}
	return out
}

// blWaitHook waits for one webhook of type typ about id and returns it.
func blWaitHook(t testing.TB, rcv *waReceiver, typ, id string) waJSONBody {
	t.Helper()
	deadline := time.Now().Add(blWait)
	for {
		if hs := blHooks(t, rcv, typ, id); len(hs) > 0 {
			return hs[0]
		}
		if time.Now().After(deadline) {
			var got []string
			for _, h := range rcv.hooks() {
				got = append(got, string(h.body))
			}
			t.Fatalf("no %s webhook for %s within %s; got %q", typ, id, blWait, got)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func blSameTime(a, b *timestamppb.Timestamp) bool {
	return a != nil && b != nil && a.AsTime().Equal(b.AsTime())
}

// ---- 1. billing key lifecycle ----------------------------------------------------

// TestBillingKeyLifecycle: issue (named and generated ids), the card shown
// as BIN and last 4 only (in answers and in the database), get, list with
// filters, name clashes, a declined card, delete, and a name used again
// after a delete, on every surface and database.
func TestBillingKeyLifecycle(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *ent.Client) {
		ts := startServer(t, db, blFast)
		key := headers("Authorization", ts.firstKeyAuth())
		for _, sf := range surfaces {
			t.Run(sf.name, func(t *testing.T) {
				name := "customer-" + sf.name
				hong := &paymuxv1.Customer{Name: "Hong Gildong", Email: "hong-" + sf.name + "@example.com", Phone: "01012345678"}
				kim := &paymuxv1.Customer{Name: "Kim Cheolsu", Email: "kim-" + sf.name + "@example.com"}

				named := blIssueKey(t, ts, sf, key, name, sandbox.CardSuccess, hong)
				if named.GetId() != name || named.GetStoreId() != ts.First.StoreID || named.GetChannelId() != ts.First.ChannelID ||
					named.GetProvider() != paymuxv1.Provider_PROVIDER_SANDBOX || named.GetMode() != paymuxv1.Mode_MODE_TEST ||
					named.GetCard().GetNumber() != blMasked || named.GetCreateTime() == nil || named.GetDeleteTime() != nil ||
					named.GetPendingSchedules() != 0 || !proto.Equal(named.GetCustomer(), hong) {
					t.Fatalf("named key %v", named)
				}
				blNoFullCard(t, "the issue answer", named, sandbox.CardSuccess)
				unnamed := blIssueKey(t, ts, sf, key, "", sandbox.CardSuccess, kim)
				if !strings.HasPrefix(unnamed.GetId(), "bk_") || unnamed.GetCard().GetNumber() != blMasked || !proto.Equal(unnamed.GetCustomer(), kim) {
					t.Fatalf("unnamed key %v", unnamed)
				}
				blNoFullCard(t, "the issue answer", unnamed, sandbox.CardSuccess)

				// Get, by the name or the generated id.
				if got := blGetKey(t, ts, sf, key, name); !proto.Equal(got, named) {
					t.Fatalf("get %s: %v, want %v", name, got, named)
				}
				if got := blGetKey(t, ts, sf, key, unnamed.GetId()); !proto.Equal(got, unnamed) {
					t.Fatalf("get %s: %v, want %v", unnamed.GetId(), got, unnamed)
				}
				wantRefusal(t, sf.call(t, ts, blGet("nobody-"+sf.name), key), connect.CodeNotFound, "BILLING_KEY_NOT_FOUND")

				// List: newest first, by text, status and channel.
				active := []paymuxv1.BillingKeyStatus{paymuxv1.BillingKeyStatus_BILLING_KEY_STATUS_ACTIVE}
				deleted := []paymuxv1.BillingKeyStatus{paymuxv1.BillingKeyStatus_BILLING_KEY_STATUS_DELETED}
				for _, c := range []struct {
					what string
					req  *paymuxv1.ListBillingKeysRequest
					want []string
				}{
					{"by name", &paymuxv1.ListBillingKeysRequest{Query: name}, []string{name}},
					{"by customer e-mail", &paymuxv1.ListBillingKeysRequest{Query: "kim-" + sf.name + "@"}, []string{unnamed.GetId()}},
					{"by customer name", &paymuxv1.ListBillingKeysRequest{Query: "Cheolsu", Statuses: active, StartTime: unnamed.GetCreateTime()}, []string{unnamed.GetId()}},
					{"both, newest first", &paymuxv1.ListBillingKeysRequest{Query: "-" + sf.name + "@example.com"}, []string{unnamed.GetId(), name}},
					{"active", &paymuxv1.ListBillingKeysRequest{Query: "-" + sf.name + "@example.com", Statuses: active}, []string{unnamed.GetId(), name}},
					{"deleted", &paymuxv1.ListBillingKeysRequest{Query: "-" + sf.name + "@example.com", Statuses: deleted}, nil},
					{"channel", &paymuxv1.ListBillingKeysRequest{Query: "-" + sf.name + "@example.com", ChannelId: ts.First.ChannelID}, []string{unnamed.GetId(), name}},
					{"other channel", &paymuxv1.ListBillingKeysRequest{Query: "-" + sf.name + "@example.com", ChannelId: "ch_none"}, nil},
					{"page of 1", &paymuxv1.ListBillingKeysRequest{Query: "-" + sf.name + "@example.com", PageSize: 1}, []string{unnamed.GetId()}},
					{"before the first", &paymuxv1.ListBillingKeysRequest{Query: "-" + sf.name + "@example.com", EndTime: named.GetCreateTime()}, nil},
				} {
					if got := blKeyIDs(blListKeys(t, ts, sf, key, c.req)); !slices.Equal(got, c.want) {
						t.Fatalf("list %s: %v, want %v", c.what, got, c.want)
					}
				}
				// The query answers alike on every database: SQLite's LIKE
				// ignores ASCII case, so PostgreSQL must too (as ListPayments
				// does), or one request lists differently by database.
				if got := blKeyIDs(blListKeys(t, ts, sf, key, &paymuxv1.ListBillingKeysRequest{Query: strings.ToUpper("kim-" + sf.name + "@EXAMPLE")})); !slices.Equal(got, []string{unnamed.GetId()}) {
					t.Errorf("list by the customer e-mail in upper case: %v, want [%s]", got, unnamed.GetId())
				}
				// The next page of one has the older key.
				first := mustOK[*paymuxv1.ListBillingKeysResponse](t, sf.call(t, ts, blList(&paymuxv1.ListBillingKeysRequest{Query: "-" + sf.name + "@example.com", PageSize: 1}), key))
				if first.GetNextPageToken() == "" {
					t.Fatal("a page of 1 of 2 keys has no next page token")
				}
				if got := blKeyIDs(blListKeys(t, ts, sf, key, &paymuxv1.ListBillingKeysRequest{Query: "-" + sf.name + "@example.com", PageSize: 1, PageToken: first.GetNextPageToken()})); !slices.Equal(got, []string{name}) {
					t.Fatalf("second page %v, want [%s]", got, name)
				}

				// Names: taken, reserved, and a card that cannot have a key.
				wantRefusal(t, sf.call(t, ts, blIssue(blIssueReq(name, sandbox.CardSuccess, nil)), key), connect.CodeAlreadyExists, "BILLING_KEY_EXISTS")
				wantInvalid(t, sf.call(t, ts, blIssue(blIssueReq("bk_mine-"+sf.name, sandbox.CardSuccess, nil)), key), "id")
				lost := "lost-" + sf.name
				wantRefusal(t, sf.call(t, ts, blIssue(blIssueReq(lost, sandbox.CardLostOrStolen, nil)), key), connect.CodeFailedPrecondition, "PG_PROVIDER")
				wantRefusal(t, sf.call(t, ts, blGet(lost), key), connect.CodeNotFound, "BILLING_KEY_NOT_FOUND")
				if got := blListKeys(t, ts, sf, key, &paymuxv1.ListBillingKeysRequest{Query: lost}); len(got) != 0 {
					t.Fatalf("a declined card left keys %v", got)
				}

				// Delete: DELETED with its time; then it cannot be charged, and
				// the name is free again.
				del := mustOK[*paymuxv1.DeleteBillingKeyResponse](t, sf.call(t, ts, blDelete(name, false, "customer left"), key))
				gone := del.GetBillingKey()
				if gone.GetId() != name || gone.GetStatus() != paymuxv1.BillingKeyStatus_BILLING_KEY_STATUS_DELETED || gone.GetDeleteTime() == nil ||
					gone.GetCard().GetNumber() != blMasked || len(del.GetRevokedScheduleIds()) != 0 {
					t.Fatalf("deleted %v", del)
				}
				if got := blGetKey(t, ts, sf, key, name); !proto.Equal(got, gone) {
					t.Fatalf("get deleted: %v, want %v", got, gone)
				}
				if got := blKeyIDs(blListKeys(t, ts, sf, key, &paymuxv1.ListBillingKeysRequest{Query: "-" + sf.name + "@example.com", Statuses: deleted})); !slices.Equal(got, []string{name}) {
					t.Fatalf("deleted keys %v", got)
				}
				wantRefusal(t, sf.call(t, ts, blCharge(&paymuxv1.ChargeBillingKeyRequest{Id: name, MerchantPaymentId: merchantID("bl-deleted-" + sf.name), OrderName: "x", Amount: amount(1000)}), key),
					connect.CodeFailedPrecondition, "BILLING_KEY_DELETED")
				wantRefusal(t, sf.call(t, ts, blCreateSchedules(name, blIn(merchantID("bl-deleted-"+sf.name), ts.Clock.Now().Add(time.Hour), 1000)), key),
					connect.CodeFailedPrecondition, "BILLING_KEY_DELETED")
				// Deleting it again changes nothing.
				if again := mustOK[*paymuxv1.DeleteBillingKeyResponse](t, sf.call(t, ts, blDelete(name, false, ""), key)).GetBillingKey(); !proto.Equal(again, gone) {
					t.Fatalf("delete again: %v, want %v", again, gone)
				}

				renewed := blIssueKey(t, ts, sf, key, name, sandbox.CardSuccess, hong)
				if renewed.GetId() != name || renewed.GetCreateTime().AsTime().Before(gone.GetCreateTime().AsTime()) {
					t.Fatalf("re-issued %v", renewed)
				}
				if got := blGetKey(t, ts, sf, key, name); got.GetStatus() != paymuxv1.BillingKeyStatus_BILLING_KEY_STATUS_ACTIVE || !proto.Equal(got, renewed) {
					t.Fatalf("after re-issue, %s is %v", name, got)
				}
				if got := blListKeys(t, ts, sf, key, &paymuxv1.ListBillingKeysRequest{Query: name}); len(got) != 2 ||
					got[0].GetStatus() != paymuxv1.BillingKeyStatus_BILLING_KEY_STATUS_ACTIVE || got[1].GetStatus() != paymuxv1.BillingKeyStatus_BILLING_KEY_STATUS_DELETED {
					t.Fatalf("keys named %s: %v", name, got)
				}
				p := mustOK[*paymuxv1.ChargeBillingKeyResponse](t, sf.call(t, ts, blCharge(&paymuxv1.ChargeBillingKeyRequest{
					Id: name, MerchantPaymentId: merchantID("bl-renewed-" + sf.name), OrderName: "renewed", Amount: amount(1000)}), key)).GetPayment()
				if p.GetStatus() != paymuxv1.PaymentStatus_PAYMENT_STATUS_PAID || p.GetBillingKeyId() != name {
					t.Fatalf("charge of the re-issued key: %v", p)
				}

				// The generated id deletes and refuses charges likewise.
				ug := mustOK[*paymuxv1.DeleteBillingKeyResponse](t, sf.call(t, ts, blDelete(unnamed.GetId(), false, ""), key)).GetBillingKey()
				if ug.GetId() != unnamed.GetId() || ug.GetStatus() != paymuxv1.BillingKeyStatus_BILLING_KEY_STATUS_DELETED || ug.GetDeleteTime() == nil {
					t.Fatalf("deleted %v", ug)
				}
				wantRefusal(t, sf.call(t, ts, blCharge(&paymuxv1.ChargeBillingKeyRequest{Id: unnamed.GetId(), MerchantPaymentId: merchantID("bl-deleted-" + sf.name), OrderName: "x", Amount: amount(1000)}), key),
					connect.CodeFailedPrecondition, "BILLING_KEY_DELETED")
			})
		}

		// One name issued eight times at once: one key, seven refusals.
		var wg sync.WaitGroup
		res := make([]result, 8)
		for i := range res {
			wg.Add(1)
			go func() {
				defer wg.Done()
				res[i] = surfaces[i%len(surfaces)].call(t, ts, blIssue(blIssueReq("at-once", sandbox.CardSuccess, nil)), key)
			}()
		}
		wg.Wait()
		var won int
		for _, r := range res {
			switch {
			case r.code == 0:
				won++
			case r.code != connect.CodeAlreadyExists || r.reason != "BILLING_KEY_EXISTS":
				t.Fatalf("issue at once: %v", r)
			}
		}
		if won != 1 {
			t.Fatalf("issued at once: %d keys, want 1", won)
		}
		if n := db.BillingKey.Query().Where(billingkey.Name("at-once")).CountX(blSys()); n != 1 {
			t.Fatalf("%d rows named at-once, want 1", n)
		}

		// The database: three keys per surface and the one issued at once
		// (the declined card left none), the card as BIN and last 4, the
		// full number nowhere.
		rows := db.BillingKey.Query().AllX(blSys())
		if len(rows) != 3*len(surfaces)+1 {
			t.Fatalf("%d billing key rows, want %d", len(rows), 3*len(surfaces)+1)
		}
		for _, r := range rows {
			if strings.HasPrefix(r.Name, "lost-") {
				t.Fatalf("a declined card was stored: %+v", r)
			}
			if cols := waColumnsHolding(r, sandbox.CardSuccess); len(cols) > 0 {
				t.Fatalf("billing key %s holds the card number in %v", r.ID, cols)
			}
			if r.Card == nil || r.Card.Number != blMasked {
				t.Fatalf("billing key %s card %+v", r.ID, r.Card)
			}
			if len(r.PgKeySealed) == 0 {
				t.Fatalf("billing key %s has no sealed PG key", r.ID)
			}
		}
		for _, e := range db.Event.Query().AllX(blSys()) {
			if cols := waColumnsHolding(e, sandbox.CardSuccess); len(cols) > 0 {
				t.Fatalf("event %s (%s) holds the card number in %v", e.ID, e.Type, cols)
			}
		}
		if n := db.Event.Query().Where(event.Type("billing_key.issued")).CountX(blSys()); n != 3*len(surfaces)+1 {
			t.Fatalf("%d billing_key.issued events, want %d", n, 3*len(surfaces)+1)
		}
		if n := db.Event.Query().Where(event.Type("billing_key.deleted")).CountX(blSys()); n != 2*len(surfaces) {
			t.Fatalf("%d billing_key.deleted events, want %d (a second delete writes none)", n, 2*len(surfaces))
		}
		// The call log (written in batches): once it holds the issues, none
		// of its records holds a full card number.
		deadline := time.Now().Add(blWait)
		for {
			recs := db.LogRecord.Query().AllX(blSys())
			var issues int
			for _, r := range recs {
				if strings.HasSuffix(r.Method, "/IssueBillingKey") {
					issues++
				}
				for _, c := range []string{sandbox.CardSuccess, sandbox.CardLostOrStolen} {
					if cols := waColumnsHolding(r, c); len(cols) > 0 {
						t.Fatalf("call log record %s (%s) holds a card number in %v", r.ID, r.Method, cols)
					}
				}
			}
			if issues >= 6*len(surfaces)+len(res) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the call log has %d IssueBillingKey records within %s, want %d", issues, blWait, 6*len(surfaces)+len(res))
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
}

// ---- 2. charge now -------------------------------------------------------------

// TestBillingChargeNow: a charge of a billing key is an ordinary payment:
// PAID with the key's id and card, readable, partly cancellable, its
// merchant payment id used once; a key whose charges are declined makes a
// FAILED payment; installment rules apply.
func TestBillingChargeNow(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *ent.Client) {
		ts := startServer(t, db, blFast)
		key := headers("Authorization", ts.firstKeyAuth())
		for _, sf := range surfaces {
			t.Run(sf.name, func(t *testing.T) {
				cust := &paymuxv1.Customer{Name: "Lee Younghee", Email: "lee-" + sf.name + "@example.com"}
				k := blIssueKey(t, ts, sf, key, "charge-"+sf.name, sandbox.CardSuccess, cust)
				mid := merchantID("bl-charge-" + sf.name)
				charge := &paymuxv1.ChargeBillingKeyRequest{Id: k.GetId(), MerchantPaymentId: mid, OrderName: "Monthly plan", Amount: &paymuxv1.Amount{Total: 10000, TaxFree: 0}}
				p := mustOK[*paymuxv1.ChargeBillingKeyResponse](t, sf.call(t, ts, blCharge(charge), key)).GetPayment()
				a := p.GetAmounts()
				if p.GetStatus() != paymuxv1.PaymentStatus_PAYMENT_STATUS_PAID || p.GetBillingKeyId() != k.GetId() || p.GetScheduleId() != "" ||
					p.GetMerchantPaymentId() != mid || p.GetOrderName() != "Monthly plan" || p.GetMethod() != paymuxv1.PayMethod_PAY_METHOD_CARD ||
					p.GetCard().GetNumber() != blMasked || p.GetCard().GetApprovalNumber() == "" || p.GetChannelId() != ts.First.ChannelID ||
					a.GetTotal() != 10000 || a.GetPaid() != 10000 || a.GetVat() != 909 || a.GetTaxFree() != 0 || !proto.Equal(p.GetCustomer(), cust) {
					t.Fatalf("charge: %v", p)
				}
				blNoFullCard(t, "the charge answer", p, sandbox.CardSuccess)

				got := blPayment(t, ts, sf, key, p.GetId())
				if got.GetStatus() != paymuxv1.PaymentStatus_PAYMENT_STATUS_PAID || got.GetBillingKeyId() != k.GetId() || got.GetCard().GetNumber() != blMasked {
					t.Fatalf("get: %v", got)
				}
				var hist []string
				for _, c := range got.GetStatusHistory() {
					hist = append(hist, strings.TrimPrefix(c.GetTo().String(), "PAYMENT_STATUS_"))
				}
				if hist[len(hist)-1] != "PAID" || slices.Contains(hist, "FAILED") {
					t.Fatalf("status history %v", hist)
				}
				if byMID := blPaymentByMID(t, ts, sf, key, mid); byMID.GetId() != p.GetId() {
					t.Fatalf("by merchant id: %v", byMID)
				}

				part := mustOK[*paymuxv1.CancelPaymentResponse](t, sf.call(t, ts, cancelPayment(&paymuxv1.CancelPaymentRequest{Id: p.GetId(), Amount: i64(3000), Reason: "one week unused"}), key)).GetPayment()
				if part.GetStatus() != paymuxv1.PaymentStatus_PAYMENT_STATUS_PARTIAL_CANCELLED || part.GetAmounts().GetCancelled() != 3000 ||
					part.GetAmounts().GetCancellable() != 7000 || part.GetBillingKeyId() != k.GetId() {
					t.Fatalf("partial cancel: %v", part)
				}

				wantRefusal(t, sf.call(t, ts, blCharge(charge), key), connect.CodeAlreadyExists, "PAYMENT_ALREADY_EXISTS")

				// Another customer for this charge only.
				other := &paymuxv1.Customer{Name: "Park Minsu"}
				p2 := mustOK[*paymuxv1.ChargeBillingKeyResponse](t, sf.call(t, ts, blCharge(&paymuxv1.ChargeBillingKeyRequest{
					Id: k.GetId(), MerchantPaymentId: merchantID("bl-charge-" + sf.name), OrderName: "gift", Amount: amount(60000), InstallmentMonths: 3, Customer: other}), key)).GetPayment()
				if p2.GetStatus() != paymuxv1.PaymentStatus_PAYMENT_STATUS_PAID || p2.GetCard().GetInstallmentMonths() != 3 || !proto.Equal(p2.GetCustomer(), other) {
					t.Fatalf("installment charge: %v", p2)
				}

				// Installments under 50,000 won: refused before any payment.
				small := merchantID("bl-small-" + sf.name)
				r := sf.call(t, ts, blCharge(&paymuxv1.ChargeBillingKeyRequest{Id: k.GetId(), MerchantPaymentId: small, OrderName: "small", Amount: amount(10000), InstallmentMonths: 3}), key)
				if r.code != connect.CodeInvalidArgument || !slices.Equal(r.fields, []string{"installment_months"}) {
					t.Fatalf("installments on 10,000 won: %v", r)
				}
				wantRefusal(t, sf.call(t, ts, getPaymentByMerchantID("", small), key), connect.CodeNotFound, "PAYMENT_NOT_FOUND")
				wantRefusal(t, sf.call(t, ts, blCharge(&paymuxv1.ChargeBillingKeyRequest{Id: "nobody-" + sf.name, MerchantPaymentId: small, OrderName: "x", Amount: amount(1000)}), key),
					connect.CodeNotFound, "BILLING_KEY_NOT_FOUND")
				wantInvalid(t, sf.call(t, ts, blCharge(&paymuxv1.ChargeBillingKeyRequest{Id: k.GetId(), MerchantPaymentId: small, OrderName: "x"}), key), "amount")

				// A key that issues fine, but whose every charge is declined.
				decl := blIssueKey(t, ts, sf, key, "declines-"+sf.name, sandbox.CardBillingDeclines, nil)
				if decl.GetCard().GetNumber() != "941000******3413" {
					t.Fatalf("declining key %v", decl)
				}
				dmid := merchantID("bl-declined-" + sf.name)
				wantRefusal(t, sf.call(t, ts, blCharge(&paymuxv1.ChargeBillingKeyRequest{Id: decl.GetId(), MerchantPaymentId: dmid, OrderName: "declined", Amount: amount(10000)}), key),
					connect.CodeFailedPrecondition, "PG_PROVIDER")
				failed := blPaymentByMID(t, ts, sf, key, dmid)
				if f := failed.GetFailure(); failed.GetStatus() != paymuxv1.PaymentStatus_PAYMENT_STATUS_FAILED || failed.GetBillingKeyId() != decl.GetId() ||
					f.GetReason() != "PG_DECLINED" || f.GetDecline() != "INSUFFICIENT_FUNDS" || f.GetPgCode() != "SB_51" {
					t.Fatalf("declined charge: %v", failed)
				}
				// A failed payment's merchant payment id is used too.
				wantRefusal(t, sf.call(t, ts, blCharge(&paymuxv1.ChargeBillingKeyRequest{Id: k.GetId(), MerchantPaymentId: dmid, OrderName: "again", Amount: amount(10000)}), key),
					connect.CodeAlreadyExists, "PAYMENT_ALREADY_EXISTS")
			})
		}
	})
}

// ---- 3. schedules ---------------------------------------------------------------

// TestBillingSchedules: create, list (by key, status, time; by pay time),
// reschedule, revoke (twice), the executor charging the due one once (a
// PAID payment with the schedule's id, billing.schedule.succeeded and
// payment.paid webhooks), delete refused while a schedule waits and done
// with revoke_schedules; bad and taken merchant payment ids and times.
func TestBillingSchedules(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *ent.Client) {
		ts := startServer(t, db, blFast, allowLocalWebhooks)
		key := headers("Authorization", ts.firstKeyAuth())
		rcv := waNewReceiver(t, http.StatusOK, "")
		waCreate(t, ts, key, &paymuxv1.CreateWebhookEndpointRequest{Url: rcv.URL + "/hooks",
			EventTypes: []string{blScheduleSucceeded, blScheduleFailed, waPaid, "billing_key.issued", "billing_key.deleted"}})
		for _, sf := range surfaces {
			t.Run(sf.name, func(t *testing.T) {
				cust := &paymuxv1.Customer{Name: "Choi Jiwoo", Phone: "01099998888"}
				k := blIssueKey(t, ts, sf, key, "sched-"+sf.name, sandbox.CardSuccess, cust)
				base := ts.Clock.Now().UTC().Truncate(time.Second)
				mid1, mid2, mid3 := merchantID("bl-sch1-"+sf.name), merchantID("bl-sch2-"+sf.name), merchantID("bl-sch3-"+sf.name)
				// Given out of order: listed by pay time.
				created := blCreate(t, ts, sf, key, k.GetId(),
					blIn(mid3, base.Add(3*time.Minute), 10000), blIn(mid1, base.Add(time.Minute), 10000), blIn(mid2, base.Add(2*time.Minute), 10000))
				s3, s1, s2 := created[0], created[1], created[2]
				for i, c := range []struct {
					s   *paymuxv1.Schedule
					mid string
					at  time.Time
				}{{s1, mid1, base.Add(time.Minute)}, {s2, mid2, base.Add(2 * time.Minute)}, {s3, mid3, base.Add(3 * time.Minute)}} {
					s := c.s
					if !strings.HasPrefix(s.GetId(), "sch_") || s.GetStoreId() != ts.First.StoreID || s.GetBillingKeyId() != k.GetId() ||
						s.GetMode() != paymuxv1.Mode_MODE_TEST || s.GetStatus() != blStatus("SCHEDULED") || s.GetMerchantPaymentId() != c.mid ||
						s.GetOrderName() != "Monthly plan "+c.mid || !s.GetPayTime().AsTime().Equal(c.at) || s.GetAmount().GetTotal() != 10000 ||
						s.GetAmount().GetVat() != 909 || !proto.Equal(s.GetCustomer(), cust) ||
						s.GetRetryPolicy() != nil || s.GetRetryNumber() != 0 || s.GetRetryOf() != "" || s.GetPaymentId() != "" ||
						s.GetStartTime() != nil || s.GetEndTime() != nil || s.GetCreateTime() == nil {
						t.Fatalf("schedule %d: %v", i+1, s)
					}
					if got := blSchedule(t, ts, sf, key, s.GetId()); !proto.Equal(got, s) {
						t.Fatalf("get %s: %v, want %v", s.GetId(), got, s)
					}
				}
				if n := blGetKey(t, ts, sf, key, k.GetId()).GetPendingSchedules(); n != 3 {
					t.Fatalf("pending schedules %d, want 3", n)
				}

				// List.
				all := []string{s1.GetId(), s2.GetId(), s3.GetId()}
				for _, c := range []struct {
					what string
					req  *paymuxv1.ListSchedulesRequest
					want []string
				}{
					{"by key", &paymuxv1.ListSchedulesRequest{BillingKeyId: k.GetId()}, all},
					{"scheduled", &paymuxv1.ListSchedulesRequest{BillingKeyId: k.GetId(), Statuses: []paymuxv1.ScheduleStatus{blStatus("SCHEDULED")}}, all},
					{"succeeded", &paymuxv1.ListSchedulesRequest{BillingKeyId: k.GetId(), Statuses: []paymuxv1.ScheduleStatus{blStatus("SUCCEEDED")}}, nil},
					{"[+1m, +2m)", &paymuxv1.ListSchedulesRequest{BillingKeyId: k.GetId(), StartTime: s1.GetPayTime(), EndTime: s2.GetPayTime()}, []string{s1.GetId()}},
					{"[+90s, +4m)", &paymuxv1.ListSchedulesRequest{BillingKeyId: k.GetId(), StartTime: timestamppb.New(base.Add(90 * time.Second)), EndTime: timestamppb.New(base.Add(4 * time.Minute))}, []string{s2.GetId(), s3.GetId()}},
					{"from +2m", &paymuxv1.ListSchedulesRequest{StartTime: s2.GetPayTime(), EndTime: timestamppb.New(base.Add(3*time.Minute + time.Second))}, []string{s2.GetId(), s3.GetId()}},
					{"page of 2", &paymuxv1.ListSchedulesRequest{BillingKeyId: k.GetId(), PageSize: 2}, []string{s1.GetId(), s2.GetId()}},
				} {
					if got := blSchedIDs(blListScheds(t, ts, sf, key, c.req)); !slices.Equal(got, c.want) {
						t.Fatalf("list %s: %v, want %v", c.what, got, c.want)
					}
				}
				pg := mustOK[*paymuxv1.ListSchedulesResponse](t, sf.call(t, ts, blListSchedules(&paymuxv1.ListSchedulesRequest{BillingKeyId: k.GetId(), PageSize: 2}), key))
				if got := blSchedIDs(blListScheds(t, ts, sf, key, &paymuxv1.ListSchedulesRequest{BillingKeyId: k.GetId(), PageSize: 2, PageToken: pg.GetNextPageToken()})); !slices.Equal(got, []string{s3.GetId()}) {
					t.Fatalf("second page %v", got)
				}
				wantRefusal(t, sf.call(t, ts, blListSchedules(&paymuxv1.ListSchedulesRequest{BillingKeyId: "nobody-" + sf.name}), key), connect.CodeNotFound, "BILLING_KEY_NOT_FOUND")

				// Reschedule the third, with a new amount.
				moved := mustOK[*paymuxv1.RescheduleResponse](t, sf.call(t, ts, blReschedule(s3.GetId(), base.Add(10*time.Minute), amount(20000)), key)).GetSchedule()
				if !moved.GetPayTime().AsTime().Equal(base.Add(10*time.Minute)) || moved.GetAmount().GetTotal() != 20000 || moved.GetAmount().GetVat() != 1818 ||
					moved.GetStatus() != blStatus("SCHEDULED") || moved.GetMerchantPaymentId() != mid3 {
					t.Fatalf("rescheduled %v", moved)
				}
				if got := blSchedule(t, ts, sf, key, s3.GetId()); !proto.Equal(got, moved) {
					t.Fatalf("get rescheduled: %v, want %v", got, moved)
				}
				wantInvalid(t, sf.call(t, ts, blReschedule(s3.GetId(), base.Add(-24*time.Hour), nil), key), "pay_time")
				wantRefusal(t, sf.call(t, ts, blReschedule("sch_nonexistent", base.Add(time.Hour), nil), key), connect.CodeNotFound, "SCHEDULE_NOT_FOUND")

				// Revoke the second, twice.
				rv := mustOK[*paymuxv1.RevokeSchedulesResponse](t, sf.call(t, ts, blRevokeIDs("customer paused", s2.GetId()), key))
				if len(rv.GetRevoked()) != 1 || len(rv.GetNotRevoked()) != 0 {
					t.Fatalf("revoke: %v", rv)
				}
				if r := rv.GetRevoked()[0]; r.GetId() != s2.GetId() || r.GetStatus() != blStatus("REVOKED") || r.GetRevokeTime() == nil {
					t.Fatalf("revoked %v", r)
				}
				rv = mustOK[*paymuxv1.RevokeSchedulesResponse](t, sf.call(t, ts, blRevokeIDs("again", s2.GetId()), key))
				if len(rv.GetRevoked()) != 0 || len(rv.GetNotRevoked()) != 1 || rv.GetNotRevoked()[0].GetId() != s2.GetId() ||
					rv.GetNotRevoked()[0].GetStatus() != blStatus("REVOKED") {
					t.Fatalf("revoke again: %v", rv)
				}
				wantRefusal(t, sf.call(t, ts, blReschedule(s2.GetId(), base.Add(time.Hour), nil), key), connect.CodeFailedPrecondition, "SCHEDULE_NOT_SCHEDULED")
				wantRefusal(t, sf.call(t, ts, blRevokeIDs("", "sch_nonexistent"), key), connect.CodeNotFound, "SCHEDULE_NOT_FOUND")
				if got := blSchedIDs(blListScheds(t, ts, sf, key, &paymuxv1.ListSchedulesRequest{BillingKeyId: k.GetId(), Statuses: []paymuxv1.ScheduleStatus{blStatus("REVOKED")}})); !slices.Equal(got, []string{s2.GetId()}) {
					t.Fatalf("revoked list %v", got)
				}

				// Merchant payment ids taken, times past, ids twice.
				charged := mustOK[*paymuxv1.ChargeBillingKeyResponse](t, sf.call(t, ts, blCharge(&paymuxv1.ChargeBillingKeyRequest{
					Id: k.GetId(), MerchantPaymentId: merchantID("bl-now-" + sf.name), OrderName: "now", Amount: amount(1000)}), key)).GetPayment()
				fresh := merchantID("bl-fresh-" + sf.name)
				for _, c := range []struct {
					what string
					in   []*paymuxv1.ScheduleInput
				}{
					{"a schedule's", []*paymuxv1.ScheduleInput{blIn(mid1, base.Add(time.Hour), 1000)}},
					{"a revoked schedule's", []*paymuxv1.ScheduleInput{blIn(mid2, base.Add(time.Hour), 1000)}},
					{"a payment's", []*paymuxv1.ScheduleInput{blIn(charged.GetMerchantPaymentId(), base.Add(time.Hour), 1000)}},
					{"one of two taken", []*paymuxv1.ScheduleInput{blIn(fresh, base.Add(time.Hour), 1000), blIn(mid3, base.Add(time.Hour), 1000)}},
				} {
					wantRefusal(t, sf.call(t, ts, blCreateSchedules(k.GetId(), c.in...), key), connect.CodeAlreadyExists, "SCHEDULE_EXISTS")
				}
				wantInvalid(t, sf.call(t, ts, blCreateSchedules(k.GetId(), blIn(fresh, base.Add(-24*time.Hour), 1000)), key), "schedules[0].pay_time")
				wantInvalid(t, sf.call(t, ts, blCreateSchedules(k.GetId(), blIn(fresh, base.Add(time.Hour), 1000), blIn(fresh, base.Add(2*time.Hour), 1000)), key),
					"schedules[1].merchant_payment_id")
				smallInst := blIn(fresh, base.Add(time.Hour), 10000)
				smallInst.InstallmentMonths = 3
				if r := sf.call(t, ts, blCreateSchedules(k.GetId(), smallInst), key); r.code != connect.CodeInvalidArgument || !slices.Equal(r.fields, []string{"schedules[0].installment_months"}) {
					t.Fatalf("installments on 10,000 won: %v", r)
				}
				wantRefusal(t, sf.call(t, ts, blCreateSchedules("nobody-"+sf.name, blIn(fresh, base.Add(time.Hour), 1000)), key), connect.CodeNotFound, "BILLING_KEY_NOT_FOUND")
				if got := blSchedIDs(blListScheds(t, ts, sf, key, &paymuxv1.ListSchedulesRequest{BillingKeyId: k.GetId()})); !slices.Equal(got, all) {
					t.Fatalf("refused requests left schedules: %v", got)
				}

				// Time passes: the first is charged, once.
				ts.Clock.Advance(90 * time.Second)
				done := blWaitSchedule(t, ts, key, s1.GetId(), "SUCCEEDED", blWait)
				if done.GetPaymentId() == "" || done.GetStartTime() == nil || done.GetEndTime() == nil || done.GetFailure() != nil ||
					done.GetEndTime().AsTime().Before(done.GetStartTime().AsTime()) {
					t.Fatalf("succeeded %v", done)
				}
				p := blPayment(t, ts, sf, key, done.GetPaymentId())
				if p.GetStatus() != paymuxv1.PaymentStatus_PAYMENT_STATUS_PAID || p.GetScheduleId() != s1.GetId() || p.GetBillingKeyId() != k.GetId() ||
					p.GetMerchantPaymentId() != mid1 || p.GetOrderName() != s1.GetOrderName() || p.GetAmounts().GetPaid() != 10000 ||
					p.GetCard().GetNumber() != blMasked || !proto.Equal(p.GetCustomer(), cust) {
					t.Fatalf("the schedule's payment: %v", p)
				}
				if byMID := blPaymentByMID(t, ts, sf, key, mid1); byMID.GetId() != p.GetId() {
					t.Fatalf("by merchant id %s: %v", mid1, byMID)
				}
				if got := blSchedIDs(blListScheds(t, ts, sf, key, &paymuxv1.ListSchedulesRequest{BillingKeyId: k.GetId(), Statuses: []paymuxv1.ScheduleStatus{blStatus("SUCCEEDED")}})); !slices.Equal(got, []string{s1.GetId()}) {
					t.Fatalf("succeeded list %v", got)
				}
				wantRefusal(t, sf.call(t, ts, blReschedule(s1.GetId(), base.Add(time.Hour), nil), key), connect.CodeFailedPrecondition, "SCHEDULE_NOT_SCHEDULED")
				if rv := mustOK[*paymuxv1.RevokeSchedulesResponse](t, sf.call(t, ts, blRevokeIDs("", s1.GetId()), key)); len(rv.GetRevoked()) != 0 ||
					len(rv.GetNotRevoked()) != 1 || rv.GetNotRevoked()[0].GetStatus() != blStatus("SUCCEEDED") {
					t.Fatalf("revoke a succeeded schedule: %v", rv)
				}

				// The webhooks: the schedule (as the API shows it) and the payment.
				hook := blWaitHook(t, rcv, blScheduleSucceeded, s1.GetId())
				raw, err := json.Marshal(hook.Data)
				if err != nil {
					t.Fatal(err)
				}
				var fromHook paymuxv1.Schedule
				if err := protojson.Unmarshal(raw, &fromHook); err != nil {
					t.Fatalf("billing.schedule.succeeded data is not a Schedule: %s: %v", raw, err)
				}
				if fromHook.GetId() != s1.GetId() || fromHook.GetStatus() != blStatus("SUCCEEDED") || fromHook.GetPaymentId() != p.GetId() ||
					fromHook.GetMerchantPaymentId() != mid1 || fromHook.GetBillingKeyId() != k.GetId() || fromHook.GetAmount().GetTotal() != 10000 ||
					!blSameTime(fromHook.GetEndTime(), done.GetEndTime()) {
					t.Fatalf("billing.schedule.succeeded data %s, schedule %v", raw, done)
				}
				if paid := blWaitHook(t, rcv, waPaid, p.GetId()); paid.Data["scheduleId"] != s1.GetId() || paid.Data["billingKeyId"] != k.GetId() {
					t.Fatalf("payment.paid data %v", paid.Data)
				}

				// The revoked one never ran; the moved one waits.
				blPolls()
				if got := blSchedule(t, ts, sf, key, s2.GetId()); got.GetStatus() != blStatus("REVOKED") || got.GetPaymentId() != "" {
					t.Fatalf("revoked schedule %v", got)
				}
				if got := blSchedule(t, ts, sf, key, s3.GetId()); got.GetStatus() != blStatus("SCHEDULED") {
					t.Fatalf("moved schedule %v", got)
				}
				wantRefusal(t, sf.call(t, ts, getPaymentByMerchantID("", mid2), key), connect.CodeNotFound, "PAYMENT_NOT_FOUND")
				if n := blGetKey(t, ts, sf, key, k.GetId()).GetPendingSchedules(); n != 1 {
					t.Fatalf("pending schedules %d, want 1", n)
				}

				// Delete: refused while the third waits; with revoke_schedules it goes.
				wantRefusal(t, sf.call(t, ts, blDelete(k.GetId(), false, "stop"), key), connect.CodeFailedPrecondition, "BILLING_KEY_HAS_SCHEDULES")
				if got := blGetKey(t, ts, sf, key, k.GetId()); got.GetStatus() != paymuxv1.BillingKeyStatus_BILLING_KEY_STATUS_ACTIVE {
					t.Fatalf("a refused delete left %v", got)
				}
				del := mustOK[*paymuxv1.DeleteBillingKeyResponse](t, sf.call(t, ts, blDelete(k.GetId(), true, "stop"), key))
				if del.GetBillingKey().GetStatus() != paymuxv1.BillingKeyStatus_BILLING_KEY_STATUS_DELETED || !slices.Equal(del.GetRevokedScheduleIds(), []string{s3.GetId()}) {
					t.Fatalf("delete with revoke: %v", del)
				}
				if got := blSchedule(t, ts, sf, key, s3.GetId()); got.GetStatus() != blStatus("REVOKED") || got.GetRevokeTime() == nil {
					t.Fatalf("the third after the delete: %v", got)
				}
				// The key's own events: its data is the key as the API shows it.
				if h := blWaitHook(t, rcv, "billing_key.issued", k.GetId()); h.Data["status"] != "BILLING_KEY_STATUS_ACTIVE" || h.Data["storeId"] != ts.First.StoreID {
					t.Fatalf("billing_key.issued data %v", h.Data)
				}
				if h := blWaitHook(t, rcv, "billing_key.deleted", k.GetId()); h.Data["status"] != "BILLING_KEY_STATUS_DELETED" || h.Data["deleteTime"] == nil {
					t.Fatalf("billing_key.deleted data %v", h.Data)
				}
				// Past its time, it still never runs.
				ts.Clock.Advance(10 * time.Minute)
				blPolls()
				if got := blSchedule(t, ts, sf, key, s3.GetId()); got.GetStatus() != blStatus("REVOKED") || got.GetPaymentId() != "" {
					t.Fatalf("a revoked schedule ran: %v", got)
				}
				wantRefusal(t, sf.call(t, ts, getPaymentByMerchantID("", mid3), key), connect.CodeNotFound, "PAYMENT_NOT_FOUND")
				for _, id := range []string{s2.GetId(), s3.GetId()} {
					for _, typ := range []string{blScheduleSucceeded, blScheduleFailed} {
						if hs := blHooks(t, rcv, typ, id); len(hs) != 0 {
							t.Fatalf("revoked schedule %s sent %s", id, typ)
						}
					}
				}
				if hs := blHooks(t, rcv, blScheduleSucceeded, s1.GetId()); len(hs) != 1 {
					t.Fatalf("%d billing.schedule.succeeded webhooks for %s, want 1", len(hs), s1.GetId())
				}
			})
		}
	})
}

// ---- 4. retry policy -----------------------------------------------------------------

// TestBillingScheduleRetryPolicy: a declined scheduled charge with a retry
// policy is retried after its interval, up to max_retries times, each retry
// a new schedule (merchant payment id "<first>-retry-N") making one
// payment, each failure sent as billing.schedule.failed; a successful one
// is not retried.
func TestBillingScheduleRetryPolicy(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *ent.Client) {
		ts := startServer(t, db, blFast, allowLocalWebhooks)
		key := headers("Authorization", ts.firstKeyAuth())
		rcv := waNewReceiver(t, http.StatusOK, "")
		waCreate(t, ts, key, &paymuxv1.CreateWebhookEndpointRequest{Url: rcv.URL + "/hooks", EventTypes: []string{blScheduleSucceeded, blScheduleFailed}})
		policy := &paymuxv1.RetryPolicy{Interval: durationpb.New(time.Hour), MaxRetries: 2}
		for _, sf := range surfaces {
			t.Run(sf.name, func(t *testing.T) {
				k := blIssueKey(t, ts, sf, key, "retry-"+sf.name, sandbox.CardBillingDeclines, &paymuxv1.Customer{Name: "Jung Hoseok"})
				good := blIssueKey(t, ts, sf, key, "retry-ok-"+sf.name, sandbox.CardSuccess, nil)
				base := ts.Clock.Now().UTC().Truncate(time.Second)
				mid, okMid := merchantID("bl-retry-"+sf.name), merchantID("bl-retry-ok-"+sf.name)
				in := blIn(mid, base.Add(time.Minute), 10000)
				in.RetryPolicy = policy
				first := blCreate(t, ts, sf, key, k.GetId(), in)[0]
				if !proto.Equal(first.GetRetryPolicy(), policy) || first.GetRetryNumber() != 0 || first.GetRetryOf() != "" {
					t.Fatalf("created %v", first)
				}
				okIn := blIn(okMid, base.Add(time.Minute), 10000)
				okIn.RetryPolicy = policy
				okSched := blCreate(t, ts, sf, key, good.GetId(), okIn)[0]

				ids := []string{first.GetId()}
				mids := []string{mid}
				prev := first
				for n := 1; n <= 3; n++ {
					if n == 1 {
						ts.Clock.Advance(2 * time.Minute)
					} else {
						ts.Clock.Advance(time.Hour + time.Second)
					}
					ended := blWaitSchedule(t, ts, key, prev.GetId(), "FAILED", blWait)
					if f := ended.GetFailure(); f.GetReason() != "PG_DECLINED" || f.GetDecline() != "INSUFFICIENT_FUNDS" || ended.GetPaymentId() == "" || ended.GetEndTime() == nil {
						t.Fatalf("try %d: %v", n, ended)
					}
					p := blPayment(t, ts, sf, key, ended.GetPaymentId())
					if p.GetStatus() != paymuxv1.PaymentStatus_PAYMENT_STATUS_FAILED || p.GetScheduleId() != prev.GetId() || p.GetMerchantPaymentId() != mids[n-1] ||
						p.GetBillingKeyId() != k.GetId() || p.GetFailure().GetReason() != "PG_DECLINED" {
						t.Fatalf("try %d: payment %v", n, p)
					}
					hook := blWaitHook(t, rcv, blScheduleFailed, prev.GetId())
					if hook.Data["status"] != "SCHEDULE_STATUS_FAILED" || hook.Data["paymentId"] != p.GetId() || hook.Data["merchantPaymentId"] != mids[n-1] {
						t.Fatalf("try %d: billing.schedule.failed data %v", n, hook.Data)
					}
					listed := blListScheds(t, ts, sf, key, &paymuxv1.ListSchedulesRequest{BillingKeyId: k.GetId()})
					if n == 3 {
						// No retries left: nothing new.
						blPolls()
						listed = blListScheds(t, ts, sf, key, &paymuxv1.ListSchedulesRequest{BillingKeyId: k.GetId()})
						if got := blSchedIDs(listed); !slices.Equal(got, ids) {
							t.Fatalf("after the last retry: schedules %v, want %v", got, ids)
						}
						break
					}
					if len(listed) != n+1 {
						t.Fatalf("after try %d: %d schedules, want %d: %v", n, len(listed), n+1, listed)
					}
					retry := listed[n]
					wantMID := fmt.Sprintf("%s-retry-%d", mid, n)
					if retry.GetStatus() != blStatus("SCHEDULED") || retry.GetMerchantPaymentId() != wantMID || retry.GetRetryOf() != first.GetId() ||
						retry.GetRetryNumber() != int32(n) || !retry.GetPayTime().AsTime().Equal(ended.GetEndTime().AsTime().Add(time.Hour)) ||
						retry.GetAmount().GetTotal() != 10000 || retry.GetOrderName() != first.GetOrderName() || !proto.Equal(retry.GetRetryPolicy(), policy) ||
						!proto.Equal(retry.GetCustomer(), first.GetCustomer()) || retry.GetBillingKeyId() != k.GetId() || retry.GetPaymentId() != "" {
						t.Fatalf("retry %d: %v (the failed one ended %s)", n, retry, ended.GetEndTime().AsTime())
					}
					ids = append(ids, retry.GetId())
					mids = append(mids, wantMID)
					prev = retry
				}

				// Each try made exactly one payment; none more.
				list := mustOK[*paymuxv1.ListPaymentsResponse](t, sf.call(t, ts, listPayments(&paymuxv1.ListPaymentsRequest{Query: mid}), key)).GetPayments()
				if len(list) != 3 {
					t.Fatalf("%d payments for %s, want 3: %v", len(list), mid, list)
				}
				for i, m := range mids {
					p := blPaymentByMID(t, ts, sf, key, m)
					if p.GetStatus() != paymuxv1.PaymentStatus_PAYMENT_STATUS_FAILED || p.GetScheduleId() != ids[i] {
						t.Fatalf("payment %s: %v", m, p)
					}
				}
				for _, id := range ids {
					// One event each; delivery is at least once, so an attempt
					// the receiver answered too slowly under load may come again
					// with the same webhook-id.
					events := map[string]bool{}
					for _, h := range rcv.hooks() {
						if b := waDecode(t, h); b.Type == blScheduleFailed && b.Data["id"] == id {
							events[h.id()] = true
						}
					}
					if len(events) != 1 {
						t.Fatalf("%d billing.schedule.failed events for %s, want 1", len(events), id)
					}
				}
				// The successful one with the same policy: not retried.
				okDone := blWaitSchedule(t, ts, key, okSched.GetId(), "SUCCEEDED", blWait)
				if got := blSchedIDs(blListScheds(t, ts, sf, key, &paymuxv1.ListSchedulesRequest{BillingKeyId: good.GetId()})); !slices.Equal(got, []string{okSched.GetId()}) {
					t.Fatalf("a successful schedule got retries: %v", got)
				}
				blWaitHook(t, rcv, blScheduleSucceeded, okDone.GetId())
			})
		}

		// A retry whose merchant payment id the merchant already gave another
		// schedule: the failed try still ends FAILED (its payment FAILED),
		// whatever becomes of the retry.
		t.Run("retry id taken", func(t *testing.T) {
			sf := surfaces[1]
			k := blIssueKey(t, ts, sf, key, "retry-taken", sandbox.CardBillingDeclines, nil)
			good := blIssueKey(t, ts, sf, key, "retry-taken-ok", sandbox.CardSuccess, nil)
			base := ts.Clock.Now().UTC().Truncate(time.Second)
			mid := merchantID("bl-taken")
			blCreate(t, ts, sf, key, good.GetId(), blIn(mid+"-retry-1", base.Add(30*24*time.Hour), 1000))
			in := blIn(mid, base.Add(time.Minute), 10000)
			in.RetryPolicy = policy
			s := blCreate(t, ts, sf, key, k.GetId(), in)[0]
			ts.Clock.Advance(2 * time.Minute)
			deadline := time.Now().Add(3 * time.Second)
			for {
				got := blSchedule(t, ts, sf, key, s.GetId())
				if got.GetStatus() == blStatus("FAILED") {
					break
				}
				if time.Now().After(deadline) {
					var pay *paymuxv1.Payment
					if got.GetPaymentId() != "" {
						pay = blPayment(t, ts, sf, key, got.GetPaymentId())
					}
					t.Fatalf("a declined schedule whose retry id is taken is still %s after 3s (payment %s is %s): %v",
						got.GetStatus(), got.GetPaymentId(), pay.GetStatus(), got)
				}
				time.Sleep(10 * time.Millisecond)
			}
			if p := blPaymentByMID(t, ts, sf, key, mid); p.GetStatus() != paymuxv1.PaymentStatus_PAYMENT_STATUS_FAILED {
				t.Fatalf("the declined payment is %s", p.GetStatus())
			}
		})
	})
}

// ---- 5. isolation ------------------------------------------------------------------------

// TestBillingIsolation: another store's key can neither see nor touch the
// first store's billing keys and schedules, which stay as they were; names
// and merchant payment ids are per store; a TEST key does not see LIVE
// billing keys and schedules, a LIVE key sees both.
func TestBillingIsolation(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *ent.Client) {
		ts := startServer(t, db, blFast)
		aKey := headers("Authorization", ts.firstKeyAuth())
		cn := surfaces[1]
		k := blIssueKey(t, ts, cn, aKey, "shared-name", sandbox.CardSuccess, &paymuxv1.Customer{Name: "Store A customer"})
		at := ts.Clock.Now().UTC().Truncate(time.Second).Add(time.Hour)
		sch := blCreate(t, ts, cn, aKey, k.GetId(), blIn("shared-order-1", at, 10000))[0]

		_, bKey := waOtherStore(t, ts)
		mustOK[*paymuxv1.CreateChannelResponse](t, callConnect(t, ts, createChannel(sandboxChannel("", "b sandbox")), bKey))

		for _, sf := range surfaces {
			t.Run(sf.name, func(t *testing.T) {
				notKey := func(r rpc) {
					t.Helper()
					wantRefusal(t, sf.call(t, ts, r, bKey), connect.CodeNotFound, "BILLING_KEY_NOT_FOUND")
				}
				notSched := func(r rpc) {
					t.Helper()
					wantRefusal(t, sf.call(t, ts, r, bKey), connect.CodeNotFound, "SCHEDULE_NOT_FOUND")
				}
				notKey(blGet(k.GetId()))
				notKey(blCharge(&paymuxv1.ChargeBillingKeyRequest{Id: k.GetId(), MerchantPaymentId: merchantID("bl-b-" + sf.name), OrderName: "steal", Amount: amount(1000)}))
				notKey(blCreateSchedules(k.GetId(), blIn(merchantID("bl-b-"+sf.name), at, 1000)))
				notKey(blDelete(k.GetId(), false, ""))
				notKey(blDelete(k.GetId(), true, ""))
				notKey(blRevokeKey(k.GetId()))
				notKey(blListSchedules(&paymuxv1.ListSchedulesRequest{BillingKeyId: k.GetId()}))
				notSched(blGetSchedule(sch.GetId()))
				notSched(blRevokeIDs("", sch.GetId()))
				notSched(blReschedule(sch.GetId(), at.Add(time.Hour), amount(1)))
				for _, ks := range blListKeys(t, ts, sf, bKey, &paymuxv1.ListBillingKeysRequest{}) {
					if ks.GetStoreId() == ts.First.StoreID {
						t.Fatalf("store B lists %v", ks)
					}
				}
				for _, s := range blListScheds(t, ts, sf, bKey, &paymuxv1.ListSchedulesRequest{}) {
					if s.GetStoreId() == ts.First.StoreID {
						t.Fatalf("store B lists %v", s)
					}
				}
				if r := sf.call(t, ts, blList(&paymuxv1.ListBillingKeysRequest{StoreId: ts.First.StoreID}), bKey); r.code != connect.CodePermissionDenied {
					t.Fatalf("store B lists store A's keys by store id: %v", r)
				}
			})
		}
		// Store A's key and schedule are as they were.
		if got := blGetKey(t, ts, cn, aKey, k.GetId()); got.GetStatus() != paymuxv1.BillingKeyStatus_BILLING_KEY_STATUS_ACTIVE || got.GetPendingSchedules() != 1 {
			t.Fatalf("store A's key after store B's attempts: %v", got)
		}
		if got := blSchedule(t, ts, cn, aKey, sch.GetId()); !proto.Equal(got, sch) {
			t.Fatalf("store A's schedule after store B's attempts: %v, want %v", got, sch)
		}

		// Names and merchant payment ids are per store.
		bk := blIssueKey(t, ts, cn, bKey, "shared-name", sandbox.CardSuccess, &paymuxv1.Customer{Name: "Store B customer"})
		if bk.GetStoreId() == ts.First.StoreID {
			t.Fatalf("store B's key %v", bk)
		}
		bs := blCreate(t, ts, cn, bKey, bk.GetId(), blIn("shared-order-1", at, 5000))[0]
		if got := blGetKey(t, ts, cn, aKey, "shared-name"); got.GetStoreId() != ts.First.StoreID || got.GetCustomer().GetName() != "Store A customer" {
			t.Fatalf("store A reads %v", got)
		}
		if got := blGetKey(t, ts, cn, bKey, "shared-name"); got.GetStoreId() == ts.First.StoreID || got.GetCustomer().GetName() != "Store B customer" {
			t.Fatalf("store B reads %v", got)
		}
		wantRefusal(t, cn.call(t, ts, blGetSchedule(bs.GetId()), aKey), connect.CodeNotFound, "SCHEDULE_NOT_FOUND")
		if got := blSchedIDs(blListScheds(t, ts, cn, aKey, &paymuxv1.ListSchedulesRequest{})); !slices.Equal(got, []string{sch.GetId()}) {
			t.Fatalf("store A lists schedules %v", got)
		}
		// Store B revoking all its key's schedules leaves store A's.
		if rv := mustOK[*paymuxv1.RevokeSchedulesResponse](t, cn.call(t, ts, blRevokeKey("shared-name"), bKey)); !slices.Equal(blSchedIDs(rv.GetRevoked()), []string{bs.GetId()}) {
			t.Fatalf("store B revokes %v", rv)
		}
		if got := blSchedule(t, ts, cn, aKey, sch.GetId()); got.GetStatus() != blStatus("SCHEDULED") {
			t.Fatalf("store A's schedule after store B's revoke: %v", got)
		}

		// Modes: a LIVE key and schedule, put in place directly (the sandbox
		// takes TEST only).
		sys := blSys()
		now := ts.Clock.Now().UTC().Truncate(time.Microsecond)
		liveCh := db.Channel.Create().SetStoreID(ts.First.StoreID).SetProvider(channel.ProviderSANDBOX).
			SetMode(channel.ModeLIVE).SetPurpose(channel.PurposePAYMENT).SetName("live").SetMerchantID("live-mid").
			SetTaxType(channel.TaxTypeTAXABLE).SetCreatedAt(time.Now()).SaveX(sys)
		liveK := db.BillingKey.Create().SetID("bk_liveIsolation1").SetStoreID(ts.First.StoreID).SetName("live-customer").SetActiveName("live-customer").
			SetChannelID(liveCh.ID).SetProvider("SANDBOX").SetMode(billingkey.ModeLIVE).SetStatus(billingkey.StatusACTIVE).
			SetPgKeySealed([]byte("sealed")).SetCard(&details.Card{Number: blMasked}).SetCreatedAt(now).SetUpdatedAt(now).SaveX(sys)
		liveS := db.Schedule.Create().SetID("sch_liveIsolation1").SetStoreID(ts.First.StoreID).SetBillingKeyID(liveK.ID).SetBillingKeyName(liveK.Name).
			SetChannelID(liveCh.ID).SetMode(schedule.ModeLIVE).SetStatus(schedule.StatusSCHEDULED).SetMerchantPaymentID("live-order-1").
			SetOrderName("Live plan").SetTotal(10000).SetTaxFree(0).SetVat(909).SetPayAt(now.Add(30 * 24 * time.Hour)).
			SetCreatedAt(now).SetUpdatedAt(now).SaveX(sys)
		liveKey := headers("Authorization", liveKeyAuth(t, ts))
		for _, sf := range surfaces {
			notKey := func(r rpc) {
				t.Helper()
				wantRefusal(t, sf.call(t, ts, r, aKey), connect.CodeNotFound, "BILLING_KEY_NOT_FOUND")
			}
			notSched := func(r rpc) {
				t.Helper()
				wantRefusal(t, sf.call(t, ts, r, aKey), connect.CodeNotFound, "SCHEDULE_NOT_FOUND")
			}
			notKey(blGet(liveK.Name))
			notKey(blGet(liveK.ID))
			notKey(blCharge(&paymuxv1.ChargeBillingKeyRequest{Id: liveK.Name, MerchantPaymentId: merchantID("bl-live-" + sf.name), OrderName: "x", Amount: amount(1000)}))
			notKey(blCreateSchedules(liveK.Name, blIn(merchantID("bl-live-"+sf.name), at, 1000)))
			notKey(blDelete(liveK.Name, true, ""))
			notKey(blRevokeKey(liveK.Name))
			notSched(blGetSchedule(liveS.ID))
			notSched(blRevokeIDs("", liveS.ID))
			notSched(blReschedule(liveS.ID, at, nil))
			if got := blKeyIDs(blListKeys(t, ts, sf, aKey, &paymuxv1.ListBillingKeysRequest{})); !slices.Equal(got, []string{k.GetId()}) {
				t.Fatalf("%s: a TEST key lists keys %v", sf.name, got)
			}
			if got := blSchedIDs(blListScheds(t, ts, sf, aKey, &paymuxv1.ListSchedulesRequest{})); !slices.Equal(got, []string{sch.GetId()}) {
				t.Fatalf("%s: a TEST key lists schedules %v", sf.name, got)
			}

			if got := blGetKey(t, ts, sf, liveKey, liveK.Name); got.GetMode() != paymuxv1.Mode_MODE_LIVE || got.GetPendingSchedules() != 1 {
				t.Fatalf("%s: the LIVE key reads %v", sf.name, got)
			}
			if got := blKeyIDs(blListKeys(t, ts, sf, liveKey, &paymuxv1.ListBillingKeysRequest{})); !slices.Equal(sorted(got...), sorted(k.GetId(), liveK.Name)) {
				t.Fatalf("%s: a LIVE key lists keys %v", sf.name, got)
			}
			if got := blSchedule(t, ts, sf, liveKey, liveS.ID); got.GetMode() != paymuxv1.Mode_MODE_LIVE || got.GetBillingKeyId() != liveK.Name {
				t.Fatalf("%s: the LIVE key reads %v", sf.name, got)
			}
		}
		if got := db.Schedule.GetX(sys, liveS.ID); got.Status != schedule.StatusSCHEDULED {
			t.Fatalf("the LIVE schedule after the TEST key's attempts: %s", got.Status)
		}
		if got := db.BillingKey.GetX(sys, liveK.ID); got.Status != billingkey.StatusACTIVE {
			t.Fatalf("the LIVE key after the TEST key's attempts: %s", got.Status)
		}
	})
}
