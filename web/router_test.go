package web_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/packetflow/packetflow/examples/counter/counterpb"
	"github.com/packetflow/packetflow/web"
)

// pageResponse is a recorded response whose body is not JSON.
type pageResponse struct {
	status int
	header http.Header
	body   string
}

// get serves one request on h with the given headers (name, value pairs)
// and returns it as it came.
func get(t testing.TB, h http.Handler, method, path string, headers ...string) pageResponse {
	t.Helper()
	req := httptest.NewRequest(method, path, nil)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Add(headers[i], headers[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return pageResponse{status: rec.Code, header: rec.Header(), body: rec.Body.String()}
}

// requireErrorPage checks that res is an HTML error page with status and
// code.
func requireErrorPage(t testing.TB, res pageResponse, status int, code string) {
	t.Helper()
	require.Equal(t, status, res.status, res.body)
	require.Equal(t, "text/html; charset=utf-8", res.header.Get("Content-Type"))
	require.Contains(t, res.header.Get("Content-Security-Policy"), "script-src 'self'")
	require.Contains(t, res.body, `data-code="`+code+`"`)
}

// filesHandler is a handler with a file route declared the way an
// application declares its own: /files/{path...} needs file:read on the
// path, as an API route and as a page.
func filesHandler(t *testing.T) *web.Handler {
	t.Helper()
	h := newHandler(t, newNode(t))
	serve := func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		_, _ = w.Write([]byte(web.Caller(r).Principal + " reads /" + r.PathValue("path")))
	}
	require.NoError(t, h.Handle(web.Route{Method: http.MethodGet, Pattern: "/files/{path...}", Requires: []string{"file:read:/{path}"}, Handler: serve}))
	require.NoError(t, h.Handle(web.Route{Method: http.MethodGet, Pattern: "/pages/files/{path...}", Requires: []string{"file:read:/{path}"}, Page: true, Handler: serve}))
	return h
}

func TestRouteRequirementFromPath(t *testing.T) {
	h := filesHandler(t)
	// wendy holds file:write:/docs/*: write implies read, and /docs/*
	// covers everything below /docs.
	tests := []struct {
		name, path, token string
		status            int
		code              string
		missing           []string
	}{
		{name: "a file inside the grant", path: "/files/docs/a.txt", token: "wendy-token", status: 200},
		{name: "deeper inside the grant", path: "/files/docs/x/y/z.md", token: "wendy-token", status: 200},
		{name: "the pattern's root is not below it", path: "/files/docs", token: "wendy-token", status: 403, code: "permission_denied", missing: []string{"file:read:/docs"}},
		{name: "a sibling that shares the prefix", path: "/files/docsx/a", token: "wendy-token", status: 403, code: "permission_denied", missing: []string{"file:read:/docsx/a"}},
		{name: "another tree", path: "/files/etc/passwd", token: "wendy-token", status: 403, code: "permission_denied", missing: []string{"file:read:/etc/passwd"}},
		{name: "no file capability at all", path: "/files/docs/a.txt", token: "alice", status: 403, code: "permission_denied", missing: []string{"file:read:/docs/a.txt"}},
		{name: "no token", path: "/files/docs/a.txt", status: 401, code: "unauthenticated"},
		{name: "unknown token", path: "/files/docs/a.txt", token: "mallory", status: 401, code: "unauthenticated"},
		{name: "a star would widen the requirement to a subtree", path: "/files/docs/*", token: "wendy-token", status: 400, code: "invalid_argument"},
		{name: "an escaped slash that climbs out is not canonical", path: "/files/docs/..%2Fetc%2Fpasswd", token: "wendy-token", status: 400, code: "invalid_argument"},
		{name: "whitespace is no resource", path: "/files/docs/a%20b", token: "wendy-token", status: 400, code: "invalid_argument"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodGet, tc.path, nil)
			if tc.token != "" {
				req.Header.Set("Authorization", "Bearer "+tc.token)
			}
			if tc.status == 200 {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				require.Equal(t, 200, rec.Code, rec.Body.String())
				require.Equal(t, "wendy reads "+strings.TrimPrefix(tc.path, "/files"), rec.Body.String())
				return
			}
			res := serve(t, h, req)
			require.Equal(t, tc.status, res.status, res.raw)
			require.Equal(t, tc.code, res.errorCode(), res.raw)
			if tc.missing != nil {
				require.ElementsMatch(t, tc.missing, res.errorField("missing"), res.raw)
			}
			if tc.status == 401 {
				require.Equal(t, `Bearer realm="packetflow"`, res.header.Get("WWW-Authenticate"))
			}
		})
	}
}

