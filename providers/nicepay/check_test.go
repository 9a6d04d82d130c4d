package nicepay_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/paymux/paymux/providers"
	"github.com/paymux/paymux/providers/nicepay"
)

func TestCheckChannel(t *testing.T) {
	a := nicepay.New(nicepay.Options{})
	ch := func(mode providers.Mode, kv ...string) providers.Channel {
		s := providers.Secrets{}
		for i := 0; i < len(kv); i += 2 {
			s[kv[i]] = kv[i+1]
		}
		return providers.Channel{MerchantID: "nicepay00m", Mode: mode, Secrets: s}
	}
	const secret = "9eb85607103646da9f9c02b128f2e5ee"
	cases := []struct {
		name  string
		ch    providers.Channel
		field string // "" = accepted
	}{
		{"sandbox S2_", ch(providers.ModeTest, "client_id", "S2_af45", "secret_key", secret), ""},
		{"unprefixed test key", ch(providers.ModeTest, "client_id", "58e3b578555e45738d6b569e53d5ae54", "secret_key", secret), ""},
		{"unprefixed live key", ch(providers.ModeLive, "client_id", "58e3b578555e45738d6b569e53d5ae54", "secret_key", secret), ""},
		{"live R2_", ch(providers.ModeLive, "client_id", "R2_abc", "secret_key", secret), ""},
		{"live with S1_", ch(providers.ModeLive, "client_id", "S1_abc", "secret_key", secret), "secrets.client_id"},
		{"test with R1_", ch(providers.ModeTest, "client_id", "R1_abc", "secret_key", secret), "secrets.client_id"},
		{"no client id", ch(providers.ModeTest, "secret_key", secret), "secrets.client_id"},
		{"no secret", ch(providers.ModeTest, "client_id", "S2_x"), "secrets.secret_key"},
		{"short secret", ch(providers.ModeTest, "client_id", "S2_x", "secret_key", "0123456789abcde"), "secrets.secret_key"},
		{"bad mode", ch("PROD", "client_id", "S2_x", "secret_key", secret), "mode"},
		{"unknown secret", ch(providers.ModeTest, "client_id", "S2_x", "secret_key", secret, "client_key", "x"), "secrets.client_key"},
		{"client pair", ch(providers.ModeTest, "client_id", "S2_x", "secret_key", secret,
			"client_approval_client_id", "S1_y", "client_approval_secret_key", secret), ""},
		{"client id alone", ch(providers.ModeTest, "client_id", "S2_x", "secret_key", secret,
			"client_approval_client_id", "S1_y"), "secrets.client_approval_secret_key"},
		{"client secret alone", ch(providers.ModeTest, "client_id", "S2_x", "secret_key", secret,
			"client_approval_secret_key", secret), "secrets.client_approval_client_id"},
		{"client pair of the other mode", ch(providers.ModeLive, "client_id", "R2_x", "secret_key", secret,
			"client_approval_client_id", "S1_y", "client_approval_secret_key", secret), "secrets.client_approval_client_id"},
	}
	for _, c := range cases {
		err := a.CheckChannel(c.ch)
		if c.field == "" {
			if err != nil {
				t.Errorf("%s: %v", c.name, err)
			}
			continue
		}
		var fe *providers.FieldError
		if !errors.As(err, &fe) || fe.Field != c.field {
			t.Errorf("%s: %v, want a FieldError on %s", c.name, err, c.field)
		}
		if err != nil && strings.Contains(err.Error(), secret) {
			t.Errorf("%s: the error shows the secret", c.name)
		}
	}
}
