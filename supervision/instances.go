package supervision

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	protoactor "github.com/asynkron/protoactor-go/actor"
)

// Instances is a Proto.Actor supervisor strategy for many independent
// actors of one kind — the instances of virtual reactors, which the runtime
// activates on demand (actor.Config.Supervisor) — applying a Strategy to
// each instance on its own: the decider by error class, the intensity per
// instance (an instance that fails more often is stopped, and its next
// intent activates it afresh from its committed state), and backoff.
// Kind is ignored: instances have no siblings. Every decision is an Event
// (Supervisor "instances", Child the actor's id), counted in Stats and
// given to OnEvent.
type Instances struct {
	strategy Strategy
	clock    Clock
	onEvent  func(Event)

	mu   sync.Mutex
	logs map[string]*restartLog // by actor id
	rng  *rand.Rand

	counts [eventKinds]atomic.Int64
}

// NewInstances returns the strategy; opts.Clock and opts.Seed as for a
// tree. onEvent may be nil; it is called on the failing actor's goroutine
// and must not block.
func NewInstances(s Strategy, opts Options, onEvent func(Event)) (*Instances, error) {
	if err := s.validate(); err != nil {
		return nil, fmt.Errorf("supervision: %w", err)
	}
	if opts.Clock == nil {
		opts.Clock = realClock{}
	}
	if opts.Seed == 0 {
		opts.Seed = uint64(time.Now().UnixNano())
	}
	return &Instances{strategy: s, clock: opts.Clock, onEvent: onEvent, logs: map[string]*restartLog{},
		rng: rand.New(rand.NewPCG(opts.Seed, opts.Seed^0x9e3779b97f4a7c15))}, nil
}

// Stats counts the decisions so far.
func (in *Instances) Stats() Stats {
	return Stats{
		Failures:   in.counts[EventFailed].Load(),
		Restarts:   in.counts[EventRestarted].Load(),
		Resumes:    in.counts[EventResumed].Load(),
		Stops:      in.counts[EventStopped].Load(),
		Escalation: in.counts[EventEscalated].Load(),
	}
}

func (in *Instances) emit(e Event) {
	e.Supervisor = "instances"
	e.Time = in.clock.Now()
	in.counts[e.Kind].Add(1)
	if in.onEvent != nil {
		in.onEvent(e)
	}
}

// HandleFailure decides for one failed instance.
func (in *Instances) HandleFailure(_ *protoactor.ActorSystem, sup protoactor.Supervisor, child *protoactor.PID, _ *protoactor.RestartStatistics, reason, _ any) {
	err := reasonError(reason)
	d := in.strategy.decide(err)
	in.emit(Event{Kind: EventFailed, Child: child.Id, Reason: err, Directive: d})
	switch d {
	case Resume:
		sup.ResumeChildren(child)
		in.emit(Event{Kind: EventResumed, Child: child.Id})
		return
	case Stop, Escalate:
		// An instance has no supervisor above it that could do better
		// than stopping it: its next intent activates it afresh.
		in.forget(child.Id)
		sup.StopChildren(child)
		in.emit(Event{Kind: EventStopped, Child: child.Id, Reason: err})
		return
	}
	now := in.clock.Now()
	intensity := in.strategy.intensity()
	in.mu.Lock()
	log := in.logs[child.Id]
	if log == nil {
		if len(in.logs) >= 1<<16 {
			in.pruneLocked(now, intensity)
		}
		log = &restartLog{}
		in.logs[child.Id] = log
	}
	n := log.add(now, intensity.Within)
	allowed := !intensity.exceeded(n)
	var delay time.Duration
	if b := in.strategy.Backoff; b != nil && allowed {
		delay = b.delay(n, in.rng)
	}
	in.mu.Unlock()
	if !allowed {
		in.forget(child.Id)
		sup.StopChildren(child)
		in.emit(Event{Kind: EventStopped, Child: child.Id,
			Reason: fmt.Errorf("more than %d restarts within %v: %w", intensity.MaxRestarts, intensity.Within, err)})
		return
	}
	if delay > 0 {
		in.clock.AfterFunc(delay, func() { sup.RestartChildren(child) })
	} else {
		sup.RestartChildren(child)
	}
	in.emit(Event{Kind: EventRestarted, Child: child.Id, Reason: err, Delay: delay})
}

func (in *Instances) forget(id string) {
	in.mu.Lock()
	delete(in.logs, id)
	in.mu.Unlock()
}

// pruneLocked drops the logs without a restart in the window.
func (in *Instances) pruneLocked(now time.Time, intensity Intensity) {
	for id, l := range in.logs {
		if l.idle(now, intensity.Within) {
			delete(in.logs, id)
		}
	}
}
