package web

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/packetflow/packetflow/actor"
	"github.com/packetflow/packetflow/capability"
	"github.com/packetflow/packetflow/intent"
)

// Route declares one route of a Router: where it is, who may call it and
// what serves it. The router authenticates the caller, builds its
// PacketFlow context and checks Requires before Handler runs, so a handler
// never sees a caller that lacks them.
type Route struct {
	// Method is the HTTP method the route answers. A GET route answers
	// HEAD too. Other methods on the same pattern are answered 405 with an
	// Allow header, unless another route declares them.
	Method string
	// Pattern is a net/http ServeMux path pattern without method or host,
	// for example "/v1/intents", "/files/{path...}" or "/{$}".
	Pattern string
	// Public routes serve callers without credentials too; Caller returns
	// nil for them (or the caller, when valid credentials came along; a
	// session cookie is ignored on a state-changing request, which has no
	// CSRF check). Zero: the caller must authenticate (401 otherwise).
	Public bool
	// Requires lists capabilities the caller must hold, checked with the
	// implication hierarchy and resource patterns of the node's catalog
	// (403 naming what is missing otherwise). A "{name}" in a resource is
	// replaced by the request's path value of the pattern's wildcard of that
	// name: "/files/{path...}" requiring "file:read:/{path}" needs
	// file:read:/docs/a.txt for /files/docs/a.txt. A substituted resource
	// that is invalid or not canonical (it would change under path
	// cleaning) is answered 400. Requires implies authentication.
	Requires []string
	// Page makes the route a page for browsers: errors are HTML pages
	// rather than JSON, and a session cookie (see the login page)
	// authenticates the caller as well as a bearer token does; a request
	// with an unsafe method (POST, PUT, PATCH, DELETE) that a cookie
	// authenticates must carry the session's CSRF token (CSRFToken). API
	// routes (Page false) accept only bearer tokens.
	Page bool
	// Handler serves the request once it is allowed.
	Handler http.HandlerFunc

	// observe, when set, is told how each request ended (the error code
	// or codeOK) and how long it took; for the intent metrics.
	observe func(x *exchange, d time.Duration)
}

// exchange is the router's per-request state, reachable from the request's
// context.
type exchange struct {
	caller  *intent.Context
	session *session // when a session cookie authenticated the caller
	page    bool     // errors are HTML pages
	code    string   // the error code written, or codeOK
	label   string   // the metric label a handler chose (intents: the type)
}

type exchangeKey struct{}

func exchangeOf(r *http.Request) *exchange {
	x, _ := r.Context().Value(exchangeKey{}).(*exchange)
	return x
}

// Caller returns the authenticated caller of a request served by a Router
// route: its principal, a fresh request id and the principal's grants. It
// is nil on a public route called without credentials, and outside a
// Router.
func Caller(r *http.Request) *intent.Context {
	if x := exchangeOf(r); x != nil {
		return x.caller
	}
	return nil
}

// Router dispatches requests to declared Routes over an http.ServeMux and
// checks each route's authentication and capabilities. Routes are declared
// before serving starts; ServeHTTP is safe for concurrent use.
type Router struct {
	rt       *actor.Runtime
	auth     *authenticator
	log      *slog.Logger
	pages    *pageRenderer
	mux      *http.ServeMux
	patterns map[string]*patternRoutes
}

// patternRoutes are the routes of one pattern, by method.
type patternRoutes struct {
	byMethod map[string]*compiledRoute
	page     bool // answer 405 as a page: some route of the pattern is one
}

type compiledRoute struct {
	Route
	requires []requirementTemplate
}

func newRouter(rt *actor.Runtime, auth *authenticator, pages *pageRenderer, log *slog.Logger) *Router {
	r := &Router{rt: rt, auth: auth, log: log, pages: pages, mux: http.NewServeMux(), patterns: map[string]*patternRoutes{}}
	r.mux.HandleFunc("/", r.notFound)
	return r
}

