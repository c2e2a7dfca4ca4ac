package temporal

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/packetflow/packetflow/temporal/temporalpb"
)

var t0 = time.Date(2025, 6, 2, 10, 0, 0, 0, time.UTC) // a Monday

func every(d time.Duration) Calendar { return Interval{Every: d} }

func mustCron(t *testing.T, expr, zone string) Calendar {
	t.Helper()
	c, err := ParseCalendar(expr, zone)
	require.NoError(t, err)
	return c
}

func stateAt(through time.Time) *temporalpb.ScheduleState {
	return &temporalpb.ScheduleState{Created: through.Add(-time.Hour).UnixNano(), Through: through.UnixNano()}
}

func TestPlanFiresEachSlotOnce(t *testing.T) {
	p := &plan{cal: mustCron(t, "0 * * * *", ""), window: time.Minute}
	st := stateAt(t0)
	d := p.decide(st, t0.Add(59*time.Minute), 0)
	require.False(t, d.changed)
	slot, at := p.next(st)
	require.Equal(t, t0.Add(time.Hour), slot)
	require.Equal(t, slot, at)

	d = p.decide(st, t0.Add(time.Hour+time.Second), 0)
	require.Equal(t, []time.Time{t0.Add(time.Hour)}, d.fire)
	require.Equal(t, uint64(1), d.state.Fired)
	require.Equal(t, t0.Add(time.Hour).UnixNano(), d.state.Through)
	require.Equal(t, t0.UnixNano(), st.Through, "decide does not modify its input")

	// The wall clock steps back an hour: the recorded slot does not fire
	// again, and the next owed slot is the one after it.
	st = d.state
	d = p.decide(st, t0.Add(time.Second), 0)
	require.False(t, d.changed)
	slot, _ = p.next(st)
	require.Equal(t, t0.Add(2*time.Hour), slot)
}

func TestPlanClockStepForwardFiresOnceAndCountsMisses(t *testing.T) {
	p := &plan{cal: every(10 * time.Second), window: time.Minute}
	st := stateAt(t0)
	d := p.decide(st, t0.Add(time.Hour+3*time.Second), 0)
	require.Equal(t, []time.Time{t0.Add(time.Hour)}, d.fire)
	require.Equal(t, uint64(359), d.state.Missed)
	require.Equal(t, uint64(1), d.state.Fired)
	slot, _ := p.next(d.state)
	require.Equal(t, t0.Add(time.Hour+10*time.Second), slot)

	// The same through a cron calendar, which walks its slots.
	p.cal = mustCron(t, "*/10 * * * * *", "Europe/London")
	d = p.decide(st, t0.Add(time.Hour+3*time.Second), 0)
	require.Len(t, d.fire, 1)
	require.True(t, d.fire[0].Equal(t0.Add(time.Hour)))
	require.Equal(t, uint64(359), d.state.Missed)
}

func TestPlanCatchupWindow(t *testing.T) {
	p := &plan{cal: mustCron(t, "0 2 * * *", "America/New_York"), window: 6 * time.Hour}
	st := stateAt(time.Date(2025, 6, 1, 2, 0, 0, 0, mustZone(t, "America/New_York")))
	// Down for two days; back four hours after the latest slot: it runs,
	// the one before is missed.
	now := time.Date(2025, 6, 3, 6, 0, 0, 0, mustZone(t, "America/New_York"))
	d := p.decide(st, now, 0)
	require.Len(t, d.fire, 1)
	require.Equal(t, "2025-06-03T02:00:00-04:00", d.fire[0].In(mustZone(t, "America/New_York")).Format(time.RFC3339))
	require.Equal(t, uint64(1), d.state.Missed)
	// Back eight hours after it: beyond the window, nothing runs.
	d = p.decide(st, now.Add(4*time.Hour), 0)
	require.Empty(t, d.fire)
	require.Equal(t, uint64(2), d.state.Missed)
	require.True(t, d.changed)
}

func mustZone(t *testing.T, name string) *time.Location {
	loc, err := LoadZone(name)
	require.NoError(t, err)
	return loc
}

