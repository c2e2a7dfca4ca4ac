package web_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/packetflow/packetflow/web"
)

// FuzzIntentBody feeds arbitrary bodies and tokens to POST /v1/intents: the
// answer is always a JSON response with a status of the API, never a panic
// or an internal error.
func FuzzIntentBody(f *testing.F) {
	f.Add("alice", intentBody("counter", "c1", incrementType, `{"by":1}`))
	f.Add("alice", intentBody("counter", "c1", incrementType, `{"by":"-1"}`))
	f.Add("alice", intentBody("volume", "v", readFileType, `{"path":"/docs/../x"}`))
	f.Add("admin", intentBody("counter", "c1", resetType, `{"counter":"c2"}`))
	f.Add("wendy-token", intentBody("volume", "v", writeFileType, `{"path":"/docs/a","content":"!!"}`))
	f.Add("alice", `{"kind":"counter","id":"c1","type":"`+incrementType+`","payload":{"by":1e400}}`)
	f.Add("alice", `{"kind":"\u0000","id":"","type":null,"payload":"x"}`)
	f.Add("nobody", `[`)
	node := newNode(f)
	h := newHandler(f, node, func(c *web.Config) { c.RequestTimeout = 100 * time.Millisecond })
	allowed := map[int]bool{200: true, 400: true, 401: true, 403: true, 404: true, 413: true, 422: true, 504: true}
	f.Fuzz(func(t *testing.T, token, body string) {
		req := httptest.NewRequest(http.MethodPost, "/v1/intents", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if !allowed[rec.Code] {
			t.Fatalf("status %d for token %q body %q: %s", rec.Code, token, body, rec.Body)
		}
		if !json.Valid(rec.Body.Bytes()) {
			t.Fatalf("response is not JSON: %q", rec.Body)
		}
	})
}

// FuzzRoutePath feeds arbitrary paths to a route whose requirement takes
// the path ("/files/{path...}" requiring "file:read:/{path}") and to the
// pages: the answer is an allowed status, never a panic or an internal
// error, and a 200 only for a file inside wendy's grant.
func FuzzRoutePath(f *testing.F) {
	for _, p := range []string{"docs/a.txt", "docs/*", "docs/..%2F..%2Fetc", "%00", "docs/a%20b", "", "docs/%E2%80%AE", "..", "docs//a", "%2F%2F"} {
		f.Add(p, "wendy-token", "")
	}
	f.Add("x", "", "packetflow_session=abc")
	node := newNode(f)
	h := newHandler(f, node)
	require.NoError(f, h.Handle(web.Route{Method: http.MethodGet, Pattern: "/files/{path...}", Requires: []string{"file:read:/{path}"},
		Handler: func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte(r.PathValue("path"))) }}))
	allowed := map[int]bool{200: true, 301: true, 307: true, 400: true, 401: true, 403: true, 404: true}
	f.Fuzz(func(t *testing.T, path, token, cookie string) {
		for _, target := range []string{"/files/" + path, "/" + path} {
			u, err := url.Parse(target)
			if err != nil {
				continue
			}
			// A live dashboard's stream runs until its viewer leaves.
			ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
			defer cancel()
			req := httptest.NewRequestWithContext(ctx, http.MethodGet, "/", nil)
			req.URL, req.RequestURI = u, target
			if token != "" {
				req.Header.Set("Authorization", "Bearer "+token)
			}
			if cookie != "" {
				req.Header.Set("Cookie", cookie)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if !allowed[rec.Code] {
				t.Fatalf("status %d for %q: %s", rec.Code, target, rec.Body)
			}
			if rec.Code == 200 && strings.HasPrefix(target, "/files/") && !strings.HasPrefix(rec.Body.String(), "docs/") {
				t.Fatalf("%q served %q outside the grant", target, rec.Body)
			}
		}
	})
}
