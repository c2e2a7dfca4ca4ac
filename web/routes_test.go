package web_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/packetflow/packetflow/actor"
	"github.com/packetflow/packetflow/supervision/fault"
	"github.com/packetflow/packetflow/web"
)

// TestEveryRouteChecksItsCaller walks the node's route table: who may call
// each route, and the form of each refusal (JSON for the API, an HTML page
// for pages).
func TestEveryRouteChecksItsCaller(t *testing.T) {
	faults := fault.New(1)
	node := newNode(t, func(c *actor.Config) { c.Intercept = faults.Intercept })
	h := newHandler(t, node, func(c *web.Config) { c.Principals, c.Faults = chaosPrincipals(t), faults })

	type access int
	const (
		public access = iota
		signedIn
		chaos // chaos:inject
	)
	routes := []struct {
		method, path string
		access       access
		page         bool
		badMethod    string // a method the path does not answer
		allow        string
	}{
		{"GET", "/healthz", public, false, "POST", "GET, HEAD"},
		{"GET", "/v1/members", public, false, "DELETE", "GET, HEAD"},
		{"GET", "/v1/stats", public, false, "PUT", "GET, HEAD"},
		{"GET", "/metrics", public, false, "POST", "GET, HEAD"},
		{"GET", "/assets/style.css", public, false, "POST", "GET, HEAD"},
		{"POST", "/v1/intents", signedIn, false, "GET", "POST"},
		{"GET", "/v1/chaos", chaos, false, "POST", "GET, HEAD, PUT"},
		{"PUT", "/v1/chaos", chaos, false, "DELETE", "GET, HEAD, PUT"},
		{"GET", "/", signedIn, true, "POST", "GET, HEAD"},
		{"GET", "/dashboard/stream", signedIn, true, "POST", "GET, HEAD"},
		{"POST", "/dashboard/chaos", chaos, true, "GET", "POST"},
		{"POST", "/dashboard/components/x/rollback", signedIn, true, "GET", "POST"},
		{"GET", "/login", public, true, "PUT", "GET, HEAD, POST"},
		{"POST", "/logout", signedIn, true, "GET", "POST"},
	}
	for _, rt := range routes {
		t.Run(rt.method+" "+rt.path, func(t *testing.T) {
			refused := func(res pageResponse, status int, code string) {
				t.Helper()
				if rt.page {
					requireErrorPage(t, res, status, code)
					return
				}
				require.Equal(t, status, res.status, res.body)
				require.Equal(t, "application/json", res.header.Get("Content-Type"))
				require.Contains(t, res.body, `{"error":{"code":"`+code+`"`)
			}
			if rt.access != public {
				res := get(t, h, rt.method, rt.path)
				refused(res, 401, "unauthenticated")
				if !rt.page {
					require.Equal(t, `Bearer realm="packetflow"`, res.header.Get("WWW-Authenticate"))
				}
				refused(get(t, h, rt.method, rt.path, "Authorization", "Bearer nobody"), 401, "unauthenticated")
				refused(get(t, h, rt.method, rt.path, "Authorization", "Basic YWxpY2U6"), 401, "unauthenticated")
			}
			if rt.access == chaos {
				res := get(t, h, rt.method, rt.path, "Authorization", "Bearer alice")
				refused(res, 403, "permission_denied")
				require.Contains(t, res.body, "chaos:inject", "the refusal names what is missing")
			}
			res := get(t, h, rt.badMethod, rt.path, "Authorization", "Bearer operator-token")
			refused(res, 405, "method_not_allowed")
			require.Equal(t, rt.allow, res.header.Get("Allow"))
		})
	}
}

func TestAssets(t *testing.T) {
	h := newHandler(t, newNode(t))
	res := get(t, h, http.MethodGet, "/assets/dashboard.js")
	require.Equal(t, 200, res.status)
	require.Equal(t, "text/javascript; charset=utf-8", res.header.Get("Content-Type"))
	require.Contains(t, res.body, "EventSource")
	for _, name := range []string{"layout.html", "nope.css", "..%2Fpage.go"} {
		res := get(t, h, http.MethodGet, "/assets/"+name)
		require.Equal(t, 404, res.status, name)
		require.Contains(t, res.body, `"code":"not_found"`)
	}
}
