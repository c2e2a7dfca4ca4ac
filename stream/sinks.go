package stream

import (
	"sync/atomic"
)

// ForEach calls f with every element, on the sink's actor: f must not
// block for long (use MapAsync or ToReactor's Parallelism for slow work).
func ForEach[T any](f func(T), opts ...StageOption) Sink[T] {
	if f == nil {
		return failedSink[T](invalid("ForEach", "nil function"))
	}
	return ForEachErr(func(x T) error { f(x); return nil }, opts...)
}

// ForEachErr calls f with every element; an error goes to the sink's
// decider.
func ForEachErr[T any](f func(T) error, opts ...StageOption) Sink[T] {
	if f == nil {
		return failedSink[T](invalid("ForEachErr", "nil function"))
	}
	return sink("forEach", opts, func(_ *stage, in *inlet[T]) (logic, error) {
		return &sinkLogic[T]{in: in, f: f}, nil
	})
}

// Ignore consumes and discards every element.
func Ignore[T any](opts ...StageOption) Sink[T] {
	return sink("ignore", opts, func(_ *stage, in *inlet[T]) (logic, error) {
		return &sinkLogic[T]{in: in, f: func(T) error { return nil }}, nil
	})
}

type sinkLogic[T any] struct {
	in   *inlet[T]
	f    func(T) error
	done func() // when the sink stops
}

func (l *sinkLogic[T]) pump() error {
	for l.in.available() {
		if err := l.f(l.in.take()); err != nil {
			return err
		}
	}
	return nil
}

func (l *sinkLogic[T]) restart() {}

func (l *sinkLogic[T]) stop() {
	if l.done != nil {
		l.done()
	}
}

// ToChan sends every element to ch, and closes ch when the run ends (it
// completed, failed or was cancelled; Pipeline.Err tells which). A send
// waits for the channel's reader: that is the sink's backpressure. A
// ToChan blueprint runs once, since it closes ch.
func ToChan[T any](ch chan<- T, opts ...StageOption) Sink[T] {
	if ch == nil {
		return failedSink[T](invalid("ToChan", "nil channel"))
	}
	var used atomic.Bool
	return sink("chan", opts, func(s *stage, in *inlet[T]) (logic, error) {
		if used.Swap(true) {
			return nil, invalid("ToChan", "the channel was already used by another run")
		}
		return &sinkLogic[T]{in: in, done: func() { closeChan(ch) }, f: func(x T) error {
			select {
			case ch <- x:
				return nil
			case <-s.ctx.Done():
				return s.ctx.Err()
			}
		}}, nil
	})
}

// closeChan closes ch, which its owner may have closed already.
func closeChan[T any](ch chan<- T) {
	defer func() { _ = recover() }()
	close(ch)
}
