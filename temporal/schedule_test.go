package temporal_test

import (
	"testing"
	"time"

	protoactor "github.com/asynkron/protoactor-go/actor"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"

	"github.com/packetflow/packetflow/actor"
	"github.com/packetflow/packetflow/capability"
	"github.com/packetflow/packetflow/examples/counter/counterpb"
	"github.com/packetflow/packetflow/store"
	"github.com/packetflow/packetflow/temporal"
)

// t0 is a Monday, 10:00:00 UTC.
var t0 = time.Date(2025, 6, 2, 10, 0, 0, 0, time.UTC)

func increment(name string) func(time.Time) proto.Message {
	return func(slot time.Time) proto.Message {
		return &counterpb.Increment{Counter: name, UserId: slot.UTC().Format(time.RFC3339)}
	}
}

func slotOf(m proto.Message) string { return m.(*counterpb.Increment).UserId }

func every10s(t testing.TB) temporal.Calendar {
	c, err := temporal.ParseCalendar("*/10 * * * * *", "Europe/London")
	require.NoError(t, err)
	return c
}

func TestScheduleSendsIntentsOnItsCalendar(t *testing.T) {
	clock := temporal.NewFakeClock(t0)
	rt, basic := newCounterRuntime(t, actor.Config{})
	ev := newEvents()
	s, err := temporal.StartSchedule(rt.System(), temporal.ScheduleConfig{
		Name: "tens", Calendar: every10s(t), Intent: increment("tens"), Target: rt, Caller: basic,
		Store: store.NewMemory(), Clock: clock, Events: ev.record, Logger: testLogger(t),
	})
	require.NoError(t, err)
	defer stopSchedule(t, s)
	ev.wait(t, temporal.EventLoaded)
	for i := 1; i <= 3; i++ {
		armed(t, clock, 1)
		clock.Advance(10 * time.Second)
		fired := ev.wait(t, temporal.EventFired)
		require.True(t, fired.Slot.Equal(t0.Add(time.Duration(i)*10*time.Second)), "slot %s", fired.Slot)
		ev.wait(t, temporal.EventSucceeded)
	}
	require.Equal(t, int64(3), count(t, rt, basic, "tens"))
	st := status(t, s)
	require.Equal(t, uint64(3), st.Fired)
	require.Equal(t, uint64(3), st.Succeeded)
	require.True(t, st.Next.Equal(t0.Add(40*time.Second)))
}

// The intent goes through the target's capability check like any other.
func TestScheduleIntentsAreCapabilityChecked(t *testing.T) {
	clock := temporal.NewFakeClock(t0)
	rt, basic := newCounterRuntime(t, actor.Config{})
	nobody, err := rt.NewContext("nobody")
	require.NoError(t, err)
	ev := newEvents()
	s, err := temporal.StartSchedule(rt.System(), temporal.ScheduleConfig{
		Name: "denied", Calendar: every10s(t), Intent: increment("denied"), Target: rt, Caller: nobody,
		Store: store.NewMemory(), Clock: clock, Events: ev.record, Logger: testLogger(t),
	})
	require.NoError(t, err)
	defer stopSchedule(t, s)
	ev.wait(t, temporal.EventLoaded)
	armed(t, clock, 1)
	clock.Advance(10 * time.Second)
	failed := ev.wait(t, temporal.EventFailed)
	require.ErrorIs(t, failed.Err, capability.ErrPermissionDenied)
	require.Contains(t, failed.Err.Error(), "user:basic")
	require.Zero(t, count(t, rt, basic, "denied"))
	require.Equal(t, uint64(1), rt.Stats().Denied)
}

