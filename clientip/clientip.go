// Package clientip decides which address a request really came from.
//
// X-Forwarded-For is attacker-controlled text, so it is believed only as far as
// a chain of hops we trust vouches for it; everything else falls back to the
// TCP peer.
package clientip

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// Resolver decides the client address of a request. X-Forwarded-For is
// believed only when the immediate peer is a configured trusted proxy, or the
// request came through paymux's own in-process REST gateway hop (which appends
// the real peer's address to any X-Forwarded-For the REST client sent).
type Resolver struct {
	trusted []netip.Prefix
}

// NewResolver returns a Resolver that trusts the given proxy ranges. Prefixes
// are masked, and 4-in-6 prefixes are turned into IPv4 ones, because addresses
// are always unmapped before they are checked.
func NewResolver(trustedProxies []netip.Prefix) *Resolver {
	trusted := make([]netip.Prefix, 0, len(trustedProxies))
	for _, p := range trustedProxies {
		if !p.IsValid() {
			continue
		}
		trusted = append(trusted, normalizePrefix(p))
	}
	return &Resolver{trusted: trusted}
}

// ParseTrustedProxies parses CIDRs or bare addresses ("10.0.0.0/8",
// "127.0.0.1", "::1/128"). Surrounding spaces are ignored; empty entries and
// zones are refused. Errors name the bad entry.
func ParseTrustedProxies(entries []string) ([]netip.Prefix, error) {
	prefixes := make([]netip.Prefix, 0, len(entries))
	for i, raw := range entries {
		p, err := parseTrustedProxy(strings.TrimSpace(raw))
		if err != nil {
			return nil, fmt.Errorf("clientip: trusted proxy entry %d %q: %w", i, raw, err)
		}
		prefixes = append(prefixes, p)
	}
	return prefixes, nil
}

func parseTrustedProxy(s string) (netip.Prefix, error) {
	if s == "" {
		return netip.Prefix{}, errors.New("empty")
	}
	if strings.Contains(s, "%") {
		return netip.Prefix{}, errors.New("IPv6 zones are not allowed")
	}
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("not a CIDR: %w", err)
		}
		return normalizePrefix(p), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("not an IP address or CIDR: %w", err)
	}
	return normalizePrefix(netip.PrefixFrom(a, a.BitLen())), nil
}

// normalizePrefix masks p and rewrites a 4-in-6 range as the IPv4 range it
// covers, so it can contain the unmapped addresses we compare against.
func normalizePrefix(p netip.Prefix) netip.Prefix {
	p = p.Masked()
	if p.Addr().Is4In6() && p.Bits() >= 96 {
		return netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
	}
	return p
}

// ParsePeer parses a net.Addr-style string ("1.2.3.4:5678", "[::1]:80",
// "1.2.3.4", "::1") to an address, unmapping 4-in-6 (::ffff:1.2.3.4 ->
// 1.2.3.4) and dropping IPv6 zones.
func ParsePeer(remoteAddr string) (netip.Addr, error) {
	a, err := parseHostMaybePort(remoteAddr)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("clientip: parse peer address %q: %w", remoteAddr, err)
	}
	return a, nil
}

// parseHostMaybePort accepts an IP with or without a port: "1.2.3.4",
// "1.2.3.4:80", "::1", "[::1]", "[::1]:80". The result is unmapped and has
// no zone, so it compares equal to the same host written any other way.
func parseHostMaybePort(s string) (netip.Addr, error) {
	if s == "" {
		return netip.Addr{}, errors.New("empty")
	}
	var a netip.Addr
	switch {
	case strings.HasPrefix(s, "[") && strings.HasSuffix(s, "]"):
		inner, err := netip.ParseAddr(s[1 : len(s)-1])
		if err != nil {
			return netip.Addr{}, err
		}
		// Brackets are for IPv6 only, as in URLs and host:port strings.
		if !inner.Is6() {
			return netip.Addr{}, errors.New("square brackets can only be used with IPv6 addresses")
		}
		a = inner
	default:
		if plain, err := netip.ParseAddr(s); err == nil {
			a = plain
			break
		}
		ap, err := netip.ParseAddrPort(s)
		if err != nil {
			return netip.Addr{}, err
		}
		a = ap.Addr()
	}
	return a.Unmap().WithZone(""), nil
}

// IsTrusted reports whether a is inside one of the trusted proxy ranges.
func (r *Resolver) IsTrusted(a netip.Addr) bool {
	a = a.Unmap().WithZone("")
	for _, p := range r.trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// Resolve returns the client address. xff is every X-Forwarded-For header
// value in order (each may hold a comma-separated list).
//
// If viaGateway is false and peer is not trusted, peer is returned and xff is
// ignored: anyone can write that header. Otherwise the combined list is walked
// right to left: the rightmost entry is whoever talked to the trusted hop, and
// we keep stepping left only while the current address is itself a trusted
// proxy. The first untrusted address is the client.
//
// If the walk cannot get past the trusted hops (a malformed entry: not an IP
// or IP:port, or empty; or the list ends while the current address is still
// a trusted proxy), the client is unknown and the zero Addr is returned. It
// fails closed: no IP rule contains it. Returning the proxy's own address
// instead would let anyone who can garble the header borrow the proxy's.
// A valid result is always unmapped and zone-free.
func (r *Resolver) Resolve(peer netip.Addr, xff []string, viaGateway bool) netip.Addr {
	peer = peer.Unmap().WithZone("")
	if !viaGateway && !r.IsTrusted(peer) {
		return peer
	}
	entries := splitForwardedFor(xff)
	for i := len(entries) - 1; i >= 0; i-- {
		a, err := parseHostMaybePort(entries[i])
		if err != nil {
			return netip.Addr{}
		}
		if !r.IsTrusted(a) {
			return a
		}
	}
	return netip.Addr{}
}

// splitForwardedFor flattens header values into one list of trimmed entries.
// Empty entries are kept so that they stop the walk like any other garbage.
func splitForwardedFor(values []string) []string {
	var entries []string
	for _, v := range values {
		for entry := range strings.SplitSeq(v, ",") {
			entries = append(entries, strings.Trim(entry, " \t"))
		}
	}
	return entries
}

// Forwardable is an X-Forwarded-For value as a header (and gRPC metadata)
// can carry it on: bytes outside printable ASCII become '?'. Every entry a
// proxy appended is kept; dropping a bad value would make the proxy's own
// address the client's.
func Forwardable(v string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7e {
			return '?'
		}
		return r
	}, v)
}

// ForwardedFor is the X-Forwarded-For that a hop calling on for r sends:
// r's own values (Forwardable), then r's immediate peer, as a proxy
// appends it.
func ForwardedFor(r *http.Request) string {
	var entries []string
	for _, v := range r.Header.Values("X-Forwarded-For") {
		entries = append(entries, Forwardable(v))
	}
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		entries = append(entries, host)
	}
	return strings.Join(entries, ", ")
}
