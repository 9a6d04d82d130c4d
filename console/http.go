package console

import (
	"encoding/json"
	"errors"
	"mime"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/paymux/paymux/apierr"
)

// Handler serves the console's sign-in endpoints under /console/auth/, as
// JSON (the console's own; not part of the API):
//
//	POST /console/auth/sign-in   {"email","password"} → {"csrfToken"} and the cookie
//	GET  /console/auth/session   → {"csrfToken"} while the cookie's session lives
//	POST /console/auth/sign-out  (X-CSRF-Token) → 204, the cookie cleared
//	POST /console/auth/setup/link {"token"} → {"email","expiresAt"} of a password link
//	POST /console/auth/setup     {"token","email","password"} → {"csrfToken"} and the cookie
//
// Errors are {"code","message"} with 400, 401, 403, 404, 423 or 500. A POST
// must be JSON from this origin: a form on another site can send neither.
// clientIP is the address paymux believes a request comes from.
func (s *Service) Handler(clientIP func(*http.Request) netip.Addr) http.Handler {
	h := &authHandler{s: s, clientIP: clientIP}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /console/auth/sign-in", h.signIn)
	mux.HandleFunc("GET /console/auth/session", h.session)
	mux.HandleFunc("POST /console/auth/sign-out", h.signOut)
	mux.HandleFunc("POST /console/auth/setup/link", h.link)
	mux.HandleFunc("POST /console/auth/setup", h.useLink)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		if r.Method == http.MethodPost && !h.sameOriginJSON(r) {
			writeError(w, http.StatusForbidden, "forbidden",
				"console requests are JSON (Content-Type: application/json) from the console's own origin")
			return
		}
		mux.ServeHTTP(w, r)
	})
}

type authHandler struct {
	s        *Service
	clientIP func(*http.Request) netip.Addr
}

// sameOriginJSON is the CSRF guard of requests made before a session
// exists: a JSON body cannot come from a cross-site form, and a browser's
// cross-site fetch says where it comes from in Origin.
func (h *authHandler) sameOriginJSON(r *http.Request) bool {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		return false
	}
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true // not a browser's cross-site request
	}
	if h.s.publicOrigin != "" && strings.EqualFold(origin, h.s.publicOrigin) {
		return true // behind a proxy that rewrites Host
	}
	u, err := url.Parse(origin)
	return err == nil && u.Host == r.Host
}

type credentials struct {
	Token    string `json:"token"`
	Email    string `json:"email"`
	Password string `json:"password"`
}

func readJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 16<<10)).Decode(v); err != nil {
		writeError(w, http.StatusBadRequest, "invalid_argument", "the body must be a JSON object")
		return false
	}
	return true
}

func (h *authHandler) signIn(w http.ResponseWriter, r *http.Request) {
	var c credentials
	if !readJSON(w, r, &c) {
		return
	}
	if c.Email == "" || c.Password == "" {
		writeError(w, http.StatusBadRequest, "invalid_argument", "email and password are required")
		return
	}
	token, expiry, err := h.s.SignIn(r.Context(), c.Email, c.Password, h.clientIP(r))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.endOldSession(r)
	h.startSession(w, r, token, expiry)
}

func (h *authHandler) startSession(w http.ResponseWriter, r *http.Request, token string, expiry time.Time) {
	http.SetCookie(w, &http.Cookie{
		Name: CookieName, Value: token, Path: "/", Expires: expiry,
		HttpOnly: true, Secure: r.TLS != nil || h.s.cfg.SecureCookie, SameSite: http.SameSiteStrictMode,
	})
	writeJSON(w, http.StatusOK, map[string]string{"csrfToken": h.s.CSRFToken(token)})
}

func (h *authHandler) session(w http.ResponseWriter, r *http.Request) {
	c, err := r.Cookie(CookieName)
	if err != nil {
		writeError(w, http.StatusUnauthorized, "unauthenticated", "not signed in")
		return
	}
	if _, err := h.s.session(r.Context(), c.Value); err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"csrfToken": h.s.CSRFToken(c.Value)})
}

