package web

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/packetflow/packetflow/actor"
	"github.com/packetflow/packetflow/intent"
)

// SessionCookie is the name of the cookie that carries a browser's
// session after it signed in on the login page.
const SessionCookie = "packetflow_session"

// CSRFField is the form field (or, for scripts, the X-CSRF-Token header)
// that carries the session's CSRF token on state-changing requests a
// session cookie authenticates.
const CSRFField = "csrf"

// Session defaults (see Config).
const (
	DefaultSessionTTL  = 8 * time.Hour
	DefaultMaxSessions = 10000
)

// session is one signed-in browser. Only the digest of its secret (the
// cookie's value) is kept, so the table does not hold usable credentials.
type session struct {
	id        string // public: the first 16 hex digits of the digest, for logs and intent.Context.Session
	principal string
	csrf      string
	expires   time.Time
}

// sessionStore is the node's table of sessions. It is in memory: a
// restarted node forgets them and browsers sign in again. It starts no
// goroutine; expired sessions are dropped when met or when the table is
// full.
type sessionStore struct {
	ttl time.Duration
	max int

	mu       sync.Mutex // guards byDigest
	byDigest map[[sha256.Size]byte]*session
}

func newSessionStore(ttl time.Duration, max int) *sessionStore {
	return &sessionStore{ttl: ttl, max: max, byDigest: map[[sha256.Size]byte]*session{}}
}

// create starts a session for principal and returns its secret.
func (s *sessionStore) create(principal string, now time.Time) (string, *session) {
	secret := randomToken()
	d := sha256.Sum256([]byte(secret))
	sess := &session{id: hex.EncodeToString(d[:8]), principal: principal, csrf: randomToken(), expires: now.Add(s.ttl)}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.byDigest) >= s.max {
		s.evictLocked(now)
	}
	s.byDigest[d] = sess
	return secret, sess
}

// evictLocked drops expired sessions and, if the table is still full, the
// one closest to expiring.
func (s *sessionStore) evictLocked(now time.Time) {
	var soonest [sha256.Size]byte
	var soonestAt time.Time
	for d, sess := range s.byDigest {
		if !now.Before(sess.expires) {
			delete(s.byDigest, d)
			continue
		}
		if soonestAt.IsZero() || sess.expires.Before(soonestAt) {
			soonest, soonestAt = d, sess.expires
		}
	}
	if len(s.byDigest) >= s.max {
		delete(s.byDigest, soonest)
	}
}

// lookup returns the live session whose secret is secret, or nil.
func (s *sessionStore) lookup(secret string, now time.Time) *session {
	if secret == "" || len(secret) > 128 {
		return nil
	}
	d := sha256.Sum256([]byte(secret))
	s.mu.Lock()
	defer s.mu.Unlock()
	sess := s.byDigest[d]
	if sess == nil {
		return nil
	}
	if !now.Before(sess.expires) {
		delete(s.byDigest, d)
		return nil
	}
	return sess
}

// end forgets the session whose secret is secret.
func (s *sessionStore) end(secret string) {
	d := sha256.Sum256([]byte(secret))
	s.mu.Lock()
	delete(s.byDigest, d)
	s.mu.Unlock()
}

// randomToken returns 256 random bits, base64url-encoded.
func randomToken() string {
	var b [32]byte
	_, _ = rand.Read(b[:]) // never fails: crypto/rand aborts the process instead
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// authenticator finds who a request comes from: a bearer token, or (for
// pages) a session cookie.
type authenticator struct {
	rt         *actor.Runtime
	principals *Principals
	sessions   *sessionStore
	origins    *http.CrossOriginProtection
}

// authenticate returns r's caller. A request with an Authorization header
// is judged by it alone; otherwise a page accepts a session cookie.
func (a *authenticator) authenticate(r *http.Request, page bool) (*intent.Context, *session, *apiError) {
	var p *Principal
	var sess *session
	if len(r.Header.Values("Authorization")) > 0 || !page {
		var e *apiError
		if p, e = a.bearer(r); e != nil {
			return nil, nil, e
		}
	} else {
		c, err := r.Cookie(SessionCookie)
		if err != nil {
			return nil, nil, newError(http.StatusUnauthorized, codeUnauthenticated, "sign in to see this page")
		}
		if sess = a.sessions.lookup(c.Value, time.Now()); sess != nil {
			p = a.principals.byName(sess.principal)
		}
		if p == nil {
			return nil, nil, newError(http.StatusUnauthorized, codeUnauthenticated, "your session has ended; sign in again")
		}
	}
	caller, err := a.rt.NewContext(p.Name, p.Capabilities...)
	if err != nil {
		// NewHandler compiled these grants already.
		return nil, nil, newError(http.StatusInternalServerError, codeInternal, "the principal's capabilities do not compile")
	}
	if sess != nil {
		caller.SessionID = sess.id
	}
	return caller, sess, nil
}

// bearer returns the principal named by r's bearer token.
func (a *authenticator) bearer(r *http.Request) (*Principal, *apiError) {
	values := r.Header.Values("Authorization")
	if len(values) == 0 {
		return nil, newError(http.StatusUnauthorized, codeUnauthenticated,
			"missing bearer token: send Authorization: Bearer <token>")
	}
	scheme, token, ok := strings.Cut(values[0], " ")
	if len(values) > 1 || !ok || !strings.EqualFold(scheme, "Bearer") || token == "" || strings.ContainsAny(token, " \t") {
		return nil, newError(http.StatusUnauthorized, codeUnauthenticated,
			"malformed Authorization header: want one header, Bearer <token>")
	}
	p := a.principals.lookup(token)
	if p == nil {
		return nil, newError(http.StatusUnauthorized, codeUnauthenticated, "unknown bearer token")
	}
	return p, nil
}

// maxFormBytes bounds the body of a page's form.
const maxFormBytes = 64 << 10

// checkCSRF refuses a state-changing request that a session cookie
// authenticated unless it is same-origin (Sec-Fetch-Site, Origin) and
// carries the session's CSRF token.
func (a *authenticator) checkCSRF(w http.ResponseWriter, r *http.Request, sess *session) *apiError {
	if err := a.origins.Check(r); err != nil {
		return newError(http.StatusForbidden, codeForbidden, "cross-origin request refused")
	}
	token := r.Header.Get("X-CSRF-Token")
	if token == "" {
		r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
		token = r.PostFormValue(CSRFField)
	}
	if subtle.ConstantTimeCompare([]byte(token), []byte(sess.csrf)) != 1 {
		return newError(http.StatusForbidden, codeForbidden, "missing or stale form token: reload the page and try again")
	}
	return nil
}

// CSRFToken returns the CSRF token of the session that authenticated r, to
// put in a form's hidden CSRFField; "" when no session did (a bearer token
// needs none).
func CSRFToken(r *http.Request) string {
	if x := exchangeOf(r); x != nil && x.session != nil {
		return x.session.csrf
	}
	return ""
}
