package iprule

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
)

func TestParseCIDR(t *testing.T) {
	tests := []struct {
		in      string
		want    string
		wantErr string
	}{
		{in: "10.0.0.0/8", want: "10.0.0.0/8"},
		{in: "10.1.2.3/8", want: "10.0.0.0/8"},
		{in: " 10.0.0.0/8", want: "10.0.0.0/8"},
		{in: "\t10.0.0.0/8 \n", want: "10.0.0.0/8"},
		{in: "192.168.1.7", want: "192.168.1.7/32"},
		{in: "0.0.0.0/0", want: "0.0.0.0/0"},
		{in: "1.2.3.4/32", want: "1.2.3.4/32"},
		{in: "2001:db8::/32", want: "2001:db8::/32"},
		{in: "2001:db8:1:2::/32", want: "2001:db8::/32"},
		{in: "2001:DB8::1", want: "2001:db8::1/128"},
		{in: "::/0", want: "::/0"},
		{in: "::ffff:10.0.0.0/104", want: "10.0.0.0/8"},
		{in: "::ffff:10.1.2.3/104", want: "10.0.0.0/8"},
		{in: "::ffff:1.2.3.4", want: "1.2.3.4/32"},
		{in: "::ffff:0:0/96", want: "0.0.0.0/0"},
		{in: "::ffff:0:0/80", want: "::/80"}, // wider than the mapped space: stays IPv6

		{in: "", wantErr: "empty"},
		{in: "   ", wantErr: "empty"},
		{in: "fe80::1%eth0", wantErr: "zones"},
		{in: "fe80::%eth0/64", wantErr: "zones"},
		{in: "10.0.0.0/33", wantErr: "bad prefix length"},
		{in: "2001:db8::/129", wantErr: "bad prefix length"},
		{in: "10.0.0.0/-1", wantErr: "bad prefix length"},
		{in: "10.0.0.0/+8", wantErr: "bad prefix length"},
		{in: "10.0.0.0/0008", wantErr: "bad prefix length"},
		{in: "/8", wantErr: "not an IP address"},
		{in: "10.0.0.0/08", wantErr: "bad prefix length"},
		{in: "10.0.0.0/", wantErr: "bad prefix length"},
		{in: "10.0.0.0/8/8", wantErr: "bad prefix length"},
		{in: "10.0.0.0/8 allow", wantErr: "bad prefix length"},
		{in: "10.0.0.0 /8", wantErr: "not an IP address"},
		{in: "10.0.0/8", wantErr: "not an IP address"},
		{in: "10.0.0.0.0", wantErr: "invalid CIDR"},
		{in: "example.com", wantErr: "not an IP address"},
		{in: "[::1]", wantErr: "invalid CIDR"},
		{in: "1.2.3.4:80", wantErr: "invalid CIDR"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseCIDR(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseCIDR(%q) = %v, %v; want error mentioning %q", tt.in, got, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.String() != tt.want {
				t.Errorf("ParseCIDR(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

func mustRules(t testing.TB, cidrs ...string) []Rule {
	t.Helper()
	rules := make([]Rule, len(cidrs))
	for i, c := range cidrs {
		p, err := ParseCIDR(c)
		if err != nil {
			t.Fatal(err)
		}
		rules[i] = Rule{ID: fmt.Sprintf("r%d", i), Prefix: p, Description: c}
	}
	return rules
}

func TestMatch(t *testing.T) {
	rules := mustRules(t, "10.0.0.0/8", "10.1.0.0/16", "192.168.1.5", "2001:db8::/32", "::1")
	tests := []struct {
		name   string
		rules  []Rule
		addr   string
		wantID string // "" means no rule matched
		wantOK bool
	}{
		{name: "no rules allows everything", rules: nil, addr: "203.0.113.1", wantOK: true},
		{name: "empty slice allows everything", rules: []Rule{}, addr: "2001:db8::1", wantOK: true},
		{name: "IPv4 match", rules: rules, addr: "10.200.0.1", wantID: "r0", wantOK: true},
		{name: "first rule wins", rules: rules, addr: "10.1.2.3", wantID: "r0", wantOK: true},
		{name: "single address", rules: rules, addr: "192.168.1.5", wantID: "r2", wantOK: true},
		{name: "single address neighbour", rules: rules, addr: "192.168.1.6"},
		{name: "IPv4 miss", rules: rules, addr: "11.0.0.1"},
		{name: "IPv6 match", rules: rules, addr: "2001:db8:ffff::1", wantID: "r3", wantOK: true},
		{name: "IPv6 loopback", rules: rules, addr: "::1", wantID: "r4", wantOK: true},
		{name: "IPv6 miss", rules: rules, addr: "2001:db9::1"},
		{name: "IPv6 zone ignored", rules: rules, addr: "2001:db8::1%eth0", wantID: "r3", wantOK: true},
		{name: "4-in-6 matched by IPv4 rule", rules: rules, addr: "::ffff:10.9.9.9", wantID: "r0", wantOK: true},
		{name: "4-in-6 miss", rules: rules, addr: "::ffff:11.0.0.1"},
		{name: "invalid address", rules: rules, addr: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var addr netip.Addr
			if tt.addr != "" {
				addr = netip.MustParseAddr(tt.addr)
			}
			matched, ok := Match(tt.rules, addr)
			if ok != tt.wantOK {
				t.Errorf("allowed = %v, want %v", ok, tt.wantOK)
			}
			gotID := ""
			if matched != nil {
				gotID = matched.ID
			}
			if gotID != tt.wantID {
				t.Errorf("matched rule = %q, want %q", gotID, tt.wantID)
			}
		})
	}
}

func TestMatchReturnsPointerIntoSlice(t *testing.T) {
	rules := mustRules(t, "10.0.0.0/8")
	matched, _ := Match(rules, netip.MustParseAddr("10.0.0.1"))
	if matched != &rules[0] {
		t.Error("Match returned a copy instead of the caller's rule")
	}
}

func FuzzParseCIDR(f *testing.F) {
	for _, s := range []string{
		"10.0.0.0/8", "10.1.2.3/8", " 10.0.0.0/8", "192.168.1.7", "2001:db8::/32", "::ffff:10.0.0.0/104",
		"::ffff:0:0/80", "::ffff:1.2.3.4", "fe80::1%eth0", "10.0.0.0/33", "10.0.0.0/08", "", "::/0", "1.2.3.4/32x",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParseCIDR(s)
		if err != nil {
			return
		}
		if !p.IsValid() || p != p.Masked() {
			t.Fatalf("ParseCIDR(%q) = %v: not a valid masked prefix", s, p)
		}
		if p.Addr().Is4In6() && p.Bits() >= 96 {
			t.Fatalf("ParseCIDR(%q) = %v: 4-in-6 range not turned into IPv4", s, p)
		}
		again, err := ParseCIDR(p.String())
		if err != nil || again != p {
			t.Fatalf("ParseCIDR(%q) = %v, but ParseCIDR(%q) = %v, %v", s, p, p.String(), again, err)
		}
	})
}

func BenchmarkMatch(b *testing.B) {
	cidrs := make([]string, 0, 20)
	for i := range 15 {
		cidrs = append(cidrs, fmt.Sprintf("10.%d.0.0/16", i))
	}
	for i := range 5 {
		cidrs = append(cidrs, fmt.Sprintf("2001:db8:%x::/48", i))
	}
	rules := mustRules(b, cidrs...)
	// A miss walks all 20 rules, the worst case for a linear scan.
	addrs := []netip.Addr{
		netip.MustParseAddr("10.0.0.1"),
		netip.MustParseAddr("::ffff:10.14.0.1"),
		netip.MustParseAddr("2001:db8:4::1"),
		netip.MustParseAddr("203.0.113.1"),
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		Match(rules, addrs[i%len(addrs)])
	}
}
