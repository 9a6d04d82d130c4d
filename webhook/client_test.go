package webhook

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"testing/iotest"
	"time"
)

func newTestServer(t *testing.T) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok")
	}))
	t.Cleanup(srv.Close)
	return srv
}

// wantBlocked fails unless err carries a *BlockedAddressError through the
// *url.Error and *net.OpError wrapping.
func wantBlocked(t *testing.T, err error) *BlockedAddressError {
	t.Helper()
	var blocked *BlockedAddressError
	if !errors.As(err, &blocked) {
		t.Fatalf("request error = %v, want a *BlockedAddressError", err)
	}
	return blocked
}

func get(t *testing.T, client *http.Client, url string) (*http.Response, error) {
	t.Helper()
	resp, err := client.Get(url)
	if err == nil {
		t.Cleanup(func() { resp.Body.Close() })
	}
	return resp, err
}

func TestClientRefusesLoopbackByDefault(t *testing.T) {
	srv := newTestServer(t)
	_, err := get(t, NewClient(ClientOptions{}), srv.URL)
	blocked := wantBlocked(t, err)
	if blocked.Addr != netip.MustParseAddr("127.0.0.1") || blocked.Reason != "loopback" {
		t.Errorf("blocked = %+v, want 127.0.0.1 loopback", blocked)
	}
}

func TestClientAllowPrivateReachesLoopback(t *testing.T) {
	srv := newTestServer(t)
	resp, err := get(t, NewClient(ClientOptions{AllowPrivate: true}), srv.URL)
	if err != nil {
		t.Fatalf("GET with AllowPrivate: %v", err)
	}
	body, _, _ := ReadLimited(resp.Body, 100)
	if resp.StatusCode != http.StatusOK || string(body) != "ok" {
		t.Errorf("got %d %q, want 200 \"ok\"", resp.StatusCode, body)
	}
}

func TestClientRefusesLocalhostName(t *testing.T) {
	srv := newTestServer(t)
	url := strings.Replace(srv.URL, "127.0.0.1", "localhost", 1)
	_, err := get(t, NewClient(ClientOptions{}), url)
	blocked := wantBlocked(t, err)
	if !blocked.Addr.IsLoopback() {
		t.Errorf("blocked address %v, want a loopback address", blocked.Addr)
	}
}

func TestClientChecksAfterDNS(t *testing.T) {
	srv := newTestServer(t)
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	// A public-looking name whose DNS answer is loopback, as with DNS
	// rebinding: only a check on the connected address catches it.
	url := "http://hooks.merchant.test:" + port + "/"
	resolver := fakeDNS(t, netip.MustParseAddr("127.0.0.1"))

	_, err := get(t, newClient(ClientOptions{}, resolver), url)
	blocked := wantBlocked(t, err)
	if blocked.Addr != netip.MustParseAddr("127.0.0.1") {
		t.Errorf("blocked address %v, want 127.0.0.1", blocked.Addr)
	}

	// The same name does connect when private addresses are allowed, which
	// shows the fake resolver was the one used.
	resp, err := get(t, newClient(ClientOptions{AllowPrivate: true}, resolver), url)
	if err != nil {
		t.Fatalf("GET with AllowPrivate: %v", err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Errorf("status %d, want 200", resp.StatusCode)
	}
}

func TestClientDoesNotFollowRedirects(t *testing.T) {
	var targetHits atomic.Int32
	mux := http.NewServeMux()
	mux.HandleFunc("/hook", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/elsewhere", http.StatusFound)
	})
	mux.HandleFunc("/elsewhere", func(w http.ResponseWriter, r *http.Request) {
		targetHits.Add(1)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	resp, err := get(t, NewClient(ClientOptions{AllowPrivate: true}), srv.URL+"/hook")
	if err != nil {
		t.Fatalf("GET: %v", err)
	}
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/elsewhere" {
		t.Errorf("got %d Location=%q, want the 302 itself", resp.StatusCode, resp.Header.Get("Location"))
	}
	if n := targetHits.Load(); n != 0 {
		t.Errorf("redirect target was requested %d times", n)
	}
}

func TestClientSettings(t *testing.T) {
	client := NewClient(ClientOptions{})
	if client.Timeout != DefaultTimeout {
		t.Errorf("Timeout = %v, want %v", client.Timeout, DefaultTimeout)
	}
	transport, ok := client.Transport.(*http.Transport)
	if !ok {
		t.Fatalf("Transport is %T, want *http.Transport", client.Transport)
	}
	// A proxy from HTTP_PROXY would be the address the dial check sees.
	if transport.Proxy != nil {
		t.Error("Transport.Proxy is set, want nil")
	}
	if got := NewClient(ClientOptions{Timeout: 3 * time.Second}).Timeout; got != 3*time.Second {
		t.Errorf("Timeout with option = %v, want 3s", got)
	}

	if got := (ClientOptions{}).ResponseLimit(); got != DefaultMaxResponseBytes {
		t.Errorf("default ResponseLimit = %d, want %d", got, DefaultMaxResponseBytes)
	}
	if got := (ClientOptions{MaxResponseBytes: 10}).ResponseLimit(); got != 10 {
		t.Errorf("ResponseLimit = %d, want 10", got)
	}
}

func TestClientTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-release
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) }) // runs before srv.Close

	start := time.Now()
	_, err := get(t, NewClient(ClientOptions{AllowPrivate: true, Timeout: 200 * time.Millisecond}), srv.URL)
	if err == nil {
		t.Fatal("GET to a hanging server succeeded, want a timeout")
	}
	if elapsed := time.Since(start); elapsed > 5*time.Second {
		t.Errorf("timeout took %v", elapsed)
	}
}

