package actor_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	protoactor "github.com/asynkron/protoactor-go/actor"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/packetflow/packetflow/actor"
	"github.com/packetflow/packetflow/capability"
	"github.com/packetflow/packetflow/examples/counter/counterpb"
	"github.com/packetflow/packetflow/intent"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		// Proto.Actor's dead-letter throttle parks a goroutine for its
		// interval (1s) after the first dead letter; it is not ours to stop.
		goleak.IgnoreTopFunction("github.com/asynkron/protoactor-go/actor.NewThrottleWithLogger.func1"),
		goleak.IgnoreTopFunction("github.com/asynkron/protoactor-go/actor.NewThrottle.func1"),
	)
}

// quietLogger sends the runtime's logs to the test log.
func quietLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// fixture is a runtime with a counter reactor whose handlers the tests can
// observe and steer.
type fixture struct {
	rt      *actor.Runtime
	calls   atomic.Int64 // handler invocations
	block   chan struct{}
	failIn  atomic.Bool // Increment returns an error
	panicIn atomic.Bool // Increment panics
	effects chan string
	basic   *intent.Context
	admin   *intent.Context
	nobody  *intent.Context
}

func newFixture(t *testing.T, cfg actor.Config) *fixture {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = quietLogger(t)
	}
	rt, err := actor.NewRuntime(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, rt.Stop()) })
	f := &fixture{rt: rt, effects: make(chan string, 64)}
	require.NoError(t, rt.DefineSchema("user", []string{"basic", "admin"}, capability.Implies("admin", "basic")))
	types := rt.Types()
	_, err = intent.Register(types, intent.Spec[*counterpb.Increment]{Kind: "counter", Requires: []string{"user:basic"}, Identity: (*counterpb.Increment).GetCounter})
	require.NoError(t, err)
	_, err = intent.Register(types, intent.Spec[*counterpb.Reset]{Kind: "counter", Requires: []string{"user:admin"}, Identity: (*counterpb.Reset).GetCounter})
	require.NoError(t, err)
	_, err = intent.Register(types, intent.Spec[*counterpb.Get]{Kind: "counter", Requires: []string{"user:basic"}, Identity: (*counterpb.Get).GetCounter})
	require.NoError(t, err)
	// Registered for the counter kind, but the reactor has no handler.
	_, err = intent.Register(types, intent.Spec[*wrapperspb.StringValue]{Kind: "counter"})
	require.NoError(t, err)

	r := actor.NewReactor[int64]("counter", func(string) int64 { return 0 })
	actor.Handle(r, func(c *actor.Call, n int64, in *counterpb.Increment) (int64, *counterpb.Value, error) {
		f.calls.Add(1)
		if f.block != nil {
			<-f.block
		}
		if f.failIn.Load() {
			return n + 1000, nil, errors.New("increment refused")
		}
		if f.panicIn.Load() {
			panic("handler exploded")
		}
		c.Effect(func(context.Context) error {
			select {
			case f.effects <- fmt.Sprintf("inc %s %d", in.Counter, n+1):
			default: // nobody is watching effects in this test
			}
			return nil
		})
		return n + 1, &counterpb.Value{Counter: in.Counter, Count: n + 1}, nil
	})
	actor.Handle(r, func(c *actor.Call, _ int64, in *counterpb.Reset) (int64, *counterpb.Value, error) {
		f.calls.Add(1)
		return 0, &counterpb.Value{Counter: in.Counter}, nil
	})
	actor.Handle(r, func(_ *actor.Call, n int64, in *counterpb.Get) (int64, *counterpb.Value, error) {
		return n, &counterpb.Value{Counter: in.Counter, Count: n}, nil
	})
	require.NoError(t, rt.Register(r))
	f.basic, err = rt.NewContext("alice", "user:basic")
	require.NoError(t, err)
	f.admin, err = rt.NewContext("root", "user:admin")
	require.NoError(t, err)
	f.nobody, err = rt.NewContext("mallory")
	require.NoError(t, err)
	return f
}

