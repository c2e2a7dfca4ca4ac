package component

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	protoactor "github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/proto"

	"github.com/packetflow/packetflow/component/config"
)

// slot is one defined component: what the host and discovery see of it.
// The component's actor (instance) changes with every restart; the slot
// stays.
type slot struct {
	def  Definition
	host *Host
	env  *Env

	wanted  atomic.Bool  // should be running (StopComponent clears it)
	queue   atomic.Int64 // messages posted and not yet handled
	handled atomic.Int64
	errors  atomic.Int64
	window  window // for alert rules

	mu     sync.Mutex // guards the fields below
	state  string     // "running", "stopped", "failed"
	health Health
	alerts map[string]*alertState
}

func (s *slot) setState(state string) {
	s.mu.Lock()
	s.state = state
	if state != "running" {
		s.health = Health{}
	}
	s.mu.Unlock()
}

// Priority orders the messages waiting in a component's mailbox: higher
// first, in arrival order within a priority. 0 to 7; DefaultPriority for
// messages sent without one.
type Priority int8

const (
	LowPriority     Priority = 1
	DefaultPriority Priority = 4
	HighPriority    Priority = 7
)

// envelope is a message posted to a component's actor.
type envelope struct {
	msg      proto.Message
	priority Priority
	deadline time.Time
	reply    func(proto.Message, error) // called exactly once
}

func (e *envelope) GetPriority() int8 { return int8(e.priority) }

type controlOp int

const (
	opStart controlOp = iota
	opStop
	opRestart
)

// control is a lifecycle request; it jumps ahead of messages.
type control struct {
	op   controlOp
	done chan error
}

func (*control) GetPriority() int8 { return int8(HighPriority) }

// reconfigure carries a configuration change to the component.
type reconfigure struct{ old, new config.Snapshot }

func (*reconfigure) GetPriority() int8 { return int8(HighPriority) }

// healthTick asks for a health check.
type healthTick struct{}

func (healthTick) GetPriority() int8 { return int8(HighPriority) }

// instance is the Proto.Actor actor of a component: one per incarnation.
type instance struct {
	s       *slot
	comp    Component
	running bool
	self    *protoactor.PID
	system  *protoactor.ActorSystem
	timer   *time.Timer
}

func (a *instance) Receive(ctx protoactor.Context) {
	switch m := ctx.Message().(type) {
	case *protoactor.Started:
		a.self, a.system = ctx.Self(), ctx.ActorSystem()
		if a.s.wanted.Load() {
			if err := a.start(); err != nil {
				a.s.setState("failed")
				panic(err) // the supervisor decides
			}
		}
		a.scheduleHealth()
	case *protoactor.Restarting, *protoactor.Stopping:
		if a.timer != nil {
			a.timer.Stop()
		}
		a.stop()
	case *envelope:
		a.s.queue.Add(-1)
		a.deliver(m)
	case *control:
		m.done <- a.control(m.op)
	case healthTick:
		a.checkHealth()
		a.scheduleHealth()
	case *reconfigure:
		a.reconfigure(m)
	}
}

func (a *instance) lifecycleContext() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), a.s.host.cfg.LifecycleTimeout)
}

// start makes, initialises and starts a fresh component.
func (a *instance) start() error {
	ctx, cancel := a.lifecycleContext()
	defer cancel()
	comp := a.s.def.New()
	if comp == nil {
		return fmt.Errorf("%w: %s: New returned nil", ErrFailed, a.s.def.ID)
	}
	if err := comp.Init(ctx, a.s.env); err != nil {
		return fmt.Errorf("%w: %s: init: %w", ErrFailed, a.s.def.ID, err)
	}
	if err := comp.Start(ctx); err != nil {
		return fmt.Errorf("%w: %s: start: %w", ErrFailed, a.s.def.ID, err)
	}
	a.comp, a.running = comp, true
	a.s.setState("running")
	a.s.host.emit(Event{Kind: EventStarted, Component: a.s.def.ID})
	return nil
}

func (a *instance) stop() {
	if !a.running {
		return
	}
	a.running = false
	ctx, cancel := a.lifecycleContext()
	defer cancel()
	err := a.comp.Stop(ctx)
	a.comp = nil
	a.s.setState("stopped")
	a.s.host.emit(Event{Kind: EventStopped, Component: a.s.def.ID, Err: err})
}

