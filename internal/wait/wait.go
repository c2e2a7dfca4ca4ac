// Package wait holds small synchronisation helpers shared by PacketFlow's
// packages.
package wait

import (
	"sync"
	"time"
)

// Group waits for wg for at most d and reports whether it finished. When it
// times out, the goroutine waiting on wg ends as soon as wg does.
func Group(wg *sync.WaitGroup, d time.Duration) bool {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-done:
		return true
	case <-t.C:
		return false
	}
}
