package redact

import (
	"bytes"
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestMaskCard(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"9410000000000005", "941000******0005"},
		{"9410-0000-0000-0005", "941000******0005"},
		{"9410 0000 0000 0005", "941000******0005"},
		{"941000******0005", "941000******0005"},         // already masked
		{"5361-81**-****-2345", "536181******2345"},      // masked by the PG, grouped
		{"53611234****1234", "536112******1234"},         // the PG showed more than BIN + last 4
		{"4111111111111", "411111***1111"},               // 13 digits
		{"6011000990139424123", "601100*********4123"},   // 19 digits
		{"123456789012", "************"},                 // too short for a PAN
		{"12345678901234567890", "********************"}, // too long
		{"1234", "****"},
		{"N/A", "N/A"},
		{"4111x111111111111", "****x************"},
	} {
		if got := MaskCard(tc.in); got != tc.want {
			t.Errorf("MaskCard(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if got := MaskCard(MaskCard(tc.in)); got != MaskCard(tc.in) {
			t.Errorf("MaskCard not idempotent on %q: %q", tc.in, got)
		}
	}
}

func TestMaskDigitRuns(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"352-****-1234-56", "***-****-**34-56"},
		{"입금10,000원 03/05 09:58 잔액110,000원", "입금10,000원 03/05 09:58 잔액110,000원"},
		{"123456", "**3456"},
		{"12345", "12345"},
		{"***-****-**34-56", "***-****-**34-56"},
		{"홍길동 01012345678 입금", "홍길동 *******5678 입금"},
	} {
		if got := MaskDigitRuns(tc.in); got != tc.want {
			t.Errorf("MaskDigitRuns(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if got := MaskDigitRuns(MaskDigitRuns(tc.in)); got != tc.want {
			t.Errorf("MaskDigitRuns twice (%q) = %q", tc.in, got)
		}
	}
}

func TestMaskIdentity(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"01012345678", "010****5678"},
		{"010-1234-5678", "010-****-5678"},
		{"+82-10-1234-5678", "+82-1*-****-5678"},
		{"1234567890", "123***7890"}, // business registration number
		{"123-45-67890", "123-**-*7890"},
		{"900101", "******"}, // birth date
		{"123456789", "*********"},
		{"110123456789", "110*****6789"},             // bank account
		{"123456789012345678", "123***********5678"}, // cash-receipt card
		{"010****5678", "010****5678"},
		{"홍길동", "홍길동"},
	} {
		if got := MaskIdentity(tc.in); got != tc.want {
			t.Errorf("MaskIdentity(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if got := MaskIdentity(MaskIdentity(tc.in)); got != MaskIdentity(tc.in) {
			t.Errorf("MaskIdentity not idempotent on %q: %q", tc.in, got)
		}
	}
}

