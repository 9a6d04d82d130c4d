package payaction

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	paymuxv1 "github.com/paymux/paymux/gen/paymux/v1"
)

// refusal is a request refused here, before paymux is called: its text is
// the reply's message.
type refusal string

func (r refusal) Error() string { return string(r) }

// PayAction's messages, and paymux's own in PayAction's style.
const (
	msgMissingFields   = "누락된 필드가 존재합니다."
	msgDuplicateOrder  = "이미 해당 주문번호의 주문이 존재합니다."
	msgOrderNotFound   = "주문을 찾을 수 없습니다."
	msgNotJSONObject   = "요청 본문이 JSON 객체가 아닙니다."
	msgIncomeDeduction = "소득공제용"
	msgExpenseProof    = "지출증빙용"
)

// fields is a JSON object's members, by name. Members not read are
// ignored: PayAction clients may send more than PayAction documents.
type fields map[string]json.RawMessage

func parseObject(body []byte) (fields, error) {
	body = bytes.TrimSpace(body)
	if len(body) == 0 || body[0] != '{' {
		return nil, refusal(msgNotJSONObject)
	}
	var f fields
	if err := json.Unmarshal(body, &f); err != nil {
		return nil, refusal(msgNotJSONObject)
	}
	return f, nil
}

// text reads a string member, trimmed; a JSON number is taken as its
// digits (order numbers and phone numbers are often sent as numbers).
// Absent, null and blank are "".
func (f fields) text(name string) (string, error) {
	raw := bytes.TrimSpace(f[name])
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	switch {
	case raw[0] == '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", badField(name, "문자열")
		}
		return strings.TrimSpace(s), nil
	case raw[0] == '-' || (raw[0] >= '0' && raw[0] <= '9'):
		return string(raw), nil
	}
	return "", badField(name, "문자열")
}

// amount reads a positive whole number of won: a JSON number, or digits
// in a string. ok false: absent.
func (f fields) amount(name string) (n int64, ok bool, err error) {
	raw := bytes.TrimSpace(f[name])
	if len(raw) == 0 || string(raw) == "null" {
		return 0, false, nil
	}
	s := string(raw)
	if raw[0] == '"' {
		if err := json.Unmarshal(raw, &s); err != nil {
			return 0, true, badField(name, "숫자")
		}
		s = strings.TrimSpace(s)
		if s == "" {
			return 0, false, nil
		}
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		if n <= 0 {
			return 0, true, refusal(fmt.Sprintf("주문금액(%s)은 0보다 커야 합니다.", name))
		}
		return n, true, nil
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(v, 0) || math.IsNaN(v) {
		return 0, true, badField(name, "숫자")
	}
	if v != math.Trunc(v) || v <= 0 || v > math.MaxInt64/2 {
		return 0, true, refusal(fmt.Sprintf("주문금액(%s)은 0보다 큰 정수(원)여야 합니다.", name))
	}
	return int64(v), true, nil
}

func badField(name, want string) error {
	return refusal(fmt.Sprintf("필드 형식이 올바르지 않습니다. (%s: %s가 아닙니다)", name, want))
}

// reader reads members, collecting the missing required ones and the
// first malformed one.
type reader struct {
	f       fields
	missing []string
	bad     error
}

func (r *reader) text(name string, required bool) string {
	s, err := r.f.text(name)
	if err != nil {
		r.fail(err)
		return ""
	}
	if s == "" && required {
		r.missing = append(r.missing, name)
	}
	return s
}

func (r *reader) fail(err error) {
	if r.bad == nil {
		r.bad = err
	}
}

// err is the refusal, if any: missing fields first, named after
// PayAction's message.
func (r *reader) err() error {
	if len(r.missing) > 0 {
		return refusal(msgMissingFields + " (" + strings.Join(r.missing, ", ") + ")")
	}
	return r.bad
}

// parseOrder reads /order's body into the CreateInstantPayment request it
// makes. now is the clock order_date is checked against.
func parseOrder(body []byte, now time.Time) (*paymuxv1.CreateInstantPaymentRequest, error) {
	f, err := parseObject(body)
	if err != nil {
		return nil, err
	}
	r := &reader{f: f}
	number := r.text("order_number", true)
	amount, ok, err := f.amount("order_amount")
	if err != nil {
		r.fail(err)
	} else if !ok {
		r.missing = append(r.missing, "order_amount")
	}
	date := r.text("order_date", true)
	billingName := r.text("billing_name", true)
	ordererName := r.text("orderer_name", true)
	phone := r.text("orderer_phone_number", false)
	email := r.text("orderer_email", false)
	usage := r.text("trade_usage", false)
	identity := strings.ReplaceAll(r.text("identity_number", false), "-", "")
	if err := r.err(); err != nil {
		return nil, err
	}
	if err := checkOrderDate(date, now); err != nil {
		return nil, err
	}
	bt := &paymuxv1.BankTransferInput{DepositorName: billingName}
	switch {
	case usage == "" && identity == "":
	case usage == "" || identity == "":
		return nil, refusal("현금영수증을 발행하려면 trade_usage와 identity_number를 함께 보내야 합니다.")
	default:
		var t paymuxv1.CashReceiptType
		switch usage {
		case msgIncomeDeduction:
			t = paymuxv1.CashReceiptType_CASH_RECEIPT_TYPE_INCOME_DEDUCTION
		case msgExpenseProof:
			t = paymuxv1.CashReceiptType_CASH_RECEIPT_TYPE_EXPENSE_PROOF
		default:
			return nil, refusal(fmt.Sprintf("trade_usage는 %q 또는 %q이어야 합니다. (%q)", msgIncomeDeduction, msgExpenseProof, usage))
		}
		bt.CashReceipt = &paymuxv1.CashReceiptInput{Type: t, IdentityNumber: identity}
	}
	return &paymuxv1.CreateInstantPaymentRequest{
		MerchantPaymentId: number,
		OrderName:         number,
		Amount:            &paymuxv1.Amount{Total: amount},
		Customer:          &paymuxv1.Customer{Name: ordererName, Email: email, Phone: phone},
		Method:            &paymuxv1.CreateInstantPaymentRequest_BankTransfer{BankTransfer: bt},
	}, nil
}

// checkOrderDate refuses an order_date that is not ISO 8601 with an
// offset, or that is in the future (beyond clock skew): PayAction tells
// merchants never to send one, as such an order would not match.
func checkOrderDate(date string, now time.Time) error {
	t, err := time.Parse(time.RFC3339, date)
	if err != nil {
		return refusal(fmt.Sprintf("주문일시(order_date)는 ISO 8601 형식(예: 2023-07-26T11:31:00+09:00)이어야 합니다. (%q)", date))
	}
	if t.After(now.Add(futureSkew)) {
		return refusal(fmt.Sprintf("주문일시(order_date)가 미래입니다. 현재 이전의 주문일시를 보내 주세요. (%s)", date))
	}
	return nil
}

// parseOrderNumber reads the {"order_number"} body of /order-exclude and
// /cashbill-cancel.
func parseOrderNumber(body []byte) (string, error) {
	f, err := parseObject(body)
	if err != nil {
		return "", err
	}
	r := &reader{f: f}
	number := r.text("order_number", true)
	return number, r.err()
}
