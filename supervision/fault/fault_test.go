package fault_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/packetflow/packetflow/actor"
	"github.com/packetflow/packetflow/examples/counter"
	"github.com/packetflow/packetflow/examples/counter/counterpb"
	"github.com/packetflow/packetflow/intent"
	"github.com/packetflow/packetflow/store"
	"github.com/packetflow/packetflow/supervision/fault"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		goleak.IgnoreTopFunction("github.com/asynkron/protoactor-go/actor.NewThrottleWithLogger.func1"),
		goleak.IgnoreTopFunction("github.com/asynkron/protoactor-go/actor.NewThrottle.func1"),
	)
}

func runtime(t *testing.T, in *fault.Injector) (*actor.Runtime, *intent.Context) {
	t.Helper()
	rt, err := actor.NewRuntime(actor.Config{Store: store.NewMemory(), Intercept: in.Intercept,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, rt.Stop()) })
	require.NoError(t, counter.Define(rt, nil))
	caller, err := rt.NewContext("alice", "user:basic")
	require.NoError(t, err)
	return rt, caller
}

// An injected panic is a handler panic: the caller gets an error, the
// committed state is untouched, and other intent types are not hit.
func TestInjectedPanicChangesNothing(t *testing.T) {
	in := fault.New(1)
	rt, caller := runtime(t, in)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	incr := &counterpb.Increment{Counter: "c1", By: 1}
	_, err := rt.Request(ctx, caller, incr)
	require.NoError(t, err)

	require.NoError(t, in.Set(fault.Rule{Kind: "counter", Type: "Increment", Rate: 1, Action: fault.Panic}))
	for range 3 {
		_, err = rt.Request(ctx, caller, incr)
		require.ErrorIs(t, err, intent.ErrFailed)
		require.Contains(t, err.Error(), "fault: injected panic in counter/c1")
	}
	got, err := rt.Request(ctx, caller, &counterpb.Get{Counter: "c1"})
	require.NoError(t, err, "Get does not match the rule")
	require.EqualValues(t, 1, got.(*counterpb.Value).Count, "no injected panic changed the state")

	require.NoError(t, in.Set())
	got, err = rt.Request(ctx, caller, incr)
	require.NoError(t, err)
	require.EqualValues(t, 2, got.(*counterpb.Value).Count)
	require.EqualValues(t, 3, in.Counts()[fault.Panic])
}

// A stop rule stops the instance once it has handled the intent: its next
// intent activates it afresh from its committed state.
func TestInjectedStopReactivatesFromCommittedState(t *testing.T) {
	in := fault.New(1)
	require.Error(t, in.Set(fault.Rule{Rate: 1, Action: fault.Stop}), "no way to stop instances yet")
	rt, caller := runtime(t, in)
	in.StopWith(rt.Deactivate)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	require.NoError(t, in.Set(fault.Rule{Kind: "counter", Type: "Increment", Rate: 1, Action: fault.Stop}))
	for i := range 3 {
		got, err := rt.Request(ctx, caller, &counterpb.Increment{Counter: "c1", By: 1})
		require.NoError(t, err, "the intent that triggers the stop is handled")
		require.EqualValues(t, i+1, got.(*counterpb.Value).Count, "each activation recovers the committed count")
	}
	require.EqualValues(t, 3, in.Counts()[fault.Stop])
	require.Eventually(t, func() bool { return rt.Stats().Activations >= 3 }, 5*time.Second, time.Millisecond,
		"every stop made the next intent activate the instance again (stats %+v)", rt.Stats())
}

// A drop rule loses the intent before its handler: the caller's deadline
// answers, and nothing changed.
func TestInjectedDropLosesTheIntent(t *testing.T) {
	in := fault.New(1)
	rt, caller := runtime(t, in)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := rt.Request(ctx, caller, &counterpb.Increment{Counter: "c1", By: 1})
	require.NoError(t, err)
	require.NoError(t, in.Set(fault.Rule{Kind: "counter", Type: "Increment", Rate: 1, Action: fault.Drop}))
	short, cancelShort := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancelShort()
	_, err = rt.Request(short, caller, &counterpb.Increment{Counter: "c1", By: 1})
	require.ErrorIs(t, err, intent.ErrDeadlineExceeded)
	got, err := rt.Request(ctx, caller, &counterpb.Get{Counter: "c1"})
	require.NoError(t, err, "Get does not match the rule")
	require.EqualValues(t, 1, got.(*counterpb.Value).Count, "the dropped increment was never handled")
	require.EqualValues(t, 1, in.Counts()[fault.Drop])
}

// The same seed makes the same decisions for the same sequence of calls.
func TestSeededRateIsReproducible(t *testing.T) {
	decisions := func(seed uint64) []bool {
		in := fault.New(seed)
		require.NoError(t, in.Set(fault.Rule{Rate: 0.3, Action: fault.Panic}))
		var out []bool
		for range 200 {
			func() {
				defer func() { out = append(out, recover() != nil) }()
				in.Intercept("counter", "c1", nil)
			}()
		}
		return out
	}
	a, b := decisions(42), decisions(42)
	require.Equal(t, a, b)
	hits := 0
	for _, h := range a {
		if h {
			hits++
		}
	}
	require.InDelta(t, 60, hits, 25, "rate 0.3 of 200")
	require.NotEqual(t, a, decisions(43))
}

func TestBadRulesChangeNothing(t *testing.T) {
	in := fault.New(1)
	require.NoError(t, in.Set(fault.Rule{Rate: 0.5}))
	for _, r := range []fault.Rule{
		{Rate: -0.1}, {Rate: 1.5}, {Rate: 1, Action: 7}, {Rate: 1, Action: fault.Delay}, {Rate: 1, Action: fault.Delay, Delay: time.Hour},
	} {
		require.Error(t, in.Set(r), "%v", r)
	}
	require.Equal(t, []fault.Rule{{Rate: 0.5}}, in.Rules())
	var inj *fault.Injected
	func() {
		defer func() {
			err, _ := recover().(error)
			require.True(t, errors.As(err, &inj) || err == nil)
		}()
		in.Intercept("k", "i", nil)
	}()
}
