package server_test

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/descriptorpb"

	"github.com/paymux/paymux/apierr"
	"github.com/paymux/paymux/app"
	"github.com/paymux/paymux/config"
	paymuxv1 "github.com/paymux/paymux/gen/paymux/v1"
)

// TestGRPCHealth: the standard health service answers over grpc-go
// without credentials, for the server and each paymux service.
func TestGRPCHealth(t *testing.T) {
	ts := startServer(t, openSQLite(t))
	client := grpc_health_v1.NewHealthClient(grpcConn(t, ts))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, svc := range []string{"", "paymux.v1.StoreService", "paymux.v1.KeyService", "paymux.v1.IPRuleService"} {
		res, err := client.Check(ctx, &grpc_health_v1.HealthCheckRequest{Service: svc})
		if err != nil {
			t.Fatalf("Check(%q): %v", svc, err)
		}
		if res.GetStatus() != grpc_health_v1.HealthCheckResponse_SERVING {
			t.Fatalf("Check(%q) = %v, want SERVING", svc, res.GetStatus())
		}
	}
	_, err := client.Check(ctx, &grpc_health_v1.HealthCheckRequest{Service: "paymux.v1.NoSuchService"})
	if status.Code(err) != codes.NotFound {
		t.Fatalf("Check of an unknown service: %v, want NotFound", err)
	}
}

// TestGRPCReflection: server reflection lists the paymux services and
// serves their descriptors, without credentials.
func TestGRPCReflection(t *testing.T) {
	ts := startServer(t, openSQLite(t))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	stream, err := grpc_reflection_v1.NewServerReflectionClient(grpcConn(t, ts)).ServerReflectionInfo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.Send(&grpc_reflection_v1.ServerReflectionRequest{
		MessageRequest: &grpc_reflection_v1.ServerReflectionRequest_ListServices{},
	}); err != nil {
		t.Fatal(err)
	}
	res, err := stream.Recv()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range res.GetListServicesResponse().GetService() {
		names = append(names, s.GetName())
	}
	for _, want := range []string{"paymux.v1.StoreService", "paymux.v1.KeyService", "paymux.v1.IPRuleService"} {
		if !slices.Contains(names, want) {
			t.Fatalf("ListServices = %q, missing %s", names, want)
		}
	}

	if err := stream.Send(&grpc_reflection_v1.ServerReflectionRequest{
		MessageRequest: &grpc_reflection_v1.ServerReflectionRequest_FileContainingSymbol{FileContainingSymbol: "paymux.v1.IPRuleService"},
	}); err != nil {
		t.Fatal(err)
	}
	res, err = stream.Recv()
	if err != nil {
		t.Fatal(err)
	}
	files := res.GetFileDescriptorResponse().GetFileDescriptorProto()
	if len(files) == 0 {
		t.Fatalf("FileContainingSymbol(paymux.v1.IPRuleService): %v", res)
	}
	var fd descriptorpb.FileDescriptorProto
	if err := proto.Unmarshal(files[0], &fd); err != nil {
		t.Fatal(err)
	}
	if fd.GetName() != "paymux/v1/ip_rule.proto" || len(fd.GetService()) != 1 || len(fd.GetService()[0].GetMethod()) != 4 {
		t.Fatalf("descriptor %s with %d services", fd.GetName(), len(fd.GetService()))
	}
	if err := stream.CloseSend(); err != nil {
		t.Fatal(err)
	}
}

// TestOpenAPIAndHealthz: the OpenAPI document and the plain liveness probe.
func TestOpenAPIAndHealthz(t *testing.T) {
	ts := startServer(t, openSQLite(t))
	resp, raw := rawHTTP(t, http.DefaultClient, http.MethodGet, ts.URL+"/openapi.json", nil, nil)
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("GET /openapi.json: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	var doc struct {
		Swagger string                     `json:"swagger"`
		Paths   map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("openapi.json is not JSON: %v", err)
	}
	if doc.Swagger == "" {
		t.Fatal(`openapi.json has no "swagger" version`)
	}
	for _, p := range []string{"/v1/keys", "/v1/ip-rules", "/v1/ip-rules/test", "/v1/access-token", "/v1/stores"} {
		if _, ok := doc.Paths[p]; !ok {
			t.Fatalf("openapi.json has no path %s", p)
		}
	}

	resp, raw = rawHTTP(t, http.DefaultClient, http.MethodGet, ts.URL+"/healthz", nil, nil)
	if resp.StatusCode != http.StatusOK || strings.TrimSpace(string(raw)) != "ok" {
		t.Fatalf("GET /healthz: %d %q", resp.StatusCode, raw)
	}
}