// Handle declares route. A missing method, pattern or handler, a pattern
// ServeMux refuses, a method already declared for the pattern, and a
// requirement that does not parse, names an unknown domain or operation,
// or names a wildcard the pattern lacks are errors.
func (rr *Router) Handle(route Route) error {
	if route.Method == "" || route.Pattern == "" || route.Handler == nil {
		return errors.New("web: a route needs a method, a pattern and a handler")
	}
	if strings.ContainsAny(route.Pattern, " \t") || !strings.HasPrefix(route.Pattern, "/") {
		return fmt.Errorf("web: route pattern %q: want a path pattern starting with /, without method or host", route.Pattern)
	}
	route.Method = strings.ToUpper(route.Method)
	c := &compiledRoute{Route: route}
	for _, s := range route.Requires {
		tmpl, err := compileRequirement(rr.rt.Catalog(), route.Pattern, s)
		if err != nil {
			return fmt.Errorf("web: route %s %s: %w", route.Method, route.Pattern, err)
		}
		c.requires = append(c.requires, tmpl)
	}
	p := rr.patterns[route.Pattern]
	if p == nil {
		p = &patternRoutes{byMethod: map[string]*compiledRoute{}}
		if err := registerPattern(rr.mux, route.Pattern, func(w http.ResponseWriter, r *http.Request) { rr.serve(p, w, r) }); err != nil {
			return fmt.Errorf("web: route %s %s: %w", route.Method, route.Pattern, err)
		}
		rr.patterns[route.Pattern] = p
	}
	if _, dup := p.byMethod[route.Method]; dup {
		return fmt.Errorf("web: route %s %s declared twice", route.Method, route.Pattern)
	}
	p.byMethod[route.Method] = c
	p.page = p.page || route.Page
	return nil
}

// registerPattern adds pattern to mux, turning ServeMux's panic on a bad
// or conflicting pattern into an error.
func registerPattern(mux *http.ServeMux, pattern string, h http.HandlerFunc) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("%v", v)
		}
	}()
	mux.HandleFunc(pattern, h)
	return nil
}

// ServeHTTP dispatches r to its route.
func (rr *Router) ServeHTTP(w http.ResponseWriter, r *http.Request) { rr.mux.ServeHTTP(w, r) }

// serve runs the checks of the route p declares for r's method, then its
// handler.
func (rr *Router) serve(p *patternRoutes, w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	method := r.Method
	if method == http.MethodHead && p.byMethod[http.MethodHead] == nil {
		method = http.MethodGet
	}
	route := p.byMethod[method]
	x := &exchange{code: codeOK, page: p.page}
	if route != nil {
		x.page = route.Page
	}
	if observe := p.observer(route); observe != nil {
		defer func() { observe(x, time.Since(start)) }()
	}
	if route == nil {
		allowed := p.methods()
		w.Header().Set("Allow", strings.Join(allowed, ", "))
		x.code = rr.fail(w, r, p.page, newError(http.StatusMethodNotAllowed, codeMethodNotAllowed,
			fmt.Sprintf("method %s not allowed, use %s", truncate(r.Method, 32), strings.Join(allowed, " or "))))
		return
	}
	r = r.WithContext(context.WithValue(r.Context(), exchangeKey{}, x))
	if e := rr.admit(route, x, w, r); e != nil {
		x.code = rr.fail(w, r, route.Page, e)
		return
	}
	route.Handler(w, r)
}

// observer returns the observer of route or, for a method no route
// declares, of the pattern's first route that has one.
func (p *patternRoutes) observer(route *compiledRoute) func(*exchange, time.Duration) {
	if route != nil {
		return route.observe
	}
	for _, m := range p.methods() {
		if c := p.byMethod[m]; c != nil && c.observe != nil {
			return c.observe
		}
	}
	return nil
}

// admit authenticates r's caller for route and checks its capabilities.
func (rr *Router) admit(route *compiledRoute, x *exchange, w http.ResponseWriter, r *http.Request) *apiError {
	mustAuth := !route.Public || len(route.requires) > 0
	caller, sess, e := rr.auth.authenticate(r, route.Page)
	switch {
	case e != nil && mustAuth:
		return e
	case e != nil, !mustAuth && sess != nil && unsafeMethod(r.Method):
		// A public route ignores bad credentials, and a session cookie on
		// a state-changing request (which would need its CSRF token).
		caller, sess = nil, nil
	}
	x.caller, x.session = caller, sess
	if sess != nil && unsafeMethod(r.Method) {
		if e := rr.auth.checkCSRF(w, r, sess); e != nil {
			return e
		}
	}
	if len(route.requires) == 0 {
		return nil
	}
	reqs := make([]capability.Capability, 0, len(route.requires))
	for _, t := range route.requires {
		c, e := t.expand(r)
		if e != nil {
			return e
		}
		reqs = append(reqs, c)
	}
	return rr.check(caller, reqs)
}

