package supervision_test

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"

	"github.com/packetflow/packetflow/actor"
	"github.com/packetflow/packetflow/examples/counter"
	"github.com/packetflow/packetflow/examples/counter/counterpb"
	"github.com/packetflow/packetflow/intent"
	"github.com/packetflow/packetflow/store"
	"github.com/packetflow/packetflow/supervision"
	"github.com/packetflow/packetflow/supervision/fault"
)

// Reactor instances under an Instances strategy: each failure restarts the
// instance from its committed state until it exceeds the intensity; then
// it is stopped, and its next intent activates it afresh, again from its
// committed state. No failed handler's state is ever visible.
func TestInstancesRestartThenStopOverIntensity(t *testing.T) {
	clock := newFakeClock()
	var mu sync.Mutex
	var events []string
	inst, err := supervision.NewInstances(supervision.Strategy{
		Intensity: supervision.Intensity{MaxRestarts: 2, Within: time.Minute},
	}, supervision.Options{Clock: clock, Seed: 1}, func(e supervision.Event) {
		mu.Lock()
		events = append(events, e.Kind.String())
		mu.Unlock()
	})
	require.NoError(t, err)
	faults := fault.New(1)
	rt, err := actor.NewRuntime(actor.Config{Store: store.NewMemory(), Supervisor: inst, Intercept: faults.Intercept,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, rt.Stop()) })
	require.NoError(t, counter.Define(rt, nil))
	caller, err := rt.NewContext("alice", "user:basic")
	require.NoError(t, err)
	request := func(msg proto.Message) (int64, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		reply, err := rt.Request(ctx, caller, msg)
		if err != nil {
			return 0, err
		}
		return reply.(*counterpb.Value).Count, nil
	}
	incr := &counterpb.Increment{Counter: "c1", By: 1}
	for range 2 {
		_, err := request(incr)
		require.NoError(t, err)
	}
	require.NoError(t, faults.Set(fault.Rule{Kind: "counter", Type: "Increment", Rate: 1, Action: fault.Panic}))
	for range 3 {
		_, err := request(incr)
		require.ErrorIs(t, err, intent.ErrFailed)
	}
	require.Eventually(t, func() bool { return inst.Stats().Stops == 1 }, 5*time.Second, time.Millisecond)
	mu.Lock()
	require.Equal(t, []string{"failed", "restarted", "failed", "restarted", "failed", "stopped"}, events)
	mu.Unlock()
	require.NoError(t, faults.Set())
	got, err := request(&counterpb.Get{Counter: "c1"})
	require.NoError(t, err)
	require.EqualValues(t, 2, got, "only committed increments are visible")
	got, err = request(incr)
	require.NoError(t, err)
	require.EqualValues(t, 3, got)
	st := inst.Stats()
	require.EqualValues(t, 3, st.Failures)
	require.EqualValues(t, 2, st.Restarts)
}
