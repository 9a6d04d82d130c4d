package providers_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/paymux/paymux/providers"
)

const (
	pan      = "9410000000000005"
	birth    = "880412"
	password = "73"
	account  = "11012345678901"
	identity = "01087654321"
)

func testCard() providers.CardData {
	return providers.CardData{
		Number:      providers.NewCardNumber("9410-0000 0000-0005"),
		ExpiryYear:  2030,
		ExpiryMonth: 12,
		OwnerID:     providers.NewRedacted(birth),
		Password2:   providers.NewRedacted(password),
	}
}

func TestCardNumberMasking(t *testing.T) {
	n := providers.NewCardNumber("9410 0000-0000 0005")
	if got := n.Reveal(); got != pan {
		t.Fatalf("Reveal = %q, want %q", got, pan)
	}
	if n.BIN() != "941000" || n.Last4() != "0005" || n.Masked() != "941000******0005" {
		t.Fatalf("BIN %q last4 %q masked %q", n.BIN(), n.Last4(), n.Masked())
	}
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"1234", "****"},
		{"123456789012", "************"}, // too short for a PAN: nothing shown
		{"4111111111111", "411111***1111"},
		{"6200000000000000005", "620000*********0005"},
	} {
		if got := providers.NewCardNumber(tc.in).Masked(); got != tc.want {
			t.Errorf("Masked(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	var zero providers.CardNumber
	if !zero.IsZero() || zero.Masked() != "" || zero.Reveal() != "" {
		t.Fatal("zero CardNumber is not empty")
	}
}

// wrapper holds card data in an unexported field: fmt cannot call its
// methods there, so only the pointer layout keeps the digits out.
type wrapper struct {
	card providers.CardData
	num  providers.CardNumber
	pw   providers.Redacted
}

// TestNoCardDataInOutput prints and logs request structs in every usual way
// and checks that no full card number, birth date, password digits, account
// or identity number appears.
func TestNoCardDataInOutput(t *testing.T) {
	card := testCard()
	values := map[string]any{
		"KeyInRequest":  providers.KeyInRequest{OrderID: "o-1", Amount: providers.Amount{Total: 1000}, Card: card},
		"*KeyInRequest": &providers.KeyInRequest{OrderID: "o-1", Card: card},
		"IssueBillingKeyRequest": providers.IssueBillingKeyRequest{
			CustomerKey: "c-1", Card: &card,
		},
		"CardData":   card,
		"*CardData":  &card,
		"CardNumber": card.Number,
		"CancelRequest": providers.CancelRequest{PGTransactionID: "t", RefundAccount: &providers.RefundAccount{
			Bank: providers.BankShinhan, Number: providers.NewRedacted(account), Holder: "홍길동",
		}},
		"IssueCashReceiptRequest": providers.IssueCashReceiptRequest{OrderID: "o", Subject: providers.CashReceiptSubject{
			Type: providers.CashReceiptIncomeDeduction, Identity: providers.NewRedacted(identity),
		}},
		"unexported": wrapper{card: card, num: card.Number, pw: card.Password2},
		"slice":      []providers.CardData{card},
		"map":        map[string]providers.CardData{"c": card},
	}
	secrets := []string{pan, birth, account, identity, "OwnerID:" + birth, "Password2:" + password, `"` + password + `"`}
	check := func(t *testing.T, how, out string) {
		t.Helper()
		for _, s := range secrets {
			if strings.Contains(out, s) {
				t.Errorf("%s leaks %q: %s", how, s, out)
			}
		}
	}
	for name, v := range values {
		t.Run(name, func(t *testing.T) {
			for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%d"} {
				check(t, verb, fmt.Sprintf(verb, v))
			}
			check(t, "Sprint", fmt.Sprint(v))
			if b, err := json.Marshal(v); err == nil {
				check(t, "json", string(b))
			}
			var buf bytes.Buffer
			slog.New(slog.NewJSONHandler(&buf, nil)).Info("call", "req", v, slog.Any("any", v))
			check(t, "slog JSON", buf.String())
			buf.Reset()
			slog.New(slog.NewTextHandler(&buf, nil)).Info("call", "req", v)
			check(t, "slog text", buf.String())
		})
	}
}

func TestCardDataForms(t *testing.T) {
	card := testCard()
	if got := fmt.Sprint(card); got != "card 941000******0005" {
		t.Errorf("Sprint = %q", got)
	}
	if got := fmt.Sprintf("%#v", card); !strings.Contains(got, `Number:"941000******0005"`) || !strings.Contains(got, `OwnerID:"[REDACTED]"`) {
		t.Errorf("GoString = %q", got)
	}
	b, _ := json.Marshal(card)
	if string(b) != `{"number":"941000******0005"}` {
		t.Errorf("json = %s", b)
	}
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("x", "card", card)
	if !strings.Contains(buf.String(), `"card":{"bin":"941000","last4":"0005"}`) {
		t.Errorf("slog = %s", buf.String())
	}
	if card.OwnerID.Reveal() != birth || card.Password2.Reveal() != password {
		t.Error("Reveal does not return the values")
	}
	var zero providers.Redacted
	if fmt.Sprint(zero) != "" || !zero.IsZero() {
		t.Error("zero Redacted prints something")
	}
}

func TestChannelSecretsNotShown(t *testing.T) {
	ch := providers.Channel{ID: "ch_1", MerchantID: "mid", Mode: providers.ModeTest,
		Secrets: providers.Secrets{"secret_key": "sk_live_supersecret", "notification_secret": "whsec_hidden"}}
	if ch.Secret("secret_key") != "sk_live_supersecret" {
		t.Fatal("Secret does not return the value")
	}
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("x", "ch", ch)
	outs := []string{fmt.Sprintf("%v", ch), fmt.Sprintf("%+v", ch), fmt.Sprintf("%#v", ch), buf.String()}
	b, _ := json.Marshal(ch)
	outs = append(outs, string(b))
	for _, out := range outs {
		if strings.Contains(out, "supersecret") || strings.Contains(out, "whsec_hidden") {
			t.Errorf("secret shown: %s", out)
		}
		if !strings.Contains(out, "secret_key") {
			t.Errorf("secret name missing: %s", out)
		}
	}
}
