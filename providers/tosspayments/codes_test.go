package tosspayments_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/paymux/paymux/providers"
	"github.com/paymux/paymux/providers/tosspayments"
)

func TestCodeTable(t *testing.T) {
	seenCodes := map[string]bool{}
	for _, m := range tosspayments.CodeTable() {
		if seenCodes[m.Code] {
			t.Errorf("%s twice", m.Code)
		}
		seenCodes[m.Code] = true
		if (m.Kind == providers.KindDeclined) != (m.Decline != "") {
			t.Errorf("%s: kind %s with decline %q", m.Code, m.Kind, m.Decline)
		}
		if m.Source == "" {
			t.Errorf("%s: no source", m.Code)
		}
	}
	want := map[string]struct {
		kind    providers.Kind
		decline providers.DeclineReason
	}{
		"REJECT_CARD_COMPANY":               {providers.KindDeclined, providers.DeclineOther},
		"INVALID_CARD_EXPIRATION":           {providers.KindDeclined, providers.DeclineExpiredCard},
		"INVALID_STOPPED_CARD":              {providers.KindDeclined, providers.DeclineLostOrStolen},
		"EXCEED_MAX_CARD_INSTALLMENT_PLAN":  {providers.KindDeclined, providers.DeclineInvalidInstallment},
		"INVALID_REJECT_CARD":               {providers.KindDeclined, providers.DeclineOther},
		"PAY_PROCESS_CANCELED":              {providers.KindDeclined, providers.DeclineOther},
		"ALREADY_PROCESSED_PAYMENT":         {providers.KindAlreadyDone, ""},
		"DUPLICATED_ORDER_ID":               {providers.KindAlreadyDone, ""},
		"ALREADY_CANCELED_PAYMENT":          {providers.KindAlreadyDone, ""},
		"NOT_FOUND_PAYMENT":                 {providers.KindNotFound, ""},
		"NOT_FOUND":                         {providers.KindNotFound, ""},
		"UNAUTHORIZED_KEY":                  {providers.KindUnauthorized, ""},
		"INVALID_API_KEY":                   {providers.KindUnauthorized, ""},
		"PROVIDER_ERROR":                    {providers.KindUnavailable, ""},
		"FAILED_INTERNAL_SYSTEM_PROCESSING": {providers.KindUnavailable, ""},
		"NOT_CANCELABLE_AMOUNT":             {providers.KindInvalidRequest, ""},
		"NOT_MATCHES_CUSTOMER_KEY":          {providers.KindInvalidRequest, ""},
	}
	for code, w := range want {
		m, ok := tosspayments.LookupCode(code)
		if !ok || m.Kind != w.kind || m.Decline != w.decline {
			t.Errorf("%s: %+v, want %s %s", code, m, w.kind, w.decline)
		}
	}
}