func TestClassifyKey(t *testing.T) {
	for _, tc := range []struct {
		key, parent string
		want        class
	}{
		{"password", "", classSecret},
		{"Password", "", classSecret},
		{"passwd", "", classSecret},
		{"pwd", "", classSecret},
		{"cardPwd", "", classSecret},
		{"pwd_2digit", "", classSecret}, // iamport
		{"cardPw", "", classSecret},     // NicePay
		{"cardPass", "", classSecret},
		{"idNo", "", classIdentity}, // NicePay: birth date or business number
		{"number", "business", classIdentity},
		{"customerIdentityNumber", "", classIdentity}, // Toss
		{"vbankNumber", "vbank", classIdentity},
		{"password_two_digits", "card", classSecret},
		{"passwordTwoDigits", "", classSecret},
		{"cvc", "", classSecret},
		{"CVV", "", classSecret},
		{"card_cvc", "", classSecret},
		{"secret", "", classSecret},
		{"secret_key", "", classSecret},
		{"secretKey", "", classSecret},
		{"client-secret", "", classSecret},
		{"notification_secret", "", classSecret},
		{"secrets", "", classSecret},
		{"token", "", classSecret},
		{"access_token", "", classSecret},
		{"accessToken", "", classSecret},
		{"refresh_token", "", classSecret},
		{"authToken", "", classSecret},
		{"auth_token", "", classSecret},
		{"api_key", "", classSecret},
		{"apiKey", "", classSecret},
		{"X-Api-Key", "", classSecret},
		{"whsec", "", classSecret},
		{"signature", "", classSecret},
		{"pin", "", classSecret},
		{"site_key", "secrets", classSecret},
		{"Cookie", "", classSecret},
		{"authorization", "", classAuth},
		{"Proxy-Authorization", "", classAuth},
		{"pageToken", "", classNone},
		{"next_page_token", "", classNone},
		{"secret_names", "", classNone},
		{"token_type", "", classNone},
		{"idempotency_key", "", classNone},
		{"billing_key", "", classNone},
		{"client_key", "", classNone},
		{"cardNumber", "", classCard},
		{"card_number", "", classCard},
		{"cardNo", "", classCard},
		{"pan", "", classCard},
		{"number", "card", classCard},
		{"number", "cards", classCard},
		{"card.number", "", classCard},
		{"card[number]", "", classCard},
		{"payment.card.number", "", classCard},
		{"number", "", classNone},
		{"number", "order", classNone},
		{"approval_number", "card", classNone},
		{"identity_number", "", classIdentity},
		{"identityNumber", "", classIdentity},
		{"birth_or_business_number", "", classIdentity},
		{"birthOrBusinessNumber", "", classIdentity},
		{"business_number", "", classIdentity},
		{"phone", "", classIdentity},
		{"phoneNumber", "", classIdentity},
		{"buyer_tel", "", classIdentity},
		{"account_number", "", classIdentity},
		{"accountNumber", "", classIdentity},
		{"refund_account", "", classIdentity},
		{"vbank_num", "", classIdentity},
		{"number", "refund_account", classIdentity},
		{"number", "refundAccount", classIdentity},
		{"identifier", "cash_receipt", classIdentity},
		{"resident_number", "", classResident},
		{"residentRegistrationNumber", "", classResident},
		{"rrn", "", classResident},
		{"jumin_no", "", classResident},
		{"name", "", classNone},
		{"amount", "", classNone},
		{"", "", classNone},
	} {
		if got := classifyKey(tc.key, tc.parent); got != tc.want {
			t.Errorf("classifyKey(%q, %q) = %d, want %d", tc.key, tc.parent, got, tc.want)
		}
	}
}

