package stream

import (
	"context"
	"errors"
	"fmt"
	"sync"

	protoactor "github.com/asynkron/protoactor-go/actor"
)

// logic is what one operator does inside its stage: pump moves elements
// from the stage's inlets to its outlets as far as demand allows.
//
// pump returns the error of the element it was processing, which it has
// consumed; the stage's decider then resumes (the element is dropped),
// restarts the logic or stops the pipeline. A panic in pump is an error
// the same way.
type logic interface {
	pump() error
	// restart drops the logic's state: the decider chose Restart.
	restart()
}

// Optional parts of a logic.
type (
	// starter logics start timers or goroutines once the stage is wired.
	starter interface{ start() error }
	// stopper logics release timers and goroutines when the stage stops.
	stopper interface{ stop() }
	// receiver logics handle messages of their own (timer ticks, results
	// of asynchronous work, remote protocol messages).
	receiver interface{ receive(msg any) error }
	// waiter logics have work in flight: the stage is not finished while
	// busy.
	waiter interface{ busy() bool }
	// failureObserver logics learn the error their stage fails with.
	failureObserver interface{ failed(err error) }
)

// maxRounds bounds how many pump-and-flush rounds a stage runs for one
// message before yielding to its mailbox.
const maxRounds = 16

// stage is the Proto.Actor actor of one operator. It owns the protocol:
// demand accounting of its ports, batching, completion, failure and
// cancellation; its logic only moves elements. Everything in it is touched
// by its actor's goroutine only, except stats.
type stage struct {
	name    string
	index   int
	p       *Pipeline
	system  *protoactor.ActorSystem
	self    *protoactor.PID
	batch   int
	clock   Clock
	decider Decider
	opts    stageOptions
	stats   *counters

	ins   []inletPort
	outs  []outletPort
	logic logic

	ctx    context.Context // ends when the stage stops
	cancel context.CancelFunc
	work   sync.WaitGroup // goroutines the logic started (go)

	// remoteSink marks a stage whose outlet leads to another actor system:
	// a sink of its pipeline.
	remoteSink bool

	c protoactor.Context // the actor context, during Receive

	started, finished bool
}

// watch asks Proto.Actor to tell the stage when pid terminates.
func (s *stage) watch(pid *protoactor.PID) {
	if s.c != nil {
		s.c.Watch(pid)
	}
}

// isSink reports whether the stage ends its pipeline.
func (s *stage) isSink() bool { return len(s.outs) == 0 || s.remoteSink }

func (s *stage) send(pid *protoactor.PID, msg any) { s.system.Root.Send(pid, msg) }

// tell sends msg to the stage itself; safe from any goroutine.
func (s *stage) tell(msg any) { s.system.Root.Send(s.self, msg) }

// goWork runs f on a goroutine owned by the stage: the stage's stop waits
// for it, after cancelling s.ctx.
func (s *stage) goWork(f func(ctx context.Context)) {
	s.work.Add(1)
	go func() {
		defer s.work.Done()
		f(s.ctx)
	}()
}

// Receive is the stage's actor behaviour.
func (s *stage) Receive(c protoactor.Context) {
	defer func() {
		if r := recover(); r != nil {
			s.fail(&PanicError{Value: r})
		}
	}()
	s.c = c
	defer func() { s.c = nil }()
	switch m := c.Message().(type) {
	case *protoactor.Terminated:
		// Handled after what the peer sent before it (see peerLost).
		s.tell(&peerLost{pid: m.GetWho(), why: m.GetWhy()})
		return
	case *encodeFailed:
		s.fail(m.err)
		return
	case *startMsg:
		if !s.wire(m) {
			return
		}
	case *demandMsg:
		if m.port >= 0 && m.port < len(s.outs) {
			s.outs[m.port].onDemand(m.n)
		}
	case *cancelMsg:
		if m.port >= 0 && m.port < len(s.outs) {
			s.outs[m.port].onCancel()
		}
	case inletMessage:
		if p := m.inletPort(); p >= 0 && p < len(s.ins) {
			if err := s.ins[p].receive(m); err != nil {
				s.fail(err)
				return
			}
		}
	case *completeMsg:
		if m.port >= 0 && m.port < len(s.ins) {
			s.ins[m.port].base().onComplete()
		}
	case *failMsg:
		if m.port >= 0 && m.port < len(s.ins) && s.ins[m.port].base().state == portOpen {
			s.ins[m.port].base().state = portFailed
			s.fail(m.err)
			return
		}
	case *pumpMsg:
	case *protoactor.Stopped:
		s.stop()
		return
	case protoactor.SystemMessage, protoactor.AutoReceiveMessage:
		return // Started, Stopping, Restarting
	default:
		r, ok := s.logic.(receiver)
		if !ok || s.finished {
			return
		}
		if err := r.receive(m); err != nil && !s.decide(err) {
			return
		}
	}
	s.step()
}

