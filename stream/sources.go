package stream

import (
	"context"
	"sync/atomic"
	"time"
)

// FromSlice emits the elements of items in order, then completes. The
// slice is read, never written; it must not change while a run reads it.
func FromSlice[T any](items []T, opts ...StageOption) Source[T] {
	return source("slice", opts, func(_ *stage, out *outlet[T]) (logic, error) {
		i := 0
		return &pullLogic[T]{out: out, exhausted: func() bool { return i == len(items) }, next: func() (T, bool) {
			if i == len(items) {
				var zero T
				return zero, false
			}
			i++
			return items[i-1], true
		}}, nil
	})
}

// Generate emits what next returns, as fast as demand allows, until it
// returns false. next runs on the stage's actor; its state lives in its
// closure, so a Generate blueprint carries one sequence: running it twice
// continues the sequence rather than restarting it.
func Generate[T any](next func() (T, bool), opts ...StageOption) Source[T] {
	if next == nil {
		return failedSource[T](invalid("Generate", "nil function"))
	}
	return source("generate", opts, func(_ *stage, out *outlet[T]) (logic, error) {
		return &pullLogic[T]{out: out, next: next}, nil
	})
}

// pullLogic is a source that computes its elements on demand. It keeps
// its position across a Restart. A source that can tell it has no more
// elements (exhausted) completes without waiting for demand; a generator
// finds its end only when asked for an element.
type pullLogic[T any] struct {
	out       *outlet[T]
	next      func() (T, bool)
	exhausted func() bool // nil: unknown until next says so
	done      bool
}

func (l *pullLogic[T]) pump() error {
	if !l.done && l.exhausted != nil && l.exhausted() {
		l.done = true
		l.out.complete()
	}
	for !l.done && l.out.room() {
		x, ok := l.next()
		if !ok {
			l.done = true
			l.out.complete()
			break
		}
		l.out.emit(x)
	}
	return nil
}

func (l *pullLogic[T]) restart() {}

// FromChan emits what arrives on ch until it is closed. A goroutine owned
// by the stage reads ch, and only as many elements as the downstream
// requested: an unread channel is the backpressure its writers feel.
func FromChan[T any](ch <-chan T, opts ...StageOption) Source[T] {
	if ch == nil {
		return failedSource[T](invalid("FromChan", "nil channel"))
	}
	return source("chan", opts, func(s *stage, out *outlet[T]) (logic, error) {
		return &chanLogic[T]{s: s, out: out, ch: ch, wake: make(chan struct{}, 1)}, nil
	})
}

type chanLogic[T any] struct {
	s   *stage
	out *outlet[T]
	ch  <-chan T

	credit atomic.Int64  // elements the reader may read, not yet taken by it
	wake   chan struct{} // tells the reader credit arrived

	granted int64 // credit given and not yet returned as elements
	queue   []T   // elements read and not yet emitted
	closed  bool
}

// chanChunk is what the reader read.
type chanChunk[T any] struct {
	items  []T
	closed bool
}

func (*chanChunk[T]) IgnoreDeadLetterLogging() {}

func (l *chanLogic[T]) start() error {
	l.s.goWork(l.read)
	return nil
}

func (l *chanLogic[T]) pump() error {
	for len(l.queue) > 0 && l.out.room() {
		l.out.emit(l.queue[0])
		l.queue = l.queue[1:]
	}
	if l.closed {
		if len(l.queue) == 0 {
			l.out.complete()
		}
		return nil
	}
	if want := l.out.space() - int64(len(l.queue)) - l.granted; want > 0 {
		l.granted += want
		l.credit.Add(want)
		select {
		case l.wake <- struct{}{}:
		default:
		}
	}
	return nil
}

func (l *chanLogic[T]) receive(msg any) error {
	if c, ok := msg.(*chanChunk[T]); ok {
		l.granted -= int64(len(c.items))
		l.queue = append(l.queue, c.items...)
		l.closed = l.closed || c.closed
	}
	return nil
}

