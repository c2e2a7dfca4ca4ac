package supervision_test

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	protoactor "github.com/asynkron/protoactor-go/actor"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/packetflow/packetflow/supervision"
)

var update = flag.Bool("update", false, "rewrite the scenarios' golden transcripts")

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		goleak.IgnoreTopFunction("github.com/asynkron/protoactor-go/actor.NewThrottleWithLogger.func1"),
		goleak.IgnoreTopFunction("github.com/asynkron/protoactor-go/actor.NewThrottle.func1"),
		goleak.IgnoreTopFunction("github.com/asynkron/protoactor-go/actor.NewDeadLetter.NewThrottle.func4.1"),
	)
}

// Error classes a scenario's `fail CHILD CLASS` panics with.
var classes = map[string]error{
	"transient":  errors.New("transient"),
	"bad-input":  errors.New("bad-input"),
	"fatal":      errors.New("fatal"),
	"escalating": errors.New("escalating"),
}

var directives = map[string]supervision.Directive{
	"restart": supervision.Restart, "resume": supervision.Resume,
	"stop": supervision.Stop, "escalate": supervision.Escalate,
}

var kinds = map[string]supervision.Kind{
	"one-for-one": supervision.OneForOne, "all-for-one": supervision.AllForOne, "rest-for-one": supervision.RestForOne,
}

// TestScenarios runs each testdata/*.txt scenario (a strategy written as
// data: `spawn a b c`, `fail b`, `expect restart b c`) against a real tree
// on a fake clock, checks its expectations, and compares the transcript of
// supervision events with testdata/*.golden (go test -update rewrites them).
func TestScenarios(t *testing.T) {
	files, err := filepath.Glob("testdata/*.txt")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".txt")
		t.Run(name, func(t *testing.T) {
			script, err := os.ReadFile(file)
			require.NoError(t, err)
			got := runScenario(t, string(script))
			golden := strings.TrimSuffix(file, ".txt") + ".golden"
			if *update {
				require.NoError(t, os.WriteFile(golden, []byte(got), 0o644))
				return
			}
			want, err := os.ReadFile(golden)
			require.NoError(t, err, "no golden transcript (go test ./supervision -run TestScenarios -update)")
			require.Equal(t, string(want), got)
		})
	}
}

// failMsg makes a worker panic with err.
type failMsg struct{ err error }

// worker is a scenario's child: it panics on failMsg.
type worker struct{}

func (worker) Receive(ctx protoactor.Context) {
	if m, ok := ctx.Message().(failMsg); ok {
		panic(m.err)
	}
}

