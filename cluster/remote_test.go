package cluster_test

// Every node of the remote tests runs in a process of its own: the test
// binary re-executed as a peer (TestRemotePeerProcess), driven over its
// standard input and output. Proto.Actor's remote.Start replaces gRPC's
// global logger (grpclog.SetLoggerV2), which races with every gRPC goroutine
// already running in the process — another node's, or a stopped node's that
// is still winding down — so under -race a process may start one remote in
// its life. A peer that reports a data race or a leaked goroutine exits
// non-zero, and the test that ran it fails with the peer's output.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	protoactor "github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/remote"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/packetflow/packetflow/actor"
	"github.com/packetflow/packetflow/capability"
	"github.com/packetflow/packetflow/cluster"
	"github.com/packetflow/packetflow/cluster/clustertest"
	"github.com/packetflow/packetflow/cluster/tlstest"
	"github.com/packetflow/packetflow/examples/counter"
	"github.com/packetflow/packetflow/examples/counter/counterpb"
	"github.com/packetflow/packetflow/intent"
	"github.com/packetflow/packetflow/intent/intentpb"
)

func TestRemoteIncrementRunsOnTheReceivingNode(t *testing.T) {
	a, b := startPeer(t, "a", nil), startPeer(t, "b", nil)
	require.NotEqual(t, a.address, b.address)
	_, port, err := net.SplitHostPort(b.address)
	require.NoError(t, err)
	require.NotEqual(t, "0", port, "Address reports the port picked for Bind's port 0")

	for _, step := range []struct{ by, want int64 }{{2, 2}, {2, 4}, {0, 5}} {
		o := a.request(b, "basic", &counterpb.Increment{Counter: "c1", By: step.by}, 5*time.Second)
		require.Empty(t, o.Err)
		assert.True(t, proto.Equal(&counterpb.Value{Counter: "c1", Count: step.want}, o.Reply), "reply %v", o.Reply)
	}
	assert.Equal(t, int64(5), b.count("c1"), "the state lives on b")
	assert.Equal(t, uint64(0), a.stats().Activations, "a activated no reactor")
	assert.Equal(t, int64(0), a.count("c1"), "a's own c1 is another, fresh instance")
	assert.Equal(t, uint64(3), b.stats().Received)

	o := b.request(a, "basic", &counterpb.Increment{Counter: "c1"}, 5*time.Second)
	require.Empty(t, o.Err, "b reaches a the same way")
	assert.Equal(t, int64(1), o.Reply.(*counterpb.Value).Count)
}

func TestRemoteDenialIsADeniedErrorAndChangesNothing(t *testing.T) {
	a, b := startPeer(t, "a", nil), startPeer(t, "b", nil)
	require.Empty(t, a.request(b, "basic", &counterpb.Increment{Counter: "c1", By: 3}, 5*time.Second).Err)
	before := b.stats()

	o := a.request(b, "basic", &counterpb.Reset{Counter: "c1"}, 5*time.Second)
	assert.Contains(t, o.Is, "capability.ErrPermissionDenied")
	assert.Contains(t, o.Is, "*capability.DeniedError")
	assert.Equal(t, []string{"user:admin"}, o.Missing)
	assert.Nil(t, o.Reply)

	assert.Equal(t, int64(3), b.count("c1"), "the denied Reset changed nothing")
	after := b.stats()
	assert.Equal(t, before.Denied+1, after.Denied)
	assert.Equal(t, before.Handled+1, after.Handled, "only b's own Get above was handled")
	assert.Equal(t, before.Audits+1, after.Audits, "b, which checked, audited the denial")

	o = a.request(b, "admin", &counterpb.Reset{Counter: "c1"}, 5*time.Second)
	require.Empty(t, o.Err, "admin is granted, and implies basic, across the wire")
	assert.Equal(t, int64(0), o.Reply.(*counterpb.Value).Count)
}

func TestRemoteErrorsKeepTheirKind(t *testing.T) {
	a, b := startPeer(t, "a", nil), startPeer(t, "b", nil)

	o := a.request(b, "basic", &counterpb.Increment{Counter: "c1", By: -1}, 5*time.Second)
	assert.Contains(t, o.Is, "intent.ErrFailed")
	assert.Contains(t, o.Err, "cannot add -1")

	a.do(peerCmd{Op: "register_ghost"}) // a knows a type that b does not
	o = a.request(b, "basic", wrapperspb.Int64(7), 5*time.Second)
	assert.Contains(t, o.Is, "intent.ErrNotFound")
	assert.Contains(t, o.Err, "google.protobuf.Int64Value")
	assert.Equal(t, uint64(0), b.stats().Handled)
}

