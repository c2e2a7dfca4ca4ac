package web_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"

	"github.com/packetflow/packetflow/capability"
	"github.com/packetflow/packetflow/examples/counter/counterpb"
	"github.com/packetflow/packetflow/intent"
	"github.com/packetflow/packetflow/web"
)

func TestIntents(t *testing.T) {
	node := newNode(t)
	h := newHandler(t, node)
	// oversize is a well-formed intent whose body is just over the limit.
	oversize := intentBody("counter", "c1", incrementType, `{"counter":"c1","userId":"`+strings.Repeat("x", web.MaxBodyBytes)+`"}`)

	tests := []struct {
		name    string
		method  string
		header  string // the Authorization header; "" sends none
		body    string
		status  int
		code    string         // error code; "" for a 200
		missing []string       // for permission_denied
		result  map[string]any // for a 200
	}{
		{name: "increment", header: "Bearer alice",
			body:   intentBody("counter", "inc", incrementType, `{"by":2}`),
			status: 200, result: map[string]any{"counter": "inc", "count": "2"}},
		{name: "get of an untouched counter shows zero values", header: "Bearer alice",
			body:   intentBody("counter", "untouched", getType, ""),
			status: 200, result: map[string]any{"counter": "untouched", "count": "0"}},
		{name: "payload naming the same instance as id", header: "Bearer alice",
			body:   intentBody("counter", "same", incrementType, `{"counter":"same"}`),
			status: 200, result: map[string]any{"counter": "same", "count": "1"}},
		{name: "null payload", header: "Bearer alice",
			body:   intentBody("counter", "nullpayload", incrementType, `null`),
			status: 200, result: map[string]any{"counter": "nullpayload", "count": "1"}},
		{name: "scheme is case-insensitive", header: "bearer alice",
			body:   intentBody("counter", "scheme", incrementType, ""),
			status: 200, result: map[string]any{"counter": "scheme", "count": "1"}},
		{name: "admin resets", header: "Bearer admin",
			body:   intentBody("counter", "inc", resetType, ""),
			status: 200, result: map[string]any{"counter": "inc", "count": "0"}},
		{name: "file write within the grant", header: "Bearer wendy-token",
			body:   intentBody("volume", "v1", writeFileType, `{"path":"/docs/a.txt","content":"aGk="}`),
			status: 200, result: map[string]any{"path": "/docs/a.txt", "content": "aGk="}},

		{name: "malformed JSON", header: "Bearer alice", body: `{"kind":`, status: 400, code: "invalid_argument"},
		{name: "empty body", header: "Bearer alice", body: ``, status: 400, code: "invalid_argument"},
		{name: "body is not an object", header: "Bearer alice", body: `[1,2]`, status: 400, code: "invalid_argument"},
		{name: "unknown top-level field", header: "Bearer alice",
			body:   `{"kind":"counter","id":"c1","type":"` + incrementType + `","grants":["user:admin"]}`,
			status: 400, code: "invalid_argument"},
		{name: "trailing data", header: "Bearer alice",
			body:   intentBody("counter", "c1", incrementType, "") + `{}`,
			status: 400, code: "invalid_argument"},
		{name: "missing type", header: "Bearer alice", body: `{"kind":"counter","id":"c1"}`, status: 400, code: "invalid_argument"},
		{name: "missing id", header: "Bearer alice", body: `{"kind":"counter","type":"` + incrementType + `"}`, status: 400, code: "invalid_argument"},
		{name: "unknown type", header: "Bearer alice",
			body:   intentBody("counter", "c1", "packetflow.examples.counter.v1.Nope", ""),
			status: 400, code: "invalid_argument"},
		{name: "payload with an unknown field", header: "Bearer alice",
			body:   intentBody("counter", "c1", incrementType, `{"bye":1}`),
			status: 400, code: "invalid_argument"},
		{name: "payload of the wrong type", header: "Bearer alice",
			body:   intentBody("counter", "c1", incrementType, `{"by":"many"}`),
			status: 400, code: "invalid_argument"},
		{name: "payload that is not an object", header: "Bearer alice",
			body:   intentBody("counter", "c1", incrementType, `[1]`),
			status: 400, code: "invalid_argument"},
		{name: "id that the payload contradicts", header: "Bearer alice",
			body:   intentBody("counter", "c1", incrementType, `{"counter":"c2"}`),
			status: 400, code: "invalid_argument"},
		{name: "id of a type without an identity field", header: "Bearer alice",
			body:   intentBody("slow", "s1", sleepType, `"1"`),
			status: 400, code: "invalid_argument"},
		{name: "id too long", header: "Bearer alice",
			body:   intentBody("counter", strings.Repeat("i", intent.MaxIdentityBytes+1), incrementType, ""),
			status: 400, code: "invalid_argument"},
		{name: "wrong kind for the type", header: "Bearer alice",
			body:   intentBody("volume", "c1", incrementType, ""),
			status: 400, code: "invalid_argument"},
		{name: "kind without a handler for the type", header: "Bearer alice",
			body:   intentBody("counter", "default", strayType, `"x"`),
			status: 400, code: "unsupported"},
		{name: "bad file path", header: "Bearer wendy-token",
			body:   intentBody("volume", "v1", writeFileType, `{"path":"relative"}`),
			status: 400, code: "invalid_argument"},

		{name: "missing token", body: intentBody("counter", "c1", incrementType, ""), status: 401, code: "unauthenticated"},
		{name: "unknown token", header: "Bearer mallory", body: intentBody("counter", "c1", incrementType, ""), status: 401, code: "unauthenticated"},
		{name: "other scheme", header: "Basic YWxpY2U6", body: intentBody("counter", "c1", incrementType, ""), status: 401, code: "unauthenticated"},
		{name: "empty bearer", header: "Bearer ", body: intentBody("counter", "c1", incrementType, ""), status: 401, code: "unauthenticated"},
		{name: "token checked before the body", header: "Bearer mallory", body: `{"kind":`, status: 401, code: "unauthenticated"},
		{name: "token checked before the size", header: "Bearer mallory", body: oversize, status: 401, code: "unauthenticated"},

		{name: "alice resets", header: "Bearer alice",
			body:   intentBody("counter", "inc", resetType, ""),
			status: 403, code: "permission_denied", missing: []string{"user:admin"}},
		{name: "file read outside the grant", header: "Bearer wendy-token",
			body:   intentBody("volume", "v1", readFileType, `{"path":"/docs/../etc/passwd"}`),
			status: 403, code: "permission_denied", missing: []string{"file:read:/etc/passwd"}},

		{name: "unknown kind", header: "Bearer alice",
			body:   intentBody("gizmo", "c1", incrementType, ""),
			status: 404, code: "not_found"},

		{name: "GET", method: http.MethodGet, header: "Bearer alice", status: 405, code: "method_not_allowed"},
		{name: "PUT", method: http.MethodPut, header: "Bearer alice", body: intentBody("counter", "c1", incrementType, ""), status: 405, code: "method_not_allowed"},

		{name: "body over the limit", header: "Bearer alice", body: oversize, status: 413, code: "payload_too_large"},

		{name: "handler failure", header: "Bearer alice",
			body:   intentBody("counter", "c1", incrementType, `{"by":"-1"}`),
			status: 422, code: "failed"},
		{name: "file that does not exist", header: "Bearer wendy-token",
			body:   intentBody("volume", "v1", readFileType, `{"path":"/docs/none"}`),
			status: 422, code: "failed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			method := tc.method
			if method == "" {
				method = http.MethodPost
			}
			req := httptest.NewRequest(method, "/v1/intents", strings.NewReader(tc.body))
			if tc.header != "" {
				req.Header.Set("Authorization", tc.header)
			}
			res := serve(t, h, req)
			require.Equal(t, tc.status, res.status, res.raw)
			if tc.code == "" {
				require.Equal(t, tc.result, res.body["result"], res.raw)
				return
			}
			require.Equal(t, tc.code, res.errorCode(), res.raw)
			msg, _ := res.errorField("message").(string)
			require.NotEmpty(t, msg, res.raw)
			if tc.missing != nil {
				require.ElementsMatch(t, tc.missing, res.errorField("missing"), res.raw)
			} else {
				require.Nil(t, res.errorField("missing"), res.raw)
			}
			switch tc.status {
			case 401:
				require.NotEmpty(t, res.header.Get("WWW-Authenticate"))
				require.NotContains(t, res.raw, "mallory", "an error never repeats a token")
			case 405:
				require.Equal(t, "POST", res.header.Get("Allow"))
			}
		})
	}
}