func TestJSON(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"bank messages: accounts and phones in the text, amounts and times kept",
			`{"messages":[{"text":"[Web발신]\n신한12/03 15:04\n110-123-456789\n입금 50,000\n잔액 1,234,567\n 홍길동 010-1234-5678"}],"text":"110123456789"}`,
			`{"messages":[{"text":"[Web발신]\n신한12/03 15:04\n***-***-**6789\n입금 50,000\n잔액 1,234,567\n 홍길동 ***-****-5678"}],"text":"110123456789"}`},
		{"a statement file is kept out whole",
			`{"bankAccountId":"bac_1","content":"6rGw656Y7J287IucLOyggeyalA=="}`,
			`{"bankAccountId":"bac_1","content":"[REDACTED]"}`},
		{"key-in charge",
			`{"card":{"number":"9410000000000005","expiry_year":2029,"expiry_month":12,"birth_or_business_number":"900101","password_two_digits":"12","installment_months":0}}`,
			`{"card":{"number":"941000******0005","expiry_year":2029,"expiry_month":12,"birth_or_business_number":"******","password_two_digits":"[REDACTED]","installment_months":0}}`},
		{"camelCase",
			`{"cardNumber":"9410-0000-0000-0005","passwordTwoDigits":"12","birthOrBusinessNumber":"1234567890","cvc":"123"}`,
			`{"cardNumber":"941000******0005","passwordTwoDigits":"[REDACTED]","birthOrBusinessNumber":"123***7890","cvc":"[REDACTED]"}`},
		{"card number not Luhn-valid under a card key",
			`{"card_number":"1234567890123456"}`,
			`{"card_number":"123456******3456"}`},
		{"short value under a card key",
			`{"card":{"number":"12345"}}`,
			`{"card":{"number":"*****"}}`},
		{"card number as a JSON number",
			`{"n": 9410000000000005, "m": [1, 4111111111111111], "amount": 50000}`,
			`{"n": "941000******0005", "m": [1, "411111******1111"], "amount": 50000}`},
		{"card number as a JSON number with exponent or fraction",
			`[9.410000000000005e15, 941000000000000.5e1, 9410000000000005.0, -4111111111111111]`,
			`["941000******0005", "941000******0005", "941000******0005", "411111******1111"]`},
		{"Luhn-valid card under an unrelated key, inside text",
			`{"memo":"card 4111 1111 1111 1111 please","other":"4111-1111-1111-1111"}`,
			`{"memo":"card 4111 11** **** 1111 please","other":"4111-11**-****-1111"}`},
		{"non-Luhn digits under an unrelated key are kept",
			`{"order_id":"1234567890123456","ts":1700000000001}`,
			`{"order_id":"1234567890123456","ts":1700000000001}`},
		{"secrets keep the type of null, bool and empty",
			`{"password":null,"secret":true,"token":"","cvc":123,"api_key":"abc"}`,
			`{"password":null,"secret":true,"token":"","cvc":"[REDACTED]","api_key":"[REDACTED]"}`},
		{"a secret's whole subtree",
			`{"secrets":{"site_key":"abc","batch":{"group":"g1","n":[1,2]}},"secret_names":["site_key"]}`,
			`{"secrets":{"site_key":"[REDACTED]","batch":{"group":"[REDACTED]","n":["[REDACTED]","[REDACTED]"]}},"secret_names":["site_key"]}`},
		{"authorization keeps its scheme",
			`{"authorization":"Basic Y2tfdGVzdF9hOnNrX3Rlc3RfYg==","Authorization":"sk_live_abc"}`,
			`{"authorization":"Basic [REDACTED]","Authorization":"[REDACTED]"}`},
		{"access token response",
			`{"access_token":"at_abc.def","token_type":"Bearer","expires_in":1800}`,
			`{"access_token":"[REDACTED]","token_type":"Bearer","expires_in":1800}`},
		{"pagination tokens are kept",
			`{"page_token":"p1","next_page_token":"p2"}`,
			`{"page_token":"p1","next_page_token":"p2"}`},
		{"refund account and phone",
			`{"refund_account":{"bank":"004","number":"11012345678901","holder":"홍길동","phone":"010-1234-5678"}}`,
			`{"refund_account":{"bank":"004","number":"110*******8901","holder":"홍길동","phone":"010-****-5678"}}`},
		{"cash receipt identity",
			`{"cash_receipt":{"type":"INCOME_DEDUCTION","identity_number":"01012345678"},"receipt":{"identifier":"1234567890"}}`,
			`{"cash_receipt":{"type":"INCOME_DEDUCTION","identity_number":"010****5678"},"receipt":{"identifier":"123***7890"}}`},
		{"phone as a number",
			`{"phone":1012345678}`,
			`{"phone":"101***5678"}`},
		{"virtual account",
			`{"virtual_account":{"bank":"088","account_number":"56211234567890","holder":"paymux"}}`,
			`{"virtual_account":{"bank":"088","account_number":"562*******7890","holder":"paymux"}}`},
		{"resident registration number",
			`{"resident_number":"900101-1234567","note":"RRN 900101-1234567."}`,
			`{"resident_number":"******-*******","note":"RRN 900101-*******."}`},
		{"arrays of sensitive values",
			`{"phones":["01012345678","01098765432"],"cvc":["1","2"]}`,
			`{"phones":["010****5678","010****5432"],"cvc":["[REDACTED]","[REDACTED]"]}`},
		{"nested three levels",
			`{"a":{"b":{"c":[{"card":{"number":"4111111111111111"}}]}}}`,
			`{"a":{"b":{"c":[{"card":{"number":"411111******1111"}}]}}}`},
		{"JSON inside a string",
			`{"payload":"{\"pan\":\"4111111111111111\",\"cvc\":\"123\",\"amount\":1000}"}`,
			`{"payload":"{\"pan\":\"411111******1111\",\"cvc\":\"[REDACTED]\",\"amount\":1000}"}`},
		{"URL query in a string",
			`{"return_url":"https://shop.example/cb?card_number=4111111111111111&cvc=123&secret_key=sk_live_abc&order=7"}`,
			`{"return_url":"https://shop.example/cb?card_number=411111******1111&cvc=[REDACTED]&secret_key=[REDACTED]&order=7"}`},
		{"credentials and paymux secrets in any string",
			`{"log":"Authorization: Bearer at_abcdefghij.klm","k":"sk_test_AbC123","w":"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw","admin":"pma_0123456789abcdef","ck":"ck_test_abc"}`,
			`{"log":"Authorization: Bearer [REDACTED]","k":"sk_test_[REDACTED]","w":"whsec_[REDACTED]","admin":"pma_[REDACTED]","ck":"ck_test_abc"}`},
		{"sensitive key in a dotted name",
			`{"card.number":"4111111111111112"}`,
			`{"card.number":"411111******1112"}`},
		{"card number as an object key",
			`{"4111111111111111":true}`,
			`{"411111******1111":true}`},
		{"whitespace and key order are kept",
			"{\n  \"z\": 1,\n  \"cvc\" : \"123\",\n  \"a\": [ 2 ]\n}",
			"{\n  \"z\": 1,\n  \"cvc\" : \"[REDACTED]\",\n  \"a\": [ 2 ]\n}"},
		{"escapes in unchanged strings are kept",
			`{"name":"\u D55C","memo":"a\"b"}`, // not valid JSON: Text leaves it
			`{"name":"\u D55C","memo":"a\"b"}`},
		{"escaped strings that change are re-encoded",
			`{"memo":"\u0034111111111111111 \"quoted\"\n"}`,
			`{"memo":"411111******1111 \"quoted\"\n"}`},
		{"top-level scalar", `"4111111111111111"`, `"411111******1111"`},
		{"top-level number", `4111111111111111`, `"411111******1111"`},
		{"invalid JSON falls back to Text",
			`{"card_number":"4111111111111111","cvc":"123"`,
			`{"card_number":"411111******1111","cvc":"[REDACTED]"`},
		{"truncated JSON with escaped JSON inside",
			`{"data":"{\"cvc\":\"123\",\"password\":\"a\\\"b\"}`,
			`{"data":"{\"cvc\":\"[REDACTED]\",\"password\":\"[REDACTED]\"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := string(JSON([]byte(tc.in)))
			if got != tc.want {
				t.Errorf("JSON(%s)\n got %s\nwant %s", tc.in, got, tc.want)
			}
			if again := string(JSON([]byte(got))); again != got {
				t.Errorf("not idempotent:\n once  %s\n twice %s", got, again)
			}
			if json.Valid([]byte(tc.in)) && !json.Valid([]byte(got)) {
				t.Errorf("valid JSON in, invalid out: %s", got)
			}
		})
	}
}

func TestUnchangedReturnsInput(t *testing.T) {
	for _, in := range []string{`{"amount":1000,"order_name":"커피","items":[1,2,3]}`, "plain text", "a=1&b=2", ""} {
		b := []byte(in)
		for name, f := range map[string]func([]byte) []byte{"JSON": JSON, "Text": Text, "Form": Form} {
			if got := f(b); !same(got, b) {
				t.Errorf("%s(%q) returned a copy %q; want the input itself", name, in, got)
			}
		}
	}
}

func TestText(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"pay 4111111111111111 now", "pay 411111******1111 now"},
		{"4111-1111-1111-1111", "4111-11**-****-1111"},
		{"4111 1111 1111 1111", "4111 11** **** 1111"},
		{"4111+1111+1111+1111", "4111+11**+****+1111"},
		{"4111%201111%201111%201111", "4111%2011**%20****%201111"},
		{"378282246310005", "378282*****0005"}, // Amex, 15
		{"3782 822463 10005", "3782 82**** *0005"},
		{"tel 010 4111 1111 1111 1111", "tel 010 4111 11** **** 1111"},
		{"4111111111111111x4111111111111111", "411111******1111x411111******1111"},
		{"12345678901234567890", "12345678901234567890"}, // longer than a PAN
		{"1234567890123456", "1234567890123456"},         // not Luhn-valid
		{"900101-1234567", "900101-*******"},
		{"900101-9234567", "900101-9234567"}, // 7th digit out of range
		{"901301-1234567", "901301-1234567"}, // month 13
		{"Authorization: Basic Y2tfdGVzdF9hOnNrX3Rlc3RfYg==", "Authorization: Basic [REDACTED]"},
		{"header Basic Y2tfdGVzdF9hOnNrX3Rlc3RfYg==", "header Basic [REDACTED]"},
		{"header basic YWxhZGRpbjpvcGVuc2VzYW1l", "header basic [REDACTED]"}, // letters only, decodes to user:password
		{"the Basic plan", "the Basic plan"},
		{"BEARER abc.def", "BEARER [REDACTED]"},
		{"Bearer%20abc", "Bearer%20[REDACTED]"},
		{"use sk_live_abcDEF123 here", "use sk_live_[REDACTED] here"},
		{"token=at_abcdefgh12345678.sig", "token=[REDACTED]"},
		{"x at_abcdefgh12345678.sig", "x at_[REDACTED]"},
		{"x at_home", "x at_home"},                         // too short for a token
		{"created_at_1234567890", "created_at_1234567890"}, // not at a word start
		{"secret whsec_abc+/=", "secret whsec_[REDACTED]"},
		{"cvc=123&card_number=9410000000000005&pwd=x&page=1", "cvc=[REDACTED]&card_number=941000******0005&pwd=[REDACTED]&page=1"},
		{"card[number]=4111111111111112", "card[number]=411111******1112"},
		{"phone=01012345678", "phone=010****5678"},
		{`"password" : "hunter2", "x": 1`, `"password" : "[REDACTED]", "x": 1`},
		{`\"cvc\":\"123\"`, `\"cvc\":\"[REDACTED]\"`},
		{"password: hunter2\nnext", "password: [REDACTED]\nnext"},
		{"the password: is required", "the password: is required"}, // prose: unquoted key not at line start
		{"cvc=[REDACTED]", "cvc=[REDACTED]"},
		{"", ""},
	} {
		got := string(Text([]byte(tc.in)))
		if got != tc.want {
			t.Errorf("Text(%q)\n got %q\nwant %q", tc.in, got, tc.want)
		}
		if again := string(Text([]byte(got))); again != got {
			t.Errorf("Text not idempotent on %q: %q", got, again)
		}
		if s := String(tc.in); s != got {
			t.Errorf("String(%q) = %q, Text gave %q", tc.in, s, got)
		}
	}
}

