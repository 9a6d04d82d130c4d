package main

// End-to-end tests of the real binary: built once in TestMain, then run as
// a child process per test.

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers "pgx"
)

// testVersion is stamped into the binary with -ldflags -X main.version.
const testVersion = "v0.0.0-e2e"

// binary is the path of the paymux binary built by TestMain.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "paymux-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "paymux")
	build := exec.Command("go", "build", "-ldflags", "-X main.version="+testVersion, "-o", binary, ".")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: go build:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// ---- running the binary -------------------------------------------------

// outputFile is a file the child process writes to directly. Unlike a
// pipe copied by a goroutine, whatever the child wrote before its log line
// is in the file by the time the log line is: stdout is complete once the
// URL has been logged.
type outputFile struct{ path string }

func newOutputFile(t *testing.T, name string) (*outputFile, *os.File) {
	t.Helper()
	f, err := os.Create(filepath.Join(t.TempDir(), name))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return &outputFile{f.Name()}, f
}

func (o *outputFile) String() string {
	b, err := os.ReadFile(o.path)
	if err != nil {
		return fmt.Sprintf("(read %s: %v)", o.path, err)
	}
	return string(b)
}

// childEnv is the test's environment without any PAYMUX_* variable, plus env.
func childEnv(env ...string) []string {
	var out []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PAYMUX_") {
			out = append(out, kv)
		}
	}
	return append(out, env...)
}

// run runs the binary to completion and returns its output and exit code.
func run(t *testing.T, env []string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Dir = t.TempDir()
	cmd.Env = childEnv(env...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit):
		code = exit.ExitCode()
	default:
		t.Fatalf("run paymux %v: %v", args, err)
	}
	return out.String(), errOut.String(), code
}

// serveProc is a running `paymux serve`.
type serveProc struct {
	cmd    *exec.Cmd
	stdout *outputFile
	stderr *outputFile
	done   chan struct{} // closed when the process has exited
	err    error         // Wait's result, once done is closed
	URL    string        // http(s)://host:port, from the log
	client *http.Client  // for calls to URL
	dir    string        // the working directory
}

// urlInLog finds the served URL in a text or JSON log line.
var urlInLog = regexp.MustCompile(`(?:url=|"url":")(https?://127\.0\.0\.1:\d+)`)

// startServe starts `paymux serve args...` and waits until it logs its URL.
func startServe(t *testing.T, env []string, args ...string) *serveProc {
	t.Helper()
	s := &serveProc{done: make(chan struct{})}
	var stdout, stderr *os.File
	s.stdout, stdout = newOutputFile(t, "stdout")
	s.stderr, stderr = newOutputFile(t, "stderr")
	s.cmd = exec.Command(binary, append([]string{"serve"}, args...)...)
	s.dir = t.TempDir()
	s.cmd.Dir = s.dir
	s.cmd.Env = childEnv(env...)
	s.cmd.Stdout, s.cmd.Stderr = stdout, stderr
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		s.err = s.cmd.Wait()
		close(s.done)
	}()
	t.Cleanup(func() {
		select {
		case <-s.done:
		default:
			s.cmd.Process.Kill()
			<-s.done
		}
	})
	deadline := time.After(20 * time.Second)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		if m := urlInLog.FindStringSubmatch(s.stderr.String()); m != nil {
			s.URL = m[1]
			s.client = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
			return s
		}
		select {
		case <-s.done:
			t.Fatalf("paymux serve exited before serving: %v\nstdout:\n%s\nstderr:\n%s", s.err, s.stdout, s.stderr)
		case <-deadline:
			t.Fatalf("paymux serve logged no url within 20s\nstdout:\n%s\nstderr:\n%s", s.stdout, s.stderr)
		case <-tick.C:
		}
	}
}

// stop sends SIGTERM and wants a clean exit (status 0) within a few seconds.
func (s *serveProc) stop(t *testing.T) {
	t.Helper()
	s.stopWith(t, syscall.SIGTERM)
}

func (s *serveProc) stopWith(t *testing.T, sig os.Signal) {
	t.Helper()
	if err := s.cmd.Process.Signal(sig); err != nil {
		t.Fatalf("%v: %v", sig, err)
	}
	select {
	case <-s.done:
	case <-time.After(5 * time.Second):
		t.Fatalf("paymux serve still running 5s after %v\nstderr:\n%s", sig, s.stderr)
	}
	if s.err != nil {
		t.Fatalf("paymux serve after %v: %v (want exit status 0)\nstderr:\n%s", sig, s.err, s.stderr)
	}
	if !strings.Contains(s.stderr.String(), "paymux stopped") {
		t.Errorf("no \"paymux stopped\" in the log:\n%s", s.stderr)
	}
}

