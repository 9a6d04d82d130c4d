package sandbox

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/paymux/paymux/providers"
)

// Name is the provider name of the sandbox.
const Name = "sandbox"

// SecretNotification is the channel secret that signs the sandbox's
// notifications (HMAC-SHA256).
const SecretNotification = "notification_secret"

// Options configure a Sandbox. The zero value is usable.
type Options struct {
	// Now is the clock; nil means time.Now. Tests pass a ManualClock's Now.
	Now func() time.Time
	// CheckoutURL is the base of the hosted test window: PrepareWindow
	// answers CheckoutURL + "/" + session id. Default
	// "http://localhost/sandbox/checkout".
	CheckoutURL string
	// WindowTTL is how long a window session can be authenticated and
	// approved. Default 30 minutes.
	WindowTTL time.Duration
	// NetCancelWindow is how long after an approval NetCancel works.
	// Default 1 hour (NicePay's rule).
	NetCancelWindow time.Duration
	// NotificationTolerance is how far a notification's signed timestamp
	// may be from the clock. Default 5 minutes.
	NotificationTolerance time.Duration
	// CashReceiptDelay is how long after the request a cash receipt
	// becomes ISSUED (or FAILED), seen on the next lookup. Default 0: the
	// next lookup.
	CashReceiptDelay time.Duration
	// RefundDelay is how long a virtual-account refund stays PENDING.
	// Default 24 hours ("next business day").
	RefundDelay time.Duration
	// DefaultDueIn is the deposit deadline of a virtual account issued
	// without one. Default 7 days.
	DefaultDueIn time.Duration
	// FingerprintKey is the secret that keys request fingerprints
	// (HMAC-SHA256): the digests of card numbers and expiries, cash-receipt
	// identity numbers and refund accounts by which the sandbox tells a
	// replay from another request, and which a Snapshot holds. Unkeyed, a
	// fingerprint next to a card's BIN and last 4 would give the full
	// number away to a brute force. The server derives it from its master
	// key, so it never sits in a snapshot. The same key also derives window
	// auth tokens and virtual-account notification secrets.
	//
	// Nil or empty: New generates a random key. Fingerprints then differ
	// from one sandbox to another, so after a Restore into a sandbox with a
	// different key, a retry of a request made before the snapshot is not
	// recognised as a replay: it answers as a different request
	// (DUPLICATED_ORDER_ID, IDEMPOTENCY_KEY_REUSED). Give the same key to
	// the sandbox that saves snapshots and the one that restores them. New
	// copies the key.
	FingerprintKey []byte
}

// Sandbox is an in-memory, deterministic PG. It implements
// providers.Provider; its state is kept per channel merchant id and is safe
// for concurrent use (one mutex).
type Sandbox struct {
	opts  Options
	now   func() time.Time
	fpKey []byte // Options.FingerprintKey, or a random one; keys digest

	mu        sync.Mutex
	seq       uint64
	merchants map[string]*merchant
	windows   map[string]string // window session id -> merchant id, for Checkout

	version atomic.Uint64 // see Version; bumped under mu by everything that may change the state
}

var _ providers.Provider = (*Sandbox)(nil)

// New returns an empty sandbox.
func New(opts Options) *Sandbox {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.CheckoutURL == "" {
		opts.CheckoutURL = "http://localhost/sandbox/checkout"
	}
	opts.CheckoutURL = strings.TrimRight(opts.CheckoutURL, "/")
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&opts.WindowTTL, 30*time.Minute)
	def(&opts.NetCancelWindow, time.Hour)
	def(&opts.NotificationTolerance, 5*time.Minute)
	def(&opts.RefundDelay, 24*time.Hour)
	def(&opts.DefaultDueIn, 7*24*time.Hour)
	if opts.CashReceiptDelay < 0 {
		opts.CashReceiptDelay = 0
	}
	key := bytes.Clone(opts.FingerprintKey)
	if len(key) == 0 {
		key = make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			panic("sandbox: no randomness for the fingerprint key: " + err.Error())
		}
	}
	opts.FingerprintKey = nil // kept in fpKey only
	return &Sandbox{opts: opts, now: opts.Now, fpKey: key, merchants: map[string]*merchant{}, windows: map[string]string{}}
}

// Name returns "sandbox".
func (s *Sandbox) Name() string { return Name }

// Capabilities: the sandbox supports everything.
// Capabilities is every flag but CapNetCancelOnTimeout: the sandbox's
// timed-out charges are settled by lookup, as most PGs want.
func (s *Sandbox) Capabilities() providers.Capabilities {
	return providers.AllCapabilities &^ providers.CapNetCancelOnTimeout
}

