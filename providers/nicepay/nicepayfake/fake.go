package nicepayfake

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"
)

// Key models: a Server-approval client key only authenticates in the window
// (the merchant server approves); a Client-approval key approves in the window.
const (
	ModelServer = "SERVER"
	ModelClient = "CLIENT"
)

// Published sandbox key pairs (README.md, common/test.md, the client-auth
// samples), registered in every fake.
const (
	SandboxClientID       = "S2_af4543a0be4d49a98122e01ec2059a56"
	SandboxSecretKey      = "9eb85607103646da9f9c02b128f2e5ee"
	TestGuideClientID     = "58e3b578555e45738d6b569e53d5ae54"
	TestGuideSecretKey    = "4f13ca267dfa4fc6964148bedcda15ef"
	ClientApprovalID      = "S1_6eaa0db1afdc41f3becb770878d67d25"
	ClientApprovalSecret  = "e80d068e400649a6ada66777fa350d40"
	tokenLifetime         = 30 * time.Minute
	netCancelWindow       = time.Hour
	defaultVbankValidity  = 7 * 24 * time.Hour
	cardCancelWindow      = 365 * 24 * time.Hour
	vbankRefundWindow     = 180 * 24 * time.Hour
	fakeMID               = "nictest00m"
	successMsg            = "정상 처리되었습니다."
	isoLayout             = "2006-01-02T15:04:05.000-0700"
	orderDateLayout       = "20060102"
	jsonContentType       = "application/json;charset=utf-8"
	webhookClientTimeout  = 10 * time.Second
	receiptIssueDelayDays = 1
)

// kst is the zone of every timestamp NicePay writes (+0900).
var kst = time.FixedZone("KST", 9*60*60)

// Options configures a Fake.
type Options struct {
	// Now is the fake's clock (net-cancel hour, token expiry, vbank expiry,
	// timestamps). Nil means time.Now.
	Now func() time.Time
}

type keyPair struct {
	clientID, secret, model string
}

type token struct {
	value    string
	clientID string
	expireAt time.Time
}

// Fake is a NicePay Start API server on an httptest.Server. It serves the
// API, the SDK stand-in and the hosted window from one URL. Safe for
// concurrent use.
type Fake struct {
	// URL is the base URL of the API, the SDK script and the window.
	URL string

	srv    *httptest.Server
	now    func() time.Time
	closed chan struct{}
	hc     *http.Client

	mu         sync.Mutex
	keys       map[string]*keyPair // by clientID
	tokens     map[string]*token   // by token value
	keyTokens  map[string]*token   // current token by clientID
	payments   map[string]*payment // by tid (approved or only authenticated)
	orders     map[string][]*payment
	cancelOIDs map[string]bool // orderIds used by cancels
	bids       map[string]*billingKey
	bidOrders  map[string]bool // orderIds used by regist/expire
	receipts   map[string]*receipt
	rcptOrders map[string]bool
	sessions   map[string]map[string]string // window sessions by id
	faults     map[string][]Fault
	webhookURL string
	sent       []SentNotification
	seq        int
	closeOnce  sync.Once
}

// Start starts a fake NicePay with the published sandbox keys registered.
func Start(o Options) *Fake {
	f := &Fake{
		now:        o.Now,
		closed:     make(chan struct{}),
		hc:         &http.Client{Timeout: webhookClientTimeout},
		keys:       map[string]*keyPair{},
		tokens:     map[string]*token{},
		keyTokens:  map[string]*token{},
		payments:   map[string]*payment{},
		orders:     map[string][]*payment{},
		cancelOIDs: map[string]bool{},
		bids:       map[string]*billingKey{},
		bidOrders:  map[string]bool{},
		receipts:   map[string]*receipt{},
		rcptOrders: map[string]bool{},
		sessions:   map[string]map[string]string{},
		faults:     map[string][]Fault{},
	}
	if f.now == nil {
		f.now = time.Now
	}
	f.AddKeys(SandboxClientID, SandboxSecretKey, ModelServer)
	f.AddKeys(TestGuideClientID, TestGuideSecretKey, ModelServer)
	f.AddKeys(ClientApprovalID, ClientApprovalSecret, ModelClient)
	f.srv = httptest.NewServer(f.routes())
	f.URL = f.srv.URL
	return f
}

// SDKURL is the URL of the SDK stand-in, at the real SDK's path /v1/js/.
func (f *Fake) SDKURL() string { return f.URL + "/v1/js/" }

// Close stops the server; requests held by a timeout fault are released.
func (f *Fake) Close() {
	f.closeOnce.Do(func() { close(f.closed) })
	f.srv.CloseClientConnections()
	f.srv.Close()
}

// AddKeys registers a client key / secret key pair of model ModelServer or
// ModelClient ("" = ModelServer). All keys belong to the one fake merchant,
// so any registered key may act on any transaction.
func (f *Fake) AddKeys(clientID, secretKey, model string) {
	model = strings.ToUpper(model)
	if model == "" {
		model = ModelServer
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.keys[clientID] = &keyPair{clientID: clientID, secret: secretKey, model: model}
}

func (f *Fake) clock() time.Time { return f.now().In(kst) }

func iso(t time.Time) string {
	if t.IsZero() {
		return "0"
	}
	return t.In(kst).Format(isoLayout)
}

// SignData is NicePay's hash (manual §5): lowercase hex SHA-256 of the
// plain concatenation of parts, the secret key last. Every signData and
// signature of the Start API is one.
func SignData(parts ...string) string {
	s := sha256.Sum256([]byte(strings.Join(parts, "")))
	return hex.EncodeToString(s[:])
}

// WindowSignature is the signature of the Server-approval returnUrl POST:
// sha256(authToken + clientId + amount + secretKey).
func WindowSignature(authToken, clientID, amount, secretKey string) string {
	return SignData(authToken, clientID, amount, secretKey)
}

// PaymentSignature is sha256(tid + amount + ediDate + secretKey): the
// Payment object's signature (answers and webhooks) and the signData of
// approve and check-amount.
func PaymentSignature(tid, amount, ediDate, secretKey string) string {
	return SignData(tid, amount, ediDate, secretKey)
}

func sign(parts ...string) string { return SignData(parts...) }

func sameSign(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(strings.ToLower(a)), []byte(b)) == 1
}

// next returns a sequence number, unique within the fake. Callers hold mu.
func (f *Fake) next() int {
	f.seq++
	return f.seq
}

// newTID builds a 30-character tid shaped like NicePay's:
// MID(10) + method(2) + kind(2) + yymmddhhmmss(12) + seq(4).
func (f *Fake) newTID(methodCode, kind string) string {
	for {
		t := fakeMID + methodCode + kind + f.clock().Format("060102150405") + fmt.Sprintf("%04d", f.next()%10000)
		if _, ok := f.payments[t]; ok {
			continue
		}
		if _, ok := f.receipts[t]; ok {
			continue
		}
		return t
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

func methodCode(method string) string {
	switch method {
	case "vbank":
		return "03"
	case "bank":
		return "02"
	case "cellphone":
		return "05"
	default:
		return "01"
	}
}