func (f *fixture) count(t *testing.T, counter string) int64 {
	t.Helper()
	reply, err := f.rt.Request(context.Background(), f.admin, &counterpb.Get{Counter: counter})
	require.NoError(t, err)
	return reply.(*counterpb.Value).Count
}

func (f *fixture) inc(t *testing.T, counter string) int64 {
	t.Helper()
	reply, err := f.rt.Request(context.Background(), f.basic, &counterpb.Increment{Counter: counter})
	require.NoError(t, err)
	return reply.(*counterpb.Value).Count
}

func TestHandlersCommitStateAndReply(t *testing.T) {
	f := newFixture(t, actor.Config{})
	require.Equal(t, int64(1), f.inc(t, "a"))
	require.Equal(t, int64(2), f.inc(t, "a"))
	require.Equal(t, int64(1), f.inc(t, "b"), "identities are separate instances")
	require.Equal(t, int64(2), f.count(t, "a"))
	st := f.rt.Stats()
	require.Equal(t, uint64(2), st.Activations)
	require.Equal(t, uint64(4), st.Handled, "three increments and a read")
}

func TestDeniedIntentNeverReachesTheReactor(t *testing.T) {
	f := newFixture(t, actor.Config{})
	f.inc(t, "a")
	var events []*actor.PermissionDenied
	var mu sync.Mutex
	unsub := f.rt.Subscribe(func(e actor.Event) {
		if d, ok := e.(*actor.PermissionDenied); ok {
			mu.Lock()
			events = append(events, d)
			mu.Unlock()
		}
	})
	defer unsub()
	callsBefore := f.calls.Load()

	_, err := f.rt.Request(context.Background(), f.basic, &counterpb.Reset{Counter: "a"})
	require.ErrorIs(t, err, capability.ErrPermissionDenied)
	var denied *capability.DeniedError
	require.ErrorAs(t, err, &denied)
	require.Equal(t, []capability.Capability{capability.MustParse("user:admin")}, denied.Missing)
	require.Equal(t, "permission denied: missing user:admin", err.Error())

	_, err = f.rt.Request(context.Background(), f.nobody, &counterpb.Increment{Counter: "a"})
	require.ErrorIs(t, err, capability.ErrPermissionDenied)
	_, err = f.rt.Request(context.Background(), nil, &counterpb.Increment{Counter: "a"})
	require.ErrorIs(t, err, capability.ErrPermissionDenied, "no context grants nothing")

	require.Equal(t, callsBefore, f.calls.Load(), "no handler ran")
	require.Equal(t, int64(1), f.count(t, "a"), "state unchanged")
	require.Equal(t, uint64(3), f.rt.Stats().Denied)
	mu.Lock()
	defer mu.Unlock()
	require.Len(t, events, 3)
	require.Equal(t, "alice", events[0].Principal)
	require.Equal(t, "counter", events[0].Kind)
	require.Equal(t, "a", events[0].Identity)
	require.Equal(t, "packetflow.examples.counter.v1.Reset", events[0].IntentType)
	require.Equal(t, []capability.Capability{capability.MustParse("user:admin")}, events[0].Missing)
}

func TestAdminImpliesBasic(t *testing.T) {
	f := newFixture(t, actor.Config{})
	reply, err := f.rt.Request(context.Background(), f.admin, &counterpb.Increment{Counter: "a"})
	require.NoError(t, err)
	require.Equal(t, int64(1), reply.(*counterpb.Value).Count)
}

func TestSendReturnsTheMailboxVerdict(t *testing.T) {
	f := newFixture(t, actor.Config{})
	err := f.rt.Send(context.Background(), f.basic, &counterpb.Reset{Counter: "a"})
	require.ErrorIs(t, err, capability.ErrPermissionDenied)
	require.NoError(t, f.rt.Send(context.Background(), f.basic, &counterpb.Increment{Counter: "a"}))
	require.Eventually(t, func() bool { return f.count(t, "a") == 1 }, 5*time.Second, time.Millisecond)
}