// A schedule restarted with the same store never fires a recorded slot
// again; two members running one schedule fire each slot once; when the
// member that fires dies, the other takes over without repeating a slot.
func TestScheduleFiresEachSlotOnceAcrossMembers(t *testing.T) {
	clock := temporal.NewFakeClock(t0)
	shared := store.NewMemory()
	rtA, basicA := newCounterRuntime(t, actor.Config{Name: "a"})
	rtB, basicB := newCounterRuntime(t, actor.Config{Name: "b"})
	evA, evB := newEvents(), newEvents()
	cfg := func(rt *actor.Runtime, ev *events) temporal.ScheduleConfig {
		// Allow-all: fake time outpaces the runs, and this test is about
		// slots, not overlaps.
		c := temporal.ScheduleConfig{Name: "once", Calendar: every10s(t), Intent: increment("once"), Target: rt,
			Store: shared, Clock: clock, Events: ev.record, Overlap: temporal.OverlapAllowAll, Logger: testLogger(t)}
		c.Caller = basicA
		if rt == rtB {
			c.Caller = basicB
		}
		return c
	}
	a, err := temporal.StartSchedule(rtA.System(), cfg(rtA, evA))
	require.NoError(t, err)
	evA.wait(t, temporal.EventLoaded)
	armed(t, clock, 1)
	clock.Advance(10 * time.Second) // slot 1, on A
	evA.wait(t, temporal.EventSucceeded)

	// A restarts: slot 1 is recorded and does not fire again.
	stopSchedule(t, a)
	a, err = temporal.StartSchedule(rtA.System(), cfg(rtA, evA))
	require.NoError(t, err)
	evA.wait(t, temporal.EventLoaded)
	// B joins: both members run the schedule and race for each slot.
	b, err := temporal.StartSchedule(rtB.System(), cfg(rtB, evB))
	require.NoError(t, err)
	evB.wait(t, temporal.EventLoaded)
	for range 5 { // slots 2 to 6
		armed(t, clock, 2)
		clock.Advance(10 * time.Second)
		armed(t, clock, 2) // both have decided and re-armed
	}
	// A dies; B alone fires slots 7 to 9.
	stopSchedule(t, a)
	for range 3 {
		armed(t, clock, 1)
		clock.Advance(10 * time.Second)
		armed(t, clock, 1)
	}
	defer stopSchedule(t, b)

	fired := map[string]int{}
	for _, e := range []*events{evA, evB} {
	drain:
		for {
			select {
			case ev := <-e.ch:
				if ev.Kind == temporal.EventFired {
					fired[ev.Slot.UTC().Format(time.RFC3339)]++
				}
			default:
				break drain
			}
		}
	}
	fired[t0.Add(10*time.Second).Format(time.RFC3339)]++ // slot 1, consumed above
	require.Len(t, fired, 9)
	for i := 1; i <= 9; i++ {
		require.Equal(t, 1, fired[t0.Add(time.Duration(i)*10*time.Second).Format(time.RFC3339)], "slot %d", i)
	}
	require.Equal(t, uint64(9), status(t, b).Fired)
}

// A member that does not own the schedule leaves its slots to the owner,
// and takes over when ownership moves to it.
func TestScheduleFiresOnlyOnItsOwner(t *testing.T) {
	clock := temporal.NewFakeClock(t0)
	rt, basic := newCounterRuntime(t, actor.Config{})
	gt := newGate()
	ev := newEvents()
	owner := make(chan bool, 1)
	owner <- false
	owns := func() bool { v := <-owner; owner <- v; return v }
	s, err := temporal.StartSchedule(rt.System(), temporal.ScheduleConfig{
		Name: "owned", Calendar: every10s(t), Intent: increment("owned"), Target: gt, Caller: basic,
		Store: store.NewMemory(), Clock: clock, Events: ev.record, Owns: owns, Logger: testLogger(t),
	})
	require.NoError(t, err)
	defer stopSchedule(t, s)
	// Not the owner: the schedule looks again every second, fires nothing.
	for clock.Now().Before(t0.Add(40 * time.Second)) {
		step(t, clock)
	}
	armed(t, clock, 1)
	ev.none(t, temporal.EventFired)
	<-owner
	owner <- true
	fired, seen := stepUntil(t, clock, ev, temporal.EventFired, 1)
	require.True(t, fired.Slot.Equal(t0.Add(41*time.Second).Truncate(10*time.Second)), "slot %s", fired.Slot)
	require.Equal(t, temporal.EventMissed, seen[0].Kind)
	require.Equal(t, uint64(3), seen[0].Count, "the slots no owner fired were missed; the latest is within the catch-up window")
	gt.release <- struct{}{}
	ev.wait(t, temporal.EventSucceeded)
}

