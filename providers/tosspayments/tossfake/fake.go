package tossfake

import (
	"crypto/rand"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"
)

// The published test key pair (every official sample uses it) and the mId
// the fake gives it.
const (
	TestClientKey = "test_ck_D5GePWvyJnrK0W0k6q8gLzN97Eoq"
	TestSecretKey = "test_sk_zXLkKEypNArWmo50nX3lmeaxYG5R"
	TestMID       = "tosspayments"
)

const (
	apiVersion         = "2022-11-16"
	confirmWindow      = 10 * time.Minute
	defaultVAValidity  = 7 * 24 * time.Hour
	maxVAValidity      = 30 * 24 * time.Hour
	idempotencyTTL     = 15 * 24 * time.Hour
	maxIdempotencyKey  = 300
	receiptCompleteAge = 24 * time.Hour
	webhookTimeout     = 10 * time.Second
	isoLayout          = "2006-01-02T15:04:05-07:00"
	webhookTimeLayout  = "2006-01-02T15:04:05.000000"
	jsonContentType    = "application/json"
)

// kst is the zone of every timestamp Toss writes (+09:00).
var kst = time.FixedZone("KST", 9*60*60)

// Options configures a Fake.
type Options struct {
	// Now is the fake's clock (the 10-minute confirm rule, due dates,
	// idempotency keys, timestamps). Nil means time.Now.
	Now func() time.Time
}

type keyPair struct {
	clientKey, secretKey, mID string
	test                      bool
}

// Fake is a Toss Payments server on an httptest.Server. One URL serves the
// API, the SDK stand-in and the hosted window. Safe for concurrent use.
type Fake struct {
	// URL is the base URL of the API, the SDK script and the window.
	URL string

	srv       *httptest.Server
	now       func() time.Time
	closed    chan struct{}
	closeOnce sync.Once
	hc        *http.Client

	mu          sync.Mutex
	bySecret    map[string]*keyPair
	byClient    map[string]*keyPair
	payments    map[string]*payment // by paymentKey
	orders      map[string]*payment // current payment by mId + orderId
	authKeys    map[string]*authKey
	billingKeys map[string]*billingKey
	receipts    []*cashReceipt
	idem        map[string]*idemEntry
	faults      map[string][]Fault
	hookURL     string
	hookURLs    map[string]string // by mId
	sent        []SentNotification
	seq         int
}

// Start starts a fake Toss Payments with the published test key pair
// registered (mId TestMID).
func Start(o Options) *Fake {
	f := &Fake{
		now:         o.Now,
		closed:      make(chan struct{}),
		hc:          &http.Client{Timeout: webhookTimeout},
		bySecret:    map[string]*keyPair{},
		byClient:    map[string]*keyPair{},
		payments:    map[string]*payment{},
		orders:      map[string]*payment{},
		authKeys:    map[string]*authKey{},
		billingKeys: map[string]*billingKey{},
		idem:        map[string]*idemEntry{},
		faults:      map[string][]Fault{},
		hookURLs:    map[string]string{},
	}
	if f.now == nil {
		f.now = time.Now
	}
	f.AddKeys(TestClientKey, TestSecretKey, TestMID)
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	f.URL = f.srv.URL
	return f
}

// SDKURL is the URL of the SDK stand-in, at the real SDK's path /v2/standard.
func (f *Fake) SDKURL() string { return f.URL + "/v2/standard" }

// Close stops the server; requests held by TimeoutBeforeCharge are released.
func (f *Fake) Close() {
	f.closeOnce.Do(func() {
		close(f.closed)
		f.srv.CloseClientConnections()
		f.srv.Close()
	})
}

// AddKeys registers a key pair of merchant mId. The prefix decides the mode:
// test_ck_/test_sk_ keys are test keys (virtual accounts start with X,
// TossPayments-Test-Code is honoured); anything else is live.
func (f *Fake) AddKeys(clientKey, secretKey, mID string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	k := &keyPair{clientKey: clientKey, secretKey: secretKey, mID: mID,
		test: strings.HasPrefix(secretKey, "test_")}
	f.bySecret[secretKey] = k
	f.byClient[clientKey] = k
}

func (f *Fake) clock() time.Time { return f.now().In(kst) }

func iso(t time.Time) string { return t.In(kst).Format(isoLayout) }

func isoPtr(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := iso(t)
	return &s
}

const alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

func randomString(n int, alphabet string) string {
	b := make([]byte, n)
	max := big.NewInt(int64(len(alphabet)))
	for i := range b {
		v, err := rand.Int(rand.Reader, max)
		if err != nil {
			panic(err)
		}
		b[i] = alphabet[v.Int64()]
	}
	return string(b)
}

func digits(n int) string { return randomString(n, "0123456789") }

// newPaymentKey makes a key shaped like Toss's (letters and digits, well
// under the documented 200 characters).
func newPaymentKey() string { return "tfake" + randomString(45, alnum) }

func newTransactionKey() string { return "txrd" + randomString(28, "0123456789abcdef") }

func orderKey(mID, orderID string) string { return mID + "\x00" + orderID }
