package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/packetflow/packetflow/actor"
	"github.com/packetflow/packetflow/cluster"
	"github.com/packetflow/packetflow/examples/counter"
	"github.com/packetflow/packetflow/examples/filesystem"
	"github.com/packetflow/packetflow/intent"
	"github.com/packetflow/packetflow/web"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		// Proto.Actor's dead-letter throttle parks a goroutine for its
		// interval (1s) after the first dead letter; it is not ours to stop.
		goleak.IgnoreTopFunction("github.com/asynkron/protoactor-go/actor.NewThrottleWithLogger.func1"),
		goleak.IgnoreTopFunction("github.com/asynkron/protoactor-go/actor.NewThrottle.func1"),
		goleak.IgnoreTopFunction("github.com/asynkron/protoactor-go/actor.NewDeadLetter.NewThrottle.func4.1"),
	)
}

// fakeNode is a single-node web.Node over a real runtime hosting the counter
// and file system examples, plus a "slow" reactor whose handler sleeps.
type fakeNode struct {
	rt    *actor.Runtime
	ready atomic.Bool

	mu      sync.Mutex // guards members and request
	members []cluster.Member
	// request replaces rt.Request when set.
	request func(ctx context.Context, caller *intent.Context, msg proto.Message) (proto.Message, error)
}

func (n *fakeNode) Runtime() *actor.Runtime { return n.rt }

func (n *fakeNode) Request(ctx context.Context, caller *intent.Context, msg proto.Message) (proto.Message, error) {
	n.mu.Lock()
	f := n.request
	n.mu.Unlock()
	if f != nil {
		return f(ctx, caller, msg)
	}
	return n.rt.Request(ctx, caller, msg)
}

func (n *fakeNode) Members() []cluster.Member {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]cluster.Member(nil), n.members...)
}

func (n *fakeNode) Ready() bool { return n.ready.Load() }

func (n *fakeNode) setRequest(f func(context.Context, *intent.Context, proto.Message) (proto.Message, error)) {
	n.mu.Lock()
	n.request = f
	n.mu.Unlock()
}

func (n *fakeNode) setMembers(ms ...cluster.Member) {
	n.mu.Lock()
	n.members = ms
	n.mu.Unlock()
}

// Type names of the examples.
const (
	incrementType = "packetflow.examples.counter.v1.Increment"
	resetType     = "packetflow.examples.counter.v1.Reset"
	getType       = "packetflow.examples.counter.v1.Get"
	valueType     = "packetflow.examples.counter.v1.Value"
	writeFileType = "packetflow.examples.filesystem.v1.WriteFile"
	readFileType  = "packetflow.examples.filesystem.v1.ReadFile"
	// sleepType (a google.protobuf.Int64Value: milliseconds, at most 2000)
	// is handled by the "slow" reactor, which sleeps that long.
	sleepType = "google.protobuf.Int64Value"
	// strayType (a google.protobuf.StringValue) is registered for the
	// counter kind, which does not handle it.
	strayType = "google.protobuf.StringValue"
)

var discard = slog.New(slog.NewTextHandler(io.Discard, nil))

// newNode returns a ready fake node with one alive member, itself.
func newNode(t testing.TB, configure ...func(*actor.Config)) *fakeNode {
	t.Helper()
	cfg := actor.Config{Name: "n1", Logger: discard}
	for _, f := range configure {
		f(&cfg)
	}
	rt, err := actor.NewRuntime(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = rt.Stop() })
	require.NoError(t, counter.Define(rt, nil))
	require.NoError(t, filesystem.Define(rt))
	_, err = intent.Register(rt.Types(), intent.Spec[*wrapperspb.Int64Value]{Kind: "slow", Requires: []string{"user:basic"}})
	require.NoError(t, err)
	_, err = intent.Register(rt.Types(), intent.Spec[*wrapperspb.StringValue]{Kind: "counter", Requires: []string{"user:basic"}})
	require.NoError(t, err)
	slow := actor.NewReactor[int64]("slow", nil)
	actor.Handle(slow, func(_ *actor.Call, n int64, in *wrapperspb.Int64Value) (int64, *wrapperspb.Int64Value, error) {
		time.Sleep(time.Duration(min(max(in.Value, 0), 2000)) * time.Millisecond)
		return n + 1, &wrapperspb.Int64Value{Value: n + 1}, nil
	})
	require.NoError(t, rt.Register(slow))
	n := &fakeNode{rt: rt}
	n.setMembers(cluster.Member{ID: "n1-1", Name: "n1", Address: "127.0.0.1:8090", Gossip: "127.0.0.1:7946",
		Kinds: []string{"counter", "slow", "volume"}, Status: cluster.StatusAlive})
	n.ready.Store(true)
	return n
}