// ---- first-run output ---------------------------------------------------

type firstRun struct {
	AdminToken, StoreID, ClientKey, SecretKey string
}

var (
	adminTokenLine = regexp.MustCompile(`(?m)^  platform admin token: (pma_\S+)$`)
	storeLine      = regexp.MustCompile(`(?m)^  store: +(st_\S+)$`)
	clientKeyLine  = regexp.MustCompile(`(?m)^  TEST client key: +(ck_test_\S+)$`)
	secretKeyLine  = regexp.MustCompile(`(?m)^  TEST secret key: +(sk_test_\S+)$`)
)

// parseFirstRun reads the secrets a first run printed, and checks the curl
// line to paste.
func parseFirstRun(t *testing.T, stdout, baseURL string) firstRun {
	t.Helper()
	var f firstRun
	for _, x := range []struct {
		re  *regexp.Regexp
		dst *string
	}{
		{adminTokenLine, &f.AdminToken},
		{storeLine, &f.StoreID},
		{clientKeyLine, &f.ClientKey},
		{secretKeyLine, &f.SecretKey},
	} {
		m := x.re.FindStringSubmatch(stdout)
		if m == nil {
			t.Fatalf("first run: no line matching %s on stdout:\n%s", x.re, stdout)
		}
		*x.dst = m[1]
	}
	for _, want := range []string{
		"platform admin token: pma_",
		"TEST client key:      ck_test_",
		"TEST secret key:      sk_test_",
		fmt.Sprintf("  curl -u %s:%s %s/v1/keys\n", f.ClientKey, f.SecretKey, baseURL),
		fmt.Sprintf("  curl -H 'Authorization: Bearer %s' %s/v1/stores\n", f.AdminToken, baseURL),
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("first run: stdout does not contain %q:\n%s", want, stdout)
		}
	}
	return f
}

// get calls a REST path with the given Authorization setter and returns
// the status and body.
func get(t *testing.T, client *http.Client, url string, auth func(*http.Request)) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if auth != nil {
		auth(req)
	}
	res, err := client.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("GET %s: read body: %v", url, err)
	}
	return res.StatusCode, body
}

func basic(user, pass string) func(*http.Request) {
	return func(r *http.Request) { r.SetBasicAuth(user, pass) }
}

func bearer(token string) func(*http.Request) {
	return func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+token) }
}

// checkKeyWorks lists the keys with the printed key pair over REST.
func checkKeyWorks(t *testing.T, s *serveProc, f firstRun) {
	t.Helper()
	baseURL := s.URL
	status, body := get(t, s.client, baseURL+"/v1/keys", basic(f.ClientKey, f.SecretKey))
	if status != http.StatusOK {
		t.Fatalf("GET /v1/keys with the first key: status %d, want 200; body %s", status, body)
	}
	var keys struct {
		Keys []struct {
			ID              string `json:"id"`
			StoreID         string `json:"storeId"`
			ClientKey       string `json:"clientKey"`
			SecretKeyPrefix string `json:"secretKeyPrefix"`
			Mode            string `json:"mode"`
		} `json:"keys"`
	}
	if err := json.Unmarshal(body, &keys); err != nil {
		t.Fatalf("GET /v1/keys: %v; body %s", err, body)
	}
	if len(keys.Keys) != 1 {
		t.Fatalf("GET /v1/keys: %d keys, want 1; body %s", len(keys.Keys), body)
	}
	k := keys.Keys[0]
	if k.ClientKey != f.ClientKey || k.StoreID != f.StoreID || k.Mode != "MODE_TEST" ||
		!strings.HasPrefix(k.ID, "key_") || k.SecretKeyPrefix == "" || !strings.HasPrefix(f.SecretKey, k.SecretKeyPrefix) {
		t.Errorf("GET /v1/keys: key %+v does not match the printed one %+v", k, f)
	}
	if strings.Contains(string(body), f.SecretKey) {
		t.Errorf("GET /v1/keys returned the whole secret key: %s", body)
	}

	if status, body := get(t, s.client, baseURL+"/v1/keys", basic(f.ClientKey, f.SecretKey+"x")); status != http.StatusUnauthorized {
		t.Errorf("GET /v1/keys with a wrong secret: status %d, want 401; body %s", status, body)
	}
}

