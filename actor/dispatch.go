package actor

import (
	"sync"
)

// workerDispatcher runs mailbox turns on a few parked goroutines owned by
// the runtime, handing a turn to an idle worker instead of starting a
// goroutine for it (Proto.Actor's default). When every worker is busy it
// starts a goroutine for the turn, so a handler that blocks never holds up
// other reactors. It halves request latency on the development machine
// (see README.md, Performance).
type workerDispatcher struct {
	work       chan func()
	quit       chan struct{}
	throughput int
	wg         sync.WaitGroup
	stopOnce   sync.Once
}

func newWorkerDispatcher(workers, throughput int) *workerDispatcher {
	d := &workerDispatcher{work: make(chan func()), quit: make(chan struct{}), throughput: throughput}
	d.wg.Add(workers)
	for i := 0; i < workers; i++ {
		go d.loop()
	}
	return d
}

func (d *workerDispatcher) loop() {
	defer d.wg.Done()
	for {
		select {
		case fn := <-d.work:
			fn()
		case <-d.quit:
			return
		}
	}
}

// Schedule runs fn on an idle worker, or on a new goroutine if none is idle
// (always, once the dispatcher is stopped).
func (d *workerDispatcher) Schedule(fn func()) {
	select {
	case d.work <- fn:
	default:
		go fn()
	}
}

// Throughput is how many messages a mailbox handles before yielding.
func (d *workerDispatcher) Throughput() int { return d.throughput }

// stop parks no more workers and waits for the running turns to end.
func (d *workerDispatcher) stop() {
	d.stopOnce.Do(func() { close(d.quit) })
	d.wg.Wait()
}
