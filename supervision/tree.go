package supervision

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	protoactor "github.com/asynkron/protoactor-go/actor"
)

// RestartPolicy says when a child is restarted.
type RestartPolicy int

const (
	// Permanent children are always restarted: after a failure (as the
	// strategy decides) and after they stop on their own.
	Permanent RestartPolicy = iota
	// Transient children are restarted after a failure only; one that
	// stops on its own is gone.
	Transient
	// Temporary children are never restarted: a failure stops them.
	Temporary
)

// Child is one child of a supervisor: a worker actor (New) or a nested
// supervisor (Supervisor), exactly one of them.
type Child struct {
	Name    string
	Restart RestartPolicy
	// New makes the worker's actor, again for each restart.
	New func() protoactor.Actor
	// Options are further Proto.Actor props options of the worker
	// (mailbox, dispatcher, middleware).
	Options []protoactor.PropsOption
	// Supervisor makes this child a supervisor of its own children.
	Supervisor *Spec
}

// Spec declares a supervisor as data: its strategy and its children, in
// start order. Children start one after another, each once the previous
// one has handled Started; they stop in reverse order, each once the later
// ones have stopped.
type Spec struct {
	Name     string
	Strategy Strategy
	Children []Child
}

// validate checks s and its subtree: names present, unique among siblings
// and path-safe, one of New and Supervisor per child, strategies valid.
func (s *Spec) validate(path string) error {
	if s.Name == "" {
		return fmt.Errorf("supervision: %s: a supervisor without a name", path)
	}
	if err := s.Strategy.validate(); err != nil {
		return fmt.Errorf("supervision: supervisor %s: %w", path, err)
	}
	seen := map[string]bool{}
	for i, c := range s.Children {
		switch {
		case c.Name == "":
			return fmt.Errorf("supervision: supervisor %s: child %d has no name", path, i)
		case seen[c.Name]:
			return fmt.Errorf("supervision: supervisor %s: two children named %q", path, c.Name)
		case (c.New == nil) == (c.Supervisor == nil):
			return fmt.Errorf("supervision: child %s/%s: set exactly one of New and Supervisor", path, c.Name)
		case c.Restart < Permanent || c.Restart > Temporary:
			return fmt.Errorf("supervision: child %s/%s: unknown restart policy %d", path, c.Name, int(c.Restart))
		}
		for _, r := range c.Name {
			if r == '/' || r == '$' {
				return fmt.Errorf("supervision: child %s/%s: names may not contain / or $", path, c.Name)
			}
		}
		seen[c.Name] = true
		if c.Supervisor != nil {
			if c.Supervisor.Name != c.Name {
				return fmt.Errorf("supervision: child %s/%s: its Supervisor is named %q", path, c.Name, c.Supervisor.Name)
			}
			if err := c.Supervisor.validate(path + "/" + c.Name); err != nil {
				return err
			}
		}
	}
	return nil
}

// Clock is the time a tree sees: intensity windows and backoff delays.
// Tests pass a fake one.
type Clock interface {
	Now() time.Time
	// AfterFunc calls f after d in its own goroutine; stop cancels it
	// unless it has run.
	AfterFunc(d time.Duration, f func()) (stop func() bool)
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }
func (realClock) AfterFunc(d time.Duration, f func()) func() bool {
	return time.AfterFunc(d, f).Stop
}

// Options configure a tree.
type Options struct {
	// Clock: default the real one.
	Clock Clock
	// Seed of the backoff jitter; 0: from the clock (Tree.Seed says which).
	Seed uint64
	// StartTimeout bounds the wait for one child to handle Started (and
	// to stop): default 5 s. A child that takes longer is reported and the
	// next one starts anyway.
	StartTimeout time.Duration
}

// Tree is a running supervision tree.
type Tree struct {
	system  *protoactor.ActorSystem
	root    *protoactor.PID
	clock   Clock
	seed    uint64
	timeout time.Duration

	rngMu sync.Mutex
	rng   *rand.Rand

	mu     sync.Mutex
	subs   map[int]func(Event)
	nextID int
	pids   map[string]*protoactor.PID // path → pid of live children

	counts   [eventKinds]atomic.Int64
	done     chan struct{}
	doneOnce sync.Once
	errMu    sync.Mutex
	err      error
}