func TestForm(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"amount=1000&order_name=%EC%BB%A4%ED%94%BC", "amount=1000&order_name=%EC%BB%A4%ED%94%BC"},
		{"card_number=4111111111111111&cvc=123&amount=1000", "card_number=411111******1111&cvc=[REDACTED]&amount=1000"},
		{"card%5Bnumber%5D=1234567890123456&card%5Bpassword%5D=12", "card[number]=123456******3456&card[password]=[REDACTED]"},
		{"memo=pay+4111+1111+1111+1111", "memo=pay+4111+11**+****+1111"},
		{"phone=010-1234-5678&buyer_tel=01012345678", "phone=010-****-5678&buyer_tel=010****5678"},
		{"data=%7B%22cvc%22%3A%22123%22%7D", "data={%22cvc%22:%22[REDACTED]%22}"},
		{"authorization=Basic+Zm9vOmJhcg%3D%3D", "authorization=Basic+[REDACTED]"},
		{"bad=%zz4111111111111111&x=1", "bad=%25zz411111******1111&x=1"},
		{"cvc=0%+", "cvc=[REDACTED]"},
		{"card%5bnumber%5d=1234%", "card[number]=****%25"},
		{"flag&&cvc=1&", "flag&&cvc=[REDACTED]&"},
		{"4111111111111111", "411111******1111"},
	} {
		got := string(Form([]byte(tc.in)))
		if got != tc.want {
			t.Errorf("Form(%q)\n got %q\nwant %q", tc.in, got, tc.want)
		}
		if again := string(Form([]byte(got))); again != got {
			t.Errorf("Form not idempotent on %q: %q", got, again)
		}
	}
}

