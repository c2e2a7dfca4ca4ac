package temporal_test

import (
	"context"
	"maps"
	"testing"
	"time"

	protoactor "github.com/asynkron/protoactor-go/actor"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"

	"github.com/packetflow/packetflow/actor"
	"github.com/packetflow/packetflow/capability"
	"github.com/packetflow/packetflow/examples/counter/counterpb"
	"github.com/packetflow/packetflow/intent"
	"github.com/packetflow/packetflow/store"
	"github.com/packetflow/packetflow/temporal"
)

// recorder is a Requester that answers at once and reports what it got.
type recorder struct {
	calls chan string // Increment.user_id of each request
}

func newRecorder() *recorder { return &recorder{calls: make(chan string, 10_000)} }

func (r *recorder) Request(_ context.Context, _ *intent.Context, msg proto.Message) (proto.Message, error) {
	r.calls <- msg.(*counterpb.Increment).UserId
	return nil, nil
}

// member is one process's reminder service.
type member struct {
	system *protoactor.ActorSystem
	rem    *temporal.Reminders
	ev     chan temporal.ReminderEvent
}

func startMember(t *testing.T, st store.Store, clock *temporal.FakeClock, target temporal.Requester, caller *intent.Context) *member {
	t.Helper()
	m := &member{system: protoactor.NewActorSystem(), ev: make(chan temporal.ReminderEvent, 10_000)}
	var err error
	m.rem, err = temporal.StartReminders(m.system, temporal.ReminderConfig{
		Store: st, Shards: 4, Target: target, Caller: caller, Clock: clock, Poll: time.Minute,
		Events: func(e temporal.ReminderEvent) { m.ev <- e }, Logger: testLogger(t),
	})
	require.NoError(t, err)
	waitEvent(t, m.ev, temporal.EventLoaded)
	return m
}

func (m *member) stop(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, m.rem.Stop(ctx))
	m.system.Shutdown()
}

// settle steps the clock to each next timer until the wall clock reaches
// until, waiting each time until every member has re-armed.
func settle(t *testing.T, clock *temporal.FakeClock, members int, until time.Time) {
	t.Helper()
	for clock.Now().Before(until) {
		armed(t, clock, members)
		d, _ := clock.Next()
		clock.Advance(min(d, until.Sub(clock.Now())))
	}
	armed(t, clock, members)
}

// Reminders fire once per occurrence however many members run the service,
// and survive the loss of the member that registered them.
func TestRemindersFireOncePerOccurrenceAcrossMembers(t *testing.T) {
	clock := temporal.NewFakeClock(t0)
	shared := store.NewMemory()
	rec := newRecorder()
	a := startMember(t, shared, clock, rec, nil)
	b := startMember(t, shared, clock, rec, nil)
	ctx := context.Background()
	require.NoError(t, a.rem.Register(ctx, "once", t0.Add(10*time.Second), 0, &counterpb.Increment{Counter: "c", UserId: "once"}, "alice"))
	require.NoError(t, a.rem.Register(ctx, "tick", t0.Add(10*time.Second), 10*time.Second, &counterpb.Increment{Counter: "c", UserId: "tick"}, "alice"))
	got := map[string]int{}
	settle(t, clock, 2, t0.Add(35*time.Second))
	waitCounts(t, rec, got, map[string]int{"once": 1, "tick": 3})

	a.stop(t) // the member that registered them dies
	// B finds the reminders at its next poll (t0+60s): the occurrences of
	// t0+40s and t0+50s were not sent by anyone and count as missed; the
	// one of t0+60s is sent, once.
	settle(t, clock, 1, t0.Add(65*time.Second))
	waitCounts(t, rec, got, map[string]int{"once": 1, "tick": 4})
	require.Equal(t, uint64(2), waitEvent(t, b.ev, temporal.EventMissed).Count)

	// A fresh process starts over the same store: it finds the reminders
	// at once and sends the next occurrence.
	c := startMember(t, shared, clock, rec, nil)
	b.stop(t)
	settle(t, clock, 1, t0.Add(75*time.Second))
	waitCounts(t, rec, got, map[string]int{"once": 1, "tick": 5})
	require.NoError(t, c.rem.Cancel(ctx, "tick"))
	settle(t, clock, 1, t0.Add(105*time.Second))
	waitCounts(t, rec, got, map[string]int{"once": 1, "tick": 5})
	c.stop(t)
}

