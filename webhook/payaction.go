package webhook

import (
	"cmp"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/paymux/paymux/ent"
	"github.com/paymux/paymux/ent/webhookendpoint"
)

// The PAYACTION format: PayAction's webhooks, for a store that moved its
// PayAction integration to paymux and keeps its receiver as it is.
//
// It carries the bank transfer events only (payActionEventTypes). The
// request is a POST of application/json with PayAction's headers beside
// paymux's signature: x-webhook-key (the endpoint's current secret, as the
// merchant was shown it, "whsec_..."), x-mall-id (the store id) and
// x-trace-id (the event id, also webhook-id). A delivery is done only when
// the receiver answers 200 with a JSON object whose "status" is "success";
// any other answer is retried like a failure (payActionVerdict). The
// bodies are payActionBody's.

// payActionEventTypes are the events a PAYACTION endpoint carries.
var payActionEventTypes = []string{"deposit.matched", "bank.transaction"}

// PayAction's header names.
const (
	headerPayActionKey   = "x-webhook-key"
	headerPayActionMall  = "x-mall-id"
	headerPayActionTrace = "x-trace-id"
)

// payActionAnswerBytes is what is read of an answer to judge it, however
// little of it the delivery log keeps (webhooks.max_response_bytes).
const payActionAnswerBytes = 4 << 10

// kst is Korean time; Korea keeps no daylight saving time.
var kst = time.FixedZone("KST", 9*60*60)

// carries reports whether an endpoint of this content type can carry an
// event of this type: JSON and FORM carry every event, PAYACTION the ones
// it has a body for.
func carries(ct webhookendpoint.ContentType, eventType string) bool {
	return ct != webhookendpoint.ContentTypePAYACTION || slices.Contains(payActionEventTypes, eventType)
}

// depositData is what the PAYACTION bodies take from an event's data: a
// paymux Deposit as protojson writes it (lowerCamel names, enums by name,
// int64 as JSON strings; json.Number takes a string or a number).
type depositData struct {
	ID                string      `json:"id"`
	StoreID           string      `json:"storeId"`
	BankAccountID     string      `json:"bankAccountId"`
	Type              string      `json:"type"`
	Amount            json.Number `json:"amount"`
	DepositorName     string      `json:"depositorName"`
	Balance           json.Number `json:"balance"`
	TransactionTime   string      `json:"transactionTime"`
	PaymentID         string      `json:"paymentId"`
	MerchantPaymentID string      `json:"merchantPaymentId"`
	MatchType         string      `json:"matchType"`
	MatchTime         string      `json:"matchTime"`
}

// payActionMatched is the body of deposit.matched.
type payActionMatched struct {
	OrderNumber    string `json:"order_number"`
	OrderStatus    string `json:"order_status"`
	ProcessingDate string `json:"processing_date,omitempty"`
	BillingName    string `json:"billing_name"`
	DepositAmount  int64  `json:"deposit_amount"`
	DepositDate    string `json:"deposit_date,omitempty"`
	MatchType      string `json:"match_type"`
	PaymentID      string `json:"payment_id"`
	DepositID      string `json:"deposit_id"`
	MallID         string `json:"mall_id"`
}

// payActionTransaction is the body of bank.transaction.
type payActionTransaction struct {
	TransactionType string `json:"transaction_type"`
	TransactionDate string `json:"transaction_date,omitempty"`
	Amount          int64  `json:"amount"`
	Balance         *int64 `json:"balance,omitempty"`
	Name            string `json:"name"`
	BankAccountID   string `json:"bank_account_id"`
	DepositID       string `json:"deposit_id"`
	MallID          string `json:"mall_id"`
}