func TestRemoteIntakeAnswersMalformedEnvelopes(t *testing.T) {
	a, b := startPeer(t, "a", nil), startPeer(t, "b", nil)
	inc, err := anypb.New(&counterpb.Increment{Counter: "c1"})
	require.NoError(t, err)
	garbage := &anypb.Any{TypeUrl: inc.TypeUrl, Value: []byte{0xff, 0xff, 0xff}}
	grants := &intentpb.Context{Grants: []*intentpb.Grant{{Capability: "user:basic"}}}
	const incType = "packetflow.examples.counter.v1.Increment"
	for _, tc := range []struct {
		name string
		msg  proto.Message
		code intentpb.Code
	}{
		{"unknown type", &intentpb.Envelope{Id: "x1", Type: "no.such.Intent", Payload: inc}, intentpb.Code_CODE_NOT_FOUND},
		{"payload of another type", &intentpb.Envelope{Id: "x2", Type: "packetflow.examples.counter.v1.Reset", Payload: inc, Context: grants}, intentpb.Code_CODE_INVALID_ARGUMENT},
		{"payload that does not decode", &intentpb.Envelope{Id: "x3", Type: incType, Payload: garbage, Context: grants}, intentpb.Code_CODE_INVALID_ARGUMENT},
		{"no payload", &intentpb.Envelope{Id: "x4", Type: incType, Context: grants}, intentpb.Code_CODE_INVALID_ARGUMENT},
		{"no id", &intentpb.Envelope{Type: incType, Payload: inc, Context: grants}, intentpb.Code_CODE_INVALID_ARGUMENT},
		{"undefined capability", &intentpb.Envelope{Id: "x5", Type: incType, Payload: inc,
			Context: &intentpb.Context{Grants: []*intentpb.Grant{{Capability: "user:root"}}}}, intentpb.Code_CODE_INVALID_ARGUMENT},
		{"not an envelope", wrapperspb.String("hello"), intentpb.Code_CODE_INVALID_ARGUMENT},
		{"well-formed without grants", &intentpb.Envelope{Id: "x6", Type: incType, Payload: inc}, intentpb.Code_CODE_PERMISSION_DENIED},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reply := a.raw(b, tc.msg)
			assert.Equal(t, tc.code, reply.GetStatus().GetCode(), reply.GetStatus().GetMessage())
			assert.Nil(t, reply.Payload)
			if env, ok := tc.msg.(*intentpb.Envelope); ok {
				assert.Equal(t, env.Id, reply.IntentId)
			}
		})
	}
	assert.Equal(t, uint64(0), b.stats().Handled, "nothing reached a handler")

	o := a.request(b, "basic", &counterpb.Increment{Counter: "c1"}, 5*time.Second)
	require.Empty(t, o.Err, "the intake still serves well-formed envelopes")
	assert.Equal(t, int64(1), o.Reply.(*counterpb.Value).Count)
}

func TestRemoteSurvivesBadTransportInput(t *testing.T) {
	a, b := startPeer(t, "a", nil), startPeer(t, "b", nil)

	// Proto.Actor dereferences nil on a message type it does not know, and
	// panics in the diagnostics calls it leaves unimplemented: each would
	// take b down but for the transport's recovering interceptors.
	r := a.do(peerCmd{Op: "bad_transport_input", To: b.address})
	require.Empty(t, r.Err)
	assert.Contains(t, r.Value, "code = Internal", "the bad calls fail, and only they")

	o := a.request(b, "basic", &counterpb.Increment{Counter: "c1"}, 5*time.Second)
	require.Empty(t, o.Err, "b still serves intents")
	assert.Equal(t, int64(1), o.Reply.(*counterpb.Value).Count)
}

func TestRemoteSlowHandlerPastTheDeadline(t *testing.T) {
	a, b := startPeer(t, "a", nil), startPeer(t, "b", nil)

	// The intent may be handled for 10 s, but its caller waits 300 ms.
	first := a.do(peerCmd{Op: "request", To: b.address, Caller: "basic", Msg: mustWire(t, wrapperspb.String("s1")),
		WaitMS: 300, DeadlineMS: 10_000})
	assert.Contains(t, first.Is, "intent.ErrDeadlineExceeded")
	assert.Less(t, first.ElapsedMS, int64(2000))
	assert.Equal(t, "s1", b.do(peerCmd{Op: "entered"}).Value)

	// The caller would wait 10 s, but the intent's deadline is 300 ms
	// (it queues behind the first, at the same reactor instance).
	second := a.do(peerCmd{Op: "request", To: b.address, Caller: "basic", Msg: mustWire(t, wrapperspb.String("s1")),
		WaitMS: 10_000, DeadlineMS: 300})
	assert.Contains(t, second.Is, "intent.ErrDeadlineExceeded")
	assert.Less(t, second.ElapsedMS, int64(2000))

	// b commits the first and answers a, which no longer listens: a drops
	// the late reply (a dead letter), without a race.
	b.do(peerCmd{Op: "release"})
	late := a.do(peerCmd{Op: "late", IntentID: first.IntentID})
	require.Empty(t, late.Err)
	assert.Equal(t, "CODE_OK", late.Value)
	assert.Equal(t, int64(1), b.stats().SlowHandled, "the second expired in the mailbox")
}

