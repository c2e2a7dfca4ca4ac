package counter_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"math"
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/packetflow/packetflow/actor"
	"github.com/packetflow/packetflow/examples/counter"
	"github.com/packetflow/packetflow/examples/counter/counterpb"
	"github.com/packetflow/packetflow/intent"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		goleak.IgnoreTopFunction("github.com/asynkron/protoactor-go/actor.NewThrottle.func1"),
		goleak.IgnoreTopFunction("github.com/asynkron/protoactor-go/actor.NewThrottleWithLogger.func1"))
}

func TestDemo(t *testing.T) {
	var out bytes.Buffer
	require.NoError(t, counter.Demo(context.Background(), &out))
	require.Contains(t, out.String(), "alice resets           -> denied: permission denied: missing user:admin")
}

func TestIncrementBy(t *testing.T) {
	rt, err := actor.NewRuntime(actor.Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	require.NoError(t, err)
	defer rt.Stop()
	require.NoError(t, counter.Define(rt, nil))
	alice, err := rt.NewContext("alice", "user:basic")
	require.NoError(t, err)
	ctx := context.Background()
	inc := func(by int64) (int64, error) {
		reply, err := rt.Request(ctx, alice, &counterpb.Increment{Counter: "c", By: by})
		if err != nil {
			return 0, err
		}
		return reply.(*counterpb.Value).Count, nil
	}
	n, err := inc(0)
	require.NoError(t, err)
	require.Equal(t, int64(1), n, "by 0 means by 1")
	n, err = inc(41)
	require.NoError(t, err)
	require.Equal(t, int64(42), n)
	_, err = inc(-5)
	require.ErrorIs(t, err, intent.ErrFailed)
	_, err = inc(math.MaxInt64)
	require.ErrorIs(t, err, intent.ErrFailed, "overflow is refused")
	reply, err := rt.Request(ctx, alice, &counterpb.Get{Counter: "c"})
	require.NoError(t, err)
	require.Equal(t, int64(42), reply.(*counterpb.Value).Count, "refused increments changed nothing")
}
