package clientip

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
)

func mustPrefixes(t testing.TB, entries ...string) []netip.Prefix {
	t.Helper()
	p, err := ParseTrustedProxies(entries)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestParseTrustedProxies(t *testing.T) {
	tests := []struct {
		name    string
		entries []string
		want    []string
		wantErr string
	}{
		{name: "cidrs and bare addresses", entries: []string{"10.0.0.0/8", "127.0.0.1", "::1/128", "2001:db8::1"},
			want: []string{"10.0.0.0/8", "127.0.0.1/32", "::1/128", "2001:db8::1/128"}},
		{name: "masked", entries: []string{"10.1.2.3/8"}, want: []string{"10.0.0.0/8"}},
		{name: "spaces trimmed", entries: []string{" 192.168.0.0/16 "}, want: []string{"192.168.0.0/16"}},
		{name: "4-in-6 becomes IPv4", entries: []string{"::ffff:10.0.0.0/104", "::ffff:1.2.3.4"},
			want: []string{"10.0.0.0/8", "1.2.3.4/32"}},
		{name: "none", entries: nil, want: []string{}},
		{name: "empty entry", entries: []string{"10.0.0.0/8", ""}, wantErr: `entry 1 ""`},
		{name: "garbage", entries: []string{"proxy.internal"}, wantErr: `"proxy.internal"`},
		{name: "bad prefix length", entries: []string{"10.0.0.0/33"}, wantErr: `"10.0.0.0/33"`},
		{name: "zone", entries: []string{"fe80::1%eth0"}, wantErr: "zones"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseTrustedProxies(tt.entries)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want it to mention %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
			for i := range got {
				if got[i].String() != tt.want[i] {
					t.Errorf("entry %d = %v, want %v", i, got[i], tt.want[i])
				}
			}
		})
	}
}