func TestRemoteUnreachablePeerFailsWithinTheDeadline(t *testing.T) {
	a := startPeer(t, "a", nil)
	for _, tc := range []struct {
		name    string
		timeout time.Duration
		want    string
	}{
		{"deadline first", 500 * time.Millisecond, "intent.ErrDeadlineExceeded"},
		// Proto.Actor gives up on a peer after ConnectAttempts (1) failed
		// dials and a 2 s pause; the Request fails as it does.
		{"gives up before the deadline", 6 * time.Second, "cluster.ErrNotDelivered"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := a.requestAt(freeAddress(t), "basic", &counterpb.Increment{Counter: "c1"}, tc.timeout)
			assert.Contains(t, o.Is, tc.want, o.Err)
			assert.Less(t, o.ElapsedMS, (tc.timeout + 500*time.Millisecond).Milliseconds())
			t.Logf("failed after %d ms: %s", o.ElapsedMS, o.Err)
		})
	}
}

func TestRemoteMutualTLS(t *testing.T) {
	ca := tlstest.NewCA(t, "cluster")
	other := tlstest.NewCA(t, "impostors")
	dir := t.TempDir()
	b := startPeer(t, "b", writeTLS(t, dir, "b", ca.Issue(t, "b", "127.0.0.1"), ca))

	t.Run("members of the CA", func(t *testing.T) {
		a := startPeer(t, "a", writeTLS(t, dir, "a", ca.Issue(t, "a", "127.0.0.1"), ca))
		o := a.request(b, "basic", &counterpb.Increment{Counter: "c1"}, 5*time.Second)
		require.Empty(t, o.Err)
		assert.Equal(t, int64(1), o.Reply.(*counterpb.Value).Count)
		o = b.request(a, "basic", &counterpb.Increment{Counter: "c1"}, 5*time.Second)
		require.Empty(t, o.Err, "and back, on b's own connection to a")
		assert.Equal(t, int64(1), o.Reply.(*counterpb.Value).Count)
	})
	before := b.stats()

	t.Run("refused", func(t *testing.T) {
		for _, tc := range []struct {
			name string
			tls  *peerTLS
		}{
			// mallory trusts b's CA, but b does not trust mallory's.
			{"a client certificate of another CA", writeTLS(t, dir, "mallory", other.Issue(t, "mallory", "127.0.0.1"), ca)},
			{"no TLS", nil},
		} {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				mallory := startPeer(t, "mallory", tc.tls)
				o := mallory.request(b, "admin", &counterpb.Reset{Counter: "c1"}, 4*time.Second)
				require.NotEmpty(t, o.Err)
				assert.True(t, slices.Contains(o.Is, "intent.ErrUnavailable") || slices.Contains(o.Is, "intent.ErrDeadlineExceeded"), o.Err)
				assert.Less(t, o.ElapsedMS, int64(4500))
				t.Logf("refused after %d ms: %s", o.ElapsedMS, o.Err)
			})
		}
	})
	after := b.stats()
	assert.Equal(t, before.Received, after.Received, "no envelope of theirs reached b's intake")
	assert.Equal(t, before.Handled, after.Handled, "b handled nothing for them")
	assert.Equal(t, int64(1), b.count("c1"))
}

func TestRemoteStop(t *testing.T) {
	a, b := startPeer(t, "a", nil), startPeer(t, "b", nil)

	inFlight := make(chan outcome, 1)
	go func() { inFlight <- a.request(b, "basic", wrapperspb.String("s1"), 10*time.Second) }()
	assert.Equal(t, "s1", b.do(peerCmd{Op: "entered"}).Value)
	stopped := make(chan peerResult, 1)
	go func() { stopped <- b.do(peerCmd{Op: "stop"}) }()

	// Once b's intake is gone, new intents fail at once (those sent before
	// it went are handled)...
	var accepted uint64
	require.True(t, waitUntil(5*time.Second, func() bool {
		o := a.request(b, "basic", &counterpb.Increment{Counter: "c1"}, time.Second)
		if o.Err == "" {
			accepted++
		}
		// Refused before any reactor saw it: safe to retry elsewhere.
		return slices.Contains(o.Is, "cluster.ErrNotDelivered")
	}), "b still takes new intents while it stops")
	// ...and the one in flight is still answered.
	b.do(peerCmd{Op: "release"})
	o := <-inFlight
	require.Empty(t, o.Err)
	assert.True(t, proto.Equal(wrapperspb.String("done"), o.Reply))
	require.Empty(t, (<-stopped).Err)
	require.Empty(t, b.do(peerCmd{Op: "stop"}).Err, "Stop is idempotent")
	assert.Equal(t, 1+accepted, b.stats().Handled, "the refused Increments never reached a reactor")

	o = b.request(a, "basic", &counterpb.Increment{Counter: "c1"}, time.Second)
	assert.Contains(t, o.Is, "cluster.ErrRemoteStopped")
	assert.Contains(t, o.Is, "intent.ErrUnavailable")

	o = a.request(b, "basic", &counterpb.Increment{Counter: "c1"}, 6*time.Second)
	assert.Contains(t, o.Is, "intent.ErrUnavailable", "a stopped peer fails before the deadline: %s", o.Err)
	assert.Less(t, o.ElapsedMS, int64(5000))
}

