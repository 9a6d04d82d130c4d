package server_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/paymux/paymux/app"
	"github.com/paymux/paymux/config"
	"github.com/paymux/paymux/ent"
	"github.com/paymux/paymux/ent/cancellation"
	"github.com/paymux/paymux/ent/idempotencyrecord"
	"github.com/paymux/paymux/ent/payment"
	paymuxv1 "github.com/paymux/paymux/gen/paymux/v1"
	"github.com/paymux/paymux/providers"
	"github.com/paymux/paymux/providers/sandbox"
	"github.com/paymux/paymux/tenant"
)

// Concurrency and Idempotency-Key (DOMAIN §4, §12): many calls at once on
// one payment, and retries with the same key, on every surface and both
// databases.

const idemHeader = "Idempotency-Key"

// concSeq numbers merchant payment ids and keys; safe from any goroutine
// (merchantID is not).
var concSeq atomic.Int64

func concID(prefix string) string { return fmt.Sprintf("%s-%d", prefix, concSeq.Add(1)) }

// withKey returns h plus an Idempotency-Key.
func withKey(h http.Header, key string) http.Header {
	out := h.Clone()
	out.Set(idemHeader, key)
	return out
}

// inParallel runs n calls at once (released together) and returns their
// results in order. The test's verdict belongs to the caller, from the
// results: call only fails the test for a broken transport.
func inParallel(n int, call func(i int) result) []result {
	out := make([]result, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			out[i] = call(i)
		})
	}
	close(start)
	wg.Wait()
	return out
}

// warmSurfaces opens the shared gRPC connection from the test goroutine,
// before calls run in parallel.
func warmSurfaces(t *testing.T, ts *testServer) { grpcConn(t, ts) }

func instantCard(mid string, total int64, card string) *paymuxv1.CreateInstantPaymentRequest {
	return &paymuxv1.CreateInstantPaymentRequest{
		MerchantPaymentId: mid, OrderName: "concurrency", Amount: amount(total),
		Method: &paymuxv1.CreateInstantPaymentRequest_Card{Card: testCard(card)},
	}
}

// paidPayment charges a card at once and returns the PAID payment.
func paidPayment(t *testing.T, ts *testServer, total int64) *paymuxv1.Payment {
	t.Helper()
	p := mustOK[*paymuxv1.CreateInstantPaymentResponse](t, callConnect(t, ts,
		instantPayment(instantCard(concID("paid"), total, sandbox.CardSuccess)), headers("Authorization", ts.firstKeyAuth()))).GetPayment()
	if p.GetStatus() != paymuxv1.PaymentStatus_PAYMENT_STATUS_PAID {
		t.Fatalf("payment not paid: %v", p)
	}
	return p
}

func fetchPayment(t *testing.T, ts *testServer, id string) *paymuxv1.Payment {
	t.Helper()
	return mustOK[*paymuxv1.GetPaymentResponse](t, callConnect(t, ts, getPayment(id), headers("Authorization", ts.firstKeyAuth()))).GetPayment()
}

// pgOrders lists what the first store's sandbox PG holds for a paymux
// payment id (the PG's order id).
func pgOrders(ts *testServer, paymentID string) []providers.Payment {
	var out []providers.Payment
	for _, p := range ts.Sandbox.Payments(sandboxPG(ts)) {
		if p.OrderID == paymentID {
			out = append(out, p)
		}
	}
	return out
}