func TestUnsupportedAndUnknownIntents(t *testing.T) {
	f := newFixture(t, actor.Config{})
	_, err := f.rt.Request(context.Background(), f.admin, wrapperspb.String("x"))
	require.ErrorIs(t, err, intent.ErrUnsupported)
	require.Contains(t, err.Error(), `reactor kind "counter" has no handler for google.protobuf.StringValue`)

	_, err = f.rt.Request(context.Background(), f.admin, wrapperspb.Int64(1))
	require.ErrorIs(t, err, intent.ErrUnknownType)
	_, err = f.rt.Request(context.Background(), f.admin, nil)
	require.ErrorIs(t, err, intent.ErrInvalid)
	_, err = f.rt.Request(context.Background(), f.admin, &counterpb.Increment{})
	require.ErrorIs(t, err, intent.ErrInvalid, "an intent without identity is invalid")
	require.Zero(t, f.calls.Load())
	st := f.rt.Stats()
	require.Equal(t, uint64(1), st.Unsupported)
}

func TestRegistriesAnswerNotFound(t *testing.T) {
	f := newFixture(t, actor.Config{})
	_, err := f.rt.KindHandles("nope")
	require.ErrorIs(t, err, intent.ErrNotFound)
	_, err = f.rt.Types().Lookup("nope.Nope")
	require.ErrorIs(t, err, intent.ErrUnknownType)
	_, err = f.rt.Catalog().Schema("nope")
	require.ErrorIs(t, err, capability.ErrUnknownDomain)
	handles, err := f.rt.KindHandles("counter")
	require.NoError(t, err)
	require.Contains(t, handles, "packetflow.examples.counter.v1.Increment")
	require.Equal(t, []string{"counter"}, f.rt.Kinds())

	// An intent type whose kind nobody registered.
	_, err = intent.Register(f.rt.Types(), intent.Spec[*wrapperspb.BoolValue]{Kind: "ghost"})
	require.NoError(t, err)
	_, err = f.rt.Request(context.Background(), f.admin, wrapperspb.Bool(true))
	require.ErrorIs(t, err, intent.ErrNotFound)
	require.Contains(t, err.Error(), `reactor kind "ghost"`)
}

func TestDefinitionErrors(t *testing.T) {
	rt, err := actor.NewRuntime(actor.Config{Logger: quietLogger(t)})
	require.NoError(t, err)
	defer rt.Stop()
	require.Error(t, rt.Register(actor.NewReactor[int]("", nil)))
	require.ErrorContains(t, rt.Register(actor.NewReactor[int]("empty", nil)), "handles no intent type")
	twice := actor.NewReactor[int]("twice", nil)
	h := func(_ *actor.Call, s int, _ *counterpb.Get) (int, *counterpb.Value, error) { return s, nil, nil }
	actor.Handle(twice, h)
	actor.Handle(twice, h)
	require.ErrorContains(t, rt.Register(twice), "twice")
	ok := actor.Handle(actor.NewReactor[int]("ok", nil), h)
	require.NoError(t, rt.Register(ok))
	require.ErrorIs(t, rt.Register(ok), intent.ErrDuplicate)
	_, err = actor.NewRuntime(actor.Config{RequestTimeout: -1})
	require.Error(t, err)
}

func TestHandlerErrorLeavesStateUntouched(t *testing.T) {
	f := newFixture(t, actor.Config{})
	f.inc(t, "a")
	f.failIn.Store(true)
	_, err := f.rt.Request(context.Background(), f.basic, &counterpb.Increment{Counter: "a"})
	require.ErrorIs(t, err, intent.ErrFailed)
	require.ErrorContains(t, err, "increment refused")
	f.failIn.Store(false)
	require.Equal(t, int64(1), f.count(t, "a"))
	select {
	case e := <-f.effects:
		require.Equal(t, "inc a 1", e, "only the committed increment's effect ran")
	case <-time.After(5 * time.Second):
		t.Fatal("effect of the committed increment did not run")
	}
	require.Len(t, f.effects, 0)
}