func TestRemoteConfigRefusals(t *testing.T) {
	checkGoroutines(t)
	system := protoactor.NewActorSystem(protoactor.WithLoggerFactory(func(*protoactor.ActorSystem) *slog.Logger {
		return clustertest.Logger(t, slog.LevelWarn)
	}))
	rt, err := actor.NewRuntime(actor.Config{System: system, Logger: clustertest.Logger(t, slog.LevelInfo)})
	require.NoError(t, err)
	defer func() { require.NoError(t, rt.Stop()) }()
	for _, tc := range []struct {
		name string
		cfg  cluster.RemoteConfig
		want string
	}{
		{"bind without a port", cluster.RemoteConfig{Bind: "localhost"}, "not host:port"},
		{"every interface without Advertise", cluster.RemoteConfig{Bind: "0.0.0.0:0"}, "set Advertise"},
		{"Advertise port 0 with a free Bind port", cluster.RemoteConfig{Advertise: "10.0.0.1:0"}, "give either a port"},
		{"Advertise without a host", cluster.RemoteConfig{Advertise: ":8090"}, "must name a host"},
		{"TLS without a certificate", cluster.RemoteConfig{TLS: &tls.Config{}}, "no certificate"},
		{"negative timeout", cluster.RemoteConfig{RequestTimeout: -1}, "negative"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := cluster.StartRemote(system, rt, tc.cfg)
			require.ErrorIs(t, err, cluster.ErrInvalidRemoteConfig)
			assert.ErrorContains(t, err, tc.want)
		})
	}
	_, err = cluster.StartRemote(protoactor.NewActorSystem(), rt, cluster.RemoteConfig{})
	assert.ErrorIs(t, err, cluster.ErrInvalidRemoteConfig, "the runtime runs on another system")

	// A port in use is an error, not Proto.Actor's panic. (Proto.Actor
	// fails before it starts gRPC, so this process still runs no gRPC.)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	_, err = cluster.StartRemote(system, rt, cluster.RemoteConfig{Bind: l.Addr().String()})
	assert.ErrorIs(t, err, intent.ErrUnavailable)
	assert.ErrorContains(t, err, "address already in use")
}

// ---- the peer process ----

// peerEnv carries a peerSpec to a peer process.
const peerEnv = "PACKETFLOW_REMOTE_PEER"

// peerLogsEnv, when set, shows every peer's log, not only a failed one's.
const peerLogsEnv = "PACKETFLOW_PEER_LOGS"

type peerSpec struct {
	Name string   `json:"name"`
	TLS  *peerTLS `json:"tls,omitempty"`
}

// peerTLS names PEM files for cluster.LoadMutualTLS.
type peerTLS struct{ Cert, Key, CA string }

// TestRemotePeerProcess is a node of the remote tests when the test binary
// runs as a peer process (see startPeer); otherwise it is skipped.
func TestRemotePeerProcess(t *testing.T) {
	spec := os.Getenv(peerEnv)
	if spec == "" {
		t.Skip("runs only as a peer process of the remote tests")
	}
	var ps peerSpec
	require.NoError(t, json.Unmarshal([]byte(spec), &ps))
	checkGoroutines(t)
	var cfg cluster.RemoteConfig
	if ps.TLS != nil {
		var err error
		cfg.TLS, err = cluster.LoadMutualTLS(ps.TLS.Cert, ps.TLS.Key, ps.TLS.CA)
		require.NoError(t, err)
	}
	n := startRemoteNode(t, ps.Name, cfg)
	h := &peerHost{t: t, n: n, out: os.Stdout, late: make(chan *intentpb.Reply, 64)}
	h.serve(os.Stdin)
}

// peerCmd is a command to a peer process; peerResult its answer.
type peerCmd struct {
	ID         int    `json:"id"`
	Op         string `json:"op"`
	To         string `json:"to,omitempty"`
	Caller     string `json:"caller,omitempty"` // "basic" or "admin"
	Msg        []byte `json:"msg,omitempty"`    // an Any in binary
	WaitMS     int64  `json:"wait_ms,omitempty"`
	DeadlineMS int64  `json:"deadline_ms,omitempty"` // of the envelope; zero: WaitMS
	Counter    string `json:"counter,omitempty"`
	IntentID   string `json:"intent_id,omitempty"`
}

type peerResult struct {
	ID        int        `json:"id"`
	Address   string     `json:"address,omitempty"`
	IntentID  string     `json:"intent_id,omitempty"`
	Reply     []byte     `json:"reply,omitempty"` // an Any in binary
	Err       string     `json:"err,omitempty"`
	Is        []string   `json:"is,omitempty"`      // sentinels and types err matches
	Missing   []string   `json:"missing,omitempty"` // of a *capability.DeniedError
	ElapsedMS int64      `json:"elapsed_ms,omitempty"`
	Count     int64      `json:"count,omitempty"`
	Value     string     `json:"value,omitempty"`
	Stats     *peerStats `json:"stats,omitempty"`
}

type peerStats struct {
	Handled, Denied, Activations, Received uint64
	Audits, SlowHandled                    int64
}