// paymentRows counts paymux's payments with a merchant payment id, in any
// store.
func paymentRows(t *testing.T, ts *testServer, mid string) int {
	t.Helper()
	n, err := ts.DB.Payment.Query().Where(payment.MerchantPaymentID(mid)).Count(tenant.System(context.Background()))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// checkAmounts asserts that a payment's amounts hold together and agree
// with its succeeded cancels, none of which is still REQUESTED.
func checkAmounts(t *testing.T, p *paymuxv1.Payment) {
	t.Helper()
	a := p.GetAmounts()
	var sum, vat, taxFree int64
	for _, c := range p.GetCancellations() {
		switch c.GetStatus() {
		case paymuxv1.CancellationStatus_CANCELLATION_STATUS_SUCCEEDED:
			sum += c.GetAmount()
			vat += c.GetVat()
			taxFree += c.GetTaxFree()
			if c.GetVat() < 0 || c.GetTaxFree() < 0 || c.GetVat()+c.GetTaxFree() > c.GetAmount() {
				t.Errorf("cancel %s splits badly: %v", c.GetId(), c)
			}
		case paymuxv1.CancellationStatus_CANCELLATION_STATUS_REQUESTED:
			t.Errorf("cancel %s still REQUESTED after every call returned: %v", c.GetId(), c)
		}
	}
	switch {
	case a.GetCancelled() != sum || a.GetCancelledVat() != vat || a.GetCancelledTaxFree() != taxFree:
		t.Errorf("payment cancelled %d (VAT %d, tax-free %d), its succeeded cancels sum to %d (VAT %d, tax-free %d)",
			a.GetCancelled(), a.GetCancelledVat(), a.GetCancelledTaxFree(), sum, vat, taxFree)
	case a.GetCancelled() > a.GetPaid():
		t.Errorf("cancelled %d of %d paid", a.GetCancelled(), a.GetPaid())
	case a.GetCancelledVat() > a.GetVat() || a.GetCancelledTaxFree() > a.GetTaxFree():
		t.Errorf("cancelled VAT %d of %d, tax-free %d of %d", a.GetCancelledVat(), a.GetVat(), a.GetCancelledTaxFree(), a.GetTaxFree())
	case a.GetCancelled()-a.GetCancelledVat()-a.GetCancelledTaxFree() > a.GetSupply():
		t.Errorf("cancelled supply %d exceeds supply %d", a.GetCancelled()-a.GetCancelledVat()-a.GetCancelledTaxFree(), a.GetSupply())
	case a.GetCancellable() != a.GetPaid()-a.GetCancelled():
		t.Errorf("cancellable %d, want paid %d - cancelled %d", a.GetCancellable(), a.GetPaid(), a.GetCancelled())
	case a.GetTotal() != a.GetTaxFree()+a.GetVat()+a.GetSupply():
		t.Errorf("total %d != tax-free %d + VAT %d + supply %d", a.GetTotal(), a.GetTaxFree(), a.GetVat(), a.GetSupply())
	}
}

// checkPGAgrees asserts that the sandbox PG holds the same cancels as
// paymux for the payment.
func checkPGAgrees(t *testing.T, ts *testServer, p *paymuxv1.Payment) {
	t.Helper()
	pg := pgOrders(ts, p.GetId())
	if len(pg) != 1 {
		t.Fatalf("the sandbox holds %d payments for %s, want 1", len(pg), p.GetId())
	}
	got, a := pg[0].Amounts, p.GetAmounts()
	if got.Paid != a.GetPaid() || got.Cancelled != a.GetCancelled() || got.CancelledVAT != a.GetCancelledVat() ||
		got.CancelledTaxFree != a.GetCancelledTaxFree() {
		t.Errorf("sandbox amounts %+v, paymux %v", got, a)
	}
	succeeded := 0
	for _, c := range p.GetCancellations() {
		if c.GetStatus() == paymuxv1.CancellationStatus_CANCELLATION_STATUS_SUCCEEDED {
			succeeded++
		}
	}
	if len(pg[0].Cancellations) != succeeded {
		t.Errorf("the sandbox holds %d cancels, paymux %d succeeded", len(pg[0].Cancellations), succeeded)
	}
}

// TestConcurrentPartialCancels: 50 partial cancels at once on one PAID
// payment, over every surface. The balance is held before the PG is asked,
// so exactly as many succeed as fit; the rest are refused for the balance;
// paymux and the PG agree to the won.
func TestConcurrentPartialCancels(t *testing.T) {
	cases := []struct {
		name             string
		total, taxFree   int64
		each             int64
		n, wantSucceeded int
		// ok lists the reasons a refused cancel may carry.
		ok map[string]bool
	}{
		// 33 × 1,500 = 49,500 of 50,000: 500 is left.
		{name: "remainder", total: 50000, each: 1500, n: 50, wantSucceeded: 33,
			ok: map[string]bool{"CANCEL_AMOUNT_EXCEEDS_CANCELLABLE_AMOUNT": true}},
		// 30 × 1,100 = 33,000 exactly, with a tax-free part: the cancels
		// held last take the remaining tax-free amount and VAT, whatever
		// order they settle in. Once the balance is all held or cancelled,
		// PAYMENT_ALREADY_CANCELLED ("nothing is left") is the answer.
		{name: "exact", total: 33000, taxFree: 3300, each: 1100, n: 40, wantSucceeded: 30,
			ok: map[string]bool{"CANCEL_AMOUNT_EXCEEDS_CANCELLABLE_AMOUNT": true, "PAYMENT_ALREADY_CANCELLED": true}},
	}
	forEachDB(t, func(t *testing.T, db *ent.Client) {
		ts := startServer(t, db)
		warmSurfaces(t, ts)
		key := headers("Authorization", ts.firstKeyAuth())
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				req := instantCard(concID("cancel-"+tc.name), tc.total, sandbox.CardSuccess)
				req.Amount.TaxFree = tc.taxFree
				p := mustOK[*paymuxv1.CreateInstantPaymentResponse](t, callConnect(t, ts, instantPayment(req), key)).GetPayment()
				if p.GetStatus() != paymuxv1.PaymentStatus_PAYMENT_STATUS_PAID {
					t.Fatalf("not paid: %v", p)
				}
				results := inParallel(tc.n, func(i int) result {
					return surfaces[i%len(surfaces)].call(t, ts, cancelPayment(&paymuxv1.CancelPaymentRequest{
						Id: p.GetId(), Amount: i64(tc.each), Reason: fmt.Sprintf("parallel %d", i),
					}), key)
				})
				succeeded, refused := 0, map[string]int{}
				var won int64
				for _, r := range results {
					if r.code == 0 {
						c := r.msg.(*paymuxv1.CancelPaymentResponse).GetCancellation()
						if c.GetStatus() != paymuxv1.CancellationStatus_CANCELLATION_STATUS_SUCCEEDED || c.GetAmount() != tc.each {
							t.Errorf("%s: answered cancel %v", r.surface, c)
						}
						succeeded++
						won += c.GetAmount()
						continue
					}
					refused[r.reason]++
					if r.code != connect.CodeFailedPrecondition || !tc.ok[r.reason] {
						t.Errorf("unexpected refusal: %v", r)
					} else if r.httpStatus != 0 && r.httpStatus != http.StatusBadRequest {
						t.Errorf("REST refusal with HTTP %d: %v", r.httpStatus, r)
					}
				}
				if won > tc.total {
					t.Fatalf("%d cancels won %d of %d paid", succeeded, won, tc.total)
				}
				if succeeded != tc.wantSucceeded {
					t.Errorf("%d cancels succeeded (refused: %v), want %d", succeeded, refused, tc.wantSucceeded)
				}

				got := fetchPayment(t, ts, p.GetId())
				checkAmounts(t, got)
				checkPGAgrees(t, ts, got)
				if got.GetAmounts().GetCancelled() != won {
					t.Errorf("payment cancelled %d, the answered cancels won %d", got.GetAmounts().GetCancelled(), won)
				}
				if rows, err := ts.DB.Cancellation.Query().Where(cancellation.PaymentID(p.GetId())).Count(tenant.System(context.Background())); err != nil || rows != succeeded {
					t.Errorf("%d cancellation rows (%v), want %d (a refused cancel leaves none)", rows, err, succeeded)
				}

				// What is left cancels in full: the VAT and tax-free
				// cancelled then sum exactly to the payment's, at the PG too.
				if left := got.GetAmounts().GetCancellable(); left > 0 {
					got = mustOK[*paymuxv1.CancelPaymentResponse](t, callConnect(t, ts, cancelPayment(&paymuxv1.CancelPaymentRequest{
						Id: p.GetId(), Reason: "the rest", CurrentCancellableAmount: i64(left),
					}), key)).GetPayment()
				}
				a := got.GetAmounts()
				if got.GetStatus() != paymuxv1.PaymentStatus_PAYMENT_STATUS_CANCELLED || a.GetCancelled() != tc.total ||
					a.GetCancelledVat() != a.GetVat() || a.GetCancelledTaxFree() != a.GetTaxFree() || a.GetCancellable() != 0 {
					t.Errorf("after cancelling the rest: %v", got)
				}
				checkAmounts(t, got)
				checkPGAgrees(t, ts, got)
			})
		}
	})
}