func TestPanicRestartsFromCommittedState(t *testing.T) {
	f := newFixture(t, actor.Config{})
	failures := make(chan *actor.ReactorFailed, 1)
	defer f.rt.Subscribe(func(e actor.Event) {
		if rf, ok := e.(*actor.ReactorFailed); ok {
			failures <- rf
		}
	})()
	f.inc(t, "a")
	f.inc(t, "a")
	f.panicIn.Store(true)
	_, err := f.rt.Request(context.Background(), f.basic, &counterpb.Increment{Counter: "a"})
	require.ErrorIs(t, err, intent.ErrFailed)
	require.ErrorContains(t, err, "handler exploded")
	f.panicIn.Store(false)
	rf := <-failures
	require.Equal(t, "a", rf.Identity)
	require.Equal(t, "handler exploded", rf.Reason)
	require.Equal(t, int64(3), f.inc(t, "a"), "restarted instance resumes from the committed count 2")
}

func TestEffectFailuresAreReportedAndIsolated(t *testing.T) {
	rt, err := actor.NewRuntime(actor.Config{Logger: quietLogger(t)})
	require.NoError(t, err)
	defer rt.Stop()
	require.NoError(t, rt.DefineSchema("user", []string{"basic"}))
	_, err = intent.Register(rt.Types(), intent.Spec[*counterpb.Increment]{Kind: "fx", Requires: []string{"user:basic"}, Identity: (*counterpb.Increment).GetCounter})
	require.NoError(t, err)
	r := actor.NewReactor[int64]("fx", nil)
	actor.Handle(r, func(c *actor.Call, n int64, in *counterpb.Increment) (int64, *counterpb.Value, error) {
		c.Effect(func(context.Context) error { return errors.New("mail server down") })
		c.Effect(func(context.Context) error { panic("effect exploded") })
		return n + 1, &counterpb.Value{Count: n + 1}, nil
	})
	require.NoError(t, rt.Register(r))
	failed := make(chan *actor.EffectFailed, 8)
	defer rt.Subscribe(func(e actor.Event) {
		if ef, ok := e.(*actor.EffectFailed); ok {
			failed <- ef
		}
	})()
	caller, err := rt.NewContext("u", "user:basic")
	require.NoError(t, err)
	for i := int64(1); i <= 2; i++ {
		reply, err := rt.Request(context.Background(), caller, &counterpb.Increment{Counter: "x"})
		require.NoError(t, err)
		require.Equal(t, i, reply.(*counterpb.Value).Count, "failing effects never touch state")
	}
	var msgs []string
	for len(msgs) < 4 {
		select {
		case ef := <-failed:
			require.Equal(t, "fx", ef.Kind)
			msgs = append(msgs, ef.Err.Error())
		case <-time.After(5 * time.Second):
			t.Fatalf("only %d effect failures reported: %v", len(msgs), msgs)
		}
	}
	require.ElementsMatch(t, []string{"mail server down", "mail server down", "effect panicked: effect exploded", "effect panicked: effect exploded"}, msgs)
	require.Eventually(t, func() bool { return rt.Stats().EffectsFailed == 4 }, 5*time.Second, time.Millisecond)
}

func TestDeadlines(t *testing.T) {
	now := time.Now()
	var clock atomic.Pointer[time.Time]
	clock.Store(&now)
	f := newFixture(t, actor.Config{Clock: func() time.Time { return *clock.Load() }})
	// An intent whose deadline already passed is not handled.
	ctx, cancel := context.WithDeadline(context.Background(), now.Add(-time.Second))
	defer cancel()
	_, err := f.rt.Request(ctx, f.basic, &counterpb.Increment{Counter: "a"})
	require.ErrorIs(t, err, intent.ErrDeadlineExceeded)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.Zero(t, f.calls.Load())

	// A handler slower than the caller's deadline: the caller gets a
	// deadline error; the late reply is dropped without a race.
	f.block = make(chan struct{})
	ctx, cancel = context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err = f.rt.Request(ctx, f.basic, &counterpb.Increment{Counter: "slow"})
	require.ErrorIs(t, err, intent.ErrDeadlineExceeded)
	close(f.block)
	require.Eventually(t, func() bool { return f.count(t, "slow") == 1 }, 5*time.Second, time.Millisecond)
}