// peerHost runs a node's side of the protocol: one command per line on
// stdin, each handled on its own goroutine, one result line per command.
type peerHost struct {
	t      *testing.T
	n      *remoteNode
	outMu  sync.Mutex
	out    io.Writer
	late   chan *intentpb.Reply // replies that arrived after their Request gave up
	audits atomic.Int64
}

// resultPrefix marks the lines of stdout that are results, not test output.
const resultPrefix = "@peer "

func (h *peerHost) serve(in io.Reader) {
	sub := h.n.system.EventStream.Subscribe(func(m any) {
		if dl, ok := m.(*protoactor.DeadLetterEvent); ok {
			if r, ok := dl.Message.(*intentpb.Reply); ok {
				select {
				case h.late <- r:
				default:
				}
			}
		}
	})
	defer h.n.system.EventStream.Unsubscribe(sub)
	defer h.n.rt.Subscribe(func(e actor.Event) {
		if _, ok := e.(*actor.PermissionDenied); ok {
			h.audits.Add(1)
		}
	})()
	h.write(peerResult{Address: h.n.remote.Address()})
	var running sync.WaitGroup
	defer running.Wait()
	lines := bufio.NewScanner(in)
	for lines.Scan() {
		var c peerCmd
		if err := json.Unmarshal(lines.Bytes(), &c); err != nil {
			h.t.Errorf("bad command %q: %v", lines.Text(), err)
			continue
		}
		running.Add(1)
		go func() {
			defer running.Done()
			r := h.handle(c)
			r.ID = c.ID
			h.write(r)
		}()
	}
}

func (h *peerHost) write(r peerResult) {
	line, err := json.Marshal(r)
	if err != nil {
		h.t.Errorf("encoding %+v: %v", r, err)
		return
	}
	h.outMu.Lock()
	defer h.outMu.Unlock()
	fmt.Fprintf(h.out, "%s%s\n", resultPrefix, line)
}

func (h *peerHost) handle(c peerCmd) peerResult {
	n := h.n
	switch c.Op {
	case "request":
		return h.request(c)
	case "raw":
		return h.raw(c)
	case "get":
		return peerResult{Count: n.local(h.t, c.Counter)}
	case "stats":
		st := n.rt.Stats()
		return peerResult{Stats: &peerStats{Handled: st.Handled, Denied: st.Denied, Activations: st.Activations,
			Received: n.remote.Received(), Audits: h.audits.Load(), SlowHandled: n.slow.handled.Load()}}
	case "entered":
		select {
		case v := <-n.slow.entered:
			return peerResult{Value: v}
		case <-time.After(10 * time.Second):
			return peerResult{Err: "no slow intent entered its handler"}
		}
	case "release":
		n.releaseSlow()
		return peerResult{}
	case "late":
		timeout := time.After(10 * time.Second)
		for {
			select {
			case r := <-h.late:
				if r.IntentId == c.IntentID {
					return peerResult{IntentID: r.IntentId, Value: r.GetStatus().GetCode().String()}
				}
			case <-timeout:
				return peerResult{Err: "no late reply to " + c.IntentID}
			}
		}
	case "bad_transport_input":
		return badTransportInput(c.To)
	case "register_ghost":
		_, err := intent.Register(n.rt.Types(), intent.Spec[*wrapperspb.Int64Value]{Kind: "ghost"})
		return errResult(err)
	case "stop":
		return errResult(n.remote.Stop())
	}
	return peerResult{Err: "unknown op " + c.Op}
}