// Start validates spec and starts its tree in system: the root supervisor
// and its children in start order. It returns once every child of every
// supervisor has started (or StartTimeout passed for one).
func Start(system *protoactor.ActorSystem, spec Spec, opts Options) (*Tree, error) {
	if system == nil {
		return nil, errors.New("supervision: nil actor system")
	}
	if err := spec.validate(spec.Name); err != nil {
		return nil, err
	}
	if opts.Clock == nil {
		opts.Clock = realClock{}
	}
	if opts.StartTimeout <= 0 {
		opts.StartTimeout = 5 * time.Second
	}
	if opts.Seed == 0 {
		opts.Seed = uint64(time.Now().UnixNano())
	}
	t := &Tree{
		system: system, clock: opts.Clock, seed: opts.Seed, timeout: opts.StartTimeout,
		rng:  rand.New(rand.NewPCG(opts.Seed, opts.Seed^0x9e3779b97f4a7c15)),
		subs: map[int]func(Event){}, pids: map[string]*protoactor.PID{},
		done: make(chan struct{}),
	}
	started := make(chan struct{}, 1)
	sup := newSupervisor(t, &spec, spec.Name, started)
	props := protoactor.PropsFromProducer(func() protoactor.Actor { return sup.incarnate() },
		protoactor.WithSupervisor(sup), protoactor.WithGuardian(rootGuardian{t}))
	pid, err := system.Root.SpawnNamed(props, "supervision/"+spec.Name)
	if err != nil {
		return nil, fmt.Errorf("supervision: starting %s: %w", spec.Name, err)
	}
	t.root = pid
	select {
	case <-started:
	case <-t.done:
		return nil, fmt.Errorf("supervision: %s stopped while starting: %w", spec.Name, t.Err())
	}
	return t, nil
}

// Seed is the seed of the backoff jitter, to replay a run.
func (t *Tree) Seed() uint64 { return t.seed }

// PID returns the live child at path ("root/child/grandchild").
func (t *Tree) PID(path string) (*protoactor.PID, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	pid, ok := t.pids[path]
	return pid, ok
}

// Subscribe calls fn with every event of the tree, in order per
// supervisor, on the supervisor's goroutine (fn must not block). The
// events are also published on the actor system's event stream.
func (t *Tree) Subscribe(fn func(Event)) (cancel func()) {
	t.mu.Lock()
	id := t.nextID
	t.nextID++
	t.subs[id] = fn
	t.mu.Unlock()
	return func() {
		t.mu.Lock()
		delete(t.subs, id)
		t.mu.Unlock()
	}
}

// Stats counts the tree's events by kind since it started.
func (t *Tree) Stats() Stats {
	return Stats{
		Started:    t.counts[EventStarted].Load(),
		Failures:   t.counts[EventFailed].Load(),
		Restarts:   t.counts[EventRestarted].Load(),
		Resumes:    t.counts[EventResumed].Load(),
		Stops:      t.counts[EventStopped].Load(),
		Escalation: t.counts[EventEscalated].Load(),
	}
}

// Done is closed once the root supervisor has stopped: after Stop, or
// when a failure escalated past the root (Err says which).
func (t *Tree) Done() <-chan struct{} { return t.done }

// Err is the failure that escalated past the root and stopped the tree,
// or nil.
func (t *Tree) Err() error {
	t.errMu.Lock()
	defer t.errMu.Unlock()
	return t.err
}

// Stop stops the tree: each supervisor stops its children in reverse
// start order, then itself. It returns once the root has stopped, or an
// error after timeout.
func (t *Tree) Stop(timeout time.Duration) error {
	t.system.Root.Stop(t.root)
	select {
	case <-t.done:
		return nil
	case <-time.After(timeout):
		return fmt.Errorf("supervision: the tree did not stop within %v", timeout)
	}
}

func (t *Tree) emit(e Event) {
	e.Time = t.clock.Now()
	t.counts[e.Kind].Add(1)
	t.mu.Lock()
	subs := make([]func(Event), 0, len(t.subs))
	for _, fn := range t.subs {
		subs = append(subs, fn)
	}
	t.mu.Unlock()
	for _, fn := range subs {
		fn(e)
	}
	t.system.EventStream.Publish(&e)
}

func (t *Tree) setPID(path string, pid *protoactor.PID) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if pid == nil {
		delete(t.pids, path)
	} else {
		t.pids[path] = pid
	}
}

func (t *Tree) jitter(b *Backoff, n int) time.Duration {
	t.rngMu.Lock()
	defer t.rngMu.Unlock()
	return b.delay(n, t.rng)
}

// stopped marks the tree stopped, once its root has (Err says why, when a
// failure escalated past it).
func (t *Tree) stopped() { t.doneOnce.Do(func() { close(t.done) }) }

// rootGuardian handles a failure that escalated past the root supervisor:
// the tree stops, and Err reports it.
type rootGuardian struct{ t *Tree }

func (g rootGuardian) HandleFailure(_ *protoactor.ActorSystem, supervisor protoactor.Supervisor, child *protoactor.PID, _ *protoactor.RestartStatistics, reason, _ any) {
	err := reasonError(reason)
	g.t.errMu.Lock()
	if g.t.err == nil {
		g.t.err = fmt.Errorf("supervision: a failure escalated past the root: %w", err)
	}
	g.t.errMu.Unlock()
	supervisor.StopChildren(child)
}