func TestForeignMessagesNeverReachReactors(t *testing.T) {
	f := newFixture(t, actor.Config{})
	f.inc(t, "a")
	// Find the instance's PID through Proto.Actor's registry and post a raw
	// protobuf message, bypassing the runtime.
	pid := f.rt.System().NewLocalPID("counter/a")
	f.rt.System().Root.Send(pid, &counterpb.Increment{Counter: "a"})
	f.rt.System().Root.Send(pid, "hello")
	require.Eventually(t, func() bool { return f.rt.Stats().NonIntentDrops == 2 }, 5*time.Second, time.Millisecond)
	require.Equal(t, int64(1), f.count(t, "a"))
	require.Equal(t, int64(1), f.calls.Load())
}

func TestPluginRejectionChangesNothing(t *testing.T) {
	f := newFixture(t, actor.Config{})
	require.NoError(t, f.rt.Plugins().Register(intent.Plugin{
		Name: "no-evil", Priority: 1,
		Validate: func(_ context.Context, e *intent.Envelope) error {
			if in, ok := e.Message.(*counterpb.Increment); ok && in.Counter == "evil" {
				return errors.New("evil counters are not allowed")
			}
			return nil
		},
	}))
	_, err := f.rt.Request(context.Background(), f.basic, &counterpb.Increment{Counter: "evil"})
	var rej *intent.RejectedError
	require.ErrorAs(t, err, &rej)
	require.Equal(t, "no-evil", rej.Plugin)
	require.Zero(t, f.calls.Load())
	require.Equal(t, uint64(0), f.rt.Stats().Activations)
	require.NoError(t, f.rt.Plugins().Unregister("no-evil"))
	require.Equal(t, int64(1), f.inc(t, "evil"))
}

func TestConcurrentCallersLoseNoIncrement(t *testing.T) {
	f := newFixture(t, actor.Config{})
	const callers, each = 16, 200
	var wg sync.WaitGroup
	for i := 0; i < callers; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			for j := 0; j < each; j++ {
				_, err := f.rt.Request(context.Background(), f.basic, &counterpb.Increment{Counter: fmt.Sprint("c", i%4)})
				if err != nil {
					t.Error(err)
					return
				}
			}
		}(i)
	}
	wg.Wait()
	var total int64
	for i := 0; i < 4; i++ {
		total += f.count(t, fmt.Sprint("c", i))
	}
	require.Equal(t, int64(callers*each), total)
}

func TestStoppedRuntimeRefusesIntents(t *testing.T) {
	rt, err := actor.NewRuntime(actor.Config{Logger: quietLogger(t)})
	require.NoError(t, err)
	require.NoError(t, rt.DefineSchema("user", []string{"basic"}))
	_, err = intent.Register(rt.Types(), intent.Spec[*counterpb.Get]{Kind: "counter", Identity: (*counterpb.Get).GetCounter})
	require.NoError(t, err)
	require.NoError(t, rt.Register(actor.Handle(actor.NewReactor[int64]("counter", nil),
		func(_ *actor.Call, n int64, _ *counterpb.Get) (int64, *counterpb.Value, error) {
			return n, &counterpb.Value{Count: n}, nil
		})))
	_, err = rt.Request(context.Background(), nil, &counterpb.Get{Counter: "a"})
	require.NoError(t, err)
	require.NoError(t, rt.Stop())
	require.NoError(t, rt.Stop(), "Stop is idempotent")
	_, err = rt.Request(context.Background(), nil, &counterpb.Get{Counter: "a"})
	require.ErrorIs(t, err, actor.ErrStopped)
	require.ErrorIs(t, err, intent.ErrUnavailable)
}