// merchant is the PG-side state of one merchant id.
type merchant struct {
	payments       map[string]*payment // by PG transaction id
	orders         map[string]*payment // by order id
	accounts       map[string]*payment // virtual accounts by account number
	chargeKeys     map[string]string   // idempotency key -> order id (charges, virtual accounts)
	cancels        map[string]*cancelOutcome
	sessions       map[string]*session
	billingKeys    map[string]*billingKey
	billingIssues  map[string]*billingOutcome // idempotency key or order id -> outcome
	receipts       map[string]*receipt        // by receipt id
	receiptOrders  map[string]*receipt
	receiptCancels map[string]*receiptCancelOutcome
	events         map[string][]byte // event id -> notification body
}

func newMerchant() *merchant {
	return &merchant{
		payments:       map[string]*payment{},
		orders:         map[string]*payment{},
		accounts:       map[string]*payment{},
		chargeKeys:     map[string]string{},
		cancels:        map[string]*cancelOutcome{},
		sessions:       map[string]*session{},
		billingKeys:    map[string]*billingKey{},
		billingIssues:  map[string]*billingOutcome{},
		receipts:       map[string]*receipt{},
		receiptOrders:  map[string]*receipt{},
		receiptCancels: map[string]*receiptCancelOutcome{},
		events:         map[string][]byte{},
	}
}

// payment is one payment record: the snapshot the PG reports plus what the
// sandbox needs to replay the call that made it.
type payment struct {
	p           providers.Payment
	op          string // the operation that created it
	fingerprint string // of that request, for replays
	idemKey     string
	failure     *providers.Error              // the stored answer of a declined charge
	cashReceipt *providers.CashReceiptSubject // to issue on deposit
}

// begin checks the context and the channel and locks the sandbox. The
// caller must call s.mu.Unlock (via the returned func).
func (s *Sandbox) begin(ctx context.Context, ch providers.Channel, op string) (*merchant, time.Time, func(), error) {
	if err := ctx.Err(); err != nil {
		return nil, time.Time{}, nil, err
	}
	if err := checkChannel(ch, op); err != nil {
		return nil, time.Time{}, nil, err
	}
	s.mu.Lock()
	s.version.Add(1)
	m := s.merchants[ch.MerchantID]
	if m == nil {
		m = newMerchant()
		s.merchants[ch.MerchantID] = m
	}
	return m, s.now(), s.mu.Unlock, nil
}

func checkChannel(ch providers.Channel, op string) error {
	if ch.MerchantID == "" {
		return invalid(op, "MERCHANT_ID_REQUIRED", "the channel has no merchant id")
	}
	if ch.Mode == providers.ModeLive {
		return invalid(op, "LIVE_MODE_NOT_ALLOWED", "the sandbox serves TEST channels only")
	}
	return nil
}

// next returns the next id of kind ("pay", "can", ...). Called locked.
func (s *Sandbox) next(kind string) string {
	s.seq++
	return fmt.Sprintf("sbx_%s_%06d", kind, s.seq)
}

// nextNumber returns the next sequence number. Called locked.
func (s *Sandbox) nextNumber() uint64 {
	s.seq++
	return s.seq
}

// Payments returns every payment of the channel's merchant, declined ones
// included, in creation order: for tests that assert what was charged.
func (s *Sandbox) Payments(ch providers.Channel) []providers.Payment {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.version.Add(1) // refresh may change a payment
	m := s.merchants[ch.MerchantID]
	if m == nil {
		return nil
	}
	now := s.now()
	out := make([]providers.Payment, 0, len(m.payments))
	for _, p := range m.payments {
		s.refresh(p, now)
		out = append(out, *p.p.Clone())
	}
	slices.SortFunc(out, func(a, b providers.Payment) int { return strings.Compare(a.PGTransactionID, b.PGTransactionID) })
	return out
}

// refresh applies what time does to a payment: an unpaid virtual account
// past its due time expires, a pending refund completes. Called locked.
func (s *Sandbox) refresh(p *payment, now time.Time) {
	if p.p.Status == providers.StatusVirtualAccountIssued && p.p.VirtualAccount != nil && now.After(p.p.VirtualAccount.DueAt) {
		p.p.Status = providers.StatusExpired
		p.p.VirtualAccount.Expired = true
	}
	for i := range p.p.Cancellations {
		c := &p.p.Cancellations[i]
		if c.Refund != nil && c.Refund.Status == providers.RefundPending && !now.Before(c.CancelledAt.Add(s.opts.RefundDelay)) {
			c.Refund.Status = providers.RefundCompleted
		}
	}
}

