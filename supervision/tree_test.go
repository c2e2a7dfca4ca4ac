package supervision_test

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	protoactor "github.com/asynkron/protoactor-go/actor"
	"github.com/stretchr/testify/require"

	"github.com/packetflow/packetflow/supervision"
)

func newSystem(t *testing.T) *protoactor.ActorSystem {
	system := protoactor.NewActorSystem(protoactor.WithLoggerFactory(func(*protoactor.ActorSystem) *slog.Logger {
		return slog.New(slog.NewTextHandler(io.Discard, nil))
	}))
	t.Cleanup(system.Shutdown)
	return system
}

// journal records lifecycle messages of named workers, in order.
type journal struct {
	mu    sync.Mutex
	lines []string
}

func (j *journal) add(s string) {
	j.mu.Lock()
	j.lines = append(j.lines, s)
	j.mu.Unlock()
}

func (j *journal) get() []string {
	j.mu.Lock()
	defer j.mu.Unlock()
	return append([]string(nil), j.lines...)
}

// recorder is a worker that journals its lifecycle, counts `add`s and
// answers `get` with its count.
type recorder struct {
	name  string
	j     *journal
	count int
}

type add struct{}
type get struct{ reply chan int }

func (r *recorder) Receive(ctx protoactor.Context) {
	switch m := ctx.Message().(type) {
	case *protoactor.Started:
		r.j.add("start " + r.name)
	case *protoactor.Stopping:
		r.j.add("stop " + r.name)
	case add:
		r.count++
	case get:
		m.reply <- r.count
	case failMsg:
		r.count += 100 // the failing handler's half-done work
		panic(m.err)
	}
}

func rec(j *journal, name string) supervision.Child {
	return supervision.Child{Name: name, New: func() protoactor.Actor { return &recorder{name: name, j: j} }}
}

func TestStartOrderAndReverseStopOrder(t *testing.T) {
	j := &journal{}
	spec := supervision.Spec{Name: "root", Children: []supervision.Child{
		rec(j, "a"),
		{Name: "sub", Supervisor: &supervision.Spec{Name: "sub", Children: []supervision.Child{rec(j, "x"), rec(j, "y")}}},
		rec(j, "c"),
	}}
	tree, err := supervision.Start(newSystem(t), spec, supervision.Options{})
	require.NoError(t, err)
	require.Equal(t, []string{"start a", "start x", "start y", "start c"}, j.get(), "children start in order, depth first")
	require.NoError(t, tree.Stop(5*time.Second))
	require.Equal(t, []string{"start a", "start x", "start y", "start c", "stop c", "stop y", "stop x", "stop a"}, j.get(),
		"children stop in reverse order")
	require.NoError(t, tree.Err())
}

func ask(t *testing.T, system *protoactor.ActorSystem, tree *supervision.Tree, path string) int {
	t.Helper()
	var pid *protoactor.PID
	require.Eventually(t, func() bool {
		var ok bool
		pid, ok = tree.PID(path)
		return ok
	}, 5*time.Second, time.Millisecond)
	reply := make(chan int, 1)
	system.Root.Send(pid, get{reply})
	select {
	case n := <-reply:
		return n
	case <-time.After(5 * time.Second):
		t.Fatalf("%s did not answer", path)
		return 0
	}
}

// A restarted child is a new instance: nothing the failing handler did,
// nor the state before it, survives (a durable reactor reloads its last
// committed state instead); resume keeps the state.
func TestRestartDiscardsTheFailedState(t *testing.T) {
	system := newSystem(t)
	j := &journal{}
	resumable := errors.New("resumable")
	tree, err := supervision.Start(system, supervision.Spec{Name: "root",
		Strategy: supervision.Strategy{Decider: supervision.Decide(supervision.On(resumable, supervision.Resume))},
		Children: []supervision.Child{rec(j, "a")}}, supervision.Options{})
	require.NoError(t, err)
	pid, _ := tree.PID("root/a")
	for range 3 {
		system.Root.Send(pid, add{})
	}
	require.Equal(t, 3, ask(t, system, tree, "root/a"))
	system.Root.Send(pid, failMsg{resumable})
	require.Equal(t, 103, ask(t, system, tree, "root/a"), "resume keeps the state as the handler left it")
	system.Root.Send(pid, failMsg{errors.New("boom")})
	require.Equal(t, 0, ask(t, system, tree, "root/a"), "restart starts from a fresh instance")
	require.NoError(t, tree.Stop(5*time.Second))
}