func TestHeaders(t *testing.T) {
	h := http.Header{}
	h.Set("Authorization", "Basic Y2tfdGVzdF9hOnNrX3Rlc3RfYg==")
	h.Set("Proxy-Authorization", "secret-without-scheme")
	h.Set("Cookie", "sid=abc; theme=dark")
	h.Add("Set-Cookie", "sid=abc; Path=/; HttpOnly")
	h.Add("Set-Cookie", "x=1")
	h.Set("Webhook-Signature", "v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4=")
	h.Set("Webhook-Id", "msg_1")
	h.Set("Idempotency-Key", "idem-1")
	h.Set("X-Api-Key", "k-123")
	h.Set("X-Customer-Phone", "01012345678")
	h.Set("Referer", "https://shop.example/?card_number=4111111111111111")
	h.Set("Content-Type", "application/json")
	h["x-lower"] = []string{"sk_live_abc"}
	got := Headers(h)
	want := map[string]string{
		"Authorization":       "Basic [REDACTED]",
		"Proxy-Authorization": "[REDACTED]",
		"Cookie":              "sid=[REDACTED]; theme=[REDACTED]",
		"Set-Cookie":          "sid=[REDACTED]; Path=/; HttpOnly, x=[REDACTED]",
		"Webhook-Signature":   "v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4=",
		"Webhook-Id":          "msg_1",
		"Idempotency-Key":     "idem-1",
		"X-Api-Key":           "[REDACTED]",
		"X-Customer-Phone":    "010****5678",
		"Referer":             "https://shop.example/?card_number=411111******1111",
		"Content-Type":        "application/json",
		"X-Lower":             "sk_live_[REDACTED]",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Headers:\n got %#v\nwant %#v", got, want)
	}
	if len(Headers(nil)) != 0 {
		t.Error("Headers(nil) is not empty")
	}
}