// checkAdminWorks lists the stores with the printed admin token.
func checkAdminWorks(t *testing.T, s *serveProc, f firstRun) {
	t.Helper()
	baseURL := s.URL
	status, body := get(t, s.client, baseURL+"/v1/stores", bearer(f.AdminToken))
	if status != http.StatusOK {
		t.Fatalf("GET /v1/stores with the admin token: status %d, want 200; body %s", status, body)
	}
	var stores struct {
		Stores []struct {
			ID string `json:"id"`
		} `json:"stores"`
	}
	if err := json.Unmarshal(body, &stores); err != nil {
		t.Fatalf("GET /v1/stores: %v; body %s", err, body)
	}
	if len(stores.Stores) != 1 || stores.Stores[0].ID != f.StoreID {
		t.Errorf("GET /v1/stores: %s, want only store %s", body, f.StoreID)
	}
	if status, body := get(t, s.client, baseURL+"/v1/stores", bearer(f.AdminToken+"x")); status != http.StatusUnauthorized {
		t.Errorf("GET /v1/stores with a wrong token: status %d, want 401; body %s", status, body)
	}
}

// checkNoSecretsIn fails if the log holds any of the first run's secrets.
func checkNoSecretsIn(t *testing.T, log string, f firstRun) {
	t.Helper()
	for name, secret := range map[string]string{"admin token": f.AdminToken, "secret key": f.SecretKey} {
		if secret != "" && strings.Contains(log, secret) {
			t.Errorf("the log (stderr) contains the %s", name)
		}
	}
}

// ---- tests ----------------------------------------------------------------

func TestVersion(t *testing.T) {
	for _, args := range [][]string{{"version"}, {"--version"}} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			stdout, stderr, code := run(t, nil, args...)
			if code != 0 {
				t.Fatalf("paymux %s: exit %d; stderr %s", strings.Join(args, " "), code, stderr)
			}
			if want := "paymux " + testVersion + "\n"; stdout != want {
				t.Errorf("paymux %s printed %q, want %q", strings.Join(args, " "), stdout, want)
			}
		})
	}
}

// TestServeSQLite is the zero-config path: first run, REST with the
// printed secrets, SIGTERM, second run on the same data directory.
func TestServeSQLite(t *testing.T) {
	dataDir := filepath.Join(t.TempDir(), "data") // paymux creates it
	// debug: whatever the server logs, secrets must not be in it.
	env := []string{"PAYMUX_LOG_LEVEL=debug"}

	s := startServe(t, env, "--listen", "127.0.0.1:0", "--data-dir", dataDir)
	f := parseFirstRun(t, s.stdout.String(), s.URL)
	checkKeyWorks(t, s, f)
	checkAdminWorks(t, s, f)
	s.stop(t)
	checkNoSecretsIn(t, s.stderr.String(), f)
	if !strings.Contains(s.stderr.String(), "generated a master key") {
		t.Errorf("first run did not log that it generated a master key:\n%s", s.stderr)
	}

	info, err := os.Stat(filepath.Join(dataDir, "master.key"))
	if err != nil {
		t.Fatalf("master key: %v", err)
	}
	if perm := info.Mode().Perm(); perm != 0o600 {
		t.Errorf("master.key has mode %v, want 0600", perm)
	}
	if _, err := os.Stat(filepath.Join(dataDir, "paymux.db")); err != nil {
		t.Errorf("SQLite database: %v", err)
	}
	if info, err := os.Stat(dataDir); err != nil {
		t.Fatal(err)
	} else if perm := info.Mode().Perm(); perm != 0o700 {
		t.Errorf("data directory has mode %v, want 0700", perm)
	}
	masterKey, err := os.ReadFile(filepath.Join(dataDir, "master.key"))
	if err != nil {
		t.Fatal(err)
	}

	// Second run: nothing new is created or printed; the old key works.
	s2 := startServe(t, env, "--listen", "127.0.0.1:0", "--data-dir", dataDir)
	checkKeyWorks(t, s2, f)
	checkAdminWorks(t, s2, f)
	s2.stop(t)
	if out := s2.stdout.String(); out != "" {
		t.Errorf("second run printed on stdout:\n%s", out)
	}
	if strings.Contains(s2.stderr.String(), "generated a master key") {
		t.Errorf("second run generated a new master key:\n%s", s2.stderr)
	}
	checkNoSecretsIn(t, s2.stderr.String(), f)
	if again, err := os.ReadFile(filepath.Join(dataDir, "master.key")); err != nil || !bytes.Equal(again, masterKey) {
		t.Errorf("master.key changed on the second run (err %v)", err)
	}
}

