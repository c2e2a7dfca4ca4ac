package config

import (
	"sync"
)

// change is one notification: the version a watcher saw last, and the next.
type change struct{ old, new Snapshot }

// watcher delivers changes to one Watch callback from its own goroutine,
// in the order they were queued.
type watcher struct {
	fn   func(old, new Snapshot)
	wake chan struct{} // capacity 1: "the queue may have changes"
	done chan struct{} // closed by stop
	once sync.Once

	// mu guards queue.
	mu    sync.Mutex
	queue []change
}

// push queues ch and wakes the goroutine. It never blocks.
func (w *watcher) push(ch change) {
	w.mu.Lock()
	w.queue = append(w.queue, ch)
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// stop ends delivery; it may be called more than once, from any goroutine
// (the callback's included), and does not wait.
func (w *watcher) stop() { w.once.Do(func() { close(w.done) }) }

// run delivers queued changes until stop. report receives a callback's panic.
func (w *watcher) run(report func(any)) {
	for {
		select {
		case <-w.done:
			return
		case <-w.wake:
		}
		for {
			w.mu.Lock()
			batch := w.queue
			w.queue = nil
			w.mu.Unlock()
			if len(batch) == 0 {
				break
			}
			for _, ch := range batch {
				select {
				case <-w.done:
					return
				default:
				}
				w.call(ch, report)
			}
		}
	}
}

// call runs the callback, turning a panic into a report so that one bad
// watcher does not take the process down.
func (w *watcher) call(ch change, report func(any)) {
	defer func() {
		if p := recover(); p != nil {
			report(p)
		}
	}()
	w.fn(ch.old, ch.new)
}

// Watch calls fn with the previous and the new snapshot after each change
// of the current configuration that this Config sees after Watch returns:
// its own writes, and other members' changes once Refresh or polling finds
// them. Each change is delivered once, in version order, from a goroutine
// of the watcher's own, so fn may call any method of the Config but Close.
// When more changes than History keeps happened between two loads, the
// versions in between are gone and fn sees a jump (new.Version() greater
// than old.Version()+1). A panic in fn is logged and delivery goes on.
//
// cancel stops delivery (a call in progress finishes; queued changes are
// dropped) and may be called from fn. Watch on a closed Config returns a
// cancel that does nothing and fn is never called.
func (c *Config) Watch(fn func(old, new Snapshot)) (cancel func()) {
	w := &watcher{fn: fn, wake: make(chan struct{}, 1), done: make(chan struct{})}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return func() {}
	}
	id := c.nextWatcher
	c.nextWatcher++
	c.watchers[id] = w
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		w.run(func(p any) { c.log.Error("config: watcher panicked", "component", c.name, "panic", p) })
	}()
	return func() {
		w.stop()
		c.mu.Lock()
		delete(c.watchers, id)
		c.mu.Unlock()
	}
}

// notifyLocked queues, for every watcher, the changes from old to next:
// one per version after old that next keeps. c.mu must be held, so that
// watchers receive changes in the order the state moved.
func (c *Config) notifyLocked(old, next *state) {
	if len(c.watchers) == 0 {
		return
	}
	prev := old.current()
	for _, v := range next.versions {
		if v.number <= old.number() {
			continue
		}
		if p := next.find(v.number - 1); p != nil {
			prev = p
		}
		ch := change{old: Snapshot{v: prev}, new: Snapshot{v: v}}
		for _, w := range c.watchers {
			w.push(ch)
		}
		prev = v
	}
}
