package stream

import (
	"context"
	"fmt"
	"sync"

	protoactor "github.com/asynkron/protoactor-go/actor"
)

// DefaultBatch is Config.Batch's zero meaning.
const DefaultBatch = 256

// Config configures one run of a Graph. The zero value works.
type Config struct {
	// Batch is how many elements each stage keeps requested ahead from its
	// upstream, and the most elements one message between stages carries.
	// It is what makes a pipeline of actors fast: demand and elements move
	// in chunks, one message per chunk. 1 turns batching off (one element
	// per request and per message). Zero: DefaultBatch.
	Batch int
	// Clock drives the time-based stages. Zero: SystemClock.
	Clock Clock
	// Name prefixes the owner actor's id, to find the pipeline's actors in
	// Proto.Actor's diagnostics. Zero: "stream".
	Name string
}

// Pipeline is a running Graph: an owner actor and, as its children, one
// actor per stage. The owner stops every stage when the pipeline
// completes, fails or is cancelled. All methods are safe for concurrent
// use.
type Pipeline struct {
	system *protoactor.ActorSystem
	owner  *protoactor.PID
	stages []*stage

	ctx       context.Context // ends when the pipeline halts: stage work uses it
	cancelCtx context.CancelFunc
	unwatch   func() bool // stops watching Run's context

	ready chan struct{} // closed once every stage is spawned and started
	done  chan struct{} // closed once every stage has stopped

	// mu guards the fields below.
	mu             sync.Mutex
	err            error
	cancelled      error // why Cancel was called, if it was
	halting        bool
	finished       bool
	sinks          int
	sinksCompleted int
}

// Run starts g on system with the zero Config. See RunWith.
func (g Graph) Run(ctx context.Context, system *protoactor.ActorSystem) (*Pipeline, error) {
	return g.RunWith(ctx, system, Config{})
}

// RunWith materializes g's stages as actors of system, children of one
// owner actor, and starts them. It returns once every stage is spawned;
// the pipeline then runs until every sink completed, a stage failed (its
// decider chose Stop), Cancel is called or ctx ends.
//
// Errors: ErrInvalid wrapping the first construction error of the
// blueprint (nil functions, bad sizes, unconnected ports), ctx's error, or
// Proto.Actor's spawn error.
func (g Graph) RunWith(ctx context.Context, system *protoactor.ActorSystem, cfg Config) (*Pipeline, error) {
	if system == nil {
		return nil, invalid("Run", "nil actor system")
	}
	if g.build == nil {
		return nil, invalid("Run", "zero Graph")
	}
	if cfg.Batch < 0 {
		return nil, invalid("Run", "Config.Batch %d is negative", cfg.Batch)
	}
	if cfg.Batch == 0 {
		cfg.Batch = DefaultBatch
	}
	if cfg.Clock == nil {
		cfg.Clock = SystemClock{}
	}
	if cfg.Name == "" {
		cfg.Name = "stream"
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	p := &Pipeline{system: system, ready: make(chan struct{}), done: make(chan struct{})}
	m := &materializer{p: p, cfg: cfg}
	if err := g.build(m); err != nil {
		return nil, err
	}
	p.stages = m.stages
	p.ctx, p.cancelCtx = context.WithCancel(context.Background())
	for _, s := range m.stages {
		s.system = system
		s.ctx, s.cancel = context.WithCancel(p.ctx)
		if s.isSink() {
			p.sinks++
		}
	}
	o := &owner{p: p, stages: m.stages, edges: m.edges}
	props := protoactor.PropsFromProducer(func() protoactor.Actor { return o }, protoactor.WithSupervisor(&ownerStrategy{p: p}))
	pid, err := system.Root.SpawnNamed(props, cfg.Name+"-"+system.ProcessRegistry.NextId())
	if err != nil {
		p.cancelCtx()
		return nil, fmt.Errorf("stream: spawning the pipeline: %w", err)
	}
	p.mu.Lock()
	p.owner = pid
	p.mu.Unlock()
	select {
	case <-p.ready:
	case <-p.done:
		select {
		case <-p.ready: // started, and already ended
		default: // a stage could not be spawned
			return nil, p.Err()
		}
	}
	unwatch := context.AfterFunc(ctx, func() { p.cancel(fmt.Errorf("%w: %w", ErrCancelled, context.Cause(ctx))) })
	p.mu.Lock()
	if p.finished {
		unwatch()
	} else {
		p.unwatch = unwatch
	}
	p.mu.Unlock()
	return p, nil
}

// Done is closed once the pipeline has ended and every stage has stopped.
func (p *Pipeline) Done() <-chan struct{} { return p.done }

// Err is the pipeline's outcome once Done is closed: nil when every sink
// completed, the first stage's *StageError, or ErrCancelled. Before Done
// it is the first error so far, if any.
func (p *Pipeline) Err() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}