var bxGeneratedRequestID = regexp.MustCompile(`^req_[A-Za-z0-9]{20}$`)

// TestRequestID: every answer, success or error, carries X-Request-Id; a
// well-formed id from the client is kept, anything else is replaced.
func TestRequestID(t *testing.T) {
	ts := startServer(t, openSQLite(t))
	creds := []struct {
		name string
		auth string
		ok   bool
	}{
		{"success", ts.firstKeyAuth(), true},
		{"error", "", false},
	}
	sent := []struct {
		name, id string
		kept     bool
	}{
		{"none", "", false},
		{"valid", "abc-123", true},
		{"valid long", strings.Repeat("a", 64), true},
		{"invalid", "bad id!", false},
		{"too long", strings.Repeat("a", 65), false},
	}
	type call func(t *testing.T, auth, id string) (gotID string, ok bool)
	transports := []struct {
		name string
		do   call
	}{
		{"rest", func(t *testing.T, auth, id string) (string, bool) {
			resp, raw := rawHTTP(t, http.DefaultClient, http.MethodGet, ts.URL+"/v1/keys", nil, headers("Authorization", auth, "X-Request-Id", id))
			if resp.StatusCode != http.StatusOK {
				restError(t, resp.StatusCode, raw) // the error JSON is well-formed
			}
			return resp.Header.Get("X-Request-Id"), resp.StatusCode == http.StatusOK
		}},
		{"connect", func(t *testing.T, auth, id string) (string, bool) {
			c := connect.NewClient[paymuxv1.ListKeysRequest, paymuxv1.ListKeysResponse](http.DefaultClient, ts.URL+"/paymux.v1.KeyService/ListKeys")
			req := connect.NewRequest(&paymuxv1.ListKeysRequest{})
			for k, vs := range headers("Authorization", auth, "X-Request-Id", id) {
				req.Header()[k] = vs
			}
			res, err := c.CallUnary(context.Background(), req)
			if err != nil {
				var ce *connect.Error
				if !errors.As(err, &ce) {
					t.Fatal(err)
				}
				return ce.Meta().Get("X-Request-Id"), false
			}
			return res.Header().Get("X-Request-Id"), true
		}},
		{"grpc", func(t *testing.T, auth, id string) (string, bool) {
			md := metadata.MD{}
			for k, vs := range headers("Authorization", auth, "X-Request-Id", id) {
				md.Append(strings.ToLower(k), vs...)
			}
			ctx, cancel := context.WithTimeout(metadata.NewOutgoingContext(context.Background(), md), 10*time.Second)
			defer cancel()
			var header, trailer metadata.MD
			err := grpcConn(t, ts).Invoke(ctx, "/paymux.v1.KeyService/ListKeys", &paymuxv1.ListKeysRequest{}, &paymuxv1.ListKeysResponse{},
				grpc.Header(&header), grpc.Trailer(&trailer))
			got := append(header.Get("x-request-id"), trailer.Get("x-request-id")...)
			if len(got) == 0 {
				return "", err == nil
			}
			return got[0], err == nil
		}},
	}
	for _, tr := range transports {
		for _, c := range creds {
			for _, s := range sent {
				t.Run(tr.name+"/"+c.name+"/"+s.name, func(t *testing.T) {
					got, ok := tr.do(t, c.auth, s.id)
					if ok != c.ok {
						t.Fatalf("call ok = %v, want %v", ok, c.ok)
					}
					switch {
					case s.kept && got != s.id:
						t.Fatalf("X-Request-Id %q, want the client's %q echoed", got, s.id)
					case !s.kept && !bxGeneratedRequestID.MatchString(got):
						t.Fatalf("X-Request-Id %q, want a generated req_ id (sent %q)", got, s.id)
					}
				})
			}
		}
	}
	// Generated ids differ per call.
	a, _ := transports[0].do(t, "", "")
	b, _ := transports[0].do(t, "", "")
	if a == b {
		t.Fatalf("two calls got the same request id %q", a)
	}
}

