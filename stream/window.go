package stream

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// WindowSpec says how a keyed stream is cut into windows: by time
// (tumbling, sliding, session) or by count (tumbling, sliding). Time
// windows are half-open, [start, end), aligned to the Unix epoch with floor
// arithmetic, so a timestamp on a boundary belongs to the window that
// starts there and negative timestamps (before 1970) land where they
// should. Build one with Tumbling, Sliding, Session, TumblingCount or
// SlidingCount.
type WindowSpec struct {
	kind         windowKind
	size, slide  int64 // nanoseconds; slide == size for tumbling
	count, every int
	err          error
}

type windowKind uint8

const (
	noWindow windowKind = iota
	tumblingTime
	slidingTime
	sessionTime
	tumblingCount
	slidingCount
)

// Tumbling windows of size: every element is in exactly one,
// [k·size, (k+1)·size).
func Tumbling(size time.Duration) WindowSpec {
	if size <= 0 {
		return WindowSpec{err: invalid("Tumbling", "size %v is not positive", size)}
	}
	return WindowSpec{kind: tumblingTime, size: int64(size), slide: int64(size)}
}

// Sliding windows of size starting every slide: an element is in
// ceil(size/slide) windows. A slide longer than size leaves gaps; an
// element in a gap is in no window and is counted as dropped.
func Sliding(size, slide time.Duration) WindowSpec {
	if size <= 0 || slide <= 0 {
		return WindowSpec{err: invalid("Sliding", "size %v and slide %v must be positive", size, slide)}
	}
	return WindowSpec{kind: slidingTime, size: int64(size), slide: int64(slide)}
}

// Session windows of one key close after gap without elements: an element
// at t opens [t, t+gap), and windows of a key that overlap merge — also
// when a late element bridges two sessions. An element exactly gap after
// the previous one starts a new session (bounds are half-open).
func Session(gap time.Duration) WindowSpec {
	if gap <= 0 {
		return WindowSpec{err: invalid("Session", "gap %v is not positive", gap)}
	}
	return WindowSpec{kind: sessionTime, size: int64(gap)}
}

// TumblingCount windows of n elements per key. What is left when the
// upstream completes fires as a shorter window.
func TumblingCount(n int) WindowSpec {
	if n <= 0 {
		return WindowSpec{err: invalid("TumblingCount", "size %d is not positive", n)}
	}
	return WindowSpec{kind: tumblingCount, count: n, every: n}
}

// SlidingCount windows: every `every` elements of a key, the last n of
// them (fewer at the start). Elements since the last firing fire when the
// upstream completes.
func SlidingCount(n, every int) WindowSpec {
	if n <= 0 || every <= 0 {
		return WindowSpec{err: invalid("SlidingCount", "size %d and every %d must be positive", n, every)}
	}
	return WindowSpec{kind: slidingCount, count: n, every: every}
}

func (w WindowSpec) validate() error {
	if w.err != nil {
		return w.err
	}
	if w.kind == noWindow {
		return invalid("Window", "zero WindowSpec")
	}
	return nil
}

func (w WindowSpec) byCount() bool { return w.kind == tumblingCount || w.kind == slidingCount }

func (w WindowSpec) String() string {
	switch w.kind {
	case tumblingTime:
		return fmt.Sprintf("tumbling(%v)", time.Duration(w.size))
	case slidingTime:
		return fmt.Sprintf("sliding(%v every %v)", time.Duration(w.size), time.Duration(w.slide))
	case sessionTime:
		return fmt.Sprintf("session(gap %v)", time.Duration(w.size))
	case tumblingCount:
		return fmt.Sprintf("tumbling(%d elements)", w.count)
	case slidingCount:
		return fmt.Sprintf("sliding(%d elements every %d)", w.count, w.every)
	}
	return "no window"
}

// span is a time window [start, end) in Unix nanoseconds.
type span struct{ start, end int64 }

func (s span) overlaps(o span) bool { return s.start < o.end && o.start < s.end }

// errTimeRange rejects a timestamp whose windows would overflow int64
// nanoseconds (years outside about 1678–2262).
var errTimeRange = errors.New("stream: timestamp out of range for windowing")

// floorDiv is a/b rounded towards negative infinity (b > 0).
func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && a < 0 {
		q--
	}
	return q
}

// assign returns the time windows that contain ts, by ascending start.
func (w WindowSpec) assign(ts int64) ([]span, error) {
	reach := max(w.size, w.slide)
	if ts > math.MaxInt64-2*reach || ts < math.MinInt64+2*reach {
		return nil, errTimeRange
	}
	switch w.kind {
	case sessionTime:
		return []span{{ts, ts + w.size}}, nil
	case tumblingTime:
		start := floorDiv(ts, w.size) * w.size
		return []span{{start, start + w.size}}, nil
	}
	last := floorDiv(ts, w.slide) * w.slide
	var spans []span
	for start := last; start > ts-w.size; start -= w.slide {
		spans = append(spans, span{start, start + w.size})
	}
	for i, j := 0, len(spans)-1; i < j; i, j = i+1, j-1 {
		spans[i], spans[j] = spans[j], spans[i]
	}
	return spans, nil
}

// unixNanos converts t, rejecting times int64 nanoseconds cannot hold.
func unixNanos(t time.Time) (int64, error) {
	if t.Before(minTime) || t.After(maxTime) {
		return 0, fmt.Errorf("%w: %v", errTimeRange, t)
	}
	return t.UnixNano(), nil
}

var (
	minTime = time.Unix(0, math.MinInt64)
	maxTime = time.Unix(0, math.MaxInt64)
)
