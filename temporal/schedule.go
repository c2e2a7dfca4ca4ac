package temporal

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	protoactor "github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/proto"

	"github.com/packetflow/packetflow/intent"
	"github.com/packetflow/packetflow/store"
)

// ScheduleConfig configures a schedule. Name, Calendar, Intent, Target,
// Caller and Store are required; every other field's zero value works.
type ScheduleConfig struct {
	// Name identifies the schedule in the store, the cluster and logs; one
	// schedule per name. At most store.MaxIdentityLen bytes.
	Name string
	// Calendar says when slots come due: a *Cron or an Interval (see
	// ParseCalendar).
	Calendar Calendar
	// Start and End bound the slots: a slot before Start or at or after
	// End never fires. Zero: unbounded.
	Start, End time.Time
	// Jitter delays each slot's firing by up to Jitter, by an amount
	// derived from JitterSeed, Name and the slot, so every member computes
	// the same delay. Zero: no jitter.
	Jitter     time.Duration
	JitterSeed uint64
	// Overlap is what happens to a slot that comes due while a run is in
	// progress. Zero: OverlapSkip.
	Overlap Overlap
	// MaxBuffered bounds the slots OverlapBufferAll keeps. Zero: 100.
	MaxBuffered int
	// CatchupWindow is how late a slot may still fire. When slots came due
	// while the schedule could not fire them (no member ran it, the clock
	// stepped forward), only the latest fires, and only if it is at most
	// CatchupWindow late; the others are counted as missed. Zero: one
	// minute.
	CatchupWindow time.Duration
	// Intent builds the intent of a slot. It runs on the schedule's
	// goroutine and must not block.
	Intent func(slot time.Time) proto.Message
	// Target sends the intents: an *actor.Runtime, or a *cluster.Node to
	// reach the target reactor wherever it is placed.
	Target Requester
	// Caller is on whose behalf the intents are sent: its grants decide,
	// in the target's mailbox, whether they are handled. Each run
	// propagates it (a fresh request id, this schedule in the trace).
	Caller *intent.Context
	// Store keeps the schedule's durable state. A slot is recorded there
	// before its intent is sent, so however many members run the schedule
	// and however often it restarts, a recorded slot never fires twice.
	Store store.Store
	// Owns reports whether this member should fire the schedule now, for
	// example whether it owns the schedule's name in the cluster's
	// placement. A member that does not own it keeps its timer and leaves
	// the slots to the owner. Zero: always.
	Owns func() bool
	// Clock is the schedule's clock. Zero: the real clock.
	Clock Clock
	// RunTimeout bounds each run's request. Zero: 30s.
	RunTimeout time.Duration
	// StoreTimeout bounds each load from and commit to Store. Zero: 10s.
	StoreTimeout time.Duration
	// Recheck is the longest the schedule waits without reading the wall
	// clock again, so that a step of the clock is noticed. Zero: one
	// minute.
	Recheck time.Duration
	// Events, when set, is called with each thing the schedule does, on
	// its goroutine: it must be fast and must not block.
	Events func(ScheduleEvent)
	// Logger receives the schedule's logs. Zero: slog.Default().
	Logger *slog.Logger
}

// scheduleKind is the store kind of every schedule's state.
const scheduleKind = "temporal.schedule"