// TestConcurrentConfirm: 20 confirms at once of one window-authenticated
// payment: one charges it, the others are told it is pending or paid, and
// the PG holds one charge.
func TestConcurrentConfirm(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *ent.Client) {
		ts := startServer(t, db)
		warmSurfaces(t, ts)
		key := headers("Authorization", ts.firstKeyAuth())
		created := mustOK[*paymuxv1.CreatePaymentResponse](t, callConnect(t, ts, createPayment(&paymuxv1.CreatePaymentRequest{
			MerchantPaymentId: concID("confirm"), OrderName: "race", Amount: amount(30000),
		}), key))
		id := created.GetPayment().GetId()
		if back := completeWindow(t, created.GetWindow().GetCheckoutUrl(), sandbox.CardSuccess); back["payment_id"] != id {
			t.Fatalf("window return %v", back)
		}
		const n = 20
		results := inParallel(n, func(i int) result {
			return surfaces[i%len(surfaces)].call(t, ts, confirmPayment(&paymuxv1.ConfirmPaymentRequest{Id: id, Amount: 30000}), key)
		})
		paid, refused := 0, map[string]int{}
		for _, r := range results {
			if r.code == 0 {
				paid++
				if p := r.msg.(*paymuxv1.ConfirmPaymentResponse).GetPayment(); p.GetStatus() != paymuxv1.PaymentStatus_PAYMENT_STATUS_PAID || p.GetId() != id {
					t.Errorf("%s: confirmed %v", r.surface, p)
				}
				continue
			}
			refused[r.reason]++
			if r.code != connect.CodeFailedPrecondition || (r.reason != "PAYMENT_PENDING" && r.reason != "ALREADY_PAID") {
				t.Errorf("unexpected refusal: %v", r)
			} else if r.httpStatus != 0 && r.httpStatus != http.StatusBadRequest {
				t.Errorf("REST refusal with HTTP %d: %v", r.httpStatus, r)
			}
		}
		if paid != 1 {
			t.Fatalf("%d confirms succeeded (refused %v), want exactly 1", paid, refused)
		}
		pg := pgOrders(ts, id)
		if len(pg) != 1 || pg[0].Status != providers.StatusPaid || pg[0].Amounts.Paid != 30000 {
			t.Fatalf("the sandbox holds %+v for %s, want one charge of 30000", pg, id)
		}
		got := fetchPayment(t, ts, id)
		if got.GetStatus() != paymuxv1.PaymentStatus_PAYMENT_STATUS_PAID || got.GetAmounts().GetPaid() != 30000 ||
			got.GetPgTransactionId() != pg[0].PGTransactionID || fmt.Sprint(statuses(got)) != "[READY PAY_PENDING PAID]" {
			t.Fatalf("after the race: %v (history %v)", got, statuses(got))
		}
	})
}

// restRaw sends a REST request with a JSON body of msg (nil: none) and
// returns the HTTP status and the body as sent.
func restRaw(t *testing.T, ts *testServer, method, path string, msg proto.Message, h http.Header) (int, []byte) {
	t.Helper()
	var body io.Reader
	if msg != nil {
		b, err := protojson.Marshal(msg)
		if err != nil {
			t.Fatal(err)
		}
		body = bytes.NewReader(b)
	}
	resp, raw := rawHTTP(t, http.DefaultClient, method, ts.URL+path, body, h)
	return resp.StatusCode, raw
}

// sameResult asserts that a replay answered what the first call did.
func sameResult(t *testing.T, first, replay result) {
	t.Helper()
	if first.code != replay.code || first.reason != replay.reason || first.message != replay.message {
		t.Fatalf("replay answered %v, the first call %v", replay, first)
	}
	if first.code == 0 && !proto.Equal(first.msg, replay.msg) {
		t.Fatalf("replay answered\n%v\nthe first call\n%v", replay.msg, first.msg)
	}
}

func instantID(t *testing.T, r result) string {
	t.Helper()
	return mustOK[*paymuxv1.CreateInstantPaymentResponse](t, r).GetPayment().GetId()
}