// request sends c.Msg from this node to c.To with cluster.Remote.Request.
func (h *peerHost) request(c peerCmd) peerResult {
	n := h.n
	msg, err := unwire(c.Msg)
	if err != nil {
		return errResult(err)
	}
	caller := n.basic
	if c.Caller == "admin" {
		caller = n.admin
	}
	deadline := c.DeadlineMS
	if deadline == 0 {
		deadline = c.WaitMS
	}
	envCtx, cancelEnv := context.WithTimeout(context.Background(), time.Duration(deadline)*time.Millisecond)
	defer cancelEnv()
	env, err := n.rt.NewEnvelope(envCtx, caller, msg)
	if err != nil {
		return errResult(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(c.WaitMS)*time.Millisecond)
	defer cancel()
	start := time.Now()
	reply, err := n.remote.Request(ctx, c.To, env)
	r := errResult(err)
	r.IntentID, r.ElapsedMS = env.ID, time.Since(start).Milliseconds()
	if reply != nil {
		if r.Reply, err = wire(reply); err != nil {
			return errResult(err)
		}
	}
	return r
}

// raw sends c.Msg as it is to the intake at c.To and returns the answer.
func (h *peerHost) raw(c peerCmd) peerResult {
	msg, err := unwire(c.Msg)
	if err != nil {
		return errResult(err)
	}
	replies := make(rawReplies, 1)
	registry := h.n.system.ProcessRegistry
	pid, _ := registry.Add(replies, "test-raw"+registry.NextId())
	defer registry.Remove(pid)
	h.n.system.Root.RequestWithCustomSender(protoactor.NewPID(c.To, cluster.IntakeName), msg, pid)
	select {
	case m := <-replies:
		reply, ok := m.(proto.Message)
		if !ok {
			return peerResult{Err: fmt.Sprintf("answered with a %T", m)}
		}
		var r peerResult
		if r.Reply, err = wire(reply); err != nil {
			return errResult(err)
		}
		return r
	case <-time.After(10 * time.Second):
		return peerResult{Err: "no answer from the intake"}
	}
}

// badTransportInput talks Proto.Actor's own gRPC protocol to the node at
// address: a message batch naming a type nobody registered, and the
// unimplemented ListProcesses call. It reports both calls' errors.
func badTransportInput(address string) peerResult {
	conn, err := grpc.Dial(address, grpc.WithTransportCredentials(insecure.NewCredentials())) // grpc v1.60: no NewClient yet
	if err != nil {
		return errResult(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	client := remote.NewRemotingClient(conn)
	stream, err := client.Receive(ctx)
	if err != nil {
		return errResult(err)
	}
	connect := &remote.RemoteMessage{MessageType: &remote.RemoteMessage_ConnectRequest{ConnectRequest: &remote.ConnectRequest{
		ConnectionType: &remote.ConnectRequest_ServerConnection{ServerConnection: &remote.ServerConnection{SystemId: "mallory", Address: "127.0.0.1:1"}}}}}
	if err := stream.Send(connect); err != nil {
		return errResult(err)
	}
	if _, err := stream.Recv(); err != nil {
		return errResult(fmt.Errorf("connect: %w", err))
	}
	batch := &remote.RemoteMessage{MessageType: &remote.RemoteMessage_MessageBatch{MessageBatch: &remote.MessageBatch{
		TypeNames: []string{"no.such.Message"},
		Targets:   []*protoactor.PID{protoactor.NewPID(address, cluster.IntakeName)},
		Envelopes: []*remote.MessageEnvelope{{TypeId: 0, Target: 0, MessageData: []byte{0x0a, 0x01, 'x'}}},
	}}}
	if err := stream.Send(batch); err != nil {
		return errResult(err)
	}
	_, streamErr := stream.Recv()
	_, unaryErr := client.ListProcesses(ctx, &remote.ListProcessesRequest{})
	if streamErr == nil || unaryErr == nil {
		return peerResult{Err: fmt.Sprintf("bad input was accepted: stream %v, ListProcesses %v", streamErr, unaryErr)}
	}
	return peerResult{Value: streamErr.Error() + "; " + unaryErr.Error()}
}

// rawReplies is a process of the test's own that keeps what it is sent.
type rawReplies chan any

func (r rawReplies) SendUserMessage(_ *protoactor.PID, m any) {
	select {
	case r <- protoactor.UnwrapEnvelopeMessage(m):
	default:
	}
}
func (rawReplies) SendSystemMessage(*protoactor.PID, any) {}
func (rawReplies) Stop(*protoactor.PID)                   {}

// errResult describes err: its text, and the sentinels and types it matches.
func errResult(err error) peerResult {
	if err == nil {
		return peerResult{}
	}
	r := peerResult{Err: err.Error()}
	for _, s := range []struct {
		name string
		err  error
	}{
		{"capability.ErrPermissionDenied", capability.ErrPermissionDenied},
		{"intent.ErrDeadlineExceeded", intent.ErrDeadlineExceeded},
		{"intent.ErrUnavailable", intent.ErrUnavailable},
		{"intent.ErrNotFound", intent.ErrNotFound},
		{"intent.ErrFailed", intent.ErrFailed},
		{"intent.ErrInvalid", intent.ErrInvalid},
		{"intent.ErrTooLarge", intent.ErrTooLarge},
		{"cluster.ErrRemoteStopped", cluster.ErrRemoteStopped},
		{"cluster.ErrNotDelivered", cluster.ErrNotDelivered},
	} {
		if errors.Is(err, s.err) {
			r.Is = append(r.Is, s.name)
		}
	}
	var denied *capability.DeniedError
	if errors.As(err, &denied) {
		r.Is = append(r.Is, "*capability.DeniedError")
		for _, c := range denied.Missing {
			r.Missing = append(r.Missing, c.String())
		}
	}
	return r
}

// wire encodes m as a binary Any, for a command or a result.
func wire(m proto.Message) ([]byte, error) {
	a, err := anypb.New(m)
	if err != nil {
		return nil, err
	}
	return proto.Marshal(a)
}

// unwire decodes what wire encoded.
func unwire(data []byte) (proto.Message, error) {
	var a anypb.Any
	if err := proto.Unmarshal(data, &a); err != nil {
		return nil, err
	}
	return anypb.UnmarshalNew(&a, proto.UnmarshalOptions{})
}

func mustWire(t testing.TB, m proto.Message) []byte {
	t.Helper()
	data, err := wire(m)
	require.NoError(t, err)
	return data
}

// ---- driving peers from a test ----

// peer is a node running in a process of its own.
type peer struct {
	t       testing.TB
	name    string
	address string
	stdin   io.WriteCloser
	// mu guards next, waiting and stdin writes.
	mu      sync.Mutex
	next    int
	waiting map[int]chan peerResult
}

// startPeer starts a node in a new process (TLS from PEM files when tls is
// set, plaintext otherwise) and stops it when the test ends: its standard
// input is closed, it stops its node, checks for leaked goroutines and
// exits; a non-zero exit fails the test with the peer's output.
func startPeer(t testing.TB, name string, tls *peerTLS) *peer {
	t.Helper()
	spec, err := json.Marshal(peerSpec{Name: name, TLS: tls})
	require.NoError(t, err)
	cmd := exec.Command(os.Args[0], "-test.run=^TestRemotePeerProcess$", "-test.v", "-test.count=1", "-test.timeout=2m")
	// Under -race a process sleeps 1 s at exit (atexit_sleep_ms) so that
	// goroutines still running can report races; a peer exits only once
	// none is left (checkGoroutines), so a short pause will do.
	cmd.Env = append(os.Environ(), peerEnv+"="+string(spec), "GORACE="+os.Getenv("GORACE")+" atexit_sleep_ms=50")
	var stderr lockedBuffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	p := &peer{t: t, name: name, waiting: map[int]chan peerResult{0: make(chan peerResult, 1)}}
	p.stdin, err = cmd.StdinPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())

	var output lockedBuffer // the peer's test log, shown if it fails
	read := make(chan struct{})
	go func() {
		defer close(read)
		lines := bufio.NewScanner(stdout)
		lines.Buffer(nil, 1<<20)
		for lines.Scan() {
			line := lines.Text()
			if !strings.HasPrefix(line, resultPrefix) {
				fmt.Fprintln(&output, line)
				continue
			}
			var r peerResult
			if err := json.Unmarshal([]byte(strings.TrimPrefix(line, resultPrefix)), &r); err != nil {
				fmt.Fprintf(&output, "bad result %q: %v\n", line, err)
				continue
			}
			p.mu.Lock()
			ch := p.waiting[r.ID]
			delete(p.waiting, r.ID)
			p.mu.Unlock()
			if ch != nil {
				ch <- r
			}
		}
	}()
	t.Cleanup(func() {
		_ = p.stdin.Close()
		exited := make(chan error, 1)
		go func() { <-read; exited <- cmd.Wait() }()
		var err error
		select {
		case err = <-exited:
		case <-time.After(60 * time.Second):
			_ = cmd.Process.Kill()
			err = fmt.Errorf("did not exit within 60s: %v", <-exited)
		}
		if err != nil || t.Failed() || os.Getenv(peerLogsEnv) != "" {
			t.Logf("peer %s output:\n%s\nstderr:\n%s", name, output.String(), stderr.String())
		}
		if err != nil {
			t.Errorf("peer %s: %v", name, err)
		}
	})
	p.mu.Lock()
	first := p.waiting[0]
	p.next = 1
	p.mu.Unlock()
	select {
	case r := <-first:
		p.address = r.Address
	case <-time.After(60 * time.Second):
		t.Fatalf("peer %s did not start:\n%s\nstderr:\n%s", name, output.String(), stderr.String())
	}
	return p
}

// do runs a command on the peer and returns its result.
func (p *peer) do(c peerCmd) peerResult {
	p.t.Helper()
	ch := make(chan peerResult, 1)
	p.mu.Lock()
	c.ID = p.next
	p.next++
	p.waiting[c.ID] = ch
	line, err := json.Marshal(c)
	if err == nil {
		_, err = fmt.Fprintf(p.stdin, "%s\n", line)
	}
	p.mu.Unlock()
	if err != nil {
		p.t.Errorf("peer %s: sending %s: %v", p.name, c.Op, err)
		return peerResult{Err: err.Error()}
	}
	select {
	case r := <-ch:
		return r
	case <-time.After(60 * time.Second):
		p.t.Errorf("peer %s: no result for %s within 60s", p.name, c.Op)
		return peerResult{Err: "no result"}
	}
}

// outcome is the result of a request, its reply decoded.
type outcome struct {
	peerResult
	Reply proto.Message
}

func (p *peer) request(to *peer, caller string, msg proto.Message, wait time.Duration) outcome {
	p.t.Helper()
	return p.requestAt(to.address, caller, msg, wait)
}

func (p *peer) requestAt(address, caller string, msg proto.Message, wait time.Duration) outcome {
	p.t.Helper()
	r := p.do(peerCmd{Op: "request", To: address, Caller: caller, Msg: mustWire(p.t, msg), WaitMS: wait.Milliseconds()})
	o := outcome{peerResult: r}
	if len(r.Reply) > 0 {
		var err error
		o.Reply, err = unwire(r.Reply)
		require.NoError(p.t, err)
	}
	return o
}

// raw sends msg as it is to to's intake and returns the intake's reply.
func (p *peer) raw(to *peer, msg proto.Message) *intentpb.Reply {
	p.t.Helper()
	r := p.do(peerCmd{Op: "raw", To: to.address, Msg: mustWire(p.t, msg)})
	require.Empty(p.t, r.Err)
	m, err := unwire(r.Reply)
	require.NoError(p.t, err)
	reply, ok := m.(*intentpb.Reply)
	require.True(p.t, ok, "the intake answered with a %T", m)
	return reply
}

func (p *peer) count(c string) int64 { return p.do(peerCmd{Op: "get", Counter: c}).Count }

func (p *peer) stats() peerStats {
	p.t.Helper()
	r := p.do(peerCmd{Op: "stats"})
	require.NotNil(p.t, r.Stats, r.Err)
	return *r.Stats
}

// writeTLS writes cert and ca as PEM files for a peer named name.
func writeTLS(t testing.TB, dir, name string, cert tls.Certificate, ca *tlstest.CA) *peerTLS {
	t.Helper()
	certPEM, keyPEM := tlstest.PEM(t, cert)
	files := &peerTLS{Cert: filepath.Join(dir, name+".crt"), Key: filepath.Join(dir, name+".key"), CA: filepath.Join(dir, name+"-ca.crt")}
	require.NoError(t, os.WriteFile(files.Cert, certPEM, 0o600))
	require.NoError(t, os.WriteFile(files.Key, keyPEM, 0o600))
	require.NoError(t, os.WriteFile(files.CA, ca.PEM(), 0o600))
	return files
}

type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// ---- a node, in the process that runs it ----

// remoteNode is a runtime with the counter example and a slow reactor, on an
// actor system with a remote.
type remoteNode struct {
	system      *protoactor.ActorSystem
	rt          *actor.Runtime
	remote      *cluster.Remote
	slow        *slowReactor
	releaseOnce sync.Once
	basic       *intent.Context
	admin       *intent.Context
}

// slowReactor handles wrapperspb.StringValue intents (kind "slow", identity
// the value, requiring user:basic): it reports each call on entered and
// answers "done" once release is closed.
type slowReactor struct {
	entered chan string
	release chan struct{}
	handled atomic.Int64
}

// startRemoteNode starts a node whose remote uses cfg (a nil Logger logs to
// the test log) and stops it when the test ends.
func startRemoteNode(t testing.TB, name string, cfg cluster.RemoteConfig) *remoteNode {
	t.Helper()
	logger := clustertest.Logger(t, slog.LevelInfo).With("node", name)
	if cfg.Logger == nil {
		cfg.Logger = logger
	}
	system := protoactor.NewActorSystem(protoactor.WithLoggerFactory(func(*protoactor.ActorSystem) *slog.Logger {
		return clustertest.Logger(t, slog.LevelWarn).With("node", name, "lib", "protoactor")
	}))
	rt, err := actor.NewRuntime(actor.Config{Name: name, System: system, Logger: logger})
	require.NoError(t, err)
	t.Cleanup(func() {
		assert.NoError(t, rt.Stop())
		system.Shutdown()
	})
	require.NoError(t, counter.Define(rt, nil))
	n := &remoteNode{system: system, rt: rt, slow: &slowReactor{entered: make(chan string, 16), release: make(chan struct{})}}
	_, err = intent.Register(rt.Types(), intent.Spec[*wrapperspb.StringValue]{
		Kind: "slow", Requires: []string{"user:basic"}, Identity: (*wrapperspb.StringValue).GetValue})
	require.NoError(t, err)
	slow := actor.NewReactor[int]("slow", nil)
	actor.Handle(slow, func(c *actor.Call, s int, in *wrapperspb.StringValue) (int, *wrapperspb.StringValue, error) {
		n.slow.entered <- in.Value
		<-n.slow.release
		n.slow.handled.Add(1)
		return s + 1, wrapperspb.String("done"), nil
	})
	require.NoError(t, rt.Register(slow))
	n.basic, err = rt.NewContext("alice", "user:basic")
	require.NoError(t, err)
	n.admin, err = rt.NewContext("root", "user:admin")
	require.NoError(t, err)
	n.remote, err = cluster.StartRemote(system, rt, cfg)
	require.NoError(t, err)
	t.Cleanup(func() {
		n.releaseSlow()
		assert.NoError(t, n.remote.Stop())
	})
	return n
}

func (n *remoteNode) releaseSlow() { n.releaseOnce.Do(func() { close(n.slow.release) }) }

// local reads counter c on n itself.
func (n *remoteNode) local(t testing.TB, c string) int64 {
	t.Helper()
	reply, err := n.rt.Request(context.Background(), n.admin, &counterpb.Get{Counter: c})
	require.NoError(t, err)
	return reply.(*counterpb.Value).Count
}

// ---- helpers ----

// checkGoroutines fails the test if goroutines it started still run 10 s
// after its cleanups (Proto.Actor's dead-letter throttle lives 1 s after a
// dead letter; gRPC's connection goroutines end a moment after the
// connection closes). Call it first, so that its cleanup runs last.
func checkGoroutines(t testing.TB) {
	t.Helper()
	before := goleak.IgnoreCurrent()
	t.Cleanup(func() {
		var err error
		if !waitUntil(10*time.Second, func() bool { err = goleak.Find(before); return err == nil }) {
			t.Errorf("goroutines left running: %v", err)
		}
	})
}

// waitUntil polls cond until it holds (true) or timeout passes (false).
func waitUntil(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
	return true
}

// freeAddress returns a loopback address nothing listens on.
func freeAddress(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	return addr
}