// TestJSONShape: REST and Connect JSON use lowerCamel names and enum
// names; the REST error is a google.rpc.Status with an ErrorInfo.
func TestJSONShape(t *testing.T) {
	ts := startServer(t, openSQLite(t))
	auth := headers("Authorization", ts.firstKeyAuth())

	check := func(t *testing.T, raw []byte) {
		var body map[string]any
		if err := json.Unmarshal(raw, &body); err != nil {
			t.Fatalf("not JSON: %s", raw)
		}
		if _, ok := body["nextPageToken"]; !ok {
			t.Fatalf("empty nextPageToken is left out: %s", raw)
		}
		keys, _ := body["keys"].([]any)
		if len(keys) != 1 {
			t.Fatalf("keys: %s", raw)
		}
		k, _ := keys[0].(map[string]any)
		prefix, _ := k["secretKeyPrefix"].(string)
		if k["clientKey"] != ts.First.ClientKey || prefix == "" || !strings.HasPrefix(ts.First.SecretKey, prefix) || len(prefix) >= len(ts.First.SecretKey) {
			t.Fatalf("clientKey/secretKeyPrefix: %s", raw)
		}
		if k["mode"] != "MODE_TEST" || k["authMethod"] != "AUTH_METHOD_BASIC" || k["storeId"] != ts.First.StoreID {
			t.Fatalf("mode/authMethod/storeId: %s", raw)
		}
		for _, snake := range []string{"client_key", "secret_key_prefix", "store_id", "auth_method", "secretKey", "secret_key"} {
			if _, ok := k[snake]; ok {
				t.Fatalf("key has field %q: %s", snake, raw)
			}
		}
		if strings.Contains(string(raw), ts.First.SecretKey) {
			t.Fatalf("ListKeys shows the secret: %s", raw)
		}
	}
	t.Run("rest", func(t *testing.T) {
		resp, raw := rawHTTP(t, http.DefaultClient, http.MethodGet, ts.URL+"/v1/keys", nil, auth)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%d %s", resp.StatusCode, raw)
		}
		check(t, raw)
	})
	t.Run("connect-json", func(t *testing.T) {
		h := auth.Clone()
		h.Set("Content-Type", "application/json")
		resp, raw := rawHTTP(t, http.DefaultClient, http.MethodPost, ts.URL+"/paymux.v1.KeyService/ListKeys", strings.NewReader("{}"), h)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%d %s", resp.StatusCode, raw)
		}
		check(t, raw)
	})
	t.Run("rest error", func(t *testing.T) {
		resp, raw := rawHTTP(t, http.DefaultClient, http.MethodGet, ts.URL+"/v1/keys", nil, nil)
		if resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("%d %s, want 401", resp.StatusCode, raw)
		}
		var body struct {
			Code    *int             `json:"code"`
			Message string           `json:"message"`
			Details []map[string]any `json:"details"`
		}
		if err := json.Unmarshal(raw, &body); err != nil {
			t.Fatalf("not JSON: %s", raw)
		}
		if body.Code == nil || *body.Code != 16 || body.Message == "" || len(body.Details) == 0 {
			t.Fatalf("error body %s", raw)
		}
		d := body.Details[0]
		if d["@type"] != "type.googleapis.com/google.rpc.ErrorInfo" || d["reason"] != "CREDENTIALS_MISSING" || d["domain"] != apierr.Domain {
			t.Fatalf("details[0] = %v", d)
		}
	})
}