func (h *authHandler) signOut(w http.ResponseWriter, r *http.Request) {
	c, err := r.Cookie(CookieName)
	if err == nil {
		if !h.s.csrfMatches(c.Value, r.Header.Get(CSRFHeader)) {
			writeError(w, http.StatusForbidden, "csrf_mismatch", "sign-out must carry the session's CSRF token in "+CSRFHeader)
			return
		}
		if err := h.s.SignOut(r.Context(), c.Value); err != nil {
			h.fail(w, r, err)
			return
		}
	}
	http.SetCookie(w, &http.Cookie{Name: CookieName, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: r.TLS != nil || h.s.cfg.SecureCookie, SameSite: http.SameSiteStrictMode})
	w.WriteHeader(http.StatusNoContent)
}

// link reads a password link. The token comes in a body, never in a URL,
// where proxies and access logs would keep it.
func (h *authHandler) link(w http.ResponseWriter, r *http.Request) {
	var c credentials
	if !readJSON(w, r, &c) {
		return
	}
	link, err := h.s.Link(r.Context(), c.Token)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"email": link.Email, "expiresAt": link.Expires.UTC().Format(time.RFC3339)})
}

func (h *authHandler) useLink(w http.ResponseWriter, r *http.Request) {
	var c credentials
	if !readJSON(w, r, &c) {
		return
	}
	token, expiry, err := h.s.UseLink(r.Context(), c.Token, c.Email, c.Password, h.clientIP(r))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.endOldSession(r)
	h.startSession(w, r, token, expiry)
}

// endOldSession ends the session a browser signing in again still holds,
// so no session outlives the sign-in that replaced it.
func (h *authHandler) endOldSession(r *http.Request) {
	if c, err := r.Cookie(CookieName); err == nil {
		if err := h.s.SignOut(r.Context(), c.Value); err != nil {
			h.s.log.WarnContext(r.Context(), "console: end the replaced session", "error", err)
		}
	}
}

// fail answers err: the sign-in refusals and apierr errors as they are,
// anything else as a masked 500 (logged).
func (h *authHandler) fail(w http.ResponseWriter, r *http.Request, err error) {
	var locked *LockedError
	var ae *apierr.Error
	switch {
	case errors.Is(err, ErrSignInFailed):
		writeError(w, http.StatusUnauthorized, "invalid_credentials", "wrong email or password")
	case errors.As(err, &locked):
		writeJSON(w, http.StatusLocked, map[string]string{"code": "locked",
			"message":     "too many failed sign-ins: try again after " + locked.Until.UTC().Format(time.RFC3339),
			"lockedUntil": locked.Until.UTC().Format(time.RFC3339)})
	case errors.As(err, &ae) && ae.Code == apierr.CodeUnauthenticated:
		writeError(w, http.StatusUnauthorized, "unauthenticated", ae.Message)
	case errors.As(err, &ae) && ae.Code == apierr.CodeNotFound:
		writeError(w, http.StatusNotFound, "invalid_link", ae.Message)
	case errors.As(err, &ae) && ae.Code == apierr.CodeInvalidArgument:
		fields := make([]map[string]string, len(ae.Violations))
		for i, v := range ae.Violations {
			fields[i] = map[string]string{"field": v.Field, "description": v.Description}
		}
		writeJSON(w, http.StatusBadRequest, map[string]any{"code": "invalid_argument", "message": ae.Message, "fields": fields})
	default:
		h.s.log.ErrorContext(r.Context(), "console auth", "path", r.URL.Path, "error", err)
		writeError(w, http.StatusInternalServerError, "internal", "internal error")
	}
}

func writeError(w http.ResponseWriter, status int, code, message string) {
	writeJSON(w, status, map[string]string{"code": code, "message": message})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
