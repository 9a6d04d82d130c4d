package tossfake

import (
	"regexp"
	"time"
)

// customerKeyPattern: the fake's reading of a merchant-made buyer id
// (letters, digits and - _ = . @, 2-300 characters).
var customerKeyPattern = regexp.MustCompile(`^[A-Za-z0-9_=.@-]{2,300}$`)

type authKey struct {
	key, mID, customerKey, card string
	at                          time.Time
	used                        bool
}

type billingKey struct {
	key, mID, customerKey, card string
	at                          time.Time
	deleted                     bool
}

type billingCardJSON struct {
	IssuerCode   string `json:"issuerCode"`
	AcquirerCode string `json:"acquirerCode"`
	Number       string `json:"number"`
	CardType     string `json:"cardType"`
	OwnerType    string `json:"ownerType"`
}

type billingJSON struct {
	MID             string          `json:"mId"`
	CustomerKey     string          `json:"customerKey"`
	AuthenticatedAt string          `json:"authenticatedAt"`
	Method          string          `json:"method"`
	BillingKey      string          `json:"billingKey"`
	Card            billingCardJSON `json:"card"`
}

// newBillingKey looks like base64 and ends in '=', so clients must cope with
// it in the path.
func newBillingKey() string { return randomString(43, alnum) + "=" }

func billingView(b *billingKey) billingJSON {
	pr := profileOf(b.card)
	return billingJSON{MID: b.mID, CustomerKey: b.customerKey, AuthenticatedAt: iso(b.at), Method: "카드",
		BillingKey: b.key, Card: billingCardJSON{IssuerCode: pr.issuer, AcquirerCode: pr.issuer,
			Number: maskCard(b.card), CardType: pr.cardType, OwnerType: pr.ownerType}}
}

func (f *Fake) newBilling(mID, customerKey, card string) *billingKey {
	b := &billingKey{key: newBillingKey(), mID: mID, customerKey: customerKey, card: card, at: f.clock()}
	f.billingKeys[b.key] = b
	return b
}

type billingIssueBody struct {
	AuthKey     string `json:"authKey"`
	CustomerKey string `json:"customerKey"`
}

// billingIssue turns the window's authKey into a billing key (once).
func (f *Fake) billingIssue(q *request) result {
	var b billingIssueBody
	if !q.decode(&b) {
		return q.fail("INVALID_REQUEST", "body")
	}
	if b.AuthKey == "" {
		return q.fail("INVALID_REQUEST", "authKey")
	}
	if b.CustomerKey == "" {
		return q.fail("INVALID_REQUEST", "customerKey")
	}
	a := f.authKeys[b.AuthKey]
	if a == nil || a.mID != q.key.mID || a.used {
		return q.fail("NOT_FOUND", "authKey")
	}
	if a.customerKey != b.CustomerKey {
		return q.fail("NOT_MATCHES_CUSTOMER_KEY", "")
	}
	a.used = true
	return ok(billingView(f.newBilling(a.mID, a.customerKey, a.card)))
}

type billingCardBody struct {
	CustomerKey            string `json:"customerKey"`
	CardNumber             string `json:"cardNumber"`
	CardExpirationYear     string `json:"cardExpirationYear"`
	CardExpirationMonth    string `json:"cardExpirationMonth"`
	CustomerIdentityNumber string `json:"customerIdentityNumber"`
	CardPassword           string `json:"cardPassword"`
	CustomerName           string `json:"customerName"`
	CustomerEmail          string `json:"customerEmail"`
}

func (f *Fake) billingCard(q *request) result {
	var b billingCardBody
	if !q.decode(&b) {
		return q.fail("INVALID_REQUEST", "body")
	}
	if !customerKeyPattern.MatchString(b.CustomerKey) {
		return q.fail("INVALID_REQUEST", "customerKey")
	}
	n, code, d := f.cardData(b.CardNumber, b.CardExpirationYear, b.CardExpirationMonth, b.CustomerIdentityNumber, b.CardPassword)
	if code != "" {
		return q.fail(code, d)
	}
	return ok(billingView(f.newBilling(q.key.mID, b.CustomerKey, n)))
}

type billingChargeBody struct {
	CustomerKey         string `json:"customerKey"`
	Amount              *int64 `json:"amount"`
	OrderID             string `json:"orderId"`
	OrderName           string `json:"orderName"`
	CardInstallmentPlan *int   `json:"cardInstallmentPlan"`
	CustomerEmail       string `json:"customerEmail"`
	CustomerName        string `json:"customerName"`
	TaxFreeAmount       int64  `json:"taxFreeAmount"`
	TaxExemptionAmount  int64  `json:"taxExemptionAmount"`
}

func (f *Fake) billingCharge(q *request) result {
	var b billingChargeBody
	if !q.decode(&b) {
		return q.fail("INVALID_REQUEST", "body")
	}
	bk := f.billingKeys[q.params[0]]
	if bk == nil || bk.deleted || bk.mID != q.key.mID {
		return q.fail("NOT_FOUND", "billingKey")
	}
	if b.CustomerKey == "" {
		return q.fail("INVALID_REQUEST", "customerKey")
	}
	if b.CustomerKey != bk.customerKey {
		return q.fail("NOT_MATCHES_CUSTOMER_KEY", "")
	}
	if code, d := f.orderCheck(q, b.Amount, b.OrderID, b.OrderName, b.TaxFreeAmount, true); code != "" {
		return q.fail(code, d)
	}
	inst, code := installmentCheck(b.CardInstallmentPlan)
	if code != "" {
		return q.fail(code, "cardInstallmentPlan")
	}
	if bk.card == ConfirmDeclineCard {
		return q.fail("REJECT_CARD_COMPANY", "")
	}
	now := f.clock()
	p := &payment{key: newPaymentKey(), mID: q.key.mID, test: q.key.test, orderID: b.OrderID,
		orderName: b.OrderName, typ: "BILLING", method: "CARD", status: StatusInProgress, total: *b.Amount,
		balance: *b.Amount, taxFree: b.TaxFreeAmount, requestedAt: now, inProgressAt: now,
		customerName: b.CustomerName, card: &cardState{number: bk.card, profile: profileOf(bk.card), installment: inst}}
	f.addPayment(p)
	hs := f.approve(p)
	return result{status: 200, body: f.view(p), hooks: hs}
}

// billingDelete removes a billing key. The endpoint is not in the docs the
// reference checked; the fake answers 200 with the deleted Billing object.
func (f *Fake) billingDelete(q *request) result {
	bk := f.billingKeys[q.params[0]]
	if bk == nil || bk.deleted || bk.mID != q.key.mID {
		return q.fail("NOT_FOUND", "billingKey")
	}
	bk.deleted = true
	return ok(billingView(bk))
}
