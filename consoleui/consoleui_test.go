package consoleui_test

import (
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/paymux/paymux/consoleui"
)

// serve mounts the handler as the server does, at /console/ and /console.
func serve(t *testing.T, method, target string) *http.Response {
	t.Helper()
	mux := http.NewServeMux()
	h := consoleui.Handler()
	mux.Handle("/console/", h)
	mux.Handle("/console", h)
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest(method, target, nil))
	return rec.Result()
}

func body(t *testing.T, res *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func checkSecurityHeaders(t *testing.T, res *http.Response) {
	t.Helper()
	want := map[string]string{
		"Content-Security-Policy": consoleui.ContentSecurityPolicy,
		"X-Content-Type-Options":  "nosniff",
		"Referrer-Policy":         "no-referrer",
	}
	for k, v := range want {
		if got := res.Header.Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	for _, d := range []string{"default-src 'self'", "script-src 'self'", "frame-ancestors 'none'", "base-uri 'none'"} {
		if !strings.Contains(res.Header.Get("Content-Security-Policy"), d) {
			t.Errorf("CSP lacks %q", d)
		}
	}
}

// anAsset finds a built JavaScript and a CSS file under assets/.
func anAsset(t *testing.T, ext string) string {
	t.Helper()
	entries, err := fs.ReadDir(consoleui.Files(), "assets")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ext) {
			return e.Name()
		}
	}
	t.Fatalf("no %s asset in dist/assets", ext)
	return ""
}

func TestAssetServedWithTypeAndLongCache(t *testing.T) {
	for ext, ctype := range map[string]string{".js": "text/javascript", ".css": "text/css"} {
		name := anAsset(t, ext)
		res := serve(t, "GET", "/console/assets/"+name)
		if res.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d", name, res.StatusCode)
		}
		if got := res.Header.Get("Content-Type"); !strings.HasPrefix(got, ctype) {
			t.Errorf("%s: Content-Type %q, want %s", name, got, ctype)
		}
		if got := res.Header.Get("Cache-Control"); got != "public, max-age=31536000, immutable" {
			t.Errorf("%s: Cache-Control %q", name, got)
		}
		checkSecurityHeaders(t, res)
		if len(body(t, res)) == 0 {
			t.Errorf("%s: empty body", name)
		}
	}
}

func TestSPARoutesGetIndexUncached(t *testing.T) {
	for _, p := range []string{"/console/", "/console/keys", "/console/payments/pay_123", "/console/setup", "/console/index.html"} {
		res := serve(t, "GET", p)
		if res.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d", p, res.StatusCode)
		}
		b := body(t, res)
		if !strings.Contains(b, `<div id="root">`) || !strings.Contains(b, "/console/assets/") {
			t.Errorf("GET %s: not the app's index.html: %.200s", p, b)
		}
		if got := res.Header.Get("Cache-Control"); got != "no-cache" {
			t.Errorf("GET %s: Cache-Control %q, want no-cache", p, got)
		}
		if got := res.Header.Get("Content-Type"); got != "text/html; charset=utf-8" {
			t.Errorf("GET %s: Content-Type %q", p, got)
		}
		checkSecurityHeaders(t, res)
	}
}

func TestIndexRevalidates(t *testing.T) {
	res := serve(t, "GET", "/console/keys")
	etag := res.Header.Get("ETag")
	if etag == "" {
		t.Fatal("index.html has no ETag")
	}
	mux := http.NewServeMux()
	mux.Handle("/console/", consoleui.Handler())
	req := httptest.NewRequest("GET", "/console/payments", nil)
	req.Header.Set("If-None-Match", etag)
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, req)
	if rec.Code != http.StatusNotModified {
		t.Errorf("If-None-Match with the ETag: %d, want 304", rec.Code)
	}
}

func TestIndexHasNoInlineScript(t *testing.T) {
	b := body(t, serve(t, "GET", "/console/"))
	for _, s := range strings.Split(b, "<script")[1:] {
		if !strings.Contains(s[:strings.Index(s, ">")], "src=") {
			t.Errorf("inline script in index.html (CSP forbids it): <script%.100s", s)
		}
	}
}

func TestNoDirectoryListingNorMissingAssets(t *testing.T) {
	for _, p := range []string{"/console/assets/", "/console/assets/nope.js", "/console/assets/sub/", "/console/assets/../assets/", "/console/assets//x.js"} {
		res := serve(t, "GET", p)
		b := body(t, res)
		if strings.Contains(b, "<pre>") || strings.Contains(b, `<a href="index-`) {
			t.Errorf("GET %s lists a directory: %.200s", p, b)
		}
		switch res.StatusCode {
		case http.StatusNotFound:
		case http.StatusMovedPermanently, http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
			// ServeMux cleans the path first.
		default:
			t.Errorf("GET %s: %d, want 404", p, res.StatusCode)
		}
	}
	// Outside assets/, a directory name is only an app route.
	if b := body(t, serve(t, "GET", "/console/assets")); !strings.Contains(b, `<div id="root">`) {
		t.Errorf("GET /console/assets: not the app: %.200s", b)
	}
}

func TestConsoleWithoutSlashRedirects(t *testing.T) {
	res := serve(t, "GET", "/console?x=1")
	if res.StatusCode != http.StatusMovedPermanently {
		t.Fatalf("GET /console: %d, want 301", res.StatusCode)
	}
	if got := res.Header.Get("Location"); got != "/console/?x=1" {
		t.Errorf("Location %q", got)
	}
}

func TestHeadAndMethods(t *testing.T) {
	if res := serve(t, "HEAD", "/console/keys"); res.StatusCode != http.StatusOK {
		t.Errorf("HEAD: %d", res.StatusCode)
	}
	res := serve(t, "POST", "/console/keys")
	if res.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST: %d, want 405", res.StatusCode)
	}
	checkSecurityHeaders(t, res)
}