// A nested supervisor that may not restart escalates; its parent restarts
// it, which restarts its whole subtree; siblings outside it are untouched.
func TestEscalationRestartsTheSubtree(t *testing.T) {
	system := newSystem(t)
	j := &journal{}
	var mu sync.Mutex
	var events []string
	spec := supervision.Spec{Name: "root", Children: []supervision.Child{
		rec(j, "a"),
		{Name: "db", Supervisor: &supervision.Spec{Name: "db",
			Strategy: supervision.Strategy{Intensity: supervision.Intensity{MaxRestarts: -1}},
			Children: []supervision.Child{rec(j, "conn"), rec(j, "cache")}}},
	}}
	tree, err := supervision.Start(system, spec, supervision.Options{})
	require.NoError(t, err)
	tree.Subscribe(func(e supervision.Event) {
		mu.Lock()
		events = append(events, e.Kind.String()+" "+e.Child)
		mu.Unlock()
	})
	pid, _ := tree.PID("root/db/conn")
	system.Root.Send(pid, failMsg{errors.New("connection reset")})
	require.Eventually(t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(events) >= 6
	}, 5*time.Second, time.Millisecond)
	mu.Lock()
	require.Equal(t, []string{
		"failed root/db/conn", "escalated root/db/conn", // db may not restart: it fails itself
		"failed root/db", "restarted root/db", // root restarts db…
		"started root/db/conn", "started root/db/cache", // …which starts its children again, in order
	}, events)
	mu.Unlock()
	require.Equal(t, []string{"start a", "start conn", "start cache", "stop cache", "stop conn", "start conn", "start cache"}, j.get())
	st := tree.Stats()
	require.EqualValues(t, 2, st.Failures)
	require.EqualValues(t, 1, st.Escalation)
	require.NoError(t, tree.Stop(5*time.Second))
}

func TestEventsReachTheEventStream(t *testing.T) {
	system := newSystem(t)
	got := make(chan *supervision.Event, 16)
	sub := system.EventStream.Subscribe(func(m any) {
		if e, ok := m.(*supervision.Event); ok && e.Kind == supervision.EventRestarted {
			got <- e
		}
	})
	defer system.EventStream.Unsubscribe(sub)
	tree, err := supervision.Start(system, supervision.Spec{Name: "root",
		Children: []supervision.Child{{Name: "w", New: func() protoactor.Actor { return worker{} }}}}, supervision.Options{})
	require.NoError(t, err)
	pid, _ := tree.PID("root/w")
	system.Root.Send(pid, failMsg{errors.New("boom")})
	select {
	case e := <-got:
		require.Equal(t, "root/w", e.Child)
	case <-time.After(5 * time.Second):
		t.Fatal("no restart event on the event stream")
	}
	require.NoError(t, tree.Stop(5*time.Second))
}

func TestSpecErrors(t *testing.T) {
	system := newSystem(t)
	w := func() protoactor.Actor { return worker{} }
	for _, tc := range []struct {
		spec supervision.Spec
		says string
	}{
		{supervision.Spec{}, "without a name"},
		{supervision.Spec{Name: "r", Children: []supervision.Child{{New: w}}}, "has no name"},
		{supervision.Spec{Name: "r", Children: []supervision.Child{{Name: "a", New: w}, {Name: "a", New: w}}}, `two children named "a"`},
		{supervision.Spec{Name: "r", Children: []supervision.Child{{Name: "a"}}}, "exactly one of New and Supervisor"},
		{supervision.Spec{Name: "r", Children: []supervision.Child{{Name: "a/b", New: w}}}, "may not contain"},
		{supervision.Spec{Name: "r", Strategy: supervision.Strategy{Kind: 9}}, "unknown strategy kind"},
		{supervision.Spec{Name: "r", Strategy: supervision.Strategy{Intensity: supervision.Intensity{MaxRestarts: 3}}}, "positive window"},
		{supervision.Spec{Name: "r", Strategy: supervision.Strategy{Backoff: &supervision.Backoff{}}}, "backoff needs"},
		{supervision.Spec{Name: "r", Children: []supervision.Child{{Name: "s", Supervisor: &supervision.Spec{Name: "t"}}}}, `Supervisor is named "t"`},
		{supervision.Spec{Name: "r", Children: []supervision.Child{{Name: "s", Supervisor: &supervision.Spec{Name: "s",
			Children: []supervision.Child{{Name: "x", New: w}, {Name: "x", New: w}}}}}}, `supervisor r/s: two children named "x"`},
	} {
		_, err := supervision.Start(system, tc.spec, supervision.Options{})
		require.ErrorContains(t, err, tc.says, fmt.Sprint(tc.spec.Name))
	}
}
