package nicepayfake_test

import (
	"testing"

	"github.com/paymux/paymux/providers/nicepay/nicepayfake"
)

// The manual's published vectors (README.md, common/test.md) and the
// reference's derived ones, against the formulas the fake signs and
// verifies with.
func TestPublishedSignatureVectors(t *testing.T) {
	const (
		secret  = "9eb85607103646da9f9c02b128f2e5ee"
		secret2 = "4f13ca267dfa4fc6964148bedcda15ef"
		tid     = "UT0000113m01012111051714341073"
		ediD    = "2021-11-05T17:20:00.000+0900"
	)
	tests := []struct {
		name, got, want string
	}{
		{"window signature (README.md)",
			nicepayfake.WindowSignature("NICEUNTTB06096FF8F653AA366E7EEED1101AAAE", "S2_af4543a0be4d49a98122e01ec2059a56", "1004", secret),
			"99ea68bf15681741e793ece56ab87891b9bdc94cd54abdcb55b2884f4336155a"},
		{"approve response signature (README.md)",
			nicepayfake.PaymentSignature(tid, "1004", "2021-11-05T17:14:35.150+0900", secret),
			"63b251b31c909eebef1a9f4fcc19e77bdcb8f64fc1066a29670f8627186865cd"},
		{"window signature (common/test.md)",
			nicepayfake.WindowSignature("NICEUNTT9FBBD87FD2393AFEE45A7DCA61C194AA", "58e3b578555e45738d6b569e53d5ae54", "1004", secret2),
			"7cc95c592e2a12f0292e1a20d68dd9eb8132fd3c0af675b981a4c1c2ce63a93b"},
		{"approve response signature (common/test.md)",
			nicepayfake.PaymentSignature("UT0000113m01012110051656331001", "1004", "2021-10-05T16:56:34.447+0900", secret2),
			"28c2e8bae912847541d4885db17648f963c7cc8e8249ff010097d6f1395df993"},
		{"cancel signData (derived)", nicepayfake.SignData(tid, ediD, secret),
			"9cddb26335efa5ffd6700232f1ee6d8041d5bad6c64a99fffcb449b317bf2ebf"},
		{"approve signData (derived)", nicepayfake.PaymentSignature(tid, "1004", ediD, secret),
			"d1a347fa5969dbc45c4643855cd0239c8c8ac546f5ad4e3ec0d2ea44c9ae8299"},
		{"net-cancel signData (derived)", nicepayfake.SignData("c74a5960-830b-4cd8-82a9-fa1ce739a18f", ediD, secret),
			"de1548b91938e64091c6b53678f9a0a110c79912540944d9826cfd48e42789fe"},
		{"billing regist signData (derived)", nicepayfake.SignData("order-0001", ediD, secret),
			"0a89776d544fa25f0ad964ef3800b522c75197938ab580ae0c351a60831b68b9"},
		{"billing charge signData (derived)", nicepayfake.SignData("order-0002", "BIKYnictest00m1104191651325596", ediD, secret),
			"4c48de1d906316e6e7d229aa114fe5470df4179e1b8abfd4a863c21742e102f2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Errorf("got %s, want %s", tt.got, tt.want)
			}
		})
	}
}

const (
	encPlain  = "cardNo=1234567890123456&expYear=25&expMonth=12&idNo=800101&cardPw=12"
	encSecret = "2dcc2a0d63bf469490bb19a201be3735"
	enc128    = "7c4b12eb43324290bd0e522900a892343f57e0d176cdadae757132c7f3cd442f023ef5c3ffa254ed04b6d47624d4c7847e8061f3be0d67adf1b463b46a542052cf47a5206bfd23945fc1851d426468f4"
	enc256    = "6ecfe97e521bc67c3053d74a9dbdba53033d343fc9e8e38e730964b22ef2e4a59607171b00a9da977141b3f79fffa1e80a16c08bc58666b479f554a966a363414347e62f2621f8df220c7a4a545592d0"
)

