package stream

import (
	"math"
	"time"
)

// Bounds are a time window's half-open bounds, [Start, End).
type Bounds struct{ Start, End time.Time }

// WindowResult is what a window fired: the reduction of one key's
// elements in one window.
type WindowResult[K comparable, R any] struct {
	Key K
	// Window is the time window; zero for count windows.
	Window Bounds
	Value  R
	// Count is how many elements the window held.
	Count int
	// Late marks a firing caused by a late element within the allowed
	// lateness: it replaces the window's earlier result.
	Late bool
}

// WindowOptions are the time domain of time windows. The zero value means
// processing time: an element's timestamp is the clock's time when it
// reaches the window stage, and windows fire as the clock passes their
// end.
type WindowOptions[K comparable, T any] struct {
	// EventTime, when set, is each element's own timestamp; windows then
	// fire on watermarks: the watermark is the largest timestamp seen minus
	// MaxOutOfOrder, and a window fires once the watermark reaches its end.
	EventTime func(T) time.Time
	// MaxOutOfOrder bounds how far behind the newest element others may
	// arrive and still be on time (event time only).
	MaxOutOfOrder time.Duration
	// AllowedLateness keeps a fired window this long after its end; a late
	// element in that time fires it again (WindowResult.Late). Event time
	// only.
	AllowedLateness time.Duration
	// Late, when set, receives the elements too late for every window
	// (the side output). Without it they are counted in
	// StageStats.Dropped.
	Late Sink[Keyed[K, T]]
}

// Window cuts a keyed stream into windows per spec and emits, for each
// window of each key that fires, reduce(key, bounds, elements) — the
// elements in arrival order. Keys never mix. When the upstream completes,
// every open window fires. Window state lives in the stage: a Restart
// drops it.
func Window[K comparable, T, R any](spec WindowSpec, opts WindowOptions[K, T], reduce func(key K, w Bounds, items []T) R, stageOpts ...StageOption) Flow[Keyed[K, T], WindowResult[K, R]] {
	if err := spec.validate(); err != nil {
		return failedFlow[Keyed[K, T], WindowResult[K, R]](err)
	}
	if reduce == nil {
		return failedFlow[Keyed[K, T], WindowResult[K, R]](invalid("Window", "nil reduce function"))
	}
	if opts.MaxOutOfOrder < 0 || opts.AllowedLateness < 0 {
		return failedFlow[Keyed[K, T], WindowResult[K, R]](invalid("Window", "negative MaxOutOfOrder or AllowedLateness"))
	}
	return Flow[Keyed[K, T], WindowResult[K, R]]{build: func(m *materializer, from port) (port, error) {
		s, err := m.add("window", stageOpts, func(s *stage) (logic, error) {
			l := &windowLogic[K, T, R]{s: s, opts: opts, reduce: reduce, spec: spec, maxTs: math.MinInt64}
			l.in = newInlet[Keyed[K, T]](s)
			l.out = newOutlet[WindowResult[K, R]](s)
			if opts.Late.build != nil {
				l.late = newOutlet[Keyed[K, T]](s)
			}
			l.restart()
			return l, nil
		})
		if err != nil {
			return port{}, err
		}
		m.connect(from, s, 0)
		if opts.Late.build != nil {
			if err := opts.Late.build(m, port{stage: s, index: 1}); err != nil {
				return port{}, err
			}
		}
		return port{stage: s}, nil
	}}
}

type windowLogic[K comparable, T, R any] struct {
	s      *stage
	in     *inlet[Keyed[K, T]]
	out    *outlet[WindowResult[K, R]]
	late   *outlet[Keyed[K, T]] // nil without a side output
	opts   WindowOptions[K, T]
	spec   WindowSpec
	reduce func(K, Bounds, []T) R
	w      *windower[K, T]
	maxTs  int64

	timer   Timer
	timerAt int64 // the window end the timer is armed for
}

type windowTick struct{}

func (*windowTick) IgnoreDeadLetterLogging() {}

func (l *windowLogic[K, T, R]) eventTime() bool { return l.opts.EventTime != nil && !l.spec.byCount() }

func (l *windowLogic[K, T, R]) pump() error {
	if !l.eventTime() && !l.spec.byCount() {
		l.emit(l.w.advance(l.s.clock.Now().UnixNano()))
	}
	for l.out.room() && (l.late == nil || l.late.room()) && l.in.available() {
		if err := l.add(l.in.take()); err != nil {
			return err
		}
	}
	if l.in.completed() {
		l.emit(l.w.flush())
		l.out.complete()
		if l.late != nil {
			l.late.complete()
		}
		return nil
	}
	l.armTimer()
	return nil
}

func (l *windowLogic[K, T, R]) add(kv Keyed[K, T]) error {
	var ts int64
	var err error
	switch {
	case l.eventTime():
		ts, err = unixNanos(l.opts.EventTime(kv.Value))
	case !l.spec.byCount():
		ts = l.s.clock.Now().UnixNano()
	}
	if err != nil {
		return err
	}
	fired, late, err := l.w.add(kv.Key, ts, kv.Value)
	if err != nil {
		return err
	}
	l.emit(fired)
	if late {
		if l.late != nil {
			l.late.emit(kv)
		} else {
			l.s.stats.dropped.Add(1)
		}
	}
	if l.eventTime() && ts > l.maxTs {
		l.maxTs = ts
		wm := ts - int64(l.opts.MaxOutOfOrder)
		if wm > ts { // wrapped
			wm = math.MinInt64 + 1
		}
		l.emit(l.w.advance(wm))
	}
	return nil
}

func (l *windowLogic[K, T, R]) emit(fired []firing[K, T]) {
	for _, f := range fired {
		var b Bounds
		if !l.spec.byCount() {
			b = Bounds{Start: time.Unix(0, f.span.start).UTC(), End: time.Unix(0, f.span.end).UTC()}
		}
		l.out.emit(WindowResult[K, R]{Key: f.key, Window: b, Value: l.reduce(f.key, b, f.items), Count: len(f.items), Late: f.late})
	}
}

// armTimer keeps a processing-time timer armed for the earliest open
// window's end.
func (l *windowLogic[K, T, R]) armTimer() {
	if l.eventTime() || l.spec.byCount() {
		return
	}
	end, ok := l.w.nextEnd()
	if !ok || (l.timer != nil && l.timerAt == end) {
		return
	}
	l.stop()
	l.timerAt = end
	wait := time.Duration(end - l.s.clock.Now().UnixNano())
	l.timer = l.s.clock.AfterFunc(max(wait, 0), func() { l.s.tell(&windowTick{}) })
}

func (l *windowLogic[K, T, R]) receive(msg any) error {
	if _, ok := msg.(*windowTick); ok {
		l.timer = nil
	}
	return nil
}

func (l *windowLogic[K, T, R]) restart() {
	lateness := int64(0)
	if l.eventTime() {
		lateness = int64(l.opts.AllowedLateness)
	}
	l.w = newWindower[K, T](l.spec, lateness)
	l.maxTs = math.MinInt64
}

func (l *windowLogic[K, T, R]) stop() {
	if l.timer != nil {
		l.timer.Stop()
		l.timer = nil
	}
}