func TestSupervisorStopReactivatesOnNextIntent(t *testing.T) {
	// A supervisor that stops failing instances: the next intent activates
	// a fresh instance instead of vanishing into dead letters.
	f := newFixture(t, actor.Config{Supervisor: protoactor.NewOneForOneStrategy(0, time.Second, func(any) protoactor.Directive { return protoactor.StopDirective })})
	f.inc(t, "a")
	f.panicIn.Store(true)
	_, err := f.rt.Request(context.Background(), f.basic, &counterpb.Increment{Counter: "a"})
	require.ErrorIs(t, err, intent.ErrFailed)
	f.panicIn.Store(false)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	reply, err := f.rt.Request(ctx, f.basic, &counterpb.Get{Counter: "a"})
	require.NoError(t, err)
	require.Equal(t, int64(0), reply.(*counterpb.Value).Count, "a stopped instance's memory state is gone (durable state comes later)")
	require.Equal(t, uint64(2), f.rt.Stats().Activations)
}

var _ proto.Message = (*counterpb.Value)(nil)

func TestComposedIntentsAttributeEachStep(t *testing.T) {
	f := newFixture(t, actor.Config{})
	results, err := intent.Sequential(context.Background(), f.rt.As(f.basic),
		intent.Step{Name: "first", Intent: &counterpb.Increment{Counter: "s"}},
		intent.Step{Name: "reset", Intent: &counterpb.Reset{Counter: "s"}},
		intent.Step{Name: "never", Intent: &counterpb.Increment{Counter: "s"}},
	)
	var stepErr *intent.StepError
	require.ErrorAs(t, err, &stepErr)
	require.Equal(t, "reset", stepErr.Step)
	require.ErrorIs(t, err, capability.ErrPermissionDenied)
	require.NoError(t, results[0].Err)
	require.True(t, results[2].Skipped)
	require.Equal(t, int64(1), f.count(t, "s"), "the skipped step did not run")

	results, err = intent.FanOut(context.Background(), f.rt.As(f.basic), "inc",
		&counterpb.Increment{Counter: "x"}, &counterpb.Increment{Counter: "y"}, &counterpb.Increment{Counter: "x"})
	require.NoError(t, err)
	require.Len(t, results, 3)
	require.Equal(t, int64(2), f.count(t, "x"))
	require.Equal(t, int64(1), f.count(t, "y"))
}

func TestReactorToReactorSendPropagatesTheContext(t *testing.T) {
	rt, err := actor.NewRuntime(actor.Config{Name: "n1", Logger: quietLogger(t)})
	require.NoError(t, err)
	defer rt.Stop()
	require.NoError(t, rt.DefineSchema("user", []string{"basic"}))
	_, err = intent.Register(rt.Types(), intent.Spec[*counterpb.Increment]{Kind: "relay", Requires: []string{"user:basic"}, Identity: (*counterpb.Increment).GetCounter})
	require.NoError(t, err)
	seen := make(chan *intent.Context, 2)
	r := actor.NewReactor[int64]("relay", nil)
	actor.Handle(r, func(c *actor.Call, n int64, in *counterpb.Increment) (int64, *counterpb.Value, error) {
		seen <- c.Context()
		if in.Counter == "a" {
			c.Send(&counterpb.Increment{Counter: "b"})
		}
		return n + 1, nil, nil
	})
	require.NoError(t, rt.Register(r))
	alice, err := rt.NewContext("alice", "user:basic")
	require.NoError(t, err)
	_, err = rt.Request(context.Background(), alice, &counterpb.Increment{Counter: "a"})
	require.NoError(t, err)
	first := <-seen
	var second *intent.Context
	select {
	case second = <-seen:
	case <-time.After(3 * time.Second):
		t.Fatalf("relay/b never ran: %+v", rt.Stats())
	}
	require.Equal(t, alice.RequestID, first.RequestID)
	require.Equal(t, "alice", second.Principal)
	require.NotEqual(t, first.RequestID, second.RequestID, "a hop gets a new request id")
	require.Len(t, second.Trace, 1)
	require.Equal(t, "n1", second.Trace[0].Node)
	require.Equal(t, "relay/a", second.Trace[0].Actor)
	require.Same(t, alice.Grants, second.Grants, "inherit keeps exactly the caller's grants")
}