// A step of the wall clock back does not fire a recorded slot again; a
// step forward does not stall the schedule: it fires once and counts the
// slots beyond the catch-up window as missed.
func TestScheduleClockSteps(t *testing.T) {
	for _, cal := range []string{"*/10 * * * * *", "@every 10s"} {
		t.Run(cal, func(t *testing.T) {
			clock := temporal.NewFakeClock(t0)
			rt, basic := newCounterRuntime(t, actor.Config{})
			c, err := temporal.ParseCalendar(cal, "America/New_York")
			require.NoError(t, err)
			ev := newEvents()
			s, err := temporal.StartSchedule(rt.System(), temporal.ScheduleConfig{
				Name: "steps", Calendar: c, Intent: increment("steps"), Target: rt, Caller: basic,
				Store: store.NewMemory(), Clock: clock, Events: ev.record, Logger: testLogger(t),
			})
			require.NoError(t, err)
			defer stopSchedule(t, s)
			ev.wait(t, temporal.EventLoaded)
			armed(t, clock, 1)
			clock.Advance(10 * time.Second)
			ev.wait(t, temporal.EventSucceeded) // slot 10:00:10

			// Back one hour: an hour of wall time passes without a firing,
			// since every slot in it is at or before the recorded one.
			clock.Set(clock.Now().Add(-time.Hour))
			fired, _ := stepUntil(t, clock, ev, temporal.EventFired, 100)
			require.True(t, fired.Slot.Equal(t0.Add(20*time.Second)), "slot %s", fired.Slot)
			require.False(t, clock.Now().Before(fired.Slot))
			ev.wait(t, temporal.EventSucceeded)
			require.Equal(t, int64(2), count(t, rt, basic, "steps"))

			// Forward one hour: the next tick fires the latest slot once
			// and counts the 360 before it as missed.
			armed(t, clock, 1)
			clock.Set(clock.Now().Add(time.Hour))
			d, _ := clock.Next()
			clock.Advance(d)
			require.Equal(t, uint64(360), ev.wait(t, temporal.EventMissed).Count, "10:00:30 to 11:00:20")
			fired = ev.wait(t, temporal.EventFired)
			require.True(t, fired.Slot.Equal(t0.Add(time.Hour+30*time.Second)), "slot %s", fired.Slot)
			ev.wait(t, temporal.EventSucceeded)
			armed(t, clock, 1)
			clock.Advance(10 * time.Second)
			fired = ev.wait(t, temporal.EventFired)
			require.True(t, fired.Slot.Equal(t0.Add(time.Hour+40*time.Second)), "slot %s", fired.Slot)
			ev.wait(t, temporal.EventSucceeded)
			require.Equal(t, int64(4), count(t, rt, basic, "steps"))
			st := status(t, s)
			require.Equal(t, uint64(4), st.Fired)
			require.Equal(t, uint64(360), st.Missed)
		})
	}
}

