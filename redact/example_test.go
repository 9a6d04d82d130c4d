package redact_test

import (
	"fmt"
	"net/http"

	"github.com/paymux/paymux/redact"
)

func ExampleJSON() {
	body := []byte(`{"card":{"number":"9410000000000005","password_two_digits":"12","birth_or_business_number":"900101"},` +
		`"customer":{"phone":"010-1234-5678"},"memo":"paid with 4111 1111 1111 1111","n":4111111111111111}`)
	fmt.Println(string(redact.JSON(body)))
	// Output:
	// {"card":{"number":"941000******0005","password_two_digits":"[REDACTED]","birth_or_business_number":"******"},"customer":{"phone":"010-****-5678"},"memo":"paid with 4111 11** **** 1111","n":"411111******1111"}
}

func ExampleForm() {
	fmt.Println(string(redact.Form([]byte("card%5Bnumber%5D=9410000000000005&cvc=123&amount=1000"))))
	// Output:
	// card[number]=941000******0005&cvc=[REDACTED]&amount=1000
}

func ExampleText() {
	fmt.Println(string(redact.Text([]byte("GET /cb?secret_key=sk_live_AbC&card=4111-1111-1111-1111 Authorization: Bearer at_0123456789abcdef"))))
	// Output:
	// GET /cb?secret_key=[REDACTED]&card=4111-11**-****-1111 Authorization: Bearer [REDACTED]
}

func ExampleHeaders() {
	h := http.Header{}
	h.Set("Authorization", "Basic Y2tfdGVzdF9hOnNrX3Rlc3RfYg==")
	h.Set("Webhook-Signature", "v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4=")
	m := redact.Headers(h)
	fmt.Println(m["Authorization"])
	fmt.Println(m["Webhook-Signature"])
	// Output:
	// Basic [REDACTED]
	// v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4=
}

func ExampleTruncate() {
	b, cut := redact.Truncate([]byte("결제 완료"), 4)
	fmt.Printf("%q %v\n", b, cut)
	// Output:
	// "결" true
}
