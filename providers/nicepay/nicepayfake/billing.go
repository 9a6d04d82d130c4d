package nicepayfake

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"time"
)

type billingKey struct {
	bid, clientID string
	cardMasked    string
	outcome       cardOutcome
	expired       bool
}

// DecryptEncData decrypts a billing encData as NicePay does
// (api/payment-subscribe.md): hex of AES-128-ECB with the first 16
// characters of the secret key, or with encMode "A2" AES-256-CBC with the
// whole 32-character secret key and its first 16 characters as IV; PKCS#7
// padding either way.
func DecryptEncData(encData, secretKey, encMode string) (string, error) {
	ct, err := hex.DecodeString(encData)
	if err != nil {
		return "", fmt.Errorf("encData is not hex: %w", err)
	}
	if len(ct) == 0 || len(ct)%aes.BlockSize != 0 {
		return "", errors.New("encData is not a whole number of AES blocks")
	}
	if len(secretKey) < 16 {
		return "", errors.New("secret key shorter than 16 characters")
	}
	pt := make([]byte, len(ct))
	switch encMode {
	case "":
		b, err := aes.NewCipher([]byte(secretKey[:16]))
		if err != nil {
			return "", err
		}
		for i := 0; i < len(ct); i += aes.BlockSize {
			b.Decrypt(pt[i:i+aes.BlockSize], ct[i:i+aes.BlockSize])
		}
	case "A2":
		b, err := aes.NewCipher([]byte(secretKey))
		if err != nil {
			return "", fmt.Errorf("A2 needs a 32-character secret key: %w", err)
		}
		cipher.NewCBCDecrypter(b, []byte(secretKey[:16])).CryptBlocks(pt, ct)
	default:
		return "", fmt.Errorf("unknown encMode %q", encMode)
	}
	n := int(pt[len(pt)-1])
	if n == 0 || n > aes.BlockSize || !bytes.Equal(pt[len(pt)-n:], bytes.Repeat([]byte{byte(n)}, n)) {
		return "", errors.New("bad padding")
	}
	return string(pt[:len(pt)-n]), nil
}

