package web_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

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
