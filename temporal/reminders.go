package temporal

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"slices"
	"strconv"
	"time"

	protoactor "github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/packetflow/packetflow/intent"
	"github.com/packetflow/packetflow/store"
	"github.com/packetflow/packetflow/temporal/temporalpb"
)

// ReminderConfig configures a member's reminder service. Store, Target
// and Caller are required.
type ReminderConfig struct {
	// Name names the set of reminders in the store: every member of a
	// cluster runs a service of the same name over the same store. Zero:
	// "reminders".
	Name string
	// Store keeps the reminders, sharded; a replicated store keeps them
	// through the loss of members.
	Store store.Store
	// Shards is how many store records the reminders are spread over.
	// Every member must use the same number. Zero: 16.
	Shards int
	// Target sends a due reminder's intent: a *cluster.Node delivers it to
	// whichever member owns the reactor; an *actor.Runtime to this node's.
	Target Requester
	// Caller is on whose behalf reminders are sent: the node's own
	// identity, holding the grants reminders may use.
	Caller *intent.Context
	// Clock is the service's clock. Zero: the real clock.
	Clock Clock
	// Poll is how often the service reloads the shards to learn of
	// reminders other members registered or fired. Zero: 5s.
	Poll time.Duration
	// RunTimeout bounds each reminder's request. Zero: 30s.
	RunTimeout time.Duration
	// StoreTimeout bounds each store operation. Zero: 10s.
	StoreTimeout time.Duration
	// Events, when set, is called with each thing the service does, on its
	// goroutine: it must be fast and must not block.
	Events func(ReminderEvent)
	// Logger receives the service's logs. Zero: slog.Default().
	Logger *slog.Logger
}

// ReminderEvent is something a reminder service did.
type ReminderEvent struct {
	Kind     ScheduleEventKind // EventFired, EventMissed, EventSucceeded, EventFailed, EventConflict, EventStoreErr, EventLoaded
	Reminder string
	Due      time.Time
	Count    uint64
	Err      error
}

// reminderKind is the store kind of reminder shards.
const reminderKind = "temporal.reminders"

// Reminders is a member's reminder service: a Proto.Actor actor that fires
// durable reminders. Every member of a cluster runs one over the same
// store; each occurrence of a reminder is recorded in the store before its
// intent is sent, and the record is conditional, so exactly one member
// sends it, however many are running and whichever die. An occurrence
// whose member dies between the record and the send is not sent again: a
// reminder is sent at most once per occurrence. Methods are safe for
// concurrent use.
type Reminders struct {
	service
	cfg ReminderConfig
}

// StartReminders spawns the reminder service in system.
func StartReminders(system *protoactor.ActorSystem, cfg ReminderConfig) (*Reminders, error) {
	if cfg.Name == "" {
		cfg.Name = "reminders"
	}
	switch {
	case system == nil, cfg.Store == nil, cfg.Target == nil:
		return nil, fmt.Errorf("%w: reminders %q need an actor system, a store and a target", ErrInvalid, cfg.Name)
	case cfg.Shards < 0 || cfg.Shards > 4096 || cfg.Poll < 0 || cfg.RunTimeout < 0 || cfg.StoreTimeout < 0:
		return nil, fmt.Errorf("%w: reminders %q: bad shard count or negative duration", ErrInvalid, cfg.Name)
	case len(cfg.Name) > 200:
		return nil, fmt.Errorf("%w: reminders name longer than 200 bytes", ErrInvalid)
	}
	cfg.Shards = cmpOr(cfg.Shards, 16)
	cfg.Poll = cmpOr(cfg.Poll, 5*time.Second)
	cfg.RunTimeout = cmpOr(cfg.RunTimeout, 30*time.Second)
	cfg.StoreTimeout = cmpOr(cfg.StoreTimeout, 10*time.Second)
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	cfg.Clock = orReal(cfg.Clock)
	done := make(chan struct{})
	a := &reminderActor{cfg: cfg, done: done, shards: make([]shardState, cfg.Shards), runs: map[uint64]string{}}
	svc, err := spawnService(system, a, "temporal/reminders/"+cfg.Name, done)
	if err != nil {
		return nil, fmt.Errorf("%w: reminders %q: %w", ErrInvalid, cfg.Name, err)
	}
	return &Reminders{service: svc, cfg: cfg}, nil
}

func cmpOr[T comparable](v, zero T) T {
	var none T
	if v == none {
		return zero
	}
	return v
}

// Stop stops the service (runs in progress are abandoned) and waits until
// it has stopped or ctx ends. The reminders stay in the store.
func (r *Reminders) Stop(ctx context.Context) error { return r.stop(ctx) }

