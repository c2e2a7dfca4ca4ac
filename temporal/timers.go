package temporal

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/packetflow/packetflow/actor"
	"github.com/packetflow/packetflow/intent"
)

// Timers gives reactors timers: a handler arms a one-shot (After) or
// periodic (Every) timer that sends an intent back to the same activation.
// Timers belong to the activation: they stop when it stops, and a restart
// after a panic keeps them (it is the same activation). They are not
// durable; use Reminders for that.
//
// A timer has a name, unique within its activation. Arming a name again
// replaces its timer and Cancel removes it; either way no tick of the old
// timer is handled afterwards, not even one already queued in the mailbox:
// each tick carries the generation it was armed with and the activation
// drops it unhandled if its timer has since been replaced or cancelled.
//
// A tick is an ordinary intent: its type must be registered with the
// reactor's kind and address the reactor's identity, it runs the plugins
// and passes the capability check on behalf of the caller whose intent
// armed the timer (propagated: same principal and grants), so a timer can
// do nothing its setter could not.
//
// One Timers serves a runtime; its methods are safe for concurrent use.
type Timers struct {
	rt    *actor.Runtime
	clock Clock
	log   *slog.Logger

	// mu guards tables and every table's timers.
	mu     sync.Mutex
	tables map[actor.Activation]map[string]*reactorTimer
	armed  int
	gen    uint64 // numbers timers: a tick's generation says which timer sent it
}

// reactorTimer is one armed timer.
type reactorTimer struct {
	gen    uint64
	period time.Duration // 0: one-shot
	timer  Timer
}

// NewTimers returns the timers of rt's reactors, on clock (nil: the real
// clock).
func NewTimers(rt *actor.Runtime, clock Clock) *Timers {
	return &Timers{rt: rt, clock: orReal(clock), log: slog.Default(), tables: map[actor.Activation]map[string]*reactorTimer{}}
}

// After arms the timer name of the handler's activation to send msg once,
// d from now, replacing any timer of that name. Call it from a handler.
func (ts *Timers) After(c *actor.Call, name string, d time.Duration, msg proto.Message) error {
	return ts.arm(c, name, d, 0, msg)
}

// Every arms the timer name to send msg every period, the first time one
// period from now, replacing any timer of that name. A tick that finds the
// previous one still queued is not skipped: ticks are intents and queue.
func (ts *Timers) Every(c *actor.Call, name string, period time.Duration, msg proto.Message) error {
	if period < MinInterval {
		return fmt.Errorf("%w: timer %q: period must be at least %v", ErrInvalid, name, MinInterval)
	}
	return ts.arm(c, name, period, period, msg)
}

// Cancel removes the timer name of the handler's activation and reports
// whether there was one. No tick of it is handled after Cancel returns.
func (ts *Timers) Cancel(c *actor.Call, name string) bool {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	table := ts.tables[c.Activation()]
	t, ok := table[name]
	if ok {
		ts.remove(table, name, t)
	}
	return ok
}

// Armed returns how many timers are armed across all activations.
func (ts *Timers) Armed() int {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return ts.armed
}

func (ts *Timers) arm(c *actor.Call, name string, d, period time.Duration, msg proto.Message) error {
	if name == "" || len(name) > 256 {
		return fmt.Errorf("%w: timer name must be 1 to 256 bytes", ErrInvalid)
	}
	if err := ts.addresses(c, msg); err != nil {
		return fmt.Errorf("%w: timer %q: %w", ErrInvalid, name, err)
	}
	act := c.Activation()
	if act.Stopped() {
		return fmt.Errorf("%w: timer %q: the activation is stopping", ErrStopped, name)
	}
	caller := c.Context().Propagate(intent.Inherit, intent.Hop{Node: ts.rt.Name(), Actor: c.Kind() + "/" + c.Identity() + " timer " + name, At: c.Now()})
	msg = proto.Clone(msg)

	ts.mu.Lock()
	defer ts.mu.Unlock()
	table, ok := ts.tables[act]
	if !ok {
		table = map[string]*reactorTimer{}
		ts.tables[act] = table
		act.OnStop(func() { ts.drop(act) })
	}
	if old, ok := table[name]; ok {
		ts.remove(table, name, old)
	}
	ts.gen++
	t := &reactorTimer{gen: ts.gen, period: period}
	admit := func() bool { return ts.current(act, name, t.gen) }
	var fire func()
	fire = func() {
		if period > 0 {
			ts.mu.Lock()
			if cur, ok := ts.tables[act][name]; ok && cur.gen == t.gen {
				cur.timer = ts.clock.AfterFunc(period, fire)
			}
			ts.mu.Unlock()
		}
		if !ts.send(act, name, caller, msg, admit) && period == 0 {
			ts.current(act, name, t.gen) // its one tick is lost: disarm it
		}
	}
	t.timer = ts.clock.AfterFunc(max(d, 0), fire)
	table[name] = t
	ts.armed++
	return nil
}

// addresses checks that msg is an intent for the handler's own reactor.
func (ts *Timers) addresses(c *actor.Call, msg proto.Message) error {
	if msg == nil || !msg.ProtoReflect().IsValid() {
		return fmt.Errorf("no intent")
	}
	t, err := ts.rt.Types().TypeOf(msg)
	if err != nil {
		return err
	}
	identity, err := t.Identity(msg)
	if err != nil {
		return err
	}
	if t.Kind() != c.Kind() || identity != c.Identity() {
		return fmt.Errorf("a %s goes to %s/%s, not to the reactor %s/%s that arms the timer", t.Name(), t.Kind(), identity, c.Kind(), c.Identity())
	}
	return nil
}

// send posts one tick to the activation and reports whether it was
// queued; a tick that cannot be posted because the activation stopped
// drops the activation's timers.
func (ts *Timers) send(act actor.Activation, name string, caller *intent.Context, msg proto.Message, admit func() bool) bool {
	env, err := ts.rt.NewEnvelope(context.Background(), caller, proto.Clone(msg))
	if err == nil {
		err = act.Post(env, admit)
	}
	if err != nil {
		ts.log.Warn("reactor timer tick not delivered", "timer", name, "err", err)
		if act.Stopped() {
			ts.drop(act)
		}
		return false
	}
	return true
}

// current reports, on the activation's goroutine just before a tick is
// handled, whether the tick's timer is still the armed one; a one-shot
// timer's tick is its last.
func (ts *Timers) current(act actor.Activation, name string, gen uint64) bool {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	table := ts.tables[act]
	t, ok := table[name]
	if !ok || t.gen != gen {
		return false
	}
	if t.period == 0 {
		ts.remove(table, name, t)
	}
	return true
}

// remove disarms t; ts.mu is held.
func (ts *Timers) remove(table map[string]*reactorTimer, name string, t *reactorTimer) {
	t.timer.Stop()
	delete(table, name)
	ts.armed--
}

// drop disarms every timer of act.
func (ts *Timers) drop(act actor.Activation) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	for name, t := range ts.tables[act] {
		ts.remove(ts.tables[act], name, t)
	}
	delete(ts.tables, act)
}
