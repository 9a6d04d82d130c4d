package sandbox

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/paymux/paymux/providers"
)

// Persistence: Snapshot writes the whole state as JSON, Restore reads it
// back into a sandbox (a new one after a restart), and Version tells a
// caller when there is something new to save:
//
//	v := sb.Version()
//	if v != saved {
//		data, err := sb.Snapshot() // read Version first, then Snapshot
//		... write data ...
//		saved = v
//	}
//
// What is stored: every payment, cancel, window session, billing key, cash
// receipt, stored idempotent answer and notification body, and the id
// sequence (so ids issued after a restore are new). What is not: card
// numbers, owner ids and card password digits. The sandbox keeps only what
// it needs of a card: its masked number (BIN and last 4), which test card
// it is (its behaviour), whether its check digit is valid and its expiry.
// A cash-receipt identity is kept only as "fails or not". Fingerprints of
// requests (hashes, to tell a replay from another request) are stored as
// they are: they are keyed with Options.FingerprintKey (HMAC-SHA256), which
// is not in the snapshot, so a fingerprint of card data cannot be
// brute-forced from the masked number beside it. The same goes for window
// auth tokens and virtual-account notification secrets, derived under that
// key. A snapshot restored into a sandbox with another key keeps working,
// except that a retry of a request made before the snapshot is no longer
// recognised as a replay (its fingerprint differs): restore with the key
// the snapshot was made with.

// snapshotFormat is the format version Snapshot writes; Restore refuses any
// other.
const snapshotFormat = 1

// Snapshot returns the whole sandbox state as JSON, for Restore. It holds
// no card number, owner id or card password digits (see above).
//
// A caller that saves snapshots when Version moves reads Version before
// Snapshot: a change made in between is then seen on the next check.
func (s *Sandbox) Snapshot() ([]byte, error) {
	s.mu.Lock()
	st, err := s.snapshotLocked()
	s.mu.Unlock()
	if err != nil {
		return nil, err
	}
	return json.Marshal(st)
}