func (cfg *ScheduleConfig) validate() error {
	var problem string
	switch {
	case cfg.Name == "" || len(cfg.Name) > store.MaxIdentityLen:
		problem = fmt.Sprintf("name must be 1 to %d bytes", store.MaxIdentityLen)
	case cfg.Calendar == nil:
		problem = "no calendar"
	case cfg.Intent == nil:
		problem = "no intent function"
	case cfg.Target == nil:
		problem = "no target"
	case cfg.Store == nil:
		problem = "no store"
	case cfg.Jitter < 0 || cfg.MaxBuffered < 0 || cfg.CatchupWindow < 0 || cfg.RunTimeout < 0 || cfg.StoreTimeout < 0 || cfg.Recheck < 0:
		problem = "negative duration or bound"
	case cfg.Overlap > OverlapAllowAll:
		problem = fmt.Sprintf("unknown overlap policy %v", cfg.Overlap)
	case !cfg.Start.IsZero() && !cfg.End.IsZero() && !cfg.End.After(cfg.Start):
		problem = "end is not after start"
	}
	if iv, ok := cfg.Calendar.(Interval); ok && iv.Every < MinInterval {
		problem = fmt.Sprintf("interval must be at least %v", MinInterval)
	}
	if problem != "" {
		return fmt.Errorf("%w: schedule %q: %s", ErrInvalid, cfg.Name, problem)
	}
	if cfg.MaxBuffered == 0 {
		cfg.MaxBuffered = 100
	}
	if cfg.CatchupWindow == 0 {
		cfg.CatchupWindow = time.Minute
	}
	if cfg.RunTimeout == 0 {
		cfg.RunTimeout = 30 * time.Second
	}
	if cfg.StoreTimeout == 0 {
		cfg.StoreTimeout = 10 * time.Second
	}
	if cfg.Recheck == 0 {
		cfg.Recheck = time.Minute
	}
	if cfg.Owns == nil {
		cfg.Owns = func() bool { return true }
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	cfg.Clock = orReal(cfg.Clock)
	return nil
}

// Schedule is a running schedule: a Proto.Actor actor that sends an intent
// to a target on a calendar. Its methods are safe for concurrent use.
type Schedule struct{ service }

// StartSchedule spawns the schedule described by cfg in system (for
// example (*actor.Runtime).System()). It returns at once; the schedule
// loads its state and arms its timer on its own goroutine.
func StartSchedule(system *protoactor.ActorSystem, cfg ScheduleConfig) (*Schedule, error) {
	if system == nil {
		return nil, fmt.Errorf("%w: schedule %q: no actor system", ErrInvalid, cfg.Name)
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	done := make(chan struct{})
	svc, err := spawnService(system, newScheduleActor(cfg, done), "temporal/schedule/"+cfg.Name, done)
	if err != nil {
		return nil, fmt.Errorf("%w: schedule %q: %w", ErrInvalid, cfg.Name, err)
	}
	return &Schedule{svc}, nil
}

// Stop stops the schedule: runs in progress are abandoned (their requests
// cancelled) and Stop waits until they and the schedule have stopped, or
// ctx ends. The durable state stays in the store: a schedule started again
// with the same name resumes from it.
func (s *Schedule) Stop(ctx context.Context) error { return s.stop(ctx) }

// Done is closed once the schedule has stopped.
func (s *Schedule) Done() <-chan struct{} { return s.done }

// ScheduleStatus is a schedule's state as it knows it.
type ScheduleStatus struct {
	Name string
	// Through: every slot at or before it has been decided.
	Through time.Time
	// Next is the next slot still owed and NextFire when it fires (with
	// jitter); zero when the schedule has ended.
	Next, NextFire time.Time
	// Fired, Missed and Skipped count slots (durable, over the schedule's
	// whole life); Buffered is how many wait for the runs in progress.
	Fired, Missed, Skipped uint64
	Buffered               int
	// Running runs; Succeeded, Failed and Cancelled count runs that ended
	// since this member started the schedule.
	Running                      int
	Succeeded, Failed, Cancelled uint64
	// LastError is the last failed run's or store operation's error.
	LastError error
	// Loaded reports whether the durable state has been loaded.
	Loaded bool
}

// Status asks the schedule for its status.
func (s *Schedule) Status(ctx context.Context) (ScheduleStatus, error) {
	reply := make(chan ScheduleStatus, 1)
	s.system.Root.Send(s.pid, &statusQuery{reply: reply})
	select {
	case st := <-reply:
		return st, nil
	case <-s.done:
		return ScheduleStatus{}, ErrStopped
	case <-ctx.Done():
		return ScheduleStatus{}, ctx.Err()
	}
}

type statusQuery struct{ reply chan ScheduleStatus }

// ScheduleEvent is something a schedule did.
type ScheduleEvent struct {
	Schedule string
	Kind     ScheduleEventKind
	// Slot is the slot concerned (for missed and skipped, the latest).
	Slot time.Time
	// Count is how many slots the event concerns (missed may be many).
	Count uint64
	// Err is a failed run's or store operation's error.
	Err error
}

// ScheduleEventKind names what happened.
type ScheduleEventKind string

// What a ScheduleEvent reports.
const (
	EventLoaded    ScheduleEventKind = "loaded"    // durable state loaded
	EventFired     ScheduleEventKind = "fired"     // a slot was recorded and its intent sent
	EventMissed    ScheduleEventKind = "missed"    // Count slots will never fire
	EventSkipped   ScheduleEventKind = "skipped"   // a slot came due during a run
	EventBuffered  ScheduleEventKind = "buffered"  // a slot waits for the runs in progress
	EventSucceeded ScheduleEventKind = "succeeded" // a run's intent was answered ok
	EventFailed    ScheduleEventKind = "failed"    // a run's intent failed (Err)
	EventCancelled ScheduleEventKind = "cancelled" // a run was abandoned (cancel-other)
	EventConflict  ScheduleEventKind = "conflict"  // another member recorded first; state reloaded
	EventStoreErr  ScheduleEventKind = "store"     // the store failed (Err); retried later
	EventEnded     ScheduleEventKind = "ended"     // no slot is left before End
)

// errRunCancelled is a cancelled run's error.
var errRunCancelled = errors.New("temporal: run cancelled by a newer slot (overlap cancel-other)")
