package temporal

import (
	"container/heap"
	"context"
	"sync"
	"time"
)

// FakeClock is a Clock that moves only when told to, for tests of code
// that depends on time. It models the two clocks of a real machine:
//
//   - Advance(d) lets d elapse: the wall clock and the monotonic clock both
//     move forward by d, and every timer, ticker and AfterFunc due within d
//     fires in deadline order, with Now reading its deadline as it fires.
//   - Set(t) steps the wall clock to t, forwards or backwards, as an
//     operator or NTP would. Timers count elapsed time, so a step neither
//     fires nor delays them: code that waits for a wall-clock instant must
//     read Now again when its timer fires, exactly as with the real clock.
//
// Channel timers and tickers send without blocking into a buffer of one,
// like package time's. AfterFunc callbacks run on the goroutine that calls
// Advance, outside the clock's lock; a callback whose delay is not positive
// runs at once on a goroutine of its own.
//
// The zero value is not usable; call NewFakeClock.
type FakeClock struct {
	// mu guards everything below.
	mu      sync.Mutex
	wall    time.Time
	mono    time.Duration // elapsed time since NewFakeClock
	timers  fakeHeap
	seq     uint64        // orders timers with equal deadlines
	changed chan struct{} // closed and replaced when timers are added or removed
}

var _ Clock = (*FakeClock)(nil)

// NewFakeClock returns a fake clock reading now.
func NewFakeClock(now time.Time) *FakeClock {
	return &FakeClock{wall: now, changed: make(chan struct{})}
}

// Now returns the fake wall-clock time.
func (c *FakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.wall
}

// Set steps the wall clock to t without letting time elapse: no timer
// fires and none is delayed.
func (c *FakeClock) Set(t time.Time) {
	c.mu.Lock()
	c.wall = t
	c.mu.Unlock()
}

// Advance lets d elapse (d < 0 counts as 0), firing what falls due in
// deadline order. It returns once every AfterFunc callback due has
// returned.
func (c *FakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	target := c.mono + max(d, 0)
	for len(c.timers) > 0 && c.timers[0].deadline <= target {
		t := c.timers[0]
		c.wall = c.wall.Add(t.deadline - c.mono)
		c.mono = t.deadline
		now := c.wall
		if t.period > 0 {
			t.deadline += t.period
			heap.Fix(&c.timers, 0)
		} else {
			heap.Pop(&c.timers)
			c.notify()
		}
		if t.f != nil {
			c.mu.Unlock()
			t.f()
			c.mu.Lock()
			continue
		}
		select {
		case t.ch <- now:
		default:
		}
	}
	c.wall = c.wall.Add(target - c.mono)
	c.mono = target
	c.mu.Unlock()
}

// Pending returns how many timers and tickers are armed.
func (c *FakeClock) Pending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.timers)
}

// Next returns how long until the earliest armed timer fires, and false
// when none is armed.
func (c *FakeClock) Next() (time.Duration, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.timers) == 0 {
		return 0, false
	}
	return c.timers[0].deadline - c.mono, true
}

// WaitPending waits until at least n timers are armed, or ctx ends. Tests
// use it to know that the code under test has armed its next timer before
// they Advance.
func (c *FakeClock) WaitPending(ctx context.Context, n int) error {
	for {
		c.mu.Lock()
		ok, changed := len(c.timers) >= n, c.changed
		c.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// notify wakes WaitPending callers; c.mu is held.
func (c *FakeClock) notify() {
	close(c.changed)
	c.changed = make(chan struct{})
}

// NewTimer returns a timer that fires once d has elapsed.
func (c *FakeClock) NewTimer(d time.Duration) Timer {
	t := &fakeTimer{clock: c, ch: make(chan time.Time, 1), index: -1}
	c.start(t, d)
	return t
}

// NewTicker returns a ticker with period d; it panics if d is not
// positive, as time.NewTicker does.
func (c *FakeClock) NewTicker(d time.Duration) Ticker {
	if d <= 0 {
		panic("temporal: non-positive interval for FakeClock.NewTicker")
	}
	t := &fakeTimer{clock: c, ch: make(chan time.Time, 1), period: d, index: -1}
	c.start(t, d)
	return fakeTicker{t}
}

// AfterFunc calls f once d has elapsed, from Advance.
func (c *FakeClock) AfterFunc(d time.Duration, f func()) Timer {
	t := &fakeTimer{clock: c, f: f, index: -1}
	c.start(t, d)
	return t
}

// start arms t to fire after d; a delay that is not positive fires at once.
func (c *FakeClock) start(t *fakeTimer, d time.Duration) {
	c.mu.Lock()
	if d <= 0 && t.period == 0 {
		now := c.wall
		c.mu.Unlock()
		if t.f != nil {
			go t.f()
			return
		}
		select {
		case t.ch <- now:
		default:
		}
		return
	}
	t.deadline = c.mono + d
	t.seq = c.seq
	c.seq++
	heap.Push(&c.timers, t)
	c.notify()
	c.mu.Unlock()
}

// stop disarms t and reports whether it was armed.
func (c *FakeClock) stop(t *fakeTimer) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t.index < 0 {
		return false
	}
	heap.Remove(&c.timers, t.index)
	c.notify()
	return true
}

// fakeTimer is a timer, ticker (period > 0) or AfterFunc (f != nil) of a
// FakeClock. Its deadline, seq and index are guarded by the clock's mu.
type fakeTimer struct {
	clock    *FakeClock
	ch       chan time.Time
	f        func()
	period   time.Duration
	deadline time.Duration
	seq      uint64
	index    int // in the clock's heap; -1 when not armed
}

func (t *fakeTimer) C() <-chan time.Time { return t.ch }
func (t *fakeTimer) Stop() bool          { return t.clock.stop(t) }

func (t *fakeTimer) Reset(d time.Duration) bool {
	was := t.clock.stop(t)
	t.clock.start(t, d)
	return was
}

type fakeTicker struct{ t *fakeTimer }

func (k fakeTicker) C() <-chan time.Time { return k.t.ch }
func (k fakeTicker) Stop()               { k.t.clock.stop(k.t) }

func (k fakeTicker) Reset(d time.Duration) {
	if d <= 0 {
		panic("temporal: non-positive interval for FakeClock ticker Reset")
	}
	k.t.clock.stop(k.t)
	k.t.clock.mu.Lock()
	k.t.period = d
	k.t.clock.mu.Unlock()
	k.t.clock.start(k.t, d)
}

// fakeHeap orders armed timers by deadline, then by arming order.
type fakeHeap []*fakeTimer

func (h fakeHeap) Len() int { return len(h) }
func (h fakeHeap) Less(i, j int) bool {
	if h[i].deadline != h[j].deadline {
		return h[i].deadline < h[j].deadline
	}
	return h[i].seq < h[j].seq
}
func (h fakeHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}
func (h *fakeHeap) Push(x any) {
	t := x.(*fakeTimer)
	t.index = len(*h)
	*h = append(*h, t)
}
func (h *fakeHeap) Pop() any {
	old := *h
	t := old[len(old)-1]
	old[len(old)-1] = nil
	t.index = -1
	*h = old[:len(old)-1]
	return t
}