// idemRecords counts the stored records of an Idempotency-Key, in any scope.
func idemRecords(t *testing.T, ts *testServer, key string) int {
	t.Helper()
	n, err := ts.DB.IdempotencyRecord.Query().Where(idempotencyrecord.Key(key)).Count(tenant.System(context.Background()))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestIdempotencyKey: DOMAIN §12 on every surface.
func TestIdempotencyKey(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *ent.Client) {
		ts := startServer(t, db)
		key := headers("Authorization", ts.firstKeyAuth())
		admin := headers("Authorization", ts.adminAuth())
		sys := tenant.System(context.Background())

		t.Run("replay", func(t *testing.T) {
			for i, sf := range surfaces {
				k := concID("replay-" + sf.name)
				mid := concID("idem-" + sf.name)
				r := instantPayment(instantCard(mid, 20000, sandbox.CardSuccess))
				first := sf.call(t, ts, r, withKey(key, k))
				id := instantID(t, first)
				again := sf.call(t, ts, r, withKey(key, k))
				sameResult(t, first, again)
				// The key is the store's, not the surface's.
				other := surfaces[(i+1)%len(surfaces)].call(t, ts, r, withKey(key, k))
				if instantID(t, other) != id {
					t.Fatalf("%s after %s: another payment %v", other.surface, sf.name, other)
				}
				if n := paymentRows(t, ts, mid); n != 1 {
					t.Fatalf("%s: %d payments for %s, want 1", sf.name, n, mid)
				}
				if pg := pgOrders(ts, id); len(pg) != 1 || pg[0].Status != providers.StatusPaid {
					t.Fatalf("%s: the sandbox holds %+v, want one charge", sf.name, pg)
				}
				// Without the key, the same request is a new one: refused
				// for its merchant payment id.
				wantRefusal(t, sf.call(t, ts, r, key), connect.CodeAlreadyExists, "PAYMENT_ALREADY_EXISTS")
			}
		})

		t.Run("rest replay is byte-identical", func(t *testing.T) {
			k := concID("rest-json")
			req := instantCard(concID("idem-rest-json"), 15000, sandbox.CardSuccess)
			st1, first := restRaw(t, ts, http.MethodPost, "/v1/payments/instant", req, withKey(key, k))
			st2, again := restRaw(t, ts, http.MethodPost, "/v1/payments/instant", req, withKey(key, k))
			if st1 != http.StatusOK || st2 != http.StatusOK || !bytes.Equal(first, again) {
				t.Fatalf("first HTTP %d %s\nreplay HTTP %d %s", st1, first, st2, again)
			}
		})

		t.Run("different request", func(t *testing.T) {
			for _, sf := range surfaces {
				k := concID("reused-" + sf.name)
				mid := concID("idem-reused-" + sf.name)
				instantID(t, sf.call(t, ts, instantPayment(instantCard(mid, 20000, sandbox.CardSuccess)), withKey(key, k)))
				// Another amount, and another method, under the same key.
				wantRefusal(t, sf.call(t, ts, instantPayment(instantCard(mid, 20001, sandbox.CardSuccess)), withKey(key, k)),
					connect.CodeInvalidArgument, "IDEMPOTENCY_KEY_REUSED")
				wantRefusal(t, sf.call(t, ts, createPayment(&paymuxv1.CreatePaymentRequest{MerchantPaymentId: mid, OrderName: "x", Amount: amount(20000)}), withKey(key, k)),
					connect.CodeInvalidArgument, "IDEMPOTENCY_KEY_REUSED")
				if n := paymentRows(t, ts, mid); n != 1 {
					t.Fatalf("%s: %d payments for %s", sf.name, n, mid)
				}
			}
		})

		t.Run("refused calls take no key", func(t *testing.T) {
			for _, sf := range surfaces {
				k := concID("refused-" + sf.name)
				mid := concID("idem-refused-" + sf.name)
				bad := instantCard(mid, 20000, sandbox.CardSuccess)
				bad.OrderName = ""
				wantInvalid(t, sf.call(t, ts, instantPayment(bad), withKey(key, k)), "order_name")
				wantRefusal(t, sf.call(t, ts, instantPayment(bad), withKey(headers("Authorization", basicAuth(ts.First.ClientKey, "wrong")), k)),
					connect.CodeUnauthenticated, "SECRET_MISMATCH")
				good := instantPayment(instantCard(mid, 20000, sandbox.CardSuccess))
				wantInvalid(t, sf.call(t, ts, good, withKey(key, strings.Repeat("k", 256))), "Idempotency-Key")
				if n := idemRecords(t, ts, k); n != 0 {
					t.Fatalf("%s: a refused call left %d records", sf.name, n)
				}
				instantID(t, sf.call(t, ts, good, withKey(key, k)))
			}
		})

		t.Run("in flight", func(t *testing.T) {
			for _, sf := range surfaces {
				// Hold the key as a call still running holds it: its record
				// IN_PROGRESS, its lease ahead (the stored answer dropped).
				k := concID("inflight-" + sf.name)
				mid := concID("idem-inflight-" + sf.name)
				r := instantPayment(instantCard(mid, 20000, sandbox.CardSuccess))
				id := instantID(t, sf.call(t, ts, r, withKey(key, k)))
				n, err := ts.DB.IdempotencyRecord.Update().
					Where(idempotencyrecord.Scope(ts.First.StoreID), idempotencyrecord.Key(k)).
					SetState(idempotencyrecord.StateIN_PROGRESS).ClearResponse().
					SetLeaseUntil(ts.Clock.Now().Add(time.Minute)).Save(sys)
				if err != nil || n != 1 {
					t.Fatalf("hold the key: %d rows, %v", n, err)
				}
				res := sf.call(t, ts, r, withKey(key, k))
				wantError(t, res, connect.CodeAborted, "IDEMPOTENCY_KEY_IN_USE")
				if res.httpStatus != 0 && res.httpStatus != http.StatusConflict {
					t.Fatalf("in use over REST: HTTP %d, want 409", res.httpStatus)
				}
				// A different request under a held key is still a misuse.
				wantRefusal(t, sf.call(t, ts, instantPayment(instantCard(mid, 1, sandbox.CardSuccess)), withKey(key, k)),
					connect.CodeInvalidArgument, "IDEMPOTENCY_KEY_REUSED")
				// Another key is not held.
				instantID(t, sf.call(t, ts, instantPayment(instantCard(concID("idem-free"), 20000, sandbox.CardSuccess)), withKey(key, concID("free"))))
				if pg := pgOrders(ts, id); len(pg) != 1 {
					t.Fatalf("%s: the sandbox holds %d charges for %s", sf.name, len(pg), id)
				}
			}
		})

		t.Run("in flight, lease lost", func(t *testing.T) {
			// A key held by a call that never came back is refused while
			// its lease runs; then a retry runs the call again, and the
			// merchant payment id keeps it from charging twice.
			k := concID("lease")
			r := instantPayment(instantCard(concID("idem-lease"), 20000, sandbox.CardSuccess))
			id := instantID(t, callConnect(t, ts, r, withKey(key, k)))
			if err := ts.DB.IdempotencyRecord.Update().Where(idempotencyrecord.Key(k)).
				SetState(idempotencyrecord.StateIN_PROGRESS).ClearResponse().
				SetLeaseUntil(ts.Clock.Now().Add(time.Minute)).Exec(sys); err != nil {
				t.Fatal(err)
			}
			wantError(t, callConnect(t, ts, r, withKey(key, k)), connect.CodeAborted, "IDEMPOTENCY_KEY_IN_USE")
			ts.Clock.Advance(2 * time.Minute)
			retry := callConnect(t, ts, r, withKey(key, k))
			wantRefusal(t, retry, connect.CodeAlreadyExists, "PAYMENT_ALREADY_EXISTS")
			sameResult(t, retry, callConnect(t, ts, r, withKey(key, k)))
			if pg := pgOrders(ts, id); len(pg) != 1 {
				t.Fatalf("the sandbox holds %d charges for %s", len(pg), id)
			}
		})

		t.Run("stored error", func(t *testing.T) {
			for _, sf := range surfaces {
				k := concID("declined-" + sf.name)
				mid := concID("idem-declined-" + sf.name)
				r := instantPayment(instantCard(mid, 20000, sandbox.CardInsufficientFunds))
				first := sf.call(t, ts, r, withKey(key, k))
				wantRefusal(t, first, connect.CodeFailedPrecondition, "PG_PROVIDER")
				before := len(ts.Sandbox.Payments(sandboxPG(ts)))
				for _, rs := range surfaces {
					again := rs.call(t, ts, r, withKey(key, k))
					sameResult(t, first, again)
					if again.httpStatus != 0 && again.httpStatus != http.StatusBadRequest {
						t.Fatalf("replayed error over REST: HTTP %d", again.httpStatus)
					}
				}
				if after := len(ts.Sandbox.Payments(sandboxPG(ts))); after != before {
					t.Fatalf("%s: replays reached the PG: %d payments there, were %d", sf.name, after, before)
				}
				if n := paymentRows(t, ts, mid); n != 1 {
					t.Fatalf("%s: %d payments for %s", sf.name, n, mid)
				}
			}
		})

		t.Run("per store", func(t *testing.T) {
			b := newStore(t, ts, "Store B", "")
			bKey := headers("Authorization", keyAuth(mustOK[*paymuxv1.CreateKeyResponse](t, callConnect(t, ts,
				createKey(keyRequest(b.GetId(), "B", paymuxv1.Mode_MODE_TEST, paymuxv1.AuthMethod_AUTH_METHOD_BASIC)), admin))))
			mustOK[*paymuxv1.CreateChannelResponse](t, callConnect(t, ts, createChannel(sandboxChannel(b.GetId(), "B sandbox")), admin))
			for _, sf := range surfaces {
				k := concID("shared-" + sf.name)
				r := instantPayment(instantCard(concID("idem-shared-"+sf.name), 20000, sandbox.CardSuccess))
				aFirst := sf.call(t, ts, r, withKey(key, k))
				aID := instantID(t, aFirst)
				// The same key and request in store B: B's own payment.
				bRes := sf.call(t, ts, r, withKey(bKey, k))
				bPay := mustOK[*paymuxv1.CreateInstantPaymentResponse](t, bRes).GetPayment()
				if bPay.GetId() == aID || bPay.GetStoreId() != b.GetId() {
					t.Fatalf("%s: store B got %v, A's payment is %s", sf.name, bPay, aID)
				}
				sameResult(t, bRes, sf.call(t, ts, r, withKey(bKey, k)))
				sameResult(t, aFirst, sf.call(t, ts, r, withKey(key, k)))
				// The administrator's keys are their own too.
				ar := instantCard(concID("idem-admin-"+sf.name), 20000, sandbox.CardSuccess)
				ar.StoreId = ts.First.StoreID
				adminRes := sf.call(t, ts, instantPayment(ar), withKey(admin, k))
				if instantID(t, adminRes) == aID {
					t.Fatalf("%s: the administrator got store A's replay", sf.name)
				}
				if n := idemRecords(t, ts, k); n != 3 {
					t.Fatalf("%s: %d records for the key, want 3 (A, B, admin)", sf.name, n)
				}
			}
		})

		t.Run("reads ignore the key", func(t *testing.T) {
			p := paidPayment(t, ts, 10000)
			for _, sf := range surfaces {
				k := concID("read-" + sf.name)
				before := mustOK[*paymuxv1.GetPaymentResponse](t, sf.call(t, ts, getPayment(p.GetId()), withKey(key, k))).GetPayment()
				mustOK[*paymuxv1.CancelPaymentResponse](t, callConnect(t, ts, cancelPayment(&paymuxv1.CancelPaymentRequest{
					Id: p.GetId(), Amount: i64(1000), Reason: "between reads",
				}), key))
				after := mustOK[*paymuxv1.GetPaymentResponse](t, sf.call(t, ts, getPayment(p.GetId()), withKey(key, k))).GetPayment()
				if after.GetAmounts().GetCancelled() != before.GetAmounts().GetCancelled()+1000 {
					t.Fatalf("%s: the second read replayed the first: %v then %v", sf.name, before.GetAmounts(), after.GetAmounts())
				}
				// Another read method under the same key is no misuse.
				mustOK[*paymuxv1.ListPaymentsResponse](t, sf.call(t, ts, listPayments(&paymuxv1.ListPaymentsRequest{PageSize: 1}), withKey(key, k)))
				if n := idemRecords(t, ts, k); n != 0 {
					t.Fatalf("%s: reads stored %d records", sf.name, n)
				}
			}
		})

		t.Run("other mutating methods", func(t *testing.T) {
			for i, sf := range surfaces {
				k := concID("rule-" + sf.name)
				r := createIPRule(ts.First.StoreID, fmt.Sprintf("10.%d.0.0/16", i), "office")
				first := mustOK[*paymuxv1.CreateIPRuleResponse](t, sf.call(t, ts, r, withKey(admin, k))).GetRule()
				again := mustOK[*paymuxv1.CreateIPRuleResponse](t, sf.call(t, ts, r, withKey(admin, k))).GetRule()
				if !proto.Equal(first, again) {
					t.Fatalf("%s: rule replay %v, first %v", sf.name, again, first)
				}
				// Deleting twice under one key answers the first delete again,
				// not "not found".
				dk := concID("delrule-" + sf.name)
				mustOK[*paymuxv1.DeleteIPRuleResponse](t, sf.call(t, ts, deleteIPRule(first.GetId()), withKey(admin, dk)))
				mustOK[*paymuxv1.DeleteIPRuleResponse](t, sf.call(t, ts, deleteIPRule(first.GetId()), withKey(admin, dk)))
				wantRefusal(t, sf.call(t, ts, deleteIPRule(first.GetId()), admin), connect.CodeNotFound, "IP_RULE_NOT_FOUND")

				ck := concID("channel-" + sf.name)
				cr := createChannel(sandboxChannel("", "idem "+sf.name))
				ch := mustOK[*paymuxv1.CreateChannelResponse](t, sf.call(t, ts, cr, withKey(key, ck))).GetChannel()
				ch2 := mustOK[*paymuxv1.CreateChannelResponse](t, sf.call(t, ts, cr, withKey(key, ck))).GetChannel()
				if ch.GetId() != ch2.GetId() || !proto.Equal(ch, ch2) {
					t.Fatalf("%s: channel replay %v, first %v", sf.name, ch2, ch)
				}
			}
			if rules := ruleCIDRs(t, ts, ts.First.StoreID); len(rules) != 0 {
				t.Fatalf("rules left: %v", rules)
			}
			list := mustOK[*paymuxv1.ListChannelsResponse](t, callConnect(t, ts, listChannels(&paymuxv1.ListChannelsRequest{}), key))
			if got, want := len(list.GetChannels()), 1+len(surfaces); got != want {
				t.Fatalf("%d channels, want %d: replays created channels", got, want)
			}
		})

		// A TEST key must not reach what a LIVE key of its store did (a
		// leaked test key is not a way to live credentials, checkKeyMode):
		// it cannot have a LIVE key's stored answer replayed to it.
		t.Run("modes kept apart", func(t *testing.T) {
			live := headers("Authorization", liveKeyAuth(t, ts))
			for _, sf := range surfaces {
				k := concID("mint-" + sf.name)
				r := createKey(keyRequest("", "minted "+sf.name, paymuxv1.Mode_MODE_LIVE, paymuxv1.AuthMethod_AUTH_METHOD_BASIC))
				minted := mustOK[*paymuxv1.CreateKeyResponse](t, sf.call(t, ts, r, withKey(live, k)))
				sameResult(t, result{msg: minted}, sf.call(t, ts, r, withKey(live, k)))
				res := sf.call(t, ts, r, withKey(key, k))
				if res.code == 0 {
					t.Fatalf("%s: the TEST key was answered the LIVE key's stored response (secret %s…)", sf.name,
						res.msg.(*paymuxv1.CreateKeyResponse).GetSecretKey()[:8])
				}
				wantRefusal(t, res, connect.CodeInvalidArgument, "IDEMPOTENCY_KEY_REUSED")
				mustOK[*paymuxv1.DeleteKeyResponse](t, callConnect(t, ts, deleteKey(minted.GetKey().GetId()), admin))
			}
		})

		// Stored answers are kept like every other secret paymux holds:
		// a minted secret key is not readable from the database.
		t.Run("stored answers sealed", func(t *testing.T) {
			k := concID("sealed")
			minted := mustOK[*paymuxv1.CreateKeyResponse](t, callConnect(t, ts,
				createKey(keyRequest(ts.First.StoreID, "sealed", paymuxv1.Mode_MODE_TEST, paymuxv1.AuthMethod_AUTH_METHOD_BASIC)), withKey(admin, k)))
			recs, err := ts.DB.IdempotencyRecord.Query().Where(idempotencyrecord.Key(k)).All(sys)
			if err != nil || len(recs) != 1 {
				t.Fatalf("records: %v, %v", recs, err)
			}
			if bytes.Contains(recs[0].Response, []byte(minted.GetSecretKey())) {
				t.Fatalf("the idempotency record holds the secret key %s… in clear", minted.GetSecretKey()[:8])
			}
			// Nor is the request: it may hold a whole card number, so its
			// hash is keyed, not a bare SHA-256 a brute force could match.
			req := instantCard(concID("idem-hash"), 20000, sandbox.CardSuccess)
			hk := concID("hash")
			instantID(t, callConnect(t, ts, instantPayment(req), withKey(key, hk)))
			rec, err := ts.DB.IdempotencyRecord.Query().Where(idempotencyrecord.Key(hk)).Only(sys)
			if err != nil {
				t.Fatal(err)
			}
			body, err := proto.MarshalOptions{Deterministic: true}.Marshal(req)
			if err != nil {
				t.Fatal(err)
			}
			for _, plain := range [][]byte{body, append([]byte("/paymux.v1.PaymentService/CreateInstantPayment\x00"), body...)} {
				if sum := sha256.Sum256(plain); bytes.Equal(rec.RequestHash, sum[:]) {
					t.Fatal("the request hash is an unkeyed SHA-256 of a request holding a card number")
				}
			}
			mustOK[*paymuxv1.DeleteKeyResponse](t, callConnect(t, ts, deleteKey(minted.GetKey().GetId()), admin))
		})

		// Last: it moves the clock a day on.
		t.Run("expiry", func(t *testing.T) {
			for _, sf := range surfaces {
				k := concID("expiry-" + sf.name)
				a := instantPayment(instantCard(concID("idem-exp-a"), 20000, sandbox.CardSuccess))
				b := instantPayment(instantCard(concID("idem-exp-b"), 20000, sandbox.CardSuccess))
				aID := instantID(t, sf.call(t, ts, a, withKey(key, k)))
				wantRefusal(t, sf.call(t, ts, b, withKey(key, k)), connect.CodeInvalidArgument, "IDEMPOTENCY_KEY_REUSED")
				ts.Clock.Advance(24*time.Hour + time.Minute)
				bID := instantID(t, sf.call(t, ts, b, withKey(key, k)))
				if bID == aID {
					t.Fatalf("%s: an expired key replayed", sf.name)
				}
				// The key now stands for b.
				wantRefusal(t, sf.call(t, ts, a, withKey(key, k)), connect.CodeInvalidArgument, "IDEMPOTENCY_KEY_REUSED")
				if instantID(t, sf.call(t, ts, b, withKey(key, k))) != bID {
					t.Fatalf("%s: b not replayed", sf.name)
				}
			}
		})
	})
}

