package webhook_test

// PAYACTION endpoints through the Outbox and the Dispatcher, with real
// HTTP receivers: what they are sent (PayAction's headers and bodies, made
// from a Deposit's protojson as the deposit service writes it) and when a
// delivery counts as done.

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/paymux/paymux/apierr"
	"github.com/paymux/paymux/ent"
	"github.com/paymux/paymux/ent/event"
	"github.com/paymux/paymux/ent/webhookdelivery"
	"github.com/paymux/paymux/ent/webhookendpoint"
	paymuxv1 "github.com/paymux/paymux/gen/paymux/v1"
	"github.com/paymux/paymux/internal/testdb"
	"github.com/paymux/paymux/webhook"
)

const payActionSuccess = `{"status":"success"}`

// payActionReceiver is a PayAction receiver: it keeps what it got and
// answers the n-th request (1-based) with answer(n).
type payActionReceiver struct {
	*httptest.Server
	mu   sync.Mutex
	hits []payActionHit
}

type payActionHit struct {
	method string
	header http.Header
	body   []byte
}

func newPayActionReceiver(t *testing.T, answer func(n int) (int, string)) *payActionReceiver {
	r := &payActionReceiver{}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.hits = append(r.hits, payActionHit{method: req.Method, header: req.Header.Clone(), body: body})
		n := len(r.hits)
		r.mu.Unlock()
		status, text := answer(n)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, text)
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *payActionReceiver) got() []payActionHit {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]payActionHit(nil), r.hits...)
}

// trace is the request of event id.
func (r *payActionReceiver) trace(t *testing.T, id string) payActionHit {
	t.Helper()
	for _, h := range r.got() {
		if h.header.Get("x-trace-id") == id {
			return h
		}
	}
	t.Fatalf("no request with x-trace-id %s", id)
	return payActionHit{}
}

// payActionEndpoint creates a TEST PAYACTION endpoint for url; it returns
// the endpoint and its secret as the merchant was shown it.
func (w *world) payActionEndpoint(t *testing.T, url string, eventTypes ...string) (*ent.WebhookEndpoint, string) {
	t.Helper()
	ep, secret, err := w.svc.CreateEndpoint(w.store, webhook.NewEndpoint{StoreID: w.storeID, Mode: webhookendpoint.ModeTEST,
		URL: url, EventTypes: eventTypes, ContentType: webhookendpoint.ContentTypePAYACTION})
	if err != nil {
		t.Fatal(err)
	}
	return ep, secret
}

// emitDeposit writes an event of typ about d at at, its data d's
// protojson as the deposit service writes it, and queues its deliveries.
func (w *world) emitDeposit(t *testing.T, typ string, d *paymuxv1.Deposit, at time.Time) *ent.Event {
	t.Helper()
	data, err := protojson.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	tx, err := w.db.Tx(w.sys)
	if err != nil {
		t.Fatal(err)
	}
	ev, err := tx.Event.Create().SetStoreID(w.storeID).SetMode(event.ModeTEST).SetType(typ).
		SetPaymentID(d.GetPaymentId()).SetMerchantPaymentID(d.GetMerchantPaymentId()).
		SetData(data).SetCreatedAt(at).Save(w.sys)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.outbox.Enqueue(w.sys, tx, ev, "BANK_TRANSFER"); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	return ev
}

// matchedDeposit is a deposit matched to order-1 (pay_1), made at.
func matchedDeposit(storeID string, how paymuxv1.MatchType) *paymuxv1.Deposit {
	return &paymuxv1.Deposit{
		Id: "dep_matched", StoreId: storeID, Mode: paymuxv1.Mode_MODE_TEST, BankAccountId: "bac_1",
		Type: paymuxv1.DepositType_DEPOSIT_TYPE_DEPOSIT, Status: paymuxv1.DepositStatus_DEPOSIT_STATUS_MATCHED,
		Amount: 15000, DepositorName: "홍길동", Balance: proto.Int64(250000),
		TransactionTime: timestamppb.New(time.Date(2025, 3, 14, 5, 30, 0, 123456000, time.UTC)),
		Source:          paymuxv1.DepositSource_DEPOSIT_SOURCE_FEED, SourceId: "feed-1", Candidates: 1,
		PaymentId: "pay_1", MerchantPaymentId: "order-1", MatchType: how,
		MatchTime:  timestamppb.New(time.Date(2025, 3, 14, 5, 31, 2, 0, time.UTC)),
		CreateTime: timestamppb.New(time.Date(2025, 3, 14, 5, 31, 1, 0, time.UTC)),
	}
}