// bxSelfSignedCert writes a self-signed ECDSA certificate for 127.0.0.1 and
// its key, and returns their paths and a pool trusting it.
func bxSelfSignedCert(t *testing.T) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "paymux test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &priv.PublicKey, priv)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

// TestTLS: with a certificate configured, every surface is served over TLS
// on the one port: REST and Connect over HTTPS (h2 when offered), gRPC
// with transport credentials.
func TestTLS(t *testing.T) {
	certFile, keyFile, pool := bxSelfSignedCert(t)
	ts := startServer(t, openSQLite(t), func(c *configT) { c.TLS = config.TLSConfig{CertFile: certFile, KeyFile: keyFile} })
	if !strings.HasPrefix(ts.URL, "https://") {
		t.Fatalf("URL %s is not https", ts.URL)
	}
	auth := headers("Authorization", ts.firstKeyAuth())

	for _, h2 := range []bool{false, true} {
		t.Run(fmt.Sprintf("https h2=%v", h2), func(t *testing.T) {
			tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: h2}
			defer tr.CloseIdleConnections()
			if !h2 {
				tr.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
			}
			hc := &http.Client{Transport: tr, Timeout: 10 * time.Second}
			resp, raw := rawHTTP(t, hc, http.MethodGet, ts.URL+"/v1/keys", nil, auth)
			if resp.StatusCode != http.StatusOK || !strings.Contains(string(raw), ts.First.ClientKey) {
				t.Fatalf("REST over https: %d %s", resp.StatusCode, raw)
			}
			if h2 && resp.ProtoMajor != 2 {
				t.Fatalf("REST over https offering h2 got %s, want HTTP/2", resp.Proto)
			}
			c := connect.NewClient[paymuxv1.ListKeysRequest, paymuxv1.ListKeysResponse](hc, ts.URL+"/paymux.v1.KeyService/ListKeys")
			req := connect.NewRequest(&paymuxv1.ListKeysRequest{})
			req.Header().Set("Authorization", ts.firstKeyAuth())
			res, err := c.CallUnary(context.Background(), req)
			if err != nil || len(res.Msg.GetKeys()) != 1 {
				t.Fatalf("Connect over https: %v", err)
			}
		})
	}

	t.Run("plain http refused", func(t *testing.T) {
		resp, err := http.Get("http://" + ts.Addr + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				t.Fatal("a TLS server answered plain HTTP with 200")
			}
		}
	})

	t.Run("grpc", func(t *testing.T) {
		conn, err := grpc.NewClient(ts.Addr, grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{RootCAs: pool})))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		ctx, cancel := context.WithTimeout(metadata.AppendToOutgoingContext(context.Background(), "authorization", ts.firstKeyAuth()), 10*time.Second)
		defer cancel()
		var res paymuxv1.ListKeysResponse
		if err := conn.Invoke(ctx, "/paymux.v1.KeyService/ListKeys", &paymuxv1.ListKeysRequest{}, &res); err != nil {
			t.Fatalf("gRPC over TLS: %v", err)
		}
		if len(res.GetKeys()) != 1 || res.GetKeys()[0].GetClientKey() != ts.First.ClientKey {
			t.Fatalf("gRPC over TLS: %v", &res)
		}
	})
}