func TestBody(t *testing.T) {
	const card = "4111111111111111"
	for _, tc := range []struct{ ct, in, want string }{
		{"application/json; charset=utf-8", `{"cvc":"1"}`, `{"cvc":"[REDACTED]"}`},
		{"application/vnd.api+json", `{"cvc":"1"}`, `{"cvc":"[REDACTED]"}`},
		{"application/x-www-form-urlencoded", "cvc=1&n=" + card, "cvc=[REDACTED]&n=411111******1111"},
		{"", ` [{"cvc":"1"}]`, ` [{"cvc":"[REDACTED]"}]`},
		{"text/plain", "card " + card, "card 411111******1111"},
		{"bogus;;", "card " + card, "card 411111******1111"},
	} {
		if got := string(Body(tc.ct, []byte(tc.in))); got != tc.want {
			t.Errorf("Body(%q, %q) = %q, want %q", tc.ct, tc.in, got, tc.want)
		}
	}
}

func TestTruncate(t *testing.T) {
	for _, tc := range []struct {
		in      string
		n       int
		want    string
		wantCut bool
	}{
		{"hello", 10, "hello", false},
		{"hello", 5, "hello", false},
		{"hello", 3, "hel", true},
		{"hello", 0, "", true},
		{"hello", -1, "", true},
		{"가나다", 4, "가", true}, // 3-byte runes: cut before the second
		{"가나다", 6, "가나", true},
		{"a😀b", 4, "a", true},
		{"a😀b", 5, "a😀", true},
	} {
		got, cut := Truncate([]byte(tc.in), tc.n)
		if string(got) != tc.want || cut != tc.wantCut {
			t.Errorf("Truncate(%q, %d) = %q, %v; want %q, %v", tc.in, tc.n, got, cut, tc.want, tc.wantCut)
		}
		if !utf8.Valid(got) {
			t.Errorf("Truncate(%q, %d) = %q is not valid UTF-8", tc.in, tc.n, got)
		}
		if cut && cap(got) != len(got) {
			t.Errorf("Truncate(%q, %d): capacity %d beyond length %d", tc.in, tc.n, cap(got), len(got))
		}
	}
}

// A realistic body, for the benchmark and a smoke test of the whole.
var sampleRequest = []byte(`{
  "store_id": "store_3fA9kLm2",
  "channel_key": "ch_1",
  "order_id": "order-20260101-0001",
  "order_name": "정기구독 1개월",
  "amount": {"total": 50000, "tax_free": 0},
  "customer": {"name": "홍길동", "email": "gildong@example.com", "phone": "010-1234-5678"},
  "card": {"number": "9410000000000005", "expiry_year": 2029, "expiry_month": 12,
           "birth_or_business_number": "900101", "password_two_digits": "12", "installment_months": 0},
  "notice_urls": ["https://shop.example/webhook?src=paymux"],
  "custom_data": "{\"coupon\":\"WELCOME\",\"ref\":\"pay 4111 1111 1111 1111\"}"
}`)

func TestSample(t *testing.T) {
	out := JSON(sampleRequest)
	for _, leak := range []string{"9410000000000005", "1234-5678", "900101", `"12"`, "4111 1111 1111 1111"} {
		if bytes.Contains(out, []byte(leak)) {
			t.Errorf("output contains %q:\n%s", leak, out)
		}
	}
	for _, keep := range []string{"941000******0005", "010-****-5678", "홍길동", "order-20260101-0001", "50000", "WELCOME"} {
		if !bytes.Contains(out, []byte(keep)) {
			t.Errorf("output lost %q:\n%s", keep, out)
		}
	}
	if !strings.HasPrefix(string(out), "{\n  \"store_id\"") {
		t.Errorf("layout not kept:\n%s", out)
	}
}

func BenchmarkJSON(b *testing.B) {
	b.SetBytes(int64(len(sampleRequest)))
	for b.Loop() {
		JSON(sampleRequest)
	}
}

func BenchmarkJSONClean(b *testing.B) {
	clean := []byte(`{"id":"pay_3fA9kLm2","status":"PAID","amount":{"total":50000,"paid":50000},"order_name":"커피 2잔","paid_at":"2026-01-01T10:00:00Z","card":{"issuer":"361","number":"941000******0005","approval_number":"30001234"}}`)
	b.SetBytes(int64(len(clean)))
	for b.Loop() {
		JSON(clean)
	}
}
