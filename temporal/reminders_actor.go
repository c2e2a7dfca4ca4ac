package temporal

import (
	"context"
	"errors"
	"time"

	protoactor "github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/proto"

	"github.com/packetflow/packetflow/intent"
	"github.com/packetflow/packetflow/store"
	"github.com/packetflow/packetflow/temporal/temporalpb"
)

// reminderActor is a reminder service's actor. Only its goroutine touches
// it.
type reminderActor struct {
	cfg    ReminderConfig
	done   chan struct{}
	system *protoactor.ActorSystem
	self   *protoactor.PID
	ctx    context.Context
	cancel context.CancelFunc

	shards []shardState
	timer  Timer
	gen    uint64

	runs    map[uint64]string // run id -> reminder name
	nextRun uint64
}

// shardState is the last loaded version of one shard.
type shardState struct {
	loaded  bool
	version uint64
	state   *temporalpb.ReminderShard
}

type reminderTick struct{ gen uint64 }

func (a *reminderActor) Receive(c protoactor.Context) {
	switch m := c.Message().(type) {
	case *protoactor.Started:
		a.system, a.self = c.ActorSystem(), c.Self()
		if a.ctx == nil {
			a.ctx, a.cancel = context.WithCancel(context.Background())
		}
		a.reloadAll()
		a.event(ReminderEvent{Kind: EventLoaded})
		a.fireDue(c)
	case *reminderTick:
		if m.gen == a.gen {
			a.reloadAll()
			a.fireDue(c)
		}
	case *reloadShard:
		a.reload(m.shard)
		a.fireDue(c)
		close(m.done)
	case *runDone:
		name := a.runs[m.id]
		delete(a.runs, m.id)
		if m.err != nil {
			a.event(ReminderEvent{Kind: EventFailed, Reminder: name, Err: m.err})
		} else {
			a.event(ReminderEvent{Kind: EventSucceeded, Reminder: name})
		}
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

func (a *reminderActor) reloadAll() {
	for i := range a.shards {
		a.reload(i)
	}
}

func (a *reminderActor) reload(shard int) {
	key := shardKey(a.cfg.Name, shard)
	ctx, cancel := context.WithTimeout(context.Background(), a.cfg.StoreTimeout)
	defer cancel()
	rec, err := a.cfg.Store.Load(ctx, key)
	if err == nil {
		var st *temporalpb.ReminderShard
		if st, err = decodeShard(key, rec); err == nil {
			a.shards[shard] = shardState{loaded: true, version: rec.Version, state: st}
			return
		}
	}
	a.shards[shard].loaded = false
	a.cfg.Logger.Warn("reminders: shard not loaded", "service", a.cfg.Name, "shard", shard, "err", err)
	a.event(ReminderEvent{Kind: EventStoreErr, Err: err})
}

// fireDue records and sends every reminder due now, shard by shard, then
// arms the timer for the earliest one still to come.
func (a *reminderActor) fireDue(c protoactor.Context) {
	now := a.cfg.Clock.Now()
	for i := range a.shards {
		for attempt := 0; attempt < 2 && a.shards[i].loaded; attempt++ {
			if a.fireShard(c, i, now) {
				break
			}
			a.reload(i) // another member recorded first: look again
		}
	}
	a.arm(now)
}

// fireShard commits the shard with its due reminders advanced and, once
// committed, sends them. It returns false on a conflict.
func (a *reminderActor) fireShard(c protoactor.Context, shard int, now time.Time) bool {
	sh := a.shards[shard]
	next := &temporalpb.ReminderShard{}
	var due []*temporalpb.Reminder
	var missed []uint64
	for _, r := range sh.state.Reminders {
		if r.Due > now.UnixNano() {
			next.Reminders = append(next.Reminders, r)
			continue
		}
		due = append(due, r)
		var skip uint64
		if r.Period > 0 {
			n := proto.Clone(r).(*temporalpb.Reminder)
			// Fire once; occurrences that passed while no member could
			// send them are counted as missed.
			behind := (now.UnixNano() - r.Due) / r.Period
			skip = uint64(behind)
			n.Due = r.Due + (behind+1)*r.Period
			n.Fired++
			n.Missed += skip
			next.Reminders = append(next.Reminders, n)
		}
		missed = append(missed, skip)
	}
	if len(due) == 0 {
		return true
	}
	key := shardKey(a.cfg.Name, shard)
	ctx, cancel := context.WithTimeout(context.Background(), a.cfg.StoreTimeout)
	v, err := commitShard(ctx, a.cfg.Store, key, sh.version, next)
	cancel()
	if errors.Is(err, store.ErrConflict) {
		a.event(ReminderEvent{Kind: EventConflict, Err: err})
		return false
	}
	if err != nil {
		a.shards[shard].loaded = false
		a.event(ReminderEvent{Kind: EventStoreErr, Err: err})
		return true
	}
	a.shards[shard] = shardState{loaded: true, version: v, state: next}
	for i, r := range due {
		if missed[i] > 0 {
			a.event(ReminderEvent{Kind: EventMissed, Reminder: r.Name, Due: fromNanos(r.Due), Count: missed[i]})
		}
		a.send(c, r)
	}
	return true
}

func (a *reminderActor) send(c protoactor.Context, r *temporalpb.Reminder) {
	a.event(ReminderEvent{Kind: EventFired, Reminder: r.Name, Due: fromNanos(r.Due), Count: 1})
	msg, err := r.Intent.UnmarshalNew()
	if err != nil {
		a.event(ReminderEvent{Kind: EventFailed, Reminder: r.Name, Due: fromNanos(r.Due), Err: err})
		return
	}
	a.nextRun++
	a.runs[a.nextRun] = r.Name
	caller := a.cfg.Caller.Propagate(intent.Inherit, intent.Hop{Actor: "temporal/reminders/" + a.cfg.Name + " " + r.Name, At: a.cfg.Clock.Now()})
	startRun(c, &run{id: a.nextRun, target: a.cfg.Target, caller: caller, msg: msg, timeout: a.cfg.RunTimeout, ctx: a.ctx})
}

// arm sets the timer for the earliest reminder still to come, or the next
// poll.
func (a *reminderActor) arm(now time.Time) {
	if a.timer != nil {
		a.timer.Stop()
	}
	a.gen++
	wait := a.cfg.Poll
	for _, sh := range a.shards {
		if !sh.loaded {
			wait = min(wait, retryDelay)
			continue
		}
		for _, r := range sh.state.Reminders {
			wait = min(wait, fromNanos(r.Due).Sub(now))
		}
	}
	if wait <= 0 {
		wait = retryDelay // a due reminder could not be recorded: retry soon, not at once
	}
	gen, system, self := a.gen, a.system, a.self
	a.timer = a.cfg.Clock.AfterFunc(wait, func() { system.Root.Send(self, &reminderTick{gen: gen}) })
}

func (a *reminderActor) event(e ReminderEvent) {
	if a.cfg.Events != nil {
		a.cfg.Events(e)
	}
}