// TestServeListen checks where the listen address and the data directory
// come from: flag over environment over default.
func TestServeListen(t *testing.T) {
	tests := []struct {
		name    string
		env     func(dataDir string) []string
		args    func(dataDir string) []string
		wantURL func(string) bool
	}{
		{
			name: "PAYMUX_LISTEN and PAYMUX_DATA_DIR without flags",
			env: func(d string) []string {
				return []string{"PAYMUX_LISTEN=127.0.0.1:0", "PAYMUX_DATA_DIR=" + d}
			},
			args: func(string) []string { return nil },
			// The default would be port 8080.
			wantURL: func(u string) bool { return !strings.HasSuffix(u, ":8080") },
		},
		{
			name: "--listen beats PAYMUX_LISTEN",
			// An invalid value: had the environment won, serve would fail.
			env:     func(string) []string { return []string{"PAYMUX_LISTEN=nope"} },
			args:    func(d string) []string { return []string{"--listen", "127.0.0.1:0", "--data-dir", d} },
			wantURL: func(string) bool { return true },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dataDir := filepath.Join(t.TempDir(), "data")
			s := startServe(t, tt.env(dataDir), tt.args(dataDir)...)
			if !tt.wantURL(s.URL) {
				t.Errorf("serving on %s", s.URL)
			}
			f := parseFirstRun(t, s.stdout.String(), s.URL)
			checkKeyWorks(t, s, f)
			s.stop(t)
			if _, err := os.Stat(filepath.Join(dataDir, "master.key")); err != nil {
				t.Errorf("master key not in the data directory %s: %v", dataDir, err)
			}
		})
	}
}

// --data-dir beats PAYMUX_DATA_DIR: the environment's directory is not
// even created.
func TestServeDataDirFlagBeatsEnv(t *testing.T) {
	flagDir := filepath.Join(t.TempDir(), "flag")
	envDir := filepath.Join(t.TempDir(), "env")
	s := startServe(t, []string{"PAYMUX_DATA_DIR=" + envDir}, "--listen", "127.0.0.1:0", "--data-dir", flagDir)
	s.stop(t)
	if _, err := os.Stat(filepath.Join(flagDir, "master.key")); err != nil {
		t.Errorf("master key not in the --data-dir: %v", err)
	}
	if _, err := os.Stat(envDir); !os.IsNotExist(err) {
		t.Errorf("PAYMUX_DATA_DIR %s was created although --data-dir was given (err %v)", envDir, err)
	}
}

func TestServeStopsOnSignal(t *testing.T) {
	for _, sig := range []os.Signal{syscall.SIGTERM, os.Interrupt} {
		t.Run(sig.String(), func(t *testing.T) {
			t.Parallel()
			s := startServe(t, nil, "--listen", "127.0.0.1:0", "--data-dir", t.TempDir())
			f := parseFirstRun(t, s.stdout.String(), s.URL)
			checkKeyWorks(t, s, f)
			s.stopWith(t, sig)
		})
	}
}

// Without --data-dir or PAYMUX_DATA_DIR the data lives in ./paymux-data.
func TestServeDefaultDataDir(t *testing.T) {
	s := startServe(t, nil, "--listen", "127.0.0.1:0")
	s.stop(t)
	for _, name := range []string{"master.key", "paymux.db"} {
		if _, err := os.Stat(filepath.Join(s.dir, "paymux-data", name)); err != nil {
			t.Errorf("default data directory: %v", err)
		}
	}
}

// A configured admin token and master key are used, not generated, and
// never printed or logged.
func TestServeConfiguredSecrets(t *testing.T) {
	adminToken := "pma_" + strings.Repeat("Z", 36)
	mk := make([]byte, 32)
	rand.Read(mk)
	masterKey := base64.StdEncoding.EncodeToString(mk)
	dataDir := filepath.Join(t.TempDir(), "data")
	env := []string{"PAYMUX_ADMIN_TOKEN=" + adminToken, "PAYMUX_MASTER_KEY=" + masterKey, "PAYMUX_LOG_LEVEL=debug"}

	s := startServe(t, env, "--listen", "127.0.0.1:0", "--data-dir", dataDir)
	out := s.stdout.String()
	for _, unwanted := range []string{"platform admin token", "Bearer", adminToken, masterKey} {
		if strings.Contains(out, unwanted) {
			t.Errorf("first run with a configured admin token printed %q:\n%s", unwanted, out)
		}
	}
	var f firstRun
	for _, x := range []struct {
		re  *regexp.Regexp
		dst *string
	}{{storeLine, &f.StoreID}, {clientKeyLine, &f.ClientKey}, {secretKeyLine, &f.SecretKey}} {
		m := x.re.FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("no line matching %s on stdout:\n%s", x.re, out)
		}
		*x.dst = m[1]
	}
	f.AdminToken = adminToken
	checkKeyWorks(t, s, f)
	checkAdminWorks(t, s, f)
	s.stop(t)
	log := s.stderr.String()
	checkNoSecretsIn(t, log, f)
	if strings.Contains(log, masterKey) {
		t.Error("the log contains the master key")
	}
	if strings.Contains(log, "generated a master key") {
		t.Errorf("a master key was generated although one is configured:\n%s", log)
	}
	if _, err := os.Stat(filepath.Join(dataDir, "master.key")); !os.IsNotExist(err) {
		t.Errorf("master.key written although a master key is configured (err %v)", err)
	}

	// The same master key on the next run: the key pair still works.
	s2 := startServe(t, env, "--listen", "127.0.0.1:0", "--data-dir", dataDir)
	checkKeyWorks(t, s2, f)
	s2.stop(t)
	if out := s2.stdout.String(); out != "" {
		t.Errorf("second run printed on stdout:\n%s", out)
	}
}

