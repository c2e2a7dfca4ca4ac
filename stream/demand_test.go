package stream

import (
	"context"
	"errors"
	"io"
	"math"
	"testing"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"
)

// startProbe runs src into a probe and returns the probe and pipeline.
func startProbe[T any](t testing.TB, src Source[T], cfg Config) (*Probe[T], *Pipeline) {
	t.Helper()
	snk, pr := ProbeSink[T]()
	p, err := src.To(snk).RunWith(testContext(t), newSystem(t), cfg)
	require.NoError(t, err)
	t.Cleanup(func() { p.Cancel(); <-p.Done() })
	return pr, p
}

func next[T any](t testing.TB, pr *Probe[T]) T {
	t.Helper()
	x, err := pr.Next(testContext(t))
	require.NoError(t, err)
	return x
}

func TestDemandIsNeverExceededAndAccumulates(t *testing.T) {
	pr, p := startProbe(t, FromSlice(ints(10)), Config{})
	pr.Request(2)
	pr.Request(1) // demand accumulates: 3
	for i := 0; i < 3; i++ {
		require.Equal(t, i, next(t, pr))
	}
	// A fourth element would have failed the run with ErrProtocol at the
	// probe; ask for the rest and check nothing was skipped or doubled.
	pr.Request(7)
	for i := 3; i < 10; i++ {
		require.Equal(t, i, next(t, pr))
	}
	require.NoError(t, pr.ExpectEnd(testContext(t)))
	require.NoError(t, p.Wait(testContext(t)))
}

func TestRequestNonPositiveIsSignalledAsError(t *testing.T) {
	for _, n := range []int64{0, -1, math.MinInt64} {
		pr, p := startProbe(t, Via(FromSlice(ints(10)), Map(func(x int) int { return x })), Config{})
		pr.Request(n)
		err := pr.ExpectEnd(testContext(t))
		require.ErrorIs(t, err, ErrInvalidDemand, "request(%d)", n)
		require.ErrorIs(t, p.Wait(testContext(t)), ErrInvalidDemand)
		require.Zero(t, pr.Received(), "nothing is emitted after the error")
	}
}

func TestDemandSaturatesInsteadOfOverflowing(t *testing.T) {
	pr, p := startProbe(t, FromSlice(ints(600)), Config{})
	pr.Request(math.MaxInt64)
	pr.Request(math.MaxInt64)
	pr.Request(1)
	for i := 0; i < 600; i++ {
		require.Equal(t, i, next(t, pr))
	}
	require.NoError(t, pr.ExpectEnd(testContext(t)))
	require.NoError(t, p.Wait(testContext(t)))
}

func TestCancelIsIdempotentAndEndsTheRun(t *testing.T) {
	pr, p := startProbe(t, Via(FromSlice(ints(1000)), Map(func(x int) int { return x })), Config{Batch: 4})
	pr.Request(2)
	require.Equal(t, 0, next(t, pr))
	require.Equal(t, 1, next(t, pr))
	pr.Cancel()
	pr.Cancel()
	pr.Request(5) // after cancel: a no-op (rule 3.6)
	require.NoError(t, p.Wait(testContext(t)), "a sink that cancels ends the run without error")
	require.Equal(t, int64(2), pr.Received())
	p.Cancel() // after the end: a no-op
	require.NoError(t, p.Err())
}

func TestPipelineCancel(t *testing.T) {
	_, p := startProbe(t, Generate(func() (int, bool) { return 1, true }), Config{})
	p.Cancel()
	require.ErrorIs(t, p.Wait(testContext(t)), ErrCancelled)
	ctx, cancel := context.WithCancel(context.Background())
	snk, _ := ProbeSink[int]()
	p, err := FromSlice(ints(3)).To(snk).Run(ctx, newSystem(t))
	require.NoError(t, err)
	cancel()
	require.ErrorIs(t, p.Wait(testContext(t)), context.Canceled)
}

// Property: for any schedule of request(n), through any chain of stages and
// any batch size, a subscriber never receives more than it requested and
// receives all it requested that exists, in order; n <= 0 ends it with
// ErrInvalidDemand.
func TestPropertyEmittedNeverExceedsRequested(t *testing.T) {
	sys := newSystem(t)
	rapid.Check(t, func(rt *rapid.T) {
		total := rapid.IntRange(0, 400).Draw(rt, "elements")
		batch := rapid.SampledFrom([]int{1, 2, 7, 64, 256}).Draw(rt, "batch")
		stages := rapid.IntRange(0, 3).Draw(rt, "map stages")
		src := FromSlice(ints(total))
		for i := 0; i < stages; i++ {
			src = src.Via(Map(func(x int) int { return x }))
		}
		if rapid.Bool().Draw(rt, "buffer") {
			src = src.Via(Buffer[int](rapid.IntRange(1, 50).Draw(rt, "buffer size"), OverflowBackpressure))
		}
		snk, pr := ProbeSink[int]()
		ctx := testContext(t)
		p, err := src.To(snk).RunWith(ctx, sys, Config{Batch: batch})
		if err != nil {
			rt.Fatal(err)
		}
		defer func() { p.Cancel(); <-p.Done() }()
		requests := rapid.SliceOfN(rapid.Int64Range(-1, 120), 1, 8).Draw(rt, "requests")
		var requested int64
		got := 0
		for _, n := range requests {
			pr.Request(n)
			if n <= 0 {
				err := pr.ExpectEnd(ctx)
				if got == total && err == nil {
					return // completed before: request after the end is a no-op (rule 3.6)
				}
				if !errors.Is(err, ErrInvalidDemand) {
					rt.Fatalf("request(%d): got %v, want ErrInvalidDemand", n, err)
				}
				return
			}
			requested += n
			for int64(got) < min(requested, int64(total)) {
				x, err := pr.Next(ctx)
				if err != nil {
					rt.Fatalf("after %d of %d requested: %v", got, requested, err)
				}
				if x != got {
					rt.Fatalf("element %d arrived as %d", got, x)
				}
				got++
			}
			if pr.Received() > requested {
				rt.Fatalf("received %d > requested %d", pr.Received(), requested)
			}
		}
		if requested >= int64(total) {
			if _, err := pr.Next(ctx); !errors.Is(err, io.EOF) {
				rt.Fatalf("after all elements: %v, want completion", err)
			}
		}
	})
}
