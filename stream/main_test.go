package stream

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	protoactor "github.com/asynkron/protoactor-go/actor"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	// Proto.Actor's dead-letter log throttle keeps a goroutine for a
	// while after a dead letter (a Stop racing with a stage that already
	// stopped itself); its name depends on inlining.
	goleak.VerifyTestMain(m,
		goleak.IgnoreTopFunction("github.com/asynkron/protoactor-go/actor.NewThrottle.func1"),
		goleak.IgnoreTopFunction("github.com/asynkron/protoactor-go/actor.NewThrottleWithLogger.func1"),
		goleak.IgnoreTopFunction("github.com/asynkron/protoactor-go/actor.NewDeadLetter.NewThrottle.func4.1"),
		// Left by Proto.Actor's remote after BenchmarkRemotePipeline.
		goleak.IgnoreTopFunction("google.golang.org/grpc/internal/grpcsync.(*CallbackSerializer).run"),
		goleak.IgnoreTopFunction("google.golang.org/grpc.(*addrConn).resetTransport"))
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// newSystem returns an actor system shut down when the test ends.
func newSystem(t testing.TB) *protoactor.ActorSystem {
	t.Helper()
	sys := protoactor.NewActorSystem(protoactor.WithLoggerFactory(func(*protoactor.ActorSystem) *slog.Logger { return quiet }))
	t.Cleanup(sys.Shutdown)
	return sys
}

// testTimeout bounds every wait of a test: generous for a busy machine
// under -race, and never slept through, only waited on.
const testTimeout = 20 * time.Second

func testContext(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	t.Cleanup(cancel)
	return ctx
}

// run starts g and waits for its end, failing the test if it does not end.
func run(t testing.TB, sys *protoactor.ActorSystem, g Graph, cfg Config) error {
	t.Helper()
	ctx := testContext(t)
	p, err := g.RunWith(ctx, sys, cfg)
	if err != nil {
		return err
	}
	select {
	case <-p.Done():
		return p.Err()
	case <-ctx.Done():
		t.Fatalf("pipeline did not end within %v", testTimeout)
		return nil
	}
}

// collector is a sink that keeps what it receives.
type collector[T any] struct {
	mu    sync.Mutex
	items []T
}

func (c *collector[T]) sink(opts ...StageOption) Sink[T] {
	return ForEach(func(x T) {
		c.mu.Lock()
		c.items = append(c.items, x)
		c.mu.Unlock()
	}, opts...)
}

func (c *collector[T]) get() []T {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]T(nil), c.items...)
}

func ints(n int) []int {
	xs := make([]int, n)
	for i := range xs {
		xs[i] = i
	}
	return xs
}

// waitFor waits until cond holds, checking it every millisecond, and fails
// the test after testTimeout with what describe says.
func waitFor(t testing.TB, cond func() bool, describe func() string) {
	t.Helper()
	deadline := time.NewTimer(testTimeout)
	defer deadline.Stop()
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-tick.C:
		case <-deadline.C:
			t.Fatalf("condition not reached within %v: %s", testTimeout, describe())
		}
	}
}

// stageStats returns the stats of p's stage at index i.
func stageStats(p *Pipeline, i int) StageStats { return p.Stats()[i] }
