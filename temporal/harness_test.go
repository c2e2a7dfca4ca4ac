package temporal_test

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"

	"github.com/packetflow/packetflow/actor"
	"github.com/packetflow/packetflow/examples/counter"
	"github.com/packetflow/packetflow/examples/counter/counterpb"
	"github.com/packetflow/packetflow/intent"
	"github.com/packetflow/packetflow/temporal"
)

// testLogger sends logs to the test log.
func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// newCounterRuntime is a runtime hosting the quick start's counter, and a
// context holding user:basic.
func newCounterRuntime(t testing.TB, cfg actor.Config) (*actor.Runtime, *intent.Context) {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = testLogger(t)
	}
	rt, err := actor.NewRuntime(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, rt.Stop()) })
	require.NoError(t, counter.Define(rt, nil))
	basic, err := rt.NewContext("scheduler", "user:basic")
	require.NoError(t, err)
	return rt, basic
}

func count(t testing.TB, rt *actor.Runtime, caller *intent.Context, name string) int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	reply, err := rt.Request(ctx, caller, &counterpb.Get{Counter: name})
	require.NoError(t, err)
	return reply.(*counterpb.Value).Count
}

// events collects a schedule's events for a test to wait on.
type events struct {
	ch chan temporal.ScheduleEvent
}

func newEvents() *events { return &events{ch: make(chan temporal.ScheduleEvent, 10_000)} }

func (e *events) record(ev temporal.ScheduleEvent) { e.ch <- ev }

// wait returns the next event of kind, skipping others, or fails the test
// after a deadline.
func (e *events) wait(t testing.TB, kind temporal.ScheduleEventKind) temporal.ScheduleEvent {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case ev := <-e.ch:
			if ev.Kind == kind {
				return ev
			}
		case <-deadline:
			t.Fatalf("no %s event within 10s", kind)
		}
	}
}

// none fails the test if an event of kind is waiting.
func (e *events) none(t testing.TB, kind temporal.ScheduleEventKind) {
	t.Helper()
	for {
		select {
		case ev := <-e.ch:
			require.NotEqual(t, kind, ev.Kind, "unexpected event %+v", ev)
		default:
			return
		}
	}
}

// armed waits until the clock has at least n timers armed.
func armed(t testing.TB, c *temporal.FakeClock, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, c.WaitPending(ctx, n))
}

func stopSchedule(t testing.TB, s *temporal.Schedule) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, s.Stop(ctx))
}

func status(t testing.TB, s *temporal.Schedule) temporal.ScheduleStatus {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := s.Status(ctx)
	require.NoError(t, err)
	return st
}

// gate is a Requester whose requests wait until released (or cancelled),
// so tests control how long a run is in progress.
type gate struct {
	mu      sync.Mutex
	started []proto.Message
	release chan struct{}
	calls   chan proto.Message
}

func newGate() *gate {
	return &gate{release: make(chan struct{}, 100), calls: make(chan proto.Message, 100)}
}

func (g *gate) Request(ctx context.Context, _ *intent.Context, msg proto.Message) (proto.Message, error) {
	g.mu.Lock()
	g.started = append(g.started, msg)
	g.mu.Unlock()
	g.calls <- msg
	select {
	case <-g.release:
		return nil, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// call waits for the next request to reach the gate.
func (g *gate) call(t testing.TB) proto.Message {
	t.Helper()
	select {
	case m := <-g.calls:
		return m
	case <-time.After(10 * time.Second):
		t.Fatal("no request reached the gate within 10s")
		return nil
	}
}

// step waits until the code under test has armed a timer and advances the
// clock exactly to the earliest one, so that the time it reads when the
// timer fires is the timer's deadline.
func step(t testing.TB, c *temporal.FakeClock) {
	t.Helper()
	armed(t, c, 1)
	d, _ := c.Next()
	c.Advance(d)
}

// stepUntil steps the clock until an event of kind is seen (checked once
// the schedule has re-armed after each step), at most max steps, and
// returns it with the events seen before it.
func stepUntil(t testing.TB, c *temporal.FakeClock, e *events, kind temporal.ScheduleEventKind, max int) (temporal.ScheduleEvent, []temporal.ScheduleEvent) {
	t.Helper()
	var seen []temporal.ScheduleEvent
	for range max {
		step(t, c)
		armed(t, c, 1)
		for more := true; more; {
			select {
			case ev := <-e.ch:
				if ev.Kind == kind {
					return ev, seen
				}
				seen = append(seen, ev)
			default:
				more = false
			}
		}
	}
	t.Fatalf("no %s event within %d steps", kind, max)
	return temporal.ScheduleEvent{}, nil
}