// Restore replaces the sandbox state with a Snapshot's. A snapshot that
// cannot be read (not JSON, another format version, inconsistent) is
// refused with an error and the state is left as it was. The Options
// (clock, delays, fingerprint key) stay the receiver's; see
// Options.FingerprintKey for what another key than the snapshot's means.
func (s *Sandbox) Restore(data []byte) error {
	var head struct {
		Format *int `json:"format"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return fmt.Errorf("sandbox: restore: not a sandbox snapshot: %w", err)
	}
	switch {
	case head.Format == nil:
		return errors.New("sandbox: restore: not a sandbox snapshot: no format version")
	case *head.Format != snapshotFormat:
		return fmt.Errorf("sandbox: restore: snapshot format %d is not supported (this sandbox reads format %d)", *head.Format, snapshotFormat)
	}
	var st snapState
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&st); err != nil {
		return fmt.Errorf("sandbox: restore: malformed snapshot: %w", err)
	}
	if dec.More() {
		return errors.New("sandbox: restore: malformed snapshot: data after the snapshot")
	}
	merchants, windows, err := st.build()
	if err != nil {
		return fmt.Errorf("sandbox: restore: %w", err)
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	s.version.Add(1)
	s.seq = st.Seq
	s.merchants = merchants
	s.windows = windows
	return nil
}

// Version counts changes to the state; a caller saves a Snapshot when it
// moved. It only grows: every call that may change the state (every
// Provider method and simulation, Payments, a Checkout POST, Restore)
// increments it, read-only ones sometimes too.
func (s *Sandbox) Version() uint64 { return s.version.Load() }

// The snapshot format. Every value is copied out of the state: the mirror
// types share nothing with it.

type snapState struct {
	Format    int            `json:"format"`
	Seq       uint64         `json:"seq"` // the last sequence number issued
	Merchants []snapMerchant `json:"merchants"`
}

type snapMerchant struct {
	ID string `json:"id"`
	// Payments in creation order. The indexes by transaction id, order id
	// and account number are rebuilt from this one list, so they share
	// each payment again.
	Payments   []snapPayment                `json:"payments,omitempty"`
	ChargeKeys map[string]string            `json:"chargeKeys,omitempty"`
	Cancels    map[string]snapCancelOutcome `json:"cancels,omitempty"`
	Sessions   []snapSession                `json:"sessions,omitempty"`
	// BillingKeys in creation order.
	BillingKeys   []snapBillingKey              `json:"billingKeys,omitempty"`
	BillingIssues map[string]snapBillingOutcome `json:"billingIssues,omitempty"`
	// Receipts in creation order; the receipt of an order id is the first
	// of the order id.
	Receipts       []snapReceipt                       `json:"receipts,omitempty"`
	ReceiptCancels map[string]snapReceiptCancelOutcome `json:"receiptCancels,omitempty"`
	Events         map[string]string                   `json:"events,omitempty"` // event id -> notification body
}

type snapPayment struct {
	Payment     snapPaymentData `json:"payment"`
	Op          string          `json:"op"`
	Fingerprint string          `json:"fingerprint"`
	IdemKey     string          `json:"idempotencyKey,omitempty"`
	// Answer is the stored answer of a declined charge (usually the same
	// error as Payment.Failure).
	Answer      *snapError          `json:"answer,omitempty"`
	CashReceipt *snapReceiptSubject `json:"cashReceipt,omitempty"`
}

// snapReceiptSubject is the cash receipt a virtual account issues on
// deposit: its type and whether the identity is FailingCashReceiptIdentity,
// not the identity.
type snapReceiptSubject struct {
	Type  string `json:"type"`
	Fails bool   `json:"fails,omitempty"`
}

type snapPaymentData struct {
	PGTransactionID    string              `json:"pgTransactionId"`
	OrderID            string              `json:"orderId"`
	OrderName          string              `json:"orderName,omitempty"`
	Method             string              `json:"method"`
	Status             string              `json:"status"`
	Currency           string              `json:"currency,omitempty"`
	Amounts            snapAmounts         `json:"amounts"`
	RequestedAt        time.Time           `json:"requestedAt,omitzero"`
	ApprovedAt         time.Time           `json:"approvedAt,omitzero"`
	CancelledAt        time.Time           `json:"cancelledAt,omitzero"`
	FailedAt           time.Time           `json:"failedAt,omitzero"`
	Card               *snapCardInfo       `json:"card,omitempty"`
	VirtualAccount     *snapVirtualAccount `json:"virtualAccount,omitempty"`
	Cancellations      []snapCancellation  `json:"cancellations,omitempty"`
	Failure            *snapError          `json:"failure,omitempty"`
	BillingKey         string              `json:"billingKey,omitempty"`
	ReceiptURL         string              `json:"receiptUrl,omitempty"`
	CashReceiptID      string              `json:"cashReceiptId,omitempty"`
	NotificationSecret string              `json:"notificationSecret,omitempty"`
}

type snapAmounts struct {
	Total            int64 `json:"total"`
	TaxFree          int64 `json:"taxFree,omitempty"`
	VAT              int64 `json:"vat,omitempty"`
	Paid             int64 `json:"paid,omitempty"`
	Cancelled        int64 `json:"cancelled,omitempty"`
	CancelledTaxFree int64 `json:"cancelledTaxFree,omitempty"`
	CancelledVAT     int64 `json:"cancelledVat,omitempty"`
}

// snapCardInfo is what the PG reports of a card: the number masked.
type snapCardInfo struct {
	Issuer            string `json:"issuer,omitempty"`
	Acquirer          string `json:"acquirer,omitempty"`
	PGIssuerCode      string `json:"pgIssuerCode,omitempty"`
	PGAcquirerCode    string `json:"pgAcquirerCode,omitempty"`
	Number            string `json:"number,omitempty"` // masked
	Type              string `json:"type,omitempty"`
	ApprovalNumber    string `json:"approvalNumber,omitempty"`
	InstallmentMonths int    `json:"installmentMonths,omitempty"`
	InterestFree      bool   `json:"interestFree,omitempty"`
}

type snapVirtualAccount struct {
	Bank          string    `json:"bank"`
	AccountNumber string    `json:"accountNumber"`
	Holder        string    `json:"holder,omitempty"`
	CustomerName  string    `json:"customerName,omitempty"`
	DueAt         time.Time `json:"dueAt,omitzero"`
	Expired       bool      `json:"expired,omitempty"`
	DepositorName string    `json:"depositorName,omitempty"`
	DepositedAt   time.Time `json:"depositedAt,omitzero"`
}

type snapCancellation struct {
	ID          string      `json:"id"`
	Amount      int64       `json:"amount"`
	TaxFree     int64       `json:"taxFree,omitempty"`
	VAT         int64       `json:"vat,omitempty"`
	Reason      string      `json:"reason,omitempty"`
	CancelledAt time.Time   `json:"cancelledAt,omitzero"`
	NetCancel   bool        `json:"netCancel,omitempty"`
	Refund      *snapRefund `json:"refund,omitempty"`
}

// snapRefund is the refund of a deposited virtual account. The refund
// account number is kept: Lookup reports it.
type snapRefund struct {
	Bank          string `json:"bank"`
	AccountNumber string `json:"accountNumber"`
	Holder        string `json:"holder,omitempty"`
	Phone         string `json:"phone,omitempty"`
	Status        string `json:"status"`
}

type snapError struct {
	Kind     string `json:"kind"` // providers.Kind's name: "DECLINED", ...
	Code     string `json:"code,omitempty"`
	Message  string `json:"message,omitempty"`
	Decline  string `json:"decline,omitempty"`
	Provider string `json:"provider,omitempty"`
	Op       string `json:"op,omitempty"`
}

type snapCancelOutcome struct {
	Fingerprint string            `json:"fingerprint"`
	Result      *snapCancelResult `json:"result,omitempty"`
	Err         *snapError        `json:"error,omitempty"`
}

type snapCancelResult struct {
	Cancellation snapCancellation `json:"cancellation"`
	Payment      *snapPaymentData `json:"payment,omitempty"`
}

type snapSession struct {
	ID            string     `json:"id"`
	Token         string     `json:"token"`
	Purpose       string     `json:"purpose"`
	OrderID       string     `json:"orderId,omitempty"`
	OrderName     string     `json:"orderName,omitempty"` // absent in snapshots made before the checkout page showed it
	Amount        snapAmount `json:"amount"`
	CustomerKey   string     `json:"customerKey,omitempty"`
	BuyerName     string     `json:"buyerName,omitempty"` // likewise
	ReturnURL     string     `json:"returnUrl,omitempty"`
	ExpiresAt     time.Time  `json:"expiresAt,omitzero"`
	Authenticated bool       `json:"authenticated,omitempty"`
	Card          *snapCard  `json:"card,omitempty"` // what the buyer entered, as far as the sandbox needs it
	Months        int        `json:"installmentMonths,omitempty"`
}

type snapAmount struct {
	Total    int64  `json:"total"`
	TaxFree  int64  `json:"taxFree,omitempty"`
	VAT      *int64 `json:"vat,omitempty"`
	Currency string `json:"currency,omitempty"`
}

// snapCard is a card a buyer entered in a window, without its number: the
// masked number, which test card it is, whether its check digit is valid,
// and its expiry. Restore gives the session a stand-in number with the same
// BIN, last 4, length, check-digit validity and test-card behaviour, so
// that Approve and IssueBillingKey answer as they would have. Owner id and
// password digits are not kept: AuthenticateWindow checked their form, and
// nothing reads them after.
type snapCard struct {
	Number          string `json:"number"`             // masked: BIN, asterisks, last 4
	TestCard        string `json:"testCard,omitempty"` // the test card's behaviour ("INSUFFICIENT_FUNDS", ...); "" for any other number
	CheckDigitValid bool   `json:"checkDigitValid"`
	ExpiryYear      int    `json:"expiryYear"`
	ExpiryMonth     int    `json:"expiryMonth"`
}

type snapBillingKey struct {
	Key snapBillingKeyData `json:"key"`
	// Behaviour is the card's test-card behaviour ("APPROVE",
	// "BILLING_DECLINES", ...): what its charges answer.
	Behaviour string `json:"behaviour"`
}

type snapBillingKeyData struct {
	Key         string       `json:"key"`
	CustomerKey string       `json:"customerKey,omitempty"`
	Card        snapCardInfo `json:"card"`
	IssuedAt    time.Time    `json:"issuedAt,omitzero"`
	DeletedAt   time.Time    `json:"deletedAt,omitzero"`
}

type snapBillingOutcome struct {
	Fingerprint string              `json:"fingerprint"`
	Key         *snapBillingKeyData `json:"key,omitempty"`
	Err         *snapError          `json:"error,omitempty"`
}

type snapReceipt struct {
	Receipt     snapReceiptData `json:"receipt"`
	Fingerprint string          `json:"fingerprint,omitempty"`
	IdemKey     string          `json:"idempotencyKey,omitempty"`
	ReadyAt     time.Time       `json:"readyAt,omitzero"`
	Fails       bool            `json:"fails,omitempty"` // FailingCashReceiptIdentity
}

type snapReceiptData struct {
	ReceiptID      string      `json:"receiptId"`
	OrderID        string      `json:"orderId"`
	Type           string      `json:"type"`
	Status         string      `json:"status"`
	ApprovalNumber string      `json:"approvalNumber,omitempty"`
	Amounts        snapAmounts `json:"amounts"`
	RequestedAt    time.Time   `json:"requestedAt,omitzero"`
	IssuedAt       time.Time   `json:"issuedAt,omitzero"`
	CancelledAt    time.Time   `json:"cancelledAt,omitzero"`
	Failure        *snapError  `json:"failure,omitempty"`
	ReceiptURL     string      `json:"receiptUrl,omitempty"`
}

type snapReceiptCancelOutcome struct {
	Fingerprint string           `json:"fingerprint"`
	Receipt     *snapReceiptData `json:"receipt,omitempty"`
	Err         *snapError       `json:"error,omitempty"`
}

// Behaviour names, as the snapshot writes them.
var behaviourNames = map[behaviour]string{
	approve:             "APPROVE",
	declineInsufficient: "INSUFFICIENT_FUNDS",
	declineLost:         "LOST_OR_STOLEN",
	declineLimit:        "LIMIT_EXCEEDED",
	declineInstallment:  "NO_INSTALLMENT",
	timeoutCharged:      "TIMEOUT_CHARGED",
	timeoutNotCharged:   "TIMEOUT_NOT_CHARGED",
	billingDeclines:     "BILLING_DECLINES",
}

func parseBehaviour(name string) (behaviour, error) {
	for b, n := range behaviourNames {
		if n == name {
			return b, nil
		}
	}
	return 0, fmt.Errorf("unknown card behaviour %q", name)
}

// errorKinds are the kinds a stored error may have.
var errorKinds = []providers.Kind{
	providers.KindUnknown, providers.KindDeclined, providers.KindInvalidRequest, providers.KindUnauthorized,
	providers.KindNotFound, providers.KindAlreadyDone, providers.KindUnavailable, providers.KindTimeout,
}

// Writing.

// snapshotLocked copies the state into the snapshot form. Called locked.
func (s *Sandbox) snapshotLocked() (*snapState, error) {
	st := &snapState{Format: snapshotFormat, Seq: s.seq, Merchants: []snapMerchant{}}
	for _, id := range sortedKeys(s.merchants) {
		sm, err := snapMerchantOf(id, s.merchants[id])
		if err != nil {
			return nil, fmt.Errorf("sandbox: snapshot: merchant %q: %w", id, err)
		}
		st.Merchants = append(st.Merchants, sm)
	}
	return st, nil
}

func snapMerchantOf(id string, m *merchant) (snapMerchant, error) {
	sm := snapMerchant{ID: id}

	pays := sortedValues(m.payments, func(p *payment) string { return p.p.PGTransactionID })
	// The indexes must be what Restore rebuilds from the list; anything
	// else would be lost.
	payments, orders, accounts, err := indexPayments(pays)
	if err != nil {
		return sm, err
	}
	if !sameIndex(payments, m.payments) || !sameIndex(orders, m.orders) || !sameIndex(accounts, m.accounts) {
		return sm, errors.New("the payment indexes do not follow from the payments")
	}
	for _, p := range pays {
		sp := snapPayment{
			Payment:     snapPaymentOf(&p.p),
			Op:          p.op,
			Fingerprint: p.fingerprint,
			IdemKey:     p.idemKey,
			Answer:      snapErrorOf(p.failure),
		}
		if cr := p.cashReceipt; cr != nil {
			sp.CashReceipt = &snapReceiptSubject{Type: string(cr.Type), Fails: cr.Identity.Reveal() == FailingCashReceiptIdentity}
		}
		sm.Payments = append(sm.Payments, sp)
	}

	sm.ChargeKeys = cloneMap(m.chargeKeys)
	for key, out := range m.cancels {
		so := snapCancelOutcome{Fingerprint: out.fingerprint, Err: snapErrorOf(out.err)}
		if r := out.result; r != nil {
			so.Result = &snapCancelResult{Cancellation: snapCancellationOf(r.Cancellation)}
			if r.Payment != nil {
				sp := snapPaymentOf(r.Payment)
				so.Result.Payment = &sp
			}
		}
		sm.Cancels = setKey(sm.Cancels, key, so)
	}

	for _, sess := range sortedValues(m.sessions, func(s *session) string { return s.id }) {
		ss := snapSession{
			ID:            sess.id,
			Token:         sess.token,
			Purpose:       string(sess.purpose),
			OrderID:       sess.orderID,
			OrderName:     sess.orderName,
			Amount:        snapAmountOf(sess.amount),
			CustomerKey:   sess.customerKey,
			BuyerName:     sess.buyerName,
			ReturnURL:     sess.returnURL,
			ExpiresAt:     sess.expiresAt,
			Authenticated: sess.authenticated,
			Months:        sess.months,
		}
		if c := sess.card; !c.Number.IsZero() || c.ExpiryYear != 0 || c.ExpiryMonth != 0 {
			sc, err := snapCardOf(c)
			if err != nil {
				return sm, fmt.Errorf("window session %q: %w", sess.id, err)
			}
			ss.Card = &sc
		}
		sm.Sessions = append(sm.Sessions, ss)
	}

	for _, bk := range sortedValues(m.billingKeys, func(k *billingKey) string { return k.k.Key }) {
		name, ok := behaviourNames[bk.card.behaviour]
		if !ok {
			return sm, fmt.Errorf("billing key %q: card behaviour %d has no name", bk.k.Key, bk.card.behaviour)
		}
		// The card's profile is restored from the key's card info.
		if bk.card.info != bk.k.Card {
			return sm, fmt.Errorf("billing key %q: the card profile differs from the key's card", bk.k.Key)
		}
		sm.BillingKeys = append(sm.BillingKeys, snapBillingKey{Key: snapBillingKeyOf(bk.k), Behaviour: name})
	}
	for key, out := range m.billingIssues {
		so := snapBillingOutcome{Fingerprint: out.fingerprint, Err: snapErrorOf(out.err)}
		if out.key != nil {
			k := snapBillingKeyOf(*out.key)
			so.Key = &k
		}
		sm.BillingIssues = setKey(sm.BillingIssues, key, so)
	}

	recs := sortedValues(m.receipts, func(r *receipt) string { return r.r.ReceiptID })
	receipts, receiptOrders, err := indexReceipts(recs)
	if err != nil {
		return sm, err
	}
	if !sameIndex(receipts, m.receipts) || !sameIndex(receiptOrders, m.receiptOrders) {
		return sm, errors.New("the cash receipt indexes do not follow from the receipts")
	}
	for _, r := range recs {
		sm.Receipts = append(sm.Receipts, snapReceipt{
			Receipt:     snapReceiptDataOf(r.r),
			Fingerprint: r.fingerprint,
			IdemKey:     r.idemKey,
			ReadyAt:     r.readyAt,
			Fails:       r.fail,
		})
	}
	for key, out := range m.receiptCancels {
		so := snapReceiptCancelOutcome{Fingerprint: out.fingerprint, Err: snapErrorOf(out.err)}
		if out.r != nil {
			r := snapReceiptDataOf(*out.r)
			so.Receipt = &r
		}
		sm.ReceiptCancels = setKey(sm.ReceiptCancels, key, so)
	}

	for id, body := range m.events {
		sm.Events = setKey(sm.Events, id, string(body))
	}
	return sm, nil
}

func snapPaymentOf(p *providers.Payment) snapPaymentData {
	sp := snapPaymentData{
		PGTransactionID:    p.PGTransactionID,
		OrderID:            p.OrderID,
		OrderName:          p.OrderName,
		Method:             string(p.Method),
		Status:             string(p.Status),
		Currency:           p.Currency,
		Amounts:            snapAmountsOf(p.Amounts),
		RequestedAt:        p.RequestedAt,
		ApprovedAt:         p.ApprovedAt,
		CancelledAt:        p.CancelledAt,
		FailedAt:           p.FailedAt,
		Failure:            snapErrorOf(p.Failure),
		BillingKey:         p.BillingKey,
		ReceiptURL:         p.ReceiptURL,
		CashReceiptID:      p.CashReceiptID,
		NotificationSecret: p.NotificationSecret,
	}
	if p.Card != nil {
		c := snapCardInfoOf(*p.Card)
		sp.Card = &c
	}
	if va := p.VirtualAccount; va != nil {
		sp.VirtualAccount = &snapVirtualAccount{
			Bank:          string(va.Bank),
			AccountNumber: va.AccountNumber,
			Holder:        va.Holder,
			CustomerName:  va.CustomerName,
			DueAt:         va.DueAt,
			Expired:       va.Expired,
			DepositorName: va.DepositorName,
			DepositedAt:   va.DepositedAt,
		}
	}
	for _, c := range p.Cancellations {
		sp.Cancellations = append(sp.Cancellations, snapCancellationOf(c))
	}
	return sp
}

func snapAmountsOf(a providers.Amounts) snapAmounts {
	return snapAmounts{
		Total: a.Total, TaxFree: a.TaxFree, VAT: a.VAT, Paid: a.Paid,
		Cancelled: a.Cancelled, CancelledTaxFree: a.CancelledTaxFree, CancelledVAT: a.CancelledVAT,
	}
}

func snapAmountOf(a providers.Amount) snapAmount {
	sa := snapAmount{Total: a.Total, TaxFree: a.TaxFree, Currency: a.Currency}
	if a.VAT != nil {
		v := *a.VAT
		sa.VAT = &v
	}
	return sa
}

func snapCardInfoOf(c providers.CardInfo) snapCardInfo {
	return snapCardInfo{
		Issuer:            string(c.Issuer),
		Acquirer:          string(c.Acquirer),
		PGIssuerCode:      c.PGIssuerCode,
		PGAcquirerCode:    c.PGAcquirerCode,
		Number:            c.Number,
		Type:              string(c.Type),
		ApprovalNumber:    c.ApprovalNumber,
		InstallmentMonths: c.InstallmentMonths,
		InterestFree:      c.InterestFree,
	}
}

func snapCancellationOf(c providers.Cancellation) snapCancellation {
	sc := snapCancellation{
		ID:          c.ID,
		Amount:      c.Amount,
		TaxFree:     c.TaxFree,
		VAT:         c.VAT,
		Reason:      c.Reason,
		CancelledAt: c.CancelledAt,
		NetCancel:   c.NetCancel,
	}
	if r := c.Refund; r != nil {
		sc.Refund = &snapRefund{
			Bank:          string(r.Account.Bank),
			AccountNumber: r.Account.Number.Reveal(),
			Holder:        r.Account.Holder,
			Phone:         r.Account.Phone,
			Status:        string(r.Status),
		}
	}
	return sc
}

// snapErrorOf copies a stored sandbox error. The sandbox never sets Err.
func snapErrorOf(e *providers.Error) *snapError {
	if e == nil {
		return nil
	}
	return &snapError{
		Kind:     e.Kind.String(),
		Code:     e.Code,
		Message:  e.Message,
		Decline:  string(e.Decline),
		Provider: e.Provider,
		Op:       e.Op,
	}
}

// snapCardOf keeps what the sandbox needs of an entered card, not its
// number.
func snapCardOf(c providers.CardData) (snapCard, error) {
	num := c.Number.Reveal()
	if len(num) < 13 || len(num) > 19 || !allDigits(num) {
		// AuthenticateWindow keeps only cards of this form.
		return snapCard{}, errors.New("the window's card number is not 13 to 19 digits")
	}
	sc := snapCard{
		Number:          c.Number.Masked(),
		CheckDigitValid: luhn(num),
		ExpiryYear:      c.ExpiryYear,
		ExpiryMonth:     c.ExpiryMonth,
	}
	if b, ok := testCards[num]; ok {
		sc.TestCard = behaviourNames[b]
	}
	return sc, nil
}

func snapBillingKeyOf(k providers.BillingKey) snapBillingKeyData {
	return snapBillingKeyData{
		Key:         k.Key,
		CustomerKey: k.CustomerKey,
		Card:        snapCardInfoOf(k.Card),
		IssuedAt:    k.IssuedAt,
		DeletedAt:   k.DeletedAt,
	}
}

func snapReceiptDataOf(r providers.CashReceipt) snapReceiptData {
	return snapReceiptData{
		ReceiptID:      r.ReceiptID,
		OrderID:        r.OrderID,
		Type:           string(r.Type),
		Status:         string(r.Status),
		ApprovalNumber: r.ApprovalNumber,
		Amounts:        snapAmountsOf(r.Amounts),
		RequestedAt:    r.RequestedAt,
		IssuedAt:       r.IssuedAt,
		CancelledAt:    r.CancelledAt,
		Failure:        snapErrorOf(r.Failure),
		ReceiptURL:     r.ReceiptURL,
	}
}

// Reading.

// build makes the state a snapshot describes, checked: ids unique, known
// names, and a sequence past every id in it.
func (st *snapState) build() (map[string]*merchant, map[string]string, error) {
	merchants := map[string]*merchant{}
	windows := map[string]string{}
	var maxSeq uint64
	seen := func(id string) {
		if n, ok := idSeq(id); ok {
			maxSeq = max(maxSeq, n)
		}
	}
	for _, sm := range st.Merchants {
		if sm.ID == "" {
			return nil, nil, errors.New("a merchant without id")
		}
		if merchants[sm.ID] != nil {
			return nil, nil, fmt.Errorf("merchant %q appears twice", sm.ID)
		}
		m, err := sm.build(seen)
		if err != nil {
			return nil, nil, fmt.Errorf("merchant %q: %w", sm.ID, err)
		}
		for id := range m.sessions {
			if other, dup := windows[id]; dup {
				return nil, nil, fmt.Errorf("window session %q belongs to merchants %q and %q", id, other, sm.ID)
			}
			windows[id] = sm.ID
		}
		merchants[sm.ID] = m
	}
	if st.Seq < maxSeq {
		return nil, nil, fmt.Errorf("sequence %d is behind id number %d in the snapshot: new ids would collide", st.Seq, maxSeq)
	}
	return merchants, windows, nil
}

func (sm *snapMerchant) build(seen func(id string)) (*merchant, error) {
	m := newMerchant()

	pays := make([]*payment, 0, len(sm.Payments))
	for _, sp := range sm.Payments {
		pd, err := sp.Payment.build()
		if err != nil {
			return nil, fmt.Errorf("payment %q: %w", sp.Payment.PGTransactionID, err)
		}
		p := &payment{p: *pd, op: sp.Op, fingerprint: sp.Fingerprint, idemKey: sp.IdemKey}
		if p.failure, err = sp.Answer.build(); err != nil {
			return nil, fmt.Errorf("payment %q: %w", pd.PGTransactionID, err)
		}
		if p.failure != nil && p.p.Failure != nil && *p.failure == *p.p.Failure {
			p.failure = p.p.Failure // one error, as the charge stored it
		}
		if cr := sp.CashReceipt; cr != nil {
			p.cashReceipt = &providers.CashReceiptSubject{Type: providers.CashReceiptType(cr.Type)}
			if cr.Fails {
				p.cashReceipt.Identity = providers.NewRedacted(FailingCashReceiptIdentity)
			}
		}
		seen(pd.PGTransactionID)
		for _, c := range pd.Cancellations {
			seen(c.ID)
		}
		if va := pd.VirtualAccount; va != nil && len(va.AccountNumber) >= 10 {
			seen("_" + va.AccountNumber[len(va.AccountNumber)-10:]) // its last 10 digits are a sequence number
		}
		pays = append(pays, p)
	}
	var err error
	if m.payments, m.orders, m.accounts, err = indexPayments(pays); err != nil {
		return nil, err
	}

	for key, orderID := range sm.ChargeKeys {
		m.chargeKeys[key] = orderID
	}
	for key, so := range sm.Cancels {
		out := &cancelOutcome{fingerprint: so.Fingerprint}
		if out.err, err = so.Err.build(); err != nil {
			return nil, fmt.Errorf("cancel %q: %w", key, err)
		}
		if r := so.Result; r != nil {
			out.result = &providers.CancelResult{Cancellation: r.Cancellation.build()}
			if r.Payment != nil {
				if out.result.Payment, err = r.Payment.build(); err != nil {
					return nil, fmt.Errorf("cancel %q: %w", key, err)
				}
			}
		}
		if out.result == nil && out.err == nil {
			return nil, fmt.Errorf("cancel %q has neither a result nor an error", key)
		}
		m.cancels[key] = out
	}

	for _, ss := range sm.Sessions {
		if ss.ID == "" || m.sessions[ss.ID] != nil {
			return nil, fmt.Errorf("window session %q: no id or twice", ss.ID)
		}
		sess := &session{
			id:            ss.ID,
			token:         ss.Token,
			purpose:       providers.WindowPurpose(ss.Purpose),
			orderID:       ss.OrderID,
			orderName:     ss.OrderName,
			amount:        ss.Amount.build(),
			customerKey:   ss.CustomerKey,
			buyerName:     ss.BuyerName,
			returnURL:     ss.ReturnURL,
			expiresAt:     ss.ExpiresAt,
			authenticated: ss.Authenticated,
			months:        ss.Months,
		}
		if ss.Card != nil {
			if sess.card, err = ss.Card.build(); err != nil {
				return nil, fmt.Errorf("window session %q: %w", ss.ID, err)
			}
		}
		seen(ss.ID)
		m.sessions[ss.ID] = sess
	}

	for _, sk := range sm.BillingKeys {
		b, err := parseBehaviour(sk.Behaviour)
		if err != nil {
			return nil, fmt.Errorf("billing key %q: %w", sk.Key.Key, err)
		}
		k := sk.Key.build()
		if k.Key == "" || m.billingKeys[k.Key] != nil {
			return nil, fmt.Errorf("billing key %q: no key or twice", k.Key)
		}
		seen(k.Key)
		m.billingKeys[k.Key] = &billingKey{k: k, card: cardProfile{behaviour: b, info: k.Card}}
	}
	for key, so := range sm.BillingIssues {
		out := &billingOutcome{fingerprint: so.Fingerprint}
		if out.err, err = so.Err.build(); err != nil {
			return nil, fmt.Errorf("billing key issue %q: %w", key, err)
		}
		if so.Key != nil {
			k := so.Key.build()
			out.key = &k
		}
		if (out.key == nil) == (out.err == nil) {
			return nil, fmt.Errorf("billing key issue %q needs exactly one of a key and an error", key)
		}
		m.billingIssues[key] = out
	}

	recs := make([]*receipt, 0, len(sm.Receipts))
	for _, sr := range sm.Receipts {
		rd, err := sr.Receipt.build()
		if err != nil {
			return nil, fmt.Errorf("cash receipt %q: %w", sr.Receipt.ReceiptID, err)
		}
		seen(rd.ReceiptID)
		recs = append(recs, &receipt{r: rd, fingerprint: sr.Fingerprint, idemKey: sr.IdemKey, readyAt: sr.ReadyAt, fail: sr.Fails})
	}
	if m.receipts, m.receiptOrders, err = indexReceipts(recs); err != nil {
		return nil, err
	}
	for key, so := range sm.ReceiptCancels {
		out := &receiptCancelOutcome{fingerprint: so.Fingerprint}
		if out.err, err = so.Err.build(); err != nil {
			return nil, fmt.Errorf("cash receipt cancel %q: %w", key, err)
		}
		if so.Receipt != nil {
			r, err := so.Receipt.build()
			if err != nil {
				return nil, fmt.Errorf("cash receipt cancel %q: %w", key, err)
			}
			out.r = &r
		}
		if (out.r == nil) == (out.err == nil) {
			return nil, fmt.Errorf("cash receipt cancel %q needs exactly one of a receipt and an error", key)
		}
		m.receiptCancels[key] = out
	}

	for id, body := range sm.Events {
		seen(id)
		m.events[id] = []byte(body)
	}
	return m, nil
}

func (sp *snapPaymentData) build() (*providers.Payment, error) {
	if sp.PGTransactionID == "" {
		return nil, errors.New("a payment without transaction id")
	}
	failure, err := sp.Failure.build()
	if err != nil {
		return nil, err
	}
	p := &providers.Payment{
		PGTransactionID:    sp.PGTransactionID,
		OrderID:            sp.OrderID,
		OrderName:          sp.OrderName,
		Method:             providers.PayMethod(sp.Method),
		Status:             providers.Status(sp.Status),
		Currency:           sp.Currency,
		Amounts:            sp.Amounts.build(),
		RequestedAt:        sp.RequestedAt,
		ApprovedAt:         sp.ApprovedAt,
		CancelledAt:        sp.CancelledAt,
		FailedAt:           sp.FailedAt,
		Failure:            failure,
		BillingKey:         sp.BillingKey,
		ReceiptURL:         sp.ReceiptURL,
		CashReceiptID:      sp.CashReceiptID,
		NotificationSecret: sp.NotificationSecret,
	}
	if sp.Card != nil {
		c := sp.Card.build()
		p.Card = &c
	}
	if va := sp.VirtualAccount; va != nil {
		p.VirtualAccount = &providers.VirtualAccount{
			Bank:          providers.Bank(va.Bank),
			AccountNumber: va.AccountNumber,
			Holder:        va.Holder,
			CustomerName:  va.CustomerName,
			DueAt:         va.DueAt,
			Expired:       va.Expired,
			DepositorName: va.DepositorName,
			DepositedAt:   va.DepositedAt,
		}
	}
	for _, c := range sp.Cancellations {
		p.Cancellations = append(p.Cancellations, c.build())
	}
	return p, nil
}

func (sa snapAmounts) build() providers.Amounts {
	return providers.Amounts{
		Total: sa.Total, TaxFree: sa.TaxFree, VAT: sa.VAT, Paid: sa.Paid,
		Cancelled: sa.Cancelled, CancelledTaxFree: sa.CancelledTaxFree, CancelledVAT: sa.CancelledVAT,
	}
}

func (sa snapAmount) build() providers.Amount {
	a := providers.Amount{Total: sa.Total, TaxFree: sa.TaxFree, Currency: sa.Currency}
	if sa.VAT != nil {
		v := *sa.VAT
		a.VAT = &v
	}
	return a
}

func (sc snapCardInfo) build() providers.CardInfo {
	return providers.CardInfo{
		Issuer:            providers.CardCompany(sc.Issuer),
		Acquirer:          providers.CardCompany(sc.Acquirer),
		PGIssuerCode:      sc.PGIssuerCode,
		PGAcquirerCode:    sc.PGAcquirerCode,
		Number:            sc.Number,
		Type:              providers.CardType(sc.Type),
		ApprovalNumber:    sc.ApprovalNumber,
		InstallmentMonths: sc.InstallmentMonths,
		InterestFree:      sc.InterestFree,
	}
}

func (sc snapCancellation) build() providers.Cancellation {
	c := providers.Cancellation{
		ID:          sc.ID,
		Amount:      sc.Amount,
		TaxFree:     sc.TaxFree,
		VAT:         sc.VAT,
		Reason:      sc.Reason,
		CancelledAt: sc.CancelledAt,
		NetCancel:   sc.NetCancel,
	}
	if r := sc.Refund; r != nil {
		c.Refund = &providers.Refund{
			Account: providers.RefundAccount{
				Bank:   providers.Bank(r.Bank),
				Number: providers.NewRedacted(r.AccountNumber),
				Holder: r.Holder,
				Phone:  r.Phone,
			},
			Status: providers.RefundStatus(r.Status),
		}
	}
	return c
}

func (se *snapError) build() (*providers.Error, error) {
	if se == nil {
		return nil, nil
	}
	for _, k := range errorKinds {
		if k.String() == se.Kind {
			return &providers.Error{
				Kind:     k,
				Code:     se.Code,
				Message:  se.Message,
				Decline:  providers.DeclineReason(se.Decline),
				Provider: se.Provider,
				Op:       se.Op,
			}, nil
		}
	}
	return nil, fmt.Errorf("unknown error kind %q", se.Kind)
}

// build returns card data that behaves as the entered card did: the test
// card itself, or else a stand-in number with the same BIN, last 4, length
// and check-digit validity that is no test card.
func (sc *snapCard) build() (providers.CardData, error) {
	var num string
	if sc.TestCard != "" {
		b, err := parseBehaviour(sc.TestCard)
		if err != nil {
			return providers.CardData{}, err
		}
		for n, tb := range testCards {
			if tb == b {
				num = n
			}
		}
		if num == "" || providers.NewCardNumber(num).Masked() != sc.Number || !sc.CheckDigitValid {
			return providers.CardData{}, fmt.Errorf("card %q is not the %s test card", sc.Number, sc.TestCard)
		}
	} else {
		var ok bool
		if num, ok = standIn(sc.Number, sc.CheckDigitValid); !ok {
			return providers.CardData{}, fmt.Errorf("card %q is not a masked card number", sc.Number)
		}
	}
	return providers.CardData{Number: providers.NewCardNumber(num), ExpiryYear: sc.ExpiryYear, ExpiryMonth: sc.ExpiryMonth}, nil
}

// standIn returns a number of the masked number's BIN, last 4 and length,
// whose Luhn check passes exactly when valid, and which is no test card.
func standIn(masked string, valid bool) (string, bool) {
	n := len(masked)
	if n < 13 || n > 19 || !allDigits(masked[:6]) || !allDigits(masked[n-4:]) || strings.Trim(masked[6:n-4], "*") != "" {
		return "", false
	}
	// The middle digits count up from zero in the last three middle
	// places (there are at least three): a tenth of them pass the check.
	for k := range 1000 {
		c := masked[:6] + strings.Repeat("0", n-13) + fmt.Sprintf("%03d", k) + masked[n-4:]
		if _, test := testCards[c]; luhn(c) == valid && !test {
			return c, true
		}
	}
	return "", false
}

func (sk snapBillingKeyData) build() providers.BillingKey {
	return providers.BillingKey{
		Key:         sk.Key,
		CustomerKey: sk.CustomerKey,
		Card:        sk.Card.build(),
		IssuedAt:    sk.IssuedAt,
		DeletedAt:   sk.DeletedAt,
	}
}

func (sr *snapReceiptData) build() (providers.CashReceipt, error) {
	if sr.ReceiptID == "" {
		return providers.CashReceipt{}, errors.New("a cash receipt without id")
	}
	failure, err := sr.Failure.build()
	if err != nil {
		return providers.CashReceipt{}, err
	}
	return providers.CashReceipt{
		ReceiptID:      sr.ReceiptID,
		OrderID:        sr.OrderID,
		Type:           providers.CashReceiptType(sr.Type),
		Status:         providers.CashReceiptStatus(sr.Status),
		ApprovalNumber: sr.ApprovalNumber,
		Amounts:        sr.Amounts.build(),
		RequestedAt:    sr.RequestedAt,
		IssuedAt:       sr.IssuedAt,
		CancelledAt:    sr.CancelledAt,
		Failure:        failure,
		ReceiptURL:     sr.ReceiptURL,
	}, nil
}

// Indexes.

// indexPayments indexes payments by transaction id, order id and virtual
// account number; each must be unique.
func indexPayments(list []*payment) (payments, orders, accounts map[string]*payment, err error) {
	payments, orders, accounts = map[string]*payment{}, map[string]*payment{}, map[string]*payment{}
	for _, p := range list {
		tid := p.p.PGTransactionID
		if payments[tid] != nil {
			return nil, nil, nil, fmt.Errorf("payment %q appears twice", tid)
		}
		if orders[p.p.OrderID] != nil {
			return nil, nil, nil, fmt.Errorf("order %q has two payments", p.p.OrderID)
		}
		payments[tid], orders[p.p.OrderID] = p, p
		if va := p.p.VirtualAccount; va != nil {
			if accounts[va.AccountNumber] != nil {
				return nil, nil, nil, fmt.Errorf("account %q has two payments", va.AccountNumber)
			}
			accounts[va.AccountNumber] = p
		}
	}
	return payments, orders, accounts, nil
}

// indexReceipts indexes receipts (in creation order) by id, and by order id
// the first of each order id, as newReceipt does.
func indexReceipts(list []*receipt) (receipts, orders map[string]*receipt, err error) {
	receipts, orders = map[string]*receipt{}, map[string]*receipt{}
	for _, r := range list {
		if receipts[r.r.ReceiptID] != nil {
			return nil, nil, fmt.Errorf("cash receipt %q appears twice", r.r.ReceiptID)
		}
		receipts[r.r.ReceiptID] = r
		if orders[r.r.OrderID] == nil {
			orders[r.r.OrderID] = r
		}
	}
	return receipts, orders, nil
}

func sameIndex[V comparable](a, b map[string]V) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// Helpers.

// idSeq returns the sequence number an id ends with ("sbx_pay_000012": 12).
func idSeq(id string) (uint64, bool) {
	i := strings.LastIndexByte(id, '_')
	if i < 0 || !allDigits(id[i+1:]) {
		return 0, false
	}
	n, err := strconv.ParseUint(id[i+1:], 10, 64)
	return n, err == nil
}

// sortedValues returns m's values in creation order: by the sequence number
// their id ends with, then by id.
func sortedValues[V any](m map[string]V, id func(V) string) []V {
	out := make([]V, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	slices.SortFunc(out, func(a, b V) int {
		x, y := id(a), id(b)
		nx, _ := idSeq(x)
		ny, _ := idSeq(y)
		if nx != ny {
			if nx < ny {
				return -1
			}
			return 1
		}
		return strings.Compare(x, y)
	})
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func cloneMap[V any](m map[string]V) map[string]V {
	if len(m) == 0 {
		return nil
	}
	c := make(map[string]V, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

// setKey sets m[k] = v, making m when nil (so that empty maps are omitted).
func setKey[V any](m map[string]V, k string, v V) map[string]V {
	if m == nil {
		m = map[string]V{}
	}
	m[k] = v
	return m
}