// TestIdempotencyKeyParallel: ten calls at once with one key and one
// request make one payment, charged once; every other call is answered
// with it or told the key is in use.
func TestIdempotencyKeyParallel(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *ent.Client) {
		ts := startServer(t, db)
		warmSurfaces(t, ts)
		key := headers("Authorization", ts.firstKeyAuth())
		for round := range 3 {
			k := concID("parallel")
			mid := concID("idem-parallel")
			r := instantPayment(instantCard(mid, 25000, sandbox.CardSuccess))
			results := inParallel(10, func(i int) result {
				return surfaces[(i+round)%len(surfaces)].call(t, ts, r, withKey(key, k))
			})
			ids := map[string]int{}
			inUse := 0
			for _, res := range results {
				switch {
				case res.code == 0:
					ids[res.msg.(*paymuxv1.CreateInstantPaymentResponse).GetPayment().GetId()]++
				case res.code == connect.CodeAborted && res.reason == "IDEMPOTENCY_KEY_IN_USE":
					inUse++
					if res.httpStatus != 0 && res.httpStatus != http.StatusConflict {
						t.Errorf("in use over REST: HTTP %d", res.httpStatus)
					}
				default:
					t.Errorf("unexpected answer: %v", res)
				}
			}
			if len(ids) != 1 {
				t.Fatalf("round %d: payments answered %v (%d in use), want one", round, ids, inUse)
			}
			var id string
			for id = range ids {
			}
			if n := paymentRows(t, ts, mid); n != 1 {
				t.Fatalf("round %d: %d payments for %s", round, n, mid)
			}
			if pg := pgOrders(ts, id); len(pg) != 1 || pg[0].Status != providers.StatusPaid {
				t.Fatalf("round %d: the sandbox holds %+v", round, pg)
			}
			if got := instantID(t, callConnect(t, ts, r, withKey(key, k))); got != id {
				t.Fatalf("round %d: replay after the race answered %s, want %s", round, got, id)
			}
		}
	})
}