func TestIncrementAndGetCountGrows(t *testing.T) {
	h := newHandler(t, newNode(t))
	for want := 1; want <= 3; want++ {
		res := post(t, h, "alice", "counter", "grows", incrementType, `{"by":1}`)
		require.Equal(t, 200, res.status, res.raw)
		require.Equal(t, valueType, res.body["type"])
		require.Equal(t, map[string]any{"counter": "grows", "count": fmt.Sprint(want)}, res.body["result"])
		require.Len(t, res.header.Get("X-Request-Id"), 16)
	}
	res := post(t, h, "admin", "counter", "grows", getType, "")
	require.Equal(t, 200, res.status, res.raw)
	require.Equal(t, map[string]any{"counter": "grows", "count": "3"}, res.body["result"])

	// A denied reset changed nothing.
	require.Equal(t, 403, post(t, h, "alice", "counter", "grows", resetType, "").status)
	res = post(t, h, "alice", "counter", "grows", getType, "")
	require.Equal(t, "3", res.body["result"].(map[string]any)["count"])
}

func TestCapabilitiesComeOnlyFromThePrincipal(t *testing.T) {
	node := newNode(t)
	var seen []string
	var mu sync.Mutex
	node.setRequest(func(ctx context.Context, caller *intent.Context, msg proto.Message) (proto.Message, error) {
		mu.Lock()
		for _, g := range caller.Grants.Grants() {
			seen = append(seen, caller.Principal+" "+g.Capability.String())
		}
		mu.Unlock()
		return node.rt.Request(ctx, caller, msg)
	})
	h := newHandler(t, node)
	// A payload cannot name a user or carry grants: user_id is data the
	// counter logs, not who the intent runs as.
	res := post(t, h, "alice", "counter", "c", resetType, `{"userId":"admin"}`)
	require.Equal(t, 403, res.status, res.raw)
	mu.Lock()
	defer mu.Unlock()
	require.Equal(t, []string{"alice user:basic"}, seen)
}