// check answers 403 naming what is missing unless caller holds reqs.
func (rr *Router) check(caller *intent.Context, reqs []capability.Capability) *apiError {
	compiled, err := rr.rt.Catalog().Require(reqs...)
	if err != nil {
		// Templates were compiled against the catalog, so only a
		// substituted resource can fail here.
		return invalid("route requirement: %s", truncate(err.Error(), 2*maxEcho))
	}
	missing := caller.Grants.Missing(compiled, time.Now())
	if len(missing) == 0 {
		return nil
	}
	names := make([]string, len(missing))
	for i, m := range missing {
		names[i] = m.String()
	}
	e := newError(http.StatusForbidden, codePermissionDenied, "permission denied: missing "+strings.Join(names, ", "))
	e.Missing = names
	return e
}

// Authorize checks, inside a route's handler, capabilities that depend on
// more than the path (for example on a record the handler loaded): it
// answers 401 or 403 in the route's error form and returns false unless
// the caller holds caps (capability strings).
func (rr *Router) Authorize(w http.ResponseWriter, r *http.Request, caps ...string) bool {
	x := exchangeOf(r)
	if x == nil || x.caller == nil {
		rr.fail(w, r, x != nil && x.page, newError(http.StatusUnauthorized, codeUnauthenticated, "sign in first"))
		return false
	}
	page := x.page
	reqs := make([]capability.Capability, 0, len(caps))
	for _, s := range caps {
		c, err := capability.Parse(s)
		if err != nil {
			rr.log.Error("web: Authorize with a malformed capability", "capability", truncate(s, maxEcho), "err", err)
			x.code = rr.fail(w, r, page, newError(http.StatusInternalServerError, codeInternal, "internal error"))
			return false
		}
		reqs = append(reqs, c)
	}
	if e := rr.check(x.caller, reqs); e != nil {
		x.code = rr.fail(w, r, page, e)
		return false
	}
	return true
}

// codeByStatus is the error code of each status Router.Error writes.
var codeByStatus = map[int]string{
	http.StatusBadRequest:          codeInvalidArgument,
	http.StatusUnauthorized:        codeUnauthenticated,
	http.StatusForbidden:           codeForbidden,
	http.StatusNotFound:            codeNotFound,
	http.StatusConflict:            codeConflict,
	http.StatusUnprocessableEntity: codeFailed,
	http.StatusServiceUnavailable:  codeUnavailable,
	http.StatusGatewayTimeout:      codeDeadlineExceeded,
}

// Error answers r with status and message in the form of its route (a JSON
// error or an HTML page), for handlers of routes declared on the router.
// The error code follows the status: 400 invalid_argument, 401
// unauthenticated, 403 forbidden, 404 not_found, 409 conflict, 422 failed,
// 503 unavailable, 504 deadline_exceeded, other statuses internal.
func (rr *Router) Error(w http.ResponseWriter, r *http.Request, status int, message string) {
	code, ok := codeByStatus[status]
	if !ok {
		code, status = codeInternal, http.StatusInternalServerError
	}
	x := exchangeOf(r)
	code = rr.fail(w, r, x != nil && x.page, newError(status, code, message))
	if x != nil {
		x.code = code
	}
}

// fail writes e as a JSON error or, for a page, as an HTML error page, and
// returns its code.
func (rr *Router) fail(w http.ResponseWriter, r *http.Request, page bool, e *apiError) string {
	if e.status == http.StatusUnauthorized && !page {
		w.Header().Set("WWW-Authenticate", `Bearer realm="packetflow"`)
	}
	if page {
		rr.pages.error(w, r, e)
		return e.Code
	}
	return writeError(w, e)
}

// notFound answers a path no route declares: an HTML page for a browser
// asking for HTML outside the API's /v1/, JSON otherwise.
func (rr *Router) notFound(w http.ResponseWriter, r *http.Request) {
	page := prefersHTML(r) && !strings.HasPrefix(r.URL.Path, "/v1/")
	rr.fail(w, r, page, newError(http.StatusNotFound, codeNotFound, "no route "+truncate(r.URL.Path, maxEcho)))
}

// prefersHTML reports whether r comes from a browser navigating (it lists
// text/html among what it accepts).
func prefersHTML(r *http.Request) bool {
	return strings.Contains(r.Header.Get("Accept"), "text/html")
}

func unsafeMethod(m string) bool {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
		return false
	}
	return true
}

// methods lists the methods the pattern answers, HEAD with GET, sorted.
func (p *patternRoutes) methods() []string {
	var out []string
	for m := range p.byMethod {
		out = append(out, m)
		if m == http.MethodGet && p.byMethod[http.MethodHead] == nil {
			out = append(out, http.MethodHead)
		}
	}
	slices.Sort(out)
	return out
}