func TestScheduleOverlapPolicies(t *testing.T) {
	slot := func(i int) string { return t0.Add(time.Duration(i) * 10 * time.Second).Format(time.RFC3339) }
	start := func(t *testing.T, o temporal.Overlap) (*temporal.FakeClock, *gate, *events, func()) {
		clock := temporal.NewFakeClock(t0)
		system := protoactor.NewActorSystem()
		gt, ev := newGate(), newEvents()
		s, err := temporal.StartSchedule(system, temporal.ScheduleConfig{
			Name: "overlap", Calendar: every10s(t), Intent: increment("o"), Target: gt, Store: store.NewMemory(),
			Clock: clock, Events: ev.record, Overlap: o, Logger: testLogger(t),
		})
		require.NoError(t, err)
		ev.wait(t, temporal.EventLoaded)
		tick := func() { armed(t, clock, 1); clock.Advance(10 * time.Second) }
		tick()
		require.Equal(t, slot(1), slotOf(gt.call(t)))
		return clock, gt, ev, func() { stopSchedule(t, s); system.Shutdown() }
	}
	tick := func(t *testing.T, clock *temporal.FakeClock) { armed(t, clock, 1); clock.Advance(10 * time.Second) }

	t.Run("skip", func(t *testing.T) {
		clock, gt, ev, stop := start(t, temporal.OverlapSkip)
		defer stop()
		tick(t, clock)
		require.True(t, ev.wait(t, temporal.EventSkipped).Slot.Equal(t0.Add(20*time.Second)))
		gt.release <- struct{}{}
		ev.wait(t, temporal.EventSucceeded)
		tick(t, clock)
		require.Equal(t, slot(3), slotOf(gt.call(t)))
		gt.release <- struct{}{}
	})
	t.Run("buffer-one", func(t *testing.T) {
		clock, gt, ev, stop := start(t, temporal.OverlapBufferOne)
		defer stop()
		tick(t, clock)
		ev.wait(t, temporal.EventBuffered)
		tick(t, clock)
		require.True(t, ev.wait(t, temporal.EventSkipped).Slot.Equal(t0.Add(30*time.Second)))
		gt.release <- struct{}{}
		require.Equal(t, slot(2), slotOf(gt.call(t)), "the buffered slot runs when the first finishes")
		gt.release <- struct{}{}
		ev.wait(t, temporal.EventSucceeded)
		ev.wait(t, temporal.EventSucceeded)
	})
	t.Run("buffer-all", func(t *testing.T) {
		clock, gt, ev, stop := start(t, temporal.OverlapBufferAll)
		defer stop()
		tick(t, clock)
		tick(t, clock)
		ev.wait(t, temporal.EventBuffered)
		ev.wait(t, temporal.EventBuffered)
		gt.release <- struct{}{}
		require.Equal(t, slot(2), slotOf(gt.call(t)))
		gt.release <- struct{}{}
		require.Equal(t, slot(3), slotOf(gt.call(t)))
		gt.release <- struct{}{}
		for range 3 {
			ev.wait(t, temporal.EventSucceeded)
		}
	})
	t.Run("cancel-other", func(t *testing.T) {
		clock, gt, ev, stop := start(t, temporal.OverlapCancelOther)
		defer stop()
		tick(t, clock)
		require.Equal(t, slot(2), slotOf(gt.call(t)))
		cancelled := ev.wait(t, temporal.EventCancelled)
		require.True(t, cancelled.Slot.Equal(t0.Add(10*time.Second)))
		gt.release <- struct{}{}
		ev.wait(t, temporal.EventSucceeded)
	})
	t.Run("allow-all", func(t *testing.T) {
		clock, gt, ev, stop := start(t, temporal.OverlapAllowAll)
		defer stop()
		tick(t, clock)
		require.Equal(t, slot(2), slotOf(gt.call(t)), "runs beside the first")
		gt.release <- struct{}{}
		gt.release <- struct{}{}
		ev.wait(t, temporal.EventSucceeded)
		ev.wait(t, temporal.EventSucceeded)
	})
}

// Stopping a schedule abandons its runs in progress and waits for them.
func TestScheduleStopCancelsRuns(t *testing.T) {
	clock := temporal.NewFakeClock(t0)
	system := protoactor.NewActorSystem()
	defer system.Shutdown()
	gt, ev := newGate(), newEvents()
	s, err := temporal.StartSchedule(system, temporal.ScheduleConfig{
		Name: "stop", Calendar: every10s(t), Intent: increment("o"), Target: gt, Store: store.NewMemory(),
		Clock: clock, Events: ev.record, Logger: testLogger(t),
	})
	require.NoError(t, err)
	ev.wait(t, temporal.EventLoaded)
	armed(t, clock, 1)
	clock.Advance(10 * time.Second)
	gt.call(t)
	stopSchedule(t, s)
	<-s.Done()
	_, err = s.Status(t.Context())
	require.ErrorIs(t, err, temporal.ErrStopped)
	require.Zero(t, clock.Pending(), "the timer is stopped")
}