// TestPayActionRequest: a PAYACTION endpoint gets deposit.matched and
// bank.transaction as a JSON POST in PayAction's style, with x-webhook-key
// (its secret as shown), x-mall-id and x-trace-id beside paymux's
// signature; the delivery log keeps the request without the secret. Other
// events are not queued for it.
func TestPayActionRequest(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, db *ent.Client) {
		w := start(t, db)
		rcv := newPayActionReceiver(t, func(int) (int, string) { return http.StatusOK, payActionSuccess })
		ep, secret := w.payActionEndpoint(t, rcv.URL)
		key, err := webhook.ParseSecret(secret)
		if err != nil {
			t.Fatal(err)
		}
		kst := time.FixedZone("KST", 9*60*60)
		at := time.Date(2025, 3, 14, 14, 45, 0, 0, kst)
		for _, tc := range []struct {
			name, eventType string
			deposit         *paymuxv1.Deposit
			want            string // MALL is the store id
		}{{
			name: "matched automatically", eventType: "deposit.matched",
			deposit: matchedDeposit(w.storeID, paymuxv1.MatchType_MATCH_TYPE_AUTO),
			want: `{"order_number":"order-1","order_status":"매칭완료","processing_date":"2025-03-14T14:31:02+09:00",` +
				`"billing_name":"홍길동","deposit_amount":15000,"deposit_date":"2025-03-14T14:30:00+09:00",` +
				`"match_type":"auto","payment_id":"pay_1","deposit_id":"dep_matched","mall_id":"MALL"}`,
		}, {
			name: "matched by hand", eventType: "deposit.matched",
			deposit: func() *paymuxv1.Deposit {
				d := matchedDeposit(w.storeID, paymuxv1.MatchType_MATCH_TYPE_MANUAL)
				d.Id, d.PaymentId, d.MerchantPaymentId, d.Amount = "dep_manual", "pay_2", "order-2", 1234567890
				d.MatchTime = timestamppb.New(time.Date(2025, 3, 14, 15, 0, 0, 999999999, time.UTC)) // past midnight in Seoul
				return d
			}(),
			want: `{"order_number":"order-2","order_status":"매칭완료","processing_date":"2025-03-15T00:00:00+09:00",` +
				`"billing_name":"홍길동","deposit_amount":1234567890,"deposit_date":"2025-03-14T14:30:00+09:00",` +
				`"match_type":"manual","payment_id":"pay_2","deposit_id":"dep_manual","mall_id":"MALL"}`,
		}, {
			name: "deposit", eventType: "bank.transaction",
			deposit: &paymuxv1.Deposit{
				Id: "dep_in", StoreId: w.storeID, Mode: paymuxv1.Mode_MODE_TEST, BankAccountId: "bac_1",
				Type: paymuxv1.DepositType_DEPOSIT_TYPE_DEPOSIT, Status: paymuxv1.DepositStatus_DEPOSIT_STATUS_UNMATCHED,
				Amount: 50000, DepositorName: "김철수", Balance: proto.Int64(300000),
				TransactionTime: timestamppb.New(time.Date(2025, 3, 14, 23, 59, 59, 0, time.UTC)),
				Source:          paymuxv1.DepositSource_DEPOSIT_SOURCE_MESSAGE, UnmatchedReason: "NO_CANDIDATE",
			},
			want: `{"transaction_type":"입금","transaction_date":"2025-03-15T08:59:59+09:00","amount":50000,` +
				`"balance":300000,"name":"김철수","bank_account_id":"bac_1","deposit_id":"dep_in","mall_id":"MALL"}`,
		}, {
			name: "withdrawal without a balance", eventType: "bank.transaction",
			deposit: &paymuxv1.Deposit{
				Id: "dep_out", StoreId: w.storeID, Mode: paymuxv1.Mode_MODE_TEST, BankAccountId: "bac_2",
				Type: paymuxv1.DepositType_DEPOSIT_TYPE_WITHDRAWAL, Status: paymuxv1.DepositStatus_DEPOSIT_STATUS_RECORDED,
				Amount: 3000, DepositorName: "쿠팡(주)",
				TransactionTime: timestamppb.New(time.Date(2025, 3, 14, 1, 2, 3, 0, time.UTC)),
				Source:          paymuxv1.DepositSource_DEPOSIT_SOURCE_STATEMENT,
			},
			want: `{"transaction_type":"출금","transaction_date":"2025-03-14T10:02:03+09:00","amount":3000,` +
				`"name":"쿠팡(주)","bank_account_id":"bac_2","deposit_id":"dep_out","mall_id":"MALL"}`,
		}, {
			name: "balance of zero", eventType: "bank.transaction",
			deposit: &paymuxv1.Deposit{
				Id: "dep_zero", StoreId: w.storeID, Mode: paymuxv1.Mode_MODE_TEST, BankAccountId: "bac_2",
				Type: paymuxv1.DepositType_DEPOSIT_TYPE_WITHDRAWAL, Status: paymuxv1.DepositStatus_DEPOSIT_STATUS_RECORDED,
				Amount: 7000, DepositorName: "이체", Balance: proto.Int64(0),
				TransactionTime: timestamppb.New(time.Date(2025, 3, 14, 1, 2, 3, 0, time.UTC)),
			},
			want: `{"transaction_type":"출금","transaction_date":"2025-03-14T10:02:03+09:00","amount":7000,` +
				`"balance":0,"name":"이체","bank_account_id":"bac_2","deposit_id":"dep_zero","mall_id":"MALL"}`,
		}} {
			t.Run(tc.name, func(t *testing.T) {
				ev := w.emitDeposit(t, tc.eventType, tc.deposit, at)
				d := w.awaitStatus(t, ev, ep, 1, webhookdelivery.StatusSUCCEEDED)
				h := rcv.trace(t, ev.ID)
				want := strings.ReplaceAll(tc.want, "MALL", w.storeID)
				if string(h.body) != want {
					t.Errorf("body\n got %s\nwant %s", h.body, want)
				}
				if h.method != http.MethodPost {
					t.Errorf("method %s", h.method)
				}
				for name, want := range map[string]string{
					"x-webhook-key": secret, "x-mall-id": w.storeID, "x-trace-id": ev.ID,
					"Content-Type": "application/json", "User-Agent": "paymux-webhooks/1", webhook.HeaderID: ev.ID,
				} {
					if got := h.header.Get(name); got != want {
						t.Errorf("%s: %q, want %q", name, got, want)
					}
				}
				if err := webhook.Verify(key, h.header, h.body, w.clock.Now(), 0); err != nil {
					t.Errorf("paymux's signature: %v", err)
				}

				as := w.attempts(t, d)
				if len(as) != 1 {
					t.Fatalf("%d attempts logged, want 1", len(as))
				}
				a := as[0]
				if string(a.RequestBody) != want || a.Error != "" || a.RequestHeaders["X-Mall-Id"] != w.storeID ||
					a.RequestHeaders["X-Trace-Id"] != ev.ID || a.RequestHeaders["X-Webhook-Key"] != "[REDACTED]" {
					t.Errorf("attempt logged: headers %v, body %s, error %q", a.RequestHeaders, a.RequestBody, a.Error)
				}
				for name, v := range a.RequestHeaders {
					if strings.Contains(v, strings.TrimPrefix(secret, webhook.SecretPrefix)) {
						t.Errorf("the delivery log keeps the secret in %s", name)
					}
				}
			})
		}

		// Not PayAction's events: nothing queued for it.
		for _, typ := range []string{"deposit.received", "deposit.unmatched"} {
			ev := w.emitDeposit(t, typ, matchedDeposit(w.storeID, paymuxv1.MatchType_MATCH_TYPE_AUTO), at)
			if n, err := w.db.WebhookDelivery.Query().Where(webhookdelivery.EventID(ev.ID)).Count(w.sys); err != nil || n != 0 {
				t.Errorf("%s: %d deliveries queued (err %v), want none", typ, n, err)
			}
		}
		ev := w.emit(t, "payment.paid", "pay_3")
		if n, err := w.db.WebhookDelivery.Query().Where(webhookdelivery.EventID(ev.ID)).Count(w.sys); err != nil || n != 0 {
			t.Errorf("payment.paid: %d deliveries queued (err %v), want none", n, err)
		}
	})
}