func TestDialControlNetworks(t *testing.T) {
	control := dialControl(false)
	if err := control("udp4", "8.8.8.8:53", nil); err == nil {
		t.Error("udp4 dial allowed, want refused")
	}
	if err := control("tcp4", "8.8.8.8:443", nil); err != nil {
		t.Errorf("tcp4 to public address: %v", err)
	}
	if err := control("tcp6", "[fe80::1%eth0]:443", nil); err == nil {
		t.Error("tcp6 to link-local with zone allowed, want refused")
	}
	if err := control("tcp4", "not an address", nil); err == nil {
		t.Error("unparsable address allowed, want refused")
	}
}

func TestReadLimited(t *testing.T) {
	tests := []struct {
		name          string
		in            string
		n             int64
		want          string
		wantTruncated bool
	}{
		{"shorter", "hello", 10, "hello", false},
		{"exact", "hello", 5, "hello", false},
		{"longer", "hello world", 5, "hello", true},
		{"empty", "", 5, "", false},
		{"zero limit", "hello", 0, "", true},
		{"zero limit, empty", "", 0, "", false},
		{"negative limit", "hello", -1, "", true},
		{"huge limit", "hello", 1<<63 - 1, "hello", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body, truncated, err := ReadLimited(strings.NewReader(tt.in), tt.n)
			if err != nil || string(body) != tt.want || truncated != tt.wantTruncated {
				t.Errorf("ReadLimited = %q, %v, %v; want %q, %v, nil", body, truncated, err, tt.want, tt.wantTruncated)
			}
		})
	}
}

func TestReadLimitedStopsReading(t *testing.T) {
	endless := &countingReader{}
	body, truncated, err := ReadLimited(endless, 1000)
	if err != nil || len(body) != 1000 || !truncated {
		t.Fatalf("ReadLimited(endless) = %d bytes, %v, %v", len(body), truncated, err)
	}
	if endless.n > 1001 {
		t.Errorf("read %d bytes of an endless body, want at most 1001", endless.n)
	}
}

func TestReadLimitedError(t *testing.T) {
	r := io.MultiReader(strings.NewReader("part"), iotest.ErrReader(io.ErrUnexpectedEOF))
	body, truncated, err := ReadLimited(r, 100)
	if !errors.Is(err, io.ErrUnexpectedEOF) || string(body) != "part" || truncated {
		t.Errorf("ReadLimited = %q, %v, %v; want \"part\", false, ErrUnexpectedEOF", body, truncated, err)
	}
}

type countingReader struct{ n int }

func (r *countingReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'x'
	}
	r.n += len(p)
	return len(p), nil
}

// fakeDNS starts a DNS server on loopback that answers every A query with ip
// and every other query with no records, and returns a resolver using it.
func fakeDNS(t *testing.T, ip netip.Addr) *net.Resolver {
	t.Helper()
	conn, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen for fake DNS: %v", err)
	}
	t.Cleanup(func() { conn.Close() })
	go func() {
		buf := make([]byte, 1500)
		for {
			n, from, err := conn.ReadFrom(buf)
			if err != nil {
				return
			}
			if reply := dnsReply(buf[:n], ip); reply != nil {
				conn.WriteTo(reply, from)
			}
		}
	}()
	return &net.Resolver{
		PreferGo: true,
		Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "udp4", conn.LocalAddr().String())
		},
	}
}

// dnsReply builds a response to a one-question query (RFC 1035 §4.1).
func dnsReply(query []byte, ip netip.Addr) []byte {
	const headerLen = 12
	if len(query) < headerLen {
		return nil
	}
	// Skip the question name's labels, then QTYPE and QCLASS.
	end := headerLen
	for end < len(query) && query[end] != 0 {
		end += 1 + int(query[end])
	}
	end += 1 + 4
	if end > len(query) {
		return nil
	}
	question := query[headerLen:end]
	isA := binary.BigEndian.Uint16(question[len(question)-4:]) == 1

	reply := make([]byte, headerLen, 64)
	copy(reply, query[:2])                        // ID
	binary.BigEndian.PutUint16(reply[2:], 0x8580) // response, authoritative, RD, RA, NOERROR
	binary.BigEndian.PutUint16(reply[4:], 1)      // QDCOUNT
	if isA {
		binary.BigEndian.PutUint16(reply[6:], 1) // ANCOUNT
	}
	reply = append(reply, question...)
	if isA {
		v4 := ip.As4()
		reply = append(reply,
			0xc0, headerLen, // name: pointer to the question's
			0, 1, 0, 1, // TYPE A, CLASS IN
			0, 0, 0, 60, // TTL
			0, 4, // RDLENGTH
		)
		reply = append(reply, v4[:]...)
	}
	return reply
}
