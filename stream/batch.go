package stream

import "time"

// Batch groups elements into slices of n, emitting a shorter slice when
// within (if positive) has passed since the first element of the slice,
// and what is left when the upstream completes.
func Batch[T any](n int, within time.Duration, opts ...StageOption) Flow[T, []T] {
	if n <= 0 {
		return failedFlow[T, []T](invalid("Batch", "size %d is not positive", n))
	}
	if within < 0 {
		return failedFlow[T, []T](invalid("Batch", "negative time bound %v", within))
	}
	return flow("batch", opts, func(s *stage, in *inlet[T], out *outlet[[]T]) (logic, error) {
		return &batchLogic[T]{s: s, in: in, out: out, n: n, within: within}, nil
	})
}

type batchLogic[T any] struct {
	s      *stage
	in     *inlet[T]
	out    *outlet[[]T]
	n      int
	within time.Duration
	cur    []T
	timer  Timer
	gen    uint64 // the batch a timer is for
	due    bool   // the time bound passed: emit cur as soon as there is room
}

type batchDue struct{ gen uint64 }

func (*batchDue) IgnoreDeadLetterLogging() {}

func (l *batchLogic[T]) pump() error {
	if l.due && len(l.cur) > 0 && l.out.room() {
		l.emit()
	}
	for l.out.room() && l.in.available() {
		if len(l.cur) == 0 && l.within > 0 {
			gen := l.gen
			l.timer = l.s.clock.AfterFunc(l.within, func() { l.s.tell(&batchDue{gen: gen}) })
		}
		l.cur = append(l.cur, l.in.take())
		if len(l.cur) == l.n {
			l.emit()
		}
	}
	if l.in.completed() {
		if len(l.cur) > 0 {
			l.emit()
		}
		l.out.complete()
	}
	return nil
}

func (l *batchLogic[T]) emit() {
	l.out.emit(l.cur)
	l.cur, l.due = nil, false
	l.gen++
	if l.timer != nil {
		l.timer.Stop()
		l.timer = nil
	}
}

func (l *batchLogic[T]) receive(msg any) error {
	if d, ok := msg.(*batchDue); ok && d.gen == l.gen {
		l.due = true
	}
	return nil
}

func (l *batchLogic[T]) restart() {
	l.cur, l.due = nil, false
	l.gen++
	l.stop()
}

func (l *batchLogic[T]) stop() {
	if l.timer != nil {
		l.timer.Stop()
		l.timer = nil
	}
}