// Wait waits for the pipeline to end, or ctx to end first, and returns
// Err (or ctx's error).
func (p *Pipeline) Wait(ctx context.Context) error {
	select {
	case <-p.done:
		return p.Err()
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Cancel stops every stage; the pipeline's error is ErrCancelled unless it
// had already ended. It returns at once (wait on Done) and may be called
// any number of times.
func (p *Pipeline) Cancel() { p.cancel(ErrCancelled) }

// Stats returns each stage's counters, in stage order (sources first).
func (p *Pipeline) Stats() []StageStats {
	out := make([]StageStats, len(p.stages))
	for i, s := range p.stages {
		out[i] = s.stats.snapshot(s.name)
	}
	return out
}

// Stage returns the counters of the stage named name.
func (p *Pipeline) Stage(name string) (StageStats, bool) {
	for _, s := range p.stages {
		if s.name == name {
			return s.stats.snapshot(name), true
		}
	}
	return StageStats{}, false
}

func (p *Pipeline) cancel(why error) {
	p.mu.Lock()
	if p.finished || p.cancelled != nil {
		p.mu.Unlock()
		return
	}
	p.cancelled = why
	p.mu.Unlock()
	p.halt()
}

// fail records the first error and stops the pipeline.
func (p *Pipeline) fail(err error) {
	p.mu.Lock()
	if p.err == nil && !p.halting && !p.finished {
		p.err = err // errors after a halt are its consequences
	}
	p.mu.Unlock()
	p.halt()
}

func (p *Pipeline) sinkCompleted() {
	p.mu.Lock()
	p.sinksCompleted++
	p.mu.Unlock()
}

// halt stops the owner, which stops every stage.
func (p *Pipeline) halt() {
	p.mu.Lock()
	if p.halting || p.finished {
		p.mu.Unlock()
		return
	}
	p.halting = true
	owner := p.owner
	p.mu.Unlock()
	p.cancelCtx() // unblocks stage work (a channel send, an intent) first
	if owner != nil {
		p.system.Root.Stop(owner)
	}
}

// finish runs when the owner has stopped, after all its stages.
func (p *Pipeline) finish() {
	p.mu.Lock()
	if p.finished {
		p.mu.Unlock()
		return
	}
	p.finished = true
	if p.err == nil && p.cancelled != nil && p.sinksCompleted < p.sinks {
		p.err = p.cancelled
	}
	unwatch := p.unwatch
	p.mu.Unlock()
	p.cancelCtx()
	if unwatch != nil {
		unwatch()
	}
	close(p.done)
}

// owner is the pipeline's actor: the parent of every stage.
type owner struct {
	p      *Pipeline
	stages []*stage
	edges  []edge
	alive  int
}

func (o *owner) Receive(c protoactor.Context) {
	switch c.Message().(type) {
	case *protoactor.Started:
		o.start(c)
	case *protoactor.Terminated:
		if o.alive--; o.alive == 0 {
			c.Stop(c.Self())
		}
	case *protoactor.Stopped:
		o.p.finish()
	}
}

// start spawns the stages, then wires and starts them: sources first, so
// that the first demand finds its upstream ready.
func (o *owner) start(c protoactor.Context) {
	pids := make([]*protoactor.PID, len(o.stages))
	for i, s := range o.stages {
		props := protoactor.PropsFromProducer(func() protoactor.Actor { return s })
		pid, err := c.SpawnNamed(props, s.name)
		if err != nil {
			o.p.fail(fmt.Errorf("stream: spawning stage %s: %w", s.name, err))
			c.Stop(c.Self())
			return
		}
		pids[i] = pid
		s.self = pid // read by the stage after its start message
		o.alive++
	}
	starts := make([]*startMsg, len(o.stages))
	for i, s := range o.stages {
		starts[i] = &startMsg{ups: make([]peer, len(s.ins)), downs: make([]peer, len(s.outs))}
	}
	for _, e := range o.edges {
		starts[e.from.index].downs[e.out] = peer{pid: pids[e.to.index], port: e.in}
		starts[e.to.index].ups[e.in] = peer{pid: pids[e.from.index], port: e.out}
	}
	for i := range o.stages {
		c.Send(pids[i], starts[i])
	}
	if len(o.stages) == 0 {
		c.Stop(c.Self())
	}
	close(o.p.ready)
}

// ownerStrategy supervises the stages. A stage turns its logic's errors
// and panics into decisions itself; a failure reaching this strategy is a
// bug of the stage machinery, and it stops the pipeline.
type ownerStrategy struct{ p *Pipeline }

func (s *ownerStrategy) HandleFailure(_ *protoactor.ActorSystem, sup protoactor.Supervisor, child *protoactor.PID, _ *protoactor.RestartStatistics, reason any, _ any) {
	s.p.fail(fmt.Errorf("stream: stage %s failed outside its decider: %v", child.Id, reason))
	sup.StopChildren(child)
}
