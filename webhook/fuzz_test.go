package webhook

import (
	"errors"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"
)

// FuzzVerify feeds arbitrary header values. Verify must not panic, must
// return one of its three errors, and must accept only when the header
// really contains the signature computed by the independent reference
// implementation: a random header never verifies. The clock follows the
// fuzzed timestamp when it parses, so that inputs reach signature parsing
// instead of stopping at the tolerance check (which the table tests cover).
func FuzzVerify(f *testing.F) {
	f.Add(vectorMsgID, "1614265330", vectorSignature, []byte(vectorBody))
	f.Add(vectorMsgID, "1614265330", "v1a,abc "+vectorSignature+" v2,x", []byte(vectorBody))
	f.Add("msg_1", "1614265330", "v1,AAAA", []byte("{}"))
	f.Add("msg.1", "0001614265330", "v1,", []byte(nil))
	f.Add("", "", "", []byte(nil))
	f.Add("m", "-1", ",,, v1,,v1 ,", []byte("x"))
	f.Add("m", "99999999999999999999", "v1,"+strings.Repeat("A", 44), []byte("x"))

	key := mustParseSecret(f, vectorSecret)
	f.Fuzz(func(t *testing.T, id, ts, sig string, body []byte) {
		now := time.Unix(vectorUnix, 0)
		if unix, err := parseUnixSeconds(ts); err == nil {
			now = time.Unix(unix, 0)
		}
		h := http.Header{}
		h.Set(HeaderID, id)
		h.Set(HeaderTimestamp, ts)
		h.Set(HeaderSignature, sig)
		err := Verify(key, h, body, now, 0)
		if err != nil {
			if !errors.Is(err, ErrMissingHeaders) && !errors.Is(err, ErrTimestamp) && !errors.Is(err, ErrSignature) {
				t.Fatalf("Verify error %v is none of the documented ones", err)
			}
			return
		}
		unix, perr := parseUnixSeconds(ts)
		if perr != nil {
			t.Fatalf("Verify accepted unparsable timestamp %q", ts)
		}
		want := referenceSignature(key, id, unix, body)
		if !strings.Contains(" "+strings.Join(strings.Fields(sig), " ")+" ", " "+want+" ") {
			t.Fatalf("Verify accepted signature header %q; the real signature is %q", sig, want)
		}
	})
}

// FuzzCheckAddr takes raw 4- or 16-byte addresses or address text. CheckAddr
// must not panic, and every IPv6 spelling of a refused IPv4 address must be
// refused too.
func FuzzCheckAddr(f *testing.F) {
	for _, s := range []string{"127.0.0.1", "10.0.0.1", "8.8.8.8", "169.254.169.254", "100.100.100.200", "0.0.0.0", "255.255.255.255", "::1", "::ffff:127.0.0.1", "64:ff9b::1.2.3.4", "2002:7f00:1::", "2001::1", "fe80::1%eth0", "fd00:ec2::254"} {
		f.Add([]byte(s))
	}
	f.Add([]byte{127, 0, 0, 1})
	f.Add([]byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 0, 0, 1})

	f.Fuzz(func(t *testing.T, raw []byte) {
		ip, ok := netip.AddrFromSlice(raw)
		if !ok {
			if ip, ok = parseAddr(string(raw)); !ok {
				return
			}
		}
		err := CheckAddr(ip)
		if err != nil {
			var blocked *BlockedAddressError
			if !errors.As(err, &blocked) || blocked.Reason == "" {
				t.Fatalf("CheckAddr(%s) = %v, want a *BlockedAddressError with a reason", ip, err)
			}
		}
		// Metadata is refused even with AllowPrivate, so that check can only
		// be stricter.
		if err == nil && checkAddr(ip, true) != nil {
			t.Fatalf("%s is allowed by CheckAddr but not with AllowPrivate", ip)
		}

		if !ip.Is4() {
			return
		}
		v4 := ip.As4()
		encodings := map[string]netip.Addr{
			"IPv4-mapped": netip.AddrFrom16([16]byte{10: 0xff, 11: 0xff, 12: v4[0], 13: v4[1], 14: v4[2], 15: v4[3]}),
			"NAT64":       netip.AddrFrom16([16]byte{0: 0x00, 1: 0x64, 2: 0xff, 3: 0x9b, 12: v4[0], 13: v4[1], 14: v4[2], 15: v4[3]}),
			"6to4":        netip.AddrFrom16([16]byte{0: 0x20, 1: 0x02, 2: v4[0], 3: v4[1], 4: v4[2], 5: v4[3], 15: 1}),
		}
		for kind, encoded := range encodings {
			// Same verdict both ways: a public IPv4 stays reachable through
			// these encodings, a refused one never is.
			if encErr := CheckAddr(encoded); (encErr == nil) != (err == nil) {
				t.Fatalf("CheckAddr(%s) = %v but CheckAddr(%s %s) = %v", ip, err, kind, encoded, encErr)
			}
			if (checkAddr(encoded, true) == nil) != (checkAddr(ip, true) == nil) {
				t.Fatalf("with AllowPrivate, %s and its %s form %s disagree", ip, kind, encoded)
			}
		}
		compat := netip.AddrFrom16([16]byte{12: v4[0], 13: v4[1], 14: v4[2], 15: v4[3]})
		if CheckAddr(compat) == nil {
			t.Fatalf("IPv4-compatible %s allowed", compat)
		}
	})
}

func parseAddr(s string) (netip.Addr, bool) {
	ip, err := netip.ParseAddr(s)
	return ip, err == nil
}

// FuzzParseRetryAfter checks that any header value gives a delay within
// bounds, or is ignored.
func FuzzParseRetryAfter(f *testing.F) {
	for _, s := range []string{"120", "0", "", "-1", "99999999999999999999", "Wed, 21 Oct 2015 07:28:00 GMT", "Wednesday, 21-Oct-15 07:28:00 GMT", "Wed Oct 21 07:28:00 2015", "Mon, 01 Jan 0001 00:00:00 GMT", "Fri, 31 Dec 9999 23:59:59 GMT"} {
		f.Add(s)
	}
	now := time.Date(2015, 10, 21, 7, 28, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, s string) {
		d, ok := ParseRetryAfter(s, now)
		if !ok && d != 0 {
			t.Fatalf("ParseRetryAfter(%q) = %v, false; want 0 when not ok", s, d)
		}
		if d < 0 || d > MaxDelay {
			t.Fatalf("ParseRetryAfter(%q) = %v, outside 0 to %v", s, d, MaxDelay)
		}
	})
}

// FuzzParseSchedule checks that accepted schedules are within bounds and
// survive a String round trip.
func FuzzParseSchedule(f *testing.F) {
	for _, s := range []string{"5s,5m,30m", DefaultSchedule.String(), "", ",", "-1s", "24h", "24h0m0.000000001s", "1h 2m", "0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sched, err := ParseSchedule(s)
		if err != nil {
			return
		}
		if len(sched) == 0 || len(sched) > maxScheduleEntries {
			t.Fatalf("ParseSchedule(%q) has %d entries", s, len(sched))
		}
		for _, d := range sched {
			if d < 0 || d > MaxDelay {
				t.Fatalf("ParseSchedule(%q) has entry %v", s, d)
			}
		}
		again, err := ParseSchedule(sched.String())
		if err != nil || again.String() != sched.String() {
			t.Fatalf("ParseSchedule(%q).String() = %q does not round-trip: %v, %v", s, sched.String(), again, err)
		}
	})
}