func TestNewContextRefusesBadGrants(t *testing.T) {
	f := newFixture(t, actor.Config{})
	for _, grant := range []string{"user", "user:", "User:basic", "user:basic:/a/*/b", "ghost:basic", "user:superuser"} {
		c, err := f.rt.NewContext("eve", grant)
		require.Error(t, err, grant)
		require.Nil(t, c, grant)
	}
	_, err := f.rt.NewContext("eve", "user:basic:")
	require.ErrorIs(t, err, capability.ErrInvalid)
	_, err = f.rt.NewContext("eve", "ghost:basic")
	require.ErrorIs(t, err, capability.ErrUnknownDomain)
	_, err = f.rt.NewContext("eve", "user:superuser")
	require.ErrorIs(t, err, capability.ErrUnknownOperation)
}

func TestDeliverRefusesIncompleteEnvelopes(t *testing.T) {
	f := newFixture(t, actor.Config{})
	for _, env := range []*intent.Envelope{nil, {}, {Message: &counterpb.Increment{Counter: "a"}}} {
		_, err := f.rt.Deliver(context.Background(), env)
		require.ErrorIs(t, err, intent.ErrInvalid)
	}
	// A type that does not match the message is caught before any reactor.
	getType, err := f.rt.Types().Lookup("packetflow.examples.counter.v1.Get")
	require.NoError(t, err)
	_, err = f.rt.Deliver(context.Background(), &intent.Envelope{ID: "x", Type: getType, Message: &counterpb.Reset{Counter: "a"}, Context: f.admin})
	require.ErrorIs(t, err, intent.ErrInvalid)
	require.Zero(t, f.calls.Load())
	require.Zero(t, f.rt.Stats().Activations)
}

func TestAdmitRefusesActivationsAndDeactivateStopsInstances(t *testing.T) {
	var refuse atomic.Bool
	f := newFixture(t, actor.Config{Admit: func(kind, identity string) error {
		if refuse.Load() && identity == "elsewhere" {
			return errors.New("owned by another member")
		}
		return nil
	}})
	f.inc(t, "a")
	f.inc(t, "b")
	active := func() []string {
		var got []string
		for kind, identity := range f.rt.Active() {
			got = append(got, kind+"/"+identity)
		}
		slices.Sort(got)
		return got
	}
	require.Equal(t, []string{"counter/a", "counter/b"}, active())

	// A refused activation runs nothing and says it is safe to retry.
	refuse.Store(true)
	calls := f.calls.Load()
	_, err := f.rt.Request(context.Background(), f.basic, &counterpb.Increment{Counter: "elsewhere"})
	require.ErrorIs(t, err, intent.ErrNotApplied)
	require.ErrorContains(t, err, "owned by another member")
	require.Equal(t, calls, f.calls.Load())
	require.NotContains(t, active(), "counter/elsewhere")

	// Deactivate stops an instance; its in-memory state goes with it and
	// the next intent activates a fresh one.
	require.True(t, f.rt.Deactivate("counter", "a"))
	require.Eventually(t, func() bool { return !slices.Contains(active(), "counter/a") }, 5*time.Second, time.Millisecond)
	require.False(t, f.rt.Deactivate("counter", "a"), "nothing left to stop")
	require.False(t, f.rt.Deactivate("nosuchkind", "a"))
	require.Equal(t, int64(1), f.inc(t, "a"))
	require.Equal(t, int64(2), f.inc(t, "b"), "other instances are untouched")
}