// payActionBody is the PAYACTION body of a bank transfer event, made from
// its data (a Deposit). PayAction does not publish its body's fields, so
// paymux writes these, in PayAction's snake_case style. Times are RFC 3339
// to the second in Korean time ("2025-03-14T14:30:00+09:00"); amounts are
// JSON numbers (won).
//
// deposit.matched (PayAction's 매칭완료: a deposit paid an order, matched
// automatically or by hand):
//
//	order_number     the order's merchant_payment_id
//	order_status     "매칭완료"
//	processing_date  when it was matched
//	billing_name     the depositor name as the bank reported it
//	deposit_amount   the amount deposited
//	deposit_date     when the bank says the deposit happened
//	match_type       "auto", "smart", "late" or "manual"
//	payment_id       paymux's id of the order
//	deposit_id       paymux's id of the deposit
//	mall_id          the store id
//
// bank.transaction (PayAction's 입출금 데이터수신: every deposit and
// withdrawal, for stores that turned it on):
//
//	transaction_type  "입금" (a deposit) or "출금" (a withdrawal)
//	transaction_date  when the bank says it happened
//	amount            the amount
//	balance           the balance after it; left out when the source gave none
//	name              the depositor (for a withdrawal, the recipient)
//	bank_account_id   paymux's id of the store's bank account
//	deposit_id        paymux's id of the transaction
//	mall_id           the store id
//
// A time paymux does not have is left out.
func payActionBody(ev *ent.Event) ([]byte, error) {
	var d depositData
	if err := json.Unmarshal(ev.Data, &d); err != nil {
		return nil, fmt.Errorf("event %s data: %w", ev.ID, err)
	}
	amount, err := wholeWon(d.Amount)
	if err != nil {
		return nil, fmt.Errorf("event %s amount: %w", ev.ID, err)
	}
	mall := cmp.Or(d.StoreID, ev.StoreID)
	var body any
	switch ev.Type {
	case "deposit.matched":
		matched, err := koreanTime(d.MatchTime)
		if err != nil {
			return nil, fmt.Errorf("event %s matchTime: %w", ev.ID, err)
		}
		deposited, err := koreanTime(d.TransactionTime)
		if err != nil {
			return nil, fmt.Errorf("event %s transactionTime: %w", ev.ID, err)
		}
		body = payActionMatched{
			OrderNumber:    d.MerchantPaymentID,
			OrderStatus:    "매칭완료",
			ProcessingDate: matched,
			BillingName:    d.DepositorName,
			DepositAmount:  amount,
			DepositDate:    deposited,
			MatchType:      strings.ToLower(strings.TrimPrefix(d.MatchType, "MATCH_TYPE_")),
			PaymentID:      d.PaymentID,
			DepositID:      d.ID,
			MallID:         mall,
		}
	case "bank.transaction":
		at, err := koreanTime(d.TransactionTime)
		if err != nil {
			return nil, fmt.Errorf("event %s transactionTime: %w", ev.ID, err)
		}
		t := payActionTransaction{
			TransactionType: "입금",
			TransactionDate: at,
			Amount:          amount,
			Name:            d.DepositorName,
			BankAccountID:   d.BankAccountID,
			DepositID:       d.ID,
			MallID:          mall,
		}
		// Unset, a transaction is a deposit (as RecordDeposits takes it).
		if d.Type == "DEPOSIT_TYPE_WITHDRAWAL" {
			t.TransactionType = "출금"
		}
		if d.Balance != "" {
			b, err := wholeWon(d.Balance)
			if err != nil {
				return nil, fmt.Errorf("event %s balance: %w", ev.ID, err)
			}
			t.Balance = &b
		}
		body = t
	default:
		return nil, fmt.Errorf("event %s: a PAYACTION endpoint carries no %s", ev.ID, ev.Type)
	}
	out, err := json.Marshal(body)
	if err != nil {
		return nil, fmt.Errorf("webhook body: %w", err)
	}
	return out, nil
}

// wholeWon reads a protojson int64; protojson leaves out a zero.
func wholeWon(n json.Number) (int64, error) {
	if n == "" {
		return 0, nil
	}
	return strconv.ParseInt(string(n), 10, 64)
}

// koreanTime rewrites a protojson Timestamp ("2025-03-14T05:30:00.123Z")
// in Korean time, to the second; "" stays "".
func koreanTime(s string) (string, error) {
	if s == "" {
		return "", nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return "", err
	}
	return t.In(kst).Format(time.RFC3339), nil
}

// payActionVerdict says why a 2xx answer is not PayAction's success, or ""
// when it is: exactly 200, and a JSON object whose "status" is "success"
// (spaces and other members allowed).
func payActionVerdict(status int, body []byte, truncated bool) string {
	if status != http.StatusOK {
		return fmt.Sprintf("answer is HTTP %d, not 200", status)
	}
	// Member names compared exactly: encoding/json would match "Status" to
	// a struct field "status".
	var obj map[string]json.RawMessage
	var got string
	if truncated || json.Unmarshal(body, &obj) != nil ||
		json.Unmarshal(obj["status"], &got) != nil || got != "success" {
		return `answer is not {"status":"success"}`
	}
	return ""
}
