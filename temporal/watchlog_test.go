package temporal_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// watchLog is an append-only log that tests wait on with deadlines: what
// the members of a cluster did, or what child processes printed.
type watchLog[T fmt.Stringer] struct {
	mu      sync.Mutex
	all     []T
	changed chan struct{} // closed and replaced on every add
}

func newWatchLog[T fmt.Stringer]() *watchLog[T] { return &watchLog[T]{changed: make(chan struct{})} }

func (w *watchLog[T]) add(v T) {
	w.mu.Lock()
	w.all = append(w.all, v)
	close(w.changed)
	w.changed = make(chan struct{})
	w.mu.Unlock()
}

// filter returns the entries that match.
func (w *watchLog[T]) filter(match func(T) bool) []T {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []T
	for _, v := range w.all {
		if match(v) {
			out = append(out, v)
		}
	}
	return out
}

// waitUntil returns the matching entries once done says they are enough,
// checking after every add, and fails the test (listing the log) when they
// are not within timeout.
func (w *watchLog[T]) waitUntil(t testing.TB, timeout time.Duration, what string, match func(T) bool, done func([]T) bool) []T {
	t.Helper()
	expired := time.NewTimer(timeout)
	defer expired.Stop()
	for {
		w.mu.Lock()
		changed := w.changed
		w.mu.Unlock()
		got := w.filter(match)
		if done(got) {
			return got
		}
		select {
		case <-changed:
		case <-expired.C:
			t.Fatalf("%s: not within %v (%d matching); log:\n%s", what, timeout, len(got), w)
		}
	}
}

func (w *watchLog[T]) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var b strings.Builder
	for _, v := range w.all {
		fmt.Fprintf(&b, "  %s\n", v)
	}
	return b.String()
}
