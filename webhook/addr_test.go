package webhook

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
)

func TestCheckAddr(t *testing.T) {
	tests := []struct {
		addr       string
		wantReason string // "" means allowed
	}{
		// Public addresses.
		{"8.8.8.8", ""},
		{"1.1.1.1", ""},
		{"211.234.0.1", ""},
		{"100.63.255.255", ""}, // just below CGNAT
		{"100.128.0.0", ""},    // just above CGNAT
		{"172.15.255.255", ""},
		{"172.32.0.0", ""},
		{"169.253.255.255", ""},
		{"2001:4860:4860::8888", ""},
		{"2606:4700:4700::1111", ""},
		{"2404:6800:4004:80a::200e", ""},

		// IPv4 special ranges.
		{"0.0.0.0", "unspecified"},
		{"0.1.2.3", "unspecified"},
		{"127.0.0.1", "loopback"},
		{"127.255.255.254", "loopback"},
		{"10.0.0.1", "private"},
		{"172.16.0.1", "private"},
		{"172.31.255.255", "private"},
		{"192.168.1.1", "private"},
		{"169.254.1.1", "link-local"},
		{"100.64.0.1", "CGNAT"},
		{"100.127.255.255", "CGNAT"},
		{"192.0.0.8", "IETF protocol"},
		{"192.0.0.192", "IETF protocol"}, // Oracle Cloud metadata
		{"192.0.2.1", "documentation"},
		{"198.51.100.1", "documentation"},
		{"203.0.113.1", "documentation"},
		{"198.18.0.1", "benchmarking"},
		{"198.19.255.255", "benchmarking"},
		{"192.88.99.1", "6to4 relay"},
		{"224.0.0.1", "multicast"},
		{"239.255.255.250", "multicast"},
		{"240.0.0.1", "reserved"},
		{"255.255.255.255", "broadcast"},

		// Cloud metadata.
		{"169.254.169.254", "cloud metadata"},
		{"169.254.170.2", "cloud metadata"},
		{"100.100.100.200", "cloud metadata"},
		{"168.63.129.16", "cloud metadata"},
		{"fd00:ec2::254", "cloud metadata"},

		// IPv6 special ranges.
		{"::", "unspecified"},
		{"::1", "loopback"},
		{"fe80::1", "link-local"},
		{"fe80::1%eth0", "link-local"},
		{"febf:ffff::1", "link-local"},
		{"fec0::1", "site-local"},
		{"fc00::1", "unique local"},
		{"fd12:3456:789a::1", "unique local"},
		{"ff02::1", "multicast"},
		{"ff0e::1", "multicast"},
		{"100::1", "discard-only"},
		{"2001:db8::1", "documentation"},
		{"3fff::1", "documentation"},
		{"2001:2::1", "benchmarking"},
		{"2001:20::1", "IETF protocol"}, // ORCHIDv2
		{"4000::1", "not global unicast"},
		{"::2:1", "IPv4-compatible"},

		// IPv4-mapped.
		{"::ffff:127.0.0.1", "IPv4-mapped loopback"},
		{"::ffff:7f00:1", "IPv4-mapped loopback"},
		{"::ffff:10.1.2.3", "IPv4-mapped private"},
		{"::ffff:169.254.169.254", "IPv4-mapped cloud metadata"},
		{"::ffff:0.0.0.0", "IPv4-mapped unspecified"},
		{"::ffff:8.8.8.8", ""},

		// IPv4-compatible (deprecated): refused whatever the IPv4 part.
		{"::127.0.0.1", "IPv4-compatible"},
		{"::10.0.0.1", "IPv4-compatible"},
		{"::8.8.8.8", "IPv4-compatible"},

		// NAT64 well-known prefix: judged by the embedded address.
		{"64:ff9b::127.0.0.1", "NAT64 loopback"},
		{"64:ff9b::a9fe:a9fe", "NAT64 cloud metadata"},
		{"64:ff9b::192.168.0.1", "NAT64 private"},
		{"64:ff9b::8.8.8.8", ""},
		// Local-use NAT64: the mapping is site-specific, so always refused.
		{"64:ff9b:1::8.8.8.8", "local-use NAT64"},
		{"64:ff9b:1:ffff::1", "local-use NAT64"},

		// 6to4: the IPv4 address is in bits 16-47.
		{"2002:7f00:1::1", "6to4 loopback"},
		{"2002:a00:1::", "6to4 private"},
		{"2002:a9fe:a9fe::1", "6to4 cloud metadata"},
		{"2002:808:808::1", ""},

		// Teredo hides the client address (inverted), so it is refused.
		{"2001:0:4136:e378:8000:63bf:3fff:fdd2", "Teredo"},
		{"2001::1", "Teredo"},
	}
	for _, tt := range tests {
		t.Run(tt.addr, func(t *testing.T) {
			ip := netip.MustParseAddr(tt.addr)
			err := CheckAddr(ip)
			if tt.wantReason == "" {
				if err != nil {
					t.Fatalf("CheckAddr(%s) = %v, want allowed", ip, err)
				}
				return
			}
			var blocked *BlockedAddressError
			if !errors.As(err, &blocked) {
				t.Fatalf("CheckAddr(%s) = %v, want *BlockedAddressError", ip, err)
			}
			if !strings.Contains(blocked.Reason, tt.wantReason) {
				t.Errorf("CheckAddr(%s) reason = %q, want it to mention %q", ip, blocked.Reason, tt.wantReason)
			}
			if blocked.Addr.Zone() != "" || blocked.Addr != ip.WithZone("") {
				t.Errorf("BlockedAddressError.Addr = %v, want %v without zone", blocked.Addr, ip)
			}
		})
	}
}

func TestCheckAddrInvalid(t *testing.T) {
	var blocked *BlockedAddressError
	if err := CheckAddr(netip.Addr{}); !errors.As(err, &blocked) {
		t.Fatalf("CheckAddr(zero Addr) = %v, want *BlockedAddressError", err)
	}
}

func TestCheckAddrAllowPrivate(t *testing.T) {
	tests := []struct {
		addr    string
		blocked bool
	}{
		{"127.0.0.1", false},
		{"::1", false},
		{"10.0.0.1", false},
		{"192.168.0.10", false},
		{"fd12::1", false},
		{"8.8.8.8", false},
		// Metadata stays refused in every encoding.
		{"169.254.169.254", true},
		{"::ffff:169.254.169.254", true},
		{"64:ff9b::169.254.169.254", true},
		{"2002:a9fe:a9fe::", true},
		{"fd00:ec2::254", true},
		{"100.100.100.200", true},
		{"168.63.129.16", true},
	}
	for _, tt := range tests {
		err := checkAddr(netip.MustParseAddr(tt.addr), true)
		if blocked := err != nil; blocked != tt.blocked {
			t.Errorf("checkAddr(%s, allowPrivate) = %v, want blocked=%v", tt.addr, err, tt.blocked)
		}
	}
}

func TestBlockedAddressErrorMessage(t *testing.T) {
	err := CheckAddr(netip.MustParseAddr("::ffff:10.0.0.1"))
	want := "webhook: address ::ffff:10.0.0.1 is not allowed: IPv4-mapped private (RFC 1918)"
	if err == nil || err.Error() != want {
		t.Errorf("error = %v, want %q", err, want)
	}
}