func runScenario(t *testing.T, script string) string {
	t.Helper()
	var (
		out   strings.Builder
		spec  = supervision.Spec{Name: "root"}
		rules []supervision.Rule
		clock = newFakeClock()
		tree  *supervision.Tree
		evs   = make(chan supervision.Event, 1024)
	)
	system := protoactor.NewActorSystem(protoactor.WithLoggerFactory(func(*protoactor.ActorSystem) *slog.Logger {
		return slog.New(slog.NewTextHandler(io.Discard, nil))
	}))
	defer system.Shutdown()
	defer func() {
		if tree != nil {
			select {
			case <-tree.Done():
			default:
				require.NoError(t, tree.Stop(5*time.Second))
			}
		}
	}()

	// collect reads events until done says the expectation is met.
	collect := func(what string, done func([]supervision.Event) bool) {
		var got []supervision.Event
		deadline := time.After(5 * time.Second)
		for !done(got) {
			select {
			case e := <-evs:
				got = append(got, e)
				fmt.Fprintf(&out, "  %s\n", e)
			case <-deadline:
				t.Fatalf("%s: not within 5s; events: %v", what, got)
			}
		}
	}
	has := func(kind supervision.EventKind, children ...string) func([]supervision.Event) bool {
		return func(got []supervision.Event) bool {
			var seen []string
			for _, e := range got {
				if e.Kind == kind {
					seen = append(seen, e.Child)
				}
			}
			sort.Strings(seen)
			want := slices.Clone(children)
			sort.Strings(want)
			return slices.Equal(seen, want)
		}
	}
	path := func(name string) string { return "root/" + name }

	sc := bufio.NewScanner(strings.NewReader(script))
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		f := strings.Fields(text)
		bad := func(format string, args ...any) {
			t.Fatalf("line %d %q: "+format, append([]any{line, text}, args...)...)
		}
		fmt.Fprintf(&out, "> %s\n", text)
		switch f[0] {
		case "strategy":
			k, ok := kinds[f[1]]
			if !ok {
				bad("unknown strategy")
			}
			spec.Strategy.Kind = k
		case "decide":
			err, d := classes[f[1]], directives[f[2]]
			if err == nil {
				bad("unknown error class")
			}
			rules = append(rules, supervision.On(err, d))
			spec.Strategy.Decider = supervision.Decide(rules...)
		case "intensity":
			n, err := strconv.Atoi(f[1])
			if err != nil {
				bad("%v", err)
			}
			within, err := time.ParseDuration(f[2])
			if err != nil {
				bad("%v", err)
			}
			spec.Strategy.Intensity = supervision.Intensity{MaxRestarts: n, Within: within}
		case "backoff":
			lo, err1 := time.ParseDuration(f[1])
			hi, err2 := time.ParseDuration(f[2])
			j, err3 := strconv.ParseFloat(f[3], 64)
			if err := errors.Join(err1, err2, err3); err != nil {
				bad("%v", err)
			}
			spec.Strategy.Backoff = &supervision.Backoff{Min: lo, Max: hi, Jitter: j}
		case "spawn":
			for _, name := range f[1:] {
				c := supervision.Child{Name: name, New: func() protoactor.Actor { return worker{} }}
				if n, ok := strings.CutPrefix(name, "temporary:"); ok {
					c.Name, c.Restart = n, supervision.Temporary
				}
				if n, ok := strings.CutPrefix(name, "transient:"); ok {
					c.Name, c.Restart = n, supervision.Transient
				}
				spec.Children = append(spec.Children, c)
			}
			var err error
			tree, err = supervision.Start(system, spec, supervision.Options{Clock: clock, Seed: 1})
			require.NoError(t, err)
			tree.Subscribe(func(e supervision.Event) { evs <- e })
			var started []string
			for _, c := range spec.Children {
				started = append(started, path(c.Name))
			}
			// The start events happened before Subscribe: report the
			// children the tree lists.
			for _, p := range started {
				_, ok := tree.PID(p)
				fmt.Fprintf(&out, "  running %s: %v\n", p, ok)
			}
		case "fail":
			pid, ok := tree.PID(path(f[1]))
			if !ok {
				bad("no live child %s", f[1])
			}
			err := errors.New("boom")
			if len(f) > 2 {
				if err = classes[f[2]]; err == nil {
					bad("unknown error class")
				}
			}
			system.Root.Send(pid, failMsg{err})
		case "stop": // the child stops without its supervisor asking
			pid, ok := tree.PID(path(f[1]))
			if !ok {
				bad("no live child %s", f[1])
			}
			system.Root.Stop(pid)
		case "expect":
			var children []string
			for _, n := range f[2:] {
				children = append(children, path(n))
			}
			switch f[1] {
			case "restart":
				collect(text, has(supervision.EventRestarted, children...))
			case "resume":
				collect(text, has(supervision.EventResumed, children...))
			case "stop":
				collect(text, has(supervision.EventStopped, children...))
			case "escalate":
				collect(text, has(supervision.EventEscalated, children...))
			case "tree-stopped":
				select {
				case <-tree.Done():
					fmt.Fprintf(&out, "  tree stopped: %v\n", tree.Err())
				case <-time.After(5 * time.Second):
					t.Fatalf("line %d: the tree did not stop", line)
				}
			default:
				bad("unknown expectation")
			}
		case "tick":
			d, err := time.ParseDuration(f[1])
			if err != nil {
				bad("%v", err)
			}
			clock.Advance(d)
		default:
			bad("unknown command")
		}
	}
	require.NoError(t, sc.Err())
	// Nothing else happened.
	select {
	case e := <-evs:
		t.Errorf("unexpected event after the script: %s", e)
	default:
	}
	s := tree.Stats()
	fmt.Fprintf(&out, "stats: failures %d, restarts %d, resumes %d, stops %d, escalations %d\n",
		s.Failures, s.Restarts, s.Resumes, s.Stops, s.Escalation)
	return out.String()
}

// fakeClock is a Clock whose time moves only with Advance, which runs the
// timers that fall due.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	timers []*fakeTimer
}

type fakeTimer struct {
	at      time.Time
	f       func()
	stopped bool
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) AfterFunc(d time.Duration, f func()) func() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	tm := &fakeTimer{at: c.now.Add(d), f: f}
	c.timers = append(c.timers, tm)
	return func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		was := !tm.stopped
		tm.stopped = true
		return was
	}
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	var due []*fakeTimer
	kept := c.timers[:0]
	for _, tm := range c.timers {
		switch {
		case tm.stopped:
		case !tm.at.After(c.now):
			tm.stopped = true
			due = append(due, tm)
		default:
			kept = append(kept, tm)
		}
	}
	c.timers = kept
	c.mu.Unlock()
	sort.Slice(due, func(i, j int) bool { return due[i].at.Before(due[j].at) })
	for _, tm := range due {
		tm.f()
	}
}
