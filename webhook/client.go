package webhook

import (
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/netip"
	"syscall"
	"time"
)

const (
	// DefaultTimeout bounds one delivery attempt, from dialing to the end of
	// the response body.
	DefaultTimeout = 10 * time.Second

	// DefaultMaxResponseBytes is how much of a response body is kept for the
	// delivery log; receivers only need to answer 2xx.
	DefaultMaxResponseBytes int64 = 64 << 10

	// maxResponseHeaderBytes bounds what a hostile endpoint can make paymux
	// buffer before the body limit applies (net/http's default is 1 MiB).
	maxResponseHeaderBytes = 64 << 10
)

// ClientOptions configures NewClient. The zero value is the production
// setting.
type ClientOptions struct {
	// AllowPrivate lets webhooks reach loopback, private and other
	// non-public addresses, for local development only. Cloud metadata
	// addresses stay refused.
	AllowPrivate bool

	// Timeout bounds each attempt (DefaultTimeout when <= 0).
	Timeout time.Duration

	// MaxResponseBytes is how much of a response body callers should keep
	// (DefaultMaxResponseBytes when <= 0). The client does not enforce it:
	// read bodies with ReadLimited(resp.Body, opts.ResponseLimit()).
	MaxResponseBytes int64
}

// ResponseLimit returns MaxResponseBytes, or DefaultMaxResponseBytes when it
// is unset.
func (o ClientOptions) ResponseLimit() int64 {
	if o.MaxResponseBytes <= 0 {
		return DefaultMaxResponseBytes
	}
	return o.MaxResponseBytes
}

func (o ClientOptions) timeout() time.Duration {
	if o.Timeout <= 0 {
		return DefaultTimeout
	}
	return o.Timeout
}

// NewClient returns an HTTP client for delivering webhooks to
// merchant-supplied URLs:
//
//   - Every connection's address is checked with CheckAddr (unless
//     AllowPrivate) when the socket connects, after DNS resolution, so a
//     hostname resolving or rebinding to an internal address is refused.
//     The request then fails with an error that errors.As matches to
//     *BlockedAddressError.
//   - Redirects are returned as the response, not followed: a 3xx is a
//     failed delivery, and following it would let a public URL bounce the
//     request inward.
//   - HTTP_PROXY and friends are ignored, since a proxy would make the
//     connection the check sees the proxy's, not the target's.
//
// The client is safe for concurrent use and should be shared, so that
// connections are reused.
func NewClient(opts ClientOptions) *http.Client {
	return newClient(opts, nil)
}

// newClient lets tests resolve hostnames with their own DNS server.
func newClient(opts ClientOptions, resolver *net.Resolver) *http.Client {
	timeout := opts.timeout()
	dialer := &net.Dialer{
		Timeout:   timeout,
		KeepAlive: 30 * time.Second,
		Resolver:  resolver,
		Control:   dialControl(opts.AllowPrivate),
	}
	transport := &http.Transport{
		Proxy:                  nil,
		DialContext:            dialer.DialContext,
		ForceAttemptHTTP2:      true, // a custom DialContext turns HTTP/2 off otherwise
		TLSHandshakeTimeout:    timeout,
		ResponseHeaderTimeout:  timeout,
		ExpectContinueTimeout:  time.Second,
		MaxIdleConns:           100,
		IdleConnTimeout:        90 * time.Second,
		MaxResponseHeaderBytes: maxResponseHeaderBytes,
	}
	return &http.Client{
		Transport: transport,
		Timeout:   timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// dialControl runs after DNS, just before each connect(2), with the literal
// address being connected to: the one place where DNS rebinding cannot
// interfere.
func dialControl(allowPrivate bool) func(network, address string, _ syscall.RawConn) error {
	return func(network, address string, _ syscall.RawConn) error {
		if network != "tcp4" && network != "tcp6" {
			return fmt.Errorf("webhook: refusing to dial network %q", network)
		}
		addrPort, err := netip.ParseAddrPort(address)
		if err != nil {
			return fmt.Errorf("webhook: parse dial address %q: %w", address, err)
		}
		return checkAddr(addrPort.Addr(), allowPrivate)
	}
}

// ReadLimited reads at most n bytes of r. truncated reports that r had more;
// the rest is left unread (so a huge or endless body costs nothing). On a
// read error it returns what was read so far, which is still worth logging.
func ReadLimited(r io.Reader, n int64) (body []byte, truncated bool, err error) {
	n = max(n, 0)
	// One byte more than the limit tells "exactly n" from "more than n".
	body, err = io.ReadAll(io.LimitReader(r, min(n, math.MaxInt64-1)+1))
	if int64(len(body)) > n {
		body, truncated = body[:n], true
	}
	if err != nil {
		return body, truncated, fmt.Errorf("webhook: read response body: %w", err)
	}
	return body, truncated, nil
}