// Toss's error answers: {code, message} with the HTTP status, read by the
// table, else by the status; 5xx is always outcome-unknown.
func TestErrorAnswers(t *testing.T) {
	cases := []struct {
		status  int
		body    string
		kind    providers.Kind
		code    string
		decline providers.DeclineReason
	}{
		{404, `{"code": "NOT_FOUND_PAYMENT", "message": "존재하지 않는 결제 입니다."}`, providers.KindNotFound, "NOT_FOUND_PAYMENT", ""},
		{401, `{"code": "UNAUTHORIZED_KEY", "message": "인증되지 않은 시크릿 키 혹은 클라이언트 키 입니다."}`, providers.KindUnauthorized, "UNAUTHORIZED_KEY", ""},
		{403, `{"code": "REJECT_CARD_COMPANY", "message": "결제 승인이 거절되었습니다."}`, providers.KindDeclined, "REJECT_CARD_COMPANY", providers.DeclineOther},
		{400, `{"code": "INVALID_STOPPED_CARD", "message": "정지된 카드 입니다."}`, providers.KindDeclined, "INVALID_STOPPED_CARD", providers.DeclineLostOrStolen},
		{403, `{"code": "REJECT_CARD_PAYMENT", "message": "한도초과 혹은 잔액부족으로 결제에 실패했습니다."}`, providers.KindDeclined, "REJECT_CARD_PAYMENT", providers.DeclineOther},
		{400, `{"code": "ALREADY_PROCESSED_PAYMENT", "message": "이미 처리된 결제 입니다."}`, providers.KindAlreadyDone, "ALREADY_PROCESSED_PAYMENT", ""},
		{400, `{"code": "PROVIDER_ERROR", "message": "일시적인 오류가 발생했습니다."}`, providers.KindUnavailable, "PROVIDER_ERROR", ""},
		{500, `{"code": "FAILED_INTERNAL_SYSTEM_PROCESSING", "message": "내부 시스템 처리 작업이 실패했습니다."}`, providers.KindUnavailable, "FAILED_INTERNAL_SYSTEM_PROCESSING", ""},
		{500, `{"code": "INVALID_REQUEST", "message": "?"}`, providers.KindUnavailable, "INVALID_REQUEST", ""},
		{503, `<html>busy</html>`, providers.KindUnavailable, "HTTP_503", ""},
		{403, `{"code": "NOT_CANCELABLE_AMOUNT", "message": "취소 할 수 없는 금액 입니다."}`, providers.KindInvalidRequest, "NOT_CANCELABLE_AMOUNT", ""},
		{400, `{"code": "SOMETHING_NEW", "message": "?"}`, providers.KindInvalidRequest, "SOMETHING_NEW", ""},
		{404, `{"code": "SOMETHING_NEW", "message": "?"}`, providers.KindNotFound, "SOMETHING_NEW", ""},
		{429, `{"code": "TOO_MANY", "message": "?"}`, providers.KindUnavailable, "TOO_MANY", ""},
	}
	for _, c := range cases {
		_, a := newStub(t, answer(c.status, c.body))
		_, err := a.Lookup(context.Background(), testChannel(), providers.LookupRequest{OrderID: "order-1"})
		pe := wantKind(t, err, c.kind, c.code)
		if pe.Decline != c.decline || pe.Op != "Lookup" {
			t.Errorf("%d %s: decline %q op %q", c.status, c.code, pe.Decline, pe.Op)
		}
		if strings.HasPrefix(c.body, "{") && pe.Message == "" {
			t.Errorf("%s: message lost", c.code)
		}
		if providers.OutcomeUnknown(err) != (c.kind == providers.KindUnavailable) {
			t.Errorf("%s: OutcomeUnknown %v", c.code, providers.OutcomeUnknown(err))
		}
	}
}

// An answer that never comes: the request may have reached Toss, so the
// outcome is unknown (Timeout on the caller's deadline).
func TestNoAnswer(t *testing.T) {
	release := make(chan struct{})
	s, a := newStub(t, func(r *http.Request) (int, string) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
		return 200, "{}"
	})
	defer close(release)
	ctx := ctxTimeout(t, 100*time.Millisecond)
	_, err := a.Approve(ctx, testChannel(), providers.ApproveRequest{OrderID: "order-1", Amount: providers.Amount{Total: 1000},
		Window: providers.WindowResult{"paymentKey": "pk", "orderId": "order-1", "amount": "1000", "paymentType": "NORMAL"}})
	wantKind(t, err, providers.KindTimeout, "")
	if !providers.OutcomeUnknown(err) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("%v: not an unknown outcome from the deadline", err)
	}
	if len(s.requests()) != 1 {
		t.Errorf("requests %d", len(s.requests()))
	}

	// A connection closed without an answer.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			buf := make([]byte, 4096)
			_, _ = c.Read(buf)
			c.Close()
		}
	}()
	a2 := tosspayments.New(tosspayments.Options{APIURL: "http://" + ln.Addr().String()})
	_, err = a2.Lookup(context.Background(), testChannel(), providers.LookupRequest{OrderID: "order-1"})
	wantKind(t, err, providers.KindUnavailable, "")
	if !providers.OutcomeUnknown(err) {
		t.Error("a dropped connection is not an unknown outcome")
	}
}

// A 2xx answer that cannot be read: Toss did something, what is unknown.
func TestUnreadableAnswer(t *testing.T) {
	_, a := newStub(t, answer(200, `{"paymentKey": `))
	_, err := a.Lookup(context.Background(), testChannel(), providers.LookupRequest{OrderID: "order-1"})
	wantKind(t, err, providers.KindUnknown, tosspayments.CodeBadAnswer)
	if !providers.OutcomeUnknown(err) {
		t.Error("not an unknown outcome")
	}
}
