package stream_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"

	"github.com/packetflow/packetflow/actor"
	"github.com/packetflow/packetflow/capability"
	"github.com/packetflow/packetflow/examples/counter"
	"github.com/packetflow/packetflow/examples/counter/counterpb"
	"github.com/packetflow/packetflow/stream"
)

func newRuntime(t *testing.T) *actor.Runtime {
	t.Helper()
	rt, err := actor.NewRuntime(actor.Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	require.NoError(t, err)
	t.Cleanup(func() { _ = rt.Stop() })
	require.NoError(t, counter.Define(rt, nil))
	return rt
}

func count(t *testing.T, rt *actor.Runtime, name string) int64 {
	t.Helper()
	root, err := rt.NewContext("root", "user:admin")
	require.NoError(t, err)
	reply, err := rt.Request(context.Background(), root, &counterpb.Get{Counter: name})
	require.NoError(t, err)
	return reply.(*counterpb.Value).Count
}

func TestToReactorDeliversIntentsThroughTheCapabilityCheck(t *testing.T) {
	rt := newRuntime(t)
	alice, err := rt.NewContext("alice", "user:basic")
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	xs := make([]int64, 100)
	var sum int64
	for i := range xs {
		xs[i] = int64(i%3 + 1)
		sum += xs[i]
	}
	increment := func(by int64) (proto.Message, error) { return &counterpb.Increment{Counter: "c", By: by}, nil }
	for _, parallel := range []int{1, 8} {
		p, err := stream.FromSlice(xs).To(stream.ToReactor(rt, alice, increment, stream.Parallelism(parallel))).Run(ctx, rt.System())
		require.NoError(t, err)
		require.NoError(t, p.Wait(ctx))
	}
	require.Equal(t, 2*sum, count(t, rt, "c"))

	// alice may not reset: the denial is the sink's error and stops the
	// pipeline by default; the counter is untouched.
	reset := func(int64) (proto.Message, error) { return &counterpb.Reset{Counter: "c"}, nil }
	p, err := stream.FromSlice(xs).To(stream.ToReactor(rt, alice, reset)).Run(ctx, rt.System())
	require.NoError(t, err)
	err = p.Wait(ctx)
	require.ErrorIs(t, err, capability.ErrPermissionDenied)
	var se *stream.StageError
	require.True(t, errors.As(err, &se))
	require.Equal(t, 2*sum, count(t, rt, "c"))

	// With Resume every denied element is dropped and counted.
	p, err = stream.FromSlice(xs).To(stream.ToReactor(rt, alice, reset, stream.Supervise(stream.ResumeAlways))).Run(ctx, rt.System())
	require.NoError(t, err)
	require.NoError(t, p.Wait(ctx))
	require.Equal(t, uint64(len(xs)), p.Stats()[1].Errors)
	require.Equal(t, 2*sum, count(t, rt, "c"))
}

func TestToReactorBadInput(t *testing.T) {
	rt := newRuntime(t)
	alice, err := rt.NewContext("alice", "user:basic")
	require.NoError(t, err)
	f := func(int) (proto.Message, error) { return nil, nil }
	for _, snk := range []stream.Sink[int]{
		stream.ToReactor[int](nil, alice, f),
		stream.ToReactor[int](rt, nil, f),
		stream.ToReactor[int](rt, alice, nil),
		stream.ToReactor[int](rt, alice, f, stream.Parallelism(0)),
	} {
		_, err := stream.FromSlice([]int{1}).To(snk).Run(context.Background(), rt.System())
		require.ErrorIs(t, err, stream.ErrInvalid)
	}
}
