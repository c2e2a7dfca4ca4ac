package supervision

import (
	"fmt"
	"slices"
	"sync/atomic"
	"time"

	protoactor "github.com/asynkron/protoactor-go/actor"
)

// supervisor is one supervisor of a tree: the Proto.Actor strategy of its
// actor (HandleFailure) and the actor itself (Receive). Both run on the
// supervisor actor's goroutine: Proto.Actor calls HandleFailure while it
// processes the Failure system message, so the state needs no lock.
type supervisor struct {
	tree     *Tree
	spec     *Spec
	path     string
	started  chan struct{} // signalled after the first start of all children
	children []*child      // in start order
	restarts restartLog
	timers   []func() bool // pending delayed restarts
}

// child is the supervisor's view of one child.
type child struct {
	spec     Child
	path     string
	pid      *protoactor.PID
	props    *protoactor.Props
	signals  chan lifecycle // from the child's middleware
	dead     atomic.Bool    // the current incarnation handled Stopped
	log      restartLog     // this child's restarts, for its backoff
	stopping bool           // stopped on purpose: its Terminated is expected
}

type lifecycle int

const (
	childStarted lifecycle = iota
	childStopped
)

func newSupervisor(t *Tree, spec *Spec, path string, started chan struct{}) *supervisor {
	s := &supervisor{tree: t, spec: spec, path: path, started: started}
	for _, c := range spec.Children {
		ch := &child{spec: c, path: path + "/" + c.Name, signals: make(chan lifecycle, 64)}
		signal := func(l lifecycle) {
			select {
			case ch.signals <- l:
			default: // nobody waits this far behind
			}
		}
		mw := protoactor.WithReceiverMiddleware(func(next protoactor.ReceiverFunc) protoactor.ReceiverFunc {
			return func(ctx protoactor.ReceiverContext, env *protoactor.MessageEnvelope) {
				switch env.Message.(type) {
				case *protoactor.Started:
					ch.dead.Store(false)
					defer signal(childStarted) // also when Started panics
				case *protoactor.Stopped:
					defer func() {
						ch.dead.Store(true)
						signal(childStopped)
					}()
				}
				next(ctx, env)
			}
		})
		if c.Supervisor != nil {
			nested := newSupervisor(t, c.Supervisor, ch.path, nil)
			ch.props = protoactor.PropsFromProducer(func() protoactor.Actor { return nested.incarnate() },
				protoactor.WithSupervisor(nested), mw)
		} else {
			opts := append(slices.Clone(c.Options), mw)
			ch.props = protoactor.PropsFromProducer(c.New, opts...)
		}
		s.children = append(s.children, ch)
	}
	return s
}

// incarnate is the supervisor's actor for a (re)start.
func (s *supervisor) incarnate() protoactor.Actor { return s }

// Receive runs the supervisor's lifecycle.
func (s *supervisor) Receive(ctx protoactor.Context) {
	switch msg := ctx.Message().(type) {
	case *protoactor.Started:
		for _, c := range s.children {
			s.startChild(ctx, c)
		}
		if s.started != nil {
			select {
			case s.started <- struct{}{}:
			default:
			}
		}
	case *protoactor.Restarting:
		// The supervisor restarts (its supervisor said so): its children
		// stop in reverse order (Proto.Actor would stop them all at once
		// afterwards), and Started starts them again in order.
		s.cancelTimers()
		for i := len(s.children) - 1; i >= 0; i-- {
			s.stopChild(ctx, s.children[i])
		}
	case *protoactor.Stopping:
		s.cancelTimers()
		for i := len(s.children) - 1; i >= 0; i-- {
			s.stopChild(ctx, s.children[i])
		}
	case *protoactor.Stopped:
		if s.started != nil { // the root
			s.tree.stopped()
		}
	case *protoactor.Terminated:
		s.terminated(ctx, msg.Who)
	}
}

// startChild spawns c and waits until it has handled Started.
func (s *supervisor) startChild(ctx protoactor.Context, c *child) {
	drain(c.signals)
	c.stopping = false
	pid, err := ctx.SpawnNamed(c.props, c.spec.Name)
	if err != nil {
		s.tree.emit(Event{Kind: EventFailed, Supervisor: s.path, Child: c.path, Reason: fmt.Errorf("spawn: %w", err)})
		return
	}
	c.pid = pid // Proto.Actor tells a parent when its child terminates
	s.tree.setPID(c.path, pid)
	if !s.wait(c, childStarted) {
		ctx.Logger().Warn("supervision: child did not start in time; starting the next one", "child", c.path, "timeout", s.tree.timeout)
	}
	s.tree.emit(Event{Kind: EventStarted, Supervisor: s.path, Child: c.path})
}

// stopChild stops c and waits until it has stopped.
func (s *supervisor) stopChild(ctx protoactor.Context, c *child) {
	if c.pid == nil {
		return
	}
	drain(c.signals)
	c.stopping = true
	if c.dead.Load() { // stopped already (a Stop directive), its Terminated on its way
		return
	}
	ctx.Stop(c.pid)
	if !s.wait(c, childStopped) {
		ctx.Logger().Warn("supervision: child did not stop in time", "child", c.path, "timeout", s.tree.timeout)
	}
}

func (s *supervisor) wait(c *child, want lifecycle) bool {
	timer := time.NewTimer(s.tree.timeout)
	defer timer.Stop()
	for {
		select {
		case l := <-c.signals:
			if l == want {
				return true
			}
		case <-timer.C:
			return false
		}
	}
}

