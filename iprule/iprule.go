// Package iprule parses CIDR ranges and matches addresses against IP rules.
package iprule

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
)

// ParseCIDR parses an IPv4 or IPv6 range for an IP rule. Surrounding
// whitespace is trimmed (" 10.0.0.0/8 " is accepted) because rules are often
// pasted from lists. A bare address is a one-address range (/32 or /128).
// The result is masked ("10.1.2.3/8" -> 10.0.0.0/8). 4-in-6 forms
// (::ffff:10.0.0.0/104) become the IPv4 range, because Match unmaps the
// addresses it checks. Refused with an error: empty input, zones
// ("fe80::1%eth0"), bad prefix lengths, and anything with extra text.
func ParseCIDR(s string) (netip.Prefix, error) {
	p, err := parseCIDR(strings.TrimSpace(s))
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("iprule: invalid CIDR %q: %w", s, err)
	}
	return p, nil
}

func parseCIDR(s string) (netip.Prefix, error) {
	if s == "" {
		return netip.Prefix{}, errors.New("empty")
	}
	// Checked up front so the message is clear for bare addresses too;
	// a zone names a link on one host and means nothing in a shared rule.
	if strings.Contains(s, "%") {
		return netip.Prefix{}, errors.New("IPv6 zones are not allowed")
	}
	addrText, bitsText, hasBits := strings.Cut(s, "/")
	a, err := netip.ParseAddr(addrText)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("not an IP address: %w", err)
	}
	bits := a.BitLen()
	if hasBits {
		bits, err = parsePrefixLength(bitsText, a.BitLen())
		if err != nil {
			return netip.Prefix{}, err
		}
	}
	p := netip.PrefixFrom(a, bits).Masked()
	if p.Addr().Is4In6() && p.Bits() >= 96 {
		p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
	}
	return p, nil
}

// parsePrefixLength accepts only plain decimal lengths ("8", not "+8" or
// "08") so that every accepted rule has a single spelling.
func parsePrefixLength(s string, maxBits int) (int, error) {
	valid := s != "" && len(s) <= 3 && (len(s) == 1 || s[0] != '0')
	n := 0
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			valid = false
			break
		}
		n = n*10 + int(c-'0')
	}
	if !valid || n > maxBits {
		return 0, fmt.Errorf("bad prefix length %q: want 0-%d", s, maxBits)
	}
	return n, nil
}

// Rule allows the addresses in Prefix.
type Rule struct {
	ID          string
	Prefix      netip.Prefix
	Description string
}

// Match reports the first rule (in slice order) containing addr. addr is
// unmapped and its zone dropped first, so ::ffff:10.0.0.1 matches 10.0.0.0/8.
// With no rules, every address is allowed: allowed=true, matched=nil.
// Otherwise allowed is true exactly when a rule matched.
func Match(rules []Rule, addr netip.Addr) (matched *Rule, allowed bool) {
	if len(rules) == 0 {
		return nil, true
	}
	addr = addr.Unmap().WithZone("")
	for i := range rules {
		if rules[i].Prefix.Contains(addr) {
			return &rules[i], true
		}
	}
	return nil, false
}
