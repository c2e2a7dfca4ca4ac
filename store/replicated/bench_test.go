package replicated_test

import (
	"fmt"
	"testing"

	"github.com/packetflow/packetflow/store"
	"github.com/packetflow/packetflow/store/replicated"
	"github.com/packetflow/packetflow/store/replicated/replicatedtest"
	"github.com/packetflow/packetflow/store/storetest"
)

// BenchmarkCommit measures Commit with 1 and 64 concurrent committers, each
// on its own key (see storetest.BenchmarkCommit), on the replicated store:
// one member (r1), and three members on loopback with every record on all
// three (r3, committing through a member that may or may not lead the
// stream), with each write fsynced before it is acknowledged
// (SyncAlways, the node's default) and with batched fsyncs; the in-memory
// store is the baseline of the same run. Each store is opened once and
// reused by the runs of its sub-benchmarks.
func BenchmarkCommit(b *testing.B) {
	stores := []struct {
		name string
		open func(b *testing.B) store.Store
	}{
		{"memory-baseline", func(*testing.B) store.Store { return store.NewMemory() }},
		{"r1-sync", func(b *testing.B) store.Store {
			return replicatedtest.Cluster(b, 1, func(_ int, c *replicated.Config) { c.SyncAlways = true })[0]
		}},
		{"r3-sync", func(b *testing.B) store.Store {
			return replicatedtest.Cluster(b, 3, func(_ int, c *replicated.Config) { c.SyncAlways = true })[0]
		}},
		{"r3-batched", func(b *testing.B) store.Store { return replicatedtest.Cluster(b, 3, nil)[0] }},
	}
	for _, st := range stores {
		s := st.open(b)
		for _, committers := range []int{1, 64} {
			b.Run(fmt.Sprintf("store=%s/committers=%d", st.name, committers), func(b *testing.B) {
				storetest.BenchmarkCommit(b, s, committers)
			})
		}
	}
}
