package stream

import "fmt"

// Overflow is what a bounded buffer (Buffer, Inbox) does with an element
// that arrives when it is full.
type Overflow int

const (
	// OverflowBackpressure never overflows: the buffer requests (or an
	// Inbox's Offer waits) only while it has room.
	OverflowBackpressure Overflow = iota
	// OverflowDropOldest drops the oldest buffered element to make room.
	OverflowDropOldest
	// OverflowDropNewest drops the arriving element.
	OverflowDropNewest
	// OverflowDropBuffer drops every buffered element, then buffers the
	// arriving one.
	OverflowDropBuffer
	// OverflowFail fails the stage with ErrBufferOverflow.
	OverflowFail
)

func (o Overflow) String() string {
	switch o {
	case OverflowBackpressure:
		return "backpressure"
	case OverflowDropOldest:
		return "drop-oldest"
	case OverflowDropNewest:
		return "drop-newest"
	case OverflowDropBuffer:
		return "drop-buffer"
	case OverflowFail:
		return "fail"
	default:
		return fmt.Sprintf("Overflow(%d)", int(o))
	}
}

func (o Overflow) valid() bool { return o >= OverflowBackpressure && o <= OverflowFail }

// ring is a fixed-capacity FIFO: its memory is allocated once.
type ring[T any] struct {
	items      []T
	head, size int
}

func newRing[T any](capacity int) ring[T] { return ring[T]{items: make([]T, capacity)} }

func (r *ring[T]) len() int   { return r.size }
func (r *ring[T]) full() bool { return r.size == len(r.items) }

func (r *ring[T]) push(x T) {
	r.items[(r.head+r.size)%len(r.items)] = x
	r.size++
}

func (r *ring[T]) pop() T {
	var zero T
	x := r.items[r.head]
	r.items[r.head] = zero
	r.head = (r.head + 1) % len(r.items)
	r.size--
	return x
}

// clear empties the ring and returns how many elements it held.
func (r *ring[T]) clear() int {
	n := r.size
	clear(r.items)
	r.head, r.size = 0, 0
	return n
}

// offer adds x under strategy o, returning how many elements it dropped;
// ErrBufferOverflow for OverflowFail (and OverflowBackpressure, whose
// callers never offer to a full ring) when full.
func (r *ring[T]) offer(x T, o Overflow) (dropped int, err error) {
	if !r.full() {
		r.push(x)
		return 0, nil
	}
	switch o {
	case OverflowDropOldest:
		r.pop()
		r.push(x)
		return 1, nil
	case OverflowDropNewest:
		return 1, nil
	case OverflowDropBuffer:
		n := r.clear()
		r.push(x)
		return n, nil
	default:
		return 0, fmt.Errorf("%w: %d elements buffered", ErrBufferOverflow, r.size)
	}
}