func TestDecryptEncDataPublishedVectors(t *testing.T) {
	tests := []struct {
		name, enc, mode string
		wantErr         bool
	}{
		{"AES-128 default", enc128, "", false},
		{"AES-256 A2", enc256, "A2", false},
		{"AES-128 text read as A2", enc128, "A2", true},
		{"unknown mode", enc128, "A9", true},
		{"not hex", "zz", "", true},
		{"not whole blocks", enc128[:30], "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := nicepayfake.DecryptEncData(tt.enc, encSecret, tt.mode)
			if tt.wantErr {
				if err == nil && got == encPlain {
					t.Fatalf("decrypted %q, want an error", got)
				}
				return
			}
			if err != nil || got != encPlain {
				t.Fatalf("got %q, %v", got, err)
			}
		})
	}
	// The merchant-side encryption in these tests reproduces the vectors.
	if got := encrypt(t, encPlain, encSecret, false); got != enc128 {
		t.Errorf("AES-128 encrypt %s", got)
	}
	if got := encrypt(t, encPlain, encSecret, true); got != enc256 {
		t.Errorf("AES-256 encrypt %s", got)
	}
}

// The published encData vectors, sent over HTTP by a store whose secret
// key is the vectors' key, issue billing keys.
func TestRegistWithPublishedEncData(t *testing.T) {
	f, _ := start(t)
	f.AddKeys("R2_vectorstore", encSecret, nicepayfake.ModelServer)
	c := newClient(t, f)
	c.auth = basic("R2_vectorstore", encSecret)
	for i, tt := range []struct{ enc, mode string }{{enc128, ""}, {enc256, "A2"}} {
		body := obj{"encData": tt.enc, "orderId": "regist-vector-" + string(rune('a'+i))}
		if tt.mode != "" {
			body["encMode"] = tt.mode
		}
		m := c.ok("POST", "/v1/subscribe/regist", body)
		for _, k := range []string{"resultCode", "resultMsg", "tid", "orderId", "bid", "authDate", "cardCode", "cardName"} {
			if s, _ := m[k].(string); s == "" {
				t.Errorf("mode %q: regist answer lacks %s: %v", tt.mode, k, m)
			}
		}
		if _, pascal := m["BID"]; pascal {
			t.Errorf("PascalCase key in %v", m)
		}
	}
	// The same data under another store's key does not decrypt.
	c.auth = basic(nicepayfake.SandboxClientID, nicepayfake.SandboxSecretKey)
	if got := c.code("POST", "/v1/subscribe/regist", obj{"encData": enc128, "orderId": "regist-vector-x"}); got != "A204" {
		t.Errorf("foreign encData: %s, want A204", got)
	}
}

// The derived signData vectors verify end to end where the fake lets the
// inputs be chosen: regist (orderId), billing charge (a known bid),
// net-cancel (orderId).
func TestDerivedSignDataVectorsVerify(t *testing.T) {
	f, _ := start(t)
	c := newClient(t, f)
	const ediD = "2021-11-05T17:20:00.000+0900"
	plain := "cardNo=" + nicepayfake.DefaultCard + "&expYear=30&expMonth=12&idNo=800101&cardPw=12"
	c.ok("POST", "/v1/subscribe/regist", obj{
		"encData": encrypt(t, plain, nicepayfake.SandboxSecretKey, false), "orderId": "order-0001",
		"ediDate": ediD, "signData": "0a89776d544fa25f0ad964ef3800b522c75197938ab580ae0c351a60831b68b9",
	})
	if err := f.AddBillingKey("BIKYnictest00m1104191651325596", nicepayfake.DefaultCard); err != nil {
		t.Fatal(err)
	}
	c.ok("POST", "/v1/subscribe/BIKYnictest00m1104191651325596/payments", obj{
		"orderId": "order-0002", "amount": 1004, "goodsName": "구독", "cardQuota": 0, "useShopInterest": false,
		"ediDate": ediD, "signData": "4c48de1d906316e6e7d229aa114fe5470df4179e1b8abfd4a863c21742e102f2",
	})
	approved(t, f, c, "c74a5960-830b-4cd8-82a9-fa1ce739a18f", 1004)
	m := c.ok("POST", "/v1/payments/netcancel", obj{
		"orderId": "c74a5960-830b-4cd8-82a9-fa1ce739a18f",
		"ediDate": ediD, "signData": "de1548b91938e64091c6b53678f9a0a110c79912540944d9826cfd48e42789fe",
	})
	if m["status"] != "cancelled" {
		t.Errorf("net-cancel status %v", m["status"])
	}
	// One changed character is refused A101.
	if got := c.code("POST", "/v1/subscribe/regist", obj{
		"encData": encrypt(t, plain, nicepayfake.SandboxSecretKey, false), "orderId": "order-0003",
		"ediDate": ediD, "signData": "0a89776d544fa25f0ad964ef3800b522c75197938ab580ae0c351a60831b68b9",
	}); got != "A101" {
		t.Errorf("wrong signData: %s, want A101", got)
	}
}
