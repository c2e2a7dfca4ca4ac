package stream

// Merge emits the elements of all sources as they come, taking turns
// between those that have elements ready, and completes when all have
// completed. A failing source fails the merge.
func Merge[T any](sources ...Source[T]) Source[T] {
	if len(sources) == 0 {
		return failedSource[T](invalid("Merge", "no sources"))
	}
	return Source[T]{build: func(m *materializer) (port, error) {
		froms := make([]port, len(sources))
		for i, src := range sources {
			if src.build == nil {
				return port{}, invalid("Merge", "zero Source %d", i)
			}
			p, err := src.build(m)
			if err != nil {
				return port{}, err
			}
			froms[i] = p
		}
		s, err := m.add("merge", nil, func(s *stage) (logic, error) {
			l := &mergeLogic[T]{ins: make([]*inlet[T], len(froms))}
			for i := range froms {
				l.ins[i] = newInlet[T](s)
			}
			l.out = newOutlet[T](s)
			return l, nil
		})
		if err != nil {
			return port{}, err
		}
		for i, p := range froms {
			m.connect(p, s, i)
		}
		return port{stage: s}, nil
	}}
}

type mergeLogic[T any] struct {
	ins  []*inlet[T]
	out  *outlet[T]
	turn int
}

func (l *mergeLogic[T]) pump() error {
	// Take up to a fair share from each inlet in turn, so a fast source
	// cannot starve the others.
	share := max(int(l.out.max)/len(l.ins), 1)
	for moved := true; moved && l.out.room(); {
		moved = false
		for range l.ins {
			in := l.ins[l.turn]
			l.turn = (l.turn + 1) % len(l.ins)
			for n := 0; n < share && l.out.room() && in.available(); n++ {
				l.out.emit(in.take())
				moved = true
			}
		}
	}
	for _, in := range l.ins {
		if !in.completed() {
			return nil
		}
	}
	l.out.complete()
	return nil
}

func (l *mergeLogic[T]) restart() {}

// Broadcast sends every element to all sinks. It goes at the pace of the
// slowest sink that has not cancelled; it cancels its upstream when all
// have.
func Broadcast[T any](sinks ...Sink[T]) Sink[T] {
	if len(sinks) == 0 {
		return failedSink[T](invalid("Broadcast", "no sinks"))
	}
	return Sink[T]{build: func(m *materializer, from port) error {
		s, err := m.add("broadcast", nil, func(s *stage) (logic, error) {
			l := &broadcastLogic[T]{in: newInlet[T](s), outs: make([]*outlet[T], len(sinks))}
			for i := range sinks {
				l.outs[i] = newOutlet[T](s)
			}
			return l, nil
		})
		if err != nil {
			return err
		}
		m.connect(from, s, 0)
		for i, snk := range sinks {
			if snk.build == nil {
				return invalid("Broadcast", "zero Sink %d", i)
			}
			if err := snk.build(m, port{stage: s, index: i}); err != nil {
				return err
			}
		}
		return nil
	}}
}

type broadcastLogic[T any] struct {
	in   *inlet[T]
	outs []*outlet[T]
}

func (l *broadcastLogic[T]) pump() error {
	for l.allRoom() && l.in.available() {
		x := l.in.take()
		for _, o := range l.outs {
			o.emit(x)
		}
	}
	if l.in.completed() {
		for _, o := range l.outs {
			o.complete()
		}
	}
	return nil
}

func (l *broadcastLogic[T]) allRoom() bool {
	for _, o := range l.outs {
		if !o.room() {
			return false
		}
	}
	return true
}

func (l *broadcastLogic[T]) restart() {}