func drain(ch chan lifecycle) {
	for {
		select {
		case <-ch:
		default:
			return
		}
	}
}

// terminated handles a child that stopped: on purpose (a Stop directive,
// the supervisor stopping or restarting), or on its own.
func (s *supervisor) terminated(ctx protoactor.Context, pid *protoactor.PID) {
	c := s.byPID(pid)
	if c == nil {
		return
	}
	s.tree.setPID(c.path, nil)
	c.pid = nil
	if c.stopping {
		return
	}
	// It stopped on its own. A permanent child comes back, and as in OTP
	// the exit of a permanent child is handled by the strategy: the
	// children a failure of it would restart are restarted too, and it
	// counts toward the intensity. Others are gone.
	if c.spec.Restart != Permanent {
		s.tree.emit(Event{Kind: EventStopped, Supervisor: s.path, Child: c.path})
		return
	}
	s.tree.emit(Event{Kind: EventFailed, Supervisor: s.path, Child: c.path, Reason: ErrStoppedOnItsOwn, Directive: Restart})
	sup, _ := ctx.(protoactor.Supervisor)
	if in := s.spec.Strategy.intensity(); in.exceeded(s.restarts.add(s.tree.clock.Now(), in.Within)) {
		s.restarts = restartLog{}
		if sup != nil {
			s.escalate(sup, c, fmt.Errorf("more than %d restarts within %v (last: %s: %w)", in.MaxRestarts, in.Within, c.path, ErrStoppedOnItsOwn), nil)
		}
		return
	}
	others := s.affected(c) // without c, which has no pid now
	s.startChild(ctx, c)
	s.tree.emit(Event{Kind: EventRestarted, Supervisor: s.path, Child: c.path, Reason: ErrStoppedOnItsOwn})
	if len(others) > 0 && sup != nil {
		pids := make([]*protoactor.PID, 0, len(others))
		for _, o := range others {
			pids = append(pids, o.pid)
		}
		sup.RestartChildren(pids...)
		for _, o := range others {
			s.tree.emit(Event{Kind: EventRestarted, Supervisor: s.path, Child: o.path, Reason: ErrStoppedOnItsOwn})
		}
	}
}

func (s *supervisor) byPID(pid *protoactor.PID) *child {
	for _, c := range s.children {
		if c.pid != nil && c.pid.Equal(pid) {
			return c
		}
	}
	return nil
}

// HandleFailure is the supervisor's Proto.Actor strategy: a child failed.
func (s *supervisor) HandleFailure(_ *protoactor.ActorSystem, sup protoactor.Supervisor, pid *protoactor.PID, _ *protoactor.RestartStatistics, reason, message any) {
	c := s.byPID(pid)
	if c == nil { // not ours (any more): stop it
		sup.StopChildren(pid)
		return
	}
	err := reasonError(reason)
	d := s.spec.Strategy.decide(err)
	if d == Restart && c.spec.Restart == Temporary {
		d = Stop
	}
	s.tree.emit(Event{Kind: EventFailed, Supervisor: s.path, Child: c.path, Reason: err, Directive: d})
	switch d {
	case Resume:
		sup.ResumeChildren(pid)
		s.tree.emit(Event{Kind: EventResumed, Supervisor: s.path, Child: c.path})
	case Stop:
		c.stopping = true
		sup.StopChildren(pid)
		s.tree.emit(Event{Kind: EventStopped, Supervisor: s.path, Child: c.path, Reason: err})
	case Escalate:
		s.escalate(sup, c, err, message)
	default:
		now := s.tree.clock.Now()
		in := s.spec.Strategy.intensity()
		if in.exceeded(s.restarts.add(now, in.Within)) {
			s.restarts = restartLog{}
			s.escalate(sup, c, fmt.Errorf("more than %d restarts within %v (last: %s: %w)", in.MaxRestarts, in.Within, c.path, err), message)
			return
		}
		targets := s.affected(c)
		var delay time.Duration
		if b := s.spec.Strategy.Backoff; b != nil {
			delay = s.tree.jitter(b, c.log.add(now, in.Within))
		}
		pids := make([]*protoactor.PID, 0, len(targets))
		for _, t := range targets {
			pids = append(pids, t.pid)
		}
		// Act first, then tell: an observer of the event sees its effect.
		if delay <= 0 {
			sup.RestartChildren(pids...)
		} else {
			s.timers = append(s.timers, s.tree.clock.AfterFunc(delay, func() { sup.RestartChildren(pids...) }))
		}
		for _, t := range targets {
			s.tree.emit(Event{Kind: EventRestarted, Supervisor: s.path, Child: t.path, Reason: err, Delay: delay})
		}
	}
}

// affected is the children a restart of c restarts, by the strategy.
func (s *supervisor) affected(c *child) []*child {
	var out []*child
	switch s.spec.Strategy.Kind {
	case AllForOne:
		out = s.children
	case RestForOne:
		out = s.children[slices.Index(s.children, c):]
	default:
		out = []*child{c}
	}
	return slices.DeleteFunc(slices.Clone(out), func(x *child) bool { return x.pid == nil })
}

// escalate fails the supervisor itself: its supervisor (or, at the root,
// the tree) decides.
func (s *supervisor) escalate(esc interface{ EscalateFailure(reason, message any) }, c *child, err error, message any) {
	s.tree.emit(Event{Kind: EventEscalated, Supervisor: s.path, Child: c.path, Reason: err})
	esc.EscalateFailure(err, message)
}

func (s *supervisor) cancelTimers() {
	for _, stop := range s.timers {
		stop()
	}
	s.timers = nil
}