func TestParsePeer(t *testing.T) {
	tests := []struct {
		in      string
		want    string
		wantErr bool
	}{
		{in: "1.2.3.4:5678", want: "1.2.3.4"},
		{in: "[::1]:80", want: "::1"},
		{in: "1.2.3.4", want: "1.2.3.4"},
		{in: "::1", want: "::1"},
		{in: "[::1]", want: "::1"},
		{in: "[::ffff:1.2.3.4]:443", want: "1.2.3.4"},
		{in: "::ffff:1.2.3.4", want: "1.2.3.4"},
		{in: "[fe80::1%eth0]:80", want: "fe80::1"},
		{in: "fe80::1%eth0", want: "fe80::1"},
		{in: "", wantErr: true},
		{in: "localhost:80", wantErr: true},
		{in: "1.2.3.4:", wantErr: true},
		{in: "1.2.3.4:99999", wantErr: true},
		{in: "[1.2.3.4]:80", wantErr: true},
		{in: "[1.2.3.4]", wantErr: true},
		{in: "@", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParsePeer(tt.in)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("ParsePeer(%q) = %v, want error", tt.in, got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.String() != tt.want {
				t.Errorf("ParsePeer(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

func TestIsTrusted(t *testing.T) {
	r := NewResolver(mustPrefixes(t, "10.0.0.0/8", "::1"))
	tests := []struct {
		addr string
		want bool
	}{
		{"10.1.2.3", true},
		{"::ffff:10.1.2.3", true},
		{"11.0.0.1", false},
		{"::1", true},
		{"::2", false},
	}
	for _, tt := range tests {
		if got := r.IsTrusted(netip.MustParseAddr(tt.addr)); got != tt.want {
			t.Errorf("IsTrusted(%s) = %v, want %v", tt.addr, got, tt.want)
		}
	}
	// Prefixes handed straight to NewResolver get the same treatment.
	mapped := NewResolver([]netip.Prefix{netip.MustParsePrefix("::ffff:192.168.0.0/112")})
	if !mapped.IsTrusted(netip.MustParseAddr("192.168.3.4")) {
		t.Error("4-in-6 prefix passed to NewResolver does not contain its IPv4 address")
	}
	if NewResolver(nil).IsTrusted(netip.MustParseAddr("127.0.0.1")) {
		t.Error("a resolver with no proxies trusts something")
	}
}

func TestResolve(t *testing.T) {
	r := NewResolver(mustPrefixes(t, "10.0.0.0/8", "192.168.1.1", "fd00::/8", "127.0.0.1", "::1"))
	tests := []struct {
		name       string
		peer       string
		xff        []string
		viaGateway bool
		want       string
	}{
		{name: "no xff", peer: "203.0.113.9", want: "203.0.113.9"},
		{name: "untrusted peer with spoofed xff", peer: "203.0.113.9", xff: []string{"1.1.1.1"}, want: "203.0.113.9"},
		{name: "untrusted peer with trusted-looking xff", peer: "203.0.113.9", xff: []string{"10.0.0.1"}, want: "203.0.113.9"},
		{name: "garbled before a proxy's entry: unknown, never the proxy", peer: "10.0.0.1", xff: []string{"\xff, 203.0.113.7"}, want: "203.0.113.7"},
		{name: "trusted peer, empty list: unknown", peer: "10.0.0.1", want: "invalid IP"},
		{name: "trusted peer, one entry", peer: "10.0.0.1", xff: []string{"198.51.100.7"}, want: "198.51.100.7"},
		{name: "trusted peer takes rightmost untrusted", peer: "10.0.0.1", xff: []string{"1.1.1.1, 198.51.100.7"}, want: "198.51.100.7"},
		{name: "chain of trusted proxies", peer: "10.0.0.1", xff: []string{"1.1.1.1, 198.51.100.7, 192.168.1.1, 10.0.0.2"}, want: "198.51.100.7"},
		{name: "all trusted: unknown", peer: "10.0.0.1", xff: []string{"10.0.0.3, 10.0.0.2"}, want: "invalid IP"},
		{name: "multiple header values", peer: "10.0.0.1", xff: []string{"1.1.1.1", "198.51.100.7, 10.0.0.5", "10.0.0.2"}, want: "198.51.100.7"},
		{name: "spaces and tabs", peer: "10.0.0.1", xff: []string{"  1.1.1.1 ,\t198.51.100.7  "}, want: "198.51.100.7"},

		{name: "gateway, no client xff", peer: "127.0.0.1", xff: []string{"198.51.100.7"}, viaGateway: true, want: "198.51.100.7"},
		{name: "gateway, untrusted in-process peer still honoured", peer: "203.0.113.50", xff: []string{"198.51.100.7"}, viaGateway: true, want: "198.51.100.7"},
		{name: "gateway, spoofed client entries ignored", peer: "127.0.0.1", xff: []string{"1.1.1.1, 2.2.2.2, 198.51.100.7"}, viaGateway: true, want: "198.51.100.7"},
		{name: "gateway, spoofed trusted-looking entry ignored", peer: "127.0.0.1", xff: []string{"10.9.9.9, 198.51.100.7"}, viaGateway: true, want: "198.51.100.7"},
		{name: "gateway, real peer is a trusted proxy", peer: "127.0.0.1", xff: []string{"1.1.1.1, 10.0.0.7"}, viaGateway: true, want: "1.1.1.1"},
		{name: "gateway, separate header values", peer: "127.0.0.1", xff: []string{"1.1.1.1", "198.51.100.7"}, viaGateway: true, want: "198.51.100.7"},
		{name: "gateway, empty list: unknown", peer: "127.0.0.1", viaGateway: true, want: "invalid IP"},

		{name: "malformed rightmost: unknown, never the proxy", peer: "10.0.0.1", xff: []string{"1.1.1.1, unknown"}, want: "invalid IP"},
		{name: "malformed after trusted: unknown", peer: "10.0.0.1", xff: []string{"garbage, 10.0.0.9"}, want: "invalid IP"},
		{name: "empty entry stops walk: unknown", peer: "10.0.0.1", xff: []string{"1.1.1.1, , 10.0.0.9"}, want: "invalid IP"},
		{name: "trailing comma: unknown", peer: "10.0.0.1", xff: []string{"1.1.1.1,"}, want: "invalid IP"},
		{name: "empty header value: unknown", peer: "10.0.0.1", xff: []string{""}, want: "invalid IP"},
		{name: "hostname: unknown", peer: "10.0.0.1", xff: []string{"evil.example"}, want: "invalid IP"},
		{name: "bad port: unknown", peer: "10.0.0.1", xff: []string{"1.1.1.1:99999"}, want: "invalid IP"},
		{name: "bracketed IPv4: unknown", peer: "10.0.0.1", xff: []string{"[1.1.1.1]"}, want: "invalid IP"},

		{name: "IPv4 with port", peer: "10.0.0.1", xff: []string{"198.51.100.7:4711"}, want: "198.51.100.7"},
		{name: "IPv6 entry", peer: "10.0.0.1", xff: []string{"2001:db8::7"}, want: "2001:db8::7"},
		{name: "IPv6 bracketed", peer: "10.0.0.1", xff: []string{"[2001:db8::7]"}, want: "2001:db8::7"},
		{name: "IPv6 bracketed with port", peer: "10.0.0.1", xff: []string{"[2001:db8::7]:443"}, want: "2001:db8::7"},
		{name: "IPv6 trusted peer and proxy", peer: "fd00::1", xff: []string{"2001:db8::7, fd12::3"}, want: "2001:db8::7"},
		{name: "IPv6 untrusted peer", peer: "2001:db8::1", xff: []string{"2001:db8::7"}, want: "2001:db8::1"},
		{name: "IPv6 zone dropped", peer: "10.0.0.1", xff: []string{"fe80::1%eth0"}, want: "fe80::1"},

		{name: "4-in-6 entry unmapped", peer: "10.0.0.1", xff: []string{"::ffff:198.51.100.7"}, want: "198.51.100.7"},
		{name: "4-in-6 trusted proxy entry", peer: "10.0.0.1", xff: []string{"198.51.100.7, [::ffff:10.0.0.4]:80"}, want: "198.51.100.7"},
		{name: "4-in-6 trusted peer", peer: "::ffff:10.0.0.1", xff: []string{"198.51.100.7"}, want: "198.51.100.7"},
		{name: "4-in-6 untrusted peer unmapped", peer: "::ffff:203.0.113.9", xff: []string{"1.1.1.1"}, want: "203.0.113.9"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := r.Resolve(netip.MustParseAddr(tt.peer), tt.xff, tt.viaGateway)
			if got.String() != tt.want {
				t.Errorf("Resolve(%s, %q, %v) = %v, want %v", tt.peer, tt.xff, tt.viaGateway, got, tt.want)
			}
		})
	}
}

func TestForwardedFor(t *testing.T) {
	cases := []struct {
		name   string
		xff    []string
		remote string
		want   string
	}{
		{"no header", nil, "203.0.113.7:5000", "203.0.113.7"},
		{"a proxy's chain, then the peer", []string{"198.51.100.1, 10.0.0.2", "10.0.0.3"}, "10.0.0.4:443", "198.51.100.1, 10.0.0.2, 10.0.0.3, 10.0.0.4"},
		{"bad bytes masked, entry kept", []string{"1.2.3.4\x01, 홍"}, "[2001:db8::1]:80", "1.2.3.4?, ?, 2001:db8::1"},
		{"no usable peer", []string{"198.51.100.1"}, "pipe", "198.51.100.1"},
	}
	for _, c := range cases {
		r := httptest.NewRequest(http.MethodPost, "/", nil)
		r.RemoteAddr = c.remote
		for _, v := range c.xff {
			r.Header.Add("X-Forwarded-For", v)
		}
		if got := ForwardedFor(r); got != c.want {
			t.Errorf("%s: ForwardedFor = %q, want %q", c.name, got, c.want)
		}
	}
}