func TestServeJSONLog(t *testing.T) {
	s := startServe(t, []string{"PAYMUX_LOG_FORMAT=json"}, "--listen", "127.0.0.1:0", "--data-dir", t.TempDir())
	f := parseFirstRun(t, s.stdout.String(), s.URL)
	checkKeyWorks(t, s, f)
	s.stop(t)
	lines := strings.Split(strings.TrimSpace(s.stderr.String()), "\n")
	if len(lines) < 2 {
		t.Fatalf("log has %d lines, want at least 2:\n%s", len(lines), s.stderr)
	}
	for _, line := range lines {
		var rec struct {
			Level string `json:"level"`
			Msg   string `json:"msg"`
		}
		if err := json.Unmarshal([]byte(line), &rec); err != nil || rec.Level == "" || rec.Msg == "" {
			t.Errorf("log line is not a JSON record with level and msg (%v): %s", err, line)
		}
	}
	checkNoSecretsIn(t, s.stderr.String(), f)
}

// writeCert writes a self-signed certificate for 127.0.0.1 and its key.
func writeCert(t *testing.T) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "paymux e2e"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &priv.PublicKey, priv)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool = x509.NewCertPool()
	pool.AddCert(cert)
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
	return certFile, keyFile, pool
}

// With tls.cert_file and tls.key_file the port speaks TLS, HTTP/2 included
// (gRPC needs it), and the first-run hints use https.
func TestServeTLS(t *testing.T) {
	certFile, keyFile, pool := writeCert(t)
	s := startServe(t, []string{"PAYMUX_TLS_CERT_FILE=" + certFile, "PAYMUX_TLS_KEY_FILE=" + keyFile},
		"--listen", "127.0.0.1:0", "--data-dir", t.TempDir())
	if !strings.HasPrefix(s.URL, "https://") {
		t.Fatalf("logged URL %s, want https://", s.URL)
	}
	s.client = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig:   &tls.Config{RootCAs: pool},
		ForceAttemptHTTP2: true,
	}}
	f := parseFirstRun(t, s.stdout.String(), s.URL)
	checkKeyWorks(t, s, f)
	checkAdminWorks(t, s, f)
	if strings.Contains(s.stdout.String(), "-plaintext") || strings.Contains(s.stdout.String(), "--http2-prior-knowledge") {
		t.Errorf("TLS first run prints plaintext hints:\n%s", s.stdout)
	}

	// Plain HTTP on the TLS port is refused.
	plain := &http.Client{Timeout: 5 * time.Second}
	if res, err := plain.Get("http://" + strings.TrimPrefix(s.URL, "https://") + "/v1/keys"); err == nil {
		res.Body.Close()
		if res.StatusCode != http.StatusBadRequest {
			t.Errorf("plain HTTP on the TLS port: status %d, want an error or 400", res.StatusCode)
		}
	}

	// HTTP/2 is offered over ALPN.
	req, err := http.NewRequest(http.MethodGet, s.URL+"/v1/keys", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth(f.ClientKey, f.SecretKey)
	res, err := s.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if res.ProtoMajor != 2 {
		t.Errorf("TLS connection negotiated %s, want HTTP/2 (ALPN h2): gRPC over TLS cannot work", res.Proto)
	}
	s.client.CloseIdleConnections()
	s.stop(t)
}

