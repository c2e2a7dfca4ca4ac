package store_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/packetflow/packetflow/store"
	"github.com/packetflow/packetflow/store/storetest"
)

// BenchmarkCommit measures Commit with 1 and 64 concurrent committers,
// each on its own key: ns/op is the time per commit of all committers
// together (the inverse of throughput), p50-µs and p99-µs the latency of
// one Commit. store=bolt fsyncs every transaction (in the test's temporary
// directory, so on whatever disk holds it) with the default options;
// bolt-delay1ms gathers each transaction for up to 1 ms
// (BoltOptions.MaxBatchDelay); bolt-nosync shows what the fsync costs;
// memory is the in-process baseline for the ratio.
func BenchmarkCommit(b *testing.B) {
	stores := []struct {
		name string
		open func(b *testing.B) store.Store
	}{
		{"memory", func(*testing.B) store.Store { return store.NewMemory() }},
		{"bolt", func(b *testing.B) store.Store { return openBolt(b, statePath(b), store.BoltOptions{}) }},
		{"bolt-delay1ms", func(b *testing.B) store.Store {
			return openBolt(b, statePath(b), store.BoltOptions{MaxBatchDelay: time.Millisecond})
		}},
		{"bolt-nosync", func(b *testing.B) store.Store { return openBolt(b, statePath(b), store.BoltOptions{NoSync: true}) }},
	}
	for _, st := range stores {
		for _, committers := range []int{1, 64} {
			b.Run(fmt.Sprintf("store=%s/committers=%d", st.name, committers), func(b *testing.B) {
				storetest.BenchmarkCommit(b, st.open(b), committers)
			})
		}
	}
}
