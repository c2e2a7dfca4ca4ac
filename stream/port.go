package stream

import (
	"fmt"
)

// portState is the life of one inlet or outlet: open until completed,
// failed or cancelled, and never open again.
type portState uint8

const (
	portOpen portState = iota
	portCompleted
	portFailed
	portCancelled
)

// upLink carries an inlet's demand and cancellation to its upstream.
type upLink interface {
	request(n int64)
	cancel()
}

// downLink carries an outlet's elements, completion and failure to its
// downstream.
type downLink[T any] interface {
	push(items []T)
	complete()
	fail(err error)
}

// inletBase is the untyped half of an inlet: its demand accounting.
type inletBase struct {
	s    *stage
	link upLink
	// capacity is how many elements the inlet keeps requested ahead
	// (outstanding plus buffered); it asks for more once half is used.
	capacity int64
	// manual inlets request only when told (a Probe).
	manual      bool
	outstanding int64 // requested and not yet received
	buffered    int64 // received and not yet taken
	state       portState
}

func (in *inletBase) replenish() {
	if in.state != portOpen || in.manual || in.link == nil {
		return
	}
	if have := in.outstanding + in.buffered; have <= in.capacity/2 {
		n := in.capacity - have
		in.outstanding += n
		in.link.request(n)
	}
}

func (in *inletBase) onComplete() {
	if in.state == portOpen {
		in.state = portCompleted
	}
}

// inletPort is how a stage drives an inlet of any element type.
type inletPort interface {
	base() *inletBase
	receive(msg inletMessage) error
	cancel()
}

// inlet is a stage's input of elements of type T: the batches received,
// taken one element at a time.
type inlet[T any] struct {
	inletBase
	cur   []T
	pos   int
	queue [][]T
}

func newInlet[T any](s *stage) *inlet[T] {
	in := &inlet[T]{inletBase: inletBase{s: s, capacity: int64(s.batch)}}
	s.ins = append(s.ins, in)
	return in
}

func (in *inlet[T]) base() *inletBase { return &in.inletBase }

func (in *inlet[T]) receive(msg inletMessage) error {
	b, ok := msg.(*batchMsg[T])
	if !ok {
		return fmt.Errorf("%w: %T on an inlet of %T", ErrProtocol, msg, *new(T))
	}
	return in.accept(b.items)
}

// accept buffers a batch that arrived, checking that it was requested.
func (in *inlet[T]) accept(items []T) error {
	n := int64(len(items))
	if in.state != portOpen || n == 0 {
		return nil // elements in flight when the inlet was cancelled
	}
	if n > in.outstanding {
		return fmt.Errorf("%w: %d elements arrived, %d requested", ErrProtocol, n, in.outstanding)
	}
	in.outstanding -= n
	in.buffered += n
	in.s.stats.in.Add(uint64(n))
	if in.pos == len(in.cur) && len(in.queue) == 0 {
		in.cur, in.pos = items, 0
	} else {
		in.queue = append(in.queue, items)
	}
	return nil
}

// available reports whether an element can be taken.
func (in *inlet[T]) available() bool {
	if in.pos < len(in.cur) {
		return true
	}
	if len(in.queue) == 0 {
		in.cur, in.pos = nil, 0
		return false
	}
	in.cur, in.pos = in.queue[0], 0
	in.queue[0] = nil
	in.queue = in.queue[1:]
	if len(in.queue) == 0 {
		in.queue = in.queue[:0:0]
	}
	return true
}

// take returns the next element; available must have said there is one.
func (in *inlet[T]) take() T {
	var zero T
	x := in.cur[in.pos]
	in.cur[in.pos] = zero // let the element go once taken
	in.pos++
	in.buffered--
	return x
}

// completed reports whether the upstream completed and every element it
// sent has been taken.
func (in *inlet[T]) completed() bool { return in.state == portCompleted && in.buffered == 0 }

// cancel tells the upstream to stop and drops what is buffered; repeated
// calls do nothing more.
func (in *inlet[T]) cancel() {
	if in.state == portOpen {
		in.state = portCancelled
		if in.link != nil {
			in.link.cancel()
		}
	}
	in.cur, in.pos, in.queue, in.buffered = nil, 0, nil, 0
}

// outletBase is the untyped half of an outlet: its downstream's demand.
type outletBase struct {
	s          *stage
	demand     int64
	max        int64 // most elements in one batch
	state      portState
	completing bool // complete once pending is flushed
}