func TestRequestErrors(t *testing.T) {
	tests := []struct {
		name    string
		err     error
		status  int
		code    string
		missing []string
		plugin  string
	}{
		{"unavailable", intent.ErrUnavailable, 503, "unavailable", nil, ""},
		{"unavailable, wrapped", fmt.Errorf("%w: member n2 unreachable", intent.ErrUnavailable), 503, "unavailable", nil, ""},
		{"deadline", intent.ErrDeadlineExceeded, 504, "deadline_exceeded", nil, ""},
		{"context deadline", context.DeadlineExceeded, 504, "deadline_exceeded", nil, ""},
		{"remote denial", intent.StatusError(intent.Status(&capability.DeniedError{Missing: []capability.Capability{capability.MustParse("user:admin")}})), 403, "permission_denied", []string{"user:admin"}, ""},
		{"rejected", &intent.RejectedError{Plugin: "quota", Reason: errors.New("over quota")}, 422, "rejected", nil, "quota"},
		{"failed", fmt.Errorf("%w: disk full", intent.ErrFailed), 422, "failed", nil, ""},
		{"not found remotely", fmt.Errorf("%w: reactor kind %q", intent.ErrNotFound, "counter"), 404, "not_found", nil, ""},
		{"invalid", intent.ErrTooLarge, 400, "invalid_argument", nil, ""},
		{"unsupported", intent.ErrUnsupported, 400, "unsupported", nil, ""},
		{"canceled", context.Canceled, 503, "unavailable", nil, ""},
		{"anything else", errors.New("boom: secret detail"), 500, "internal", nil, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			node := newNode(t)
			node.setRequest(func(context.Context, *intent.Context, proto.Message) (proto.Message, error) { return nil, tc.err })
			var logs strings.Builder
			var logMu sync.Mutex
			h := newHandler(t, node, func(c *web.Config) {
				c.Logger = slog.New(slog.NewTextHandler(lockedWriter{&logMu, &logs}, nil))
			})
			res := post(t, h, "alice", "counter", "c1", incrementType, "")
			require.Equal(t, tc.status, res.status, res.raw)
			require.Equal(t, tc.code, res.errorCode(), res.raw)
			if tc.missing != nil {
				require.Equal(t, []any{"user:admin"}, res.errorField("missing"))
			}
			if tc.plugin != "" {
				require.Equal(t, tc.plugin, res.errorField("plugin"))
			}
			logMu.Lock()
			defer logMu.Unlock()
			if tc.code == "internal" {
				require.NotContains(t, res.raw, "secret detail", "internal errors are logged, not shown")
				require.Contains(t, res.raw, res.header.Get("X-Request-Id"))
				require.Contains(t, logs.String(), "secret detail")
				require.Contains(t, logs.String(), res.header.Get("X-Request-Id"))
			} else {
				require.Empty(t, logs.String(), "expected outcomes are not logged above debug")
			}
		})
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	b  *strings.Builder
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func TestPluginRejection(t *testing.T) {
	node := newNode(t)
	require.NoError(t, node.rt.Plugins().Register(intent.Plugin{
		Name:  "no-big-steps",
		Types: []string{incrementType},
		Validate: func(_ context.Context, e *intent.Envelope) error {
			if e.Message.(*counterpb.Increment).By > 100 {
				return errors.New("steps above 100 are not allowed")
			}
			return nil
		},
	}))
	h := newHandler(t, node)
	res := post(t, h, "alice", "counter", "c1", incrementType, `{"by":"101"}`)
	require.Equal(t, 422, res.status, res.raw)
	require.Equal(t, "rejected", res.errorCode())
	require.Equal(t, "no-big-steps", res.errorField("plugin"))
	require.Contains(t, res.errorField("message"), "steps above 100")
}

func TestHandlerBlockingPastTheTimeout(t *testing.T) {
	node := newNode(t)
	h := newHandler(t, node, func(c *web.Config) { c.RequestTimeout = 50 * time.Millisecond })
	start := time.Now()
	res := post(t, h, "alice", "slow", "default", sleepType, `"1000"`)
	require.Equal(t, 504, res.status, res.raw)
	require.Equal(t, "deadline_exceeded", res.errorCode())
	require.Contains(t, res.errorField("message"), "50ms")
	require.Less(t, time.Since(start), 900*time.Millisecond, "the response does not wait for the handler")
	// The late reply is dropped; once the sleeper is done, intents are
	// answered again.
	require.Eventually(t, func() bool {
		return post(t, h, "alice", "slow", "default", sleepType, `"0"`).status == 200
	}, 10*time.Second, 20*time.Millisecond)
}

func TestNoPrincipalsNoToken(t *testing.T) {
	h, err := web.NewHandler(newNode(t), web.Config{Logger: discard})
	require.NoError(t, err)
	defer h.Close()
	for _, tok := range []string{"alice", "admin", ""} {
		res := post(t, h, tok, "counter", "c1", incrementType, "")
		require.Equal(t, 401, res.status, res.raw)
	}
}

func TestThroughARealServer(t *testing.T) {
	h := newHandler(t, newNode(t))
	srv := httptest.NewServer(h)
	defer srv.Close()
	client := srv.Client()

	send := func(body string) *http.Response {
		req, err := http.NewRequest(http.MethodPost, srv.URL+"/v1/intents", strings.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer alice")
		res, err := client.Do(req)
		require.NoError(t, err)
		return res
	}
	res := send(intentBody("counter", "real", incrementType, ""))
	require.Equal(t, 200, res.StatusCode)
	require.NoError(t, res.Body.Close())

	// A body over the limit is refused while it is being read.
	res = send(intentBody("counter", "real", incrementType, `{"userId":"`+strings.Repeat("x", 2*web.MaxBodyBytes)+`"}`))
	require.Equal(t, 413, res.StatusCode)
	require.Equal(t, "application/json", res.Header.Get("Content-Type"))
	require.NoError(t, res.Body.Close())
}

func TestNewHandlerRefusesUnknownCapabilities(t *testing.T) {
	ps, err := web.NewPrincipals(web.Principal{Name: "bob", Token: "bob", Capabilities: []string{"user:superuser"}})
	require.NoError(t, err, "the text is a valid capability")
	_, err = web.NewHandler(newNode(t), web.Config{Principals: ps})
	require.ErrorContains(t, err, `principal "bob"`)
	require.ErrorContains(t, err, "superuser")

	_, err = web.NewHandler(newNode(t), web.Config{RequestTimeout: -time.Second})
	require.Error(t, err)
	_, err = web.NewHandler(nil, web.Config{})
	require.Error(t, err)
}
