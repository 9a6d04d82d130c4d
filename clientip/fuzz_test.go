package clientip

import (
	"net/netip"
	"strings"
	"testing"
)

func FuzzParsePeer(f *testing.F) {
	for _, s := range []string{"1.2.3.4:5678", "[::1]:80", "1.2.3.4", "::1", "[::ffff:1.2.3.4]:1", "[fe80::1%eth0]:80", "", "[", "]:", "[1.2.3.4]"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := ParsePeer(s)
		if err != nil {
			return
		}
		if !a.IsValid() || a.Zone() != "" || a.Is4In6() {
			t.Fatalf("ParsePeer(%q) = %v: want a valid, unmapped, zone-free address", s, a)
		}
		again, err := ParsePeer(a.String())
		if err != nil || again != a {
			t.Fatalf("ParsePeer(%q) = %v, but reparsing gives %v, %v", s, a, again, err)
		}
	})
}

// FuzzResolve feeds header values separated by "\n" so one input can stand
// for several X-Forwarded-For headers.
func FuzzResolve(f *testing.F) {
	f.Add("10.0.0.1", "1.1.1.1, 198.51.100.7", false)
	f.Add("203.0.113.9", "1.1.1.1", false)
	f.Add("127.0.0.1", "1.1.1.1, 10.0.0.7", true)
	f.Add("10.0.0.1", "1.1.1.1\n[2001:db8::7]:443, ::ffff:10.0.0.4", false)
	f.Add("::ffff:10.0.0.1", " , garbage,1.2.3.4:80", true)
	f.Add("fd00::1", "fe80::1%eth0, [fd00::2]", false)
	f.Add("", "", true)

	r := NewResolver(mustPrefixes(f, "10.0.0.0/8", "127.0.0.1", "fd00::/8", "::ffff:192.168.0.0/112"))
	f.Fuzz(func(t *testing.T, peerText, headers string, viaGateway bool) {
		peer, _ := netip.ParseAddr(peerText) // an invalid peer is a valid test too
		xff := strings.Split(headers, "\n")
		got := r.Resolve(peer, xff, viaGateway)

		if !got.IsValid() {
			return // unknown: fails closed
		}
		if r.IsTrusted(got) {
			t.Fatalf("Resolve(%v, %q, %v) = %v: a trusted proxy's address is never the client", peer, xff, viaGateway, got)
		}
		if got == peer.Unmap().WithZone("") {
			return
		}
		for _, entry := range splitForwardedFor(xff) {
			if a, err := parseHostMaybePort(entry); err == nil && a == got {
				return
			}
		}
		t.Fatalf("Resolve(%v, %q, %v) = %v: neither the peer nor an entry of the list", peer, xff, viaGateway, got)
	})
}