// TestGracefulShutdown: when its context ends, Serve stops accepting at
// once, lets a request in flight finish, and returns nil promptly; idle
// HTTP/1.1 and HTTP/2 connections do not hold it up.
func TestGracefulShutdown(t *testing.T) {
	db := openSQLite(t)
	cfg := testConfig(t)
	cfg.ShutdownTimeout = 10 * time.Second
	keyring := testKeyring(t)
	adminHash, first, err := app.Bootstrap(context.Background(), db, keyring, cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := app.New(app.Options{Config: cfg, DB: db, Keyring: keyring, AdminTokenHash: adminHash, Logger: discardLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := srv.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	}()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()

	// Idle connections: an HTTP/1.1 keep-alive one and a gRPC (h2c) one.
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	if resp, _ := rawHTTP(t, &http.Client{Transport: tr}, http.MethodGet, "http://"+addr+"/healthz", nil, nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("healthz: %d", resp.StatusCode)
	}
	gc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer gc.Close()
	if _, err := grpc_health_v1.NewHealthClient(gc).Check(context.Background(), &grpc_health_v1.HealthCheckRequest{}); err != nil {
		t.Fatal(err)
	}

	// A request in flight: headers and half the body sent. The administrator
	// sends it (a TEST key may not create rules), naming the store.
	body := `{"storeId":"` + first.StoreID + `","cidr":"10.0.0.0/8","description":"in flight"}`
	inflight, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer inflight.Close()
	fmt.Fprintf(inflight, "POST /v1/ip-rules HTTP/1.1\r\nHost: %s\r\nAuthorization: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s",
		addr, bearer(first.AdminToken), len(body), body[:10])
	time.Sleep(50 * time.Millisecond) // let the server start reading it

	cancel()
	// New connections are refused at once.
	deadline := time.Now().Add(2 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err != nil {
			break
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Fatal("the port still accepts connections after the context ended")
		}
		time.Sleep(10 * time.Millisecond)
	}
	select {
	case err := <-done:
		t.Fatalf("Serve returned (%v) with a request in flight", err)
	case <-time.After(200 * time.Millisecond):
	}

	// The request in flight completes.
	if _, err := io.WriteString(inflight, body[10:]); err != nil {
		t.Fatal(err)
	}
	if err := inflight.SetReadDeadline(time.Now().Add(5 * time.Second)); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(inflight), nil)
	if err != nil {
		t.Fatalf("request in flight: %v", err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(raw), `"10.0.0.0/8"`) {
		t.Fatalf("request in flight: %d %s", resp.StatusCode, raw)
	}

	start := time.Now()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Serve after cancel: %v, want nil", err)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("Serve did not return within 3s of its last request")
	}
	t.Logf("Serve returned %v after the last request", time.Since(start))
	if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		c.Close()
		t.Fatal("the port accepts connections after Serve returned")
	}
}

// TestPolicyChainOrderBehaviour: the chain's order, seen from outside on
// every surface: authentication before the IP rules, the IP rules before
// validation. CreateIPRule with an empty cidr is the invalid request.
func TestPolicyChainOrderBehaviour(t *testing.T) {
	ts := startServer(t, openSQLite(t))
	invalid := createIPRule("", "", "")
	cases := []struct {
		name   string
		rules  []string
		auth   string
		code   connect.Code
		reason string
		status int
	}{
		{"no credentials, denied, invalid", []string{"10.0.0.0/8"}, "", connect.CodeUnauthenticated, apierr.ReasonCredentialsMissing, 401},
		{"malformed credentials, denied, invalid", []string{"10.0.0.0/8"}, "Basic !!!", connect.CodeUnauthenticated, apierr.ReasonCredentialsMalformed, 401},
		{"wrong secret, denied, invalid", []string{"10.0.0.0/8"}, basicAuth(ts.First.ClientKey, "sk_test_wrong"), connect.CodeUnauthenticated, apierr.ReasonSecretMismatch, 401},
		{"key, denied, invalid", []string{"10.0.0.0/8"}, ts.firstKeyAuth(), connect.CodePermissionDenied, apierr.ReasonIPNotAllowed, 403},
		{"key, allowed, invalid", []string{"127.0.0.0/8"}, ts.firstKeyAuth(), connect.CodeInvalidArgument, apierr.ReasonInvalidArgument, 400},
		{"admin, denied, invalid", []string{"10.0.0.0/8"}, ts.adminAuth(), connect.CodeInvalidArgument, apierr.ReasonInvalidArgument, 400},
	}
	for _, c := range cases {
		setRules(t, ts, c.rules...)
		for _, sf := range surfaces {
			t.Run(c.name+"/"+sf.name, func(t *testing.T) {
				got := sf.call(t, ts, invalid, headers("Authorization", c.auth))
				wantError(t, got, c.code, c.reason)
				if sf.name == "rest" && got.httpStatus != c.status {
					t.Fatalf("REST status %d, want %d", got.httpStatus, c.status)
				}
			})
		}
	}
}