// TestPayActionSuccess: a PAYACTION delivery is done only on 200 with a
// JSON object whose status is "success"; any other answer is a failure,
// logged with why, and retried on the schedule. The answer is judged
// whole even when the delivery log keeps less of it.
func TestPayActionSuccess(t *testing.T) {
	const notSuccess = `answer is not {"status":"success"}`
	cases := []struct {
		name   string
		status int
		body   string
		ok     bool
		err    string // the attempt's error
	}{
		{"success", http.StatusOK, payActionSuccess, true, ""},
		{"success, spaced, more members", http.StatusOK, " {\n  \"message\": \"처리완료\",\n  \"status\" : \"success\" }\n", true, ""},
		{"plain OK", http.StatusOK, "OK", false, notSuccess},
		{"result, not status", http.StatusOK, `{"result":"success"}`, false, notSuccess},
		{"status fail", http.StatusOK, `{"status":"fail"}`, false, notSuccess},
		{"status in capitals", http.StatusOK, `{"status":"SUCCESS"}`, false, notSuccess},
		{"Status key", http.StatusOK, `{"Status":"success"}`, false, notSuccess},
		{"status not a string", http.StatusOK, `{"status":true}`, false, notSuccess},
		{"status null", http.StatusOK, `{"status":null}`, false, notSuccess},
		{"in an array", http.StatusOK, `[{"status":"success"}]`, false, notSuccess},
		{"trailing garbage", http.StatusOK, `{"status":"success"} ok`, false, notSuccess},
		{"empty", http.StatusOK, "", false, notSuccess},
		{"201", http.StatusCreated, payActionSuccess, false, "answer is HTTP 201, not 200"},
		{"202", http.StatusAccepted, payActionSuccess, false, "answer is HTTP 202, not 200"},
		{"500", http.StatusInternalServerError, payActionSuccess, false, ""},
	}
	testdb.ForEach(t, func(t *testing.T, db *ent.Client) {
		w := start(t, db, func(c *webhook.Config) {
			c.RetrySchedule = "1h,1h"
			c.MaxResponseBytes = 8 // less than {"status":"success"}
		})
		eps := make([]*ent.WebhookEndpoint, len(cases))
		rcvs := make([]*payActionReceiver, len(cases))
		for i, tc := range cases {
			// The case's answer first, success after.
			rcvs[i] = newPayActionReceiver(t, func(n int) (int, string) {
				if n == 1 {
					return tc.status, tc.body
				}
				return http.StatusOK, payActionSuccess
			})
			eps[i], _ = w.payActionEndpoint(t, rcvs[i].URL)
		}
		t0 := w.clock.Now()
		ev := w.emitDeposit(t, "deposit.matched", matchedDeposit(w.storeID, paymuxv1.MatchType_MATCH_TYPE_AUTO), t0)
		for i, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				status := webhookdelivery.StatusPENDING
				if tc.ok {
					status = webhookdelivery.StatusSUCCEEDED
				}
				d := w.awaitStatus(t, ev, eps[i], 1, status)
				if d.LastStatus != tc.status {
					t.Errorf("last status %d, want %d", d.LastStatus, tc.status)
				}
				if wait := d.NextAttemptAt.Sub(t0); !tc.ok && (wait < 48*time.Minute || wait > 72*time.Minute) {
					t.Errorf("retry in %s, want 1h ±20%%", wait)
				}
				a := w.attempts(t, d)[0]
				if a.Error != tc.err || a.ResponseStatus != tc.status {
					t.Errorf("attempt: HTTP %d, error %q; want HTTP %d, error %q", a.ResponseStatus, a.Error, tc.status, tc.err)
				}
				if len(tc.body) > 8 && (len(a.ResponseBody) != 8 || !a.ResponseTruncated) {
					t.Errorf("the log kept %q (truncated %v), want its first 8 bytes", a.ResponseBody, a.ResponseTruncated)
				}
				cur, err := w.db.WebhookEndpoint.Get(w.sys, eps[i].ID)
				if err != nil {
					t.Fatal(err)
				}
				if failing := cur.FailingSince != nil; failing == tc.ok {
					t.Errorf("endpoint failing since %v after a success %v", cur.FailingSince, tc.ok)
				}
			})
		}

		// The retries come due and are answered with success.
		w.clock.Add(73 * time.Minute)
		w.d.Wake()
		for i, tc := range cases {
			if tc.ok {
				continue
			}
			t.Run(tc.name+"/retried", func(t *testing.T) {
				w.awaitStatus(t, ev, eps[i], 2, webhookdelivery.StatusSUCCEEDED)
				hits := rcvs[i].got()
				if len(hits) != 2 || hits[0].header.Get("x-trace-id") != ev.ID || hits[1].header.Get("x-trace-id") != ev.ID ||
					string(hits[0].body) != string(hits[1].body) {
					t.Errorf("%d requests; want the same one twice", len(hits))
				}
			})
		}
		for outcome, want := range map[string]float64{"succeeded": float64(len(cases)), "retry": float64(len(cases) - 2)} {
			if got := w.attemptsTotal(t, outcome); got != want {
				t.Errorf(`paymux_webhook_attempts_total{outcome=%q} = %v, want %v`, outcome, got, want)
			}
		}
	})
}

