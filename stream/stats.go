package stream

import "sync/atomic"

// StageStats are one stage's counters.
type StageStats struct {
	// Stage is the stage's name: "<index>-<operator>", or its Name.
	Stage string
	// In and Out count elements received from upstream and sent
	// downstream.
	In, Out uint64
	// Dropped counts elements a stage discarded by design: overflow of a
	// buffer or an Inbox, ticks nobody requested, elements too late for any
	// window with no side output, elements in no window.
	Dropped uint64
	// Errors counts elements dropped because the decider chose Resume.
	Errors uint64
	// Restarts counts restarts chosen by the decider, and restarts of a
	// restartable remote leg (ToRemoteRestartable).
	Restarts uint64
	// Replayed counts elements a restartable remote leg sent again, to a
	// replacement subscriber, after a restart.
	Replayed uint64
	// MaxBuffered is the most elements a Buffer stage or an Inbox held at
	// once: the bound on its memory.
	MaxBuffered uint64
}

// counters are a stage's live StageStats, written by its actor and read by
// Pipeline.Stats from any goroutine.
type counters struct {
	in, out, dropped, errors, restarts, replayed atomic.Uint64
	maxBuffered                                  atomic.Uint64
}

// buffered records a buffer's occupancy for the high-water mark.
func (c *counters) buffered(n int) {
	if u := uint64(n); u > c.maxBuffered.Load() {
		c.maxBuffered.Store(u)
	}
}

func (c *counters) snapshot(name string) StageStats {
	return StageStats{
		Stage: name, In: c.in.Load(), Out: c.out.Load(), Dropped: c.dropped.Load(),
		Errors: c.errors.Load(), Restarts: c.restarts.Load(), Replayed: c.replayed.Load(), MaxBuffered: c.maxBuffered.Load(),
	}
}
