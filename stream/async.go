package stream

import (
	"context"
)

// MapAsync applies f to up to parallelism elements at once, each on a
// goroutine owned by the stage, and emits the results in the order of the
// elements. f gets a context that ends when the pipeline stops. An error
// (or panic) of f goes to the stage's decider; with Resume the element is
// skipped and order is kept for the rest. Memory is bounded: at most
// parallelism elements are in flight or waiting for an earlier one.
func MapAsync[In, Out any](parallelism int, f func(context.Context, In) (Out, error), opts ...StageOption) Flow[In, Out] {
	return mapAsync("mapAsync", true, parallelism, f, opts)
}

// MapAsyncUnordered is MapAsync emitting each result as soon as it is
// ready.
func MapAsyncUnordered[In, Out any](parallelism int, f func(context.Context, In) (Out, error), opts ...StageOption) Flow[In, Out] {
	return mapAsync("mapAsyncUnordered", false, parallelism, f, opts)
}

func mapAsync[In, Out any](op string, ordered bool, parallelism int, f func(context.Context, In) (Out, error), opts []StageOption) Flow[In, Out] {
	if f == nil {
		return failedFlow[In, Out](invalid(op, "nil function"))
	}
	if parallelism <= 0 {
		return failedFlow[In, Out](invalid(op, "parallelism %d is not positive", parallelism))
	}
	return flow(op, opts, func(s *stage, in *inlet[In], out *outlet[Out]) (logic, error) {
		return &mapAsyncLogic[In, Out]{in: in, out: out, core: newAsyncCore(s, parallelism, ordered, f)}, nil
	})
}

type mapAsyncLogic[In, Out any] struct {
	in   *inlet[In]
	out  *outlet[Out]
	core *asyncCore[In, Out]
}

func (l *mapAsyncLogic[In, Out]) pump() error {
	for {
		for l.out.room() {
			r, ok := l.core.next()
			if !ok {
				break
			}
			if r.err != nil {
				return r.err
			}
			l.out.emit(r.out)
		}
		if !l.core.launchFrom(l.in) {
			break
		}
	}
	if l.in.completed() && !l.core.busy() {
		l.out.complete()
	}
	return nil
}

func (l *mapAsyncLogic[In, Out]) receive(msg any) error { l.core.receive(msg); return nil }
func (l *mapAsyncLogic[In, Out]) busy() bool            { return l.core.busy() }
func (l *mapAsyncLogic[In, Out]) restart()              { l.core.restart() }

// asyncCore runs f on owned goroutines with bounded parallelism and hands
// back the results, in order or as they come. MapAsync and ToReactor use
// it.
type asyncCore[In, Out any] struct {
	s        *stage
	f        func(context.Context, In) (Out, error)
	parallel int
	ordered  bool

	gen      uint64 // results of an earlier generation (before a restart) are ignored
	seq      uint64 // next element's sequence number
	emitSeq  uint64 // next sequence number to hand back, when ordered
	inFlight int
	ready    map[uint64]asyncResult[Out] // ordered: by sequence number
	queue    []asyncResult[Out]          // unordered: by arrival
}

type asyncResult[Out any] struct {
	gen, seq uint64
	out      Out
	err      error
}

func (*asyncResult[Out]) IgnoreDeadLetterLogging() {}

func newAsyncCore[In, Out any](s *stage, parallel int, ordered bool, f func(context.Context, In) (Out, error)) *asyncCore[In, Out] {
	return &asyncCore[In, Out]{s: s, f: f, parallel: parallel, ordered: ordered, ready: map[uint64]asyncResult[Out]{}}
}

// launchFrom starts f on the next element of in if there is one and room;
// it reports whether it did.
func (c *asyncCore[In, Out]) launchFrom(in *inlet[In]) bool {
	if c.inFlight+len(c.ready)+len(c.queue) >= c.parallel || !in.available() {
		return false
	}
	x := in.take()
	gen, seq := c.gen, c.seq
	c.seq++
	c.inFlight++
	s, f := c.s, c.f
	s.goWork(func(ctx context.Context) {
		r := &asyncResult[Out]{gen: gen, seq: seq}
		func() {
			defer func() {
				if p := recover(); p != nil {
					r.err = &PanicError{Value: p}
				}
			}()
			r.out, r.err = f(ctx, x)
		}()
		s.tell(r)
	})
	return true
}

func (c *asyncCore[In, Out]) receive(msg any) {
	r, ok := msg.(*asyncResult[Out])
	if !ok {
		return
	}
	c.inFlight--
	if r.gen != c.gen {
		return
	}
	if c.ordered {
		c.ready[r.seq] = *r
	} else {
		c.queue = append(c.queue, *r)
	}
}

// next returns the next result to hand back, if it is there.
func (c *asyncCore[In, Out]) next() (asyncResult[Out], bool) {
	if !c.ordered {
		if len(c.queue) == 0 {
			return asyncResult[Out]{}, false
		}
		r := c.queue[0]
		c.queue = c.queue[1:]
		return r, true
	}
	r, ok := c.ready[c.emitSeq]
	if ok {
		delete(c.ready, c.emitSeq)
		c.emitSeq++
	}
	return r, ok
}

func (c *asyncCore[In, Out]) busy() bool {
	return c.inFlight > 0 || len(c.ready) > 0 || len(c.queue) > 0
}

func (c *asyncCore[In, Out]) restart() {
	c.gen++
	c.seq, c.emitSeq = 0, 0
	clear(c.ready)
	c.queue = nil
}
