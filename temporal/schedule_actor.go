package temporal

import (
	"context"
	"errors"
	"fmt"
	"time"

	protoactor "github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/proto"

	"github.com/packetflow/packetflow/intent"
	"github.com/packetflow/packetflow/store"
	"github.com/packetflow/packetflow/temporal/temporalpb"
)

// retryDelay is how soon a schedule that could not decide (not the owner,
// the store failing) looks again, at the least.
const retryDelay = time.Second

// scheduleActor is a schedule's actor. Only its goroutine touches it.
type scheduleActor struct {
	cfg  ScheduleConfig
	plan plan
	key  store.Key
	done chan struct{}

	system *protoactor.ActorSystem
	self   *protoactor.PID
	ctx    context.Context // parent of every run's context
	cancel context.CancelFunc

	loaded  bool
	version uint64
	state   *temporalpb.ScheduleState

	timer Timer
	gen   uint64 // of the armed timer: a tick of an older one is stale
	ended bool

	runs                         map[uint64]*runEntry
	nextRun                      uint64
	succeeded, failed, cancelled uint64
	lastErr                      error
}

type runEntry struct {
	slot      time.Time
	cancel    context.CancelFunc
	cancelled bool
}

// scheduleTick is sent by the schedule's timer.
type scheduleTick struct{ gen uint64 }

func newScheduleActor(cfg ScheduleConfig, done chan struct{}) *scheduleActor {
	return &scheduleActor{
		cfg: cfg,
		plan: plan{name: cfg.Name, cal: cfg.Calendar, start: cfg.Start, end: cfg.End, window: cfg.CatchupWindow,
			jitter: cfg.Jitter, seed: cfg.JitterSeed, overlap: cfg.Overlap, maxBuffered: cfg.MaxBuffered},
		key:  store.Key{Kind: scheduleKind, Identity: cfg.Name},
		done: done,
		runs: map[uint64]*runEntry{},
	}
}

func (a *scheduleActor) Receive(c protoactor.Context) {
	switch m := c.Message().(type) {
	case *protoactor.Started:
		a.system, a.self = c.ActorSystem(), c.Self()
		if a.ctx == nil {
			a.ctx, a.cancel = context.WithCancel(context.Background())
		}
		a.tick(c)
	case *scheduleTick:
		if m.gen == a.gen {
			a.tick(c)
		}
	case *runDone:
		a.runFinished(c, m)
	case *statusQuery:
		m.reply <- a.status()
	case *protoactor.Stopping:
		if a.timer != nil {
			a.timer.Stop()
		}
		a.gen++
		a.cancel()
	case *protoactor.Stopped:
		close(a.done)
	}
}

// tick decides what is due now and arms the timer for what comes next.
func (a *scheduleActor) tick(c protoactor.Context) {
	now := a.cfg.Clock.Now()
	progressed := a.loaded || a.load(now) == nil
	if progressed && a.cfg.Owns() {
		progressed = a.decide(c, func() decision { return a.plan.decide(a.state, now, len(a.runs)) })
	} else {
		progressed = false
	}
	a.arm(now, progressed)
}

// decide commits the decision that make returns, then acts on it. On a
// conflict (another member recorded first) it reloads and decides again,
// once. It reports whether the decision was carried out.
func (a *scheduleActor) decide(c protoactor.Context, make func() decision) bool {
	for attempt := 0; ; attempt++ {
		d := make()
		if !d.changed {
			return true
		}
		err := a.commit(d.state)
		if err == nil {
			a.act(c, d)
			return true
		}
		if !errors.Is(err, store.ErrConflict) || attempt == 1 {
			a.storeFailed(err)
			return false
		}
		a.event(ScheduleEvent{Kind: EventConflict, Err: err})
		if a.load(a.cfg.Clock.Now()) != nil {
			return false
		}
	}
}

// act carries out a committed decision.
func (a *scheduleActor) act(c protoactor.Context, d decision) {
	through := fromNanos(d.state.Through)
	if d.missed > 0 {
		a.event(ScheduleEvent{Kind: EventMissed, Slot: through, Count: d.missed})
	}
	if d.skipped > 0 {
		a.event(ScheduleEvent{Kind: EventSkipped, Slot: through, Count: d.skipped})
	}
	if d.buffered > 0 {
		a.event(ScheduleEvent{Kind: EventBuffered, Slot: through, Count: d.buffered})
	}
	if d.cancel {
		for _, r := range a.runs {
			r.cancelled = true
			r.cancel()
		}
	}
	for _, slot := range d.fire {
		a.start(c, slot)
	}
}

