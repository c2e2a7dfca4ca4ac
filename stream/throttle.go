package stream

import (
	"math"
	"time"
)

// Throttle passes at most elements per period, with bursts of up to
// elements after a quiet spell (a token bucket); faster upstreams are
// slowed down by backpressure, nothing is dropped.
func Throttle[T any](elements int, per time.Duration, opts ...StageOption) Flow[T, T] {
	if elements <= 0 {
		return failedFlow[T, T](invalid("Throttle", "elements %d is not positive", elements))
	}
	if per <= 0 {
		return failedFlow[T, T](invalid("Throttle", "period %v is not positive", per))
	}
	if int64(per) > math.MaxInt64/int64(elements) {
		return failedFlow[T, T](invalid("Throttle", "%d elements per %v is out of range", elements, per))
	}
	return flow("throttle", opts, func(s *stage, in *inlet[T], out *outlet[T]) (logic, error) {
		burst := int64(per) * int64(elements)
		return &throttleLogic[T]{s: s, in: in, out: out, n: int64(elements), per: int64(per), burst: burst, credit: burst}, nil
	})
}

// throttleLogic counts credit in element-nanoseconds: time passing adds
// elapsed×n, each element costs per, and credit never exceeds per×n.
type throttleLogic[T any] struct {
	s            *stage
	in           *inlet[T]
	out          *outlet[T]
	n, per       int64
	burst        int64
	credit       int64
	last         time.Time
	timer        Timer
	armed, start bool
}

type throttleTick struct{}

func (*throttleTick) IgnoreDeadLetterLogging() {}

func (l *throttleLogic[T]) pump() error {
	now := l.s.clock.Now()
	if l.start {
		elapsed := min(max(int64(now.Sub(l.last)), 0), l.per)
		l.credit = min(l.credit+elapsed*l.n, l.burst)
	}
	l.last, l.start = now, true
	for l.credit >= l.per && l.out.room() && l.in.available() {
		l.out.emit(l.in.take())
		l.credit -= l.per
	}
	if l.in.available() && l.credit < l.per && !l.armed {
		wait := time.Duration((l.per - l.credit + l.n - 1) / l.n)
		l.armed = true
		l.timer = l.s.clock.AfterFunc(wait, func() { l.s.tell(&throttleTick{}) })
	}
	if l.in.completed() {
		l.out.complete()
	}
	return nil
}

func (l *throttleLogic[T]) receive(msg any) error {
	if _, ok := msg.(*throttleTick); ok {
		l.armed = false
	}
	return nil
}

func (l *throttleLogic[T]) restart() {}

func (l *throttleLogic[T]) stop() {
	if l.timer != nil {
		l.timer.Stop()
	}
}
