package stream

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
)

// ErrInboxClosed is returned by Offer on a closed Inbox.
var ErrInboxClosed = errors.New("stream: inbox closed")

// Inbox is a bounded queue that code outside a pipeline pushes into and a
// FromInbox source emits from: the way intents arriving at a reactor enter
// a stream. A reactor's handler offers with TryOffer (it must not block);
// an effect (actor.Call.Effect) may Offer and wait for room, which is
// backpressure reaching the effect. All methods are safe for concurrent
// use.
type Inbox[T any] struct {
	overflow Overflow

	// mu guards the fields below.
	mu       sync.Mutex
	buf      ring[T]
	closed   bool
	failed   error         // an OverflowFail overflow, for the source to fail with
	space    chan struct{} // closed and replaced when room frees up
	wake     func()        // tells the attached source there is news; nil when none
	attached bool
	dropped  uint64
	maxLen   int
}

// NewInbox returns an inbox holding up to size elements, applying overflow
// when full.
func NewInbox[T any](size int, overflow Overflow) (*Inbox[T], error) {
	if size <= 0 {
		return nil, invalid("NewInbox", "size %d is not positive", size)
	}
	if !overflow.valid() {
		return nil, invalid("NewInbox", "unknown overflow strategy %v", overflow)
	}
	return &Inbox[T]{overflow: overflow, buf: newRing[T](size), space: make(chan struct{})}, nil
}

// Offer adds x. With OverflowBackpressure it waits for room until ctx
// ends; with a drop strategy it never waits (what it drops is counted);
// with OverflowFail a full inbox returns ErrBufferOverflow and fails the
// attached source.
func (b *Inbox[T]) Offer(ctx context.Context, x T) error {
	for {
		ok, err := b.offer(x)
		if ok || err != nil {
			return err
		}
		b.mu.Lock()
		space := b.space
		full := b.buf.full() && !b.closed
		b.mu.Unlock()
		if !full {
			continue
		}
		select {
		case <-space:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// TryOffer adds x without waiting: with OverflowBackpressure it reports
// false when the inbox is full.
func (b *Inbox[T]) TryOffer(x T) (bool, error) { return b.offer(x) }

func (b *Inbox[T]) offer(x T) (bool, error) {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return false, ErrInboxClosed
	}
	if b.overflow == OverflowBackpressure && b.buf.full() {
		b.mu.Unlock()
		return false, nil
	}
	dropped, err := b.buf.offer(x, b.overflow)
	b.dropped += uint64(dropped)
	b.maxLen = max(b.maxLen, b.buf.len())
	if err != nil && b.failed == nil {
		b.failed = err
	}
	wake := b.wake
	b.mu.Unlock()
	if wake != nil {
		wake()
	}
	return err == nil, err
}

// Close ends the stream once the source has emitted what is buffered.
// Later offers return ErrInboxClosed.
func (b *Inbox[T]) Close() {
	b.mu.Lock()
	b.closed = true
	close(b.space) // waiting offers see the inbox closed
	b.space = make(chan struct{})
	wake := b.wake
	b.mu.Unlock()
	if wake != nil {
		wake()
	}
}

// Dropped reports how many elements overflow dropped.
func (b *Inbox[T]) Dropped() uint64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.dropped
}

// Len reports how many elements are buffered.
func (b *Inbox[T]) Len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.len()
}

// FromInbox emits what is offered to b, as demand allows, and completes
// when b is closed and drained. One run at a time may read an inbox.
func FromInbox[T any](b *Inbox[T], opts ...StageOption) Source[T] {
	if b == nil {
		return failedSource[T](invalid("FromInbox", "nil inbox"))
	}
	return source("inbox", opts, func(s *stage, out *outlet[T]) (logic, error) {
		return &inboxLogic[T]{s: s, out: out, b: b}, nil
	})
}

type inboxLogic[T any] struct {
	s        *stage
	out      *outlet[T]
	b        *Inbox[T]
	notified atomic.Bool
	reported uint64 // b.dropped already added to the stage's stats
	attached bool   // this run holds the inbox
}

type inboxWake struct{}

func (*inboxWake) IgnoreDeadLetterLogging() {}

func (l *inboxLogic[T]) start() error {
	b := l.b
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.attached {
		return invalid("FromInbox", "the inbox is read by another running pipeline")
	}
	b.attached, l.attached = true, true
	b.wake = func() {
		if !l.notified.Swap(true) {
			l.s.tell(&inboxWake{})
		}
	}
	return nil
}

func (l *inboxLogic[T]) receive(msg any) error {
	if _, ok := msg.(*inboxWake); ok {
		l.notified.Store(false)
	}
	return nil
}

func (l *inboxLogic[T]) pump() error {
	b := l.b
	b.mu.Lock()
	n := min(l.out.space(), int64(b.buf.len()))
	for i := int64(0); i < n; i++ {
		l.out.emit(b.buf.pop())
	}
	if n > 0 {
		close(b.space)
		b.space = make(chan struct{})
	}
	done := b.closed && b.buf.len() == 0
	failed := b.failed
	b.failed = nil
	dropped, maxLen := b.dropped, b.maxLen
	b.mu.Unlock()
	l.s.stats.dropped.Add(dropped - l.reported)
	l.reported = dropped
	l.s.stats.buffered(maxLen)
	if failed != nil {
		return failed
	}
	if done {
		l.out.complete()
	}
	return nil
}

func (l *inboxLogic[T]) restart() {}

func (l *inboxLogic[T]) stop() {
	b := l.b
	b.mu.Lock()
	defer b.mu.Unlock()
	if l.attached {
		b.attached, b.wake = false, nil
	}
}