// find returns the payment named by transaction id or order id (both must
// agree when both are given). Called locked.
func (m *merchant) find(tid, orderID string) *payment {
	var p *payment
	switch {
	case tid != "":
		p = m.payments[tid]
		if p != nil && orderID != "" && p.p.OrderID != orderID {
			return nil
		}
	case orderID != "":
		p = m.orders[orderID]
	}
	return p
}

// digest returns a short hash of the parts, keyed with the sandbox's
// fingerprint key (HMAC-SHA256, 32 hex digits): stable for one key, for
// fingerprints, and not computable without the key, so that a fingerprint
// of card data in a snapshot cannot be brute-forced from the masked number
// next to it. Every fingerprint goes through it, so card data, identity
// numbers and refund accounts enter fingerprints only keyed.
func (s *Sandbox) digest(parts ...any) string {
	h := hmac.New(sha256.New, s.fpKey)
	for _, p := range parts {
		fmt.Fprintf(h, "%v\x00", p)
	}
	return hex.EncodeToString(h.Sum(nil))[:32]
}

func amountKey(a providers.Amount) string {
	vat := "-"
	if a.VAT != nil {
		vat = fmt.Sprint(*a.VAT)
	}
	return fmt.Sprintf("%d/%d/%s/%s", a.Total, a.TaxFree, vat, a.Currency)
}

func optKey(v *int64) string {
	if v == nil {
		return "-"
	}
	return fmt.Sprint(*v)
}

// vatOf is the sandbox's default VAT: the taxable part divided by 11,
// rounded to the nearest won, as Toss answers it. A remainder is never
// exactly one half, so the rounding mode does not matter.
func vatOf(taxable int64) int64 {
	if taxable <= 0 {
		return 0
	}
	v := taxable / 11
	if taxable%11 >= 6 {
		v++
	}
	return v
}

// newAmounts validates a and returns the payment's amounts (Paid 0).
func newAmounts(op string, a providers.Amount) (providers.Amounts, error) {
	switch {
	case a.Currency != "" && a.Currency != "KRW":
		return providers.Amounts{}, invalid(op, "UNSUPPORTED_CURRENCY", "the sandbox charges KRW only, not %q", a.Currency)
	case a.Total <= 0:
		return providers.Amounts{}, invalid(op, "INVALID_TOTAL_AMOUNT", "total %d is not positive", a.Total)
	case a.TaxFree < 0 || a.TaxFree > a.Total:
		return providers.Amounts{}, invalid(op, "INVALID_TAX_FREE_AMOUNT", "tax-free amount %d is not within [0, %d]", a.TaxFree, a.Total)
	}
	vat := vatOf(a.Total - a.TaxFree)
	if a.VAT != nil {
		vat = *a.VAT
		if vat < 0 || vat > a.Total-a.TaxFree {
			return providers.Amounts{}, invalid(op, "INVALID_VAT_AMOUNT", "VAT %d is not within [0, %d]", vat, a.Total-a.TaxFree)
		}
	}
	return providers.Amounts{Total: a.Total, TaxFree: a.TaxFree, VAT: vat}, nil
}

// Errors. Every error the sandbox returns is a *providers.Error, except
// the context's own error when ctx is done before the call starts.

func newErr(kind providers.Kind, op, code, format string, args ...any) *providers.Error {
	return &providers.Error{Kind: kind, Provider: Name, Op: op, Code: code, Message: fmt.Sprintf(format, args...)}
}

func invalid(op, code, format string, args ...any) *providers.Error {
	return newErr(providers.KindInvalidRequest, op, code, format, args...)
}

func notFound(op, code, format string, args ...any) *providers.Error {
	return newErr(providers.KindNotFound, op, code, format, args...)
}

func alreadyDone(op, code, format string, args ...any) *providers.Error {
	return newErr(providers.KindAlreadyDone, op, code, format, args...)
}

func unauthorized(op, code, format string, args ...any) *providers.Error {
	return newErr(providers.KindUnauthorized, op, code, format, args...)
}

func declined(op string, reason providers.DeclineReason, code, msg string) *providers.Error {
	e := newErr(providers.KindDeclined, op, code, "%s", msg)
	e.Decline = reason
	return e
}

func timedOut(op string) *providers.Error {
	return newErr(providers.KindTimeout, op, "SB_TIMEOUT", "no answer from the PG in time (sandbox test card)")
}

// copyErr returns a copy of a stored error for op, or nil.
func copyErr(e *providers.Error, op string) error {
	if e == nil {
		return nil
	}
	c := *e
	c.Op = op
	return &c
}