func TestScheduleConfigErrors(t *testing.T) {
	system := protoactor.NewActorSystem()
	defer system.Shutdown()
	ok := temporal.ScheduleConfig{Name: "x", Calendar: temporal.Interval{Every: time.Second}, Intent: increment("x"),
		Target: newGate(), Store: store.NewMemory()}
	for name, mutate := range map[string]func(*temporal.ScheduleConfig){
		"no name":          func(c *temporal.ScheduleConfig) { c.Name = "" },
		"no calendar":      func(c *temporal.ScheduleConfig) { c.Calendar = nil },
		"no intent":        func(c *temporal.ScheduleConfig) { c.Intent = nil },
		"no target":        func(c *temporal.ScheduleConfig) { c.Target = nil },
		"no store":         func(c *temporal.ScheduleConfig) { c.Store = nil },
		"negative jitter":  func(c *temporal.ScheduleConfig) { c.Jitter = -1 },
		"unknown overlap":  func(c *temporal.ScheduleConfig) { c.Overlap = 99 },
		"end before start": func(c *temporal.ScheduleConfig) { c.Start, c.End = t0, t0.Add(-time.Hour) },
		"tiny interval":    func(c *temporal.ScheduleConfig) { c.Calendar = temporal.Interval{Every: time.Microsecond} },
	} {
		cfg := ok
		mutate(&cfg)
		_, err := temporal.StartSchedule(system, cfg)
		require.ErrorIs(t, err, temporal.ErrInvalid, name)
	}
	_, err := temporal.StartSchedule(nil, ok)
	require.ErrorIs(t, err, temporal.ErrInvalid)
}

// A store that fails makes the schedule retry, never fire unrecorded; a
// panicking intent function fails the run, never the schedule.
func TestScheduleSurvivesStoreFailuresAndBadIntents(t *testing.T) {
	clock := temporal.NewFakeClock(t0)
	system := protoactor.NewActorSystem()
	defer system.Shutdown()
	st := &flakyStore{Store: store.NewMemory()}
	st.fail.Store(true)
	gt, ev := newGate(), newEvents()
	calls := 0
	s, err := temporal.StartSchedule(system, temporal.ScheduleConfig{
		Name: "flaky", Calendar: every10s(t), Target: gt, Store: st, Clock: clock, Events: ev.record, Logger: testLogger(t),
		Intent: func(slot time.Time) proto.Message {
			calls++
			if calls == 1 {
				panic("boom")
			}
			return increment("f")(slot)
		},
	})
	require.NoError(t, err)
	defer stopSchedule(t, s)
	require.ErrorIs(t, ev.wait(t, temporal.EventStoreErr).Err, store.ErrUnavailable)
	armed(t, clock, 1)
	st.fail.Store(false)
	clock.Advance(time.Second) // the retry
	ev.wait(t, temporal.EventLoaded)
	armed(t, clock, 1)
	clock.Advance(10 * time.Second)
	failed := ev.wait(t, temporal.EventFailed)
	require.Contains(t, failed.Err.Error(), "panicked")
	armed(t, clock, 1)
	st.fail.Store(true)
	clock.Advance(10 * time.Second)
	ev.wait(t, temporal.EventStoreErr)
	ev.none(t, temporal.EventFired)
	st.fail.Store(false)
	armed(t, clock, 1)
	clock.Advance(time.Second)
	require.Equal(t, slotOf(gt.call(t)), t0.Add(20*time.Second).Format(time.RFC3339))
	gt.release <- struct{}{}
	ev.wait(t, temporal.EventSucceeded)
}