// wire links the stage's ports to its neighbours and starts its logic.
func (s *stage) wire(m *startMsg) bool {
	if s.started {
		return true
	}
	for i, p := range m.ups {
		if i < len(s.ins) && p.pid != nil {
			s.ins[i].base().link = &localUp{s: s, to: p}
		}
	}
	for i, p := range m.downs {
		if i < len(s.outs) && p.pid != nil {
			s.outs[i].linkLocal(p)
		}
	}
	s.started = true
	if st, ok := s.logic.(starter); ok {
		if err := st.start(); err != nil {
			s.fail(err)
			return false
		}
	}
	return true
}

// step pumps, flushes and replenishes until nothing moves, then finishes
// the stage if all its ports are closed.
func (s *stage) step() {
	if !s.started || s.finished {
		return
	}
	if len(s.outs) > 0 && s.allOutsClosed() {
		for _, in := range s.ins {
			in.cancel() // nobody wants what we would make
		}
	} else {
		for round := 0; ; round++ {
			if err := s.pump(); err != nil {
				if !s.decide(err) {
					return
				}
				if round < 64*maxRounds {
					continue
				}
			}
			moved := false
			for _, o := range s.outs {
				if o.flush() {
					moved = true
				}
			}
			if !moved {
				break
			}
			if round >= maxRounds {
				s.tell(&pumpMsg{}) // yield; go on after the mailbox's other messages
				break
			}
		}
		for _, in := range s.ins {
			in.base().replenish()
		}
	}
	s.finishIfDone()
}

// pump runs the logic, turning a panic into an error.
func (s *stage) pump() (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = &PanicError{Value: r}
		}
	}()
	return s.logic.pump()
}

// decide applies the decider to err: it reports whether the stage goes on.
func (s *stage) decide(err error) bool {
	switch s.directive(err) {
	case Resume:
		s.stats.errors.Add(1)
		return true
	case Restart:
		s.stats.restarts.Add(1)
		s.logic.restart()
		return true
	default:
		s.fail(err)
		return false
	}
}

func (s *stage) directive(err error) (d Directive) {
	if s.decider == nil {
		return Stop
	}
	defer func() {
		if r := recover(); r != nil {
			d = Stop
		}
	}()
	return s.decider(err)
}

func (s *stage) allOutsClosed() bool {
	for _, o := range s.outs {
		if o.base().state == portOpen {
			return false
		}
	}
	return true
}

// finishIfDone stops the stage once every port is closed, every element
// taken and no work is in flight.
func (s *stage) finishIfDone() {
	completed := true
	for _, in := range s.ins {
		b := in.base()
		if b.state == portOpen || b.buffered > 0 {
			return
		}
		completed = completed && b.state == portCompleted
	}
	if !s.allOutsClosed() {
		return
	}
	if w, ok := s.logic.(waiter); ok && w.busy() {
		return
	}
	for _, o := range s.outs {
		completed = completed && o.base().state == portCompleted
	}
	if s.isSink() && completed {
		s.p.sinkCompleted()
	}
	s.finish()
}

// fail ends the stage with err: the error goes downstream, cancellation
// upstream, and the pipeline stops with the first error of any stage.
func (s *stage) fail(err error) {
	if s.finished {
		return
	}
	var se *StageError
	if !errors.As(err, &se) {
		err = &StageError{Stage: s.name, Err: err}
	}
	if f, ok := s.logic.(failureObserver); ok {
		f.failed(err)
	}
	s.p.fail(err)
	for _, o := range s.outs {
		o.fail(err)
	}
	for _, in := range s.ins {
		in.cancel()
	}
	s.finish()
}

func (s *stage) finish() {
	if s.finished {
		return
	}
	s.finished = true
	s.cancel()
	if s.self != nil {
		s.system.Root.Stop(s.self)
	}
}

// stop runs when the actor stops, finished or stopped by the owner: it
// releases the logic's timers and waits for its goroutines.
func (s *stage) stop() {
	s.cancel()
	if st, ok := s.logic.(stopper); ok {
		st.stop()
	}
	s.work.Wait()
}

func (s *stage) String() string { return fmt.Sprintf("stage %s", s.name) }
