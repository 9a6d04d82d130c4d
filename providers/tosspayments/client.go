package tosspayments

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/paymux/paymux/providers"
)

// maxAnswer bounds an answer's body (a cash-receipt list page is the
// largest).
const maxAnswer = 8 << 20

// MaxIdempotencyKey is the longest Idempotency-Key Toss takes.
const MaxIdempotencyKey = 300

// basicAuth is Toss's Authorization: the secret key as user, empty password,
// the colon kept.
func basicAuth(secretKey string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(secretKey+":"))
}

// pathEscape escapes one path segment; billing keys may hold '=', '/' or
// '+', which must not split or change the path.
func pathEscape(s string) string { return url.PathEscape(s) }

// idempotencyKey is the Idempotency-Key of a POST: the request's own when
// given (hashed when longer than Toss's 300 characters), else one derived
// from parts that identify the logical operation (so a retry sends the same
// key), else "" (none sent) when nothing identifies it.
func idempotencyKey(given string, derived ...string) string {
	if given != "" {
		if len(given) <= MaxIdempotencyKey {
			return given
		}
		sum := sha256.Sum256([]byte(given))
		return "paymux-sha256-" + hex.EncodeToString(sum[:])
	}
	for _, d := range derived {
		if d == "" {
			return ""
		}
	}
	if len(derived) == 0 {
		return ""
	}
	k := "paymux-" + strings.Join(derived, "-")
	if len(k) > MaxIdempotencyKey {
		sum := sha256.Sum256([]byte(k))
		return "paymux-sha256-" + hex.EncodeToString(sum[:])
	}
	return k
}

// apiError is Toss's error body, also Payment.failure and CashReceipt.failure.
type apiError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// call makes one API call: body (nil: none) as JSON, the answer into out.
// Errors are *providers.Error: Toss's own code classified by CodeTable, or
// an outcome-unknown Timeout/Unavailable when no answer was read.
func (a *Adapter) call(ctx context.Context, ch providers.Channel, op, method, path, idemKey string, body, out any) error {
	var rd io.Reader
	var raw []byte
	if body != nil {
		var err error
		if raw, err = json.Marshal(body); err != nil {
			return &providers.Error{Kind: providers.KindInvalidRequest, Provider: Name, Op: op, Code: CodeBadRequestBody,
				Message: "the request could not be encoded", Err: err}
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.apiURL+path, rd)
	if err != nil {
		return &providers.Error{Kind: providers.KindInvalidRequest, Provider: Name, Op: op, Code: CodeBadRequestBody,
			Message: "the request could not be built", Err: err}
	}
	req.Header.Set("Authorization", basicAuth(ch.Secret(SecretSecretKey)))
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if idemKey != "" && method == http.MethodPost {
		req.Header.Set("Idempotency-Key", idemKey)
	}
	resp, err := a.client.Do(req)
	if err != nil {
		return transportError(ctx, op, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return transportError(ctx, op, err)
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		if out == nil || len(bytes.TrimSpace(b)) == 0 {
			return nil
		}
		if err := json.Unmarshal(b, out); err != nil {
			// Toss did it (2xx) but the answer cannot be read: unknown outcome.
			return &providers.Error{Kind: providers.KindUnknown, Provider: Name, Op: op, Code: CodeBadAnswer,
				Message: "the answer could not be read", Err: err}
		}
		return nil
	}
	var e apiError
	_ = json.Unmarshal(b, &e)
	return classify(op, resp.StatusCode, e.Code, e.Message)
}

// transportError classifies a call that got no answer: the request may have
// reached Toss, so the outcome is unknown.
func transportError(ctx context.Context, op string, err error) error {
	if cerr := ctx.Err(); cerr != nil {
		return providers.ContextError(Name, op, cerr)
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return &providers.Error{Kind: providers.KindTimeout, Provider: Name, Op: op, Message: "no answer from Toss Payments in time", Err: err}
	}
	return &providers.Error{Kind: providers.KindUnavailable, Provider: Name, Op: op, Message: "no answer from Toss Payments", Err: err}
}

// kst is the zone of Toss's timestamps; webhook createdAt carries no offset
// and is read in it.
var kst = time.FixedZone("KST", 9*60*60)

// parseTime reads Toss's timestamps: ISO 8601 with an offset
// ("2024-02-13T12:18:14+09:00"), or without one and with up to nine
// fraction digits ("2026-01-02T14:46:59.65327", KST). "" and unreadable
// values are the zero time.
func parseTime(s string) time.Time {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t
	}
	for _, l := range []string{"2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05.999999999", "2006-01-02"} {
		if t, err := time.ParseInLocation(l, s, kst); err == nil {
			return t
		}
	}
	return time.Time{}
}

// tossTime writes a time as Toss takes it: ISO 8601 in KST without a
// fraction.
func tossTime(t time.Time) string { return t.In(kst).Format("2006-01-02T15:04:05") }

func invalid(op, code, msg string) *providers.Error {
	return &providers.Error{Kind: providers.KindInvalidRequest, Provider: Name, Op: op, Code: code, Message: msg}
}