// TestIdempotencyKeyParallelMixed: a retry storm of one cancel under one
// key cancels once; one key sent at once with different requests runs
// exactly one of them.
func TestIdempotencyKeyParallelMixed(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *ent.Client) {
		ts := startServer(t, db)
		warmSurfaces(t, ts)
		key := headers("Authorization", ts.firstKeyAuth())

		p := paidPayment(t, ts, 10000)
		k := concID("cancel-storm")
		r := cancelPayment(&paymuxv1.CancelPaymentRequest{Id: p.GetId(), Amount: i64(1000), Reason: "retried"})
		results := inParallel(10, func(i int) result { return surfaces[i%len(surfaces)].call(t, ts, r, withKey(key, k)) })
		cancels := map[string]bool{}
		for _, res := range results {
			switch {
			case res.code == 0:
				cancels[res.msg.(*paymuxv1.CancelPaymentResponse).GetCancellation().GetId()] = true
			case res.code == connect.CodeAborted && res.reason == "IDEMPOTENCY_KEY_IN_USE":
			default:
				t.Errorf("unexpected answer: %v", res)
			}
		}
		got := fetchPayment(t, ts, p.GetId())
		if len(cancels) != 1 || got.GetAmounts().GetCancelled() != 1000 || len(got.GetCancellations()) != 1 {
			t.Fatalf("cancels answered %v; payment %v", cancels, got)
		}
		checkAmounts(t, got)
		checkPGAgrees(t, ts, got)

		k = concID("mixed")
		mids := make([]string, 10)
		for i := range mids {
			mids[i] = concID("idem-mixed")
		}
		results = inParallel(len(mids), func(i int) result {
			return surfaces[i%len(surfaces)].call(t, ts, instantPayment(instantCard(mids[i], 12000, sandbox.CardSuccess)), withKey(key, k))
		})
		won := 0
		for i, res := range results {
			switch {
			case res.code == 0:
				won++
				if n := paymentRows(t, ts, mids[i]); n != 1 {
					t.Errorf("winner %s: %d payments", mids[i], n)
				}
			case res.code == connect.CodeAborted && res.reason == "IDEMPOTENCY_KEY_IN_USE",
				res.code == connect.CodeInvalidArgument && res.reason == "IDEMPOTENCY_KEY_REUSED":
				if n := paymentRows(t, ts, mids[i]); n != 0 {
					t.Errorf("refused %s (%v) made %d payments", mids[i], res, n)
				}
			default:
				t.Errorf("unexpected answer: %v", res)
			}
		}
		if won != 1 {
			t.Fatalf("%d of the requests ran under one key, want 1", won)
		}
	})
}

