package calllog_test

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/paymux/paymux/apierr"
	"github.com/paymux/paymux/calllog"
	"github.com/paymux/paymux/ent"
	"github.com/paymux/paymux/ent/logrecord"
	"github.com/paymux/paymux/internal/testdb"
	"github.com/paymux/paymux/tenant"
)

// TestListCallsPagesAndFilters: ListCalls pages newest first with a
// cursor that neither skips nor repeats a record (ties in time included),
// and its filters select what they name.
func TestListCallsPagesAndFilters(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, db *ent.Client) {
		ctx := tenant.System(context.Background())
		base := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
		for i := range 7 {
			mode, ok, method := "TEST", true, "/paymux.v1.PaymentService/GetPayment"
			if i%3 == 0 {
				mode, ok, method = "LIVE", false, "/paymux.v1.PaymentService/CancelPayment"
			}
			db.LogRecord.Create().SetKind(logrecord.KindAPI).SetMode(mode).SetMethod(method).SetOk(ok).
				SetCode(map[bool]string{true: "OK", false: "NOT_FOUND"}[ok]).SetLatencyUs(1).
				SetRequestID(fmt.Sprintf("req_%d", i)).SetCreatedAt(base.Add(time.Duration(i/2) * time.Second)). // pairs share a time
				SetRequestBody([]byte(`{"id":"x"}`)).SaveX(ctx)
		}
		db.LogRecord.Create().SetKind(logrecord.KindPG).SetMethod("sandbox/Approve").SetOk(true).SetCode("OK").
			SetLatencyUs(1).SetCreatedAt(base).SetRequestID("req_pg").SaveX(ctx)

		list := func(f calllog.Filter) []*ent.LogRecord {
			t.Helper()
			var got []*ent.LogRecord
			for pages := 0; ; pages++ {
				rows, next, err := calllog.ListCalls(ctx, db, f)
				if err != nil {
					t.Fatal(err)
				}
				for _, r := range rows {
					if len(r.RequestBody) > 0 {
						t.Fatalf("a list carries bodies: %+v", r)
					}
				}
				got = append(got, rows...)
				if next == nil {
					return got
				}
				if pages > 10 {
					t.Fatal("pages do not end")
				}
				f.After = next
			}
		}
		ids := func(rows []*ent.LogRecord) string {
			var out []string
			for _, r := range rows {
				out = append(out, r.RequestID)
			}
			slices.Sort(out)
			return strings.Join(out, " ")
		}
		// Pages of 2: every record once, newest first, ties (pairs share a
		// second) by id.
		paged := list(calllog.Filter{Kind: logrecord.KindAPI, Size: 2})
		if got := ids(paged); got != "req_0 req_1 req_2 req_3 req_4 req_5 req_6" {
			t.Errorf("paged: %s", got)
		}
		if !slices.IsSortedFunc(paged, func(a, b *ent.LogRecord) int {
			return cmp.Or(b.CreatedAt.Compare(a.CreatedAt), strings.Compare(b.ID, a.ID))
		}) {
			t.Errorf("not newest first: %v", paged)
		}
		for _, c := range []struct {
			name string
			f    calllog.Filter
			want string
		}{
			{"TEST keys see TEST", calllog.Filter{Kind: logrecord.KindAPI, TestOnly: true}, "req_1 req_2 req_4 req_5"},
			{"errors", calllog.Filter{Kind: logrecord.KindAPI, Result: calllog.OnlyErrors}, "req_0 req_3 req_6"},
			{"by method name", calllog.Filter{Kind: logrecord.KindAPI, Method: "CancelPayment"}, "req_0 req_3 req_6"},
			{"by code", calllog.Filter{Kind: logrecord.KindAPI, Code: "NOT_FOUND", TestOnly: true}, ""},
			{"by request id", calllog.Filter{Kind: logrecord.KindAPI, RequestID: "req_4"}, "req_4"},
			{"by time", calllog.Filter{Kind: logrecord.KindAPI, Start: base.Add(time.Second), End: base.Add(2 * time.Second)}, "req_2 req_3"},
			{"PG calls", calllog.Filter{Kind: logrecord.KindPG}, "req_pg"},
		} {
			c.f.Size = 20
			if got := ids(list(c.f)); got != c.want {
				t.Errorf("%s: %q, want %q", c.name, got, c.want)
			}
		}
	})
}

// TestGetAndTimelineNotFound: Get shows a record with its bodies, and
// answers LOG_NOT_FOUND for what is not there or not the caller's mode; a
// timeline of an order number nothing was logged for is
// TIMELINE_NOT_FOUND.
func TestGetAndTimelineNotFound(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, db *ent.Client) {
		ctx := tenant.System(context.Background())
		r := db.LogRecord.Create().SetKind(logrecord.KindAPI).SetMode("LIVE").SetMethod("/m").SetOk(true).SetCode("OK").
			SetLatencyUs(1).SetCreatedAt(time.Now().UTC()).SetMerchantPaymentID("order-1").
			SetRequestBody([]byte(`{"a":1}`)).SaveX(ctx)
		e, err := calllog.Get(ctx, db, r.ID, false)
		if err != nil || e.Call == nil || string(e.Call.RequestBody) != `{"a":1}` || e.Webhook != nil {
			t.Fatalf("Get: %+v, %v", e, err)
		}
		for _, c := range []struct {
			id       string
			testOnly bool
		}{{r.ID, true}, {"log_nope", false}, {"wha_nope", false}} {
			if _, err := calllog.Get(ctx, db, c.id, c.testOnly); apierr.Reason(err) != calllog.ReasonLogNotFound {
				t.Errorf("Get(%s, test only %v): %v, want %s", c.id, c.testOnly, err, calllog.ReasonLogNotFound)
			}
		}

		tl, err := calllog.PaymentTimeline(ctx, db, calllog.TimelineQuery{MerchantPaymentID: "order-1"})
		if err != nil || len(tl.Entries) != 1 || tl.Entries[0].Call.ID != r.ID || tl.MerchantPaymentID != "order-1" || tl.Truncated {
			t.Fatalf("timeline: %+v, %v", tl, err)
		}
		if _, err := calllog.PaymentTimeline(ctx, db, calllog.TimelineQuery{MerchantPaymentID: "order-1", TestOnly: true}); apierr.Reason(err) != calllog.ReasonTimelineNotFound {
			t.Errorf("TEST-only timeline of a LIVE call: %v, want %s", err, calllog.ReasonTimelineNotFound)
		}
		if _, err := calllog.PaymentTimeline(ctx, db, calllog.TimelineQuery{MerchantPaymentID: "order-2"}); apierr.Reason(err) != calllog.ReasonTimelineNotFound {
			t.Errorf("timeline of nothing: %v, want %s", err, calllog.ReasonTimelineNotFound)
		}
	})
}