func allDigits(s string, lengths ...int) bool {
	okLen := false
	for _, n := range lengths {
		okLen = okLen || len(s) == n
	}
	if !okLen {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

type registJSON struct {
	ResultCode string `json:"resultCode"`
	ResultMsg  string `json:"resultMsg"`
	TID        string `json:"tid"`
	OrderID    string `json:"orderId"`
	BID        string `json:"bid"`
	AuthDate   string `json:"authDate"`
	CardCode   string `json:"cardCode,omitempty"`
	CardName   string `json:"cardName,omitempty"`
}

// regist is POST /v1/subscribe/regist: a billing key from encrypted card
// data. It answers camelCase, as the official samples read it.
func (f *Fake) regist(q *request) result {
	if !q.has("encData") {
		return missing("encData")
	}
	if !q.has("orderId") {
		return missing("orderId")
	}
	orderID := q.str("orderId")
	if !q.verify(orderID, q.str("ediDate")) {
		return badSign()
	}
	plain, err := DecryptEncData(q.str("encData"), q.key.secret, q.str("encMode"))
	if err != nil {
		return refuse("A204", "전문 복호화 오류가 발생하였습니다")
	}
	v, err := url.ParseQuery(plain)
	if err != nil {
		return refuse("A204", "전문 복호화 오류가 발생하였습니다")
	}
	card, valid := cleanCard(v.Get("cardNo"))
	if !valid {
		return refuse("F112", "유효하지않은 카드번호를 입력하셨습니다 (card_bin 없음)")
	}
	yy, mm := v.Get("expYear"), v.Get("expMonth")
	if !allDigits(yy, 2) || !allDigits(mm, 2) {
		return refuse("3021", "유효기간 오류")
	}
	month, _ := strconv.Atoi(mm)
	year, _ := strconv.Atoi(yy)
	if month < 1 || month > 12 {
		return refuse("3021", "유효기간 오류")
	}
	now := f.clock()
	if !time.Date(2000+year, time.Month(month)+1, 1, 0, 0, 0, 0, kst).After(now) {
		return refuse("3021", "유효기간 오류")
	}
	if !allDigits(v.Get("idNo"), 6, 10) || !allDigits(v.Get("cardPw"), 2) {
		return refuse("F113", "본인의 신용카드 확인중 오류가 발생하였습니다")
	}
	outcome := cardOutcomes[card]
	if outcome.registCode != "" {
		return refuse(outcome.registCode, outcome.registMsg)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.bidOrders[orderID] || f.orderTaken(orderID) {
		return refuse("A127", "주문번호 중복 오류")
	}
	f.bidOrders[orderID] = true
	var bid string
	for bid == "" || f.bids[bid] != nil {
		bid = "BIKY" + fakeMID + now.Format("060102150405") + fmt.Sprintf("%04d", f.next()%10000)
	}
	f.bids[bid] = &billingKey{bid: bid, clientID: q.key.clientID, cardMasked: maskCard(card), outcome: outcome}
	return ok(registJSON{
		ResultCode: "0000", ResultMsg: "빌키가 정상적으로 생성되었습니다.",
		TID: f.newTID("01", "16"), OrderID: orderID, BID: bid, AuthDate: iso(now),
		CardCode: sandboxCardCode, CardName: sandboxCardName,
	})
}

// billingCharge is POST /v1/subscribe/{bid}/payments.
func (f *Fake) billingCharge(q *request) result {
	bid := q.r.PathValue("bid")
	for _, k := range []string{"orderId", "amount", "goodsName", "cardQuota", "useShopInterest"} {
		if _, present := q.fields[k]; !present {
			return missing(k)
		}
	}
	orderID := q.str("orderId")
	amt, _, valid := q.int("amount")
	if !valid || amt <= 0 {
		return refuse("A116", "요청 금액이 올바르지 않습니다.")
	}
	quota, _, valid := q.int("cardQuota")
	if !valid || quota < 0 || quota > 36 {
		return refuse("3022", "할부개월오류")
	}
	if q.str("useShopInterest") != "false" {
		return refuse("U132", "허용된 옵션 내용이 아닙니다.[useShopInterest]")
	}
	var taxFree int64
	if n, present, valid := q.int("taxFreeAmt"); present {
		if !valid || n < 0 || n > amt {
			return refuse("P036", "면세금액이 결제금액을 초과할수 없습니다.")
		}
		taxFree = n
	}
	if !q.verify(orderID, bid, q.str("ediDate")) {
		return badSign()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	k := f.bids[bid]
	if k == nil {
		return refuse("A124", "해당 BID가 존재하지 않습니다")
	}
	if k.expired {
		return refuse("A126", "이미 삭제된 빌키이거나 존재하지 않은 빌키입니다")
	}
	if f.orderTaken(orderID) {
		return refuse("A127", "주문번호 중복 오류")
	}
	if quota > 1 && amt < 50000 {
		return refuse("3024", "할부 최소금액 오류(50000미만)")
	}
	now := f.clock()
	p := &payment{
		tid: f.newTID("01", "16"), orderID: orderID, clientID: q.key.clientID, method: "card",
		amount: amt, taxFree: taxFree, goodsName: q.str("goodsName"), mallReserved: q.str("mallReserved"),
		buyerName: q.str("buyerName"), buyerTel: q.str("buyerTel"), buyerEmail: q.str("buyerEmail"),
		createdAt: now, cardMasked: k.cardMasked, cardOutcome: k.outcome, cardQuota: quota, bid: bid,
	}
	f.addPayment(p)
	if k.outcome.approveCode != "" {
		f.fail(p, k.outcome.approveCode, k.outcome.approveMsg)
	} else {
		f.settleApproved(p)
	}
	return ok(f.outcome(p, q.key.secret), f.approvalHooks(p)...)
}

type expireJSON struct {
	ResultCode string `json:"resultCode"`
	ResultMsg  string `json:"resultMsg"`
	TID        string `json:"tid"`
	OrderID    string `json:"orderId"`
	BID        string `json:"bid"`
	AuthDate   string `json:"authDate"`
}

// expire is POST /v1/subscribe/{bid}/expire: the key is gone for good.
func (f *Fake) expire(q *request) result {
	bid := q.r.PathValue("bid")
	if !q.has("orderId") {
		return missing("orderId")
	}
	orderID := q.str("orderId")
	if !q.verify(orderID, bid, q.str("ediDate")) {
		return badSign()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	k := f.bids[bid]
	if k == nil {
		return refuse("A124", "해당 BID가 존재하지 않습니다")
	}
	if k.expired {
		return refuse("A126", "이미 삭제된 빌키이거나 존재하지 않은 빌키입니다")
	}
	k.expired = true
	f.bidOrders[orderID] = true
	return ok(expireJSON{
		ResultCode: "0000", ResultMsg: "빌링 정보가 정상적으로 삭제되었습니다.",
		TID: f.newTID("01", "16"), OrderID: orderID, BID: bid, AuthDate: iso(f.clock()),
	})
}

// AddBillingKey registers a billing key directly, as if it had been issued
// for cardNumber (the test cards apply), so tests can use a known bid.
func (f *Fake) AddBillingKey(bid, cardNumber string) error {
	d, valid := cleanCard(cardNumber)
	if !valid {
		return errors.New("nicepayfake: not a 13-19 digit card number")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.bids[bid] = &billingKey{bid: bid, clientID: SandboxClientID, cardMasked: maskCard(d), outcome: cardOutcomes[d]}
	return nil
}
