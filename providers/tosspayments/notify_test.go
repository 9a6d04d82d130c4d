package tosspayments_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/paymux/paymux/providers"
	"github.com/paymux/paymux/providers/tosspayments"
)

func parse(t *testing.T, body string) (*providers.Event, error) {
	t.Helper()
	a := tosspayments.New(tosspayments.Options{})
	return a.ParseNotification(context.Background(), testChannel(), providers.Notification{
		Method: http.MethodPost, Path: "/notifications/ch_toss", Header: http.Header{"Content-Type": {"application/json"}},
		Body: []byte(body),
	})
}

// DEPOSIT_CALLBACK is flat (docs /en/webhooks; the official ASP, JSP and PHP
// samples read secret, status and orderId at the top level), createdAt
// without an offset.
func TestDepositCallback(t *testing.T) {
	cases := []struct {
		status string
		typ    providers.EventType
		want   providers.Status
	}{
		{"DONE", providers.EventDepositArrived, providers.StatusPaid},
		{"WAITING_FOR_DEPOSIT", providers.EventVirtualAccountIssued, providers.StatusVirtualAccountIssued},
		{"CANCELED", providers.EventDepositCancelled, providers.StatusCancelled},
		{"PARTIAL_CANCELED", providers.EventPaymentCancelled, providers.StatusPartialCancelled},
		{"EXPIRED", providers.EventVirtualAccountExpired, providers.StatusExpired},
	}
	ids := map[string]bool{}
	for _, c := range cases {
		body := `{"createdAt": "2026-01-02T14:46:59.65327", "secret": "ps_Z1aOwX7K8mYxbQ5E2RgVyQnl", "status": "` + c.status +
			`", "transactionKey": "9FF15E1A29D0E77C218F57262BFA4986", "orderId": "va-order-0001"}`
		ev, err := parse(t, body)
		if err != nil {
			t.Fatalf("%s: %v", c.status, err)
		}
		if ev.Type != c.typ || ev.Status != c.want || ev.OrderID != "va-order-0001" || ev.PGTransactionID != "" ||
			ev.PaymentSecret != "ps_Z1aOwX7K8mYxbQ5E2RgVyQnl" || ev.Authenticity != providers.AuthenticityPaymentSecret ||
			ev.Payment != nil || ev.Amount != 0 {
			t.Errorf("%s: %+v", c.status, ev)
		}
		if want := time.Date(2026, 1, 2, 14, 46, 59, 653270000, kst); !ev.OccurredAt.Equal(want) {
			t.Errorf("occurredAt %v", ev.OccurredAt)
		}
		if ev.Ack.StatusCode != 200 || len(ev.Ack.Body) != 0 {
			t.Errorf("ack %+v", ev.Ack)
		}
		again, _ := parse(t, body)
		if ev.ID == "" || again.ID != ev.ID || ids[ev.ID] {
			t.Errorf("%s: id %q again %q", c.status, ev.ID, again.ID)
		}
		ids[ev.ID] = true
	}

	// The same fields under data (some integrations read them so).
	ev, err := parse(t, `{"eventType": "DEPOSIT_CALLBACK", "createdAt": "2026-01-02T14:46:59.653270",
      "data": {"secret": "ps_x", "status": "DONE", "transactionKey": "tx", "orderId": "va-order-0002"}}`)
	if err != nil {
		t.Fatal(err)
	}
	if ev.Type != providers.EventDepositArrived || ev.OrderID != "va-order-0002" || ev.PaymentSecret != "ps_x" ||
		ev.OccurredAt.IsZero() {
		t.Errorf("data variant %+v", ev)
	}

	// Without a secret nothing can be checked: paymux looks it up.
	ev, err = parse(t, `{"createdAt": "2026-01-02T14:46:59.653270", "status": "DONE", "transactionKey": "tx", "orderId": "va-order-0003"}`)
	if err != nil || ev.Authenticity != providers.AuthenticityNone {
		t.Errorf("no secret: %+v %v", ev, err)
	}
}

// PAYMENT_STATUS_CHANGED carries the Payment object; unsigned.
func TestPaymentStatusChanged(t *testing.T) {
	body := `{"eventType": "PAYMENT_STATUS_CHANGED", "createdAt": "2026-01-02T14:46:59.65327", "data": ` + cardPartialCanceled + `}`
	ev, err := parse(t, body)
	if err != nil {
		t.Fatal(err)
	}
	if ev.Type != providers.EventPaymentStatusChanged || ev.Status != providers.StatusPartialCancelled ||
		ev.PGTransactionID != "tgen_20240213121750Ujaf5" || ev.OrderID != "order-2024-0001" ||
		ev.Authenticity != providers.AuthenticityNone || ev.Payment == nil || ev.Payment.Amounts.Cancelled != 5000 ||
		ev.PaymentSecret != "" || ev.Ack.StatusCode != 200 {
		t.Errorf("event %+v", ev)
	}
	again, _ := parse(t, body)
	other, _ := parse(t, `{"eventType": "PAYMENT_STATUS_CHANGED", "createdAt": "2026-01-02T14:47:00.000001", "data": `+cardPartialCanceled+`}`)
	if again.ID != ev.ID || other.ID == ev.ID {
		t.Errorf("ids %q %q %q", ev.ID, again.ID, other.ID)
	}
}

func TestOtherAndMalformedNotifications(t *testing.T) {
	ev, err := parse(t, `{"eventType": "payout.changed", "createdAt": "2026-01-02T14:46:59.653270", "data": {"payoutId": "p1"}}`)
	if err != nil {
		t.Fatal(err)
	}
	if ev.Type != tosspayments.EventIgnored || ev.Ack.StatusCode != 200 || ev.ID == "" || ev.Authenticity != providers.AuthenticityNone {
		t.Errorf("ignored %+v", ev)
	}
	for _, body := range []string{
		``, `not json`, `[]`, `{}`, `null`,
		`{"eventType": "PAYMENT_STATUS_CHANGED", "createdAt": "2026-01-02T14:46:59"}`,
		`{"eventType": "PAYMENT_STATUS_CHANGED", "data": "x"}`,
		`{"eventType": "DEPOSIT_CALLBACK", "data": {}}`,
	} {
		_, err := parse(t, body)
		wantKind(t, err, providers.KindInvalidRequest, "")
	}
	a := tosspayments.New(tosspayments.Options{})
	_, err = a.ParseNotification(context.Background(), testChannel(), providers.Notification{Method: http.MethodGet})
	wantKind(t, err, providers.KindInvalidRequest, "")
}