// waitCounts waits until rec has received want (per user_id, in total,
// since got was last reset) and fails if it receives more or too little.
func waitCounts(t *testing.T, rec *recorder, got, want map[string]int) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for !maps.Equal(got, want) {
		select {
		case id := <-rec.calls:
			got[id]++
			require.LessOrEqual(t, got[id], want[id], "%s sent more often than expected", id)
		case <-deadline:
			require.Equal(t, want, got)
		}
	}
	select {
	case id := <-rec.calls:
		t.Fatalf("unexpected extra request %s", id)
	default:
	}
}

// A periodic reminder whose occurrences passed while no member ran fires
// once and counts the rest as missed.
func TestRemindersCountMissedOccurrences(t *testing.T) {
	clock := temporal.NewFakeClock(t0)
	rec := newRecorder()
	st := store.NewMemory()
	m := startMember(t, st, clock, rec, nil)
	defer m.stop(t)
	require.NoError(t, m.rem.Register(context.Background(), "tick", t0.Add(10*time.Second), 10*time.Second, &counterpb.Increment{Counter: "c", UserId: "tick"}, "alice"))
	armed(t, clock, 1)
	clock.Set(t0.Add(time.Hour + 5*time.Second))
	step(t, clock) // the timer set for t0+10s fires, at t0+1h+15s by the wall clock
	require.Equal(t, uint64(360), waitEvent(t, m.ev, temporal.EventMissed).Count, "t0+10s to t0+1h+10s, but for the one sent")
	waitCounts(t, rec, map[string]int{}, map[string]int{"tick": 1})
	armed(t, clock, 1)
	d, _ := clock.Next()
	require.Equal(t, 5*time.Second, d, "the next occurrence is on the period's grid: t0+1h+20s")
}

// A reminder's intent passes the capability check on behalf of the
// service's caller.
func TestRemindersAreCapabilityChecked(t *testing.T) {
	clock := temporal.NewFakeClock(t0)
	rt, basic := newCounterRuntime(t, actor.Config{})
	nobody, err := rt.NewContext("nobody")
	require.NoError(t, err)
	st := store.NewMemory()
	good := startMember(t, st, clock, rt, basic)
	require.NoError(t, good.rem.Register(context.Background(), "r", t0.Add(time.Second), 0, &counterpb.Increment{Counter: "rem"}, "alice"))
	settle(t, clock, 1, t0.Add(2*time.Second))
	waitEvent(t, good.ev, temporal.EventSucceeded)
	require.Equal(t, int64(1), count(t, rt, basic, "rem"))
	good.stop(t)

	bad := startMember(t, st, clock, rt, nobody)
	defer bad.stop(t)
	require.NoError(t, bad.rem.Register(context.Background(), "r", t0.Add(3*time.Second), 0, &counterpb.Increment{Counter: "rem"}, "alice"))
	settle(t, clock, 1, t0.Add(4*time.Second))
	require.ErrorIs(t, waitEvent(t, bad.ev, temporal.EventFailed).Err, capability.ErrPermissionDenied)
	require.Equal(t, int64(1), count(t, rt, basic, "rem"))
}

func waitEvent(t *testing.T, ch chan temporal.ReminderEvent, kind temporal.ScheduleEventKind) temporal.ReminderEvent {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case e := <-ch:
			if e.Kind == kind {
				return e
			}
		case <-deadline:
			t.Fatalf("no %s event within 10s", kind)
		}
	}
}

func TestRemindersRejectBadInput(t *testing.T) {
	system := protoactor.NewActorSystem()
	defer system.Shutdown()
	_, err := temporal.StartReminders(system, temporal.ReminderConfig{})
	require.ErrorIs(t, err, temporal.ErrInvalid)
	_, err = temporal.StartReminders(system, temporal.ReminderConfig{Store: store.NewMemory(), Target: newRecorder(), Shards: -1})
	require.ErrorIs(t, err, temporal.ErrInvalid)
	clock := temporal.NewFakeClock(t0)
	m := startMember(t, store.NewMemory(), clock, newRecorder(), nil)
	defer m.stop(t)
	ctx := context.Background()
	require.ErrorIs(t, m.rem.Register(ctx, "", t0, 0, &counterpb.Increment{}, ""), temporal.ErrInvalid)
	require.ErrorIs(t, m.rem.Register(ctx, "x", t0, time.Nanosecond, &counterpb.Increment{}, ""), temporal.ErrInvalid)
	require.ErrorIs(t, m.rem.Register(ctx, "x", t0, 0, nil, ""), temporal.ErrInvalid)
}