func TestPageRouteErrorsArePages(t *testing.T) {
	h := filesHandler(t)
	res := get(t, h, http.MethodGet, "/pages/files/etc/passwd", "Authorization", "Bearer wendy-token")
	requireErrorPage(t, res, 403, "permission_denied")
	require.Contains(t, res.body, "<code>file:read:/etc/passwd</code>", "the page names what is missing")

	res = get(t, h, http.MethodGet, "/pages/files/docs/a")
	requireErrorPage(t, res, 401, "unauthenticated")
	require.Contains(t, res.body, `id="login"`, "a 401 page offers the login form")
	require.Contains(t, res.body, `name="next" value="/pages/files/docs/a"`)

	res = get(t, h, http.MethodPost, "/pages/files/docs/a", "Authorization", "Bearer wendy-token")
	requireErrorPage(t, res, 405, "method_not_allowed")
	require.Equal(t, "GET, HEAD", res.header.Get("Allow"))

	res = get(t, h, http.MethodHead, "/pages/files/docs/a", "Authorization", "Bearer wendy-token")
	require.Equal(t, 200, res.status, "GET routes answer HEAD")
}

func TestNotFoundFormByAccept(t *testing.T) {
	h := newHandler(t, newNode(t))
	requireErrorPage(t, get(t, h, http.MethodGet, "/nope", "Accept", "text/html,application/xhtml+xml"), 404, "not_found")
	res := get(t, h, http.MethodGet, "/v1/nope", "Accept", "text/html")
	require.Equal(t, "application/json", res.header.Get("Content-Type"), "the API answers JSON whatever a browser asks")
	require.Contains(t, res.body, `"code":"not_found"`)
}

func TestRouteDeclarationErrors(t *testing.T) {
	h := newHandler(t, newNode(t))
	ok := func(http.ResponseWriter, *http.Request) {}
	// Neither this nor /v1/{what}/zz is more specific than the other.
	require.NoError(t, h.Handle(web.Route{Method: "GET", Pattern: "/{a}/stats/zz", Handler: ok}))
	tests := []struct {
		name  string
		route web.Route
		want  string
	}{
		{"no method", web.Route{Pattern: "/x", Handler: ok}, "needs a method"},
		{"no handler", web.Route{Method: "GET", Pattern: "/x"}, "needs a method, a pattern and a handler"},
		{"method in the pattern", web.Route{Method: "GET", Pattern: "GET /x", Handler: ok}, "without method or host"},
		{"bad wildcard", web.Route{Method: "GET", Pattern: "/x/{a", Handler: ok}, "/x/{a"},
		{"declared twice", web.Route{Method: "GET", Pattern: "/healthz", Handler: ok}, "declared twice"},
		{"conflicting pattern", web.Route{Method: "GET", Pattern: "/v1/{what}/zz", Handler: ok}, "conflicts"},
		{"malformed requirement", web.Route{Method: "GET", Pattern: "/y", Requires: []string{"file"}, Handler: ok}, "missing"},
		{"unknown domain", web.Route{Method: "GET", Pattern: "/y", Requires: []string{"nosuch:read"}, Handler: ok}, "unknown domain"},
		{"unknown operation", web.Route{Method: "GET", Pattern: "/y", Requires: []string{"file:fly"}, Handler: ok}, "unknown operation"},
		{"placeholder without wildcard", web.Route{Method: "GET", Pattern: "/y/{id}", Requires: []string{"file:read:/{path}"}, Handler: ok}, "no wildcard {path}"},
		{"placeholder in the operation", web.Route{Method: "GET", Pattern: "/y/{op}", Requires: []string{"file:{op}"}, Handler: ok}, "only the resource"},
		{"rest wildcard in a requirement", web.Route{Method: "GET", Pattern: "/y/{p...}", Requires: []string{"file:read:/{p...}"}, Handler: ok}, "write {p}"},
		{"stray brace", web.Route{Method: "GET", Pattern: "/y/{p...}", Requires: []string{"file:read:/{p}}"}, Handler: ok}, "brace"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := h.Handle(tc.route)
			require.Error(t, err)
			require.Contains(t, err.Error(), tc.want)
		})
	}
}