func TestPlanOverlapPolicies(t *testing.T) {
	due := t0.Add(10 * time.Second)
	now := due.Add(time.Second)
	for _, tc := range []struct {
		overlap        Overlap
		pending        int // already buffered
		fire, cancel   bool
		skipped, bufed uint64
	}{
		{OverlapSkip, 0, false, false, 1, 0},
		{OverlapBufferOne, 0, false, false, 0, 1},
		{OverlapBufferOne, 1, false, false, 1, 0},
		{OverlapBufferAll, 2, false, false, 0, 1},
		{OverlapBufferAll, 3, false, false, 1, 0}, // at MaxBuffered
		{OverlapCancelOther, 0, true, true, 0, 0},
		{OverlapAllowAll, 0, true, false, 0, 0},
	} {
		p := &plan{cal: every(10 * time.Second), window: time.Minute, overlap: tc.overlap, maxBuffered: 3}
		st := stateAt(t0)
		for i := range tc.pending {
			st.Pending = append(st.Pending, t0.Add(-time.Duration(i+1)*time.Second).UnixNano())
		}
		d := p.decide(st, now, 1)
		require.Equal(t, tc.fire, len(d.fire) == 1, "%v", tc.overlap)
		require.Equal(t, tc.cancel, d.cancel, "%v", tc.overlap)
		require.Equal(t, tc.skipped, d.state.Skipped, "%v", tc.overlap)
		require.Equal(t, tc.pending+int(tc.bufed), len(d.state.Pending), "%v", tc.overlap)
		require.Equal(t, due.UnixNano(), d.state.Through, "%v", tc.overlap)
	}
	// Nothing running: every policy fires.
	p := &plan{cal: every(10 * time.Second), window: time.Minute, overlap: OverlapSkip}
	require.Len(t, p.decide(stateAt(t0), now, 0).fire, 1)
}

func TestPlanBufferedSlotsRunInOrder(t *testing.T) {
	p := &plan{cal: every(10 * time.Second), window: time.Minute, overlap: OverlapBufferAll, maxBuffered: 10}
	st := stateAt(t0)
	st.Pending = []int64{t0.Add(-20 * time.Second).UnixNano(), t0.Add(-10 * time.Second).UnixNano()}
	d := p.finished(st, 1)
	require.False(t, d.changed, "a run is still in progress")
	d = p.finished(st, 0)
	require.Equal(t, []time.Time{t0.Add(-20 * time.Second)}, d.fire)
	require.Len(t, d.state.Pending, 1)
	// A takeover with buffered slots starts the oldest first, then buffers
	// what is due.
	d = p.decide(st, t0.Add(11*time.Second), 0)
	require.Equal(t, []time.Time{t0.Add(-20 * time.Second)}, d.fire)
	require.Equal(t, []int64{t0.Add(-10 * time.Second).UnixNano(), t0.Add(10 * time.Second).UnixNano()}, d.state.Pending)
}

func TestPlanBounds(t *testing.T) {
	start, end := t0.Add(time.Hour), t0.Add(3*time.Hour)
	p := &plan{cal: mustCron(t, "0 * * * *", ""), window: time.Minute, start: start, end: end}
	st := &temporalpb.ScheduleState{Created: t0.UnixNano()}
	slot, _ := p.next(st)
	require.Equal(t, start, slot, "start is inclusive")
	d := p.decide(st, start.Add(time.Second), 0)
	require.Equal(t, []time.Time{start}, d.fire)
	d = p.decide(d.state, start.Add(time.Hour+time.Second), 0)
	require.Equal(t, []time.Time{start.Add(time.Hour)}, d.fire)
	slot, _ = p.next(d.state)
	require.True(t, slot.IsZero(), "end is exclusive")
	d = p.decide(d.state, end.Add(time.Hour), 0)
	require.False(t, d.changed)
}

func TestPlanNewScheduleOwesNothingBeforeItsCreation(t *testing.T) {
	p := &plan{cal: every(time.Minute), window: time.Hour}
	st := &temporalpb.ScheduleState{Created: t0.Add(30 * time.Second).UnixNano()}
	d := p.decide(st, t0.Add(59*time.Second), 0)
	require.False(t, d.changed)
	slot, _ := p.next(st)
	require.Equal(t, t0.Add(time.Minute), slot)
}

func TestPlanJitterIsSeededAndBounded(t *testing.T) {
	p := &plan{name: "report", cal: every(time.Minute), jitter: 10 * time.Second, seed: 7}
	q := &plan{name: "report", cal: every(time.Minute), jitter: 10 * time.Second, seed: 8}
	differs := false
	for i := range 100 {
		s := t0.Add(time.Duration(i) * time.Minute)
		at := p.fireAt(s)
		require.False(t, at.Before(s))
		require.LessOrEqual(t, at.Sub(s), 10*time.Second)
		require.Equal(t, at, (&plan{name: "report", jitter: 10 * time.Second, seed: 7}).fireAt(s), "same seed, same jitter on every member")
		differs = differs || q.fireAt(s) != at
	}
	require.True(t, differs)
	// A jittered slot is not due before its jittered instant.
	st := stateAt(t0)
	at := p.fireAt(t0.Add(time.Minute))
	require.False(t, p.decide(st, at.Add(-time.Nanosecond), 0).changed)
	require.Len(t, p.decide(st, at, 0).fire, 1)
}