// testPrincipals are the dev principals and a file writer.
func testPrincipals(t testing.TB) *web.Principals {
	t.Helper()
	writer, err := web.NewPrincipals(web.Principal{Name: "wendy", Token: "wendy-token", Capabilities: []string{"file:write:/docs/*", "user:basic"}})
	require.NoError(t, err)
	ps, err := web.MergePrincipals(web.DevPrincipals(), writer)
	require.NoError(t, err)
	return ps
}

// newHandler returns a handler over node with the test principals, closed
// when the test ends.
func newHandler(t testing.TB, node web.Node, configure ...func(*web.Config)) *web.Handler {
	t.Helper()
	cfg := web.Config{Principals: testPrincipals(t), Logger: discard}
	for _, f := range configure {
		f(&cfg)
	}
	h, err := web.NewHandler(node, cfg)
	require.NoError(t, err)
	t.Cleanup(h.Close)
	return h
}

// response is a recorded response with its decoded JSON body.
type response struct {
	status int
	header http.Header
	raw    string
	body   map[string]any
}

// errorCode returns body.error.code, or "".
func (r response) errorCode() string {
	e, _ := r.body["error"].(map[string]any)
	code, _ := e["code"].(string)
	return code
}

func (r response) errorField(name string) any {
	e, _ := r.body["error"].(map[string]any)
	return e[name]
}

// do serves one request on h and decodes its body, which must be JSON
// (except for /metrics).
func do(t testing.TB, h http.Handler, method, path, token, body string) response {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return serve(t, h, req)
}

func serve(t testing.TB, h http.Handler, req *http.Request) response {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	res := response{status: rec.Code, header: rec.Header(), raw: rec.Body.String()}
	if req.URL.Path != "/metrics" || rec.Code != http.StatusOK {
		require.Equal(t, "application/json", rec.Header().Get("Content-Type"), "body: %s", res.raw)
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &res.body), "body: %s", res.raw)
	}
	return res
}

// intentBody returns the JSON of a POST /v1/intents body.
func intentBody(kind, id, typ, payload string) string {
	var b bytes.Buffer
	b.WriteString(`{"kind":` + quote(kind) + `,"id":` + quote(id) + `,"type":` + quote(typ))
	if payload != "" {
		b.WriteString(`,"payload":` + payload)
	}
	b.WriteString("}")
	return b.String()
}

func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// post sends an intent as the principal with token and returns the response.
func post(t testing.TB, h http.Handler, token, kind, id, typ, payload string) response {
	t.Helper()
	return do(t, h, http.MethodPost, "/v1/intents", token, intentBody(kind, id, typ, payload))
}

// scrape returns the metric families of GET /metrics.
func scrape(t testing.TB, h http.Handler) map[string]*metricFamily {
	t.Helper()
	res := do(t, h, http.MethodGet, "/metrics", "", "")
	require.Equal(t, http.StatusOK, res.status, res.raw)
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(strings.NewReader(res.raw))
	require.NoError(t, err)
	out := map[string]*metricFamily{}
	for name, f := range families {
		out[name] = &metricFamily{f}
	}
	return out
}