func TestPublicRouteIgnoresBadCredentials(t *testing.T) {
	h := newHandler(t, newNode(t))
	res := do(t, h, http.MethodGet, "/healthz", "mallory", "")
	require.Equal(t, 200, res.status, res.raw)
}

func TestAuthorizeInHandler(t *testing.T) {
	h := newHandler(t, newNode(t))
	require.NoError(t, h.Handle(web.Route{Method: http.MethodGet, Pattern: "/records/{id}", Handler: func(w http.ResponseWriter, r *http.Request) {
		// The record decides what it needs: here, its owner's tree.
		if !h.Router().Authorize(w, r, "file:read:/"+r.PathValue("id")+"/*") {
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}}))
	res := do(t, h, http.MethodGet, "/records/docs", "alice", "")
	require.Equal(t, 403, res.status, res.raw)
	require.Equal(t, []any{"file:read:/docs/*"}, res.errorField("missing"))
	require.Equal(t, 204, get(t, h, http.MethodGet, "/records/docs", "Authorization", "Bearer wendy-token").status)
	res = do(t, h, http.MethodGet, "/records/docs", "", "")
	require.Equal(t, 401, res.status, "the route authenticates before the handler runs")
}

func TestHandlersAnswerInTheRouteForm(t *testing.T) {
	node := newNode(t)
	h := newHandler(t, node)
	reset := func(w http.ResponseWriter, r *http.Request) {
		// The mailbox refuses alice's Reset: the answer is the API's.
		_, err := node.rt.Request(r.Context(), web.Caller(r), &counterpb.Reset{Counter: "c"})
		h.IntentError(w, r, err)
	}
	conflict := func(w http.ResponseWriter, r *http.Request) { h.Router().Error(w, r, http.StatusConflict, "taken") }
	teapot := func(w http.ResponseWriter, r *http.Request) { h.Router().Error(w, r, http.StatusTeapot, "odd") }
	for _, rt := range []web.Route{
		{Method: "POST", Pattern: "/api/reset", Handler: reset},
		{Method: "POST", Pattern: "/page/reset", Page: true, Handler: reset},
		{Method: "GET", Pattern: "/api/conflict", Handler: conflict},
		{Method: "GET", Pattern: "/page/conflict", Page: true, Handler: conflict},
		{Method: "GET", Pattern: "/api/teapot", Handler: teapot},
	} {
		require.NoError(t, h.Handle(rt))
	}
	res := do(t, h, http.MethodPost, "/api/reset", "alice", "")
	require.Equal(t, 403, res.status, res.raw)
	require.Equal(t, "permission_denied", res.errorCode())
	require.Equal(t, []any{"user:admin"}, res.errorField("missing"))
	page := get(t, h, http.MethodPost, "/page/reset", "Authorization", "Bearer alice")
	requireErrorPage(t, page, 403, "permission_denied")
	require.Contains(t, page.body, "<code>user:admin</code>")

	res = do(t, h, http.MethodGet, "/api/conflict", "alice", "")
	require.Equal(t, 409, res.status)
	require.Equal(t, "conflict", res.errorCode())
	requireErrorPage(t, get(t, h, http.MethodGet, "/page/conflict", "Authorization", "Bearer alice"), 409, "conflict")
	res = do(t, h, http.MethodGet, "/api/teapot", "alice", "")
	require.Equal(t, 500, res.status, "a status without a code is an internal error")
	require.Equal(t, "internal", res.errorCode())
}