// startPeer starts a second paymux on ts's database, sandbox PG, master key
// and clock (another replica), configured by configure. It serves store
// keys only (no admin token).
func startPeer(t *testing.T, ts *testServer, configure func(*config.Config)) *testServer {
	t.Helper()
	cfg := testConfig(t)
	configure(&cfg)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg.PublicURL = "http://" + ln.Addr().String()
	srv, err := app.New(app.Options{Config: cfg, DB: ts.DB, Keyring: ts.Keyring, Now: ts.Clock.Now, Logger: discardLogger(), Sandbox: ts.Sandbox})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("peer serve: %v", err)
		}
		if err := srv.Close(); err != nil {
			t.Errorf("peer close: %v", err)
		}
	})
	peer := *ts
	peer.URL, peer.Addr, peer.Server, peer.AdminToken = "http://"+ln.Addr().String(), ln.Addr().String(), srv, ""
	return &peer
}

// TestIdempotencyKeyOutcomeUnknown: a call whose PG answer was lost has
// already done its part in paymux (a cancel is held against the balance, a
// charge is PAY_PENDING) and paymux settles it later. A retry under the
// same key must not start it a second time.
//
// The lost answers come from a replica whose PG timeout is too short for
// any PG call; retries go to a healthy one, whose sweep settles what the
// first left open.
func TestIdempotencyKeyOutcomeUnknown(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *ent.Client) {
		ts := startServer(t, db, func(c *config.Config) { c.Payments.SweepInterval = 50 * time.Millisecond })
		lossy := startPeer(t, ts, func(c *config.Config) {
			c.Payments.PGTimeout = time.Nanosecond
			c.Payments.SweepInterval = time.Hour
		})
		key := headers("Authorization", ts.firstKeyAuth())

		// A partial cancel, retried: a second run would refund twice.
		p := paidPayment(t, ts, 10000)
		k := concID("lost-cancel")
		r := cancelPayment(&paymuxv1.CancelPaymentRequest{Id: p.GetId(), Amount: i64(1000), Reason: "lost answer"})
		first := callConnect(t, lossy, r, withKey(key, k))
		wantError(t, first, connect.CodeUnavailable, "PG_OUTCOME_UNKNOWN")
		for _, sf := range surfaces {
			sameResult(t, first, sf.call(t, ts, r, withKey(key, k)))
		}

		// A key-in charge, retried: it is answered the same, with the
		// payment's id, not PAYMENT_ALREADY_EXISTS.
		mid := concID("lost-charge")
		charge := instantPayment(instantCard(mid, 10000, sandbox.CardSuccess))
		ck := concID("lost-charge")
		lost := callConnect(t, lossy, charge, withKey(key, ck))
		wantError(t, lost, connect.CodeUnavailable, "PG_OUTCOME_UNKNOWN")
		for _, sf := range surfaces {
			sameResult(t, lost, sf.call(t, ts, charge, withKey(key, ck)))
		}

		// The healthy replica's sweep settles both.
		ts.Clock.Advance(5 * time.Minute)
		deadline := time.Now().Add(5 * time.Second)
		var got *paymuxv1.Payment
		for {
			got = fetchPayment(t, ts, p.GetId())
			settled := got.GetAmounts().GetCancellable() == got.GetAmounts().GetPaid()-got.GetAmounts().GetCancelled()
			charged := mustOK[*paymuxv1.GetPaymentResponse](t, callConnect(t, ts, getPaymentByMerchantID("", mid), key)).GetPayment()
			if settled && charged.GetStatus() != paymuxv1.PaymentStatus_PAYMENT_STATUS_PAY_PENDING {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the sweep left %v and %v open", got, charged)
			}
			time.Sleep(20 * time.Millisecond)
		}
		if got.GetAmounts().GetCancelled() != 1000 || len(got.GetCancellations()) != 1 {
			t.Fatalf("one cancel of 1000 retried under one key cancelled %d in %d cancels: %v",
				got.GetAmounts().GetCancelled(), len(got.GetCancellations()), got.GetCancellations())
		}
		checkAmounts(t, got)
		checkPGAgrees(t, ts, got)
		if n := paymentRows(t, ts, mid); n != 1 {
			t.Fatalf("%d payments for %s", n, mid)
		}
	})
}