func (a *instance) control(op controlOp) error {
	switch op {
	case opStart:
		a.s.wanted.Store(true)
		if a.running {
			return nil
		}
		return a.start()
	case opStop:
		a.s.wanted.Store(false)
		a.stop()
		return nil
	default: // opRestart
		a.s.wanted.Store(true)
		a.stop()
		err := a.start()
		if err == nil {
			a.s.host.emit(Event{Kind: EventRestarted, Component: a.s.def.ID, Detail: "on demand"})
		}
		return err
	}
}

// deliver hands one message to the component and answers its sender.
func (a *instance) deliver(e *envelope) {
	switch {
	case !a.running:
		e.reply(nil, fmt.Errorf("%w: %s", ErrNotRunning, a.s.def.ID))
		return
	case !e.deadline.IsZero() && time.Now().After(e.deadline):
		e.reply(nil, fmt.Errorf("%w: the message to %s expired in its mailbox", context.DeadlineExceeded, a.s.def.ID))
		return
	}
	r, ok := a.comp.(Receiver)
	if !ok {
		e.reply(nil, fmt.Errorf("%w: %s", ErrNoReceiver, a.s.def.ID))
		return
	}
	ctx, cancel := context.Background(), context.CancelFunc(func() {})
	if !e.deadline.IsZero() {
		ctx, cancel = context.WithDeadline(ctx, e.deadline)
	}
	defer cancel()
	start := time.Now()
	defer func() {
		if p := recover(); p != nil {
			a.s.errors.Add(1)
			a.s.window.record(time.Since(start), true)
			e.reply(nil, fmt.Errorf("%w: %s panicked handling %s: %v", ErrFailed, a.s.def.ID, e.msg.ProtoReflect().Descriptor().FullName(), p))
			panic(p) // the supervisor decides
		}
	}()
	reply, err := r.Receive(ctx, e.msg)
	a.s.handled.Add(1)
	if err != nil {
		a.s.errors.Add(1)
	}
	a.s.window.record(time.Since(start), err != nil)
	a.s.host.metrics.observe(a.s.def.ID, time.Since(start), err)
	e.reply(reply, err)
}

func (a *instance) reconfigure(m *reconfigure) {
	r, ok := a.comp.(Reconfigurer)
	if !a.running || !ok {
		return // a fresh instance reads the current version in Init
	}
	ctx, cancel := a.lifecycleContext()
	defer cancel()
	detail := fmt.Sprintf("configuration version %d", m.new.Version())
	if err := r.Reconfigure(ctx, m.old, m.new); err != nil {
		a.s.host.emit(Event{Kind: EventReconfigured, Component: a.s.def.ID, Detail: detail + " refused", Err: err})
		return
	}
	a.s.host.emit(Event{Kind: EventReconfigured, Component: a.s.def.ID, Detail: detail})
}

func (a *instance) scheduleHealth() {
	interval := a.s.def.HealthInterval
	if interval == 0 {
		interval = a.s.host.cfg.HealthInterval
	}
	self, system := a.self, a.system
	a.timer = time.AfterFunc(interval, func() { system.Root.Send(self, healthTick{}) })
}

// checkHealth asks the component how it is, within its timeout, and
// evaluates its alert rules.
func (a *instance) checkHealth() {
	h := Health{Status: Unknown, Detail: "not running"}
	if a.running {
		h = a.probe()
	}
	a.s.mu.Lock()
	changed := a.s.health != h
	a.s.health = h
	a.s.mu.Unlock()
	if changed {
		a.s.host.emit(Event{Kind: EventHealth, Component: a.s.def.ID, Detail: h.Status.String() + detailSuffix(h.Detail)})
	}
	a.s.host.metrics.health(a.s.def.ID, h.Status)
	a.s.evaluateAlerts(h)
}

func (a *instance) probe() Health {
	timeout := a.s.def.HealthTimeout
	if timeout == 0 {
		timeout = a.s.host.cfg.HealthTimeout
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	out := make(chan Health, 1)
	comp := a.comp
	go func() {
		defer func() {
			if p := recover(); p != nil {
				out <- Health{Status: Unhealthy, Detail: fmt.Sprintf("health check panicked: %v", p)}
			}
		}()
		out <- comp.Health(ctx)
	}()
	select {
	case h := <-out:
		return h
	case <-ctx.Done():
		return Health{Status: Unhealthy, Detail: fmt.Sprintf("health check did not answer within %v", timeout)}
	}
}

func detailSuffix(d string) string {
	if d == "" {
		return ""
	}
	return ": " + d
}