// A first run that cannot listen must not lose its secrets: they are
// shown once, so either this run prints them or the next one still can.
func TestServeListenFailureKeepsFirstRun(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	dataDir := filepath.Join(t.TempDir(), "data")
	stdout, stderr, code := run(t, nil, "serve", "--listen", busy.Addr().String(), "--data-dir", dataDir)
	if code == 0 {
		t.Fatalf("serve on a busy port: exit 0\nstderr:\n%s", stderr)
	}
	if !strings.Contains(stderr, busy.Addr().String()) {
		t.Errorf("error does not name the address %s:\n%s", busy.Addr(), stderr)
	}
	// Nothing was created before listening: no master key that no run
	// has used, and nothing to show.
	for _, name := range []string{"master.key", "paymux.db"} {
		if _, err := os.Stat(filepath.Join(dataDir, name)); !os.IsNotExist(err) {
			t.Errorf("serve on a busy port left %s in a new data directory (err %v)", name, err)
		}
	}
	if stdout != "" {
		t.Errorf("serve on a busy port printed %q", stdout)
	}
	s := startServe(t, nil, "--listen", "127.0.0.1:0", "--data-dir", dataDir)
	shown := stdout + s.stdout.String()
	if !adminTokenLine.MatchString(shown) || !secretKeyLine.MatchString(shown) {
		t.Fatalf("the first run's admin token and secret key were never shown:\nfailed run stdout: %q\nnext run stdout: %q",
			stdout, s.stdout.String())
	}
	f := parseFirstRun(t, shown, s.URL)
	checkKeyWorks(t, s, f)
	checkAdminWorks(t, s, f)
	s.stop(t)
}

