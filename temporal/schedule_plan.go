package temporal

import (
	"hash/fnv"
	"time"

	"github.com/packetflow/packetflow/temporal/temporalpb"
)

// plan is a schedule's deterministic core: given its durable state, the
// time and how many runs are in progress, it decides which slots fire,
// which wait, which are skipped or missed, and when to look again. It does
// no I/O and reads no clock, so every rule is tested without actors.
type plan struct {
	name        string
	cal         Calendar
	start, end  time.Time // end exclusive; zero: unbounded
	window      time.Duration
	jitter      time.Duration
	seed        uint64
	overlap     Overlap
	maxBuffered int
}

// maxScan bounds how many due slots one decision walks; more are counted
// as missed in one step (an Interval counts them exactly).
const maxScan = 100_000

// decision is what a plan decided: the state to commit before anything
// else, and then the slots to fire (in order) and whether to cancel the
// runs in progress.
type decision struct {
	state   *temporalpb.ScheduleState
	fire    []time.Time
	cancel  bool
	changed bool // state differs from the input: commit it
	// counted this decision, for events
	missed, skipped, buffered uint64
}

// fireAt is when slot s fires: s plus its jitter, which depends only on
// the seed, the schedule's name and s, so every member computes the same.
func (p *plan) fireAt(s time.Time) time.Time {
	if p.jitter <= 0 {
		return s
	}
	h := fnv.New64a()
	var b [16]byte
	putUint64(b[:8], p.seed)
	putUint64(b[8:], uint64(s.UnixNano()))
	h.Write(b[:])
	h.Write([]byte(p.name))
	return s.Add(time.Duration(mix64(h.Sum64()) % uint64(p.jitter+1)))
}

func putUint64(b []byte, v uint64) {
	for i := range 8 {
		b[i] = byte(v >> (8 * i))
	}
}

// mix64 is splitmix64's finaliser: it spreads FNV's bits.
func mix64(z uint64) uint64 {
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}

// base is the instant after which slots are still owed.
func (p *plan) base(st *temporalpb.ScheduleState) time.Time {
	b := fromNanos(max(st.Through, st.Created))
	if !p.start.IsZero() && p.start.Add(-time.Nanosecond).After(b) {
		b = p.start.Add(-time.Nanosecond)
	}
	return b
}

func (p *plan) inBounds(s time.Time) bool {
	return !s.IsZero() && (p.end.IsZero() || s.Before(p.end))
}

// next returns the next slot still owed and when it fires; zero when the
// schedule has ended.
func (p *plan) next(st *temporalpb.ScheduleState) (slot, at time.Time) {
	s := p.cal.Next(p.base(st))
	if !p.inBounds(s) {
		return time.Time{}, time.Time{}
	}
	return s, p.fireAt(s)
}

// due walks the slots that have come due by now: how many, and the latest.
func (p *plan) due(st *temporalpb.ScheduleState, now time.Time) (latest time.Time, n uint64) {
	from := p.base(st)
	if iv, ok := p.cal.(Interval); ok && p.jitter == 0 {
		to := now
		if !p.end.IsZero() && !p.end.After(now) {
			to = p.end.Add(-time.Nanosecond)
		}
		if c, ok := iv.count(from, to); ok && c > 0 {
			k, _ := iv.index(to)
			return iv.anchor().Add(time.Duration(k) * iv.Every), uint64(c)
		}
		return time.Time{}, 0
	}
	for s := p.cal.Next(from); p.inBounds(s) && !p.fireAt(s).After(now); s = p.cal.Next(s) {
		latest, n = s, n+1
		if n%maxScan == 0 {
			// Far behind: jump to the catch-up window; what lies
			// between counts as one more scan's worth of misses.
			if skip := now.Add(-p.window - p.jitter); skip.After(s) {
				s = skip
				n += maxScan
			}
		}
	}
	return latest, n
}

// decide handles the slots due by now with running runs in progress.
func (p *plan) decide(st *temporalpb.ScheduleState, now time.Time, running int) decision {
	next := cloneState(st)
	d := decision{state: next}
	// Buffered slots of an earlier owner start first.
	if running == 0 && len(next.Pending) > 0 {
		d.fire = append(d.fire, fromNanos(next.Pending[0]))
		next.Pending = next.Pending[1:]
		next.Fired++
		running++
		d.changed = true
	}
	latest, n := p.due(st, now)
	if n == 0 {
		return d
	}
	d.changed = true
	next.Through = latest.UnixNano()
	if now.Sub(p.fireAt(latest)) > p.window {
		next.Missed += n
		d.missed = n
		return d
	}
	next.Missed += n - 1
	d.missed = n - 1
	switch {
	case running == 0 && len(next.Pending) == 0, p.overlap == OverlapAllowAll:
		d.fire = append(d.fire, latest)
		next.Fired++
	case p.overlap == OverlapCancelOther:
		d.cancel = true
		d.fire = append(d.fire, latest)
		next.Fired++
	case p.overlap == OverlapBufferOne && len(next.Pending) == 0,
		p.overlap == OverlapBufferAll && len(next.Pending) < p.maxBuffered:
		next.Pending = append(next.Pending, latest.UnixNano())
		d.buffered = 1
	default:
		next.Skipped++
		d.skipped = 1
	}
	return d
}

// finished is the decision when runs in progress dropped to running: a
// buffered slot starts once none is left.
func (p *plan) finished(st *temporalpb.ScheduleState, running int) decision {
	next := cloneState(st)
	d := decision{state: next}
	if running == 0 && len(next.Pending) > 0 {
		d.fire = []time.Time{fromNanos(next.Pending[0])}
		next.Pending = next.Pending[1:]
		next.Fired++
		d.changed = true
	}
	return d
}

func cloneState(st *temporalpb.ScheduleState) *temporalpb.ScheduleState {
	c := &temporalpb.ScheduleState{
		Created: st.Created, Through: st.Through, Fired: st.Fired, Missed: st.Missed,
		Skipped: st.Skipped, Calendar: st.Calendar,
	}
	c.Pending = append([]int64(nil), st.Pending...)
	return c
}

// fromNanos is the instant of Unix nanoseconds n, in UTC.
func fromNanos(n int64) time.Time { return time.Unix(0, n).UTC() }
