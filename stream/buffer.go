package stream

// Buffer decouples its upstream from a slower downstream by holding up to
// size elements. With OverflowBackpressure it requests from upstream only
// while it has room, so nothing is lost and the upstream slows down. With
// the other strategies it keeps requesting, so the upstream runs at its
// own pace, and a full buffer drops (counted in StageStats.Dropped) or
// fails. Its memory is bounded by size plus one batch in flight;
// StageStats.MaxBuffered shows the high-water mark.
func Buffer[T any](size int, overflow Overflow, opts ...StageOption) Flow[T, T] {
	if size <= 0 {
		return failedFlow[T, T](invalid("Buffer", "size %d is not positive", size))
	}
	if !overflow.valid() {
		return failedFlow[T, T](invalid("Buffer", "unknown overflow strategy %v", overflow))
	}
	return flow("buffer-"+overflow.String(), opts, func(s *stage, in *inlet[T], out *outlet[T]) (logic, error) {
		if overflow == OverflowBackpressure {
			in.capacity = int64(size)
		}
		return &bufferLogic[T]{s: s, in: in, out: out, buf: newRing[T](ringSize(size, overflow)), overflow: overflow}, nil
	})
}

type bufferLogic[T any] struct {
	s        *stage
	in       *inlet[T]
	out      *outlet[T]
	buf      ring[T]
	overflow Overflow
}

func (l *bufferLogic[T]) pump() error {
	if l.overflow == OverflowBackpressure {
		// The inlet, requesting at most size ahead, is the buffer.
		l.s.stats.buffered(int(l.in.buffered))
		relay(l.in, l.out)
		return nil
	}
	for {
		for l.buf.len() > 0 && l.out.room() {
			l.out.emit(l.buf.pop())
		}
		if l.overflow == OverflowBackpressure || !l.in.available() {
			break
		}
		dropped, err := l.buf.offer(l.in.take(), l.overflow)
		l.s.stats.dropped.Add(uint64(dropped))
		l.s.stats.buffered(l.buf.len())
		if err != nil {
			return err
		}
	}
	if l.in.completed() && l.buf.len() == 0 {
		l.out.complete()
	}
	return nil
}

// restart drops what is buffered, counted as dropped.
func (l *bufferLogic[T]) restart() { l.s.stats.dropped.Add(uint64(l.buf.clear())) }

func ringSize(size int, o Overflow) int {
	if o == OverflowBackpressure {
		return 0
	}
	return size
}