func TestServeBadConfig(t *testing.T) {
	dir := t.TempDir()
	unknownKey := filepath.Join(dir, "unknown.yaml")
	unknownNested := filepath.Join(dir, "nested.yaml")
	badLevel := filepath.Join(dir, "level.yaml")
	badTimeout := filepath.Join(dir, "timeout.yaml")
	for path, contents := range map[string]string{
		unknownKey:    "listn: x\n",
		unknownNested: "webhook:\n  timeout: 5s\n",
		badLevel:      "log:\n  level: loud\n",
		badTimeout:    "webhooks:\n  timeout: 5x\n",
	} {
		if err := os.WriteFile(path, []byte(contents), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name string
		env  []string
		args []string
		want []string // on stderr
	}{
		{"PAYMUX_LOG_LEVEL", []string{"PAYMUX_LOG_LEVEL=loud"}, nil, []string{"config key log.level", `got "loud"`}},
		{"PAYMUX_LOG_FORMAT", []string{"PAYMUX_LOG_FORMAT=xml"}, nil, []string{"config key log.format"}},
		{"PAYMUX_DATABASE_DSN", []string{"PAYMUX_DATABASE_DSN=mysql://x"}, nil, []string{"config key database.dsn"}},
		{"PAYMUX_ADMIN_TOKEN", []string{"PAYMUX_ADMIN_TOKEN=short"}, nil, []string{"config key admin_token"}},
		{"--listen", nil, []string{"--listen", "nope"}, []string{"config key listen", `got "nope"`}},
		{"--config unknown key", nil, []string{"--config", unknownKey}, []string{"listn", `config: unknown key "listn" (in ` + unknownKey + `); did you mean "listen"?`}},
		{"--config unknown nested key", nil, []string{"--config", unknownNested}, []string{`config: unknown key "webhook.timeout" (in ` + unknownNested + `); did you mean "webhooks.timeout"?`}},
		{"--config bad duration", nil, []string{"--config", badTimeout}, []string{`config key webhooks.timeout: "5x" is not a duration (e.g. 10s, 1m) (in ` + badTimeout + `)`}},
		{"PAYMUX_WEBHOOKS_TIMEOUT", []string{"PAYMUX_WEBHOOKS_TIMEOUT=5x"}, nil, []string{`config key webhooks.timeout: "5x" is not a duration (e.g. 10s, 1m) (from PAYMUX_WEBHOOKS_TIMEOUT)`}},
		{"PAYMUX_WEBHOOKS_WORKERS", []string{"PAYMUX_WEBHOOKS_WORKERS=many"}, nil, []string{`config key webhooks.workers: "many" is not a whole number (from PAYMUX_WEBHOOKS_WORKERS)`}},
		{"PAYMUX_CONFIG", []string{"PAYMUX_CONFIG=" + badLevel}, nil, []string{"config key log.level"}},
		{"--config missing", nil, []string{"--config", filepath.Join(t.TempDir(), "absent.yaml")}, []string{"absent.yaml"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dataDir := filepath.Join(t.TempDir(), "data")
			args := append([]string{"serve", "--data-dir", dataDir}, tt.args...)
			stdout, stderr, code := run(t, tt.env, args...)
			if code == 0 {
				t.Fatalf("paymux %v: exit 0, want failure\nstderr:\n%s", args, stderr)
			}
			for _, want := range tt.want {
				if !strings.Contains(stderr, want) {
					t.Errorf("stderr does not contain %q:\n%s", want, stderr)
				}
			}
			// The key and the value, not Go's names for types.
			for _, unwanted := range []string{"config.Config", "decoding failed", "strconv.", "time: "} {
				if strings.Contains(stderr, unwanted) {
					t.Errorf("stderr shows %q:\n%s", unwanted, stderr)
				}
			}
			if stdout != "" {
				t.Errorf("stdout: %q, want nothing", stdout)
			}
			if _, err := os.Stat(dataDir); !os.IsNotExist(err) {
				t.Errorf("a bad configuration still created the data directory (err %v)", err)
			}
		})
	}
}

// A misspelt PAYMUX_* variable is named on standard error, not ignored in
// silence; the variables paymux reads are not.
func TestUnknownEnvWarns(t *testing.T) {
	tests := []struct {
		name      string
		env       []string
		warn      []string // on stderr
		notWarned []string
	}{
		{
			name:      "a typo",
			env:       []string{"PAYMUX_WEBHOOK_ALLOW_PRIVATE=true", "PAYMUX_WEBHOOKS_TIMEOUT=5s"},
			warn:      []string{"unknown PAYMUX_ environment variable", "name=PAYMUX_WEBHOOK_ALLOW_PRIVATE", "did_you_mean=PAYMUX_WEBHOOKS_ALLOW_PRIVATE"},
			notWarned: []string{"PAYMUX_WEBHOOKS_TIMEOUT"},
		},
		{
			name: "as JSON when the log is",
			env:  []string{"PAYMUX_LOG_FORMAT=json", "PAYMUX_COLOUR=blue"},
			warn: []string{`"level":"WARN"`, `"name":"PAYMUX_COLOUR"`},
		},
		{
			name:      "known ones only",
			env:       []string{"PAYMUX_LOG_LEVEL=debug", "PAYMUX_TEST_ANYTHING=1", "PAYMUX_CONFIG="},
			notWarned: []string{"unknown PAYMUX_", "PAYMUX_TEST_ANYTHING"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, stderr, code := run(t, tt.env, "migrate", "--data-dir", filepath.Join(t.TempDir(), "data"))
			if code != 0 {
				t.Fatalf("migrate: exit %d\nstderr:\n%s", code, stderr)
			}
			for _, want := range tt.warn {
				if !strings.Contains(stderr, want) {
					t.Errorf("stderr does not contain %q:\n%s", want, stderr)
				}
			}
			for _, unwanted := range tt.notWarned {
				if strings.Contains(stderr, unwanted) {
					t.Errorf("stderr contains %q:\n%s", unwanted, stderr)
				}
			}
		})
	}
}

// One serve per data directory: a second is refused at start, naming the
// directory and the first; once the first stops, the next one starts.
func TestServeOneProcessPerDataDir(t *testing.T) {
	dataDir := filepath.Join(t.TempDir(), "data")
	first := startServe(t, nil, "--listen", "127.0.0.1:0", "--data-dir", dataDir)
	f := parseFirstRun(t, first.stdout.String(), first.URL)

	for _, args := range [][]string{
		{"serve", "--listen", "127.0.0.1:0", "--data-dir", dataDir},
		// The same directory by another name.
		{"serve", "--listen", "127.0.0.1:0", "--data-dir", dataDir + "/."},
	} {
		stdout, stderr, code := run(t, nil, args...)
		if code == 0 {
			t.Fatalf("a second serve on %s: exit 0\nstderr:\n%s", dataDir, stderr)
		}
		for _, want := range []string{"is in use by another paymux serve", dataDir, fmt.Sprintf("process %d", first.cmd.Process.Pid)} {
			if !strings.Contains(stderr, want) {
				t.Errorf("a second serve: stderr does not contain %q:\n%s", want, stderr)
			}
		}
		if stdout != "" {
			t.Errorf("a second serve printed %q", stdout)
		}
	}
	checkKeyWorks(t, first, f) // the first serves on, unharmed
	first.stop(t)

	next := startServe(t, nil, "--listen", "127.0.0.1:0", "--data-dir", dataDir)
	checkKeyWorks(t, next, f)
	next.stop(t)
}

func TestMigrate(t *testing.T) {
	dataDir := filepath.Join(t.TempDir(), "data")
	for i := range 2 { // the second run finds the schema up to date
		stdout, stderr, code := run(t, nil, "migrate", "--data-dir", dataDir)
		if code != 0 {
			t.Fatalf("migrate #%d: exit %d\nstderr:\n%s", i+1, code, stderr)
		}
		if !strings.Contains(stdout, "schema is up to date") {
			t.Errorf("migrate #%d: stdout %q, want \"schema is up to date\"", i+1, stdout)
		}
	}
	if _, err := os.Stat(filepath.Join(dataDir, "paymux.db")); err != nil {
		t.Errorf("migrate made no database: %v", err)
	}
}

// ---- PostgreSQL -------------------------------------------------------------

// postgresDSN is the PostgreSQL server to test on; CI always sets it.
func postgresDSN(t *testing.T) string {
	t.Helper()
	dsn := os.Getenv("PAYMUX_TEST_POSTGRES_DSN")
	if dsn == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("PAYMUX_TEST_POSTGRES_DSN must be set in CI")
		}
		t.Skip("PAYMUX_TEST_POSTGRES_DSN is not set")
	}
	return dsn
}

