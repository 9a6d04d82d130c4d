package nicepay_test

import (
	"testing"
	"time"

	"github.com/paymux/paymux/providers/nicepay"
)

// The manual's published sandbox keys and vectors (README.md, common/test.md).
const (
	readmeClientID = "S2_af4543a0be4d49a98122e01ec2059a56"
	readmeSecret   = "9eb85607103646da9f9c02b128f2e5ee"
	testClientID   = "58e3b578555e45738d6b569e53d5ae54"
	testSecret     = "4f13ca267dfa4fc6964148bedcda15ef"
)

func TestBasicAuthPublishedExample(t *testing.T) {
	want := "Basic UzJfYWY0NTQzYTBiZTRkNDlhOTgxMjJlMDFlYzIwNTlhNTY6OWViODU2MDcxMDM2NDZkYTlmOWMwMmIxMjhmMmU1ZWU="
	if got := nicepay.BasicAuth(readmeClientID, readmeSecret); got != want {
		t.Fatalf("BasicAuth = %q, want %q", got, want)
	}
}

func TestPublishedSignatures(t *testing.T) {
	cases := []struct{ name, got, want string }{
		{"window README", nicepay.WindowSignature("NICEUNTTB06096FF8F653AA366E7EEED1101AAAE", readmeClientID, "1004", readmeSecret),
			"99ea68bf15681741e793ece56ab87891b9bdc94cd54abdcb55b2884f4336155a"},
		{"approve README", nicepay.PaymentSignature("UT0000113m01012111051714341073", "1004", "2021-11-05T17:14:35.150+0900", readmeSecret),
			"63b251b31c909eebef1a9f4fcc19e77bdcb8f64fc1066a29670f8627186865cd"},
		{"window test.md", nicepay.WindowSignature("NICEUNTT9FBBD87FD2393AFEE45A7DCA61C194AA", testClientID, "1004", testSecret),
			"7cc95c592e2a12f0292e1a20d68dd9eb8132fd3c0af675b981a4c1c2ce63a93b"},
		{"approve test.md", nicepay.PaymentSignature("UT0000113m01012110051656331001", "1004", "2021-10-05T16:56:34.447+0900", testSecret),
			"28c2e8bae912847541d4885db17648f963c7cc8e8249ff010097d6f1395df993"},
	}
	for _, c := range cases {
		if c.got != c.want {
			t.Errorf("%s: %s, want %s", c.name, c.got, c.want)
		}
	}
}

// Derived in the reference from the published formulas and the README
// secret: regression fixtures for the request-side signData.
func TestDerivedSignData(t *testing.T) {
	const edi = "2021-11-05T17:20:00.000+0900"
	const tid = "UT0000113m01012111051714341073"
	cases := []struct{ name, got, want string }{
		{"cancel", nicepay.Sign(tid, edi, readmeSecret), "9cddb26335efa5ffd6700232f1ee6d8041d5bad6c64a99fffcb449b317bf2ebf"},
		{"approve", nicepay.Sign(tid, "1004", edi, readmeSecret), "d1a347fa5969dbc45c4643855cd0239c8c8ac546f5ad4e3ec0d2ea44c9ae8299"},
		{"net-cancel", nicepay.Sign("c74a5960-830b-4cd8-82a9-fa1ce739a18f", edi, readmeSecret), "de1548b91938e64091c6b53678f9a0a110c79912540944d9826cfd48e42789fe"},
		{"billing regist", nicepay.Sign("order-0001", edi, readmeSecret), "0a89776d544fa25f0ad964ef3800b522c75197938ab580ae0c351a60831b68b9"},
		{"billing charge", nicepay.Sign("order-0002", "BIKYnictest00m1104191651325596", edi, readmeSecret), "4c48de1d906316e6e7d229aa114fe5470df4179e1b8abfd4a863c21742e102f2"},
	}
	for _, c := range cases {
		if c.got != c.want {
			t.Errorf("%s: %s, want %s", c.name, c.got, c.want)
		}
	}
}

func TestEncDataPublishedExample(t *testing.T) {
	const plain = "cardNo=1234567890123456&expYear=25&expMonth=12&idNo=800101&cardPw=12"
	// The manual's example key is 2dcc2a0d63bf4694 (the first 16 characters
	// of a secret key); any longer secret with that prefix encrypts alike.
	got, err := nicepay.EncData(plain, "2dcc2a0d63bf469490bb19a201be3735")
	if err != nil {
		t.Fatal(err)
	}
	const want = "7c4b12eb43324290bd0e522900a892343f57e0d176cdadae757132c7f3cd442f023ef5c3ffa254ed04b6d47624d4c7847e8061f3be0d67adf1b463b46a542052cf47a5206bfd23945fc1851d426468f4"
	if got != want {
		t.Fatalf("EncData = %s, want %s", got, want)
	}
	if _, err := nicepay.EncData(plain, "short"); err == nil {
		t.Fatal("EncData with a 5-character secret: no error")
	}
}

func TestEdiDate(t *testing.T) {
	at := time.Date(2021, 11, 5, 8, 14, 35, 150e6, time.UTC)
	if got, want := nicepay.EdiDate(at), "2021-11-05T17:14:35.150+0900"; got != want {
		t.Fatalf("EdiDate = %q, want %q", got, want)
	}
}

func TestCancelOrderID(t *testing.T) {
	a := nicepay.CancelOrderID("order-1", "can_1")
	if a != nicepay.CancelOrderID("order-1", "can_1") {
		t.Fatal("not deterministic")
	}
	if a == nicepay.CancelOrderID("order-1", "can_2") || a == "order-1" {
		t.Fatalf("not fresh per cancel: %q", a)
	}
	long := nicepay.CancelOrderID(string(make([]byte, 0))+"0123456789012345678901234567890123456789012345678901234567890123", "k")
	if len(long) > 64 {
		t.Fatalf("%d characters, NicePay allows 64", len(long))
	}
	if nicepay.CancelOrderID("가나다라마바사아자차카타파하가나다라마바사아자차카타파하", "k") == "" {
		t.Fatal("empty")
	}
}