// start sends slot's intent in a run of its own.
func (a *scheduleActor) start(c protoactor.Context, slot time.Time) {
	a.nextRun++
	id := a.nextRun
	msg, err := a.intent(slot)
	a.event(ScheduleEvent{Kind: EventFired, Slot: slot, Count: 1})
	if err != nil {
		a.failed++
		a.lastErr = err
		a.event(ScheduleEvent{Kind: EventFailed, Slot: slot, Err: err})
		return
	}
	ctx, cancel := context.WithCancel(a.ctx)
	a.runs[id] = &runEntry{slot: slot, cancel: cancel}
	caller := a.cfg.Caller.Propagate(intent.Inherit, intent.Hop{Actor: "temporal/schedule/" + a.cfg.Name, At: a.cfg.Clock.Now()})
	startRun(c, &run{id: id, target: a.cfg.Target, caller: caller, msg: msg, timeout: a.cfg.RunTimeout, ctx: ctx})
}

// intent builds slot's intent; a panicking Intent function is an error.
func (a *scheduleActor) intent(slot time.Time) (msg proto.Message, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("temporal: schedule %q: intent function panicked: %v", a.cfg.Name, r)
		}
	}()
	msg = a.cfg.Intent(slot)
	if msg == nil || !msg.ProtoReflect().IsValid() {
		return nil, fmt.Errorf("temporal: schedule %q: intent function returned no message", a.cfg.Name)
	}
	return msg, nil
}

func (a *scheduleActor) runFinished(c protoactor.Context, m *runDone) {
	r, ok := a.runs[m.id]
	if !ok {
		return
	}
	delete(a.runs, m.id)
	r.cancel()
	switch {
	case r.cancelled:
		a.cancelled++
		a.event(ScheduleEvent{Kind: EventCancelled, Slot: r.slot, Err: errRunCancelled})
	case m.err != nil:
		a.failed++
		a.lastErr = m.err
		a.event(ScheduleEvent{Kind: EventFailed, Slot: r.slot, Err: m.err})
	default:
		a.succeeded++
		a.event(ScheduleEvent{Kind: EventSucceeded, Slot: r.slot})
	}
	if a.loaded && a.cfg.Owns() {
		a.decide(c, func() decision { return a.plan.finished(a.state, len(a.runs)) })
	}
}

// arm sets the timer for the next slot, or for a retry when this tick did
// not progress; never further than Recheck, so clock steps are noticed.
func (a *scheduleActor) arm(now time.Time, progressed bool) {
	if a.timer != nil {
		a.timer.Stop()
	}
	a.gen++
	wait := min(retryDelay, a.cfg.Recheck) // not loaded: load again soon
	if a.loaded {
		wait = a.cfg.Recheck
		slot, at := a.plan.next(a.state)
		if slot.IsZero() && len(a.state.Pending) == 0 {
			if !a.ended {
				a.ended = true
				a.event(ScheduleEvent{Kind: EventEnded})
			}
			return
		}
		if !slot.IsZero() {
			wait = min(wait, at.Sub(now))
		}
	}
	if !progressed {
		wait = max(wait, min(retryDelay, a.cfg.Recheck))
	}
	gen, system, self := a.gen, a.system, a.self
	a.timer = a.cfg.Clock.AfterFunc(max(wait, 0), func() { system.Root.Send(self, &scheduleTick{gen: gen}) })
}

func (a *scheduleActor) status() ScheduleStatus {
	st := ScheduleStatus{Name: a.cfg.Name, Running: len(a.runs), Succeeded: a.succeeded, Failed: a.failed,
		Cancelled: a.cancelled, LastError: a.lastErr, Loaded: a.loaded}
	if !a.loaded {
		return st
	}
	if a.state.Through != 0 {
		st.Through = fromNanos(a.state.Through)
	}
	st.Next, st.NextFire = a.plan.next(a.state)
	st.Fired, st.Missed, st.Skipped, st.Buffered = a.state.Fired, a.state.Missed, a.state.Skipped, len(a.state.Pending)
	return st
}

func (a *scheduleActor) event(e ScheduleEvent) {
	e.Schedule = a.cfg.Name
	if a.cfg.Events != nil {
		a.cfg.Events(e)
	}
}

func (a *scheduleActor) storeFailed(err error) {
	a.lastErr = err
	a.cfg.Logger.Warn("schedule: store failed; will retry", "schedule", a.cfg.Name, "err", err)
	a.event(ScheduleEvent{Kind: EventStoreErr, Err: err})
}