// freshSchema creates an empty schema, dropped after the test, and returns
// a DSN that uses it and the admin connection.
func freshSchema(t *testing.T, dsn string) (string, string, *sql.DB) {
	t.Helper()
	admin, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Close() })
	b := make([]byte, 8)
	rand.Read(b)
	schema := "pme2e_" + hex.EncodeToString(b)
	if _, err := admin.Exec("CREATE SCHEMA " + schema); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		if _, err := admin.Exec("DROP SCHEMA " + schema + " CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	sep := "?"
	if strings.Contains(dsn, "?") {
		sep = "&"
	}
	return dsn + sep + "search_path=" + schema, schema, admin
}

func tableCount(t *testing.T, db *sql.DB, schema string) int {
	t.Helper()
	var n int
	if err := db.QueryRow("SELECT count(*) FROM information_schema.tables WHERE table_schema = $1", schema).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestMigratePostgres(t *testing.T) {
	dsn, schema, admin := freshSchema(t, postgresDSN(t))
	dataDir := filepath.Join(t.TempDir(), "data")
	stdout, stderr, code := run(t, []string{"PAYMUX_DATABASE_DSN=" + dsn}, "migrate", "--data-dir", dataDir)
	if code != 0 {
		t.Fatalf("migrate: exit %d\nstderr:\n%s", code, stderr)
	}
	if !strings.Contains(stdout, "schema is up to date") {
		t.Errorf("migrate: stdout %q", stdout)
	}
	if n := tableCount(t, admin, schema); n == 0 {
		t.Errorf("migrate created no table in schema %s", schema)
	}
	if _, err := os.Stat(filepath.Join(dataDir, "paymux.db")); !os.IsNotExist(err) {
		t.Errorf("migrate on PostgreSQL made a SQLite database (err %v)", err)
	}
}

func TestServePostgres(t *testing.T) {
	dsn, schema, admin := freshSchema(t, postgresDSN(t))
	dataDir := filepath.Join(t.TempDir(), "data")
	env := []string{"PAYMUX_DATABASE_DSN=" + dsn, "PAYMUX_LOG_LEVEL=debug"}

	s := startServe(t, env, "--listen", "127.0.0.1:0", "--data-dir", dataDir)
	if !strings.Contains(s.stderr.String(), "database=PostgreSQL") {
		t.Errorf("log does not say PostgreSQL:\n%s", s.stderr)
	}
	f := parseFirstRun(t, s.stdout.String(), s.URL)
	checkKeyWorks(t, s, f)
	checkAdminWorks(t, s, f)
	s.stop(t)
	checkNoSecretsIn(t, s.stderr.String(), f)
	if strings.Contains(s.stderr.String(), dsn) {
		t.Errorf("the log contains the DSN")
	}
	if n := tableCount(t, admin, schema); n == 0 {
		t.Errorf("serve created no table in schema %s (search_path ignored?)", schema)
	}
	if _, err := os.Stat(filepath.Join(dataDir, "master.key")); err != nil {
		t.Errorf("master key: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dataDir, "paymux.db")); !os.IsNotExist(err) {
		t.Errorf("serve on PostgreSQL made a SQLite database (err %v)", err)
	}

	s2 := startServe(t, env, "--listen", "127.0.0.1:0", "--data-dir", dataDir)
	checkKeyWorks(t, s2, f)
	s2.stop(t)
	if out := s2.stdout.String(); out != "" {
		t.Errorf("second run printed on stdout:\n%s", out)
	}
}
