package webhook

import (
	"fmt"
	"net/netip"
)

// BlockedAddressError is returned by CheckAddr, and (wrapped in *url.Error
// and *net.OpError) by requests of a NewClient client, for an address that
// webhooks may not connect to. Match it with errors.As.
type BlockedAddressError struct {
	Addr   netip.Addr
	Reason string // e.g. "loopback", "IPv4-mapped private (RFC 1918)"
}

func (e *BlockedAddressError) Error() string {
	return fmt.Sprintf("webhook: address %s is not allowed: %s", e.Addr, e.Reason)
}

// CheckAddr reports whether a webhook may connect to ip. It refuses every
// address that is not plainly public: loopback, private, link-local,
// unspecified, multicast, broadcast, shared (CGNAT), reserved, benchmarking
// and documentation ranges, cloud metadata addresses, and IPv6 addresses that
// carry one of those as an embedded IPv4 address (IPv4-mapped,
// IPv4-compatible, NAT64, 6to4). Teredo and local-use NAT64 are refused
// outright since what they reach cannot be told from the address alone.
//
// NewClient applies this check to every connection; call it directly to
// refuse literal-address URLs when an endpoint is saved.
func CheckAddr(ip netip.Addr) error {
	return checkAddr(ip, false)
}

// CheckAddrFor is the rule a client made with opts applies when it
// connects: CheckAddr, or with opts.AllowPrivate only the metadata
// addresses. Validate saved endpoints with it, so that what is accepted is
// what can be reached.
func CheckAddrFor(ip netip.Addr, opts ClientOptions) error {
	return checkAddr(ip, opts.AllowPrivate)
}

// checkAddr is CheckAddr with the development escape hatch. allowPrivate
// still refuses metadata addresses: no local setup needs them, and they are
// the most valuable SSRF target.
func checkAddr(ip netip.Addr, allowPrivate bool) error {
	if !ip.IsValid() {
		return &BlockedAddressError{Addr: ip, Reason: "invalid address"}
	}
	ip = ip.WithZone("") // the zone picks an interface; it does not change the range
	reason := metadataReason(ip)
	if reason == "" && !allowPrivate {
		reason = blockReason(ip)
	}
	if reason != "" {
		return &BlockedAddressError{Addr: ip, Reason: reason}
	}
	return nil
}

type addrRange struct {
	prefix netip.Prefix
	reason string
}

func mustRanges(pairs ...string) []addrRange {
	ranges := make([]addrRange, 0, len(pairs)/2)
	for i := 0; i < len(pairs); i += 2 {
		ranges = append(ranges, addrRange{netip.MustParsePrefix(pairs[i]), pairs[i+1]})
	}
	return ranges
}

// metadataRanges are cloud instance metadata services, refused even with
// AllowPrivate.
var metadataRanges = mustRanges(
	"169.254.169.254/32", "cloud metadata",
	"169.254.170.2/32", "cloud metadata (AWS ECS task)",
	"100.100.100.200/32", "cloud metadata (Alibaba Cloud)",
	"168.63.129.16/32", "cloud metadata (Azure WireServer)",
	"fd00:ec2::254/128", "cloud metadata (AWS IPv6)",
)

// ipv4Ranges come from the IANA IPv4 special-purpose registry. The more
// specific entries come first so their reason is reported.
var ipv4Ranges = mustRanges(
	"255.255.255.255/32", "broadcast",
	"0.0.0.0/8", "unspecified (\"this network\")",
	"10.0.0.0/8", "private (RFC 1918)",
	"100.64.0.0/10", "shared address space (CGNAT)",
	"127.0.0.0/8", "loopback",
	"169.254.0.0/16", "link-local",
	"172.16.0.0/12", "private (RFC 1918)",
	"192.0.0.0/24", "IETF protocol assignments",
	"192.0.2.0/24", "documentation (TEST-NET-1)",
	"192.88.99.0/24", "6to4 relay anycast",
	"192.168.0.0/16", "private (RFC 1918)",
	"198.18.0.0/15", "benchmarking",
	"198.51.100.0/24", "documentation (TEST-NET-2)",
	"203.0.113.0/24", "documentation (TEST-NET-3)",
	"224.0.0.0/4", "multicast",
	"240.0.0.0/4", "reserved",
)

// ipv6Ranges are refused outright. Anything outside 2000::/3 (global
// unicast) is refused as well, so this list only needs the ranges that
// deserve their own reason and the special ranges inside 2000::/3.
var ipv6Ranges = mustRanges(
	"::/128", "unspecified",
	"::1/128", "loopback",
	"::/96", "IPv4-compatible (deprecated)",
	"64:ff9b:1::/48", "local-use NAT64",
	"100::/64", "discard-only",
	"2001::/32", "Teredo",
	"2001:2::/48", "benchmarking",
	"2001::/23", "IETF protocol assignments",
	"2001:db8::/32", "documentation",
	"3fff::/20", "documentation",
	"fc00::/7", "unique local (private)",
	"fe80::/10", "link-local",
	"fec0::/10", "site-local (deprecated)",
	"ff00::/8", "multicast",
)

var (
	globalUnicast = netip.MustParsePrefix("2000::/3")
	nat64         = netip.MustParsePrefix("64:ff9b::/96")
	sixToFour     = netip.MustParsePrefix("2002::/16")
)

func lookup(ranges []addrRange, ip netip.Addr) string {
	for _, r := range ranges {
		if r.prefix.Contains(ip) {
			return r.reason
		}
	}
	return ""
}

func metadataReason(ip netip.Addr) string {
	if reason := lookup(metadataRanges, ip); reason != "" {
		return reason
	}
	if v4, kind, ok := embeddedIPv4(ip); ok {
		if reason := lookup(metadataRanges, v4); reason != "" {
			return kind + " " + reason
		}
	}
	return ""
}

// blockReason returns why ip is refused, or "" if it is public.
func blockReason(ip netip.Addr) string {
	if ip.Is4() {
		return lookup(ipv4Ranges, ip)
	}
	// An embedded IPv4 address is where the packets really go, so it is
	// judged by the IPv4 rules; a public one is fine.
	if v4, kind, ok := embeddedIPv4(ip); ok {
		if reason := lookup(ipv4Ranges, v4); reason != "" {
			return kind + " " + reason
		}
		return ""
	}
	if reason := lookup(ipv6Ranges, ip); reason != "" {
		return reason
	}
	if !globalUnicast.Contains(ip) {
		return "not global unicast"
	}
	return ""
}

// embeddedIPv4 returns the IPv4 address that an IPv6 address of a
// translation or tunnelling scheme delivers to. IPv4-compatible addresses are
// not included because ipv6Ranges refuses all of them.
func embeddedIPv4(ip netip.Addr) (v4 netip.Addr, kind string, ok bool) {
	if !ip.Is6() {
		return netip.Addr{}, "", false
	}
	b := ip.As16()
	switch {
	case ip.Is4In6():
		return ip.Unmap(), "IPv4-mapped", true
	case nat64.Contains(ip):
		return netip.AddrFrom4([4]byte(b[12:16])), "NAT64", true
	case sixToFour.Contains(ip):
		return netip.AddrFrom4([4]byte(b[2:6])), "6to4", true
	}
	return netip.Addr{}, "", false
}
