// Package consoleui owns serving the built web console's assets: the
// single-page app that web/ builds into dist/ (scripts/generate runs the
// build; the result is committed and embedded, so no Node is needed at run
// time). The server mounts Handler at /console/; the console's sign-in
// endpoints under /console/auth/ are served by the Go backend, on a more
// specific pattern.
package consoleui

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"
)

//go:embed all:dist
var dist embed.FS

// Prefix is the path the console is served under.
const Prefix = "/console/"

// ContentSecurityPolicy lets the console load only its own scripts, styles
// and data, and be framed by no one. Inline styles are allowed for the
// component library's CSS variables; inline scripts are not.
const ContentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; " +
	"img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"

// Handler serves the console at /console/: files under /console/assets/ (whose
// names carry their content hash) with a year's immutable caching, and every
// other path under /console/ (the app's routes) the app's index.html, which
// is never cached. /console itself is redirected to /console/. No directory
// is ever listed.
func Handler() http.Handler {
	sub, err := fs.Sub(dist, "dist")
	if err != nil {
		panic(err)
	}
	index, err := fs.ReadFile(sub, "index.html")
	if err != nil {
		panic("consoleui: dist/index.html is missing: run scripts/generate")
	}
	sum := sha256.Sum256(index)
	return &handler{files: sub, index: index, indexETag: `"` + hex.EncodeToString(sum[:16]) + `"`}
}

type handler struct {
	files     fs.FS
	index     []byte
	indexETag string
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hdr := w.Header()
	hdr.Set("Content-Security-Policy", ContentSecurityPolicy)
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Set("Referrer-Policy", "no-referrer")
	hdr.Set("X-Frame-Options", "DENY")

	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		hdr.Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	p := r.URL.Path
	if p == strings.TrimSuffix(Prefix, "/") {
		target := Prefix
		if r.URL.RawQuery != "" {
			target += "?" + r.URL.RawQuery
		}
		http.Redirect(w, r, target, http.StatusMovedPermanently)
		return
	}
	rel, ok := strings.CutPrefix(p, Prefix)
	if !ok {
		http.NotFound(w, r)
		return
	}
	if strings.HasPrefix(rel, "assets/") {
		h.serveAsset(w, r, rel)
		return
	}
	h.serveIndex(w, r)
}

// serveAsset serves one built file; a missing asset (or a directory) is a
// 404, never the app, so a stale page fails loudly instead of running HTML
// as script.
func (h *handler) serveAsset(w http.ResponseWriter, r *http.Request, rel string) {
	name := path.Clean(rel)
	if name != rel || strings.HasSuffix(rel, "/") || !fs.ValidPath(name) {
		http.NotFound(w, r)
		return
	}
	data, err := fs.ReadFile(h.files, name)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(data))
}

func (h *handler) serveIndex(w http.ResponseWriter, r *http.Request) {
	hdr := w.Header()
	hdr.Set("Cache-Control", "no-cache")
	hdr.Set("Content-Type", "text/html; charset=utf-8")
	// no-cache revalidates: an unchanged build answers 304.
	hdr.Set("ETag", h.indexETag)
	http.ServeContent(w, r, "index.html", time.Time{}, bytes.NewReader(h.index))
}

// Files is the built console (dist/), for tests and tools.
func Files() fs.FS {
	sub, err := fs.Sub(dist, "dist")
	if err != nil {
		panic(err)
	}
	return sub
}
