package web

import (
	"net/http"
	"strings"
	"time"
)

// How a browser signs in: the login page takes the viewer's API token (the
// one a script sends as a bearer token) and, when it names a principal,
// starts a server-side session and sets SessionCookie to the session's
// random secret: HttpOnly (no script reads it), SameSite=Strict (no other
// site's page sends it), Path=/, Secure when the request came over TLS,
// expiring with the session. The token itself is never stored in the
// browser. Every state-changing request a cookie authenticates must be
// same-origin (net/http's CrossOriginProtection: Sec-Fetch-Site, Origin)
// and carry the session's CSRF token in the form field CSRFField; the
// sign-in itself must be same-origin. Signing out ends the session on the
// node.

// loginContent is the content of the login page.
type loginContent struct{ Next string }

// serveLoginPage serves GET /login.
func (h *Handler) serveLoginPage(w http.ResponseWriter, r *http.Request) {
	next := safeNext(r.URL.Query().Get("next"))
	if Caller(r) != nil {
		http.Redirect(w, r, next, http.StatusSeeOther)
		return
	}
	h.pages.render(w, r, http.StatusOK, "login", "Sign in", loginContent{Next: next})
}

// maxLoginBytes bounds the body of a sign-in.
const maxLoginBytes = 8 << 10

// serveLogin serves POST /login: token and next from the form.
func (h *Handler) serveLogin(w http.ResponseWriter, r *http.Request) {
	if err := h.auth.origins.Check(r); err != nil {
		h.pages.error(w, r, newError(http.StatusForbidden, codeForbidden, "cross-origin sign-in refused"))
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxLoginBytes)
	if err := r.ParseForm(); err != nil {
		h.pages.error(w, r, invalid("the sign-in form could not be read: %v", err))
		return
	}
	next := safeNext(r.PostFormValue("next"))
	p := h.principals.lookup(strings.TrimSpace(r.PostFormValue("token")))
	if p == nil {
		e := newError(http.StatusUnauthorized, codeUnauthenticated, "that token names nobody on this node")
		content := errorPage{Status: e.status, Title: http.StatusText(e.status), Code: e.Code, Message: e.Message, SignIn: true, Next: next}
		h.pages.render(w, r, e.status, "error", content.Title, content)
		return
	}
	if old, err := r.Cookie(SessionCookie); err == nil {
		h.auth.sessions.end(old.Value) // a sign-in always starts a fresh session
	}
	secret, sess := h.auth.sessions.create(p.Name, time.Now())
	http.SetCookie(w, &http.Cookie{
		Name: SessionCookie, Value: secret, Path: "/",
		MaxAge:   int(h.auth.sessions.ttl / time.Second),
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil,
	})
	h.log.Info("web: signed in", "principal", p.Name, "session", sess.id)
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// serveLogout serves POST /logout: it ends the session (the router has
// checked its CSRF token) and clears the cookie.
func (h *Handler) serveLogout(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(SessionCookie); err == nil {
		h.auth.sessions.end(c.Value)
	}
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil})
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}