// Register records the reminder name: msg (a registered intent type) is
// sent at due and then, if period is positive, every period. It replaces a
// reminder of the same name. by names the principal registering it, for
// audit. The reminder is durable once Register returns.
func (r *Reminders) Register(ctx context.Context, name string, due time.Time, period time.Duration, msg proto.Message, by string) error {
	switch {
	case name == "" || len(name) > 256:
		return fmt.Errorf("%w: reminder name must be 1 to 256 bytes", ErrInvalid)
	case period != 0 && period < MinInterval:
		return fmt.Errorf("%w: reminder %q: period must be 0 or at least %v", ErrInvalid, name, MinInterval)
	case msg == nil || !msg.ProtoReflect().IsValid():
		return fmt.Errorf("%w: reminder %q: no intent", ErrInvalid, name)
	}
	payload, err := anypb.New(msg)
	if err != nil {
		return fmt.Errorf("%w: reminder %q: %w", ErrInvalid, name, err)
	}
	rem := &temporalpb.Reminder{Name: name, Due: due.UnixNano(), Period: int64(period), Intent: payload, RegisteredBy: by}
	return r.update(ctx, name, func(list []*temporalpb.Reminder) []*temporalpb.Reminder {
		i, found := slices.BinarySearchFunc(list, name, func(x *temporalpb.Reminder, n string) int { return cmpString(x.Name, n) })
		if found {
			list[i] = rem
			return list
		}
		return slices.Insert(list, i, rem)
	})
}

// Cancel removes the reminder name. No occurrence is sent after Cancel
// returns, unless it was recorded before.
func (r *Reminders) Cancel(ctx context.Context, name string) error {
	return r.update(ctx, name, func(list []*temporalpb.Reminder) []*temporalpb.Reminder {
		return slices.DeleteFunc(list, func(x *temporalpb.Reminder) bool { return x.Name == name })
	})
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// update applies change to name's shard with a conditional commit,
// retrying on conflicts, then tells the local service to reload.
func (r *Reminders) update(ctx context.Context, name string, change func([]*temporalpb.Reminder) []*temporalpb.Reminder) error {
	shard := shardOf(name, r.cfg.Shards)
	key := shardKey(r.cfg.Name, shard)
	for attempt := 0; ; attempt++ {
		rec, err := r.cfg.Store.Load(ctx, key)
		if err != nil {
			return err
		}
		st, err := decodeShard(key, rec)
		if err != nil {
			return err
		}
		st.Reminders = change(st.Reminders)
		if _, err = commitShard(ctx, r.cfg.Store, key, rec.Version, st); err == nil {
			// Let the local service learn of it at once (others poll).
			reloaded := make(chan struct{})
			r.system.Root.Send(r.pid, &reloadShard{shard: shard, done: reloaded})
			select {
			case <-reloaded:
			case <-r.done:
			case <-ctx.Done():
			}
			return nil
		}
		if !errors.Is(err, store.ErrConflict) || attempt == 10 {
			return err
		}
	}
}

type reloadShard struct {
	shard int
	done  chan struct{} // closed once the service has reloaded and re-armed
}

func shardOf(name string, shards int) int {
	h := fnv.New32a()
	h.Write([]byte(name))
	return int(h.Sum32() % uint32(shards))
}

func shardKey(service string, shard int) store.Key {
	return store.Key{Kind: reminderKind, Identity: service + "/" + strconv.Itoa(shard)}
}

var reminderShardType = string((&temporalpb.ReminderShard{}).ProtoReflect().Descriptor().FullName())

func decodeShard(key store.Key, rec store.Record) (*temporalpb.ReminderShard, error) {
	st := &temporalpb.ReminderShard{}
	if rec.Version == 0 {
		return st, nil
	}
	if rec.Type != reminderShardType {
		return nil, fmt.Errorf("%w: %s is stored as a %s, not a %s", store.ErrCorrupt, key, rec.Type, reminderShardType)
	}
	if err := proto.Unmarshal(rec.Data, st); err != nil {
		return nil, fmt.Errorf("%w: %s version %d: %v", store.ErrCorrupt, key, rec.Version, err)
	}
	return st, nil
}

func commitShard(ctx context.Context, s store.Store, key store.Key, expected uint64, st *temporalpb.ReminderShard) (uint64, error) {
	data, err := proto.MarshalOptions{Deterministic: true}.Marshal(st)
	if err != nil {
		return 0, err
	}
	return s.Commit(ctx, key, expected, store.Record{Type: reminderShardType, Schema: 1, Data: data})
}