// outletPort is how a stage drives an outlet of any element type.
type outletPort interface {
	base() *outletBase
	onDemand(n int64)
	onCancel()
	flush() bool
	fail(err error)
	linkLocal(p peer)
}

// outlet is a stage's output of elements of type T. Logic emits into it;
// the stage flushes what the downstream requested, in batches.
type outlet[T any] struct {
	outletBase
	link    downLink[T]
	pending []T
}

func newOutlet[T any](s *stage) *outlet[T] {
	o := &outlet[T]{outletBase: outletBase{s: s, max: int64(s.batch)}}
	s.outs = append(s.outs, o)
	return o
}

func (o *outlet[T]) base() *outletBase { return &o.outletBase }

func (o *outlet[T]) linkLocal(p peer) { o.link = &localDown[T]{s: o.s, to: p} }

// onDemand is request(n) from the downstream.
func (o *outlet[T]) onDemand(n int64) {
	if o.state != portOpen {
		return // rule 3.6: request after a terminal signal is a no-op
	}
	if n <= 0 {
		o.fail(ErrInvalidDemand) // rule 3.9
		return
	}
	o.demand = addDemand(o.demand, n)
}

// onCancel is the downstream's cancel; rule 3.5: idempotent.
func (o *outlet[T]) onCancel() {
	if o.state == portOpen {
		o.state = portCancelled
	}
	o.pending = nil
}

// room reports whether the logic may emit another element now: the
// downstream wants more than is pending. A closed outlet always has room:
// what is emitted into it is discarded.
func (o *outlet[T]) room() bool {
	return o.state != portOpen || int64(len(o.pending)) < min(o.demand, o.max)
}

// space is how many more elements the logic may emit now.
func (o *outlet[T]) space() int64 {
	if o.state != portOpen || o.completing {
		return 0
	}
	return max(min(o.demand, o.max)-int64(len(o.pending)), 0)
}

// emit queues x for the downstream.
func (o *outlet[T]) emit(x T) {
	if o.state != portOpen {
		return
	}
	if o.pending == nil {
		o.pending = make([]T, 0, max(min(o.demand, o.max), 1))
	}
	o.pending = append(o.pending, x)
}

// complete completes the outlet once what is pending has been flushed.
func (o *outlet[T]) complete() { o.completing = true }

// flush sends pending elements up to the downstream's demand, then the
// completion if it is due. It reports whether it sent elements.
func (o *outlet[T]) flush() bool {
	sent := false
	for o.state == portOpen && o.demand > 0 && len(o.pending) > 0 {
		n := min(int64(len(o.pending)), o.demand, o.max)
		items := o.pending[:n:n]
		if int(n) == len(o.pending) {
			o.pending = nil
		} else {
			o.pending = o.pending[n:] // appends never touch items
		}
		o.demand -= n
		o.s.stats.out.Add(uint64(n))
		o.link.push(items)
		sent = true
	}
	if o.state == portOpen && o.completing && len(o.pending) == 0 {
		o.state = portCompleted
		o.link.complete()
	}
	return sent
}

// fail signals err downstream at once, dropping what is pending.
func (o *outlet[T]) fail(err error) {
	if o.state == portOpen {
		o.state = portFailed
		if o.link != nil {
			o.link.fail(err)
		}
	}
	o.pending = nil
}

// localUp and localDown link ports of stages in one actor system.
type localUp struct {
	s  *stage
	to peer
}

func (l *localUp) request(n int64) { l.s.send(l.to.pid, &demandMsg{port: l.to.port, n: n}) }
func (l *localUp) cancel()         { l.s.send(l.to.pid, &cancelMsg{port: l.to.port}) }

type localDown[T any] struct {
	s  *stage
	to peer
}

func (l *localDown[T]) push(items []T) {
	l.s.send(l.to.pid, &batchMsg[T]{port: l.to.port, items: items})
}
func (l *localDown[T]) complete()      { l.s.send(l.to.pid, &completeMsg{port: l.to.port}) }
func (l *localDown[T]) fail(err error) { l.s.send(l.to.pid, &failMsg{port: l.to.port, err: err}) }

// relay moves elements from in to out as demand allows, and completes out
// once in completed and is drained.
func relay[T any](in *inlet[T], out *outlet[T]) {
	for out.room() && in.available() {
		out.emit(in.take())
	}
	if in.completed() {
		out.complete()
	}
}
