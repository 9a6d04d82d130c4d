package tosspayments_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/paymux/paymux/providers"
	"github.com/paymux/paymux/providers/tosspayments"
)

func TestCheckChannel(t *testing.T) {
	a := tosspayments.New(tosspayments.Options{})
	live := providers.Channel{MerchantID: "mid", Mode: providers.ModeLive, Secrets: providers.Secrets{
		"client_key": "live_ck_abc", "secret_key": "live_sk_abc", "webhook_security_key": "x"}}
	if err := a.CheckChannel(live); err != nil {
		t.Errorf("live: %v", err)
	}
	if err := a.CheckChannel(testChannel()); err != nil {
		t.Errorf("test: %v", err)
	}
	with := func(mut func(*providers.Channel)) providers.Channel {
		ch := testChannel()
		ch.Secrets = providers.Secrets{"client_key": testClientKey, "secret_key": testSecretKey}
		mut(&ch)
		return ch
	}
	cases := []struct {
		name  string
		ch    providers.Channel
		field string
	}{
		{"mode", with(func(c *providers.Channel) { c.Mode = "" }), "mode"},
		{"unknown secret", with(func(c *providers.Channel) { c.Secrets["api_key"] = "x" }), "secrets.api_key"},
		{"no client key", with(func(c *providers.Channel) { delete(c.Secrets, "client_key") }), "secrets.client_key"},
		{"no secret key", with(func(c *providers.Channel) { delete(c.Secrets, "secret_key") }), "secrets.secret_key"},
		{"widget client key", with(func(c *providers.Channel) { c.Secrets["client_key"] = "test_gck_docs_Ovk5rk1EwkEbP0W43n07xlzm" }), "secrets.client_key"},
		{"widget secret key", with(func(c *providers.Channel) { c.Secrets["secret_key"] = "test_gsk_docs_OaPz8L5KdmQXkzRz3y47BMw6" }), "secrets.secret_key"},
		{"live key on test", with(func(c *providers.Channel) { c.Secrets["secret_key"] = "live_sk_abc" }), "secrets.secret_key"},
		{"test key on live", with(func(c *providers.Channel) { c.Mode = providers.ModeLive; c.Secrets["client_key"] = "live_ck_abc" }), "secrets.secret_key"},
		{"swapped", with(func(c *providers.Channel) { c.Secrets["client_key"] = testSecretKey }), "secrets.client_key"},
		{"legacy key", with(func(c *providers.Channel) { c.Secrets["secret_key"] = "test_ak_ZORzdMaqN3wQd5k6ygr5AkYXQGwy" }), "secrets.secret_key"},
		{"prefix only", with(func(c *providers.Channel) { c.Secrets["secret_key"] = "test_sk_" }), "secrets.secret_key"},
		{"space", with(func(c *providers.Channel) { c.Secrets["secret_key"] = "test_sk_a b" }), "secrets.secret_key"},
		{"no merchant", with(func(c *providers.Channel) { c.MerchantID = " " }), "merchant_id"},
	}
	for _, c := range cases {
		err := a.CheckChannel(c.ch)
		var fe *providers.FieldError
		if !errors.As(err, &fe) || fe.Field != c.field {
			t.Errorf("%s: %v, want a FieldError on %s", c.name, err, c.field)
		}
	}
	err := a.CheckChannel(cases[4].ch)
	if err == nil || !strings.Contains(err.Error(), "widget") {
		t.Errorf("widget key message: %v", err)
	}
}

// A call on a channel whose key disagrees with its mode never leaves.
func TestKeyModeMismatchRefusedBeforeCalling(t *testing.T) {
	s, a := newStub(t, answer(200, "{}"))
	ch := testChannel()
	ch.Mode = providers.ModeLive
	_, err := a.Lookup(context.Background(), ch, providers.LookupRequest{OrderID: "order-1"})
	wantKind(t, err, providers.KindUnauthorized, tosspayments.CodeChannelKeyMode)
	ch = testChannel()
	ch.Secrets = providers.Secrets{}
	_, err = a.Lookup(context.Background(), ch, providers.LookupRequest{OrderID: "order-1"})
	wantKind(t, err, providers.KindUnauthorized, tosspayments.CodeChannelKeysMissing)
	if len(s.requests()) != 0 {
		t.Error("a call left")
	}
}

func TestVerifyCredentials(t *testing.T) {
	cases := []struct {
		status int
		body   string
		ok     bool
		kind   providers.Kind
	}{
		{404, `{"code": "NOT_FOUND_PAYMENT", "message": "존재하지 않는 결제 입니다."}`, true, 0},
		{401, `{"code": "UNAUTHORIZED_KEY", "message": "인증되지 않은 시크릿 키 혹은 클라이언트 키 입니다."}`, false, providers.KindUnauthorized},
		{404, `not toss`, false, providers.KindNotFound},
		{200, `{"paymentKey": "pk", "orderId": "x", "status": "DONE"}`, false, providers.KindUnknown},
		{500, `{}`, false, providers.KindUnavailable},
	}
	for _, c := range cases {
		s, a := newStub(t, answer(c.status, c.body))
		err := a.VerifyCredentials(context.Background(), testChannel())
		if c.ok {
			if err != nil {
				t.Errorf("%d: %v", c.status, err)
			}
		} else {
			wantKind(t, err, c.kind, "")
		}
		r := s.requests()[0]
		if r.Method != "GET" || !strings.Contains(r.Path, "/v1/payments/orders/paymux-verify-") || r.Header.Get("Authorization") != testBasic {
			t.Errorf("request %s %s", r.Method, r.Path)
		}
	}
}