// TestPayActionTestCall: a TEST call to a PAYACTION endpoint sends a
// matched deposit in PayAction's format and is judged by its answer; an
// event type the format does not carry is refused.
func TestPayActionTestCall(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, db *ent.Client) {
		w := start(t, db)
		for _, tc := range []struct {
			name      string
			eventType string
			answer    string
			want      webhookdelivery.Status
		}{
			{"matched, success", "deposit.matched", payActionSuccess, webhookdelivery.StatusSUCCEEDED},
			{"bank transaction, success", "bank.transaction", payActionSuccess, webhookdelivery.StatusSUCCEEDED},
			{"matched, OK", "deposit.matched", "OK", webhookdelivery.StatusFAILED},
		} {
			t.Run(tc.name, func(t *testing.T) {
				rcv := newPayActionReceiver(t, func(int) (int, string) { return http.StatusOK, tc.answer })
				ep, secret := w.payActionEndpoint(t, rcv.URL)
				a, err := w.svc.TestEndpoint(w.store, ep.ID, false, tc.eventType)
				if err != nil {
					t.Fatal(err)
				}
				d, err := w.db.WebhookDelivery.Get(w.sys, a.DeliveryID)
				if err != nil {
					t.Fatal(err)
				}
				if d.Status != tc.want {
					t.Errorf("TEST call's delivery %s, want %s (attempt error %q)", d.Status, tc.want, a.Error)
				}
				hits := rcv.got()
				if len(hits) != 1 {
					t.Fatalf("%d requests, want 1", len(hits))
				}
				if got := hits[0].header.Get("x-webhook-key"); got != secret {
					t.Errorf("x-webhook-key %q, want the endpoint's secret", got)
				}
				want := `"deposit_amount":1000`
				if tc.eventType == "bank.transaction" {
					want = `"transaction_type":"입금","transaction_date":"`
				}
				if !strings.Contains(string(hits[0].body), want) {
					t.Errorf("body %s, want it to hold %s", hits[0].body, want)
				}
			})
		}
		rcv := newPayActionReceiver(t, func(int) (int, string) { return http.StatusOK, payActionSuccess })
		ep, _ := w.payActionEndpoint(t, rcv.URL)
		if _, err := w.svc.TestEndpoint(w.store, ep.ID, false, "payment.paid"); apierr.CodeOf(err) != apierr.CodeInvalidArgument {
			t.Errorf("a TEST call of payment.paid to a PAYACTION endpoint: %v, want invalid argument", err)
		}
		if n := len(rcv.got()); n != 0 {
			t.Errorf("%d requests sent for a refused TEST call", n)
		}
	})
}