func (l *chanLogic[T]) restart() {}

// read runs on the stage's goroutine: it reads what it has credit for and
// sends it to the stage in chunks.
func (l *chanLogic[T]) read(ctx context.Context) {
	for {
		n := l.credit.Swap(0)
		if n == 0 {
			select {
			case <-l.wake:
				continue
			case <-ctx.Done():
				return
			}
		}
		for n > 0 {
			buf := make([]T, 0, min(n, int64(l.s.batch)))
			select {
			case x, ok := <-l.ch:
				if !ok {
					l.s.tell(&chanChunk[T]{closed: true})
					return
				}
				buf = append(buf, x)
			case <-ctx.Done():
				return
			}
		more:
			for len(buf) < cap(buf) {
				select {
				case x, ok := <-l.ch:
					if !ok {
						l.s.tell(&chanChunk[T]{items: buf, closed: true})
						return
					}
					buf = append(buf, x)
				default:
					break more
				}
			}
			l.s.tell(&chanChunk[T]{items: buf})
			n -= int64(len(buf))
		}
	}
}

// Ticker emits the clock's time every interval, forever (until the
// pipeline is cancelled or its downstream cancels). Ticks do not queue up
// behind a slow consumer: a tick that finds no demand is held until demand
// comes, and a further tick while one is held is dropped (counted in
// StageStats.Dropped), as are periods the clock skipped over.
func Ticker(interval time.Duration, opts ...StageOption) Source[time.Time] {
	if interval <= 0 {
		return failedSource[time.Time](invalid("Ticker", "interval %v is not positive", interval))
	}
	return source("ticker", opts, func(s *stage, out *outlet[time.Time]) (logic, error) {
		return &tickLogic{s: s, out: out, interval: interval, repeat: true}, nil
	})
}

// After emits the clock's time once, d after the pipeline starts (or as
// soon after as there is demand), then completes.
func After(d time.Duration, opts ...StageOption) Source[time.Time] {
	if d < 0 {
		return failedSource[time.Time](invalid("After", "negative duration %v", d))
	}
	return source("after", opts, func(s *stage, out *outlet[time.Time]) (logic, error) {
		return &tickLogic{s: s, out: out, interval: d}, nil
	})
}

type tickLogic struct {
	s        *stage
	out      *outlet[time.Time]
	interval time.Duration
	repeat   bool
	next     time.Time
	timer    Timer
	held     *time.Time // a tick waiting for demand
	done     bool       // After has fired
}

type tickMsg struct{ at time.Time }

func (*tickMsg) IgnoreDeadLetterLogging() {}

func (l *tickLogic) start() error {
	l.next = l.s.clock.Now().Add(l.interval)
	l.arm()
	return nil
}

func (l *tickLogic) arm() {
	at := l.next
	l.timer = l.s.clock.AfterFunc(at.Sub(l.s.clock.Now()), func() { l.s.tell(&tickMsg{at: at}) })
}

func (l *tickLogic) receive(msg any) error {
	t, ok := msg.(*tickMsg)
	if !ok {
		return nil
	}
	if l.held == nil {
		l.held = &t.at
	} else {
		l.s.stats.dropped.Add(1)
	}
	if !l.repeat {
		return nil
	}
	now := l.s.clock.Now()
	for l.next = l.next.Add(l.interval); !l.next.After(now); l.next = l.next.Add(l.interval) {
		l.s.stats.dropped.Add(1) // periods the clock skipped over
	}
	l.arm()
	return nil
}

func (l *tickLogic) pump() error {
	if l.held != nil && !l.done && l.out.room() {
		l.out.emit(*l.held)
		l.held = nil
		if !l.repeat {
			l.done = true
			l.out.complete()
		}
	}
	return nil
}

func (l *tickLogic) restart() {}

func (l *tickLogic) stop() {
	if l.timer != nil {
		l.timer.Stop()
	}
}