// TestPayActionSwitchedEndpoint: an endpoint switched to PAYACTION with
// deliveries queued before fails those of events PAYACTION does not carry,
// unsent, and sends the others in its new format.
func TestPayActionSwitchedEndpoint(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, db *ent.Client) {
		w := start(t, db)
		rcv := newPayActionReceiver(t, func(int) (int, string) { return http.StatusOK, payActionSuccess })
		ep, _ := w.endpoint(t, webhook.NewEndpoint{URL: rcv.URL})
		later := w.clock.Now().Add(time.Hour)
		paid := w.emitAt(t, "payment.paid", "pay_1", later)
		matched := w.emitDeposit(t, "deposit.matched", matchedDeposit(w.storeID, paymuxv1.MatchType_MATCH_TYPE_AUTO), later)
		if _, err := w.svc.UpdateEndpoint(w.store, webhook.EndpointChange{ID: ep.ID, Fields: []string{"content_type"},
			ContentType: webhookendpoint.ContentTypePAYACTION}); err != nil {
			t.Fatal(err)
		}
		w.clock.Add(2 * time.Hour)
		w.d.Wake()
		w.awaitStatus(t, matched, ep, 1, webhookdelivery.StatusSUCCEEDED)
		w.awaitStatus(t, paid, ep, 0, webhookdelivery.StatusFAILED)
		hits := rcv.got()
		if len(hits) != 1 || !strings.HasPrefix(string(hits[0].body), `{"order_number":"order-1",`) {
			t.Errorf("%d requests; want the matched deposit in PayAction's format", len(hits))
		}
	})
}
